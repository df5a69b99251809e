//! Alerts to a syslog collector: RFC 5424 messages over UDP (RFC 5426), or over TCP with octet
//! counting (RFC 6587 §3.4.1) when the address is written `tcp://HOST:PORT`.
//!
//! `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [edgetap@32473 k="v" ...] MSG`, facility
//! local0. Header fields are cut to their RFC lengths and anything outside printable US-ASCII in
//! them becomes `_`; SD-PARAM values escape `"`, `\` and `]`. Control characters in values and
//! in MSG become spaces: device names come from the traffic, and a newline in one must not
//! forge a line in a collector's file. MSG is sent as plain ASCII when it is, else as UTF-8
//! with the BOM RFC 5424 asks for.

use crate::output::Rfc3339;
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Facility local0.
pub const FACILITY: u8 = 16;
/// The SD-ID of edgetap's structured data (32473 is the private enterprise number RFC 5612
/// reserves for examples and documentation).
pub const SD_ID: &str = "edgetap@32473";
/// The largest datagram sent over UDP; MSG is cut to fit (rsyslog's default maximum).
pub const MAX_UDP: usize = 8192;
const TCP_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a TCP collector that could not be reached is left alone (sends fail at once).
const TCP_RETRY: Duration = Duration::from_secs(10);

enum Transport {
    Udp(UdpSocket),
    Tcp {
        addr: SocketAddr,
        stream: Option<TcpStream>,
        /// No connection attempt before this.
        next_try: Instant,
        retry: Duration,
    },
}

/// A connection to one syslog collector.
pub struct Syslog {
    transport: Transport,
    hostname: String,
    app: String,
    procid: String,
}

impl Syslog {
    /// `HOST:PORT` or `udp://HOST:PORT` for UDP, `tcp://HOST:PORT` for TCP. `app` is the
    /// APP-NAME. Fails only on an address that does not resolve. A TCP collector that cannot
    /// be reached now is tried again by `send` (at most every 10 s; sends in between fail at
    /// once), and so after a failed write: a collector that is down never stops the caller.
    pub fn connect(addr: &str, app: &str) -> io::Result<Syslog> {
        let (tcp, rest) = if let Some(r) = addr.strip_prefix("tcp://") {
            (true, r)
        } else {
            (false, addr.strip_prefix("udp://").unwrap_or(addr))
        };
        let target = rest.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("syslog address `{addr}` resolves to nothing"),
            )
        })?;
        let transport = if tcp {
            let mut t = Transport::Tcp {
                addr: target,
                stream: None,
                next_try: Instant::now(),
                retry: TCP_RETRY,
            };
            if let Transport::Tcp {
                addr,
                stream,
                next_try,
                retry,
            } = &mut t
            {
                if let Err(e) = reconnect(addr, stream, next_try, *retry) {
                    tracing::warn!("syslog collector {addr}: {e}; retrying when alerts come");
                }
            }
            t
        } else {
            let local: SocketAddr = if target.is_ipv4() {
                ([0, 0, 0, 0], 0).into()
            } else {
                ([0u16; 8], 0).into()
            };
            let sock = UdpSocket::bind(local)?;
            sock.connect(target)?;
            Transport::Udp(sock)
        };
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        Ok(Syslog {
            transport,
            hostname: header_field(hostname.trim(), 255),
            app: header_field(app, 48),
            procid: std::process::id().to_string(),
        })
    }

    /// Send one message now. `severity` is 0 (emergency) to 7 (debug); `structured` become the
    /// SD-PARAMs of `[edgetap@32473 ...]` (none: `-`).
    pub fn send(
        &mut self,
        severity: u8,
        msgid: &str,
        structured: &[(&str, String)],
        msg: &str,
    ) -> io::Result<()> {
        if severity > 7 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("syslog severity {severity} is not 0-7"),
            ));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let header = Header {
            hostname: &self.hostname,
            app: &self.app,
            procid: &self.procid,
        };
        match &mut self.transport {
            Transport::Udp(sock) => {
                let m = format_message(now, severity, &header, msgid, structured, msg, MAX_UDP);
                match sock.send(&m) {
                    // The refusal reported is that of an earlier datagram (ICMP port
                    // unreachable); this one was not sent: try it once more.
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => sock.send(&m),
                    r => r,
                }
                .map(drop)
            }
            Transport::Tcp {
                addr,
                stream,
                next_try,
                retry,
            } => {
                let m = format_message(now, severity, &header, msgid, structured, msg, usize::MAX);
                let mut framed = format!("{} ", m.len()).into_bytes();
                framed.extend_from_slice(&m);
                if let Some(s) = stream.as_mut() {
                    if s.write_all(&framed).is_ok() {
                        return Ok(());
                    }
                    // Broken: connect again at once and resend this one.
                    *stream = None;
                    *next_try = Instant::now();
                }
                reconnect(addr, stream, next_try, *retry)?;
                let s = stream.as_mut().expect("connected");
                if let Err(e) = s.write_all(&framed) {
                    *stream = None;
                    *next_try = Instant::now() + *retry;
                    return Err(e);
                }
                Ok(())
            }
        }
    }
}

