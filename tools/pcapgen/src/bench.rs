//! The benchmark capture: millions of packets over thousands of concurrent flows mixing the
//! five dissected protocols with bulk TCP, DNS, syslog and ping. Deterministic for a seed,
//! streamed (memory bounded by the number of concurrent flows).

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::conv::{Dir, TcpConv, UdpConv};
use crate::frame::{Endpoint, Vlan};
use crate::pcap::{LinkType, PacketSink, PcapWriter, Timestamp};
use crate::proto::{amqp, bacnet, modbus, mqtt, opcua};
use crate::rng::Rng;

/// Generator settings.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Exact number of packets written.
    pub packets: u64,
    /// Concurrent flows (a finished flow is replaced by a new one).
    pub flows: usize,
    pub seed: u64,
    /// Percent of the initial flows that start mid-stream (no handshake, no setup).
    pub mid_stream_percent: u64,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            packets: 3_000_000,
            flows: 20_000,
            seed: 1,
            mid_stream_percent: 15,
        }
    }
}

/// Flow kinds of the mix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Kind {
    Modbus,
    Mqtt,
    Bacnet,
    Opcua,
    Amqp091,
    Amqp10,
    Bulk,
    Dns,
    Syslog,
    Ping,
}

pub const KINDS: [Kind; 10] = [
    Kind::Modbus,
    Kind::Mqtt,
    Kind::Bacnet,
    Kind::Opcua,
    Kind::Amqp091,
    Kind::Amqp10,
    Kind::Bulk,
    Kind::Dns,
    Kind::Syslog,
    Kind::Ping,
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Modbus => "modbus",
            Kind::Mqtt => "mqtt",
            Kind::Bacnet => "bacnet",
            Kind::Opcua => "opcua",
            Kind::Amqp091 => "amqp091",
            Kind::Amqp10 => "amqp10",
            Kind::Bulk => "bulk_tcp",
            Kind::Dns => "dns",
            Kind::Syslog => "syslog",
            Kind::Ping => "icmp",
        }
    }
    /// Share of new flows, percent.
    fn weight(self) -> u64 {
        match self {
            Kind::Modbus => 25,
            Kind::Mqtt => 18,
            Kind::Bacnet => 10,
            Kind::Opcua => 12,
            Kind::Amqp091 => 8,
            Kind::Amqp10 => 6,
            Kind::Bulk => 10,
            Kind::Dns => 5,
            Kind::Syslog => 4,
            Kind::Ping => 2,
        }
    }
    fn port(self, rng: &mut Rng) -> u16 {
        match self {
            Kind::Modbus => 502,
            Kind::Mqtt => 1883,
            Kind::Bacnet => 47808,
            Kind::Opcua => 4840,
            Kind::Amqp091 | Kind::Amqp10 => 5672,
            Kind::Bulk => {
                if rng.chance(50) {
                    8080
                } else {
                    443
                }
            }
            Kind::Dns => 53,
            Kind::Syslog => 514,
            Kind::Ping => 0,
        }
    }
    fn is_tcp(self) -> bool {
        !matches!(self, Kind::Bacnet | Kind::Dns | Kind::Syslog | Kind::Ping)
    }
}

/// What was generated (PDU counts are application messages handed to TCP/UDP: AMQP counts
/// frames, protocol headers included; a flow cut by the packet limit may lose its last ones).
#[derive(Clone, Debug, Default)]
pub struct BenchStats {
    pub packets: u64,
    pub frame_bytes: u64,
    pub flows_started: u64,
    pub flows: [u64; 10],
    pub pdus: [u64; 10],
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
}

impl BenchStats {
    /// One JSON object.
    pub fn to_json(&self) -> String {
        let mut s = format!(
            "{{\"packets\":{},\"frame_bytes\":{},\"flows_started\":{},\"duration_s\":{:.3}",
            self.packets,
            self.frame_bytes,
            self.flows_started,
            (self.last_ts.0.saturating_sub(self.first_ts.0)) as f64 / 1e9
        );
        s.push_str(",\"flows\":{");
        for (i, k) in KINDS.iter().enumerate() {
            s.push_str(&format!(
                "{}\"{}\":{}",
                if i > 0 { "," } else { "" },
                k.name(),
                self.flows[i]
            ));
        }
        s.push_str("},\"pdus\":{");
        for (i, k) in KINDS.iter().enumerate() {
            s.push_str(&format!(
                "{}\"{}\":{}",
                if i > 0 { "," } else { "" },
                k.name(),
                self.pdus[i]
            ));
        }
        s.push_str("}}");
        s
    }
}

/// Packet-limited sink around the pcap writer.
struct Out<W: Write> {
    w: PcapWriter<W>,
    left: u64,
    first: Option<Timestamp>,
    last: Timestamp,
}

impl<W: Write> PacketSink for Out<W> {
    fn link_type(&self) -> LinkType {
        LinkType::Ethernet
    }
    fn write_packet(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        if self.left == 0 {
            return Ok(());
        }
        self.left -= 1;
        self.first.get_or_insert(ts);
        self.last = ts;
        self.w.write_packet(ts, frame)
    }
}

enum Conv {
    Tcp(Box<TcpConv>),
    Udp(Box<UdpConv>),
}

