//! Real-peer Modbus/TCP: a tokio-modbus 0.17 server and scripted client (tools/modbus-peer)
//! talking over the loopback interface, seen by `edgetap run -i lo` live, and by
//! `edgetap dissect` on the committed capture pcaps/modbus/tokio-modbus-peer.pcap (made with
//! scripts/record-modbus.sh), which is also checked against tshark.
//!
//! The live test needs root (or CAP_NET_RAW) and a loopback interface; it fails, not skips,
//! without them (CI runs as root). The tshark test needs tshark (Debian: `tshark`) and
//! ../shared/tools/tshark-agree (or EDGETAP_TSHARK_AGREE=path).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const EDGETAP: &str = env!("CARGO_BIN_EXE_edgetap");
const PCAP: &str = "pcaps/modbus/tokio-modbus-peer.pcap";

/// The modbus-peer client's script (tools/modbus-peer/src/main.rs): per step, the fields the
/// request and its answer must carry (a subset of the record's `modbus` object).
fn script() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "read holding registers 10+4",
            json!({"function_code": 3, "kind": "request", "address": 10, "quantity": 4}),
            json!({"function_code": 3, "kind": "response", "address": 10, "quantity": 4, "values": [1010, 1011, 1012, 1013]}),
        ),
        (
            "read input registers 20+3",
            json!({"function_code": 4, "kind": "request", "address": 20, "quantity": 3}),
            json!({"function_code": 4, "kind": "response", "address": 20, "quantity": 3, "values": [2020, 2021, 2022]}),
        ),
        (
            // coils 30..39 with i % 3 == 0 on: 30, 33, 36, 39 -> 0b0100_1001, 0b10
            "read coils 30+10",
            json!({"function_code": 1, "kind": "request", "address": 30, "quantity": 10}),
            json!({"function_code": 1, "kind": "response", "address": 30, "quantity": 10, "values": [0x49, 0x02]}),
        ),
        (
            // discrete inputs 40..44 with i % 2 == 0 on: 40, 42, 44 -> 0b1_0101
            "read discrete inputs 40+5",
            json!({"function_code": 2, "kind": "request", "address": 40, "quantity": 5}),
            json!({"function_code": 2, "kind": "response", "address": 40, "quantity": 5, "values": [0x15]}),
        ),
        (
            "write single register 50 = 0xBEEF",
            json!({"function_code": 6, "kind": "request", "address": 50, "value": 0xBEEF}),
            json!({"function_code": 6, "kind": "response", "address": 50, "value": 0xBEEF}),
        ),
        (
            "write multiple registers 60 = 111 222 333",
            json!({"function_code": 16, "kind": "request", "address": 60, "quantity": 3, "values": [111, 222, 333]}),
            json!({"function_code": 16, "kind": "response", "address": 60, "quantity": 3}),
        ),
        (
            "write single coil 70 = on",
            json!({"function_code": 5, "kind": "request", "address": 70, "value": 0xFF00}),
            json!({"function_code": 5, "kind": "response", "address": 70, "value": 0xFF00}),
        ),
        (
            // 1,0,1,1,0,0,1,0 | 1 -> 0b0100_1101, 0b1
            "write multiple coils 80 = 9 coils",
            json!({"function_code": 15, "kind": "request", "address": 80, "quantity": 9, "values": [0x4D, 0x01]}),
            json!({"function_code": 15, "kind": "response", "address": 80, "quantity": 9}),
        ),
        (
            "read holding registers 500+2 (out of range)",
            json!({"function_code": 3, "kind": "request", "address": 500, "quantity": 2}),
            json!({"function_code": 3, "kind": "exception", "exception_code": 2}),
        ),
    ]
}

fn dump(records: &[Value]) -> String {
    records
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_jsonl(out: &str) -> Vec<Value> {
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("edgetap printed a line that is not JSON ({e}): {l}"))
        })
        .collect()
}

