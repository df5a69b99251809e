//! What a DHCP client's options say about it (RFC 2132): the parameter request list
//! (option 55, the "DHCP fingerprint" Fingerbank and others match, written `1,3,6,15,...`),
//! vendor class (60), hostname (12), maximum message size (57), client identifier (61) and
//! the order the options came in.
//!
//! Input: the options area of a DHCP message, i.e. the bytes after the magic cookie
//! (`names::dhcp` parses the fixed BOOTP header; this reads what it does not). Views borrow
//! from the input; nothing allocates. Pad (0) is skipped, End (255) stops the walk, the first
//! instance of an option wins (RFC 3396 concatenation and option overload, 52, are not
//! followed), and an option running past the end stops the walk with `truncated` set.

use super::u16_at;
use std::fmt;

/// Options by code.
pub mod code {
    pub const PAD: u8 = 0;
    pub const HOSTNAME: u8 = 12;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    pub const VENDOR_CLASS: u8 = 60;
    pub const CLIENT_ID: u8 = 61;
    pub const END: u8 = 255;
}

/// The identifying options of one DHCP message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DhcpFingerprint<'a> {
    /// Option 53 (1 DISCOVER, 3 REQUEST, 8 INFORM, ...).
    pub message_type: Option<u8>,
    /// Option 55: the codes asked for, in order ([`DhcpFingerprint::prl`] writes them).
    pub parameter_request_list: Option<&'a [u8]>,
    /// Option 60, as sent (e.g. `MSFT 5.0`, `udhcp 1.36.1`, `android-dhcp-13`).
    pub vendor_class: Option<&'a [u8]>,
    /// Option 12, as sent.
    pub hostname: Option<&'a [u8]>,
    /// Option 57.
    pub max_message_size: Option<u16>,
    /// Option 61's type byte (1 Ethernet MAC, 255 RFC 4361 IAID + DUID, 0 other).
    pub client_id_type: Option<u8>,
    /// Option 61's identifier, after the type byte.
    pub client_id: Option<&'a [u8]>,
    /// The options area walked (up to End or the damage).
    options: &'a [u8],
    /// An option ran past the end (the options before it were kept).
    pub truncated: bool,
}

/// Walk `opts` (the bytes after the magic cookie) for the identifying options.
pub fn dhcp_options(opts: &[u8]) -> DhcpFingerprint<'_> {
    let mut fp = DhcpFingerprint::default();
    let mut rest = opts;
    let mut walked = 0usize;
    while let Some((&c, tail)) = rest.split_first() {
        match c {
            code::PAD => {
                rest = tail;
                walked += 1;
                continue;
            }
            code::END => break,
            _ => {}
        }
        let Some((val, tail)) = tail
            .split_first()
            .and_then(|(&len, tail)| tail.split_at_checked(usize::from(len)))
        else {
            fp.truncated = true;
            break;
        };
        walked += 2 + val.len();
        rest = tail;
        match c {
            code::MESSAGE_TYPE => {
                if let &[t] = val {
                    fp.message_type.get_or_insert(t);
                }
            }
            code::PARAMETER_REQUEST_LIST => {
                fp.parameter_request_list.get_or_insert(val);
            }
            code::VENDOR_CLASS => {
                fp.vendor_class.get_or_insert(val);
            }
            code::HOSTNAME => {
                fp.hostname.get_or_insert(val);
            }
            code::MAX_MESSAGE_SIZE if val.len() == 2 && fp.max_message_size.is_none() => {
                fp.max_message_size = u16_at(val, 0);
            }
            code::CLIENT_ID => {
                if let Some((&t, id)) = val.split_first() {
                    if fp.client_id_type.is_none() {
                        fp.client_id_type = Some(t);
                        fp.client_id = Some(id);
                    }
                }
            }
            _ => {}
        }
    }
    fp.options = opts.get(..walked).unwrap_or(opts);
    fp
}

