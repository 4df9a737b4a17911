//! `load`: every row of partition files put into a partition directory, through its log, under
//! a chosen durability; optionally a checkpoint after.
//!
//! This is how a partition file moved to a crawl host becomes its live state (or how rows
//! handed over by a rebalance join it). Rows replace rows with the same key. Strings are
//! interned into the directory's arena and the rows' references rewritten to match; a string
//! a file references several times is interned once. A reference that resolves to no string
//! is refused, as `verify` and `compact` refuse it: nothing is loaded from that file on.

use super::{open_source, Error, Op, Progress, Refusal, Result, Step};
use crate::store::{Durability, Options, Store, StoreError};
use meguri_core::arena::Arena;
use meguri_core::reader::Reader;
use meguri_core::schema::Record;
use meguri_core::store::frame::Update;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Rows per log write (one fsync per batch under `full`).
const BATCH: usize = 1024;

/// What to load, where, and how.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The partition directory (created if absent).
    pub dir: PathBuf,
    /// Partition files whose rows to load, in order.
    pub files: Vec<PathBuf>,
    /// When the log is fsynced.
    pub durability: Durability,
    /// Most URL records held in memory (0 = all).
    pub resident_budget: usize,
    /// Fold the log into a new snapshot when done.
    pub checkpoint: bool,
}

/// What `load` did.
///
/// JSON: `{data, files, url_rows, host_rows, live_urls, log_fsyncs, checkpoint_generation,
/// seconds}`.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// The directory.
    #[serde(serialize_with = "super::display_path")]
    pub data: PathBuf,
    /// Files loaded.
    pub files: usize,
    /// URL rows put.
    pub url_rows: u64,
    /// Host rows put.
    pub host_rows: u64,
    /// URLs live in the directory afterwards.
    pub live_urls: u64,
    /// fsyncs of the log.
    pub log_fsyncs: u64,
    /// The generation checkpointed, if asked.
    pub checkpoint_generation: Option<u64>,
    /// Wall-clock seconds, rounded to 0.1 ms.
    pub seconds: f64,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "loaded {} urls and {} hosts from {} file(s) into {} ({} live urls)",
            self.url_rows,
            self.host_rows,
            self.files,
            self.data.display(),
            self.live_urls
        )?;
        if let Some(g) = self.checkpoint_generation {
            writeln!(f, "checkpointed snap-{g}.meguri")?;
        }
        Ok(())
    }
}

/// Interns a file's strings into the directory's arena, once each.
struct Mover<'a> {
    arena: Arena<'a>,
    /// Old reference -> new reference.
    moved: HashMap<u64, u64>,
}

impl<'a> Mover<'a> {
    /// The new reference of `old`, adding an intern to `batch` the first time; `next` is
    /// where the directory's arena will end once `batch` is applied. `Err(old)` when `old`
    /// resolves to nothing.
    fn intern(
        &mut self,
        old: u64,
        batch: &mut Vec<Update<'a>>,
        next: &mut u64,
    ) -> std::result::Result<u64, u64> {
        if old == 0 {
            return Ok(0);
        }
        if let Some(&n) = self.moved.get(&old) {
            return Ok(n);
        }
        let s = self.arena.get(old).ok_or(old)?;
        let n = *next;
        *next += (meguri_core::bytes::uvarint_len(s.len() as u64) + s.len()) as u64;
        batch.push(Update::Intern(s));
        self.moved.insert(old, n);
        Ok(n)
    }
}

/// Why one row could not be put.
enum RowError {
    /// A reference that resolves to nothing.
    Unresolved(u64),
    /// The store refused the batch.
    Store(StoreError),
}

