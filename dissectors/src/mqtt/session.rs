//! Per-connection MQTT state: framing per direction, the protocol level, the topic alias tables.

use super::events as ev;
use super::flags_plausible;
use super::pdu::{self, fixed_header, packet_type as pt, Anomalies, Header};
use super::wire::Text;
use crate::stream::{FrameLen, Framed, Framer, Framing};
use crate::{Direction, Dissector, Event, Fact, FactKind, FactValue, Proto, Side, Sink};

/// Largest packet buffered whole (the shared framer's default).
pub const DEFAULT_MAX_PDU: usize = 256 * 1024;
/// Topic aliases kept per direction; further aliases replace the oldest entries.
pub const MAX_ALIASES: usize = 64;
/// Longest topic kept for an alias; a longer topic leaves the alias unresolved.
pub const MAX_ALIAS_TOPIC: usize = 1024;

/// A bounded map from topic alias to topic (MQTT 5.0 section 3.3.2.3.4), for one direction.
#[derive(Debug, Default)]
struct AliasTable {
    entries: Vec<(u16, String)>,
    /// The topics' bytes, counted against the dissectors' global buffer ceiling.
    held: crate::stream::Reservation,
    /// Next entry to replace when the table is full.
    next: usize,
}

impl AliasTable {
    fn set(&mut self, alias: u16, topic: &str) {
        let pos = self.entries.iter().position(|(a, _)| *a == alias);
        if topic.len() > MAX_ALIAS_TOPIC {
            if let Some(i) = pos {
                self.entries.swap_remove(i);
            }
            return;
        }
        let slot = match pos {
            Some(i) => self.entries.get_mut(i),
            None if self.entries.len() < MAX_ALIASES => {
                self.entries.push((alias, String::new()));
                self.entries.last_mut()
            }
            None => {
                let i = self.next % MAX_ALIASES;
                self.next = self.next.wrapping_add(1);
                self.entries.get_mut(i)
            }
        };
        if let Some((a, t)) = slot {
            *a = alias;
            if t != topic {
                // Reuses the entry's allocation when it is large enough.
                t.clear();
                t.push_str(topic);
            }
        }
        // Keep the table only while the global ceiling has room for it (a flood of
        // connections each filling its table must not grow memory past the ceiling).
        let bytes: usize = self.entries.iter().map(|(_, t)| t.capacity()).sum();
        if !self.held.set(bytes) {
            self.entries = Vec::new();
            self.held.set(0);
        }
    }

    fn get(&self, alias: u16) -> Option<&str> {
        self.entries
            .iter()
            .find(|(a, _)| *a == alias)
            .map(|(_, t)| t.as_str())
    }
}

/// What the connection has shown so far (both directions).
#[derive(Debug, Default)]
struct Conn {
    /// Protocol level (3, 4, 5; 0 while unknown), from CONNECT, or 5 when a packet could only
    /// be MQTT 5.0.
    level: u8,
    /// The level was guessed from a packet's layout, not read from CONNECT.
    guessed: bool,
    connect_seen: bool,
    missing_connect_reported: bool,
}

/// Per-flow MQTT state.
#[derive(Debug)]
pub struct Session {
    framers: [Framer; 2],
    aliases: [AliasTable; 2],
    conn: Conn,
}

impl Default for Session {
    fn default() -> Self {
        Session::with_max_pdu(DEFAULT_MAX_PDU)
    }
}

impl Session {
    /// A session that buffers packets up to `cap` bytes; larger ones are parsed from their first
    /// segment, reported (`mqtt.oversize`) and skipped.
    pub fn with_max_pdu(cap: usize) -> Self {
        Session {
            framers: [Framer::new(cap), Framer::new(cap)],
            aliases: Default::default(),
            conn: Conn::default(),
        }
    }

    /// The connection's protocol level (3, 4 or 5), when known.
    pub fn protocol_level(&self) -> Option<u8> {
        (self.conn.level != 0).then_some(self.conn.level)
    }

