//! BACnet/IP dissector unit tests: each BVLC function, routed NPDUs, network-layer messages,
//! the decoded services, segmentation, Error/Reject/Abort, malformed input, probe, facts.
#![cfg(feature = "bacnet")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use edgetap_dissectors::{bacnet, Collect, Direction, Dissector, FactKind, Probe, Side};
use serde_json::{json, Value};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// A BVLC message: function, then payload (hex), with the right length.
fn bvlc(function: u8, payload: &str) -> Vec<u8> {
    let p = hex(payload);
    let len = u16::try_from(p.len() + 4).unwrap();
    let mut v = vec![0x81, function];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend(p);
    v
}

/// Original-Unicast-NPDU with a plain NPDU header (no routing) around `apdu`.
fn unicast(apdu: &str) -> Vec<u8> {
    bvlc(0x0A, &format!("0100{apdu}"))
}

struct Out {
    pdu: Value,
    events: Vec<&'static str>,
    facts: Vec<(FactKind, Side, String)>,
}

fn run_dir(dir: Direction, data: &[u8]) -> Out {
    let mut sink = Collect::default();
    bacnet::Session::default().parse(dir, data, &mut sink);
    assert!(sink.pdus.len() <= 1);
    let pdu = sink
        .pdus
        .first()
        .map(|(_, s)| serde_json::from_str::<Value>(s).unwrap()["bacnet"].clone())
        .unwrap_or(Value::Null);
    Out {
        pdu,
        events: sink.events.iter().map(|(_, e)| e.name).collect(),
        facts: sink.facts,
    }
}

fn run(data: &[u8]) -> Out {
    run_dir(Direction::ToServer, data)
}

#[track_caller]
fn has(o: &Out, fields: Value) {
    for (k, v) in fields.as_object().unwrap() {
        assert_eq!(o.pdu.get(k), Some(v), "field {k} in {}", o.pdu);
    }
}

// ---------------------------------------------------------------- BVLC functions

#[test]
fn bvlc_result() {
    let o = run(&bvlc(0x00, "0010"));
    has(
        &o,
        json!({"bvlc_function": 0, "bvlc_length": 6, "bvlc_result": 16}),
    );
    assert!(o.events.is_empty());
    assert!(o.pdu.get("apdu_type").is_none());
}

#[test]
fn write_and_read_bdt() {
    let o = run(&bvlc(0x01, "c0a80101bac0ffffffff c0a80201bac0ffffff00"));
    has(
        &o,
        json!({"bvlc_function": 1, "table": [
        {"address": "192.168.1.1:47808", "mask": "255.255.255.255"},
        {"address": "192.168.2.1:47808", "mask": "255.255.255.0"}]}),
    );
    let o = run(&bvlc(0x02, ""));
    has(&o, json!({"bvlc_function": 2}));
    assert!(o.events.is_empty());
    let o = run(&bvlc(0x03, "0a000001bac0ffffffff"));
    has(
        &o,
        json!({"bvlc_function": 3, "table": [{"address": "10.0.0.1:47808", "mask": "255.255.255.255"}]}),
    );
}

#[test]
fn forwarded_npdu_keeps_original_address() {
    let o = run(&bvlc(0x04, "c0a80105bac1 0100 1008"));
    has(
        &o,
        json!({"bvlc_function": 4, "forwarded_from": "192.168.1.5:47809", "apdu_type": 1, "service": 8}),
    );
}

#[test]
fn foreign_device_functions() {
    has(
        &run(&bvlc(0x05, "003c")),
        json!({"bvlc_function": 5, "ttl": 60}),
    );
    has(&run(&bvlc(0x06, "")), json!({"bvlc_function": 6}));
    has(
        &run(&bvlc(0x07, "c0a80109bac0003c0040")),
        json!({"bvlc_function": 7, "table": [{"address": "192.168.1.9:47808", "ttl": 60, "remaining": 64}]}),
    );
    has(
        &run(&bvlc(0x08, "c0a80109bac0")),
        json!({"bvlc_function": 8, "fdt_entry": "192.168.1.9:47808"}),
    );
}

