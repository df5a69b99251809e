//! OPC UA dissector on synthetic streams: each message type, splits, chunking, security,
//! malformed input, and a proptest harness over arbitrary bytes and segmentations.
#![cfg(feature = "opcua")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use edgetap_dissectors::{opcua, Collect, Direction, Dissector, FactKind, Probe, Side};
use proptest::prelude::*;
use serde_json::Value;

const TO_S: Direction = Direction::ToServer;
const TO_C: Direction = Direction::ToClient;
const NONE: &str = "http://opcfoundation.org/UA/SecurityPolicy#None";
const B256: &str = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";

// ---- encoders ----------------------------------------------------------------------------

fn s(out: &mut Vec<u8>, v: &str) {
    out.extend_from_slice(&(v.len() as i32).to_le_bytes());
    out.extend_from_slice(v.as_bytes());
}
fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i32).to_le_bytes());
}
fn u32le(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn type_id(out: &mut Vec<u8>, id: u16) {
    out.push(0x01);
    out.push(0);
    out.extend_from_slice(&id.to_le_bytes());
}
fn request_header(out: &mut Vec<u8>, handle: u32) {
    out.extend_from_slice(&[0x00, 0x00]); // auth token
    out.extend_from_slice(&0i64.to_le_bytes());
    u32le(out, handle);
    u32le(out, 0);
    null(out);
    u32le(out, 5000);
    out.extend_from_slice(&[0, 0, 0]);
}
fn response_header(out: &mut Vec<u8>, handle: u32, status: u32) {
    out.extend_from_slice(&0i64.to_le_bytes());
    u32le(out, handle);
    u32le(out, status);
    out.push(0);
    null(out);
    out.extend_from_slice(&[0, 0, 0]);
}
fn frame(ty: &[u8; 3], chunk: u8, rest: &[u8]) -> Vec<u8> {
    let mut m = ty.to_vec();
    m.push(chunk);
    u32le(&mut m, (8 + rest.len()) as u32);
    m.extend_from_slice(rest);
    m
}
fn hel(url: &str) -> Vec<u8> {
    let mut r = vec![];
    for v in [0, 65536, 65536, 0, 0] {
        u32le(&mut r, v);
    }
    s(&mut r, url);
    frame(b"HEL", b'F', &r)
}
fn ack() -> Vec<u8> {
    let mut r = vec![];
    for v in [0, 8192, 8192, 1 << 24, 64] {
        u32le(&mut r, v);
    }
    frame(b"ACK", b'F', &r)
}
fn symmetric(ty: &[u8; 3], chunk: u8, scid: u32, seq: u32, req: u32, body: &[u8]) -> Vec<u8> {
    let mut r = vec![];
    u32le(&mut r, scid);
    u32le(&mut r, 1); // token
    u32le(&mut r, seq);
    u32le(&mut r, req);
    r.extend_from_slice(body);
    frame(ty, chunk, &r)
}
fn opn(scid: u32, policy: &str, body: &[u8]) -> Vec<u8> {
    let mut r = vec![];
    u32le(&mut r, scid);
    s(&mut r, policy);
    null(&mut r);
    null(&mut r);
    u32le(&mut r, 1);
    u32le(&mut r, 1);
    r.extend_from_slice(body);
    frame(b"OPN", b'F', &r)
}
fn opn_request() -> Vec<u8> {
    let mut b = vec![];
    type_id(&mut b, 446);
    request_header(&mut b, 0);
    u32le(&mut b, 0); // protocol version
    u32le(&mut b, 0); // issue
    u32le(&mut b, 1); // mode None
    null(&mut b);
    u32le(&mut b, 600_000);
    opn(0, NONE, &b)
}
fn opn_response(scid: u32) -> Vec<u8> {
    let mut b = vec![];
    type_id(&mut b, 449);
    response_header(&mut b, 0, 0);
    u32le(&mut b, 0);
    u32le(&mut b, scid);
    u32le(&mut b, 7); // token
    b.extend_from_slice(&0i64.to_le_bytes());
    u32le(&mut b, 600_000);
    null(&mut b);
    opn(scid, NONE, &b)
}
fn read_request_body(handle: u32, nodes: u32) -> Vec<u8> {
    let mut b = vec![];
    type_id(&mut b, 631);
    request_header(&mut b, handle);
    b.extend_from_slice(&0f64.to_le_bytes());
    u32le(&mut b, 2);
    u32le(&mut b, nodes);
    for i in 0..nodes {
        b.extend_from_slice(&[0x01, 0x02]);
        b.extend_from_slice(&(5 + i as u16).to_le_bytes()); // ns=2;i=5..
        u32le(&mut b, 13);
        null(&mut b);
        b.extend_from_slice(&[0, 0]);
        null(&mut b);
    }
    b
}
fn read_request(scid: u32, seq: u32, handle: u32) -> Vec<u8> {
    symmetric(b"MSG", b'F', scid, seq, seq, &read_request_body(handle, 2))
}
fn fault(scid: u32, seq: u32, status: u32) -> Vec<u8> {
    let mut b = vec![];
    type_id(&mut b, 397);
    response_header(&mut b, 9, status);
    symmetric(b"MSG", b'F', scid, seq, seq, &b)
}
fn clo(scid: u32, seq: u32) -> Vec<u8> {
    let mut b = vec![];
    type_id(&mut b, 452);
    request_header(&mut b, 0);
    symmetric(b"CLO", b'F', scid, seq, seq, &b)
}

// ---- helpers -----------------------------------------------------------------------------

fn feed(parts: &[(Direction, &[u8])]) -> Collect {
    let mut sess = opcua::Session::default();
    let mut c = Collect::default();
    for (d, b) in parts {
        sess.parse(*d, b, &mut c);
    }
    c
}
fn pdus(c: &Collect) -> Vec<Value> {
    c.pdus
        .iter()
        .map(|(_, p)| serde_json::from_str::<Value>(p).unwrap()["opcua"].clone())
        .collect()
}
fn events(c: &Collect) -> Vec<&'static str> {
    c.events.iter().map(|(_, e)| e.name).collect()
}
fn client_stream() -> Vec<u8> {
    [
        hel("opc.tcp://plc:4840"),
        opn_request(),
        read_request(5, 2, 1),
        clo(5, 3),
    ]
    .concat()
}

