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
use crate::encode::{
    arena_zip, compress_arena, encode_partition, encode_partition_beside, encode_partition_put,
    encode_rows_put, EncodeParts, EncodeRows, EncodeSettings, ValuesFeed,
};
use crate::engine::drain::{drain_over, Base, DrainOptions, DrainReport, Offline};
use crate::engine::frontier::Millis;
use crate::engine::outcome::hour_of;
use crate::engine::rows::{slim_holds, DrainRows, SlimFeed, SlimRows};
use crate::reshape::{
    self,
    arena_in::{recompress, ArenaPage},
};
use meguri_core::error::Table;
use meguri_core::format::codec::compression_pays;
use meguri_core::format::header::Header;
use meguri_core::format::REGION_SCHEDULE;
use meguri_core::partition::Partition;
use meguri_core::reader::Reader;
use meguri_core::records::Values;
use meguri_core::schema::{self, url, ColumnSpec};
use meguri_core::write::{Encoder, Plan, TableFeed};
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
    let d = &opts.drain;
    let (drained, bytes, t_load, t_drain) = match input {
        RunInput::File(path) => {
            let src = open_source(Op::Run, &path)?;
            let r = Reader::open_with(&src, crate::fsource::read_options())
                .map_err(|e| Error::format(Op::Run, &path, e))?;
            run_file(&r, &path, opts, started)?
        }
        RunInput::Seed(s) => {
            let p = seed(s, opts, progress)?;
            run_seeded(p, opts, started)
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

/// What a run's load, drain and encode leave: the tally, the file's bytes (when asked for),
/// and when the load and the drain ended.
type Drained = (
    DrainReport,
    Option<meguri_core::error::Result<Vec<u8>>>,
    Duration,
    Duration,
);

/// Joins a scoped thread, passing its panic on.
fn join<T>(job: std::thread::ScopedJoinHandle<'_, T>) -> T {
    job.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// The error `run` reports when its input's arena could not be streamed: the core's, as
/// decoding the arena whole words it (as every other command does), or the stream's own when
/// the whole decode passes (a read that failed once).
fn arena_error(r: &Reader<&FileSource>, path: &Path, streamed: reshape::Error) -> Error {
    match r.arena() {
        Err(e) => Error::format(Op::Run, path, e),
        Ok(_) => Error::Reshape {
            op: Op::Run,
            source: Box::new(streamed),
        },
    }
}

/// A run of a partition file. Its arena is never held raw: a second thread decodes it from
/// the file under every check a whole read makes and compresses it again as it goes (or only
/// checks it, when no output is asked for), while this one decodes the tables and drains
/// (the offline fetcher reads no URL, and the drain only appends to the arena). The encode
/// starts while that thread may still run, and takes the compressed body when it reaches the
/// arena; the bytes are those of compressing the raw arena in memory.
///
/// Nor are the tables held whole, as a rule: the drain works on slim rows (only the columns
/// it reads or writes, `engine::rows`), and the columns it never changes are encoded from the
/// file before it starts ([`load`]).
fn run_file(
    r: &Reader<&FileSource>,
    path: &Path,
    opts: &RunOptions,
    started: Instant,
) -> Result<Drained> {
    let page = ArenaPage::locate(r, path).map_err(|e| arena_error(r, path, e))?;
    let raw_len = page.as_ref().map_or(0, ArenaPage::raw_len);
    let zip = arena_zip(&opts.encoding);
    let write = opts.out.is_some();
    std::thread::scope(|scope| -> Result<Drained> {
        let mut job = page.as_ref().map(|page| {
            let zip = &zip;
            scope.spawn(move || match write {
                true => recompress(page, zip).map(Some),
                false => page.check(&mut std::io::sink()).map(|_| None),
            })
        });
        // A damaged arena is reported before damaged tables, as a whole read would.
        let mut loaded = match load(r, write) {
            Ok(l) => l,
            Err(e) => {
                if let Some(Err(x)) = job.map(join) {
                    return Err(arena_error(r, path, x));
                }
                return Err(Error::format(Op::Run, path, e));
            }
        };
        let t_load = started.elapsed();
        let unread = Base::Unread(raw_len);
        let (drained, added) = match &mut loaded {
            Loaded::Slim(s) => drain_over(&mut s.rows, unread, &mut Offline, &opts.drain.options()),
            Loaded::Whole(p) => drain_over(p, unread, &mut Offline, &opts.drain.options()),
        };
        let t_drain = started.elapsed();
        if !write || !added.is_empty() {
            if let Some(Err(x)) = job.take().map(join) {
                return Err(arena_error(r, path, x));
            }
        }
        if !write {
            return Ok((drained, None, t_load, t_drain));
        }
        if !added.is_empty() {
            // A fetch added text (the offline fetcher never does, nor do slim rows let it): the
            // arena is read whole.
            let Loaded::Whole(mut p) = loaded else {
                unreachable!("a drain over slim rows adds no text");
            };
            let mut arena = r.arena().map_err(|e| Error::format(Op::Run, path, e))?;
            arena.extend_from_slice(&added);
            p.arena = arena;
            return Ok((
                drained,
                Some(encode_partition(&p, &opts.encoding)),
                t_load,
                t_drain,
            ));
        }
        let mut failed = None;
        let mut put = |e: &mut Encoder<'_, Vec<u8>>| -> meguri_core::error::Result<()> {
            let Some(job) = job.take() else {
                return Ok(());
            };
            match join(job) {
                Err(x) => {
                    failed = Some(x);
                    Err(meguri_core::Error::new(
                        meguri_core::ErrorKind::Invalid,
                        "the input's arena could not be read",
                    ))
                }
                Ok(_) if raw_len == 0 => Ok(()),
                Ok(Some(c)) if compression_pays(raw_len, c.body.len) => {
                    e.begin_arena(c.body)?;
                    e.arena_body(&c.bytes)?;
                    e.end_arena()
                }
                // Stored as it is, as a compression in memory would leave it.
                Ok(_) => e.arena(&r.arena()?, &zip),
            }
        };
        let bytes = match loaded {
            Loaded::Slim(s) => {
                let rows = SlimAndFile { rows: &s.rows, r };
                encode_rows_put(&rows, s.parts(), raw_len, &mut put, &opts.encoding)
            }
            Loaded::Whole(p) => encode_partition_put(&p, raw_len, &mut put, &opts.encoding),
        };
        if let Some(x) = failed {
            return Err(arena_error(r, path, x));
        }
        Ok((drained, Some(bytes), t_load, t_drain))
    })
}

/// A file's tables as `run` drains them.
enum Loaded {
    /// Slim rows; the other columns stay in the file.
    Slim(Box<SlimLoad>),
    /// Rows held whole: when some URL's host has no row (the drain makes one) or the URL rows
    /// are out of key order (the encode refuses them, in the words it always has).
    Whole(Partition),
}

/// Slim rows and what the file they came from says besides.
struct SlimLoad {
    rows: SlimRows,
    /// Whether each table has extension columns worth writing.
    ext: [bool; 2],
    header: Header,
    schedule: bool,
    seen_filter: Vec<u8>,
    meta: Vec<(Vec<u8>, Vec<u8>)>,
}

impl SlimLoad {
    /// The encode's parts, once the drain is over (the schedule's base depends on it).
    fn parts(&self) -> EncodeParts<'_> {
        let h = &self.header;
        EncodeParts {
            plan: Plan {
                id: h.partition_id,
                hostkey_lo: h.hostkey_lo,
                hostkey_hi: h.hostkey_hi,
                created_hours: h.created_hours,
                url_count: self.rows.url_count() as u64,
                host_count: self.rows.host_count() as u64,
                schedule_base: if self.schedule {
                    self.rows.schedule_base()
                } else {
                    None
                },
                ext: self.ext,
            },
            seen_filter: &self.seen_filter,
            meta: &self.meta,
        }
    }
}

/// Decodes `r`'s tables for a drain, column by column in the file's order (URL table, host
/// table, then the seen-set filter) with every check a whole read makes: the columns a drain
/// holds into slim rows, the others only checked (the encode reads them again,
/// [`SlimAndFile`]). What is held beside the rows is one decoded column. Rows held whole
/// when slim ones cannot be drained or encoded ([`Loaded::Whole`]).
fn load(r: &Reader<&FileSource>, write: bool) -> meguri_core::Result<Loaded> {
    let h = *r.header();
    let mut slim = SlimLoad {
        rows: SlimRows::zeroed(
            h.hostkey_lo,
            h.hostkey_hi,
            r.rows(Table::Url) as usize,
            r.rows(Table::Host) as usize,
        ),
        ext: [false; 2],
        header: h,
        schedule: r.footer().region(REGION_SCHEDULE).is_some(),
        seen_filter: Vec::new(),
        meta: r.meta().map(<[_]>::to_vec).unwrap_or_default(),
    };
    let mut in_order = true;
    for (ti, table) in [Table::Url, Table::Host].into_iter().enumerate() {
        for spec in schema::columns(table)
            .iter()
            .chain(schema::ext_columns(table))
        {
            let ext = schema::is_ext(table, spec.id);
            if ext && !r.has_column(table, spec.id) {
                // Zeros in every row.
                continue;
            }
            let held = slim_holds(table, spec.id);
            let path_key = (table, spec.id) == (Table::Url, url::PATH_KEY) && write;
            let mut last_path = None;
            let rows = &mut slim.rows;
            let ext_values = &mut slim.ext[ti];
            r.stream_column(table, spec.id, &mut |first, values| {
                if held {
                    rows.set_column(table, spec.id, first, values)?;
                } else if path_key {
                    in_order &= rows.keys_in_order(first, values, &mut last_path);
                } else if ext {
                    // Extension columns are written when some row holds a value there; a
                    // drain never changes them, so the file decides.
                    *ext_values |= match values {
                        Values::Int(v) => v.iter().any(|&x| x != 0),
                        Values::Wide(v) => v.iter().any(|x| x != &[0; 16]),
                    };
                }
                Ok(())
            })?;
        }
    }
    slim.seen_filter = r.seen_filter_blob()?;
    if !in_order || !slim.rows.link_hosts() {
        return r.partition_without_arena().map(Loaded::Whole);
    }
    Ok(Loaded::Slim(Box::new(slim)))
}

/// Slim rows with the columns they do not hold read back from the file they came from, a
/// column at a time, as the encode asks for them: those columns are the file's, since a
/// drain never changes them.
struct SlimAndFile<'a> {
    rows: &'a SlimRows,
    r: &'a Reader<&'a FileSource>,
}

