//! Reading MQTT's primitive types (OASIS MQTT 5.0 section 1.5) from a byte slice without
//! panicking: every read checks its length first and returns `None` when the bytes run out.

use std::borrow::Cow;

/// A read position in a borrowed byte slice.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Cur<'a> {
    d: &'a [u8],
}

impl<'a> Cur<'a> {
    pub(crate) fn new(d: &'a [u8]) -> Self {
        Cur { d }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.d.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.d.len()
    }

    /// What is left, consuming it.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.d)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.d.split_first()?;
        self.d = rest;
        Some(b)
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        let b: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(u32::from_be_bytes(b))
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.d.len() {
            return None;
        }
        let (a, b) = self.d.split_at(n);
        self.d = b;
        Some(a)
    }

    /// A two-byte length then that many bytes (UTF-8 string or binary data).
    pub(crate) fn bin(&mut self) -> Option<&'a [u8]> {
        let mut c = *self;
        let n = c.u16()?;
        let b = c.take(usize::from(n))?;
        *self = c;
        Some(b)
    }

    /// A Variable Byte Integer of at most four bytes.
    pub(crate) fn varint(&mut self) -> Option<u32> {
        match varint(self.d) {
            VarInt::Value(v, n) => {
                self.d = self.d.get(n..)?;
                Some(v)
            }
            _ => None,
        }
    }
}

/// Outcome of decoding a Variable Byte Integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VarInt {
    /// The value and how many bytes it took (1 to 4).
    Value(u32, usize),
    /// The bytes end inside the integer.
    Incomplete,
    /// A fifth byte would be needed: not MQTT.
    TooLong,
}

pub(crate) fn varint(d: &[u8]) -> VarInt {
    let mut v: u32 = 0;
    for i in 0..4 {
        let Some(&b) = d.get(i) else {
            return VarInt::Incomplete;
        };
        v |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return VarInt::Value(v, i + 1);
        }
    }
    VarInt::TooLong
}

/// An MQTT UTF-8 string, borrowed from the packet (or from a topic alias table). Valid text is
/// shown as it is; bytes that are not UTF-8 are shown lossily (the only case that allocates).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Text<'a>(pub &'a [u8]);

impl<'a> Text<'a> {
    /// The text, when it is valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.0).ok()
    }
    /// The text, with invalid sequences replaced by U+FFFD.
    pub fn to_str_lossy(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.0)
    }
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl std::fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_str_lossy(), f)
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl serde::Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_str() {
            Some(t) => s.serialize_str(t),
            None => s.serialize_str(&self.to_str_lossy()),
        }
    }
}

/// Bytes as [`Text`], setting `*bad` when they are not valid UTF-8.
pub(crate) fn text<'a>(b: &'a [u8], bad: &mut bool) -> Text<'a> {
    if std::str::from_utf8(b).is_err() {
        *bad = true;
    }
    Text(b)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(varint(&[0]), VarInt::Value(0, 1));
        assert_eq!(varint(&[0x7f]), VarInt::Value(127, 1));
        assert_eq!(varint(&[0x80, 0x01]), VarInt::Value(128, 2));
        assert_eq!(varint(&[0xb7, 0x97, 0x02]), VarInt::Value(35767, 3));
        assert_eq!(
            varint(&[0xff, 0xff, 0xff, 0x7f]),
            VarInt::Value(268_435_455, 4)
        );
        assert_eq!(varint(&[0xff, 0xff, 0xff, 0xff, 0x01]), VarInt::TooLong);
        assert_eq!(varint(&[0xff]), VarInt::Incomplete);
        assert_eq!(varint(&[]), VarInt::Incomplete);
    }

    #[test]
    fn reads_check_lengths() {
        let mut c = Cur::new(&[0, 3, b'a', b'b']);
        assert_eq!(c.bin(), None);
        assert_eq!(c.len(), 4);
        assert_eq!(c.u16(), Some(3));
        assert_eq!(c.u32(), None);
        assert_eq!(c.rest(), b"ab");
        assert!(c.is_empty());
    }
}
