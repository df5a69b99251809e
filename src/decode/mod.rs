//! Stage 2: from link-layer bytes to addresses, ports and the transport payload.
//!
//! etherparse's lax slicer does Ethernet, 802.1Q/QinQ, IPv4/IPv6 (with extension headers) and
//! TCP/UDP/ICMP; it borrows, never copies, and keeps what it could parse of a truncated packet.
//! This module only adds the link types etherparse does not know (Linux cooked v2, BSD
//! null/loop, raw IP variants) and hands IPv4 fragments to [`frag`].

mod fast;
pub mod frag;

use crate::capture::LinkType;
use etherparse::{
    EtherType, IpNumber, LaxNetSlice, LaxSlicedPacket, LinkSlice, NetSlice, SlicedPacket,
    TransportSlice, VlanSlice,
};
use std::net::IpAddr;

/// TCP flags we act on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    /// PSH and URG: only scans combine them with FIN and no ACK (nmap's XMAS probe).
    pub psh: bool,
    pub urg: bool,
}

/// The transport layer of a decoded packet.
#[derive(Clone, Copy, Debug)]
pub enum L4<'a> {
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        payload: &'a [u8],
    },
    Udp {
        sport: u16,
        dport: u16,
        payload: &'a [u8],
    },
    Icmp {
        v6: bool,
        icmp_type: u8,
        code: u8,
        /// What follows the 8-byte ICMP header: for errors, the start of the packet that
        /// caused them.
        payload: &'a [u8],
    },
    /// An IPv4 fragment: to be reassembled before its transport can be read.
    Fragment(frag::FragmentInfo<'a>),
    /// Another IP protocol, or a transport header that did not parse.
    Other(u8),
}

/// A packet decoded down to its transport payload.
#[derive(Clone, Copy, Debug)]
pub struct Decoded<'a> {
    /// VLAN ids: outer in the high 12 bits of the low 24, inner in the low 12 (0 = untagged).
    pub vlan: u32,
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The packet from its IP header on, as captured (passive TCP/IP fingerprints read the
    /// IP and TCP headers of SYNs from it); empty for a datagram reassembled from fragments.
    pub ip: &'a [u8],
    pub l4: L4<'a>,
}

/// Why a packet was not decoded to the IP layer (counted, never fatal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// Link type we do not read.
    UnknownLink,
    /// Shorter than its link header.
    ShortLink,
    /// ARP, LLDP and other non-IP frames.
    NotIp,
    /// IP header truncated or invalid.
    BadIp,
}

impl Skip {
    pub fn name(self) -> &'static str {
        match self {
            Skip::UnknownLink => "unknown_link_type",
            Skip::ShortLink => "short_link_header",
            Skip::NotIp => "not_ip",
            Skip::BadIp => "bad_ip_header",
        }
    }
}

/// Decode one captured frame.
///
/// The common frame (Ethernet or Linux cooked, VLAN tags, IPv4 or IPv6, TCP or UDP) takes the
/// smoltcp path in [`fast`]; everything else, and anything that path declines, goes through
/// [`decode_etherparse`].
#[inline]
pub fn decode(link: LinkType, data: &[u8]) -> Result<Decoded<'_>, Skip> {
    let fast = match link {
        LinkType::ETHERNET => fast::ethernet(data),
        LinkType::LINUX_SLL | LinkType::LINUX_SLL2 => cooked(link, data)
            .ok()
            .and_then(|(proto, rest)| fast::after_link(proto.0, rest)),
        _ => None,
    };
    match fast {
        Some(d) => Ok(d),
        None => decode_etherparse(link, data),
    }
}

/// An Ethernet/IPv4 ARP message (RFC 826).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender hardware and protocol address: what the sender claims.
    pub sha: [u8; 6],
    pub spa: std::net::Ipv4Addr,
    pub tha: [u8; 6],
    pub tpa: std::net::Ipv4Addr,
    /// The Ethernet destination, when the link has one (a broadcast reply is gratuitous).
    pub dst_mac: Option<[u8; 6]>,
}

