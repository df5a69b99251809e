//! AMQP 0-9-1 frames (spec section 4.2.3 "General Frame Format"): type, channel, size,
//! payload, frame-end 0xCE. Method frames (4.2.4) carry a class id, a method id and the
//! method's arguments (the class reference of the spec, with RabbitMQ's extensions:
//! exchange.bind/unbind, basic.nack, confirm.select, connection.blocked/update-secret).

use super::codec::{Reader, Str, Table};
use super::{
    event, events, sender, Args, Body, Close, Content, FrameType, OpenVhost, Pdu, Route, Start,
    Tune, Version,
};
use crate::{Direction, Fact, FactKind, Side, Sink};

/// Method name for a class/method pair, `None` when unknown.
pub fn method_name(class: u16, method: u16) -> Option<&'static str> {
    Some(match (class, method) {
        (10, 10) => "connection.start",
        (10, 11) => "connection.start-ok",
        (10, 20) => "connection.secure",
        (10, 21) => "connection.secure-ok",
        (10, 30) => "connection.tune",
        (10, 31) => "connection.tune-ok",
        (10, 40) => "connection.open",
        (10, 41) => "connection.open-ok",
        (10, 50) => "connection.close",
        (10, 51) => "connection.close-ok",
        (10, 60) => "connection.blocked",
        (10, 61) => "connection.unblocked",
        (10, 70) => "connection.update-secret",
        (10, 71) => "connection.update-secret-ok",
        (20, 10) => "channel.open",
        (20, 11) => "channel.open-ok",
        (20, 20) => "channel.flow",
        (20, 21) => "channel.flow-ok",
        (20, 40) => "channel.close",
        (20, 41) => "channel.close-ok",
        (30, 10) => "access.request",
        (30, 11) => "access.request-ok",
        (40, 10) => "exchange.declare",
        (40, 11) => "exchange.declare-ok",
        (40, 20) => "exchange.delete",
        (40, 21) => "exchange.delete-ok",
        (40, 30) => "exchange.bind",
        (40, 31) => "exchange.bind-ok",
        (40, 40) => "exchange.unbind",
        (40, 51) => "exchange.unbind-ok",
        (50, 10) => "queue.declare",
        (50, 11) => "queue.declare-ok",
        (50, 20) => "queue.bind",
        (50, 21) => "queue.bind-ok",
        (50, 30) => "queue.purge",
        (50, 31) => "queue.purge-ok",
        (50, 40) => "queue.delete",
        (50, 41) => "queue.delete-ok",
        (50, 50) => "queue.unbind",
        (50, 51) => "queue.unbind-ok",
        (60, 10) => "basic.qos",
        (60, 11) => "basic.qos-ok",
        (60, 20) => "basic.consume",
        (60, 21) => "basic.consume-ok",
        (60, 30) => "basic.cancel",
        (60, 31) => "basic.cancel-ok",
        (60, 40) => "basic.publish",
        (60, 50) => "basic.return",
        (60, 60) => "basic.deliver",
        (60, 70) => "basic.get",
        (60, 71) => "basic.get-ok",
        (60, 72) => "basic.get-empty",
        (60, 80) => "basic.ack",
        (60, 90) => "basic.reject",
        (60, 100) => "basic.recover-async",
        (60, 110) => "basic.recover",
        (60, 111) => "basic.recover-ok",
        (60, 120) => "basic.nack",
        (85, 10) => "confirm.select",
        (85, 11) => "confirm.select-ok",
        (90, 10) => "tx.select",
        (90, 11) => "tx.select-ok",
        (90, 20) => "tx.commit",
        (90, 21) => "tx.commit-ok",
        (90, 30) => "tx.rollback",
        (90, 31) => "tx.rollback-ok",
        _ => return None,
    })
}