// ---- unit tests --------------------------------------------------------------------------

#[test]
fn hello_acknowledge_error_reverse_hello() {
    let mut err = vec![];
    u32le(&mut err, 0x8080_0000);
    s(&mut err, "too large");
    let mut rhe = vec![];
    s(&mut rhe, "urn:server");
    s(&mut rhe, "opc.tcp://srv:4840");
    let c = feed(&[
        (TO_S, &hel("opc.tcp://plc:4840/x")),
        (TO_C, &ack()),
        (TO_C, &frame(b"ERR", b'F', &err)),
        (TO_C, &frame(b"RHE", b'F', &rhe)),
    ]);
    let p = pdus(&c);
    assert_eq!(p[0]["message_type"], "HEL");
    assert_eq!(p[0]["endpoint_url"], "opc.tcp://plc:4840/x");
    assert_eq!(p[0]["receive_buffer_size"], 65536);
    assert!(p[0].get("secure_channel_id").is_none());
    assert_eq!(p[1]["message_type"], "ACK");
    assert_eq!(p[1]["max_message_size"], 1 << 24);
    assert_eq!(p[1]["max_chunk_count"], 64);
    assert_eq!(p[2]["message_type"], "ERR");
    assert_eq!(p[2]["status_code"], 0x8080_0000u32);
    assert_eq!(p[2]["error"], "BadTcpMessageTooLarge");
    assert_eq!(p[2]["reason"], "too large");
    assert_eq!(p[3]["message_type"], "RHE");
    assert_eq!(p[3]["server_uri"], "urn:server");
    assert_eq!(
        events(&c),
        vec!["opcua.err_message", "opcua.bad_service_result"]
    );
}

