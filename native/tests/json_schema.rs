//! The CLI's `--json` is the core report schema (`meguri_core::report`), the one the browser
//! inspector uses too: for files our own writer makes, each output equals the core report built
//! in-process, once the CLI's envelope (`path`, `bytes_read`, `reads`) is set aside. Runs
//! without the shared reference folder.

use meguri_core::inspect::{columns, Summary};
use meguri_core::manifest::{Entry, Manifest};
use meguri_core::reader::{read_shape, ReadOptions};
use meguri_core::report::{MapView, RouteView, Subject, VerifyView};
use meguri_core::verify::{verify_file, verify_manifest};
use meguri_core::Table;
use meguri_tests::{first_page_crc_at, run_bin, small_partition, text, write_partition, Scratch};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The binary's `--json` output for `args`, and whether it exited 0.
fn json_of(args: &[&str]) -> (Value, bool) {
    let out = run_bin(env!("CARGO_BIN_EXE_meguri"), args);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", text(&out.stderr)));
    (v, out.status.success())
}

/// A report as the JSON a front end prints, read back. Not `serde_json::to_value`: that widens
/// an f32 (bytes per URL) to f64 digits no printed JSON has.
fn value_of(report: &impl serde::Serialize) -> Value {
    serde_json::from_str(&serde_json::to_string(report).unwrap()).unwrap()
}

/// `v` without the envelope members.
fn without(mut v: Value, envelope: &[&str]) -> Value {
    let o = v.as_object_mut().expect("an object");
    for k in envelope {
        assert!(o.remove(*k).is_some(), "the envelope has no {k:?}");
    }
    v
}

fn write(dir: &Scratch, name: &str, p: &meguri_core::partition::Partition) -> PathBuf {
    write_partition(&dir.0, name, p)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A catalog of `files` (named by base name) written beside them.
fn manifest(dir: &Scratch, name: &str, files: &[&Path]) -> (PathBuf, Manifest) {
    let mut m = Manifest::default();
    for f in files {
        let bytes = std::fs::read(f).unwrap();
        let shape = read_shape(&bytes[..], ReadOptions::default().tail_guess).unwrap();
        let base = f.file_name().unwrap().to_string_lossy().into_owned();
        m.entries.push(Entry::of_file(&shape, base.into_bytes(), 0));
    }
    m.sort();
    let path = dir.join(name);
    std::fs::write(&path, m.encode()).unwrap();
    (path, m)
}

#[test]
fn inspect_json_is_the_core_summary() {
    let dir = Scratch::new("schema-inspect");
    let f = write(&dir, "a.meguri", &small_partition(3, 0, 1 << 62, 40));
    let bytes = std::fs::read(&f).unwrap();
    let shape = read_shape(&bytes[..], ReadOptions::default().tail_guess).unwrap();
    let want = value_of(&Summary::from_shape(&shape));

    let (v, ok) = json_of(&["inspect", "--json", s(&f)]);
    assert!(ok);
    assert_eq!(v["path"], s(&f));
    assert_eq!(without(v, &["path", "bytes_read", "reads"]), want);

    let (v, ok) = json_of(&["inspect", "--json", "--columns", s(&f)]);
    assert!(ok);
    let mut v = without(v, &["path", "bytes_read", "reads"]);
    let cols = v.as_object_mut().unwrap().remove("columns").unwrap();
    assert_eq!(cols, value_of(&columns(&shape)));
    assert_eq!(v, want);
}

#[test]
fn verify_json_is_the_core_verify_view_for_files_and_manifests() {
    let dir = Scratch::new("schema-verify");
    let [a, c] = [(0, 0, 999_999), (2, 5_000_000, u64::MAX)].map(|(id, lo, hi)| {
        write(
            &dir,
            &format!("p{id}.meguri"),
            &small_partition(id, lo, hi, 30),
        )
    });
    // A damaged copy: a flipped bit in the page CRC of URL column 10, and one in host column
    // 0's page payload, so there are findings with places, offsets and spans.
    let mut b = std::fs::read(&a).unwrap();
    let (url, host) = (
        first_page_crc_at(&b, Table::Url, 10),
        first_page_crc_at(&b, Table::Host, 0) + 12,
    );
    b[url] ^= 1;
    b[host] ^= 1;
    let bad = dir.join("bad.meguri");
    std::fs::write(&bad, &b).unwrap();
    let (gap, _) = manifest(&dir, "gap.manifest", &[&a, &c]);

    let (v, ok) = json_of(&["verify", "--json", s(&a), s(&bad), s(&gap)]);
    assert!(!ok, "a damaged file and a gap fail verify");
    assert_eq!(v["ok"], false);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    for (got, path) in files.iter().zip([&a, &bad]) {
        assert_eq!(got["path"], s(path));
        let bytes = std::fs::read(path).unwrap();
        let opts = ReadOptions::default();
        let report = verify_file(&bytes[..], &opts);
        let shape = read_shape(&bytes[..], opts.tail_guess).ok();
        let view = VerifyView {
            subject: Subject::File,
            report: &report,
            shape: shape.as_ref(),
            file_len: bytes.len() as u64,
        };
        assert_eq!(
            without(got.clone(), &["path"]),
            value_of(&view),
            "{}",
            path.display()
        );
    }
    assert!(files[1]["findings"].as_array().unwrap().len() >= 2);
    let bytes = std::fs::read(&gap).unwrap();
    let report = verify_manifest(&bytes);
    let view = VerifyView {
        subject: Subject::Manifest,
        report: &report,
        shape: None,
        file_len: bytes.len() as u64,
    };
    assert_eq!(without(files[2].clone(), &["path"]), value_of(&view));
    assert_eq!(files[2]["kind"], "manifest");
}

#[test]
fn map_and_route_json_are_the_core_views() {
    let dir = Scratch::new("schema-map");
    let [a, b, c] = [
        (0, 0, 999_999),
        (1, 1_000_000, 4_999_999),
        (2, 5_000_000, u64::MAX),
    ]
    .map(|(id, lo, hi)| {
        write(
            &dir,
            &format!("p{id}.meguri"),
            &small_partition(id, lo, hi, 10),
        )
    });
    for (name, files) in [
        ("tiles.manifest", vec![&*a, &*b, &*c]),
        ("gap.manifest", vec![&*a, &*c]),
    ] {
        let (path, m) = manifest(&dir, name, &files);
        let t = m.tiling();
        let (v, ok) = json_of(&["map", "--json", "--manifest", s(&path)]);
        assert_eq!(ok, t.is_clean(), "{name}");
        let view = MapView {
            manifest: &m,
            tiling: &t,
        };
        assert_eq!(without(v, &["path"]), value_of(&view), "{name}");
        for key in [0u64, 1_000_000, 2_500_000, u64::MAX] {
            let hex = format!("0x{key:016x}");
            let (v, ok) = json_of(&["map", "--json", "--manifest", s(&path), "--host", &hex]);
            assert_eq!(ok, m.route(key).is_some(), "{name} {hex}");
            let view = RouteView {
                manifest: &m,
                host_key: key,
            };
            assert_eq!(without(v, &["path"]), value_of(&view), "{name} {hex}");
        }
    }
}
