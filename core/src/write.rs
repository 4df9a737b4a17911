//! The writer: a [`Partition`] to `.meguri` v1 bytes.
//!
//! Invariants this file keeps:
//! - **Deterministic.** No clock, no hash-map order, no threads: the same partition, options and
//!   compressor give the same bytes. Ties in the cascade are broken by a fixed rule.
//! - **v1 only.** Encodings 0, 1, 2, 3, 4, 6; codecs none and zstd; the five regions; footer
//!   sections 1, 2, 3, 7 and 8. Any v1 reader, the reference's included, reads the output.
//! - **One column at a time.** Columns are extracted, paged, encoded and dropped one by one, so
//!   encoding never holds more than one decoded column beside the output.
//! - **Paged.** Columns are cut into pages of `page_rows` rows with a skip list and per-page zone
//!   maps, so readers can prune and stream.

use crate::crc::{crc32c, Crc32c};
use crate::error::{Error, ErrorKind, Result, Table};
use crate::format::codec::Compressor;
use crate::format::encoding::{
    constant_payload_len, encode_values, min_max, union, Encoded, DELTA, DELTA_FOR, DICT, FOR, RAW,
    RLE,
};
use crate::format::footer::{
    encode_meta, encode_regions, encode_section, ColumnDir, RegionDesc, SkipEntry, Stats,
    TAG_HOST_COLUMNS, TAG_META, TAG_REGIONS, TAG_STATS, TAG_URL_COLUMNS,
};
use crate::format::header::{Header, Trailer, VERSION_MAJOR};
use crate::format::page::{
    PageHeader, KIND_BLOB, KIND_DATA, KIND_FILTER, KIND_SCHEDULE, PAGE_HEADER_LEN,
};
use crate::format::{
    FILE_MAGIC, FLAG_BLOB, FLAG_SCHEDULE, FLAG_SEENSET, FLAG_SORTED, HEADER_LEN, REGION_HOST_TABLE,
    REGION_SCHEDULE, REGION_SEENSET, REGION_STRING_BLOB, REGION_URL_TABLE,
};
use crate::partition::Partition;
use crate::schedule::WheelBuilder;
use crate::schema::{self, ColumnSpec, Record, Role, UrlRecord, Value, ValueKind};
use alloc::format;
use alloc::vec::Vec;

/// Writer options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// Rows per column page (the last page of a column may be shorter).
    pub page_rows: usize,
    /// Compress every cascade candidate instead of skipping those the compressor's lower
    /// bound rules out. The output is the same either way (tests check that); this only costs
    /// time.
    pub exhaustive: bool,
}

impl Default for WriteOptions {
    /// 16,384 rows a page: on the corpus, the smallest file of 4,096 to 131,072 (see
    /// docs/format.md), and a page of 8-byte values is then 128 KiB, one zstd block.
    fn default() -> Self {
        WriteOptions {
            page_rows: 16_384,
            exhaustive: false,
        }
    }
}

/// Encodings the cascade tries for an integer or float column, in tie-break order: on equal
/// page sizes the earlier one wins (RAW first: it is the cheapest to decode).
const CASCADE: [u8; 6] = [RAW, FOR, DELTA_FOR, DELTA, RLE, DICT];

/// What a page header says besides its sizes, codec and CRC.
struct PageMeta {
    kind: u8,
    encoding: u8,
    num_values: u32,
    first_row: u32,
    base: u64,
}

/// Appends one page (header + compressed payload) to `out`; returns its header.
fn put_page(out: &mut Vec<u8>, m: PageMeta, payload: &[u8], comp: &dyn Compressor) -> PageHeader {
    // The body is compressed straight into `out` behind a placeholder header, which is then
    // filled in: no per-page buffer.
    let at = out.len();
    out.resize(at + PAGE_HEADER_LEN, 0);
    let codec = comp.compress(payload, out);
    let body = &out[at + PAGE_HEADER_LEN..];
    let h = PageHeader {
        kind: m.kind,
        encoding: m.encoding,
        codec,
        flags: 0,
        num_values: m.num_values,
        uncompressed_size: payload.len() as u32,
        compressed_size: body.len() as u32,
        first_row: m.first_row,
        base: m.base,
        crc: crc32c(body),
    };
    let mut head = Vec::with_capacity(PAGE_HEADER_LEN);
    h.encode(&mut head);
    out[at..at + PAGE_HEADER_LEN].copy_from_slice(&head);
    h
}

/// The smallest page for `vals` among the encodings the cascade allows; returns the page bytes
/// and its encoding.
///
/// Candidates are compressed in order of payload size. A candidate is skipped (and, where its
/// length is known in advance, never even built) only when the compressor's lower bound
/// proves it cannot win: for a constant page, a 1-byte FOR payload beats a 128 KiB RAW one
/// without compressing the latter. So the result is exactly what compressing all six would
/// choose: the smallest page, ties to the earlier encoding in [`CASCADE`].
///
/// `range` is the page's smallest and largest value (a page is constant when they are equal).
fn best_page(
    spec: &ColumnSpec,
    vals: &[u64],
    range: Option<(u64, u64)>,
    first_row: u32,
    comp: &dyn Compressor,
    exhaustive: bool,
) -> (Vec<u8>, u8) {
    let width = spec.width as usize;
    let constant = range.is_some_and(|(lo, hi)| lo == hi);
    // (payload length, cascade rank, encoding, payload if already built). RAW's length, and
    // every length of a constant page, are known without building the payload.
    let mut candidates: Vec<(usize, usize, u8, Option<Encoded>)> = Vec::with_capacity(6);
    for (rank, &enc) in CASCADE.iter().enumerate() {
        let known = if constant {
            constant_payload_len(enc, vals.len(), width)
        } else {
            (enc == RAW).then_some(vals.len() * width)
        };
        match known {
            Some(len) => candidates.push((len, rank, enc, None)),
            None => {
                if let Ok(e) = encode_values(enc, vals, width) {
                    candidates.push((e.payload.len(), rank, enc, Some(e)));
                }
            }
        }
    }
    candidates.sort_by_key(|&(len, rank, _, _)| (len, rank));
    // (page bytes, encoding, cascade rank); `trial` is reused for each losing candidate.
    let mut best: Option<(Vec<u8>, u8, usize)> = None;
    let mut trial = Vec::new();
    for (len, rank, enc, built) in candidates {
        if let Some((b, _, best_rank)) = best.as_ref().filter(|_| !exhaustive) {
            let floor = PAGE_HEADER_LEN + comp.min_output(len);
            if floor > b.len() || (floor == b.len() && rank > *best_rank) {
                continue;
            }
        }
        let Some(e) = built.or_else(|| encode_values(enc, vals, width).ok()) else {
            continue;
        };
        debug_assert_eq!(e.payload.len(), len);
        let mut page = core::mem::take(&mut trial);
        page.clear();
        put_page(
            &mut page,
            PageMeta {
                kind: KIND_DATA,
                encoding: enc,
                num_values: vals.len() as u32,
                first_row,
                base: e.base,
            },
            &e.payload,
            comp,
        );
        let wins = best.as_ref().is_none_or(|(b, _, best_rank)| {
            page.len() < b.len() || (page.len() == b.len() && rank < *best_rank)
        });
        if wins {
            if let Some((old, _, _)) = best.replace((page, enc, rank)) {
                trial = old;
            }
        } else {
            trial = page;
        }
    }
    let (page, enc, _) = best.expect("RAW always encodes");
    (page, enc)
}

