//! mDNS / DNS-SD and NetBIOS name service parsers (`discovery.rs`) on real captures, and on
//! hostile bytes.
//!
//! - mDNS: the announcements of a MacBook in `shared/pcaps/public/amqp/amqp-parser_amqp.pcap`
//!   (frames 26-31) and of an open62541 discovery server in
//!   `shared/pcaps/public/opcua/icsnpp_open62541_discover_getendpoints_discover_urls.pcap`
//!   (frame 1). The expected records are what `tshark -r F -V -O mdns` (4.0) shows for those
//!   frames (PTR domain names, SRV target/port/priority/weight, A/AAAA, TXT strings, TTLs),
//!   written down as constants.
//! - NetBIOS: `pcaps/discovery/netbios-nmbd.pcap`, recorded from Samba's nmbd by
//!   `scripts/record-netbios.sh`. The test runs tshark (PDML) on it and checks every record
//!   against tshark's nbns fields, frame by frame, besides a few constants.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use edgetap_dissectors::discovery::{
    mdns, netbios_ns, suffix_name, MdnsKind, MdnsRecord, NbnsKind, NbnsRecord,
};
use edgetap_dissectors::names::netbios_names;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// A small capture reader: classic pcap (either byte order, µs or ns) and pcapng (EPB, SPB),
// link types null/loopback (0) and Ethernet (1), IPv4 or IPv6, UDP.

/// A UDP datagram of a capture: (frame number from 1, source port, destination port, payload).
type Datagram = (usize, u16, u16, Vec<u8>);

/// The frames of a capture: (link type, bytes), in order.
fn frames(path: &Path) -> Vec<(u32, Vec<u8>)> {
    let data =
        std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let u32_le = |b: &[u8], at: usize, le: bool| {
        let a: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let mut out = Vec::new();
    let magic = u32::from_le_bytes(data[0..4].try_into().unwrap());
    if magic == 0x0A0D_0D0A {
        // pcapng: section header (byte order), interface descriptions, packet blocks.
        let mut le = true;
        let mut links = Vec::new();
        let mut at = 0;
        while at + 12 <= data.len() {
            let btype = u32_le(&data, at, le);
            if btype == 0x0A0D_0D0A {
                le = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) == 0x1A2B_3C4D;
                links.clear();
            }
            let blen = u32_le(&data, at + 4, le) as usize;
            let body = &data[at + 8..at + blen - 4];
            match btype {
                1 => links.push(u32::from(u16::from_be_bytes(if le {
                    [body[1], body[0]]
                } else {
                    [body[0], body[1]]
                }))),
                6 => {
                    let iface = u32_le(body, 0, le) as usize;
                    let caplen = u32_le(body, 12, le) as usize;
                    out.push((links[iface], body[20..20 + caplen].to_vec()));
                }
                3 => {
                    let len = (u32_le(body, 0, le) as usize).min(body.len() - 4);
                    out.push((links[0], body[4..4 + len].to_vec()));
                }
                _ => {}
            }
            at += blen;
        }
        return out;
    }
    let le = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        _ => panic!("{}: not a capture file", path.display()),
    };
    let link = u32_le(&data, 20, le);
    let mut at = 24;
    while at + 16 <= data.len() {
        let caplen = u32_le(&data, at + 8, le) as usize;
        out.push((link, data[at + 16..at + 16 + caplen].to_vec()));
        at += 16 + caplen;
    }
    out
}

fn udp_datagrams(path: &Path) -> Vec<Datagram> {
    let mut out = Vec::new();
    for (i, (link, pkt)) in frames(path).iter().enumerate() {
        let ip = match link {
            0 => &pkt[4..],
            1 => {
                let mut off = 12;
                let mut ethertype = u16::from_be_bytes([pkt[off], pkt[off + 1]]);
                while ethertype == 0x8100 {
                    off += 4;
                    ethertype = u16::from_be_bytes([pkt[off], pkt[off + 1]]);
                }
                if ethertype != 0x0800 && ethertype != 0x86dd {
                    continue;
                }
                &pkt[off + 2..]
            }
            _ => panic!("link type {link} not handled"),
        };
        let udp = match ip.first().map(|b| b >> 4) {
            Some(4) if ip[9] == 17 => &ip[usize::from(ip[0] & 0xF) * 4..],
            Some(6) if ip[6] == 17 => &ip[40..],
            _ => continue,
        };
        let sport = u16::from_be_bytes([udp[0], udp[1]]);
        let dport = u16::from_be_bytes([udp[2], udp[3]]);
        let len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
        out.push((i + 1, sport, dport, udp[8..len].to_vec()));
    }
    out
}

fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/pcaps")
        .join(rel);
    assert!(p.is_file(), "{} is missing", p.display());
    p
}

fn ours(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pcaps")
        .join(rel);
    assert!(p.is_file(), "{} is missing", p.display());
    p
}

// ---------------------------------------------------------------------------------------------
// mDNS records as owned values, for comparison.

#[derive(Clone, Debug, PartialEq, Eq)]
enum M {
    Host(String, IpAddr, u32),
    Instance(String, String, u32),
    ServiceType(String, u32),
    Srv(String, String, String, u16, u16, u16, u32),
    Txt(String, String, String, Option<Vec<u8>>, u32),
}

fn owned(r: MdnsRecord<'_>) -> M {
    let ttl = r.ttl;
    match r.kind {
        MdnsKind::Host { name, addr } => M::Host(name.into(), addr, ttl),
        MdnsKind::Instance { instance, service } => {
            M::Instance(instance.into(), service.into(), ttl)
        }
        MdnsKind::ServiceType { service } => M::ServiceType(service.into(), ttl),
        MdnsKind::Srv {
            instance,
            service,
            target,
            port,
            priority,
            weight,
        } => M::Srv(
            instance.into(),
            service.into(),
            target.into(),
            port,
            priority,
            weight,
            ttl,
        ),
        MdnsKind::Txt {
            instance,
            service,
            key,
            value,
        } => M::Txt(
            instance.into(),
            service.into(),
            key.into(),
            value.map(<[u8]>::to_vec),
            ttl,
        ),
    }
}

fn mdns_records(payload: &[u8]) -> Vec<M> {
    let mut out = Vec::new();
    mdns(payload, &mut |r| out.push(owned(r)));
    out
}

fn txt(instance: &str, service: &str, key: &str, value: &str, ttl: u32) -> M {
    M::Txt(
        instance.into(),
        service.into(),
        key.into(),
        Some(value.as_bytes().to_vec()),
        ttl,
    )
}

const MAC: &str = "Syed's MacBook Pro";

/// tshark -V -O mdns of frame 26 (frames 27-31 repeat it, over IPv6 or later).
fn macbook_announcement() -> Vec<M> {
    let cl = "_companion-link._tcp";
    let di = "_device-info._tcp";
    vec![
        // Answers: PTR, TXT of _device-info.
        M::Instance(MAC.into(), cl.into(), 4500),
        txt(MAC, di, "model", "MacBookPro14,2", 4500),
        txt(MAC, di, "osxvers", "17", 4500),
        txt(MAC, di, "ecolor", "157,157,160", 4500),
        // Additional: TXT, SRV, AAAA, A (the two NSEC records give nothing).
        txt(MAC, cl, "rpBA", "C5:9F:C7:76:66:41", 4500),
        txt(MAC, cl, "rpVr", "152.1", 4500),
        txt(MAC, cl, "rpHI", "9c05199439d7", 4500),
        txt(MAC, cl, "rpHN", "d04b044d9448", 4500),
        txt(MAC, cl, "rpHA", "6dace8616486", 4500),
        M::Srv(
            MAC.into(),
            cl.into(),
            "Syeds-MacBook-Pro.local".into(),
            63351,
            0,
            0,
            120,
        ),
        M::Host(
            "Syeds-MacBook-Pro.local".into(),
            "fe80::104c:2d29:9aa:9267".parse().unwrap(),
            120,
        ),
        M::Host(
            "Syeds-MacBook-Pro.local".into(),
            "10.31.46.244".parse().unwrap(),
            120,
        ),
    ]
}

