//! The site simulation: a time-ordered list of events (periodic normal traffic, benign
//! surprises, attacks), each writing the packets of one exchange into the [`Collector`].
//!
//! Every conversation keeps its own TCP state; an event writes its packets at explicit times
//! (a few ms to a few s after the event), and the collector sorts all packets at the end. Events
//! that take long (reboots, uploads) mark the conversations they own as busy, so that the
//! periodic events skip them meanwhile. Normal traffic and benign surprises draw from one random
//! stream and attacks from another, so `benign.pcap` and `attacks.pcap` share their normal
//! traffic wherever an attack does not change it.

use std::collections::HashMap;
use std::io;

mod life;
mod more_attacks;

use super::craft::{self, UaClient, UaMsg, UaServer};
use super::flood::{self, Emitted, PortState};
use super::sink::Collector;
use super::site::{self, facts, Host, MS, S, US};
use super::site::{
    AMQP_INTRUDER, ARP_SPOOFER, BACNET_CTL, BACNET_RECON, BACNET_WS, BROKER, GATEWAY, HMI,
    MODBUS_RECON, MQTT_BRUTER, MQTT_GUESSER, MQTT_STORMER, OPCUA_BROWSER, OPCUA_INTRUDER,
    OPCUA_SRV, PLC1, PLC2, RABBIT, ROGUE_DHCP, ROUTER, SENSOR1, SENSOR2, SENSOR3, SENSOR3_NEW,
    SENSOR4, SENSOR4_NEW, SENSOR5, SSH_GUESSER, UDP_FLOODER,
};
use super::tcp::{at, bulk, close, exchange, handshake, refused};
use crate::conv::{Dir, TcpConv};
use crate::frame::{Arp, Endpoint, Frame, TcpFlags, Transport, Vlan, BROADCAST_MAC};
use crate::pcap::Timestamp;
use crate::proto::opcua::NodeId;
use crate::proto::{amqp, bacnet, dhcp, dns, icmp, modbus, mqtt, opcua};
use crate::rng::Rng;

/// The scenario's seed.
pub const SEED: u64 = 0xed6e_7a90_2026_1120;

/// The benign surprises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Benign {
    NewTopic,
    AddedSensor,
    ReplacedSensorUnplug,
    ReplacedSensor,
    DhcpChange,
    RebootSensor2,
    RebootPlc2,
    BiggerUpload,
    SiteRestart,
    CaptureGap,
}

/// The attacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    LmNewEdge,
    IcsModbusWrite,
    LmScan,
    DosSynFlood,
    UaMqttAuth,
    IcsBacnetReinit,
    DosUdpFlood,
    IcsOpcuaWrite,
    Exfil,
    AvailBacnet,
    C2,
    LmIcmpSweep,
    UaAmqp,
    DosMqttStorm,
    UaOpcua,
    PaMalformed,
    AvailPlc2,
    LmFinScan,
    LmModbusDevId,
    UaSshBrute,
    UaRogueDhcp,
    C2BeaconNewName,
    LmNullScan,
    ExfilDnsTunnel,
    LmBacnetSweep,
    UaMqttBrute,
    LmXmasScan,
    DosDhcpStarvation,
    C2BeaconKnownHost,
    LmAckScan,
    UaArpSpoof,
    LmModbusUnitSweep,
    LmUdpScan,
    LmOpcuaBrowse,
}

/// A benign surprise: what, when (ms after the start of the test captures).
pub struct BenignSpec {
    pub kind: Benign,
    /// `None` for steps that belong to another entry's episode.
    pub id: Option<&'static str>,
    pub at_ms: u64,
    pub what: &'static str,
}

/// How long the site is without power in the restart surprise.
pub const RESTART_OFF_SECS: u64 = 95;

impl BenignSpec {
    /// Seconds from `at_ms` on in which nothing is seen (the power is off, or the sensor is
    /// blind): the episode lasts at least that long, packets or not.
    pub fn quiet_secs(&self) -> u64 {
        match self.kind {
            Benign::SiteRestart => RESTART_OFF_SECS,
            Benign::CaptureGap => site::CAPTURE_GAP_SECS,
            _ => 0,
        }
    }
}

/// `SHIFT_SECS` in ms: the original attacks' start times are offset by it.
const SHIFT: u64 = site::SHIFT_SECS * 1_000;

pub const BENIGN: &[BenignSpec] = &[
    BenignSpec {
        kind: Benign::NewTopic,
        id: Some("new-topic"),
        at_ms: 30_000,
        what: "sensor-01 starts publishing site/humidity/sensor-01 besides its temperature topic",
    },
    BenignSpec {
        kind: Benign::AddedSensor,
        id: Some("added-sensor"),
        at_ms: 45_000,
        what: "a new sensor-05 (new Espressif MAC) gets 10.20.2.15 by DHCP (hostname sensor-05, vendor class espressif), connects to the broker as client id sensor-05 and publishes site/temp/sensor-05 like its siblings",
    },
    BenignSpec {
        kind: Benign::ReplacedSensorUnplug,
        id: None,
        at_ms: 52_000,
        what: "the old sensor-04 is unplugged (silent, no packets)",
    },
    BenignSpec {
        kind: Benign::ReplacedSensor,
        id: Some("replaced-sensor"),
        at_ms: 60_000,
        what: "sensor-04's hardware is swapped: a new Espressif MAC gets 10.20.2.24 by DHCP and connects with the same client id sensor-04; the broker drops the dead old session (FIN retransmitted to 10.20.2.14)",
    },
    BenignSpec {
        kind: Benign::DhcpChange,
        id: Some("dhcp-change"),
        at_ms: 75_000,
        what: "sensor-03 disconnects, gets a new address 10.20.2.23 by DHCP (same MAC), reconnects with the same client id and keeps publishing from the new address",
    },
    BenignSpec {
        kind: Benign::RebootSensor2,
        id: Some("reboot-sensor-02"),
        at_ms: 90_000,
        what: "sensor-02 sends DISCONNECT, is silent 20 s, does DHCP again for the same address and reconnects with the same client id",
    },
    BenignSpec {
        kind: Benign::RebootPlc2,
        id: Some("reboot-plc-2"),
        at_ms: 125_500,
        what: "plc-2 reboots: silent 15 s (the HMI's request is retransmitted unanswered), then it resets the HMI's old connection; the HMI reconnects to plc-2:502, accepted, polling resumes",
    },
    BenignSpec {
        kind: Benign::BiggerUpload,
        id: Some("bigger-upload"),
        at_ms: 165_250,
        what: "the gateway's upload to 52.1.2.3:443 is 500 kB, 1.25 times the learned nightly upload",
    },
    BenignSpec {
        kind: Benign::SiteRestart,
        id: Some("site-restart"),
        at_ms: 1_690_000,
        what: "power loss: every site device is silent for 95 s (no packets at all; TCP sessions die without FIN), then the whole site starts up as base.pcap begins: gratuitous ARP from every fixed-address host, the HMI reconnects to both PLCs at once (reading their device identification), the gateway does NTP iburst, DNS and reconnects MQTT, OPC UA and AMQP, every sensor does DHCP, ARP and MQTT CONNECT within 4 s, bacnet-ctl announces I-Am and answers bacnet-ws's Who-Is",
    },
    BenignSpec {
        kind: Benign::CaptureGap,
        id: Some("capture-gap"),
        at_ms: 2_290_000,
        what: "the sensor sees nothing for 3 hours (no packets at all, every device silent at once) while the site keeps running; traffic then resumes mid-stream: TCP sessions with sequence numbers and Modbus transaction ids 3 hours further on, periodic polling, NTP and the cloud heartbeat as learned",
    },
];

/// An attack and its label.
pub struct AttackSpec {
    pub kind: Attack,
    pub id: &'static str,
    pub category: &'static str,
    /// Start, ms after the start of the test captures.
    pub at_ms: u64,
    pub src_ip: Option<[u8; 4]>,
    pub dest_ip: Option<[u8; 4]>,
    pub dest_port: Option<u16>,
    pub detect_within_secs: u64,
    pub what: &'static str,
}

#[allow(clippy::too_many_arguments)]
const fn atk(
    kind: Attack,
    id: &'static str,
    category: &'static str,
    at_ms: u64,
    src_ip: Option<[u8; 4]>,
    dest_ip: Option<[u8; 4]>,
    dest_port: Option<u16>,
    detect_within_secs: u64,
    what: &'static str,
) -> AttackSpec {
    AttackSpec {
        kind,
        id,
        category,
        at_ms,
        src_ip,
        dest_ip,
        dest_port,
        detect_within_secs,
        what,
    }
}

