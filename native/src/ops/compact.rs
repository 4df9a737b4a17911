//! `compact`: merge partitions whose header ranges are disjoint into one, optionally dropping
//! Gone tombstones past their re-probe horizon. Streaming and crash-safe: the writing is
//! [`crate::reshape`]'s, the all-or-nothing publication [`crate::reshape::job`]'s.

use super::{Error, Op, Progress, Refusal, Result};
use crate::arena_zip::{ArenaZip, ARENA_PARAMS};
use crate::encode::EncodeSettings;
use crate::reshape::arena_in::Access;
use crate::reshape::{job, Gc, Input, Outcome, OutputPlan, Segment, Settings};
use meguri_core::report::KeyRange;
use meguri_core::Table;
use serde::ser::SerializeStruct;
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;

/// 90 days, the default re-probe horizon of Gone rows.
pub const DEFAULT_GC_HORIZON: u32 = 90 * 24;

/// What to merge, and how.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Partition files with disjoint header ranges, in any order.
    pub files: Vec<PathBuf>,
    /// The output, which must not exist (default: `compact.meguri` beside the first input).
    pub out: Option<PathBuf>,
    /// Drop Gone rows by this rule (its `now` is the caller's clock).
    pub gc: Option<Gc>,
    /// Partition id of the output (default: the lowest-range input's).
    pub id: Option<u32>,
    /// Accept ranges with gaps between them; the output then owns the gaps.
    pub allow_gaps: bool,
    /// Page and arena compression, rows per page.
    pub encoding: EncodeSettings,
}

/// The reshape settings for `encoding` (shared with `split`).
pub fn settings(encoding: &EncodeSettings, gc: Option<Gc>) -> Settings {
    Settings {
        page_rows: encoding.page_rows,
        level: encoding.level,
        arena: ArenaZip {
            level: encoding.arena_level,
            params: ARENA_PARAMS,
        },
        gc,
    }
}

/// One output file written by a reshape, as `compact` and `split` report it.
///
/// JSON: `{path, id, hostkey_range{lo,hi}, urls, hosts, gone_dropped, bytes,
/// file_bytes_per_url, arena_raw_bytes, schedule_rebuilt, seen_set_rebuilt, arena_reads,
/// phase_seconds}`.
#[derive(Debug, Clone)]
pub struct Written {
    /// Where.
    pub path: PathBuf,
    /// What was planned.
    pub plan: OutputPlan,
    /// What came of it.
    pub outcome: Outcome,
}

impl Serialize for Written {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct ArenaRead {
            input: usize,
            #[serde(skip_serializing_if = "Option::is_none")]
            cursors: Option<usize>,
            #[serde(skip_serializing_if = "Option::is_none")]
            whole: Option<bool>,
        }
        #[derive(Serialize)]
        struct Phases {
            walk: f64,
            tables: f64,
            arena_compress: f64,
            finish: f64,
        }
        let (p, o) = (&self.plan, &self.outcome);
        let reads: Vec<ArenaRead> = o
            .arena_access
            .iter()
            .map(|&(input, a)| match a {
                Access::Streamed(n) => ArenaRead {
                    input,
                    cursors: Some(n),
                    whole: None,
                },
                Access::Whole => ArenaRead {
                    input,
                    cursors: None,
                    whole: Some(true),
                },
            })
            .collect();
        let mut m = s.serialize_struct("Written", 13)?;
        m.serialize_field("path", &self.path.display().to_string())?;
        m.serialize_field("id", &p.id)?;
        m.serialize_field("hostkey_range", &KeyRange::new(p.range.0, p.range.1))?;
        m.serialize_field("urls", &o.urls)?;
        m.serialize_field("hosts", &o.hosts)?;
        m.serialize_field("gone_dropped", &o.gone_dropped)?;
        m.serialize_field("bytes", &o.bytes)?;
        let per_url = if o.urls == 0 {
            0.0
        } else {
            o.bytes as f64 / o.urls as f64
        };
        m.serialize_field("file_bytes_per_url", &per_url)?;
        m.serialize_field("arena_raw_bytes", &o.arena_raw)?;
        m.serialize_field("schedule_rebuilt", &p.schedule)?;
        m.serialize_field("seen_set_rebuilt", &p.seen)?;
        m.serialize_field("arena_reads", &reads)?;
        m.serialize_field(
            "phase_seconds",
            &Phases {
                walk: o.seconds.walk,
                tables: o.seconds.tables,
                arena_compress: o.seconds.arena,
                finish: o.seconds.finish,
            },
        )?;
        m.end()
    }
}