#[test]
fn mdns_macbook_announcements() {
    let dgrams = udp_datagrams(&shared("public/amqp/amqp-parser_amqp.pcap"));
    let want = macbook_announcement();
    let mut seen = 0;
    for (frame, sport, dport, payload) in &dgrams {
        if !(26..=31).contains(frame) {
            continue;
        }
        assert_eq!((*sport, *dport), (5353, 5353), "frame {frame}");
        assert_eq!(mdns_records(payload), want, "frame {frame}");
        seen += 1;
    }
    assert_eq!(seen, 6);
    // Every other mDNS datagram of the capture is the same announcement again.
    let others: Vec<_> = dgrams
        .iter()
        .filter(|(f, s, _, _)| *s == 5353 && !(26..=31).contains(f))
        .collect();
    assert!(!others.is_empty());
    for (frame, _, _, payload) in others {
        assert_eq!(mdns_records(payload), want, "frame {frame}");
    }
}

#[test]
fn mdns_open62541_discovery_server() {
    let dgrams = udp_datagrams(&shared(
        "public/opcua/icsnpp_open62541_discover_getendpoints_discover_urls.pcap",
    ));
    let (frame, _, dport, payload) = &dgrams[0];
    assert_eq!((*frame, *dport), (1, 5353));
    // open62541 sends each address twice: on the bare host label `Maui-16714` (not `.local`,
    // so skipped) and on the instance name (which does end in `.local`). TTL 600 throughout.
    let lds = "LDS-Maui-16714._opcua-tcp._tcp.local";
    let mut want: Vec<M> = [
        "10.1.96.37",
        "192.168.107.1",
        "172.16.97.1",
        "192.168.224.105",
        "127.0.0.1",
    ]
    .iter()
    .map(|a| M::Host(lds.into(), a.parse().unwrap(), 600))
    .collect();
    want.push(M::Instance(
        "LDS-Maui-16714".into(),
        "_opcua-tcp._tcp".into(),
        600,
    ));
    want.push(M::ServiceType("_opcua-tcp._tcp".into(), 600));
    assert_eq!(mdns_records(payload), want);
    // The only mDNS datagram of the capture.
    assert_eq!(
        dgrams.iter().filter(|d| d.1 == 5353 || d.2 == 5353).count(),
        1
    );
}

// ---------------------------------------------------------------------------------------------
// Crafted mDNS messages.

fn wire_name(labels: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in labels {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
    out
}

fn rr(owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut out = owner.to_vec();
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&0x8001u16.to_be_bytes()); // IN, cache flush
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
    out
}

fn message(flags: u16, counts: [u16; 4], records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![0, 0];
    out.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        out.extend_from_slice(&c.to_be_bytes());
    }
    for r in records {
        out.extend_from_slice(r);
    }
    out
}

#[test]
fn mdns_subtype_case_and_txt_shapes() {
    let inst = wire_name(&["Lab Printer v2.1", "_HTTP", "_TCP", "Local"]);
    let mut txt_data = Vec::new();
    for s in [
        &b"ty=Line Printer"[..],
        b"paper",            // boolean attribute
        b"=orphan",          // empty key: ignored
        b"",                 // empty string: ignored
        b"note=",            // empty value
        b"bin=\xff\x00\x01", // binary value
        b"k\xc3\xa9y=1",     // non-ASCII key: ignored
    ] {
        txt_data.push(s.len() as u8);
        txt_data.extend_from_slice(s);
    }
    let mut srv = vec![0, 1, 0, 2, 0x1f, 0x90];
    srv.extend(wire_name(&["printer", "local"]));
    let p = message(
        0x8400,
        [0, 3, 0, 1],
        &[
            rr(
                &wire_name(&["_printer", "_sub", "_http", "_tcp", "local"]),
                12,
                4500,
                &inst,
            ),
            rr(&inst, 16, 4500, &txt_data),
            rr(&inst, 33, 120, &srv),
            rr(&wire_name(&["printer", "LOCAL"]), 1, 0, &[192, 168, 1, 9]),
        ],
    );
    let i = "Lab Printer v2.1";
    let s = "_HTTP._TCP";
    assert_eq!(
        mdns_records(&p),
        vec![
            M::Instance(i.into(), s.into(), 4500),
            txt(i, s, "ty", "Line Printer", 4500),
            M::Txt(i.into(), s.into(), "paper".into(), None, 4500),
            txt(i, s, "note", "", 4500),
            M::Txt(
                i.into(),
                s.into(),
                "bin".into(),
                Some(vec![0xff, 0, 1]),
                4500
            ),
            M::Srv(i.into(), s.into(), "printer.local".into(), 8080, 1, 2, 120),
            M::Host("printer.LOCAL".into(), "192.168.1.9".parse().unwrap(), 0),
        ]
    );
    // A PTR whose owner is not the instance's service type, and names of the wrong shape.
    let p = message(
        0x8400,
        [0, 4, 0, 0],
        &[
            rr(&wire_name(&["_ipp", "_tcp", "local"]), 12, 10, &inst),
            rr(
                &wire_name(&["9", "1", "168", "192", "in-addr", "arpa"]),
                12,
                10,
                &wire_name(&["printer", "local"]),
            ),
            rr(
                &wire_name(&["printer", "example", "com"]),
                1,
                10,
                &[1, 2, 3, 4],
            ),
            rr(&wire_name(&["printer", "local"]), 33, 10, &srv),
        ],
    );
    assert_eq!(mdns_records(&p), vec![]);
}

