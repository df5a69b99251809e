//! The BACnet PDU record: one per BACnet/IP datagram, every layer's fields flattened.

use super::tags::be_u16;
use super::tags::{Hex, ObjectId, Value};
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;
use std::fmt;

/// An IPv4 address and UDP port (B/IP address, 6 octets), serialised as `"a.b.c.d:port"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPort {
    pub ip: [u8; 4],
    pub port: u16,
}

impl IpPort {
    /// Read a 6-octet B/IP address.
    pub fn read(d: &[u8]) -> Option<IpPort> {
        let ip: [u8; 4] = d.get(..4)?.try_into().ok()?;
        let port = be_u16(d, 4)?;
        Some(IpPort { ip, port })
    }
}

impl fmt::Display for IpPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.ip;
        write!(f, "{a}.{b}.{c}.{d}:{}", self.port)
    }
}

impl Serialize for IpPort {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Which BVLL table a list of entries comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableKind {
    /// Broadcast distribution table: address, port, broadcast mask (10 octets each).
    Bdt,
    /// Foreign device table: address, port, TTL, seconds remaining (10 octets each).
    Fdt,
}

/// A BDT or FDT carried by a BVLL message, serialised as a list of entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table<'a> {
    pub kind: TableKind,
    /// The entries' bytes (a multiple of 10 octets; a trailing partial entry is ignored).
    pub data: &'a [u8],
}

/// Most entries serialised from one table.
const MAX_TABLE_ENTRIES: usize = 64;

impl Serialize for Table<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let entries = self.data.chunks_exact(10).take(MAX_TABLE_ENTRIES);
        let mut seq = s.serialize_seq(Some(entries.len()))?;
        for e in entries {
            let Some(addr) = IpPort::read(e) else {
                continue;
            };
            match self.kind {
                TableKind::Bdt => {
                    let mask: [u8; 4] = e
                        .get(6..10)
                        .and_then(|m| m.try_into().ok())
                        .unwrap_or([0; 4]);
                    seq.serialize_element(&BdtEntry { addr, mask })?;
                }
                TableKind::Fdt => seq.serialize_element(&FdtEntry {
                    addr,
                    ttl: be_u16(e, 6).unwrap_or(0),
                    remaining: be_u16(e, 8).unwrap_or(0),
                })?,
            }
        }
        seq.end()
    }
}

struct BdtEntry {
    addr: IpPort,
    mask: [u8; 4],
}

impl Serialize for BdtEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("BdtEntry", 2)?;
        st.serialize_field("address", &self.addr)?;
        st.serialize_field("mask", &Mask(self.mask))?;
        st.end()
    }
}

struct Mask([u8; 4]);

impl Serialize for Mask {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!(
            "{}.{}.{}.{}",
            self.0[0], self.0[1], self.0[2], self.0[3]
        ))
    }
}

#[derive(Serialize)]
struct FdtEntry {
    #[serde(rename = "address")]
    addr: IpPort,
    ttl: u16,
    remaining: u16,
}

/// A list of 2-octet network numbers (I-Am-Router-To-Network, Router-Busy, ...), serialised as
/// a list of numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetList<'a>(pub &'a [u8]);

impl Serialize for NetList<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let nets = self.0.chunks_exact(2);
        let mut seq = s.serialize_seq(Some(nets.len()))?;
        for n in nets {
            seq.serialize_element(&be_u16(n, 0).unwrap_or(0))?;
        }
        seq.end()
    }
}

/// One BACnet PDU (one BACnet/IP datagram): a reference to its [`Fields`], so that the crate's
/// `Pdu` enum stays small. Serialises as the fields themselves.
#[derive(Clone, Copy, Debug, Serialize)]
#[serde(transparent)]
pub struct Pdu<'a>(pub &'a Fields<'a>);

impl<'a> std::ops::Deref for Pdu<'a> {
    type Target = Fields<'a>;
    fn deref(&self) -> &Fields<'a> {
        self.0
    }
}

