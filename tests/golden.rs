//! Golden tests: every capture under `pcaps/<proto>/` (modbus, mqtt, bacnet, amqp, opcua; written
//! by `pcapgen golden` or recorded from real peers, see `pcaps/README.md`) through the real
//! binary's `dissect`, compared record by record with `tests/golden/<proto>/<case>.jsonl`. `BLESS=1 cargo test --test golden` rewrites the expected
//! files instead (review the diff against tshark before committing it).
//!
//! `flow_id` is left out of the comparison (and of the expected files): it is an internal hash,
//! not part of the contract. Each test also checks facts of its case that hold whatever the
//! golden file says, so that a wrong bless cannot hide a regression.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_edgetap");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pcap_path(case: &str) -> PathBuf {
    pcap_path_in("modbus", case)
}

fn pcap_path_in(proto: &str, case: &str) -> PathBuf {
    root().join("pcaps").join(proto).join(case)
}

fn golden_path_in(proto: &str, case: &str) -> PathBuf {
    let stem = Path::new(case)
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    root()
        .join("tests/golden")
        .join(proto)
        .join(format!("{stem}.jsonl"))
}

struct Run {
    records: Vec<Value>,
    stderr: String,
    code: Option<i32>,
}

/// `edgetap dissect PCAP`, stdout parsed line by line (`flow_id` dropped).
fn dissect(case: &str) -> Run {
    dissect_in("modbus", case)
}

fn dissect_in(proto: &str, case: &str) -> Run {
    let out = Command::new(BIN)
        .arg("dissect")
        .arg(pcap_path_in(proto, case))
        .output()
        .expect("running edgetap");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    let records = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{case}: stdout line is not JSON ({e}): {l}"));
            if let Some(o) = v.as_object_mut() {
                o.remove("flow_id");
            }
            v
        })
        .collect();
    Run {
        records,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

/// Run the case, compare with (or with BLESS=1 rewrite) its golden file, return the run.
fn golden(case: &str) -> Run {
    golden_in("modbus", case)
}

fn golden_in(proto: &str, case: &str) -> Run {
    let run = dissect_in(proto, case);
    assert_eq!(
        run.code,
        Some(0),
        "{case}: exit status; stderr: {}",
        run.stderr
    );
    let path = golden_path_in(proto, case);
    if std::env::var_os("BLESS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = String::new();
        for r in &run.records {
            text.push_str(&serde_json::to_string(r).unwrap());
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        return run;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with BLESS=1 to create it)", path.display()));
    let want: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{}:{}: not JSON: {e}", path.display(), i + 1))
        })
        .collect();
    for (i, (got, want)) in run.records.iter().zip(&want).enumerate() {
        assert_eq!(
            got,
            want,
            "{case}: record {} differs from {}:{}",
            i + 1,
            path.display(),
            i + 1
        );
    }
    assert_eq!(
        run.records.len(),
        want.len(),
        "{case}: {} records, {} expected in {}",
        run.records.len(),
        want.len(),
        path.display()
    );
    run
}

fn modbus(r: &Value) -> &Value {
    assert_eq!(r["proto"], "modbus", "not a modbus record: {r}");
    &r["modbus"]
}

fn frames(recs: &[Value]) -> Vec<u64> {
    recs.iter().map(|r| r["frame"].as_u64().unwrap()).collect()
}

