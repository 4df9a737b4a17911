//! The append-only logs of a partition directory: writing frames (into space preallocated in
//! chunks), group commit across the log being written and the logs sealed before it, and
//! reading frames back for replay.
//!
//! Invariants:
//! - Frames are written in LSN order, one writer at a time (the store's log lock), with
//!   positioned writes at the end of the last frame written; nothing is ever written past
//!   garbage (recovery truncates a bad tail first).
//! - The file may extend past the last frame with zeros: space written ahead in chunks
//!   ([`LogWriter`]) so that a commit's `fdatasync` flushes data, not a changed file size.
//!   Zeros never parse as a frame (their CRC is wrong), a scan reports them as a zero tail,
//!   and the writer trims them when it seals or closes the log, so a log at rest ends at its
//!   last frame.
//! - [`GroupCommit::wait`] returns `Ok` only after fsyncs that *began* after the caller's
//!   frame was written, of its log and of every log sealed before it. One fsync serves every
//!   writer whose frame was written before it began.
//! - A failed write or fsync is final: the failure is kept, every waiter and every later write
//!   sees it. The kernel may have dropped the dirty pages it could not write, so retrying
//!   would report success for data that is gone (the lesson PostgreSQL learned in 2018).

use super::error::{LogFailure, Op};
use super::storage::{FileRef, StorageFile};
use meguri_core::store::frame::Frame;
use meguri_core::store::recovery;
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

pub use meguri_core::store::recovery::{Fate, Rule, ScanEnd};

/// Bytes copied at a time.
const CHUNK: usize = 1 << 20;

