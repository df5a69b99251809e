//! Property tests: arbitrary bytes, arbitrary cuts and alternating directions never panic;
//! a valid stream cut anywhere gives the same PDUs; probe never panics.
#![cfg(feature = "mqtt")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use edgetap_dissectors::mqtt::{self, Session};
use edgetap_dissectors::{Collect, Direction, Dissector};
use proptest::prelude::*;

fn pkt(b0: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![b0];
    let mut n = body.len();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        v.push(b);
        if n == 0 {
            break;
        }
    }
    v.extend_from_slice(body);
    v
}

fn s(t: &[u8]) -> Vec<u8> {
    let mut v = (t.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(t);
    v
}

/// One valid-looking packet of a random kind (levels mixed on purpose: the session must cope).
fn packet() -> impl Strategy<Value = Vec<u8>> {
    let topic = proptest::collection::vec(b'a'..=b'z', 1..12);
    let payload = proptest::collection::vec(any::<u8>(), 0..300);
    (0u8..12, topic, payload, any::<u16>(), any::<u8>()).prop_map(|(k, t, p, id, x)| match k {
        0 => pkt(
            0x10,
            &[
                &s(b"MQTT")[..],
                &[if x & 1 == 0 { 4 } else { 5 }, 0xc2, 0, 60],
                &[0][..(x & 1) as usize],
                &s(&t),
                &s(b"u"),
                &s(b"pw"),
            ]
            .concat(),
        ),
        1 => pkt(0x20, &[0, x % 6]),
        2 => pkt(
            0x30 | ((x % 3) << 1),
            &[&s(&t)[..], if x % 3 == 0 { &[] } else { &[0, 1][..] }, &p].concat(),
        ),
        3 => pkt(0x40, &id.to_be_bytes()),
        4 => pkt(0x82, &[&id.to_be_bytes()[..], &s(&t), &[x % 3]].concat()),
        5 => pkt(0x90, &[&id.to_be_bytes()[..], &[x % 3]].concat()),
        6 => pkt(0xa2, &[&id.to_be_bytes()[..], &s(&t)].concat()),
        7 => pkt(0xc0, &[]),
        8 => pkt(0xd0, &[]),
        9 => pkt(0xe0, &[]),
        10 => pkt(
            0x32,
            &[&s(&t)[..], &id.to_be_bytes(), &[3, 0x23, 0, x], &p].concat(),
        ),
        _ => pkt(0x62, &id.to_be_bytes()),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_cuts_and_directions_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(0usize..2048, 0..16),
        gaps in proptest::collection::vec(any::<bool>(), 16),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
        cuts.push(0);
        cuts.push(data.len());
        cuts.sort_unstable();
        let mut sess = Session::with_max_pdu(512);
        let mut c = Collect::default();
        let mut dir = Direction::ToServer;
        for (i, w) in cuts.windows(2).enumerate() {
            let chunk = &data[w[0]..w[1]];
            sess.parse(dir, chunk, &mut c);
            if gaps[i % gaps.len()] && i % 5 == 4 {
                sess.on_gap(dir, 10, &mut c);
            }
            let _ = mqtt::probe(dir, chunk);
            dir = dir.flip();
        }
        sess.on_eof(Direction::ToServer, &mut c);
        for (_, p) in &c.pdus {
            prop_assert!(p.starts_with("{\"mqtt\":{\"packet_type\":"), "{}", p);
        }
    }

    #[test]
    fn mqtt_like_garbage_never_panics(
        parts in proptest::collection::vec((0u8..=255, proptest::collection::vec(any::<u8>(), 0..64)), 0..24),
    ) {
        // Plausible fixed headers with random bodies reach deep into the parsers.
        let stream: Vec<u8> = parts.iter().flat_map(|(b0, body)| pkt(*b0, body)).collect();
        for level_hint in [None, Some(4u8), Some(5u8)] {
            let mut sess = Session::default();
            let mut c = Collect::default();
            if let Some(l) = level_hint {
                let conn = pkt(0x10, &[&s(b"MQTT")[..], &[l, 2, 0, 9], &[0][..usize::from(l == 5)], &s(b"c")].concat());
                sess.parse(Direction::ToServer, &conn, &mut c);
            }
            sess.parse(Direction::ToServer, &stream, &mut c);
            sess.parse(Direction::ToClient, &stream, &mut c);
            prop_assert_eq!(c.pdus.len(), 2 * parts.len() + usize::from(level_hint.is_some()));
        }
    }

    #[test]
    fn a_valid_stream_cut_anywhere_gives_the_same_pdus(
        packets in proptest::collection::vec(packet(), 1..12),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let stream: Vec<u8> = packets.concat();
        let mut whole = Collect::default();
        Session::default().parse(Direction::ToServer, &stream, &mut whole);
        prop_assert_eq!(whole.pdus.len(), packets.len());
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        at.push(0);
        at.push(stream.len());
        at.sort_unstable();
        let mut sess = Session::default();
        let mut cut = Collect::default();
        for w in at.windows(2) {
            sess.parse(Direction::ToServer, &stream[w[0]..w[1]], &mut cut);
        }
        prop_assert_eq!(&cut.pdus, &whole.pdus);
        prop_assert_eq!(&cut.events, &whole.events);
    }
}