/// Connect `stream` to `addr` unless it is too early since the last failure.
fn reconnect(
    addr: &SocketAddr,
    stream: &mut Option<TcpStream>,
    next_try: &mut Instant,
    retry: Duration,
) -> io::Result<()> {
    let now = Instant::now();
    if now < *next_try {
        return Err(io::Error::new(
            io::ErrorKind::NotConnected,
            format!(
                "syslog collector {addr} unreachable; next try in {:?}",
                *next_try - now
            ),
        ));
    }
    let connected = TcpStream::connect_timeout(addr, TCP_TIMEOUT)
        .and_then(|s| s.set_write_timeout(Some(TCP_TIMEOUT)).map(|()| s));
    match connected {
        Ok(s) => {
            *stream = Some(s);
            Ok(())
        }
        Err(e) => {
            *next_try = now + retry;
            Err(e)
        }
    }
}

/// The fixed part of the header.
pub struct Header<'a> {
    pub hostname: &'a str,
    pub app: &'a str,
    pub procid: &'a str,
}

/// One RFC 5424 message (without transport framing), `now_ns` nanoseconds since the epoch;
/// MSG is cut (at a character boundary) so that the whole is at most `max` bytes where it can be.
pub fn format_message(
    now_ns: u64,
    severity: u8,
    h: &Header<'_>,
    msgid: &str,
    structured: &[(&str, String)],
    msg: &str,
    max: usize,
) -> Vec<u8> {
    let pri = u16::from(FACILITY) * 8 + u16::from(severity.min(7));
    let mut out = format!(
        "<{pri}>1 {} {} {} {} {} ",
        Rfc3339(now_ns),
        header_field(h.hostname, 255),
        header_field(h.app, 48),
        header_field(h.procid, 128),
        header_field(msgid, 32),
    );
    if structured.is_empty() {
        out.push('-');
    } else {
        out.push('[');
        out.push_str(SD_ID);
        for (name, value) in structured {
            out.push(' ');
            out.push_str(&sd_name(name));
            out.push_str("=\"");
            escape_param_value(value, &mut out);
            out.push('"');
        }
        out.push(']');
    }
    let mut out = out.into_bytes();
    if msg.is_empty() {
        return out;
    }
    out.push(b' ');
    let ascii = msg.is_ascii();
    if !ascii {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let room = max.saturating_sub(out.len());
    let mut cut = msg.len().min(room);
    while !msg.is_char_boundary(cut) {
        cut -= 1;
    }
    out.extend(
        msg[..cut]
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .bytes(),
    );
    out
}

/// HOSTNAME, APP-NAME, PROCID, MSGID: 1 to `max` printable US-ASCII characters, or `-`.
fn header_field(s: &str, max: usize) -> String {
    let f: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if f.is_empty() {
        "-".into()
    } else {
        f
    }
}

/// SD-NAME: 1 to 32 printable US-ASCII characters other than `=`, space, `]` and `"`.
fn sd_name(s: &str) -> String {
    let f: String = s
        .chars()
        .take(32)
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '=' | ']' | '"') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if f.is_empty() {
        "_".into()
    } else {
        f
    }
}

