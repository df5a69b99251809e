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
