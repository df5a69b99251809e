//! `pcapgen scenario`: a whole site for testing learning and detection end to end.
//!
//! A site network 10.20.0.0/16 with PLCs (Modbus/TCP), a BACnet controller and workstation, an
//! MQTT broker with ESP32 sensors, an edge gateway (MQTT subscriber, OPC UA client, AMQP
//! publisher, DNS and TLS to a cloud host) and a router that is DNS and DHCP server
//! ([`site`] has every address and MAC). [`write_all`] writes:
//!
//! - `base.pcap`: 60 minutes of normal traffic from 2026-11-20T00:00:00Z (the learning capture);
//! - `benign.pcap`: the test period starting 60 s after it ([`site::TEST_SECS`], about 4.5 hours
//!   of wall clock of which the sensor is blind for 3): normal traffic and benign surprises
//!   ([`sim::BENIGN`]: a new topic and sensor, a replaced sensor, a DHCP change, reboots, a
//!   bigger upload, a whole-site restart after a power loss, a capture gap of hours);
//! - `attacks.pcap`: the same period with, besides, every labelled attack ([`sim::ATTACKS`]);
//! - `edgex-devices.json`: what EdgeX core-metadata knows about three of the devices;
//! - `truth.json`: the devices a person would count in base + benign, and every attack and
//!   benign surprise with its first and last packet time.
//!
//! Everything is deterministic (fixed seeds): regenerating gives byte-identical files.
//! [`syn_flood`] and [`port_scan`] write big floods and scans on their own.

pub mod craft;
pub mod flood;
pub mod sim;
pub mod sink;
pub mod site;
pub mod tcp;

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub use flood::{port_scan, spoofed_source, syn_flood, Emitted};

use crate::frame::Mac;
use crate::pcap::{LinkType, PcapWriter, Timestamp};
use site::{facts, Host};

/// Extra outputs of [`write_all`].
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Also write `flood.pcap`: a SYN flood of this many SYNs (as many spoofed sources) to
    /// broker:1883.
    pub flood: Option<u64>,
    /// Also write `portscan.pcap`: a SYN scan of all 65535 ports of plc-1.
    pub portscan: bool,
}

/// One written file.
#[derive(Clone, Debug)]
pub struct Written {
    pub path: PathBuf,
    /// Packets (0 for JSON files).
    pub packets: u64,
    pub bytes: u64,
}

/// Write every file of the scenario into `dir` (created if missing).
pub fn write_all(dir: &Path, opts: &Options) -> io::Result<Vec<Written>> {
    std::fs::create_dir_all(dir)?;
    let mut done = Vec::new();
    let pcap = |name: &str, (packets, bytes): (u64, u64)| Written {
        path: dir.join(name),
        packets,
        bytes,
    };

    let normal = sim::Sim::run(false, site::base_at(0), site::TEST_END)?;
    let base_end = site::base_at(site::BASE_SECS);
    let r = normal
        .out
        .write_pcap(&dir.join("base.pcap"), site::base_at(0), base_end)?;
    done.push(pcap("base.pcap", r));
    let r = normal
        .out
        .write_pcap(&dir.join("benign.pcap"), site::TEST_START, site::TEST_END)?;
    done.push(pcap("benign.pcap", r));
    let benign_spans = normal.out.spans.clone();
    drop(normal);

    let attacks = sim::Sim::run(true, site::TEST_START, site::TEST_END)?;
    let r = attacks
        .out
        .write_pcap(&dir.join("attacks.pcap"), site::TEST_START, site::TEST_END)?;
    done.push(pcap("attacks.pcap", r));
    let attack_spans = attacks.out.spans.clone();
    drop(attacks);

    let edgex = edgex_devices();
    std::fs::write(dir.join("edgex-devices.json"), &edgex)?;
    done.push(Written {
        path: dir.join("edgex-devices.json"),
        packets: 0,
        bytes: edgex.len() as u64,
    });
    let truth = truth_json(&benign_spans, &attack_spans);
    std::fs::write(dir.join("truth.json"), &truth)?;
    done.push(Written {
        path: dir.join("truth.json"),
        packets: 0,
        bytes: truth.len() as u64,
    });

    if let Some(n) = opts.flood {
        let path = dir.join("flood.pcap");
        let (packets, bytes) = write_pcap_with(&path, |w| {
            let sources = n.min(u64::from(u32::MAX)) as u32;
            let start = Timestamp(site::TEST_START);
            syn_flood(w, start, site::BROKER.ip(), 1883, n, sources).map(|_| ())
        })?;
        done.push(Written {
            path,
            packets,
            bytes,
        });
    }
    if opts.portscan {
        let path = dir.join("portscan.pcap");
        let (packets, bytes) = write_pcap_with(&path, |w| {
            let start = Timestamp(site::TEST_START);
            port_scan(
                w,
                start,
                site::SENSOR3_NEW.ip(),
                site::PLC1.ip(),
                1..=65_535,
            )
            .map(|_| ())
        })?;
        done.push(Written {
            path,
            packets,
            bytes,
        });
    }
    Ok(done)
}

