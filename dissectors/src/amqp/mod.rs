//! AMQP dissector: 0-9-1 (the AMQP 0-9-1 specification, section 4.2 "Framing", with RabbitMQ's
//! errata and extensions) and 1.0 (OASIS AMQP 1.0, part 2 "Transport" and part 5 "Security").
//!
//! The version is chosen per connection by the protocol header each side sends first
//! (`AMQP 0 0 9 1`, `AMQP 0 1 0 0`, the SASL layer `AMQP 3 1 0 0`, or TLS `AMQP 2 1 0 0`, after
//! which the rest of the direction is opaque). A flow picked up mid-stream is recognised by the
//! shape of its frames. Frames are cut by the shared [`Framer`]: zero-copy when a frame lies in
//! one segment; one oversize frame is reported and skipped, its head still decoded.
//!
//! Output: one [`Pdu`] per frame (protocol headers, 0-9-1 methods, content headers, bodies and
//! heartbeats, 1.0 performatives, SASL frames and empty frames), events named `amqp.<x>`, and
//! identity facts (product, version, platform, container id, virtual host).

pub mod codec;
mod v091;
mod v10;

pub use codec::{Str, Symbols};

use crate::stream::{FrameLen, Framed, Framer, Framing};
use crate::{Direction, Dissector, Event, Probe, Proto, Side, Sink};
use serde::Serialize;

/// Largest frame buffered across segments (bigger ones are decoded from their head, then
/// skipped). RabbitMQ's default frame-max is 128 KiB.
pub const MAX_FRAME: usize = 256 * 1024;

/// Protocol version of a connection, serialised as `"0-9-1"` or `"1.0"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub enum Version {
    /// AMQP 0-9-1 (also used for the 0-8 / 0-9 headers, which frame the same way).
    #[default]
    #[serde(rename = "0-9-1")]
    V091,
    /// AMQP 1.0.
    #[serde(rename = "1.0")]
    V10,
}

/// What a frame is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameType {
    /// The 8-byte `AMQP....` protocol header.
    #[default]
    ProtocolHeader,
    /// 0-9-1 method frame (type 1).
    Method,
    /// 0-9-1 content header frame (type 2).
    ContentHeader,
    /// 0-9-1 content body frame (type 3).
    Body,
    /// 0-9-1 heartbeat frame (type 8).
    Heartbeat,
    /// 1.0 AMQP frame (type 0) carrying a performative.
    Amqp,
    /// 1.0 SASL frame (type 1).
    Sasl,
    /// 1.0 frame without a body (the 1.0 heartbeat).
    Empty,
}

/// One AMQP frame (or protocol header), borrowed from the stream; serialised flat, with the
/// fields of [`Args`] beside these. Absent fields are omitted.
#[derive(Debug, Default, Serialize)]
pub struct Pdu<'a> {
    /// Protocol version of the connection: `"0-9-1"` or `"1.0"`.
    pub version: Version,
    /// What the frame is: `protocol_header`; 0-9-1 `method`, `content_header`, `body`,
    /// `heartbeat`; 1.0 `amqp`, `sasl`, `empty`.
    pub frame_type: FrameType,
    /// Channel number (0-9-1 frames, 1.0 AMQP frames).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<u16>,
    /// Frame size: 0-9-1 payload size (without the 7-byte header and the frame end); 1.0 whole
    /// frame size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// 1.0 data offset, in 4-byte words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doff: Option<u8>,
    /// 0-9-1 method frames: class id (10 connection, 20 channel, 40 exchange, 50 queue,
    /// 60 basic, 85 confirm, 90 tx).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class_id: Option<u16>,
    /// 0-9-1 method frames: method id within the class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method_id: Option<u16>,
    /// 1.0 AMQP frames: the performative's descriptor code (0x10 open ... 0x18 close), as
    /// tshark's `amqp.performative`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performative: Option<u64>,
    /// 1.0 SASL frames: the descriptor code (0x40 mechanisms, 0x41 init, 0x42 challenge,
    /// 0x43 response, 0x44 outcome).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl_method: Option<u8>,
    /// Method or performative name: `connection.start`, `basic.publish`, ...; 1.0 `open`,
    /// `attach`, ..., `sasl.init`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'static str>,
    /// 0-9-1: the frame-end octet was not 0xCE.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub bad_frame_end: bool,
    /// The frame was too large to buffer: only its head was decoded.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// The frame's arguments, by kind.
    #[serde(flatten)]
    pub args: Args<'a>,
}

