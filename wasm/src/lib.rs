//! # meguri-wasm
//!
//! The browser inspector's decoder: `meguri-core` behind a wasm-bindgen API. Nothing here
//! decodes on its own; every value the page shows is computed by the core, and this crate only
//! chooses what to ask for and turns the answer into JSON for the page.
//!
//! A [`MeguriFile`] reads its bytes through a JavaScript callback `read(offset, len)` that
//! returns a `Uint8Array`. In a Web Worker that callback is `FileReaderSync` over
//! `File.slice`, so opening a multi-gigabyte file costs its 64-byte header and its tail, and
//! every later view reads only the ranges it needs.
//!
//! Bad input never panics: every method returns a `JsError` (or a JSON report) instead.

#![forbid(unsafe_code)]

mod arena;
pub mod dir;
pub mod parity;
mod source;
mod steps;
mod verify_steps;
pub mod views;

use arena::{ArenaStream, Resolved};
pub use dir::PartitionDir;
use meguri_core::error::{Error, Place, Table};
use meguri_core::format::codec::codec_name;
use meguri_core::format::encoding::encoding_name;
use meguri_core::format::footer::ColumnDir;
use meguri_core::format::page::locate_page;
use meguri_core::format::{region_name, HEADER_LEN, REGION_STRING_BLOB, TRAILER_LEN};
use meguri_core::inspect::{self, Summary};
use meguri_core::keys;
use meguri_core::manifest::{Entry, Manifest};
use meguri_core::reader::{read_shape, ReadOptions, Reader, Shape};
use meguri_core::records::{source_name, status_name, HostRecord, UrlRecord, HOST_FLAG_NAMES};
use meguri_core::report::{Hex, MapView, RouteView, Subject, VerifyView};
use meguri_core::schema::{host, url};
use meguri_core::source::{read_range, Source};
use meguri_core::verify::{verify_file, verify_manifest, Report};
use source::{JsRead, Shared};
use std::cell::RefCell;
pub use steps::{RegionCheck, Verifier};
use views::{
    to_json, FindOut, HostRowOut, KeysOut, Layout, LayoutColumn, LayoutRegion, PageCheck, PageOut,
    RowsOut, ScheduleOut, SummaryOut, UrlRowOut, Zone,
};
use wasm_bindgen::prelude::*;

/// The most rows one [`MeguriFile::url_rows`] call returns: the page shows a window of rows,
/// and a bound keeps a wrong request from building a huge string.
pub const MAX_ROWS: u64 = 5000;

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn table_of(name: &str) -> Result<Table, JsError> {
    match name {
        "url" => Ok(Table::Url),
        "host" => Ok(Table::Host),
        _ => Err(JsError::new(&format!("no table {name:?} (url or host)"))),
    }
}

/// A `.meguri` file opened lazily over a byte source.
#[wasm_bindgen]
pub struct MeguriFile {
    src: Shared,
    /// The shape as far as it can be read, even when the strict open failed (so the byte map
    /// and the verify report's links still work on a damaged file).
    shape: Option<Shape>,
    reader: Option<Reader<Shared>>,
    open_error: Option<Error>,
    /// The arena, streamed as far as the rows shown need (see [`arena`]).
    arena: RefCell<Option<ArenaStream>>,
}

#[wasm_bindgen]
impl MeguriFile {
    /// Opens a file of `len` bytes whose ranges `read(offset, len)` returns as `Uint8Array`s.
    /// A file that does not open strictly still yields an object: [`Self::open_error`] says
    /// why, and [`Self::verify`] reports every problem.
    #[wasm_bindgen(constructor)]
    pub fn new(len: f64, read: js_sys::Function) -> MeguriFile {
        MeguriFile::over(Shared::js(JsRead::new(len as u64, read)))
    }

    /// Opens a file held in memory (tests, the Node bench and small files).
    pub fn from_bytes(bytes: Vec<u8>) -> MeguriFile {
        MeguriFile::over(Shared::bytes(bytes))
    }

