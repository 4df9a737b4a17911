//! The drain: every URL due when it starts is dispatched through the frontier, fetched, and its
//! outcome folded into its row, until nothing of this drain is left to fetch. What `meguri run`
//! and `meguri serve --offline` do with the offline fetcher.
//!
//! Time is a logical clock unless the drain runs on the wall clock: when no queue can hand out
//! a URL, the clock jumps to the moment one can (a politeness delay, a retry's back-off), so a
//! drain of hours of politeness takes the milliseconds its work takes, and its rows depend on
//! its inputs and start time alone.
//!
//! Invariants: each dispatch goes through [`Frontier::take`] (the politeness gate); a queue's
//! host row records when it may next be fetched; a URL fetched successfully leaves the drain
//! (its next visit is for a later one), a failing one comes back at its back-off until it is
//! Gone; redirect targets are discovered as new rows in the same drain. The arena is only
//! ever appended to (a validator, a redirect target, a new host's name): the bytes it had when
//! the drain started are never rewritten, so a caller may compress them meanwhile
//! ([`drain_over`]).

use super::frontier::{FastMap, Frontier, Gate, Millis, Take};
use super::outcome::{self, apply, dispatched, status, Outcome};
use super::rows::DrainRows;
use meguri_core::keys::{seed_key, UrlKey};
use meguri_core::partition::Partition;
use meguri_core::records::{HostRecord, UrlRecord};
use std::collections::HashMap;

/// Fetches a URL and says what came back.
pub trait Fetcher {
    /// The outcome of fetching `url` (row `row`) at `at`.
    fn fetch(&mut self, url: &str, row: &UrlRecord, at: Millis) -> Outcome;

    /// Whether [`Fetcher::fetch`] reads its `url` (otherwise it is given an empty one, and the
    /// drain skips reading the arena for each dispatch).
    fn reads_urls(&self) -> bool {
        true
    }
}

/// The reference's offline fetcher: every URL answers 200 with nothing to record.
#[derive(Debug, Default, Clone, Copy)]
pub struct Offline;

impl Fetcher for Offline {
    fn fetch(&mut self, _url: &str, _row: &UrlRecord, _at: Millis) -> Outcome {
        Outcome::Fetched {
            http: 200,
            content_fp: 0,
            simhash: 0,
            etag: None,
            last_modified: None,
        }
    }

    fn reads_urls(&self) -> bool {
        false
    }
}

/// How a drain runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrainOptions {
    /// When it starts (milliseconds since the epoch); the logical clock starts here.
    pub start: Millis,
    /// Wait for politeness on the wall clock instead of jumping a logical clock.
    pub wall: bool,
    /// Fold outcomes through the state machine (otherwise every fetch is a crawl).
    pub state_machine: bool,
    /// Crawl delay of hosts whose row has none, in milliseconds.
    pub default_delay: Millis,
    /// Priority of discovered redirect targets.
    pub priority: f32,
    /// Queues served at most per dispatch round (0: no limit): the bound on active hosts.
    pub max_active: usize,
}

/// What a drain did, in the reference's words: `ran N urls: D dispatched, F fetched, X failed,
/// P pending`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct DrainReport {
    /// URLs in the partition when the drain started.
    pub ran: u64,
    /// Dispatches (a URL retried counts each time).
    pub dispatched: u64,
    /// Fetches that got an HTTP answer (any status).
    pub fetched: u64,
    /// Fetches that got none (timeouts, resets).
    pub failed: u64,
    /// URLs still waiting when the drain stopped.
    pub pending: u64,
    /// URLs in the partition when it ended (redirect targets added).
    pub urls: u64,
    /// Rounds of dispatch (each hands out one URL per ready queue).
    pub rounds: u64,
    /// Logical (or wall) milliseconds the drain covered.
    pub span_ms: u64,
}

