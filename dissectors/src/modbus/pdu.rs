//! The Modbus PDU view and its zero-copy decoder.
//!
//! [`decode`] reads one whole ADU (MBAP header included) into a [`Pdu`] that borrows the bytes:
//! register values, coil bytes, file records and device-identification strings are kept as
//! slices and only walked when serialised.

use serde::ser::{SerializeSeq, Serializer};
use serde::Serialize;

use super::{be16, MBAP_LEN};
use crate::FactValue;

/// What an ADU is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Client to server.
    Request,
    /// Server to client, normal reply.
    Response,
    /// A reply with the exception bit (0x80) set in the function code.
    Exception,
}

/// One Modbus/TCP ADU (MBAP header and PDU), borrowed from the stream.
///
/// Fields absent from an ADU are left out of the JSON.
#[derive(Debug, Serialize)]
pub struct Pdu<'a> {
    /// MBAP transaction identifier (pairs a response with its request).
    pub transaction_id: u16,
    /// MBAP unit identifier (the addressed slave behind a gateway; often 0, 1 or 255).
    pub unit_id: u8,
    /// Function code without the exception bit (1-127).
    pub function_code: u8,
    /// `"request"`, `"response"` or `"exception"`.
    pub kind: Kind,
    /// MBAP length field: bytes after it (unit id and PDU).
    pub length: u16,
    /// Exception code of an exception response (1 illegal function, 2 illegal data address,
    /// 3 illegal data value, 4 server failure, 5 acknowledge, 6 busy, 8 memory parity,
    /// 10 gateway path unavailable, 11 gateway target failed to respond).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception_code: Option<u8>,
    /// Starting address (FC 1-6, 15, 16, 22; read address of FC 23; FIFO pointer of FC 24).
    /// On read responses, taken from the paired request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<u16>,
    /// Number of coils or registers (FC 1-4, 15, 16; read quantity of FC 23; FIFO count of the
    /// FC 24 response). On read responses, taken from the paired request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<u16>,
    /// Single value: the output value of FC 5 (0xFF00 on, 0x0000 off), the register value of
    /// FC 6, the output-status byte of the FC 7 response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u16>,
    /// Write starting address of FC 23 (read/write multiple registers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_address: Option<u16>,
    /// Write quantity of FC 23.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_quantity: Option<u16>,
    /// AND mask of FC 22 (mask write register).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub and_mask: Option<u16>,
    /// OR mask of FC 22.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub or_mask: Option<u16>,
    /// Diagnostics (FC 8) sub-function code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_function: Option<u16>,
    /// Status word of FC 11 / FC 12 responses (0xFFFF: a previous command is still running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Event counter of FC 11 / FC 12 responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_count: Option<u16>,
    /// Message counter of the FC 12 response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u16>,
    /// Data values: registers as an array of u16 (FC 3, 4, 16, 23, 24), or packed coil /
    /// discrete-input bytes as an array of u8, least significant bit first (FC 1, 2, 15).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Values<'a>>,
    /// File records of FC 20 / FC 21: an array of `{file, record, length}` (read requests),
    /// `{file, record, length, values}` (writes) or `{values}` (read responses).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Records<'a>>,
    /// Other payload bytes as a hex string: FC 8 data, FC 12 event bytes, FC 17 server id and
    /// run indicator, FC 43 data of MEI types other than 14.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Hex<'a>>,
    /// MEI type of FC 43 (13 CANopen general reference, 14 read device identification).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mei_type: Option<u8>,
    /// FC 43/14 read device id code (1 basic, 2 regular, 3 extended, 4 one specific object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_device_id_code: Option<u8>,
    /// FC 43/14 request: the object id to start from (or the one asked for, code 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_id: Option<u8>,
    /// FC 43/14 response: conformity level (0x01-0x03, 0x81-0x83).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conformity_level: Option<u8>,
    /// FC 43/14 response: more objects follow (another request is needed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_follows: Option<bool>,
    /// FC 43/14 response: the object id to ask for next when `more_follows`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_object_id: Option<u8>,
    /// FC 43/14 response: objects as an array of `{id, value}` (0 VendorName, 1 ProductCode,
    /// 2 MajorMinorRevision, 3 VendorUrl, 4 ProductName, 5 ModelName, 6 UserApplicationName,
    /// 0x80-0xFF extended, device specific). `value` is a string, or an array of bytes when not
    /// UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<Objects<'a>>,
    /// The PDU body did not fit its function code (too short, too long, or counts that
    /// disagree); fields past the fault are missing.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_false(b: &bool) -> bool {
    !*b
}

