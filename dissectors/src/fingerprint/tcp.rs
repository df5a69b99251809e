//! p0f v3 signatures of SYN and SYN+ACK segments.
//!
//! The signature is the `raw_sig` p0f 3.09b prints for a host it does not know (p0f's
//! `docs/README`, section 5, "TCP signatures"; built as p0f's `process.c` parses and
//! `fp_tcp.c`'s `dump_sig` prints):
//!
//! ```text
//! ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass
//! 4:64+0:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0
//! ```
//!
//! - `ver`: `4` or `6`.
//! - `ittl`: the observed TTL, `+`, and the distance to the initial TTL guessed by rounding up
//!   to 32, 64, 128 or 255 (`54+10` was sent with 64, ten hops away); `ttl+?` when that
//!   distance is over 35 (p0f's `MAX_DIST`). [`TcpFingerprint::initial_ttl`] is the sum.
//! - `olen`: IPv4 option bytes (always 0 for IPv6, as in p0f).
//! - `mss`: the MSS option's value, 0 without one.
//! - `wsize`: the window, as `mss*N` or `mtu*N` when it is a multiple of the MSS or of the
//!   MTU (p0f's `detect_win_multi`, same order of tries), else the number.
//! - `scale`: the window scale option's shift, 0 without one.
//! - `olayout`: the options in order: `eol+N` (end of options and N bytes after it), `nop`,
//!   `mss`, `ws`, `sok`, `sack`, `ts`, `?N` (any other kind N).
//! - `quirks`: in p0f's order, `df` (don't fragment), `id+` (DF set and IP ID non-zero), `id-`
//!   (DF clear and IP ID zero), `ecn` (ECN bits in the IP header, or ECE/CWR/NS in TCP's), `0+`
//!   (IPv4 reserved flag), `flow` (IPv6 flow label), `seq-` (sequence number zero), `ack+` (ACK
//!   number without the ACK flag), `ack-` (ACK flag with a zero ACK number), `uptr+` (urgent
//!   pointer without URG), `urgf+` (URG), `pushf+` (PSH), `ts1-` (own timestamp zero), `ts2+`
//!   (peer timestamp non-zero on a SYN), `opt+` (non-zero bytes after EOL), `exws` (window
//!   scale over 14), `bad` (malformed options).
//! - `pclass`: `0` without payload, `+` with.
//!
//! Options are walked as p0f walks them, so that the signature is the one p0f prints, damage
//! included: known options advance by their fixed size whatever their length byte says (a
//! wrong length byte is `bad`), at most 24 options are read (p0f's `MAX_TCP_OPT`), and an
//! option running past the header stops the walk (`bad`).
//!
//! Differences from p0f, on purpose: `ack+` is set for any non-zero ACK number without the
//! ACK flag (p0f 3.09b's test, `ack & !rst`, uses `&` for `&&` and so looks at one bit);
//! p0f-sendsyn's MSS 1331 is printed as a number, not `*`. As in p0f, IPv6 extension headers
//! are not walked ([`IpFacts::parse`] takes TCP right after the fixed header only).
//!
//! Checked against p0f 3.09b itself: every distinct signature p0f prints for the SYNs and
//! SYN+ACKs of the shared captures is produced here, and no other (`tests/fingerprint.rs`).

use super::{u16_at, u32_at, InlineStr};
use std::fmt;

/// Options p0f reads at most.
pub const MAX_OPTIONS: usize = 24;
/// p0f's `MAX_DIST`: a larger distance to the guessed initial TTL prints as `+?`.
pub const MAX_DIST: u8 = 35;
/// Capacity of a [`Signature`]: the longest possible signature fits.
pub const SIGNATURE_CAP: usize = 256;

/// A p0f signature, inline.
pub type Signature = InlineStr<SIGNATURE_CAP>;

const MIN_TCP4: u16 = 40;
const MIN_TCP6: u16 = 60;

/// TCP option kinds named in signatures.
pub mod kind {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WS: u8 = 3;
    pub const SACK_PERMITTED: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMP: u8 = 8;
}