/// One BACnet/IP datagram's fields (BVLL, NPDU, APDU and the service's parameters). Absent
/// fields are omitted from the JSON.
#[derive(Debug, Default, Serialize)]
pub struct Fields<'a> {
    // ---- BVLL (Annex J) ----
    /// BVLC function (0x00 Result .. 0x0c Secure-BVLL).
    pub bvlc_function: u8,
    /// BVLC length field (the whole datagram's length when well formed).
    pub bvlc_length: u16,
    /// BVLC-Result result code (0x0000 success, 0x0010 Write-BDT NAK, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bvlc_result: Option<u16>,
    /// Forwarded-NPDU: B/IP address of the original sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forwarded_from: Option<IpPort>,
    /// Register-Foreign-Device: requested time-to-live in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u16>,
    /// Delete-Foreign-Device-Table-Entry: the entry's B/IP address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fdt_entry: Option<IpPort>,
    /// Write-BDT / Read-BDT-Ack / Read-FDT-Ack: the table's entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<Table<'a>>,
    /// Secure-BVLL: length of the security wrapper, in octets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure_bvll_length: Option<u16>,

    // ---- NPDU (clause 6) ----
    /// NPDU protocol version (1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npdu_version: Option<u8>,
    /// NPDU control octet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npdu_control: Option<u8>,
    /// The sender expects a reply (control bit 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expecting_reply: Option<bool>,
    /// Network priority (0 normal .. 3 life safety).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    /// Destination network number (0xFFFF = global broadcast).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dnet: Option<u16>,
    /// Destination MAC address (empty = broadcast on DNET), hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dadr: Option<Hex<'a>>,
    /// Source network number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snet: Option<u16>,
    /// Source MAC address, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sadr: Option<Hex<'a>>,
    /// Hop count (present with DNET).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_count: Option<u8>,
    /// Network-layer message type (network-layer messages only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_message: Option<u8>,
    /// Name of the network-layer message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_message_name: Option<&'static str>,
    /// Network numbers carried by a network-layer message (Who-Is-Router-To-Network's DNET,
    /// I-Am-Router-To-Network's list, Router-Busy/Available, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks: Option<NetList<'a>>,
    /// Reject-Message-To-Network reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_network_reason: Option<u8>,

    // ---- APDU header (clause 20.1) ----
    /// APDU type (0 Confirmed-Request .. 7 Abort).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apdu_type: Option<u8>,
    /// Service choice: confirmed service (types 0, 2, 3, 5) or unconfirmed service (type 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<u8>,
    /// Name of the service, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_name: Option<&'static str>,
    /// Invoke id (every type but Unconfirmed-Request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoke_id: Option<u8>,
    /// Segmented message (Confirmed-Request, Complex-ACK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segmented: Option<bool>,
    /// More segments follow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub more_follows: Option<bool>,
    /// Confirmed-Request: the client accepts a segmented response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segmented_response_accepted: Option<bool>,
    /// Confirmed-Request: maximum segments accepted (0 = unspecified, 65 = more than 64).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_segments: Option<u8>,
    /// Maximum APDU length accepted, in octets (Confirmed-Request header, or I-Am).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_apdu: Option<u32>,
    /// Segment sequence number (segmented messages, Segment-ACK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u8>,
    /// Proposed / actual window size (segmented messages, Segment-ACK).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window_size: Option<u8>,
    /// Segment-ACK: negative acknowledgement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_ack: Option<bool>,
    /// Segment-ACK / Abort: sent by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_by_server: Option<bool>,

    // ---- Service parameters (clauses 13-16) ----
    /// I-Am: the device's instance number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_instance: Option<u32>,
    /// I-Am: segmentation supported (0 both, 1 transmit, 2 receive, 3 none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segmentation_supported: Option<u64>,
    /// I-Am (and Private-Transfer, network messages >= 0x80): vendor identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<u32>,
    /// Vendor name from the ASHRAE vendor id list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_name: Option<&'static str>,
    /// Who-Is / Who-Has: low end of the device instance range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low_limit: Option<u64>,
    /// Who-Is / Who-Has: high end of the device instance range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high_limit: Option<u64>,
    /// The object the service is about (type, e.g. 8 = device).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_type: Option<u16>,
    /// The object's instance number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_instance: Option<u32>,
    /// Who-Has / I-Have: the object's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_name: Option<Value<'a>>,
    /// I-Have, COV notifications: the device (initiating or owning) instance number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_device: Option<u32>,
    /// Property identifier (the first one for the -Multiple services and COV notifications).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_id: Option<u32>,
    /// Property array index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_index: Option<u32>,
    /// WriteProperty / WritePropertyMultiple: command priority (1-16).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_priority: Option<u8>,
    /// The (first) property value: WriteProperty, ReadProperty-ACK, COV notifications,
    /// ReadPropertyMultiple-ACK, WritePropertyMultiple; TimeSynchronization's date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value<'a>>,
    /// Number of primitive values in `value`'s property (arrays and lists), when more than one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_count: Option<u32>,
    /// ReadPropertyMultiple / WritePropertyMultiple (request or ACK): objects listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_count: Option<u32>,
    /// ReadPropertyMultiple / WritePropertyMultiple / COV notifications: properties listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property_count: Option<u32>,
    /// TimeSynchronization / UTCTimeSynchronization: the time (the date is in `value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Value<'a>>,
    /// SubscribeCOV / COV notifications: subscriber process identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u64>,
    /// SubscribeCOV: issue confirmed notifications (absent in a cancellation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_confirmed: Option<bool>,
    /// SubscribeCOV: lifetime in seconds; COV notifications: time remaining.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<u64>,
    /// SubscribeCOV: a cancellation (neither issue-confirmed nor lifetime).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel: Option<bool>,
    /// DeviceCommunicationControl: duration in minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<u64>,
    /// DeviceCommunicationControl: 0 enable, 1 disable, 2 disable-initiation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_disable: Option<u64>,
    /// ReinitializeDevice: 0 coldstart, 1 warmstart, 2-6 backup/restore, 7 activate-changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reinitialized_state: Option<u64>,
    /// DeviceCommunicationControl / ReinitializeDevice: a password was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_present: Option<bool>,
    /// AtomicReadFile / AtomicWriteFile: 0 stream access, 1 record access.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_access: Option<u8>,
    /// AtomicReadFile / AtomicWriteFile: start position (stream) or start record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_start: Option<i64>,
    /// AtomicReadFile request: octets or records requested; record-access write: record count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_count: Option<u64>,
    /// AtomicWriteFile / AtomicReadFile-ACK: octets of file data carried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_data_length: Option<u32>,
    /// AtomicReadFile-ACK: end of file reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_of_file: Option<bool>,
    /// Error PDU: error class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_class: Option<u64>,
    /// Error PDU: error code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u64>,
    /// Reject PDU: reject reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<u8>,
    /// Abort PDU: abort reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abort_reason: Option<u8>,
}

impl Fields<'_> {
    /// Set `object_type` / `object_instance` from an object identifier.
    pub(crate) fn set_object(&mut self, o: ObjectId) {
        self.object_type = Some(o.object_type);
        self.object_instance = Some(o.instance);
    }
}
