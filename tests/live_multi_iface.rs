//! Live capture on two interfaces at once: `edgetap run -i A -i B` against two real Modbus/TCP
//! servers (tools/modbus-peer), each in its own network namespace behind its own veth pair.
//!
//! The test builds its network and tears it down (also when it fails):
//!
//! ```text
//! root ns: eta<n> 10.231.1.1/24 <-veth-> 10.231.1.2/24 in netns etap-a-<pid> (server A :502)
//! root ns: etb<n> 10.231.2.1/24 <-veth-> 10.231.2.2/24 in netns etap-b-<pid> (server B :502)
//! ```
//!
//! edgetap and the two clients run in the root namespace; every packet goes over one of the
//! two veth pairs, never any other address or interface. Needs root and `ip netns` (iproute2):
//! it fails, never skips, without them (CI runs as root).

#[path = "common/live.rs"]
mod live;

use live::{cargo_bin, require_cmd, require_root, wait_timeout, Guard, Net, Tap};
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The client's script (tools/modbus-peer): the function code of each step, and whether the
/// server answers it with an exception.
const SCRIPT: [(u64, bool); 9] = [
    (3, false),
    (4, false),
    (1, false),
    (2, false),
    (6, false),
    (16, false),
    (5, false),
    (15, false),
    (3, true),
];

/// The private range only these test hosts use.
const SUBNETS: [&str; 2] = ["10.231.1.", "10.231.2."];

