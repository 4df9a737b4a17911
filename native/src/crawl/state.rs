//! One URLFrontier crawl: its partition directory (a [`Store`]), the engine's [`Frontier`]
//! over its URL keys, and its queue table.
//!
//! Every change goes through the crawl's lock in the same order to memory and to the store's
//! log (the frontier and the log never disagree about the order of two updates), and the
//! durability wait happens after the lock is released, so concurrent callers share fsyncs.
//!
//! What a row says (docs/serve.md has the table):
//! - `status` discovered (never handed out), scheduled (known, with a refetch date), in flight
//!   (leased), crawled (known with refetch date 0: never again);
//! - `refetch_at` the refetch date in seconds, `next_due` the same in hours for the reference;
//! - `created_at` the creation date, `lease_until` the lease end while in flight, `meta_ref`
//!   the metadata ([`super::meta`]).
//!
//! A queue is a host row: `host_ref` its key string, `queue_delay`, `blocked_until`,
//! `last_handout` its gate, `url_budget` its crawl limit, and the reference's `crawl_delay`,
//! `host_next_eligible` and `url_count` filled in for the reference's readers.

use super::handouts::{Event, HandoutLog, Why};
use super::meta::{self, Metadata};
use super::names;
use crate::engine::frontier::{Counts, FastMap, Frontier, Gate, Millis, Take};
use crate::store::{Pending, Store, StoreError};
use meguri_core::keys::{host_key_of, UrlKey};
use meguri_core::records::{HostRecord, UrlRecord, UrlStatus};
use meguri_core::store::frame::Update;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// How long a URL handed out is held when the request does not say (URLFrontier's default).
pub const DEFAULT_LEASE_MS: Millis = 30_000;

/// Queues listed by `ListQueues` and URLs by `ListURLs` when the request asks for 0.
pub const DEFAULT_PAGE: usize = 100;

/// Why a crawl operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    /// The store refused or failed; an update is then not acknowledged.
    #[error("crawl {crawl}: {source}")]
    Store {
        /// The crawl id.
        crawl: String,
        /// What the store said.
        #[source]
        source: StoreError,
    },
    /// The request names a queue the crawl does not have.
    #[error("crawl {crawl} has no queue {key:?}")]
    NoQueue {
        /// The crawl id.
        crawl: String,
        /// The queue key.
        key: String,
    },
    /// The request itself is wrong (a malformed URL, a key too long, a date out of range).
    #[error("{0}")]
    Invalid(String),
    /// The data root's own files (directories, the node file).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A lock was poisoned by a panic in another thread.
    #[error("crawl {0}: a lock was poisoned")]
    Poisoned(String),
}

/// Result of crawl operations.
pub type Result<T> = std::result::Result<T, CrawlError>;

/// One URL to put.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PutItem {
    /// The URL.
    pub url: String,
    /// Its queue key (empty: its host name).
    pub key: String,
    /// Its metadata (a known item replaces what was stored; a discovered one sets it).
    pub metadata: Metadata,
    /// `None`: discovered (created if unknown). `Some(s)`: known, to be handed out again from
    /// epoch second `s` on (0: never again).
    pub refetch: Option<u64>,
    /// Creation date in epoch seconds (0: now). A known item keeps the stored one.
    pub created: u64,
}

/// The answer to one put item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// Stored (acknowledged once durable as the store promises).
    Ok,
    /// Not stored, and resending will not change that: the reason.
    Skipped(String),
}

/// A GetURLs request, for one crawl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetRequest<'a> {
    /// Queues to serve at most (0: no limit).
    pub max_queues: usize,
    /// URLs in flight per queue at most, counting those already out (0: no limit).
    pub max_per_queue: u32,
    /// Lease length (0: [`DEFAULT_LEASE_MS`]).
    pub lease_ms: Millis,
    /// Only this queue.
    pub key: Option<&'a str>,
}

/// A URL handed out.
#[derive(Debug, Clone, PartialEq)]
pub struct Handed {
    /// The URL.
    pub url: String,
    /// Its queue key.
    pub key: String,
    /// Its metadata.
    pub metadata: Metadata,
}

/// What is stored about one URL.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlState {
    /// The URL.
    pub url: String,
    /// Its queue key.
    pub key: String,
    /// Its metadata.
    pub metadata: Metadata,
    /// When it is handed out next, in epoch seconds (0: never again).
    pub refetch: u64,
    /// Its creation date in epoch seconds.
    pub created: u64,
}

/// Counts of a queue or a crawl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CrawlStats {
    /// URLs not completed (queued or in flight).
    pub size: u64,
    /// URLs in flight.
    pub in_process: u64,
    /// URLs completed.
    pub completed: u64,
    /// Queues holding URLs not completed and not blocked.
    pub active_queues: u64,
    /// Queues.
    pub queues: u64,
}

