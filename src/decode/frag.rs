//! IPv4 fragment reassembly (RFC 791), bounded.
//!
//! Fragments are rare on an OT network and a classic way to hide from or exhaust a sensor, so
//! every limit is explicit: datagrams in flight, bytes held, ranges per datagram, and a timeout
//! (30 s of packet time, the usual Linux `ipfrag_time`). What a limit drops is counted.

use foldhash::HashMap;

/// One IPv4 fragment, borrowed from the packet.
#[derive(Clone, Copy, Debug)]
pub struct FragmentInfo<'a> {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub id: u16,
    pub protocol: u8,
    /// Byte offset of `data` within the datagram's payload.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
    pub data: &'a [u8],
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    src: [u8; 4],
    dst: [u8; 4],
    id: u16,
    protocol: u8,
}

#[derive(Debug)]
struct Pending {
    first_ts: u64,
    buf: Vec<u8>,
    /// Byte ranges received, kept sorted and merged.
    have: Vec<(usize, usize)>,
    /// Payload length, once the last fragment is seen.
    total: Option<usize>,
}

/// Limits and counters.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct DefragStats {
    pub fragments: u64,
    pub reassembled: u64,
    pub timed_out: u64,
    /// Datagrams dropped because a limit was reached.
    pub evicted: u64,
    /// Fragments that could not be valid (beyond 64 KiB, too many holes).
    pub invalid: u64,
}

#[derive(Debug)]
pub struct Defrag {
    pending: HashMap<Key, Pending>,
    bytes: usize,
    max_datagrams: usize,
    max_bytes: usize,
    timeout_ns: u64,
    pub stats: DefragStats,
}

const MAX_RANGES: usize = 64;
const MAX_PAYLOAD: usize = 65_535 - 20;

impl Default for Defrag {
    fn default() -> Self {
        Defrag::new(1024, 16 << 20, 30_000_000_000)
    }
}

impl Defrag {
    pub fn new(max_datagrams: usize, max_bytes: usize, timeout_ns: u64) -> Self {
        Defrag {
            pending: HashMap::default(),
            bytes: 0,
            max_datagrams,
            max_bytes,
            timeout_ns,
            stats: DefragStats::default(),
        }
    }

    /// Bytes currently held.
    pub fn held_bytes(&self) -> usize {
        self.bytes
    }

    /// Add a fragment; returns the protocol and the whole payload once the datagram is complete.
    pub fn add(&mut self, ts: u64, f: &FragmentInfo<'_>) -> Option<(u8, Vec<u8>)> {
        self.stats.fragments += 1;
        let end = f.offset.checked_add(f.data.len())?;
        if end > MAX_PAYLOAD || (f.more && !f.data.len().is_multiple_of(8)) {
            self.stats.invalid += 1;
            return None;
        }
        let key = Key {
            src: f.src,
            dst: f.dst,
            id: f.id,
            protocol: f.protocol,
        };
        if !self.pending.contains_key(&key) {
            self.make_room(ts, end);
        }
        let p = self.pending.entry(key).or_insert_with(|| Pending {
            first_ts: ts,
            buf: Vec::new(),
            have: Vec::new(),
            total: None,
        });
        if p.buf.len() < end {
            self.bytes += end - p.buf.len();
            p.buf.resize(end, 0);
        }
        if let Some(dst) = p.buf.get_mut(f.offset..end) {
            dst.copy_from_slice(f.data);
        }
        if !f.more {
            p.total = Some(end);
        }
        insert_range(&mut p.have, (f.offset, end));
        if p.have.len() > MAX_RANGES {
            self.stats.invalid += 1;
            self.remove(&key);
            return None;
        }
        let done = matches!((p.total, p.have.as_slice()), (Some(t), [(0, e)]) if *e >= t);
        if !done {
            return None;
        }
        let p = self.remove(&key)?;
        self.stats.reassembled += 1;
        let total = p.total.unwrap_or(p.buf.len());
        let mut buf = p.buf;
        buf.truncate(total);
        Some((f.protocol, buf))
    }

    fn remove(&mut self, key: &Key) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.bytes = self.bytes.saturating_sub(p.buf.len());
        Some(p)
    }

    /// Drop expired datagrams; if still over a limit, drop the oldest.
    fn make_room(&mut self, now: u64, incoming: usize) {
        let timeout = self.timeout_ns;
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, p| {
            let keep = now.saturating_sub(p.first_ts) < timeout;
            if !keep {
                freed += p.buf.len();
            }
            keep
        });
        self.stats.timed_out += (before - self.pending.len()) as u64;
        self.bytes = self.bytes.saturating_sub(freed);
        while !self.pending.is_empty()
            && (self.pending.len() >= self.max_datagrams || self.bytes + incoming > self.max_bytes)
        {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.first_ts)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => {
                    self.remove(&k);
                    self.stats.evicted += 1;
                }
                None => break,
            }
        }
    }
}

fn insert_range(have: &mut Vec<(usize, usize)>, (s, e): (usize, usize)) {
    have.push((s, e));
    have.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(have.len());
    for &(s, e) in have.iter() {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    *have = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(offset: usize, more: bool, data: &[u8]) -> FragmentInfo<'_> {
        FragmentInfo {
            src: [1, 1, 1, 1],
            dst: [2, 2, 2, 2],
            id: 9,
            protocol: 17,
            offset,
            more,
            data,
        }
    }

    #[test]
    fn reassembles_in_any_order() {
        let payload: Vec<u8> = (0..40u8).collect();
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let mut d = Defrag::default();
            let parts = [
                frag(0, true, &payload[0..16]),
                frag(16, true, &payload[16..32]),
                frag(32, false, &payload[32..]),
            ];
            let mut out = None;
            for i in order {
                out = d.add(0, &parts[i]).or(out);
            }
            assert_eq!(out, Some((17, payload.clone())));
            assert_eq!(d.held_bytes(), 0);
        }
    }

    #[test]
    fn limits_hold_under_a_flood_of_first_fragments() {
        let mut d = Defrag::new(100, 1 << 20, 30_000_000_000);
        let data = [0u8; 1480];
        for id in 0..100_000u32 {
            let mut f = frag(0, true, &data);
            f.id = id as u16;
            f.src = id.to_be_bytes();
            d.add(u64::from(id), &f);
            assert!(d.pending.len() <= 100 && d.held_bytes() <= 1 << 20);
        }
        assert!(d.stats.evicted > 99_000);
    }

    #[test]
    fn rejects_impossible_fragments() {
        let mut d = Defrag::default();
        assert!(d.add(0, &frag(65_528, false, &[0; 100])).is_none());
        assert_eq!(d.stats.invalid, 1);
    }
}
