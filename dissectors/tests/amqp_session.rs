#![cfg(feature = "amqp")]
//! AMQP sessions from hand-built byte streams: both versions, every split point, large and
//! oversize frames, refused logins, malformed input, TLS, gaps, mid-stream starts; and a
//! proptest harness (arbitrary bytes, splits and directions never panic; a valid stream cut
//! anywhere gives the same PDUs).
#![cfg(feature = "amqp")]
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]

use edgetap_dissectors::amqp::{probe, Session};
use edgetap_dissectors::{Collect, Direction, Dissector, FactKind, Probe, Side};
use proptest::prelude::*;

const C2S: Direction = Direction::ToServer;
const S2C: Direction = Direction::ToClient;

// ---------------------------------------------------------------------------------------------
// 0-9-1 builders
// ---------------------------------------------------------------------------------------------

fn frame091(ty: u8, ch: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![ty];
    v.extend_from_slice(&ch.to_be_bytes());
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v.push(0xCE);
    v
}

fn method(ch: u16, class: u16, m: u16, args: &[u8]) -> Vec<u8> {
    let mut p = class.to_be_bytes().to_vec();
    p.extend_from_slice(&m.to_be_bytes());
    p.extend_from_slice(args);
    frame091(1, ch, &p)
}

fn ss(s: &str) -> Vec<u8> {
    let mut v = vec![s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

fn ls(b: &[u8]) -> Vec<u8> {
    let mut v = (b.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(b);
    v
}

/// A field table of string values, with a nested table first.
fn table(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut body = ss("capabilities");
    body.push(b'F');
    let mut nested = ss("basic.nack");
    nested.extend_from_slice(b"t\x01");
    body.extend(ls(&nested));
    for (k, v) in entries {
        body.extend(ss(k));
        body.push(b'S');
        body.extend(ls(v.as_bytes()));
    }
    ls(&body)
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

const HDR091: &[u8] = b"AMQP\x00\x00\x09\x01";

fn start() -> Vec<u8> {
    let mut a = vec![0, 9];
    a.extend(table(&[
        ("product", "RabbitMQ"),
        ("version", "3.12.1"),
        ("platform", "Erlang/OTP 26"),
    ]));
    a.extend(ls(b"PLAIN AMQPLAIN"));
    a.extend(ls(b"en_US"));
    method(0, 10, 10, &a)
}

fn start_ok() -> Vec<u8> {
    let mut a = table(&[
        ("product", "plc-bridge"),
        ("version", "2.0"),
        ("platform", "Rust"),
    ]);
    a.extend(ss("PLAIN"));
    a.extend(ls(b"\x00scada\x00s3cr3t-pw"));
    a.extend(ss("en_US"));
    method(0, 10, 11, &a)
}

fn close(ch: u16, class: u16, code: u16, text: &str) -> Vec<u8> {
    let mut a = code.to_be_bytes().to_vec();
    a.extend(ss(text));
    a.extend_from_slice(&[0, 0, 0, 0]);
    method(ch, class, if class == 10 { 50 } else { 40 }, &a)
}

fn client_stream() -> Vec<u8> {
    let mut publish = vec![0, 0];
    publish.extend(ss("plant"));
    publish.extend(ss("line.1.temp"));
    publish.push(0);
    let mut header = vec![0, 60, 0, 0];
    header.extend_from_slice(&8u64.to_be_bytes());
    header.extend_from_slice(&0x8000u16.to_be_bytes());
    header.extend(ss("application/json"));
    let mut qbind = vec![0, 0];
    qbind.extend(ss("telemetry"));
    qbind.extend(ss("plant"));
    qbind.extend(ss("line.*.temp"));
    qbind.push(0);
    qbind.extend_from_slice(&[0, 0, 0, 0]);
    let mut xdecl = vec![0, 0];
    xdecl.extend(ss("plant"));
    xdecl.extend(ss("topic"));
    xdecl.push(0);
    xdecl.extend_from_slice(&[0, 0, 0, 0]);
    let mut ack = 7u64.to_be_bytes().to_vec();
    ack.push(0);
    cat(&[
        HDR091.to_vec(),
        start_ok(),
        method(0, 10, 31, &[0x07, 0xff, 0, 2, 0, 0, 0, 60]),
        method(0, 10, 40, &cat(&[ss("/plant"), ss(""), vec![0]])),
        method(1, 20, 10, &ss("")),
        method(1, 40, 10, &xdecl),
        method(1, 50, 20, &qbind),
        method(1, 60, 40, &publish),
        frame091(2, 1, &header),
        frame091(3, 1, b"{\"t\":20}"),
        frame091(8, 0, b""),
        method(1, 60, 80, &ack),
        close(1, 20, 200, "bye"),
        close(0, 10, 200, "Goodbye"),
    ])
}

fn server_stream() -> Vec<u8> {
    let mut deliver = ss("ctag-1");
    deliver.extend_from_slice(&7u64.to_be_bytes());
    deliver.push(0);
    deliver.extend(ss("plant"));
    deliver.extend(ss("line.1.temp"));
    cat(&[
        start(),
        method(0, 10, 30, &[0x07, 0xff, 0, 2, 0, 0, 0, 60]),
        method(0, 10, 41, &ss("")),
        method(1, 60, 60, &deliver),
        close(1, 20, 404, "NOT_FOUND - no queue 'x'"),
    ])
}

fn run(chunks: &[(Direction, &[u8])]) -> Collect {
    let mut s = Session::default();
    let mut c = Collect::default();
    for (d, b) in chunks {
        s.parse(*d, b, &mut c);
    }
    c
}

fn jsons(c: &Collect) -> Vec<String> {
    c.pdus.iter().map(|(d, j)| format!("{d:?} {j}")).collect()
}

fn events(c: &Collect) -> Vec<&'static str> {
    c.events.iter().map(|(_, e)| e.name).collect()
}

fn find<'a>(c: &'a Collect, needle: &str) -> &'a str {
    c.pdus
        .iter()
        .map(|(_, j)| j.as_str())
        .find(|j| j.contains(needle))
        .unwrap_or_else(|| panic!("no PDU with {needle}: {:#?}", c.pdus))
}

#[test]
fn v091_session() {
    let cs = client_stream();
    let ss_ = server_stream();
    let c = run(&[(C2S, &cs), (S2C, &ss_)]);
    assert_eq!(c.pdus.len(), 14 + 5, "{:#?}", c.pdus);
    assert_eq!(
        c.pdus[0].1,
        r#"{"amqp":{"version":"0-9-1","frame_type":"protocol_header","protocol_id":0,"protocol_version":"0-9-1"}}"#
    );
    let so = find(&c, "connection.start-ok");
    assert!(so.contains(r#""class_id":10,"method_id":11"#), "{so}");
    assert!(
        so.contains(r#""mechanism":"PLAIN","response_len":16,"locale":"en_US""#),
        "{so}"
    );
    assert!(so.contains(r#""product":"plc-bridge""#), "{so}");
    for (_, j) in &c.pdus {
        assert!(!j.contains("s3cr3t"), "secret leaked: {j}");
    }
    assert!(find(&c, "connection.open\"").contains(r#""virtual_host":"/plant""#));
    assert!(find(&c, "exchange.declare").contains(r#""exchange":"plant","exchange_type":"topic""#));
    assert!(find(&c, "queue.bind\"").contains(r#""routing_key":"line.*.temp","queue":"telemetry""#));
    assert!(find(&c, "basic.publish").contains(r#""exchange":"plant","routing_key":"line.1.temp""#));
    assert!(find(&c, "content_header").contains(
        r#""content_class":60,"body_size":8,"property_flags":32768,"content_type":"application/json""#
    ));
    assert!(find(&c, "\"body\"").contains(r#""payload_size":8"#));
    assert!(find(&c, "heartbeat").contains(r#""channel":0"#));
    assert!(find(&c, "basic.ack").contains(r#""delivery_tag":7"#));
    assert!(find(&c, "connection.tune\"")
        .contains(r#""channel_max":2047,"frame_max":131072,"heartbeat":60"#));
    let d = find(&c, "basic.deliver");
    assert!(
        d.contains(r#""routing_key":"line.1.temp","consumer_tag":"ctag-1","delivery_tag":7"#),
        "{d}"
    );
    assert!(find(&c, "NOT_FOUND").contains(r#""class_id":20,"method_id":40"#));
    // Only the channel's 404 is an error.
    assert_eq!(events(&c), vec!["amqp.connection_close_error"]);
    let has = |k, s, v: &str| c.facts.contains(&(k, s, v.to_string()));
    assert!(has(FactKind::AmqpProduct, Side::Server, "RabbitMQ"));
    assert!(has(FactKind::AmqpVersion, Side::Server, "3.12.1"));
    assert!(has(FactKind::AmqpPlatform, Side::Server, "Erlang/OTP 26"));
    assert!(has(FactKind::AmqpProduct, Side::Client, "plc-bridge"));
    assert!(has(FactKind::AmqpVersion, Side::Client, "2.0"));
    assert!(has(FactKind::AmqpPlatform, Side::Client, "Rust"));
    assert!(has(FactKind::AmqpVirtualHost, Side::Server, "/plant"));
}

#[test]
fn v091_access_refused() {
    let cs = cat(&[HDR091.to_vec(), start_ok()]);
    let ss_ = cat(&[
        start(),
        close(
            0,
            10,
            403,
            "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN",
        ),
    ]);
    let c = run(&[(C2S, &cs), (S2C, &ss_)]);
    let j = find(&c, "ACCESS_REFUSED");
    assert!(j.contains(r#""reply_code":403"#), "{j}");
    assert!(j.contains(r#""class_id":10,"method_id":50"#), "{j}");
    assert_eq!(
        events(&c),
        vec!["amqp.access_refused", "amqp.connection_close_error"]
    );
    assert!(c.events.iter().all(|(d, _)| *d == S2C));
}

/// The whole stream, cut once at every byte (and twice at a stride): the same PDUs.
#[test]
fn v091_every_split() {
    let stream = client_stream();
    let whole = jsons(&run(&[(C2S, &stream)]));
    for a in 0..=stream.len() {
        let c = run(&[(C2S, &stream[..a]), (C2S, &stream[a..])]);
        assert_eq!(jsons(&c), whole, "split at {a}");
        assert!(c.events.is_empty(), "split at {a}: {:?}", c.events);
    }
    for a in (0..=stream.len()).step_by(7) {
        for b in (a..=stream.len()).step_by(5) {
            let c = run(&[
                (C2S, &stream[..a]),
                (C2S, &stream[a..b]),
                (C2S, &stream[b..]),
            ]);
            assert_eq!(jsons(&c), whole, "split at {a} {b}");
        }
    }
    // Byte at a time.
    let chunks: Vec<(Direction, &[u8])> = stream.chunks(1).map(|b| (C2S, b)).collect();
    assert_eq!(jsons(&run(&chunks)), whole);
}

#[test]
fn v091_large_body_over_many_chunks() {
    let body = vec![0x5a; 200_000];
    let stream = cat(&[HDR091.to_vec(), frame091(3, 1, &body), frame091(8, 0, b"")]);
    let chunks: Vec<(Direction, &[u8])> = stream.chunks(1448).map(|b| (C2S, b)).collect();
    let c = run(&chunks);
    assert_eq!(c.pdus.len(), 3);
    assert!(c.pdus[1]
        .1
        .contains(r#""frame_type":"body","channel":1,"size":200000"#));
    assert!(c.events.is_empty());
}

#[test]
fn v091_oversize_frame_is_reported_and_skipped() {
    let mut publish = vec![0, 0];
    publish.extend(ss("x"));
    publish.extend(ss(&"k".repeat(200)));
    publish.push(0);
    let big = vec![0u8; 400_000];
    let stream = cat(&[
        HDR091.to_vec(),
        frame091(3, 1, &big),
        method(1, 60, 40, &publish),
    ]);
    let chunks: Vec<(Direction, &[u8])> = stream.chunks(1000).map(|b| (C2S, b)).collect();
    let c = run(&chunks);
    assert_eq!(events(&c), vec!["amqp.frame_too_large"]);
    assert!(find(&c, "truncated").contains(r#""size":400000"#));
    assert!(find(&c, "basic.publish").contains(r#""exchange":"x""#));
}

#[test]
fn v091_bad_frame_end_and_unknown_method() {
    let mut f = method(0, 10, 41, &ss(""));
    *f.last_mut().unwrap() = 0x00;
    let stream = cat(&[
        HDR091.to_vec(),
        f,
        method(0, 99, 1, b""),
        method(0, 10, 51, b""),
    ]);
    let c = run(&[(C2S, &stream)]);
    assert!(find(&c, "open-ok").contains(r#""bad_frame_end":true"#));
    assert!(find(&c, r#""class_id":99"#).contains(r#""method_id":1"#));
    assert!(find(&c, "close-ok").contains(r#""class_id":10"#));
    assert_eq!(
        events(&c),
        vec!["amqp.bad_frame_end", "amqp.unknown_method"]
    );
}

#[test]
fn v091_midstream_and_gap() {
    // No protocol header: the version is guessed from the frame's shape.
    let ss_ = server_stream();
    let c = run(&[(S2C, &ss_[..])]);
    assert_eq!(c.pdus.len(), 5);
    assert!(c.pdus.iter().all(|(_, j)| j.contains("\"0-9-1\"")));
    // A gap, a segment starting mid-frame (dropped), then frames again.
    let mut s = Session::default();
    let mut col = Collect::default();
    let cs = client_stream();
    s.parse(C2S, &cs[..100], &mut col);
    let before = col.pdus.len();
    s.on_gap(C2S, 50, &mut col);
    s.parse(C2S, &cs[150..160], &mut col);
    let hb = frame091(8, 0, b"");
    s.parse(C2S, &cat(&[hb.clone(), close(0, 10, 200, "x")]), &mut col);
    assert_eq!(col.pdus.len(), before + 2, "{:#?}", col.pdus);
    assert!(events(&col).contains(&"amqp.gap"));
}

#[test]
fn garbage_never_panics_and_is_flagged() {
    let c = run(&[
        (C2S, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        (S2C, b"\xff\xfe\xfd"),
    ]);
    assert!(c.pdus.is_empty());
    assert!(events(&c).iter().all(|e| *e == "amqp.protocol_violation"));
    // An unknown protocol header.
    let c = run(&[(C2S, b"AMQP\x09\x09\x09\x09")]);
    assert!(find(&c, "protocol_header").contains(r#""protocol_version":"unknown""#));
    assert_eq!(events(&c), vec!["amqp.protocol_violation"]);
}

#[test]
fn tls_after_header_is_opaque() {
    let c = run(&[
        (C2S, b"AMQP\x02\x01\x00\x00\x16\x03\x01\x00\x05hello"),
        (S2C, b"AMQP\x02\x01\x00\x00"),
        (S2C, b"\x16\x03\x03\x00\x10 server hello..."),
        (C2S, b"\x17\x03\x03\x00\x20 application data"),
    ]);
    assert_eq!(c.pdus.len(), 2);
    assert!(c.pdus[0].1.contains(r#""protocol_id":2"#));
    assert!(c.events.is_empty(), "{:?}", c.events);
}

// ---------------------------------------------------------------------------------------------
// 1.0 builders
// ---------------------------------------------------------------------------------------------

fn str8(s: &str) -> Vec<u8> {
    let mut v = vec![0xa1, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

fn sym8(s: &str) -> Vec<u8> {
    let mut v = vec![0xa3, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

fn uint(n: u32) -> Vec<u8> {
    let mut v = vec![0x70];
    v.extend_from_slice(&n.to_be_bytes());
    v
}

fn list32(items: &[Vec<u8>]) -> Vec<u8> {
    let body = items.concat();
    let mut v = vec![0xd0];
    v.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    v.extend_from_slice(&(items.len() as u32).to_be_bytes());
    v.extend(body);
    v
}

fn described(code: u8, items: &[Vec<u8>]) -> Vec<u8> {
    let mut v = vec![0x00, 0x53, code];
    v.extend(list32(items));
    v
}

fn frame10(ty: u8, ch: u16, body: &[u8]) -> Vec<u8> {
    let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(&[2, ty]);
    v.extend_from_slice(&ch.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn error(cond: &str, desc: &str) -> Vec<u8> {
    described(0x1d, &[sym8(cond), str8(desc)])
}

const NULL: u8 = 0x40;

fn open10(container: &str, host: Option<&str>, props: &[(&str, &str)]) -> Vec<u8> {
    let mut map = vec![];
    for (k, v) in props {
        map.extend(sym8(k));
        map.extend(str8(v));
    }
    let mut m = vec![0xd1];
    m.extend_from_slice(&(map.len() as u32 + 4).to_be_bytes());
    m.extend_from_slice(&(props.len() as u32 * 2).to_be_bytes());
    m.extend(map);
    let host = host.map(str8).unwrap_or(vec![NULL]);
    let nulls = vec![vec![NULL]; 7];
    let mut items = vec![str8(container), host];
    items.extend(nulls);
    items.push(m);
    frame10(0, 0, &described(0x10, &items))
}

fn sasl_client() -> Vec<u8> {
    let secret = b"\x00guest\x00hunter22";
    let mut resp = vec![0xa0, secret.len() as u8];
    resp.extend_from_slice(secret);
    cat(&[
        b"AMQP\x03\x01\x00\x00".to_vec(),
        frame10(
            1,
            0,
            &described(0x41, &[sym8("PLAIN"), resp, str8("broker.local")]),
        ),
    ])
}

fn sasl_server(code: u8) -> Vec<u8> {
    let mut mechs = vec![0xe0, 0, 2, 0xa3];
    for m in ["PLAIN", "ANONYMOUS"] {
        mechs.push(m.len() as u8);
        mechs.extend_from_slice(m.as_bytes());
    }
    mechs[1] = (mechs.len() - 2) as u8;
    cat(&[
        b"AMQP\x03\x01\x00\x00".to_vec(),
        frame10(1, 0, &described(0x40, &[mechs])),
        frame10(1, 0, &described(0x44, &[vec![0x50, code]])),
    ])
}

fn v10_client() -> Vec<u8> {
    let source = described(0x28, &[str8("/queue/in")]);
    let target = described(0x29, &[str8("/queue/telemetry")]);
    let transfer = cat(&[
        described(
            0x14,
            &[uint(0), uint(5), vec![0xa0, 1, 9], uint(0), vec![0x41]],
        ),
        vec![0x00, 0x53, 0x75, 0xa0, 4],
        b"data".to_vec(),
    ]);
    cat(&[
        sasl_client(),
        b"AMQP\x00\x01\x00\x00".to_vec(),
        open10(
            "client-42",
            Some("vhost-a"),
            &[("product", "qpid-proton"), ("version", "0.37")],
        ),
        frame10(
            0,
            3,
            &described(0x11, &[vec![NULL], uint(0), uint(100), uint(100)]),
        ),
        frame10(
            0,
            3,
            &described(
                0x12,
                &[
                    str8("link-1"),
                    uint(0),
                    vec![0x42],
                    vec![NULL],
                    vec![NULL],
                    source,
                    target,
                ],
            ),
        ),
        frame10(0, 3, &transfer),
        frame10(0, 0, b""),
        frame10(0, 3, &described(0x17, &[])),
        frame10(0, 0, &described(0x18, &[])),
    ])
}

fn v10_server() -> Vec<u8> {
    cat(&[
        sasl_server(0),
        b"AMQP\x00\x01\x00\x00".to_vec(),
        open10(
            "broker@edge",
            None,
            &[("product", "RabbitMQ"), ("platform", "Erlang/OTP 26")],
        ),
        frame10(
            0,
            3,
            &described(
                0x13,
                &[
                    uint(0),
                    uint(100),
                    uint(0),
                    uint(100),
                    uint(0),
                    uint(0),
                    uint(50),
                ],
            ),
        ),
        frame10(
            0,
            3,
            &described(
                0x15,
                &[
                    vec![0x41],
                    uint(5),
                    uint(5),
                    vec![0x41],
                    described(0x24, &[]),
                ],
            ),
        ),
        frame10(
            0,
            3,
            &described(
                0x16,
                &[
                    uint(0),
                    vec![0x41],
                    error("amqp:not-found", "no such queue"),
                ],
            ),
        ),
        frame10(
            0,
            0,
            &described(0x18, &[error("amqp:internal-error", "boom")]),
        ),
    ])
}

#[test]
fn v10_session() {
    let cs = v10_client();
    let ss_ = v10_server();
    let c = run(&[(C2S, &cs), (S2C, &ss_)]);
    for (_, j) in &c.pdus {
        assert!(!j.contains("hunter22"), "secret leaked: {j}");
        assert!(j.contains(r#""version":"1.0""#), "{j}");
    }
    let init = find(&c, "sasl.init");
    assert!(init.contains(r#""sasl_method":65"#), "{init}");
    assert!(
        init.contains(r#""mechanism":"PLAIN","response_len":15,"hostname":"broker.local""#),
        "{init}"
    );
    assert!(find(&c, "sasl.mechanisms").contains(r#""sasl_mechanisms":["PLAIN","ANONYMOUS"]"#));
    assert!(find(&c, "sasl.outcome").contains(r#""sasl_outcome":0"#));
    let open = find(&c, "client-42");
    assert!(
        open.contains(r#""performative":16,"method":"open""#),
        "{open}"
    );
    assert!(open.contains(r#""hostname":"vhost-a""#), "{open}");
    let attach = find(&c, "\"attach\"");
    assert!(attach.contains(r#""channel":3"#), "{attach}");
    assert!(attach.contains(
        r#""link_name":"link-1","handle":0,"role":"sender","source":"/queue/in","target":"/queue/telemetry""#
    ), "{attach}");
    let t = find(&c, "\"transfer\"");
    assert!(t.contains(r#""performative":20"#), "{t}");
    assert!(
        t.contains(r#""handle":0,"delivery_id":5,"payload_size":9,"settled":true"#),
        "{t}"
    );
    assert!(find(&c, "\"empty\"").contains(r#""size":8"#));
    assert!(find(&c, "\"flow\"").contains(r#""link_credit":50"#));
    assert!(find(&c, "disposition").contains(r#""delivery_state":"accepted""#));
    let det = find(&c, "\"detach\"");
    assert!(
        det.contains(r#""error_condition":"amqp:not-found","error_description":"no such queue""#),
        "{det}"
    );
    assert!(find(&c, "amqp:internal-error").contains(r#""performative":24"#));
    assert_eq!(
        events(&c),
        vec!["amqp.connection_close_error", "amqp.connection_close_error"]
    );
    let has = |k, s, v: &str| c.facts.contains(&(k, s, v.to_string()));
    assert!(has(FactKind::AmqpContainerId, Side::Client, "client-42"));
    assert!(has(FactKind::AmqpContainerId, Side::Server, "broker@edge"));
    assert!(has(FactKind::AmqpVirtualHost, Side::Server, "vhost-a"));
    assert!(has(FactKind::AmqpProduct, Side::Client, "qpid-proton"));
    assert!(has(FactKind::AmqpVersion, Side::Client, "0.37"));
    assert!(has(FactKind::AmqpProduct, Side::Server, "RabbitMQ"));
    assert!(has(FactKind::AmqpPlatform, Side::Server, "Erlang/OTP 26"));
}

#[test]
fn v10_sasl_auth_failure() {
    let cs = sasl_client();
    let ss_ = sasl_server(1);
    let c = run(&[(C2S, &cs), (S2C, &ss_)]);
    assert!(find(&c, "sasl.outcome").contains(r#""sasl_outcome":1"#));
    assert_eq!(events(&c), vec!["amqp.sasl_auth_failure"]);
}

#[test]
fn v10_every_split() {
    for stream in [v10_client(), v10_server()] {
        let whole = jsons(&run(&[(C2S, &stream)]));
        assert!(whole.len() >= 8);
        for a in 0..=stream.len() {
            let c = run(&[(C2S, &stream[..a]), (C2S, &stream[a..])]);
            assert_eq!(jsons(&c), whole, "split at {a}");
        }
    }
}

#[test]
fn v10_oversize_transfer_keeps_its_performative() {
    let payload = vec![0x33u8; 300_000];
    let perf = described(0x14, &[uint(1), uint(77)]);
    let mut body = perf.clone();
    body.extend_from_slice(&[0x00, 0x53, 0x75, 0xb0]);
    body.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    body.extend(payload);
    let stream = cat(&[
        b"AMQP\x00\x01\x00\x00".to_vec(),
        frame10(0, 1, &body),
        frame10(0, 1, &described(0x17, &[])),
    ]);
    let chunks: Vec<(Direction, &[u8])> = stream.chunks(16_384).map(|b| (C2S, b)).collect();
    let c = run(&chunks);
    assert_eq!(events(&c), vec!["amqp.frame_too_large"]);
    let t = find(&c, "transfer");
    assert!(
        t.contains(r#""performative":20"#) && t.contains(r#""truncated":true"#),
        "{t}"
    );
    assert!(t.contains(r#""delivery_id":77"#), "{t}");
    let want = format!(r#""payload_size":{}"#, body.len() - perf.len());
    assert!(t.contains(&want), "{t}");
    assert!(find(&c, "\"end\"").contains(r#""performative":23"#));
}

#[test]
fn v10_midstream() {
    let s = v10_server();
    // Start after the SASL exchange and the AMQP header.
    let at = sasl_server(0).len() + 8;
    let c = run(&[(S2C, &s[at..])]);
    assert!(find(&c, "broker@edge").contains(r#""version":"1.0""#));
    assert!(find(&c, "\"flow\"").contains(r#""performative":19"#));
}

#[test]
fn probes() {
    assert_eq!(probe(C2S, HDR091), Probe::Yes);
    assert_eq!(probe(C2S, b"AMQP\x00\x01\x00\x00"), Probe::Yes);
    assert_eq!(probe(C2S, b"AMQP\x03\x01\x00\x00"), Probe::Yes);
    assert_eq!(probe(C2S, b"AMQP\x02\x01\x00\x00"), Probe::Yes);
    assert_eq!(probe(C2S, b"AMQP\x00"), Probe::NeedMore);
    assert_eq!(probe(C2S, b"AMQP\x07\x07\x07\x07"), Probe::No);
    assert_eq!(
        probe(C2S, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"),
        Probe::No
    );
    assert_eq!(probe(C2S, b"HTTP/1.1 200 OK\r\n"), Probe::No);
    assert_eq!(probe(S2C, &server_stream()), Probe::Yes);
    assert_eq!(probe(S2C, &server_stream()[..5]), Probe::NeedMore);
    assert_eq!(
        probe(C2S, &v10_server()[sasl_server(0).len() + 8..]),
        Probe::Yes
    );
    assert_eq!(probe(C2S, b"\x00\x00\x00"), Probe::NeedMore);
    assert_eq!(probe(C2S, b"\x00\x00\x00\x10\x01\x00\x00\x00"), Probe::No);
}

// ---------------------------------------------------------------------------------------------
// proptest
// ---------------------------------------------------------------------------------------------

fn seed_streams() -> Vec<(Direction, Vec<u8>)> {
    vec![
        (C2S, client_stream()),
        (S2C, server_stream()),
        (C2S, v10_client()),
        (S2C, v10_server()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary bytes, cut anywhere, sent either way, with gaps: never a panic.
    #[test]
    fn arbitrary_input_never_panics(
        chunks in proptest::collection::vec(
            (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64), 0u8..20),
            0..40,
        ),
        prefix in 0usize..5,
    ) {
        let mut s = Session::default();
        let mut c = Collect::default();
        // Sometimes start with a real header so the version-specific paths run.
        let headers: [&[u8]; 5] = [b"", HDR091, b"AMQP\x00\x01\x00\x00", b"AMQP\x03\x01\x00\x00", b"AMQP\x02\x01\x00\x00"];
        s.parse(C2S, headers[prefix], &mut c);
        for (dir, bytes, gap) in chunks {
            let d = if dir { C2S } else { S2C };
            if gap == 0 {
                s.on_gap(d, 10, &mut c);
            }
            s.parse(d, &bytes, &mut c);
            let _ = probe(d, &bytes);
        }
        s.on_eof(C2S, &mut c);
    }

    /// Mutated valid streams (the deeper paths): never a panic.
    #[test]
    fn mutated_streams_never_panic(
        which in 0usize..4,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let (d, mut stream) = seed_streams().swap_remove(which);
        for (at, b) in flips {
            let n = stream.len();
            stream[at % n] = b;
        }
        let at = cut % (stream.len() + 1);
        let _ = run(&[(d, &stream[..at]), (d, &stream[at..])]);
    }

    /// A valid stream cut into arbitrary pieces gives the same PDUs as in one piece.
    #[test]
    fn valid_stream_any_split_same_pdus(
        which in 0usize..4,
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let (d, stream) = seed_streams().swap_remove(which);
        let whole = jsons(&run(&[(d, &stream)]));
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let chunks: Vec<(Direction, &[u8])> =
            points.windows(2).map(|w| (d, &stream[w[0]..w[1]])).collect();
        prop_assert_eq!(jsons(&run(&chunks)), whole);
    }
}