/// Whether a row is dispatched by a drain starting at `hour`: schedulable and due (a zero
/// `next_due` counts as due).
pub fn due_now(u: &UrlRecord, hour: u32) -> bool {
    status::schedulable(u.status) && u.next_due <= hour
}

/// Drains `p` with `fetcher`. Rows are updated in place; redirect targets are added (the rows
/// are sorted again at the end, arena references kept).
pub fn drain(p: &mut Partition, fetcher: &mut dyn Fetcher, o: &DrainOptions) -> DrainReport {
    let base = std::mem::take(&mut p.arena);
    let (rep, added) = drain_over(p, Base::Held(&base), fetcher, o);
    p.arena = base;
    p.arena.extend_from_slice(&added);
    rep
}

/// The arena a drain starts from ([`drain_over`]).
#[derive(Debug, Clone, Copy)]
pub enum Base<'a> {
    /// Its bytes.
    Held(&'a [u8]),
    /// Only its length, for a fetcher that reads no URL ([`Fetcher::reads_urls`]): the drain
    /// itself only appends, so `run` recompresses a file's arena from the file meanwhile and
    /// never holds it.
    Unread(u64),
}

/// As [`drain`], with `p`'s arena held apart as `arena` (read only here; `p.arena` is not
/// used). Returns the report and the bytes the drain appends to the arena: `arena ‖ added` is
/// the drained partition's arena, and `added` is empty when no fetch added text.
///
/// # Panics
/// When `arena` is [`Base::Unread`] and the fetcher reads URLs.
pub fn drain_over<R: DrainRows + ?Sized>(
    p: &mut R,
    arena: Base<'_>,
    fetcher: &mut dyn Fetcher,
    o: &DrainOptions,
) -> (DrainReport, Vec<u8>) {
    let reads_urls = fetcher.reads_urls();
    assert!(
        !reads_urls || matches!(arena, Base::Held(_)),
        "a fetcher that reads URLs needs the arena's bytes"
    );
    let mut arena = Appended::new(arena);
    let mut rep = DrainReport {
        ran: p.url_count() as u64,
        ..Default::default()
    };
    let (urls_before, hosts_before) = (p.url_count(), p.host_count());
    let mut hosts = HostRows::new(p, o.default_delay);
    let mut f: Frontier<u32> = Frontier::new(o.default_delay);
    let start_hour = outcome::hour_of(o.start);
    f.rebuild(p.host_count(), p.url_count(), |fr| {
        // Rows are in key order, so each host's URLs come together.
        let mut last = None;
        for i in 0..p.url_count() {
            let u = p.url(i);
            if due_now(&u, start_hour) {
                let q = u.key.host;
                if last != Some(q) && !fr.has_queue(q) {
                    fr.set_gate(q, hosts.gate(p, q));
                }
                last = Some(q);
                fr.push(q, i as u32, o.start, u.priority);
            }
        }
    });
    let mut known: Option<HashMap<UrlKey, u32>> = None;
    let mut now = o.start;
    // A round hands out at most one URL per queue, and there is about a queue per host row.
    let mut out = Vec::with_capacity(p.host_count());
    let take = Take {
        max_queues: o.max_active,
        max_per_queue: 1,
        // Outcomes come back within the round: nothing to hold.
        lease: None,
        queue: None,
    };
    loop {
        out.clear();
        f.take(now, &take, &mut out);
        if out.is_empty() {
            match f.next_ready() {
                Some(t) if t > now => {
                    if o.wall {
                        let wait = t - now;
                        std::thread::sleep(std::time::Duration::from_millis(wait));
                        now = wall_now().max(t);
                    } else {
                        now = t;
                    }
                    continue;
                }
                _ => break,
            }
        }
        rep.rounds += 1;
        for h in &out {
            let row = h.id as usize;
            rep.dispatched += 1;
            let mut u = p.url(row);
            let outcome = if reads_urls {
                let url = arena.get(u.url_ref);
                fetcher.fetch(&String::from_utf8_lossy(url), &u, now)
            } else {
                fetcher.fetch("", &u, now)
            };
            if outcome.failed() {
                rep.failed += 1;
            } else {
                rep.fetched += 1;
            }
            let hi = hosts.row(p, h.queue);
            let mut host = p.host(hi);
            let delay = hosts.delay(&host);
            dispatched(&mut host, now, delay);
            let fx = apply(&mut u, &mut host, &outcome, now, o.state_machine);
            // Before a redirect's discovery, which may update the same host row.
            p.set_host(hi, &host);
            if let Some(tag) = &fx.etag {
                u.etag_ref = arena.intern(tag);
            }
            if let Some(target) = &fx.redirect {
                u.redirect_ref = arena.intern(target);
                let map = known.get_or_insert_with(|| {
                    (0..p.url_count())
                        .map(|i| (p.url(i).key, i as u32))
                        .collect()
                });
                if let Some(new) = discover(p, &mut arena, &mut hosts, map, target, o, u.depth, now)
                {
                    let n = p.url(new as usize);
                    f.push(n.key.host, new, now, n.priority);
                    let q = n.key.host;
                    if f.gate(q).delay.is_none() {
                        f.set_gate(q, hosts.gate(p, q));
                    }
                }
            }
            p.set_url(row, &u);
            if let Some(at) = fx.retry_at {
                f.push(h.queue, h.id, at, u.priority);
            }
            if let Some(until) = fx.block_host_until {
                let mut g = f.gate(h.queue);
                g.blocked_until = g.blocked_until.max(until);
                f.set_gate(h.queue, g);
                let hi = hosts.row(p, h.queue);
                let mut host = p.host(hi);
                host.host_next_eligible = host.host_next_eligible.max(outcome::secs_ceil(until));
                p.set_host(hi, &host);
            }
        }
    }
    rep.pending = f.counts().queued;
    rep.span_ms = now - o.start;
    // Host rows are made for redirect targets and for queues whose host had none: either way
    // they were appended, and the table must stay in key order.
    p.sort(p.url_count() != urls_before, p.host_count() != hosts_before);
    rep.urls = p.url_count() as u64;
    (rep, arena.into_added())
}

