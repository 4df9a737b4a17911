//! `run`: load a partition (a `.meguri` file, or CDX lines seeded into a fresh one), drain it
//! with the offline fetcher through the engine ([`crate::engine::drain`]), and optionally write
//! the result, atomically. The reference's `meguri run`.
//!
//! Nothing here reads the clock: the drain's start is an option (the CLI fills it from `--now`
//! or the wall clock), so a run is reproducible from its arguments.

use super::seed::{read_cdx, Seeded};
use super::{
    display_path, open_source, Error, FileSource, IoAction, Op, Progress, Refusal, Result,
    SeedInput,
};
use crate::atomic::write_atomic;
use crate::encode::{compress_arena, encode_partition, encode_partition_beside, EncodeSettings};
use crate::engine::drain::{drain_over, DrainOptions, DrainReport, Offline};
use crate::engine::frontier::Millis;
use crate::engine::outcome::hour_of;
use meguri_core::partition::Partition;
use meguri_core::reader::Reader;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the rows come from.
pub enum RunInput {
    /// A partition file, decoded whole (`-i`).
    File(PathBuf),
    /// CDX lines seeded into a fresh partition (id 1, created 0), as `seed` would (`--seed`).
    Seed(SeedInput),
}

impl RunInput {
    /// How messages and the report name it.
    pub fn name(&self) -> String {
        match self {
            RunInput::File(p) => p.display().to_string(),
            RunInput::Seed(s) => s.name(),
        }
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Where to write the drained partition (nothing is written without it).
    pub out: Option<PathBuf>,
    /// The drain.
    pub drain: DrainSettings,
    /// Page and arena compression of the output.
    pub encoding: EncodeSettings,
}

/// The reference's default worker count (`--workers 0`).
pub const DEFAULT_WORKERS: usize = 8;

/// Wall-clock seconds of each phase, rounded to 0.1 ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct RunSeconds {
    /// Reading (decoding, or seeding) the input.
    pub load: f64,
    /// The drain.
    pub drain: f64,
    /// Encoding the output.
    pub encode: f64,
    /// Writing it.
    pub write: f64,
    /// All of it.
    pub total: f64,
}

/// The output file.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutput {
    /// Where.
    #[serde(serialize_with = "display_path")]
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
}

/// What a run did.
///
/// JSON: `{input, start_ms, now_hour, state_machine, workers, drain{ran, dispatched, fetched,
/// failed, pending, urls, rounds, span_ms}, out{path, bytes} | null, selections_per_sec,
/// seconds{load, drain, encode, write, total}}`.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The input as named.
    pub input: String,
    /// The drain's start, milliseconds since the epoch.
    pub start_ms: Millis,
    /// Its hour, the one stamped into crawled rows.
    pub now_hour: u32,
    /// Whether outcomes went through the state machine.
    pub state_machine: bool,
    /// Workers asked for (0 resolved to the default).
    pub workers: usize,
    /// The drain's tally.
    pub drain: DrainReport,
    /// The file written, if any.
    pub out: Option<RunOutput>,
    /// Dispatches per second of the drain's wall-clock time (0 for an empty drain).
    pub selections_per_sec: f64,
    /// Time per phase.
    pub seconds: RunSeconds,
}

/// A drain's tally line: `VERB N urls: D dispatched, F fetched, X failed, P pending` (`ran`
/// for `run`, `served` for `serve --offline`).
pub(crate) fn write_tally(f: &mut fmt::Formatter<'_>, verb: &str, d: &DrainReport) -> fmt::Result {
    writeln!(
        f,
        "{verb} {} urls: {} dispatched, {} fetched, {} failed, {} pending",
        d.ran, d.dispatched, d.fetched, d.failed, d.pending
    )
}

impl fmt::Display for RunReport {
    /// The reference's lines: the tally, then the file written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_tally(f, "ran", &self.drain)?;
        if let Some(o) = &self.out {
            writeln!(f, "wrote {}, {} bytes", o.path.display(), o.bytes)?;
        }
        Ok(())
    }
}

/// How a drain with the offline fetcher runs: what `run` and `serve --offline` both take.
#[derive(Debug, Clone)]
pub struct DrainSettings {
    /// When the drain starts, milliseconds since the epoch: the logical clock starts here, and
    /// its hour is stamped into crawled rows.
    pub start: Millis,
    /// Wait out politeness on the wall clock instead of jumping a logical clock.
    pub wall: bool,
    /// Fold outcomes through the state machine (otherwise every fetch is a crawl a week away:
    /// what the reference's state machine does with the offline fetcher's answers).
    pub state_machine: bool,
    /// Fetch parallelism the reference's command line takes. The offline fetcher answers
    /// within the dispatch round, so it changes neither the order nor the rows; kept in the
    /// report so a run says what it was asked.
    pub workers: usize,
    /// Priority of URLs seeded from CDX and of discovered redirect targets.
    pub priority: f32,
    /// Crawl delay (deciseconds) of hosts seeded from CDX, and of hosts whose row has none.
    pub crawl_delay: u16,
}

