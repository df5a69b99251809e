//! ICS reconnaissance and brute force, judged without a baseline.
//!
//! Reconnaissance is what a client never learned doing it asks of field devices: Modbus
//! device identification (FC 43) and unit-id or function-code sweeps, BACnet Who-Is and
//! ReadProperty sweeps over many objects, OPC-UA Browse storms. Brute force without a
//! dissector is many short sessions from one source to a login port (SSH, Telnet, FTP, VNC,
//! RDP, SMB, databases); refused logins that a dissector reports are rules on its events.

use super::{h64, Site};
use crate::detect::alert::AlertSink;
use crate::detect::rules::Metric;
use crate::detect::{Party, Val};
use crate::pipeline::Ctx;
use edgetap_dissectors::Pdu;
use std::net::IpAddr;

/// BACnet sources remembered as sending Who-Is while learning.
pub const MAX_WHOIS: usize = 4096;
/// A session shorter than this to a login port counts as one try.
pub const SHORT_SESSION_NS: u64 = 30_000_000_000;

/// Ports where a person or a tool logs in.
pub fn login_port(port: u16) -> bool {
    matches!(
        port,
        21 | 22 | 23 | 139 | 445 | 1433 | 3306 | 3389 | 5432 | 5900..=5903
    )
}

impl<S: AlertSink> Site<S> {
    /// A request on an edge: `op_learned` says whether this operation was learned on it.
    pub(super) fn recon(
        &mut self,
        ctx: &Ctx,
        actor: Party,
        target: Party,
        edge_learned: bool,
        op_learned: bool,
        pdu: &Pdu<'_>,
    ) {
        let at = |p: u8| (ctx.ts_ns, ctx.frame, ctx.source, p);
        let server = ctx.server.0;
        match pdu {
            Pdu::Modbus(m) => {
                if m.kind != edgetap_dissectors::modbus::Kind::Request || op_learned {
                    return;
                }
                let elem = crate::identify::stable_hash(&[
                    &h64(server, 0).to_be_bytes(),
                    &[m.unit_id, m.function_code],
                ]);
                self.emit(
                    Metric::IcsDiscovery,
                    Some(actor),
                    Some(target),
                    Val::Add(1.0),
                    elem,
                    at(6),
                    "modbus unit ids and function codes never learned",
                );
                if m.function_code == 43 {
                    self.emit(
                        Metric::IcsIdentify,
                        Some(actor),
                        Some(target),
                        Val::Add(1.0),
                        h64(server, 43),
                        at(6),
                        "modbus read device identification (FC 43)",
                    );
                }
            }
            Pdu::Bacnet(b) => {
                if b.apdu_type != Some(0) || edge_learned {
                    return;
                }
                let obj = (u64::from(b.object_type.unwrap_or(0)) << 32)
                    | u64::from(b.object_instance.unwrap_or(0));
                let elem = crate::identify::stable_hash(&[
                    &h64(server, 0).to_be_bytes(),
                    &obj.to_be_bytes(),
                    &b.property_id.unwrap_or(0).to_be_bytes(),
                    &[b.service.unwrap_or(0)],
                ]);
                self.emit(
                    Metric::IcsDiscovery,
                    Some(actor),
                    Some(target),
                    Val::Add(1.0),
                    elem,
                    at(17),
                    "bacnet objects read on an edge never learned",
                );
            }
            Pdu::Opcua(o) => {
                // BrowseRequest (527) and BrowseNextRequest (533).
                if !matches!(o.service_type_id, Some(527 | 533)) || op_learned {
                    return;
                }
                self.emit(
                    Metric::OpcuaBrowse,
                    Some(actor),
                    Some(target),
                    Val::Add(1.0),
                    0,
                    at(6),
                    "opcua browse requests never learned",
                );
            }
            _ => {}
        }
    }

    /// A BACnet Who-Is (often broadcast, so on no edge): discovery, unless its sender was
    /// learned doing it.
    pub(super) fn whois(&mut self, ctx: &Ctx, actor: Party) {
        let src = ctx.client.0;
        if self.learning {
            if self.learned_whois.len() < MAX_WHOIS {
                self.learned_whois.insert(src);
            }
            return;
        }
        if self.learned_whois.contains(&src) {
            return;
        }
        let target = Party {
            ip: ctx.server.0,
            port: Some(ctx.server.1),
            dev: self.inv.at_ip(ctx.server.0),
        };
        self.emit(
            Metric::IcsIdentify,
            Some(actor),
            Some(target),
            Val::Add(1.0),
            h64(src, 47808),
            (ctx.ts_ns, ctx.frame, ctx.source, 17),
            "bacnet who-is",
        );
    }

    /// A session to a login port ended (FIN or RST): short ones are tries.
    pub(super) fn login_session_end(
        &mut self,
        client: (IpAddr, u16),
        server: (IpAddr, u16),
        c: Option<crate::identify::DevIdx>,
        sv: Option<crate::identify::DevIdx>,
        at: (u64, u64, usize, u8),
    ) {
        let a = self.party(client.0, Some(client.1), c);
        let t = self.party(server.0, Some(server.1), sv);
        self.emit(
            Metric::ShortLoginSessions,
            Some(a),
            Some(t),
            Val::Add(1.0),
            0,
            at,
            "short sessions to a login port",
        );
    }
}
