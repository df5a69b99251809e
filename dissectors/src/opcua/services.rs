//! Service bodies (OPC 10000-4 §5, encoded per OPC 10000-6 §5.2): the type NodeId, the
//! request/response header, and the leading parameters of the services an edge monitor cares
//! about. Parameters are read front to back and decoding stops at the first field of interest
//! that is not needed any more; trailing fields (signatures, padding) are never touched.

use super::buildinfo::{self, Reads};
use super::cert::{self, Thumbprint};
use super::encoding::{Reader, Text, R};
use super::Message as Pdu;
use crate::{Fact, FactKind, FactValue, Side, Sink};

/// Whether a service type is a request, a response or a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Request,
    Response,
}

/// Binary encoding ids (`<Type>_Encoding_DefaultBinary`, namespace 0) of the service messages,
/// sorted by id.
const SERVICES: &[(u32, &str)] = &[
    (397, "ServiceFault"),
    (410, "TestStackRequest"),
    (413, "TestStackResponse"),
    (416, "TestStackExRequest"),
    (419, "TestStackExResponse"),
    (422, "FindServersRequest"),
    (425, "FindServersResponse"),
    (428, "GetEndpointsRequest"),
    (431, "GetEndpointsResponse"),
    (437, "RegisterServerRequest"),
    (440, "RegisterServerResponse"),
    (446, "OpenSecureChannelRequest"),
    (449, "OpenSecureChannelResponse"),
    (452, "CloseSecureChannelRequest"),
    (455, "CloseSecureChannelResponse"),
    (461, "CreateSessionRequest"),
    (464, "CreateSessionResponse"),
    (467, "ActivateSessionRequest"),
    (470, "ActivateSessionResponse"),
    (473, "CloseSessionRequest"),
    (476, "CloseSessionResponse"),
    (479, "CancelRequest"),
    (482, "CancelResponse"),
    (488, "AddNodesRequest"),
    (491, "AddNodesResponse"),
    (494, "AddReferencesRequest"),
    (497, "AddReferencesResponse"),
    (500, "DeleteNodesRequest"),
    (503, "DeleteNodesResponse"),
    (506, "DeleteReferencesRequest"),
    (509, "DeleteReferencesResponse"),
    (527, "BrowseRequest"),
    (530, "BrowseResponse"),
    (533, "BrowseNextRequest"),
    (536, "BrowseNextResponse"),
    (554, "TranslateBrowsePathsToNodeIdsRequest"),
    (557, "TranslateBrowsePathsToNodeIdsResponse"),
    (560, "RegisterNodesRequest"),
    (563, "RegisterNodesResponse"),
    (566, "UnregisterNodesRequest"),
    (569, "UnregisterNodesResponse"),
    (615, "QueryFirstRequest"),
    (618, "QueryFirstResponse"),
    (621, "QueryNextRequest"),
    (624, "QueryNextResponse"),
    (631, "ReadRequest"),
    (634, "ReadResponse"),
    (664, "HistoryReadRequest"),
    (667, "HistoryReadResponse"),
    (673, "WriteRequest"),
    (676, "WriteResponse"),
    (700, "HistoryUpdateRequest"),
    (703, "HistoryUpdateResponse"),
    (712, "CallRequest"),
    (715, "CallResponse"),
    (751, "CreateMonitoredItemsRequest"),
    (754, "CreateMonitoredItemsResponse"),
    (763, "ModifyMonitoredItemsRequest"),
    (766, "ModifyMonitoredItemsResponse"),
    (769, "SetMonitoringModeRequest"),
    (772, "SetMonitoringModeResponse"),
    (775, "SetTriggeringRequest"),
    (778, "SetTriggeringResponse"),
    (781, "DeleteMonitoredItemsRequest"),
    (784, "DeleteMonitoredItemsResponse"),
    (787, "CreateSubscriptionRequest"),
    (790, "CreateSubscriptionResponse"),
    (793, "ModifySubscriptionRequest"),
    (796, "ModifySubscriptionResponse"),
    (799, "SetPublishingModeRequest"),
    (802, "SetPublishingModeResponse"),
    (826, "PublishRequest"),
    (829, "PublishResponse"),
    (832, "RepublishRequest"),
    (835, "RepublishResponse"),
    (841, "TransferSubscriptionsRequest"),
    (844, "TransferSubscriptionsResponse"),
    (847, "DeleteSubscriptionsRequest"),
    (850, "DeleteSubscriptionsResponse"),
    (12208, "FindServersOnNetworkRequest"),
    (12209, "FindServersOnNetworkResponse"),
    (12211, "RegisterServer2Request"),
    (12212, "RegisterServer2Response"),
];

