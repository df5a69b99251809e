//! The AMQP golden cases (`pcaps/amqp/`): client 192.168.10.20:49320 (49321 for a second
//! connection), broker 192.168.10.5:5672 (5673 for `nonstandard-port.pcap`).

use std::io;

use super::{conv_v4, pcap_bytes, second_conv};
use crate::proto::amqp as a;
use crate::{Dir, LinkType, PacketSink, TcpConv};

/// The AMQP golden cases, as file names under `amqp/`.
pub const CASES: &[&str] = &[
    "basic-091.pcap",
    "basic-10.pcap",
    "large-message.pcap",
    "several-frames-per-segment.pcap",
    "midstream.pcap",
    "nonstandard-port.pcap",
    "refused-auth.pcap",
    "malformed-oversize.pcap",
];

/// Body size of the large messages.
pub const LARGE_BODY: usize = 200_000;
/// Size field of the over-the-cap frame in `malformed-oversize.pcap`.
pub const OVERSIZE_FRAME: usize = 300_000;

fn body_of(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| b'A' + ((i + seed as usize) % 26) as u8)
        .collect()
}

/// Header, connection.start / start-ok / tune / tune-ok / open / open-ok.
fn handshake_091<S: PacketSink>(w: &mut S, c: &mut TcpConv) -> io::Result<()> {
    c.handshake(w)?;
    c.send(w, Dir::ToServer, a::HEADER_091)?;
    c.send(w, Dir::ToClient, &a::connection_start("RabbitMQ"))?;
    c.send(
        w,
        Dir::ToServer,
        &a::connection_start_ok("edgetap-golden", "guest", "guest"),
    )?;
    c.send(
        w,
        Dir::ToClient,
        &a::connection_tune(false, 2047, 131_072, 60),
    )?;
    c.send(
        w,
        Dir::ToServer,
        &a::connection_tune(true, 2047, 131_072, 60),
    )?;
    c.send(w, Dir::ToServer, &a::connection_open("/"))?;
    c.send(w, Dir::ToClient, &a::connection_open_ok())?;
    c.send(w, Dir::ToServer, &a::channel_open(1))?;
    c.send(w, Dir::ToClient, &a::channel_open_ok(1))
}

/// channel.close / close-ok, connection.close / close-ok, FIN.
fn close_091<S: PacketSink>(w: &mut S, c: &mut TcpConv) -> io::Result<()> {
    c.send(
        w,
        Dir::ToServer,
        &a::channel_close(1, 200, "Normal shutdown"),
    )?;
    c.send(w, Dir::ToClient, &a::channel_close_ok(1))?;
    c.send(
        w,
        Dir::ToServer,
        &a::connection_close(200, "Normal shutdown"),
    )?;
    c.send(w, Dir::ToClient, &a::connection_close_ok())?;
    c.close(w, Dir::ToServer)
}

fn basic_091<S: PacketSink>(w: &mut S, mut c: TcpConv) -> io::Result<()> {
    handshake_091(w, &mut c)?;
    c.send(w, Dir::ToServer, &a::exchange_declare(1, "plant", "topic"))?;
    c.send(w, Dir::ToClient, &a::exchange_declare_ok(1))?;
    c.send(w, Dir::ToServer, &a::queue_declare(1, "telemetry"))?;
    c.send(w, Dir::ToClient, &a::queue_declare_ok(1, "telemetry", 0, 0))?;
    c.send(
        w,
        Dir::ToServer,
        &a::basic_publish(1, "plant", "line1.temp", b"{\"temp\":21.5}"),
    )?;
    c.ack(w, Dir::ToClient)?;
    c.send(
        w,
        Dir::ToServer,
        &a::basic_consume(1, "telemetry", "ctag-1"),
    )?;
    c.send(w, Dir::ToClient, &a::basic_consume_ok(1, "ctag-1"))?;
    c.send(
        w,
        Dir::ToClient,
        &a::basic_deliver(1, "ctag-1", 1, "plant", "line1.temp", b"{\"temp\":21.5}"),
    )?;
    c.send(w, Dir::ToServer, &a::basic_ack(1, 1))?;
    c.ack(w, Dir::ToClient)?;
    close_091(w, &mut c)
}

