//! The storage seam: every file-system operation the partition directory and the intent
//! records perform goes through [`Storage`] and [`StorageFile`], so a test backend can stand
//! where the disk does (`store::sim`, built for tests, which simulates power loss).
//!
//! Invariants:
//! - The seam is thin: each method is one system call's worth of work (one `pwrite`, one
//!   `fsync`, one `rename`...), so a backend that counts operations can stop the world between
//!   any two of them, and what a caller makes durable is exactly what it fsyncs.
//! - Durability is explicit. Data written to a file is durable only after that file's
//!   [`StorageFile::sync_data`] or [`StorageFile::sync_all`]; a create, rename, link or remove
//!   only after [`Storage::sync_dir`] of the directory that holds the name. Callers must not
//!   rely on anything else (the real file system often does more; the simulation does not).
//! - Files stay readable through an open handle after their name is removed.

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How [`Storage::open`] opens a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Open {
    /// Read only; the file must exist.
    Read,
    /// Read and write; the file must exist.
    Write,
    /// Read and write, created empty when missing.
    Create,
    /// Read and write, created empty; fails if the name exists.
    CreateNew,
    /// Read and write, created when missing and truncated to zero bytes.
    Truncate,
}

/// An open file.
pub trait StorageFile: Send + Sync {
    /// Reads up to `buf.len()` bytes at `offset`; returns how many (0 at the end).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// Writes all of `buf` at `offset`, extending the file (with zeros before `offset` when it
    /// lies past the end).
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;

    /// The file's current length.
    fn len(&self) -> io::Result<u64>;

    /// Whether the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Truncates or extends (with zeros) the file to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;

    /// Makes the file's data and metadata durable (`fsync`).
    fn sync_all(&self) -> io::Result<()>;

    /// Makes the file's data durable, and its size when that changed (`fdatasync`).
    fn sync_data(&self) -> io::Result<()>;

    /// Takes an exclusive advisory lock without waiting; `Ok(false)` when another holder has
    /// it. The lock lasts as long as this handle.
    fn try_lock(&self) -> io::Result<bool>;

    /// Reads exactly `buf.len()` bytes at `offset`.
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file ends before the bytes asked for",
                    ))
                }
                Ok(n) => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A shared open file.
pub type FileRef = Arc<dyn StorageFile>;

/// A held directory lock; released when dropped.
pub trait DirLock: Send + Sync {}

/// A file system.
pub trait Storage: Send + Sync + Debug {
    /// Opens `path` as `how` says.
    fn open(&self, path: &Path, how: Open) -> io::Result<FileRef>;

    /// Creates `dir` and its missing parents; the new entries are made durable.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;

    /// Whether `path` is a directory.
    fn is_dir(&self, path: &Path) -> bool;

    /// Whether `path` names anything.
    fn exists(&self, path: &Path) -> io::Result<bool>;

    /// The names in `dir`, sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;

    /// Renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Gives the file `from` the second name `to`; fails when `to` exists.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes the name `path`.
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// Makes the creations, renames and removals in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Takes the exclusive lock of directory `dir` without waiting; `Ok(None)` when another
    /// holder has it.
    fn try_lock_dir(&self, dir: &Path) -> io::Result<Option<Box<dyn DirLock>>>;

    /// Where scratch files for work on `dir` go: unlinked temporaries that hold spilled rows
    /// while a snapshot is written. They are never durable state.
    fn scratch_dir(&self, dir: &Path) -> PathBuf;

    /// Whether scratch files live on the real file system (they are plain `std::fs` files).
    /// Always true today; a backend whose `scratch_dir` is not a real directory must say no.
    fn scratch_is_real(&self) -> bool {
        true
    }
}

/// The operating system's file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

/// The production backend, shared.
pub fn real() -> Arc<dyn Storage> {
    Arc::new(RealFs)
}

struct RealFile(std::fs::File);

