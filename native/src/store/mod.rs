//! The durable partition directory: a snapshot, a log, and a superblock that says which pair is
//! current.
//!
//! ```text
//! <dir>/super            two slots; the valid one with the higher generation is current
//! <dir>/snap-<G>.meguri  the checkpoint of generation G (absent before the first checkpoint)
//! <dir>/log-<G+1>        every update since that checkpoint, one checksummed frame each
//! ```
//!
//! Invariants (each is tested in `native/tests/store_*.rs`):
//! 1. The current slot names a snapshot and a log that were complete and fsynced, with the
//!    directory entries fsynced, before the slot was written. A generation is never half
//!    visible.
//! 2. A committed generation's files are removed only after the next slot is durable.
//! 3. Replay is redo only, in LSN order, and stops at the first frame that is torn, fails its
//!    CRC or breaks the LSN order. A writable open truncates the log there before anything is
//!    appended, so no later append hides behind garbage; the discarded bytes are kept beside
//!    the log (`log-<G>.discarded-<offset>`) and reported, never silently dropped.
//! 4. Under [`Durability::Full`] an update is acknowledged only after an fsync that began
//!    after its frame was written (group commit, `log.rs`).
//! 5. After a failed write or fsync of the log, the store refuses every further update.
//! 6. One writer per directory, by an exclusive `flock` on the directory itself, which the
//!    kernel releases when the process dies. Read-only opens take no lock and create, write,
//!    truncate and fsync nothing.
//! 7. Files named like a generation's files but not named by the current slot are leftovers
//!    of an interrupted checkpoint; a writable open removes them (and says so).

pub mod index;
pub mod log;

use crate::atomic::sync_dir;
use crate::crash::crash_point;
use crate::encode::{encode_partition, EncodeSettings};
use crate::fsource::FileSource;
use index::{Loc, UrlIndex};
use log::{Faults, GroupCommit, ScanEnd};
use meguri_core::keys::UrlKey;
use meguri_core::partition::Partition;
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::store::frame::{self, Frame, Update};
use meguri_core::store::superblock::{self, Checkpoint, Superblock};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// File name of the superblock.
pub const SUPER: &str = "super";

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

impl std::str::FromStr for Durability {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "none" => Ok(Durability::None),
            "normal" => Ok(Durability::Normal),
            "full" => Ok(Durability::Full),
            _ => Err(format!("durability is none, normal or full, not {s:?}")),
        }
    }
}

/// How to open a directory.
#[derive(Debug, Clone, Default)]
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
    /// How snapshots are encoded.
    pub encode: EncodeSettings,
    /// Injected failures (tests).
    pub faults: Option<Arc<Faults>>,
}

/// A store error: one sentence naming the directory and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

/// Result of store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(StoreError(msg.into()))
}

/// What recovery found and did, for the caller to report.
#[derive(Debug, Clone, Default)]
pub struct Recovery {
    /// The generation opened (0 = no checkpoint yet).
    pub gen: u64,
    /// URL rows loaded from the snapshot.
    pub snapshot_urls: u64,
    /// Frames replayed from the log.
    pub frames: u64,
    /// Bytes of log replayed.
    pub log_bytes: u64,
    /// One line per notable event (torn tail truncated, leftovers removed, a damaged slot).
    pub notes: Vec<String>,
}

/// The cold snapshot: rows read back on demand, a few decoded blocks cached.
struct Snapshot {
    reader: Reader<FileSource>,
    block: u64,
    cache: Vec<(u64, Vec<UrlRecord>)>,
}

const SNAP_CACHE_BLOCKS: usize = 4;

/// Rows to decode at a time when walking a file's URL table: its largest page, so no page is
/// decoded more than twice (a file whose columns are single pages is decoded once, whole),
/// and at least 4,096.
pub fn row_block<S: meguri_core::source::Source>(reader: &Reader<S>) -> u64 {
    let n = reader.rows(meguri_core::Table::Url);
    let mut block = 4096u64;
    for id in 0..meguri_core::schema::URL_COLUMNS.len() as u64 {
        if let Ok(dir) = reader.column_dir(meguri_core::Table::Url, id) {
            let largest = dir
                .pages
                .iter()
                .map(|p| p.num_values)
                .max()
                .unwrap_or(dir.num_values);
            block = block.max(largest);
        }
    }
    block.min(n.max(1))
}