/// What opening a crawl found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// The crawl id.
    pub crawl: String,
    /// The store's generation.
    pub generation: u64,
    /// URL rows.
    pub rows: u64,
    /// Queues.
    pub queues: u64,
    /// Log frames replayed.
    pub frames: u64,
    /// URLs whose lease was still running.
    pub leases: u64,
    /// Time to open the store and rebuild the frontier.
    pub millis: u64,
    /// Of which opening the store (loading the snapshot, replaying the log).
    pub store_millis: u64,
}

/// A queue's name and the arena entry holding it.
#[derive(Debug, Clone)]
struct Queue {
    key: String,
    host_ref: u64,
}

struct State {
    frontier: Frontier<UrlKey>,
    queues: FastMap<u64, Queue>,
}

/// One crawl: see the module documentation.
pub struct Crawl {
    id: String,
    store: Store,
    state: Mutex<State>,
    log: Option<HandoutLog>,
}

/// The hand-out log lines of one locked section (none gathered when there is no log).
struct Trail(Option<Vec<Event>>);

impl Trail {
    fn new(log: &Option<HandoutLog>) -> Self {
        Trail(log.as_ref().map(|_| Vec::new()))
    }

    fn on(&self) -> bool {
        self.0.is_some()
    }

    fn push(&mut self, ev: impl FnOnce() -> Event) {
        if let Some(v) = &mut self.0 {
            v.push(ev());
        }
    }
}

/// Epoch seconds to the reference's epoch hours, rounded up (a date is never made earlier).
fn hours_ceil(s: u64) -> u32 {
    u32::try_from(s.div_ceil(3600)).unwrap_or(u32::MAX)
}

fn secs(ms: Millis) -> u32 {
    u32::try_from(ms / 1000).unwrap_or(u32::MAX)
}

/// Where a stored row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Never handed out again.
    Completed,
    /// Due from this epoch second; leased until this epoch second if not 0.
    Due { at: u64, lease_until: u64 },
}

/// Reads a row's standing from meguri's extension columns, or from the reference's columns
/// for a row the reference wrote (or written before the extension columns were persisted).
fn standing(r: &UrlRecord) -> Standing {
    let status = UrlStatus::from_raw(r.status);
    let served = matches!(
        status,
        UrlStatus::Discovered
            | UrlStatus::Scheduled
            | UrlStatus::Ready
            | UrlStatus::InFlight
            | UrlStatus::Crawled
            | UrlStatus::DueRecrawl
    );
    if !served {
        return Standing::Completed;
    }
    let at = if r.refetch_at != 0 {
        u64::from(r.refetch_at)
    } else if r.next_due != 0 {
        u64::from(r.next_due) * 3600
    } else if status == UrlStatus::Discovered {
        // Due since it was found.
        u64::from(r.created_at).max(u64::from(r.first_seen) * 3600)
    } else {
        return Standing::Completed;
    };
    let lease_until = if status == UrlStatus::InFlight {
        u64::from(r.lease_until)
    } else {
        0
    };
    Standing::Due { at, lease_until }
}

/// The writes of one locked section: strings to intern (their offsets are known in advance,
/// so rows can name them), then rows.
struct Batch {
    strings: Vec<Vec<u8>>,
    next_ref: u64,
    urls: Vec<UrlRecord>,
    deletes: Vec<UrlKey>,
    hosts: Vec<u64>,
    dropped_hosts: Vec<u64>,
}

impl Batch {
    fn new(store: &Store) -> Self {
        Batch {
            strings: Vec::new(),
            next_ref: store.arena_len(),
            urls: Vec::new(),
            deletes: Vec::new(),
            hosts: Vec::new(),
            dropped_hosts: Vec::new(),
        }
    }

    /// The arena offset `s` will have (0 for no string).
    fn intern(&mut self, s: &[u8]) -> u64 {
        if s.is_empty() {
            return 0;
        }
        let r = self.next_ref;
        self.next_ref += (meguri_core::bytes::uvarint_len(s.len() as u64) + s.len()) as u64;
        self.strings.push(s.to_vec());
        r
    }

    fn touch(&mut self, host: u64) {
        if !self.hosts.contains(&host) {
            self.hosts.push(host);
        }
    }
}

