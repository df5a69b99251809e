//! The whole input as one NetBIOS name service datagram
//! (`edgetap_dissectors::discovery::netbios_ns`): no panic, names of at most 15 bytes, an
//! address exactly on NB records, a unit id only on node status, and `names::netbios_names`
//! (built on it) giving the address-bearing records only.
#![no_main]
use edgetap_dissectors::discovery::{netbios_ns, suffix_name, NbnsKind};
use edgetap_dissectors::names::netbios_names;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut with_addr = 0;
    netbios_ns(data, &mut |r| {
        assert!(r.name.len() <= 15);
        assert_eq!(r.group, r.flags & 0x8000 != 0);
        if r.kind == NbnsKind::NodeStatus {
            assert!(r.addr.is_none() && !r.name.is_empty());
        } else {
            assert!(r.addr.is_some() && r.unit_id.is_none());
            with_addr += 1;
        }
        if let Some(mac) = r.mac() {
            assert_ne!(mac, [0; 6]);
        }
        let _ = suffix_name(r.suffix);
    });
    let mut old = 0;
    netbios_names(data, &mut |_| old += 1);
    assert_eq!(old, with_addr);
});
