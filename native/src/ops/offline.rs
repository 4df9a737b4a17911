//! `serve --offline`: a partition directory drained with the offline fetcher, in place. The
//! reference's `meguri serve` (its engine loop, not a network server).
//!
//! The steps: read the seed (if any) and the manifest (if any) first, so that a bad one stops
//! the run before the directory is opened, created or changed; open the directory as a
//! writable store (created when absent); take its live rows into one in-memory partition; add
//! the seeded URLs it does not have yet; drain it as `meguri run` does ([`crate::engine::drain`]);
//! put every row and string the seed and the drain changed through the
//! store's log; then checkpoint (a new snapshot generation, the log rotated) and close. Rows
//! are durable once the checkpoint commits, by the store's rules; a failure before that leaves
//! the previous generation current, and whatever reached the log replays at the next open.
//!
//! Memory: the directory's live rows, twice (the drained copy and the copy it is compared
//! against), whatever `--resident-budget` says: the budget bounds the store's own cache, not
//! the drain's partition.

use super::run::{per_sec, write_tally, DrainSettings};
use super::seed::{read_cdx, Seeded};
use super::{display_path, Error, Op, Progress, Refusal, Result, SeedInput};
use crate::engine::drain::{drain, intern, DrainReport, Offline};
use crate::engine::frontier::Millis;
use crate::engine::outcome::hour_of;
use crate::store::{Options, Owner, Store, StoreError};
use meguri_core::arena::{Arena, Span};
use meguri_core::manifest::{render_tiling, Manifest, Tiling};
use meguri_core::partition::Partition;
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::report::{MapView, RouteView};
use meguri_core::schema::Record;
use meguri_core::store::frame::Update;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Updates per log write.
const BATCH: usize = 1024;

/// The epoch the manifest's coverage is checked at, as the reference checks it.
pub const COVERAGE_EPOCH: u32 = 0;

/// How to serve a directory offline.
#[derive(Debug, Clone)]
pub struct OfflineOptions {
    /// The partition directory (created if absent).
    pub dir: PathBuf,
    /// A fleet manifest to report this partition's routing against.
    pub manifest: Option<PathBuf>,
    /// Most URL records the store keeps in memory (0: all).
    pub resident_budget: usize,
    /// The drain (the state machine is off on the command line unless asked: the rows are
    /// then the reference's).
    pub drain: DrainSettings,
}

/// What the seed added.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineSeed {
    /// The input as named.
    pub input: String,
    /// Lines accepted (duplicates and URLs the directory already had included): the
    /// reference's count.
    pub accepted: u64,
    /// Lines skipped.
    pub skipped: u64,
    /// URLs that were new to the directory.
    pub new_urls: u64,
    /// Host rows that were new to the directory.
    pub new_hosts: u64,
}

/// Where this partition routes in a manifest.
#[derive(Debug, Clone)]
pub struct OfflineRoute {
    /// The manifest as given.
    pub path: PathBuf,
    /// Its entries.
    pub manifest: Manifest,
    /// The key routed: the lowest host key of the partition's rows (the snapshot header's
    /// low key; 0 when there are none).
    pub host_key: u64,
    /// The tiling check at [`COVERAGE_EPOCH`].
    pub coverage: Tiling,
}

impl Serialize for OfflineRoute {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(serialize_with = "display_path")]
            path: &'a Path,
            route: RouteView<'a>,
            coverage: MapView<'a>,
        }
        Out {
            path: &self.path,
            route: RouteView {
                manifest: &self.manifest,
                host_key: self.host_key,
            },
            coverage: MapView {
                manifest: &self.manifest,
                tiling: &self.coverage,
            },
        }
        .serialize(s)
    }
}

/// What went through the store's log.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct OfflineWritten {
    /// Strings interned (seeded URLs and hosts, ETags, redirect targets).
    pub strings: u64,
    /// Host rows put.
    pub hosts: u64,
    /// URL rows put.
    pub urls: u64,
}

