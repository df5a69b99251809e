//! BACnet/IP (ASHRAE 135-2020): Annex J BACnet Virtual Link Layer, clause 6 network layer,
//! clause 20 application layer encoding, clauses 13-16 services.
//!
//! BACnet/IP runs over UDP (port 47808): the pipeline hands over one whole datagram per
//! [`Dissector::parse`] call, and each datagram whose first octet is 0x81 yields one [`Pdu`]
//! carrying the fields of every layer present, as far as they could be read. Anomalies go out as
//! events (`bacnet.<name>`), identities (from I-Am and from the Device object's properties) as
//! facts about the sender.
//!
//! Layout: [`bvlc`] (BVLL), [`npdu`] (network layer), [`apdu`] (APDU headers), [`services`]
//! (service parameters), [`tags`] (tag decoder and typed values), [`vendors`] (ASHRAE vendor
//! ids). Nothing is allocated: the PDU borrows from the datagram.

pub mod apdu;
pub mod bvlc;
pub mod npdu;
mod pdu;
mod services;
pub mod tags;
pub mod vendors;

pub use pdu::{Fields, IpPort, NetList, Pdu, Table, TableKind};
pub use tags::{ObjectId, Value};

use crate::{Direction, Dissector, Event, Fact, FactKind, FactValue, Probe, Proto, Side, Sink};

/// Most distinct events one datagram can raise.
const MAX_EVENTS: usize = 8;
/// Most facts one datagram can yield (ReadPropertyMultiple-ACK may carry several).
const MAX_FACTS: usize = 8;

/// Events and facts gathered while one datagram is parsed (fixed size, no allocation).
pub(crate) struct Out<'a> {
    events: [&'static str; MAX_EVENTS],
    n_events: usize,
    facts: [Option<(FactKind, FactValue<'a>)>; MAX_FACTS],
    n_facts: usize,
}

impl<'a> Out<'a> {
    fn new() -> Self {
        Out {
            events: [""; MAX_EVENTS],
            n_events: 0,
            facts: [None; MAX_FACTS],
            n_facts: 0,
        }
    }

    /// Record event `name` (`bacnet.<x>`, one of [`EVENTS`]) once.
    pub(crate) fn event(&mut self, name: &'static str) {
        let seen = self.events.get(..self.n_events).unwrap_or(&[]);
        if seen.contains(&name) {
            return;
        }
        if let Some(slot) = self.events.get_mut(self.n_events) {
            *slot = name;
            self.n_events += 1;
        }
    }

    /// Record an identity fact about the sender.
    pub(crate) fn fact(&mut self, kind: FactKind, value: FactValue<'a>) {
        if let Some(slot) = self.facts.get_mut(self.n_facts) {
            *slot = Some((kind, value));
            self.n_facts += 1;
        }
    }

    fn events(&self) -> &[&'static str] {
        self.events.get(..self.n_events).unwrap_or(&[])
    }
}

/// Every event name this dissector can raise.
pub const EVENTS: &[&str] = &[
    "bacnet.malformed_bvlc",
    "bacnet.malformed_npdu",
    "bacnet.malformed_apdu",
    "bacnet.bad_length",
    "bacnet.unknown_service",
    "bacnet.error_response",
    "bacnet.reject",
    "bacnet.abort",
    "bacnet.write_property",
    "bacnet.write_property_multiple",
    "bacnet.device_communication_control",
    "bacnet.reinitialize_device",
    "bacnet.atomic_write_file",
    "bacnet.tag_depth_exceeded",
];

/// Parse one datagram. `None` when it is not BACnet/IP at all (too short, or not type 0x81).
fn parse_datagram<'a>(data: &'a [u8], out: &mut Out<'a>) -> Option<Fields<'a>> {
    if data.len() < 4 || data.first() != Some(&bvlc::BVLC_TYPE_IP) {
        out.event("bacnet.malformed_bvlc");
        return None;
    }
    let mut pdu = Fields::default();
    if let Some(npdu) = bvlc::parse(data, &mut pdu, out) {
        if let Some(apdu) = npdu::parse(npdu, &mut pdu, out) {
            apdu::parse(apdu, &mut pdu, out);
        }
    }
    Some(pdu)
}

/// Do these bytes look like BACnet/IP? `Yes` for type 0x81, a known function, a BVLC length that
/// fits the datagram and (where an NPDU follows) NPDU version 1.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    let Some(&first) = data.first() else {
        return Probe::NeedMore;
    };
    if first != bvlc::BVLC_TYPE_IP {
        return Probe::No;
    }
    let (Some(&function), Some(length)) = (data.get(1), tags::be_u16(data, 2)) else {
        return match data.get(1) {
            Some(&f) if bvlc::function_name(f).is_none() => Probe::No,
            _ => Probe::NeedMore,
        };
    };
    if bvlc::function_name(function).is_none() {
        return Probe::No;
    }
    let length = usize::from(length);
    if length < 4 {
        return Probe::No;
    }
    if length > data.len() {
        return Probe::NeedMore;
    }
    match bvlc::npdu_offset(function) {
        Some(off) => match data.get(off) {
            Some(1) if off < length => Probe::Yes,
            Some(_) => Probe::No,
            None => Probe::NeedMore,
        },
        None => {
            let fixed = match function {
                bvlc::RESULT | bvlc::REGISTER_FOREIGN_DEVICE => Some(6),
                bvlc::READ_BDT | bvlc::READ_FDT => Some(4),
                bvlc::DELETE_FDT_ENTRY => Some(10),
                _ => None,
            };
            match fixed {
                Some(n) if n != length => Probe::No,
                _ if function != bvlc::SECURE_BVLL
                    && fixed.is_none()
                    && !data
                        .get(4..length)
                        .unwrap_or(&[])
                        .chunks_exact(10)
                        .remainder()
                        .is_empty() =>
                {
                    Probe::No
                }
                _ => Probe::Yes,
            }
        }
    }
}

