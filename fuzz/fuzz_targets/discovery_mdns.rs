//! The whole input as one mDNS response (`edgetap_dissectors::discovery::mdns`): no panic,
//! no hang on compression loops, and the records keep the promised shapes: names within the
//! 255-byte limit, instance and service labels non-empty, TXT pairs bounded per record.
#![no_main]
use edgetap_dissectors::discovery::{mdns, MdnsKind, MAX_TXT_PAIRS};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut txt = 0;
    let mut records = 0;
    mdns(data, &mut |r| {
        records += 1;
        match r.kind {
            MdnsKind::Host { name, .. } => {
                assert!(name.len() <= 253 && name.to_ascii_lowercase().ends_with(".local"))
            }
            MdnsKind::Instance { instance, service } => {
                assert!(!instance.is_empty() && instance.len() <= 63);
                assert!(service.starts_with('_') && service.len() <= 127);
            }
            MdnsKind::ServiceType { service } => assert!(service.starts_with('_')),
            MdnsKind::Srv {
                instance,
                service,
                target,
                ..
            } => {
                assert!(!instance.is_empty() && service.starts_with('_'));
                assert!(!target.is_empty() && target.len() <= 253);
            }
            MdnsKind::Txt { key, value, .. } => {
                txt += 1;
                assert!(!key.is_empty() && key.bytes().all(|b| (0x20..=0x7E).contains(&b)));
                assert!(!key.contains('='));
                assert!(value.map_or(0, <[u8]>::len) < 255);
            }
        }
    });
    // A record takes at least 11 bytes; TXT pairs at most MAX_TXT_PAIRS per record.
    assert!(records <= data.len() / 11 * MAX_TXT_PAIRS.max(1) + 1);
    assert!(txt <= data.len());
});
