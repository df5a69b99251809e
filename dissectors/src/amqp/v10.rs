//! AMQP 1.0 frames (OASIS AMQP 1.0 part 2.3 "Framing"): size, doff, type (0 AMQP, 1 SASL),
//! channel, extended header, body. An AMQP frame's body is one performative (part 2.7: open,
//! begin, attach, flow, transfer, disposition, detach, end, close), a described list, followed
//! for transfers by message payload; a SASL frame's body is one SASL frame (part 5.3.3).

use super::codec::{read_value, Compound, Reader, Str, Symbols, Value};
use super::{event, events, sender, Args, Attach, FrameType, Link, Open10, Pdu, Sasl, Version};
use crate::{Direction, Fact, FactKind, Side, Sink};

/// Name of a performative or SASL frame descriptor.
fn name(code: u64) -> Option<&'static str> {
    Some(match code {
        0x10 => "open",
        0x11 => "begin",
        0x12 => "attach",
        0x13 => "flow",
        0x14 => "transfer",
        0x15 => "disposition",
        0x16 => "detach",
        0x17 => "end",
        0x18 => "close",
        0x40 => "sasl.mechanisms",
        0x41 => "sasl.init",
        0x42 => "sasl.challenge",
        0x43 => "sasl.response",
        0x44 => "sasl.outcome",
        _ => return None,
    })
}

/// A performative: descriptor code, its fields, and how many bytes it took (when known).
struct Performative<'a> {
    code: Option<u64>,
    fields: Compound<'a>,
    /// Encoded length of the whole described list (header included), from its size field.
    encoded_len: Option<usize>,
}

/// Read the performative at the start of `body`, tolerating a list cut short (the head of an
/// oversize frame): its fields are then those that fit.
fn performative(body: &[u8]) -> Option<Performative<'_>> {
    let mut r = Reader::new(body);
    if r.u8()? != 0 {
        return None;
    }
    let code = match read_value(&mut r, 1)? {
        Value::Uint(c) => Some(c),
        Value::Sym(s) => super::codec::Descriptor::Symbol(s).code(),
        _ => None,
    };
    let head = body.len() - r.rest().len();
    let ctor = r.u8()?;
    let (count, size, width) = match ctor {
        0x45 => (0, 0, 0),
        0xc0 => {
            let size = usize::from(r.u8()?);
            (u32::from(r.u8()?), size, 1)
        }
        0xd0 => {
            let size = usize::try_from(r.u32()?).ok()?;
            (r.u32()?, size, 4)
        }
        _ => return None,
    };
    let list_body_len = size.saturating_sub(width);
    let rest = r.rest();
    let fields = Compound {
        count,
        body: rest.get(..list_body_len).unwrap_or(rest),
    };
    let encoded_len = head
        .checked_add(1)
        .and_then(|n| n.checked_add(width))
        .and_then(|n| n.checked_add(size));
    Some(Performative {
        code,
        fields,
        encoded_len,
    })
}

fn u32_of(v: Option<Value<'_>>) -> Option<u32> {
    v?.as_u64().and_then(|n| u32::try_from(n).ok())
}

fn u16_of(v: Option<Value<'_>>) -> Option<u16> {
    v?.as_u64().and_then(|n| u16::try_from(n).ok())
}

fn text(v: Option<Value<'_>>) -> Option<Str<'_>> {
    v?.as_text()
}

/// The `amqp:error:list` in `v`: condition and description.
fn error<'a>(v: Option<Value<'a>>, l: &mut Link<'a>) -> bool {
    let Some((Some(0x1d), e)) = v.and_then(Value::as_described_list) else {
        return false;
    };
    l.error_condition = text(e.nth(0));
    l.error_description = text(e.nth(1));
    true
}

