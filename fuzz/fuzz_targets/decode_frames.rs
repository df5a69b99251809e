//! Arbitrary bytes cut into frames of one link type, through the whole pipeline with small
//! limits (see edgetap_fuzz::decode_frames for the input format).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgetap_fuzz::decode_frames(data));
