//! The OPC UA golden cases (`pcaps/opcua/`): client 192.168.10.20:49320, server
//! 192.168.10.5:4840 (48010 for `nonstandard-port.pcap`); secure channel 5, token 1.

use std::io;

use super::{conv_v4, pcap_bytes};
use crate::proto::opcua::{self as o, NodeId, Variant};
use crate::{Dir, LinkType, PacketSink, TcpConv};

/// The OPC UA golden cases, as file names under `opcua/`.
pub const CASES: &[&str] = &[
    "basic.pcap",
    "large-message.pcap",
    "several-per-segment.pcap",
    "midstream.pcap",
    "nonstandard-port.pcap",
    "refused-auth.pcap",
    "encrypted.pcap",
    "malformed-oversize.pcap",
];

const CH: u32 = 5;
const TOK: u32 = 1;
/// Size of the over-the-cap MSG in `malformed-oversize.pcap`.
pub const OVERSIZE_MESSAGE: usize = 300_000;

fn nodes() -> Vec<NodeId> {
    vec![
        NodeId::String(2, "Line1.Temperature".into()),
        NodeId::Numeric(2, 1001),
    ]
}

fn values() -> Vec<Variant> {
    vec![Variant::Double(21.5), Variant::Int32(1001)]
}

/// HEL / ACK / OPN request and response (policy None).
fn open<S: PacketSink>(w: &mut S, c: &mut TcpConv, port: u16) -> io::Result<()> {
    c.handshake(w)?;
    c.send(
        w,
        Dir::ToServer,
        &o::hello(&format!("opc.tcp://192.168.10.5:{port}")),
    )?;
    c.send(w, Dir::ToClient, &o::acknowledge())?;
    c.send(w, Dir::ToServer, &o::open_secure_channel_req(1, 1))?;
    c.send(
        w,
        Dir::ToClient,
        &o::open_secure_channel_resp(CH, TOK, 1, 1),
    )
}

/// A Read request / response pair with sequence number and request id `n`.
fn read_pair<S: PacketSink>(w: &mut S, c: &mut TcpConv, n: u32) -> io::Result<()> {
    c.send(w, Dir::ToServer, &o::read_request(CH, TOK, n, n, &nodes()))?;
    c.send(
        w,
        Dir::ToClient,
        &o::read_response(CH, TOK, n, n, &values()),
    )?;
    c.ack(w, Dir::ToServer)
}

fn close<S: PacketSink>(w: &mut S, c: &mut TcpConv, n: u32) -> io::Result<()> {
    c.send(w, Dir::ToServer, &o::close_secure_channel(CH, TOK, n, n))?;
    c.close(w, Dir::ToServer)
}

fn basic<S: PacketSink>(w: &mut S, port: u16) -> io::Result<()> {
    let mut c = conv_v4(port);
    open(w, &mut c, port)?;
    read_pair(w, &mut c, 2)?;
    close(w, &mut c, 3)
}

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut r = crate::rng::Rng::new(seed);
    let mut v = vec![0u8; len];
    r.fill(&mut v);
    v
}