/// Decode one 0-9-1 frame (`truncated`: only its head is at hand) and report it.
/// `Err` names an event for a frame whose header is unusable.
pub fn frame(
    dir: Direction,
    b: &[u8],
    truncated: bool,
    sink: &mut dyn Sink,
) -> Result<(), &'static str> {
    let mut r = Reader::new(b);
    let (Some(ty), Some(channel), Some(size)) = (r.u8(), r.u16(), r.u32()) else {
        return Err(events::PROTOCOL_VIOLATION);
    };
    let payload_len = usize::try_from(size).unwrap_or(usize::MAX);
    let avail = r.rest();
    let payload = avail.get(..payload_len).unwrap_or(avail);
    let mut pdu = Pdu {
        version: Version::V091,
        channel: Some(channel),
        size: Some(size),
        truncated,
        ..Pdu::default()
    };
    if !truncated && avail.get(payload_len) != Some(&0xCE) {
        pdu.bad_frame_end = true;
        sink.event(dir, event(events::BAD_FRAME_END));
    }
    let mut p = Reader::new(payload);
    match ty {
        1 => {
            pdu.frame_type = FrameType::Method;
            if let (Some(c), Some(m)) = (p.u16(), p.u16()) {
                pdu.class_id = Some(c);
                pdu.method_id = Some(m);
                pdu.method = method_name(c, m);
                if pdu.method.is_none() {
                    sink.event(dir, event(events::UNKNOWN_METHOD));
                }
                pdu.args = arguments(dir, c, m, &mut p, sink);
                close_events(dir, &pdu.args, sink);
            } else {
                sink.event(dir, event(events::PROTOCOL_VIOLATION));
            }
        }
        2 => {
            pdu.frame_type = FrameType::ContentHeader;
            pdu.args = content_header(&mut p);
        }
        3 => {
            pdu.frame_type = FrameType::Body;
            pdu.args = Args::Body(Body {
                payload_size: u64::from(size),
            });
        }
        _ => pdu.frame_type = FrameType::Heartbeat,
    }
    sink.pdu(dir, &crate::Pdu::Amqp(pdu));
    Ok(())
}

fn close_events(dir: Direction, args: &Args<'_>, sink: &mut dyn Sink) {
    let Args::Close(Close {
        reply_code: Some(code),
        failing_class_id: Some(_),
        ..
    }) = args
    else {
        return;
    };
    match code {
        403 => {
            sink.event(dir, event(events::ACCESS_REFUSED));
            sink.event(dir, event(events::CONNECTION_CLOSE_ERROR));
        }
        200 => {}
        _ => sink.event(dir, event(events::CONNECTION_CLOSE_ERROR)),
    }
}

fn content_header<'a>(p: &mut Reader<'a>) -> Args<'a> {
    let Some(class) = p.u16() else {
        return Args::None;
    };
    let mut c = Content {
        content_class: class,
        ..Content::default()
    };
    let _ = (|| {
        let _weight = p.u16()?;
        c.body_size = Some(p.u64()?);
        let flags = p.u16()?;
        c.property_flags = Some(flags);
        if flags & 0x8000 != 0 {
            c.content_type = Some(Str(p.shortstr()?));
        }
        Some(())
    })();
    Args::Content(c)
}

fn shortstr<'a>(p: &mut Reader<'a>) -> Option<Str<'a>> {
    p.shortstr().map(Str)
}

/// Product, version and platform from a properties table, reported as facts about `side`.
fn properties<'a>(table: Table<'a>, side: Side, st: &mut Start<'a>, sink: &mut dyn Sink) {
    for (key, slot, kind) in [
        (&b"product"[..], &mut st.product, FactKind::AmqpProduct),
        (
            &b"version"[..],
            &mut st.product_version,
            FactKind::AmqpVersion,
        ),
        (&b"platform"[..], &mut st.platform, FactKind::AmqpPlatform),
    ] {
        if let Some(v) = table.get_str(key) {
            *slot = Some(v);
            sink.fact(Fact {
                kind,
                about: side,
                value: v.fact(),
            });
        }
    }
}

/// Decode the arguments worth keeping of method `class`.`method`; arguments cut short (a
/// truncated frame, an odd peer) keep what decoded.
fn arguments<'a>(
    dir: Direction,
    class: u16,
    method: u16,
    p: &mut Reader<'a>,
    sink: &mut dyn Sink,
) -> Args<'a> {
    match (class, method) {
        (10, 10) | (10, 11) | (10, 21) => {
            let mut st = Start::default();
            let _ = start(dir, method, p, &mut st, sink);
            Args::Start(st)
        }
        (10, 30) | (10, 31) => match (p.u16(), p.u32(), p.u16()) {
            (Some(channel_max), Some(frame_max), Some(heartbeat)) => Args::Tune(Tune {
                channel_max,
                frame_max,
                heartbeat,
            }),
            _ => Args::None,
        },
        (10, 40) => match shortstr(p) {
            Some(vhost) => {
                sink.fact(Fact {
                    kind: FactKind::AmqpVirtualHost,
                    about: Side::Server,
                    value: vhost.fact(),
                });
                Args::Open(OpenVhost {
                    virtual_host: vhost,
                })
            }
            None => Args::None,
        },
        (10, 50) | (20, 40) | (10, 60) | (60, 50) => {
            let mut c = Close::default();
            let _ = (|| {
                if class == 10 && method == 60 {
                    c.reply_text = Some(shortstr(p)?);
                    return Some(());
                }
                c.reply_code = Some(p.u16()?);
                c.reply_text = Some(shortstr(p)?);
                if class == 60 {
                    c.exchange = Some(shortstr(p)?);
                    c.routing_key = Some(shortstr(p)?);
                    return Some(());
                }
                c.failing_class_id = Some(p.u16()?);
                c.failing_method_id = Some(p.u16()?);
                Some(())
            })();
            Args::Close(c)
        }
        (40..=60, _) => {
            let mut rt = Route::default();
            match route(class, method, p, &mut rt) {
                Some(true) | None => Args::Route(rt),
                Some(false) => Args::None,
            }
        }
        _ => Args::None,
    }
}

