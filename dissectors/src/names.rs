//! Device names from the chatter every network carries: DHCP (UDP 67/68), DNS (UDP 53),
//! mDNS (UDP 5353) and NetBIOS name service (UDP 137).
//!
//! Datagram parsers, not [`crate::Dissector`]s: each call takes one whole UDP payload and
//! returns borrowed views (DHCP) or calls back once per name-to-address fact (DNS, NetBIOS).
//! Nothing allocates; DNS names are decoded into a caller's or a stack `[u8; 256]`.
//!
//! Written here rather than taken from a crate: the maintained DNS crates (`simple-dns`,
//! `hickory-proto`) build a `Vec` per section (and `simple-dns` one per name), `dns-parser`
//! also collects sections into `Vec`s and is unmaintained; what is needed here is a
//! hundred-odd lines of bounds-checked walking.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

// ---------------------------------------------------------------------------------------------
// Shared helpers

pub(crate) fn array<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    array(b, at).map(u16::from_be_bytes)
}

fn ipv4_at(b: &[u8], at: usize) -> Option<Ipv4Addr> {
    array::<4>(b, at).map(Ipv4Addr::from)
}

// ---------------------------------------------------------------------------------------------
// DHCP / BOOTP (RFC 2131, 2132)

/// BOOTP fixed header length (through `file`).
const BOOTP_LEN: usize = 236;
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// One DHCP (or plain BOOTP) message. Text options are the raw bytes sent (hostile, maybe
/// not UTF-8), with trailing NULs removed; [`text`] gives them as `&str` when they are UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dhcp<'a> {
    /// 1 BOOTREQUEST (client to server), 2 BOOTREPLY.
    pub op: u8,
    /// Hardware type (1 = Ethernet).
    pub htype: u8,
    pub xid: u32,
    /// Client hardware address, when it is an Ethernet MAC (htype 1, hlen 6).
    pub chaddr: Option<[u8; 6]>,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    /// Whether the DHCP magic cookie was there. Without it the message is plain BOOTP (still
    /// common on industrial networks) and carries no options.
    pub cookie: bool,
    /// Option 53: 1 DISCOVER, 2 OFFER, 3 REQUEST, 4 DECLINE, 5 ACK, 6 NAK, 7 RELEASE,
    /// 8 INFORM, ... ([`Dhcp::message_type_name`]).
    pub message_type: Option<u8>,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 54.
    pub server_id: Option<Ipv4Addr>,
    /// Option 12.
    pub hostname: Option<&'a [u8]>,
    /// Option 60 (e.g. `MSFT 5.0`, `udhcp 1.36.1`, `dhcpcd-9.4.1:Linux-...`).
    pub vendor_class: Option<&'a [u8]>,
    /// Option 61: type byte then identifier (type 1: a MAC).
    pub client_id: Option<&'a [u8]>,
    /// An option ran past the end of the datagram (options before it were kept).
    pub options_truncated: bool,
}

impl Dhcp<'_> {
    /// The message type's RFC 2132 / 4388 name, lower case.
    pub fn message_type_name(&self) -> Option<&'static str> {
        Some(match self.message_type? {
            1 => "discover",
            2 => "offer",
            3 => "request",
            4 => "decline",
            5 => "ack",
            6 => "nak",
            7 => "release",
            8 => "inform",
            9 => "forcerenew",
            10 => "leasequery",
            11 => "leaseunassigned",
            12 => "leaseunknown",
            13 => "leaseactive",
            _ => return None,
        })
    }
}

/// Bytes as text when they are UTF-8.
pub fn text(b: &[u8]) -> Option<&str> {
    std::str::from_utf8(b).ok()
}

fn trim_nul(mut b: &[u8]) -> &[u8] {
    while let Some((&0, rest)) = b.split_last() {
        b = rest;
    }
    b
}

