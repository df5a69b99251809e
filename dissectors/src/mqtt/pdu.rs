//! One MQTT control packet (MQTT 3.1, 3.1.1 section 2-3, 5.0 section 2-3): the borrowed view and
//! its parser.
//!
//! [`parse`] takes one whole packet (or the start of an oversize one) and the protocol level
//! known for the connection, and fills in as many fields as the bytes allow: a packet that goes
//! wrong half way still reports what came before the damage, as Wireshark does.

use super::properties::{PropError, Properties};
use super::wire::{text, varint, Cur, Text, VarInt};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// Control packet types (the fixed header's high nibble).
pub mod packet_type {
    pub const RESERVED: u8 = 0;
    pub const CONNECT: u8 = 1;
    pub const CONNACK: u8 = 2;
    pub const PUBLISH: u8 = 3;
    pub const PUBACK: u8 = 4;
    pub const PUBREC: u8 = 5;
    pub const PUBREL: u8 = 6;
    pub const PUBCOMP: u8 = 7;
    pub const SUBSCRIBE: u8 = 8;
    pub const SUBACK: u8 = 9;
    pub const UNSUBSCRIBE: u8 = 10;
    pub const UNSUBACK: u8 = 11;
    pub const PINGREQ: u8 = 12;
    pub const PINGRESP: u8 = 13;
    pub const DISCONNECT: u8 = 14;
    /// MQTT 5.0 only; reserved in 3.1 and 3.1.1.
    pub const AUTH: u8 = 15;
}
use packet_type as pt;

/// One MQTT control packet. Fields a packet does not carry are left out of the JSON.
#[derive(Debug, Default, Serialize)]
pub struct Pdu<'a> {
    /// Control packet type: 1 CONNECT, 2 CONNACK, 3 PUBLISH, 4 PUBACK, 5 PUBREC, 6 PUBREL,
    /// 7 PUBCOMP, 8 SUBSCRIBE, 9 SUBACK, 10 UNSUBSCRIBE, 11 UNSUBACK, 12 PINGREQ, 13 PINGRESP,
    /// 14 DISCONNECT, 15 AUTH; 0 is reserved (reported as it is, with an event).
    pub packet_type: u8,
    /// CONNECT: protocol name, `MQTT` (3.1.1, 5.0) or `MQIsdp` (3.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_name: Option<Text<'a>>,
    /// CONNECT: protocol level as sent: 3 (3.1), 4 (3.1.1), 5 (5.0); bridges add 0x80.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_level: Option<u8>,
    /// CONNECT: Clean Session (3.x) / Clean Start (5.0) flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean_session: Option<bool>,
    /// CONNECT: keep-alive interval in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<u16>,
    /// CONNECT: client identifier (present, possibly empty, in every CONNECT).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<Text<'a>>,
    /// CONNECT with the Will flag: the will topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will_topic: Option<Text<'a>>,
    /// CONNECT with the Will flag: the will QoS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will_qos: Option<u8>,
    /// CONNECT with the Will flag: the will retain flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will_retain: Option<bool>,
    /// CONNECT with the Will flag: size of the will message in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will_payload_len: Option<u16>,
    /// CONNECT: user name, when the User Name flag is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<Text<'a>>,
    /// CONNECT: length of the password when the Password flag is set. The password itself is
    /// never kept or shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_len: Option<u16>,
    /// CONNACK (3.1.1, 5.0): Session Present flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_present: Option<bool>,
    /// CONNACK (3.1, 3.1.1): return code (0 accepted, 1 bad protocol version, 2 identifier
    /// rejected, 3 server unavailable, 4 bad user name or password, 5 not authorised).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_code: Option<u8>,
    /// MQTT 5.0 reason code (CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH); 0 when
    /// the packet omits it (which means success / normal disconnection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<u8>,
    /// SUBACK: granted QoS / return codes (3.x) or reason codes (5.0), one per filter;
    /// UNSUBACK (5.0): reason codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_codes: Option<Codes<'a>>,
    /// PUBLISH: topic name (resolved through the topic alias table when the packet carries only
    /// an alias). SUBSCRIBE / UNSUBSCRIBE: the first non-empty topic filter (as Wireshark's
    /// `mqtt.topic`); all filters are in `topics`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<Text<'a>>,
    /// PUBLISH (5.0): the Topic Alias property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_alias: Option<u16>,
    /// PUBLISH: QoS level from the fixed header (3 is invalid but reported as sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<u8>,
    /// PUBLISH: DUP flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dup: Option<bool>,
    /// PUBLISH: RETAIN flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retain: Option<bool>,
    /// Packet identifier (PUBLISH with QoS > 0, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE,
    /// SUBACK, UNSUBSCRIBE, UNSUBACK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet_id: Option<u16>,
    /// PUBLISH: application message size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_len: Option<u32>,
    /// SUBSCRIBE: `[{"filter", "qos", ...options}]`; UNSUBSCRIBE: `["filter", ...]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topics: Option<TopicFilters<'a>>,
    /// MQTT 5.0 properties of the packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Properties<'a>>,
    /// The packet was larger than the dissector buffers: only its start was parsed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// A list of one-byte codes (SUBACK, UNSUBACK), serialised as an array of numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Codes<'a>(pub &'a [u8]);