impl Crawl {
    /// Opens (creating if needed) the crawl `id` stored in the partition directory `dir` and
    /// rebuilds its frontier from the rows: queues and their gates from host rows, URLs from
    /// URL rows (leases still running at `now` stay out until they end). With a hand-out log,
    /// tells it the gates and leases recovered, and logs every later hand-out and release.
    pub fn open(
        id: &str,
        dir: &Path,
        opts: crate::store::Options,
        default_delay: Millis,
        now: Millis,
        log: Option<HandoutLog>,
    ) -> Result<(Crawl, OpenReport)> {
        let t0 = Instant::now();
        let store_err = |source| CrawlError::Store {
            crawl: id.to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|source| CrawlError::Io {
            what: format!("crawl {id}: cannot create {}", dir.display()),
            source,
        })?;
        let store = Store::open(dir, opts).map_err(store_err)?;
        let store_millis = t0.elapsed().as_millis() as u64;
        let mut st = State {
            frontier: Frontier::new(default_delay),
            queues: FastMap::default(),
        };
        let (mut rows, mut leases, mut orphans) = (0u64, 0, 0u64);
        let mut trail = Trail::new(&log);
        trail.push(|| Event::Open {
            t: now,
            default_delay_ms: default_delay,
        });
        let (hosts, urls) = (store.host_count(), store.url_count());
        // The frontier is built on this thread while another names the queues (an arena read
        // and a string per host); URLs whose queue has no host row are named after the join.
        let mut strays: Vec<(u64, u64)> = Vec::new();
        let mut leased: Vec<(u64, u64, Millis)> = Vec::new();
        let named = std::thread::scope(|scope| -> Result<FastMap<u64, Queue>> {
            let namer = scope.spawn(|| -> Result<FastMap<u64, Queue>> {
                let mut names = FastMap::default();
                names.reserve(hosts);
                store
                    .scan_hosts(|h| {
                        let key = store
                            .string(h.host_ref)
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_default();
                        let queue = Queue {
                            key,
                            host_ref: h.host_ref,
                        };
                        names.insert(h.host_key, queue);
                        true
                    })
                    .map_err(store_err)?;
                Ok(names)
            });
            let built = st.frontier.rebuild(hosts, urls, |fr| -> Result<()> {
                store
                    .scan_hosts(|h| {
                        fr.set_gate(h.host_key, gate_of(h, default_delay));
                        true
                    })
                    .map_err(store_err)?;
                store
                    .scan_urls(.., |r| {
                        rows += 1;
                        let hk = r.key.host;
                        if !fr.has_queue(hk) {
                            strays.push((hk, r.url_ref));
                        }
                        match standing(r) {
                            Standing::Completed => fr.complete(hk),
                            Standing::Due { at, lease_until } if lease_until * 1000 > now => {
                                fr.push_leased(
                                    hk,
                                    r.key,
                                    at * 1000,
                                    r.priority,
                                    lease_until * 1000,
                                );
                                leases += 1;
                                if trail.on() {
                                    leased.push((hk, r.url_ref, lease_until * 1000));
                                }
                            }
                            Standing::Due { at, .. } => fr.push(hk, r.key, at * 1000, r.priority),
                        }
                        true
                    })
                    .map_err(store_err)
            });
            let names = namer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            built.map(|()| names)
        })?;
        st.queues = named;
        for (hk, url_ref) in strays {
            // A URL row without its queue's host row: the queue is its host name.
            let url = store.string(url_ref).unwrap_or_default();
            let url = String::from_utf8_lossy(&url);
            let key = names::host_name(&url).unwrap_or_default().to_string();
            st.queues.insert(hk, Queue { key, host_ref: 0 });
            orphans += 1;
        }
        for (hk, url_ref, until) in leased {
            trail.push(|| Event::Lease {
                queue: st.queues[&hk].key.clone(),
                url: String::from_utf8_lossy(&store.string(url_ref).unwrap_or_default())
                    .into_owned(),
                until,
            });
        }
        if orphans > 0 {
            tracing::warn!(crawl = id, orphans, "URL rows of queues without a host row");
        }
        if trail.on() {
            for (hk, q) in &st.queues {
                let g = st.frontier.gate(*hk);
                if g.delay.is_some() || g.last_handout.is_some() {
                    trail.push(|| Event::Queue {
                        queue: q.key.clone(),
                        delay_ms: g.delay,
                        last_handout: g.last_handout,
                    });
                }
            }
        }
        if let (Some(log), Some(events)) = (&log, trail.0) {
            log.send(id, events);
        }
        let rec = store.recovery();
        let report = OpenReport {
            crawl: id.to_string(),
            generation: rec.gen,
            rows,
            queues: st.queues.len() as u64,
            frames: rec.frames,
            leases,
            millis: t0.elapsed().as_millis() as u64,
            store_millis,
        };
        Ok((
            Crawl {
                id: id.to_string(),
                store,
                state: Mutex::new(st),
                log,
            },
            report,
        ))
    }

