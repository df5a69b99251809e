//! The BACnet/IP golden cases (`pcaps/bacnet/`): workstation 192.168.10.20, device
//! 192.168.10.5 (instance 1234), router / BBMD 192.168.10.1, all on UDP 47808 (47900 for
//! `nonstandard-port.pcap`); broadcasts go to 192.168.10.255.

use std::io;

use super::{pcap_bytes, CLIENT, SERVER};
use crate::proto::bacnet::{self as b, object, property, service, NetAddr, Value};
use crate::{Clock, Dir, Endpoint, LinkType, PacketSink, UdpConv, BROADCAST_MAC};

/// The BACnet golden cases, as file names under `bacnet/`.
pub const CASES: &[&str] = &[
    "basic.pcap",
    "routed-npdu.pcap",
    "forwarded-npdu.pcap",
    "segmented-apdu.pcap",
    "nonstandard-port.pcap",
    "malformed.pcap",
    "error-reject-abort.pcap",
    "write-and-control.pcap",
];

const ROUTER: [u8; 4] = [192, 168, 10, 1];
const BCAST: [u8; 4] = [192, 168, 10, 255];
const DEVICE: u32 = 1234;

/// Datagrams between any two endpoints on one packet clock.
struct Net {
    clock: Clock,
}

impl Net {
    fn new() -> Net {
        Net {
            clock: Clock::default(),
        }
    }
    fn send<S: PacketSink>(
        &mut self,
        w: &mut S,
        from: Endpoint,
        to: Endpoint,
        data: &[u8],
    ) -> io::Result<()> {
        let mut u = UdpConv::new(from, to).clock(self.clock);
        u.send(w, Dir::ToServer, data)?;
        self.clock = *u.clock_mut();
        Ok(())
    }
}

fn ep(ip: [u8; 4], port: u16) -> Endpoint {
    let e = Endpoint::v4(ip, port);
    if ip == BCAST {
        e.with_mac(BROADCAST_MAC)
    } else {
        e
    }
}

/// Who-Is / I-Am (broadcast), then three ReadProperty requests and their ComplexAcks.
fn basic<S: PacketSink>(w: &mut S, port: u16) -> io::Result<()> {
    let (ws, dev, bc) = (ep(CLIENT, port), ep(SERVER, port), ep(BCAST, port));
    let mut n = Net::new();
    n.send(w, ws, bc, &b::who_is(None))?;
    n.send(w, dev, bc, &b::i_am(DEVICE, 260))?;
    let reads: [(u8, u16, u32, u32, Value); 3] = [
        (
            1,
            object::DEVICE,
            DEVICE,
            property::OBJECT_NAME,
            Value::CharString("AHU-1".into()),
        ),
        (
            2,
            object::ANALOG_INPUT,
            1,
            property::PRESENT_VALUE,
            Value::Real(21.5),
        ),
        (
            3,
            object::BINARY_INPUT,
            2,
            property::PRESENT_VALUE,
            Value::Enumerated(1),
        ),
    ];
    for (id, ty, inst, prop, val) in reads {
        n.send(w, ws, dev, &b::read_property_req(id, ty, inst, prop))?;
        n.send(w, dev, ws, &b::read_property_ack(id, ty, inst, prop, &val))?;
    }
    Ok(())
}

fn routed<S: PacketSink>(w: &mut S) -> io::Result<()> {
    let (ws, rt, bc) = (ep(CLIENT, 47808), ep(ROUTER, 47808), ep(BCAST, 47808));
    let remote = NetAddr {
        net: 2001,
        mac: vec![0x0a],
    };
    let global = NetAddr {
        net: 0xffff,
        mac: vec![],
    };
    let mut n = Net::new();
    // Network layer: Who-Is-Router-To-Network, I-Am-Router-To-Network 2001, 2002.
    n.send(
        w,
        ws,
        bc,
        &b::bvlc(b::ORIGINAL_BROADCAST, &[0x01, 0x80, 0x00]),
    )?;
    n.send(
        w,
        rt,
        bc,
        &b::bvlc(
            b::ORIGINAL_BROADCAST,
            &[0x01, 0x80, 0x01, 0x07, 0xd1, 0x07, 0xd2],
        ),
    )?;
    // A global Who-Is (DNET 0xFFFF, hop count 255) and the remote device's I-Am through the
    // router (SNET 2001, SADR 0x0a).
    n.send(
        w,
        ws,
        bc,
        &b::bvlc(
            b::ORIGINAL_BROADCAST,
            &b::npdu_routed(false, Some((&global, 255)), None, &b::who_is_apdu()),
        ),
    )?;
    n.send(
        w,
        rt,
        bc,
        &b::bvlc(
            b::ORIGINAL_BROADCAST,
            &b::npdu_routed(false, None, Some(&remote), &b::i_am_apdu(20_010, 15)),
        ),
    )?;
    // ReadProperty to the remote device (DNET 2001, hop count 255) and its ack (SNET 2001).
    let req = b::confirmed_apdu(
        5,
        service::READ_PROPERTY,
        false,
        &b::read_property_args(object::ANALOG_VALUE, 3, property::PRESENT_VALUE),
    );
    n.send(
        w,
        ws,
        rt,
        &b::bvlc(
            b::ORIGINAL_UNICAST,
            &b::npdu_routed(true, Some((&remote, 255)), None, &req),
        ),
    )?;
    let mut ack = vec![0x30, 5, service::READ_PROPERTY];
    ack.extend_from_slice(&b::read_property_ack_args(
        object::ANALOG_VALUE,
        3,
        property::PRESENT_VALUE,
        &[Value::Real(55.25)],
    ));
    n.send(
        w,
        rt,
        ws,
        &b::bvlc(
            b::ORIGINAL_UNICAST,
            &b::npdu_routed(false, None, Some(&remote), &ack),
        ),
    )
}