impl DrainSettings {
    /// The engine's options for this drain.
    pub(crate) fn options(&self) -> DrainOptions {
        DrainOptions {
            start: self.start,
            wall: self.wall,
            state_machine: self.state_machine,
            default_delay: u64::from(self.crawl_delay) * 100,
            priority: self.priority,
            max_active: 0,
        }
    }

    /// Workers asked for, with 0 resolved to [`DEFAULT_WORKERS`].
    pub(crate) fn workers(&self) -> usize {
        if self.workers == 0 {
            DEFAULT_WORKERS
        } else {
            self.workers
        }
    }
}

/// `n` per second of `secs` (0 when no time passed).
pub(crate) fn per_sec(n: u64, secs: f64) -> f64 {
    if secs > 0.0 {
        n as f64 / secs
    } else {
        0.0
    }
}

/// Whether `a` and `b` name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Runs `input` as `opts` says. The input is never modified: an output naming it is refused, and
/// the output appears whole or not at all.
pub fn run(input: RunInput, opts: &RunOptions, progress: &mut dyn Progress) -> Result<RunReport> {
    let started = Instant::now();
    let name = input.name();
    if let (RunInput::File(i), Some(o)) = (&input, &opts.out) {
        if same_file(i, o) {
            return Err(Error::Refused {
                op: Op::Run,
                path: Some(o.clone()),
                refusal: Refusal::OutputIsInput,
            });
        }
    }
    // A file's arena is decoded first and compressed on the second core while this one
    // decodes the tables and drains: the drain only ever appends to the arena, so its bytes
    // are final unless a fetch added text (then it is compressed again, whole, with what was
    // added).
    let src;
    let mut rows = match input {
        RunInput::File(path) => {
            src = open_source(Op::Run, &path)?;
            let r = Reader::open_with(&src, crate::fsource::read_options())
                .map_err(|e| Error::format(Op::Run, &path, e))?;
            Rows::File(Box::new(r), path)
        }
        RunInput::Seed(s) => Rows::Seeded(seed(s, opts, progress)?),
    };
    let arena = rows.take_arena()?;
    let d = &opts.drain;
    let enc = &opts.encoding;
    // The encode starts while the arena's compression may still run: the columns are shared
    // between this thread and a helper, and the compressing thread's core is theirs once it
    // is done.
    let (drained, encoded, t_load, t_drain) = std::thread::scope(|scope| -> Result<_> {
        let job = opts
            .out
            .is_some()
            .then(|| scope.spawn(|| compress_arena(&arena, enc)));
        let mut p = rows.partition()?;
        let t_load = started.elapsed();
        let (drained, added) = drain_over(&mut p, &arena, &mut Offline, &d.options());
        let t_drain = started.elapsed();
        let encoded = match job {
            None => Encoded::NotAsked,
            Some(job) if added.is_empty() => {
                Encoded::Bytes(encode_partition_beside(&p, &arena, enc, job))
            }
            Some(job) => {
                drop(job.join());
                Encoded::Again(p, added)
            }
        };
        Ok((drained, encoded, t_load, t_drain))
    })?;
    // The arena is dropped (or moved into the partition) before the file is written.
    let bytes = match encoded {
        Encoded::NotAsked => {
            drop(arena);
            None
        }
        Encoded::Bytes(bytes) => {
            drop(arena);
            Some(bytes)
        }
        Encoded::Again(mut p, added) => {
            // A fetch added text: the arena compressed ahead is not the file's. The arena is
            // free to move now that its compressing thread is done.
            p.arena = arena;
            p.arena.extend_from_slice(&added);
            Some(encode_partition(&p, enc))
        }
    };
    let bytes = bytes.transpose().map_err(|source| Error::Encode {
        op: Op::Run,
        source,
    })?;
    let t_encode = started.elapsed();
    let out = match (&opts.out, bytes) {
        (Some(path), Some(bytes)) => {
            write_atomic(path, &bytes).map_err(|e| Error::io(Op::Run, path, IoAction::Write, e))?;
            Some(RunOutput {
                path: path.clone(),
                bytes: bytes.len() as u64,
            })
        }
        _ => None,
    };
    let t_total = started.elapsed();
    let secs = |d: Duration| (d.as_secs_f64() * 1e4).round() / 1e4;
    let drain_secs = (t_drain - t_load).as_secs_f64();
    Ok(RunReport {
        input: name,
        start_ms: d.start,
        now_hour: hour_of(d.start),
        state_machine: d.state_machine,
        workers: d.workers(),
        selections_per_sec: per_sec(drained.dispatched, drain_secs),
        drain: drained,
        out,
        seconds: RunSeconds {
            load: secs(t_load),
            drain: secs(t_drain - t_load),
            encode: secs(t_encode - t_drain),
            write: secs(t_total - t_encode),
            total: secs(t_total),
        },
    })
}

/// What the thread scope of [`run`] leaves of the encode.
enum Encoded {
    /// No output was asked for.
    NotAsked,
    /// The file's bytes.
    Bytes(meguri_core::error::Result<Vec<u8>>),
    /// A fetch added text to the arena: the drained partition and that text, to encode once
    /// the arena can be moved.
    Again(Partition, Vec<u8>),
}