/// Every attack, in time order: at least 90 s between starts, 60 s clear of each other and of
/// the benign surprises; except that the two availability episodes last to the end of the
/// capture, so bacnet-ctl's silence (which needs 600 s to be told) overlaps the five attacks
/// after it, none of which involves bacnet-ctl. The newer attacks come first (the site restart
/// and the capture gap between them); the original seventeen follow, `SHIFT` later than they
/// were first written.
pub const ATTACKS: &[AttackSpec] = &[
    atk(Attack::LmFinScan, "lm-fin-scan", "lateral_movement", 230_000,
        Some(BACNET_WS.ip), Some(PLC1.ip), None, 30,
        "bacnet-ws FIN-scans 200 TCP ports of plc-1 in 10 s (nmap -sF: FIN-only probes from one source port); closed ports answer RST/ACK, the open ones (80, 502) stay silent and are probed again"),
    atk(Attack::LmModbusDevId, "lm-modbus-devid", "lateral_movement", 350_000,
        Some(MODBUS_RECON.ip), Some(PLC1.ip), Some(502), 10,
        "10.20.1.88 (never seen) connects to plc-1:502 and sends Read Device Identification (FC 43 / MEI 14) to unit ids 1, 0, 2, 3, 100, 247 and 255 (units 1, 0 and 255 answer, the others exception 0x0B), then the regular and extended object sets of unit 1"),
    atk(Attack::UaSshBrute, "ua-ssh-bruteforce", "unauthorized_access", 470_000,
        Some(SSH_GUESSER.ip), Some(BROKER.ip), Some(22), 60,
        "10.20.3.96 opens 40 short TCP sessions to broker:22 in 60 s: banner exchange (libssh client, OpenSSH server), KEXINIT both ways, then FIN"),
    atk(Attack::UaRogueDhcp, "ua-rogue-dhcp", "unauthorized_access", 620_000,
        Some(ROGUE_DHCP.ip), Some(SENSOR5.ip), Some(68), 10,
        "sensor-05 resets (watchdog, no DISCONNECT) and sends DHCPDISCOVER; 10.20.1.66, which never served DHCP, answers first with an OFFER naming itself router and DNS server, and ACKs the REQUEST; the router's OFFER is ignored; sensor-05 reconnects to the broker"),
    atk(Attack::C2BeaconNewName, "c2-beacon-new-name", "command_and_control", 740_000,
        Some(BACNET_WS.ip), Some(site::BEACON_IP), Some(443), 720,
        "bacnet-ws resolves api.weather-sync-cdn.net (never seen) through the router and opens a TLS connection to 198.51.100.77:443 (ClientHello with that SNI, a few hundred bytes each way) at once and then every 60 s +-20 %, 13 connections, re-resolving the name when its 300 s TTL runs out"),
    atk(Attack::LmNullScan, "lm-null-scan", "lateral_movement", 1_900_000,
        Some(BACNET_WS.ip), Some(PLC1.ip), None, 30,
        "bacnet-ws NULL-scans 200 TCP ports of plc-1 in 10 s (no flag set); closed ports answer RST/ACK, the open ones stay silent and are probed again"),
    atk(Attack::ExfilDnsTunnel, "exfil-dns-tunnel", "data_exfiltration", 2_020_000,
        Some(GATEWAY.ip), Some(ROUTER.ip), Some(53), 60,
        "the gateway tunnels data through DNS for 60 s: 2 to 5 queries a second (TXT, CNAME and NULL) for names of 2 or 3 random base32 / hex labels of 40 to 63 characters under x.tunnel-example.net, sent to the router, which answers with TXT / CNAME / NULL data (TTL 0) or NXDOMAIN"),
    atk(Attack::LmBacnetSweep, "lm-bacnet-sweep", "lateral_movement", 2_170_000,
        Some(BACNET_RECON.ip), Some(BACNET_CTL.ip), Some(47808), 30,
        "10.20.1.89 (never seen) broadcasts Who-Is, bacnet-ctl answers I-Am, then 10.20.1.89 reads the device object's properties and sweeps ReadProperty present-value over 128 analog-input, analog-value, binary-input and binary-output instances in 5 s; unknown objects answer Error unknown-object"),
    atk(Attack::UaMqttBrute, "ua-mqtt-bruteforce", "unauthorized_access", 13_180_000,
        Some(MQTT_BRUTER.ip), Some(BROKER.ip), Some(1883), 60,
        "10.20.3.97 (never seen) sends 30 MQTT 5.0 CONNECTs as user sensors with a different password each, one new TCP connection every 2 s; each is refused with CONNACK reason 0x86 (bad user name or password)"),
    atk(Attack::LmXmasScan, "lm-xmas-scan", "lateral_movement", 13_330_000,
        Some(BACNET_WS.ip), Some(PLC1.ip), None, 30,
        "bacnet-ws XMAS-scans 200 TCP ports of plc-1 in 10 s (FIN+PSH+URG); closed ports answer RST/ACK, the open ones stay silent and are probed again"),
    atk(Attack::DosDhcpStarvation, "dos-dhcp-starvation", "denial_of_service", 13_450_000,
        None, Some(ROUTER.ip), Some(67), 30,
        "DHCP starvation: a host on the site LAN sends 300 DHCPDISCOVERs in 60 s from 0.0.0.0, each from a random client hardware address (Ethernet source likewise); the router OFFERs 10.20.2.100-199 to a third of them until its pool is gone"),
    atk(Attack::C2BeaconKnownHost, "c2-beacon-known-host", "command_and_control", 13_600_000,
        Some(HMI.ip), Some(site::CLOUD_IP), Some(443), 540,
        "the hmi, which never talked to it, beacons to the gateway's cloud host 52.1.2.3:443: a small TLS connection (SNI iot.example-cloud.com, a few hundred bytes each way) every 45 s +-20 %, 12 connections"),
    atk(Attack::LmAckScan, "lm-ack-scan", "lateral_movement", 14_290_000,
        Some(BACNET_WS.ip), Some(PLC1.ip), None, 30,
        "bacnet-ws ACK-scans 200 TCP ports of plc-1 in 10 s (bare ACKs with random acknowledgement numbers); every port answers RST"),
    atk(Attack::UaArpSpoof, "ua-arp-spoof", "unauthorized_access", 14_410_000,
        Some(ARP_SPOOFER.ip), Some(ROUTER.ip), None, 10,
        "10.20.1.87 resolves the gateway and the router, then every 2 s for 30 s sends unsolicited ARP replies telling the gateway that 10.20.0.1 is at its own MAC 9c:5c:8e:31:01:57, and the router that 10.20.0.3 is"),
    atk(Attack::LmModbusUnitSweep, "lm-modbus-unit-sweep", "lateral_movement", 14_530_000,
        Some(MODBUS_RECON.ip), Some(PLC2.ip), Some(502), 30,
        "10.20.1.88 connects to plc-2:502 and sweeps unit ids 1 to 60 with FC 3 (read one holding register), 80 ms apart; unit 1 answers, the others exception 0x0B"),
    atk(Attack::LmUdpScan, "lm-udp-scan", "lateral_movement", 14_650_000,
        Some(BACNET_WS.ip), Some(PLC1.ip), None, 30,
        "bacnet-ws UDP-scans 200 ports of plc-1 in 10 s (empty datagrams); closed ports answer ICMP port unreachable (type 3 code 3) quoting the probe's IP and UDP headers, 161 stays silent and is probed again"),
    atk(Attack::LmOpcuaBrowse, "lm-opcua-browse", "lateral_movement", 14_770_000,
        Some(OPCUA_BROWSER.ip), Some(OPCUA_SRV.ip), Some(4840), 30,
        "10.20.1.92 (never seen) opens a new OPC UA session on opcua-srv (user operator, accepted) and sends 180 BrowseRequests in 4.5 s, walking the address space"),
    atk(Attack::LmNewEdge, "lm-new-edge", "lateral_movement", SHIFT + 230_000,
        Some(SENSOR2.ip), Some(PLC1.ip), Some(502), 10,
        "sensor-02 opens TCP to plc-1:502 (never seen before) and reads holding registers (FC 3)"),
    atk(Attack::IcsModbusWrite, "ics-modbus-write", "ics_control", SHIFT + 320_000,
        Some(HMI.ip), Some(PLC2.ip), Some(502), 10,
        "hmi writes FC 6 (write single register) to plc-2 register 4000, never written during learning"),
    atk(Attack::LmScan, "lm-port-scan", "lateral_movement", SHIFT + 410_000,
        Some(SENSOR3_NEW.ip), None, None, 30,
        "sensor-03 (now 10.20.2.23) SYN-scans 10.20.0.1-10.20.0.60 on ports 22, 80, 502, 1883 in 10 s"),
    atk(Attack::DosSynFlood, "dos-syn-flood", "denial_of_service", SHIFT + 500_000,
        None, Some(BROKER.ip), Some(1883), 30,
        "SYN flood to broker:1883: 20000 SYNs in 10 s from 5000 spoofed sources (10.128/9, 172.16/12, public), some answered by SYN/ACK"),
    atk(Attack::UaMqttAuth, "ua-mqtt-auth", "unauthorized_access", SHIFT + 590_000,
        Some(MQTT_GUESSER.ip), Some(BROKER.ip), Some(1883), 30,
        "10.20.3.98 tries 10 MQTT CONNECTs with user name admin, each refused with CONNACK return code 5 (not authorized)"),
    atk(Attack::IcsBacnetReinit, "ics-bacnet-reinit", "ics_control", SHIFT + 680_000,
        Some(BACNET_WS.ip), Some(BACNET_CTL.ip), Some(47808), 10,
        "bacnet-ws sends ReinitializeDevice (confirmed service 20, warmstart) to bacnet-ctl, which acknowledges"),
    atk(Attack::DosUdpFlood, "dos-udp-flood", "denial_of_service", SHIFT + 770_000,
        Some(UDP_FLOODER.ip), Some(BACNET_CTL.ip), Some(47808), 30,
        "UDP flood from 10.20.1.77 to bacnet-ctl:47808: 20000 junk datagrams in 5 s"),
    atk(Attack::IcsOpcuaWrite, "ics-opcua-write", "ics_control", SHIFT + 860_000,
        Some(GATEWAY.ip), Some(OPCUA_SRV.ip), Some(4840), 10,
        "gateway sends an OPC UA WriteRequest (type 673) to opcua-srv on its session (it only ever read)"),
    atk(Attack::Exfil, "exfil-upload", "data_exfiltration", SHIFT + 950_000,
        Some(GATEWAY.ip), Some(site::CLOUD_IP), Some(443), 60,
        "gateway uploads 40 MiB to 52.1.2.3:443 within 60 s (the learned nightly upload is 400 kB)"),
    atk(Attack::C2, "c2-first-contact", "command_and_control", SHIFT + 1_067_000,
        Some(PLC1.ip), Some(site::C2_IP), Some(8080), 30,
        "plc-1 opens TCP to external 203.0.113.66:8080 (first contact ever) and exchanges two small HTTP requests"),
    atk(Attack::AvailBacnet, "avail-bacnet-silent", "availability", SHIFT + 1_157_000,
        Some(BACNET_WS.ip), Some(BACNET_CTL.ip), Some(47808), 600,
        "bacnet-ctl falls silent to the end: no ComplexACK to bacnet-ws's ReadProperty, no I-Am to Who-Is (src is the peer left unanswered)"),
    atk(Attack::LmIcmpSweep, "lm-icmp-sweep", "lateral_movement", SHIFT + 1_250_000,
        Some(SENSOR1.ip), None, None, 30,
        "sensor-01 pings 10.20.1.1-10.20.1.254 in 5 s; hmi and bacnet-ws answer"),
    atk(Attack::UaAmqp, "ua-amqp-refused", "unauthorized_access", SHIFT + 1_340_000,
        Some(AMQP_INTRUDER.ip), Some(RABBIT.ip), Some(5672), 10,
        "10.20.1.90 logs in to rabbit:5672 and gets connection.close 403 ACCESS_REFUSED"),
    atk(Attack::DosMqttStorm, "dos-mqtt-connect-storm", "denial_of_service", SHIFT + 1_430_000,
        Some(MQTT_STORMER.ip), Some(BROKER.ip), Some(1883), 30,
        "MQTT CONNECT storm from 10.20.3.99 (never seen): 300 CONNECTs in 10 s, each on a new TCP connection, CONNACK 0"),
    atk(Attack::UaOpcua, "ua-opcua-identity", "unauthorized_access", SHIFT + 1_520_000,
        Some(OPCUA_INTRUDER.ip), Some(OPCUA_SRV.ip), Some(4840), 10,
        "10.20.1.91 opens an OPC UA session on opcua-srv; ActivateSession (user admin) is answered with service result 0x80210000 BadIdentityTokenRejected"),
    atk(Attack::PaMalformed, "pa-malformed-modbus", "protocol_anomaly", SHIFT + 1_610_000,
        Some(HMI.ip), Some(PLC1.ip), Some(502), 10,
        "10.20.1.5 opens a new connection to plc-1:502 and sends a burst of malformed Modbus ADUs (bad protocol ids, length fields that do not match); plc-1 resets it"),
    atk(Attack::AvailPlc2, "avail-plc-2", "availability", SHIFT + 1_700_000,
        Some(HMI.ip), Some(PLC2.ip), Some(502), 30,
        "plc-2's Modbus service stops: the HMI's connection is reset and its reconnect SYNs every 2 s get RST/ACK to the end of the capture (src is the HMI left unanswered)"),
];