#[test]
fn broadcast_functions_and_secure_bvll() {
    has(
        &run(&bvlc(0x09, "0100 1008")),
        json!({"bvlc_function": 9, "apdu_type": 1, "service": 8}),
    );
    has(
        &run(&bvlc(0x0B, "0100 1008")),
        json!({"bvlc_function": 11, "apdu_type": 1, "service": 8}),
    );
    has(
        &run(&bvlc(0x0A, "0100 1008")),
        json!({"bvlc_function": 10, "apdu_type": 1, "service": 8}),
    );
    let o = run(&bvlc(0x0C, "01020304"));
    has(&o, json!({"bvlc_function": 12, "secure_bvll_length": 4}));
}

#[test]
fn unknown_function_and_bad_length() {
    let o = run(&bvlc(0x0D, "00"));
    has(&o, json!({"bvlc_function": 13}));
    assert!(o.events.contains(&"bacnet.malformed_bvlc"));
    let mut d = unicast("1008");
    d[3] = 0x40;
    let o = run(&d);
    assert!(o.events.contains(&"bacnet.bad_length"));
    has(&o, json!({"service": 8}));
    // Not BVLC at all: no PDU.
    let o = run(&[0x82, 0x0a, 0x00, 0x06, 0x01, 0x00]);
    assert!(o.pdu.is_null());
    assert!(run(&[0x81]).pdu.is_null());
    // Truncated fixed payloads.
    assert!(run(&bvlc(0x05, "00"))
        .events
        .contains(&"bacnet.malformed_bvlc"));
    assert!(run(&bvlc(0x04, "c0a8"))
        .events
        .contains(&"bacnet.malformed_bvlc"));
}

// ---------------------------------------------------------------- NPDU

#[test]
fn routed_npdu() {
    // DNET 5 / DADR 0a, SNET 3 / SADR 6 octets, hop count 254, expecting reply.
    let o = run(&bvlc(
        0x0A,
        "012c 0005 01 0a 0003 06 c0a80101bac0 fe 0005010c0c0080000119 55",
    ));
    has(
        &o,
        json!({"dnet": 5, "dadr": "0a", "snet": 3, "sadr": "c0a80101bac0", "hop_count": 254,
                   "expecting_reply": true, "apdu_type": 0, "service": 12, "invoke_id": 1}),
    );
    // Global broadcast, DLEN 0.
    let o = run(&bvlc(0x0B, "0120 ffff 00 ff 1008"));
    has(
        &o,
        json!({"dnet": 65535, "dadr": "", "hop_count": 255, "service": 8}),
    );
    // Truncated routing header.
    let o = run(&bvlc(0x0A, "0120 ff"));
    assert!(o.events.contains(&"bacnet.malformed_npdu"));
    // Wrong version.
    let o = run(&bvlc(0x0A, "0200 1008"));
    assert!(o.events.contains(&"bacnet.malformed_npdu"));
    has(&o, json!({"npdu_version": 2}));
    assert!(o.pdu.get("apdu_type").is_none());
}

#[test]
fn network_layer_messages() {
    let o = run(&bvlc(0x0B, "0180 00"));
    has(
        &o,
        json!({"network_message": 0, "network_message_name": "Who-Is-Router-To-Network"}),
    );
    assert!(o.pdu.get("apdu_type").is_none());
    has(
        &run(&bvlc(0x0B, "0180 00 0007")),
        json!({"network_message": 0, "networks": [7]}),
    );
    has(
        &run(&bvlc(0x0B, "0180 01 00020003")),
        json!({"network_message": 1, "networks": [2, 3]}),
    );
    has(
        &run(&bvlc(0x0B, "0180 03 01 0009")),
        json!({"network_message": 3, "reject_network_reason": 1, "networks": [9]}),
    );
    has(
        &run(&bvlc(0x0B, "0180 06 01 0001 05 00")),
        json!({"network_message": 6}),
    );
    has(
        &run(&bvlc(0x0B, "0180 13 0004 01")),
        json!({"network_message": 19, "networks": [4]}),
    );
    has(
        &run(&bvlc(0x0B, "0180 80 0104 aabb")),
        json!({"network_message": 128, "vendor_id": 260}),
    );
    assert!(run(&bvlc(0x0B, "0180 01 000200"))
        .events
        .contains(&"bacnet.malformed_npdu"));
    assert!(run(&bvlc(0x0B, "0180 06 02 0001 05 00"))
        .events
        .contains(&"bacnet.malformed_npdu"));
}

