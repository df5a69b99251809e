//! `pcapgen golden`: the small, deterministic captures behind edgetap's golden tests, one per
//! edge case of the Modbus/TCP pipeline (framing, TCP reassembly, link types, damage).
//!
//! Every capture is built from fixed addresses, fixed sequence numbers and a fixed clock
//! (2024-01-01T00:00:00Z, 1 ms per packet), so regenerating gives byte-identical files.
//! [`CASES`] lists them; [`build`] makes one in memory. The other protocols' cases live in
//! [`mqtt`], [`bacnet`], [`amqp`] and [`opcua`]; [`SUITES`] lists every protocol's cases,
//! [`build_in`] makes any of them and [`write_all`] writes them all under `DIR/<proto>/`.
//! `pcaps/README.md` describes each case.

use std::io;
use std::path::{Path, PathBuf};

pub mod amqp;
pub mod bacnet;
pub mod mqtt;
pub mod opcua;

use crate::frame::TcpFlags;
use crate::proto::modbus;
use crate::{
    Dir, Endpoint, LinkType, MemSink, PacketSink, PcapOptions, PcapWriter, PcapngWriter, TcpConv,
    Vlan,
};

/// The Modbus golden cases, as file names under `modbus/`.
pub const CASES: &[&str] = &[
    "basic.pcap",
    "segmentation.pcap",
    "several-adus-per-segment.pcap",
    "retransmission.pcap",
    "out-of-order.pcap",
    "midstream.pcap",
    "nonstandard-port.pcap",
    "not-modbus-on-502.pcap",
    "vlan.pcap",
    "qinq.pcap",
    "sll.pcap",
    "sll2.pcap",
    "ipv6.pcap",
    "truncated.pcap",
    "truncated-file.pcap",
    "exception.pcap",
    "fc43.pcap",
    "pcapng.pcapng",
    "raw-ip.pcap",
    "null.pcap",
    "ip-fragments.pcap",
    "gap.pcap",
];

const CLIENT: [u8; 4] = [192, 168, 10, 20];
const SERVER: [u8; 4] = [192, 168, 10, 5];
const CLIENT_PORT: u16 = 49_320;
const CLIENT_SEQ: u32 = 0x1a2b_3c4d;
const SERVER_SEQ: u32 = 0x5e6f_7081;

/// Snap length of `truncated.pcap`: every frame fits but the last response.
pub const TRUNCATED_SNAPLEN: u32 = 96;

fn conv_v4(server_port: u16) -> TcpConv {
    TcpConv::new(
        Endpoint::v4(CLIENT, CLIENT_PORT),
        Endpoint::v4(SERVER, server_port),
    )
    .seqs(CLIENT_SEQ, SERVER_SEQ)
}

/// A second connection between the same hosts (client port + 1, other ISNs), starting when
/// `prev` left off.
fn second_conv(prev: &TcpConv, server_port: u16) -> TcpConv {
    TcpConv::new(
        Endpoint::v4(CLIENT, CLIENT_PORT + 1),
        Endpoint::v4(SERVER, server_port),
    )
    .seqs(CLIENT_SEQ ^ 0xffff, SERVER_SEQ ^ 0xffff)
    .start(prev.now())
}

fn conv_v6() -> TcpConv {
    TcpConv::new(
        Endpoint::v6("fd00:10::20".parse().expect("v6"), CLIENT_PORT),
        Endpoint::v6("fd00:10::5".parse().expect("v6"), 502),
    )
    .seqs(CLIENT_SEQ, SERVER_SEQ)
}

/// FC 16 response: echo of address and quantity.
fn write_multiple_registers_resp(tid: u16, unit: u8, addr: u16, qty: u16) -> Vec<u8> {
    let mut p = vec![0x10];
    p.extend_from_slice(&addr.to_be_bytes());
    p.extend_from_slice(&qty.to_be_bytes());
    modbus::adu(tid, unit, &p)
}

