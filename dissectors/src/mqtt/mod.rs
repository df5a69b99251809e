//! MQTT 3.1, 3.1.1 and 5.0 over TCP (OASIS MQTT Version 3.1.1 and Version 5.0, sections 2 and 3;
//! IBM MQTT V3.1 for `MQIsdp`).
//!
//! Each packet is a fixed header (type and flags, then a Remaining Length of one to four bytes)
//! followed by that many bytes. The stream is cut with the shared [`crate::stream::Framer`];
//! packets are parsed in place by [`pdu::parse`] into a borrowed [`Pdu`]; per-connection state
//! ([`Session`]) keeps the protocol level learned from CONNECT (MQTT 5.0 adds property lists to
//! most packets) and a bounded per-direction topic alias table.
//!
//! Modelled on Suricata's `rust/src/mqtt/parser.rs` (size cap before buffering, oversize packets
//! reported and skipped) and checked field by field against Wireshark's `packet-mqtt.c`, whose
//! choices this module follows where the standard leaves room: with no CONNECT seen the level
//! is unknown and packets are read as 3.1.1 unless their layout can only be 5.0.

pub mod pdu;
pub mod properties;
mod session;
mod wire;

pub use pdu::{Codes, Pdu, TopicFilter, TopicFilters};
pub use properties::{PropIter, Properties, Property};
pub use session::Session;
pub use wire::Text;

use crate::{Direction, Probe};
use pdu::{fixed_header, packet_type as pt, required_flags, Header};
use wire::Cur;

/// Event names (`mqtt.<event>`), stable: rules refer to them.
pub mod events {
    /// CONNACK refused the connection (3.x return code != 0, 5.0 reason code >= 0x80).
    pub const CONNECT_REFUSED: &str = "mqtt.connect_refused";
    /// CONNACK: bad user name or password, or not authorised (3.x 4/5, 5.0 0x86/0x87).
    pub const AUTH_FAILURE: &str = "mqtt.auth_failure";
    /// PUBLISH (or a CONNECT's will) with QoS 3.
    pub const INVALID_QOS: &str = "mqtt.invalid_qos";
    /// Packet type 0, or 15 (AUTH) outside MQTT 5.0.
    pub const UNASSIGNED_MESSAGE_TYPE: &str = "mqtt.unassigned_message_type";
    /// PUBLISH, SUBSCRIBE or UNSUBSCRIBE on a connection whose CONNECT was not seen.
    pub const MISSING_CONNECT: &str = "mqtt.missing_connect";
    /// A second CONNECT on one connection.
    pub const DOUBLE_CONNECT: &str = "mqtt.double_connect";
    /// A packet larger than the buffer cap: its start was parsed, the rest skipped.
    pub const OVERSIZE: &str = "mqtt.oversize";
    /// A packet that does not parse, or a Remaining Length over four bytes.
    pub const MALFORMED: &str = "mqtt.malformed";
    /// An MQTT 5.0 property list that does not parse or repeats a property.
    pub const INVALID_PROPERTIES: &str = "mqtt.invalid_properties";
    /// Reserved fixed-header, CONNECT or CONNACK flags set.
    pub const INVALID_FLAGS: &str = "mqtt.invalid_flags";
    /// A string that is not valid UTF-8 (shown lossily).
    pub const INVALID_UTF8: &str = "mqtt.invalid_utf8";
    /// CONNECT with an unknown protocol name or level.
    pub const INVALID_PROTOCOL: &str = "mqtt.invalid_protocol";
    /// PUBLISH with an empty topic and a topic alias that was never set (or was not kept).
    pub const UNKNOWN_TOPIC_ALIAS: &str = "mqtt.unknown_topic_alias";
    /// Bytes lost to the capture: the partial packet was dropped.
    pub const GAP: &str = "mqtt.gap";