    /// Whether [`Session::protocol_level`] was guessed (no CONNECT seen).
    pub fn level_guessed(&self) -> bool {
        self.conn.guessed
    }
}

impl Dissector for Session {
    fn parse(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        let i = dir.index();
        let (Some(framer), Some(aliases)) = (self.framers.get_mut(i), self.aliases.get_mut(i))
        else {
            return;
        };
        let mut ctx = Ctx {
            dir,
            conn: &mut self.conn,
            aliases,
            sink,
            strict: !framer.synced(),
        };
        framer.feed(data, &mut ctx);
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, sink: &mut dyn Sink) {
        if let Some(f) = self.framers.get_mut(dir.index()) {
            f.gap();
        }
        emit(sink, dir, ev::GAP);
    }
}

fn emit(sink: &mut dyn Sink, dir: Direction, name: &'static str) {
    sink.event(
        dir,
        Event {
            proto: Proto::Mqtt,
            name,
        },
    );
}

/// The framing callbacks for one `parse` call.
struct Ctx<'s> {
    dir: Direction,
    conn: &'s mut Conn,
    aliases: &'s mut AliasTable,
    sink: &'s mut dyn Sink,
    /// Resynchronising after a gap: accept only plausible packet starts.
    strict: bool,
}

impl Framing for Ctx<'_> {
    fn frame_len(&self, data: &[u8]) -> FrameLen {
        match fixed_header(data) {
            Header::Ok(h) => {
                if self.strict && !flags_plausible(h.packet_type, h.flags) {
                    return FrameLen::Invalid;
                }
                let rl = usize::try_from(h.remaining).unwrap_or(usize::MAX);
                FrameLen::Len(h.header_len.saturating_add(rl))
            }
            Header::NeedMore => match data.first() {
                Some(&b0) if self.strict && !flags_plausible(b0 >> 4, b0 & 0xf) => {
                    FrameLen::Invalid
                }
                _ => FrameLen::NeedMore,
            },
            Header::Invalid => FrameLen::Invalid,
        }
    }

    fn on_frame(&mut self, framed: Framed<'_>) {
        match framed {
            Framed::Frame(b) => {
                self.strict = false;
                self.packet(b);
            }
            Framed::Oversize { head, .. } => {
                self.strict = false;
                emit(self.sink, self.dir, ev::OVERSIZE);
                self.packet(head);
            }
            Framed::Invalid(_) => emit(self.sink, self.dir, ev::MALFORMED),
        }
    }
}

