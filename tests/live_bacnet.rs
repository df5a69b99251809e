//! Live capture of a real BACnet/IP exchange: a bacpypes3 device and client
//! (tests/peers/bacnet_pair.py) talking unicast on 127.0.0.1:<A> and 127.0.0.1:<A+1>, and
//! `edgetap run -i lo` watching. Needs root and the `python3` on PATH with bacpypes3
//! (`pip install bacpypes3`): without them the test fails.

#[path = "common/live.rs"]
mod live;

use live::{field_str, field_u64, ports, Tap};
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INSTANCE: u64 = 599;
const VENDOR: u64 = 260;
// APDU types
const CONFIRMED: u64 = 0;
const UNCONFIRMED: u64 = 1;
const SIMPLE_ACK: u64 = 2;
const COMPLEX_ACK: u64 = 3;
const ERROR: u64 = 5;
// services
const I_AM: u64 = 0;
const WHO_IS: u64 = 8;
const READ_PROPERTY: u64 = 12;
const READ_PROPERTY_MULTIPLE: u64 = 14;
const WRITE_PROPERTY: u64 = 15;
// object types, properties
const ANALOG_VALUE: u64 = 2;
const DEVICE: u64 = 8;
const PRESENT_VALUE: u64 = 85;

#[test]
fn live_bacnet_bacpypes3_device_and_client() {
    let t0 = Instant::now();
    live::require_root();
    let py = live::require_cmd(
        "python3",
        "bacpypes3 needs python3 (then `pip install bacpypes3`)",
    );
    let check = Command::new(&py)
        .args(["-c", "import bacpypes3"])
        .output()
        .expect("running python3");
    assert!(
        check.status.success(),
        "bacpypes3 is not importable by {}: run `pip install bacpypes3` (with that python3's pip)\n{}",
        py.display(),
        String::from_utf8_lossy(&check.stderr)
    );
    let script = live::repo().join("tests/peers/bacnet_pair.py");

    let (dev, cli) = live::free_udp_port_pair();
    let tap = Tap::start("lo", &format!("udp portrange {dev}-{cli}"));
    let mut pair = Command::new(&py)
        .args([
            script.to_str().unwrap(),
            &dev.to_string(),
            &cli.to_string(),
            &INSTANCE.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting bacnet_pair.py");
    live::wait_timeout(&mut pair, Duration::from_secs(45), "bacnet_pair.py");
    let out = pair.wait_with_output().unwrap();
    let peer_log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let cap = tap.stop();
    assert!(
        out.status.success(),
        "bacnet_pair.py failed ({}):\n{peer_log}",
        out.status
    );

    let recs = &cap.records;
    let dump = || {
        recs.iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (dev, cli) = (u64::from(dev), u64::from(cli));
    assert!(
        recs.len() >= 18,
        "only {} records:\n{}\nstderr:\n{}\npeers:\n{peer_log}",
        recs.len(),
        dump(),
        cap.stderr
    );

    // Every PDU is BACnet/IP unicast (Original-Unicast-NPDU) between the two ports: requests
    // from the client, answers from the device.
    for r in recs {
        assert_eq!(r["proto"], "bacnet", "{r}");
        assert_eq!(field_u64(r, "bvlc_function"), Some(0x0a), "{r}");
        let from_client = matches!(field_u64(r, "apdu_type"), Some(CONFIRMED))
            || (field_u64(r, "apdu_type") == Some(UNCONFIRMED)
                && field_u64(r, "service") == Some(WHO_IS));
        let want = if from_client { (cli, dev) } else { (dev, cli) };
        assert_eq!(ports(r), want, "ports of {r}");
    }
    let find = |apdu: u64, service: u64| -> Vec<&Value> {
        recs.iter()
            .filter(|r| {
                field_u64(r, "apdu_type") == Some(apdu) && field_u64(r, "service") == Some(service)
            })
            .collect()
    };
    let one = |apdu: u64, service: u64, what: &str| -> &Value {
        let v = find(apdu, service);
        assert_eq!(v.len(), 1, "{what}: want one, got {}:\n{}", v.len(), dump());
        v[0]
    };

    // Who-Is (directed, range = the instance) and the I-Am answering it.
    let whois = one(UNCONFIRMED, WHO_IS, "Who-Is");
    assert_eq!(field_u64(whois, "low_limit"), Some(INSTANCE), "{whois}");
    assert_eq!(field_u64(whois, "high_limit"), Some(INSTANCE), "{whois}");
    let iam = one(UNCONFIRMED, I_AM, "I-Am");
    assert_eq!(field_u64(iam, "device_instance"), Some(INSTANCE), "{iam}");
    assert_eq!(field_u64(iam, "vendor_id"), Some(VENDOR), "{iam}");
    assert_eq!(
        field_str(iam, "vendor_name"),
        Some("BACnet Stack at SourceForge"),
        "{iam}"
    );

    // The answer (ComplexAck, SimpleAck or Error) to a confirmed request: same service and
    // invoke id.
    let answer = |req: &Value| -> &Value {
        let (svc, id) = (field_u64(req, "service"), field_u64(req, "invoke_id"));
        assert!(id.is_some(), "request without invoke_id: {req}");
        let v: Vec<&Value> = recs
            .iter()
            .filter(|r| field_u64(r, "apdu_type") != Some(CONFIRMED))
            .filter(|r| field_u64(r, "service") == svc && field_u64(r, "invoke_id") == id)
            .collect();
        assert_eq!(v.len(), 1, "answers to {req}:\n{}", dump());
        v[0]
    };

    // ReadProperty of the device's identity properties, each with its ComplexAck.
    let rps = find(CONFIRMED, READ_PROPERTY);
    let props: [(u64, Value); 5] = [
        (77, "plc-599".into()),          // object-name
        (70, "edgetap-live-sim".into()), // model-name
        (44, "fw-1.2.3".into()),         // firmware-revision
        (12, "app-4.5.6".into()),        // application-software-version
        (120, VENDOR.into()),            // vendor-identifier
    ];
    for (prop, value) in &props {
        let req = rps
            .iter()
            .find(|r| {
                field_u64(r, "object_type") == Some(DEVICE)
                    && field_u64(r, "property_id") == Some(*prop)
            })
            .unwrap_or_else(|| panic!("no ReadProperty of device property {prop}:\n{}", dump()));
        assert_eq!(field_u64(req, "object_instance"), Some(INSTANCE), "{req}");
        let ack = answer(req);
        assert_eq!(field_u64(ack, "apdu_type"), Some(COMPLEX_ACK), "{ack}");
        assert_eq!(field_u64(ack, "property_id"), Some(*prop), "{ack}");
        assert_eq!(field_u64(ack, "object_instance"), Some(INSTANCE), "{ack}");
        assert_eq!(&ack["bacnet"]["value"]["value"], value, "{ack}");
    }

    // ReadPropertyMultiple and its ComplexAck.
    let rpm = one(CONFIRMED, READ_PROPERTY_MULTIPLE, "ReadPropertyMultiple");
    let rpm_ack = answer(rpm);
    assert_eq!(
        field_u64(rpm_ack, "apdu_type"),
        Some(COMPLEX_ACK),
        "{rpm_ack}"
    );

    // WriteProperty of analog-value,1 present-value (priority 8) and its SimpleAck.
    let wp = one(CONFIRMED, WRITE_PROPERTY, "WriteProperty");
    assert_eq!(field_u64(wp, "object_type"), Some(ANALOG_VALUE), "{wp}");
    assert_eq!(field_u64(wp, "object_instance"), Some(1), "{wp}");
    assert_eq!(field_u64(wp, "property_id"), Some(PRESENT_VALUE), "{wp}");
    assert_eq!(field_u64(wp, "write_priority"), Some(8), "{wp}");
    assert_eq!(wp["bacnet"]["value"]["value"].as_f64(), Some(22.0), "{wp}");
    assert_eq!(
        field_u64(answer(wp), "apdu_type"),
        Some(SIMPLE_ACK),
        "{}",
        answer(wp)
    );

    // ReadProperty of an object the device doesn't have: Error object (1) / unknown-object (31).
    let bad = rps
        .iter()
        .find(|r| {
            field_u64(r, "object_type") == Some(ANALOG_VALUE)
                && field_u64(r, "object_instance") == Some(99)
        })
        .unwrap_or_else(|| panic!("no ReadProperty of analog-value,99:\n{}", dump()));
    let err = answer(bad);
    assert_eq!(field_u64(err, "apdu_type"), Some(ERROR), "{err}");
    assert_eq!(field_u64(err, "error_class"), Some(1), "{err}");
    assert_eq!(field_u64(err, "error_code"), Some(31), "{err}");

    // Nothing else: 5 + 1 ReadProperty, RPM, WP, each answered, plus Who-Is/I-Am.
    assert_eq!(rps.len(), 6, "ReadProperty requests:\n{}", dump());
    assert_eq!(recs.len(), 2 + 2 * 8, "records:\n{}", dump());

    eprintln!(
        "live_bacnet: {} records in {:.1} s",
        recs.len(),
        t0.elapsed().as_secs_f64()
    );
}
