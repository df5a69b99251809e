//! MQTT 3.1.1 and 5.0 control packets (properties left empty in v5).

/// Protocol version of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V311,
    V5,
}

/// Variable byte integer (remaining length, property length).
pub fn varint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 5);
    v.push(first);
    varint(body.len(), &mut v);
    v.extend_from_slice(body);
    v
}

/// CONNECT with clean session, the given client id and keep-alive (seconds).
pub fn connect(ver: Version, client_id: &str, keep_alive: u16) -> Vec<u8> {
    let mut b = Vec::with_capacity(32 + client_id.len());
    string(b"MQTT", &mut b);
    b.push(if ver == Version::V5 { 5 } else { 4 });
    b.push(0x02); // clean session / clean start
    b.extend_from_slice(&keep_alive.to_be_bytes());
    if ver == Version::V5 {
        b.push(0); // properties
    }
    string(client_id.as_bytes(), &mut b);
    packet(0x10, &b)
}

/// CONNECT with user name and password.
pub fn connect_with_auth(
    ver: Version,
    client_id: &str,
    keep_alive: u16,
    user: &str,
    pass: &[u8],
) -> Vec<u8> {
    let mut b = Vec::new();
    string(b"MQTT", &mut b);
    b.push(if ver == Version::V5 { 5 } else { 4 });
    b.push(0xc2);
    b.extend_from_slice(&keep_alive.to_be_bytes());
    if ver == Version::V5 {
        b.push(0);
    }
    string(client_id.as_bytes(), &mut b);
    string(user.as_bytes(), &mut b);
    string(pass, &mut b);
    packet(0x10, &b)
}

/// CONNACK (`code` 0 = accepted).
pub fn connack(ver: Version, session_present: bool, code: u8) -> Vec<u8> {
    let mut b = vec![session_present as u8, code];
    if ver == Version::V5 {
        b.push(0);
    }
    packet(0x20, &b)
}

/// PUBLISH; `packet_id` is used only for QoS 1 and 2.
pub fn publish(
    ver: Version,
    topic: &str,
    qos: u8,
    packet_id: u16,
    retain: bool,
    payload: &[u8],
) -> Vec<u8> {
    let qos = qos.min(2);
    let mut b = Vec::with_capacity(topic.len() + payload.len() + 8);
    string(topic.as_bytes(), &mut b);
    if qos > 0 {
        b.extend_from_slice(&packet_id.to_be_bytes());
    }
    if ver == Version::V5 {
        b.push(0);
    }
    b.extend_from_slice(payload);
    packet(0x30 | (qos << 1) | retain as u8, &b)
}

/// PUBACK (QoS 1 acknowledgement).
pub fn puback(ver: Version, packet_id: u16) -> Vec<u8> {
    let _ = ver; // v5 allows the short form (reason code omitted = success)
    packet(0x40, &packet_id.to_be_bytes())
}

/// SUBSCRIBE to `(topic filter, max QoS)` pairs.
pub fn subscribe(ver: Version, packet_id: u16, filters: &[(&str, u8)]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&packet_id.to_be_bytes());
    if ver == Version::V5 {
        b.push(0);
    }
    for (f, q) in filters {
        string(f.as_bytes(), &mut b);
        b.push(q & 3);
    }
    packet(0x82, &b)
}

/// SUBACK with one return / reason code per filter.
pub fn suback(ver: Version, packet_id: u16, codes: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&packet_id.to_be_bytes());
    if ver == Version::V5 {
        b.push(0);
    }
    b.extend_from_slice(codes);
    packet(0x90, &b)
}

pub fn pingreq() -> Vec<u8> {
    vec![0xc0, 0x00]
}

pub fn pingresp() -> Vec<u8> {
    vec![0xd0, 0x00]
}

/// DISCONNECT (v5: reason 0, no properties, short form).
pub fn disconnect(ver: Version) -> Vec<u8> {
    let _ = ver;
    vec![0xe0, 0x00]
}

// ---- Additions for the golden captures (the builders above are unchanged) ----

