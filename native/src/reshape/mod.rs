//! Reshaping partitions: writing one output file from row ranges of input files. `compact`
//! (many inputs, one output, optionally dropping old Gone rows) and `split` (one input, many
//! outputs) are both plans of *segments*, and this module writes any such plan.
//!
//! An output is written in three passes, none of which holds a table or an arena whole:
//! 1. **Walk** (this thread): each segment's host and URL rows in host-key order, reading only
//!    the key, reference and (when they matter) status, time and due columns page by page. It
//!    decides which URL rows survive, checks order and ranges, copies the surviving rows'
//!    strings from the inputs' arenas into the new arena (each host's strings, then its URLs'
//!    strings, as `seed` lays them out) and spills the new references.
//! 2. **Arena** (a second thread, from the walk's start): compresses the new arena as the walk
//!    appends it to a spill file, through the same encoder `seed` uses, so the same arena
//!    gives the same bytes.
//! 3. **Tables** (this thread, after the walk): every column of both tables, page by page,
//!    through the writer's [`Encoder`], reading kept rows from the inputs and references from
//!    the spills; then the schedule wheel and seen-set rebuilt over the kept rows, then the
//!    arena, the footer and the header.
//!
//! Memory is a few decoded pages per column stream, the arena cursors' windows, zstd's
//! window, a bit per URL row (which rows survive) and, when a seen-set is rebuilt, the filter.
//! Invariant: the output goes to a temporary file the caller names; it is complete and
//! fsynced when [`write_output`] returns, and nothing else is written.

pub mod arena_in;
pub mod columns;
pub mod error;
pub mod job;
pub mod spill;

use crate::arena_zip::ArenaZip;
use crate::fsource::FileSource;
use arena_in::{Access, ArenaIn};
use columns::{Bits, ColumnStream, SegmentsFeed};
pub use error::{ArenaProblem, Error, Refusal, Result};
use meguri_core::bytes::put_uvarint;
use meguri_core::format::codec::{compression_pays, CODEC_NONE, CODEC_ZSTD};
use meguri_core::keys::UrlKey;
use meguri_core::reader::Reader;
use meguri_core::records::UrlStatus;
use meguri_core::schema::{
    host, url, ARENA_REFS_PER_ROW, HOST_ARENA_REFS, URL_ARENA_REFS, URL_COLUMNS,
};
use meguri_core::seenset::BloomBuilder;
use meguri_core::write::{Encoder, Plan, Sink, StoredBody, WriteOptions};
use meguri_core::{Error as CoreError, ErrorKind, Table};
use spill::{SpillReader, SpillWriter};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// An input partition file, opened (header and footer read and checked).
pub struct Input {
    /// Its path as given.
    pub path: PathBuf,
    /// Its reader.
    pub reader: Reader<FileSource>,
}

impl Input {
    /// Opens `path`.
    pub fn open(path: &Path) -> Result<Input> {
        let src = FileSource::open(path).map_err(Error::io(path.display().to_string()))?;
        let reader = Reader::open_with(src, crate::fsource::read_options()).map_err(|source| {
            Error::Format {
                file: path.display().to_string(),
                source,
            }
        })?;
        // Reshaping walks the reference's columns only; a file with meguri's serving state
        // (the extension columns of a served crawl's snapshot) would lose it.
        for table in [Table::Url, Table::Host] {
            if let Some(c) = meguri_core::schema::ext_columns(table)
                .iter()
                .find(|c| reader.has_column(table, c.id))
            {
                return Err(Refusal::ServingState {
                    file: path.display().to_string(),
                    table: table.name(),
                    column: c.id,
                    name: c.name,
                }
                .into());
            }
        }
        Ok(Input {
            path: path.to_path_buf(),
            reader,
        })
    }

    /// The header's host-key range.
    pub fn range(&self) -> (u64, u64) {
        let h = self.reader.header();
        (h.hostkey_lo, h.hostkey_hi)
    }

