//! The durable partition directory: a snapshot, a log, and a superblock that says which pair is
//! current.
//!
//! ```text
//! <dir>/super            two slots; the valid one with the higher generation is current
//! <dir>/snap-<G>.meguri  the checkpoint of generation G (absent before the first checkpoint)
//! <dir>/log-<G+1>        every update since that checkpoint, one checksummed frame each
//! ```
//!
//! Invariants (each is tested in `native/tests/store*.rs`):
//! 1. The current slot names a snapshot and a log that were complete and fsynced, with the
//!    directory entries fsynced, before the slot was written. A generation is never half
//!    visible.
//! 2. A committed generation's files are removed only after the next slot is durable.
//! 3. Replay is redo only, in LSN order: the log the slot names, then any later logs
//!    (`log-<n>` with a higher number, left by a checkpoint that rotated logs but did not
//!    commit), each continuing exactly where the one before it ended. It stops at the first
//!    frame that is torn, fails its CRC or breaks the LSN order. A writable open truncates
//!    there and folds later logs into the named one before anything is appended, so no later
//!    append hides behind garbage and a directory at rest has the reference's layout; damaged
//!    bytes are kept beside the log (`log-<n>.discarded-<offset>`) and reported.
//! 4. Under [`Durability::Full`] an update is acknowledged only after fsyncs that began after
//!    its frame was written, of its log and of every log before it (group commit, `log.rs`).
//! 5. After a failed write or fsync of a log, the store refuses every further update.
//! 6. One writer per directory, by an exclusive lock on the directory itself, which the
//!    kernel releases when the process dies. Read-only opens take no lock and create, write,
//!    truncate and fsync nothing.
//! 7. Files named like a generation's files but not named by the current slot, and not later
//!    logs, are leftovers of a checkpoint; a writable open removes them (and says so).
//! 8. Lock order: checkpoint, then log, then arena, then index, then segments. Readers take
//!    one of index, arena or segments at a time, briefly; no lock is held across disk reads
//!    or decoding except a snapshot's small block cache.

pub mod error;
pub mod index;
pub mod log;
mod open;
#[cfg(any(test, feature = "crash-points"))]
pub mod sim;
pub mod snapshot;
pub mod storage;

use crate::crash::crash_point;
use crate::encode::EncodeSettings;
pub use error::{
    BadRef, LogFailure, Op, RecoveryEvent, Refusal, Result, SnapshotProblem, Stop, StoreError,
};
use index::{HostIndex, Loc, Row, UrlIndex};
use log::{GroupCommit, LogWriter};
use meguri_core::keys::UrlKey;
use meguri_core::partition::Partition;
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::store::frame::{self, Frame, Update};
pub use meguri_core::store::superblock::Owner;
use meguri_core::store::superblock::{self, Checkpoint};
pub use snapshot::row_block;
use snapshot::{ColdSnapshot, SnapCursor, SnapshotSource, SnapshotSpec, Written};
use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use storage::{FileRef, Open, Storage};

/// File name of the superblock.
pub const SUPER: &str = "super";

/// Bytes a log grows by at a time (zeros written ahead of the frames; see `log.rs` and
/// docs/format.md §13.9 for the measurements behind the size).
pub const LOG_CHUNK: u64 = 1 << 20;

/// When updates reach stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// The log is never fsynced: a power loss may cost whatever the OS had not written back.
    /// (Checkpoints are still fsynced; a generation is never half visible.)
    None,
    /// The log is fsynced at checkpoints and on close: a power loss may cost the updates
    /// since the last checkpoint that the OS had not written back.
    #[default]
    Normal,
    /// Every update is acknowledged only once an fsync covering it is done: an acknowledged
    /// update survives a power loss.
    Full,
}

/// A durability name that is not `none`, `normal` or `full`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("durability is none, normal or full, not {0:?}")]
pub struct ParseDurabilityError(pub String);

impl std::str::FromStr for Durability {
    type Err = ParseDurabilityError;
    fn from_str(s: &str) -> std::result::Result<Self, ParseDurabilityError> {
        match s {
            "none" => Ok(Durability::None),
            "normal" => Ok(Durability::Normal),
            "full" => Ok(Durability::Full),
            _ => Err(ParseDurabilityError(s.to_string())),
        }
    }
}

/// How to open a directory.
#[derive(Debug, Clone)]
pub struct Options {
    /// When updates are durable.
    pub durability: Durability,
    /// Most URL records held in memory (0 = all).
    pub resident_budget: usize,
    /// Open without locking, creating or changing anything.
    pub read_only: bool,
    /// Partition id of a new directory's first snapshot.
    pub partition_id: u32,
    /// Created hours of a new directory's first snapshot.
    pub created_hours: u32,
    /// The owned host-key range and epoch of a new directory (a directory that has them
    /// keeps its own).
    pub owner: Owner,
    /// How snapshots are encoded.
    pub encode: EncodeSettings,
    /// Bytes the log grows by at a time under [`Durability::Full`] (0: grow with each write).
    /// Under `none` and `normal` the log grows with each write: nothing waits for a commit
    /// there, and overwriting preallocated pages that the kernel is writing back costs more
    /// than extending the file (docs/format.md §13.9).
    pub log_chunk: u64,
    /// The file system (the real one when `None`).
    pub storage: Option<Arc<dyn Storage>>,
}

impl Options {
    /// The preallocation chunk this durability setting uses.
    fn log_chunk_in_use(&self) -> u64 {
        if self.durability == Durability::Full {
            self.log_chunk
        } else {
            0
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::default(),
            resident_budget: 0,
            read_only: false,
            partition_id: 0,
            created_hours: 0,
            owner: Owner::default(),
            encode: EncodeSettings::default(),
            log_chunk: LOG_CHUNK,
            storage: None,
        }
    }
}

/// What recovery found and did, for the caller to report.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// The generation opened (0 = no checkpoint yet).
    pub gen: u64,
    /// URL rows loaded from the snapshot.
    pub snapshot_urls: u64,
    /// Frames replayed from the logs.
    pub frames: u64,
    /// Bytes of log replayed.
    pub log_bytes: u64,
    /// Notable events (torn tail truncated, leftovers removed, a damaged slot...).
    pub events: Vec<RecoveryEvent>,
}

/// An open snapshot or log that index entries point into.
enum Segment {
    Snap(Arc<ColdSnapshot>),
    Log { file: FileRef, name: String },
}

