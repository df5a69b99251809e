//! Payloads the scenario needs beyond the `proto` builders: TLS 1.3-looking records, the
//! OPC UA session services (CreateSession, ActivateSession response, Read, Write) with real
//! timestamps, and a few Modbus extras.

use crate::proto::opcua::{self, NodeId};
use crate::rng::Rng;

// ---------------------------------------------------------------- TLS

fn u24(n: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(&(n as u32).to_be_bytes()[1..]);
}

fn record(ty: u8, version: u16, body: &[u8], out: &mut Vec<u8>) {
    out.push(ty);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(&(body.len() as u16).to_be_bytes());
    out.extend_from_slice(body);
}

fn ext(ty: u16, data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

fn random(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill(&mut v);
    v
}

/// A TLS 1.3 ClientHello record with SNI `sni` and an x25519 key share. Returns the record and
/// the legacy session id (echoed by the server).
pub fn tls_client_hello(rng: &mut Rng, sni: &str) -> (Vec<u8>, Vec<u8>) {
    let session_id = random(rng, 32);
    let mut exts = Vec::new();
    let mut sn = Vec::new();
    sn.extend_from_slice(&((sni.len() + 3) as u16).to_be_bytes());
    sn.push(0);
    sn.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    sn.extend_from_slice(sni.as_bytes());
    ext(0x0000, &sn, &mut exts);
    ext(0x000a, &[0, 4, 0x00, 0x1d, 0x00, 0x17], &mut exts);
    ext(
        0x000d,
        &[0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01],
        &mut exts,
    );
    ext(0x002b, &[2, 0x03, 0x04], &mut exts);
    let mut ks = vec![0, 36, 0x00, 0x1d, 0, 32];
    ks.extend_from_slice(&random(rng, 32));
    ext(0x0033, &ks, &mut exts);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&random(rng, 32));
    body.push(32);
    body.extend_from_slice(&session_id);
    body.extend_from_slice(&[0, 8, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 0xc0, 0x2b]);
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut hs = vec![0x01];
    u24(body.len(), &mut hs);
    hs.extend_from_slice(&body);
    let mut out = Vec::with_capacity(hs.len() + 5);
    record(0x16, 0x0301, &hs, &mut out);
    (out, session_id)
}

/// The server's first flight: ServerHello, ChangeCipherSpec, then `encrypted` bytes of
/// application-data records (EncryptedExtensions, Certificate, CertificateVerify, Finished).
pub fn tls_server_flight(rng: &mut Rng, session_id: &[u8], encrypted: usize) -> Vec<u8> {
    let mut exts = Vec::new();
    ext(0x002b, &[0x03, 0x04], &mut exts);
    let mut ks = vec![0x00, 0x1d, 0, 32];
    ks.extend_from_slice(&random(rng, 32));
    ext(0x0033, &ks, &mut exts);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&random(rng, 32));
    body.push(session_id.len() as u8);
    body.extend_from_slice(session_id);
    body.extend_from_slice(&[0x13, 0x01, 0x00]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut hs = vec![0x02];
    u24(body.len(), &mut hs);
    hs.extend_from_slice(&body);
    let mut out = Vec::new();
    record(0x16, 0x0303, &hs, &mut out);
    record(0x14, 0x0303, &[1], &mut out);
    out.extend_from_slice(&tls_app_data(rng, encrypted));
    out
}

/// The client's ChangeCipherSpec and (encrypted) Finished.
pub fn tls_client_finished(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    record(0x14, 0x0303, &[1], &mut out);
    out.extend_from_slice(&tls_app_data(rng, 53));
    out
}

/// `n` bytes of application-data records (at most 16401 bytes of ciphertext each).
pub fn tls_app_data(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 5 * (n / 16401 + 1));
    let mut left = n;
    while left > 0 {
        let k = left.min(16_401);
        out.push(0x17);
        out.extend_from_slice(&0x0303u16.to_be_bytes());
        out.extend_from_slice(&(k as u16).to_be_bytes());
        let at = out.len();
        out.resize(at + k, 0);
        rng.fill(&mut out[at..]);
        left -= k;
    }
    out
}

