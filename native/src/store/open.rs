//! Opening a partition directory: the superblock, the snapshot it names, the named log and
//! any later logs, the tails they end in, and the leftovers of interrupted checkpoints.
//! (The rules are in the module docs of `store` and in docs/format.md §13.3.)

use super::error::{Op, RecoveryEvent, Result, SnapshotProblem, StoreError};
use super::index::{HostIndex, Loc, SortedLoad, UrlIndex};
use super::log::{self, GroupCommit, LogWriter, Rule, ScanEnd};
use super::snapshot::ColdSnapshot;
use super::storage::{self, FileRef, FileSourceOf, Open, Storage, StorageFile};
use super::{
    apply_to, check_refs_in, log_number, Indexes, LogState, Meta, Options, Recovery, Segment,
    Segments, Store, SUPER,
};
use meguri_core::arena::{Arena, EntryStarts};
use meguri_core::reader::Reader;
use meguri_core::store::frame::{self, Update};
use meguri_core::store::recovery::{self, Chain, Tail};
use meguri_core::store::superblock::{self, Owner, Superblock};
use meguri_core::Table;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

struct Ctx<'a> {
    dir: &'a Path,
    fs: &'a dyn Storage,
}

impl Ctx<'_> {
    fn io(&self, op: Op, file: impl Into<String>, e: std::io::Error) -> StoreError {
        StoreError::Io {
            dir: self.dir.to_path_buf(),
            op,
            file: file.into(),
            source: e,
        }
    }
}

/// What replaying into memory builds up.
struct Building {
    urls: UrlIndex,
    hosts: HostIndex,
    arena: Vec<u8>,
    segs: Segments,
}

impl Building {
    fn register(&mut self, s: Segment) -> u32 {
        let id = self.segs.next;
        self.segs.next += 1;
        self.segs.map.insert(id, Arc::new(s));
        id
    }

