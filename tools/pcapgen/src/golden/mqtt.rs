//! The MQTT golden cases (`pcaps/mqtt/`): client 192.168.10.20:49320, broker 192.168.10.5:1883
//! (1884 for `nonstandard-port.pcap`).

use std::io;

use super::{conv_v4, pcap_bytes, second_conv};
use crate::proto::mqtt::{self, ptype, Version};
use crate::{Dir, LinkType, PacketSink, TcpConv};

/// The MQTT golden cases, as file names under `mqtt/`.
pub const CASES: &[&str] = &[
    "basic-311.pcap",
    "basic-v5-properties.pcap",
    "segmentation.pcap",
    "midstream.pcap",
    "nonstandard-port.pcap",
    "refused-connect.pcap",
    "malformed.pcap",
    "oversize.pcap",
];

/// Size of the PUBLISH in `oversize.pcap`: over the dissector's 256 KiB buffer cap.
pub const OVERSIZE_PAYLOAD: usize = 300_000;

const V3: Version = Version::V311;

/// CONNECT / CONNACK, SUBSCRIBE / SUBACK, PUBLISH QoS 0, 1 (PUBACK) and 2 (PUBREC, PUBREL,
/// PUBCOMP), a PUBLISH from the broker (QoS 1, acknowledged), PINGREQ / PINGRESP, UNSUBSCRIBE /
/// UNSUBACK, DISCONNECT, FIN.
fn basic_311<S: PacketSink>(w: &mut S, mut c: TcpConv) -> io::Result<()> {
    c.handshake(w)?;
    c.send(w, Dir::ToServer, &mqtt::connect(V3, "edge-sensor-01", 60))?;
    c.send(w, Dir::ToClient, &mqtt::connack(V3, false, 0))?;
    c.send(
        w,
        Dir::ToServer,
        &mqtt::subscribe(V3, 1, &[("plant/line1/#", 2), ("plant/alarms", 1)]),
    )?;
    c.send(w, Dir::ToClient, &mqtt::suback(V3, 1, &[2, 1]))?;
    c.send(
        w,
        Dir::ToServer,
        &mqtt::publish(V3, "plant/line1/temp", 0, 0, false, b"21.5"),
    )?;
    c.ack(w, Dir::ToClient)?;
    c.send(
        w,
        Dir::ToServer,
        &mqtt::publish(V3, "plant/line1/pressure", 1, 2, false, b"1.013"),
    )?;
    c.send(w, Dir::ToClient, &mqtt::puback(V3, 2))?;
    c.send(
        w,
        Dir::ToServer,
        &mqtt::publish(V3, "plant/line1/state", 2, 3, true, b"RUNNING"),
    )?;
    c.send(w, Dir::ToClient, &mqtt::qos2_ack(ptype::PUBREC, 3))?;
    c.send(w, Dir::ToServer, &mqtt::qos2_ack(ptype::PUBREL, 3))?;
    c.send(w, Dir::ToClient, &mqtt::qos2_ack(ptype::PUBCOMP, 3))?;
    c.send(
        w,
        Dir::ToClient,
        &mqtt::publish(V3, "plant/alarms", 1, 1, false, b"{\"high_temp\":false}"),
    )?;
    c.send(w, Dir::ToServer, &mqtt::puback(V3, 1))?;
    c.send(w, Dir::ToServer, &mqtt::pingreq())?;
    c.send(w, Dir::ToClient, &mqtt::pingresp())?;
    c.send(w, Dir::ToServer, &mqtt::unsubscribe(4, &["plant/alarms"]))?;
    c.send(w, Dir::ToClient, &mqtt::unsuback(4))?;
    c.send(w, Dir::ToServer, &mqtt::disconnect(V3))?;
    c.close(w, Dir::ToServer)
}

fn connect_311<S: PacketSink>(w: &mut S, c: &mut TcpConv) -> io::Result<()> {
    c.handshake(w)?;
    c.send(w, Dir::ToServer, &mqtt::connect(V3, "edge-sensor-01", 60))?;
    c.send(w, Dir::ToClient, &mqtt::connack(V3, false, 0))
}

