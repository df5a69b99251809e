#![cfg(feature = "mqtt")]
//! Real captures: TCP payloads extracted with tshark (`tests/data/mqtt_fixtures.py`) are fed to a
//! [`Session`] segment by segment, and every PDU tshark decodes must come out of the segment
//! (frame) that completed it, with equal contract fields (`packet_type`, `client_id`, `topic`,
//! `qos`, `packet_id`), matched the way `shared/tools/tshark-agree` matches them.
//!
//! Set `MQTT_FIXTURE_DIR` to run over another directory of fixtures (all of them), e.g. one
//! regenerated from more captures; `MQTT_AGREE_VERBOSE=1` prints every mismatch.
#![cfg(feature = "mqtt")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use edgetap_dissectors::mqtt::Session;
use edgetap_dissectors::{Collect, Direction, Dissector};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// tshark-agree's `norm`: numbers as decimal strings, booleans as 0/1, strings as they are.
fn norm(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Feed the segments of one fixture; returns the PDUs per frame (scalar fields, normalised)
/// and the events.
fn run(segments: &str) -> (BTreeMap<u64, Vec<HashMap<String, String>>>, Collect) {
    let mut sessions: HashMap<u64, Session> = HashMap::new();
    // (stream, dir) -> next expected relative sequence number
    let mut next: HashMap<(u64, usize), u64> = HashMap::new();
    let mut out: BTreeMap<u64, Vec<HashMap<String, String>>> = BTreeMap::new();
    let mut all = Collect::default();
    for line in segments.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let frame: u64 = f[0].parse().unwrap();
        let stream: u64 = f[1].parse().unwrap();
        let dir = if f[2] == "0" {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let seq: u64 = f[3].parse().unwrap();
        let mut payload = hex(f[4]);
        let s = sessions.entry(stream).or_default();
        let mut c = Collect::default();
        let key = (stream, dir.index());
        if let Some(&n) = next.get(&key) {
            let end = seq + payload.len() as u64;
            if end <= n {
                continue; // retransmission
            }
            if seq < n {
                payload.drain(..(n - seq) as usize);
            } else if seq > n {
                s.on_gap(dir, seq - n, &mut c);
            }
            next.insert(key, end);
        } else {
            next.insert(key, seq + payload.len() as u64);
        }
        s.parse(dir, &payload, &mut c);
        for (_, text) in &c.pdus {
            let v: Value = serde_json::from_str(text).unwrap();
            let fields = v["mqtt"]
                .as_object()
                .unwrap()
                .iter()
                .filter_map(|(k, v)| norm(v).map(|v| (k.clone(), v)))
                .collect();
            out.entry(frame).or_default().push(fields);
        }
        all.pdus.extend(c.pdus);
        all.events.extend(c.events);
        all.facts.extend(c.facts);
    }
    (out, all)
}

/// (matched, total) for one fixture.
fn agree(dir: &Path, name: &str, verbose: bool) -> (usize, usize) {
    let segs = std::fs::read_to_string(dir.join(format!("{name}.segments.tsv"))).unwrap();
    let want = std::fs::read_to_string(dir.join(format!("{name}.tshark.jsonl"))).unwrap();
    let (mut got, _) = run(&segs);
    let (mut matched, mut total) = (0, 0);
    for line in want.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let frame = v["frame"].as_u64().unwrap();
        let t: HashMap<String, String> = v["mqtt"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), norm(v).unwrap()))
            .collect();
        total += 1;
        let pool = got.entry(frame).or_default();
        match pool
            .iter()
            .position(|g| t.iter().all(|(k, v)| g.get(k) == Some(v)))
        {
            Some(i) => {
                pool.remove(i);
                matched += 1;
            }
            None if verbose => {
                eprintln!(
                    "{name} frame {frame}: tshark {t:?} | tool {:?}",
                    pool.first()
                )
            }
            None => {}
        }
    }
    (matched, total)
}