#[derive(Default)]
struct Segments {
    map: BTreeMap<u32, Arc<Segment>>,
    next: u32,
}

/// The URL and host indexes, under one lock so a batch of updates lands at once.
struct Indexes {
    urls: UrlIndex,
    hosts: HostIndex,
}

/// What the current generation is.
struct Meta {
    gen: u64,
    frontier: u64,
    arena_len: u64,
    snap: Option<(String, u32)>,
    /// The log the slot names, with its segment.
    named: (String, u32),
    /// Logs sealed after the named one by checkpoints that did not commit, oldest first.
    chain: Vec<(String, u32)>,
    owner: Owner,
    id: u32,
    created_hours: u32,
}

struct LogState {
    w: LogWriter,
    next_lsn: u64,
    owner: Owner,
    frame: Vec<u8>,
}

/// An open partition directory.
pub struct Store {
    dir: PathBuf,
    fs: Arc<dyn Storage>,
    opts: Options,
    index: RwLock<Indexes>,
    arena: RwLock<Vec<u8>>,
    log: Mutex<LogState>,
    commit: GroupCommit,
    segs: RwLock<Segments>,
    meta: Mutex<Meta>,
    ckpt: Mutex<()>,
    poisoned: AtomicBool,
    closed: AtomicBool,
    recovery: Recovery,
    _lock: Option<Box<dyn storage::DirLock>>,
}

/// A write made by [`Store::apply_pending`] whose durability is not yet waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "an update is acknowledged only after `Store::wait`"]
pub struct Pending(Option<(u32, u64, u64)>);

/// What `export` writes.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Write a schedule region.
    pub schedule: bool,
    /// Rewrite URLs in flight (status 3) as scheduled (1), as the reference's recovery does.
    pub in_flight_to_scheduled: bool,
    /// Page and arena compression.
    pub encode: EncodeSettings,
}

use meguri_core::store::recovery::log_number;

const BATCH: usize = 4096;
const KEY_MAX: UrlKey = UrlKey {
    host: u64::MAX,
    path: u64::MAX,
};

/// Why a cold read could not finish: the segment went away (a checkpoint rebased the key
/// meanwhile; look again), or a real error.
enum Cold {
    Moved,
    Err(Box<StoreError>),
}

impl Store {
    /// Opens (or, unless read-only, creates) the partition directory `dir` and recovers its
    /// state: the current snapshot plus the valid prefix of its logs.
    pub fn open(dir: &Path, opts: Options) -> Result<Store> {
        open::open(dir, opts)
    }

