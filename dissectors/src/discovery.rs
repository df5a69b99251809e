//! What devices announce about themselves on the local link: mDNS / DNS-SD (UDP 5353,
//! RFC 6762 and 6763) and the NetBIOS name service (UDP 137, RFC 1001/1002).
//!
//! - [`mdns`]: host names and their addresses, the DNS-SD services a device offers (PTR), where
//!   each instance runs (SRV) and its TXT key/value pairs (model, vendor, firmware, ...).
//! - [`netbios_ns`]: NetBIOS names with their suffix, group bit and address, from registrations,
//!   refreshes and positive query responses, and a node's whole name table and unit id (MAC)
//!   from node status (NBSTAT) responses.
//!
//! Datagram parsers like [`crate::names`] (whose DNS walking they share: one label walker
//! with compression pointers bounded by a hop limit and the 255-byte name limit, so pointer
//! loops end): each call takes one whole UDP payload and calls back once per record. Nothing
//! allocates: names are decoded into fixed stack buffers and records borrow from them or
//! from the payload, for the duration of the callback. Damage (a cut record, a name that
//! loops or runs past its record, lengths that disagree) ends the walk quietly; records
//! before it have been reported, the damaged one is not.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::names::{
    array, decode_netbios, dns_header, each_rr, netbios_text, read_name, skip_name, u16_at,
    walk_labels, Rr, CLASS_IN, TYPE_A, TYPE_AAAA, TYPE_NB,
};

const TYPE_PTR: u16 = 12;
const TYPE_TXT: u16 = 16;
const TYPE_SRV: u16 = 33;
const TYPE_NBSTAT: u16 = 33;

// ---------------------------------------------------------------------------------------------
// mDNS / DNS-SD

/// Most key/value pairs reported from one TXT record (a TXT record holds at most 65535 bytes,
/// so a few thousand one-byte strings; real ones carry a dozen or two).
pub const MAX_TXT_PAIRS: usize = 64;

/// One fact from an mDNS response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MdnsRecord<'a> {
    /// The record's time to live in seconds; 0 is a "goodbye" (RFC 6762 10.1): the record is
    /// being withdrawn.
    pub ttl: u32,
    pub kind: MdnsKind<'a>,
}