/// Parse a UDP payload seen on port 67 or 68. `None` when it is not a BOOTP message (too
/// short, `op` not 1 or 2, `hlen` over 16). Options are walked with bounds checks: pad and
/// end are honoured, the first instance of an option wins, an option of the wrong length is
/// ignored, overloading (option 52) and the parameter request list are not followed.
pub fn dhcp(payload: &[u8]) -> Option<Dhcp<'_>> {
    let fixed = payload.get(..BOOTP_LEN)?;
    let [op, htype, hlen, _hops] = array(fixed, 0)?;
    if !(1..=2).contains(&op) || hlen > 16 {
        return None;
    }
    let chaddr = if htype == 1 && hlen == 6 {
        array(fixed, 28)
    } else {
        None
    };
    let mut d = Dhcp {
        op,
        htype,
        xid: u32::from_be_bytes(array(fixed, 4)?),
        chaddr,
        ciaddr: ipv4_at(fixed, 12)?,
        yiaddr: ipv4_at(fixed, 16)?,
        siaddr: ipv4_at(fixed, 20)?,
        giaddr: ipv4_at(fixed, 24)?,
        cookie: false,
        message_type: None,
        requested_ip: None,
        server_id: None,
        hostname: None,
        vendor_class: None,
        client_id: None,
        options_truncated: false,
    };
    let Some(rest) = payload.get(BOOTP_LEN..) else {
        return Some(d);
    };
    let Some((cookie, mut opts)) = rest.split_first_chunk::<4>() else {
        return Some(d);
    };
    if *cookie != MAGIC_COOKIE {
        return Some(d);
    }
    d.cookie = true;
    while let Some((&code, tail)) = opts.split_first() {
        match code {
            0 => {
                opts = tail;
                continue;
            }
            255 => break,
            _ => {}
        }
        let Some((val, tail)) = tail
            .split_first()
            .and_then(|(&len, tail)| tail.split_at_checked(usize::from(len)))
        else {
            d.options_truncated = true;
            break;
        };
        opts = tail;
        match code {
            53 => set(
                &mut d.message_type,
                <[u8; 1]>::try_from(val).ok().map(|[t]| t),
            ),
            50 => set(&mut d.requested_ip, ip4(val)),
            54 => set(&mut d.server_id, ip4(val)),
            12 => set(&mut d.hostname, nonempty(trim_nul(val))),
            60 => set(&mut d.vendor_class, nonempty(trim_nul(val))),
            61 => set(&mut d.client_id, nonempty(val)),
            _ => {}
        }
    }
    Some(d)
}

/// Keep the first value seen.
fn set<T>(slot: &mut Option<T>, v: Option<T>) {
    if slot.is_none() {
        *slot = v;
    }
}

fn ip4(val: &[u8]) -> Option<Ipv4Addr> {
    <[u8; 4]>::try_from(val).ok().map(Ipv4Addr::from)
}

fn nonempty(b: &[u8]) -> Option<&[u8]> {
    (!b.is_empty()).then_some(b)
}

// ---------------------------------------------------------------------------------------------
// DNS and mDNS (RFC 1035, 6762)

const DNS_HEADER: usize = 12;
/// Compression pointers followed per name. Real names need one or two; the bound (with the
/// 255-byte name limit) keeps pointer loops from costing more than a few hundred steps.
const MAX_POINTERS: usize = 32;
/// Longest name on the wire, length bytes and the root's zero included (RFC 1035 3.1).
const MAX_WIRE_NAME: usize = 255;
pub(crate) const TYPE_A: u16 = 1;
pub(crate) const TYPE_AAAA: u16 = 28;
pub(crate) const TYPE_NB: u16 = 32;
pub(crate) const CLASS_IN: u16 = 1;

/// Decode the name at `at` in `msg` as dotted text into `buf` (the root name is `.`),
/// following compression pointers. `None` when the name is cut short, too long, loops, uses
/// a reserved label type, or is not UTF-8. Label bytes are copied as they are (a label may
/// hold a `.`; mDNS instance names often hold spaces).
pub(crate) fn read_name<'b>(msg: &[u8], at: usize, buf: &'b mut [u8; 256]) -> Option<&'b str> {
    let mut n = name_bytes(msg, at, buf)?;
    if n == 0 {
        *buf.get_mut(0)? = b'.';
        n = 1;
    }
    std::str::from_utf8(buf.get(..n)?).ok()
}

/// Decode the name at `at` into `buf` as dotted bytes (labels copied as they are), following
/// compression pointers; its length (0 for the root). `None` as for [`read_name`].
fn name_bytes(msg: &[u8], at: usize, buf: &mut [u8; 256]) -> Option<usize> {
    let mut n = 0;
    walk_labels(msg, at, |label| {
        if n > 0 {
            *buf.get_mut(n)? = b'.';
            n += 1;
        }
        buf.get_mut(n..n + label.len())?.copy_from_slice(label);
        n += label.len();
        Some(())
    })?;
    Some(n)
}

