//! The crawl engine against the reference's own drain: `meguri run --input small.meguri` wrote
//! `crawled-small.meguri` (every URL answered 200, the wall-clock start second stamped in).

use meguri::engine::drain::{drain, DrainOptions, Offline};
use meguri_core::reader::Reader;
use meguri_tests::golden_dir;

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