/// IP version of the segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum IpVersion {
    V4,
    V6,
}

impl IpVersion {
    pub fn number(self) -> u8 {
        match self {
            IpVersion::V4 => 4,
            IpVersion::V6 => 6,
        }
    }
}

/// What the fingerprint needs from the IP header that carried the segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpFacts {
    pub version: IpVersion,
    /// TTL (IPv4) or hop limit (IPv6), as received.
    pub ttl: u8,
    /// IPv4 Total Length, or IPv6 Payload Length, as the header states it.
    pub ip_len: u16,
    /// Bytes of IP header before the TCP header: IHL × 4 for IPv4 (20 plus options), 40 for
    /// IPv6 (plus extension headers, if the caller walked them).
    pub header_len: u16,
    /// IPv4 Don't Fragment (false for IPv6).
    pub df: bool,
    /// IPv4 Identification; `None` for IPv6 or when unknown (then neither `id+` nor `id-`).
    pub id: Option<u16>,
    /// IPv4 reserved ("evil") flag bit.
    pub reserved_flag: bool,
    /// The two ECN bits of the TOS / traffic class byte.
    pub ecn: u8,
    /// IPv6 flow label (0 for IPv4).
    pub flow_label: u32,
}

impl IpFacts {
    /// Minimal facts: version, TTL, the length field, header length and DF; no IP ID, ECN,
    /// reserved bit or flow label.
    pub fn new(version: IpVersion, ttl: u8, ip_len: u16, header_len: u16, df: bool) -> Self {
        IpFacts {
            version,
            ttl,
            ip_len,
            header_len,
            df,
            id: None,
            reserved_flag: false,
            ecn: 0,
            flow_label: 0,
        }
    }

    /// Read an IPv4 or IPv6 header carrying TCP at the start of `ip` (a packet as captured,
    /// from its IP header on): the facts and the bytes from the TCP header on. `None` when the
    /// header is cut short, not TCP, an IPv4 fragment other than the first... or any fragment
    /// (p0f skips those), or IPv6 with extension headers.
    pub fn parse(ip: &[u8]) -> Option<(IpFacts, &[u8])> {
        let first = *ip.first()?;
        match first >> 4 {
            4 => {
                let ihl = usize::from(first & 0x0F) * 4;
                if ihl < 20 || *ip.get(9)? != 6 {
                    return None;
                }
                let flags_off = u16_at(ip, 6)?;
                if flags_off & 0x3FFF != 0 {
                    return None; // MF or a fragment offset
                }
                let tcp = ip.get(ihl..)?;
                let facts = IpFacts {
                    version: IpVersion::V4,
                    ttl: *ip.get(8)?,
                    ip_len: u16_at(ip, 2)?,
                    header_len: u16::try_from(ihl).ok()?,
                    df: flags_off & 0x4000 != 0,
                    id: Some(u16_at(ip, 4)?),
                    reserved_flag: flags_off & 0x8000 != 0,
                    ecn: *ip.get(1)? & 3,
                    flow_label: 0,
                };
                Some((facts, tcp))
            }
            6 => {
                if *ip.get(6)? != 6 {
                    return None;
                }
                let vtf = u32_at(ip, 0)?;
                let facts = IpFacts {
                    version: IpVersion::V6,
                    ttl: *ip.get(7)?,
                    ip_len: u16_at(ip, 4)?,
                    header_len: 40,
                    df: false,
                    id: None,
                    reserved_flag: false,
                    ecn: ((vtf >> 20) & 3) as u8,
                    flow_label: vtf & 0xF_FFFF,
                };
                Some((facts, ip.get(40..)?))
            }
            _ => None,
        }
    }
}

/// p0f's quirks, as bits (the order of the constants is the order they print in).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Quirks(pub u32);