/// SASL and AMQP headers, SASL PLAIN accepted, open and begin both ways.
fn start_10<S: PacketSink>(w: &mut S, c: &mut TcpConv) -> io::Result<()> {
    c.handshake(w)?;
    c.send(w, Dir::ToServer, a::HEADER_10_SASL)?;
    c.send(
        w,
        Dir::ToClient,
        &[
            a::HEADER_10_SASL.to_vec(),
            a::sasl_mechanisms(&["PLAIN", "ANONYMOUS"]),
        ]
        .concat(),
    )?;
    c.send(
        w,
        Dir::ToServer,
        &a::sasl_init("PLAIN", b"\0guest\0guest", "broker.plant.local"),
    )?;
    c.send(w, Dir::ToClient, &a::sasl_outcome(0))?;
    c.send(w, Dir::ToServer, a::HEADER_10)?;
    c.send(w, Dir::ToClient, a::HEADER_10)?;
    c.send(
        w,
        Dir::ToServer,
        &a::open_10("edge-client-1", "broker.plant.local"),
    )?;
    c.send(
        w,
        Dir::ToClient,
        &a::open_10("broker-1", "broker.plant.local"),
    )?;
    c.send(w, Dir::ToServer, &a::begin_10(0, None))?;
    c.send(w, Dir::ToClient, &a::begin_10(0, Some(0)))
}

/// detach / end / close both ways, FIN.
fn finish_10<S: PacketSink>(w: &mut S, c: &mut TcpConv) -> io::Result<()> {
    c.send(w, Dir::ToServer, &a::detach_10(0, 0))?;
    c.send(w, Dir::ToClient, &a::detach_10(0, 0))?;
    c.send(w, Dir::ToServer, &a::end_10(0))?;
    c.send(w, Dir::ToClient, &a::end_10(0))?;
    c.send(w, Dir::ToServer, &a::close_10())?;
    c.send(w, Dir::ToClient, &a::close_10())?;
    c.close(w, Dir::ToServer)
}

fn basic_10<S: PacketSink>(w: &mut S, mut c: TcpConv) -> io::Result<()> {
    start_10(w, &mut c)?;
    c.send(
        w,
        Dir::ToServer,
        &a::attach_10(0, "sender-1", 0, false, "plant/telemetry"),
    )?;
    c.send(
        w,
        Dir::ToClient,
        &a::attach_10(0, "sender-1", 0, true, "plant/telemetry"),
    )?;
    c.send(w, Dir::ToClient, &a::flow_10(0, 0, 100))?;
    c.send(
        w,
        Dir::ToServer,
        &a::transfer_10(0, 0, 0, b"{\"temp\":21.5}"),
    )?;
    c.send(w, Dir::ToClient, &a::disposition_10(0, 0))?;
    finish_10(w, &mut c)
}

