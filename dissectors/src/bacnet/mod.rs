//! bacnet dissector (stub: to be written).

use crate::{Direction, Dissector, Probe, Sink};
use serde::Serialize;

/// One bacnet PDU.
#[derive(Debug, Serialize)]
pub struct Pdu<'a> {
    #[serde(skip)]
    _raw: &'a [u8],
}

/// Do these bytes look like bacnet?
pub fn probe(_dir: Direction, _data: &[u8]) -> Probe {
    Probe::No
}

/// Per-flow bacnet state.
#[derive(Debug, Default)]
pub struct Session {}

impl Dissector for Session {
    fn parse(&mut self, _dir: Direction, _data: &[u8], _sink: &mut dyn Sink) {}
    fn on_gap(&mut self, _dir: Direction, _len: u64, _sink: &mut dyn Sink) {}
}
