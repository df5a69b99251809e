//! BACnet/IP: BVLC + NPDU + APDU (Who-Is, I-Am, ReadProperty and its ComplexAck).

/// BVLC function: original unicast NPDU.
pub const ORIGINAL_UNICAST: u8 = 0x0a;
/// BVLC function: original broadcast NPDU.
pub const ORIGINAL_BROADCAST: u8 = 0x0b;

/// Common object types.
pub mod object {
    pub const ANALOG_INPUT: u16 = 0;
    pub const ANALOG_VALUE: u16 = 2;
    pub const BINARY_INPUT: u16 = 3;
    pub const DEVICE: u16 = 8;
}

/// Common property identifiers.
pub mod property {
    pub const OBJECT_NAME: u32 = 77;
    pub const PRESENT_VALUE: u32 = 85;
    pub const VENDOR_NAME: u32 = 121;
}

/// An application-tagged value for ComplexAck results.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Boolean(bool),
    Unsigned(u32),
    Real(f32),
    Enumerated(u32),
    CharString(String),
}

/// BVLC header (type 0x81, function, total length) around an NPDU.
pub fn bvlc(function: u8, npdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + npdu.len());
    v.push(0x81);
    v.push(function);
    v.extend_from_slice(&((4 + npdu.len()) as u16).to_be_bytes());
    v.extend_from_slice(npdu);
    v
}

/// NPDU (version 1, local network, no routing) carrying an APDU.
pub fn npdu(expecting_reply: bool, apdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + apdu.len());
    v.push(0x01);
    v.push(if expecting_reply { 0x04 } else { 0x00 });
    v.extend_from_slice(apdu);
    v
}

fn object_id(ty: u16, instance: u32) -> [u8; 4] {
    (((ty as u32) << 22) | (instance & 0x3f_ffff)).to_be_bytes()
}

/// Minimal big-endian encoding of an unsigned (1 to 4 bytes).
fn unsigned_bytes(n: u32) -> Vec<u8> {
    let b = n.to_be_bytes();
    let skip = (n.leading_zeros() / 8).min(3) as usize;
    b[skip..].to_vec()
}

fn app_tag(tag: u8, data: &[u8], out: &mut Vec<u8>) {
    if data.len() <= 4 {
        out.push((tag << 4) | data.len() as u8);
    } else {
        out.push((tag << 4) | 5);
        out.push(data.len() as u8);
    }
    out.extend_from_slice(data);
}

fn ctx_tag(tag: u8, data: &[u8], out: &mut Vec<u8>) {
    out.push((tag << 4) | 0x08 | data.len() as u8);
    out.extend_from_slice(data);
}

fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Boolean(b) => out.push(0x10 | *b as u8),
        Value::Unsigned(n) => app_tag(2, &unsigned_bytes(*n), out),
        Value::Real(f) => app_tag(4, &f.to_be_bytes(), out),
        Value::Enumerated(n) => app_tag(9, &unsigned_bytes(*n), out),
        Value::CharString(s) => {
            let mut d = vec![0u8]; // ANSI X3.4 / UTF-8
            d.extend_from_slice(s.as_bytes());
            app_tag(7, &d, out)
        }
    }
}

/// Who-Is (unconfirmed service 8) as an original-broadcast, optionally with an instance range.
pub fn who_is(range: Option<(u32, u32)>) -> Vec<u8> {
    let mut apdu = vec![0x10, 0x08];
    if let Some((lo, hi)) = range {
        ctx_tag(0, &unsigned_bytes(lo), &mut apdu);
        ctx_tag(1, &unsigned_bytes(hi), &mut apdu);
    }
    bvlc(ORIGINAL_BROADCAST, &npdu(false, &apdu))
}

/// I-Am (unconfirmed service 0): device instance, max APDU 1476, no segmentation, vendor.
pub fn i_am(device_instance: u32, vendor_id: u16) -> Vec<u8> {
    let mut apdu = vec![0x10, 0x00];
    app_tag(12, &object_id(object::DEVICE, device_instance), &mut apdu);
    app_tag(2, &1476u16.to_be_bytes(), &mut apdu);
    app_tag(9, &[3], &mut apdu);
    app_tag(2, &unsigned_bytes(vendor_id as u32), &mut apdu);
    bvlc(ORIGINAL_BROADCAST, &npdu(false, &apdu))
}

/// ReadProperty confirmed request (service 12), unicast.
pub fn read_property_req(invoke_id: u8, obj_type: u16, instance: u32, property: u32) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x05, invoke_id, 0x0c];
    ctx_tag(0, &object_id(obj_type, instance), &mut apdu);
    ctx_tag(1, &unsigned_bytes(property), &mut apdu);
    bvlc(ORIGINAL_UNICAST, &npdu(true, &apdu))
}

