//! The common frame, decoded with smoltcp's wire views: Ethernet (or Linux cooked), up to two
//! VLAN tags, IPv4 without fragmentation or IPv6 without extension headers, then TCP or UDP.
//!
//! smoltcp's views check lengths once (`new_checked`) and then read fields in place, without
//! building and moving a description of the whole packet; on the benchmark capture this path
//! takes a fraction of the instructions of etherparse's slicers. Anything else (ARP, ICMP,
//! fragments, extension headers, truncated or inconsistent lengths) returns `None` and goes
//! through etherparse in [`super::decode`], which stays the reference: a test checks that both
//! give the same answer wherever this path gives one.

use super::{Decoded, TcpFlags, L4};
use smoltcp::wire::{EthernetFrame, Ipv4Packet, Ipv6Packet, TcpPacket, UdpPacket};
use std::net::IpAddr;

const ETH_IPV4: u16 = 0x0800;
const ETH_IPV6: u16 = 0x86dd;
const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const TCP: u8 = 6;
const UDP: u8 = 17;

/// An Ethernet frame.
#[inline]
pub fn ethernet(data: &[u8]) -> Option<Decoded<'_>> {
    let eth = EthernetFrame::new_checked(data).ok()?;
    let (src_mac, dst_mac) = (Some(eth.src_addr().0), Some(eth.dst_addr().0));
    let (vlan, ether_type, rest) = vlans(u16::from(eth.ethertype()), eth.payload())?;
    let mut d = network(ether_type, rest)?;
    d.vlan = vlan;
    d.src_mac = src_mac;
    d.dst_mac = dst_mac;
    Some(d)
}

/// The payload of a link header whose protocol field is `ether_type` (Linux cooked captures).
#[inline]
pub fn after_link(ether_type: u16, data: &[u8]) -> Option<Decoded<'_>> {
    let (vlan, ether_type, rest) = vlans(ether_type, data)?;
    let mut d = network(ether_type, rest)?;
    d.vlan = vlan;
    Some(d)
}

/// Skip up to two 802.1Q/802.1ad tags: (vlan key as in [`Decoded::vlan`], inner type, rest).
fn vlans(mut ether_type: u16, mut data: &[u8]) -> Option<(u32, u16, &[u8])> {
    let mut vlan = 0u32;
    for _ in 0..2 {
        if !matches!(ether_type, ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD) {
            break;
        }
        let (tag, rest) = data.split_first_chunk::<4>()?;
        vlan = (vlan << 12) | u32::from(u16::from_be_bytes([tag[0], tag[1]]) & 0x0fff);
        ether_type = u16::from_be_bytes([tag[2], tag[3]]);
        data = rest;
    }
    if matches!(ether_type, ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD) {
        return None; // a third tag: leave it to etherparse
    }
    Some((vlan, ether_type, data))
}

fn network(ether_type: u16, data: &[u8]) -> Option<Decoded<'_>> {
    let (src, dst, proto, payload) = match ether_type {
        ETH_IPV4 => {
            if data.first()? >> 4 != 4 {
                return None;
            }
            let ip = Ipv4Packet::new_checked(data).ok()?;
            if ip.more_frags() || ip.frag_offset() != 0 {
                return None;
            }
            (
                IpAddr::V4(ip.src_addr()),
                IpAddr::V4(ip.dst_addr()),
                u8::from(ip.next_header()),
                ip.payload(),
            )
        }
        ETH_IPV6 => {
            if data.first()? >> 4 != 6 {
                return None;
            }
            let ip = Ipv6Packet::new_checked(data).ok()?;
            (
                IpAddr::V6(ip.src_addr()),
                IpAddr::V6(ip.dst_addr()),
                u8::from(ip.next_header()),
                ip.payload(),
            )
        }
        _ => return None,
    };
    let l4 = match proto {
        TCP => {
            let tcp = TcpPacket::new_checked(payload).ok()?;
            L4::Tcp {
                sport: tcp.src_port(),
                dport: tcp.dst_port(),
                seq: tcp.seq_number().0 as u32,
                ack: tcp.ack_number().0 as u32,
                flags: TcpFlags {
                    syn: tcp.syn(),
                    ack: tcp.ack(),
                    fin: tcp.fin(),
                    rst: tcp.rst(),
                    psh: tcp.psh(),
                    urg: tcp.urg(),
                },
                payload: tcp.payload(),
            }
        }
        UDP => {
            let udp = UdpPacket::new_checked(payload).ok()?;
            L4::Udp {
                sport: udp.src_port(),
                dport: udp.dst_port(),
                payload: udp.payload(),
            }
        }
        _ => return None,
    };
    Some(Decoded {
        vlan: 0,
        src_mac: None,
        dst_mac: None,
        src,
        dst,
        ip: data,
        l4,
    })
}
