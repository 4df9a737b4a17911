//! Helpers shared by the cross-crate tests: where the shared reference material is, and small
//! parsers for the reference's text outputs.
//!
//! Tests that need `../shared` call [`golden_dir`], which prints why and returns `None` when the
//! folder is absent, so the suite still runs (and says what it skipped) elsewhere.

use std::path::{Path, PathBuf};

/// The reference's golden folder, or `None` (with a loud note on stderr) when it is absent.
pub fn golden_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/golden");
    if dir.is_dir() {
        Some(dir.canonicalize().expect("canonical golden dir"))
    } else {
        eprintln!(
            "SKIPPED: {} is absent; golden-file tests need the shared reference folder beside the repository",
            dir.display()
        );
        None
    }
}

/// Every file under `dir` whose name ends with `suffix`, sorted.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The value after `label` on the line that starts (after indentation) with it.
pub fn field<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim_start)
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
}

/// Parses `0x…` hex.
pub fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).expect("hex")
}

/// The file a reference output describes: `full.meguri.stats.txt` → `full.meguri` (with
/// `suffix` = `.stats.txt`).
pub fn subject_of(output: &Path, suffix: &str) -> PathBuf {
    let name = output.file_name().expect("file name").to_string_lossy();
    output.with_file_name(name.trim_end_matches(suffix))
}