/// connection.start / start-ok / secure-ok.
fn start<'a>(
    dir: Direction,
    method: u16,
    p: &mut Reader<'a>,
    st: &mut Start<'a>,
    sink: &mut dyn Sink,
) -> Option<()> {
    match method {
        10 => {
            st.version_major = Some(p.u8()?);
            st.version_minor = Some(p.u8()?);
            properties(Table::read(p)?, sender(dir), st, sink);
            st.mechanisms = Some(Str(p.longstr()?));
            st.locale = Some(Str(p.longstr()?));
        }
        11 => {
            properties(Table::read(p)?, sender(dir), st, sink);
            st.mechanism = Some(shortstr(p)?);
            // The response carries the credentials: only its length is kept.
            let n = p.u32()?;
            st.response_len = Some(n);
            p.take(usize::try_from(n).ok()?)?;
            st.locale = Some(shortstr(p)?);
        }
        _ => st.response_len = Some(p.u32()?),
    }
    Some(())
}

/// Exchange, queue and basic methods: `Some(false)` when the method has nothing kept.
fn route<'a>(class: u16, method: u16, p: &mut Reader<'a>, rt: &mut Route<'a>) -> Option<bool> {
    match (class, method) {
        (40, 10) => {
            p.u16()?;
            rt.exchange = Some(shortstr(p)?);
            rt.exchange_type = Some(shortstr(p)?);
        }
        (40, 20) => {
            p.u16()?;
            rt.exchange = Some(shortstr(p)?);
        }
        (40, 30) | (40, 40) => {
            p.u16()?;
            rt.exchange = Some(shortstr(p)?);
            rt.exchange_type = Some(shortstr(p)?);
            rt.routing_key = Some(shortstr(p)?);
        }
        (50, 10) | (50, 30) | (50, 40) | (60, 70) => {
            p.u16()?;
            rt.queue = Some(shortstr(p)?);
        }
        (50, 11) => {
            rt.queue = Some(shortstr(p)?);
            rt.message_count = Some(p.u32()?);
            rt.consumer_count = Some(p.u32()?);
        }
        (50, 31) | (50, 41) => rt.message_count = Some(p.u32()?),
        (50, 20) | (50, 50) => {
            p.u16()?;
            rt.queue = Some(shortstr(p)?);
            rt.exchange = Some(shortstr(p)?);
            rt.routing_key = Some(shortstr(p)?);
        }
        (60, 20) => {
            p.u16()?;
            rt.queue = Some(shortstr(p)?);
            rt.consumer_tag = Some(shortstr(p)?);
        }
        (60, 21) | (60, 30) | (60, 31) => rt.consumer_tag = Some(shortstr(p)?),
        (60, 40) => {
            p.u16()?;
            rt.exchange = Some(shortstr(p)?);
            rt.routing_key = Some(shortstr(p)?);
        }
        (60, 60) => {
            rt.consumer_tag = Some(shortstr(p)?);
            rt.delivery_tag = Some(p.u64()?);
            p.u8()?;
            rt.exchange = Some(shortstr(p)?);
            rt.routing_key = Some(shortstr(p)?);
        }
        (60, 71) => {
            rt.delivery_tag = Some(p.u64()?);
            p.u8()?;
            rt.exchange = Some(shortstr(p)?);
            rt.routing_key = Some(shortstr(p)?);
            rt.message_count = Some(p.u32()?);
        }
        (60, 80) | (60, 90) | (60, 120) => rt.delivery_tag = Some(p.u64()?),
        _ => return Some(false),
    }
    Some(true)
}
