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
    // Every episode has packets, but the capture gap, which is their absence.
    for line in truth.lines().filter(|l| l.contains("\"packets\": 0,")) {
        assert!(
            line.contains("\"id\": \"capture-gap\""),
            "an episode without packets: {line}"
        );
    }
    let edgex = std::fs::read_to_string(a.join("edgex-devices.json")).unwrap();
    assert!(edgex.contains("\"apiVersion\": \"v3\"") && edgex.contains("\"totalCount\": 3"));
    assert!(edgex.contains("\"Address\": \"10.20.0.12\""));

    // Time windows: base is the first hour; benign and attacks share the test period after it.
    let (bn, bfirst, blast, _) = scan_pcap(&a.join("base.pcap"));
    let (_, nfirst, nlast, _) = scan_pcap(&a.join("benign.pcap"));
    let (an, afirst, alast, _) = scan_pcap(&a.join("attacks.pcap"));
    let t0 = 1_795_132_800u64 * 1_000_000_000; // 2026-11-20T00:00:00Z
    assert!(bfirst >= t0 && bfirst < t0 + 1_000_000_000);
    assert!(blast < t0 + 3_600 * 1_000_000_000);
    let test_start = t0 + 3_660 * 1_000_000_000;
    assert_eq!(numbers(&truth, "test_start_ns"), [test_start]);
    let test_end = numbers(&truth, "test_end_ns")[0];
    assert_eq!(test_end, test_start + 16_450 * 1_000_000_000);
    assert!(nfirst >= test_start && afirst >= test_start);
    assert!(nlast < test_end);
    assert!(alast < test_end);
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
        assert!(ends[i] < test_end);
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
                "mbtcp", "mqtt", "bacnet", "amqp", "opcua", "dhcp", "dns", "tls", "arp", "ntp",
            ],
        ),
        (
            "benign.pcap",
            &[
                "mbtcp", "mqtt", "bacnet", "amqp", "opcua", "dhcp", "dns", "arp", "ntp",
            ],
        ),
        (
            "attacks.pcap",
            &[
                "mbtcp", "mqtt", "bacnet", "amqp", "opcua", "dhcp", "dns", "icmp", "http", "arp",
                "ntp", "ssh", "tls",
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

// ---------------------------------------------------------------- the newer attacks and traps

/// Every record of a microsecond Ethernet pcap: (time ns, frame).
fn frames(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let b = std::fs::read(path).unwrap();
    let mut v = Vec::new();
    let mut at = 24;
    while at + 16 <= b.len() {
        let secs = u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as u64;
        let us = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as u64;
        let len = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        v.push((
            secs * 1_000_000_000 + us * 1_000,
            b[at + 16..at + 16 + len].to_vec(),
        ));
        at += 16 + len;
    }
    v
}

/// What a frame is, coarsely: ARP (operation, gratuitous), or IPv4 with its source and
/// destination addresses, protocol, ports and TCP flags.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Arp {
        op: u16,
        sha: [u8; 6],
        spa: [u8; 4],
        tpa: [u8; 4],
    },
    Ip {
        src: [u8; 4],
        dst: [u8; 4],
        proto: u8,
        sport: u16,
        dport: u16,
        flags: u8,
        payload: usize,
    },
    Other,
}