impl Snapshot {
    fn url(&mut self, row: u64) -> std::result::Result<UrlRecord, String> {
        let size = self.block;
        let block = row / size;
        if let Some(i) = self.cache.iter().position(|(b, _)| *b == block) {
            let hit = self.cache.remove(i);
            let r = hit.1[(row - block * size) as usize];
            self.cache.push(hit);
            return Ok(r);
        }
        let start = block * size;
        let end = (start + size).min(self.reader.rows(meguri_core::Table::Url));
        let rows = self
            .reader
            .url_rows(start..end)
            .map_err(|e| e.to_string())?;
        let r = *rows
            .get((row - start) as usize)
            .ok_or_else(|| format!("snapshot has no URL row {row}"))?;
        if self.cache.len() >= SNAP_CACHE_BLOCKS {
            self.cache.remove(0);
        }
        self.cache.push((block, rows));
        Ok(r)
    }
}

struct State {
    gen: u64,
    next_lsn: u64,
    log: Arc<File>,
    log_name: String,
    log_end: u64,
    snapshot: Option<Snapshot>,
    snapshot_name: Option<String>,
    urls: UrlIndex,
    hosts: BTreeMap<u64, HostRecord>,
    arena: Vec<u8>,
    id: u32,
    created_hours: u32,
    frame: Vec<u8>,
}

/// An open partition directory.
pub struct Store {
    dir: PathBuf,
    opts: Options,
    state: Mutex<State>,
    commit: GroupCommit,
    poisoned: AtomicBool,
    recovery: Recovery,
    _lock: Option<File>,
}

/// Where an update landed: its LSN and the log epoch and end offset to wait on.
#[derive(Debug, Clone, Copy)]
struct Appended {
    lsn: u64,
    epoch: u64,
    end: u64,
}

fn is_generation_file(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    name.strip_prefix("log-").is_some_and(digits)
        || name
            .strip_prefix("snap-")
            .and_then(|s| s.strip_suffix(".meguri"))
            .is_some_and(digits)
}