/// What an mDNS record says. Names are dotted text without the final dot (`Syeds-MacBook-Pro.local`);
/// an instance label is given as it was sent, spaces, dots and apostrophes included. The
/// service type is its two labels, `_companion-link._tcp`, without the `.local` domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MdnsKind<'a> {
    /// An A or AAAA record whose owner name ends in `.local`.
    Host { name: &'a str, addr: IpAddr },
    /// A PTR from a service type (or one of its subtypes, `_x._sub._http._tcp.local`) to one
    /// of its instances, `Instance Name._service._proto.local`.
    Instance { instance: &'a str, service: &'a str },
    /// A PTR from `_services._dns-sd._udp.local` to a service type (RFC 6763 9: the types
    /// offered on the link).
    ServiceType { service: &'a str },
    /// An SRV record of an instance: the host (`target`, e.g. `Syeds-MacBook-Pro.local`) and
    /// port it runs on.
    Srv {
        instance: &'a str,
        service: &'a str,
        target: &'a str,
        port: u16,
        priority: u16,
        weight: u16,
    },
    /// One key/value pair of an instance's TXT record (RFC 6763 6.3: `key=value`; a string
    /// without `=` is a boolean attribute, `value` `None`). Keys are printable ASCII as sent
    /// (compare them case-insensitively); values are raw bytes (often text, sometimes binary:
    /// [`crate::names::text`] gives them as `&str` when they are UTF-8). At most
    /// [`MAX_TXT_PAIRS`] per record.
    Txt {
        instance: &'a str,
        service: &'a str,
        key: &'a str,
        value: Option<&'a [u8]>,
    },
}

/// The records of an mDNS response (QR set, opcode 0), from its answer, authority and
/// additional sections (a responder puts a host's addresses and an instance's SRV and TXT in
/// the additional section of its PTR answers): A/AAAA of `.local` names, PTR (instances and
/// service types), SRV and TXT of service instances, class IN (the cache-flush bit is
/// ignored). Records of other shapes are skipped: an A record of a name outside `.local`, an
/// SRV or TXT whose owner is not `instance._service._tcp|_udp.local`, an SRV to the root
/// (service not offered), a reverse-mapping PTR, NSEC, ...
///
/// Queries give nothing, even those carrying known answers (RFC 6762 7.1) or a probe's
/// proposed records in the authority section (8.2): those are what the asker believes or
/// wants, not what a device announces; its own announcement follows as a response. The
/// rcode is not checked (RFC 6762 18.11: receivers ignore it).
pub fn mdns(payload: &[u8], f: &mut dyn FnMut(MdnsRecord<'_>)) {
    let Some((flags, counts)) = dns_header(payload) else {
        return;
    };
    if flags & 0x8000 == 0 || (flags >> 11) & 0xF != 0 {
        return;
    }
    let _ = each_rr(payload, counts, &mut |rr| {
        if rr.class == CLASS_IN {
            let _ = mdns_record(payload, &rr, f);
        }
    });
}

fn mdns_record(msg: &[u8], rr: &Rr<'_>, f: &mut dyn FnMut(MdnsRecord<'_>)) -> Option<()> {
    let owner = Name::read(msg, rr.name_at)?;
    let ttl = rr.ttl;
    let mut emit = |kind| f(MdnsRecord { ttl, kind });
    match rr.rtype {
        TYPE_A | TYPE_AAAA => {
            let addr = match rr.rtype {
                TYPE_A => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(rr.rdata).ok()?)),
                _ => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(rr.rdata).ok()?)),
            };
            if owner.count >= 2 && owner.last_is_local() {
                emit(MdnsKind::Host {
                    name: owner.text()?,
                    addr,
                });
            }
        }
        TYPE_PTR => {
            let target = Name::read_rdata(msg, rr, 0)?;
            if owner
                .text()?
                .eq_ignore_ascii_case("_services._dns-sd._udp.local")
            {
                emit(MdnsKind::ServiceType {
                    service: target.service_type()?,
                });
            } else {
                let (instance, service) = target.instance()?;
                // The owner is the service type the instance belongs to, or a subtype of it.
                if !owner.ends_with_service(service) {
                    return None;
                }
                emit(MdnsKind::Instance { instance, service });
            }
        }
        TYPE_SRV => {
            let (instance, service) = owner.instance()?;
            let target = Name::read_rdata(msg, rr, 6)?;
            if target.count == 0 {
                return None;
            }
            emit(MdnsKind::Srv {
                instance,
                service,
                target: target.text()?,
                priority: u16_at(rr.rdata, 0)?,
                weight: u16_at(rr.rdata, 2)?,
                port: u16_at(rr.rdata, 4)?,
            });
        }
        TYPE_TXT => {
            let (instance, service) = owner.instance()?;
            // Check the whole record first: a TXT whose string lengths disagree with its
            // length gives nothing.
            let mut rest = rr.rdata;
            while let Some((&len, tail)) = rest.split_first() {
                rest = tail.get(usize::from(len)..)?;
            }
            let mut rest = rr.rdata;
            let mut pairs = 0;
            while let Some((&len, tail)) = rest.split_first() {
                let (s, tail) = tail.split_at_checked(usize::from(len))?;
                rest = tail;
                let (key, value) = match s.iter().position(|&b| b == b'=') {
                    Some(eq) => (s.get(..eq)?, Some(s.get(eq + 1..)?)),
                    None => (s, None),
                };
                // RFC 6763 6.4: a key is at least one printable US-ASCII character other than
                // `=`; strings without one (empty, `=value`, binary) are ignored.
                if key.is_empty() || !key.iter().all(|b| (0x20..=0x7E).contains(b)) {
                    continue;
                }
                if pairs == MAX_TXT_PAIRS {
                    break;
                }
                pairs += 1;
                emit(MdnsKind::Txt {
                    instance,
                    service,
                    key: std::str::from_utf8(key).ok()?,
                    value,
                });
            }
        }
        _ => {}
    }
    Some(())
}

/// Labels whose positions [`Name`] keeps (an instance name has four).
const KEPT_LABELS: usize = 4;

/// A DNS name decoded into a stack buffer as dotted text, with the positions of its first
/// labels (so that an instance label holding a `.` is still one label) and of its last.
struct Name {
    buf: [u8; 256],
    len: usize,
    /// Labels in the name (0: the root).
    count: usize,
    /// (start, end) in `buf` of the first [`KEPT_LABELS`] labels.
    spans: [(usize, usize); KEPT_LABELS],
    /// (start, end) of the last label.
    last: (usize, usize),
}

