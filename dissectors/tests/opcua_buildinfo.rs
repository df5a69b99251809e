#![cfg(feature = "opcua")]
//! The server's BuildInfo as identity facts, on a real capture: `pcaps/opcua/asyncua-buildinfo.pcap`
//! (an asyncua server and client, `scripts/record-amqp-opcua.sh opcua-buildinfo`) read here
//! straight from the file (classic pcap, Ethernet, IPv4, one TCP connection to port 4840, in
//! order on the loopback) and fed to one OPC UA session. The expected values are the ones
//! `tshark -V` shows in the ReadResponses (frames 15, 17 and 19).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edgetap_dissectors::{opcua, Collect, Direction, Dissector, FactKind, Side};

/// The TCP payloads of the capture, with their direction, in capture order.
fn payloads(pcap: &[u8]) -> Vec<(u64, Direction, Vec<u8>)> {
    assert_eq!(
        &pcap[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian classic pcap"
    );
    assert_eq!(
        u32::from_le_bytes(pcap[20..24].try_into().unwrap()),
        1,
        "Ethernet"
    );
    let mut out = Vec::new();
    let mut at = 24;
    let mut frame = 0;
    while at + 16 <= pcap.len() {
        frame += 1;
        let caplen = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        let pkt = &pcap[at + 16..at + 16 + caplen];
        at += 16 + caplen;
        assert_eq!(&pkt[12..14], &[0x08, 0x00], "IPv4");
        let ip = &pkt[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        assert_eq!(ip[9], 6, "TCP");
        let tcp = &ip[ihl..total];
        let dport = u16::from_be_bytes([tcp[2], tcp[3]]);
        let off = usize::from(tcp[12] >> 4) * 4;
        let data = &tcp[off..];
        if data.is_empty() {
            continue;
        }
        let dir = if dport == 4840 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        out.push((frame, dir, data.to_vec()));
    }
    out
}

fn run(pcap: &[u8]) -> Vec<(u64, FactKind, Side, String)> {
    let mut s = opcua::Session::default();
    let mut facts = Vec::new();
    for (frame, dir, data) in payloads(pcap) {
        let mut c = Collect::default();
        s.parse(dir, &data, &mut c);
        assert!(c.events.is_empty(), "frame {frame}: {:?}", c.events);
        facts.extend(c.facts.into_iter().map(|(k, side, v)| (frame, k, side, v)));
    }
    facts
}

fn capture() -> Vec<u8> {
    let path = format!(
        "{}/../pcaps/opcua/asyncua-buildinfo.pcap",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

const BUILD: [(FactKind, &str); 5] = [
    (
        FactKind::OpcuaBuildProductUri,
        "urn:edgetap:buildinfo:product",
    ),
    (FactKind::OpcuaManufacturerName, "Edgetap Test Works"),
    (FactKind::OpcuaProductName, "BuildInfo Demo Server"),
    (FactKind::OpcuaSoftwareVersion, "3.4.5"),
    (FactKind::OpcuaBuildNumber, "20261203.42"),
];

#[test]
fn buildinfo_reads_give_the_servers_facts() {
    let build: Vec<_> = run(&capture())
        .into_iter()
        .filter(|(_, k, _, _)| BUILD.iter().any(|(b, _)| b == k))
        .collect();
    let mut want = Vec::new();
    // Frame 15: the ServerStatus (i=2256); frame 17: the BuildInfo (i=2260); both whole.
    for frame in [15, 17] {
        for (k, v) in BUILD {
            want.push((frame, k, Side::Server, v.to_string()));
        }
    }
    // Frame 19: State (i=2259, not BuildInfo), ProductName, ManufacturerName, SoftwareVersion,
    // BuildNumber, ProductUri, by position.
    for i in [2, 1, 3, 4, 0] {
        let (k, v) = BUILD[i];
        want.push((19, k, Side::Server, v.to_string()));
    }
    assert_eq!(build, want);
}

#[test]
fn application_facts_are_unchanged() {
    let facts = run(&capture());
    let has = |k: FactKind, side: Side, v: &str| {
        facts
            .iter()
            .any(|(_, fk, s, fv)| *fk == k && *s == side && fv == v)
    };
    assert!(has(
        FactKind::OpcuaApplicationUri,
        Side::Server,
        "urn:edgetap:buildinfo:server"
    ));
    assert!(has(
        FactKind::OpcuaApplicationUri,
        Side::Client,
        "urn:edgetap:buildinfo:client"
    ));
    assert!(has(
        FactKind::OpcuaApplicationName,
        Side::Server,
        "edgetap buildinfo server"
    ));
}

/// Without the requests (a capture that starts after them), the responses alone give nothing:
/// the values are only known to be BuildInfo through the request's NodesToRead.
#[test]
fn responses_without_their_requests_give_no_build_facts() {
    let mut s = opcua::Session::default();
    let mut c = Collect::default();
    for (frame, dir, data) in payloads(&capture()) {
        if [14, 16, 18].contains(&frame) {
            continue;
        }
        s.parse(dir, &data, &mut c);
    }
    assert!(
        !c.facts
            .iter()
            .any(|(k, _, _)| BUILD.iter().any(|(b, _)| b == k)),
        "{:?}",
        c.facts
    );
}

/// The ReadResponses cut short (the message size rewritten to match, so the session decodes
/// what is there) or with one byte changed: never a panic, and a cut response gives facts only
/// from the values that are whole.
#[test]
fn cut_and_corrupted_responses() {
    let all = payloads(&capture());
    let is_build = |k: &FactKind| BUILD.iter().any(|(b, _)| b == k);
    for target in [15u64, 17, 19] {
        let before: Vec<_> = all.iter().filter(|(f, _, _)| *f < target).collect();
        let (_, dir, msg) = all.iter().find(|(f, _, _)| *f == target).unwrap();
        let fresh = || {
            let mut s = opcua::Session::default();
            let mut c = Collect::default();
            for (_, d, data) in &before {
                s.parse(*d, data, &mut c);
            }
            s
        };
        let mut last = 0;
        for cut in 8..msg.len() {
            let mut m = msg[..cut].to_vec();
            m[4..8].copy_from_slice(&(cut as u32).to_le_bytes());
            let mut s = fresh();
            let mut c = Collect::default();
            s.parse(*dir, &m, &mut c);
            let got = c.facts.iter().filter(|(k, _, _)| is_build(k)).count();
            if target == 19 {
                // Six Results, State first: one more fact per whole DataValue.
                assert!(got >= last && got <= 5, "frame 19 cut at {cut}: {got}");
                last = got;
            } else {
                // One ExtensionObject, all or nothing; only the DiagnosticInfos array's 4-byte
                // length follows it.
                let whole = cut >= msg.len() - 4;
                assert_eq!(
                    got,
                    if whole { 5 } else { 0 },
                    "frame {target} cut at {cut}"
                );
            }
        }
        assert_eq!(last, if target == 19 { 5 } else { 0 });
        for i in 8..msg.len() {
            for x in [0x00, 0xff, 0x80, 0x7f] {
                let mut m = msg.clone();
                m[i] = x;
                let mut s = fresh();
                s.parse(*dir, &m, &mut Collect::default());
            }
        }
    }
}
