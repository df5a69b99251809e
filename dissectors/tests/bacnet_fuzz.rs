//! Property tests: arbitrary datagrams, well-framed BVLC datagrams with random bodies, and
//! mutated real datagrams never panic, and always yield at most one PDU that serialises.
#![cfg(feature = "bacnet")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use edgetap_dissectors::{bacnet, Collect, Direction, Dissector};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Real datagrams from the small fixtures.
fn corpus() -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut out = Vec::new();
    for name in [
        "bacnet_bacpypes3.tsv",
        "bacnet_icsnpp_bacnet_error_reject_abort.tsv",
        "bacnet_icsnpp_bacnet_segmented_data.tsv",
        "bacnet_iti_bacnet_test.tsv",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        out.extend(text.lines().map(|l| hex(l.split('\t').nth(2).unwrap())));
    }
    out
}

fn check(data: &[u8]) {
    let mut sink = Collect::default();
    let mut s = bacnet::Session::default();
    s.parse(Direction::ToServer, data, &mut sink);
    s.parse(Direction::ToClient, data, &mut sink);
    assert!(sink.pdus.len() <= 2);
    for (_, p) in &sink.pdus {
        assert!(p.starts_with("{\"bacnet\":{"), "{p}");
    }
    let _ = bacnet::probe(Direction::ToServer, data);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        check(&data);
    }

    #[test]
    fn framed_bvlc(function in 0u8..16, body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut d = vec![0x81, function];
        d.extend_from_slice(&u16::try_from(body.len() + 4).unwrap().to_be_bytes());
        d.extend(body);
        check(&d);
    }

    #[test]
    fn framed_apdu(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        // Original-Unicast, plain NPDU: random APDUs.
        let mut d = vec![0x81, 0x0a];
        d.extend_from_slice(&u16::try_from(body.len() + 6).unwrap().to_be_bytes());
        d.extend([0x01, 0x04]);
        d.extend(body);
        check(&d);
    }

    #[test]
    fn mutated_real(pick in any::<prop::sample::Index>(),
                    flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
                    cut in any::<prop::sample::Index>()) {
        let corpus = corpus();
        let mut d = pick.get(&corpus).clone();
        for (at, v) in flips {
            let i = at.index(d.len());
            d[i] = v;
        }
        check(&d);
        let n = cut.index(d.len() + 1);
        check(&d[..n]);
    }
}