fn fixtures(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().into_string().ok()?;
            n.strip_suffix(".segments.tsv")
                .filter(|s| s.starts_with("mqtt_"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

#[test]
fn agrees_with_tshark_on_every_fixture() {
    let dir = std::env::var_os("MQTT_FIXTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(data_dir);
    let verbose = std::env::var_os("MQTT_AGREE_VERBOSE").is_some();
    let (mut m, mut t) = (0, 0);
    let mut bad = vec![];
    let names = fixtures(&dir);
    assert!(names.len() >= 20, "fixtures missing in {}", dir.display());
    for name in &names {
        let (mm, tt) = agree(&dir, name, verbose);
        if mm != tt {
            bad.push(format!("{name}: {mm}/{tt}"));
        }
        m += mm;
        t += tt;
    }
    eprintln!(
        "mqtt agreement with tshark: {m}/{t} = {:.2}% over {} captures",
        100.0 * m as f64 / t as f64,
        names.len()
    );
    assert!(bad.is_empty(), "disagreements: {bad:?}");
}

fn events(c: &Collect) -> Vec<&'static str> {
    c.events.iter().map(|(_, e)| e.name).collect()
}

fn fixture(name: &str) -> (BTreeMap<u64, Vec<HashMap<String, String>>>, Collect) {
    let segs = std::fs::read_to_string(data_dir().join(format!("{name}.segments.tsv"))).unwrap();
    run(&segs)
}

#[test]
fn connack_134_is_an_auth_failure() {
    let (pdus, c) = fixture("mqtt_sv_mqtt5_pub_jpeg_connack134");
    let ev = events(&c);
    assert!(ev.contains(&"mqtt.connect_refused"), "{ev:?}");
    assert!(ev.contains(&"mqtt.auth_failure"), "{ev:?}");
    assert_eq!(pdus[&6][0]["reason_code"], "134");
    // The 35 kB PUBLISH is reassembled and its payload measured.
    let publish = c
        .pdus
        .iter()
        .find(|(_, p)| p.contains("\"packet_type\":3"))
        .unwrap();
    let v: Value = serde_json::from_str(&publish.1).unwrap();
    assert_eq!(v["mqtt"]["topic"], "topicX");
    assert_eq!(v["mqtt"]["payload_len"], 35767 - 8 - 1);
}

#[test]
fn peers_capture_refusals_facts_and_password_never_shown() {
    let (_, c) = fixture("mqtt_mqtt_v311_v5");
    let ev = events(&c);
    assert_eq!(
        ev.iter().filter(|e| **e == "mqtt.auth_failure").count(),
        2,
        "{ev:?}"
    );
    assert!(c
        .facts
        .iter()
        .any(|(k, _, v)| *k == edgetap_dissectors::FactKind::MqttClientId && v == "sub311"));
    assert!(c
        .facts
        .iter()
        .any(|(k, _, v)| *k == edgetap_dissectors::FactKind::MqttUsername && v == "alice"));
    for (_, p) in &c.pdus {
        assert!(!p.contains("secret") && !p.contains("wrong"), "{p}");
    }
}

#[test]
fn midstream_split_learns_v5_from_connack() {
    let (pdus, c) = fixture("mqtt_sv_mqtt_midstream_split");
    assert_eq!(pdus[&4][0]["packet_type"], "2");
    assert_eq!(pdus[&10][0]["topic"], "topicX");
    let publish = &c.pdus.iter().find(|(_, p)| p.contains("topicX")).unwrap().1;
    // Read as MQTT 5.0: the property length byte is not counted in the payload.
    assert!(publish.contains("\"properties\":{}"), "{publish}");
    assert!(events(&c).contains(&"mqtt.missing_connect"));
    // The broker's assigned client id gives it away.
    assert!(c.facts.iter().any(
        |(k, _, v)| *k == edgetap_dissectors::FactKind::MqttBrokerProduct && v == "mosquitto"
    ));
}

#[test]
fn anomaly_captures_raise_their_events() {
    let cases = [
        ("mqtt_sv_mqtt_events_invalid_qos", "mqtt.invalid_qos"),
        (
            "mqtt_sv_mqtt_events_unassigned_msgtype",
            "mqtt.unassigned_message_type",
        ),
        (
            "mqtt_sv_mqtt_events_missing_connect",
            "mqtt.missing_connect",
        ),
        ("mqtt_sv_mqtt5_excessiveproplen", "mqtt.invalid_properties"),
    ];
    for (name, event) in cases {
        let (_, c) = fixture(name);
        assert!(events(&c).contains(&event), "{name}: {:?}", events(&c));
    }
}

#[test]
fn mosquitto_v5_properties_are_shown() {
    let (_, c) = fixture("mqtt_sv_mqtt5_pub_mosquittoprops");
    let connect = &c.pdus[0].1;
    for needle in [
        "\"session_expiry_interval\":555",
        "\"receive_maximum\":222",
        "\"user_properties\":[[\"userprop1\",\"userval1\"],[\"userprop2\",\"userval2\"]]",
        "\"will_topic\":\"willtopic\"",
        "\"username\":\"user\"",
        "\"password_len\":4",
    ] {
        assert!(connect.contains(needle), "{needle} in {connect}");
    }
    let publish = &c
        .pdus
        .iter()
        .find(|(_, p)| p.contains("\"packet_type\":3"))
        .unwrap()
        .1;
    for needle in [
        "\"content_type\":\"mytype\"",
        "\"response_topic\":\"response_topic1\"",
        "\"correlation_data_len\":5",
        "\"topic_alias\":5",
    ] {
        assert!(publish.contains(needle), "{needle} in {publish}");
    }
    let disconnect = &c.pdus.last().unwrap().1;
    assert!(disconnect.contains("\"reason_code\":0"), "{disconnect}");
}

/// For `shared/tools/tshark-agree --cmd`: prints contract records (`{"frame", "proto", "mqtt"}`)
/// for the segments file named by `MQTT_SEGMENTS`. Run with `--ignored --nocapture`.
#[test]
#[ignore]
fn emit_jsonl() {
    let Some(path) = std::env::var_os("MQTT_SEGMENTS") else {
        return;
    };
    let segs = std::fs::read_to_string(path).unwrap();
    let mut sessions: HashMap<u64, Session> = HashMap::new();
    let mut next: HashMap<(u64, usize), u64> = HashMap::new();
    for line in segs.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (frame, stream): (u64, u64) = (f[0].parse().unwrap(), f[1].parse().unwrap());
        let dir = if f[2] == "0" {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let seq: u64 = f[3].parse().unwrap();
        let mut payload = hex(f[4]);
        let s = sessions.entry(stream).or_default();
        let mut c = Collect::default();
        let key = (stream, dir.index());
        let end = seq + payload.len() as u64;
        match next.get(&key).copied() {
            Some(n) if end <= n => continue,
            Some(n) if seq < n => drop(payload.drain(..(n - seq) as usize)),
            Some(n) if seq > n => s.on_gap(dir, seq - n, &mut c),
            _ => {}
        }
        next.insert(key, end);
        s.parse(dir, &payload, &mut c);
        for (_, text) in c.pdus {
            let v: Value = serde_json::from_str(&text).unwrap();
            println!(
                "{}",
                serde_json::json!({"frame": frame, "proto": "mqtt", "mqtt": v["mqtt"]})
            );
        }
    }
}
