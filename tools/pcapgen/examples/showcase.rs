//! Writes one small capture per protocol into the directory given as argument (default `.`),
//! for eyeballing with `tshark -V -r`.
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use pcapgen::proto::{amqp, bacnet, modbus, mqtt, opcua};
use pcapgen::{Dir, Endpoint, LinkType, PcapWriter, TcpConv, UdpConv, Vlan};

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let open = |name: &str| -> std::io::Result<PcapWriter<BufWriter<File>>> {
        PcapWriter::new(
            BufWriter::new(File::create(dir.join(name))?),
            LinkType::Ethernet,
        )
    };
    let cli = |port| Endpoint::v4([10, 0, 0, 1], port);
    let srv = |port| Endpoint::v4([10, 0, 0, 2], port);

    let mut w = open("modbus.pcap")?;
    let mut c = TcpConv::new(cli(40001), srv(502)).vlan(Vlan::Single(10));
    c.handshake(&mut w)?;
    c.send(
        &mut w,
        Dir::ToServer,
        &modbus::read_holding_registers_req(1, 1, 0, 2),
    )?;
    c.send(
        &mut w,
        Dir::ToClient,
        &modbus::read_holding_registers_resp(1, 1, &[7, 8]),
    )?;
    c.send(
        &mut w,
        Dir::ToServer,
        &modbus::write_single_register(2, 1, 5, 99),
    )?;
    c.send(
        &mut w,
        Dir::ToClient,
        &modbus::write_single_register(2, 1, 5, 99),
    )?;
    c.send(
        &mut w,
        Dir::ToServer,
        &modbus::read_device_id_req(3, 1, 1, 0),
    )?;
    c.send(
        &mut w,
        Dir::ToClient,
        &modbus::read_device_id_resp(3, 1, 1, &[(0, "Acme"), (1, "PLC-9"), (2, "v1.2")]),
    )?;
    c.send(
        &mut w,
        Dir::ToServer,
        &modbus::read_holding_registers_req(4, 1, 9000, 2),
    )?;
    c.send(&mut w, Dir::ToClient, &modbus::exception(4, 1, 3, 2))?;
    c.close(&mut w, Dir::ToServer)?;
    w.finish()?;

    for (name, ver) in [
        ("mqtt3.pcap", mqtt::Version::V311),
        ("mqtt5.pcap", mqtt::Version::V5),
    ] {
        let mut w = open(name)?;
        let mut c = TcpConv::new(cli(40002), srv(1883));
        c.handshake(&mut w)?;
        c.send(&mut w, Dir::ToServer, &mqtt::connect(ver, "sensor-17", 60))?;
        c.send(&mut w, Dir::ToClient, &mqtt::connack(ver, false, 0))?;
        c.send(
            &mut w,
            Dir::ToServer,
            &mqtt::subscribe(ver, 1, &[("plant/+/temp", 1)]),
        )?;
        c.send(&mut w, Dir::ToClient, &mqtt::suback(ver, 1, &[1]))?;
        c.send(
            &mut w,
            Dir::ToServer,
            &mqtt::publish(ver, "plant/a/temp", 1, 2, false, b"{\"t\":21.5}"),
        )?;
        c.send(&mut w, Dir::ToClient, &mqtt::puback(ver, 2))?;
        c.send(&mut w, Dir::ToServer, &mqtt::pingreq())?;
        c.send(&mut w, Dir::ToClient, &mqtt::pingresp())?;
        c.send(&mut w, Dir::ToServer, &mqtt::disconnect(ver))?;
        c.close(&mut w, Dir::ToServer)?;
        w.finish()?;
    }

    let mut w = open("bacnet.pcap")?;
    let mut b = UdpConv::new(cli(47808), Endpoint::v4([10, 0, 0, 255], 47808));
    b.send(&mut w, Dir::ToServer, &bacnet::who_is(None))?;
    b.send(&mut w, Dir::ToServer, &bacnet::who_is(Some((0, 4_194_303))))?;
    let mut u = UdpConv::new(cli(47808), srv(47808));
    u.send(&mut w, Dir::ToClient, &bacnet::i_am(1234, 260))?;
    u.send(
        &mut w,
        Dir::ToServer,
        &bacnet::read_property_req(7, bacnet::object::ANALOG_INPUT, 3, 85),
    )?;
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
    )?;
    u.send(
        &mut w,
        Dir::ToServer,
        &bacnet::read_property_req(8, bacnet::object::DEVICE, 1234, 77),
    )?;
    u.send(
        &mut w,
        Dir::ToClient,
        &bacnet::read_property_ack(
            8,
            bacnet::object::DEVICE,
            1234,
            77,
            &bacnet::Value::CharString("AHU-1 controller".into()),
        ),
    )?;
    w.finish()?;

    let mut w = open("opcua.pcap")?;
    let mut c = TcpConv::new(cli(40003), srv(4840));
    c.handshake(&mut w)?;
    c.send(
        &mut w,
        Dir::ToServer,
        &opcua::hello("opc.tcp://10.0.0.2:4840"),
    )?;
    c.send(&mut w, Dir::ToClient, &opcua::acknowledge())?;
    c.send(&mut w, Dir::ToServer, &opcua::open_secure_channel_req(1, 1))?;
    c.send(
        &mut w,
        Dir::ToClient,
        &opcua::open_secure_channel_resp(5, 1, 1, 1),
    )?;
    let nodes = [
        opcua::NodeId::Numeric(2, 1001),
        opcua::NodeId::String(2, "Line1.Speed".into()),
    ];
    c.send(
        &mut w,
        Dir::ToServer,
        &opcua::read_request(5, 1, 2, 2, &nodes),
    )?;
    c.send(
        &mut w,
        Dir::ToClient,
        &opcua::read_response(
            5,
            1,
            2,
            2,
            &[opcua::Variant::Double(1.5), opcua::Variant::Int32(42)],
        ),
    )?;
    c.send(
        &mut w,
        Dir::ToServer,
        &opcua::close_secure_channel(5, 1, 3, 3),
    )?;
    c.close(&mut w, Dir::ToServer)?;
    w.finish()?;

    let mut w = open("amqp091.pcap")?;
    let mut c = TcpConv::new(cli(40004), srv(5672));
    c.handshake(&mut w)?;
    c.send(&mut w, Dir::ToServer, amqp::HEADER_091)?;
    c.send(&mut w, Dir::ToClient, &amqp::connection_start("RabbitMQ"))?;
    c.send(
        &mut w,
        Dir::ToServer,
        &amqp::connection_start_ok("pika", "guest", "guest"),
    )?;
    c.send(
        &mut w,
        Dir::ToClient,
        &amqp::connection_tune(false, 2047, 131072, 60),
    )?;
    c.send(
        &mut w,
        Dir::ToServer,
        &amqp::connection_tune(true, 2047, 131072, 60),
    )?;
    c.send(&mut w, Dir::ToServer, &amqp::connection_open("/"))?;
    c.send(&mut w, Dir::ToClient, &amqp::connection_open_ok())?;
    c.send(&mut w, Dir::ToServer, &amqp::channel_open(1))?;
    c.send(&mut w, Dir::ToClient, &amqp::channel_open_ok(1))?;
    c.send(
        &mut w,
        Dir::ToServer,
        &amqp::basic_publish(1, "amq.topic", "plant.a.temp", b"{\"t\":21.5}"),
    )?;
    c.send(&mut w, Dir::ToServer, &amqp::heartbeat())?;
    c.send(&mut w, Dir::ToServer, &amqp::connection_close(200, "bye"))?;
    c.send(&mut w, Dir::ToClient, &amqp::connection_close_ok())?;
    c.close(&mut w, Dir::ToServer)?;
    w.finish()?;

    let mut w = open("amqp10.pcap")?;
    let mut c = TcpConv::new(cli(40005), srv(5672));
    c.handshake(&mut w)?;
    c.send(&mut w, Dir::ToServer, amqp::HEADER_10)?;
    c.send(&mut w, Dir::ToClient, amqp::HEADER_10)?;
    c.send(&mut w, Dir::ToServer, &amqp::open_10("client-1", "broker"))?;
    c.send(&mut w, Dir::ToClient, &amqp::open_10("broker-1", "broker"))?;
    c.send(&mut w, Dir::ToServer, &amqp::begin_10(0, None))?;
    c.send(&mut w, Dir::ToClient, &amqp::begin_10(0, Some(0)))?;
    c.send(
        &mut w,
        Dir::ToServer,
        &amqp::attach_10(0, "sender-1", 0, false, "plant/temp"),
    )?;
    c.send(
        &mut w,
        Dir::ToServer,
        &amqp::transfer_10(0, 0, 0, b"{\"t\":21.5}"),
    )?;
    c.send(&mut w, Dir::ToServer, &amqp::close_10())?;
    c.send(&mut w, Dir::ToClient, &amqp::close_10())?;
    c.close(&mut w, Dir::ToServer)?;
    w.finish()?;
    Ok(())
}