/// The arguments of a frame, by kind (serialised flat into the [`Pdu`]).
#[derive(Debug, Default, Serialize)]
#[serde(untagged)]
pub enum Args<'a> {
    /// Nothing more (heartbeats, `-ok` methods without arguments, ...).
    #[default]
    None,
    /// A protocol header.
    Header(Header),
    /// 0-9-1 connection.start / start-ok / secure-ok.
    Start(Start<'a>),
    /// 0-9-1 connection.tune / tune-ok.
    Tune(Tune),
    /// 0-9-1 connection.open.
    Open(OpenVhost<'a>),
    /// 0-9-1 connection.close / channel.close / connection.blocked / basic.return.
    Close(Close<'a>),
    /// 0-9-1 exchange, queue and basic methods.
    Route(Route<'a>),
    /// 0-9-1 content header.
    Content(Content<'a>),
    /// 0-9-1 body frame.
    Body(Body),
    /// 1.0 open.
    Open10(Open10<'a>),
    /// 1.0 attach.
    Attach(Attach<'a>),
    /// 1.0 begin, flow, transfer, disposition, detach, end, close.
    Link(Link<'a>),
    /// 1.0 SASL frames.
    Sasl(Sasl<'a>),
}

/// Protocol header fields.
#[derive(Debug, Default, Serialize)]
pub struct Header {
    /// Protocol id (1.0: 0 AMQP, 2 TLS, 3 SASL; 0-9-1: 0; 0-8/0-9: 1).
    pub protocol_id: u8,
    /// The version the header announces: `"0-9-1"`, `"0-9"`, `"0-8"`, `"1.0.0"` or `"unknown"`.
    pub protocol_version: &'static str,
}

/// 0-9-1 connection.start / start-ok / secure-ok.
#[derive(Debug, Default, Serialize)]
pub struct Start<'a> {
    /// connection.start: protocol major version the server speaks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_major: Option<u8>,
    /// connection.start: protocol minor version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_minor: Option<u8>,
    /// Sender's product (server-properties / client-properties `product`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<Str<'a>>,
    /// Sender's product version (`version` property).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_version: Option<Str<'a>>,
    /// Sender's platform (`platform` property).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Str<'a>>,
    /// connection.start: the space-separated SASL mechanisms offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanisms: Option<Str<'a>>,
    /// start-ok: the SASL mechanism chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<Str<'a>>,
    /// start-ok / secure-ok: length of the SASL response; the secret itself is never kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_len: Option<u32>,
    /// start-ok: locale; start: the locales offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<Str<'a>>,
}

/// 0-9-1 connection.tune / tune-ok.
#[derive(Debug, Default, Serialize)]
pub struct Tune {
    /// Highest channel number.
    pub channel_max: u16,
    /// Largest frame size.
    pub frame_max: u32,
    /// Heartbeat interval in seconds (0: none).
    pub heartbeat: u16,
}

/// 0-9-1 connection.open.
#[derive(Debug, Default, Serialize)]
pub struct OpenVhost<'a> {
    /// The virtual host the client opens.
    pub virtual_host: Str<'a>,
}

/// 0-9-1 connection.close / channel.close / basic.return (and connection.blocked's reason).
#[derive(Debug, Default, Serialize)]
pub struct Close<'a> {
    /// Reply code: 200 is a normal close; 403 ACCESS_REFUSED, 404 NOT_FOUND, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    /// Reply text, e.g. `ACCESS_REFUSED - Login was refused ...`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_text: Option<Str<'a>>,
    /// Class id of the method that caused the close (0 when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_class_id: Option<u16>,
    /// Method id of the method that caused the close.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_method_id: Option<u16>,
    /// basic.return: the exchange the message was published to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Str<'a>>,
    /// basic.return: its routing key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<Str<'a>>,
}

/// 0-9-1 exchange, queue and basic method arguments.
#[derive(Debug, Default, Serialize)]
pub struct Route<'a> {
    /// Exchange name (exchange.*, queue.bind/unbind, basic.publish/deliver/return/get-ok);
    /// exchange.bind/unbind: the destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Str<'a>>,
    /// exchange.declare: the type (`direct`, `topic`, ...); exchange.bind/unbind: the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange_type: Option<Str<'a>>,
    /// Routing key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<Str<'a>>,
    /// Queue name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<Str<'a>>,
    /// Consumer tag (basic.consume/consume-ok/cancel/cancel-ok/deliver).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_tag: Option<Str<'a>>,
    /// Delivery tag (basic.deliver/get-ok/ack/nack/reject).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_tag: Option<u64>,
    /// Message count (queue.declare-ok/purge-ok/delete-ok, basic.get-ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_count: Option<u32>,
    /// Consumer count (queue.declare-ok).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_count: Option<u32>,
}

/// 0-9-1 content header.
#[derive(Debug, Default, Serialize)]
pub struct Content<'a> {
    /// Class of the content (60 basic).
    pub content_class: u16,
    /// Total size of the body to follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_size: Option<u64>,
    /// Property flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_flags: Option<u16>,
    /// The content-type property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<Str<'a>>,
}

/// 0-9-1 body frame.
#[derive(Debug, Default, Serialize)]
pub struct Body {
    /// Bytes of message payload in this frame.
    pub payload_size: u64,
}

/// 1.0 open.
#[derive(Debug, Default, Serialize)]
pub struct Open10<'a> {
    /// The sender's container id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<Str<'a>>,
    /// The hostname (virtual host) the sender asks for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<Str<'a>>,
    /// max-frame-size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_max: Option<u32>,
    /// channel-max.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_max: Option<u16>,
    /// idle-time-out in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<u32>,
    /// `product` connection property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<Str<'a>>,
    /// `version` connection property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_version: Option<Str<'a>>,
    /// `platform` connection property.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Str<'a>>,
}

/// 1.0 attach.
#[derive(Debug, Default, Serialize)]
pub struct Attach<'a> {
    /// Link name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_name: Option<Str<'a>>,
    /// Link handle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<u32>,
    /// `sender` or `receiver`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// Source address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Str<'a>>,
    /// Target address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Str<'a>>,
}

/// 1.0 begin, flow, transfer, disposition, detach, end and close.
#[derive(Debug, Default, Serialize)]
pub struct Link<'a> {
    /// begin: the remote channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_channel: Option<u16>,
    /// flow/transfer/detach: link handle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<u32>,
    /// transfer: delivery id; disposition: first delivery id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_id: Option<u32>,
    /// disposition: last delivery id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_delivery_id: Option<u32>,
    /// flow: link credit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_credit: Option<u32>,
    /// transfer: bytes of message payload in this frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_size: Option<u64>,
    /// disposition: `sender` or `receiver`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    /// transfer/disposition: settled flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled: Option<bool>,
    /// transfer/disposition: delivery state (`received`, `accepted`, `rejected`, `released`,
    /// `modified`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_state: Option<&'static str>,
    /// detach/end/close (or a rejected delivery): error condition, e.g.
    /// `amqp:unauthorized-access`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_condition: Option<Str<'a>>,
    /// Error description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<Str<'a>>,
}