impl Store {
    /// Opens (or, unless read-only, creates) the partition directory `dir` and recovers its
    /// state: the current snapshot plus the valid prefix of its log.
    pub fn open(dir: &Path, opts: Options) -> Result<Store> {
        let shown = dir.display().to_string();
        let ctx = |m: String| StoreError(format!("{shown}: {m}"));
        if opts.read_only {
            if !dir.is_dir() {
                return err(format!("{shown} is not a partition directory"));
            }
            if !dir.join(SUPER).exists() && !dir.join("log-1").exists() {
                return err(format!(
                    "{shown} is not a partition directory (it has neither `super` nor `log-1`)"
                ));
            }
        } else {
            fs::create_dir_all(dir).map_err(|e| ctx(format!("cannot create: {e}")))?;
        }
        let lock = if opts.read_only {
            None
        } else {
            let f = File::open(dir).map_err(|e| ctx(format!("cannot open: {e}")))?;
            // A lock released a moment ago can still be held by a copy of its descriptor in
            // a child another thread is forking (until that child's exec closes it), so a
            // conflict is retried briefly before it is reported.
            let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
            loop {
                match f.try_lock() {
                    Ok(()) => break Some(f),
                    Err(std::fs::TryLockError::WouldBlock)
                        if std::time::Instant::now() < deadline =>
                    {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    Err(std::fs::TryLockError::WouldBlock) => {
                        return err(format!(
                            "{shown} is already open for writing by another process; \
                             one writer per partition directory"
                        ))
                    }
                    Err(std::fs::TryLockError::Error(e)) => {
                        return err(format!("{shown}: cannot lock: {e}"))
                    }
                }
            }
        };
        let mut recovery = Recovery::default();
        let sb_bytes = match fs::read(dir.join(SUPER)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(ctx(format!("cannot read the superblock: {e}"))),
        };
        let sb = Superblock::read(&sb_bytes);
        let current = sb
            .current()
            .map_err(|e| ctx(e.to_string()))?
            .map(|(i, c)| (i, c.clone()));
        for (i, slot) in sb.slots.iter().enumerate() {
            if let superblock::Slot::Bad(e) = slot {
                recovery.notes.push(format!(
                    "superblock slot {} is damaged ({}); using the other slot",
                    superblock::slot_name(i),
                    e.message
                ));
            }
        }
        let (gen, frontier, snap_name, log_name) = match &current {
            Some((_, c)) => (c.gen, c.frontier, Some(c.snapshot.clone()), c.log.clone()),
            None => (0, 1, None, "log-1".to_string()),
        };
        recovery.gen = gen;

        let mut urls = UrlIndex::new(opts.resident_budget);
        let mut hosts = BTreeMap::new();
        let mut arena = vec![0u8];
        let (mut id, mut created_hours) = (opts.partition_id, opts.created_hours);
        let mut snapshot = None;
        if let Some(name) = &snap_name {
            let path = dir.join(name);
            let src = FileSource::open(&path).map_err(|e| {
                ctx(format!(
                    "the superblock names {name} as generation {gen}'s snapshot, \
                     but it cannot be opened: {e}"
                ))
            })?;
            // A checked load rather than a separate `verify` pass: every page and region is
            // CRC-checked as it is decoded, and the rules a snapshot's rows must keep (keys in
            // strict order, references that resolve) are checked row by row, so opening never
            // holds more than one block of decoded rows beyond what stays resident.
            let bad = |m: String| ctx(format!("snapshot {name} fails verification: {m}"));
            let reader =
                Reader::open_with(src, ReadOptions::default()).map_err(|e| bad(e.to_string()))?;
            id = reader.header().partition_id;
            created_hours = reader.header().created_hours;
            let a = reader.arena().map_err(|e| bad(e.to_string()))?;
            if !a.is_empty() {
                arena = a;
            }
            let mut prev_host = None;
            for (i, h) in reader
                .host_table()
                .map_err(|e| bad(e.to_string()))?
                .into_iter()
                .enumerate()
            {
                if prev_host.is_some_and(|p| p >= h.host_key) {
                    return Err(bad(format!("host row {i} is out of key order")));
                }
                prev_host = Some(h.host_key);
                check_refs(&arena, &[Update::PutHost(h)])
                    .map_err(|m| bad(format!("host row {i}: {m}")))?;
                hosts.insert(h.host_key, h);
            }
            let n = reader.rows(meguri_core::Table::Url);
            let block = row_block(&reader);
            let mut start = 0;
            let mut prev_key = None;
            while start < n {
                let end = (start + block).min(n);
                let rows = reader
                    .url_rows(start..end)
                    .map_err(|e| bad(e.to_string()))?;
                for (i, r) in rows.into_iter().enumerate() {
                    let row = start + i as u64;
                    if prev_key.is_some_and(|p| p >= r.key) {
                        return Err(bad(format!("URL row {row} is out of key order")));
                    }
                    prev_key = Some(r.key);
                    check_refs(&arena, &[Update::PutUrl(r)])
                        .map_err(|m| bad(format!("URL row {row}: {m}")))?;
                    let loc = Loc::Snap(row as u32);
                    if opts.resident_budget == 0 || urls.resident() < opts.resident_budget {
                        urls.put(r, loc);
                    } else {
                        urls.put_cold(r.key, loc);
                    }
                }
                start = end;
            }
            recovery.snapshot_urls = n;
            snapshot = Some(Snapshot {
                block,
                reader,
                cache: Vec::new(),
            });
        }

        let log_path = dir.join(&log_name);
        let log_file = if opts.read_only {
            match File::open(&log_path) {
                Ok(f) => Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && current.is_none() => None,
                Err(e) => return Err(ctx(format!("cannot open {log_name}: {e}"))),
            }
        } else {
            let mut o = OpenOptions::new();
            o.read(true).write(true);
            // Before the first checkpoint the log is created on demand; after one, the commit
            // protocol created it, so its absence means it was lost.
            if current.is_none() {
                o.create(true);
            }
            Some(o.open(&log_path).map_err(|e| {
                ctx(if e.kind() == std::io::ErrorKind::NotFound {
                    format!(
                        "the superblock names {log_name} as the log of generation {gen}, but \
                         it is missing: the updates since that checkpoint are lost"
                    )
                } else {
                    format!("cannot open {log_name}: {e}")
                })
            })?)
        };

        let mut last_lsn = None;
        if let Some(f) = &log_file {
            let scan_end = replay(f, frontier, &mut urls, &mut hosts, &mut arena)
                .map_err(|e| ctx(format!("{log_name}: {e}")))?;
            recovery.frames = scan_end.frames;
            recovery.log_bytes = scan_end.good_end;
            last_lsn = scan_end.last_lsn;
            if scan_end.unknown > 0 {
                recovery.notes.push(format!(
                    "{log_name}: skipped {} frames of kinds this version does not know",
                    scan_end.unknown
                ));
            }
            if scan_end.good_end < scan_end.file_len {
                handle_bad_tail(dir, &log_name, f, &scan_end, opts.read_only, &mut recovery)
                    .map_err(ctx)?;
            }
        }
        let log_file = match log_file {
            Some(f) => f,
            // Read-only and no log yet: an empty stand-in that is never written.
            None => File::open("/dev/null").map_err(|e| ctx(e.to_string()))?,
        };
        let log_end = recovery.log_bytes;
        let next_lsn = frontier.max(last_lsn.map_or(0, |l| l + 1));

        if !opts.read_only {
            remove_leftovers(dir, snap_name.as_deref(), &log_name, &mut recovery).map_err(ctx)?;
            // A fresh log-1 (and the directory itself) must survive a crash before the first
            // checkpoint, or a Full-acknowledged update could vanish with its file.
            sync_dir(dir).map_err(|e| ctx(format!("cannot fsync the directory: {e}")))?;
        }
        let log = Arc::new(log_file);
        Ok(Store {
            dir: dir.to_path_buf(),
            commit: GroupCommit::new(log.clone(), log_end, opts.faults.clone()),
            state: Mutex::new(State {
                gen,
                next_lsn,
                log,
                log_name,
                log_end,
                snapshot,
                snapshot_name: snap_name,
                urls,
                hosts,
                arena,
                id,
                created_hours,
                frame: Vec::with_capacity(256),
            }),
            opts,
            poisoned: AtomicBool::new(false),
            recovery,
            _lock: lock,
        })
    }

    /// What recovery found and did.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_writable(&self) -> Result<()> {
        if self.opts.read_only {
            return err(format!("{} was opened read-only", self.dir.display()));
        }
        if self.poisoned.load(Ordering::Acquire) {
            let why = self.commit.failure().unwrap_or_default();
            return err(format!(
                "{}: the store refuses writes after a failed write or fsync of its log ({why}); \
                 reopen it to recover the durable state",
                self.dir.display()
            ));
        }
        Ok(())
    }

