//! What can go wrong in a partition directory, and what recovery found: typed, so a front end
//! (the CLI, a server) can tell a refusal from damage from a failing disk, while `Display` gives
//! the one-line message the CLI prints.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// A file-system operation, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Creating the directory.
    CreateDir,
    /// Opening a file.
    Open,
    /// Reading.
    Read,
    /// Writing.
    Write,
    /// Truncating or extending.
    SetLen,
    /// fsync or fdatasync of a file.
    Sync,
    /// fsync of the directory.
    SyncDir,
    /// Listing the directory.
    List,
    /// Removing a name.
    Remove,
    /// Renaming or linking.
    Rename,
    /// Locking.
    Lock,
    /// Reading a file's length.
    Stat,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::CreateDir => "create",
            Op::Open => "open",
            Op::Read => "read",
            Op::Write => "write to",
            Op::SetLen => "truncate",
            Op::Sync => "fsync",
            Op::SyncDir => "fsync",
            Op::List => "list",
            Op::Remove => "remove",
            Op::Rename => "rename",
            Op::Lock => "lock",
            Op::Stat => "stat",
        })
    }
}

/// A failed write or fsync of a log: the cause that poisons a store. Cloneable, since every
/// waiting writer and every later call reports it.
#[derive(Debug, Clone)]
pub struct LogFailure {
    /// What was being done.
    pub op: Op,
    /// The file.
    pub file: String,
    /// The system's answer.
    pub error: Arc<io::Error>,
}

impl fmt::Display for LogFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.op {
            Op::Sync => "fsync of",
            Op::Write => "write to",
            Op::SetLen => "growing",
            _ => "access to",
        };
        write!(f, "{what} {} failed: {}", self.file, self.error)
    }
}

/// An arena reference that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRef {
    /// The record field (`url_ref`, `robots_ref`...).
    pub field: &'static str,
    /// The reference.
    pub value: u64,
    /// The arena's length (counting strings interned earlier in the same batch).
    pub arena_len: u64,
}

impl fmt::Display for BadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} does not resolve in the {}-byte string arena",
            self.field, self.value, self.arena_len
        )
    }
}

/// What is wrong with a snapshot a superblock names.
#[derive(Debug, Clone)]
pub enum SnapshotProblem {
    /// The file does not read as a `.meguri` file, or a page or region fails its check.
    Format(meguri_core::Error),
    /// A row's key is not above the row before it.
    OutOfOrder {
        /// `"URL"` or `"host"`.
        table: &'static str,
        /// Row number.
        row: u64,
    },
    /// A row's arena reference does not resolve.
    Unresolved {
        /// `"URL"` or `"host"`.
        table: &'static str,
        /// Row number.
        row: u64,
        /// The reference.
        bad: BadRef,
    },
}

impl fmt::Display for SnapshotProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotProblem::Format(e) => write!(f, "{e}"),
            SnapshotProblem::OutOfOrder { table, row } => {
                write!(f, "{table} row {row} is out of key order")
            }
            SnapshotProblem::Unresolved { table, row, bad } => {
                write!(f, "{table} row {row}: {bad}")
            }
        }
    }
}

