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

use super::error::{LogFailure, Op, Stop};
use super::storage::{FileRef, StorageFile};
use meguri_core::store::frame::{self, Frame, Parsed};
use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// How a scan judges LSNs.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// The log the superblock names: LSNs strictly increase, the first at least this.
    First(u64),
    /// A log after it: frames below this LSN were applied already (copied into the log before
    /// it by an interrupted fold) and are skipped; the first new frame must be exactly this
    /// LSN, and LSNs strictly increase after it.
    Continue(u64),
}

/// How a scan of a log ended.
#[derive(Debug, Default)]
pub struct ScanEnd {
    /// End of the last good frame: the length the log should have.
    pub good_end: u64,
    /// The log's length on disk.
    pub file_len: u64,
    /// Where the first frame applied starts (frames before it were skipped under
    /// [`Rule::Continue`]).
    pub first_applied: Option<u64>,
    /// Frames applied.
    pub frames: u64,
    /// Frames of kinds this version does not know, skipped.
    pub unknown: u64,
    /// Highest LSN applied.
    pub last_lsn: Option<u64>,
    /// Why the scan stopped before the end of the file, if it did.
    pub stop: Option<Stop>,
    /// End of the last nonzero byte after `good_end` (`good_end` when the rest is zeros).
    pub nonzero_end: u64,
}

impl ScanEnd {
    /// Whether everything after the last good frame is zeros (preallocated, never written).
    pub fn zero_tail(&self) -> bool {
        self.nonzero_end == self.good_end
    }
}

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

/// [`scan`] from byte `from` (a frame boundary) rather than the start.
pub fn scan_from(
    file: &dyn StorageFile,
    from: u64,
    rule: Rule,
    mut apply: impl FnMut(u64, &Frame<'_>),
) -> io::Result<ScanEnd> {
    let file_len = file.len()?;
    let mut end = ScanEnd {
        file_len,
        good_end: from,
        ..ScanEnd::default()
    };
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut buf_start = from; // file offset of buf[0]
    let mut pos = 0usize; // parse position within buf
    let (mut next_min, mut exact) = match rule {
        Rule::First(m) => (m, false),
        Rule::Continue(m) => (m, true),
    };
    loop {
        let at = buf_start + pos as u64;
        match frame::parse(&buf[pos..], at) {
            Parsed::Frame(f) => {
                if exact && f.lsn < next_min {
                    // Applied before (folded into the log before this one).
                    pos += f.len;
                    end.good_end = at + f.len as u64;
                    continue;
                }
                if exact && f.lsn != next_min {
                    end.stop = Some(Stop::Gap {
                        lsn: f.lsn,
                        due: next_min,
                    });
                    break;
                }
                if f.lsn < next_min {
                    end.stop = Some(Stop::Lsn {
                        at,
                        lsn: f.lsn,
                        due: next_min,
                    });
                    break;
                }
                exact = false;
                next_min = f.lsn.saturating_add(1);
                end.last_lsn = Some(f.lsn);
                end.first_applied.get_or_insert(at);
                if f.update.is_none() {
                    end.unknown += 1;
                }
                apply(at, &f);
                end.frames += 1;
                pos += f.len;
                end.good_end = at + f.len as u64;
            }
            Parsed::Bad(e) => {
                end.stop = Some(Stop::Frame(e));
                break;
            }
            Parsed::Incomplete => {
                let have = buf_start + buf.len() as u64;
                if have >= file_len {
                    if at < file_len {
                        end.stop = Some(Stop::Incomplete {
                            at,
                            bytes: file_len - at,
                        });
                    }
                    break;
                }
                // Keep the unparsed rest and read more: at least a chunk, and at least the
                // whole frame when its header says how long it is (bounded by the format).
                buf.drain(..pos);
                buf_start += pos as u64;
                pos = 0;
                let want = (file_len - have).min(CHUNK.max(frame_len_hint(&buf)) as u64) as usize;
                let old = buf.len();
                buf.resize(old + want, 0);
                file.read_exact_at(&mut buf[old..], have)?;
            }
        }
    }
    end.nonzero_end = end.good_end;
    if end.good_end < file_len {
        end.nonzero_end = last_nonzero(file, end.good_end, file_len)?;
    }
    Ok(end)
}

/// The end of the last nonzero byte in `from..to` (`from` if all are zero), read in chunks.
fn last_nonzero(file: &dyn StorageFile, from: u64, to: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut at = from;
    let mut last = from;
    while at < to {
        let n = ((to - at) as usize).min(CHUNK);
        file.read_exact_at(&mut buf[..n], at)?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b != 0) {
            last = at + i as u64 + 1;
        }
        at += n as u64;
    }
    Ok(last)
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

/// The length the frame header at the start of `b` declares (0 when unknown or implausible;
/// `parse` rejects implausible lengths itself).
fn frame_len_hint(b: &[u8]) -> usize {
    if b.len() < frame::HEADER_LEN {
        return 0;
    }
    let value = u32::from_le_bytes([b[10], b[11], b[12], b[13]]);
    if value > frame::MAX_VALUE_LEN {
        return 0;
    }
    frame::HEADER_LEN + usize::from(b[9]) + value as usize + frame::CRC_LEN
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
