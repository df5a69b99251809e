//! Capture file writers: classic pcap (micro- or nanosecond) and a minimal pcapng (SHB, IDB, EPB).

use std::io::{self, Write};

/// Link-layer header type of a capture (the pcap `LINKTYPE_*` value).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// BSD loopback / null: a 4-byte address family in the writer's (little-endian) byte order. DLT 0.
    Null,
    /// Ethernet II (with optional 802.1Q / 802.1ad tags). DLT 1.
    Ethernet,
    /// Raw IP, no link header (version taken from the first nibble). DLT 101.
    RawIp,
    /// Linux "cooked" capture v1 (16-byte header). DLT 113.
    LinuxSll,
    /// Linux "cooked" capture v2 (20-byte header). DLT 276.
    LinuxSll2,
}

impl LinkType {
    /// The numeric `LINKTYPE_*` value written in file headers.
    pub fn dlt(self) -> u32 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::RawIp => 101,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
        }
    }

    /// Inverse of [`LinkType::dlt`].
    pub fn from_dlt(dlt: u32) -> Option<LinkType> {
        Some(match dlt {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            101 => LinkType::RawIp,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }
}

/// A packet timestamp: nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// 2024-01-01T00:00:00Z, the default start of every [`crate::Clock`].
    pub const DEFAULT_START: Timestamp = Timestamp(1_704_067_200 * 1_000_000_000);

    pub fn from_secs(s: u64) -> Timestamp {
        Timestamp(s * 1_000_000_000)
    }
    pub fn from_micros(us: u64) -> Timestamp {
        Timestamp(us * 1_000)
    }
    pub fn from_nanos(ns: u64) -> Timestamp {
        Timestamp(ns)
    }
    pub fn as_nanos(self) -> u64 {
        self.0
    }
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000_000
    }
    pub fn subsec_nanos(self) -> u32 {
        (self.0 % 1_000_000_000) as u32
    }
    pub fn subsec_micros(self) -> u32 {
        self.subsec_nanos() / 1_000
    }
    /// This timestamp plus `ns` nanoseconds (saturating).
    pub fn plus_nanos(self, ns: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(ns))
    }
    pub fn plus_micros(self, us: u64) -> Timestamp {
        self.plus_nanos(us.saturating_mul(1_000))
    }
}

/// Timestamp resolution of a classic pcap file (selects the magic number).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TsResolution {
    #[default]
    Micro,
    Nano,
}

/// Anything frames can be written to: [`PcapWriter`], [`PcapngWriter`], [`MemSink`].
pub trait PacketSink {
    /// The link type frames must be built for.
    fn link_type(&self) -> LinkType;
    /// Write one frame (already carrying its link-layer header).
    fn write_packet(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()>;
}

impl<S: PacketSink + ?Sized> PacketSink for &mut S {
    fn link_type(&self) -> LinkType {
        (**self).link_type()
    }
    fn write_packet(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        (**self).write_packet(ts, frame)
    }
}

/// Options of a classic pcap file.
#[derive(Clone, Copy, Debug)]
pub struct PcapOptions {
    pub resolution: TsResolution,
    /// Frames longer than this are truncated (the record keeps the original length).
    pub snaplen: u32,
}

impl Default for PcapOptions {
    fn default() -> Self {
        PcapOptions {
            resolution: TsResolution::Micro,
            snaplen: 262_144,
        }
    }
}

/// Classic (libpcap) little-endian capture writer. Wrap files in a `BufWriter`.
pub struct PcapWriter<W: Write> {
    w: W,
    link: LinkType,
    opts: PcapOptions,
    packets: u64,
    bytes: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Microsecond timestamps, snaplen 262144; writes the file header immediately.
    pub fn new(w: W, link: LinkType) -> io::Result<Self> {
        Self::with_options(w, link, PcapOptions::default())
    }

    /// Nanosecond-resolution file (magic `a1b23c4d`).
    pub fn new_nano(w: W, link: LinkType) -> io::Result<Self> {
        Self::with_options(
            w,
            link,
            PcapOptions {
                resolution: TsResolution::Nano,
                ..Default::default()
            },
        )
    }

    pub fn with_options(mut w: W, link: LinkType, opts: PcapOptions) -> io::Result<Self> {
        let magic: u32 = match opts.resolution {
            TsResolution::Micro => 0xa1b2_c3d4,
            TsResolution::Nano => 0xa1b2_3c4d,
        };
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&magic.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone, sigfigs: 0
        h[16..20].copy_from_slice(&opts.snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&link.dlt().to_le_bytes());
        w.write_all(&h)?;
        Ok(PcapWriter {
            w,
            link,
            opts,
            packets: 0,
            bytes: 0,
        })
    }