/// One case's capture file, in memory.
pub fn build(name: &str) -> io::Result<Vec<u8>> {
    let eth = LinkType::Ethernet;
    match name {
        "basic-311.pcap" => pcap_bytes(eth, |w| basic_311(w, conv_v4(1883))),
        "nonstandard-port.pcap" => pcap_bytes(eth, |w| basic_311(w, conv_v4(1884))),
        "basic-v5-properties.pcap" => pcap_bytes(eth, |w| {
            let mut c = conv_v4(1883);
            c.handshake(w)?;
            let props = [
                mqtt::prop_u32(0x11, 3600),
                mqtt::prop_u16(0x21, 20),
                mqtt::prop_u16(0x22, 10),
                mqtt::prop_user("site", "plant-7"),
            ]
            .concat();
            c.send(
                w,
                Dir::ToServer,
                &mqtt::connect_v5("edge-v5-01", 30, &props),
            )?;
            let ack_props = [mqtt::prop_u16(0x22, 10), mqtt::prop_u16(0x21, 100)].concat();
            c.send(w, Dir::ToClient, &mqtt::connack_v5(false, 0, &ack_props))?;
            // First PUBLISH sets alias 1 and carries user properties.
            let p1 = [
                mqtt::prop_u16(0x23, 1),
                mqtt::prop_str(0x03, "text/plain"),
                mqtt::prop_user("unit", "bar"),
                mqtt::prop_user("sensor", "PT-101"),
            ]
            .concat();
            c.send(
                w,
                Dir::ToServer,
                &mqtt::publish_v5("plant/line1/pressure", 1, 1, &p1, b"1.013"),
            )?;
            c.send(w, Dir::ToClient, &mqtt::puback(Version::V5, 1))?;
            // Second PUBLISH: empty topic, alias 1.
            let p2 = [mqtt::prop_u16(0x23, 1), mqtt::prop_user("unit", "bar")].concat();
            c.send(w, Dir::ToServer, &mqtt::publish_v5("", 0, 0, &p2, b"1.020"))?;
            c.ack(w, Dir::ToClient)?;
            // Third: empty topic, alias 7 never set.
            let p3 = mqtt::prop_u16(0x23, 7);
            c.send(w, Dir::ToServer, &mqtt::publish_v5("", 0, 0, &p3, b"0"))?;
            c.ack(w, Dir::ToClient)?;
            c.send(w, Dir::ToServer, &mqtt::disconnect(Version::V5))?;
            c.close(w, Dir::ToServer)
        }),
        "segmentation.pcap" => pcap_bytes(eth, |w| {
            let mut c = conv_v4(1883);
            c.handshake(w)?;
            // CONNECT cut after its first byte (inside the fixed header).
            c.send_split(
                w,
                Dir::ToServer,
                &mqtt::connect(V3, "edge-seg-01", 60),
                &[1],
            )?;
            c.send(w, Dir::ToClient, &mqtt::connack(V3, false, 0))?;
            // A 20000-byte PUBLISH: first segment 2 bytes (inside the Remaining Length), then
            // 1460-byte segments.
            let payload: Vec<u8> = (0..20_000u32).map(|i| b'a' + (i % 26) as u8).collect();
            let big = mqtt::publish(V3, "plant/camera/snapshot", 1, 10, false, &payload);
            let mut cuts = vec![2];
            cuts.extend((1..).map(|i| 2 + i * 1460).take_while(|&x| x < big.len()));
            c.send_split(w, Dir::ToServer, &big, &cuts)?;
            c.send(w, Dir::ToClient, &mqtt::puback(V3, 10))?;
            // Three PUBLISHes and a PINGREQ in one segment.
            let many = [
                mqtt::publish(V3, "plant/line1/temp", 0, 0, false, b"21.5"),
                mqtt::publish(V3, "plant/line1/temp", 0, 0, false, b"21.6"),
                mqtt::publish(V3, "plant/line1/temp", 0, 0, false, b"21.7"),
                mqtt::pingreq(),
            ]
            .concat();
            c.send(w, Dir::ToServer, &many)?;
            c.send(w, Dir::ToClient, &mqtt::pingresp())?;
            // One whole PUBLISH and the first 5 bytes of the next, then the rest.
            let a = mqtt::publish(V3, "plant/line2/flow", 1, 11, false, b"3.2");
            let b = mqtt::publish(V3, "plant/line2/flow", 1, 12, false, b"3.3");
            let both = [a.clone(), b].concat();
            c.send_split(w, Dir::ToServer, &both, &[a.len() + 5])?;
            c.send(
                w,
                Dir::ToClient,
                &[mqtt::puback(V3, 11), mqtt::puback(V3, 12)].concat(),
            )?;
            c.send(w, Dir::ToServer, &mqtt::disconnect(V3))?;
            c.close(w, Dir::ToServer)
        }),
        "midstream.pcap" => pcap_bytes(eth, |w| {
            // No handshake, no CONNECT: the capture opens on a PUBLISH.
            let mut c = conv_v4(1883);
            c.send(
                w,
                Dir::ToServer,
                &mqtt::publish(V3, "plant/line2/flow", 1, 77, false, b"3.1"),
            )?;
            c.send(w, Dir::ToClient, &mqtt::puback(V3, 77))?;
            c.send(
                w,
                Dir::ToServer,
                &mqtt::publish(V3, "plant/line2/level", 0, 0, false, b"0.82"),
            )?;
            c.ack(w, Dir::ToClient)?;
            c.send(
                w,
                Dir::ToServer,
                &mqtt::subscribe(V3, 78, &[("plant/cmd/#", 1)]),
            )?;
            c.send(w, Dir::ToClient, &mqtt::suback(V3, 78, &[1]))?;
            c.send(
                w,
                Dir::ToClient,
                &mqtt::publish(V3, "plant/cmd/reset", 1, 5, false, b"1"),
            )?;
            c.send(w, Dir::ToServer, &mqtt::puback(V3, 5))?;
            c.send(w, Dir::ToServer, &mqtt::pingreq())?;
            c.send(w, Dir::ToClient, &mqtt::pingresp())
        }),
        "refused-connect.pcap" => pcap_bytes(eth, |w| {
            // 3.1.1: bad credentials, return code 5 (not authorized); the broker closes.
            let mut c = conv_v4(1883);
            c.handshake(w)?;
            c.send(
                w,
                Dir::ToServer,
                &mqtt::connect_with_auth(V3, "edge-bad-311", 60, "alice", b"wrong"),
            )?;
            c.send(w, Dir::ToClient, &mqtt::connack(V3, false, 5))?;
            c.close(w, Dir::ToClient)?;
            // 5.0: reason 0x86 (bad user name or password) with a reason string.
            let mut d = second_conv(&c, 1883);
            d.handshake(w)?;
            c = d;
            c.send(
                w,
                Dir::ToServer,
                &mqtt::connect_with_auth(Version::V5, "edge-bad-v5", 60, "alice", b"wrong"),
            )?;
            c.send(
                w,
                Dir::ToClient,
                &mqtt::connack_v5(false, 0x86, &mqtt::prop_str(0x1f, "bad credentials")),
            )?;
            c.close(w, Dir::ToClient)
        }),
        "malformed.pcap" => pcap_bytes(eth, |w| {
            let mut c = conv_v4(1883);
            connect_311(w, &mut c)?;
            // A Remaining Length of five bytes (the fifth is never allowed), alone in its
            // segment with some bytes after it.
            c.send(
                w,
                Dir::ToServer,
                &[
                    0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x04, b't', b'e', b's', b't',
                ],
            )?;
            c.ack(w, Dir::ToClient)?;
            // Then a good PUBLISH in the next segment.
            c.send(
                w,
                Dir::ToServer,
                &mqtt::publish(V3, "plant/ok/1", 0, 0, false, b"after-bad-length"),
            )?;
            c.ack(w, Dir::ToClient)?;
            // A PUBLISH with QoS 3 (flags 0b0110), packet id 9.
            let mut q3 = mqtt::publish(V3, "plant/bad/qos", 1, 9, false, b"x");
            q3[0] = 0x36;
            c.send(w, Dir::ToServer, &q3)?;
            c.ack(w, Dir::ToClient)?;
            // Later packets still decode.
            c.send(
                w,
                Dir::ToServer,
                &mqtt::publish(V3, "plant/ok/2", 1, 10, false, b"after-qos3"),
            )?;
            c.send(w, Dir::ToClient, &mqtt::puback(V3, 10))?;
            c.send(w, Dir::ToServer, &mqtt::pingreq())?;
            c.send(w, Dir::ToClient, &mqtt::pingresp())?;
            c.close(w, Dir::ToServer)
        }),
        "oversize.pcap" => pcap_bytes(eth, |w| {
            let mut c = conv_v4(1883);
            connect_311(w, &mut c)?;
            // A 300000-byte PUBLISH (over the 256 KiB cap) and, in its last segment, a small
            // PUBLISH that must still decode.
            let payload: Vec<u8> = (0..OVERSIZE_PAYLOAD).map(|i| (i % 251) as u8).collect();
            let big = mqtt::publish(V3, "plant/camera/raw", 0, 0, false, &payload);
            let small = mqtt::publish(V3, "plant/line1/temp", 1, 2, false, b"22.0");
            c.send_segmented(w, Dir::ToServer, &[big, small].concat(), 1460)?;
            c.send(w, Dir::ToClient, &mqtt::puback(V3, 2))?;
            c.send(
                w,
                Dir::ToServer,
                &mqtt::publish(V3, "plant/line1/temp", 0, 0, false, b"22.1"),
            )?;
            c.ack(w, Dir::ToClient)?;
            c.close(w, Dir::ToServer)
        }),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no mqtt golden case {other:?}"),
        )),
    }
}