impl Serialize for Codes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for c in self.0 {
            seq.serialize_element(c)?;
        }
        seq.end()
    }
}

/// The topic filters of a SUBSCRIBE (with options) or UNSUBSCRIBE, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopicFilters<'a> {
    raw: &'a [u8],
    /// SUBSCRIBE: each filter is followed by an options byte.
    with_options: bool,
    /// Options bytes are MQTT 5.0 Subscription Options.
    v5: bool,
}

/// One topic filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicFilter<'a> {
    pub filter: Text<'a>,
    /// SUBSCRIBE: the options byte (3.x: requested QoS; 5.0: Subscription Options).
    pub options: Option<u8>,
}

impl<'a> TopicFilters<'a> {
    /// The filters in order (stops at the first incomplete entry).
    pub fn iter(&self) -> impl Iterator<Item = TopicFilter<'a>> + 'a {
        let mut cur = Cur::new(self.raw);
        let with_options = self.with_options;
        std::iter::from_fn(move || {
            let f = cur.bin()?;
            let options = if with_options { Some(cur.u8()?) } else { None };
            let mut bad = false;
            Some(TopicFilter {
                filter: text(f, &mut bad),
                options,
            })
        })
    }

    /// Whether the options bytes are MQTT 5.0 Subscription Options.
    pub fn is_v5(&self) -> bool {
        self.v5
    }
}

impl Serialize for TopicFilters<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for f in self.iter() {
            match f.options {
                None => seq.serialize_element(&f.filter)?,
                Some(o) => seq.serialize_element(&SubEntry {
                    filter: &f.filter,
                    options: o,
                    v5: self.v5,
                })?,
            }
        }
        seq.end()
    }
}

struct SubEntry<'x> {
    filter: &'x Text<'x>,
    options: u8,
    v5: bool,
}

impl Serialize for SubEntry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("filter", self.filter)?;
        m.serialize_entry("qos", &(self.options & 3))?;
        if self.v5 {
            m.serialize_entry("no_local", &(self.options & 4 != 0))?;
            m.serialize_entry("retain_as_published", &(self.options & 8 != 0))?;
            m.serialize_entry("retain_handling", &((self.options >> 4) & 3))?;
        }
        m.end()
    }
}

/// Anomalies found while parsing one packet (a bit set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Anomalies(u16);

impl Anomalies {
    /// The packet does not parse (fields missing, lengths inconsistent).
    pub const MALFORMED: u16 = 1 << 0;
    /// An MQTT 5.0 property list does not parse, or repeats a property.
    pub const INVALID_PROPERTIES: u16 = 1 << 1;
    /// PUBLISH (or will) QoS 3.
    pub const INVALID_QOS: u16 = 1 << 2;
    /// Packet type 0, or 15 outside MQTT 5.0.
    pub const UNASSIGNED_TYPE: u16 = 1 << 3;
    /// Reserved fixed-header or CONNECT flags set.
    pub const INVALID_FLAGS: u16 = 1 << 4;
    /// A string is not valid UTF-8.
    pub const INVALID_UTF8: u16 = 1 << 5;
    /// CONNECT with an unknown protocol name or level.
    pub const INVALID_PROTOCOL: u16 = 1 << 6;

