//! Scans that need no baseline: TCP probes no stack sends outside a scan (FIN, NULL, XMAS,
//! SYN+FIN), bare ACKs that open nothing and are refused (ACK scans), bursts of ICMP port
//! unreachable to one sender (UDP scans), and ICMP echo to many external hosts (ICMP
//! tunnels and exfiltration by address). Each probe is one element of a distinct count per
//! prober: a scan is one alert however many probes it sends.

use super::{h64, Site, F_ACKPROBE};
use crate::decode::TcpFlags;
use crate::detect::alert::AlertSink;
use crate::detect::rules::Metric;
use crate::detect::Val;
use crate::flow::FlowNote;
use crate::pipeline::{Seen, SeenFlow};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The name of a probe whose flags no TCP stack sends outside a scan: every segment after
/// the handshake carries ACK (RFC 9293 3.10.7), so FIN, PSH or URG without ACK, no flags at
/// all, or SYN with FIN are probes.
pub fn stealth_kind(f: TcpFlags) -> Option<&'static str> {
    if f.syn && f.fin {
        return Some("SYN+FIN probes");
    }
    if f.syn || f.ack || f.rst {
        return None;
    }
    Some(match (f.fin, f.psh, f.urg) {
        (true, true, true) => "XMAS probes",
        (true, _, _) => "FIN probes",
        (false, false, false) => "NULL probes",
        _ => "PSH/URG probes",
    })
}

/// The destination address and UDP port of the datagram an ICMP port unreachable quotes.
pub fn quoted_udp(v6: bool, payload: &[u8]) -> Option<(IpAddr, u16)> {
    if v6 {
        // Fixed 40-byte IPv6 header; a quoted datagram with extension headers is skipped.
        if payload.get(6) != Some(&17) {
            return None;
        }
        let dst: [u8; 16] = payload.get(24..40)?.try_into().ok()?;
        let port = payload.get(42..44)?;
        Some((
            IpAddr::V6(Ipv6Addr::from(dst)),
            u16::from_be_bytes([*port.first()?, *port.get(1)?]),
        ))
    } else {
        let first = *payload.first()?;
        if first >> 4 != 4 || payload.get(9) != Some(&17) {
            return None;
        }
        let ihl = usize::from(first & 0x0F) * 4;
        let dst: [u8; 4] = payload.get(16..20)?.try_into().ok()?;
        let port = payload.get(ihl + 2..ihl + 4)?;
        Some((
            IpAddr::V4(Ipv4Addr::from(dst)),
            u16::from_be_bytes([*port.first()?, *port.get(1)?]),
        ))
    }
}

impl<S: AlertSink> Site<S> {
    /// A TCP packet's probe checks: invalid flag combinations, and bare ACKs that open a
    /// flow and are answered by a reset.
    pub(super) fn tcp_probe(
        &mut self,
        s: &Seen<'_>,
        fl: &SeenFlow,
        note: &mut FlowNote,
        f: TcpFlags,
    ) {
        if let Some(kind) = stealth_kind(f) {
            self.probe(s, (s.src, s.sport), (s.dst, s.dport), kind);
            return;
        }
        let bare_ack = f.ack && !f.syn && !f.fin && !f.rst && s.payload.is_empty();
        if fl.new && bare_ack {
            note.flags |= F_ACKPROBE;
        } else if f.rst && note.flags & F_ACKPROBE != 0 && fl.packets == [1, 1] {
            // The reset answers the flow's only packet, a bare ACK: nothing was open.
            note.flags &= !F_ACKPROBE;
            self.probe(s, (s.dst, s.dport), (s.src, s.sport), "ACK probes refused");
        }
    }

    /// One stealth probe from `prober` to `probed` (an element of the prober's distinct
    /// count of host/port pairs).
    fn probe(&mut self, s: &Seen<'_>, prober: (IpAddr, u16), probed: (IpAddr, u16), kind: &str) {
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        let a = self.party(prober.0, Some(prober.1), self.inv.at_ip(prober.0));
        let t = self.party(probed.0, Some(probed.1), self.inv.at_ip(probed.0));
        let elem = h64(probed.0, probed.1);
        self.emit(
            Metric::StealthProbes,
            Some(a),
            Some(t),
            Val::Add(1.0),
            elem,
            at,
            kind,
        );
    }

    /// ICMP port unreachable: the quoted datagram's sender probed a closed UDP port.
    pub(super) fn port_unreachable(&mut self, s: &Seen<'_>) {
        let Some((_, port)) = quoted_udp(s.src.is_ipv6(), s.payload) else {
            return;
        };
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        let a = self.party(s.dst, None, self.inv.at_ip(s.dst));
        let t = self.party(s.src, Some(port), self.inv.at_ip(s.src));
        let elem = h64(s.src, port);
        self.emit(
            Metric::UdpPortUnreachable,
            Some(a),
            Some(t),
            Val::Add(1.0),
            elem,
            at,
            "udp port unreachable",
        );
    }

    /// ICMP echo from a site address to an external one.
    pub(super) fn icmp_external(&mut self, s: &Seen<'_>) {
        if !self.inv.is_internal(s.src) || !self.inv.is_external(s.dst) {
            return;
        }
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        let a = self.party(s.src, None, self.inv.at_ip(s.src));
        let t = self.party(s.dst, None, self.inv.at_ip(s.dst));
        let elem = h64(s.dst, 0);
        self.emit(
            Metric::IcmpExternalHosts,
            Some(a),
            Some(t),
            Val::Add(1.0),
            elem,
            at,
            "icmp echo to external hosts",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(syn: bool, ack: bool, fin: bool, rst: bool, psh: bool, urg: bool) -> TcpFlags {
        TcpFlags {
            syn,
            ack,
            fin,
            rst,
            psh,
            urg,
        }
    }

    #[test]
    fn probe_kinds() {
        let f = |a, b, c, d, e, g| stealth_kind(flags(a, b, c, d, e, g));
        assert_eq!(
            f(false, false, true, false, false, false),
            Some("FIN probes")
        );
        assert_eq!(
            f(false, false, false, false, false, false),
            Some("NULL probes")
        );
        assert_eq!(
            f(false, false, true, false, true, true),
            Some("XMAS probes")
        );
        assert_eq!(
            f(true, false, true, false, false, false),
            Some("SYN+FIN probes")
        );
        // What real stacks send.
        assert_eq!(f(true, false, false, false, false, false), None);
        assert_eq!(f(true, true, false, false, false, false), None);
        assert_eq!(f(false, true, true, false, false, false), None);
        assert_eq!(f(false, true, false, false, true, false), None);
        assert_eq!(f(false, false, false, true, false, false), None);
    }

    #[test]
    fn quoted_datagram() {
        let mut p = vec![
            0x45u8, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 168, 1, 10, 192, 168, 1, 25,
        ];
        p.extend_from_slice(&[0xd4, 0x31, 0x00, 0x35, 0, 8, 0, 0]);
        assert_eq!(
            quoted_udp(false, &p),
            Some((IpAddr::V4(Ipv4Addr::new(192, 168, 1, 25)), 53))
        );
        for n in 0..p.len() {
            assert!(quoted_udp(false, &p[..n]).is_none() || n >= 24);
        }
        p[9] = 6;
        assert_eq!(quoted_udp(false, &p), None);
        assert_eq!(quoted_udp(true, &p), None);
    }
}