fn forwarded<S: PacketSink>(w: &mut S) -> io::Result<()> {
    let (ws, bbmd, bc) = (ep(CLIENT, 47808), ep(ROUTER, 47808), ep(BCAST, 47808));
    let foreign = ep([10, 30, 0, 9], 47808);
    let mut n = Net::new();
    // A foreign device registers (TTL 300 s); the BBMD answers with a BVLC-Result 0.
    n.send(w, foreign, bbmd, &b::bvlc(0x05, &300u16.to_be_bytes()))?;
    n.send(w, bbmd, foreign, &b::bvlc(0x00, &[0, 0]))?;
    // It asks the BBMD to distribute a Who-Is.
    n.send(
        w,
        foreign,
        bbmd,
        &b::bvlc(0x09, &b::npdu(false, &b::who_is_apdu())),
    )?;
    // The BBMD forwards the Who-Is on the local network with the original address.
    n.send(
        w,
        bbmd,
        bc,
        &b::forwarded_npdu([10, 30, 0, 9], 47808, &b::npdu(false, &b::who_is_apdu())),
    )?;
    // An I-Am from a device behind another BBMD (10.20.0.7), forwarded.
    n.send(
        w,
        bbmd,
        bc,
        &b::forwarded_npdu(
            [10, 20, 0, 7],
            47808,
            &b::npdu(false, &b::i_am_apdu(7001, 5)),
        ),
    )?;
    // A forwarded routed I-Am (SNET 3001).
    let snet = NetAddr {
        net: 3001,
        mac: vec![0x01, 0x02],
    };
    n.send(
        w,
        bbmd,
        ws,
        &b::forwarded_npdu(
            [10, 20, 0, 8],
            47809,
            &b::npdu_routed(false, None, Some(&snet), &b::i_am_apdu(7002, 5)),
        ),
    )
}

fn segmented<S: PacketSink>(w: &mut S) -> io::Result<()> {
    let (ws, dev) = (ep(CLIENT, 47808), ep(SERVER, 47808));
    let mut n = Net::new();
    // ReadProperty of a multi-state value's state-text (110), segmented response accepted.
    let req = b::confirmed_apdu(
        7,
        service::READ_PROPERTY,
        true,
        &b::read_property_args(19, 1, 110),
    );
    n.send(
        w,
        ws,
        dev,
        &b::bvlc(b::ORIGINAL_UNICAST, &b::npdu(true, &req)),
    )?;
    let states: Vec<Value> = (1..=24)
        .map(|i| Value::CharString(format!("state {i:02}: operating mode with a long label")))
        .collect();
    let data = b::read_property_ack_args(19, 1, 110, &states);
    let third = data.len() / 3;
    let parts = [&data[..third], &data[third..2 * third], &data[2 * third..]];
    for (seq, part) in parts.iter().enumerate() {
        let more = seq + 1 < parts.len();
        let seg = b::complex_ack_segment(7, service::READ_PROPERTY, seq as u8, 1, more, part);
        n.send(w, dev, ws, &seg)?;
        n.send(w, ws, dev, &b::segment_ack(7, seq as u8, 1, false, false))?;
    }
    Ok(())
}

