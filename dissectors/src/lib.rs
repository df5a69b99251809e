//! edgetap's protocol dissectors: pure parsing of byte slices.
//!
//! No I/O, no async, no `unsafe`. Every function here takes bytes that an attacker controls, so
//! nothing may panic: lengths are checked before bytes are read (clippy denies `unwrap`,
//! `expect`, `panic` and indexing in this crate).
//!
//! The pipeline hands each flow's bytes to one [`Dissector`] per flow, through three distinct
//! calls (the stream interface of Zeek's analyzers): [`Dissector::parse`] for in-order data (a
//! TCP segment's new bytes, or one whole UDP datagram), [`Dissector::on_gap`] when bytes were lost
//! to the capture, and [`Dissector::on_eof`] when a direction ends. What the dissector finds goes
//! out through a [`Sink`]: PDUs (borrowed views, serialisable as the contract's JSON), events
//! (anomalies worth a person's attention) and identity facts.
//!
//! Protocol selection: [`probe`] asks one protocol whether bytes look like it; [`Proto::default_ports`]
//! gives the ports tried first. [`new_session`] builds the per-flow state.
#![forbid(unsafe_code)]

pub mod discovery;
pub mod fingerprint;
pub mod names;
pub mod oui;
pub mod stream;

#[cfg(feature = "amqp")]
pub mod amqp;
#[cfg(feature = "bacnet")]
pub mod bacnet;
#[cfg(feature = "modbus")]
pub mod modbus;
#[cfg(feature = "mqtt")]
pub mod mqtt;
#[cfg(feature = "opcua")]
pub mod opcua;

use serde::Serialize;

/// The application protocols edgetap dissects.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Modbus,
    Bacnet,
    Mqtt,
    Amqp,
    Opcua,
}

/// Transport a protocol runs over (all of ours use exactly one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

impl Proto {
    /// Every protocol, in a stable order (index = `as usize`).
    pub const ALL: [Proto; 5] = [
        Proto::Modbus,
        Proto::Bacnet,
        Proto::Mqtt,
        Proto::Amqp,
        Proto::Opcua,
    ];

    /// The name used in the contract's `proto` field.
    pub fn name(self) -> &'static str {
        match self {
            Proto::Modbus => "modbus",
            Proto::Bacnet => "bacnet",
            Proto::Mqtt => "mqtt",
            Proto::Amqp => "amqp",
            Proto::Opcua => "opcua",
        }
    }

    pub fn transport(self) -> Transport {
        match self {
            Proto::Bacnet => Transport::Udp,
            _ => Transport::Tcp,
        }
    }

    /// Server ports tried first (IANA registrations and common practice).
    pub fn default_ports(self) -> &'static [u16] {
        match self {
            Proto::Modbus => &[502],
            Proto::Bacnet => &[47808],
            Proto::Mqtt => &[1883],
            Proto::Amqp => &[5672],
            Proto::Opcua => &[4840],
        }
    }

    /// Whether this build carries the protocol's dissector.
    pub fn enabled(self) -> bool {
        match self {
            Proto::Modbus => cfg!(feature = "modbus"),
            Proto::Bacnet => cfg!(feature = "bacnet"),
            Proto::Mqtt => cfg!(feature = "mqtt"),
            Proto::Amqp => cfg!(feature = "amqp"),
            Proto::Opcua => cfg!(feature = "opcua"),
        }
    }
}

/// Which way bytes travel, relative to the flow's client (the side that opened it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    ToServer,
    ToClient,
}

impl Direction {
    pub fn flip(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
    /// 0 for to-server, 1 for to-client: an index into per-direction arrays.
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
}

/// A protocol's verdict on the first bytes of a flow (or of a datagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The bytes look like this protocol.
    Yes,
    /// They do not.
    No,
    /// Too few bytes to tell.
    NeedMore,
}