    /// The footer CRC from the trailer (what a manifest records as the file's checksum).
    pub fn footer_crc(&self) -> u32 {
        self.reader.shape().trailer.footer_crc
    }

    /// The name used in messages.
    pub fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// Rows of one input that go into an output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Index into the inputs.
    pub input: usize,
    /// URL rows.
    pub urls: Range<u64>,
    /// Host rows.
    pub hosts: Range<u64>,
}

/// Garbage collection of Gone rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gc {
    /// A Gone row is kept while `now - last_crawled < horizon`. At 0 every Gone row goes, and
    /// so does every Gone row that was never crawled (`last_crawled` 0: it has no age).
    pub horizon_hours: u32,
    /// The current time, epoch-hours.
    pub now: u32,
}

impl Gc {
    /// Whether a row with this status and last crawl survives.
    pub fn keeps(&self, status: u64, last_crawled: u32) -> bool {
        status != u64::from(UrlStatus::Gone.raw())
            || (last_crawled != 0 && self.now.saturating_sub(last_crawled) < self.horizon_hours)
    }
}

/// One output file to write.
#[derive(Debug, Clone)]
pub struct OutputPlan {
    /// Partition id.
    pub id: u32,
    /// Host-key range owned.
    pub range: (u64, u64),
    /// Created, epoch-hours.
    pub created_hours: u32,
    /// Key-value metadata.
    pub meta: Vec<(Vec<u8>, Vec<u8>)>,
    /// Where the rows come from, in key order.
    pub segments: Vec<Segment>,
    /// Rebuild a schedule region (when any kept row is scheduled).
    pub schedule: bool,
    /// Rebuild a seen-set (a blocked Bloom filter over the kept URL keys).
    pub seen: bool,
}

/// How pages and the arena are compressed.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Rows per column page.
    pub page_rows: usize,
    /// zstd level of column pages.
    pub level: i32,
    /// The arena's compressor.
    pub arena: ArenaZip,
    /// Drop Gone rows (compact `--gc`).
    pub gc: Option<Gc>,
}

/// What [`write_output`] wrote.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// URL rows written.
    pub urls: u64,
    /// Host rows written.
    pub hosts: u64,
    /// Gone rows dropped.
    pub gone_dropped: u64,
    /// File size.
    pub bytes: u64,
    /// Raw arena bytes.
    pub arena_raw: u64,
    /// How each input's arena was read by the walk.
    pub arena_access: Vec<(usize, Access)>,
    /// Seconds spent in the walk, the tables (while the arena compresses beside them), and
    /// the arena's compression on its own thread.
    pub seconds: Phases,
}

/// Wall-clock seconds per pass of one output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Phases {
    /// Pass 1.
    pub walk: f64,
    /// Pass 3 up to the arena.
    pub tables: f64,
    /// Pass 2, on its own thread from the walk's start.
    pub arena: f64,
    /// Waiting for pass 2, writing the arena, footer and header, fsync.
    pub finish: f64,
}

/// What the walk learned.
struct Walk {
    keep: Vec<Option<Bits>>,
    url_refs: [SpillWriter; 3],
    host_refs: [SpillWriter; 3],
    raw_len: u64,
    urls: u64,
    hosts: u64,
    dropped: u64,
    due_min: Option<u32>,
    bloom: Option<BloomBuilder>,
    access: Vec<(usize, Access)>,
}