// ---------------------------------------------------------------- JSON

/// A JSON string literal.
fn js(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn ip_str(ip: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
}

fn mac_str(m: Mac) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    let v: Vec<String> = items.iter().map(f).collect();
    format!("[{}]", v.join(", "))
}

fn opt_ip(ip: Option<[u8; 4]>) -> String {
    ip.map(|i| js(&ip_str(i))).unwrap_or_else(|| "null".into())
}

/// A fact value: a string or a number.
enum Fact {
    S(&'static str),
    N(u64),
}

struct Device {
    name: &'static str,
    macs: Vec<Mac>,
    ips: Vec<[u8; 4]>,
    external: bool,
    roles: &'static [&'static str],
    facts: Vec<(&'static str, Fact)>,
    known_name: Option<&'static str>,
}

fn dev(h: &Host, roles: &'static [&'static str], facts: Vec<(&'static str, Fact)>) -> Device {
    Device {
        name: h.name,
        macs: vec![h.mac],
        ips: vec![h.ip],
        external: false,
        roles,
        facts,
        known_name: None,
    }
}

fn sensor_facts(name: &'static str) -> Vec<(&'static str, Fact)> {
    vec![
        ("mqtt_client_id", Fact::S(name)),
        ("mqtt_username", Fact::S(facts::SENSOR_USER)),
        ("dhcp_hostname", Fact::S(name)),
        ("dhcp_vendor_class", Fact::S(facts::SENSOR_VENDOR_CLASS)),
    ]
}

/// Every device base.pcap and benign.pcap show, merged as a person would count them.
fn devices() -> Vec<Device> {
    use site::*;
    let mut plc1 = dev(
        &PLC1,
        &["modbus_server"],
        vec![
            ("modbus_vendor", Fact::S(facts::PLC1_VENDOR)),
            ("modbus_product_code", Fact::S(facts::PLC1_PRODUCT)),
            ("modbus_revision", Fact::S(facts::PLC1_REVISION)),
        ],
    );
    plc1.known_name = Some("boiler-plc");
    let mut plc2 = dev(
        &PLC2,
        &["modbus_server"],
        vec![
            ("modbus_vendor", Fact::S(facts::PLC2_VENDOR)),
            ("modbus_product_code", Fact::S(facts::PLC2_PRODUCT)),
            ("modbus_revision", Fact::S(facts::PLC2_REVISION)),
        ],
    );
    plc2.known_name = Some("chiller-plc");
    let mut ctl = dev(
        &BACNET_CTL,
        &["bacnet_device"],
        vec![
            (
                "bacnet_device_instance",
                Fact::N(u64::from(facts::BACNET_INSTANCE)),
            ),
            ("bacnet_vendor_id", Fact::N(u64::from(facts::BACNET_VENDOR))),
        ],
    );
    ctl.known_name = Some("ahu-controller");
    let mut s3 = dev(&SENSOR3, &["mqtt_client"], sensor_facts("sensor-03"));
    s3.ips.push(SENSOR3_NEW.ip);
    let mut s4 = dev(&SENSOR4, &["mqtt_client"], sensor_facts("sensor-04"));
    s4.macs.push(SENSOR4_NEW.mac);
    s4.ips.push(SENSOR4_NEW.ip);
    vec![
        dev(&ROUTER, &["dns_server", "dhcp_server"], vec![]),
        dev(&BROKER, &["mqtt_broker"], vec![]),
        dev(
            &GATEWAY,
            &["mqtt_client", "opcua_client", "amqp_client", "gateway"],
            vec![
                ("mqtt_client_id", Fact::S(facts::GATEWAY_CLIENT_ID)),
                ("mqtt_username", Fact::S(facts::GATEWAY_USER)),
                ("opcua_application_uri", Fact::S(facts::GATEWAY_OPCUA_URI)),
                ("amqp_product", Fact::S(facts::GATEWAY_AMQP_PRODUCT)),
            ],
        ),
        plc1,
        plc2,
        ctl,
        dev(
            &OPCUA_SRV,
            &["opcua_server"],
            vec![("opcua_application_uri", Fact::S(facts::OPCUA_SERVER_URI))],
        ),
        dev(
            &RABBIT,
            &["amqp_broker"],
            vec![("amqp_product", Fact::S(facts::RABBIT_PRODUCT))],
        ),
        dev(&HMI, &["modbus_client"], vec![]),
        dev(&BACNET_WS, &["bacnet_device"], vec![]),
        dev(&SENSOR1, &["mqtt_client"], sensor_facts("sensor-01")),
        dev(&SENSOR2, &["mqtt_client"], sensor_facts("sensor-02")),
        s3,
        s4,
        dev(&SENSOR5, &["mqtt_client"], sensor_facts("sensor-05")),
        Device {
            name: CLOUD_NAME,
            macs: vec![],
            ips: vec![CLOUD_IP],
            external: true,
            roles: &["external"],
            facts: vec![],
            known_name: None,
        },
    ]
}

fn device_json(d: &Device) -> String {
    let facts: Vec<String> = d
        .facts
        .iter()
        .map(|(k, v)| match v {
            Fact::S(s) => format!("{}: {}", js(k), js(s)),
            Fact::N(n) => format!("{}: {n}", js(k)),
        })
        .collect();
    format!(
        "{{\"name\": {}, \"macs\": {}, \"ips\": {}, \"external\": {}, \"roles\": {}, \"facts\": {{{}}}, \"known_name\": {}}}",
        js(d.name),
        list(&d.macs, |m| js(&mac_str(*m))),
        list(&d.ips, |i| js(&ip_str(*i))),
        d.external,
        list(d.roles, |r| js(r)),
        facts.join(", "),
        d.known_name.map(js).unwrap_or_else(|| "null".into()),
    )
}

fn truth_json(
    benign: &std::collections::BTreeMap<&'static str, sink::Span>,
    attacks: &std::collections::BTreeMap<&'static str, sink::Span>,
) -> String {
    let mut o = String::new();
    o.push_str("{\n  \"site_networks\": [\"10.20.0.0/16\"],\n");
    o.push_str("  \"base\": \"base.pcap\",\n  \"benign\": \"benign.pcap\",\n  \"attacks\": \"attacks.pcap\",\n");
    o.push_str("  \"known_devices\": \"edgex-devices.json\",\n");
    let _ = writeln!(
        o,
        "  \"base_start_ns\": {}, \"base_end_ns\": {},\n  \"test_start_ns\": {}, \"test_end_ns\": {},",
        site::base_at(0),
        site::base_at(site::BASE_SECS),
        site::TEST_START,
        site::TEST_END
    );
    o.push_str("  \"devices\": [\n");
    let devs: Vec<String> = devices()
        .iter()
        .map(|d| format!("    {}", device_json(d)))
        .collect();
    o.push_str(&devs.join(",\n"));
    o.push_str("\n  ],\n  \"attacks\": [\n");
    let mut rows = Vec::new();
    for a in sim::ATTACKS {
        let s = attacks.get(a.id).copied().unwrap_or(sink::Span {
            first_ns: site::test_at_ms(a.at_ms),
            last_ns: site::test_at_ms(a.at_ms),
            packets: 0,
        });
        rows.push(format!(
            "    {{\"id\": {}, \"category\": {}, \"start_ns\": {}, \"end_ns\": {}, \"src_ip\": {}, \"dest_ip\": {}, \"dest_port\": {}, \"detect_within_secs\": {}, \"packets\": {}, \"what\": {}}}",
            js(a.id),
            js(a.category),
            s.first_ns,
            s.last_ns,
            opt_ip(a.src_ip),
            opt_ip(a.dest_ip),
            a.dest_port.map(|p| p.to_string()).unwrap_or_else(|| "null".into()),
            a.detect_within_secs,
            s.packets,
            js(a.what),
        ));
    }
    o.push_str(&rows.join(",\n"));
    o.push_str("\n  ],\n  \"benign\": [\n");
    let mut rows = Vec::new();
    for b in sim::BENIGN {
        let Some(id) = b.id else { continue };
        let at = site::test_at_ms(b.at_ms);
        let mut s = benign.get(id).copied().unwrap_or(sink::Span {
            first_ns: at,
            last_ns: at,
            packets: 0,
        });
        // A power loss or a capture gap lasts from its instant on, packets or not.
        if b.quiet_secs() > 0 {
            s.first_ns = s.first_ns.min(at);
            s.last_ns = s.last_ns.max(at + b.quiet_secs() * site::S);
        }
        rows.push(format!(
            "    {{\"id\": {}, \"start_ns\": {}, \"end_ns\": {}, \"packets\": {}, \"what\": {}}}",
            js(id),
            s.first_ns,
            s.last_ns,
            s.packets,
            js(b.what),
        ));
    }
    o.push_str(&rows.join(",\n"));
    o.push_str("\n  ]\n}\n");
    o
}

/// The EdgeX core-metadata `GET /api/v3/device/all` answer naming plc-1, plc-2 and bacnet-ctl,
/// as `curl | jq` prints it.
fn edgex_devices() -> String {
    struct E {
        id: &'static str,
        name: &'static str,
        description: &'static str,
        labels: &'static [&'static str],
        profile: &'static str,
        service: &'static str,
        source: &'static str,
        protocol: &'static str,
        props: Vec<(&'static str, String)>,
        created: u64,
    }
    let list_devs = [
        E {
            id: "3f6b2c1e-8d4a-4f0b-9a61-2c7e5d9b0a12",
            name: "boiler-plc",
            description: "Boiler house PLC (Schneider Modicon M340)",
            labels: &["boiler", "plant-a", "modbus"],
            profile: "Schneider-M340-Boiler",
            service: "device-modbus",
            source: "BoilerTemperature",
            protocol: "modbus-tcp",
            props: vec![
                ("Address", ip_str(site::PLC1.ip)),
                ("Port", "502".into()),
                ("UnitID", "1".into()),
                ("Timeout", "5".into()),
                ("IdleTimeout", "5".into()),
            ],
            created: 1_790_000_000_000,
        },
        E {
            id: "9a0d4e77-1b2c-4c8e-b5f3-7e61a2c4d8f0",
            name: "chiller-plc",
            description: "Chiller plant controller (WAGO PFC200)",
            labels: &["chiller", "plant-a", "modbus"],
            profile: "WAGO-PFC200-Chiller",
            service: "device-modbus",
            source: "ChilledWaterTemperature",
            protocol: "modbus-tcp",
            props: vec![
                ("Address", ip_str(site::PLC2.ip)),
                ("Port", "502".into()),
                ("UnitID", "1".into()),
                ("Timeout", "5".into()),
                ("IdleTimeout", "5".into()),
            ],
            created: 1_790_000_360_000,
        },
        E {
            id: "c4e1f0a9-5d3b-47a2-8e6c-0b9f1d2a3e45",
            name: "ahu-controller",
            description: "Air handling unit controller (Johnson Controls)",
            labels: &["hvac", "plant-a", "bacnet"],
            profile: "JCI-AHU",
            service: "device-bacnet-ip",
            source: "SupplyAirTemperature",
            protocol: "bacnet-ip",
            props: vec![
                ("DeviceInstance", facts::BACNET_INSTANCE.to_string()),
                ("Address", ip_str(site::BACNET_CTL.ip)),
                ("Port", "47808".into()),
            ],
            created: 1_790_000_720_000,
        },
    ];
    let mut o = String::new();
    let _ = write!(
        o,
        "{{\n  \"apiVersion\": \"v3\",\n  \"statusCode\": 200,\n  \"totalCount\": {},\n  \"devices\": [\n",
        list_devs.len()
    );
    let items: Vec<String> = list_devs
        .iter()
        .map(|e| {
            let props: Vec<String> = e
                .props
                .iter()
                .map(|(k, v)| format!("          {}: {}", js(k), js(v)))
                .collect();
            format!(
                concat!(
                    "    {{\n",
                    "      \"apiVersion\": \"v3\",\n",
                    "      \"id\": {},\n",
                    "      \"name\": {},\n",
                    "      \"description\": {},\n",
                    "      \"adminState\": \"UNLOCKED\",\n",
                    "      \"operatingState\": \"UP\",\n",
                    "      \"labels\": {},\n",
                    "      \"serviceName\": {},\n",
                    "      \"profileName\": {},\n",
                    "      \"autoEvents\": [\n",
                    "        {{\n",
                    "          \"interval\": \"10s\",\n",
                    "          \"onChange\": false,\n",
                    "          \"sourceName\": {}\n",
                    "        }}\n",
                    "      ],\n",
                    "      \"protocols\": {{\n",
                    "        {}: {{\n",
                    "{}\n",
                    "        }}\n",
                    "      }},\n",
                    "      \"created\": {},\n",
                    "      \"modified\": {}\n",
                    "    }}"
                ),
                js(e.id),
                js(e.name),
                js(e.description),
                list(e.labels, |l| js(l)),
                js(e.service),
                js(e.profile),
                js(e.source),
                js(e.protocol),
                props.join(",\n"),
                e.created,
                e.created + 86_400_000,
            )
        })
        .collect();
    o.push_str(&items.join(",\n"));
    o.push_str("\n  ]\n}\n");
    o
}

/// Convenience for tools: write one capture from a closure over a pcap writer.
pub fn write_pcap_with(
    path: &Path,
    f: impl FnOnce(&mut PcapWriter<BufWriter<File>>) -> io::Result<()>,
) -> io::Result<(u64, u64)> {
    let mut w = PcapWriter::new(
        BufWriter::with_capacity(1 << 20, File::create(path)?),
        LinkType::Ethernet,
    )?;
    f(&mut w)?;
    let packets = w.packets();
    let bytes = 24 + 16 * packets + w.frame_bytes();
    w.finish()?.flush()?;
    Ok((packets, bytes))
}
