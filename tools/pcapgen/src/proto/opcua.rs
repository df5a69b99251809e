//! OPC UA binary (UA TCP): HEL, ACK, OPN (SecurityPolicy#None), MSG Read request / response,
//! CLO. All integers little-endian, as on the wire.

/// `http://opcfoundation.org/UA/SecurityPolicy#None`.
pub const SECURITY_POLICY_NONE: &str = "http://opcfoundation.org/UA/SecurityPolicy#None";
/// Binary encoding ids of the services built here.
pub const OPEN_SECURE_CHANNEL_REQUEST: u32 = 446;
pub const OPEN_SECURE_CHANNEL_RESPONSE: u32 = 449;
pub const CLOSE_SECURE_CHANNEL_REQUEST: u32 = 452;
pub const READ_REQUEST: u32 = 631;
pub const READ_RESPONSE: u32 = 634;
/// 2024-01-01T00:00:00Z as an OPC UA DateTime (100 ns ticks since 1601).
pub const DATETIME_2024: i64 = 1_704_067_200 * 10_000_000 + 116_444_736_000_000_000;

/// A NodeId (the smallest fitting binary encoding is chosen).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeId {
    Numeric(u16, u32),
    String(u16, String),
}

impl NodeId {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            NodeId::Numeric(0, id) if *id < 256 => out.extend_from_slice(&[0x00, *id as u8]),
            NodeId::Numeric(ns, id) if *ns < 256 && *id < 65536 => {
                out.extend_from_slice(&[0x01, *ns as u8]);
                out.extend_from_slice(&(*id as u16).to_le_bytes());
            }
            NodeId::Numeric(ns, id) => {
                out.push(0x02);
                out.extend_from_slice(&ns.to_le_bytes());
                out.extend_from_slice(&id.to_le_bytes());
            }
            NodeId::String(ns, s) => {
                out.push(0x03);
                out.extend_from_slice(&ns.to_le_bytes());
                string(Some(s.as_bytes()), out);
            }
        }
    }
}

/// A Variant value for Read results.
#[derive(Clone, Debug, PartialEq)]
pub enum Variant {
    Boolean(bool),
    Int32(i32),
    Double(f64),
    String(String),
}

fn string(s: Option<&[u8]>, out: &mut Vec<u8>) {
    match s {
        None => out.extend_from_slice(&(-1i32).to_le_bytes()),
        Some(s) => {
            out.extend_from_slice(&(s.len() as i32).to_le_bytes());
            out.extend_from_slice(s);
        }
    }
}

fn u32le(n: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn header(msg_type: &[u8; 3], body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + body.len());
    v.extend_from_slice(msg_type);
    v.push(b'F');
    u32le((8 + body.len()) as u32, &mut v);
    v.extend_from_slice(body);
    v
}

fn request_header(handle: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&[0x00, 0x00]); // authentication token: null NodeId
    out.extend_from_slice(&DATETIME_2024.to_le_bytes());
    u32le(handle, out);
    u32le(0, out); // return diagnostics
    string(None, out); // audit entry id
    u32le(10_000, out); // timeout hint
    out.extend_from_slice(&[0x00, 0x00, 0x00]); // additional header: empty ExtensionObject
}

fn response_header(handle: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&DATETIME_2024.to_le_bytes());
    u32le(handle, out);
    u32le(0, out); // service result Good
    out.push(0); // service diagnostics: empty DiagnosticInfo
    out.extend_from_slice(&(-1i32).to_le_bytes()); // string table: null array
    out.extend_from_slice(&[0x00, 0x00, 0x00]);
}

/// HEL with the endpoint URL (e.g. `opc.tcp://10.0.0.5:4840`).
pub fn hello(endpoint_url: &str) -> Vec<u8> {
    let mut b = Vec::new();
    for n in [0u32, 65_536, 65_536, 0, 0] {
        u32le(n, &mut b);
    }
    string(Some(endpoint_url.as_bytes()), &mut b);
    header(b"HEL", &b)
}

/// ACK.
pub fn acknowledge() -> Vec<u8> {
    let mut b = Vec::new();
    for n in [0u32, 65_536, 65_536, 16_777_216, 5_000] {
        u32le(n, &mut b);
    }
    header(b"ACK", &b)
}

fn opn(channel_id: u32, seq: u32, request_id: u32, body: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    u32le(channel_id, &mut b);
    string(Some(SECURITY_POLICY_NONE.as_bytes()), &mut b);
    string(None, &mut b); // sender certificate
    string(None, &mut b); // receiver certificate thumbprint
    u32le(seq, &mut b);
    u32le(request_id, &mut b);
    b.extend_from_slice(body);
    header(b"OPN", &b)
}

