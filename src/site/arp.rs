//! ARP spoofing without a baseline: an address answered by a second MAC while its owner is
//! still there (the claimant also has an address of its own, or the owner has not), a MAC
//! claiming many addresses, and storms of gratuitous ARP. What was seen while learning (a
//! router's proxy ARP, a failover pair) is normal. Bounded tables, drops counted.

use super::Site;
use crate::detect::alert::AlertSink;
use crate::detect::rules::Metric;
use crate::detect::{Party, Val};
use crate::pipeline::ArpSeen;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
type FastSet<K> = HashSet<K, foldhash::fast::FixedState>;

pub const MAX_BINDINGS: usize = 65_536;
/// Addresses remembered per MAC (enough to tell "has an address of its own").
const IPS_PER_MAC: usize = 4;
/// An owner not heard from for this long has let its address go (a DHCP lease moved).
const OWNER_STALE_NS: u64 = 600_000_000_000;

#[derive(Clone, Copy)]
struct Owner {
    mac: [u8; 6],
    last_ns: u64,
}

#[derive(Default)]
pub struct ArpWatch {
    owner: FastMap<Ipv4Addr, Owner>,
    mac_ips: FastMap<[u8; 6], Vec<Ipv4Addr>>,
    /// (address, MAC) pairs seen while learning.
    pub learned: FastSet<(Ipv4Addr, [u8; 6])>,
    pub dropped: u64,
    pub messages: u64,
    /// MACs that claimed an address by ARP, never learned, in the last minute: if a site
    /// host then routes external traffic through one that is no known router, it has taken
    /// the gateway's place. Usually empty, so the per-packet check costs one branch.
    pub suspects: Vec<Suspect>,
    suspects_swept: u64,
}

#[derive(Clone, Copy)]
pub struct Suspect {
    mac: [u8; 6],
    claimed: Ipv4Addr,
    ts: u64,
}

const MAX_SUSPECTS: usize = 64;
const SUSPECT_NS: u64 = 60_000_000_000;

