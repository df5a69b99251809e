//! MQTT 5.0 properties (OASIS MQTT 5.0, section 2.2.2): a borrowed, validated view and a typed
//! iterator over it.
//!
//! A property list is a Variable Byte Integer length followed by that many bytes of
//! `identifier, value` pairs. [`Properties::parse`] checks the whole list once (every value
//! complete, known identifiers only); iterating afterwards cannot fail.

use super::wire::{text, Cur, Text};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// One MQTT 5.0 property, typed. Strings borrow from the packet (lossy copies only when a
/// string is not valid UTF-8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Property<'a> {
    /// 0x01: 0 unspecified bytes, 1 UTF-8 payload.
    PayloadFormatIndicator(u8),
    /// 0x02: seconds.
    MessageExpiryInterval(u32),
    /// 0x03.
    ContentType(Text<'a>),
    /// 0x08.
    ResponseTopic(Text<'a>),
    /// 0x09: opaque bytes.
    CorrelationData(&'a [u8]),
    /// 0x0B: a Variable Byte Integer.
    SubscriptionIdentifier(u32),
    /// 0x11: seconds.
    SessionExpiryInterval(u32),
    /// 0x12.
    AssignedClientIdentifier(Text<'a>),
    /// 0x13: seconds.
    ServerKeepAlive(u16),
    /// 0x15.
    AuthenticationMethod(Text<'a>),
    /// 0x16: opaque bytes.
    AuthenticationData(&'a [u8]),
    /// 0x17.
    RequestProblemInformation(u8),
    /// 0x18: seconds.
    WillDelayInterval(u32),
    /// 0x19.
    RequestResponseInformation(u8),
    /// 0x1A.
    ResponseInformation(Text<'a>),
    /// 0x1C.
    ServerReference(Text<'a>),
    /// 0x1F.
    ReasonString(Text<'a>),
    /// 0x21.
    ReceiveMaximum(u16),
    /// 0x22.
    TopicAliasMaximum(u16),
    /// 0x23.
    TopicAlias(u16),
    /// 0x24.
    MaximumQos(u8),
    /// 0x25.
    RetainAvailable(u8),
    /// 0x26: a key/value pair (may repeat).
    UserProperty(Text<'a>, Text<'a>),
    /// 0x27: bytes.
    MaximumPacketSize(u32),
    /// 0x28.
    WildcardSubscriptionAvailable(u8),
    /// 0x29.
    SubscriptionIdentifierAvailable(u8),
    /// 0x2A.
    SharedSubscriptionAvailable(u8),
}

impl Property<'_> {
    /// The property's identifier byte.
    pub fn id(&self) -> u8 {
        match self {
            Property::PayloadFormatIndicator(_) => 0x01,
            Property::MessageExpiryInterval(_) => 0x02,
            Property::ContentType(_) => 0x03,
            Property::ResponseTopic(_) => 0x08,
            Property::CorrelationData(_) => 0x09,
            Property::SubscriptionIdentifier(_) => 0x0B,
            Property::SessionExpiryInterval(_) => 0x11,
            Property::AssignedClientIdentifier(_) => 0x12,
            Property::ServerKeepAlive(_) => 0x13,
            Property::AuthenticationMethod(_) => 0x15,
            Property::AuthenticationData(_) => 0x16,
            Property::RequestProblemInformation(_) => 0x17,
            Property::WillDelayInterval(_) => 0x18,
            Property::RequestResponseInformation(_) => 0x19,
            Property::ResponseInformation(_) => 0x1A,
            Property::ServerReference(_) => 0x1C,
            Property::ReasonString(_) => 0x1F,
            Property::ReceiveMaximum(_) => 0x21,
            Property::TopicAliasMaximum(_) => 0x22,
            Property::TopicAlias(_) => 0x23,
            Property::MaximumQos(_) => 0x24,
            Property::RetainAvailable(_) => 0x25,
            Property::UserProperty(_, _) => 0x26,
            Property::MaximumPacketSize(_) => 0x27,
            Property::WildcardSubscriptionAvailable(_) => 0x28,
            Property::SubscriptionIdentifierAvailable(_) => 0x29,
            Property::SharedSubscriptionAvailable(_) => 0x2A,
        }
    }

    /// The name used in JSON output.
    pub fn name(&self) -> &'static str {
        match self {
            Property::PayloadFormatIndicator(_) => "payload_format_indicator",
            Property::MessageExpiryInterval(_) => "message_expiry_interval",
            Property::ContentType(_) => "content_type",
            Property::ResponseTopic(_) => "response_topic",
            Property::CorrelationData(_) => "correlation_data_len",
            Property::SubscriptionIdentifier(_) => "subscription_identifier",
            Property::SessionExpiryInterval(_) => "session_expiry_interval",
            Property::AssignedClientIdentifier(_) => "assigned_client_id",
            Property::ServerKeepAlive(_) => "server_keep_alive",
            Property::AuthenticationMethod(_) => "authentication_method",
            Property::AuthenticationData(_) => "authentication_data_len",
            Property::RequestProblemInformation(_) => "request_problem_information",
            Property::WillDelayInterval(_) => "will_delay_interval",
            Property::RequestResponseInformation(_) => "request_response_information",
            Property::ResponseInformation(_) => "response_information",
            Property::ServerReference(_) => "server_reference",
            Property::ReasonString(_) => "reason_string",
            Property::ReceiveMaximum(_) => "receive_maximum",
            Property::TopicAliasMaximum(_) => "topic_alias_maximum",
            Property::TopicAlias(_) => "topic_alias",
            Property::MaximumQos(_) => "maximum_qos",
            Property::RetainAvailable(_) => "retain_available",
            Property::UserProperty(_, _) => "user_properties",
            Property::MaximumPacketSize(_) => "maximum_packet_size",
            Property::WildcardSubscriptionAvailable(_) => "wildcard_subscription_available",
            Property::SubscriptionIdentifierAvailable(_) => "subscription_identifier_available",
            Property::SharedSubscriptionAvailable(_) => "shared_subscription_available",
        }
    }
}

/// Why a property list did not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropError {
    /// The length prefix is not a valid Variable Byte Integer or runs past the packet.
    Length,
    /// A property value runs past the list, or the identifier is unknown.
    Content,
}

/// A validated MQTT 5.0 property list (without its length prefix).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Properties<'a> {
    raw: &'a [u8],
}

/// What validating a property list found besides its structure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PropCheck {
    /// Some string in the list was not valid UTF-8.
    pub bad_utf8: bool,
    /// A property that may appear once appeared more than once.
    pub duplicate: bool,
}

impl<'a> Properties<'a> {
    /// Read a property list (length prefix and contents) from `cur`, which advances past it
    /// only on success.
    pub(crate) fn parse(cur: &mut Cur<'a>) -> Result<Properties<'a>, PropError> {
        Self::parse_checked(cur).map(|(p, _)| p)
    }

    /// [`Properties::parse`], also reporting duplicates and invalid UTF-8.
    pub(crate) fn parse_checked(
        cur: &mut Cur<'a>,
    ) -> Result<(Properties<'a>, PropCheck), PropError> {
        let mut c = *cur;
        let len = c.varint().ok_or(PropError::Length)?;
        let raw = c
            .take(usize::try_from(len).unwrap_or(usize::MAX))
            .ok_or(PropError::Length)?;
        let props = Properties { raw };
        let mut check = PropCheck::default();
        let mut seen: u64 = 0;
        let mut it = PropIter {
            cur: Cur::new(raw),
            bad_utf8: false,
        };
        while !it.cur.is_empty() {
            let p = it.next_checked().ok_or(PropError::Content)?;
            let bit = 1u64 << (p.id() & 63);
            let repeatable = matches!(
                p,
                Property::UserProperty(..) | Property::SubscriptionIdentifier(_)
            );
            if seen & bit != 0 && !repeatable {
                check.duplicate = true;
            }
            seen |= bit;
        }
        check.bad_utf8 = it.bad_utf8;
        *cur = c;
        Ok((props, check))
    }

    /// The list's bytes (after the length prefix).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// No properties at all.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The properties, in order.
    pub fn iter(&self) -> PropIter<'a> {
        PropIter {
            cur: Cur::new(self.raw),
            bad_utf8: false,
        }
    }

    /// The Topic Alias property, if present.
    pub fn topic_alias(&self) -> Option<u16> {
        self.iter().find_map(|p| match p {
            Property::TopicAlias(a) => Some(a),
            _ => None,
        })
    }

    /// The Assigned Client Identifier property (CONNACK), if present.
    pub fn assigned_client_id(&self) -> Option<Text<'a>> {
        self.iter().find_map(|p| match p {
            Property::AssignedClientIdentifier(s) => Some(s),
            _ => None,
        })
    }
}

/// Iterator over a validated property list.
#[derive(Clone, Debug)]
pub struct PropIter<'a> {
    cur: Cur<'a>,
    bad_utf8: bool,
}

impl<'a> PropIter<'a> {
    fn string(&mut self) -> Option<Text<'a>> {
        let b = self.cur.bin()?;
        Some(text(b, &mut self.bad_utf8))
    }

    fn next_checked(&mut self) -> Option<Property<'a>> {
        let id = self.cur.u8()?;
        Some(match id {
            0x01 => Property::PayloadFormatIndicator(self.cur.u8()?),
            0x02 => Property::MessageExpiryInterval(self.cur.u32()?),
            0x03 => Property::ContentType(self.string()?),
            0x08 => Property::ResponseTopic(self.string()?),
            0x09 => Property::CorrelationData(self.cur.bin()?),
            0x0B => Property::SubscriptionIdentifier(self.cur.varint()?),
            0x11 => Property::SessionExpiryInterval(self.cur.u32()?),
            0x12 => Property::AssignedClientIdentifier(self.string()?),
            0x13 => Property::ServerKeepAlive(self.cur.u16()?),
            0x15 => Property::AuthenticationMethod(self.string()?),
            0x16 => Property::AuthenticationData(self.cur.bin()?),
            0x17 => Property::RequestProblemInformation(self.cur.u8()?),
            0x18 => Property::WillDelayInterval(self.cur.u32()?),
            0x19 => Property::RequestResponseInformation(self.cur.u8()?),
            0x1A => Property::ResponseInformation(self.string()?),
            0x1C => Property::ServerReference(self.string()?),
            0x1F => Property::ReasonString(self.string()?),
            0x21 => Property::ReceiveMaximum(self.cur.u16()?),
            0x22 => Property::TopicAliasMaximum(self.cur.u16()?),
            0x23 => Property::TopicAlias(self.cur.u16()?),
            0x24 => Property::MaximumQos(self.cur.u8()?),
            0x25 => Property::RetainAvailable(self.cur.u8()?),
            0x26 => {
                let k = self.string()?;
                let v = self.string()?;
                Property::UserProperty(k, v)
            }
            0x27 => Property::MaximumPacketSize(self.cur.u32()?),
            0x28 => Property::WildcardSubscriptionAvailable(self.cur.u8()?),
            0x29 => Property::SubscriptionIdentifierAvailable(self.cur.u8()?),
            0x2A => Property::SharedSubscriptionAvailable(self.cur.u8()?),
            _ => return None,
        })
    }
}

