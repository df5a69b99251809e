//! The site scenario: the files are written, regenerating is byte-identical, every alert
//! category of the contract is among the labelled attacks, and tshark reads the captures
//! without calling any of the protocols malformed. Also the standalone SYN flood and port scan.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use pcapgen::scenario::{self, port_scan, syn_flood, Options};
use pcapgen::{tshark, LinkType, PcapWriter, Timestamp};

const CATEGORIES: [&str; 8] = [
    "lateral_movement",
    "denial_of_service",
    "data_exfiltration",
    "command_and_control",
    "unauthorized_access",
    "ics_control",
    "availability",
    "protocol_anomaly",
];

const FILES: [&str; 5] = [
    "base.pcap",
    "benign.pcap",
    "attacks.pcap",
    "edgex-devices.json",
    "truth.json",
];

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// (packets, first ts ns, last ts ns, SYN-only count) of a microsecond Ethernet pcap.
fn scan_pcap(path: &Path) -> (u64, u64, u64, u64) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[0..4], &0xa1b2_c3d4u32.to_le_bytes(), "microsecond pcap");
    assert_eq!(
        u32::from_le_bytes(b[20..24].try_into().unwrap()),
        1,
        "Ethernet"
    );
    let (mut n, mut first, mut last, mut syns) = (0u64, u64::MAX, 0u64, 0u64);
    let mut at = 24;
    while at + 16 <= b.len() {
        let secs = u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as u64;
        let us = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as u64;
        let len = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        let ts = secs * 1_000_000_000 + us * 1_000;
        assert!(
            ts >= last,
            "time goes backwards at record {n} of {}",
            path.display()
        );
        first = first.min(ts);
        last = ts;
        let f = &b[at + 16..at + 16 + len];
        // Ethernet + IPv4 (IHL 5) + TCP flags byte.
        if f.len() >= 48 && f[12..14] == [0x08, 0x00] && f[23] == 6 && f[47] == 0x02 {
            syns += 1;
        }
        n += 1;
        at += 16 + len;
    }
    assert_eq!(at, b.len(), "{} ends with a partial record", path.display());
    (n, first, last, syns)
}

/// The values of `"key": <number>` in a JSON text, in order.
fn numbers(text: &str, key: &str) -> Vec<u64> {
    let pat = format!("\"{key}\": ");
    text.match_indices(&pat)
        .map(|(i, _)| {
            let rest = &text[i + pat.len()..];
            let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap();
            rest[..end].parse().unwrap()
        })
        .collect()
}