/// The service message named by binary encoding id `id`, and whether it is a request.
pub fn lookup(id: u32) -> Option<(&'static str, Kind)> {
    let i = SERVICES.binary_search_by_key(&id, |&(k, _)| k).ok()?;
    let &(_, name) = SERVICES.get(i)?;
    let kind = if name.ends_with("Request") {
        Kind::Request
    } else {
        Kind::Response
    };
    Some((name, kind))
}

const GET_ENDPOINTS_REQ: u32 = 428;
const GET_ENDPOINTS_RESP: u32 = 431;
const OPN_REQ: u32 = 446;
const OPN_RESP: u32 = 449;
const CREATE_SESSION_REQ: u32 = 461;
const CREATE_SESSION_RESP: u32 = 464;
const ACTIVATE_SESSION_REQ: u32 = 467;
const BROWSE_REQ: u32 = 527;
const BROWSE_RESP: u32 = 530;
const READ_REQ: u32 = 631;
const READ_RESP: u32 = 634;
const WRITE_REQ: u32 = 673;
const WRITE_RESP: u32 = 676;
const CALL_REQ: u32 = 712;
const CALL_RESP: u32 = 715;
const CREATE_SUB_REQ: u32 = 787;
const CREATE_SUB_RESP: u32 = 790;
const PUBLISH_REQ: u32 = 826;
const PUBLISH_RESP: u32 = 829;

/// Well-known status codes (OPC 10000-4 §7.39, StatusCode.csv), sorted by value.
const STATUS: &[(u32, &str)] = &[
    (0x0000_0000, "Good"),
    (0x8001_0000, "BadUnexpectedError"),
    (0x8002_0000, "BadInternalError"),
    (0x8003_0000, "BadOutOfMemory"),
    (0x8004_0000, "BadResourceUnavailable"),
    (0x8005_0000, "BadCommunicationError"),
    (0x8006_0000, "BadEncodingError"),
    (0x8007_0000, "BadDecodingError"),
    (0x8008_0000, "BadEncodingLimitsExceeded"),
    (0x8009_0000, "BadUnknownResponse"),
    (0x800A_0000, "BadTimeout"),
    (0x800B_0000, "BadServiceUnsupported"),
    (0x800C_0000, "BadShutdown"),
    (0x800D_0000, "BadServerNotConnected"),
    (0x800E_0000, "BadServerHalted"),
    (0x800F_0000, "BadNothingToDo"),
    (0x8010_0000, "BadTooManyOperations"),
    (0x8011_0000, "BadDataTypeIdUnknown"),
    (0x8012_0000, "BadCertificateInvalid"),
    (0x8013_0000, "BadSecurityChecksFailed"),
    (0x8014_0000, "BadCertificateTimeInvalid"),
    (0x8015_0000, "BadCertificateIssuerTimeInvalid"),
    (0x8016_0000, "BadCertificateHostNameInvalid"),
    (0x8017_0000, "BadCertificateUriInvalid"),
    (0x8018_0000, "BadCertificateUseNotAllowed"),
    (0x8019_0000, "BadCertificateIssuerUseNotAllowed"),
    (0x801A_0000, "BadCertificateUntrusted"),
    (0x801B_0000, "BadCertificateRevocationUnknown"),
    (0x801C_0000, "BadCertificateIssuerRevocationUnknown"),
    (0x801D_0000, "BadCertificateRevoked"),
    (0x801E_0000, "BadCertificateIssuerRevoked"),
    (0x801F_0000, "BadUserAccessDenied"),
    (0x8020_0000, "BadIdentityTokenInvalid"),
    (0x8021_0000, "BadIdentityTokenRejected"),
    (0x8022_0000, "BadSecureChannelIdInvalid"),
    (0x8023_0000, "BadInvalidTimestamp"),
    (0x8024_0000, "BadNonceInvalid"),
    (0x8025_0000, "BadSessionIdInvalid"),
    (0x8026_0000, "BadSessionClosed"),
    (0x8027_0000, "BadSessionNotActivated"),
    (0x8028_0000, "BadSubscriptionIdInvalid"),
    (0x802A_0000, "BadRequestHeaderInvalid"),
    (0x802B_0000, "BadTimestampsToReturnInvalid"),
    (0x802C_0000, "BadRequestCancelledByClient"),
    (0x8033_0000, "BadNodeIdInvalid"),
    (0x8034_0000, "BadNodeIdUnknown"),
    (0x8035_0000, "BadAttributeIdInvalid"),
    (0x8053_0000, "BadRequestTypeInvalid"),
    (0x8054_0000, "BadSecurityModeRejected"),
    (0x8055_0000, "BadSecurityPolicyRejected"),
    (0x8056_0000, "BadTooManySessions"),
    (0x8057_0000, "BadUserSignatureInvalid"),
    (0x8058_0000, "BadApplicationSignatureInvalid"),
    (0x8059_0000, "BadNoValidCertificates"),
    (0x8078_0000, "BadTooManyPublishRequests"),
    (0x8079_0000, "BadNoSubscription"),
    (0x807E_0000, "BadTcpMessageTypeInvalid"),
    (0x807F_0000, "BadTcpSecureChannelUnknown"),
    (0x8080_0000, "BadTcpMessageTooLarge"),
    (0x8081_0000, "BadTcpNotEnoughResources"),
    (0x8082_0000, "BadTcpInternalError"),
    (0x8083_0000, "BadTcpEndpointUrlInvalid"),
    (0x8084_0000, "BadRequestInterrupted"),
    (0x8085_0000, "BadRequestTimeout"),
    (0x8086_0000, "BadSecureChannelClosed"),
    (0x8087_0000, "BadSecureChannelTokenUnknown"),
    (0x8088_0000, "BadSequenceNumberInvalid"),
    (0x80BE_0000, "BadProtocolVersionUnsupported"),
];

