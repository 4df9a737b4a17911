//! The `meguri` command line: parse arguments, run an operation, render its report as text or
//! `--json`, and turn the outcome into an exit status (0 ok; 1 a failure, or a negative answer
//! such as ranges that do not tile; 2 a usage error).
//!
//! Every command is an operation ([`crate::ops`]) rendered here, except the hidden `serve`
//! stand-in, which still writes its own output (it becomes the URLFrontier server).

pub mod args;
pub mod clock;
pub mod hostkey;
pub mod terminal;

pub use args::EncodeArgs;

use crate::ops::{self, Error, IoAction, Op};
use crate::CmdError;
use args::{
    BenchArgs, BuildArgs, CompactArgs, InspectArgs, LoadArgs, MapArgs, PackArgs, RunArgs,
    ScheduleArgs, SeedArgs, SplitArgs, StatsArgs, VerifyArgs, WebArgs,
};
use clap::{Parser, Subcommand};
use serde::Serialize;
use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use terminal::Terminal;

/// meguri: crawl-frontier partition files (.meguri) and fleet manifests.
#[derive(Parser)]
#[command(name = "meguri", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a partition file's header and footer facts (reads only the header and the tail).
    Inspect(InspectArgs),
    /// Build a partition file from Common Crawl CDX JSONL (plain or zstd-compressed).
    ///
    /// Lines that are not JSON objects with string `url`/`host` members, or have no URL or
    /// host, are skipped and counted; repeated URLs are ignored. The output is written to a
    /// temporary file, synced and renamed into place.
    Seed(SeedArgs),
    /// The footer summary of a partition file, or the live counters of a partition
    /// directory (snapshot plus log, read-only).
    Stats(StatsArgs),
    /// The URLs of a file due at or before an hour (through its schedule wheel when it has
    /// one, otherwise a page-pruned scan of next_due).
    Schedule(ScheduleArgs),
    /// A manifest's partition map and tiling check; with --host, the owner of one host key.
    ///
    /// Exit status 1 when the ranges do not tile (or the host has no owner).
    Map(MapArgs),
    /// Merge partitions with disjoint header ranges into one (streaming, crash-safe).
    ///
    /// The output's range is the union of the inputs'; its arena, schedule region and seen-set
    /// are rebuilt. With --gc, Gone tombstones older than --gc-horizon are dropped. Inputs are
    /// never modified; an interrupted run is undone by the next run in the same directory.
    Compact(CompactArgs),
    /// Write a partition directory's live state (snapshot plus log) as one .meguri file,
    /// without changing the directory.
    Pack(PackArgs),
    /// Put every row of partition files into a partition directory through its log (under
    /// --durability, with --resident-budget), optionally checkpointing after.
    Load(LoadArgs),
    /// Split a partition at host keys (or into N balanced parts) whose ranges tile the input's.
    ///
    /// Inputs are never modified; outputs appear all together or not at all.
    Split(SplitArgs),
    /// Drain a partition (a .meguri file, or CDX seeded into a fresh one) with the offline
    /// fetcher, in priority-then-politeness order, and write the result.
    ///
    /// The clock is logical unless --wall: politeness waits take no time, and the rows depend
    /// only on the input and --now.
    Run(RunArgs),
    /// Measure a partition built from CDX (bytes/url, seen-set bits/url and fp rate, the
    /// engine's selection rate), project it to a fleet, and set it against the walls this
    /// machine's disk measures (fsync floor, read bandwidth).
    Bench(BenchArgs),
    /// Manifest operations.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Check files and manifests completely and report every problem with its byte offset.
    ///
    /// Exit status: 0 when no file has an error (warnings allowed), 1 when any has, 2 for usage
    /// errors.
    Verify(VerifyArgs),
    /// Serve the browser inspector (embedded in this binary) to look at files in a browser.
    ///
    /// Dropped files are read by the page in the browser; nothing is uploaded.
    Web(WebArgs),
    /// A URLFrontier client and load generator: put URLs, crawl (get and acknowledge),
    /// stats, against `meguri serve` or any URLFrontier 2.6 server.
    Frontier(FrontierArgs),
    /// URLFrontier 2.6 gRPC server over a data root of partition directories; with --offline,
    /// one drain of a partition directory with the offline fetcher.
    ///
    /// Each crawl id keeps its URLs, queues, delays, blocks, limits and leases in a partition
    /// directory under DIR/crawls/; acks are durable as --durability promises. SIGINT or
    /// SIGTERM drains calls, checkpoints every crawl and exits 0.
    ///
    /// --offline opens DIR as one partition directory (created if absent), seeds it from
    /// --seed, fetches every due URL with the offline fetcher (--now fixes the hour stamped
    /// into crawled rows), writes the changed rows through its log, reports --manifest's
    /// routing, and checkpoints.
    Serve(Box<crate::serve::ServeArgs>),
}