/// Where the writer's bytes go, in file order. A `Vec<u8>` collects a whole file in memory; a
/// caller streaming to disk implements it over a file.
pub trait Sink {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]) -> Result<()>;
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.extend_from_slice(bytes);
        Ok(())
    }
}

/// Hands a table's values to the [`Encoder`], column by column and page by page, so neither
/// side ever holds a whole decoded column.
pub trait TableFeed {
    /// Replaces `out` with the values of rows `start..end` of integer column `spec`. For each
    /// column, calls come in row order: the first starts at 0 and each starts where the last
    /// ended.
    fn values(
        &mut self,
        spec: &ColumnSpec,
        start: usize,
        end: usize,
        out: &mut Vec<u64>,
    ) -> Result<()>;

    /// Replaces `out` with the 16-byte values of rows `start..end` of the host table's IP
    /// column (the one opaque column), in the same order as [`TableFeed::values`].
    fn ip_bytes(&mut self, start: usize, end: usize, out: &mut Vec<u8>) -> Result<()>;
}

/// What the header and the stats say of a file, known before its rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Partition id.
    pub id: u32,
    /// Lowest owned host key.
    pub hostkey_lo: u64,
    /// Highest owned host key (inclusive).
    pub hostkey_hi: u64,
    /// Created, epoch-hours.
    pub created_hours: u32,
    /// URL rows the feed will give.
    pub url_count: u64,
    /// Host rows the feed will give.
    pub host_count: u64,
    /// `Some(base)` to write a schedule region, `base` being the smallest nonzero `next_due`
    /// of the URL rows (the wheel is built as the `next_due` column streams past, so the base
    /// must be known first). No region is written when no row is scheduled.
    pub schedule_base: Option<u32>,
    /// Whether to write the extension columns of the URL and the host table
    /// ([`crate::schema::Record::EXT_COLUMNS`]): only when some row holds a value there, so a
    /// partition without meguri's own state writes exactly the reference's columns.
    pub ext: [bool; 2],
}

/// Size and checksum of a page body compressed elsewhere (the string arena, which a streaming
/// writer compresses to a temporary file while it lays the arena out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBody {
    /// The codec the body is in (0 when stored as it is).
    pub codec: u8,
    /// Length before compression.
    pub raw_len: u64,
    /// Length of the body as stored.
    pub len: u64,
    /// CRC-32C of the body as stored.
    pub crc: u32,
}

/// Writes a `.meguri` v1 file to a [`Sink`] in file order: [`Encoder::tables`], then optionally
/// [`Encoder::seen_filter`], then the arena ([`Encoder::arena`] or [`Encoder::begin_arena`]),
/// then [`Encoder::finish`], which returns the header for the caller to place at offset 0 (the
/// sink first receives 64 zero bytes in its place, since the header names the footer's offset).
///
/// The encoder checks that host keys never decrease and stay inside the plan's range, and that
/// the feeds give the planned row counts; ordering by full URL key is the caller's to ensure.
pub struct Encoder<'c, S: Sink> {
    sink: S,
    pos: u64,
    /// The running checksum of the region being written, if one is open.
    region: Option<(u8, u64, Crc32c)>,
    opts: WriteOptions,
    comp: &'c dyn Compressor,
    plan: Plan,
    regions: Vec<RegionDesc>,
    dirs: [Vec<ColumnDir>; 2],
    flags: u16,
    due: DueStats,
    /// `(declared body length, bytes written)` of an arena body being streamed.
    arena_body: Option<(u64, u64)>,
    page: Vec<u8>,
}

/// `next_due` facts gathered as the column streams past.
#[derive(Debug, Default, Clone, Copy)]
struct DueStats {
    scheduled: u64,
    min: Option<u32>,
    max: u32,
}

impl<'c, S: Sink> Encoder<'c, S> {
    /// Starts a file: puts the 64-byte header placeholder.
    pub fn new(
        mut sink: S,
        plan: Plan,
        opts: WriteOptions,
        comp: &'c dyn Compressor,
    ) -> Result<Self> {
        if plan.url_count > u64::from(u32::MAX) || plan.host_count > u64::from(u32::MAX) {
            return Err(Error::new(
                ErrorKind::Limit,
                "a table is too large for v1's 32-bit page fields",
            ));
        }
        sink.put(&[0u8; HEADER_LEN])?;
        Ok(Encoder {
            sink,
            pos: HEADER_LEN as u64,
            region: None,
            opts,
            comp,
            plan,
            regions: Vec::new(),
            dirs: [Vec::new(), Vec::new()],
            flags: FLAG_SORTED,
            due: DueStats::default(),
            arena_body: None,
            page: Vec::new(),
        })
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.sink.put(bytes)?;
        self.pos += bytes.len() as u64;
        if let Some((_, _, crc)) = self.region.as_mut() {
            crc.update(bytes);
        }
        Ok(())
    }

    fn open_region(&mut self, id: u8) {
        self.region = Some((id, self.pos, Crc32c::new()));
    }

