//! The input split into chunks (Suricata-style separator, flags byte per chunk: direction,
//! gap before, end of direction after) fed to one modbus session.
#![no_main]
use edgetap_dissectors::Proto;
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgetap_fuzz::stream(Proto::Modbus, data));
