//! Stage 6: who is on the network. One [`Device`] record per physical or virtual endpoint,
//! built from what the traffic shows (MAC and vendor, addresses over time, names from DHCP and
//! DNS, protocol facts from the dissectors, roles from behaviour) and from a known-devices
//! file, merged into one inventory.
//!
//! Identity keys, strongest first: a protocol identity (BACnet device instance, OPC-UA
//! application URI, MQTT client id) names one device wherever it appears; on the local segment
//! the MAC names it across address changes and reboots; behind a router (whose MAC carries many
//! addresses, or external ones) the IP is the key. Records are created only for endpoints that
//! proved they exist (they answered, or completed an exchange), so a flood of spoofed sources
//! creates none; the table has a hard cap and counts what it refused.

pub mod attributes;
pub mod export;
pub mod fingerprints;
pub mod known;
pub mod net;

use crate::identify::net::{is_host, is_unicast_mac, SiteNets};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
type FastSet<K> = HashSet<K, foldhash::fast::FixedState>;
use std::net::IpAddr;

pub type DevIdx = u32;

/// A MAC address, shown as `aa:bb:cc:dd:ee:ff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mac(pub [u8; 6]);

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl std::str::FromStr for Mac {
    type Err = String;
    fn from_str(s: &str) -> Result<Mac, String> {
        let mut out = [0u8; 6];
        let mut n = 0;
        for (i, part) in s.split([':', '-']).enumerate() {
            let slot = out
                .get_mut(i)
                .ok_or_else(|| format!("`{s}` is not a MAC"))?;
            *slot = u8::from_str_radix(part, 16).map_err(|_| format!("`{s}` is not a MAC"))?;
            n = i + 1;
        }
        if n != 6 {
            return Err(format!("`{s}` is not a MAC"));
        }
        Ok(Mac(out))
    }
}

impl Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Mac, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An address a device used, with when.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Seen<T> {
    pub addr: T,
    pub first_ns: u64,
    pub last_ns: u64,
}

/// What a device does, inferred from the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    ModbusClient,
    ModbusServer,
    BacnetDevice,
    MqttClient,
    MqttBroker,
    AmqpClient,
    AmqpBroker,
    OpcuaClient,
    OpcuaServer,
    DnsServer,
    DhcpServer,
    /// Client of a field protocol and of a messaging protocol: an edge gateway service.
    Gateway,
    External,
}

impl Role {
    pub const ALL: [Role; 13] = [
        Role::ModbusClient,
        Role::ModbusServer,
        Role::BacnetDevice,
        Role::MqttClient,
        Role::MqttBroker,
        Role::AmqpClient,
        Role::AmqpBroker,
        Role::OpcuaClient,
        Role::OpcuaServer,
        Role::DnsServer,
        Role::DhcpServer,
        Role::Gateway,
        Role::External,
    ];
    fn bit(self) -> u32 {
        1 << (self as u32)
    }
    pub fn name(self) -> &'static str {
        match self {
            Role::ModbusClient => "modbus_client",
            Role::ModbusServer => "modbus_server",
            Role::BacnetDevice => "bacnet_device",
            Role::MqttClient => "mqtt_client",
            Role::MqttBroker => "mqtt_broker",
            Role::AmqpClient => "amqp_client",
            Role::AmqpBroker => "amqp_broker",
            Role::OpcuaClient => "opcua_client",
            Role::OpcuaServer => "opcua_server",
            Role::DnsServer => "dns_server",
            Role::DhcpServer => "dhcp_server",
            Role::Gateway => "gateway",
            Role::External => "external",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// A set of roles (a bit per [`Role`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Roles(pub u32);

impl Roles {
    pub fn has(self, r: Role) -> bool {
        self.0 & r.bit() != 0
    }
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.has(*r))
    }
}

impl Serialize for Roles {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Role::name))
    }
}

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Roles, D::Error> {
        let v = Vec::<Role>::deserialize(d)?;
        Ok(Roles(v.iter().fold(0, |a, r| a | r.bit())))
    }
}

/// One protocol fact about a device, with its evidence.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FactRec {
    pub key: String,
    pub value: String,
    pub first_ns: u64,
    pub last_ns: u64,
    /// The flow that showed it first, and that packet's frame number.
    pub flow_id: u64,
    pub frame: u64,
}

