//! Stage 1: where packets come from. Capture files ([`file`]) or live interfaces ([`live`]);
//! both hand out borrowed [`Packet`]s, never copies.

pub mod file;
pub mod live;

/// A link-layer type number (the pcap LINKTYPE_ registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    /// DLT_RAW as some BSDs number it.
    pub const RAW_BSD: LinkType = LinkType(12);
    pub const RAW: LinkType = LinkType(101);
    pub const LOOP: LinkType = LinkType(108);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One captured packet, borrowed from the capture buffer.
#[derive(Clone, Copy, Debug)]
pub struct Packet<'a> {
    /// Index of the input (file or interface) it came from.
    pub source: usize,
    /// 1-based packet number within its source (Wireshark's frame number).
    pub frame: u64,
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    pub link: LinkType,
    /// The captured bytes (at most the snap length).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub orig_len: u32,
}
