//! TLS ClientHello and ServerHello, from the first bytes of a TCP stream: who the client
//! says it wants (SNI), what it can speak (ALPN, versions, ciphers), its JA4 fingerprint and
//! JA3 string; what the server chose (version, cipher).
//!
//! Record layer and handshake framing: RFC 8446 5.1 and 4 (RFC 5246 6.2.1 and 7.4 for the
//! older versions, which share the layout). The hello is read in place when it sits in one
//! record, the usual case; a hello split across records is copied, fragment by fragment, into
//! a caller's scratch buffer (pass an empty one to refuse: [`TlsError::TooLarge`]).
//!
//! JA4 is FoxIO's (`technical_details/JA4.md` of FoxIO-LLC/ja4, BSD 3-clause), for TLS over
//! TCP (`t`): version from `supported_versions` (highest, GREASE ignored) else the hello's
//! version; `d` with an SNI extension, `i` without; cipher and extension counts (GREASE
//! ignored, at most 99); the first ALPN value's first and last characters (`00` without);
//! then the first 12 hex digits of the SHA-256 of the sorted cipher list, and of the sorted
//! extension list without SNI and ALPN, `_`, the signature algorithms in their order.
//! JA3 (Salesforce) is given as its string (`version,ciphers,extensions,groups,formats`,
//! decimal, GREASE removed, as Wireshark's `tls.handshake.ja3_full`); its MD5 is left to
//! the consumer.
//!
//! SSL 2.0's differently framed CLIENT-HELLO (still sent by old scanners) is recognised by
//! [`sslv2_client_hello`].

use super::{u16_at, InlineStr};
use sha2::{Digest, Sha256};
use std::fmt::{self, Write};

/// TLS record content type of handshake messages.
pub const CONTENT_HANDSHAKE: u8 = 0x16;
/// Handshake message types.
pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
/// Largest record accepted: 2^14 plus the 2048 bytes RFC 5246 allows for expansion.
pub const MAX_RECORD: usize = (1 << 14) + 2048;
/// Non-GREASE ciphers (and extensions) JA4 sorts at most; a hello with more gets no JA4.
pub const JA4_MAX_SORTED: usize = 1024;

/// Extension types read here.
pub mod ext {
    pub const SERVER_NAME: u16 = 0x0000;
    pub const SUPPORTED_GROUPS: u16 = 0x000a;
    pub const EC_POINT_FORMATS: u16 = 0x000b;
    pub const SIGNATURE_ALGORITHMS: u16 = 0x000d;
    pub const ALPN: u16 = 0x0010;
    pub const SUPPORTED_VERSIONS: u16 = 0x002b;
}

/// Protocol versions as they appear on the wire.
pub mod version {
    pub const SSL2: u16 = 0x0002;
    pub const SSL3: u16 = 0x0300;
    pub const TLS10: u16 = 0x0301;
    pub const TLS11: u16 = 0x0302;
    pub const TLS12: u16 = 0x0303;
    pub const TLS13: u16 = 0x0304;
}

/// A JA4 fingerprint (`t13d1516h2_8daaf6152771_e5627efa2ab1`), inline.
pub type Ja4 = InlineStr<36>;

/// Why no hello came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsError {
    /// Too few bytes yet: at least `needed` more are wanted. Not a verdict: call again with
    /// more of the stream.
    Incomplete { needed: usize },
    /// Not a TLS handshake record (content type, version or length out of range).
    NotTls,
    /// A TLS handshake, but its first message is not the hello asked for.
    NotHello { msg_type: u8 },
    /// The hello spans records and its `len` bytes do not fit the scratch buffer.
    TooLarge { len: usize },
    /// The hello's structure is broken (a length runs past its container).
    Malformed(&'static str),
}

/// GREASE values (RFC 8701): `0x?a?a` with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// A version's usual name (`TLS 1.0`, `SSL 3.0`, ...), or `None` for an unknown value.
pub fn version_name(v: u16) -> Option<&'static str> {
    Some(match v {
        version::SSL2 => "SSL 2.0",
        version::SSL3 => "SSL 3.0",
        version::TLS10 => "TLS 1.0",
        version::TLS11 => "TLS 1.1",
        version::TLS12 => "TLS 1.2",
        version::TLS13 => "TLS 1.3",
        0xfeff => "DTLS 1.0",
        0xfefd => "DTLS 1.2",
        0xfefc => "DTLS 1.3",
        _ => return None,
    })
}

