//! Live capture of a real MQTT exchange: a mosquitto broker with a password file on
//! 127.0.0.1:<free port>, real mosquitto_pub/mosquitto_sub clients (MQTT 3.1.1 and 5.0), and
//! `edgetap run -i lo` watching. Needs root, mosquitto and mosquitto-clients: without them the
//! test fails (CI installs them).

#[path = "common/live.rs"]
mod live;

use live::{field_str, field_u64, ports, Guard, Tap, Transport};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const HINT: &str =
    "install mosquitto and mosquitto-clients (apt-get install mosquitto mosquitto-clients)";
const CONNECT: u64 = 1;
const CONNACK: u64 = 2;
const PUBLISH: u64 = 3;
const PUBACK: u64 = 4;
const PUBREC: u64 = 5;
const PUBREL: u64 = 6;
const PUBCOMP: u64 = 7;
const SUBSCRIBE: u64 = 8;
const SUBACK: u64 = 9;
const DISCONNECT: u64 = 14;

/// Runs a client to completion (20 s at most) and returns its output.
fn client(bin: &Path, args: &[&str]) -> Output {
    let mut c = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    live::wait_timeout(
        &mut c,
        Duration::from_secs(20),
        &format!("{} {args:?}", bin.display()),
    );
    c.wait_with_output().unwrap()
}

