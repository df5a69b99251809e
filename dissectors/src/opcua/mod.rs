//! OPC UA binary over TCP (`opc.tcp`): OPC 10000-6 §7.1 (UA Connection Protocol: HEL, ACK,
//! ERR, RHE), §6.7 (UA Secure Conversation: OPN, MSG, CLO chunks with their security and
//! sequence headers) and §5.2 (the binary encoding of the service bodies).
//!
//! Each TCP direction is cut into messages by the shared [`Framer`] (the message size is at
//! offset 4). A message's transport and security headers are always reported; its body is
//! decoded only where it can be read:
//!
//! * the OPN of a channel names its security policy. Under `SecurityPolicy#None` every body is
//!   plaintext. Under any other policy the OPN itself is asymmetrically encrypted, and later
//!   messages are either signed only (plaintext) or encrypted; as in Wireshark, the first
//!   MSG after the OPN decides: a body that starts with a known service type id is taken as
//!   Sign, anything else as SignAndEncrypt, and from then on bodies are reported as
//!   `encrypted` (headers only).
//! * without an OPN (capture started mid-connection) bodies are assumed plaintext, and only
//!   known service types are decoded past their type id.
//!
//! A Read of the server's BuildInfo (ServerStatus, BuildInfo or its fields) and its answer
//! give identity facts about the server: see `buildinfo`.
//!
//! Intermediate chunks (`C`) are copied, within [`MAX_MESSAGE`] bytes and [`MAX_CHUNKS`]
//! chunks, and the message is decoded when its final chunk (`F`) arrives; an abort chunk (`A`)
//! drops them. Single-chunk messages (the common case) are decoded in place, without copying
//! or allocating.

mod buildinfo;
mod cert;
mod encoding;
mod services;

use crate::stream::{FrameLen, Framed, Framer, Framing};
use crate::{Direction, Dissector, Event, Probe, Proto, Side, Sink};
use encoding::{Reader, R};
use serde::Serialize;

pub use buildinfo::{MAX_PENDING, MAX_WATCHED};
pub use cert::Thumbprint;
pub use encoding::{Identifier, NodeId, Text};

/// Largest message buffered when it straddles TCP segments; larger ones are reported from
/// their first segment (headers, and the service type when it is there) and skipped.
pub const MAX_FRAME: usize = 256 * 1024;
/// Largest message reassembled from chunks.
pub const MAX_MESSAGE: usize = 1024 * 1024;
/// Most chunks reassembled into one message.
pub const MAX_CHUNKS: u32 = 256;
/// Message sizes above this do not frame (the stream is taken as out of sync).
const MAX_PLAUSIBLE: u32 = 1 << 28;
/// Largest message size `probe` accepts.
const PROBE_MAX: u32 = 16 << 20;
/// Reassembly buffers larger than this are freed once their message is done.
const KEEP_CAPACITY: usize = 64 * 1024;

const POLICY_NONE: &[u8] = b"http://opcfoundation.org/UA/SecurityPolicy#None";

/// One OPC UA message (or chunk), as handed to the sink: a borrowed view of the decoded
/// [`Message`] (kept small, so that [`crate::Pdu`] stays small). Serialises as the message.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(transparent)]
pub struct Pdu<'a>(pub &'a Message<'a>);

impl<'a> std::ops::Deref for Pdu<'a> {
    type Target = Message<'a>;
    fn deref(&self) -> &Message<'a> {
        self.0
    }
}