    /// Appends frames for `updates` in one write, applying each to the in-memory state.
    fn append(&self, s: &mut State, updates: &[Update<'_>]) -> Result<Appended> {
        self.check_writable()?;
        check_refs(&s.arena, updates)
            .map_err(|m| StoreError(format!("{}: refused: {m}", self.dir.display())))?;
        let start = s.log_end;
        let first_lsn = s.next_lsn;
        let mut buf = std::mem::take(&mut s.frame);
        buf.clear();
        let mut offsets = Vec::with_capacity(updates.len());
        for (i, u) in updates.iter().enumerate() {
            offsets.push(start + buf.len() as u64);
            frame::encode(first_lsn + i as u64, u, &mut buf)
                .map_err(|e| StoreError(format!("{}: {}", self.dir.display(), e.message)))?;
        }
        if let Err(e) = s.log.write_all_at(&buf, start) {
            // How much reached the file is unknown: nothing may be appended after it.
            let why = format!("write to {} failed: {e}", s.log_name);
            self.commit.poison(why.clone());
            self.poisoned.store(true, Ordering::Release);
            s.frame = buf;
            return err(format!("{}: {why}", self.dir.display()));
        }
        let end = start + buf.len() as u64;
        s.log_end = end;
        s.next_lsn = first_lsn + updates.len() as u64;
        for (u, &off) in updates.iter().zip(&offsets) {
            apply(u, off, &mut s.urls, &mut s.hosts, &mut s.arena);
        }
        s.frame = buf;
        let epoch = self.commit.written(end);
        Ok(Appended {
            lsn: s.next_lsn - 1,
            epoch,
            end,
        })
    }

    /// Waits for what the durability mode promises.
    fn acknowledge(&self, a: Appended) -> Result<u64> {
        if self.opts.durability == Durability::Full {
            if let Err(why) = self.commit.wait(a.epoch, a.end) {
                self.poisoned.store(true, Ordering::Release);
                return err(format!(
                    "{}: update {} is not durable: {why}; the store refuses further writes",
                    self.dir.display(),
                    a.lsn
                ));
            }
        }
        Ok(a.lsn)
    }

    /// Applies updates as one log write; returns the last LSN once the durability mode's
    /// promise holds for all of them. Interned strings get consecutive arena offsets starting
    /// at [`Store::arena_len`] as it was before the call.
    pub fn apply(&self, updates: &[Update<'_>]) -> Result<u64> {
        if updates.is_empty() {
            return Ok(self.state().next_lsn.saturating_sub(1));
        }
        let a = {
            let mut s = self.state();
            self.append(&mut s, updates)?
        };
        self.acknowledge(a)
    }

    /// Puts a URL record (replacing the key's earlier version).
    pub fn put_url(&self, r: UrlRecord) -> Result<u64> {
        self.apply(&[Update::PutUrl(r)])
    }

    /// Deletes a URL; `Ok(None)` if the key was not live (nothing is written).
    pub fn delete_url(&self, key: UrlKey) -> Result<Option<u64>> {
        let a = {
            let mut s = self.state();
            if !s.urls.is_live(&key) {
                return Ok(None);
            }
            self.append(&mut s, &[Update::DeleteUrl(key)])?
        };
        self.acknowledge(a).map(Some)
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
        let (r, a) = {
            let mut st = self.state();
            let r = st.arena.len() as u64;
            (r, self.append(&mut st, &[Update::Intern(s)])?)
        };
        self.acknowledge(a)?;
        Ok(r)
    }

    /// Current arena length (the offset the next interned string gets).
    pub fn arena_len(&self) -> u64 {
        self.state().arena.len() as u64
    }

    /// The string at arena offset `r`.
    pub fn string(&self, r: u64) -> Option<Vec<u8>> {
        let s = self.state();
        meguri_core::arena::Arena(&s.arena)
            .get(r)
            .map(<[u8]>::to_vec)
    }

    /// The URL record of `key`, read back from disk (and checked) when it is not resident.
    pub fn get_url(&self, key: UrlKey) -> Result<Option<UrlRecord>> {
        let mut s = self.state();
        let Some(e) = s.urls.entry(&key) else {
            return Ok(None);
        };
        if let Some(r) = s.urls.record(e) {
            return Ok(Some(*r));
        }
        if e.loc == Loc::Tomb {
            return Ok(None);
        }
        let r = self.read_cold(&mut s, key, e.loc)?;
        s.urls.rematerialize(r);
        Ok(Some(r))
    }

    fn read_cold(&self, s: &mut State, key: UrlKey, loc: Loc) -> Result<UrlRecord> {
        let ctx = |m: String| StoreError(format!("{}: {m}", self.dir.display()));
        let r = match loc {
            Loc::Log(off) => {
                let b = log::read_frame_at(&s.log, off, frame::URL_PUT_LEN).map_err(ctx)?;
                match frame::parse(&b, off) {
                    frame::Parsed::Frame(Frame {
                        update: Some(Update::PutUrl(r)),
                        ..
                    }) => r,
                    other => {
                        return Err(ctx(format!(
                            "{}: the URL frame at offset {off} no longer reads back: {other:?}",
                            s.log_name
                        )))
                    }
                }
            }
            Loc::Snap(row) => {
                let snap = s
                    .snapshot
                    .as_mut()
                    .ok_or_else(|| ctx("a snapshot row without a snapshot".into()))?;
                snap.url(u64::from(row)).map_err(ctx)?
            }
            Loc::Tomb => return Err(ctx("read of a deleted record".into())),
        };
        if r.key != key {
            return Err(ctx(format!(
                "the record stored for {:016x}:{:016x} has key {:016x}:{:016x}",
                key.host, key.path, r.key.host, r.key.path
            )));
        }
        Ok(r)
    }

    /// The host record of `host_key`.
    pub fn get_host(&self, host_key: u64) -> Option<HostRecord> {
        self.state().hosts.get(&host_key).copied()
    }

    /// Live URL rows.
    pub fn url_count(&self) -> usize {
        self.state().urls.live()
    }

    /// Host rows.
    pub fn host_count(&self) -> usize {
        self.state().hosts.len()
    }

    /// URL records held in memory.
    pub fn resident(&self) -> usize {
        self.state().urls.resident()
    }

    /// Log fsyncs done so far (group commit shares them).
    pub fn log_syncs(&self) -> u64 {
        self.commit.syncs()
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.state().gen
    }

    /// The live state as a partition value: every live URL (read back when cold) sorted by
    /// key, every host, the arena, and the range those rows span (the whole key space when
    /// there are none). Memory: one decoded copy of every row, for as long as the caller
    /// keeps it.
    pub fn partition(&self) -> Result<Partition> {
        let mut s = self.state();
        self.partition_of(&mut s)
    }

    fn partition_of(&self, s: &mut State) -> Result<Partition> {
        let mut cold: Vec<(Loc, UrlKey)> = Vec::new();
        let mut urls = Vec::with_capacity(s.urls.live());
        for (k, e) in s.urls.iter() {
            match s.urls.record(*e) {
                Some(r) => urls.push(*r),
                None if e.loc != Loc::Tomb => cold.push((e.loc, *k)),
                None => {}
            }
        }
        // Snapshot rows in row order and log frames in file order read each block once.
        cold.sort_unstable();
        for (loc, key) in cold {
            urls.push(self.read_cold(s, key, loc)?);
        }
        urls.sort_unstable_by_key(|r| r.key);
        let hosts: Vec<HostRecord> = s.hosts.values().copied().collect();
        let lo = urls
            .first()
            .map(|u| u.key.host)
            .into_iter()
            .chain(hosts.first().map(|h| h.host_key))
            .min();
        let hi = urls
            .last()
            .map(|u| u.key.host)
            .into_iter()
            .chain(hosts.last().map(|h| h.host_key))
            .max();
        Ok(Partition {
            id: s.id,
            hostkey_lo: lo.unwrap_or(0),
            hostkey_hi: hi.unwrap_or(u64::MAX),
            created_hours: s.created_hours,
            urls,
            hosts,
            arena: s.arena.clone(),
            meta: Vec::new(),
            schedule: false,
            seen_filter: Vec::new(),
        })
    }

    /// Folds the live state into a new snapshot and starts a new log.
    ///
    /// The steps, each durable before the next: write and fsync `snap-<G+1>.meguri`; create
    /// and fsync `log-<G+2>`; fsync the directory; write the superblock slot of generation
    /// G+1 and fsync it (the commit point); then remove generation G's files and fsync the
    /// directory. Writers wait while it runs.
    pub fn checkpoint(&self) -> Result<u64> {
        self.check_writable()?;
        let dir = &self.dir;
        let ctx = |m: String| StoreError(format!("{}: checkpoint: {m}", dir.display()));
        let mut s = self.state();
        let p = self.partition_of(&mut s)?;
        let gen = s.gen + 1;
        let snap_name = format!("snap-{gen}.meguri");
        let log_name = format!("log-{}", gen + 1);
        let bytes = encode_partition(&p, &self.opts.encode).map_err(|e| ctx(e.to_string()))?;
        let snap_path = dir.join(&snap_name);
        let log_path = dir.join(&log_name);
        let undo = || {
            let _ = fs::remove_file(&snap_path);
            let _ = fs::remove_file(&log_path);
        };
        let prepared = (|| -> std::io::Result<File> {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&snap_path)?;
            std::io::Write::write_all(&mut f, &bytes)?;
            f.sync_all()?;
            drop(f);
            let log = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&log_path)?;
            log.sync_all()?;
            sync_dir(dir)?;
            Ok(log)
        })();
        let new_log = match prepared {
            Ok(f) => f,
            Err(e) => {
                // Nothing the superblock names was touched: the store goes on as it was.
                undo();
                return Err(ctx(format!("cannot write {snap_name} or {log_name}: {e}")));
            }
        };
        crash_point("checkpoint-prepared");
        let cp = Checkpoint {
            gen,
            frontier: s.next_lsn,
            arena_len: p.arena.len() as u64,
            snapshot: snap_name.clone(),
            log: log_name.clone(),
        };
        if let Err(e) = write_slot(dir, &cp) {
            // The slot may or may not be on disk: the directory's generation is unknown.
            self.poisoned.store(true, Ordering::Release);
            self.commit
                .poison(format!("superblock write failed during checkpoint: {e}"));
            return Err(ctx(format!(
                "writing the superblock failed ({e}); the store refuses further writes, and \
                 reopening it recovers whichever generation is durable"
            )));
        }
        crash_point("checkpoint-committed");
        // Generation `gen` is current. Switch to it in memory, then remove the old files.
        let src = FileSource::open(&snap_path).map_err(|e| ctx(e.to_string()))?;
        let reader = Reader::open(src).map_err(|e| ctx(e.to_string()))?;
        let keys: Vec<UrlKey> = p.urls.iter().map(|u| u.key).collect();
        s.urls.rebase(&keys);
        let old_snap = s.snapshot_name.replace(snap_name);
        let old_log = std::mem::replace(&mut s.log_name, log_name);
        s.snapshot = Some(Snapshot {
            block: row_block(&reader),
            reader,
            cache: Vec::new(),
        });
        let new_log = Arc::new(new_log);
        s.log = new_log.clone();
        s.log_end = 0;
        s.gen = gen;
        self.commit.rotate(new_log);
        let mut removed = Vec::new();
        if let Some(old) = old_snap {
            removed.push(old);
        }
        removed.push(old_log);
        for name in &removed {
            match fs::remove_file(dir.join(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ctx(format!("cannot remove {name}: {e}"))),
            }
        }
        sync_dir(dir).map_err(|e| ctx(format!("cannot fsync the directory: {e}")))?;
        Ok(gen)
    }