    /// Every event name, for cross-checking rules.
    pub const ALL: [&str; 14] = [
        CONNECT_REFUSED,
        AUTH_FAILURE,
        INVALID_QOS,
        UNASSIGNED_MESSAGE_TYPE,
        MISSING_CONNECT,
        DOUBLE_CONNECT,
        OVERSIZE,
        MALFORMED,
        INVALID_PROPERTIES,
        INVALID_FLAGS,
        INVALID_UTF8,
        INVALID_PROTOCOL,
        UNKNOWN_TOPIC_ALIAS,
        GAP,
    ];
}

/// Do these bytes (the first seen in direction `dir`) look like MQTT?
///
/// A CONNECT (`0x10`, protocol name `MQTT` or `MQIsdp`, level 3 to 5) is a yes in either
/// direction. For a capture that starts mid-stream, other packets are accepted when every whole
/// packet in `data` passes its type's checks (flags, lengths, identifiers, topic text) and the
/// bytes end on a packet boundary, or with a PUBLISH whose topic checks out; anything else is a
/// no, or `NeedMore` while the first packet is incomplete.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    let mut rest = data;
    let mut whole = 0usize;
    loop {
        if rest.is_empty() {
            return if whole > 0 {
                Probe::Yes
            } else {
                Probe::NeedMore
            };
        }
        let h = match fixed_header(rest) {
            Header::Ok(h) => h,
            Header::NeedMore => {
                return match rest.first() {
                    Some(&b0) if !flags_plausible(b0 >> 4, b0 & 0xf) => Probe::No,
                    _ if whole > 0 => Probe::Yes,
                    _ => Probe::NeedMore,
                }
            }
            Header::Invalid => return Probe::No,
        };
        if !flags_plausible(h.packet_type, h.flags) {
            return Probe::No;
        }
        let total = h
            .header_len
            .saturating_add(usize::try_from(h.remaining).unwrap_or(usize::MAX));
        let body_at_hand = rest.get(h.header_len..).unwrap_or_default();
        let whole_pdu = rest.len() >= total;
        let body = body_at_hand
            .get(..total.saturating_sub(h.header_len))
            .unwrap_or(body_at_hand);
        match (
            check_packet(h.packet_type, h.remaining, body, whole_pdu),
            whole_pdu,
        ) {
            (Verdict::Yes, true) => {}
            (Verdict::Yes, false) => return Probe::Yes,
            (Verdict::No, _) | (Verdict::NeedMore, true) => return Probe::No,
            (Verdict::NeedMore, false) if whole > 0 => return Probe::Yes,
            (Verdict::NeedMore, false) => return Probe::NeedMore,
        }
        whole += 1;
        rest = rest.get(total..).unwrap_or_default();
    }
}

pub(crate) fn flags_plausible(ptype: u8, flags: u8) -> bool {
    match ptype {
        0 => false,
        pt::PUBLISH => (flags >> 1) & 3 != 3,
        // MQTT 3.1 clients set DUP/QoS on these.
        pt::PUBREL | pt::SUBSCRIBE | pt::UNSUBSCRIBE => flags & 0x9 == 0 && flags & 0x6 != 0x6,
        _ => flags == required_flags(ptype),
    }
}

enum Verdict {
    Yes,
    No,
    NeedMore,
}

fn plausible_topic(t: &[u8], filter: bool) -> bool {
    match std::str::from_utf8(t) {
        Ok(s) => {
            !s.is_empty()
                && !s.chars().any(|c| c.is_control())
                && (filter || !s.contains(['+', '#']))
        }
        Err(_) => false,
    }
}

