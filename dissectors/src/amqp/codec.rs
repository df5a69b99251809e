//! Bounded, zero-copy readers for the two AMQP encodings.
//!
//! * [`Reader`]: a cursor over big-endian bytes that returns `None` instead of panicking.
//! * [`Table`]: an AMQP 0-9-1 field table (spec 4.2.5.5 plus the RabbitMQ errata type codes),
//!   iterated in place; nested tables and arrays are length-prefixed, so they are skipped
//!   without recursion and looked into only on request.
//! * [`Value`] / [`read_value`]: an AMQP 1.0 value (spec part 1, "Types"): described types,
//!   lists, maps, arrays, strings, symbols, binaries and numbers. Compound values are returned as
//!   views over their encoded bytes and walked lazily; the only recursion (a described type's
//!   descriptor being itself described) is capped at [`MAX_DEPTH`].

use serde::{Serialize, Serializer};

/// How deeply described descriptors / nested values are followed before giving up.
pub const MAX_DEPTH: usize = 8;

/// Big-endian cursor; every read is checked.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    /// Bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Some(a)
    }
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    pub fn u8(&mut self) -> Option<u8> {
        let (first, rest) = self.buf.split_first()?;
        self.buf = rest;
        Some(*first)
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.arr().map(u16::from_be_bytes)
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.arr().map(u32::from_be_bytes)
    }
    pub fn u64(&mut self) -> Option<u64> {
        self.arr().map(u64::from_be_bytes)
    }
    /// 0-9-1 short string: one length octet, then the bytes.
    pub fn shortstr(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    /// 0-9-1 long string: a 32-bit length, then the bytes.
    pub fn longstr(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()?;
        self.take(usize::try_from(n).ok()?)
    }
}

/// Borrowed text from the wire: serialised as a string, lossily when it is not UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Str<'a>(pub &'a [u8]);

impl Serialize for Str<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(t) => s.serialize_str(t),
            Err(_) => s.serialize_str(&String::from_utf8_lossy(self.0)),
        }
    }
}

impl<'a> Str<'a> {
    /// As an identity fact value.
    pub fn fact(self) -> crate::FactValue<'a> {
        match std::str::from_utf8(self.0) {
            Ok(t) => crate::FactValue::Text(t),
            Err(_) => crate::FactValue::Bytes(self.0),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AMQP 0-9-1 field tables
// ---------------------------------------------------------------------------------------------

/// One field value of a 0-9-1 table, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field<'a> {
    /// `S` long string or `x` byte array.
    Bytes(&'a [u8]),
    /// `F` nested table.
    Table(Table<'a>),
    /// `t` boolean.
    Bool(bool),
    /// Any integer type (signed ones sign-extended then reinterpreted).
    Int(i64),
    /// Everything else (floats, decimals, arrays, timestamps, void): the raw encoding.
    Other(u8, &'a [u8]),
}

/// A 0-9-1 field table's body (without its 32-bit length).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Table<'a>(pub &'a [u8]);

impl<'a> Table<'a> {
    /// Read a table (32-bit length, then entries) from `r`.
    pub fn read(r: &mut Reader<'a>) -> Option<Table<'a>> {
        r.longstr().map(Table)
    }

    /// Iterate over `(key, value)`; stops at the first entry that does not decode.
    pub fn iter(self) -> TableIter<'a> {
        TableIter {
            r: Reader::new(self.0),
        }
    }

    /// The value of top-level key `key`, without allocating.
    pub fn get(self, key: &[u8]) -> Option<Field<'a>> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// A top-level string value.
    pub fn get_str(self, key: &[u8]) -> Option<Str<'a>> {
        match self.get(key)? {
            Field::Bytes(b) => Some(Str(b)),
            _ => None,
        }
    }

    /// Follow a path of keys through nested tables (at most [`MAX_DEPTH`] levels).
    pub fn get_path(self, path: &[&[u8]]) -> Option<Field<'a>> {
        if path.is_empty() || path.len() > MAX_DEPTH {
            return None;
        }
        let mut table = self;
        let mut found = None;
        for (i, key) in path.iter().enumerate() {
            let v = table.get(key)?;
            if i + 1 == path.len() {
                found = Some(v);
            } else if let Field::Table(t) = v {
                table = t;
            } else {
                return None;
            }
        }
        found
    }
}

/// Iterator over a [`Table`].
#[derive(Clone, Debug)]
pub struct TableIter<'a> {
    r: Reader<'a>,
}

/// Read one typed field value (type octet already read).
fn field_value<'a>(r: &mut Reader<'a>, ty: u8) -> Option<Field<'a>> {
    let fixed = |r: &mut Reader<'a>, n: usize| r.take(n).map(|b| Field::Other(ty, b));
    Some(match ty {
        b't' => Field::Bool(r.u8()? != 0),
        b'b' => Field::Int(i64::from(r.u8()? as i8)),
        b'B' => Field::Int(i64::from(r.u8()?)),
        b's' | b'U' => Field::Int(i64::from(r.u16()? as i16)),
        b'u' => Field::Int(i64::from(r.u16()?)),
        b'I' => Field::Int(i64::from(r.u32()? as i32)),
        b'i' => Field::Int(i64::from(r.u32()?)),
        b'l' | b'L' => Field::Int(r.u64()? as i64),
        b'S' | b'x' => Field::Bytes(r.longstr()?),
        b'F' => Field::Table(Table(r.longstr()?)),
        b'A' => Field::Other(ty, r.longstr()?),
        b'f' => fixed(r, 4)?,
        b'd' | b'T' => fixed(r, 8)?,
        b'D' => fixed(r, 5)?,
        b'V' => Field::Other(ty, &[]),
        _ => return None,
    })
}