    fn close_region(&mut self) {
        if let Some((id, offset, crc)) = self.region.take() {
            self.regions.push(RegionDesc {
                id,
                offset,
                length: self.pos - offset,
                crc: crc.finish(),
                flags: 0,
            });
        }
    }

    /// Writes the URL table, the host table and (when planned) the schedule region.
    pub fn tables(&mut self, urls: &mut dyn TableFeed, hosts: &mut dyn TableFeed) -> Result<()> {
        self.tables_with(urls, hosts, &mut |_, _| None)
    }

    /// [`Encoder::tables`], asking `ahead` for each column that can be encoded apart
    /// ([`encodable_apart`]) before encoding it here: a column `ahead` answers (encoded by
    /// [`encode_column`], on another thread, say) is placed as it is. The bytes are the same
    /// either way.
    pub fn tables_with(
        &mut self,
        urls: &mut dyn TableFeed,
        hosts: &mut dyn TableFeed,
        ahead: &mut dyn FnMut(Table, &ColumnSpec) -> Option<Result<EncodedColumn>>,
    ) -> Result<()> {
        let mut wheel = self.plan.schedule_base.map(WheelBuilder::new);
        for (ti, table) in [Table::Url, Table::Host].into_iter().enumerate() {
            let (rows, region) = match table {
                Table::Url => (self.plan.url_count, REGION_URL_TABLE),
                Table::Host => (self.plan.host_count, REGION_HOST_TABLE),
            };
            self.open_region(region);
            for spec in self.plan.columns(table) {
                if encodable_apart(spec) {
                    if let Some(c) = ahead(table, spec) {
                        let dir = self.put_encoded(table, spec, rows as usize, c?)?;
                        self.dirs[ti].push(dir);
                        continue;
                    }
                }
                let watch = match spec.role {
                    Role::NextDue => Watch::NextDue(wheel.as_mut()),
                    Role::HostKey => Watch::HostKeys(None),
                    _ => Watch::Nothing,
                };
                let feed: &mut dyn TableFeed = match table {
                    Table::Url => &mut *urls,
                    Table::Host => &mut *hosts,
                };
                let dir = self.put_column(table, spec, rows as usize, feed, watch)?;
                self.dirs[ti].push(dir);
            }
            self.close_region();
        }
        if let Some(payload) = wheel.and_then(WheelBuilder::finish) {
            let scheduled = self.due.scheduled;
            self.put_page_region(
                REGION_SCHEDULE,
                PageMeta {
                    kind: KIND_SCHEDULE,
                    encoding: RAW,
                    num_values: scheduled as u32,
                    first_row: 0,
                    base: u64::from(self.plan.schedule_base.unwrap_or(0)),
                },
                &payload,
                self.comp,
            )?;
            self.flags |= FLAG_SCHEDULE;
        }
        Ok(())
    }

    /// Writes the seen-set region holding `blob` (see [`crate::seenset`]).
    pub fn seen_filter(&mut self, blob: &[u8]) -> Result<()> {
        if blob.len() > u32::MAX as usize {
            return Err(Error::new(
                ErrorKind::Limit,
                "the filter is too large for v1's 32-bit page fields",
            ));
        }
        self.put_page_region(
            REGION_SEENSET,
            PageMeta {
                kind: KIND_FILTER,
                encoding: RAW,
                num_values: self.plan.url_count as u32,
                first_row: 0,
                base: 0,
            },
            blob,
            self.comp,
        )?;
        self.flags |= FLAG_SEENSET;
        Ok(())
    }

    /// Writes the string arena region from the whole raw arena, compressed with `comp`.
    pub fn arena(&mut self, raw: &[u8], comp: &dyn Compressor) -> Result<()> {
        if raw.len() > u32::MAX as usize {
            return Err(Error::new(
                ErrorKind::Limit,
                "the arena is too large for v1's 32-bit page fields",
            ));
        }
        self.put_page_region(
            REGION_STRING_BLOB,
            PageMeta {
                kind: KIND_BLOB,
                encoding: RAW,
                num_values: raw.len() as u32,
                first_row: 0,
                base: 0,
            },
            raw,
            comp,
        )?;
        self.flags |= FLAG_BLOB;
        Ok(())
    }

    /// Starts the string arena region from a body compressed elsewhere: puts its page header.
    /// The body follows through [`Encoder::arena_body`], then [`Encoder::end_arena`].
    pub fn begin_arena(&mut self, body: StoredBody) -> Result<()> {
        if body.raw_len > u64::from(u32::MAX) || body.len > u64::from(u32::MAX) {
            return Err(Error::new(
                ErrorKind::Limit,
                "the arena is too large for v1's 32-bit page fields",
            ));
        }
        let h = PageHeader {
            kind: KIND_BLOB,
            encoding: RAW,
            codec: body.codec,
            flags: 0,
            num_values: body.raw_len as u32,
            uncompressed_size: body.raw_len as u32,
            compressed_size: body.len as u32,
            first_row: 0,
            base: 0,
            crc: body.crc,
        };
        let mut head = Vec::with_capacity(PAGE_HEADER_LEN);
        h.encode(&mut head);
        self.open_region(REGION_STRING_BLOB);
        self.put(&head)?;
        self.arena_body = Some((body.len, 0));
        Ok(())
    }