/// Application-data records carrying `n` bytes of ciphertext taken from `pool` (cheap for big
/// uploads: the bytes repeat, the records and TCP segments do not).
pub fn tls_app_data_from_pool(pool: &[u8], n: usize, mut at: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 5 * (n / 16401 + 1));
    let mut left = n;
    while left > 0 {
        let k = left.min(16_401);
        out.push(0x17);
        out.extend_from_slice(&0x0303u16.to_be_bytes());
        out.extend_from_slice(&(k as u16).to_be_bytes());
        let mut need = k;
        while need > 0 {
            at %= pool.len();
            let take = need.min(pool.len() - at);
            out.extend_from_slice(&pool[at..at + take]);
            at += take * 7 + 13;
            need -= take;
        }
        left -= k;
    }
    out
}

// ---------------------------------------------------------------- OPC UA

pub const CREATE_SESSION_REQUEST: u32 = 461;
pub const CREATE_SESSION_RESPONSE: u32 = 464;
pub const ACTIVATE_SESSION_RESPONSE: u32 = 470;
pub const WRITE_REQUEST: u32 = 673;
pub const WRITE_RESPONSE: u32 = 676;
/// Bad_IdentityTokenRejected.
pub const BAD_IDENTITY_TOKEN_REJECTED: u32 = 0x8021_0000;
pub const TRANSPORT_PROFILE: &str =
    "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary";

/// OPC UA DateTime (100 ns ticks since 1601) of a packet time (ns since 1970).
pub fn ua_datetime(unix_ns: u64) -> i64 {
    (unix_ns / 100) as i64 + 116_444_736_000_000_000
}

fn ua_str(s: Option<&str>, out: &mut Vec<u8>) {
    ua_bytes(s.map(str::as_bytes), out);
}

fn ua_bytes(b: Option<&[u8]>, out: &mut Vec<u8>) {
    match b {
        None => out.extend_from_slice(&(-1i32).to_le_bytes()),
        Some(b) => {
            out.extend_from_slice(&(b.len() as i32).to_le_bytes());
            out.extend_from_slice(b);
        }
    }
}

fn u32le(n: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn i32le(n: i32, out: &mut Vec<u8>) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn request_header(auth: &NodeId, ts_ns: u64, handle: u32, out: &mut Vec<u8>) {
    auth.encode(out);
    out.extend_from_slice(&ua_datetime(ts_ns).to_le_bytes());
    u32le(handle, out);
    u32le(0, out); // return diagnostics
    ua_str(None, out); // audit entry id
    u32le(10_000, out); // timeout hint
    out.extend_from_slice(&[0x00, 0x00, 0x00]); // additional header: empty ExtensionObject
}

fn response_header(ts_ns: u64, handle: u32, status: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&ua_datetime(ts_ns).to_le_bytes());
    u32le(handle, out);
    u32le(status, out);
    out.push(0); // service diagnostics
    i32le(-1, out); // string table
    out.extend_from_slice(&[0x00, 0x00, 0x00]);
}

/// ApplicationDescription (type 0 server, 1 client).
fn app_description(
    uri: &str,
    product: &str,
    name: &str,
    ty: u32,
    urls: &[&str],
    out: &mut Vec<u8>,
) {
    ua_str(Some(uri), out);
    ua_str(Some(product), out);
    out.push(0x02); // LocalizedText: text only
    ua_str(Some(name), out);
    u32le(ty, out);
    ua_str(None, out); // gateway server uri
    ua_str(None, out); // discovery profile uri
    if urls.is_empty() {
        i32le(-1, out);
    } else {
        i32le(urls.len() as i32, out);
        for u in urls {
            ua_str(Some(u), out);
        }
    }
}

/// One secure-channel message (a single final chunk).
pub struct UaMsg {
    pub channel: u32,
    pub token: u32,
    pub seq: u32,
    pub request_id: u32,
}

