//! The whole input as one opcua PDU run: parse() to-server, the same to-client, then on_eof.
#![no_main]
use edgetap_dissectors::Proto;
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgetap_fuzz::pdu(Proto::Opcua, data));
