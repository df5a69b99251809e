//! Hand-built frames: Ethernet (optionally 802.1Q / QinQ tagged), IPv4 / IPv6, TCP / UDP /
//! ICMP echo, with correct lengths and checksums, wrapped for any [`LinkType`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::pcap::{LinkType, PacketSink, Timestamp};

/// An Ethernet MAC address.
pub type Mac = [u8; 6];

/// The broadcast MAC address.
pub const BROADCAST_MAC: Mac = [0xff; 6];

/// A locally administered MAC derived from an IP address (`02:..`), handy defaults.
pub fn mac_for(ip: IpAddr) -> Mac {
    match ip {
        IpAddr::V4(v4) if v4.is_broadcast() => BROADCAST_MAC,
        IpAddr::V4(v4) => {
            let o = v4.octets();
            [0x02, 0x00, o[0], o[1], o[2], o[3]]
        }
        IpAddr::V6(v6) => {
            let o = v6.octets();
            [0x02, 0x06, o[12], o[13], o[14], o[15]]
        }
    }
}

/// 802.1Q tagging of an Ethernet frame. Ignored for link types other than Ethernet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Vlan {
    #[default]
    None,
    /// One 802.1Q tag (TPID 0x8100) with this VLAN id (12 bits).
    Single(u16),
    /// QinQ: an 802.1ad service tag (TPID 0x88a8) then an 802.1Q customer tag.
    QinQ { outer: u16, inner: u16 },
}

/// One side of a conversation: MAC, IP address, port (ignored for ICMP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    pub mac: Mac,
    pub ip: IpAddr,
    pub port: u16,
}

impl Endpoint {
    /// An endpoint with a MAC derived from the address (see [`mac_for`]).
    pub fn new(ip: impl Into<IpAddr>, port: u16) -> Endpoint {
        let ip = ip.into();
        Endpoint {
            mac: mac_for(ip),
            ip,
            port,
        }
    }
    /// `Endpoint::v4([10, 0, 0, 1], 502)`.
    pub fn v4(octets: [u8; 4], port: u16) -> Endpoint {
        Endpoint::new(Ipv4Addr::from(octets), port)
    }
    /// `Endpoint::v6("fd00::1".parse().unwrap(), 502)` or from segments.
    pub fn v6(addr: Ipv6Addr, port: u16) -> Endpoint {
        Endpoint::new(addr, port)
    }
    /// Replace the MAC address.
    pub fn with_mac(mut self, mac: Mac) -> Endpoint {
        self.mac = mac;
        self
    }
}

/// TCP flag bits (combine with `|`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    pub fn contains(self, o: TcpFlags) -> bool {
        self.0 & o.0 == o.0
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, o: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | o.0)
    }
}

/// A TCP segment's header fields and payload.
#[derive(Clone, Copy, Debug)]
pub struct TcpSegment<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// MSS option (written only when set; usual on SYN and SYN/ACK).
    pub mss_option: Option<u16>,
    pub payload: &'a [u8],
}

/// The transport part of a [`Frame`].
#[derive(Clone, Copy, Debug)]
pub enum Transport<'a> {
    Tcp(TcpSegment<'a>),
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
    },
    /// ICMP (v4 or v6 by the address family) echo request or reply.
    IcmpEcho {
        reply: bool,
        id: u16,
        seq: u16,
        payload: &'a [u8],
    },
    /// Any other IP protocol number with an opaque payload.
    Other {
        protocol: u8,
        payload: &'a [u8],
    },
}

/// Everything needed to build one frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub src_mac: Mac,
    pub dst_mac: Mac,
    pub vlan: Vlan,
    pub src_ip: IpAddr,
    pub dst_ip: IpAddr,
    pub ttl: u8,
    /// IPv4 identification (unused for IPv6).
    pub ip_id: u16,
    pub transport: Transport<'a>,
}

impl<'a> Frame<'a> {
    /// A frame between `src` and `dst` (MACs and addresses taken from the endpoints, ports left
    /// to `transport`), no VLAN, TTL 64.
    pub fn between(src: &Endpoint, dst: &Endpoint, transport: Transport<'a>) -> Frame<'a> {
        Frame {
            src_mac: src.mac,
            dst_mac: dst.mac,
            vlan: Vlan::None,
            src_ip: src.ip,
            dst_ip: dst.ip,
            ttl: 64,
            ip_id: 0,
            transport,
        }
    }

    /// Append the frame, link header included, to `out`. With `pad` Ethernet frames shorter than
    /// 60 bytes get trailing zero padding (as seen on the wire).
    ///
    /// # Panics
    /// If the source and destination addresses are of different families.
    pub fn write(&self, link: LinkType, pad: bool, out: &mut Vec<u8>) {
        let v6 = match (self.src_ip, self.dst_ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) => false,
            (IpAddr::V6(_), IpAddr::V6(_)) => true,
            _ => panic!("pcapgen::Frame: source and destination must both be IPv4 or both IPv6"),
        };
        let start = out.len();
        write_link_header(link, self.src_mac, self.dst_mac, self.vlan, v6, out);
        self.write_ip(out);
        if pad && link == LinkType::Ethernet && out.len() - start < 60 {
            out.resize(start + 60, 0);
        }
    }

