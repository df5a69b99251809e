//! Floods and scans: many packets from few lines, written straight to any sink in time order.

use std::io;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;

use super::site::{self, ROUTER};
use crate::frame::{mac_for, Endpoint, Frame, Mac, TcpFlags, TcpSegment, Transport, Vlan};
use crate::pcap::{PacketSink, Timestamp};
use crate::rng::Rng;

/// What a generator wrote: first and last packet time, packets written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Emitted {
    pub first: Timestamp,
    pub last: Timestamp,
    pub packets: u64,
}

impl Emitted {
    fn new() -> Emitted {
        Emitted {
            first: Timestamp(u64::MAX),
            last: Timestamp(0),
            packets: 0,
        }
    }
    fn note(&mut self, t: u64) {
        self.first = Timestamp(self.first.0.min(t));
        self.last = Timestamp(self.last.0.max(t));
        self.packets += 1;
    }
}

/// Public first octets the spoofed sources are spread over (none reserved).
const PUBLIC_FIRST: [u8; 16] = [
    23, 31, 45, 62, 77, 81, 91, 101, 109, 118, 151, 176, 185, 193, 195, 213,
];

/// A bijection of `0..2^bits` that scatters neighbours: multiplications by odd constants,
/// an XOR and xor-shifts, each one-to-one on `bits`-bit numbers.
fn mix(j: u32, bits: u32, k: u32) -> u32 {
    let mask = ((1u64 << bits) - 1) as u32;
    let mut x = j & mask;
    x = x.wrapping_mul(0x9e37_79b1) & mask;
    x ^= k & mask;
    x ^= x >> (bits / 2);
    x = x.wrapping_mul(0x85eb_ca6b) & mask;
    x ^= x >> (bits / 3);
    x
}

/// The `i`-th spoofed source: distinct for distinct `i` (up to 4 million), spread over
/// 10.128.0.0/9 (clear of the site's 10.20.0.0/16), 172.16.0.0/12 and public space.
pub fn spoofed_source(i: u32) -> [u8; 4] {
    let j = i / 4;
    match i % 4 {
        0 => (0x0a80_0000 | mix(j, 23, 0x2a_5a5a)).to_be_bytes(),
        1 => (0xac10_0000 | mix(j, 20, 0x0_3c3c)).to_be_bytes(),
        _ => {
            let m = mix(j * 2 + (i % 4 - 2), 28, 0x71_7b3d);
            let first = u32::from(PUBLIC_FIRST[(m & 15) as usize]);
            ((first << 24) | (m >> 4)).to_be_bytes()
        }
    }
}

/// Writes frames through one reused buffer.
struct Emitter {
    buf: Vec<u8>,
}

impl Emitter {
    #[allow(clippy::too_many_arguments)]
    fn tcp<S: PacketSink + ?Sized>(
        &mut self,
        out: &mut S,
        t: u64,
        src: &Endpoint,
        dst: &Endpoint,
        flags: TcpFlags,
        seq: u32,
        ack: u32,
        ttl: u8,
        ip_id: u16,
    ) -> io::Result<()> {
        let f = Frame {
            src_mac: src.mac,
            dst_mac: dst.mac,
            vlan: Vlan::None,
            src_ip: src.ip,
            dst_ip: dst.ip,
            ttl,
            ip_id,
            transport: Transport::Tcp(TcpSegment {
                sport: src.port,
                dport: dst.port,
                seq,
                ack,
                flags,
                window: if flags.contains(TcpFlags::RST) {
                    0
                } else {
                    64_240
                },
                mss_option: flags.contains(TcpFlags::SYN).then_some(1460),
                payload: &[],
            }),
        };
        self.buf.clear();
        f.write(out.link_type(), false, &mut self.buf);
        out.write_packet(Timestamp(t), &self.buf)
    }
}

fn host_mac(ip: Ipv4Addr) -> Mac {
    site::site_mac(ip.octets()).unwrap_or_else(|| mac_for(ip.into()))
}