/// One device of the inventory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Device {
    /// Stable id: derived from the key the device was first known by.
    pub id: String,
    pub name: Option<String>,
    /// Where the name came from (`known`, `dhcp_hostname`, `mqtt_client_id`, ...).
    pub name_from: Option<String>,
    pub macs: Vec<Seen<Mac>>,
    pub ips: Vec<Seen<IpAddr>>,
    pub vendor: Option<String>,
    pub vendor_from: Option<String>,
    pub roles: Roles,
    pub facts: Vec<FactRec>,
    pub labels: Vec<String>,
    /// Listed in the known-devices file.
    pub known: bool,
    pub internal: bool,
    pub first_ns: u64,
    pub last_ns: u64,
    /// This record was merged into another (its index); kept so indices stay valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<DevIdx>,
    #[serde(skip)]
    name_rank: u8,
}

impl Device {
    /// The name to show: the best name known, else the first address.
    pub fn label(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        match self.ips.last() {
            Some(ip) => ip.addr.to_string(),
            None => self.id.clone(),
        }
    }
    pub fn fact(&self, key: &str) -> Option<&str> {
        self.facts
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.value.as_str())
    }
}

/// Name sources, best first.
const NAME_RANK: [&str; 10] = [
    "known",
    "dhcp_hostname",
    "netbios_name",
    "mdns_hostname",
    "bacnet_object_name",
    "opcua_application_name",
    "mqtt_client_id",
    "amqp_container_id",
    "dns",
    "modbus_product_name",
];

/// Facts that name one device wherever it appears.
const STRONG: [&str; 3] = [
    "bacnet_device_instance",
    "opcua_application_uri",
    "mqtt_client_id",
];

/// Facts that name the vendor (better than the MAC's OUI).
const VENDOR_FACTS: [&str; 4] = [
    "modbus_vendor",
    "bacnet_vendor_name",
    "bacnet_vendor_registered",
    "opcua_manufacturer_name",
];

const MAX_MACS: usize = 8;
const MAX_IPS: usize = 16;
const MAX_FACTS: usize = 64;
/// A MAC carrying more internal addresses than this is a router's.
const ROUTER_IPS: usize = 8;
const MAX_DNS_NAMES: usize = 4096;

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct InventoryStats {
    pub devices: u64,
    pub merged: u64,
    /// Devices not created because the inventory was full.
    pub refused_full: u64,
    pub router_macs: u64,
    pub dns_names_dropped: u64,
}

/// The inventory and its indexes.
pub struct Inventory {
    pub devices: Vec<Device>,
    by_ip: FastMap<IpAddr, DevIdx>,
    by_mac: FastMap<[u8; 6], DevIdx>,
    /// Strong identities (kind and value, hashed) to their device.
    by_strong: FastMap<u64, DevIdx>,
    /// MACs of routers: never a device key.
    routers: FastSet<[u8; 6]>,
    /// Internal addresses seen behind each MAC (for router detection), bounded.
    mac_ips: FastMap<[u8; 6], Vec<IpAddr>>,
    /// Names from DNS answers, by address.
    pub dns: FastMap<IpAddr, String>,
    pub site: SiteNets,
    pub max_devices: usize,
    pub stats: InventoryStats,
    /// Merges done since the caller last looked: (from, into).
    pub merges: Vec<(DevIdx, DevIdx)>,
}