fn ok(bin: &Path, args: &[&str]) {
    let o = client(bin, args);
    assert!(
        o.status.success(),
        "{} {args:?} failed ({}): {}{}",
        bin.display(),
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A mosquitto_sub whose SUBACK the broker has sent (seen in the broker's debug log, so no
/// probe and no reliance on the client's stdout buffering).
struct Sub {
    guard: Guard,
}

impl Sub {
    fn start(bin: &Path, args: &[&str], id: &str, broker_log: &Path) -> Sub {
        let c = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting mosquitto_sub");
        let needle = format!("Sending SUBACK to {id}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !std::fs::read_to_string(broker_log)
            .unwrap_or_default()
            .contains(&needle)
        {
            assert!(
                Instant::now() < deadline,
                "mosquitto_sub {id}: no SUBACK within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Sub {
            guard: Guard::new(c),
        }
    }

    /// Waits for the subscriber (-C 1) to exit on its own; returns its stdout.
    fn finish(mut self) -> String {
        let mut c = self.guard.0.take().unwrap();
        live::wait_timeout(&mut c, Duration::from_secs(20), "mosquitto_sub -C 1");
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "mosquitto_sub exited with {}", o.status);
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

#[test]
fn live_mqtt_mosquitto_v311_v5() {
    let t0 = Instant::now();
    live::require_root();
    let mosquitto = live::require_cmd("mosquitto", HINT);
    let passwd = live::require_cmd("mosquitto_passwd", HINT);
    let pubb = live::require_cmd("mosquitto_pub", HINT);
    let subb = live::require_cmd("mosquitto_sub", HINT);

    // Broker: password file (alice/secret), no anonymous access, a free port on 127.0.0.1.
    let dir = live::temp_dir("live-mqtt");
    let pw = dir.join("passwd");
    ok(
        &passwd,
        &["-c", "-b", pw.to_str().unwrap(), "alice", "secret"],
    );
    let port = live::free_tcp_port();
    let conf = dir.join("mosquitto.conf");
    let template =
        std::fs::read_to_string(live::repo().join("tests/peers/mosquitto.conf")).unwrap();
    std::fs::write(
        &conf,
        template
            .replace("@PORT@", &port.to_string())
            .replace("@PASSWD@", pw.to_str().unwrap()),
    )
    .unwrap();
    let log_path = dir.join("mosquitto.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut broker = Guard::new(
        Command::new(&mosquitto)
            .args(["-c", conf.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting mosquitto"),
    );
    live::wait_listen(port, Transport::Tcp, Duration::from_secs(20));

    let tap = Tap::start("lo", &format!("tcp port {port}"));

    let p = port.to_string();
    let base = |v: &'static str, id: &'static str| -> Vec<String> {
        ["-h", "127.0.0.1", "-p", &p, "-V", v, "-i", id]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let run = |v: &'static str, id: &'static str, pw: &str, rest: &[&str]| -> Output {
        let mut a = base(v, id);
        a.extend(["-u", "alice", "-P", pw].iter().map(|s| s.to_string()));
        a.extend(rest.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        client(&pubb, &a)
    };
    let good = |v: &'static str, id: &'static str, rest: &[&str]| {
        let o = run(v, id, "secret", rest);
        assert!(
            o.status.success(),
            "mosquitto_pub {id} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let sub = |v: &'static str, id: &'static str, rest: &[&str]| -> Sub {
        let mut a = base(v, id);
        a.extend(
            ["-u", "alice", "-P", "secret", "-C", "1", "-W", "20"]
                .iter()
                .map(|s| s.to_string()),
        );
        a.extend(rest.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        Sub::start(&subb, &a, id, &log_path)
    };

    // Bad logins: the broker must refuse them.
    for (v, id) in [("mqttv311", "bad311"), ("mqttv5", "bad5")] {
        let o = run(v, id, "wrong", &["-t", "t/x", "-m", "x"]);
        assert!(
            !o.status.success(),
            "mosquitto_pub with a wrong password succeeded ({v})"
        );
    }

    // 3.1.1: subscriber on a wildcard (-C 1: gone once it has the QoS 0 message), then QoS 1
    // and 2 publishes (the QoS 2 one retained).
    let s311 = sub("mqttv311", "sub311", &["-t", "plant/+/temp", "-q", "2"]);
    good(
        "mqttv311",
        "pub311q0",
        &["-t", "plant/line1/temp", "-m", "21.5", "-q", "0"],
    );
    let got311 = s311.finish();
    assert!(
        got311.contains("21.5"),
        "sub311 did not get the QoS 0 message: {got311:?}"
    );
    good(
        "mqttv311",
        "pub311q1",
        &["-t", "plant/line1/temp", "-m", "21.6", "-q", "1"],
    );
    good(
        "mqttv311",
        "pub311q2",
        &["-t", "plant/line2/temp", "-m", "22.0", "-q", "2", "-r"],
    );

    // 5.0: subscriber, a QoS 1 publish with a user property that it gets, then a QoS 2 publish.
    let s5 = sub("mqttv5", "sub5", &["-t", "plant/line3/#", "-q", "1"]);
    good(
        "mqttv5",
        "pub5q1",
        &[
            "-t",
            "plant/line3/temp",
            "-m",
            "23.0",
            "-q",
            "1",
            "-D",
            "PUBLISH",
            "user-property",
            "site",
            "edge1",
        ],
    );
    let got5 = s5.finish();
    assert!(
        got5.contains("23.0"),
        "sub5 did not get the QoS 1 message: {got5:?}"
    );
    good(
        "mqttv5",
        "pub5q2",
        &["-t", "plant/line3/cmd", "-m", "{\"sp\":5}", "-q", "2"],
    );
    // The retained message, delivered at once to a new 5.0 subscriber.
    let sret = sub("mqttv5", "subret5", &["-t", "plant/line2/temp"]);
    let gotret = sret.finish();
    assert!(
        gotret.contains("22.0"),
        "subret5 did not get the retained message: {gotret:?}"
    );

    let cap = tap.stop();
    let st = broker.terminate("mosquitto after SIGTERM");
    assert!(
        st.success() || st.code().is_none(),
        "mosquitto exited with {st}"
    );
    let recs = &cap.records;
    let dump = || {
        recs.iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };

    // Every record is MQTT on the broker's port.
    assert!(
        recs.len() >= 40,
        "only {} records:\n{}\nstderr:\n{}",
        recs.len(),
        dump(),
        cap.stderr
    );
    for r in recs {
        assert_eq!(r["proto"], "mqtt", "{r}");
        let (s, d) = ports(r);
        assert!(
            s == u64::from(port) || d == u64::from(port),
            "record not on port {port}: {r}"
        );
    }
    // Credentials never leave the tap.
    assert!(
        !cap.raw.contains("secret"),
        "the password appears in edgetap's output"
    );
    assert!(
        !cap.raw.contains("wrong"),
        "the bad password appears in edgetap's output"
    );

    // CONNECTs, by client id; client port -> CONNECT record.
    let mut conn: HashMap<u64, &Value> = HashMap::new();
    let mut by_id: HashMap<&str, u64> = HashMap::new();
    for r in recs
        .iter()
        .filter(|r| field_u64(r, "packet_type") == Some(CONNECT))
    {
        assert_eq!(
            ports(r).1,
            u64::from(port),
            "CONNECT not towards the broker: {r}"
        );
        assert_eq!(field_str(r, "username"), Some("alice"), "{r}");
        let id =
            field_str(r, "client_id").unwrap_or_else(|| panic!("CONNECT without client_id: {r}"));
        let plen = field_u64(r, "password_len")
            .unwrap_or_else(|| panic!("CONNECT without password_len: {r}"));
        assert_eq!(plen, if id.starts_with("bad") { 5 } else { 6 }, "{r}");
        conn.insert(ports(r).0, r);
        by_id.insert(id, ports(r).0);
    }
    let levels = [
        ("bad311", 4),
        ("bad5", 5),
        ("sub311", 4),
        ("pub311q0", 4),
        ("pub311q1", 4),
        ("pub311q2", 4),
        ("sub5", 5),
        ("pub5q1", 5),
        ("pub5q2", 5),
        ("subret5", 5),
    ];
    for (id, level) in levels {
        let cp = *by_id
            .get(id)
            .unwrap_or_else(|| panic!("no CONNECT from {id}:\n{}", dump()));
        assert_eq!(
            field_u64(conn[&cp], "protocol_level"),
            Some(level),
            "{id}: {}",
            conn[&cp]
        );
    }
    assert_eq!(conn.len(), levels.len(), "unexpected CONNECTs:\n{}", dump());

    // Records of one client's connection, in order: (to_broker, record).
    let flow = |id: &str| -> Vec<(bool, &Value)> {
        let cp = by_id[id];
        recs.iter()
            .filter(|r| ports(r).0 == cp || ports(r).1 == cp)
            .map(|r| (ports(r).1 == u64::from(port), r))
            .collect()
    };
    let types = |id: &str| -> Vec<(bool, u64)> {
        flow(id)
            .iter()
            .map(|(up, r)| (*up, field_u64(r, "packet_type").unwrap()))
            .collect()
    };

    // CONNACKs: refused for the bad logins, accepted otherwise.
    for (id, _) in levels {
        let f = flow(id);
        let ack = f
            .iter()
            .find(|(up, r)| !up && field_u64(r, "packet_type") == Some(CONNACK))
            .unwrap_or_else(|| panic!("no CONNACK for {id}:\n{}", dump()))
            .1;
        match id {
            "bad311" => assert_eq!(field_u64(ack, "return_code"), Some(5), "{ack}"),
            "bad5" => {
                let rc = field_u64(ack, "reason_code");
                assert!(rc == Some(0x86) || rc == Some(0x87), "v5 bad login: {ack}");
            }
            _ if field_u64(conn[&by_id[id]], "protocol_level") == Some(5) => {
                assert_eq!(field_u64(ack, "reason_code"), Some(0), "{ack}")
            }
            _ => assert_eq!(field_u64(ack, "return_code"), Some(0), "{ack}"),
        }
    }
    for id in ["bad311", "bad5"] {
        assert!(
            !types(id).iter().any(|&(_, t)| t == PUBLISH),
            "a refused client got to publish: {:?}",
            types(id)
        );
    }

    // PUBLISH from each publisher with its topic, QoS and retain flag; the QoS 1/2 handshakes
    // with matching packet ids.
    let publishes = [
        ("pub311q0", "plant/line1/temp", 0, false),
        ("pub311q1", "plant/line1/temp", 1, false),
        ("pub311q2", "plant/line2/temp", 2, true),
        ("pub5q1", "plant/line3/temp", 1, false),
        ("pub5q2", "plant/line3/cmd", 2, false),
    ];
    for (id, topic, qos, retain) in publishes {
        let f = flow(id);
        let p = f
            .iter()
            .find(|(up, r)| *up && field_u64(r, "packet_type") == Some(PUBLISH))
            .unwrap_or_else(|| panic!("no PUBLISH from {id}:\n{}", dump()))
            .1;
        assert_eq!(field_str(p, "topic"), Some(topic), "{p}");
        assert_eq!(field_u64(p, "qos"), Some(qos), "{p}");
        assert_eq!(p["mqtt"]["retain"].as_bool(), Some(retain), "{p}");
        let pid = field_u64(p, "packet_id");
        let expect: Vec<(bool, u64)> = match qos {
            0 => {
                assert_eq!(pid, None, "QoS 0 PUBLISH with a packet id: {p}");
                vec![]
            }
            1 => vec![(false, PUBACK)],
            _ => vec![(false, PUBREC), (true, PUBREL), (false, PUBCOMP)],
        };
        let acks: Vec<(bool, u64, Option<u64>)> = f
            .iter()
            .filter(|(_, r)| matches!(field_u64(r, "packet_type"), Some(PUBACK..=PUBCOMP)))
            .map(|(up, r)| {
                (
                    *up,
                    field_u64(r, "packet_type").unwrap(),
                    field_u64(r, "packet_id"),
                )
            })
            .collect();
        let want: Vec<(bool, u64, Option<u64>)> =
            expect.iter().map(|&(up, t)| (up, t, pid)).collect();
        assert_eq!(
            acks, want,
            "{id}: QoS {qos} handshake (to_broker, type, packet_id)"
        );
        if qos > 0 {
            assert!(pid.is_some(), "QoS {qos} PUBLISH without packet id: {p}");
        }
        // The client says goodbye.
        assert_eq!(
            types(id).last(),
            Some(&(true, DISCONNECT)),
            "{id}: {:?}",
            types(id)
        );
    }
    // The v5 user property made it onto the wire and into the record.
    let p5 = flow("pub5q1")
        .into_iter()
        .find(|(up, r)| *up && field_u64(r, "packet_type") == Some(PUBLISH))
        .unwrap()
        .1;
    assert_eq!(
        p5["mqtt"]["properties"]["user_properties"],
        serde_json::json!([["site", "edge1"]]),
        "{p5}"
    );

    // SUBSCRIBEs with their filters and SUBACKs with the same packet id; the broker's
    // deliveries to the subscribers.
    for (id, filter, qos, topic) in [
        ("sub311", "plant/+/temp", 2, "plant/line1/temp"),
        ("sub5", "plant/line3/#", 1, "plant/line3/temp"), // delivered at QoS 1, acked by sub5
        ("subret5", "plant/line2/temp", 0, "plant/line2/temp"),
    ] {
        let f = flow(id);
        let s = f
            .iter()
            .find(|(up, r)| *up && field_u64(r, "packet_type") == Some(SUBSCRIBE))
            .unwrap_or_else(|| panic!("no SUBSCRIBE from {id}:\n{}", dump()))
            .1;
        assert_eq!(s["mqtt"]["topics"][0]["filter"], filter, "{s}");
        assert_eq!(s["mqtt"]["topics"][0]["qos"], qos, "{s}");
        let spid = field_u64(s, "packet_id");
        assert!(spid.is_some(), "{s}");
        assert!(
            f.iter().any(|(up, r)| !up
                && field_u64(r, "packet_type") == Some(SUBACK)
                && field_u64(r, "packet_id") == spid),
            "{id}: no SUBACK with packet id {spid:?}:\n{}",
            dump()
        );
        let d = f
            .iter()
            .find(|(up, r)| !up && field_u64(r, "packet_type") == Some(PUBLISH))
            .unwrap_or_else(|| panic!("no PUBLISH delivered to {id}:\n{}", dump()))
            .1;
        assert_eq!(field_str(d, "topic"), Some(topic), "{d}");
        if id == "subret5" {
            assert_eq!(
                d["mqtt"]["retain"].as_bool(),
                Some(true),
                "retained delivery: {d}"
            );
        }
        if field_u64(d, "qos") == Some(1) {
            let dpid = field_u64(d, "packet_id");
            assert!(dpid.is_some(), "{d}");
            assert!(
                f.iter().any(|(up, r)| *up
                    && field_u64(r, "packet_type") == Some(PUBACK)
                    && field_u64(r, "packet_id") == dpid),
                "{id}: no PUBACK for delivery {d}"
            );
        }
        assert_eq!(
            types(id).last(),
            Some(&(true, DISCONNECT)),
            "{id}: {:?}",
            types(id)
        );
    }

    // v5 DISCONNECTs (with a reason code or empty) from the 5.0 clients.
    for id in ["pub5q1", "pub5q2", "sub5", "subret5"] {
        assert!(
            types(id).contains(&(true, DISCONNECT)),
            "no v5 DISCONNECT from {id}"
        );
    }

    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "live_mqtt: {} records in {:.1} s",
        recs.len(),
        t0.elapsed().as_secs_f64()
    );
}