/// Type-specific plausibility of one packet; `body` may be incomplete when `whole` is false.
fn check_packet(ptype: u8, remaining: u32, body: &[u8], whole: bool) -> Verdict {
    let mut c = Cur::new(body);
    let need = if whole {
        Verdict::No
    } else {
        Verdict::NeedMore
    };
    match ptype {
        pt::CONNECT => {
            let Some(name) = c.bin() else {
                // Check the prefix of the protocol name seen so far.
                let ok = match body {
                    [] | [0] => true,
                    [0, 4, name @ ..] => b"MQTT".starts_with(name),
                    [0, 6, name @ ..] => b"MQIsdp".starts_with(name),
                    _ => false,
                };
                return if ok { need } else { Verdict::No };
            };
            let Some(level) = c.u8() else { return need };
            match (name, level & 0x7f) {
                (b"MQTT", 3..=5) | (b"MQIsdp", 3) => Verdict::Yes,
                _ => Verdict::No,
            }
        }
        pt::CONNACK => {
            if remaining < 2 {
                return Verdict::No;
            }
            let Some(flags) = c.u8() else { return need };
            let Some(code) = c.u8() else { return need };
            if flags > 1
                || (remaining == 2 && code > 5)
                || (remaining > 2 && code != 0 && code < 0x80)
            {
                return Verdict::No;
            }
            if remaining > 2 {
                if !whole {
                    return Verdict::NeedMore;
                }
                let mut p = c;
                if properties::Properties::parse(&mut p).is_err() || !p.is_empty() {
                    return Verdict::No;
                }
            }
            Verdict::Yes
        }
        pt::PUBLISH => {
            if remaining < 3 {
                return Verdict::No;
            }
            let Some(len) = c.u16() else { return need };
            if u32::from(len) + 2 > remaining {
                return Verdict::No;
            }
            let Some(t) = c.take(usize::from(len)) else {
                return need;
            };
            if plausible_topic(t, false) {
                Verdict::Yes
            } else {
                Verdict::No
            }
        }
        pt::PUBACK | pt::PUBREC | pt::PUBREL | pt::PUBCOMP | pt::UNSUBACK => {
            if !(2..=64).contains(&remaining) {
                return Verdict::No;
            }
            match c.u16() {
                Some(0) => Verdict::No,
                Some(_) => Verdict::Yes,
                None => need,
            }
        }
        pt::SUBSCRIBE | pt::UNSUBSCRIBE => {
            if remaining < 5 {
                return Verdict::No;
            }
            if !whole {
                return Verdict::NeedMore;
            }
            let Some(_id) = c.u16() else {
                return Verdict::No;
            };
            let with = ptype == pt::SUBSCRIBE;
            let mut p = c;
            let v3 = filters_plausible(c, with, false);
            let v5 =
                properties::Properties::parse(&mut p).is_ok() && filters_plausible(p, with, true);
            if v3 || v5 {
                Verdict::Yes
            } else {
                Verdict::No
            }
        }
        pt::SUBACK => {
            if !(3..=1024).contains(&remaining) {
                return Verdict::No;
            }
            if !whole {
                return Verdict::NeedMore;
            }
            let Some(_id) = c.u16() else {
                return Verdict::No;
            };
            let codes = c.rest();
            if codes.iter().all(|&b| {
                matches!(
                    b,
                    0 | 1 | 2 | 0x80 | 0x83 | 0x87 | 0x8f | 0x91 | 0x97 | 0x9e | 0xa1 | 0xa2
                )
            }) {
                Verdict::Yes
            } else {
                Verdict::No
            }
        }
        pt::PINGREQ | pt::PINGRESP => {
            if remaining == 0 {
                Verdict::Yes
            } else {
                Verdict::No
            }
        }
        pt::DISCONNECT => {
            if remaining == 0 {
                Verdict::Yes
            } else if !whole {
                Verdict::NeedMore
            } else {
                let Some(_code) = c.u8() else {
                    return Verdict::No;
                };
                if c.is_empty() {
                    return Verdict::Yes;
                }
                let mut p = c;
                if properties::Properties::parse(&mut p).is_ok() && p.is_empty() {
                    Verdict::Yes
                } else {
                    Verdict::No
                }
            }
        }
        _ => Verdict::No,
    }
}

fn filters_plausible(mut c: Cur<'_>, with_options: bool, v5: bool) -> bool {
    let mut n = 0;
    while !c.is_empty() {
        let Some(f) = c.bin() else { return false };
        if !plausible_topic(f, true) {
            return false;
        }
        if with_options {
            let Some(o) = c.u8() else { return false };
            let ok = if v5 {
                o & 0xc0 == 0 && o & 3 != 3 && (o >> 4) & 3 != 3
            } else {
                o <= 2
            };
            if !ok {
                return false;
            }
        }
        n += 1;
    }
    n > 0
}
