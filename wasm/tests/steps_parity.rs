//! The page's bounded, stepwise work against the core's whole-file answers: the stepwise
//! verifier (`MeguriFile::verifier`) must report exactly what `verify_file` reports (every
//! finding, in order, and the counts) on every golden file, every damaged input of the parity
//! table, and a sweep of damaged copies (a byte flipped, and flipped with every CRC resealed so
//! only the decoders can see it); the streamed arena must give the strings the whole arena
//! gives; the region CRC pass must flag what verify flags. Natively, with the pure decoder the
//! wasm build uses.
#![cfg(not(target_arch = "wasm32"))]

use meguri_core::arena::Arena;
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::verify::verify_file;
use meguri_wasm::parity::{input_of, parse_expected, render_report};
use meguri_wasm::MeguriFile;
use std::path::{Path, PathBuf};

const EXPECTED: &str = include_str!("parity/expected.txt");

fn golden() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/golden");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent", dir.display());
        None
    }
}

fn text_of(r: &meguri_core::verify::Report) -> String {
    let mut s = String::new();
    render_report(&mut s, r);
    s.push_str(&format!(
        "columns {} pages {} rows {:?}\n",
        r.columns_checked, r.pages_checked, r.rows_checked
    ));
    s
}

/// The stepwise report of `bytes`, and verify_file's.
fn both(bytes: &[u8]) -> (String, String) {
    both_batched(bytes, None)
}

/// [`both`], checking the arena references `batch` distinct values at a time.
fn both_batched(bytes: &[u8], batch: Option<usize>) -> (String, String) {
    let whole = text_of(&verify_file(bytes, &ReadOptions::default()));
    let f = MeguriFile::from_bytes(bytes.to_vec());
    let mut v = f.verifier();
    if let Some(n) = batch {
        v.set_ref_batch(n);
    }
    let mut steps = 0;
    while !v.finished() {
        let _ = v.step();
        steps += 1;
        assert!(steps < 1_000_000, "the verifier does not finish");
    }
    (text_of(&v.report()), whole)
}

fn inputs(dir: &Path) -> Vec<String> {
    parse_expected(EXPECTED)
        .into_iter()
        .map(|e| e.name)
        .filter(|n| !n.contains(".manifest"))
        .filter(|n| dir.join(n.split('!').next().unwrap_or_default()).exists())
        .collect()
}

