//! The site's life cycle and housekeeping: the start-up (the first instant of base.pcap, and
//! again after the power loss of the restart surprise), ARP and NTP.

use std::io;

use super::{ep, Sim};
use crate::frame::{Arp, Mac, BROADCAST_MAC};
use crate::pcap::{PacketSink, Timestamp};
use crate::proto::bacnet;
use crate::scenario::craft;
use crate::scenario::site::facts;
use crate::scenario::site::{
    Host, BACNET_CTL, BACNET_WS, BROKER, GATEWAY, HMI, MS, OPCUA_SRV, PLC1, PLC2, RABBIT, ROUTER,
    S, US,
};

/// The router's upstream time source (its NTP reference id).
const NTP_UPSTREAM: [u8; 4] = [162, 159, 200, 1];

impl Sim {
    /// One ARP frame from `src` to `dst` at `t`.
    pub(super) fn arp(&mut self, t: u64, src: Mac, dst: Mac, a: Arp) -> io::Result<()> {
        self.out.write_packet(Timestamp(t), &a.frame(src, dst))
    }

    /// `who` asks (broadcast) for `target`'s MAC at `t`; the answer comes `rtt` later.
    pub(super) fn resolve(
        &mut self,
        t: u64,
        who: &Host,
        target: &Host,
        rtt: u64,
    ) -> io::Result<()> {
        self.arp(
            t,
            who.mac,
            BROADCAST_MAC,
            Arp::request(who.mac, who.ip, target.ip),
        )?;
        self.arp(
            t + rtt,
            target.mac,
            who.mac,
            Arp::reply(target.mac, target.ip, who.mac, who.ip),
        )
    }

    /// ARP refresh between the gateway and the router: the gateway's unicast probe of its
    /// stale entry (0), or the router's broadcast request for the gateway (1).
    pub(super) fn arp_refresh(&mut self, i: usize, t: u64) -> io::Result<()> {
        if i == 0 {
            self.arp(
                t,
                GATEWAY.mac,
                ROUTER.mac,
                Arp::request(GATEWAY.mac, GATEWAY.ip, ROUTER.ip),
            )?;
            self.arp(
                t + 420 * US,
                ROUTER.mac,
                GATEWAY.mac,
                Arp::reply(ROUTER.mac, ROUTER.ip, GATEWAY.mac, GATEWAY.ip),
            )
        } else {
            self.resolve(t, &ROUTER, &GATEWAY, 160 * US)
        }
    }

    /// One NTP exchange with the router: the gateway's chrony (0, a new source port each
    /// time) or plc-1 (1, from port 123).
    pub(super) fn ntp(&mut self, i: usize, t: u64, poll: u8) -> io::Result<()> {
        let (h, port) = if i == 0 {
            (GATEWAY, self.eph(GATEWAY.ip))
        } else {
            (PLC1, 123)
        };
        let c = ep(&h, port);
        let srv = ep(&ROUTER, 123);
        self.udp(t, &c, &srv, &craft::ntp_request(poll, t))?;
        let rx = t + 170 * US;
        self.udp(
            t + 360 * US,
            &srv,
            &c,
            &craft::ntp_reply(poll, NTP_UPSTREAM, t, rx, rx + 45 * US),
        )
    }

    /// The site powers up at `t`: every fixed-address host announces itself (gratuitous ARP),
    /// the HMI connects to both PLCs at once, the gateway resolves the cloud name, syncs its
    /// clock (iburst) and opens its MQTT, OPC UA and AMQP sessions, every live sensor does
    /// DHCP and connects to the broker, bacnet-ctl announces I-Am and answers bacnet-ws's
    /// Who-Is. base.pcap begins with this; the restart surprise repeats it.
    pub(super) fn startup(&mut self, t: u64) -> io::Result<()> {
        let announce: [(Host, u64); 10] = [
            (ROUTER, 0),
            (BROKER, 12),
            (GATEWAY, 25),
            (PLC1, 31),
            (PLC2, 37),
            (BACNET_CTL, 44),
            (OPCUA_SRV, 52),
            (RABBIT, 58),
            (HMI, 66),
            (BACNET_WS, 73),
        ];
        for (h, ms) in announce {
            self.arp(
                t + ms * MS,
                h.mac,
                BROADCAST_MAC,
                Arp::request(h.mac, h.ip, h.ip),
            )?;
        }
        // The HMI (SCADA master) resolves and connects to both PLCs.
        self.resolve(t + 98 * MS, &HMI, &PLC1, 240 * US)?;
        self.hmi_connect(0, t + 100 * MS)?;
        self.resolve(t + 128 * MS, &HMI, &PLC2, 310 * US)?;
        self.hmi_connect(1, t + 130 * MS)?;
        // The gateway: router, DNS, NTP iburst, then its sessions.
        self.resolve(t + 140 * MS, &GATEWAY, &ROUTER, 420 * US)?;
        self.dns(t + 150 * MS)?;
        for k in 0..4 {
            self.ntp(0, t + 160 * MS + k * 2 * S, 6)?;
        }
        self.resolve(t + 199 * MS, &GATEWAY, &BROKER, 180 * US)?;
        self.gw_connect(t + 200 * MS)?;
        self.resolve(t + 399 * MS, &GATEWAY, &OPCUA_SRV, 210 * US)?;
        self.opc_connect(t + 400 * MS)?;
        self.resolve(t + 599 * MS, &GATEWAY, &RABBIT, 150 * US)?;
        self.amqp_connect(t + 600 * MS)?;
        // The sensors, one after the other as they boot.
        for i in 0..self.sensors.len() {
            if self.sensors[i].alive {
                self.sensor_join(i, t + 500 * MS + i as u64 * 600 * MS, None)?;
            }
        }
        // plc-1 syncs its clock.
        self.resolve(t + 890 * MS, &PLC1, &ROUTER, 380 * US)?;
        self.ntp(1, t + 900 * MS, 6)?;
        // BACnet: the controller announces itself, the workstation looks for devices.
        let ctl = ep(&BACNET_CTL, 47808);
        self.udp(
            t + 1_200 * MS,
            &ctl,
            &super::bcast(47808),
            &bacnet::i_am(facts::BACNET_INSTANCE, facts::BACNET_VENDOR),
        )?;
        self.who_is(t + 1_500 * MS)?;
        self.resolve(t + 2_150 * MS, &BACNET_WS, &BACNET_CTL, 520 * US)?;
        Ok(())
    }

    /// Power loss at `t` for `off` ns: every session dies without a FIN, nothing is seen
    /// until the site starts up again.
    pub(super) fn power_loss(&mut self, t: u64, off: u64) -> io::Result<()> {
        for link in &mut self.mb {
            link.conn = None;
            link.busy_until = 0;
        }
        for s in &mut self.sensors {
            s.conn = None;
        }
        self.gw = None;
        self.opc = None;
        self.amqp = None;
        self.down = (t, t + off);
        self.startup(t + off)
    }
}