fn mac_text(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

impl ArpWatch {
    /// Note that `mac` claimed `ip`.
    fn note(&mut self, mac: [u8; 6], ip: Ipv4Addr) {
        let room = self.mac_ips.len() < MAX_BINDINGS;
        match self.mac_ips.get_mut(&mac) {
            Some(v) => {
                if !v.contains(&ip) && v.len() < IPS_PER_MAC {
                    v.push(ip);
                }
            }
            None if room => {
                self.mac_ips.insert(mac, vec![ip]);
            }
            None => self.dropped += 1,
        }
    }

    /// `mac` owns `ip` as of `ts` (bounded: a new address beyond the cap is dropped, counted).
    fn set_owner(&mut self, ip: Ipv4Addr, mac: [u8; 6], ts: u64) {
        if self.owner.len() < MAX_BINDINGS || self.owner.contains_key(&ip) {
            self.owner.insert(ip, Owner { mac, last_ns: ts });
        } else {
            self.dropped += 1;
        }
    }

    /// An address of `mac`'s own other than `ip`.
    fn other_ip(&self, mac: [u8; 6], ip: Ipv4Addr) -> Option<Ipv4Addr> {
        self.mac_ips.get(&mac)?.iter().copied().find(|a| *a != ip)
    }
}

impl<S: AlertSink> Site<S> {
    pub(super) fn arp_watch(&mut self, a: &ArpSeen) {
        self.clock(a.ts_ns);
        let m = a.arp;
        let (ip, mac) = (m.spa, m.sha);
        // A probe (sender 0.0.0.0) claims nothing; a broadcast sender is nonsense.
        if ip.is_unspecified() || ip.is_broadcast() || !crate::identify::net::is_unicast_mac(mac) {
            return;
        }
        self.arpw.messages += 1;
        self.arpw.note(mac, ip);
        let at = (a.ts_ns, a.frame, a.source, 0);
        let me_ip = self.arpw.other_ip(mac, ip).unwrap_or(ip);
        let me = Party {
            ip: IpAddr::V4(me_ip),
            port: None,
            dev: self
                .inv
                .at_mac(mac)
                .or_else(|| self.inv.at_ip(IpAddr::V4(me_ip))),
        };
        let claimed = IpAddr::V4(ip);
        let gratuitous = m.spa == m.tpa || (m.op == 2 && m.dst_mac == Some([0xff; 6]));
        if gratuitous {
            self.emit(
                Metric::GratuitousArp,
                Some(me),
                None,
                Val::Add(1.0),
                0,
                at,
                "gratuitous arp",
            );
        }
        let elem = crate::identify::stable_hash(&[&ip.octets()]);
        self.emit(
            Metric::ArpIpsClaimed,
            Some(me),
            None,
            Val::Add(1.0),
            elem,
            at,
            "addresses claimed by one MAC",
        );
        if self.learning {
            if self.arpw.learned.len() < MAX_BINDINGS {
                self.arpw.learned.insert((ip, mac));
            } else {
                self.arpw.dropped += 1;
            }
            self.arpw.set_owner(ip, mac, a.ts_ns);
            return;
        }
        if !self.arpw.learned.contains(&(ip, mac)) && !self.inv.is_router_mac(mac) {
            let sus = &mut self.arpw.suspects;
            let room = sus.len() < MAX_SUSPECTS;
            match sus.iter_mut().find(|x| x.mac == mac) {
                Some(x) => {
                    x.claimed = ip;
                    x.ts = a.ts_ns;
                }
                None if room => sus.push(Suspect {
                    mac,
                    claimed: ip,
                    ts: a.ts_ns,
                }),
                None => self.arpw.dropped += 1,
            }
        }
        let owner = self.arpw.owner.get(&ip).copied();
        let stale = |o: &Owner| a.ts_ns.saturating_sub(o.last_ns) > OWNER_STALE_NS;
        let Some(o) =
            owner.filter(|o| o.mac != mac && !stale(o) && !self.arpw.learned.contains(&(ip, mac)))
        else {
            // A first, renewed, reassigned or learned claim: the claimant owns the address.
            self.arpw.set_owner(ip, mac, a.ts_ns);
            return;
        };
        // Two MACs for one address while its owner is about. The one that has an address of
        // its own besides this one is the spoofer; if only the owner has, the owner was.
        let claimant_other = self.arpw.other_ip(mac, ip);
        let owner_other = self.arpw.other_ip(o.mac, ip);
        let (spoofer_mac, spoofer_ip, victim_mac) = match (claimant_other, owner_other) {
            (None, Some(x)) => {
                self.arpw.set_owner(ip, mac, a.ts_ns);
                (o.mac, x, mac)
            }
            (c, _) => (mac, c.unwrap_or(ip), o.mac),
        };
        if self.arpw.learned.contains(&(ip, spoofer_mac)) {
            return;
        }
        let actor = Party {
            ip: IpAddr::V4(spoofer_ip),
            port: None,
            dev: self
                .inv
                .at_mac(spoofer_mac)
                .or_else(|| self.inv.at_ip(IpAddr::V4(spoofer_ip))),
        };
        let target = Party {
            ip: claimed,
            port: None,
            dev: self
                .inv
                .at_mac(victim_mac)
                .or_else(|| self.inv.at_ip(claimed)),
        };
        let detail = format!(
            "{ip} claimed by {} (the address of {})",
            mac_text(spoofer_mac),
            mac_text(victim_mac)
        );
        let elem = crate::identify::stable_hash(&[&ip.octets(), &spoofer_mac]);
        self.emit(
            Metric::ArpSpoof,
            Some(actor),
            Some(target),
            Val::Add(1.0),
            elem,
            at,
            &detail,
        );
    }
}

impl<S: AlertSink> Site<S> {
    /// A packet while some MAC is a suspect: a site host sending external traffic to a
    /// suspect MAC that no known router has is a man in the middle's victim.
    pub(super) fn next_hop_check(&mut self, s: &crate::pipeline::Seen<'_>) {
        let now = s.ts_ns;
        // Expired suspects go at most once a second (a packet pays one short scan, not a
        // rebuild).
        if now.saturating_sub(self.arpw.suspects_swept) >= 1_000_000_000 {
            self.arpw.suspects_swept = now;
            self.arpw
                .suspects
                .retain(|x| now.saturating_sub(x.ts) <= SUSPECT_NS && x.ts <= now);
        }
        let Some(hop) = s.macs.1 else { return };
        let Some(i) = self.arpw.suspects.iter().position(|x| x.mac == hop) else {
            return;
        };
        if !self.inv.is_internal(s.src) || !self.inv.is_external(s.dst) {
            return;
        }
        if self.inv.is_router_mac(hop) {
            self.arpw.suspects.swap_remove(i);
            return;
        }
        let x = self.arpw.suspects.swap_remove(i);
        let own = self.arpw.other_ip(x.mac, x.claimed).unwrap_or(x.claimed);
        let actor = Party {
            ip: IpAddr::V4(own),
            port: None,
            dev: self.inv.at_mac(x.mac),
        };
        let target = Party {
            ip: s.src,
            port: None,
            dev: self.inv.at_ip(s.src),
        };
        let detail = format!(
            "{} routes external traffic through {}, which claimed {} by ARP and is no known router",
            s.src,
            mac_text(x.mac),
            x.claimed
        );
        let elem = crate::identify::stable_hash(&[&x.claimed.octets(), &x.mac]);
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        self.emit(
            Metric::ArpSpoof,
            Some(actor),
            Some(target),
            Val::Add(1.0),
            elem,
            at,
            &detail,
        );
    }
}
