//! `meguri compact FILE... [--out OUT] [--gc [--gc-horizon H] [--now HOUR]]`: merges partitions
//! whose header ranges are disjoint into one, optionally dropping Gone tombstones past their
//! re-probe horizon. Streaming and crash-safe: see [`crate::reshape`] and [`crate::intent`].

use crate::arena_zip::{ArenaZip, ARENA_LEVEL, ARENA_PARAMS};
use crate::reshape::{job, Gc, Input, Outcome, OutputPlan, Segment, Settings};
use crate::{CmdError, CmdResult};
use meguri_core::Table;
use std::io::Write;
use std::path::{Path, PathBuf};

/// 90 days, the default re-probe horizon of Gone rows.
pub const DEFAULT_GC_HORIZON: u32 = 90 * 24;

/// Options shared by `compact` and `split` for how outputs are encoded.
#[derive(Debug, Clone, clap::Args)]
pub struct EncodeArgs {
    /// zstd level of column pages.
    #[arg(long, default_value_t = 3)]
    pub level: i32,
    /// zstd level of the string arena.
    #[arg(long, default_value_t = ARENA_LEVEL)]
    pub arena_level: i32,
    /// Rows per column page.
    #[arg(long, default_value_t = 16_384, value_parser = clap::value_parser!(u32).range(1..))]
    pub page_rows: u32,
}

impl EncodeArgs {
    /// The reshape settings these options give.
    pub fn settings(&self, gc: Option<Gc>) -> Settings {
        Settings {
            page_rows: self.page_rows as usize,
            level: self.level,
            arena: ArenaZip {
                level: self.arena_level,
                params: ARENA_PARAMS,
            },
            gc,
        }
    }
}

/// Options of `compact`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompactArgs {
    /// Partition files whose header host-key ranges are disjoint (any order).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The output file (default: compact.meguri beside the first input). It must not exist.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Drop Gone tombstones older than --gc-horizon.
    #[arg(long)]
    pub gc: bool,
    /// Hours a Gone row is kept after its last crawl, so a just-Gone URL is not rediscovered
    /// at once. A Gone row never crawled (last_crawled 0) has no age and is dropped. 0 drops
    /// every Gone row (what the reference's --gc does).
    #[arg(long, default_value_t = DEFAULT_GC_HORIZON, requires = "gc")]
    pub gc_horizon: u32,
    /// The current time in epoch-hours for --gc (default: the system clock).
    #[arg(long, requires = "gc")]
    pub now: Option<u32>,
    /// Partition id of the output (default: the lowest-range input's).
    #[arg(long)]
    pub id: Option<u32>,
    /// Accept inputs whose ranges leave gaps between them; the output then owns the gaps.
    #[arg(long)]
    pub allow_gaps: bool,
    /// Print JSON instead of the summary line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub encode: EncodeArgs,
}

/// The current epoch-hour from the system clock.
pub fn hour_now() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(secs / 3600).unwrap_or(u32::MAX)
}

fn err(msg: impl std::fmt::Display) -> CmdError {
    CmdError::new(format!("compact: {msg}"))
}

/// Opens every input and orders them by range; refuses overlaps (naming both files and the
/// shared range) and, unless allowed, gaps.
pub fn open_ordered(files: &[PathBuf], allow_gaps: bool) -> Result<Vec<Input>, String> {
    let mut inputs = files
        .iter()
        .map(|p| Input::open(p))
        .collect::<Result<Vec<_>, _>>()?;
    inputs.sort_by_key(|i| i.range());
    for i in &inputs {
        let (lo, hi) = i.range();
        if lo > hi {
            return Err(format!(
                "{}: inverted host-key range {lo:#018x}..{hi:#018x}",
                i.name()
            ));
        }
    }
    for w in inputs.windows(2) {
        let ((alo, ahi), (blo, bhi)) = (w[0].range(), w[1].range());
        if blo <= ahi {
            return Err(format!(
                "{} ({alo:#018x}..{ahi:#018x}) and {} ({blo:#018x}..{bhi:#018x}) overlap on host \
                 keys [{blo:#018x}, {:#018x}]; inputs must own disjoint ranges",
                w[0].name(),
                w[1].name(),
                ahi.min(bhi)
            ));
        }
        if !allow_gaps && ahi.checked_add(1) != Some(blo) {
            return Err(format!(
                "{} ends at {ahi:#018x} and {} starts at {blo:#018x}: host keys [{:#018x}, \
                 {:#018x}] belong to neither; the output would claim them (--allow-gaps accepts \
                 that)",
                w[0].name(),
                w[1].name(),
                ahi + 1,
                blo - 1
            ));
        }
    }
    Ok(inputs)
}

