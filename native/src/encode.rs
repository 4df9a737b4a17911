//! Encoding a whole in-memory partition, the way `seed`, store checkpoints and `pack` do: column
//! pages with C zstd, and the arena with [`ArenaZip`] on a second thread while the tables are
//! encoded, the columns themselves shared between this thread and a helper. The bytes are those
//! of a single-threaded [`encode_with`]: determinism does not depend on the threads.
//!
//! [`encode_with`]: meguri_core::write::encode_with
//!
//! A job whose arena is final before its tables are (`run`: the drain changes rows, and the
//! arena only when a fetch adds text) starts [`compress_arena`] early, on a thread of its own,
//! and hands the running thread to [`encode_partition_beside`].

use crate::arena_zip::{ArenaZip, ARENA_LEVEL, ARENA_PARAMS};
use meguri_core::error::{Error, ErrorKind, Table};
use meguri_core::format::codec::{CZstd, Compressor};
use meguri_core::partition::Partition;
use meguri_core::records::Values;
use meguri_core::schema::ColumnSpec;
use meguri_core::write::{
    check_key_order, encodable_apart, encode_column_from, encode_feeds, ArenaInput, EncodedColumn,
    Encoder, Feeds, Plan, RowsFeed, TableFeed, WriteOptions,
};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Condvar, Mutex};

/// How a partition is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeSettings {
    /// zstd level of column pages.
    pub level: i32,
    /// zstd level of the string arena.
    pub arena_level: i32,
    /// Rows per column page.
    pub page_rows: usize,
}

impl Default for EncodeSettings {
    /// `seed`'s defaults.
    fn default() -> Self {
        EncodeSettings {
            level: 3,
            arena_level: ARENA_LEVEL,
            page_rows: WriteOptions::default().page_rows,
        }
    }
}

/// The arena's compression running on another thread ([`compress_arena`]).
pub type ArenaJob<'s> = std::thread::ScopedJoinHandle<'s, CompressedArena>;

/// An arena compressed ahead of its encoding ([`compress_arena`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressedArena {
    /// The codec the bytes are in.
    codec: u8,
    /// The compressed bytes.
    bytes: Vec<u8>,
}

/// Compresses `arena` as [`encode_partition`] compresses a partition's arena with `settings`.
pub fn compress_arena(arena: &[u8], settings: &EncodeSettings) -> CompressedArena {
    let mut bytes = Vec::new();
    let codec = arena_zip(settings).compress(arena, &mut bytes);
    CompressedArena { codec, bytes }
}

/// A compressor whose one job, the arena, was started before the encoder asked for it; any
/// other input is compressed in place.
struct Background<'a, 's> {
    input: &'a [u8],
    job: std::cell::RefCell<Option<ArenaJob<'s>>>,
    fallback: &'a ArenaZip,
}

impl Compressor for Background<'_, '_> {
    fn codec(&self) -> u8 {
        self.fallback.codec()
    }
    fn compress(&self, input: &[u8], out: &mut Vec<u8>) -> u8 {
        if std::ptr::eq(input, self.input) {
            if let Some(job) = self.job.borrow_mut().take() {
                let done = job.join().expect("arena compression thread");
                out.extend_from_slice(&done.bytes);
                return done.codec;
            }
        }
        self.fallback.compress(input, out)
    }
    fn min_output(&self, len: usize) -> usize {
        self.fallback.min_output(len)
    }
}

/// The column pages' compressor for `settings` (both threads of [`encode_partition_beside`]
/// make theirs here, so a column's bytes do not depend on which one encoded it).
fn page_zip(settings: &EncodeSettings) -> CZstd {
    CZstd::new(settings.level)
}

/// The arena's compressor for `settings`.
pub(crate) fn arena_zip(settings: &EncodeSettings) -> ArenaZip {
    ArenaZip {
        level: settings.arena_level,
        params: ARENA_PARAMS,
    }
}

/// Encodes the partition, compressing the arena on a second thread while this one encodes
/// the tables. The bytes are the same as a single-threaded
/// [`encode_with`](meguri_core::write::encode_with).
pub fn encode_partition(
    p: &Partition,
    args: &EncodeSettings,
) -> meguri_core::error::Result<Vec<u8>> {
    std::thread::scope(|scope| {
        let job = scope.spawn(|| compress_arena(&p.arena, args));
        encode_partition_beside(p, &p.arena, args, job)
    })
}

