//! `split`: the reverse of compact. Each output owns an exact sub-range of the input's range, so
//! the outputs tile it; cuts are given as host keys, or chosen at host boundaries that balance
//! URL counts (a host is never split). Crash-safe and all-or-nothing through
//! [`crate::reshape::job`]; optionally writes a manifest of the outputs.

use super::compact::{settings, Written};
use super::{display_path, Error, IoAction, Op, Progress, Refusal, Result};
use crate::atomic::write_atomic;
use crate::encode::EncodeSettings;
use crate::reshape::columns::ColumnStream;
use crate::reshape::{
    job, Error as ReshapeError, Input, OutputPlan, Refusal as ReshapeRefusal, Segment,
};
use meguri_core::manifest::{Entry, Manifest};
use meguri_core::report::Hex;
use meguri_core::schema::{host_key_column, url};
use meguri_core::Table;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// Where to cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cuts {
    /// At these host keys, increasing: each starts an output's range.
    At(Vec<u64>),
    /// Into this many outputs (at least 2) of about equal URL counts, at host boundaries.
    Into(u32),
}

/// What to split, and how.
#[derive(Debug, Clone)]
pub struct SplitOptions {
    /// The partition file (not modified).
    pub file: PathBuf,
    /// Where to cut.
    pub cuts: Cuts,
    /// Directory for the outputs, named `<stem>-<i>.meguri`.
    pub out_dir: PathBuf,
    /// Id of the first output; the others count up from it (default: the input's id).
    pub first_id: Option<u32>,
    /// Also write a manifest of the outputs here, its entries at `epoch`.
    pub manifest: Option<PathBuf>,
    /// Epoch of the manifest's entries.
    pub epoch: u32,
    /// Page and arena compression, rows per page.
    pub encoding: EncodeSettings,
}

/// The manifest written beside the outputs.
#[derive(Debug, Clone, Serialize)]
pub struct SplitManifest {
    /// Where.
    #[serde(serialize_with = "display_path")]
    pub path: PathBuf,
    /// Its size.
    pub bytes: usize,
}

/// What `split` wrote.
///
/// JSON: `{input, cuts[hex], outputs[Written], manifest, manifest_bytes, seconds}`.
#[derive(Debug, Clone)]
pub struct SplitReport {
    /// The input as named.
    pub input: String,
    /// The output directory.
    pub out_dir: PathBuf,
    /// The cut keys used.
    pub cuts: Vec<u64>,
    /// The outputs, in range order.
    pub outputs: Vec<Written>,
    /// The manifest, if one was asked for.
    pub manifest: Option<SplitManifest>,
    /// Wall-clock seconds of the whole job.
    pub seconds: f64,
}

impl fmt::Display for SplitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "split {} into {} file(s) in {}:",
            self.input,
            self.outputs.len(),
            self.out_dir.display()
        )?;
        for w in &self.outputs {
            writeln!(
                f,
                "{}  id {}  {:#018x} .. {:#018x}  {} urls  {} hosts  {} bytes",
                w.path.display(),
                w.plan.id,
                w.plan.range.0,
                w.plan.range.1,
                w.outcome.urls,
                w.outcome.hosts,
                w.outcome.bytes
            )?;
        }
        if let Some(m) = &self.manifest {
            writeln!(
                f,
                "wrote {}: {} entries, {} bytes",
                m.path.display(),
                self.outputs.len(),
                m.bytes
            )?;
        }
        Ok(())
    }
}

impl Serialize for SplitReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            input: &'a str,
            cuts: Vec<Hex>,
            outputs: &'a [Written],
            manifest: Option<String>,
            manifest_bytes: Option<usize>,
            seconds: f64,
        }
        Out {
            input: &self.input,
            cuts: self.cuts.iter().map(|&c| Hex(c)).collect(),
            outputs: &self.outputs,
            manifest: self.manifest.as_ref().map(|m| m.path.display().to_string()),
            manifest_bytes: self.manifest.as_ref().map(|m| m.bytes),
            seconds: self.seconds,
        }
        .serialize(s)
    }
}

