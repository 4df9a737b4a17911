//! Shared helpers for the benchmarks.

use std::path::PathBuf;

/// A golden file by its path under `shared/reference/golden`, or `None` (said loudly) when the
/// shared folder is absent.
pub fn golden(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/reference/golden")
        .join(name);
    if p.is_file() {
        Some(p)
    } else {
        eprintln!(
            "SKIPPED: {} is absent; the decode benchmarks need the shared reference folder",
            p.display()
        );
        None
    }
}