    fn over(src: Shared) -> MeguriFile {
        let opts = ReadOptions::default();
        // A file that opens costs the strict open's two reads; only a file that does not open
        // is read again, leniently, for whatever of its shape can still be shown.
        let (shape, reader, open_error) = match Reader::open_with(src.clone(), opts) {
            Ok(r) => (Some(r.shape().clone()), Some(r), None),
            Err(e) => (read_shape(&src, opts.tail_guess).ok(), None, Some(e)),
        };
        MeguriFile {
            src,
            shape,
            reader,
            open_error,
            arena: RefCell::new(None),
        }
    }

    fn reader(&self) -> Result<&Reader<Shared>, JsError> {
        match (&self.reader, &self.open_error) {
            (Some(r), _) => Ok(r),
            (None, Some(e)) => Err(js_err(e)),
            (None, None) => Err(JsError::new("the file is not open")),
        }
    }

    /// Why the file did not open (`undefined` when it did), as `meguri inspect` would say.
    pub fn open_error(&self) -> Option<String> {
        self.open_error.as_ref().map(ToString::to_string)
    }

    /// The file length.
    pub fn len(&self) -> f64 {
        self.src.len() as f64
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.src.len() == 0
    }

    /// Bytes read from the source so far.
    pub fn bytes_read(&self) -> f64 {
        self.src.bytes_read() as f64
    }

    /// Reads from the source so far.
    pub fn reads(&self) -> f64 {
        self.src.reads() as f64
    }

    /// `meguri inspect`'s facts as the core's [`Summary`] report, with the `--columns` lines
    /// and text and the read counters: `{summary, columns, columns_text, bytes_read, reads}`.
    pub fn summary(&self) -> Result<String, JsError> {
        let r = self.reader()?;
        let s = Summary::from_shape(r.shape());
        let cols = inspect::columns(r.shape());
        Ok(to_json(&SummaryOut {
            columns_text: inspect::render_columns(&cols, s.urls),
            summary: &s,
            columns: &cols,
            bytes_read: self.src.bytes_read(),
            reads: self.src.reads(),
        }))
    }

    /// Where the bytes go: header, regions, every column's pages, footer and trailer, with
    /// offsets and sizes (for the byte map and the budget table). Works on a file whose strict
    /// open failed as long as its footer can be read.
    pub fn layout(&self) -> Result<String, JsError> {
        let shape = self.shape()?;
        let footer_len = shape.file_len - TRAILER_LEN as u64 - shape.footer_start;
        let regions = shape
            .footer
            .regions
            .iter()
            .map(|g| LayoutRegion {
                id: g.id,
                name: region_name(g.id).into_owned(),
                offset: g.offset,
                length: g.length,
                crc: format!("0x{:08x}", g.crc),
            })
            .collect();
        let lines = inspect::columns(shape);
        let columns = lines
            .iter()
            .map(|c| {
                let d = shape.footer.column(c.table, c.id);
                LayoutColumn {
                    line: c,
                    offset: d.map(|d| d.first_page_offset),
                    rows: d.map(|d| d.num_values),
                    codec: d.map(|d| codec_name(d.codec).into_owned()),
                    crc: d.map(|d| format!("0x{:08x}", d.column_crc)),
                    zone: Zone::of(d.and_then(ColumnDir::zone)),
                }
            })
            .collect();
        Ok(to_json(&Layout {
            file_len: shape.file_len,
            header_len: HEADER_LEN as u64,
            footer_start: shape.footer_start,
            footer_len,
            trailer_len: TRAILER_LEN as u64,
            urls: shape.header.url_count,
            hosts: shape.header.host_count,
            regions,
            columns,
        }))
    }

    /// Every page of one column: index, offset, on-disk bytes, first row, rows, encoding and
    /// zone map, from the directory alone.
    pub fn pages(&self, table: &str, column: u32) -> Result<String, JsError> {
        let dir = self.dir(table, column)?;
        let zones = dir.page_zones();
        let out: Vec<PageOut> = dir
            .page_spans()
            .into_iter()
            .map(|s| PageOut {
                page: s.index,
                offset: s.offset,
                bytes: s.byte_len,
                first_row: s.first_row,
                rows: s.num_values,
                encoding: encoding_name(
                    dir.pages
                        .get(s.index as usize)
                        .map_or(dir.encoding, |p| p.encoding),
                )
                .into_owned(),
                zone: Zone::of(zones.get(s.index as usize).copied().flatten()),
            })
            .collect();
        Ok(to_json(&out))
    }