impl Name {
    /// The name at `at`, following compression pointers. `None` when it is damaged (see
    /// [`walk_labels`]) or not UTF-8.
    fn read(msg: &[u8], at: usize) -> Option<Name> {
        let mut name = Name {
            buf: [0; 256],
            len: 0,
            count: 0,
            spans: [(0, 0); KEPT_LABELS],
            last: (0, 0),
        };
        walk_labels(msg, at, |label| {
            let mut n = name.len;
            if n > 0 {
                *name.buf.get_mut(n)? = b'.';
                n += 1;
            }
            let end = n + label.len();
            name.buf.get_mut(n..end)?.copy_from_slice(label);
            if let Some(span) = name.spans.get_mut(name.count) {
                *span = (n, end);
            }
            name.last = (n, end);
            name.count += 1;
            name.len = end;
            Some(())
        })?;
        std::str::from_utf8(name.buf.get(..name.len)?).ok()?;
        Some(name)
    }

    /// The name in `rr`'s data `skip` bytes in (PTR: 0, SRV: 6), which must end inside the
    /// data (a name running on into the next record is damage).
    fn read_rdata(msg: &[u8], rr: &Rr<'_>, skip: usize) -> Option<Name> {
        let at = rr.rdata_at.checked_add(skip)?;
        if skip_name(msg, at)? > rr.rdata_at.checked_add(rr.rdata.len())? {
            return None;
        }
        Name::read(msg, at)
    }

    /// The whole name as text (the root is empty).
    fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.buf.get(..self.len)?).ok()
    }

    fn slice(&self, (start, end): (usize, usize)) -> Option<&str> {
        self.text()?.get(start..end)
    }

    fn label(&self, i: usize) -> Option<&str> {
        self.slice(*self.spans.get(i)?)
    }

    fn last_is_local(&self) -> bool {
        self.slice(self.last)
            .is_some_and(|l| l.eq_ignore_ascii_case("local"))
    }

    /// `_service._tcp` (or `_udp`) when the name is `_service._tcp.local`.
    fn service_type(&self) -> Option<&str> {
        if self.count != 3 || !self.last_is_local() {
            return None;
        }
        self.service_at(0)
    }

    /// (instance label, `_service._proto`) when the name is `Instance._service._proto.local`.
    fn instance(&self) -> Option<(&str, &str)> {
        if self.count != 4 || !self.last_is_local() {
            return None;
        }
        let instance = self.label(0)?;
        (!instance.is_empty()).then_some(())?;
        Some((instance, self.service_at(1)?))
    }

    /// Labels `i` and `i + 1` as `_service._proto` when they have that shape.
    fn service_at(&self, i: usize) -> Option<&str> {
        let service = self.label(i)?;
        let proto = self.label(i + 1)?;
        let ok = service.len() > 1
            && service.starts_with('_')
            && (proto.eq_ignore_ascii_case("_tcp") || proto.eq_ignore_ascii_case("_udp"));
        if !ok {
            return None;
        }
        self.slice((self.spans.get(i)?.0, self.spans.get(i + 1)?.1))
    }

    /// Whether the name is `service.local` or ends in `.service.local` (ASCII case ignored).
    fn ends_with_service(&self, service: &str) -> bool {
        let Some(t) = self.text().map(str::as_bytes) else {
            return false;
        };
        let Some(head) = t.len().checked_sub(service.len() + ".local".len()) else {
            return false;
        };
        let mid = head + service.len();
        let (Some(svc), Some(local)) = (t.get(head..mid), t.get(mid..)) else {
            return false;
        };
        let boundary = match head.checked_sub(1) {
            None => true,
            Some(dot) => t.get(dot) == Some(&b'.'),
        };
        boundary
            && svc.eq_ignore_ascii_case(service.as_bytes())
            && local.eq_ignore_ascii_case(b".local")
    }
}

// ---------------------------------------------------------------------------------------------
// NetBIOS name service (RFC 1002)

/// Which NetBIOS name service message a record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NbnsKind {
    /// Name registration (opcode 5), request or positive response.
    Registration,
    /// Name refresh (opcode 8 or 9), request or positive response.
    Refresh,
    /// Positive name query response (opcode 0): the name and one of its addresses.
    QueryResponse,
    /// Node status response (NBSTAT): one entry of the responder's name table.
    NodeStatus,
}

/// One NetBIOS name fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NbnsRecord<'a> {
    pub kind: NbnsKind,
    /// The message's opcode (0 query, 5 registration, 8/9 refresh).
    pub opcode: u8,
    /// The message is a response.
    pub response: bool,
    /// The name, trailing spaces and NULs removed (`EDGETAP-HMI`, `PLANT`). Names that are not
    /// UTF-8 (an OEM code page) are skipped.
    pub name: &'a str,
    /// The 16th byte: the service the name stands for ([`suffix_name`]).
    pub suffix: u8,
    /// A group name (G bit of NB_FLAGS / NAME_FLAGS), not a unique one.
    pub group: bool,
    /// NB_FLAGS (registration, refresh, query) or NAME_FLAGS (node status) as sent.
    pub flags: u16,
    /// The address bound to the name (NB records); `None` for node status, whose addresses
    /// are the datagram's source.
    pub addr: Option<Ipv4Addr>,
    /// Node status: the unit id from the statistics, as sent (Windows: the adapter's MAC;
    /// Samba sends zeros, see [`NbnsRecord::mac`]).
    pub unit_id: Option<[u8; 6]>,
}

