//! The appliance end to end, on real interfaces: the test builds a small site of network
//! namespaces around the root namespace, which plays the gateway (it routes between them):
//!
//! ```text
//! root ns (gateway, edgetap)  e2b<n> 10.232.1.1 <-> 10.232.1.2 netns broker (mosquitto :1883)
//!                             e2s<n> 10.232.2.1 <-> 10.232.2.2 netns sensor (MQTT publisher)
//!                             e2p<n> 10.232.3.1 <-> 10.232.3.2 netns plc    (tokio-modbus :502)
//!                             e2h<n> 10.232.4.1 <-> 10.232.4.2 netns hmi    (Modbus client)
//! ```
//!
//! `edgetap run` captures on the four gateway interfaces (inbound only, so a routed packet is
//! seen once), as an unprivileged user holding only CAP_NET_RAW and CAP_NET_ADMIN (setpriv), and
//! learns for a few seconds while the sensor publishes and the HMI polls the PLC. Then the
//! attacks: the sensor probes the PLC (a new edge), a burst of MQTT CONNECTs hits the broker,
//! and the sensor uploads a large message. The API must show the devices, the edges and the
//! alerts; the process must be non-root with its capabilities dropped; and alerts and
//! inventory must be the same after SIGTERM + start and after kill -9 + start.

#[path = "common/live.rs"]
mod live;

