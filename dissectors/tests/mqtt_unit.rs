//! Unit tests per packet type (3.1, 3.1.1, 5.0), framing, events, facts and probe.
#![cfg(feature = "mqtt")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use edgetap_dissectors::mqtt::{self, Session};
use edgetap_dissectors::{Collect, Direction, Dissector, FactKind, Probe, Side};
use serde_json::{json, Value};

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

/// A packet: fixed header byte, Remaining Length, body.
fn pkt(b0: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![b0];
    let mut n = body.len();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        v.push(b);
        if n == 0 {
            break;
        }
    }
    v.extend_from_slice(body);
    v
}

/// A two-byte-length string.
fn s(t: &str) -> Vec<u8> {
    let mut v = (t.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(t.as_bytes());
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn connect(level: u8, flags: u8, client: &str, rest: &[u8]) -> Vec<u8> {
    let name = if level == 3 { "MQIsdp" } else { "MQTT" };
    let props: &[u8] = if level == 5 { &[0] } else { &[] };
    pkt(
        0x10,
        &cat(&[&s(name), &[level, flags, 0, 60], props, &s(client), rest]),
    )
}

fn feed(sess: &mut Session, steps: &[(Direction, &[u8])]) -> Collect {
    let mut c = Collect::default();
    for (d, b) in steps {
        sess.parse(*d, b, &mut c);
    }
    c
}

fn pdus(c: &Collect) -> Vec<Value> {
    c.pdus
        .iter()
        .map(|(_, p)| serde_json::from_str::<Value>(p).unwrap()["mqtt"].clone())
        .collect()
}

fn events(c: &Collect) -> Vec<&'static str> {
    c.events.iter().map(|(_, e)| e.name).collect()
}

fn one(steps: &[(Direction, &[u8])]) -> (Vec<Value>, Collect) {
    let mut sess = Session::default();
    let c = feed(&mut sess, steps);
    (pdus(&c), c)
}

#[test]
fn connect_311_all_fields_and_facts() {
    // user, password, will (qos 1, retain), clean session
    let c = connect(
        4,
        0xc0 | 0x20 | 0x08 | 0x04 | 0x02,
        "plc-7",
        &cat(&[
            &s("status/plc-7"),
            &s("offline"),
            &s("alice"),
            &s("hunter2"),
        ]),
    );
    let (p, col) = one(&[(C2S, &c)]);
    assert_eq!(
        p[0],
        json!({"packet_type":1,"protocol_name":"MQTT","protocol_level":4,"clean_session":true,
               "keep_alive":60,"client_id":"plc-7","will_topic":"status/plc-7","will_qos":1,
               "will_retain":true,"will_payload_len":7,"username":"alice","password_len":7})
    );
    assert!(!col.pdus[0].1.contains("hunter2"));
    assert!(col.events.is_empty(), "{:?}", col.events);
    assert_eq!(
        col.facts,
        vec![
            (FactKind::MqttClientId, Side::Client, "plc-7".to_string()),
            (FactKind::MqttUsername, Side::Client, "alice".to_string())
        ]
    );
}

#[test]
fn connect_31_mqisdp_and_empty_client_id() {
    let (p, col) = one(&[(C2S, &connect(3, 0x02, "", &[]))]);
    assert_eq!(p[0]["protocol_name"], "MQIsdp");
    assert_eq!(p[0]["protocol_level"], 3);
    // An empty client id is still reported (tshark shows it), but is no identity fact.
    assert_eq!(p[0]["client_id"], "");
    assert!(col.facts.is_empty());
}

#[test]
fn connect_5_with_properties_and_will_properties() {
    let props = cat(&[
        &[0x11, 0, 0, 0, 30],
        &[0x21, 0, 10],
        &[0x26],
        &s("site"),
        &s("edge1"),
    ]);
    let will_props = [0x18, 0, 0, 0, 5];
    let body = cat(&[
        &s("MQTT"),
        &[5, 0x06, 0, 30],
        &[props.len() as u8],
        &props,
        &s("dev1"),
        &[will_props.len() as u8],
        &will_props,
        &s("will/t"),
        &s("bye"),
    ]);
    let (p, col) = one(&[(C2S, &pkt(0x10, &body))]);
    assert_eq!(p[0]["client_id"], "dev1");
    assert_eq!(p[0]["will_topic"], "will/t");
    assert_eq!(
        p[0]["properties"],
        json!({"session_expiry_interval":30,"receive_maximum":10,"user_properties":[["site","edge1"]]})
    );
    assert!(col.events.is_empty(), "{:?}", col.events);
}

#[test]
fn connack_311_refused_and_accepted() {
    for (rc, ev) in [
        (0u8, vec![]),
        (2, vec!["mqtt.connect_refused"]),
        (4, vec!["mqtt.connect_refused", "mqtt.auth_failure"]),
        (5, vec!["mqtt.connect_refused", "mqtt.auth_failure"]),
    ] {
        let (p, col) = one(&[
            (C2S, &connect(4, 0x02, "a", &[])),
            (S2C, &pkt(0x20, &[1, rc])),
        ]);
        assert_eq!(
            p[1],
            json!({"packet_type":2,"session_present":true,"return_code":rc})
        );
        assert_eq!(events(&col), ev, "rc {rc}");
    }
}

#[test]
fn connack_5_reason_codes_and_properties() {
    for (rc, ev) in [
        (0x00u8, vec![]),
        (0x80, vec!["mqtt.connect_refused"]),
        (0x86, vec!["mqtt.connect_refused", "mqtt.auth_failure"]),
        (0x87, vec!["mqtt.connect_refused", "mqtt.auth_failure"]),
    ] {
        let mut body = vec![0, rc, 0];
        let props = cat(&[
            &[0x12],
            &s("auto-1"),
            &[0x1f],
            &s("nope"),
            &[0x1c],
            &s("other:1883"),
        ]);
        body[2] = props.len() as u8;
        body.extend_from_slice(&props);
        let (p, col) = one(&[(C2S, &connect(5, 0x02, "a", &[])), (S2C, &pkt(0x20, &body))]);
        assert_eq!(p[1]["reason_code"], rc);
        assert_eq!(
            p[1]["properties"],
            json!({"assigned_client_id":"auto-1","reason_string":"nope","server_reference":"other:1883"})
        );
        assert_eq!(events(&col), ev, "rc {rc:#x}");
    }
}

#[test]
fn publish_311_qos_flags_payload() {
    let p0 = pkt(0x31, &cat(&[&s("a/b"), b"hello"])); // qos 0, retain
    let p1 = pkt(0x3a, &cat(&[&s("a/c"), &[0, 9], b"xy"])); // dup, qos 1
    let p2 = pkt(0x34, &cat(&[&s("a/d"), &[1, 0]])); // qos 2, empty payload
    let (p, col) = one(&[
        (C2S, &connect(4, 2, "c", &[])),
        (C2S, &cat(&[&p0, &p1, &p2])),
    ]);
    assert_eq!(
        p[1],
        json!({"packet_type":3,"topic":"a/b","qos":0,"dup":false,"retain":true,"payload_len":5})
    );
    assert_eq!(
        p[2],
        json!({"packet_type":3,"topic":"a/c","qos":1,"dup":true,"retain":false,"packet_id":9,"payload_len":2})
    );
    assert_eq!(p[3]["packet_id"], 256);
    assert_eq!(p[3]["payload_len"], 0);
    assert!(col.events.is_empty());
}

#[test]
fn publish_invalid_qos_is_reported_with_packet_id() {
    let (p, col) = one(&[
        (C2S, &connect(4, 2, "c", &[])),
        (C2S, &pkt(0x36, &cat(&[&s("t"), &[0, 1], b"x"]))),
    ]);
    assert_eq!(p[1]["qos"], 3);
    assert_eq!(p[1]["packet_id"], 1);
    assert_eq!(events(&col), vec!["mqtt.invalid_qos"]);
}

#[test]
fn publish_5_properties_and_topic_alias_resolution() {
    let props = cat(&[
        &[0x23, 0, 3],
        &[0x03],
        &s("text/plain"),
        &[0x08],
        &s("r/t"),
        &[0x09, 0, 2, 1, 2],
    ]);
    let first = pkt(
        0x32,
        &cat(&[
            &s("plant/line1/temp"),
            &[0, 5],
            &[props.len() as u8],
            &props,
            b"21.5",
        ]),
    );
    let second = pkt(0x30, &cat(&[&s(""), &[3, 0x23, 0, 3], b"21.6"]));
    let unknown = pkt(0x30, &cat(&[&s(""), &[3, 0x23, 0, 9], b"x"]));
    let (p, col) = one(&[
        (C2S, &connect(5, 2, "c", &[])),
        (C2S, &first),
        (C2S, &second),
        (C2S, &unknown),
        // The alias table is per direction: the server's aliases are its own.
        (S2C, &second),
    ]);
    assert_eq!(p[1]["topic"], "plant/line1/temp");
    assert_eq!(p[1]["topic_alias"], 3);
    assert_eq!(p[1]["payload_len"], 4);
    assert_eq!(
        p[1]["properties"],
        json!({"topic_alias":3,"content_type":"text/plain","response_topic":"r/t","correlation_data_len":2})
    );
    assert_eq!(p[2]["topic"], "plant/line1/temp");
    assert_eq!(p[2]["payload_len"], 4);
    assert!(p[3].get("topic").is_none());
    assert!(p[4].get("topic").is_none());
    assert_eq!(
        events(&col),
        vec!["mqtt.unknown_topic_alias", "mqtt.unknown_topic_alias"]
    );
}

#[test]
fn pub_acks_311_and_5() {
    let acks = [0x40u8, 0x50, 0x62, 0x70];
    let mut steps: Vec<(Direction, Vec<u8>)> = vec![(C2S, connect(4, 2, "c", &[]))];
    for a in acks {
        steps.push((S2C, pkt(a, &[0, 7])));
    }
    let steps: Vec<(Direction, &[u8])> = steps.iter().map(|(d, b)| (*d, b.as_slice())).collect();
    let (p, _) = one(&steps);
    for (i, a) in acks.iter().enumerate() {
        assert_eq!(p[i + 1], json!({"packet_type": a >> 4, "packet_id": 7}));
    }
    // MQTT 5: omitted reason code means success; with reason code and properties.
    let rs = cat(&[&[0x1f], &s("quota")]);
    let (p, _) = one(&[
        (C2S, &connect(5, 2, "c", &[])),
        (S2C, &pkt(0x40, &[0, 7])),
        (S2C, &pkt(0x50, &[0, 8, 0x10])),
        (S2C, &pkt(0x40, &cat(&[&[0, 9, 0x97, rs.len() as u8], &rs]))),
    ]);
    assert_eq!(p[1], json!({"packet_type":4,"packet_id":7,"reason_code":0}));
    assert_eq!(
        p[2],
        json!({"packet_type":5,"packet_id":8,"reason_code":16})
    );
    assert_eq!(
        p[3],
        json!({"packet_type":4,"packet_id":9,"reason_code":0x97,"properties":{"reason_string":"quota"}})
    );
}

#[test]
fn subscribe_suback_unsubscribe_unsuback_311() {
    let sub = pkt(0x82, &cat(&[&[0, 1], &s("a/+"), &[1], &s("b/#"), &[2]]));
    let suback = pkt(0x90, &[0, 1, 1, 0x80]);
    let unsub = pkt(0xa2, &cat(&[&[0, 2], &s("a/+"), &s("b/#")]));
    let unsuback = pkt(0xb0, &[0, 2]);
    let (p, col) = one(&[
        (C2S, &connect(4, 2, "c", &[])),
        (C2S, &sub),
        (S2C, &suback),
        (C2S, &unsub),
        (S2C, &unsuback),
    ]);
    assert_eq!(
        p[1],
        json!({"packet_type":8,"packet_id":1,"topic":"a/+",
               "topics":[{"filter":"a/+","qos":1},{"filter":"b/#","qos":2}]})
    );
    assert_eq!(
        p[2],
        json!({"packet_type":9,"packet_id":1,"reason_codes":[1,128]})
    );
    assert_eq!(
        p[3],
        json!({"packet_type":10,"packet_id":2,"topic":"a/+","topics":["a/+","b/#"]})
    );
    assert_eq!(p[4], json!({"packet_type":11,"packet_id":2}));
    assert!(col.events.is_empty(), "{:?}", col.events);
}

#[test]
fn subscribe_suback_unsubscribe_unsuback_5() {
    let sub = pkt(0x82, &cat(&[&[0, 1, 2, 0x0b, 7], &s("p/#"), &[0x2d]]));
    let suback = pkt(0x90, &[0, 1, 0, 1]);
    let unsub = pkt(0xa2, &cat(&[&[0, 2, 0], &s("p/#")]));
    let unsuback = pkt(0xb0, &[0, 2, 0, 0x11]);
    let (p, _) = one(&[
        (C2S, &connect(5, 2, "c", &[])),
        (C2S, &sub),
        (S2C, &suback),
        (C2S, &unsub),
        (S2C, &unsuback),
    ]);
    assert_eq!(
        p[1],
        json!({"packet_type":8,"packet_id":1,"topic":"p/#","properties":{"subscription_identifier":7},
               "topics":[{"filter":"p/#","qos":1,"no_local":true,"retain_as_published":true,"retain_handling":2}]})
    );
    assert_eq!(
        p[2],
        json!({"packet_type":9,"packet_id":1,"reason_codes":[1],"properties":{}})
    );
    assert_eq!(p[3]["topics"], json!(["p/#"]));
    assert_eq!(
        p[4],
        json!({"packet_type":11,"packet_id":2,"reason_codes":[17],"properties":{}})
    );
}

#[test]
fn ping_disconnect_auth() {
    let (p, _) = one(&[
        (C2S, &connect(4, 2, "c", &[])),
        (C2S, &pkt(0xc0, &[])),
        (S2C, &pkt(0xd0, &[])),
        (C2S, &pkt(0xe0, &[])),
    ]);
    assert_eq!(p[1], json!({"packet_type":12}));
    assert_eq!(p[2], json!({"packet_type":13}));
    assert_eq!(p[3], json!({"packet_type":14}));
    let auth_props = cat(&[&[0x15], &s("SCRAM-SHA-1"), &[0x16, 0, 3, 1, 2, 3]]);
    let (p, col) = one(&[
        (C2S, &connect(5, 2, "c", &[])),
        // v5 DISCONNECT with remaining length 0: normal disconnection.
        (C2S, &pkt(0xe0, &[])),
        (S2C, &pkt(0xe0, &[0x8e, 0])),
        (
            C2S,
            &pkt(0xf0, &cat(&[&[0x18, auth_props.len() as u8], &auth_props])),
        ),
    ]);
    assert_eq!(p[1], json!({"packet_type":14,"reason_code":0}));
    assert_eq!(
        p[2],
        json!({"packet_type":14,"reason_code":0x8e,"properties":{}})
    );
    assert_eq!(
        p[3],
        json!({"packet_type":15,"reason_code":0x18,
               "properties":{"authentication_method":"SCRAM-SHA-1","authentication_data_len":3}})
    );
    assert!(col.events.is_empty());
}

#[test]
fn unassigned_types() {
    let (p, col) = one(&[
        (C2S, &connect(4, 2, "c", &[])),
        (C2S, &pkt(0x00, b"junk")),
        (C2S, &pkt(0xf0, &[])), // AUTH is reserved in 3.1.1
        (C2S, &pkt(0xc0, &[])),
    ]);
    assert_eq!(p[1], json!({"packet_type":0}));
    assert_eq!(p[2], json!({"packet_type":15}));
    assert_eq!(p[3], json!({"packet_type":12}));
    assert_eq!(
        events(&col),
        vec![
            "mqtt.unassigned_message_type",
            "mqtt.unassigned_message_type"
        ]
    );
}

fn sample_stream() -> Vec<u8> {
    cat(&[
        &connect(4, 0xc2, "split", &cat(&[&s("u"), &s("p")])),
        &pkt(0x32, &cat(&[&s("t/1"), &[0, 1], &[0x55; 300]])),
        &pkt(0x82, &cat(&[&[0, 2], &s("t/#"), &[1]])),
        &pkt(0xc0, &[]),
        &pkt(0x30, &cat(&[&s("t/2"), b"v"])),
        &pkt(0xe0, &[]),
    ])
}

#[test]
fn split_at_every_byte_gives_the_same_pdus() {
    let stream = sample_stream();
    let whole = feed(&mut Session::default(), &[(C2S, &stream)]);
    assert_eq!(whole.pdus.len(), 6);
    assert!(whole.events.is_empty(), "{:?}", whole.events);
    for i in 0..=stream.len() {
        let (a, b) = stream.split_at(i);
        let c = feed(&mut Session::default(), &[(C2S, a), (C2S, b)]);
        assert_eq!(c.pdus, whole.pdus, "split at {i}");
        assert!(c.events.is_empty());
    }
    // One byte at a time.
    let mut sess = Session::default();
    let mut c = Collect::default();
    for b in &stream {
        sess.parse(C2S, std::slice::from_ref(b), &mut c);
    }
    assert_eq!(c.pdus, whole.pdus);
}

#[test]
fn several_packets_per_call_both_directions() {
    let up = cat(&[&connect(4, 2, "x", &[]), &pkt(0xc0, &[]), &pkt(0xc0, &[])]);
    let down = cat(&[&pkt(0x20, &[0, 0]), &pkt(0xd0, &[]), &pkt(0xd0, &[])]);
    let c = feed(&mut Session::default(), &[(C2S, &up), (S2C, &down)]);
    let dirs: Vec<Direction> = c.pdus.iter().map(|(d, _)| *d).collect();
    assert_eq!(dirs, vec![C2S, C2S, C2S, S2C, S2C, S2C]);
}

#[test]
fn oversize_publish_is_reported_and_skipped() {
    let big = pkt(0x32, &cat(&[&s("cam/1"), &[0, 4], &vec![0xaa; 5000]]));
    let mut sess = Session::with_max_pdu(1024);
    let mut c = Collect::default();
    sess.parse(C2S, &connect(4, 2, "c", &[]), &mut c);
    // The big packet arrives in pieces; a PINGREQ follows in the last one.
    let (a, rest) = big.split_at(700);
    let (b, d) = rest.split_at(3000);
    sess.parse(C2S, a, &mut c);
    sess.parse(C2S, b, &mut c);
    sess.parse(C2S, &cat(&[d, &pkt(0xc0, &[])]), &mut c);
    let p = pdus(&c);
    assert_eq!(p.len(), 3);
    assert_eq!(
        p[1],
        json!({"packet_type":3,"topic":"cam/1","qos":1,"dup":false,"retain":false,"packet_id":4,
               "payload_len":5000,"truncated":true})
    );
    assert_eq!(p[2], json!({"packet_type":12}));
    assert_eq!(events(&c), vec!["mqtt.oversize"]);
}

#[test]
fn malformed_packets() {
    // Body shorter than its fields: what parsed is reported, with an event.
    let (p, col) = one(&[(C2S, &pkt(0x10, &cat(&[&s("MQTT"), &[4, 2]])))]);
    assert_eq!(
        p[0],
        json!({"packet_type":1,"protocol_name":"MQTT","protocol_level":4,"clean_session":true})
    );
    assert_eq!(events(&col), vec!["mqtt.malformed"]);
    // A Remaining Length of five bytes cannot be MQTT: sync is lost until a packet start.
    let mut sess = Session::default();
    let c = feed(
        &mut sess,
        &[
            (C2S, &[0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0]),
            (C2S, &[0x47, 0x45, 0x54]), // not a packet start: dropped
            (C2S, &pkt(0xc0, &[])),
        ],
    );
    assert_eq!(pdus(&c), vec![json!({"packet_type":12})]);
    assert_eq!(events(&c), vec!["mqtt.malformed"]);
    // Bad v5 property list.
    let (p, col) = one(&[
        (C2S, &connect(5, 2, "c", &[])),
        (S2C, &pkt(0x20, &[0, 0, 3, 0x7f, 0, 0])),
    ]);
    assert_eq!(p[1]["reason_code"], 0);
    assert_eq!(events(&col), vec!["mqtt.invalid_properties"]);
}

#[test]
fn invalid_utf8_is_shown_lossily_with_an_event() {
    let (p, col) = one(&[
        (C2S, &connect(4, 2, "c", &[])),
        (C2S, &pkt(0x30, &[0, 3, b'a', 0xff, b'b', b'x'])),
    ]);
    assert_eq!(p[1]["topic"], "a\u{fffd}b");
    assert_eq!(events(&col), vec!["mqtt.invalid_utf8"]);
}

#[test]
fn missing_connect_and_double_connect() {
    let (_, col) = one(&[
        (C2S, &pkt(0x30, &cat(&[&s("t"), b"x"]))),
        (C2S, &pkt(0x30, &cat(&[&s("t"), b"x"]))),
    ]);
    assert_eq!(events(&col), vec!["mqtt.missing_connect"]);
    let (_, col) = one(&[
        (C2S, &connect(4, 2, "c", &[])),
        (C2S, &connect(4, 2, "c", &[])),
    ]);
    assert_eq!(events(&col), vec!["mqtt.double_connect"]);
}

#[test]
fn midstream_level_guessing() {
    // No CONNECT: a v5 SUBSCRIBE (property length 0) is read as 5.0 because it does not read
    // as 3.1.1, and the level sticks.
    let mut sess = Session::default();
    let sub5 = pkt(0x82, &cat(&[&[0, 1, 0], &s("topicX"), &[0]]));
    let c = feed(&mut sess, &[(C2S, &sub5)]);
    assert_eq!(pdus(&c)[0]["topic"], "topicX");
    assert_eq!(sess.protocol_level(), Some(5));
    assert!(sess.level_guessed());
    // A 3.1.1 SUBSCRIBE stays 3.1.1.
    let mut sess = Session::default();
    let sub3 = pkt(0x82, &cat(&[&[0, 1], &s("topicX"), &[1]]));
    let c = feed(&mut sess, &[(C2S, &sub3)]);
    assert_eq!(pdus(&c)[0]["topic"], "topicX");
    assert_eq!(sess.protocol_level(), None);
    // A PUBACK longer than 2 bytes can only be 5.0.
    let mut sess = Session::default();
    feed(&mut sess, &[(S2C, &pkt(0x40, &[0, 1, 0x10]))]);
    assert_eq!(sess.protocol_level(), Some(5));
}

#[test]
fn gap_drops_the_partial_packet_and_resyncs() {
    let p1 = pkt(0x30, &cat(&[&s("t/1"), &[7; 100]]));
    let mut sess = Session::default();
    let mut c = Collect::default();
    sess.parse(C2S, &connect(4, 2, "c", &[]), &mut c);
    sess.parse(C2S, &p1[..50], &mut c);
    sess.on_gap(C2S, 40, &mut c);
    sess.parse(C2S, &p1[90..], &mut c); // tail of the lost packet: not a packet start
    sess.parse(C2S, &pkt(0xc0, &[]), &mut c);
    let p = pdus(&c);
    assert_eq!(p.len(), 2);
    assert_eq!(p[1], json!({"packet_type":12}));
    assert_eq!(events(&c), vec!["mqtt.gap"]);
}

#[test]
fn probe_verdicts() {
    let conn = connect(4, 2, "c", &[]);
    assert_eq!(mqtt::probe(C2S, &conn), Probe::Yes);
    assert_eq!(mqtt::probe(C2S, &connect(3, 2, "c", &[])), Probe::Yes);
    assert_eq!(mqtt::probe(C2S, &connect(5, 2, "c", &[])), Probe::Yes);
    for n in 0..9 {
        assert_eq!(mqtt::probe(C2S, &conn[..n]), Probe::NeedMore, "prefix {n}");
    }
    // Mid-stream starts.
    assert_eq!(mqtt::probe(S2C, &pkt(0x20, &[0, 0])), Probe::Yes);
    assert_eq!(mqtt::probe(S2C, &[0x20]), Probe::NeedMore);
    let publish = pkt(0x30, &cat(&[&s("sensors/t1"), &[0x41; 2000]]));
    assert_eq!(mqtt::probe(C2S, &publish[..500]), Probe::Yes);
    assert_eq!(mqtt::probe(C2S, &pkt(0xc0, &[])), Probe::Yes);
    assert_eq!(
        mqtt::probe(C2S, &cat(&[&pkt(0x40, &[0, 1]), &pkt(0x40, &[0, 2])])),
        Probe::Yes
    );
    // Not MQTT.
    for not in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"POST /api HTTP/1.1\r\n",
        b"HTTP/1.1 200 OK\r\n",
        b"SSH-2.0-OpenSSH_9.2\r\n",
        &[
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ],
        &[
            0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x0a,
        ], // Modbus
        b"AMQP\x00\x00\x09\x01",
        b"HEL\x46\x00\x00\x00",
        &[
            0x10, 0x0c, 0x00, 0x04, b'H', b'T', b'T', b'P', 4, 2, 0, 60, 0, 0,
        ],
    ] {
        assert_eq!(mqtt::probe(C2S, not), Probe::No, "{not:?}");
    }
}