    /// The frame as a new vector (no padding).
    pub fn to_vec(&self, link: LinkType) -> Vec<u8> {
        let mut v = Vec::with_capacity(128);
        self.write(link, false, &mut v);
        v
    }

    /// Build and write to a sink in one go (no padding).
    pub fn emit<S: PacketSink + ?Sized>(&self, out: &mut S, ts: Timestamp) -> io::Result<()> {
        let f = self.to_vec(out.link_type());
        out.write_packet(ts, &f)
    }

    /// Append only the IP packet (no link header).
    pub fn write_ip(&self, out: &mut Vec<u8>) {
        let (proto, l4_len) = match self.transport {
            Transport::Tcp(s) => (
                6u8,
                20 + if s.mss_option.is_some() { 4 } else { 0 } + s.payload.len(),
            ),
            Transport::Udp { payload, .. } => (17, 8 + payload.len()),
            Transport::IcmpEcho { payload, .. } => (
                if self.src_ip.is_ipv6() { 58 } else { 1 },
                8 + payload.len(),
            ),
            Transport::Other { protocol, payload } => (protocol, payload.len()),
        };
        // Pseudo-header partial sum for the L4 checksum.
        let pseudo: u32;
        match (self.src_ip, self.dst_ip) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let total = (20 + l4_len) as u16;
                let h0 = out.len();
                out.extend_from_slice(&[0x45, 0]);
                out.extend_from_slice(&total.to_be_bytes());
                out.extend_from_slice(&self.ip_id.to_be_bytes());
                out.extend_from_slice(&[0x40, 0x00, self.ttl, proto, 0, 0]);
                out.extend_from_slice(&s.octets());
                out.extend_from_slice(&d.octets());
                let c = fold(sum_be(&out[h0..h0 + 20], 0));
                out[h0 + 10..h0 + 12].copy_from_slice(&c.to_be_bytes());
                let mut p = sum_be(&s.octets(), 0);
                p = sum_be(&d.octets(), p);
                pseudo = p + proto as u32 + l4_len as u32;
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                out.extend_from_slice(&[0x60, 0, 0, 0]);
                out.extend_from_slice(&(l4_len as u16).to_be_bytes());
                out.extend_from_slice(&[proto, self.ttl]);
                out.extend_from_slice(&s.octets());
                out.extend_from_slice(&d.octets());
                let mut p = sum_be(&s.octets(), 0);
                p = sum_be(&d.octets(), p);
                pseudo = p + proto as u32 + l4_len as u32;
            }
            _ => panic!("pcapgen::Frame: source and destination must both be IPv4 or both IPv6"),
        }
        let l4 = out.len();
        match self.transport {
            Transport::Tcp(s) => {
                let doff: u8 = if s.mss_option.is_some() { 6 } else { 5 };
                out.extend_from_slice(&s.sport.to_be_bytes());
                out.extend_from_slice(&s.dport.to_be_bytes());
                out.extend_from_slice(&s.seq.to_be_bytes());
                out.extend_from_slice(&s.ack.to_be_bytes());
                out.extend_from_slice(&[doff << 4, s.flags.0]);
                out.extend_from_slice(&s.window.to_be_bytes());
                out.extend_from_slice(&[0, 0, 0, 0]);
                if let Some(mss) = s.mss_option {
                    out.extend_from_slice(&[2, 4]);
                    out.extend_from_slice(&mss.to_be_bytes());
                }
                out.extend_from_slice(s.payload);
                let c = fold(sum_be(&out[l4..], pseudo));
                out[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
            }
            Transport::Udp {
                sport,
                dport,
                payload,
            } => {
                out.extend_from_slice(&sport.to_be_bytes());
                out.extend_from_slice(&dport.to_be_bytes());
                out.extend_from_slice(&(l4_len as u16).to_be_bytes());
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(payload);
                let mut c = fold(sum_be(&out[l4..], pseudo));
                if c == 0 {
                    c = 0xffff;
                }
                out[l4 + 6..l4 + 8].copy_from_slice(&c.to_be_bytes());
            }
            Transport::IcmpEcho {
                reply,
                id,
                seq,
                payload,
            } => {
                let ty = match (self.src_ip.is_ipv6(), reply) {
                    (false, false) => 8,
                    (false, true) => 0,
                    (true, false) => 128,
                    (true, true) => 129,
                };
                out.extend_from_slice(&[ty, 0, 0, 0]);
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&seq.to_be_bytes());
                out.extend_from_slice(payload);
                let init = if self.src_ip.is_ipv6() { pseudo } else { 0 };
                let c = fold(sum_be(&out[l4..], init));
                out[l4 + 2..l4 + 4].copy_from_slice(&c.to_be_bytes());
            }
            Transport::Other { payload, .. } => out.extend_from_slice(payload),
        }
    }
}

