//! AMQP 0-9-1 (frames ending in 0xCE) and AMQP 1.0 (performatives as described lists).

/// `AMQP\0\0\x09\x01`.
pub const HEADER_091: &[u8; 8] = b"AMQP\x00\x00\x09\x01";
/// `AMQP\0\x01\x00\x00`.
pub const HEADER_10: &[u8; 8] = b"AMQP\x00\x01\x00\x00";

/// 0-9-1 frame types.
pub const FRAME_METHOD: u8 = 1;
pub const FRAME_HEADER: u8 = 2;
pub const FRAME_BODY: u8 = 3;
pub const FRAME_HEARTBEAT: u8 = 8;

/// 0-9-1 frame: type, channel, size, payload, frame end 0xCE.
pub fn frame(ty: u8, channel: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + payload.len());
    frame_into(ty, channel, payload, &mut v);
    v
}

fn frame_into(ty: u8, channel: u16, payload: &[u8], v: &mut Vec<u8>) {
    v.push(ty);
    v.extend_from_slice(&channel.to_be_bytes());
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v.push(0xce);
}

fn shortstr(s: &str, out: &mut Vec<u8>) {
    let b = &s.as_bytes()[..s.len().min(255)];
    out.push(b.len() as u8);
    out.extend_from_slice(b);
}

