#![cfg(feature = "modbus")]
//! Agreement with Wireshark on real captures.
//!
//! Each `tests/data/modbus_*.txt` fixture was made from one capture of `shared/pcaps/*/modbus/`
//! with tshark 4.0 by `tests/data/modbus_fixture_gen.py PCAP OUT`: `D frame stream dir hex` lines are the in-order TCP payloads of each flow (retransmitted bytes removed, holes
//! as `G frame stream dir len` gap lines), `E frame tid unit fc exc` lines are the Modbus/TCP
//! PDUs tshark decodes in that frame (malformed frames left out). The test feeds the payloads to
//! one [`Session`] per flow and checks that each of tshark's PDUs is found in the same frame with
//! the same contract fields (transaction id, unit id, function code, exception code).
//!
//! Set `MODBUS_FIXTURES=DIR` to also run every `*.txt` fixture in DIR (the large captures are
//! not checked in).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]

use std::collections::HashMap;

use edgetap_dissectors::modbus::Session;
use edgetap_dissectors::{Direction, Dissector, Event, Pdu, Sink};

type Key = (u16, u8, u8, Option<u8>);

#[derive(Default)]
struct FrameSink {
    frame: u64,
    got: HashMap<u64, Vec<Key>>,
    events: usize,
}

impl Sink for FrameSink {
    #[allow(irrefutable_let_patterns)]
    fn pdu(&mut self, _dir: Direction, pdu: &Pdu<'_>) {
        if let Pdu::Modbus(m) = pdu {
            self.got.entry(self.frame).or_default().push((
                m.transaction_id,
                m.unit_id,
                m.function_code,
                m.exception_code,
            ));
        }
    }
    fn event(&mut self, _dir: Direction, _event: Event) {
        self.events += 1;
    }
}

struct Outcome {
    total: usize,
    matched: usize,
    /// Our PDUs that tshark does not have.
    extra: usize,
    misses: Vec<String>,
}

fn run(text: &str) -> Outcome {
    let mut sessions: HashMap<u64, Session> = HashMap::new();
    let mut sink = FrameSink::default();
    let mut want: Vec<(u64, u16, u8, u8, Option<u8>)> = Vec::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split(' ').collect();
        let frame: u64 = f[1].parse().unwrap();
        match f[0] {
            "D" | "G" => {
                let stream: u64 = f[2].parse().unwrap();
                let dir = if f[3] == "1" {
                    Direction::ToClient
                } else {
                    Direction::ToServer
                };
                sink.frame = frame;
                let s = sessions.entry(stream).or_default();
                if f[0] == "D" {
                    s.parse(dir, &hex(f[4]), &mut sink);
                } else {
                    s.on_gap(dir, f[4].parse().unwrap(), &mut sink);
                }
            }
            "E" => {
                let exc = (f[5] != "-").then(|| f[5].parse().unwrap());
                want.push((
                    frame,
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                    f[4].parse().unwrap(),
                    exc,
                ));
            }
            other => panic!("bad fixture line kind {other}"),
        }
    }
    let mut out = Outcome {
        total: want.len(),
        matched: 0,
        extra: 0,
        misses: Vec::new(),
    };
    for (frame, tid, unit, fc, exc) in want {
        let pool = sink.got.entry(frame).or_default();
        let hit = pool.iter().position(|&(t, u, c, e)| {
            t == tid && u == unit && c == fc && (exc.is_none() || e == exc)
        });
        match hit {
            Some(i) => {
                pool.remove(i);
                out.matched += 1;
            }
            None => out.misses.push(format!(
                "frame {frame}: tshark tid {tid} unit {unit} fc {fc} exc {exc:?}; ours {pool:?}"
            )),
        }
    }
    out.extra = sink.got.values().map(Vec::len).sum();
    out
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (fixture, tshark PDUs, PDUs we must match).
const CHECKED_IN: &[(&str, usize, usize)] = &[
    ("modbus_icsnpp_modbus_example.txt", 48, 48),
    ("modbus_iti_bro_modbusSmall.txt", 32, 32),
    ("modbus_iti_bro_modbus_fuzz-72.txt", 17, 17),
    ("modbus_iti_digitalbond_modbus_test_data_part1.txt", 45, 45),
    (
        "modbus_iti_digitalbond_modbus_test_data_part2_fcscan.txt",
        279,
        279,
    ),
    ("modbus_iti_modicon_umas_fc90.txt", 180, 180),
    ("modbus_peers_pymodbus-mbpoll.txt", 28, 28),
    ("modbus_peers_tokio-modbus.txt", 8, 8),
];