/// The plan of a compaction: every input whole, in range order.
pub fn plan(inputs: &[Input], id: Option<u32>) -> OutputPlan {
    let first = &inputs[0].reader;
    let has = |region: u8| {
        inputs
            .iter()
            .any(|i| i.reader.footer().region(region).is_some())
    };
    OutputPlan {
        id: id.unwrap_or(first.header().partition_id),
        range: (inputs[0].range().0, inputs[inputs.len() - 1].range().1),
        created_hours: first.header().created_hours,
        meta: first.meta().map(<[_]>::to_vec).unwrap_or_default(),
        segments: inputs
            .iter()
            .enumerate()
            .map(|(n, i)| Segment {
                input: n,
                urls: 0..i.reader.rows(Table::Url),
                hosts: 0..i.reader.rows(Table::Host),
            })
            .collect(),
        schedule: has(meguri_core::format::REGION_SCHEDULE),
        seen: has(meguri_core::format::REGION_SEENSET),
    }
}

/// The reference's summary line.
pub fn summary(files: usize, out: &Path, o: &Outcome, gc: bool) -> String {
    if gc {
        format!(
            "compacted {files} file(s) -> {}: {} urls ({} Gone dropped), {} bytes\n",
            out.display(),
            o.urls,
            o.gone_dropped,
            o.bytes
        )
    } else {
        format!(
            "compacted {files} file(s) -> {}: {} urls, {} bytes (use --gc to drop Gone tombstones)\n",
            out.display(),
            o.urls,
            o.bytes
        )
    }
}

/// The JSON report of one written output.
pub fn outcome_json(path: &Path, plan: &OutputPlan, o: &Outcome) -> serde_json::Value {
    serde_json::json!({
        "path": path.display().to_string(),
        "id": plan.id,
        "hostkey_lo": format!("{:#018x}", plan.range.0),
        "hostkey_hi": format!("{:#018x}", plan.range.1),
        "urls": o.urls,
        "hosts": o.hosts,
        "gone_dropped": o.gone_dropped,
        "bytes": o.bytes,
        "file_bytes_per_url": if o.urls == 0 { 0.0 } else { o.bytes as f64 / o.urls as f64 },
        "arena_raw_bytes": o.arena_raw,
        "schedule_rebuilt": plan.schedule,
        "seen_set_rebuilt": plan.seen,
        "arena_reads": o.arena_access.iter().map(|(i, a)| match a {
            crate::reshape::arena_in::Access::Streamed(n) => serde_json::json!({"input": i, "cursors": n}),
            crate::reshape::arena_in::Access::Whole => serde_json::json!({"input": i, "whole": true}),
        }).collect::<Vec<_>>(),
        "phase_seconds": {
            "walk": o.seconds.walk,
            "tables": o.seconds.tables,
            "arena_compress": o.seconds.arena,
            "finish": o.seconds.finish,
        },
    })
}

/// Runs `compact`.
pub fn run(args: &CompactArgs, out: &mut dyn Write) -> CmdResult {
    let started = std::time::Instant::now();
    let out_path = args
        .out
        .clone()
        .unwrap_or_else(|| job::dir_of(&args.files[0]).join("compact.meguri"));
    job::recover(&job::dir_of(&out_path), &mut |line| {
        eprintln!("compact: {line}")
    })
    .map_err(err)?;
    let inputs = open_ordered(&args.files, args.allow_gaps).map_err(err)?;
    let gc = args.gc.then(|| Gc {
        horizon_hours: args.gc_horizon,
        now: args.now.unwrap_or_else(hour_now),
    });
    let plan = plan(&inputs, args.id);
    let settings = args.encode.settings(gc);
    let plans = vec![(plan, out_path.clone())];
    let outcomes = job::run("compact", &inputs, &plans, &settings, &mut |line| {
        eprintln!("compact: {line}")
    })
    .map_err(err)?;
    let o = &outcomes[0];
    let text = if args.json {
        let mut v = outcome_json(&out_path, &plans[0].0, o);
        v["inputs"] = inputs.iter().map(|i| i.name()).collect();
        v["gc"] = match gc {
            Some(g) => serde_json::json!({"horizon_hours": g.horizon_hours, "now": g.now}),
            None => serde_json::Value::Null,
        };
        v["seconds"] = started.elapsed().as_secs_f64().into();
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        summary(inputs.len(), &out_path, o, args.gc)
    };
    out.write_all(text.as_bytes()).map_err(err)
}