/// The symbolic name of a status code (its info bits ignored), when well known.
pub fn status_name(code: u32) -> Option<&'static str> {
    let key = code & 0xFFFF_0000;
    let i = STATUS.binary_search_by_key(&key, |&(k, _)| k).ok()?;
    STATUS.get(i).map(|&(_, n)| n)
}

/// Whether a status code's severity is Bad.
pub fn is_bad(code: u32) -> bool {
    code & 0xC000_0000 == 0x8000_0000
}

/// The event a Bad status raises: the well-known authentication and security failures get
/// their own, the rest share `bad_service_result`.
pub fn status_event(code: u32) -> &'static str {
    match code & 0xFFFF_0000 {
        0x801F_0000 | 0x8020_0000 | 0x8021_0000 => "opcua.auth_failure",
        0x8013_0000 => "opcua.security_checks_failed",
        _ => "opcua.bad_service_result",
    }
}

fn text_value(b: &[u8]) -> FactValue<'_> {
    match std::str::from_utf8(b) {
        Ok(s) => FactValue::Text(s),
        Err(_) => FactValue::Bytes(b),
    }
}

/// A text fact, unless `b` is null or empty.
pub(super) fn fact(sink: &mut dyn Sink, kind: FactKind, about: Side, b: Option<&[u8]>) {
    if let Some(b) = b.filter(|b| !b.is_empty()) {
        sink.fact(Fact {
            kind,
            about,
            value: text_value(b),
        });
    }
}

/// Where decoded fields and facts go, and the connection's pending reads (`None` when the
/// message has no request id).
pub struct Out<'p, 'a, 's> {
    pub pdu: &'p mut Pdu<'a>,
    pub sink: &'s mut dyn Sink,
    pub reads: Option<Reads<'s>>,
}

/// Decode a service body (starting at its type NodeId) into `out.pdu`. Errors leave the fields
/// decoded so far in place.
pub fn decode<'a>(body: &'a [u8], out: &mut Out<'_, 'a, '_>) -> R<()> {
    let mut r = Reader::new(body);
    let type_id = r.node_id()?;
    let Some(id) = type_id.numeric() else {
        return Ok(());
    };
    out.pdu.service_type_id = Some(id);
    let Some((name, kind)) = lookup(id) else {
        // Not a service we know (or not plaintext): nothing more to read.
        return Ok(());
    };
    out.pdu.service = Some(name);
    match kind {
        Kind::Request => request_header(&mut r, out.pdu)?,
        Kind::Response => {
            // Whatever the response (a ServiceFault, a malformed one), the read it answers is
            // no longer pending.
            let read = out.reads.as_mut().and_then(buildinfo::answered);
            response_header(&mut r, out.pdu)?;
            if id == READ_RESP {
                let n = r.array_len()?;
                out.pdu.item_count = Some(n);
                if let Some(read) = read {
                    buildinfo::read_response(&mut r, n, &read, out.sink);
                }
                return Ok(());
            }
        }
    }
    parameters(id, &mut r, out)
}