/// One case's capture file, in memory.
pub fn build(name: &str) -> io::Result<Vec<u8>> {
    let eth = LinkType::Ethernet;
    match name {
        "basic-091.pcap" => pcap_bytes(eth, |w| basic_091(w, conv_v4(5672))),
        "nonstandard-port.pcap" => pcap_bytes(eth, |w| basic_091(w, conv_v4(5673))),
        "basic-10.pcap" => pcap_bytes(eth, |w| basic_10(w, conv_v4(5672))),
        "large-message.pcap" => pcap_bytes(eth, |w| {
            // 0-9-1: a 200000-byte body in two body frames (frame-max 131072), the whole
            // publish cut in 1460-byte segments.
            let mut c = conv_v4(5672);
            handshake_091(w, &mut c)?;
            let body = body_of(LARGE_BODY, 0);
            let mut a_ = vec![0, 0];
            a_.extend_from_slice(&[5]);
            a_.extend_from_slice(b"plant");
            a_.extend_from_slice(&[11]);
            a_.extend_from_slice(b"camera.raw1");
            a_.push(0);
            let mut publish = a::method(1, 60, 40, &a_);
            publish.extend_from_slice(&a::content_header(1, body.len() as u64));
            let max = 131_072 - 8;
            publish.extend_from_slice(&a::frame(a::FRAME_BODY, 1, &body[..max]));
            publish.extend_from_slice(&a::frame(a::FRAME_BODY, 1, &body[max..]));
            c.send_segmented(w, Dir::ToServer, &publish, 1460)?;
            c.ack(w, Dir::ToClient)?;
            c.send(
                w,
                Dir::ToServer,
                &a::basic_publish(1, "plant", "after", b"{}"),
            )?;
            c.ack(w, Dir::ToClient)?;
            close_091(w, &mut c)?;
            // 1.0: a 200000-byte message over four transfer frames (max-frame-size 65536).
            let mut d = second_conv(&c, 5672);
            start_10(w, &mut d)?;
            d.send(
                w,
                Dir::ToServer,
                &a::attach_10(0, "sender-1", 0, false, "plant/camera"),
            )?;
            d.send(
                w,
                Dir::ToClient,
                &a::attach_10(0, "sender-1", 0, true, "plant/camera"),
            )?;
            d.send(w, Dir::ToClient, &a::flow_10(0, 0, 100))?;
            let msg = a::data_section(&body_of(LARGE_BODY, 7));
            let parts: Vec<&[u8]> = msg.chunks(60_000).collect();
            let mut frames = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                let first = (i == 0).then_some(0);
                frames.extend(a::transfer_10_part(0, 0, first, i + 1 < parts.len(), p));
            }
            d.send_segmented(w, Dir::ToServer, &frames, 1460)?;
            d.send(w, Dir::ToClient, &a::disposition_10(0, 0))?;
            d.send(w, Dir::ToServer, &a::transfer_10(0, 0, 1, b"after"))?;
            d.send(w, Dir::ToClient, &a::disposition_10(0, 1))?;
            finish_10(w, &mut d)
        }),
        "several-frames-per-segment.pcap" => pcap_bytes(eth, |w| {
            // 0-9-1: tune-ok + open in one segment, channel.open + exchange.declare +
            // queue.declare in one, their three replies in one, three publishes (9 frames) in
            // one, two deliveries and a heartbeat in one, and a segment ending inside a frame.
            let mut c = conv_v4(5672);
            c.handshake(w)?;
            c.send(w, Dir::ToServer, a::HEADER_091)?;
            c.send(w, Dir::ToClient, &a::connection_start("RabbitMQ"))?;
            c.send(
                w,
                Dir::ToServer,
                &a::connection_start_ok("edgetap-golden", "guest", "guest"),
            )?;
            c.send(
                w,
                Dir::ToClient,
                &a::connection_tune(false, 2047, 131_072, 60),
            )?;
            c.send(
                w,
                Dir::ToServer,
                &[
                    a::connection_tune(true, 2047, 131_072, 60),
                    a::connection_open("/"),
                ]
                .concat(),
            )?;
            c.send(w, Dir::ToClient, &a::connection_open_ok())?;
            c.send(
                w,
                Dir::ToServer,
                &[
                    a::channel_open(1),
                    a::exchange_declare(1, "plant", "topic"),
                    a::queue_declare(1, "telemetry"),
                ]
                .concat(),
            )?;
            c.send(
                w,
                Dir::ToClient,
                &[
                    a::channel_open_ok(1),
                    a::exchange_declare_ok(1),
                    a::queue_declare_ok(1, "telemetry", 0, 0),
                ]
                .concat(),
            )?;
            let pubs: Vec<u8> = (0..3)
                .flat_map(|i| {
                    a::basic_publish(
                        1,
                        "plant",
                        "line1.temp",
                        format!("{{\"n\":{i}}}").as_bytes(),
                    )
                })
                .collect();
            c.send(w, Dir::ToServer, &pubs)?;
            c.send(
                w,
                Dir::ToClient,
                &[
                    a::basic_deliver(1, "ctag-1", 1, "plant", "line1.temp", b"{\"n\":0}"),
                    a::basic_deliver(1, "ctag-1", 2, "plant", "line1.temp", b"{\"n\":1}"),
                    a::heartbeat(),
                ]
                .concat(),
            )?;
            let acks = [a::basic_ack(1, 1), a::basic_ack(1, 2)].concat();
            c.send_split(w, Dir::ToServer, &acks, &[a::basic_ack(1, 1).len() + 6])?;
            c.ack(w, Dir::ToClient)?;
            close_091(w, &mut c)?;
            // 1.0: SASL header + init in one segment; AMQP header + open + begin + attach in
            // one; the broker's header + open + begin + attach + flow in one.
            let mut d = second_conv(&c, 5672);
            d.handshake(w)?;
            d.send(
                w,
                Dir::ToServer,
                &[
                    a::HEADER_10_SASL.to_vec(),
                    a::sasl_init("ANONYMOUS", b"", "broker.plant.local"),
                ]
                .concat(),
            )?;
            d.send(
                w,
                Dir::ToClient,
                &[
                    a::HEADER_10_SASL.to_vec(),
                    a::sasl_mechanisms(&["ANONYMOUS"]),
                    a::sasl_outcome(0),
                ]
                .concat(),
            )?;
            d.send(
                w,
                Dir::ToServer,
                &[
                    a::HEADER_10.to_vec(),
                    a::open_10("edge-client-2", "broker.plant.local"),
                    a::begin_10(0, None),
                    a::attach_10(0, "sender-2", 0, false, "plant/telemetry"),
                ]
                .concat(),
            )?;
            d.send(
                w,
                Dir::ToClient,
                &[
                    a::HEADER_10.to_vec(),
                    a::open_10("broker-1", "broker.plant.local"),
                    a::begin_10(0, Some(0)),
                    a::attach_10(0, "sender-2", 0, true, "plant/telemetry"),
                    a::flow_10(0, 0, 100),
                ]
                .concat(),
            )?;
            d.send(
                w,
                Dir::ToServer,
                &[
                    a::transfer_10(0, 0, 0, b"{\"n\":0}"),
                    a::transfer_10(0, 0, 1, b"{\"n\":1}"),
                    a::empty_10(),
                ]
                .concat(),
            )?;
            d.send(w, Dir::ToClient, &a::disposition_10(0, 0))?;
            finish_10(w, &mut d)
        }),
        "midstream.pcap" => pcap_bytes(eth, |w| {
            // No handshake, no protocol header: opens on a basic.publish (method, header, body).
            let mut c = conv_v4(5672);
            c.send(
                w,
                Dir::ToServer,
                &a::basic_publish(1, "plant", "line2.flow", b"{\"flow\":3.1}"),
            )?;
            c.ack(w, Dir::ToClient)?;
            c.send(
                w,
                Dir::ToClient,
                &a::basic_deliver(1, "ctag-9", 41, "plant", "line2.flow", b"{\"flow\":3.0}"),
            )?;
            c.send(w, Dir::ToServer, &a::basic_ack(1, 41))?;
            c.send(w, Dir::ToServer, &a::heartbeat())?;
            c.send(w, Dir::ToClient, &a::heartbeat())?;
            c.send(
                w,
                Dir::ToServer,
                &a::basic_publish(1, "plant", "line2.flow", b"{\"flow\":3.2}"),
            )?;
            c.ack(w, Dir::ToClient)
        }),
        "refused-auth.pcap" => pcap_bytes(eth, |w| {
            // 0-9-1: bad credentials, connection.close 403 ACCESS_REFUSED, the broker hangs up.
            let mut c = conv_v4(5672);
            c.handshake(w)?;
            c.send(w, Dir::ToServer, a::HEADER_091)?;
            c.send(w, Dir::ToClient, &a::connection_start("RabbitMQ"))?;
            c.send(
                w,
                Dir::ToServer,
                &a::connection_start_ok("edgetap-golden", "guest", "wrong"),
            )?;
            c.send(
                w,
                Dir::ToClient,
                &a::connection_close(
                    403,
                    "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN",
                ),
            )?;
            c.close(w, Dir::ToClient)?;
            // 1.0: SASL PLAIN, outcome 1 (auth).
            let mut d = second_conv(&c, 5672);
            d.handshake(w)?;
            d.send(w, Dir::ToServer, a::HEADER_10_SASL)?;
            d.send(
                w,
                Dir::ToClient,
                &[a::HEADER_10_SASL.to_vec(), a::sasl_mechanisms(&["PLAIN"])].concat(),
            )?;
            d.send(
                w,
                Dir::ToServer,
                &a::sasl_init("PLAIN", b"\0guest\0wrong", "broker.plant.local"),
            )?;
            d.send(w, Dir::ToClient, &a::sasl_outcome(1))?;
            d.close(w, Dir::ToClient)
        }),
        "malformed-oversize.pcap" => pcap_bytes(eth, |w| {
            let mut c = conv_v4(5672);
            handshake_091(w, &mut c)?;
            // A method frame whose frame-end octet is 0xCF, alone in its segment.
            let mut bad = a::basic_ack(1, 1);
            let last = bad.len() - 1;
            bad[last] = 0xcf;
            c.send(w, Dir::ToServer, &bad)?;
            c.ack(w, Dir::ToClient)?;
            c.send(
                w,
                Dir::ToServer,
                &a::basic_publish(1, "plant", "after.bad.end", b"{}"),
            )?;
            c.ack(w, Dir::ToClient)?;
            // A 300000-byte body frame (over the 256 KiB cap) and, in its last segment, a
            // basic.ack.
            let big = a::frame(a::FRAME_BODY, 1, &body_of(OVERSIZE_FRAME, 3));
            c.send_segmented(w, Dir::ToServer, &[big, a::basic_ack(1, 2)].concat(), 1460)?;
            c.ack(w, Dir::ToClient)?;
            c.send(
                w,
                Dir::ToServer,
                &a::basic_publish(1, "plant", "after.oversize", b"{}"),
            )?;
            c.ack(w, Dir::ToClient)?;
            close_091(w, &mut c)
        }),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no amqp golden case {other:?}"),
        )),
    }
}
