//! The bodies of EVE records in Suricata 8's own shapes (`modbus`, `mqtt`, `dns`, `dhcp`,
//! `arp`, `stats`), built from our dissectors' PDUs. Only fields Suricata's schema knows are
//! written: its objects forbid unknown properties.

use super::json::Obj;
use crate::telemetry::Stats;
use edgetap_dissectors::modbus::{self, Kind, Values};
use edgetap_dissectors::mqtt;
use serde_json::{json, Map, Value};
use std::fmt::Write as _;

/// Suricata's (sawp-modbus's) function code names.
pub fn modbus_function_name(fc: u8) -> &'static str {
    match fc {
        1 => "RdCoils",
        2 => "RdDiscreteInputs",
        3 => "RdHoldRegs",
        4 => "RdInputRegs",
        5 => "WrSingleCoil",
        6 => "WrSingleReg",
        7 => "RdExcStatus",
        8 => "Diagnostic",
        9 => "Program484",
        10 => "Poll484",
        11 => "GetCommEventCtr",
        12 => "GetCommEventLog",
        13 => "ProgramController",
        14 => "PollController",
        15 => "WrMultCoils",
        16 => "WrMultRegs",
        17 => "ReportServerID",
        18 => "Program884",
        19 => "ResetCommLink",
        20 => "RdFileRec",
        21 => "WrFileRec",
        22 => "MaskWrReg",
        23 => "RdWrMultRegs",
        24 => "RdFIFOQueue",
        43 => "MEI",
        _ => "Unknown",
    }
}

/// Modbus's code categories (public assigned, user defined, ...), as Suricata names them.
fn modbus_category(fc: u8) -> &'static str {
    match fc {
        9 | 10 | 13 | 14 | 41 | 42 | 90 | 91 | 125..=127 => "RESERVED",
        1..=24 | 43 => "PUBLIC_ASSIGNED",
        65..=72 | 100..=110 => "USER_DEFINED",
        _ => "PUBLIC_UNASSIGNED",
    }
}

fn modbus_access(fc: u8) -> &'static str {
    match fc {
        1 => "READ | COILS",
        2 => "READ | DISCRETES",
        3 => "READ | HOLDING",
        4 => "READ | INPUT",
        5 => "WRITE | COILS | SINGLE",
        6 => "WRITE | HOLDING | SINGLE",
        15 => "WRITE | COILS | MULTIPLE",
        16 => "WRITE | HOLDING | MULTIPLE",
        22 => "WRITE | HOLDING",
        23 => "READ | WRITE | HOLDING | MULTIPLE",
        24 => "READ | HOLDING",
        _ => "NONE",
    }
}

fn modbus_exception_name(code: u8) -> &'static str {
    match code {
        1 => "IllegalFunction",
        2 => "IllegalDataAddr",
        3 => "IllegalDataValue",
        4 => "ServerDeviceFail",
        5 => "Ack",
        6 => "ServerDeviceBusy",
        8 => "MemParityErr",
        10 => "GatewayPathUnavailable",
        11 => "GatewayTargetFailToResp",
        _ => "Unknown",
    }
}

fn values_bytes<'a>(v: &Values<'a>) -> &'a [u8] {
    match *v {
        Values::Registers(b) | Values::Bits(b) => b,
    }
}

