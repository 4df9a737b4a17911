//! The `meguri` command.

use clap::{Parser, Subcommand};
use meguri::cmd::{
    compact, inspect, live, load, manifest, map, schedule, seed, split, stats, verify, web,
};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// meguri: crawl-frontier partition files (.meguri) and fleet manifests.
#[derive(Parser)]
#[command(name = "meguri", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a partition file's header and footer facts (reads only the header and the tail).
    Inspect {
        /// The .meguri file.
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Also list every column: bytes, bytes per URL, pages and page encodings.
        #[arg(long)]
        columns: bool,
    },
    /// Build a partition file from Common Crawl CDX JSONL (plain or zstd-compressed).
    ///
    /// Lines that are not JSON objects with string `url`/`host` members, or have no URL or
    /// host, are skipped and counted; repeated URLs are ignored. The output is written to a
    /// temporary file, synced and renamed into place.
    Seed(seed::SeedArgs),
    /// The footer summary of a partition file, or the live counters of a partition
    /// directory (snapshot plus log, read-only).
    Stats {
        /// The .meguri file or partition directory.
        #[arg(long)]
        data: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The URLs of a file due at or before an hour (through its schedule wheel when it has
    /// one, otherwise a page-pruned scan of next_due).
    Schedule(schedule::ScheduleArgs),
    /// A manifest's partition map and tiling check; with --host, the owner of one host key.
    ///
    /// Exit status 1 when the ranges do not tile (or the host has no owner).
    Map {
        /// The meguri.manifest catalog.
        #[arg(long)]
        manifest: PathBuf,
        /// Route this host key (0x-prefixed hex or decimal).
        #[arg(long)]
        host: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Merge partitions with disjoint header ranges into one (streaming, crash-safe).
    ///
    /// The output's range is the union of the inputs'; its arena, schedule region and seen-set
    /// are rebuilt. With --gc, Gone tombstones older than --gc-horizon are dropped. Inputs are
    /// never modified; an interrupted run is undone by the next run in the same directory.
    Compact(compact::CompactArgs),
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
    Verify {
        /// .meguri files and manifests (told apart by their magic).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Say nothing about files without findings.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Serve the browser inspector (embedded in this binary) to look at files in a browser.
    ///
    /// Dropped files are read by the page in the browser; nothing is uploaded.
    Web {
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = web::DEFAULT_LISTEN)]
        listen: String,
        /// Serve even though this binary lacks the inspector's wasm (the page then cannot
        /// work); for tests of the HTTP server.
        #[arg(long, hide = true)]
        without_wasm: bool,
    },
    /// URLFrontier gRPC server: for now the transport alone around a stand-in service.
    #[command(hide = true)]
    Serve(meguri::serve::TransportArgs),
}

#[derive(Subcommand)]
enum ManifestCommand {
    /// Build a manifest from partition files (reads each file's header and footer only).
    ///
    /// Overlapping ranges are refused; gaps are reported (refused with --require-tiling).
    Build(manifest::BuildArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match cli.command {
        Command::Inspect {
            file,
            json,
            columns,
        } => inspect::run(&file, &inspect::InspectArgs { json, columns }, &mut out).map(|_| true),
        Command::Seed(args) => seed::run(&args, &mut out).map(|_| true),
        Command::Compact(args) => compact::run(&args, &mut out).map(|_| true),
        Command::Pack(args) => live::pack(&args, &mut out).map(|_| true),
        Command::Load(args) => load::run(&args, &mut out).map(|_| true),
        Command::Split(args) => split::run(&args, &mut out).map(|_| true),
        Command::Stats { data, json } => stats::run(&data, json, &mut out).map(|_| true),
        Command::Schedule(args) => schedule::run(&args, &mut out).map(|_| true),
        Command::Map {
            manifest,
            host,
            json,
        } => map::run(&manifest, host.as_deref(), json, &mut out),
        Command::Manifest(ManifestCommand::Build(args)) => {
            manifest::build(&args, &mut out).map(|_| true)
        }
        Command::Verify { files, json, quiet } => {
            verify::run(&files, &verify::VerifyArgs { json, quiet }, &mut out)
        }
        Command::Web {
            listen,
            without_wasm,
        } => web::run(&listen, !without_wasm, &mut out).map(|_| true),
        Command::Serve(args) => meguri::serve::run_placeholder(&args, &mut out).map(|_| true),
    };
    let _ = out.flush();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code.clamp(1, 255) as u8)
        }
    }
}
