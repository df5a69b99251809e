//! Live capture of real AMQP peers on the loopback interface, through `edgetap run`:
//!
//! - AMQP 0-9-1: RabbitMQ (Debian `rabbitmq-server`, its own node, ports and scratch dirs) with a
//!   pika client (`tests/peers/amqp_pika_session.py`): declare/bind, three publishes with routing
//!   keys, consume + ack, then a wrong password (connection.close 403 ACCESS_REFUSED). On the same
//!   broker, the rabbitmq_amqp1_0 plugin refuses a qpid-proton client's SASL PLAIN login with a
//!   wrong password (sasl.outcome auth).
//! - AMQP 1.0: qpid-proton's example broker (`libqpid-proton11-dev-examples`) with a
//!   qpid-proton client (`tests/peers/amqp_proton_session.py`): open, begin, attach, flow,
//!   transfer, disposition, detach, end, close.
//!
//! Needs root, `ss`, Debian's `/usr/bin/python3` with python3-pika and python3-qpid-proton,
//! rabbitmq-server and libqpid-proton11-dev-examples. A missing peer fails the test.

#[path = "common/live.rs"]
mod live;

use live::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's interpreter: python3-pika and python3-qpid-proton are installed for it, not for
/// whatever `python3` comes first on PATH.
const DEB_PY: &str = "/usr/bin/python3";
const RABBIT_SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const RABBIT_CTL: &str = "/usr/lib/rabbitmq/bin/rabbitmqctl";
const PROTON_BROKER: &str = "/usr/share/proton/examples/python/broker.py";

const USER: &str = "edgetap";
const GOOD_PW: &str = "Edg3tap-good-pw";
const BAD_PW: &str = "Wr0ng-edgetap-pw";

fn peer(name: &str) -> PathBuf {
    repo().join("tests/peers").join(name)
}

fn require_file(p: &str, hint: &str) {
    assert!(Path::new(p).is_file(), "{p} not found; {hint}");
}

fn require_deb_python(modules: &str, pkgs: &str) {
    require_file(
        DEB_PY,
        "Debian's python3 is needed for its python3-* packages",
    );
    let ok = Command::new(DEB_PY)
        .args(["-c", &format!("import {modules}")])
        .status()
        .map(|s| s.success());
    assert!(
        matches!(ok, Ok(true)),
        "{DEB_PY} cannot import {modules}; apt-get install -y --no-install-recommends {pkgs}"
    );
}

/// Runs a client to completion (fails the test on timeout or non-zero exit); returns its stdout.
fn run_client(mut cmd: Command, timeout: Duration, what: &str) -> String {
    let out_path = std::env::temp_dir().join(format!(
        "edgetap-client-{}-{}.out",
        std::process::id(),
        what
    ));
    let err_path = out_path.with_extension("err");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let st = wait_timeout(&mut child, timeout, what);
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    let _ = std::fs::remove_file(&err_path);
    assert!(
        st.success(),
        "{what} failed ({st}); stdout:\n{out}\nstderr:\n{err}"
    );
    out
}