/// Whether `v` is SSL 2.0/3.0, TLS 1.0 or TLS 1.1: deprecated (RFC 8996, RFC 7568, RFC 6176).
pub fn is_deprecated(v: u16) -> bool {
    matches!(
        v,
        version::SSL2 | version::SSL3 | version::TLS10 | version::TLS11
    )
}

// ---------------------------------------------------------------------------------------------
// Reading helpers

/// A cursor over bytes that never panics.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        let (&b, tail) = self.0.split_first()?;
        self.0 = tail;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        let (&b, tail) = self.0.split_first_chunk::<2>()?;
        self.0 = tail;
        Some(u16::from_be_bytes(b))
    }
    /// A vector with a one-byte length.
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    /// A vector with a two-byte length.
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

/// Big-endian `u16`s of `b` (a trailing odd byte is ignored).
fn u16s(b: &[u8]) -> impl Iterator<Item = u16> + '_ {
    b.chunks_exact(2).map(|c| {
        u16::from_be_bytes([
            c.first().copied().unwrap_or(0),
            c.get(1).copied().unwrap_or(0),
        ])
    })
}

/// The extensions of a block as `(type, data)`; stops at the first that runs past the end.
fn walk_extensions(block: &[u8]) -> impl Iterator<Item = (u16, &[u8])> + '_ {
    let mut r = Reader(block);
    std::iter::from_fn(move || {
        let t = r.u16()?;
        let data = r.vec16()?;
        Some((t, data))
    })
}

/// Check an extension block splits exactly into extensions.
fn check_extensions(block: &[u8]) -> Result<(), TlsError> {
    let mut r = Reader(block);
    while !r.0.is_empty() {
        r.u16().and_then(|_| r.vec16()).ok_or(TlsError::Malformed(
            "extension runs past the extension block",
        ))?;
    }
    Ok(())
}

/// The inside of a vector with a `width`-byte length that fills `data`; empty when the length
/// disagrees.
fn inner(data: &[u8], width: usize) -> &[u8] {
    let mut r = Reader(data);
    let v = match width {
        1 => r.vec8(),
        _ => r.vec16(),
    };
    match v {
        Some(v) if r.0.is_empty() => v,
        _ => &[],
    }
}

// ---------------------------------------------------------------------------------------------
// Record layer

/// The handshake message length in a 4-byte handshake header at the start of `b`.
fn hs_len(b: &[u8]) -> Option<usize> {
    let &[_, l0, l1, l2] = b.first_chunk::<4>()?;
    Some(usize::from(l0) << 16 | usize::from(l1) << 8 | usize::from(l2))
}

/// One handshake message from the records at the start of `stream`: (first record's version,
/// message body, stream offset just past the message, whether it was reassembled).
fn handshake<'a>(
    stream: &'a [u8],
    want: u8,
    scratch: &'a mut [u8],
) -> Result<(u16, &'a [u8], usize, bool), TlsError> {
    let Some(hdr) = stream.first_chunk::<5>() else {
        // Judge what is there already.
        if stream.first().is_some_and(|&t| t != CONTENT_HANDSHAKE)
            || stream.get(1).is_some_and(|&major| major != 3)
        {
            return Err(TlsError::NotTls);
        }
        return Err(TlsError::Incomplete {
            needed: 5 - stream.len(),
        });
    };
    let (record_version, rec_len) = record_header(hdr)?;
    let avail = stream.get(5..).unwrap_or_default();
    let frag = avail.get(..rec_len).unwrap_or(avail);
    if let Some(&t) = frag.first() {
        if t != want {
            return Err(TlsError::NotHello { msg_type: t });
        }
    }
    // The usual case: the whole message in the first record, read in place.
    let first_len = hs_len(frag);
    if let Some(len) = first_len {
        if let Some(body) = frag.get(4..4 + len) {
            return Ok((record_version, body, 5 + 4 + len, false));
        }
    }
    // The first record is not all here and may yet hold the whole message.
    if frag.len() < rec_len && first_len.is_none_or(|len| 4 + len <= rec_len) {
        return Err(TlsError::Incomplete {
            needed: rec_len - frag.len(),
        });
    }
    // The message spans records: gather the fragments into `scratch`.
    let mut have = 0usize;
    let mut total: Option<usize> = None;
    let mut at = 0usize;
    loop {
        let Some(hdr) = stream.get(at..).and_then(|r| r.first_chunk::<5>()) else {
            let partial = stream.len().saturating_sub(at);
            let missing = total.map_or(1, |t| t.saturating_sub(have)).max(1);
            return Err(TlsError::Incomplete {
                needed: 5usize.saturating_sub(partial) + missing,
            });
        };
        let (_, rec_len) = record_header(hdr)
            .map_err(|_| TlsError::Malformed("hello interrupted by a non-handshake record"))?;
        let avail = stream.get(at + 5..).unwrap_or_default();
        let frag = avail.get(..rec_len).unwrap_or(avail);
        // Copy no more than the message needs (later bytes belong to the next message).
        let piece = match total {
            Some(t) => frag.get(..t.saturating_sub(have)).unwrap_or(frag),
            None => frag,
        };
        let dst = scratch
            .get_mut(have..have + piece.len())
            .ok_or(TlsError::TooLarge {
                len: total.unwrap_or(have + piece.len()),
            })?;
        dst.copy_from_slice(piece);
        have += piece.len();
        if total.is_none() {
            if let Some(len) = scratch.get(..have).and_then(hs_len) {
                if 4 + len > scratch.len() {
                    return Err(TlsError::TooLarge { len: 4 + len });
                }
                total = Some(4 + len);
            }
        }
        if let Some(t) = total {
            if have >= t {
                // Where the message ends in this record's fragment.
                let end = at + 5 + piece.len() - (have - t);
                let done: &'a [u8] = scratch;
                let body = done.get(4..t).ok_or(TlsError::TooLarge { len: t })?;
                return Ok((record_version, body, end, true));
            }
        }
        if frag.len() < rec_len {
            return Err(TlsError::Incomplete {
                needed: rec_len - frag.len(),
            });
        }
        at += 5 + rec_len;
    }
}