/// Call `f` on each label of the name at `at` in `msg`, in order, following compression
/// pointers (at most [`MAX_POINTERS`] of them, so a pointer loop ends). `None` when the name is
/// cut short, longer than 255 bytes on the wire, uses a reserved label type, or `f` returns
/// `None`; `f` may have seen some labels by then. The one walker behind every DNS name read
/// here (`names` and [`crate::discovery`]).
pub(crate) fn walk_labels<'m>(
    msg: &'m [u8],
    mut at: usize,
    mut f: impl FnMut(&'m [u8]) -> Option<()>,
) -> Option<()> {
    let mut wire = 1; // the root's zero byte
    let mut pointers = 0;
    loop {
        let len = *msg.get(at)?;
        match len & 0xC0 {
            0x00 if len == 0 => return Some(()),
            0x00 => {
                let len = usize::from(len);
                wire += 1 + len;
                if wire > MAX_WIRE_NAME {
                    return None;
                }
                f(msg.get(at + 1..at + 1 + len)?)?;
                at += 1 + len;
            }
            0xC0 => {
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return None;
                }
                at = usize::from(u16_at(msg, at)? & 0x3FFF);
            }
            _ => return None,
        }
    }
}

/// The offset just past the name at `at` (a pointer ends it), without following pointers.
pub(crate) fn skip_name(msg: &[u8], mut at: usize) -> Option<usize> {
    let mut wire = 1;
    loop {
        let len = *msg.get(at)?;
        match len & 0xC0 {
            0x00 if len == 0 => return Some(at + 1),
            0x00 => {
                wire += 1 + usize::from(len);
                if wire > MAX_WIRE_NAME {
                    return None;
                }
                at += 1 + usize::from(len);
            }
            0xC0 => return msg.get(at + 1).map(|_| at + 2),
            _ => return None,
        }
    }
}

/// A DNS-shaped header: (flags, counts of question, answer, authority, additional).
pub(crate) fn dns_header(msg: &[u8]) -> Option<(u16, [u16; 4])> {
    let flags = u16_at(msg, 2)?;
    let counts = [
        u16_at(msg, 4)?,
        u16_at(msg, 6)?,
        u16_at(msg, 8)?,
        u16_at(msg, 10)?,
    ];
    Some((flags, counts))
}

/// One resource record: where its owner name starts, type, class (mDNS's cache-flush bit
/// cleared), TTL, and data (with its offset in the message, for names compressed inside it).
pub(crate) struct Rr<'a> {
    pub(crate) name_at: usize,
    pub(crate) rtype: u16,
    pub(crate) class: u16,
    pub(crate) ttl: u32,
    pub(crate) rdata_at: usize,
    pub(crate) rdata: &'a [u8],
}

/// Walk the questions, then call `f` on each resource record of all three sections, up to
/// the first damage.
pub(crate) fn each_rr<'a>(
    msg: &'a [u8],
    counts: [u16; 4],
    f: &mut dyn FnMut(Rr<'a>),
) -> Option<()> {
    let [qd, an, ns, ar] = counts;
    let mut at = DNS_HEADER;
    for _ in 0..qd {
        at = skip_name(msg, at)? + 4;
    }
    for _ in 0..u32::from(an) + u32::from(ns) + u32::from(ar) {
        let name_at = at;
        at = skip_name(msg, at)?;
        let rtype = u16_at(msg, at)?;
        let class = u16_at(msg, at + 2)? & 0x7FFF;
        let ttl = u32::from_be_bytes(array(msg, at + 4)?);
        let rdlen = usize::from(u16_at(msg, at + 8)?);
        let rdata_at = at + 10;
        let rdata = msg.get(rdata_at..rdata_at + rdlen)?;
        at = rdata_at + rdlen;
        f(Rr {
            name_at,
            rtype,
            class,
            ttl,
            rdata_at,
            rdata,
        });
    }
    Some(())
}

/// Every A and AAAA record of a DNS or mDNS response (QR set, standard query opcode), from the
/// answer, authority and additional sections (mDNS puts a host's addresses in the additional
/// section of its PTR/SRV answers), as (owner name, address). Other types and classes are
/// skipped, as are records whose owner name does not decode; the walk stops at the first
/// damage (records before it are reported). Queries (including mDNS known-answer lists) give
/// nothing. No allocation: names are decoded into a stack buffer.
pub fn dns_answers(payload: &[u8], f: &mut dyn FnMut(&str, IpAddr)) {
    let Some((flags, counts)) = dns_header(payload) else {
        return;
    };
    if flags & 0x8000 == 0 || (flags >> 11) & 0xF != 0 {
        return;
    }
    let mut buf = [0u8; 256];
    let _ = each_rr(payload, counts, &mut |rr| {
        if rr.class != CLASS_IN {
            return;
        }
        let ip = match rr.rtype {
            TYPE_A => <[u8; 4]>::try_from(rr.rdata).map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            TYPE_AAAA => <[u8; 16]>::try_from(rr.rdata).map(|a| IpAddr::V6(Ipv6Addr::from(a))),
            _ => return,
        };
        if let (Ok(ip), Some(name)) = (ip, read_name(payload, rr.name_at, &mut buf)) {
            f(name, ip);
        }
    });
}

