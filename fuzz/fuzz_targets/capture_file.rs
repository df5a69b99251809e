//! Damaged pcap/pcapng files: FileReplay::open + for_each + the pipeline.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgetap_fuzz::capture_file(data));
