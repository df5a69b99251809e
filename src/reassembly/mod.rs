//! Stage 4: one TCP direction's bytes, in order, as three distinct calls: data, gap, end.
//!
//! In-order data is delivered straight from the packet (no copy). A segment that arrives ahead
//! of a hole is copied and held, within a per-stream cap (bytes and segments) and a global cap
//! shared by all streams ([`Budget`]). Retransmitted and overlapping bytes are trimmed against
//! what was already delivered (first copy wins, as in most stacks and in Wireshark).
//!
//! A hole becomes a reported gap when: the peer acknowledges bytes beyond it while later data
//! is held (the capture missed them; the sender will not resend), a cap is reached, or the
//! stream ends. The dissector is told the gap's length and resynchronises on what follows.
//! A stream picked up mid-way (no SYN seen) starts at the first byte seen.

/// What a stream hands on.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    Data(&'a [u8]),
    /// Data that was held out of order: its bytes arrived in packet `frame` at `ts_ns`, which is
    /// where a PDU ending in them was seen (what Wireshark reports, and the contract's `frame`).
    Held {
        data: &'a [u8],
        frame: u64,
        ts_ns: u64,
    },
    Gap(u64),
    Eof,
}

/// Caps and counters shared by all streams.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Bytes held out of order by all streams.
    pub used: usize,
    pub global_cap: usize,
    pub per_stream_cap: usize,
    pub stats: ReassemblyStats,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            used: 0,
            global_cap: 64 << 20,
            per_stream_cap: 256 << 10,
            stats: ReassemblyStats::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct ReassemblyStats {
    /// Segments whose bytes had all been delivered already.
    pub retransmissions: u64,
    /// Segments partly overlapping delivered bytes (trimmed).
    pub overlaps: u64,
    /// Segments held because they arrived ahead of a hole.
    pub out_of_order: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Gaps declared because a cap was reached.
    pub cap_gaps: u64,
}

/// At most this many held segments per stream.
const MAX_SEGMENTS: usize = 128;

/// One direction of a TCP connection.
#[derive(Debug, Default)]
pub struct Stream {
    /// Next sequence number to deliver; `None` until the first SYN or data.
    next: Option<u32>,
    /// Sequence number just past the last data byte, once a FIN is seen.
    fin: Option<u32>,
    ended: bool,
    held: Vec<Held>,
    held_bytes: usize,
}

/// A segment held out of order, with the packet it came in.
#[derive(Debug)]
struct Held {
    seq: u32,
    data: Box<[u8]>,
    frame: u64,
    ts_ns: u64,
}

/// The packet a segment came in: (frame number, time in ns).
pub type Origin = (u64, u64);

