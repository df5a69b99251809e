//! Posture findings on real bytes: shared captures and captures of real stacks where MQTT
//! passwords, AMQP PLAIN and ANONYMOUS logins and OPC-UA's SecurityPolicy None appear must
//! raise their findings on the right device, with evidence; captures without them raise
//! none; no password ever reaches an output. And live: the same MQTT login with a password
//! to a real mosquitto, in clear and over TLS (a CA and server certificate made by the test),
//! raises the finding only in clear. Once learning is over, a TCP service that answers
//! although no client used it while learning is an `unused_service` finding; findings are kept
//! in the state directory and `serve` shows them.

#[path = "common/live.rs"]
mod live;

#[path = "common/api.rs"]
mod apihelp;

use live::cargo_bin;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn shared(rel: &str) -> PathBuf {
    live::repo().join("../shared/pcaps").join(rel)
}

/// `replay --inventory` of `pcaps`: the devices' records; also returns every output's text.
fn replay(bin: &Path, dir: &Path, pcaps: &[&Path]) -> (Vec<Value>, String) {
    let inv = dir.join("inventory.json");
    let eve = dir.join("records.json");
    let alerts = dir.join("alerts.json");
    let _ = std::fs::remove_file(&eve);
    let out = Command::new(bin)
        .arg("replay")
        .arg("--alerts")
        .arg(&alerts)
        .arg("--inventory")
        .arg(&inv)
        .arg("--eve-log")
        .arg(&eve)
        .args(pcaps)
        .output()
        .unwrap_or_else(|e| panic!("edgetap: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&inv).unwrap_or_default();
    let all = format!(
        "{text}{}{}",
        std::fs::read_to_string(&eve).unwrap_or_default(),
        std::fs::read_to_string(&alerts).unwrap_or_default()
    );
    (
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}")),
        all,
    )
}

/// (device id, kind, detail) of every finding.
fn findings(devs: &[Value]) -> Vec<(String, String, String)> {
    let mut v = Vec::new();
    for d in devs {
        for f in d["findings"].as_array().into_iter().flatten() {
            assert!(f["flow_id"].as_u64().unwrap_or(0) > 0, "no flow: {f}");
            assert!(f["frame"].as_u64().unwrap_or(0) > 0, "no frame: {f}");
            assert!(f["first_ns"].as_u64().unwrap_or(0) > 0, "no time: {f}");
            v.push((
                d["id"].as_str().unwrap_or("").to_string(),
                f["kind"].as_str().unwrap_or("").to_string(),
                f["detail"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    v
}

/// The server port a finding of `kind` names (`... (port N)`).
fn detail_port(got: &[(String, String, String)], kind: &str) -> u16 {
    got.iter()
        .filter(|(_, k, _)| k == kind)
        .find_map(|(_, _, d)| {
            d.rsplit_once("(port ")
                .and_then(|(_, p)| p.trim_end_matches(')').parse().ok())
        })
        .unwrap_or_else(|| panic!("no {kind} finding naming a port: {got:?}"))
}

/// The device holding `ip`.
fn dev_at(devs: &[Value], ip: &str) -> String {
    devs.iter()
        .find(|d| {
            d["ips"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["addr"] == ip))
        })
        .and_then(|d| d["id"].as_str())
        .unwrap_or_else(|| panic!("no device at {ip}"))
        .to_string()
}

#[test]
fn weak_spots_in_real_captures_raise_their_findings() {
    let bin = cargo_bin("edgetap", "edgetap");
    let dir = live::temp_dir("posture");
    // (capture, kind, detail contains, on the client's or the server's device)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "public/mqtt/sv_mqtt311-sub-userpass.pcap",
            "cleartext_credentials",
            "MQTT CONNECT with a password",
            "client",
        ),
        (
            "peers/amqp/amqp091-rabbitmq-pika.pcap",
            "cleartext_credentials",
            "AMQP PLAIN login",
            "client",
        ),
        (
            "peers/amqp/amqp10-proton-broker.pcap",
            "anonymous_login",
            "ANONYMOUS",
            "server",
        ),
        (
            "peers/opcua/opcua-asyncua.pcap",
            "insecure_policy",
            "without security",
            "server",
        ),
        (
            "peers/opcua/opcua-asyncua.pcap",
            "anonymous_login",
            "anonymous session",
            "server",
        ),
        (
            "public/opcua/icsnpp_open62541_client-server_minimal.pcap",
            "insecure_policy",
            "without security",
            "server",
        ),
    ];
    for (rel, kind, detail, side) in cases {
        let pcap = shared(rel);
        let (devs, _) = replay(&bin, &dir, &[&pcap]);
        // The ends as tshark sees them: the client sends the first data to the server's port
        // (the protocol's registered one in these captures).
        let port = detail_port(&findings(&devs), kind);
        let ends = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&pcap)
            .args(["-Y", &format!("tcp.len>0 && tcp.dstport=={port}")])
            .args(["-T", "fields", "-E", "separator=,"])
            .args([
                "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst",
            ])
            .output()
            .unwrap_or_else(|e| panic!("tshark: {e}"));
        let ends = String::from_utf8_lossy(&ends.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let v: Vec<&str> = ends.split(',').collect();
        let pick = |i: usize| -> String {
            let a = v.get(i).copied().unwrap_or("");
            let b = v.get(i + 1).copied().unwrap_or("");
            if a.is_empty() { b } else { a }.to_string()
        };
        let (c, s) = (pick(0), pick(2));
        let (c, s) = (c.as_str(), s.as_str());
        assert!(
            !c.is_empty() && !s.is_empty(),
            "{rel}: no data to port {port} ({ends:?})"
        );
        let want = dev_at(&devs, if *side == "client" { c } else { s });
        let got = findings(&devs);
        assert!(
            got.iter()
                .any(|(d, k, t)| d == &want && k == kind && t.contains(detail)),
            "{rel}: no {kind} ({detail}) on {want}: {got:?}"
        );
    }
}

#[test]
fn no_password_reaches_any_output() {
    let bin = cargo_bin("edgetap", "edgetap");
    let dir = live::temp_dir("posture-secret");
    for rel in [
        "public/mqtt/sv_mqtt311-sub-userpass.pcap",
        "public/mqtt/sv_mqtt5-pub-userpass.pcap",
    ] {
        let pcap = shared(rel);
        let pw = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&pcap)
            .args(["-Y", "mqtt.passwd", "-T", "fields", "-e", "mqtt.passwd"])
            .output()
            .unwrap_or_else(|e| panic!("tshark: {e}"));
        let pw = String::from_utf8_lossy(&pw.stdout).trim().to_string();
        assert!(pw.len() >= 3, "{rel}: tshark shows no password");
        let (devs, all) = replay(&bin, &dir, &[&pcap]);
        assert!(!findings(&devs).is_empty(), "{rel}: no finding");
        // As a value anywhere (`"pass"`), or inside one when it is long enough to be unique.
        assert!(
            !all.contains(&format!("\"{pw}\"")) && (pw.len() < 8 || !all.contains(&pw)),
            "{rel}: the password {pw:?} is in an output"
        );
    }
}

#[test]
fn captures_without_weak_spots_raise_none() {
    let bin = cargo_bin("edgetap", "edgetap");
    let dir = live::temp_dir("posture-none");
    for rel in [
        "peers/modbus/modbus-tokio-modbus.pcap",
        "peers/bacnet/bacnet-bacpypes3.pcap",
        "public/modbus/iti_modbus_test.pcap",
    ] {
        let (devs, _) = replay(&bin, &dir, &[&shared(rel)]);
        assert_eq!(findings(&devs), Vec::new(), "{rel}");
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mqtt_password_in_clear_is_a_finding_and_over_tls_is_not() {
    live::require_root();
    let mosquitto = live::require_cmd("mosquitto", "apt-get install mosquitto");
    let publ = live::require_cmd("mosquitto_pub", "apt-get install mosquitto-clients");
    let openssl = live::require_cmd("openssl", "apt-get install openssl");
    let tcpdump = live::require_cmd("tcpdump", "apt-get install tcpdump");
    let bin = cargo_bin("edgetap", "edgetap");
    let dir = live::temp_dir("posture-tls");
    // A test CA and a server certificate for 127.0.0.1.
    let f = |n: &str| dir.join(n);
    run(Command::new(&openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=edgetap-test-ca", "-keyout"])
        .arg(f("ca.key"))
        .arg("-out")
        .arg(f("ca.crt")));
    run(Command::new(&openssl)
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
        ])
        .arg(f("server.key"))
        .arg("-out")
        .arg(f("server.csr")));
    std::fs::write(f("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap_or_default();
    run(Command::new(&openssl)
        .args(["x509", "-req", "-days", "1", "-in"])
        .arg(f("server.csr"))
        .arg("-CA")
        .arg(f("ca.crt"))
        .arg("-CAkey")
        .arg(f("ca.key"))
        .args(["-CAcreateserial", "-extfile"])
        .arg(f("san.ext"))
        .arg("-out")
        .arg(f("server.crt")));
    for n in ["ca.crt", "server.crt", "server.key"] {
        run(Command::new("chmod").arg("644").arg(f(n)));
    }
    let plain = live::free_tcp_port();
    let tls = live::free_tcp_port();
    let conf = f("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "allow_anonymous true\nlistener {plain} 127.0.0.1\nlistener {tls} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n",
            f("ca.crt").display(),
            f("server.crt").display(),
            f("server.key").display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let _broker = live::Guard::new(
        Command::new(&mosquitto)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("mosquitto: {e}")),
    );
    for p in [plain, tls] {
        live::wait_listen(p, live::Transport::Tcp, Duration::from_secs(10));
    }
    let pcap = f("mqtt.pcap");
    let mut dump = live::Guard::new(
        Command::new(&tcpdump)
            .args(["-i", "lo", "-U", "-w"])
            .arg(&pcap)
            .arg(format!("tcp port {plain} or tcp port {tls}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("tcpdump: {e}")),
    );
    std::thread::sleep(Duration::from_secs(1));
    let publish = |port: u16, tls_args: &[&str]| {
        run(Command::new(&publ)
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args([
                "-u",
                "plc-writer",
                "-P",
                "s3cret-pw",
                "-t",
                "t/x",
                "-m",
                "1",
            ])
            .args(tls_args));
    };
    publish(plain, &[]);
    let ca = f("ca.crt").display().to_string();
    publish(tls, &["--cafile", &ca]);
    std::thread::sleep(Duration::from_secs(1));
    live::signal(dump.child().id(), "INT");
    let deadline = Instant::now() + Duration::from_secs(10);
    while dump.child().try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (devs, all) = replay(&bin, &dir, &[&pcap]);
    assert!(!all.contains("s3cret-pw"), "the password is in an output");
    let got = findings(&devs);
    let in_clear = format!("(port {plain})");
    let over_tls = format!("(port {tls})");
    assert!(
        got.iter()
            .any(|(_, k, d)| k == "cleartext_credentials" && d.contains(&in_clear)),
        "no finding for the login in clear: {got:?}"
    );
    assert!(
        !got.iter().any(|(_, _, d)| d.contains(&over_tls)),
        "a finding for the login over TLS: {got:?}"
    );
}

/// TLS on the wire (the project's recorded hellos, `pcaps/fingerprint/tls-hellos.pcap`): a
/// server that negotiated TLS 1.0 or 1.1 gets a `weak_tls` finding for each, as many as
/// tshark shows such ServerHellos; clients' JA4 and SNI become facts of their devices.
#[test]
fn old_tls_negotiated_is_a_finding_and_hellos_become_facts() {
    let bin = cargo_bin("edgetap", "edgetap");
    let dir = live::temp_dir("posture-tlsv");
    let pcap = live::repo().join("pcaps/fingerprint/tls-hellos.pcap");
    let (devs, _) = replay(&bin, &dir, &[&pcap]);
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&pcap)
        .args([
            "-Y",
            "tls.handshake.type==2 && !tls.handshake.extensions.supported_version",
        ])
        .args(["-T", "fields", "-e", "tls.handshake.version"])
        .output()
        .unwrap_or_else(|e| panic!("tshark: {e}"));
    let old: std::collections::BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|v| matches!(v.trim(), "0x0301" | "0x0302" | "0x0300"))
        .map(|v| match v.trim() {
            "0x0301" => "TLS 1.0".to_string(),
            "0x0302" => "TLS 1.1".to_string(),
            _ => "SSL 3.0".to_string(),
        })
        .collect();
    assert!(!old.is_empty(), "tshark shows no old TLS negotiated");
    let got: std::collections::BTreeSet<String> = findings(&devs)
        .into_iter()
        .filter(|(_, k, _)| k == "weak_tls")
        .map(|(_, _, d)| d.split(" negotiated").next().unwrap_or("").to_string())
        .collect();
    assert_eq!(got, old);
    let facts: Vec<(String, String)> = devs
        .iter()
        .flat_map(|d| d["facts"].as_array().cloned().unwrap_or_default())
        .map(|f| {
            (
                f["key"].as_str().unwrap_or("").to_string(),
                f["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        facts
            .iter()
            .any(|(k, v)| k == "tls_ja4" && v.starts_with("t13d")),
        "{facts:?}"
    );
    assert!(
        facts
            .iter()
            .any(|(k, v)| k == "tls_sni" && v.ends_with(".example.test")),
        "{facts:?}"
    );
}

/// The site scenario: learned from base.pcap, then attacks.pcap, whose scans find plc-1's web
/// server (80) and SSH on the router, broker, gateway and RabbitMQ host (truth.json:
/// lm-fin-scan, lm-port-scan). Those are `unused_service` findings; the services clients used
/// while learning (Modbus 502, MQTT 1883, ...) and servers outside the site are not. The
/// findings are saved with the state and `serve` shows them, and counts them in /metrics.
#[test]
fn unused_services_are_findings_kept_in_the_state() {
    let bin = cargo_bin("edgetap", "edgetap");
    let dir = live::temp_dir("posture-unused");
    // The scenario as `pcapgen scenario` makes it (not committed: generated, deterministic).
    let scen = dir.join("scenario");
    let st = Command::new(cargo_bin("pcapgen", "pcapgen"))
        .args(["scenario", "--out-dir"])
        .arg(&scen)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("pcapgen: {e}"));
    assert!(st.success());
    let state = dir.join("state");
    let inv = dir.join("inventory.json");
    let out = Command::new(&bin)
        .arg("replay")
        .arg("--learn")
        .arg(scen.join("base.pcap"))
        .arg("--known")
        .arg(scen.join("edgex-devices.json"))
        .arg("--alerts")
        .arg(dir.join("alerts.json"))
        .arg("--inventory")
        .arg(&inv)
        .arg("--state")
        .arg(&state)
        .arg(scen.join("attacks.pcap"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let devs: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&inv).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let got = findings(&devs);
    let unused: Vec<(String, u16)> = got
        .iter()
        .filter(|(_, k, _)| k == "unused_service")
        .map(|(d, _, detail)| {
            let port = detail
                .rsplit_once("(port ")
                .and_then(|(_, p)| p.trim_end_matches(')').parse().ok())
                .unwrap_or_else(|| panic!("no port in {detail}"));
            (d.clone(), port)
        })
        .collect();
    let plc1 = dev_at(&devs, "10.20.0.12");
    let broker = dev_at(&devs, "10.20.0.2");
    assert!(unused.contains(&(plc1.clone(), 80)), "{unused:?}");
    assert!(unused.contains(&(broker.clone(), 22)), "{unused:?}");
    for (d, port) in [(&plc1, 502), (&broker, 1883)] {
        assert!(
            !unused.contains(&(d.clone(), port)),
            "{port} was used while learning: {unused:?}"
        );
    }
    let external: Vec<&str> = devs
        .iter()
        .filter(|d| d["external"] == true)
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert!(
        unused.iter().all(|(d, _)| !external.contains(&d.as_str())),
        "{unused:?} {external:?}"
    );
    for d in &devs {
        for f in d["findings"].as_array().into_iter().flatten() {
            if f["kind"] == "unused_service" {
                assert_eq!(f["severity"], "low");
            }
        }
    }

    // Kept in the state: serve shows the same findings and counts them.
    let s = apihelp::Serve::start(&state, "127.0.0.1", None);
    let r = s.get("/api/v1/devices?limit=500");
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let served = body["devices"].as_array().cloned().unwrap_or_default();
    let mut a = findings(&served);
    let mut b = got.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b, "serve shows the findings the replay saved");
    let metrics = s.get("/metrics").text();
    let line = format!(
        "edgetap_posture_findings{{kind=\"unused_service\"}} {}",
        unused.len()
    );
    assert!(metrics.contains(&line), "{line} not in /metrics");
    assert!(s.stop().success());
}
