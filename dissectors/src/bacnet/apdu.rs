//! BACnet application layer PDU headers (ASHRAE 135 clause 20.1): the eight PDU types, their
//! segmentation fields, invoke id and service choice; the service parameters are decoded in
//! [`super::services`].

use super::pdu::Fields;
use super::services;
use super::tags::{Reader, TagError};
use super::Out;

pub const CONFIRMED_REQUEST: u8 = 0;
pub const UNCONFIRMED_REQUEST: u8 = 1;
pub const SIMPLE_ACK: u8 = 2;
pub const COMPLEX_ACK: u8 = 3;
pub const SEGMENT_ACK: u8 = 4;
pub const ERROR: u8 = 5;
pub const REJECT: u8 = 6;
pub const ABORT: u8 = 7;

/// Confirmed services (clause 21, BACnetConfirmedServiceChoice), Wireshark's spelling.
const CONFIRMED: [&str; 34] = [
    "acknowledgeAlarm",
    "confirmedCOVNotification",
    "confirmedEventNotification",
    "getAlarmSummary",
    "getEnrollmentSummary",
    "subscribeCOV",
    "atomicReadFile",
    "atomicWriteFile",
    "addListElement",
    "removeListElement",
    "createObject",
    "deleteObject",
    "readProperty",
    "readPropertyConditional",
    "readPropertyMultiple",
    "writeProperty",
    "writePropertyMultiple",
    "deviceCommunicationControl",
    "confirmedPrivateTransfer",
    "confirmedTextMessage",
    "reinitializeDevice",
    "vtOpen",
    "vtClose",
    "vtData",
    "authenticate",
    "requestKey",
    "readRange",
    "lifeSafetyOperation",
    "subscribeCOVProperty",
    "getEventInformation",
    "subscribeCovPropertyMultiple",
    "confirmedCovNotificationMultiple",
    "confirmedAuditNotification",
    "auditLogQuery",
];

/// Unconfirmed services (BACnetUnconfirmedServiceChoice), Wireshark's spelling.
const UNCONFIRMED: [&str; 15] = [
    "i-Am",
    "i-Have",
    "unconfirmedCOVNotification",
    "unconfirmedEventNotification",
    "unconfirmedPrivateTransfer",
    "unconfirmedTextMessage",
    "timeSynchronization",
    "who-Has",
    "who-Is",
    "utcTimeSynchronization",
    "writeGroup",
    "unconfirmedCovNotificationMultiple",
    "unconfirmedAuditNotification",
    "who-am-I",
    "you-are",
];

/// Name of confirmed service `s`.
pub fn confirmed_name(s: u8) -> Option<&'static str> {
    CONFIRMED.get(usize::from(s)).copied()
}

/// Name of unconfirmed service `s`.
pub fn unconfirmed_name(s: u8) -> Option<&'static str> {
    UNCONFIRMED.get(usize::from(s)).copied()
}

/// Decode max-APDU-length-accepted's 4-bit code (clause 20.1.2.5).
fn max_apdu(code: u8) -> Option<u32> {
    Some(match code {
        0 => 50,
        1 => 128,
        2 => 206,
        3 => 480,
        4 => 1024,
        5 => 1476,
        _ => return None,
    })
}

/// Decode max-segments-accepted's 3-bit code (0 = unspecified, 65 = more than 64).
fn max_segments(code: u8) -> u8 {
    match code {
        0 => 0,
        7 => 65,
        n => 1u8 << n,
    }
}

struct Cur<'a> {
    d: &'a [u8],
    pos: usize,
}

impl<'a> Cur<'a> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.d.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }
    fn rest(&self) -> &'a [u8] {
        self.d.get(self.pos..).unwrap_or(&[])
    }
}