/// The decoded fields of one OPC UA message (or chunk). Absent fields are not serialised.
#[derive(Debug, Default, Serialize)]
pub struct Message<'a> {
    /// `HEL`, `ACK`, `ERR`, `RHE`, `OPN`, `MSG` or `CLO`.
    pub message_type: &'static str,
    /// `F` (final chunk or whole message), `C` (intermediate chunk) or `A` (abort).
    pub chunk_type: &'static str,
    /// Message size from the header, in bytes (header included).
    pub message_size: u32,
    /// The message was larger than [`MAX_FRAME`] and was decoded from its start only.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,

    /// HEL/ACK: protocol version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<u32>,
    /// HEL/ACK: receive buffer size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receive_buffer_size: Option<u32>,
    /// HEL/ACK: send buffer size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_buffer_size: Option<u32>,
    /// HEL/ACK: maximum message size (0: no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_message_size: Option<u32>,
    /// HEL/ACK: maximum chunk count (0: no limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_chunk_count: Option<u32>,
    /// HEL/RHE: endpoint URL; GetEndpoints request: the URL asked for; GetEndpoints and
    /// CreateSession responses: the first endpoint's URL; CreateSession request: the URL used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<Text<'a>>,
    /// RHE: the server's application URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_uri: Option<Text<'a>>,
    /// ERR and abort chunks: the status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u32>,
    /// ERR and abort chunks: the status code's symbolic name, when well known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// ERR and abort chunks: the reason text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Text<'a>>,

    /// OPN/MSG/CLO: secure channel id (0 in the client's first OPN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_channel_id: Option<u32>,
    /// OPN: security policy URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_policy_uri: Option<Text<'a>>,
    /// OPN: sender certificate (chain) length in bytes; CreateSession: the client's or server's
    /// certificate length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_len: Option<u32>,
    /// Subject common name of that certificate, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_subject: Option<Text<'a>>,
    /// SHA-1 thumbprint of that certificate (its first, when a chain), in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_thumbprint: Option<Thumbprint>,
    /// OPN: receiver certificate thumbprint length (20 when present, 0 when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_thumbprint_len: Option<u32>,
    /// MSG/CLO: security token id; OPN response: the token issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<u32>,
    /// OPN/MSG/CLO: sequence number (absent when encrypted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u32>,
    /// OPN/MSG/CLO: request id (absent when encrypted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<u32>,
    /// The body is encrypted: only the headers above are reported.
    #[serde(skip_serializing_if = "is_false")]
    pub encrypted: bool,
    /// Number of chunks the message was reassembled from (only when more than one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_count: Option<u32>,

    /// Numeric id of the body's type (the service request or response encoding, e.g. 631
    /// ReadRequest, 634 ReadResponse, 397 ServiceFault).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type_id: Option<u32>,
    /// Name of that type, when it is a known service message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<&'static str>,
    /// Request or response header: request handle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_handle: Option<u32>,
    /// Request header: timeout hint in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_hint: Option<u32>,
    /// Response header: service result status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_result: Option<u32>,
    /// Its symbolic name, when well known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_result_name: Option<&'static str>,

    /// OpenSecureChannel request: `Issue` or `Renew`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_type: Option<&'static str>,
    /// OpenSecureChannel request: `None`, `Sign` or `SignAndEncrypt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_mode: Option<&'static str>,
    /// OpenSecureChannel: requested (request) or revised (response) token lifetime, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_lifetime: Option<u32>,

    /// CreateSession request: the client's application URI; CreateSession and GetEndpoints
    /// responses: the (first endpoint's) server's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_uri: Option<Text<'a>>,
    /// Product URI of the same application description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_uri: Option<Text<'a>>,
    /// Application name (text of the localized name) of the same description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_name: Option<Text<'a>>,
    /// Application type: `Server`, `Client`, `ClientAndServer` or `DiscoveryServer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_type: Option<&'static str>,
    /// CreateSession request: session name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<Text<'a>>,
    /// ActivateSession request: user identity token type (`anonymous`, `username`, `x509`,
    /// `issued`, `unknown`). Secrets are never read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_token: Option<&'static str>,
    /// ActivateSession request with a user name token: the user name (never the password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<Text<'a>>,
    /// Length of the service's main array: nodes to read/write/browse, methods to call,
    /// results of those, endpoints returned, subscription acknowledgements (Publish).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_count: Option<u32>,
    /// Read/Write/Browse: the first node; Call: the first call's object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<NodeId<'a>>,
    /// Read/Write: the first node's attribute id (13 Value).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_id: Option<u32>,
    /// Call: the first call's method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method_id: Option<NodeId<'a>>,
    /// CreateSubscription response, Publish response: subscription id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<u32>,
    /// CreateSubscription: requested (request) or revised (response) publishing interval, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publishing_interval: Option<f64>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The message types of the connection and secure conversation protocols.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MsgType {
    Hel,
    Ack,
    Err,
    Rhe,
    Opn,
    Msg,
    Clo,
}