/// As [`encode_partition`], for a partition whose string arena is held apart as `arena`
/// (`p.arena` is not read) and is already being compressed by `job`: a thread running
/// [`compress_arena`] on `arena` with the same `args` (the caller's promise; the bytes are then
/// the same). The tables are encoded while `job` finishes, and the arena's bytes are taken
/// from it when the encoder asks. The columns that can be encoded apart are shared with a
/// helper thread (the private `ColumnShare`) and placed in file order
/// ([`encode_with_ahead`](meguri_core::write::encode_with_ahead)): a column's pages depend on
/// its values alone, so the bytes are those of one thread.
pub fn encode_partition_beside(
    p: &Partition,
    arena: &[u8],
    args: &EncodeSettings,
    job: ArenaJob<'_>,
) -> meguri_core::error::Result<Vec<u8>> {
    let arena_zip = arena_zip(args);
    let bg = Background {
        input: arena,
        job: std::cell::RefCell::new(Some(job)),
        fallback: &arena_zip,
    };
    encode_shared(p, ArenaInput::Raw(arena), &bg, args)
}

/// As [`encode_partition_beside`], for an arena the caller puts itself when the encoder
/// reaches it, after the tables ([`ArenaInput::Put`]): `run` recompresses its input's arena
/// straight from the file, never holding it raw, and puts the compressed body. The caller
/// puts the bytes [`compress_arena`] would give for the same settings.
pub fn encode_partition_put(
    p: &Partition,
    raw_len: u64,
    put: &mut dyn FnMut(&mut Encoder<'_, Vec<u8>>) -> meguri_core::error::Result<()>,
    args: &EncodeSettings,
) -> meguri_core::error::Result<Vec<u8>> {
    encode_shared(p, ArenaInput::Put { raw_len, put }, &arena_zip(args), args)
}

/// Rows an encode reads, a table at a time: a partition held whole, or a drain's slim rows
/// (`engine::rows`) with the columns they do not hold read back from the input file (`run`).
/// Each thread of the encode makes its own feeds.
pub trait EncodeRows: Sync {
    /// Rows of `table`.
    fn count(&self, table: Table) -> usize;
    /// A feed of `table`'s values.
    fn feed(&self, table: Table) -> Box<dyn TableFeed + '_>;
}

impl EncodeRows for Partition {
    fn count(&self, table: Table) -> usize {
        match table {
            Table::Url => self.urls.len(),
            Table::Host => self.hosts.len(),
        }
    }
    fn feed(&self, table: Table) -> Box<dyn TableFeed + '_> {
        match table {
            Table::Url => Box::new(RowsFeed(&self.urls[..])),
            Table::Host => Box::new(RowsFeed(&self.hosts[..])),
        }
    }
}

/// What an encode from [`EncodeRows`] writes besides the rows.
pub struct EncodeParts<'a> {
    /// The file's plan (row counts, schedule base, extension columns).
    pub plan: Plan,
    /// The seen-set filter blob (empty: none).
    pub seen_filter: &'a [u8],
    /// Key-value metadata.
    pub meta: &'a [(Vec<u8>, Vec<u8>)],
}

/// Encodes `rows` with `parts` as [`encode_partition_put`] does a partition.
pub fn encode_rows_put(
    rows: &dyn EncodeRows,
    parts: EncodeParts<'_>,
    raw_len: u64,
    put: &mut dyn FnMut(&mut Encoder<'_, Vec<u8>>) -> meguri_core::error::Result<()>,
    args: &EncodeSettings,
) -> meguri_core::error::Result<Vec<u8>> {
    encode_from(
        rows,
        parts,
        ArenaInput::Put { raw_len, put },
        &arena_zip(args),
        args,
    )
}

/// The encode of a partition held whole: its rows checked for key order, then
/// [`encode_from`].
fn encode_shared(
    p: &Partition,
    arena: ArenaInput<'_>,
    arena_comp: &dyn Compressor,
    args: &EncodeSettings,
) -> meguri_core::error::Result<Vec<u8>> {
    check_key_order(&p.urls)?;
    let parts = EncodeParts {
        plan: Plan::of(p),
        seen_filter: &p.seen_filter,
        meta: &p.meta,
    };
    encode_from(p, parts, arena, arena_comp, args)
}

/// The encode every entry shares: the columns that can be encoded apart are shared with a
/// helper thread ([`ColumnShare`]), the arena compressed with `arena_comp` when it is raw.
fn encode_from(
    rows: &dyn EncodeRows,
    parts: EncodeParts<'_>,
    arena: ArenaInput<'_>,
    arena_comp: &dyn Compressor,
    args: &EncodeSettings,
) -> meguri_core::error::Result<Vec<u8>> {
    let pages = page_zip(args);
    let opts = WriteOptions {
        page_rows: args.page_rows,
        ..WriteOptions::default()
    };
    let share = ColumnShare::new(rows, parts.plan, &opts, args);
    std::thread::scope(|scope| {
        scope.spawn(|| share.help());
        // On an early error (or a panic here) the helper stops at its next column.
        let _stop = StopHelper(&share);
        let feeds = Feeds {
            plan: parts.plan,
            urls: &mut *rows.feed(Table::Url),
            hosts: &mut *rows.feed(Table::Host),
            seen_filter: parts.seen_filter,
            meta: parts.meta,
        };
        encode_feeds(feeds, arena, &opts, &pages, arena_comp, &mut |t, spec| {
            share.take(t, spec)
        })
    })
}

/// One column's values as a [`TableFeed`] (whichever column is asked for: the caller asks for
/// the one these are).
pub struct ValuesFeed<'a>(pub &'a Values);

