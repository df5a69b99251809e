//! The attacks added after the first seventeen: stealth and UDP scans, ICS reconnaissance
//! (Modbus device identification and unit-id sweep, BACnet sweep, OPC UA browse storm),
//! brute force (SSH, MQTT 5), rogue DHCP, DHCP starvation, ARP spoofing, TLS beaconing and a
//! DNS tunnel. Each draws only from the attack random stream.

use std::io;

use super::{bcast, ep, new_tcp, registers, Sim};
use crate::conv::Dir;
use crate::frame::{Arp, Endpoint, TcpFlags, BROADCAST_MAC};
use crate::proto::opcua::{self, NodeId};
use crate::proto::{bacnet, dhcp, dns, modbus, mqtt};
use crate::scenario::craft::{self, UaClient, UaRef};
use crate::scenario::flood::{self, Stealth};
use crate::scenario::site::{
    self, facts, Host, ARP_SPOOFER, BACNET_CTL, BACNET_RECON, BACNET_WS, BROKER, GATEWAY,
    MODBUS_RECON, MQTT_BRUTER, MS, OPCUA_BROWSER, OPCUA_SRV, PLC1, PLC2, ROGUE_DHCP, ROUTER, S,
    SSH_GUESSER, US,
};
use crate::scenario::tcp::{at, bulk, close, exchange, handshake};

const BASE32: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
const HEX: &[u8] = b"0123456789abcdef";