#[derive(Subcommand)]
enum ManifestCommand {
    /// Build a manifest from partition files (reads each file's header and footer only).
    ///
    /// Overlapping ranges are refused; gaps are reported (refused with --require-tiling).
    Build(BuildArgs),
}

#[derive(clap::Args)]
struct FrontierArgs {
    /// The server: host:port or http://host:port.
    #[arg(long, default_value = "127.0.0.1:7071", global = true)]
    connect: String,
    /// File holding the bearer token the server asks for.
    #[arg(long, global = true)]
    token_file: Option<PathBuf>,
    /// The crawl (URLFrontier crawl ID; empty: the default crawl).
    #[arg(long, default_value = "", global = true)]
    crawl: String,
    /// Print the report as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    job: FrontierJob,
}

#[derive(Subcommand)]
enum FrontierJob {
    /// Send URLs as discovered items (CDX JSONL or one URL a line; zstd or plain).
    Put {
        /// The URLs.
        #[arg(short = 'i', long = "input")]
        input: PathBuf,
        /// Send at most this many URLs (0: all).
        #[arg(long, default_value_t = 0)]
        limit: usize,
        /// Concurrent streams.
        #[arg(long, default_value_t = 1)]
        streams: usize,
        /// 0: PutURLs, one item per URL; n: PutDiscovered batches of n URLs.
        #[arg(long, default_value_t = 0)]
        batch: usize,
        /// Share of the items that repeat an earlier URL (0 to 0.99).
        #[arg(long, default_value_t = 0.0)]
        duplicates: f64,
    },
    /// Get URLs and acknowledge each as handled, as a crawler does.
    Crawl {
        /// Queues per GetURLs call (0: no limit).
        #[arg(long, default_value_t = 100)]
        max_queues: u32,
        /// URLs per queue per call (0: no limit).
        #[arg(long, default_value_t = 3)]
        per_queue: u32,
        /// Lease in seconds (0: the server's default).
        #[arg(long, default_value_t = 0)]
        lease: u32,
        /// Stop after this many URLs (0: when the frontier has nothing more to give).
        #[arg(long, default_value_t = 0)]
        limit: u64,
        /// Acknowledge URLs as due again after this many seconds (0: completed).
        #[arg(long, default_value_t = 0)]
        refetch_after: u64,
        /// Stop after this many GetURLs calls in a row hand out nothing.
        #[arg(long, default_value_t = 3)]
        idle_calls: u32,
        /// Concurrent pollers.
        #[arg(long, default_value_t = 1)]
        pollers: usize,
    },
    /// The crawl's statistics (GetStats).
    Stats,
}