/// Check a record header: the record's version and length.
fn record_header(hdr: &[u8; 5]) -> Result<(u16, usize), TlsError> {
    let [t, major, minor, l0, l1] = *hdr;
    let len = usize::from(u16::from_be_bytes([l0, l1]));
    if t != CONTENT_HANDSHAKE || major != 3 || len == 0 || len > MAX_RECORD {
        return Err(TlsError::NotTls);
    }
    Ok((u16::from_be_bytes([major, minor]), len))
}

// ---------------------------------------------------------------------------------------------
// ClientHello

/// A ClientHello, as borrowed views of its bytes. Lists are kept raw and read through the
/// methods, so nothing is copied or allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// Version in the first record's header (often 0x0301 whatever is offered).
    pub record_version: u16,
    /// The hello's `legacy_version` (`client_version` before TLS 1.3).
    pub legacy_version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    cipher_suites: &'a [u8],
    pub compression_methods: &'a [u8],
    extensions: &'a [u8],
    /// The first `host_name` of the server_name extension, as sent (not checked as a name).
    pub sni: Option<&'a [u8]>,
    /// Whether a server_name extension was there (JA4's `d`), whatever its content.
    pub has_sni_extension: bool,
    alpn: &'a [u8],
    supported_versions: Option<&'a [u8]>,
    signature_algorithms: &'a [u8],
    supported_groups: &'a [u8],
    ec_point_formats: &'a [u8],
    /// Whether the hello spanned records (and was read from the scratch buffer).
    pub reassembled: bool,
    /// Stream offset just past the hello's last byte.
    pub consumed: usize,
}

/// Parse the ClientHello at the start of a client's TCP stream (`stream` from its first
/// byte). `scratch` receives the message when it spans records (16 KiB is plenty for real
/// clients); pass `&mut []` to refuse that.
pub fn client_hello<'a>(
    stream: &'a [u8],
    scratch: &'a mut [u8],
) -> Result<ClientHello<'a>, TlsError> {
    let (record_version, body, consumed, reassembled) = handshake(stream, CLIENT_HELLO, scratch)?;
    let mut r = Reader(body);
    let bad = TlsError::Malformed;
    let legacy_version = r.u16().ok_or(bad("ClientHello shorter than its version"))?;
    let random = r
        .take(32)
        .ok_or(bad("ClientHello shorter than its random"))?;
    let session_id = r.vec8().ok_or(bad("session id runs past the hello"))?;
    if session_id.len() > 32 {
        return Err(bad("session id longer than 32 bytes"));
    }
    let cipher_suites = r.vec16().ok_or(bad("cipher suites run past the hello"))?;
    if cipher_suites.len() % 2 != 0 {
        return Err(bad("odd cipher suites length"));
    }
    let compression_methods = r
        .vec8()
        .ok_or(bad("compression methods run past the hello"))?;
    let extensions = if r.0.is_empty() {
        &[][..]
    } else {
        r.vec16().ok_or(bad("extensions run past the hello"))?
    };
    check_extensions(extensions)?;
    let mut h = ClientHello {
        record_version,
        legacy_version,
        random,
        session_id,
        cipher_suites,
        compression_methods,
        extensions,
        sni: None,
        has_sni_extension: false,
        alpn: &[],
        supported_versions: None,
        signature_algorithms: &[],
        supported_groups: &[],
        ec_point_formats: &[],
        reassembled,
        consumed,
    };
    // The first instance of each extension counts.
    let mut seen = 0u8;
    for (t, data) in walk_extensions(extensions) {
        let bit = match t {
            ext::SERVER_NAME => 1,
            ext::ALPN => 2,
            ext::SUPPORTED_VERSIONS => 4,
            ext::SIGNATURE_ALGORITHMS => 8,
            ext::SUPPORTED_GROUPS => 16,
            ext::EC_POINT_FORMATS => 32,
            _ => continue,
        };
        if seen & bit != 0 {
            continue;
        }
        seen |= bit;
        match t {
            ext::SERVER_NAME => {
                h.has_sni_extension = true;
                h.sni = first_host_name(data);
            }
            ext::ALPN => h.alpn = inner(data, 2),
            ext::SUPPORTED_VERSIONS => h.supported_versions = Some(inner(data, 1)),
            ext::SIGNATURE_ALGORITHMS => h.signature_algorithms = inner(data, 2),
            ext::SUPPORTED_GROUPS => h.supported_groups = inner(data, 2),
            _ => h.ec_point_formats = inner(data, 1),
        }
    }
    Ok(h)
}

