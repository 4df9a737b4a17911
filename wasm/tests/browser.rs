//! The wasm decoder in headless Chromium: the embedded small golden inputs (see build.rs) give
//! the digests the native decoder gives, and the page's views work in a browser.
#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

include!(concat!(env!("OUT_DIR"), "/golden_subset.rs"));

fn read(p: &str) -> Option<Vec<u8>> {
    if p.ends_with('/') {
        // A folder: the names of the embedded files under it, one per line.
        let names: Vec<&str> = SUBSET
            .iter()
            .filter_map(|(n, _)| n.strip_prefix(p))
            .filter(|n| !n.contains('/'))
            .collect();
        return (!names.is_empty()).then(|| names.join("\n").into_bytes());
    }
    SUBSET
        .iter()
        .find(|(n, _)| *n == p)
        .map(|(_, b)| b.to_vec())
}

fn skipped() -> bool {
    if SUBSET.is_empty() {
        wasm_bindgen_test::console_log!(
            "SKIPPED: the shared golden folder was absent at build time; nothing to compare"
        );
    }
    SUBSET.is_empty()
}

#[wasm_bindgen_test]
fn embedded_golden_inputs_decode_as_natively() {
    if skipped() {
        return;
    }
    let n = common::check_digests(&read);
    assert!(n >= 20, "only {n} embedded inputs compared");
}

#[wasm_bindgen_test]
fn views_on_small() {
    if skipped() {
        return;
    }
    common::check_views(&read("small.meguri").expect("small.meguri"), None);
}

#[wasm_bindgen_test]
fn tiling_of_the_parts() {
    if skipped() {
        return;
    }
    common::check_tiling(&read);
}

#[wasm_bindgen_test]
fn embedded_golden_directories_read_as_the_native_store_reads_them() {
    if skipped() {
        return;
    }
    let n = common::check_dir_digests(&read);
    assert!(n >= 9, "only {n} directories compared");
    common::check_dir_views(&read);
}
