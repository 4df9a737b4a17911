//! The append-only log of a partition directory: writing frames, group commit, and reading
//! frames back for replay.
//!
//! Invariants:
//! - Frames are written in LSN order at the end of the log, by one writer at a time (the
//!   store's state lock), with positioned writes: the log's length is the end of the last frame
//!   written, and nothing is ever written past garbage (recovery truncates a bad tail first).
//! - [`GroupCommit::wait`] returns `Ok` only after an fsync that *began* after the caller's
//!   frame was written, or after a checkpoint made the frame part of a fsynced snapshot. One
//!   fsync serves every writer whose frame was written before it began.
//! - A failed fsync is final: the error is kept, every waiter and every later write sees it.
//!   The kernel may have dropped the dirty pages it could not write, so retrying would report
//!   success for data that is gone (the lesson PostgreSQL learned in 2018).

use meguri_core::store::frame::{self, Frame, Parsed};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// Injected failures, for tests that prove the store's answer to a failing disk.
#[derive(Debug, Default)]
pub struct Faults {
    /// Fail the n-th fsync of a log (1-based; 0 = never).
    pub fail_log_sync_at: AtomicU64,
    syncs: AtomicU64,
}

impl Faults {
    /// A plan that fails the `n`-th log fsync.
    pub fn fail_log_sync(n: u64) -> Arc<Faults> {
        Arc::new(Faults {
            fail_log_sync_at: AtomicU64::new(n),
            syncs: AtomicU64::new(0),
        })
    }

    fn log_sync(&self, file: &File) -> io::Result<()> {
        let n = self.syncs.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.fail_log_sync_at.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected fsync failure"));
        }
        file.sync_data()
    }
}

/// Fsyncs a log file, through the fault plan when there is one.
pub fn sync_log(file: &File, faults: Option<&Faults>) -> io::Result<()> {
    match faults {
        Some(f) => f.log_sync(file),
        None => file.sync_data(),
    }
}

struct SyncState {
    /// Bumped when a checkpoint replaces the log: frames of earlier epochs are durable in the
    /// snapshot.
    epoch: u64,
    file: Arc<File>,
    written: u64,
    synced: u64,
    running: bool,
    failed: Option<String>,
}

/// Shares fsyncs of the current log among concurrent writers.
pub struct GroupCommit {
    state: Mutex<SyncState>,
    done: Condvar,
    faults: Option<Arc<Faults>>,
    syncs: AtomicU64,
}

