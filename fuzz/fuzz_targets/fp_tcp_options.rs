//! TCP fingerprints (`edgetap_dissectors::fingerprint::tcp`): the input as an IP packet
//! (`IpFacts::parse` then `fingerprint`), and, with its first three bytes as IP facts (bit 0
//! of byte 0: IPv6, bit 1: DF, bit 2: IP ID known; byte 1: TTL; byte 2: IP length's low
//! byte), the rest as a TCP header with options. Checks the signature always fits its inline
//! buffer (it equals the one written to a `String`) and the parsed fields stay in range.
#![no_main]
use edgetap_dissectors::fingerprint::tcp::{self, IpFacts, IpVersion, MAX_OPTIONS};

fn check(seg: &[u8], ip: &IpFacts) {
    let Ok(fp) = tcp::fingerprint(seg, ip) else {
        return;
    };
    assert!(fp.options.kinds().len() <= MAX_OPTIONS);
    assert_eq!(fp.initial_ttl - fp.distance, fp.ttl);
    for peer in [None, Some(0), Some(5), Some(1460), fp.mss] {
        let inline = fp.signature(peer);
        let mut s = String::new();
        fp.write_signature(&mut s, peer).unwrap();
        assert_eq!(inline.as_str(), s, "signature cut short");
        assert_eq!(s.split(':').count(), 8, "{s}");
    }
    let _ = fp.window_multiple(Some(1460));
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some((ip, seg)) = IpFacts::parse(data) {
        check(seg, &ip);
    }
    if let Some((&[cfg, ttl, len], rest)) = data.split_first_chunk::<3>() {
        let version = if cfg & 1 != 0 {
            IpVersion::V6
        } else {
            IpVersion::V4
        };
        let mut ip = IpFacts::new(version, ttl, u16::from(len) + 20, 20, cfg & 2 != 0);
        ip.id = (cfg & 4 != 0).then_some(u16::from(cfg >> 3));
        ip.ecn = cfg >> 6;
        check(rest, &ip);
    }
});
