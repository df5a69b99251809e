#![cfg(feature = "modbus")]
//! Modbus/TCP dissector: byte-array tests for every public function code, exceptions, MEI,
//! framing (several ADUs per segment, splits, gaps) and anomalies.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]

use edgetap_dissectors::modbus::{self, Session};
use edgetap_dissectors::{Collect, Direction, Dissector, FactKind, Probe, Side};
use serde_json::{json, Value};

const REQ: Direction = Direction::ToServer;
const RSP: Direction = Direction::ToClient;

/// An ADU: MBAP header (protocol id 0, length from the PDU) + unit + PDU.
fn adu(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = tid.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&u16::try_from(pdu.len() + 1).unwrap().to_be_bytes());
    v.push(unit);
    v.extend_from_slice(pdu);
    v
}

fn pdus(c: &Collect) -> Vec<Value> {
    c.pdus
        .iter()
        .map(|(_, s)| serde_json::from_str::<Value>(s).unwrap()["modbus"].clone())
        .collect()
}

fn events(c: &Collect) -> Vec<&'static str> {
    c.events.iter().map(|(_, e)| e.name).collect()
}

/// Feed one request and its response; return both decoded PDUs and the collector.
fn exchange(fc: u8, req: &[u8], rsp: &[u8]) -> (Value, Value, Collect) {
    let mut s = Session::default();
    let mut c = Collect::default();
    let mut q = vec![fc];
    q.extend_from_slice(req);
    let mut r = vec![fc];
    r.extend_from_slice(rsp);
    s.parse(REQ, &adu(7, 1, &q), &mut c);
    s.parse(RSP, &adu(7, 1, &r), &mut c);
    let p = pdus(&c);
    assert_eq!(p.len(), 2, "{:?}", c.pdus);
    (p[0].clone(), p[1].clone(), c)
}

/// Assert `v` has every key/value of `want`.
fn has(v: &Value, want: Value) {
    for (k, w) in want.as_object().unwrap() {
        assert_eq!(v.get(k), Some(w), "field {k} in {v}");
    }
}

fn no_anomaly(c: &Collect) {
    let ev = events(c);
    assert!(ev.is_empty(), "unexpected events {ev:?}");
}

#[test]
fn read_coils_and_discrete_inputs() {
    for fc in [1u8, 2] {
        let (q, r, c) = exchange(fc, &[0x00, 0x13, 0x00, 0x13], &[3, 0xcd, 0x6b, 0x05]);
        has(
            &q,
            json!({"transaction_id": 7, "unit_id": 1, "function_code": fc, "kind": "request", "address": 19, "quantity": 19}),
        );
        has(
            &r,
            json!({"kind": "response", "values": [0xcd, 0x6b, 0x05], "address": 19, "quantity": 19}),
        );
        assert!(r.get("exception_code").is_none());
        no_anomaly(&c);
    }
}

#[test]
fn read_holding_and_input_registers() {
    for fc in [3u8, 4] {
        let (q, r, c) = exchange(
            fc,
            &[0x00, 0x6b, 0x00, 0x03],
            &[6, 0x02, 0x2b, 0, 0, 0, 0x64],
        );
        has(
            &q,
            json!({"function_code": fc, "address": 107, "quantity": 3}),
        );
        has(
            &r,
            json!({"values": [555, 0, 100], "address": 107, "quantity": 3}),
        );
        no_anomaly(&c);
    }
}

#[test]
fn write_single_coil_and_register() {
    let (q, r, c) = exchange(5, &[0, 0xac, 0xff, 0], &[0, 0xac, 0xff, 0]);
    has(&q, json!({"address": 172, "value": 0xff00}));
    has(&r, json!({"address": 172, "value": 0xff00}));
    no_anomaly(&c);
    let (q, r, c) = exchange(6, &[0, 1, 0, 3], &[0, 1, 0, 3]);
    has(&q, json!({"address": 1, "value": 3}));
    has(&r, json!({"address": 1, "value": 3}));
    no_anomaly(&c);
}

#[test]
fn read_exception_status() {
    let (q, r, c) = exchange(7, &[], &[0x6d]);
    has(&q, json!({"function_code": 7, "kind": "request"}));
    has(&r, json!({"value": 0x6d}));
    no_anomaly(&c);
}

#[test]
fn diagnostics() {
    let (q, r, c) = exchange(8, &[0, 0, 0xa5, 0x37], &[0, 0, 0xa5, 0x37]);
    has(&q, json!({"sub_function": 0, "data": "a537"}));
    has(&r, json!({"sub_function": 0, "data": "a537"}));
    no_anomaly(&c);
}

