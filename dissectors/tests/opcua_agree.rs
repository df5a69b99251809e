#![cfg(feature = "opcua")]
//! A driver for comparing the OPC UA dissector with tshark outside the pipeline.
//!
//! With `OPCUA_AGREE_IN` set to a file of feed lines (`frame dir stream HEX` or
//! `frame dir stream GAP len`, dir 0 = to server), writes one contract record per PDU
//! (`{"frame":..,"proto":"opcua","opcua":{..}}`) to `OPCUA_AGREE_OUT`, and the events to
//! `OPCUA_AGREE_OUT.events`. Without the variable it does nothing.
#![cfg(feature = "opcua")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edgetap_dissectors::{opcua, Collect, Direction, Dissector};
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn agree_from_env() {
    let (Ok(input), Ok(output)) = (
        std::env::var("OPCUA_AGREE_IN"),
        std::env::var("OPCUA_AGREE_OUT"),
    ) else {
        return;
    };
    let text = std::fs::read_to_string(input).unwrap();
    let mut sessions: BTreeMap<String, (opcua::Session, Collect)> = BTreeMap::new();
    let mut out = String::new();
    let mut events = String::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let frame: u64 = f[0].parse().unwrap();
        let dir = if f[1] == "0" {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let (s, c) = sessions.entry(f[2].to_string()).or_default();
        if f[3] == "GAP" {
            s.on_gap(dir, f[4].parse().unwrap(), c);
        } else {
            s.parse(dir, &unhex(f[3]), c);
        }
        for (_, p) in c.pdus.drain(..) {
            let v: serde_json::Value = serde_json::from_str(&p).unwrap();
            let rec = serde_json::json!({"frame": frame, "proto": "opcua", "stream": f[2], "opcua": v["opcua"]});
            writeln!(out, "{rec}").unwrap();
        }
        for (_, e) in c.events.drain(..) {
            writeln!(events, "{frame} {} {}", f[2], e.name).unwrap();
        }
        for (k, side, v) in c.facts.drain(..) {
            writeln!(events, "{frame} {} fact {k:?} {side:?} {v}", f[2]).unwrap();
        }
    }
    std::fs::write(&output, out).unwrap();
    std::fs::write(format!("{output}.events"), events).unwrap();
}
