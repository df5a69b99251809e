//! The OPC UA binary encoding (OPC 10000-6 §5.2): a bounds-checked cursor over little-endian
//! built-in types, borrowing strings and byte strings from the input.
//!
//! Every reader returns `Err(Malformed)` instead of reading past the end; array counts are
//! checked against the bytes left (each element takes at least one byte), so no loop over a
//! hostile count runs longer than the input, and recursion (DiagnosticInfo) is depth-capped.

use serde::{Serialize, Serializer};
use std::fmt;

/// The bytes do not decode (too short, or an invalid length or encoding byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

pub type R<T> = Result<T, Malformed>;

/// Deepest DiagnosticInfo nesting followed (the stacks themselves cap it at a few levels).
const MAX_DIAG_DEPTH: u32 = 8;
/// Deepest Variant / DataValue nesting followed (a Variant holding a DataValue holding a
/// Variant...).
const MAX_VARIANT_DEPTH: u32 = 8;

/// Variant mask bits (§5.2.2.16): the built-in type id, an array, its dimensions.
const VARIANT_TYPE: u8 = 0x3f;
const VARIANT_ARRAY: u8 = 0x80;
const VARIANT_DIMENSIONS: u8 = 0x40;
/// Built-in type ids (§5.1.2) of the values read as more than "some other value".
const TYPE_STRING: u8 = 12;
const TYPE_LOCALIZED_TEXT: u8 = 21;
const TYPE_EXTENSION_OBJECT: u8 = 22;

/// A Variant's value, as far as it is read: the scalar kinds the dissector looks into, or
/// `Other` (any other type, any array: decoded only to be skipped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// The Variant is empty (type id 0).
    Null,
    /// A String scalar (`None` when null).
    String(Option<&'a [u8]>),
    /// A LocalizedText scalar: its text (`None` when absent).
    LocalizedText(Option<&'a [u8]>),
    /// An ExtensionObject scalar: its type (encoding) id and binary body. XML bodies and
    /// bodiless ones have `None`.
    ExtensionObject(NodeId<'a>, Option<&'a [u8]>),
    Other,
}

/// A DataValue (§5.2.2.17): its value (`Null` when absent) and status (`None` when absent,
/// which means Good); the timestamps are skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataValue<'a> {
    pub value: Value<'a>,
    pub status: Option<u32>,
}