/// (transaction id, function code, kind) of each record.
fn summary(recs: &[Value]) -> Vec<(u64, u64, String)> {
    recs.iter()
        .map(|r| {
            let m = modbus(r);
            (
                m["transaction_id"].as_u64().unwrap(),
                m["function_code"].as_u64().unwrap(),
                m["kind"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn modbus_objects(recs: &[Value]) -> Vec<Value> {
    recs.iter().map(|r| modbus(r).clone()).collect()
}

fn basic_summary() -> Vec<(u64, u64, String)> {
    let mut v = Vec::new();
    for (tid, fc) in [(1, 3), (2, 6), (3, 16), (4, 1)] {
        v.push((tid, fc, "request".to_string()));
        v.push((tid, fc, "response".to_string()));
    }
    v
}

/// Frames of the basic exchange's PDUs: handshake 1-3, then request, response, ACK per pair.
const BASIC_FRAMES: [u64; 8] = [4, 5, 7, 8, 10, 11, 13, 14];

/// Records of a link-layer variant of the basic exchange: identical to basic's (frames,
/// timestamps, addresses, fields), addresses excepted when `same_addresses` is false.
fn assert_same_as_basic(case: &str, recs: &[Value], same_addresses: bool) {
    let basic = dissect("basic.pcap").records;
    assert_eq!(recs.len(), basic.len(), "{case}: record count vs basic");
    for (got, b) in recs.iter().zip(&basic) {
        if same_addresses {
            assert_eq!(got, b, "{case}: differs from basic");
        } else {
            for k in ["frame", "ts", "proto", "src_port", "dest_port", "modbus"] {
                assert_eq!(got[k], b[k], "{case}: {k} differs from basic");
            }
        }
    }
}

#[test]
fn modbus_basic() {
    let r = golden("basic.pcap");
    assert_eq!(summary(&r.records), basic_summary());
    assert_eq!(frames(&r.records), BASIC_FRAMES);
    assert_eq!(r.records[0]["ts"], "2024-01-01T00:00:00.003000Z");
    assert_eq!(r.records[0]["src_ip"], "192.168.10.20");
    assert_eq!(r.records[0]["dest_port"], 502);
    assert_eq!(r.records[1]["src_port"], 502);
    for m in modbus_objects(&r.records) {
        assert_eq!(m["unit_id"], 1);
        assert!(
            m.get("exception_code").is_none(),
            "no exceptions in basic: {m}"
        );
    }
}

#[test]
fn modbus_segmentation() {
    let r = golden("segmentation.pcap");
    let basic = dissect("basic.pcap").records;
    // The same ADUs, whatever the cuts: identical modbus objects and addresses.
    assert_eq!(modbus_objects(&r.records), modbus_objects(&basic));
    // Each record on the frame that carried its ADU's last byte.
    assert_eq!(frames(&r.records), [6, 8, 11, 14, 18, 20, 22, 24]);
}

#[test]
fn modbus_several_adus_per_segment() {
    let r = golden("several-adus-per-segment.pcap");
    assert_eq!(frames(&r.records), [4, 4, 4, 5, 5, 5, 7, 8, 9, 9]);
    let tids: Vec<u64> = summary(&r.records).iter().map(|s| s.0).collect();
    assert_eq!(tids, [1, 2, 3, 1, 2, 3, 4, 5, 4, 5]);
}

#[test]
fn modbus_retransmission() {
    let r = golden("retransmission.pcap");
    // One record per ADU: the duplicate request, the overlapping segment and the spurious
    // retransmission of the last response add nothing.
    assert_eq!(summary(&r.records), basic_summary());
    assert_eq!(
        modbus_objects(&r.records),
        modbus_objects(&dissect("basic.pcap").records)
    );
    // Request 3 completes in the segment that partially overlaps its first part.
    assert_eq!(frames(&r.records), [4, 6, 8, 9, 12, 13, 15, 16]);
}

#[test]
fn modbus_out_of_order() {
    let r = golden("out-of-order.pcap");
    let s = summary(&r.records);
    assert_eq!(s.len(), 10);
    let frame_of = |tid: u64, kind: &str| {
        let i = s
            .iter()
            .position(|x| x.0 == tid && x.2 == kind)
            .unwrap_or_else(|| panic!("no {kind} {tid}"));
        r.records[i]["frame"].as_u64().unwrap()
    };
    // Response 1 in 3 segments captured 2, 1, 3: complete on the third.
    assert_eq!(frame_of(1, "response"), 7);
    // Request 3 likewise.
    assert_eq!(frame_of(3, "request"), 14);
    // Two whole requests captured second first: each on its own frame.
    assert_eq!(frame_of(5, "request"), 17);
    assert_eq!(frame_of(4, "request"), 18);
    // The stream's ADUs are all there, in stream order per direction.
    let client: Vec<u64> = s.iter().filter(|x| x.2 == "request").map(|x| x.0).collect();
    assert_eq!(client, [1, 2, 3, 4, 5]);
}

#[test]
fn modbus_midstream() {
    let r = golden("midstream.pcap");
    let s = summary(&r.records);
    assert_eq!(
        s[0],
        (41, 3, "response".to_string()),
        "the first packet's response"
    );
    assert_eq!(r.records[0]["frame"], 1);
    assert_eq!(s.len(), 9);
    let tids: Vec<u64> = s.iter().skip(1).map(|x| x.0).collect();
    assert_eq!(tids, [42, 42, 43, 43, 44, 44, 45, 45]);
}

#[test]
fn modbus_nonstandard_port() {
    let r = golden("nonstandard-port.pcap");
    assert_eq!(summary(&r.records), basic_summary());
    assert_eq!(frames(&r.records), BASIC_FRAMES);
    assert_eq!(r.records[0]["dest_port"], 5020);
    assert_eq!(r.records[1]["src_port"], 5020);
}

#[test]
fn modbus_not_modbus_on_502() {
    let r = golden("not-modbus-on-502.pcap");
    assert!(
        r.records.iter().all(|x| x["proto"] != "modbus"),
        "HTTP and noise on 502 must not yield Modbus records: {:?}",
        r.records
    );
    assert!(r.records.is_empty(), "no PDUs at all: {:?}", r.records);
}

#[test]
fn modbus_vlan() {
    let r = golden("vlan.pcap");
    assert_same_as_basic("vlan.pcap", &r.records, true);
}

#[test]
fn modbus_qinq() {
    let r = golden("qinq.pcap");
    assert_same_as_basic("qinq.pcap", &r.records, true);
}

#[test]
fn modbus_sll() {
    let r = golden("sll.pcap");
    assert_same_as_basic("sll.pcap", &r.records, true);
}

#[test]
fn modbus_sll2() {
    let r = golden("sll2.pcap");
    assert_same_as_basic("sll2.pcap", &r.records, true);
}

#[test]
fn modbus_raw_ip() {
    let r = golden("raw-ip.pcap");
    assert_same_as_basic("raw-ip.pcap", &r.records, true);
}

#[test]
fn modbus_null() {
    let r = golden("null.pcap");
    assert_same_as_basic("null.pcap", &r.records, true);
}

#[test]
fn modbus_pcapng() {
    let r = golden("pcapng.pcapng");
    assert_same_as_basic("pcapng.pcapng", &r.records, true);
}

#[test]
fn modbus_ipv6() {
    let r = golden("ipv6.pcap");
    assert_same_as_basic("ipv6.pcap", &r.records, false);
    assert_eq!(r.records[0]["src_ip"], "fd00:10::20");
    assert_eq!(r.records[0]["dest_ip"], "fd00:10::5");
}

#[test]
fn modbus_truncated() {
    // The capture itself: pair 4's response record is cut by the snap length.
    let bytes = std::fs::read(pcap_path("truncated.pcap")).unwrap();
    let u32le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(u32le(16), pcapgen::golden::TRUNCATED_SNAPLEN);
    let (mut at, mut cut) = (24, Vec::new());
    let mut n = 0;
    while at + 16 <= bytes.len() {
        n += 1;
        let (caplen, len) = (u32le(at + 8) as usize, u32le(at + 12) as usize);
        if caplen < len {
            cut.push(n);
        }
        at += 16 + caplen;
    }
    assert_eq!(cut, [14], "only frame 14 is cut");

    let r = golden("truncated.pcap");
    let s = summary(&r.records);
    assert!(s.contains(&(4, 3, "request".to_string())));
    assert!(
        !s.iter().any(|x| x.0 == 4 && x.2 != "request"),
        "no record for the incomplete response: {s:?}"
    );
    // The stream goes on after the cut.
    let tail = &r.records[r.records.len() - 2..];
    assert_eq!(
        summary(tail),
        [
            (5, 6, "request".to_string()),
            (5, 6, "response".to_string())
        ]
    );
    assert_eq!(frames(tail), [16, 17]);
}

#[test]
fn modbus_truncated_file() {
    let r = golden("truncated-file.pcap");
    assert_eq!(r.code, Some(0));
    let err = r.stderr.to_lowercase();
    assert!(
        err.contains("truncated") || err.contains("damaged"),
        "stderr must mention the damage: {}",
        r.stderr
    );
    // Everything before the damage: the basic exchange less the cut response.
    let basic = dissect("basic.pcap").records;
    assert_eq!(r.records[..], basic[..7]);
}

#[test]
fn modbus_exception() {
    let r = golden("exception.pcap");
    let exc: Vec<(u64, u64, u64)> = r
        .records
        .iter()
        .map(modbus)
        .filter_map(|m| {
            m.get("exception_code").map(|c| {
                (
                    m["transaction_id"].as_u64().unwrap(),
                    m["function_code"].as_u64().unwrap(),
                    c.as_u64().unwrap(),
                )
            })
        })
        .collect();
    // Function codes without the exception bit.
    assert_eq!(exc, [(2, 8, 1), (3, 3, 2), (4, 3, 3)]);
    assert_eq!(r.records.len(), 8);
}

#[test]
fn modbus_fc43() {
    let r = golden("fc43.pcap");
    assert_eq!(r.records.len(), 4);
    let resp = modbus(&r.records[3]);
    assert_eq!(resp["function_code"], 43);
    assert_eq!(resp["mei_type"], 14);
    assert_eq!(
        resp["objects"],
        json!([
            {"id": 0, "value": "Acme Automation"},
            {"id": 1, "value": "AC-PLC-500"},
            {"id": 2, "value": "V2.11"},
            {"id": 3, "value": "https://acme.example/plc"},
            {"id": 4, "value": "AcmeLogic 500"},
            {"id": 5, "value": "AL500-ETH"},
        ])
    );
    assert_eq!(
        modbus(&r.records[1])["objects"].as_array().map(Vec::len),
        Some(3)
    );
}

#[test]
fn modbus_ip_fragments() {
    let r = golden("ip-fragments.pcap");
    assert_eq!(r.records.len(), 8);
    // The response in three fragments (frames 5-7): reported on the last one.
    assert_eq!(r.records[1]["frame"], 7);
    assert_eq!(r.records[1]["ts"], "2024-01-01T00:00:00.004200Z");
    let m = modbus(&r.records[1]);
    assert_eq!(m["transaction_id"], 1);
    assert_eq!(m["values"].as_array().map(Vec::len), Some(60));
}

#[test]
fn modbus_gap() {
    let r = golden("gap.pcap");
    let s = summary(&r.records);
    assert!(
        !s.contains(&(2, 6, "request".to_string())),
        "request 2 is not in the capture"
    );
    assert!(s.contains(&(2, 6, "response".to_string())));
    // After the gap, on the frames that carried them.
    assert_eq!(frames(&r.records[3..]), [9, 10, 12, 13]);
    let tids: Vec<u64> = s[3..].iter().map(|x| x.0).collect();
    assert_eq!(tids, [3, 3, 4, 4]);
}

fn captures_on_disk(proto: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("pcaps").join(proto))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    v.sort();
    v
}

fn cases_of(proto: &str) -> &'static [&'static str] {
    pcapgen::golden::SUITES
        .iter()
        .find(|s| s.0 == proto)
        .map(|s| s.1)
        .unwrap_or_else(|| panic!("no suite {proto}"))
}

/// Captures under `pcaps/<proto>/` that `pcapgen golden` does not make (recorded from real
/// peers, see pcaps/README.md): golden comparison only. Returns their names.
fn other_captures(proto: &str) -> Vec<String> {
    let cases = cases_of(proto);
    let mut done = Vec::new();
    for name in captures_on_disk(proto) {
        if !cases.contains(&name.as_str()) {
            let r = golden_in(proto, &name);
            assert!(
                r.records.iter().all(|x| x["proto"] == proto),
                "{proto}/{name}: records of another protocol"
            );
            done.push(name);
        }
    }
    done
}

#[test]
fn modbus_other_captures() {
    assert_eq!(other_captures("modbus"), ["tokio-modbus-peer.pcap"]);
}

#[test]
fn mqtt_other_captures() {
    assert_eq!(
        other_captures("mqtt"),
        ["mosquitto-live.pcap", "sparkplug-mosquitto.pcap"]
    );
}

#[test]
fn bacnet_other_captures() {
    assert_eq!(other_captures("bacnet"), ["bacpypes3-live.pcap"]);
}

#[test]
fn amqp_other_captures() {
    assert_eq!(
        other_captures("amqp"),
        ["proton-broker.pcap", "rabbitmq-pika.pcap"]
    );
}

#[test]
fn opcua_other_captures() {
    assert_eq!(
        other_captures("opcua"),
        ["asyncua-buildinfo.pcap", "asyncua-live.pcap"]
    );
}

/// Every generated case is committed, and every capture has a golden file.
#[test]
fn golden_files_cover_every_capture() {
    for (proto, cases) in pcapgen::golden::SUITES {
        let on_disk = captures_on_disk(proto);
        for c in *cases {
            assert!(
                on_disk.iter().any(|n| n == c),
                "pcaps/{proto}/{c} missing (run pcapgen golden)"
            );
        }
        if std::env::var_os("BLESS").is_some() {
            continue; // being written by the other tests right now
        }
        for c in &on_disk {
            assert!(
                golden_path_in(proto, c).exists(),
                "{} missing (BLESS=1)",
                golden_path_in(proto, c).display()
            );
        }
    }
}

/// `pcapgen golden` reproduces the committed captures byte for byte.
#[test]
fn captures_are_reproducible() {
    let tmp = std::env::temp_dir().join(format!("edgetap-golden-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = pcapgen::golden::write_all(&tmp).expect("pcapgen golden");
    let total: usize = pcapgen::golden::SUITES.iter().map(|s| s.1.len()).sum();
    assert_eq!(written.len(), total);
    for p in &written {
        let rel = p.strip_prefix(&tmp).unwrap();
        let fresh = std::fs::read(p).unwrap();
        let committed = std::fs::read(root().join("pcaps").join(rel)).unwrap();
        assert!(
            fresh == committed,
            "pcaps/{} differs from `pcapgen golden` output (regenerate with \
             `cargo run -p pcapgen -- golden --out-dir pcaps` and re-bless)",
            rel.display()
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers for the other protocols.

/// The protocol object of each record, checking the protocol.
fn objs(proto: &str, recs: &[Value]) -> Vec<Value> {
    recs.iter()
        .map(|r| {
            assert_eq!(r["proto"], proto, "not a {proto} record: {r}");
            r[proto].clone()
        })
        .collect()
}

/// Field `key` of every object, as u64 (None where absent).
fn field_u64(objs: &[Value], key: &str) -> Vec<Option<u64>> {
    objs.iter().map(|o| o[key].as_u64()).collect()
}

fn field_str(objs: &[Value], key: &str) -> Vec<Option<String>> {
    objs.iter()
        .map(|o| o[key].as_str().map(str::to_string))
        .collect()
}

fn some<T: Clone>(v: &[T]) -> Vec<Option<T>> {
    v.iter().cloned().map(Some).collect()
}

fn count_on(recs: &[Value], frame: u64) -> usize {
    recs.iter().filter(|r| r["frame"] == frame).count()
}

// ---------------------------------------------------------------------------------------------
// MQTT (pcaps/mqtt/, broker port 1883).

fn mq(case: &str) -> (Run, Vec<Value>) {
    let r = golden_in("mqtt", case);
    let o = objs("mqtt", &r.records);
    (r, o)
}

/// Packet types of the basic 3.1.1 exchange.
const MQTT_BASIC_TYPES: [u64; 18] = [1, 2, 8, 9, 3, 3, 4, 3, 5, 6, 7, 3, 4, 12, 13, 10, 11, 14];

#[test]
fn mqtt_basic_311() {
    let (r, o) = mq("basic-311.pcap");
    assert_eq!(field_u64(&o, "packet_type"), some(&MQTT_BASIC_TYPES));
    assert_eq!(o[0]["client_id"], "edge-sensor-01");
    assert_eq!(o[0]["protocol_level"], 4);
    assert_eq!(o[1]["return_code"], 0);
    let pubs: Vec<&Value> = o.iter().filter(|x| x["packet_type"] == 3).collect();
    let qos: Vec<u64> = pubs.iter().map(|p| p["qos"].as_u64().unwrap()).collect();
    assert_eq!(qos, [0, 1, 2, 1]);
    assert_eq!(pubs[0]["topic"], "plant/line1/temp");
    assert!(pubs[0].get("packet_id").is_none(), "QoS 0 has no packet id");
    // The QoS 2 flow: PUBLISH, PUBREC, PUBREL, PUBCOMP all on packet id 3.
    assert_eq!(field_u64(&o[7..11], "packet_id"), some(&[3, 3, 3, 3]));
    // The broker's PUBLISH goes to the client.
    assert_eq!(r.records[11]["src_port"], 1883);
    assert_eq!(pubs[3]["topic"], "plant/alarms");
    assert_eq!(r.records[0]["dest_port"], 1883);
    assert_eq!(r.records[0]["frame"], 4);
}

#[test]
fn mqtt_basic_v5_properties() {
    let (_, o) = mq("basic-v5-properties.pcap");
    assert_eq!(field_u64(&o, "packet_type"), some(&[1, 2, 3, 4, 3, 3, 14]));
    assert_eq!(o[0]["protocol_level"], 5);
    assert_eq!(o[0]["client_id"], "edge-v5-01");
    assert_eq!(
        o[0]["properties"]["user_properties"],
        json!([["site", "plant-7"]])
    );
    assert_eq!(o[1]["reason_code"], 0);
    // First PUBLISH: topic and alias 1, user properties.
    assert_eq!(o[2]["topic"], "plant/line1/pressure");
    assert_eq!(o[2]["topic_alias"], 1);
    assert_eq!(
        o[2]["properties"]["user_properties"],
        json!([["unit", "bar"], ["sensor", "PT-101"]])
    );
    // Second: empty topic on the wire, resolved through alias 1.
    assert_eq!(o[4]["topic"], "plant/line1/pressure");
    assert_eq!(o[4]["topic_alias"], 1);
    // Third: alias 7 was never set: no topic.
    assert_eq!(o[5]["topic_alias"], 7);
    assert!(o[5].get("topic").is_none(), "unknown alias: {}", o[5]);
}

#[test]
fn mqtt_segmentation() {
    let (r, o) = mq("segmentation.pcap");
    // CONNECT cut after one byte: on the frame of its second part.
    assert_eq!(r.records[0]["frame"], 5);
    // The 20000-byte PUBLISH (first segment 2 bytes, inside the Remaining Length): on the
    // frame of its last byte.
    let big = o.iter().position(|x| x["payload_len"] == 20_000).unwrap();
    assert_eq!(o[big]["topic"], "plant/camera/snapshot");
    assert_eq!(r.records[big]["frame"], 21);
    // Three PUBLISHes and a PINGREQ in one segment.
    assert_eq!(count_on(&r.records, 23), 4);
    // A whole PUBLISH plus 5 bytes of the next: one record per frame.
    let ids: Vec<(u64, u64)> = r
        .records
        .iter()
        .zip(&o)
        .filter(|(_, x)| x["packet_type"] == 3 && x["qos"] == 1)
        .map(|(r, x)| {
            (
                r["frame"].as_u64().unwrap(),
                x["packet_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ids, [(21, 10), (25, 11), (26, 12)]);
    assert_eq!(count_on(&r.records, 27), 2, "two PUBACKs in one segment");
    assert_eq!(o.len(), 14);
}

#[test]
fn mqtt_midstream() {
    let (r, o) = mq("midstream.pcap");
    assert_eq!(r.records[0]["frame"], 1);
    assert_eq!(o[0]["packet_type"], 3);
    assert_eq!(o[0]["topic"], "plant/line2/flow");
    assert_eq!(o[0]["packet_id"], 77);
    assert!(o.iter().all(|x| x["packet_type"] != 1), "no CONNECT");
    assert_eq!(
        field_u64(&o, "packet_type"),
        some(&[3, 4, 3, 8, 9, 3, 4, 12, 13])
    );
}

#[test]
fn mqtt_nonstandard_port() {
    let (r, o) = mq("nonstandard-port.pcap");
    let basic = objs("mqtt", &dissect_in("mqtt", "basic-311.pcap").records);
    assert_eq!(o, basic);
    assert_eq!(r.records[0]["dest_port"], 1884);
    assert_eq!(r.records[1]["src_port"], 1884);
}

#[test]
fn mqtt_refused_connect() {
    let (r, o) = mq("refused-connect.pcap");
    assert_eq!(field_u64(&o, "packet_type"), some(&[1, 2, 1, 2]));
    assert_eq!(o[0]["username"], "alice");
    assert_eq!(o[1]["return_code"], 5);
    assert_eq!(o[2]["protocol_level"], 5);
    assert_eq!(o[3]["reason_code"], 0x86);
    assert_eq!(o[3]["properties"]["reason_string"], "bad credentials");
    assert_eq!(r.records[2]["src_port"], 49_321, "second connection");
}

#[test]
fn mqtt_malformed() {
    let (r, o) = mq("malformed.pcap");
    // The five-byte Remaining Length (frame 6) yields no record.
    assert_eq!(count_on(&r.records, 6), 0);
    // The next segment's PUBLISH decodes (resynchronised).
    assert_eq!(r.records[2]["frame"], 8);
    assert_eq!(o[2]["topic"], "plant/ok/1");
    // QoS 3 is reported as it is (an event-worthy record), with its packet id.
    assert_eq!(r.records[3]["frame"], 10);
    assert_eq!(o[3]["qos"], 3);
    assert_eq!(o[3]["packet_id"], 9);
    // Later packets still decode.
    assert_eq!(o[4]["topic"], "plant/ok/2");
    assert_eq!(field_u64(&o[4..], "packet_type"), some(&[3, 4, 12, 13]));
}

#[test]
fn mqtt_oversize() {
    let (r, o) = mq("oversize.pcap");
    assert_eq!(o.len(), 6);
    // The 300000-byte PUBLISH: reported from its first segment, truncated.
    assert_eq!(r.records[2]["frame"], 6);
    assert_eq!(o[2]["topic"], "plant/camera/raw");
    assert_eq!(
        o[2]["payload_len"],
        pcapgen::golden::mqtt::OVERSIZE_PAYLOAD as u64
    );
    assert_eq!(o[2]["truncated"], true);
    // The small PUBLISH in the big one's last segment, and what follows, decode.
    assert_eq!(o[3]["topic"], "plant/line1/temp");
    assert_eq!(o[3]["packet_id"], 2);
    assert!(o[3].get("truncated").is_none());
    assert_eq!(field_u64(&o[3..], "packet_type"), some(&[3, 4, 3]));
}

// ---------------------------------------------------------------------------------------------
// BACnet/IP (pcaps/bacnet/, UDP 47808).

fn bn(case: &str) -> (Run, Vec<Value>) {
    let r = golden_in("bacnet", case);
    let o = objs("bacnet", &r.records);
    (r, o)
}

#[test]
fn bacnet_basic() {
    let (r, o) = bn("basic.pcap");
    assert_eq!(field_u64(&o, "apdu_type"), some(&[1, 1, 0, 3, 0, 3, 0, 3]));
    assert_eq!(
        field_u64(&o, "service"),
        some(&[8, 0, 12, 12, 12, 12, 12, 12])
    );
    assert_eq!(
        field_u64(&o, "bvlc_function"),
        some(&[11, 11, 10, 10, 10, 10, 10, 10])
    );
    assert_eq!(o[1]["device_instance"], 1234);
    assert_eq!(field_u64(&o[2..], "invoke_id"), some(&[1, 1, 2, 2, 3, 3]));
    assert_eq!(
        o[3]["value"],
        json!({"type": "character_string", "value": "AHU-1"})
    );
    assert_eq!(o[5]["value"]["value"], 21.5);
    assert_eq!(r.records[0]["dest_ip"], "192.168.10.255");
    assert_eq!(frames(&r.records), [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn bacnet_routed_npdu() {
    let (_, o) = bn("routed-npdu.pcap");
    assert_eq!(o.len(), 6);
    assert_eq!(field_u64(&o[..2], "network_message"), some(&[0, 1]));
    assert!(o[0].get("apdu_type").is_none(), "network layer message");
    assert_eq!(o[1]["networks"], json!([2001, 2002]));
    // Global Who-Is: DNET 0xFFFF, hop count 255.
    assert_eq!(o[2]["dnet"], 65535);
    assert_eq!(o[2]["hop_count"], 255);
    assert_eq!(o[2]["service"], 8);
    // I-Am from SNET 2001.
    assert_eq!(o[3]["snet"], 2001);
    assert_eq!(o[3]["sadr"], "0a");
    assert_eq!(o[3]["device_instance"], 20_010);
    // ReadProperty to DNET 2001 and its ack from SNET 2001.
    assert_eq!(o[4]["dnet"], 2001);
    assert_eq!(o[4]["hop_count"], 255);
    assert_eq!(o[4]["invoke_id"], 5);
    assert_eq!(o[5]["snet"], 2001);
    assert_eq!(o[5]["apdu_type"], 3);
    assert_eq!(o[5]["invoke_id"], 5);
}

#[test]
fn bacnet_forwarded_npdu() {
    let (_, o) = bn("forwarded-npdu.pcap");
    assert_eq!(field_u64(&o, "bvlc_function"), some(&[5, 0, 9, 4, 4, 4]));
    assert_eq!(o[0]["ttl"], 300);
    assert_eq!(o[1]["bvlc_result"], 0);
    assert_eq!(o[2]["service"], 8);
    assert_eq!(o[3]["forwarded_from"], "10.30.0.9:47808");
    assert_eq!(o[3]["service"], 8);
    assert_eq!(o[4]["forwarded_from"], "10.20.0.7:47808");
    assert_eq!(o[4]["device_instance"], 7001);
    assert_eq!(o[5]["forwarded_from"], "10.20.0.8:47809");
    assert_eq!(o[5]["snet"], 3001);
    assert_eq!(o[5]["device_instance"], 7002);
}

#[test]
fn bacnet_segmented_apdu() {
    let (_, o) = bn("segmented-apdu.pcap");
    assert_eq!(field_u64(&o, "apdu_type"), some(&[0, 3, 4, 3, 4, 3, 4]));
    assert_eq!(o[0]["segmented_response_accepted"], true);
    assert!(o.iter().all(|x| x["invoke_id"] == 7));
    let segs: Vec<&Value> = o.iter().filter(|x| x["apdu_type"] == 3).collect();
    let seq: Vec<u64> = segs
        .iter()
        .map(|x| x["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(seq, [0, 1, 2]);
    let more: Vec<bool> = segs
        .iter()
        .map(|x| x["more_follows"].as_bool().unwrap())
        .collect();
    assert_eq!(more, [true, true, false]);
    assert!(segs
        .iter()
        .all(|x| x["segmented"] == true && x["service"] == 12));
    let acks: Vec<u64> = o
        .iter()
        .filter(|x| x["apdu_type"] == 4)
        .map(|x| x["sequence_number"].as_u64().unwrap())
        .collect();
    assert_eq!(acks, [0, 1, 2]);
}

#[test]
fn bacnet_nonstandard_port() {
    let (r, o) = bn("nonstandard-port.pcap");
    assert_eq!(
        o,
        objs("bacnet", &dissect_in("bacnet", "basic.pcap").records)
    );
    assert!(r
        .records
        .iter()
        .all(|x| x["src_port"] == 47_900 && x["dest_port"] == 47_900));
}

#[test]
fn bacnet_malformed() {
    let (r, o) = bn("malformed.pcap");
    // One byte of BVLC (frame 3) and a 3-byte header (frame 4): no record, no panic.
    assert_eq!(frames(&r.records), [1, 2, 5, 6, 7, 8, 9, 10]);
    // A BVLC length that disagrees with the datagram: reported, the datagram bounds the
    // message (as in Wireshark).
    assert_eq!(o[2]["bvlc_length"], 64);
    assert_eq!(o[3]["bvlc_length"], 2);
    // NPDU version 2: nothing read past it.
    assert_eq!(o[4]["npdu_version"], 2);
    assert!(o[4].get("apdu_type").is_none());
    // A ReadProperty cut inside its object identifier: the header only.
    assert_eq!(o[5]["service"], 12);
    assert!(o[5].get("object_type").is_none());
    // Later datagrams decode.
    assert_eq!(field_u64(&o[6..], "invoke_id"), some(&[3, 3]));
    assert_eq!(o[7]["value"]["value"], 23.0);
}

#[test]
fn bacnet_error_reject_abort() {
    let (_, o) = bn("error-reject-abort.pcap");
    assert_eq!(field_u64(&o, "apdu_type"), some(&[0, 5, 0, 5, 0, 6, 0, 7]));
    assert_eq!(field_u64(&o, "invoke_id"), some(&[1, 1, 2, 2, 3, 3, 4, 4]));
    assert_eq!(
        (o[1]["error_class"].as_u64(), o[1]["error_code"].as_u64()),
        (Some(1), Some(31))
    );
    assert_eq!(
        (o[3]["error_class"].as_u64(), o[3]["error_code"].as_u64()),
        (Some(2), Some(32))
    );
    assert_eq!(o[1]["service"], 12);
    assert_eq!(o[4]["service"], 30);
    assert_eq!(o[5]["reject_reason"], 9);
    assert_eq!(o[7]["abort_reason"], 4);
    assert_eq!(o[7]["sent_by_server"], true);
}

#[test]
fn bacnet_write_and_control() {
    let (_, o) = bn("write-and-control.pcap");
    assert_eq!(field_u64(&o, "apdu_type"), some(&[0, 2, 0, 2, 0, 2]));
    assert_eq!(field_u64(&o, "service"), some(&[15, 15, 17, 17, 20, 20]));
    assert_eq!(field_u64(&o, "invoke_id"), some(&[1, 1, 2, 2, 3, 3]));
    assert_eq!(o[0]["property_id"], 85);
    assert_eq!(o[0]["write_priority"], 8);
    assert_eq!(o[2]["duration"], 15);
    assert_eq!(o[2]["enable_disable"], 1);
    assert_eq!(o[4]["reinitialized_state"], 1);
}

// ---------------------------------------------------------------------------------------------
// AMQP (pcaps/amqp/, broker port 5672).

fn am(case: &str) -> (Run, Vec<Value>) {
    let r = golden_in("amqp", case);
    let o = objs("amqp", &r.records);
    (r, o)
}

/// (class, method) of every 0-9-1 method frame.
fn methods(o: &[Value]) -> Vec<(u64, u64)> {
    o.iter()
        .filter(|x| x["frame_type"] == "method")
        .map(|x| {
            (
                x["class_id"].as_u64().unwrap(),
                x["method_id"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Performatives of the 1.0 AMQP frames.
fn performatives(o: &[Value]) -> Vec<u64> {
    o.iter()
        .filter_map(|x| x["performative"].as_u64())
        .collect()
}

const AMQP_BASIC_METHODS: [(u64, u64); 20] = [
    (10, 10),
    (10, 11),
    (10, 30),
    (10, 31),
    (10, 40),
    (10, 41),
    (20, 10),
    (20, 11),
    (40, 10),
    (40, 11),
    (50, 10),
    (50, 11),
    (60, 40),
    (60, 20),
    (60, 21),
    (60, 60),
    (60, 80),
    (20, 40),
    (20, 41),
    (10, 50),
];

#[test]
fn amqp_basic_091() {
    let (r, o) = am("basic-091.pcap");
    assert!(o.iter().all(|x| x["version"] == "0-9-1"));
    assert_eq!(o[0]["frame_type"], "protocol_header");
    let m = methods(&o);
    assert_eq!(m[..20], AMQP_BASIC_METHODS);
    assert_eq!(m[20..], [(10, 51)]);
    // publish: method, content header, body on one frame; so is the deliver.
    assert_eq!(count_on(&r.records, 17), 3);
    assert_eq!(count_on(&r.records, 21), 3);
    let hdr: Vec<&Value> = o
        .iter()
        .filter(|x| x["frame_type"] == "content_header")
        .collect();
    assert_eq!(hdr.len(), 2);
    assert!(hdr.iter().all(|h| h["body_size"] == 13));
    let deliver = o.iter().find(|x| x["method_id"] == 60).unwrap();
    assert_eq!(deliver["delivery_tag"], 1);
    assert_eq!(deliver["routing_key"], "line1.temp");
}

#[test]
fn amqp_basic_10() {
    let (_, o) = am("basic-10.pcap");
    assert!(o.iter().all(|x| x["version"] == "1.0"));
    let sasl: Vec<u64> = o.iter().filter_map(|x| x["sasl_method"].as_u64()).collect();
    assert_eq!(sasl, [0x40, 0x41, 0x44]);
    let outcome = o.iter().find(|x| x["sasl_method"] == 0x44).unwrap();
    assert_eq!(outcome["sasl_outcome"], 0);
    assert_eq!(
        performatives(&o),
        [16, 16, 17, 17, 18, 18, 19, 20, 21, 22, 22, 23, 23, 24, 24]
    );
    let headers = o
        .iter()
        .filter(|x| x["frame_type"] == "protocol_header")
        .count();
    assert_eq!(headers, 4, "SASL and AMQP headers, both ways");
}

#[test]
fn amqp_large_message() {
    let (r, o) = am("large-message.pcap");
    let big = pcapgen::golden::amqp::LARGE_BODY as u64;
    // 0-9-1: the content header announces 200000 bytes; two body frames carry them, each
    // reported on the frame of its last byte, whole (not truncated).
    let hdr = o
        .iter()
        .find(|x| x["body_size"] == big)
        .expect("content header");
    assert_eq!(hdr["frame_type"], "content_header");
    let bodies: Vec<(u64, u64)> = r
        .records
        .iter()
        .zip(&o)
        .filter(|(_, x)| x["frame_type"] == "body" && x["payload_size"].as_u64() > Some(100))
        .map(|(r, x)| {
            (
                r["frame"].as_u64().unwrap(),
                x["payload_size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(bodies.iter().map(|b| b.1).sum::<u64>(), big);
    assert_eq!(bodies.len(), 2);
    assert!(o.iter().all(|x| x.get("truncated").is_none()));
    assert!(o.iter().any(|x| x["routing_key"] == "after"));
    // 1.0: four transfer frames carry the data section (8 bytes of section header).
    let transfers: Vec<&Value> = o
        .iter()
        .filter(|x| x["performative"] == 20 && x["payload_size"].as_u64() > Some(1000))
        .collect();
    assert_eq!(transfers.len(), 4);
    let sum: u64 = transfers
        .iter()
        .map(|t| t["payload_size"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, big + 8);
    assert_eq!(transfers[0]["delivery_id"], 0);
    // The small transfer after it decodes.
    assert!(o
        .iter()
        .any(|x| x["performative"] == 20 && x["delivery_id"] == 1));
}

#[test]
fn amqp_several_frames_per_segment() {
    let (r, o) = am("several-frames-per-segment.pcap");
    assert_eq!(count_on(&r.records, 8), 2, "tune-ok + open");
    assert_eq!(count_on(&r.records, 10), 3, "channel.open + 2 declares");
    assert_eq!(count_on(&r.records, 11), 3);
    assert_eq!(count_on(&r.records, 12), 9, "three publishes");
    assert_eq!(count_on(&r.records, 13), 7, "two deliveries + heartbeat");
    // Two acks, the segment boundary 6 bytes into the second.
    let acks: Vec<(u64, u64)> = r
        .records
        .iter()
        .zip(&o)
        .filter(|(_, x)| x["method_id"] == 80)
        .map(|(r, x)| {
            (
                r["frame"].as_u64().unwrap(),
                x["delivery_tag"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(acks, [(14, 1), (15, 2)]);
    // 1.0: header + open + begin + attach in one segment; 5 frames in the broker's reply.
    assert_eq!(count_on(&r.records, 29), 4);
    assert_eq!(count_on(&r.records, 30), 5);
    assert_eq!(count_on(&r.records, 31), 3, "two transfers + empty frame");
}

#[test]
fn amqp_midstream() {
    let (r, o) = am("midstream.pcap");
    assert_eq!(r.records[0]["frame"], 1);
    assert_eq!(
        (o[0]["class_id"].as_u64(), o[0]["method_id"].as_u64()),
        (Some(60), Some(40))
    );
    assert!(o.iter().all(|x| x["frame_type"] != "protocol_header"));
    assert!(o.iter().all(|x| x["version"] == "0-9-1"));
    assert_eq!(methods(&o), [(60, 40), (60, 60), (60, 80), (60, 40)]);
    assert_eq!(
        o.iter().filter(|x| x["frame_type"] == "heartbeat").count(),
        2
    );
}

#[test]
fn amqp_nonstandard_port() {
    let (r, o) = am("nonstandard-port.pcap");
    assert_eq!(
        o,
        objs("amqp", &dissect_in("amqp", "basic-091.pcap").records)
    );
    assert_eq!(r.records[0]["dest_port"], 5673);
}

#[test]
fn amqp_refused_auth() {
    let (r, o) = am("refused-auth.pcap");
    let close = o.iter().find(|x| x["method_id"] == 50).unwrap();
    assert_eq!(close["class_id"], 10);
    assert_eq!(close["reply_code"], 403);
    assert!(close["reply_text"]
        .as_str()
        .unwrap()
        .starts_with("ACCESS_REFUSED"));
    let outcome = o.iter().find(|x| x["sasl_method"] == 0x44).unwrap();
    assert_eq!(outcome["sasl_outcome"], 1);
    assert_eq!(outcome["version"], "1.0");
    // Nothing after the refusals.
    assert_eq!(r.records.last().unwrap()["amqp"]["sasl_outcome"], 1);
    assert_eq!(o.len(), 9);
}

#[test]
fn amqp_malformed_oversize() {
    let (r, o) = am("malformed-oversize.pcap");
    // The frame with a bad frame-end octet: reported as such.
    let bad = o
        .iter()
        .position(|x| x["bad_frame_end"] == true)
        .expect("bad frame end");
    assert_eq!(r.records[bad]["frame"], 13);
    // The next frames decode.
    assert_eq!(o[bad + 1]["routing_key"], "after.bad.end");
    // The 300000-byte body frame: reported truncated from its first segment.
    let over = o
        .iter()
        .position(|x| x["truncated"] == true)
        .expect("oversize frame");
    assert_eq!(
        o[over]["size"],
        pcapgen::golden::amqp::OVERSIZE_FRAME as u64
    );
    assert_eq!(r.records[over]["frame"], 17);
    // The basic.ack in its last segment and the publish after it decode.
    assert_eq!(o[over + 1]["method_id"], 80);
    assert_eq!(o[over + 1]["delivery_tag"], 2);
    assert_eq!(o[over + 2]["routing_key"], "after.oversize");
    assert_eq!(methods(&o).last(), Some(&(10, 51)));
}

// ---------------------------------------------------------------------------------------------
// OPC UA (pcaps/opcua/, server port 4840).

fn ua(case: &str) -> (Run, Vec<Value>) {
    let r = golden_in("opcua", case);
    let o = objs("opcua", &r.records);
    (r, o)
}

#[test]
fn opcua_basic() {
    let (r, o) = ua("basic.pcap");
    assert_eq!(
        field_str(&o, "message_type"),
        some(&["HEL", "ACK", "OPN", "OPN", "MSG", "MSG", "CLO"].map(String::from))
    );
    assert_eq!(
        field_u64(&o, "service_type_id"),
        [
            None,
            None,
            Some(446),
            Some(449),
            Some(631),
            Some(634),
            Some(452)
        ]
    );
    assert_eq!(
        field_u64(&o[2..], "secure_channel_id"),
        some(&[0, 5, 5, 5, 5])
    );
    assert_eq!(
        o[2]["security_policy_uri"],
        pcapgen::proto::opcua::SECURITY_POLICY_NONE
    );
    assert!(o.iter().all(|x| x.get("encrypted").is_none()));
    assert_eq!(frames(&r.records), [4, 5, 6, 7, 8, 9, 11]);
}

#[test]
fn opcua_large_message() {
    let (r, o) = ua("large-message.pcap");
    let resp: Vec<(u64, &Value)> = r
        .records
        .iter()
        .zip(&o)
        .filter(|(_, x)| x["request_id"] == 2 && x["message_type"] == "MSG")
        .map(|(r, x)| (r["frame"].as_u64().unwrap(), x))
        .skip(1) // the request
        .collect();
    let chunks: Vec<&str> = resp
        .iter()
        .map(|x| x.1["chunk_type"].as_str().unwrap())
        .collect();
    assert_eq!(chunks, ["C", "C", "F"]);
    let frames_: Vec<u64> = resp.iter().map(|x| x.0).collect();
    assert_eq!(
        frames_,
        [11, 14, 17],
        "each chunk on the frame of its last byte"
    );
    // The message is decoded on its final chunk only.
    assert!(resp[..2]
        .iter()
        .all(|x| x.1.get("service_type_id").is_none()));
    assert_eq!(resp[2].1["service_type_id"], 634);
    assert_eq!(resp[2].1["chunk_count"], 3);
    assert_eq!(resp[2].1["item_count"], 3);
    // The pair after it decodes.
    assert_eq!(field_u64(&o[o.len() - 3..], "request_id"), some(&[5, 5, 6]));
}

#[test]
fn opcua_several_per_segment() {
    let (r, o) = ua("several-per-segment.pcap");
    assert_eq!(count_on(&r.records, 8), 3);
    assert_eq!(count_on(&r.records, 9), 3);
    assert_eq!(count_on(&r.records, 13), 2);
    let reqs: Vec<(u64, u64)> = r
        .records
        .iter()
        .zip(&o)
        .filter(|(_, x)| x["service_type_id"] == 631)
        .map(|(r, x)| {
            (
                r["frame"].as_u64().unwrap(),
                x["request_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(reqs, [(8, 2), (8, 3), (8, 4), (11, 5), (12, 6)]);
}

#[test]
fn opcua_midstream() {
    let (r, o) = ua("midstream.pcap");
    assert_eq!(r.records[0]["frame"], 1);
    assert_eq!(o[0]["message_type"], "MSG");
    assert_eq!(o[0]["service_type_id"], 631);
    assert_eq!(
        field_u64(&o, "service_type_id"),
        some(&[631, 634, 631, 634, 452])
    );
    assert_eq!(field_u64(&o, "request_id"), some(&[41, 41, 42, 42, 43]));
}

#[test]
fn opcua_nonstandard_port() {
    let (r, o) = ua("nonstandard-port.pcap");
    let basic = objs("opcua", &dissect_in("opcua", "basic.pcap").records);
    // The HEL differs by its endpoint URL only; the rest is identical.
    assert_eq!(o[0]["endpoint_url"], "opc.tcp://192.168.10.5:48010");
    assert_eq!(o[1..], basic[1..]);
    assert_eq!(r.records[0]["dest_port"], 48_010);
}

#[test]
fn opcua_refused_auth() {
    let (_, o) = ua("refused-auth.pcap");
    let act = o.iter().find(|x| x["service_type_id"] == 467).unwrap();
    assert_eq!(act["request_id"], 2);
    let fault = o.iter().find(|x| x["service_type_id"] == 397).unwrap();
    assert_eq!(fault["request_id"], 2);
    assert_eq!(
        fault["service_result"],
        pcapgen::proto::opcua::BAD_USER_ACCESS_DENIED as u64
    );
    assert_eq!(fault["service_result_name"], "BadUserAccessDenied");
    assert_eq!(o.last().unwrap()["message_type"], "CLO");
}

#[test]
fn opcua_encrypted() {
    let (_, o) = ua("encrypted.pcap");
    assert_eq!(
        field_str(&o, "message_type"),
        some(&["HEL", "ACK", "OPN", "OPN", "MSG", "MSG", "MSG", "MSG", "CLO"].map(String::from))
    );
    for x in &o[2..] {
        assert_eq!(x["encrypted"], true, "{x}");
        assert!(x.get("service_type_id").is_none(), "{x}");
        assert!(x.get("sequence_number").is_none(), "{x}");
        assert!(x["secure_channel_id"].is_u64());
    }
    assert_eq!(
        o[2]["security_policy_uri"],
        pcapgen::proto::opcua::SECURITY_POLICY_BASIC256SHA256
    );
    assert_eq!(o[2]["certificate_len"], 256);
    assert_eq!(o[2]["receiver_thumbprint_len"], 20);
    assert_eq!(o[3]["secure_channel_id"], 5);
}

#[test]
fn opcua_malformed_oversize() {
    let (r, o) = ua("malformed-oversize.pcap");
    // The "XYZ" message (frame 8) and the MSG with size 4 (frame 13): no records.
    assert_eq!(count_on(&r.records, 8), 0);
    assert_eq!(count_on(&r.records, 13), 0);
    assert_eq!(field_u64(&o[4..8], "request_id"), some(&[2, 2, 3, 3]));
    // The 300000-byte response: decoded from its first segment, truncated.
    let over = o
        .iter()
        .position(|x| x["truncated"] == true)
        .expect("oversize");
    assert_eq!(r.records[over]["frame"], 20);
    assert_eq!(o[over]["request_id"], 4);
    assert_eq!(o[over]["service_type_id"], 634);
    // The response in its last segment, and the pair after it, decode.
    assert_eq!(o[over + 1]["request_id"], 5);
    assert_eq!(o[over + 1]["service_type_id"], 634);
    assert_eq!(field_u64(&o[over + 2..], "request_id"), some(&[6, 6, 7]));
}