impl MsgType {
    fn from_bytes(b: &[u8]) -> Option<MsgType> {
        Some(match b {
            b"HEL" => MsgType::Hel,
            b"ACK" => MsgType::Ack,
            b"ERR" => MsgType::Err,
            b"RHE" => MsgType::Rhe,
            b"OPN" => MsgType::Opn,
            b"MSG" => MsgType::Msg,
            b"CLO" => MsgType::Clo,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            MsgType::Hel => "HEL",
            MsgType::Ack => "ACK",
            MsgType::Err => "ERR",
            MsgType::Rhe => "RHE",
            MsgType::Opn => "OPN",
            MsgType::Msg => "MSG",
            MsgType::Clo => "CLO",
        }
    }
    /// Connection-protocol messages are never chunked.
    fn secure(self) -> bool {
        matches!(self, MsgType::Opn | MsgType::Msg | MsgType::Clo)
    }
}

const TYPES: [&[u8; 3]; 7] = [b"HEL", b"ACK", b"ERR", b"RHE", b"OPN", b"MSG", b"CLO"];

fn chunk_name(c: u8) -> Option<&'static str> {
    match c {
        b'F' => Some("F"),
        b'C' => Some("C"),
        b'A' => Some("A"),
        _ => None,
    }
}

/// Whether `data` (possibly shorter than a header) can start a message header.
fn plausible_prefix(data: &[u8]) -> bool {
    let head = data.get(..data.len().min(3)).unwrap_or_default();
    if !TYPES.iter().any(|t| t.starts_with(head)) {
        return false;
    }
    match data.get(3) {
        None => true,
        Some(&c) => chunk_name(c).is_some(),
    }
}

/// The message size from a complete 8-byte header.
fn header_size(data: &[u8]) -> Option<u32> {
    let b = data.get(4..8)?;
    Some(u32::from_le_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

/// Length of the message at the start of `data`.
fn frame_len(data: &[u8]) -> FrameLen {
    if !plausible_prefix(data) {
        return FrameLen::Invalid;
    }
    match header_size(data) {
        None => FrameLen::NeedMore,
        Some(n) if (8..=MAX_PLAUSIBLE).contains(&n) => {
            usize::try_from(n).map_or(FrameLen::Invalid, FrameLen::Len)
        }
        Some(_) => FrameLen::Invalid,
    }
}

/// Do these bytes (the first seen in one direction) look like OPC UA binary?
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    if !plausible_prefix(data) {
        return Probe::No;
    }
    let ty = data.get(..3).and_then(MsgType::from_bytes);
    if let (Some(t), Some(&c)) = (ty, data.get(3)) {
        if !t.secure() && c != b'F' {
            return Probe::No;
        }
    }
    let Some(size) = header_size(data) else {
        return Probe::NeedMore;
    };
    let min = if ty == Some(MsgType::Hel) { 32 } else { 8 };
    if (min..=PROBE_MAX).contains(&size) {
        Probe::Yes
    } else {
        Probe::No
    }
}

/// What is known about the readability of the connection's bodies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Security {
    /// No OPN seen: bodies assumed plaintext.
    #[default]
    Unknown,
    /// Security policy None.
    None,
    /// A secured policy; Sign or SignAndEncrypt is decided by the next MSG.
    Undecided,
    /// Signed only: plaintext bodies.
    Sign,
    /// Encrypted bodies.
    Encrypt,
}

/// A message being reassembled from chunks in one direction.
#[derive(Debug, Default)]
struct Reassembly {
    buf: Vec<u8>,
    /// `buf`'s capacity, counted against the dissectors' global buffer ceiling.
    held: crate::stream::Reservation,
    request_id: u32,
    chunks: u32,
    active: bool,
    /// Over a limit: the rest of this message's chunks are not kept.
    dropped: bool,
}