/// 1.0 SASL frames.
#[derive(Debug, Default, Serialize)]
pub struct Sasl<'a> {
    /// sasl.mechanisms: the mechanisms offered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl_mechanisms: Option<Symbols<'a>>,
    /// sasl.init: the mechanism chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<Str<'a>>,
    /// sasl.init / sasl.response: length of the (initial) response; the secret is never kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_len: Option<u32>,
    /// sasl.init: hostname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<Str<'a>>,
    /// sasl.outcome code: 0 ok, 1 auth, 2 sys, 3 sys-perm, 4 sys-temp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl_outcome: Option<u8>,
}

/// Event names (`amqp.<x>`).
pub mod events {
    /// 0-9-1 connection.close or channel.close with reply code 403.
    pub const ACCESS_REFUSED: &str = "amqp.access_refused";
    /// A close with a code other than 200, or a 1.0 close/end/detach carrying an error.
    pub const CONNECTION_CLOSE_ERROR: &str = "amqp.connection_close_error";
    /// 1.0 sasl.outcome with a code other than 0 (ok).
    pub const SASL_AUTH_FAILURE: &str = "amqp.sasl_auth_failure";
    /// A frame larger than [`super::MAX_FRAME`] (or the global buffer budget).
    pub const FRAME_TOO_LARGE: &str = "amqp.frame_too_large";
    /// 0-9-1 frame-end octet is not 0xCE.
    pub const BAD_FRAME_END: &str = "amqp.bad_frame_end";
    /// Bytes that cannot be an AMQP frame, an unknown protocol header, or a frame body that
    /// does not decode.
    pub const PROTOCOL_VIOLATION: &str = "amqp.protocol_violation";
    /// Unknown 0-9-1 class/method or 1.0 performative / SASL descriptor.
    pub const UNKNOWN_METHOD: &str = "amqp.unknown_method";
    /// Bytes lost to the capture.
    pub const GAP: &str = "amqp.gap";
}