fn kind(f: &[u8]) -> Kind {
    if f.len() >= 42 && f[12..14] == [0x08, 0x06] {
        return Kind::Arp {
            op: u16::from_be_bytes([f[20], f[21]]),
            sha: f[22..28].try_into().unwrap(),
            spa: f[28..32].try_into().unwrap(),
            tpa: f[38..42].try_into().unwrap(),
        };
    }
    if f.len() < 34 || f[12..14] != [0x08, 0x00] {
        return Kind::Other;
    }
    let ihl = usize::from(f[14] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
    let l4 = 14 + ihl;
    let proto = f[23];
    let (sport, dport, flags, hdr) = match proto {
        6 if f.len() >= l4 + 20 => (
            u16::from_be_bytes([f[l4], f[l4 + 1]]),
            u16::from_be_bytes([f[l4 + 2], f[l4 + 3]]),
            f[l4 + 13],
            usize::from(f[l4 + 12] >> 4) * 4,
        ),
        17 if f.len() >= l4 + 8 => (
            u16::from_be_bytes([f[l4], f[l4 + 1]]),
            u16::from_be_bytes([f[l4 + 2], f[l4 + 3]]),
            0,
            8,
        ),
        _ => (0, 0, f.get(l4).copied().unwrap_or(0), 0),
    };
    Kind::Ip {
        src: f[26..30].try_into().unwrap(),
        dst: f[30..34].try_into().unwrap(),
        proto,
        sport,
        dport,
        flags,
        payload: total.saturating_sub(ihl + hdr),
    }
}

/// The raw JSON text of `"key": value` in one truth.json row.
fn field<'a>(row: &'a str, key: &str) -> &'a str {
    let pat = format!("\"{key}\": ");
    let i = row
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {row}"))
        + pat.len();
    let rest = &row[i..];
    let end = if let Some(r) = rest.strip_prefix('"') {
        r.find('"').unwrap() + 2
    } else {
        rest.find([',', '}']).unwrap()
    };
    rest[..end].trim_matches('"')
}

fn row<'a>(truth: &'a str, id: &str) -> &'a str {
    truth
        .lines()
        .find(|l| l.contains(&format!("{{\"id\": \"{id}\"")))
        .unwrap_or_else(|| panic!("{id} not in truth.json"))
}

const SEC: u64 = 1_000_000_000;