    /// Write a record whose original length is `orig_len` (>= `data.len()` for a truncated frame).
    pub fn write_packet_with_len(
        &mut self,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
    ) -> io::Result<()> {
        let cap = data.len().min(self.opts.snaplen as usize);
        let frac = match self.opts.resolution {
            TsResolution::Micro => ts.subsec_micros(),
            TsResolution::Nano => ts.subsec_nanos(),
        };
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&(ts.secs() as u32).to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&(cap as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.max(cap as u32).to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(&data[..cap])?;
        self.packets += 1;
        self.bytes += cap as u64;
        Ok(())
    }

    /// Records written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }
    /// Captured frame bytes written so far (record headers excluded).
    pub fn frame_bytes(&self) -> u64 {
        self.bytes
    }
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.w
    }
    /// Flush and give back the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

impl<W: Write> PacketSink for PcapWriter<W> {
    fn link_type(&self) -> LinkType {
        self.link
    }
    fn write_packet(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        self.write_packet_with_len(ts, frame, frame.len() as u32)
    }
}

/// Minimal little-endian pcapng writer: one section header, interface descriptions, enhanced
/// packet blocks. Interface 0 is created by the constructor.
pub struct PcapngWriter<W: Write> {
    w: W,
    ifaces: Vec<(LinkType, TsResolution)>,
    packets: u64,
}

impl<W: Write> PcapngWriter<W> {
    /// SHB + IDB for interface 0 (microsecond timestamps).
    pub fn new(w: W, link: LinkType) -> io::Result<Self> {
        Self::with_resolution(w, link, TsResolution::Micro)
    }

    pub fn with_resolution(mut w: W, link: LinkType, res: TsResolution) -> io::Result<Self> {
        let mut b = Vec::with_capacity(28);
        b.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(-1i64).to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        w.write_all(&b)?;
        let mut me = PcapngWriter {
            w,
            ifaces: Vec::new(),
            packets: 0,
        };
        me.add_interface(link, res)?;
        Ok(me)
    }

    /// Write another interface description block; returns its interface id.
    pub fn add_interface(&mut self, link: LinkType, res: TsResolution) -> io::Result<u32> {
        let mut b = Vec::with_capacity(32);
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes()); // length, patched below
        b.extend_from_slice(&(link.dlt() as u16).to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&262_144u32.to_le_bytes());
        if res == TsResolution::Nano {
            // if_tsresol = 9 (10^-9 s), padded to 4 bytes; then opt_endofopt.
            b.extend_from_slice(&9u16.to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&[9, 0, 0, 0]);
            b.extend_from_slice(&[0, 0, 0, 0]);
        }
        let len = b.len() as u32 + 4;
        b[4..8].copy_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        self.w.write_all(&b)?;
        self.ifaces.push((link, res));
        Ok(self.ifaces.len() as u32 - 1)
    }

    /// Enhanced packet block on interface `iface`.
    pub fn write_packet_on(&mut self, iface: u32, ts: Timestamp, data: &[u8]) -> io::Result<()> {
        let Some(&(_, res)) = self.ifaces.get(iface as usize) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no interface {iface}"),
            ));
        };
        let units = match res {
            TsResolution::Micro => ts.as_nanos() / 1_000,
            TsResolution::Nano => ts.as_nanos(),
        };
        let pad = (4 - data.len() % 4) % 4;
        let len = (32 + data.len() + pad) as u32;
        let mut h = [0u8; 28];
        h[0..4].copy_from_slice(&6u32.to_le_bytes());
        h[4..8].copy_from_slice(&len.to_le_bytes());
        h[8..12].copy_from_slice(&iface.to_le_bytes());
        h[12..16].copy_from_slice(&((units >> 32) as u32).to_le_bytes());
        h[16..20].copy_from_slice(&(units as u32).to_le_bytes());
        h[20..24].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[24..28].copy_from_slice(&(data.len() as u32).to_le_bytes());
        self.w.write_all(&h)?;
        self.w.write_all(data)?;
        self.w.write_all(&[0u8; 3][..pad])?;
        self.w.write_all(&len.to_le_bytes())?;
        self.packets += 1;
        Ok(())
    }

    pub fn packets(&self) -> u64 {
        self.packets
    }
    pub fn finish(mut self) -> io::Result<W> {
        self.w.flush()?;
        Ok(self.w)
    }
}

impl<W: Write> PacketSink for PcapngWriter<W> {
    fn link_type(&self) -> LinkType {
        self.ifaces[0].0
    }
    fn write_packet(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        self.write_packet_on(0, ts, frame)
    }
}

/// Collects frames in memory (for assertions in tests, or to reorder before writing).
#[derive(Clone, Debug)]
pub struct MemSink {
    pub link: LinkType,
    pub packets: Vec<(Timestamp, Vec<u8>)>,
}

impl MemSink {
    pub fn new(link: LinkType) -> Self {
        MemSink {
            link,
            packets: Vec::new(),
        }
    }
    /// Replay the collected frames into another sink.
    pub fn drain_into<S: PacketSink>(&mut self, out: &mut S) -> io::Result<()> {
        for (ts, f) in self.packets.drain(..) {
            out.write_packet(ts, &f)?;
        }
        Ok(())
    }
}

impl PacketSink for MemSink {
    fn link_type(&self) -> LinkType {
        self.link
    }
    fn write_packet(&mut self, ts: Timestamp, frame: &[u8]) -> io::Result<()> {
        self.packets.push((ts, frame.to_vec()));
        Ok(())
    }
}