/// Checks that `records` (edgetap's output) hold exactly the client's script, in order, on one
/// connection to `server_port`.
fn check_script(records: &[Value], server_port: u16) {
    let modbus: Vec<&Value> = records.iter().filter(|r| r["proto"] == "modbus").collect();
    let all = dump(records);
    let steps = script();
    assert_eq!(
        modbus.len(),
        2 * steps.len(),
        "expected {} Modbus PDUs (the client's script), got {}:\n{all}",
        2 * steps.len(),
        modbus.len()
    );
    let client_port = modbus[0]["src_port"]
        .as_u64()
        .unwrap_or_else(|| panic!("no src_port in {}", modbus[0]));
    assert_ne!(
        client_port,
        u64::from(server_port),
        "client and server ports are the same:\n{all}"
    );
    let mut tids = Vec::new();
    for (i, (name, want_req, want_rsp)) in steps.iter().enumerate() {
        let (req, rsp) = (modbus[2 * i], modbus[2 * i + 1]);
        for (rec, want, src, dst) in [
            (req, want_req, client_port, u64::from(server_port)),
            (rsp, want_rsp, u64::from(server_port), client_port),
        ] {
            let m = &rec["modbus"];
            for (k, v) in want.as_object().expect("object") {
                assert_eq!(
                    &m[k],
                    v,
                    "step {} ({name}): field {k} of {rec}\nall PDUs:\n{all}",
                    i + 1
                );
            }
            assert_eq!(m["unit_id"], 1, "step {} ({name}): unit_id of {rec}", i + 1);
            assert_eq!(
                rec["src_ip"],
                "127.0.0.1",
                "step {} ({name}): src_ip of {rec}",
                i + 1
            );
            assert_eq!(
                rec["dest_ip"],
                "127.0.0.1",
                "step {} ({name}): dest_ip of {rec}",
                i + 1
            );
            assert_eq!(
                rec["src_port"].as_u64(),
                Some(src),
                "step {} ({name}): src_port of {rec}",
                i + 1
            );
            assert_eq!(
                rec["dest_port"].as_u64(),
                Some(dst),
                "step {} ({name}): dest_port of {rec}",
                i + 1
            );
            assert!(
                rec["frame"].as_u64().is_some_and(|f| f >= 1),
                "step {} ({name}): frame of {rec}",
                i + 1
            );
            assert!(
                rec["ts"].as_str().is_some_and(|t| t.ends_with('Z')),
                "step {} ({name}): ts of {rec}",
                i + 1
            );
        }
        // Exceptions carry the code and no data; normal answers carry no exception code.
        if want_rsp["kind"] == "exception" {
            assert!(
                rsp["modbus"].get("values").is_none(),
                "step {} ({name}): exception with values: {rsp}",
                i + 1
            );
        } else {
            assert!(
                rsp["modbus"].get("exception_code").is_none(),
                "step {} ({name}): exception_code on {rsp}",
                i + 1
            );
        }
        assert!(
            req["modbus"].get("exception_code").is_none(),
            "step {} ({name}): exception_code on a request: {req}",
            i + 1
        );
        let tid = req["modbus"]["transaction_id"]
            .as_u64()
            .unwrap_or_else(|| panic!("no transaction_id in {req}"));
        assert_eq!(
            rsp["modbus"]["transaction_id"].as_u64(),
            Some(tid),
            "step {} ({name}): the answer's transaction id does not pair with the request's:\n{req}\n{rsp}",
            i + 1
        );
        assert!(
            rsp["frame"].as_u64() > req["frame"].as_u64(),
            "step {} ({name}): answer before request:\n{req}\n{rsp}",
            i + 1
        );
        tids.push(tid);
    }
    let mut distinct = tids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        tids.len(),
        "transaction ids repeat across steps: {tids:?}\n{all}"
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers for the live test.

/// Kills (SIGKILL) and reaps a child that is still running when dropped (a failed assertion).
struct Guard(Option<Child>, &'static str);

impl Guard {
    fn pid(&self) -> u32 {
        self.0.as_ref().expect("child").id()
    }

    /// SIGTERM, then wait up to `limit`; returns the exit status.
    fn terminate(&mut self, limit: Duration) -> std::process::ExitStatus {
        let pid = self.pid().to_string();
        let st = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("running kill");
        assert!(st.success(), "kill -TERM {pid} ({}) failed", self.1);
        let child = self.0.as_mut().expect("child");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("waiting for child") {
                self.0 = None;
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "{} (pid {pid}) did not stop within {limit:?} of SIGTERM",
                self.1
            );
            thread::sleep(Duration::from_millis(20));
        }
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

fn require_root_and_lo() {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .expect("running `id -u`");
    let uid = String::from_utf8_lossy(&uid.stdout).trim().to_string();
    assert_eq!(
        uid, "0",
        "live_modbus needs root (live capture on lo with libpcap needs CAP_NET_RAW): run `sudo -E cargo test --test live_modbus` (CI runs as root); uid is {uid}"
    );
    let lo = Command::new("ip").args(["link", "show", "lo"]).output();
    match lo {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            panic!("live_modbus needs the loopback interface: `ip link show lo` failed: {}", String::from_utf8_lossy(&o.stderr).trim())
        }
        Err(e) => panic!("live_modbus needs the loopback interface and iproute2: cannot run `ip link show lo`: {e}"),
    }
}

/// Builds tools/modbus-peer and returns the path of its binary (whatever the target dir).
fn build_peer() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .current_dir(ROOT)
        .args([
            "build",
            "-p",
            "modbus-peer",
            "--bin",
            "modbus-peer",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("running cargo build -p modbus-peer");
    assert!(
        out.status.success(),
        "cargo build -p modbus-peer failed ({})",
        out.status
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "modbus-peer")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo build -p modbus-peer reported no modbus-peer executable")
}

/// A TCP port that was free a moment ago.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// Whether a TCP socket listens on `port`, read from /proc/net/tcp{,6} (no probe connection,
/// which would end up in the capture).
fn listening(port: u16) -> bool {
    let want = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() > 3 && cols[1].ends_with(&want) && cols[3] == "0A"
            })
    })
}