/// The first `host_name` (type 0) of a server_name extension's list.
fn first_host_name(data: &[u8]) -> Option<&[u8]> {
    let mut r = Reader(inner(data, 2));
    while !r.0.is_empty() {
        let t = r.u8()?;
        let name = r.vec16()?;
        if t == 0 {
            return Some(name);
        }
    }
    None
}

/// ALPN protocol names of a `protocol_name_list`.
fn alpn_names(list: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    let mut r = Reader(list);
    std::iter::from_fn(move || r.vec8())
}

impl<'a> ClientHello<'a> {
    /// Every cipher suite offered, in order, GREASE included.
    pub fn cipher_suites(&self) -> impl Iterator<Item = u16> + 'a {
        u16s(self.cipher_suites)
    }

    /// Cipher suites offered, GREASE excluded (signalling values such as 0x00ff counted).
    pub fn cipher_count(&self) -> usize {
        self.cipher_suites().filter(|&c| !is_grease(c)).count()
    }

    /// Every extension as `(type, data)`, in order, GREASE included.
    pub fn extensions(&self) -> impl Iterator<Item = (u16, &'a [u8])> + 'a {
        walk_extensions(self.extensions)
    }

    /// Extensions sent, GREASE excluded.
    pub fn extension_count(&self) -> usize {
        self.extensions().filter(|&(t, _)| !is_grease(t)).count()
    }

    /// ALPN protocol names offered, in order (`h2`, `http/1.1`, `mqtt`, ...).
    pub fn alpn(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        alpn_names(self.alpn)
    }

    /// Versions of the supported_versions extension, GREASE excluded; empty without it.
    pub fn supported_versions(&self) -> impl Iterator<Item = u16> + 'a {
        u16s(self.supported_versions.unwrap_or_default()).filter(|&v| !is_grease(v))
    }

    /// Whether a supported_versions extension was sent (TLS 1.3 capable clients).
    pub fn has_supported_versions(&self) -> bool {
        self.supported_versions.is_some()
    }

    /// Signature algorithms, in order.
    pub fn signature_algorithms(&self) -> impl Iterator<Item = u16> + 'a {
        u16s(self.signature_algorithms)
    }

    /// Supported groups (elliptic curves), in order, GREASE included.
    pub fn supported_groups(&self) -> impl Iterator<Item = u16> + 'a {
        u16s(self.supported_groups)
    }

    /// EC point formats, in order.
    pub fn ec_point_formats(&self) -> &'a [u8] {
        self.ec_point_formats
    }

    /// The highest version offered: supported_versions' highest when sent, else the hello's
    /// version.
    pub fn max_version(&self) -> u16 {
        self.supported_versions()
            .max()
            .unwrap_or(self.legacy_version)
    }

    /// The lowest version offered, as far as the hello says: supported_versions' lowest when
    /// sent, else the hello's version (a client without the extension may also accept older
    /// versions, which only the ServerHello shows).
    pub fn min_version(&self) -> u16 {
        self.supported_versions()
            .min()
            .unwrap_or(self.legacy_version)
    }

    /// Whether the hello offers `v`: in supported_versions when sent, else as its version.
    pub fn offers(&self, v: u16) -> bool {
        if self.has_supported_versions() {
            self.supported_versions().any(|x| x == v)
        } else {
            self.legacy_version == v
        }
    }

    /// Whether SSL 3.0, TLS 1.0 or TLS 1.1 is offered (see [`ClientHello::offers`]).
    pub fn offers_deprecated(&self) -> bool {
        if self.has_supported_versions() {
            self.supported_versions().any(is_deprecated)
        } else {
            is_deprecated(self.legacy_version)
        }
    }

    /// The JA4 fingerprint (TLS over TCP). `None` only for a hello with more than
    /// [`JA4_MAX_SORTED`] ciphers or extensions (no real client sends that many).
    pub fn ja4(&self) -> Option<Ja4> {
        let mut out = Ja4::new();
        let v = match self.max_version() {
            version::TLS13 => "13",
            version::TLS12 => "12",
            version::TLS11 => "11",
            version::TLS10 => "10",
            version::SSL3 => "s3",
            version::SSL2 => "s2",
            0xfeff => "d1",
            0xfefd => "d2",
            0xfefc => "d3",
            _ => "00",
        };
        let (a, b) = ja4_alpn(self.alpn().next());
        write!(
            out,
            "t{v}{}{:02}{:02}{}{}_",
            if self.has_sni_extension { 'd' } else { 'i' },
            self.cipher_count().min(99),
            self.extension_count().min(99),
            a,
            b
        )
        .ok()?;

        // Ciphers, sorted.
        let mut buf = [0u16; JA4_MAX_SORTED];
        let n = collect(self.cipher_suites().filter(|&c| !is_grease(c)), &mut buf)?;
        let ciphers = buf.get_mut(..n)?;
        ciphers.sort_unstable();
        if ciphers.is_empty() {
            out.push_str("000000000000");
        } else {
            let mut h = Sha256::new();
            hash_list(&mut h, ciphers.iter().copied());
            push_hash12(&mut out, h);
        }
        out.push_str("_");

        // Extensions (no SNI, no ALPN), sorted, then the signature algorithms as sent.
        let n = collect(
            self.extensions()
                .map(|(t, _)| t)
                .filter(|&t| !is_grease(t) && t != ext::SERVER_NAME && t != ext::ALPN),
            &mut buf,
        )?;
        let exts = buf.get_mut(..n)?;
        exts.sort_unstable();
        if exts.is_empty() {
            out.push_str("000000000000");
        } else {
            let mut h = Sha256::new();
            hash_list(&mut h, exts.iter().copied());
            if self.signature_algorithms().next().is_some() {
                h.update(b"_");
                hash_list(&mut h, self.signature_algorithms());
            }
            push_hash12(&mut out, h);
        }
        Some(out)
    }

    /// Write the JA3 string: `version,ciphers,extensions,groups,point formats`, each list
    /// `-`-joined decimal, GREASE removed (its MD5 is the JA3 hash).
    pub fn write_ja3(&self, w: &mut dyn fmt::Write) -> fmt::Result {
        fn list(w: &mut dyn fmt::Write, it: impl Iterator<Item = u16>) -> fmt::Result {
            for (i, v) in it.enumerate() {
                if i > 0 {
                    w.write_str("-")?;
                }
                write!(w, "{v}")?;
            }
            Ok(())
        }
        write!(w, "{},", self.legacy_version)?;
        list(w, self.cipher_suites().filter(|&c| !is_grease(c)))?;
        w.write_str(",")?;
        list(
            w,
            self.extensions().map(|(t, _)| t).filter(|&t| !is_grease(t)),
        )?;
        w.write_str(",")?;
        list(w, self.supported_groups().filter(|&g| !is_grease(g)))?;
        w.write_str(",")?;
        list(w, self.ec_point_formats.iter().map(|&f| u16::from(f)))
    }
}