#[test]
fn comm_event_counter_and_log() {
    let (_, r, c) = exchange(11, &[], &[0xff, 0xff, 0x01, 0x08]);
    has(&r, json!({"status": 0xffff, "event_count": 264}));
    no_anomaly(&c);
    let (_, r, c) = exchange(12, &[], &[8, 0, 0, 1, 8, 1, 0x21, 0x20, 0]);
    has(
        &r,
        json!({"status": 0, "event_count": 264, "message_count": 289, "data": "2000"}),
    );
    no_anomaly(&c);
}

#[test]
fn write_multiple_coils_and_registers() {
    let (q, r, c) = exchange(15, &[0, 0x13, 0, 0x0a, 2, 0xcd, 0x01], &[0, 0x13, 0, 0x0a]);
    has(
        &q,
        json!({"address": 19, "quantity": 10, "values": [0xcd, 1]}),
    );
    has(&r, json!({"address": 19, "quantity": 10}));
    no_anomaly(&c);
    let (q, r, c) = exchange(16, &[0, 1, 0, 2, 4, 0, 0x0a, 1, 2], &[0, 1, 0, 2]);
    has(
        &q,
        json!({"address": 1, "quantity": 2, "values": [10, 258]}),
    );
    has(&r, json!({"address": 1, "quantity": 2}));
    no_anomaly(&c);
}

#[test]
fn report_server_id() {
    let (_, r, c) = exchange(17, &[], &[3, 0x42, 0xff, 0x01]);
    has(&r, json!({"data": "42ff01"}));
    no_anomaly(&c);
}

#[test]
fn file_records() {
    let (q, r, c) = exchange(
        20,
        &[14, 6, 0, 4, 0, 1, 0, 2, 6, 0, 3, 0, 9, 0, 2],
        &[12, 5, 6, 0x0d, 0xfe, 0, 0x20, 5, 6, 0x33, 0xcd, 0, 0x40],
    );
    has(
        &q,
        json!({"records": [{"file": 4, "record": 1, "length": 2}, {"file": 3, "record": 9, "length": 2}]}),
    );
    has(
        &r,
        json!({"records": [{"values": [0x0dfe, 0x20]}, {"values": [0x33cd, 0x40]}]}),
    );
    no_anomaly(&c);
    let w = [13, 6, 0, 4, 0, 7, 0, 3, 0x06, 0xaf, 0x04, 0xbe, 0x10, 0x0d];
    let (q, r, c) = exchange(21, &w, &w);
    let rec = json!([{"file": 4, "record": 7, "length": 3, "values": [0x06af, 0x04be, 0x100d]}]);
    has(&q, json!({"records": rec}));
    has(&r, json!({"records": rec}));
    no_anomaly(&c);
}

#[test]
fn mask_write_and_read_write_and_fifo() {
    let (q, r, c) = exchange(22, &[0, 4, 0, 0xf2, 0, 0x25], &[0, 4, 0, 0xf2, 0, 0x25]);
    has(&q, json!({"address": 4, "and_mask": 0xf2, "or_mask": 0x25}));
    has(&r, json!({"address": 4, "and_mask": 0xf2, "or_mask": 0x25}));
    no_anomaly(&c);
    let (q, r, c) = exchange(
        23,
        &[0, 3, 0, 2, 0, 0x0e, 0, 1, 2, 0, 0xff],
        &[4, 0, 0xfe, 0x0a, 0xcd],
    );
    has(
        &q,
        json!({"address": 3, "quantity": 2, "write_address": 14, "write_quantity": 1, "values": [255]}),
    );
    has(
        &r,
        json!({"values": [254, 0x0acd], "address": 3, "quantity": 2}),
    );
    no_anomaly(&c);
    let (q, r, c) = exchange(24, &[0x04, 0xde], &[0, 6, 0, 2, 0x01, 0xb8, 0x12, 0x84]);
    has(&q, json!({"address": 0x04de}));
    has(&r, json!({"quantity": 2, "values": [0x01b8, 0x1284]}));
    no_anomaly(&c);
}

/// An FC 43/14 response body (after the function code).
fn device_id_response(objects: &[(u8, &[u8])], more: u8, next: u8) -> Vec<u8> {
    let mut v = vec![
        14,
        1,
        0x81,
        more,
        next,
        u8::try_from(objects.len()).unwrap(),
    ];
    for (id, val) in objects {
        v.push(*id);
        v.push(u8::try_from(val.len()).unwrap());
        v.extend_from_slice(val);
    }
    v
}