impl EncodeRows for SlimAndFile<'_> {
    fn count(&self, table: Table) -> usize {
        self.rows.count(table)
    }

    fn feed(&self, table: Table) -> Box<dyn TableFeed + '_> {
        Box::new(SlimAndFileFeed {
            slim: self.rows.feed(table),
            r: self.r,
            table,
            column: None,
        })
    }
}

/// A table of [`SlimAndFile`] as a [`TableFeed`].
struct SlimAndFileFeed<'a> {
    slim: SlimFeed<'a>,
    r: &'a Reader<&'a FileSource>,
    table: Table,
    /// The file's column being fed (an extension column the file lacks as zeros).
    column: Option<(u64, Values)>,
}

impl SlimAndFileFeed<'_> {
    fn file_column(&mut self, spec: &ColumnSpec) -> meguri_core::Result<ValuesFeed<'_>> {
        if self.column.as_ref().map(|c| c.0) != Some(spec.id) {
            self.column = None;
            let values = if self.r.has_column(self.table, spec.id) {
                self.r.read_column(self.table, spec.id)?
            } else {
                Values::Int(vec![0; self.r.rows(self.table) as usize])
            };
            self.column = Some((spec.id, values));
        }
        Ok(ValuesFeed(&self.column.as_ref().expect("just set").1))
    }
}