/// OPN carrying an OpenSecureChannelRequest (issue, security mode None), channel id 0.
pub fn open_secure_channel_req(seq: u32, request_id: u32) -> Vec<u8> {
    let mut body = Vec::new();
    NodeId::Numeric(0, OPEN_SECURE_CHANNEL_REQUEST).encode(&mut body);
    request_header(request_id, &mut body);
    u32le(0, &mut body); // client protocol version
    u32le(0, &mut body); // request type: issue
    u32le(1, &mut body); // security mode: None
    string(Some(&[]), &mut body); // client nonce
    u32le(3_600_000, &mut body); // requested lifetime
    opn(0, seq, request_id, &body)
}

/// OPN carrying an OpenSecureChannelResponse assigning `channel_id` / `token_id`.
pub fn open_secure_channel_resp(
    channel_id: u32,
    token_id: u32,
    seq: u32,
    request_id: u32,
) -> Vec<u8> {
    let mut body = Vec::new();
    NodeId::Numeric(0, OPEN_SECURE_CHANNEL_RESPONSE).encode(&mut body);
    response_header(request_id, &mut body);
    u32le(0, &mut body); // server protocol version
    u32le(channel_id, &mut body);
    u32le(token_id, &mut body);
    body.extend_from_slice(&DATETIME_2024.to_le_bytes());
    u32le(3_600_000, &mut body);
    string(Some(&[]), &mut body); // server nonce
    opn(channel_id, seq, request_id, &body)
}

fn symmetric(
    kind: &[u8; 3],
    channel_id: u32,
    token_id: u32,
    seq: u32,
    request_id: u32,
    body: &[u8],
) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + body.len());
    u32le(channel_id, &mut b);
    u32le(token_id, &mut b);
    u32le(seq, &mut b);
    u32le(request_id, &mut b);
    b.extend_from_slice(body);
    header(kind, &b)
}

/// MSG with a ReadRequest (type id 631, encoded `01 00 77 02`) for the Value attribute of
/// each node.
pub fn read_request(
    channel_id: u32,
    token_id: u32,
    seq: u32,
    request_id: u32,
    nodes: &[NodeId],
) -> Vec<u8> {
    let mut body = Vec::new();
    NodeId::Numeric(0, READ_REQUEST).encode(&mut body);
    request_header(request_id, &mut body);
    body.extend_from_slice(&0f64.to_le_bytes()); // max age
    u32le(3, &mut body); // timestamps to return: neither
    body.extend_from_slice(&(nodes.len() as i32).to_le_bytes());
    for n in nodes {
        n.encode(&mut body);
        u32le(13, &mut body); // attribute: Value
        string(None, &mut body); // index range
        body.extend_from_slice(&[0, 0]); // data encoding: namespace 0
        string(None, &mut body); // ... null name
    }
    symmetric(b"MSG", channel_id, token_id, seq, request_id, &body)
}

/// MSG with a ReadResponse (type id 634) holding one DataValue per value.
pub fn read_response(
    channel_id: u32,
    token_id: u32,
    seq: u32,
    request_id: u32,
    values: &[Variant],
) -> Vec<u8> {
    let body = read_response_body(request_id, values);
    symmetric(b"MSG", channel_id, token_id, seq, request_id, &body)
}

/// The body of [`read_response`] (type id, response header, results), before chunking.
pub fn read_response_body(request_id: u32, values: &[Variant]) -> Vec<u8> {
    let mut body = Vec::new();
    NodeId::Numeric(0, READ_RESPONSE).encode(&mut body);
    response_header(request_id, &mut body);
    body.extend_from_slice(&(values.len() as i32).to_le_bytes());
    for v in values {
        body.push(0x01); // DataValue mask: value present
        match v {
            Variant::Boolean(b) => body.extend_from_slice(&[1, *b as u8]),
            Variant::Int32(i) => {
                body.push(6);
                body.extend_from_slice(&i.to_le_bytes());
            }
            Variant::Double(d) => {
                body.push(11);
                body.extend_from_slice(&d.to_le_bytes());
            }
            Variant::String(s) => {
                body.push(12);
                string(Some(s.as_bytes()), &mut body);
            }
        }
    }
    body.extend_from_slice(&(-1i32).to_le_bytes()); // diagnostic infos: null array
    body
}

/// CLO with a CloseSecureChannelRequest (type id 452).
pub fn close_secure_channel(channel_id: u32, token_id: u32, seq: u32, request_id: u32) -> Vec<u8> {
    let mut body = Vec::new();
    NodeId::Numeric(0, CLOSE_SECURE_CHANNEL_REQUEST).encode(&mut body);
    request_header(request_id, &mut body);
    symmetric(b"CLO", channel_id, token_id, seq, request_id, &body)
}

/// ERR message (status code, reason).
pub fn error(status: u32, reason: &str) -> Vec<u8> {
    let mut b = Vec::new();
    u32le(status, &mut b);
    string(Some(reason.as_bytes()), &mut b);
    header(b"ERR", &b)
}

