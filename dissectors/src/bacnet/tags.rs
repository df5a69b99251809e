//! BACnet tag decoding (ASHRAE 135 clause 20.2): application and context tags, opening and
//! closing tags, extended tag numbers and lengths, and the typed application values.
//!
//! The [`Reader`] walks a tag stream without allocating; it tracks the nesting of opening and
//! closing tags and refuses to go deeper than [`MAX_DEPTH`].

use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use std::fmt;

/// Deepest nesting of opening tags the reader follows.
pub const MAX_DEPTH: u8 = 16;

/// Why a tag stream could not be read further.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagError {
    /// The tag header or its value runs past the end of the data.
    Truncated,
    /// Opening tags nest deeper than [`MAX_DEPTH`].
    DepthExceeded,
    /// A closing tag without its opening tag, or a value of the wrong size or type.
    Invalid,
}

/// Application or context-specific tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Application,
    Context,
}

/// What a tag carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A primitive value: its content octets (empty for an application boolean, whose value is
    /// the tag's length/value/type field).
    Primitive(&'a [u8]),
    /// Context opening tag (LVT 6).
    Opening,
    /// Context closing tag (LVT 7).
    Closing,
}

/// One tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag<'a> {
    pub class: Class,
    pub number: u8,
    /// The raw length/value/type field (after extension), e.g. an application boolean's value.
    pub lvt: u32,
    pub kind: Kind<'a>,
}

impl<'a> Tag<'a> {
    /// The content octets of a primitive tag, or `None` for opening/closing tags.
    pub fn data(&self) -> Option<&'a [u8]> {
        match self.kind {
            Kind::Primitive(d) => Some(d),
            _ => None,
        }
    }
    /// Is this context tag `n` (primitive)?
    pub fn is_ctx(&self, n: u8) -> bool {
        self.class == Class::Context && self.number == n && matches!(self.kind, Kind::Primitive(_))
    }
    /// Is this the opening tag `n`?
    pub fn is_open(&self, n: u8) -> bool {
        self.class == Class::Context && self.number == n && self.kind == Kind::Opening
    }
    /// Is this the closing tag `n`?
    pub fn is_close(&self, n: u8) -> bool {
        self.class == Class::Context && self.number == n && self.kind == Kind::Closing
    }
    /// Is this application tag `n`?
    pub fn is_app(&self, n: u8) -> bool {
        self.class == Class::Application && self.number == n
    }
    /// A context tag's content as an unsigned integer.
    pub fn unsigned(&self) -> Option<u64> {
        self.data().and_then(be_unsigned)
    }
    /// A context tag's content as an object identifier.
    pub fn object_id(&self) -> Option<ObjectId> {
        self.data().and_then(object_id)
    }
    /// An application tag's typed value; context tags are read as raw bytes.
    pub fn value(&self) -> Result<Value<'a>, TagError> {
        match (self.class, self.kind) {
            (Class::Application, Kind::Primitive(d)) => app_value(self.number, self.lvt, d),
            (Class::Context, Kind::Primitive(d)) => Ok(Value::Context {
                tag: self.number,
                data: Hex(d),
            }),
            _ => Err(TagError::Invalid),
        }
    }
}