#[test]
fn agrees_with_tshark_on_checked_in_captures() {
    for &(name, total, matched) in CHECKED_IN {
        let o = run(&fixture(name));
        assert_eq!(o.total, total, "{name}: tshark PDU count");
        assert!(
            o.matched >= matched,
            "{name}: matched {}/{} (want {matched}); misses: {:#?}",
            o.matched,
            o.total,
            o.misses
        );
    }
}

#[test]
#[ignore = "needs a fixture directory made by the fixture script: MODBUS_FIXTURES=DIR cargo test -- --ignored"]
fn agrees_with_tshark_on_fixture_dir() {
    let Ok(dir) = std::env::var("MODBUS_FIXTURES") else {
        panic!("set MODBUS_FIXTURES to a directory of fixtures made by the fixture script");
    };
    let (mut total, mut matched) = (0, 0);
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    names.sort();
    for path in names {
        let o = run(&std::fs::read_to_string(&path).unwrap());
        eprintln!(
            "{}: {}/{} extra {} {:?}",
            path.display(),
            o.matched,
            o.total,
            o.extra,
            o.misses.iter().take(5).collect::<Vec<_>>()
        );
        total += o.total;
        matched += o.matched;
    }
    eprintln!(
        "AGREE {matched}/{total} = {:.3}%",
        100.0 * matched as f64 / total.max(1) as f64
    );
    assert!(matched * 1000 >= total * 995, "{matched}/{total}");
}

/// pymodbus's FC 43/14 answer in the peers capture (frame 27): identity facts and the JSON.
#[test]
fn pymodbus_device_identification() {
    use edgetap_dissectors::{Collect, FactKind, Side};
    let text = fixture("modbus_peers_pymodbus-mbpoll.txt");
    let line = |frame: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("D {frame} ")))
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .to_string()
    };
    let mut s = Session::default();
    let mut c = Collect::default();
    s.parse(Direction::ToServer, &hex(&line("26")), &mut c);
    s.parse(Direction::ToClient, &hex(&line("27")), &mut c);
    assert!(c.events.is_empty(), "{:?}", c.events);
    let rsp: serde_json::Value = serde_json::from_str(&c.pdus[1].1).unwrap();
    assert_eq!(
        rsp,
        serde_json::json!({"modbus": {
            "transaction_id": 11, "unit_id": 0, "function_code": 43, "kind": "response",
            "length": 35, "mei_type": 14, "read_device_id_code": 1, "conformity_level": 0x83,
            "more_follows": false, "next_object_id": 0,
            "objects": [{"id": 0, "value": "EdgetapTest"}, {"id": 1, "value": "PLC-1"},
                        {"id": 2, "value": "3.0.0"}]}})
    );
    let facts: Vec<_> = c
        .facts
        .iter()
        .map(|(k, s, v)| (*k, *s, v.as_str()))
        .collect();
    assert_eq!(
        facts,
        vec![
            (FactKind::ModbusUnitId, Side::Server, "0"),
            (FactKind::ModbusVendor, Side::Server, "EdgetapTest"),
            (FactKind::ModbusProductCode, Side::Server, "PLC-1"),
            (FactKind::ModbusRevision, Side::Server, "3.0.0"),
        ]
    );
}
