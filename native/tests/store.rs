//! The partition directory: the reference's directories open with the same content, ours
//! keep the reference's layout, the resident budget holds, one writer per directory, and
//! read-only commands change nothing. A directory our store writes (`fixtures::store_dir`: a
//! snapshot and a log of every frame kind) is checked on every checkout; the reference's
//! directories need `../shared`.

use meguri::store::{BadRef, Durability, Options, Refusal, Store, StoreError};
use meguri_core::keys::UrlKey;
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::store::superblock::{self, Superblock};
use meguri_tests::fixtures::{compressor, store_dir};
use meguri_tests::{golden_dir, run_bin, text, values_at, values_of, Scratch};
use std::path::Path;

const BIN: &str = env!("CARGO_BIN_EXE_meguri");

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".txt") {
            continue;
        }
        std::fs::copy(e.path(), to.join(&name)).unwrap();
        let mut perm = std::fs::metadata(to.join(&name)).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        std::fs::set_permissions(to.join(&name), perm).unwrap();
    }
}

/// Runs `meguri pack --data dir --out out` and requires success.
fn pack(dir: &Path, out: &Path) -> std::process::Output {
    let o = run_bin(
        BIN,
        &[
            "pack",
            "--data",
            dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    o
}

fn url(i: u64) -> UrlRecord {
    UrlRecord {
        key: UrlKey {
            host: i % 7 + 1,
            path: i,
        },
        status: (i % 9) as u8,
        priority: 0.5,
        next_due: 1000 + (i % 50) as u32,
        crawl_count: i as u32,
        ..UrlRecord::default()
    }
}

fn opts(d: Durability, budget: usize) -> Options {
    Options {
        durability: d,
        resident_budget: budget,
        ..Options::default()
    }
}

/// Files in a directory with their sizes and modification times.
fn listing(dir: &Path) -> Vec<(String, u64, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                m.len(),
                m.modified().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn reference_directories_pack_to_the_reference_rows() {
    let Some(g) = golden_dir() else { return };
    for name in ["storelog-small", "serve-small"] {
        let dir = g.join(name);
        let before = listing(&dir);
        let s = Scratch::new("pack-golden");
        let out = s.join("p.meguri");
        let o = pack(&dir, &out);
        assert!(
            text(&o.stdout).starts_with("packed "),
            "{}",
            text(&o.stdout)
        );
        meguri_tests::assert_verifies(&out);
        let ours = values_at(&out);
        let theirs = values_at(&g.join(format!("{name}.pack.meguri")));
        assert_eq!(ours.0.len(), theirs.0.len(), "{name}: URL rows");
        assert_eq!(ours.1.len(), theirs.1.len(), "{name}: host rows");
        for (a, b) in ours.0.iter().zip(&theirs.0) {
            assert_eq!(a, b, "{name}: URL row");
        }
        assert_eq!(ours.1, theirs.1, "{name}: host rows");
        // The packed file has a schedule region, as the reference's does.
        let r = meguri_core::reader::Reader::open(&std::fs::read(&out).unwrap()[..])
            .unwrap()
            .header()
            .flags;
        assert_ne!(r & 0x2, 0, "{name}: no schedule region");
        for cmd in [
            &["stats", "--data"][..],
            &["schedule", "--before", "4294967295", "--data"],
        ] {
            let mut args = cmd.to_vec();
            args.push(dir.to_str().unwrap());
            let o = run_bin(BIN, &args);
            assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
            assert!(text(&o.stdout).contains("(live)"), "{}", text(&o.stdout));
        }
        assert_eq!(
            listing(&dir),
            before,
            "{name}: a read-only command changed the directory"
        );
    }
}

#[test]
fn live_stats_and_schedule_match_the_packed_file() {
    let Some(g) = golden_dir() else { return };
    let dir = g.join("storelog-small");
    let o = run_bin(BIN, &["stats", "--data", dir.to_str().unwrap(), "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["urls"], 975);
    assert_eq!(v["hosts"], 867);
    // The 24 deletes and 48 re-puts of the log are applied: 48 rows are crawled.
    assert_eq!(v["by_status"]["crawled"], 48);
    let o = run_bin(
        BIN,
        &[
            "schedule",
            "--data",
            dir.to_str().unwrap(),
            "--before",
            "491041",
            "--limit",
            "0",
        ],
    );
    let t = text(&o.stdout);
    let packed = values_at(&g.join("storelog-small.pack.meguri"));
    let due = packed
        .0
        .iter()
        .filter(|u| ![3, 6, 7, 8].contains(&u.rec.status) && u.rec.next_due <= 491041)
        .count();
    assert!(
        t.starts_with(&format!(
            "schedule {} (live) due at or before hour 491041: {due} shown\n",
            dir.display()
        )),
        "{t}"
    );
    let hours: Vec<u32> = t
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(
        hours.windows(2).all(|w| w[0] <= w[1]),
        "not in next_due order"
    );
    assert!(t.lines().skip(1).all(|l| l.contains("://")), "{t}");
}

/// The live rows `p` holds, as values (strings resolved), through our writer.
fn values_of_partition(
    p: &meguri_core::partition::Partition,
) -> (Vec<meguri_tests::UrlValue>, Vec<meguri_tests::HostValue>) {
    let bytes = meguri_core::write::encode(
        p,
        &meguri_core::write::WriteOptions::default(),
        &*compressor(false),
    )
    .unwrap();
    values_of(&bytes)
}

#[test]
fn a_generated_directory_replays_every_frame_kind_packs_and_continues() {
    let s = Scratch::new("store-gen");
    let fx = store_dir(&s.join("d"));
    let dir = &fx.dir;
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["log-2", "snap-1.meguri", "super"]);
    assert!(fx.frames.iter().all(|&n| n > 0), "{:?}", fx.frames);
    // The same calls write the same bytes.
    let again = store_dir(&s.join("again"));
    for n in &names {
        assert_eq!(
            std::fs::read(dir.join(n)).unwrap(),
            std::fs::read(again.dir.join(n)).unwrap(),
            "{n} differs between two runs"
        );
    }
    let want = values_of_partition(&fx.live);
    // Replay: the snapshot's rows, then every logged put, delete, host put and extension.
    let before = listing(dir);
    let ro = Store::open(
        dir,
        Options {
            read_only: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(ro.recovery().snapshot_urls, fx.snapshot_urls as u64);
    assert!(
        ro.recovery().frames >= (fx.frames[0] + fx.frames[1] + fx.frames[2]) as u64,
        "{:?} vs {:?}",
        ro.recovery(),
        fx.frames
    );
    assert_eq!(ro.url_count(), fx.live.urls.len());
    meguri_tests::assert_same_values(&values_of(&ro_bytes(&ro)), &want, "replayed");
    drop(ro);
    // The commands read it as the store does, and change nothing.
    let out = s.join("p.meguri");
    pack(dir, &out);
    meguri_tests::assert_verifies(&out);
    // Pack hands URLs in flight (status 3) back to the schedule (1), as the reference's
    // recovery does; nothing else changes.
    let mut packed_want = fx.live.clone();
    for u in packed_want.urls.iter_mut().filter(|u| u.status == 3) {
        u.status = 1;
    }
    assert!(fx.live.urls.iter().any(|u| u.status == 3));
    meguri_tests::assert_same_values(
        &values_at(&out),
        &values_of_partition(&packed_want),
        "packed",
    );
    let o = run_bin(BIN, &["stats", "--data", dir.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["urls"], fx.live.urls.len());
    assert_eq!(v["hosts"], fx.live.hosts.len());
    assert_eq!(
        listing(dir),
        before,
        "a read-only command changed the directory"
    );
    // Writable: it continues where the log ends, and a checkpoint keeps every row.
    let st = Store::open(dir, opts(Durability::Full, 0)).unwrap();
    let r = st.intern(b"https://added.example/").unwrap();
    let mut u = url(1);
    u.key.host = fx.live.hostkey_lo + 1;
    u.url_ref = r;
    st.put_url(u).unwrap();
    st.checkpoint().unwrap();
    st.close().unwrap();
    let sb = Superblock::read(&std::fs::read(dir.join("super")).unwrap());
    let (_, cp) = sb.current().unwrap().unwrap();
    assert_eq!(cp.gen, 2);
    let snap = values_at(&dir.join(&cp.snapshot));
    assert_eq!(snap.0.len(), want.0.len() + 1);
    assert_eq!(snap.1, want.1);
    for v in &want.0 {
        assert!(snap.0.contains(v), "row {:?} lost", v.rec.key);
    }
}

/// Every live row of a store, through its own snapshot path, as file bytes.
fn ro_bytes(st: &Store) -> Vec<u8> {
    meguri_core::write::encode(
        &st.partition().unwrap(),
        &meguri_core::write::WriteOptions::default(),
        &*compressor(false),
    )
    .unwrap()
}

#[test]
fn a_reference_directory_opens_writable_and_continues() {
    let Some(g) = golden_dir() else { return };
    let s = Scratch::new("store-ref");
    let dir = s.join("d");
    copy_dir(&g.join("storelog-small"), &dir);
    let expected = values_at(&g.join("storelog-small.pack.meguri"));
    let st = Store::open(&dir, opts(Durability::Full, 0)).unwrap();
    assert_eq!(st.url_count(), 975);
    assert_eq!(st.generation(), 1);
    let before = st.arena_len();
    let r = st.intern(b"https://added.example/").unwrap();
    assert_eq!(r, before);
    let mut u = url(1);
    u.url_ref = r;
    st.put_url(u).unwrap();
    st.checkpoint().unwrap();
    st.close().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["log-3", "snap-2.meguri", "super"]);
    // The superblock keeps the reference's layout: generation 2 in slot A, slot B untouched.
    let sb = std::fs::read(dir.join("super")).unwrap();
    assert_eq!(sb.len(), superblock::LEN);
    let orig = std::fs::read(g.join("storelog-small/super")).unwrap();
    assert_eq!(sb[superblock::SLOT_LEN..], orig[superblock::SLOT_LEN..]);
    let parsed = Superblock::read(&sb);
    let (_, cp) = parsed.current().unwrap().unwrap();
    assert_eq!(
        (cp.gen, cp.snapshot.as_str(), cp.log.as_str()),
        (2, "snap-2.meguri", "log-3")
    );
    let snap = values_at(&dir.join("snap-2.meguri"));
    assert_eq!(snap.0.len(), 976);
    assert_eq!(snap.1, expected.1);
    let added = snap.0.iter().find(|v| v.rec.key == u.key).unwrap();
    assert_eq!(
        added.strings[0].as_deref(),
        Some(&b"https://added.example/"[..])
    );
    for v in &expected.0 {
        assert!(snap.0.contains(v), "row {:?} lost", v.rec.key);
    }
}

#[test]
fn updates_survive_reopen_and_checkpoints_in_every_mode() {
    for d in [Durability::None, Durability::Normal, Durability::Full] {
        let s = Scratch::new("store-modes");
        let dir = s.join("d");
        let st = Store::open(&dir, opts(d, 0)).unwrap();
        for i in 0..300 {
            st.put_url(url(i)).unwrap();
        }
        for i in 0..10 {
            st.put_host(HostRecord {
                host_key: i + 1,
                crawl_delay: 10,
                ..HostRecord::default()
            })
            .unwrap();
        }
        assert!(st.delete_url(url(5).key).unwrap().is_some());
        assert_eq!(st.delete_url(url(5).key).unwrap(), None);
        st.checkpoint().unwrap();
        let mut changed = url(7);
        changed.status = 4;
        st.put_url(changed).unwrap();
        st.close().unwrap();
        let st = Store::open(&dir, opts(d, 0)).unwrap();
        assert_eq!(st.url_count(), 299, "{d:?}");
        assert_eq!(st.host_count(), 10);
        assert_eq!(st.get_url(url(7).key).unwrap(), Some(changed));
        assert_eq!(st.get_url(url(5).key).unwrap(), None);
        assert_eq!(st.get_url(url(8).key).unwrap(), Some(url(8)));
        assert_eq!(st.recovery().frames, 1);
    }
}

#[test]
fn the_budget_bounds_resident_records_from_snapshot_replay_and_puts() {
    let s = Scratch::new("store-budget");
    let dir = s.join("d");
    let st = Store::open(&dir, opts(Durability::Normal, 0)).unwrap();
    for i in 0..2000 {
        st.put_url(url(i)).unwrap();
    }
    st.checkpoint().unwrap();
    for i in 2000..2600 {
        st.put_url(url(i)).unwrap();
    }
    st.close().unwrap();
    let st = Store::open(&dir, opts(Durability::Normal, 64)).unwrap();
    assert!(
        st.resident() <= 64,
        "{} resident after recovery",
        st.resident()
    );
    assert_eq!(st.url_count(), 2600);
    for i in (0..2600).rev().step_by(7) {
        assert_eq!(st.get_url(url(i).key).unwrap(), Some(url(i)), "row {i}");
        assert!(st.resident() <= 64);
    }
    for i in 2600..3000 {
        st.put_url(url(i)).unwrap();
        assert!(st.resident() <= 64);
    }
    let p = st.partition().unwrap();
    assert_eq!(p.urls.len(), 3000);
    assert!(p.urls.iter().all(|u| *u == url(u.key.path)));
    st.checkpoint().unwrap();
    assert_eq!(st.get_url(url(2999).key).unwrap(), Some(url(2999)));
    assert!(st.resident() <= 64);
}

#[test]
fn one_writer_per_directory_and_read_only_opens_change_nothing() {
    let s = Scratch::new("store-lock");
    let dir = s.join("d");
    let st = Store::open(&dir, opts(Durability::Normal, 0)).unwrap();
    st.put_url(url(1)).unwrap();
    let e = Store::open(&dir, opts(Durability::Normal, 0))
        .err()
        .unwrap();
    assert!(matches!(e, StoreError::Locked { .. }), "{e:?}");
    assert!(e.to_string().contains("already open for writing"), "{e}");
    // Read-only opens go on while the writer holds the lock, and see its updates.
    let before = listing(&dir);
    let ro = Store::open(
        &dir,
        Options {
            read_only: true,
            ..Options::default()
        },
    )
    .unwrap();
    assert_eq!(ro.url_count(), 1);
    assert!(ro.put_url(url(2)).is_err());
    drop(ro);
    assert_eq!(listing(&dir), before);
    st.close().unwrap();
    // The lock goes with the writer.
    // A reference that does not resolve would make the next snapshot fail verification.
    let st = Store::open(&dir, opts(Durability::Normal, 0)).unwrap();
    let mut bad = url(3);
    bad.url_ref = 4096;
    let e = st.put_url(bad).unwrap_err();
    assert!(
        matches!(
            &e,
            StoreError::Refused {
                reason: Refusal::BadRef(BadRef {
                    field: "url_ref",
                    value: 4096,
                    ..
                }),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("url_ref 4096 does not resolve"),
        "{e}"
    );
    st.put_url(url(3)).unwrap();
    drop(st);
    let missing = s.join("nope");
    let o = run_bin(BIN, &["pack", "--data", missing.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("not a partition directory"),
        "{}",
        text(&o.stderr)
    );
    assert!(!missing.exists());
}

#[test]
fn checkpoints_are_deterministic_and_the_reference_can_read_our_frames() {
    // Two stores fed the same updates write the same snapshot bytes and the same log bytes.
    let mut snaps = Vec::new();
    for _ in 0..2 {
        let s = Scratch::new("store-det");
        let dir = s.join("d");
        let st = Store::open(&dir, opts(Durability::Normal, 0)).unwrap();
        for i in (0..500).rev() {
            st.put_url(url(i)).unwrap();
        }
        st.checkpoint().unwrap();
        st.put_url(url(9999)).unwrap();
        st.close().unwrap();
        let log = std::fs::read(dir.join("log-2")).unwrap();
        // One URL put frame of the reference's size: 14 + 16 + 87 + 4.
        assert_eq!(log.len(), 121);
        snaps.push((std::fs::read(dir.join("snap-1.meguri")).unwrap(), log));
    }
    assert_eq!(snaps[0], snaps[1]);
    let (urls, _) = values_of(&snaps[0].0);
    assert_eq!(urls.len(), 500);
}

#[test]
fn load_then_pack_gives_back_the_file_rows() {
    let Some(g) = golden_dir() else { return };
    let s = Scratch::new("store-load");
    let dir = s.join("d");
    let small = g.join("small.meguri");
    for (i, extra) in [
        &["--durability", "full", "--checkpoint"][..],
        &["--resident-budget", "100"],
    ]
    .iter()
    .enumerate()
    {
        let mut args = vec![
            "load",
            "--data",
            dir.to_str().unwrap(),
            small.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push("--json");
        let o = run_bin(BIN, &args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["url_rows"], 999);
        // Loading the same file again replaces rows: still 999 live URLs.
        assert_eq!(v["live_urls"], 999, "run {i}");
    }
    let out = s.join("p.meguri");
    pack(&dir, &out);
    assert_eq!(values_at(&out), values_at(&small));
    let o = run_bin(
        BIN,
        &[
            "load",
            "--data",
            dir.to_str().unwrap(),
            "--durability",
            "sometimes",
            small.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("none, normal or full"),
        "{}",
        text(&o.stderr)
    );
}

fn on_sim(sim: &meguri::store::sim::SimFs, d: Durability, budget: usize) -> Options {
    Options {
        durability: d,
        resident_budget: budget,
        storage: Some(sim.storage()),
        ..Options::default()
    }
}

#[test]
fn scans_walk_key_ranges_in_order_reading_cold_rows_back() {
    use std::collections::BTreeMap;
    let s = Scratch::new("store-scan");
    let dir = s.join("d");
    let st = Store::open(&dir, opts(Durability::Normal, 64)).unwrap();
    let mut model = BTreeMap::new();
    for i in 0..1500 {
        st.put_url(url(i)).unwrap();
        model.insert(url(i).key, url(i));
    }
    st.checkpoint().unwrap();
    for i in (0..1500).step_by(5) {
        let mut u = url(i);
        u.status = 4;
        st.put_url(u).unwrap();
        model.insert(u.key, u);
    }
    for i in (1..1500).step_by(11) {
        st.delete_url(url(i).key).unwrap();
        model.remove(&url(i).key);
    }
    let mut all = Vec::new();
    st.scan_urls(.., |r| {
        all.push(*r);
        true
    })
    .unwrap();
    assert_eq!(all, model.values().copied().collect::<Vec<_>>());
    assert!(st.resident() <= 64);
    // One host's rows (what a queue or a split reads), and bounds of every kind.
    let lo = UrlKey { host: 3, path: 0 };
    let hi = UrlKey {
        host: 3,
        path: u64::MAX,
    };
    let mut got = Vec::new();
    st.scan_urls(lo..=hi, |r| {
        got.push(r.key);
        true
    })
    .unwrap();
    let want: Vec<UrlKey> = model.range(lo..=hi).map(|(k, _)| *k).collect();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    let mid = want[want.len() / 2];
    let mut got = Vec::new();
    st.scan_urls(lo..mid, |r| {
        got.push(r.key);
        true
    })
    .unwrap();
    assert_eq!(got, &want[..want.len() / 2]);
    // Stopping early.
    let mut n = 0;
    st.scan_urls(.., |_| {
        n += 1;
        n < 10
    })
    .unwrap();
    assert_eq!(n, 10);
    let mut hosts = 0;
    st.scan_hosts(|_| {
        hosts += 1;
        true
    })
    .unwrap();
    assert_eq!(hosts, 0);
}

#[test]
fn streamed_snapshots_and_exports_are_the_bytes_of_encoding_the_partition() {
    use meguri::encode::{encode_partition, EncodeSettings};
    use meguri::store::ExportOptions;
    let s = Scratch::new("store-stream");
    let dir = s.join("d");
    let st = Store::open(&dir, opts(Durability::Normal, 100)).unwrap();
    for i in 0..3000u64 {
        let r = st
            .intern(format!("https://h{}.example/p/{i}", i % 7).as_bytes())
            .unwrap();
        let mut u = url(i);
        u.url_ref = r;
        st.put_url(u).unwrap();
    }
    for h in 1..=7u64 {
        let r = st.intern(format!("h{h}.example").as_bytes()).unwrap();
        st.put_host(HostRecord {
            host_key: h,
            host_ref: r,
            resolved_ip: [h as u8; 16],
            ..HostRecord::default()
        })
        .unwrap();
    }
    // The checkpoint streams the rows; the bytes are those of the materialised encoder.
    let p = st.partition().unwrap();
    let want = encode_partition(&p, &EncodeSettings::default()).unwrap();
    let gen = st.checkpoint().unwrap();
    let snap = std::fs::read(dir.join(format!("snap-{gen}.meguri"))).unwrap();
    assert!(snap == want, "the streamed snapshot differs");
    // export: in flight becomes scheduled, with a schedule region.
    let mut q = st.partition().unwrap();
    for u in &mut q.urls {
        if u.status == 3 {
            u.status = 1;
        }
    }
    q.schedule = true;
    let want = encode_partition(&q, &EncodeSettings::default()).unwrap();
    let out = s.join("x.meguri");
    let w = st
        .export(
            &out,
            &ExportOptions {
                schedule: true,
                in_flight_to_scheduled: true,
                encode: EncodeSettings::default(),
            },
        )
        .unwrap();
    assert_eq!((w.urls, w.hosts, w.bytes), (3000, 7, want.len() as u64));
    assert!(std::fs::read(&out).unwrap() == want, "the export differs");
}

#[test]
fn readers_and_writers_go_on_while_checkpoints_run() {
    let s = Scratch::new("store-concurrent");
    let dir = s.join("d");
    let st = Store::open(&dir, opts(Durability::Normal, 500)).unwrap();
    for i in 0..5000 {
        st.put_url(url(i)).unwrap();
    }
    std::thread::scope(|sc| {
        let writers: Vec<_> = (0..3u64)
            .map(|t| {
                let st = &st;
                sc.spawn(move || {
                    for i in 0..3000u64 {
                        let mut u = url(10_000 + t * 10_000 + i);
                        u.crawl_count = i as u32;
                        st.put_url(u).unwrap();
                        if i % 7 == 0 {
                            st.delete_url(url(i * 3 % 5000).key).unwrap();
                        }
                    }
                })
            })
            .collect();
        let reader = sc.spawn(|| {
            let mut seen = 0u64;
            for round in 0..20u64 {
                for i in (round..5000).step_by(97) {
                    // A row is there or deleted, never another row or an error.
                    if let Some(r) = st.get_url(url(i).key).unwrap() {
                        assert_eq!(r, url(i));
                        seen += 1;
                    }
                }
                let mut prev = None;
                st.scan_urls(.., |r| {
                    assert!(prev < Some(r.key), "scan out of order");
                    prev = Some(r.key);
                    true
                })
                .unwrap();
            }
            seen
        });
        for _ in 0..4 {
            st.checkpoint().unwrap();
        }
        for w in writers {
            w.join().unwrap();
        }
        assert!(reader.join().unwrap() > 0);
    });
    let live = st.url_count();
    st.close().unwrap();
    let st = Store::open(&dir, opts(Durability::Normal, 0)).unwrap();
    assert_eq!(st.url_count(), live);
    for t in 0..3u64 {
        for i in (0..3000u64).step_by(13) {
            let mut u = url(10_000 + t * 10_000 + i);
            u.crawl_count = i as u32;
            assert_eq!(st.get_url(u.key).unwrap(), Some(u));
        }
    }
}

#[test]
fn the_owned_range_and_epoch_are_kept_and_guard_updates() {
    use meguri::store::Owner;
    let s = Scratch::new("store-owner");
    let dir = s.join("d");
    let owner = Owner {
        lo: 2,
        hi: 5,
        epoch: 3,
    };
    let st = Store::open(
        &dir,
        Options {
            owner,
            ..opts(Durability::Full, 0)
        },
    )
    .unwrap();
    // A new directory with an owner records it at once (a first, empty checkpoint).
    assert_eq!((st.owner(), st.generation()), (owner, 1));
    let inside = url(1); // host 2
    st.put_url(inside).unwrap();
    let e = st.put_url(url(0)).unwrap_err(); // host 1
    assert!(
        matches!(
            e,
            StoreError::Refused {
                reason: Refusal::OutOfRange { host: 1, .. },
                ..
            }
        ),
        "{e:?}"
    );
    // Narrowing past a row, or going back an epoch, is refused.
    let e = st.set_owner(Owner { lo: 3, ..owner }).unwrap_err();
    assert!(matches!(e, StoreError::Refused { .. }), "{e:?}");
    let e = st.set_owner(Owner { epoch: 2, ..owner }).unwrap_err();
    assert!(matches!(e, StoreError::Refused { .. }), "{e:?}");
    let moved = Owner {
        lo: 2,
        hi: 9,
        epoch: 4,
    };
    st.set_owner(moved).unwrap();
    st.put_url(url(6)).unwrap(); // host 7
    st.checkpoint().unwrap();
    st.close().unwrap();
    let st = Store::open(&dir, opts(Durability::Full, 0)).unwrap();
    assert_eq!(st.owner(), moved);
    assert_eq!(st.url_count(), 2);
    let sb = Superblock::read(&std::fs::read(dir.join("super")).unwrap());
    assert_eq!(sb.current().unwrap().unwrap().1.owner, moved);
    drop(st);
    // A reference directory owns everything at epoch 0.
    if let Some(g) = golden_dir() {
        let ro = Store::open(
            &g.join("storelog-small"),
            Options {
                read_only: true,
                ..Options::default()
            },
        )
        .unwrap();
        assert_eq!(ro.owner(), Owner::default());
    }
}

#[test]
fn a_failed_checkpoint_leaves_the_previous_generation_and_a_usable_store() {
    use meguri::store::sim::{Loss, SimFs};
    use meguri::store::storage::Storage;
    let sim = SimFs::new();
    let dir = Path::new("/f");
    // The first snapshot's fsync fails.
    sim.fail_sync("snap-", 1);
    let st = Store::open(dir, on_sim(&sim, Durability::Full, 0)).unwrap();
    for i in 0..100 {
        st.put_url(url(i)).unwrap();
    }
    let e = st.checkpoint().unwrap_err();
    assert!(matches!(e, StoreError::Checkpoint { .. }), "{e:?}");
    assert_eq!(st.generation(), 0);
    // Writes go on (into the log rotated to), and so do reads.
    for i in 100..150 {
        st.put_url(url(i)).unwrap();
    }
    assert_eq!(st.get_url(url(3).key).unwrap(), Some(url(3)));
    // A power cut now: both logs replay, in LSN order.
    let after = sim.after_power_loss(Loss::Strict);
    let st2 = Store::open(dir, on_sim(&after, Durability::Full, 0)).unwrap();
    assert_eq!((st2.generation(), st2.url_count()), (0, 150));
    assert!(st2
        .recovery()
        .events
        .iter()
        .any(|e| matches!(e, meguri::store::RecoveryEvent::LogsFolded { .. })));
    st2.close().unwrap();
    assert_eq!(after.list(dir).unwrap(), ["log-1"]);
    // The next checkpoint succeeds; close leaves the reference's layout.
    let g = st.checkpoint().unwrap();
    assert_eq!(g, 1);
    st.put_url(url(150)).unwrap();
    st.close().unwrap();
    let mut names = sim.list(dir).unwrap();
    names.sort();
    assert_eq!(names, ["log-3", "snap-2.meguri", "super"]);
    let st = Store::open(dir, on_sim(&sim, Durability::Full, 0)).unwrap();
    assert_eq!(st.url_count(), 151);
    // A failed checkpoint then a close folds the later log back into the named one.
    let sim = SimFs::new();
    sim.fail_sync("snap-", 1);
    let st = Store::open(dir, on_sim(&sim, Durability::Full, 0)).unwrap();
    st.put_url(url(1)).unwrap();
    assert!(st.checkpoint().is_err());
    st.put_url(url(2)).unwrap();
    st.close().unwrap();
    assert_eq!(sim.list(dir).unwrap(), ["log-1"]);
    let st = Store::open(dir, on_sim(&sim, Durability::Full, 0)).unwrap();
    assert_eq!(st.url_count(), 2);
    assert_eq!(st.recovery().frames, 2);
}

#[test]
fn a_preallocated_tail_is_zeros_that_recovery_trims_and_close_never_leaves() {
    use meguri::store::sim::SimFs;
    use meguri::store::RecoveryEvent;
    let sim = SimFs::new();
    let dir = Path::new("/z");
    let st = Store::open(dir, on_sim(&sim, Durability::Full, 0)).unwrap();
    for i in 0..10 {
        st.put_url(url(i)).unwrap();
    }
    let log = dir.join("log-1");
    assert_eq!(
        sim.read(&log).unwrap().len() as u64,
        meguri::store::LOG_CHUNK
    );
    std::mem::forget(st); // killed before it could trim
    sim.release_locks();
    let ro = Store::open(
        dir,
        Options {
            read_only: true,
            ..on_sim(&sim, Durability::Full, 0)
        },
    )
    .unwrap();
    assert_eq!(ro.url_count(), 10);
    assert!(ro.recovery().events.iter().any(|e| matches!(
        e,
        RecoveryEvent::ZeroTail {
            offset: 1210,
            trimmed: false,
            ..
        }
    )));
    drop(ro);
    let st = Store::open(dir, on_sim(&sim, Durability::Full, 0)).unwrap();
    assert!(st
        .recovery()
        .events
        .iter()
        .any(|e| matches!(e, RecoveryEvent::ZeroTail { trimmed: true, .. })));
    assert_eq!(sim.read(&log).unwrap().len(), 1210);
    st.put_url(url(10)).unwrap();
    st.close().unwrap();
    // At rest the log ends at its last frame, as the reference expects.
    assert_eq!(sim.read(&log).unwrap().len(), 1331);
    // No discarded file: zeros are not damage.
    use meguri::store::storage::Storage;
    assert_eq!(sim.list(dir).unwrap(), ["log-1"]);
}

/// A URL row carrying meguri's serving state (the extension columns), its metadata interned.
fn served(st: &Store, i: u64) -> UrlRecord {
    let mut r = url(i);
    if !i.is_multiple_of(3) {
        r.refetch_at = 1_795_240_000 + i as u32;
        r.created_at = 1_795_000_000;
        r.lease_until = if i.is_multiple_of(2) {
            1_795_240_030
        } else {
            0
        };
        r.meta_ref = st.intern(format!("meta-{i}").as_bytes()).unwrap();
    }
    r
}

#[test]
fn serving_state_survives_replay_cold_reads_checkpoints_and_pack() {
    let s = Scratch::new("store-ext");
    let dir = s.join("d");
    let st = Store::open(&dir, opts(Durability::Full, 0)).unwrap();
    let rows: Vec<UrlRecord> = (0..400).map(|i| served(&st, i)).collect();
    for r in &rows {
        st.put_url(*r).unwrap();
    }
    let host = HostRecord {
        host_key: 3,
        crawl_delay: 10,
        queue_delay: 2501,
        blocked_until: 1_795_300_000,
        last_handout: 1_795_240_000_123,
        ..HostRecord::default()
    };
    st.put_host(host).unwrap();
    // A later put without the extension clears it: a put frame replaces the whole record.
    let mut plain = rows[1];
    plain.refetch_at = 0;
    plain.created_at = 0;
    plain.lease_until = 0;
    plain.meta_ref = 0;
    st.put_url(plain).unwrap();
    let mut want = rows.clone();
    want[1] = plain;
    st.close().unwrap();

    let check = |st: &Store, stage: &str| {
        for r in &want {
            assert_eq!(
                st.get_url(r.key).unwrap(),
                Some(*r),
                "{stage}: row {}",
                r.key.path
            );
            if r.meta_ref != 0 {
                let meta = st.string(r.meta_ref).unwrap();
                assert_eq!(meta, format!("meta-{}", r.key.path).into_bytes(), "{stage}");
            }
        }
        assert_eq!(st.get_host(3), Some(host), "{stage}");
    };
    // Replayed from the log, with most rows cold (read back from their frames).
    let st = Store::open(&dir, opts(Durability::Full, 16)).unwrap();
    check(&st, "replay");
    st.checkpoint().unwrap();
    st.close().unwrap();
    // From the snapshot, cold rows read back from its pages.
    let st = Store::open(&dir, opts(Durability::Full, 16)).unwrap();
    check(&st, "snapshot");
    st.close().unwrap();

    // The snapshot holds the extension columns and verifies clean; pack carries them.
    let out = s.join("packed.meguri");
    pack(&dir, &out);
    meguri_tests::assert_verifies(&out);
    let bytes = std::fs::read(&out).unwrap();
    let r = meguri_core::reader::Reader::open(&bytes[..]).unwrap();
    assert_eq!(r.footer().columns(meguri_core::Table::Url).len(), 27);
    let mut packed = r.url_table().unwrap();
    packed.sort_by_key(|u| u.key);
    let mut sorted = want.clone();
    sorted.sort_by_key(|u| u.key);
    let strip = |v: &[UrlRecord]| -> Vec<UrlRecord> {
        v.iter()
            .map(|u| UrlRecord {
                // Packing recovers the frontier as the reference does: in flight → scheduled.
                status: if u.status == 3 { 1 } else { u.status },
                url_ref: 0,
                meta_ref: u64::from(u.meta_ref != 0),
                ..*u
            })
            .collect()
    };
    // Arena offsets may move in the packed file; every other value is the same.
    let (a, b) = (strip(&packed), strip(&sorted));
    assert_eq!(a.len(), b.len());
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!("packed row {i} is {:?}, {:?} was put", a[i], b[i]);
    }
    // A directory without serving state writes exactly the reference's 23 + 20 columns.
    let s2 = s.join("plain");
    let st = Store::open(&s2, opts(Durability::Normal, 0)).unwrap();
    st.put_url(url(1)).unwrap();
    st.close().unwrap();
    let out2 = s.join("plain.meguri");
    pack(&s2, &out2);
    let bytes = std::fs::read(&out2).unwrap();
    let r = meguri_core::reader::Reader::open(&bytes[..]).unwrap();
    assert_eq!(r.footer().columns(meguri_core::Table::Url).len(), 23);
    assert_eq!(r.footer().columns(meguri_core::Table::Host).len(), 20);
    // Reshaping refuses a file with serving state rather than thinning it.
    let o = run_bin(
        BIN,
        &[
            "compact",
            out.to_str().unwrap(),
            "-o",
            s.join("c.meguri").to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("serving state"),
        "{}",
        text(&o.stderr)
    );
    // `load` reads whole rows and remaps every arena reference: the state comes back.
    let loaded = s.join("loaded");
    let o = run_bin(
        BIN,
        &[
            "load",
            "--data",
            loaded.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let st = Store::open(&loaded, opts(Durability::Normal, 0)).unwrap();
    for r in &sorted {
        let got = st.get_url(r.key).unwrap().unwrap();
        assert_eq!(
            (got.refetch_at, got.created_at, got.lease_until),
            (r.refetch_at, r.created_at, r.lease_until)
        );
        if r.meta_ref != 0 {
            let meta = st.string(got.meta_ref).unwrap();
            assert_eq!(meta, format!("meta-{}", r.key.path).into_bytes());
        }
    }
}
