//! A user's own fingerprints (`replay --fingerprints DIR`): read beside the shipped ones, their
//! claims appear in the inventory naming their file and line; a bad file stops the replay with
//! exit status 2 and `file:line`.

#[path = "common/live.rs"]
mod live;

use live::cargo_bin;
use serde_json::Value;
use std::process::Command;

#[test]
fn users_fingerprints_are_read_beside_the_shipped_ones() {
    let bin = cargo_bin("edgetap", "edgetap");
    let dir = live::temp_dir("identity-fp");
    let fps = dir.join("fingerprints");
    std::fs::create_dir_all(&fps).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        fps.join("site.toml"),
        "# our broker\n[[fingerprint]]\nname = \"Our site's message bus\"\nwhen = [{ fact = \"amqp_product\", equals = \"rabbitmq\" }]\nmodel = \"site bus {amqp_product}\"\nconfidence = 4\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let pcap = live::repo().join("../shared/pcaps/peers/amqp/amqp091-rabbitmq-pika.pcap");
    let inv = dir.join("inventory.json");
    let out = Command::new(&bin)
        .arg("replay")
        .arg("--alerts")
        .arg(dir.join("alerts.json"))
        .arg("--fingerprints")
        .arg(&fps)
        .arg("--inventory")
        .arg(&inv)
        .arg(&pcap)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let devs: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&inv).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let model = devs
        .iter()
        .find_map(|d| d["identity"]["model"].as_object().cloned())
        .unwrap_or_else(|| panic!("no model claimed: {devs:?}"));
    assert_eq!(model["value"], "site bus RabbitMQ");
    let by = model["claims"][0]["by"].as_str().unwrap_or("");
    assert!(by.contains("site.toml:2"), "{by}");
    // The shipped fingerprints still run beside it.
    assert!(devs
        .iter()
        .any(|d| d["identity"]["product"]["value"] == "RabbitMQ"));

    std::fs::write(
        fps.join("zz-bad.toml"),
        "[[fingerprint]]\nname = \"x\"\nwhen = [{ fact = \"no_such_fact\" }]\nvendor = \"y\"\nconfidence = 3\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(&bin)
        .arg("replay")
        .arg("--fingerprints")
        .arg(&fps)
        .arg(&pcap)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("zz-bad.toml:1") && err.contains("no_such_fact"),
        "{err}"
    );
}
