//! Snapshots: reading rows of the current one back on demand, and writing a new one from a
//! stream of rows without holding them.
//!
//! Invariants:
//! - A cold read decodes one block of rows outside every lock but the small cache's, so
//!   readers never wait on each other's decoding, and never on a writer.
//! - [`write_snapshot`] holds, beyond the rows the caller already keeps, only bounded buffers:
//!   one spill writer per column (rows go to disk column by column as they stream past), one
//!   page of values per column while the encoder reads them back, the compressed arena's
//!   spill, and zstd's window. Its bytes are those of `encode_partition` on the same rows,
//!   arena and settings (tested): streaming changes memory, not output.

use super::error::{Op, Result, StoreError};
use super::storage::{FileSourceOf, StorageFile};
use crate::arena_zip::{ArenaZip, ARENA_PARAMS};
use crate::encode::EncodeSettings;
use crate::reshape::spill::{SpillReader, SpillWriter};
use meguri_core::format::codec::{compression_pays, CZstd, CODEC_NONE, CODEC_ZSTD};
use meguri_core::reader::Reader;
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::schema::Record;
use meguri_core::schema::{ColumnSpec, ValueKind, HOST_COLUMNS, URL_COLUMNS};
use meguri_core::write::{Encoder, Plan, Sink, StoredBody, WriteOptions};
use meguri_core::{Error, ErrorKind, Table};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Decoded blocks a snapshot keeps for point reads.
const CACHE_BLOCKS: usize = 4;

/// Rows to decode at a time when walking a file's URL table: its largest page, so no page is
/// decoded more than twice (a file whose columns are single pages is decoded once, whole),
/// and at least 4,096.
pub fn row_block<S: meguri_core::source::Source>(reader: &Reader<S>) -> u64 {
    let n = reader.rows(Table::Url);
    let mut block = 4096u64;
    for id in 0..URL_COLUMNS.len() as u64 {
        if let Ok(dir) = reader.column_dir(Table::Url, id) {
            let largest = dir
                .pages
                .iter()
                .map(|p| p.num_values)
                .max()
                .unwrap_or(dir.num_values);
            block = block.max(largest);
        }
    }
    block.min(n.max(1))
}

type Block = Arc<Vec<UrlRecord>>;

/// The current snapshot, for reading rows back.
pub struct ColdSnapshot {
    /// Its file name.
    pub name: String,
    reader: Reader<FileSourceOf>,
    block: u64,
    cache: Mutex<Vec<(u64, Block)>>,
}

impl ColdSnapshot {
    /// Wraps an opened reader.
    pub fn new(name: String, reader: Reader<FileSourceOf>) -> ColdSnapshot {
        ColdSnapshot {
            name,
            block: row_block(&reader),
            reader,
            cache: Mutex::new(Vec::new()),
        }
    }

    /// The reader.
    pub fn reader(&self) -> &Reader<FileSourceOf> {
        &self.reader
    }

    /// URL rows.
    pub fn rows(&self) -> u64 {
        self.reader.rows(Table::Url)
    }

    /// Rows per decoded block.
    pub fn block(&self) -> u64 {
        self.block
    }

    /// Decodes block `b` (rows `b * block ..`), outside any lock.
    pub fn decode_block(&self, b: u64) -> std::result::Result<Block, Error> {
        let start = b * self.block;
        let end = (start + self.block).min(self.rows());
        Ok(Arc::new(self.reader.url_rows(start..end)?))
    }

    /// URL row `row`, through the cache. `Ok(None)` when the snapshot has no such row.
    pub fn url(&self, row: u64) -> std::result::Result<Option<UrlRecord>, ColdError> {
        if row >= self.rows() {
            return Ok(None);
        }
        let b = row / self.block;
        let at = (row - b * self.block) as usize;
        {
            let mut c = self.cache.lock().map_err(|_| ColdError::Poisoned)?;
            if let Some(i) = c.iter().position(|(k, _)| *k == b) {
                let hit = c.remove(i);
                let r = hit.1.get(at).copied();
                c.push(hit);
                return Ok(r);
            }
        }
        let block = self.decode_block(b).map_err(ColdError::Format)?;
        let r = block.get(at).copied();
        let mut c = self.cache.lock().map_err(|_| ColdError::Poisoned)?;
        if !c.iter().any(|(k, _)| *k == b) {
            if c.len() >= CACHE_BLOCKS {
                c.remove(0);
            }
            c.push((b, block));
        }
        Ok(r)
    }
}