// ---- Additions for the golden captures (the builders above are unchanged in output) ----

/// `http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256`.
pub const SECURITY_POLICY_BASIC256SHA256: &str =
    "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
pub const SERVICE_FAULT: u32 = 397;
pub const ACTIVATE_SESSION_REQUEST: u32 = 467;
/// Bad_UserAccessDenied.
pub const BAD_USER_ACCESS_DENIED: u32 = 0x801F_0000;

/// A symmetric chunk (MSG / CLO) with an explicit chunk type (`b'C'`, `b'F'`, `b'A'`)
/// carrying `part` of a message body.
pub fn chunk(
    kind: &[u8; 3],
    chunk_type: u8,
    channel_id: u32,
    token_id: u32,
    seq: u32,
    request_id: u32,
    part: &[u8],
) -> Vec<u8> {
    let mut v = symmetric(kind, channel_id, token_id, seq, request_id, part);
    v[3] = chunk_type;
    v
}

/// Any message: three-letter type, chunk type, then `body` (the size is computed).
pub fn raw_message(msg_type: &[u8; 3], chunk_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = header(msg_type, body);
    v[3] = chunk_type;
    v
}

/// MSG with an ActivateSessionRequest carrying a UserNameIdentityToken (its password
/// "encrypted" under no policy: plain bytes).
pub fn activate_session_request(
    channel_id: u32,
    token_id: u32,
    seq: u32,
    request_id: u32,
    auth_token: &NodeId,
    user: &str,
    password: &[u8],
) -> Vec<u8> {
    let mut body = Vec::new();
    NodeId::Numeric(0, ACTIVATE_SESSION_REQUEST).encode(&mut body);
    // Request header with the session's authentication token.
    auth_token.encode(&mut body);
    body.extend_from_slice(&DATETIME_2024.to_le_bytes());
    u32le(request_id, &mut body);
    u32le(0, &mut body);
    string(None, &mut body);
    u32le(10_000, &mut body);
    body.extend_from_slice(&[0x00, 0x00, 0x00]);
    // Client signature: null algorithm, null signature.
    string(None, &mut body);
    string(None, &mut body);
    body.extend_from_slice(&(-1i32).to_le_bytes()); // client software certificates
    body.extend_from_slice(&1i32.to_le_bytes()); // locale ids
    string(Some(b"en-US"), &mut body);
    // User identity token: ExtensionObject, UserNameIdentityToken_Encoding_DefaultBinary (324).
    let mut tok = Vec::new();
    string(Some(b"username"), &mut tok); // policy id
    string(Some(user.as_bytes()), &mut tok);
    string(Some(password), &mut tok);
    string(None, &mut tok); // encryption algorithm
    NodeId::Numeric(0, 324).encode(&mut body);
    body.push(0x01);
    body.extend_from_slice(&(tok.len() as i32).to_le_bytes());
    body.extend_from_slice(&tok);
    // User token signature.
    string(None, &mut body);
    string(None, &mut body);
    symmetric(b"MSG", channel_id, token_id, seq, request_id, &body)
}

/// MSG with a ServiceFault (type id 397) whose response header carries `status`.
pub fn service_fault(
    channel_id: u32,
    token_id: u32,
    seq: u32,
    request_id: u32,
    status: u32,
) -> Vec<u8> {
    let mut body = Vec::new();
    NodeId::Numeric(0, SERVICE_FAULT).encode(&mut body);
    body.extend_from_slice(&DATETIME_2024.to_le_bytes());
    u32le(request_id, &mut body);
    u32le(status, &mut body);
    body.push(0);
    body.extend_from_slice(&(-1i32).to_le_bytes());
    body.extend_from_slice(&[0x00, 0x00, 0x00]);
    symmetric(b"MSG", channel_id, token_id, seq, request_id, &body)
}

/// OPN under an asymmetric policy: the security header in clear (policy URI, sender
/// certificate, receiver thumbprint), then `ciphertext` (sequence header and body, encrypted).
pub fn open_secure_channel_encrypted(
    channel_id: u32,
    policy: &str,
    certificate: &[u8],
    thumbprint: &[u8],
    ciphertext: &[u8],
) -> Vec<u8> {
    let mut b = Vec::new();
    u32le(channel_id, &mut b);
    string(Some(policy.as_bytes()), &mut b);
    string(Some(certificate), &mut b);
    string(Some(thumbprint), &mut b);
    b.extend_from_slice(ciphertext);
    header(b"OPN", &b)
}

/// MSG under SignAndEncrypt: channel id and token id in clear, then `ciphertext`.
pub fn encrypted_message(channel_id: u32, token_id: u32, ciphertext: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    u32le(channel_id, &mut b);
    u32le(token_id, &mut b);
    b.extend_from_slice(ciphertext);
    header(b"MSG", &b)
}