/// RequestHeader (OPC 10000-4 §7.33).
fn request_header<'a>(r: &mut Reader<'a>, pdu: &mut Pdu<'a>) -> R<()> {
    r.node_id()?; // authentication token: a secret of the session, never reported
    r.i64()?; // timestamp
    pdu.request_handle = Some(r.u32()?);
    r.u32()?; // return diagnostics
    r.bytes()?; // audit entry id
    pdu.timeout_hint = Some(r.u32()?);
    r.extension_object()?; // additional header
    Ok(())
}

/// ResponseHeader (OPC 10000-4 §7.34).
fn response_header<'a>(r: &mut Reader<'a>, pdu: &mut Pdu<'a>) -> R<()> {
    r.i64()?; // timestamp
    pdu.request_handle = Some(r.u32()?);
    let status = r.u32()?;
    pdu.service_result = Some(status);
    pdu.service_result_name = status_name(status);
    r.skip_diagnostic_info()?;
    r.skip_string_array()?;
    r.extension_object()?;
    Ok(())
}

/// ApplicationDescription: URIs and name into the PDU, and as facts about `about`.
fn application<'a>(r: &mut Reader<'a>, out: &mut Out<'_, 'a, '_>, about: Side) -> R<()> {
    let uri = r.bytes()?;
    let product = r.bytes()?;
    let name = r.localized_text()?;
    let app_type = r.u32()?;
    out.pdu.application_uri = uri.map(Text);
    out.pdu.product_uri = product.map(Text);
    out.pdu.application_name = name.map(Text);
    out.pdu.application_type = match app_type {
        0 => Some("Server"),
        1 => Some("Client"),
        2 => Some("ClientAndServer"),
        3 => Some("DiscoveryServer"),
        _ => None,
    };
    fact(out.sink, FactKind::OpcuaApplicationUri, about, uri);
    fact(out.sink, FactKind::OpcuaProductUri, about, product);
    fact(out.sink, FactKind::OpcuaApplicationName, about, name);
    r.bytes()?; // gateway server uri
    r.bytes()?; // discovery profile uri
    r.skip_string_array() // discovery urls
}

/// A certificate carried in a service (CreateSession): length, subject CN and thumbprint.
pub fn certificate<'a>(
    cert: Option<&'a [u8]>,
    pdu: &mut Pdu<'a>,
    sink: &mut dyn Sink,
    about: Side,
) {
    let Some(chain) = cert.filter(|c| !c.is_empty()) else {
        return;
    };
    pdu.certificate_len = u32::try_from(chain.len()).ok();
    let Some(der) = cert::first_certificate(chain) else {
        return;
    };
    pdu.certificate_subject = cert::subject_cn(der).map(Text);
    let thumb = Thumbprint(cert::sha1(der));
    pdu.certificate_thumbprint = Some(thumb);
    let mut buf = [0u8; 40];
    sink.fact(Fact {
        kind: FactKind::OpcuaCertificateThumbprint,
        about,
        value: FactValue::Text(thumb.hex(&mut buf)),
    });
}

/// The first element of an EndpointDescription array: its URL and server description.
fn first_endpoint<'a>(r: &mut Reader<'a>, out: &mut Out<'_, 'a, '_>) -> R<()> {
    let n = r.array_len()?;
    out.pdu.item_count = Some(n);
    if n > 0 {
        out.pdu.endpoint_url = r.bytes()?.map(Text);
        application(r, out, Side::Server)?;
    }
    Ok(())
}