/// Applies `rows` in batches of [`BATCH`]: `put` turns a row into its update, adding the
/// interns it needs to the batch first; `next` tracks where the arena will end.
fn apply_rows<'a, T: Copy>(
    store: &Store,
    rows: &[T],
    mut put: impl FnMut(T, &mut Vec<Update<'a>>, &mut u64) -> std::result::Result<Update<'a>, u64>,
) -> std::result::Result<(), RowError> {
    for chunk in rows.chunks(BATCH) {
        let mut batch = Vec::with_capacity(chunk.len() * 2);
        let mut next = store.arena_len();
        for &row in chunk {
            let update = put(row, &mut batch, &mut next).map_err(RowError::Unresolved)?;
            batch.push(update);
        }
        store.apply(&batch).map_err(RowError::Store)?;
    }
    Ok(())
}

/// Loads `opts.files` into `opts.dir`. `progress` hears recovery's notes and the URL rows put
/// so far.
pub fn load(opts: &LoadOptions, progress: &mut dyn Progress) -> Result<LoadReport> {
    let started = Instant::now();
    let store_err = |source| Error::Store {
        op: Op::Load,
        path: None,
        source: Box::new(source),
    };
    let store = Store::open(
        &opts.dir,
        Options {
            durability: opts.durability,
            resident_budget: opts.resident_budget,
            ..Options::default()
        },
    )
    .map_err(store_err)?;
    for event in &store.recovery().events {
        progress.note(Op::Load, &event.to_string());
    }
    let (mut urls, mut hosts) = (0u64, 0u64);
    for path in &opts.files {
        let row_err = |e: RowError, path: &Path| match e {
            RowError::Unresolved(reference) => Error::Refused {
                op: Op::Load,
                path: Some(path.to_path_buf()),
                refusal: Refusal::UnresolvedRef { reference },
            },
            RowError::Store(source) => store_err(source),
        };
        let format = |e| Error::format(Op::Load, path, e);
        let src = open_source(Op::Load, path)?;
        let reader = Reader::open_with(src, crate::fsource::read_options()).map_err(format)?;
        let arena_bytes = reader.arena().map_err(format)?;
        let mut mover = Mover {
            arena: Arena(&arena_bytes),
            moved: HashMap::new(),
        };
        let hosts_rows = reader.host_table().map_err(format)?;
        apply_rows(&store, &hosts_rows, |mut h, batch, next| {
            let mut bad = None;
            h.map_arena_refs(|r| {
                mover.intern(r, batch, next).unwrap_or_else(|r| {
                    bad.get_or_insert(r);
                    0
                })
            });
            bad.map_or(Ok(Update::PutHost(h)), Err)
        })
        .map_err(|e| row_err(e, path))?;
        hosts += hosts_rows.len() as u64;
        let n = reader.rows(meguri_core::Table::Url);
        let block = crate::store::row_block(&reader);
        let mut start = 0;
        while start < n {
            let end = (start + block).min(n);
            let rows = reader.url_rows(start..end).map_err(format)?;
            apply_rows(&store, &rows, |mut u, batch, next| {
                let mut bad = None;
                u.map_arena_refs(|r| {
                    mover.intern(r, batch, next).unwrap_or_else(|r| {
                        bad.get_or_insert(r);
                        0
                    })
                });
                bad.map_or(Ok(Update::PutUrl(u)), Err)
            })
            .map_err(|e| row_err(e, path))?;
            urls += end - start;
            start = end;
            progress.step(Op::Load, Step::Loading { urls });
        }
    }
    let generation = if opts.checkpoint {
        Some(store.checkpoint().map_err(store_err)?)
    } else {
        None
    };
    progress.step(Op::Load, Step::Done);
    let (live, syncs) = (store.url_count(), store.log_syncs());
    store.close().map_err(store_err)?;
    Ok(LoadReport {
        data: opts.dir.clone(),
        files: opts.files.len(),
        url_rows: urls,
        host_rows: hosts,
        live_urls: live as u64,
        log_fsyncs: syncs,
        checkpoint_generation: generation,
        seconds: (started.elapsed().as_secs_f64() * 1e4).round() / 1e4,
    })
}