/// SYN flood: `n_packets` SYNs to `target:port`, 10 µs apart from `start`, from `n_sources`
/// spoofed addresses ([`spoofed_source`], each arriving through the site router's MAC; the
/// sources are used round robin), random source ports and sequence numbers. The target answers
/// one SYN in eight with a SYN/ACK. Deterministic.
pub fn syn_flood<S: PacketSink + ?Sized>(
    out: &mut S,
    start: Timestamp,
    target: Ipv4Addr,
    port: u16,
    n_packets: u64,
    n_sources: u32,
) -> io::Result<Emitted> {
    let target = Endpoint::v4(target.octets(), port).with_mac(host_mac(target));
    let mut rng = Rng::new(0x5f10_0d00 ^ n_packets ^ u64::from(n_sources) << 32);
    syn_flood_paced(out, start.0, target, n_packets, n_sources, 10_000, &mut rng)
}

/// [`syn_flood`] with the target endpoint, the gap between SYNs and the random source given.
pub fn syn_flood_paced<S: PacketSink + ?Sized>(
    out: &mut S,
    start_ns: u64,
    target: Endpoint,
    n_packets: u64,
    n_sources: u32,
    interval_ns: u64,
    rng: &mut Rng,
) -> io::Result<Emitted> {
    let n_sources = n_sources.max(1);
    let mut e = Emitter {
        buf: Vec::with_capacity(80),
    };
    let mut done = Emitted::new();
    let mut target_id: u16 = rng.next_u32() as u16;
    for k in 0..n_packets {
        let t = start_ns + k * interval_ns;
        let r = rng.next_u64();
        let src_ip = spoofed_source((k % u64::from(n_sources)) as u32);
        let src = Endpoint::v4(src_ip, 1024 + (r as u16 % 64_000)).with_mac(ROUTER.mac);
        let seq = (r >> 16) as u32;
        let ttl = 40 + (r >> 48) as u8 % 20;
        e.tcp(
            out,
            t,
            &src,
            &target,
            TcpFlags::SYN,
            seq,
            0,
            ttl,
            (r >> 32) as u16,
        )?;
        done.note(t);
        if (r >> 56) & 7 == 0 {
            let ta = t + (interval_ns / 3).clamp(1_000, 200_000);
            e.tcp(
                out,
                ta,
                &target,
                &src,
                TcpFlags::SYN | TcpFlags::ACK,
                rng.next_u32(),
                seq.wrapping_add(1),
                64,
                target_id,
            )?;
            target_id = target_id.wrapping_add(1);
            done.note(ta);
        }
    }
    if done.packets == 0 {
        done.first = Timestamp(start_ns);
        done.last = Timestamp(start_ns);
    }
    Ok(done)
}

/// How a host answers a SYN to a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortState {
    Open,
    Closed,
    /// No answer (no host, or a firewall dropping).
    Silent,
}

/// The TCP ports a site host listens on; `None` for an address where nothing lives.
pub fn listening(ip: [u8; 4]) -> Option<&'static [u16]> {
    use site::*;
    let h = HOSTS.iter().find(|h| h.ip == ip)?;
    Some(match h.name {
        "router" => &[22, 53, 80],
        "broker" => &[22, 1883],
        "gateway" => &[22],
        "plc-1" | "plc-2" => &[80, 502],
        "opcua-srv" => &[4840],
        "rabbit" => &[22, 5672, 15672],
        "hmi" | "bacnet-ws" => &[3389],
        _ => &[],
    })
}

/// One probe of a SYN scan at `t`: SYN from `scanner` (its port is the scan's source port),
/// then RST/ACK for a closed port, or SYN/ACK and the scanner's RST for an open one. Returns
/// the time of the last packet.
#[allow(clippy::too_many_arguments)]
pub(crate) fn probe<S: PacketSink + ?Sized>(
    out: &mut S,
    em: &mut Emitted,
    t: u64,
    scanner: &Endpoint,
    target: &Endpoint,
    state: PortState,
    rtt: u64,
    rng: &mut Rng,
) -> io::Result<u64> {
    let mut e = Emitter {
        buf: Vec::with_capacity(80),
    };
    let seq = rng.next_u32();
    let id = rng.next_u32() as u16;
    e.tcp(out, t, scanner, target, TcpFlags::SYN, seq, 0, 64, id)?;
    em.note(t);
    match state {
        PortState::Silent => Ok(t),
        PortState::Closed => {
            let ta = t + rtt;
            e.tcp(
                out,
                ta,
                target,
                scanner,
                TcpFlags::RST | TcpFlags::ACK,
                0,
                seq.wrapping_add(1),
                64,
                0,
            )?;
            em.note(ta);
            Ok(ta)
        }
        PortState::Open => {
            let ta = t + rtt;
            let isn = rng.next_u32();
            e.tcp(
                out,
                ta,
                target,
                scanner,
                TcpFlags::SYN | TcpFlags::ACK,
                isn,
                seq.wrapping_add(1),
                64,
                0,
            )?;
            let tr = ta + rtt / 2 + 1_000;
            e.tcp(
                out,
                tr,
                scanner,
                target,
                TcpFlags::RST,
                seq.wrapping_add(1),
                0,
                64,
                id.wrapping_add(1),
            )?;
            em.note(ta);
            em.note(tr);
            Ok(tr)
        }
    }
}

