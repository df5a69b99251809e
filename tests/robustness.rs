//! Hostile input: damaged capture files through the real binary, and floods through the
//! pipeline, which must stay within its caps.

use edgetap::capture::{LinkType, Packet};
use edgetap::output::CountOnly;
use edgetap::pipeline::{Limits, Pipeline};
use etherparse::PacketBuilder;
use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_edgetap");

/// A classic pcap (Ethernet, microseconds) of `n` Modbus request/response pairs on one flow.
fn modbus_pcap(n: u16) -> Vec<u8> {
    modbus_pcap_at(n, 40000, 0)
}

/// The same on client port `port`, with time stamps shifted by `usec` microseconds.
fn modbus_pcap_at(n: u16, port: u16, usec: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    let (mut cseq, mut sseq) = (1000u32, 5000u32);
    for t in 0..n {
        let req = [(t >> 8) as u8, t as u8, 0, 0, 0, 6, 1, 3, 0, 0, 0, 2];
        let resp = [(t >> 8) as u8, t as u8, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2];
        for (to_server, payload) in [(true, &req[..]), (false, &resp[..])] {
            let mut frame = Vec::new();
            let b = if to_server {
                PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                    .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                    .tcp(port, 502, cseq, 65535)
                    .ack(sseq)
            } else {
                PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
                    .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
                    .tcp(502, port, sseq, 65535)
                    .ack(cseq)
            };
            b.psh().write(&mut frame, payload).unwrap();
            if to_server {
                cseq += payload.len() as u32;
            } else {
                sseq += payload.len() as u32;
            }
            let ts = u32::from(t) * 10 + u32::from(!to_server) * 2 + usec;
            out.extend_from_slice(&1_700_000_000u32.to_le_bytes());
            out.extend_from_slice(&ts.to_le_bytes());
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            out.extend_from_slice(&frame);
        }
    }
    out
}

fn write_tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgetap-robustness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

struct Run {
    code: i32,
    records: usize,
    stderr: String,
}

fn dissect(path: &std::path::Path) -> Run {
    let out = Command::new(BIN).arg("dissect").arg(path).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("every line is JSON");
        assert_eq!(v["proto"], "modbus");
    }
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    Run {
        code: out.status.code().unwrap_or(-1),
        records: stdout.lines().count(),
        stderr,
    }
}

#[test]
fn intact_capture_gives_every_pdu() {
    let r = dissect(&write_tmp("intact.pcap", &modbus_pcap(20)));
    assert_eq!((r.code, r.records), (0, 40));
}