// ---------------------------------------------------------------- discovery

#[test]
fn who_is_with_and_without_range() {
    has(
        &run(&unicast("1008")),
        json!({"apdu_type": 1, "service": 8, "service_name": "who-Is"}),
    );
    let o = run(&unicast("1008 0901 1a03e9"));
    has(&o, json!({"low_limit": 1, "high_limit": 1001}));
    assert!(o.pdu.get("invoke_id").is_none());
    assert!(run(&unicast("1008 0901"))
        .events
        .contains(&"bacnet.malformed_apdu"));
}

#[test]
fn i_am_fields_and_facts() {
    // bacpypes3 device 1001, max APDU 1024, segmented-both, vendor 999.
    let o = run_dir(
        Direction::ToClient,
        &hex("810a001501001000c4020003e922040091002203e7"),
    );
    has(
        &o,
        json!({"apdu_type": 1, "service": 0, "device_instance": 1001, "max_apdu": 1024,
                   "segmentation_supported": 0, "vendor_id": 999, "object_type": 8}),
    );
    assert!(o
        .facts
        .contains(&(FactKind::BacnetDeviceInstance, Side::Server, "1001".into())));
    assert!(o
        .facts
        .contains(&(FactKind::BacnetVendorId, Side::Server, "999".into())));
    // Vendor 5 is Johnson Controls.
    let o = run(&unicast("1000 c4020000fe 2205c4 9103 2105"));
    has(
        &o,
        json!({"device_instance": 254, "vendor_id": 5, "vendor_name": "Johnson Controls, Inc.", "segmentation_supported": 3}),
    );
    assert!(o.facts.contains(&(
        FactKind::BacnetVendorRegistered,
        Side::Client,
        "Johnson Controls, Inc.".into()
    )));
}

#[test]
fn who_has_and_i_have() {
    let o = run(&unicast("1007 3d0500 74656d70"));
    has(
        &o,
        json!({"service": 7, "object_name": {"type": "character_string", "value": "temp"}}),
    );
    let o = run(&unicast("1007 2c00800005"));
    has(&o, json!({"object_type": 2, "object_instance": 5}));
    let o = run(&unicast("1001 c4020003e9 c400800001 750500 74656d70"));
    has(
        &o,
        json!({"service": 1, "source_device": 1001, "object_type": 2, "object_instance": 1,
                   "object_name": {"type": "character_string", "value": "temp"}}),
    );
}

// ---------------------------------------------------------------- object access

#[test]
fn read_property_request_and_ack() {
    let o = run(&unicast("0005010c 0c00800001 1955"));
    has(
        &o,
        json!({"apdu_type": 0, "invoke_id": 1, "service": 12, "object_type": 2, "object_instance": 1,
                   "property_id": 85, "max_apdu": 1476, "segmented": false}),
    );
    let o = run(&unicast("0005010c 0c00800001 1955 2903"));
    has(&o, json!({"array_index": 3}));
    let o = run(&unicast("30010c 0c00800001 1955 3e 4441ac0000 3f"));
    has(
        &o,
        json!({"apdu_type": 3, "invoke_id": 1, "service": 12, "property_id": 85,
                   "value": {"type": "real", "value": 21.5}}),
    );
}

