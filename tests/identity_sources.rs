//! Identity sources read off real bytes by the whole binary (`replay --inventory`): passive
//! TCP/IP signatures of SYNs and SYN+ACKs, DHCP's parameter request list, and the Sparkplug B
//! topic namespace; and the fingerprints that turn them into claims.

#[path = "common/live.rs"]
mod live;

use live::cargo_bin;
use serde_json::Value;
use std::process::Command;

fn at_ip<'a>(devs: &'a [Value], ip: &str) -> &'a Value {
    devs.iter()
        .find(|d| {
            d["ips"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x["addr"] == ip))
        })
        .unwrap_or_else(|| panic!("no device at {ip}: {devs:?}"))
}

fn facts<'a>(d: &'a Value, key: &str) -> Vec<&'a str> {
    d["facts"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| f["key"] == key)
                .filter_map(|f| f["value"].as_str())
                .collect()
        })
        .unwrap_or_default()
}

fn shared(p: &str) -> std::path::PathBuf {
    live::repo().join("../shared/pcaps").join(p)
}

/// iti_ModbusTCP.pcap: a Windows 7 HMI (141.81.0.10) opens Modbus connections to PLCs. The
/// signatures are what p0f 3.09b prints for these frames (the dissector's unit test has the
/// same bytes); the Windows fingerprint names the OS at confidence 2, and the PLC's tiny stack
/// (one option, no window scaling) claims no OS.
#[test]
fn syn_and_syn_ack_signatures_of_a_windows_hmi_and_a_plc() {
    let devs = live::replay_inventory(&shared("public/modbus/iti_ModbusTCP.pcap"), "id-syn");
    let hmi = at_ip(&devs, "141.81.0.10");
    assert_eq!(
        facts(hmi, "tcp_syn"),
        ["4:128+0:0:1460:8192,0:mss,nop,nop,sok:df,id+:0"]
    );
    assert_eq!(hmi["identity"]["os"]["value"], "Windows");
    assert_eq!(hmi["identity"]["os"]["confidence"], 2);
    let plc = at_ip(&devs, "141.81.0.46");
    assert_eq!(facts(plc, "tcp_synack"), ["4:64+0:0:1460:8192,0:mss::0"]);
    assert!(plc["identity"]["os"].is_null(), "{}", plc["identity"]);
    // A SYN says nothing of the server, a SYN+ACK nothing of the client.
    assert!(facts(hmi, "tcp_synack").is_empty());
    assert!(facts(plc, "tcp_syn").is_empty());
}

/// tobie_dhcp_rogue_server.pcapng: the client PC6 asks for options 1,3,6,15 (tshark:
/// `dhcp.option.request_list_item`) and is given 10.2.1.103 by the ACK; its hostname and
/// parameter list land on the device at that address. The list matches no shipped
/// fingerprint, so no OS is claimed from it.
#[test]
fn dhcp_parameter_request_list_lands_on_the_acked_device() {
    let devs = live::replay_inventory(
        &shared("public/attacks/tobie_dhcp_rogue_server.pcapng"),
        "id-dhcp",
    );
    let pc = at_ip(&devs, "10.2.1.103");
    assert_eq!(facts(pc, "dhcp_params"), ["1,3,6,15"]);
    assert_eq!(facts(pc, "dhcp_hostname"), ["PC6"]);
    assert!(pc["identity"]["os"].is_null(), "{}", pc["identity"]);
    // The servers asked nothing.
    assert!(facts(at_ip(&devs, "10.2.1.11"), "dhcp_params").is_empty());
}

