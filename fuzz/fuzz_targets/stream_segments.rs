//! A TCP conversation (Modbus/TCP, or raw bytes) cut, reordered, duplicated and dropped into
//! Ethernet/IPv4/TCP frames: reassembly + dispatch + the Modbus dissector.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgetap_fuzz::segments::run(data));