fn attack_spec(kind: Attack) -> &'static AttackSpec {
    ATTACKS
        .iter()
        .find(|a| a.kind == kind)
        .expect("every attack has a spec")
}

fn benign_spec(kind: Benign) -> &'static BenignSpec {
    BENIGN
        .iter()
        .find(|b| b.kind == kind)
        .expect("every surprise has a spec")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ev {
    /// The site powers up (the first instant of base.pcap).
    Startup,
    ModbusPoll(usize),
    ModbusWrite,
    WhoIs,
    BacnetRead,
    Publish(usize),
    SensorPing(usize),
    GwPing,
    OpcRead,
    AmqpPublish,
    AmqpHeartbeat,
    Dns,
    TlsHeartbeat,
    NightlyUpload,
    /// NTP poll of the gateway (0) or plc-1 (1) to the router.
    Ntp(usize),
    /// ARP refresh: the gateway's unicast probe of the router (0), the router's broadcast
    /// request for the gateway (1).
    Arp(usize),
    Benign(Benign),
    Attack(Attack),
}

fn periodic(v: &mut Vec<(u64, Ev)>, r: &mut Rng, first: u64, period: u64, end: u64, ev: Ev) {
    let mut t = first;
    while t < end {
        v.push((t + r.below(3_000) * US, ev));
        t += period;
    }
}

fn schedule(with_attacks: bool) -> Vec<(u64, Ev)> {
    let mut r = Rng::new(SEED ^ 0x5c4e_d01e);
    let b = site::base_at(0);
    let end = site::TEST_END;
    let mut v = vec![
        (b, Ev::Startup),
        (site::base_at(1800) + 250 * MS, Ev::NightlyUpload),
    ];
    periodic(&mut v, &mut r, b + S, S, end, Ev::ModbusPoll(0));
    periodic(&mut v, &mut r, b + 1_500 * MS, S, end, Ev::ModbusPoll(1));
    periodic(
        &mut v,
        &mut r,
        b + 15_500 * MS,
        30 * S,
        end,
        Ev::ModbusWrite,
    );
    // The first Who-Is is part of the start-up.
    periodic(&mut v, &mut r, b + 60_300 * MS, 60 * S, end, Ev::WhoIs);
    periodic(&mut v, &mut r, b + 2_200 * MS, 5 * S, end, Ev::BacnetRead);
    for i in 0..5 {
        let i64_ = i as u64;
        periodic(
            &mut v,
            &mut r,
            b + 3 * S + i64_ * 370 * MS,
            2 * S,
            end,
            Ev::Publish(i),
        );
        periodic(
            &mut v,
            &mut r,
            b + 30_200 * MS + i64_ * 3 * S,
            60 * S,
            end,
            Ev::SensorPing(i),
        );
    }
    periodic(&mut v, &mut r, b + 45_600 * MS, 60 * S, end, Ev::GwPing);
    periodic(&mut v, &mut r, b + 3_300 * MS, 5 * S, end, Ev::OpcRead);
    periodic(&mut v, &mut r, b + 4_100 * MS, 10 * S, end, Ev::AmqpPublish);
    periodic(
        &mut v,
        &mut r,
        b + 30_700 * MS,
        30 * S,
        end,
        Ev::AmqpHeartbeat,
    );
    periodic(&mut v, &mut r, b + 601 * S, 600 * S, end, Ev::Dns);
    periodic(
        &mut v,
        &mut r,
        b + 10_800 * MS,
        60 * S,
        end,
        Ev::TlsHeartbeat,
    );
    // NTP after the start-up's iburst: chrony on the gateway at poll 7, plc-1 every 60 s.
    periodic(&mut v, &mut r, b + 72_400 * MS, 128 * S, end, Ev::Ntp(0));
    periodic(&mut v, &mut r, b + 60_900 * MS, 60 * S, end, Ev::Ntp(1));
    periodic(&mut v, &mut r, b + 95_000 * MS, 300 * S, end, Ev::Arp(0));
    periodic(&mut v, &mut r, b + 241_000 * MS, 300 * S, end, Ev::Arp(1));
    for s in BENIGN {
        v.push((site::test_at_ms(s.at_ms), Ev::Benign(s.kind)));
    }
    if with_attacks {
        for a in ATTACKS {
            v.push((site::test_at_ms(a.at_ms), Ev::Attack(a.kind)));
        }
    }
    v.sort_by_key(|e| e.0);
    v
}

struct Sensor {
    host: Host,
    conn: Option<TcpConv>,
    busy_until: u64,
    humidity: bool,
    alive: bool,
    n: u64,
}

#[derive(Default)]
struct MbLink {
    conn: Option<TcpConv>,
    tid: u16,
    busy_until: u64,
    retry_at: u64,
}

struct Opc {
    conn: TcpConv,
    channel: u32,
    token: u32,
    cseq: u32,
    sseq: u32,
    req: u32,
    auth: NodeId,
}

impl Opc {
    /// The next request / response pair's message headers.
    fn next(&mut self) -> (UaMsg, UaMsg) {
        self.cseq += 1;
        self.sseq += 1;
        self.req += 1;
        (
            UaMsg {
                channel: self.channel,
                token: self.token,
                seq: self.cseq,
                request_id: self.req,
            },
            UaMsg {
                channel: self.channel,
                token: self.token,
                seq: self.sseq,
                request_id: self.req,
            },
        )
    }
}

/// The state of the site while the events run.
pub struct Sim {
    pub out: Collector,
    rng: Rng,
    arng: Rng,
    ports: HashMap<[u8; 4], u16>,
    ipid: HashMap<[u8; 4], u16>,
    mb: [MbLink; 2],
    plc2_dead: bool,
    sensors: Vec<Sensor>,
    gw: Option<TcpConv>,
    opc: Option<Opc>,
    amqp: Option<TcpConv>,
    bacnet_invoke: u8,
    bacnet_n: u64,
    bacnet_silent: bool,
    dns_id: u16,
    new_topic_pending: bool,
    pool: Vec<u8>,
    /// The site is without power in `[from, to)`: periodic events do nothing.
    down: (u64, u64),
}

/// TCP receive window a host announces (by its stack).
fn window_of(ip: [u8; 4]) -> u16 {
    let mac = site::wire_mac(ip);
    match mac[..3] {
        [0x24, 0x0a, 0xc4] | [0x7c, 0xdf, 0xa1] | [0x30, 0xae, 0xa4] => 5_744,
        [0x00, 0x80, 0xf4] => 4_096,
        [0x00, 0x30, 0xde] => 8_192,
        [0x00, 0x10, 0x8d] => 16_384,
        [0xa4, 0xbb, 0x6d] | [0x00, 0x14, 0x22] => 64_240,
        _ if !site::in_site(ip) => 65_535,
        _ => 64_240,
    }
}

fn mss_of(ip: [u8; 4]) -> u16 {
    if window_of(ip) == 5_744 {
        1_436
    } else {
        1_460
    }
}

fn new_tcp(rng: &mut Rng, client: Endpoint, server: Endpoint) -> TcpConv {
    let (ci, si) = match (client.ip, server.ip) {
        (std::net::IpAddr::V4(c), std::net::IpAddr::V4(s)) => (c.octets(), s.octets()),
        _ => unreachable!("the scenario is IPv4 only"),
    };
    TcpConv::new(client, server)
        .seqs(rng.next_u32(), rng.next_u32())
        .windows(window_of(ci), window_of(si))
        .mss(mss_of(ci).min(mss_of(si)))
}

fn ep(h: &Host, port: u16) -> Endpoint {
    h.ep(port)
}

fn bcast(port: u16) -> Endpoint {
    Endpoint::v4(site::SITE_BROADCAST, port).with_mac(BROADCAST_MAC)
}

/// Holding registers 0..9 of a PLC at time `t`: slowly moving process values.
fn registers(plc: usize, t: u64) -> [u16; 10] {
    let s = t / S;
    let wob = |k: u64, p: u64| ((s / p + k) % 7) as u16;
    if plc == 0 {
        [
            652 + wob(0, 11),
            648 + wob(1, 13),
            1_013 + wob(2, 17),
            42 + wob(3, 19),
            1,
            0,
            3_150 + wob(4, 23),
            12,
            0,
            (s % 65_536) as u16,
        ]
    } else {
        [
            71 + wob(0, 7),
            69 + wob(1, 9),
            250 + wob(2, 29),
            1,
            1,
            0,
            880 + wob(3, 31),
            7,
            0,
            (s / 60 % 65_536) as u16,
        ]
    }
}

const SENSOR_PASSWORD: &[u8] = b"S3ns0r!net";
const OPC_NODES: [&str; 3] = ["Boiler.Temperature", "Boiler.Pressure", "Boiler.Flow"];

