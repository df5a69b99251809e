#![cfg(feature = "modbus")]
//! Property tests: the Modbus session never panics however the stream is cut, and cutting a
//! valid stream anywhere yields the same PDUs as feeding it whole.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]

use edgetap_dissectors::modbus::{self, Session};
use edgetap_dissectors::{Collect, Direction, Dissector};
use proptest::prelude::*;

/// One step of a fuzzed flow.
#[derive(Debug, Clone)]
enum Step {
    Data(bool, Vec<u8>),
    Gap(bool, u64),
    Eof(bool),
}

fn dir(to_client: bool) -> Direction {
    if to_client {
        Direction::ToClient
    } else {
        Direction::ToServer
    }
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|(d, b)| Step::Data(d, b)),
        // bytes that start like a header, so the decoder gets exercised
        8 => (any::<bool>(), any::<u16>(), 0u16..300, any::<u8>(), any::<u8>(),
              proptest::collection::vec(any::<u8>(), 0..300))
            .prop_map(|(d, tid, len, unit, fc, rest)| {
                let mut b = tid.to_be_bytes().to_vec();
                b.extend_from_slice(&[0, 0]);
                b.extend_from_slice(&len.to_be_bytes());
                b.push(unit);
                b.push(fc);
                b.extend(rest);
                Step::Data(d, b)
            }),
        1 => (any::<bool>(), 0u64..1000).prop_map(|(d, n)| Step::Gap(d, n)),
        1 => any::<bool>().prop_map(Step::Eof),
    ]
}

/// A well-formed ADU with a function code from the whole range and a body of any length.
fn valid_adu() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<u16>(),
        any::<u8>(),
        prop_oneof![1u8..=127, 0x81u8..=0xff, Just(43u8), Just(3u8), Just(16u8)],
        proptest::collection::vec(any::<u8>(), 0..60),
    )
        .prop_map(|(tid, unit, fc, body)| {
            let mut v = tid.to_be_bytes().to_vec();
            v.extend_from_slice(&[0, 0]);
            v.extend_from_slice(&u16::try_from(body.len() + 2).unwrap().to_be_bytes());
            v.push(unit);
            v.push(fc);
            v.extend(body);
            v
        })
}

fn run_cut(stream: &[u8], cuts: &[usize], d: Direction) -> Collect {
    let mut s = Session::default();
    let mut c = Collect::default();
    let mut cuts: Vec<usize> = cuts.iter().map(|&x| x % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    let mut at = 0;
    for cut in cuts {
        s.parse(d, &stream[at..cut], &mut c);
        at = cut;
    }
    s.parse(d, &stream[at..], &mut c);
    c
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics(steps in proptest::collection::vec(step(), 0..40)) {
        let mut s = Session::default();
        let mut c = Collect::default();
        for st in &steps {
            match st {
                Step::Data(d, b) => {
                    let _ = modbus::probe(dir(*d), b);
                    s.parse(dir(*d), b, &mut c);
                }
                Step::Gap(d, n) => s.on_gap(dir(*d), *n, &mut c),
                Step::Eof(d) => s.on_eof(dir(*d), &mut c),
            }
        }
        for (_, p) in &c.pdus {
            prop_assert!(!p.starts_with("<unserialisable"), "{}", p);
        }
    }

    #[test]
    fn any_split_gives_the_same_pdus(
        adus in proptest::collection::vec(valid_adu(), 1..12),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        to_client in any::<bool>(),
    ) {
        let stream: Vec<u8> = adus.concat();
        let d = dir(to_client);
        let whole = run_cut(&stream, &[], d);
        prop_assert_eq!(whole.pdus.len(), adus.len());
        let split = run_cut(&stream, &cuts, d);
        prop_assert_eq!(&split.pdus, &whole.pdus);
        prop_assert_eq!(&split.events, &whole.events);
        prop_assert_eq!(&split.facts, &whole.facts);
    }

    #[test]
    fn arbitrary_bytes_split_anywhere_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..10),
        to_client in any::<bool>(),
    ) {
        let _ = run_cut(&bytes, &cuts, dir(to_client));
    }
}