/// A cursor over an encoded body.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Everything not yet read.
    pub fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    pub fn take(&mut self, n: usize) -> R<&'a [u8]> {
        let end = self.pos.checked_add(n).ok_or(Malformed)?;
        let s = self.buf.get(self.pos..end).ok_or(Malformed)?;
        self.pos = end;
        Ok(s)
    }

    pub fn skip(&mut self, n: usize) -> R<()> {
        self.take(n).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> R<[u8; N]> {
        let s = self.take(N)?;
        <[u8; N]>::try_from(s).map_err(|_| Malformed)
    }

    pub fn u8(&mut self) -> R<u8> {
        Ok(u8::from_le_bytes(self.array::<1>()?))
    }
    pub fn u16(&mut self) -> R<u16> {
        Ok(u16::from_le_bytes(self.array::<2>()?))
    }
    pub fn u32(&mut self) -> R<u32> {
        Ok(u32::from_le_bytes(self.array::<4>()?))
    }
    pub fn i32(&mut self) -> R<i32> {
        Ok(i32::from_le_bytes(self.array::<4>()?))
    }
    pub fn i64(&mut self) -> R<i64> {
        Ok(i64::from_le_bytes(self.array::<8>()?))
    }
    pub fn f64(&mut self) -> R<f64> {
        Ok(f64::from_le_bytes(self.array::<8>()?))
    }

    /// A length prefix: -1 is null (`None`), other negatives are invalid.
    fn length(&mut self) -> R<Option<usize>> {
        match self.i32()? {
            -1 => Ok(None),
            n => usize::try_from(n).map(Some).map_err(|_| Malformed),
        }
    }

    /// A String (UTF-8 expected, not required) or ByteString; `None` when null.
    pub fn bytes(&mut self) -> R<Option<&'a [u8]>> {
        match self.length()? {
            None => Ok(None),
            Some(n) => self.take(n).map(Some),
        }
    }

    /// An array's element count (null arrays count 0), checked against the bytes left.
    pub fn array_len(&mut self) -> R<u32> {
        match self.length()? {
            None => Ok(0),
            Some(n) if n <= self.remaining() => u32::try_from(n).map_err(|_| Malformed),
            Some(_) => Err(Malformed),
        }
    }

    /// Skip an array of Strings or ByteStrings.
    pub fn skip_string_array(&mut self) -> R<()> {
        for _ in 0..self.array_len()? {
            self.bytes()?;
        }
        Ok(())
    }

    /// A NodeId (§5.2.2.9). The ExpandedNodeId flags (0x80 namespace URI, 0x40 server index)
    /// are honoured too, so this also reads ExpandedNodeIds.
    pub fn node_id(&mut self) -> R<NodeId<'a>> {
        let mask = self.u8()?;
        let id = match mask & 0x3f {
            0 => NodeId {
                ns: 0,
                id: Identifier::Numeric(u32::from(self.u8()?)),
            },
            1 => {
                let ns = u16::from(self.u8()?);
                NodeId {
                    ns,
                    id: Identifier::Numeric(u32::from(self.u16()?)),
                }
            }
            2 => {
                let ns = self.u16()?;
                NodeId {
                    ns,
                    id: Identifier::Numeric(self.u32()?),
                }
            }
            3 => {
                let ns = self.u16()?;
                NodeId {
                    ns,
                    id: Identifier::String(self.bytes()?.unwrap_or_default()),
                }
            }
            4 => {
                let ns = self.u16()?;
                NodeId {
                    ns,
                    id: Identifier::Guid(self.array::<16>()?),
                }
            }
            5 => {
                let ns = self.u16()?;
                NodeId {
                    ns,
                    id: Identifier::Opaque(self.bytes()?.unwrap_or_default()),
                }
            }
            _ => return Err(Malformed),
        };
        if mask & 0x80 != 0 {
            self.bytes()?;
        }
        if mask & 0x40 != 0 {
            self.u32()?;
        }
        Ok(id)
    }

    /// A LocalizedText: the text (locale skipped); `None` when absent.
    pub fn localized_text(&mut self) -> R<Option<&'a [u8]>> {
        let mask = self.u8()?;
        if mask & 0x01 != 0 {
            self.bytes()?;
        }
        if mask & 0x02 != 0 {
            return self.bytes();
        }
        Ok(None)
    }

    /// An ExtensionObject: its type id and body (`None` when it has none).
    pub fn extension_object(&mut self) -> R<(NodeId<'a>, Option<&'a [u8]>)> {
        let (type_id, _, body) = self.extension_object_encoded()?;
        Ok((type_id, body))
    }

    /// An ExtensionObject with its encoding byte (0 no body, 1 ByteString, 2 XmlElement).
    fn extension_object_encoded(&mut self) -> R<(NodeId<'a>, u8, Option<&'a [u8]>)> {
        let type_id = self.node_id()?;
        let encoding = self.u8()?;
        let body = match encoding {
            0 => None,
            1 | 2 => self.bytes()?,
            _ => return Err(Malformed),
        };
        Ok((type_id, encoding, body))
    }

    /// A Variant (§5.2.2.16) at nesting `depth`. Values of other types and arrays are skipped
    /// over; an unknown built-in type id is malformed (its length is not known).
    fn variant_at(&mut self, depth: u32) -> R<Value<'a>> {
        if depth > MAX_VARIANT_DEPTH {
            return Err(Malformed);
        }
        let mask = self.u8()?;
        let ty = mask & VARIANT_TYPE;
        if mask & VARIANT_ARRAY == 0 {
            if mask & VARIANT_DIMENSIONS != 0 {
                return Err(Malformed);
            }
            return match ty {
                0 => Ok(Value::Null),
                TYPE_STRING => Ok(Value::String(self.bytes()?)),
                TYPE_LOCALIZED_TEXT => Ok(Value::LocalizedText(self.localized_text()?)),
                TYPE_EXTENSION_OBJECT => {
                    let (type_id, encoding, body) = self.extension_object_encoded()?;
                    Ok(Value::ExtensionObject(
                        type_id,
                        body.filter(|_| encoding == 1),
                    ))
                }
                _ => self.skip_builtin(ty, depth).map(|()| Value::Other),
            };
        }
        // `array_len` bounds the count by the bytes left, and every element takes at least one
        // byte (an array of the null type is malformed), so the loop ends within the input.
        for _ in 0..self.array_len()? {
            self.skip_builtin(ty, depth)?;
        }
        if mask & VARIANT_DIMENSIONS != 0 {
            let dims = self.array_len()?;
            self.skip(
                usize::try_from(dims)
                    .map_err(|_| Malformed)?
                    .saturating_mul(4),
            )?;
        }
        Ok(Value::Other)
    }

    /// Skip one value of built-in type `ty` (§5.1.2).
    fn skip_builtin(&mut self, ty: u8, depth: u32) -> R<()> {
        match ty {
            1..=3 => self.skip(1),                    // Boolean, SByte, Byte
            4 | 5 => self.skip(2),                    // Int16, UInt16
            6 | 7 | 10 | 19 => self.skip(4),          // Int32, UInt32, Float, StatusCode
            8 | 9 | 11 | 13 => self.skip(8),          // Int64, UInt64, Double, DateTime
            14 => self.skip(16),                      // Guid
            12 | 15 | 16 => self.bytes().map(|_| ()), // String, ByteString, XmlElement
            17 | 18 => self.node_id().map(|_| ()),    // NodeId, ExpandedNodeId
            20 => {
                // QualifiedName: namespace index, name
                self.u16()?;
                self.bytes().map(|_| ())
            }
            21 => self.localized_text().map(|_| ()),
            22 => self.extension_object().map(|_| ()),
            23 => self.data_value_at(depth + 1).map(|_| ()),
            24 => self.variant_at(depth + 1).map(|_| ()),
            25 => self.skip_diagnostic_info(),
            _ => Err(Malformed),
        }
    }

    /// A DataValue (§5.2.2.17): encoding mask, then value, status, source timestamp, source
    /// picoseconds, server timestamp, server picoseconds, each when its bit is set.
    pub fn data_value(&mut self) -> R<DataValue<'a>> {
        self.data_value_at(0)
    }

    fn data_value_at(&mut self, depth: u32) -> R<DataValue<'a>> {
        let mask = self.u8()?;
        let value = if mask & 0x01 != 0 {
            self.variant_at(depth)?
        } else {
            Value::Null
        };
        let status = if mask & 0x02 != 0 {
            Some(self.u32()?)
        } else {
            None
        };
        if mask & 0x04 != 0 {
            self.i64()?; // source timestamp
        }
        if mask & 0x10 != 0 {
            self.u16()?; // source picoseconds
        }
        if mask & 0x08 != 0 {
            self.i64()?; // server timestamp
        }
        if mask & 0x20 != 0 {
            self.u16()?; // server picoseconds
        }
        Ok(DataValue { value, status })
    }

    /// A DiagnosticInfo (§5.2.2.12), skipped.
    pub fn skip_diagnostic_info(&mut self) -> R<()> {
        self.diagnostic_info(0)
    }

    fn diagnostic_info(&mut self, depth: u32) -> R<()> {
        if depth > MAX_DIAG_DEPTH {
            return Err(Malformed);
        }
        let mask = self.u8()?;
        // SymbolicId, NamespaceUri, LocalizedText, Locale: Int32 indices into the string table.
        let ints = (mask & 0x0f).count_ones() as usize;
        self.skip(4 * ints)?;
        if mask & 0x10 != 0 {
            self.bytes()?;
        }
        if mask & 0x20 != 0 {
            self.u32()?;
        }
        if mask & 0x40 != 0 {
            self.diagnostic_info(depth + 1)?;
        }
        Ok(())
    }
}

