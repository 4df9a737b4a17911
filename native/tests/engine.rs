//! The crawl engine against the reference's own drain: `meguri run --input small.meguri` wrote
//! `crawled-small.meguri` (every URL answered 200, the wall-clock start second stamped in).

use meguri::engine::drain::{drain, DrainOptions, Offline};
use meguri_core::reader::Reader;
use meguri_tests::{golden_dir, run_bin, text, Scratch};

/// The second the reference's run started: its host rows' next-eligible seconds are this plus
/// one crawl delay per URL of the host.
const REFERENCE_START_SECS: u64 = 1_795_240_232;

#[test]
fn a_drain_of_small_gives_the_reference_rows_value_for_value() {
    let Some(g) = golden_dir() else { return };
    let read = |name: &str| {
        let b = std::fs::read(g.join(name)).unwrap();
        Reader::open(&b[..]).unwrap().partition().unwrap()
    };
    let mut p = read("small.meguri");
    let want = read("crawled-small.meguri");
    let o = DrainOptions {
        start: REFERENCE_START_SECS * 1000,
        wall: false,
        state_machine: false,
        default_delay: 1000,
        priority: 0.5,
        max_active: 0,
    };
    let rep = drain(&mut p, &mut Offline, &o);
    assert_eq!(
        (
            rep.ran,
            rep.dispatched,
            rep.fetched,
            rep.failed,
            rep.pending
        ),
        (999, 999, 999, 0, 0)
    );
    assert_eq!(p.urls.len(), want.urls.len());
    for (a, b) in p.urls.iter().zip(&want.urls) {
        assert_eq!(a, b);
    }
    for (a, b) in p.hosts.iter().zip(&want.hosts) {
        assert_eq!(a, b);
    }
    assert_eq!(p.arena, want.arena);
}