/// The writer's error, kept whole.
fn core_err(source: CoreError) -> Error {
    Error::Encode { source }
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> Error {
    Error::io(what.to_string())
}

/// URL columns the walk reads besides the arena references: the key, the status and last
/// crawl (for `--gc`) and the due time (for the wheel).
const URL_WALK: [u64; 5] = [
    url::HOST_KEY,
    url::PATH_KEY,
    url::STATUS,
    url::LAST_CRAWLED,
    url::NEXT_DUE,
];

/// Raw arena bytes on their way to the compressing thread. They go through a spill file
/// rather than memory, so a walk that runs ahead of the compressor costs disk cache, not
/// resident memory: the walk appends a batch to the file, then tells the thread how far the
/// file is complete.
pub struct ChunkSender {
    buf: Vec<u8>,
    file: File,
    written: u64,
    tx: std::sync::mpsc::Sender<u64>,
}

/// Bytes per batch handed to the arena thread.
const BATCH: usize = 1 << 20;

impl ChunkSender {
    fn put(&mut self, b: &[u8]) -> Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= BATCH {
            self.send()?;
        }
        Ok(())
    }
    /// Appends one arena entry (`uvarint len ‖ bytes`); returns its size.
    fn put_entry(&mut self, entry: &[u8]) -> Result<u64> {
        let before = self.buf.len();
        put_uvarint(&mut self.buf, entry.len() as u64);
        self.buf.extend_from_slice(entry);
        let n = (self.buf.len() - before) as u64;
        if self.buf.len() >= BATCH {
            self.send()?;
        }
        Ok(n)
    }

    fn send(&mut self) -> Result<()> {
        self.file
            .write_all_at(&self.buf, self.written)
            .map_err(io_err("arena spill"))?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        self.tx
            .send(self.written)
            .map_err(|_| Error::ArenaThread("stopped early"))
    }
}

/// The compressing thread's side of a [`ChunkSender`]: reads the spill up to each announced
/// length.
fn drain_raw(
    file: &File,
    rx: std::sync::mpsc::Receiver<u64>,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut at = 0u64;
    let mut buf = vec![0u8; BATCH];
    for upto in rx {
        while at < upto {
            let n = ((upto - at) as usize).min(buf.len());
            file.read_exact_at(&mut buf[..n], at)?;
            out.write_all(&buf[..n])?;
            at += n as u64;
        }
    }
    Ok(())
}

/// The new arena being laid out and streamed to the compressor.
struct Layout {
    raw_len: u64,
    out: ChunkSender,
}

impl Layout {
    /// Copies entry `old` of an input's arena into the new arena; returns its new reference
    /// (0 stays 0).
    fn intern(&mut self, old: u64, arena: Option<&mut ArenaIn>) -> Result<u64> {
        if old == 0 {
            return Ok(0);
        }
        let Some(arena) = arena else {
            return Err(Refusal::NoArena(old).into());
        };
        let at = self.raw_len;
        self.raw_len += self.out.put_entry(arena.entry(old)?)?;
        Ok(at)
    }

    /// The new references of a row's three arena references, copying each distinct entry once:
    /// a reference equal to an earlier one of the same row (a registrable domain that is the
    /// host itself, say) shares its new entry.
    fn intern_row(&mut self, old: [u64; 3], mut arena: Option<&mut ArenaIn>) -> Result<[u64; 3]> {
        let mut new = [0u64; 3];
        for i in 0..3 {
            new[i] = match old[..i].iter().position(|&o| o == old[i]) {
                Some(j) => new[j],
                None => self.intern(old[i], arena.as_deref_mut())?,
            };
        }
        Ok(new)
    }
}

/// Refuses a row whose host key lies outside its own file's header range.
fn check_in_range(
    name: &str,
    what: &'static str,
    row: u64,
    key: u64,
    (lo, hi): (u64, u64),
) -> Result<()> {
    if key < lo || key > hi {
        return Err(Refusal::OutOfRange {
            file: name.to_string(),
            table: what,
            row,
            key,
            lo,
            hi,
        }
        .into());
    }
    Ok(())
}