/// Reads tags one after another from a byte slice, tracking nesting.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    depth: u8,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            depth: 0,
        }
    }

    /// Bytes not yet read.
    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Current nesting depth (open opening tags).
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The next tag, without consuming it.
    pub fn peek(&self) -> Result<Option<Tag<'a>>, TagError> {
        if self.is_empty() {
            return Ok(None);
        }
        decode(self.rest()).map(|(t, _)| Some(t))
    }

    /// The next tag, or `None` at the end of the data.
    pub fn next_tag(&mut self) -> Result<Option<Tag<'a>>, TagError> {
        if self.is_empty() {
            return Ok(None);
        }
        let (tag, used) = decode(self.rest())?;
        match tag.kind {
            Kind::Opening => {
                if self.depth >= MAX_DEPTH {
                    return Err(TagError::DepthExceeded);
                }
                self.depth += 1;
            }
            Kind::Closing => {
                self.depth = self.depth.checked_sub(1).ok_or(TagError::Invalid)?;
            }
            Kind::Primitive(_) => {}
        }
        self.pos = self.pos.saturating_add(used);
        Ok(Some(tag))
    }

    /// The next tag, which must exist.
    pub fn tag(&mut self) -> Result<Tag<'a>, TagError> {
        self.next_tag()?.ok_or(TagError::Truncated)
    }

    /// Consume the next tag if `pred` accepts it.
    pub fn take_if(
        &mut self,
        pred: impl Fn(&Tag<'a>) -> bool,
    ) -> Result<Option<Tag<'a>>, TagError> {
        match self.peek()? {
            Some(t) if pred(&t) => self.next_tag(),
            _ => Ok(None),
        }
    }

    /// Consume context tag `n` (primitive) if it comes next.
    pub fn opt_ctx(&mut self, n: u8) -> Result<Option<Tag<'a>>, TagError> {
        self.take_if(|t| t.is_ctx(n))
    }

    /// Consume context tag `n` (primitive), which must come next.
    pub fn ctx(&mut self, n: u8) -> Result<Tag<'a>, TagError> {
        self.opt_ctx(n)?.ok_or(TagError::Invalid)
    }

    /// Consume application tag `n`, which must come next.
    pub fn app(&mut self, n: u8) -> Result<Tag<'a>, TagError> {
        self.take_if(|t| t.is_app(n))?.ok_or(TagError::Invalid)
    }

    /// Consume opening tag `n` if it comes next.
    pub fn opt_open(&mut self, n: u8) -> Result<bool, TagError> {
        Ok(self.take_if(|t| t.is_open(n))?.is_some())
    }

    /// Consume opening tag `n`, which must come next.
    pub fn open(&mut self, n: u8) -> Result<(), TagError> {
        if self.opt_open(n)? {
            Ok(())
        } else {
            Err(TagError::Invalid)
        }
    }

    /// Consume closing tag `n`, which must come next.
    pub fn close(&mut self, n: u8) -> Result<(), TagError> {
        self.take_if(|t| t.is_close(n))?
            .map(|_| ())
            .ok_or(TagError::Invalid)
    }

    /// After an opening tag `n` has been consumed: read everything up to its matching closing
    /// tag, returning the first application value inside (if any) and how many primitive
    /// values it held at the outermost level.
    pub fn enclosed(&mut self, n: u8) -> Result<(Option<Value<'a>>, u32), TagError> {
        let base = self.depth;
        let mut first = None;
        let mut count = 0u32;
        loop {
            let t = self.tag()?;
            if t.kind == Kind::Closing && self.depth < base {
                return if t.number == n {
                    Ok((first, count))
                } else {
                    Err(TagError::Invalid)
                };
            }
            if let Kind::Primitive(_) = t.kind {
                if self.depth == base {
                    count = count.saturating_add(1);
                }
                if first.is_none() {
                    first = Some(t.value()?);
                }
            }
        }
    }

    /// Skip tags until the depth falls below `base` (used to skip the rest of a constructed
    /// value); returns the closing tag's number.
    pub fn skip_to_depth(&mut self, base: u8) -> Result<u8, TagError> {
        loop {
            let t = self.tag()?;
            if t.kind == Kind::Closing && self.depth < base {
                return Ok(t.number);
            }
        }
    }
}