#[test]
fn several_files_are_merged_in_time_order() {
    let a = write_tmp("merge-a.pcap", &modbus_pcap_at(10, 40001, 0));
    let b = write_tmp("merge-b.pcap", &modbus_pcap_at(10, 40002, 5));
    let out = Command::new(BIN)
        .arg("dissect")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let recs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 40);
    let ts: Vec<&str> = recs.iter().map(|r| r["ts"].as_str().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "time order: {ts:?}");
    // The two files' flows alternate: A's pair, then B's pair, ...
    let ports: Vec<u64> = recs
        .iter()
        .map(|r| {
            r["src_port"]
                .as_u64()
                .unwrap()
                .min(r["dest_port"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(&ports[..4], &[502, 502, 502, 502]);
    let clients: Vec<u64> = recs
        .iter()
        .map(|r| {
            if r["src_port"] == 502 {
                r["dest_port"].as_u64().unwrap()
            } else {
                r["src_port"].as_u64().unwrap()
            }
        })
        .collect();
    assert_eq!(&clients[..4], &[40001, 40001, 40002, 40002]);
    // Frame numbers count packets within each file.
    assert_eq!(recs[2]["frame"], 1);
}

#[test]
fn capture_cut_mid_record_is_read_up_to_the_damage() {
    let mut bytes = modbus_pcap(20);
    bytes.truncate(bytes.len() - 30);
    let r = dissect(&write_tmp("cut.pcap", &bytes));
    assert_eq!(r.code, 0);
    assert_eq!(r.records, 39, "all but the cut response");
    assert!(
        r.stderr.contains("damaged capture") && r.stderr.contains("truncated"),
        "{}",
        r.stderr
    );
}

#[test]
fn garbage_appended_is_reported_and_the_rest_kept() {
    let mut bytes = modbus_pcap(20);
    let mut x: u32 = 12345;
    for _ in 0..5000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        bytes.push((x >> 16) as u8);
    }
    let r = dissect(&write_tmp("garbage.pcap", &bytes));
    assert_eq!(r.code, 0);
    assert_eq!(r.records, 40);
    assert!(r.stderr.contains("damaged capture"), "{}", r.stderr);
}

#[test]
fn wrong_magic_empty_missing_and_directory_exit_2_with_one_line() {
    let mut bytes = modbus_pcap(2);
    bytes[0] ^= 0xff;
    let cases = [
        write_tmp("magic.pcap", &bytes),
        write_tmp("empty.pcap", &[]),
        write_tmp("short.pcap", &[0xd4, 0xc3, 0xb2]),
        PathBuf::from("/nonexistent/capture.pcap"),
        std::env::temp_dir(),
    ];
    for p in cases {
        let r = dissect(&p);
        assert_eq!(r.code, 2, "{}: {}", p.display(), r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "one line: {}", r.stderr);
        assert!(r.stderr.starts_with("edgetap: "), "{}", r.stderr);
        assert_eq!(r.records, 0);
    }
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        &["dissect"][..],
        &["dissect", "--format", "xml", "x.pcap"],
        &["frobnicate"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let help = Command::new(BIN)
        .args(["dissect", "--help"])
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--format"));
}

fn syn(src: u32, sport: u16, buf: &mut Vec<u8>) {
    buf.clear();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src.to_be_bytes(), [10, 0, 0, 9], 64)
        .tcp(sport, 502, src, 1024)
        .syn()
        .write(buf, &[])
        .unwrap();
}

fn vm_hwm_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn syn_flood_from_a_million_spoofed_sources_stays_within_the_flow_cap() {
    let mut limits = Limits::default();
    limits.flows.max_flows = 50_000;
    let mut p = Pipeline::new(CountOnly, limits);
    let mut frame = Vec::with_capacity(64);
    let before = vm_hwm_kb();
    let mut peak_flows = 0;
    for i in 0..1_000_000u32 {
        syn(0x0a00_0000 | i, 1024 + (i % 60000) as u16, &mut frame);
        let pkt = Packet {
            source: 0,
            frame: u64::from(i) + 1,
            ts_ns: 1_700_000_000_000_000_000 + u64::from(i) * 10_000,
            link: LinkType::ETHERNET,
            data: &frame,
            orig_len: frame.len() as u32,
        };
        p.packet(&pkt);
        peak_flows = peak_flows.max(p.flow_count());
    }
    p.finish();
    let s = p.stats();
    assert!(peak_flows <= 50_000, "flow table grew to {peak_flows}");
    assert_eq!(s.flows.created, 1_000_000);
    assert!(
        s.flows.evicted + s.flows.expired >= 950_000,
        "{:?}",
        s.flows
    );
    assert_eq!(p.held_bytes(), 0);
    // 50k flows are a few tens of MB at most; a table that grew with the flood would take GBs.
    let grown_mb = vm_hwm_kb().saturating_sub(before) / 1024;
    assert!(grown_mb < 200, "peak memory grew by {grown_mb} MB");
}

#[test]
fn out_of_order_data_on_many_flows_stays_within_the_reassembly_cap() {
    let limits = Limits {
        reassembly_global: 1 << 20,
        reassembly_per_stream: 64 << 10,
        ..Limits::default()
    };
    let mut p = Pipeline::new(CountOnly, limits);
    let mut frame = Vec::new();
    let payload = [0x41u8; 1000];
    let mut n = 0u64;
    for flow in 0..2000u32 {
        for seg in 0..20u32 {
            frame.clear();
            // Every segment leaves a 1000-byte hole before it: all of them are held.
            PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                .ipv4((0x0a01_0000 | flow).to_be_bytes(), [10, 0, 0, 9], 64)
                .tcp(40000, 8080, 1000 + seg * 2000 + 1000, 1024)
                .write(&mut frame, &payload)
                .unwrap();
            n += 1;
            let pkt = Packet {
                source: 0,
                frame: n,
                ts_ns: n * 1000,
                link: LinkType::ETHERNET,
                data: &frame,
                orig_len: frame.len() as u32,
            };
            p.packet(&pkt);
            assert!(
                p.held_bytes() <= (1 << 20) + 64 * 1024,
                "held {}",
                p.held_bytes()
            );
        }
    }
    let s = p.stats();
    assert!(
        s.reassembly.cap_gaps > 0,
        "caps were reached and counted: {:?}",
        s.reassembly
    );
    p.finish();
    assert_eq!(p.held_bytes(), 0);
}
