//! Native side of decoder parity: the native decoder (C zstd, as the `meguri` command reads)
//! must give exactly the digests in `parity/expected.txt`, which the wasm side (Node and
//! Chromium, see `node.rs` and `browser.rs`) is held to as well.
//!
//! `MEGURI_BLESS=1 cargo test -p meguri-wasm --test native_parity` rewrites the table from the
//! native decoder after an intended change; the wasm tests then say whether wasm agrees.
#![cfg(not(target_arch = "wasm32"))]

use meguri_core::format::codec::ZstdBackend;
use meguri_core::reader::ReadOptions;
use meguri_wasm::parity::{compare, digest, input_of, parse_expected};
use std::path::{Path, PathBuf};

const EXPECTED: &str = include_str!("parity/expected.txt");

/// Damaged inputs: a header byte, a data byte inside a column page, a footer byte, the footer
/// CRC in the trailer, a truncation, and a manifest byte. Then damage only zstd can see (every
/// CRC recomputed, `zxor`): inside a column page's frame, in its checksum, in an arena's frame
/// and its checksum, in a multi-page column and arena, in the wheel and the seen-set pages; and
/// the damaged files beside the golden folder. Offsets are inside the files named.
const DAMAGED: &[&str] = &[
    "small.meguri!xor:10",
    "small.meguri!xor:3200",
    "small.meguri!xor:39000",
    "small.meguri!xor:39372",
    "small.meguri!cut:30000",
    "features/mp100-zstd.meguri!xor:5000",
    "features/seen-bloom-sched-meta.meguri!xor:30000",
    "parts/meguri.manifest!xor:30",
    "small.meguri!zxor:3200",
    "small.meguri!zxor:7107",
    "small.meguri!zxor:30000",
    "small.meguri!zxor:36294",
    "features/mp100-zstd.meguri!zxor:5000",
    "features/mp100-zstd.meguri!zxor:70000",
    "features/seen-bloom-sched-meta.meguri!zxor:42400",
    "features/seen-bloom-sched-meta.meguri!zxor:43000",
    "../damaged/arena-page-kind.meguri",
    "../damaged/arena-zstd-checksum.meguri",
    "../damaged/bad-encoding-id.meguri",
    "../damaged/zstd-checksum.meguri",
    "../damaged/zstd-content-size.meguri",
];

fn golden() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/golden");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} is absent; decoder parity needs the shared reference folder",
            dir.display()
        );
        None
    }
}

/// Every `.meguri` and `.manifest` under the golden folder, as relative paths, sorted.
fn golden_inputs(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read golden dir").flatten() {
            let p = e.path();
            let name = p.to_string_lossy();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".meguri") || name.ends_with(".manifest") {
                let rel = p.strip_prefix(dir).expect("under golden");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

fn native() -> ReadOptions {
    ReadOptions {
        zstd: ZstdBackend::C,
        ..Default::default()
    }
}

/// Digests of `names`, computed on both cores.
fn digests(dir: &Path, names: &[String]) -> Vec<Result<String, String>> {
    let read = |p: &str| std::fs::read(dir.join(p)).ok();
    let half = names.len().div_ceil(2);
    std::thread::scope(|s| {
        let parts: Vec<_> = names
            .chunks(half.max(1))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|n| input_of(n, read).map(|b| digest(&b, native())))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("digest thread"))
            .collect()
    })
}

#[test]
fn native_decoder_matches_the_expected_digests() {
    let Some(dir) = golden() else { return };
    if std::env::var_os("MEGURI_BLESS").is_some() {
        let mut names = golden_inputs(&dir);
        names.extend(DAMAGED.iter().map(|s| s.to_string()));
        let mut text = String::from(
            "# Decoder parity digests (wasm/src/parity.rs), written by the native decoder with\n\
             # MEGURI_BLESS=1 cargo test -p meguri-wasm --test native_parity; checked natively,\n\
             # under Node and in Chromium. Names are golden paths (`../damaged/` is beside the golden\n\
             # folder); `!xor:N`, `!zxor:N` (CRCs recomputed) and `!cut:N` damage them.\n",
        );
        for (n, d) in names.iter().zip(digests(&dir, &names)) {
            text.push_str(&format!("== {n}\n{}", d.expect("golden input")));
        }
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/expected.txt");
        std::fs::write(&out, text).expect("write expected table");
        eprintln!("wrote {} ({} inputs)", out.display(), names.len());
        return;
    }
    let expected = parse_expected(EXPECTED);
    assert!(!expected.is_empty(), "the expected table is empty");
    // Every golden input is in the table, so a new golden file cannot go unchecked.
    let listed: Vec<&str> = expected.iter().map(|e| e.name.as_str()).collect();
    for g in golden_inputs(&dir) {
        assert!(
            listed.contains(&g.as_str()),
            "{g} is not in parity/expected.txt"
        );
    }
    let names: Vec<String> = expected.iter().map(|e| e.name.clone()).collect();
    let mut failures = Vec::new();
    for (e, got) in expected.iter().zip(digests(&dir, &names)) {
        match got {
            Ok(d) => {
                if let Err(msg) = compare(&e.name, &e.digest, &d) {
                    failures.push(msg);
                }
            }
            Err(msg) => failures.push(format!("{}: {msg}", e.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The damaged inputs really are damaged: each reports at least one error.
    for e in expected
        .iter()
        .filter(|e| e.name.contains('!') || e.name.starts_with("../damaged/"))
    {
        assert!(
            !e.digest.contains("verify 0 "),
            "{}: damage went unnoticed",
            e.name
        );
    }
}
