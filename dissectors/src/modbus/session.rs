//! Per-flow Modbus/TCP state: one framer per direction and the table of outstanding requests.

use super::pdu::{decode, Kind, Pdu, RequestInfo};
use super::{be16, events, strict_header_ok, MAX_LENGTH_FIELD};
use crate::stream::{FrameLen, Framed, Framer, Framing};
use crate::{Direction, Dissector, Event, Fact, FactKind, FactValue, Proto, Side, Sink};

/// Requests that may await their response at once, per flow (Modbus/TCP servers typically
/// accept 1 to 16); beyond that the oldest is forgotten.
pub const MAX_OUTSTANDING: usize = 32;

/// Per-flow Modbus/TCP state.
#[derive(Debug, Default)]
pub struct Session {
    framers: [Framer; 2],
    state: State,
}

#[derive(Debug, Default)]
struct State {
    /// Outstanding requests; `None` slots are free.
    outstanding: [Option<Outstanding>; MAX_OUTSTANDING],
    /// Insertion counter, to find the oldest entry.
    seq: u64,
    /// Unit ids the server has answered for (reported once each).
    units_seen: [u64; 4],
}

#[derive(Clone, Copy, Debug)]
struct Outstanding {
    transaction_id: u16,
    unit_id: u8,
    seq: u64,
    info: RequestInfo,
}

impl State {
    fn remember(&mut self, tid: u16, unit: u8, info: RequestInfo) -> bool {
        self.seq = self.seq.wrapping_add(1);
        let entry = Outstanding {
            transaction_id: tid,
            unit_id: unit,
            seq: self.seq,
            info,
        };
        // The same transaction id again (a retransmission or a reused id) replaces the old one.
        let same = self
            .outstanding
            .iter()
            .position(|o| matches!(o, Some(o) if o.transaction_id == tid && o.unit_id == unit));
        let free = self.outstanding.iter().position(Option::is_none);
        let (slot, evicted) = match (same, free) {
            (Some(i), _) => (i, false),
            (None, Some(i)) => (i, false),
            (None, None) => {
                let oldest = self
                    .outstanding
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, o)| o.map_or(0, |o| o.seq))
                    .map_or(0, |(i, _)| i);
                (oldest, true)
            }
        };
        if let Some(s) = self.outstanding.get_mut(slot) {
            *s = Some(entry);
        }
        evicted
    }

    /// Take the request a response with `tid` / `unit` answers: same transaction id, the same
    /// unit id preferred.
    fn take(&mut self, tid: u16, unit: u8) -> Option<RequestInfo> {
        let mut best: Option<(usize, bool)> = None;
        for (i, o) in self.outstanding.iter().enumerate() {
            if let Some(o) = o {
                if o.transaction_id == tid {
                    let exact = o.unit_id == unit;
                    let better = match best {
                        None => true,
                        Some((_, e)) => !e && exact,
                    };
                    if better {
                        best = Some((i, exact));
                    }
                }
            }
        }
        let (i, _) = best?;
        self.outstanding.get_mut(i)?.take().map(|o| o.info)
    }

    /// Whether `unit` is reported for the first time.
    fn first_answer_from(&mut self, unit: u8) -> bool {
        let word = usize::from(unit >> 6);
        let bit = 1u64 << (unit & 63);
        match self.units_seen.get_mut(word) {
            Some(w) if *w & bit == 0 => {
                *w |= bit;
                true
            }
            _ => false,
        }
    }
}

/// The framing handler for one `feed` call: borrows the session state and the sink.
struct Handler<'s, 'k> {
    state: &'s mut State,
    sink: &'k mut dyn Sink,
    dir: Direction,
    /// Resynchronising: apply the strict header checks of [`super::probe`].
    strict: bool,
}

impl Handler<'_, '_> {
    fn event(&mut self, name: &'static str) {
        self.sink.event(
            self.dir,
            Event {
                proto: Proto::Modbus,
                name,
            },
        );
    }

