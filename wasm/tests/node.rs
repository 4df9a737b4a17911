//! The wasm decoder under Node: every golden input (read from the shared folder through
//! Node's `fs`) gives the digest the native decoder gives, and the page's views work.
#![cfg(target_arch = "wasm32")]

mod common;

use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(module = "fs")]
extern "C" {
    #[wasm_bindgen(js_name = readFileSync, catch)]
    fn read_file_sync(path: &str) -> Result<js_sys::Uint8Array, JsValue>;
    #[wasm_bindgen(js_name = readdirSync, catch)]
    fn read_dir_sync(path: &str) -> Result<js_sys::Array, JsValue>;
    #[wasm_bindgen(js_name = existsSync)]
    fn exists_sync(path: &str) -> bool;
}

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference/golden");

fn golden() -> Option<&'static str> {
    if exists_sync(GOLDEN) {
        Some(GOLDEN)
    } else {
        wasm_bindgen_test::console_log!("SKIPPED: {GOLDEN} is absent; parity needs it");
        None
    }
}

fn read(p: &str) -> Option<Vec<u8>> {
    if p.ends_with('/') {
        // A folder: its file names, one per line (the directory parity's convention).
        let names = read_dir_sync(&format!("{GOLDEN}/{p}")).ok()?;
        let mut v: Vec<String> = names.iter().filter_map(|n| n.as_string()).collect();
        v.sort();
        return Some(v.join("\n").into_bytes());
    }
    read_file_sync(&format!("{GOLDEN}/{p}"))
        .ok()
        .map(|a| a.to_vec())
}

#[wasm_bindgen_test]
fn every_golden_directory_reads_as_the_native_store_reads_it() {
    if golden().is_none() {
        return;
    }
    let n = common::check_dir_digests(&read);
    let total = meguri_wasm::parity::parse_expected(common::EXPECTED_DIRS).len();
    assert_eq!(n, total, "only {n} of {total} directories were compared");
    common::check_dir_views(&read);
}

#[wasm_bindgen_test]
fn every_golden_input_decodes_as_natively() {
    if golden().is_none() {
        return;
    }
    let n = common::check_digests(&read);
    // Every input of the table is reachable here, the damaged ones included.
    let total = meguri_wasm::parity::parse_expected(common::EXPECTED).len();
    assert_eq!(n, total, "only {n} of {total} inputs were compared");
}

#[wasm_bindgen_test]
fn views_on_small() {
    if golden().is_none() {
        return;
    }
    let small = read("small.meguri").expect("small.meguri");
    let txt = read("small.meguri.inspect.txt").map(|b| String::from_utf8_lossy(&b).into_owned());
    common::check_views(&small, txt.as_deref());
}

#[wasm_bindgen_test]
fn tiling_of_the_parts() {
    if golden().is_none() {
        return;
    }
    common::check_tiling(&read);
}

#[wasm_bindgen_test]
fn opening_a_large_file_reads_only_its_ends() {
    if golden().is_none() {
        return;
    }
    let full = read("full.meguri").expect("full.meguri");
    let len = full.len();
    let f = meguri_wasm::MeguriFile::new(len as f64, common::js_reader(full));
    assert!(f.open_error().is_none());
    let s = common::json(&f.summary().expect("summary"));
    assert_eq!(common::text(&s, "summary.urls"), "563844");
    assert!(f.reads() <= 3.0, "{} reads", f.reads());
    assert!(
        f.bytes_read() < 200_000.0,
        "the summary of a {len}-byte file read {} bytes",
        f.bytes_read()
    );
}