impl UaMsg {
    fn wrap(&self, body: &[u8]) -> Vec<u8> {
        opcua::chunk(
            b"MSG",
            b'F',
            self.channel,
            self.token,
            self.seq,
            self.request_id,
            body,
        )
    }
}

/// What a client says about itself in CreateSession.
pub struct UaClient<'a> {
    pub application_uri: &'a str,
    pub product_uri: &'a str,
    pub application_name: &'a str,
    pub session_name: &'a str,
}

/// MSG with a CreateSessionRequest.
pub fn create_session_request(
    m: &UaMsg,
    ts_ns: u64,
    c: &UaClient<'_>,
    server_uri: &str,
    endpoint_url: &str,
    nonce: &[u8],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(256);
    NodeId::Numeric(0, CREATE_SESSION_REQUEST).encode(&mut b);
    request_header(&NodeId::Numeric(0, 0), ts_ns, m.request_id, &mut b);
    app_description(
        c.application_uri,
        c.product_uri,
        c.application_name,
        1,
        &[],
        &mut b,
    );
    ua_str(Some(server_uri), &mut b);
    ua_str(Some(endpoint_url), &mut b);
    ua_str(Some(c.session_name), &mut b);
    ua_bytes(Some(nonce), &mut b);
    ua_bytes(None, &mut b); // client certificate
    b.extend_from_slice(&1_200_000f64.to_le_bytes());
    u32le(0, &mut b); // max response message size
    m.wrap(&b)
}

/// What a server says about itself in CreateSession.
pub struct UaServer<'a> {
    pub application_uri: &'a str,
    pub product_uri: &'a str,
    pub application_name: &'a str,
    pub endpoint_url: &'a str,
}

/// MSG with a CreateSessionResponse: session id and authentication token (namespace 1
/// numerics), one endpoint (SecurityPolicy None, anonymous and user-name tokens).
pub fn create_session_response(
    m: &UaMsg,
    ts_ns: u64,
    s: &UaServer<'_>,
    session_id: u32,
    auth_token: u32,
    nonce: &[u8],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(512);
    NodeId::Numeric(0, CREATE_SESSION_RESPONSE).encode(&mut b);
    response_header(ts_ns, m.request_id, 0, &mut b);
    NodeId::Numeric(1, session_id).encode(&mut b);
    NodeId::Numeric(1, auth_token).encode(&mut b);
    b.extend_from_slice(&1_200_000f64.to_le_bytes());
    ua_bytes(Some(nonce), &mut b);
    ua_bytes(None, &mut b); // server certificate
    i32le(1, &mut b); // server endpoints
    ua_str(Some(s.endpoint_url), &mut b);
    app_description(
        s.application_uri,
        s.product_uri,
        s.application_name,
        0,
        &[s.endpoint_url],
        &mut b,
    );
    ua_bytes(None, &mut b); // server certificate
    u32le(1, &mut b); // security mode None
    ua_str(Some(opcua::SECURITY_POLICY_NONE), &mut b);
    i32le(2, &mut b); // user identity tokens
    for (policy, ty) in [("anonymous", 0u32), ("username", 1)] {
        ua_str(Some(policy), &mut b);
        u32le(ty, &mut b);
        ua_str(None, &mut b);
        ua_str(None, &mut b);
        ua_str(None, &mut b);
    }
    ua_str(Some(TRANSPORT_PROFILE), &mut b);
    b.push(0); // security level
    i32le(-1, &mut b); // server software certificates
    ua_str(None, &mut b); // signature: algorithm
    ua_bytes(None, &mut b); // signature
    u32le(0, &mut b); // max request message size
    m.wrap(&b)
}

/// MSG with an ActivateSessionResponse carrying `status` as its service result.
pub fn activate_session_response(m: &UaMsg, ts_ns: u64, status: u32, nonce: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(64);
    NodeId::Numeric(0, ACTIVATE_SESSION_RESPONSE).encode(&mut b);
    response_header(ts_ns, m.request_id, status, &mut b);
    if status == 0 {
        ua_bytes(Some(nonce), &mut b);
        i32le(0, &mut b); // results
    } else {
        ua_bytes(None, &mut b);
        i32le(-1, &mut b);
    }
    i32le(-1, &mut b); // diagnostic infos
    m.wrap(&b)
}

