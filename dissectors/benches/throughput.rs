//! Throughput of each dissector alone (MB/s of application payload), on streams of realistic
//! PDUs built with pcapgen's payload builders, fed in 1460-byte segments (so PDUs straddle
//! segments as on the wire) to a sink that counts. `cargo bench -p edgetap-dissectors`.
#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a benchmark on fixed input"
)]

use edgetap_dissectors::{new_session, Direction, Event, Pdu, Proto, Sink};
use pcapgen::proto::{amqp, bacnet, modbus, mqtt, opcua};
use std::time::Instant;

#[derive(Default)]
struct Count {
    pdus: u64,
}
impl Sink for Count {
    fn pdu(&mut self, _dir: Direction, pdu: &Pdu<'_>) {
        // Touch the PDU so the work is not optimised away.
        std::hint::black_box(pdu);
        self.pdus += 1;
    }
    fn event(&mut self, _dir: Direction, _event: Event) {}
}

/// (to-server stream, to-client stream), or datagrams for UDP.
fn streams(proto: Proto) -> (Vec<u8>, Vec<u8>) {
    let (mut c, mut s) = (Vec::new(), Vec::new());
    match proto {
        Proto::Modbus => {
            for t in 0..20_000u16 {
                c.extend(modbus::read_holding_registers_req(t, 1, t % 100, 10));
                s.extend(modbus::read_holding_registers_resp(t, 1, &[t; 10]));
                c.extend(modbus::write_single_register(t, 1, 7, t));
                s.extend(modbus::write_single_register(t, 1, 7, t));
            }
        }
        Proto::Mqtt => {
            c.extend(mqtt::connect(mqtt::Version::V311, "sensor-1", 60));
            s.extend(mqtt::connack(mqtt::Version::V311, false, 0));
            for i in 0..20_000u16 {
                c.extend(mqtt::publish(
                    mqtt::Version::V311,
                    "site/line1/temperature",
                    1,
                    i | 1,
                    false,
                    &[b'x'; 64],
                ));
                s.extend(mqtt::puback(mqtt::Version::V311, i | 1));
            }
        }
        Proto::Amqp => {
            c.extend(amqp::HEADER_091);
            s.extend(amqp::connection_start("RabbitMQ"));
            for i in 0..10_000u64 {
                c.extend(amqp::basic_publish(
                    1,
                    "telemetry",
                    "site.line1.temp",
                    &[b'y'; 128],
                ));
                s.extend(amqp::basic_ack(1, i));
            }
        }
        Proto::Opcua => {
            c.extend(opcua::hello("opc.tcp://plc:4840/"));
            s.extend(opcua::acknowledge());
            c.extend(opcua::open_secure_channel_req(1, 1));
            s.extend(opcua::open_secure_channel_resp(7, 1, 1, 1));
            let nodes = [
                opcua::NodeId::Numeric(2, 1001),
                opcua::NodeId::Numeric(2, 1002),
            ];
            let values = [opcua::Variant::Double(21.5), opcua::Variant::Int32(7)];
            for i in 2..10_002u32 {
                c.extend(opcua::read_request(7, 1, i, i, &nodes));
                s.extend(opcua::read_response(7, 1, i, i, &values));
            }
        }
        Proto::Bacnet => {
            // Length-prefixed datagrams, handed to the dissector one by one.
            for i in 0..20_000u32 {
                let req = bacnet::bvlc(
                    bacnet::ORIGINAL_UNICAST,
                    &bacnet::npdu(
                        true,
                        &bacnet::read_property_req((i % 256) as u8, 8, 1000, 77),
                    ),
                );
                let ack = bacnet::bvlc(
                    bacnet::ORIGINAL_UNICAST,
                    &bacnet::npdu(
                        false,
                        &bacnet::read_property_ack(
                            (i % 256) as u8,
                            8,
                            1000,
                            77,
                            &bacnet::Value::CharString("AHU-1".into()),
                        ),
                    ),
                );
                for (d, out) in [(req, &mut c), (ack, &mut s)] {
                    out.extend((d.len() as u32).to_le_bytes());
                    out.extend(d);
                }
            }
        }
    }
    (c, s)
}

fn run(proto: Proto, c: &[u8], s: &[u8]) -> u64 {
    let mut sess = new_session(proto).expect("protocol enabled");
    let mut sink = Count::default();
    if proto == Proto::Bacnet {
        for (data, dir) in [(c, Direction::ToServer), (s, Direction::ToClient)] {
            let mut rest = data;
            while let Some((len, tail)) = rest.split_first_chunk::<4>() {
                let n = u32::from_le_bytes(*len) as usize;
                let (dgram, tail) = tail.split_at(n);
                sess.parse(dir, dgram, &mut sink);
                rest = tail;
            }
        }
    } else {
        // Interleave the directions segment by segment, as a conversation would.
        let (mut a, mut b) = (c.chunks(1460), s.chunks(1460));
        loop {
            let (x, y) = (a.next(), b.next());
            if let Some(x) = x {
                sess.parse(Direction::ToServer, x, &mut sink);
            }
            if let Some(y) = y {
                sess.parse(Direction::ToClient, y, &mut sink);
            }
            if x.is_none() && y.is_none() {
                break;
            }
        }
    }
    sink.pdus
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    println!(
        "{:8} {:>10} {:>10} {:>10} {:>12}",
        "proto", "MB", "PDUs", "MB/s", "PDUs/s"
    );
    for proto in Proto::ALL {
        if !filter.is_empty() && !filter.iter().any(|f| proto.name().contains(f.as_str())) {
            continue;
        }
        let (c, s) = streams(proto);
        let bytes = (c.len() + s.len()) as f64;
        let mut best = f64::MAX;
        let mut pdus = 0;
        for _ in 0..7 {
            let t = Instant::now();
            pdus = run(proto, &c, &s);
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{:8} {:>10.2} {:>10} {:>10.0} {:>12.0}",
            proto.name(),
            bytes / 1e6,
            pdus,
            bytes / 1e6 / best,
            pdus as f64 / best
        );
    }
}
