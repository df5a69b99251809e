//! The OPC-UA server's BuildInfo in the inventory: `edgetap replay --inventory` on
//! `pcaps/opcua/asyncua-buildinfo.pcap` (an asyncua client on 127.0.0.1 reading ServerStatus,
//! BuildInfo and BuildInfo's children from an asyncua server on 127.0.0.2) gives the server's
//! device the five build facts, and the fingerprints' vendor, product and software from them;
//! the client's device gets none of them.

#[path = "common/live.rs"]
mod live;

use serde_json::Value;

const BUILD: [(&str, &str); 5] = [
    ("opcua_build_product_uri", "urn:edgetap:buildinfo:product"),
    ("opcua_manufacturer_name", "Edgetap Test Works"),
    ("opcua_product_name", "BuildInfo Demo Server"),
    ("opcua_software_version", "3.4.5"),
    ("opcua_build_number", "20261203.42"),
];

fn ip_of(d: &Value) -> Vec<&str> {
    d["ips"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["addr"].as_str()).collect())
        .unwrap_or_default()
}

fn facts_of(d: &Value) -> Vec<(String, String)> {
    d["facts"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["key"].as_str().unwrap_or("").to_string(),
                        f["value"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn servers_buildinfo_facts_reach_the_inventory() {
    let pcap = live::repo().join("pcaps/opcua/asyncua-buildinfo.pcap");
    let devs = live::replay_inventory(&pcap, "identity-opcua");
    let server = devs
        .iter()
        .find(|d| ip_of(d) == ["127.0.0.2"])
        .unwrap_or_else(|| panic!("no server device: {devs:?}"));
    let client = devs
        .iter()
        .find(|d| ip_of(d) == ["127.0.0.1"])
        .unwrap_or_else(|| panic!("no client device: {devs:?}"));

    let facts = facts_of(server);
    for (k, v) in BUILD {
        assert!(
            facts.iter().any(|(fk, fv)| fk == k && fv == v),
            "server lacks {k} = {v}: {facts:?}"
        );
        // One value per fact although three reads carried it.
        assert_eq!(facts.iter().filter(|(fk, _)| fk == k).count(), 1, "{k}");
    }
    // The first carrier: the ServerStatus answer, frame 15.
    let frame = server["facts"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["key"] == "opcua_build_number"))
        .map(|f| f["frame"].clone());
    assert_eq!(frame, Some(Value::from(15)));

    let id = &server["identity"];
    assert_eq!(id["vendor"]["value"], "Edgetap Test Works", "{id}");
    assert_eq!(id["product"]["value"], "BuildInfo Demo Server", "{id}");
    assert_eq!(id["software"]["value"], "3.4.5", "{id}");

    let cfacts = facts_of(client);
    assert!(
        !cfacts
            .iter()
            .any(|(k, _)| BUILD.iter().any(|(b, _)| b == k)),
        "client has build facts: {cfacts:?}"
    );
}