/// Address (first field) of a source or target.
fn address(v: Option<Value<'_>>) -> Option<Str<'_>> {
    let (_, l) = v?.as_described_list()?;
    text(l.nth(0))
}

fn role(v: Option<Value<'_>>) -> Option<&'static str> {
    v?.as_bool().map(|r| if r { "receiver" } else { "sender" })
}

/// Delivery state name (part 3.4).
fn delivery_state<'a>(v: Option<Value<'a>>, l: &mut Link<'a>) {
    let Some((code, fields)) = v.and_then(Value::as_described_list) else {
        return;
    };
    l.delivery_state = match code {
        Some(0x23) => Some("received"),
        Some(0x24) => Some("accepted"),
        Some(0x25) => {
            error(fields.nth(0), l);
            Some("rejected")
        }
        Some(0x26) => Some("released"),
        Some(0x27) => Some("modified"),
        _ => None,
    };
}

fn binary_len(v: Option<Value<'_>>) -> Option<u32> {
    match v? {
        Value::Binary(b) => u32::try_from(b.len()).ok(),
        _ => None,
    }
}

/// Decode one 1.0 frame of `len` bytes (`b` is all of it, or its head when `truncated`).
pub fn frame(
    dir: Direction,
    b: &[u8],
    len: usize,
    truncated: bool,
    sink: &mut dyn Sink,
) -> Result<(), &'static str> {
    let mut r = Reader::new(b);
    let (Some(size), Some(doff), Some(ty), Some(channel)) = (r.u32(), r.u8(), r.u8(), r.u16())
    else {
        return Err(events::PROTOCOL_VIOLATION);
    };
    let header = usize::from(doff) * 4;
    let body = b.get(header..).unwrap_or_default();
    let mut pdu = Pdu {
        version: Version::V10,
        frame_type: if ty == 1 {
            FrameType::Sasl
        } else {
            FrameType::Amqp
        },
        size: Some(size),
        doff: Some(doff),
        truncated,
        ..Pdu::default()
    };
    if ty == 0 {
        pdu.channel = Some(channel);
    }
    if body.is_empty() && len <= header {
        pdu.frame_type = FrameType::Empty;
        sink.pdu(dir, &crate::Pdu::Amqp(pdu));
        return Ok(());
    }
    let Some(perf) = performative(body) else {
        sink.pdu(dir, &crate::Pdu::Amqp(pdu));
        return Err(events::PROTOCOL_VIOLATION);
    };
    let code = perf.code.unwrap_or(u64::MAX);
    pdu.method = name(code);
    let known = if ty == 1 {
        pdu.sasl_method = u8::try_from(code).ok();
        (0x40..=0x44).contains(&code)
    } else {
        pdu.performative = perf.code;
        (0x10..=0x18).contains(&code)
    };
    if !known {
        sink.event(dir, event(events::UNKNOWN_METHOD));
    }
    let f = perf.fields;
    let me = sender(dir);
    let mut failed = false;
    pdu.args = match (ty, code) {
        (0, 0x10) => {
            let mut o = Open10 {
                container_id: text(f.nth(0)),
                hostname: text(f.nth(1)),
                frame_max: u32_of(f.nth(2)),
                channel_max: u16_of(f.nth(3)),
                idle_timeout: u32_of(f.nth(4)),
                ..Open10::default()
            };
            if let Some(c) = o.container_id {
                sink.fact(Fact {
                    kind: FactKind::AmqpContainerId,
                    about: me,
                    value: c.fact(),
                });
            }
            if let (Some(h), Direction::ToServer) = (o.hostname, dir) {
                sink.fact(Fact {
                    kind: FactKind::AmqpVirtualHost,
                    about: Side::Server,
                    value: h.fact(),
                });
            }
            if let Some(Value::Map(props)) = f.nth(9) {
                for (key, slot, kind) in [
                    (&b"product"[..], &mut o.product, FactKind::AmqpProduct),
                    (
                        &b"version"[..],
                        &mut o.product_version,
                        FactKind::AmqpVersion,
                    ),
                    (&b"platform"[..], &mut o.platform, FactKind::AmqpPlatform),
                ] {
                    if let Some(v) = text(props.map_get(key)) {
                        *slot = Some(v);
                        sink.fact(Fact {
                            kind,
                            about: me,
                            value: v.fact(),
                        });
                    }
                }
            }
            Args::Open10(o)
        }
        (0, 0x12) => Args::Attach(Attach {
            link_name: text(f.nth(0)),
            handle: u32_of(f.nth(1)),
            role: role(f.nth(2)),
            source: address(f.nth(5)),
            target: address(f.nth(6)),
        }),
        (0, 0x11 | 0x13..=0x18) => {
            let mut l = Link::default();
            match code {
                0x11 => l.remote_channel = u16_of(f.nth(0)),
                0x13 => {
                    l.handle = u32_of(f.nth(4));
                    l.link_credit = u32_of(f.nth(6));
                }
                0x14 => {
                    let mut it = f.iter();
                    l.handle = u32_of(it.next());
                    l.delivery_id = u32_of(it.next());
                    let mut it = it.skip(2);
                    l.settled = it.next().and_then(Value::as_bool);
                    delivery_state(it.nth(2), &mut l);
                    l.payload_size = perf
                        .encoded_len
                        .and_then(|n| len.checked_sub(header)?.checked_sub(n))
                        .map(|n| n as u64);
                }
                0x15 => {
                    let mut it = f.iter();
                    l.role = role(it.next());
                    l.delivery_id = u32_of(it.next());
                    l.last_delivery_id = u32_of(it.next());
                    l.settled = it.next().and_then(Value::as_bool);
                    delivery_state(it.next(), &mut l);
                }
                0x16 => {
                    l.handle = u32_of(f.nth(0));
                    failed = error(f.nth(2), &mut l);
                }
                _ => failed = error(f.nth(0), &mut l),
            }
            Args::Link(l)
        }
        (1, 0x40..=0x44) => {
            let mut s = Sasl::default();
            match code {
                0x40 => s.sasl_mechanisms = f.nth(0).map(Symbols),
                0x41 => {
                    s.mechanism = text(f.nth(0));
                    // The initial response holds the credentials: only its length is kept.
                    s.response_len = binary_len(f.nth(1));
                    s.hostname = text(f.nth(2));
                }
                0x43 => s.response_len = binary_len(f.nth(0)),
                0x44 => {
                    s.sasl_outcome = f
                        .nth(0)
                        .and_then(Value::as_u64)
                        .and_then(|n| u8::try_from(n).ok());
                    if s.sasl_outcome.is_some_and(|c| c != 0) {
                        sink.event(dir, event(events::SASL_AUTH_FAILURE));
                    }
                }
                _ => {}
            }
            Args::Sasl(s)
        }
        _ => Args::None,
    };
    if failed {
        sink.event(dir, event(events::CONNECTION_CLOSE_ERROR));
    }
    sink.pdu(dir, &crate::Pdu::Amqp(pdu));
    Ok(())
}