/// One Modbus message (request or response) as Suricata's `modbus.request`/`.response`.
pub fn modbus_message(buf: &mut Vec<u8>, p: &modbus::Pdu<'_>) {
    let mut o = Obj::new(buf);
    let raw = if p.kind == Kind::Exception {
        p.function_code | 0x80
    } else {
        p.function_code
    };
    o.num("transaction_id", p.transaction_id)
        .num("protocol_id", 0u8)
        .num("unit_id", p.unit_id)
        .num("function_raw", raw)
        .str("function_code", modbus_function_name(p.function_code))
        .str("category", modbus_category(p.function_code))
        .str("access_type", modbus_access(p.function_code))
        .str(
            "error_flags",
            if p.malformed { "DATA_LENGTH" } else { "NONE" },
        );
    let is_write = matches!(p.function_code, 5 | 6 | 15 | 16 | 22);
    let data = p
        .values
        .as_ref()
        .map(values_bytes)
        .or_else(|| p.data.as_ref().map(|d| d.0));
    match p.kind {
        Kind::Exception => {
            let code = p.exception_code.unwrap_or(0);
            o.obj("exception")
                .num("raw", code)
                .str("code", modbus_exception_name(code));
        }
        Kind::Request => {
            if is_write {
                {
                    let mut w = o.obj("write");
                    if let Some(a) = p.address {
                        w.num("address", a);
                    }
                    if let Some(v) = p.value {
                        w.num("data", v);
                    }
                }
                if let Some(d) = data {
                    o.hex("data", d);
                }
            } else if p.address.is_some() || p.quantity.is_some() {
                {
                    let mut r = o.obj("read");
                    if let Some(a) = p.address {
                        r.num("address", a);
                    }
                    if let Some(q) = p.quantity {
                        r.num("quantity", q);
                    }
                }
                if p.function_code == 23 {
                    {
                        let mut w = o.obj("write");
                        if let Some(a) = p.write_address {
                            w.num("address", a);
                        }
                    }
                    if let Some(d) = data {
                        o.hex("data", d);
                    }
                }
            } else if let Some(d) = data {
                o.hex("data", d);
            }
        }
        Kind::Response => {
            if is_write {
                let mut w = o.obj("write");
                if let Some(a) = p.address {
                    w.num("address", a);
                }
                if let Some(v) = p.value.or(p.quantity) {
                    w.num("data", v);
                }
            } else if let Some(d) = data {
                if matches!(p.function_code, 1..=4 | 23 | 24) {
                    o.obj("read").hex("data", d);
                } else {
                    o.hex("data", d);
                }
            }
        }
    }
    if p.function_code == 8 {
        if let Some(sf) = p.sub_function {
            let mut d = o.obj("diagnostic");
            d.num("raw", sf).str("code", diag_name(sf));
            if let Some(x) = p.data.as_ref() {
                d.hex("data", x.0);
            }
        }
    }
    if p.function_code == 43 && p.kind == Kind::Request {
        if let Some(t) = p.mei_type {
            let code = match t {
                13 => "CANOpenGenRefReqResp",
                14 => "RdDevId",
                _ => "Unknown",
            };
            o.obj("mei").num("raw", t).str("code", code);
        }
    }
}

fn diag_name(sf: u16) -> &'static str {
    match sf {
        0 => "RetQueryData",
        1 => "RestartCommOpt",
        2 => "RetDiagReg",
        3 => "ChangeInputDelimiter",
        4 => "ForceListenOnlyMode",
        10 => "ClearCtrDiagReg",
        11 => "RetBusMsgCount",
        12 => "RetBusCommErrCount",
        13 => "RetBusExcErrCount",
        14 => "RetServerMsgCount",
        15 => "RetServerNoRespCount",
        16 => "RetServerNAKCount",
        17 => "RetServerBusyCount",
        18 => "RetBusCharOverrunCount",
        20 => "ClearOverrunCounterFlag",
        _ => "Reserved",
    }
}

/// A Modbus message that changes the device or says something is wrong: writes, diagnostics,
/// identification, user-defined and programming codes, exceptions, malformed PDUs.
pub fn modbus_changes(p: &modbus::Pdu<'_>) -> bool {
    p.kind == Kind::Exception
        || p.malformed
        || !matches!(p.function_code, 1..=4 | 7 | 11 | 12 | 17 | 20 | 24)
}

/// MQTT packet type names as Suricata keys them.
pub fn mqtt_type_name(t: u8) -> &'static str {
    match t {
        1 => "connect",
        2 => "connack",
        3 => "publish",
        4 => "puback",
        5 => "pubrec",
        6 => "pubrel",
        7 => "pubcomp",
        8 => "subscribe",
        9 => "suback",
        10 => "unsubscribe",
        11 => "unsuback",
        12 => "pingreq",
        13 => "pingresp",
        14 => "disconnect",
        _ => "auth",
    }
}

/// Whether Suricata's schema has an object for this MQTT packet type (not AUTH, not the
/// reserved type 0).
pub fn mqtt_logged(p: &mqtt::Pdu<'_>) -> bool {
    (1..=14).contains(&p.packet_type)
}