fn frontier(a: &FrontierArgs, out: &mut dyn Write) -> Result<(), crate::client::ClientError> {
    use crate::client::{self, Connect};
    let token = match &a.token_file {
        Some(p) => Some(Connect::token_from(p)?),
        None => None,
    };
    let c = Connect {
        addr: a.connect.clone(),
        token,
        crawl: a.crawl.clone(),
    };
    let text = match &a.job {
        FrontierJob::Put {
            input,
            limit,
            streams,
            batch,
            duplicates,
        } => {
            let urls = client::read_urls(input, *limit)?;
            let r = client::put(
                &c,
                &client::PutOptions {
                    urls,
                    streams: *streams,
                    batch: *batch,
                    duplicates: duplicates.clamp(0.0, 0.99),
                },
            )?;
            if a.json {
                json(&r)
            } else {
                r.to_string()
            }
        }
        FrontierJob::Crawl {
            max_queues,
            per_queue,
            lease,
            limit,
            refetch_after,
            idle_calls,
            pollers,
        } => {
            let r = client::crawl(
                &c,
                &client::CrawlOptions {
                    max_queues: *max_queues,
                    per_queue: *per_queue,
                    lease: *lease,
                    limit: *limit,
                    refetch_after: *refetch_after,
                    idle_calls: (*idle_calls).max(1),
                    pollers: *pollers,
                },
            )?;
            if a.json {
                json(&r)
            } else {
                r.to_string()
            }
        }
        FrontierJob::Stats => {
            let r = client::stats(&c)?;
            if a.json {
                json(&r)
            } else {
                r.to_string()
            }
        }
    };
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|source| client::ClientError::Input {
            path: PathBuf::from("<stdout>"),
            source,
        })
}

/// Why a command did not succeed: an operation's error, a failure of the `serve` stand-in, or
/// the frontier client's.
enum Failure {
    Op(Box<Error>),
    /// The `serve` stand-in's error; goes away when the server lands on the operations layer.
    Cmd(CmdError),
    /// `meguri frontier`'s failures (the server, the network, the URL list).
    Client(Box<crate::client::ClientError>),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Op(Box::new(e))
    }
}

impl From<CmdError> for Failure {
    fn from(e: CmdError) -> Self {
        Failure::Cmd(e)
    }
}

/// Whether the command's answer was yes (exit 0) or no (exit 1: ranges that do not tile, a
/// key with no owner, a file with errors).
type Answer = bool;

/// Parses the process's arguments, runs the command, prints, and says how to exit.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = run(cli.command, &mut out);
    let _ = out.flush();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(Failure::Op(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
        Err(Failure::Client(e)) => {
            eprintln!("error: frontier: {e}");
            ExitCode::from(1)
        }
        Err(Failure::Cmd(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code.clamp(1, 255) as u8)
        }
    }
}

/// Has glibc's malloc serve every block of 128 KiB or more from a mapping of its own, returned
/// to the system when freed. By default the threshold rises to the largest such block freed (up
/// to 32 MiB), and later blocks under it come from the heap, whose pages may stay resident once
/// freed; a batch job that frees large buffers phase after phase (`run`: decoded pages, the
/// frontier, the compressor's tables) then peaks higher. On `run -i full.meguri -o OUT`, peak
/// RSS 225 -> 220 MB (2026-12-02, three interleaved pairs), the time within the noise.
fn fixed_mmap_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a malloc setting; it is called before the job's threads start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
}