/// Copy `it` into `buf`; its length, or `None` when it does not fit.
fn collect(it: impl Iterator<Item = u16>, buf: &mut [u16]) -> Option<usize> {
    let mut n = 0;
    for v in it {
        *buf.get_mut(n)? = v;
        n += 1;
    }
    Some(n)
}

fn hex4(v: u16) -> [u8; 4] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let nib = |shift: u16| {
        HEX.get(usize::from((v >> shift) & 0xf))
            .copied()
            .unwrap_or(b'0')
    };
    [nib(12), nib(8), nib(4), nib(0)]
}

/// Feed `a,b,c` (4-digit lower-case hex) to the hash.
fn hash_list(h: &mut Sha256, it: impl Iterator<Item = u16>) {
    for (i, v) in it.enumerate() {
        if i > 0 {
            h.update(b",");
        }
        h.update(hex4(v));
    }
}

/// The first 12 hex digits of the digest.
fn push_hash12<const N: usize>(out: &mut InlineStr<N>, h: Sha256) {
    let digest = h.finalize();
    for b in digest.iter().take(6) {
        let _ = write!(out, "{b:02x}");
    }
}

/// JA4's two ALPN characters for the first ALPN value.
fn ja4_alpn(first: Option<&[u8]>) -> (char, char) {
    let (Some(&f), Some(&l)) = (first.and_then(|v| v.first()), first.and_then(|v| v.last())) else {
        return ('0', '0');
    };
    if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
        (char::from(f), char::from(l))
    } else {
        let hex = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
        (hex(f >> 4), hex(l & 0xf))
    }
}

