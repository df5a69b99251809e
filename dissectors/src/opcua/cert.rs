//! Application instance certificates (OPC 10000-6 §6.2.3): a bounded DER walk to the subject's
//! common name, and the SHA-1 thumbprint OPC UA uses to name a certificate (OPC 10000-4 §7.37).
//!
//! Neither is cryptography here: SHA-1 only names the certificate (as the receiver thumbprint
//! field of the asymmetric header does), and nothing is verified.

/// One DER TLV: tag, content, and total length (header included).
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    total: usize,
}

/// Read the TLV at the start of `d` (definite lengths of up to 4 bytes only, as DER requires).
fn tlv(d: &[u8]) -> Option<Tlv<'_>> {
    let tag = *d.first()?;
    let first = *d.get(1)?;
    let (len, hdr) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in d.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    let total = hdr.checked_add(len)?;
    let content = d.get(hdr..total)?;
    Some(Tlv {
        tag,
        content,
        total,
    })
}

/// Iterate over the TLVs inside a constructed value's content.
fn children(mut d: &[u8]) -> impl Iterator<Item = Tlv<'_>> {
    std::iter::from_fn(move || {
        let t = tlv(d)?;
        d = d.get(t.total..).unwrap_or_default();
        Some(t)
    })
}

/// The first certificate of `chain` (OPN's sender certificate may be a chain): its DER bytes.
pub fn first_certificate(chain: &[u8]) -> Option<&[u8]> {
    let t = tlv(chain)?;
    if t.tag != 0x30 {
        return None;
    }
    chain.get(..t.total)
}

/// The subject's common name (OID 2.5.4.3) of a DER certificate, when it has one.
pub fn subject_cn(cert: &[u8]) -> Option<&[u8]> {
    const CN: [u8; 3] = [0x55, 0x04, 0x03];
    let outer = tlv(cert)?;
    let tbs = children(outer.content).next()?;
    let mut fields = children(tbs.content).peekable();
    // Optional [0] version.
    if fields.peek().map(|t| t.tag) == Some(0xa0) {
        fields.next();
    }
    // serialNumber, signature, issuer, validity, subject.
    let subject = fields.nth(4)?;
    if subject.tag != 0x30 {
        return None;
    }
    for rdn in children(subject.content) {
        for atv in children(rdn.content) {
            let mut parts = children(atv.content);
            let oid = parts.next()?;
            if oid.tag == 0x06 && oid.content == CN {
                return parts.next().map(|v| v.content);
            }
        }
    }
    None
}

/// SHA-1 of `data` (FIPS 180-4), for certificate thumbprints.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut chunks = data.chunks_exact(64);
    for block in &mut chunks {
        compress(&mut h, block);
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 128];
    let n = rest.len();
    for (t, r) in tail.iter_mut().zip(rest) {
        *t = *r;
    }
    if let Some(b) = tail.get_mut(n) {
        *b = 0x80;
    }
    let tail_len = if n < 56 { 64 } else { 128 };
    if let Some(slot) = tail.get_mut(tail_len - 8..tail_len) {
        slot.copy_from_slice(&bit_len.to_be_bytes());
    }
    for block in tail.get(..tail_len).unwrap_or_default().chunks_exact(64) {
        compress(&mut h, block);
    }
    let mut out = [0u8; 20];
    for (o, w) in out.chunks_exact_mut(4).zip(h) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

fn compress(h: &mut [u32; 5], block: &[u8]) {
    let mut w = [0u32; 80];
    for (wi, c) in w.iter_mut().zip(block.chunks_exact(4)) {
        *wi = u32::from_be_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
            c.get(2).copied().unwrap_or(0),
            c.get(3).copied().unwrap_or(0),
        ]);
    }
    for i in 16..80 {
        let x = w.get(i - 3).copied().unwrap_or(0)
            ^ w.get(i - 8).copied().unwrap_or(0)
            ^ w.get(i - 14).copied().unwrap_or(0)
            ^ w.get(i - 16).copied().unwrap_or(0);
        if let Some(wi) = w.get_mut(i) {
            *wi = x.rotate_left(1);
        }
    }
    let [mut a, mut b, mut c, mut d, mut e] = *h;
    for (i, wi) in w.iter().enumerate() {
        let (f, k) = match i {
            0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
            20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
            40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
            _ => (b ^ c ^ d, 0xCA62_C1D6),
        };
        let t = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(k)
            .wrapping_add(*wi);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = t;
    }
    for (hv, v) in h.iter_mut().zip([a, b, c, d, e]) {
        *hv = hv.wrapping_add(v);
    }
}

/// A thumbprint, serialised as 40 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thumbprint(pub [u8; 20]);

impl Thumbprint {
    /// The hex form, in a caller's buffer (no allocation).
    pub fn hex<'b>(&self, buf: &'b mut [u8; 40]) -> &'b str {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (pair, b) in buf.chunks_exact_mut(2).zip(self.0) {
            if let [hi, lo] = pair {
                *hi = HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
                *lo = HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0');
            }
        }
        std::str::from_utf8(buf).unwrap_or_default()
    }
}

impl serde::Serialize for Thumbprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 40];
        s.serialize_str(self.hex(&mut buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> String {
        let mut b = [0u8; 40];
        Thumbprint(sha1(d)).hex(&mut b).to_string()
    }

    #[test]
    fn sha1_vectors() {
        assert_eq!(hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        let million = vec![b'a'; 1_000_000];
        assert_eq!(hex(&million), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    }

    #[test]
    fn der_walk_rejects_garbage() {
        assert_eq!(subject_cn(&[]), None);
        assert_eq!(subject_cn(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(subject_cn(&[0x30, 0x03, 0x30, 0x01, 0x02]), None);
        assert_eq!(first_certificate(&[0x02, 0x01, 0x00]), None);
    }
}
