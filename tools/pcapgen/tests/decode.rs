//! Write captures with the library and read them back: with etherparse always, with tshark when
//! it is installed (it must be: a missing tshark fails these tests).

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcapgen::proto::{amqp, bacnet, modbus, mqtt, opcua};
use pcapgen::{
    tshark, Dir, Endpoint, LinkType, MemSink, PacketSink, PcapWriter, PcapngWriter, TcpConv,
    Timestamp, UdpConv, Vlan,
};

fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pcapgen-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn writer(name: &str, link: LinkType) -> (PathBuf, PcapWriter<BufWriter<File>>) {
    let p = tmp(name);
    let w = PcapWriter::new(BufWriter::new(File::create(&p).unwrap()), link).unwrap();
    (p, w)
}

/// tshark is the reference these tests check against; the test command installs it, so its
/// absence is a failure, not a skip.
fn have_tshark() -> bool {
    assert!(
        tshark::available(),
        "tshark is needed (apt-get install tshark; scripts/test.sh installs it)"
    );
    true
}

fn column(rows: &[Vec<String>], i: usize) -> Vec<String> {
    rows.iter()
        .map(|r| r.get(i).cloned().unwrap_or_default())
        .filter(|s| !s.is_empty())
        .collect()
}

const CHECKSUMS: [&str; 3] = [
    "tcp.check_checksum:TRUE",
    "udp.check_checksum:TRUE",
    "ip.check_checksum:TRUE",
];

fn assert_no_expert_errors(p: &std::path::Path) {
    let rows = tshark::fields(p, Some("_ws.malformed || _ws.expert.severity >= 6291456 || tcp.checksum.status == 0 || udp.checksum.status == 0 || ip.checksum.status == 0"), &["frame.number", "_ws.col.Info"], &CHECKSUMS).unwrap();
    assert!(
        rows.is_empty(),
        "malformed / bad checksum frames in {}: {rows:?}",
        p.display()
    );
}

fn cli(port: u16) -> Endpoint {
    Endpoint::v4([10, 0, 0, 1], port)
}
fn srv(port: u16) -> Endpoint {
    Endpoint::v4([10, 0, 0, 2], port)
}