/// For each cut key, the first row of `table` whose host key is at or above it (one streaming
/// pass over the host-key column).
fn cut_rows(input: &Input, table: Table, cuts: &[u64]) -> Result<Vec<u64>, ReshapeError> {
    let ctx = |source| ReshapeError::Format {
        file: input.name(),
        source,
    };
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
fn balanced_cuts(input: &Input, n: u32) -> Result<Vec<(u64, u64)>, ReshapeError> {
    let ctx = |source| ReshapeError::Format {
        file: input.name(),
        source,
    };
    let total = input.reader.rows(Table::Url);
    let mut s =
        ColumnStream::new(&input.reader, Table::Url, url::HOST_KEY, 0..total).map_err(ctx)?;
    let mut cuts: Vec<(u64, u64)> = Vec::new();
    let last_key = |cuts: &[(u64, u64)]| cuts.last().map(|&(k, _)| k);
    let mut target_i = 1u64;
    let target = |i: u64| (i * total).div_ceil(u64::from(n));
    // The previous host boundary: (URLs before it, its host key).
    let mut prev: Option<(u64, u64)> = None;
    let mut run_key: Option<u64> = None;
    for row in 0..total {
        let k = s.take().map_err(ctx)?;
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
        return Err(ReshapeRefusal::TooFewHosts {
            file: input.name(),
            parts: n,
        }
        .into());
    }
    Ok(cuts)
}

/// Splits `opts.file`. First undoes any interrupted reshape in the output directory;
/// `progress` hears a note for each thing undone.
pub fn split(opts: &SplitOptions, progress: &mut dyn Progress) -> Result<SplitReport> {
    let started = std::time::Instant::now();
    let reshape = |source| Error::Reshape {
        op: Op::Split,
        source: Box::new(source),
    };
    let refuse = |refusal| Error::Refused {
        op: Op::Split,
        path: None,
        refusal,
    };
    let mut note = |line: String| progress.note(Op::Split, &line);
    if opts.out_dir.is_dir() {
        job::recover(&opts.out_dir, &mut note).map_err(reshape)?;
    }
    let input = Input::open(&opts.file).map_err(reshape)?;
    let (lo, hi) = input.range();
    let (cuts, balanced_rows) = match &opts.cuts {
        Cuts::Into(n) => {
            let c = balanced_cuts(&input, *n).map_err(reshape)?;
            (
                c.iter().map(|&(k, _)| k).collect::<Vec<u64>>(),
                Some(c.iter().map(|&(_, r)| r).collect::<Vec<u64>>()),
            )
        }
        Cuts::At(at) => (at.clone(), None),
    };
    for (i, &c) in cuts.iter().enumerate() {
        if c <= lo || c > hi {
            return Err(refuse(Refusal::CutOutside {
                cut: c,
                file: input.name(),
                lo,
                hi,
            }));
        }
        if i > 0 && c <= cuts[i - 1] {
            return Err(refuse(Refusal::CutsNotIncreasing {
                cut: c,
                after: cuts[i - 1],
            }));
        }
    }
    let url_cuts = match balanced_rows {
        Some(rows) => rows,
        None => cut_rows(&input, Table::Url, &cuts).map_err(reshape)?,
    };
    let host_cuts = cut_rows(&input, Table::Host, &cuts).map_err(reshape)?;
    let bound = |v: &[u64], i: usize, end: u64| {
        (
            if i == 0 { 0 } else { v[i - 1] },
            if i == v.len() { end } else { v[i] },
        )
    };
    let h = input.reader.header();
    let stem = opts
        .file
        .file_stem()
        .map_or_else(|| "part".into(), |s| s.to_string_lossy().into_owned());
    let first_id = opts.first_id.unwrap_or(h.partition_id);
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
            opts.out_dir.join(format!("{stem}-{i}.meguri")),
        ));
    }
    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| Error::io(Op::Split, &opts.out_dir, IoAction::Write, e))?;
    let inputs = [input];
    let outcomes = job::run(
        Op::Split.name(),
        &inputs,
        &plans,
        &settings(&opts.encoding, None),
        &mut note,
    )
    .map_err(reshape)?;
    let mut manifest = None;
    if let Some(mpath) = &opts.manifest {
        let mut m = Manifest::default();
        for (_, path) in &plans {
            let o = Input::open(path).map_err(reshape)?;
            let base = path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            m.entries.push(Entry::of_file(
                o.reader.shape(),
                base.into_bytes(),
                opts.epoch,
            ));
        }
        m.sort();
        let bytes = m.encode();
        write_atomic(mpath, &bytes).map_err(|e| Error::io(Op::Split, mpath, IoAction::Write, e))?;
        manifest = Some(SplitManifest {
            path: mpath.clone(),
            bytes: bytes.len(),
        });
    }
    Ok(SplitReport {
        input: inputs[0].name(),
        out_dir: opts.out_dir.clone(),
        cuts,
        outputs: plans
            .into_iter()
            .zip(outcomes)
            .map(|((plan, path), outcome)| Written {
                path,
                plan,
                outcome,
            })
            .collect(),
        manifest,
        seconds: started.elapsed().as_secs_f64(),
    })
}