struct Flow {
    kind: Kind,
    conv: Conv,
    /// 0 = open, 1.. = protocol setup, RUN = steady state.
    stage: u32,
    steps_left: u32,
    counter: u32,
    unit: u8,
    v5: bool,
    device: u32,
}

const RUN: u32 = 1000;

struct Ctx {
    rng: Rng,
    now: Timestamp,
    stats: BenchStats,
    port_next: Vec<u16>,
    serial: u64,
}

impl Ctx {
    fn pdu(&mut self, k: Kind, n: u64) {
        self.stats.pdus[k as usize] += n;
    }
}

fn pick_kind(rng: &mut Rng) -> Kind {
    let mut r = rng.below(100);
    for k in KINDS {
        if r < k.weight() {
            return k;
        }
        r -= k.weight();
    }
    Kind::Modbus
}

const CLIENT_HOSTS: u64 = 4000;

fn new_flow(cx: &mut Ctx, mid_stream: bool) -> Flow {
    let kind = pick_kind(&mut cx.rng);
    cx.stats.flows_started += 1;
    cx.stats.flows[kind as usize] += 1;
    cx.serial += 1;
    let v6 = cx.rng.chance(10);
    let host = cx.rng.below(CLIENT_HOSTS) as usize;
    let servers = match kind {
        Kind::Modbus => 400,
        Kind::Bacnet => 300,
        Kind::Opcua => 60,
        Kind::Mqtt | Kind::Amqp091 | Kind::Amqp10 => 8,
        Kind::Bulk => 40,
        Kind::Dns | Kind::Syslog => 4,
        Kind::Ping => 200,
    };
    let srv = cx.rng.below(servers) as u32;
    let port = kind.port(&mut cx.rng);
    let cport = match kind {
        Kind::Bacnet => 47808,
        Kind::Ping => 0,
        _ => {
            let p = cx.port_next[host];
            cx.port_next[host] = if p == 65535 { 32768 } else { p + 1 };
            p
        }
    };
    let ki = kind as u32;
    let (cip, sip): (IpAddr, IpAddr) = if v6 {
        (
            Ipv6Addr::new(0xfd00, 0, 0, 0xc, 0, 0, (host >> 16) as u16, host as u16).into(),
            Ipv6Addr::new(0xfd00, 0, 0, 0x5, 0, ki as u16, 0, (srv + 1) as u16).into(),
        )
    } else {
        (
            Ipv4Addr::new(172, 16 + (host >> 8) as u8, host as u8, 10).into(),
            Ipv4Addr::new(10, 10 + ki as u8, ((srv + 1) >> 8) as u8, (srv + 1) as u8).into(),
        )
    };
    let client = Endpoint::new(cip, cport);
    let server = Endpoint::new(sip, port);
    let vr = cx.rng.below(100);
    let vlan = if vr < 18 {
        Vlan::Single(10 + (srv % 40) as u16)
    } else if vr < 24 {
        Vlan::QinQ {
            outer: 100 + (srv % 4) as u16,
            inner: 200 + (srv % 50) as u16,
        }
    } else {
        Vlan::None
    };
    let steps_left = match kind {
        Kind::Bulk => cx.rng.range(5, 60),
        Kind::Ping => cx.rng.range(2, 10),
        Kind::Dns => cx.rng.range(1, 4),
        _ => cx.rng.range(10, 120),
    } as u32;
    let conv = if kind.is_tcp() {
        let mut c = TcpConv::new(client, server).vlan(vlan).pad(true);
        let (a, b) = (cx.rng.next_u32(), cx.rng.next_u32());
        c = c.seqs(a, b);
        Conv::Tcp(Box::new(c))
    } else {
        Conv::Udp(Box::new(UdpConv::new(client, server).vlan(vlan).pad(true)))
    };
    Flow {
        kind,
        conv,
        stage: if mid_stream { RUN } else { 0 },
        steps_left,
        counter: cx.rng.below(1000) as u32,
        unit: cx.rng.range(1, 247) as u8,
        v5: cx.rng.chance(50),
        device: 1000 + srv * 7,
    }
}

/// Write the benchmark capture (Ethernet, microsecond pcap) to `out`.
pub fn generate<W: Write>(cfg: &BenchConfig, out: W) -> io::Result<BenchStats> {
    let mut rng = Rng::new(cfg.seed);
    let mut pool = vec![0u8; 1 << 16];
    rng.fill(&mut pool);
    let mut cx = Ctx {
        rng,
        now: Timestamp::DEFAULT_START,
        stats: BenchStats::default(),
        port_next: (0..CLIENT_HOSTS)
            .map(|h| 32768 + (h * 37 % 20000) as u16)
            .collect(),
        serial: 0,
    };
    let mut out = Out {
        w: PcapWriter::new(out, LinkType::Ethernet)?,
        left: cfg.packets,
        first: None,
        last: Timestamp(0),
    };
    let nflows = cfg.flows.max(1);
    let mut flows: Vec<Flow> = Vec::with_capacity(nflows);
    for _ in 0..nflows {
        let mid = cx.rng.chance(cfg.mid_stream_percent);
        flows.push(new_flow(&mut cx, mid));
    }
    while out.left > 0 {
        let i = cx.rng.below(nflows as u64) as usize;
        let done = step(&mut flows[i], &mut cx, &pool, &mut out)?;
        if done {
            flows[i] = new_flow(&mut cx, false);
        }
    }
    cx.stats.packets = out.w.packets();
    cx.stats.frame_bytes = out.w.frame_bytes();
    cx.stats.first_ts = out.first.unwrap_or_default();
    cx.stats.last_ts = out.last;
    out.w.finish()?;
    Ok(cx.stats)
}