impl Quirks {
    pub const DF: u32 = 1 << 0;
    pub const NZ_ID: u32 = 1 << 1;
    pub const ZERO_ID: u32 = 1 << 2;
    pub const ECN: u32 = 1 << 3;
    pub const NZ_MBZ: u32 = 1 << 4;
    pub const FLOW: u32 = 1 << 5;
    pub const ZERO_SEQ: u32 = 1 << 6;
    pub const NZ_ACK: u32 = 1 << 7;
    pub const ZERO_ACK: u32 = 1 << 8;
    pub const NZ_URG: u32 = 1 << 9;
    pub const URG: u32 = 1 << 10;
    pub const PUSH: u32 = 1 << 11;
    pub const OPT_ZERO_TS1: u32 = 1 << 12;
    pub const OPT_NZ_TS2: u32 = 1 << 13;
    pub const OPT_EOL_NZ: u32 = 1 << 14;
    pub const OPT_EXWS: u32 = 1 << 15;
    pub const OPT_BAD: u32 = 1 << 16;

    /// Every quirk with its name in the signature, in print order.
    pub const NAMES: [(u32, &'static str); 17] = [
        (Self::DF, "df"),
        (Self::NZ_ID, "id+"),
        (Self::ZERO_ID, "id-"),
        (Self::ECN, "ecn"),
        (Self::NZ_MBZ, "0+"),
        (Self::FLOW, "flow"),
        (Self::ZERO_SEQ, "seq-"),
        (Self::NZ_ACK, "ack+"),
        (Self::ZERO_ACK, "ack-"),
        (Self::NZ_URG, "uptr+"),
        (Self::URG, "urgf+"),
        (Self::PUSH, "pushf+"),
        (Self::OPT_ZERO_TS1, "ts1-"),
        (Self::OPT_NZ_TS2, "ts2+"),
        (Self::OPT_EOL_NZ, "opt+"),
        (Self::OPT_EXWS, "exws"),
        (Self::OPT_BAD, "bad"),
    ];

    pub fn contains(self, bit: u32) -> bool {
        self.0 & bit == bit
    }

    fn set(&mut self, bit: u32) {
        self.0 |= bit;
    }
}

/// Comma-separated names, as in the signature (empty when none).
impl fmt::Display for Quirks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (bit, name) in Self::NAMES {
            if self.contains(bit) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Quirks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Quirks({self})")
    }
}

/// The option kinds in the order they came (at most [`MAX_OPTIONS`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionLayout {
    kinds: [u8; MAX_OPTIONS],
    len: u8,
    /// Bytes of the options area after an EOL (p0f's `eol+N`).
    pub eol_pad: u8,
}

impl OptionLayout {
    /// Option kinds, in order.
    pub fn kinds(&self) -> &[u8] {
        self.kinds.get(..usize::from(self.len)).unwrap_or_default()
    }

    fn push(&mut self, kind: u8) {
        if let Some(slot) = self.kinds.get_mut(usize::from(self.len)) {
            *slot = kind;
            self.len += 1;
        }
    }

    fn is_full(&self) -> bool {
        usize::from(self.len) >= MAX_OPTIONS
    }
}

/// p0f's `olayout`: `mss,nop,ws,nop,nop,sok`.
impl fmt::Display for OptionLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &k) in self.kinds().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match k {
                kind::EOL => write!(f, "eol+{}", self.eol_pad)?,
                kind::NOP => f.write_str("nop")?,
                kind::MSS => f.write_str("mss")?,
                kind::WS => f.write_str("ws")?,
                kind::SACK_PERMITTED => f.write_str("sok")?,
                kind::SACK => f.write_str("sack")?,
                kind::TIMESTAMP => f.write_str("ts")?,
                other => write!(f, "?{other}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for OptionLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OptionLayout({self})")
    }
}

/// Why a segment gives no fingerprint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpError {
    /// Fewer bytes than a TCP header, or than its data offset says.
    Truncated,
    /// Data offset under 5 words.
    BadOffset,
    /// Neither a SYN nor a SYN+ACK (or SYN with FIN or RST, which p0f ignores too).
    NotSyn,
}

/// How the window relates to the MSS (p0f's `mss*N` and `mtu*N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowMultiple {
    Mss(u16),
    Mtu(u16),
}