/// ReadProperty ComplexAck carrying `value`.
pub fn read_property_ack(
    invoke_id: u8,
    obj_type: u16,
    instance: u32,
    property: u32,
    value: &Value,
) -> Vec<u8> {
    let mut apdu = vec![0x30, invoke_id, 0x0c];
    ctx_tag(0, &object_id(obj_type, instance), &mut apdu);
    ctx_tag(1, &unsigned_bytes(property), &mut apdu);
    apdu.push(0x3e);
    encode_value(value, &mut apdu);
    apdu.push(0x3f);
    bvlc(ORIGINAL_UNICAST, &npdu(false, &apdu))
}

/// Error PDU for a confirmed service (`class`, `code` as enumerations).
pub fn error(invoke_id: u8, service: u8, class: u8, code: u8) -> Vec<u8> {
    let apdu = vec![0x50, invoke_id, service, 0x91, class, 0x91, code];
    bvlc(ORIGINAL_UNICAST, &npdu(false, &apdu))
}

// ---- Additions for the golden captures (the builders above are unchanged) ----

/// BVLC function: Forwarded-NPDU (carries the original source's B/IP address).
pub const FORWARDED_NPDU: u8 = 0x04;

/// Confirmed service choices.
pub mod service {
    pub const READ_PROPERTY: u8 = 12;
    pub const WRITE_PROPERTY: u8 = 15;
    pub const DEVICE_COMMUNICATION_CONTROL: u8 = 17;
    pub const REINITIALIZE_DEVICE: u8 = 20;
}

/// A network address in an NPDU: network number and MAC (empty MAC: broadcast on `net`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetAddr {
    pub net: u16,
    pub mac: Vec<u8>,
}

/// NPDU with optional destination (with hop count) and source specifiers.
pub fn npdu_routed(
    expecting_reply: bool,
    dest: Option<(&NetAddr, u8)>,
    src: Option<&NetAddr>,
    apdu: &[u8],
) -> Vec<u8> {
    let mut control = if expecting_reply { 0x04 } else { 0x00 };
    if dest.is_some() {
        control |= 0x20;
    }
    if src.is_some() {
        control |= 0x08;
    }
    let mut v = vec![0x01, control];
    if let Some((d, _)) = dest {
        v.extend_from_slice(&d.net.to_be_bytes());
        v.push(d.mac.len() as u8);
        v.extend_from_slice(&d.mac);
    }
    if let Some(s) = src {
        v.extend_from_slice(&s.net.to_be_bytes());
        v.push(s.mac.len() as u8);
        v.extend_from_slice(&s.mac);
    }
    if let Some((_, hops)) = dest {
        v.push(hops);
    }
    v.extend_from_slice(apdu);
    v
}

/// Forwarded-NPDU: BVLC 0x04, the original source's IPv4 address and port, then the NPDU.
pub fn forwarded_npdu(orig_ip: [u8; 4], orig_port: u16, npdu: &[u8]) -> Vec<u8> {
    let mut body = orig_ip.to_vec();
    body.extend_from_slice(&orig_port.to_be_bytes());
    body.extend_from_slice(npdu);
    bvlc(FORWARDED_NPDU, &body)
}

/// APDU of Who-Is (unconfirmed 8) without a range.
pub fn who_is_apdu() -> Vec<u8> {
    vec![0x10, 0x08]
}

/// APDU of I-Am for a device (max APDU 1476, segmentation both, vendor).
pub fn i_am_apdu(device_instance: u32, vendor_id: u16) -> Vec<u8> {
    let mut apdu = vec![0x10, 0x00];
    app_tag(12, &object_id(object::DEVICE, device_instance), &mut apdu);
    app_tag(2, &1476u16.to_be_bytes(), &mut apdu);
    app_tag(9, &[0], &mut apdu);
    app_tag(2, &unsigned_bytes(vendor_id as u32), &mut apdu);
    apdu
}

/// Service data of a ReadProperty request (object, property).
pub fn read_property_args(obj_type: u16, instance: u32, property: u32) -> Vec<u8> {
    let mut a = Vec::new();
    ctx_tag(0, &object_id(obj_type, instance), &mut a);
    ctx_tag(1, &unsigned_bytes(property), &mut a);
    a
}

/// Confirmed-request APDU (max 16 segments / 1476 bytes; `seg_ok`: segmented response
/// accepted).
pub fn confirmed_apdu(invoke_id: u8, service: u8, seg_ok: bool, args: &[u8]) -> Vec<u8> {
    let mut apdu = vec![if seg_ok { 0x02 } else { 0x00 }, 0x45, invoke_id, service];
    apdu.extend_from_slice(args);
    apdu
}