impl Sim {
    /// Runs the whole timeline (learning, gap, test) and keeps the packets in `[from, to)`.
    pub fn run(with_attacks: bool, from: u64, to: u64) -> io::Result<Sim> {
        let mut pool = vec![0u8; 1 << 16];
        Rng::new(SEED ^ 0x9001).fill(&mut pool);
        let mut sim = Sim {
            out: Collector::new(from, to),
            rng: Rng::new(SEED),
            arng: Rng::new(SEED ^ 0xa77a_c4ed),
            ports: HashMap::new(),
            ipid: HashMap::new(),
            mb: Default::default(),
            plc2_dead: false,
            sensors: [SENSOR1, SENSOR2, SENSOR3, SENSOR4, SENSOR5]
                .iter()
                .enumerate()
                .map(|(i, h)| Sensor {
                    host: *h,
                    conn: None,
                    busy_until: 0,
                    humidity: false,
                    alive: i < 4,
                    n: 0,
                })
                .collect(),
            gw: None,
            opc: None,
            amqp: None,
            bacnet_invoke: 0,
            bacnet_n: 0,
            bacnet_silent: false,
            dns_id: 0x3a10,
            new_topic_pending: false,
            pool,
            down: (0, 0),
        };
        sim.out.holes = BENIGN
            .iter()
            .filter(|b| b.kind == Benign::CaptureGap)
            .map(|b| {
                let t = site::test_at_ms(b.at_ms);
                (t, t + b.quiet_secs() * S)
            })
            .collect();
        for (t, ev) in schedule(with_attacks) {
            sim.dispatch(t, ev)?;
        }
        sim.out.sort();
        Ok(sim)
    }

    fn dispatch(&mut self, t: u64, ev: Ev) -> io::Result<()> {
        if t >= self.down.0 && t < self.down.1 && !matches!(ev, Ev::Benign(_) | Ev::Attack(_)) {
            return Ok(());
        }
        match ev {
            Ev::Startup => self.startup(t),
            Ev::ModbusPoll(p) => self.modbus_poll(p, t),
            Ev::ModbusWrite => self.modbus_write(t),
            Ev::WhoIs => self.who_is(t),
            Ev::BacnetRead => self.bacnet_read(t),
            Ev::Publish(i) => self.publish(i, t),
            Ev::SensorPing(i) => self.sensor_ping(i, t),
            Ev::GwPing => self.gw_ping(t),
            Ev::OpcRead => self.opc_read(t),
            Ev::AmqpPublish => self.amqp_publish(t),
            Ev::AmqpHeartbeat => self.amqp_heartbeat(t),
            Ev::Dns => self.dns(t),
            Ev::TlsHeartbeat => self.tls_heartbeat(t),
            Ev::NightlyUpload => self.upload(t, 400_000, 600 * US, false).map(|_| ()),
            Ev::Ntp(i) => self.ntp(i, t, 7 - i as u8),
            Ev::Arp(i) => self.arp_refresh(i, t),
            Ev::Benign(b) => {
                self.out.label = benign_spec(b).id;
                let r = self.benign(b, t);
                self.out.label = None;
                r
            }
            Ev::Attack(a) => {
                self.out.label = Some(attack_spec(a).id);
                let r = self.attack(a, t);
                self.out.label = None;
                r
            }
        }
    }

    // ------------------------------------------------------------ helpers

    fn eph(&mut self, ip: [u8; 4]) -> u16 {
        let start = 49_152 + (u16::from_be_bytes([ip[2], ip[3]]).wrapping_mul(97) % 9_000);
        let p = self.ports.entry(ip).or_insert(start);
        *p = if *p >= 64_000 { 49_152 } else { *p + 1 };
        *p
    }

    fn ttl_of(ip: [u8; 4]) -> u8 {
        match window_of(ip) {
            64_240 if ip == HMI.ip || ip == BACNET_WS.ip => 128,
            _ if !site::in_site(ip) => 52,
            _ => 64,
        }
    }

    fn emit(
        &mut self,
        t: u64,
        src: &Endpoint,
        dst: &Endpoint,
        transport: Transport<'_>,
    ) -> io::Result<()> {
        let sip = match src.ip {
            std::net::IpAddr::V4(v) => v.octets(),
            _ => unreachable!(),
        };
        let id = self
            .ipid
            .entry(sip)
            .or_insert(u16::from_be_bytes([sip[3], sip[2]]));
        *id = id.wrapping_add(1);
        let f = Frame {
            src_mac: src.mac,
            dst_mac: dst.mac,
            vlan: Vlan::None,
            src_ip: src.ip,
            dst_ip: dst.ip,
            ttl: Self::ttl_of(sip),
            ip_id: *id,
            transport,
        };
        f.emit(&mut self.out, Timestamp(t))
    }

    fn udp(&mut self, t: u64, src: &Endpoint, dst: &Endpoint, payload: &[u8]) -> io::Result<()> {
        self.emit(
            t,
            src,
            dst,
            Transport::Udp {
                sport: src.port,
                dport: dst.port,
                payload,
            },
        )
    }

    // ------------------------------------------------------------ Modbus

    fn hmi_connect(&mut self, p: usize, t: u64) -> io::Result<()> {
        let plc = [PLC1, PLC2][p];
        let port = self.eph(HMI.ip);
        let mut c = new_tcp(&mut self.rng, ep(&HMI, port), ep(&plc, 502));
        let t1 = handshake(&mut c, &mut self.out, t, 400 * US, 80 * US)?;
        let tid = 1;
        let (vendor, product, rev) = if p == 0 {
            (
                facts::PLC1_VENDOR,
                facts::PLC1_PRODUCT,
                facts::PLC1_REVISION,
            )
        } else {
            (
                facts::PLC2_VENDOR,
                facts::PLC2_PRODUCT,
                facts::PLC2_REVISION,
            )
        };
        exchange(
            &mut c,
            &mut self.out,
            t1 + 5 * MS,
            &modbus::read_device_id_req(tid, 1, 1, 0),
            &modbus::read_device_id_resp(tid, 1, 1, &[(0, vendor), (1, product), (2, rev)]),
            4 * MS,
            45 * MS,
        )?;
        self.mb[p] = MbLink {
            conn: Some(c),
            tid,
            busy_until: t1 + 100 * MS,
            retry_at: 0,
        };
        Ok(())
    }

    fn modbus_poll(&mut self, p: usize, t: u64) -> io::Result<()> {
        if t < self.mb[p].busy_until {
            return Ok(());
        }
        if p == 1 && self.plc2_dead {
            return self.plc2_unavailable(t);
        }
        let link = &mut self.mb[p];
        let Some(c) = link.conn.as_mut() else {
            return Ok(());
        };
        link.tid = link.tid.wrapping_add(1);
        let rtt = if p == 0 { 2_600 * US } else { 4_100 * US };
        exchange(
            c,
            &mut self.out,
            t,
            &modbus::read_holding_registers_req(link.tid, 1, 0, 10),
            &modbus::read_holding_registers_resp(link.tid, 1, &registers(p, t)),
            rtt,
            45 * MS,
        )?;
        Ok(())
    }

    fn modbus_write(&mut self, t: u64) -> io::Result<()> {
        let link = &mut self.mb[0];
        if t < link.busy_until {
            return Ok(());
        }
        let Some(c) = link.conn.as_mut() else {
            return Ok(());
        };
        link.tid = link.tid.wrapping_add(1);
        let n = t / S / 30;
        let values = [650 + (n % 3) as u16 * 5, 1];
        exchange(
            c,
            &mut self.out,
            t,
            &modbus::write_multiple_registers_req(link.tid, 1, 100, &values),
            &craft::modbus_write_multiple_resp(link.tid, 1, 100, 2),
            3_200 * US,
            45 * MS,
        )?;
        Ok(())
    }

    /// plc-2's Modbus service is down: the live connection is reset at the next poll, then
    /// a reconnect attempt every 2 s is refused.
    fn plc2_unavailable(&mut self, t: u64) -> io::Result<()> {
        let label = Some(attack_spec(Attack::AvailPlc2).id);
        let prev = std::mem::replace(&mut self.out.label, label);
        if let Some(mut c) = self.mb[1].conn.take() {
            let link = &mut self.mb[1];
            link.tid = link.tid.wrapping_add(1);
            at(&mut c, t).send(
                &mut self.out,
                Dir::ToServer,
                &modbus::read_holding_registers_req(link.tid, 1, 0, 10),
            )?;
            at(&mut c, t + 900 * US).rst(&mut self.out, Dir::ToClient)?;
            self.mb[1].retry_at = t + 2 * S - 100 * MS;
        } else if t >= self.mb[1].retry_at {
            let port = self.eph(HMI.ip);
            let mut c = new_tcp(&mut self.rng, ep(&HMI, port), ep(&PLC2, 502));
            refused(&mut c, &mut self.out, t, 700 * US)?;
            self.mb[1].retry_at = t + 2 * S - 100 * MS;
        }
        self.out.label = prev;
        Ok(())
    }

    // ------------------------------------------------------------ BACnet

    fn who_is(&mut self, t: u64) -> io::Result<()> {
        self.udp(
            t,
            &ep(&BACNET_WS, 47808),
            &bcast(47808),
            &bacnet::who_is(None),
        )?;
        if !self.bacnet_silent {
            self.udp(
                t + 14 * MS,
                &ep(&BACNET_CTL, 47808),
                &bcast(47808),
                &bacnet::i_am(facts::BACNET_INSTANCE, facts::BACNET_VENDOR),
            )?;
        }
        Ok(())
    }

    fn bacnet_read(&mut self, t: u64) -> io::Result<()> {
        self.bacnet_invoke = self.bacnet_invoke.wrapping_add(1);
        self.bacnet_n += 1;
        let inv = self.bacnet_invoke;
        let inst = 1 + (self.bacnet_n % 4) as u32;
        let ws = ep(&BACNET_WS, 47808);
        let ctl = ep(&BACNET_CTL, 47808);
        let req = bacnet::read_property_req(
            inv,
            bacnet::object::ANALOG_INPUT,
            inst,
            bacnet::property::PRESENT_VALUE,
        );
        if self.bacnet_silent {
            let prev = self.out.label.replace(attack_spec(Attack::AvailBacnet).id);
            self.udp(t, &ws, &ctl, &req)?;
            self.out.label = prev;
            return Ok(());
        }
        self.udp(t, &ws, &ctl, &req)?;
        let v = 18.0 + inst as f32 * 1.5 + ((t / S / 60 + inst as u64) % 9) as f32 * 0.1;
        let ack = bacnet::read_property_ack(
            inv,
            bacnet::object::ANALOG_INPUT,
            inst,
            bacnet::property::PRESENT_VALUE,
            &bacnet::Value::Real(v),
        );
        self.udp(t + 9 * MS, &ctl, &ws, &ack)
    }