/// What `compact` wrote.
///
/// JSON: the [`Written`] output, with `inputs`, `gc{horizon_hours, now}` (or null) and
/// `seconds` beside it.
#[derive(Debug, Clone)]
pub struct CompactReport {
    /// The inputs, in range order, as named.
    pub inputs: Vec<String>,
    /// The output.
    pub output: Written,
    /// The Gone rule applied, if any.
    pub gc: Option<Gc>,
    /// Wall-clock seconds of the whole job.
    pub seconds: f64,
}

impl fmt::Display for CompactReport {
    /// The reference's summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (files, out, o) = (
            self.inputs.len(),
            self.output.path.display(),
            &self.output.outcome,
        );
        if self.gc.is_some() {
            writeln!(
                f,
                "compacted {files} file(s) -> {out}: {} urls ({} Gone dropped), {} bytes",
                o.urls, o.gone_dropped, o.bytes
            )
        } else {
            writeln!(
                f,
                "compacted {files} file(s) -> {out}: {} urls, {} bytes (use --gc to drop Gone tombstones)",
                o.urls, o.bytes
            )
        }
    }
}

impl Serialize for CompactReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct GcOut {
            horizon_hours: u32,
            now: u32,
        }
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            output: &'a Written,
            inputs: &'a [String],
            gc: Option<GcOut>,
            seconds: f64,
        }
        Out {
            output: &self.output,
            inputs: &self.inputs,
            gc: self.gc.map(|g| GcOut {
                horizon_hours: g.horizon_hours,
                now: g.now,
            }),
            seconds: self.seconds,
        }
        .serialize(s)
    }
}

