//! The operations layer: what each `meguri` command does, without the command.
//!
//! Every operation takes a typed options struct and returns a typed report. A report
//! serializes to the command's `--json` output (through the schemas in
//! [`meguri_core::report`], so the CLI, the server and the browser inspector describe the same
//! thing the same way) and renders, through `Display` or a `render` method, to exactly the text
//! the command prints. Front ends choose between the two; nothing here prints, exits, reads the
//! environment or the wall clock ("now" is an option), or knows about clap. Long operations
//! tell the caller how they are doing through a [`Progress`] the caller supplies.
//!
//! Failures are [`Error`]s: which operation failed, on which file, and why, with core's
//! structured error (kind, place, byte offset) kept whole rather than flattened into a string.

pub mod bench;
pub mod compact;
pub mod inspect;
pub mod live;
pub mod load;
pub mod manifest;
pub mod map;
pub mod offline;
pub mod run;
pub mod schedule;
pub mod seed;
pub mod split;
pub mod stats;
pub mod verify;
pub mod web;

pub use bench::{bench, BenchRunOptions, WallOptions};
pub use compact::{compact, CompactOptions, CompactReport};
pub use inspect::{inspect, InspectOptions, InspectReport};
pub use live::{
    live_schedule, live_stats, pack, LiveScheduleOptions, LiveScheduleReport, LiveStatsOptions,
    LiveStatsReport, PackOptions, PackReport,
};
pub use load::{load, LoadOptions, LoadReport};
pub use manifest::{build_manifest, BuildOptions, BuildReport};
pub use map::{map, route, MapOptions, MapReport, RouteOptions, RouteReport};
pub use offline::{serve_offline, OfflineOptions, OfflineReport};
pub use run::{run, DrainSettings, RunInput, RunOptions, RunReport};
pub use schedule::{schedule, ScheduleOptions, ScheduleReport};
pub use seed::{seed, SeedInput, SeedOptions, SeedReport};
pub use split::{split, Cuts, SplitOptions, SplitReport};
pub use stats::{stats, StatsOptions, StatsReport};
pub use verify::{verify, VerifyOptions, VerifyReport};
pub use web::{web, WebOptions, WebReady};

use crate::fsource::FileSource;
use std::fmt;
use std::path::{Path, PathBuf};

/// Which operation an error comes from. Its [`name`](Op::name) is the command's verb, the
/// first word of every error line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// [`inspect()`].
    Inspect,
    /// [`verify()`].
    Verify,
    /// [`stats()`].
    Stats,
    /// [`schedule()`].
    Schedule,
    /// [`map()`] and [`route()`].
    Map,
    /// [`build_manifest()`].
    ManifestBuild,
    /// [`seed()`].
    Seed,
    /// [`compact()`].
    Compact,
    /// [`run()`].
    Run,
    /// [`bench()`].
    Bench,
    /// [`split()`].
    Split,
    /// [`pack()`].
    Pack,
    /// [`load()`].
    Load,
    /// [`web()`].
    Web,
    /// [`serve_offline()`].
    Serve,
}