impl ValuesFeed<'_> {
    fn range<T>(v: &[T], start: usize, end: usize) -> meguri_core::error::Result<&[T]> {
        v.get(start..end).ok_or_else(|| {
            Error::new(
                ErrorKind::Invalid,
                format!(
                    "rows {start}..{end} asked of a column of {} values",
                    v.len()
                ),
            )
        })
    }
}

impl TableFeed for ValuesFeed<'_> {
    fn values(
        &mut self,
        spec: &ColumnSpec,
        start: usize,
        end: usize,
        out: &mut Vec<u64>,
    ) -> meguri_core::error::Result<()> {
        out.clear();
        match self.0 {
            Values::Int(v) => out.extend_from_slice(Self::range(v, start, end)?),
            Values::Wide(_) => {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    format!(
                        "column {} ({}) was given 16-byte values",
                        spec.id, spec.name
                    ),
                ))
            }
        }
        Ok(())
    }

    fn ip_bytes(
        &mut self,
        start: usize,
        end: usize,
        out: &mut Vec<u8>,
    ) -> meguri_core::error::Result<()> {
        out.clear();
        match self.0 {
            Values::Wide(v) => out.extend(Self::range(v, start, end)?.iter().flatten()),
            Values::Int(_) => {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    "the IP column was given integer values",
                ))
            }
        }
        Ok(())
    }
}

/// The columns of a partition that can be encoded apart ([`encodable_apart`]), shared by the
/// thread writing the file and one helper. The writer reaches them in file order and encodes
/// each one nobody has claimed; the helper claims them from the other end, so the two meet
/// wherever their speeds put them, and whichever thread is free (the writer's partner may
/// still be compressing the arena) does the work. No split is guessed ahead.
///
/// Invariant: the writer claims a prefix of the list and the helper a suffix, so the helper
/// stops at the first column it finds claimed; every column the helper claims, it delivers
/// (an encoding error included, and a panic as a panic on the writer's side too), so the
/// writer never waits for a column that will not come. The encoder asks for each column once,
/// in file order ([`encode_with_ahead`]).
struct ColumnShare<'p> {
    rows: &'p dyn EncodeRows,
    opts: WriteOptions,
    settings: EncodeSettings,
    /// The apart columns, in file order.
    order: Vec<(Table, u64)>,
    /// Who claimed each: [`FREE`], [`WRITER`] or [`HELPER`].
    claimed: Vec<AtomicU8>,
    done: Mutex<Vec<Option<Delivered>>>,
    delivered: Condvar,
    stopped: AtomicBool,
}

const FREE: u8 = 0;
const WRITER: u8 = 1;
const HELPER: u8 = 2;

/// What the helper leaves for the writer in a column's place.
enum Delivered {
    Column(meguri_core::error::Result<EncodedColumn>),
    /// The helper panicked while encoding it; the writer panics too, as it would have had it
    /// encoded the column itself.
    Panicked,
}

impl<'p> ColumnShare<'p> {
    /// The share of the columns of `plan` that can be encoded apart.
    fn new(
        rows: &'p dyn EncodeRows,
        plan: Plan,
        opts: &WriteOptions,
        settings: &EncodeSettings,
    ) -> Self {
        let order: Vec<(Table, u64)> = [Table::Url, Table::Host]
            .into_iter()
            .flat_map(|t| {
                plan.columns(t)
                    .filter(|s| encodable_apart(s))
                    .map(move |s| (t, s.id))
            })
            .collect();
        ColumnShare {
            rows,
            opts: *opts,
            settings: *settings,
            claimed: order.iter().map(|_| AtomicU8::new(FREE)).collect(),
            done: Mutex::new(order.iter().map(|_| None).collect()),
            order,
            delivered: Condvar::new(),
            stopped: AtomicBool::new(false),
        }
    }