/// Why a cold snapshot read failed.
#[derive(Debug)]
pub enum ColdError {
    /// The pages do not decode.
    Format(Error),
    /// The cache's lock was poisoned.
    Poisoned,
}

/// Reads snapshot rows in increasing row order without touching the shared cache (a scan
/// would evict every point read's blocks).
pub struct SnapCursor {
    snap: Arc<ColdSnapshot>,
    at: Option<(u64, Block)>,
}

impl SnapCursor {
    /// A cursor over `snap`.
    pub fn new(snap: Arc<ColdSnapshot>) -> SnapCursor {
        SnapCursor { snap, at: None }
    }

    /// Row `row` (rows asked for should mostly increase).
    pub fn url(&mut self, row: u64) -> std::result::Result<Option<UrlRecord>, Error> {
        if row >= self.snap.rows() {
            return Ok(None);
        }
        let b = row / self.snap.block;
        if self.at.as_ref().is_none_or(|(k, _)| *k != b) {
            self.at = Some((b, self.snap.decode_block(b)?));
        }
        let at = (row - b * self.snap.block) as usize;
        Ok(self.at.as_ref().and_then(|(_, v)| v.get(at).copied()))
    }
}

/// What a snapshot file says of itself, known before its rows are streamed.
#[derive(Debug, Clone)]
pub struct SnapshotSpec {
    /// Partition id.
    pub id: u32,
    /// Created, epoch-hours.
    pub created_hours: u32,
    /// Write a schedule region.
    pub schedule: bool,
    /// How pages and the arena are compressed.
    pub encode: EncodeSettings,
}

/// What [`write_snapshot`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// File bytes.
    pub bytes: u64,
    /// URL rows.
    pub urls: u64,
    /// Host rows.
    pub hosts: u64,
    /// Arena bytes.
    pub arena_len: u64,
}

/// One spill per column of a table (the extension's included), filled row by row and read
/// back column by column.
struct Columns {
    table: Table,
    spills: Vec<SpillWriter>,
    /// Whether some row's extension holds anything (the file then has the extension columns).
    ext: bool,
    rows: u64,
    lo: Option<u64>,
    hi: Option<u64>,
}

fn specs(t: Table) -> impl Iterator<Item = &'static ColumnSpec> {
    let base: &'static [ColumnSpec] = match t {
        Table::Url => &URL_COLUMNS,
        Table::Host => &HOST_COLUMNS,
    };
    base.iter().chain(meguri_core::schema::ext_columns(t))
}

impl Columns {
    fn new(table: Table, dir: &Path) -> std::io::Result<Columns> {
        let spills = specs(table)
            .map(|s| SpillWriter::new(dir, s.name))
            .collect::<std::io::Result<_>>()?;
        Ok(Columns {
            table,
            spills,
            ext: false,
            rows: 0,
            lo: None,
            hi: None,
        })
    }

    fn key(&mut self, k: u64) {
        self.lo.get_or_insert(k);
        self.hi = Some(k);
        self.rows += 1;
    }

    fn push_url(&mut self, r: &UrlRecord) -> std::io::Result<()> {
        for (s, spec) in self.spills.iter_mut().zip(specs(Table::Url)) {
            s.push(r.int(spec.id))?;
        }
        self.ext |= r.has_ext();
        self.key(r.key.host);
        Ok(())
    }

    fn push_host(&mut self, h: &HostRecord) -> std::io::Result<()> {
        for (s, spec) in self.spills.iter_mut().zip(specs(Table::Host)) {
            if spec.kind == ValueKind::Opaque {
                s.write_all(&h.resolved_ip)?;
            } else {
                s.push(h.int(spec.id))?;
            }
        }
        self.ext |= h.has_ext();
        self.key(h.host_key);
        Ok(())
    }

    fn into_feed(self) -> std::io::Result<SpillFeed> {
        let readers = self
            .spills
            .into_iter()
            .map(|s| s.into_reader().map(Some))
            .collect::<std::io::Result<_>>()?;
        Ok(SpillFeed {
            table: self.table,
            readers,
        })
    }
}

/// A [`meguri_core::write::TableFeed`] over column spills: each column is read once, in row
/// order, as the encoder asks for it.
struct SpillFeed {
    table: Table,
    readers: Vec<Option<SpillReader>>,
}

fn io_core(e: std::io::Error) -> Error {
    Error::new(ErrorKind::Source, format!("spill file: {e}"))
}