    /// Puts the next bytes of the arena body begun by [`Encoder::begin_arena`].
    pub fn arena_body(&mut self, bytes: &[u8]) -> Result<()> {
        match self.arena_body.as_mut() {
            Some((want, got)) if *got + bytes.len() as u64 <= *want => *got += bytes.len() as u64,
            _ => {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    "arena body bytes beyond the length begin_arena declared",
                ))
            }
        }
        self.put(bytes)
    }

    /// Closes the arena region; the body must have been put whole.
    pub fn end_arena(&mut self) -> Result<()> {
        match self.arena_body.take() {
            Some((want, got)) if want == got => {
                self.close_region();
                self.flags |= FLAG_BLOB;
                Ok(())
            }
            _ => Err(Error::new(
                ErrorKind::Invalid,
                "the arena body is shorter than begin_arena declared",
            )),
        }
    }

    /// Writes the footer and trailer; returns the sink and the 64-byte header that belongs at
    /// offset 0.
    pub fn finish(mut self, meta: &[(Vec<u8>, Vec<u8>)]) -> Result<(S, [u8; HEADER_LEN])> {
        if self.arena_body.is_some() {
            return Err(Error::new(
                ErrorKind::Invalid,
                "the arena body was not ended",
            ));
        }
        let footer_offset = self.pos;
        let mut footer = Vec::new();
        let mut body = Vec::new();
        encode_regions(&mut body, &self.regions);
        encode_section(&mut footer, TAG_REGIONS, &body);
        let [url_dirs, host_dirs] = core::mem::take(&mut self.dirs);
        for (tag, d) in [(TAG_URL_COLUMNS, &url_dirs), (TAG_HOST_COLUMNS, &host_dirs)] {
            body.clear();
            crate::bytes::put_uvarint(&mut body, d.len() as u64);
            for c in d {
                c.encode(&mut body);
            }
            encode_section(&mut footer, tag, &body);
        }
        let all = url_dirs.iter().chain(&host_dirs);
        let p = self.plan;
        let stats = Stats {
            url_count: p.url_count,
            host_count: p.host_count,
            hostkey_lo: p.hostkey_lo,
            hostkey_hi: p.hostkey_hi,
            scheduled_count: self.due.scheduled,
            due_min: self.due.min.unwrap_or(0),
            due_max: self.due.max,
            total_compressed: all.clone().map(|d| d.total_compressed).sum(),
            total_uncompressed: all.map(|d| d.total_uncompressed).sum(),
            bytes_per_url: Stats::bytes_per_url_of(footer_offset, p.url_count),
        };
        body.clear();
        stats.encode(&mut body);
        encode_section(&mut footer, TAG_STATS, &body);
        if !meta.is_empty() {
            let mut meta = meta.to_vec();
            meta.sort();
            body.clear();
            encode_meta(&mut body, &meta);
            encode_section(&mut footer, TAG_META, &body);
        }
        Trailer::of_footer(&footer).encode(&mut footer);
        self.put(&footer)?;
        let header = Header {
            magic: FILE_MAGIC,
            version_major: VERSION_MAJOR,
            version_minor: 0,
            partition_id: p.id,
            flags: self.flags,
            checksum_algo: 1,
            default_codec: self.comp.codec(),
            hostkey_lo: p.hostkey_lo,
            hostkey_hi: p.hostkey_hi,
            url_count: p.url_count,
            host_count: p.host_count,
            footer_offset,
            created_hours: p.created_hours,
            header_crc: 0,
        };
        Ok((self.sink, header.sealed()))
    }

    /// Appends a region holding one page (the wheel, the filter or the arena).
    fn put_page_region(
        &mut self,
        id: u8,
        meta: PageMeta,
        payload: &[u8],
        comp: &dyn Compressor,
    ) -> Result<()> {
        let mut page = core::mem::take(&mut self.page);
        page.clear();
        put_page(&mut page, meta, payload, comp);
        self.open_region(id);
        let r = self.put(&page);
        self.page = page;
        r?;
        self.close_region();
        Ok(())
    }

    /// Encodes one column's pages into the file and returns its directory entry.
    fn put_column(
        &mut self,
        table: Table,
        spec: &ColumnSpec,
        rows: usize,
        feed: &mut dyn TableFeed,
        mut watch: Watch<'_>,
    ) -> Result<ColumnDir> {
        let first_page_offset = self.pos;
        let Encoder {
            sink,
            pos,
            region,
            opts,
            comp,
            plan,
            due,
            ..
        } = self;
        let mut dir = column_pages(
            table,
            spec,
            rows,
            feed,
            opts,
            *comp,
            &mut |vals, start| watch.see(vals, start, plan, table, due),
            &mut |page| {
                sink.put(page)?;
                *pos += page.len() as u64;
                if let Some((_, _, crc)) = region.as_mut() {
                    crc.update(page);
                }
                Ok(())
            },
        )?;
        dir.first_page_offset = first_page_offset;
        Ok(dir)
    }

    /// Places a column encoded apart, after checking it is the one asked for.
    fn put_encoded(
        &mut self,
        table: Table,
        spec: &ColumnSpec,
        rows: usize,
        c: EncodedColumn,
    ) -> Result<ColumnDir> {
        if c.table != table || c.dir.column_id != spec.id || c.dir.num_values != rows as u64 {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!(
                    "a column encoded apart ({} column {}, {} rows) was given for {} column {} \
                     ({rows} rows)",
                    c.table.name(),
                    c.dir.column_id,
                    c.dir.num_values,
                    table.name(),
                    spec.id
                ),
            ));
        }
        let mut dir = c.dir;
        dir.first_page_offset = self.pos;
        self.put(&c.bytes)?;
        Ok(dir)
    }
}

/// A column's pages made apart from the file they go in, by [`encode_column`]: the bytes the
/// [`Encoder`] would have written for it, with its directory entry.
#[derive(Debug, Clone)]
pub struct EncodedColumn {
    table: Table,
    bytes: Vec<u8>,
    dir: ColumnDir,
}

/// Whether a column's pages can be made apart from the file: every column but the host key
/// (whose order the encoder checks as it streams) and `next_due` (which feeds the schedule
/// wheel and the file's due range).
pub fn encodable_apart(spec: &ColumnSpec) -> bool {
    !matches!(spec.role, Role::HostKey | Role::NextDue)
}

/// Encodes column `spec` of `table` of `p` as [`encode_with`] would (same options, same
/// compressor), for [`Encoder::tables_with`] to place. Any thread can run it.
pub fn encode_column(
    p: &Partition,
    table: Table,
    spec: &ColumnSpec,
    opts: &WriteOptions,
    comp: &dyn Compressor,
) -> Result<EncodedColumn> {
    match table {
        Table::Url => encode_column_from(
            table,
            spec,
            p.urls.len(),
            &mut RowsFeed(&p.urls),
            opts,
            comp,
        ),
        Table::Host => encode_column_from(
            table,
            spec,
            p.hosts.len(),
            &mut RowsFeed(&p.hosts),
            opts,
            comp,
        ),
    }
}

/// [`encode_column`] for a table of `rows` rows that `feed` gives: the pages are those the
/// [`Encoder`] would write for the same values, wherever they come from (rows held whole, or a
/// column read back from a file).
pub fn encode_column_from(
    table: Table,
    spec: &ColumnSpec,
    rows: usize,
    feed: &mut dyn TableFeed,
    opts: &WriteOptions,
    comp: &dyn Compressor,
) -> Result<EncodedColumn> {
    let mut bytes = Vec::new();
    let dir = column_pages(
        table,
        spec,
        rows,
        feed,
        opts,
        comp,
        &mut |_, _| Ok(()),
        &mut |page| {
            bytes.extend_from_slice(page);
            Ok(())
        },
    )?;
    Ok(EncodedColumn { table, bytes, dir })
}