#[test]
fn mdns_queries_give_nothing() {
    let inst = wire_name(&["Cam", "_rtsp", "_tcp", "local"]);
    let answer = rr(&wire_name(&["_rtsp", "_tcp", "local"]), 12, 4500, &inst);
    let mut q = wire_name(&["_rtsp", "_tcp", "local"]);
    q.extend_from_slice(&[0, 12, 0, 1]);
    // A query with a known answer, and a probe with its proposed record in authority.
    assert_eq!(
        mdns_records(&message(0x0000, [1, 1, 0, 0], &[q.clone(), answer.clone()])),
        vec![]
    );
    assert_eq!(
        mdns_records(&message(0x0000, [1, 0, 1, 0], &[q.clone(), answer.clone()])),
        vec![]
    );
    // The same record in a response counts, after skipping the question.
    assert_eq!(
        mdns_records(&message(0x8400, [1, 1, 0, 0], &[q, answer])),
        vec![M::Instance("Cam".into(), "_rtsp._tcp".into(), 4500)]
    );
}

#[test]
fn mdns_hostile_names() {
    let header = |an: u16| message(0x8400, [0, an, 0, 0], &[]);
    // Owner name is a pointer to itself (offset 12).
    let mut p = header(1);
    p.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 10, 0, 4, 10, 0, 0, 1]);
    assert_eq!(mdns_records(&p), vec![]);
    // A loop through a label: the owner points past the record to label "a", followed by a
    // pointer back to that label.
    let mut p = header(1);
    p.extend(rr(&[0xC0, 28], 1, 1, &[1, 2, 3, 4]));
    assert_eq!(p.len(), 28);
    p.extend_from_slice(&[1, b'a', 0xC0, 28]);
    assert_eq!(mdns_records(&p), vec![]);
    // The same bytes with the loop broken do give the record.
    let last = p.len() - 2;
    p[last..].copy_from_slice(&[5, b'l']);
    p.extend_from_slice(b"ocal\0");
    assert_eq!(mdns_records(&p).len(), 1);
    // A pointer past the end of the message, in the owner and in a PTR's data.
    let mut p = header(1);
    p.extend(rr(&[0xC0, 0xF0], 1, 1, &[1, 2, 3, 4]));
    assert_eq!(mdns_records(&p), vec![]);
    let mut p = header(1);
    p.extend(rr(
        &wire_name(&["_x", "_tcp", "local"]),
        12,
        1,
        &[0xFF, 0xFF],
    ));
    assert_eq!(mdns_records(&p), vec![]);
    // A PTR whose target runs past its data into the next bytes.
    let inst = wire_name(&["Cam", "_x", "_tcp", "local"]);
    let mut r = rr(&wire_name(&["_x", "_tcp", "local"]), 12, 1, &inst[..6]);
    r.extend_from_slice(&inst[6..]);
    let mut p = header(1);
    p.extend(r);
    assert_eq!(mdns_records(&p), vec![]);
    // Reserved label types 0x40 and 0x80.
    for t in [0x40, 0x80] {
        let mut p = header(1);
        p.extend(rr(&[t, b'a', 0], 1, 1, &[1, 2, 3, 4]));
        assert_eq!(mdns_records(&p), vec![]);
    }
    // A name longer than 255 bytes on the wire (five 63-byte labels), via pointers too.
    let long: Vec<String> = (0..5).map(|i| format!("{i}").repeat(63)).collect();
    let mut labels: Vec<&str> = long.iter().map(String::as_str).collect();
    labels.push("local");
    let mut p = header(1);
    p.extend(rr(&wire_name(&labels), 1, 1, &[1, 2, 3, 4]));
    assert_eq!(mdns_records(&p), vec![]);
    // Three 63-byte labels and "local" fit (199 bytes).
    let mut p = header(1);
    p.extend(rr(
        &wire_name(&[&long[0], &long[1], &long[2], "local"]),
        1,
        1,
        &[1, 2, 3, 4],
    ));
    assert_eq!(mdns_records(&p).len(), 1);
    // Not UTF-8.
    let mut p = header(1);
    p.extend(rr(&wire_name(&["\u{e9}", "local"]), 1, 1, &[1, 2, 3, 4]));
    assert_eq!(mdns_records(&p).len(), 1);
    p[13] = 0xFF; // the first byte of "é"
    assert_eq!(mdns_records(&p), vec![]);
    // TXT whose string lengths disagree with its data length: nothing from it.
    let mut p = header(1);
    p.extend(rr(&inst, 16, 1, b"\x05a=1\x03b=2"));
    assert_eq!(mdns_records(&p), vec![]);
    // Too many pairs: MAX_TXT_PAIRS.
    let mut data = Vec::new();
    for i in 0..100 {
        let s = format!("k{i}=v");
        data.push(s.len() as u8);
        data.extend_from_slice(s.as_bytes());
    }
    let mut p = header(1);
    p.extend(rr(&inst, 16, 1, &data));
    assert_eq!(
        mdns_records(&p).len(),
        edgetap_dissectors::discovery::MAX_TXT_PAIRS
    );
}