fn walk(
    inputs: &[Input],
    plan: &OutputPlan,
    settings: &Settings,
    tmp: &Path,
    arena_out: ChunkSender,
) -> Result<Walk> {
    let sp = |tag: &str| SpillWriter::new(tmp, tag).map_err(io_err("spill file"));
    let mut layout = Layout {
        raw_len: 1,
        out: arena_out,
    };
    layout.out.put(&[0])?; // the arena's leading 00: no entry sits at offset 0
    let mut url_refs = [sp("url")?, sp("etag")?, sp("redirect")?];
    let mut host_refs = [sp("host")?, sp("registrable")?, sp("robots")?];
    let capacity: u64 = plan
        .segments
        .iter()
        .map(|s| s.urls.end - s.urls.start)
        .sum();
    let mut bloom = plan.seen.then(|| BloomBuilder::new(capacity));
    let (mut urls, mut hosts, mut dropped) = (0u64, 0u64, 0u64);
    let mut due_min: Option<u32> = None;
    let mut keep_all = Vec::new();
    let mut access = Vec::new();
    let mut last_url: Option<(UrlKey, usize)> = None;
    let mut last_host: Option<(u64, usize)> = None;
    for seg in &plan.segments {
        let inp = &inputs[seg.input];
        let name = inp.name();
        let (lo, hi) = inp.range();
        let ctx = |source: CoreError| Error::Format {
            file: name.clone(),
            source,
        };
        let r = &inp.reader;
        let mut arena = ArenaIn::open(r, &inp.path)?;
        // Status and last crawl matter only to --gc, next_due only to a rebuilt schedule.
        let needed = |id: u64| match id {
            url::STATUS | url::LAST_CRAWLED => settings.gc.is_some(),
            url::NEXT_DUE => plan.schedule,
            _ => true,
        };
        // Streams by column id; a column the walk does not read has none.
        let mut u: Vec<Option<ColumnStream<'_>>> = (0..URL_COLUMNS.len() as u64)
            .map(|id| {
                (URL_ARENA_REFS.contains(&id) || (URL_WALK.contains(&id) && needed(id)))
                    .then(|| ColumnStream::new(r, Table::Url, id, seg.urls.clone()))
                    .transpose()
            })
            .collect::<Result<_, _>>()
            .map_err(ctx)?;
        let next = |u: &mut [Option<ColumnStream<'_>>], id: u64| -> Result<u64> {
            match u[id as usize].as_mut() {
                Some(s) => s.take().map_err(ctx),
                None => Ok(0),
            }
        };
        // The host walk reads the host key and the arena references.
        let mut host_keys =
            ColumnStream::new(r, Table::Host, host::HOST_KEY, seg.hosts.clone()).map_err(ctx)?;
        let mut host_ref_cols: Vec<ColumnStream<'_>> = HOST_ARENA_REFS
            .iter()
            .map(|&id| ColumnStream::new(r, Table::Host, id, seg.hosts.clone()))
            .collect::<Result<_, _>>()
            .map_err(ctx)?;
        let gc = settings.gc;
        let mut keep = gc.map(|_| Bits::default());
        let mut next_url: Option<u64> = None;
        let (mut ui, mut hi_) = (0u64, 0u64);
        let (nu, nh) = (
            seg.urls.end - seg.urls.start,
            seg.hosts.end - seg.hosts.start,
        );
        loop {
            if next_url.is_none() && ui < nu {
                next_url = Some(next(&mut u, url::HOST_KEY)?);
            }
            let host_turn = hi_ < nh && {
                // A host's strings go before its URLs' strings.
                let hk = host_keys.peek().map_err(ctx)?;
                next_url.is_none_or(|uk| hk <= uk)
            };
            if host_turn {
                let key = host_keys.take().map_err(ctx)?;
                let row = seg.hosts.start + hi_;
                check_in_range(&name, "host", row, key, (lo, hi))?;
                if let Some((prev, pi)) = last_host {
                    if key <= prev {
                        return Err(order_error(
                            inputs,
                            pi,
                            seg.input,
                            "host key",
                            &format!("{key:#018x}"),
                        ));
                    }
                }
                last_host = Some((key, seg.input));
                let mut old = [0u64; ARENA_REFS_PER_ROW];
                for (o, s) in old.iter_mut().zip(&mut host_ref_cols) {
                    *o = s.take().map_err(ctx)?;
                }
                let new = layout
                    .intern_row(old, arena.as_mut())
                    .map_err(|e| Error::Row {
                        file: name.clone(),
                        table: "host",
                        row,
                        source: Box::new(e),
                    })?;
                for (s, v) in host_refs.iter_mut().zip(new) {
                    s.push(v).map_err(io_err("spill file"))?;
                }
                hosts += 1;
                hi_ += 1;
                continue;
            }
            let Some(hk) = next_url.take() else { break };
            let row = seg.urls.start + ui;
            check_in_range(&name, "URL", row, hk, (lo, hi))?;
            let path = next(&mut u, url::PATH_KEY)?;
            let status = next(&mut u, url::STATUS)?;
            let crawled = next(&mut u, url::LAST_CRAWLED)? as u32;
            let due = next(&mut u, url::NEXT_DUE)? as u32;
            let mut refs = [0u64; ARENA_REFS_PER_ROW];
            for (r, &id) in refs.iter_mut().zip(&URL_ARENA_REFS) {
                *r = next(&mut u, id)?;
            }
            let key = UrlKey { host: hk, path };
            if let Some((prev, pi)) = last_url {
                if key <= prev {
                    return Err(order_error(
                        inputs,
                        pi,
                        seg.input,
                        "URL key",
                        &format!("{:#018x}/{:#018x}", key.host, key.path),
                    ));
                }
            }
            last_url = Some((key, seg.input));
            let kept = gc.is_none_or(|g| g.keeps(status, crawled));
            if let Some(bits) = keep.as_mut() {
                bits.push(ui, kept);
            }
            ui += 1;
            if !kept {
                dropped += 1;
                continue;
            }
            let new = layout
                .intern_row(refs, arena.as_mut())
                .map_err(|e| Error::Row {
                    file: name.clone(),
                    table: "URL",
                    row,
                    source: Box::new(e),
                })?;
            for (s, v) in url_refs.iter_mut().zip(new) {
                s.push(v).map_err(io_err("spill file"))?;
            }
            if due != 0 {
                due_min = Some(due_min.map_or(due, |m| m.min(due)));
            }
            if let Some(b) = bloom.as_mut() {
                b.insert(key);
            }
            urls += 1;
        }
        if let Some(a) = &arena {
            access.push((seg.input, a.access()));
        }
        keep_all.push(keep);
    }
    layout.out.send()?;
    Ok(Walk {
        keep: keep_all,
        url_refs,
        host_refs,
        raw_len: layout.raw_len,
        urls,
        hosts,
        dropped,
        due_min,
        bloom,
        access,
    })
}