use live::{cargo_bin, require_cmd, require_root, wait_timeout, Guard, Net};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip netns exec NS ARGS...`
fn in_ns(ip: &Path, ns: &str, args: &[&str]) -> Command {
    let mut c = Command::new(ip);
    c.args(["netns", "exec", ns]).args(args);
    c
}

fn curl(port: u16, path: &str, method: &str) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-s", "-m", "5", "-X", method, "-w", "\n%{http_code}"])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .unwrap_or_else(|e| panic!("curl: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

fn wait_api(port: u16, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while curl(port, "/healthz", "GET").0 != 200 {
        assert!(Instant::now() < deadline, "API not up on port {port}");
        thread::sleep(Duration::from_millis(200));
    }
}

struct Appliance {
    guard: Guard,
    pid: u32,
}

fn start_edgetap(bin: &Path, ifaces: &[String], state: &Path, port: u16, eve: &Path) -> Appliance {
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=+net_raw,+net_admin",
        "--ambient-caps=+net_raw,+net_admin",
        "--",
    ])
    .arg(bin)
    .arg("run");
    for i in ifaces {
        c.args(["-i", i]);
    }
    c.args([
        "--inbound-only",
        "--site-net",
        "10.232.0.0/16",
        "--learn-for",
        "12s",
    ])
    .args(["--window", "2s", "--listen"])
    .arg(format!("127.0.0.1:{port}"))
    .arg("--state")
    .arg(state)
    .arg("--eve")
    .arg(eve)
    // EVE records besides alerts, a file per type, beside the alerts file.
    .arg("--eve-log")
    .arg(eve.with_file_name("records"))
    .args(["--eve-split", "--eve-stats-interval", "5s"])
    .env("EDGETAP_LOG", "info")
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    let child: Child = c
        .spawn()
        .unwrap_or_else(|e| panic!("starting edgetap: {e}"));
    let pid = child.id();
    wait_api(port, Duration::from_secs(20));
    Appliance {
        guard: Guard::new(child),
        pid,
    }
}

fn status_field(pid: u32, key: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .map(|l| l[key.len()..].trim().to_string())
        .unwrap_or_default()
}

fn ids(v: &Value, list: &str) -> Vec<String> {
    let mut out: Vec<String> = v[list]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn devices(port: u16) -> Vec<String> {
    let (code, v) = curl(port, "/api/v1/devices", "GET");
    assert_eq!(code, 200);
    let v = if v.is_array() {
        serde_json::json!({"devices": v})
    } else {
        v
    };
    ids(&v, "devices")
}

fn all_alerts(port: u16) -> Vec<Value> {
    let (code, v) = curl(port, "/api/v1/alerts?limit=500", "GET");
    assert_eq!(code, 200, "{v}");
    v["alerts"].as_array().cloned().unwrap_or_default()
}

#[test]
fn appliance_end_to_end_on_real_interfaces() {
    require_root();
    let ipcmd = require_cmd("ip", "install iproute2");
    let mosq = require_cmd("mosquitto", "install mosquitto");
    require_cmd("setpriv", "install util-linux");
    require_cmd("curl", "install curl");
    let edgetap = cargo_bin("edgetap", "edgetap");
    let peer = cargo_bin("modbus-peer", "modbus-peer");
    let n = std::process::id() % 10_000;
    let names = ["b", "s", "p", "h"];
    let mut net = Net {
        ip: ipcmd.clone(),
        links: Vec::new(),
        netns: Vec::new(),
    };
    let mut ifaces = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let ns = format!("e2e-{name}-{n}");
        let host = format!("e2{name}{n}");
        let peer_if = format!("e2{name}{n}p");
        net.netns.push(ns.clone());
        run(Command::new(&ipcmd).args(["netns", "add", &ns]));
        net.links.push(host.clone());
        run(Command::new(&ipcmd).args([
            "link", "add", &host, "type", "veth", "peer", "name", &peer_if,
        ]));
        run(Command::new(&ipcmd).args(["link", "set", &peer_if, "netns", &ns]));
        let net_no = k + 1;
        run(Command::new(&ipcmd).args([
            "addr",
            "add",
            &format!("10.232.{net_no}.1/24"),
            "dev",
            &host,
        ]));
        run(Command::new(&ipcmd).args(["link", "set", &host, "up"]));
        run(&mut in_ns(
            &ipcmd,
            &ns,
            &[
                "ip",
                "addr",
                "add",
                &format!("10.232.{net_no}.2/24"),
                "dev",
                &peer_if,
            ],
        ));
        run(&mut in_ns(
            &ipcmd,
            &ns,
            &["ip", "link", "set", &peer_if, "up"],
        ));
        run(&mut in_ns(&ipcmd, &ns, &["ip", "link", "set", "lo", "up"]));
        run(&mut in_ns(
            &ipcmd,
            &ns,
            &[
                "ip",
                "route",
                "add",
                "default",
                "via",
                &format!("10.232.{net_no}.1"),
            ],
        ));
        ifaces.push(host);
    }
    let fwd = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default();
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap_or_else(|e| panic!("{e}"));
    struct Restore(String);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", self.0.trim());
        }
    }
    let _restore = Restore(fwd);
    let ns = |name: &str| format!("e2e-{name}-{n}");

    // The peers: mosquitto in the broker namespace, the Modbus server in the PLC's.
    let tmp = live::temp_dir("appliance");
    let conf = tmp.join("mosquitto.conf");
    std::fs::write(
        &conf,
        "listener 1883 0.0.0.0\nallow_anonymous true\npersistence false\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut broker = Guard::new(
        in_ns(
            &ipcmd,
            &ns("b"),
            &[mosq.to_str().unwrap_or("mosquitto"), "-c"],
        )
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("mosquitto: {e}")),
    );
    let mut plc = Guard::new(
        in_ns(
            &ipcmd,
            &ns("p"),
            &[
                peer.to_str().unwrap_or(""),
                "server",
                "--listen",
                "10.232.3.2:502",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("modbus-peer: {e}")),
    );
    // AMQP 1.0 (qpid-proton's example broker) beside mosquitto; an OPC UA server (asyncua) and a
    // BACnet device (bacpypes3) beside the Modbus server.
    let deb_py = "/usr/bin/python3";
    let proton_broker = "/usr/share/proton/examples/python/broker.py";
    assert!(
        Path::new(proton_broker).is_file(),
        "install libqpid-proton11-dev-examples"
    );
    let peers = live::repo().join("tests/peers");
    let peer_py = |f: &str| peers.join(f).to_string_lossy().into_owned();
    let mut amqp_broker = Guard::new(
        in_ns(
            &ipcmd,
            &ns("b"),
            &[deb_py, proton_broker, "-a", "10.232.1.2:5672"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("proton broker: {e}")),
    );
    let mut opcua = Guard::new(
        in_ns(
            &ipcmd,
            &ns("p"),
            &["python3", &peer_py("opcua_server.py"), "4840", "10.232.3.2"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("opcua server: {e}")),
    );
    let mut bacnet = Guard::new(
        in_ns(
            &ipcmd,
            &ns("p"),
            &[
                "python3",
                &peer_py("bacnet_pair.py"),
                "device",
                "10.232.3.2",
                "24",
                "47808",
                "599",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("bacnet device: {e}")),
    );
    let listening = |ns_name: &str, port: u16| {
        let out = in_ns(
            &ipcmd,
            ns_name,
            &["ss", "-Hltn", &format!("sport = :{port}")],
        )
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
        !out.is_empty()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(listening(&ns("b"), 1883)
        && listening(&ns("b"), 5672)
        && listening(&ns("p"), 502)
        && listening(&ns("p"), 4840))
    {
        assert!(Instant::now() < deadline, "peers not listening after 30 s");
        thread::sleep(Duration::from_millis(200));
    }
    thread::sleep(Duration::from_millis(500));

    // edgetap as nobody with CAP_NET_RAW + CAP_NET_ADMIN only.
    let state = tmp.join("state");
    std::fs::create_dir_all(&state).unwrap_or_else(|e| panic!("{e}"));
    let eve = tmp.join("eve.json");
    for p in [&tmp, &state] {
        run(Command::new("chmod").arg("777").arg(p));
    }
    // A record of what crossed the gateway, for looking into a failure.
    let mut dumps: Vec<Guard> = ifaces
        .iter()
        .map(|i| {
            Guard::new(
                Command::new("tcpdump")
                    .args(["-i", i, "-Q", "in", "-U", "-w"])
                    .arg(tmp.join(format!("{i}.pcap")))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| panic!("tcpdump: {e}")),
            )
        })
        .collect();
    let port = live::free_tcp_port();
    let mut app = start_edgetap(&edgetap, &ifaces, &state, port, &eve);
    assert_eq!(
        status_field(app.pid, "Uid:").split_whitespace().next(),
        Some("65534")
    );
    // Capabilities: dropped once the interfaces were open.
    thread::sleep(Duration::from_millis(500));
    assert_eq!(status_field(app.pid, "CapEff:"), "0000000000000000");
    assert_eq!(status_field(app.pid, "CapPrm:"), "0000000000000000");

    // Learning: the sensor publishes, the HMI polls the PLC (twice), for ~12 s.
    let publish = |count: usize, size: usize| {
        let py = format!(
            "import socket,time\n\
             def enc(n):\n  out=b''\n  while True:\n    d=n%128; n//=128\n    out+=bytes([d|(128 if n else 0)])\n    if not n: return out\n\
             s=socket.create_connection(('10.232.1.2',1883))\n\
             cid=b'sensor-1'; v=b'\\x00\\x04MQTT\\x04\\x02\\x00\\x3c'+len(cid).to_bytes(2,'big')+cid\n\
             s.sendall(b'\\x10'+enc(len(v))+v); s.recv(4)\n\
             for i in range({count}):\n  t=b'site/temp'; p=b'x'*{size}\n  v=len(t).to_bytes(2,'big')+t+p\n  s.sendall(b'\\x30'+enc(len(v))+v); time.sleep(0.25)\n\
             s.sendall(b'\\xe0\\x00'); s.close()\n"
        );
        run(&mut in_ns(&ipcmd, &ns("s"), &["python3", "-c", &py]));
    };
    let learn_start = Instant::now();
    let hmi = thread::spawn({
        let ipcmd = ipcmd.clone();
        let peer = peer.clone();
        let hmi_ns = ns("h");
        move || {
            for _ in 0..3 {
                let _ = in_ns(
                    &ipcmd,
                    &hmi_ns,
                    &[
                        peer.to_str().unwrap_or(""),
                        "client",
                        "--connect",
                        "10.232.3.2:502",
                    ],
                )
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
                thread::sleep(Duration::from_secs(3));
            }
        }
    });
    // The other protocols, learned too: an AMQP 1.0 session from the sensor, an OPC UA client
    // and a BACnet client on the HMI.
    let others = thread::spawn({
        let ipcmd = ipcmd.clone();
        let (s_ns, h_ns) = (ns("s"), ns("h"));
        let (amqp_py, ua_py, bac_py) = (
            peer_py("amqp_proton_session.py"),
            peer_py("opcua_client.py"),
            peer_py("bacnet_pair.py"),
        );
        move || {
            let run_quiet = |mut c: Command, what: &str| {
                let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
                assert!(
                    out.status.success(),
                    "{what} failed: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            run_quiet(
                in_ns(
                    &ipcmd,
                    &s_ns,
                    &[deb_py, &amqp_py, "amqp://10.232.1.2:5672", "examples"],
                ),
                "AMQP 1.0 client",
            );
            run_quiet(
                in_ns(&ipcmd, &h_ns, &["python3", &ua_py, "4840", "10.232.3.2"]),
                "OPC UA client",
            );
            run_quiet(
                in_ns(
                    &ipcmd,
                    &h_ns,
                    &[
                        "python3",
                        &bac_py,
                        "client",
                        "10.232.4.2",
                        "24",
                        "47808",
                        "10.232.3.2",
                        "47808",
                        "599",
                        "3",
                    ],
                ),
                "BACnet client",
            );
        }
    });
    publish(36, 20);
    let _ = hmi.join();
    others
        .join()
        .unwrap_or_else(|_| panic!("a learning-phase client failed"));
    assert!(
        learn_start.elapsed() < Duration::from_secs(19),
        "the learning-phase traffic took {:?}, past the learning period",
        learn_start.elapsed()
    );
    while learn_start.elapsed() < Duration::from_secs(22) {
        thread::sleep(Duration::from_millis(200));
    }
    let (_, st) = curl(port, "/api/v1/stats", "GET");
    thread::sleep(Duration::from_millis(1500));
    let (_, mode) = curl(port, "/healthz", "GET");
    assert_eq!(
        mode["mode"], "protecting",
        "learning should be over: {mode} {st}"
    );

    // Attacks. 1: the sensor probes the PLC's Modbus port (never learned for it).
    run(&mut in_ns(&ipcmd, &ns("s"), &[
        "python3", "-c",
        "import socket\ns=socket.create_connection(('10.232.3.2',502))\ns.sendall(bytes.fromhex('000100000006010300000001'))\ns.recv(64)\ns.close()",
    ]));
    // 2: a burst of MQTT CONNECTs from the HMI's namespace.
    run(&mut in_ns(&ipcmd, &ns("h"), &[
        "python3", "-c",
        "import socket\nfor i in range(120):\n  s=socket.create_connection(('10.232.1.2',1883))\n  c=('x%d'%i).encode(); v=b'\\x00\\x04MQTT\\x04\\x02\\x00\\x3c'+len(c).to_bytes(2,'big')+c\n  s.sendall(bytes([0x10,len(v)])+v); s.recv(4); s.close()",
    ]));
    // 3: a large upload from the sensor (5 MB in one PUBLISH).
    publish(1, 5_000_000);
    // The alerts reach the API.
    let deadline = Instant::now() + Duration::from_secs(20);
    let want = ["lateral_movement", "denial_of_service", "data_exfiltration"];
    let alerts = loop {
        let a = all_alerts(port);
        let cats: Vec<&str> = a.iter().filter_map(|x| x["category"].as_str()).collect();
        if want.iter().all(|w| cats.contains(w)) || Instant::now() > deadline {
            break a;
        }
        thread::sleep(Duration::from_millis(500));
    };
    let cats: Vec<&str> = alerts
        .iter()
        .filter_map(|x| x["category"].as_str())
        .collect();
    for w in want {
        assert!(cats.contains(&w), "no {w} alert; got {cats:?}: {alerts:#?}");
    }
    let probe = alerts
        .iter()
        .find(|a| a["category"] == "lateral_movement" && a["dest_ip"] == "10.232.3.2")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(probe["src_ip"], "10.232.2.2", "{probe}");
    assert_eq!(probe["dest_ip"], "10.232.3.2", "{probe}");
    // Devices and edges.
    let (_, devs) = curl(port, "/api/v1/devices", "GET");
    let text = devs.to_string();
    for ip in ["10.232.1.2", "10.232.2.2", "10.232.3.2", "10.232.4.2"] {
        assert!(text.contains(ip), "device {ip} missing: {text}");
    }
    assert!(
        text.contains("mqtt_broker") && text.contains("modbus_server"),
        "{text}"
    );
    // The snapshot the API reads is published once a second: wait for it to show the probe.
    let deadline = Instant::now() + Duration::from_secs(10);
    let g = loop {
        let (_, g) = curl(port, "/api/v1/graph", "GET");
        let edges = g["edges"].as_array().cloned().unwrap_or_default();
        let learned_mqtt = edges
            .iter()
            .any(|e| e["port"] == 1883 && e["learned"] == true);
        let alerted_modbus = edges
            .iter()
            .any(|e| e["port"] == 502 && e["alerted"] == true);
        if (learned_mqtt && alerted_modbus) || Instant::now() > deadline {
            break g;
        }
        thread::sleep(Duration::from_millis(300));
    };
    let edges = g["edges"].as_array().cloned().unwrap_or_default();
    assert!(
        edges
            .iter()
            .any(|e| e["port"] == 1883 && e["learned"] == true),
        "no learned MQTT edge: {g}"
    );
    assert!(
        edges
            .iter()
            .any(|e| e["port"] == 502 && e["alerted"] == true),
        "no alerted Modbus edge: {g}"
    );
    let (_, stats) = curl(port, "/api/v1/stats", "GET");
    assert!(stats["packets"].as_u64().unwrap_or(0) > 100, "{stats}");
    // The EVE file has what the API has.
    let eve_lines = std::fs::read_to_string(&eve)
        .unwrap_or_default()
        .lines()
        .count();
    assert_eq!(eve_lines, alerts.len(), "EVE file and API disagree");

    // Restart: SIGTERM + start, then kill -9 + start: same alerts, same inventory.
    let before_alerts = {
        let mut v: Vec<String> = alerts
            .iter()
            .filter_map(|a| a["id"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    let before_devices = devices(port);
    let (_, metrics) = curl_text(port, "/metrics");
    assert!(
        metrics.contains("edgetap_eve_records_total{type=\"modbus\"}"),
        "no EVE record counters in /metrics"
    );
    let st = app.guard.terminate("edgetap run (SIGTERM)");
    assert!(st.success(), "edgetap exited with {st}");
    check_records(&eve.with_file_name("records"), &ifaces);
    let mut app = start_edgetap(&edgetap, &ifaces, &state, port, &eve);
    let ids_now = |port| {
        let mut v: Vec<String> = all_alerts(port)
            .iter()
            .filter_map(|a| a["id"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids_now(port), before_alerts, "alerts after SIGTERM + start");
    assert_eq!(
        devices(port),
        before_devices,
        "inventory after SIGTERM + start"
    );
    let mut child = app.guard.0.take().unwrap_or_else(|| panic!("no child"));
    let _ = child.kill();
    let _ = wait_timeout(&mut child, Duration::from_secs(10), "edgetap after kill -9");
    let _app = start_edgetap(&edgetap, &ifaces, &state, port, &eve);
    assert_eq!(ids_now(port), before_alerts, "alerts after kill -9 + start");
    assert_eq!(
        devices(port),
        before_devices,
        "inventory after kill -9 + start"
    );
    for d in &mut dumps {
        if let Some(c) = d.0.as_mut() {
            live::signal(c.id(), "INT");
        }
    }
    broker.terminate("mosquitto");
    amqp_broker.terminate("proton broker");
    opcua.terminate("opcua server");
    bacnet.terminate("bacnet device");
    plc.terminate("modbus-peer");
    drop(net);
}

fn curl_text(port: u16, path: &str) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .unwrap_or_else(|e| panic!("curl: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or((&text, "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// The live run's EVE records: valid against Suricata's schema, each TCP/UDP record from one
/// of the capture's interfaces, and flows, Modbus, MQTT and counters among them.
fn check_records(dir: &Path, ifaces: &[String]) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.metadata().map(|m| m.len() > 0).unwrap_or(false))
        .collect();
    files.sort();
    let repo = live::repo();
    let out = Command::new("python3")
        .arg(repo.join("tests/eve/validate.py"))
        .arg(repo.join("../shared/eve-schema.json"))
        .arg(repo.join("docs/eve/edgetap-eve.schema.json"))
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "EVE records invalid: {text}");
    let mut by_type = std::collections::BTreeMap::<String, usize>::new();
    for f in &files {
        for line in std::fs::read_to_string(f).unwrap_or_default().lines() {
            let r: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let t = r["event_type"].as_str().unwrap_or_default().to_string();
            if r.get("flow_id").is_some() {
                let i = r["in_iface"].as_str().unwrap_or_default();
                assert!(ifaces.iter().any(|x| x == i), "in_iface {i:?}: {line}");
            }
            *by_type.entry(t).or_default() += 1;
        }
    }
    for t in ["flow", "modbus", "mqtt", "stats"] {
        assert!(
            by_type.get(t).copied().unwrap_or(0) > 0,
            "no {t} records: {by_type:?}"
        );
    }
}

/// SIGHUP reloads the config: known devices appear in the inventory, and a config naming a bad
/// rules folder leaves the running rules in place (the process keeps serving).
#[test]
fn sighup_reloads_config_and_keeps_running_on_bad_rules() {
    require_root();
    let edgetap = cargo_bin("edgetap", "edgetap");
    let tmp = live::temp_dir("sighup");
    let cfg = tmp.join("edgetap.toml");
    let state = tmp.join("state");
    let port = live::free_tcp_port();
    let base = format!(
        "interfaces = [\"lo\"]\nfilter = \"tcp port 1\"\nlisten = \"127.0.0.1:{port}\"\nstate = \"{}\"\nlearn_for = \"1s\"\n",
        state.display()
    );
    std::fs::write(&cfg, &base).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new(&edgetap)
        .arg("run")
        .arg("--config")
        .arg(&cfg)
        .args(["--duration", "60s"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = child.id();
    let mut guard = Guard::new(child);
    wait_api(port, Duration::from_secs(20));
    let known = tmp.join("known.toml");
    std::fs::write(
        &known,
        "[[device]]\nname = \"lab-plc\"\nip = \"10.99.0.5\"\nlabels = [\"lab\"]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&cfg, format!("{base}known = [\"{}\"]\n", known.display()))
        .unwrap_or_else(|e| panic!("{e}"));
    live::signal(pid, "HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, v) = curl(port, "/api/v1/devices", "GET");
        if v.to_string().contains("lab-plc") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "known device not in the inventory after SIGHUP: {v}"
        );
        thread::sleep(Duration::from_millis(300));
    }
    // A bad rules folder: the old rules stay, the process keeps serving.
    let rules = tmp.join("rules");
    std::fs::create_dir_all(&rules).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(rules.join("bad.toml"), "[[rule]]\nsid = \"x\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&cfg, format!("{base}rules = \"{}\"\n", rules.display()))
        .unwrap_or_else(|e| panic!("{e}"));
    live::signal(pid, "HUP");
    thread::sleep(Duration::from_secs(2));
    assert_eq!(curl(port, "/healthz", "GET").0, 200);
    let st = guard.terminate("edgetap run after SIGHUPs");
    assert!(st.success(), "{st}");
}