/// Decode one tag header and its content from the front of `d`; returns the tag and the number
/// of bytes it takes.
pub fn decode(d: &[u8]) -> Result<(Tag<'_>, usize), TagError> {
    let mut pos = 0usize;
    let first = *d.first().ok_or(TagError::Truncated)?;
    pos += 1;
    let mut number = first >> 4;
    if number == 0x0F {
        number = *d.get(pos).ok_or(TagError::Truncated)?;
        pos += 1;
    }
    let class = if first & 0x08 != 0 {
        Class::Context
    } else {
        Class::Application
    };
    let lvt_raw = first & 0x07;
    if class == Class::Context && lvt_raw == 6 {
        return Ok((
            Tag {
                class,
                number,
                lvt: 6,
                kind: Kind::Opening,
            },
            pos,
        ));
    }
    if class == Class::Context && lvt_raw == 7 {
        return Ok((
            Tag {
                class,
                number,
                lvt: 7,
                kind: Kind::Closing,
            },
            pos,
        ));
    }
    if class == Class::Application && number == 1 {
        // Boolean: the value is in the LVT field, no content octets.
        return Ok((
            Tag {
                class,
                number,
                lvt: u32::from(lvt_raw),
                kind: Kind::Primitive(&[]),
            },
            pos,
        ));
    }
    let len: u32 = if lvt_raw == 5 {
        let ext = *d.get(pos).ok_or(TagError::Truncated)?;
        pos += 1;
        match ext {
            254 => {
                let v = be_u16(d, pos).ok_or(TagError::Truncated)?;
                pos += 2;
                u32::from(v)
            }
            255 => {
                let v = be_u32(d, pos).ok_or(TagError::Truncated)?;
                pos += 4;
                v
            }
            n => u32::from(n),
        }
    } else {
        u32::from(lvt_raw)
    };
    let len_usize = usize::try_from(len).map_err(|_| TagError::Truncated)?;
    let end = pos.checked_add(len_usize).ok_or(TagError::Truncated)?;
    let content = d.get(pos..end).ok_or(TagError::Truncated)?;
    Ok((
        Tag {
            class,
            number,
            lvt: len,
            kind: Kind::Primitive(content),
        },
        end,
    ))
}

pub(crate) fn be_u16(d: &[u8], off: usize) -> Option<u16> {
    let b: [u8; 2] = d.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(b))
}

pub(crate) fn be_u32(d: &[u8], off: usize) -> Option<u32> {
    let b: [u8; 4] = d.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(b))
}

/// Big-endian unsigned integer of 1 to 8 octets.
pub fn be_unsigned(d: &[u8]) -> Option<u64> {
    if d.is_empty() || d.len() > 8 {
        return None;
    }
    Some(d.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Big-endian two's complement integer of 1 to 8 octets.
pub fn be_signed(d: &[u8]) -> Option<i64> {
    let u = be_unsigned(d)?;
    let bits = u32::try_from(d.len()).ok()?.checked_mul(8)?;
    if bits >= 64 {
        return Some(u as i64);
    }
    let shift = 64 - bits;
    Some(((u << shift) as i64) >> shift)
}

/// A BACnet object identifier: 10-bit object type, 22-bit instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ObjectId {
    /// Object type (8 = device).
    pub object_type: u16,
    /// Instance number.
    pub instance: u32,
}

/// Read a 4-octet object identifier.
pub fn object_id(d: &[u8]) -> Option<ObjectId> {
    let v = u32::from_be_bytes(d.try_into().ok()?);
    Some(ObjectId {
        object_type: (v >> 22) as u16,
        instance: v & 0x003F_FFFF,
    })
}

/// Bytes, serialised as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A BACnet date (0xFF = unspecified in any field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date {
    /// Years since 1900 (255 = any).
    pub year: u8,
    pub month: u8,
    pub day: u8,
    /// 1 = Monday .. 7 = Sunday.
    pub weekday: u8,
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Date", 4)?;
        let year = if self.year == 0xFF {
            None
        } else {
            Some(1900u16 + u16::from(self.year))
        };
        st.serialize_field("year", &year)?;
        st.serialize_field("month", &unspec(self.month))?;
        st.serialize_field("day", &unspec(self.day))?;
        st.serialize_field("weekday", &unspec(self.weekday))?;
        st.end()
    }
}