    pub fn has(self, bit: u16) -> bool {
        self.0 & bit != 0
    }
    fn set(&mut self, bit: u16) {
        self.0 |= bit;
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A parsed packet and what parsing learned.
#[derive(Debug, Default)]
pub struct Parsed<'a> {
    pub pdu: Pdu<'a>,
    pub anomalies: Anomalies,
    /// The packet was read as MQTT 5.0.
    pub v5: bool,
    /// The connection's level was unknown and this packet can only be MQTT 5.0.
    pub implies_v5: bool,
}

/// How the fixed header starts a packet: type, flags, remaining length and header size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedHeader {
    pub packet_type: u8,
    pub flags: u8,
    pub remaining: u32,
    pub header_len: usize,
}

/// Outcome of reading a fixed header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    Ok(FixedHeader),
    NeedMore,
    /// Remaining Length longer than four bytes.
    Invalid,
}

pub fn fixed_header(data: &[u8]) -> Header {
    let Some((&b0, rest)) = data.split_first() else {
        return Header::NeedMore;
    };
    match varint(rest) {
        VarInt::Value(remaining, n) => Header::Ok(FixedHeader {
            packet_type: b0 >> 4,
            flags: b0 & 0x0f,
            remaining,
            header_len: 1 + n,
        }),
        VarInt::Incomplete => Header::NeedMore,
        VarInt::TooLong => Header::Invalid,
    }
}

/// The fixed-header flags MQTT 3.1.1 and 5.0 require for a (non-PUBLISH) packet type.
pub fn required_flags(ptype: u8) -> u8 {
    match ptype {
        pt::PUBREL | pt::SUBSCRIBE | pt::UNSUBSCRIBE => 0x2,
        _ => 0,
    }
}

/// Why a body stopped parsing.
enum Stop {
    /// Bytes ran out or a length was inconsistent.
    Malformed,
    /// A property list did not parse.
    Props,
}

impl From<PropError> for Stop {
    fn from(_: PropError) -> Stop {
        Stop::Props
    }
}

type Res = Result<(), Stop>;

trait Need<T> {
    fn need(self) -> Result<T, Stop>;
}
impl<T> Need<T> for Option<T> {
    fn need(self) -> Result<T, Stop> {
        self.ok_or(Stop::Malformed)
    }
}

/// Parse one packet. `frame` holds the fixed header and the body, or only the start of an
/// oversize packet (then `pdu.truncated` is set and running out of bytes is not an anomaly).
/// `level` is the connection's protocol level (0 when unknown).
pub fn parse(frame: &[u8], level: u8) -> Parsed<'_> {
    let mut out = Parsed::default();
    let Header::Ok(h) = fixed_header(frame) else {
        out.anomalies.set(Anomalies::MALFORMED);
        return out;
    };
    let body_all = frame.get(h.header_len..).unwrap_or_default();
    let rl = usize::try_from(h.remaining).unwrap_or(usize::MAX);
    let truncated = body_all.len() < rl;
    let body = body_all.get(..rl).unwrap_or(body_all);
    out.pdu.packet_type = h.packet_type;
    out.pdu.truncated = truncated;
    let known = match level & 0x7f {
        0 => None,
        5 => Some(true),
        _ => Some(false),
    };
    let mut p = Parser {
        out,
        h,
        cur: Cur::new(body),
        known,
        level: level & 0x7f,
        bad_utf8: false,
        body_len: body.len(),
    };
    let res = p.body();
    let mut out = p.out;
    match res {
        Ok(()) => {}
        Err(_) if truncated => {}
        Err(Stop::Malformed) => out.anomalies.set(Anomalies::MALFORMED),
        Err(Stop::Props) => out.anomalies.set(Anomalies::INVALID_PROPERTIES),
    }
    if p.bad_utf8 {
        out.anomalies.set(Anomalies::INVALID_UTF8);
    }
    out
}

