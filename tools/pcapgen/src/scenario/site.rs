//! The site: addresses, MAC addresses (real vendor OUIs), names and the timeline constants.

use std::net::Ipv4Addr;

use crate::frame::{mac_for, Endpoint, Mac};

/// 2026-11-20T00:00:00Z: the first instant of `base.pcap`.
pub const T0_SECS: u64 = 1_795_132_800;
/// Length of the learning capture.
pub const BASE_SECS: u64 = 3600;
/// Pause between the end of the learning capture and the start of the test captures.
pub const GAP_SECS: u64 = 60;
/// The attacks first written for a 30-minute test capture start this much later than they
/// did: the newer attacks and benign surprises (a site restart, a capture gap of hours) come
/// first.
pub const SHIFT_SECS: u64 = 14_650;
/// Length of `benign.pcap` and `attacks.pcap` (wall clock, the capture gap included).
pub const TEST_SECS: u64 = 1800 + SHIFT_SECS;
/// How long the sensor sees nothing in the capture gap.
pub const CAPTURE_GAP_SECS: u64 = 3 * 3600;

pub const NS: u64 = 1;
pub const US: u64 = 1_000 * NS;
pub const MS: u64 = 1_000 * US;
pub const S: u64 = 1_000 * MS;

/// Packet time (ns since the epoch) of `secs` after the start of `base.pcap`.
pub const fn base_at(secs: u64) -> u64 {
    (T0_SECS + secs) * S
}
/// Start of `benign.pcap` / `attacks.pcap`.
pub const TEST_START: u64 = base_at(BASE_SECS + GAP_SECS);
/// End (exclusive) of the test captures.
pub const TEST_END: u64 = TEST_START + TEST_SECS * S;
/// Packet time `ms` milliseconds after the start of the test captures.
pub const fn test_at_ms(ms: u64) -> u64 {
    TEST_START + ms * MS
}

/// The site network, 10.20.0.0/16.
pub const SITE_NET: [u8; 2] = [10, 20];
pub const SITE_BROADCAST: [u8; 4] = [10, 20, 255, 255];

pub fn in_site(ip: [u8; 4]) -> bool {
    ip[0] == SITE_NET[0] && ip[1] == SITE_NET[1]
}

/// One addressable host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Host {
    pub name: &'static str,
    pub ip: [u8; 4],
    pub mac: Mac,
}

impl Host {
    pub fn ep(&self, port: u16) -> Endpoint {
        Endpoint::v4(self.ip, port).with_mac(self.mac)
    }
    pub fn ip(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.ip)
    }
}

const fn host(name: &'static str, ip: [u8; 4], mac: Mac) -> Host {
    Host { name, ip, mac }
}

// Infrastructure.
/// Cisco router: default gateway, DNS and DHCP server.
pub const ROUTER: Host = host(
    "router",
    [10, 20, 0, 1],
    [0x00, 0x1e, 0xbd, 0x4a, 0x10, 0x01],
);
/// Mosquitto on a Raspberry Pi.
pub const BROKER: Host = host(
    "broker",
    [10, 20, 0, 2],
    [0xb8, 0x27, 0xeb, 0x3c, 0x52, 0x02],
);
/// Dell edge gateway.
pub const GATEWAY: Host = host(
    "gateway",
    [10, 20, 0, 3],
    [0xf8, 0xbc, 0x12, 0xa0, 0x33, 0x03],
);
/// Schneider Electric (Telemecanique OUI) PLC.
pub const PLC1: Host = host(
    "plc-1",
    [10, 20, 0, 12],
    [0x00, 0x80, 0xf4, 0x1c, 0x2e, 0x0c],
);
/// WAGO PLC.
pub const PLC2: Host = host(
    "plc-2",
    [10, 20, 0, 13],
    [0x00, 0x30, 0xde, 0x0b, 0x71, 0x0d],
);
/// Johnson Controls BACnet controller.
pub const BACNET_CTL: Host = host(
    "bacnet-ctl",
    [10, 20, 0, 30],
    [0x00, 0x10, 0x8d, 0x44, 0x30, 0x1e],
);
/// Siemens OPC UA server.
pub const OPCUA_SRV: Host = host(
    "opcua-srv",
    [10, 20, 0, 40],
    [0x00, 0x1b, 0x1b, 0x6e, 0x40, 0x28],
);
/// RabbitMQ on an Intel box.
pub const RABBIT: Host = host(
    "rabbit",
    [10, 20, 0, 50],
    [0x00, 0x1b, 0x21, 0x5a, 0x50, 0x32],
);
/// Dell HMI panel PC.
pub const HMI: Host = host("hmi", [10, 20, 1, 5], [0xa4, 0xbb, 0x6d, 0x12, 0x01, 0x05]);
/// Dell BACnet workstation.
pub const BACNET_WS: Host = host(
    "bacnet-ws",
    [10, 20, 1, 6],
    [0x00, 0x14, 0x22, 0x7d, 0x01, 0x06],
);