impl Reassembly {
    fn reset(&mut self) {
        self.buf.clear();
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        }
        // Shrinking a reservation always succeeds.
        self.held.set(self.buf.capacity());
        self.active = false;
        self.dropped = false;
        self.chunks = 0;
    }

    fn start(&mut self, request_id: u32) {
        self.reset();
        self.active = true;
        self.request_id = request_id;
    }

    /// Append a chunk body (`truncated`: only its start is at hand, so the message cannot be
    /// rebuilt).
    fn push(&mut self, body: &[u8], truncated: bool) -> Push {
        if self.dropped {
            return Push::Skipped;
        }
        self.chunks = self.chunks.saturating_add(1);
        let over = truncated
            || self.chunks > MAX_CHUNKS
            || self.buf.len().saturating_add(body.len()) > MAX_MESSAGE;
        // Room in the global ceiling for what the buffer will hold, before copying into it,
        // and again for its real capacity after (the allocator may round up): the count never
        // falls below what is held.
        let room = !over
            && self
                .held
                .set(self.buf.capacity().max(self.buf.len() + body.len()));
        if room {
            self.buf.reserve_exact(body.len());
        }
        if !room || !self.held.set(self.buf.capacity()) {
            self.buf = Vec::new();
            self.held.set(0);
            self.dropped = true;
            return Push::Dropped;
        }
        self.buf.extend_from_slice(body);
        Push::Kept
    }
}

/// What became of a chunk handed to the reassembly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Push {
    Kept,
    /// This chunk crossed a limit: the message is dropped.
    Dropped,
    /// The message was dropped earlier.
    Skipped,
}

/// Per-flow state other than framing.
#[derive(Debug, Default)]
struct State {
    security: Security,
    encrypted_reported: bool,
    /// A whole message has been seen in this direction (before that, bytes that do not frame
    /// are a mid-stream start, not an anomaly).
    seen: [bool; 2],
    reasm: [Reassembly; 2],
    /// Read requests awaiting their response whose answers carry BuildInfo facts.
    reads: buildinfo::PendingReads,
}

fn event(sink: &mut dyn Sink, dir: Direction, name: &'static str) {
    sink.event(
        dir,
        Event {
            proto: Proto::Opcua,
            name,
        },
    );
}

fn emit(sink: &mut dyn Sink, dir: Direction, msg: Message<'_>) {
    sink.pdu(dir, &crate::Pdu::Opcua(Pdu(&msg)));
}

/// The side that sent a message travelling in `dir`.
fn sender(dir: Direction) -> Side {
    match dir {
        Direction::ToServer => Side::Client,
        Direction::ToClient => Side::Server,
    }
}

impl State {
    /// One whole message (or, when `truncated`, the start of one).
    fn message(&mut self, dir: Direction, frame: &[u8], truncated: bool, sink: &mut dyn Sink) {
        let mut r = Reader::new(frame);
        let (Ok(ty), Ok(chunk), Ok(size)) = (r.take(3), r.u8(), r.u32()) else {
            return;
        };
        let (Some(ty), Some(chunk_type)) = (MsgType::from_bytes(ty), chunk_name(chunk)) else {
            event(sink, dir, "opcua.malformed");
            return;
        };
        if let Some(s) = self.seen.get_mut(dir.index()) {
            *s = true;
        }
        let mut pdu = Message {
            message_type: ty.name(),
            chunk_type,
            message_size: size,
            truncated,
            ..Message::default()
        };
        let res = match ty {
            MsgType::Hel | MsgType::Ack => hello(&mut r, &mut pdu, ty == MsgType::Hel),
            MsgType::Err => error(&mut r, &mut pdu),
            MsgType::Rhe => reverse_hello(&mut r, &mut pdu),
            MsgType::Opn | MsgType::Msg | MsgType::Clo => {
                return self.secure(dir, ty, chunk, r, pdu, sink);
            }
        };
        if res.is_err() && !truncated {
            event(sink, dir, "opcua.malformed");
        }
        if ty == MsgType::Err {
            event(sink, dir, "opcua.err_message");
            status_events(sink, dir, pdu.status_code);
        }
        emit(sink, dir, pdu);
    }

    fn note_encrypted(&mut self, dir: Direction, sink: &mut dyn Sink) {
        if !self.encrypted_reported {
            self.encrypted_reported = true;
            event(sink, dir, "opcua.encrypted_channel");
        }
    }