/// Data values, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values<'a> {
    /// Big-endian 16-bit registers (a trailing odd byte is ignored).
    Registers(&'a [u8]),
    /// Packed bits, 8 per byte, least significant first.
    Bits(&'a [u8]),
}

impl<'a> Values<'a> {
    /// The register values (empty for bits).
    pub fn registers(&self) -> impl Iterator<Item = u16> + 'a {
        let b: &'a [u8] = match *self {
            Values::Registers(b) => b,
            Values::Bits(_) => &[],
        };
        b.chunks_exact(2).map(|c| {
            u16::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &'a [u8] {
        match *self {
            Values::Registers(b) | Values::Bits(b) => b,
        }
    }
}

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Values::Registers(b) => {
                let mut seq = s.serialize_seq(Some(b.len() / 2))?;
                for v in self.registers() {
                    seq.serialize_element(&v)?;
                }
                seq.end()
            }
            Values::Bits(b) => {
                let mut seq = s.serialize_seq(Some(b.len()))?;
                for v in b {
                    seq.serialize_element(v)?;
                }
                seq.end()
            }
        }
    }
}

/// Bytes serialised as a lowercase hex string (written straight to the output).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hex<'a>(pub &'a [u8]);

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A device-identification string: UTF-8 when it is (serialised as a string, no copy), else
/// the raw bytes (serialised as an array of u8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Text<'a>(pub &'a [u8]);

impl<'a> Text<'a> {
    /// The value as a fact value: text when valid UTF-8, else bytes.
    pub fn fact_value(&self) -> FactValue<'a> {
        match std::str::from_utf8(self.0) {
            Ok(s) => FactValue::Text(s),
            Err(_) => FactValue::Bytes(self.0),
        }
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for b in self.0 {
                    seq.serialize_element(b)?;
                }
                seq.end()
            }
        }
    }
}

/// The object list of an FC 43/14 response: `count` objects of `id, length, value` each
/// (validated when decoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Objects<'a> {
    bytes: &'a [u8],
}

impl<'a> Objects<'a> {
    /// `(object id, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (u8, Text<'a>)> + 'a {
        let mut rest = self.bytes;
        std::iter::from_fn(move || {
            let (&id, after) = rest.split_first()?;
            let (&len, after) = after.split_first()?;
            let (value, after) = after.split_at_checked(usize::from(len))?;
            rest = after;
            Some((id, Text(value)))
        })
    }
}

impl Serialize for Objects<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for (id, value) in self.iter() {
            seq.serialize_element(&Object { id, value })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct Object<'a> {
    id: u8,
    value: Text<'a>,
}

/// How the bytes of a [`Records`] are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordForm {
    /// FC 20 request: 7-byte sub-requests (reference type 6, file, record, length).
    ReadRequest,
    /// FC 21 request and response: sub-requests with `length` registers of data.
    Write,
    /// FC 20 response: sub-responses (length, reference type 6, data).
    ReadResponse,
}

/// The file records of FC 20 / FC 21 (validated when decoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Records<'a> {
    form: RecordForm,
    bytes: &'a [u8],
}

/// One file record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Record<'a> {
    /// File number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<u16>,
    /// Record number within the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u16>,
    /// Record length in registers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u16>,
    /// Register values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Values<'a>>,
}

impl<'a> Records<'a> {
    /// The records in order.
    pub fn iter(&self) -> impl Iterator<Item = Record<'a>> + 'a {
        let form = self.form;
        let mut rest = self.bytes;
        std::iter::from_fn(move || {
            let (rec, after) = split_record(form, rest)?;
            rest = after;
            Some(rec)
        })
    }
}

