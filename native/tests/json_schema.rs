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

/// `v` without `keys` (the members that name this run's paths or time it).
fn strip(mut v: Value, keys: &[&str]) -> Value {
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

/// The operations that moved off `cmd/`, and the engine's: each `--json` is its report
/// serialized, as the same operation run in-process returns it (paths and timings aside).
#[test]
fn every_operations_json_is_its_report() {
    use meguri::ops::{self, Silent};
    let dir = Scratch::new("schema-ops");
    let f = write(&dir, "a.meguri", &small_partition(3, 0, u64::MAX, 12));
    let (d1, d2) = (dir.join("d1"), dir.join("d2"));

    let (v, ok) = json_of(&["load", "--json", "--data", s(&d1), s(&f)]);
    assert!(ok);
    let load = ops::LoadOptions {
        dir: d2.clone(),
        files: vec![f.clone()],
        durability: meguri::store::Durability::Normal,
        resident_budget: 0,
        checkpoint: false,
    };
    let r = ops::load(&load, &mut Silent).unwrap();
    assert_eq!(
        strip(v, &["data", "seconds"]),
        strip(value_of(&r), &["data", "seconds"])
    );

    let p1 = dir.join("p1.meguri");
    let (v, ok) = json_of(&["pack", "--json", "--data", s(&d1), "-o", s(&p1)]);
    assert!(ok);
    let p2 = dir.join("p2.meguri");
    let pack = ops::PackOptions {
        dir: d2.clone(),
        out: Some(p2.clone()),
    };
    let r = ops::pack(&pack, &mut Silent).unwrap();
    assert_eq!(
        strip(v, &["data", "out"]),
        strip(value_of(&r), &["data", "out"])
    );
    assert_eq!(
        std::fs::read(&p1).unwrap(),
        std::fs::read(&p2).unwrap(),
        "same rows, same bytes"
    );

    let (v, ok) = json_of(&["stats", "--json", "--data", s(&d1)]);
    assert!(ok);
    let now = v["now_hour"].as_u64().unwrap() as u32;
    let r = ops::live_stats(
        &ops::LiveStatsOptions {
            dir: d2.clone(),
            now,
        },
        &mut Silent,
    )
    .unwrap();
    assert_eq!(strip(v, &["data"]), strip(value_of(&r), &["data"]));

    let args = [
        "schedule",
        "--json",
        "--data",
        s(&d1),
        "--before",
        "4294967295",
        "--limit",
        "5",
    ];
    let (v, ok) = json_of(&args);
    assert!(ok);
    let sched = ops::LiveScheduleOptions {
        dir: d2.clone(),
        before: u32::MAX,
        host: None,
        limit: Some(5),
    };
    let r = ops::live_schedule(&sched, &mut Silent).unwrap();
    assert_eq!(v["listed"].as_array().unwrap().len(), 5);
    assert_eq!(strip(v, &["data"]), strip(value_of(&r), &["data"]));

    // split: the outputs' paths and phase timings aside.
    let outputs = |v: &Value| -> Vec<Value> {
        v["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| strip(o.clone(), &["path", "phase_seconds"]))
            .collect()
    };
    let (s1, s2) = (dir.join("s1"), dir.join("s2"));
    let (v, ok) = json_of(&["split", "--json", s(&f), "--into", "3", "--out-dir", s(&s1)]);
    assert!(ok);
    let split = ops::SplitOptions {
        file: f.clone(),
        cuts: ops::Cuts::Into(3),
        out_dir: s2,
        first_id: None,
        manifest: None,
        epoch: 0,
        encoding: meguri::encode::EncodeSettings::default(),
    };
    let r = value_of(&ops::split(&split, &mut Silent).unwrap());
    assert_eq!(outputs(&v), outputs(&r));
    assert_eq!(v["cuts"], r["cuts"]);
    assert_eq!(
        strip(v, &["outputs", "seconds"]),
        strip(r, &["outputs", "seconds"])
    );

    // run: timings aside.
    let o1 = dir.join("r1.meguri");
    let (v, ok) = json_of(&[
        "run",
        "--json",
        "-i",
        s(&f),
        "--now",
        "500000",
        "-o",
        s(&o1),
    ]);
    assert!(ok);
    let run = ops::RunOptions {
        out: Some(dir.join("r2.meguri")),
        drain: ops::DrainSettings {
            start: 500_000 * 3_600_000,
            wall: false,
            state_machine: false,
            workers: 0,
            priority: 0.5,
            crawl_delay: 10,
        },
        encoding: meguri::encode::EncodeSettings::default(),
    };
    let r = value_of(&ops::run(ops::RunInput::File(f.clone()), &run, &mut Silent).unwrap());
    let timing = ["seconds", "selections_per_sec", "out"];
    assert_eq!(v["out"]["bytes"], r["out"]["bytes"]);
    assert_eq!(strip(v, &timing), strip(r, &timing));
}