#[test]
fn read_device_identification() {
    let body = device_id_response(
        &[
            (0, b"Schneider Electric"),
            (1, b"BMX P34 2020"),
            (2, b"v2.6"),
            (3, b"www.se.com"),
            (4, b"Modicon M340"),
            (5, b"BMXP342020"),
            (6, b"pump station"),
            (0x80, &[0xff, 0x00]),
        ],
        0,
        0,
    );
    let (q, r, c) = exchange(43, &[14, 1, 0], &body);
    has(
        &q,
        json!({"function_code": 43, "mei_type": 14, "read_device_id_code": 1, "object_id": 0}),
    );
    has(
        &r,
        json!({"mei_type": 14, "read_device_id_code": 1, "conformity_level": 0x81,
               "more_follows": false, "next_object_id": 0}),
    );
    let objs = r["objects"].as_array().unwrap();
    assert_eq!(objs.len(), 8);
    assert_eq!(objs[0], json!({"id": 0, "value": "Schneider Electric"}));
    assert_eq!(objs[6], json!({"id": 6, "value": "pump station"}));
    assert_eq!(
        objs[7],
        json!({"id": 128, "value": [255, 0]}),
        "not UTF-8: bytes"
    );
    no_anomaly(&c);
    let facts: Vec<_> = c
        .facts
        .iter()
        .map(|(k, s, v)| (*k, *s, v.as_str()))
        .collect();
    assert_eq!(
        facts,
        vec![
            (FactKind::ModbusUnitId, Side::Server, "1"),
            (FactKind::ModbusVendor, Side::Server, "Schneider Electric"),
            (FactKind::ModbusProductCode, Side::Server, "BMX P34 2020"),
            (FactKind::ModbusRevision, Side::Server, "v2.6"),
            (FactKind::ModbusVendorUrl, Side::Server, "www.se.com"),
            (FactKind::ModbusProductName, Side::Server, "Modicon M340"),
            (FactKind::ModbusModelName, Side::Server, "BMXP342020"),
        ]
    );
}

#[test]
fn read_device_identification_more_follows_and_truncated() {
    let body = device_id_response(&[(0, b"ACME")], 0xff, 1);
    let (_, r, c) = exchange(43, &[14, 1, 0], &body);
    has(&r, json!({"more_follows": true, "next_object_id": 1}));
    no_anomaly(&c);
    // Says 3 objects, carries 1 and a half: the whole one is kept, the PDU flagged.
    let mut body = device_id_response(&[(0, b"ACME"), (1, b"X")], 0, 0);
    body[5] = 3;
    body.pop();
    let (_, r, c) = exchange(43, &[14, 1, 0], &body);
    assert_eq!(r["objects"], json!([{"id": 0, "value": "ACME"}]));
    assert_eq!(r["malformed"], json!(true));
    assert!(events(&c).contains(&"modbus.bad_length"));
}

#[test]
fn canopen_mei() {
    let (q, r, c) = exchange(43, &[13, 1, 2, 3], &[13, 4, 5]);
    has(&q, json!({"mei_type": 13, "data": "010203"}));
    has(&r, json!({"mei_type": 13, "data": "0405"}));
    no_anomaly(&c);
}

#[test]
fn exception_responses() {
    let mut s = Session::default();
    let mut c = Collect::default();
    s.parse(REQ, &adu(9, 1, &[3, 0, 0, 0, 1]), &mut c);
    s.parse(RSP, &adu(9, 1, &[0x83, 2]), &mut c);
    s.parse(REQ, &adu(10, 2, &[0x41]), &mut c);
    s.parse(RSP, &adu(10, 2, &[0xc1, 1]), &mut c);
    let p = pdus(&c);
    has(
        &p[1],
        json!({"transaction_id": 9, "function_code": 3, "kind": "exception", "exception_code": 2}),
    );
    assert!(p[1].get("values").is_none());
    has(
        &p[3],
        json!({"function_code": 0x41, "kind": "exception", "exception_code": 1}),
    );
    assert_eq!(
        events(&c),
        vec!["modbus.exception_response", "modbus.exception_response"]
    );
}

