//! Encoding a whole in-memory partition, the way `seed`, store checkpoints and `pack` do: column
//! pages with C zstd, and the arena with [`ArenaZip`] on a second thread while the tables are
//! encoded, the columns themselves shared between this thread and a helper. The bytes are those
//! of a single-threaded [`encode_with`]: determinism does not depend on the threads.
//!
//! [`encode_with`]: meguri_core::write::encode_with
//!
//! A job whose arena is final before its tables are (`run`: the drain changes rows, and the
//! arena only when a fetch adds text) compresses it early with [`compress_arena`], on a thread
//! of its own, and hands the result to [`encode_partition_compressed`].

use crate::arena_zip::{ArenaZip, ARENA_LEVEL, ARENA_PARAMS};
use meguri_core::error::Table;
use meguri_core::format::codec::{CZstd, Compressor};
use meguri_core::partition::Partition;
use meguri_core::schema::{ColumnSpec, Role};
use meguri_core::write::{encodable_apart, encode_column, encode_with_ahead, Plan, WriteOptions};

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

/// The arena's compression running on another thread.
type ArenaJob<'s> = std::thread::ScopedJoinHandle<'s, CompressedArena>;

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

/// Where the arena's compressed bytes come from.
enum Pending<'s> {
    /// A thread compressing it.
    Thread(ArenaJob<'s>),
    /// Already compressed.
    Done(CompressedArena),
}

/// A compressor whose one job, the arena, was started before the encoder asked for it; any
/// other input is compressed in place.
struct Background<'a, 's> {
    input: &'a [u8],
    job: std::cell::RefCell<Option<Pending<'s>>>,
    fallback: &'a ArenaZip,
}

impl Compressor for Background<'_, '_> {
    fn codec(&self) -> u8 {
        self.fallback.codec()
    }
    fn compress(&self, input: &[u8], out: &mut Vec<u8>) -> u8 {
        if std::ptr::eq(input, self.input) {
            let done = match self.job.borrow_mut().take() {
                Some(Pending::Thread(job)) => job.join().expect("arena compression thread"),
                Some(Pending::Done(c)) => c,
                None => return self.fallback.compress(input, out),
            };
            out.extend_from_slice(&done.bytes);
            return done.codec;
        }
        self.fallback.compress(input, out)
    }
    fn min_output(&self, len: usize) -> usize {
        self.fallback.min_output(len)
    }
}

/// The column pages' compressor for `settings` (both threads of [`encode_tables`] make theirs
/// here, so a column's bytes do not depend on which one encoded it).
fn page_zip(settings: &EncodeSettings) -> CZstd {
    CZstd::new(settings.level)
}

/// The arena's compressor for `settings`.
fn arena_zip(settings: &EncodeSettings) -> ArenaZip {
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
        encode_tables(p, args, Pending::Thread(job))
    })
}

/// As [`encode_partition`], with `arena` the result of [`compress_arena`] on `p.arena` with
/// the same `args` (the caller's promise; the bytes are then the same).
pub fn encode_partition_compressed(
    p: &Partition,
    args: &EncodeSettings,
    arena: CompressedArena,
) -> meguri_core::error::Result<Vec<u8>> {
    encode_tables(p, args, Pending::Done(arena))
}

/// Encodes the tables, taking the arena's bytes from `pending` when the encoder asks. Every
/// other column that can be encoded apart is encoded on a helper thread while this one
/// encodes the rest, and placed in file order ([`encode_with_ahead`]): a column's pages
/// depend on its values alone, so the bytes are those of one thread.
fn encode_tables(
    p: &Partition,
    args: &EncodeSettings,
    pending: Pending<'_>,
) -> meguri_core::error::Result<Vec<u8>> {
    let pages = page_zip(args);
    let arena = arena_zip(args);
    let opts = WriteOptions {
        page_rows: args.page_rows,
        ..WriteOptions::default()
    };
    let bg = Background {
        input: &p.arena,
        job: std::cell::RefCell::new(Some(pending)),
        fallback: &arena,
    };
    let plan = Plan::of(p);
    let helper = helper_columns(p, &plan);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        let todo = helper.clone();
        scope.spawn(move || {
            // The same compressor as this thread's, so the bytes are the same.
            let pages = page_zip(args);
            for (t, id) in todo {
                let spec = plan
                    .columns(t)
                    .find(|s| s.id == id)
                    .expect("a planned column");
                // The receiver is gone when the encoder stopped early (an error): stop too.
                if tx.send(encode_column(p, t, spec, &opts, &pages)).is_err() {
                    return;
                }
            }
        });
        // Both sides go in file order, so the next column received is the one asked for; the
        // encoder checks that it is, and refuses the file if not.
        let mut ahead = |t: Table, spec: &ColumnSpec| {
            if !helper.contains(&(t, spec.id)) {
                return None;
            }
            rx.recv().ok()
        };
        encode_with_ahead(p, &opts, &pages, &bg, &mut ahead)
    })
}

/// The columns the helper thread encodes: a share of the work as even as a guess allows.
/// Near-unique columns (keys, arena references) cost several times a plain column per row
/// (measured on the corpus: `url_ref` 70 ms, `path_key` 53 ms, most others under 3 ms), so
/// each column is weighed by its rows and that, and given, heaviest first, to the lighter
/// side; this thread starts with the columns only it can encode.
fn helper_columns(p: &Partition, plan: &Plan) -> Vec<(Table, u64)> {
    let weight = |t: Table, s: &ColumnSpec| {
        let rows = match t {
            Table::Url => p.urls.len(),
            Table::Host => p.hosts.len(),
        };
        let per_row = match s.role {
            Role::HostKey | Role::PathKey | Role::ArenaRef => 8,
            _ => 1,
        };
        rows * per_row
    };
    let mut apart = Vec::new();
    let mut here = 0;
    for t in [Table::Url, Table::Host] {
        for s in plan.columns(t) {
            if encodable_apart(s) {
                apart.push((weight(t, s), t, s.id));
            } else {
                here += weight(t, s);
            }
        }
    }
    // This thread also gathers the helper's columns, places the arena and writes the footer,
    // and the two threads slow each other down (shared caches): with the helper's share this
    // much larger, the two finish together on `run -i full.meguri` (measured: 0%, 10%, 20%
    // and 30% of the weight; 30% shortest).
    let total = here + apart.iter().map(|a| a.0).sum::<usize>();
    here += total * 3 / 10;
    // Heaviest first; ties in file order, so the split is a function of the partition.
    apart.sort_by_key(|&(w, t, id)| (std::cmp::Reverse(w), t, id));
    let (mut there, mut helper) = (0, Vec::new());
    for (w, t, id) in apart {
        if there < here {
            there += w;
            helper.push((t, id));
        } else {
            here += w;
        }
    }
    // The encoder asks in file order, and the helper sends in the order it is given.
    helper.sort_unstable();
    helper
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
        let ahead = encode_partition_compressed(&p, &s, compress_arena(&p.arena, &s)).unwrap();
        assert_eq!(whole, ahead);
        let single = encode_with(
            &p,
            &WriteOptions::default(),
            &CZstd::new(s.level),
            &arena_zip(&s),
        )
        .unwrap();
        assert_eq!(whole, single);
    }
}
