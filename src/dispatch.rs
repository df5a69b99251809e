//! Stage 5: which dissector gets a flow's bytes.
//!
//! A flow's protocol is chosen on its first application bytes: protocols registered for the
//! server's port are asked first, then all others of the same transport, and a protocol is
//! chosen only when its probe recognises the bytes. So Modbus/TCP on port 5020 is still found,
//! and a web server on port 502 is not reported as Modbus. A flow picked up mid-PDU gets a few
//! more chances (later segments usually start on a PDU boundary) before it is left alone.

use crate::reassembly::Delivery;
use edgetap_dissectors::{
    new_session, probe, Direction, Dissector, Event, Probe, Proto, Sink, Transport,
};

/// Data deliveries a flow may go unrecognised before we stop probing it.
const MAX_PROBES: u8 = 8;
/// Bytes kept per direction while a probe asks for more (a first segment shorter than a
/// header); beyond this the flow is judged on what it has.
const STASH: usize = 64;

/// A flow's application-layer state.
pub enum App {
    Undecided {
        tries: u8,
        stash: Option<Box<[Vec<u8>; 2]>>,
    },
    Active {
        proto: Proto,
        dissector: Box<dyn Dissector>,
    },
    /// Not a protocol we dissect.
    Unknown,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            App::Undecided { tries, .. } => write!(f, "Undecided({tries})"),
            App::Active { proto, .. } => write!(f, "Active({proto:?})"),
            App::Unknown => f.write_str("Unknown"),
        }
    }
}

impl Default for App {
    fn default() -> Self {
        App::Undecided {
            tries: 0,
            stash: None,
        }
    }
}

/// The protocol of `data` (first bytes in direction `dir`), trying port owners first.
fn classify(transport: Transport, server_port: u16, dir: Direction, data: &[u8]) -> Verdict {
    let mut need_more = false;
    let by_port = Proto::ALL
        .iter()
        .filter(|p| p.default_ports().contains(&server_port));
    let others = Proto::ALL
        .iter()
        .filter(|p| !p.default_ports().contains(&server_port));
    for &p in by_port.chain(others) {
        if p.transport() != transport || !p.enabled() {
            continue;
        }
        match probe(p, dir, data) {
            Probe::Yes => return Verdict::Found(p),
            Probe::NeedMore => need_more = true,
            Probe::No => {}
        }
    }
    if need_more {
        Verdict::NeedMore
    } else {
        Verdict::No
    }
}

/// A client's first bytes to a protocol's registered port that are not that protocol: worth a
/// person's attention on an ICS network (garbage to a PLC's port 502), reported once per flow.
fn unrecognized_on_port(transport: Transport, server_port: u16, v: &Verdict) -> Option<Event> {
    if !matches!(v, Verdict::No) {
        return None;
    }
    let p = Proto::ALL.into_iter().find(|p| {
        p.enabled() && p.transport() == transport && p.default_ports().contains(&server_port)
    })?;
    let name = match p {
        Proto::Modbus => "modbus.unrecognized_on_port",
        Proto::Bacnet => "bacnet.unrecognized_on_port",
        Proto::Mqtt => "mqtt.unrecognized_on_port",
        Proto::Amqp => "amqp.unrecognized_on_port",
        Proto::Opcua => "opcua.unrecognized_on_port",
    };
    Some(Event { proto: p, name })
}

/// What the probes say about a flow's first bytes.
enum Verdict {
    Found(Proto),
    NeedMore,
    No,
}

impl App {
    /// The chosen protocol, if any.
    pub fn proto(&self) -> Option<Proto> {
        match self {
            App::Active { proto, .. } => Some(*proto),
            _ => None,
        }
    }

    /// Hand one delivery (stream data, gap, end; or a whole datagram as `Data`) to the flow's
    /// dissector, choosing it first if need be.
    pub fn deliver(
        &mut self,
        transport: Transport,
        server_port: u16,
        dir: Direction,
        d: Delivery<'_>,
        sink: &mut dyn Sink,
    ) {
        match self {
            App::Active { dissector, .. } => match d {
                Delivery::Data(data) | Delivery::Held { data, .. } => {
                    dissector.parse(dir, data, sink)
                }
                Delivery::Gap(n) => dissector.on_gap(dir, n, sink),
                Delivery::Eof => dissector.on_eof(dir, sink),
            },
            App::Unknown => {}
            App::Undecided { tries, stash } => {
                let (Delivery::Data(data) | Delivery::Held { data, .. }) = d else {
                    // A gap before anything was recognised: the stash no longer precedes the
                    // next bytes.
                    if let Some(s) = stash.as_mut() {
                        s.iter_mut().for_each(Vec::clear);
                    }
                    return;
                };
                if data.is_empty() {
                    return;
                }
                *tries += 1;
                let held = stash
                    .as_ref()
                    .and_then(|s| s.get(dir.index()))
                    .filter(|v| !v.is_empty());
                let verdict = match held {
                    Some(prefix) => {
                        let mut joined = prefix.clone();
                        joined.extend_from_slice(data);
                        let v = classify(transport, server_port, dir, &joined);
                        if let Verdict::Found(p) = v {
                            self.activate(p);
                            if let App::Active { dissector, .. } = self {
                                dissector.parse(dir, &joined, sink);
                            }
                            return;
                        }
                        v
                    }
                    None => classify(transport, server_port, dir, data),
                };
                match verdict {
                    Verdict::Found(p) => {
                        self.activate(p);
                        if let App::Active { dissector, .. } = self {
                            dissector.parse(dir, data, sink);
                        }
                    }
                    Verdict::NeedMore if transport == Transport::Tcp => {
                        let s = stash.get_or_insert_with(Default::default);
                        if let Some(v) = s.get_mut(dir.index()) {
                            if v.len() + data.len() <= STASH {
                                v.extend_from_slice(data);
                            } else {
                                v.clear();
                            }
                        }
                    }
                    Verdict::NeedMore | Verdict::No => {
                        if *tries == 1 && dir == Direction::ToServer {
                            if let Some(ev) = unrecognized_on_port(transport, server_port, &verdict)
                            {
                                sink.event(dir, ev);
                            }
                        }
                        if let Some(s) = stash.as_mut() {
                            s.iter_mut().for_each(Vec::clear);
                        }
                        if *tries >= MAX_PROBES {
                            *self = App::Unknown;
                        }
                    }
                }
            }
        }
    }

    fn activate(&mut self, proto: Proto) {
        *self = match new_session(proto) {
            Some(dissector) => App::Active { proto, dissector },
            None => App::Unknown,
        };
    }
}
