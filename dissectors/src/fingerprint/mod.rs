//! Passive fingerprints of devices (issue 12, device identity): what a host's TCP stack, TLS
//! library and DHCP client say about it without being asked.
//!
//! - [`tcp`]: a p0f v3 signature (`ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`) of a
//!   SYN or SYN+ACK, from the TCP header's bytes and a few IP header fields.
//! - [`tls`]: the ClientHello (SNI, ALPN, offered versions, ciphers; JA4 and the JA3 string)
//!   and the ServerHello (negotiated version and cipher), from the first bytes of a TCP stream.
//! - [`dhcp`]: the options a DHCP client sends (parameter request list as Fingerbank writes it,
//!   vendor class, hostname, maximum message size, client identifier type).
//!
//! Pure parsers: no I/O, no allocation, no panic whatever the bytes. Results borrow from the
//! input; text that has to be built (a p0f signature, a JA4) goes into an [`InlineStr`], a
//! fixed-capacity string on the stack, and longer lists are written through any
//! [`std::fmt::Write`] the caller chooses.

pub mod dhcp;
pub mod tcp;
pub mod tls;

use std::fmt;

/// A string of at most `N` bytes kept inline (`[u8; N]` and a length): what the fingerprints
/// build without allocating. Writes are all-or-nothing: a [`fmt::Write::write_str`] that does
/// not fit leaves the string as it was and returns an error (so the content is always whole
/// pieces of UTF-8).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct InlineStr<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> InlineStr<N> {
    /// An empty string.
    pub const fn new() -> Self {
        InlineStr {
            buf: [0; N],
            len: 0,
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Capacity in bytes.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Append `s` whole, or nothing (`false`) when it does not fit.
    pub fn push_str(&mut self, s: &str) -> bool {
        let end = match self.len.checked_add(s.len()) {
            Some(end) if end <= N => end,
            _ => return false,
        };
        match self.buf.get_mut(self.len..end) {
            Some(dst) => {
                dst.copy_from_slice(s.as_bytes());
                self.len = end;
                true
            }
            None => false,
        }
    }
}

impl<const N: usize> Default for InlineStr<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for InlineStr<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.push_str(s) {
            Ok(())
        } else {
            Err(fmt::Error)
        }
    }
}

impl<const N: usize> fmt::Display for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for InlineStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> std::ops::Deref for InlineStr<N> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> AsRef<str> for InlineStr<N> {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl<const N: usize> PartialEq<str> for InlineStr<N> {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl<const N: usize> PartialEq<&str> for InlineStr<N> {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl<const N: usize> serde::Serialize for InlineStr<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Big-endian `u16` at `at`.
fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let bytes: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(bytes))
}

/// Big-endian `u32` at `at`.
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::InlineStr;
    use std::fmt::Write;

    #[test]
    fn inline_str_is_all_or_nothing() {
        let mut s = InlineStr::<8>::new();
        assert!(s.push_str("abc"));
        assert!(write!(s, "{}", 12345).is_ok());
        assert_eq!(s.as_str(), "abc12345");
        assert!(!s.push_str("x"));
        assert!(write!(s, "y").is_err());
        assert_eq!(s, "abc12345");
        let mut t = InlineStr::<4>::new();
        assert!(!t.push_str("héllo"));
        assert!(t.push_str("hé"));
        assert_eq!(t.len(), 3);
        assert_eq!(format!("{t}"), "hé");
    }
}