/// FC 1 request.
fn read_coils_req(tid: u16, unit: u8, addr: u16, qty: u16) -> Vec<u8> {
    let mut p = vec![0x01];
    p.extend_from_slice(&addr.to_be_bytes());
    p.extend_from_slice(&qty.to_be_bytes());
    modbus::adu(tid, unit, &p)
}

/// FC 1 response with packed coil bytes.
fn read_coils_resp(tid: u16, unit: u8, bits: &[u8]) -> Vec<u8> {
    let mut p = vec![0x01, bits.len() as u8];
    p.extend_from_slice(bits);
    modbus::adu(tid, unit, &p)
}

/// FC 43 / 14 response with an explicit conformity level.
fn device_id_resp(
    tid: u16,
    unit: u8,
    read_code: u8,
    conformity: u8,
    objs: &[(u8, &str)],
) -> Vec<u8> {
    let mut p = vec![
        0x2b,
        0x0e,
        read_code,
        conformity,
        0x00,
        0x00,
        objs.len() as u8,
    ];
    for (id, val) in objs {
        p.push(*id);
        p.push(val.len() as u8);
        p.extend_from_slice(val.as_bytes());
    }
    modbus::adu(tid, unit, &p)
}

/// The four request/response pairs of the basic exchange (unit 1, transactions 1-4):
/// FC 3 read holding registers, FC 6 write single register, FC 16 write multiple registers,
/// FC 1 read coils.
pub fn basic_adus() -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        (
            modbus::read_holding_registers_req(1, 1, 0, 4),
            modbus::read_holding_registers_resp(1, 1, &[100, 200, 300, 400]),
        ),
        (
            modbus::write_single_register(2, 1, 10, 1234),
            modbus::write_single_register(2, 1, 10, 1234),
        ),
        (
            modbus::write_multiple_registers_req(3, 1, 20, &[1, 2, 3]),
            write_multiple_registers_resp(3, 1, 20, 3),
        ),
        (
            read_coils_req(4, 1, 0, 10),
            read_coils_resp(4, 1, &[0xcd, 0x01]),
        ),
    ]
}

/// Handshake, the basic pairs (each response acknowledged by the client), FIN exchange.
fn basic_exchange<S: PacketSink>(w: &mut S, mut c: TcpConv) -> io::Result<()> {
    c.handshake(w)?;
    for (req, resp) in basic_adus() {
        c.send(w, Dir::ToServer, &req)?;
        c.send(w, Dir::ToClient, &resp)?;
        c.ack(w, Dir::ToServer)?;
    }
    c.close(w, Dir::ToServer)
}

fn pcap_bytes(
    link: LinkType,
    f: impl FnOnce(&mut PcapWriter<Vec<u8>>) -> io::Result<()>,
) -> io::Result<Vec<u8>> {
    let mut w = PcapWriter::new(Vec::new(), link)?;
    f(&mut w)?;
    w.finish()
}

fn mem_to_pcap(m: &MemSink) -> io::Result<Vec<u8>> {
    let mut w = PcapWriter::new(Vec::new(), m.link)?;
    for (ts, f) in &m.packets {
        w.write_packet(*ts, f)?;
    }
    w.finish()
}

/// Split the Ethernet + IPv4 frame into IPv4 fragments whose payload parts end at `cuts`
/// (offsets into the IP payload, multiples of 8).
fn ipv4_fragments(frame: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let (eth, ip) = frame.split_at(14);
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let (hdr, payload) = ip.split_at(ihl);
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied().filter(|&c| c > 0 && c < payload.len()));
    bounds.push(payload.len());
    let mut out = Vec::new();
    for (i, win) in bounds.windows(2).enumerate() {
        let (a, b) = (win[0], win[1]);
        assert!(a % 8 == 0, "fragment offsets are multiples of 8");
        let last = i + 2 == bounds.len();
        let mut h = hdr.to_vec();
        let total = (ihl + b - a) as u16;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        let flags_off: u16 = ((a / 8) as u16) | if last { 0 } else { 0x2000 };
        h[6..8].copy_from_slice(&flags_off.to_be_bytes());
        h[10..12].copy_from_slice(&[0, 0]);
        let mut sum: u32 = h
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum();
        while sum >> 16 != 0 {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        h[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
        let mut f = eth.to_vec();
        f.extend_from_slice(&h);
        f.extend_from_slice(&payload[a..b]);
        out.push(f);
    }
    out
}

/// A deterministic byte soup whose every 8-byte window fails the Modbus header checks
/// (protocol id bytes 2-3 never both zero).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut r = crate::rng::Rng::new(seed);
    let mut v = vec![0u8; len];
    r.fill(&mut v);
    for b in v.iter_mut() {
        if *b == 0 {
            *b = 0x5a;
        }
    }
    v
}