/// The page loop of one column, the one place a column's pages are made: reads `rows` values
/// from `feed` a page at a time, shows each page's values to `watch`, picks each page's
/// encoding, hands each page to `emit`, and returns the column's directory entry (its
/// `first_page_offset` left 0 for the caller).
#[allow(clippy::too_many_arguments)]
fn column_pages(
    table: Table,
    spec: &ColumnSpec,
    rows: usize,
    feed: &mut dyn TableFeed,
    opts: &WriteOptions,
    comp: &dyn Compressor,
    watch: &mut dyn FnMut(&[u64], usize) -> Result<()>,
    emit: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<ColumnDir> {
    let width = spec.width as usize;
    let page_rows = opts.page_rows.max(1);
    let mut pages = Vec::new();
    let mut crc = Crc32c::new();
    let mut total_compressed = 0u64;
    let mut first_encoding = RAW;
    let mut start = 0usize;
    let mut vals: Vec<u64> = Vec::with_capacity(page_rows.min(rows));
    let mut ip: Vec<u8> = Vec::new();
    let mut column_zone: Option<(u64, u64)> = None;
    loop {
        let end = (start + page_rows).min(rows);
        let (page, encoding, z) = if spec.kind == ValueKind::Opaque {
            feed.ip_bytes(start, end, &mut ip)?;
            if ip.len() != (end - start) * width {
                return Err(feed_mismatch(table, spec, start, end));
            }
            let mut page = Vec::new();
            put_page(
                &mut page,
                PageMeta {
                    kind: KIND_DATA,
                    encoding: RAW,
                    num_values: (end - start) as u32,
                    first_row: start as u32,
                    base: 0,
                },
                &ip,
                comp,
            );
            (page, RAW, None)
        } else {
            feed.values(spec, start, end, &mut vals)?;
            if vals.len() != end - start {
                return Err(feed_mismatch(table, spec, start, end));
            }
            watch(&vals, start)?;
            let range = min_max(vals.iter().copied());
            let (page, enc) = best_page(spec, &vals, range, start as u32, comp, opts.exhaustive);
            // Zone maps only for unsigned columns: float bit patterns do not order.
            (page, enc, range.filter(|_| spec.kind == ValueKind::Uint))
        };
        if start == 0 {
            first_encoding = encoding;
        }
        column_zone = union(column_zone, z);
        crc.update(&page);
        total_compressed += (page.len() - PAGE_HEADER_LEN) as u64;
        pages.push(SkipEntry {
            first_row: start as u64,
            num_values: (end - start) as u64,
            byte_len: page.len() as u64,
            encoding,
            flags: u8::from(z.is_some()),
            zone_min: z.map_or(0, |z| z.0),
            zone_max: z.map_or(0, |z| z.1),
        });
        emit(&page)?;
        start = end;
        if start >= rows {
            break;
        }
    }
    let num_pages = pages.len() as u64;
    if num_pages == 1 {
        pages.clear();
    }
    let raw = rows as u64 * width as u64;
    Ok(ColumnDir {
        column_id: spec.id,
        first_page_offset: 0,
        total_compressed,
        total_uncompressed: raw,
        num_values: rows as u64,
        num_pages,
        width: spec.width,
        encoding: first_encoding,
        codec: comp.codec(),
        uncompressed_size: raw,
        column_crc: crc.finish(),
        flags: u8::from(column_zone.is_some()),
        zone_min: column_zone.map_or(0, |z| z.0),
        zone_max: column_zone.map_or(0, |z| z.1),
        pages,
        // Known only once the footer is laid out; a writer never reads them.
        entry_offset: 0,
        crc_offset: 0,
    })
}

fn feed_mismatch(table: Table, spec: &ColumnSpec, start: usize, end: usize) -> Error {
    Error::new(
        ErrorKind::Invalid,
        format!(
            "the {} feed gave the wrong number of values for column {} rows {start}..{end}",
            table.name(),
            spec.id
        ),
    )
}

/// What the encoder checks or gathers from a column's values as they stream past.
enum Watch<'w> {
    Nothing,
    /// Host keys: never decreasing, inside the plan's range. Holds the last key seen.
    HostKeys(Option<u64>),
    /// `next_due`: the stats' due facts and the wheel.
    NextDue(Option<&'w mut WheelBuilder>),
}

impl Watch<'_> {
    fn see(
        &mut self,
        vals: &[u64],
        start: usize,
        plan: &Plan,
        table: Table,
        due: &mut DueStats,
    ) -> Result<()> {
        match self {
            Watch::Nothing => {}
            Watch::HostKeys(last) => {
                for (i, &k) in vals.iter().enumerate() {
                    if last.is_some_and(|l| k < l) {
                        return Err(Error::new(
                            ErrorKind::NotSorted,
                            format!(
                                "{} rows {} and {} are out of host-key order",
                                table.name(),
                                start + i - 1,
                                start + i
                            ),
                        ));
                    }
                    if k < plan.hostkey_lo || k > plan.hostkey_hi {
                        return Err(Error::new(
                            ErrorKind::Invalid,
                            format!(
                                "{} row {} has host key {k:#018x}, outside the file's range \
                                 {:#018x}..{:#018x}",
                                table.name(),
                                start + i,
                                plan.hostkey_lo,
                                plan.hostkey_hi
                            ),
                        ));
                    }
                    *last = Some(k);
                }
            }
            Watch::NextDue(wheel) => {
                for &v in vals {
                    let d = v as u32;
                    if d != 0 {
                        due.scheduled += 1;
                        due.min = Some(due.min.map_or(d, |m| m.min(d)));
                    }
                    due.max = due.max.max(d);
                    if let Some(w) = wheel.as_deref_mut() {
                        w.push(d);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Rows of one table held whole, as a [`TableFeed`].
pub struct RowsFeed<'a, R>(pub &'a [R]);

impl<R: Record> RowsFeed<'_, R> {
    fn rows(&self, start: usize, end: usize) -> Result<&[R]> {
        self.0.get(start..end).ok_or_else(|| {
            Error::new(
                ErrorKind::Invalid,
                format!(
                    "rows {start}..{end} asked of a {} table of {} rows",
                    R::TABLE.name(),
                    self.0.len()
                ),
            )
        })
    }
}

impl<R: Record> TableFeed for RowsFeed<'_, R> {
    fn values(
        &mut self,
        spec: &ColumnSpec,
        start: usize,
        end: usize,
        out: &mut Vec<u64>,
    ) -> Result<()> {
        out.clear();
        R::extend_ints(self.rows(start, end)?, spec.id, out)
    }

    fn ip_bytes(&mut self, start: usize, end: usize, out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        let Some(spec) = R::COLUMNS.iter().find(|c| c.kind == ValueKind::Opaque) else {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!("the {} table has no 16-byte column", R::TABLE.name()),
            ));
        };
        for r in self.rows(start, end)? {
            match r.get(spec.id) {
                Some(Value::Wide(b)) => out.extend_from_slice(&b),
                _ => return Err(not_16_bytes(R::TABLE, spec)),
            }
        }
        Ok(())
    }
}

fn not_16_bytes(table: Table, spec: &ColumnSpec) -> Error {
    Error::new(
        ErrorKind::Invalid,
        format!(
            "{} column {} ({}) is not a 16-byte column",
            table.name(),
            spec.id,
            spec.name
        ),
    )
}

/// Encodes `p` as a `.meguri` v1 file, compressing every page with `comp`.
pub fn encode(p: &Partition, opts: &WriteOptions, comp: &dyn Compressor) -> Result<Vec<u8>> {
    encode_with(p, opts, comp, comp)
}

/// Encodes `p` as a `.meguri` v1 file, compressing table, schedule and filter pages with
/// `comp` and the string arena with `arena_comp`. The arena is one large page of text, so it
/// pays to spend more effort (a higher level, a wider window) there than on column pages; the
/// arena is also compressed last, so a caller may start that work early on another thread.
pub fn encode_with(
    p: &Partition,
    opts: &WriteOptions,
    comp: &dyn Compressor,
    arena_comp: &dyn Compressor,
) -> Result<Vec<u8>> {
    encode_with_ahead(
        p,
        ArenaInput::Raw(&p.arena),
        opts,
        comp,
        arena_comp,
        &mut |_, _| None,
    )
}

/// The string arena as [`encode_with_ahead`] takes it.
pub enum ArenaInput<'a> {
    /// The raw arena, compressed with the arena compressor (nothing is written when empty).
    Raw(&'a [u8]),
    /// An arena put by the caller when the encoder reaches it, after the tables (so its
    /// compression may still be running while they encode): `put` writes the region through
    /// [`Encoder::arena`] or [`Encoder::begin_arena`], or nothing for an empty arena.
    /// `raw_len`, its raw length, only sizes the output buffer.
    Put {
        /// The raw arena's length.
        raw_len: u64,
        /// Writes the arena region.
        put: &'a mut dyn FnMut(&mut Encoder<'_, Vec<u8>>) -> Result<()>,
    },
}