    // ------------------------------------------------------------ DHCP + MQTT sensors

    /// DHCP DORA for sensor `i` at its current host binding (DISCOVER asking for `requested`),
    /// ARP (probe of the address, announcement, the broker resolved), then a new MQTT session.
    /// Returns the time of the CONNACK.
    fn sensor_join(&mut self, i: usize, t: u64, requested: Option<[u8; 4]>) -> io::Result<u64> {
        self.sensor_join_via(i, t, requested, None)
    }

    /// [`Sim::sensor_join`]; with `rogue`, that host's DHCP server answers first (with itself
    /// as router and DNS server) and the sensor takes its lease; the router's OFFER comes too
    /// late. An attack: it draws from the attack stream.
    fn sensor_join_via(
        &mut self,
        i: usize,
        t: u64,
        requested: Option<[u8; 4]>,
        rogue: Option<&Host>,
    ) -> io::Result<u64> {
        let h = self.sensors[i].host;
        let attack = rogue.is_some();
        let xid = if attack {
            self.arng.next_u32()
        } else {
            self.rng.next_u32()
        };
        let client = dhcp::Client {
            mac: h.mac,
            hostname: h.name,
            vendor_class: facts::SENSOR_VENDOR_CLASS,
        };
        let lease = dhcp::Lease {
            server: ROUTER.ip,
            addr: h.ip,
            mask: [255, 255, 0, 0],
            router: ROUTER.ip,
            dns: ROUTER.ip,
            lease_secs: 86_400,
        };
        let unbound = Endpoint::v4([0, 0, 0, 0], 68).with_mac(h.mac);
        let all = Endpoint::v4([255, 255, 255, 255], 67).with_mac(BROADCAST_MAC);
        let server = ep(&ROUTER, 67);
        let to_client = ep(&h, 68);
        self.udp(t, &unbound, &all, &dhcp::discover(xid, &client, requested))?;
        if let Some(r) = rogue {
            let bad = dhcp::Lease {
                server: r.ip,
                router: r.ip,
                dns: r.ip,
                lease_secs: 3_600,
                ..lease
            };
            let rs = ep(r, 67);
            self.udp(
                t + 1_100 * US,
                &rs,
                &to_client,
                &dhcp::offer(xid, h.mac, &bad),
            )?;
            self.udp(
                t + 2_300 * US,
                &server,
                &to_client,
                &dhcp::offer(xid, h.mac, &lease),
            )?;
            self.udp(
                t + 5_100 * US,
                &unbound,
                &all,
                &dhcp::request(xid, 0, &client, h.ip, r.ip),
            )?;
            self.udp(
                t + 6_200 * US,
                &rs,
                &to_client,
                &dhcp::ack(xid, h.mac, &bad),
            )?;
        } else {
            self.udp(
                t + 2_300 * US,
                &server,
                &to_client,
                &dhcp::offer(xid, h.mac, &lease),
            )?;
            self.udp(
                t + 5_100 * US,
                &unbound,
                &all,
                &dhcp::request(xid, 0, &client, h.ip, ROUTER.ip),
            )?;
            self.udp(
                t + 7_000 * US,
                &server,
                &to_client,
                &dhcp::ack(xid, h.mac, &lease),
            )?;
        }
        // lwIP: an ARP probe of the address (RFC 5227), the announcement once bound, then
        // the broker resolved.
        self.arp(
            t + 7_400 * US,
            h.mac,
            BROADCAST_MAC,
            Arp::request(h.mac, [0; 4], h.ip),
        )?;
        self.arp(
            t + 520 * MS,
            h.mac,
            BROADCAST_MAC,
            Arp::request(h.mac, h.ip, h.ip),
        )?;
        let t1 = t + 850 * MS;
        self.resolve(t1 - 1_200 * US, &h, &BROKER, 300 * US)?;
        let port = self.eph(h.ip);
        let rng = if attack {
            &mut self.arng
        } else {
            &mut self.rng
        };
        let mut c = new_tcp(rng, ep(&h, port), ep(&BROKER, 1883));
        let t2 = handshake(&mut c, &mut self.out, t1, 600 * US, 60 * US)?;
        let connect = mqtt::connect_with_auth(
            mqtt::Version::V311,
            h.name,
            60,
            facts::SENSOR_USER,
            SENSOR_PASSWORD,
        );
        at(&mut c, t2 + 1_800 * US).send(&mut self.out, Dir::ToServer, &connect)?;
        let tc = t2 + 2_400 * US;
        at(&mut c, tc).send(
            &mut self.out,
            Dir::ToClient,
            &mqtt::connack(mqtt::Version::V311, false, 0),
        )?;
        at(&mut c, tc + 110 * MS).ack(&mut self.out, Dir::ToServer)?;
        let s = &mut self.sensors[i];
        s.conn = Some(c);
        s.busy_until = tc + 200 * MS;
        Ok(tc)
    }

    fn publish(&mut self, i: usize, t: u64) -> io::Result<()> {
        let s = &mut self.sensors[i];
        if !s.alive || t < s.busy_until {
            return Ok(());
        }
        let Some(c) = s.conn.as_mut() else {
            return Ok(());
        };
        s.n += 1;
        let name = s.host.name;
        let n = s.n;
        let mut msgs = vec![mqtt::publish(
            mqtt::Version::V311,
            &format!("site/temp/{name}"),
            0,
            0,
            false,
            format!(
                "{{\"sensor\":\"{name}\",\"temp_c\":{}.{:02},\"seq\":{n}}}",
                20 + i as u64 + (n / 97) % 3,
                (n * 37 + i as u64 * 13) % 100
            )
            .as_bytes(),
        )];
        let labelled = s.humidity && i == 0 && self.new_topic_pending;
        if s.humidity {
            msgs.push(mqtt::publish(
                mqtt::Version::V311,
                &format!("site/humidity/{name}"),
                0,
                0,
                false,
                format!(
                    "{{\"sensor\":\"{name}\",\"rh_pct\":{}.{},\"seq\":{n}}}",
                    41 + (n / 53) % 6,
                    (n * 7) % 10
                )
                .as_bytes(),
            ));
        }
        let prev = self.out.label;
        if labelled {
            self.out.label = benign_spec(Benign::NewTopic).id;
            self.new_topic_pending = false;
        }
        let k = msgs.len() as u64;
        for (j, m) in msgs.iter().enumerate() {
            at(c, t + j as u64 * 3 * MS).send(&mut self.out, Dir::ToServer, m)?;
        }
        at(c, t + (k - 1) * 3 * MS + 40 * MS).ack(&mut self.out, Dir::ToClient)?;
        if let Some(gw) = self.gw.as_mut() {
            for (j, m) in msgs.iter().enumerate() {
                at(gw, t + j as u64 * 3 * MS + 310 * US).send(&mut self.out, Dir::ToClient, m)?;
            }
            at(gw, t + (k - 1) * 3 * MS + 41 * MS).ack(&mut self.out, Dir::ToServer)?;
        }
        self.out.label = prev;
        Ok(())
    }

    fn sensor_ping(&mut self, i: usize, t: u64) -> io::Result<()> {
        let s = &mut self.sensors[i];
        if !s.alive || t < s.busy_until {
            return Ok(());
        }
        let Some(c) = s.conn.as_mut() else {
            return Ok(());
        };
        at(c, t).send(&mut self.out, Dir::ToServer, &mqtt::pingreq())?;
        at(c, t + 500 * US).send(&mut self.out, Dir::ToClient, &mqtt::pingresp())?;
        at(c, t + 120 * MS).ack(&mut self.out, Dir::ToServer)?;
        Ok(())
    }

    /// The sensor's MQTT session ends with DISCONNECT and an orderly close.
    fn sensor_disconnect(&mut self, i: usize, t: u64) -> io::Result<()> {
        if let Some(mut c) = self.sensors[i].conn.take() {
            at(&mut c, t).send(
                &mut self.out,
                Dir::ToServer,
                &mqtt::disconnect(mqtt::Version::V311),
            )?;
            close(&mut c, &mut self.out, t + 2 * MS, Dir::ToServer, 700 * US)?;
        }
        Ok(())
    }

    fn gw_connect(&mut self, t: u64) -> io::Result<()> {
        let port = self.eph(GATEWAY.ip);
        let mut c = new_tcp(&mut self.rng, ep(&GATEWAY, port), ep(&BROKER, 1883));
        let t1 = handshake(&mut c, &mut self.out, t, 350 * US, 40 * US)?;
        let connect = mqtt::connect_with_auth(
            mqtt::Version::V311,
            facts::GATEWAY_CLIENT_ID,
            60,
            facts::GATEWAY_USER,
            b"gw-Secr3t",
        );
        at(&mut c, t1 + 300 * US).send(&mut self.out, Dir::ToServer, &connect)?;
        at(&mut c, t1 + 900 * US).send(
            &mut self.out,
            Dir::ToClient,
            &mqtt::connack(mqtt::Version::V311, false, 0),
        )?;
        at(&mut c, t1 + 1_200 * US).send(
            &mut self.out,
            Dir::ToServer,
            &mqtt::subscribe(mqtt::Version::V311, 1, &[("site/#", 0)]),
        )?;
        at(&mut c, t1 + 1_700 * US).send(
            &mut self.out,
            Dir::ToClient,
            &mqtt::suback(mqtt::Version::V311, 1, &[0]),
        )?;
        at(&mut c, t1 + 42 * MS).ack(&mut self.out, Dir::ToServer)?;
        self.gw = Some(c);
        Ok(())
    }