/// A store error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A read-only open of something that is not a directory.
    #[error("{} is not a partition directory", dir.display())]
    NotADirectory {
        /// The path.
        dir: PathBuf,
    },
    /// A read-only open of a directory with neither a superblock nor a first log.
    #[error("{} is not a partition directory (it has neither `super` nor `log-1`)", dir.display())]
    NotAPartition {
        /// The path.
        dir: PathBuf,
    },
    /// Another writer holds the directory.
    #[error(
        "{} is already open for writing by another process; one writer per partition directory",
        dir.display()
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
    },
    /// A file-system operation failed.
    #[error("{}: cannot {op} {file}: {source}", dir.display())]
    Io {
        /// The directory.
        dir: PathBuf,
        /// What was being done.
        op: Op,
        /// To what (`the directory`, `the superblock`, `log-3`...).
        file: String,
        /// The system's answer.
        source: io::Error,
    },
    /// No superblock slot is valid, but one is damaged.
    #[error("{}: {error}", dir.display())]
    Superblock {
        /// The directory.
        dir: PathBuf,
        /// Which slots are damaged, and how.
        error: Box<meguri_core::Error>,
    },
    /// The current slot names a snapshot that cannot be opened.
    #[error(
        "{}: the superblock names {name} as generation {gen}'s snapshot, but it cannot be opened: {source}",
        dir.display()
    )]
    SnapshotMissing {
        /// The directory.
        dir: PathBuf,
        /// The generation.
        gen: u64,
        /// The snapshot's name.
        name: String,
        /// The system's answer.
        source: io::Error,
    },
    /// The current snapshot fails its checks.
    #[error("{}: snapshot {name} fails verification: {problem}", dir.display())]
    SnapshotDamaged {
        /// The directory.
        dir: PathBuf,
        /// The snapshot's name.
        name: String,
        /// What is wrong, and where.
        problem: Box<SnapshotProblem>,
    },
    /// The current slot names a log that does not exist.
    #[error(
        "{}: the superblock names {log} as the log of generation {gen}, but it is missing: \
         the updates since that checkpoint are lost",
        dir.display()
    )]
    LogMissing {
        /// The directory.
        dir: PathBuf,
        /// The generation.
        gen: u64,
        /// The log's name.
        log: String,
    },
    /// A record read back from disk (a cold read) fails its check or is not what the index
    /// says is there.
    #[error("{}: {file}: the record at {at} no longer reads back: {problem}", dir.display())]
    ColdRead {
        /// The directory.
        dir: PathBuf,
        /// The snapshot or log.
        file: String,
        /// `offset N` or `row N`.
        at: String,
        /// What was found.
        problem: Box<str>,
    },
    /// A write to a store opened read-only.
    #[error("{} was opened read-only", dir.display())]
    ReadOnly {
        /// The directory.
        dir: PathBuf,
    },
    /// An earlier write or fsync of the log failed: the store takes no more updates.
    #[error(
        "{}: the store refuses writes after a failed write or fsync of its log ({cause}); \
         reopen it to recover the durable state",
        dir.display()
    )]
    Poisoned {
        /// The directory.
        dir: PathBuf,
        /// The first failure.
        cause: LogFailure,
    },
    /// This update's write or fsync failed: it was not acknowledged.
    #[error(
        "{}: update {lsn} is not durable: {cause}; the store refuses further writes",
        dir.display()
    )]
    NotDurable {
        /// The directory.
        dir: PathBuf,
        /// The update's LSN.
        lsn: u64,
        /// The failure.
        cause: LogFailure,
    },
    /// An update refused before anything was written.
    #[error("{}: refused: {reason}", dir.display())]
    Refused {
        /// The directory.
        dir: PathBuf,
        /// Why.
        reason: Refusal,
    },
    /// The superblock write of a checkpoint failed: the directory's generation is unknown
    /// until it is reopened.
    #[error(
        "{}: checkpoint: writing the superblock failed ({source}); the store refuses further \
         writes, and reopening it recovers whichever generation is durable",
        dir.display()
    )]
    CommitFailed {
        /// The directory.
        dir: PathBuf,
        /// The system's answer.
        source: io::Error,
    },
    /// Encoding a snapshot failed.
    #[error("{}: {file}: {error}", dir.display())]
    Encode {
        /// The directory.
        dir: PathBuf,
        /// The file being written.
        file: String,
        /// The writer's answer.
        error: Box<meguri_core::Error>,
    },
    /// A lock inside the store was poisoned by a thread that panicked while holding it: the
    /// in-memory state may be half-changed, so the store stops.
    #[error(
        "{}: the store's {what} lock was poisoned by a thread that panicked; reopen the store",
        dir.display()
    )]
    LockPoisoned {
        /// The directory.
        dir: PathBuf,
        /// Which lock.
        what: &'static str,
    },
    /// A checkpoint step failed; the previous generation is still current.
    #[error("{}: checkpoint: {source}", dir.display())]
    Checkpoint {
        /// The directory.
        dir: PathBuf,
        /// The step's error.
        source: Box<StoreError>,
    },
}

/// Why an update was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A record's arena reference does not resolve.
    BadRef(BadRef),
    /// A string too long for a log frame.
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A record whose host key lies outside the owned range.
    OutOfRange {
        /// Its host key.
        host: u64,
        /// Low end of the range.
        lo: u64,
        /// High end.
        hi: u64,
    },
    /// An epoch lower than the directory's.
    StaleEpoch {
        /// The epoch asked for.
        epoch: u64,
        /// The directory's.
        current: u64,
    },
    /// A new range that would leave rows outside it.
    RowsOutside {
        /// Low end.
        lo: u64,
        /// High end.
        hi: u64,
    },
    /// An owned range whose low end is above its high end.
    EmptyRange {
        /// Low end.
        lo: u64,
        /// High end.
        hi: u64,
    },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::BadRef(b) => write!(f, "{b}"),
            Refusal::TooLong { len } => {
                write!(
                    f,
                    "a {len}-byte string is longer than a log frame can carry"
                )
            }
            Refusal::OutOfRange { host, lo, hi } => write!(
                f,
                "host key {host:#018x} is outside the owned range {lo:#018x}..{hi:#018x}"
            ),
            Refusal::StaleEpoch { epoch, current } => {
                write!(f, "epoch {epoch} is below the directory's epoch {current}")
            }
            Refusal::RowsOutside { lo, hi } => write!(
                f,
                "rows lie outside the range {lo:#018x}..{hi:#018x}; move or delete them first"
            ),
            Refusal::EmptyRange { lo, hi } => {
                write!(f, "the owned range {lo:#018x}..{hi:#018x} is empty")
            }
        }
    }
}