/// MSG with a ReadRequest (Value attribute of each node, timestamps: source).
pub fn read_request(m: &UaMsg, ts_ns: u64, auth: &NodeId, nodes: &[NodeId]) -> Vec<u8> {
    let mut b = Vec::with_capacity(128);
    NodeId::Numeric(0, opcua::READ_REQUEST).encode(&mut b);
    request_header(auth, ts_ns, m.request_id, &mut b);
    b.extend_from_slice(&0f64.to_le_bytes());
    u32le(0, &mut b); // timestamps to return: source
    i32le(nodes.len() as i32, &mut b);
    for n in nodes {
        n.encode(&mut b);
        u32le(13, &mut b);
        ua_str(None, &mut b);
        b.extend_from_slice(&[0, 0]);
        ua_str(None, &mut b);
    }
    m.wrap(&b)
}

/// MSG with a ReadResponse: one Double DataValue (with source timestamp) per value.
pub fn read_response(m: &UaMsg, ts_ns: u64, values: &[f64]) -> Vec<u8> {
    let mut b = Vec::with_capacity(128);
    NodeId::Numeric(0, opcua::READ_RESPONSE).encode(&mut b);
    response_header(ts_ns, m.request_id, 0, &mut b);
    i32le(values.len() as i32, &mut b);
    for v in values {
        b.push(0x05); // value, source timestamp
        b.push(11);
        b.extend_from_slice(&v.to_le_bytes());
        b.extend_from_slice(&ua_datetime(ts_ns.saturating_sub(250_000_000)).to_le_bytes());
    }
    i32le(-1, &mut b);
    m.wrap(&b)
}

/// MSG with a WriteRequest (type 673) setting the Value of `node` to a Double.
pub fn write_request(m: &UaMsg, ts_ns: u64, auth: &NodeId, node: &NodeId, value: f64) -> Vec<u8> {
    let mut b = Vec::with_capacity(96);
    NodeId::Numeric(0, WRITE_REQUEST).encode(&mut b);
    request_header(auth, ts_ns, m.request_id, &mut b);
    i32le(1, &mut b);
    node.encode(&mut b);
    u32le(13, &mut b);
    ua_str(None, &mut b);
    b.push(0x01);
    b.push(11);
    b.extend_from_slice(&value.to_le_bytes());
    m.wrap(&b)
}

/// MSG with a WriteResponse (type 676), one result.
pub fn write_response(m: &UaMsg, ts_ns: u64, status: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(48);
    NodeId::Numeric(0, WRITE_RESPONSE).encode(&mut b);
    response_header(ts_ns, m.request_id, 0, &mut b);
    i32le(1, &mut b);
    u32le(status, &mut b);
    i32le(-1, &mut b);
    m.wrap(&b)
}

// ---------------------------------------------------------------- Modbus

/// FC 16 normal response: address and quantity echoed.
pub fn modbus_write_multiple_resp(tid: u16, unit: u8, addr: u16, qty: u16) -> Vec<u8> {
    let mut p = vec![0x10];
    p.extend_from_slice(&addr.to_be_bytes());
    p.extend_from_slice(&qty.to_be_bytes());
    crate::proto::modbus::adu(tid, unit, &p)
}

/// An MBAP header with any protocol id and length field, then `rest` (unit id and PDU).
pub fn modbus_raw(tid: u16, proto: u16, length: u16, rest: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(6 + rest.len());
    v.extend_from_slice(&tid.to_be_bytes());
    v.extend_from_slice(&proto.to_be_bytes());
    v.extend_from_slice(&length.to_be_bytes());
    v.extend_from_slice(rest);
    v
}

// ---------------------------------------------------------------- NTP