/// Read an ARP message from a frame the IP decoder skipped (Ethernet with up to two VLAN tags,
/// or Linux cooked). Only Ethernet/IPv4 ARP: other hardware or protocol types give `None`.
pub fn arp(link: LinkType, data: &[u8]) -> Option<Arp> {
    let (ether_type, body, dst_mac) = match link {
        LinkType::ETHERNET => {
            let dst: [u8; 6] = data.get(..6)?.try_into().ok()?;
            let mut at = 12;
            let mut et = u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?);
            for _ in 0..2 {
                if !matches!(et, 0x8100 | 0x88a8 | 0x9100) {
                    break;
                }
                at += 4;
                et = u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?);
            }
            (et, data.get(at + 2..)?, Some(dst))
        }
        LinkType::LINUX_SLL | LinkType::LINUX_SLL2 => {
            let (proto, rest) = cooked(link, data).ok()?;
            (proto.0, rest, None)
        }
        _ => return None,
    };
    if ether_type != 0x0806 {
        return None;
    }
    let b: &[u8; 28] = body.get(..28)?.try_into().ok()?;
    // Ethernet (1), IPv4 (0x0800), 6-byte hardware and 4-byte protocol addresses.
    if b[..6] != [0, 1, 8, 0, 6, 4] {
        return None;
    }
    let mac = |at: usize| -> Option<[u8; 6]> { b.get(at..at + 6)?.try_into().ok() };
    let ip = |at: usize| -> Option<std::net::Ipv4Addr> {
        let a: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(a.into())
    };
    Some(Arp {
        op: u16::from_be_bytes([b[6], b[7]]),
        sha: mac(8)?,
        spa: ip(14)?,
        tha: mac(18)?,
        tpa: ip(24)?,
        dst_mac,
    })
}

/// Decode one captured frame with etherparse: the reference for every frame.
///
/// etherparse's strict slicer is tried first: it is the cheaper of the two (its result is half
/// the size to move around). Frames it rejects (cut by the snap length, lengths that disagree)
/// go through the lax slicer, which keeps what it can.
pub fn decode_etherparse(link: LinkType, data: &[u8]) -> Result<Decoded<'_>, Skip> {
    // Each result is inspected where it lies: converting or moving it (`.ok()`, `map_err`)
    // copies etherparse's large sliced packet, which showed as a tenth of all instructions.
    let usable = |s: &SlicedPacket<'_>| s.net.is_some() && s.transport.is_some();
    match link {
        LinkType::ETHERNET => {
            if let Ok(s) = &SlicedPacket::from_ethernet(data) {
                if usable(s) {
                    return from_strict(s).map(|d| to_end(data, d));
                }
            }
        }
        LinkType::LINUX_SLL | LinkType::LINUX_SLL2 => {
            let (proto, rest) = cooked(link, data)?;
            if let Ok(s) = &SlicedPacket::from_ether_type(proto, rest) {
                if usable(s) {
                    return from_strict(s).map(|d| to_end(data, d));
                }
            }
        }
        _ => {}
    }
    let sliced = match link {
        LinkType::ETHERNET => LaxSlicedPacket::from_ethernet(data).map_err(|_| Skip::ShortLink)?,
        LinkType::LINUX_SLL | LinkType::LINUX_SLL2 => {
            let (proto, rest) = cooked(link, data)?;
            LaxSlicedPacket::from_ether_type(proto, rest)
        }
        LinkType::RAW | LinkType::RAW_BSD | LinkType::IPV4 | LinkType::IPV6 | LinkType(14) => {
            LaxSlicedPacket::from_ip(data).map_err(|_| Skip::BadIp)?
        }
        LinkType::NULL | LinkType::LOOP => {
            // 4-byte address family (host order for NULL, network order for LOOP): IPv4 is 2,
            // IPv6 is 24, 28 or 30 depending on the BSD. The IP version nibble decides anyway.
            let rest = data.get(4..).ok_or(Skip::ShortLink)?;
            LaxSlicedPacket::from_ip(rest).map_err(|_| Skip::BadIp)?
        }
        _ => return Err(Skip::UnknownLink),
    };
    from_lax(&sliced).map(|d| to_end(data, d))
}