    fn shape(&self) -> Result<&Shape, JsError> {
        self.shape.as_ref().ok_or_else(|| {
            self.open_error
                .as_ref()
                .map_or_else(|| JsError::new("the file's footer cannot be read"), js_err)
        })
    }

    fn dir(&self, table: &str, column: u32) -> Result<&ColumnDir, JsError> {
        let t = table_of(table)?;
        self.shape()?
            .footer
            .column(t, u64::from(column))
            .ok_or_else(|| JsError::new(&format!("{table} column {column} is not in the file")))
    }

    /// Checks the payload CRC32C of pages `first .. first + count` of a column (the page
    /// asks in chunks, so it can show progress and stop). One result per page:
    /// `{page, offset, ok, error}`.
    pub fn check_pages(
        &self,
        table: &str,
        column: u32,
        first: u32,
        count: u32,
    ) -> Result<String, JsError> {
        let dir = self.dir(table, column)?;
        let t = table_of(table)?;
        let mut out = Vec::new();
        for s in dir
            .page_spans()
            .into_iter()
            .skip(first as usize)
            .take(count as usize)
        {
            let place = Place::Column {
                table: t,
                column: u64::from(column),
                page: Some(s.index),
            };
            let checked =
                read_range(&self.src, s.offset, s.byte_len, "page", place).and_then(|bytes| {
                    let p = locate_page(&bytes, s.offset).map_err(|e| e.within(place))?;
                    let crc = meguri_core::crc::crc32c(p.payload);
                    if crc == p.header.crc {
                        Ok(())
                    } else {
                        Err(
                            crc_error(p.header.crc, p.header.compressed_size.into(), crc)
                                .within(place)
                                .at(s.offset + 28),
                        )
                    }
                });
            out.push((s.index, s.offset, checked.err()));
        }
        let view: Vec<PageCheck> = out
            .iter()
            .map(|(page, offset, e)| PageCheck {
                page: *page,
                offset: *offset,
                ok: e.is_none(),
                error: e.as_ref(),
            })
            .collect();
        Ok(to_json(&view))
    }

    /// Starts the CRC check of a region's page (the arena, the wheel, the filter, or a table
    /// region as a whole), which [`RegionCheck::step`] then reads piece by piece.
    pub fn check_region(&self, id: u8) -> Result<RegionCheck, JsError> {
        let desc = self
            .shape()?
            .footer
            .region(id)
            .copied()
            .ok_or_else(|| JsError::new(&format!("the file has no region {id}")))?;
        Ok(RegionCheck::new(self.src.clone(), desc))
    }