/// pcaps/mqtt/sparkplug-mosquitto.pcap (scripts/record-sparkplug.sh): an edge node publishes
/// NBIRTH/DBIRTH/DDATA for group Plant1 with its NDEATH as will; a host application publishes
/// its STATE and an NCMD. Each is told apart by what it publishes.
#[test]
fn sparkplug_edge_node_and_host_application() {
    let devs = live::replay_inventory(
        &live::repo().join("pcaps/mqtt/sparkplug-mosquitto.pcap"),
        "id-spb",
    );
    let edge = at_ip(&devs, "127.0.0.2");
    assert_eq!(facts(edge, "mqtt_sparkplug"), ["edge_node"]);
    assert_eq!(facts(edge, "mqtt_sparkplug_group"), ["Plant1"]);
    assert_eq!(facts(edge, "mqtt_sparkplug_edge_node"), ["edge-gw-01"]);
    assert_eq!(facts(edge, "mqtt_sparkplug_device"), ["pump-3"]);
    assert_eq!(edge["identity"]["device_type"]["value"], "gateway");
    assert_eq!(
        edge["identity"]["software"]["value"],
        "Sparkplug B edge node edge-gw-01"
    );
    let host = at_ip(&devs, "127.0.0.3");
    assert_eq!(facts(host, "mqtt_sparkplug"), ["host_application"]);
    assert_eq!(facts(host, "mqtt_sparkplug_host"), ["scada-host"]);
    assert!(facts(host, "mqtt_sparkplug_edge_node").is_empty());
    assert_eq!(host["identity"]["device_type"]["value"], "server");
    // Recorded on Linux: both clients' SYNs carry Linux's option order at TTL 64.
    for d in [edge, host] {
        assert_eq!(d["identity"]["os"]["value"], "Linux", "{}", d["identity"]);
    }
    // The broker is a broker, not a Sparkplug party.
    let broker = at_ip(&devs, "127.0.0.1");
    assert!(facts(broker, "mqtt_sparkplug").is_empty());
    assert_eq!(broker["identity"]["device_type"]["value"], "broker");
}