/// PARAM-VALUE: `"`, `\` and `]` escaped with a backslash (RFC 5424 §6.3.3).
fn escape_param_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '"' | '\\' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    const H: Header<'static> = Header {
        hostname: "gw-01",
        app: "edgetap",
        procid: "4242",
    };
    // 2026-11-22T08:27:22.217633Z
    const NOW: u64 = 1_795_336_042_217_633_000;

    fn text(b: Vec<u8>) -> String {
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn framing() {
        let m = text(format_message(
            NOW,
            4,
            &H,
            "alert",
            &[
                ("category", "lateral_movement".into()),
                ("sid", "100012".into()),
            ],
            "new peer edge",
            MAX_UDP,
        ));
        assert_eq!(
            m,
            "<132>1 2026-11-22T08:27:22.217633Z gw-01 edgetap 4242 alert \
             [edgetap@32473 category=\"lateral_movement\" sid=\"100012\"] new peer edge"
        );
    }

    #[test]
    fn nil_values_and_pri() {
        let empty = Header {
            hostname: "",
            app: "",
            procid: "",
        };
        let m = text(format_message(0, 0, &empty, "", &[], "", MAX_UDP));
        assert_eq!(m, "<128>1 1970-01-01T00:00:00.000000Z - - - - -");
        let m = text(format_message(0, 7, &H, "x", &[], "", MAX_UDP));
        assert!(m.starts_with("<135>1 "), "{m}");
    }

    #[test]
    fn escaping() {
        let m = text(format_message(
            NOW,
            3,
            &H,
            "alert",
            &[("a b=\"c]", r#"say "hi" \ [x] ok"#.into())],
            "line one\nline two",
            MAX_UDP,
        ));
        assert!(
            m.ends_with(r#"[edgetap@32473 a_b__c_="say \"hi\" \\ [x\] ok"] line one line two"#),
            "{m}"
        );
    }

    #[test]
    fn header_fields_are_sanitised_and_cut() {
        let long = "m".repeat(40);
        let h = Header {
            hostname: "gate way",
            app: &"a".repeat(60),
            procid: "1",
        };
        let m = text(format_message(NOW, 1, &h, &long, &[], "", MAX_UDP));
        let f: Vec<&str> = m.split(' ').collect();
        assert_eq!(f[2], "gate_way");
        assert_eq!(f[3].len(), 48);
        assert_eq!(f[5].len(), 32);
    }

    #[test]
    fn utf8_msg_has_bom_and_is_cut_on_a_boundary() {
        let m = format_message(NOW, 5, &H, "x", &[], "café", MAX_UDP);
        let s = text(m);
        assert!(s.ends_with("- \u{feff}café"), "{s}");
        let full = format_message(NOW, 5, &H, "x", &[], &"é".repeat(10_000), MAX_UDP);
        assert!(full.len() <= MAX_UDP && full.len() > MAX_UDP - 2);
        text(full);
    }

    /// A tiny RFC 5424 reader: PRI, version, the five header fields, the SD-PARAMs unescaped,
    /// and MSG.
    fn parse(m: &str) -> (u16, Vec<String>, Vec<(String, String)>, String) {
        let rest = m.strip_prefix('<').unwrap();
        let (pri, rest) = rest.split_once('>').unwrap();
        let rest = rest.strip_prefix("1 ").unwrap();
        let mut fields = Vec::new();
        let mut rest = rest;
        for _ in 0..5 {
            let (f, r) = rest.split_once(' ').unwrap();
            fields.push(f.to_string());
            rest = r;
        }
        let mut params = Vec::new();
        let msg;
        if let Some(r) = rest.strip_prefix('-') {
            msg = r.strip_prefix(' ').unwrap_or("").to_string();
        } else {
            let r = rest.strip_prefix(&format!("[{SD_ID}")).unwrap();
            let mut chars = r.chars();
            loop {
                match chars.next().unwrap() {
                    ']' => break,
                    ' ' => {
                        let mut name = String::new();
                        for c in chars.by_ref() {
                            if c == '=' {
                                break;
                            }
                            name.push(c);
                        }
                        assert_eq!(chars.next(), Some('"'));
                        let mut value = String::new();
                        loop {
                            match chars.next().unwrap() {
                                '\\' => value.push(chars.next().unwrap()),
                                '"' => break,
                                c => value.push(c),
                            }
                        }
                        params.push((name, value));
                    }
                    c => panic!("unexpected {c:?} in SD"),
                }
            }
            let r = chars.as_str();
            msg = r.strip_prefix(' ').unwrap_or("").to_string();
        }
        (pri.parse().unwrap(), fields, params, msg)
    }

    #[test]
    fn udp_round_trip() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let addr = rx.local_addr().unwrap().to_string();
        let mut s = Syslog::connect(&addr, "edgetap").unwrap();
        s.send(
            2,
            "alert",
            &[
                ("category", "ics_control".into()),
                ("src_device", r#"plc "north" [1]\2"#.into()),
            ],
            "write to coil 7 from an unknown peer",
        )
        .unwrap();
        let mut buf = [0u8; 9000];
        let n = rx.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        let (pri, fields, params, msg) = parse(got);
        assert_eq!(pri, 16 * 8 + 2);
        assert!(fields[0].ends_with('Z') && fields[0].len() == 27, "{got}");
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| header_field(h.trim(), 255))
            .unwrap_or_else(|_| "-".into());
        assert_eq!(fields[1], host);
        assert_eq!(fields[2], "edgetap");
        assert_eq!(fields[3], std::process::id().to_string());
        assert_eq!(fields[4], "alert");
        assert_eq!(
            params,
            vec![
                ("category".to_string(), "ics_control".to_string()),
                ("src_device".to_string(), r#"plc "north" [1]\2"#.to_string()),
            ]
        );
        assert_eq!(msg, "write to coil 7 from an unknown peer");
        assert!(s.send(8, "x", &[], "").is_err());
    }

    #[test]
    fn tcp_octet_counting() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("tcp://{}", l.local_addr().unwrap());
        let mut s = Syslog::connect(&addr, "edgetap").unwrap();
        let (mut conn, _) = l.accept().unwrap();
        s.send(6, "start", &[], "capturing on eth1").unwrap();
        s.send(4, "alert", &[("k", "v".into())], "two\nlines")
            .unwrap();
        drop(s);
        let mut all = String::new();
        conn.read_to_string(&mut all).unwrap();
        let mut rest = all.as_str();
        let mut msgs = Vec::new();
        while !rest.is_empty() {
            let (len, r) = rest.split_once(' ').unwrap();
            let len: usize = len.parse().unwrap();
            msgs.push(parse(&r[..len]));
            rest = &r[len..];
        }
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].0, 134);
        assert_eq!(msgs[0].3, "capturing on eth1");
        assert_eq!(msgs[1].2, vec![("k".to_string(), "v".to_string())]);
        assert_eq!(msgs[1].3, "two lines");
    }

    #[test]
    fn tcp_collector_down_at_start_is_tried_again() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let mut s = Syslog::connect(&format!("tcp://127.0.0.1:{port}"), "edgetap").unwrap();
        // Refused at start: sends fail at once until the retry time.
        let e = s.send(4, "alert", &[], "lost").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotConnected, "{e}");
        let Transport::Tcp {
            next_try, retry, ..
        } = &mut s.transport
        else {
            unreachable!()
        };
        *next_try = Instant::now();
        *retry = Duration::ZERO;
        let Ok(l) = TcpListener::bind(("127.0.0.1", port)) else {
            return; // the port was taken meanwhile: nothing to check
        };
        s.send(4, "alert", &[], "after the collector came up")
            .unwrap();
        drop(s);
        let (mut conn, _) = l.accept().unwrap();
        let mut all = String::new();
        conn.read_to_string(&mut all).unwrap();
        assert!(all.ends_with(" - after the collector came up"), "{all}");
    }
}