    /// Replays `file` from `from` under `rule` into memory, as segment `seg`.
    fn replay(
        &mut self,
        file: &dyn StorageFile,
        from: u64,
        rule: Rule,
        seg: u32,
    ) -> std::io::Result<ScanEnd> {
        let mut ix = Indexes {
            urls: std::mem::take(&mut self.urls),
            hosts: std::mem::take(&mut self.hosts),
        };
        let arena = &mut self.arena;
        // The last frame, when it was a put: an extension frame right after it completes it
        // (and is ignored anywhere else; see `frame`).
        let mut put: Option<(Update<'static>, Loc)> = None;
        let r = log::scan_from(file, from, rule, |off, fr| {
            let loc = Loc { seg, pos: off };
            match &fr.update {
                Some(x @ (Update::UrlExt(_) | Update::HostExt(_))) => {
                    if let Some((mut p, at)) = put.take() {
                        if frame::apply_ext(&mut p, x) {
                            apply_to(&mut ix, &p, at);
                        }
                    }
                }
                Some(u) => {
                    if let Update::Intern(s) = u {
                        meguri_core::bytes::put_uvarint(arena, s.len() as u64);
                        arena.extend_from_slice(s);
                    }
                    apply_to(&mut ix, u, loc);
                    put = match u {
                        Update::PutUrl(r) => Some((Update::PutUrl(*r), loc)),
                        Update::PutHost(h) => Some((Update::PutHost(*h), loc)),
                        _ => None,
                    };
                }
                None => put = None,
            }
        });
        self.urls = ix.urls;
        self.hosts = ix.hosts;
        r
    }
}

/// Opens the directory; see [`Store::open`].
pub(super) fn open(dir: &Path, opts: Options) -> Result<Store> {
    let fs: Arc<dyn Storage> = opts.storage.clone().unwrap_or_else(storage::real);
    let cx = Ctx { dir, fs: &*fs };
    if opts.read_only {
        if !fs.is_dir(dir) {
            return Err(StoreError::NotADirectory {
                dir: dir.to_path_buf(),
            });
        }
        let has = |n: &str| fs.exists(&dir.join(n)).unwrap_or(false);
        if !has(SUPER) && !has("log-1") {
            return Err(StoreError::NotAPartition {
                dir: dir.to_path_buf(),
            });
        }
    } else {
        fs.create_dir_all(dir)
            .map_err(|e| cx.io(Op::CreateDir, "the directory", e))?;
    }
    let lock = if opts.read_only {
        None
    } else {
        // A lock released a moment ago can still be held by a copy of its descriptor in a
        // child another thread is forking (until that child's exec closes it), so a conflict
        // is retried briefly before it is reported.
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            match fs.try_lock_dir(dir) {
                Ok(Some(l)) => break Some(l),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    return Err(StoreError::Locked {
                        dir: dir.to_path_buf(),
                    })
                }
                Err(e) => return Err(cx.io(Op::Lock, "the directory", e)),
            }
        }
    };
    let mut recovery = Recovery::default();
    let sb_bytes = match fs.open(&dir.join(SUPER), Open::Read) {
        Ok(f) => {
            let len = f.len().map_err(|e| cx.io(Op::Read, "the superblock", e))?;
            let mut b = vec![0u8; len.min(superblock::LEN as u64) as usize];
            f.read_exact_at(&mut b, 0)
                .map_err(|e| cx.io(Op::Read, "the superblock", e))?;
            b
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(cx.io(Op::Read, "the superblock", e)),
    };
    let sb = Superblock::read(&sb_bytes);
    let current = sb
        .current()
        .map_err(|error| StoreError::Superblock {
            dir: dir.to_path_buf(),
            error: Box::new(error),
        })?
        .map(|(_, c)| c.clone());
    for (i, slot) in sb.slots.iter().enumerate() {
        if let superblock::Slot::Bad(e) = slot {
            recovery.events.push(RecoveryEvent::DamagedSlot {
                slot: superblock::slot_name(i),
                error: e.clone(),
            });
        }
    }
    let (gen, frontier, snap_name, log_name, owner, arena_len) = match &current {
        Some(c) => (
            c.gen,
            c.frontier,
            Some(c.snapshot.clone()),
            c.log.clone(),
            c.owner,
            c.arena_len,
        ),
        None => (0, 1, None, "log-1".to_string(), opts.owner, 0),
    };
    recovery.gen = gen;
    let mut b = Building {
        urls: UrlIndex::new(opts.resident_budget),
        hosts: HostIndex::default(),
        arena: vec![0u8],
        segs: Segments::default(),
    };
    let (mut id, mut created_hours) = (opts.partition_id, opts.created_hours);
    let mut snap = None;
    if let Some(name) = &snap_name {
        let (reader, n) = load_snapshot(&cx, gen, name, &opts, &mut b)?;
        id = reader.header().partition_id;
        created_hours = reader.header().created_hours;
        recovery.snapshot_urls = n;
        let seg = b.register(Segment::Snap(Arc::new(ColdSnapshot::new(
            name.clone(),
            reader,
        ))));
        // Rows loaded were installed under a placeholder segment; point them at this one.
        debug_assert_eq!(seg, 0);
        snap = Some((name.clone(), seg));
    }

    // The named log.
    let log_path = dir.join(&log_name);
    let named: Option<FileRef> = if opts.read_only {
        match fs.open(&log_path, Open::Read) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && current.is_none() => None,
            Err(e) => return Err(missing_or(&cx, gen, &log_name, e)),
        }
    } else {
        // Before the first checkpoint the log is created on demand; after one, the commit
        // protocol created it, so its absence means it was lost.
        let how = if current.is_none() {
            Open::Create
        } else {
            Open::Write
        };
        Some(
            fs.open(&log_path, how)
                .map_err(|e| missing_or(&cx, gen, &log_name, e))?,
        )
    };
    let named_seg = b.register(Segment::Log {
        file: named.clone().unwrap_or_else(empty_file),
        name: log_name.clone(),
    });
    // Where replay stops, what is kept and which later logs continue are the core's decision
    // (`meguri_core::store::recovery`), which the browser inspector shows for a dropped folder.
    let mut lsns = Chain::new(frontier);
    let mut named_end = 0u64;
    if let Some(f) = &named {
        let end = b
            .replay(&**f, 0, lsns.named_rule(), named_seg)
            .map_err(|e| cx.io(Op::Read, log_name.clone(), e))?;
        account(&mut recovery, &log_name, &end);
        lsns.applied(end.last_lsn);
        named_end = end.good_end;
        handle_tail(&cx, &log_name, &**f, &end, opts.read_only, &mut recovery)?;
    }

    // Later logs: rotated by a checkpoint that did not commit.
    let names = fs
        .list(dir)
        .map_err(|e| cx.io(Op::List, "the directory", e))?;
    let named_no = log_number(&log_name);
    let later = recovery::later_logs(&log_name, names.iter().map(String::as_str));
    let mut folded = Vec::new();
    let mut folded_frames = 0;
    let mut chain = Vec::new();
    for (_, name) in &later {
        let path = dir.join(name);
        let f = fs
            .open(
                &path,
                if opts.read_only {
                    Open::Read
                } else {
                    Open::Write
                },
            )
            .map_err(|e| cx.io(Op::Open, name.clone(), e))?;
        if opts.read_only {
            let Some(rule) = lsns.later_rule() else {
                continue;
            };
            let seg = b.register(Segment::Log {
                file: f.clone(),
                name: name.clone(),
            });
            let end = b
                .replay(&*f, 0, rule, seg)
                .map_err(|e| cx.io(Op::Read, name.clone(), e))?;
            account(&mut recovery, name, &end);
            handle_tail(&cx, name, &*f, &end, true, &mut recovery)?;
            lsns.after_later(&end);
            chain.push((name.clone(), seg));
            continue;
        }
        // Writable: find the frames that continue the named log, copy them onto its end,
        // and replay them from there; set aside whatever does not continue it.
        let Some(named_f) = &named else { continue };
        let dry = match lsns.later_rule() {
            None => None,
            Some(rule) => Some(
                log::scan(&*f, rule, |_, _| {}).map_err(|e| cx.io(Op::Read, name.clone(), e))?,
            ),
        };
        if let Some(d) = &dry {
            if let Some(first) = d.first_applied {
                log::copy_range(&*f, first, d.good_end, &**named_f, named_end)
                    .map_err(|e| cx.io(Op::Write, log_name.clone(), e))?;
                let end = b
                    .replay(
                        &**named_f,
                        named_end,
                        Rule::First(lsns.next_lsn()),
                        named_seg,
                    )
                    .map_err(|e| cx.io(Op::Read, log_name.clone(), e))?;
                folded_frames += end.frames;
                recovery.frames += end.frames;
                lsns.applied(end.last_lsn);
                named_end = end.good_end;
            }
            if d.good_end < d.file_len {
                handle_tail(&cx, name, &*f, d, false, &mut recovery)?;
            }
            lsns.after_later(d);
        } else {
            // Everything in it follows a log that lost its tail: set it all aside.
            let len = f.len().map_err(|e| cx.io(Op::Stat, name.clone(), e))?;
            let whole = ScanEnd::set_aside(len, lsns.next_lsn());
            if len > 0 {
                handle_tail(&cx, name, &*f, &whole, false, &mut recovery)?;
            }
        }
        folded.push(name.clone());
    }
    if !opts.read_only {
        if let Some(f) = &named {
            // Everything replayed must be durable before anything new is acknowledged on top
            // of it: a frame a killed process wrote (but never had fsynced) is in the page
            // cache only, and an update acknowledged after it must not outlive it.
            f.set_len(named_end)
                .map_err(|e| cx.io(Op::SetLen, log_name.clone(), e))?;
            f.sync_all()
                .map_err(|e| cx.io(Op::Sync, log_name.clone(), e))?;
        }
        if !folded.is_empty() {
            for name in &folded {
                fs.remove(&dir.join(name))
                    .map_err(|e| cx.io(Op::Remove, name.clone(), e))?;
            }
            recovery.events.push(RecoveryEvent::LogsFolded {
                logs: folded.clone(),
                into: log_name.clone(),
                frames: folded_frames,
            });
        }
        remove_leftovers(
            &cx,
            snap_name.as_deref(),
            &log_name,
            &names,
            &folded,
            &mut recovery,
        )?;
        // A fresh log-1 (and the directory itself) must survive a crash before the first
        // checkpoint, or a Full-acknowledged update could vanish with its file.
        fs.sync_dir(dir)
            .map_err(|e| cx.io(Op::SyncDir, "the directory", e))?;
    }
    recovery.log_bytes = named_end;

    let named_file = named.unwrap_or_else(empty_file);
    let writer = LogWriter {
        file: named_file.clone(),
        name: log_name.clone(),
        number: named_no.unwrap_or(gen + 1),
        seg: named_seg,
        end: named_end,
        alloc: named_end,
        chunk: opts.log_chunk_in_use(),
    };
    let owner = if current.is_some() { owner } else { opts.owner };
    let new_with_owner = current.is_none() && !opts.read_only && owner != Owner::default();
    let store = Store {
        dir: dir.to_path_buf(),
        commit: GroupCommit::new(named_seg, named_file, log_name.clone(), named_end),
        index: RwLock::new(Indexes {
            urls: b.urls,
            hosts: b.hosts,
        }),
        arena: RwLock::new(b.arena),
        log: Mutex::new(LogState {
            w: writer,
            next_lsn: lsns.next_lsn(),
            owner,
            frame: Vec::with_capacity(256),
        }),
        segs: RwLock::new(b.segs),
        meta: Mutex::new(Meta {
            gen,
            frontier,
            arena_len,
            snap,
            named: (log_name, named_seg),
            chain,
            owner,
            id,
            created_hours,
        }),
        ckpt: Mutex::new(()),
        poisoned: AtomicBool::new(false),
        closed: AtomicBool::new(false),
        recovery,
        fs,
        opts,
        _lock: lock,
    };
    if new_with_owner {
        // The range and epoch live in the superblock, which a new directory does not have
        // until its first checkpoint: take one now (of nothing).
        store.checkpoint()?;
    }
    Ok(store)
}

