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
