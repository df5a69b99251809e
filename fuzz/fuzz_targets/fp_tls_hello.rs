//! TLS hellos (`edgetap_dissectors::fingerprint::tls`): the input as the start of a client's
//! and of a server's stream, read with a small scratch buffer (so multi-record reassembly and
//! its limit run), with none, and as an SSL 2.0 hello. Checks every view and list, JA4's shape
//! (36 characters), the JA3 string, and that reading in place and reassembling agree.
#![no_main]
use edgetap_dissectors::fingerprint::tls::{self, TlsError};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut scratch = [0u8; 2048];
    let with = tls::client_hello(data, &mut scratch);
    let without = tls::client_hello(data, &mut []);
    match (&with, &without) {
        (Ok(a), Ok(b)) => assert_eq!(a, b),
        (Ok(h), Err(TlsError::TooLarge { .. })) => assert!(h.reassembled),
        (Ok(h), Err(e)) => panic!("in place {e:?} but reassembled {h:?}"),
        _ => {}
    }
    if let Ok(h) = with {
        assert!(h.consumed <= data.len());
        assert!(h.session_id.len() <= 32 && h.random.len() == 32);
        if let Some(ja4) = h.ja4() {
            assert_eq!(ja4.len(), 36, "{ja4}");
            assert!(ja4.is_ascii());
        }
        let mut ja3 = String::new();
        h.write_ja3(&mut ja3).unwrap();
        assert_eq!(ja3.matches(',').count(), 4, "{ja3}");
        let _ = (h.cipher_count(), h.extension_count(), h.alpn().count());
        let _ = (h.max_version(), h.min_version(), h.offers_deprecated());
        let _ = h
            .supported_versions()
            .chain(h.signature_algorithms())
            .count();
        let _ = h.supported_groups().count() + h.ec_point_formats().len();
        let _ = h.extensions().count();
    }
    if let Ok(s) = tls::server_hello(data, &mut scratch) {
        assert!(s.consumed <= data.len());
        let _ = (s.version(), s.extensions().count());
        let _ = tls::version_name(s.version());
    }
    if let Some(v2) = tls::sslv2_client_hello(data) {
        assert_eq!(v2.cipher_specs.len() % 3, 0);
    }
});