// Espressif sensors.
pub const SENSOR1: Host = host(
    "sensor-01",
    [10, 20, 2, 11],
    [0x24, 0x0a, 0xc4, 0x2b, 0x11, 0x0b],
);
pub const SENSOR2: Host = host(
    "sensor-02",
    [10, 20, 2, 12],
    [0x24, 0x0a, 0xc4, 0x2b, 0x12, 0x0c],
);
pub const SENSOR3: Host = host(
    "sensor-03",
    [10, 20, 2, 13],
    [0x24, 0x0a, 0xc4, 0x2b, 0x13, 0x0d],
);
pub const SENSOR4: Host = host(
    "sensor-04",
    [10, 20, 2, 14],
    [0x24, 0x0a, 0xc4, 0x2b, 0x14, 0x0e],
);
/// sensor-03 after its DHCP address change (same MAC).
pub const SENSOR3_NEW: Host = host("sensor-03", [10, 20, 2, 23], SENSOR3.mac);
/// The replacement sensor-04 hardware (another Espressif OUI).
pub const SENSOR4_NEW: Host = host(
    "sensor-04",
    [10, 20, 2, 24],
    [0x7c, 0xdf, 0xa1, 0x5e, 0x24, 0x18],
);
/// The added sensor.
pub const SENSOR5: Host = host(
    "sensor-05",
    [10, 20, 2, 15],
    [0x30, 0xae, 0xa4, 0x7a, 0x15, 0x0f],
);

// External.
pub const CLOUD_NAME: &str = "iot.example-cloud.com";
pub const CLOUD_IP: [u8; 4] = [52, 1, 2, 3];
pub const C2_IP: [u8; 4] = [203, 0, 113, 66];
/// The never-seen name the beaconing workstation resolves, and its address.
pub const BEACON_NAME: &str = "api.weather-sync-cdn.net";
pub const BEACON_IP: [u8; 4] = [198, 51, 100, 77];
/// The registered domain the DNS tunnel runs under.
pub const TUNNEL_DOMAIN: &str = "x.tunnel-example.net";
/// What the router's DHCP server hands out to unknown clients (DHCP starvation).
pub const DHCP_POOL: ([u8; 4], u8) = ([10, 20, 2, 100], 100);

// Attackers (seen only in attacks.pcap).
pub const MQTT_GUESSER: Host = host(
    "mqtt-guesser",
    [10, 20, 3, 98],
    [0xd8, 0x3a, 0xdd, 0x41, 0x03, 0x62],
);
pub const MQTT_STORMER: Host = host(
    "mqtt-stormer",
    [10, 20, 3, 99],
    [0x00, 0xe0, 0x4c, 0x68, 0x03, 0x63],
);
pub const UDP_FLOODER: Host = host(
    "udp-flooder",
    [10, 20, 1, 77],
    [0x00, 0x50, 0x56, 0x9a, 0x01, 0x4d],
);
pub const AMQP_INTRUDER: Host = host(
    "amqp-intruder",
    [10, 20, 1, 90],
    [0x3c, 0xec, 0xef, 0x20, 0x01, 0x5a],
);
pub const OPCUA_INTRUDER: Host = host(
    "opcua-intruder",
    [10, 20, 1, 91],
    [0x00, 0x1b, 0x21, 0x93, 0x01, 0x5b],
);

