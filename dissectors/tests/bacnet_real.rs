#![cfg(feature = "bacnet")]
//! Real BACnet/IP datagrams (extracted from the shared captures with tshark by
//! `tests/data/bacnet_gen.py`), checked field by field against tshark's own dissection: the
//! contract fields that `shared/tools/tshark-agree` compares, plus routing, object, property,
//! error/reject/abort and segment fields. `BACNET_FIXTURE_DIR=dir` runs it over other fixtures
//! (e.g. the unthinned set from `BACNET_FULL=1 bacnet_gen.py`).
#![cfg(feature = "bacnet")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use edgetap_dissectors::{bacnet, Collect, Direction, Dissector};
use serde_json::Value;
use std::path::PathBuf;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// tshark-agree's normalisation: numbers and 0x-hex strings to decimal strings.
fn norm(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(u8::from(*b).to_string()),
        serde_json::Value::String(s) => Some(
            s.strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .map_or_else(|| s.clone(), |n| n.to_string()),
        ),
        _ => None,
    }
}

fn fixture_dir() -> PathBuf {
    std::env::var_os("BACNET_FIXTURE_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
            PathBuf::from,
        )
}

#[test]
fn agrees_with_tshark() {
    let mut files: Vec<_> = std::fs::read_dir(fixture_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("bacnet_") && n.ends_with(".tsv")
        })
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let (mut total, mut matched, mut malformed) = (0u64, 0u64, 0u64);
    let (mut extra_total, mut extra_matched) = (0u64, 0u64);
    let mut bad = Vec::new();
    let mut events: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    let mut odd = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let (count, frame, payload, want) = (
                cols[0].parse::<u64>().unwrap(),
                cols[1],
                hex(cols[2]),
                cols[3],
            );
            let mut sink = Collect::default();
            bacnet::Session::default().parse(Direction::ToServer, &payload, &mut sink);
            if want == "malformed" {
                malformed += count;
                continue;
            }
            total += count;
            for (_, e) in &sink.events {
                *events.entry(e.name).or_default() += count;
                if e.name.starts_with("bacnet.malformed") && odd.len() < 20 {
                    odd.push(format!("{} frame {frame}: {}", file.display(), e.name));
                }
            }
            assert_eq!(
                sink.pdus.len(),
                1,
                "{file:?} frame {frame}: one PDU per datagram"
            );
            let got: serde_json::Value = serde_json::from_str(&sink.pdus[0].1).unwrap();
            let got = &got["bacnet"];
            let want: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(want).unwrap();
            let ok = want
                .iter()
                .all(|(k, v)| got.get(k).and_then(norm) == norm(v));
            let extra: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(cols.get(4).copied().unwrap_or("{}")).unwrap();
            // tshark reassembles segmented messages and reports the whole message's parameters on
            // the last segment; edgetap decodes each segment on its own (no reassembly).
            let later_segment = got
                .get("sequence_number")
                .and_then(Value::as_u64)
                .unwrap_or(0)
                > 0
                && got.get("segmented") == Some(&Value::Bool(true));
            if !extra.is_empty() && !later_segment {
                extra_total += count;
                if extra
                    .iter()
                    .all(|(k, v)| got.get(k).and_then(norm) == norm(v))
                {
                    extra_matched += count;
                } else if bad.len() < 20 {
                    bad.push(format!(
                        "{} frame {frame}: extra {extra:?}\n   tool {got}",
                        file.display()
                    ));
                }
            }
            if ok {
                matched += count;
            } else if bad.len() < 20 {
                bad.push(format!(
                    "{} frame {frame}: tshark {want:?}\n   tool {got}",
                    file.display()
                ));
            }
        }
    }
    let pct = 100.0 * matched as f64 / total.max(1) as f64;
    eprintln!("bacnet vs tshark: {matched}/{total} = {pct:.3}% ({malformed} malformed skipped)");
    eprintln!("extra fields (routing, object, property, error/reject/abort, segments): {extra_matched}/{extra_total}");
    eprintln!("events: {events:?}");
    for b in odd.iter().chain(&bad) {
        eprintln!("  {b}");
    }
    assert!(pct >= 99.5, "agreement {pct:.3}% < 99.5%");
    assert!(
        extra_matched * 1000 >= extra_total * 995,
        "extra fields agree too rarely"
    );
}