impl NbnsRecord<'_> {
    /// The unit id when it can be a MAC (not all zeros).
    pub fn mac(&self) -> Option<[u8; 6]> {
        self.unit_id.filter(|m| *m != [0; 6])
    }
}

/// What a NetBIOS suffix usually stands for (Microsoft's list; the common ones).
pub fn suffix_name(suffix: u8) -> Option<&'static str> {
    Some(match suffix {
        0x00 => "workstation",
        0x01 => "messenger (master browser when group __MSBROWSE__)",
        0x03 => "messenger",
        0x06 => "ras server",
        0x1B => "domain master browser",
        0x1C => "domain controllers",
        0x1D => "master browser",
        0x1E => "browser election",
        0x1F => "netdde",
        0x20 => "file server",
        0x21 => "ras client",
        0xBE => "network monitor agent",
        0xBF => "network monitor application",
        _ => return None,
    })
}

/// The names of a NetBIOS name service packet: from registrations and refreshes (opcodes 5,
/// 8, 9; the name and address in the additional record's NB data, requests and positive
/// responses alike), from positive name query responses (one record per address), and from
/// node status responses (every entry of the name table, with the unit id). Queries, releases,
/// negative responses (rcode not 0), WACK and redirects give nothing. One NB record may carry
/// several addresses: each gives a record. No allocation.
pub fn netbios_ns(payload: &[u8], f: &mut dyn FnMut(NbnsRecord<'_>)) {
    let Some((flags, counts)) = dns_header(payload) else {
        return;
    };
    let response = flags & 0x8000 != 0;
    let opcode = ((flags >> 11) & 0xF) as u8;
    let rcode = flags & 0xF;
    let kind = match opcode {
        0 if response => NbnsKind::QueryResponse,
        5 => NbnsKind::Registration,
        8 | 9 => NbnsKind::Refresh,
        _ => return,
    };
    if rcode != 0 {
        return;
    }
    let mut buf = [0u8; 256];
    let _ = each_rr(payload, counts, &mut |rr| {
        if rr.class != CLASS_IN {
            return;
        }
        match rr.rtype {
            TYPE_NB => {
                let Some(encoded) = read_name(payload, rr.name_at, &mut buf) else {
                    return;
                };
                let mut raw = [0u8; 16];
                let Some((name, suffix)) = decode_netbios(encoded, &mut raw) else {
                    return;
                };
                for entry in rr.rdata.chunks_exact(6) {
                    let (Some(nb_flags), Some(addr)) = (u16_at(entry, 0), array::<4>(entry, 2))
                    else {
                        continue;
                    };
                    f(NbnsRecord {
                        kind,
                        opcode,
                        response,
                        name,
                        suffix,
                        group: nb_flags & 0x8000 != 0,
                        flags: nb_flags,
                        addr: Some(Ipv4Addr::from(addr)),
                        unit_id: None,
                    });
                }
            }
            TYPE_NBSTAT if kind == NbnsKind::QueryResponse => node_status(rr.rdata, f),
            _ => {}
        }
    });
}

/// A node status response's data (RFC 1002 4.2.18): the number of names, 18 bytes per name
/// (15 name bytes, suffix, NAME_FLAGS), then the statistics, which open with the unit id.
/// A table longer than the data gives nothing; statistics too short for a unit id give the
/// names without one.
fn node_status(rdata: &[u8], f: &mut dyn FnMut(NbnsRecord<'_>)) {
    let Some((&count, rest)) = rdata.split_first() else {
        return;
    };
    let Some((table, stats)) = rest.split_at_checked(usize::from(count) * 18) else {
        return;
    };
    let unit_id = array::<6>(stats, 0);
    for entry in table.chunks_exact(18) {
        let (Some(raw), Some(&suffix), Some(flags)) =
            (entry.get(..15), entry.get(15), u16_at(entry, 16))
        else {
            continue;
        };
        let Some(name) = netbios_text(raw).filter(|n| !n.is_empty()) else {
            continue;
        };
        f(NbnsRecord {
            kind: NbnsKind::NodeStatus,
            opcode: 0,
            response: true,
            name,
            suffix,
            group: flags & 0x8000 != 0,
            flags,
            addr: None,
            unit_id,
        });
    }
}