struct Parser<'a> {
    out: Parsed<'a>,
    h: FixedHeader,
    cur: Cur<'a>,
    /// Some(true) MQTT 5.0, Some(false) 3.x, None unknown.
    known: Option<bool>,
    /// The connection's protocol level (0 unknown).
    level: u8,
    bad_utf8: bool,
    /// Body bytes at hand (fewer than the remaining length for a truncated packet).
    body_len: usize,
}

impl<'a> Parser<'a> {
    fn string(&mut self) -> Result<Text<'a>, Stop> {
        let b = self.cur.bin().need()?;
        Ok(text(b, &mut self.bad_utf8))
    }

    /// Decide 5.0 or not for a packet whose layout tells when the level is unknown.
    fn v5_if(&mut self, only_v5_when_unknown: bool) -> bool {
        match self.known {
            Some(v) => v,
            None => {
                self.out.implies_v5 = only_v5_when_unknown;
                only_v5_when_unknown
            }
        }
    }

    fn props(&mut self) -> Res {
        self.out.v5 = true;
        self.out.pdu.properties = Some(self.checked_props()?);
        Ok(())
    }

    fn checked_props(&mut self) -> Result<Properties<'a>, Stop> {
        let (p, check) = Properties::parse_checked(&mut self.cur)?;
        if check.duplicate {
            self.out.anomalies.set(Anomalies::INVALID_PROPERTIES);
        }
        self.bad_utf8 |= check.bad_utf8;
        Ok(p)
    }

    fn body(&mut self) -> Res {
        let t = self.h.packet_type;
        let flags = self.h.flags;
        if t != pt::PUBLISH && flags != required_flags(t) {
            // MQTT 3.1 put DUP/QoS in these headers too; the rest must be zero.
            let v31_ok =
                matches!(t, pt::PUBREL | pt::SUBSCRIBE | pt::UNSUBSCRIBE) && flags & 0x1 == 0;
            if !v31_ok {
                self.out.anomalies.set(Anomalies::INVALID_FLAGS);
            }
        }
        let rl = self.h.remaining;
        match t {
            pt::CONNECT => self.connect(),
            pt::CONNACK => self.connack(),
            pt::PUBLISH => self.publish(),
            pt::PUBACK | pt::PUBREC | pt::PUBREL | pt::PUBCOMP => {
                self.out.pdu.packet_id = Some(self.cur.u16().need()?);
                if self.v5_if(rl > 2) {
                    self.out.v5 = true;
                    self.out.pdu.reason_code = Some(self.cur.u8().unwrap_or(0));
                    if !self.cur.is_empty() {
                        self.props()?;
                    }
                }
                self.end()
            }
            pt::SUBSCRIBE => self.subscribe(true),
            pt::UNSUBSCRIBE => self.subscribe(false),
            pt::SUBACK => self.suback(),
            pt::UNSUBACK => {
                self.out.pdu.packet_id = Some(self.cur.u16().need()?);
                if self.v5_if(rl > 2) {
                    self.props()?;
                    self.out.pdu.reason_codes = Some(Codes(self.cur.rest()));
                }
                self.end()
            }
            pt::PINGREQ | pt::PINGRESP => self.end(),
            pt::DISCONNECT => {
                if self.v5_if(rl > 0) {
                    self.out.v5 = true;
                    self.out.pdu.reason_code = Some(self.cur.u8().unwrap_or(0));
                    if !self.cur.is_empty() {
                        self.props()?;
                    }
                }
                self.end()
            }
            pt::AUTH if self.known != Some(false) => {
                self.v5_if(true);
                self.out.v5 = true;
                self.out.pdu.reason_code = Some(self.cur.u8().unwrap_or(0));
                if !self.cur.is_empty() {
                    self.props()?;
                }
                self.end()
            }
            _ => {
                self.out.anomalies.set(Anomalies::UNASSIGNED_TYPE);
                Ok(())
            }
        }
    }

    /// Bytes left over after a packet's last field.
    fn end(&mut self) -> Res {
        if self.cur.is_empty() {
            Ok(())
        } else {
            Err(Stop::Malformed)
        }
    }

    fn connect(&mut self) -> Res {
        let name = self.string()?;
        let level = self.cur.u8().need()?;
        if !matches!(
            (name.as_bytes(), level & 0x7f),
            (b"MQTT", 3..=5) | (b"MQIsdp", 3)
        ) {
            self.out.anomalies.set(Anomalies::INVALID_PROTOCOL);
        }
        self.out.pdu.protocol_name = Some(name);
        self.out.pdu.protocol_level = Some(level);
        let v5 = level & 0x7f == 5;
        let flags = self.cur.u8().need()?;
        if flags & 0x01 != 0 {
            self.out.anomalies.set(Anomalies::INVALID_FLAGS);
        }
        self.out.pdu.clean_session = Some(flags & 0x02 != 0);
        self.out.pdu.keep_alive = Some(self.cur.u16().need()?);
        if v5 {
            self.props()?;
        }
        self.out.pdu.client_id = Some(self.string()?);
        if flags & 0x04 != 0 {
            let qos = (flags >> 3) & 3;
            if qos == 3 {
                self.out.anomalies.set(Anomalies::INVALID_QOS);
            }
            self.out.pdu.will_qos = Some(qos);
            self.out.pdu.will_retain = Some(flags & 0x20 != 0);
            if v5 {
                // Will properties are checked but not kept (the PDU stays small).
                self.checked_props()?;
            }
            self.out.pdu.will_topic = Some(self.string()?);
            let msg = self.cur.bin().need()?;
            self.out.pdu.will_payload_len = u16::try_from(msg.len()).ok();
        } else if flags & 0x38 != 0 {
            self.out.anomalies.set(Anomalies::INVALID_FLAGS);
        }
        if flags & 0x80 != 0 {
            self.out.pdu.username = Some(self.string()?);
        }
        if flags & 0x40 != 0 {
            let pw = self.cur.bin().need()?;
            self.out.pdu.password_len = u16::try_from(pw.len()).ok();
        }
        self.end()
    }

    fn connack(&mut self) -> Res {
        let v5 = self.v5_if(self.h.remaining > 2);
        let ack_flags = self.cur.u8().need()?;
        let code = self.cur.u8().need()?;
        // MQTT 3.1 has a reserved byte here; 3.1.1 and 5.0 the Session Present flag.
        if self.level != 3 {
            self.out.pdu.session_present = Some(ack_flags & 1 != 0);
        }
        if ack_flags & 0xfe != 0 && self.level != 3 {
            self.out.anomalies.set(Anomalies::INVALID_FLAGS);
        }
        if v5 {
            self.out.pdu.reason_code = Some(code);
            self.props()?;
        } else {
            self.out.pdu.return_code = Some(code);
        }
        self.end()
    }

    fn publish(&mut self) -> Res {
        let flags = self.h.flags;
        let qos = (flags >> 1) & 3;
        if qos == 3 {
            self.out.anomalies.set(Anomalies::INVALID_QOS);
        }
        self.out.pdu.qos = Some(qos);
        self.out.pdu.dup = Some(flags & 0x8 != 0);
        self.out.pdu.retain = Some(flags & 0x1 != 0);
        let topic = self.string()?;
        if !topic.is_empty() {
            self.out.pdu.topic = Some(topic);
        }
        if qos != 0 {
            self.out.pdu.packet_id = Some(self.cur.u16().need()?);
        }
        match self.known {
            Some(true) => self.props()?,
            Some(false) => {}
            None => {
                // Level unknown (no CONNECT seen): take the bytes as properties only when they
                // read cleanly as a property list that a PUBLISH may carry.
                let mut c = self.cur;
                if let Ok((props, check)) = Properties::parse_checked(&mut c) {
                    let publish_ids = props.iter().all(|p| {
                        matches!(
                            p.id(),
                            0x01 | 0x02 | 0x03 | 0x08 | 0x09 | 0x0B | 0x23 | 0x26
                        )
                    });
                    if publish_ids && !check.duplicate && !check.bad_utf8 {
                        self.cur = c;
                        self.out.v5 = true;
                        self.out.pdu.properties = Some(props);
                    }
                }
            }
        }
        if let Some(a) = self
            .out
            .pdu
            .properties
            .as_ref()
            .and_then(|p| p.topic_alias())
        {
            self.out.pdu.topic_alias = Some(a);
        }
        let consumed = self.body_len.saturating_sub(self.cur.len());
        let payload = usize::try_from(self.h.remaining)
            .unwrap_or(usize::MAX)
            .saturating_sub(consumed);
        self.out.pdu.payload_len = u32::try_from(payload).ok();
        Ok(())
    }

    fn filters(&mut self, with_options: bool, v5: bool) -> Res {
        let raw = self.cur.rest();
        let (first, ok) = check_filters(raw, with_options, v5);
        if let Some(f) = first {
            self.out.pdu.topic = Some(text(f, &mut self.bad_utf8));
        }
        self.out.pdu.topics = Some(TopicFilters {
            raw,
            with_options,
            v5,
        });
        if ok {
            Ok(())
        } else {
            Err(Stop::Malformed)
        }
    }

    /// SUBSCRIBE (`with_options`) or UNSUBSCRIBE.
    fn subscribe(&mut self, with_options: bool) -> Res {
        self.out.pdu.packet_id = Some(self.cur.u16().need()?);
        let v5 = match self.known {
            Some(v) => v,
            None => {
                // Unknown level: 3.x when the filters read cleanly that way (as Wireshark reads
                // them), else 5.0 when properties and filters read cleanly that way.
                let (_, ok3) = check_filters(self.cur_bytes(), with_options, false);
                let mut c = self.cur;
                let ok5 = !ok3
                    && Properties::parse(&mut c).is_ok()
                    && check_filters(c_bytes(&c), with_options, true).1;
                self.out.implies_v5 = ok5;
                ok5
            }
        };
        if v5 {
            self.props()?;
        }
        self.filters(with_options, v5)
    }

    fn suback(&mut self) -> Res {
        self.out.pdu.packet_id = Some(self.cur.u16().need()?);
        let v5 = match self.known {
            Some(v) => v,
            None => {
                let v3_ok = !self.cur.is_empty()
                    && self
                        .cur_bytes()
                        .iter()
                        .all(|&c| matches!(c, 0 | 1 | 2 | 0x80));
                let mut c = self.cur;
                let ok5 = !v3_ok && Properties::parse(&mut c).is_ok() && !c.is_empty();
                self.out.implies_v5 = ok5;
                ok5
            }
        };
        if v5 {
            self.props()?;
        }
        self.out.pdu.reason_codes = Some(Codes(self.cur.rest()));
        Ok(())
    }

    fn cur_bytes(&self) -> &'a [u8] {
        c_bytes(&self.cur)
    }
}

