//! The `meguri` binary as a user runs it: outputs, exit codes, one-line errors, never a panic.
//! Byte-for-byte parity with the reference's outputs needs `../shared`; the rest runs on files
//! our writer generates.

use meguri_tests::fixtures::{feature_file, parts_with_manifest};
use meguri_tests::{golden_dir, run_bin, text, Scratch};
use std::path::Path;
use std::process::Output;

fn meguri(args: &[&str]) -> Output {
    run_bin(env!("CARGO_BIN_EXE_meguri"), args)
}

fn corrupted_copy(src: &Path, at: usize, name: &str) -> std::path::PathBuf {
    let mut b = std::fs::read(src).unwrap();
    b[at] ^= 0x5a;
    let p = std::env::temp_dir().join(format!("meguri-cli-{}-{name}", std::process::id()));
    std::fs::write(&p, b).unwrap();
    p
}

#[test]
fn inspect_prints_the_reference_text() {
    let Some(g) = golden_dir() else { return };
    let f = g.join("full.meguri");
    let out = meguri(&["inspect", f.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string(g.join("full.meguri.inspect.txt")).unwrap()
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn inspect_json_reports_facts_and_bytes_read() {
    let Some(g) = golden_dir() else { return };
    let f = g.join("full.meguri");
    let out = meguri(&["inspect", "--json", f.to_str().unwrap()]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["urls"], 563844);
    assert_eq!(v["hosts"], 186356);
    assert_eq!(v["hostkey_range"]["lo"], "0x00000146b032316e");
    assert_eq!(v["reads"], 2);
    assert!(v["bytes_read"].as_u64().unwrap() <= 64 + 65536);
    assert_eq!(v["regions"].as_array().unwrap().len(), 3);
}

#[test]
fn errors_are_one_line_with_the_file_and_never_a_panic() {
    let s = Scratch::new("cli-errors");
    let small = feature_file("wheel-bloom-ext-zstd").write_to(&s.0);
    let bad = corrupted_copy(&small, 10, "hdr.meguri");
    let out = meguri(&["inspect", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: inspect ") && err.contains("header") && err.contains("CRC32C"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
    let out = meguri(&["inspect", "/nonexistent/x.meguri"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/nonexistent/x.meguri"));
    let m = parts_with_manifest(&s.0);
    let out = meguri(&["inspect", m.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("manifest"));
    std::fs::remove_file(bad).ok();
}

#[test]
fn verify_exit_codes() {
    let s = Scratch::new("cli-exit");
    let clean = [
        feature_file("ribbon-mp100-zstd").write_to(&s.0),
        feature_file("wheel-bloom-ext-zstd").write_to(&s.0),
        parts_with_manifest(&s.0),
    ];
    let args: Vec<&str> = std::iter::once("verify")
        .chain(clean.iter().map(|p| p.to_str().unwrap()))
        .collect();
    let out = meguri(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(text(&out.stdout).matches(": ok").count(), 3);
    // Usage errors exit 2.
    assert_eq!(meguri(&["verify"]).status.code(), Some(2));
    assert_eq!(
        meguri(&["verify", "--no-such-flag", "x"]).status.code(),
        Some(2)
    );
    assert_eq!(meguri(&["frobnicate"]).status.code(), Some(2));
}

#[test]
fn verify_reports_every_problem_with_its_offset() {
    let s = Scratch::new("cli-two");
    let src = feature_file("ribbon-mp100-zstd").write_to(&s.0);
    // Two independent corruptions: one in a URL column page payload, one in the host table.
    let bytes = std::fs::read(&src).unwrap();
    let r = meguri_core::reader::Reader::open(&bytes[..]).unwrap();
    let url = r
        .column_dir(meguri_core::Table::Url, 6)
        .unwrap()
        .first_page_offset as usize
        + 40;
    let host = r
        .column_dir(meguri_core::Table::Host, 9)
        .unwrap()
        .first_page_offset as usize
        + 33;
    let mut b = bytes.clone();
    b[url] ^= 0x01;
    b[host] ^= 0x01;
    let p = s.join("two.meguri");
    std::fs::write(&p, &b).unwrap();
    let out = meguri(&["verify", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out.stdout);
    assert!(t.contains("FAILED"), "{t}");
    assert!(
        t.contains("url column 6") && t.contains("host column 9"),
        "{t}"
    );
    let out = meguri(&["verify", "--json", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = v["files"][0]["findings"].as_array().unwrap();
    let offsets: Vec<u64> = findings
        .iter()
        .filter_map(|f| f["offset"].as_u64())
        .collect();
    // The page CRC finding points at the page header's CRC field.
    assert!(findings.iter().any(|f| f["place"]["kind"] == "column"
        && f["place"]["table"] == "url"
        && f["place"]["column"] == 6));
    assert!(findings.iter().any(|f| f["place"]["kind"] == "column"
        && f["place"]["table"] == "host"
        && f["place"]["column"] == 9));
    assert!(
        offsets.contains(
            &(r.column_dir(meguri_core::Table::Url, 6)
                .unwrap()
                .first_page_offset
                + 28)
        ),
        "{offsets:?}"
    );
}

#[test]
fn verify_manifest_names_gaps_and_overlaps() {
    let Some(g) = golden_dir() else { return };
    let out = meguri(&["verify", g.join("parts/gap.manifest").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("[0x22e976746abcd163, 0x67ac805e0356d3b6] have no owner"));
    let out = meguri(&["verify", g.join("parts/overlap.manifest").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout)
        .contains("[0x4f751b0617b83946, 0x67ac805e0356d3b6] are owned by both partition 1"));
}

#[test]
fn verify_manifest_checks_entries_against_their_files() {
    let s = Scratch::new("cli-fleet");
    let parts = s.join("parts");
    std::fs::create_dir_all(&parts).unwrap();
    parts_with_manifest(&parts);
    let dir = s.join("fleet");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(parts.join("meguri.manifest"), dir.join("meguri.manifest")).unwrap();
    let link = |name: &str, target: &str| {
        let p = dir.join(name);
        std::fs::remove_file(&p).ok();
        std::os::unix::fs::symlink(parts.join(target), p).unwrap();
    };
    link("part-1.meguri", "part-1.meguri");
    link("part-2.meguri", "part-2.meguri");
    link("part-3.meguri", "part-3.meguri");
    let m = dir.join("meguri.manifest");
    let out = meguri(&["verify", m.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // A stale catalog: the file behind part-2's name is now another partition.
    link("part-2.meguri", "part-3.meguri");
    let out = meguri(&["verify", m.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out.stdout);
    assert!(
        t.contains("partition id is 2 in the manifest but 3 in part-2.meguri"),
        "{t}"
    );
    assert!(t.contains("footer CRC"), "{t}");
}
