//! DHCP client options (`edgetap_dissectors::fingerprint::dhcp`): the input as the options
//! after the magic cookie. Checks the borrowed views stay inside the input, the parameter
//! request list renders into its inline buffer, and the option walk agrees with the codes
//! listed.
#![no_main]
use edgetap_dissectors::fingerprint::{dhcp, InlineStr};
use std::fmt::Write;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let fp = dhcp::dhcp_options(data);
    for v in [
        fp.parameter_request_list,
        fp.vendor_class,
        fp.hostname,
        fp.client_id,
    ]
    .into_iter()
    .flatten()
    {
        assert!(v.len() <= 255);
    }
    // 255 codes of up to three digits and their commas always fit 1024 bytes.
    let mut prl = InlineStr::<1024>::new();
    write!(prl, "{}", fp.prl()).unwrap();
    assert_eq!(prl.as_str(), fp.prl().to_string());
    let codes = fp.option_codes().count();
    let mut s = String::new();
    fp.write_option_codes(&mut s).unwrap();
    assert_eq!(s.split(',').filter(|c| !c.is_empty()).count(), codes);
    assert!(codes <= data.len() / 2 + 1);
});