    fn arena(&self) -> Result<std::cell::RefMut<'_, ArenaStream>, JsError> {
        let r = self.reader()?;
        let mut a = self.arena.try_borrow_mut().map_err(js_err)?;
        if a.is_none() {
            let desc = r.footer().region(REGION_STRING_BLOB).copied();
            *a = Some(ArenaStream::new(self.src.clone(), desc));
        }
        Ok(std::cell::RefMut::map(a, |a| {
            a.as_mut().expect("set above")
        }))
    }

    /// URL rows `from .. to` (at most [`MAX_ROWS`]), decoding only the pages that hold them:
    /// keys and columns, never the arena. With `with_urls`, the URL strings too, streaming the
    /// arena as far as they need in this one call (tests and small files; the page asks for
    /// strings with [`Self::want_strings`] and [`Self::arena_step`] instead, with progress).
    pub fn url_rows(&self, from: f64, to: f64, with_urls: bool) -> Result<String, JsError> {
        let r = self.reader()?;
        let (from, to) = row_range(r.rows(Table::Url), from, to);
        let rows = r.url_rows(from..to).map_err(js_err)?;
        let strings = if with_urls {
            Some(self.strings_now(rows.iter().map(|u| u.url_ref))?)
        } else {
            None
        };
        let out: Vec<UrlRowOut> = rows
            .iter()
            .enumerate()
            .map(|(i, u)| {
                url_row(
                    from + i as u64,
                    u,
                    strings.as_ref().and_then(|s| s[i].clone()),
                )
            })
            .collect();
        Ok(to_json(&RowsOut {
            table: "url",
            total: r.rows(Table::Url),
            from,
            rows: out,
            arena: with_urls.then(|| self.arena().map(|a| a.state()).unwrap_or_default()),
        }))
    }

    /// Host rows `from .. to` (at most [`MAX_ROWS`]), like [`Self::url_rows`]; `with_hosts`
    /// adds the host names.
    pub fn host_rows(&self, from: f64, to: f64, with_hosts: bool) -> Result<String, JsError> {
        let r = self.reader()?;
        let (from, to) = row_range(r.rows(Table::Host), from, to);
        let rows = r.host_rows(from..to).map_err(js_err)?;
        let strings = if with_hosts {
            Some(self.strings_now(rows.iter().map(|h| h.host_ref))?)
        } else {
            None
        };
        let out: Vec<HostRowOut> = rows
            .iter()
            .enumerate()
            .map(|(i, h)| {
                host_row(
                    from + i as u64,
                    h,
                    strings.as_ref().and_then(|s| s[i].clone()),
                )
            })
            .collect();
        Ok(to_json(&RowsOut {
            table: "host",
            total: r.rows(Table::Host),
            from,
            rows: out,
            arena: with_hosts.then(|| self.arena().map(|a| a.state()).unwrap_or_default()),
        }))
    }

    /// The strings of `refs`, streaming the arena in this call as far as they need.
    fn strings_now(
        &self,
        refs: impl Iterator<Item = u64> + Clone,
    ) -> Result<Vec<Option<String>>, JsError> {
        let mut a = self.arena()?;
        a.want(refs.clone()).map_err(js_err)?;
        while a.waiting() {
            let before = a.state();
            a.step(STEP_BYTES).map_err(js_err)?;
            if a.state().finished && before.finished {
                break;
            }
        }
        Ok(refs.map(|r| a.get(r).and_then(Resolved::shown)).collect())
    }

    /// The strings of rows `from .. to` of a table (`"url"`: the URL, `"host"`: the host
    /// name), as far as they are known now; the rest become the arena stream's pending set,
    /// which [`Self::arena_step`] works off. `{table, from, strings, arena}`, with `null` for
    /// a string not decoded yet (or a row without one).
    pub fn want_strings(&self, table: &str, from: f64, to: f64) -> Result<String, JsError> {
        let r = self.reader()?;
        let t = table_of(table)?;
        let (from, to) = row_range(r.rows(t), from, to);
        let col = match t {
            Table::Url => url::URL_REF,
            Table::Host => host::HOST_REF,
        };
        let refs = r.read_column_rows(t, col, from..to).map_err(js_err)?;
        let refs = refs.as_ints();
        let mut a = self.arena()?;
        a.want(refs.iter().copied()).map_err(js_err)?;
        let strings: Vec<Option<String>> = refs
            .iter()
            .map(|&x| a.get(x).and_then(Resolved::shown))
            .collect();
        Ok(to_json(&StringsOut {
            table: t.name(),
            from,
            strings,
            arena: a.state(),
        }))
    }

    /// Feeds the arena stream up to `piece` more compressed bytes toward the pending strings;
    /// the state after it (`pending` 0: all there).
    pub fn arena_step(&self, piece: f64) -> Result<String, JsError> {
        let mut a = self.arena()?;
        let s = a.step(piece.max(1.0) as u64).map_err(js_err)?;
        Ok(to_json(&s))
    }

    /// The arena stream's state.
    pub fn arena_state(&self) -> Result<String, JsError> {
        Ok(to_json(&self.arena()?.state()))
    }

    /// Finds a host key (`0x…` hex or decimal), a URL (its host and path keys, as `meguri
    /// seed` computes them) or a host name in a table: `{table, host_key, path_key, host,
    /// first_row, count, row}`. Uses the host-key column's page zone maps, so it decodes only
    /// the pages whose range holds the key.
    pub fn find(&self, query: &str) -> Result<String, JsError> {
        self.find_in("url", query)
    }

    /// [`Self::find`] in the `"url"` or the `"host"` table (in the host table a URL or a host
    /// name finds its host's row).
    pub fn find_in(&self, table: &str, query: &str) -> Result<String, JsError> {
        let r = self.reader()?;
        let t = table_of(table)?;
        let q = parse_query(query)?;
        let (first_row, count) = find_key(r, t, q.host)?;
        let mut row = None;
        if let (Table::Url, Some(path), Some(start)) = (t, q.path, first_row) {
            let paths = r
                .read_column_rows(Table::Url, url::PATH_KEY, start..start + count)
                .map_err(js_err)?;
            row = paths
                .as_ints()
                .iter()
                .position(|&p| p == path)
                .map(|i| start + i as u64);
        }
        Ok(to_json(&FindOut {
            table: t.name(),
            host_key: Hex(q.host),
            path_key: if t == Table::Url {
                q.path.map(Hex)
            } else {
                None
            },
            host: q.host_name,
            first_row,
            count,
            row,
        }))
    }

    /// A verify of this file in bounded steps, with progress (see [`Verifier`]): the same
    /// findings as [`Self::verify`] in bounded memory.
    pub fn verifier(&self) -> Verifier {
        Verifier::new(self.src.clone(), self.shape.clone(), ReadOptions::default())
    }

    fn verify_json(&self, report: &Report) -> String {
        to_json(&VerifyView {
            subject: Subject::File,
            report,
            shape: self.shape.as_ref(),
            file_len: self.src.len(),
        })
    }

    /// The schedule wheel: base hour, rows covered and due rows per bucket with each bucket's
    /// first hour offset; `null` when the file has no schedule region.
    pub fn schedule(&self) -> Result<String, JsError> {
        let Some(w) = self.reader()?.schedule().map_err(js_err)? else {
            return Ok("null".into());
        };
        Ok(to_json(&ScheduleOut {
            base: w.base,
            covered: w.covered,
            scheduled: w.scheduled() as u64,
            starts: (0..w.counts.len())
                .map(meguri_core::schedule::bucket_start)
                .collect(),
            counts: w.counts,
        }))
    }
}

