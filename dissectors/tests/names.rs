//! DHCP, DNS/mDNS and NetBIOS-NS name parsers (`names.rs`): golden packets and hostile bytes.
//!
//! The golden packets were also written to a pcap and read with tshark 4.0: Wireshark decodes
//! the same fields (message type, chaddr, yiaddr, hostname, vendor class, requested IP,
//! server id; every A/AAAA owner name and address; NB names, suffixes, addresses, G bits).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]

use std::net::{IpAddr, Ipv4Addr};

use edgetap_dissectors::names::{self, dhcp, dns_answers, dns_query_name, netbios_names, text};
use proptest::prelude::*;

/// Hex pieces (spaces allowed) concatenated into bytes.
fn hex(parts: &[&str]) -> Vec<u8> {
    let digits: String = parts
        .concat()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    assert_eq!(digits.len() & 1, 0, "odd hex");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

fn answers(payload: &[u8]) -> Vec<(String, IpAddr)> {
    let mut out = Vec::new();
    dns_answers(payload, &mut |name, ip| out.push((name.to_string(), ip)));
    out
}

fn nb(payload: &[u8]) -> Vec<(String, u8, bool, Ipv4Addr, u8)> {
    let mut out = Vec::new();
    netbios_names(payload, &mut |n| {
        out.push((n.name.to_string(), n.suffix, n.group, n.addr, n.opcode))
    });
    out
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

// ---------------------------------------------------------------------------------------------
// DHCP

const ZERO_SNAME_FILE: &str = concat!(
    "0000000000000000000000000000000000000000000000000000000000000000", // sname 64
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000", // file 128
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000000",
);

/// A server's ACK: 192.168.1.57 to a Raspberry Pi, hostname and vendor class echoed.
fn dhcp_ack() -> Vec<u8> {
    hex(&[
        "02 01 06 00  3903f326  0000 0000", // BOOTREPLY, Ethernet, xid, secs, flags
        "00000000 c0a80139 c0a80101 00000000", // ciaddr yiaddr siaddr giaddr
        "b827eb123456 00000000000000000000", // chaddr (16 bytes)
        ZERO_SNAME_FILE,                    // sname, file
        "63825363",                         // magic cookie
        "35 01 05",                         // 53 message type: ACK
        "36 04 c0a80101",                   // 54 server id
        "33 04 00015180",                   // 51 lease time 86400
        "01 04 ffffff00  03 04 c0a80101  06 04 c0a80101", // mask, router, DNS
        "0c 09 706c632d6c696e6533",         // 12 hostname "plc-line3"
        "3c 09 505845436c69656e74",         // 60 vendor class "PXEClient"
        "ff 0000000000000000",              // end, padding
    ])
}

/// A client's REQUEST (BusyBox udhcpc on an ESP32-class device): client id, requested IP,
/// parameter list, a NUL-terminated hostname, pads before the end.
fn dhcp_request() -> Vec<u8> {
    hex(&[
        "01 01 06 00  5eed0001  0000 0000",
        "00000000 00000000 00000000 00000000",
        "240ac4a1b2c3 00000000000000000000",
        ZERO_SNAME_FILE,
        "63825363",
        "35 01 03",                        // REQUEST
        "3d 07 01 240ac4a1b2c3",           // 61 client id: type 1 + MAC
        "32 04 c0a8014d",                  // 50 requested 192.168.1.77
        "36 04 c0a80101",                  // 54 server id
        "39 02 0240",                      // 57 max message size
        "37 06 01031c060f0c",              // 55 parameter request list
        "0c 0a 6573707265737369 6600",     // 12 "espressif\0"
        "3c 0c 75646863702031 2e33362e31", // 60 "udhcp 1.36.1"
        "00 00 ff",
    ])
}

#[test]
fn dhcp_ack_golden() {
    let p = dhcp_ack();
    assert_eq!(p.len(), 304);
    let d = dhcp(&p).unwrap();
    assert_eq!(d.op, 2);
    assert_eq!(d.htype, 1);
    assert_eq!(d.xid, 0x3903_F326);
    assert_eq!(d.chaddr, Some([0xB8, 0x27, 0xEB, 0x12, 0x34, 0x56]));
    assert_eq!(d.ciaddr, v4("0.0.0.0"));
    assert_eq!(d.yiaddr, v4("192.168.1.57"));
    assert_eq!(d.siaddr, v4("192.168.1.1"));
    assert_eq!(d.giaddr, v4("0.0.0.0"));
    assert!(d.cookie);
    assert_eq!(d.message_type, Some(5));
    assert_eq!(d.message_type_name(), Some("ack"));
    assert_eq!(d.server_id, Some(v4("192.168.1.1")));
    assert_eq!(d.requested_ip, None);
    assert_eq!(d.hostname.and_then(text), Some("plc-line3"));
    assert_eq!(d.vendor_class, Some(&b"PXEClient"[..]));
    assert_eq!(d.client_id, None);
    assert!(!d.options_truncated);
    assert_eq!(
        edgetap_dissectors::oui::vendor(d.chaddr.unwrap()),
        Some("Raspberry Pi Foundation")
    );
}

#[test]
fn dhcp_request_golden() {
    let p = dhcp_request();
    let d = dhcp(&p).unwrap();
    assert_eq!(d.op, 1);
    assert_eq!(d.message_type_name(), Some("request"));
    assert_eq!(d.chaddr, Some([0x24, 0x0A, 0xC4, 0xA1, 0xB2, 0xC3]));
    assert_eq!(d.requested_ip, Some(v4("192.168.1.77")));
    assert_eq!(d.server_id, Some(v4("192.168.1.1")));
    // The trailing NUL some clients send is not part of the name.
    assert_eq!(d.hostname, Some(&b"espressif"[..]));
    assert_eq!(d.vendor_class.and_then(text), Some("udhcp 1.36.1"));
    assert_eq!(
        d.client_id,
        Some(&[0x01, 0x24, 0x0A, 0xC4, 0xA1, 0xB2, 0xC3][..])
    );
    assert!(!d.options_truncated);
}

#[test]
fn dhcp_damage_and_oddities() {
    let ack = dhcp_ack();
    // Too short for the fixed header; not BOOTP ops; absurd hlen.
    assert_eq!(dhcp(&ack[..235]), None);
    assert_eq!(dhcp(&[]), None);
    let mut bad = ack.clone();
    bad[0] = 3;
    assert_eq!(dhcp(&bad), None);
    let mut bad = ack.clone();
    bad[2] = 17;
    assert_eq!(dhcp(&bad), None);
    // Non-Ethernet hardware: no MAC.
    let mut other = ack.clone();
    other[1] = 6;
    assert_eq!(dhcp(&other).unwrap().chaddr, None);
    // Plain BOOTP: no cookie, no options (and nothing past the header at all).
    let d = dhcp(&ack[..236]).unwrap();
    assert!(!d.cookie && d.message_type.is_none());
    let mut bootp = ack.clone();
    bootp[236] = 0;
    let d = dhcp(&bootp).unwrap();
    assert!(!d.cookie && d.hostname.is_none() && d.yiaddr == v4("192.168.1.57"));
    // Cut inside the vendor class option: what came before is kept.
    let cut = &ack[..ack.len() - 15];
    let d = dhcp(cut).unwrap();
    assert!(d.options_truncated);
    assert_eq!(d.message_type, Some(5));
    assert_eq!(d.hostname, Some(&b"plc-line3"[..]));
    assert_eq!(d.vendor_class, None);
    // Cut right after a code byte.
    let d = dhcp(&ack[..241]).unwrap();
    assert!(d.options_truncated && d.message_type.is_none());
    // Wrong lengths are ignored; the first instance wins; nothing after End counts.
    let mut p = ack[..240].to_vec();
    p.extend(hex(&[
        "35 02 0505",
        "36 03 c0a801",
        "35 01 01",
        "35 01 05",
        "0c 00",
        "0c 03 616263",
        "ff",
        "0c 03 78797a",
    ]));
    let d = dhcp(&p).unwrap();
    assert_eq!(d.message_type_name(), Some("discover"));
    assert_eq!(d.server_id, None);
    assert_eq!(d.hostname, Some(&b"abc"[..]));
    assert!(!d.options_truncated);
    // No End at all: fine.
    let d = dhcp(&ack[..240 + 3]).unwrap();
    assert_eq!(d.message_type, Some(5));
    assert!(!d.options_truncated);
}

// ---------------------------------------------------------------------------------------------
// DNS

/// Response to `www.example.com A`: a CNAME to edge.example.net (its name compressed against
/// the question), the A record (owner a pointer into the CNAME's data), an NS in authority and
/// glue A + AAAA for ns1.example.net in additional (owner a pointer into the NS's data, which
/// itself ends in a pointer).
fn dns_response() -> Vec<u8> {
    hex(&[
        "beef 8180 0001 0002 0001 0002", // id, QR RD RA, 1 question, 2/1/2 records
        "03777777 076578616d706c65 03636f6d 00 0001 0001", // www.example.com A IN
        "c00c 0005 0001 0000012c 0012",  // www.example.com CNAME, 18 bytes:
        "04656467 65 076578616d706c65 036e6574 00", //   edge.example.net (at 0x2d)
        "c02d 0001 0001 0000012c 0004 5db8d822", // edge.example.net A 93.184.216.34
        "c032 0002 0001 00000e10 0006 036e7331 c032", // example.net NS ns1.<0x32> (ns1 at 0x5b)
        "c05b 0001 0001 00000e10 0004 c6336435", // ns1.example.net A 198.51.100.53
        "c05b 001c 0001 00000e10 0010 20010db8000000000000000000000053", // AAAA 2001:db8::53
    ])
}

/// An mDNS announcement from a Hue bridge: PTR, SRV, TXT, NSEC answers (cache-flush class on
/// all but the PTR), then the host's A and AAAA in the additional section.
fn mdns_response() -> Vec<u8> {
    hex(&[
        "0000 8400 0000 0004 0000 0002",
        "045f687565 045f746370 056c6f63616c 00 000c 0001 00001194 0016", // _hue._tcp.local PTR
        "13 48756520427269646765202d20364131423243 c00c", // "Hue Bridge - 6A1B2C" (at 0x27)
        "c027 0021 8001 00000078 0014 0000 0000 01bb",    // SRV, port 443, target:
        "0b5068696c6970732d687565 c016",                  // Philips-hue.local (at 0x4f)
        "c027 0010 8001 00001194 001b 0b6272696467656964 3d3031 0e6d6f64656c69643d425342303032",
        "c027 002f 8001 00001194 0009 c027 0005 0000800040", // NSEC
        "c04f 0001 8001 00000078 0004 c0a80117",             // Philips-hue.local A 192.168.1.23
        "c04f 001c 8001 00000078 0010 fe800000000000000217 88fffe6a1b2c",
    ])
}

#[test]
fn dns_response_golden() {
    let p = dns_response();
    assert_eq!(p.len(), 141);
    assert_eq!(
        answers(&p),
        vec![
            ("edge.example.net".to_string(), ip("93.184.216.34")),
            ("ns1.example.net".to_string(), ip("198.51.100.53")),
            ("ns1.example.net".to_string(), ip("2001:db8::53")),
        ]
    );
    let mut buf = [0u8; 256];
    assert_eq!(dns_query_name(&p, &mut buf), Some("www.example.com"));
}

#[test]
fn mdns_response_golden() {
    let p = mdns_response();
    assert_eq!(p.len(), 197);
    assert_eq!(
        answers(&p),
        vec![
            ("Philips-hue.local".to_string(), ip("192.168.1.23")),
            (
                "Philips-hue.local".to_string(),
                ip("fe80::217:88ff:fe6a:1b2c")
            ),
        ]
    );
    // No question.
    let mut buf = [0u8; 256];
    assert_eq!(dns_query_name(&p, &mut buf), None);
}

#[test]
fn dns_queries_give_no_answers() {
    // The same bytes with QR cleared (an mDNS known-answer list looks like this).
    let mut p = dns_response();
    p[2] &= 0x7F;
    assert!(answers(&p).is_empty());
    let mut buf = [0u8; 256];
    assert_eq!(dns_query_name(&p, &mut buf), Some("www.example.com"));
    // Not a standard query (opcode 5, UPDATE).
    let mut p = dns_response();
    p[2] = 0x80 | (5 << 3);
    assert!(answers(&p).is_empty());
    // Root query (priming).
    let root = hex(&["0001 0100 0001 0000 0000 0000 00 0002 0001"]);
    assert_eq!(dns_query_name(&root, &mut buf), Some("."));
}

#[test]
fn dns_damage() {
    let p = dns_response();
    // Cut inside the AAAA: the records before it are still reported.
    let got = answers(&p[..p.len() - 1]);
    assert_eq!(got.len(), 2);
    // Cut in the header or the question.
    assert!(answers(&p[..11]).is_empty());
    assert!(answers(&p[..20]).is_empty());
    let mut buf = [0u8; 256];
    assert_eq!(dns_query_name(&p[..20], &mut buf), None);
    // CHAOS class, an A with 5 bytes of data: skipped, the walk goes on.
    let mut chaos = p.clone();
    chaos[0x44] = 3; // edge.example.net A: class CH
    assert_eq!(answers(&chaos).len(), 2);
    let odd = hex(&[
        "0000 8400 0000 0002 0000 0000",
        "016100 0001 0001 00000078 0005 0a00000100",
        "016200 0001 0001 00000078 0004 0a000002",
    ]);
    assert_eq!(answers(&odd), vec![("b".to_string(), ip("10.0.0.2"))]);
    // A record count larger than what is there.
    let mut more = odd.clone();
    more[7] = 9;
    assert_eq!(answers(&more).len(), 1);
    assert_eq!(answers(&chaos).len(), 2);
}

#[test]
fn dns_pointer_loops_and_long_names() {
    let mut buf = [0u8; 256];
    // Question name is a pointer to itself.
    let selfloop = hex(&["0000 8000 0001 0001 0000 0000", "c00c 0001 0001"]);
    assert_eq!(dns_query_name(&selfloop, &mut buf), None);
    // Two pointers to each other, and a label then a pointer back to it (grows until the
    // 255-byte limit).
    let pingpong = hex(&["0000 8000 0001 0000 0000 0000", "c00e c00c"]);
    assert_eq!(dns_query_name(&pingpong, &mut buf), None);
    let grow = hex(&["0000 8000 0001 0000 0000 0000", "03616263 c00c"]);
    assert_eq!(dns_query_name(&grow, &mut buf), None);
    // Pointer past the end; reserved label types 0x40 and 0x80.
    for bad in ["c0ff", "4000", "8000"] {
        let p = hex(&["0000 8000 0001 0000 0000 0000", bad, "0001 0001"]);
        assert_eq!(dns_query_name(&p, &mut buf), None, "{bad}");
    }
    // The longest legal name: 127 one-byte labels is 255 wire bytes, 253 text bytes.
    let mut p = hex(&["0000 0000 0001 0000 0000 0000"]);
    for _ in 0..127 {
        p.extend([1, b'a']);
    }
    p.push(0);
    let name = dns_query_name(&p, &mut buf).unwrap();
    assert_eq!(name.len(), 253);
    // One byte more is refused.
    let mut p = hex(&["0000 0000 0001 0000 0000 0000"]);
    for _ in 0..126 {
        p.extend([1, b'a']);
    }
    p.extend([2, b'a', b'a', 0]);
    assert_eq!(dns_query_name(&p, &mut buf), None);
    // Labels that are not UTF-8: the record is skipped.
    let p = hex(&[
        "0000 8400 0000 0002 0000 0000",
        "02ff41 00 0001 0001 00000078 0004 0a000001",
        "026869 00 0001 0001 00000078 0004 0a000002",
    ]);
    assert_eq!(answers(&p), vec![("hi".to_string(), ip("10.0.0.2"))]);
    // A forward pointer is followed (RFC 1035 asks for prior ones; Wireshark accepts both).
    let p = hex(&[
        "0000 8400 0000 0001 0000 0000",
        "c01c 0001 0001 00000078 0004 0a000003", // owner -> offset 0x1c
        "03706c63 00",                           // "plc"
    ]);
    assert_eq!(answers(&p), vec![("plc".to_string(), ip("10.0.0.3"))]);
}

// ---------------------------------------------------------------------------------------------
// NetBIOS name service

/// Registration request for PLC-HMI-01<00> at 192.168.1.50 (broadcast, B node).
fn nbns_registration() -> Vec<u8> {
    hex(&[
        "8001 2910 0001 0000 0000 0001",
        "20 4641454d4544434e4549454e454a434e44414442434143414341434143414141 00 0020 0001",
        "c00c 0020 0001 000493e0 0006 0000 c0a80132",
    ])
}

/// Positive name query response: group WORKGROUP<1e> at two addresses.
fn nbns_response() -> Vec<u8> {
    hex(&[
        "8002 8500 0000 0001 0000 0000",
        "20 464845504643454c45484643455046464641434143414341434143414341424f 00",
        "0020 0001 000493e0 000c 8000 c0a80132 8000 c0a80133",
    ])
}

#[test]
fn netbios_golden() {
    assert_eq!(
        nb(&nbns_registration()),
        vec![("PLC-HMI-01".to_string(), 0x00, false, v4("192.168.1.50"), 5)]
    );
    assert_eq!(
        nb(&nbns_response()),
        vec![
            ("WORKGROUP".to_string(), 0x1E, true, v4("192.168.1.50"), 0),
            ("WORKGROUP".to_string(), 0x1E, true, v4("192.168.1.51"), 0),
        ]
    );
    // Release (opcode 6), negative response (rcode 3), a query: nothing.
    let mut release = nbns_registration();
    release[2] = 0x31;
    assert!(nb(&release).is_empty());
    let mut negative = nbns_response();
    negative[3] = 0x03;
    assert!(nb(&negative).is_empty());
    let mut query = nbns_response();
    query[2] = 0x05;
    assert!(nb(&query).is_empty());
    // A letter outside A..P: not a NetBIOS name.
    let mut bad = nbns_response();
    bad[13] = b'Z';
    assert!(nb(&bad).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Hostile bytes

fn run_all(data: &[u8]) {
    if let Some(d) = dhcp(data) {
        for s in [d.hostname, d.vendor_class, d.client_id]
            .into_iter()
            .flatten()
        {
            assert!(!s.is_empty() && s.len() <= 255);
        }
    }
    dns_answers(data, &mut |name, _| {
        assert!(!name.is_empty() && name.len() <= 253)
    });
    let mut buf = [0u8; 256];
    if let Some(n) = dns_query_name(data, &mut buf) {
        assert!(!n.is_empty() && n.len() <= 253);
    }
    netbios_names(data, &mut |n| assert!(n.name.len() <= 15));
    let _ = names::text(data);
}

/// Bytes that get past the first checks: a DNS header with QR set and small counts, or a
/// BOOTP header with the cookie, then anything.
fn shaped() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (
            any::<[u8; 2]>(),
            0u8..16,
            any::<[u8; 4]>(),
            proptest::collection::vec(any::<u8>(), 0..400)
        )
            .prop_map(|(id, opcode, counts, rest)| {
                let mut b = id.to_vec();
                b.extend([0x80 | (opcode << 3), 0]);
                for c in counts {
                    b.extend([0, c % 8]);
                }
                b.extend(rest);
                b
            }),
        (
            1u8..=2,
            any::<[u8; 8]>(),
            proptest::collection::vec(any::<u8>(), 0..200)
        )
            .prop_map(|(op, x, opts)| {
                let mut b = vec![op, 1, 6, 0];
                b.extend(x);
                b.resize(236, 0);
                b.extend([99, 130, 83, 99]);
                b.extend(opts);
                b
            }),
        // A golden packet with bytes changed.
        (
            0usize..6,
            proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            any::<usize>()
        )
            .prop_map(|(which, edits, cut)| {
                let mut b = [
                    dhcp_ack,
                    dhcp_request,
                    dns_response,
                    mdns_response,
                    nbns_registration,
                    nbns_response,
                ][which]();
                for (at, v) in edits {
                    let n = b.len();
                    b[at % n] = v;
                }
                b.truncate(cut % (b.len() + 1));
                b
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        run_all(&data);
    }

    #[test]
    fn shaped_bytes_never_panic(data in shaped()) {
        run_all(&data);
    }
}

#[test]
fn dns_question_reads_header_bits_type_and_raw_name() {
    // A NULL query (iodine's) for a label that is not text, then its NXDOMAIN answer.
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(&[
        4, 0xff, b'a', 0x00, b'b', 2, b't', b'1', 3, b'n', b'e', b't', 0,
    ]);
    q.extend_from_slice(&[0, 10, 0, 1]);
    let mut buf = [0u8; 256];
    let d = names::dns_question(&q, &mut buf).expect("a question");
    assert_eq!(
        (d.id, d.response, d.opcode, d.rcode, d.qtype),
        (0x1234, false, 0, 0, 10)
    );
    assert_eq!(
        d.name,
        &[0xff, b'a', 0x00, b'b', b'.', b't', b'1', b'.', b'n', b'e', b't'][..]
    );
    let mut r = q.clone();
    r[2] = 0x81;
    r[3] = 0x83;
    let mut buf = [0u8; 256];
    let d = names::dns_question(&r, &mut buf).expect("a response");
    assert!(d.response);
    assert_eq!(d.rcode, 3);
    // Cut anywhere: never a panic, and no question once the type is cut off.
    for n in 0..q.len() {
        let mut buf = [0u8; 256];
        assert!(names::dns_question(&q[..n], &mut buf).is_none() || n >= q.len() - 2);
    }
}
