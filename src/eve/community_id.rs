//! Community ID v1 (<https://github.com/corelight/community-id-spec>): the flow hash Zeek,
//! Suricata, Arkime and Elastic compute, so one flow's records join across tools.
//!
//! `"1:" + base64(sha1(seed ‖ saddr ‖ daddr ‖ proto ‖ 0 ‖ sport ‖ dport))`, with the two
//! ends ordered (smaller address first; on equal addresses, smaller port first) so both
//! directions hash alike. ICMP types map to port pairs as Zeek maps them: a request and its
//! reply share a pair; other types are one-way (type, code) and keep their order.

use base64::Engine as _;
use sha1::{Digest, Sha1};
use std::net::IpAddr;

/// ICMP and ICMPv6 type pairs that make one conversation (Zeek's mapping).
fn icmp_counterpart(proto: u8, ty: u8) -> Option<u8> {
    let pairs: &[(u8, u8)] = match proto {
        1 => &[(8, 0), (13, 14), (15, 16), (10, 9), (17, 18)],
        58 => &[
            (128, 129),
            (130, 131),
            (133, 134),
            (135, 136),
            (139, 140),
            (144, 145),
        ],
        _ => return None,
    };
    pairs.iter().find_map(|&(a, b)| {
        if a == ty {
            Some(b)
        } else if b == ty {
            Some(a)
        } else {
            None
        }
    })
}

/// The Community ID of a packet or flow from `src` to `dst` (seed 0). For ICMP (`proto` 1 or
/// 58) the ports are the message type and code.
pub fn community_id(proto: u8, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> String {
    community_id_seeded(0, proto, src, sport, dst, dport)
}

pub fn community_id_seeded(
    seed: u16,
    proto: u8,
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
) -> String {
    let (sa, sp, da, dp) = ordered(proto, src, sport, dst, dport);
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(octets(&sa).bytes());
    h.update(octets(&da).bytes());
    h.update([proto, 0]);
    if matches!(proto, 1 | 6 | 17 | 58 | 132) {
        h.update(sp.to_be_bytes());
        h.update(dp.to_be_bytes());
    }
    let mut out = String::with_capacity(30);
    out.push_str("1:");
    base64::engine::general_purpose::STANDARD.encode_string(h.finalize(), &mut out);
    out
}

/// The ends of a flow in the order the hash takes them: ICMP types mapped to port pairs,
/// then the smaller (address, port) first unless the ICMP message is one-way. Both directions
/// of a conversation give the same tuple, so it also keys a conversation.
pub fn ordered(
    proto: u8,
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
) -> (IpAddr, u16, IpAddr, u16) {
    let (mut sport, mut dport, mut one_way) = (sport, dport, false);
    if proto == 1 || proto == 58 {
        // Types and codes are single bytes; the "ports" are the type and its counterpart.
        let ty = sport as u8;
        match icmp_counterpart(proto, ty) {
            Some(c) => dport = u16::from(c),
            None => one_way = true,
        }
        sport = u16::from(ty);
    }
    let (a, b) = (octets(&src), octets(&dst));
    let (a, b) = (a.bytes(), b.bytes());
    if one_way || a < b || (a == b && sport < dport) {
        (src, sport, dst, dport)
    } else {
        (dst, dport, src, sport)
    }
}

/// Network-order address bytes: 4 for IPv4, 16 for IPv6 (as the spec hashes them), on the
/// stack (`ordered` runs for every ICMP packet when flow records are on).
struct Octets([u8; 16], usize);

impl Octets {
    fn bytes(&self) -> &[u8] {
        self.0.get(..self.1).unwrap_or_default()
    }
}

fn octets(ip: &IpAddr) -> Octets {
    match ip {
        IpAddr::V4(v) => {
            let mut b = [0u8; 16];
            for (d, s) in b.iter_mut().zip(v.octets()) {
                *d = s;
            }
            Octets(b, 4)
        }
        IpAddr::V6(v) => Octets(v.octets(), 16),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's baseline vectors (community-id-spec, `baseline/baseline_default.json`).
    #[test]
    fn spec_vectors() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let cases = [
            (
                6,
                "128.232.110.120",
                34855,
                "66.35.250.204",
                80,
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                6,
                "66.35.250.204",
                80,
                "128.232.110.120",
                34855,
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                17,
                "192.168.1.52",
                54585,
                "8.8.8.8",
                53,
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                17,
                "8.8.8.8",
                53,
                "192.168.1.52",
                54585,
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                1,
                "192.168.0.89",
                8,
                "192.168.0.1",
                0,
                "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
            ),
            (
                1,
                "192.168.0.1",
                0,
                "192.168.0.89",
                0,
                "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
            ),
            (
                58,
                "fe80::200:86ff:fe05:80da",
                135,
                "fe80::260:97ff:fe07:69ea",
                0,
                "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
            ),
            (
                58,
                "fe80::260:97ff:fe07:69ea",
                136,
                "fe80::200:86ff:fe05:80da",
                0,
                "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
            ),
            (
                58,
                "3ffe:507:0:1:260:97ff:fe07:69ea",
                3,
                "3ffe:507:0:1:200:86ff:fe05:80da",
                0,
                "1:NdobDX8PQNJbAyfkWxhtL2Pqp5w=",
            ),
        ];
        for (proto, s, sp, d, dp, want) in cases {
            assert_eq!(community_id(proto, ip(s), sp, ip(d), dp), want, "{s} {d}");
        }
    }
}
