//! Replaying pcap and pcapng files, as fast as the machine allows.
//!
//! Packets are handed out as slices of the reader's own buffer (pcap-parser's streaming reader:
//! no copy, no allocation per packet). Several files are merged in time order: each reader's
//! next record is parsed to learn its time, the earliest is handed out and consumed; records are
//! parsed twice that way, which costs far less than copying them.
//!
//! A damaged file (cut mid-record, garbage appended, a record larger than any frame) is read up
//! to the damage; the damage is reported with the file name, record number and byte offset, and
//! the rest of the run goes on.

use super::{LinkType, Packet};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Reader buffer: larger than any frame we accept (snaplen 262144) plus its record header.
const BUFFER: usize = 1 << 20;

/// What went wrong with an input file before any packet could be read.
#[derive(Debug)]
pub struct OpenError(pub String);

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for OpenError {}

/// Damage found while reading a file; reading of that file stopped there.
#[derive(Debug, Clone)]
pub struct Damage {
    pub file: PathBuf,
    /// Records read before the damage.
    pub records: u64,
    /// Byte offset of the damage in the file.
    pub offset: u64,
    pub what: String,
}

/// pcapng interface: link type and time resolution.
#[derive(Clone, Copy, Debug)]
struct Iface {
    link: LinkType,
    /// Units per second of the interface's timestamps.
    units_per_sec: u64,
    offset_sec: i64,
}

/// One open capture file.
struct Source {
    path: PathBuf,
    index: usize,
    reader: Box<dyn PcapReaderIterator + Send>,
    /// Legacy pcap: one link type and resolution for the file.
    legacy: Option<(LinkType, bool)>,
    /// pcapng: interfaces of the current section.
    ifaces: Vec<Iface>,
    /// Packets handed out so far (frame numbers are 1-based).
    frames: u64,
    /// Records (any block) consumed.
    records: u64,
    done: bool,
    /// Time of the next packet, once parsed (for merging).
    peeked: Option<u64>,
}

/// Replays one or more files; see [`FileReplay::for_each`].
pub struct FileReplay {
    sources: Vec<Source>,
    /// Damage reported so far.
    pub damage: Vec<Damage>,
}

/// What `step` found at the head of a source.
enum Head {
    /// A packet with this time (handed to the consumer unless peeking).
    Packet(u64),
    /// A block that is not a packet (headers, interface descriptions, statistics...): consumed.
    Other,
    /// The source has ended (cleanly or by damage).
    End,
}