impl Sim {
    fn random_label(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.arng.below(alphabet.len() as u64) as usize] as char)
            .collect()
    }

    /// FIN, NULL, XMAS, ACK or UDP scan of 200 ports of plc-1 from bacnet-ws, 10 s.
    pub(super) fn stealth_scan(&mut self, t: u64, kind: Stealth) -> io::Result<()> {
        let mut ports: Vec<u16> = (1..=190).collect();
        ports.extend_from_slice(&[443, 445, 502, 1883, 3389, 4840, 8080, 20000, 44818, 47808]);
        let open: &[u16] = if kind == Stealth::Udp {
            &[161]
        } else {
            flood::listening(PLC1.ip).unwrap_or(&[])
        };
        let sport = 40_000 + self.arng.below(20_000) as u16;
        flood::stealth_scan(
            &mut self.out,
            kind,
            t,
            &ep(&BACNET_WS, sport),
            &ep(&PLC1, 0),
            &ports,
            open,
            50 * MS,
            650 * US,
            &mut self.arng,
        )
        .map(|_| ())
    }

    /// Read Device Identification to several unit ids of plc-1 from a new client.
    pub(super) fn modbus_devid(&mut self, t: u64) -> io::Result<()> {
        self.resolve(t - 2 * MS, &MODBUS_RECON, &PLC1, 260 * US)?;
        let port = self.eph(MODBUS_RECON.ip);
        let mut c = new_tcp(&mut self.arng, ep(&MODBUS_RECON, port), ep(&PLC1, 502));
        let out = &mut self.out;
        let mut tt = handshake(&mut c, out, t, 520 * US, 70 * US)? + 3 * MS;
        let basic = [
            (0u8, facts::PLC1_VENDOR),
            (1, facts::PLC1_PRODUCT),
            (2, facts::PLC1_REVISION),
        ];
        let mut tid = 0u16;
        for unit in [1u8, 0, 2, 3, 100, 247, 255] {
            tid += 1;
            let req = modbus::read_device_id_req(tid, unit, 1, 0);
            let resp = if matches!(unit, 0 | 1 | 255) {
                modbus::read_device_id_resp(tid, unit, 1, &basic)
            } else {
                modbus::exception(tid, unit, 0x2b, 0x0b)
            };
            exchange(&mut c, out, tt, &req, &resp, 3_100 * US, 40 * MS)?;
            tt += 150 * MS;
        }
        let regular = [
            (0u8, facts::PLC1_VENDOR),
            (1, facts::PLC1_PRODUCT),
            (2, facts::PLC1_REVISION),
            (3, "www.se.com"),
            (4, "Modicon M340"),
            (5, "BMX P34 2020"),
            (6, "BOILER_HOUSE"),
        ];
        tid += 1;
        exchange(
            &mut c,
            out,
            tt,
            &modbus::read_device_id_req(tid, 1, 2, 0),
            &modbus::read_device_id_resp(tid, 1, 2, &regular),
            3_300 * US,
            40 * MS,
        )?;
        tt += 150 * MS;
        tid += 1;
        exchange(
            &mut c,
            out,
            tt,
            &modbus::read_device_id_req(tid, 1, 3, 0x80),
            &modbus::read_device_id_resp(tid, 1, 3, &[(0x80, "BMX NOE 0100 v3.1")]),
            3_200 * US,
            40 * MS,
        )?;
        close(&mut c, out, tt + 200 * MS, Dir::ToServer, 650 * US).map(|_| ())
    }

    /// FC 3 to unit ids 1..=60 of plc-2 on one connection from the recon laptop.
    pub(super) fn modbus_unit_sweep(&mut self, t: u64) -> io::Result<()> {
        self.resolve(t - 2 * MS, &MODBUS_RECON, &PLC2, 330 * US)?;
        let port = self.eph(MODBUS_RECON.ip);
        let mut c = new_tcp(&mut self.arng, ep(&MODBUS_RECON, port), ep(&PLC2, 502));
        let out = &mut self.out;
        let mut tt = handshake(&mut c, out, t, 610 * US, 70 * US)? + 3 * MS;
        for unit in 1..=60u8 {
            let tid = u16::from(unit);
            let req = modbus::read_holding_registers_req(tid, unit, 0, 1);
            let resp = if unit == 1 {
                modbus::read_holding_registers_resp(tid, 1, &registers(1, tt)[..1])
            } else {
                modbus::exception(tid, unit, 3, 0x0b)
            };
            exchange(&mut c, out, tt, &req, &resp, 4_200 * US, 40 * MS)?;
            tt += 80 * MS;
        }
        close(&mut c, out, tt, Dir::ToServer, 800 * US).map(|_| ())
    }

    /// 40 short SSH sessions to broker:22 in 60 s: banners and KEXINITs, then FIN.
    pub(super) fn ssh_bruteforce(&mut self, t: u64) -> io::Result<()> {
        self.resolve(t - 3 * MS, &SSH_GUESSER, &BROKER, 280 * US)?;
        for k in 0..40u64 {
            let tt = t + k * 1_500 * MS + self.arng.below(200) * MS;
            let port = self.eph(SSH_GUESSER.ip);
            let mut c = new_tcp(&mut self.arng, ep(&SSH_GUESSER, port), ep(&BROKER, 22));
            let client_kex = craft::ssh_kexinit(&mut self.arng, true);
            let server_kex = craft::ssh_kexinit(&mut self.arng, false);
            let out = &mut self.out;
            let t1 = handshake(&mut c, out, tt, 450 * US, 60 * US)?;
            let tb = t1 + 3_800 * US;
            at(&mut c, tb).send(
                out,
                Dir::ToClient,
                b"SSH-2.0-OpenSSH_8.4p1 Raspbian-5+deb11u3\r\n",
            )?;
            at(&mut c, tb + 250 * US).send(out, Dir::ToServer, b"SSH-2.0-libssh_0.9.6\r\n")?;
            at(&mut c, tb + 400 * US).send(out, Dir::ToServer, &client_kex)?;
            at(&mut c, tb + 1_300 * US).send(out, Dir::ToClient, &server_kex)?;
            at(&mut c, tb + 1_500 * US).ack(out, Dir::ToServer)?;
            close(&mut c, out, tb + 6 * MS, Dir::ToServer, 500 * US)?;
        }
        Ok(())
    }

    /// sensor-05 resets and takes the lease a rogue DHCP server offers first.
    pub(super) fn rogue_dhcp(&mut self, t: u64) -> io::Result<()> {
        let i = 4;
        if !self.sensors[i].alive {
            return Ok(());
        }
        let old = self.sensors[i].conn.take();
        let tc = self.sensor_join_via(i, t, None, Some(&ROGUE_DHCP))?;
        if let Some(mut o) = old {
            // Same client id: the broker closes the old session; the sensor, rebooted, knows
            // nothing of that connection and resets it.
            at(&mut o, tc + 700 * US).fin(&mut self.out, Dir::ToClient)?;
            let seq = o.next_seq(Dir::ToServer);
            at(&mut o, tc + 1_300 * US).segment(
                &mut self.out,
                Dir::ToServer,
                TcpFlags::RST,
                seq,
                0,
                &[],
            )?;
        }
        Ok(())
    }

    /// A small TLS connection from `client` to `server_ip:443` with SNI `sni`: handshake,
    /// `up` and `down` bytes of application data, close. Returns the last packet's time.
    fn small_tls(
        &mut self,
        t: u64,
        client: &Host,
        server_ip: [u8; 4],
        sni: &str,
        up: usize,
        down: usize,
    ) -> io::Result<u64> {
        let port = self.eph(client.ip);
        let rng = &mut self.arng;
        let mut c = new_tcp(rng, ep(client, port), site::wire_ep(server_ip, 443));
        let rtt = 31 * MS + rng.below(6_000) * US;
        let (hello, sid) = craft::tls_client_hello(rng, sni);
        let flight_len = 1_900 + rng.below(300) as usize;
        let flight = craft::tls_server_flight(rng, &sid, flight_len);
        let mut data = craft::tls_client_finished(rng);
        data.extend_from_slice(&craft::tls_app_data(rng, up));
        let answer = craft::tls_app_data(rng, down);
        let out = &mut self.out;
        let t1 = handshake(&mut c, out, t, rtt, 120 * US)?;
        at(&mut c, t1 + 200 * US).send(out, Dir::ToServer, &hello)?;
        let t3 = bulk(
            &mut c,
            out,
            t1 + 200 * US + rtt,
            Dir::ToClient,
            &flight,
            1460,
            40 * US,
            150 * US,
        )?;
        let t4 = t3 + 2 * MS;
        at(&mut c, t4).send(out, Dir::ToServer, &data)?;
        at(&mut c, t4 + rtt).send(out, Dir::ToClient, &answer)?;
        at(&mut c, t4 + rtt + 200 * US).ack(out, Dir::ToServer)?;
        close(&mut c, out, t4 + rtt + 30 * MS, Dir::ToServer, rtt)
    }

    /// `n` TLS connections from `client` to `server_ip:443` (SNI `sni`), the first at `t`, then
    /// one every `period` +-20 %. With `resolve`, the name is looked up through the router
    /// first and again whenever its 300 s TTL has run out.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn beacon(
        &mut self,
        t: u64,
        client: &Host,
        server_ip: [u8; 4],
        sni: &str,
        resolve: bool,
        period: u64,
        n: usize,
    ) -> io::Result<()> {
        let mut tt = t;
        let mut fresh_until = 0;
        for _ in 0..n {
            let mut tc = tt;
            if resolve && tt >= fresh_until {
                let id = self.arng.next_u32() as u16;
                let port = self.eph(client.ip);
                let c = ep(client, port);
                let r = ep(&ROUTER, 53);
                self.udp(tt, &c, &r, &dns::query(id, sni, dns::TYPE_A))?;
                let ta = tt + 23 * MS + self.arng.below(9_000) * US;
                self.udp(ta, &r, &c, &dns::response_a(id, sni, &[server_ip], 300))?;
                fresh_until = tt + 300 * S;
                tc = ta + 600 * US;
            }
            let up = 180 + self.arng.below(120) as usize;
            let down = 60 + self.arng.below(200) as usize;
            self.small_tls(tc, client, server_ip, sni, up, down)?;
            tt += period * (80 + self.arng.below(41)) / 100;
        }
        Ok(())
    }

    /// 60 s of DNS tunnelling from the gateway through the router.
    pub(super) fn dns_tunnel(&mut self, t: u64) -> io::Result<()> {
        let end = t + 60 * S;
        let srv = ep(&ROUTER, 53);
        let mut tt = t;
        while tt < end {
            let id = self.arng.next_u32() as u16;
            let port = self.eph(GATEWAY.ip);
            let gw = ep(&GATEWAY, port);
            let alphabet = if self.arng.chance(40) { HEX } else { BASE32 };
            let labels = 2 + self.arng.below(2);
            let mut name = String::with_capacity(220);
            for _ in 0..labels {
                let len = 40 + self.arng.below(24) as usize;
                name.push_str(&self.random_label(alphabet, len));
                name.push('.');
            }
            name.push_str(site::TUNNEL_DOMAIN);
            let r = self.arng.below(100);
            let qtype = match r {
                0..=49 => craft::DNS_TYPE_TXT,
                50..=79 => craft::DNS_TYPE_CNAME,
                _ => craft::DNS_TYPE_NULL,
            };
            self.udp(tt, &gw, &srv, &dns::query(id, &name, qtype))?;
            let resp = if self.arng.chance(10) {
                dns::response_nxdomain(id, &name, qtype)
            } else if qtype == craft::DNS_TYPE_TXT {
                let parts = 1 + self.arng.below(2) as usize;
                let mut strings = Vec::with_capacity(parts);
                for _ in 0..parts {
                    let len = 100 + self.arng.below(121) as usize;
                    strings.push(self.random_label(BASE32, len).into_bytes());
                }
                let refs: Vec<&[u8]> = strings.iter().map(|s| s.as_slice()).collect();
                craft::dns_answer(id, &name, qtype, &craft::dns_txt_rdata(&refs), 0)
            } else if qtype == craft::DNS_TYPE_CNAME {
                let len = 48 + self.arng.below(13) as usize;
                let target = format!("{}.{}", self.random_label(HEX, len), site::TUNNEL_DOMAIN);
                craft::dns_answer(id, &name, qtype, &craft::dns_name(&target), 0)
            } else {
                let mut data = vec![0u8; 100 + self.arng.below(101) as usize];
                self.arng.fill(&mut data);
                craft::dns_answer(id, &name, qtype, &data, 0)
            };
            let delay = 28 * MS + self.arng.below(60_000) * US;
            self.udp(tt + delay, &srv, &gw, &resp)?;
            tt += S / self.arng.range(2, 5) + self.arng.below(30_000) * US;
        }
        Ok(())
    }

    /// Who-Is from a new host, then ReadProperty of the device's properties and a sweep of
    /// 128 object instances of bacnet-ctl.
    pub(super) fn bacnet_sweep(&mut self, t: u64) -> io::Result<()> {
        const BINARY_OUTPUT: u16 = 4;
        let me = ep(&BACNET_RECON, 47808);
        let ctl = ep(&BACNET_CTL, 47808);
        let answers = !self.bacnet_silent;
        self.udp(t, &me, &bcast(47808), &bacnet::who_is(None))?;
        if answers {
            self.udp(
                t + 13 * MS,
                &ctl,
                &bcast(47808),
                &bacnet::i_am(facts::BACNET_INSTANCE, facts::BACNET_VENDOR),
            )?;
        }
        self.resolve(t + 390 * MS, &BACNET_RECON, &BACNET_CTL, 410 * US)?;
        let mut tt = t + 400 * MS;
        let mut inv = self.arng.below(256) as u8;
        let dev = bacnet::object::DEVICE;
        let inst = facts::BACNET_INSTANCE;
        let props: [(u32, &str); 5] = [
            (bacnet::property::OBJECT_NAME, "AHU-1"),
            (bacnet::property::VENDOR_NAME, "Johnson Controls"),
            (70, "FEC2611-0"),
            (44, "10.1.0.2100"),
            (12, "AHU-1 v3.2"),
        ];
        for (p, v) in props {
            self.udp(tt, &me, &ctl, &bacnet::read_property_req(inv, dev, inst, p))?;
            if answers {
                let ack = bacnet::read_property_ack(
                    inv,
                    dev,
                    inst,
                    p,
                    &bacnet::Value::CharString(v.to_string()),
                );
                self.udp(tt + 9 * MS, &ctl, &me, &ack)?;
            }
            inv = inv.wrapping_add(1);
            tt += 35 * MS;
        }
        let sweep: [(u16, u32, u32); 4] = [
            (bacnet::object::ANALOG_INPUT, 48, 4),
            (bacnet::object::ANALOG_VALUE, 32, 2),
            (bacnet::object::BINARY_INPUT, 32, 3),
            (BINARY_OUTPUT, 16, 2),
        ];
        let pv = bacnet::property::PRESENT_VALUE;
        for (ty, count, existing) in sweep {
            for i in 0..count {
                self.udp(tt, &me, &ctl, &bacnet::read_property_req(inv, ty, i, pv))?;
                if answers {
                    let resp = if i >= 1 && i <= existing {
                        let v = if ty <= bacnet::object::ANALOG_VALUE {
                            bacnet::Value::Real(18.0 + i as f32 * 1.5)
                        } else {
                            bacnet::Value::Enumerated(i % 2)
                        };
                        bacnet::read_property_ack(inv, ty, i, pv, &v)
                    } else {
                        // error class object (1), error code unknown-object (31)
                        bacnet::error(inv, bacnet::service::READ_PROPERTY, 1, 31)
                    };
                    self.udp(tt + 8 * MS, &ctl, &me, &resp)?;
                }
                inv = inv.wrapping_add(1);
                tt += 35 * MS;
            }
        }
        Ok(())
    }

    /// 30 MQTT 5.0 CONNECTs with different passwords, each refused, from a new host.
    pub(super) fn mqtt_bruteforce(&mut self, t: u64) -> io::Result<()> {
        const PASSWORDS: [&str; 30] = [
            "sensors",
            "sensor",
            "password",
            "123456",
            "admin",
            "mqtt",
            "mosquitto",
            "iot",
            "esp32",
            "espressif",
            "changeme",
            "secret",
            "Passw0rd",
            "qwerty",
            "letmein",
            "welcome",
            "sensors123",
            "sensor1",
            "S3ns0r",
            "S3ns0r!",
            "s3ns0rs",
            "default",
            "12345678",
            "raspberry",
            "public",
            "guest",
            "test",
            "root",
            "toor",
            "iot2026",
        ];
        self.resolve(t - 3 * MS, &MQTT_BRUTER, &BROKER, 300 * US)?;
        for (k, p) in PASSWORDS.iter().enumerate() {
            let tt = t + k as u64 * 2 * S + self.arng.below(150) * MS;
            let port = self.eph(MQTT_BRUTER.ip);
            let mut c = new_tcp(&mut self.arng, ep(&MQTT_BRUTER, port), ep(&BROKER, 1883));
            let id = format!("mqtt-{:08x}", self.arng.next_u32());
            let out = &mut self.out;
            let t1 = handshake(&mut c, out, tt, 420 * US, 50 * US)?;
            let connect = mqtt::connect_with_auth(
                mqtt::Version::V5,
                &id,
                60,
                facts::SENSOR_USER,
                p.as_bytes(),
            );
            at(&mut c, t1 + 150 * US).send(out, Dir::ToServer, &connect)?;
            at(&mut c, t1 + 2_100 * US).send(
                out,
                Dir::ToClient,
                &mqtt::connack(mqtt::Version::V5, false, 0x86),
            )?;
            close(&mut c, out, t1 + 2_300 * US, Dir::ToClient, 350 * US)?;
        }
        Ok(())
    }

    /// 300 DHCPDISCOVERs in 60 s from random client hardware addresses; the router offers
    /// its pool to some of them until it is gone.
    pub(super) fn dhcp_starvation(&mut self, t: u64) -> io::Result<()> {
        let all = Endpoint::v4([255, 255, 255, 255], 67).with_mac(BROADCAST_MAC);
        let server = ep(&ROUTER, 67);
        let (first, size) = site::DHCP_POOL;
        let mut offered = 0u8;
        for k in 0..300u64 {
            let tt = t + k * 200 * MS + self.arng.below(40_000) * US;
            let mut mac = [0u8; 6];
            self.arng.fill(&mut mac);
            mac[0] &= 0xfe;
            let xid = self.arng.next_u32();
            let h = dhcp::Header {
                op: 1,
                xid,
                secs: 0,
                broadcast: false,
                ciaddr: [0; 4],
                yiaddr: [0; 4],
                siaddr: [0; 4],
                giaddr: [0; 4],
                chaddr: mac,
            };
            let mut o = Vec::with_capacity(16);
            dhcp::option(dhcp::opt::MESSAGE_TYPE, &[dhcp::DISCOVER], &mut o);
            dhcp::option(dhcp::opt::PARAM_LIST, &[1, 3, 6, 15], &mut o);
            let unbound = Endpoint::v4([0, 0, 0, 0], 68).with_mac(mac);
            self.udp(tt, &unbound, &all, &dhcp::message(&h, &o))?;
            if offered < size && self.arng.chance(34) {
                let addr = [first[0], first[1], first[2], first[3] + offered];
                offered += 1;
                let lease = dhcp::Lease {
                    server: ROUTER.ip,
                    addr,
                    mask: [255, 255, 0, 0],
                    router: ROUTER.ip,
                    dns: ROUTER.ip,
                    lease_secs: 86_400,
                };
                let to = Endpoint::v4(addr, 68).with_mac(mac);
                self.udp(
                    tt + 2_600 * US,
                    &server,
                    &to,
                    &dhcp::offer(xid, mac, &lease),
                )?;
            }
        }
        Ok(())
    }

    /// ARP spoofing between the gateway and the router for 30 s.
    pub(super) fn arp_spoof(&mut self, t: u64) -> io::Result<()> {
        let a = ARP_SPOOFER;
        self.resolve(t, &a, &GATEWAY, 200 * US)?;
        self.resolve(t + 15 * MS, &a, &ROUTER, 450 * US)?;
        for k in 0..16u64 {
            let tt = t + 500 * MS + k * 2 * S;
            self.arp(
                tt,
                a.mac,
                GATEWAY.mac,
                Arp::reply(a.mac, ROUTER.ip, GATEWAY.mac, GATEWAY.ip),
            )?;
            self.arp(
                tt + MS,
                a.mac,
                ROUTER.mac,
                Arp::reply(a.mac, GATEWAY.ip, ROUTER.mac, ROUTER.ip),
            )?;
        }
        Ok(())
    }

    /// A new OPC UA client opens a session and sends 180 BrowseRequests in 4.5 s.
    pub(super) fn opcua_browse(&mut self, t: u64) -> io::Result<()> {
        let ua = UaClient {
            application_uri: "urn:DESKTOP-4K2J9QH:UnifiedAutomation:UaExpert",
            product_uri: "urn:UnifiedAutomation:UaExpert",
            application_name: "UaExpert@DESKTOP-4K2J9QH",
            session_name: "urn:DESKTOP-4K2J9QH:UnifiedAutomation:UaExpert",
        };
        self.resolve(t - 2 * MS, &OPCUA_BROWSER, &OPCUA_SRV, 240 * US)?;
        let (mut s, tr) =
            self.opc_session(t, &OPCUA_BROWSER, &ua, "operator", b"0per@tor", 0, true)?;
        let mut tt = tr + 20 * MS;
        let start: Vec<NodeId> = [84u32, 85, 86, 87, 2253]
            .iter()
            .map(|&i| NodeId::Numeric(0, i))
            .chain(
                ["Boiler", "Chiller", "AHU"]
                    .iter()
                    .map(|n| NodeId::String(2, (*n).to_string())),
            )
            .collect();
        for k in 0..180u32 {
            let node = match start.get(k as usize) {
                Some(n) => n.clone(),
                None => NodeId::Numeric(2, 1_000 + k),
            };
            let names: Vec<String> = (0..3 + k % 3)
                .map(|j| format!("Tag_{:04}_{j}", 1_000 + k * 4 + j))
                .collect();
            let refs: Vec<UaRef<'_>> = names
                .iter()
                .enumerate()
                .map(|(j, n)| {
                    let object = k % 4 == 0 && j == 0;
                    UaRef {
                        reference_type: if object { 35 } else { 47 },
                        target: NodeId::Numeric(2, 1_000 + k * 4 + j as u32),
                        browse_name: n,
                        node_class: if object { 1 } else { 2 },
                        type_definition: if object { 61 } else { 63 },
                    }
                })
                .collect();
            let (mc, ms) = s.next();
            let req = craft::browse_request(&mc, tt, &s.auth, &[node]);
            let resp = craft::browse_response(&ms, tt + 2 * MS, &[refs]);
            exchange(&mut s.conn, &mut self.out, tt, &req, &resp, 2 * MS, 20 * MS)?;
            tt += 25 * MS;
        }
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
}
