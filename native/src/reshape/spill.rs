//! Spill files: per-row values a pass computes for a later pass, kept on disk rather than in
//! memory so that compaction's memory does not grow with the number of rows.
//!
//! Invariant: a spill file is unlinked as soon as it is created, so nothing is left behind
//! whatever way the process ends.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Buffer size of spill readers and writers.
const BUF: usize = 64 << 10;

/// A spill being written: fixed-size little-endian records.
pub struct SpillWriter {
    out: BufWriter<File>,
    count: u64,
}

fn anonymous_file(dir: &Path, tag: &str) -> io::Result<File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(".meguri-spill-{}-{n}-{tag}", std::process::id()));
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

impl SpillWriter {
    /// A new spill in `dir` (which must be writable; the file is unlinked at once).
    pub fn new(dir: &Path, tag: &str) -> io::Result<SpillWriter> {
        Ok(SpillWriter {
            out: BufWriter::with_capacity(BUF, anonymous_file(dir, tag)?),
            count: 0,
        })
    }

    /// Appends a value.
    pub fn push(&mut self, v: u64) -> io::Result<()> {
        self.count += 1;
        self.out.write_all(&v.to_le_bytes())
    }

    /// The bare (unlinked) file, for callers that write it with positioned writes.
    pub fn into_file(self) -> io::Result<File> {
        self.out.into_inner().map_err(|e| e.into_error())
    }

    /// Values pushed.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Ends writing; returns a reader from the start.
    pub fn into_reader(self) -> io::Result<SpillReader> {
        let mut f = self.out.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        Ok(SpillReader {
            inp: BufReader::with_capacity(BUF, f),
        })
    }
}

impl Write for SpillWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A spill being read back from the start.
pub struct SpillReader {
    inp: BufReader<File>,
}

impl SpillReader {
    /// The next value.
    pub fn read_u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.inp.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// The underlying buffered reader.
    pub fn reader(&mut self) -> &mut BufReader<File> {
        &mut self.inp
    }

    /// The next `n` raw bytes.
    pub fn next_bytes(&mut self, b: &mut [u8]) -> io::Result<()> {
        self.inp.read_exact(b)
    }
}
