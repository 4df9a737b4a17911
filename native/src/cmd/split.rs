//! `meguri split FILE (--at KEY... | --into N) --out-dir DIR`: the reverse of compact. Each
//! output owns an exact sub-range of the input's range, so the outputs tile it; `--into` picks
//! cut points at host boundaries that balance URL counts (a host is never split).

use super::compact::{outcome_json, EncodeArgs};
use super::parse_host_key;
use crate::atomic::write_atomic;
use crate::reshape::columns::ColumnStream;
use crate::reshape::{job, Input, OutputPlan, Segment};
use crate::{CmdError, CmdResult};
use meguri_core::manifest::{Entry, Manifest};
use meguri_core::schema::{host_key_column, url};
use meguri_core::Table;
use std::io::Write;
use std::path::PathBuf;

/// Options of `split`.
#[derive(Debug, Clone, clap::Args)]
pub struct SplitArgs {
    /// The partition file to split (it is not modified).
    pub file: PathBuf,
    /// Cut at these host keys (0x-hex or decimal): each starts an output's range.
    #[arg(long, num_args = 1.., value_parser = parse_host_key, required_unless_present = "into", conflicts_with = "into")]
    pub at: Vec<u64>,
    /// Cut into N outputs of about equal URL counts, at host boundaries.
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..))]
    pub into: Option<u32>,
    /// Directory for the outputs, named <stem>-<i>.meguri.
    #[arg(long)]
    pub out_dir: PathBuf,
    /// Id of the first output; the others count up from it (default: the input's id).
    #[arg(long)]
    pub first_id: Option<u32>,
    /// Also write a manifest of the outputs here.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Epoch of the manifest's entries.
    #[arg(long, default_value_t = 0, requires = "manifest")]
    pub epoch: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub encode: EncodeArgs,
}

fn err(msg: impl std::fmt::Display) -> CmdError {
    CmdError::new(format!("split: {msg}"))
}

/// For each cut key, the first row of `table` whose host key is at or above it (one streaming
/// pass over the host-key column).
fn cut_rows(input: &Input, table: Table, cuts: &[u64]) -> Result<Vec<u64>, String> {
    let ctx = |e: meguri_core::Error| format!("{}: {e}", input.name());
    let n = input.reader.rows(table);
    let mut s =
        ColumnStream::new(&input.reader, table, host_key_column(table), 0..n).map_err(ctx)?;
    let mut out = Vec::with_capacity(cuts.len());
    let mut row = 0u64;
    for &cut in cuts {
        while row < n && s.peek().map_err(ctx)? < cut {
            s.take().map_err(ctx)?;
            row += 1;
        }
        out.push(row);
    }
    Ok(out)
}

/// Cuts for `n` outputs of balanced URL counts, each at the start of a host's run of URLs (the
/// boundary nearest each ideal position): `(host key, first URL row)` pairs, so the URL rows
/// need no second pass.
fn balanced_cuts(input: &Input, n: u32) -> Result<Vec<(u64, u64)>, String> {
    let total = input.reader.rows(Table::Url);
    let mut s = ColumnStream::new(&input.reader, Table::Url, url::HOST_KEY, 0..total)
        .map_err(|e| format!("{}: {e}", input.name()))?;
    let mut cuts: Vec<(u64, u64)> = Vec::new();
    let last_key = |cuts: &[(u64, u64)]| cuts.last().map(|&(k, _)| k);
    let mut target_i = 1u64;
    let target = |i: u64| (i * total).div_ceil(u64::from(n));
    // The previous host boundary: (URLs before it, its host key).
    let mut prev: Option<(u64, u64)> = None;
    let mut run_key: Option<u64> = None;
    for row in 0..total {
        let k = s.take().map_err(|e| format!("{}: {e}", input.name()))?;
        if run_key == Some(k) {
            continue;
        }
        run_key = Some(k);
        // A boundary before `row`, at host key `k`.
        while target_i < u64::from(n) && row >= target(target_i) {
            let t = target(target_i);
            let pick = match prev {
                Some((p, pk)) if t - p < row - t && last_key(&cuts).is_none_or(|c| pk > c) => {
                    (pk, p)
                }
                _ => (k, row),
            };
            if last_key(&cuts) != Some(pick.0) && row > 0 {
                cuts.push(pick);
            }
            target_i += 1;
        }
        if row > 0 {
            prev = Some((row, k));
        }
    }
    // Targets past the last boundary: the last boundary is the nearest one left.
    while target_i < u64::from(n) {
        if let Some((p, pk)) = prev.filter(|&(_, pk)| last_key(&cuts).is_none_or(|c| pk > c)) {
            cuts.push((pk, p));
        }
        target_i += 1;
    }
    if cuts.len() + 1 < n as usize {
        return Err(format!(
            "{}: its URLs fall under too few hosts to cut into {n} parts at host boundaries",
            input.name()
        ));
    }
    Ok(cuts)
}