fn wall_now() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// An arena the drain reads and appends to without changing its first bytes.
struct Appended<'a> {
    /// The first bytes, when held (empty otherwise).
    base: &'a [u8],
    /// Their length.
    base_len: u64,
    /// The appended entries after one 0 byte: the arena's sentinel when `base` is empty;
    /// otherwise a byte that is not part of the arena, there so that no entry here sits at
    /// offset 0, which the arena's read rule takes for "none".
    added: Vec<u8>,
}

impl<'a> Appended<'a> {
    fn new(base: Base<'a>) -> Self {
        let (base, base_len) = match base {
            Base::Held(b) => (b, b.len() as u64),
            Base::Unread(n) => (&[][..], n),
        };
        Appended {
            base,
            base_len,
            added: vec![0],
        }
    }

    /// The offset in the whole arena of `added[0]`.
    fn start(&self) -> u64 {
        self.base_len.saturating_sub(1)
    }

    /// The entry at `at` (empty for 0 or a reference that resolves nowhere: the fetcher is told
    /// an empty URL rather than the drain stopping).
    fn get(&self, at: u64) -> &[u8] {
        let arena = meguri_core::arena::Arena;
        if at < self.base_len {
            arena(self.base).get(at)
        } else {
            arena(&self.added).get(at - self.start())
        }
        .unwrap_or_default()
    }

    /// As [`intern`] on the whole arena (`base` and what was appended).
    fn intern(&mut self, s: impl AsRef<[u8]>) -> u64 {
        self.start() + intern(&mut self.added, s)
    }

    /// The bytes to append to `base` (none when nothing was interned).
    fn into_added(mut self) -> Vec<u8> {
        match (self.added.len(), self.base_len == 0) {
            (1, _) => Vec::new(),
            (_, true) => self.added,
            (_, false) => self.added.split_off(1),
        }
    }
}