    /// Closes the store; under `Normal` and `Full` the log is fsynced first.
    pub fn close(self) -> Result<()> {
        if self.opts.read_only || self.poisoned.load(Ordering::Acquire) {
            return Ok(());
        }
        if self.opts.durability != Durability::None {
            let s = self.state();
            log::sync_log(&s.log, self.opts.faults.as_deref()).map_err(|e| {
                StoreError(format!(
                    "{}: fsync of {} on close failed: {e}",
                    self.dir.display(),
                    s.log_name
                ))
            })?;
        }
        Ok(())
    }
}

/// Refuses records whose arena references do not resolve (counting strings interned earlier
/// in the same batch): a snapshot holding one would fail verification, and the directory
/// would no longer open.
fn check_refs(arena: &[u8], updates: &[Update<'_>]) -> std::result::Result<(), String> {
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
            matches!(a.span(r), Span::None | Span::Present(_))
        } else {
            pending.binary_search(&r).is_ok()
        }
    };
    for u in updates {
        let refs = match u {
            Update::PutUrl(r) => r.arena_refs(),
            Update::PutHost(h) => h.arena_refs(),
            _ => continue,
        };
        for (column, r) in refs {
            if !resolves(r) {
                return Err(format!(
                    "{} {r} does not resolve in the {end}-byte string arena",
                    column.name
                ));
            }
        }
    }
    Ok(())
}