fn run(command: Command, out: &mut dyn Write) -> Result<Answer, Failure> {
    let mut progress = Terminal::stderr();
    match command {
        Command::Inspect(a) => {
            let r = ops::inspect(&a.options())?;
            emit(out, Op::Inspect, &a.file, &r, a.json)?;
        }
        Command::Stats(a) if a.data.is_dir() => {
            let r = ops::live_stats(
                &ops::LiveStatsOptions {
                    dir: a.data.clone(),
                    now: clock::hour_now(),
                },
                &mut progress,
            )?;
            emit(out, Op::Stats, &a.data, &r, a.json)?;
        }
        Command::Stats(a) => {
            let r = ops::stats(&ops::StatsOptions {
                path: a.data.clone(),
            })?;
            emit(out, Op::Stats, &a.data, &r, a.json)?;
        }
        Command::Schedule(a) => {
            let o = a.options()?;
            if o.path.is_dir() {
                let r = ops::live_schedule(
                    &ops::LiveScheduleOptions {
                        dir: o.path.clone(),
                        before: o.before,
                        host: o.host,
                        limit: o.limit,
                    },
                    &mut progress,
                )?;
                emit(out, Op::Schedule, &a.data, &r, a.json)?;
            } else {
                let r = ops::schedule(&o)?;
                emit(out, Op::Schedule, &a.data, &r, a.json)?;
            }
        }
        Command::Map(a) => {
            let Some(h) = a.host.as_deref() else {
                let r = ops::map(&ops::MapOptions {
                    manifest: a.manifest.clone(),
                })?;
                emit(out, Op::Map, &a.manifest, &r, a.json)?;
                return Ok(r.tiles());
            };
            let r = ops::route(&ops::RouteOptions {
                manifest: a.manifest.clone(),
                host_key: hostkey::host_key(Op::Map, h)?,
            })?;
            emit(out, Op::Map, &a.manifest, &r, a.json)?;
            return Ok(r.owner().is_some());
        }
        Command::Verify(a) => {
            let r = ops::verify(&ops::VerifyOptions {
                paths: a.files.clone(),
            });
            let text = if a.json { json(&r) } else { r.render(a.quiet) };
            write(out, Op::Verify, Path::new("<stdout>"), &text)?;
            return Ok(r.ok());
        }
        Command::Manifest(ManifestCommand::Build(a)) => {
            let r = ops::build_manifest(&a.options())?;
            emit(out, Op::ManifestBuild, &a.out, &r, a.json)?;
        }
        Command::Seed(a) => {
            let (input, opts) = a.options();
            let r = ops::seed(input, &opts, &mut progress)?;
            emit(out, Op::Seed, &a.out, &r, a.json)?;
        }
        Command::Compact(a) => {
            let r = ops::compact(&a.options(), &mut progress)?;
            let subject = r.output.path.clone();
            emit(out, Op::Compact, &subject, &r, a.json)?;
        }
        Command::Run(a) => {
            fixed_mmap_threshold();
            let (input, opts) = a.options();
            let r = ops::run(input, &opts, &mut progress)?;
            emit(out, Op::Run, Path::new("<stdout>"), &r, a.json)?;
        }
        Command::Bench(a) => {
            let (input, opts) = a.options();
            let r = ops::bench(input, &opts, &mut progress)?;
            emit(out, Op::Bench, Path::new("<stdout>"), &r, a.json)?;
        }
        Command::Split(a) => {
            let r = ops::split(&a.options(), &mut progress)?;
            emit(out, Op::Split, &a.out_dir, &r, a.json)?;
        }
        Command::Pack(a) => {
            let r = ops::pack(&a.options(), &mut progress)?;
            emit(out, Op::Pack, &a.data, &r, a.json)?;
        }
        Command::Load(a) => {
            let r = ops::load(&a.options(), &mut progress)?;
            emit(out, Op::Load, &a.data, &r, a.json)?;
        }
        Command::Web(a) => {
            let opts = ops::WebOptions {
                listen: a.listen.clone(),
                require_wasm: !a.without_wasm,
            };
            ops::web(&opts, crate::serve::stop_signal(), &mut |ready| {
                emit(out, Op::Web, Path::new("<stdout>"), ready, a.json)?;
                out.flush()
                    .map_err(|e| Error::io(Op::Web, Path::new("<stdout>"), IoAction::Write, e))
            })?;
        }
        Command::Serve(a) if a.offline => {
            let (seed, opts) = a.offline_options();
            let r = ops::serve_offline(seed, &opts, &mut progress)?;
            emit(out, Op::Serve, Path::new("<stdout>"), &r, a.json)?;
        }
        Command::Serve(a) => crate::serve::run(&a, out)?,
        Command::Frontier(a) => frontier(&a, out).map_err(|e| Failure::Client(Box::new(e)))?,
    }
    Ok(true)
}

/// A report as pretty JSON, with a final newline.
fn json(report: &impl Serialize) -> String {
    // A report is plain data with string keys: serializing it cannot fail.
    serde_json::to_string_pretty(report).expect("a report serializes") + "\n"
}

/// Writes a report as text or JSON. A write that fails (a closed pipe) is `op`'s error on
/// `subject`, as it always was.
fn emit<R: Serialize + Display>(
    out: &mut dyn Write,
    op: Op,
    subject: &Path,
    report: &R,
    as_json: bool,
) -> ops::Result<()> {
    let text = if as_json {
        json(report)
    } else {
        report.to_string()
    };
    write(out, op, subject, &text)
}

fn write(out: &mut dyn Write, op: Op, subject: &Path, text: &str) -> ops::Result<()> {
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io(op, subject, IoAction::Write, e))
}