/// The checkpoint that ended the run.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineCheckpoint {
    /// Its generation.
    pub generation: u64,
    /// Its snapshot file.
    #[serde(serialize_with = "display_path")]
    pub snapshot: PathBuf,
}

/// Wall-clock seconds of each phase, rounded to 0.1 ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct OfflineSeconds {
    /// Reading the seed and the manifest.
    pub inputs: f64,
    /// Opening the directory and taking its rows.
    pub open: f64,
    /// The drain.
    pub drain: f64,
    /// Putting the changed rows through the log.
    pub write: f64,
    /// The checkpoint and close.
    pub checkpoint: f64,
    /// All of it.
    pub total: f64,
}

/// What `serve --offline` did.
///
/// JSON: `{data, generation_opened, frames_replayed, seed{input, accepted, skipped, new_urls,
/// new_hosts} | null, start_ms, now_hour, state_machine, workers, drain{ran, dispatched,
/// fetched, failed, pending, urls, rounds, span_ms}, written{strings, hosts, urls},
/// manifest{path, route{…}, coverage{…}} | null, checkpoint{generation, snapshot}, urls,
/// hosts, selections_per_sec, seconds{inputs, open, drain, write, checkpoint, total}}`.
#[derive(Debug, Clone, Serialize)]
pub struct OfflineReport {
    /// The directory.
    #[serde(serialize_with = "display_path")]
    pub data: PathBuf,
    /// The generation the directory was at (0: no checkpoint yet, or created now).
    pub generation_opened: u64,
    /// Log frames replayed when it opened.
    pub frames_replayed: u64,
    /// The seed, if one was given.
    pub seed: Option<OfflineSeed>,
    /// The drain's start, milliseconds since the epoch.
    pub start_ms: Millis,
    /// Its hour, the one stamped into crawled rows.
    pub now_hour: u32,
    /// Whether outcomes went through meguri's state machine.
    pub state_machine: bool,
    /// Workers asked for (0 resolved to the default).
    pub workers: usize,
    /// The drain's tally.
    pub drain: DrainReport,
    /// What was put through the log.
    pub written: OfflineWritten,
    /// The routing report, if a manifest was given.
    pub manifest: Option<OfflineRoute>,
    /// The checkpoint.
    pub checkpoint: OfflineCheckpoint,
    /// Live URL rows afterwards.
    pub urls: u64,
    /// Host rows afterwards.
    pub hosts: u64,
    /// Dispatches per second of the drain's wall-clock time.
    pub selections_per_sec: f64,
    /// Time per phase.
    pub seconds: OfflineSeconds,
}

impl fmt::Display for OfflineReport {
    /// The reference's lines: what was seeded, the drain's tally, the routing report, the
    /// checkpoint.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.seed {
            writeln!(f, "seeded {} urls from {}", s.accepted, s.input)?;
        }
        write_tally(f, "served", &self.drain)?;
        if let Some(m) = &self.manifest {
            match m.manifest.route(m.host_key) {
                Some(e) => writeln!(
                    f,
                    "manifest: host-key 0x{:016x} routes to partition {} ({})",
                    m.host_key,
                    e.partition_id,
                    e.file_ref_str()
                )?,
                None => writeln!(
                    f,
                    "manifest: host-key 0x{:016x} has no owning partition",
                    m.host_key
                )?,
            }
            let prefix = format!("manifest: at epoch {}, ", m.coverage.epoch);
            f.write_str(&render_tiling(&m.manifest, &m.coverage, &prefix))?;
        }
        writeln!(f, "checkpointed {}", self.checkpoint.snapshot.display())
    }
}

/// A store error of `serve`.
fn store_err(source: StoreError) -> Error {
    Error::Store {
        op: Op::Serve,
        path: None,
        source: Box::new(source),
    }
}