/// One case's capture file, in memory.
pub fn build(name: &str) -> io::Result<Vec<u8>> {
    let eth = LinkType::Ethernet;
    match name {
        "basic.pcap" => pcap_bytes(eth, |w| basic_exchange(w, conv_v4(502))),
        "vlan.pcap" => pcap_bytes(eth, |w| {
            basic_exchange(w, conv_v4(502).vlan(Vlan::Single(100)))
        }),
        "qinq.pcap" => pcap_bytes(eth, |w| {
            basic_exchange(
                w,
                conv_v4(502).vlan(Vlan::QinQ {
                    outer: 200,
                    inner: 100,
                }),
            )
        }),
        "sll.pcap" => pcap_bytes(LinkType::LinuxSll, |w| basic_exchange(w, conv_v4(502))),
        "sll2.pcap" => pcap_bytes(LinkType::LinuxSll2, |w| basic_exchange(w, conv_v4(502))),
        "raw-ip.pcap" => pcap_bytes(LinkType::RawIp, |w| basic_exchange(w, conv_v4(502))),
        "null.pcap" => pcap_bytes(LinkType::Null, |w| basic_exchange(w, conv_v4(502))),
        "ipv6.pcap" => pcap_bytes(eth, |w| basic_exchange(w, conv_v6())),
        "nonstandard-port.pcap" => pcap_bytes(eth, |w| basic_exchange(w, conv_v4(5020))),
        "pcapng.pcapng" => {
            let mut w = PcapngWriter::new(Vec::new(), eth)?;
            basic_exchange(&mut w, conv_v4(502))?;
            w.finish()
        }
        "segmentation.pcap" => pcap_bytes(eth, |w| {
            // The basic ADUs, cut: inside the MBAP header, at its end, inside the PDU.
            let mut c = conv_v4(502);
            c.handshake(w)?;
            let cuts: [(&[usize], &[usize]); 4] = [
                (&[3, 9], &[5]),  // req: in the header and in the PDU; resp: in the header
                (&[7], &[8, 10]), // req: header | PDU; resp: in the PDU, 3 segments
                (&[2, 6], &[4]),  // req: two cuts in the header; resp: in the header
                (&[], &[7]),      // req whole; resp: header | PDU
            ];
            for ((req, resp), (cq, cr)) in basic_adus().into_iter().zip(cuts) {
                c.send_split(w, Dir::ToServer, &req, cq)?;
                c.send_split(w, Dir::ToClient, &resp, cr)?;
                c.ack(w, Dir::ToServer)?;
            }
            c.close(w, Dir::ToServer)
        }),
        "several-adus-per-segment.pcap" => pcap_bytes(eth, |w| {
            // Three pipelined requests in one segment, the three responses in one; then a
            // segment carrying one whole ADU and the first half of the next.
            let mut c = conv_v4(502);
            c.handshake(w)?;
            let pairs = basic_adus();
            let reqs: Vec<u8> = pairs[..3].iter().flat_map(|p| p.0.clone()).collect();
            let resps: Vec<u8> = pairs[..3].iter().flat_map(|p| p.1.clone()).collect();
            c.send(w, Dir::ToServer, &reqs)?;
            c.send(w, Dir::ToClient, &resps)?;
            c.ack(w, Dir::ToServer)?;
            let more: Vec<u8> = [
                pairs[3].0.clone(),
                modbus::read_holding_registers_req(5, 1, 100, 2),
            ]
            .concat();
            let first_len = pairs[3].0.len();
            c.send_split(w, Dir::ToServer, &more, &[first_len + 5])?;
            let more_resp: Vec<u8> = [
                pairs[3].1.clone(),
                modbus::read_holding_registers_resp(5, 1, &[7, 8]),
            ]
            .concat();
            c.send(w, Dir::ToClient, &more_resp)?;
            c.ack(w, Dir::ToServer)?;
            c.close(w, Dir::ToServer)
        }),
        "retransmission.pcap" => pcap_bytes(eth, |w| {
            let mut c = conv_v4(502);
            c.handshake(w)?;
            let pairs = basic_adus();
            // 1: the request is sent twice (identical retransmission).
            c.send(w, Dir::ToServer, &pairs[0].0)?;
            c.retransmit_last(w)?;
            c.send(w, Dir::ToClient, &pairs[0].1)?;
            c.ack(w, Dir::ToServer)?;
            // 2: normal.
            c.send(w, Dir::ToServer, &pairs[1].0)?;
            c.send(w, Dir::ToClient, &pairs[1].1)?;
            c.ack(w, Dir::ToServer)?;
            // 3: the request's first 10 bytes, then a segment from byte 6 to the end
            // (partial overlap: 4 old bytes, the rest new).
            let req = &pairs[2].0;
            let base = c.next_seq(Dir::ToServer);
            let ack = c.next_seq(Dir::ToClient);
            let pa = TcpFlags::PSH | TcpFlags::ACK;
            c.segment(w, Dir::ToServer, TcpFlags::ACK, base, ack, &req[..10])?;
            c.segment(w, Dir::ToServer, pa, base.wrapping_add(6), ack, &req[6..])?;
            c.skip(Dir::ToServer, req.len() as u32);
            c.send(w, Dir::ToClient, &pairs[2].1)?;
            c.ack(w, Dir::ToServer)?;
            // 4: the response is retransmitted after the client's ACK.
            c.send(w, Dir::ToServer, &pairs[3].0)?;
            c.send(w, Dir::ToClient, &pairs[3].1)?;
            c.ack(w, Dir::ToServer)?;
            let resp = &pairs[3].1;
            let end = c.next_seq(Dir::ToClient);
            let cack = c.next_seq(Dir::ToServer);
            c.segment(
                w,
                Dir::ToClient,
                pa,
                end.wrapping_sub(resp.len() as u32),
                cack,
                resp,
            )?;
            c.close(w, Dir::ToServer)
        }),
        "out-of-order.pcap" => pcap_bytes(eth, |w| {
            // Pair 1's response cut in three (inside the header, inside the PDU), the
            // segments captured in the order 2, 1, 3; the rest in order.
            let mut c = conv_v4(502);
            c.handshake(w)?;
            let pairs = basic_adus();
            c.send(w, Dir::ToServer, &pairs[0].0)?;
            c.send_out_of_order(w, Dir::ToClient, &pairs[0].1, &[5, 11], &[1, 0, 2])?;
            c.ack(w, Dir::ToServer)?;
            // Pair 3's request cut in three, captured 2, 1, 3 as well (below).
            c.send(w, Dir::ToServer, &pairs[1].0)?;
            c.send(w, Dir::ToClient, &pairs[1].1)?;
            c.ack(w, Dir::ToServer)?;
            c.send_out_of_order(w, Dir::ToServer, &pairs[2].0, &[4, 10], &[1, 0, 2])?;
            c.send(w, Dir::ToClient, &pairs[2].1)?;
            c.ack(w, Dir::ToServer)?;
            // Two pipelined requests, one whole ADU per segment, captured second first.
            let req5 = modbus::read_holding_registers_req(5, 1, 100, 2);
            let both = [pairs[3].0.clone(), req5].concat();
            c.send_out_of_order(w, Dir::ToServer, &both, &[pairs[3].0.len()], &[1, 0])?;
            c.send(w, Dir::ToClient, &pairs[3].1)?;
            c.send(
                w,
                Dir::ToClient,
                &modbus::read_holding_registers_resp(5, 1, &[7, 8]),
            )?;
            c.ack(w, Dir::ToServer)?;
            c.close(w, Dir::ToServer)
        }),
        "midstream.pcap" => pcap_bytes(eth, |w| {
            // No handshake: the capture opens on the response to a request it never saw.
            let mut c = conv_v4(502);
            c.send(
                w,
                Dir::ToClient,
                &modbus::read_holding_registers_resp(41, 1, &[11, 12]),
            )?;
            c.ack(w, Dir::ToServer)?;
            for (i, (req, resp)) in basic_adus().into_iter().enumerate() {
                // Renumber the transactions 42.. (a connection in progress).
                let (mut req, mut resp) = (req, resp);
                let tid = (42 + i as u16).to_be_bytes();
                req[..2].copy_from_slice(&tid);
                resp[..2].copy_from_slice(&tid);
                c.send(w, Dir::ToServer, &req)?;
                c.send(w, Dir::ToClient, &resp)?;
                c.ack(w, Dir::ToServer)?;
            }
            Ok(())
        }),
        "not-modbus-on-502.pcap" => pcap_bytes(eth, |w| {
            // HTTP on port 502, then byte soup on another connection to 502.
            let mut c = conv_v4(502);
            c.handshake(w)?;
            c.send(
                w,
                Dir::ToServer,
                b"GET /index.html HTTP/1.1\r\nHost: 192.168.10.5:502\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n",
            )?;
            c.send(
                w,
                Dir::ToClient,
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 27\r\n\r\n<html><h1>PLC</h1></html>\r\n",
            )?;
            c.ack(w, Dir::ToServer)?;
            c.close(w, Dir::ToServer)?;
            let start = c.now();
            let mut d = TcpConv::new(
                Endpoint::v4(CLIENT, CLIENT_PORT + 1),
                Endpoint::v4(SERVER, 502),
            )
            .seqs(CLIENT_SEQ ^ 0xffff, SERVER_SEQ ^ 0xffff)
            .start(start);
            d.handshake(w)?;
            d.send(w, Dir::ToServer, &noise(502, 64))?;
            d.send(w, Dir::ToClient, &noise(503, 48))?;
            d.send(w, Dir::ToServer, &noise(504, 200))?;
            d.ack(w, Dir::ToClient)?;
            d.close(w, Dir::ToServer)
        }),
        "exception.pcap" => pcap_bytes(eth, |w| {
            let mut c = conv_v4(502);
            c.handshake(w)?;
            let pairs = basic_adus();
            c.send(w, Dir::ToServer, &pairs[0].0)?;
            c.send(w, Dir::ToClient, &pairs[0].1)?;
            c.ack(w, Dir::ToServer)?;
            // FC 8 (diagnostics, return query data) not supported: illegal function.
            c.send(
                w,
                Dir::ToServer,
                &modbus::adu(2, 1, &[0x08, 0x00, 0x00, 0xa5, 0x37]),
            )?;
            c.send(w, Dir::ToClient, &modbus::exception(2, 1, 0x08, 1))?;
            c.ack(w, Dir::ToServer)?;
            // FC 3 beyond the register map: illegal data address.
            c.send(
                w,
                Dir::ToServer,
                &modbus::read_holding_registers_req(3, 1, 9000, 10),
            )?;
            c.send(w, Dir::ToClient, &modbus::exception(3, 1, 0x03, 2))?;
            c.ack(w, Dir::ToServer)?;
            // FC 3 with quantity 0: illegal data value.
            c.send(
                w,
                Dir::ToServer,
                &modbus::read_holding_registers_req(4, 1, 0, 0),
            )?;
            c.send(w, Dir::ToClient, &modbus::exception(4, 1, 0x03, 3))?;
            c.ack(w, Dir::ToServer)?;
            c.close(w, Dir::ToServer)
        }),
        "fc43.pcap" => pcap_bytes(eth, |w| {
            let mut c = conv_v4(502);
            c.handshake(w)?;
            // Basic identification (objects 0-2).
            c.send(w, Dir::ToServer, &modbus::read_device_id_req(1, 1, 1, 0))?;
            c.send(
                w,
                Dir::ToClient,
                &device_id_resp(
                    1,
                    1,
                    1,
                    0x81,
                    &[(0, "Acme Automation"), (1, "AC-PLC-500"), (2, "V2.11")],
                ),
            )?;
            c.ack(w, Dir::ToServer)?;
            // Regular identification (objects 0-6 by stream).
            c.send(w, Dir::ToServer, &modbus::read_device_id_req(2, 1, 2, 0))?;
            c.send(
                w,
                Dir::ToClient,
                &device_id_resp(
                    2,
                    1,
                    2,
                    0x82,
                    &[
                        (0, "Acme Automation"),
                        (1, "AC-PLC-500"),
                        (2, "V2.11"),
                        (3, "https://acme.example/plc"),
                        (4, "AcmeLogic 500"),
                        (5, "AL500-ETH"),
                    ],
                ),
            )?;
            c.ack(w, Dir::ToServer)?;
            c.close(w, Dir::ToServer)
        }),
        "truncated.pcap" => {
            // Snap length 96: every frame fits except pair 4's response, a 33-register read
            // (75-byte ADU), whose record keeps only 42 bytes of it (caplen 96 < len 129);
            // pair 5 follows.
            let mut w = PcapWriter::with_options(
                Vec::new(),
                eth,
                PcapOptions {
                    snaplen: TRUNCATED_SNAPLEN,
                    ..Default::default()
                },
            )?;
            let mut c = conv_v4(502);
            c.handshake(&mut w)?;
            for (req, resp) in basic_adus().into_iter().take(3) {
                c.send(&mut w, Dir::ToServer, &req)?;
                c.send(&mut w, Dir::ToClient, &resp)?;
                c.ack(&mut w, Dir::ToServer)?;
            }
            let values: Vec<u16> = (0..33).map(|i| 1000 + i).collect();
            c.send(
                &mut w,
                Dir::ToServer,
                &modbus::read_holding_registers_req(4, 1, 0, 33),
            )?;
            c.send(
                &mut w,
                Dir::ToClient,
                &modbus::read_holding_registers_resp(4, 1, &values),
            )?;
            c.ack(&mut w, Dir::ToServer)?;
            // The stream goes on after the cut: pair 5 must decode.
            c.send(
                &mut w,
                Dir::ToServer,
                &modbus::write_single_register(5, 1, 11, 77),
            )?;
            c.send(
                &mut w,
                Dir::ToClient,
                &modbus::write_single_register(5, 1, 11, 77),
            )?;
            c.ack(&mut w, Dir::ToServer)?;
            c.close(&mut w, Dir::ToServer)?;
            w.finish()
        }
        "truncated-file.pcap" => {
            // The basic exchange without the close, the file cut in the middle of the last
            // record (the FC 1 response): header complete, 20 of its 65 bytes of data.
            let mut m = MemSink::new(eth);
            let mut c = conv_v4(502);
            c.handshake(&mut m)?;
            for (req, resp) in basic_adus() {
                c.send(&mut m, Dir::ToServer, &req)?;
                c.send(&mut m, Dir::ToClient, &resp)?;
                c.ack(&mut m, Dir::ToServer)?;
            }
            m.packets.pop(); // the client's last ACK
            let mut bytes = mem_to_pcap(&m)?;
            let last_len = m.packets.last().map_or(0, |p| p.1.len());
            bytes.truncate(bytes.len() - last_len + 20);
            Ok(bytes)
        }
        "ip-fragments.pcap" => {
            // Pair 1 asks for 60 registers; the 129-byte response travels in three IPv4
            // fragments (48 + 48 + 53 bytes of IP payload); the other pairs are normal.
            let mut m = MemSink::new(eth);
            let mut c = conv_v4(502);
            c.handshake(&mut m)?;
            let values: Vec<u16> = (0..60).map(|i| 0x0100 + i).collect();
            c.send(
                &mut m,
                Dir::ToServer,
                &modbus::read_holding_registers_req(1, 1, 0, 60),
            )?;
            let frag_at = m.packets.len();
            c.send(
                &mut m,
                Dir::ToClient,
                &modbus::read_holding_registers_resp(1, 1, &values),
            )?;
            c.ack(&mut m, Dir::ToServer)?;
            for (req, resp) in basic_adus().into_iter().skip(1) {
                c.send(&mut m, Dir::ToServer, &req)?;
                c.send(&mut m, Dir::ToClient, &resp)?;
                c.ack(&mut m, Dir::ToServer)?;
            }
            c.close(&mut m, Dir::ToServer)?;
            let mut w = PcapWriter::new(Vec::new(), eth)?;
            for (i, (ts, f)) in m.packets.iter().enumerate() {
                if i == frag_at {
                    for (k, frag) in ipv4_fragments(f, &[48, 96]).iter().enumerate() {
                        w.write_packet(ts.plus_micros(100 * k as u64), frag)?;
                    }
                } else {
                    w.write_packet(*ts, f)?;
                }
            }
            w.finish()
        }
        "gap.pcap" => pcap_bytes(eth, |w| {
            // Pair 2's request is missing from the capture; the server's response acknowledges
            // past it; pairs 3 and 4 must still decode.
            let mut c = conv_v4(502);
            c.handshake(w)?;
            let pairs = basic_adus();
            c.send(w, Dir::ToServer, &pairs[0].0)?;
            c.send(w, Dir::ToClient, &pairs[0].1)?;
            c.ack(w, Dir::ToServer)?;
            c.skip(Dir::ToServer, pairs[1].0.len() as u32);
            c.send(w, Dir::ToClient, &pairs[1].1)?;
            c.ack(w, Dir::ToServer)?;
            for (req, resp) in pairs.into_iter().skip(2) {
                c.send(w, Dir::ToServer, &req)?;
                c.send(w, Dir::ToClient, &resp)?;
                c.ack(w, Dir::ToServer)?;
            }
            c.close(w, Dir::ToServer)
        }),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no golden case {other:?}"),
        )),
    }
}