/// Everything read from one SYN or SYN+ACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpFingerprint {
    pub ip_version: IpVersion,
    /// TTL as received.
    pub ttl: u8,
    /// Initial TTL guessed: the received one rounded up to 32, 64, 128 or 255.
    pub initial_ttl: u8,
    /// `initial_ttl - ttl`: hops, if the guess is right.
    pub distance: u8,
    /// IPv4 option bytes (0 for IPv6).
    pub ip_options_len: u8,
    /// IP header plus TCP header bytes (p0f's `tot_hdr`).
    pub headers_len: u16,
    /// A SYN+ACK (else a SYN).
    pub syn_ack: bool,
    pub src_port: u16,
    pub dst_port: u16,
    /// TCP window, unscaled.
    pub window: u16,
    /// MSS option value.
    pub mss: Option<u16>,
    /// Window scale option's shift.
    pub wscale: Option<u8>,
    /// SACK permitted option present.
    pub sack_permitted: bool,
    /// Timestamp option: (own TSval, echoed TSecr).
    pub timestamps: Option<(u32, u32)>,
    pub options: OptionLayout,
    pub quirks: Quirks,
    /// TCP payload bytes, from the IP length field.
    pub payload_len: u16,
}

fn guess_initial(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    }
}

/// Fingerprint a SYN or SYN+ACK: `tcp` holds the segment as captured from its TCP header on
/// (at least the whole header, options included; the payload may be cut short), `ip` the
/// facts of the IP header that carried it.
pub fn fingerprint(tcp: &[u8], ip: &IpFacts) -> Result<TcpFingerprint, TcpError> {
    let base: &[u8; 20] = tcp.first_chunk::<20>().ok_or(TcpError::Truncated)?;
    let [sp0, sp1, dp0, dp1, s0, s1, s2, s3, a0, a1, a2, a3, off, flags, w0, w1, _, _, u0, u1] =
        *base;
    let doff = usize::from(off >> 4) * 4;
    if doff < 20 {
        return Err(TcpError::BadOffset);
    }
    let options = tcp.get(20..doff).ok_or(TcpError::Truncated)?;

    const FIN: u8 = 0x01;
    const SYN: u8 = 0x02;
    const RST: u8 = 0x04;
    const PSH: u8 = 0x08;
    const ACK: u8 = 0x10;
    const URG: u8 = 0x20;
    const ECE: u8 = 0x40;
    const CWR: u8 = 0x80;
    let syn_ack = match flags & (SYN | ACK | FIN | RST) {
        SYN => false,
        x if x == SYN | ACK => true,
        _ => return Err(TcpError::NotSyn),
    };

    let mut q = Quirks::default();
    // IP level.
    match ip.version {
        IpVersion::V4 => {
            if ip.ecn != 0 {
                q.set(Quirks::ECN);
            }
            if ip.reserved_flag {
                q.set(Quirks::NZ_MBZ);
            }
            if ip.df {
                q.set(Quirks::DF);
                if ip.id.is_some_and(|id| id != 0) {
                    q.set(Quirks::NZ_ID);
                }
            } else if ip.id == Some(0) {
                q.set(Quirks::ZERO_ID);
            }
        }
        IpVersion::V6 => {
            if ip.flow_label != 0 {
                q.set(Quirks::FLOW);
            }
            if ip.ecn != 0 {
                q.set(Quirks::ECN);
            }
        }
    }
    // TCP header.
    if flags & (ECE | CWR) != 0 || off & 0x01 != 0 {
        q.set(Quirks::ECN);
    }
    if [s0, s1, s2, s3] == [0; 4] {
        q.set(Quirks::ZERO_SEQ);
    }
    let ack_zero = [a0, a1, a2, a3] == [0; 4];
    if flags & ACK != 0 {
        if ack_zero {
            q.set(Quirks::ZERO_ACK);
        }
    } else if !ack_zero {
        q.set(Quirks::NZ_ACK);
    }
    if flags & URG != 0 {
        q.set(Quirks::URG);
    } else if [u0, u1] != [0; 2] {
        q.set(Quirks::NZ_URG);
    }
    if flags & PSH != 0 {
        q.set(Quirks::PUSH);
    }

    let mut fp = TcpFingerprint {
        ip_version: ip.version,
        ttl: ip.ttl,
        initial_ttl: guess_initial(ip.ttl),
        distance: guess_initial(ip.ttl) - ip.ttl,
        ip_options_len: match ip.version {
            IpVersion::V4 => u8::try_from(ip.header_len.saturating_sub(20)).unwrap_or(u8::MAX),
            IpVersion::V6 => 0,
        },
        headers_len: ip
            .header_len
            .saturating_add(u16::try_from(doff).unwrap_or(60)),
        syn_ack,
        src_port: u16::from_be_bytes([sp0, sp1]),
        dst_port: u16::from_be_bytes([dp0, dp1]),
        window: u16::from_be_bytes([w0, w1]),
        mss: None,
        wscale: None,
        sack_permitted: false,
        timestamps: None,
        options: OptionLayout {
            kinds: [0; MAX_OPTIONS],
            len: 0,
            eol_pad: 0,
        },
        quirks: q,
        payload_len: 0,
    };
    // The TCP segment's length per the IP header, less the TCP header.
    let ip_payload = match ip.version {
        IpVersion::V4 => ip.ip_len.saturating_sub(ip.header_len),
        IpVersion::V6 => ip.ip_len.saturating_sub(ip.header_len.saturating_sub(40)),
    };
    fp.payload_len = ip_payload.saturating_sub(u16::try_from(doff).unwrap_or(60));
    walk_options(options, &mut fp);
    Ok(fp)
}

