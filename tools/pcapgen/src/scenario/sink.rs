//! The scenario's packet sink: frames of many concurrent conversations are collected in one
//! arena with their times, then sorted (stably) and written as a time-ordered capture.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::Path;

use crate::pcap::{LinkType, PacketSink, PcapWriter, Timestamp};

#[derive(Clone, Copy, Debug)]
struct Rec {
    ts: u64,
    off: usize,
    len: u32,
}

/// First and last packet time (ns, truncated to the file's microseconds) and the packet count
/// of a labelled episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub first_ns: u64,
    pub last_ns: u64,
    pub packets: u64,
}

/// Collects frames whose time falls in `[from, to)`; others are dropped.
pub struct Collector {
    arena: Vec<u8>,
    recs: Vec<Rec>,
    from: u64,
    to: u64,
    /// Episode the packets written now belong to.
    pub label: Option<&'static str>,
    /// Capture gaps: packets whose time falls in one of these `[from, to)` ranges happen on the
    /// wire but the sensor does not see them; they are dropped.
    pub holes: Vec<(u64, u64)>,
    pub spans: BTreeMap<&'static str, Span>,
}

impl Collector {
    pub fn new(from: u64, to: u64) -> Collector {
        Collector {
            arena: Vec::with_capacity(1 << 20),
            recs: Vec::with_capacity(1 << 16),
            from,
            to,
            label: None,
            holes: Vec::new(),
            spans: BTreeMap::new(),
        }
    }

    pub fn packets(&self) -> usize {
        self.recs.len()
    }

    /// Sort by time (ties keep the order of writing).
    pub fn sort(&mut self) {
        self.recs.sort_by_key(|r| r.ts);
    }

    /// Write the (sorted) packets whose time is in `[from, to)` as a microsecond pcap.
    /// Returns (packets, bytes of the file).
    pub fn write_pcap(&self, path: &Path, from: u64, to: u64) -> io::Result<(u64, u64)> {
        let f = BufWriter::with_capacity(1 << 20, File::create(path)?);
        let mut w = PcapWriter::new(f, LinkType::Ethernet)?;
        let a = self.recs.partition_point(|r| r.ts < from);
        let b = self.recs.partition_point(|r| r.ts < to);
        for r in &self.recs[a..b] {
            w.write_packet(Timestamp(r.ts), &self.arena[r.off..r.off + r.len as usize])?;
        }
        let n = w.packets();
        let bytes = 24 + 16 * n + w.frame_bytes();
        w.finish()?;
        Ok((n, bytes))
    }
}

impl PacketSink for Collector {
    fn link_type(&self) -> LinkType {
        LinkType::Ethernet
    }
    fn write_packet(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        // The file keeps microseconds: times are truncated here so that truth.json matches.
        let t = ts.0 / 1_000 * 1_000;
        if t < self.from || t >= self.to || self.holes.iter().any(|&(a, b)| t >= a && t < b) {
            return Ok(());
        }
        if let Some(l) = self.label {
            let s = self.spans.entry(l).or_insert(Span {
                first_ns: t,
                last_ns: t,
                packets: 0,
            });
            s.first_ns = s.first_ns.min(t);
            s.last_ns = s.last_ns.max(t);
            s.packets += 1;
        }
        let off = self.arena.len();
        self.arena.extend_from_slice(frame);
        self.recs.push(Rec {
            ts: t,
            off,
            len: frame.len() as u32,
        });
        Ok(())
    }
}