impl<'a> Iterator for TableIter<'a> {
    type Item = (&'a [u8], Field<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.r.is_empty() {
            return None;
        }
        let item = (|| {
            let key = self.r.shortstr()?;
            let ty = self.r.u8()?;
            Some((key, field_value(&mut self.r, ty)?))
        })();
        if item.is_none() {
            // Undecodable entry: stop here rather than guess.
            self.r = Reader::new(&[]);
        }
        item
    }
}

// ---------------------------------------------------------------------------------------------
// AMQP 1.0 type system
// ---------------------------------------------------------------------------------------------

/// A decoded AMQP 1.0 value, borrowed from the frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// ubyte, ushort, uint, ulong (and their compact forms).
    Uint(u64),
    /// byte, short, int, long, timestamp.
    Int(i64),
    /// vbin8 / vbin32.
    Binary(&'a [u8]),
    /// str8-utf8 / str32-utf8.
    Str(&'a [u8]),
    /// sym8 / sym32.
    Sym(&'a [u8]),
    /// list0 / list8 / list32: element count and the encoded elements.
    List(Compound<'a>),
    /// map8 / map32: count of keys plus values, and the encoded entries.
    Map(Compound<'a>),
    /// array8 / array32: element count, element constructor and the encoded elements.
    Array(Array<'a>),
    /// A described type: the descriptor (a numeric code or a symbol) and the encoded value.
    Described(Descriptor<'a>, &'a [u8]),
    /// Floats, decimals, chars, uuids: the constructor and raw bytes.
    Other(u8, &'a [u8]),
}

/// The descriptor of a described type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Descriptor<'a> {
    Code(u64),
    Symbol(&'a [u8]),
    /// Anything else (a described descriptor, say): not understood.
    Other,
}

impl Descriptor<'_> {
    /// The numeric code, mapping the well-known symbolic names (`amqp:open:list`, ...) too.
    pub fn code(self) -> Option<u64> {
        match self {
            Descriptor::Code(c) => Some(c),
            Descriptor::Symbol(s) => symbol_code(s),
            Descriptor::Other => None,
        }
    }
}

/// Symbolic descriptors of the types this dissector looks into.
fn symbol_code(s: &[u8]) -> Option<u64> {
    const NAMES: [(&[u8], u64); 17] = [
        (b"amqp:open:list", 0x10),
        (b"amqp:begin:list", 0x11),
        (b"amqp:attach:list", 0x12),
        (b"amqp:flow:list", 0x13),
        (b"amqp:transfer:list", 0x14),
        (b"amqp:disposition:list", 0x15),
        (b"amqp:detach:list", 0x16),
        (b"amqp:end:list", 0x17),
        (b"amqp:close:list", 0x18),
        (b"amqp:error:list", 0x1d),
        (b"amqp:source:list", 0x28),
        (b"amqp:target:list", 0x29),
        (b"amqp:sasl-mechanisms:list", 0x40),
        (b"amqp:sasl-init:list", 0x41),
        (b"amqp:sasl-challenge:list", 0x42),
        (b"amqp:sasl-response:list", 0x43),
        (b"amqp:sasl-outcome:list", 0x44),
    ];
    NAMES.iter().find(|(n, _)| *n == s).map(|(_, c)| *c)
}

/// The body of a list or map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Compound<'a> {
    pub count: u32,
    pub body: &'a [u8],
}

impl<'a> Compound<'a> {
    /// The elements in order (stops early at anything undecodable).
    pub fn iter(self) -> ValueIter<'a> {
        ValueIter {
            r: Reader::new(self.body),
            left: self.count,
        }
    }
    /// The `i`th element, if present.
    pub fn nth(self, i: usize) -> Option<Value<'a>> {
        self.iter().nth(i)
    }
    /// Map lookup by a string or symbol key.
    pub fn map_get(self, key: &[u8]) -> Option<Value<'a>> {
        let mut it = self.iter();
        while let Some(k) = it.next() {
            let v = it.next()?;
            if let Value::Str(s) | Value::Sym(s) = k {
                if s == key {
                    return Some(v);
                }
            }
        }
        None
    }
}

/// Iterator over encoded values.
#[derive(Clone, Debug)]
pub struct ValueIter<'a> {
    r: Reader<'a>,
    left: u32,
}