/// [`encode_with`], asking `ahead` for columns encoded apart (see [`Encoder::tables_with`]):
/// a caller with a second core encodes some of the columns there with [`encode_column`].
///
/// The string arena is `arena`, not `p.arena` (which is not read): a caller that compresses
/// the arena on another thread while it still changes the rows keeps the two apart.
pub fn encode_with_ahead(
    p: &Partition,
    arena: ArenaInput<'_>,
    opts: &WriteOptions,
    comp: &dyn Compressor,
    arena_comp: &dyn Compressor,
    ahead: &mut dyn FnMut(Table, &ColumnSpec) -> Option<Result<EncodedColumn>>,
) -> Result<Vec<u8>> {
    check_key_order(&p.urls)?;
    let feeds = Feeds {
        plan: Plan::of(p),
        urls: &mut RowsFeed(&p.urls[..]),
        hosts: &mut RowsFeed(&p.hosts[..]),
        seen_filter: &p.seen_filter,
        meta: &p.meta,
    };
    encode_feeds(feeds, arena, opts, comp, arena_comp, ahead)
}

/// Refuses URL rows out of key order: the encoder checks host keys as they stream past, the
/// full key order is the caller's (see [`Encoder`]).
pub fn check_key_order(urls: &[UrlRecord]) -> Result<()> {
    match urls.windows(2).position(|w| w[1].key < w[0].key) {
        Some(i) => Err(Error::new(
            ErrorKind::NotSorted,
            format!("URL rows {i} and {} are out of key order", i + 1),
        )),
        None => Ok(()),
    }
}

/// Everything a file is made of besides its arena, for [`encode_feeds`]: the plan, the two
/// tables' values, the seen-set filter and the metadata.
pub struct Feeds<'a> {
    /// What the header and the stats say.
    pub plan: Plan,
    /// The URL table's values (sorted by key: the caller's to ensure).
    pub urls: &'a mut dyn TableFeed,
    /// The host table's values.
    pub hosts: &'a mut dyn TableFeed,
    /// The seen-set filter blob (empty: no region).
    pub seen_filter: &'a [u8],
    /// The key-value metadata.
    pub meta: &'a [(Vec<u8>, Vec<u8>)],
}

/// [`encode_with_ahead`] from feeds instead of a partition held whole: a caller that holds
/// only some columns as rows gives the others through `ahead`, encoded apart.
pub fn encode_feeds(
    f: Feeds<'_>,
    arena: ArenaInput<'_>,
    opts: &WriteOptions,
    comp: &dyn Compressor,
    arena_comp: &dyn Compressor,
    ahead: &mut dyn FnMut(Table, &ColumnSpec) -> Option<Result<EncodedColumn>>,
) -> Result<Vec<u8>> {
    // A generous guess at the output size saves the copies of repeated doubling; pages never
    // written are never touched, so over-reserving costs address space, not memory.
    let arena_len = match &arena {
        ArenaInput::Raw(a) => a.len(),
        ArenaInput::Put { raw_len, .. } => usize::try_from(*raw_len).unwrap_or(0),
    };
    let rows = usize::try_from(f.plan.url_count + f.plan.host_count).unwrap_or(0);
    let out = Vec::with_capacity(
        HEADER_LEN + 4096 + arena_len + f.seen_filter.len() + 16usize.saturating_mul(rows),
    );
    let mut e = Encoder::new(out, f.plan, *opts, comp)?;
    e.tables_with(f.urls, f.hosts, ahead)?;
    if !f.seen_filter.is_empty() {
        e.seen_filter(f.seen_filter)?;
    }
    match arena {
        ArenaInput::Raw([]) => {}
        ArenaInput::Raw(a) => e.arena(a, arena_comp)?,
        ArenaInput::Put { put, .. } => put(&mut e)?,
    }
    let (mut out, header) = e.finish(f.meta)?;
    out[..HEADER_LEN].copy_from_slice(&header);
    Ok(out)
}