fn event(name: &'static str) -> Event {
    Event {
        proto: Proto::Amqp,
        name,
    }
}

/// The protocol header every AMQP connection starts with.
const MAGIC: &[u8; 4] = b"AMQP";

/// Wire format a direction speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ver {
    V091,
    V10,
}

/// Is `b` a plausible 0-9-1 frame type?
fn is_091_type(b: u8) -> bool {
    matches!(b, 1 | 2 | 3 | 8)
}

/// 0-9-1 frame length (header 7, payload, frame end 1). `strict`: also demand the frame end
/// when the whole frame is at hand (used to resynchronise).
fn len_091(d: &[u8], strict: bool) -> FrameLen {
    let mut r = codec::Reader::new(d);
    let (Some(ty), Some(_ch), Some(size)) = (r.u8(), r.u16(), r.u32()) else {
        return FrameLen::NeedMore;
    };
    if !is_091_type(ty) {
        return FrameLen::Invalid;
    }
    let Some(total) = usize::try_from(size).ok().and_then(|s| s.checked_add(8)) else {
        return FrameLen::Invalid;
    };
    if strict {
        let plausible = match ty {
            1 => size >= 4,
            2 => size >= 14,
            8 => size == 0,
            _ => true,
        };
        if !plausible || d.get(total - 1).is_some_and(|e| *e != 0xCE) {
            return FrameLen::Invalid;
        }
    }
    FrameLen::Len(total)
}

/// 1.0 frame length: size (>= 8), doff (>= 2, within size), type 0 (AMQP) or 1 (SASL).
fn len_10(d: &[u8]) -> FrameLen {
    let mut r = codec::Reader::new(d);
    let (Some(size), Some(doff), Some(ty)) = (r.u32(), r.u8(), r.u8()) else {
        // Reject early what can already be told apart.
        let size = d
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_be_bytes);
        return match size {
            Some(s) if s < 8 => FrameLen::Invalid,
            _ => FrameLen::NeedMore,
        };
    };
    if size < 8 || doff < 2 || u32::from(doff) * 4 > size || ty > 1 {
        return FrameLen::Invalid;
    }
    match usize::try_from(size) {
        Ok(n) => FrameLen::Len(n),
        Err(_) => FrameLen::Invalid,
    }
}

/// Length of a frame of an unknown version, guessed from its first byte.
fn len_guess(d: &[u8], strict: bool) -> FrameLen {
    match d.first() {
        None => FrameLen::NeedMore,
        Some(b) if is_091_type(*b) => len_091(d, strict),
        Some(0) => len_10(d),
        Some(_) => FrameLen::Invalid,
    }
}

/// Length of the protocol header at the start of `d`, if it starts with one.
fn len_header(d: &[u8]) -> Option<FrameLen> {
    if d.len() < MAGIC.len() {
        return MAGIC.starts_with(d).then_some(FrameLen::NeedMore);
    }
    d.starts_with(MAGIC).then_some(FrameLen::Len(8))
}