#[test]
fn scenario_files_are_complete_deterministic_and_clean() {
    let a = tmp("scenario-a");
    let b = tmp("scenario-b");
    let t = Instant::now();
    let written = scenario::write_all(&a, &Options::default()).unwrap();
    eprintln!("scenario generated in {:.2} s", t.elapsed().as_secs_f64());
    for w in &written {
        eprintln!(
            "{} {} packets {} bytes",
            w.path.display(),
            w.packets,
            w.bytes
        );
    }
    scenario::write_all(&b, &Options::default()).unwrap();
    for f in FILES {
        let x = std::fs::read(a.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(!x.is_empty(), "{f} is empty");
        let y = std::fs::read(b.join(f)).unwrap();
        assert!(x == y, "{f} differs between two runs");
    }

    let truth = std::fs::read_to_string(a.join("truth.json")).unwrap();
    for c in CATEGORIES {
        assert!(
            truth.contains(&format!("\"category\": \"{c}\"")),
            "no attack of category {c} in truth.json"
        );
    }
    assert!(
        !truth.contains("\"packets\": 0,"),
        "an episode without packets"
    );
    let edgex = std::fs::read_to_string(a.join("edgex-devices.json")).unwrap();
    assert!(edgex.contains("\"apiVersion\": \"v3\"") && edgex.contains("\"totalCount\": 3"));
    assert!(edgex.contains("\"Address\": \"10.20.0.12\""));

    // Time windows: base is the first hour; benign and attacks share the next 30 minutes.
    let (bn, bfirst, blast, _) = scan_pcap(&a.join("base.pcap"));
    let (_, nfirst, nlast, _) = scan_pcap(&a.join("benign.pcap"));
    let (an, afirst, alast, _) = scan_pcap(&a.join("attacks.pcap"));
    let t0 = 1_795_132_800u64 * 1_000_000_000; // 2026-11-20T00:00:00Z
    assert!(bfirst >= t0 && bfirst < t0 + 1_000_000_000);
    assert!(blast < t0 + 3_600 * 1_000_000_000);
    let test_start = t0 + 3_660 * 1_000_000_000;
    assert!(nfirst >= test_start && afirst >= test_start);
    assert!(nlast < test_start + 1_800 * 1_000_000_000);
    assert!(alast < test_start + 1_800 * 1_000_000_000);
    assert!(bn > 10_000 && an > bn);
    let base_size = std::fs::metadata(a.join("base.pcap")).unwrap().len();
    assert!(base_size < 10_000_000, "base.pcap is {base_size} bytes");

    // Every attack lies in the test window, starts at least 90 s after the previous one, and
    // starts and ends (first and last packet) in order.
    let starts = numbers(&truth, "start_ns");
    let ends = numbers(&truth, "end_ns");
    let n_attacks = truth.matches("\"category\": ").count();
    assert!(n_attacks >= CATEGORIES.len());
    for i in 0..n_attacks {
        assert!(starts[i] >= test_start && ends[i] >= starts[i]);
        assert!(ends[i] < test_start + 1_800 * 1_000_000_000);
        if i > 0 {
            assert!(
                starts[i] >= starts[i - 1] + 90 * 1_000_000_000,
                "attack {i} starts less than 90 s after the previous one"
            );
        }
    }

    // 60 s clear around every episode, but for the availability ones that last to the end.
    let cats: Vec<&str> = truth
        .match_indices("\"category\": \"")
        .map(|(i, _)| {
            let rest = &truth[i + 13..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    let windows: Vec<(u64, u64, bool)> = starts
        .iter()
        .zip(&ends)
        .enumerate()
        .map(|(i, (&s, &e))| (s, e, cats.get(i) == Some(&"availability")))
        .collect();
    for (i, a) in windows.iter().enumerate().take(n_attacks) {
        for (j, b) in windows.iter().enumerate() {
            if i == j || a.2 || b.2 {
                continue;
            }
            let clear = b.0 >= a.1 + 60_000_000_000 || a.0 >= b.1 + 60_000_000_000;
            assert!(clear, "episodes {i} and {j} are less than 60 s apart");
        }
    }

    if !tshark::available() {
        eprintln!("tshark not on PATH: skipping the dissection checks");
        return;
    }
    let expect: &[(&str, &[&str])] = &[
        (
            "base.pcap",
            &[
                "mbtcp", "mqtt", "bacnet", "amqp", "opcua", "dhcp", "dns", "tls",
            ],
        ),
        (
            "benign.pcap",
            &["mbtcp", "mqtt", "bacnet", "amqp", "opcua", "dhcp", "dns"],
        ),
        (
            "attacks.pcap",
            &[
                "mbtcp", "mqtt", "bacnet", "amqp", "opcua", "dhcp", "dns", "icmp", "http",
            ],
        ),
    ];
    for (f, protos) in expect {
        let out = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(a.join(f))
            .args(["-q", "-z", "io,phs"])
            .output()
            .unwrap();
        assert!(out.status.success(), "tshark failed on {f}");
        let phs = String::from_utf8_lossy(&out.stdout);
        assert!(
            !phs.contains("_ws.malformed"),
            "malformed packets in {f}:\n{phs}"
        );
        for p in *protos {
            assert!(
                phs.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{p} "))),
                "{f}: tshark sees no {p}:\n{phs}"
            );
        }
    }
    // Errors tshark's experts raise (checksums included), on the capture with everything.
    let rows = tshark::fields(
        &a.join("attacks.pcap"),
        Some("_ws.malformed || _ws.expert.severity >= 8388608 || tcp.checksum.status == 0 || udp.checksum.status == 0 || ip.checksum.status == 0"),
        &["frame.number", "_ws.col.Info"],
        &["tcp.check_checksum:TRUE", "udp.check_checksum:TRUE", "ip.check_checksum:TRUE"],
    )
    .unwrap();
    assert!(rows.is_empty(), "attacks.pcap: {rows:?}");
}

#[test]
fn million_syn_flood_and_full_port_scan() {
    let dir = tmp("scenario-flood");
    let t = Instant::now();
    let path = dir.join("flood.pcap");
    let mut w = PcapWriter::new(
        BufWriter::with_capacity(1 << 20, File::create(&path).unwrap()),
        LinkType::Ethernet,
    )
    .unwrap();
    let start = Timestamp(1_795_136_460 * 1_000_000_000);
    let e = syn_flood(
        &mut w,
        start,
        [10, 20, 0, 2].into(),
        1883,
        1_000_000,
        1_000_000,
    )
    .unwrap();
    w.finish().unwrap();
    eprintln!(
        "flood: {} packets in {:.2} s",
        e.packets,
        t.elapsed().as_secs_f64()
    );
    let (n, first, last, syns) = scan_pcap(&path);
    assert_eq!(syns, 1_000_000);
    assert_eq!(n, e.packets);
    assert!(n > syns, "the target answers some SYNs");
    assert_eq!(first, start.0);
    assert_eq!(last, e.last.0);
    // A million distinct sources.
    let mut seen = std::collections::HashSet::new();
    for i in 0..1_000_000u32 {
        assert!(
            seen.insert(scenario::spoofed_source(i)),
            "source {i} repeats"
        );
    }
    assert!(
        seen.iter().all(|s| s[..2] != [10, 20]),
        "a spoofed source inside the site"
    );

    let t = Instant::now();
    let path = dir.join("portscan.pcap");
    let mut w = PcapWriter::new(
        BufWriter::with_capacity(1 << 20, File::create(&path).unwrap()),
        LinkType::Ethernet,
    )
    .unwrap();
    let e = port_scan(
        &mut w,
        start,
        [10, 20, 2, 23].into(),
        [10, 20, 0, 12].into(),
        1..=65_535,
    )
    .unwrap();
    w.finish().unwrap();
    eprintln!(
        "port scan: {} packets in {:.2} s",
        e.packets,
        t.elapsed().as_secs_f64()
    );
    let (n, _, _, syns) = scan_pcap(&path);
    assert_eq!(syns, 65_535);
    // Every probe answered: RST/ACK, or SYN/ACK and the scanner's RST for the open ones.
    assert_eq!(n, 2 * 65_535 + 2);
}