/// Runs `ip ARGS`; fails the test with its stderr if it fails.
fn ip(ipcmd: &Path, args: &[&str]) -> String {
    let out = Command::new(ipcmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running `ip {}`: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "`ip {}` failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One server host: its namespace, the root side of its veth pair, its address and the root
/// side's.
struct Host {
    netns: String,
    root_if: String,
    server_ip: String,
    client_ip: String,
}

impl Net {
    /// Adds netns `host.netns` joined to the root namespace by veth `host.root_if`.
    fn add(&mut self, host: &Host) {
        let ipc = self.ip.clone();
        let peer_if = format!("{}p", host.root_if);
        self.netns.push(host.netns.clone());
        ip(&ipc, &["netns", "add", &host.netns]);
        self.links.push(host.root_if.clone());
        ip(
            &ipc,
            &[
                "link",
                "add",
                &host.root_if,
                "type",
                "veth",
                "peer",
                "name",
                &peer_if,
                "netns",
                &host.netns,
            ],
        );
        ip(
            &ipc,
            &[
                "addr",
                "add",
                &format!("{}/24", host.client_ip),
                "dev",
                &host.root_if,
            ],
        );
        ip(&ipc, &["link", "set", &host.root_if, "up"]);
        let in_ns = |args: &[&str]| {
            let mut a = vec!["-n", host.netns.as_str()];
            a.extend_from_slice(args);
            ip(&ipc, &a);
        };
        in_ns(&[
            "addr",
            "add",
            &format!("{}/24", host.server_ip),
            "dev",
            &peer_if,
        ]);
        in_ns(&["link", "set", &peer_if, "up"]);
        in_ns(&["link", "set", "lo", "up"]);
        // The root namespace reaches the server over this veth pair and nothing else.
        let route = ip(&ipc, &["-4", "route", "get", &host.server_ip]);
        assert!(
            route.contains(&format!("dev {} ", host.root_if)),
            "{} is not routed over {}: {route}",
            host.server_ip,
            host.root_if
        );
    }
}

/// Fails the test unless `ip netns` works and nothing here uses the test's address range.
fn preflight(ipcmd: &Path) {
    let out = Command::new(ipcmd).args(["netns", "list"]).output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "live_multi_iface needs network namespaces: `ip netns list` failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("live_multi_iface needs `ip netns` (iproute2): {e}"),
    }
    let addrs = ip(ipcmd, &["-4", "-o", "addr", "show"]) + &ip(ipcmd, &["-4", "route", "show"]);
    for s in SUBNETS {
        assert!(
            !addrs.contains(s),
            "{s}0/24 (the test's private range) is already in use here (a leftover of an \
             earlier run? see `ip netns list`, `ip link`):\n{addrs}"
        );
    }
}

fn read_all(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

/// Starts `modbus-peer server --listen SERVER_IP:502` in the host's namespace and waits (with
/// `ss` in that namespace, no probe connection) until it listens.
fn start_server(ipcmd: &Path, peer: &Path, host: &Host) -> (Guard, thread::JoinHandle<String>) {
    // `ip netns exec` execs the command in place: the child's id is the server's.
    let mut server = Guard::new(
        Command::new(ipcmd)
            .args(["netns", "exec", &host.netns])
            .arg(peer)
            .args(["server", "--listen", &format!("{}:502", host.server_ip)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting modbus-peer server in {}: {e}", host.netns)),
    );
    let err = read_all(server.child().stderr.take().unwrap());
    let ss = require_cmd("ss", "install iproute2");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = Command::new(ipcmd)
            .args(["netns", "exec", &host.netns])
            .arg(&ss)
            .args(["-Hltn", "sport = :502"])
            .output()
            .expect("running ss in the namespace");
        if String::from_utf8_lossy(&out.stdout).contains(&format!("{}:502", host.server_ip)) {
            return (server, err);
        }
        if let Some(st) = server.child().try_wait().unwrap() {
            server.0 = None;
            panic!(
                "modbus-peer server in {} exited ({st}) before listening: {}",
                host.netns,
                err.join().unwrap()
            );
        }
        assert!(
            Instant::now() < deadline,
            "modbus-peer server in {} not listening on {}:502 after 30 s",
            host.netns,
            host.server_ip
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the client's script against `server_ip:502` from the root namespace.
fn run_client(peer: &Path, server_ip: &str) {
    // wait_timeout kills the client if it hangs.
    let mut child = Command::new(peer)
        .args(["client", "--connect", &format!("{server_ip}:502")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting modbus-peer client");
    let err = read_all(child.stderr.take().unwrap());
    let st = wait_timeout(
        &mut child,
        Duration::from_secs(60),
        &format!("modbus-peer client against {server_ip}:502"),
    );
    let err = err.join().unwrap();
    assert!(
        st.success(),
        "modbus-peer client against {server_ip}:502 failed ({st}):\n{err}"
    );
}

fn dump(records: &[&Value]) -> String {
    records
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks that `records` hold the client's script against `host`'s server, in order: 9
/// requests from the client to port 502 and 9 answers back, with the script's function codes.
fn check_host(records: &[&Value], host: &Host) {
    let all = dump(records);
    assert_eq!(
        records.len(),
        2 * SCRIPT.len(),
        "expected {} Modbus PDUs between {} and {}, got {}:\n{all}",
        2 * SCRIPT.len(),
        host.client_ip,
        host.server_ip,
        records.len()
    );
    let client_port = records[0]["src_port"].as_u64();
    assert!(
        client_port.is_some_and(|p| p != 502),
        "no client port in {}",
        records[0]
    );
    for (i, (fc, exception)) in SCRIPT.iter().enumerate() {
        let (req, rsp) = (records[2 * i], records[2 * i + 1]);
        let step = i + 1;
        for (rec, kind, src, dst) in [
            (
                req,
                "request",
                (&host.client_ip, client_port),
                (&host.server_ip, Some(502)),
            ),
            (
                rsp,
                if *exception { "exception" } else { "response" },
                (&host.server_ip, Some(502)),
                (&host.client_ip, client_port),
            ),
        ] {
            let m = &rec["modbus"];
            assert_eq!(m["function_code"], *fc, "step {step}: {rec}\n{all}");
            assert_eq!(m["kind"], kind, "step {step}: {rec}\n{all}");
            assert_eq!(m["unit_id"], 1, "step {step}: {rec}");
            assert_eq!(rec["src_ip"], src.0.as_str(), "step {step}: {rec}");
            assert_eq!(rec["src_port"].as_u64(), src.1, "step {step}: {rec}");
            assert_eq!(rec["dest_ip"], dst.0.as_str(), "step {step}: {rec}");
            assert_eq!(rec["dest_port"].as_u64(), dst.1, "step {step}: {rec}");
        }
        assert_eq!(
            req["modbus"]["transaction_id"], rsp["modbus"]["transaction_id"],
            "step {step}: answer does not pair with the request:\n{req}\n{rsp}"
        );
    }
}

#[test]
fn live_capture_on_two_interfaces() {
    require_root();
    let ipcmd = require_cmd(
        "ip",
        "install iproute2 (`ip netns` builds the test network)",
    );
    preflight(&ipcmd);
    let peer = cargo_bin("modbus-peer", "modbus-peer");

    let pid = std::process::id();
    let hosts = [
        Host {
            netns: format!("etap-a-{pid}"),
            root_if: format!("eta{}", pid % 10000),
            server_ip: "10.231.1.2".into(),
            client_ip: "10.231.1.1".into(),
        },
        Host {
            netns: format!("etap-b-{pid}"),
            root_if: format!("etb{}", pid % 10000),
            server_ip: "10.231.2.2".into(),
            client_ip: "10.231.2.1".into(),
        },
    ];
    // Declared before the servers, so dropped after them: the namespaces go once nothing
    // runs in them.
    let mut net = Net {
        ip: ipcmd.clone(),
        links: Vec::new(),
        netns: Vec::new(),
    };
    let t0 = Instant::now();
    for h in &hosts {
        net.add(h);
    }

    let servers: Vec<_> = hosts
        .iter()
        .map(|h| start_server(&ipcmd, &peer, h))
        .collect();

    let ifaces: Vec<&str> = hosts.iter().map(|h| h.root_if.as_str()).collect();
    let tap = Tap::start_on(&ifaces, "tcp port 502");
    for h in &hosts {
        run_client(&peer, &h.server_ip);
    }
    // ~1 s for the last packets: here and in Tap::stop.
    thread::sleep(Duration::from_millis(500));
    let cap = tap.stop();

    for ((mut s, err), h) in servers.into_iter().zip(&hosts) {
        let st = s.terminate("modbus-peer server after SIGTERM");
        let e = err.join().unwrap();
        assert!(
            st.success(),
            "modbus-peer server in {} exited with {st}: {e}",
            h.netns
        );
    }
    eprintln!(
        "edgetap run: {} records in {:.1} s; stderr:\n{}",
        cap.records.len(),
        t0.elapsed().as_secs_f64(),
        cap.stderr
    );

    // Every record is one of the two servers' conversations; each server's PDUs carry its own
    // address.
    let all: Vec<&Value> = cap.records.iter().collect();
    for r in &all {
        assert_eq!(r["proto"], "modbus", "not Modbus: {r}\n{}", cap.raw);
        let pair = (
            r["src_ip"].as_str().unwrap_or(""),
            r["dest_ip"].as_str().unwrap_or(""),
        );
        assert!(
            hosts
                .iter()
                .any(|h| pair == (&h.client_ip, &h.server_ip)
                    || pair == (&h.server_ip, &h.client_ip)),
            "record between other addresses: {r}\n{}",
            cap.raw
        );
    }
    for h in &hosts {
        let mine: Vec<&Value> = all
            .iter()
            .copied()
            .filter(|r| r["src_ip"] == h.server_ip.as_str() || r["dest_ip"] == h.server_ip.as_str())
            .collect();
        check_host(&mine, h);
    }

    // One drop-counter line per interface, each having received packets.
    for h in &hosts {
        let tag = format!("{}: received ", h.root_if);
        let lines: Vec<&str> = cap.stderr.lines().filter(|l| l.contains(&tag)).collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one drop-counter line for {}:\n{}",
            h.root_if,
            cap.stderr
        );
        let received: u64 = lines[0]
            .split(&tag)
            .nth(1)
            .and_then(|r| r.split(',').next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("cannot read the received count: {}", lines[0]));
        assert!(received > 0, "{}", lines[0]);
    }
    drop(net);
}