fn slice<'p>(rng: &mut Rng, pool: &'p [u8], len: usize) -> &'p [u8] {
    let len = len.min(pool.len());
    let off = rng.below((pool.len() - len + 1) as u64) as usize;
    &pool[off..off + len]
}

/// One step of a flow (a few packets). Returns true when the flow has ended.
fn step<W: Write>(f: &mut Flow, cx: &mut Ctx, pool: &[u8], out: &mut Out<W>) -> io::Result<bool> {
    let gap = cx.rng.range(10_000, 200_000);
    let pkt_step = cx.rng.range(5_000, 150_000);
    let start = cx.now;
    match &mut f.conv {
        Conv::Tcp(c) => {
            c.clock_mut().now = start;
            c.clock_mut().step_ns = pkt_step;
        }
        Conv::Udp(u) => {
            u.clock_mut().now = start;
            u.clock_mut().step_ns = pkt_step;
        }
    }
    let done = match f.kind {
        Kind::Modbus => step_modbus(f, cx, out)?,
        Kind::Mqtt => step_mqtt(f, cx, pool, out)?,
        Kind::Bacnet => step_bacnet(f, cx, out)?,
        Kind::Opcua => step_opcua(f, cx, out)?,
        Kind::Amqp091 => step_amqp091(f, cx, pool, out)?,
        Kind::Amqp10 => step_amqp10(f, cx, pool, out)?,
        Kind::Bulk => step_bulk(f, cx, pool, out)?,
        Kind::Dns => step_dns(f, cx, out)?,
        Kind::Syslog => step_syslog(f, cx, out)?,
        Kind::Ping => step_ping(f, cx, pool, out)?,
    };
    let end = match &f.conv {
        Conv::Tcp(c) => c.now(),
        Conv::Udp(u) => u.now(),
    };
    cx.now = end.max(start).plus_nanos(gap);
    Ok(done)
}

fn tcp(f: &mut Flow) -> &mut TcpConv {
    match &mut f.conv {
        Conv::Tcp(c) => c,
        Conv::Udp(_) => unreachable!("flow kind / conversation mismatch"),
    }
}

fn udp(f: &mut Flow) -> &mut UdpConv {
    match &mut f.conv {
        Conv::Udp(u) => u,
        Conv::Tcp(_) => unreachable!("flow kind / conversation mismatch"),
    }
}

/// Common TCP closing: FIN exchange (most), RST (some), or just stop (a few).
fn tcp_close<W: Write>(c: &mut TcpConv, cx: &mut Ctx, out: &mut Out<W>) -> io::Result<()> {
    let r = cx.rng.below(100);
    if r < 85 {
        c.close(out, if r < 60 { Dir::ToServer } else { Dir::ToClient })
    } else if r < 95 {
        c.rst(out, Dir::ToServer)
    } else {
        Ok(())
    }
}

/// Optional receiver ACK (delayed ACK seen on the wire).
fn maybe_ack<W: Write>(
    c: &mut TcpConv,
    cx: &mut Ctx,
    out: &mut Out<W>,
    dir: Dir,
    percent: u64,
) -> io::Result<()> {
    if cx.rng.chance(percent) {
        c.ack(out, dir)?;
    }
    Ok(())
}

/// Occasionally retransmit the last segment.
fn maybe_retransmit<W: Write>(c: &mut TcpConv, cx: &mut Ctx, out: &mut Out<W>) -> io::Result<()> {
    if cx.rng.chance(1) {
        c.retransmit_last(out)?;
    }
    Ok(())
}