    fn gw_ping(&mut self, t: u64) -> io::Result<()> {
        let Some(c) = self.gw.as_mut() else {
            return Ok(());
        };
        at(c, t).send(&mut self.out, Dir::ToServer, &mqtt::pingreq())?;
        at(c, t + 400 * US).send(&mut self.out, Dir::ToClient, &mqtt::pingresp())?;
        at(c, t + 40 * MS).ack(&mut self.out, Dir::ToServer)?;
        Ok(())
    }

    // ------------------------------------------------------------ OPC UA

    /// HEL/ACK, OPN, CreateSession and ActivateSession from `client` to opcua-srv. Returns the
    /// session and the time of the last packet sent.
    #[allow(clippy::too_many_arguments)]
    fn opc_session(
        &mut self,
        t: u64,
        client: &Host,
        ua: &UaClient<'_>,
        user: &str,
        password: &[u8],
        activate_status: u32,
        attack: bool,
    ) -> io::Result<(Opc, u64)> {
        let port = self.eph(client.ip);
        let rng = if attack {
            &mut self.arng
        } else {
            &mut self.rng
        };
        let mut c = new_tcp(rng, ep(client, port), ep(&OPCUA_SRV, 4840));
        let mut nonce = [0u8; 32];
        rng.fill(&mut nonce);
        let mut snonce = [0u8; 32];
        rng.fill(&mut snonce);
        let channel = 0x4a00_0000 | (rng.next_u32() & 0xffff);
        let session = 0x0010_0000 | (rng.next_u32() & 0xffff);
        let auth = 0x00a0_0000 | (rng.next_u32() & 0xffff);
        let out = &mut self.out;
        let url = "opc.tcp://10.20.0.40:4840";
        let rtt = 1_500 * US;
        let mut tt = handshake(&mut c, out, t, 300 * US, 50 * US)? + 200 * US;
        at(&mut c, tt).send(out, Dir::ToServer, &opcua::hello(url))?;
        at(&mut c, tt + rtt).send(out, Dir::ToClient, &opcua::acknowledge())?;
        tt += rtt + 300 * US;
        at(&mut c, tt).send(out, Dir::ToServer, &opcua::open_secure_channel_req(1, 1))?;
        at(&mut c, tt + rtt).send(
            out,
            Dir::ToClient,
            &opcua::open_secure_channel_resp(channel, 1, 1, 1),
        )?;
        tt += rtt + 400 * US;
        let mut s = Opc {
            conn: c,
            channel,
            token: 1,
            cseq: 1,
            sseq: 1,
            req: 1,
            auth: NodeId::Numeric(1, auth),
        };
        let (mc, ms) = s.next();
        let server = UaServer {
            application_uri: facts::OPCUA_SERVER_URI,
            product_uri: "urn:siemens:simatic:opcua",
            application_name: "Plant OPC UA Server",
            endpoint_url: url,
        };
        at(&mut s.conn, tt).send(
            out,
            Dir::ToServer,
            &craft::create_session_request(&mc, tt, ua, facts::OPCUA_SERVER_URI, url, &nonce),
        )?;
        let tr = tt + 2 * rtt;
        at(&mut s.conn, tr).send(
            out,
            Dir::ToClient,
            &craft::create_session_response(&ms, tr, &server, session, auth, &snonce),
        )?;
        tt = tr + 500 * US;
        let (mc, ms) = s.next();
        at(&mut s.conn, tt).send(
            out,
            Dir::ToServer,
            &opcua::activate_session_request(
                mc.channel,
                mc.token,
                mc.seq,
                mc.request_id,
                &s.auth,
                user,
                password,
            ),
        )?;
        let tr = tt + 2 * rtt;
        at(&mut s.conn, tr).send(
            out,
            Dir::ToClient,
            &craft::activate_session_response(&ms, tr, activate_status, &snonce),
        )?;
        Ok((s, tr))
    }

    fn opc_connect(&mut self, t: u64) -> io::Result<()> {
        let ua = UaClient {
            application_uri: facts::GATEWAY_OPCUA_URI,
            product_uri: "urn:edge:gateway:collector",
            application_name: "Edge Gateway Collector",
            session_name: "edge-gateway-session",
        };
        let (mut s, tr) = self.opc_session(
            t,
            &GATEWAY,
            &ua,
            facts::GATEWAY_USER,
            b"gw-Secr3t",
            0,
            false,
        )?;
        at(&mut s.conn, tr + 40 * MS).ack(&mut self.out, Dir::ToServer)?;
        self.opc = Some(s);
        Ok(())
    }

    fn opc_read(&mut self, t: u64) -> io::Result<()> {
        let Some(s) = self.opc.as_mut() else {
            return Ok(());
        };
        let (mc, ms) = s.next();
        let nodes: Vec<NodeId> = OPC_NODES
            .iter()
            .map(|n| NodeId::String(2, (*n).to_string()))
            .collect();
        let k = (t / S / 5 % 50) as f64;
        let values = [78.5 + k * 0.05, 2.41 + k * 0.002, 13.9 + (k % 7.0) * 0.1];
        exchange(
            &mut s.conn,
            &mut self.out,
            t,
            &craft::read_request(&mc, t, &s.auth, &nodes),
            &craft::read_response(&ms, t + 3 * MS, &values),
            3 * MS,
            40 * MS,
        )?;
        Ok(())
    }

    // ------------------------------------------------------------ AMQP

    fn amqp_connect(&mut self, t: u64) -> io::Result<()> {
        let port = self.eph(GATEWAY.ip);
        let mut c = new_tcp(&mut self.rng, ep(&GATEWAY, port), ep(&RABBIT, 5672));
        let out = &mut self.out;
        let mut tt = handshake(&mut c, out, t, 300 * US, 40 * US)? + 100 * US;
        let steps: Vec<(Dir, Vec<u8>)> = vec![
            (Dir::ToServer, amqp::HEADER_091.to_vec()),
            (Dir::ToClient, amqp::connection_start(facts::RABBIT_PRODUCT)),
            (
                Dir::ToServer,
                amqp::connection_start_ok(facts::GATEWAY_AMQP_PRODUCT, "gateway", "gw-Secr3t"),
            ),
            (
                Dir::ToClient,
                amqp::connection_tune(false, 2047, 131_072, 60),
            ),
            (
                Dir::ToServer,
                [
                    amqp::connection_tune(true, 2047, 131_072, 60),
                    amqp::connection_open("/"),
                ]
                .concat(),
            ),
            (Dir::ToClient, amqp::connection_open_ok()),
            (Dir::ToServer, amqp::channel_open(1)),
            (Dir::ToClient, amqp::channel_open_ok(1)),
            (
                Dir::ToServer,
                amqp::exchange_declare(1, "telemetry", "topic"),
            ),
            (Dir::ToClient, amqp::exchange_declare_ok(1)),
        ];
        for (d, m) in steps {
            at(&mut c, tt).send(out, d, &m)?;
            tt += if d == Dir::ToServer {
                600 * US
            } else {
                300 * US
            };
        }
        at(&mut c, tt + 40 * MS).ack(out, Dir::ToServer)?;
        self.amqp = Some(c);
        Ok(())
    }

    fn amqp_publish(&mut self, t: u64) -> io::Result<()> {
        let Some(c) = self.amqp.as_mut() else {
            return Ok(());
        };
        let k = t / S / 10;
        let body = format!(
            "{{\"site\":\"plant-a\",\"boiler_temp_c\":{}.{},\"sensors\":4,\"n\":{k}}}",
            65 + k % 3,
            k * 7 % 10
        );
        at(c, t).send(
            &mut self.out,
            Dir::ToServer,
            &amqp::basic_publish(1, "telemetry", "site.temp", body.as_bytes()),
        )?;
        at(c, t + 40 * MS).ack(&mut self.out, Dir::ToClient)?;
        Ok(())
    }

    fn amqp_heartbeat(&mut self, t: u64) -> io::Result<()> {
        let Some(c) = self.amqp.as_mut() else {
            return Ok(());
        };
        at(c, t).send(&mut self.out, Dir::ToClient, &amqp::heartbeat())?;
        at(c, t + 40 * MS).ack(&mut self.out, Dir::ToServer)?;
        Ok(())
    }

    // ------------------------------------------------------------ DNS, TLS to the cloud

    fn dns(&mut self, t: u64) -> io::Result<()> {
        self.dns_id = self.dns_id.wrapping_mul(31).wrapping_add(7);
        let id = self.dns_id;
        let port = self.eph(GATEWAY.ip);
        let gw = ep(&GATEWAY, port);
        let srv = ep(&ROUTER, 53);
        self.udp(t, &gw, &srv, &dns::query(id, site::CLOUD_NAME, dns::TYPE_A))?;
        self.udp(
            t + 1_200 * US,
            &srv,
            &gw,
            &dns::response_a(id, site::CLOUD_NAME, &[site::CLOUD_IP], 600),
        )
    }

    /// A TLS connection from the gateway to the cloud: handshake, `up` bytes of application
    /// data sent one segment every `gap`, a short answer, close. Returns the last packet's time.
    fn cloud_tls(&mut self, t: u64, up: usize, gap: u64, attack: bool) -> io::Result<u64> {
        let port = self.eph(GATEWAY.ip);
        let rng = if attack {
            &mut self.arng
        } else {
            &mut self.rng
        };
        let mut c = new_tcp(rng, ep(&GATEWAY, port), site::wire_ep(site::CLOUD_IP, 443));
        let rtt = 24 * MS + rng.below(3_000) * US;
        let (hello, sid) = craft::tls_client_hello(rng, site::CLOUD_NAME);
        let flight = craft::tls_server_flight(rng, &sid, 2_380);
        let mut data = craft::tls_client_finished(rng);
        if up <= 65_536 {
            data.extend_from_slice(&craft::tls_app_data(rng, up));
        } else {
            let off = rng.below(60_000) as usize;
            data.extend_from_slice(&craft::tls_app_data_from_pool(&self.pool, up, off));
        }
        let answer_len = 96 + rng.below(64) as usize;
        let answer = craft::tls_app_data(rng, answer_len);
        let out = &mut self.out;
        let t1 = handshake(&mut c, out, t, rtt, 90 * US)?;
        at(&mut c, t1 + 150 * US).send(out, Dir::ToServer, &hello)?;
        let t2 = t1 + 150 * US + rtt;
        let t3 = bulk(
            &mut c,
            out,
            t2,
            Dir::ToClient,
            &flight,
            1460,
            30 * US,
            60 * US,
        )?;
        let t4 = t3 + 1_200 * US;
        let t5 = bulk(&mut c, out, t4, Dir::ToServer, &data, 1460, gap, rtt)?;
        at(&mut c, t5 + 2 * MS).send(out, Dir::ToClient, &answer)?;
        at(&mut c, t5 + 2 * MS + 80 * US).ack(out, Dir::ToServer)?;
        close(&mut c, out, t5 + 40 * MS, Dir::ToServer, rtt)
    }

