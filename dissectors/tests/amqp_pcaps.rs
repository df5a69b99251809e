#![cfg(feature = "amqp")]
//! Agreement with Wireshark on real AMQP captures.
//!
//! Each `tests/data/amqp_*.txt` fixture was made from one capture of
//! `shared/pcaps/{public,peers}/amqp/` with tshark 4.0 by
//! `tests/data/amqp_fixture_gen.py PCAP OUT -d tcp.port==5673,amqp`: `D frame stream dir hex`
//! lines are the in-order TCP payloads of each flow (retransmitted bytes removed), `G frame
//! stream dir len` lines are holes, and `E` lines are the PDUs tshark decodes in that frame:
//! `E frame 0-9-1 channel class method` or `E frame 1.0 performative` (malformed frames left
//! out). The test feeds the payloads to one [`Session`] per flow and checks that each of
//! tshark's PDUs is found in the same frame with the same contract fields.
//!
//! Set `AMQP_FIXTURES=DIR` to also run every `amqp_*.txt` fixture in DIR (the 1.3 MB
//! `amqpanalyze_amqp10_type_test.pcapng` fixture is not checked in).
#![cfg(feature = "amqp")]
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]

use std::collections::HashMap;

use edgetap_dissectors::amqp::{Session, Version};
use edgetap_dissectors::{Direction, Dissector, Event, Fact, FactKind, Pdu, Side, Sink};

/// (version, channel, class, method, performative): the compared fields.
type Key = (String, Option<u16>, Option<u16>, Option<u16>, Option<u64>);

#[derive(Default)]
struct FrameSink {
    frame: u64,
    got: HashMap<u64, Vec<Key>>,
    all: usize,
    events: Vec<&'static str>,
    facts: Vec<(FactKind, Side, String)>,
}

impl Sink for FrameSink {
    #[allow(irrefutable_let_patterns)]
    fn pdu(&mut self, dir: Direction, pdu: &Pdu<'_>) {
        self.all += 1;
        if std::env::var_os("AMQP_DUMP").is_some() {
            let json = serde_json::to_string(pdu).unwrap();
            eprintln!("  frame {} {dir:?} {json}", self.frame);
        }
        if let Pdu::Amqp(a) = pdu {
            let key = if a.version == Version::V10 {
                ("1.0".to_string(), None, None, None, a.performative)
            } else {
                (
                    "0-9-1".to_string(),
                    a.channel,
                    a.class_id,
                    a.method_id,
                    None,
                )
            };
            self.got.entry(self.frame).or_default().push(key);
        }
    }
    fn event(&mut self, dir: Direction, event: Event) {
        if std::env::var_os("AMQP_DUMP").is_some() {
            eprintln!("  frame {} {dir:?} event {}", self.frame, event.name);
        }
        self.events.push(event.name);
    }
    fn fact(&mut self, fact: Fact<'_>) {
        let v = match fact.value {
            edgetap_dissectors::FactValue::Text(s) => s.to_string(),
            edgetap_dissectors::FactValue::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            edgetap_dissectors::FactValue::Number(n) => n.to_string(),
        };
        self.facts.push((fact.kind, fact.about, v));
    }
}

struct Outcome {
    total: usize,
    matched: usize,
    sink: FrameSink,
    misses: Vec<String>,
}

fn dir_of(s: &str) -> Direction {
    if s == "0" {
        Direction::ToServer
    } else {
        Direction::ToClient
    }
}