/// Seeds (from `seed`, if given), drains and checkpoints the directory `opts.dir`. `progress`
/// hears the seed's reading and what recovery noticed.
pub fn serve_offline(
    seed: Option<SeedInput>,
    opts: &OfflineOptions,
    progress: &mut dyn Progress,
) -> Result<OfflineReport> {
    let started = Instant::now();
    let manifest = match &opts.manifest {
        Some(path) => Some((path.clone(), super::map::read_manifest(Op::Serve, path)?)),
        None => None,
    };
    let seeded = match seed {
        Some(input) => {
            let name = input.name();
            let s = read_cdx(
                Op::Serve,
                input,
                opts.drain.priority,
                opts.drain.crawl_delay,
                progress,
            )?;
            Some((name, s))
        }
        None => None,
    };
    let t_inputs = started.elapsed();

    let store = Store::open(
        &opts.dir,
        Options {
            resident_budget: opts.resident_budget,
            ..Options::default()
        },
    )
    .map_err(store_err)?;
    for event in &store.recovery().events {
        progress.note(Op::Serve, &event.to_string());
    }
    let mut p = store.partition().map_err(store_err)?;
    let owner = store.owner();
    // Redirect targets are taken anywhere the directory owns, not just where rows are now.
    (p.hostkey_lo, p.hostkey_hi) = (owner.lo, owner.hi);
    let before = Before {
        urls: p.urls.clone(),
        hosts: p.hosts.clone(),
        arena_len: p.arena.len(),
    };
    let seed_report = match seeded {
        Some((input, s)) => Some(add_seed(&mut p, &s, &owner, input)?),
        None => None,
    };
    let t_open = started.elapsed();

    let d = &opts.drain;
    let drained = drain(&mut p, &mut Offline, &d.options());
    let t_drain = started.elapsed();

    let written = write_back(&store, &before, &p).map_err(store_err)?;
    drop(before);
    let t_write = started.elapsed();

    let route = manifest.map(|(path, manifest)| OfflineRoute {
        host_key: lowest_host_key(&p),
        coverage: manifest.tiling_at(COVERAGE_EPOCH),
        path,
        manifest,
    });
    drop(p);
    let generation = store.checkpoint().map_err(store_err)?;
    let snapshot = opts.dir.join(store.snapshot_name().unwrap_or_default());
    let (urls, hosts) = (store.url_count() as u64, store.host_count() as u64);
    let (generation_opened, frames_replayed) = (store.recovery().gen, store.recovery().frames);
    store.close().map_err(store_err)?;
    let t_total = started.elapsed();

    let secs = |d: Duration| (d.as_secs_f64() * 1e4).round() / 1e4;
    Ok(OfflineReport {
        data: opts.dir.clone(),
        generation_opened,
        frames_replayed,
        seed: seed_report,
        start_ms: d.start,
        now_hour: hour_of(d.start),
        state_machine: d.state_machine,
        workers: d.workers(),
        selections_per_sec: per_sec(drained.dispatched, (t_drain - t_open).as_secs_f64()),
        drain: drained,
        written,
        manifest: route,
        checkpoint: OfflineCheckpoint {
            generation,
            snapshot,
        },
        urls,
        hosts,
        seconds: OfflineSeconds {
            inputs: secs(t_inputs),
            open: secs(t_open - t_inputs),
            drain: secs(t_drain - t_open),
            write: secs(t_write - t_drain),
            checkpoint: secs(t_total - t_write),
            total: secs(t_total),
        },
    })
}

/// The directory's rows as they were opened: what the drained rows are compared against.
struct Before {
    urls: Vec<UrlRecord>,
    hosts: Vec<HostRecord>,
    arena_len: usize,
}