/// FNV-1a: a stable 64-bit hash for ids that must not change between runs or builds.
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Inventory {
    pub fn new(site: SiteNets, max_devices: usize) -> Inventory {
        Inventory {
            devices: Vec::new(),
            by_ip: FastMap::default(),
            by_mac: FastMap::default(),
            by_strong: FastMap::default(),
            routers: FastSet::default(),
            mac_ips: FastMap::default(),
            dns: FastMap::default(),
            site,
            max_devices,
            stats: InventoryStats::default(),
            merges: Vec::new(),
        }
    }

    /// Rebuild the indexes from saved records.
    pub fn from_devices(site: SiteNets, max_devices: usize, devices: Vec<Device>) -> Inventory {
        let mut inv = Inventory::new(site, max_devices);
        inv.devices = devices;
        for (i, d) in inv.devices.iter().enumerate() {
            if d.merged_into.is_some() {
                continue;
            }
            let i = i as DevIdx;
            for ip in &d.ips {
                inv.by_ip.insert(ip.addr, i);
            }
            for m in &d.macs {
                inv.by_mac.insert(m.addr.0, i);
            }
            for f in &d.facts {
                if STRONG.contains(&f.key.as_str()) {
                    inv.by_strong.insert(strong_key(&f.key, &f.value), i);
                }
            }
        }
        inv.stats.devices = inv.live().count() as u64;
        inv
    }

    /// The device a merged record now lives in.
    pub fn canon(&self, mut d: DevIdx) -> DevIdx {
        for _ in 0..16 {
            match self.devices.get(d as usize).and_then(|x| x.merged_into) {
                Some(t) => d = t,
                None => break,
            }
        }
        d
    }

    pub fn get(&self, d: DevIdx) -> Option<&Device> {
        self.devices.get(self.canon(d) as usize)
    }

    /// Devices that are not merged into another.
    pub fn live(&self) -> impl Iterator<Item = (DevIdx, &Device)> {
        self.devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.merged_into.is_none())
            .map(|(i, d)| (i as DevIdx, d))
    }

    pub fn by_id(&self, id: &str) -> Option<DevIdx> {
        self.live().find(|(_, d)| d.id == id).map(|(i, _)| i)
    }

    /// The device currently at `ip`, if any (no creation).
    pub fn at_ip(&self, ip: IpAddr) -> Option<DevIdx> {
        self.by_ip.get(&ip).map(|&d| self.canon(d))
    }

    pub fn is_internal(&self, ip: IpAddr) -> bool {
        self.site.contains(ip)
    }

    /// Whether `ip` is an external destination: one host outside the site networks. Multicast,
    /// broadcast, link-local, loopback and unspecified addresses never are (IPv4 and IPv6).
    pub fn is_external(&self, ip: IpAddr) -> bool {
        if !net::is_host(ip) || self.site.contains(ip) {
            return false;
        }
        match ip {
            IpAddr::V4(v) => !(v.is_loopback() || v.is_link_local()),
            IpAddr::V6(v) => {
                let link_local = v.segments()[0] & 0xffc0 == 0xfe80;
                let mapped = v.to_ipv4_mapped();
                !(v.is_loopback()
                    || link_local
                    || mapped.is_some_and(|m| m.is_loopback() || m.is_link_local()))
            }
        }
    }

    /// Whether a MAC belongs to a known device or router.
    pub fn knows_mac(&self, mac: [u8; 6]) -> bool {
        self.by_mac.contains_key(&mac) || self.routers.contains(&mac)
    }

    /// The device a MAC belongs to.
    pub fn at_mac(&self, mac: [u8; 6]) -> Option<DevIdx> {
        self.by_mac.get(&mac).map(|&d| self.canon(d))
    }

    /// Note that `mac` sent a packet from `src`: a MAC that carries external sources, or many
    /// internal ones, belongs to a router and stops being a device key.
    pub fn note_mac(&mut self, mac: [u8; 6], src: IpAddr) {
        if !is_unicast_mac(mac) || self.routers.contains(&mac) || !is_host(src) {
            return;
        }
        let router = if !self.site.contains(src) {
            true
        } else {
            let ips = self.mac_ips.entry(mac).or_default();
            if !ips.contains(&src) {
                if ips.len() >= 64 {
                    return;
                }
                ips.push(src);
            }
            ips.len() > ROUTER_IPS
        };
        if router {
            self.routers.insert(mac);
            self.mac_ips.remove(&mac);
            self.stats.router_macs += 1;
            // The router's own device keeps its record, but the MAC no longer names it.
            self.by_mac.remove(&mac);
        }
    }

    pub fn is_router_mac(&self, mac: [u8; 6]) -> bool {
        self.routers.contains(&mac)
    }

    /// The device at (`ip`, `mac`), created when `create` and the address can be a device.
    pub fn resolve(
        &mut self,
        ip: IpAddr,
        mac: Option<[u8; 6]>,
        ts: u64,
        create: bool,
    ) -> Option<DevIdx> {
        if !is_host(ip) {
            return None;
        }
        let internal = self.site.contains(ip);
        let mac = mac.filter(|m| internal && is_unicast_mac(*m) && !self.routers.contains(m));
        if let Some(&d) = self.by_ip.get(&ip) {
            let d = self.canon(d);
            if let Some(m) = mac {
                match self.by_mac.get(&m).map(|&o| self.canon(o)) {
                    Some(o) if o != d => {
                        // The address moved to another known interface (a DHCP lease reused).
                        self.by_ip.insert(ip, o);
                        self.add_ip(o, ip, ts);
                        return Some(o);
                    }
                    Some(_) => self.touch_mac(d, m, ts),
                    None => {
                        let has_mac = self
                            .devices
                            .get(d as usize)
                            .is_some_and(|x| !x.macs.is_empty());
                        if has_mac {
                            // Another interface at this address: a different device took it.
                            if !create {
                                return Some(d);
                            }
                            let n = self.create(ip, Some(m), ts)?;
                            return Some(n);
                        }
                        self.add_mac(d, m, ts);
                    }
                }
            }
            self.touch(d, ts);
            return Some(d);
        }
        if let Some(m) = mac {
            if let Some(&d) = self.by_mac.get(&m) {
                let d = self.canon(d);
                self.add_ip(d, ip, ts);
                self.by_ip.insert(ip, d);
                return Some(d);
            }
        }
        if !create {
            return None;
        }
        self.create(ip, mac, ts)
    }

    fn create(&mut self, ip: IpAddr, mac: Option<[u8; 6]>, ts: u64) -> Option<DevIdx> {
        if self.stats.devices.saturating_sub(self.stats.merged) as usize >= self.max_devices {
            self.stats.refused_full += 1;
            return None;
        }
        let key = match mac {
            Some(m) => format!("mac:{}", Mac(m)),
            None => format!("ip:{ip}"),
        };
        let idx = self.devices.len() as DevIdx;
        let internal = self.site.contains(ip);
        let mut roles = Roles::default();
        if !internal {
            roles.0 |= Role::External.bit();
        }
        let vendor = mac.and_then(|m| edgetap_dissectors::oui::vendor(m).map(str::to_string));
        self.devices.push(Device {
            id: format!("d{:016x}", stable_hash(&[key.as_bytes()])),
            name: self.dns.get(&ip).cloned(),
            name_from: self.dns.get(&ip).map(|_| "dns".to_string()),
            macs: mac
                .map(|m| Seen {
                    addr: Mac(m),
                    first_ns: ts,
                    last_ns: ts,
                })
                .into_iter()
                .collect(),
            ips: vec![Seen {
                addr: ip,
                first_ns: ts,
                last_ns: ts,
            }],
            vendor_from: vendor.as_ref().map(|_| "oui".to_string()),
            vendor,
            roles,
            facts: Vec::new(),
            labels: Vec::new(),
            known: false,
            internal,
            first_ns: ts,
            last_ns: ts,
            merged_into: None,
            name_rank: if self.dns.contains_key(&ip) {
                rank("dns")
            } else {
                u8::MAX
            },
        });
        self.by_ip.insert(ip, idx);
        if let Some(m) = mac {
            self.by_mac.insert(m, idx);
        }
        self.stats.devices += 1;
        Some(idx)
    }

    fn touch(&mut self, d: DevIdx, ts: u64) {
        if let Some(x) = self.devices.get_mut(d as usize) {
            x.last_ns = x.last_ns.max(ts);
        }
    }

    fn touch_mac(&mut self, d: DevIdx, m: [u8; 6], ts: u64) {
        if let Some(x) = self.devices.get_mut(d as usize) {
            if let Some(s) = x.macs.iter_mut().find(|s| s.addr.0 == m) {
                s.last_ns = s.last_ns.max(ts);
            }
        }
    }

    fn add_mac(&mut self, d: DevIdx, m: [u8; 6], ts: u64) {
        let Some(x) = self.devices.get_mut(d as usize) else {
            return;
        };
        if let Some(s) = x.macs.iter_mut().find(|s| s.addr.0 == m) {
            s.last_ns = s.last_ns.max(ts);
            return;
        }
        if x.macs.len() >= MAX_MACS {
            return;
        }
        x.macs.push(Seen {
            addr: Mac(m),
            first_ns: ts,
            last_ns: ts,
        });
        if x.vendor.is_none() {
            if let Some(v) = edgetap_dissectors::oui::vendor(m) {
                x.vendor = Some(v.to_string());
                x.vendor_from = Some("oui".into());
            }
        }
        self.by_mac.insert(m, d);
    }

    fn add_ip(&mut self, d: DevIdx, ip: IpAddr, ts: u64) {
        let Some(x) = self.devices.get_mut(d as usize) else {
            return;
        };
        x.last_ns = x.last_ns.max(ts);
        if let Some(s) = x.ips.iter_mut().find(|s| s.addr == ip) {
            s.last_ns = s.last_ns.max(ts);
            return;
        }
        if x.ips.len() >= MAX_IPS {
            x.ips.remove(0);
        }
        x.ips.push(Seen {
            addr: ip,
            first_ns: ts,
            last_ns: ts,
        });
    }

    /// Record that device `d` uses `ip` now (a DHCP lease, say).
    pub fn bind_ip(&mut self, d: DevIdx, ip: IpAddr, ts: u64) {
        if !is_host(ip) {
            return;
        }
        let d = self.canon(d);
        self.add_ip(d, ip, ts);
        self.by_ip.insert(ip, d);
    }

    pub fn add_role(&mut self, d: DevIdx, r: Role) {
        let d = self.canon(d);
        if let Some(x) = self.devices.get_mut(d as usize) {
            x.roles.0 |= r.bit();
            let field = [Role::ModbusClient, Role::OpcuaClient]
                .iter()
                .any(|r| x.roles.has(*r));
            let messaging = [Role::MqttClient, Role::AmqpClient]
                .iter()
                .any(|r| x.roles.has(*r));
            if field && messaging {
                x.roles.0 |= Role::Gateway.bit();
            }
        }
    }

    /// Record a fact about device `d`. Strong identity facts may merge `d` into the device
    /// that already carries the same identity.
    pub fn fact(&mut self, d: DevIdx, key: &'static str, value: &str, ts: u64, flow: (u64, u64)) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        // At most 256 bytes, cut on a character boundary (no allocation: facts repeat).
        let mut end = value.len().min(256);
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        let value = value.get(..end).unwrap_or("");
        let mut d = self.canon(d);
        if STRONG.contains(&key) {
            let sk = strong_key(key, value);
            match self.by_strong.get(&sk).map(|&t| self.canon(t)) {
                Some(t) if t != d => {
                    if self.mergeable(d, t) {
                        self.merge(d, t);
                        d = t;
                    }
                }
                Some(_) => {}
                None => {
                    self.by_strong.insert(sk, d);
                }
            }
        }
        let Some(x) = self.devices.get_mut(d as usize) else {
            return;
        };
        if let Some(f) = x
            .facts
            .iter_mut()
            .find(|f| f.key == key && f.value == value)
        {
            f.last_ns = f.last_ns.max(ts);
            return;
        } else if x.facts.len() < MAX_FACTS {
            x.facts.push(FactRec {
                key: key.to_string(),
                value: value.to_string(),
                first_ns: ts,
                last_ns: ts,
                flow_id: flow.0,
                frame: flow.1,
            });
        }
        let r = rank(key);
        if r < x.name_rank {
            x.name = Some(value.to_string());
            x.name_from = Some(key.to_string());
            x.name_rank = r;
        }
        if VENDOR_FACTS.contains(&key) && x.vendor_from.as_deref() != Some(key) {
            x.vendor = Some(value.to_string());
            x.vendor_from = Some(key.to_string());
        }
    }

    /// Two records may be one device when their lives do not overlap on different interfaces:
    /// the older one went quiet before the newer appeared, or one has no MAC of its own.
    fn mergeable(&self, d: DevIdx, t: DevIdx) -> bool {
        let (Some(a), Some(b)) = (self.devices.get(d as usize), self.devices.get(t as usize))
        else {
            return false;
        };
        if a.macs.is_empty() || b.macs.is_empty() {
            return true;
        }
        let shared = a
            .macs
            .iter()
            .any(|m| b.macs.iter().any(|n| n.addr == m.addr));
        // Otherwise the record created later must have appeared after the other went quiet
        // (a replaced unit), allowing for packets in flight to the old address.
        let (older, newer) = if a.first_ns <= b.first_ns {
            (a, b)
        } else {
            (b, a)
        };
        let quiet_since = older
            .macs
            .iter()
            .map(|m| m.last_ns)
            .max()
            .unwrap_or(older.last_ns);
        shared || quiet_since <= newer.first_ns.saturating_add(5_000_000_000)
    }

    /// Fold record `from` into `into`.
    fn merge(&mut self, from: DevIdx, into: DevIdx) {
        let Some(src) = self.devices.get_mut(from as usize) else {
            return;
        };
        let src = src.clone();
        if let Some(x) = self.devices.get_mut(from as usize) {
            x.merged_into = Some(into);
        }
        for ip in &src.ips {
            self.add_ip(into, ip.addr, ip.last_ns);
            if let Some(x) = self.devices.get_mut(into as usize) {
                if let Some(s) = x.ips.iter_mut().find(|s| s.addr == ip.addr) {
                    s.first_ns = s.first_ns.min(ip.first_ns);
                }
            }
            self.by_ip.insert(ip.addr, into);
        }
        for m in &src.macs {
            self.add_mac(into, m.addr.0, m.last_ns);
        }
        if let Some(x) = self.devices.get_mut(into as usize) {
            x.roles.0 |= src.roles.0;
            x.first_ns = x.first_ns.min(src.first_ns);
            x.last_ns = x.last_ns.max(src.last_ns);
            for f in src.facts {
                if x.facts.len() < MAX_FACTS
                    && !x.facts.iter().any(|g| g.key == f.key && g.value == f.value)
                {
                    x.facts.push(f);
                }
            }
            for l in src.labels {
                if !x.labels.contains(&l) {
                    x.labels.push(l);
                }
            }
            if src.name_rank < x.name_rank {
                x.name = src.name;
                x.name_from = src.name_from;
                x.name_rank = src.name_rank;
            }
            x.known |= src.known;
        }
        for v in self.by_strong.values_mut() {
            if *v == from {
                *v = into;
            }
        }
        self.stats.merged += 1;
        self.merges.push((from, into));
    }

    /// A name for `ip` learned from a DNS answer.
    pub fn dns_name(&mut self, ip: IpAddr, name: &str) {
        if self.dns.len() >= MAX_DNS_NAMES && !self.dns.contains_key(&ip) {
            self.stats.dns_names_dropped += 1;
            return;
        }
        self.dns.insert(ip, name.to_string());
        if let Some(d) = self.at_ip(ip) {
            if let Some(x) = self.devices.get_mut(d as usize) {
                let r = rank("dns");
                if r < x.name_rank {
                    x.name = Some(name.to_string());
                    x.name_from = Some("dns".into());
                    x.name_rank = r;
                }
            }
        }
    }

    /// Add or update a device from the known-devices list.
    pub fn add_known(&mut self, k: &known::Known) {
        let ts = 0;
        let mut d = None;
        if let Some(m) = k.mac {
            d = self.by_mac.get(&m.0).map(|&x| self.canon(x));
        }
        if d.is_none() {
            if let Some(ip) = k.ip {
                d = self.at_ip(ip);
            }
        }
        let d = match d {
            Some(d) => d,
            None => {
                let ip = k.ip.unwrap_or(IpAddr::from([0, 0, 0, 0]));
                let key = format!("known:{}", k.name);
                let idx = self.devices.len() as DevIdx;
                let internal = k.ip.is_none_or(|ip| self.site.contains(ip));
                self.devices.push(Device {
                    id: format!("d{:016x}", stable_hash(&[key.as_bytes()])),
                    name: None,
                    name_from: None,
                    macs: Vec::new(),
                    ips: Vec::new(),
                    vendor: None,
                    vendor_from: None,
                    roles: Roles::default(),
                    facts: Vec::new(),
                    labels: Vec::new(),
                    known: true,
                    internal,
                    first_ns: 0,
                    last_ns: 0,
                    merged_into: None,
                    name_rank: u8::MAX,
                });
                if k.ip.is_some() && is_host(ip) {
                    self.by_ip.insert(ip, idx);
                    self.add_ip(idx, ip, ts);
                }
                if let Some(m) = k.mac {
                    self.add_mac(idx, m.0, ts);
                }
                self.stats.devices += 1;
                idx
            }
        };
        if let Some(x) = self.devices.get_mut(d as usize) {
            x.known = true;
            x.name = Some(k.name.clone());
            x.name_from = Some("known".into());
            x.name_rank = rank("known");
            for l in &k.labels {
                if !x.labels.contains(l) {
                    x.labels.push(l.clone());
                }
            }
            if let Some(v) = &k.vendor {
                x.vendor = Some(v.clone());
                x.vendor_from = Some("known".into());
            }
        }
    }
}