#[test]
fn open_secure_channel_none() {
    let c = feed(&[(TO_S, &opn_request()), (TO_C, &opn_response(5))]);
    let p = pdus(&c);
    assert_eq!(p[0]["message_type"], "OPN");
    assert_eq!(p[0]["secure_channel_id"], 0);
    assert_eq!(p[0]["service_type_id"], 446);
    assert_eq!(p[0]["security_policy_uri"], NONE);
    assert_eq!(p[0]["request_type"], "Issue");
    assert_eq!(p[0]["security_mode"], "None");
    assert_eq!(p[0]["token_lifetime"], 600_000);
    assert_eq!(p[0]["certificate_len"], 0);
    assert_eq!(p[1]["secure_channel_id"], 5);
    assert_eq!(p[1]["service_type_id"], 449);
    assert_eq!(p[1]["token_id"], 7);
    assert_eq!(p[1]["service_result"], 0);
    assert!(c.events.is_empty());
}

#[test]
fn message_and_close() {
    let c = feed(&[(TO_S, &read_request(5, 2, 42)), (TO_S, &clo(5, 3))]);
    let p = pdus(&c);
    assert_eq!(p[0]["message_type"], "MSG");
    assert_eq!(p[0]["chunk_type"], "F");
    assert_eq!(p[0]["secure_channel_id"], 5);
    assert_eq!(p[0]["token_id"], 1);
    assert_eq!(p[0]["sequence_number"], 2);
    assert_eq!(p[0]["request_id"], 2);
    assert_eq!(p[0]["service_type_id"], 631);
    assert_eq!(p[0]["service"], "ReadRequest");
    assert_eq!(p[0]["request_handle"], 42);
    assert_eq!(p[0]["timeout_hint"], 5000);
    assert_eq!(p[0]["item_count"], 2);
    assert_eq!(p[0]["node_id"], "ns=2;i=5");
    assert_eq!(p[0]["attribute_id"], 13);
    assert_eq!(p[1]["message_type"], "CLO");
    assert_eq!(p[1]["service_type_id"], 452);
    assert!(c.events.is_empty());
}

#[test]
fn split_at_every_byte_gives_the_same_pdus() {
    let stream = client_stream();
    let whole = feed(&[(TO_S, &stream)]);
    assert_eq!(whole.pdus.len(), 4);
    for cut in 0..=stream.len() {
        let c = feed(&[(TO_S, &stream[..cut]), (TO_S, &stream[cut..])]);
        assert_eq!(c.pdus, whole.pdus, "cut at {cut}");
        assert!(c.events.is_empty());
    }
    let bytewise: Vec<(Direction, &[u8])> = stream.chunks(1).map(|b| (TO_S, b)).collect();
    assert_eq!(feed(&bytewise).pdus, whole.pdus);
}

#[test]
fn several_messages_per_call() {
    let two = [
        read_request(5, 2, 1),
        read_request(5, 3, 2),
        fault(5, 4, 0x8034_0000),
    ]
    .concat();
    let c = feed(&[(TO_S, &two)]);
    let p = pdus(&c);
    assert_eq!(p.len(), 3);
    assert_eq!(p[1]["request_handle"], 2);
    assert_eq!(p[2]["service_type_id"], 397);
    assert_eq!(p[2]["service_result_name"], "BadNodeIdUnknown");
}

#[test]
fn multi_chunk_message_is_reassembled() {
    let body = read_request_body(77, 40);
    let (a, rest) = body.split_at(10);
    let (b, c3) = rest.split_at(300);
    let stream = [
        symmetric(b"MSG", b'C', 5, 10, 9, a),
        symmetric(b"MSG", b'C', 5, 11, 9, b),
        symmetric(b"MSG", b'F', 5, 12, 9, c3),
    ]
    .concat();
    for cut in [0, 5, 30, 40, 100, stream.len()] {
        let c = feed(&[(TO_S, &stream[..cut]), (TO_S, &stream[cut..])]);
        let p = pdus(&c);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0]["chunk_type"], "C");
        assert!(p[0].get("service_type_id").is_none());
        assert!(p[1].get("service_type_id").is_none());
        assert_eq!(p[2]["chunk_type"], "F");
        assert_eq!(p[2]["chunk_count"], 3);
        assert_eq!(p[2]["service_type_id"], 631);
        assert_eq!(p[2]["request_handle"], 77);
        assert_eq!(p[2]["item_count"], 40);
        assert!(c.events.is_empty(), "{:?}", c.events);
    }
}

