//! DNS tunnelling and exfiltration, judged per (client, registered domain) without a
//! baseline: how many queries look like a tunnel's (NULL records, long or dense labels), how
//! many distinct names and how many bytes of name text the client sent under one domain in a
//! window, and bursts of NXDOMAIN (generated domains). Registered domains come from the
//! Public Suffix List (the `psl` crate). Reverse lookups (`.arpa`) and mDNS (`.local`) are
//! not judged. Bounded: a fixed number of (client, domain) pairs, and of names per pair.

use super::Site;
use crate::detect::alert::AlertSink;
use crate::detect::rules::Metric;
use crate::detect::Val;
use crate::pipeline::Seen;
use std::collections::{HashMap, HashSet};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
type FastSet<K> = HashSet<K, foldhash::fast::FixedState>;

/// (client, domain) pairs followed at once.
pub const MAX_PAIRS: usize = 8192;
/// Distinct names remembered per pair and window (counts stop there; thresholds are lower).
const MAX_NAMES: usize = 256;
const WINDOW_NS: u64 = 60_000_000_000;
const TYPE_NULL: u16 = 10;

#[derive(Default)]
struct Agg {
    window: u64,
    tunnel_like: u32,
    name_bytes: u32,
    names: FastSet<u32>,
}

#[derive(Default)]
pub struct DnsWatch {
    pairs: FastMap<(u64, u64), Agg>,
    /// Queries not followed because the pair table was full.
    pub dropped: u64,
    pub queries: u64,
    /// Packet time of the last sweep of a full table (at most one a second).
    swept_ns: u64,
}

/// What one query name looks like.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NameShape {
    /// Bytes left of the registered domain (without the joining dot).
    pub sub_len: usize,
    pub longest_label: usize,
    /// Shannon entropy of the longest label, bits per character.
    pub entropy: f64,
}

pub fn shape(sub: &[u8]) -> NameShape {
    let mut longest: &[u8] = &[];
    for l in sub.split(|&b| b == b'.') {
        if l.len() > longest.len() {
            longest = l;
        }
    }
    let mut counts = [0u32; 256];
    for &b in longest {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
    }
    let n = longest.len() as f64;
    let entropy = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    NameShape {
        sub_len: sub.len(),
        longest_label: longest.len(),
        entropy,
    }
}

/// Whether a query looks like a tunnel's: a NULL record (iodine's favourite; nothing else
/// asks for one), more name text than host names carry, a label longer than host labels are,
/// or a long label as dense as encoded data.
pub fn tunnel_like(qtype: u16, s: &NameShape) -> bool {
    qtype == TYPE_NULL
        || s.sub_len >= 40
        || s.longest_label >= 30
        || (s.longest_label >= 20 && s.entropy >= 3.8)
}

/// The registered domain of a lower-case name, and the part left of it.
pub fn split_domain(name: &[u8]) -> Option<(&[u8], &[u8])> {
    if name.ends_with(b".arpa") || name.ends_with(b".local") || name.is_empty() {
        return None;
    }
    let d = psl::domain(name)?.as_bytes();
    let cut = name.len().checked_sub(d.len())?;
    let sub = name.get(..cut.saturating_sub(1)).unwrap_or(&[]);
    let dom = name.get(cut..)?;
    Some((dom, sub))
}