fn order_error(inputs: &[Input], a: usize, b: usize, what: &'static str, key: &str) -> Error {
    let key = key.to_string();
    if a == b {
        Refusal::Unordered {
            file: inputs[a].name(),
            what,
            key,
        }
        .into()
    } else {
        Refusal::Interleaved {
            first: inputs[a].name(),
            first_range: inputs[a].range(),
            second: inputs[b].name(),
            second_range: inputs[b].range(),
            what,
            key,
        }
        .into()
    }
}

/// A [`Sink`] over a buffered file.
struct FileSink(BufWriter<File>);

impl Sink for FileSink {
    fn put(&mut self, bytes: &[u8]) -> meguri_core::Result<()> {
        self.0
            .write_all(bytes)
            .map_err(|e| CoreError::new(ErrorKind::Source, format!("write: {e}")))
    }
}

/// The arena size hint: `00` plus every input's entries. It is exact when the inputs' arenas
/// hold exactly the entries their rows use (every file meguri writes), and it only narrows the
/// compression window, so an estimate that is off costs a little ratio, never correctness.
fn arena_hint(inputs: &[Input], plan: &OutputPlan) -> u64 {
    let mut seen: Vec<usize> = plan.segments.iter().map(|s| s.input).collect();
    seen.sort_unstable();
    seen.dedup();
    1 + seen
        .iter()
        .filter_map(|&i| {
            let r = &inputs[i].reader;
            let d = r
                .footer()
                .region(meguri_core::format::REGION_STRING_BLOB)
                .filter(|d| d.length >= meguri_core::format::page::PAGE_HEADER_LEN as u64)?;
            use meguri_core::format::page::PAGE_HEADER_LEN;
            let mut head = [0u8; PAGE_HEADER_LEN];
            use meguri_core::source::Source;
            let b = r.source().read_at(d.offset, head.len()).ok()?;
            head.copy_from_slice(b.get(..PAGE_HEADER_LEN)?);
            let raw = meguri_core::format::page::PageHeader::read(&head).uncompressed_size;
            Some(u64::from(raw).saturating_sub(1))
        })
        .sum::<u64>()
}