#[test]
fn abort_drops_the_chunks() {
    let body = read_request_body(77, 3);
    let mut abort = vec![];
    u32le(&mut abort, 0x8080_0000);
    s(&mut abort, "too big");
    let stream = [
        symmetric(b"MSG", b'C', 5, 10, 9, &body[..20]),
        symmetric(b"MSG", b'A', 5, 11, 9, &abort),
        read_request(5, 12, 3),
    ]
    .concat();
    let c = feed(&[(TO_S, &stream)]);
    let p = pdus(&c);
    assert_eq!(p[1]["chunk_type"], "A");
    assert_eq!(p[1]["status_code"], 0x8080_0000u32);
    assert_eq!(p[1]["reason"], "too big");
    assert_eq!(p[2]["service_type_id"], 631);
    assert!(p[2].get("chunk_count").is_none());
    assert_eq!(events(&c), vec!["opcua.chunk_abort"]);
}

#[test]
fn chunk_limit_is_enforced() {
    let mut parts = vec![];
    for i in 0..(opcua::MAX_CHUNKS + 10) {
        parts.push(symmetric(b"MSG", b'C', 5, i, 9, &[0u8; 16]));
    }
    parts.push(symmetric(b"MSG", b'F', 5, 999, 9, &[0u8; 16]));
    let stream = parts.concat();
    let c = feed(&[(TO_S, &stream)]);
    assert_eq!(c.pdus.len() as u32, opcua::MAX_CHUNKS + 11);
    assert_eq!(events(&c), vec!["opcua.chunk_limit_exceeded"]);
    let last = pdus(&c).pop().unwrap();
    assert!(last.get("service_type_id").is_none());
}

#[test]
fn encrypted_channel_reports_metadata_only() {
    let mut opn_body = vec![0xAA; 200];
    opn_body[0] = 0x37;
    let secured_opn = opn(0, B256, &opn_body);
    let noise: Vec<u8> = (0..96u32).map(|i| (i * 37 + 11) as u8).collect();
    let m1 = symmetric(b"MSG", b'F', 8, 0xdead, 0xbeef, &noise);
    let m2 = symmetric(b"MSG", b'F', 8, 0xfeed, 0xf00d, &noise);
    let c = feed(&[(TO_S, &secured_opn), (TO_S, &m1), (TO_C, &m2)]);
    let p = pdus(&c);
    assert_eq!(p[0]["encrypted"], true);
    assert_eq!(p[0]["security_policy_uri"], B256);
    assert!(p[0].get("service_type_id").is_none());
    for m in &p[1..] {
        assert_eq!(m["encrypted"], true);
        assert_eq!(m["secure_channel_id"], 8);
        assert_eq!(m["token_id"], 1);
        assert!(m.get("service_type_id").is_none());
        assert!(m.get("sequence_number").is_none());
    }
    assert_eq!(events(&c), vec!["opcua.encrypted_channel"]);
}

#[test]
fn signed_only_channel_is_readable() {
    let secured_opn = opn(0, B256, &[0x55; 64]);
    let c = feed(&[(TO_S, &secured_opn), (TO_S, &read_request(8, 2, 4))]);
    let p = pdus(&c);
    assert_eq!(p[0]["encrypted"], true);
    assert!(p[1].get("encrypted").is_none());
    assert_eq!(p[1]["service_type_id"], 631);
    assert!(c.events.is_empty());
}