impl Ctx<'_> {
    fn packet(&mut self, frame: &[u8]) {
        let dir = self.dir;
        let parsed = pdu::parse(frame, self.conn.level);
        let mut pdu = parsed.pdu;
        if parsed.implies_v5 && self.conn.level == 0 {
            self.conn.level = 5;
            self.conn.guessed = true;
        }
        let a = parsed.anomalies;
        for (bit, name) in [
            (Anomalies::MALFORMED, ev::MALFORMED),
            (Anomalies::INVALID_PROPERTIES, ev::INVALID_PROPERTIES),
            (Anomalies::INVALID_QOS, ev::INVALID_QOS),
            (Anomalies::UNASSIGNED_TYPE, ev::UNASSIGNED_MESSAGE_TYPE),
            (Anomalies::INVALID_FLAGS, ev::INVALID_FLAGS),
            (Anomalies::INVALID_UTF8, ev::INVALID_UTF8),
            (Anomalies::INVALID_PROTOCOL, ev::INVALID_PROTOCOL),
        ] {
            if a.has(bit) {
                emit(self.sink, dir, name);
            }
        }
        match pdu.packet_type {
            pt::CONNECT => {
                if let Some(level) = pdu.protocol_level {
                    if self.conn.connect_seen {
                        emit(self.sink, dir, ev::DOUBLE_CONNECT);
                    }
                    self.conn.connect_seen = true;
                    self.conn.level = level & 0x7f;
                    self.conn.guessed = false;
                }
                if let Some(id) = pdu.client_id.filter(|s| !s.is_empty()) {
                    self.sink.fact(Fact {
                        kind: FactKind::MqttClientId,
                        about: Side::Client,
                        value: fact_text(id),
                    });
                }
                if let Some(user) = pdu.username {
                    self.sink.fact(Fact {
                        kind: FactKind::MqttUsername,
                        about: Side::Client,
                        value: fact_text(user),
                    });
                }
            }
            pt::CONNACK => {
                let (refused, auth) = match (pdu.return_code, pdu.reason_code) {
                    (Some(rc), _) => (rc != 0, matches!(rc, 4 | 5)),
                    (None, Some(rc)) => (rc >= 0x80, matches!(rc, 0x86 | 0x87)),
                    _ => (false, false),
                };
                if refused {
                    emit(self.sink, dir, ev::CONNECT_REFUSED);
                }
                if auth {
                    emit(self.sink, dir, ev::AUTH_FAILURE);
                }
                let assigned = pdu.properties.as_ref().and_then(|p| p.assigned_client_id());
                if assigned
                    .and_then(|t| t.as_str())
                    .is_some_and(is_mosquitto_assigned_id)
                {
                    self.sink.fact(Fact {
                        kind: FactKind::MqttBrokerProduct,
                        about: Side::Server,
                        value: FactValue::Text("mosquitto"),
                    });
                }
            }
            pt::PUBLISH | pt::SUBSCRIBE | pt::UNSUBSCRIBE
                if !self.conn.connect_seen && !self.conn.missing_connect_reported =>
            {
                self.conn.missing_connect_reported = true;
                emit(self.sink, dir, ev::MISSING_CONNECT);
            }
            _ => {}
        }
        if pdu.packet_type == pt::PUBLISH && parsed.v5 {
            if let Some(alias) = pdu.topic_alias {
                match pdu.topic {
                    Some(t) => self.aliases.set(alias, &t.to_str_lossy()),
                    None => match self.aliases.get(alias) {
                        Some(t) => pdu.topic = Some(Text(t.as_bytes())),
                        None => emit(self.sink, dir, ev::UNKNOWN_TOPIC_ALIAS),
                    },
                }
            }
        }
        self.sink.pdu(dir, &crate::Pdu::Mqtt(pdu));
    }
}

fn fact_text(t: Text<'_>) -> FactValue<'_> {
    match t.as_str() {
        Some(s) => FactValue::Text(s),
        None => FactValue::Bytes(t.as_bytes()),
    }
}

/// Mosquitto assigns client ids of the form `auto-XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX`
/// (upper-case hex).
fn is_mosquitto_assigned_id(id: &str) -> bool {
    let Some(uuid) = id.strip_prefix("auto-") else {
        return false;
    };
    uuid.len() == 36
        && uuid.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'A'..=b'F').contains(&b),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_table_is_bounded() {
        let mut t = AliasTable::default();
        for a in 0..200u16 {
            t.set(a, "x/y");
        }
        assert_eq!(t.entries.len(), MAX_ALIASES);
        assert_eq!(t.get(199), Some("x/y"));
        t.set(199, "z");
        assert_eq!(t.get(199), Some("z"));
        let long = "a".repeat(MAX_ALIAS_TOPIC + 1);
        t.set(199, &long);
        assert_eq!(t.get(199), None);
    }

    #[test]
    fn mosquitto_ids() {
        assert!(is_mosquitto_assigned_id(
            "auto-17236393-B532-03F2-6526-F71115B8A4BE"
        ));
        assert!(!is_mosquitto_assigned_id("auto-1234"));
        assert!(!is_mosquitto_assigned_id("mosq-aGMiV6nelbCb00tvAY"));
    }
}