    /// OPN, MSG or CLO, after the 8-byte message header.
    fn secure<'f>(
        &mut self,
        dir: Direction,
        ty: MsgType,
        chunk: u8,
        mut r: Reader<'f>,
        mut pdu: Message<'f>,
        sink: &mut dyn Sink,
    ) {
        let truncated = pdu.truncated;
        let body = match self.secure_headers(dir, ty, &mut r, &mut pdu, sink) {
            Ok(Some(body)) => body,
            Ok(None) => return emit(sink, dir, pdu),
            Err(_) => {
                if !truncated {
                    event(sink, dir, "opcua.malformed");
                }
                return emit(sink, dir, pdu);
            }
        };
        let request_id = pdu.request_id.unwrap_or(0);
        let Some(reasm) = self.reasm.get_mut(dir.index()) else {
            return;
        };
        let reads = &mut self.reads;
        if ty == MsgType::Opn {
            return decode_and_emit(body, pdu, dir, sink, reads);
        }
        match chunk {
            b'A' => {
                reasm.reset();
                let mut a = Reader::new(body);
                if let Ok(code) = a.u32() {
                    pdu.status_code = Some(code);
                    pdu.error = services::status_name(code);
                    pdu.reason = a.bytes().ok().flatten().map(Text);
                }
                event(sink, dir, "opcua.chunk_abort");
                emit(sink, dir, pdu);
            }
            b'C' => {
                if !reasm.active || reasm.request_id != request_id {
                    reasm.start(request_id);
                }
                if reasm.push(body, truncated) == Push::Dropped {
                    event(sink, dir, "opcua.chunk_limit_exceeded");
                }
                emit(sink, dir, pdu);
            }
            _ if reasm.active && reasm.request_id == request_id => {
                let pushed = reasm.push(body, truncated);
                pdu.chunk_count = Some(reasm.chunks);
                if pushed != Push::Kept {
                    if pushed == Push::Dropped {
                        event(sink, dir, "opcua.chunk_limit_exceeded");
                    }
                    reasm.reset();
                    return emit(sink, dir, pdu);
                }
                let buf = std::mem::take(&mut reasm.buf);
                decode_and_emit(&buf, pdu, dir, sink, reads);
                if let Some(reasm) = self.reasm.get_mut(dir.index()) {
                    reasm.buf = buf;
                    reasm.reset();
                }
            }
            _ => decode_and_emit(body, pdu, dir, sink, reads),
        }
    }

    /// The security and sequence headers. Returns the body when it is readable.
    fn secure_headers<'f>(
        &mut self,
        dir: Direction,
        ty: MsgType,
        r: &mut Reader<'f>,
        pdu: &mut Message<'f>,
        sink: &mut dyn Sink,
    ) -> R<Option<&'f [u8]>> {
        pdu.secure_channel_id = Some(r.u32()?);
        if ty == MsgType::Opn {
            let policy = r.bytes()?;
            pdu.security_policy_uri = policy.map(Text);
            let cert = r.bytes()?;
            services::certificate(cert, pdu, sink, sender(dir));
            if cert.is_none() {
                pdu.certificate_len = Some(0);
            }
            pdu.receiver_thumbprint_len = r.bytes()?.map(|t| t.len() as u32).or(Some(0));
            if policy == Some(POLICY_NONE) {
                self.security = Security::None;
            } else {
                // The OPN of a secured channel is always encrypted (Sign or SignAndEncrypt).
                self.security = Security::Undecided;
                pdu.encrypted = true;
                return Ok(None);
            }
        } else {
            pdu.token_id = Some(r.u32()?);
            if self.security == Security::Undecided {
                let plain = r
                    .rest()
                    .get(8..)
                    .is_some_and(services::starts_with_known_service);
                self.security = if plain {
                    Security::Sign
                } else {
                    Security::Encrypt
                };
            }
            if self.security == Security::Encrypt {
                pdu.encrypted = true;
                self.note_encrypted(dir, sink);
                return Ok(None);
            }
        }
        pdu.sequence_number = Some(r.u32()?);
        pdu.request_id = Some(r.u32()?);
        Ok(Some(r.rest()))
    }
}