/// Seconds between 1900-01-01 (the NTP era) and 1970-01-01.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// NTP timestamp (32.32 fixed point, seconds since 1900) of a packet time (ns since 1970).
pub fn ntp_ts(unix_ns: u64) -> [u8; 8] {
    let secs = unix_ns / 1_000_000_000 + NTP_UNIX_OFFSET;
    let frac = ((unix_ns % 1_000_000_000) << 32) / 1_000_000_000;
    ((secs << 32) | frac).to_be_bytes()
}

/// An NTPv4 client request (mode 3) as chrony sends it: only the transmit timestamp set.
pub fn ntp_request(poll: u8, tx_ns: u64) -> Vec<u8> {
    let mut v = vec![0x23, 0, poll, 0x20];
    v.resize(40, 0);
    v.extend_from_slice(&ntp_ts(tx_ns));
    v
}

/// An NTPv4 server reply (mode 4, stratum 2, synchronised to `ref_id`) to a request sent at
/// `client_tx_ns`, received at `rx_ns` and answered at `tx_ns`.
pub fn ntp_reply(poll: u8, ref_id: [u8; 4], client_tx_ns: u64, rx_ns: u64, tx_ns: u64) -> Vec<u8> {
    let mut v = vec![0x24, 2, poll, 0xe9];
    v.extend_from_slice(&0x0000_0a3du32.to_be_bytes()); // root delay ~40 ms
    v.extend_from_slice(&0x0000_0312u32.to_be_bytes()); // root dispersion ~12 ms
    v.extend_from_slice(&ref_id);
    v.extend_from_slice(&ntp_ts(rx_ns.saturating_sub(37_000_000_000)));
    v.extend_from_slice(&ntp_ts(client_tx_ns));
    v.extend_from_slice(&ntp_ts(rx_ns));
    v.extend_from_slice(&ntp_ts(tx_ns));
    v
}

// ---------------------------------------------------------------- DNS answers

pub const DNS_TYPE_CNAME: u16 = 5;
pub const DNS_TYPE_NULL: u16 = 10;
pub const DNS_TYPE_TXT: u16 = 16;

/// A DNS name in wire form (labels of at most 63 bytes).
pub fn dns_name(name: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 2);
    crate::proto::dns::name(name, &mut v);
    v
}

/// TXT RDATA: each string length-prefixed (at most 255 bytes each).
pub fn dns_txt_rdata(strings: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    for s in strings {
        let s = &s[..s.len().min(255)];
        v.push(s.len() as u8);
        v.extend_from_slice(s);
    }
    v
}

/// A recursive answer (flags 0x8180) to `qname`/`qtype` with one record of that type carrying
/// `rdata` (the answer's owner is the question, by a compression pointer).
pub fn dns_answer(id: u16, qname: &str, qtype: u16, rdata: &[u8], ttl: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(32 + qname.len() + rdata.len());
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&0x8180u16.to_be_bytes());
    v.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0]);
    crate::proto::dns::name(qname, &mut v);
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&[0xc0, 0x0c]);
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&ttl.to_be_bytes());
    v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    v.extend_from_slice(rdata);
    v
}

// ---------------------------------------------------------------- SSH