/// Whole-file answers for the tests and the parity tables. They are not exported to
/// JavaScript (the page verifies with [`MeguriFile::verifier`]), so the bundle does not carry
/// the whole-file verifier twice.
impl MeguriFile {
    /// The full `verify` report in one call, as the core's [`VerifyView`]: every finding
    /// with the byte range of its structure (for the hex view's highlight). This reads and
    /// decodes the whole file at once (its memory grows with the file); the page uses
    /// [`Self::verifier`] instead, which is bounded and reports progress.
    pub fn verify(&self) -> String {
        let report = verify_file(&self.src, &ReadOptions::default());
        self.verify_json(&report)
    }

    /// The parity digest of the file read through its own source (see [`parity`]).
    pub fn digest(&self) -> String {
        parity::digest_file(&self.src, ReadOptions::default())
    }
}

/// How many compressed bytes one synchronous arena step feeds.
const STEP_BYTES: u64 = 4 << 20;

/// `want_strings`' answer.
#[derive(serde::Serialize)]
struct StringsOut {
    table: &'static str,
    from: u64,
    strings: Vec<Option<String>>,
    arena: views::ArenaState,
}

fn crc_error(stored: u32, len: u64, computed: u32) -> Error {
    Error::new(
        meguri_core::ErrorKind::Checksum,
        format!("page payload CRC32C is 0x{stored:08x} but its {len} bytes give 0x{computed:08x}"),
    )
}

/// Clamps a requested row range to the table and to [`MAX_ROWS`].
fn row_range(total: u64, from: f64, to: f64) -> (u64, u64) {
    let from = (from.max(0.0) as u64).min(total);
    let to = (to.max(0.0) as u64).clamp(from, total).min(from + MAX_ROWS);
    (from, to)
}