/// Every protocol's golden cases: (directory under `pcaps/`, case file names).
pub const SUITES: &[(&str, &[&str])] = &[
    ("modbus", CASES),
    ("mqtt", mqtt::CASES),
    ("bacnet", bacnet::CASES),
    ("amqp", amqp::CASES),
    ("opcua", opcua::CASES),
];

/// One case of protocol `proto` (a directory name of [`SUITES`]), in memory.
pub fn build_in(proto: &str, name: &str) -> io::Result<Vec<u8>> {
    match proto {
        "modbus" => build(name),
        "mqtt" => mqtt::build(name),
        "bacnet" => bacnet::build(name),
        "amqp" => amqp::build(name),
        "opcua" => opcua::build(name),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no golden protocol {other:?}"),
        )),
    }
}

/// Write every case to `out_dir/<proto>/<case>`; returns the paths written.
pub fn write_all(out_dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for (proto, cases) in SUITES {
        let dir = out_dir.join(proto);
        std::fs::create_dir_all(&dir)?;
        for name in *cases {
            let p = dir.join(name);
            std::fs::write(&p, build_in(proto, name)?)?;
            paths.push(p);
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_builds_and_is_deterministic() {
        for name in CASES {
            let a = build(name).unwrap();
            let b = build(name).unwrap();
            assert_eq!(a, b, "{name}");
            assert!(a.len() < 8192, "{name}: {} bytes", a.len());
        }
    }

    #[test]
    fn other_protocols_build_and_are_deterministic() {
        for (proto, cases) in &SUITES[1..] {
            for name in *cases {
                let a = build_in(proto, name).unwrap();
                assert_eq!(a, build_in(proto, name).unwrap(), "{proto}/{name}");
                assert!(a.len() < 1 << 20, "{proto}/{name}: {} bytes", a.len());
            }
        }
    }

    #[test]
    fn noise_never_looks_like_mbap() {
        for seed in [502, 503, 504] {
            let n = noise(seed, 256);
            assert!(n.windows(4).all(|w| w[2] != 0 || w[3] != 0));
        }
    }
}