    /// Claims column `i` for `who`; returns who holds it after the attempt.
    fn claim(&self, i: usize, who: u8) -> u8 {
        match self.claimed[i].compare_exchange(FREE, who, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => who,
            Err(holder) => holder,
        }
    }

    /// The writer's side, for column `spec` of `t`: `None` (the encoder encodes it itself) if
    /// it is not shared or the writer holds it; else the helper's result, waited for.
    fn take(
        &self,
        t: Table,
        spec: &ColumnSpec,
    ) -> Option<meguri_core::error::Result<EncodedColumn>> {
        let i = self.order.iter().position(|&c| c == (t, spec.id))?;
        if self.claim(i, WRITER) == WRITER {
            return None;
        }
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match done[i].take() {
                Some(Delivered::Column(c)) => return Some(c),
                Some(Delivered::Panicked) => panic!("the column helper thread panicked"),
                None => done = self.delivered.wait(done).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    /// The helper's side: encodes unclaimed columns from the end of the list until it meets
    /// the writer.
    fn help(&self) {
        // The same compressor as the writer's, so the bytes are the same.
        let pages = page_zip(&self.settings);
        for i in (0..self.order.len()).rev() {
            if self.stopped.load(Ordering::Acquire) || self.claim(i, HELPER) != HELPER {
                return;
            }
            // Whatever happens from here, column `i` is delivered: on a panic the guard
            // leaves `Panicked` in its place as the thread unwinds.
            let mut guard = Deliver {
                share: self,
                i,
                what: Some(Delivered::Panicked),
            };
            let (t, id) = self.order[i];
            let spec = meguri_core::schema::spec(t, id).expect("a planned column");
            guard.what = Some(Delivered::Column(encode_column_from(
                t,
                spec,
                self.rows.count(t),
                &mut *self.rows.feed(t),
                &self.opts,
                &pages,
            )));
        }
    }

    /// Tells the helper to claim nothing more (the writer stopped early).
    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }
}

/// Stops the helper when the writer is done with the share, however it ends.
struct StopHelper<'s, 'p>(&'s ColumnShare<'p>);

impl Drop for StopHelper<'_, '_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Puts what the helper made of a column in its place when dropped, panic or not.
struct Deliver<'s, 'p> {
    share: &'s ColumnShare<'p>,
    i: usize,
    what: Option<Delivered>,
}

impl Drop for Deliver<'_, '_> {
    fn drop(&mut self) {
        let mut done = self.share.done.lock().unwrap_or_else(|e| e.into_inner());
        done[self.i] = self.what.take();
        drop(done);
        self.share.delivered.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::partition;
    use meguri_core::write::encode_with;

    #[test]
    fn an_arena_compressed_ahead_encodes_to_the_same_bytes() {
        let p = partition(3, 0, u64::MAX, 40);
        assert!(p.arena.len() > 1000);
        let s = EncodeSettings::default();
        let whole = encode_partition(&p, &s).unwrap();
        // The arena held apart (a copy elsewhere, `p.arena` emptied) and compressed by a
        // thread started before the encode.
        let mut rows = p.clone();
        let arena = std::mem::take(&mut rows.arena);
        let beside = std::thread::scope(|scope| {
            let job = scope.spawn(|| compress_arena(&arena, &s));
            encode_partition_beside(&rows, &arena, &s, job).unwrap()
        });
        assert_eq!(whole, beside);
        let single = encode_with(
            &p,
            &WriteOptions::default(),
            &CZstd::new(s.level),
            &arena_zip(&s),
        )
        .unwrap();
        assert_eq!(whole, single);
    }

    #[test]
    fn columns_shared_between_two_threads_come_out_as_one_thread_writes_them() {
        // Small pages, so each column is many pages and the two threads' claims interleave
        // differently from run to run; the bytes must not.
        let p = partition(40, 0, u64::MAX, 25);
        let s = EncodeSettings {
            page_rows: 7,
            ..EncodeSettings::default()
        };
        let single = encode_with(
            &p,
            &WriteOptions {
                page_rows: 7,
                ..WriteOptions::default()
            },
            &CZstd::new(s.level),
            &arena_zip(&s),
        )
        .unwrap();
        for _ in 0..20 {
            assert_eq!(encode_partition(&p, &s).unwrap(), single);
        }
    }
}
