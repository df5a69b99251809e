//! Helpers for live-capture tests against real peers on the loopback interface: root and tool
//! checks, free ports, waiting for a listener with `ss` (no probe connection, so the capture
//! holds only the peers' own traffic), and `edgetap run` started, waited for ("capturing on")
//! and stopped with SIGTERM, its stdout parsed as JSON records.
//!
//! Use from a test file with `#[path = "common/live.rs"] mod live;`.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_edgetap");

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails the test unless it runs as root (live capture on `lo` needs it).
pub fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or("?")
        .to_string();
    assert_eq!(
        euid, "0",
        "live-capture tests need root (capture on lo with libpcap); effective uid is {euid}"
    );
}

/// Where `name` is on PATH (or in /usr/sbin, /sbin, which a non-login PATH may lack).
pub fn find_cmd(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file());
    found
}

/// Fails the test with `hint` unless `name` is installed.
pub fn require_cmd(name: &str, hint: &str) -> PathBuf {
    find_cmd(name).unwrap_or_else(|| panic!("`{name}` not found on PATH; {hint}"))
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two adjacent free UDP ports (p, p+1) on 127.0.0.1, for a `udp portrange p-p+1` filter.
pub fn free_udp_port_pair() -> (u16, u16) {
    for _ in 0..200 {
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let p = a.local_addr().unwrap().port();
        if p == u16::MAX {
            continue;
        }
        if UdpSocket::bind(("127.0.0.1", p + 1)).is_ok() {
            return (p, p + 1);
        }
    }
    panic!("no two adjacent free UDP ports on 127.0.0.1");
}

#[derive(Clone, Copy, Debug)]
pub enum Transport {
    Tcp,
    Udp,
}

/// Polls `ss` until something listens on (binds) `port`; fails the test after `timeout`.
pub fn wait_listen(port: u16, t: Transport, timeout: Duration) {
    let flag = match t {
        Transport::Tcp => "-Hltn",
        Transport::Udp => "-Hlun",
    };
    let ss = require_cmd("ss", "install iproute2");
    let deadline = Instant::now() + timeout;
    loop {
        let out = Command::new(&ss)
            .args([flag, &format!("sport = :{port}")])
            .output()
            .expect("running ss");
        if !String::from_utf8_lossy(&out.stdout).trim().is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "nothing listening on {t:?} port {port} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `sig` (e.g. "TERM", "INT") to a process by its id.
pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

/// Waits up to `timeout` for `child` to exit; kills it (SIGKILL) and fails the test if it doesn't.
pub fn wait_timeout(child: &mut Child, timeout: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(st) = child.try_wait().expect("waiting for child") {
            return st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process that is killed (by its own id) if the test fails before stopping it.
pub struct Guard(pub Option<Child>);

impl Guard {
    pub fn new(c: Child) -> Self {
        Guard(Some(c))
    }
    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }
    /// SIGTERM, then wait (SIGKILL after 10 s).
    pub fn terminate(&mut self, what: &str) -> ExitStatus {
        let mut c = self.0.take().expect("already stopped");
        signal(c.id(), "TERM");
        wait_timeout(&mut c, Duration::from_secs(10), what)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A running `edgetap run`.
pub struct Tap {
    child: Guard,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

/// What `edgetap run` printed.
pub struct Captured {
    pub raw: String,
    pub records: Vec<Value>,
    pub stderr: String,
    pub status: ExitStatus,
}

impl Tap {
    /// Starts `edgetap run -i IFACE --filter FILTER --format jsonl` and returns once it has
    /// logged "capturing on" (fails the test if it doesn't within 30 s).
    pub fn start(iface: &str, filter: &str) -> Tap {
        Tap::start_on(&[iface], filter)
    }

    /// Lets the last packets through, sends SIGTERM and collects the output. Fails the test
    /// if edgetap doesn't exit cleanly or prints a line that isn't JSON.
    pub fn stop(mut self) -> Captured {
        std::thread::sleep(Duration::from_millis(500));
        let status = self.child.terminate("edgetap run after SIGTERM");
        let raw = self.stdout.take().unwrap().join().unwrap();
        let stderr = self.stderr.take().unwrap().join().unwrap();
        assert!(
            status.success(),
            "edgetap run exited with {status} after SIGTERM; stderr:\n{stderr}"
        );
        let records = raw
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        Captured {
            raw,
            records,
            stderr,
            status,
        }
    }
}

/// A fresh scratch directory for one test run.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("edgetap-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    // World-readable whatever the umask: mosquitto started as root reads its files as user
    // mosquitto.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

/// `rec[proto][key]` as u64.
pub fn field_u64(rec: &Value, key: &str) -> Option<u64> {
    rec[rec["proto"].as_str()?][key].as_u64()
}

/// `rec[proto][key]` as &str.
pub fn field_str<'a>(rec: &'a Value, key: &str) -> Option<&'a str> {
    rec[rec["proto"].as_str()?][key].as_str()
}

/// The record's (src_port, dest_port).
pub fn ports(rec: &Value) -> (u64, u64) {
    (
        rec["src_port"].as_u64().unwrap_or(0),
        rec["dest_port"].as_u64().unwrap_or(0),
    )
}

impl Tap {
    /// Like [`Tap::start`], on several interfaces at once: `edgetap run -i IF1 -i IF2 ...
    /// --filter FILTER --format jsonl`, returned once it has logged "capturing on" (fails the
    /// test if it doesn't within 30 s).
    pub fn start_on(ifaces: &[&str], filter: &str) -> Tap {
        assert!(!ifaces.is_empty(), "Tap::start_on needs an interface");
        let mut args: Vec<&str> = vec!["capture"];
        for i in ifaces {
            args.extend(["-i", i]);
        }
        args.extend(["--filter", filter, "--format", "jsonl"]);
        let mut child = Command::new(BIN)
            .args(&args)
            .env("EDGETAP_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting edgetap run");
        let mut so = child.stdout.take().unwrap();
        let se = child.stderr.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = so.read_to_string(&mut s);
            s
        });
        let (tx, rx) = mpsc::channel();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            let mut tx = Some(tx);
            for line in BufReader::new(se).lines() {
                let Ok(line) = line else { break };
                if line.contains("capturing on") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(());
                    }
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        let mut tap = Tap {
            child: Guard::new(child),
            stdout: Some(stdout),
            stderr: Some(stderr),
        };
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = tap.child.child().kill();
            let _ = tap.child.child().wait();
            let err = tap.stderr.take().unwrap().join().unwrap_or_default();
            panic!(
                "edgetap run -i {} did not log \"capturing on\" within 30 s; stderr:\n{err}",
                ifaces.join(" -i ")
            );
        }
        tap
    }
}

/// Builds binary `bin` of workspace package `package` (`cargo build -p PACKAGE --bin BIN`) and
/// returns the path of the executable, wherever the target dir is.
pub fn cargo_bin(package: &str, bin: &str) -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .current_dir(repo())
        .args([
            "build",
            "-p",
            package,
            "--bin",
            bin,
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("running cargo build -p {package}: {e}"));
    assert!(
        out.status.success(),
        "cargo build -p {package} --bin {bin} failed ({})",
        out.status
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == bin)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo build -p {package} reported no {bin} executable"))
}

/// The test network: deletes its links and namespaces when dropped. Each is registered before
/// it is created, so a half-built network is torn down too.
pub struct Net {
    pub ip: PathBuf,
    pub links: Vec<String>,
    pub netns: Vec<String>,
}

impl Drop for Net {
    fn drop(&mut self) {
        // Deleting one end of a veth pair deletes both.
        for l in &self.links {
            let _ = Command::new(&self.ip)
                .args(["link", "del", l])
                .stderr(Stdio::null())
                .status();
        }
        for ns in &self.netns {
            let _ = Command::new(&self.ip)
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `edgetap replay --inventory` of one capture (alerts to a file beside it): the devices'
/// records. Fails the test when the replay fails.
pub fn replay_inventory(pcap: &Path, tag: &str) -> Vec<Value> {
    let dir = temp_dir(tag);
    let inv = dir.join("inventory.json");
    let out = Command::new(cargo_bin("edgetap", "edgetap"))
        .arg("replay")
        .arg("--alerts")
        .arg(dir.join("alerts.json"))
        .arg("--inventory")
        .arg(&inv)
        .arg(pcap)
        .output()
        .unwrap_or_else(|e| panic!("edgetap: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(&inv).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{}: {e}", inv.display()))
}
