//! `bench`: CDX lines seeded into a partition (id 0, as the reference's bench does), measured by
//! [`crate::bench`] and set against the walls of this machine, measured in a directory the
//! caller names (or stated, when it names none).

use super::seed::{read_cdx, Seeded};
use super::{Error, IoAction, Op, Progress, Refusal, Result, SeedInput};
use crate::bench::walls::{self, Walls};
use crate::bench::{measure, BenchOptions, BenchReport};
use std::path::PathBuf;
use std::time::Duration;

/// Where and how long to measure the disk's walls.
#[derive(Debug, Clone)]
pub struct WallOptions {
    /// A directory on the disk to measure (scratch files are made and removed there).
    pub dir: PathBuf,
    /// How long to time fsyncs.
    pub fsync_for: Duration,
    /// Size of the file read back for the read bandwidth.
    pub read_bytes: u64,
}

/// How to bench.
#[derive(Debug, Clone)]
pub struct BenchRunOptions {
    /// Priority of seeded URLs.
    pub priority: f32,
    /// Crawl delay of seeded hosts, deciseconds.
    pub crawl_delay: u16,
    /// What to project and compare against.
    pub bench: BenchOptions,
    /// The walls to measure (`None`: the report states them, as the reference does).
    pub walls: Option<WallOptions>,
}

/// Seeds `input`, measures the partition and, if asked, the disk.
pub fn bench(
    input: SeedInput,
    opts: &BenchRunOptions,
    progress: &mut dyn Progress,
) -> Result<BenchReport> {
    let Seeded {
        mut partition,
        skipped,
        ..
    } = read_cdx(Op::Bench, input, opts.priority, opts.crawl_delay, progress)?;
    if partition.urls.is_empty() {
        return Err(Error::Refused {
            op: Op::Bench,
            path: None,
            refusal: Refusal::NoUrls { skipped },
        });
    }
    partition.id = 0;
    let walls = match &opts.walls {
        None => Walls::default(),
        Some(w) => walls::measure(&w.dir, w.fsync_for, w.read_bytes)
            .map_err(|e| Error::io(Op::Bench, &w.dir, IoAction::Write, e))?,
    };
    measure(&partition, &opts.bench, walls).map_err(|source| Error::Encode {
        op: Op::Bench,
        source,
    })
}