fn c_bytes<'a>(c: &Cur<'a>) -> &'a [u8] {
    let mut c = *c;
    c.rest()
}

/// Check a SUBSCRIBE/UNSUBSCRIBE filter list: returns the first non-empty filter and whether the
/// whole list reads cleanly (at least one filter, none empty, valid options, nothing left over).
fn check_filters(raw: &[u8], with_options: bool, v5: bool) -> (Option<&[u8]>, bool) {
    let mut cur = Cur::new(raw);
    let mut first = None;
    let mut ok = !raw.is_empty();
    while !cur.is_empty() {
        let Some(f) = cur.bin() else {
            return (first, false);
        };
        if f.is_empty() {
            ok = false;
        } else if first.is_none() {
            first = Some(f);
        }
        if with_options {
            let Some(o) = cur.u8() else {
                return (first, false);
            };
            let valid = if v5 {
                o & 0xc0 == 0 && o & 3 != 3 && (o >> 4) & 3 != 3
            } else {
                o <= 2
            };
            ok &= valid;
        }
    }
    (first, ok)
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn pdu_is_small() {
        // lib.rs's `Pdu` enum must stay under clippy's large_enum_variant threshold (200 bytes).
        assert!(
            std::mem::size_of::<super::Pdu<'_>>() < 200,
            "{}",
            std::mem::size_of::<super::Pdu<'_>>()
        );
    }
}
