//! The whole input as one UDP payload to every name parser (`edgetap_dissectors::names`):
//! DHCP, DNS/mDNS answers, query name and question, NetBIOS-NS; its first six bytes as a MAC to
//! `oui::vendor`. Checks the bounds the parsers promise.
#![no_main]
use edgetap_dissectors::{names, oui};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(d) = names::dhcp(data) {
        for s in [d.hostname, d.vendor_class, d.client_id]
            .into_iter()
            .flatten()
        {
            assert!(!s.is_empty() && s.len() <= 255);
        }
        let _ = d.message_type_name();
        if let Some(mac) = d.chaddr {
            let _ = oui::vendor(mac);
        }
    }
    names::dns_answers(data, &mut |name, _ip| {
        assert!(!name.is_empty() && name.len() <= 253);
    });
    let mut buf = [0u8; 256];
    if let Some(name) = names::dns_query_name(data, &mut buf) {
        assert!(!name.is_empty() && name.len() <= 253);
    }
    let mut qbuf = [0u8; 256];
    if let Some(q) = names::dns_question(data, &mut qbuf) {
        assert!(q.name.len() <= 254);
    }
    names::netbios_names(data, &mut |n| assert!(n.name.len() <= 15));
    if let Some(mac) = data.get(..6).and_then(|m| <[u8; 6]>::try_from(m).ok()) {
        if let Some(v) = oui::vendor(mac) {
            assert!(!v.is_empty() && v.chars().count() <= 40);
        }
    }
});