#[test]
fn sessions_identity_and_faults() {
    // CreateSession request with a client description.
    let mut b = vec![];
    type_id(&mut b, 461);
    request_header(&mut b, 1);
    s(&mut b, "urn:acme:hmi");
    s(&mut b, "urn:acme:product");
    b.push(0x02);
    s(&mut b, "ACME HMI");
    u32le(&mut b, 1);
    null(&mut b);
    null(&mut b);
    u32le(&mut b, 0);
    null(&mut b);
    s(&mut b, "opc.tcp://plc:4840");
    s(&mut b, "session-1");
    null(&mut b);
    null(&mut b);
    b.extend_from_slice(&60000f64.to_le_bytes());
    u32le(&mut b, 0);
    let create = symmetric(b"MSG", b'F', 5, 2, 2, &b);
    // ActivateSession with a user name token.
    let mut b = vec![];
    type_id(&mut b, 467);
    request_header(&mut b, 2);
    null(&mut b);
    null(&mut b);
    u32le(&mut b, 0);
    u32le(&mut b, 0);
    let mut tok = vec![];
    s(&mut tok, "username_policy");
    s(&mut tok, "operator");
    s(&mut tok, "hunter2");
    null(&mut tok);
    type_id(&mut b, 324);
    b.push(1);
    b.extend_from_slice(&(tok.len() as i32).to_le_bytes());
    b.extend_from_slice(&tok);
    null(&mut b);
    null(&mut b);
    let activate = symmetric(b"MSG", b'F', 5, 3, 3, &b);
    let c = feed(&[
        (TO_S, &create),
        (TO_S, &activate),
        (TO_C, &fault(5, 3, 0x801F_0000)),
        (TO_C, &fault(5, 4, 0x8013_0000)),
    ]);
    let p = pdus(&c);
    assert_eq!(p[0]["application_uri"], "urn:acme:hmi");
    assert_eq!(p[0]["application_name"], "ACME HMI");
    assert_eq!(p[0]["application_type"], "Client");
    assert_eq!(p[0]["session_name"], "session-1");
    assert_eq!(p[0]["endpoint_url"], "opc.tcp://plc:4840");
    assert_eq!(p[1]["identity_token"], "username");
    assert_eq!(p[1]["user_name"], "operator");
    assert!(!c.pdus[1].1.contains("hunter2"));
    assert_eq!(p[2]["service_result_name"], "BadUserAccessDenied");
    assert_eq!(
        events(&c),
        vec!["opcua.auth_failure", "opcua.security_checks_failed"]
    );
    assert!(c.facts.contains(&(
        FactKind::OpcuaApplicationUri,
        Side::Client,
        "urn:acme:hmi".into()
    )));
    assert!(c.facts.contains(&(
        FactKind::OpcuaProductUri,
        Side::Client,
        "urn:acme:product".into()
    )));
    assert!(c.facts.contains(&(
        FactKind::OpcuaApplicationName,
        Side::Client,
        "ACME HMI".into()
    )));
}

#[test]
fn malformed_and_oversize_input() {
    // A MSG too short for its sequence header: reported, flagged, not fatal.
    let short = frame(b"MSG", b'F', &[5, 0, 0, 0, 1, 0]);
    let c = feed(&[(TO_S, &short), (TO_S, &read_request(5, 2, 1))]);
    let p = pdus(&c);
    assert_eq!(p[0]["message_type"], "MSG");
    assert_eq!(p[0]["secure_channel_id"], 5);
    assert_eq!(p[1]["service_type_id"], 631);
    assert_eq!(events(&c), vec!["opcua.malformed"]);

    // Garbage after a valid message loses sync; a later segment that starts a message resyncs.
    let c = feed(&[
        (TO_S, &read_request(5, 2, 1)),
        (TO_S, b"GET / HTTP/1.1\r\n\r\n"),
        (TO_S, &read_request(5, 3, 2)),
    ]);
    assert_eq!(c.pdus.len(), 2);
    assert_eq!(events(&c), vec!["opcua.malformed"]);

    // A message bigger than the framer's cap: reported from its start, then skipped.
    let big = symmetric(
        b"MSG",
        b'F',
        5,
        2,
        2,
        &[read_request_body(1, 1), vec![0; opcua::MAX_FRAME]].concat(),
    );
    let (head, tail) = big.split_at(1000);
    let c = feed(&[(TO_S, head), (TO_S, tail), (TO_S, &read_request(5, 3, 2))]);
    let p = pdus(&c);
    assert_eq!(p[0]["truncated"], true);
    assert_eq!(p[0]["service_type_id"], 631);
    assert_eq!(p[1]["request_handle"], 2);
    assert_eq!(events(&c), vec!["opcua.chunk_limit_exceeded"]);

    // Sizes below the header length do not frame.
    let c = feed(&[(TO_S, b"MSGF\x04\x00\x00\x00")]);
    assert!(c.pdus.is_empty());
}

#[test]
fn gap_resynchronises() {
    let m = read_request(5, 2, 1);
    let mut sess = opcua::Session::default();
    let mut c = Collect::default();
    sess.parse(TO_S, &m[..20], &mut c);
    sess.on_gap(TO_S, 100, &mut c);
    sess.parse(TO_S, &m[60..], &mut c); // the rest of the lost message: dropped
    sess.parse(TO_S, &read_request(5, 3, 9), &mut c);
    let p = pdus(&c);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["request_handle"], 9);
    assert_eq!(events(&c), vec!["opcua.gap"]);
}

