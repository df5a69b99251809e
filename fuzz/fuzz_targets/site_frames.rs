//! Frames through the whole product, site model and rules included (see
//! edgetap_fuzz::site_frames for the input format).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| edgetap_fuzz::site_frames(data));
