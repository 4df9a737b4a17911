//! Feeds arbitrary bytes to the manifest parser, router, tiling check and verifier.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meguri_core::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data) {
        let t = m.tiling();
        assert!(t.is_clean() || !t.gaps.is_empty() || !t.overlaps.is_empty() || !t.inverted.is_empty());
        for k in [0u64, 1, 0x8000_0000_0000_0000, u64::MAX] {
            if let Some(e) = m.route(k) {
                assert!(e.hostkey_lo <= k && k <= e.hostkey_hi);
            }
        }
        // Encoding what we parsed and parsing it again is bit-exact (compared as bytes: a NaN
        // bytes/url is not equal to itself as an f32).
        let bytes = m.encode();
        let again = Manifest::parse(&bytes).expect("re-encoded manifest parses");
        assert_eq!(again.encode(), bytes);
    }
    let _ = meguri_core::verify::verify_manifest(data);
});
