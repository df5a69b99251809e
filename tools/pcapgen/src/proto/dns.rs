//! DNS over UDP: a standard query and its answer (A records), with name compression in answers.

/// Record types.
pub const TYPE_A: u16 = 1;
pub const TYPE_AAAA: u16 = 28;
pub const CLASS_IN: u16 = 1;

/// Append `name` as labels (`iot.example.com` -> `3iot7example3com0`).
pub fn name(name: &str, out: &mut Vec<u8>) {
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let b = &label.as_bytes()[..label.len().min(63)];
        out.push(b.len() as u8);
        out.extend_from_slice(b);
    }
    out.push(0);
}

fn header(id: u16, flags: u16, qd: u16, an: u16, out: &mut Vec<u8>) {
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&qd.to_be_bytes());
    out.extend_from_slice(&an.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]); // no authority, no additional records
}

/// A recursive query (RD set) for `qname` / `qtype`, class IN.
pub fn query(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(18 + qname.len());
    header(id, 0x0100, 1, 0, &mut v);
    name(qname, &mut v);
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&CLASS_IN.to_be_bytes());
    v
}

/// The answer to an A query: the question again, then one A record per address, each naming
/// the question by a compression pointer (RA, RD set; NOERROR).
pub fn response_a(id: u16, qname: &str, addrs: &[[u8; 4]], ttl: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(32 + qname.len() + 16 * addrs.len());
    header(id, 0x8180, 1, addrs.len() as u16, &mut v);
    name(qname, &mut v);
    v.extend_from_slice(&TYPE_A.to_be_bytes());
    v.extend_from_slice(&CLASS_IN.to_be_bytes());
    for a in addrs {
        v.extend_from_slice(&[0xc0, 0x0c]);
        v.extend_from_slice(&TYPE_A.to_be_bytes());
        v.extend_from_slice(&CLASS_IN.to_be_bytes());
        v.extend_from_slice(&ttl.to_be_bytes());
        v.extend_from_slice(&4u16.to_be_bytes());
        v.extend_from_slice(a);
    }
    v
}

/// NXDOMAIN for `qname` (the question echoed, no answers).
pub fn response_nxdomain(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(18 + qname.len());
    header(id, 0x8183, 1, 0, &mut v);
    name(qname, &mut v);
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&CLASS_IN.to_be_bytes());
    v
}
