//! `meguri serve -d DIR --offline`: a partition directory seeded, drained with the offline
//! fetcher and checkpointed in place, against the reference's `serve-small/` directory, on
//! directories made here, and on bad input.

use meguri::store::{Options, Owner, Store};
use meguri_core::arena::Arena;
use meguri_core::keys::seed_key;
use meguri_core::partition::Partition;
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::store::superblock::MAGIC;
use meguri_tests::{assert_verifies, golden_dir, run_bin, text, Scratch};
use std::collections::BTreeMap;
use std::path::Path;

const CRAWLED: u8 = 4;

fn meguri(args: &[&str]) -> std::process::Output {
    run_bin(env!("CARGO_BIN_EXE_meguri"), args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `serve -d DIR --offline` with `extra`; its stdout, after checking it exited 0.
fn serve(dir: &Path, extra: &[&str]) -> String {
    let mut args = vec!["serve", "-d", s(dir), "--offline"];
    args.extend_from_slice(extra);
    let o = meguri(&args);
    assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    text(&o.stdout)
}

/// The live rows of a directory, opened read-only as `stats --data` opens it.
fn rows(dir: &Path) -> Partition {
    let st = Store::open(
        dir,
        Options {
            read_only: true,
            ..Options::default()
        },
    )
    .unwrap();
    st.partition().unwrap()
}

/// Every file of a directory with its bytes.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// A copy of the reference's `serve-small/` (its three store files).
fn copy_serve_small(g: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for name in ["super", "snap-1.meguri", "log-2"] {
        std::fs::copy(g.join("serve-small").join(name), to.join(name)).unwrap();
    }
}

/// A slot of a superblock as the reference lays it out: (gen, frontier, snapshot, log).
fn slot(sb: &[u8], i: usize) -> (u64, u64, String, String) {
    let b = &sb[i * 256..(i + 1) * 256];
    let u16_at = |o: usize| usize::from(u16::from_le_bytes([b[o], b[o + 1]]));
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap());
    assert_eq!(u32::from_le_bytes(b[0..4].try_into().unwrap()), MAGIC);
    let n = u16_at(28);
    let snap = String::from_utf8(b[30..30 + n].to_vec()).unwrap();
    let m = u16_at(30 + n);
    let log = String::from_utf8(b[32 + n..32 + n + m].to_vec()).unwrap();
    (u64_at(4), u64_at(12), snap, log)
}

/// CDX lines for `hosts` hosts of `per` URLs each, named `tag`.
fn cdx(tag: &str, hosts: usize, per: usize) -> String {
    let mut out = String::new();
    for h in 0..hosts {
        for p in 0..per {
            out.push_str(&format!(
                "{{\"url\":\"https://{tag}{h}.example/p{p}\",\"host\":\"{tag}{h}.example\"}}\n"
            ));
        }
    }
    out
}

/// The string a reference resolves to.
fn string(p: &Partition, r: u64) -> String {
    String::from_utf8(Arena(&p.arena).get(r).unwrap().to_vec()).unwrap()
}

#[test]
fn a_copy_of_serve_small_is_drained_and_checkpointed_in_the_reference_layout() {
    let Some(g) = golden_dir() else { return };
    let d = Scratch::new("offline-small");
    let dir = d.join("serve-small");
    copy_serve_small(&g, &dir);
    let old_super = std::fs::read(dir.join("super")).unwrap();
    let before = rows(&dir);
    assert_eq!(before.urls.len(), 999);
    let manifest = g.join("parts/meguri.manifest");
    let out = serve(&dir, &["--now", "498845", "--manifest", s(&manifest)]);
    assert_eq!(
        out,
        format!(
            "served 999 urls: 999 dispatched, 999 fetched, 0 failed, 0 pending\n\
             manifest: host-key 0x00021387eaa1447a routes to partition 0 (part-0.meguri)\n\
             manifest: at epoch 0, ranges tile the key space cleanly\n\
             checkpointed {}\n",
            dir.join("snap-2.meguri").display()
        )
    );
    // The reference's layout after a second checkpoint: super, snap-2.meguri, an empty log-3.
    let after = files(&dir);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        ["log-3", "snap-2.meguri", "super"]
    );
    assert!(after["log-3"].is_empty());
    let sb = &after["super"];
    assert_eq!(sb.len(), 512);
    let (gen, frontier, snap, log) = slot(sb, 0);
    assert_eq!(
        (gen, snap.as_str(), log.as_str()),
        (2, "snap-2.meguri", "log-3")
    );
    assert!(
        frontier > 999 + 867,
        "every changed row went through the log"
    );
    assert_eq!(&sb[256..], &old_super[256..], "generation 1's slot is kept");
    assert_eq!(slot(sb, 1).0, 1);
    assert_verifies(&dir.join("snap-2.meguri"));

    // Every URL crawled at the hour, due a week later; nothing else changed.
    let now = rows(&dir);
    assert_eq!(now.urls.len(), before.urls.len());
    assert_eq!(now.hosts.len(), before.hosts.len());
    for (a, b) in before.urls.iter().zip(&now.urls) {
        assert_eq!(string(&before, a.url_ref), string(&now, b.url_ref));
        assert_eq!(
            (b.status, b.last_crawled, b.next_due, b.crawl_count),
            (CRAWLED, 498_845, 498_845 + 168, a.crawl_count + 1)
        );
        let keep = |u: &UrlRecord| UrlRecord {
            url_ref: 0,
            last_crawled: 0,
            next_due: 0,
            crawl_count: 0,
            ..*u
        };
        assert_eq!(keep(a), keep(b));
    }
    for (a, b) in before.hosts.iter().zip(&now.hosts) {
        assert_eq!(b.crawl_total, a.crawl_total + a.url_count);
        assert!(u64::from(b.host_next_eligible) > 498_845 * 3600);
    }

    // Our `stats --data` opens it; a second run finds nothing due and changes no row.
    let o = meguri(&["stats", "--data", s(&dir)]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let st = text(&o.stdout);
    assert!(st.contains("  urls           999\n"), "{st}");
    assert!(st.contains("    crawled         999\n"), "{st}");
    let again = serve(&dir, &["--now", "498845"]);
    assert_eq!(
        again,
        format!(
            "served 999 urls: 0 dispatched, 0 fetched, 0 failed, 0 pending\ncheckpointed {}\n",
            dir.join("snap-3.meguri").display()
        )
    );
    let twice = rows(&dir);
    assert_eq!(twice.urls, now.urls);
    assert_eq!(twice.hosts, now.hosts);
}

/// The reference made `serve-small/` with `serve --seed <the corpus's first 1,000 lines>` on a
/// fresh directory, fetching at hour 498,677: the same from us gives the same rows, value for
/// value (strings compared as strings; host rows' next eligible second is the wall clock's).
#[test]
fn serve_seeded_from_the_corpus_gives_the_reference_rows() {
    let Some(g) = golden_dir() else { return };
    let corpus = g.join("../../corpus/urls.cdx.jsonl.zst");
    if !corpus.is_file() {
        eprintln!("SKIPPED: {} is absent", corpus.display());
        return;
    }
    let d = Scratch::new("offline-corpus");
    let raw = zstd::stream::decode_all(std::fs::File::open(&corpus).unwrap()).unwrap();
    let lines: Vec<&[u8]> = raw.split(|&b| b == b'\n').take(1000).collect();
    let seed = d.join("first-1000.cdx");
    std::fs::write(&seed, lines.join(&b'\n')).unwrap();
    let dir = d.join("fresh");
    let out = serve(&dir, &["--seed", s(&seed), "--now", "498677"]);
    assert!(
        out.starts_with(&format!(
            "seeded 1000 urls from {}\nserved 999 urls: 999 dispatched, 999 fetched, 0 failed, 0 pending\n",
            seed.display()
        )),
        "{out}"
    );
    assert_eq!(
        files(&dir).keys().collect::<Vec<_>>(),
        ["log-2", "snap-1.meguri", "super"]
    );
    let ours = rows(&dir);
    let theirs = {
        let b = std::fs::read(g.join("serve-small/snap-1.meguri")).unwrap();
        meguri_core::reader::Reader::open(&b[..])
            .unwrap()
            .partition()
            .unwrap()
    };
    assert_eq!(
        (
            ours.id,
            ours.created_hours,
            ours.urls.len(),
            ours.hosts.len()
        ),
        (theirs.id, theirs.created_hours, 999, 867)
    );
    for (a, b) in ours.urls.iter().zip(&theirs.urls) {
        assert_eq!(string(&ours, a.url_ref), string(&theirs, b.url_ref));
        let strip = |u: &UrlRecord| UrlRecord { url_ref: 0, ..*u };
        assert_eq!(strip(a), strip(b));
    }
    for (a, b) in ours.hosts.iter().zip(&theirs.hosts) {
        assert_eq!(string(&ours, a.host_ref), string(&theirs, b.host_ref));
        let strip = |h: &HostRecord| HostRecord {
            host_ref: 0,
            registrable_ref: 0,
            host_next_eligible: 0,
            ..*h
        };
        assert_eq!(strip(a), strip(b));
    }
}

#[test]
fn a_fresh_directory_is_seeded_drained_and_reseeded_consistently() {
    let d = Scratch::new("offline-seed");
    let seed = d.join("a.cdx");
    // 15 URLs on 5 hosts, one line repeated, one line skipped.
    let mut lines = cdx("h", 5, 3);
    lines.push_str(&cdx("h", 1, 1));
    lines.push_str("not json\n");
    std::fs::write(&seed, &lines).unwrap();
    let dir = d.join("new/part");
    let out = serve(&dir, &["--seed", s(&seed), "--now", "500000"]);
    assert_eq!(
        out,
        format!(
            "seeded 16 urls from {}\n\
             served 15 urls: 15 dispatched, 15 fetched, 0 failed, 0 pending\n\
             checkpointed {}\n",
            seed.display(),
            dir.join("snap-1.meguri").display()
        )
    );
    let first = rows(&dir);
    assert_eq!((first.urls.len(), first.hosts.len()), (15, 5));
    for u in &first.urls {
        assert!(string(&first, u.url_ref).starts_with("https://h"));
        assert_eq!(
            (u.status, u.last_crawled, u.next_due, u.crawl_count),
            (CRAWLED, 500_000, 500_168, 1)
        );
    }
    assert!(first.hosts.iter().all(|h| h.url_count == 3));

    // The same seed again: its lines counted, nothing new, nothing due, no row changed.
    let out = serve(&dir, &["--seed", s(&seed), "--now", "500000"]);
    assert!(out.starts_with(&format!(
        "seeded 16 urls from {}\nserved 15 urls: 0 dispatched,",
        seed.display()
    )));
    let second = rows(&dir);
    assert_eq!(second.urls, first.urls);
    assert_eq!(second.hosts, first.hosts);

    // Two new URLs on a known host and one on a new host: only they are fetched, and the host
    // rows count them.
    let more = d.join("b.cdx");
    let new_lines = "{\"url\":\"https://h0.example/new1\",\"host\":\"h0.example\"}\n\
                     {\"url\":\"https://h0.example/new2\",\"host\":\"h0.example\"}\n\
                     {\"url\":\"https://z.example/\",\"host\":\"z.example\"}\n\
                     {\"url\":\"https://h1.example/p0\",\"host\":\"h1.example\"}\n";
    std::fs::write(&more, new_lines).unwrap();
    let o = meguri(&[
        "serve",
        "--dir",
        s(&dir),
        "--offline",
        "--seed",
        s(&more),
        "--now",
        "500001",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["seed"]["accepted"], 4);
    assert_eq!(v["seed"]["new_urls"], 3);
    assert_eq!(v["seed"]["new_hosts"], 1);
    assert_eq!(v["drain"]["dispatched"], 3);
    assert_eq!(v["written"]["urls"], 3);
    assert_eq!(v["written"]["hosts"], 2);
    assert_eq!(v["checkpoint"]["generation"], 3);
    assert_eq!(v["now_hour"], 500_001);
    assert_eq!(v["state_machine"], false);
    assert_eq!(
        (v["urls"].as_u64(), v["hosts"].as_u64()),
        (Some(18), Some(6))
    );
    let third = rows(&dir);
    let h0 = seed_key("https://h0.example/p0", "h0.example").host;
    let z = seed_key("https://z.example/", "z.example").host;
    let host = |k| third.hosts.iter().find(|h| h.host_key == k).unwrap();
    assert_eq!(host(h0).url_count, 5);
    assert_eq!(host(z).url_count, 1);
    assert_eq!(string(&third, host(z).host_ref), "z.example");
    for u in &third.urls {
        let url = string(&third, u.url_ref);
        let fresh = url.contains("/new") || url.contains("z.example");
        assert_eq!(
            u.last_crawled,
            if fresh { 500_001 } else { 500_000 },
            "{url}"
        );
    }
}

#[test]
fn the_manifest_report_routes_the_lowest_host_key_and_checks_epoch_0() {
    let d = Scratch::new("offline-manifest");
    let seed = d.join("a.cdx");
    std::fs::write(&seed, cdx("m", 4, 2)).unwrap();
    let lowest = (0..4)
        .map(|h| {
            seed_key(
                &format!("https://m{h}.example/p0"),
                &format!("m{h}.example"),
            )
            .host
        })
        .min()
        .unwrap();
    // Two partition files cut just above the lowest key, catalogued by `meguri manifest build`.
    let a = meguri_tests::write_partition(
        &d.0,
        "a.meguri",
        &meguri_tests::small_partition(7, 0, lowest, 2),
    );
    let b = meguri_tests::write_partition(
        &d.0,
        "b.meguri",
        &meguri_tests::small_partition(8, lowest + 1, u64::MAX, 2),
    );
    let build = |out: &Path, files: &[&Path], epoch: &str| {
        let mut args = vec!["manifest", "build"];
        args.extend(files.iter().map(|f| s(f)));
        args.extend(["--out", s(out), "--epoch", epoch]);
        let o = meguri(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
    };
    let whole = d.join("whole.manifest");
    build(&whole, &[&a, &b], "0");
    let dir = d.join("part");
    let out = serve(
        &dir,
        &[
            "--seed",
            s(&seed),
            "--now",
            "500000",
            "--manifest",
            s(&whole),
        ],
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[2..4],
        [
            format!("manifest: host-key 0x{lowest:016x} routes to partition 7 (a.meguri)"),
            "manifest: at epoch 0, ranges tile the key space cleanly".to_string(),
        ]
    );
    // Only the upper part: the key has no owner, and the manifest leaves a gap below it.
    let upper = d.join("upper.manifest");
    build(&upper, &[&b], "0");
    let out = serve(&dir, &["--now", "500000", "--manifest", s(&upper)]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[1..3],
        [
            format!("manifest: host-key 0x{lowest:016x} has no owning partition"),
            format!("manifest: at epoch 0, coverage gap [0x0000000000000000, 0x{lowest:016x}]"),
        ]
    );
    // Coverage is checked at epoch 0, as the reference checks it: entries of epoch 3 cover
    // nothing there.
    let later = d.join("later.manifest");
    build(&later, &[&a, &b], "3");
    let o = meguri(&[
        "serve",
        "-d",
        s(&dir),
        "--offline",
        "--now",
        "500000",
        "--manifest",
        s(&later),
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let m = &v["manifest"];
    assert_eq!(m["route"]["route"]["partition_id"], 7);
    assert_eq!(m["coverage"]["gaps"][0]["lo"], "0x0000000000000000");
    assert_eq!(m["coverage"]["gaps"][0]["hi"], "0xffffffffffffffff");
}

/// One `error: serve …` line on stderr, exit status 1, nothing on stdout.
fn fails(args: &[&str]) -> String {
    let o = meguri(args);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
    assert!(o.stdout.is_empty(), "{}", text(&o.stdout));
    assert!(
        err.starts_with("error: serve") && err.lines().count() == 1,
        "{args:?}: {err}"
    );
    err
}

#[test]
fn bad_input_is_one_error_line_and_leaves_every_input_as_it_was() {
    let d = Scratch::new("offline-bad");
    let seed = d.join("a.cdx");
    std::fs::write(&seed, cdx("b", 3, 2)).unwrap();
    let dir = d.join("part");
    serve(&dir, &["--seed", s(&seed), "--now", "500000"]);
    let good = files(&dir);

    // A seed that cannot be read: the directory is not touched, a new one not made.
    let missing = d.join("missing.cdx");
    let e = fails(&["serve", "-d", s(&dir), "--offline", "--seed", s(&missing)]);
    assert!(e.contains(s(&missing)), "{e}");
    assert_eq!(files(&dir), good);
    let fresh = d.join("never");
    fails(&["serve", "-d", s(&fresh), "--offline", "--seed", s(&missing)]);
    assert!(!fresh.exists());

    // A manifest that is not one.
    let junk = d.join("junk.manifest");
    std::fs::write(&junk, b"MGM1 and nothing else").unwrap();
    let e = fails(&[
        "serve",
        "-d",
        s(&fresh),
        "--offline",
        "--manifest",
        s(&junk),
    ]);
    assert!(e.contains(s(&junk)), "{e}");
    assert!(!fresh.exists());

    // A superblock with both slots damaged: the current generation cannot be known.
    let damaged = d.join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    for (name, bytes) in &good {
        std::fs::write(damaged.join(name), bytes).unwrap();
    }
    let mut sb = good["super"].clone();
    sb[100] ^= 0xff;
    sb[356] ^= 0xff;
    std::fs::write(damaged.join("super"), &sb).unwrap();
    let before = files(&damaged);
    let e = fails(&["serve", "-d", s(&damaged), "--offline", "--now", "500000"]);
    assert!(e.contains("superblock") || e.contains("slot"), "{e}");
    assert_eq!(files(&damaged), before);

    // A directory that cannot be made (its parent is a file).
    let file = d.join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let under = file.join("part");
    fails(&["serve", "-d", s(&under), "--offline", "--seed", s(&seed)]);
    assert_eq!(std::fs::read(&file).unwrap(), b"x");

    // URLs the directory does not own: refused before anything is written.
    let owned = d.join("owned");
    {
        let st = Store::open(&owned, Options::default()).unwrap();
        st.set_owner(Owner {
            lo: 0,
            hi: 1,
            epoch: 1,
        })
        .unwrap();
        st.close().unwrap();
    }
    let before = files(&owned);
    let e = fails(&["serve", "-d", s(&owned), "--offline", "--seed", s(&seed)]);
    assert!(e.contains("6 seeded url(s) fall outside"), "{e}");
    assert_eq!(files(&owned), before);

    // Flags of the other mode are refused by the parser (exit 2).
    for args in [
        vec![
            "serve",
            "-d",
            s(&dir),
            "--offline",
            "--listen",
            "127.0.0.1:0",
        ],
        vec!["serve", "-d", s(&dir), "--offline", "--durability", "full"],
        vec!["serve", "-d", s(&dir), "--manifest", s(&junk)],
        vec!["serve", "-d", s(&dir), "--now", "5"],
    ] {
        let o = meguri(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    assert_eq!(files(&dir), good);
}
