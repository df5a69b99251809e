//! A JSON object written straight into a byte buffer: records are built on the packet path,
//! so no `serde_json::Value` tree (a map and a string allocation per field) is made for them.

use std::io::Write as _;

/// An open `{`; fields are appended in order, and the `}` is written when it is dropped.
pub struct Obj<'a> {
    buf: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub fn new(buf: &'a mut Vec<u8>) -> Obj<'a> {
        buf.push(b'{');
        Obj { buf, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = false;
        self.buf.push(b'"');
        // Keys are ours: plain ASCII names, nothing to escape.
        self.buf.extend_from_slice(k.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    pub fn num(&mut self, k: &str, v: impl itoa_like::Int) -> &mut Self {
        self.key(k);
        v.put(self.buf);
        self
    }

    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.buf
            .extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    /// A string value, escaped.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        let _ = serde_json::to_writer(&mut *self.buf, v);
        self
    }

    /// Bytes as a string (invalid UTF-8 replaced), escaped.
    pub fn text(&mut self, k: &str, v: &[u8]) -> &mut Self {
        self.str(k, &String::from_utf8_lossy(v))
    }

    /// A value written by `Display` inside quotes (addresses, times: nothing to escape).
    pub fn display(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Self {
        self.key(k);
        let _ = write!(self.buf, "\"{v}\"");
        self
    }

    /// An EVE timestamp (`2026-11-22T08:27:22.217633+0000`) of ns since the epoch.
    pub fn time(&mut self, k: &str, ns: u64) -> &mut Self {
        self.key(k);
        self.buf.push(b'"');
        self.buf
            .extend_from_slice(&crate::detect::alert::EveTime(ns).bytes());
        self.buf.push(b'"');
        self
    }

    /// Bytes as lowercase hex in a string.
    pub fn hex(&mut self, k: &str, v: &[u8]) -> &mut Self {
        self.key(k);
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.buf.push(b'"');
        for &b in v {
            self.buf.push(HEX[usize::from(b >> 4)]);
            self.buf.push(HEX[usize::from(b & 15)]);
        }
        self.buf.push(b'"');
        self
    }

    /// Already serialised JSON.
    pub fn raw(&mut self, k: &str, json: &[u8]) -> &mut Self {
        self.key(k);
        self.buf.extend_from_slice(json);
        self
    }

    /// A nested object.
    pub fn obj(&mut self, k: &str) -> Obj<'_> {
        self.key(k);
        Obj::new(self.buf)
    }

    /// A nested array, written by `f` into the buffer (items separated by the caller).
    pub fn array(&mut self, k: &str, f: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        self.key(k);
        self.buf.push(b'[');
        f(self.buf);
        self.buf.push(b']');
        self
    }
}

impl Drop for Obj<'_> {
    fn drop(&mut self) {
        self.buf.push(b'}');
    }
}

/// Integers written with `itoa` (no `fmt` machinery on the packet path).
pub mod itoa_like {
    pub trait Int: Copy + itoa::Integer {
        fn put(self, buf: &mut Vec<u8>) {
            buf.extend_from_slice(itoa::Buffer::new().format(self).as_bytes());
        }
    }

    impl<T: Copy + itoa::Integer> Int for T {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_nest_and_escape() {
        let mut b = Vec::new();
        {
            let mut o = Obj::new(&mut b);
            o.num("a", 1u8).str("s", "x\"y\n").bool("t", true);
            o.obj("n").hex("h", &[0xab, 1]);
            o.array("l", |b| b.extend_from_slice(b"1,2"));
        }
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "s": "x\"y\n", "t": true, "n": {"h": "ab01"}, "l": [1, 2]})
        );
    }
}