/// A NodeId's identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identifier<'a> {
    Numeric(u32),
    String(&'a [u8]),
    Guid([u8; 16]),
    Opaque(&'a [u8]),
}

/// A NodeId, borrowed. Serialises in the standard text form (`i=85`, `ns=2;s=Temp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeId<'a> {
    pub ns: u16,
    pub id: Identifier<'a>,
}

impl NodeId<'_> {
    /// The numeric identifier, if it is one.
    pub fn numeric(&self) -> Option<u32> {
        match self.id {
            Identifier::Numeric(n) => Some(n),
            _ => None,
        }
    }
}

impl fmt::Display for NodeId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ns != 0 {
            write!(f, "ns={};", self.ns)?;
        }
        match self.id {
            Identifier::Numeric(n) => write!(f, "i={n}"),
            Identifier::String(s) => write!(f, "s={}", String::from_utf8_lossy(s)),
            Identifier::Guid(g) => {
                let [a0, a1, a2, a3, b0, b1, c0, c1, rest @ ..] = g;
                write!(
                    f,
                    "g={:08x}-{:04x}-{:04x}-",
                    u32::from_le_bytes([a0, a1, a2, a3]),
                    u16::from_le_bytes([b0, b1]),
                    u16::from_le_bytes([c0, c1])
                )?;
                for (i, b) in rest.iter().enumerate() {
                    if i == 2 {
                        f.write_str("-")?;
                    }
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
            Identifier::Opaque(b) => {
                f.write_str("b=")?;
                for x in b.iter().take(64) {
                    write!(f, "{x:02x}")?;
                }
                Ok(())
            }
        }
    }
}