fn listening(port: u16) -> bool {
    let out = Command::new("ss")
        .args(["-Hltn", &format!("sport = :{port}")])
        .output()
        .expect("running ss");
    !String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

/// The pid of whatever listens on `port` (from `ss -p`).
fn listener_pid(port: u16) -> Option<u32> {
    let out = Command::new("ss")
        .args(["-Hltnp", &format!("sport = :{port}")])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    let i = s.find("pid=")? + 4;
    s[i..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn three_distinct_ports() -> Vec<u16> {
    let mut v: Vec<u16> = Vec::new();
    while v.len() < 3 {
        let p = free_tcp_port();
        if !v.contains(&p) {
            v.push(p);
        }
    }
    v
}

/// One RabbitMQ node of our own: its own node name, AMQP port, distribution port, epmd port,
/// HOME (Erlang cookie), config, plugins file and data/log dirs, so it touches nothing else on
/// the machine. Shut down with `rabbitmqctl shutdown` (and its epmd killed by pid) on drop.
struct Rabbit {
    server: Guard,
    dir: PathBuf,
    node: String,
    epmd_port: u16,
    stopped: bool,
}

impl Rabbit {
    fn env(&self, cmd: &mut Command) {
        rabbit_env(cmd, &self.dir, &self.node, self.epmd_port);
    }

    fn start(port: u16, dist_port: u16, epmd_port: u16) -> Rabbit {
        let dir = temp_dir("rabbitmq");
        std::fs::write(dir.join("enabled_plugins"), "[rabbitmq_amqp1_0].\n").unwrap();
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!(
                "listeners.tcp.default = 127.0.0.1:{port}\ndefault_user = {USER}\ndefault_pass = {GOOD_PW}\n\
                 loopback_users = none\n"
            ),
        )
        .unwrap();
        let node = format!("edgetap-live-{}@localhost", std::process::id());
        let mut cmd = Command::new(RABBIT_SERVER);
        rabbit_env(&mut cmd, &dir, &node, epmd_port);
        cmd.env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", port.to_string())
            .env("RABBITMQ_DIST_PORT", dist_port.to_string())
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("server.log")).unwrap())
            .stderr(std::fs::File::create(dir.join("server.err")).unwrap());
        let child: Child = cmd.spawn().expect("starting rabbitmq-server");
        let mut r = Rabbit {
            server: Guard::new(child),
            dir,
            node,
            epmd_port,
            stopped: false,
        };
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(75);
        while !listening(port) {
            if let Some(st) = r.server.child().try_wait().unwrap() {
                panic!(
                    "RabbitMQ could not start: rabbitmq-server exited with {st}\n{}",
                    r.logs()
                );
            }
            if Instant::now() > deadline {
                panic!("RabbitMQ could not start: nothing listening on 127.0.0.1:{port} after 75 s\n{}", r.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "RabbitMQ listening on 127.0.0.1:{port} after {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        r
    }

    fn logs(&self) -> String {
        let tail = |f: &str| {
            let s = std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        format!(
            "--- server.log (tail)\n{}\n--- server.err (tail)\n{}",
            tail("server.log"),
            tail("server.err")
        )
    }

    fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let epmd = listener_pid(self.epmd_port);
        let mut ctl = Command::new(RABBIT_CTL);
        self.env(&mut ctl);
        ctl.args(["-n", &self.node, "shutdown"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Ok(mut c) = ctl.spawn() {
            let deadline = Instant::now() + Duration::from_secs(30);
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        // The server script exits once the node is down; kill it if it hasn't.
        let c = self.server.child();
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = c.kill();
        let _ = c.wait();
        // The epmd that this node started (on our own epmd port).
        if let Some(pid) = epmd {
            signal(pid, "TERM");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Rabbit {
    fn drop(&mut self) {
        self.stop();
    }
}

fn rabbit_env(cmd: &mut Command, dir: &Path, node: &str, epmd_port: u16) {
    cmd.env("HOME", dir)
        .env("RABBITMQ_NODENAME", node)
        .env("ERL_EPMD_ADDRESS", "127.0.0.1")
        .env("ERL_EPMD_PORT", epmd_port.to_string())
        .env("RABBITMQ_CONF_ENV_FILE", dir.join("no-env.conf"))
        .env("RABBITMQ_CONFIG_FILE", dir.join("rabbitmq.conf"))
        .env("RABBITMQ_ADVANCED_CONFIG_FILE", dir.join("advanced.config"))
        .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir.join("enabled_plugins"))
        .env("RABBITMQ_MNESIA_BASE", dir.join("mnesia"))
        .env("RABBITMQ_LOG_BASE", dir.join("log"))
        .env("RABBITMQ_PLUGINS_EXPAND_DIR", dir.join("plugins-expand"))
        .env("RABBITMQ_PID_FILE", dir.join("rabbitmq.pid"));
}

fn amqp(rec: &Value) -> &Value {
    &rec["amqp"]
}

fn client_port(rec: &Value, server: u16) -> u64 {
    let (s, d) = ports(rec);
    if s == server as u64 {
        d
    } else {
        s
    }
}

fn from_server(rec: &Value, server: u16) -> bool {
    ports(rec).0 == server as u64
}

fn method(rec: &Value) -> Option<(u64, u64)> {
    Some((
        amqp(rec)["class_id"].as_u64()?,
        amqp(rec)["method_id"].as_u64()?,
    ))
}

fn common_checks(cap: &Captured, port: u16) {
    assert!(
        !cap.records.is_empty(),
        "no records; stderr:\n{}",
        cap.stderr
    );
    let mut last = 0;
    for r in &cap.records {
        assert_eq!(r["proto"], "amqp", "{r}");
        assert_eq!(r["src_ip"], "127.0.0.1", "{r}");
        assert_eq!(r["dest_ip"], "127.0.0.1", "{r}");
        let (s, d) = ports(r);
        assert!(
            s == port as u64 || d == port as u64,
            "record off the broker port {port}: {r}"
        );
        let f = r["frame"].as_u64().expect("frame");
        assert!(f >= last, "frames out of order: {f} after {last}");
        last = f;
        assert!(r["ts"].as_str().is_some_and(|t| t.ends_with('Z')), "{r}");
    }
}

/// AMQP 0-9-1 against RabbitMQ with pika, plus an AMQP 1.0 SASL failure on the same broker.
#[test]
fn amqp091_rabbitmq_pika_and_amqp10_sasl_failure() {
    require_root();
    require_cmd("ss", "install iproute2");
    require_file(
        RABBIT_SERVER,
        "RabbitMQ is required: apt-get install -y --no-install-recommends rabbitmq-server",
    );
    require_deb_python("pika, proton", "python3-pika python3-qpid-proton");
    let t0 = Instant::now();
    let p = three_distinct_ports();
    let (port, dist_port, epmd_port) = (p[0], p[1], p[2]);
    let mut rabbit = Rabbit::start(port, dist_port, epmd_port);

    let tap = Tap::start("lo", &format!("tcp port {port}"));
    let mut pika = Command::new(DEB_PY);
    pika.arg(peer("amqp_pika_session.py"))
        .args([&port.to_string(), USER, GOOD_PW, BAD_PW]);
    let out = run_client(pika, Duration::from_secs(40), "pika client");
    assert!(
        out.contains("consumed 3") && out.contains("bad login ->"),
        "pika client:\n{out}"
    );
    let mut proton = Command::new(DEB_PY);
    proton
        .arg(peer("amqp_proton_session.py"))
        .arg("--bad-login")
        .arg(format!("amqp://{USER}:{BAD_PW}@127.0.0.1:{port}"));
    let out = run_client(proton, Duration::from_secs(30), "proton bad login");
    assert!(out.contains("bad login ->"), "proton client:\n{out}");
    let cap = tap.stop();
    rabbit.stop();
    eprintln!(
        "{} records in {:.1} s",
        cap.records.len(),
        t0.elapsed().as_secs_f64()
    );

    common_checks(&cap, port);
    // Credentials never reach the output (PLAIN responses are reported by length only).
    for pw in [GOOD_PW, BAD_PW] {
        assert!(!cap.raw.contains(pw), "password {pw:?} in the output");
    }

    // One version per connection: two 0-9-1 connections (session, bad login), one 1.0.
    let mut conns: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for r in &cap.records {
        let v = amqp(r)["version"]
            .as_str()
            .unwrap_or_else(|| panic!("no version: {r}"))
            .to_string();
        conns.entry(client_port(r, port)).or_default().insert(v);
    }
    for (c, v) in &conns {
        assert_eq!(v.len(), 1, "connection from port {c} has versions {v:?}");
    }
    let of = |ver: &str| -> Vec<u64> {
        conns
            .iter()
            .filter(|(_, v)| v.contains(ver))
            .map(|(c, _)| *c)
            .collect()
    };
    let (c091, c10) = (of("0-9-1"), of("1.0"));
    assert_eq!(c091.len(), 2, "0-9-1 connections: {conns:?}");
    assert_eq!(c10.len(), 1, "1.0 connections: {conns:?}");

    let recs = |c: u64| -> Vec<&Value> {
        cap.records
            .iter()
            .filter(|r| client_port(r, port) == c)
            .collect()
    };
    let find = |rs: &[&Value], cm: (u64, u64)| -> Vec<Value> {
        rs.iter()
            .filter(|r| method(r) == Some(cm))
            .map(|r| (*r).clone())
            .collect()
    };

    // Both 0-9-1 connections: protocol header, connection.start from RabbitMQ, start-ok from pika.
    let mut bad_conn = None;
    for &c in &c091 {
        let rs = recs(c);
        assert!(
            rs.iter()
                .any(|r| amqp(r)["frame_type"] == "protocol_header" && !from_server(r, port)),
            "no 0-9-1 protocol header from client {c}"
        );
        let start = find(&rs, (10, 10));
        assert_eq!(start.len(), 1, "connection.start on {c}");
        assert!(from_server(&start[0], port));
        assert_eq!(amqp(&start[0])["method"], "connection.start");
        assert_eq!(amqp(&start[0])["product"], "RabbitMQ", "{}", start[0]);
        assert_eq!(amqp(&start[0])["channel"], 0);
        let start_ok = find(&rs, (10, 11));
        assert_eq!(start_ok.len(), 1, "connection.start-ok on {c}");
        assert!(!from_server(&start_ok[0], port));
        assert_eq!(
            amqp(&start_ok[0])["product"],
            "Pika Python Client Library",
            "{}",
            start_ok[0]
        );
        assert_eq!(amqp(&start_ok[0])["mechanism"], "PLAIN", "{}", start_ok[0]);
        if find(&rs, (10, 50))
            .iter()
            .any(|r| amqp(r)["reply_code"] == 403)
        {
            bad_conn = Some(c);
        }
    }

    // The refused login: connection.close 403 ACCESS_REFUSED from the broker, and nothing else after start-ok.
    let bad = bad_conn.expect("no connection.close with reply_code 403 (ACCESS_REFUSED)");
    let rs = recs(bad);
    let close = &find(&rs, (10, 50))[0];
    assert!(from_server(close, port), "{close}");
    assert_eq!(amqp(close)["method"], "connection.close");
    assert!(
        amqp(close)["reply_text"]
            .as_str()
            .unwrap_or("")
            .starts_with("ACCESS_REFUSED"),
        "{close}"
    );
    assert!(
        find(&rs, (10, 40)).is_empty(),
        "connection.open on the refused connection"
    );

    // The session.
    let good = *c091.iter().find(|&&c| c != bad).unwrap();
    let rs = recs(good);
    let one = |cm: (u64, u64), what: &str| -> Value {
        let v = find(&rs, cm);
        assert!(!v.is_empty(), "no {what} {cm:?} in the session");
        v[0].clone()
    };
    assert_eq!(
        amqp(&one((10, 30), "connection.tune"))["method"],
        "connection.tune"
    );
    assert_eq!(amqp(&one((10, 40), "connection.open"))["virtual_host"], "/");
    one((10, 41), "connection.open-ok");
    one((20, 10), "channel.open");
    let xd = one((40, 10), "exchange.declare");
    assert_eq!(
        (
            amqp(&xd)["exchange"].as_str(),
            amqp(&xd)["exchange_type"].as_str()
        ),
        (Some("plant"), Some("topic"))
    );
    assert_eq!(amqp(&one((50, 10), "queue.declare"))["queue"], "telemetry");
    assert_eq!(
        amqp(&one((50, 11), "queue.declare-ok"))["queue"],
        "telemetry"
    );
    let bind = one((50, 20), "queue.bind");
    assert_eq!(amqp(&bind)["exchange"], "plant");
    assert_eq!(amqp(&bind)["routing_key"], "line.*.temp");
    assert_eq!(amqp(&bind)["queue"], "telemetry");
    one((60, 20), "basic.consume");
    one((60, 21), "basic.consume-ok");

    let keys: BTreeSet<&str> = ["line.1.temp", "line.2.temp", "line.3.temp"].into();
    let publishes = find(&rs, (60, 40));
    assert_eq!(publishes.len(), 3, "basic.publish");
    for p in &publishes {
        assert!(!from_server(p, port));
        assert_eq!(amqp(p)["method"], "basic.publish");
        assert_eq!(amqp(p)["exchange"], "plant", "{p}");
        assert_eq!(amqp(p)["channel"], 1, "{p}");
    }
    let pkeys: BTreeSet<&str> = publishes
        .iter()
        .filter_map(|p| amqp(p)["routing_key"].as_str())
        .collect();
    assert_eq!(pkeys, keys);
    let headers: Vec<&&Value> = rs
        .iter()
        .filter(|r| amqp(r)["frame_type"] == "content_header")
        .collect();
    assert_eq!(
        headers.len(),
        6,
        "content headers (3 publishes, 3 deliveries)"
    );
    assert!(headers
        .iter()
        .all(|h| amqp(h)["content_type"] == "application/json"));
    assert_eq!(
        rs.iter()
            .filter(|r| amqp(r)["frame_type"] == "body")
            .count(),
        6,
        "body frames"
    );

    let delivers = find(&rs, (60, 60));
    assert_eq!(delivers.len(), 3, "basic.deliver");
    for d in &delivers {
        assert!(from_server(d, port));
        assert_eq!(amqp(d)["method"], "basic.deliver");
        assert_eq!(amqp(d)["exchange"], "plant", "{d}");
    }
    let dkeys: BTreeSet<&str> = delivers
        .iter()
        .filter_map(|d| amqp(d)["routing_key"].as_str())
        .collect();
    assert_eq!(dkeys, keys);
    let acks = find(&rs, (60, 80));
    assert_eq!(acks.len(), 3, "basic.ack");
    let tags: BTreeSet<u64> = acks
        .iter()
        .filter_map(|a| amqp(a)["delivery_tag"].as_u64())
        .collect();
    assert_eq!(tags, [1, 2, 3].into());
    assert!(acks.iter().all(|a| !from_server(a, port)));
    let close = one((10, 50), "connection.close");
    assert!(!from_server(&close, port));
    assert_eq!(amqp(&close)["reply_code"], 200, "{close}");
    one((10, 51), "connection.close-ok");

    // AMQP 1.0 on RabbitMQ's plugin: SASL PLAIN with a wrong password -> sasl.outcome auth (1).
    let rs = recs(c10[0]);
    let sasl = |m: &str| -> Value {
        rs.iter()
            .find(|r| amqp(r)["method"] == m)
            .map(|r| (*r).clone())
            .unwrap_or_else(|| panic!("no {m} on the 1.0 connection"))
    };
    let mechs = sasl("sasl.mechanisms");
    assert!(from_server(&mechs, port));
    assert!(mechs.to_string().contains("PLAIN"), "{mechs}");
    let init = sasl("sasl.init");
    assert_eq!(amqp(&init)["mechanism"], "PLAIN");
    let outcome = sasl("sasl.outcome");
    assert!(from_server(&outcome, port));
    assert_eq!(amqp(&outcome)["sasl_outcome"], 1, "{outcome}");
    assert!(
        rs.iter().all(|r| amqp(r)["performative"].is_null()),
        "performatives after a failed SASL login"
    );
}

/// AMQP 1.0 against qpid-proton's example broker with a qpid-proton client.
#[test]
fn amqp10_proton_broker_session() {
    require_root();
    require_cmd("ss", "install iproute2");
    require_file(
        PROTON_BROKER,
        "apt-get install -y --no-install-recommends libqpid-proton11-dev-examples python3-qpid-proton",
    );
    require_deb_python("proton", "python3-qpid-proton");
    let t0 = Instant::now();
    let port = free_tcp_port();
    let broker = Command::new(DEB_PY)
        .arg(PROTON_BROKER)
        .args(["-a", &format!("127.0.0.1:{port}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the proton example broker");
    let mut broker = Guard::new(broker);
    wait_listen(port, Transport::Tcp, Duration::from_secs(20));

    let tap = Tap::start("lo", &format!("tcp port {port}"));
    let mut client = Command::new(DEB_PY);
    client
        .arg(peer("amqp_proton_session.py"))
        .arg(format!("amqp://127.0.0.1:{port}"))
        .arg("examples");
    let out = run_client(client, Duration::from_secs(30), "proton client");
    assert!(out.contains("closed"), "proton client:\n{out}");
    let cap = tap.stop();
    broker.terminate("proton broker");
    eprintln!(
        "{} records in {:.1} s",
        cap.records.len(),
        t0.elapsed().as_secs_f64()
    );

    common_checks(&cap, port);
    let conns: BTreeSet<u64> = cap.records.iter().map(|r| client_port(r, port)).collect();
    assert_eq!(conns.len(), 1, "connections: {conns:?}");
    assert!(
        cap.records.iter().all(|r| amqp(r)["version"] == "1.0"),
        "a record that isn't AMQP 1.0"
    );
    let headers = cap
        .records
        .iter()
        .filter(|r| amqp(r)["frame_type"] == "protocol_header")
        .count();
    assert_eq!(headers, 4, "protocol headers (SASL and AMQP, each way)");
    let init = cap
        .records
        .iter()
        .find(|r| amqp(r)["method"] == "sasl.init")
        .expect("sasl.init");
    assert_eq!(amqp(init)["mechanism"], "ANONYMOUS");
    let outcome = cap
        .records
        .iter()
        .find(|r| amqp(r)["method"] == "sasl.outcome")
        .expect("sasl.outcome");
    assert_eq!(amqp(outcome)["sasl_outcome"], 0);

    let perf = |code: u64| -> Vec<&Value> {
        cap.records
            .iter()
            .filter(|r| amqp(r)["performative"].as_u64() == Some(code))
            .collect()
    };
    let names = [
        (16, "open"),
        (17, "begin"),
        (18, "attach"),
        (19, "flow"),
        (20, "transfer"),
        (21, "disposition"),
        (22, "detach"),
        (23, "end"),
        (24, "close"),
    ];
    for (code, name) in names {
        let v = perf(code);
        assert!(!v.is_empty(), "no {name} ({code})");
        assert!(
            v.iter()
                .all(|r| amqp(r)["method"] == name && amqp(r)["frame_type"] == "amqp"),
            "{name}: {:?}",
            v
        );
    }
    // Both ends open, begin, end and close; each of the two links is attached and detached by both.
    for (code, n) in [(16, 2), (17, 2), (18, 4), (22, 4), (23, 2), (24, 2)] {
        assert_eq!(perf(code).len(), n, "performative {code}");
    }
    let open = perf(16)
        .into_iter()
        .find(|r| !from_server(r, port))
        .expect("client open");
    assert_eq!(amqp(open)["container_id"], "edgetap-live-client", "{open}");
    assert_eq!(amqp(open)["hostname"], "127.0.0.1", "{open}");
    assert!(
        perf(16).iter().any(|r| from_server(r, port)),
        "no open from the broker"
    );

    let attaches = perf(18);
    let link = |name: &str, from_client: bool| -> &Value {
        attaches
            .iter()
            .find(|r| amqp(r)["link_name"] == name && from_server(r, port) != from_client)
            .unwrap_or_else(|| {
                panic!(
                    "no attach {name} from the {}",
                    if from_client { "client" } else { "broker" }
                )
            })
    };
    let s = link("edgetap-sender", true);
    assert_eq!(
        (amqp(s)["role"].as_str(), amqp(s)["target"].as_str()),
        (Some("sender"), Some("examples")),
        "{s}"
    );
    let s = link("edgetap-sender", false);
    assert_eq!(
        (amqp(s)["role"].as_str(), amqp(s)["target"].as_str()),
        (Some("receiver"), Some("examples")),
        "{s}"
    );
    let r = link("edgetap-receiver", true);
    assert_eq!(
        (amqp(r)["role"].as_str(), amqp(r)["source"].as_str()),
        (Some("receiver"), Some("examples")),
        "{r}"
    );
    let r = link("edgetap-receiver", false);
    assert_eq!(
        (amqp(r)["role"].as_str(), amqp(r)["source"].as_str()),
        (Some("sender"), Some("examples")),
        "{r}"
    );

    // Three messages in (client -> broker) and the same three out (broker -> client).
    let transfers = perf(20);
    assert_eq!(
        transfers.iter().filter(|r| !from_server(r, port)).count(),
        3,
        "transfers to the broker"
    );
    assert_eq!(
        transfers.iter().filter(|r| from_server(r, port)).count(),
        3,
        "transfers from the broker"
    );
    let ids: BTreeSet<u64> = transfers
        .iter()
        .filter_map(|r| amqp(r)["delivery_id"].as_u64())
        .collect();
    assert_eq!(ids, [0, 1, 2].into());
    assert!(
        perf(21)
            .iter()
            .any(|r| amqp(r)["delivery_state"] == "accepted"),
        "no accepted disposition"
    );
    assert!(
        perf(19).iter().any(|r| amqp(r)["link_credit"] == 10),
        "no flow granting 10 credits"
    );
}
