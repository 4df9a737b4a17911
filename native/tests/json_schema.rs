//! The CLI's `--json` is the core report schema (`meguri_core::report`), the one the browser
//! inspector uses too: for files our own writer makes, each output equals the core report built
//! in-process, once the CLI's envelope (`path`, `bytes_read`, `reads`) is set aside. Runs
//! without the shared reference folder.

use meguri_core::format::codec::CZstd;
use meguri_core::inspect::{columns, Summary};
use meguri_core::keys::UrlKey;
use meguri_core::manifest::{Entry, Manifest};
use meguri_core::partition::Partition;
use meguri_core::reader::{read_shape, ReadOptions};
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::report::{MapView, RouteView, Subject, VerifyView};
use meguri_core::verify::{verify_file, verify_manifest};
use meguri_core::write::{encode, WriteOptions};
use meguri_tests::{run_bin, text, Scratch};
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

/// A partition over `lo..=hi` with `hosts` hosts of a few URLs each, some due, every URL with
/// its string, and a metadata pair.
fn partition(id: u32, lo: u64, hi: u64, hosts: u64) -> Partition {
    let mut p = Partition {
        id,
        hostkey_lo: lo,
        hostkey_hi: hi,
        created_hours: 480_000,
        arena: vec![0],
        meta: vec![(b"origin".to_vec(), b"json_schema test".to_vec())],
        schedule: true,
        ..Partition::default()
    };
    let step = (hi - lo) / (hosts + 1);
    for h in 0..hosts {
        let host = lo + step * (h + 1);
        let n = 1 + h % 5;
        p.hosts.push(HostRecord {
            host_key: host,
            url_count: n as u32,
            ..HostRecord::default()
        });
        for path in 0..n {
            let url = format!("https://host{h}.example/page/{path}");
            let url_ref = p.arena.len() as u64;
            meguri_core::bytes::put_uvarint(&mut p.arena, url.len() as u64);
            p.arena.extend_from_slice(url.as_bytes());
            p.urls.push(UrlRecord {
                key: UrlKey { host, path },
                status: (h % 3) as u8,
                next_due: if path % 2 == 0 { 0 } else { 480_000 + h as u32 },
                url_ref,
                ..UrlRecord::default()
            });
        }
    }
    p
}

fn write(dir: &Scratch, name: &str, p: &Partition) -> PathBuf {
    let opts = WriteOptions {
        page_rows: 64,
        ..WriteOptions::default()
    };
    let path = dir.join(name);
    std::fs::write(&path, encode(p, &opts, &CZstd::new(3)).unwrap()).unwrap();
    path
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
    let f = write(&dir, "a.meguri", &partition(3, 0, 1 << 62, 40));
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
    let a = write(&dir, "a.meguri", &partition(0, 0, 999_999, 30));
    let c = write(&dir, "c.meguri", &partition(2, 5_000_000, u64::MAX, 30));
    // A damaged copy: a flipped bit in the page CRC of URL column 10, and one in its host
    // table, so there are findings with places, offsets and spans.
    let mut b = std::fs::read(&a).unwrap();
    let r = meguri_core::reader::Reader::open(&b[..]).unwrap();
    let url = r
        .column_dir(meguri_core::Table::Url, 10)
        .unwrap()
        .first_page_offset
        + 28;
    let host = r
        .column_dir(meguri_core::Table::Host, 0)
        .unwrap()
        .first_page_offset
        + 40;
    b[url as usize] ^= 1;
    b[host as usize] ^= 1;
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
    let a = write(&dir, "a.meguri", &partition(0, 0, 999_999, 10));
    let b = write(&dir, "b.meguri", &partition(1, 1_000_000, 4_999_999, 10));
    let c = write(&dir, "c.meguri", &partition(2, 5_000_000, u64::MAX, 10));
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
