//! DHCP abuse without a baseline: starvation (many DISCOVERs/REQUESTs for client hardware
//! addresses no device has, or one client asking far more often than a client retries) and a
//! rogue server (an OFFER or ACK from a server never learned as one). Bounded: the per-window
//! client table has a cap; what it could not count is counted.

use super::{h64, Site};
use crate::detect::alert::AlertSink;
use crate::detect::rules::Metric;
use crate::detect::Val;
use crate::pipeline::Seen;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
type FastSet<K> = HashSet<K, foldhash::fast::FixedState>;

const WINDOW_NS: u64 = 60_000_000_000;
/// Client hardware addresses counted per window.
pub const MAX_CLIENTS: usize = 4096;
/// DHCP servers (and relays) remembered as learned.
pub const MAX_SERVERS: usize = 256;

#[derive(Default)]
pub struct DhcpWatch {
    window: u64,
    per_client: FastMap<[u8; 6], u32>,
    /// Servers that offered or acknowledged while learning.
    pub servers: FastSet<IpAddr>,
    /// Requests not counted per client because the table was full.
    pub dropped: u64,
    pub servers_dropped: u64,
}

impl<S: AlertSink> Site<S> {
    /// A client's DISCOVER or REQUEST.
    pub(super) fn dhcp_request(&mut self, s: &Seen<'_>, chaddr: [u8; 6]) {
        let w = s.ts_ns / WINDOW_NS;
        let d = &mut self.dhcpw;
        if d.window != w {
            d.window = w;
            d.per_client.clear();
        }
        let room = d.per_client.len() < MAX_CLIENTS;
        let n = match d.per_client.get_mut(&chaddr) {
            Some(n) => {
                *n += 1;
                *n
            }
            None if room => {
                d.per_client.insert(chaddr, 1);
                1
            }
            None => {
                d.dropped += 1;
                0
            }
        };
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        let client = self.party(s.src, Some(s.sport), None);
        // Broadcast to whoever serves the segment: the server learned, when there is one.
        let to = match s.dst {
            IpAddr::V4(v) if v.is_broadcast() => self.dhcpw.servers.iter().min().copied(),
            _ => None,
        }
        .unwrap_or(s.dst);
        let server = self.party(to, Some(s.dport), self.inv.at_ip(to));
        if n > 0 {
            self.emit(
                Metric::DhcpRequestsPerClient,
                Some(client),
                Some(server),
                Val::Set(f64::from(n)),
                0,
                at,
                "dhcp requests from one client",
            );
        }
        // A hardware address no device ever had: a starvation tool's invention, or a new
        // device (a few at a time).
        if !self.inv.knows_mac(chaddr) {
            let elem = crate::identify::stable_hash(&[&chaddr]);
            self.emit(
                Metric::DhcpNewClients,
                Some(client),
                Some(server),
                Val::Add(1.0),
                elem,
                at,
                "dhcp clients never seen",
            );
        }
    }

    /// A server's OFFER or ACK.
    pub(super) fn dhcp_reply(&mut self, s: &Seen<'_>, yiaddr: IpAddr) {
        if self.learning {
            if !self.dhcpw.servers.contains(&s.src) {
                if self.dhcpw.servers.len() < MAX_SERVERS {
                    self.dhcpw.servers.insert(s.src);
                } else {
                    self.dhcpw.servers_dropped += 1;
                }
            }
            return;
        }
        if self.dhcpw.servers.contains(&s.src) {
            return;
        }
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        let server = self.party(s.src, Some(s.sport), self.inv.at_ip(s.src));
        let client = self.party(yiaddr, Some(s.dport), self.inv.at_ip(yiaddr));
        let detail = format!("{} offered {yiaddr}", s.src);
        self.emit(
            Metric::NewDhcpServer,
            Some(server),
            Some(client),
            Val::Add(1.0),
            h64(s.src, 67),
            at,
            &detail,
        );
    }
}