    /// The crawl id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The crawl's store (for checkpoints and metrics).
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| CrawlError::Poisoned(self.id.clone()))
    }

    fn store_err(&self, source: StoreError) -> CrawlError {
        CrawlError::Store {
            crawl: self.id.clone(),
            source,
        }
    }

    /// Sends a locked section's lines to the hand-out log (under the crawl lock, so the log has
    /// them in the frontier's order; whether or not the store took the section's writes, as
    /// the frontier changed either way).
    fn emit(&self, trail: Trail) {
        if let (Some(log), Some(events)) = (&self.log, trail.0) {
            log.send(&self.id, events);
        }
    }

    /// Returns expired leases to their queues, logging each.
    fn expire(&self, st: &mut State, now: Millis, trail: &mut Trail) {
        if !trail.on() {
            st.frontier.expire(now);
            return;
        }
        let mut back = Vec::new();
        st.frontier.expire_each(now, |q, id, _| back.push((q, id)));
        for (q, id) in back {
            let url = self
                .store
                .get_url(id)
                .ok()
                .flatten()
                .map(|r| self.string(r.url_ref))
                .unwrap_or_default();
            let queue = st.queues.get(&q).map(|x| x.key.clone()).unwrap_or_default();
            trail.push(|| Event::Release {
                queue,
                url,
                t: now,
                why: Why::Expired,
            });
        }
    }

    /// Appends a batch's writes (under the crawl lock): interns first, then URL rows and
    /// deletions, then the host row of every queue touched, as it stands now.
    fn append(&self, st: &State, b: Batch) -> Result<Pending> {
        let mut ups: Vec<Update<'_>> =
            Vec::with_capacity(b.strings.len() + b.urls.len() + b.deletes.len() + b.hosts.len());
        ups.extend(b.strings.iter().map(|s| Update::Intern(s)));
        ups.extend(b.urls.iter().map(|r| Update::PutUrl(*r)));
        ups.extend(b.deletes.iter().map(|k| Update::DeleteUrl(*k)));
        for hk in &b.hosts {
            if let Some(q) = st.queues.get(hk) {
                ups.push(Update::PutHost(host_row(&st.frontier, *hk, q)));
            }
        }
        ups.extend(b.dropped_hosts.iter().map(|h| Update::DeleteHost(*h)));
        self.store
            .apply_pending(&ups)
            .map_err(|e| self.store_err(e))
    }

    fn wait(&self, p: Pending) -> Result<()> {
        self.store
            .wait(p)
            .map(|_| ())
            .map_err(|e| self.store_err(e))
    }

    /// The queue of `key`, created (in memory and in `b`) if new.
    fn queue_for(st: &mut State, b: &mut Batch, key: &str) -> u64 {
        let hk = host_key_of(key.as_bytes());
        if let Some(q) = st.queues.get_mut(&hk) {
            if q.host_ref == 0 {
                // A queue rebuilt from URL rows alone: its row gets its name now.
                q.host_ref = b.intern(key.as_bytes());
            }
        } else {
            let host_ref = b.intern(key.as_bytes());
            st.queues.insert(
                hk,
                Queue {
                    key: key.to_string(),
                    host_ref,
                },
            );
            // The frontier learns the queue with its first URL or setting.
            let g = st.frontier.gate(hk);
            st.frontier.set_gate(hk, g);
        }
        b.touch(hk);
        hk
    }

    /// Puts URLs as one log write; returns once the store's durability promise holds for all
    /// of them, one [`Ack`] per item in order. A discovered URL already known (stored, or
    /// earlier in `items`) is skipped; a known one overwrites state and metadata and ends
    /// its lease.
    pub fn put<'a>(
        &self,
        items: impl IntoIterator<Item = &'a PutItem>,
        now: Millis,
    ) -> Result<Vec<Ack>> {
        let items = items.into_iter();
        let mut acks = Vec::with_capacity(items.size_hint().0);
        let pending = {
            let mut st = self.lock()?;
            let mut b = Batch::new(&self.store);
            let mut trail = Trail::new(&self.log);
            // Rows written by this batch so far, by key (index into b.urls).
            let mut written: FastMap<UrlKey, usize> = FastMap::default();
            for it in items {
                match self.put_one(&mut st, &mut b, &mut written, it, now, &mut trail) {
                    Ok(ack) => acks.push(ack),
                    Err(e) => {
                        self.emit(trail);
                        return Err(e);
                    }
                }
            }
            let p = self.append(&st, b);
            self.emit(trail);
            p?
        };
        self.wait(pending)?;
        Ok(acks)
    }

    fn put_one(
        &self,
        st: &mut State,
        b: &mut Batch,
        written: &mut FastMap<UrlKey, usize>,
        it: &PutItem,
        now: Millis,
        trail: &mut Trail,
    ) -> Result<Ack> {
        let key = match names::queue_key(&it.url, &it.key) {
            Ok(k) => k,
            Err(why) => return Ok(Ack::Skipped(why.to_string())),
        };
        let now_s = now / 1000;
        let refetch = match it.refetch {
            Some(s) if s > u64::from(u32::MAX) => {
                return Ok(Ack::Skipped(format!(
                    "refetch date {s} is past 2106 (epoch seconds are stored in 32 bits)"
                )))
            }
            r => r,
        };
        if it.created > u64::from(u32::MAX) {
            return Ok(Ack::Skipped(format!(
                "creation date {} is past 2106",
                it.created
            )));
        }
        let ukey = names::url_key(key, &it.url);
        let old = match written.get(&ukey) {
            Some(&i) => Some(b.urls[i]),
            None => self.store.get_url(ukey).map_err(|e| self.store_err(e))?,
        };
        if refetch.is_none() && old.is_some() {
            return Ok(Ack::Skipped("already known".into()));
        }
        let hk = Self::queue_for(st, b, key);
        let meta_bytes = meta::encode(&it.metadata);
        let meta_ref = b.intern(&meta_bytes);
        let created = old.map_or(if it.created == 0 { now_s } else { it.created }, |o| {
            u64::from(o.created_at)
        });
        let mut r = match old {
            Some(o) => UrlRecord {
                crawl_count: o.crawl_count.saturating_add(1),
                last_crawled: u32::try_from(now_s / 3600).unwrap_or(u32::MAX),
                ..o
            },
            None => UrlRecord {
                key: ukey,
                url_ref: b.intern(it.url.as_bytes()),
                first_seen: u32::try_from(created / 3600).unwrap_or(u32::MAX),
                ..UrlRecord::default()
            },
        };
        r.created_at = created as u32;
        r.meta_ref = meta_ref;
        r.lease_until = 0;
        let was_completed = old.is_some_and(|o| standing(&o) == Standing::Completed);
        if trail.on() && st.frontier.slot(ukey).is_some_and(|s| s.leased) {
            trail.push(|| Event::Release {
                queue: key.to_string(),
                url: it.url.clone(),
                t: now,
                why: Why::Put,
            });
        }
        match refetch {
            None => {
                r.status = UrlStatus::Discovered.raw();
                r.refetch_at = now_s as u32;
                r.next_due = u32::try_from(now_s / 3600).unwrap_or(u32::MAX).max(1);
                st.frontier.push(hk, ukey, now_s * 1000, r.priority);
            }
            Some(0) => {
                r.status = UrlStatus::Crawled.raw();
                r.refetch_at = 0;
                r.next_due = 0;
                st.frontier.remove(ukey);
                if !was_completed {
                    st.frontier.complete(hk);
                }
            }
            Some(s) => {
                r.status = UrlStatus::Scheduled.raw();
                r.refetch_at = s as u32;
                r.next_due = hours_ceil(s).max(1);
                st.frontier.push(hk, ukey, s * 1000, r.priority);
                if was_completed {
                    st.frontier.uncomplete(hk);
                }
            }
        }
        match written.get(&ukey) {
            Some(&i) => b.urls[i] = r,
            None => {
                written.insert(ukey, b.urls.len());
                b.urls.push(r);
            }
        }
        Ok(Ack::Ok)
    }

    /// Hands out URLs as `req` asks (after returning expired leases to their queues), each
    /// leased; the leases and the queues' hand-out times are durable as the store promises
    /// before this returns. Returns the URLs and the number of queues that served.
    pub fn get_urls(&self, req: &GetRequest<'_>, now: Millis) -> Result<(Vec<Handed>, usize)> {
        let lease = if req.lease_ms == 0 {
            DEFAULT_LEASE_MS
        } else {
            req.lease_ms
        };
        let (handed, served, pending) = {
            let mut st = self.lock()?;
            let queue = match req.key {
                Some(k) => {
                    let hk = host_key_of(k.as_bytes());
                    if !st.queues.contains_key(&hk) {
                        return Ok((Vec::new(), 0));
                    }
                    Some(hk)
                }
                None => None,
            };
            let mut trail = Trail::new(&self.log);
            self.expire(&mut st, now, &mut trail);
            let take = Take {
                max_queues: req.max_queues,
                max_per_queue: req.max_per_queue,
                lease: Some(lease),
                queue,
            };
            let mut out = Vec::new();
            let served = st.frontier.take(now, &take, &mut out);
            if out.is_empty() {
                self.emit(trail);
                return Ok((Vec::new(), 0));
            }
            let call = self.log.as_ref().map_or(0, HandoutLog::next_call);
            let mut b = Batch::new(&self.store);
            let mut handed = Vec::with_capacity(out.len());
            for h in &out {
                let found = match self.store.get_url(h.id) {
                    Ok(f) => f,
                    Err(e) => {
                        self.emit(trail);
                        return Err(self.store_err(e));
                    }
                };
                let Some(mut r) = found else {
                    // Not stored: the frontier and the store disagree; drop it from the
                    // frontier rather than hand out a URL nobody can ack.
                    st.frontier.remove(h.id);
                    continue;
                };
                let until = h.until.unwrap_or(now + lease);
                r.status = UrlStatus::InFlight.raw();
                r.lease_until = secs(until).saturating_add(1);
                b.urls.push(r);
                b.touch(h.queue);
                let u = Handed {
                    url: self.string(r.url_ref),
                    key: st
                        .queues
                        .get(&h.queue)
                        .map(|q| q.key.clone())
                        .unwrap_or_default(),
                    metadata: self.metadata(&r),
                };
                trail.push(|| Event::Handout {
                    queue: u.key.clone(),
                    url: u.url.clone(),
                    t: now,
                    until,
                    max_per_queue: req.max_per_queue,
                    call,
                });
                handed.push(u);
            }
            let p = self.append(&st, b);
            self.emit(trail);
            (handed, served, p?)
        };
        self.wait(pending)?;
        Ok((handed, served))
    }

    fn string(&self, r: u64) -> String {
        self.store
            .string(r)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    fn metadata(&self, r: &UrlRecord) -> Metadata {
        if r.meta_ref == 0 {
            return Metadata::new();
        }
        let bytes = self.store.string(r.meta_ref).unwrap_or_default();
        meta::decode(&bytes).unwrap_or_else(|e| {
            tracing::warn!(crawl = %self.id, "{e}");
            Metadata::new()
        })
    }

    /// Counts of queue `key`, or of the whole crawl.
    pub fn stats(&self, key: Option<&str>, now: Millis) -> Result<CrawlStats> {
        let mut st = self.lock()?;
        // An ended lease no longer counts as in process.
        let mut trail = Trail::new(&self.log);
        self.expire(&mut st, now, &mut trail);
        self.emit(trail);
        let one = |hk: u64| {
            let c = st.frontier.queue_counts(hk);
            (c, st.frontier.is_active(hk, now))
        };
        let mut s = CrawlStats::default();
        let mut add = |c: Counts, active: bool| {
            s.size += c.queued + c.leased;
            s.in_process += c.leased;
            s.completed += c.completed;
            s.active_queues += u64::from(active);
            s.queues += 1;
        };
        match key {
            Some(k) => {
                let hk = host_key_of(k.as_bytes());
                if st.queues.contains_key(&hk) {
                    let (c, a) = one(hk);
                    add(c, a);
                }
            }
            None => {
                for hk in st.queues.keys() {
                    let (c, a) = one(*hk);
                    add(c, a);
                }
            }
        }
        Ok(s)
    }

    /// Whether the crawl has any queue (a crawl without is not listed).
    pub fn has_queues(&self) -> bool {
        self.state.lock().is_ok_and(|s| !s.queues.is_empty())
    }

    /// Deletes queue `key` with all its URLs; returns how many URLs were removed.
    pub fn delete_queue(&self, key: &str) -> Result<u64> {
        self.delete_queues(Some(key))
    }

    /// Deletes every queue; returns how many URLs were removed.
    pub fn delete_all(&self) -> Result<u64> {
        self.delete_queues(None)
    }

    fn delete_queues(&self, key: Option<&str>) -> Result<u64> {
        let (n, pending) = {
            let mut st = self.lock()?;
            let hks: Vec<u64> = match key {
                Some(k) => {
                    let hk = host_key_of(k.as_bytes());
                    if !st.queues.contains_key(&hk) {
                        return Ok(0);
                    }
                    vec![hk]
                }
                None => st.queues.keys().copied().collect(),
            };
            let mut b = Batch::new(&self.store);
            let mut trail = Trail::new(&self.log);
            for &hk in &hks {
                let scanned = self.store.scan_urls(queue_range(hk), |r| {
                    b.deletes.push(r.key);
                    true
                });
                if let Err(e) = scanned {
                    self.emit(trail);
                    return Err(self.store_err(e));
                }
                st.frontier.drop_queue(hk);
                if let Some(q) = st.queues.remove(&hk) {
                    trail.push(|| Event::Drop { queue: q.key });
                }
                if self.store.get_host(hk).is_some() {
                    b.dropped_hosts.push(hk);
                }
            }
            let n = b.deletes.len() as u64;
            let p = self.append(&st, b);
            self.emit(trail);
            (n, p?)
        };
        self.wait(pending)?;
        Ok(n)
    }

    /// Keys of the queues, sorted, active ones only unless `include_inactive`, from `start`,
    /// at most `size` (0: [`DEFAULT_PAGE`]); and how many there are in all.
    pub fn list_queues(
        &self,
        start: usize,
        size: usize,
        include_inactive: bool,
        now: Millis,
    ) -> Result<(Vec<String>, usize)> {
        let st = self.lock()?;
        let mut keys: Vec<&str> = st
            .queues
            .iter()
            .filter(|(hk, _)| include_inactive || st.frontier.is_active(**hk, now))
            .map(|(_, q)| q.key.as_str())
            .collect();
        keys.sort_unstable();
        let size = if size == 0 { DEFAULT_PAGE } else { size };
        let total = keys.len();
        let page = keys
            .into_iter()
            .skip(start)
            .take(size)
            .map(str::to_string)
            .collect();
        Ok((page, total))
    }

    /// Changes a queue's gate with `f` (creating the queue if `create`) and stores it.
    fn change_gate(&self, key: &str, create: bool, f: impl FnOnce(&mut Gate)) -> Result<()> {
        if key.len() > names::MAX_KEY_LEN {
            return Err(CrawlError::Invalid(
                names::Refusal::KeyTooLong(key.len()).to_string(),
            ));
        }
        let pending = {
            let mut st = self.lock()?;
            let hk = host_key_of(key.as_bytes());
            if !st.queues.contains_key(&hk) && !create {
                return Err(CrawlError::NoQueue {
                    crawl: self.id.clone(),
                    key: key.to_string(),
                });
            }
            let mut b = Batch::new(&self.store);
            Self::queue_for(&mut st, &mut b, key);
            let old = st.frontier.gate(hk);
            let mut g = old;
            f(&mut g);
            st.frontier.set_gate(hk, g);
            let mut trail = Trail::new(&self.log);
            if g.delay != old.delay {
                trail.push(|| Event::Delay {
                    queue: key.to_string(),
                    delay_ms: g.delay,
                });
            }
            let p = self.append(&st, b);
            self.emit(trail);
            p?
        };
        self.wait(pending)
    }

    /// Blocks queue `key` until epoch second `until` (0 unblocks).
    pub fn block(&self, key: &str, until: u64) -> Result<()> {
        let until = until.min(u64::from(u32::MAX));
        self.change_gate(key, true, |g| g.blocked_until = until * 1000)
    }

    /// Sets queue `key`'s delay between hand-outs.
    pub fn set_delay(&self, key: &str, delay: Millis) -> Result<()> {
        let delay = delay.min(u64::from(u32::MAX - 1));
        self.change_gate(key, true, |g| g.delay = Some(delay))
    }

    /// Sets queue `key`'s crawl limit (completed URLs after which it hands out nothing; 0
    /// removes it). An unknown queue is an error.
    pub fn set_limit(&self, key: &str, limit: u32) -> Result<()> {
        self.change_gate(key, false, |g| {
            g.limit = (limit > 0).then_some(limit.into())
        })
    }

    /// Changes the delay of queues without their own (kept by the data root).
    pub fn set_default_delay(&self, delay: Millis) -> Result<()> {
        let mut st = self.lock()?;
        st.frontier.set_default_delay(delay);
        let mut trail = Trail::new(&self.log);
        trail.push(|| Event::DefaultDelay { delay_ms: delay });
        self.emit(trail);
        Ok(())
    }

    /// A queue's gate as the frontier holds it (`None` for an unknown queue).
    pub fn gate(&self, key: &str) -> Result<Option<Gate>> {
        let st = self.lock()?;
        let hk = host_key_of(key.as_bytes());
        Ok(st.queues.contains_key(&hk).then(|| st.frontier.gate(hk)))
    }

    fn state_of(&self, key: &str, r: &UrlRecord) -> UrlState {
        UrlState {
            url: self.string(r.url_ref),
            key: key.to_string(),
            metadata: self.metadata(r),
            refetch: match standing(r) {
                Standing::Completed => 0,
                Standing::Due { at, .. } => at,
            },
            created: u64::from(r.created_at).max(u64::from(r.first_seen) * 3600),
        }
    }

    /// What is stored about `url` in queue `key` (empty: its host name); `None` if unknown.
    pub fn url_status(&self, url: &str, key: &str) -> Result<Option<UrlState>> {
        let key = names::queue_key(url, key).map_err(|e| CrawlError::Invalid(e.to_string()))?;
        let r = self
            .store
            .get_url(names::url_key(key, url))
            .map_err(|e| self.store_err(e))?;
        Ok(r.map(|r| self.state_of(key, &r)))
    }

    fn key_of(&self, hk: u64) -> String {
        self.state
            .lock()
            .ok()
            .and_then(|s| s.queues.get(&hk).map(|q| q.key.clone()))
            .unwrap_or_default()
    }

    /// Calls `f` on every URL of queue `key` (or of every queue) whose URL contains `filter`,
    /// in row order, until it returns `false`.
    pub fn scan(
        &self,
        key: Option<&str>,
        filter: Option<&Filter>,
        mut f: impl FnMut(UrlState) -> bool,
    ) -> Result<()> {
        let range = match key {
            Some(k) => queue_range(host_key_of(k.as_bytes())),
            None => {
                UrlKey::default()..=UrlKey {
                    host: u64::MAX,
                    path: u64::MAX,
                }
            }
        };
        let mut last: Option<(u64, String)> = None;
        self.store
            .scan_urls(range, |r| {
                if let Some(fl) = filter {
                    let url = self.store.string(r.url_ref).unwrap_or_default();
                    if !fl.matches(&String::from_utf8_lossy(&url)) {
                        return true;
                    }
                }
                let key = match &last {
                    Some((hk, k)) if *hk == r.key.host => k.clone(),
                    _ => {
                        let k = self.key_of(r.key.host);
                        last = Some((r.key.host, k.clone()));
                        k
                    }
                };
                f(self.state_of(&key, r))
            })
            .map_err(|e| self.store_err(e))
    }

    /// URLs of queue `key` (or of the crawl) containing `filter`.
    pub fn count(&self, key: Option<&str>, filter: Option<&Filter>) -> Result<u64> {
        if filter.is_none() {
            let st = self.lock()?;
            return Ok(match key {
                Some(k) => {
                    let c = st.frontier.queue_counts(host_key_of(k.as_bytes()));
                    c.queued + c.leased + c.completed
                }
                None => self.store.url_count() as u64,
            });
        }
        let mut n = 0;
        self.scan(key, filter, |_| {
            n += 1;
            true
        })?;
        Ok(n)
    }

    /// Deletes the URLs of queue `key` (or of the crawl) created before epoch second
    /// `before`; returns how many. `now` stamps the hand-out log's lines.
    pub fn purge(&self, key: Option<&str>, before: u64, now: Millis) -> Result<u64> {
        let (n, pending) = {
            let mut st = self.lock()?;
            let range = match key {
                Some(k) => queue_range(host_key_of(k.as_bytes())),
                None => {
                    UrlKey::default()..=UrlKey {
                        host: u64::MAX,
                        path: u64::MAX,
                    }
                }
            };
            let mut old = Vec::new();
            self.store
                .scan_urls(range, |r| {
                    let created = u64::from(r.created_at).max(u64::from(r.first_seen) * 3600);
                    if created < before {
                        old.push(*r);
                    }
                    true
                })
                .map_err(|e| self.store_err(e))?;
            let mut b = Batch::new(&self.store);
            let mut trail = Trail::new(&self.log);
            for r in &old {
                match st.frontier.remove(r.key) {
                    Some(s) if s.leased => trail.push(|| Event::Release {
                        queue: st
                            .queues
                            .get(&s.queue)
                            .map(|q| q.key.clone())
                            .unwrap_or_default(),
                        url: self.string(r.url_ref),
                        t: now,
                        why: Why::Purged,
                    }),
                    Some(_) => {}
                    None if standing(r) == Standing::Completed => {
                        st.frontier.uncomplete(r.key.host)
                    }
                    None => {}
                }
                b.deletes.push(r.key);
                b.touch(r.key.host);
            }
            let p = self.append(&st, b);
            self.emit(trail);
            (old.len() as u64, p?)
        };
        self.wait(pending)?;
        Ok(n)
    }

    /// Writes a checkpoint (a new snapshot generation).
    pub fn checkpoint(&self) -> Result<u64> {
        self.store.checkpoint().map_err(|e| self.store_err(e))
    }

    /// Closes the store.
    pub fn close(self) -> Result<()> {
        let id = self.id.clone();
        self.store
            .close()
            .map_err(|source| CrawlError::Store { crawl: id, source })
    }
}

