//! DHCP (BOOTP with the RFC 2132 options): DISCOVER / OFFER / REQUEST / ACK as a client and a
//! server send them. Messages are padded to the 300-byte BOOTP minimum, as most stacks do.

use crate::frame::Mac;

/// Message types (option 53).
pub const DISCOVER: u8 = 1;
pub const OFFER: u8 = 2;
pub const REQUEST: u8 = 3;
pub const DECLINE: u8 = 4;
pub const ACK: u8 = 5;
pub const NAK: u8 = 6;
pub const RELEASE: u8 = 7;
pub const INFORM: u8 = 8;

/// Option codes used here.
pub mod opt {
    pub const SUBNET_MASK: u8 = 1;
    pub const ROUTER: u8 = 3;
    pub const DNS: u8 = 6;
    pub const HOSTNAME: u8 = 12;
    pub const DOMAIN_NAME: u8 = 15;
    pub const REQUESTED_IP: u8 = 50;
    pub const LEASE_TIME: u8 = 51;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const SERVER_ID: u8 = 54;
    pub const PARAM_LIST: u8 = 55;
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    pub const RENEWAL_TIME: u8 = 58;
    pub const REBINDING_TIME: u8 = 59;
    pub const VENDOR_CLASS: u8 = 60;
    pub const CLIENT_ID: u8 = 61;
    pub const END: u8 = 255;
}

/// UDP ports.
pub const SERVER_PORT: u16 = 67;
pub const CLIENT_PORT: u16 = 68;

/// Append one option (code, length, data) to `out`.
pub fn option(code: u8, data: &[u8], out: &mut Vec<u8>) {
    out.push(code);
    out.push(data.len().min(255) as u8);
    out.extend_from_slice(&data[..data.len().min(255)]);
}

/// The fixed BOOTP fields of a message.
#[derive(Clone, Copy, Debug)]
pub struct Header {
    /// 1 BOOTREQUEST, 2 BOOTREPLY.
    pub op: u8,
    pub xid: u32,
    pub secs: u16,
    /// The broadcast flag (replies must be broadcast).
    pub broadcast: bool,
    pub ciaddr: [u8; 4],
    pub yiaddr: [u8; 4],
    pub siaddr: [u8; 4],
    pub giaddr: [u8; 4],
    pub chaddr: Mac,
}

/// A whole message: header, magic cookie, `options` (pre-encoded TLVs), END, padding to 300 bytes.
pub fn message(h: &Header, options: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(300);
    v.extend_from_slice(&[h.op, 1, 6, 0]);
    v.extend_from_slice(&h.xid.to_be_bytes());
    v.extend_from_slice(&h.secs.to_be_bytes());
    v.extend_from_slice(&(if h.broadcast { 0x8000u16 } else { 0 }).to_be_bytes());
    v.extend_from_slice(&h.ciaddr);
    v.extend_from_slice(&h.yiaddr);
    v.extend_from_slice(&h.siaddr);
    v.extend_from_slice(&h.giaddr);
    v.extend_from_slice(&h.chaddr);
    v.extend_from_slice(&[0u8; 10]); // chaddr padding
    v.extend_from_slice(&[0u8; 64]); // sname
    v.extend_from_slice(&[0u8; 128]); // file
    v.extend_from_slice(&[0x63, 0x82, 0x53, 0x63]);
    v.extend_from_slice(options);
    v.push(opt::END);
    if v.len() < 300 {
        v.resize(300, 0);
    }
    v
}

/// What a client says about itself in DISCOVER and REQUEST.
#[derive(Clone, Copy, Debug)]
pub struct Client<'a> {
    pub mac: Mac,
    /// Option 12.
    pub hostname: &'a str,
    /// Option 60 (omitted when empty).
    pub vendor_class: &'a str,
}