    fn tls_heartbeat(&mut self, t: u64) -> io::Result<()> {
        let up = 1_900 + self.rng.below(200) as usize;
        self.cloud_tls(t, up, 60 * US, false).map(|_| ())
    }

    fn upload(&mut self, t: u64, bytes: usize, gap: u64, attack: bool) -> io::Result<u64> {
        self.cloud_tls(t, bytes, gap, attack)
    }

    // ------------------------------------------------------------ benign surprises

    fn benign(&mut self, b: Benign, t: u64) -> io::Result<()> {
        match b {
            Benign::NewTopic => {
                self.sensors[0].humidity = true;
                self.new_topic_pending = true;
                Ok(())
            }
            Benign::AddedSensor => {
                self.sensors[4].alive = true;
                self.sensor_join(4, t, None).map(|_| ())
            }
            Benign::ReplacedSensorUnplug => {
                // Power gone: nothing on the wire; the broker still holds the old session.
                self.sensors[3].alive = false;
                Ok(())
            }
            Benign::ReplacedSensor => {
                let old = self.sensors[3].conn.take();
                self.sensors[3].host = SENSOR4_NEW;
                self.sensors[3].alive = true;
                let tc = self.sensor_join(3, t, None)?;
                if let Some(mut o) = old {
                    // Same client id: the broker closes the old session; the dead device
                    // never answers, the FIN is retransmitted, then given up.
                    at(&mut o, tc + 700 * US).fin(&mut self.out, Dir::ToClient)?;
                    for d in [200, 600, 1_400, 3_000] {
                        at(&mut o, tc + 700 * US + d * MS).retransmit_last(&mut self.out)?;
                    }
                }
                Ok(())
            }
            Benign::DhcpChange => {
                self.sensor_disconnect(2, t)?;
                let old = self.sensors[2].host.ip;
                self.sensors[2].host = SENSOR3_NEW;
                self.sensor_join(2, t + 6 * S, Some(old)).map(|_| ())
            }
            Benign::RebootSensor2 => {
                self.sensor_disconnect(1, t)?;
                let ip = self.sensors[1].host.ip;
                self.sensor_join(1, t + 20 * S, Some(ip)).map(|_| ())
            }
            Benign::RebootPlc2 => self.reboot_plc2(t),
            Benign::BiggerUpload => self.upload(t, 500_000, 600 * US, false).map(|_| ()),
            Benign::SiteRestart => self.power_loss(t, RESTART_OFF_SECS * S),
            // The collector drops what happens meanwhile (`Collector::holes`).
            Benign::CaptureGap => Ok(()),
        }
    }

    fn reboot_plc2(&mut self, t: u64) -> io::Result<()> {
        let Some(mut c) = self.mb[1].conn.take() else {
            return Ok(());
        };
        let link = &mut self.mb[1];
        link.tid = link.tid.wrapping_add(1);
        at(&mut c, t).send(
            &mut self.out,
            Dir::ToServer,
            &modbus::read_holding_registers_req(link.tid, 1, 0, 10),
        )?;
        // The HMI's TCP retransmits (RTO doubling from 300 ms); plc-2 is back after 15 s and
        // answers the next retransmission of a connection it no longer knows with a RST.
        let mut last = t;
        for d in [300u64, 900, 2_100, 4_500, 9_300, 18_900] {
            last = t + d * MS;
            at(&mut c, last).retransmit_last(&mut self.out)?;
        }
        let rseq = c.next_seq(Dir::ToClient);
        at(&mut c, last + 600 * US).segment(
            &mut self.out,
            Dir::ToClient,
            TcpFlags::RST,
            rseq,
            0,
            &[],
        )?;
        let tn = last + 400 * MS;
        let port = self.eph(HMI.ip);
        let mut n = new_tcp(&mut self.rng, ep(&HMI, port), ep(&PLC2, 502));
        let t1 = handshake(&mut n, &mut self.out, tn, 500 * US, 80 * US)?;
        let link = &mut self.mb[1];
        link.tid = link.tid.wrapping_add(1);
        exchange(
            &mut n,
            &mut self.out,
            t1 + 2 * MS,
            &modbus::read_holding_registers_req(link.tid, 1, 0, 10),
            &modbus::read_holding_registers_resp(link.tid, 1, &registers(1, tn)),
            4_100 * US,
            45 * MS,
        )?;
        link.conn = Some(n);
        link.busy_until = t1 + 300 * MS;
        Ok(())
    }

    // ------------------------------------------------------------ attacks

    fn attack(&mut self, a: Attack, t: u64) -> io::Result<()> {
        match a {
            Attack::LmNewEdge => self.lm_new_edge(t),
            Attack::IcsModbusWrite => {
                let link = &mut self.mb[1];
                let Some(c) = link.conn.as_mut() else {
                    return Ok(());
                };
                link.tid = link.tid.wrapping_add(1);
                let req = modbus::write_single_register(link.tid, 1, 4000, 0);
                exchange(c, &mut self.out, t, &req, &req, 4_300 * US, 45 * MS).map(|_| ())
            }
            Attack::LmScan => self.lm_scan(t),
            Attack::DosSynFlood => flood::syn_flood_paced(
                &mut self.out,
                t,
                ep(&BROKER, 1883),
                20_000,
                5_000,
                500 * US,
                &mut self.arng,
            )
            .map(|_| ()),
            Attack::UaMqttAuth => self.ua_mqtt(t),
            Attack::IcsBacnetReinit => {
                self.bacnet_invoke = self.bacnet_invoke.wrapping_add(1);
                let inv = self.bacnet_invoke;
                let req = bacnet::confirmed_request(
                    inv,
                    bacnet::service::REINITIALIZE_DEVICE,
                    &bacnet::reinitialize_device_args(1, "admin"),
                );
                let ws = ep(&BACNET_WS, 47808);
                let ctl = ep(&BACNET_CTL, 47808);
                self.udp(t, &ws, &ctl, &req)?;
                self.udp(
                    t + 11 * MS,
                    &ctl,
                    &ws,
                    &bacnet::simple_ack(inv, bacnet::service::REINITIALIZE_DEVICE),
                )
            }
            Attack::DosUdpFlood => self.udp_flood(t),
            Attack::IcsOpcuaWrite => {
                let Some(s) = self.opc.as_mut() else {
                    return Ok(());
                };
                let (mc, ms) = s.next();
                exchange(
                    &mut s.conn,
                    &mut self.out,
                    t,
                    &craft::write_request(
                        &mc,
                        t,
                        &s.auth,
                        &NodeId::String(2, "Boiler.Setpoint".to_string()),
                        95.0,
                    ),
                    &craft::write_response(&ms, t + 3 * MS, 0),
                    3 * MS,
                    40 * MS,
                )
                .map(|_| ())
            }
            Attack::Exfil => {
                let bytes = 40 << 20;
                let gap = 55 * S / (bytes as u64 / 1460);
                self.upload(t, bytes, gap, true).map(|_| ())
            }
            Attack::AvailBacnet => {
                self.bacnet_silent = true;
                Ok(())
            }
            Attack::C2 => self.c2(t),
            Attack::LmIcmpSweep => self.icmp_sweep(t),
            Attack::UaAmqp => self.ua_amqp(t),
            Attack::DosMqttStorm => self.mqtt_storm(t),
            Attack::UaOpcua => {
                let ua = UaClient {
                    application_uri: "urn:freeopcua:client",
                    product_uri: "urn:freeopcua.github.io:client",
                    application_name: "Pure Python Client",
                    session_name: "Pure Python Client Session1",
                };
                let (mut s, tr) = self.opc_session(
                    t,
                    &OPCUA_INTRUDER,
                    &ua,
                    "admin",
                    b"admin",
                    craft::BAD_IDENTITY_TOKEN_REJECTED,
                    true,
                )?;
                let tt = tr + 2 * MS;
                s.cseq += 1;
                s.req += 1;
                at(&mut s.conn, tt).send(
                    &mut self.out,
                    Dir::ToServer,
                    &opcua::close_secure_channel(s.channel, s.token, s.cseq, s.req),
                )?;
                close(
                    &mut s.conn,
                    &mut self.out,
                    tt + 500 * US,
                    Dir::ToServer,
                    400 * US,
                )
                .map(|_| ())
            }
            Attack::PaMalformed => self.malformed_modbus(t),
            Attack::AvailPlc2 => {
                self.plc2_dead = true;
                Ok(())
            }
            Attack::LmFinScan => self.stealth_scan(t, flood::Stealth::Fin),
            Attack::LmNullScan => self.stealth_scan(t, flood::Stealth::Null),
            Attack::LmXmasScan => self.stealth_scan(t, flood::Stealth::Xmas),
            Attack::LmAckScan => self.stealth_scan(t, flood::Stealth::Ack),
            Attack::LmUdpScan => self.stealth_scan(t, flood::Stealth::Udp),
            Attack::LmModbusDevId => self.modbus_devid(t),
            Attack::LmModbusUnitSweep => self.modbus_unit_sweep(t),
            Attack::UaSshBrute => self.ssh_bruteforce(t),
            Attack::UaRogueDhcp => self.rogue_dhcp(t),
            Attack::C2BeaconNewName => self.beacon(
                t,
                &BACNET_WS,
                site::BEACON_IP,
                site::BEACON_NAME,
                true,
                60 * S,
                13,
            ),
            Attack::C2BeaconKnownHost => {
                self.beacon(t, &HMI, site::CLOUD_IP, site::CLOUD_NAME, false, 45 * S, 12)
            }
            Attack::ExfilDnsTunnel => self.dns_tunnel(t),
            Attack::LmBacnetSweep => self.bacnet_sweep(t),
            Attack::UaMqttBrute => self.mqtt_bruteforce(t),
            Attack::DosDhcpStarvation => self.dhcp_starvation(t),
            Attack::UaArpSpoof => self.arp_spoof(t),
            Attack::LmOpcuaBrowse => self.opcua_browse(t),
        }
    }