#[test]
fn unknown_function_codes_carry_only_the_code() {
    let mut s = Session::default();
    let mut c = Collect::default();
    s.parse(REQ, &adu(1, 0, &[90, 0, 2, 1, 2, 3]), &mut c); // Schneider UMAS
    s.parse(RSP, &adu(1, 0, &[90, 0, 0xfe, 9]), &mut c);
    s.parse(REQ, &adu(2, 0, &[0x37, 1, 2]), &mut c);
    let p = pdus(&c);
    assert_eq!(
        p[0],
        json!({"transaction_id": 1, "unit_id": 0, "function_code": 90, "kind": "request", "length": 7})
    );
    assert_eq!(p[1]["kind"], json!("response"));
    assert_eq!(p[2]["function_code"], json!(0x37));
    assert_eq!(events(&c), vec!["modbus.unknown_function_code"]);
}

#[test]
fn several_adus_in_one_segment() {
    let mut stream = adu(1, 1, &[3, 0, 0, 0, 1]);
    stream.extend(adu(2, 1, &[3, 0, 1, 0, 1]));
    stream.extend(adu(3, 2, &[1, 0, 0, 0, 8]));
    let mut s = Session::default();
    let mut c = Collect::default();
    s.parse(REQ, &stream, &mut c);
    let tids: Vec<_> = pdus(&c)
        .iter()
        .map(|p| p["transaction_id"].clone())
        .collect();
    assert_eq!(tids, vec![json!(1), json!(2), json!(3)]);
}

#[test]
fn split_at_every_byte_gives_the_same_pdus() {
    let mut stream = adu(1, 1, &[16, 0, 1, 0, 2, 4, 0, 0x0a, 1, 2]);
    stream.extend(adu(2, 1, &[43, 14, 1, 0]));
    let mut whole = Collect::default();
    Session::default().parse(REQ, &stream, &mut whole);
    assert_eq!(whole.pdus.len(), 2);
    for cut in 0..=stream.len() {
        let mut s = Session::default();
        let mut c = Collect::default();
        s.parse(REQ, &stream[..cut], &mut c);
        s.parse(REQ, &stream[cut..], &mut c);
        assert_eq!(c.pdus, whole.pdus, "cut at {cut}");
        assert_eq!(c.events, whole.events, "cut at {cut}");
    }
}

#[test]
fn gap_then_resync() {
    let mut s = Session::default();
    let mut c = Collect::default();
    let a = adu(1, 1, &[3, 0, 0, 0, 10]);
    s.parse(REQ, &a[..5], &mut c);
    s.on_gap(REQ, 100, &mut c);
    s.parse(REQ, &a[5..], &mut c); // the tail of a lost ADU: dropped
    s.parse(REQ, b"\x12\x34garbage", &mut c); // not a header: dropped
    s.parse(REQ, &adu(2, 1, &[3, 0, 0, 0, 10]), &mut c);
    let p = pdus(&c);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["transaction_id"], json!(2));
    assert_eq!(events(&c), vec!["modbus.gap"]);
}

#[test]
fn bad_protocol_id_and_bad_length() {
    let mut s = Session::default();
    let mut c = Collect::default();
    let mut bad = adu(1, 1, &[3, 0, 0, 0, 1]);
    bad[3] = 1; // protocol id 1
    s.parse(REQ, &bad, &mut c);
    assert_eq!(events(&c), vec!["modbus.bad_protocol_id"]);
    assert!(c.pdus.is_empty());
    // resynchronises on the next segment that starts with a good header
    s.parse(REQ, &adu(2, 1, &[3, 0, 0, 0, 1]), &mut c);
    assert_eq!(c.pdus.len(), 1);

    let mut c = Collect::default();
    s.parse(REQ, &[0, 3, 0, 0, 0, 1, 1, 3], &mut c); // length 1
    assert_eq!(events(&c), vec!["modbus.bad_length"]);

    // A body that does not fit its function code: reported, flagged, parsing goes on.
    let mut s = Session::default();
    let mut c = Collect::default();
    s.parse(REQ, &adu(4, 1, &[3, 0, 0]), &mut c);
    s.parse(REQ, &adu(5, 1, &[6, 0, 0, 0, 1, 9]), &mut c);
    s.parse(REQ, &adu(6, 1, &[3, 0, 0, 0, 1]), &mut c);
    let p = pdus(&c);
    assert_eq!(p.len(), 3);
    assert_eq!(p[0]["malformed"], json!(true));
    assert_eq!(p[1]["malformed"], json!(true));
    assert!(p[2].get("malformed").is_none());
    assert_eq!(events(&c), vec!["modbus.bad_length", "modbus.bad_length"]);
}

