//! The walls `bench` measures instead of stating: how many fsyncs a second the disk under a
//! directory completes (the ceiling of durable commits at concurrency 1), and how fast it reads
//! a file sequentially when the file is not in the page cache (the floor of moving a
//! partition).
//!
//! Both write a scratch file in the directory and remove it. The read measurement asks the
//! kernel to drop the file's cached pages first (`posix_fadvise(DONTNEED)` after an fsync);
//! where that is not honoured the figure is the page cache's, and it says so by being large.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// The fsync floor: durable commits per second at concurrency 1.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Fsync {
    /// fsyncs completed per second.
    pub per_sec: f64,
    /// Median latency, microseconds.
    pub p50_us: f64,
    /// 99th percentile latency, microseconds.
    pub p99_us: f64,
    /// fsyncs timed.
    pub samples: u64,
}

/// What was measured, and where.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Walls {
    /// The directory measured.
    pub dir: String,
    /// The fsync floor (`None`: not measured).
    pub fsync: Option<Fsync>,
    /// Sequential read bandwidth, MB/s (`None`: not measured).
    pub read_mb_s: Option<f64>,
}

/// Measures both walls in `dir`: fsyncs for about `fsync_for`, and one sequential read of a
/// `read_bytes` file.
pub fn measure(dir: &Path, fsync_for: Duration, read_bytes: u64) -> std::io::Result<Walls> {
    Ok(Walls {
        dir: dir.display().to_string(),
        fsync: Some(fsync_floor(dir, fsync_for)?),
        read_mb_s: Some(read_bandwidth(dir, read_bytes)?),
    })
}

struct Scratch<'a>(&'a Path);

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.0);
    }
}

/// Appends 4 KiB and fsyncs, over and over, for `run`: the latency of each fsync.
pub fn fsync_floor(dir: &Path, run: Duration) -> std::io::Result<Fsync> {
    let path = dir.join(format!(".meguri-bench-fsync-{}", std::process::id()));
    let _cleanup = Scratch(&path);
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)?;
    let block = [0x5au8; 4096];
    let mut lat: Vec<u64> = Vec::new();
    let start = Instant::now();
    while start.elapsed() < run || lat.len() < 32 {
        f.write_all(&block)?;
        let t = Instant::now();
        f.sync_all()?;
        lat.push(t.elapsed().as_nanos() as u64);
    }
    let total: u64 = lat.iter().sum();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
    Ok(Fsync {
        per_sec: lat.len() as f64 / (total as f64 / 1e9),
        p50_us: pct(0.5),
        p99_us: pct(0.99),
        samples: lat.len() as u64,
    })
}

/// Writes a `bytes` file, makes it durable, drops it from the page cache and reads it back in
/// 1 MiB pieces: MB/s.
pub fn read_bandwidth(dir: &Path, bytes: u64) -> std::io::Result<f64> {
    let path = dir.join(format!(".meguri-bench-read-{}", std::process::id()));
    let _cleanup = Scratch(&path);
    let mut f = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)?;
    let mut chunk = vec![0u8; 1 << 20];
    // Bytes that do not compress, in case the file system does.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for b in chunk.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    f.sync_all()?;
    drop_cache(&f);
    drop(f);
    let mut f = File::open(&path)?;
    drop_cache(&f);
    let t = Instant::now();
    let mut read = 0u64;
    loop {
        let n = f.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        read += n as u64;
    }
    Ok(read as f64 / t.elapsed().as_secs_f64() / 1e6)
}

/// Asks the kernel to forget the file's cached pages (they are clean after an fsync).
fn drop_cache(f: &File) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the call's duration; the call reads no memory of ours.
    unsafe {
        libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("meguri-walls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let w = measure(&dir, Duration::from_millis(50), 4 << 20).unwrap();
        let f = w.fsync.unwrap();
        assert!(f.samples >= 32 && f.per_sec > 0.0 && f.p99_us >= f.p50_us);
        assert!(w.read_mb_s.unwrap() > 0.0);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "scratch files removed"
        );
        std::fs::remove_dir(&dir).unwrap();
    }
}