    fn adu(&mut self, adu: &[u8]) {
        let request = self.dir == Direction::ToServer;
        if be16(adu, 4).is_some_and(|l| l > MAX_LENGTH_FIELD) {
            self.event(events::BAD_LENGTH);
        }
        let paired = if request {
            None
        } else {
            let (Some(tid), Some(&unit)) = (be16(adu, 0), adu.get(6)) else {
                return;
            };
            let found = self.state.take(tid, unit);
            if found.is_none() {
                self.event(events::RESPONSE_WITHOUT_REQUEST);
            }
            found
        };
        let Some(pdu) = decode(adu, request, paired) else {
            self.event(events::BAD_LENGTH);
            return;
        };
        if pdu.malformed {
            self.event(events::BAD_LENGTH);
        }
        let fc = pdu.function_code;
        if request {
            if !known_fc(fc) {
                self.event(events::UNKNOWN_FUNCTION_CODE);
            }
            let info = RequestInfo {
                fc,
                address: pdu.address,
                quantity: pdu.quantity,
            };
            if self.state.remember(pdu.transaction_id, pdu.unit_id, info) {
                self.event(events::TOO_MANY_OUTSTANDING);
            }
        } else {
            if paired.is_some_and(|q| q.fc != fc) {
                self.event(events::RESPONSE_MISMATCH);
            }
            if pdu.kind == Kind::Exception {
                self.event(events::EXCEPTION_RESPONSE);
            }
            self.facts(&pdu);
        }
        self.sink.pdu(self.dir, &crate::Pdu::Modbus(pdu));
    }

    fn facts(&mut self, pdu: &Pdu<'_>) {
        // Gateway path unavailable / target failed to respond: nobody answered for this unit.
        let gateway_miss = matches!(pdu.exception_code, Some(10 | 11));
        if !gateway_miss && self.state.first_answer_from(pdu.unit_id) {
            self.sink.fact(Fact {
                kind: FactKind::ModbusUnitId,
                about: Side::Server,
                value: FactValue::Number(u64::from(pdu.unit_id)),
            });
        }
        let Some(objects) = pdu.objects else {
            return;
        };
        for (id, value) in objects.iter() {
            let kind = match id {
                0 => FactKind::ModbusVendor,
                1 => FactKind::ModbusProductCode,
                2 => FactKind::ModbusRevision,
                3 => FactKind::ModbusVendorUrl,
                4 => FactKind::ModbusProductName,
                5 => FactKind::ModbusModelName,
                _ => continue,
            };
            self.sink.fact(Fact {
                kind,
                about: Side::Server,
                value: value.fact_value(),
            });
        }
    }
}

/// Public function codes, user-defined ranges (65-72, 100-110) and Schneider UMAS (90).
fn known_fc(fc: u8) -> bool {
    matches!(fc, 1..=8 | 11 | 12 | 15..=17 | 20..=24 | 43 | 65..=72 | 90 | 100..=110)
}

impl Framing for Handler<'_, '_> {
    fn frame_len(&self, data: &[u8]) -> FrameLen {
        if self.strict && strict_header_ok(data) == Some(false) {
            return FrameLen::Invalid;
        }
        if be16(data, 2).is_some_and(|p| p != 0) {
            return FrameLen::Invalid;
        }
        match be16(data, 4) {
            None => FrameLen::NeedMore,
            Some(len) if len < 2 => FrameLen::Invalid,
            Some(len) => FrameLen::Len(6 + usize::from(len)),
        }
    }

    fn on_frame(&mut self, framed: Framed<'_>) {
        match framed {
            Framed::Frame(adu) => self.adu(adu),
            Framed::Oversize { .. } => self.event(events::OVERSIZE),
            Framed::Invalid(bytes) => {
                if be16(bytes, 2).is_some_and(|p| p != 0) {
                    self.event(events::BAD_PROTOCOL_ID);
                } else {
                    self.event(events::BAD_LENGTH);
                }
            }
        }
    }
}

impl Dissector for Session {
    fn parse(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        let Some(framer) = self.framers.get_mut(dir.index()) else {
            return;
        };
        let mut h = Handler {
            strict: !framer.synced(),
            state: &mut self.state,
            sink,
            dir,
        };
        framer.feed(data, &mut h);
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, sink: &mut dyn Sink) {
        if let Some(framer) = self.framers.get_mut(dir.index()) {
            framer.gap();
        }
        sink.event(
            dir,
            Event {
                proto: Proto::Modbus,
                name: events::GAP,
            },
        );
    }
}