/// The first record of `b` and what follows it; `None` when `b` does not start with a whole one.
fn split_record(form: RecordForm, b: &[u8]) -> Option<(Record<'_>, &[u8])> {
    match form {
        RecordForm::ReadRequest | RecordForm::Write => {
            let (head, rest) = b.split_at_checked(7)?;
            let length = be16(head, 5)?;
            let rec = Record {
                file: be16(head, 1),
                record: be16(head, 3),
                length: Some(length),
                values: None,
            };
            if form == RecordForm::ReadRequest {
                return Some((rec, rest));
            }
            let (data, rest) = rest.split_at_checked(usize::from(length).checked_mul(2)?)?;
            Some((
                Record {
                    values: Some(Values::Registers(data)),
                    ..rec
                },
                rest,
            ))
        }
        RecordForm::ReadResponse => {
            let (&len, rest) = b.split_first()?;
            let (body, rest) = rest.split_at_checked(usize::from(len))?;
            let data = body.get(1..)?; // after the reference type
            Some((
                Record {
                    file: None,
                    record: None,
                    length: None,
                    values: Some(Values::Registers(data)),
                },
                rest,
            ))
        }
    }
}

impl Serialize for Records<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for r in self.iter() {
            seq.serialize_element(&r)?;
        }
        seq.end()
    }
}

/// A cursor over a PDU body; a read past the end yields `None`.
struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        let v = be16(self.0, 0)?;
        self.0 = self.0.get(2..)?;
        Some(v)
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (a, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(a)
    }
    fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.0)
    }
}

/// What a response's decoding borrows from its request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RequestInfo {
    pub fc: u8,
    pub address: Option<u16>,
    pub quantity: Option<u16>,
}

/// Decode one whole ADU. `request`: it travelled to the server. `paired`: the request a
/// response answers, when known. `None` when the ADU is shorter than a header and a function
/// code (the framer never hands such).
pub(crate) fn decode<'a>(
    adu: &'a [u8],
    request: bool,
    paired: Option<RequestInfo>,
) -> Option<Pdu<'a>> {
    let transaction_id = be16(adu, 0)?;
    let length = be16(adu, 4)?;
    let unit_id = *adu.get(6)?;
    let fc_raw = *adu.get(MBAP_LEN)?;
    let body = adu.get(MBAP_LEN + 1..)?;
    let exception = fc_raw & 0x80 != 0;
    let mut p = Pdu {
        transaction_id,
        unit_id,
        function_code: fc_raw & 0x7f,
        kind: if exception {
            Kind::Exception
        } else if request {
            Kind::Request
        } else {
            Kind::Response
        },
        length,
        exception_code: None,
        address: None,
        quantity: None,
        value: None,
        write_address: None,
        write_quantity: None,
        and_mask: None,
        or_mask: None,
        sub_function: None,
        status: None,
        event_count: None,
        message_count: None,
        values: None,
        records: None,
        data: None,
        mei_type: None,
        read_device_id_code: None,
        object_id: None,
        conformity_level: None,
        more_follows: None,
        next_object_id: None,
        objects: None,
        malformed: false,
    };
    let mut rd = Rd(body);
    let ok = if exception {
        rd.u8().map(|c| p.exception_code = Some(c))
    } else if request {
        decode_request(&mut p, &mut rd)
    } else {
        decode_response(&mut p, &mut rd, paired)
    };
    p.malformed = ok.is_none() || !rd.0.is_empty();
    Some(p)
}

fn registers(b: &[u8]) -> Option<Values<'_>> {
    (b.len() & 1 == 0).then_some(Values::Registers(b))
}

fn decode_request<'a>(p: &mut Pdu<'a>, r: &mut Rd<'a>) -> Option<()> {
    match p.function_code {
        1..=4 => {
            p.address = Some(r.u16()?);
            p.quantity = Some(r.u16()?);
        }
        5 | 6 => {
            p.address = Some(r.u16()?);
            p.value = Some(r.u16()?);
        }
        7 | 11 | 12 | 17 => {}
        8 => {
            p.sub_function = Some(r.u16()?);
            p.data = Some(Hex(r.rest()));
        }
        15 => {
            p.address = Some(r.u16()?);
            p.quantity = Some(r.u16()?);
            let n = r.u8()?;
            p.values = Some(Values::Bits(r.take(usize::from(n))?));
        }
        16 => {
            p.address = Some(r.u16()?);
            p.quantity = Some(r.u16()?);
            let n = r.u8()?;
            p.values = Some(registers(r.take(usize::from(n))?)?);
        }
        20 => {
            let n = r.u8()?;
            p.records = Some(records(RecordForm::ReadRequest, r.take(usize::from(n))?)?);
        }
        21 => {
            let n = r.u8()?;
            p.records = Some(records(RecordForm::Write, r.take(usize::from(n))?)?);
        }
        22 => {
            p.address = Some(r.u16()?);
            p.and_mask = Some(r.u16()?);
            p.or_mask = Some(r.u16()?);
        }
        23 => {
            p.address = Some(r.u16()?);
            p.quantity = Some(r.u16()?);
            p.write_address = Some(r.u16()?);
            p.write_quantity = Some(r.u16()?);
            let n = r.u8()?;
            p.values = Some(registers(r.take(usize::from(n))?)?);
        }
        24 => p.address = Some(r.u16()?),
        43 => {
            let mei = r.u8()?;
            p.mei_type = Some(mei);
            if mei == 14 {
                p.read_device_id_code = Some(r.u8()?);
                p.object_id = Some(r.u8()?);
            } else {
                p.data = Some(Hex(r.rest()));
            }
        }
        // Unknown, user-defined or vendor (UMAS) codes: the function code only.
        _ => {
            r.rest();
        }
    }
    Some(())
}