/// A name source's rank (lower is better); facts that are not names rank last and never name.
fn strong_key(kind: &str, value: &str) -> u64 {
    stable_hash(&[kind.as_bytes(), value.as_bytes()])
}

fn rank(key: &str) -> u8 {
    NAME_RANK
        .iter()
        .position(|k| *k == key)
        .map_or(u8::MAX, |p| p as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn only_hosts_outside_the_site_are_external() {
        let inv = Inventory::new(SiteNets::default(), 100);
        for x in [
            "ff02::fb",
            "ff02::c",
            "ff05::2",
            "224.0.0.251",
            "239.255.255.250",
            "255.255.255.255",
            "0.0.0.0",
            "::",
            "127.0.0.1",
            "::1",
            "169.254.7.7",
            "fe80::1",
            "10.20.0.1",
            "192.168.1.255",
            "::ffff:127.0.0.1",
        ] {
            assert!(!inv.is_external(ip(x)), "{x}");
        }
        for x in ["52.1.2.3", "2001:db8::1", "8.8.8.8", "::ffff:52.1.2.3"] {
            assert!(inv.is_external(ip(x)), "{x}");
        }
    }

    #[test]
    fn same_mac_new_ip_is_one_device() {
        let mut inv = Inventory::new(SiteNets::default(), 100);
        let m = [0x24, 0x0a, 0xc4, 1, 2, 3];
        let a = inv.resolve(ip("10.20.2.13"), Some(m), 1, true);
        let b = inv.resolve(ip("10.20.2.23"), Some(m), 2, true);
        assert!(a.is_some());
        assert_eq!(a, b);
        let d = inv.get(a.unwrap_or(0)).map(|d| d.ips.len());
        assert_eq!(d, Some(2));
    }

    #[test]
    fn client_id_merges_a_replaced_unit() {
        let mut inv = Inventory::new(SiteNets::default(), 100);
        let old = inv.resolve(ip("10.20.2.14"), Some([0x24, 0x0a, 0xc4, 0, 0, 4]), 1, true);
        let old = old.unwrap_or(0);
        inv.fact(old, "mqtt_client_id", "sensor-04", 1, (1, 1));
        let new = inv.resolve(
            ip("10.20.2.24"),
            Some([0x24, 0x0a, 0xc4, 0, 0, 9]),
            100_000_000_000,
            true,
        );
        let new = new.unwrap_or(0);
        assert_ne!(old, new);
        inv.fact(new, "mqtt_client_id", "sensor-04", 100_000_000_000, (2, 2));
        assert_eq!(inv.canon(new), old);
        assert_eq!(inv.live().count(), 1);
        assert_eq!(inv.at_ip(ip("10.20.2.24")), Some(old));
    }

    #[test]
    fn external_sources_mark_a_router_mac() {
        let mut inv = Inventory::new(SiteNets::default(), 100);
        let r = [0, 0x1b, 0x1b, 9, 9, 9];
        inv.note_mac(r, ip("52.1.2.3"));
        assert!(inv.is_router_mac(r));
        let a = inv.resolve(ip("52.1.2.3"), Some(r), 1, true);
        let b = inv.resolve(ip("52.1.2.4"), Some(r), 1, true);
        assert_ne!(a, b);
    }

    #[test]
    fn cap_refuses_and_counts() {
        let mut inv = Inventory::new(SiteNets::default(), 2);
        for i in 1..=5u8 {
            inv.resolve(IpAddr::from([10, 0, 0, i]), None, 1, true);
        }
        assert_eq!(inv.live().count(), 2);
        assert_eq!(inv.stats.refused_full, 3);
    }
}
