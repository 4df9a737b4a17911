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
    constant_payload_len, encode_values, min_max, Encoded, DELTA, DELTA_FOR, DICT, FOR, RAW, RLE,
};
use crate::format::footer::{
    encode_meta, encode_regions, encode_section, ColumnDir, RegionDesc, SkipEntry, Stats,
    TAG_HOST_COLUMNS, TAG_META, TAG_REGIONS, TAG_STATS, TAG_URL_COLUMNS,
};
use crate::format::header::{Header, VERSION_MAJOR};
use crate::format::page::{
    PageHeader, KIND_BLOB, KIND_DATA, KIND_FILTER, KIND_SCHEDULE, PAGE_HEADER_LEN,
};
use crate::format::{
    FILE_MAGIC, FLAG_BLOB, FLAG_SCHEDULE, FLAG_SEENSET, FLAG_SORTED, HEADER_LEN, REGION_HOST_TABLE,
    REGION_SCHEDULE, REGION_SEENSET, REGION_STRING_BLOB, REGION_URL_TABLE,
};
use crate::partition::Partition;
use crate::records::{HostRecord, UrlRecord};
use crate::schedule::Wheel;
use crate::schema::{self, ColumnSpec, ValueKind};
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

/// The getter of URL column `id`: a row's value as the column stores it.
pub fn url_field(id: u64) -> fn(&UrlRecord) -> u64 {
    match id {
        0 => |u| u.key.host,
        1 => |u| u.key.path,
        2 => |u| u64::from(u.status),
        3 => |u| u64::from(u.priority.to_bits()),
        4 => |u| u64::from(u.depth),
        5 => |u| u64::from(u.discovery_source),
        6 => |u| u.url_ref,
        7 => |u| u64::from(u.first_seen),
        8 => |u| u64::from(u.last_crawled),
        9 => |u| u64::from(u.last_changed),
        10 => |u| u64::from(u.next_due),
        11 => |u| u64::from(u.lambda.to_bits()),
        12 => |u| u64::from(u.crawl_count),
        13 => |u| u64::from(u.change_count),
        14 => |u| u64::from(u.no_change_streak),
        15 => |u| u.etag_ref,
        16 => |u| u64::from(u.last_modified),
        17 => |u| u.content_fp,
        18 => |u| u.simhash,
        19 => |u| u64::from(u.http_status),
        20 => |u| u.redirect_ref,
        21 => |u| u64::from(u.retry_count),
        _ => |u| u64::from(u.error_count),
    }
}

/// The getter of host column `id` (column 4, the 16-byte IP, is not an integer: see
/// [`HostRecord::resolved_ip`]).
pub fn host_field(id: u64) -> fn(&HostRecord) -> u64 {
    match id {
        0 => |h| h.host_key,
        1 => |h| h.host_ref,
        2 => |h| u64::from(h.grouping),
        3 => |h| h.registrable_ref,
        5 => |h| u64::from(h.ip_expiry),
        6 => |h| u64::from(h.robots_fetched),
        7 => |h| u64::from(h.robots_expiry),
        8 => |h| h.robots_ref,
        9 => |h| u64::from(h.crawl_delay),
        10 => |h| u64::from(h.host_next_eligible),
        11 => |h| u64::from(h.ip_next_eligible),
        12 => |h| u64::from(h.url_budget),
        13 => |h| u64::from(h.url_count),
        14 => |h| u64::from(h.depth_cap),
        15 => |h| u64::from(h.host_score.to_bits()),
        16 => |h| u64::from(h.crawl_total),
        17 => |h| u64::from(h.error_total),
        18 => |h| u64::from(h.avg_latency),
        _ => |h| u64::from(h.flags),
    }
}

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