fn step_modbus<W: Write>(f: &mut Flow, cx: &mut Ctx, out: &mut Out<W>) -> io::Result<bool> {
    let k = Kind::Modbus;
    if f.stage == 0 {
        tcp(f).handshake(out)?;
        f.stage = RUN;
        return Ok(false);
    }
    if f.steps_left == 0 {
        tcp_close(tcp(f), cx, out)?;
        return Ok(true);
    }
    f.steps_left -= 1;
    let unit = f.unit;
    let r = cx.rng.below(100);
    let tid = f.counter as u16;
    f.counter = f.counter.wrapping_add(1);
    let addr = cx.rng.below(2000) as u16;
    let qty = cx.rng.range(1, 60) as u16;
    let values: Vec<u16> = (0..qty)
        .map(|i| (addr as u32 * 31 + i as u32 * 7) as u16)
        .collect();
    let Conv::Tcp(c) = &mut f.conv else {
        unreachable!("flow kind / conversation mismatch")
    };
    if r < 56 {
        c.send(
            out,
            Dir::ToServer,
            &modbus::read_holding_registers_req(tid, unit, addr, qty),
        )?;
        maybe_retransmit(c, cx, out)?;
        c.send(
            out,
            Dir::ToClient,
            &modbus::read_holding_registers_resp(tid, unit, &values),
        )?;
        maybe_ack(c, cx, out, Dir::ToServer, 30)?;
        cx.pdu(k, 2);
    } else if r < 66 {
        // Pipelined: several requests in one segment, then all responses in one segment.
        let n = cx.rng.range(2, 4) as u16;
        let mut req = Vec::new();
        let mut resp = Vec::new();
        for j in 0..n {
            let t = tid.wrapping_add(j);
            req.extend(modbus::read_input_registers_req(t, unit, addr + j * 10, 4));
            let mut p = vec![0x04, 8];
            for v in &values[..4.min(values.len())] {
                p.extend_from_slice(&v.to_be_bytes());
            }
            p.resize(10, 0);
            resp.extend(modbus::adu(t, unit, &p));
        }
        f.counter = f.counter.wrapping_add(n as u32);
        c.send(out, Dir::ToServer, &req)?;
        c.send(out, Dir::ToClient, &resp)?;
        maybe_ack(c, cx, out, Dir::ToServer, 50)?;
        cx.pdu(k, 2 * n as u64);
    } else if r < 74 {
        // Request split across two segments (inside the MBAP header or the PDU).
        let req = modbus::read_holding_registers_req(tid, unit, addr, qty);
        let cut = cx.rng.range(1, req.len() as u64 - 1) as usize;
        c.send_split(out, Dir::ToServer, &req, &[cut])?;
        let resp = modbus::read_holding_registers_resp(tid, unit, &values);
        if resp.len() > 20 && cx.rng.chance(50) {
            c.send_split(out, Dir::ToClient, &resp, &[7])?;
        } else {
            c.send(out, Dir::ToClient, &resp)?;
        }
        cx.pdu(k, 2);
    } else if r < 84 {
        let w = modbus::write_single_register(tid, unit, addr, qty);
        c.send(out, Dir::ToServer, &w)?;
        c.send(out, Dir::ToClient, &w)?;
        cx.pdu(k, 2);
    } else if r < 90 {
        c.send(
            out,
            Dir::ToServer,
            &modbus::write_multiple_registers_req(tid, unit, addr, &values[..qty.min(20) as usize]),
        )?;
        let mut p = vec![0x10];
        p.extend_from_slice(&addr.to_be_bytes());
        p.extend_from_slice(&qty.min(20).to_be_bytes());
        c.send(out, Dir::ToClient, &modbus::adu(tid, unit, &p))?;
        cx.pdu(k, 2);
    } else if r < 95 {
        c.send(
            out,
            Dir::ToServer,
            &modbus::read_device_id_req(tid, unit, 1, 0),
        )?;
        c.send(
            out,
            Dir::ToClient,
            &modbus::read_device_id_resp(
                tid,
                unit,
                1,
                &[(0, "Acme Automation"), (1, "PLC-4000"), (2, "v3.2.1")],
            ),
        )?;
        cx.pdu(k, 2);
    } else {
        c.send(
            out,
            Dir::ToServer,
            &modbus::read_holding_registers_req(tid, unit, 60000, qty),
        )?;
        c.send(out, Dir::ToClient, &modbus::exception(tid, unit, 3, 2))?;
        cx.pdu(k, 2);
    }
    Ok(false)
}

fn json_reading(rng: &mut Rng, n: u32) -> Vec<u8> {
    let v = rng.below(100_000) as f64 / 100.0;
    format!(
        "{{\"seq\":{n},\"value\":{v:.2},\"unit\":\"C\",\"status\":\"ok\",\"ts\":{}}}",
        1_704_067_200 + n as u64
    )
    .into_bytes()
}