impl SpillFeed {
    fn reader(&mut self, id: u64) -> meguri_core::Result<&mut SpillReader> {
        self.readers
            .get_mut(id as usize)
            .and_then(Option::as_mut)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Invalid,
                    format!("{} column {id} read twice", self.table.name()),
                )
            })
    }
}

impl meguri_core::write::TableFeed for SpillFeed {
    fn values(
        &mut self,
        spec: &ColumnSpec,
        start: usize,
        end: usize,
        out: &mut Vec<u64>,
    ) -> meguri_core::Result<()> {
        out.clear();
        let r = self.reader(spec.id)?;
        for _ in start..end {
            out.push(r.read_u64().map_err(io_core)?);
        }
        Ok(())
    }

    fn ip_bytes(&mut self, start: usize, end: usize, out: &mut Vec<u8>) -> meguri_core::Result<()> {
        out.clear();
        out.resize((end - start) * 16, 0);
        let id = specs(self.table)
            .find(|s| s.kind == ValueKind::Opaque)
            .map_or(4, |s| s.id);
        self.reader(id)?.next_bytes(out).map_err(io_core)
    }
}

/// A [`Sink`] over a storage file, buffered.
struct FileSink<'f> {
    file: &'f dyn StorageFile,
    buf: Vec<u8>,
    at: u64,
}

impl FileSink<'_> {
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.write_all_at(&self.buf, self.at)?;
        self.at += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

impl Sink for FileSink<'_> {
    fn put(&mut self, bytes: &[u8]) -> meguri_core::Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= 1 << 20 {
            self.flush()
                .map_err(|e| Error::new(ErrorKind::Source, format!("write: {e}")))?;
        }
        Ok(())
    }
}

/// Where the rows and the arena of a snapshot come from.
pub trait SnapshotSource: Sync {
    /// Calls `f` on every URL row, in strictly increasing key order.
    fn urls(&self, f: &mut dyn FnMut(&UrlRecord) -> Result<()>) -> Result<()>;
    /// Calls `f` on every host row, in strictly increasing key order.
    fn hosts(&self, f: &mut dyn FnMut(&HostRecord) -> Result<()>) -> Result<()>;
    /// The arena's length.
    fn arena_len(&self) -> u64;
    /// Copies arena bytes `at..at + out.len()` into `out`.
    fn arena_chunk(&self, at: u64, out: &mut [u8]) -> Result<()>;
}