fn malformed<S: PacketSink>(w: &mut S) -> io::Result<()> {
    let (ws, dev) = (ep(CLIENT, 47808), ep(SERVER, 47808));
    let mut n = Net::new();
    let pair = |n: &mut Net, w: &mut S, id: u8| -> io::Result<()> {
        n.send(
            w,
            ws,
            dev,
            &b::read_property_req(id, object::ANALOG_INPUT, 1, property::PRESENT_VALUE),
        )?;
        n.send(
            w,
            dev,
            ws,
            &b::read_property_ack(
                id,
                object::ANALOG_INPUT,
                1,
                property::PRESENT_VALUE,
                &Value::Real(20.0 + f32::from(id)),
            ),
        )
    };
    pair(&mut n, w, 1)?;
    let good = b::read_property_req(2, object::ANALOG_INPUT, 1, property::PRESENT_VALUE);
    // 1: one byte of BVLC.
    n.send(w, ws, dev, &[0x81])?;
    // 2: a BVLC header cut after 3 bytes.
    n.send(w, ws, dev, &[0x81, 0x0a, 0x00])?;
    // 3: BVLC length 64, datagram 17 bytes.
    let mut long = good.clone();
    long[2..4].copy_from_slice(&64u16.to_be_bytes());
    n.send(w, ws, dev, &long)?;
    // 4: BVLC length 2 (less than its own header).
    let mut short = good.clone();
    short[2..4].copy_from_slice(&2u16.to_be_bytes());
    n.send(w, ws, dev, &short)?;
    // 5: NPDU version 2.
    let mut ver = good.clone();
    ver[4] = 0x02;
    n.send(w, ws, dev, &ver)?;
    // 6: a ReadProperty whose object identifier tag is cut short.
    let cut = b::bvlc(
        b::ORIGINAL_UNICAST,
        &b::npdu(true, &[0x00, 0x05, 0x09, 0x0c, 0x0c, 0x00]),
    );
    n.send(w, ws, dev, &cut)?;
    // Later datagrams decode.
    pair(&mut n, w, 3)
}

fn error_reject_abort<S: PacketSink>(w: &mut S) -> io::Result<()> {
    let (ws, dev) = (ep(CLIENT, 47808), ep(SERVER, 47808));
    let mut n = Net::new();
    // ReadProperty of an unknown object: Error (class object 1, code unknown-object 31).
    n.send(
        w,
        ws,
        dev,
        &b::read_property_req(1, object::ANALOG_INPUT, 99, property::PRESENT_VALUE),
    )?;
    n.send(w, dev, ws, &b::error(1, service::READ_PROPERTY, 1, 31))?;
    // ReadProperty of an unknown property: Error (class property 2, code unknown-property 32).
    n.send(
        w,
        ws,
        dev,
        &b::read_property_req(2, object::ANALOG_INPUT, 1, 9999),
    )?;
    n.send(w, dev, ws, &b::error(2, service::READ_PROPERTY, 2, 32))?;
    // A confirmed service the device does not know (choice 30): Reject, unrecognized service.
    n.send(w, ws, dev, &b::confirmed_request(3, 30, &[0x09, 0x01]))?;
    n.send(w, dev, ws, &b::reject(3, 9))?;
    // A request whose response needs segmentation the client did not accept: Abort from the
    // server, reason 4 (segmentation not supported).
    n.send(
        w,
        ws,
        dev,
        &b::read_property_req(4, object::DEVICE, DEVICE, 76),
    )?;
    n.send(w, dev, ws, &b::abort(4, 4, true))
}

fn write_and_control<S: PacketSink>(w: &mut S) -> io::Result<()> {
    let (ws, dev) = (ep(CLIENT, 47808), ep(SERVER, 47808));
    let mut n = Net::new();
    n.send(
        w,
        ws,
        dev,
        &b::confirmed_request(
            1,
            service::WRITE_PROPERTY,
            &b::write_property_args(
                object::ANALOG_VALUE,
                1,
                property::PRESENT_VALUE,
                &Value::Real(22.5),
                Some(8),
            ),
        ),
    )?;
    n.send(w, dev, ws, &b::simple_ack(1, service::WRITE_PROPERTY))?;
    n.send(
        w,
        ws,
        dev,
        &b::confirmed_request(
            2,
            service::DEVICE_COMMUNICATION_CONTROL,
            &b::device_communication_control_args(Some(15), 1, "secret"),
        ),
    )?;
    n.send(
        w,
        dev,
        ws,
        &b::simple_ack(2, service::DEVICE_COMMUNICATION_CONTROL),
    )?;
    n.send(
        w,
        ws,
        dev,
        &b::confirmed_request(
            3,
            service::REINITIALIZE_DEVICE,
            &b::reinitialize_device_args(1, "secret"),
        ),
    )?;
    n.send(w, dev, ws, &b::simple_ack(3, service::REINITIALIZE_DEVICE))
}

/// One case's capture file, in memory.
pub fn build(name: &str) -> io::Result<Vec<u8>> {
    let eth = LinkType::Ethernet;
    match name {
        "basic.pcap" => pcap_bytes(eth, |w| basic(w, 47808)),
        "nonstandard-port.pcap" => pcap_bytes(eth, |w| basic(w, 47900)),
        "routed-npdu.pcap" => pcap_bytes(eth, routed),
        "forwarded-npdu.pcap" => pcap_bytes(eth, forwarded),
        "segmented-apdu.pcap" => pcap_bytes(eth, segmented),
        "malformed.pcap" => pcap_bytes(eth, malformed),
        "error-reject-abort.pcap" => pcap_bytes(eth, error_reject_abort),
        "write-and-control.pcap" => pcap_bytes(eth, write_and_control),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no bacnet golden case {other:?}"),
        )),
    }
}