/// `a - b` in sequence space, as a signed distance.
fn dist(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

impl Stream {
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Bytes held out of order.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// A SYN (or SYN-ACK) from this direction: data starts after it.
    pub fn syn(&mut self, seq: u32) {
        if self.next.is_none() {
            self.next = Some(seq.wrapping_add(1));
        }
    }

    /// A segment from this direction.
    pub fn segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        fin: bool,
        origin: Origin,
        budget: &mut Budget,
        out: &mut dyn FnMut(Delivery<'_>),
    ) {
        if self.ended {
            return;
        }
        let next = *self.next.get_or_insert(seq);
        if fin {
            let end = seq.wrapping_add(payload.len() as u32);
            if self.fin.is_none() {
                self.fin = Some(end);
            }
        }
        if !payload.is_empty() {
            let rel = dist(seq, next);
            if rel <= 0 {
                let skip = usize::try_from(-rel).unwrap_or(usize::MAX);
                match payload.get(skip..) {
                    Some(rest) if !rest.is_empty() => {
                        if skip > 0 {
                            budget.stats.overlaps += 1;
                        }
                        self.deliver(rest, out);
                        self.drain(budget, out);
                    }
                    _ => budget.stats.retransmissions += 1,
                }
            } else {
                self.hold(seq, payload, origin, budget, out);
            }
        }
        self.check_fin(budget, out);
    }

    /// The peer acknowledged up to `ack`: bytes before it that we never saw are lost to the
    /// capture. Acted on only while later data is held, so that a retransmission captured later
    /// is still used.
    pub fn acked(&mut self, ack: u32, budget: &mut Budget, out: &mut dyn FnMut(Delivery<'_>)) {
        let Some(next) = self.next else { return };
        if self.ended || self.held.is_empty() || dist(ack, next) <= 0 {
            return;
        }
        // The hole before the earliest held segment was acknowledged: lost to the capture.
        while let (Some(first), Some(next)) = (self.first_held(), self.next) {
            if dist(first, next) > 0 && dist(ack, first) >= 0 {
                self.gap(dist(first, next) as u64, budget, out);
                self.drain(budget, out);
            } else {
                break;
            }
        }
        self.check_fin(budget, out);
    }

    /// The stream ends (RST, flow expiry, end of capture): held data is delivered after gaps.
    pub fn close(&mut self, budget: &mut Budget, out: &mut dyn FnMut(Delivery<'_>)) {
        if self.ended {
            return;
        }
        while let (Some(first), Some(next)) = (self.first_held(), self.next) {
            let d = dist(first, next);
            if d > 0 {
                self.gap(d as u64, budget, out);
            }
            self.drain(budget, out);
        }
        self.ended = true;
        out(Delivery::Eof);
    }

    fn deliver(&mut self, data: &[u8], out: &mut dyn FnMut(Delivery<'_>)) {
        if let Some(n) = self.next.as_mut() {
            *n = n.wrapping_add(data.len() as u32);
        }
        out(Delivery::Data(data));
    }

    fn gap(&mut self, len: u64, budget: &mut Budget, out: &mut dyn FnMut(Delivery<'_>)) {
        budget.stats.gaps += 1;
        budget.stats.gap_bytes += len;
        if let Some(n) = self.next.as_mut() {
            *n = n.wrapping_add(len as u32);
        }
        out(Delivery::Gap(len));
    }

    fn first_held(&self) -> Option<u32> {
        let next = self.next?;
        self.held
            .iter()
            .map(|h| h.seq)
            .min_by_key(|s| dist(*s, next))
    }

    /// Deliver held segments that are now contiguous.
    fn drain(&mut self, budget: &mut Budget, out: &mut dyn FnMut(Delivery<'_>)) {
        while let Some(next) = self.next {
            let Some(i) = self
                .held
                .iter()
                .enumerate()
                .filter(|(_, h)| dist(h.seq, next) <= 0)
                .map(|(i, _)| i)
                .next()
            else {
                break;
            };
            let h = self.held.swap_remove(i);
            self.held_bytes -= h.data.len();
            budget.used = budget.used.saturating_sub(h.data.len());
            let skip = usize::try_from(dist(next, h.seq)).unwrap_or(0);
            if let Some(rest) = h.data.get(skip..).filter(|r| !r.is_empty()) {
                if let Some(n) = self.next.as_mut() {
                    *n = n.wrapping_add(rest.len() as u32);
                }
                out(Delivery::Held {
                    data: rest,
                    frame: h.frame,
                    ts_ns: h.ts_ns,
                });
            }
        }
    }

    fn hold(
        &mut self,
        seq: u32,
        payload: &[u8],
        origin: Origin,
        budget: &mut Budget,
        out: &mut dyn FnMut(Delivery<'_>),
    ) {
        // The same segment again (a retransmission of held data): keep the first copy.
        if self
            .held
            .iter()
            .any(|h| h.seq == seq && h.data.len() >= payload.len())
        {
            budget.stats.retransmissions += 1;
            return;
        }
        // Make room: turn the hole before the earliest held segment into a gap, deliver what
        // becomes contiguous, until the new segment fits or nothing is held.
        while !self.held.is_empty()
            && (self.held.len() >= MAX_SEGMENTS
                || self.held_bytes + payload.len() > budget.per_stream_cap
                || budget.used + payload.len() > budget.global_cap)
        {
            let (Some(first), Some(next)) = (self.first_held(), self.next) else {
                break;
            };
            budget.stats.cap_gaps += 1;
            self.gap(dist(first, next).max(0) as u64, budget, out);
            self.drain(budget, out);
        }
        let next = self.next.unwrap_or(seq);
        let rel = dist(seq, next);
        if rel <= 0 {
            // The forced gaps reached this segment.
            let skip = usize::try_from(-rel).unwrap_or(usize::MAX);
            if let Some(rest) = payload.get(skip..).filter(|r| !r.is_empty()) {
                self.deliver(rest, out);
                self.drain(budget, out);
            }
            return;
        }
        if payload.len() > budget.per_stream_cap || budget.used + payload.len() > budget.global_cap
        {
            // Cannot hold it even alone: give up on the hole now.
            budget.stats.cap_gaps += 1;
            self.gap(rel as u64, budget, out);
            self.deliver(payload, out);
            return;
        }
        budget.stats.out_of_order += 1;
        self.held.push(Held {
            seq,
            data: payload.into(),
            frame: origin.0,
            ts_ns: origin.1,
        });
        self.held_bytes += payload.len();
        budget.used += payload.len();
    }

    fn check_fin(&mut self, budget: &mut Budget, out: &mut dyn FnMut(Delivery<'_>)) {
        if let (Some(fin), Some(next)) = (self.fin, self.next) {
            if dist(next, fin) >= 0 && self.held.is_empty() && !self.ended {
                self.ended = true;
                out(Delivery::Eof);
            } else if dist(next, fin) >= 0 {
                self.close(budget, out);
            }
        }
    }

    /// Release held bytes from the budget (the flow is being dropped without delivery).
    pub fn discard(&mut self, budget: &mut Budget) {
        budget.used = budget.used.saturating_sub(self.held_bytes);
        self.held.clear();
        self.held_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum D {
        Data(Vec<u8>),
        Gap(u64),
        Eof,
    }

    fn run(steps: &[(u32, &[u8], bool)], acks: &[(usize, u32)]) -> (Vec<D>, Budget) {
        let mut s = Stream::default();
        let mut b = Budget::default();
        let mut got = Vec::new();
        let mut out = |d: Delivery<'_>| {
            got.push(match d {
                Delivery::Data(x) | Delivery::Held { data: x, .. } => D::Data(x.to_vec()),
                Delivery::Gap(n) => D::Gap(n),
                Delivery::Eof => D::Eof,
            })
        };
        s.syn(999);
        for (i, (seq, data, fin)) in steps.iter().enumerate() {
            s.segment(*seq, data, *fin, (i as u64, 0), &mut b, &mut out);
            for (after, ack) in acks {
                if *after == i {
                    s.acked(*ack, &mut b, &mut out);
                }
            }
        }
        (got, b)
    }

    fn joined(d: &[D]) -> Vec<u8> {
        d.iter()
            .flat_map(|x| {
                if let D::Data(v) = x {
                    v.clone()
                } else {
                    vec![]
                }
            })
            .collect()
    }

    #[test]
    fn in_order_and_out_of_order_give_the_same_bytes() {
        let (a, _) = run(
            &[
                (1000, b"abc", false),
                (1003, b"def", false),
                (1006, b"gh", true),
            ],
            &[],
        );
        let (b, bud) = run(
            &[
                (1006, b"gh", true),
                (1003, b"def", false),
                (1000, b"abc", false),
            ],
            &[],
        );
        assert_eq!(joined(&a), b"abcdefgh");
        assert_eq!(joined(&b), b"abcdefgh");
        assert_eq!(a.last(), Some(&D::Eof));
        assert_eq!(b.last(), Some(&D::Eof));
        assert_eq!(bud.used, 0);
    }

    #[test]
    fn retransmissions_and_overlaps_are_trimmed() {
        let (d, b) = run(
            &[
                (1000, b"abcd", false),
                (1000, b"abcd", false),
                (1002, b"cdef", false),
            ],
            &[],
        );
        assert_eq!(joined(&d), b"abcdef");
        assert_eq!((b.stats.retransmissions, b.stats.overlaps), (1, 1));
    }

    #[test]
    fn ack_past_a_hole_declares_a_gap() {
        // "abc" lost to the capture; "def" held; the peer acks all six bytes.
        let (d, _) = run(&[(1003, b"def", false)], &[(0, 1006)]);
        assert_eq!(d, vec![D::Gap(3), D::Data(b"def".to_vec())]);
    }

    #[test]
    fn caps_force_gaps_and_bound_memory() {
        let mut s = Stream::default();
        let mut b = Budget {
            per_stream_cap: 100,
            ..Budget::default()
        };
        let mut gaps = 0;
        s.syn(0);
        for i in 0..1000u32 {
            // Every other 10-byte segment is missing.
            s.segment(1 + i * 20 + 10, &[7; 10], false, (0, 0), &mut b, &mut |d| {
                if let Delivery::Gap(_) = d {
                    gaps += 1
                }
            });
            assert!(s.held_bytes() <= 100 && b.used <= 100);
        }
        assert!(gaps > 900);
    }

    #[test]
    fn held_data_keeps_the_packet_it_came_in() {
        let mut s = Stream::default();
        let mut b = Budget::default();
        let mut got = vec![];
        s.syn(0);
        s.segment(4, b"def", false, (7, 70), &mut b, &mut |_| {});
        s.segment(1, b"abc", false, (8, 80), &mut b, &mut |d| {
            got.push(format!("{d:?}"))
        });
        assert_eq!(
            got,
            vec![
                r#"Data([97, 98, 99])"#,
                r#"Held { data: [100, 101, 102], frame: 7, ts_ns: 70 }"#
            ]
        );
    }

    #[test]
    fn midstream_pickup_starts_at_first_byte() {
        let mut s = Stream::default();
        let mut b = Budget::default();
        let mut got = vec![];
        s.segment(5_000_000, b"xyz", false, (0, 0), &mut b, &mut |d| {
            if let Delivery::Data(x) = d {
                got.extend_from_slice(x)
            }
        });
        assert_eq!(got, b"xyz");
    }

    #[test]
    fn sequence_wraparound() {
        let (d, _) = run(&[], &[]);
        assert!(d.is_empty());
        let mut s = Stream::default();
        let mut b = Budget::default();
        let mut got = vec![];
        s.syn(u32::MAX - 2);
        s.segment(u32::MAX, b"ab", false, (0, 0), &mut b, &mut |_| {});
        s.segment(u32::MAX - 1, b"x", false, (1, 0), &mut b, &mut |d| {
            if let Delivery::Data(x) | Delivery::Held { data: x, .. } = d {
                got.extend_from_slice(x)
            }
        });
        assert_eq!(got, b"xab");
    }
}