impl<'a> Iterator for ValueIter<'a> {
    type Item = Value<'a>;
    fn next(&mut self) -> Option<Value<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let v = read_value(&mut self.r, 0);
        if v.is_none() {
            self.left = 0;
        }
        v
    }
}

/// An array: one constructor shared by all elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Array<'a> {
    pub count: u32,
    /// Element constructor and elements, as encoded.
    pub body: &'a [u8],
}

impl<'a> Array<'a> {
    /// The elements (of simple, non-described element types) in order.
    pub fn iter(self) -> ArrayIter<'a> {
        let mut r = Reader::new(self.body);
        let ctor = r.u8();
        ArrayIter {
            r,
            ctor,
            left: self.count,
        }
    }
}

/// Iterator over an [`Array`].
#[derive(Clone, Debug)]
pub struct ArrayIter<'a> {
    r: Reader<'a>,
    ctor: Option<u8>,
    left: u32,
}

impl<'a> Iterator for ArrayIter<'a> {
    type Item = Value<'a>;
    fn next(&mut self) -> Option<Value<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        // Described element types (constructor 0x00) are not walked.
        let v = self
            .ctor
            .filter(|c| *c != 0)
            .and_then(|c| value_body(&mut self.r, c, 0));
        if v.is_none() {
            self.left = 0;
        }
        v
    }
}

/// Read one value (constructor and body) from `r`.
pub fn read_value<'a>(r: &mut Reader<'a>, depth: usize) -> Option<Value<'a>> {
    let ctor = r.u8()?;
    value_body(r, ctor, depth)
}

fn usize_of(n: u32) -> Option<usize> {
    usize::try_from(n).ok()
}

/// Read the body of a value whose constructor is `ctor`.
fn value_body<'a>(r: &mut Reader<'a>, ctor: u8, depth: usize) -> Option<Value<'a>> {
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match ctor {
        0x00 => {
            let descriptor = match read_value(r, depth + 1)? {
                Value::Uint(c) => Descriptor::Code(c),
                Value::Sym(s) => Descriptor::Symbol(s),
                _ => Descriptor::Other,
            };
            let start = r.rest();
            // Skip the described value to find where it ends.
            read_value(r, depth + 1)?;
            let used = start.len() - r.rest().len();
            Value::Described(descriptor, start.get(..used)?)
        }
        0x40 => Value::Null,
        0x41 => Value::Bool(true),
        0x42 => Value::Bool(false),
        0x43 | 0x44 => Value::Uint(0),
        0x45 => Value::List(Compound::default()),
        0x50 | 0x52 | 0x53 => Value::Uint(u64::from(r.u8()?)),
        0x51 | 0x54 | 0x55 => Value::Int(i64::from(r.u8()? as i8)),
        0x56 => Value::Bool(r.u8()? != 0),
        0x60 => Value::Uint(u64::from(r.u16()?)),
        0x61 => Value::Int(i64::from(r.u16()? as i16)),
        0x70 => Value::Uint(u64::from(r.u32()?)),
        0x71 => Value::Int(i64::from(r.u32()? as i32)),
        0x80 => Value::Uint(r.u64()?),
        0x81 | 0x83 => Value::Int(r.u64()? as i64),
        0xa0 | 0xa1 | 0xa3 => {
            let n = r.u8()?;
            let b = r.take(usize::from(n))?;
            tagged(ctor, b)
        }
        0xb0 | 0xb1 | 0xb3 => {
            let n = r.u32()?;
            let b = r.take(usize_of(n)?)?;
            tagged(ctor, b)
        }
        0xc0 | 0xc1 => {
            let size = r.u8()?;
            let mut body = Reader::new(r.take(usize::from(size))?);
            let count = u32::from(body.u8()?);
            compound(ctor, count, body.rest())
        }
        0xd0 | 0xd1 => {
            let size = r.u32()?;
            let mut body = Reader::new(r.take(usize_of(size)?)?);
            let count = body.u32()?;
            compound(ctor, count, body.rest())
        }
        0xe0 => {
            let size = r.u8()?;
            let mut body = Reader::new(r.take(usize::from(size))?);
            let count = u32::from(body.u8()?);
            Value::Array(Array {
                count,
                body: body.rest(),
            })
        }
        0xf0 => {
            let size = r.u32()?;
            let mut body = Reader::new(r.take(usize_of(size)?)?);
            let count = body.u32()?;
            Value::Array(Array {
                count,
                body: body.rest(),
            })
        }
        _ => {
            let width = match ctor >> 4 {
                0x7 => 4,
                0x8 => 8,
                0x9 => 16,
                _ => return None,
            };
            Value::Other(ctor, r.take(width)?)
        }
    })
}