/// Result of store operations.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Why a log scan stopped before the end of the file: the core's decision
/// (`meguri_core::store::recovery`), shared with the browser inspector.
pub use meguri_core::store::recovery::Stop;

/// Something recovery found or did, for the front end to report.
#[derive(Debug, Clone, PartialEq)]
pub enum RecoveryEvent {
    /// A superblock slot is damaged; the other one stands.
    DamagedSlot {
        /// `"A"` or `"B"`.
        slot: &'static str,
        /// How.
        error: meguri_core::Error,
    },
    /// Frames of kinds this version does not know were skipped.
    UnknownFrames {
        /// The log.
        log: String,
        /// How many.
        count: u64,
    },
    /// A log's valid frames end before the file does; a writable open kept the bytes after
    /// them in `kept` and truncated the log.
    TailDiscarded {
        /// The log.
        log: String,
        /// End of the last good frame.
        offset: u64,
        /// Why replay stopped there.
        why: Stop,
        /// Bytes set aside (trailing zeros of a preallocated tail excluded).
        bytes: u64,
        /// The file they were kept in.
        kept: String,
    },
    /// A read-only open found bytes after a log's last good frame and left them.
    TailIgnored {
        /// The log.
        log: String,
        /// End of the last good frame.
        offset: u64,
        /// Why replay stopped there.
        why: Stop,
        /// Bytes after it.
        bytes: u64,
    },
    /// A log ends in zeros: space preallocated for frames that were never written (the store
    /// crashed before it could trim it). Nothing is lost; a writable open trims it.
    ZeroTail {
        /// The log.
        log: String,
        /// Where the zeros start.
        offset: u64,
        /// How many.
        bytes: u64,
        /// Whether it was trimmed.
        trimmed: bool,
    },
    /// Logs after the current one (left by a checkpoint that did not commit) were replayed
    /// and their frames appended to the current log.
    LogsFolded {
        /// The later logs.
        logs: Vec<String>,
        /// The current log.
        into: String,
        /// Frames moved.
        frames: u64,
    },
    /// A generation file the current slot does not name was removed.
    LeftoverRemoved {
        /// The file.
        name: String,
    },
}

impl fmt::Display for RecoveryEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecoveryEvent::DamagedSlot { slot, error } => write!(
                f,
                "superblock slot {slot} is damaged ({}); using the other slot",
                error.message
            ),
            RecoveryEvent::UnknownFrames { log, count } => write!(
                f,
                "{log}: skipped {count} frames of kinds this version does not know"
            ),
            RecoveryEvent::TailDiscarded {
                log,
                offset,
                why,
                bytes,
                kept,
            } => write!(
                f,
                "{log}: replay stopped at offset {offset} ({why}); truncated the log there and \
                 kept the {bytes} bytes after it in {kept}"
            ),
            RecoveryEvent::TailIgnored {
                log,
                offset,
                why,
                bytes,
            } => write!(
                f,
                "{log}: replay stops at offset {offset} ({why}); {bytes} bytes after it are \
                 ignored (a writable open would truncate them)"
            ),
            RecoveryEvent::ZeroTail {
                log,
                offset,
                bytes,
                trimmed,
            } => write!(
                f,
                "{log}: {bytes} preallocated zero bytes after offset {offset} were never \
                 written{}",
                if *trimmed { "; trimmed" } else { "" }
            ),
            RecoveryEvent::LogsFolded { logs, into, frames } => write!(
                f,
                "replayed {} left by a checkpoint that did not commit and appended its {frames} \
                 frames to {into}",
                logs.join(", ")
            ),
            RecoveryEvent::LeftoverRemoved { name } => write!(
                f,
                "removed {name}, left by a checkpoint that was interrupted or not cleaned up"
            ),
        }
    }
}