/// SYN scan of `ports` (0 skipped) on `target` from `scanner`, in a shuffled order, one probe
/// every 100 µs from `start`, one source port. Closed ports answer RST/ACK; the open ones
/// (the target's services if it is a site host, else 22, 80 and 443) SYN/ACK, which the scanner
/// resets. Deterministic.
pub fn port_scan<S: PacketSink + ?Sized>(
    out: &mut S,
    start: Timestamp,
    scanner: Ipv4Addr,
    target: Ipv4Addr,
    ports: RangeInclusive<u16>,
) -> io::Result<Emitted> {
    let mut rng = Rng::new(0x5ca4_0000 ^ u64::from(u32::from(target)));
    let open: &[u16] = listening(target.octets()).unwrap_or(&[22, 80, 443]);
    let mut list: Vec<u16> = ports.filter(|&p| p != 0).collect();
    for i in (1..list.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        list.swap(i, j);
    }
    let sport = 40_000 + rng.below(20_000) as u16;
    let scanner = Endpoint::v4(scanner.octets(), sport).with_mac(host_mac(scanner));
    let mut em = Emitted::new();
    for (k, &p) in list.iter().enumerate() {
        let t = start.0 + k as u64 * 100_000;
        let tgt = Endpoint::v4(target.octets(), p).with_mac(host_mac(target));
        let state = if open.contains(&p) {
            PortState::Open
        } else {
            PortState::Closed
        };
        probe(out, &mut em, t, &scanner, &tgt, state, 30_000, &mut rng)?;
    }
    if em.packets == 0 {
        em.first = start;
        em.last = start;
    }
    Ok(em)
}

/// The probes of a stealth scan (nmap -sF, -sN, -sX, -sA, -sU).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stealth {
    Fin,
    Null,
    Xmas,
    Ack,
    Udp,
}

impl Stealth {
    fn flags(self) -> TcpFlags {
        match self {
            Stealth::Fin => TcpFlags::FIN,
            Stealth::Null => TcpFlags(0),
            Stealth::Xmas => TcpFlags::FIN | TcpFlags::PSH | TcpFlags::URG,
            Stealth::Ack => TcpFlags::ACK,
            Stealth::Udp => TcpFlags(0),
        }
    }
}

/// One IPv4 frame with an explicit TTL and IP id (nmap's raw packets).
#[allow(clippy::too_many_arguments)]
fn raw_frame<S: PacketSink + ?Sized>(
    out: &mut S,
    buf: &mut Vec<u8>,
    t: u64,
    src: &Endpoint,
    dst: &Endpoint,
    ttl: u8,
    ip_id: u16,
    transport: Transport<'_>,
) -> io::Result<()> {
    let f = Frame {
        src_mac: src.mac,
        dst_mac: dst.mac,
        vlan: Vlan::None,
        src_ip: src.ip,
        dst_ip: dst.ip,
        ttl,
        ip_id,
        transport,
    };
    buf.clear();
    f.write(out.link_type(), false, buf);
    out.write_packet(Timestamp(t), buf)
}