fn tagged(ctor: u8, b: &[u8]) -> Value<'_> {
    match ctor & 0x0f {
        0x0 => Value::Binary(b),
        0x1 => Value::Str(b),
        _ => Value::Sym(b),
    }
}

fn compound(ctor: u8, count: u32, body: &[u8]) -> Value<'_> {
    let c = Compound { count, body };
    if ctor & 0x0f == 0 {
        Value::List(c)
    } else {
        Value::Map(c)
    }
}

impl<'a> Value<'a> {
    pub fn as_u64(self) -> Option<u64> {
        match self {
            Value::Uint(n) => Some(n),
            Value::Int(n) => u64::try_from(n).ok(),
            _ => None,
        }
    }
    pub fn as_bool(self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }
    /// Text of a string or symbol.
    pub fn as_text(self) -> Option<Str<'a>> {
        match self {
            Value::Str(s) | Value::Sym(s) => Some(Str(s)),
            _ => None,
        }
    }
    /// A described list with its descriptor code.
    pub fn as_described_list(self) -> Option<(Option<u64>, Compound<'a>)> {
        match self {
            Value::Described(d, body) => match read_value(&mut Reader::new(body), 1)? {
                Value::List(l) => Some((d.code(), l)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A sequence of symbols (an array of symbols, or one symbol), serialised lazily as a JSON array.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Symbols<'a>(pub Value<'a>);

impl Serialize for Symbols<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        match self.0 {
            Value::Array(a) => {
                for v in a.iter() {
                    if let Some(t) = v.as_text() {
                        seq.serialize_element(&t)?;
                    }
                }
            }
            v => {
                if let Some(t) = v.as_text() {
                    seq.serialize_element(&t)?;
                }
            }
        }
        seq.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn table_lookup() {
        // {product: S"X", n: F{a: t1}, v: I 7}
        let mut t = vec![];
        t.extend_from_slice(b"\x07productS\x00\x00\x00\x01X");
        t.extend_from_slice(b"\x01nF\x00\x00\x00\x04\x01at\x01");
        t.extend_from_slice(b"\x01vI\x00\x00\x00\x07");
        let tab = Table(&t);
        assert_eq!(tab.get_str(b"product"), Some(Str(b"X")));
        assert_eq!(tab.get(b"v"), Some(Field::Int(7)));
        assert_eq!(tab.get_path(&[b"n", b"a"]), Some(Field::Bool(true)));
        assert_eq!(tab.get(b"zz"), None);
        // Truncated: iteration stops, no panic.
        for n in 0..t.len() {
            let _ = Table(&t[..n]).get(b"v");
        }
    }

    #[test]
    fn values() {
        // described(0x10, list8[str8 "c", null])
        let b = b"\x00\x53\x10\xc0\x05\x02\xa1\x01c\x40";
        let v = read_value(&mut Reader::new(b), 0).unwrap();
        let (code, l) = v.as_described_list().unwrap();
        assert_eq!(code, Some(0x10));
        assert_eq!(l.nth(0), Some(Value::Str(b"c")));
        assert_eq!(l.nth(1), Some(Value::Null));
        assert_eq!(l.nth(2), None);
        for n in 0..b.len() {
            let _ = read_value(&mut Reader::new(&b[..n]), 0);
        }
        // Deeply described descriptors stop at MAX_DEPTH.
        let deep = [0u8; 64];
        assert!(read_value(&mut Reader::new(&deep), 0).is_none());
    }
}