/// A stand-in log for a read-only open of a directory with no log yet; never written.
fn empty_file() -> FileRef {
    struct Empty;
    impl StorageFile for Empty {
        fn read_at(&self, _: &mut [u8], _: u64) -> std::io::Result<usize> {
            Ok(0)
        }
        fn write_all_at(&self, _: &[u8], _: u64) -> std::io::Result<()> {
            Err(std::io::Error::other("read-only"))
        }
        fn len(&self) -> std::io::Result<u64> {
            Ok(0)
        }
        fn set_len(&self, _: u64) -> std::io::Result<()> {
            Err(std::io::Error::other("read-only"))
        }
        fn sync_all(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn sync_data(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn try_lock(&self) -> std::io::Result<bool> {
            Ok(true)
        }
    }
    Arc::new(Empty)
}

fn missing_or(cx: &Ctx<'_>, gen: u64, log: &str, e: std::io::Error) -> StoreError {
    if e.kind() == std::io::ErrorKind::NotFound {
        StoreError::LogMissing {
            dir: cx.dir.to_path_buf(),
            gen,
            log: log.to_string(),
        }
    } else {
        cx.io(Op::Open, log.to_string(), e)
    }
}

fn account(recovery: &mut Recovery, name: &str, end: &ScanEnd) {
    recovery.frames += end.frames;
    if end.unknown > 0 {
        recovery.events.push(RecoveryEvent::UnknownFrames {
            log: name.to_string(),
            count: end.unknown,
        });
    }
}

/// Loads the snapshot `name` into `b`, checking it as it loads: every page and region is
/// CRC-checked as it is decoded, and the rules a snapshot's rows must keep (keys in strict
/// order, references that resolve) are checked row by row, so opening never holds more than
/// one block of decoded rows beyond what stays resident.
fn load_snapshot(
    cx: &Ctx<'_>,
    gen: u64,
    name: &str,
    opts: &Options,
    b: &mut Building,
) -> Result<(Reader<FileSourceOf>, u64)> {
    let opened = cx
        .fs
        .open(&cx.dir.join(name), Open::Read)
        .and_then(FileSourceOf::new)
        .map_err(|source| StoreError::SnapshotMissing {
            dir: cx.dir.to_path_buf(),
            gen,
            name: name.to_string(),
            source,
        })?;
    let bad = |problem: SnapshotProblem| StoreError::SnapshotDamaged {
        dir: cx.dir.to_path_buf(),
        name: name.to_string(),
        problem: Box::new(problem),
    };
    let fmt = |e| bad(SnapshotProblem::Format(e));
    let reader = Reader::open_with(opened, crate::fsource::read_options()).map_err(fmt)?;
    let a = reader.arena().map_err(fmt)?;
    if !a.is_empty() {
        b.arena = a;
    }
    // Every row's references are checked against the arena; walking it once first makes
    // each check a bit test instead of a random read of the arena.
    let starts = EntryStarts::walk(Arena(&b.arena));
    let mut prev_host = None;
    for (i, h) in reader.host_table().map_err(fmt)?.into_iter().enumerate() {
        let row = i as u64;
        if prev_host.is_some_and(|p| p >= h.host_key) {
            return Err(bad(SnapshotProblem::OutOfOrder { table: "host", row }));
        }
        prev_host = Some(h.host_key);
        check_refs_in(&b.arena, Some(&starts), &[Update::PutHost(h)]).map_err(|bad_ref| {
            bad(SnapshotProblem::Unresolved {
                table: "host",
                row,
                bad: bad_ref,
            })
        })?;
        b.hosts.put(h);
    }
    let n = reader.rows(Table::Url);
    let block = super::row_block(&reader);
    // The snapshot is always the first segment registered (id 0), into an empty index.
    debug_assert_eq!(b.urls.live() + b.urls.resident(), 0);
    let seg = b.segs.next;
    // The row count is the file's word: reserve for at most a million rows up front.
    let mut load = SortedLoad::new(
        opts.resident_budget,
        usize::try_from(n).unwrap_or(usize::MAX).min(1 << 20),
    );
    let mut start = 0;
    let mut prev_key = None;
    while start < n {
        let end = (start + block).min(n);
        let rows = reader.url_rows(start..end).map_err(fmt)?;
        for (i, r) in rows.into_iter().enumerate() {
            let row = start + i as u64;
            if prev_key.is_some_and(|p| p >= r.key) {
                return Err(bad(SnapshotProblem::OutOfOrder { table: "URL", row }));
            }
            prev_key = Some(r.key);
            check_refs_in(&b.arena, Some(&starts), &[Update::PutUrl(r)]).map_err(|bad_ref| {
                bad(SnapshotProblem::Unresolved {
                    table: "URL",
                    row,
                    bad: bad_ref,
                })
            })?;
            load.push(r, Loc { seg, pos: row });
        }
        start = end;
    }
    drop(starts);
    b.urls = load.finish();
    Ok((reader, n))
}

/// A log whose valid frames end before the file does. Zeros after the last frame are space
/// preallocated and never written: a writable open trims them. Anything else is kept beside
/// the log (streamed in bounded chunks), and a writable open truncates the log at its last
/// good frame so appends continue right after it.
fn handle_tail(
    cx: &Ctx<'_>,
    log_name: &str,
    f: &dyn StorageFile,
    end: &ScanEnd,
    read_only: bool,
    recovery: &mut Recovery,
) -> Result<()> {
    let (at, why, lost) = match end.tail() {
        Tail::Clean => return Ok(()),
        Tail::Zeros { at, bytes } => {
            if !read_only {
                f.set_len(at)
                    .map_err(|e| cx.io(Op::SetLen, log_name.to_string(), e))?;
            }
            recovery.events.push(RecoveryEvent::ZeroTail {
                log: log_name.to_string(),
                offset: at,
                bytes,
                trimmed: !read_only,
            });
            return Ok(());
        }
        Tail::Discard { at, why, bytes, .. } => (at, why, bytes),
    };
    if read_only {
        recovery.events.push(RecoveryEvent::TailIgnored {
            log: log_name.to_string(),
            offset: at,
            why,
            bytes: lost,
        });
        return Ok(());
    }
    let keep = recovery::discarded_name(log_name, at);
    storage::write_atomic_with(cx.fs, &cx.dir.join(&keep), |out| {
        log::copy_range(f, at, at + lost, out, 0)
    })
    .map_err(|e| cx.io(Op::Write, keep.clone(), e))?;
    f.set_len(at)
        .map_err(|e| cx.io(Op::SetLen, log_name.to_string(), e))?;
    f.sync_all()
        .map_err(|e| cx.io(Op::Sync, log_name.to_string(), e))?;
    recovery.events.push(RecoveryEvent::TailDiscarded {
        log: log_name.to_string(),
        offset: at,
        why,
        bytes: lost,
        kept: keep,
    });
    Ok(())
}

/// Removes generation files the current slot does not name (later logs were folded and are
/// removed by the caller); which files those are is the core's rule
/// ([`recovery::leftovers`]), which the inspector lists too.
fn remove_leftovers(
    cx: &Ctx<'_>,
    snap: Option<&str>,
    log: &str,
    names: &[String],
    folded: &[String],
    recovery: &mut Recovery,
) -> Result<()> {
    let names = recovery::leftovers(snap, log, folded, names.iter().map(String::as_str));
    for name in &names {
        cx.fs
            .remove(&cx.dir.join(name))
            .map_err(|e| cx.io(Op::Remove, name.clone(), e))?;
        recovery
            .events
            .push(RecoveryEvent::LeftoverRemoved { name: name.clone() });
    }
    Ok(())
}