/// Streams a snapshot from `src` into `out` (which should be empty), and fsyncs nothing: the
/// caller decides. `scratch` holds the column spills (unlinked at once); `ctx` turns errors
/// into the caller's terms (directory and file name).
pub fn write_snapshot(
    src: &dyn SnapshotSource,
    spec: &SnapshotSpec,
    out: &dyn StorageFile,
    scratch: &Path,
    ctx: &ErrCtx,
) -> Result<Written> {
    let io = |what: &'static str| move |e: std::io::Error| ctx.io(Op::Write, what, e);
    let mut urls = Columns::new(Table::Url, scratch).map_err(io("a spill file"))?;
    let mut hosts = Columns::new(Table::Host, scratch).map_err(io("a spill file"))?;
    let arena_len = src.arena_len();
    let zip = ArenaZip {
        level: spec.encode.arena_level,
        params: ARENA_PARAMS,
    };
    let zipped = SpillWriter::new(scratch, "arena").map_err(io("a spill file"))?;
    let (urls_done, arena_done) = std::thread::scope(|scope| {
        // The arena compresses on its own thread while the rows stream to their spills.
        let job = scope.spawn(move || -> Result<_> {
            let mut enc = zip
                .encoder(arena_len, zipped)
                .map_err(io("the arena spill"))?;
            let mut buf = vec![0u8; 1 << 20];
            let mut at = 0u64;
            while at < arena_len {
                let n = (arena_len - at).min(buf.len() as u64) as usize;
                src.arena_chunk(at, &mut buf[..n])?;
                enc.write_all(&buf[..n]).map_err(io("the arena spill"))?;
                at += n as u64;
            }
            enc.finish().map_err(io("the arena spill"))
        });
        let mut due_min: Option<u32> = None;
        let mut last: Option<meguri_core::keys::UrlKey> = None;
        let rows = src.urls(&mut |r| {
            if last.is_some_and(|l| l >= r.key) {
                return Err(ctx.encode(Error::new(
                    ErrorKind::NotSorted,
                    format!("URL rows out of key order at {:?}", r.key),
                )));
            }
            last = Some(r.key);
            if r.next_due != 0 {
                due_min = Some(due_min.map_or(r.next_due, |m| m.min(r.next_due)));
            }
            urls.push_url(r).map_err(io("a spill file"))
        });
        let rows =
            rows.and_then(|()| src.hosts(&mut |h| hosts.push_host(h).map_err(io("a spill file"))));
        (rows.map(|()| due_min), job.join())
    });
    let due_min = urls_done?;
    let (zipped, c) = arena_done
        .map_err(|_| ctx.encode(Error::new(ErrorKind::Invalid, "the arena thread panicked")))??;
    let plan = Plan {
        id: spec.id,
        hostkey_lo: [urls.lo, hosts.lo].into_iter().flatten().min().unwrap_or(0),
        hostkey_hi: [urls.hi, hosts.hi]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(u64::MAX),
        created_hours: spec.created_hours,
        url_count: urls.rows,
        host_count: hosts.rows,
        schedule_base: if spec.schedule { due_min } else { None },
        ext: [urls.ext, hosts.ext],
    };
    let (n_urls, n_hosts) = (urls.rows, hosts.rows);
    let mut url_feed = urls.into_feed().map_err(io("a spill file"))?;
    let mut host_feed = hosts.into_feed().map_err(io("a spill file"))?;
    let pages = CZstd::new(spec.encode.level);
    let opts = WriteOptions {
        page_rows: spec.encode.page_rows,
        ..WriteOptions::default()
    };
    let sink = FileSink {
        file: out,
        buf: Vec::with_capacity((1 << 20) + 4096),
        at: 0,
    };
    let mut enc = Encoder::new(sink, plan, opts, &pages).map_err(|e| ctx.encode(e))?;
    enc.tables(&mut url_feed, &mut host_feed)
        .map_err(|e| ctx.encode(e))?;
    drop((url_feed, host_feed));
    if arena_len > 0 {
        let mut zipped = zipped.into_reader().map_err(io("the arena spill"))?;
        if compression_pays(arena_len, c.len) {
            enc.begin_arena(StoredBody {
                codec: CODEC_ZSTD,
                raw_len: arena_len,
                len: c.len,
                crc: c.crc,
            })
            .map_err(|e| ctx.encode(e))?;
            let mut buf = vec![0u8; 1 << 20];
            let mut left = c.len;
            while left > 0 {
                let n = (buf.len() as u64).min(left) as usize;
                zipped
                    .next_bytes(&mut buf[..n])
                    .map_err(io("the arena spill"))?;
                enc.arena_body(&buf[..n]).map_err(|e| ctx.encode(e))?;
                left -= n as u64;
            }
        } else {
            enc.begin_arena(StoredBody {
                codec: CODEC_NONE,
                raw_len: arena_len,
                len: arena_len,
                crc: c.raw_crc,
            })
            .map_err(|e| ctx.encode(e))?;
            let mut raw = zstd::stream::read::Decoder::new(zipped.reader())
                .map_err(io("the arena spill"))?
                .take(arena_len);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = raw.read(&mut buf).map_err(io("the arena spill"))?;
                if n == 0 {
                    break;
                }
                enc.arena_body(&buf[..n]).map_err(|e| ctx.encode(e))?;
            }
        }
        enc.end_arena().map_err(|e| ctx.encode(e))?;
    }
    let (mut sink, header) = enc.finish(&[]).map_err(|e| ctx.encode(e))?;
    sink.flush().map_err(io("the snapshot"))?;
    out.write_all_at(&header, 0).map_err(io("the snapshot"))?;
    Ok(Written {
        bytes: sink.at,
        urls: n_urls,
        hosts: n_hosts,
        arena_len,
    })
}

/// Names a directory and a file for the errors of a snapshot write.
pub struct ErrCtx {
    /// The directory.
    pub dir: PathBuf,
    /// The file being written.
    pub file: String,
}

impl ErrCtx {
    /// An I/O error of `op` on `what`.
    pub fn io(&self, op: Op, what: &str, e: std::io::Error) -> StoreError {
        StoreError::Io {
            dir: self.dir.clone(),
            op,
            file: if what == "the snapshot" {
                self.file.clone()
            } else {
                format!("{what} for {}", self.file)
            },
            source: e,
        }
    }

    /// A writer error.
    pub fn encode(&self, e: Error) -> StoreError {
        StoreError::Encode {
            dir: self.dir.clone(),
            file: self.file.clone(),
            error: Box::new(e),
        }
    }
}