#[test]
fn stepwise_verify_reports_what_verify_file_reports() {
    let Some(dir) = golden() else { return };
    let read = |p: &str| std::fs::read(dir.join(p)).ok();
    let names = inputs(&dir);
    assert!(names.len() >= 30, "only {} inputs", names.len());
    let mut failures = Vec::new();
    for n in &names {
        let bytes = input_of(n, read).expect("input");
        let (got, want) = both(&bytes);
        if got != want {
            failures.push(format!("{n}:\n--- stepwise\n{got}--- verify_file\n{want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Many small batches of arena references: the reference columns are read once per batch while
/// the arena streams on (full.meguri's frame releases its bytes as it goes), and batches left
/// when the frame ends are checked against its last window.
#[test]
fn stepwise_verify_in_many_reference_batches() {
    let Some(dir) = golden() else { return };
    let read = |p: &str| std::fs::read(dir.join(p)).ok();
    for (name, batch) in [
        ("full.meguri", 40_000),
        ("small.meguri", 7),
        ("small.meguri!zxor:30000", 5),
        ("../damaged/arena-zstd-checksum.meguri", 3),
        ("features/seen-bloom-sched-meta.meguri", 11),
    ] {
        let Ok(bytes) = input_of(name, read) else {
            continue;
        };
        let (got, want) = both_batched(&bytes, Some(batch));
        assert_eq!(got, want, "{name} in batches of {batch}");
    }
}

#[test]
fn stepwise_verify_agrees_on_a_sweep_of_damaged_copies() {
    let Some(dir) = golden() else { return };
    let mut failures = Vec::new();
    let mut checked = 0;
    for file in [
        "small.meguri",
        "features/mp100-zstd.meguri",
        "features/seen-bloom-sched-meta.meguri",
        "features/wheel.meguri",
    ] {
        let Ok(good) = std::fs::read(dir.join(file)) else {
            continue;
        };
        // Offsets spread over the whole file, header to trailer, with a fixed stride.
        let stride = (good.len() / 97).max(1);
        for at in (0..good.len())
            .step_by(stride)
            .chain(good.len().saturating_sub(80)..good.len())
        {
            for recipe in ["xor", "zxor"] {
                let mut b = good.clone();
                if meguri_wasm::parity::damage(&mut b, &format!("{recipe}:{at}")).is_none() {
                    continue;
                }
                let (got, want) = both(&b);
                checked += 1;
                if got != want {
                    failures.push(format!(
                        "{file}!{recipe}:{at}:\n--- stepwise\n{got}--- verify_file\n{want}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 300, "only {checked} damaged copies");
}

#[test]
fn streamed_arena_strings_are_the_whole_arenas() {
    let Some(dir) = golden() else { return };
    for file in [
        "small.meguri",
        "full.meguri",
        "features/mp100-zstd.meguri",
        "features/seen-bloom-sched-meta.meguri",
    ] {
        let Ok(bytes) = std::fs::read(dir.join(file)) else {
            continue;
        };
        let r = Reader::open(&bytes[..]).expect("opens");
        let arena = r.arena().expect("arena");
        let a = Arena(&arena);
        let urls = r.url_table().expect("urls");
        let f = MeguriFile::from_bytes(bytes.clone());
        // Windows from the start, the middle, the end, then back to the start (a new pass).
        let n = urls.len() as u64;
        for from in [0, n / 2, n.saturating_sub(50), 0] {
            let to = (from + 50).min(n);
            let rows: serde_json::Value =
                serde_json::from_str(&f.url_rows(from as f64, to as f64, true).expect("rows"))
                    .expect("json");
            for (i, row) in rows["rows"].as_array().expect("rows").iter().enumerate() {
                let u = &urls[from as usize + i];
                let want = a
                    .get(u.url_ref)
                    .map(|s| String::from_utf8_lossy(s).into_owned());
                assert_eq!(
                    row["url"].as_str().map(str::to_string),
                    want,
                    "{file} row {}",
                    from as usize + i
                );
            }
        }
        let hosts = r.host_table().expect("hosts");
        let h: serde_json::Value =
            serde_json::from_str(&f.host_rows(0.0, 40.0, true).expect("host rows")).expect("json");
        for (i, row) in h["rows"].as_array().expect("rows").iter().enumerate() {
            let want = a
                .get(hosts[i].host_ref)
                .map(|s| String::from_utf8_lossy(s).into_owned());
            assert_eq!(
                row["host"].as_str().map(str::to_string),
                want,
                "{file} host {i}"
            );
        }
    }
}

#[test]
fn region_crc_pass_flags_a_damaged_arena() {
    let Some(dir) = golden() else { return };
    let good = std::fs::read(dir.join("small.meguri")).expect("small.meguri");
    let check = |bytes: Vec<u8>| {
        let f = MeguriFile::from_bytes(bytes);
        let mut c = f.check_region(4).expect("arena region");
        loop {
            let p: serde_json::Value = serde_json::from_str(&c.step(1000.0)).expect("json");
            if p["finished"] == true {
                return p;
            }
        }
    };
    let p = check(good.clone());
    assert_eq!(p["ok"], true, "{p}");
    assert_eq!(p["page"], true);
    // A byte inside the arena's payload: both the region CRC and the page CRC catch it.
    let mut bad = good;
    bad[30000] ^= 0xff;
    let p = check(bad);
    assert_eq!(p["ok"], false);
    let errs = p["errors"].as_array().expect("errors");
    assert_eq!(errs.len(), 2, "{p}");
    assert!(errs[1]["text"]
        .as_str()
        .unwrap_or_default()
        .contains("page payload CRC32C"));
}
