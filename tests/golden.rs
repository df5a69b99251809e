//! Golden tests: every capture under `pcaps/modbus/` (written by `pcapgen golden`, see
//! `pcaps/README.md`) through the real binary's `dissect`, compared record by record with
//! `tests/golden/modbus/<case>.jsonl`. `BLESS=1 cargo test --test golden` rewrites the expected
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
    root().join("pcaps/modbus").join(case)
}

fn golden_path(case: &str) -> PathBuf {
    let stem = Path::new(case)
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    root()
        .join("tests/golden/modbus")
        .join(format!("{stem}.jsonl"))
}

struct Run {
    records: Vec<Value>,
    stderr: String,
    code: Option<i32>,
}

/// `edgetap dissect PCAP`, stdout parsed line by line (`flow_id` dropped).
fn dissect(case: &str) -> Run {
    let out = Command::new(BIN)
        .arg("dissect")
        .arg(pcap_path(case))
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
    let run = dissect(case);
    assert_eq!(
        run.code,
        Some(0),
        "{case}: exit status; stderr: {}",
        run.stderr
    );
    let path = golden_path(case);
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

fn captures_on_disk() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("pcaps/modbus"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    v.sort();
    v
}

/// Captures under `pcaps/modbus/` that `pcapgen golden` does not make (recorded from real
/// peers, see pcaps/README.md): golden comparison only.
#[test]
fn modbus_other_captures() {
    for name in captures_on_disk() {
        if !pcapgen::golden::CASES.contains(&name.as_str()) {
            golden(&name);
        }
    }
}

/// Every generated case is committed, and every capture has a golden file.
#[test]
fn golden_files_cover_every_capture() {
    let on_disk = captures_on_disk();
    for c in pcapgen::golden::CASES {
        assert!(
            on_disk.iter().any(|n| n == c),
            "pcaps/modbus/{c} missing (run pcapgen golden)"
        );
    }
    if std::env::var_os("BLESS").is_some() {
        return; // being written by the other tests right now
    }
    for c in &on_disk {
        assert!(
            golden_path(c).exists(),
            "{} missing (BLESS=1)",
            golden_path(c).display()
        );
    }
}

/// `pcapgen golden` reproduces the committed captures byte for byte.
#[test]
fn captures_are_reproducible() {
    let tmp = std::env::temp_dir().join(format!("edgetap-golden-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = pcapgen::golden::write_all(&tmp).expect("pcapgen golden");
    assert_eq!(written.len(), pcapgen::golden::CASES.len());
    for p in &written {
        let name = p.file_name().unwrap().to_str().unwrap();
        let fresh = std::fs::read(p).unwrap();
        let committed = std::fs::read(pcap_path(name)).unwrap();
        assert!(
            fresh == committed,
            "pcaps/modbus/{name} differs from `pcapgen golden` output (regenerate with \
             `cargo run -p pcapgen -- golden --out-dir pcaps` and re-bless)"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