fn client_options(
    kind: u8,
    c: &Client<'_>,
    requested: Option<[u8; 4]>,
    server: Option<[u8; 4]>,
) -> Vec<u8> {
    let mut o = Vec::with_capacity(64);
    option(opt::MESSAGE_TYPE, &[kind], &mut o);
    let mut id = vec![1u8];
    id.extend_from_slice(&c.mac);
    option(opt::CLIENT_ID, &id, &mut o);
    if let Some(ip) = requested {
        option(opt::REQUESTED_IP, &ip, &mut o);
    }
    if let Some(s) = server {
        option(opt::SERVER_ID, &s, &mut o);
    }
    option(opt::MAX_MESSAGE_SIZE, &1500u16.to_be_bytes(), &mut o);
    if !c.vendor_class.is_empty() {
        option(opt::VENDOR_CLASS, c.vendor_class.as_bytes(), &mut o);
    }
    option(opt::HOSTNAME, c.hostname.as_bytes(), &mut o);
    option(
        opt::PARAM_LIST,
        &[
            opt::SUBNET_MASK,
            opt::ROUTER,
            opt::DNS,
            opt::DOMAIN_NAME,
            28,
            42,
        ],
        &mut o,
    );
    o
}

fn client_header(xid: u32, secs: u16, mac: Mac) -> Header {
    Header {
        op: 1,
        xid,
        secs,
        broadcast: false,
        ciaddr: [0; 4],
        yiaddr: [0; 4],
        siaddr: [0; 4],
        giaddr: [0; 4],
        chaddr: mac,
    }
}

/// DHCPDISCOVER, optionally asking for the address it had (option 50).
pub fn discover(xid: u32, c: &Client<'_>, requested: Option<[u8; 4]>) -> Vec<u8> {
    message(
        &client_header(xid, 0, c.mac),
        &client_options(DISCOVER, c, requested, None),
    )
}

/// DHCPREQUEST in the SELECTING state: the offered address (option 50) and the server (54).
pub fn request(
    xid: u32,
    secs: u16,
    c: &Client<'_>,
    requested: [u8; 4],
    server: [u8; 4],
) -> Vec<u8> {
    message(
        &client_header(xid, secs, c.mac),
        &client_options(REQUEST, c, Some(requested), Some(server)),
    )
}

/// What a server hands out in OFFER and ACK.
#[derive(Clone, Copy, Debug)]
pub struct Lease {
    pub server: [u8; 4],
    pub addr: [u8; 4],
    pub mask: [u8; 4],
    pub router: [u8; 4],
    pub dns: [u8; 4],
    pub lease_secs: u32,
}

fn server_message(kind: u8, xid: u32, mac: Mac, l: &Lease) -> Vec<u8> {
    let h = Header {
        op: 2,
        xid,
        secs: 0,
        broadcast: false,
        ciaddr: [0; 4],
        yiaddr: l.addr,
        siaddr: [0; 4],
        giaddr: [0; 4],
        chaddr: mac,
    };
    let mut o = Vec::with_capacity(64);
    option(opt::MESSAGE_TYPE, &[kind], &mut o);
    option(opt::SERVER_ID, &l.server, &mut o);
    option(opt::LEASE_TIME, &l.lease_secs.to_be_bytes(), &mut o);
    option(opt::RENEWAL_TIME, &(l.lease_secs / 2).to_be_bytes(), &mut o);
    option(
        opt::REBINDING_TIME,
        &(l.lease_secs / 8 * 7).to_be_bytes(),
        &mut o,
    );
    option(opt::SUBNET_MASK, &l.mask, &mut o);
    option(opt::ROUTER, &l.router, &mut o);
    option(opt::DNS, &l.dns, &mut o);
    message(&h, &o)
}

/// DHCPOFFER of `l.addr` to the client with hardware address `mac`.
pub fn offer(xid: u32, mac: Mac, l: &Lease) -> Vec<u8> {
    server_message(OFFER, xid, mac, l)
}

/// DHCPACK of `l.addr`.
pub fn ack(xid: u32, mac: Mac, l: &Lease) -> Vec<u8> {
    server_message(ACK, xid, mac, l)
}