/// Writes `plan` to the new file `out` (which must not exist), fsynced. Spill files go to
/// `tmp_dir`.
pub fn write_output(
    inputs: &[Input],
    plan: &OutputPlan,
    settings: &Settings,
    out: &Path,
    tmp_dir: &Path,
) -> Result<Outcome> {
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(Error::io(out.display().to_string()))?;
    let zipped = SpillWriter::new(tmp_dir, "arena").map_err(io_err("spill file"))?;
    let zip = settings.arena;
    let hint = arena_hint(inputs, plan);
    let pages = meguri_core::format::codec::CZstd::new(settings.level);
    let opts = WriteOptions {
        page_rows: settings.page_rows,
        ..WriteOptions::default()
    };
    let mut phases = Phases::default();
    let (tx, rx) = std::sync::mpsc::channel::<u64>();
    let raw_spill = SpillWriter::new(tmp_dir, "raw-arena")
        .and_then(SpillWriter::into_file)
        .map_err(io_err("spill file"))?;
    let raw_read = raw_spill.try_clone().map_err(io_err("spill file"))?;
    std::thread::scope(|scope| -> Result<Outcome> {
        // Pass 2 on its own thread: compress the arena as the walk lays it out.
        let job = scope.spawn(move || -> Result<_> {
            let t = std::time::Instant::now();
            let mut enc = zip.encoder(hint, zipped).map_err(io_err("arena"))?;
            drain_raw(&raw_read, rx, &mut enc).map_err(io_err("arena"))?;
            let (zipped, c) = enc.finish().map_err(io_err("arena"))?;
            Ok((c, zipped, t.elapsed().as_secs_f64()))
        });
        let t = std::time::Instant::now();
        let walked = walk(
            inputs,
            plan,
            settings,
            tmp_dir,
            ChunkSender {
                buf: Vec::with_capacity(BATCH + 4096),
                file: raw_spill,
                written: 0,
                tx,
            },
        );
        let w = match walked {
            Ok(w) => w,
            Err(e) => {
                // The walk's sender is gone, so the arena thread ends; if it failed first
                // (a full disk, say), its error is the cause worth reporting.
                return Err(match job.join() {
                    Ok(Err(arena_error)) => arena_error,
                    _ => e,
                });
            }
        };
        phases.walk = t.elapsed().as_secs_f64();
        if w.raw_len > u64::from(u32::MAX) {
            return Err(Refusal::ArenaTooLarge(w.raw_len).into());
        }
        let Walk {
            keep,
            url_refs,
            host_refs,
            raw_len,
            urls,
            hosts,
            dropped,
            due_min,
            bloom,
            access,
        } = w;
        let core_plan = Plan {
            id: plan.id,
            hostkey_lo: plan.range.0,
            hostkey_hi: plan.range.1,
            created_hours: plan.created_hours,
            url_count: urls,
            host_count: hosts,
            schedule_base: if plan.schedule { due_min } else { None },
            // Inputs with extension columns are refused at open.
            ext: [false; 2],
        };
        let reader_of = |s: [SpillWriter; 3]| -> Result<Vec<SpillReader>> {
            s.into_iter()
                .map(|w| w.into_reader().map_err(io_err("spill file")))
                .collect()
        };
        let url_refs = reader_of(url_refs)?;
        let host_refs = reader_of(host_refs)?;
        // Pass 3 here: the tables.
        let t = std::time::Instant::now();
        let sink = FileSink(BufWriter::with_capacity(1 << 20, file));
        let mut enc = Encoder::new(sink, core_plan, opts, &pages).map_err(core_err)?;
        let mut url_feed = SegmentsFeed::new(
            inputs,
            &plan.segments,
            Table::Url,
            &keep,
            URL_ARENA_REFS.into_iter().zip(url_refs).collect(),
        );
        let mut host_feed = SegmentsFeed::new(
            inputs,
            &plan.segments,
            Table::Host,
            &keep,
            HOST_ARENA_REFS.into_iter().zip(host_refs).collect(),
        );
        enc.tables(&mut url_feed, &mut host_feed)
            .map_err(core_err)?;
        if let Some(b) = bloom {
            enc.seen_filter(&b.finish()).map_err(core_err)?;
        }
        phases.tables = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let (c, zipped, arena_s) = job.join().map_err(|_| Error::ArenaThread("panicked"))??;
        phases.arena = arena_s;
        if c.raw_len != raw_len {
            return Err(Refusal::ArenaMismatch {
                took: c.raw_len,
                laid: raw_len,
            }
            .into());
        }
        let mut zipped = zipped.into_reader().map_err(io_err("spill file"))?;
        if compression_pays(raw_len, c.len) {
            enc.begin_arena(StoredBody {
                codec: CODEC_ZSTD,
                raw_len,
                len: c.len,
                crc: c.crc,
            })
            .map_err(core_err)?;
            copy_into(&mut enc, &mut zipped, c.len)?;
        } else {
            // Compression did not pay (the rule `seed` follows too): store the arena as it is, by
            // decompressing the frame just written rather than keeping a raw copy.
            enc.begin_arena(StoredBody {
                codec: CODEC_NONE,
                raw_len,
                len: raw_len,
                crc: c.raw_crc,
            })
            .map_err(core_err)?;
            let mut raw = zstd::stream::read::Decoder::new(zipped.reader())
                .map_err(io_err("arena"))?
                .take(raw_len);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = raw.read(&mut buf).map_err(io_err("arena"))?;
                if n == 0 {
                    break;
                }
                enc.arena_body(&buf[..n]).map_err(core_err)?;
            }
        }
        enc.end_arena().map_err(core_err)?;
        let (FileSink(buf), header) = enc.finish(&plan.meta).map_err(core_err)?;
        let file = buf
            .into_inner()
            .map_err(|e| Error::io(out.display().to_string())(e.into_error()))?;
        file.write_all_at(&header, 0)
            .and_then(|_| file.sync_all())
            .map_err(Error::io(out.display().to_string()))?;
        let bytes = file.metadata().map_err(io_err("stat"))?.len();
        phases.finish = t.elapsed().as_secs_f64();
        Ok(Outcome {
            urls,
            hosts,
            gone_dropped: dropped,
            bytes,
            arena_raw: raw_len,
            arena_access: access,
            seconds: phases,
        })
    })
}

fn copy_into<S: Sink>(enc: &mut Encoder<'_, S>, src: &mut SpillReader, len: u64) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = (buf.len() as u64).min(left) as usize;
        src.next_bytes(&mut buf[..n])
            .map_err(io_err("arena spill"))?;
        enc.arena_body(&buf[..n]).map_err(core_err)?;
        left -= n as u64;
    }
    Ok(())
}