fn name_list(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// An SSH binary packet (no MAC, before keys are taken) carrying `payload`, padded to a
/// multiple of 8 with at least 4 bytes of random padding.
fn ssh_packet(rng: &mut Rng, payload: &[u8]) -> Vec<u8> {
    let mut pad = 8 - (5 + payload.len()) % 8;
    if pad < 4 {
        pad += 8;
    }
    let mut v = Vec::with_capacity(5 + payload.len() + pad);
    v.extend_from_slice(&((1 + payload.len() + pad) as u32).to_be_bytes());
    v.push(pad as u8);
    v.extend_from_slice(payload);
    v.extend_from_slice(&random(rng, pad));
    v
}

/// SSH_MSG_KEXINIT as a libssh client (`client`) or an OpenSSH server offers it.
pub fn ssh_kexinit(rng: &mut Rng, client: bool) -> Vec<u8> {
    let mut p = vec![20u8];
    p.extend_from_slice(&random(rng, 16));
    let (kex, hostkey, cipher, mac) = if client {
        (
            "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256,ext-info-c",
            "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256,ssh-rsa",
            "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes128-ctr",
            "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512",
        )
    } else {
        (
            "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group14-sha256",
            "rsa-sha2-512,rsa-sha2-256,ssh-rsa,ecdsa-sha2-nistp256,ssh-ed25519",
            "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
            "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
        )
    };
    name_list(kex, &mut p);
    name_list(hostkey, &mut p);
    name_list(cipher, &mut p);
    name_list(cipher, &mut p);
    name_list(mac, &mut p);
    name_list(mac, &mut p);
    let comp = "none,zlib@openssh.com";
    name_list(comp, &mut p);
    name_list(comp, &mut p);
    name_list("", &mut p);
    name_list("", &mut p);
    p.push(0); // first_kex_packet_follows
    p.extend_from_slice(&[0, 0, 0, 0]);
    ssh_packet(rng, &p)
}

// ---------------------------------------------------------------- OPC UA Browse

pub const BROWSE_REQUEST: u32 = 527;
pub const BROWSE_RESPONSE: u32 = 530;

/// MSG with a BrowseRequest: every node in `nodes`, forward, all hierarchical references
/// (i=33) and subtypes, all node classes, all result fields.
pub fn browse_request(m: &UaMsg, ts_ns: u64, auth: &NodeId, nodes: &[NodeId]) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + 16 * nodes.len());
    NodeId::Numeric(0, BROWSE_REQUEST).encode(&mut b);
    request_header(auth, ts_ns, m.request_id, &mut b);
    NodeId::Numeric(0, 0).encode(&mut b); // view id
    b.extend_from_slice(&0i64.to_le_bytes()); // view timestamp
    u32le(0, &mut b); // view version
    u32le(1_000, &mut b); // requested max references per node
    i32le(nodes.len() as i32, &mut b);
    for n in nodes {
        n.encode(&mut b);
        u32le(0, &mut b); // browse direction: forward
        NodeId::Numeric(0, 33).encode(&mut b); // HierarchicalReferences
        b.push(1); // include subtypes
        u32le(0, &mut b); // node class mask: all
        u32le(0x3f, &mut b); // result mask: all
    }
    m.wrap(&b)
}

/// One reference of a BrowseResult: (reference type, target, browse name, node class).
pub struct UaRef<'a> {
    pub reference_type: u32,
    pub target: NodeId,
    pub browse_name: &'a str,
    pub node_class: u32,
    pub type_definition: u32,
}

/// MSG with a BrowseResponse: one BrowseResult (status good, no continuation point) per entry
/// of `results`.
pub fn browse_response(m: &UaMsg, ts_ns: u64, results: &[Vec<UaRef<'_>>]) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + 64 * results.len());
    NodeId::Numeric(0, BROWSE_RESPONSE).encode(&mut b);
    response_header(ts_ns, m.request_id, 0, &mut b);
    i32le(results.len() as i32, &mut b);
    for refs in results {
        u32le(0, &mut b); // status
        ua_bytes(None, &mut b); // continuation point
        i32le(refs.len() as i32, &mut b);
        for r in refs {
            NodeId::Numeric(0, r.reference_type).encode(&mut b);
            b.push(1); // is forward
            r.target.encode(&mut b); // ExpandedNodeId without uri / server index
            let ns = match &r.target {
                NodeId::Numeric(ns, _) | NodeId::String(ns, _) => *ns,
            };
            b.extend_from_slice(&ns.to_le_bytes()); // browse name: namespace
            ua_str(Some(r.browse_name), &mut b);
            b.push(0x02); // display name: text only
            ua_str(Some(r.browse_name), &mut b);
            u32le(r.node_class, &mut b);
            NodeId::Numeric(0, r.type_definition).encode(&mut b);
        }
    }
    i32le(-1, &mut b); // diagnostic infos
    m.wrap(&b)
}