#[test]
fn read_property_ack_of_device_gives_facts() {
    for (prop, kind) in [
        ("4d", FactKind::BacnetObjectName),
        ("46", FactKind::BacnetModelName),
        ("2c", FactKind::BacnetFirmwareRevision),
        ("0c", FactKind::BacnetApplicationSoftwareVersion),
    ] {
        let o = run_dir(
            Direction::ToClient,
            &unicast(&format!(
                "30020c 0c020003e9 19{prop} 3e 750900 706c632d31303031 3f"
            )),
        );
        has(
            &o,
            json!({"value": {"type": "character_string", "value": "plc-1001"}}),
        );
        assert_eq!(o.facts, vec![(kind, Side::Server, "plc-1001".to_string())]);
    }
    // Not the device object: no fact.
    let o = run(&unicast(
        "30020c 0c00800001 194d 3e 750900 706c632d31303031 3f",
    ));
    assert!(o.facts.is_empty());
}

#[test]
fn read_property_multiple_request_and_ack() {
    // bacpypes3's RPM: device,1001 [vendor-name, model-name, firmware-revision], analog-value,1 [present-value, units].
    let o = run(&hex("810a0025010405ff030e0c020003e91e0979094609
2c1f0c008000011e0955097 51f"
        .replace(['\n', ' '], "")
        .as_str()));
    has(
        &o,
        json!({"service": 14, "object_type": 8, "object_instance": 1001, "property_id": 121,
                   "object_count": 2, "property_count": 5}),
    );
    let o = run_dir(Direction::ToClient, &unicast("30030e 0c020003e9 1e 2979 4e 750500 61636d65 4f 2946 4e 750300 7831 4f 292c 5e 9102 9120 5f 1f"));
    has(
        &o,
        json!({"service": 14, "object_count": 1, "property_count": 3, "property_id": 121,
                   "value": {"type": "character_string", "value": "acme"}}),
    );
    assert!(o
        .facts
        .contains(&(FactKind::BacnetVendorName, Side::Server, "acme".into())));
    assert!(o
        .facts
        .contains(&(FactKind::BacnetModelName, Side::Server, "x1".into())));
}

#[test]
fn write_property_and_multiple() {
    let o = run(&unicast("0005020f 0c00800001 1955 3e 4441b00000 3f 4908"));
    has(
        &o,
        json!({"service": 15, "object_type": 2, "property_id": 85, "write_priority": 8,
                   "value": {"type": "real", "value": 22.0}}),
    );
    assert!(o.events.contains(&"bacnet.write_property"));
    let o = run(&unicast(
        "00050310 0c00800001 1e 0955 2e 4441b00000 2f 3908 1f",
    ));
    has(
        &o,
        json!({"service": 16, "object_count": 1, "property_count": 1, "write_priority": 8, "property_id": 85}),
    );
    assert!(o.events.contains(&"bacnet.write_property_multiple"));
    // Simple-ACK of WriteProperty.
    has(
        &run(&unicast("20020f")),
        json!({"apdu_type": 2, "invoke_id": 2, "service": 15}),
    );
}

// ---------------------------------------------------------------- COV

#[test]
fn subscribe_cov_and_notifications() {
    let o = run(&unicast("00050405 0907 1c00800001 2900 393c"));
    has(
        &o,
        json!({"service": 5, "process_id": 7, "object_type": 2, "issue_confirmed": false, "lifetime": 60, "cancel": false}),
    );
    has(
        &run(&unicast("00050405 0907 1c00800001")),
        json!({"cancel": true}),
    );
    let cov = "0907 1c020003e9 2c00800001 393c 4e 0955 2e 4441c80000 2f 096f 2e 820400 2f 4f";
    let o = run(&unicast(&format!("00050501 {cov}")));
    has(
        &o,
        json!({"service": 1, "process_id": 7, "source_device": 1001, "object_instance": 1, "lifetime": 60,
                   "property_id": 85, "property_count": 2, "value": {"type": "real", "value": 25.0}}),
    );
    let o = run(&unicast(&format!("1002 {cov}")));
    has(
        &o,
        json!({"apdu_type": 1, "service": 2, "property_count": 2}),
    );
}

// ---------------------------------------------------------------- device management