#[test]
fn modbus_with_vlan_decodes() {
    let (p, mut w) = writer("modbus.pcap", LinkType::Ethernet);
    let mut c = TcpConv::new(cli(40001), srv(502)).vlan(Vlan::Single(10));
    c.handshake(&mut w).unwrap();
    c.send(
        &mut w,
        Dir::ToServer,
        &modbus::read_holding_registers_req(1, 1, 0, 2),
    )
    .unwrap();
    c.send(
        &mut w,
        Dir::ToClient,
        &modbus::read_holding_registers_resp(1, 1, &[7, 8]),
    )
    .unwrap();
    c.send(
        &mut w,
        Dir::ToServer,
        &modbus::write_single_register(2, 1, 5, 99),
    )
    .unwrap();
    c.send(
        &mut w,
        Dir::ToClient,
        &modbus::write_single_register(2, 1, 5, 99),
    )
    .unwrap();
    c.send(
        &mut w,
        Dir::ToServer,
        &modbus::read_device_id_req(3, 1, 1, 0),
    )
    .unwrap();
    c.send(
        &mut w,
        Dir::ToClient,
        &modbus::read_device_id_resp(3, 1, 1, &[(0, "Acme"), (1, "PLC-9")]),
    )
    .unwrap();
    c.send(
        &mut w,
        Dir::ToServer,
        &modbus::read_holding_registers_req(4, 1, 9000, 2),
    )
    .unwrap();
    c.send(&mut w, Dir::ToClient, &modbus::exception(4, 1, 3, 2))
        .unwrap();
    c.close(&mut w, Dir::ToServer).unwrap();
    assert_eq!(w.packets(), 14);
    w.finish().unwrap();
    if !have_tshark() {
        return;
    }
    let rows = tshark::fields(
        &p,
        Some("mbtcp"),
        &[
            "mbtcp.trans_id",
            "modbus.func_code",
            "vlan.id",
            "modbus.exception_code",
            "modbus.object_str_value",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(column(&rows, 0), ["1", "1", "2", "2", "3", "3", "4", "4"]);
    assert_eq!(column(&rows, 1), ["3", "3", "6", "6", "43", "43", "3", "3"]);
    assert!(column(&rows, 2).iter().all(|v| v == "10"));
    assert_eq!(column(&rows, 3), ["2"]);
    assert_eq!(column(&rows, 4), ["Acme,PLC-9"]);
    assert_no_expert_errors(&p);
}

#[test]
fn mqtt_v311_and_v5_decode() {
    for (name, ver, level) in [
        ("mqtt3.pcap", mqtt::Version::V311, "4"),
        ("mqtt5.pcap", mqtt::Version::V5, "5"),
    ] {
        let (p, mut w) = writer(name, LinkType::Ethernet);
        let mut c = TcpConv::new(cli(40002), srv(1883));
        c.handshake(&mut w).unwrap();
        c.send(&mut w, Dir::ToServer, &mqtt::connect(ver, "sensor-17", 60))
            .unwrap();
        c.send(&mut w, Dir::ToClient, &mqtt::connack(ver, false, 0))
            .unwrap();
        c.send(
            &mut w,
            Dir::ToServer,
            &mqtt::subscribe(ver, 1, &[("plant/+/temp", 1)]),
        )
        .unwrap();
        c.send(&mut w, Dir::ToClient, &mqtt::suback(ver, 1, &[1]))
            .unwrap();
        c.send(
            &mut w,
            Dir::ToServer,
            &mqtt::publish(ver, "plant/a/temp", 1, 2, false, b"{\"t\":21.5}"),
        )
        .unwrap();
        c.send(&mut w, Dir::ToClient, &mqtt::puback(ver, 2))
            .unwrap();
        c.send(&mut w, Dir::ToServer, &mqtt::pingreq()).unwrap();
        c.send(&mut w, Dir::ToClient, &mqtt::pingresp()).unwrap();
        // A large publish split by MSS (PDU across segments) and two PDUs in one segment.
        let big = vec![b'x'; 3000];
        c.send_segmented(
            &mut w,
            Dir::ToServer,
            &mqtt::publish(ver, "blob", 0, 0, false, &big),
            1460,
        )
        .unwrap();
        let mut two = mqtt::publish(ver, "a", 0, 0, false, b"1");
        two.extend(mqtt::publish(ver, "b", 0, 0, false, b"2"));
        c.send(&mut w, Dir::ToServer, &two).unwrap();
        c.send(&mut w, Dir::ToServer, &mqtt::disconnect(ver))
            .unwrap();
        c.close(&mut w, Dir::ToServer).unwrap();
        w.finish().unwrap();
        if !have_tshark() {
            return;
        }
        let rows = tshark::fields(
            &p,
            Some("mqtt"),
            &["mqtt.msgtype", "mqtt.clientid", "mqtt.topic", "mqtt.ver"],
            &[],
        )
        .unwrap();
        let types: Vec<String> = column(&rows, 0)
            .join(",")
            .split(',')
            .map(str::to_owned)
            .collect();
        assert_eq!(
            types,
            ["1", "2", "8", "9", "3", "4", "12", "13", "3", "3", "3", "14"],
            "{name}"
        );
        assert_eq!(column(&rows, 1), ["sensor-17"]);
        assert_eq!(
            column(&rows, 2).join(","),
            "plant/+/temp,plant/a/temp,blob,a,b"
        );
        assert_eq!(column(&rows, 3), [level]);
        assert_no_expert_errors(&p);
    }
}

#[test]
fn bacnet_decodes() {
    let (p, mut w) = writer("bacnet.pcap", LinkType::Ethernet);
    let mut b = UdpConv::new(cli(47808), Endpoint::v4([255, 255, 255, 255], 47808));
    b.send(&mut w, Dir::ToServer, &bacnet::who_is(None))
        .unwrap();
    b.send(&mut w, Dir::ToServer, &bacnet::who_is(Some((0, 4_194_303))))
        .unwrap();
    let mut u = UdpConv::new(cli(47808), srv(47808)).start(b.now());
    u.send(&mut w, Dir::ToClient, &bacnet::i_am(1234, 260))
        .unwrap();
    u.send(
        &mut w,
        Dir::ToServer,
        &bacnet::read_property_req(7, bacnet::object::ANALOG_INPUT, 3, 85),
    )
    .unwrap();
    u.send(
        &mut w,
        Dir::ToClient,
        &bacnet::read_property_ack(
            7,
            bacnet::object::ANALOG_INPUT,
            3,
            85,
            &bacnet::Value::Real(21.5),
        ),
    )
    .unwrap();
    u.send(
        &mut w,
        Dir::ToServer,
        &bacnet::read_property_req(8, bacnet::object::DEVICE, 1234, 77),
    )
    .unwrap();
    let name = bacnet::Value::CharString("AHU-1 controller".into());
    u.send(
        &mut w,
        Dir::ToClient,
        &bacnet::read_property_ack(8, bacnet::object::DEVICE, 1234, 77, &name),
    )
    .unwrap();
    u.send(&mut w, Dir::ToClient, &bacnet::error(9, 12, 1, 31))
        .unwrap();
    w.finish().unwrap();
    if !have_tshark() {
        return;
    }
    let rows = tshark::fields(
        &p,
        None,
        &[
            "bvlc.function",
            "bacapp.type",
            "bacapp.unconfirmed_service",
            "bacapp.confirmed_service",
            "bacapp.instance_number",
            "bacapp.invoke_id",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        column(&rows, 0),
        ["0x0b", "0x0b", "0x0b", "0x0a", "0x0a", "0x0a", "0x0a", "0x0a"]
    );
    assert_eq!(column(&rows, 1), ["1", "1", "1", "0", "3", "0", "3", "5"]);
    assert_eq!(column(&rows, 2), ["8", "8", "0"]);
    assert_eq!(column(&rows, 3), ["12", "12", "12", "12", "12"]);
    assert_eq!(column(&rows, 5), ["7", "7", "8", "8", "9"]);
    assert_no_expert_errors(&p);
}

#[test]
fn opcua_decodes() {
    let (p, mut w) = writer("opcua.pcap", LinkType::Ethernet);
    let mut c = TcpConv::new(cli(40003), srv(4840));
    c.handshake(&mut w).unwrap();
    c.send(
        &mut w,
        Dir::ToServer,
        &opcua::hello("opc.tcp://10.0.0.2:4840"),
    )
    .unwrap();
    c.send(&mut w, Dir::ToClient, &opcua::acknowledge())
        .unwrap();
    c.send(&mut w, Dir::ToServer, &opcua::open_secure_channel_req(1, 1))
        .unwrap();
    c.send(
        &mut w,
        Dir::ToClient,
        &opcua::open_secure_channel_resp(5, 1, 1, 1),
    )
    .unwrap();
    let nodes = [
        opcua::NodeId::Numeric(2, 1001),
        opcua::NodeId::String(2, "Line1.Speed".into()),
        opcua::NodeId::Numeric(3, 100_000),
    ];
    let req = opcua::read_request(5, 1, 2, 2, &nodes);
    assert_eq!(&req[24..28], &[0x01, 0x00, 0x77, 0x02]);
    c.send(&mut w, Dir::ToServer, &req).unwrap();
    let vals = [
        opcua::Variant::Double(1.5),
        opcua::Variant::Int32(42),
        opcua::Variant::String("ok".into()),
    ];
    c.send(
        &mut w,
        Dir::ToClient,
        &opcua::read_response(5, 1, 2, 2, &vals),
    )
    .unwrap();
    c.send(
        &mut w,
        Dir::ToServer,
        &opcua::close_secure_channel(5, 1, 3, 3),
    )
    .unwrap();
    c.close(&mut w, Dir::ToServer).unwrap();
    w.finish().unwrap();
    if !have_tshark() {
        return;
    }
    let rows = tshark::fields(
        &p,
        Some("opcua"),
        &[
            "opcua.transport.type",
            "opcua.servicenodeid.numeric",
            "opcua.security.spu",
            "opcua.Double",
            "opcua.Int32",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        column(&rows, 0),
        ["HEL", "ACK", "OPN", "OPN", "MSG", "MSG", "CLO"]
    );
    assert_eq!(column(&rows, 1), ["446", "449", "631", "634", "452"]);
    assert_eq!(column(&rows, 2)[0], opcua::SECURITY_POLICY_NONE);
    assert_eq!(column(&rows, 3), ["1.5"]);
    assert_eq!(column(&rows, 4), ["42"]);
    assert_no_expert_errors(&p);
}

#[test]
fn amqp_091_and_10_decode() {
    let (p, mut w) = writer("amqp.pcap", LinkType::Ethernet);
    let mut c = TcpConv::new(cli(40004), srv(5672));
    c.handshake(&mut w).unwrap();
    c.send(&mut w, Dir::ToServer, amqp::HEADER_091).unwrap();
    c.send(&mut w, Dir::ToClient, &amqp::connection_start("RabbitMQ"))
        .unwrap();
    c.send(
        &mut w,
        Dir::ToServer,
        &amqp::connection_start_ok("pika", "guest", "guest"),
    )
    .unwrap();
    c.send(
        &mut w,
        Dir::ToClient,
        &amqp::connection_tune(false, 2047, 131072, 60),
    )
    .unwrap();
    let mut seg = amqp::connection_tune(true, 2047, 131072, 60);
    seg.extend(amqp::connection_open("/"));
    c.send(&mut w, Dir::ToServer, &seg).unwrap();
    c.send(&mut w, Dir::ToClient, &amqp::connection_open_ok())
        .unwrap();
    c.send(&mut w, Dir::ToServer, &amqp::channel_open(1))
        .unwrap();
    c.send(&mut w, Dir::ToClient, &amqp::channel_open_ok(1))
        .unwrap();
    let publ = amqp::basic_publish(1, "amq.topic", "plant.a.temp", b"{\"t\":21.5}");
    assert!(publ.iter().filter(|&&b| b == 0xce).count() >= 3);
    c.send(&mut w, Dir::ToServer, &publ).unwrap();
    c.send(&mut w, Dir::ToServer, &amqp::heartbeat()).unwrap();
    c.send(&mut w, Dir::ToServer, &amqp::connection_close(200, "bye"))
        .unwrap();
    c.send(&mut w, Dir::ToClient, &amqp::connection_close_ok())
        .unwrap();
    c.close(&mut w, Dir::ToServer).unwrap();

    let mut d = TcpConv::new(cli(40005), srv(5672)).start(c.now());
    d.handshake(&mut w).unwrap();
    d.send(&mut w, Dir::ToServer, amqp::HEADER_10).unwrap();
    d.send(&mut w, Dir::ToClient, amqp::HEADER_10).unwrap();
    let open = amqp::open_10("client-1", "broker");
    assert_eq!(&open[8..11], &[0x00, 0x53, 0x10]);
    d.send(&mut w, Dir::ToServer, &open).unwrap();
    d.send(&mut w, Dir::ToClient, &amqp::open_10("broker-1", "broker"))
        .unwrap();
    d.send(&mut w, Dir::ToServer, &amqp::begin_10(0, None))
        .unwrap();
    d.send(&mut w, Dir::ToClient, &amqp::begin_10(0, Some(0)))
        .unwrap();
    d.send(
        &mut w,
        Dir::ToServer,
        &amqp::attach_10(0, "sender-1", 0, false, "plant/temp"),
    )
    .unwrap();
    d.send(
        &mut w,
        Dir::ToServer,
        &amqp::transfer_10(0, 0, 0, b"{\"t\":21.5}"),
    )
    .unwrap();
    d.send(&mut w, Dir::ToServer, &amqp::close_10()).unwrap();
    d.send(&mut w, Dir::ToClient, &amqp::close_10()).unwrap();
    d.close(&mut w, Dir::ToServer).unwrap();
    w.finish().unwrap();
    if !have_tshark() {
        return;
    }
    let rows = tshark::fields(
        &p,
        Some("tcp.stream == 0 && amqp"),
        &["amqp.method.class", "amqp.method.method", "amqp.type"],
        &[],
    )
    .unwrap();
    // Wireshark 4.0 does not recognise the 0-9-1 protocol header bytes (it looks for the 0-9
    // layout), so the header frame has no fields; every following frame decodes.
    assert_eq!(
        column(&rows, 0).join(","),
        "10,10,10,10,10,10,20,20,60,10,10"
    );
    assert_eq!(
        column(&rows, 1).join(","),
        "10,11,30,31,40,41,10,11,40,50,51"
    );
    assert!(
        column(&rows, 2).iter().any(|t| t == "1,2,3"),
        "publish = method + header + body: {rows:?}"
    );
    let rows = tshark::fields(
        &p,
        Some("tcp.stream == 1 && amqp"),
        &[
            "amqp.performative",
            "amqp.performative.arguments.containerId",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        column(&rows, 0),
        ["16", "16", "17", "17", "18", "20", "24", "24"]
    );
    assert_eq!(column(&rows, 1), ["client-1", "broker-1"]);
    assert_no_expert_errors(&p);
}

/// The same IPv4 and IPv6 conversations, QinQ tagged, on every link type.
#[test]
fn link_types_and_ipv6() {
    for link in [
        LinkType::Ethernet,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::RawIp,
        LinkType::Null,
    ] {
        let name = format!("link-{}.pcap", link.dlt());
        let (p, mut w) = writer(&name, link);
        let mut c4 = TcpConv::new(cli(40010), srv(502)).vlan(Vlan::QinQ {
            outer: 100,
            inner: 7,
        });
        c4.handshake(&mut w).unwrap();
        c4.send(
            &mut w,
            Dir::ToServer,
            &modbus::read_holding_registers_req(1, 1, 0, 1),
        )
        .unwrap();
        let c6 = Endpoint::v6("fd00::1".parse().unwrap(), 40011);
        let s6 = Endpoint::v6("fd00::2".parse().unwrap(), 1883);
        let mut t6 = TcpConv::new(c6, s6).start(c4.now());
        t6.handshake(&mut w).unwrap();
        t6.send(&mut w, Dir::ToServer, &mqtt::pingreq()).unwrap();
        let mut u6 =
            UdpConv::new(c6, Endpoint::v6("fd00::2".parse().unwrap(), 47808)).start(t6.now());
        u6.send(&mut w, Dir::ToServer, &bacnet::who_is(None))
            .unwrap();
        u6.ping(&mut w, Dir::ToServer, 1, 1, b"abcdefgh").unwrap();
        u6.ping(&mut w, Dir::ToClient, 1, 1, b"abcdefgh").unwrap();
        let mut u4 = UdpConv::new(cli(5000), srv(53)).start(u6.now());
        u4.ping(&mut w, Dir::ToServer, 1, 1, b"abcdefgh").unwrap();
        w.finish().unwrap();

        // etherparse agrees on every frame where it supports the link type.
        let data = std::fs::read(&p).unwrap();
        let mut off = 24;
        let mut n = 0;
        while off < data.len() {
            let cap = u32::from_le_bytes(data[off + 8..off + 12].try_into().unwrap()) as usize;
            let frame = &data[off + 16..off + 16 + cap];
            let sliced = match link {
                LinkType::Ethernet => Some(SlicedPacket::from_ethernet(frame).unwrap()),
                LinkType::RawIp => Some(SlicedPacket::from_ip(frame).unwrap()),
                LinkType::LinuxSll => Some(SlicedPacket::from_linux_sll(frame).unwrap()),
                _ => None,
            };
            if let Some(s) = sliced {
                assert!(s.net.is_some());
                if n < 4 {
                    assert!(matches!(s.net, Some(NetSlice::Ipv4(_))));
                    assert!(matches!(s.transport, Some(TransportSlice::Tcp(_))));
                }
            }
            off += 16 + cap;
            n += 1;
        }
        assert_eq!(n, 12);
        if !have_tshark() {
            continue;
        }
        let rows = tshark::fields(
            &p,
            None,
            &[
                "ip.src",
                "ipv6.src",
                "tcp.srcport",
                "udp.dstport",
                "icmp.type",
                "icmpv6.type",
                "vlan.id",
                "ieee8021ad.id",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(rows.len(), 12, "{name}");
        assert_eq!(column(&rows, 0).len(), 5, "{name}: {rows:?}");
        assert_eq!(column(&rows, 1).len(), 7, "{name}");
        assert_eq!(column(&rows, 2).len(), 8, "{name}");
        assert_eq!(column(&rows, 3), ["47808"], "{name}");
        assert_eq!(column(&rows, 4), ["8"], "{name}");
        assert_eq!(column(&rows, 5), ["128", "129"], "{name}");
        if link == LinkType::Ethernet {
            assert!(
                column(&rows, 6) == ["7"; 4] && column(&rows, 7) == ["100"; 4],
                "{rows:?}"
            );
        }
        assert_no_expert_errors(&p);
    }
}

#[test]
fn tcp_segmentation_retransmission_and_mid_stream() {
    let (p, mut w) = writer("tcp-behaviour.pcap", LinkType::Ethernet);
    let mut c = TcpConv::new(cli(40020), srv(502)).seqs(0xfffffff0, 77);
    // Mid-stream: no handshake; sequence numbers wrap around 2^32 during the conversation.
    let req = modbus::read_holding_registers_req(9, 1, 0, 10);
    // (tshark only desegments Modbus when the first segment holds the whole MBAP header)
    c.send_split(&mut w, Dir::ToServer, &req, &[8]).unwrap();
    c.send_segmented(
        &mut w,
        Dir::ToClient,
        &modbus::read_holding_registers_resp(9, 1, &[1; 10]),
        10,
    )
    .unwrap();
    c.retransmit_last(&mut w).unwrap();
    let req2 = modbus::read_holding_registers_req(10, 1, 0, 1);
    c.send_out_of_order(&mut w, Dir::ToServer, &req2, &[6], &[1, 0])
        .unwrap();
    c.ack(&mut w, Dir::ToClient).unwrap();
    c.rst(&mut w, Dir::ToServer).unwrap();
    assert_eq!(
        c.next_seq(Dir::ToServer),
        0xfffffff0u32.wrapping_add((req.len() + req2.len()) as u32)
    );
    w.finish().unwrap();
    if !have_tshark() {
        return;
    }
    let prefs = ["tcp.reassemble_out_of_order:TRUE"];
    let rows = tshark::fields(
        &p,
        None,
        &[
            "tcp.len",
            "tcp.analysis.retransmission",
            "tcp.analysis.out_of_order",
            "mbtcp.trans_id",
            "tcp.flags.reset",
        ],
        &prefs,
    )
    .unwrap();
    assert_eq!(column(&rows, 0).join(","), "8,4,10,10,9,9,6,6,0,0");
    assert!(
        !column(&rows, 1).is_empty(),
        "retransmission flagged: {rows:?}"
    );
    assert_eq!(column(&rows, 3).join(","), "9,9,10");
    let rst = &rows.last().unwrap()[4];
    assert!(rst == "1" || rst == "True", "last frame is the RST: {rst}");
}

#[test]
fn pcapng_and_nanosecond_timestamps() {
    let ts = Timestamp::from_secs(1_700_000_000).plus_nanos(123_456_789);
    // Classic nanosecond pcap.
    let p1 = tmp("nano.pcap");
    let mut w = PcapWriter::new_nano(
        BufWriter::new(File::create(&p1).unwrap()),
        LinkType::Ethernet,
    )
    .unwrap();
    let mut u = UdpConv::new(cli(5000), srv(47808)).clock(pcapgen::Clock::new(ts, 1));
    u.send(&mut w, Dir::ToServer, &bacnet::who_is(None))
        .unwrap();
    u.send(&mut w, Dir::ToClient, &bacnet::i_am(1, 2)).unwrap();
    w.finish().unwrap();
    // pcapng with two interfaces of different link types and resolutions.
    let p2 = tmp("two-ifaces.pcapng");
    let mut w = PcapngWriter::new(
        BufWriter::new(File::create(&p2).unwrap()),
        LinkType::Ethernet,
    )
    .unwrap();
    let iface = w
        .add_interface(LinkType::RawIp, pcapgen::TsResolution::Nano)
        .unwrap();
    let mut u = UdpConv::new(cli(5000), srv(47808)).clock(pcapgen::Clock::new(ts, 1));
    u.send(&mut w, Dir::ToServer, &bacnet::who_is(None))
        .unwrap();
    let mut mem = MemSink::new(LinkType::RawIp);
    u.send(&mut mem, Dir::ToClient, &bacnet::i_am(1, 2))
        .unwrap();
    let (t, f) = &mem.packets[0];
    w.write_packet_on(iface, *t, f).unwrap();
    assert_eq!(w.packets(), 2);
    w.finish().unwrap();

    let floor = pcapgen::floor::run(&p2).unwrap();
    assert_eq!(
        (floor.packets, floor.udp_packets, floor.slice_errors),
        (2, 2, 0)
    );
    if !have_tshark() {
        return;
    }
    let rows = tshark::fields(
        &p1,
        None,
        &["frame.time_epoch", "bacapp.unconfirmed_service"],
        &[],
    )
    .unwrap();
    assert_eq!(
        column(&rows, 0),
        ["1700000000.123456789", "1700000000.123456790"]
    );
    let rows = tshark::fields(
        &p2,
        None,
        &[
            "frame.time_epoch",
            "frame.interface_id",
            "bacapp.unconfirmed_service",
        ],
        &[],
    )
    .unwrap();
    assert_eq!(
        column(&rows, 0),
        ["1700000000.123456000", "1700000000.123456790"]
    );
    assert_eq!(column(&rows, 1), ["0", "1"]);
    assert_eq!(column(&rows, 2), ["8", "0"]);
}

#[test]
fn bench_capture_is_deterministic_and_floor_counts_it() {
    let cfg = pcapgen::bench::BenchConfig {
        packets: 20_000,
        flows: 500,
        seed: 7,
        ..Default::default()
    };
    let mut a = Vec::new();
    let sa = pcapgen::bench::generate(&cfg, &mut a).unwrap();
    let mut b = Vec::new();
    pcapgen::bench::generate(&cfg, &mut b).unwrap();
    assert!(a == b, "same seed, same bytes");
    let mut c = Vec::new();
    pcapgen::bench::generate(
        &pcapgen::bench::BenchConfig {
            seed: 8,
            ..cfg.clone()
        },
        &mut c,
    )
    .unwrap();
    assert!(a != c, "another seed, other bytes");
    assert_eq!(sa.packets, 20_000);
    assert!(
        sa.pdus.iter().take(6).all(|&n| n > 100),
        "every dissected protocol present: {}",
        sa.to_json()
    );
    let p = tmp("bench-small.pcap");
    std::fs::write(&p, &a).unwrap();
    let r = pcapgen::floor::run(&p).unwrap();
    assert_eq!(
        (r.packets, r.bytes, r.slice_errors),
        (20_000, sa.frame_bytes, 0)
    );
    // Timestamps never go backwards.
    let mut off = 24;
    let mut last = 0u64;
    while off < a.len() {
        let s = u32::from_le_bytes(a[off..off + 4].try_into().unwrap()) as u64;
        let us = u32::from_le_bytes(a[off + 4..off + 8].try_into().unwrap()) as u64;
        let t = s * 1_000_000 + us;
        assert!(t >= last);
        last = t;
        off += 16 + u32::from_le_bytes(a[off + 8..off + 12].try_into().unwrap()) as usize;
    }
    if have_tshark() {
        assert_no_expert_errors_except_expected(&p);
    }
}

/// The bench capture holds deliberate oddities tshark complains about (out-of-order segments,
/// random bytes on 8080 parsed as HTTP); nothing else may be malformed, and no checksum is bad.
fn assert_no_expert_errors_except_expected(p: &std::path::Path) {
    let rows = tshark::fields(p, Some("(tcp.checksum.status == 0 || udp.checksum.status == 0 || ip.checksum.status == 0) || (_ws.malformed && !http && !tcp.analysis.out_of_order && !tcp.analysis.lost_segment)"), &["frame.number", "_ws.col.Info"], &CHECKSUMS).unwrap();
    assert!(rows.is_empty(), "{rows:?}");
}

#[test]
fn cli_rejects_bad_arguments_with_exit_2() {
    let exe = env!("CARGO_BIN_EXE_pcapgen");
    for args in [
        &[][..],
        &["frobnicate"][..],
        &["bench", "--packets", "many", "--out", "/dev/null"][..],
        &["bench", "--packets"][..],
        &["bench", "--flows", "0", "--out", "/dev/null"][..],
        &["bench", "--packets", "10"][..],
        &["bench", "--bogus", "--out", "/dev/null"][..],
        &["floor"][..],
        &["floor", "a", "b"][..],
    ] {
        let o = std::process::Command::new(exe).args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("usage"),
            "{args:?}"
        );
    }
    let o = std::process::Command::new(exe)
        .args(["floor", "/nonexistent.pcap"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let p = tmp("cli.pcap");
    let o = std::process::Command::new(exe)
        .args(["bench", "--packets=1000", "--flows", "50", "--out"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = std::process::Command::new(exe)
        .arg("floor")
        .arg(&p)
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&o.stdout);
    assert!(line.starts_with("{\"packets\":1000,"), "{line}");
}

#[test]
fn sink_trait_objects_and_mem_sink() {
    let mut mem = MemSink::new(LinkType::Ethernet);
    {
        let sink: &mut dyn PacketSink = &mut mem;
        let mut c = TcpConv::new(cli(1), srv(2)).pad(true);
        c.handshake(sink).unwrap();
    }
    assert_eq!(mem.packets.len(), 3);
    assert!(
        mem.packets.iter().all(|(_, f)| f.len() == 60),
        "padded to the Ethernet minimum"
    );
    assert_eq!(
        mem.packets[1].0.as_nanos() - mem.packets[0].0.as_nanos(),
        1_000_000
    );
}