impl StorageFile for RealFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.0, buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(&self.0, buf, offset)
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
    fn sync_all(&self) -> io::Result<()> {
        self.0.sync_all()
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn try_lock(&self) -> io::Result<bool> {
        match self.0.try_lock() {
            Ok(()) => Ok(true),
            Err(std::fs::TryLockError::WouldBlock) => Ok(false),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

struct RealLock(#[allow(dead_code)] std::fs::File);

impl DirLock for RealLock {}

impl Storage for RealFs {
    fn open(&self, path: &Path, how: Open) -> io::Result<FileRef> {
        let mut o = std::fs::OpenOptions::new();
        o.read(true);
        match how {
            Open::Read => {}
            Open::Write => {
                o.write(true);
            }
            Open::Create => {
                o.write(true).create(true);
            }
            Open::CreateNew => {
                o.write(true).create_new(true);
            }
            Open::Truncate => {
                o.write(true).create(true).truncate(true);
            }
        }
        let f = o.open(path)?;
        if f.metadata()?.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        Ok(Arc::new(RealFile(f)))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        if dir.is_dir() {
            return Ok(());
        }
        // The parent's entry for a new directory is durable only once the parent is fsynced.
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            missing.push(d.to_path_buf());
            at = d.parent();
        }
        std::fs::create_dir_all(dir)?;
        for d in missing.iter().rev() {
            if let Some(p) = d.parent().filter(|p| !p.as_os_str().is_empty()) {
                self.sync_dir(p)?;
            }
        }
        Ok(())
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(dir)? {
            v.push(e?.file_name().to_string_lossy().into_owned());
        }
        v.sort();
        Ok(v)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::hard_link(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }

    fn try_lock_dir(&self, dir: &Path) -> io::Result<Option<Box<dyn DirLock>>> {
        let f = std::fs::File::open(dir)?;
        match f.try_lock() {
            Ok(()) => Ok(Some(Box::new(RealLock(f)))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    fn scratch_dir(&self, dir: &Path) -> PathBuf {
        dir.to_path_buf()
    }
}

/// A [`meguri_core::source::Source`] over a storage file, for the snapshot reader. It is
/// `Sync`, so readers on many threads share one open snapshot.
pub struct FileSourceOf {
    file: FileRef,
    len: u64,
}

impl FileSourceOf {
    /// A source over `file`, whose length is read once.
    pub fn new(file: FileRef) -> io::Result<Self> {
        let len = file.len()?;
        Ok(FileSourceOf { file, len })
    }
}

impl meguri_core::source::Source for FileSourceOf {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, len: usize) -> meguri_core::Result<std::borrow::Cow<'_, [u8]>> {
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, offset).map_err(|e| {
            meguri_core::Error::new(
                meguri_core::ErrorKind::Source,
                format!("read of {len} bytes failed: {e}"),
            )
            .at(offset)
        })?;
        Ok(std::borrow::Cow::Owned(buf))
    }
}

/// Writes `bytes` to `path` atomically and durably through `fs`: a temporary file in the same
/// directory, fsynced, renamed over `path`, then the directory fsynced. On error the temporary
/// is removed and `path` is untouched.
pub fn write_atomic(fs: &dyn Storage, path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with(fs, path, |f| f.write_all_at(bytes, 0))
}

/// Like [`write_atomic`], with the content written by `fill` (which may write in pieces).
pub fn write_atomic_with(
    fs: &dyn Storage,
    path: &Path,
    fill: impl FnOnce(&dyn StorageFile) -> io::Result<()>,
) -> io::Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let dir = parent_of(path);
    let result = (|| {
        let f = fs.open(&tmp, Open::CreateNew)?;
        fill(&*f)?;
        f.sync_all()?;
        drop(f);
        fs.rename(&tmp, path)?;
        fs.sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs.remove(&tmp);
    }
    result
}

/// The directory holding `path` (`.` for a bare name).
pub fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