/// Append the link-layer header for an IP packet of the given version.
pub fn write_link_header(
    link: LinkType,
    src: Mac,
    dst: Mac,
    vlan: Vlan,
    v6: bool,
    out: &mut Vec<u8>,
) {
    let ethertype: u16 = if v6 { 0x86dd } else { 0x0800 };
    match link {
        LinkType::Ethernet => {
            out.extend_from_slice(&dst);
            out.extend_from_slice(&src);
            match vlan {
                Vlan::None => {}
                Vlan::Single(id) => {
                    out.extend_from_slice(&0x8100u16.to_be_bytes());
                    out.extend_from_slice(&(id & 0x0fff).to_be_bytes());
                }
                Vlan::QinQ { outer, inner } => {
                    out.extend_from_slice(&0x88a8u16.to_be_bytes());
                    out.extend_from_slice(&(outer & 0x0fff).to_be_bytes());
                    out.extend_from_slice(&0x8100u16.to_be_bytes());
                    out.extend_from_slice(&(inner & 0x0fff).to_be_bytes());
                }
            }
            out.extend_from_slice(&ethertype.to_be_bytes());
        }
        LinkType::LinuxSll => {
            out.extend_from_slice(&0u16.to_be_bytes()); // packet type: to us
            out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
            out.extend_from_slice(&6u16.to_be_bytes());
            out.extend_from_slice(&src);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&ethertype.to_be_bytes());
        }
        LinkType::LinuxSll2 => {
            out.extend_from_slice(&ethertype.to_be_bytes());
            out.extend_from_slice(&[0, 0]); // reserved
            out.extend_from_slice(&1u32.to_be_bytes()); // interface index
            out.extend_from_slice(&1u16.to_be_bytes()); // ARPHRD_ETHER
            out.push(0); // packet type
            out.push(6);
            out.extend_from_slice(&src);
            out.extend_from_slice(&[0, 0]);
        }
        LinkType::RawIp => {}
        LinkType::Null => {
            // AF_INET = 2; AF_INET6 = 24 (the BSD value Wireshark accepts); host (LE) order.
            let af: u32 = if v6 { 24 } else { 2 };
            out.extend_from_slice(&af.to_le_bytes());
        }
    }
}

/// ARP operation: request.
pub const ARP_REQUEST: u16 = 1;
/// ARP operation: reply.
pub const ARP_REPLY: u16 = 2;

/// An Ethernet/IPv4 ARP packet (htype 1, ptype 0x0800, hlen 6, plen 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// [`ARP_REQUEST`] or [`ARP_REPLY`].
    pub op: u16,
    /// Sender hardware and protocol address.
    pub sha: Mac,
    pub spa: [u8; 4],
    /// Target hardware and protocol address (`tha` all zero in a request).
    pub tha: Mac,
    pub tpa: [u8; 4],
}

impl Arp {
    /// A request from `sha`/`spa` asking who has `tpa`. Gratuitous when `spa == tpa`.
    pub fn request(sha: Mac, spa: [u8; 4], tpa: [u8; 4]) -> Arp {
        Arp {
            op: ARP_REQUEST,
            sha,
            spa,
            tha: [0; 6],
            tpa,
        }
    }
    /// A reply: `spa` is at `sha`, told to `tha`/`tpa`.
    pub fn reply(sha: Mac, spa: [u8; 4], tha: Mac, tpa: [u8; 4]) -> Arp {
        Arp {
            op: ARP_REPLY,
            sha,
            spa,
            tha,
            tpa,
        }
    }

    /// The 28-byte ARP packet.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&0x0800u16.to_be_bytes());
        out.extend_from_slice(&[6, 4]);
        out.extend_from_slice(&self.op.to_be_bytes());
        out.extend_from_slice(&self.sha);
        out.extend_from_slice(&self.spa);
        out.extend_from_slice(&self.tha);
        out.extend_from_slice(&self.tpa);
    }

    /// The whole Ethernet frame (EtherType 0x0806) from `src` to `dst`, zero-padded to the
    /// 60-byte minimum as seen on the wire.
    pub fn frame(&self, src: Mac, dst: Mac) -> Vec<u8> {
        let mut v = Vec::with_capacity(60);
        v.extend_from_slice(&dst);
        v.extend_from_slice(&src);
        v.extend_from_slice(&0x0806u16.to_be_bytes());
        self.write(&mut v);
        v.resize(60, 0);
        v
    }
}