/// Appends an arena entry (`varint len ‖ bytes`) and returns its offset.
pub fn intern(arena: &mut Vec<u8>, s: impl AsRef<[u8]>) -> u64 {
    let s = s.as_ref();
    if arena.is_empty() {
        arena.push(0);
    }
    let at = arena.len() as u64;
    meguri_core::bytes::put_uvarint(arena, s.len() as u64);
    arena.extend_from_slice(s);
    at
}

/// The host rows, found by key, with the delay rule. The rows the drain starts with are found
/// through their keys (a partition's host table is in key order), those it appends through a
/// map: a map of every row would take 4.5 MB for the 186,356 hosts of `full.meguri`, the keys
/// take 1.5 MB.
struct HostRows {
    /// Keys of the first rows, ascending.
    keys: Vec<u64>,
    /// Rows the drain appended (every row, when the table was not in key order).
    added: FastMap<u64, usize>,
    /// The row found last: a round visits its queues in key order, so the next one asked for
    /// is often the row after it.
    last: usize,
    default_delay: Millis,
}

impl HostRows {
    fn new<R: DrainRows + ?Sized>(p: &R, default_delay: Millis) -> Self {
        let keys: Vec<u64> = (0..p.host_count()).map(|i| p.host(i).host_key).collect();
        let (keys, added) = if keys.windows(2).all(|w| w[0] < w[1]) {
            (keys, FastMap::default())
        } else {
            let all = keys.iter().enumerate().map(|(i, &k)| (k, i)).collect();
            (Vec::new(), all)
        };
        HostRows {
            keys,
            added,
            last: 0,
            default_delay,
        }
    }

    /// The row of a host, if it has one.
    fn find(&mut self, host: u64) -> Option<usize> {
        let near = [self.last, self.last + 1]
            .into_iter()
            .find(|&i| self.keys.get(i) == Some(&host));
        match near.or_else(|| self.keys.binary_search(&host).ok()) {
            Some(i) => {
                self.last = i;
                Some(i)
            }
            None => self.added.get(&host).copied(),
        }
    }

    /// The crawl delay of a host row (deciseconds; 0: the default).
    fn delay(&self, h: &HostRecord) -> Millis {
        if h.crawl_delay == 0 {
            self.default_delay
        } else {
            u64::from(h.crawl_delay) * 100
        }
    }

    /// The gate a host's row implies: its delay, and its next eligible second as a block.
    fn gate<R: DrainRows + ?Sized>(&mut self, p: &R, host: u64) -> Gate {
        match self.find(host) {
            Some(i) => {
                let h = p.host(i);
                Gate {
                    delay: Some(self.delay(&h)),
                    blocked_until: u64::from(h.host_next_eligible) * 1000,
                    ..Gate::default()
                }
            }
            None => Gate::default(),
        }
    }

    /// The row of a host, made when missing (a URL whose host has no row).
    fn row<R: DrainRows + ?Sized>(&mut self, p: &mut R, host: u64) -> usize {
        if let Some(i) = self.find(host) {
            return i;
        }
        p.push_host(HostRecord {
            host_key: host,
            ..Default::default()
        });
        let i = p.host_count() - 1;
        self.added.insert(host, i);
        i
    }
}

