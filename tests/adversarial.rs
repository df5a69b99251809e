//! Adversarial memory: a million random DNS names, a million random DHCP client hardware
//! addresses, a million external destinations. Peak RSS stays within the caps, the counters
//! say what was dropped, the floods raise a bounded number of alerts, and a FIN scan hidden
//! at the end of each capture is still found.

#[path = "common/live.rs"]
mod live;

use live::cargo_bin;
use serde_json::Value;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const N: u32 = 1_000_000;
const T0: u64 = 1_795_132_800_000_000_000;

/// A minimal pcap (nanosecond, Ethernet) writer: enough for these floods.
struct Pcap(BufWriter<std::fs::File>);

impl Pcap {
    fn create(p: &Path) -> Pcap {
        let mut w = BufWriter::new(std::fs::File::create(p).unwrap_or_else(|e| panic!("{e}")));
        let mut h = Vec::new();
        h.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&65_535u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        w.write_all(&h).unwrap_or_else(|e| panic!("{e}"));
        Pcap(w)
    }
    fn frame(&mut self, ts: u64, f: &[u8]) {
        let mut h = Vec::with_capacity(16);
        h.extend_from_slice(&((ts / 1_000_000_000) as u32).to_le_bytes());
        h.extend_from_slice(&((ts % 1_000_000_000) as u32).to_le_bytes());
        h.extend_from_slice(&(f.len() as u32).to_le_bytes());
        h.extend_from_slice(&(f.len() as u32).to_le_bytes());
        self.0.write_all(&h).unwrap_or_else(|e| panic!("{e}"));
        self.0.write_all(f).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn mac(ip: [u8; 4]) -> [u8; 6] {
    [0x02, 0x42, ip[0], ip[1], ip[2], ip[3]]
}

/// Ethernet + IPv4 (checksums left zero: edgetap, like a sensor, does not drop on them).
fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8], smac: [u8; 6], dmac: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::with_capacity(34 + l4.len());
    f.extend_from_slice(&dmac);
    f.extend_from_slice(&smac);
    f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
    f.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(l4);
    f
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

/// A TCP header with the given flags (0x01 FIN, 0x02 SYN, 0x04 RST, 0x10 ACK).
fn tcp(sport: u16, dport: u16, flags: u8) -> Vec<u8> {
    let mut t = Vec::with_capacity(20);
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    t
}

/// xorshift: deterministic randomness.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const SCANNER: [u8; 4] = [10, 1, 0, 66];
const PLC: [u8; 4] = [10, 1, 0, 20];

/// The FIN scan every capture ends with: 100 FIN probes, each answered by RST/ACK.
fn fin_scan(p: &mut Pcap, mut ts: u64) {
    for port in 1..=100u16 {
        let probe = ipv4(
            SCANNER,
            PLC,
            6,
            &tcp(40_000, port, 0x01),
            mac(SCANNER),
            mac(PLC),
        );
        p.frame(ts, &probe);
        let rst = ipv4(
            PLC,
            SCANNER,
            6,
            &tcp(port, 40_000, 0x14),
            mac(PLC),
            mac(SCANNER),
        );
        p.frame(ts + 100_000, &rst);
        ts += 1_000_000;
    }
}

fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(12 + name.len() + 6);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.split('.') {
        q.push(l.len() as u8);
        q.extend_from_slice(l.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 16, 0, 1]);
    q
}

fn b32(r: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz234567"[(r.next() % 32) as usize]))
        .collect()
}

fn write_dns(p: &Path) {
    let mut w = Pcap::create(p);
    let (client, server) = ([10, 1, 0, 5], [10, 1, 0, 1]);
    let mut r = Rng(7);
    for i in 0..N {
        // Half under one domain (a tunnel's shape), half each under a domain of its own.
        let name = if i % 2 == 0 {
            format!("{}.{}.t.example.net", b32(&mut r, 40), b32(&mut r, 20))
        } else {
            format!("www.{}.com", b32(&mut r, 12))
        };
        let f = ipv4(
            client,
            server,
            17,
            &udp(
                40_000 + (i % 20_000) as u16,
                53,
                &dns_query(i as u16, &name),
            ),
            mac(client),
            mac(server),
        );
        w.frame(T0 + u64::from(i) * 50_000, &f);
    }
    fin_scan(&mut w, T0 + u64::from(N) * 50_000 + 1_000_000_000);
}

fn write_dhcp(p: &Path) {
    let mut w = Pcap::create(p);
    let mut r = Rng(11);
    for i in 0..N {
        let x = r.next().to_be_bytes();
        let chaddr = [x[0] & 0xfe, x[1], x[2], x[3], x[4], x[5]];
        let mut b = vec![0u8; 240];
        b[0] = 1;
        b[1] = 1;
        b[2] = 6;
        b[4..8].copy_from_slice(&i.to_be_bytes());
        b[28..34].copy_from_slice(&chaddr);
        b[236..240].copy_from_slice(&[99, 130, 83, 99]);
        b.extend_from_slice(&[53, 1, 1, 255]);
        let f = ipv4([0; 4], [255; 4], 17, &udp(68, 67, &b), chaddr, [0xff; 6]);
        w.frame(T0 + u64::from(i) * 50_000, &f);
    }
    fin_scan(&mut w, T0 + u64::from(N) * 50_000 + 1_000_000_000);
}