fn decode_response<'a>(p: &mut Pdu<'a>, r: &mut Rd<'a>, paired: Option<RequestInfo>) -> Option<()> {
    let fc = p.function_code;
    if let Some(req) = paired.filter(|q| q.fc == fc && matches!(fc, 1..=4 | 23)) {
        p.address = req.address;
        p.quantity = req.quantity;
    }
    match fc {
        1 | 2 => {
            let n = r.u8()?;
            p.values = Some(Values::Bits(r.take(usize::from(n))?));
        }
        3 | 4 | 23 => {
            let n = r.u8()?;
            p.values = Some(registers(r.take(usize::from(n))?)?);
        }
        5 | 6 => {
            p.address = Some(r.u16()?);
            p.value = Some(r.u16()?);
        }
        7 => p.value = Some(u16::from(r.u8()?)),
        8 => {
            p.sub_function = Some(r.u16()?);
            p.data = Some(Hex(r.rest()));
        }
        11 => {
            p.status = Some(r.u16()?);
            p.event_count = Some(r.u16()?);
        }
        12 => {
            let n = r.u8()?;
            let mut inner = Rd(r.take(usize::from(n))?);
            p.status = Some(inner.u16()?);
            p.event_count = Some(inner.u16()?);
            p.message_count = Some(inner.u16()?);
            p.data = Some(Hex(inner.rest()));
        }
        15 | 16 => {
            p.address = Some(r.u16()?);
            p.quantity = Some(r.u16()?);
        }
        17 => {
            let n = r.u8()?;
            p.data = Some(Hex(r.take(usize::from(n))?));
        }
        20 => {
            let n = r.u8()?;
            p.records = Some(records(RecordForm::ReadResponse, r.take(usize::from(n))?)?);
        }
        21 => {
            let n = r.u8()?;
            p.records = Some(records(RecordForm::Write, r.take(usize::from(n))?)?);
        }
        22 => {
            p.address = Some(r.u16()?);
            p.and_mask = Some(r.u16()?);
            p.or_mask = Some(r.u16()?);
        }
        24 => {
            let n = r.u16()?;
            let mut inner = Rd(r.take(usize::from(n))?);
            p.quantity = Some(inner.u16()?);
            p.values = Some(registers(inner.rest())?);
        }
        43 => {
            let mei = r.u8()?;
            p.mei_type = Some(mei);
            if mei == 14 {
                p.read_device_id_code = Some(r.u8()?);
                p.conformity_level = Some(r.u8()?);
                p.more_follows = Some(r.u8()? != 0);
                p.next_object_id = Some(r.u8()?);
                let count = r.u8()?;
                let start = r.0;
                let mut used = 0usize;
                for _ in 0..count {
                    let _id = r.u8()?;
                    let len = r.u8()?;
                    r.take(usize::from(len))?;
                    used = start.len() - r.0.len();
                    p.objects = Some(Objects {
                        bytes: start.get(..used)?,
                    });
                }
                p.objects = Some(Objects {
                    bytes: start.get(..used)?,
                });
            } else {
                p.data = Some(Hex(r.rest()));
            }
        }
        _ => {
            r.rest();
        }
    }
    Some(())
}

/// Records over `b`, when `b` is a whole number of them.
fn records(form: RecordForm, b: &[u8]) -> Option<Records<'_>> {
    let mut rest = b;
    while !rest.is_empty() {
        rest = split_record(form, rest)?.1;
    }
    Some(Records { form, bytes: b })
}