/// `meguri run -i small.meguri -o OUT`: the rows of `crawled-small.meguri`, and the reference's
/// lines (`crawled-small.meguri.run.txt`) with our path and size in them.
#[test]
fn meguri_run_writes_the_reference_rows_and_prints_its_lines() {
    let Some(g) = golden_dir() else { return };
    let dir = Scratch::new("engine-run");
    let read = |p: &std::path::Path| {
        let b = std::fs::read(p).unwrap();
        Reader::open(&b[..]).unwrap().partition().unwrap()
    };
    let want = read(&g.join("crawled-small.meguri"));
    let theirs = std::fs::read_to_string(g.join("crawled-small.meguri.run.txt")).unwrap();
    let input = g.join("small.meguri");
    let before = std::fs::read(&input).unwrap();
    // The start second: every value, host rows and arena included.
    let out = dir.join("second.meguri");
    let now = format!("@{REFERENCE_START_SECS}");
    let args = [
        "run",
        "-i",
        input.to_str().unwrap(),
        "--now",
        &now,
        "-o",
        out.to_str().unwrap(),
    ];
    let o = run_bin(env!("CARGO_BIN_EXE_meguri"), &args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let printed = text(&o.stdout);
    let lines: Vec<&str> = printed.lines().collect();
    let ref_lines: Vec<&str> = theirs.lines().collect();
    assert_eq!(lines.len(), ref_lines.len(), "{printed}");
    assert_eq!(lines[0], ref_lines[0], "the tally is the reference's");
    let size = std::fs::metadata(&out).unwrap().len();
    assert_eq!(lines[1], format!("wrote {}, {size} bytes", out.display()));
    assert!(
        ref_lines[1].starts_with("wrote crawled-small.meguri, ")
            && ref_lines[1].ends_with(" bytes")
    );
    let got = read(&out);
    assert_eq!(got.urls, want.urls);
    assert_eq!(got.hosts, want.hosts);
    assert_eq!(got.arena, want.arena);
    assert_eq!(
        (got.id, got.hostkey_lo, got.hostkey_hi),
        (want.id, want.hostkey_lo, want.hostkey_hi)
    );
    // The hour alone: the URL rows; host rows differ only in their next eligible second.
    let out = dir.join("hour.meguri");
    let args = [
        "run",
        "-i",
        input.to_str().unwrap(),
        "--now",
        "498677",
        "-o",
        out.to_str().unwrap(),
    ];
    let o = run_bin(env!("CARGO_BIN_EXE_meguri"), &args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let got = read(&out);
    assert_eq!(got.urls, want.urls);
    for (a, b) in got.hosts.iter().zip(&want.hosts) {
        let shift = u64::from(b.host_next_eligible) - u64::from(a.host_next_eligible);
        assert_eq!(shift, REFERENCE_START_SECS - 498_677 * 3600);
        assert_eq!(
            meguri_core::records::HostRecord {
                host_next_eligible: 0,
                ..*a
            },
            meguri_core::records::HostRecord {
                host_next_eligible: 0,
                ..*b
            }
        );
    }
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input is untouched"
    );
    // --json is the report: the same tally.
    let o = run_bin(
        env!("CARGO_BIN_EXE_meguri"),
        &[
            "run",
            "-i",
            input.to_str().unwrap(),
            "--now",
            "498677",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["drain"]["dispatched"], 999);
    assert_eq!(v["now_hour"], 498_677);
    assert_eq!(v["out"], serde_json::Value::Null);
}

/// Bad input to `run`: one error line, a non-zero exit, nothing written.
#[test]
fn meguri_run_refuses_bad_input_without_leaving_output() {
    let dir = Scratch::new("engine-run-bad");
    let bad = dir.join("bad.meguri");
    std::fs::write(&bad, b"MGRI but not really a partition file").unwrap();
    let out = dir.join("out.meguri");
    let o = run_bin(
        env!("CARGO_BIN_EXE_meguri"),
        &[
            "run",
            "-i",
            bad.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.starts_with(&format!("error: run {}: ", bad.display())) && err.lines().count() == 1,
        "{err}"
    );
    assert!(!out.exists());
    let o = run_bin(
        env!("CARGO_BIN_EXE_meguri"),
        &["run", "-o", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "neither --input nor --seed");
    let o = run_bin(
        env!("CARGO_BIN_EXE_meguri"),
        &["run", "-i", bad.to_str().unwrap(), "--now", "yesterday"],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// The other bad inputs the engine's commands must refuse cleanly: an output whose directory
/// does not exist, and a seed line over the reader's 16 MiB limit. One error line naming what
/// failed, exit 1, no output, the inputs as they were.
#[test]
fn meguri_run_refuses_an_unwritable_output_and_an_overlong_seed_line() {
    let dir = Scratch::new("engine-run-bad-out");
    let seed = dir.join("seed.jsonl");
    let line = "{\"url\":\"https://a.example/x\",\"host\":\"a.example\"}\n";
    std::fs::write(&seed, line).unwrap();
    let nowhere = dir.join("missing").join("out.meguri");
    let o = run_bin(
        env!("CARGO_BIN_EXE_meguri"),
        &[
            "run",
            "--seed",
            seed.to_str().unwrap(),
            "-o",
            nowhere.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.starts_with(&format!("error: run {}: ", nowhere.display())) && err.lines().count() == 1,
        "{err}"
    );
    assert!(!dir.join("missing").exists());
    assert_eq!(std::fs::read_to_string(&seed).unwrap(), line);

    let long = dir.join("long.jsonl");
    let mut text_in = line.to_string();
    text_in.push_str(&format!(
        "{{\"url\":\"https://a.example/{}\"}}\n",
        "z".repeat((16 << 20) + 10)
    ));
    std::fs::write(&long, &text_in).unwrap();
    let out = dir.join("out.meguri");
    let o = run_bin(
        env!("CARGO_BIN_EXE_meguri"),
        &[
            "run",
            "--seed",
            long.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.contains("line 2 is longer than 16 MiB") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!out.exists());
    let names: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "only the two seed files: {names:?}");
}

/// `meguri run --seed`: a fresh partition from CDX lines, drained under the state machine.
#[test]
fn meguri_run_seeds_and_drains() {
    let dir = Scratch::new("engine-run-seed");
    let cdx = dir.join("in.cdx");
    let mut lines = String::new();
    for h in 0..5 {
        for p in 0..3 {
            lines.push_str(&format!(
                "{{\"url\":\"https://h{h}.example/p{p}\",\"host\":\"h{h}.example\"}}\n"
            ));
        }
    }
    lines.push_str("not json\n");
    std::fs::write(&cdx, lines).unwrap();
    let out = dir.join("out.meguri");
    let o = run_bin(
        env!("CARGO_BIN_EXE_meguri"),
        &[
            "run",
            "--seed",
            cdx.to_str().unwrap(),
            "--now",
            "500000",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout)
        .starts_with("ran 15 urls: 15 dispatched, 15 fetched, 0 failed, 0 pending\n"));
    let b = std::fs::read(&out).unwrap();
    let p = Reader::open(&b[..]).unwrap().partition().unwrap();
    assert_eq!((p.urls.len(), p.hosts.len(), p.id), (15, 5, 1));
    assert!(p
        .urls
        .iter()
        .all(|u| u.last_crawled == 500_000 && u.crawl_count == 1));
}

/// `meguri bench` on a small CDX file: the report renders in the reference's layout, with the
/// walls measured here, and its figures add up.
#[test]
fn meguri_bench_renders_a_sane_report() {
    let dir = Scratch::new("engine-bench");
    let cdx = dir.join("in.cdx");
    let mut lines = String::new();
    for h in 0..40 {
        for p in 0..(1 + h % 7) {
            lines.push_str(&format!(
                "{{\"url\":\"https://h{h}.example/p{p}\",\"host\":\"h{h}.example\"}}\n"
            ));
        }
    }
    std::fs::write(&cdx, lines).unwrap();
    let walls = dir.join("walls");
    std::fs::create_dir(&walls).unwrap();
    let common = [
        "bench",
        "-i",
        cdx.to_str().unwrap(),
        "--walls-dir",
        walls.to_str().unwrap(),
        "--fsync-seconds",
        "0.05",
        "--read-mib",
        "2",
    ];
    let o = run_bin(env!("CARGO_BIN_EXE_meguri"), &common);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let t = text(&o.stdout);
    let urls: u64 = (0..40).map(|h| 1 + h % 7).sum();
    assert!(
        t.starts_with(&format!(
            "measured per-partition (real corpus, {urls} urls / 40 hosts)\n"
        )),
        "{t}"
    );
    for heading in [
        "fleet projection",
        "the walls",
        "throughput analysis",
        "baseline comparison",
        "rebalance vs bandwidth",
        "corpus host-key range",
    ] {
        assert!(t.contains(heading), "{heading}: {t}");
    }
    assert!(t.contains("  false negatives     0\n"), "{t}");
    assert!(t.contains("    40 hosts, median single-host floor 1.000 fetch/s, summed polite dispatch 40.0 fetch/s"), "{t}");
    assert!(
        t.contains("measured here: "),
        "the walls say they were measured: {t}"
    );
    assert_eq!(
        std::fs::read_dir(&walls).unwrap().count(),
        0,
        "scratch files removed"
    );
    let mut args = common.to_vec();
    args.push("--json");
    let o = run_bin(env!("CARGO_BIN_EXE_meguri"), &args);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["urls"], urls);
    let regions: u64 = v["regions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bytes"].as_u64().unwrap())
        .sum();
    assert!(regions > 0 && regions < v["file_bytes"].as_u64().unwrap());
    assert!(v["selections_per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["walls"]["fsync"]["per_sec"].as_f64().unwrap() > 0.0);
    assert!(v["walls"]["read_mb_s"].as_f64().unwrap() > 0.0);
    let fp = v["fp_hits"].as_u64().unwrap() as f64 / v["fp_probes"].as_u64().unwrap() as f64;
    assert!(fp < 0.1, "{fp}");
    // No URL at all: the reference's error.
    std::fs::write(&cdx, "junk\n").unwrap();
    let o = run_bin(
        env!("CARGO_BIN_EXE_meguri"),
        &["bench", "-i", cdx.to_str().unwrap(), "--no-walls"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "error: bench: no urls read (1 lines skipped)\n"
    );
}

/// `meguri bench` on the corpus: every figure that does not depend on the encoder's bytes or
/// this machine is the reference's, line for line (`full.bench.txt`).
#[test]
fn bench_figures_match_the_reference_where_they_measure_the_same_thing() {
    use meguri::bench::{measure, walls::Walls, BenchOptions};
    let Some(g) = golden_dir() else { return };
    let b = std::fs::read(g.join("full.meguri")).unwrap();
    let p = Reader::open(&b[..]).unwrap().partition().unwrap();
    let o = BenchOptions {
        scheduler_sel_rate: Some(1e6),
        ..BenchOptions::default()
    };
    let rep = measure(&p, &o, Walls::default()).unwrap();
    let ours = rep.to_string();
    let theirs = std::fs::read_to_string(g.join("full.bench.txt")).unwrap();
    let same = [
        "measured per-partition (real corpus,",
        "  seen-set bits/url",
        "  achieved fp rate",
        "  false negatives",
        "  total frontier",
        "  urls/partition",
        "  partition count",
        "  seen-set fleet",
        "                      41.34 MB per partition",
        "    186356 hosts, median single-host floor",
        "  polite ceiling ",
        "  median host floor",
        "  fetcher-bound gap",
        "  active hosts to saturate",
        "      186356 hosts ",
        "  memory ratio",
        "  fleet                   naive",
        "  plain bloom (model)",
        "  meguri premium",
        "  moved by jump hash",
        "corpus host-key range",
    ];
    for prefix in same {
        let line = |t: &str| {
            t.lines()
                .find(|l| l.starts_with(prefix))
                .map(str::to_string)
        };
        assert_eq!(line(&ours), line(&theirs), "line {prefix:?}\n{ours}");
        assert!(
            line(&theirs).is_some(),
            "{prefix:?} not in the reference's text"
        );
    }
}