/// Adds a redirect target as a new row (keyed as `seed` keys URLs) unless it is known or falls
/// outside the partition's range; returns its row.
#[allow(clippy::too_many_arguments)]
fn discover<R: DrainRows + ?Sized>(
    p: &mut R,
    arena: &mut Appended<'_>,
    hosts: &mut HostRows,
    known: &mut HashMap<UrlKey, u32>,
    target: &str,
    o: &DrainOptions,
    depth: u16,
    now: Millis,
) -> Option<u32> {
    let key = seed_key(target, "");
    let (lo, hi) = p.hostkey_range();
    if known.contains_key(&key) || key.host < lo || key.host > hi {
        return None;
    }
    let url_ref = arena.intern(target);
    let row = p.url_count() as u32;
    p.push_url(UrlRecord {
        key,
        status: status::SCHEDULED,
        priority: o.priority,
        depth: depth.saturating_add(1),
        discovery_source: outcome::source::REDIRECT,
        url_ref,
        first_seen: outcome::hour_of(now),
        ..Default::default()
    });
    known.insert(key, row);
    let hi = hosts.row(p, key.host);
    let mut h = p.host(hi);
    if h.host_ref == 0 {
        let name = meguri_core::keys::host_of(target);
        let r = arena.intern(name);
        h.host_ref = r;
        h.registrable_ref = r;
        h.crawl_delay = (o.default_delay / 100).min(u64::from(u16::MAX)) as u16;
    }
    h.url_count = h.url_count.saturating_add(1);
    p.set_host(hi, &h);
    Some(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(hosts: &[(&str, usize)]) -> Partition {
        let mut p = Partition {
            id: 1,
            hostkey_hi: u64::MAX,
            arena: vec![0],
            ..Default::default()
        };
        for (name, n) in hosts {
            let hk = meguri_core::keys::host_key_of(name.as_bytes());
            let r = intern(&mut p.arena, name);
            p.hosts.push(HostRecord {
                host_key: hk,
                host_ref: r,
                registrable_ref: r,
                crawl_delay: 10,
                url_count: *n as u32,
                ..Default::default()
            });
            for i in 0..*n {
                let url = format!("https://{name}/p/{i}");
                let key = seed_key(&url, name);
                let url_ref = intern(&mut p.arena, &url);
                p.urls.push(UrlRecord {
                    key,
                    status: status::SCHEDULED,
                    priority: 0.5,
                    url_ref,
                    ..Default::default()
                });
            }
        }
        p.urls.sort_by_key(|u| u.key);
        p.hosts.sort_by_key(|h| h.host_key);
        p
    }

    fn opts(start: Millis) -> DrainOptions {
        DrainOptions {
            start,
            wall: false,
            state_machine: false,
            default_delay: 1000,
            priority: 0.5,
            max_active: 0,
        }
    }

    /// Records every dispatch's time per host.
    struct Spy(HashMap<u64, Vec<Millis>>);

    impl Fetcher for Spy {
        fn fetch(&mut self, url: &str, row: &UrlRecord, at: Millis) -> Outcome {
            self.0.entry(row.key.host).or_default().push(at);
            Offline.fetch(url, row, at)
        }
    }

    #[test]
    fn every_due_url_is_fetched_once_one_delay_apart_per_host() {
        let mut p = partition(&[("a.example", 3), ("b.example", 1), ("c.example", 5)]);
        let start = 1_795_240_232_000;
        let mut spy = Spy(HashMap::new());
        let rep = drain(&mut p, &mut spy, &opts(start));
        assert_eq!(
            (
                rep.ran,
                rep.dispatched,
                rep.fetched,
                rep.failed,
                rep.pending
            ),
            (9, 9, 9, 0, 0)
        );
        for times in spy.0.values() {
            for w in times.windows(2) {
                assert!(w[1] - w[0] >= 1000, "{times:?}");
            }
        }
        let c = p
            .hosts
            .iter()
            .find(|h| h.url_count == 5)
            .expect("c.example");
        // Dispatched at start, +1 s, ... +4 s; eligible again a second after the last.
        assert_eq!(c.host_next_eligible, 1_795_240_232 + 5);
        assert_eq!(c.crawl_total, 5);
        assert!(p.urls.iter().all(|u| u.status == status::CRAWLED
            && u.last_crawled == 498_677
            && u.next_due == 498_677 + 168));
        // Crawled rows are not due again in the same week: a second drain does nothing.
        let rep = drain(&mut p, &mut Offline, &opts(start + 3_600_000));
        assert_eq!(rep.dispatched, 0);
    }

    #[test]
    fn host_rows_made_for_hostless_urls_keep_the_table_in_key_order() {
        let mut p = partition(&[("a.example", 2), ("b.example", 2), ("c.example", 2)]);
        // Drop every host row but the highest: the drain makes rows for the others.
        let top = p.hosts.iter().map(|h| h.host_key).max().unwrap();
        p.hosts.retain(|h| h.host_key == top);
        let rep = drain(&mut p, &mut Offline, &opts(1_000 * 3_600_000));
        assert_eq!(rep.dispatched, 6);
        assert_eq!(p.hosts.len(), 3);
        assert!(
            p.hosts.windows(2).all(|w| w[0].host_key < w[1].host_key),
            "host rows sorted"
        );
        assert!(p.hosts.iter().all(|h| h.crawl_total == 2));
    }

    /// Outcomes by a hash of the URL: 404s retried, redirects discovered.
    struct Mixed;

    impl Fetcher for Mixed {
        fn fetch(&mut self, url: &str, _row: &UrlRecord, _at: Millis) -> Outcome {
            if url.ends_with("/p/0") {
                Outcome::NotFound { http: 404 }
            } else if url.ends_with("/p/1") {
                Outcome::Redirect {
                    http: 301,
                    target: format!("{url}/"),
                }
            } else {
                Offline.fetch(url, _row, _at)
            }
        }
    }

    #[test]
    fn the_state_machine_retries_and_discovers() {
        let mut p = partition(&[("a.example", 3), ("b.example", 2)]);
        let o = DrainOptions {
            state_machine: true,
            ..opts(1_000 * 3_600_000)
        };
        let rep = drain(&mut p, &mut Mixed, &o);
        // Two 404 rows tried five times each; two redirects add two rows, fetched once each.
        assert_eq!(rep.urls, 7);
        assert_eq!(rep.dispatched, 2 * 5 + 3 + 2);
        assert_eq!((rep.fetched, rep.failed), (15, 0), "a 404 is an answer");
        assert_eq!(rep.pending, 0);
        let gone = p.urls.iter().filter(|u| u.status == status::GONE).count();
        assert_eq!(gone, 2);
        let found = p
            .urls
            .iter()
            .filter(|u| u.discovery_source == outcome::source::REDIRECT)
            .count();
        assert_eq!(found, 2);
        assert!(
            p.urls.windows(2).all(|w| w[0].key < w[1].key),
            "rows sorted"
        );
    }

    /// Every URL text it was handed, in order.
    struct Told(Vec<String>);

    impl Fetcher for Told {
        fn fetch(&mut self, url: &str, row: &UrlRecord, at: Millis) -> Outcome {
            self.0.push(url.to_owned());
            Mixed.fetch(url, row, at)
        }
    }

    #[test]
    fn a_drain_only_appends_to_the_arena_and_reads_back_what_it_appended() {
        let o = DrainOptions {
            state_machine: true,
            ..opts(1_000 * 3_600_000)
        };
        // Held apart: the base is never written, the appended bytes come back.
        let mut apart = partition(&[("a.example", 3), ("b.example", 2)]);
        let base = std::mem::take(&mut apart.arena);
        let mut told = Told(Vec::new());
        let (rep, added) = drain_over(&mut apart, Base::Held(&base), &mut told, &o);
        assert!(!added.is_empty(), "redirect targets were interned");
        // The same drain in place: its arena is the base followed by exactly those bytes.
        let mut whole = partition(&[("a.example", 3), ("b.example", 2)]);
        assert_eq!(whole.arena, base);
        assert_eq!(drain(&mut whole, &mut Mixed, &o), rep);
        assert_eq!(whole.arena, [&base[..], &added[..]].concat());
        apart.arena = whole.arena.clone();
        assert_eq!(apart, whole);
        // Each redirect target was fetched under its own text, read from the appended part.
        for target in ["https://a.example/p/1/", "https://b.example/p/1/"] {
            assert!(
                told.0.iter().any(|u| u == target),
                "{target} in {:?}",
                told.0
            );
        }
        let arena = meguri_core::arena::Arena(&whole.arena);
        for u in &whole.urls {
            let text = String::from_utf8(arena.get(u.url_ref).unwrap().to_vec()).unwrap();
            assert!(text.starts_with("https://"), "{text}");
        }
        // The offline fetcher adds nothing, and is handed no text.
        let mut p = partition(&[("a.example", 3)]);
        let base = std::mem::take(&mut p.arena);
        let (rep, added) = drain_over(
            &mut p,
            Base::Held(&base),
            &mut Offline,
            &opts(1_000 * 3_600_000),
        );
        assert_eq!((rep.dispatched, added.len()), (3, 0));
    }

    #[test]
    fn host_rows_are_found_by_key_in_sorted_unsorted_and_appended_tables() {
        let table = |keys: &[u64]| Partition {
            hosts: keys
                .iter()
                .map(|&k| HostRecord {
                    host_key: k,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let mut p = table(&[3, 9, 12, 40, 41, 77]);
        let mut h = HostRows::new(&p, 0);
        // In order (the finger), out of order (the search), missing.
        for (k, want) in [(3, 0), (9, 1), (12, 2), (77, 5), (9, 1), (41, 4), (40, 3)] {
            assert_eq!(h.find(k), Some(want), "key {k}");
        }
        assert_eq!(h.find(10), None);
        // A row made for a missing host is appended, and found from then on.
        assert_eq!(h.row(&mut p, 10), 6);
        assert_eq!(
            (h.find(10), h.row(&mut p, 10), p.hosts.len()),
            (Some(6), 6, 7)
        );
        assert_eq!(h.find(12), Some(2));
        // A table out of key order (or with a key twice) is indexed whole, the last row of a
        // key winning, as a map built from it would.
        let mut q = table(&[9, 3, 9]);
        let mut h = HostRows::new(&q, 0);
        assert_eq!((h.find(3), h.find(9), h.find(4)), (Some(1), Some(2), None));
        assert_eq!(h.row(&mut q, 4), 3);
    }

    #[test]
    fn text_appended_to_an_empty_arena_starts_with_its_sentinel() {
        let mut a = Appended::new(Base::Held(&[]));
        let at = a.intern("x");
        assert_eq!(at, 1);
        assert_eq!(a.get(at), b"x");
        assert_eq!(a.get(0), b"");
        let mut b = Appended::new(Base::Held(&[0, 1, b'y']));
        assert_eq!(b.get(1), b"y");
        let at = b.intern("zz");
        assert_eq!((at, b.get(at)), (3, &b"zz"[..]));
        // An arena known by its length only places appended text where the held one does.
        let mut c = Appended::new(Base::Unread(3));
        assert_eq!(c.get(1), b"", "unread text resolves to nothing");
        assert_eq!(c.intern("zz"), at);
        assert_eq!(c.get(at), b"zz");
        assert_eq!(c.into_added(), [2, b'z', b'z']);
        assert_eq!(b.into_added(), [2, b'z', b'z']);
        assert_eq!(a.into_added(), [0, 1, b'x']);
    }

    #[test]
    #[should_panic(expected = "needs the arena's bytes")]
    fn a_fetcher_that_reads_urls_is_refused_an_unread_arena() {
        struct Reads;
        impl Fetcher for Reads {
            fn fetch(&mut self, _: &str, _: &UrlRecord, _: Millis) -> Outcome {
                Outcome::NotModified
            }
        }
        let mut p = Partition::default();
        drain_over(
            &mut p,
            Base::Unread(1),
            &mut Reads,
            &opts(1_000 * 3_600_000),
        );
    }
}
