//! Helpers for the API tests: a state directory learned by the real binary from the site
//! scenario (`replay --learn base.pcap --state DIR ... attacks.pcap`, once per test binary,
//! then copied for each test), `edgetap serve` started on a free port and stopped with
//! SIGTERM, and a small HTTP/1.1 client; a synthetic site of any size served in process, and
//! a walk through paged answers.
//!
//! Use from a test file with `#[path = "common/live.rs"] mod live;` and
//! `#[path = "common/api.rs"] mod apihelp;`.
#![allow(dead_code)]

use crate::live::{free_tcp_port, signal, wait_timeout, Guard, BIN};
use edgetap::snapshot::{Shared, Snapshot};
use serde_json::{json, Value};
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

/// A site of `devices` devices (the last `isolated` of them without edges) and `edges` edges,
/// as a snapshot `run` could publish: devices sorted by id, edges in no particular order.
pub fn synthetic_snapshot(devices: usize, edges: usize, isolated: usize) -> Snapshot {
    let connected = devices - isolated;
    assert!(connected >= 2 && edges >= connected && edges / connected < connected - 1);
    let id = |i: usize| format!("d{:016x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let roles = |i: usize| match i % 4 {
        0 => json!(["modbus_server"]),
        1 => json!(["modbus_client"]),
        2 => json!(["mqtt_broker"]),
        _ => json!([]),
    };
    let mut devs: Vec<Value> = (0..devices)
        .map(|i| {
            json!({
                "id": id(i), "name": format!("dev-{i:05}"), "name_from": "known",
                "macs": [{"addr": format!("02:00:00:00:{:02x}:{:02x}", i >> 8 & 255, i & 255),
                          "first_ns": 1, "last_ns": 2}],
                "ips": [{"addr": format!("10.1.{}.{}", i / 250, i % 250 + 1),
                         "first_ns": 1, "last_ns": 2}],
                "vendor": null, "vendor_from": null, "roles": roles(i),
                "facts": [{"key": "unit_id", "value": (i % 7).to_string()}],
                "labels": [], "known": false, "internal": true,
                "first_ns": 1_700_000_000_000_000_000u64, "last_ns": 1_700_000_001_000_000_000u64,
            })
        })
        .collect();
    let nodes: Vec<Value> = (0..devices)
        .map(|i| {
            json!({"id": id(i), "name": format!("dev-{i:05}"), "roles": roles(i),
                   "internal": true, "vendor": null})
        })
        .collect();
    let edge_list: Vec<Value> = (0..edges)
        .map(|k| {
            let c = k % connected;
            let s = (c + 1 + k / connected) % connected;
            json!({
                "client": id(c), "server": id(s), "transport": "tcp", "port": 502,
                "protocol": "modbus", "operations": [], "packets": [3, 2], "bytes": [300, 200],
                "flows": 1, "first_ns": 1, "last_ns": 2, "learned": k % 10 != 0,
                "alerted": false,
            })
        })
        .collect();
    devs.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Snapshot {
        mode: "protecting".into(),
        capturing: true,
        devices: devs,
        graph: json!({"nodes": nodes, "edges": edge_list}),
        stats: json!({"packets": 10, "bytes": 1000, "devices": devices, "edges": edges,
                      "alerts": {}}),
        packet_time_ns: 1_700_000_001_000_000_000,
    }
}

/// `api::serve_on` in this process, over a snapshot and an empty store.
pub struct InProc {
    pub addr: SocketAddr,
    pub shared: Shared,
    pub token: Option<String>,
    rt: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    dir: PathBuf,
}

impl InProc {
    pub fn start(snap: Snapshot, max_page: usize, token: Option<&str>) -> InProc {
        use edgetap::api::{serve_on, ApiConfig, ApiState};
        use edgetap::store::{Store, StoreOptions};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "edgetap-inproc-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let store = std::sync::Arc::new(
            Store::open(&dir, StoreOptions::default()).unwrap_or_else(|e| panic!("{e}")),
        );
        let shared = Shared::new(snap);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = rt.spawn(serve_on(
            listener,
            ApiConfig {
                max_page,
                token: token.map(str::to_string),
                ..ApiConfig::default()
            },
            ApiState {
                store,
                snapshot: shared.clone(),
                commands: None,
                metrics_extra: None,
            },
            async move {
                let _ = stopped.await;
            },
        ));
        InProc {
            addr,
            shared,
            token: token.map(str::to_string),
            rt: Some(rt),
            stop: Some(stop),
            server: Some(server),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn get(&self, path: &str) -> Resp {
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let h: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        http(self.addr, "GET", path, &h, b"").unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// GET, expecting 200 and JSON.
    pub fn json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    /// Stops the server; fails the test if it failed.
    pub fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let (Some(rt), Some(server)) = (self.rt.as_ref(), self.server.take()) {
            rt.block_on(server)
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

impl Drop for InProc {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Follows `next` from `path` (which may hold a query already); every page, in order.
pub fn walk(get: impl Fn(&str) -> Value, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100_000 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let p = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_string(),
        };
        let v = get(&p);
        let next = v["next"].as_str().map(str::to_string);
        out.push(v);
        match next {
            Some(n) => cursor = Some(n),
            None => return out,
        }
    }
    panic!("{path}: no end after 100000 pages");
}