/// p0f's option walk (`process.c`), into `fp`.
fn walk_options(opts: &[u8], fp: &mut TcpFingerprint) {
    let mut rest = opts;
    let mut bad = false;
    while let Some((&k, after)) = rest.split_first() {
        if fp.options.is_full() {
            break;
        }
        fp.options.push(k);
        rest = after;
        match k {
            kind::EOL => {
                fp.options.eol_pad = u8::try_from(rest.len()).unwrap_or(u8::MAX);
                if rest.iter().any(|&b| b != 0) {
                    fp.quirks.set(Quirks::OPT_EOL_NZ);
                }
                rest = &[];
            }
            kind::NOP => {}
            kind::MSS => {
                let Some((&[len, a, b], tail)) = rest.split_first_chunk::<3>() else {
                    bad = true;
                    break;
                };
                if len != 4 {
                    fp.quirks.set(Quirks::OPT_BAD);
                }
                fp.mss = Some(u16::from_be_bytes([a, b]));
                rest = tail;
            }
            kind::WS => {
                let Some((&[len, shift], tail)) = rest.split_first_chunk::<2>() else {
                    bad = true;
                    break;
                };
                if len != 3 {
                    fp.quirks.set(Quirks::OPT_BAD);
                }
                fp.wscale = Some(shift);
                if shift > 14 {
                    fp.quirks.set(Quirks::OPT_EXWS);
                }
                rest = tail;
            }
            kind::SACK_PERMITTED => {
                let Some((&len, tail)) = rest.split_first() else {
                    bad = true;
                    break;
                };
                if len != 2 {
                    fp.quirks.set(Quirks::OPT_BAD);
                }
                fp.sack_permitted = true;
                rest = tail;
            }
            kind::TIMESTAMP => {
                let Some((&[len, t0, t1, t2, t3, e0, e1, e2, e3], tail)) =
                    rest.split_first_chunk::<9>()
                else {
                    bad = true;
                    break;
                };
                if len != 10 {
                    fp.quirks.set(Quirks::OPT_BAD);
                }
                let ts1 = u32::from_be_bytes([t0, t1, t2, t3]);
                let ts2 = u32::from_be_bytes([e0, e1, e2, e3]);
                if ts1 == 0 {
                    fp.quirks.set(Quirks::OPT_ZERO_TS1);
                }
                if !fp.syn_ack && ts2 != 0 {
                    fp.quirks.set(Quirks::OPT_NZ_TS2);
                }
                fp.timestamps = Some((ts1, ts2));
                rest = tail;
            }
            other => {
                // SACK (10 to 34 bytes) and unknown options (2 to 40) carry their length.
                let Some(&len) = rest.first() else {
                    bad = true;
                    break;
                };
                let ok = if other == kind::SACK {
                    (10..=34).contains(&len)
                } else {
                    (2..=40).contains(&len)
                };
                let Some(tail) = ok.then(|| rest.get(usize::from(len) - 1..)).flatten() else {
                    bad = true;
                    break;
                };
                rest = tail;
            }
        }
    }
    if bad || !rest.is_empty() {
        fp.quirks.set(Quirks::OPT_BAD);
    }
}