/// One case's capture file, in memory.
pub fn build(name: &str) -> io::Result<Vec<u8>> {
    let eth = LinkType::Ethernet;
    match name {
        "basic.pcap" => pcap_bytes(eth, |w| basic(w, 4840)),
        "nonstandard-port.pcap" => pcap_bytes(eth, |w| basic(w, 48010)),
        "large-message.pcap" => pcap_bytes(eth, |w| {
            // A ReadResponse of three 4000-character strings, sent as chunks C, C, F (sequence
            // numbers 2, 3, 4, one request id), the three chunks cut in 1460-byte segments.
            let mut c = conv_v4(4840);
            open(w, &mut c, 4840)?;
            let three: Vec<NodeId> = (1..=3)
                .map(|i| NodeId::String(2, format!("Line1.Log{i}")))
                .collect();
            c.send(w, Dir::ToServer, &o::read_request(CH, TOK, 2, 2, &three))?;
            let vals: Vec<Variant> = (0..3u8)
                .map(|i| Variant::String(((b'a' + i) as char).to_string().repeat(4000)))
                .collect();
            let body = o::read_response_body(2, &vals);
            let third = body.len() / 3;
            let parts = [&body[..third], &body[third..2 * third], &body[2 * third..]];
            let mut bytes = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                let ct = if i + 1 < parts.len() { b'C' } else { b'F' };
                bytes.extend(o::chunk(b"MSG", ct, CH, TOK, 2 + i as u32, 2, p));
            }
            c.send_segmented(w, Dir::ToClient, &bytes, 1460)?;
            c.ack(w, Dir::ToServer)?;
            read_pair(w, &mut c, 5)?;
            close(w, &mut c, 6)
        }),
        "several-per-segment.pcap" => pcap_bytes(eth, |w| {
            // Three Read requests in one segment, the three responses in one; then a segment
            // with request 5 and the first 20 bytes of request 6.
            let mut c = conv_v4(4840);
            open(w, &mut c, 4840)?;
            let reqs: Vec<u8> = (2..5)
                .flat_map(|n| o::read_request(CH, TOK, n, n, &nodes()))
                .collect();
            let resps: Vec<u8> = (2..5)
                .flat_map(|n| o::read_response(CH, TOK, n, n, &values()))
                .collect();
            c.send(w, Dir::ToServer, &reqs)?;
            c.send(w, Dir::ToClient, &resps)?;
            c.ack(w, Dir::ToServer)?;
            let r5 = o::read_request(CH, TOK, 5, 5, &nodes());
            let both = [r5.clone(), o::read_request(CH, TOK, 6, 6, &nodes())].concat();
            c.send_split(w, Dir::ToServer, &both, &[r5.len() + 20])?;
            c.send(
                w,
                Dir::ToClient,
                &[
                    o::read_response(CH, TOK, 5, 5, &values()),
                    o::read_response(CH, TOK, 6, 6, &values()),
                ]
                .concat(),
            )?;
            c.ack(w, Dir::ToServer)?;
            close(w, &mut c, 7)
        }),
        "midstream.pcap" => pcap_bytes(eth, |w| {
            // No handshake, no HEL, no OPN: opens on a MSG Read request (sequence 41).
            let mut c = conv_v4(4840);
            read_pair(w, &mut c, 41)?;
            read_pair(w, &mut c, 42)?;
            c.send(w, Dir::ToServer, &o::close_secure_channel(CH, TOK, 43, 43))?;
            c.ack(w, Dir::ToClient)
        }),
        "refused-auth.pcap" => pcap_bytes(eth, |w| {
            // ActivateSession with a user name and a wrong password, answered by a
            // ServiceFault Bad_UserAccessDenied; the client closes the channel.
            let mut c = conv_v4(4840);
            open(w, &mut c, 4840)?;
            c.send(
                w,
                Dir::ToServer,
                &o::activate_session_request(
                    CH,
                    TOK,
                    2,
                    2,
                    &NodeId::Numeric(1, 40_001),
                    "operator",
                    b"wrong",
                ),
            )?;
            c.send(
                w,
                Dir::ToClient,
                &o::service_fault(CH, TOK, 2, 2, o::BAD_USER_ACCESS_DENIED),
            )?;
            c.ack(w, Dir::ToServer)?;
            close(w, &mut c, 3)
        }),
        "encrypted.pcap" => pcap_bytes(eth, |w| {
            // Basic256Sha256, SignAndEncrypt: OPN request and response asymmetrically
            // encrypted after their security headers (a 256-byte stand-in certificate, a
            // 20-byte thumbprint), then MSG and CLO whose bodies are pseudo-random bytes.
            let mut c = conv_v4(4840);
            c.handshake(w)?;
            c.send(w, Dir::ToServer, &o::hello("opc.tcp://192.168.10.5:4840"))?;
            c.send(w, Dir::ToClient, &o::acknowledge())?;
            let pol = o::SECURITY_POLICY_BASIC256SHA256;
            c.send(
                w,
                Dir::ToServer,
                &o::open_secure_channel_encrypted(
                    0,
                    pol,
                    &noise(11, 256),
                    &noise(12, 20),
                    &noise(13, 512),
                ),
            )?;
            c.send(
                w,
                Dir::ToClient,
                &o::open_secure_channel_encrypted(
                    CH,
                    pol,
                    &noise(14, 256),
                    &noise(15, 20),
                    &noise(16, 512),
                ),
            )?;
            for i in 0..2u64 {
                c.send(
                    w,
                    Dir::ToServer,
                    &o::encrypted_message(CH, TOK, &noise(20 + i, 160)),
                )?;
                c.send(
                    w,
                    Dir::ToClient,
                    &o::encrypted_message(CH, TOK, &noise(30 + i, 224)),
                )?;
                c.ack(w, Dir::ToServer)?;
            }
            let mut clo = o::encrypted_message(CH, TOK, &noise(40, 96));
            clo[..3].copy_from_slice(b"CLO");
            c.send(w, Dir::ToServer, &clo)?;
            c.close(w, Dir::ToServer)
        }),
        "malformed-oversize.pcap" => pcap_bytes(eth, |w| {
            let mut c = conv_v4(4840);
            open(w, &mut c, 4840)?;
            // A message of unknown type "XYZ", alone in its segment.
            c.send(w, Dir::ToServer, &o::raw_message(b"XYZ", b'F', &[0u8; 16]))?;
            c.ack(w, Dir::ToClient)?;
            read_pair(w, &mut c, 2)?;
            // A MSG whose size field (4) is less than its own header.
            let mut tiny = o::raw_message(b"MSG", b'F', &[0u8; 8]);
            tiny[4..8].copy_from_slice(&4u32.to_le_bytes());
            c.send(w, Dir::ToServer, &tiny)?;
            c.ack(w, Dir::ToClient)?;
            read_pair(w, &mut c, 3)?;
            // A 300000-byte ReadResponse (over the 256 KiB cap), 1460-byte segments, with the
            // next response in its last segment.
            c.send(w, Dir::ToServer, &o::read_request(CH, TOK, 4, 4, &nodes()))?;
            let big = o::read_response(
                CH,
                TOK,
                4,
                4,
                &[Variant::String("z".repeat(OVERSIZE_MESSAGE - 100))],
            );
            c.send(w, Dir::ToServer, &o::read_request(CH, TOK, 5, 5, &nodes()))?;
            let next = o::read_response(CH, TOK, 5, 5, &values());
            c.send_segmented(w, Dir::ToClient, &[big, next].concat(), 1460)?;
            c.ack(w, Dir::ToServer)?;
            read_pair(w, &mut c, 6)?;
            close(w, &mut c, 7)
        }),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no opcua golden case {other:?}"),
        )),
    }
}