#[test]
fn newer_attacks_and_benign_traps_are_labelled_and_on_the_wire() {
    let dir = tmp("scenario-traps");
    scenario::write_all(&dir, &Options::default()).unwrap();
    let truth = std::fs::read_to_string(dir.join("truth.json")).unwrap();

    // The newer attacks: id, category, src, dest.
    let want: [(&str, &str, &str, &str); 17] = [
        ("lm-fin-scan", "lateral_movement", "10.20.1.6", "10.20.0.12"),
        (
            "lm-modbus-devid",
            "lateral_movement",
            "10.20.1.88",
            "10.20.0.12",
        ),
        (
            "ua-ssh-bruteforce",
            "unauthorized_access",
            "10.20.3.96",
            "10.20.0.2",
        ),
        (
            "ua-rogue-dhcp",
            "unauthorized_access",
            "10.20.1.66",
            "10.20.2.15",
        ),
        (
            "c2-beacon-new-name",
            "command_and_control",
            "10.20.1.6",
            "198.51.100.77",
        ),
        (
            "lm-null-scan",
            "lateral_movement",
            "10.20.1.6",
            "10.20.0.12",
        ),
        (
            "exfil-dns-tunnel",
            "data_exfiltration",
            "10.20.0.3",
            "10.20.0.1",
        ),
        (
            "lm-bacnet-sweep",
            "lateral_movement",
            "10.20.1.89",
            "10.20.0.30",
        ),
        (
            "ua-mqtt-bruteforce",
            "unauthorized_access",
            "10.20.3.97",
            "10.20.0.2",
        ),
        (
            "lm-xmas-scan",
            "lateral_movement",
            "10.20.1.6",
            "10.20.0.12",
        ),
        (
            "dos-dhcp-starvation",
            "denial_of_service",
            "null",
            "10.20.0.1",
        ),
        (
            "c2-beacon-known-host",
            "command_and_control",
            "10.20.1.5",
            "52.1.2.3",
        ),
        ("lm-ack-scan", "lateral_movement", "10.20.1.6", "10.20.0.12"),
        (
            "ua-arp-spoof",
            "unauthorized_access",
            "10.20.1.87",
            "10.20.0.1",
        ),
        (
            "lm-modbus-unit-sweep",
            "lateral_movement",
            "10.20.1.88",
            "10.20.0.13",
        ),
        ("lm-udp-scan", "lateral_movement", "10.20.1.6", "10.20.0.12"),
        (
            "lm-opcua-browse",
            "lateral_movement",
            "10.20.1.92",
            "10.20.0.40",
        ),
    ];
    let span = |id: &str| -> (u64, u64) {
        let r = row(&truth, id);
        (
            field(r, "start_ns").parse().unwrap(),
            field(r, "end_ns").parse().unwrap(),
        )
    };
    for (id, cat, src, dst) in want {
        let r = row(&truth, id);
        assert_eq!(field(r, "category"), cat, "{id}");
        assert_eq!(field(r, "src_ip"), src, "{id}");
        assert_eq!(field(r, "dest_ip"), dst, "{id}");
        assert!(field(r, "packets").parse::<u64>().unwrap() > 0, "{id}");
    }
    // The original seventeen are all still there.
    assert_eq!(truth.matches("\"category\": ").count(), 34);

    // The benign traps: a site restart (95 s of silence) and a 3-hour capture gap.
    let (off, restart_end) = span("site-restart");
    let on = off + 95 * SEC;
    assert!(restart_end > on && restart_end < on + 15 * SEC);
    let (gap_from, gap_to) = span("capture-gap");
    assert_eq!(gap_to - gap_from, 3 * 3_600 * SEC);

    let base = frames(&dir.join("base.pcap"));
    let benign = frames(&dir.join("benign.pcap"));
    let attacks = frames(&dir.join("attacks.pcap"));
    for (name, cap) in [("benign", &benign), ("attacks", &attacks)] {
        let inside = |a: u64, b: u64| cap.iter().filter(|(t, _)| *t >= a && *t < b).count();
        assert_eq!(inside(gap_from, gap_to), 0, "{name}: packets in the gap");
        assert_eq!(inside(off, on), 0, "{name}: packets while the power is off");
        assert!(
            inside(gap_from - SEC, gap_from) > 0,
            "{name}: silent before the gap"
        );
        assert!(
            inside(gap_to, gap_to + SEC) > 0,
            "{name}: silent after the gap"
        );
        assert!(
            inside(off - SEC, off) > 0,
            "{name}: silent before the power loss"
        );
    }

    // base.pcap begins with a site start-up, and the restart shows only kinds of behaviour
    // that start-up shows too.
    let router_mac = [0x00, 0x1e, 0xbd, 0x4a, 0x10, 0x01];
    let t0 = base[0].0;
    assert!(
        matches!(kind(&base[0].1), Kind::Arp { sha, spa, tpa, .. } if sha == router_mac && spa == tpa),
        "base.pcap begins with the router's gratuitous ARP"
    );
    let coarse = |k: &Kind| -> Option<(u8, u16, u8)> {
        match *k {
            Kind::Arp { op, spa, tpa, .. } => Some((0, op, u8::from(spa == tpa))),
            Kind::Ip {
                proto,
                sport,
                dport,
                flags,
                ..
            } => {
                let service = if proto == 6 && flags & 0x12 == 0x02 {
                    dport
                } else {
                    sport.min(dport)
                };
                Some((proto, service, u8::from(proto == 6 && flags & 0x02 != 0)))
            }
            Kind::Other => None,
        }
    };
    let startup: std::collections::BTreeSet<_> = base
        .iter()
        .take_while(|(t, _)| *t < t0 + 10 * SEC)
        .filter_map(|(_, f)| coarse(&kind(f)))
        .collect();
    let burst: Vec<Kind> = benign
        .iter()
        .filter(|(t, _)| *t >= on && *t < on + 8 * SEC)
        .map(|(_, f)| kind(f))
        .collect();
    for k in &burst {
        if let Some(c) = coarse(k) {
            assert!(
                startup.contains(&c),
                "the restart shows {k:?}, base's start-up does not"
            );
        }
    }
    let count = |pred: &dyn Fn(&Kind) -> bool| burst.iter().filter(|k| pred(k)).count();
    let gratuitous = count(&|k| matches!(k, Kind::Arp { op: 1, spa, tpa, .. } if spa == tpa));
    assert!(gratuitous >= 10 + 5, "{gratuitous} ARP announcements");
    let discovers = count(&|k| {
        matches!(
            k,
            Kind::Ip {
                src: [0, 0, 0, 0],
                proto: 17,
                dport: 67,
                ..
            }
        )
    });
    assert_eq!(discovers, 2 * 5, "DISCOVER and REQUEST from every sensor");
    let connects = count(&|k| {
        matches!(
            k,
            Kind::Ip {
                proto: 6,
                dport: 1883,
                flags: 0x02,
                ..
            }
        )
    });
    assert_eq!(
        connects,
        5 + 1,
        "every sensor and the gateway reconnect to the broker"
    );
    let plcs = count(&|k| {
        matches!(
            k,
            Kind::Ip {
                proto: 6,
                dport: 502,
                flags: 0x02,
                ..
            }
        )
    });
    assert_eq!(plcs, 2, "the HMI reconnects to both PLCs");
    let i_am = count(&|k| {
        matches!(
            k,
            Kind::Ip {
                src: [10, 20, 0, 30],
                proto: 17,
                dport: 47808,
                dst: [10, 20, 255, 255],
                ..
            }
        )
    });
    assert!(i_am >= 2, "bacnet-ctl's I-Am burst");

    // The router's ARP is learned: seen all through base.pcap with its real MAC.
    let router_arp: Vec<u64> = base
        .iter()
        .filter(|(_, f)| matches!(kind(f), Kind::Arp { sha, spa: [10, 20, 0, 1], .. } if sha == router_mac))
        .map(|(t, _)| *t)
        .collect();
    assert!(router_arp.len() >= 20);
    assert!(router_arp.last().unwrap() - router_arp[0] > 3_000 * SEC);

    // Learned periodic traffic goes on after the gap: NTP, the cloud heartbeat, polling.
    let after: Vec<Kind> = benign
        .iter()
        .filter(|(t, _)| *t >= gap_to && *t < gap_to + 130 * SEC)
        .map(|(_, f)| kind(f))
        .collect();
    for (what, port) in [
        ("NTP", 123u16),
        ("TLS", 443),
        ("Modbus", 502),
        ("MQTT", 1883),
    ] {
        assert!(
            after
                .iter()
                .any(|k| matches!(k, Kind::Ip { dport, .. } if *dport == port)),
            "no {what} after the gap"
        );
    }

    // The attacks on the wire.
    let within = |id: &str| -> Vec<Kind> {
        let (a, b) = span(id);
        attacks
            .iter()
            .filter(|(t, _)| *t >= a && *t <= b)
            .map(|(_, f)| kind(f))
            .collect()
    };
    let ws = [10, 20, 1, 6];
    let plc1 = [10, 20, 0, 12];
    for (id, probe_flags, answer_flags) in [
        ("lm-fin-scan", 0x01, 0x14),
        ("lm-null-scan", 0x00, 0x14),
        ("lm-xmas-scan", 0x29, 0x14),
        ("lm-ack-scan", 0x10, 0x04),
    ] {
        let k = within(id);
        let probes: std::collections::BTreeSet<u16> = k
            .iter()
            .filter_map(|k| match *k {
                Kind::Ip {
                    src,
                    dst,
                    proto: 6,
                    dport,
                    flags,
                    ..
                } if src == ws && dst == plc1 && flags == probe_flags => Some(dport),
                _ => None,
            })
            .collect();
        assert_eq!(probes.len(), 200, "{id}: ports probed");
        let answers = k
            .iter()
            .filter(|k| matches!(k, Kind::Ip { src, proto: 6, flags, .. } if *src == plc1 && *flags == answer_flags))
            .count();
        let expect = if probe_flags == 0x10 { 200 } else { 198 };
        assert_eq!(answers, expect, "{id}: answers");
    }
    let k = within("lm-udp-scan");
    let udp = k
        .iter()
        .filter(|k| matches!(k, Kind::Ip { src, dst, proto: 17, payload: 0, .. } if *src == ws && *dst == plc1))
        .count();
    let unreach = k
        .iter()
        .filter(|k| matches!(k, Kind::Ip { src, proto: 1, flags: 3, .. } if *src == plc1))
        .count();
    assert_eq!(
        (udp, unreach),
        (201, 199),
        "UDP probes (one retried) and port unreachables"
    );

    let k = within("ua-arp-spoof");
    let lies = k
        .iter()
        .filter(|k| matches!(k, Kind::Arp { op: 2, sha, spa: [10, 20, 0, 1], .. } if *sha != router_mac))
        .count();
    assert_eq!(lies, 16, "ARP replies claiming the router's address");

    let k = within("dos-dhcp-starvation");
    let discovers = k
        .iter()
        .filter(|k| {
            matches!(
                k,
                Kind::Ip {
                    src: [0, 0, 0, 0],
                    dport: 67,
                    ..
                }
            )
        })
        .count();
    let offers = k
        .iter()
        .filter(|k| {
            matches!(
                k,
                Kind::Ip {
                    src: [10, 20, 0, 1],
                    dport: 68,
                    ..
                }
            )
        })
        .count();
    assert_eq!(discovers, 300);
    assert!(offers > 50 && offers <= 100, "{offers} offers");
    let (a, b) = span("dos-dhcp-starvation");
    let chaddrs: std::collections::BTreeSet<&[u8]> = attacks
        .iter()
        .filter(|(t, f)| *t >= a && *t <= b && f.len() > 42 + 34 && f[34..38] == [0, 68, 0, 67])
        .map(|(_, f)| &f[6..12])
        .collect();
    assert!(
        chaddrs.len() >= 299,
        "random client MACs: {}",
        chaddrs.len()
    );

    let k = within("ua-rogue-dhcp");
    assert!(k.iter().any(|k| matches!(
        k,
        Kind::Ip {
            src: [10, 20, 1, 66],
            sport: 67,
            dport: 68,
            ..
        }
    )));

    let (a, b) = span("exfil-dns-tunnel");
    let tunnel = attacks
        .iter()
        .filter(|(t, f)| {
            *t >= a
                && *t <= b
                && matches!(kind(f), Kind::Ip { dport: 53, .. })
                && f.windows(15).any(|w| w == b"\x0etunnel-example")
        })
        .count();
    assert!(
        (120..=300).contains(&tunnel),
        "{tunnel} tunnel queries in 60 s"
    );

    for (id, client, server, lo, hi) in [
        (
            "c2-beacon-new-name",
            [10, 20, 1, 6],
            [198, 51, 100, 77],
            48,
            72,
        ),
        (
            "c2-beacon-known-host",
            [10, 20, 1, 5],
            [52, 1, 2, 3],
            36,
            54,
        ),
    ] {
        let (a, b) = span(id);
        let syns: Vec<u64> = attacks
            .iter()
            .filter(|(t, f)| {
                *t >= a
                    && *t <= b
                    && matches!(kind(f), Kind::Ip { src, dst, dport: 443, flags: 0x02, .. } if src == client && dst == server)
            })
            .map(|(t, _)| *t)
            .collect();
        assert!(syns.len() >= 11, "{id}: {} connections", syns.len());
        assert!(syns[0] - a < SEC, "{id} begins with a connection");
        for w in syns.windows(2) {
            let d = (w[1] - w[0]) / SEC;
            assert!((lo..=hi).contains(&d), "{id}: period {d} s");
        }
        // Never seen in learning.
        assert!(!base.iter().any(
            |(_, f)| matches!(kind(f), Kind::Ip { src, dst, .. } if src == client && dst == server)
        ));
    }

    for (id, port, sessions) in [
        ("ua-ssh-bruteforce", 22u16, 40),
        ("ua-mqtt-bruteforce", 1883, 30),
    ] {
        let syns = within(id)
            .iter()
            .filter(|k| matches!(k, Kind::Ip { dport, flags: 0x02, .. } if *dport == port))
            .count();
        assert_eq!(syns, sessions, "{id}");
    }
    let (a, b) = span("ua-mqtt-bruteforce");
    let refused = attacks
        .iter()
        .filter(|(t, f)| {
            *t >= a && *t <= b && f.len() >= 58 && f[54..58] == [0x20, 0x03, 0x00, 0x86]
        })
        .count();
    assert_eq!(refused, 30, "CONNACK 0x86");
}