/// A BACnet time of day (0xFF = unspecified in any field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Time {
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub hundredths: u8,
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Time", 4)?;
        st.serialize_field("hour", &unspec(self.hour))?;
        st.serialize_field("minute", &unspec(self.minute))?;
        st.serialize_field("second", &unspec(self.second))?;
        st.serialize_field("hundredths", &unspec(self.hundredths))?;
        st.end()
    }
}

fn unspec(v: u8) -> Option<u8> {
    (v != 0xFF).then_some(v)
}

/// A typed BACnet value, borrowed from the datagram. Serialises as
/// `{"type": "<kind>", "value": ...}`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum Value<'a> {
    Null,
    Boolean(bool),
    Unsigned(u64),
    Signed(i64),
    Real(f32),
    Double(f64),
    /// Octets, as hex.
    OctetString(Hex<'a>),
    /// Character set 0 (UTF-8 / ANSI X3.4) that is valid UTF-8.
    CharacterString(&'a str),
    /// Any other character set (or invalid UTF-8): the set's number and the raw octets.
    CharacterBytes {
        charset: u8,
        data: Hex<'a>,
    },
    /// Bit string: unused bits in the last octet, and the octets.
    BitString {
        unused_bits: u8,
        data: Hex<'a>,
    },
    Enumerated(u64),
    Date(Date),
    Time(Time),
    ObjectIdentifier(ObjectId),
    /// A context-tagged value whose type the dissector does not know: tag number and octets.
    Context {
        tag: u8,
        data: Hex<'a>,
    },
    /// Reserved application tags 13-15.
    Reserved {
        tag: u8,
        data: Hex<'a>,
    },
}

impl<'a> Value<'a> {
    /// The text of a character string value (charset 0, valid UTF-8).
    pub fn as_str(&self) -> Option<&'a str> {
        match *self {
            Value::CharacterString(s) => Some(s),
            _ => None,
        }
    }
    /// The value as an unsigned number (unsigned or enumerated).
    pub fn as_unsigned(&self) -> Option<u64> {
        match *self {
            Value::Unsigned(v) | Value::Enumerated(v) => Some(v),
            _ => None,
        }
    }
}

/// A character string's content octets: charset, then text.
pub fn char_string(d: &[u8]) -> Option<Value<'_>> {
    let (&charset, text) = d.split_first()?;
    Some(match (charset, std::str::from_utf8(text)) {
        (0, Ok(s)) => Value::CharacterString(s),
        _ => Value::CharacterBytes {
            charset,
            data: Hex(text),
        },
    })
}

