//! BACnet Virtual Link Layer for BACnet/IP (ASHRAE 135 Annex J.2): the 4-octet BVLC header
//! (type 0x81, function, length) and each function's payload.

use super::pdu::{Fields, IpPort, Table, TableKind};
use super::tags::be_u16;
use super::Out;

/// BVLC type for BACnet/IP (Annex J).
pub const BVLC_TYPE_IP: u8 = 0x81;

pub const RESULT: u8 = 0x00;
pub const WRITE_BDT: u8 = 0x01;
pub const READ_BDT: u8 = 0x02;
pub const READ_BDT_ACK: u8 = 0x03;
pub const FORWARDED_NPDU: u8 = 0x04;
pub const REGISTER_FOREIGN_DEVICE: u8 = 0x05;
pub const READ_FDT: u8 = 0x06;
pub const READ_FDT_ACK: u8 = 0x07;
pub const DELETE_FDT_ENTRY: u8 = 0x08;
pub const DISTRIBUTE_BROADCAST: u8 = 0x09;
pub const ORIGINAL_UNICAST: u8 = 0x0A;
pub const ORIGINAL_BROADCAST: u8 = 0x0B;
pub const SECURE_BVLL: u8 = 0x0C;

/// Name of a BVLC function (Wireshark's spelling).
pub fn function_name(f: u8) -> Option<&'static str> {
    Some(match f {
        RESULT => "BVLC-Result",
        WRITE_BDT => "Write-Broadcast-Distribution-Table",
        READ_BDT => "Read-Broadcast-Distribution-Table",
        READ_BDT_ACK => "Read-Broadcast-Distribution-Table-Ack",
        FORWARDED_NPDU => "Forwarded-NPDU",
        REGISTER_FOREIGN_DEVICE => "Register-Foreign-Device",
        READ_FDT => "Read-Foreign-Device-Table",
        READ_FDT_ACK => "Read-Foreign-Device-Table-Ack",
        DELETE_FDT_ENTRY => "Delete-Foreign-Device-Table-Entry",
        DISTRIBUTE_BROADCAST => "Distribute-Broadcast-To-Network",
        ORIGINAL_UNICAST => "Original-Unicast-NPDU",
        ORIGINAL_BROADCAST => "Original-Broadcast-NPDU",
        SECURE_BVLL => "Secured-BVLL",
        _ => return None,
    })
}

/// Offset of the NPDU for functions that carry one, `None` for the others.
pub fn npdu_offset(f: u8) -> Option<usize> {
    match f {
        FORWARDED_NPDU => Some(10),
        DISTRIBUTE_BROADCAST | ORIGINAL_UNICAST | ORIGINAL_BROADCAST => Some(4),
        _ => None,
    }
}

/// Parse the BVLL header and payload of a datagram whose first octet is 0x81 and which has at
/// least 4 octets. Fills `pdu`; returns the NPDU's bytes for functions that carry one.
pub(crate) fn parse<'a>(
    data: &'a [u8],
    pdu: &mut Fields<'a>,
    out: &mut Out<'a>,
) -> Option<&'a [u8]> {
    let function = *data.get(1)?;
    let length = be_u16(data, 2)?;
    pdu.bvlc_function = function;
    pdu.bvlc_length = length;
    let len = usize::from(length);
    if len != data.len() {
        out.event("bacnet.bad_length");
    }
    // Like Wireshark, the datagram (not the BVLC length field) bounds the message: captures
    // with a short length field still carry a whole NPDU.
    let body = data.get(4..).unwrap_or(&[]);
    match function {
        RESULT => match be_u16(body, 0) {
            Some(code) => pdu.bvlc_result = Some(code),
            None => out.event("bacnet.malformed_bvlc"),
        },
        WRITE_BDT | READ_BDT_ACK | READ_FDT_ACK => {
            let kind = if function == READ_FDT_ACK {
                TableKind::Fdt
            } else {
                TableKind::Bdt
            };
            if !body.chunks_exact(10).remainder().is_empty() {
                out.event("bacnet.malformed_bvlc");
            }
            pdu.table = Some(Table { kind, data: body });
        }
        READ_BDT | READ_FDT => {
            if !body.is_empty() {
                out.event("bacnet.malformed_bvlc");
            }
        }
        REGISTER_FOREIGN_DEVICE => match be_u16(body, 0) {
            Some(ttl) => pdu.ttl = Some(ttl),
            None => out.event("bacnet.malformed_bvlc"),
        },
        DELETE_FDT_ENTRY => match IpPort::read(body) {
            Some(a) => pdu.fdt_entry = Some(a),
            None => out.event("bacnet.malformed_bvlc"),
        },
        FORWARDED_NPDU => match IpPort::read(body) {
            Some(a) => {
                pdu.forwarded_from = Some(a);
                return body.get(6..);
            }
            None => out.event("bacnet.malformed_bvlc"),
        },
        DISTRIBUTE_BROADCAST | ORIGINAL_UNICAST | ORIGINAL_BROADCAST => return Some(body),
        SECURE_BVLL => pdu.secure_bvll_length = u16::try_from(body.len()).ok(),
        _ => out.event("bacnet.malformed_bvlc"),
    }
    None
}