impl TcpFingerprint {
    /// The window as a multiple of the MSS or MTU, as p0f's `detect_win_multi` finds it.
    /// `peer_syn_mss` is, for a SYN+ACK, the MSS of the SYN it answers (p0f tries it last).
    pub fn window_multiple(&self, peer_syn_mss: Option<u16>) -> Option<WindowMultiple> {
        let win = i32::from(self.window);
        let mss = i32::from(self.mss.unwrap_or(0));
        if win == 0 || mss < 100 {
            return None;
        }
        let v6 = self.ip_version == IpVersion::V6;
        let ts1 = self.timestamps.is_some_and(|(t, _)| t != 0);
        let peer = i32::from(peer_syn_mss.unwrap_or(0));
        let tries = [
            (mss, false, true),
            (mss - 12, false, ts1),
            (1500 - i32::from(MIN_TCP4), false, true),
            (1500 - i32::from(MIN_TCP4) - 12, false, true),
            (1500 - i32::from(MIN_TCP6), false, v6),
            (1500 - i32::from(MIN_TCP6) - 12, false, v6),
            (mss + i32::from(MIN_TCP4), true, true),
            (mss + i32::from(self.headers_len), true, true),
            (mss + i32::from(MIN_TCP6), true, v6),
            (1500, true, true),
            (peer, false, peer != 0),
            (peer - 12, false, peer != 0),
        ];
        for (div, mtu, enabled) in tries {
            if !enabled || div == 0 || win % div != 0 {
                continue;
            }
            // A negative divisor (peer MSS under 12) makes p0f print the window as it is.
            let n = u16::try_from(win / div).ok()?;
            return Some(if mtu {
                WindowMultiple::Mtu(n)
            } else {
                WindowMultiple::Mss(n)
            });
        }
        None
    }

    /// The p0f signature (see the module documentation). `peer_syn_mss`: for a SYN+ACK, the
    /// MSS of the SYN it answers, if seen (p0f uses it to explain the window); `None` for a
    /// SYN.
    pub fn signature(&self, peer_syn_mss: Option<u16>) -> Signature {
        let mut s = Signature::new();
        // The longest signature is well under SIGNATURE_CAP, so this cannot fail.
        let _ = self.write_signature(&mut s, peer_syn_mss);
        s
    }

