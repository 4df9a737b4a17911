//! Directory parity: what the inspector says about a partition directory (its
//! [`meguri_wasm::PartitionDir`], the core's recovery decision and live counters) and what the
//! native store says when it opens the same files read-only, as `meguri stats --data` does,
//! are held to one table of digests, `parity/dirs.txt`. The Node and Chromium runs check the
//! inspector's side against the same table.
//!
//! Entries are golden directories (`serve-small/`) or copies with one file damaged
//! (`storelog-small/!log-2!cut:116600`: the recipe of [`meguri_wasm::parity::damage`]).
//! `MEGURI_BLESS=1 cargo test -p meguri-wasm --test dir_parity` rewrites the table from the
//! native store.
#![cfg(not(target_arch = "wasm32"))]

use meguri::store::{Options, RecoveryEvent, Store, StoreError};
use meguri_wasm::parity::{
    compare, dir_facts, dir_input, parse_expected, render_dir, DirFacts, RowHash, DIR_STATS_HOUR,
};
use std::path::{Path, PathBuf};

const EXPECTED: &str = include_str!("parity/dirs.txt");

/// The entries: both golden directories; the last frame torn 48 and 8 bytes before its end, a
/// damaged frame in the middle of the log, a preallocated zero tail; the superblock's only
/// slot damaged (no valid slot: the directory does not open), and its blank slot scribbled on
/// (the valid slot stands); an empty log followed by zeros; and a later log left by a
/// checkpoint that did not commit: continuing the named log, starting with copies of frames
/// already applied, and starting past a lost frame (the chain breaks).
pub const ENTRIES: &[&str] = &[
    "serve-small/",
    "storelog-small/",
    "storelog-small/!log-2!cut:116600",
    "storelog-small/!log-2!xor:50000",
    "storelog-small/!log-2!zeros:70000",
    "storelog-small/!log-2!cut:116640",
    "serve-small/!super!xor:300",
    "serve-small/!super!xor:10",
    "serve-small/!log-2!zeros:33",
    "storelog-small/!log-2!split:60000",
    "storelog-small/!log-2!splitdup:60000",
    "storelog-small/!log-2!splitgap:60000",
];

fn golden() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/golden");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} is absent; directory parity needs the shared reference folder",
            dir.display()
        );
        None
    }
}

/// `read` for [`dir_input`]: a path ending in `/` lists the folder.
fn reader(golden: &Path) -> impl Fn(&str) -> Option<Vec<u8>> + '_ {
    move |p: &str| {
        let path = golden.join(p);
        if p.ends_with('/') {
            let mut names: Vec<String> = std::fs::read_dir(&path)
                .ok()?
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            Some(names.join("\n").into_bytes())
        } else {
            std::fs::read(path).ok()
        }
    }
}

/// The native store's facts: the files written to a scratch directory and opened read-only.
fn native_facts(files: &[(String, Vec<u8>)], scratch: &Path) -> DirFacts {
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).expect("scratch dir");
    for (n, b) in files {
        std::fs::write(scratch.join(n), b).expect("write");
    }
    let store = match Store::open(
        scratch,
        Options {
            read_only: true,
            ..Options::default()
        },
    ) {
        Ok(s) => s,
        Err(StoreError::Superblock { error, .. }) => {
            return DirFacts {
                error: Some(error.to_string()),
                ..DirFacts::default()
            }
        }
        Err(e) => panic!("the native store refused a directory the table expects to open: {e}"),
    };
    let rec = store.recovery();
    let mut f = DirFacts {
        generation: rec.gen,
        frames: rec.frames,
        ..DirFacts::default()
    };
    for ev in &rec.events {
        match ev {
            RecoveryEvent::DamagedSlot { slot, .. } => f.damaged.push(slot.to_string()),
            RecoveryEvent::TailIgnored {
                log, offset, bytes, ..
            } => f
                .tails
                .push(format!("{log} truncate at {offset} keep {bytes}")),
            RecoveryEvent::ZeroTail {
                log, offset, bytes, ..
            } => f
                .tails
                .push(format!("{log} zeros at {offset} bytes {bytes}")),
            _ => {}
        }
    }
    let (mut u, mut h) = (RowHash::default(), RowHash::default());
    let mut s = meguri::ops::live::LiveStats::new(store.host_count());
    store
        .scan_urls(.., |r| {
            u.url(r);
            s.add(&meguri::ops::live::live(r), DIR_STATS_HOUR);
            true
        })
        .expect("scan urls");
    store
        .scan_hosts(|r| {
            h.host(r);
            true
        })
        .expect("scan hosts");
    f.urls = u.finish();
    f.hosts = h.finish();
    f.stats = s.render("dir");
    f
}

#[test]
fn the_inspector_and_the_native_store_agree_on_every_directory() {
    let Some(golden) = golden() else { return };
    let read = reader(&golden);
    let scratch = std::env::temp_dir().join(format!("meguri-dir-parity-{}", std::process::id()));
    let mut table = String::from(
        "# Directory parity digests (wasm/src/parity.rs render_dir), written from the native store\n\
         # with MEGURI_BLESS=1 cargo test -p meguri-wasm --test dir_parity; the inspector's\n\
         # PartitionDir is checked against them natively, under Node and in Chromium.\n",
    );
    let mut failures = Vec::new();
    let expected = parse_expected(EXPECTED);
    for name in ENTRIES {
        let files = dir_input(name, &read).expect("golden directory");
        let native = render_dir(&native_facts(&files, &scratch));
        let inspector = render_dir(&dir_facts(files));
        if let Err(m) = compare(
            &format!("{name} (inspector vs native store)"),
            &native,
            &inspector,
        ) {
            failures.push(m);
        }
        table.push_str(&format!("== {name}\n{native}"));
        match expected.iter().find(|e| e.name == *name) {
            Some(e) => {
                if let Err(m) = compare(name, &e.digest, &native) {
                    failures.push(m);
                }
            }
            None if std::env::var_os("MEGURI_BLESS").is_some() => {}
            None => failures.push(format!("{name} is not in parity/dirs.txt")),
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if std::env::var_os("MEGURI_BLESS").is_some() {
        let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/dirs.txt");
        std::fs::write(&out, table).expect("write the table");
        eprintln!("wrote {}", out.display());
        return;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