/// A confirmed request as an original-unicast BVLC (local network).
pub fn confirmed_request(invoke_id: u8, service: u8, args: &[u8]) -> Vec<u8> {
    bvlc(
        ORIGINAL_UNICAST,
        &npdu(true, &confirmed_apdu(invoke_id, service, false, args)),
    )
}

/// SimpleAck (for WriteProperty, DeviceCommunicationControl, ReinitializeDevice...).
pub fn simple_ack(invoke_id: u8, service: u8) -> Vec<u8> {
    bvlc(ORIGINAL_UNICAST, &npdu(false, &[0x20, invoke_id, service]))
}

/// One segment of a ComplexAck: `more` follows, sequence number, proposed window size, and
/// the part of the service data this segment carries.
pub fn complex_ack_segment(
    invoke_id: u8,
    service: u8,
    seq: u8,
    window: u8,
    more: bool,
    part: &[u8],
) -> Vec<u8> {
    let mut apdu = vec![
        0x38 | if more { 0x04 } else { 0 },
        invoke_id,
        seq,
        window,
        service,
    ];
    apdu.extend_from_slice(part);
    bvlc(ORIGINAL_UNICAST, &npdu(false, &apdu))
}

/// SegmentACK from the client (`server` false) or the server, acknowledging `seq`.
pub fn segment_ack(invoke_id: u8, seq: u8, window: u8, server: bool, negative: bool) -> Vec<u8> {
    let first = 0x40 | if server { 0x01 } else { 0 } | if negative { 0x02 } else { 0 };
    bvlc(
        ORIGINAL_UNICAST,
        &npdu(false, &[first, invoke_id, seq, window]),
    )
}

/// ReadProperty ComplexAck service data (without the APDU header) for a property whose
/// value is a list of character strings (e.g. a long object list or a description).
pub fn read_property_ack_args(
    obj_type: u16,
    instance: u32,
    property: u32,
    values: &[Value],
) -> Vec<u8> {
    let mut a = Vec::new();
    ctx_tag(0, &object_id(obj_type, instance), &mut a);
    ctx_tag(1, &unsigned_bytes(property), &mut a);
    a.push(0x3e);
    for v in values {
        encode_value(v, &mut a);
    }
    a.push(0x3f);
    a
}

/// Reject PDU (reason: 9 unrecognized service, ...).
pub fn reject(invoke_id: u8, reason: u8) -> Vec<u8> {
    bvlc(ORIGINAL_UNICAST, &npdu(false, &[0x60, invoke_id, reason]))
}

/// Abort PDU from the server (`server` true) or the client (reason: 4 segmentation not
/// supported, ...).
pub fn abort(invoke_id: u8, reason: u8, server: bool) -> Vec<u8> {
    bvlc(
        ORIGINAL_UNICAST,
        &npdu(false, &[0x70 | server as u8, invoke_id, reason]),
    )
}

/// WriteProperty service data: object, property, value, optional priority.
pub fn write_property_args(
    obj_type: u16,
    instance: u32,
    property: u32,
    value: &Value,
    priority: Option<u8>,
) -> Vec<u8> {
    let mut a = Vec::new();
    ctx_tag(0, &object_id(obj_type, instance), &mut a);
    ctx_tag(1, &unsigned_bytes(property), &mut a);
    a.push(0x3e);
    encode_value(value, &mut a);
    a.push(0x3f);
    if let Some(p) = priority {
        ctx_tag(4, &[p], &mut a);
    }
    a
}

/// DeviceCommunicationControl service data: duration (minutes), enable-disable (0 enable,
/// 1 disable, 2 disable-initiation), password.
pub fn device_communication_control_args(
    minutes: Option<u16>,
    state: u8,
    password: &str,
) -> Vec<u8> {
    let mut a = Vec::new();
    if let Some(m) = minutes {
        ctx_tag(0, &unsigned_bytes(m as u32), &mut a);
    }
    ctx_tag(1, &[state], &mut a);
    let mut pw = vec![0u8];
    pw.extend_from_slice(password.as_bytes());
    ctx_tag_long(2, &pw, &mut a);
    a
}

/// ReinitializeDevice service data: state (0 coldstart, 1 warmstart...), password.
pub fn reinitialize_device_args(state: u8, password: &str) -> Vec<u8> {
    let mut a = Vec::new();
    ctx_tag(0, &[state], &mut a);
    let mut pw = vec![0u8];
    pw.extend_from_slice(password.as_bytes());
    ctx_tag_long(1, &pw, &mut a);
    a
}

/// A context tag whose data may be longer than 4 bytes.
fn ctx_tag_long(tag: u8, data: &[u8], out: &mut Vec<u8>) {
    if data.len() <= 4 {
        ctx_tag(tag, data, out);
    } else {
        out.push((tag << 4) | 0x08 | 5);
        out.push(data.len() as u8);
        out.extend_from_slice(data);
    }
}