    /// What recovery found and did.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn poisoned_lock(&self, what: &'static str) -> StoreError {
        StoreError::LockPoisoned {
            dir: self.dir.clone(),
            what,
        }
    }

    fn index_r(&self) -> Result<RwLockReadGuard<'_, Indexes>> {
        self.index.read().map_err(|_| self.poisoned_lock("index"))
    }

    fn index_w(&self) -> Result<RwLockWriteGuard<'_, Indexes>> {
        self.index.write().map_err(|_| self.poisoned_lock("index"))
    }

    fn arena_r(&self) -> Result<RwLockReadGuard<'_, Vec<u8>>> {
        self.arena.read().map_err(|_| self.poisoned_lock("arena"))
    }

    fn log_l(&self) -> Result<MutexGuard<'_, LogState>> {
        self.log.lock().map_err(|_| self.poisoned_lock("log"))
    }

    fn meta_l(&self) -> Result<MutexGuard<'_, Meta>> {
        self.meta.lock().map_err(|_| self.poisoned_lock("metadata"))
    }

    fn seg(&self, id: u32) -> Result<Option<Arc<Segment>>> {
        Ok(self
            .segs
            .read()
            .map_err(|_| self.poisoned_lock("segment"))?
            .map
            .get(&id)
            .cloned())
    }

    fn register(&self, s: Segment) -> Result<u32> {
        let mut g = self
            .segs
            .write()
            .map_err(|_| self.poisoned_lock("segment"))?;
        let id = g.next;
        g.next += 1;
        g.map.insert(id, Arc::new(s));
        Ok(id)
    }

    fn unregister(&self, ids: &[u32]) -> Result<()> {
        let mut g = self
            .segs
            .write()
            .map_err(|_| self.poisoned_lock("segment"))?;
        for id in ids {
            g.map.remove(id);
        }
        Ok(())
    }

    fn io(&self, op: Op, file: impl Into<String>, e: std::io::Error) -> StoreError {
        StoreError::Io {
            dir: self.dir.clone(),
            op,
            file: file.into(),
            source: e,
        }
    }

    fn check_writable(&self) -> Result<()> {
        if self.opts.read_only {
            return Err(StoreError::ReadOnly {
                dir: self.dir.clone(),
            });
        }
        if self.poisoned.load(Ordering::Acquire) {
            return Err(StoreError::Poisoned {
                dir: self.dir.clone(),
                cause: self.failure(),
            });
        }
        Ok(())
    }

    fn failure(&self) -> LogFailure {
        self.commit.failure().unwrap_or_else(|| LogFailure {
            op: Op::Sync,
            file: "the log".into(),
            error: Arc::new(std::io::Error::other("unknown failure")),
        })
    }

    fn poison(&self, f: LogFailure) {
        self.commit.poison(f);
        self.poisoned.store(true, Ordering::Release);
    }

    /// Applies updates as one log write; returns the last LSN once the durability mode's
    /// promise holds for all of them. Interned strings get consecutive arena offsets starting
    /// at [`Store::arena_len`] as it was before the call.
    pub fn apply(&self, updates: &[Update<'_>]) -> Result<u64> {
        if updates.is_empty() {
            return Ok(self.log_l()?.next_lsn.saturating_sub(1));
        }
        let (seg, end, lsn) = {
            let mut lg = self.log_l()?;
            self.append(&mut lg, updates)?
        };
        self.acknowledge(seg, end, lsn)
    }

    /// Like [`Store::apply`], but returns once the frames are written and applied to memory,
    /// without waiting for the durability promise: [`Store::wait`] on the returned
    /// [`Pending`] does. A caller that orders its writes under a lock of its own appends
    /// under that lock and waits outside it, so concurrent writers share one fsync (group
    /// commit) instead of queueing behind each other's.
    pub fn apply_pending(&self, updates: &[Update<'_>]) -> Result<Pending> {
        if updates.is_empty() {
            return Ok(Pending(None));
        }
        let mut lg = self.log_l()?;
        let (seg, end, lsn) = self.append(&mut lg, updates)?;
        Ok(Pending(Some((seg, end, lsn))))
    }

    /// Waits until what the durability mode promises holds for a [`Store::apply_pending`]
    /// write; returns its last LSN (0 for an empty one).
    pub fn wait(&self, p: Pending) -> Result<u64> {
        match p.0 {
            None => Ok(0),
            Some((seg, end, lsn)) => self.acknowledge(seg, end, lsn),
        }
    }

    /// Writes frames for `updates` in one write and applies them to memory, under the log
    /// lock (so memory changes in LSN order). Returns the segment, its new end and the last
    /// LSN.
    fn append(&self, lg: &mut LogState, updates: &[Update<'_>]) -> Result<(u32, u64, u64)> {
        self.check_writable()?;
        let refused = |reason| StoreError::Refused {
            dir: self.dir.clone(),
            reason,
        };
        {
            let arena = self.arena_r()?;
            check_refs(&arena, updates).map_err(|b| refused(Refusal::BadRef(b)))?;
        }
        check_owner(&lg.owner, updates).map_err(refused)?;
        let start = lg.w.end;
        let first_lsn = lg.next_lsn;
        let mut buf = std::mem::take(&mut lg.frame);
        buf.clear();
        let mut offsets = Vec::with_capacity(updates.len());
        let mut lsn = first_lsn;
        for u in updates {
            offsets.push(start + buf.len() as u64);
            // Only an intern too long for a frame fails to encode. A record's extension frame
            // follows its put frame (see `frame`), so an update may take two LSNs.
            match frame::encode_all(lsn, u, &mut buf) {
                Ok(n) => lsn += n,
                Err(_) => {
                    lg.frame = buf;
                    let len = match u {
                        Update::Intern(s) => s.len(),
                        _ => 0,
                    };
                    return Err(refused(Refusal::TooLong { len }));
                }
            }
        }
        let end = match lg.w.append(&buf) {
            Ok(end) => end,
            Err(f) => {
                // How much reached the file is unknown: nothing may be appended after it.
                lg.frame = buf;
                self.poison(f.clone());
                return Err(StoreError::NotDurable {
                    dir: self.dir.clone(),
                    lsn: first_lsn,
                    cause: f,
                });
            }
        };
        lg.frame = buf;
        lg.next_lsn = lsn;
        let seg = lg.w.seg;
        if updates.iter().any(|u| matches!(u, Update::Intern(_))) {
            let mut arena = self
                .arena
                .write()
                .map_err(|_| self.poisoned_lock("arena"))?;
            for u in updates {
                if let Update::Intern(s) = u {
                    meguri_core::bytes::put_uvarint(&mut arena, s.len() as u64);
                    arena.extend_from_slice(s);
                }
            }
        }
        {
            let mut ix = self.index_w()?;
            for (u, &off) in updates.iter().zip(&offsets) {
                apply_to(&mut ix, u, Loc { seg, pos: off });
            }
        }
        self.commit
            .written(seg, end)
            .map_err(|_| self.poisoned_lock("group commit"))?;
        Ok((seg, end, lg.next_lsn - 1))
    }

    /// Waits for what the durability mode promises.
    fn acknowledge(&self, seg: u32, end: u64, lsn: u64) -> Result<u64> {
        if self.opts.durability == Durability::Full {
            let r = self
                .commit
                .wait(seg, end)
                .map_err(|_| self.poisoned_lock("group commit"))?;
            if let Err(cause) = r {
                self.poisoned.store(true, Ordering::Release);
                return Err(StoreError::NotDurable {
                    dir: self.dir.clone(),
                    lsn,
                    cause,
                });
            }
        }
        Ok(lsn)
    }

    /// Puts a URL record (replacing the key's earlier version).
    pub fn put_url(&self, r: UrlRecord) -> Result<u64> {
        self.apply(&[Update::PutUrl(r)])
    }

    /// Deletes a URL; `Ok(None)` if the key was not live (nothing is written).
    pub fn delete_url(&self, key: UrlKey) -> Result<Option<u64>> {
        let (seg, end, lsn) = {
            let mut lg = self.log_l()?;
            if !self.index_r()?.urls.is_live(&key) {
                return Ok(None);
            }
            self.append(&mut lg, &[Update::DeleteUrl(key)])?
        };
        self.acknowledge(seg, end, lsn).map(Some)
    }

    /// Puts a host record.
    pub fn put_host(&self, h: HostRecord) -> Result<u64> {
        self.apply(&[Update::PutHost(h)])
    }

    /// Appends a string to the arena and returns its offset (0 for the empty string, which
    /// writes nothing).
    pub fn intern(&self, s: &[u8]) -> Result<u64> {
        if s.is_empty() {
            return Ok(0);
        }
        let (r, (seg, end, lsn)) = {
            let mut lg = self.log_l()?;
            let r = self.arena_r()?.len() as u64;
            (r, self.append(&mut lg, &[Update::Intern(s)])?)
        };
        self.acknowledge(seg, end, lsn)?;
        Ok(r)
    }

    /// Current arena length (the offset the next interned string gets).
    pub fn arena_len(&self) -> u64 {
        self.arena.read().map_or(0, |a| a.len() as u64)
    }

    /// The string at arena offset `r`.
    pub fn string(&self, r: u64) -> Option<Vec<u8>> {
        let a = self.arena.read().ok()?;
        meguri_core::arena::Arena(&a).get(r).map(<[u8]>::to_vec)
    }

    /// The URL record of `key`, read back from disk (and checked) when it is not resident.
    pub fn get_url(&self, key: UrlKey) -> Result<Option<UrlRecord>> {
        loop {
            let row = self.index_r()?.urls.row(&key);
            match row {
                None => return Ok(None),
                Some(Row::Hot(r)) => return Ok(Some(r)),
                Some(Row::Cold(loc)) => match self.read_cold(key, loc, None) {
                    Ok(r) => {
                        self.index_w()?.urls.rematerialize(r, loc);
                        return Ok(Some(r));
                    }
                    Err(Cold::Moved) => continue,
                    Err(Cold::Err(e)) => return Err(*e),
                },
            }
        }
    }

    /// Reads the version of `key` at `loc` from disk. `cursor` serves snapshot rows of a scan.
    fn read_cold(
        &self,
        key: UrlKey,
        loc: Loc,
        cursor: Option<&mut BTreeMap<u32, SnapCursor>>,
    ) -> std::result::Result<UrlRecord, Cold> {
        let seg = self
            .seg(loc.seg)
            .map_err(|e| Cold::Err(Box::new(e)))?
            .ok_or(Cold::Moved)?;
        let bad = |file: &str, problem: String| {
            Cold::Err(Box::new(StoreError::ColdRead {
                dir: self.dir.clone(),
                file: file.to_string(),
                at: match &*seg {
                    Segment::Snap(_) => format!("row {}", loc.pos),
                    Segment::Log { .. } => format!("offset {}", loc.pos),
                },
                problem: problem.into(),
            }))
        };
        let r = match &*seg {
            Segment::Log { file, name } => {
                let b = log::read_frame_at(&**file, loc.pos, frame::URL_PUT_LEN)
                    .map_err(|e| Cold::Err(Box::new(self.io(Op::Read, name.clone(), e))))?;
                let mut r = match frame::parse(&b, loc.pos) {
                    frame::Parsed::Frame(Frame {
                        update: Some(Update::PutUrl(r)),
                        ..
                    }) => r,
                    other => return Err(bad(name, format!("{other:?}"))),
                };
                // The record's extension frame, if it has one, was written right after it in
                // the same write: whatever else follows (another frame, preallocated zeros,
                // the end of the file) means it has none.
                let next = loc.pos + frame::URL_PUT_LEN as u64;
                if let Ok(b) = log::read_frame_at(&**file, next, frame::URL_EXT_LEN) {
                    if let frame::Parsed::Frame(Frame {
                        update: Some(x), ..
                    }) = frame::parse(&b, next)
                    {
                        let mut put = Update::PutUrl(r);
                        if frame::apply_ext(&mut put, &x) {
                            if let Update::PutUrl(with_ext) = put {
                                r = with_ext;
                            }
                        }
                    }
                }
                r
            }
            Segment::Snap(s) => {
                let got = match cursor {
                    Some(c) => c
                        .entry(loc.seg)
                        .or_insert_with(|| SnapCursor::new(s.clone()))
                        .url(loc.pos)
                        .map_err(|e| bad(&s.name, e.to_string()))?,
                    None => s.url(loc.pos).map_err(|e| match e {
                        snapshot::ColdError::Format(e) => bad(&s.name, e.to_string()),
                        snapshot::ColdError::Poisoned => {
                            Cold::Err(Box::new(self.poisoned_lock("snapshot cache")))
                        }
                    })?,
                };
                got.ok_or_else(|| bad(&s.name, "no such row".into()))?
            }
        };
        if r.key != key {
            return Err(bad(
                "the index",
                format!(
                    "the record stored for {:016x}:{:016x} has key {:016x}:{:016x}",
                    key.host, key.path, r.key.host, r.key.path
                ),
            ));
        }
        Ok(r)
    }

    /// Calls `f` on every live URL row with a key in `range`, in key order, reading cold rows
    /// back; stops early when `f` returns `false`. Rows are read in batches, each under a
    /// short read lock: updates made while a scan runs may or may not be seen, but every row
    /// seen is one a reader could have got at some moment, and writers never wait for the
    /// scan.
    pub fn scan_urls(
        &self,
        range: impl RangeBounds<UrlKey>,
        mut f: impl FnMut(&UrlRecord) -> bool,
    ) -> Result<()> {
        let mut after = match range.start_bound() {
            Bound::Unbounded => None,
            Bound::Excluded(k) => Some(*k),
            Bound::Included(k) => prev_key(*k),
        };
        let (end, skip_end) = match range.end_bound() {
            Bound::Unbounded => (KEY_MAX, false),
            Bound::Included(k) => (*k, false),
            Bound::Excluded(k) => (*k, true),
        };
        if let (Bound::Included(s), Bound::Included(_)) = (range.start_bound(), range.end_bound()) {
            if *s > end {
                return Ok(());
            }
        }
        let mut cursors = BTreeMap::new();
        loop {
            let batch = self.index_r()?.urls.batch(after, end, BATCH);
            let Some(&(last, _)) = batch.last() else {
                return Ok(());
            };
            for (k, row) in batch {
                if skip_end && k == end {
                    return Ok(());
                }
                let r = match row {
                    Row::Hot(r) => r,
                    Row::Cold(loc) => match self.read_cold(k, loc, Some(&mut cursors)) {
                        Ok(r) => r,
                        Err(Cold::Moved) => match self.get_url(k)? {
                            Some(r) => r,
                            None => continue,
                        },
                        Err(Cold::Err(e)) => return Err(*e),
                    },
                };
                if !f(&r) {
                    return Ok(());
                }
            }
            after = Some(last);
        }
    }

    /// Calls `f` on every host row in key order (stops early when `f` returns `false`).
    pub fn scan_hosts(&self, mut f: impl FnMut(&HostRecord) -> bool) -> Result<()> {
        let mut after = None;
        loop {
            let batch = self.index_r()?.hosts.batch(after, BATCH);
            let Some(last) = batch.last().map(|h| h.host_key) else {
                return Ok(());
            };
            for h in &batch {
                if !f(h) {
                    return Ok(());
                }
            }
            after = Some(last);
        }
    }

    /// The host record of `host_key`.
    pub fn get_host(&self, host_key: u64) -> Option<HostRecord> {
        self.index.read().ok()?.hosts.get(host_key)
    }

    /// Live URL rows.
    pub fn url_count(&self) -> usize {
        self.index.read().map_or(0, |i| i.urls.live())
    }

    /// Host rows.
    pub fn host_count(&self) -> usize {
        self.index.read().map_or(0, |i| i.hosts.len())
    }

    /// URL records held in memory.
    pub fn resident(&self) -> usize {
        self.index.read().map_or(0, |i| i.urls.resident())
    }

    /// Log fsyncs done so far (group commit shares them).
    pub fn log_syncs(&self) -> u64 {
        self.commit.syncs()
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.meta.lock().map_or(0, |m| m.gen)
    }

    /// The file name of the current generation's snapshot (`None` before the first
    /// checkpoint).
    pub fn snapshot_name(&self) -> Option<String> {
        self.meta.lock().ok()?.snap.as_ref().map(|s| s.0.clone())
    }

    /// The owned host-key range and epoch.
    pub fn owner(&self) -> Owner {
        self.meta.lock().map_or(Owner::default(), |m| m.owner)
    }

    /// The live state as a partition value: every live URL (read back when cold) in key
    /// order, every host, the arena, and the range those rows span (the whole key space when
    /// there are none). Memory: one decoded copy of every row, for as long as the caller keeps
    /// it; [`Store::export`] and [`Store::scan_urls`] do not hold them.
    pub fn partition(&self) -> Result<Partition> {
        let mut urls = Vec::with_capacity(self.url_count());
        self.scan_urls(.., |r| {
            urls.push(*r);
            true
        })?;
        let mut hosts = Vec::with_capacity(self.host_count());
        self.scan_hosts(|h| {
            hosts.push(*h);
            true
        })?;
        let lo = [
            urls.first().map(|u| u.key.host),
            hosts.first().map(|h| h.host_key),
        ]
        .into_iter()
        .flatten()
        .min();
        let hi = [
            urls.last().map(|u| u.key.host),
            hosts.last().map(|h| h.host_key),
        ]
        .into_iter()
        .flatten()
        .max();
        let (id, created_hours) = {
            let m = self.meta_l()?;
            (m.id, m.created_hours)
        };
        Ok(Partition {
            id,
            hostkey_lo: lo.unwrap_or(0),
            hostkey_hi: hi.unwrap_or(u64::MAX),
            created_hours,
            urls,
            hosts,
            arena: self.arena_r()?.clone(),
            meta: Vec::new(),
            schedule: false,
            seen_filter: Vec::new(),
        })
    }

    /// Writes the live state to the new file `dest` (atomically: a temporary beside it,
    /// fsynced and renamed) as one standalone `.meguri` file, streaming rows through the
    /// writer: memory stays at what the store holds plus bounded buffers. The state written is
    /// the one at the call's start; writers go on meanwhile.
    pub fn export(&self, dest: &Path, opts: &ExportOptions) -> Result<Written> {
        let _g = self
            .ckpt
            .lock()
            .map_err(|_| self.poisoned_lock("checkpoint"))?;
        let real = storage::real();
        let scratch = storage::parent_of(dest);
        let ctx = snapshot::ErrCtx {
            dir: self.dir.clone(),
            file: dest.display().to_string(),
        };
        self.freeze()?;
        let view = Frozen {
            store: self,
            arena_len: self.arena_len(),
            in_flight_to_scheduled: opts.in_flight_to_scheduled,
        };
        let (id, created_hours) = {
            let m = self.meta_l()?;
            (m.id, m.created_hours)
        };
        let spec = SnapshotSpec {
            id,
            created_hours,
            schedule: opts.schedule,
            encode: opts.encode,
        };
        let mut written = None;
        let mut failed = None;
        let r = storage::write_atomic_with(&*real, dest, |f| {
            match snapshot::write_snapshot(&view, &spec, f, &scratch, &ctx) {
                Ok(w) => {
                    written = Some(w);
                    Ok(())
                }
                Err(e) => {
                    failed = Some(e);
                    Err(std::io::Error::other("snapshot write failed"))
                }
            }
        });
        self.thaw()?;
        if let Some(e) = failed {
            return Err(e);
        }
        r.map_err(|e| ctx.io(Op::Write, "the snapshot", e))?;
        written.ok_or_else(|| {
            ctx.encode(meguri_core::Error::new(
                meguri_core::ErrorKind::Invalid,
                "nothing written",
            ))
        })
    }

    fn freeze(&self) -> Result<()> {
        let mut ix = self.index_w()?;
        ix.urls.freeze();
        ix.hosts.freeze();
        Ok(())
    }

    fn thaw(&self) -> Result<()> {
        let mut ix = self.index_w()?;
        ix.urls.thaw();
        ix.hosts.thaw();
        Ok(())
    }

    /// Folds the live state into a new snapshot and starts a new log, without stopping
    /// writers for more than a moment. Returns the new generation.
    ///
    /// The steps: create and fsync the next log `log-<n+1>` (and the directory); switch
    /// writers to it, noting the cut (the first LSN it will hold) and freezing the index
    /// view at the cut (a short critical section); trim and fsync the sealed log `log-<n>`;
    /// stream the frozen view into `snap-<n>.meguri` and fsync it and the directory; write
    /// the superblock slot of the next generation and fsync it (**the commit point**); point
    /// the index at the new snapshot; remove the old snapshot and the sealed logs and fsync
    /// the directory. A failure before the commit leaves the previous generation current and
    /// the store usable (the sealed log stays in the chain of logs replayed after it); a
    /// failed superblock write poisons the store.
    pub fn checkpoint(&self) -> Result<u64> {
        self.check_writable()?;
        let _g = self
            .ckpt
            .lock()
            .map_err(|_| self.poisoned_lock("checkpoint"))?;
        let wrap = |e: StoreError| StoreError::Checkpoint {
            dir: self.dir.clone(),
            source: Box::new(e),
        };
        // 1. The next log, durable and empty, before anything else changes.
        let number = self.log_l()?.w.number;
        let new_number = number + 1;
        let new_name = format!("log-{new_number}");
        let new_path = self.dir.join(&new_name);
        let created = (|| -> std::io::Result<FileRef> {
            let f = self.fs.open(&new_path, Open::Truncate)?;
            f.sync_all()?;
            self.fs.sync_dir(&self.dir)?;
            Ok(f)
        })();
        let new_file = match created {
            Ok(f) => f,
            Err(e) => {
                let _ = self.fs.remove(&new_path);
                return Err(wrap(self.io(Op::Write, new_name, e)));
            }
        };
        crash_point("checkpoint-log-created");
        // 2. The cut: writers move to the new log.
        let new_seg = self.register(Segment::Log {
            file: new_file.clone(),
            name: new_name.clone(),
        })?;
        let (frontier, mut sealed, arena_len) = {
            let mut lg = self.log_l()?;
            let frontier = lg.next_lsn;
            let w = LogWriter {
                file: new_file,
                name: new_name.clone(),
                number: new_number,
                seg: new_seg,
                end: 0,
                alloc: 0,
                chunk: self.opts.log_chunk_in_use(),
            };
            let old = std::mem::replace(&mut lg.w, w);
            let active = lg.w.file.clone();
            self.commit
                .rotate(new_seg, active, new_name.clone())
                .map_err(|_| self.poisoned_lock("group commit"))?;
            self.freeze()?;
            let arena_len = self.arena_r()?.len() as u64;
            (frontier, old, arena_len)
        };
        {
            let mut m = self.meta_l()?;
            if sealed.seg != m.named.1 {
                m.chain.push((sealed.name.clone(), sealed.seg));
            }
        }
        crash_point("checkpoint-rotated");
        // 3. The sealed log ends at its last frame and is durable.
        let sealed_ok = sealed
            .trim()
            .and_then(|()| match self.commit.sync_through(sealed.seg) {
                Ok(r) => r,
                Err(_) => Err(LogFailure {
                    op: Op::Sync,
                    file: sealed.name.clone(),
                    error: Arc::new(std::io::Error::other("group commit lock poisoned")),
                }),
            });
        if let Err(f) = sealed_ok {
            self.poison(f.clone());
            let _ = self.thaw();
            return Err(wrap(StoreError::NotDurable {
                dir: self.dir.clone(),
                lsn: frontier.saturating_sub(1),
                cause: f,
            }));
        }
        // 4. The snapshot of the frozen view.
        let snap_name = format!("snap-{number}.meguri");
        let snap_path = self.dir.join(&snap_name);
        let built = self.build_snapshot(&snap_name, &snap_path, arena_len);
        let snap_file = match built {
            Ok(f) => f,
            Err(e) => {
                let _ = self.fs.remove(&snap_path);
                let _ = self.thaw();
                return Err(wrap(e));
            }
        };
        crash_point("checkpoint-prepared");
        // 5. The commit point.
        let (gen, owner) = {
            let m = self.meta_l()?;
            (m.gen + 1, m.owner)
        };
        let cp = Checkpoint {
            gen,
            frontier,
            arena_len,
            snapshot: snap_name.clone(),
            log: new_name.clone(),
            owner,
        };
        if let Err(e) = write_slot(&*self.fs, &self.dir, &cp) {
            // The slot may or may not be on disk: the directory's generation is unknown.
            self.poison(LogFailure {
                op: Op::Sync,
                file: SUPER.into(),
                error: Arc::new(std::io::Error::new(e.kind(), e.to_string())),
            });
            let _ = self.thaw();
            return Err(StoreError::CommitFailed {
                dir: self.dir.clone(),
                source: e,
            });
        }
        crash_point("checkpoint-committed");
        // 6. Generation `gen` is current: point the index at its snapshot.
        let opened = storage::FileSourceOf::new(snap_file)
            .map_err(|e| self.io(Op::Stat, snap_name.clone(), e))
            .and_then(|src| {
                meguri_core::reader::Reader::open_with(src, crate::fsource::read_options()).map_err(
                    |error| StoreError::SnapshotDamaged {
                        dir: self.dir.clone(),
                        name: snap_name.clone(),
                        problem: Box::new(SnapshotProblem::Format(error)),
                    },
                )
            });
        let reader = match opened {
            Ok(r) => r,
            Err(e) => {
                // Committed but unreadable here: refuse writes; a reopen decides.
                self.poison(LogFailure {
                    op: Op::Read,
                    file: snap_name.clone(),
                    error: Arc::new(std::io::Error::other(e.to_string())),
                });
                return Err(wrap(e));
            }
        };
        let snap_seg = self.register(Segment::Snap(Arc::new(ColdSnapshot::new(
            snap_name.clone(),
            reader,
        ))))?;
        let (old_snap, old_logs) = {
            let m = self.meta_l()?;
            let mut logs = vec![m.named.clone()];
            logs.extend(m.chain.iter().cloned());
            (m.snap.clone(), logs)
        };
        let frozen: Vec<u32> = old_snap
            .iter()
            .map(|s| s.1)
            .chain(old_logs.iter().map(|l| l.1))
            .collect();
        let (mut after, mut row) = (None, 0u64);
        loop {
            let (last, next) = self.index_w()?.urls.rebase_batch(
                after,
                BATCH,
                row,
                &|s| frozen.contains(&s),
                snap_seg,
            );
            if last.is_none() {
                break;
            }
            (after, row) = (last, next);
        }
        self.thaw()?;
        {
            let mut m = self.meta_l()?;
            m.gen = gen;
            m.frontier = frontier;
            m.arena_len = arena_len;
            m.snap = Some((snap_name, snap_seg));
            m.named = (new_name, new_seg);
            m.chain.clear();
        }
        // 7. The old generation's files go.
        self.unregister(&frozen)?;
        for (_, id) in &old_logs {
            self.commit
                .forget(*id)
                .map_err(|_| self.poisoned_lock("group commit"))?;
        }
        drop(sealed);
        let mut removed: Vec<String> = old_logs.into_iter().map(|l| l.0).collect();
        removed.extend(old_snap.map(|s| s.0));
        for name in &removed {
            match self.fs.remove(&self.dir.join(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(wrap(self.io(Op::Remove, name.clone(), e))),
            }
        }
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| wrap(self.io(Op::SyncDir, "the directory", e)))?;
        Ok(gen)
    }

    fn build_snapshot(&self, name: &str, path: &Path, arena_len: u64) -> Result<FileRef> {
        let (id, created_hours) = {
            let m = self.meta_l()?;
            (m.id, m.created_hours)
        };
        let spec = SnapshotSpec {
            id,
            created_hours,
            schedule: false,
            encode: self.opts.encode,
        };
        let ctx = snapshot::ErrCtx {
            dir: self.dir.clone(),
            file: name.to_string(),
        };
        let f = self
            .fs
            .open(path, Open::Truncate)
            .map_err(|e| self.io(Op::Open, name, e))?;
        let view = Frozen {
            store: self,
            arena_len,
            in_flight_to_scheduled: false,
        };
        let scratch = self.fs.scratch_dir(&self.dir);
        snapshot::write_snapshot(&view, &spec, &*f, &scratch, &ctx)?;
        f.sync_all().map_err(|e| self.io(Op::Sync, name, e))?;
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| self.io(Op::SyncDir, "the directory", e))?;
        Ok(f)
    }

    /// Records a new owned range and epoch, durably: a new superblock slot naming the same
    /// files (or, before the first checkpoint, a first checkpoint). Refused when rows lie
    /// outside the range, or the epoch goes back.
    pub fn set_owner(&self, owner: Owner) -> Result<()> {
        self.check_writable()?;
        let refused = |reason| StoreError::Refused {
            dir: self.dir.clone(),
            reason,
        };
        if owner.lo > owner.hi {
            return Err(refused(Refusal::EmptyRange {
                lo: owner.lo,
                hi: owner.hi,
            }));
        }
        let _g = self
            .ckpt
            .lock()
            .map_err(|_| self.poisoned_lock("checkpoint"))?;
        let first = {
            let mut lg = self.log_l()?;
            let cur = self.meta_l()?.owner;
            if owner.epoch < cur.epoch {
                return Err(refused(Refusal::StaleEpoch {
                    epoch: owner.epoch,
                    current: cur.epoch,
                }));
            }
            {
                let ix = self.index_r()?;
                if ix.urls.any_outside(owner.lo, owner.hi)
                    || ix.hosts.any_outside(owner.lo, owner.hi)
                {
                    return Err(refused(Refusal::RowsOutside {
                        lo: owner.lo,
                        hi: owner.hi,
                    }));
                }
            }
            lg.owner = owner;
            let mut m = self.meta_l()?;
            m.owner = owner;
            m.snap.is_none()
        };
        if first {
            drop(_g);
            self.checkpoint()?;
            return Ok(());
        }
        let cp = {
            let m = self.meta_l()?;
            Checkpoint {
                gen: m.gen + 1,
                frontier: m.frontier,
                arena_len: m.arena_len,
                snapshot: m.snap.as_ref().map(|s| s.0.clone()).unwrap_or_default(),
                log: m.named.0.clone(),
                owner,
            }
        };
        if let Err(e) = write_slot(&*self.fs, &self.dir, &cp) {
            self.poison(LogFailure {
                op: Op::Sync,
                file: SUPER.into(),
                error: Arc::new(std::io::Error::new(e.kind(), e.to_string())),
            });
            return Err(StoreError::CommitFailed {
                dir: self.dir.clone(),
                source: e,
            });
        }
        self.meta_l()?.gen = cp.gen;
        Ok(())
    }

    /// Closes the store: the log is trimmed to its last frame, any logs left after the named
    /// one by a failed checkpoint are folded into it (so the directory has the reference's
    /// layout), and under `Normal` and `Full` the log is fsynced.
    pub fn close(self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        self.finish()
    }

    fn finish(&self) -> Result<()> {
        if self.opts.read_only || self.poisoned.load(Ordering::Acquire) {
            return Ok(());
        }
        let _g = self
            .ckpt
            .lock()
            .map_err(|_| self.poisoned_lock("checkpoint"))?;
        let mut lg = self.log_l()?;
        let fail = |f: LogFailure| StoreError::Io {
            dir: self.dir.clone(),
            op: f.op,
            file: f.file.clone(),
            source: std::io::Error::new(f.error.kind(), f.error.to_string()),
        };
        lg.w.trim().map_err(fail)?;
        let (chain, named_seg) = {
            let m = self.meta_l()?;
            (m.chain.clone(), m.named.1)
        };
        if lg.w.seg != named_seg {
            return self.fold_on_close(&lg, &chain);
        }
        if self.opts.durability != Durability::None {
            lg.w.file
                .sync_all()
                .map_err(|e| self.io(Op::Sync, lg.w.name.clone(), e))?;
        }
        Ok(())
    }

    /// Appends the frames of the logs sealed after the named one, and of the active one, to
    /// the named log, then removes them (invariant 3: a crash part-way is recovered by the
    /// LSN rules, which skip frames already copied).
    fn fold_on_close(&self, lg: &LogState, chain: &[(String, u32)]) -> Result<()> {
        let (named_name, named_seg) = self.meta_l()?.named.clone();
        let Some(seg) = self.seg(named_seg)? else {
            return Ok(());
        };
        let Segment::Log { file: named, .. } = &*seg else {
            return Ok(());
        };
        let mut at = named
            .len()
            .map_err(|e| self.io(Op::Stat, named_name.clone(), e))?;
        let mut all: Vec<(String, FileRef)> = Vec::new();
        for (name, id) in chain {
            if let Some(s) = self.seg(*id)? {
                if let Segment::Log { file, .. } = &*s {
                    all.push((name.clone(), file.clone()));
                }
            }
        }
        all.push((lg.w.name.clone(), lg.w.file.clone()));
        for (name, file) in &all {
            let len = file.len().map_err(|e| self.io(Op::Stat, name.clone(), e))?;
            if len > 0 {
                log::copy_range(&**file, 0, len, &**named, at)
                    .map_err(|e| self.io(Op::Write, named_name.clone(), e))?;
            }
            at += len;
        }
        named
            .sync_all()
            .map_err(|e| self.io(Op::Sync, named_name.clone(), e))?;
        for (name, _) in &all {
            self.fs
                .remove(&self.dir.join(name))
                .map_err(|e| self.io(Op::Remove, name.clone(), e))?;
        }
        self.fs
            .sync_dir(&self.dir)
            .map_err(|e| self.io(Op::SyncDir, "the directory", e))
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // A store dropped without `close` still leaves its log at its last frame, so the
        // reference (which appends at the end of the file) can continue it.
        if !self.closed.load(Ordering::Acquire) && !self.opts.read_only {
            if let Ok(mut lg) = self.log.lock() {
                let _ = lg.w.trim();
            }
        }
    }
}

/// The store's state as of a freeze, for the snapshot writer.
struct Frozen<'s> {
    store: &'s Store,
    arena_len: u64,
    in_flight_to_scheduled: bool,
}