/// One MQTT control packet as the body Suricata keys by its type.
pub fn mqtt_message(buf: &mut Vec<u8>, p: &mqtt::Pdu<'_>) {
    let mut o = Obj::new(buf);
    o.num("qos", p.qos.unwrap_or(0))
        .bool("retain", p.retain.unwrap_or(false))
        .bool("dup", p.dup.unwrap_or(false));
    match p.packet_type {
        1 => {
            if let Some(n) = &p.protocol_name {
                o.text("protocol_string", n.0);
            }
            if let Some(v) = p.protocol_level {
                o.num("protocol_version", v);
            }
            if let Some(c) = &p.client_id {
                o.text("client_id", c.0);
            }
            if let Some(u) = &p.username {
                o.text("username", u.0);
            }
            // The password is never written: only that one was sent.
            o.obj("flags")
                .bool("username", p.username.is_some())
                .bool("password", p.password_len.is_some())
                .bool("will", p.will_topic.is_some())
                .bool("will_retain", p.will_retain.unwrap_or(false))
                .bool("clean_session", p.clean_session.unwrap_or(false));
            if let Some(t) = &p.will_topic {
                o.obj("will").text("topic", t.0);
            }
        }
        2 => {
            if let Some(s) = p.session_present {
                o.bool("session_present", s);
            }
            if let Some(rc) = p.return_code.or(p.reason_code) {
                o.num("return_code", rc);
            }
        }
        3 => {
            if let Some(t) = &p.topic {
                o.text("topic", t.0);
            }
            if let Some(id) = p.packet_id {
                o.num("message_id", id);
            }
        }
        4..=7 => {
            if let Some(id) = p.packet_id {
                o.num("message_id", id);
            }
            if let Some(rc) = p.reason_code {
                o.num("reason_code", rc);
            }
        }
        8 | 10 => {
            if let Some(id) = p.packet_id {
                o.num("message_id", id);
            }
            if let Some(ts) = p.topics.as_ref().filter(|t| t.iter().next().is_some()) {
                let sub = p.packet_type == 8;
                o.array("topics", |b| {
                    for (i, f) in ts.iter().enumerate() {
                        if i > 0 {
                            b.push(b',');
                        }
                        if sub {
                            Obj::new(b)
                                .text("topic", f.filter.0)
                                .num("qos", f.options.unwrap_or(0) & 3);
                        } else {
                            let _ = serde_json::to_writer(
                                &mut *b,
                                &String::from_utf8_lossy(f.filter.0),
                            );
                        }
                    }
                });
            }
        }
        9 | 11 => {
            if let Some(id) = p.packet_id {
                o.num("message_id", id);
            }
            if let Some(rc) = p.reason_codes.as_ref().filter(|c| !c.0.is_empty()) {
                let k = if p.packet_type == 9 {
                    "qos_granted"
                } else {
                    "reason_codes"
                };
                o.array(k, |b| {
                    for (i, c) in rc.0.iter().enumerate() {
                        if i > 0 {
                            b.push(b',');
                        }
                        super::json::itoa_like::Int::put(*c, b);
                    }
                });
            }
        }
        14 => {
            if let Some(rc) = p.reason_code {
                o.num("reason_code", rc);
            }
        }
        _ => {}
    }
}

/// An MQTT packet about sessions, authentication, subscriptions or failures.
pub fn mqtt_changes(p: &mqtt::Pdu<'_>) -> bool {
    match p.packet_type {
        1 | 2 | 8 | 9 | 10 | 11 | 14 | 15 => true,
        4..=7 => p.reason_code.is_some_and(|r| r >= 0x80),
        _ => p.truncated,
    }
}

/// DNS record type names.
pub fn rrtype_name(t: u16) -> String {
    match t {
        1 => "A".into(),
        2 => "NS".into(),
        5 => "CNAME".into(),
        6 => "SOA".into(),
        10 => "NULL".into(),
        12 => "PTR".into(),
        15 => "MX".into(),
        16 => "TXT".into(),
        28 => "AAAA".into(),
        33 => "SRV".into(),
        41 => "OPT".into(),
        43 => "DS".into(),
        46 => "RRSIG".into(),
        47 => "NSEC".into(),
        48 => "DNSKEY".into(),
        64 => "SVCB".into(),
        65 => "HTTPS".into(),
        255 => "ANY".into(),
        n => n.to_string(),
    }
}

