//! The `meguri` command line: parse arguments, run an operation, render its report as text or
//! `--json`, and turn the outcome into an exit status (0 ok; 1 a failure, or a negative answer
//! such as ranges that do not tile; 2 a usage error).
//!
//! Commands that are on the operations layer ([`crate::ops`]) only render here. `split`,
//! `pack`, `load`, `web` and the directory forms of `stats` and `schedule` still live in
//! [`crate::cmd`] and write their own output; they are dispatched to as they are.

pub mod args;
pub mod clock;
pub mod hostkey;
pub mod terminal;

pub use args::EncodeArgs;

use crate::cmd::{live, load, split, web};
use crate::ops::{self, Error, IoAction, Op};
use crate::CmdError;
use args::{
    BuildArgs, CompactArgs, InspectArgs, MapArgs, ScheduleArgs, SeedArgs, StatsArgs, VerifyArgs,
    WebArgs,
};
use clap::{Parser, Subcommand};
use serde::Serialize;
use std::fmt::Display;
use std::io::Write;
use std::path::Path;
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
    Pack(live::PackArgs),
    /// Put every row of partition files into a partition directory through its log (under
    /// --durability, with --resident-budget), optionally checkpointing after.
    Load(load::LoadArgs),
    /// Split a partition at host keys (or into N balanced parts) whose ranges tile the input's.
    ///
    /// Inputs are never modified; outputs appear all together or not at all.
    Split(split::SplitArgs),
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
    /// URLFrontier 2.6 gRPC server over a data root of partition directories.
    ///
    /// Each crawl id keeps its URLs, queues, delays, blocks, limits and leases in a partition
    /// directory under DIR/crawls/; acks are durable as --durability promises. SIGINT or
    /// SIGTERM drains calls, checkpoints every crawl and exits 0.
    Serve(crate::serve::ServeArgs),
}

#[derive(Subcommand)]
enum ManifestCommand {
    /// Build a manifest from partition files (reads each file's header and footer only).
    ///
    /// Overlapping ranges are refused; gaps are reported (refused with --require-tiling).
    Build(BuildArgs),
}

/// Why a command did not succeed: an operation's error, or a failure of a command not yet on
/// the operations layer.
enum Failure {
    Op(Error),
    /// Compatibility with `cmd::{split, live, load, web}`; goes away as they convert.
    Cmd(CmdError),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Op(e)
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
        Err(Failure::Cmd(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code.clamp(1, 255) as u8)
        }
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
            live::stats(&a.data, clock::hour_now(), a.json, out)?;
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
                live::schedule(&o.path, o.before, o.host, o.limit, a.json, out)?;
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
        Command::Split(a) => split::run(&a, out)?,
        Command::Pack(a) => live::pack(&a, out)?,
        Command::Load(a) => load::run(&a, out)?,
        Command::Web(a) => web::run(&a.listen, !a.without_wasm, out)?,
        Command::Serve(a) => crate::serve::run(&a, out)?,
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