impl SnapshotSource for Frozen<'_> {
    fn urls(&self, f: &mut dyn FnMut(&UrlRecord) -> Result<()>) -> Result<()> {
        let s = self.store;
        let mut after = None;
        let mut cursors = BTreeMap::new();
        loop {
            let (batch, last) = s.index_r()?.urls.frozen_batch(after, BATCH);
            if last.is_none() {
                return Ok(());
            }
            for (k, row) in batch {
                let mut r = match row {
                    Row::Hot(r) => r,
                    Row::Cold(loc) => match s.read_cold(k, loc, Some(&mut cursors)) {
                        Ok(r) => r,
                        // Segments of a frozen view stay until its checkpoint ends.
                        Err(Cold::Moved) => {
                            return Err(StoreError::ColdRead {
                                dir: s.dir.clone(),
                                file: "a frozen segment".into(),
                                at: format!("segment {}", loc.seg),
                                problem: "gone while the checkpoint ran".into(),
                            })
                        }
                        Err(Cold::Err(e)) => return Err(*e),
                    },
                };
                if self.in_flight_to_scheduled && r.status == 3 {
                    r.status = 1;
                }
                f(&r)?;
            }
            after = last;
        }
    }

    fn hosts(&self, f: &mut dyn FnMut(&HostRecord) -> Result<()>) -> Result<()> {
        let mut after = None;
        loop {
            let batch = self.store.index_r()?.hosts.frozen_batch(after, BATCH);
            let Some(last) = batch.last().map(|h| h.host_key) else {
                return Ok(());
            };
            for h in &batch {
                f(h)?;
            }
            after = Some(last);
        }
    }

    fn arena_len(&self) -> u64 {
        self.arena_len
    }

    fn arena_chunk(&self, at: u64, out: &mut [u8]) -> Result<()> {
        let a = self.store.arena_r()?;
        let (s, e) = (at as usize, at as usize + out.len());
        match a.get(s..e) {
            Some(b) => {
                out.copy_from_slice(b);
                Ok(())
            }
            None => Err(StoreError::ColdRead {
                dir: self.store.dir.clone(),
                file: "the arena".into(),
                at: format!("offset {at}"),
                problem: format!("shorter than {e} bytes").into(),
            }),
        }
    }
}