impl Plan {
    /// The plan of a partition held whole.
    pub fn of(p: &Partition) -> Plan {
        Plan {
            id: p.id,
            hostkey_lo: p.hostkey_lo,
            hostkey_hi: p.hostkey_hi,
            created_hours: p.created_hours,
            url_count: p.urls.len() as u64,
            host_count: p.hosts.len() as u64,
            schedule_base: if p.schedule {
                p.urls.iter().map(|u| u.next_due).filter(|&d| d != 0).min()
            } else {
                None
            },
            ext: [
                p.urls.iter().any(Record::has_ext),
                p.hosts.iter().any(Record::has_ext),
            ],
        }
    }

    /// The columns of `table` the file will hold, in file order.
    pub fn columns(&self, table: Table) -> impl Iterator<Item = &'static ColumnSpec> {
        let i = match table {
            Table::Url => 0,
            Table::Host => 1,
        };
        let ext: &[ColumnSpec] = if self.ext[i] {
            schema::ext_columns(table)
        } else {
            &[]
        };
        schema::columns(table).iter().chain(ext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Uncompressed;
    use crate::format::encoding::decode_values;
    use crate::reader::Reader;
    use crate::schema::{host, url, HostRecord, UrlRecord};
    use crate::testing::{file, partition, StoredZstd};

    #[test]
    fn columns_encoded_apart_are_placed_as_the_encoder_would_write_them() {
        let p = partition(5, 9);
        let opts = WriteOptions {
            page_rows: 8,
            ..WriteOptions::default()
        };
        let plan = Plan::of(&p);
        for comp in [&Uncompressed as &dyn Compressor, &StoredZstd] {
            let whole = encode(&p, &opts, comp).unwrap();
            let mut asked = Vec::new();
            let apart = encode_with_ahead(
                &p,
                ArenaInput::Raw(&p.arena),
                &opts,
                comp,
                comp,
                &mut |t, spec| {
                    asked.push((t, spec.id));
                    Some(encode_column(&p, t, spec, &opts, comp))
                },
            )
            .unwrap();
            assert_eq!(apart, whole);
            // Every column but the two host keys and `next_due`, in file order.
            let expected: Vec<(Table, u64)> = [Table::Url, Table::Host]
                .into_iter()
                .flat_map(|t| plan.columns(t).map(move |s| (t, s)))
                .filter(|(_, s)| !matches!(s.role, Role::HostKey | Role::NextDue))
                .map(|(t, s)| (t, s.id))
                .collect();
            assert_eq!(asked, expected);
            let all = schema::columns(Table::Url).len() + schema::columns(Table::Host).len();
            assert_eq!(asked.len(), all - 3);
        }
        // A column given for another is refused, not placed.
        let err = encode_with_ahead(
            &p,
            ArenaInput::Raw(&p.arena),
            &opts,
            &Uncompressed,
            &Uncompressed,
            &mut |t, spec| {
                let other = plan
                    .columns(t)
                    .find(|s| s.id != spec.id && encodable_apart(s))
                    .unwrap();
                Some(encode_column(&p, t, other, &opts, &Uncompressed))
            },
        )
        .unwrap_err();
        assert!(alloc::format!("{err}").contains("encoded apart"), "{err}");
    }

    #[test]
    fn the_same_partition_gives_the_same_bytes() {
        let p = partition(5, 9);
        let a = file(&p, 8);
        assert_eq!(a, file(&p, 8));
        let exhaustive = WriteOptions {
            page_rows: 8,
            exhaustive: true,
        };
        assert_eq!(a, encode(&p, &exhaustive, &Uncompressed).unwrap());
        // The shape: header at 0, footer where it says, trailer at the end.
        let r = Reader::open(&a[..]).unwrap();
        let h = *r.header();
        assert_eq!(a[..HEADER_LEN], h.sealed());
        let t = r.shape().trailer;
        assert_eq!(a[a.len() - 4..], FILE_MAGIC);
        assert_eq!(
            h.footer_offset + u64::from(t.footer_len) + 12,
            a.len() as u64
        );
        let st = r.footer().stats.unwrap();
        let due: Vec<u32> = p.urls.iter().map(|u| u.next_due).collect();
        assert_eq!((st.due_min, st.due_max), Stats::due_range_of(&due));
        assert_eq!(
            st.scheduled_count,
            due.iter().filter(|&&d| d != 0).count() as u64
        );
    }

    /// The page the cascade must pick: the smallest of every encoding that encodes, ties to
    /// the earlier one in [`CASCADE`].
    fn smallest(vals: &[u64], width: usize, comp: &dyn Compressor) -> (usize, u8) {
        CASCADE
            .iter()
            .filter_map(|&enc| {
                let e = encode_values(enc, vals, width).ok()?;
                let mut out = Vec::new();
                comp.compress(&e.payload, &mut out);
                Some((PAGE_HEADER_LEN + out.len(), enc))
            })
            .min_by_key(|&(len, enc)| (len, CASCADE.iter().position(|&c| c == enc)))
            .unwrap()
    }

    #[test]
    fn the_cascade_picks_the_smallest_page() {
        let spec = *schema::spec(Table::Url, url::PATH_KEY).unwrap();
        let mut x = 7u64;
        let noise: Vec<u64> = (0..500)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                x >> 3
            })
            .collect();
        let cases: [(&str, Vec<u64>); 6] = [
            ("constant", alloc::vec![42; 500]),
            ("ascending", (0..500).map(|i| 1_000_000 + 3 * i).collect()),
            ("runs", (0..500).map(|i| i / 100).collect()),
            (
                "few values",
                (0..500).map(|i| [7, 1 << 40, 99][i % 3]).collect(),
            ),
            ("noise", noise),
            ("one value", alloc::vec![5]),
        ];
        for comp in [&Uncompressed as &dyn Compressor, &StoredZstd] {
            for (name, vals) in &cases {
                let range = min_max(vals.iter().copied());
                for exhaustive in [false, true] {
                    let (page, enc) = best_page(&spec, vals, range, 0, comp, exhaustive);
                    assert_eq!((page.len(), enc), smallest(vals, 8, comp), "{name}");
                    // The page decodes to the values.
                    let h = PageHeader::read(page[..PAGE_HEADER_LEN].try_into().unwrap());
                    if h.codec == crate::format::codec::CODEC_NONE {
                        let mut back = Vec::new();
                        let payload = &page[PAGE_HEADER_LEN..];
                        decode_values(enc, payload, vals.len(), h.base, 8, &mut back).unwrap();
                        assert_eq!(&back, vals, "{name}");
                    }
                }
            }
        }
        // Not RAW where RAW is plainly the worst.
        let (_, enc) = best_page(&spec, &cases[0].1, Some((42, 42)), 0, &Uncompressed, false);
        assert_ne!(enc, RAW);
        let (_, enc) = best_page(
            &spec,
            &cases[1].1,
            min_max(cases[1].1.iter().copied()),
            0,
            &Uncompressed,
            false,
        );
        assert!(matches!(enc, DELTA | DELTA_FOR), "ascending keys: {enc}");
    }

    #[test]
    fn zone_maps_for_unsigned_columns_only() {
        let p = partition(6, 5);
        let f = file(&p, 7);
        let r = Reader::open(&f[..]).unwrap();
        for spec in schema::columns(Table::Url)
            .iter()
            .chain(schema::columns(Table::Host))
        {
            let table = if schema::columns(Table::Url).contains(spec) {
                Table::Url
            } else {
                Table::Host
            };
            let dir = r.column_dir(table, spec.id).unwrap();
            let zoned = spec.kind == ValueKind::Uint;
            assert_eq!(
                dir.zone().is_some(),
                zoned,
                "{} {}",
                table.name(),
                spec.name
            );
            for (s, z) in dir.page_spans().iter().zip(dir.page_zones()) {
                assert_eq!(z.is_some(), zoned);
                let Some((lo, hi)) = z else { continue };
                let page = r.read_span(table, spec.id, *s).unwrap();
                let v = page.values.as_ints();
                assert_eq!((lo, hi), min_max(v.iter().copied()).unwrap());
            }
        }
        let due = r
            .column_dir(Table::Url, url::NEXT_DUE)
            .unwrap()
            .zone()
            .unwrap();
        let all: Vec<u64> = p.urls.iter().map(|u| u64::from(u.next_due)).collect();
        assert_eq!(Some(due), min_max(all.iter().copied()));
    }

    #[test]
    fn what_the_format_cannot_hold_is_refused() {
        let mut p = partition(3, 3);
        p.urls.swap(0, 1);
        assert_eq!(
            encode(&p, &WriteOptions::default(), &Uncompressed)
                .unwrap_err()
                .kind,
            ErrorKind::NotSorted
        );
        let mut p = partition(3, 3);
        p.hostkey_hi = 2500;
        let e = encode(&p, &WriteOptions::default(), &Uncompressed).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Invalid);
        assert!(e.message.contains("outside the file's range"), "{e}");
        let mut p = partition(3, 3);
        p.hosts.swap(0, 2);
        assert_eq!(
            encode(&p, &WriteOptions::default(), &Uncompressed)
                .unwrap_err()
                .kind,
            ErrorKind::NotSorted
        );

        let plan = Plan {
            id: 1,
            hostkey_lo: 0,
            hostkey_hi: u64::MAX,
            created_hours: 0,
            url_count: 2,
            host_count: 0,
            schedule_base: None,
            ext: [false; 2],
        };
        // A feed that gives fewer rows than planned.
        let urls = [UrlRecord::default()];
        let mut e = Encoder::new(Vec::new(), plan, WriteOptions::default(), &Uncompressed).unwrap();
        let err = e
            .tables(&mut RowsFeed(&urls[..]), &mut RowsFeed::<HostRecord>(&[]))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        // An arena body longer, or shorter, than declared.
        let mut e = Encoder::new(Vec::new(), plan, WriteOptions::default(), &Uncompressed).unwrap();
        e.begin_arena(StoredBody {
            codec: 0,
            raw_len: 4,
            len: 4,
            crc: 0,
        })
        .unwrap();
        e.arena_body(b"abc").unwrap();
        assert!(e.arena_body(b"de").is_err());
        assert!(e.end_arena().is_err());
        let too_many = Plan {
            url_count: 1 << 33,
            ..plan
        };
        let err = Encoder::new(Vec::new(), too_many, WriteOptions::default(), &Uncompressed);
        assert_eq!(err.err().map(|e| e.kind), Some(ErrorKind::Limit));
    }

    #[test]
    fn a_feed_answers_only_the_columns_its_table_has() {
        let p = partition(2, 2);
        let mut urls = RowsFeed(&p.urls[..]);
        let mut hosts = RowsFeed(&p.hosts[..]);
        let mut out = Vec::new();
        let due = schema::spec(Table::Url, url::NEXT_DUE).unwrap();
        urls.values(due, 1, 3, &mut out).unwrap();
        assert_eq!(
            out,
            [u64::from(p.urls[1].next_due), u64::from(p.urls[2].next_due)]
        );
        // The IP is not an integer column; ids past the schema are no column at all.
        let ip = schema::spec(Table::Host, host::RESOLVED_IP).unwrap();
        assert!(hosts.values(ip, 0, 1, &mut out).is_err());
        let beyond = ColumnSpec { id: 27, ..*due };
        assert!(urls.values(&beyond, 0, 1, &mut out).is_err());
        let mut bytes = Vec::new();
        hosts.ip_bytes(0, 2, &mut bytes).unwrap();
        assert_eq!(bytes[16..], p.hosts[1].resolved_ip);
        assert!(urls.ip_bytes(0, 1, &mut bytes).is_err());
        assert!(urls.values(due, 3, 9, &mut out).is_err());
    }
}