// ---------------------------------------------------------------------------------------------
// ServerHello

/// TLS 1.3's HelloRetryRequest is a ServerHello with this random (RFC 8446 4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A ServerHello: what the server chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerHello<'a> {
    pub record_version: u16,
    /// The hello's `legacy_version` (the negotiated version before TLS 1.3).
    pub legacy_version: u16,
    pub random: &'a [u8],
    pub session_id: &'a [u8],
    pub cipher_suite: u16,
    pub compression_method: u8,
    extensions: &'a [u8],
    /// supported_versions' selected version (TLS 1.3 and later).
    pub selected_version: Option<u16>,
    /// The ALPN protocol chosen.
    pub alpn: Option<&'a [u8]>,
    /// A HelloRetryRequest (TLS 1.3): the server asks for another ClientHello.
    pub hello_retry_request: bool,
    pub reassembled: bool,
    pub consumed: usize,
}

impl<'a> ServerHello<'a> {
    /// The negotiated version: supported_versions' when sent, else the hello's version.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }

    /// Every extension as `(type, data)`, in order.
    pub fn extensions(&self) -> impl Iterator<Item = (u16, &'a [u8])> + 'a {
        walk_extensions(self.extensions)
    }
}

/// Parse the ServerHello at the start of a server's TCP stream (see [`client_hello`]).
pub fn server_hello<'a>(
    stream: &'a [u8],
    scratch: &'a mut [u8],
) -> Result<ServerHello<'a>, TlsError> {
    let (record_version, body, consumed, reassembled) = handshake(stream, SERVER_HELLO, scratch)?;
    let mut r = Reader(body);
    let bad = TlsError::Malformed;
    let legacy_version = r.u16().ok_or(bad("ServerHello shorter than its version"))?;
    let random = r
        .take(32)
        .ok_or(bad("ServerHello shorter than its random"))?;
    let session_id = r.vec8().ok_or(bad("session id runs past the hello"))?;
    if session_id.len() > 32 {
        return Err(bad("session id longer than 32 bytes"));
    }
    let cipher_suite = r.u16().ok_or(bad("ServerHello shorter than its cipher"))?;
    let compression_method = r
        .u8()
        .ok_or(bad("ServerHello shorter than its compression"))?;
    let extensions = if r.0.is_empty() {
        &[][..]
    } else {
        r.vec16().ok_or(bad("extensions run past the hello"))?
    };
    check_extensions(extensions)?;
    let mut h = ServerHello {
        record_version,
        legacy_version,
        random,
        session_id,
        cipher_suite,
        compression_method,
        extensions,
        selected_version: None,
        alpn: None,
        hello_retry_request: random == HRR_RANDOM,
        reassembled,
        consumed,
    };
    for (t, data) in walk_extensions(extensions) {
        match t {
            ext::SUPPORTED_VERSIONS if h.selected_version.is_none() => {
                h.selected_version = u16_at(data, 0).filter(|_| data.len() == 2);
            }
            ext::ALPN if h.alpn.is_none() => h.alpn = alpn_names(inner(data, 2)).next(),
            _ => {}
        }
    }
    Ok(h)
}

// ---------------------------------------------------------------------------------------------
// SSL 2.0

/// An SSL 2.0 CLIENT-HELLO (or a version 3 hello in SSL 2.0 framing, RFC 5246 E.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sslv2Hello<'a> {
    /// Highest version offered (0x0002 SSL 2.0, 0x0300 SSL 3.0, 0x0301 TLS 1.0, ...).
    pub version: u16,
    /// Cipher specs, three bytes each.
    pub cipher_specs: &'a [u8],
}