/// Runs `split`.
pub fn run(args: &SplitArgs, out: &mut dyn Write) -> CmdResult {
    let started = std::time::Instant::now();
    if args.out_dir.is_dir() {
        job::recover(&args.out_dir, &mut |line| eprintln!("split: {line}")).map_err(err)?;
    }
    let input = Input::open(&args.file).map_err(err)?;
    let (lo, hi) = input.range();
    let (cuts, balanced_rows) = match args.into {
        Some(n) => {
            let c = balanced_cuts(&input, n).map_err(err)?;
            (
                c.iter().map(|&(k, _)| k).collect(),
                Some(c.iter().map(|&(_, r)| r).collect()),
            )
        }
        None => (args.at.clone(), None),
    };
    for (i, &c) in cuts.iter().enumerate() {
        if c <= lo || c > hi {
            return Err(err(format!(
                "cut {c:#018x} is not inside {}'s range ({lo:#018x}, {hi:#018x}]",
                input.name()
            )));
        }
        if i > 0 && c <= cuts[i - 1] {
            return Err(err(format!(
                "cut keys must increase: {c:#018x} follows {:#018x}",
                cuts[i - 1]
            )));
        }
    }
    let url_cuts = match balanced_rows {
        Some(rows) => rows,
        None => cut_rows(&input, Table::Url, &cuts).map_err(err)?,
    };
    let host_cuts = cut_rows(&input, Table::Host, &cuts).map_err(err)?;
    let bound = |v: &[u64], i: usize, end: u64| {
        (
            if i == 0 { 0 } else { v[i - 1] },
            if i == v.len() { end } else { v[i] },
        )
    };
    let h = input.reader.header();
    let stem = args
        .file
        .file_stem()
        .map_or_else(|| "part".into(), |s| s.to_string_lossy().into_owned());
    let first_id = args.first_id.unwrap_or(h.partition_id);
    let has = |region: u8| input.reader.footer().region(region).is_some();
    let mut plans = Vec::new();
    for i in 0..=cuts.len() {
        let (ua, ub) = bound(&url_cuts, i, input.reader.rows(Table::Url));
        let (ha, hb) = bound(&host_cuts, i, input.reader.rows(Table::Host));
        let range = (
            if i == 0 { lo } else { cuts[i - 1] },
            if i == cuts.len() { hi } else { cuts[i] - 1 },
        );
        plans.push((
            OutputPlan {
                id: first_id.wrapping_add(i as u32),
                range,
                created_hours: h.created_hours,
                meta: input.reader.meta().map(<[_]>::to_vec).unwrap_or_default(),
                segments: vec![Segment {
                    input: 0,
                    urls: ua..ub,
                    hosts: ha..hb,
                }],
                schedule: has(meguri_core::format::REGION_SCHEDULE),
                seen: has(meguri_core::format::REGION_SEENSET),
            },
            args.out_dir.join(format!("{stem}-{i}.meguri")),
        ));
    }
    std::fs::create_dir_all(&args.out_dir)
        .map_err(|e| err(format!("{}: {e}", args.out_dir.display())))?;
    let inputs = [input];
    let settings = args.encode.settings(None);
    let outcomes = job::run("split", &inputs, &plans, &settings, &mut |line| {
        eprintln!("split: {line}")
    })
    .map_err(err)?;
    let mut manifest_bytes = None;
    if let Some(mpath) = &args.manifest {
        let mut m = Manifest::default();
        for (_, path) in &plans {
            let o = Input::open(path).map_err(err)?;
            let base = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            m.entries.push(Entry::of_file(
                o.reader.shape(),
                base.into_bytes(),
                args.epoch,
            ));
        }
        m.sort();
        let bytes = m.encode();
        write_atomic(mpath, &bytes).map_err(|e| err(format!("{}: {e}", mpath.display())))?;
        manifest_bytes = Some(bytes.len());
    }
    let text = if args.json {
        let v = serde_json::json!({
            "input": inputs[0].name(),
            "cuts": cuts.iter().map(|c| format!("{c:#018x}")).collect::<Vec<_>>(),
            "outputs": plans.iter().zip(&outcomes).map(|((p, path), o)| outcome_json(path, p, o)).collect::<Vec<_>>(),
            "manifest": args.manifest.as_ref().map(|m| m.display().to_string()),
            "manifest_bytes": manifest_bytes,
            "seconds": started.elapsed().as_secs_f64(),
        });
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        let mut s = format!(
            "split {} into {} file(s) in {}:\n",
            inputs[0].name(),
            plans.len(),
            args.out_dir.display()
        );
        for ((p, path), o) in plans.iter().zip(&outcomes) {
            s.push_str(&format!(
                "{}  id {}  {:#018x} .. {:#018x}  {} urls  {} hosts  {} bytes\n",
                path.display(),
                p.id,
                p.range.0,
                p.range.1,
                o.urls,
                o.hosts,
                o.bytes
            ));
        }
        if let (Some(m), Some(b)) = (&args.manifest, manifest_bytes) {
            s.push_str(&format!(
                "wrote {}: {} entries, {b} bytes\n",
                m.display(),
                plans.len()
            ));
        }
        s
    };
    out.write_all(text.as_bytes()).map_err(err)
}