fn run(text: &str) -> Outcome {
    let mut sessions: HashMap<u64, Session> = HashMap::new();
    let mut sink = FrameSink::default();
    let mut want: Vec<(u64, Key)> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split(' ').collect();
        let frame: u64 = f[1].parse().unwrap();
        match f[0] {
            "D" | "G" => {
                let s = sessions.entry(f[2].parse().unwrap()).or_default();
                sink.frame = frame;
                if f[0] == "D" {
                    let bytes = hex(f[4]);
                    s.parse(dir_of(f[3]), &bytes, &mut sink);
                } else {
                    s.on_gap(dir_of(f[3]), f[4].parse().unwrap(), &mut sink);
                }
            }
            "E" if f[2] == "1.0" => {
                want.push((frame, ("1.0".into(), None, None, None, f[3].parse().ok())));
            }
            "E" => want.push((
                frame,
                (
                    "0-9-1".into(),
                    f[3].parse().ok(),
                    f[4].parse().ok(),
                    f[5].parse().ok(),
                    None,
                ),
            )),
            other => panic!("bad fixture line kind {other}"),
        }
    }
    let mut pool = sink.got.clone();
    let mut matched = 0;
    let mut misses = Vec::new();
    for (frame, key) in &want {
        let list = pool.entry(*frame).or_default();
        if let Some(i) = list.iter().position(|k| k == key) {
            list.remove(i);
            matched += 1;
        } else if misses.len() < 10 {
            misses.push(format!("frame {frame}: tshark {key:?}, ours {list:?}"));
        }
    }
    Outcome {
        total: want.len(),
        matched,
        sink,
        misses,
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn check(name: &str, text: &str) -> Outcome {
    let o = run(text);
    eprintln!(
        "{name}: {}/{} agree, {} PDUs of ours, {} events",
        o.matched,
        o.total,
        o.sink.all,
        o.sink.events.len()
    );
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for e in &o.sink.events {
        match counts.iter_mut().find(|(n, _)| n == e) {
            Some(c) => c.1 += 1,
            None => counts.push((e, 1)),
        }
    }
    eprintln!("  events: {counts:?}");
    for m in &o.misses {
        eprintln!("  {m}");
    }
    o
}

macro_rules! fixture {
    ($name:ident, $file:literal) => {
        #[test]
        fn $name() {
            let o = check($file, include_str!(concat!("data/", $file)));
            assert!(o.total > 0);
            assert_eq!(o.matched, o.total, "{:?}", o.misses);
        }
    };
}

fixture!(parser_amqp, "amqp_amqp-parser_amqp.txt");
fixture!(deepflow_error, "amqp_deepflow_amqp-error.txt");
fixture!(deepflow_1, "amqp_deepflow_amqp1.txt");
fixture!(deepflow_2, "amqp_deepflow_amqp2.txt");
fixture!(deepflow_3, "amqp_deepflow_amqp3.txt");
fixture!(
    type_test_boolean,
    "amqp_amqpanalyze_amqp10_type_test_boolean.txt"
);
fixture!(proton_broker, "amqp_amqp10-proton-broker.txt");

#[test]
fn pika_rabbitmq() {
    let o = check(
        "amqp091-rabbitmq-pika",
        include_str!("data/amqp_amqp091-rabbitmq-pika.txt"),
    );
    assert_eq!(o.matched, o.total, "{:?}", o.misses);
    // The refused login: a 403 connection.close; the passive declare of a missing queue: 404.
    assert!(o.sink.events.contains(&"amqp.access_refused"));
    assert!(o.sink.events.contains(&"amqp.connection_close_error"));
    let has = |k: FactKind, s: Side, v: &str| o.sink.facts.contains(&(k, s, v.to_string()));
    assert!(has(FactKind::AmqpProduct, Side::Server, "RabbitMQ"));
    assert!(has(FactKind::AmqpVersion, Side::Server, "3.10.8"));
    assert!(has(
        FactKind::AmqpPlatform,
        Side::Server,
        "Erlang/OTP 25.2.3"
    ));
    assert!(has(
        FactKind::AmqpProduct,
        Side::Client,
        "Pika Python Client Library"
    ));
    assert!(has(FactKind::AmqpVersion, Side::Client, "1.2.0"));
    assert!(has(FactKind::AmqpPlatform, Side::Client, "Python 3.11.2"));
    assert!(has(FactKind::AmqpVirtualHost, Side::Server, "/"));
}

#[test]
fn proton_rabbitmq() {
    let o = check(
        "amqp10-rabbitmq-proton",
        include_str!("data/amqp_amqp10-rabbitmq-proton.txt"),
    );
    assert_eq!(o.matched, o.total, "{:?}", o.misses);
    // The refused login (SASL outcome auth) and the attach to a bogus address (detach error).
    assert!(o.sink.events.contains(&"amqp.sasl_auth_failure"));
    assert!(o.sink.events.contains(&"amqp.connection_close_error"));
    let has = |k: FactKind, s: Side, v: &str| o.sink.facts.contains(&(k, s, v.to_string()));
    assert!(has(FactKind::AmqpContainerId, Side::Server, "rabbit@vm"));
    assert!(has(FactKind::AmqpProduct, Side::Server, "RabbitMQ"));
    assert!(has(FactKind::AmqpVirtualHost, Side::Server, "127.0.0.1"));
}

/// Every `amqp_*.txt` in `$AMQP_FIXTURES` (for the captures too large to check in).
#[test]
#[ignore = "needs a fixture directory made by the fixture script: AMQP_FIXTURES=DIR cargo test -- --ignored"]
fn external_fixtures() {
    let Ok(dir) = std::env::var("AMQP_FIXTURES") else {
        panic!("set AMQP_FIXTURES to a directory of fixtures made by the fixture script");
    };
    let (mut total, mut matched) = (0, 0);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("amqp_") && n.ends_with(".txt")
        })
        .collect();
    names.sort();
    for p in names {
        let o = check(
            &p.display().to_string(),
            &std::fs::read_to_string(&p).unwrap(),
        );
        total += o.total;
        matched += o.matched;
    }
    let pct = 100.0 * matched as f64 / total.max(1) as f64;
    eprintln!("AMQP_FIXTURES: {matched}/{total} = {pct:.2}%");
    assert!(pct >= 99.5);
}