/// Decode an application-tagged primitive value.
pub fn app_value(number: u8, lvt: u32, d: &[u8]) -> Result<Value<'_>, TagError> {
    let bad = TagError::Invalid;
    Ok(match number {
        0 => Value::Null,
        1 => Value::Boolean(lvt != 0),
        2 => Value::Unsigned(be_unsigned(d).ok_or(bad)?),
        3 => Value::Signed(be_signed(d).ok_or(bad)?),
        4 => Value::Real(f32::from_be_bytes(d.try_into().map_err(|_| bad)?)),
        5 => Value::Double(f64::from_be_bytes(d.try_into().map_err(|_| bad)?)),
        6 => Value::OctetString(Hex(d)),
        7 => char_string(d).ok_or(bad)?,
        8 => {
            let (&unused_bits, data) = d.split_first().ok_or(bad)?;
            Value::BitString {
                unused_bits,
                data: Hex(data),
            }
        }
        9 => Value::Enumerated(be_unsigned(d).ok_or(bad)?),
        10 => {
            let b: [u8; 4] = d.try_into().map_err(|_| bad)?;
            Value::Date(Date {
                year: b[0],
                month: b[1],
                day: b[2],
                weekday: b[3],
            })
        }
        11 => {
            let b: [u8; 4] = d.try_into().map_err(|_| bad)?;
            Value::Time(Time {
                hour: b[0],
                minute: b[1],
                second: b[2],
                hundredths: b[3],
            })
        }
        12 => Value::ObjectIdentifier(object_id(d).ok_or(bad)?),
        tag => Value::Reserved { tag, data: Hex(d) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_length_and_tag_number() {
        // Octet string, extended length 5 bytes.
        let d = [0x65, 0x05, 1, 2, 3, 4, 5];
        let (t, n) = decode(&d).unwrap_or_else(|_| unreachable!());
        assert_eq!(n, 7);
        assert_eq!(t.value(), Ok(Value::OctetString(Hex(&[1, 2, 3, 4, 5]))));
        // Extended 16-bit length.
        let mut big = vec![0x65, 254, 0x01, 0x00];
        big.extend([0xAA; 256]);
        let (t, n) = decode(&big).unwrap_or_else(|_| unreachable!());
        assert_eq!(n, 260);
        assert_eq!(t.data().map(<[u8]>::len), Some(256));
        // Extended tag number 33, context, length 1.
        let (t, _) = decode(&[0xF9, 33, 7]).unwrap_or_else(|_| unreachable!());
        assert!(t.is_ctx(33));
        assert_eq!(t.unsigned(), Some(7));
        // Truncated.
        assert_eq!(decode(&[0x65, 0x05, 1]).err(), Some(TagError::Truncated));
        assert_eq!(decode(&[0x65, 255, 0, 0]).err(), Some(TagError::Truncated));
    }

    #[test]
    fn typed_values() {
        let v = |d: &'static [u8]| {
            decode(d)
                .and_then(|(t, _)| t.value())
                .unwrap_or(Value::Null)
        };
        assert_eq!(v(&[0x11]), Value::Boolean(true));
        assert_eq!(v(&[0x10]), Value::Boolean(false));
        assert_eq!(v(&[0x22, 0x01, 0xE0]), Value::Unsigned(480));
        assert_eq!(v(&[0x31, 0xFF]), Value::Signed(-1));
        assert_eq!(v(&[0x44, 0x41, 0xAC, 0x00, 0x00]), Value::Real(21.5));
        assert_eq!(
            v(&[0x55, 0x08, 0x40, 0x35, 0, 0, 0, 0, 0, 0]),
            Value::Double(21.0)
        );
        assert_eq!(
            v(&[0x75, 0x04, 0x00, b'a', b'b', b'c']),
            Value::CharacterString("abc")
        );
        assert_eq!(
            v(&[0x73, 0x04, 0x00, b'a']),
            Value::CharacterBytes {
                charset: 4,
                data: Hex(&[0, b'a'])
            }
        );
        assert_eq!(v(&[0x91, 0x03]), Value::Enumerated(3));
        assert_eq!(
            v(&[0xC4, 0x02, 0x00, 0x03, 0xE9]),
            Value::ObjectIdentifier(ObjectId {
                object_type: 8,
                instance: 1001
            })
        );
        assert_eq!(
            v(&[0x82, 0x04, 0xA0]),
            Value::BitString {
                unused_bits: 4,
                data: Hex(&[0xA0])
            }
        );
        assert!(matches!(v(&[0xA4, 124, 11, 22, 3]), Value::Date(_)));
        assert!(matches!(v(&[0xB4, 12, 30, 0, 0]), Value::Time(_)));
        assert_eq!(v(&[0x00]), Value::Null);
    }

    #[test]
    fn depth_is_bounded() {
        let deep = [0x0Eu8; 40];
        let mut r = Reader::new(&deep);
        let mut err = None;
        for _ in 0..40 {
            match r.next_tag() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert_eq!(err, Some(TagError::DepthExceeded));
    }

    #[test]
    fn enclosed_value() {
        // [3] real 21.5 [/3]
        let d = [0x3E, 0x44, 0x41, 0xAC, 0x00, 0x00, 0x3F];
        let mut r = Reader::new(&d);
        assert_eq!(r.opt_open(3), Ok(true));
        assert_eq!(r.enclosed(3), Ok((Some(Value::Real(21.5)), 1)));
        assert!(r.is_empty());
    }
}