#[test]
fn mdns_truncation_gives_a_prefix() {
    let dgrams = udp_datagrams(&shared("public/amqp/amqp-parser_amqp.pcap"));
    let full = &dgrams.iter().find(|d| d.0 == 26).unwrap().3;
    let want = macbook_announcement();
    // The two NSEC records at the end take 2 + 10 + 9 and 2 + 10 + 8 bytes: the A record
    // before them is whole from there on.
    let a_end = full.len() - 21 - 20;
    for n in 0..full.len() {
        let got = mdns_records(&full[..n]);
        assert!(want.starts_with(&got), "cut at {n}: {got:?}");
        if n >= a_end {
            assert_eq!(got, want, "cut at {n}");
        } else {
            assert!(got.len() < want.len(), "cut at {n}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// NetBIOS

type Nb = (
    NbnsKind,
    String,
    u8,
    bool,
    Option<Ipv4Addr>,
    Option<[u8; 6]>,
);

fn nb_owned(r: NbnsRecord<'_>) -> Nb {
    (r.kind, r.name.into(), r.suffix, r.group, r.addr, r.unit_id)
}

fn nbns(payload: &[u8]) -> Vec<Nb> {
    let mut out = Vec::new();
    netbios_ns(payload, &mut |r| out.push(nb_owned(r)));
    out
}

fn netbios_capture() -> Vec<Datagram> {
    udp_datagrams(&ours("discovery/netbios-nmbd.pcap"))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn attr<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    let pat = format!(" {key}=\"");
    let start = line.find(&pat)? + pat.len();
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

/// `NAME<xx>...` → (NAME, 0xxx).
fn name_suffix(s: &str) -> (String, u8) {
    let lt = s.find('<').unwrap();
    (
        s[..lt].to_string(),
        u8::from_str_radix(&s[lt + 1..lt + 3], 16).unwrap(),
    )
}

/// tshark's view of every NBNS frame, reduced to the records `netbios_ns` should give:
/// (frame, records).
fn tshark_nbns(pcap: &Path) -> Vec<(usize, Vec<Nb>)> {
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(pcap)
        .args(["-Y", "nbns", "-T", "pdml"])
        .output()
        .unwrap_or_else(|e| panic!("tshark is needed for this test (apt-get install tshark): {e}"));
    assert!(out.status.success());
    let pdml = String::from_utf8(out.stdout).unwrap();
    let mut frames = Vec::new();
    for packet in pdml.split("<packet>").skip(1) {
        let mut frame = 0;
        let (mut opcode, mut response, mut rcode) = (0u8, false, 0u8);
        let mut name = None;
        let mut group = false;
        let mut recs: Vec<Nb> = Vec::new();
        let mut table: Vec<(String, u8, bool)> = Vec::new();
        let mut unit = None;
        for line in packet.lines() {
            let (Some(field), Some(show)) = (attr(line, "name"), attr(line, "show")) else {
                continue;
            };
            let show = unescape(show);
            match field {
                "frame.number" => frame = show.parse().unwrap(),
                "nbns.flags.opcode" => opcode = show.parse().unwrap(),
                "nbns.flags.response" => response = show == "1" || show == "True",
                "nbns.flags.rcode" => rcode = show.parse().unwrap(),
                "nbns.name" => name = Some(name_suffix(&show)),
                "nbns.nb_flags.group" => group = show == "1" || show == "True",
                "nbns.addr" => {
                    let (n, s) = name.clone().unwrap();
                    recs.push((
                        NbnsKind::QueryResponse,
                        n,
                        s,
                        group,
                        Some(show.parse().unwrap()),
                        None,
                    ));
                }
                "nbns.netbios_name" => {
                    let showname = unescape(attr(line, "showname").unwrap());
                    let (n, s) = name_suffix(showname.strip_prefix("Name: ").unwrap());
                    table.push((n, s, false));
                }
                "nbns.name_flags.group" => {
                    table.last_mut().unwrap().2 = show == "1" || show == "True";
                }
                "nbns.unit_id" => {
                    let b: Vec<u8> = show
                        .split(':')
                        .map(|h| u8::from_str_radix(h, 16).unwrap())
                        .collect();
                    unit = Some(<[u8; 6]>::try_from(b).unwrap());
                }
                _ => {}
            }
        }
        let kind = match opcode {
            0 if response => NbnsKind::QueryResponse,
            5 => NbnsKind::Registration,
            8 | 9 => NbnsKind::Refresh,
            _ => {
                frames.push((frame, vec![]));
                continue;
            }
        };
        if rcode != 0 {
            frames.push((frame, vec![]));
            continue;
        }
        for r in &mut recs {
            r.0 = kind;
        }
        for (n, s, g) in table {
            recs.push((NbnsKind::NodeStatus, n, s, g, None, unit));
        }
        frames.push((frame, recs));
    }
    frames
}

#[test]
fn netbios_agrees_with_tshark() {
    let pcap = ours("discovery/netbios-nmbd.pcap");
    let want = tshark_nbns(&pcap);
    let dgrams = netbios_capture();
    let ns: Vec<_> = dgrams.iter().filter(|d| d.1 == 137 || d.2 == 137).collect();
    assert_eq!(ns.len(), want.len(), "NBNS datagrams: ours vs tshark");
    let mut records = 0;
    for ((frame, _, _, payload), (tframe, trecs)) in ns.into_iter().zip(&want) {
        assert_eq!(frame, tframe);
        assert_eq!(&nbns(payload), trecs, "frame {frame}");
        records += trecs.len();
    }
    // 20 registrations (5 names, sent 4 times), 4 query responses (nmbd answers each query
    // twice), 5 name table entries.
    assert_eq!(records, 20 + 4 + 5);
}

#[test]
fn netbios_nmbd_constants() {
    let dgrams = netbios_capture();
    let frame = |n: usize| &dgrams.iter().find(|d| d.0 == n).unwrap().3;
    let ip: Ipv4Addr = "10.77.0.1".parse().unwrap();
    let s = |n: &str| n.to_string();
    // Frame 1: nmbd registers EDGETAP-HMI<20> by broadcast (opcode 5, the address in the
    // additional record).
    let mut got = Vec::new();
    netbios_ns(frame(1), &mut |r| {
        got.push((r.opcode, r.response, nb_owned(r)))
    });
    assert_eq!(
        got,
        vec![(
            5,
            false,
            (
                NbnsKind::Registration,
                s("EDGETAP-HMI"),
                0x20,
                false,
                Some(ip),
                None
            )
        )]
    );
    // Frame 4: the workgroup, a group name.
    assert_eq!(
        nbns(frame(4)),
        vec![(NbnsKind::Registration, s("PLANT"), 0, true, Some(ip), None)]
    );
    // Frame 27 is nmblookup's query: nothing; frame 28 the positive response.
    assert_eq!(nbns(frame(27)), vec![]);
    assert_eq!(
        nbns(frame(28)),
        vec![(
            NbnsKind::QueryResponse,
            s("EDGETAP-HMI"),
            0,
            false,
            Some(ip),
            None
        )]
    );
    // Frame 34: the node status response (nmblookup -A 10.77.0.1). Samba's unit id is zeros.
    let z = Some([0u8; 6]);
    assert_eq!(
        nbns(frame(34)),
        vec![
            (NbnsKind::NodeStatus, s("EDGETAP-HMI"), 0x00, false, None, z),
            (NbnsKind::NodeStatus, s("EDGETAP-HMI"), 0x03, false, None, z),
            (NbnsKind::NodeStatus, s("EDGETAP-HMI"), 0x20, false, None, z),
            (NbnsKind::NodeStatus, s("PLANT"), 0x00, true, None, z),
            (NbnsKind::NodeStatus, s("PLANT"), 0x1E, true, None, z),
        ]
    );
    netbios_ns(frame(34), &mut |r| assert_eq!(r.mac(), None));
    // names::netbios_names (now built on netbios_ns) keeps giving the address-bearing ones.
    let mut old = Vec::new();
    netbios_names(frame(34), &mut |n| old.push(n.name.to_string()));
    assert!(old.is_empty());
    netbios_names(frame(28), &mut |n| {
        old.push(format!(
            "{}<{:02x}> {} {}",
            n.name, n.suffix, n.addr, n.opcode
        ))
    });
    assert_eq!(old, vec!["EDGETAP-HMI<00> 10.77.0.1 0"]);
    assert_eq!(suffix_name(0x20), Some("file server"));
    assert_eq!(suffix_name(0x1B), Some("domain master browser"));
    assert_eq!(suffix_name(0x1C), Some("domain controllers"));
    assert_eq!(suffix_name(0x42), None);
}

/// The encoded name label of `name` padded to 15 with spaces, then `suffix`.
fn nb_label(name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    raw[15] = suffix;
    raw.iter()
        .flat_map(|b| [b'A' + (b >> 4), b'A' + (b & 0xF)])
        .collect()
}

fn nb_message(flags: u16, label: &[u8], rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut owner = vec![label.len() as u8];
    owner.extend_from_slice(label);
    owner.push(0);
    let mut r = owner;
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&[0, 1, 0, 0, 0x0e, 0x10]);
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    message(flags, [0, 1, 0, 0], &[r])
}

#[test]
fn netbios_hostile() {
    let nb = [0x60, 0x00, 192, 168, 1, 20];
    let ok = nb_message(0x8500, &nb_label("PLC-HMI-01", 0x20), 32, &nb);
    assert_eq!(
        nbns(&ok),
        vec![(
            NbnsKind::QueryResponse,
            "PLC-HMI-01".into(),
            0x20,
            false,
            Some("192.168.1.20".parse().unwrap()),
            None
        )]
    );
    // A 33rd half-character, 31 of them, a letter past P.
    let mut long = nb_label("PLC", 0);
    long.push(b'A');
    assert_eq!(nbns(&nb_message(0x8500, &long, 32, &nb)), vec![]);
    let short = &nb_label("PLC", 0)[..31];
    assert_eq!(nbns(&nb_message(0x8500, short, 32, &nb)), vec![]);
    let mut bad = nb_label("PLC", 0);
    bad[3] = b'Q';
    assert_eq!(nbns(&nb_message(0x8500, &bad, 32, &nb)), vec![]);
    // Negative response, query, release, WACK.
    for flags in [0x8503, 0x0100, 0x3000, 0xb800] {
        let p = nb_message(flags, &nb_label("PLC", 0), 32, &nb);
        assert_eq!(nbns(&p), vec![], "flags {flags:#06x}");
    }
    // Truncated anywhere: only whole records, never a panic.
    for n in 0..ok.len() {
        assert_eq!(nbns(&ok[..n]), vec![], "cut at {n}");
    }
    // Node status: a name table longer than the data gives nothing; missing statistics give
    // the names without a unit id; a name that is not UTF-8 is skipped.
    let mut entry = *b"PLC-HMI-01     \x00\x04\x00";
    let mut data = vec![2];
    data.extend_from_slice(&entry);
    assert_eq!(
        nbns(&nb_message(0x8400, &nb_label("*", 0), 33, &data)),
        vec![]
    );
    data.extend_from_slice(&entry);
    let got = nbns(&nb_message(0x8400, &nb_label("*", 0), 33, &data));
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r.5.is_none() && r.1 == "PLC-HMI-01"));
    entry[0] = 0xFF;
    data.extend_from_slice(&[0x00, 0x1b, 0x1b, 0x12, 0x34, 0x56]);
    data[1..19].copy_from_slice(&entry);
    let p = nb_message(0x8400, &nb_label("*", 0), 33, &data);
    let mut got = Vec::new();
    netbios_ns(&p, &mut |r| got.push((r.name.to_string(), r.mac())));
    assert_eq!(
        got,
        vec![(
            "PLC-HMI-01".to_string(),
            Some([0x00, 0x1b, 0x1b, 0x12, 0x34, 0x56])
        )]
    );
    // A node status record in a registration is not a name table.
    let p = nb_message(0x2800, &nb_label("*", 0), 33, &data);
    assert_eq!(nbns(&p), vec![]);
    // The real node status response cut anywhere: nothing or everything.
    let dgrams = netbios_capture();
    let full = &dgrams.iter().find(|d| d.0 == 34).unwrap().3;
    for n in 0..full.len() {
        assert_eq!(nbns(&full[..n]), vec![], "cut at {n}");
    }
    assert_eq!(nbns(full).len(), 5);
}

// ---------------------------------------------------------------------------------------------
// Mutations of the real datagrams: no panic, bounded output.

fn real_payloads() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = udp_datagrams(&shared("public/amqp/amqp-parser_amqp.pcap"))
        .into_iter()
        .filter(|d| d.0 == 26)
        .map(|d| d.3)
        .collect();
    out.extend(
        udp_datagrams(&shared(
            "public/opcua/icsnpp_open62541_discover_getendpoints_discover_urls.pcap",
        ))
        .into_iter()
        .filter(|d| d.0 == 1)
        .map(|d| d.3),
    );
    out.extend(
        netbios_capture()
            .into_iter()
            .filter(|d| d.0 == 1 || d.0 == 28 || d.0 == 34)
            .map(|d| d.3),
    );
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn mutated_datagrams(which in 0usize..5, flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let mut p = real_payloads().swap_remove(which);
        for (at, v) in flips {
            let len = p.len();
            p[at % len] = v;
        }
        let mut n = 0;
        mdns(&p, &mut |r| {
            n += 1;
            match r.kind {
                MdnsKind::Host { name, .. } => assert!(name.len() > ".local".len()),
                MdnsKind::Instance { instance, service }
                | MdnsKind::Srv { instance, service, .. }
                | MdnsKind::Txt { instance, service, .. } => {
                    assert!(!instance.is_empty() && service.starts_with('_'))
                }
                MdnsKind::ServiceType { service } => assert!(service.starts_with('_')),
            }
        });
        prop_assert!(n <= p.len());
        netbios_ns(&p, &mut |r| assert!(r.name.len() <= 15));
    }
}