impl FileReplay {
    /// Open every file; fails (with a one-line reason) when one is missing, unreadable or not a
    /// capture at all, before any packet is processed.
    pub fn open<P: AsRef<Path>>(paths: &[P]) -> Result<FileReplay, OpenError> {
        let mut sources = Vec::with_capacity(paths.len());
        for (index, p) in paths.iter().enumerate() {
            let path = p.as_ref().to_path_buf();
            let file =
                File::open(&path).map_err(|e| OpenError(format!("{}: {e}", path.display())))?;
            if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                return Err(OpenError(format!(
                    "{}: is a directory, not a capture file",
                    path.display()
                )));
            }
            let reader = create_reader(BUFFER, file).map_err(|e| {
                OpenError(match e {
                    PcapError::Eof => format!("{}: empty file, not a capture", path.display()),
                    PcapError::HeaderNotRecognized => {
                        format!(
                            "{}: not a pcap or pcapng file (unknown magic)",
                            path.display()
                        )
                    }
                    PcapError::Incomplete(_) | PcapError::UnexpectedEof => {
                        format!("{}: truncated capture header", path.display())
                    }
                    other => format!("{}: cannot read capture: {other:?}", path.display()),
                })
            })?;
            sources.push(Source {
                path,
                index,
                reader,
                legacy: None,
                ifaces: Vec::new(),
                frames: 0,
                records: 0,
                done: false,
                peeked: None,
            });
        }
        Ok(FileReplay {
            sources,
            damage: Vec::new(),
        })
    }

    /// Hand every packet of every file to `f`, in time order across files (file order on ties).
    pub fn for_each(&mut self, mut f: impl FnMut(&Packet<'_>)) {
        let f: &mut dyn FnMut(&Packet<'_>) = &mut f;
        if let [src] = self.sources.as_mut_slice() {
            // One file: no merging, no peeking.
            while !src.done {
                src.step(&mut self.damage, Some(&mut *f));
            }
            return;
        }
        loop {
            // Learn the time of each live source's next packet (parsed, not consumed).
            for src in self.sources.iter_mut() {
                while !src.done && src.peeked.is_none() {
                    if let Head::Packet(ts) = src.step(&mut self.damage, None) {
                        src.peeked = Some(ts);
                    }
                }
            }
            let next = self
                .sources
                .iter_mut()
                .filter(|s| !s.done && s.peeked.is_some())
                .min_by_key(|s| (s.peeked, s.index));
            let Some(src) = next else { break };
            src.peeked = None;
            src.step(&mut self.damage, Some(&mut *f));
        }
    }
}

impl Source {
    fn damaged(&mut self, damage: &mut Vec<Damage>, what: String) {
        damage.push(Damage {
            file: self.path.clone(),
            records: self.records,
            offset: self.reader.consumed() as u64,
            what,
        });
        self.done = true;
    }

    /// Parse the record at the head of the reader. A packet goes to `deliver` and is consumed;
    /// with `deliver` None (peeking) it is left in place to be parsed again. Other blocks are
    /// consumed either way.
    fn step(
        &mut self,
        damage: &mut Vec<Damage>,
        deliver: Option<&mut dyn FnMut(&Packet<'_>)>,
    ) -> Head {
        loop {
            if self.done {
                return Head::End;
            }
            let (len, block) = match self.reader.next() {
                Ok(x) => x,
                Err(PcapError::Eof) => {
                    self.done = true;
                    return Head::End;
                }
                Err(PcapError::Incomplete(_)) => {
                    if self.reader.refill().is_err() {
                        self.damaged(damage, "read error".into());
                    }
                    continue;
                }
                Err(PcapError::UnexpectedEof) => {
                    self.damaged(
                        damage,
                        "file ends in the middle of a record (truncated capture)".into(),
                    );
                    return Head::End;
                }
                Err(PcapError::BufferTooSmall) => {
                    self.damaged(
                        damage,
                        "record larger than 1 MiB (corrupt record header)".into(),
                    );
                    return Head::End;
                }
                Err(e) => {
                    let what = format!("corrupt record: {:?}", e.to_owned_vec());
                    self.damaged(damage, what);
                    return Head::End;
                }
            };
            let mut packet = None;
            match block {
                PcapBlockOwned::LegacyHeader(h) => {
                    self.legacy = Some((LinkType(h.network.0 as u32), h.is_nanosecond_precision()));
                }
                PcapBlockOwned::Legacy(b) => {
                    let (link, nanos) = self.legacy.unwrap_or((LinkType::ETHERNET, false));
                    let frac = if nanos {
                        u64::from(b.ts_usec)
                    } else {
                        u64::from(b.ts_usec) * 1000
                    };
                    let caplen = (b.caplen as usize).min(b.data.len());
                    let ts = u64::from(b.ts_sec) * 1_000_000_000 + frac;
                    packet = Some((link, ts, b.data.get(..caplen).unwrap_or(b.data), b.origlen));
                }
                PcapBlockOwned::NG(Block::SectionHeader(_)) => self.ifaces.clear(),
                PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                    let units_per_sec = idb.ts_resolution().unwrap_or(1_000_000).max(1);
                    self.ifaces.push(Iface {
                        link: LinkType(idb.linktype.0 as u32),
                        units_per_sec,
                        offset_sec: idb.ts_offset(),
                    });
                }
                PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                    let iface = self
                        .ifaces
                        .get(epb.if_id as usize)
                        .copied()
                        .unwrap_or(Iface {
                            link: LinkType::ETHERNET,
                            units_per_sec: 1_000_000,
                            offset_sec: 0,
                        });
                    let units = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                    let ns = (u128::from(units) * 1_000_000_000 / u128::from(iface.units_per_sec))
                        as i128
                        + i128::from(iface.offset_sec) * 1_000_000_000;
                    let caplen = (epb.caplen as usize).min(epb.data.len());
                    let ts = u64::try_from(ns.max(0)).unwrap_or(u64::MAX);
                    packet = Some((
                        iface.link,
                        ts,
                        epb.data.get(..caplen).unwrap_or(epb.data),
                        epb.origlen,
                    ));
                }
                PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                    let link = self
                        .ifaces
                        .first()
                        .map(|i| i.link)
                        .unwrap_or(LinkType::ETHERNET);
                    let caplen = (spb.origlen as usize).min(spb.data.len());
                    packet = Some((
                        link,
                        0,
                        spb.data.get(..caplen).unwrap_or(spb.data),
                        spb.origlen,
                    ));
                }
                PcapBlockOwned::NG(_) => {}
            }
            let Some((link, ts_ns, data, orig_len)) = packet else {
                self.records += 1;
                self.reader.consume(len);
                return Head::Other;
            };
            let Some(deliver) = deliver else {
                return Head::Packet(ts_ns);
            };
            self.frames += 1;
            self.records += 1;
            deliver(&Packet {
                source: self.index,
                frame: self.frames,
                ts_ns,
                link,
                data,
                orig_len,
            });
            self.reader.consume_noshift(len);
            return Head::Packet(ts_ns);
        }
    }
}