/// A fingerprint file whose p0f pattern is malformed is refused with file:line.
#[test]
fn a_bad_p0f_pattern_is_refused_with_its_line() {
    let dir = live::temp_dir("id-p0f-bad");
    let fps = dir.join("fp");
    std::fs::create_dir_all(&fps).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        fps.join("mine.toml"),
        "# ours\n\n[[fingerprint]]\nname = \"x\"\nwhen = [{ fact = \"tcp_syn\", p0f = [\"*:64:0:*:8192:mss\"] }]\nos = \"y\"\nconfidence = 2\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(cargo_bin("edgetap", "edgetap"))
        .arg("replay")
        .arg("--fingerprints")
        .arg(&fps)
        .arg(shared("public/modbus/iti_ModbusTCP.pcap"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("mine.toml:3") && err.contains("p0f"), "{err}");
}

/// amqp-parser_amqp.pcap frames 26-31: a MacBook announces itself over mDNS (tshark: PTR
/// "Syed's MacBook Pro._companion-link._tcp.local", TXT model=MacBookPro14,2 on
/// _device-info._tcp, A 10.31.46.244, AAAA fe80::104c:2d29:9aa:9267). The model is the
/// device's own (confidence 4) and names Apple, a workstation running macOS.
#[test]
fn mdns_announcements_name_a_mac() {
    let devs = live::replay_inventory(&shared("public/amqp/amqp-parser_amqp.pcap"), "id-mdns");
    let mac = at_ip(&devs, "10.31.46.244");
    assert_eq!(facts(mac, "mdns_hostname"), ["Syeds-MacBook-Pro.local"]);
    assert_eq!(facts(mac, "mdns_model"), ["MacBookPro14,2"]);
    assert_eq!(facts(mac, "mdns_instance"), ["Syed's MacBook Pro"]);
    assert!(facts(mac, "mdns_service").contains(&"_companion-link._tcp"));
    let id = &mac["identity"];
    assert_eq!(id["vendor"]["value"], "Apple");
    assert_eq!(id["vendor"]["confidence"], 4);
    assert_eq!(id["model"]["value"], "MacBookPro14,2");
    assert_eq!(id["os"]["value"], "macOS");
    assert_eq!(id["device_type"]["value"], "workstation");
    assert_eq!(mac["name"], "Syeds-MacBook-Pro.local");
}

/// icsnpp_open62541_discover_getendpoints_discover_urls.pcap frame 1: an open62541 LDS
/// announces `LDS-Maui-16714._opcua-tcp._tcp.local`. The service and instance are facts; the
/// A records open62541 hangs on the instance name are not taken for a host name.
#[test]
fn mdns_opcua_server_announcement() {
    let devs = live::replay_inventory(
        &shared("public/opcua/icsnpp_open62541_discover_getendpoints_discover_urls.pcap"),
        "id-mdns-ua",
    );
    let lds = at_ip(&devs, "192.168.224.105");
    assert_eq!(facts(lds, "mdns_service"), ["_opcua-tcp._tcp"]);
    assert_eq!(facts(lds, "mdns_instance"), ["LDS-Maui-16714"]);
    assert!(facts(lds, "mdns_hostname").is_empty());
    assert_eq!(lds["identity"]["device_type"]["value"], "server");
}

/// pcaps/discovery/netbios-nmbd.pcap (scripts/record-netbios.sh, a real Samba nmbd): the host
/// registers EDGETAP-HMI (<00>, <20>) and the group PLANT (<00>); node status answers list
/// them. They land on the nmbd host, which is named after its NetBIOS name; the asker has none.
#[test]
fn netbios_names_of_a_samba_host() {
    let devs = live::replay_inventory(
        &live::repo().join("pcaps/discovery/netbios-nmbd.pcap"),
        "id-nbns",
    );
    let (hmi, others): (Vec<&Value>, Vec<&Value>) = devs
        .iter()
        .partition(|d| !facts(d, "netbios_name").is_empty());
    assert_eq!(hmi.len(), 1, "{devs:?}");
    let hmi = hmi[0];
    assert_eq!(facts(hmi, "netbios_name"), ["EDGETAP-HMI"]);
    assert_eq!(facts(hmi, "netbios_group"), ["PLANT"]);
    assert_eq!(hmi["name"], "EDGETAP-HMI");
    assert!(others.iter().all(|d| facts(d, "netbios_group").is_empty()));
}

/// icsnpp_bacnet_example.pcap: thirty simulated BACnet devices (172.20.32.100-129, each its
/// own I-Am vendor id, tshark `bacapp.vendor_identifier`) reach the capture through one
/// router's MAC, so the first of them are one record before the MAC is known as a router's.
/// Their vendors are claimed equally surely: the record shows no vendor above confidence 2,
/// keeps every claim, and marks the conflict.
#[test]
fn several_devices_behind_one_mac_claim_nothing_for_sure() {
    let devs = live::replay_inventory(
        &shared("public/bacnet/icsnpp_bacnet_example.pcap"),
        "id-tie",
    );
    let blob = at_ip(&devs, "172.20.32.101");
    let v = &blob["identity"]["vendor"];
    assert_eq!(v["conflict"], true, "{v}");
    assert_eq!(v["confidence"], 2, "{v}");
    let claims = v["claims"].as_array().cloned().unwrap_or_default();
    let sure = claims.iter().filter(|c| c["confidence"] == 4).count();
    assert!(sure > 5, "{v}");
    // The MAC is the router's (a Netgear), claimed at 3 beside them.
    assert!(
        claims
            .iter()
            .any(|c| c["confidence"] == 3 && c["value"] == "Netgear"),
        "{v}"
    );
    // No record anywhere in the capture shows a vendor at 4-5 that another claim as sure
    // contradicts.
    for d in &devs {
        let v = &d["identity"]["vendor"];
        if v["confidence"].as_u64().unwrap_or(0) >= 4 {
            let top = v["confidence"].clone();
            let rivals = v["claims"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["confidence"] == top && c["value"] != v["value"])
                .count();
            assert_eq!(rivals, 0, "{v}");
        }
    }
}