fn prev_key(k: UrlKey) -> Option<UrlKey> {
    if k.path > 0 {
        Some(UrlKey {
            host: k.host,
            path: k.path - 1,
        })
    } else if k.host > 0 {
        Some(UrlKey {
            host: k.host - 1,
            path: u64::MAX,
        })
    } else {
        None
    }
}

/// Applies one update to the indexes; `loc` is its frame's place.
fn apply_to(ix: &mut Indexes, u: &Update<'_>, loc: Loc) {
    match u {
        Update::PutUrl(r) => ix.urls.put(*r, loc),
        Update::DeleteUrl(k) => {
            ix.urls.delete(*k, loc.seg);
        }
        Update::PutHost(h) => ix.hosts.put(*h),
        Update::DeleteHost(k) => ix.hosts.remove(*k),
        // Replay folds an extension frame into the put before it (`open`); the writer never
        // passes one here.
        Update::Intern(_) | Update::UrlExt(_) | Update::HostExt(_) => {}
    }
}

/// Refuses records whose host key lies outside the owned range.
fn check_owner(owner: &Owner, updates: &[Update<'_>]) -> std::result::Result<(), Refusal> {
    if owner.covers_all() {
        return Ok(());
    }
    for u in updates {
        let k = match u {
            Update::PutUrl(r) => r.key.host,
            Update::PutHost(h) => h.host_key,
            _ => continue,
        };
        if k < owner.lo || k > owner.hi {
            return Err(Refusal::OutOfRange {
                host: k,
                lo: owner.lo,
                hi: owner.hi,
            });
        }
    }
    Ok(())
}

/// Refuses records whose arena references do not resolve (counting strings interned earlier
/// in the same batch): a snapshot holding one would fail verification, and the directory
/// would no longer open.
pub(crate) fn check_refs(arena: &[u8], updates: &[Update<'_>]) -> std::result::Result<(), BadRef> {
    check_refs_in(arena, None, updates)
}

/// [`check_refs`], with the arena's walked entry starts when the caller checks many rows
/// against one arena (the answer is the same; only the time differs).
pub(crate) fn check_refs_in(
    arena: &[u8],
    starts: Option<&meguri_core::arena::EntryStarts<'_>>,
    updates: &[Update<'_>],
) -> std::result::Result<(), BadRef> {
    use meguri_core::arena::{Arena, Span};
    use meguri_core::schema::Record;
    // Offsets the batch's own interns will get, in order (the arena is not copied: a
    // reference past its end must be exactly one of these).
    let mut pending = Vec::new();
    let mut end = arena.len() as u64;
    for u in updates {
        if let Update::Intern(s) = u {
            pending.push(end);
            end += (meguri_core::bytes::uvarint_len(s.len() as u64) + s.len()) as u64;
        }
    }
    let a = Arena(arena);
    let resolves = |r: u64| {
        if r < arena.len() as u64 {
            match starts {
                Some(s) => s.resolves(r),
                None => matches!(a.span(r), Span::None | Span::Present(_)),
            }
        } else {
            pending.binary_search(&r).is_ok()
        }
    };
    for u in updates {
        let refs = match u {
            Update::PutUrl(r) => r.arena_refs().into_iter().chain(r.ext_arena_refs()),
            Update::PutHost(h) => h.arena_refs().into_iter().chain(h.ext_arena_refs()),
            _ => continue,
        };
        for (column, value) in refs {
            if !resolves(value) {
                return Err(BadRef {
                    field: column.name,
                    value,
                    arena_len: end,
                });
            }
        }
    }
    Ok(())
}

/// Writes generation `cp.gen`'s slot (and only that slot) and fsyncs the superblock.
fn write_slot(fs: &dyn Storage, dir: &Path, cp: &Checkpoint) -> std::io::Result<()> {
    let slot = superblock::encode_slot(cp).map_err(|e| std::io::Error::other(e.message))?;
    let path = dir.join(SUPER);
    let f = fs.open(&path, Open::Create)?;
    let fresh = f.len()? < superblock::LEN as u64;
    if fresh {
        // First commit: the whole file, so the other slot reads as blank, not short.
        let mut whole = [0u8; superblock::LEN];
        let at = cp.slot() * superblock::SLOT_LEN;
        whole[at..at + superblock::SLOT_LEN].copy_from_slice(&slot);
        f.write_all_at(&whole, 0)?;
    } else {
        f.write_all_at(&slot, (cp.slot() * superblock::SLOT_LEN) as u64)?;
    }
    f.sync_all()?;
    if fresh {
        fs.sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use meguri_core::store::recovery::is_generation_file;

    #[test]
    fn generation_file_names() {
        for n in ["log-1", "log-22", "snap-3.meguri"] {
            assert!(is_generation_file(n), "{n}");
        }
        for n in [
            "log-",
            "log-2.discarded-5",
            "snap-.meguri",
            "snap-1.meguri.tmp",
            "super",
        ] {
            assert!(!is_generation_file(n), "{n}");
        }
    }
}