#[test]
fn device_communication_control() {
    let o = run(&unicast("00050611 090a 1901 2d0500 70617373"));
    has(
        &o,
        json!({"service": 17, "duration": 10, "enable_disable": 1, "password_present": true}),
    );
    assert!(o.events.contains(&"bacnet.device_communication_control"));
}

#[test]
fn reinitialize_device() {
    let o = run(&unicast("00050714 0900"));
    has(
        &o,
        json!({"service": 20, "reinitialized_state": 0, "password_present": false}),
    );
    assert!(o.events.contains(&"bacnet.reinitialize_device"));
}

#[test]
fn time_synchronization() {
    let o = run(&unicast("1006 a47c0b1603 b40c1e0000"));
    has(
        &o,
        json!({"service": 6, "value": {"type": "date", "value": {"year": 2024, "month": 11, "day": 22, "weekday": 3}},
                   "time": {"type": "time", "value": {"hour": 12, "minute": 30, "second": 0, "hundredths": 0}}}),
    );
    has(
        &run(&unicast("1009 a47c0b1603 b40c1e0000")),
        json!({"service": 9, "service_name": "utcTimeSynchronization"}),
    );
}

#[test]
fn atomic_file_services() {
    let o = run(&unicast("00050806 c402800001 0e 3100 220400 0f"));
    has(
        &o,
        json!({"service": 6, "object_type": 10, "file_access": 0, "file_start": 0, "file_count": 1024}),
    );
    let o = run(&unicast("300806 11 0e 3100 63616263 0f"));
    has(
        &o,
        json!({"service": 6, "end_of_file": true, "file_data_length": 3}),
    );
    let o = run(&unicast("00050907 c402800001 0e 3164 63616263 0f"));
    has(
        &o,
        json!({"service": 7, "file_access": 0, "file_start": 100, "file_data_length": 3}),
    );
    assert!(o.events.contains(&"bacnet.atomic_write_file"));
    let o = run(&unicast("00050907 c402800001 1e 3101 2102 6161 6162 1f"));
    has(
        &o,
        json!({"file_access": 1, "file_start": 1, "file_count": 2, "file_data_length": 2}),
    );
    has(
        &run(&unicast("300907 0964")),
        json!({"service": 7, "file_start": 100}),
    );
}

#[test]
fn private_transfer_vendor() {
    has(
        &run(&unicast("1004 0905 1901")),
        json!({"service": 4, "vendor_id": 5, "vendor_name": "Johnson Controls, Inc."}),
    );
}

// ---------------------------------------------------------------- segmentation, errors

#[test]
fn segmented_messages() {
    // First segment of a Complex-ACK, more follow, window 3: parameters cut short are fine.
    let o = run(&unicast("3c5e00030c 0c020000fe194c3ec400c00000c400"));
    has(
        &o,
        json!({"apdu_type": 3, "segmented": true, "more_follows": true, "sequence_number": 0,
                   "window_size": 3, "invoke_id": 94, "service": 12, "object_type": 8}),
    );
    assert!(o.events.is_empty(), "{:?}", o.events);
    // A later segment: header only.
    let o = run(&unicast("385e02030c c40440018e3f"));
    has(
        &o,
        json!({"segmented": true, "more_follows": false, "sequence_number": 2, "service": 12}),
    );
    assert!(o.pdu.get("object_type").is_none());
    // Segmented confirmed request, segmented response accepted, 16 segments.
    let o = run(&unicast("0e4507010310 0c00800001"));
    has(
        &o,
        json!({"apdu_type": 0, "segmented": true, "more_follows": true, "segmented_response_accepted": true,
                   "max_segments": 16, "max_apdu": 1476, "invoke_id": 7, "sequence_number": 1, "window_size": 3, "service": 16}),
    );
    // Segment-ACK (negative, from server).
    let o = run(&unicast("435e0003"));
    has(
        &o,
        json!({"apdu_type": 4, "negative_ack": true, "sent_by_server": true, "invoke_id": 94, "sequence_number": 0, "window_size": 3}),
    );
    assert!(o.pdu.get("service").is_none());
}