/// An ICMPv4 error message (e.g. type 3 code 3, port unreachable) quoting `original`: the
/// offending datagram's IP header and the first 8 bytes of what follows it. Use it as the
/// payload of `Transport::Other { protocol: 1, .. }`.
pub fn icmp_error(ty: u8, code: u8, original: &[u8]) -> Vec<u8> {
    let ihl = original.first().map_or(20, |b| usize::from(b & 0x0f) * 4);
    let quoted = &original[..original.len().min(ihl + 8)];
    let mut v = Vec::with_capacity(8 + quoted.len());
    v.extend_from_slice(&[ty, code, 0, 0, 0, 0, 0, 0]);
    v.extend_from_slice(quoted);
    let c = fold(sum_be(&v, 0));
    v[2..4].copy_from_slice(&c.to_be_bytes());
    v
}

/// One's complement sum of big-endian 16-bit words, added to `init`.
fn sum_be(data: &[u8], init: u32) -> u32 {
    let mut acc: u64 = init as u64;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64;
    }
    let mut rest = chunks.remainder();
    if rest.len() >= 2 {
        acc += u16::from_be_bytes([rest[0], rest[1]]) as u64;
        rest = &rest[2..];
    }
    if let [b] = rest {
        acc += (*b as u64) << 8;
    }
    while acc >> 32 != 0 {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    let mut a = acc as u32;
    a = (a & 0xffff) + (a >> 16);
    a
}

fn fold(mut s: u32) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    #[test]
    fn arp_frame_layout() {
        let a = Arp::reply(
            [2, 0, 0, 0, 0, 9],
            [10, 0, 0, 1],
            [2, 0, 0, 0, 0, 5],
            [10, 0, 0, 5],
        );
        let f = a.frame(a.sha, a.tha);
        assert_eq!(f.len(), 60);
        assert_eq!(&f[12..14], &[0x08, 0x06]);
        assert_eq!(&f[14..22], &[0, 1, 0x08, 0x00, 6, 4, 0, 2]);
        assert_eq!(&f[22..28], &a.sha);
        assert_eq!(&f[28..32], &[10, 0, 0, 1]);
        assert_eq!(&f[32..38], &a.tha);
        assert_eq!(&f[38..42], &[10, 0, 0, 5]);
        assert!(f[42..].iter().all(|&b| b == 0));
    }

    #[test]
    fn icmp_error_checksum_and_quote() {
        let c = Endpoint::v4([10, 0, 0, 1], 40000);
        let s = Endpoint::v4([10, 0, 0, 2], 161);
        let probe = Frame::between(
            &c,
            &s,
            Transport::Udp {
                sport: 40000,
                dport: 161,
                payload: &[1, 2, 3, 4, 5, 6, 7, 8, 9],
            },
        );
        let mut ip = Vec::new();
        probe.write_ip(&mut ip);
        let m = icmp_error(3, 3, &ip);
        assert_eq!(m.len(), 8 + 28);
        assert_eq!(&m[8..], &ip[..28]);
        assert_eq!(fold(sum_be(&m, 0)), 0, "checksum verifies");
    }

    #[test]
    fn tcp_checksum_verifies_with_etherparse() {
        let c = Endpoint::v4([10, 0, 0, 1], 40000);
        let s = Endpoint::v4([10, 0, 0, 2], 502);
        let payload = [1u8, 2, 3, 4, 5];
        let mut f = Frame::between(
            &c,
            &s,
            Transport::Tcp(TcpSegment {
                sport: c.port,
                dport: s.port,
                seq: 7,
                ack: 9,
                flags: TcpFlags::PSH | TcpFlags::ACK,
                window: 8192,
                mss_option: None,
                payload: &payload,
            }),
        );
        f.vlan = Vlan::QinQ {
            outer: 100,
            inner: 7,
        };
        let v = f.to_vec(LinkType::Ethernet);
        let p = SlicedPacket::from_ethernet(&v).unwrap();
        let Some(NetSlice::Ipv4(ip)) = &p.net else {
            panic!("no ipv4")
        };
        let Some(TransportSlice::Tcp(t)) = &p.transport else {
            panic!("no tcp")
        };
        assert_eq!(t.payload(), &payload);
        let expect = t
            .to_header()
            .calc_checksum_ipv4(&ip.header().to_header(), t.payload())
            .unwrap();
        assert_eq!(t.checksum(), expect);
        assert_eq!(p.vlan_ids().len(), 2);
    }
}