/// A run's rows, before they are decoded whole.
enum Rows<'a> {
    /// A partition file: the arena and the tables are decoded apart.
    File(Box<Reader<&'a FileSource>>, PathBuf),
    /// CDX lines already seeded.
    Seeded(Partition),
}

impl Rows<'_> {
    /// The string arena (the rows keep the rest).
    fn take_arena(&mut self) -> Result<Vec<u8>> {
        match self {
            Rows::File(r, path) => r.arena().map_err(|e| Error::format(Op::Run, path, e)),
            Rows::Seeded(p) => Ok(std::mem::take(&mut p.arena)),
        }
    }

    /// The partition without its arena.
    fn partition(self) -> Result<Partition> {
        match self {
            Rows::File(r, path) => r
                .partition_without_arena()
                .map_err(|e| Error::format(Op::Run, &path, e)),
            Rows::Seeded(p) => Ok(p),
        }
    }
}

/// The rows of CDX lines seeded into a fresh partition.
fn seed(s: SeedInput, opts: &RunOptions, progress: &mut dyn Progress) -> Result<Partition> {
    let Seeded {
        partition, skipped, ..
    } = read_cdx(
        Op::Run,
        s,
        opts.drain.priority,
        opts.drain.crawl_delay,
        progress,
    )?;
    if partition.urls.is_empty() {
        return Err(Error::Refused {
            op: Op::Run,
            path: None,
            refusal: Refusal::NoUrls { skipped },
        });
    }
    Ok(partition)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{partition, write_partition, Scratch};
    use crate::ops::Silent;
    use meguri_core::records::UrlStatus;

    fn opts(out: Option<PathBuf>) -> RunOptions {
        RunOptions {
            out,
            drain: DrainSettings {
                start: 500_000 * 3_600_000,
                wall: false,
                state_machine: false,
                workers: 0,
                priority: 0.5,
                crawl_delay: 10,
            },
            encoding: EncodeSettings::default(),
        }
    }

    #[test]
    fn a_run_crawls_every_due_row_and_writes_them() {
        let d = Scratch::new("ops-run");
        let p = partition(2, 0, u64::MAX, 4);
        let f = write_partition(&d.0, "in.meguri", &p);
        let out = d.join("out.meguri");
        let before = std::fs::read(&f).unwrap();
        let r = run(
            RunInput::File(f.clone()),
            &opts(Some(out.clone())),
            &mut Silent,
        )
        .unwrap();
        let due = p
            .urls
            .iter()
            .filter(|u| crate::engine::drain::due_now(u, 500_000))
            .count() as u64;
        assert!(due > 0);
        let dr = r.drain;
        assert_eq!(
            (dr.ran, dr.dispatched, dr.fetched),
            (p.urls.len() as u64, due, due)
        );
        assert_eq!((dr.failed, dr.pending, r.workers), (0, 0, DEFAULT_WORKERS));
        let text = r.to_string();
        let bytes = std::fs::metadata(&out).unwrap().len();
        assert_eq!(
            text,
            format!(
                "ran {} urls: {due} dispatched, {due} fetched, 0 failed, 0 pending\nwrote {}, {bytes} bytes\n",
                p.urls.len(),
                out.display()
            )
        );
        let b = std::fs::read(&out).unwrap();
        let q = Reader::open(&b[..]).unwrap().partition().unwrap();
        let crawled = q
            .urls
            .iter()
            .filter(|u| {
                UrlStatus::from(u.status) == UrlStatus::Crawled && u.last_crawled == 500_000
            })
            .count() as u64;
        assert_eq!(crawled, due);
        assert_eq!(std::fs::read(&f).unwrap(), before, "the input is untouched");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["out"]["bytes"], bytes);
        assert_eq!(v["now_hour"], 500_000);
    }

    #[test]
    fn refuses_to_write_over_its_input_and_reports_damage() {
        let d = Scratch::new("ops-run-refuse");
        let f = write_partition(&d.0, "in.meguri", &partition(2, 0, u64::MAX, 2));
        let e = run(
            RunInput::File(f.clone()),
            &opts(Some(f.clone())),
            &mut Silent,
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                Error::Refused {
                    refusal: Refusal::OutputIsInput,
                    ..
                }
            ),
            "{e}"
        );
        let bad = d.join("bad.meguri");
        std::fs::write(&bad, b"not a partition").unwrap();
        let out = d.join("out.meguri");
        let e = run(RunInput::File(bad), &opts(Some(out.clone())), &mut Silent).unwrap_err();
        assert!(matches!(e, Error::Format { op: Op::Run, .. }), "{e}");
        assert!(!out.exists());
        let empty = RunInput::Seed(SeedInput::Stream {
            name: "<stdin>".into(),
            reader: Box::new(&b"not json\n"[..]),
        });
        let e = run(empty, &opts(None), &mut Silent).unwrap_err();
        assert_eq!(e.to_string(), "run: no urls read (1 lines skipped)");
    }
}