#[test]
fn probe_verdicts() {
    let d = TO_S;
    assert_eq!(opcua::probe(d, &hel("opc.tcp://x")), Probe::Yes);
    assert_eq!(opcua::probe(d, &read_request(1, 1, 1)), Probe::Yes);
    assert_eq!(opcua::probe(d, &ack()), Probe::Yes);
    assert_eq!(opcua::probe(d, b"HELF"), Probe::NeedMore);
    assert_eq!(opcua::probe(d, b"HE"), Probe::NeedMore);
    assert_eq!(opcua::probe(d, b""), Probe::NeedMore);
    assert_eq!(opcua::probe(d, b"HELC\x20\x00\x00\x00"), Probe::No);
    assert_eq!(opcua::probe(d, b"HELF\x08\x00\x00\x00"), Probe::No);
    assert_eq!(opcua::probe(d, b"MSGF\x00\x00\x00\x40"), Probe::No);
    assert_eq!(opcua::probe(d, b"GET / HTTP/1.1\r\n"), Probe::No);
    assert_eq!(
        opcua::probe(d, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]),
        Probe::No
    );
    assert_eq!(
        opcua::probe(d, &[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5]),
        Probe::No
    );
}

// ---- property tests ----------------------------------------------------------------------

fn cuts(len: usize, raw: &[usize]) -> Vec<usize> {
    let mut c: Vec<usize> = raw.iter().map(|x| x % (len + 1)).collect();
    c.push(0);
    c.push(len);
    c.sort_unstable();
    c.dedup();
    c
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        segs in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..12),
        gap in any::<bool>(),
    ) {
        let mut sess = opcua::Session::default();
        let mut c = Collect::default();
        for (i, (to_server, bytes)) in segs.iter().enumerate() {
            let d = if *to_server { TO_S } else { TO_C };
            let _ = opcua::probe(d, bytes);
            sess.parse(d, bytes, &mut c);
            if gap && i == 1 {
                sess.on_gap(d, 7, &mut c);
            }
        }
        sess.on_eof(TO_S, &mut c);
    }

    #[test]
    fn valid_header_with_arbitrary_body_never_panics(
        ty in prop::sample::select(vec![*b"HEL", *b"ACK", *b"ERR", *b"RHE", *b"OPN", *b"MSG", *b"CLO"]),
        chunk in prop::sample::select(vec![b'F', b'C', b'A']),
        body in proptest::collection::vec(any::<u8>(), 0..400),
        secured in any::<bool>(),
    ) {
        let mut sess = opcua::Session::default();
        let mut c = Collect::default();
        if secured {
            sess.parse(TO_S, &opn(0, B256, &[1, 2, 3]), &mut c);
        }
        sess.parse(TO_S, &frame(&ty, chunk, &body), &mut c);
        // Mutated real messages too: a valid prefix with a fuzzed tail.
        let mut m = read_request(5, 2, 1);
        let keep = body.len() % m.len();
        m.truncate(keep.max(8));
        m.extend_from_slice(&body);
        let len = m.len() as u32;
        m[4..8].copy_from_slice(&len.to_le_bytes());
        sess.parse(TO_C, &m, &mut c);
    }

    #[test]
    fn any_segmentation_gives_the_same_pdus(raw in proptest::collection::vec(any::<usize>(), 0..8)) {
        let stream = [
            client_stream(),
            symmetric(b"MSG", b'C', 5, 10, 9, &read_request_body(3, 5)[..25]),
            symmetric(b"MSG", b'F', 5, 11, 9, &read_request_body(3, 5)[25..]),
        ].concat();
        let whole = feed(&[(TO_S, &stream)]);
        let cs = cuts(stream.len(), &raw);
        let parts: Vec<(Direction, &[u8])> = cs.windows(2).map(|w| (TO_S, &stream[w[0]..w[1]])).collect();
        let c = feed(&parts);
        prop_assert_eq!(&c.pdus, &whole.pdus);
        prop_assert_eq!(c.events.len(), 0);
    }
}
