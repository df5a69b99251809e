//! Live capture of real OPC UA peers on the loopback interface, through `edgetap run`: an asyncua
//! server (`tests/peers/opcua_server.py`: SecurityPolicy None, anonymous and operator/secret) and
//! an asyncua client (`tests/peers/opcua_client.py`): GetEndpoints; an anonymous session with
//! Browse, Read, Write, Call, CreateSubscription; a session with a wrong password (refused); and
//! one with the right password (which travels in clear text under SecurityPolicy None, so the
//! test can check that edgetap doesn't repeat it).
//!
//! Needs root, `ss`, and asyncua (`pip install asyncua`) for the `python3` on PATH.

#[path = "common/live.rs"]
mod live;

use live::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn opcua(rec: &Value) -> &Value {
    &rec["opcua"]
}

#[test]
fn opcua_asyncua_session() {
    require_root();
    require_cmd("ss", "install iproute2");
    let py = require_cmd(
        "python3",
        "a python3 with asyncua (pip install asyncua) is needed",
    );
    let ok = Command::new(&py)
        .args(["-c", "import asyncua"])
        .status()
        .map(|s| s.success());
    assert!(
        matches!(ok, Ok(true)),
        "{} cannot import asyncua; pip install asyncua",
        py.display()
    );
    let peers = repo().join("tests/peers");
    let t0 = Instant::now();
    let port = free_tcp_port();
    let dir = temp_dir("opcua");

    let server = Command::new(&py)
        .arg(peers.join("opcua_server.py"))
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("server.out")).unwrap())
        .stderr(std::fs::File::create(dir.join("server.err")).unwrap())
        .spawn()
        .expect("starting the asyncua server");
    let mut server = Guard::new(server);
    // asyncua's server takes 10-14 s to start on a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new("ss")
            .args(["-Hltn", &format!("sport = :{port}")])
            .output()
            .expect("ss");
        if !String::from_utf8_lossy(&out.stdout).trim().is_empty() {
            break;
        }
        if let Some(st) = server.child().try_wait().unwrap() {
            panic!(
                "asyncua server exited with {st}:\n{}",
                std::fs::read_to_string(dir.join("server.err")).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "asyncua server not listening on {port} after 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "asyncua server listening after {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let tap = Tap::start("lo", &format!("tcp port {port}"));
    let mut client = Command::new(&py)
        .arg(peers.join("opcua_client.py"))
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("client.out")).unwrap())
        .stderr(std::fs::File::create(dir.join("client.err")).unwrap())
        .spawn()
        .expect("starting the asyncua client");
    let st = wait_timeout(&mut client, Duration::from_secs(40), "asyncua client");
    let out = std::fs::read_to_string(dir.join("client.out")).unwrap_or_default();
    let err = std::fs::read_to_string(dir.join("client.err")).unwrap_or_default();
    assert!(st.success(), "asyncua client failed ({st}):\n{out}\n{err}");
    assert!(
        out.contains("bad login -> Bad") && out.contains("user login ok"),
        "asyncua client:\n{out}"
    );
    let cap = tap.stop();
    server.terminate("asyncua server");
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "{} records in {:.1} s",
        cap.records.len(),
        t0.elapsed().as_secs_f64()
    );

    // The password was on the wire in clear text; it must not be in the output. Neither is the
    // wrong one.
    assert!(
        !cap.raw.contains("secret"),
        "the password \"secret\" is in the output"
    );
    assert!(
        !cap.raw.contains("wr0ng-edgetap-pw"),
        "the wrong password is in the output"
    );

    assert!(
        !cap.records.is_empty(),
        "no records; stderr:\n{}",
        cap.stderr
    );
    let mut last = 0;
    for r in &cap.records {
        assert_eq!(r["proto"], "opcua", "{r}");
        let (s, d) = ports(r);
        assert!(s == port as u64 || d == port as u64, "{r}");
        let f = r["frame"].as_u64().unwrap();
        assert!(f >= last, "frames out of order");
        last = f;
        assert!(!opcua(r)["encrypted"].as_bool().unwrap_or(false), "{r}");
    }
    let to_server = |r: &Value| ports(r).1 == port as u64;
    let client_port = |r: &Value| if to_server(r) { ports(r).0 } else { ports(r).1 };

    // Message types, and who sends them.
    let mut types: BTreeMap<(&str, bool), usize> = BTreeMap::new();
    for r in &cap.records {
        let t = opcua(r)["message_type"]
            .as_str()
            .unwrap_or_else(|| panic!("no message_type: {r}"));
        *types.entry((t, to_server(r))).or_default() += 1;
    }
    // Four secure channels: GetEndpoints, anonymous, refused, operator.
    for (t, up, n) in [
        ("HEL", true, 4),
        ("ACK", false, 4),
        ("OPN", true, 4),
        ("OPN", false, 4),
        ("CLO", true, 4),
    ] {
        assert_eq!(
            types.get(&(t, up)).copied().unwrap_or(0),
            n,
            "{t} {}: {types:?}",
            if up { "requests" } else { "responses" }
        );
    }
    assert!(
        types.get(&("MSG", true)).copied().unwrap_or(0) >= 16,
        "{types:?}"
    );
    assert!(
        !types.contains_key(&("ERR", false)),
        "an ERR message: {types:?}"
    );
    let conns: BTreeSet<u64> = cap.records.iter().map(client_port).collect();
    assert_eq!(conns.len(), 4, "TCP connections: {conns:?}");

    // HEL carries the endpoint URL; OPN/MSG/CLO carry the secure channel id the server assigned.
    let url = format!("opc.tcp://127.0.0.1:{port}/edgetap/");
    for r in cap
        .records
        .iter()
        .filter(|r| opcua(r)["message_type"] == "HEL")
    {
        assert_eq!(opcua(r)["endpoint_url"], url.as_str(), "{r}");
    }
    for c in &conns {
        let rs: Vec<&Value> = cap
            .records
            .iter()
            .filter(|r| client_port(r) == *c)
            .collect();
        let opn = rs
            .iter()
            .find(|r| opcua(r)["message_type"] == "OPN" && !to_server(r))
            .unwrap_or_else(|| panic!("no OPN response on {c}"));
        assert_eq!(opcua(opn)["service_type_id"], 449, "{opn}");
        let id = opcua(opn)["secure_channel_id"]
            .as_u64()
            .expect("secure_channel_id");
        assert_ne!(id, 0);
        for r in rs
            .iter()
            .filter(|r| matches!(opcua(r)["message_type"].as_str(), Some("MSG" | "CLO")))
        {
            assert_eq!(opcua(r)["secure_channel_id"], id, "{r}");
        }
    }

    // Service type ids (the DefaultBinary encoding ids of the OPC UA spec, as in asyncua's
    // ua/object_ids.py): each request from the client and its response from the server.
    let svc = |id: u64, up: bool| -> Vec<&Value> {
        cap.records
            .iter()
            .filter(|r| opcua(r)["service_type_id"].as_u64() == Some(id) && to_server(r) == up)
            .collect()
    };
    let services = [
        ("GetEndpoints", 428, 431),
        ("CreateSession", 461, 464),
        ("ActivateSession", 467, 470),
        ("Browse", 527, 530),
        ("Read", 631, 634),
        ("Write", 673, 676),
        ("Call", 712, 715),
        ("CreateSubscription", 787, 790),
    ];
    for (name, req, resp) in services {
        let rq = svc(req, true);
        let rs = svc(resp, false);
        assert!(!rq.is_empty(), "no {name}Request ({req})");
        assert!(!rs.is_empty(), "no {name}Response ({resp})");
        assert!(rq.iter().all(|r| opcua(r)["message_type"] == "MSG"
            && opcua(r)["service"] == format!("{name}Request")));
        assert!(rs
            .iter()
            .all(|r| opcua(r)["service"] == format!("{name}Response")));
        // Successful responses, matched to their requests by request handle.
        for r in &rs {
            assert_eq!(opcua(r)["service_result"], 0, "{r}");
            let h = opcua(r)["request_handle"].as_u64().expect("request_handle");
            assert!(
                rq.iter()
                    .any(|q| opcua(q)["request_handle"] == h && client_port(q) == client_port(r)),
                "{r}"
            );
        }
    }
    assert_eq!(svc(428, true).len(), 1, "GetEndpoints");
    assert_eq!(svc(461, true).len(), 3, "CreateSession");
    assert_eq!(svc(467, true).len(), 3, "ActivateSession");
    assert_eq!(svc(470, false).len(), 2, "ActivateSession accepted");

    // CreateSession names both applications.
    for r in svc(461, true) {
        assert_eq!(
            opcua(r)["application_uri"],
            "urn:edgetap:live:client",
            "{r}"
        );
        assert_eq!(opcua(r)["endpoint_url"], url.as_str(), "{r}");
    }
    for r in svc(464, false) {
        assert_eq!(
            opcua(r)["application_uri"],
            "urn:edgetap:live:server",
            "{r}"
        );
    }
    let ge = svc(431, false);
    assert!(
        ge[0].to_string().contains("urn:edgetap:live:server"),
        "GetEndpoints response: {}",
        ge[0]
    );

    // Identity tokens: one anonymous activation, two user-name ones (wrong, then right password).
    let tokens: Vec<&str> = svc(467, true)
        .iter()
        .filter_map(|r| opcua(r)["identity_token"].as_str())
        .collect();
    assert_eq!(
        tokens,
        ["anonymous", "username", "username"],
        "identity tokens"
    );
    let refused = svc(467, true)[1];
    assert_eq!(opcua(refused)["user_name"], "operator", "{refused}");

    // The refused activation: a ServiceFault (397) with BadUserAccessDenied or
    // BadIdentityTokenRejected, on the same connection and request handle.
    let faults: Vec<&Value> = svc(397, false)
        .into_iter()
        .filter(|r| {
            client_port(r) == client_port(refused)
                && opcua(r)["request_handle"] == opcua(refused)["request_handle"]
        })
        .collect();
    assert_eq!(
        faults.len(),
        1,
        "no ServiceFault for the refused ActivateSession"
    );
    let code = opcua(faults[0])["service_result"].as_u64().unwrap();
    assert!(
        code == 0x801F_0000 || code == 0x8021_0000,
        "refused login status {code:#x} (want BadUserAccessDenied 0x801F0000 or BadIdentityTokenRejected 0x80210000)"
    );
    let name = opcua(faults[0])["service_result_name"]
        .as_str()
        .unwrap_or("");
    assert!(
        name == "BadUserAccessDenied" || name == "BadIdentityTokenRejected",
        "{}",
        faults[0]
    );
    assert!(
        !cap.records
            .iter()
            .any(|r| client_port(r) == client_port(refused)
                && matches!(
                    opcua(r)["service_type_id"].as_u64(),
                    Some(527 | 631 | 673 | 712 | 787)
                )),
        "services on the refused session"
    );
}