/// A stealth scan of `ports` on `target` from `scanner` (its port is the scan's source port),
/// in a shuffled order, one probe every `gap` ns from `start`; `open` lists the target's open
/// ports (TCP, or UDP for [`Stealth::Udp`]). A closed port answers a FIN, NULL or XMAS probe
/// with RST/ACK and a UDP probe with ICMP port unreachable (quoting the probe); every port
/// answers an ACK probe with a RST. Probes left unanswered are sent once more after the last
/// one, as nmap does. Deterministic for a given `rng`.
#[allow(clippy::too_many_arguments)]
pub fn stealth_scan<S: PacketSink + ?Sized>(
    out: &mut S,
    kind: Stealth,
    start: u64,
    scanner: &Endpoint,
    target: &Endpoint,
    ports: &[u16],
    open: &[u16],
    gap: u64,
    rtt: u64,
    rng: &mut Rng,
) -> io::Result<Emitted> {
    let mut list = ports.to_vec();
    for i in (1..list.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        list.swap(i, j);
    }
    let mut em = Emitted::new();
    let mut buf = Vec::with_capacity(128);
    let mut ip = Vec::with_capacity(64);
    let ttl = 37 + rng.below(22) as u8;
    let seq = rng.next_u32();
    let mut target_id = rng.next_u32() as u16;
    let mut silent = Vec::new();
    let n = list.len() as u64;
    let mut probe = |k: u64, p: u16, em: &mut Emitted| -> io::Result<bool> {
        let t = start + k * gap;
        let tgt = Endpoint { port: p, ..*target };
        let id = rng.next_u32() as u16;
        let is_open = open.contains(&p);
        if kind == Stealth::Udp {
            let tr = Transport::Udp {
                sport: scanner.port,
                dport: p,
                payload: &[],
            };
            raw_frame(out, &mut buf, t, scanner, &tgt, ttl, id, tr)?;
            em.note(t);
            if is_open {
                return Ok(false);
            }
            ip.clear();
            Frame {
                src_mac: scanner.mac,
                dst_mac: tgt.mac,
                vlan: Vlan::None,
                src_ip: scanner.ip,
                dst_ip: tgt.ip,
                ttl,
                ip_id: id,
                transport: tr,
            }
            .write_ip(&mut ip);
            let icmp = crate::frame::icmp_error(3, 3, &ip);
            target_id = target_id.wrapping_add(1);
            let plain = Endpoint { port: 0, ..*target };
            let back = Endpoint {
                port: 0,
                ..*scanner
            };
            raw_frame(
                out,
                &mut buf,
                t + rtt,
                &plain,
                &back,
                64,
                target_id,
                Transport::Other {
                    protocol: 1,
                    payload: &icmp,
                },
            )?;
            em.note(t + rtt);
            return Ok(true);
        }
        let ack = if kind == Stealth::Ack {
            rng.next_u32()
        } else {
            0
        };
        let f = kind.flags();
        let probe_seg = Transport::Tcp(TcpSegment {
            sport: scanner.port,
            dport: p,
            seq,
            ack,
            flags: f,
            window: 1024,
            mss_option: None,
            payload: &[],
        });
        raw_frame(out, &mut buf, t, scanner, &tgt, ttl, id, probe_seg)?;
        em.note(t);
        let answer = match kind {
            Stealth::Ack => Some((TcpFlags::RST, ack, 0)),
            _ if is_open => None,
            _ => {
                let len = u32::from(f.contains(TcpFlags::FIN));
                Some((TcpFlags::RST | TcpFlags::ACK, 0, seq.wrapping_add(len)))
            }
        };
        let Some((flags, rseq, rack)) = answer else {
            return Ok(false);
        };
        target_id = target_id.wrapping_add(1);
        raw_frame(
            out,
            &mut buf,
            t + rtt,
            &tgt,
            scanner,
            64,
            target_id,
            Transport::Tcp(TcpSegment {
                sport: p,
                dport: scanner.port,
                seq: rseq,
                ack: rack,
                flags,
                window: 0,
                mss_option: None,
                payload: &[],
            }),
        )?;
        em.note(t + rtt);
        Ok(true)
    };
    for (k, &p) in list.iter().enumerate() {
        if !probe(k as u64, p, &mut em)? {
            silent.push(p);
        }
    }
    // The retries start a second after the last probe.
    let base = n + (S_NS / gap.max(1));
    for (j, &p) in silent.iter().enumerate() {
        probe(base + j as u64, p, &mut em)?;
    }
    if em.packets == 0 {
        em.first = Timestamp(start);
        em.last = Timestamp(start);
    }
    Ok(em)
}

const S_NS: u64 = 1_000_000_000;