/// The name in the first question of a DNS or mDNS message (query or response), decoded into
/// `buf`.
pub fn dns_query_name<'b>(payload: &[u8], buf: &'b mut [u8; 256]) -> Option<&'b str> {
    let (_, [qd, ..]) = dns_header(payload)?;
    if qd == 0 {
        return None;
    }
    read_name(payload, DNS_HEADER, buf)
}

/// The first question of a DNS message, with the header bits a tunnel detector reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsQuestion<'b> {
    pub id: u16,
    /// QR set: a response.
    pub response: bool,
    /// Standard query (0), inverse (1), status (2), notify (4), update (5).
    pub opcode: u8,
    /// 0 no error, 3 NXDOMAIN, ...
    pub rcode: u8,
    pub qtype: u16,
    /// Answer records (responses).
    pub answers: u16,
    /// The name as dotted bytes (labels are copied as they are: a tunnel's labels need not be
    /// text). The root is empty.
    pub name: &'b [u8],
}

/// The first question of a DNS message (query or response), its name decoded into `buf`
/// without allocating. `None` when the header or the question is cut short, the name loops or
/// is longer than DNS allows.
pub fn dns_question<'b>(payload: &[u8], buf: &'b mut [u8; 256]) -> Option<DnsQuestion<'b>> {
    let (flags, [qd, an, ..]) = dns_header(payload)?;
    if qd == 0 {
        return None;
    }
    let end = skip_name(payload, DNS_HEADER)?;
    let qtype = u16_at(payload, end)?;
    let n = name_bytes(payload, DNS_HEADER, buf)?;
    Some(DnsQuestion {
        id: u16_at(payload, 0)?,
        response: flags & 0x8000 != 0,
        opcode: ((flags >> 11) & 0xF) as u8,
        rcode: (flags & 0xF) as u8,
        qtype,
        answers: an,
        name: buf.get(..n)?,
    })
}

// ---------------------------------------------------------------------------------------------
// NetBIOS name service (RFC 1002), UDP 137

/// One NetBIOS name bound to an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NbName<'b> {
    /// The name, trailing spaces removed (e.g. `PLC-HMI-01`, `WORKGROUP`).
    pub name: &'b str,
    /// The 16th byte: 0x00 workstation, 0x20 file server, 0x1B/0x1D/0x1E domain roles, ...
    pub suffix: u8,
    /// A group name (NB_FLAGS G bit) rather than a unique one.
    pub group: bool,
    pub addr: Ipv4Addr,
    /// 0 query (response), 5 registration, 8/9 refresh.
    pub opcode: u8,
}

/// Every NB record (name, address) of a NetBIOS name service packet that binds a name: name
/// registration and refresh requests, and positive query and registration responses. Releases,
/// negative responses, node status and WACK give nothing. The address-bearing records of
/// [`crate::discovery::netbios_ns`] (which also reads node status responses).
pub fn netbios_names(payload: &[u8], f: &mut dyn FnMut(NbName<'_>)) {
    crate::discovery::netbios_ns(payload, &mut |r| {
        if let Some(addr) = r.addr {
            f(NbName {
                name: r.name,
                suffix: r.suffix,
                group: r.group,
                addr,
                opcode: r.opcode,
            });
        }
    });
}

/// First-level decoding (RFC 1001 14.1): the first label, 32 letters `A`..`P`, two per byte.
/// Returns the name (15 bytes, trailing spaces and NULs removed, UTF-8) and the suffix byte.
pub(crate) fn decode_netbios<'r>(encoded: &str, raw: &'r mut [u8; 16]) -> Option<(&'r str, u8)> {
    let label = encoded.split('.').next()?.as_bytes();
    if label.len() != 32 {
        return None;
    }
    for (out, pair) in raw.iter_mut().zip(label.chunks_exact(2)) {
        let nibble = |c: u8| (b'A'..=b'P').contains(&c).then(|| c - b'A');
        let [hi, lo] = <[u8; 2]>::try_from(pair).ok()?;
        *out = (nibble(hi)? << 4) | nibble(lo)?;
    }
    let (&suffix, name) = raw.split_last()?;
    Some((netbios_text(name)?, suffix))
}

/// The 15 name bytes of a NetBIOS name as text: trailing spaces and NULs removed, `None` when
/// not UTF-8.
pub(crate) fn netbios_text(mut name: &[u8]) -> Option<&str> {
    while let Some((&(b' ' | 0), rest)) = name.split_last() {
        name = rest;
    }
    std::str::from_utf8(name).ok()
}