fn longstr(s: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// Field table of string values.
fn table(entries: &[(&str, &str)], out: &mut Vec<u8>) {
    let mut t = Vec::new();
    for (k, v) in entries {
        shortstr(k, &mut t);
        t.push(b'S');
        longstr(v.as_bytes(), &mut t);
    }
    longstr(&t, out);
}

/// A method frame (class, method, argument bytes).
pub fn method(channel: u16, class: u16, method: u16, args: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(4 + args.len());
    p.extend_from_slice(&class.to_be_bytes());
    p.extend_from_slice(&method.to_be_bytes());
    p.extend_from_slice(args);
    frame(FRAME_METHOD, channel, &p)
}

/// connection.start (10, 10): version 0-9, server properties, mechanisms, locales.
pub fn connection_start(product: &str) -> Vec<u8> {
    let mut a = vec![0, 9];
    table(
        &[
            ("product", product),
            ("version", "3.12.0"),
            ("platform", "Erlang/OTP"),
        ],
        &mut a,
    );
    longstr(b"PLAIN AMQPLAIN", &mut a);
    longstr(b"en_US", &mut a);
    method(0, 10, 10, &a)
}

/// connection.start-ok (10, 11) with PLAIN credentials.
pub fn connection_start_ok(product: &str, user: &str, pass: &str) -> Vec<u8> {
    let mut a = Vec::new();
    table(&[("product", product)], &mut a);
    shortstr("PLAIN", &mut a);
    let mut resp = vec![0u8];
    resp.extend_from_slice(user.as_bytes());
    resp.push(0);
    resp.extend_from_slice(pass.as_bytes());
    longstr(&resp, &mut a);
    shortstr("en_US", &mut a);
    method(0, 10, 11, &a)
}

/// connection.tune (10, 30) or tune-ok (10, 31) when `ok`.
pub fn connection_tune(ok: bool, channel_max: u16, frame_max: u32, heartbeat: u16) -> Vec<u8> {
    let mut a = Vec::new();
    a.extend_from_slice(&channel_max.to_be_bytes());
    a.extend_from_slice(&frame_max.to_be_bytes());
    a.extend_from_slice(&heartbeat.to_be_bytes());
    method(0, 10, if ok { 31 } else { 30 }, &a)
}

/// connection.open (10, 40).
pub fn connection_open(vhost: &str) -> Vec<u8> {
    let mut a = Vec::new();
    shortstr(vhost, &mut a);
    shortstr("", &mut a);
    a.push(0);
    method(0, 10, 40, &a)
}

/// connection.open-ok (10, 41).
pub fn connection_open_ok() -> Vec<u8> {
    method(0, 10, 41, &[0])
}

/// channel.open (20, 10).
pub fn channel_open(channel: u16) -> Vec<u8> {
    method(channel, 20, 10, &[0])
}

/// channel.open-ok (20, 11).
pub fn channel_open_ok(channel: u16) -> Vec<u8> {
    method(channel, 20, 11, &[0, 0, 0, 0])
}

/// basic.publish (60, 40) + content header (class 60, body size, content-type) + one body
/// frame, concatenated as a client sends them.
pub fn basic_publish(channel: u16, exchange: &str, routing_key: &str, body: &[u8]) -> Vec<u8> {
    let mut a = vec![0, 0];
    shortstr(exchange, &mut a);
    shortstr(routing_key, &mut a);
    a.push(0);
    let mut v = method(channel, 60, 40, &a);
    let mut h = Vec::with_capacity(32);
    h.extend_from_slice(&60u16.to_be_bytes());
    h.extend_from_slice(&0u16.to_be_bytes());
    h.extend_from_slice(&(body.len() as u64).to_be_bytes());
    h.extend_from_slice(&0x8000u16.to_be_bytes());
    shortstr("application/json", &mut h);
    frame_into(FRAME_HEADER, channel, &h, &mut v);
    frame_into(FRAME_BODY, channel, body, &mut v);
    v
}

/// basic.ack (60, 80) from a consumer or a confirming broker.
pub fn basic_ack(channel: u16, delivery_tag: u64) -> Vec<u8> {
    let mut a = delivery_tag.to_be_bytes().to_vec();
    a.push(0);
    method(channel, 60, 80, &a)
}

/// Heartbeat frame (type 8, channel 0, empty).
pub fn heartbeat() -> Vec<u8> {
    frame(FRAME_HEARTBEAT, 0, &[])
}

/// connection.close (10, 50).
pub fn connection_close(code: u16, text: &str) -> Vec<u8> {
    let mut a = code.to_be_bytes().to_vec();
    shortstr(text, &mut a);
    a.extend_from_slice(&[0, 0, 0, 0]);
    method(0, 10, 50, &a)
}

/// connection.close-ok (10, 51).
pub fn connection_close_ok() -> Vec<u8> {
    method(0, 10, 51, &[])
}

// ---- AMQP 1.0 ----

/// AMQP 1.0 encoder for the few types the performatives here need.
pub mod v10 {
    pub const OPEN: u8 = 0x10;
    pub const BEGIN: u8 = 0x11;
    pub const ATTACH: u8 = 0x12;
    pub const TRANSFER: u8 = 0x14;
    pub const DETACH: u8 = 0x16;
    pub const END: u8 = 0x17;
    pub const CLOSE: u8 = 0x18;

    /// Encode a string (str8 / str32).
    pub fn str(s: &str, out: &mut Vec<u8>) {
        if s.len() < 256 {
            out.push(0xa1);
            out.push(s.len() as u8);
        } else {
            out.push(0xb1);
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        }
        out.extend_from_slice(s.as_bytes());
    }
    /// Encode binary (vbin8 / vbin32).
    pub fn bin(b: &[u8], out: &mut Vec<u8>) {
        if b.len() < 256 {
            out.push(0xa0);
            out.push(b.len() as u8);
        } else {
            out.push(0xb0);
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        }
        out.extend_from_slice(b);
    }
    /// Encode a uint (uint0 / smalluint / uint).
    pub fn uint(n: u32, out: &mut Vec<u8>) {
        match n {
            0 => out.push(0x43),
            1..=255 => out.extend_from_slice(&[0x52, n as u8]),
            _ => {
                out.push(0x70);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
    }
    pub fn null(out: &mut Vec<u8>) {
        out.push(0x40);
    }
    pub fn boolean(b: bool, out: &mut Vec<u8>) {
        out.push(if b { 0x41 } else { 0x42 });
    }
    /// A described list: `0x00 0x53 code` then list0 / list8 / list32 of pre-encoded items.
    pub fn described_list(code: u8, count: usize, items: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&[0x00, 0x53, code]);
        if count == 0 {
            out.push(0x45);
        } else if items.len() + 1 < 256 && count < 256 {
            out.push(0xc0);
            out.push((items.len() + 1) as u8);
            out.push(count as u8);
            out.extend_from_slice(items);
        } else {
            out.push(0xd0);
            out.extend_from_slice(&((items.len() + 4) as u32).to_be_bytes());
            out.extend_from_slice(&(count as u32).to_be_bytes());
            out.extend_from_slice(items);
        }
    }
    /// Frame: size, doff 2, type 0 (AMQP), channel, then the body.
    pub fn frame(channel: u16, body: &[u8]) -> Vec<u8> {
        let mut v = Vec::with_capacity(8 + body.len());
        v.extend_from_slice(&((8 + body.len()) as u32).to_be_bytes());
        v.extend_from_slice(&[2, 0]);
        v.extend_from_slice(&channel.to_be_bytes());
        v.extend_from_slice(body);
        v
    }
}

/// AMQP 1.0 open performative (0x00 0x53 0x10 + list: container-id, hostname, max-frame-size,
/// channel-max).
pub fn open_10(container_id: &str, hostname: &str) -> Vec<u8> {
    let mut items = Vec::new();
    v10::str(container_id, &mut items);
    v10::str(hostname, &mut items);
    v10::uint(65_536, &mut items);
    items.extend_from_slice(&[0x60, 0x00, 0xff]); // channel-max ushort 255
    let mut body = Vec::new();
    v10::described_list(v10::OPEN, 4, &items, &mut body);
    v10::frame(0, &body)
}

/// AMQP 1.0 begin (remote-channel null for the initiator, else the peer's channel).
pub fn begin_10(channel: u16, remote_channel: Option<u16>) -> Vec<u8> {
    let mut items = Vec::new();
    match remote_channel {
        None => v10::null(&mut items),
        Some(c) => {
            items.push(0x60);
            items.extend_from_slice(&c.to_be_bytes());
        }
    }
    v10::uint(1, &mut items);
    v10::uint(2048, &mut items);
    v10::uint(2048, &mut items);
    let mut body = Vec::new();
    v10::described_list(v10::BEGIN, 4, &items, &mut body);
    v10::frame(channel, &body)
}

/// AMQP 1.0 attach (name, handle, role: true = receiver, then source / target addresses).
pub fn attach_10(channel: u16, name: &str, handle: u32, receiver: bool, address: &str) -> Vec<u8> {
    let mut items = Vec::new();
    v10::str(name, &mut items);
    v10::uint(handle, &mut items);
    v10::boolean(receiver, &mut items);
    v10::null(&mut items);
    v10::null(&mut items);
    let mut addr = Vec::new();
    v10::str(address, &mut addr);
    v10::described_list(0x28, 1, &addr, &mut items); // source
    v10::described_list(0x29, 1, &addr, &mut items); // target
    let mut body = Vec::new();
    v10::described_list(v10::ATTACH, 7, &items, &mut body);
    v10::frame(channel, &body)
}

/// AMQP 1.0 transfer (handle, delivery-id, delivery-tag, message-format 0) followed by the
/// message as one data section (0x00 0x53 0x75 binary).
pub fn transfer_10(channel: u16, handle: u32, delivery_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut items = Vec::new();
    v10::uint(handle, &mut items);
    v10::uint(delivery_id, &mut items);
    v10::bin(&delivery_id.to_be_bytes(), &mut items);
    v10::uint(0, &mut items);
    let mut body = Vec::with_capacity(32 + payload.len());
    v10::described_list(v10::TRANSFER, 4, &items, &mut body);
    body.extend_from_slice(&[0x00, 0x53, 0x75]);
    v10::bin(payload, &mut body);
    v10::frame(channel, &body)
}

/// AMQP 1.0 close (empty list).
pub fn close_10() -> Vec<u8> {
    let mut body = Vec::new();
    v10::described_list(v10::CLOSE, 0, &[], &mut body);
    v10::frame(0, &body)
}

/// AMQP 1.0 empty frame (heartbeat).
pub fn empty_10() -> Vec<u8> {
    v10::frame(0, &[])
}

// ---- Additions for the golden captures (the builders above are unchanged) ----

/// `AMQP\x03\x01\x00\x00`: the AMQP 1.0 SASL layer header.
pub const HEADER_10_SASL: &[u8; 8] = b"AMQP\x03\x01\x00\x00";

/// exchange.declare (40, 10): passive/durable/auto-delete/internal/no-wait bits all clear but
/// durable, no arguments.
pub fn exchange_declare(channel: u16, exchange: &str, kind: &str) -> Vec<u8> {
    let mut a = vec![0, 0];
    shortstr(exchange, &mut a);
    shortstr(kind, &mut a);
    a.push(0x02);
    table(&[], &mut a);
    method(channel, 40, 10, &a)
}

/// exchange.declare-ok (40, 11).
pub fn exchange_declare_ok(channel: u16) -> Vec<u8> {
    method(channel, 40, 11, &[])
}

/// queue.declare (50, 10), durable, no arguments.
pub fn queue_declare(channel: u16, queue: &str) -> Vec<u8> {
    let mut a = vec![0, 0];
    shortstr(queue, &mut a);
    a.push(0x02);
    table(&[], &mut a);
    method(channel, 50, 10, &a)
}

/// queue.declare-ok (50, 11): queue name, message count, consumer count.
pub fn queue_declare_ok(channel: u16, queue: &str, messages: u32, consumers: u32) -> Vec<u8> {
    let mut a = Vec::new();
    shortstr(queue, &mut a);
    a.extend_from_slice(&messages.to_be_bytes());
    a.extend_from_slice(&consumers.to_be_bytes());
    method(channel, 50, 11, &a)
}

/// basic.consume (60, 20).
pub fn basic_consume(channel: u16, queue: &str, consumer_tag: &str) -> Vec<u8> {
    let mut a = vec![0, 0];
    shortstr(queue, &mut a);
    shortstr(consumer_tag, &mut a);
    a.push(0);
    table(&[], &mut a);
    method(channel, 60, 20, &a)
}

/// basic.consume-ok (60, 21).
pub fn basic_consume_ok(channel: u16, consumer_tag: &str) -> Vec<u8> {
    let mut a = Vec::new();
    shortstr(consumer_tag, &mut a);
    method(channel, 60, 21, &a)
}

/// basic.deliver (60, 60) + content header + one body frame, concatenated as a broker sends
/// them.
pub fn basic_deliver(
    channel: u16,
    consumer_tag: &str,
    delivery_tag: u64,
    exchange: &str,
    routing_key: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut a = Vec::new();
    shortstr(consumer_tag, &mut a);
    a.extend_from_slice(&delivery_tag.to_be_bytes());
    a.push(0); // redelivered
    shortstr(exchange, &mut a);
    shortstr(routing_key, &mut a);
    let mut v = method(channel, 60, 60, &a);
    v.extend_from_slice(&content_header(channel, body.len() as u64));
    frame_into(FRAME_BODY, channel, body, &mut v);
    v
}

/// Content header frame (class 60, body size, content-type application/json).
pub fn content_header(channel: u16, body_size: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(32);
    h.extend_from_slice(&60u16.to_be_bytes());
    h.extend_from_slice(&0u16.to_be_bytes());
    h.extend_from_slice(&body_size.to_be_bytes());
    h.extend_from_slice(&0x8000u16.to_be_bytes());
    shortstr("application/json", &mut h);
    frame(FRAME_HEADER, channel, &h)
}

/// channel.close (20, 40).
pub fn channel_close(channel: u16, code: u16, text: &str) -> Vec<u8> {
    let mut a = code.to_be_bytes().to_vec();
    shortstr(text, &mut a);
    a.extend_from_slice(&[0, 0, 0, 0]);
    method(channel, 20, 40, &a)
}

/// channel.close-ok (20, 41).
pub fn channel_close_ok(channel: u16) -> Vec<u8> {
    method(channel, 20, 41, &[])
}

/// AMQP 1.0 frame of any type (0 AMQP, 1 SASL).
pub fn frame_10(ty: u8, channel: u16, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + body.len());
    v.extend_from_slice(&((8 + body.len()) as u32).to_be_bytes());
    v.extend_from_slice(&[2, ty]);
    v.extend_from_slice(&channel.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn symbol(s: &str, out: &mut Vec<u8>) {
    out.push(0xa3);
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

/// SASL mechanisms (0x40): an array of symbols.
pub fn sasl_mechanisms(mechs: &[&str]) -> Vec<u8> {
    let mut arr = Vec::new();
    arr.push(mechs.len() as u8);
    arr.push(0xa3);
    for m in mechs {
        arr.push(m.len() as u8);
        arr.extend_from_slice(m.as_bytes());
    }
    let mut items = vec![0xe0, (arr.len()) as u8];
    items.extend_from_slice(&arr);
    let mut body = Vec::new();
    v10::described_list(0x40, 1, &items, &mut body);
    frame_10(1, 0, &body)
}

/// SASL init (0x41): mechanism, initial response, hostname.
pub fn sasl_init(mechanism: &str, response: &[u8], hostname: &str) -> Vec<u8> {
    let mut items = Vec::new();
    symbol(mechanism, &mut items);
    v10::bin(response, &mut items);
    v10::str(hostname, &mut items);
    let mut body = Vec::new();
    v10::described_list(0x41, 3, &items, &mut body);
    frame_10(1, 0, &body)
}

/// SASL outcome (0x44): code 0 ok, 1 auth, 2 sys, 3 sys-perm, 4 sys-temp.
pub fn sasl_outcome(code: u8) -> Vec<u8> {
    let items = [0x50, code];
    let mut body = Vec::new();
    v10::described_list(0x44, 1, &items, &mut body);
    frame_10(1, 0, &body)
}

/// AMQP 1.0 flow (0x13): next-incoming-id, incoming-window, next-outgoing-id,
/// outgoing-window, handle, delivery-count, link-credit.
pub fn flow_10(channel: u16, handle: u32, credit: u32) -> Vec<u8> {
    let mut items = Vec::new();
    v10::uint(0, &mut items);
    v10::uint(2048, &mut items);
    v10::uint(1, &mut items);
    v10::uint(2048, &mut items);
    v10::uint(handle, &mut items);
    v10::uint(0, &mut items);
    v10::uint(credit, &mut items);
    let mut body = Vec::new();
    v10::described_list(0x13, 7, &items, &mut body);
    v10::frame(channel, &body)
}

/// AMQP 1.0 disposition (0x15): role receiver, first, settled, state accepted.
pub fn disposition_10(channel: u16, first: u32) -> Vec<u8> {
    let mut items = Vec::new();
    v10::boolean(true, &mut items);
    v10::uint(first, &mut items);
    v10::null(&mut items);
    v10::boolean(true, &mut items);
    v10::described_list(0x24, 0, &[], &mut items); // accepted
    let mut body = Vec::new();
    v10::described_list(0x15, 5, &items, &mut body);
    v10::frame(channel, &body)
}

/// AMQP 1.0 detach (0x16): handle, closed.
pub fn detach_10(channel: u16, handle: u32) -> Vec<u8> {
    let mut items = Vec::new();
    v10::uint(handle, &mut items);
    v10::boolean(true, &mut items);
    let mut body = Vec::new();
    v10::described_list(v10::DETACH, 2, &items, &mut body);
    v10::frame(channel, &body)
}

/// AMQP 1.0 end (0x17), empty.
pub fn end_10(channel: u16) -> Vec<u8> {
    let mut body = Vec::new();
    v10::described_list(v10::END, 0, &[], &mut body);
    v10::frame(channel, &body)
}

/// One frame of a multi-frame AMQP 1.0 transfer: the first carries handle, delivery-id,
/// delivery-tag and message-format; every frame says whether `more` follow. `part` is the
/// next slice of the encoded message.
pub fn transfer_10_part(
    channel: u16,
    handle: u32,
    first: Option<u32>,
    more: bool,
    part: &[u8],
) -> Vec<u8> {
    let mut items = Vec::new();
    v10::uint(handle, &mut items);
    match first {
        Some(id) => {
            v10::uint(id, &mut items);
            v10::bin(&id.to_be_bytes(), &mut items);
            v10::uint(0, &mut items);
        }
        None => {
            v10::null(&mut items);
            v10::null(&mut items);
            v10::null(&mut items);
        }
    }
    v10::boolean(false, &mut items); // settled
    v10::boolean(more, &mut items);
    let mut body = Vec::with_capacity(32 + part.len());
    v10::described_list(v10::TRANSFER, 6, &items, &mut body);
    body.extend_from_slice(part);
    v10::frame(channel, &body)
}

/// An AMQP 1.0 message of one data section (`0x00 0x53 0x75` + binary), as transfers carry it.
pub fn data_section(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x00, 0x53, 0x75];
    v10::bin(payload, &mut v);
    v
}
