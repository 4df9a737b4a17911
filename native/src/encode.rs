//! Encoding a whole in-memory partition, the way `seed`, store checkpoints and `pack` do: column
//! pages with C zstd, and the arena with [`ArenaZip`] on a second thread while the tables are
//! encoded. The bytes are those of a single-threaded [`encode_with`]: determinism does not
//! depend on the threads.

use crate::arena_zip::{ArenaZip, ARENA_LEVEL, ARENA_PARAMS};
use meguri_core::format::codec::{CZstd, Compressor};
use meguri_core::partition::Partition;
use meguri_core::write::{encode_with, WriteOptions};

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

/// The arena's compression running on another thread: its codec and bytes.
type ArenaJob<'s> = std::thread::ScopedJoinHandle<'s, (u8, Vec<u8>)>;

/// A compressor whose one job, the arena, was started on another thread before the encoder
/// asked for it; any other input is compressed in place.
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
                let (codec, bytes) = job.join().expect("arena compression thread");
                out.extend_from_slice(&bytes);
                return codec;
            }
        }
        self.fallback.compress(input, out)
    }
    fn min_output(&self, len: usize) -> usize {
        self.fallback.min_output(len)
    }
}

/// Encodes the partition, compressing the arena on a second thread while this one encodes
/// the tables. The bytes are the same as a single-threaded [`encode_with`].
pub fn encode_partition(
    p: &Partition,
    args: &EncodeSettings,
) -> meguri_core::error::Result<Vec<u8>> {
    let pages = CZstd::new(args.level);
    let arena = ArenaZip {
        level: args.arena_level,
        params: ARENA_PARAMS,
    };
    let opts = WriteOptions {
        page_rows: args.page_rows,
        ..WriteOptions::default()
    };
    std::thread::scope(|scope| {
        let arena_bytes = &p.arena;
        let job = scope.spawn(move || {
            let mut out = Vec::new();
            let codec = arena.compress(arena_bytes, &mut out);
            (codec, out)
        });
        let bg = Background {
            input: &p.arena,
            job: std::cell::RefCell::new(Some(job)),
            fallback: &arena,
        };
        encode_with(p, &opts, &pages, &bg)
    })
}