/// Parse an APDU: header into `pdu`, then the service parameters.
pub(crate) fn parse<'a>(d: &'a [u8], pdu: &mut Fields<'a>, out: &mut Out<'a>) {
    match header(d, pdu, out) {
        Some(params) => {
            let Some(t) = pdu.apdu_type else { return };
            let Some(s) = pdu.service else { return };
            // Later segments continue a message cut anywhere: only the first is decoded, and
            // leniently, as its parameters may be cut short.
            let segmented = pdu.segmented == Some(true);
            if segmented && pdu.sequence_number != Some(0) {
                return;
            }
            let mut r = Reader::new(params);
            match services::decode(t, s, &mut r, pdu, out) {
                Ok(()) => {}
                Err(TagError::DepthExceeded) => out.event("bacnet.tag_depth_exceeded"),
                Err(_) if segmented => {}
                Err(_) => out.event("bacnet.malformed_apdu"),
            }
        }
        None => out.event("bacnet.malformed_apdu"),
    }
}

/// Parse the fixed APDU header; returns the service parameters' bytes.
fn header<'a>(d: &'a [u8], pdu: &mut Fields<'a>, out: &mut Out<'a>) -> Option<&'a [u8]> {
    let mut c = Cur { d, pos: 0 };
    let b0 = c.u8()?;
    let t = b0 >> 4;
    pdu.apdu_type = Some(t);
    match t {
        CONFIRMED_REQUEST => {
            let seg = b0 & 0x08 != 0;
            pdu.segmented = Some(seg);
            pdu.more_follows = Some(b0 & 0x04 != 0);
            pdu.segmented_response_accepted = Some(b0 & 0x02 != 0);
            let b1 = c.u8()?;
            pdu.max_segments = Some(max_segments((b1 >> 4) & 0x07));
            pdu.max_apdu = max_apdu(b1 & 0x0F);
            pdu.invoke_id = Some(c.u8()?);
            if seg {
                pdu.sequence_number = Some(c.u8()?);
                pdu.window_size = Some(c.u8()?);
            }
            confirmed_service(c.u8()?, pdu, out);
            match pdu.service {
                Some(15) => out.event("bacnet.write_property"),
                Some(16) => out.event("bacnet.write_property_multiple"),
                Some(17) => out.event("bacnet.device_communication_control"),
                Some(20) => out.event("bacnet.reinitialize_device"),
                Some(7) => out.event("bacnet.atomic_write_file"),
                _ => {}
            }
        }
        UNCONFIRMED_REQUEST => {
            let s = c.u8()?;
            pdu.service = Some(s);
            pdu.service_name = unconfirmed_name(s);
            if pdu.service_name.is_none() {
                out.event("bacnet.unknown_service");
            }
        }
        SIMPLE_ACK => {
            pdu.invoke_id = Some(c.u8()?);
            confirmed_service(c.u8()?, pdu, out);
        }
        COMPLEX_ACK => {
            let seg = b0 & 0x08 != 0;
            pdu.segmented = Some(seg);
            pdu.more_follows = Some(b0 & 0x04 != 0);
            pdu.invoke_id = Some(c.u8()?);
            if seg {
                pdu.sequence_number = Some(c.u8()?);
                pdu.window_size = Some(c.u8()?);
            }
            confirmed_service(c.u8()?, pdu, out);
        }
        SEGMENT_ACK => {
            pdu.negative_ack = Some(b0 & 0x02 != 0);
            pdu.sent_by_server = Some(b0 & 0x01 != 0);
            pdu.invoke_id = Some(c.u8()?);
            pdu.sequence_number = Some(c.u8()?);
            pdu.window_size = Some(c.u8()?);
        }
        ERROR => {
            out.event("bacnet.error_response");
            pdu.invoke_id = Some(c.u8()?);
            confirmed_service(c.u8()?, pdu, out);
        }
        REJECT => {
            out.event("bacnet.reject");
            pdu.invoke_id = Some(c.u8()?);
            pdu.reject_reason = Some(c.u8()?);
        }
        ABORT => {
            out.event("bacnet.abort");
            pdu.sent_by_server = Some(b0 & 0x01 != 0);
            pdu.invoke_id = Some(c.u8()?);
            pdu.abort_reason = Some(c.u8()?);
        }
        _ => return None,
    }
    Some(c.rest())
}

fn confirmed_service(s: u8, pdu: &mut Fields<'_>, out: &mut Out<'_>) {
    pdu.service = Some(s);
    pdu.service_name = confirmed_name(s);
    if pdu.service_name.is_none() {
        out.event("bacnet.unknown_service");
    }
}