fn url_row(row: u64, u: &UrlRecord, url: Option<String>) -> UrlRowOut {
    UrlRowOut {
        row,
        host_key: Hex(u.key.host),
        path_key: Hex(u.key.path),
        status: status_name(u.status).into_owned(),
        priority: u.priority,
        depth: u.depth,
        source: source_name(u.discovery_source).into_owned(),
        url_ref: u.url_ref,
        first_seen: u.first_seen,
        last_crawled: u.last_crawled,
        last_changed: u.last_changed,
        next_due: u.next_due,
        lambda: u.lambda,
        crawl_count: u.crawl_count,
        change_count: u.change_count,
        http_status: u.http_status,
        error_count: u.error_count,
        url,
    }
}

fn host_row(row: u64, h: &HostRecord, host: Option<String>) -> HostRowOut {
    let ip = (h.resolved_ip != [0; 16]).then(|| {
        let v6 = std::net::Ipv6Addr::from(h.resolved_ip);
        v6.to_ipv4_mapped()
            .map_or_else(|| v6.to_string(), |v4| v4.to_string())
    });
    let flags: Vec<&str> = HOST_FLAG_NAMES
        .iter()
        .filter(|(bit, _)| h.flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    HostRowOut {
        row,
        host_key: Hex(h.host_key),
        host_ref: h.host_ref,
        host,
        grouping: if h.grouping == 0 {
            "registrable"
        } else {
            "host"
        },
        registrable_ref: h.registrable_ref,
        ip,
        ip_expiry: h.ip_expiry,
        robots_fetched: h.robots_fetched,
        robots_expiry: h.robots_expiry,
        crawl_delay: h.crawl_delay,
        host_next_eligible: h.host_next_eligible,
        url_budget: h.url_budget,
        url_count: h.url_count,
        depth_cap: h.depth_cap,
        host_score: h.host_score,
        crawl_total: h.crawl_total,
        error_total: h.error_total,
        avg_latency: h.avg_latency,
        flags: flags.join("|"),
    }
}

/// The first row and the number of rows whose host key (column 0) is `key`, decoding only
/// the pages whose zone map holds it.
fn find_key(r: &Reader<Shared>, t: Table, key: u64) -> Result<(Option<u64>, u64), JsError> {
    let dir = r.column_dir(t, 0).map_err(js_err)?;
    let zones = dir.page_zones();
    let mut first_row = None;
    let mut count = 0u64;
    for s in dir.page_spans() {
        if let Some(Some((lo, hi))) = zones.get(s.index as usize) {
            if key < *lo || key > *hi {
                continue;
            }
        }
        let page = r.read_span(t, 0, s).map_err(js_err)?;
        for (i, &k) in page.values.as_ints().iter().enumerate() {
            if k == key {
                first_row.get_or_insert(s.first_row + i as u64);
                count += 1;
            }
        }
    }
    Ok((first_row, count))
}

/// A host key and, for a URL, its path key; for a URL or a host name, the host.
struct Query {
    host: u64,
    path: Option<u64>,
    host_name: Option<String>,
}

/// `0x…` hex or decimal is a host key (as `meguri map --host` reads it); anything else is a
/// URL (or a bare host name, which is a URL without a path), keyed the way `meguri seed` keys
/// it.
fn parse_query(q: &str) -> Result<Query, JsError> {
    let t = q.trim();
    if t.is_empty() {
        return Err(JsError::new(
            "type a host key (0x… or decimal), a host name or a URL",
        ));
    }
    let hexed = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"));
    let key = |r: std::result::Result<u64, std::num::ParseIntError>| {
        r.map(|host| Query {
            host,
            path: None,
            host_name: None,
        })
        .map_err(|e| JsError::new(&format!("host key {t:?}: {e}")))
    };
    if let Some(h) = hexed {
        return key(u64::from_str_radix(h, 16));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return key(t.parse::<u64>());
    }
    let k = keys::seed_key(t, "");
    Ok(Query {
        host: k.host,
        path: Some(k.path),
        host_name: Some(keys::host_of(t).to_string()),
    })
}

/// The keys of a query, as [`MeguriFile::find`] and [`Catalog::route`] compute them:
/// `{host_key, path_key, host}`.
#[wasm_bindgen]
pub fn keys_of(query: &str) -> Result<String, JsError> {
    let q = parse_query(query)?;
    Ok(to_json(&KeysOut {
        host_key: Hex(q.host),
        path_key: q.path.map(Hex),
        host: q.host_name.as_deref(),
    }))
}

/// Partitions and their ranges: a parsed manifest, or the files dropped together.
#[wasm_bindgen]
pub struct Catalog {
    m: Manifest,
    /// The manifest's verify report, when the catalog came from manifest bytes.
    report: Option<Report>,
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::new()
    }
}