fn step_mqtt<W: Write>(
    f: &mut Flow,
    cx: &mut Ctx,
    pool: &[u8],
    out: &mut Out<W>,
) -> io::Result<bool> {
    let k = Kind::Mqtt;
    let ver = if f.v5 {
        mqtt::Version::V5
    } else {
        mqtt::Version::V311
    };
    let device = f.device;
    match f.stage {
        0 => {
            tcp(f).handshake(out)?;
            f.stage = 1;
            return Ok(false);
        }
        1 => {
            let c = tcp(f);
            c.send(
                out,
                Dir::ToServer,
                &mqtt::connect(ver, &format!("edge-sensor-{device}"), 60),
            )?;
            c.send(out, Dir::ToClient, &mqtt::connack(ver, false, 0))?;
            cx.pdu(k, 2);
            f.stage = 2;
            return Ok(false);
        }
        2 => {
            let c = tcp(f);
            c.send(
                out,
                Dir::ToServer,
                &mqtt::subscribe(ver, 1, &[("plant/cmd/#", 1), ("plant/config", 0)]),
            )?;
            c.send(out, Dir::ToClient, &mqtt::suback(ver, 1, &[1, 0]))?;
            cx.pdu(k, 2);
            f.stage = RUN;
            return Ok(false);
        }
        _ => {}
    }
    if f.steps_left == 0 {
        let c = tcp(f);
        c.send(out, Dir::ToServer, &mqtt::disconnect(ver))?;
        cx.pdu(k, 1);
        tcp_close(c, cx, out)?;
        return Ok(true);
    }
    f.steps_left -= 1;
    f.counter = f.counter.wrapping_add(1);
    let n = f.counter;
    let pid = (n % 65535 + 1) as u16;
    let topic = format!("plant/line{}/sensor{}/temp", device % 8, device % 97);
    let r = cx.rng.below(100);
    let c = tcp(f);
    if r < 38 {
        let body = json_reading(&mut cx.rng, n);
        c.send(
            out,
            Dir::ToServer,
            &mqtt::publish(ver, &topic, 0, 0, false, &body),
        )?;
        maybe_ack(c, cx, out, Dir::ToClient, 40)?;
        cx.pdu(k, 1);
    } else if r < 62 {
        let body = json_reading(&mut cx.rng, n);
        c.send(
            out,
            Dir::ToServer,
            &mqtt::publish(ver, &topic, 1, pid, false, &body),
        )?;
        maybe_retransmit(c, cx, out)?;
        c.send(out, Dir::ToClient, &mqtt::puback(ver, pid))?;
        cx.pdu(k, 2);
    } else if r < 72 {
        // Several publishes in one segment.
        let m = cx.rng.range(2, 6);
        let mut seg = Vec::new();
        for j in 0..m {
            let body = json_reading(&mut cx.rng, n + j as u32);
            seg.extend(mqtt::publish(ver, &topic, 0, 0, false, &body));
        }
        c.send(out, Dir::ToServer, &seg)?;
        maybe_ack(c, cx, out, Dir::ToClient, 60)?;
        cx.pdu(k, m);
    } else if r < 80 {
        // Large publish (firmware chunk / image) split by MSS, sometimes out of order.
        let len = cx.rng.range(2_000, 6_000) as usize;
        let body = slice(&mut cx.rng, pool, len);
        let p = mqtt::publish(ver, "plant/blob/upload", 1, pid, false, body);
        if cx.rng.chance(5) {
            let cuts: Vec<usize> = (1..)
                .map(|i| i * 1460)
                .take_while(|&x| x < p.len())
                .collect();
            let mut order: Vec<usize> = (0..=cuts.len()).collect();
            order.swap(0, 1);
            c.send_out_of_order(out, Dir::ToServer, &p, &cuts, &order)?;
        } else {
            c.send_segmented(out, Dir::ToServer, &p, 1460)?;
        }
        c.ack(out, Dir::ToClient)?;
        c.send(out, Dir::ToClient, &mqtt::puback(ver, pid))?;
        cx.pdu(k, 2);
    } else if r < 92 {
        let body = format!("{{\"cmd\":\"setpoint\",\"value\":{}}}", cx.rng.below(100));
        c.send(
            out,
            Dir::ToClient,
            &mqtt::publish(ver, "plant/cmd/setpoint", 0, 0, false, body.as_bytes()),
        )?;
        maybe_ack(c, cx, out, Dir::ToServer, 50)?;
        cx.pdu(k, 1);
    } else {
        c.send(out, Dir::ToServer, &mqtt::pingreq())?;
        c.send(out, Dir::ToClient, &mqtt::pingresp())?;
        maybe_ack(c, cx, out, Dir::ToServer, 50)?;
        cx.pdu(k, 2);
    }
    Ok(false)
}

fn step_bacnet<W: Write>(f: &mut Flow, cx: &mut Ctx, out: &mut Out<W>) -> io::Result<bool> {
    let k = Kind::Bacnet;
    let device = f.device;
    if f.stage == 0 {
        let u = udp(f);
        let (client, server) = (*u.client(), *u.server());
        let bcast: IpAddr = match client.ip {
            IpAddr::V4(_) => Ipv4Addr::BROADCAST.into(),
            IpAddr::V6(_) => "ff02::bac0"
                .parse::<Ipv6Addr>()
                .expect("valid literal")
                .into(),
        };
        let now = u.now();
        let step = u.clock_mut().step_ns;
        let mut b = UdpConv::new(
            client,
            Endpoint::new(bcast, 47808).with_mac(crate::BROADCAST_MAC),
        )
        .pad(true)
        .start(now)
        .step_ns(step);
        b.send(out, Dir::ToServer, &bacnet::who_is(Some((device, device))))?;
        let mut a = UdpConv::new(
            server,
            Endpoint::new(bcast, 47808).with_mac(crate::BROADCAST_MAC),
        )
        .pad(true)
        .start(b.now())
        .step_ns(step);
        a.send(out, Dir::ToServer, &bacnet::i_am(device, 260))?;
        u.clock_mut().now = a.now();
        cx.pdu(k, 2);
        f.stage = RUN;
        return Ok(false);
    }
    if f.steps_left == 0 {
        return Ok(true);
    }
    f.steps_left -= 1;
    f.counter = f.counter.wrapping_add(1);
    let invoke = f.counter as u8;
    let r = cx.rng.below(100);
    let inst = cx.rng.below(64) as u32;
    let u = udp(f);
    let (ty, prop, val) = if r < 60 {
        (
            bacnet::object::ANALOG_INPUT,
            bacnet::property::PRESENT_VALUE,
            bacnet::Value::Real(cx.rng.below(10_000) as f32 / 10.0),
        )
    } else if r < 75 {
        (
            bacnet::object::BINARY_INPUT,
            bacnet::property::PRESENT_VALUE,
            bacnet::Value::Enumerated(cx.rng.below(2) as u32),
        )
    } else if r < 85 {
        (
            bacnet::object::ANALOG_VALUE,
            bacnet::property::OBJECT_NAME,
            bacnet::Value::CharString(format!("Zone {inst} temperature setpoint")),
        )
    } else if r < 95 {
        (
            bacnet::object::DEVICE,
            bacnet::property::VENDOR_NAME,
            bacnet::Value::CharString("Acme Building Controls".into()),
        )
    } else {
        u.send(
            out,
            Dir::ToServer,
            &bacnet::read_property_req(invoke, bacnet::object::ANALOG_INPUT, 9999, 85),
        )?;
        u.send(out, Dir::ToClient, &bacnet::error(invoke, 12, 1, 31))?;
        cx.pdu(k, 2);
        return Ok(false);
    };
    let inst = if ty == bacnet::object::DEVICE {
        device
    } else {
        inst
    };
    u.send(
        out,
        Dir::ToServer,
        &bacnet::read_property_req(invoke, ty, inst, prop),
    )?;
    u.send(
        out,
        Dir::ToClient,
        &bacnet::read_property_ack(invoke, ty, inst, prop, &val),
    )?;
    cx.pdu(k, 2);
    Ok(false)
}