/// Packet types (fixed header bits 7-4).
pub mod ptype {
    pub const PUBREC: u8 = 5;
    pub const PUBREL: u8 = 6;
    pub const PUBCOMP: u8 = 7;
    pub const UNSUBSCRIBE: u8 = 10;
    pub const UNSUBACK: u8 = 11;
}

/// An MQTT 5.0 property list: the pre-encoded properties behind their varint length.
pub fn properties(props: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(props.len() + 4);
    varint(props.len(), &mut v);
    v.extend_from_slice(props);
    v
}

/// Property with a one-byte value (e.g. 0x01 payload format indicator).
pub fn prop_u8(id: u8, n: u8) -> Vec<u8> {
    vec![id, n]
}

/// Property with a two-byte value (0x21 receive maximum, 0x22 topic alias maximum, 0x23
/// topic alias).
pub fn prop_u16(id: u8, n: u16) -> Vec<u8> {
    let mut v = vec![id];
    v.extend_from_slice(&n.to_be_bytes());
    v
}

/// Property with a four-byte value (0x11 session expiry interval, 0x27 maximum packet size).
pub fn prop_u32(id: u8, n: u32) -> Vec<u8> {
    let mut v = vec![id];
    v.extend_from_slice(&n.to_be_bytes());
    v
}

/// Property with a UTF-8 string value (0x03 content type, 0x1f reason string).
pub fn prop_str(id: u8, s: &str) -> Vec<u8> {
    let mut v = vec![id];
    string(s.as_bytes(), &mut v);
    v
}

/// User property (0x26): a name / value string pair.
pub fn prop_user(name: &str, value: &str) -> Vec<u8> {
    let mut v = vec![0x26];
    string(name.as_bytes(), &mut v);
    string(value.as_bytes(), &mut v);
    v
}

/// Any control packet from its first byte and body (remaining length computed).
pub fn raw_packet(first: u8, body: &[u8]) -> Vec<u8> {
    packet(first, body)
}

/// MQTT 5.0 CONNECT (clean start) with `props` (pre-encoded, without their length).
pub fn connect_v5(client_id: &str, keep_alive: u16, props: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    string(b"MQTT", &mut b);
    b.push(5);
    b.push(0x02);
    b.extend_from_slice(&keep_alive.to_be_bytes());
    b.extend_from_slice(&properties(props));
    string(client_id.as_bytes(), &mut b);
    packet(0x10, &b)
}

/// MQTT 5.0 CONNACK with a reason code and properties.
pub fn connack_v5(session_present: bool, reason: u8, props: &[u8]) -> Vec<u8> {
    let mut b = vec![session_present as u8, reason];
    b.extend_from_slice(&properties(props));
    packet(0x20, &b)
}

/// MQTT 5.0 PUBLISH with properties; `topic` may be empty (then a topic alias must say it).
pub fn publish_v5(topic: &str, qos: u8, packet_id: u16, props: &[u8], payload: &[u8]) -> Vec<u8> {
    let qos = qos.min(2);
    let mut b = Vec::with_capacity(topic.len() + props.len() + payload.len() + 8);
    string(topic.as_bytes(), &mut b);
    if qos > 0 {
        b.extend_from_slice(&packet_id.to_be_bytes());
    }
    b.extend_from_slice(&properties(props));
    b.extend_from_slice(payload);
    packet(0x30 | (qos << 1), &b)
}

/// PUBREC, PUBREL or PUBCOMP (QoS 2 flow) in the short form (packet id only).
pub fn qos2_ack(ptype: u8, packet_id: u16) -> Vec<u8> {
    let first = (ptype << 4) | if ptype == ptype::PUBREL { 0x2 } else { 0 };
    packet(first, &packet_id.to_be_bytes())
}

/// UNSUBSCRIBE (3.1.1) from the given filters.
pub fn unsubscribe(packet_id: u16, filters: &[&str]) -> Vec<u8> {
    let mut b = packet_id.to_be_bytes().to_vec();
    for f in filters {
        string(f.as_bytes(), &mut b);
    }
    packet(0xa2, &b)
}

/// UNSUBACK (3.1.1).
pub fn unsuback(packet_id: u16) -> Vec<u8> {
    packet(0xb0, &packet_id.to_be_bytes())
}