    fn lm_new_edge(&mut self, t: u64) -> io::Result<()> {
        let h = self.sensors[1].host;
        let port = self.eph(h.ip);
        let mut c = new_tcp(&mut self.arng, ep(&h, port), ep(&PLC1, 502));
        let mut tt = handshake(&mut c, &mut self.out, t, 700 * US, 60 * US)? + 3 * MS;
        for (k, (addr, qty)) in [(0u16, 10u16), (100, 2), (0, 125)].into_iter().enumerate() {
            let tid = k as u16 + 1;
            let values: Vec<u16> = (0..qty)
                .map(|j| (addr + j).wrapping_mul(13) % 1000)
                .collect();
            exchange(
                &mut c,
                &mut self.out,
                tt,
                &modbus::read_holding_registers_req(tid, 1, addr, qty),
                &modbus::read_holding_registers_resp(tid, 1, &values),
                2_800 * US,
                100 * MS,
            )?;
            tt += 400 * MS;
        }
        close(&mut c, &mut self.out, tt, Dir::ToServer, 900 * US).map(|_| ())
    }

    fn lm_scan(&mut self, t: u64) -> io::Result<()> {
        let h = self.sensors[2].host;
        let port = self.eph(h.ip);
        let scanner = ep(&h, port);
        let mut em = Emitted {
            first: Timestamp(u64::MAX),
            last: Timestamp(0),
            packets: 0,
        };
        let ports = [22u16, 80, 502, 1883];
        let gap = 10 * S / 240;
        let mut k = 0u64;
        for last in 1..=60u8 {
            let ip = [10, 20, 0, last];
            let live = flood::listening(ip);
            for p in ports {
                let state = match live {
                    None => PortState::Silent,
                    Some(open) if open.contains(&p) => PortState::Open,
                    Some(_) => PortState::Closed,
                };
                let tgt = site::wire_ep(ip, p);
                flood::probe(
                    &mut self.out,
                    &mut em,
                    t + k * gap,
                    &scanner,
                    &tgt,
                    state,
                    700 * US,
                    &mut self.arng,
                )?;
                k += 1;
            }
        }
        Ok(())
    }

    fn ua_mqtt(&mut self, t: u64) -> io::Result<()> {
        let pw = [
            "admin",
            "password",
            "123456",
            "admin123",
            "mosquitto",
            "public",
            "changeme",
            "root",
            "12345678",
            "letmein",
        ];
        for (k, p) in pw.iter().enumerate() {
            let tt = t + k as u64 * 950 * MS;
            let port = self.eph(MQTT_GUESSER.ip);
            let mut c = new_tcp(&mut self.arng, ep(&MQTT_GUESSER, port), ep(&BROKER, 1883));
            let t1 = handshake(&mut c, &mut self.out, tt, 500 * US, 50 * US)?;
            let connect = mqtt::connect_with_auth(
                mqtt::Version::V311,
                &format!("mqttx_{:08x}", self.arng.next_u32()),
                30,
                "admin",
                p.as_bytes(),
            );
            at(&mut c, t1 + 200 * US).send(&mut self.out, Dir::ToServer, &connect)?;
            at(&mut c, t1 + 1_900 * US).send(
                &mut self.out,
                Dir::ToClient,
                &mqtt::connack(mqtt::Version::V311, false, 5),
            )?;
            close(
                &mut c,
                &mut self.out,
                t1 + 2_000 * US,
                Dir::ToClient,
                300 * US,
            )?;
        }
        Ok(())
    }

    fn udp_flood(&mut self, t: u64) -> io::Result<()> {
        let dst = ep(&BACNET_CTL, 47808);
        // hping3 --udp style: one source, source port counting up, the data 'X'-filled (not a
        // BVLC header, type 0x81, so nothing dissects it).
        let junk = [b'X'; 64];
        // Source ports 56100..65500: none of them is a port some dissector claims.
        let first = 56_100 + self.arng.below(400) as u16;
        for k in 0..20_000u64 {
            let src = ep(&UDP_FLOODER, first + (k % 9_000) as u16);
            self.udp(t + k * 250 * US, &src, &dst, &junk)?;
        }
        Ok(())
    }

    fn c2(&mut self, t: u64) -> io::Result<()> {
        let port = 1_025 + self.arng.below(3_000) as u16;
        let mut c = new_tcp(
            &mut self.arng,
            ep(&PLC1, port),
            site::wire_ep(site::C2_IP, 8080),
        );
        let rtt = 83 * MS;
        let mut tt = handshake(&mut c, &mut self.out, t, rtt, 200 * US)? + 400 * US;
        let exchanges: [(&str, &str); 2] = [
            (
                "GET /api/v1/beacon?id=bmx-7f3a HTTP/1.1\r\nHost: 203.0.113.66:8080\r\nUser-Agent: Mozilla/4.0\r\nAccept: */*\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\nc21kOnN0YXR1cztzbGVlcDo2",
            ),
            (
                "POST /api/v1/result HTTP/1.1\r\nHost: 203.0.113.66:8080\r\nUser-Agent: Mozilla/4.0\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\ncnVuOm9rO3YzLjEw",
                "HTTP/1.1 204 No Content\r\n\r\n",
            ),
        ];
        for (req, resp) in exchanges {
            exchange(
                &mut c,
                &mut self.out,
                tt,
                req.as_bytes(),
                resp.as_bytes(),
                rtt,
                20 * MS,
            )?;
            tt += rtt + 1_500 * MS;
        }
        close(&mut c, &mut self.out, tt, Dir::ToServer, rtt).map(|_| ())
    }

    fn icmp_sweep(&mut self, t: u64) -> io::Result<()> {
        let h = self.sensors[0].host;
        let src = ep(&h, 0);
        let data = icmp::lwip_ping_data(32);
        for last in 1..=254u8 {
            let tt = t + (last as u64 - 1) * 20 * MS;
            let ip = [10, 20, 1, last];
            let dst = site::wire_ep(ip, 0);
            let seq = last as u16;
            self.emit(
                tt,
                &src,
                &dst,
                Transport::IcmpEcho {
                    reply: false,
                    id: 0xafaf,
                    seq,
                    payload: &data,
                },
            )?;
            if site::site_mac(ip).is_some() && (ip == HMI.ip || ip == BACNET_WS.ip) {
                self.emit(
                    tt + 450 * US,
                    &dst,
                    &src,
                    Transport::IcmpEcho {
                        reply: true,
                        id: 0xafaf,
                        seq,
                        payload: &data,
                    },
                )?;
            }
        }
        Ok(())
    }

    fn ua_amqp(&mut self, t: u64) -> io::Result<()> {
        let port = self.eph(AMQP_INTRUDER.ip);
        let mut c = new_tcp(&mut self.arng, ep(&AMQP_INTRUDER, port), ep(&RABBIT, 5672));
        let out = &mut self.out;
        let mut tt = handshake(&mut c, out, t, 300 * US, 40 * US)? + 100 * US;
        let steps: Vec<(Dir, Vec<u8>)> = vec![
            (Dir::ToServer, amqp::HEADER_091.to_vec()),
            (Dir::ToClient, amqp::connection_start(facts::RABBIT_PRODUCT)),
            (
                Dir::ToServer,
                amqp::connection_start_ok("amqplib", "admin", "admin"),
            ),
            (
                Dir::ToClient,
                amqp::connection_close(
                    403,
                    "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.",
                ),
            ),
            (Dir::ToServer, amqp::connection_close_ok()),
        ];
        for (d, m) in steps {
            at(&mut c, tt).send(out, d, &m)?;
            tt += if d == Dir::ToServer {
                900 * US
            } else {
                400 * US
            };
        }
        close(&mut c, out, tt, Dir::ToClient, 300 * US).map(|_| ())
    }

    fn mqtt_storm(&mut self, t: u64) -> io::Result<()> {
        for k in 0..300u64 {
            let tt = t + k * 33 * MS;
            let port = self.eph(MQTT_STORMER.ip);
            let mut c = new_tcp(&mut self.arng, ep(&MQTT_STORMER, port), ep(&BROKER, 1883));
            let t1 = handshake(&mut c, &mut self.out, tt, 400 * US, 30 * US)?;
            let id = format!("bench-{k:04}-{:06x}", self.arng.next_u32() & 0xff_ffff);
            at(&mut c, t1 + 100 * US).send(
                &mut self.out,
                Dir::ToServer,
                &mqtt::connect(mqtt::Version::V311, &id, 60),
            )?;
            at(&mut c, t1 + 900 * US).send(
                &mut self.out,
                Dir::ToClient,
                &mqtt::connack(mqtt::Version::V311, false, 0),
            )?;
            at(&mut c, t1 + 5 * MS).send(
                &mut self.out,
                Dir::ToServer,
                &mqtt::disconnect(mqtt::Version::V311),
            )?;
            close(
                &mut c,
                &mut self.out,
                t1 + 5_100 * US,
                Dir::ToServer,
                400 * US,
            )?;
        }
        Ok(())
    }

    fn malformed_modbus(&mut self, t: u64) -> io::Result<()> {
        let port = self.eph(HMI.ip);
        let mut c = new_tcp(&mut self.arng, ep(&HMI, port), ep(&PLC1, 502));
        let mut tt = handshake(&mut c, &mut self.out, t, 450 * US, 60 * US)? + 2 * MS;
        let body = [1u8, 3, 0, 0, 0, 10];
        let adus = [
            craft::modbus_raw(0x0101, 0x0001, 6, &body),
            craft::modbus_raw(0x0102, 0x1234, 6, &body),
            craft::modbus_raw(0x0103, 0xffff, 6, &body),
            craft::modbus_raw(0x0104, 0x0000, 0, &body),
            craft::modbus_raw(0x0105, 0x0000, 1, &body),
            craft::modbus_raw(0x0106, 0x0000, 0x0400, &body),
        ];
        for a in &adus {
            at(&mut c, tt).send(&mut self.out, Dir::ToServer, a)?;
            at(&mut c, tt + 1_100 * US).ack(&mut self.out, Dir::ToClient)?;
            tt += 25 * MS;
        }
        at(&mut c, tt).rst(&mut self.out, Dir::ToClient)
    }
}