/// Reads frames from the start of `file` until its end or the first frame that is torn, fails
/// its checksum, or breaks `rule`; `apply` sees each frame applied with its offset.
pub fn scan(
    file: &dyn StorageFile,
    rule: Rule,
    apply: impl FnMut(u64, &Frame<'_>),
) -> io::Result<ScanEnd> {
    scan_from(file, 0, rule, apply)
}

/// [`scan`] from byte `from` (a frame boundary) rather than the start. The scan and where it
/// stops are the core's ([`meguri_core::store::recovery::Scan`]), the same code the browser
/// inspector runs over a dropped log; this only reads the file for it.
pub fn scan_from(
    file: &dyn StorageFile,
    from: u64,
    rule: Rule,
    mut apply: impl FnMut(u64, &Frame<'_>),
) -> io::Result<ScanEnd> {
    let file_len = file.len()?;
    recovery::Scan::new(file_len, from, rule).run(
        |off, buf| file.read_exact_at(buf, off),
        |off, f, fate| {
            if fate == Fate::Applied {
                apply(off, f);
            }
        },
    )
}

/// Copies bytes `from..to` of `src` to `dst` at `at`, in bounded chunks.
pub fn copy_range(
    src: &dyn StorageFile,
    from: u64,
    to: u64,
    dst: &dyn StorageFile,
    mut at: u64,
) -> io::Result<()> {
    let mut buf = vec![0u8; CHUNK.min((to - from) as usize)];
    let mut pos = from;
    while pos < to {
        let n = ((to - pos) as usize).min(buf.len());
        src.read_exact_at(&mut buf[..n], pos)?;
        dst.write_all_at(&buf[..n], at)?;
        pos += n as u64;
        at += n as u64;
    }
    Ok(())
}

/// Reads `len` bytes of a frame at `offset`.
pub fn read_frame_at(file: &dyn StorageFile, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut b = vec![0u8; len];
    file.read_exact_at(&mut b, offset)?;
    Ok(b)
}

/// The log being written.
pub struct LogWriter {
    /// The file.
    pub file: FileRef,
    /// Its name (`log-<n>`).
    pub name: String,
    /// Its number `n`.
    pub number: u64,
    /// Its segment id.
    pub seg: u32,
    /// End of the last frame.
    pub end: u64,
    /// The file's length: `end` plus preallocated zeros.
    pub alloc: u64,
    /// Bytes to preallocate at a time (0: none).
    pub chunk: u64,
}

impl LogWriter {
    /// Writes `buf` at the end; grows the file by a zeroed chunk first when the frames would
    /// not fit in what is allocated. Returns the new end.
    pub fn append(&mut self, buf: &[u8]) -> Result<u64, LogFailure> {
        let new_end = self.end + buf.len() as u64;
        if self.chunk > 0 && new_end > self.alloc {
            // Written zeros, not a sparse extension or fallocate: an overwrite of allocated,
            // initialised blocks changes no metadata, so the commit that follows flushes data
            // only. (fallocate leaves "unwritten" extents whose conversion is metadata.)
            let grow_to = new_end.div_ceil(self.chunk) * self.chunk;
            let zeros = vec![0u8; (grow_to - self.alloc) as usize];
            self.file
                .write_all_at(&zeros, self.alloc)
                .map_err(|e| self.fail(Op::SetLen, e))?;
            self.alloc = grow_to;
        }
        self.file
            .write_all_at(buf, self.end)
            .map_err(|e| self.fail(Op::Write, e))?;
        self.end = new_end;
        self.alloc = self.alloc.max(new_end);
        Ok(new_end)
    }

    /// Trims the preallocated zeros, so the file ends at its last frame.
    pub fn trim(&mut self) -> Result<(), LogFailure> {
        if self.alloc > self.end {
            self.file
                .set_len(self.end)
                .map_err(|e| self.fail(Op::SetLen, e))?;
            self.alloc = self.end;
        }
        Ok(())
    }

    fn fail(&self, op: Op, e: io::Error) -> LogFailure {
        LogFailure {
            op,
            file: self.name.clone(),
            error: Arc::new(e),
        }
    }
}

/// What group commit tracks of one log.
struct Seg {
    id: u32,
    file: FileRef,
    name: String,
    written: u64,
    synced: u64,
    /// Whether writes have moved to a later log.
    sealed: bool,
}

struct SyncState {
    /// Logs not yet known durable, oldest first; the last is the one being written.
    segs: VecDeque<Seg>,
    running: bool,
    failed: Option<LogFailure>,
}

/// Shares fsyncs of the logs among concurrent writers.
pub struct GroupCommit {
    state: Mutex<SyncState>,
    done: Condvar,
    syncs: AtomicU64,
}

/// A poisoned group-commit lock (a thread panicked while holding it).
#[derive(Debug)]
pub struct Poisoned;

impl GroupCommit {
    /// Group commit over the log `file` (segment `id`), whose first `len` bytes are durable.
    pub fn new(id: u32, file: FileRef, name: String, len: u64) -> Self {
        let mut segs = VecDeque::new();
        segs.push_back(Seg {
            id,
            file,
            name,
            written: len,
            synced: len,
            sealed: false,
        });
        GroupCommit {
            state: Mutex::new(SyncState {
                segs,
                running: false,
                failed: None,
            }),
            done: Condvar::new(),
            syncs: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, SyncState>, Poisoned> {
        self.state.lock().map_err(|_| Poisoned)
    }

    /// Fsyncs performed so far.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Notes that segment `id` now holds `end` bytes of frames.
    pub fn written(&self, id: u32, end: u64) -> Result<(), Poisoned> {
        let mut s = self.lock()?;
        if let Some(seg) = s.segs.iter_mut().find(|g| g.id == id) {
            seg.written = seg.written.max(end);
        }
        Ok(())
    }

    /// The failure that poisoned the logs, if any.
    pub fn failure(&self) -> Option<LogFailure> {
        self.lock().ok().and_then(|s| s.failed.clone())
    }

    /// Records a failure that makes the logs unusable (a failed write, say).
    pub fn poison(&self, why: LogFailure) {
        if let Ok(mut s) = self.lock() {
            s.failed.get_or_insert(why);
        }
        self.done.notify_all();
    }

    /// Seals the log being written and starts tracking `file` (segment `id`, empty) as the
    /// one being written. The sealed log stays tracked until it is durable.
    pub fn rotate(&self, id: u32, file: FileRef, name: String) -> Result<(), Poisoned> {
        let mut s = self.lock()?;
        if let Some(last) = s.segs.back_mut() {
            last.sealed = true;
        }
        s.segs.push_back(Seg {
            id,
            file,
            name,
            written: 0,
            synced: 0,
            sealed: false,
        });
        Ok(())
    }

    /// Blocks until the first `end` bytes of segment `id`, and every log sealed before it, are
    /// durable. A segment no longer tracked was durable when it was dropped.
    pub fn wait(&self, id: u32, end: u64) -> Result<Result<(), LogFailure>, Poisoned> {
        let mut s = self.lock()?;
        loop {
            if let Some(f) = &s.failed {
                return Ok(Err(f.clone()));
            }
            let Some(pos) = s.segs.iter().position(|g| g.id == id) else {
                return Ok(Ok(()));
            };
            let behind = s.segs.iter().take(pos).any(|g| g.synced < g.written);
            if !behind && s.segs[pos].synced >= end {
                return Ok(Ok(()));
            }
            if s.running {
                s = self.done.wait(s).map_err(|_| Poisoned)?;
                continue;
            }
            // Lead: fsync every log up to this one that has unsynced frames, oldest first.
            // Everything written before this point is covered.
            s.running = true;
            let work: Vec<(u32, FileRef, String, u64)> = s
                .segs
                .iter()
                .take(pos + 1)
                .filter(|g| g.synced < g.written || g.id == id)
                .map(|g| (g.id, g.file.clone(), g.name.clone(), g.written))
                .collect();
            drop(s);
            let mut result = Ok(Vec::new());
            for (gid, file, name, target) in work {
                self.syncs.fetch_add(1, Ordering::Relaxed);
                match file.sync_data() {
                    Ok(()) => {
                        if let Ok(v) = result.as_mut() {
                            v.push((gid, target));
                        }
                    }
                    Err(e) => {
                        result = Err(LogFailure {
                            op: Op::Sync,
                            file: name,
                            error: Arc::new(e),
                        });
                        break;
                    }
                }
            }
            s = self.lock()?;
            s.running = false;
            match result {
                Ok(done) => {
                    for (gid, target) in done {
                        if let Some(g) = s.segs.iter_mut().find(|g| g.id == gid) {
                            g.synced = g.synced.max(target);
                        }
                    }
                    // Sealed logs that are wholly durable need no more tracking.
                    while s
                        .segs
                        .front()
                        .is_some_and(|g| g.sealed && g.synced >= g.written)
                    {
                        s.segs.pop_front();
                    }
                }
                Err(f) => {
                    s.failed.get_or_insert(f);
                }
            }
            self.done.notify_all();
        }
    }

    /// Makes segment `id` and every log before it durable as far as written now.
    pub fn sync_through(&self, id: u32) -> Result<Result<(), LogFailure>, Poisoned> {
        let end = {
            let s = self.lock()?;
            match s.segs.iter().find(|g| g.id == id) {
                Some(g) => g.written,
                None => return Ok(Ok(())),
            }
        };
        self.wait(id, end)
    }

    /// Stops tracking segment `id` (its frames are durable some other way, or it is gone).
    pub fn forget(&self, id: u32) -> Result<(), Poisoned> {
        let mut s = self.lock()?;
        while s.running {
            s = self.done.wait(s).map_err(|_| Poisoned)?;
        }
        s.segs.retain(|g| g.id != id || !g.sealed);
        self.done.notify_all();
        Ok(())
    }
}