impl Serialize for NodeId<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Text from the wire: serialised as a string (lossily when it is not UTF-8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Text<'a>(pub &'a [u8]);

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(t) => s.serialize_str(t),
            Err(_) => s.serialize_str(&String::from_utf8_lossy(self.0)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn node_id_encodings() {
        let cases: &[(&[u8], &str)] = &[
            (&[0x00, 0x55], "i=85"),
            (&[0x01, 0x00, 0x77, 0x02], "i=631"),
            (&[0x02, 0x02, 0x00, 0x10, 0x27, 0x00, 0x00], "ns=2;i=10000"),
            (&[0x03, 0x01, 0x00, 0x02, 0, 0, 0, b'h', b'i'], "ns=1;s=hi"),
            (&[0x05, 0x00, 0x00, 0x01, 0, 0, 0, 0xab], "b=ab"),
            (&[0x41, 0x00, 0x77, 0x02, 1, 0, 0, 0], "i=631"),
        ];
        for (bytes, want) in cases {
            let mut r = Reader::new(bytes);
            let id = r.node_id().unwrap();
            assert_eq!(id.to_string(), *want);
            assert_eq!(r.remaining(), 0);
        }
        let mut r = Reader::new(&[
            0x04, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        ]);
        assert_eq!(
            r.node_id().unwrap().to_string(),
            "g=04030201-0605-0807-090a-0b0c0d0e0f10"
        );
        assert_eq!(Reader::new(&[0x06, 0, 0]).node_id(), Err(Malformed));
        assert_eq!(Reader::new(&[0x02, 0, 0]).node_id(), Err(Malformed));
    }

    #[test]
    fn strings_and_arrays_are_bounded() {
        assert_eq!(Reader::new(&[0xff, 0xff, 0xff, 0xff]).bytes(), Ok(None));
        assert_eq!(
            Reader::new(&[0xfe, 0xff, 0xff, 0xff]).bytes(),
            Err(Malformed)
        );
        assert_eq!(Reader::new(&[5, 0, 0, 0, 1]).bytes(), Err(Malformed));
        assert_eq!(
            Reader::new(&[0xff, 0xff, 0xff, 0x7f]).array_len(),
            Err(Malformed)
        );
        assert_eq!(Reader::new(&[2, 0, 0, 0, 1, 2]).array_len(), Ok(2));
    }

    #[test]
    fn diagnostic_info_depth_is_capped() {
        let deep = [0x40u8; 64];
        assert_eq!(Reader::new(&deep).skip_diagnostic_info(), Err(Malformed));
        let mut r = Reader::new(&[0x61, 1, 0, 0, 0, 0, 0, 0x80, 0x00, 0x00]);
        r.skip_diagnostic_info().unwrap();
        assert_eq!(r.remaining(), 0);
    }
}