impl<'a> Iterator for PropIter<'a> {
    type Item = Property<'a>;
    fn next(&mut self) -> Option<Property<'a>> {
        if self.cur.is_empty() {
            return None;
        }
        let p = self.next_checked();
        if p.is_none() {
            // Only reachable for lists that were not validated: stop for good.
            self.cur = Cur::new(&[]);
        }
        p
    }
}

/// Serialises as a JSON object: one key per property (first occurrence of a property that may
/// appear once), `user_properties` as `[[key, value], ...]`, `subscription_identifier` as the
/// first identifier, opaque data as its length.
impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        let mut seen: u64 = 0;
        for p in self.iter() {
            let bit = 1u64 << (p.id() & 63);
            if seen & bit != 0 {
                continue;
            }
            seen |= bit;
            let key = p.name();
            match p {
                Property::PayloadFormatIndicator(v)
                | Property::RequestProblemInformation(v)
                | Property::RequestResponseInformation(v)
                | Property::MaximumQos(v)
                | Property::RetainAvailable(v)
                | Property::WildcardSubscriptionAvailable(v)
                | Property::SubscriptionIdentifierAvailable(v)
                | Property::SharedSubscriptionAvailable(v) => map.serialize_entry(key, &v)?,
                Property::MessageExpiryInterval(v)
                | Property::SubscriptionIdentifier(v)
                | Property::SessionExpiryInterval(v)
                | Property::WillDelayInterval(v)
                | Property::MaximumPacketSize(v) => map.serialize_entry(key, &v)?,
                Property::ServerKeepAlive(v)
                | Property::ReceiveMaximum(v)
                | Property::TopicAliasMaximum(v)
                | Property::TopicAlias(v) => map.serialize_entry(key, &v)?,
                Property::ContentType(v)
                | Property::ResponseTopic(v)
                | Property::AssignedClientIdentifier(v)
                | Property::AuthenticationMethod(v)
                | Property::ResponseInformation(v)
                | Property::ServerReference(v)
                | Property::ReasonString(v) => map.serialize_entry(key, &v)?,
                Property::CorrelationData(b) | Property::AuthenticationData(b) => {
                    map.serialize_entry(key, &b.len())?
                }
                Property::UserProperty(..) => map.serialize_entry(key, &UserProps(*self))?,
            }
        }
        map.end()
    }
}