fn step_opcua<W: Write>(f: &mut Flow, cx: &mut Ctx, out: &mut Out<W>) -> io::Result<bool> {
    let k = Kind::Opcua;
    let chan = f.device;
    match f.stage {
        0 => {
            tcp(f).handshake(out)?;
            f.stage = 1;
            return Ok(false);
        }
        1 => {
            let url = format!("opc.tcp://{}:4840/", tcp(f).server().ip);
            let c = tcp(f);
            c.send(out, Dir::ToServer, &opcua::hello(&url))?;
            c.send(out, Dir::ToClient, &opcua::acknowledge())?;
            c.send(out, Dir::ToServer, &opcua::open_secure_channel_req(1, 1))?;
            c.send(
                out,
                Dir::ToClient,
                &opcua::open_secure_channel_resp(chan, 1, 1, 1),
            )?;
            cx.pdu(k, 4);
            f.counter = 2;
            f.stage = RUN;
            return Ok(false);
        }
        _ => {}
    }
    let seq = f.counter;
    f.counter = f.counter.wrapping_add(1);
    if f.steps_left == 0 {
        let c = tcp(f);
        c.send(
            out,
            Dir::ToServer,
            &opcua::close_secure_channel(chan, 1, seq, seq),
        )?;
        cx.pdu(k, 1);
        tcp_close(c, cx, out)?;
        return Ok(true);
    }
    f.steps_left -= 1;
    let r = cx.rng.below(100);
    let n = if r < 10 {
        cx.rng.range(100, 200)
    } else {
        cx.rng.range(1, 20)
    } as u32;
    let base = cx.rng.below(5000) as u32;
    let nodes: Vec<opcua::NodeId> = (0..n)
        .map(|i| {
            if i % 4 == 3 {
                opcua::NodeId::String(2, format!("Line{}.Motor{}.Speed", base % 10, i))
            } else {
                opcua::NodeId::Numeric(2, 1000 + base + i)
            }
        })
        .collect();
    let values: Vec<opcua::Variant> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                opcua::Variant::Int32((base + i) as i32)
            } else {
                opcua::Variant::Double((base + i) as f64 * 0.5)
            }
        })
        .collect();
    let req = opcua::read_request(chan, 1, seq, seq, &nodes);
    let resp = opcua::read_response(chan, 1, seq, seq, &values);
    let c = tcp(f);
    if r < 92 {
        c.send_segmented(out, Dir::ToServer, &req, 1460)?;
        maybe_retransmit(c, cx, out)?;
        c.send_segmented(out, Dir::ToClient, &resp, 1460)?;
        maybe_ack(c, cx, out, Dir::ToServer, 35)?;
        cx.pdu(k, 2);
    } else {
        // Two requests in one segment (pipelining), two responses in one segment.
        let seq2 = f.counter;
        f.counter = f.counter.wrapping_add(1);
        let c = tcp(f);
        let mut both = req;
        both.extend(opcua::read_request(chan, 1, seq2, seq2, &nodes[..1]));
        c.send_segmented(out, Dir::ToServer, &both, 1460)?;
        let mut both = resp;
        both.extend(opcua::read_response(chan, 1, seq2, seq2, &values[..1]));
        c.send_segmented(out, Dir::ToClient, &both, 1460)?;
        c.ack(out, Dir::ToServer)?;
        cx.pdu(k, 4);
    }
    Ok(false)
}