impl TableFeed for SlimAndFileFeed<'_> {
    fn values(
        &mut self,
        spec: &ColumnSpec,
        start: usize,
        end: usize,
        out: &mut Vec<u64>,
    ) -> meguri_core::Result<()> {
        if slim_holds(self.table, spec.id) {
            self.slim.values(spec, start, end, out)
        } else {
            self.file_column(spec)?.values(spec, start, end, out)
        }
    }

    fn ip_bytes(&mut self, start: usize, end: usize, out: &mut Vec<u8>) -> meguri_core::Result<()> {
        let spec = schema::spec(Table::Host, schema::host::RESOLVED_IP).ok_or_else(|| {
            meguri_core::Error::new(meguri_core::ErrorKind::Invalid, "no IP column")
        })?;
        self.file_column(spec)?.ip_bytes(start, end, out)
    }
}

/// A run of CDX lines seeded into `p`: the arena is compressed on a second thread while this
/// one drains, and again, whole, if a fetch added text.
fn run_seeded(mut p: Partition, opts: &RunOptions, started: Instant) -> Drained {
    let arena = std::mem::take(&mut p.arena);
    let enc = &opts.encoding;
    let t_load = started.elapsed();
    let (drained, bytes, added, t_drain) = std::thread::scope(|scope| {
        let job = opts
            .out
            .is_some()
            .then(|| scope.spawn(|| compress_arena(&arena, enc)));
        let (drained, added) = drain_over(
            &mut p,
            Base::Held(&arena),
            &mut Offline,
            &opts.drain.options(),
        );
        let t_drain = started.elapsed();
        let bytes = match job {
            Some(job) if added.is_empty() => Some(encode_partition_beside(&p, &arena, enc, job)),
            Some(job) => {
                drop(join(job));
                None
            }
            None => None,
        };
        (drained, bytes, added, t_drain)
    });
    if opts.out.is_none() || bytes.is_some() {
        return (drained, bytes, t_load, t_drain);
    }
    // A fetch added text: the arena compressed ahead is not the file's.
    p.arena = arena;
    p.arena.extend_from_slice(&added);
    (drained, Some(encode_partition(&p, enc)), t_load, t_drain)
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

    /// A file whose arena frame another compressor wrote (level 1, one shot, a content size in
    /// its header), or whose arena is stored as it is: `run` recompresses it from the file, and
    /// the output is byte for byte what encoding the drained partition in memory gives.
    #[test]
    fn a_streamed_arena_encodes_as_the_arena_held_in_memory() {
        use meguri_core::format::codec::{CZstd, Compressor, Uncompressed};
        let d = Scratch::new("ops-run-stream");
        let p = partition(3, 0, u64::MAX, 60);
        assert!(p.arena.len() > 4_000);
        for other in [&CZstd::new(1) as &dyn Compressor, &Uncompressed] {
            let bytes =
                meguri_core::write::encode(&p, &meguri_core::write::WriteOptions::default(), other)
                    .unwrap();
            let f = d.join("in.meguri");
            std::fs::write(&f, &bytes).unwrap();
            let out = d.join("out.meguri");
            let o = opts(Some(out.clone()));
            let r = run(RunInput::File(f.clone()), &o, &mut Silent).unwrap();
            let mut q = Reader::open(&bytes[..]).unwrap().partition().unwrap();
            let drained = crate::engine::drain::drain(&mut q, &mut Offline, &o.drain.options());
            assert_eq!(r.drain.dispatched, drained.dispatched);
            assert!(drained.dispatched > 0);
            let expected = encode_partition(&q, &o.encoding).unwrap();
            assert_eq!(std::fs::read(&out).unwrap(), expected);
        }
    }

    /// `run` drains slim rows and encodes the columns a drain never changes from its input:
    /// the output is the one a drain over rows held whole writes, with extension columns in
    /// either table, columns of many pages, the state machine on or off; and rows that slim
    /// ones cannot stand for (a URL without a host row: the drain makes one) are held whole.
    #[test]
    fn slim_rows_write_what_rows_held_whole_write() {
        let d = Scratch::new("ops-run-slim");
        let base = partition(6, 0, u64::MAX, 20);
        let mut with_ext = base.clone();
        for (i, u) in with_ext
            .urls
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| i % 7 == 0)
        {
            u.refetch_at = 1_800_000_000 + i as u32;
            u.lease_until = 5;
        }
        with_ext.hosts[1].queue_delay = 2_501;
        with_ext.hosts[4].last_handout = 1_795_000_000_123;
        let mut hostless = base.clone();
        hostless.hosts.remove(2);
        let cases = [
            ("plain", base, true),
            ("ext", with_ext, true),
            ("hostless", hostless, false),
        ];
        for (name, p, slim) in cases {
            for (page_rows, state_machine) in [(65_536, false), (7, true)] {
                let bytes = meguri_core::write::encode(
                    &p,
                    &meguri_core::write::WriteOptions {
                        page_rows,
                        ..Default::default()
                    },
                    &meguri_core::format::codec::CZstd::new(3),
                )
                .unwrap();
                let f = d.join("in.meguri");
                std::fs::write(&f, &bytes).unwrap();
                let src = crate::fsource::FileSource::open(&f).unwrap();
                let r = Reader::open(&src).unwrap();
                let loaded = load(&r, true).unwrap();
                assert_eq!(matches!(loaded, Loaded::Slim(_)), slim, "{name}");
                let out = d.join("out.meguri");
                let _ = std::fs::remove_file(&out);
                let mut o = opts(Some(out.clone()));
                o.drain.state_machine = state_machine;
                let ran = run(RunInput::File(f.clone()), &o, &mut Silent).unwrap();
                let mut q = Reader::open(&bytes[..]).unwrap().partition().unwrap();
                let drained = crate::engine::drain::drain(&mut q, &mut Offline, &o.drain.options());
                assert!(drained.dispatched > 0, "{name}");
                assert_eq!(ran.drain, drained, "{name}");
                let expected = encode_partition(&q, &o.encoding).unwrap();
                assert!(
                    std::fs::read(&out).unwrap() == expected,
                    "{name} {page_rows}"
                );
            }
        }
    }

    /// Damage anywhere in the arena's page is refused with the words a whole read of the arena
    /// gives, with or without an output, and nothing is written: a sweep over the region (the
    /// page header, the frame's header, its blocks and its checksum).
    #[test]
    fn a_damaged_arena_is_refused_as_a_whole_read_refuses_it() {
        let d = Scratch::new("ops-run-arena");
        let f = write_partition(&d.0, "in.meguri", &partition(3, 0, u64::MAX, 30));
        let good = std::fs::read(&f).unwrap();
        let region = Reader::open(&good[..])
            .unwrap()
            .footer()
            .region(meguri_core::format::REGION_STRING_BLOB)
            .copied()
            .unwrap();
        let (start, len) = (region.offset as usize, region.length as usize);
        let out = d.join("out.meguri");
        let bad = d.join("bad.meguri");
        let (mut swept, mut refused) = (0, 0);
        let step = (len / 300).max(1);
        for at in (start..start + len)
            .step_by(step)
            .chain(start + len - 4..start + len)
        {
            let mut b = good.clone();
            b[at] ^= 0x5a;
            std::fs::write(&bad, &b).unwrap();
            swept += 1;
            let want = match Reader::open(&b[..]).and_then(|r| r.arena()) {
                Err(e) => Error::format(Op::Run, &bad, e).to_string(),
                Ok(_) => continue,
            };
            for o in [Some(out.clone()), None] {
                let got = run(RunInput::File(bad.clone()), &opts(o), &mut Silent).unwrap_err();
                assert_eq!(got.to_string(), want, "byte {at}");
                assert!(!out.exists());
            }
            refused += 1;
        }
        assert!(swept >= len.min(250), "{swept} of {len} bytes");
        assert_eq!(refused, swept, "every damaged byte is refused");
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