fn parameters<'a>(id: u32, r: &mut Reader<'a>, out: &mut Out<'_, 'a, '_>) -> R<()> {
    match id {
        OPN_REQ => {
            r.u32()?; // client protocol version
            out.pdu.request_type = match r.u32()? {
                0 => Some("Issue"),
                1 => Some("Renew"),
                _ => None,
            };
            out.pdu.security_mode = security_mode(r.u32()?);
            r.bytes()?; // client nonce
            out.pdu.token_lifetime = Some(r.u32()?);
        }
        OPN_RESP => {
            r.u32()?; // server protocol version
            r.u32()?; // channel id (the header carries it too)
            out.pdu.token_id = Some(r.u32()?);
            r.i64()?; // created at
            out.pdu.token_lifetime = Some(r.u32()?);
        }
        GET_ENDPOINTS_REQ => {
            out.pdu.endpoint_url = r.bytes()?.map(Text);
        }
        GET_ENDPOINTS_RESP => first_endpoint(r, out)?,
        CREATE_SESSION_REQ => {
            application(r, out, Side::Client)?;
            r.bytes()?; // server uri
            out.pdu.endpoint_url = r.bytes()?.map(Text);
            out.pdu.session_name = r.bytes()?.map(Text);
            r.bytes()?; // client nonce
            let cert = r.bytes()?;
            certificate(cert, out.pdu, out.sink, Side::Client);
        }
        CREATE_SESSION_RESP => {
            r.node_id()?; // session id
            r.node_id()?; // authentication token
            r.f64()?; // revised session timeout
            r.bytes()?; // server nonce
            let cert = r.bytes()?;
            certificate(cert, out.pdu, out.sink, Side::Server);
            first_endpoint(r, out)?;
        }
        ACTIVATE_SESSION_REQ => {
            r.bytes()?; // client signature: algorithm
            r.bytes()?; // and signature
            for _ in 0..r.array_len()? {
                r.bytes()?; // software certificate data
                r.bytes()?; // and signature
            }
            r.skip_string_array()?; // locale ids
            let (type_id, body) = r.extension_object()?;
            out.pdu.identity_token = match type_id.numeric() {
                Some(321) => Some("anonymous"),
                Some(324) => Some("username"),
                Some(327) => Some("x509"),
                Some(940) => Some("issued"),
                _ => Some("unknown"),
            };
            if type_id.numeric() == Some(324) {
                // UserNameIdentityToken: policy id, user name; the password is never read.
                let mut t = Reader::new(body.unwrap_or_default());
                t.bytes()?;
                out.pdu.user_name = t.bytes()?.map(Text);
            }
        }
        READ_REQ => {
            r.f64()?; // max age
            r.u32()?; // timestamps to return
            let n = r.array_len()?;
            out.pdu.item_count = Some(n);
            if n > 0 {
                let node = r.node_id()?;
                let attribute = r.u32()?;
                out.pdu.node_id = Some(node);
                out.pdu.attribute_id = Some(attribute);
                if let Some(reads) = out.reads.as_mut() {
                    buildinfo::read_request(r, n, (node, attribute), reads);
                }
            }
        }
        WRITE_REQ => {
            let n = r.array_len()?;
            out.pdu.item_count = Some(n);
            if n > 0 {
                out.pdu.node_id = Some(r.node_id()?);
                out.pdu.attribute_id = Some(r.u32()?);
            }
        }
        BROWSE_REQ => {
            r.node_id()?; // view id
            r.i64()?; // view timestamp
            r.u32()?; // view version
            r.u32()?; // requested max references per node
            let n = r.array_len()?;
            out.pdu.item_count = Some(n);
            if n > 0 {
                out.pdu.node_id = Some(r.node_id()?);
            }
        }
        CALL_REQ => {
            let n = r.array_len()?;
            out.pdu.item_count = Some(n);
            if n > 0 {
                out.pdu.node_id = Some(r.node_id()?);
                out.pdu.method_id = Some(r.node_id()?);
            }
        }
        WRITE_RESP | BROWSE_RESP | CALL_RESP => {
            out.pdu.item_count = Some(r.array_len()?);
        }
        CREATE_SUB_REQ => {
            out.pdu.publishing_interval = Some(r.f64()?);
        }
        CREATE_SUB_RESP => {
            out.pdu.subscription_id = Some(r.u32()?);
            out.pdu.publishing_interval = Some(r.f64()?);
        }
        PUBLISH_REQ => {
            out.pdu.item_count = Some(r.array_len()?);
        }
        PUBLISH_RESP => {
            out.pdu.subscription_id = Some(r.u32()?);
        }
        _ => {}
    }
    Ok(())
}

/// MessageSecurityMode (OPC 10000-4 §7.20).
pub fn security_mode(v: u32) -> Option<&'static str> {
    match v {
        1 => Some("None"),
        2 => Some("Sign"),
        3 => Some("SignAndEncrypt"),
        _ => None,
    }
}

/// Does `body` start with the type id of a known service? (How a Sign-only channel is told
/// from an encrypted one: Wireshark's test, on the first message after the OPN.)
pub fn starts_with_known_service(body: &[u8]) -> bool {
    Reader::new(body)
        .node_id()
        .ok()
        .and_then(|n| n.numeric())
        .is_some_and(|id| lookup(id).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted() {
        assert!(SERVICES
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.0 < b.0)));
        assert!(STATUS.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)));
        assert_eq!(lookup(631), Some(("ReadRequest", Kind::Request)));
        assert_eq!(lookup(397), Some(("ServiceFault", Kind::Response)));
        assert_eq!(lookup(632), None);
        assert_eq!(status_name(0x801F_0000), Some("BadUserAccessDenied"));
        assert_eq!(status_event(0x8021_0000), "opcua.auth_failure");
        assert!(is_bad(0x8034_0000) && !is_bad(0x4000_0000) && !is_bad(0));
    }
}