fn step_amqp091<W: Write>(
    f: &mut Flow,
    cx: &mut Ctx,
    pool: &[u8],
    out: &mut Out<W>,
) -> io::Result<bool> {
    let k = Kind::Amqp091;
    match f.stage {
        0 => {
            tcp(f).handshake(out)?;
            f.stage = 1;
            return Ok(false);
        }
        1 => {
            let c = tcp(f);
            c.send(out, Dir::ToServer, amqp::HEADER_091)?;
            c.send(out, Dir::ToClient, &amqp::connection_start("RabbitMQ"))?;
            c.send(
                out,
                Dir::ToServer,
                &amqp::connection_start_ok("edge-agent", "guest", "guest"),
            )?;
            c.send(
                out,
                Dir::ToClient,
                &amqp::connection_tune(false, 2047, 131_072, 60),
            )?;
            let mut seg = amqp::connection_tune(true, 2047, 131_072, 60);
            seg.extend(amqp::connection_open("/"));
            c.send(out, Dir::ToServer, &seg)?;
            c.send(out, Dir::ToClient, &amqp::connection_open_ok())?;
            c.send(out, Dir::ToServer, &amqp::channel_open(1))?;
            c.send(out, Dir::ToClient, &amqp::channel_open_ok(1))?;
            cx.pdu(k, 9);
            f.stage = RUN;
            return Ok(false);
        }
        _ => {}
    }
    if f.steps_left == 0 {
        let c = tcp(f);
        c.send(
            out,
            Dir::ToServer,
            &amqp::connection_close(200, "Normal shutdown"),
        )?;
        c.send(out, Dir::ToClient, &amqp::connection_close_ok())?;
        cx.pdu(k, 2);
        tcp_close(c, cx, out)?;
        return Ok(true);
    }
    f.steps_left -= 1;
    f.counter = f.counter.wrapping_add(1);
    let n = f.counter;
    let rk = format!("telemetry.site{}.line{}", f.device % 13, n % 5);
    let r = cx.rng.below(100);
    let c = tcp(f);
    if r < 60 {
        let body = json_reading(&mut cx.rng, n);
        c.send(
            out,
            Dir::ToServer,
            &amqp::basic_publish(1, "amq.topic", &rk, &body),
        )?;
        maybe_ack(c, cx, out, Dir::ToClient, 40)?;
        cx.pdu(k, 3);
    } else if r < 75 {
        let m = cx.rng.range(2, 5);
        let mut seg = Vec::new();
        for j in 0..m {
            seg.extend(amqp::basic_publish(
                1,
                "amq.topic",
                &rk,
                &json_reading(&mut cx.rng, n + j as u32),
            ));
        }
        c.send(out, Dir::ToServer, &seg)?;
        maybe_ack(c, cx, out, Dir::ToClient, 60)?;
        cx.pdu(k, 3 * m);
    } else if r < 83 {
        let len = cx.rng.range(2_000, 8_000) as usize;
        let body = slice(&mut cx.rng, pool, len);
        c.send_segmented(
            out,
            Dir::ToServer,
            &amqp::basic_publish(1, "amq.direct", "blobs", body),
            1460,
        )?;
        c.ack(out, Dir::ToClient)?;
        cx.pdu(k, 3);
    } else if r < 90 {
        c.send(out, Dir::ToServer, &amqp::heartbeat())?;
        c.send(out, Dir::ToClient, &amqp::heartbeat())?;
        cx.pdu(k, 2);
    } else {
        c.send(out, Dir::ToClient, &amqp::basic_ack(1, n as u64))?;
        maybe_ack(c, cx, out, Dir::ToServer, 50)?;
        cx.pdu(k, 1);
    }
    Ok(false)
}

fn step_amqp10<W: Write>(
    f: &mut Flow,
    cx: &mut Ctx,
    pool: &[u8],
    out: &mut Out<W>,
) -> io::Result<bool> {
    let k = Kind::Amqp10;
    match f.stage {
        0 => {
            tcp(f).handshake(out)?;
            f.stage = 1;
            return Ok(false);
        }
        1 => {
            let id = format!("edge-{}", f.device);
            let c = tcp(f);
            c.send(out, Dir::ToServer, amqp::HEADER_10)?;
            c.send(out, Dir::ToClient, amqp::HEADER_10)?;
            c.send(
                out,
                Dir::ToServer,
                &amqp::open_10(&id, "broker.plant.local"),
            )?;
            c.send(
                out,
                Dir::ToClient,
                &amqp::open_10("broker-1", "broker.plant.local"),
            )?;
            let mut seg = amqp::begin_10(0, None);
            seg.extend(amqp::attach_10(
                0,
                &format!("{id}-sender"),
                0,
                false,
                "telemetry",
            ));
            c.send(out, Dir::ToServer, &seg)?;
            let mut seg = amqp::begin_10(0, Some(0));
            seg.extend(amqp::attach_10(
                0,
                &format!("{id}-sender"),
                0,
                true,
                "telemetry",
            ));
            c.send(out, Dir::ToClient, &seg)?;
            cx.pdu(k, 8);
            f.stage = RUN;
            return Ok(false);
        }
        _ => {}
    }
    if f.steps_left == 0 {
        let c = tcp(f);
        c.send(out, Dir::ToServer, &amqp::close_10())?;
        c.send(out, Dir::ToClient, &amqp::close_10())?;
        cx.pdu(k, 2);
        tcp_close(c, cx, out)?;
        return Ok(true);
    }
    f.steps_left -= 1;
    f.counter = f.counter.wrapping_add(1);
    let n = f.counter;
    let r = cx.rng.below(100);
    let c = tcp(f);
    if r < 65 {
        let body = json_reading(&mut cx.rng, n);
        c.send(out, Dir::ToServer, &amqp::transfer_10(0, 0, n, &body))?;
        maybe_ack(c, cx, out, Dir::ToClient, 50)?;
        cx.pdu(k, 1);
    } else if r < 80 {
        let m = cx.rng.range(2, 5);
        let mut seg = Vec::new();
        for j in 0..m as u32 {
            seg.extend(amqp::transfer_10(
                0,
                0,
                n + j,
                &json_reading(&mut cx.rng, n + j),
            ));
        }
        f.counter = f.counter.wrapping_add(m as u32);
        let c = tcp(f);
        c.send(out, Dir::ToServer, &seg)?;
        maybe_ack(c, cx, out, Dir::ToClient, 60)?;
        cx.pdu(k, m);
    } else if r < 88 {
        let len = cx.rng.range(1_500, 5_000) as usize;
        let body = slice(&mut cx.rng, pool, len);
        c.send_segmented(out, Dir::ToServer, &amqp::transfer_10(0, 0, n, body), 1460)?;
        c.ack(out, Dir::ToClient)?;
        cx.pdu(k, 1);
    } else {
        c.send(out, Dir::ToServer, &amqp::empty_10())?;
        c.send(out, Dir::ToClient, &amqp::empty_10())?;
        cx.pdu(k, 2);
    }
    Ok(false)
}

