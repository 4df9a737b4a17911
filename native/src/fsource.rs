//! Byte sources over files: positioned reads for jobs that touch a few ranges (`inspect`), and
//! memory maps for jobs that read most of a file (`verify`, full decodes).

use meguri_core::source::Source;
use meguri_core::{Error, ErrorKind};
use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Opens a file for reading and returns it with its length; a directory is an error here
/// rather than a confusing read failure later.
fn open_file(path: &Path) -> std::io::Result<(File, u64)> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::other("is a directory"));
    }
    Ok((file, meta.len()))
}

/// A file read with `pread`, counting reads and bytes so callers can report what a job cost.
/// Threads may share one (`run` encodes columns read back from its input on two).
pub struct FileSource {
    file: File,
    len: u64,
    reads: AtomicU64,
    bytes: AtomicU64,
}

impl FileSource {
    /// Opens `path` for positioned reads.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let (file, len) = open_file(path)?;
        Ok(FileSource {
            file,
            len,
            reads: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    /// Reads issued so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, len: usize) -> meguri_core::Result<Cow<'_, [u8]>> {
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, offset).map_err(|e| {
            Error::new(
                ErrorKind::Source,
                format!("read of {len} bytes failed: {e}"),
            )
            .at(offset)
        })?;
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
        Ok(Cow::Owned(buf))
    }
}

/// A whole file as bytes: memory-mapped when it is non-empty, an empty vector otherwise (an
/// empty file cannot be mapped).
pub enum FileBytes {
    /// A read-only map.
    Mapped(memmap2::Mmap),
    /// An empty file.
    Empty,
}

impl FileBytes {
    /// Maps `path` read-only.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let (file, len) = open_file(path)?;
        if len == 0 {
            return Ok(FileBytes::Empty);
        }
        // SAFETY: the map is read-only; a file truncated underneath us would fault, which is the
        // documented risk of memory-mapping files that other processes may change. Partition
        // files are immutable once renamed into place.
        let map = unsafe { memmap2::Mmap::map(&file)? };
        Ok(FileBytes::Mapped(map))
    }
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Empty => &[],
        }
    }
}

/// How the native side opens `.meguri` files: the core's defaults, with page payloads
/// decompressed by the C zstd library. The core still walks every frame and the pure decoder
/// rules on any frame the C library refuses, so the verdict and the values are those of the
/// pure decoder (the browser's); only the time differs (the C decoder is about three times
/// faster on large pages such as the arena).
pub fn read_options() -> meguri_core::reader::ReadOptions {
    meguri_core::reader::ReadOptions {
        zstd: meguri_core::format::codec::ZstdBackend::C,
        ..Default::default()
    }
}