/// etherparse's IP header lies inside `data`: its address there is where the packet's IP
/// part starts.
fn to_end<'a>(data: &'a [u8], (mut d, ip_at): (Decoded<'a>, usize)) -> Decoded<'a> {
    let off = ip_at.wrapping_sub(data.as_ptr() as usize);
    d.ip = data.get(off..).unwrap_or(&[]);
    d
}

/// Linux cooked capture: the EtherType and what follows the header. v1 has a 16-byte header
/// with the protocol in its last two bytes; v2 a 20-byte one with the protocol first.
fn cooked(link: LinkType, data: &[u8]) -> Result<(EtherType, &[u8]), Skip> {
    let (hdr_len, at) = if link == LinkType::LINUX_SLL {
        (16, 14)
    } else {
        (20, 0)
    };
    let (hdr, rest) = data.split_at_checked(hdr_len).ok_or(Skip::ShortLink)?;
    let proto = hdr.get(at..at + 2).ok_or(Skip::ShortLink)?;
    let proto: [u8; 2] = proto.try_into().map_err(|_| Skip::ShortLink)?;
    Ok((EtherType(u16::from_be_bytes(proto)), rest))
}

/// The same walk over etherparse's strict and lax slices (their types differ, their shapes do
/// not).
macro_rules! from_sliced {
    ($name:ident, $pkt:ident, $net:ident) => {
        /// The decoded packet and the address of its IP header's first byte.
        fn $name<'a>(s: &$pkt<'a>) -> Result<(Decoded<'a>, usize), Skip> {
            let (src_mac, dst_mac) = match &s.link {
                Some(LinkSlice::Ethernet2(e)) => (Some(e.source()), Some(e.destination())),
                _ => (None, None),
            };
            let vlan = match s.vlan() {
                Some(VlanSlice::SingleVlan(v)) => u32::from(v.vlan_identifier().value()),
                Some(VlanSlice::DoubleVlan(d)) => {
                    (u32::from(d.outer.vlan_identifier().value()) << 12)
                        | u32::from(d.inner.vlan_identifier().value())
                }
                None => 0,
            };
            let ip_at: usize;
            let (src, dst, ip_number) = match &s.net {
                Some($net::Ipv4(ip)) => {
                    let h = ip.header();
                    ip_at = h.slice().as_ptr() as usize;
                    let (src, dst) = (
                        IpAddr::V4(h.source_addr()),
                        IpAddr::V4(h.destination_addr()),
                    );
                    let pl = ip.payload();
                    if pl.fragmented {
                        let info = frag::FragmentInfo {
                            src: h.source(),
                            dst: h.destination(),
                            id: h.identification(),
                            protocol: h.protocol().0,
                            offset: usize::from(h.fragments_offset().value()) * 8,
                            more: h.more_fragments(),
                            data: pl.payload,
                        };
                        let d = Decoded {
                            vlan,
                            src_mac,
                            dst_mac,
                            src,
                            dst,
                            ip: &[],
                            l4: L4::Fragment(info),
                        };
                        return Ok((d, ip_at));
                    }
                    (src, dst, pl.ip_number)
                }
                Some($net::Ipv6(ip)) => {
                    let h = ip.header();
                    ip_at = h.slice().as_ptr() as usize;
                    (
                        IpAddr::V6(h.source_addr()),
                        IpAddr::V6(h.destination_addr()),
                        ip.payload().ip_number,
                    )
                }
                Some($net::Arp(_)) | None => return Err(Skip::NotIp),
            };
            let l4 = match &s.transport {
                Some(t) => transport(t),
                // A fragmented IPv6 payload or a transport header that did not parse.
                None => L4::Other(ip_number.0),
            };
            let d = Decoded {
                vlan,
                src_mac,
                dst_mac,
                src,
                dst,
                ip: &[],
                l4,
            };
            Ok((d, ip_at))
        }
    };
}

from_sliced!(from_strict, SlicedPacket, NetSlice);
from_sliced!(from_lax, LaxSlicedPacket, LaxNetSlice);