fn read_all(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut s = String::new();
        let _ = r.read_to_string(&mut s);
        s
    })
}

#[test]
fn live_capture_of_tokio_modbus_peer() {
    require_root_and_lo();
    let peer = build_peer();
    let port = free_port();

    // 1. the server, awaited without connecting to it
    let mut server = Guard(
        Some(
            Command::new(&peer)
                .args(["server", "--listen", &format!("127.0.0.1:{port}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", peer.display())),
        ),
        "modbus-peer server",
    );
    let server_err = read_all(server.0.as_mut().unwrap().stderr.take().unwrap());
    let start = Instant::now();
    while !listening(port) {
        if let Some(st) = server.0.as_mut().unwrap().try_wait().unwrap() {
            server.0 = None;
            panic!(
                "modbus-peer server exited ({st}) before listening on {port}: {}",
                server_err.join().unwrap()
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "modbus-peer server not listening on {port} after 30 s"
        );
        thread::sleep(Duration::from_millis(20));
    }

    // 2. edgetap, until it says it is capturing
    let filter = format!("tcp port {port}");
    let mut tap = Guard(
        Some(
            Command::new(EDGETAP)
                .args([
                    "capture", "-i", "lo", "--filter", &filter, "--format", "jsonl",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starting edgetap run"),
        ),
        "edgetap run",
    );
    let tap_out = read_all(tap.0.as_mut().unwrap().stdout.take().unwrap());
    let (ready_tx, ready_rx) = mpsc::channel();
    let tap_stderr = tap.0.as_mut().unwrap().stderr.take().unwrap();
    let tap_err = thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(tap_stderr).lines().map_while(Result::ok) {
            if line.contains("capturing on lo") {
                let _ = ready_tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
        let st = tap.terminate(Duration::from_secs(10));
        panic!(
            "edgetap run did not log \"capturing on lo\" within 30 s ({st}); stderr:\n{}",
            tap_err.join().unwrap()
        );
    }
    thread::sleep(Duration::from_secs(1));

    // 3. the client's script
    let client = Command::new(&peer)
        .args(["client", "--connect", &format!("127.0.0.1:{port}")])
        .output()
        .expect("running modbus-peer client");
    assert!(
        client.status.success(),
        "modbus-peer client failed ({}):\n{}",
        client.status,
        String::from_utf8_lossy(&client.stderr)
    );

    // 4. stop edgetap (SIGTERM after a pause), then the server
    thread::sleep(Duration::from_secs(1));
    let st = tap.terminate(Duration::from_secs(30));
    let out = tap_out.join().unwrap();
    let err = tap_err.join().unwrap();
    assert!(
        st.success(),
        "edgetap run exited with {st} after SIGTERM; stderr:\n{err}"
    );
    let sst = server.terminate(Duration::from_secs(10));
    let serr = server_err.join().unwrap();
    assert!(
        sst.success(),
        "modbus-peer server exited with {sst}: {serr}"
    );

    let records = parse_jsonl(&out);
    eprintln!("edgetap run: {} records; stderr:\n{err}", records.len());
    check_script(&records, port);
    // On stopping, the interface's libpcap counters are reported: what it received, what the
    // kernel and the interface dropped.
    let counters = err
        .lines()
        .find(|l| l.contains("lo: received "))
        .unwrap_or_else(|| panic!("no drop counters on stderr:\n{err}"));
    let received: u64 = counters
        .split("received ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("cannot read the received count: {counters}"));
    assert!(received >= records.len() as u64, "{counters}");
    assert!(
        counters.contains("kernel dropped 0") && counters.contains("interface dropped 0"),
        "{counters}"
    );
}

// ---------------------------------------------------------------------------------------------
// The committed capture.

fn dissect_committed() -> Vec<Value> {
    let pcap = Path::new(ROOT).join(PCAP);
    assert!(
        pcap.is_file(),
        "{} is missing: record it with `sudo scripts/record-modbus.sh 502`",
        pcap.display()
    );
    let out = Command::new(EDGETAP)
        .args(["dissect", "--format", "jsonl"])
        .arg(&pcap)
        .output()
        .expect("running edgetap dissect");
    assert!(
        out.status.success(),
        "edgetap dissect {} failed ({}): {}",
        pcap.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    parse_jsonl(&String::from_utf8_lossy(&out.stdout))
}

/// The server port of the committed capture: the destination of its first request.
fn committed_server_port(records: &[Value]) -> u16 {
    let first = records
        .iter()
        .find(|r| r["proto"] == "modbus")
        .expect("no Modbus PDU in the committed capture");
    first["dest_port"]
        .as_u64()
        .and_then(|p| u16::try_from(p).ok())
        .expect("dest_port")
}

#[test]
fn committed_capture_holds_the_script() {
    let records = dissect_committed();
    let port = committed_server_port(&records);
    check_script(&records, port);
}

fn require_tshark() {
    match Command::new("tshark").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status() {
        Ok(s) if s.success() => {}
        _ => panic!("tshark is not installed: install it (Debian/Ubuntu: `apt-get install -y tshark`) to check edgetap against Wireshark; CI installs it"),
    }
}

#[test]
fn committed_capture_agrees_with_tshark() {
    require_tshark();
    let agree = std::env::var_os("EDGETAP_TSHARK_AGREE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("../shared/tools/tshark-agree"));
    assert!(
        agree.is_file(),
        "{} is missing (set EDGETAP_TSHARK_AGREE to its path)",
        agree.display()
    );
    let records = dissect_committed();
    let port = committed_server_port(&records);
    let pcap = Path::new(ROOT).join(PCAP);

    // tshark-agree: the contract fields, PDU by PDU
    let mut cmd = Command::new(&agree);
    cmd.arg("--cmd")
        .arg(format!(
            "'{}' dissect {{pcap}}",
            EDGETAP.replace('\'', r"'\''")
        ))
        .args(["--min", "99.5"]);
    if port != 502 {
        cmd.arg("-d").arg(format!("tcp.port=={port},mbtcp"));
    }
    let out = cmd.arg(&pcap).output().expect("running tshark-agree");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "tshark-agree below 99.5% (or failed, {}):\n{text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("modbus         18       18"),
        "tshark-agree did not count 18 of 18 Modbus PDUs:\n{text}"
    );

    // tshark's own view of the script's addresses, quantities and values (it classifies
    // queries and responses only on port 502)
    if port != 502 {
        eprintln!("committed capture uses port {port}: skipping tshark's field-level comparison (502 only)");
        return;
    }
    let fields = [
        "frame.number",
        "mbtcp.trans_id",
        "modbus.func_code",
        "modbus.reference_num",
        "modbus.word_cnt",
        "modbus.bit_cnt",
        "modbus.regval_uint16",
        "modbus.exception_code",
    ];
    let mut args: Vec<String> = vec![
        "-r".into(),
        pcap.display().to_string(),
        "-Y".into(),
        "mbtcp".into(),
        "-T".into(),
        "fields".into(),
    ];
    for f in fields {
        args.push("-e".into());
        args.push(f.into());
    }
    let out = Command::new("tshark")
        .args(&args)
        .output()
        .expect("running tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tshark = String::from_utf8_lossy(&out.stdout);
    let by_frame: std::collections::HashMap<u64, &Value> = records
        .iter()
        .filter(|r| r["proto"] == "modbus")
        .map(|r| (r["frame"].as_u64().unwrap(), r))
        .collect();
    let mut n = 0;
    for line in tshark.lines() {
        let c: Vec<&str> = line.split('\t').collect();
        let num = |i: usize| {
            c.get(i)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<u64>().expect(line))
        };
        let frame = num(0).expect("frame number");
        let rec = by_frame
            .get(&frame)
            .unwrap_or_else(|| panic!("tshark has Modbus in frame {frame}, edgetap not: {line}"));
        let m = &rec["modbus"];
        assert_eq!(
            num(1),
            m["transaction_id"].as_u64(),
            "frame {frame}: transaction id, tshark {line:?}, edgetap {rec}"
        );
        assert_eq!(
            num(2),
            m["function_code"].as_u64(),
            "frame {frame}: function code, tshark {line:?}, edgetap {rec}"
        );
        if let Some(addr) = num(3) {
            assert_eq!(
                Some(addr),
                m["address"].as_u64(),
                "frame {frame}: address, tshark {line:?}, edgetap {rec}"
            );
        }
        if let Some(q) = num(4).or(num(5)) {
            assert_eq!(
                Some(q),
                m["quantity"].as_u64(),
                "frame {frame}: quantity, tshark {line:?}, edgetap {rec}"
            );
        }
        if let Some(vals) = c.get(6).filter(|s| !s.is_empty()) {
            let want: Vec<u64> = vals.split(',').map(|v| v.parse().expect(line)).collect();
            assert_eq!(
                json!(want),
                m["values"],
                "frame {frame}: register values, tshark {line:?}, edgetap {rec}"
            );
        }
        assert_eq!(
            num(7),
            m["exception_code"].as_u64(),
            "frame {frame}: exception code, tshark {line:?}, edgetap {rec}"
        );
        n += 1;
    }
    assert_eq!(
        n, 18,
        "tshark decoded {n} Modbus PDUs, the script has 18:\n{tshark}"
    );
}
