//! Modbus/TCP dissector.
//!
//! Spec: *MODBUS Messaging on TCP/IP Implementation Guide V1.0b* (the MBAP header, §3.1.3) and
//! *MODBUS Application Protocol Specification V1.1b3* (function codes §6, exceptions §7, MEI
//! Read Device Identification §6.21).
//!
//! An ADU is the 7-byte MBAP header (transaction id, protocol id, length, unit id) followed by the
//! PDU (function code and data); the whole ADU is `6 + length` bytes. Each direction is cut into
//! ADUs by a [`crate::stream::Framer`]; requests travel to the server, responses back, and the
//! two are paired by transaction id ([`Session`]).
//!
//! Framing follows Wireshark's `packet-mbtcp.c` where it can: an ADU is accepted when its
//! protocol id is 0 and its length field is at least 2 (a length above the spec's 254 raises
//! `modbus.bad_length` but is still framed, as Wireshark frames Schneider UMAS's 255). After a
//! gap or bytes that do not frame, resynchronisation needs a segment that starts with a header
//! that [`probe`] would accept (length 2..=254, plausible function code).
//!
//! Events (`modbus.<name>`), see [`events`].

mod pdu;
mod session;

pub use pdu::{Hex, Kind, Objects, Pdu, Record, RecordForm, Records, Text, Values};
pub use session::{Session, MAX_OUTSTANDING};

use crate::{Direction, Probe};

/// Stable event names raised by this dissector.
pub mod events {
    /// An MBAP header whose protocol id is not 0 (the stream lost sync until a valid header).
    pub const BAD_PROTOCOL_ID: &str = "modbus.bad_protocol_id";
    /// A length field below 2 or above 254, or a PDU whose body does not fit its function code.
    pub const BAD_LENGTH: &str = "modbus.bad_length";
    /// A response whose transaction id matches no outstanding request.
    pub const RESPONSE_WITHOUT_REQUEST: &str = "modbus.response_without_request";
    /// A response whose function code differs from its request's.
    pub const RESPONSE_MISMATCH: &str = "modbus.response_mismatch";
    /// A request with a function code that is neither public, user-defined (65-72, 100-110)
    /// nor Schneider's UMAS (90).
    pub const UNKNOWN_FUNCTION_CODE: &str = "modbus.unknown_function_code";
    /// The server answered with an exception.
    pub const EXCEPTION_RESPONSE: &str = "modbus.exception_response";
    /// More requests outstanding than the per-flow table holds: the oldest was dropped.
    pub const TOO_MANY_OUTSTANDING: &str = "modbus.too_many_outstanding";
    /// An ADU too large to buffer (skipped).
    pub const OVERSIZE: &str = "modbus.oversize";
    /// Bytes were lost to the capture; the stream resynchronises on a later header.
    pub const GAP: &str = "modbus.gap";

    /// Every event name, for rule cross-checks.
    pub const ALL: [&str; 9] = [
        BAD_PROTOCOL_ID,
        BAD_LENGTH,
        RESPONSE_WITHOUT_REQUEST,
        RESPONSE_MISMATCH,
        UNKNOWN_FUNCTION_CODE,
        EXCEPTION_RESPONSE,
        TOO_MANY_OUTSTANDING,
        OVERSIZE,
        GAP,
    ];
}

/// MBAP header length up to and including the unit id.
pub(crate) const MBAP_LEN: usize = 7;
/// Largest length field the spec allows (unit id + 253-byte PDU).
pub(crate) const MAX_LENGTH_FIELD: u16 = 254;

/// Big-endian u16 at `at`, if there.
pub(crate) fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// A function-code byte a real request or response may carry (not 0, not a bare 0x80).
pub(crate) fn plausible_fc(fc: u8) -> bool {
    fc & 0x7f != 0
}

/// Whether the header at the start of `data` passes the strict checks (protocol id 0, length
/// 2..=254, plausible function code, or function code 0 / 0x80 when `data` is exactly one ADU),
/// as far as the bytes reach. `None`: too few bytes to say.
pub(crate) fn strict_header_ok(data: &[u8]) -> Option<bool> {
    if let Some(proto) = be16(data, 2) {
        if proto != 0 {
            return Some(false);
        }
    }
    if let Some(len) = be16(data, 4) {
        if !(2..=MAX_LENGTH_FIELD).contains(&len) {
            return Some(false);
        }
    }
    match data.get(7) {
        // Function code 0 (or a bare exception bit) is not a real function, but scanners send
        // it (Wireshark decodes it): accept it only when the bytes are exactly one whole ADU.
        Some(&fc) if !plausible_fc(fc) => {
            Some(be16(data, 4).is_some_and(|len| data.len() == 6 + usize::from(len)))
        }
        Some(_) => Some(true),
        None => None,
    }
}

/// Do these bytes (the first seen in direction `dir`) look like Modbus/TCP?
///
/// `Yes` only for protocol id 0, a length field of 2..=254 and a plausible function code
/// (1..=127, 0x81..=0xFF; 0 and 0x80, as a function-code scan sends them, only when `data` is
/// exactly one whole ADU); `NeedMore` under 8 bytes unless what is there already rules Modbus out.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    match strict_header_ok(data) {
        Some(true) => Probe::Yes,
        Some(false) => Probe::No,
        None => Probe::NeedMore,
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn probe_accepts_modbus() {
        let req = [0, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 10];
        assert_eq!(probe(Direction::ToServer, &req), Probe::Yes);
        assert_eq!(probe(Direction::ToServer, &req[..7]), Probe::NeedMore);
        assert_eq!(probe(Direction::ToServer, &[]), Probe::NeedMore);
        let exc = [0, 1, 0, 0, 0, 3, 1, 0x83, 2];
        assert_eq!(probe(Direction::ToClient, &exc), Probe::Yes);
    }

    #[test]
    fn probe_rejects_other_protocols() {
        let http = b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n";
        assert_eq!(probe(Direction::ToServer, http), Probe::No);
        assert_eq!(probe(Direction::ToServer, &http[..4]), Probe::No);
        let tls = [
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0xaa,
        ];
        assert_eq!(probe(Direction::ToServer, &tls), Probe::No);
        // protocol id 0 but length 0, length 300, function code 0
        assert_eq!(
            probe(Direction::ToServer, &[0, 1, 0, 0, 0, 0, 1, 3]),
            Probe::No
        );
        assert_eq!(
            probe(Direction::ToServer, &[0, 1, 0, 0, 1, 44, 1, 3]),
            Probe::No
        );
        assert_eq!(
            probe(Direction::ToServer, &[0, 1, 0, 0, 0, 6, 1, 0]),
            Probe::No
        );
        assert_eq!(
            probe(Direction::ToServer, &[0, 1, 0, 0, 0, 6, 1, 0x80, 0, 0]),
            Probe::No
        );
        // a function-code scan's FC 0, exactly one ADU, and its exception reply
        assert_eq!(
            probe(Direction::ToServer, &[0, 0, 0, 0, 0, 6, 1, 0, 0, 0, 0, 0]),
            Probe::Yes
        );
        assert_eq!(
            probe(Direction::ToClient, &[0, 0, 0, 0, 0, 3, 1, 0x80, 1]),
            Probe::Yes
        );
    }
}