/// A `ListURLs`/`CountURLs` substring filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    text: String,
    ignore_case: bool,
}

impl Filter {
    /// URLs containing `text` (in any case if `ignore_case`).
    pub fn new(text: &str, ignore_case: bool) -> Self {
        Filter {
            text: if ignore_case {
                text.to_lowercase()
            } else {
                text.to_string()
            },
            ignore_case,
        }
    }

    /// Whether `url` passes.
    pub fn matches(&self, url: &str) -> bool {
        if self.ignore_case {
            url.to_lowercase().contains(&self.text)
        } else {
            url.contains(&self.text)
        }
    }
}

fn queue_range(hk: u64) -> std::ops::RangeInclusive<UrlKey> {
    UrlKey { host: hk, path: 0 }..=UrlKey {
        host: hk,
        path: u64::MAX,
    }
}

/// A queue's gate from its host row (a row the reference wrote has zeros there: no block, the
/// crawl's delay, never handed out; its URL budget becomes the crawl limit).
///
/// Without the extension columns, the reference's columns give what they can: the delay from
/// `crawl_delay` (deciseconds; 0 there means the crawl's default), and a last hand-out from
/// `host_next_eligible` minus the delay (rounded up to the second when written, so never
/// earlier than the real one).
fn gate_of(h: &HostRecord, default_delay: Millis) -> Gate {
    let delay = if h.queue_delay != 0 {
        Some(u64::from(h.queue_delay - 1))
    } else {
        (h.crawl_delay != 0).then(|| u64::from(h.crawl_delay) * 100)
    };
    let last_handout = if h.last_handout != 0 {
        Some(h.last_handout)
    } else {
        (h.host_next_eligible != 0).then(|| {
            (u64::from(h.host_next_eligible) * 1000).saturating_sub(delay.unwrap_or(default_delay))
        })
    };
    Gate {
        delay,
        blocked_until: u64::from(h.blocked_until) * 1000,
        limit: (h.url_budget != 0).then_some(u64::from(h.url_budget)),
        last_handout,
    }
}

/// A queue's host row as things stand.
fn host_row(f: &Frontier<UrlKey>, hk: u64, q: &Queue) -> HostRecord {
    let g = f.gate(hk);
    let c = f.queue_counts(hk);
    let delay = g.delay.unwrap_or(f.default_delay());
    HostRecord {
        host_key: hk,
        host_ref: q.host_ref,
        grouping: 1,
        // The queue's own delay only (0: the crawl's default), rounded up.
        crawl_delay: g
            .delay
            .map_or(0, |d| u16::try_from(d.div_ceil(100)).unwrap_or(u16::MAX)),
        host_next_eligible: g
            .last_handout
            .map_or(0, |t| secs(t.saturating_add(delay).saturating_add(999))),
        url_budget: g.limit.map_or(0, |l| u32::try_from(l).unwrap_or(u32::MAX)),
        url_count: u32::try_from(c.queued + c.leased + c.completed).unwrap_or(u32::MAX),
        queue_delay: g
            .delay
            .map_or(0, |d| u32::try_from(d + 1).unwrap_or(u32::MAX)),
        blocked_until: secs(g.blocked_until),
        last_handout: g.last_handout.unwrap_or(0),
        ..HostRecord::default()
    }
}