/// `tiling()`: the core's map report and, for a manifest, its verify report.
#[derive(serde::Serialize)]
struct TilingOut<'a> {
    map: MapView<'a>,
    verify: Option<VerifyView<'a>>,
}

#[wasm_bindgen]
impl Catalog {
    /// An empty catalog, to which dropped files are added.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Catalog {
        Catalog {
            m: Manifest::default(),
            report: None,
        }
    }

    /// Parses a `meguri.manifest`; a manifest that does not parse is an error whose text
    /// says where.
    pub fn from_manifest(bytes: &[u8]) -> Result<Catalog, JsError> {
        let m = Manifest::parse(bytes).map_err(js_err)?;
        Ok(Catalog {
            m,
            report: Some(verify_manifest(bytes)),
        })
    }

    /// Adds a file's entry (id, range and counts from its header and footer), named `name`.
    pub fn add_file(&mut self, file: &MeguriFile, name: &str) -> Result<(), JsError> {
        let shape = file.reader()?.shape();
        self.m
            .entries
            .push(Entry::of_file(shape, name.as_bytes().to_vec(), 0));
        Ok(())
    }

    /// Adds a partition directory of a data root: its snapshot's partition id, the host-key
    /// range and epoch its current superblock slot owns, its live counts. A directory without
    /// a checkpoint has no slot to own a range and is refused.
    pub fn add_dir(&mut self, dir: &PartitionDir) -> Result<(), JsError> {
        let e = dir
            .entry()
            .ok_or_else(|| JsError::new("the directory has no checkpoint, so no owned range"))?;
        self.m.entries.push(e);
        Ok(())
    }

    /// `{map, verify}`: the core's [`MapView`] (entries, the tiling at the catalog's epoch
    /// with every gap and overlap, the `meguri map` text) and, for a manifest, its
    /// [`VerifyView`] (`null` for dropped files).
    pub fn tiling(&self) -> String {
        let t = self.m.tiling();
        to_json(&TilingOut {
            map: MapView {
                manifest: &self.m,
                tiling: &t,
            },
            verify: self.report.as_ref().map(|r| VerifyView {
                subject: Subject::Manifest,
                report: r,
                shape: None,
                file_len: 0,
            }),
        })
    }

    /// Routes a host key or a URL at the catalog's epoch: the core's [`RouteView`] (`{host_key,
    /// epoch, owners, route, text}`).
    pub fn route(&self, query: &str) -> Result<String, JsError> {
        let q = parse_query(query)?;
        Ok(to_json(&RouteView {
            manifest: &self.m,
            host_key: q.host,
        }))
    }
}

/// Decodes every column, the arena, the wheel and the filter of an in-memory file and returns
/// how many values it decoded (the Node throughput bench; `examples/decode_bench.rs` is the
/// native side).
#[wasm_bindgen]
pub fn decode_all(bytes: &[u8]) -> Result<f64, JsError> {
    parity::decode_everything(bytes, ReadOptions::default())
        .map(|n| n as f64)
        .map_err(js_err)
}

/// The parity digest of an in-memory input (file or manifest), as the native test computes it
/// (for the tests; not exported to JavaScript).
pub fn digest_bytes(bytes: &[u8]) -> String {
    parity::digest(bytes, ReadOptions::default())
}

/// Traps on purpose (wasm's `unreachable`, as a panic or an allocation failure would): the
/// page's end-to-end test uses it to show that the page recovers from a trap. Natively it
/// does nothing.
#[wasm_bindgen]
pub fn self_test_trap() {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
}

/// The verify report of an in-memory manifest, as the core's [`VerifyView`].
#[wasm_bindgen]
pub fn verify_manifest_bytes(bytes: &[u8]) -> String {
    to_json(&VerifyView {
        subject: Subject::Manifest,
        report: &verify_manifest(bytes),
        shape: None,
        file_len: 0,
    })
}
