//! `meguri load --data DIR FILE...`: puts every row of partition files into a partition
//! directory, through its log, under a chosen durability; optionally checkpoints after.
//!
//! This is how a partition file moved to a crawl host becomes its live state (or how rows
//! handed over by a rebalance join it). Rows replace rows with the same key. Strings are
//! interned into the directory's arena and the rows' references rewritten to match; a
//! string a file references several times is interned once.

use super::fail;
use crate::fsource::FileSource;
use crate::store::{Durability, Options, Store};
use crate::{CmdError, CmdResult};
use meguri_core::arena::Arena;
use meguri_core::reader::Reader;
use meguri_core::schema::Record;
use meguri_core::store::frame::Update;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Rows per log write (one fsync per batch under `full`).
const BATCH: usize = 1024;

/// Options of `load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The partition directory (created if absent).
    #[arg(long)]
    pub data: PathBuf,
    /// Partition files whose rows to load.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// none | normal | full: when the log is fsynced (see docs/format.md §13.5).
    #[arg(long, default_value = "normal")]
    pub durability: Durability,
    /// Most URL records held in memory (0 = all).
    #[arg(long, default_value_t = 0)]
    pub resident_budget: usize,
    /// Fold the log into a new snapshot when done.
    #[arg(long)]
    pub checkpoint: bool,
    /// Print a JSON summary instead of the line.
    #[arg(long)]
    pub json: bool,
}

/// Interns a file's strings into the directory's arena, once each.
struct Mover<'a> {
    arena: Arena<'a>,
    /// Old reference -> new reference.
    moved: HashMap<u64, u64>,
}

impl<'a> Mover<'a> {
    /// The new reference of `old`, adding an intern to `batch` the first time; `next` is
    /// where the directory's arena will end once `batch` is applied.
    fn intern(&mut self, old: u64, batch: &mut Vec<Update<'a>>, next: &mut u64) -> u64 {
        if old == 0 {
            return 0;
        }
        if let Some(&n) = self.moved.get(&old) {
            return n;
        }
        let Some(s) = self.arena.get(old) else {
            return 0;
        };
        let n = *next;
        *next += (meguri_core::bytes::uvarint_len(s.len() as u64) + s.len()) as u64;
        batch.push(Update::Intern(s));
        self.moved.insert(old, n);
        n
    }
}

/// Applies `rows` in batches of [`BATCH`]: `put` turns a row into its update, adding the
/// interns it needs to the batch first; `next` tracks where the arena will end.
fn apply_rows<'a, T: Copy>(
    store: &Store,
    rows: &[T],
    mut put: impl FnMut(T, &mut Vec<Update<'a>>, &mut u64) -> Update<'a>,
) -> Result<(), CmdError> {
    for chunk in rows.chunks(BATCH) {
        let mut batch = Vec::with_capacity(chunk.len() * 2);
        let mut next = store.arena_len();
        for &row in chunk {
            let update = put(row, &mut batch, &mut next);
            batch.push(update);
        }
        store
            .apply(&batch)
            .map_err(|e| CmdError::new(format!("load: {e}")))?;
    }
    Ok(())
}

/// Runs `load`.
pub fn run(args: &LoadArgs, out: &mut dyn Write) -> CmdResult {
    let started = Instant::now();
    let store = Store::open(
        &args.data,
        Options {
            durability: args.durability,
            resident_budget: args.resident_budget,
            ..Options::default()
        },
    )
    .map_err(|e| CmdError::new(format!("load: {e}")))?;
    for event in &store.recovery().events {
        eprintln!("meguri: load: {event}");
    }
    let progress = std::io::stderr().is_terminal();
    let (mut urls, mut hosts) = (0u64, 0u64);
    for path in &args.files {
        let src = FileSource::open(path).map_err(|e| fail("load", path, e))?;
        let reader = Reader::open(src).map_err(|e| fail("load", path, e))?;
        let arena_bytes = reader.arena().map_err(|e| fail("load", path, e))?;
        let mut mover = Mover {
            arena: Arena(&arena_bytes),
            moved: HashMap::new(),
        };
        let hosts_rows = reader.host_table().map_err(|e| fail("load", path, e))?;
        apply_rows(&store, &hosts_rows, |mut h, batch, next| {
            h.map_arena_refs(|r| mover.intern(r, batch, next));
            Update::PutHost(h)
        })?;
        hosts += hosts_rows.len() as u64;
        let n = reader.rows(meguri_core::Table::Url);
        let block = crate::store::row_block(&reader);
        let mut start = 0;
        while start < n {
            let end = (start + block).min(n);
            let rows = reader
                .url_rows(start..end)
                .map_err(|e| fail("load", path, e))?;
            apply_rows(&store, &rows, |mut u, batch, next| {
                u.map_arena_refs(|r| mover.intern(r, batch, next));
                Update::PutUrl(u)
            })?;
            urls += end - start;
            start = end;
            if progress {
                eprint!("\rload: {}: {urls} URL rows", path.display());
            }
        }
    }
    let generation = if args.checkpoint {
        Some(
            store
                .checkpoint()
                .map_err(|e| CmdError::new(format!("load: {e}")))?,
        )
    } else {
        None
    };
    if progress {
        eprint!("\r\x1b[K");
    }
    let (live, syncs) = (store.url_count(), store.log_syncs());
    store
        .close()
        .map_err(|e| CmdError::new(format!("load: {e}")))?;
    let text = if args.json {
        let v = serde_json::json!({
            "data": args.data.display().to_string(),
            "url_rows": urls,
            "host_rows": hosts,
            "live_urls": live,
            "log_fsyncs": syncs,
            "checkpoint_generation": generation,
            "seconds": (started.elapsed().as_secs_f64() * 1e4).round() / 1e4,
        });
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        let mut t = format!(
            "loaded {urls} urls and {hosts} hosts from {} file(s) into {} ({live} live urls)\n",
            args.files.len(),
            args.data.display()
        );
        if let Some(g) = generation {
            t.push_str(&format!("checkpointed snap-{g}.meguri\n"));
        }
        t
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("load", &args.data, e))
}