    /// Write the p0f signature into any writer.
    pub fn write_signature(
        &self,
        w: &mut dyn fmt::Write,
        peer_syn_mss: Option<u16>,
    ) -> fmt::Result {
        write!(w, "{}:{}+", self.ip_version.number(), self.ttl)?;
        if self.distance > MAX_DIST {
            w.write_str("?")?;
        } else {
            write!(w, "{}", self.distance)?;
        }
        write!(w, ":{}:{}:", self.ip_options_len, self.mss.unwrap_or(0))?;
        match self.window_multiple(peer_syn_mss) {
            Some(WindowMultiple::Mss(n)) => write!(w, "mss*{n}")?,
            Some(WindowMultiple::Mtu(n)) => write!(w, "mtu*{n}")?,
            None => write!(w, "{}", self.window)?,
        }
        write!(
            w,
            ",{}:{}:{}:{}",
            self.wscale.unwrap_or(0),
            self.options,
            self.quirks,
            if self.payload_len > 0 { "+" } else { "0" }
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let d: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        d.chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 16).unwrap())
            .collect()
    }

    /// iti_ModbusTCP.pcap frame 1 (Windows 7 SYN) and frame 2 (the SYN+ACK), IP header on;
    /// p0f 3.09b prints `4:128+0:0:1460:8192,0:mss,nop,nop,sok:df,id+:0` and
    /// `4:64+0:0:1460:8192,0:mss::0`.
    #[test]
    fn windows_syn_and_plc_syn_ack_match_p0f() {
        let syn = hex("4500 0030 362a 4000 8006 0000 8d51 000a 8d51 002e
             e994 01f6 43f3 e09b 0000 0000 7002 2000 1afd 0000 0204 05b4 0101 0402");
        let (ip, tcp) = IpFacts::parse(&syn).unwrap();
        let fp = fingerprint(tcp, &ip).unwrap();
        assert_eq!(fp.mss, Some(1460));
        assert!(fp.sack_permitted);
        assert_eq!(fp.options.kinds(), [2, 1, 1, 4]);
        assert_eq!(
            fp.signature(None),
            "4:128+0:0:1460:8192,0:mss,nop,nop,sok:df,id+:0"
        );
        let synack = hex("4500 002c 516e 0000 4006 0e84 8d51 002e 8d51 000a
             01f6 e994 4ab7 11bd 43f3 e09c 6012 2000 f0ac 0000 0204 05b4");
        let (ip, tcp) = IpFacts::parse(&synack).unwrap();
        let fp = fingerprint(tcp, &ip).unwrap();
        assert!(fp.syn_ack);
        assert_eq!(fp.signature(Some(1460)), "4:64+0:0:1460:8192,0:mss::0");
    }

    #[test]
    fn option_damage_is_bad_not_a_panic() {
        let ip = IpFacts::new(IpVersion::V4, 60, 44, 20, true);
        // doff 6: one option word, an MSS cut short.
        let tcp = hex("0001 0002 0000 0001 0000 0000 6002 ffff 0000 0000 0204 05");
        assert_eq!(fingerprint(&tcp, &ip), Err(TcpError::Truncated));
        let tcp = hex("0001 0002 0000 0001 0000 0000 6002 ffff 0000 0000 0102 04ff");
        let fp = fingerprint(&tcp, &ip).unwrap();
        assert!(fp.quirks.contains(Quirks::OPT_BAD));
        assert_eq!(
            fp.signature(None).as_str(),
            "4:60+4:0:0:65535,0:nop,mss:df,bad:0"
        );
        // EOL with trailing junk, a timestamp with a zero TSval and a set TSecr.
        let tcp = hex("0001 0002 0000 0000 0000 0001 9002 0400 0000 0001
             080a 0000 0000 0000 0001 0303 0f00 0100");
        let ip = IpFacts {
            id: Some(0),
            ..IpFacts::new(IpVersion::V4, 200, 56, 20, false)
        };
        let fp = fingerprint(&tcp, &ip).unwrap();
        assert_eq!(fp.options.eol_pad, 2);
        assert_eq!(fp.timestamps, Some((0, 1)));
        assert_eq!(
            fp.signature(None).as_str(),
            "4:200+?:0:0:1024,15:ts,ws,eol+2:id-,seq-,ack+,uptr+,ts1-,ts2+,opt+,exws:0"
        );
        assert_eq!(fingerprint(&tcp[..10], &ip), Err(TcpError::Truncated));
    }

    #[test]
    fn not_a_syn() {
        let ip = IpFacts::new(IpVersion::V6, 64, 20, 40, false);
        let tcp = hex("0001 0002 0000 0000 0000 0000 5010 ffff 0000 0000");
        assert_eq!(fingerprint(&tcp, &ip), Err(TcpError::NotSyn));
        let tcp = hex("0001 0002 0000 0000 0000 0000 5003 ffff 0000 0000");
        assert_eq!(fingerprint(&tcp, &ip), Err(TcpError::NotSyn));
        let tcp = hex("0001 0002 0000 0000 0000 0000 4002 ffff 0000 0000");
        assert_eq!(fingerprint(&tcp, &ip), Err(TcpError::BadOffset));
    }
}