impl<S: AlertSink> Site<S> {
    /// A DNS message to or from port 53.
    pub(super) fn dns_watch(&mut self, s: &Seen<'_>) {
        let mut buf = [0u8; 256];
        let Some(q) = edgetap_dissectors::names::dns_question(s.payload, &mut buf) else {
            return;
        };
        if q.opcode != 0 {
            return;
        }
        let mut lower = [0u8; 256];
        let n = q.name.len().min(lower.len());
        for (d, b) in lower.iter_mut().zip(q.name.iter()) {
            *d = b.to_ascii_lowercase();
        }
        let name = lower.get(..n).unwrap_or(&[]);
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        if q.response {
            if q.rcode == 3 && s.sport == 53 {
                let client = self.party(s.dst, Some(s.dport), self.inv.at_ip(s.dst));
                let server = self.party(s.src, Some(s.sport), self.inv.at_ip(s.src));
                let elem = crate::identify::stable_hash(&[name]);
                self.emit(
                    Metric::DnsNxdomain,
                    Some(client),
                    Some(server),
                    Val::Add(1.0),
                    elem,
                    at,
                    "NXDOMAIN answers",
                );
            }
            return;
        }
        if s.dport != 53 {
            return;
        }
        let Some((dom, sub)) = split_domain(name) else {
            return;
        };
        self.dnsw.queries += 1;
        let shape = shape(sub);
        let client = self.party(s.src, Some(s.sport), self.inv.at_ip(s.src));
        let server = self.party(s.dst, Some(s.dport), self.inv.at_ip(s.dst));
        let key = (
            crate::detect::subject_key(&client),
            crate::identify::stable_hash(&[dom]),
        );
        let w = s.ts_ns / WINDOW_NS;
        let watch = &mut self.dnsw;
        if !watch.pairs.contains_key(&key) && watch.pairs.len() >= MAX_PAIRS {
            // Full: forget pairs idle for a window (at most once a second), else drop this
            // query (counted).
            if s.ts_ns.saturating_sub(watch.swept_ns) >= 1_000_000_000 {
                watch.swept_ns = s.ts_ns;
                watch.pairs.retain(|_, a| a.window + 1 >= w);
            }
            if watch.pairs.len() >= MAX_PAIRS {
                watch.dropped += 1;
                return;
            }
        }
        let agg = watch.pairs.entry(key).or_default();
        if agg.window != w {
            agg.window = w;
            agg.tunnel_like = 0;
            agg.name_bytes = 0;
            agg.names.clear();
        }
        if tunnel_like(q.qtype, &shape) {
            agg.tunnel_like += 1;
        }
        if !sub.is_empty() && agg.names.len() < MAX_NAMES {
            let h = crate::identify::stable_hash(&[sub]) as u32;
            if agg.names.insert(h) {
                agg.name_bytes = agg.name_bytes.saturating_add(sub.len() as u32);
            }
        }
        let (tl, nb, nd) = (agg.tunnel_like, agg.name_bytes, agg.names.len());
        let domain = std::str::from_utf8(dom).unwrap_or("?");
        for (m, v) in [
            (Metric::DnsTunnelQueries, f64::from(tl)),
            (Metric::DnsNameBytes, f64::from(nb)),
            (Metric::DnsDistinctSubdomains, nd as f64),
        ] {
            if v > 0.0 {
                self.emit(
                    m,
                    Some(client),
                    Some(server),
                    Val::Set(v),
                    key.1,
                    at,
                    domain,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains() {
        assert_eq!(
            split_domain(b"abc.def.example.co.uk"),
            Some((&b"example.co.uk"[..], &b"abc.def"[..]))
        );
        assert_eq!(
            split_domain(b"example.com"),
            Some((&b"example.com"[..], &b""[..]))
        );
        assert_eq!(split_domain(b"4.3.2.1.in-addr.arpa"), None);
        assert_eq!(split_domain(b"printer.local"), None);
    }

    #[test]
    fn tunnel_shapes() {
        // Host names people and services use.
        for n in [
            "www",
            "ec2-52-1-2-3.compute-1",
            "login.microsoftonline",
            "v10.events.data",
            "_ldap._tcp.dc._msdcs",
            "r3---sn-4g5e6nez",
        ] {
            let s = shape(n.as_bytes());
            assert!(!tunnel_like(1, &s), "{n}: {s:?}");
        }
        // dnscat2: 34 hex characters; dns2tcp/sods: long base32/base64 labels.
        for n in [
            "4e8a01c4a2b3f1d0c9e8f7a6b5c4d3e2f1",
            "mzxw6ytboi2dmnzzgq3tgnbsha4dsmjqgezdgnbvgy3tqojq.aebagbaf",
            "gAAAAABkq1x2Y3ZkZjU0NjQ3NjQ1.aGVsbG8gd29ybGQ",
        ] {
            let s = shape(n.as_bytes());
            assert!(tunnel_like(16, &s), "{n}: {s:?}");
        }
        assert!(tunnel_like(10, &shape(b"vaaaakardli")));
    }
}
