#![cfg(feature = "opcua")]
//! OPC UA dissector on real captures (CISA icsnpp-opcua-binary test traces and an asyncua
//! peer capture): the TCP payloads, per direction, are in `data/opcua_*.feed`
//! (`frame dir stream HEX`, dir 0 = to server, made with `tshark -T fields -e tcp.payload`),
//! and tshark's view of the same frames in `data/opcua_*.tshark`
//! (`frame<TAB>type<TAB>scid<TAB>service node id`, repeated values comma-separated).
#![cfg(feature = "opcua")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edgetap_dissectors::{opcua, Collect, Direction, Dissector, FactKind, Side};
use serde_json::Value;
use std::collections::BTreeMap;

struct Run {
    /// frame -> PDUs (JSON of the opcua object)
    pdus: BTreeMap<u64, Vec<Value>>,
    events: Vec<(u64, &'static str)>,
    facts: Vec<(FactKind, Side, String)>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn run(name: &str) -> Run {
    let path = format!(
        "{}/tests/data/opcua_{name}.feed",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut sessions: BTreeMap<String, opcua::Session> = BTreeMap::new();
    let mut out = Run {
        pdus: BTreeMap::new(),
        events: vec![],
        facts: vec![],
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let frame: u64 = f[0].parse().unwrap();
        let dir = if f[1] == "0" {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let s = sessions.entry(f[2].to_string()).or_default();
        let mut c = Collect::default();
        s.parse(dir, &unhex(f[3]), &mut c);
        for (_, p) in c.pdus {
            let v: Value = serde_json::from_str(&p).unwrap();
            out.pdus.entry(frame).or_default().push(v["opcua"].clone());
        }
        out.events
            .extend(c.events.iter().map(|(_, e)| (frame, e.name)));
        out.facts.extend(c.facts);
    }
    out
}

/// Every frame tshark decodes has the same (type, channel id, service type id) list from us,
/// and we report nothing in frames tshark does not.
fn agrees_with_tshark(name: &str) -> Run {
    let r = run(name);
    let path = format!(
        "{}/tests/data/opcua_{name}.tshark",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap();
    let mut frames = 0;
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let frame: u64 = f[0].parse().unwrap();
        let types: Vec<&str> = f[1].split(',').collect();
        let scids: Vec<&str> = f
            .get(2)
            .map_or(vec![], |s| s.split(',').filter(|x| !x.is_empty()).collect());
        let svcs: Vec<&str> = f
            .get(3)
            .map_or(vec![], |s| s.split(',').filter(|x| !x.is_empty()).collect());
        let ours = r.pdus.get(&frame).cloned().unwrap_or_default();
        assert_eq!(ours.len(), types.len(), "{name} frame {frame}: {ours:?}");
        let our_types: Vec<String> = ours
            .iter()
            .map(|p| p["message_type"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(our_types, types, "{name} frame {frame}");
        let our_scids: Vec<String> = ours
            .iter()
            .filter_map(|p| p.get("secure_channel_id").map(|v| v.to_string()))
            .collect();
        assert_eq!(our_scids, scids, "{name} frame {frame}");
        let our_svcs: Vec<String> = ours
            .iter()
            .filter_map(|p| p.get("service_type_id").map(|v| v.to_string()))
            .collect();
        assert_eq!(our_svcs, svcs, "{name} frame {frame}");
        frames += 1;
    }
    assert_eq!(
        frames,
        r.pdus.len(),
        "{name}: frames with PDUs tshark does not see"
    );
    assert!(frames > 0);
    r
}

fn has_fact(r: &Run, kind: FactKind, side: Side, value: &str) -> bool {
    r.facts
        .iter()
        .any(|(k, s, v)| *k == kind && *s == side && v == value)
}

#[test]
fn python_opcua_minimal() {
    let r = agrees_with_tshark("python_minimal");
    assert!(r.events.is_empty(), "{:?}", r.events);
    assert!(has_fact(
        &r,
        FactKind::OpcuaApplicationUri,
        Side::Server,
        "urn:freeopcua:python:server"
    ));
    let hel = &r.pdus.values().next().unwrap()[0];
    assert_eq!(hel["message_type"], "HEL");
    assert!(hel["endpoint_url"]
        .as_str()
        .unwrap()
        .starts_with("opc.tcp://"));
}

#[test]
fn python_opcua_signed_channel_is_decoded() {
    let r = agrees_with_tshark("python_sign");
    // The OPNs of the Basic256Sha256 channel are encrypted; its MSGs are signed only.
    let all: Vec<&Value> = r.pdus.values().flatten().collect();
    let secured_opn: Vec<_> = all
        .iter()
        .filter(|p| p["message_type"] == "OPN" && p["encrypted"] == true)
        .collect();
    assert_eq!(secured_opn.len(), 2);
    assert_eq!(
        secured_opn[0]["certificate_subject"],
        "python-opcua.example.org"
    );
    assert_eq!(
        secured_opn[0]["certificate_thumbprint"],
        "0ed5b7401ee530174075f027973d1d466416a866"
    );
    assert!(all
        .iter()
        .any(|p| p["service"] == "CreateSessionRequest"
            && p["application_name"] == "Pure Python Client"));
    assert!(has_fact(
        &r,
        FactKind::OpcuaApplicationUri,
        Side::Client,
        "urn:freeopcua:client"
    ));
    assert!(has_fact(
        &r,
        FactKind::OpcuaCertificateThumbprint,
        Side::Client,
        "0ed5b7401ee530174075f027973d1d466416a866"
    ));
    assert!(!r
        .events
        .iter()
        .any(|(_, e)| *e == "opcua.encrypted_channel"));
}

#[test]
fn open62541_encrypted_channel_is_metadata_only() {
    let r = agrees_with_tshark("open62541_encrypted");
    let msgs: Vec<&Value> = r
        .pdus
        .values()
        .flatten()
        .filter(|p| p["message_type"] == "MSG")
        .collect();
    assert!(!msgs.is_empty());
    for m in msgs {
        assert_eq!(m["encrypted"], true);
        assert_eq!(m["secure_channel_id"], 2);
        assert!(m.get("service_type_id").is_none());
    }
    let names: Vec<&str> = r.events.iter().map(|e| e.1).collect();
    assert_eq!(names, vec!["opcua.encrypted_channel"]);
}

#[test]
fn open62541_mid_stream_start() {
    let r = agrees_with_tshark("no_handshake");
    assert!(!r.events.iter().any(|(_, e)| *e == "opcua.malformed"));
}

#[test]
fn open62541_get_endpoints() {
    let r = agrees_with_tshark("getendpoints");
    let resp = r
        .pdus
        .values()
        .flatten()
        .find(|p| p["service"] == "GetEndpointsResponse")
        .unwrap();
    // This server answers with no endpoints (its URL did not match).
    assert_eq!(resp["item_count"], 0);
    assert_eq!(resp["service_result"], 0);
    assert!(r.facts.is_empty());
    assert!(r.events.is_empty());
}

#[test]
fn asyncua_user_name_login_and_auth_failure() {
    let r = agrees_with_tshark("asyncua");
    let all: Vec<&Value> = r.pdus.values().flatten().collect();
    assert!(all
        .iter()
        .any(|p| p["identity_token"] == "username" && p["user_name"] == "operator"));
    assert!(all.iter().any(|p| p["identity_token"] == "anonymous"));
    assert!(r.events.iter().any(|(_, e)| *e == "opcua.auth_failure"));
    assert!(has_fact(
        &r,
        FactKind::OpcuaApplicationName,
        Side::Server,
        "edgetap test PLC"
    ));
}

#[test]
fn probe_accepts_the_first_bytes_of_every_real_direction() {
    for name in ["python_minimal", "python_sign", "getendpoints", "asyncua"] {
        let path = format!(
            "{}/tests/data/opcua_{name}.feed",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            if seen.insert((f[1].to_string(), f[2].to_string())) {
                let dir = if f[1] == "0" {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                };
                assert_eq!(
                    opcua::probe(dir, &unhex(f[3])),
                    edgetap_dissectors::Probe::Yes,
                    "{name}: {line:.40}"
                );
            }
        }
    }
}