/// Merges `opts.files` into one file. First undoes any interrupted reshape in the output's
/// directory (its leftovers could make the inputs look wrong); `progress` hears a note for
/// each thing undone.
pub fn compact(opts: &CompactOptions, progress: &mut dyn Progress) -> Result<CompactReport> {
    let started = std::time::Instant::now();
    let reshape = |source| Error::Reshape {
        op: Op::Compact,
        source: Box::new(source),
    };
    let Some(first) = opts.files.first() else {
        return Err(Error::Usage {
            op: Op::Compact,
            message: "no input files".into(),
        });
    };
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| job::dir_of(first).join("compact.meguri"));
    let mut note = |line: String| progress.note(Op::Compact, &line);
    job::recover(&job::dir_of(&out), &mut note).map_err(reshape)?;
    let inputs = open_ordered(&opts.files, opts.allow_gaps)?;
    let plan = plan(&inputs, opts.id);
    let plans = vec![(plan, out.clone())];
    let outcomes = job::run(
        Op::Compact.name(),
        &inputs,
        &plans,
        &settings(&opts.encoding, opts.gc),
        &mut note,
    )
    .map_err(reshape)?;
    let (plan, path) = plans.into_iter().next().expect("one plan");
    Ok(CompactReport {
        inputs: inputs.iter().map(Input::name).collect(),
        output: Written {
            path,
            plan,
            outcome: outcomes.into_iter().next().expect("one outcome"),
        },
        gc: opts.gc,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Opens every input and orders them by range; refuses overlaps (naming both files and the
/// shared range) and, unless allowed, gaps.
pub fn open_ordered(files: &[PathBuf], allow_gaps: bool) -> Result<Vec<Input>> {
    let refuse = |refusal| Error::Refused {
        op: Op::Compact,
        path: None,
        refusal,
    };
    let mut inputs = files
        .iter()
        .map(|p| Input::open(p))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|source| Error::Reshape {
            op: Op::Compact,
            source: Box::new(source),
        })?;
    inputs.sort_by_key(Input::range);
    if let Some(i) = inputs.iter().find(|i| i.range().0 > i.range().1) {
        let (lo, hi) = i.range();
        return Err(refuse(Refusal::InputInverted {
            file: i.name(),
            lo,
            hi,
        }));
    }
    for w in inputs.windows(2) {
        let (a, b) = (w[0].range(), w[1].range());
        if b.0 <= a.1 {
            return Err(refuse(Refusal::InputsOverlap {
                first: w[0].name(),
                first_range: a,
                second: w[1].name(),
                second_range: b,
            }));
        }
        if !allow_gaps && a.1.checked_add(1) != Some(b.0) {
            return Err(refuse(Refusal::InputsGap {
                first: w[0].name(),
                second: w[1].name(),
                gap: (a.1 + 1, b.0 - 1),
            }));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::files;
    use crate::ops::{verify, Silent, VerifyOptions};

    #[derive(Default)]
    struct Notes(Vec<String>);

    impl Progress for Notes {
        fn note(&mut self, _: Op, line: &str) {
            self.0.push(line.to_string());
        }
    }

    fn opts(files: &[PathBuf], out: PathBuf) -> CompactOptions {
        CompactOptions {
            files: files.to_vec(),
            out: Some(out),
            gc: None,
            id: None,
            allow_gaps: false,
            encoding: EncodeSettings::default(),
        }
    }

    #[test]
    fn merges_adjacent_inputs_into_a_file_that_verifies() {
        let (d, f) = files(
            "compact",
            &[
                ("b.meguri", 2, 1000, u64::MAX, 4),
                ("a.meguri", 1, 0, 999, 3),
            ],
        );
        let out = d.join("ab.meguri");
        let mut notes = Notes::default();
        let r = compact(&opts(&f, out.clone()), &mut notes).unwrap();
        assert_eq!(r.inputs[0], f[1].display().to_string(), "range order");
        let o = &r.output.outcome;
        assert_eq!((o.urls, o.hosts), (1 + 2 + 3 + 4 + 1 + 2 + 3, 7));
        assert_eq!(r.output.plan.id, 1);
        assert!(
            r.to_string()
                .ends_with("(use --gc to drop Gone tombstones)\n"),
            "{r}"
        );
        assert!(verify(&VerifyOptions { paths: vec![out] }).ok());
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["hostkey_range"]["hi"], "0xffffffffffffffff");
        assert_eq!(v["gc"], serde_json::Value::Null);
        assert!(notes.0.is_empty(), "{:?}", notes.0);
    }

    #[test]
    fn a_damaged_input_fails_with_cores_error_kept_whole() {
        use crate::ops::testing::first_page_crc_at;
        use std::error::Error as _;
        let (d, f) = files("compact-damaged", TILING_PAIR);
        let mut b = std::fs::read(&f[1]).unwrap();
        let at = first_page_crc_at(&b, Table::Url, 10);
        b[at] ^= 1;
        std::fs::write(&f[1], &b).unwrap();
        let out = d.join("x.meguri");
        let e = compact(&opts(&f, out.clone()), &mut Silent).unwrap_err();
        let Error::Reshape { op, source } = &e else {
            panic!("{e}")
        };
        assert_eq!(*op, Op::Compact);
        let core = source.core().expect("core's error");
        assert_eq!(core.kind, meguri_core::ErrorKind::Checksum, "{e}");
        assert!(core.offset.is_some(), "{e}");
        // The chain: ops -> reshape -> core, each a source of the one before.
        let chain = e.source().and_then(|s| s.source()).expect("a chain");
        assert_eq!(chain.to_string(), core.to_string());
        let text = e.to_string();
        assert!(
            text.starts_with(&format!("compact: {}: ", f[1].display())),
            "{text}"
        );
        assert!(!out.exists());
    }

    const TILING_PAIR: &[(&str, u32, u64, u64, u64)] = &[
        ("a.meguri", 1, 0, 999, 3),
        ("b.meguri", 2, 1000, u64::MAX, 4),
    ];

    #[test]
    fn refuses_overlaps_and_gaps_naming_both_inputs() {
        let (d, f) = files(
            "compact-refuse",
            &[
                ("a.meguri", 1, 0, 999, 2),
                ("b.meguri", 2, 500, 5000, 2),
                ("c.meguri", 3, 2000, 5000, 2),
            ],
        );
        let out = d.join("x.meguri");
        let e = compact(&opts(&f[..2], out.clone()), &mut Silent).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Refused {
                    refusal: Refusal::InputsOverlap { .. },
                    ..
                }
            ),
            "{e}"
        );
        let text = e.to_string();
        assert!(text.starts_with("compact: "), "{e}");
        let shared = "overlap on host keys [0x00000000000001f4, 0x00000000000003e7]";
        assert!(text.contains(shared), "{e}");
        let e = compact(
            &opts(&[f[0].clone(), f[2].clone()], out.clone()),
            &mut Silent,
        )
        .unwrap_err();
        let neither = "host keys [0x00000000000003e8, 0x00000000000007cf] belong to neither";
        assert!(e.to_string().contains(neither), "{e}");
        assert!(!out.exists());
    }
}