#[test]
fn length_above_254_is_framed_with_an_event() {
    // Schneider UMAS answers with length 255, which Wireshark frames too.
    let mut body = vec![90u8, 0, 0xfe];
    body.resize(254, 0x11);
    let mut s = Session::default();
    let mut c = Collect::default();
    let a = adu(5, 0, &body);
    assert_eq!(&a[4..6], &[0, 255]);
    s.parse(RSP, &a, &mut c);
    assert_eq!(pdus(&c)[0]["length"], json!(255));
    assert_eq!(
        events(&c),
        vec!["modbus.bad_length", "modbus.response_without_request"]
    );
}

#[test]
fn pairing_by_transaction_id() {
    let mut s = Session::default();
    let mut c = Collect::default();
    s.parse(REQ, &adu(1, 1, &[3, 0, 10, 0, 1]), &mut c);
    s.parse(REQ, &adu(2, 1, &[4, 0, 20, 0, 1]), &mut c);
    s.parse(RSP, &adu(2, 1, &[4, 2, 0, 5]), &mut c);
    s.parse(RSP, &adu(1, 1, &[3, 2, 0, 6]), &mut c);
    s.parse(RSP, &adu(1, 1, &[3, 2, 0, 6]), &mut c); // answered already
    s.parse(REQ, &adu(3, 1, &[3, 0, 10, 0, 1]), &mut c);
    s.parse(RSP, &adu(3, 1, &[4, 2, 0, 6]), &mut c); // wrong function code
    let p = pdus(&c);
    has(&p[2], json!({"address": 20, "values": [5]}));
    has(&p[3], json!({"address": 10, "values": [6]}));
    assert!(p[4].get("address").is_none());
    assert_eq!(
        events(&c),
        vec![
            "modbus.response_without_request",
            "modbus.response_mismatch"
        ]
    );
    // The unit id is reported once per flow.
    assert_eq!(c.facts.len(), 1);
}

#[test]
fn outstanding_requests_are_bounded() {
    let mut s = Session::default();
    let mut c = Collect::default();
    let n = u16::try_from(modbus::MAX_OUTSTANDING).unwrap();
    for tid in 0..=n {
        s.parse(REQ, &adu(tid, 1, &[3, 0, 0, 0, 1]), &mut c);
    }
    assert_eq!(events(&c), vec!["modbus.too_many_outstanding"]);
    s.parse(RSP, &adu(0, 1, &[3, 2, 0, 1]), &mut c); // the oldest was evicted
    s.parse(RSP, &adu(n, 1, &[3, 2, 0, 1]), &mut c);
    assert_eq!(
        events(&c),
        vec![
            "modbus.too_many_outstanding",
            "modbus.response_without_request"
        ]
    );
}

#[test]
fn gateway_exceptions_do_not_claim_the_unit() {
    let mut s = Session::default();
    let mut c = Collect::default();
    s.parse(REQ, &adu(1, 7, &[3, 0, 0, 0, 1]), &mut c);
    s.parse(RSP, &adu(1, 7, &[0x83, 0x0b]), &mut c);
    assert!(c.facts.is_empty());
}

#[test]
fn probe_verdicts() {
    let ok = adu(1, 1, &[3, 0, 0, 0, 1]);
    assert_eq!(modbus::probe(REQ, &ok), Probe::Yes);
    assert_eq!(modbus::probe(REQ, &ok[..7]), Probe::NeedMore);
    assert_eq!(
        modbus::probe(REQ, b"GET /index.html HTTP/1.1\r\n\r\n"),
        Probe::No
    );
    assert_eq!(modbus::probe(REQ, b"HTTP/1.1 200 OK\r\n"), Probe::No);
    let client_hello = [
        0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03,
    ];
    assert_eq!(modbus::probe(REQ, &client_hello), Probe::No);
    assert_eq!(modbus::probe(REQ, b"SSH-2.0-OpenSSH_9.2\r\n"), Probe::No);
    assert_eq!(modbus::probe(REQ, &[0; 12]), Probe::No);
}

#[test]
fn non_modbus_bytes_yield_nothing_after_resync_fails() {
    let mut s = Session::default();
    let mut c = Collect::default();
    s.parse(REQ, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &mut c);
    s.parse(REQ, b"more text that is not modbus", &mut c);
    assert!(c.pdus.is_empty());
    assert_eq!(events(&c), vec!["modbus.bad_protocol_id"]);
}