/// Applies one update to the in-memory state; `offset` is its frame's place in the log.
fn apply(
    u: &Update<'_>,
    offset: u64,
    urls: &mut UrlIndex,
    hosts: &mut BTreeMap<u64, HostRecord>,
    arena: &mut Vec<u8>,
) {
    match u {
        Update::PutUrl(r) => urls.put(*r, Loc::Log(offset)),
        Update::DeleteUrl(k) => {
            urls.delete(*k);
        }
        Update::PutHost(h) => {
            hosts.insert(h.host_key, *h);
        }
        Update::DeleteHost(k) => {
            hosts.remove(k);
        }
        Update::Intern(s) => {
            meguri_core::bytes::put_uvarint(arena, s.len() as u64);
            arena.extend_from_slice(s);
        }
    }
}

fn replay(
    f: &File,
    frontier: u64,
    urls: &mut UrlIndex,
    hosts: &mut BTreeMap<u64, HostRecord>,
    arena: &mut Vec<u8>,
) -> std::result::Result<ScanEnd, String> {
    log::scan(f, frontier, |off, fr: &Frame<'_>| {
        if let Some(u) = &fr.update {
            apply(u, off, urls, hosts, arena);
        }
        Ok(())
    })
}

/// A log whose valid frames end before the file does: keep the discarded bytes beside it,
/// and (when writable) truncate so appends continue right after the last good frame.
fn handle_bad_tail(
    dir: &Path,
    log_name: &str,
    f: &File,
    end: &ScanEnd,
    read_only: bool,
    recovery: &mut Recovery,
) -> std::result::Result<(), String> {
    let lost = end.file_len - end.good_end;
    let why = end.stop.clone().unwrap_or_default();
    if read_only {
        recovery.notes.push(format!(
            "{log_name}: replay stops at offset {} ({why}); {lost} bytes after it are ignored \
             (a writable open would truncate them)",
            end.good_end
        ));
        return Ok(());
    }
    let keep = format!("{log_name}.discarded-{}", end.good_end);
    let mut tail = vec![0u8; lost as usize];
    f.read_exact_at(&mut tail, end.good_end)
        .map_err(|e| format!("cannot read the bad tail of {log_name}: {e}"))?;
    crate::atomic::write_atomic(&dir.join(&keep), &tail)
        .map_err(|e| format!("cannot save the bad tail of {log_name} to {keep}: {e}"))?;
    f.set_len(end.good_end)
        .map_err(|e| format!("cannot truncate {log_name}: {e}"))?;
    f.sync_all()
        .map_err(|e| format!("cannot fsync {log_name} after truncating it: {e}"))?;
    recovery.notes.push(format!(
        "{log_name}: replay stopped at offset {} ({why}); truncated the log there and kept \
         the {lost} bytes after it in {keep}",
        end.good_end
    ));
    Ok(())
}

/// Removes generation files the current slot does not name.
fn remove_leftovers(
    dir: &Path,
    snap: Option<&str>,
    log: &str,
    recovery: &mut Recovery,
) -> std::result::Result<(), String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("cannot list the directory: {e}"))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list the directory: {e}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_generation_file(&name) && Some(name.as_str()) != snap && name != log {
            fs::remove_file(entry.path()).map_err(|e| format!("cannot remove {name}: {e}"))?;
            recovery.notes.push(format!(
                "removed {name}, left by a checkpoint that was interrupted or not cleaned up"
            ));
        }
    }
    Ok(())
}

/// Writes generation `cp.gen`'s slot (and only that slot) and fsyncs the superblock.
fn write_slot(dir: &Path, cp: &Checkpoint) -> std::io::Result<()> {
    let slot = superblock::encode_slot(cp).map_err(|e| std::io::Error::other(e.message))?;
    let path = dir.join(SUPER);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    let fresh = f.metadata()?.len() < superblock::LEN as u64;
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
        sync_dir(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