pub fn rcode_name(r: u8) -> String {
    match r {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        n => n.to_string(),
    }
}

fn mac(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

pub fn mac_str(m: [u8; 6]) -> String {
    mac(m)
}

/// Suricata's `dhcp` object.
pub fn dhcp(m: &edgetap_dissectors::names::Dhcp<'_>) -> Value {
    let mut o = Map::new();
    o.insert(
        "type".into(),
        if m.op == 1 { "request" } else { "reply" }.into(),
    );
    o.insert("id".into(), m.xid.into());
    if let Some(c) = m.chaddr {
        o.insert("client_mac".into(), mac(c).into());
    }
    let v4 = |a: std::net::Ipv4Addr| (!a.is_unspecified()).then(|| a.to_string());
    if let Some(a) = v4(m.ciaddr) {
        o.insert("client_ip".into(), a.into());
    }
    if let Some(a) = v4(m.yiaddr) {
        o.insert("assigned_ip".into(), a.into());
    }
    if let Some(a) = v4(m.siaddr) {
        o.insert("next_server_ip".into(), a.into());
    }
    if let Some(a) = v4(m.giaddr) {
        o.insert("relay_ip".into(), a.into());
    }
    if let Some(t) = m.message_type_name() {
        o.insert("dhcp_type".into(), t.to_ascii_lowercase().into());
    }
    if let Some(a) = m.requested_ip {
        o.insert("requested_ip".into(), a.to_string().into());
    }
    let text = |b: Option<&[u8]>| {
        b.and_then(edgetap_dissectors::names::text)
            .map(|t| t.trim_matches(char::from(0)).to_string())
            .filter(|t| !t.is_empty())
    };
    if let Some(h) = text(m.hostname) {
        o.insert("hostname".into(), h.into());
    }
    if let Some(v) = text(m.vendor_class) {
        o.insert("vendor_class_identifier".into(), v.into());
    }
    if let Some(c) = m.client_id {
        o.insert("client_id".into(), hex_colon(c).into());
    }
    Value::Object(o)
}

fn hex_colon(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 3);
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Suricata's `arp` object.
pub fn arp(a: &crate::decode::Arp) -> Value {
    json!({
        "hw_type": "ethernet",
        "proto_type": "ipv4",
        "opcode": match a.op { 1 => "request", 2 => "reply", _ => "unknown" },
        "src_mac": mac(a.sha),
        "src_ip": a.spa.to_string(),
        "dest_mac": mac(a.tha),
        "dest_ip": a.tpa.to_string(),
    })
}

/// Suricata's `stats` object, with the counters that have a Suricata name. Ours without one
/// (BACnet, AMQP, OPC-UA flows and PDUs, drops by cause) are in `/metrics` and the summary.
pub fn stats(s: &Stats, uptime_s: u64, kernel: Option<(u64, u64)>) -> Value {
    use edgetap_dissectors::Proto;
    let d = &s.decode;
    let mut o = Map::new();
    o.insert("uptime".into(), uptime_s.into());
    if let Some((pk, dr)) = kernel {
        o.insert(
            "capture".into(),
            json!({"kernel_packets": pk, "kernel_drops": dr}),
        );
    }
    o.insert(
        "decoder".into(),
        json!({
            "pkts": s.packets,
            "bytes": s.bytes,
            "tcp": d.tcp,
            "udp": d.udp,
            "icmpv4": d.icmp,
            "arp": d.arp,
            "invalid": d.bad_ip_header + d.short_link_header,
            "unknown_ethertype": d.not_ip.saturating_sub(d.arp),
        }),
    );
    o.insert(
        "flow".into(),
        json!({
            "total": s.flows.created,
            "active": s.flows.active,
        }),
    );
    o.insert(
        "app_layer".into(),
        json!({
            "flow": {"modbus": s.app_flows.get(Proto::Modbus), "mqtt": s.app_flows.get(Proto::Mqtt)},
            "tx": {"modbus": s.pdus.get(Proto::Modbus), "mqtt": s.pdus.get(Proto::Mqtt)},
        }),
    );
    o.insert("tcp".into(), json!({"reassembly_gap": s.reassembly.gaps}));
    Value::Object(o)
}