fn status_events(sink: &mut dyn Sink, dir: Direction, code: Option<u32>) {
    if let Some(code) = code.filter(|&c| services::is_bad(c)) {
        event(sink, dir, services::status_event(code));
    }
}

/// Decode a readable service body into `pdu` and hand it on.
fn decode_and_emit<'b>(
    body: &'b [u8],
    mut pdu: Message<'b>,
    dir: Direction,
    sink: &mut dyn Sink,
    reads: &mut buildinfo::PendingReads,
) {
    let truncated = pdu.truncated;
    let reads = pdu.request_id.map(|request_id| buildinfo::Reads {
        table: reads,
        request_id,
        dir,
    });
    let res = services::decode(
        body,
        &mut services::Out {
            pdu: &mut pdu,
            sink: &mut *sink,
            reads,
        },
    );
    if res.is_err() && !truncated {
        event(sink, dir, "opcua.malformed");
    }
    status_events(sink, dir, pdu.service_result);
    emit(sink, dir, pdu);
}

fn hello<'a>(r: &mut Reader<'a>, pdu: &mut Message<'a>, hel: bool) -> R<()> {
    pdu.protocol_version = Some(r.u32()?);
    pdu.receive_buffer_size = Some(r.u32()?);
    pdu.send_buffer_size = Some(r.u32()?);
    pdu.max_message_size = Some(r.u32()?);
    pdu.max_chunk_count = Some(r.u32()?);
    if hel {
        pdu.endpoint_url = r.bytes()?.map(Text);
    }
    Ok(())
}

fn error<'a>(r: &mut Reader<'a>, pdu: &mut Message<'a>) -> R<()> {
    let code = r.u32()?;
    pdu.status_code = Some(code);
    pdu.error = services::status_name(code);
    pdu.reason = r.bytes()?.map(Text);
    Ok(())
}

fn reverse_hello<'a>(r: &mut Reader<'a>, pdu: &mut Message<'a>) -> R<()> {
    pdu.server_uri = r.bytes()?.map(Text);
    pdu.endpoint_url = r.bytes()?.map(Text);
    Ok(())
}

/// Framing glue: the framer's callbacks, with the state and sink they feed.
struct Ctx<'s, 'k> {
    st: &'s mut State,
    dir: Direction,
    sink: &'k mut dyn Sink,
}

impl Framing for Ctx<'_, '_> {
    fn frame_len(&self, data: &[u8]) -> FrameLen {
        frame_len(data)
    }

    fn on_frame(&mut self, framed: Framed<'_>) {
        match framed {
            Framed::Frame(f) => self.st.message(self.dir, f, false, self.sink),
            Framed::Oversize { head, .. } => {
                event(self.sink, self.dir, "opcua.chunk_limit_exceeded");
                self.st.message(self.dir, head, true, self.sink);
            }
            Framed::Invalid(_) => {
                if self.st.seen.get(self.dir.index()).copied().unwrap_or(false) {
                    event(self.sink, self.dir, "opcua.malformed");
                }
            }
        }
    }
}

/// Per-flow OPC UA state: a framer and a chunk reassembly buffer per direction, what the OPN
/// said about the channel's security, and the pending reads of BuildInfo nodes.
#[derive(Debug)]
pub struct Session {
    framers: [Framer; 2],
    st: State,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            framers: [Framer::new(MAX_FRAME), Framer::new(MAX_FRAME)],
            st: State::default(),
        }
    }
}

impl Dissector for Session {
    fn parse(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        let Some(framer) = self.framers.get_mut(dir.index()) else {
            return;
        };
        let mut ctx = Ctx {
            st: &mut self.st,
            dir,
            sink,
        };
        framer.feed(data, &mut ctx);
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, sink: &mut dyn Sink) {
        if let Some(f) = self.framers.get_mut(dir.index()) {
            f.gap();
        }
        if let Some(r) = self.st.reasm.get_mut(dir.index()) {
            r.reset();
        }
        event(sink, dir, "opcua.gap");
    }

    fn on_eof(&mut self, dir: Direction, _sink: &mut dyn Sink) {
        if let Some(r) = self.st.reasm.get_mut(dir.index()) {
            r.reset();
            r.buf = Vec::new();
            r.held.set(0);
        }
    }
}