impl Op {
    /// The command's verb: `"inspect"`, `"manifest build"`, ...
    pub fn name(self) -> &'static str {
        match self {
            Op::Inspect => "inspect",
            Op::Verify => "verify",
            Op::Stats => "stats",
            Op::Schedule => "schedule",
            Op::Map => "map",
            Op::ManifestBuild => "manifest build",
            Op::Seed => "seed",
            Op::Compact => "compact",
            Op::Run => "run",
            Op::Bench => "bench",
            Op::Split => "split",
            Op::Pack => "pack",
            Op::Load => "load",
            Op::Web => "web",
            Op::Serve => "serve",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an operation was doing with a file when the system said no. Kept for callers that
/// log or retry; the one-line message leaves it out, since the system's own words already say
/// enough and the CLI's lines must not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IoAction {
    /// Opening (or mapping) an input.
    Open,
    /// Reading an input.
    Read,
    /// Writing an output (a file, or the front end's stdout).
    Write,
}

/// Why an operation failed. Each variant says which operation, and the file or input it
/// concerns; `Display` is the one-line message (`<verb> <path>: <what>`) the CLI prints after
/// `error: `.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A partition file or manifest broke the format (core's error: kind, place, offset).
    #[error("{op} {}: {source}", path.display())]
    Format {
        /// The operation.
        op: Op,
        /// The file.
        path: PathBuf,
        /// What core found, and where.
        #[source]
        source: meguri_core::Error,
    },
    /// The system refused a read or a write.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// The operation.
        op: Op,
        /// The file (or `<stdout>`).
        path: PathBuf,
        /// What was being done.
        action: IoAction,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A stream input (seed's CDX lines) could not be read to its end.
    #[error("{op}: read input {input}: {source}")]
    Input {
        /// The operation.
        op: Op,
        /// The input as named to the user (a path, or `<stdin>`).
        input: String,
        /// Why.
        #[source]
        source: InputError,
    },
    /// The operation will not do what was asked: the inputs or the result would break a rule
    /// (overlapping ranges, a manifest given where a partition file belongs, ...).
    #[error("{op}{}: {refusal}", at(path.as_deref()))]
    Refused {
        /// The operation.
        op: Op,
        /// The file the refusal is about, when there is one.
        path: Option<PathBuf>,
        /// What rule, and which files.
        refusal: Refusal,
    },
    /// The request itself is malformed (a host key that does not parse): exit status 2.
    #[error("{op}: {message}")]
    Usage {
        /// The operation.
        op: Op,
        /// What is wrong with the request.
        message: String,
    },
    /// A partition directory refused, or failed, an operation (the store's typed error: a
    /// refusal, damage, or a failing disk).
    #[error("{op}{}: {source}", at(path.as_deref()))]
    Store {
        /// The operation.
        op: Op,
        /// The directory, when the message names it.
        path: Option<PathBuf>,
        /// The store's error (boxed: it is large, and errors travel up every call).
        #[source]
        source: Box<crate::store::StoreError>,
    },
    /// A server (`web`) could not start or bind.
    #[error("{op} {listen}: {source}")]
    Serve {
        /// The operation.
        op: Op,
        /// The address asked for.
        listen: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// Encoding an in-memory partition failed (rows the encoder refuses).
    #[error("{op}: encode: {source}")]
    Encode {
        /// The operation.
        op: Op,
        /// What the encoder found.
        #[source]
        source: meguri_core::Error,
    },
    /// A reshape (compact's or split's streaming writer) failed: its typed error, which keeps
    /// core's (kind, place, offset) when an input broke the format.
    #[error("{op}: {source}")]
    Reshape {
        /// The operation.
        op: Op,
        /// What went wrong (boxed, as the store's).
        #[source]
        source: Box<crate::reshape::Error>,
    },
}

/// `" PATH"`, or nothing.
fn at(path: Option<&Path>) -> String {
    path.map_or_else(String::new, |p| format!(" {}", p.display()))
}

impl Error {
    /// The operation that failed.
    pub fn op(&self) -> Op {
        match self {
            Error::Format { op, .. }
            | Error::Io { op, .. }
            | Error::Input { op, .. }
            | Error::Refused { op, .. }
            | Error::Usage { op, .. }
            | Error::Encode { op, .. }
            | Error::Store { op, .. }
            | Error::Serve { op, .. }
            | Error::Reshape { op, .. } => *op,
        }
    }

    /// Whether the request, not the data, is at fault (exit status 2 in the CLI).
    pub fn is_usage(&self) -> bool {
        matches!(self, Error::Usage { .. })
    }

    /// A format error of `op` on `path`.
    pub fn format(op: Op, path: &Path, source: meguri_core::Error) -> Error {
        Error::Format {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    /// An I/O error of `op` doing `action` on `path`.
    pub fn io(op: Op, path: &Path, action: IoAction, source: std::io::Error) -> Error {
        Error::Io {
            op,
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}

/// Why a stream input ended early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The system's read failed (or the zstd stream is damaged).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A line is longer than the reference's scanner accepts.
    #[error("line {line} is longer than 16 MiB")]
    LineTooLong {
        /// 1-based line number.
        line: u64,
    },
}

/// A rule an operation will not break. `Display` names the files and keys involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// `inspect` was given a manifest.
    #[error(
        "this is a meguri manifest, not a partition file (try `meguri verify` or `meguri map`)"
    )]
    NotAPartition,
    /// `pack` was given something that is not a directory.
    #[error("--data {} is not a partition directory", path.display())]
    NotADirectory {
        /// What was given.
        path: PathBuf,
    },
    /// A row's string reference that resolves to no string of its file's arena.
    #[error("arena reference {reference} resolves to no string")]
    UnresolvedRef {
        /// The reference.
        reference: u64,
    },
    /// A split cut outside the input's range.
    #[error("cut {cut:#018x} is not inside {file}'s range ({lo:#018x}, {hi:#018x}]")]
    CutOutside {
        /// The cut.
        cut: u64,
        /// The input.
        file: String,
        /// Its range.
        lo: u64,
        /// Its range.
        hi: u64,
    },
    /// Split cuts out of order.
    #[error("cut keys must increase: {cut:#018x} follows {after:#018x}")]
    CutsNotIncreasing {
        /// The cut.
        cut: u64,
        /// The one before it.
        after: u64,
    },
    /// `web` without the inspector's wasm in this binary.
    #[error("this binary was built without the inspector's wasm; run `bash web/build.sh` (needs the wasm32-unknown-unknown target and wasm-bindgen-cli, see README), then `cargo build -p meguri` again")]
    NoInspector,
    /// An output that would replace an input.
    #[error("the output is the input; write it elsewhere")]
    OutputIsInput,
    /// Seeded URLs whose host keys the directory does not own.
    #[error("{count} seeded url(s) fall outside the directory's host-key range [{lo:#018x}, {hi:#018x}] (the first has host key {first:#018x}); nothing was written")]
    SeedOutsideRange {
        /// URLs outside.
        count: u64,
        /// The first one's host key.
        first: u64,
        /// The owned range.
        lo: u64,
        /// The owned range.
        hi: u64,
    },
    /// The input held no usable URL.
    #[error("no urls read ({skipped} lines skipped)")]
    NoUrls {
        /// Lines skipped.
        skipped: u64,
    },
    /// Two catalogue entries own the same keys.
    #[error("{first} and {second} both own host keys [0x{lo:016x}, 0x{hi:016x}]; a manifest may not overlap ({count} overlap(s) in all)")]
    ManifestOverlap {
        /// The first entry, as `partition N (file)`.
        first: String,
        /// The second entry.
        second: String,
        /// First shared key.
        lo: u64,
        /// Last shared key.
        hi: u64,
        /// Overlaps in all.
        count: usize,
    },
    /// A catalogue entry whose range ends before it starts.
    #[error("{entry} has an inverted range")]
    ManifestInverted {
        /// The entry, as `partition N (file)`.
        entry: String,
    },
    /// `--require-tiling` and keys nobody owns.
    #[error("host keys [0x{lo:016x}, 0x{hi:016x}] have no owner ({count} gap(s)); --require-tiling refuses gaps")]
    ManifestGap {
        /// First unowned key.
        lo: u64,
        /// Last unowned key.
        hi: u64,
        /// Gaps in all.
        count: usize,
    },
    /// An input whose header range ends before it starts.
    #[error("{file}: inverted host-key range {lo:#018x}..{hi:#018x}")]
    InputInverted {
        /// The input.
        file: String,
        /// Its range.
        lo: u64,
        /// Its range.
        hi: u64,
    },
    /// Two inputs own the same keys.
    #[error("{first} ({:#018x}..{:#018x}) and {second} ({:#018x}..{:#018x}) overlap on host keys [{:#018x}, {:#018x}]; inputs must own disjoint ranges", first_range.0, first_range.1, second_range.0, second_range.1, second_range.0, first_range.1.min(second_range.1))]
    InputsOverlap {
        /// The input with the lower range.
        first: String,
        /// Its range.
        first_range: (u64, u64),
        /// The other.
        second: String,
        /// Its range.
        second_range: (u64, u64),
    },
    /// Keys between two inputs that neither owns, and gaps were not allowed.
    #[error("{first} ends at {:#018x} and {second} starts at {:#018x}: host keys [{:#018x}, {:#018x}] belong to neither; the output would claim them (--allow-gaps accepts that)", gap.0 - 1, gap.1 + 1, gap.0, gap.1)]
    InputsGap {
        /// The input before the gap.
        first: String,
        /// The input after it.
        second: String,
        /// The keys neither owns.
        gap: (u64, u64),
    },
}

/// Result of an operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A step a long operation has reached, for a progress display or a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// `seed` has read and parsed this many input lines so far.
    Reading {
        /// Lines so far.
        lines: u64,
    },
    /// `seed` is merging its sorted runs into the arena and the tables.
    Merging {
        /// Sorted runs written while reading.
        runs: u64,
        /// URL rows laid out so far.
        urls: u64,
    },
    /// `seed` has read every line and is encoding the file.
    Encoding {
        /// Lines read.
        lines: u64,
    },
    /// `load` has put this many URL rows so far.
    Loading {
        /// URL rows so far.
        urls: u64,
    },
    /// The operation is done; a display may clear its line.
    Done,
}

/// How a long operation reports while it runs. The CLI draws steps on a terminal and prints
/// notes to stderr; a server would log them. Both methods default to doing nothing.
pub trait Progress {
    /// The operation reached `step`. Called often (per input block): throttle in here.
    fn step(&mut self, op: Op, step: Step) {
        let _ = (op, step);
    }
    /// Something the user should hear about that is not a failure (an interrupted earlier
    /// run undone, say).
    fn note(&mut self, op: Op, line: &str) {
        let _ = (op, line);
    }
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// Opens `path` as a byte source for `op`.
fn open_source(op: Op, path: &Path) -> Result<FileSource> {
    FileSource::open(path).map_err(|e| Error::io(op, path, IoAction::Open, e))
}

/// Serializes a path as the text the CLI shows for it (lossy for non-UTF-8 names, rather than
/// failing the whole report).
fn display_path<S: serde::Serializer>(p: &Path, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&p.display())
}

/// Whether the first bytes are a manifest's magic.
pub fn looks_like_manifest(head: &[u8]) -> bool {
    head.starts_with(&meguri_core::manifest::MANIFEST_MAGIC)
}

/// `partition N (file)`, how messages name a manifest entry.
fn entry_name(e: &meguri_core::manifest::Entry) -> String {
    format!("partition {} ({})", e.partition_id, e.file_ref_str())
}

#[cfg(test)]
pub(crate) mod testing {
    //! Files for the operations' own tests, made with our writer (the generator is
    //! `meguri_tests`', shared with the integration tests).

    pub use meguri_tests::{
        first_page_crc_at, small_partition as partition, write_partition, Scratch,
    };
    use std::path::PathBuf;

    /// Two files whose ranges tile the key space.
    pub const TILING: &[(&str, u32, u64, u64, u64)] = &[
        ("a.meguri", 1, 0, 999, 2),
        ("b.meguri", 2, 1000, u64::MAX, 2),
    ];

    /// A scratch directory holding one partition file per `(name, id, lo, hi, hosts)`.
    pub fn files(tag: &str, specs: &[(&str, u32, u64, u64, u64)]) -> (Scratch, Vec<PathBuf>) {
        let dir = Scratch::new(&format!("ops-{tag}"));
        let paths = specs
            .iter()
            .map(|&(name, id, lo, hi, hosts)| {
                write_partition(&dir.0, name, &partition(id, lo, hi, hosts))
            })
            .collect();
        (dir, paths)
    }
}
