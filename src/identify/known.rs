//! The known-devices file: identities managed elsewhere (names, labels, addresses), merged into
//! the inventory so that a device named by its owner and the same device inferred from traffic
//! are one record. Two formats: our TOML list, and the device list EdgeX Foundry's
//! core-metadata service returns (`GET /api/v3/device/all`), so a gateway's EdgeX registry can
//! be imported as it is.

use crate::identify::Mac;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::Path;

/// One known device.
#[derive(Clone, Debug, PartialEq)]
pub struct Known {
    pub name: String,
    pub mac: Option<Mac>,
    pub ip: Option<IpAddr>,
    pub labels: Vec<String>,
    pub vendor: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default)]
    device: Vec<TomlDevice>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlDevice {
    name: String,
    mac: Option<String>,
    ip: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    vendor: Option<String>,
}

#[derive(Deserialize)]
struct EdgexList {
    devices: Vec<EdgexDevice>,
}

#[derive(Deserialize)]
struct EdgexDevice {
    name: String,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    protocols: serde_json::Map<String, serde_json::Value>,
    #[serde(default, rename = "profileName")]
    profile_name: Option<String>,
}

/// Read a known-devices file: `.json` is taken as an EdgeX core-metadata device list,
/// anything else as TOML (`[[device]] name = "...", mac = "...", ip = "...", labels = [...]`).
pub fn load(path: &Path) -> Result<Vec<Known>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("known devices {}: {e}", path.display()))?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        parse_edgex(&text).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        parse_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

pub fn parse_toml(text: &str) -> Result<Vec<Known>, String> {
    let f: TomlFile =
        toml::from_str(text).map_err(|e| crate::detect::rules::toml_error(text, &e))?;
    f.device
        .into_iter()
        .map(|d| {
            let mac = d.mac.as_deref().map(str::parse::<Mac>).transpose()?;
            let ip =
                d.ip.as_deref()
                    .map(|s| {
                        s.parse::<IpAddr>()
                            .map_err(|_| format!("`{s}` is not an IP address"))
                    })
                    .transpose()?;
            if mac.is_none() && ip.is_none() {
                return Err(format!("device `{}` needs a mac or an ip", d.name));
            }
            Ok(Known {
                name: d.name,
                mac,
                ip,
                labels: d.labels,
                vendor: d.vendor,
            })
        })
        .collect()
}

/// EdgeX device list: the address comes from any protocol block's `Address` (or `address`,
/// `host`), when it is an IP; a MAC from a `MAC`/`mac` property where a device service sets one.
pub fn parse_edgex(text: &str) -> Result<Vec<Known>, String> {
    let list: EdgexList =
        serde_json::from_str(text).map_err(|e| format!("not an EdgeX device list: {e}"))?;
    let mut out = Vec::new();
    for d in list.devices {
        let mut ip = None;
        let mut mac = None;
        for block in d.protocols.values() {
            let Some(obj) = block.as_object() else {
                continue;
            };
            for (k, v) in obj {
                let Some(v) = v.as_str() else { continue };
                match k.to_ascii_lowercase().as_str() {
                    "address" | "host" | "ip" => ip = ip.or_else(|| v.parse::<IpAddr>().ok()),
                    "mac" | "macaddress" => mac = mac.or_else(|| v.parse::<Mac>().ok()),
                    _ => {}
                }
            }
        }
        if ip.is_none() && mac.is_none() {
            // A device with no network address (a serial Modbus unit, say): nothing to merge.
            continue;
        }
        let mut labels = d.labels;
        if let Some(p) = d.profile_name {
            labels.push(format!("profile:{p}"));
        }
        out.push(Known {
            name: d.name,
            mac,
            ip,
            labels,
            vendor: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edgex_list() {
        let j = r#"{"apiVersion":"v3","statusCode":200,"totalCount":2,"devices":[
          {"name":"boiler-plc","labels":["boiler"],"profileName":"m221","serviceName":"device-modbus",
           "protocols":{"modbus-tcp":{"Address":"10.20.0.12","Port":"502","UnitID":"1"}}},
          {"name":"serial-meter","protocols":{"modbus-rtu":{"Address":"/dev/ttyUSB0"}}}]}"#;
        let k = parse_edgex(j).unwrap_or_default();
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].name, "boiler-plc");
        assert_eq!(k[0].ip, "10.20.0.12".parse().ok());
        assert!(k[0].labels.contains(&"profile:m221".to_string()));
        assert!(parse_edgex("{").is_err());
    }

    #[test]
    fn toml_list_and_errors() {
        let k = parse_toml("[[device]]\nname = \"hmi\"\nip = \"10.20.1.5\"\nlabels = [\"ops\"]\n")
            .unwrap_or_default();
        assert_eq!(k.len(), 1);
        let e = parse_toml("[[device]]\nname = \"x\"\n")
            .err()
            .unwrap_or_default();
        assert!(e.contains("needs a mac or an ip"), "{e}");
        let e = parse_toml("[[device]]\nname = \"x\"\nbogus = 1\n")
            .err()
            .unwrap_or_default();
        assert!(e.starts_with("3: "), "{e}");
    }
}