impl GroupCommit {
    /// Group commit over `file`, whose first `len` bytes are already durable.
    pub fn new(file: Arc<File>, len: u64, faults: Option<Arc<Faults>>) -> Self {
        GroupCommit {
            state: Mutex::new(SyncState {
                epoch: 0,
                file,
                written: len,
                synced: len,
                running: false,
                failed: None,
            }),
            done: Condvar::new(),
            faults,
            syncs: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fsyncs performed so far.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Notes that the log now holds `end` bytes; returns the epoch to wait on.
    pub fn written(&self, end: u64) -> u64 {
        let mut s = self.lock();
        s.written = s.written.max(end);
        s.epoch
    }

    /// The failure that poisoned the log, if any.
    pub fn failure(&self) -> Option<String> {
        self.lock().failed.clone()
    }

    /// Records a failure that makes the log unusable (a failed write, say).
    pub fn poison(&self, why: String) {
        let mut s = self.lock();
        s.failed.get_or_insert(why);
        self.done.notify_all();
    }

    /// Blocks until the first `end` bytes of epoch `epoch`'s log are durable.
    pub fn wait(&self, epoch: u64, end: u64) -> Result<(), String> {
        let mut s = self.lock();
        loop {
            if let Some(f) = &s.failed {
                return Err(f.clone());
            }
            if s.epoch > epoch || s.synced >= end {
                return Ok(());
            }
            if s.running {
                s = self.done.wait(s).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Lead an fsync. Everything written before this point is covered by it.
            s.running = true;
            let (file, target, my_epoch) = (s.file.clone(), s.written, s.epoch);
            drop(s);
            let r = sync_log(&file, self.faults.as_deref());
            self.syncs.fetch_add(1, Ordering::Relaxed);
            s = self.lock();
            s.running = false;
            match r {
                Ok(()) if s.epoch == my_epoch => s.synced = s.synced.max(target),
                Ok(()) => {}
                Err(e) => {
                    s.failed
                        .get_or_insert(format!("fsync of the log failed: {e}"));
                }
            }
            self.done.notify_all();
        }
    }

    /// Switches to a new (empty, fsynced) log after a checkpoint. Waits for a running fsync of
    /// the old log to finish first.
    pub fn rotate(&self, file: Arc<File>) {
        let mut s = self.lock();
        while s.running {
            s = self.done.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.epoch += 1;
        s.file = file;
        s.written = 0;
        s.synced = 0;
        self.done.notify_all();
    }
}

/// How a scan of a log ended.
#[derive(Debug, Default)]
pub struct ScanEnd {
    /// End of the last good frame: the length the log should have.
    pub good_end: u64,
    /// The log's length on disk.
    pub file_len: u64,
    /// Frames applied.
    pub frames: u64,
    /// Frames of kinds this version does not know, skipped.
    pub unknown: u64,
    /// Highest LSN seen.
    pub last_lsn: Option<u64>,
    /// Why the scan stopped before the end of the file, if it did.
    pub stop: Option<String>,
}

/// Reads frames from the start of `file` until its end or the first frame that is torn, fails
/// its checksum, or does not follow the LSN order (each LSN above the last, the first at least
/// `min_lsn`). `apply` sees each good frame with its offset; its error aborts the scan.
pub fn scan(
    file: &File,
    min_lsn: u64,
    mut apply: impl FnMut(u64, &Frame<'_>) -> Result<(), String>,
) -> Result<ScanEnd, String> {
    let file_len = file
        .metadata()
        .map_err(|e| format!("cannot stat the log: {e}"))?
        .len();
    let mut end = ScanEnd {
        file_len,
        ..ScanEnd::default()
    };
    const CHUNK: usize = 1 << 20;
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut buf_start = 0u64; // file offset of buf[0]
    let mut pos = 0usize; // parse position within buf
    let mut next_min = min_lsn;
    loop {
        let at = buf_start + pos as u64;
        match frame::parse(&buf[pos..], at) {
            Parsed::Frame(f) => {
                if f.lsn < next_min {
                    end.stop = Some(format!(
                        "frame at offset {at} has LSN {} where at least {next_min} was due",
                        f.lsn
                    ));
                    break;
                }
                next_min = f.lsn.saturating_add(1);
                end.last_lsn = Some(f.lsn);
                if f.update.is_none() {
                    end.unknown += 1;
                }
                apply(at, &f)?;
                end.frames += 1;
                pos += f.len;
                end.good_end = at + f.len as u64;
            }
            Parsed::Bad(e) => {
                end.stop = Some(e.to_string());
                break;
            }
            Parsed::Incomplete => {
                let have = buf_start + buf.len() as u64;
                if have >= file_len {
                    if at < file_len {
                        end.stop = Some(format!(
                            "the last {} bytes from offset {at} are an incomplete frame",
                            file_len - at
                        ));
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
                file.read_exact_at(&mut buf[old..], have)
                    .map_err(|e| format!("cannot read the log at offset {have}: {e}"))?;
            }
        }
    }
    Ok(end)
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

/// Reads the frame at `offset` (of at most `len` bytes) back, checking its CRC.
pub fn read_frame_at(file: &File, offset: u64, len: usize) -> Result<Vec<u8>, String> {
    let mut b = vec![0u8; len];
    file.read_exact_at(&mut b, offset)
        .map_err(|e| format!("cannot read the log frame at offset {offset}: {e}"))?;
    Ok(b)
}