impl<'a> DhcpFingerprint<'a> {
    /// Option 55 as Fingerbank writes it: `1,3,6,15,31,33,43,44,46,47,119,121,249,252`
    /// (empty without the option). Display it or write it anywhere.
    pub fn prl(&self) -> CommaList<'a> {
        CommaList(self.parameter_request_list.unwrap_or_default())
    }

    /// The codes of the options present, in order (pad excluded, up to End).
    pub fn option_codes(&self) -> impl Iterator<Item = u8> + 'a {
        let mut rest = self.options;
        std::iter::from_fn(move || loop {
            let (&c, tail) = rest.split_first()?;
            if c == code::PAD {
                rest = tail;
                continue;
            }
            let (&len, tail) = tail.split_first()?;
            rest = tail.get(usize::from(len)..)?;
            return Some(c);
        })
    }

    /// The option codes in order, comma-separated (another common fingerprint: `53,61,50,...`),
    /// written to `w`.
    pub fn write_option_codes(&self, w: &mut dyn fmt::Write) -> fmt::Result {
        for (i, c) in self.option_codes().enumerate() {
            if i > 0 {
                w.write_str(",")?;
            }
            write!(w, "{c}")?;
        }
        Ok(())
    }
}

/// Bytes as decimal numbers joined by commas, without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommaList<'a>(pub &'a [u8]);

impl fmt::Display for CommaList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{b}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;
    use crate::fingerprint::InlineStr;
    use std::fmt::Write;

    /// A Windows 10 DISCOVER's options (as Fingerbank lists Windows 10's fingerprint).
    #[test]
    fn windows_discover() {
        let opts: &[u8] = &[
            53, 1, 1, // DISCOVER
            61, 7, 1, 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03, // client id: MAC
            50, 4, 192, 168, 1, 20, // requested address
            12, 7, b'D', b'E', b'S', b'K', b'-', b'0', b'1', // hostname
            60, 8, b'M', b'S', b'F', b'T', b' ', b'5', b'.', b'0', // vendor class
            55, 14, 1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252, // PRL
            57, 2, 0x05, 0xdc, // max message size 1500
            0, 0, // pad
            255, 0, 0, 0,
        ];
        let fp = dhcp_options(opts);
        assert_eq!(fp.message_type, Some(1));
        assert_eq!(
            fp.prl().to_string(),
            "1,3,6,15,31,33,43,44,46,47,119,121,249,252"
        );
        assert_eq!(fp.vendor_class, Some(&b"MSFT 5.0"[..]));
        assert_eq!(fp.hostname, Some(&b"DESK-01"[..]));
        assert_eq!(fp.max_message_size, Some(1500));
        assert_eq!(fp.client_id_type, Some(1));
        assert_eq!(
            fp.client_id,
            Some(&[0x00, 0x15, 0x5d, 0x01, 0x02, 0x03][..])
        );
        assert!(!fp.truncated);
        let mut s = InlineStr::<64>::new();
        fp.write_option_codes(&mut s).unwrap();
        assert_eq!(s, "53,61,50,12,60,55,57");
        // Allocation-free rendering of the PRL into a fixed buffer.
        let mut s = InlineStr::<1024>::new();
        write!(s, "{}", fp.prl()).unwrap();
        assert_eq!(s.len(), 42);
    }

    #[test]
    fn damage_keeps_what_came_before() {
        let fp = dhcp_options(&[53, 1, 3, 55, 3, 1, 3, 6, 60, 10, b'x']);
        assert_eq!(fp.message_type, Some(3));
        assert_eq!(fp.prl().to_string(), "1,3,6");
        assert_eq!(fp.vendor_class, None);
        assert!(fp.truncated);
        assert_eq!(fp.option_codes().collect::<Vec<_>>(), [53, 55]);
        let fp = dhcp_options(&[]);
        assert_eq!(fp, DhcpFingerprint::default());
        assert_eq!(fp.prl().to_string(), "");
        // Wrong sizes are ignored; the first instance wins.
        let fp = dhcp_options(&[57, 1, 5, 53, 2, 1, 1, 61, 0, 12, 1, b'a', 12, 1, b'b']);
        assert_eq!(fp.max_message_size, None);
        assert_eq!(fp.message_type, None);
        assert_eq!(fp.client_id_type, None);
        assert_eq!(fp.hostname, Some(&b"a"[..]));
    }
}