/// Do these bytes look like AMQP? A protocol header at the start of the client's data, or
/// (mid-stream) a plausible 0-9-1 or 1.0 frame.
pub fn probe(_dir: Direction, data: &[u8]) -> Probe {
    if data.is_empty() {
        return Probe::NeedMore;
    }
    if let Some(h) = len_header(data) {
        return match h {
            FrameLen::NeedMore => Probe::NeedMore,
            _ => {
                // "AMQP" then a protocol id we know.
                match data.get(4..8) {
                    None => Probe::NeedMore,
                    Some(&[0, 0, 9, 1]) | Some(&[1, 1, 0, 9]) | Some(&[1, 1, 8, 0]) => Probe::Yes,
                    Some(&[0 | 2 | 3, 1, 0, 0]) => Probe::Yes,
                    Some(_) => Probe::No,
                }
            }
        };
    }
    match len_guess(data, true) {
        FrameLen::NeedMore => Probe::NeedMore,
        FrameLen::Invalid => Probe::No,
        FrameLen::Len(n) if n > MAX_FRAME + 8 => Probe::No,
        FrameLen::Len(n) => {
            // 1.0: also want the frame body to start like a performative.
            if data.first() == Some(&0) {
                let doff = data.get(4).copied().unwrap_or(2);
                let body = usize::from(doff) * 4;
                if n == 8 {
                    // An empty (heartbeat) frame: size 8, doff 2.
                    return if doff == 2 { Probe::Yes } else { Probe::No };
                }
                return match data.get(body..) {
                    None | Some([]) => Probe::NeedMore,
                    Some([0, ..]) => Probe::Yes,
                    Some(_) => Probe::No,
                };
            }
            // 0-9-1: method frames must name a known method; others are too vague alone.
            if data.first() == Some(&1) {
                let mut r = codec::Reader::new(data.get(7..).unwrap_or_default());
                return match (r.u16(), r.u16()) {
                    (Some(c), Some(m)) if v091::method_name(c, m).is_some() => Probe::Yes,
                    (Some(_), Some(_)) => Probe::No,
                    _ => Probe::NeedMore,
                };
            }
            if n > data.len() {
                Probe::NeedMore
            } else {
                Probe::Yes
            }
        }
    }
}

/// Per-direction state.
#[derive(Debug, Default, Clone, Copy)]
struct DirState {
    /// Wire format, from this direction's protocol header or its first frame.
    ver: Option<Ver>,
    /// After a TLS protocol header: nothing more is parsed.
    opaque: bool,
}

/// Per-flow AMQP state: one framer and a few flags per direction (bounded).
#[derive(Debug)]
pub struct Session {
    framers: [Framer; 2],
    dirs: [DirState; 2],
}

impl Default for Session {
    fn default() -> Self {
        Session {
            framers: [Framer::new(MAX_FRAME), Framer::new(MAX_FRAME)],
            dirs: [DirState::default(); 2],
        }
    }
}

/// Who sent a frame travelling in `dir`.
fn sender(dir: Direction) -> Side {
    match dir {
        Direction::ToServer => Side::Client,
        Direction::ToClient => Side::Server,
    }
}

/// The framing callbacks for one `parse` call.
struct Cx<'s> {
    dir: Direction,
    dirs: &'s mut [DirState; 2],
    sink: &'s mut dyn Sink,
    /// The framer was out of sync: demand stronger evidence of a frame start.
    strict: bool,
}

impl Cx<'_> {
    fn ver(&self) -> Option<Ver> {
        let i = self.dir.index();
        let other = self.dir.flip().index();
        self.dirs
            .get(i)
            .and_then(|d| d.ver)
            .or_else(|| self.dirs.get(other).and_then(|d| d.ver))
    }
    fn state(&mut self) -> Option<&mut DirState> {
        self.dirs.get_mut(self.dir.index())
    }
    fn ev(&mut self, name: &'static str) {
        self.sink.event(self.dir, event(name));
    }

    fn header(&mut self, b: &[u8]) {
        let (id, ver, name): (u8, Option<Ver>, &'static str) = match b.get(4..8) {
            Some(&[0, 0, 9, 1]) => (0, Some(Ver::V091), "0-9-1"),
            Some(&[1, 1, 0, 9]) => (1, Some(Ver::V091), "0-9"),
            Some(&[1, 1, 8, 0]) => (1, Some(Ver::V091), "0-8"),
            Some(&[id @ (0 | 2 | 3), 1, 0, 0]) => (id, Some(Ver::V10), "1.0.0"),
            _ => (b.get(4).copied().unwrap_or(0), None, "unknown"),
        };
        let tls = id == 2 && ver == Some(Ver::V10);
        if let Some(st) = self.state() {
            if ver.is_some() {
                st.ver = ver;
            }
            st.opaque |= tls;
        }
        if ver.is_none() {
            self.ev(events::PROTOCOL_VIOLATION);
        }
        let pdu = Pdu {
            version: match ver.or(self.ver()) {
                Some(Ver::V10) => Version::V10,
                _ => Version::V091,
            },
            frame_type: FrameType::ProtocolHeader,
            args: Args::Header(Header {
                protocol_id: id,
                protocol_version: name,
            }),
            ..Pdu::default()
        };
        self.sink.pdu(self.dir, &crate::Pdu::Amqp(pdu));
    }

    fn frame(&mut self, b: &[u8], len: usize, truncated: bool) {
        if b.starts_with(MAGIC) {
            self.header(b);
            return;
        }
        let ver = self.ver().or(match b.first() {
            Some(0) => Some(Ver::V10),
            _ => Some(Ver::V091),
        });
        if let Some(st) = self.state() {
            st.ver = st.ver.or(ver);
        }
        let out = match ver {
            Some(Ver::V10) => v10::frame(self.dir, b, len, truncated, self.sink),
            _ => v091::frame(self.dir, b, truncated, self.sink),
        };
        if let Err(name) = out {
            self.ev(name);
        }
    }
}

