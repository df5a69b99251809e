//! Cutting a TCP byte stream into length-framed PDUs, shared by every TCP protocol.
//!
//! PDUs are handed to the protocol in place, borrowed from the segment, whenever they lie whole
//! inside it (the common case). Only a PDU that straddles segments is copied, into a per-direction
//! buffer capped both per stream ([`Framer::new`]'s `cap`) and globally ([`set_global_cap`]); a PDU
//! larger than either is reported as [`Framed::Oversize`] with what was at hand and then skipped
//! without being buffered, as Suricata's MQTT parser does.
//!
//! After a gap, or bytes that do not frame, the framer is out of sync: it drops data until a
//! segment starts with something the protocol's [`Framing::frame_len`] accepts (PDUs usually
//! start at segment boundaries).

use std::sync::atomic::{AtomicUsize, Ordering};

/// How long the PDU at the start of some bytes is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameLen {
    /// The whole PDU, header included, is this many bytes (at least 1).
    Len(usize),
    /// The header is not complete yet.
    NeedMore,
    /// These bytes cannot start a PDU of this protocol.
    Invalid,
}

/// What the framer hands to the protocol.
#[derive(Debug)]
pub enum Framed<'a> {
    /// One whole PDU.
    Frame(&'a [u8]),
    /// A PDU of `len` bytes, too large to buffer: `head` is its start (possibly all of it that
    /// was in the segment); the rest is skipped.
    Oversize { len: usize, head: &'a [u8] },
    /// Bytes that cannot start a PDU: the framer lost sync and drops data until it finds one.
    Invalid(&'a [u8]),
}

/// The protocol side of framing.
pub trait Framing {
    /// Length of the PDU at the start of `data`. Must be cheap and never panic.
    fn frame_len(&self, data: &[u8]) -> FrameLen;
    /// Called for each PDU (or oversize/invalid run), in stream order.
    fn on_frame(&mut self, framed: Framed<'_>);
}

/// Bytes held in all framers' buffers together, and the ceiling on that.
static BUFFERED: AtomicUsize = AtomicUsize::new(0);
static GLOBAL_CAP: AtomicUsize = AtomicUsize::new(64 << 20);

/// Set the ceiling on bytes buffered by all framers together (default 64 MiB).
pub fn set_global_cap(bytes: usize) {
    GLOBAL_CAP.store(bytes, Ordering::Relaxed);
}

/// Bytes currently buffered by all framers.
pub fn buffered_bytes() -> usize {
    BUFFERED.load(Ordering::Relaxed)
}

/// A share of the global buffer budget for a buffer kept outside a [`Framer`] (a protocol's
/// own reassembly, such as OPC-UA's chunks), so that every dissector buffer counts against the
/// one ceiling. Given back when dropped.
#[derive(Debug, Default)]
pub struct Reservation {
    bytes: usize,
}

impl Reservation {
    /// Make the reservation exactly `bytes`. Shrinking always succeeds; growing fails, changing
    /// nothing, when it would pass the global ceiling.
    pub fn set(&mut self, bytes: usize) -> bool {
        if bytes > self.bytes {
            let more = bytes - self.bytes;
            if BUFFERED.load(Ordering::Relaxed).saturating_add(more)
                > GLOBAL_CAP.load(Ordering::Relaxed)
            {
                return false;
            }
            BUFFERED.fetch_add(more, Ordering::Relaxed);
        } else {
            BUFFERED.fetch_sub(self.bytes - bytes, Ordering::Relaxed);
        }
        self.bytes = bytes;
        true
    }

    /// Bytes reserved.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.set(0);
    }
}

/// Per-direction framing state.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    /// Bytes still to skip of an oversize PDU.
    skip: u64,
    synced: bool,
    cap: usize,
}

impl Default for Framer {
    fn default() -> Self {
        Framer::new(256 * 1024)
    }
}

impl Drop for Framer {
    fn drop(&mut self) {
        self.release();
    }
}

impl Framer {
    /// A framer that buffers at most `cap` bytes of one PDU.
    pub fn new(cap: usize) -> Self {
        Framer {
            buf: Vec::new(),
            skip: 0,
            synced: true,
            cap,
        }
    }

    /// Whether the framer is in step with PDU boundaries.
    pub fn synced(&self) -> bool {
        self.synced
    }

    /// Bytes lost: drop any partial PDU and wait for a segment that starts a PDU.
    pub fn gap(&mut self) {
        self.release();
        self.skip = 0;
        self.synced = false;
    }

    fn release(&mut self) {
        if self.buf.capacity() > 0 {
            BUFFERED.fetch_sub(self.buf.capacity(), Ordering::Relaxed);
            self.buf = Vec::new();
        }
    }

    /// Room to buffer a PDU of `len` bytes?
    fn can_buffer(&self, len: usize) -> bool {
        len <= self.cap
            && BUFFERED.load(Ordering::Relaxed).saturating_add(len)
                <= GLOBAL_CAP.load(Ordering::Relaxed)
    }

    /// Copy `bytes` into the buffer, keeping the global count in step with its capacity.
    fn stash(&mut self, bytes: &[u8], expect: usize) {
        let before = self.buf.capacity();
        if self.buf.is_empty() {
            self.buf.reserve_exact(expect.max(bytes.len()));
        }
        self.buf.extend_from_slice(bytes);
        let after = self.buf.capacity();
        if after > before {
            BUFFERED.fetch_add(after - before, Ordering::Relaxed);
        }
    }

    /// Feed the next in-order bytes of the stream.
    pub fn feed<F: Framing + ?Sized>(&mut self, mut data: &[u8], f: &mut F) {
        if self.skip > 0 {
            let n = usize::try_from(self.skip)
                .unwrap_or(usize::MAX)
                .min(data.len());
            self.skip -= n as u64;
            data = data.get(n..).unwrap_or_default();
        }
        if data.is_empty() {
            return;
        }
        if !self.synced {
            if f.frame_len(data) == FrameLen::Invalid {
                return;
            }
            self.synced = true;
        }
        if !self.buf.is_empty() {
            data = match self.complete_buffered(data, f) {
                Some(rest) => rest,
                None => return,
            };
        }
        while !data.is_empty() {
            match f.frame_len(data) {
                FrameLen::Len(n) if n <= data.len() => {
                    let (frame, rest) = data.split_at(n.max(1));
                    f.on_frame(Framed::Frame(frame));
                    data = rest;
                }
                FrameLen::Len(n) if !self.can_buffer(n) => {
                    f.on_frame(Framed::Oversize { len: n, head: data });
                    self.skip = (n - data.len()) as u64;
                    return;
                }
                FrameLen::Len(n) => {
                    self.stash(data, n);
                    return;
                }
                FrameLen::NeedMore => {
                    self.stash(data, 64);
                    return;
                }
                FrameLen::Invalid => {
                    f.on_frame(Framed::Invalid(data));
                    self.synced = false;
                    return;
                }
            }
        }
    }

    /// Finish the buffered PDU from `data`; returns what is left of `data` after it, or `None`
    /// when `data` was used up (or dropped).
    fn complete_buffered<'d, F: Framing + ?Sized>(
        &mut self,
        mut data: &'d [u8],
        f: &mut F,
    ) -> Option<&'d [u8]> {
        // Grow the header a byte at a time until its length is known: headers are a few bytes,
        // and this never takes bytes that belong to the next PDU.
        let total = loop {
            match f.frame_len(&self.buf) {
                FrameLen::Len(n) => break n,
                FrameLen::Invalid => {
                    f.on_frame(Framed::Invalid(&self.buf));
                    self.release();
                    self.synced = false;
                    return None;
                }
                FrameLen::NeedMore => {
                    let (first, rest) = data.split_first()?;
                    self.stash(&[*first], 64);
                    data = rest;
                }
            }
        };
        if total > self.buf.len() && !self.can_buffer(total) {
            f.on_frame(Framed::Oversize {
                len: total,
                head: &self.buf,
            });
            let remaining = total - self.buf.len();
            self.release();
            let n = remaining.min(data.len());
            self.skip = (remaining - n) as u64;
            return data.get(n..);
        }
        let need = total.saturating_sub(self.buf.len());
        let take = need.min(data.len());
        let (head, rest) = data.split_at(take);
        self.stash(head, total);
        if self.buf.len() < total {
            return None;
        }
        let buf = std::mem::take(&mut self.buf);
        BUFFERED.fetch_sub(buf.capacity(), Ordering::Relaxed);
        f.on_frame(Framed::Frame(&buf));
        Some(rest)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A toy protocol: one length byte, then that many bytes.
    struct Toy {
        frames: Vec<Vec<u8>>,
        oversize: Vec<usize>,
        invalid: usize,
    }
    impl Framing for Toy {
        fn frame_len(&self, d: &[u8]) -> FrameLen {
            match d.first() {
                None => FrameLen::NeedMore,
                Some(0xff) => FrameLen::Invalid,
                Some(&n) => FrameLen::Len(1 + n as usize),
            }
        }
        fn on_frame(&mut self, fr: Framed<'_>) {
            match fr {
                Framed::Frame(b) => self.frames.push(b.to_vec()),
                Framed::Oversize { len, .. } => self.oversize.push(len),
                Framed::Invalid(_) => self.invalid += 1,
            }
        }
    }
    fn toy() -> Toy {
        Toy {
            frames: vec![],
            oversize: vec![],
            invalid: 0,
        }
    }

    #[test]
    fn reservations_count_against_the_global_ceiling() {
        // Other tests move the global counter concurrently: assert on the reservation alone.
        let mut r = Reservation::default();
        assert!(r.set(1000));
        assert_eq!(r.bytes(), 1000);
        assert!(!r.set(usize::MAX / 2), "past the ceiling");
        assert_eq!(r.bytes(), 1000, "a refused growth changes nothing");
        assert!(r.set(10));
        assert_eq!(r.bytes(), 10);
    }

    #[test]
    fn every_split_gives_the_same_frames() {
        let stream: Vec<u8> = vec![2, 10, 11, 0, 3, 20, 21, 22, 1, 30];
        for a in 0..=stream.len() {
            for b in a..=stream.len() {
                let mut fr = Framer::new(100);
                let mut t = toy();
                fr.feed(&stream[..a], &mut t);
                fr.feed(&stream[a..b], &mut t);
                fr.feed(&stream[b..], &mut t);
                assert_eq!(
                    t.frames,
                    vec![vec![2, 10, 11], vec![0], vec![3, 20, 21, 22], vec![1, 30]],
                    "split {a} {b}"
                );
            }
        }
    }

    #[test]
    fn oversize_is_skipped_not_buffered() {
        let mut fr = Framer::new(4);
        let mut t = toy();
        fr.feed(&[9, 1, 2], &mut t);
        assert_eq!(fr.buf.capacity(), 0);
        fr.feed(&[3, 4, 5, 6, 7, 8, 9, 1, 42], &mut t);
        assert_eq!(t.oversize, vec![10]);
        assert_eq!(t.frames, vec![vec![1, 42]]);
    }

    #[test]
    fn gap_then_resync_on_a_valid_start() {
        let mut fr = Framer::new(100);
        let mut t = toy();
        fr.feed(&[5, 1, 2], &mut t);
        fr.gap();
        fr.feed(&[0xff, 1, 2], &mut t); // does not start a PDU: dropped
        fr.feed(&[1, 7], &mut t);
        assert_eq!(t.frames, vec![vec![1, 7]]);
    }

    #[test]
    fn invalid_bytes_lose_sync() {
        let mut fr = Framer::new(100);
        let mut t = toy();
        fr.feed(&[1, 7, 0xff, 0, 0], &mut t);
        assert_eq!(t.invalid, 1);
        assert!(!fr.synced());
        fr.feed(&[0], &mut t);
        assert_eq!(t.frames, vec![vec![1, 7], vec![0]]);
    }
}