/// A Raspberry Pi someone plugged in: answers DHCP as a rogue server.
pub const ROGUE_DHCP: Host = host(
    "rogue-pi",
    [10, 20, 1, 66],
    [0xdc, 0xa6, 0x32, 0x5b, 0x01, 0x42],
);
pub const ARP_SPOOFER: Host = host(
    "arp-spoofer",
    [10, 20, 1, 87],
    [0x9c, 0x5c, 0x8e, 0x31, 0x01, 0x57],
);
/// A Lenovo laptop running Modbus reconnaissance.
pub const MODBUS_RECON: Host = host(
    "modbus-recon",
    [10, 20, 1, 88],
    [0x54, 0xee, 0x75, 0x6a, 0x01, 0x58],
);
/// An HP laptop running BACnet discovery.
pub const BACNET_RECON: Host = host(
    "bacnet-recon",
    [10, 20, 1, 89],
    [0x3c, 0x52, 0x82, 0x19, 0x01, 0x59],
);
/// A Dell laptop with an OPC UA browser.
pub const OPCUA_BROWSER: Host = host(
    "opcua-browser",
    [10, 20, 1, 92],
    [0x18, 0x66, 0xda, 0x0e, 0x01, 0x5c],
);
/// A VirtualBox VM guessing SSH passwords.
pub const SSH_GUESSER: Host = host(
    "ssh-guesser",
    [10, 20, 3, 96],
    [0x08, 0x00, 0x27, 0x6e, 0x03, 0x60],
);
/// A Raspberry Pi guessing MQTT passwords.
pub const MQTT_BRUTER: Host = host(
    "mqtt-bruter",
    [10, 20, 3, 97],
    [0xe4, 0x5f, 0x01, 0x2c, 0x03, 0x61],
);

/// Every host with a fixed address, for MAC look-ups (the newest binding of an address wins).
pub const HOSTS: &[Host] = &[
    ROUTER,
    BROKER,
    GATEWAY,
    PLC1,
    PLC2,
    BACNET_CTL,
    OPCUA_SRV,
    RABBIT,
    HMI,
    BACNET_WS,
    SENSOR1,
    SENSOR2,
    SENSOR3,
    SENSOR4,
    SENSOR3_NEW,
    SENSOR4_NEW,
    SENSOR5,
    MQTT_GUESSER,
    MQTT_STORMER,
    UDP_FLOODER,
    AMQP_INTRUDER,
    OPCUA_INTRUDER,
    ROGUE_DHCP,
    ARP_SPOOFER,
    MODBUS_RECON,
    BACNET_RECON,
    OPCUA_BROWSER,
    SSH_GUESSER,
    MQTT_BRUTER,
];

/// The MAC of a site host, if the address is one.
pub fn site_mac(ip: [u8; 4]) -> Option<Mac> {
    HOSTS.iter().find(|h| h.ip == ip).map(|h| h.mac)
}

/// The MAC a frame to or from `ip` carries on the site LAN: the host's own for site hosts,
/// the router's for everything outside 10.20.0.0/16.
pub fn wire_mac(ip: [u8; 4]) -> Mac {
    match site_mac(ip) {
        Some(m) => m,
        None if in_site(ip) => mac_for(Ipv4Addr::from(ip).into()),
        None => ROUTER.mac,
    }
}

/// An endpoint as seen on the site LAN.
pub fn wire_ep(ip: [u8; 4], port: u16) -> Endpoint {
    Endpoint::v4(ip, port).with_mac(wire_mac(ip))
}

/// Facts the devices give away (and `truth.json` records).
pub mod facts {
    pub const PLC1_VENDOR: &str = "Schneider Electric";
    pub const PLC1_PRODUCT: &str = "BMX P34 2020";
    pub const PLC1_REVISION: &str = "v3.10";
    pub const PLC2_VENDOR: &str = "WAGO";
    pub const PLC2_PRODUCT: &str = "750-8212";
    pub const PLC2_REVISION: &str = "03.10.08";
    pub const BACNET_INSTANCE: u32 = 3001;
    pub const BACNET_VENDOR: u16 = 5;
    pub const SENSOR_USER: &str = "sensors";
    pub const SENSOR_VENDOR_CLASS: &str = "espressif";
    pub const GATEWAY_CLIENT_ID: &str = "edge-gateway";
    pub const GATEWAY_USER: &str = "gateway";
    pub const GATEWAY_OPCUA_URI: &str = "urn:edge:gateway";
    pub const OPCUA_SERVER_URI: &str = "urn:plant:opcua-srv";
    pub const GATEWAY_AMQP_PRODUCT: &str = "Pika Python Client Library";
    pub const RABBIT_PRODUCT: &str = "RabbitMQ";
}