/// The lowest host key of `p`'s rows, as a snapshot of them has in its header (0 for none).
fn lowest_host_key(p: &Partition) -> u64 {
    [
        p.urls.first().map(|u| u.key.host),
        p.hosts.first().map(|h| h.host_key),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(0)
}

/// Adds the seeded URLs `p` does not have (a URL it has is left as it is, as the reference's
/// seeding ignores a key it has seen), with their strings and, for new hosts, host rows; a
/// host row gains the count of its new URLs. Refused, with `p` unchanged, when a new URL lies
/// outside the directory's owned range.
fn add_seed(p: &mut Partition, s: &Seeded, owner: &Owner, input: String) -> Result<OfflineSeed> {
    let sp = &s.partition;
    let fresh: Vec<&UrlRecord> = sp
        .urls
        .iter()
        .filter(|u| p.urls.binary_search_by_key(&u.key, |r| r.key).is_err())
        .collect();
    let outside: Vec<u64> = fresh
        .iter()
        .map(|u| u.key.host)
        .filter(|&h| h < owner.lo || h > owner.hi)
        .collect();
    if let Some(&first) = outside.first() {
        return Err(Error::Refused {
            op: Op::Serve,
            path: None,
            refusal: Refusal::SeedOutsideRange {
                count: outside.len() as u64,
                first,
                lo: owner.lo,
                hi: owner.hi,
            },
        });
    }
    // Each seeded string is copied into the directory's arena once, however many rows share it.
    let theirs = Arena(&sp.arena);
    let mut moved: HashMap<u64, u64> = HashMap::new();
    let mut rebase = |arena: &mut Vec<u8>, r: u64| -> u64 {
        if r == 0 {
            return 0;
        }
        *moved.entry(r).or_insert_with(|| match theirs.span(r) {
            Span::Present(b) => intern(arena, b),
            // The seeder wrote these references itself: nothing else can be there.
            _ => 0,
        })
    };
    let mut per_host: BTreeMap<u64, u32> = BTreeMap::new();
    for u in &fresh {
        let mut u = **u;
        u.map_arena_refs(|r| rebase(&mut p.arena, r));
        *per_host.entry(u.key.host).or_default() += 1;
        p.urls.push(u);
    }
    let mut new_hosts = 0u64;
    let known = p.hosts.len();
    for (&hk, &n) in &per_host {
        match p.hosts[..known].binary_search_by_key(&hk, |h| h.host_key) {
            Ok(i) => p.hosts[i].url_count = p.hosts[i].url_count.saturating_add(n),
            Err(_) => {
                let Ok(j) = sp.hosts.binary_search_by_key(&hk, |h| h.host_key) else {
                    continue;
                };
                let mut h = sp.hosts[j];
                h.map_arena_refs(|r| rebase(&mut p.arena, r));
                h.url_count = n;
                p.hosts.push(h);
                new_hosts += 1;
            }
        }
    }
    p.urls.sort_by_key(|u| u.key);
    p.hosts.sort_by_key(|h| h.host_key);
    Ok(OfflineSeed {
        input,
        accepted: s.lines - s.skipped,
        skipped: s.skipped,
        new_urls: fresh.len() as u64,
        new_hosts,
    })
}

/// The rows of `now` (sorted by `key`) that are new or differ from their version in `then`
/// (sorted the same way).
fn changed<T: PartialEq + Copy, K: Ord>(then: &[T], now: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut out = Vec::new();
    let mut i = 0;
    for r in now {
        let k = key(r);
        while i < then.len() && key(&then[i]) < k {
            i += 1;
        }
        if !(i < then.len() && key(&then[i]) == k && then[i] == *r) {
            out.push(*r);
        }
    }
    out
}

/// Puts what changed between `before` and `p` through the store's log: the strings appended
/// to the arena first (so the rows' references resolve), then host rows, then URL rows.
fn write_back(
    store: &Store,
    before: &Before,
    p: &Partition,
) -> crate::store::Result<OfflineWritten> {
    let mut w = OfflineWritten::default();
    // The partition's arena is the store's, extended: interning the new entries in order gives
    // them the same offsets in the store.
    let arena = Arena(&p.arena);
    let mut strings = Vec::new();
    let mut at = before.arena_len;
    while at < p.arena.len() {
        let Span::Present(s) = arena.span(at as u64) else {
            break;
        };
        strings.push(Update::Intern(s));
        at += meguri_core::bytes::uvarint_len(s.len() as u64) + s.len();
    }
    for chunk in strings.chunks(BATCH) {
        store.apply(chunk)?;
    }
    w.strings = strings.len() as u64;
    let hosts = changed(&before.hosts, &p.hosts, |h| h.host_key);
    for chunk in hosts.chunks(BATCH) {
        let batch: Vec<Update<'_>> = chunk.iter().map(|h| Update::PutHost(*h)).collect();
        store.apply(&batch)?;
    }
    w.hosts = hosts.len() as u64;
    let urls = changed(&before.urls, &p.urls, |u| u.key);
    for chunk in urls.chunks(BATCH) {
        let batch: Vec<Update<'_>> = chunk.iter().map(|u| Update::PutUrl(*u)).collect();
        store.apply(&batch)?;
    }
    w.urls = urls.len() as u64;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::Scratch;
    use crate::ops::Silent;

    fn lines(urls: &[&str]) -> SeedInput {
        let text: String = urls
            .iter()
            .map(|u| format!("{{\"url\":\"{u}\"}}\n"))
            .collect();
        SeedInput::Stream {
            name: "<test>".into(),
            reader: Box::new(std::io::Cursor::new(text.into_bytes())),
        }
    }

    #[test]
    fn only_what_the_seed_and_the_drain_changed_goes_through_the_log() {
        let d = Scratch::new("ops-offline");
        let opts = OfflineOptions {
            dir: d.join("part"),
            manifest: None,
            resident_budget: 2,
            drain: DrainSettings {
                start: 500_000 * 3_600_000,
                wall: false,
                state_machine: false,
                workers: 0,
                priority: 0.5,
                crawl_delay: 10,
            },
        };
        let seed = lines(&[
            "https://a.example/1",
            "https://a.example/2",
            "https://b.example/",
        ]);
        let r = serve_offline(Some(seed), &opts, &mut Silent).unwrap();
        let w = r.written;
        // Three URL strings, two host names.
        assert_eq!((w.strings, w.hosts, w.urls), (5, 2, 3));
        assert_eq!((r.drain.dispatched, r.checkpoint.generation), (3, 1));
        assert_eq!(r.workers, crate::ops::run::DEFAULT_WORKERS);
        // Nothing new, nothing due: no frame at all, one more generation.
        let seed = lines(&["https://a.example/1"]);
        let r = serve_offline(Some(seed), &opts, &mut Silent).unwrap();
        let w = r.written;
        assert_eq!((w.strings, w.hosts, w.urls), (0, 0, 0));
        assert_eq!(
            r.seed.as_ref().map(|s| (s.accepted, s.new_urls)),
            Some((1, 0))
        );
        assert_eq!((r.drain.dispatched, r.checkpoint.generation), (0, 2));
        assert_eq!((r.urls, r.hosts), (3, 2));
        // A new URL of a known host: its row, its string and the host's count.
        let seed = lines(&["https://b.example/x"]);
        let r = serve_offline(Some(seed), &opts, &mut Silent).unwrap();
        let w = r.written;
        assert_eq!((w.strings, w.hosts, w.urls), (1, 1, 1));
        assert_eq!(r.seed.map(|s| s.new_hosts), Some(0));
    }

    #[test]
    fn changed_rows_are_the_new_and_the_different() {
        let then = [(1, 'a'), (3, 'c'), (5, 'e')];
        let now = [(0, 'z'), (1, 'a'), (3, 'C'), (4, 'd'), (5, 'e')];
        assert_eq!(
            changed(&then, &now, |r| r.0),
            vec![(0, 'z'), (3, 'C'), (4, 'd')]
        );
        assert!(changed(&then, &then, |r| r.0).is_empty());
    }
}