/// All user properties of a list, as `[[key, value], ...]`.
struct UserProps<'a>(Properties<'a>);

impl Serialize for UserProps<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for p in self.0.iter() {
            if let Property::UserProperty(k, v) = p {
                seq.serialize_element(&(k, v))?;
            }
        }
        seq.end()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_serialises() {
        let bytes = [
            0x14, 0x11, 0, 0, 0, 30, 0x26, 0, 1, b'k', 0, 1, b'v', 0x23, 0, 7, 0x09, 0, 2, 1, 2,
        ];
        let mut c = Cur::new(&bytes);
        let p = Properties::parse(&mut c).unwrap();
        assert!(c.is_empty());
        assert_eq!(p.topic_alias(), Some(7));
        assert_eq!(p.iter().count(), 4);
        let j = serde_json::to_string(&p).unwrap();
        assert_eq!(
            j,
            r#"{"session_expiry_interval":30,"user_properties":[["k","v"]],"topic_alias":7,"correlation_data_len":2}"#
        );
    }

    #[test]
    fn rejects_overlong_and_unknown() {
        let mut c = Cur::new(&[0xff, 0x21, 0, 0]);
        assert_eq!(Properties::parse(&mut c), Err(PropError::Length));
        let mut c = Cur::new(&[2, 0x7f, 0]);
        assert_eq!(Properties::parse(&mut c), Err(PropError::Content));
        let mut c = Cur::new(&[3, 0x23, 0]);
        assert_eq!(Properties::parse(&mut c), Err(PropError::Length));
        let mut c = Cur::new(&[2, 0x23, 0, 1]);
        assert_eq!(Properties::parse(&mut c), Err(PropError::Content));
    }

    #[test]
    fn flags_duplicates() {
        let mut c = Cur::new(&[6, 0x23, 0, 1, 0x23, 0, 2]);
        let (p, check) = Properties::parse_checked(&mut c).unwrap();
        assert!(check.duplicate);
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"topic_alias":1}"#);
    }
}
