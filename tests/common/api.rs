//! Helpers for the API tests: a state directory learned by the real binary from the site
//! scenario (`replay --learn base.pcap --state DIR ... attacks.pcap`, once per test binary,
//! then copied for each test), `edgetap serve` started on a free port and stopped with
//! SIGTERM, and a small HTTP/1.1 client.
//!
//! Use from a test file with `#[path = "common/live.rs"] mod live;` and
//! `#[path = "common/api.rs"] mod apihelp;`.
#![allow(dead_code)]

use crate::live::{free_tcp_port, signal, wait_timeout, Guard, BIN};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Fixture {
    /// Scenario captures and files.
    pub dir: PathBuf,
    /// The state directory `replay` wrote (never served itself: tests serve copies).
    pub state: PathBuf,
    /// The EVE lines `replay` printed.
    pub eve: Vec<Value>,
    /// Seconds the scenario and the replay took.
    pub setup_secs: f64,
}

/// The learned state directory, built once per test binary.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let t0 = Instant::now();
        sweep_stale();
        let dir = std::env::temp_dir().join(format!("edgetap-api-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        pcapgen::scenario::write_all(
            &dir,
            &pcapgen::scenario::Options {
                flood: None,
                portscan: false,
            },
        )
        .unwrap_or_else(|e| panic!("writing the scenario: {e}"));
        let state = dir.join("state");
        let alerts = dir.join("alerts.jsonl");
        let out = Command::new(BIN)
            .arg("replay")
            .arg("--learn")
            .arg(dir.join("base.pcap"))
            .arg("--state")
            .arg(&state)
            .args(["--site-net", "10.20.0.0/16", "--known"])
            .arg(dir.join("edgex-devices.json"))
            .arg("--alerts")
            .arg(&alerts)
            .arg(dir.join("attacks.pcap"))
            .output()
            .unwrap_or_else(|e| panic!("running {BIN}: {e}"));
        assert!(
            out.status.success(),
            "edgetap replay failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The captures (60 MB) are not needed any more; the state and the alerts are.
        for p in ["base.pcap", "benign.pcap", "attacks.pcap"] {
            let _ = std::fs::remove_file(dir.join(p));
        }
        let eve = std::fs::read_to_string(&alerts)
            .unwrap_or_else(|e| panic!("{}: {e}", alerts.display()))
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("EVE line {l}: {e}")))
            .collect();
        Fixture {
            dir,
            state,
            eve,
            setup_secs: t0.elapsed().as_secs_f64(),
        }
    })
}

/// Removes the fixture directories of test processes that are gone (a static is never
/// dropped, so each process leaves its own behind).
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("edgetap-api-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// A fresh copy of the fixture's state directory.
pub fn state_copy(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let f = fixture();
    let to = f.dir.join(format!(
        "state-{name}-{}",
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for e in std::fs::read_dir(&f.state).unwrap_or_else(|e| panic!("{e}")) {
        let e = e.unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap_or_else(|e| panic!("{e}"));
    }
    to
}

/// A running `edgetap serve`.
pub struct Serve {
    pub addr: SocketAddr,
    pub token: Option<String>,
    child: Guard,
    log: PathBuf,
}

impl Serve {
    /// `edgetap serve --state DIR --listen HOST:PORT [--token T]`, called on 127.0.0.1 once
    /// `/healthz` answers 200 (fails the test after 30 s or if it exits).
    pub fn start(state: &Path, host: &str, token: Option<&str>) -> Serve {
        let port = free_tcp_port();
        let log = state.with_extension(format!("serve-{port}.log"));
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--state")
            .arg(state)
            .args(["--listen", &format!("{host}:{port}")]);
        if let Some(t) = token {
            cmd.args(["--token", t]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap_or_else(|e| panic!("{e}")))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {BIN} serve: {e}"));
        let mut s = Serve {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            token: token.map(str::to_string),
            child: Guard::new(child),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(st) = s.child.child().try_wait().unwrap_or(None) {
                panic!("edgetap serve exited with {st}:\n{}", s.log_text());
            }
            if let Ok(r) = http(s.addr, "GET", "/healthz", &[], b"") {
                assert_eq!(r.status, 200, "healthz: {}", r.text());
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "edgetap serve did not answer within 30 s:\n{}",
                s.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A request with the server's token (if it has one).
    pub fn req(&self, method: &str, path: &str, body: Option<&str>) -> Resp {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut h: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            h.push(("Authorization", a));
        }
        if body.is_some() {
            h.push(("Content-Type", "application/json"));
        }
        http(self.addr, method, path, &h, body.unwrap_or("").as_bytes())
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log_text()))
    }

    pub fn get(&self, path: &str) -> Resp {
        self.req("GET", path, None)
    }

    /// GET, expecting 200 and JSON.
    pub fn json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "GET {path}"
        );
        r.json()
    }

    /// SIGTERM, then the exit status (fails the test after 10 s).
    pub fn stop(mut self) -> ExitStatus {
        let mut c = self
            .child
            .0
            .take()
            .unwrap_or_else(|| panic!("already stopped"));
        signal(c.id(), "TERM");
        wait_timeout(
            &mut c,
            Duration::from_secs(10),
            "edgetap serve after SIGTERM",
        )
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text()))
    }
}

/// One HTTP/1.1 request (`Connection: close`), the whole response read.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    // Read the head, then the body by its length (some servers keep the connection open
    // despite `Connection: close`), by chunks, or to the end.
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    let end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(bad("no end of headers"));
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if method == "HEAD" || status == 204 || status == 304 {
        body.clear();
    } else if let Some(len) = length {
        while body.len() < len {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Err(bad("short body"));
            }
            body.extend_from_slice(&buf[..n]);
        }
        body.truncate(len);
    } else if chunked {
        while !body.windows(5).any(|w| w == b"0\r\n\r\n") {
            let n = s.read(&mut buf)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&buf[..n]);
        }
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size = usize::from_str_radix(
                String::from_utf8_lossy(&rest[..eol])
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim(),
                16,
            )
            .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size).ok_or_else(|| bad("short chunk"))?);
            rest = rest.get(size + 2..).ok_or_else(|| bad("short chunk"))?;
        }
        body = out;
    } else {
        s.read_to_end(&mut body)?;
    }
    Ok(Resp {
        status,
        headers,
        body,
    })
}