/// Per-flow BACnet state. BACnet/IP needs none to dissect (each datagram stands alone, and every
/// segment repeats its service choice); the session only counts.
#[derive(Debug, Default)]
pub struct Session {
    /// Datagrams seen, per direction.
    datagrams: [u64; 2],
}

impl Dissector for Session {
    fn parse(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        if let Some(n) = self.datagrams.get_mut(dir.index()) {
            *n = n.saturating_add(1);
        }
        let mut out = Out::new();
        if let Some(fields) = parse_datagram(data, &mut out) {
            sink.pdu(dir, &crate::Pdu::Bacnet(Pdu(&fields)));
        }
        for &name in out.events() {
            sink.event(
                dir,
                Event {
                    proto: Proto::Bacnet,
                    name,
                },
            );
        }
        let about = match dir {
            Direction::ToServer => Side::Client,
            Direction::ToClient => Side::Server,
        };
        for &(kind, value) in out.facts.iter().flatten() {
            sink.fact(Fact { kind, about, value });
        }
    }

    fn on_gap(&mut self, _dir: Direction, _len: u64, _sink: &mut dyn Sink) {
        // Datagrams are independent: nothing to resynchronise.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_table_sorted_unique_and_known() {
        assert!(vendors::VENDORS
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.0 < b.0)));
        assert_eq!(vendors::vendor_name(0), Some("ASHRAE"));
        assert_eq!(vendors::vendor_name(5), Some("Johnson Controls, Inc."));
        assert_eq!(
            vendors::vendor_name(7),
            Some("Siemens Schweiz AG (Formerly: Landis & Staefa Division Europe)")
        );
        assert_eq!(vendors::vendor_name(8), Some("Delta Controls"));
        assert_eq!(vendors::vendor_name(17), Some("Honeywell Inc."));
        assert_eq!(vendors::vendor_name(70_000), None);
        assert!(vendors::VENDORS.len() > 1400);
    }

    #[test]
    fn every_event_name_is_listed() {
        for file in [
            include_str!("mod.rs"),
            include_str!("bvlc.rs"),
            include_str!("npdu.rs"),
            include_str!("apdu.rs"),
            include_str!("services.rs"),
        ] {
            for part in file.split(concat!("out.event", "(\"")).skip(1) {
                let name = part.split('"').next().unwrap_or_default();
                assert!(EVENTS.contains(&name), "{name} not in EVENTS");
            }
        }
    }
}