/// One application PDU, as a borrowed view. Serialises as `{"<proto>": {fields}}`, the shape
/// the contract's records carry under their `proto` key.
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pdu<'a> {
    #[cfg(feature = "modbus")]
    Modbus(modbus::Pdu<'a>),
    #[cfg(feature = "bacnet")]
    Bacnet(bacnet::Pdu<'a>),
    #[cfg(feature = "mqtt")]
    Mqtt(mqtt::Pdu<'a>),
    #[cfg(feature = "amqp")]
    Amqp(amqp::Pdu<'a>),
    #[cfg(feature = "opcua")]
    Opcua(opcua::Pdu<'a>),
    /// Keeps the lifetime used when no protocol feature is on.
    #[serde(skip)]
    #[doc(hidden)]
    _Never(std::marker::PhantomData<&'a ()>, std::convert::Infallible),
}

impl Pdu<'_> {
    pub fn proto(&self) -> Proto {
        match self {
            #[cfg(feature = "modbus")]
            Pdu::Modbus(_) => Proto::Modbus,
            #[cfg(feature = "bacnet")]
            Pdu::Bacnet(_) => Proto::Bacnet,
            #[cfg(feature = "mqtt")]
            Pdu::Mqtt(_) => Proto::Mqtt,
            #[cfg(feature = "amqp")]
            Pdu::Amqp(_) => Proto::Amqp,
            #[cfg(feature = "opcua")]
            Pdu::Opcua(_) => Proto::Opcua,
            Pdu::_Never(_, never) => match *never {},
        }
    }
}

/// Severity-free anomaly or notable condition seen while parsing. `name` is stable
/// (`<proto>.<event>`, e.g. `modbus.bad_protocol_id`): rules refer to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    pub proto: Proto,
    pub name: &'static str,
}

/// What kind of identity fact a dissector saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FactKind {
    /// Modbus FC 43/14 objects.
    ModbusVendor,
    ModbusProductCode,
    ModbusRevision,
    ModbusVendorUrl,
    ModbusProductName,
    ModbusModelName,
    /// A unit id the server answered for.
    ModbusUnitId,
    BacnetDeviceInstance,
    BacnetVendorId,
    /// The device object's vendor-name property (what the device says).
    BacnetVendorName,
    /// The registered name of the vendor id an I-Am carries (the ASHRAE list).
    BacnetVendorRegistered,
    BacnetObjectName,
    BacnetModelName,
    BacnetFirmwareRevision,
    BacnetApplicationSoftwareVersion,
    MqttClientId,
    MqttUsername,
    MqttBrokerProduct,
    OpcuaApplicationUri,
    OpcuaProductUri,
    OpcuaApplicationName,
    OpcuaCertificateThumbprint,
    /// The server's BuildInfo (read from Server_ServerStatus, its BuildInfo or their children).
    OpcuaBuildProductUri,
    OpcuaManufacturerName,
    OpcuaProductName,
    OpcuaSoftwareVersion,
    OpcuaBuildNumber,
    AmqpProduct,
    AmqpVersion,
    AmqpPlatform,
    AmqpContainerId,
    AmqpVirtualHost,
}

/// One identity fact about the sender (`about = dir`'s source) or the receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fact<'a> {
    pub kind: FactKind,
    /// Whether the fact describes the client or the server of the flow.
    pub about: Side,
    pub value: FactValue<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactValue<'a> {
    Text(&'a str),
    /// Bytes that were not valid UTF-8 (shown lossily by consumers).
    Bytes(&'a [u8]),
    Number(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

/// Where a dissector's output goes. The pipeline adds frame number, time and addresses.
pub trait Sink {
    fn pdu(&mut self, dir: Direction, pdu: &Pdu<'_>);
    fn event(&mut self, dir: Direction, event: Event);
    fn fact(&mut self, _fact: Fact<'_>) {}
}

/// A sink that keeps everything, for tests (allocates; never on the hot path).
#[derive(Default, Debug)]
pub struct Collect {
    /// Each PDU rendered as JSON (`{"<proto>": {...}}`) with its direction.
    pub pdus: Vec<(Direction, String)>,
    pub events: Vec<(Direction, Event)>,
    pub facts: Vec<(FactKind, Side, String)>,
}

impl Sink for Collect {
    fn pdu(&mut self, dir: Direction, pdu: &Pdu<'_>) {
        let text = serde_json::to_string(pdu).unwrap_or_else(|e| format!("<unserialisable: {e}>"));
        self.pdus.push((dir, text));
    }
    fn event(&mut self, dir: Direction, event: Event) {
        self.events.push((dir, event));
    }
    fn fact(&mut self, fact: Fact<'_>) {
        let v = match fact.value {
            FactValue::Text(s) => s.to_string(),
            FactValue::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            FactValue::Number(n) => n.to_string(),
        };
        self.facts.push((fact.kind, fact.about, v));
    }
}

/// Per-flow protocol state. Implementations never panic, whatever the bytes.
pub trait Dissector: Send {
    /// New in-order bytes in direction `dir`: for TCP the next part of the stream, for UDP one
    /// whole datagram.
    fn parse(&mut self, dir: Direction, data: &[u8], sink: &mut dyn Sink);
    /// `len` bytes in direction `dir` were lost (capture drop, reassembly cap). The dissector
    /// drops any partial PDU and resynchronises on later data.
    fn on_gap(&mut self, dir: Direction, len: u64, sink: &mut dyn Sink);
    /// Direction `dir` ended (FIN, RST, or flow expiry).
    fn on_eof(&mut self, _dir: Direction, _sink: &mut dyn Sink) {}
}

/// Ask protocol `proto` whether `data` (the first bytes seen in direction `dir`) is its own.
pub fn probe(proto: Proto, dir: Direction, data: &[u8]) -> Probe {
    let _ = (dir, data);
    match proto {
        #[cfg(feature = "modbus")]
        Proto::Modbus => modbus::probe(dir, data),
        #[cfg(feature = "bacnet")]
        Proto::Bacnet => bacnet::probe(dir, data),
        #[cfg(feature = "mqtt")]
        Proto::Mqtt => mqtt::probe(dir, data),
        #[cfg(feature = "amqp")]
        Proto::Amqp => amqp::probe(dir, data),
        #[cfg(feature = "opcua")]
        Proto::Opcua => opcua::probe(dir, data),
        #[allow(unreachable_patterns)]
        _ => Probe::No,
    }
}

/// A fresh per-flow dissector for `proto`, or `None` when this build lacks it.
pub fn new_session(proto: Proto) -> Option<Box<dyn Dissector>> {
    match proto {
        #[cfg(feature = "modbus")]
        Proto::Modbus => Some(Box::new(modbus::Session::default())),
        #[cfg(feature = "bacnet")]
        Proto::Bacnet => Some(Box::new(bacnet::Session::default())),
        #[cfg(feature = "mqtt")]
        Proto::Mqtt => Some(Box::new(mqtt::Session::default())),
        #[cfg(feature = "amqp")]
        Proto::Amqp => Some(Box::new(amqp::Session::default())),
        #[cfg(feature = "opcua")]
        Proto::Opcua => Some(Box::new(opcua::Session::default())),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