/// Recognise an SSL 2.0-framed CLIENT-HELLO at the start of a client's stream (two-byte
/// header only, the form clients send). `None` when it is not one or is cut short.
pub fn sslv2_client_hello(stream: &[u8]) -> Option<Sslv2Hello<'_>> {
    let mut r = Reader(stream);
    let len = r.u16()?;
    if len & 0x8000 == 0 {
        return None;
    }
    let body = r.take(usize::from(len & 0x7fff))?;
    let mut r = Reader(body);
    if r.u8()? != 1 {
        return None;
    }
    let version = r.u16()?;
    if version != version::SSL2 && version >> 8 != 3 {
        return None;
    }
    let specs_len = r.u16()?;
    let sid_len = r.u16()?;
    let challenge_len = r.u16()?;
    if specs_len % 3 != 0 || specs_len == 0 || !(16..=32).contains(&challenge_len) {
        return None;
    }
    let cipher_specs = r.take(usize::from(specs_len))?;
    r.take(usize::from(sid_len))?;
    r.take(usize::from(challenge_len))?;
    Some(Sslv2Hello {
        version,
        cipher_specs,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn grease() {
        for v in [0x0a0a, 0x1a1a, 0x2a2a, 0xfafa] {
            assert!(is_grease(v));
        }
        for v in [0x0a1a, 0x1301, 0x0000, 0xabab, 0x0a0b] {
            assert!(!is_grease(v));
        }
    }

    /// The worked example of FoxIO's JA4.md: the two hashed strings and their prefixes.
    #[test]
    fn ja4_spec_hashes() {
        let ciphers = [
            0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
            0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let mut sorted = ciphers;
        sorted.sort_unstable();
        let mut h = Sha256::new();
        hash_list(&mut h, sorted.iter().copied());
        let mut out = InlineStr::<12>::new();
        push_hash12(&mut out, h);
        assert_eq!(out, "8daaf6152771");

        let mut exts = [
            0x001b, 0x0033, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01,
            0x000b, 0x000a, 0x0015,
        ];
        exts.sort_unstable();
        let sigs = [
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ];
        let mut h = Sha256::new();
        hash_list(&mut h, exts.iter().copied());
        h.update(b"_");
        hash_list(&mut h, sigs.iter().copied());
        let mut out = InlineStr::<12>::new();
        push_hash12(&mut out, h);
        assert_eq!(out, "e5627efa2ab1");

        let mut h = Sha256::new();
        hash_list(&mut h, exts.iter().copied());
        let mut out = InlineStr::<12>::new();
        push_hash12(&mut out, h);
        assert_eq!(out, "6d807ffa2a79");
    }

    #[test]
    fn ja4_alpn_rules() {
        assert_eq!(ja4_alpn(Some(b"h2")), ('h', '2'));
        assert_eq!(ja4_alpn(Some(b"http/1.1")), ('h', '1'));
        assert_eq!(ja4_alpn(Some(b"h")), ('h', 'h'));
        assert_eq!(ja4_alpn(Some(b"")), ('0', '0'));
        assert_eq!(ja4_alpn(None), ('0', '0'));
        // The spec's non-alphanumeric examples.
        assert_eq!(ja4_alpn(Some(&[0xab])), ('a', 'b'));
        assert_eq!(ja4_alpn(Some(&[0xab, 0xcd])), ('a', 'd'));
        assert_eq!(ja4_alpn(Some(&[0x30, 0xab])), ('3', 'b'));
        assert_eq!(ja4_alpn(Some(&[0x30, 0x31, 0xab, 0xcd])), ('3', 'd'));
        assert_eq!(ja4_alpn(Some(&[0x30, 0xab, 0xcd, 0x31])), ('0', '1'));
    }

    /// A hello built field by field with the spec example's ciphers, extensions and
    /// signature algorithms (GREASE added), split across two records at every byte.
    #[test]
    fn spec_example_hello_gives_the_spec_ja4_whole_and_split() {
        let mut body = vec![0x03, 0x03];
        body.extend([7u8; 32]);
        body.push(0);
        let ciphers: [u16; 16] = [
            0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
            0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ];
        body.extend((ciphers.len() as u16 * 2).to_be_bytes());
        for c in ciphers {
            body.extend(c.to_be_bytes());
        }
        body.extend([1, 0]);
        let mut exts = Vec::new();
        let mut push = |t: u16, data: &[u8]| {
            exts.extend(t.to_be_bytes());
            exts.extend((data.len() as u16).to_be_bytes());
            exts.extend(data);
        };
        push(0x0a0a, &[]);
        push(0x001b, &[2, 0, 2]);
        let mut sni = vec![0, 14, 0, 0, 11];
        sni.extend(b"example.com");
        push(0x0000, &sni);
        push(0x0033, &[0, 0]);
        push(
            0x0010,
            &[
                0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1',
            ],
        );
        push(0x4469, &[]);
        push(0x0017, &[]);
        push(0x002d, &[1, 1]);
        push(
            0x000d,
            &[0, 16, 4, 3, 8, 4, 4, 1, 5, 3, 8, 5, 5, 1, 8, 6, 6, 1],
        );
        push(0x0005, &[1, 0, 0, 0, 0]);
        push(0x0023, &[]);
        push(0x0012, &[]);
        push(0x002b, &[6, 0x5a, 0x5a, 3, 4, 3, 3]);
        push(0xff01, &[0]);
        push(0x000b, &[1, 0]);
        push(0x000a, &[0, 6, 0x2a, 0x2a, 0, 0x1d, 0, 0x17]);
        push(0x0015, &[0, 0, 0]);
        push(0x1a1a, &[0]);
        body.extend((exts.len() as u16).to_be_bytes());
        body.extend(&exts);
        let mut msg = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
        msg.extend(&body);
        let mut stream = vec![0x16, 3, 1, (msg.len() >> 8) as u8, msg.len() as u8];
        stream.extend(&msg);

        let h = client_hello(&stream, &mut []).unwrap();
        assert_eq!(h.sni, Some(&b"example.com"[..]));
        assert_eq!(h.cipher_count(), 15);
        assert_eq!(h.extension_count(), 16);
        assert_eq!(h.max_version(), version::TLS13);
        assert_eq!(h.min_version(), version::TLS12);
        assert!(!h.offers_deprecated());
        assert_eq!(h.alpn().collect::<Vec<_>>(), [&b"h2"[..], b"http/1.1"]);
        assert_eq!(h.ja4().unwrap(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        let mut ja3 = String::new();
        h.write_ja3(&mut ja3).unwrap();
        assert_eq!(
            ja3,
            "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,\
             27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23,0"
        );
        assert!(!h.reassembled);

        // Two records, split anywhere in the message; then every prefix is Incomplete.
        for cut in 1..msg.len() {
            let (a, b) = msg.split_at(cut);
            let mut s = vec![0x16, 3, 1, (a.len() >> 8) as u8, a.len() as u8];
            s.extend(a);
            s.extend([0x16, 3, 1, (b.len() >> 8) as u8, b.len() as u8]);
            s.extend(b);
            let mut scratch = [0u8; 1024];
            let h = client_hello(&s, &mut scratch).unwrap();
            assert!(h.reassembled);
            assert_eq!(h.consumed, s.len());
            assert_eq!(h.sni, Some(&b"example.com"[..]));
            assert_eq!(h.ja4().unwrap(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
            assert!(matches!(
                client_hello(&s, &mut []),
                Err(TlsError::TooLarge { .. })
            ));
            for end in 0..s.len() {
                let mut scratch = [0u8; 1024];
                match client_hello(&s[..end], &mut scratch) {
                    Err(TlsError::Incomplete { needed }) => assert!(needed >= 1),
                    other => panic!("cut {cut} end {end}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn not_tls_and_not_hello() {
        assert_eq!(
            client_hello(b"GET / HTTP/1.1", &mut []),
            Err(TlsError::NotTls)
        );
        assert_eq!(client_hello(b"\x16\x02", &mut []), Err(TlsError::NotTls));
        assert_eq!(
            client_hello(b"\x16\x03\x01\x00\x04\x02\x00\x00\x00", &mut []),
            Err(TlsError::NotHello { msg_type: 2 })
        );
        assert_eq!(
            client_hello(b"\x16\x03", &mut []),
            Err(TlsError::Incomplete { needed: 3 })
        );
        assert_eq!(
            client_hello(b"\x16\x03\x01\x00\x04\x01\x00\x00\x00", &mut []),
            Err(TlsError::Malformed("ClientHello shorter than its version"))
        );
    }

    #[test]
    fn sslv2_hello() {
        // SSLv2 CLIENT-HELLO offering TLS 1.0, three cipher specs, 16-byte challenge.
        let mut body = vec![1, 3, 1, 0, 9, 0, 0, 0, 16];
        body.extend([0, 0, 0x39, 0, 0, 0x38, 0x01, 0x00, 0x80]);
        body.extend([0x55; 16]);
        let mut s = vec![0x80 | (body.len() >> 8) as u8, body.len() as u8];
        s.extend(&body);
        let h = sslv2_client_hello(&s).unwrap();
        assert_eq!(h.version, version::TLS10);
        assert_eq!(h.cipher_specs.len(), 9);
        assert!(sslv2_client_hello(&s[..s.len() - 1]).is_none());
        assert!(client_hello(&s, &mut []).is_err());
    }
}