fn write_external(p: &Path) {
    let mut w = Pcap::create(p);
    let host = [10, 1, 0, 7];
    let gw = [0x02, 0x42, 0xfe, 0, 0, 1];
    // First the host proves it exists: a connection to the PLC, answered.
    let syn = ipv4(host, PLC, 6, &tcp(29_999, 502, 0x02), mac(host), mac(PLC));
    w.frame(T0 - 3_000_000, &syn);
    let synack = ipv4(PLC, host, 6, &tcp(502, 29_999, 0x12), mac(PLC), mac(host));
    w.frame(T0 - 2_000_000, &synack);
    let ack = ipv4(host, PLC, 6, &tcp(29_999, 502, 0x10), mac(host), mac(PLC));
    w.frame(T0 - 1_000_000, &ack);
    for i in 0..N {
        // Distinct public addresses, one SYN each.
        let d = (0x2d00_0000u32 + i.wrapping_mul(2_654_435_761) % 0x0f00_0000).to_be_bytes();
        let f = ipv4(
            host,
            d,
            6,
            &tcp(30_000 + (i % 30_000) as u16, 443, 0x02),
            mac(host),
            gw,
        );
        w.frame(T0 + u64::from(i) * 50_000, &f);
    }
    fin_scan(&mut w, T0 + u64::from(N) * 50_000 + 1_000_000_000);
}

struct Run {
    alerts: Vec<Value>,
    rss_kb: u64,
    stderr: String,
}

fn replay(pcap: &Path) -> Run {
    let out = pcap.with_extension("jsonl");
    let o = Command::new("/usr/bin/time")
        .args(["-f", "maxrss_kb=%M"])
        .arg(cargo_bin("edgetap", "edgetap"))
        .args(["replay", "--alerts"])
        .arg(&out)
        .arg(pcap)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{stderr}");
    let rss_kb = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss in {stderr}"));
    let alerts = std::fs::read_to_string(&out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    Run {
        alerts,
        rss_kb,
        stderr,
    }
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("edgetap-adversarial-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

fn assert_scan_found(r: &Run) {
    assert!(
        r.alerts
            .iter()
            .any(|a| a["alert"]["category"] == "lateral_movement"
                && a["src_ip"] == "10.1.0.66"
                && a["alert"]["signature"]
                    .as_str()
                    .unwrap_or("")
                    .contains("FIN")),
        "the FIN scan at the end was not found: {}",
        r.stderr
    );
}

/// A counter from the summary's JSON after `label ` (`engine`, `watchers`, `site`).
fn stat(r: &Run, label: &str, key: &str) -> u64 {
    let after = r.stderr.rsplit(&format!("{label} ")).next().unwrap_or("{}");
    let json = after.split([';', '\n']).next().unwrap_or("{}");
    let v: Value = serde_json::from_str(json).unwrap_or_default();
    v[key].as_u64().unwrap_or(0)
}

const RSS_CAP_KB: u64 = 300_000;

#[test]
fn a_million_random_dns_names() {
    let p = dir().join("dns.pcap");
    write_dns(&p);
    let r = replay(&p);
    assert!(r.rss_kb < RSS_CAP_KB, "peak RSS {} KB", r.rss_kb);
    let tunnel = r
        .alerts
        .iter()
        .filter(|a| a["alert"]["metadata"]["edgetap"]["evidence"]["metric"] == "dns_tunnel_queries")
        .count();
    assert!(tunnel >= 1, "the tunnel-shaped half is a tunnel");
    // The (client, domain) table is capped: the million domains beyond it are counted.
    assert!(
        stat(&r, "watchers", "dns_dropped") > 100_000,
        "{}",
        r.stderr
    );
    assert!(r.alerts.len() < 1_000, "{} alerts", r.alerts.len());
    assert_scan_found(&r);
}

#[test]
fn a_million_random_dhcp_clients() {
    let p = dir().join("dhcp.pcap");
    write_dhcp(&p);
    let r = replay(&p);
    assert!(r.rss_kb < RSS_CAP_KB, "peak RSS {} KB", r.rss_kb);
    assert!(
        r.alerts.iter().any(|a| a["alert"]["signature"]
            .as_str()
            .unwrap_or("")
            .contains("DHCP starvation")),
        "{:?}",
        r.alerts
    );
    assert!(r.alerts.len() < 1_000, "{} alerts", r.alerts.len());
    // The per-window client table is capped and what did not fit is counted.
    assert!(stat(&r, "watchers", "dhcp_dropped") > 0, "{}", r.stderr);
    assert_scan_found(&r);
}

#[test]
fn a_million_external_destinations() {
    let p = dir().join("external.pcap");
    write_external(&p);
    let r = replay(&p);
    assert!(r.rss_kb < RSS_CAP_KB, "peak RSS {} KB", r.rss_kb);
    // One alert per new destination up to the per-subject cap, then they fold (counted).
    let c2 = r
        .alerts
        .iter()
        .filter(|a| a["alert"]["category"] == "command_and_control")
        .count();
    assert!((2..=200).contains(&c2), "{c2} first-contact alerts");
    assert!(stat(&r, "engine", "items_folded") > 0, "{}", r.stderr);
    // The beacon tracks are capped, and the contacts beyond the table are counted.
    assert!(stat(&r, "watchers", "beacon_dropped") > 0, "{}", r.stderr);
    assert!(stat(&r, "site", "contacted_dropped") > 0, "{}", r.stderr);
    assert_scan_found(&r);
}