impl Framing for Cx<'_> {
    fn frame_len(&self, data: &[u8]) -> FrameLen {
        if let Some(h) = len_header(data) {
            return h;
        }
        if self.dirs.get(self.dir.index()).is_some_and(|d| d.opaque) {
            return FrameLen::Invalid;
        }
        match self.ver() {
            Some(Ver::V091) => len_091(data, self.strict),
            Some(Ver::V10) => len_10(data),
            None => len_guess(data, self.strict),
        }
    }

    fn on_frame(&mut self, framed: Framed<'_>) {
        self.strict = false;
        let opaque = self.dirs.get(self.dir.index()).is_some_and(|d| d.opaque);
        match framed {
            Framed::Frame(b) => self.frame(b, b.len(), false),
            Framed::Oversize { len, head } => {
                self.ev(events::FRAME_TOO_LARGE);
                self.frame(head, len, true);
            }
            Framed::Invalid(_) if opaque => {}
            Framed::Invalid(_) => self.ev(events::PROTOCOL_VIOLATION),
        }
    }
}

impl Dissector for Session {
    fn parse(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink) {
        let i = dir.index();
        if self.dirs.get(i).is_some_and(|d| d.opaque) {
            return;
        }
        let Some(framer) = self.framers.get_mut(i) else {
            return;
        };
        let mut cx = Cx {
            dir,
            dirs: &mut self.dirs,
            sink,
            strict: !framer.synced(),
        };
        framer.feed(data, &mut cx);
    }

    fn on_gap(&mut self, dir: Direction, _len: u64, sink: &mut dyn Sink) {
        if let Some(f) = self.framers.get_mut(dir.index()) {
            f.gap();
        }
        if !self.dirs.get(dir.index()).is_some_and(|d| d.opaque) {
            sink.event(dir, event(events::GAP));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn pdu_stays_small() {
        // Passed by reference, never boxed: keep it well under clippy's large-variant limit.
        let n = std::mem::size_of::<Pdu<'_>>();
        assert!(n <= 192, "amqp::Pdu is {n} bytes");
    }

    #[test]
    fn probes() {
        let d = Direction::ToServer;
        assert_eq!(probe(d, b"AMQP\x00\x00\x09\x01"), Probe::Yes);
        assert_eq!(probe(d, b"AMQP\x03\x01\x00\x00"), Probe::Yes);
        assert_eq!(probe(d, b"AMQ"), Probe::NeedMore);
        assert_eq!(probe(d, b""), Probe::NeedMore);
        assert_eq!(probe(d, b"GET / HTTP/1.1\r\n"), Probe::No);
        assert_eq!(
            probe(d, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
            Probe::No
        );
        // 0-9-1 channel.open-ok mid-stream.
        assert_eq!(
            probe(
                d,
                b"\x01\x00\x01\x00\x00\x00\x08\x00\x14\x00\x0b\x00\x00\x00\x00\xce"
            ),
            Probe::Yes
        );
        assert_eq!(
            probe(
                d,
                b"\x01\x00\x01\x00\x00\x00\x08\x00\x14\x00\x0b\x00\x00\x00\x00\x00"
            ),
            Probe::No
        );
        // 1.0 empty frame and a begin.
        assert_eq!(probe(d, b"\x00\x00\x00\x08\x02\x00\x00\x00"), Probe::Yes);
        assert_eq!(
            probe(d, b"\x00\x00\x00\x1a\x02\x00\x00\x00\x00\x53\x11"),
            Probe::Yes
        );
        assert_eq!(probe(d, b"\x00\x00\x00\x04"), Probe::No);
    }
}
