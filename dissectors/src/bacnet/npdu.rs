//! BACnet network layer (ASHRAE 135 clause 6): the NPDU header (version, control, DNET/DADR,
//! SNET/SADR, hop count) and the network-layer messages (clause 6.4).

use super::pdu::{Fields, NetList};
use super::tags::{be_u16, Hex};
use super::vendors::vendor_name;
use super::Out;

/// Control bit 7: the NSDU is a network-layer message.
const CTRL_NETWORK_MESSAGE: u8 = 0x80;
/// Control bit 5: DNET, DLEN, DADR and hop count present.
const CTRL_DNET: u8 = 0x20;
/// Control bit 3: SNET, SLEN, SADR present.
const CTRL_SNET: u8 = 0x08;
/// Control bit 2: a reply is expected.
const CTRL_EXPECTING_REPLY: u8 = 0x04;

/// Name of a network-layer message type.
pub fn message_name(t: u8) -> Option<&'static str> {
    Some(match t {
        0x00 => "Who-Is-Router-To-Network",
        0x01 => "I-Am-Router-To-Network",
        0x02 => "I-Could-Be-Router-To-Network",
        0x03 => "Reject-Message-To-Network",
        0x04 => "Router-Busy-To-Network",
        0x05 => "Router-Available-To-Network",
        0x06 => "Initialize-Routing-Table",
        0x07 => "Initialize-Routing-Table-Ack",
        0x08 => "Establish-Connection-To-Network",
        0x09 => "Disconnect-Connection-To-Network",
        0x0A => "Challenge-Request",
        0x0B => "Security-Payload",
        0x0C => "Security-Response",
        0x0D => "Request-Key-Update",
        0x0E => "Update-Key-Set",
        0x0F => "Update-Distribution-Key",
        0x10 => "Request-Master-Key",
        0x11 => "Set-Master-Key",
        0x12 => "What-Is-Network-Number",
        0x13 => "Network-Number-Is",
        0x80..=0xFF => "Proprietary",
        _ => return None,
    })
}

/// A simple forward-only reader over the NPDU's octets.
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
    fn u16(&mut self) -> Option<u16> {
        let v = be_u16(self.d, self.pos)?;
        self.pos += 2;
        Some(v)
    }
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let v = self.d.get(self.pos..end)?;
        self.pos = end;
        Some(v)
    }
    fn rest(&self) -> &'a [u8] {
        self.d.get(self.pos..).unwrap_or(&[])
    }
}

/// Parse an NPDU. Fills `pdu`; returns the APDU's bytes when the NPDU carries one.
pub(crate) fn parse<'a>(d: &'a [u8], pdu: &mut Fields<'a>, out: &mut Out<'a>) -> Option<&'a [u8]> {
    let r = header(d, pdu);
    match r {
        Some(Body::Apdu(a)) => Some(a),
        Some(Body::Message(t, body)) => {
            pdu.network_message = Some(t);
            pdu.network_message_name = message_name(t);
            if message(t, body, pdu).is_none() {
                out.event("bacnet.malformed_npdu");
            }
            None
        }
        None => {
            out.event("bacnet.malformed_npdu");
            None
        }
    }
}

enum Body<'a> {
    Apdu(&'a [u8]),
    Message(u8, &'a [u8]),
}

fn header<'a>(d: &'a [u8], pdu: &mut Fields<'a>) -> Option<Body<'a>> {
    let mut c = Cur { d, pos: 0 };
    let version = c.u8()?;
    pdu.npdu_version = Some(version);
    if version != 1 {
        return None;
    }
    let control = c.u8()?;
    pdu.npdu_control = Some(control);
    pdu.expecting_reply = Some(control & CTRL_EXPECTING_REPLY != 0);
    pdu.priority = Some(control & 0x03);
    if control & CTRL_DNET != 0 {
        pdu.dnet = Some(c.u16()?);
        let dlen = c.u8()?;
        pdu.dadr = Some(Hex(c.bytes(usize::from(dlen))?));
    }
    if control & CTRL_SNET != 0 {
        pdu.snet = Some(c.u16()?);
        let slen = c.u8()?;
        pdu.sadr = Some(Hex(c.bytes(usize::from(slen))?));
    }
    if control & CTRL_DNET != 0 {
        pdu.hop_count = Some(c.u8()?);
    }
    if control & CTRL_NETWORK_MESSAGE != 0 {
        let t = c.u8()?;
        if t >= 0x80 {
            pdu.network_message = Some(t);
            let vid = c.u16()?;
            pdu.vendor_id = Some(u32::from(vid));
            pdu.vendor_name = vendor_name(u32::from(vid));
        }
        Some(Body::Message(t, c.rest()))
    } else {
        Some(Body::Apdu(c.rest()))
    }
}

/// Decode a network-layer message's body; `None` when it is malformed.
fn message<'a>(t: u8, body: &'a [u8], pdu: &mut Fields<'a>) -> Option<()> {
    let mut c = Cur { d: body, pos: 0 };
    match t {
        // Who-Is-Router-To-Network: optional DNET.
        0x00 => {
            if body.len() == 1 || body.len() > 2 {
                return None;
            }
            if body.len() == 2 {
                pdu.networks = Some(NetList(body));
            }
        }
        // Lists of DNETs.
        0x01 | 0x04 | 0x05 => {
            if !body.chunks_exact(2).remainder().is_empty() {
                return None;
            }
            pdu.networks = Some(NetList(body));
        }
        // I-Could-Be-Router-To-Network: DNET, performance index.
        0x02 => {
            pdu.networks = Some(NetList(c.bytes(2)?));
            c.u8()?;
        }
        // Reject-Message-To-Network: reason, DNET.
        0x03 => {
            pdu.reject_network_reason = Some(c.u8()?);
            pdu.networks = Some(NetList(c.bytes(2)?));
        }
        // Initialize-Routing-Table(-Ack): count, then (DNET, port id, info length, info).
        0x06 | 0x07 => {
            let n = c.u8()?;
            for _ in 0..n {
                c.u16()?;
                c.u8()?;
                let info = c.u8()?;
                c.bytes(usize::from(info))?;
            }
        }
        // Establish-Connection-To-Network: DNET, termination time.
        0x08 => {
            pdu.networks = Some(NetList(c.bytes(2)?));
            c.u8()?;
        }
        // Disconnect-Connection-To-Network: DNET.
        0x09 => pdu.networks = Some(NetList(c.bytes(2)?)),
        // Network-Number-Is: network number, learned/configured flag.
        0x13 => {
            pdu.networks = Some(NetList(c.bytes(2)?));
            c.u8()?;
        }
        // What-Is-Network-Number: no body. Security messages and proprietary ones: opaque.
        _ => {}
    }
    Some(())
}