fn transport<'a>(t: &TransportSlice<'a>) -> L4<'a> {
    match t {
        TransportSlice::Tcp(tcp) => L4::Tcp {
            sport: tcp.source_port(),
            dport: tcp.destination_port(),
            seq: tcp.sequence_number(),
            ack: tcp.acknowledgment_number(),
            flags: TcpFlags {
                syn: tcp.syn(),
                ack: tcp.ack(),
                fin: tcp.fin(),
                rst: tcp.rst(),
                psh: tcp.psh(),
                urg: tcp.urg(),
            },
            payload: tcp.payload(),
        },
        TransportSlice::Udp(udp) => L4::Udp {
            sport: udp.source_port(),
            dport: udp.destination_port(),
            payload: udp.payload(),
        },
        TransportSlice::Icmpv4(i) => L4::Icmp {
            v6: false,
            icmp_type: i.type_u8(),
            code: i.code_u8(),
            payload: i.payload(),
        },
        TransportSlice::Icmpv6(i) => L4::Icmp {
            v6: true,
            icmp_type: i.type_u8(),
            code: i.code_u8(),
            payload: i.payload(),
        },
        _ => L4::Other(0),
    }
}

/// Decode the transport header of a reassembled IPv4 datagram's payload.
pub fn transport_of(protocol: u8, data: &[u8]) -> L4<'_> {
    match IpNumber(protocol) {
        IpNumber::TCP => match etherparse::TcpSlice::from_slice(data) {
            Ok(tcp) => transport(&TransportSlice::Tcp(tcp)),
            Err(_) => L4::Other(protocol),
        },
        IpNumber::UDP => match etherparse::UdpSlice::from_slice_lax(data) {
            Ok(udp) => transport(&TransportSlice::Udp(udp)),
            Err(_) => L4::Other(protocol),
        },
        IpNumber::ICMP => match etherparse::Icmpv4Slice::from_slice(data) {
            Ok(i) => transport(&TransportSlice::Icmpv4(i)),
            Err(_) => L4::Other(protocol),
        },
        _ => L4::Other(protocol),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_frame(vlans: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        let b = PacketBuilder::ethernet2([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]);
        let b = match vlans {
            [] => b.ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64),
            [v] => b
                .single_vlan((*v).try_into().unwrap())
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64),
            [o, i, ..] => b
                .double_vlan((*o).try_into().unwrap(), (*i).try_into().unwrap())
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64),
        };
        b.tcp(40000, 502, 7, 100)
            .syn()
            .write(&mut out, b"hi")
            .unwrap();
        out
    }

    #[test]
    fn ethernet_vlan_and_qinq() {
        for (vlans, want) in [
            (vec![], 0u32),
            (vec![10], 10),
            (vec![100, 20], (100 << 12) | 20),
        ] {
            let f = tcp_frame(&vlans);
            let d = decode(LinkType::ETHERNET, &f).unwrap();
            assert_eq!(d.vlan, want);
            assert_eq!(d.src_mac, Some([1, 2, 3, 4, 5, 6]));
            match d.l4 {
                L4::Tcp {
                    sport,
                    dport,
                    seq,
                    flags,
                    payload,
                    ..
                } => {
                    assert_eq!(
                        (sport, dport, seq, flags.syn, payload),
                        (40000, 502, 7, true, &b"hi"[..])
                    );
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn cooked_and_raw_and_null_links() {
        let eth = tcp_frame(&[]);
        let ip = &eth[14..];
        let mut sll = vec![0u8; 16];
        sll[14..16].copy_from_slice(&0x0800u16.to_be_bytes());
        sll.extend_from_slice(ip);
        let mut sll2 = vec![0u8; 20];
        sll2[0..2].copy_from_slice(&0x0800u16.to_be_bytes());
        sll2.extend_from_slice(ip);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(ip);
        for (link, bytes) in [
            (LinkType::LINUX_SLL, &sll),
            (LinkType::LINUX_SLL2, &sll2),
            (LinkType::NULL, &null),
        ] {
            let d = decode(link, bytes).unwrap();
            assert!(matches!(d.l4, L4::Tcp { dport: 502, .. }), "{link:?}");
        }
        let d = decode(LinkType::RAW, ip).unwrap();
        assert_eq!(d.dst, "10.0.0.2".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn short_and_garbage_frames_are_skipped_not_fatal() {
        assert_eq!(
            decode(LinkType::ETHERNET, &[1, 2, 3]).unwrap_err(),
            Skip::ShortLink
        );
        assert!(decode(LinkType::LINUX_SLL, &[0; 10]).is_err());
        assert!(decode(LinkType(9999), &[0; 60]).is_err());
        let eth = tcp_frame(&[]);
        for cut in 0..eth.len() {
            let _ = decode(LinkType::ETHERNET, &eth[..cut]);
        }
    }
}
