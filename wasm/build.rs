//! Lists the small golden files (and the damaged files beside them) for the browser test, which
//! cannot read the file system: it embeds them with `include_bytes!`. When the shared reference folder is absent the list is
//! empty and the test says it skipped.

use std::fmt::Write;
use std::path::{Path, PathBuf};

/// Files up to this size are embedded (all the small and feature files and the manifests).
const EMBED_LIMIT: u64 = 300 << 10;

/// The superblock and logs of a golden partition directory (its snapshot is a `.meguri`).
fn is_directory_file(p: &Path) -> bool {
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
    name.is_some_and(|n| n == "super" || n.starts_with("log-"))
}

fn main() {
    // Read when cargo runs the script (see native/build.rs: a clone sharing the target
    // directory reuses the compiled script).
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(PathBuf::new, PathBuf::from);
    let dir = manifest.join("../../shared/reference/golden");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = p.to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if (name.ends_with(".meguri")
                || name.ends_with(".manifest")
                || is_directory_file(&p))
                && e.metadata().is_ok_and(|m| m.len() <= EMBED_LIMIT)
            {
                let rel = p
                    .strip_prefix(&dir)
                    .map(|r| r.to_string_lossy().replace('\\', "/"));
                if let (Ok(rel), Ok(abs)) = (rel, p.canonicalize()) {
                    files.push((rel, abs));
                }
            }
        }
    }
    // The damaged files beside the golden folder, named as the parity table names them.
    let damaged = dir.join("../damaged");
    println!("cargo:rerun-if-changed={}", damaged.display());
    if let Ok(rd) = std::fs::read_dir(&damaged) {
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".meguri") {
                if let Ok(abs) = p.canonicalize() {
                    files.push((format!("../damaged/{name}"), abs));
                }
            }
        }
    }
    files.sort();
    let mut src = String::from(
        "/// Small golden inputs, embedded by build.rs.\npub const SUBSET: &[(&str, &[u8])] = &[\n",
    );
    for (rel, abs) in &files {
        let _ = writeln!(
            src,
            "    ({rel:?}, include_bytes!({:?})),",
            abs.to_string_lossy()
        );
    }
    src.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("golden_subset.rs"), src).expect("write golden_subset.rs");
}