#[test]
fn error_reject_abort() {
    let o = run(&unicast("50030c 9101 911f"));
    has(
        &o,
        json!({"apdu_type": 5, "invoke_id": 3, "service": 12, "error_class": 1, "error_code": 31}),
    );
    assert!(o.events.contains(&"bacnet.error_response"));
    // Constructed error (WritePropertyMultiple): inside opening tag 0.
    let o = run(&unicast("500410 0e 9102 9120 0f 1c00800001"));
    has(
        &o,
        json!({"service": 16, "error_class": 2, "error_code": 32}),
    );
    let o = run(&unicast("603a09"));
    has(
        &o,
        json!({"apdu_type": 6, "invoke_id": 58, "reject_reason": 9}),
    );
    assert!(o.pdu.get("service").is_none());
    assert!(o.events.contains(&"bacnet.reject"));
    let o = run(&unicast("710100"));
    has(
        &o,
        json!({"apdu_type": 7, "invoke_id": 1, "abort_reason": 0, "sent_by_server": true}),
    );
    assert!(o.events.contains(&"bacnet.abort"));
}

#[test]
fn unknown_services_and_types() {
    let o = run(&unicast("1020"));
    has(&o, json!({"apdu_type": 1, "service": 32}));
    assert!(o.pdu.get("service_name").is_none());
    assert!(o.events.contains(&"bacnet.unknown_service"));
    assert!(run(&unicast("00050150"))
        .events
        .contains(&"bacnet.unknown_service"));
    let o = run(&unicast("80"));
    has(&o, json!({"apdu_type": 8}));
    assert!(o.events.contains(&"bacnet.malformed_apdu"));
}

#[test]
fn truncated_and_malformed() {
    // Every prefix of a good datagram is handled.
    let good = unicast("0005020f 0c00800001 1955 3e 4441b00000 3f 4908");
    for n in 0..good.len() {
        let _ = run(&good[..n]);
    }
    assert!(run(&unicast("0005010c 0c0080"))
        .events
        .contains(&"bacnet.malformed_apdu"));
    assert!(run(&unicast("0005"))
        .events
        .contains(&"bacnet.malformed_apdu"));
    // Nested opening tags beyond the limit.
    let deep = format!("0005020f 0c00800001 1955 3e {} ", "0e".repeat(40));
    assert!(run(&unicast(&deep))
        .events
        .contains(&"bacnet.tag_depth_exceeded"));
}

// ---------------------------------------------------------------- probe

#[test]
fn probe_verdicts() {
    let d = Direction::ToServer;
    assert_eq!(bacnet::probe(d, &unicast("1008")), Probe::Yes);
    assert_eq!(
        bacnet::probe(d, &bvlc(0x04, "c0a80105bac0 0100 1008")),
        Probe::Yes
    );
    assert_eq!(bacnet::probe(d, &bvlc(0x00, "0000")), Probe::Yes);
    assert_eq!(bacnet::probe(d, &bvlc(0x05, "003c")), Probe::Yes);
    assert_eq!(
        bacnet::probe(d, &bvlc(0x03, "0a000001bac0ffffffff")),
        Probe::Yes
    );
    assert_eq!(bacnet::probe(d, &[]), Probe::NeedMore);
    assert_eq!(bacnet::probe(d, &[0x81, 0x0a]), Probe::NeedMore);
    assert_eq!(
        bacnet::probe(d, &[0x81, 0x0a, 0x00, 0x20, 0x01]),
        Probe::NeedMore
    );
    assert_eq!(
        bacnet::probe(d, &[0x82, 0x0a, 0x00, 0x06, 0x01, 0x00]),
        Probe::No
    );
    assert_eq!(bacnet::probe(d, &bvlc(0x0D, "")), Probe::No);
    assert_eq!(bacnet::probe(d, &bvlc(0x0A, "0200 1008")), Probe::No);
    assert_eq!(bacnet::probe(d, &bvlc(0x05, "003c00")), Probe::No);
    assert_eq!(bacnet::probe(d, b"GET / HTTP/1.1\r\n"), Probe::No);
}