fn step_bulk<W: Write>(
    f: &mut Flow,
    cx: &mut Ctx,
    pool: &[u8],
    out: &mut Out<W>,
) -> io::Result<bool> {
    if f.stage == 0 {
        tcp(f).handshake(out)?;
        f.stage = RUN;
        return Ok(false);
    }
    if f.steps_left == 0 {
        tcp_close(tcp(f), cx, out)?;
        return Ok(true);
    }
    f.steps_left -= 1;
    let c = tcp(f);
    if cx.rng.chance(15) {
        let len = cx.rng.range(200, 700) as usize;
        c.send(out, Dir::ToServer, slice(&mut cx.rng, pool, len))?;
    }
    let segs = cx.rng.range(2, 8);
    for i in 0..segs {
        let len = if i + 1 == segs {
            cx.rng.range(100, 1460)
        } else {
            1460
        } as usize;
        c.send(out, Dir::ToClient, slice(&mut cx.rng, pool, len))?;
        if i % 2 == 1 || i + 1 == segs {
            c.ack(out, Dir::ToServer)?;
        }
    }
    maybe_retransmit(c, cx, out)?;
    Ok(false)
}

fn dns_name(n: u32, out: &mut Vec<u8>) {
    for label in [format!("sensor-{n}").as_str(), "plant", "local"] {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

fn step_dns<W: Write>(f: &mut Flow, cx: &mut Ctx, out: &mut Out<W>) -> io::Result<bool> {
    if f.steps_left == 0 {
        return Ok(true);
    }
    f.steps_left -= 1;
    f.counter = f.counter.wrapping_add(1);
    let id = f.counter as u16;
    let host = cx.rng.below(5000) as u32;
    let mut q = Vec::with_capacity(64);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    dns_name(host, &mut q);
    q.extend_from_slice(&[0, 1, 0, 1]);
    let mut a = q.clone();
    a[2] = 0x81;
    a[3] = 0x80;
    a[7] = 1;
    let answers = cx.rng.range(1, 4);
    a[7] = answers as u8;
    for i in 0..answers {
        a.extend_from_slice(&[
            0xc0,
            0x0c,
            0,
            1,
            0,
            1,
            0,
            0,
            0x0e,
            0x10,
            0,
            4,
            10,
            99,
            (host >> 8) as u8,
            (host as u8).wrapping_add(i as u8),
        ]);
    }
    let u = udp(f);
    u.send(out, Dir::ToServer, &q)?;
    u.send(out, Dir::ToClient, &a)?;
    cx.pdu(Kind::Dns, 2);
    Ok(false)
}

fn step_syslog<W: Write>(f: &mut Flow, cx: &mut Ctx, out: &mut Out<W>) -> io::Result<bool> {
    if f.steps_left == 0 {
        return Ok(true);
    }
    f.steps_left -= 1;
    f.counter = f.counter.wrapping_add(1);
    let extra = "x".repeat(cx.rng.below(200) as usize);
    let msg = format!(
        "<134>Jan  1 00:{:02}:{:02} gw-{} edgeagent[{}]: event {} state=ok temp={} {}",
        f.counter / 60 % 60,
        f.counter % 60,
        f.device,
        1000 + f.device % 5000,
        f.counter,
        cx.rng.below(90),
        extra
    );
    udp(f).send(out, Dir::ToServer, msg.as_bytes())?;
    cx.pdu(Kind::Syslog, 1);
    Ok(false)
}

fn step_ping<W: Write>(
    f: &mut Flow,
    cx: &mut Ctx,
    pool: &[u8],
    out: &mut Out<W>,
) -> io::Result<bool> {
    if f.steps_left == 0 {
        return Ok(true);
    }
    f.steps_left -= 1;
    f.counter = f.counter.wrapping_add(1);
    let id = f.device as u16;
    let seq = f.counter as u16;
    let data = slice(&mut cx.rng, pool, 56);
    let u = udp(f);
    u.ping(out, Dir::ToServer, id, seq, data)?;
    u.ping(out, Dir::ToClient, id, seq, data)?;
    cx.pdu(Kind::Ping, 2);
    Ok(false)
}