/// Encodes one column's pages onto `out` and returns its directory entry.
fn put_column(
    out: &mut Vec<u8>,
    spec: &ColumnSpec,
    vals: ColumnSource<'_>,
    rows: usize,
    opts: &WriteOptions,
    comp: &dyn Compressor,
) -> ColumnDir {
    let first_page_offset = out.len() as u64;
    let width = spec.width as usize;
    let page_rows = opts.page_rows.max(1);
    let mut pages = Vec::new();
    let mut crc = Crc32c::new();
    let mut total_compressed = 0u64;
    let mut first_encoding = RAW;
    let mut start = 0usize;
    let mut buf: Vec<u64> = Vec::with_capacity(page_rows.min(rows));
    let mut column_zone: Option<(u64, u64)> = None;
    loop {
        let end = (start + page_rows).min(rows);
        let (page, encoding, z) = match &vals {
            ColumnSource::Ip(hosts) => {
                let mut payload = Vec::with_capacity((end - start) * width);
                for h in &hosts[start..end] {
                    payload.extend_from_slice(&h.resolved_ip);
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
                    &payload,
                    comp,
                );
                (page, RAW, None)
            }
            int => {
                int.fill(start, end, &mut buf);
                let range = min_max(buf.iter().copied());
                let (page, enc) = best_page(spec, &buf, range, start as u32, comp, opts.exhaustive);
                // Zone maps only for unsigned columns: float bit patterns do not order.
                (page, enc, range.filter(|_| spec.kind == ValueKind::Uint))
            }
        };
        if start == 0 {
            first_encoding = encoding;
        }
        if let Some((lo, hi)) = z {
            column_zone = Some(column_zone.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        }
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
        out.extend_from_slice(&page);
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
    ColumnDir {
        column_id: spec.id,
        first_page_offset,
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
        entry_offset: 0,
    }
}

/// Where a column's values come from: pages are filled from the rows one at a time, so the
/// writer never holds a whole decoded column.
enum ColumnSource<'a> {
    Url(&'a [UrlRecord], fn(&UrlRecord) -> u64),
    Host(&'a [HostRecord], fn(&HostRecord) -> u64),
    /// Host column 4, the 16-byte IP, always RAW.
    Ip(&'a [HostRecord]),
}

impl ColumnSource<'_> {
    /// Replaces `buf` with the values of rows `start..end`.
    fn fill(&self, start: usize, end: usize, buf: &mut Vec<u64>) {
        buf.clear();
        match self {
            ColumnSource::Url(rows, f) => buf.extend(rows[start..end].iter().map(f)),
            ColumnSource::Host(rows, f) => buf.extend(rows[start..end].iter().map(f)),
            ColumnSource::Ip(_) => unreachable!("the IP column is not integer-valued"),
        }
    }
}

/// Appends a region holding one page (the wheel, the filter or the arena).
fn put_page_region(
    out: &mut Vec<u8>,
    regions: &mut Vec<RegionDesc>,
    id: u8,
    meta: PageMeta,
    payload: &[u8],
    comp: &dyn Compressor,
) {
    let start = out.len();
    put_page(out, meta, payload, comp);
    put_region(out, id, start, regions);
}

fn put_region(out: &[u8], id: u8, start: usize, regions: &mut Vec<RegionDesc>) {
    regions.push(RegionDesc {
        id,
        offset: start as u64,
        length: (out.len() - start) as u64,
        crc: crc32c(&out[start..]),
        flags: 0,
    });
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
    if let Some(i) = p.urls.windows(2).position(|w| w[1].key < w[0].key) {
        return Err(Error::new(
            ErrorKind::NotSorted,
            format!("URL rows {i} and {} are out of key order", i + 1),
        ));
    }
    if let Some(i) = p
        .hosts
        .windows(2)
        .position(|w| w[1].host_key < w[0].host_key)
    {
        return Err(Error::new(
            ErrorKind::NotSorted,
            format!("host rows {i} and {} are out of key order", i + 1),
        ));
    }
    if p.urls.len() > u32::MAX as usize
        || p.arena.len() > u32::MAX as usize
        || p.seen_filter.len() > u32::MAX as usize
    {
        return Err(Error::new(
            ErrorKind::Limit,
            "a table, the arena or the filter is too large for v1's 32-bit page fields",
        ));
    }
    // A generous guess at the output size saves the copies of repeated doubling; pages never
    // written are never touched, so over-reserving costs address space, not memory.
    let mut out = Vec::with_capacity(
        HEADER_LEN
            + 4096
            + p.arena.len()
            + p.seen_filter.len()
            + 16 * (p.urls.len() + p.hosts.len()),
    );
    out.resize(HEADER_LEN, 0);
    let mut regions = Vec::new();
    let mut dirs: [Vec<ColumnDir>; 2] = [Vec::new(), Vec::new()];
    for (ti, table) in [Table::Url, Table::Host].into_iter().enumerate() {
        let start = out.len();
        let rows = if table == Table::Url {
            p.urls.len()
        } else {
            p.hosts.len()
        };
        for spec in schema::columns(table) {
            let vals = match (table, spec.kind) {
                (Table::Host, ValueKind::Opaque) => ColumnSource::Ip(&p.hosts),
                (Table::Url, _) => ColumnSource::Url(&p.urls, url_field(spec.id)),
                (Table::Host, _) => ColumnSource::Host(&p.hosts, host_field(spec.id)),
            };
            dirs[ti].push(put_column(&mut out, spec, vals, rows, opts, comp));
        }
        let id = match table {
            Table::Url => REGION_URL_TABLE,
            Table::Host => REGION_HOST_TABLE,
        };
        put_region(&out, id, start, &mut regions);
    }
    let mut flags = FLAG_SORTED;
    let next_due: Vec<u32> = p.urls.iter().map(|u| u.next_due).collect();
    if p.schedule {
        if let Some(w) = Wheel::build(&next_due) {
            let mut payload = Vec::new();
            w.encode(&mut payload);
            put_page_region(
                &mut out,
                &mut regions,
                REGION_SCHEDULE,
                PageMeta {
                    kind: KIND_SCHEDULE,
                    encoding: RAW,
                    num_values: w.scheduled() as u32,
                    first_row: 0,
                    base: u64::from(w.base),
                },
                &payload,
                comp,
            );
            flags |= FLAG_SCHEDULE;
        }
    }
    if !p.seen_filter.is_empty() {
        put_page_region(
            &mut out,
            &mut regions,
            REGION_SEENSET,
            PageMeta {
                kind: KIND_FILTER,
                encoding: RAW,
                num_values: p.urls.len() as u32,
                first_row: 0,
                base: 0,
            },
            &p.seen_filter,
            comp,
        );
        flags |= FLAG_SEENSET;
    }
    if !p.arena.is_empty() {
        put_page_region(
            &mut out,
            &mut regions,
            REGION_STRING_BLOB,
            PageMeta {
                kind: KIND_BLOB,
                encoding: RAW,
                num_values: p.arena.len() as u32,
                first_row: 0,
                base: 0,
            },
            &p.arena,
            arena_comp,
        );
        flags |= FLAG_BLOB;
    }
    let footer_offset = out.len() as u64;
    let [url_dirs, host_dirs] = dirs;
    let mut body = Vec::new();
    encode_regions(&mut body, &regions);
    encode_section(&mut out, TAG_REGIONS, &body);
    for (tag, d) in [(TAG_URL_COLUMNS, &url_dirs), (TAG_HOST_COLUMNS, &host_dirs)] {
        body.clear();
        crate::bytes::put_uvarint(&mut body, d.len() as u64);
        for c in d {
            c.encode(&mut body);
        }
        encode_section(&mut out, tag, &body);
    }
    let all = url_dirs.iter().chain(&host_dirs);
    let (due_min, due_max) = Stats::due_range_of(&next_due);
    let stats = Stats {
        url_count: p.urls.len() as u64,
        host_count: p.hosts.len() as u64,
        hostkey_lo: p.hostkey_lo,
        hostkey_hi: p.hostkey_hi,
        scheduled_count: next_due.iter().filter(|&&d| d != 0).count() as u64,
        due_min,
        due_max,
        total_compressed: all.clone().map(|d| d.total_compressed).sum(),
        total_uncompressed: all.map(|d| d.total_uncompressed).sum(),
        bytes_per_url: Stats::bytes_per_url_of(footer_offset, p.urls.len() as u64),
    };
    body.clear();
    stats.encode(&mut body);
    encode_section(&mut out, TAG_STATS, &body);
    if !p.meta.is_empty() {
        let mut meta = p.meta.clone();
        meta.sort();
        body.clear();
        encode_meta(&mut body, &meta);
        encode_section(&mut out, TAG_META, &body);
    }
    let footer_len = out.len() as u64 - footer_offset;
    let footer_crc = crc32c(&out[footer_offset as usize..]);
    out.extend_from_slice(&(footer_len as u32).to_le_bytes());
    out.extend_from_slice(&footer_crc.to_le_bytes());
    out.extend_from_slice(&FILE_MAGIC);
    let header = Header {
        magic: FILE_MAGIC,
        version_major: VERSION_MAJOR,
        version_minor: 0,
        partition_id: p.id,
        flags,
        checksum_algo: 1,
        default_codec: comp.codec(),
        hostkey_lo: p.hostkey_lo,
        hostkey_hi: p.hostkey_hi,
        url_count: p.urls.len() as u64,
        host_count: p.hosts.len() as u64,
        footer_offset,
        created_hours: p.created_hours,
        header_crc: 0,
    };
    out[..HEADER_LEN].copy_from_slice(&header.encode());
    Ok(out)
}
