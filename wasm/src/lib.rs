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

pub mod json;
pub mod parity;
mod source;

use json::{hex, Json};
use meguri_core::error::{Error, Finding, Place, Table};
use meguri_core::format::codec::codec_name;
use meguri_core::format::encoding::encoding_name;
use meguri_core::format::footer::ColumnDir;
use meguri_core::format::page::locate_page;
use meguri_core::format::{region_name, HEADER_LEN, TRAILER_LEN};
use meguri_core::inspect::{self, Summary};
use meguri_core::keys;
use meguri_core::manifest::{render_map, render_route, Entry, Manifest};
use meguri_core::reader::{read_shape, ReadOptions, Reader, Shape};
use meguri_core::records::{source_name, status_name};
use meguri_core::schema::url;
use meguri_core::source::{read_range, Source};
use meguri_core::verify::{verify_file, verify_manifest, Report};
use source::{JsRead, Shared};
use std::cell::RefCell;
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
    /// The decompressed arena, kept after the first rows request that needs URL strings.
    arena: RefCell<Option<Vec<u8>>>,
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

    /// The facts `meguri inspect` prints, as JSON, with its exact text under `text`.
    pub fn summary(&self) -> Result<String, JsError> {
        let r = self.reader()?;
        let s = Summary::from_shape(r.shape());
        let cols = inspect::columns(r.shape());
        let mut regions = Json::array();
        for g in &s.regions {
            regions.push_raw(
                &Json::object()
                    .num("id", g.id)
                    .str("name", &g.name)
                    .u64("offset", g.offset)
                    .u64("length", g.length)
                    .done(),
            );
        }
        let mut encs = Json::array();
        for (name, n) in &s.encodings {
            encs.push_raw(
                &Json::object()
                    .str("name", name)
                    .u64("columns", *n as u64)
                    .done(),
            );
        }
        let mut meta = Json::array();
        for (k, v) in &s.meta {
            meta.push_raw(
                &Json::object()
                    .str("key", &String::from_utf8_lossy(k))
                    .str("value", &String::from_utf8_lossy(v))
                    .done(),
            );
        }
        let text = s.render() + &inspect::render_columns(&cols, s.urls);
        let mut j = Json::object()
            .str("version", &format!("{}.{}", s.version.0, s.version.1))
            .num("partition_id", s.partition_id)
            .u64("file_size", s.file_size)
            .hex("hostkey_lo", s.hostkey_range.0)
            .hex("hostkey_hi", s.hostkey_range.1)
            .u64("urls", s.urls)
            .u64("hosts", s.hosts)
            .u64("url_columns", s.url_columns as u64)
            .u64("host_columns", s.host_columns as u64)
            .str("checksum", &s.checksum)
            .str("default_codec", &s.default_codec)
            .num("created_hours", s.created_hours)
            .str("flags", &s.flag_names)
            .str("bytes_per_url", &inspect::fixed2(s.bytes_per_url));
        j = match s.due_range {
            Some((lo, hi)) => j.raw(
                "due_range",
                &Json::object().num("lo", lo).num("hi", hi).done(),
            ),
            None => j.null("due_range"),
        };
        Ok(j.raw("regions", &regions.done())
            .raw("encodings", &encs.done())
            .raw("meta", &meta.done())
            .str("text", &text)
            .u64("bytes_read", self.src.bytes_read())
            .u64("reads", self.src.reads())
            .done())
    }

    /// Where the bytes go: header, regions, every column's pages, footer and trailer, with
    /// offsets and sizes (for the byte map and the budget table). Works on a file whose strict
    /// open failed as long as its footer can be read.
    pub fn layout(&self) -> Result<String, JsError> {
        let shape = self.shape.as_ref().ok_or_else(|| {
            self.open_error
                .as_ref()
                .map_or_else(|| JsError::new("no shape"), js_err)
        })?;
        let footer_len = shape.file_len - TRAILER_LEN as u64 - shape.footer_start;
        let mut regions = Json::array();
        for g in &shape.footer.regions {
            regions.push_raw(
                &Json::object()
                    .num("id", g.id)
                    .str("name", &region_name(g.id))
                    .u64("offset", g.offset)
                    .u64("length", g.length)
                    .str("crc", &format!("0x{:08x}", g.crc))
                    .done(),
            );
        }
        let mut cols = Json::array();
        for c in inspect::columns(shape) {
            let dir = shape.footer.column(c.table, c.id);
            let mut encs = Json::array();
            for (e, n) in &c.encodings {
                encs.push_raw(
                    &Json::object()
                        .str("name", &encoding_name(*e))
                        .u64("pages", *n)
                        .done(),
                );
            }
            let mut j = Json::object()
                .str("table", c.table.name())
                .u64("id", c.id)
                .str("name", c.name)
                .num("width", c.width)
                .u64("pages", c.pages)
                .u64("bytes", c.bytes)
                .u64("raw_bytes", c.raw_bytes)
                .raw("encodings", &encs.done());
            if let Some(d) = dir {
                j = j
                    .u64("offset", d.first_page_offset)
                    .u64("rows", d.num_values)
                    .str("codec", &codec_name(d.codec))
                    .str("crc", &format!("0x{:08x}", d.column_crc));
                j = zone(j, d.zone());
            }
            cols.push_raw(&j.done());
        }
        let urls = shape.header.url_count;
        Ok(Json::object()
            .u64("file_len", shape.file_len)
            .u64("header_len", HEADER_LEN as u64)
            .u64("footer_start", shape.footer_start)
            .u64("footer_len", footer_len)
            .u64("trailer_len", TRAILER_LEN as u64)
            .u64("urls", urls)
            .raw("regions", &regions.done())
            .raw("columns", &cols.done())
            .done())
    }

    /// Every page of one column: index, offset, on-disk bytes, first row, rows, encoding and
    /// zone map, from the directory alone.
    pub fn pages(&self, table: &str, column: u32) -> Result<String, JsError> {
        let dir = self.dir(table, column)?;
        let mut out = Json::array();
        let zones = dir.page_zones();
        for s in dir.page_spans() {
            let enc = dir
                .pages
                .get(s.index as usize)
                .map_or(dir.encoding, |p| p.encoding);
            let j = Json::object()
                .num("page", s.index)
                .u64("offset", s.offset)
                .u64("bytes", s.byte_len)
                .u64("first_row", s.first_row)
                .u64("rows", s.num_values)
                .str("encoding", &encoding_name(enc));
            out.push_raw(&zone(j, zones.get(s.index as usize).copied().flatten()).done());
        }
        Ok(out.done())
    }

    fn dir(&self, table: &str, column: u32) -> Result<&ColumnDir, JsError> {
        let t = table_of(table)?;
        let shape = self
            .shape
            .as_ref()
            .ok_or_else(|| JsError::new("the file's footer cannot be read"))?;
        shape
            .footer
            .column(t, u64::from(column))
            .ok_or_else(|| JsError::new(&format!("{table} column {column} is not in the file")))
    }

    /// Checks the payload CRC32C of pages `first .. first + count` of a column (the page
    /// asks in chunks, so it can show progress and stop). One result per page:
    /// `{page, ok, offset, error?}`.
    pub fn check_pages(
        &self,
        table: &str,
        column: u32,
        first: u32,
        count: u32,
    ) -> Result<String, JsError> {
        let dir = self.dir(table, column)?;
        let t = table_of(table)?;
        let mut out = Json::array();
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
                        Err(Error::new(
                            meguri_core::ErrorKind::Checksum,
                            format!(
                                "page payload CRC32C is 0x{:08x} but its {} bytes give 0x{crc:08x}",
                                p.header.crc, p.header.compressed_size
                            ),
                        )
                        .within(place)
                        .at(s.offset + 28))
                    }
                });
            let j = Json::object()
                .num("page", s.index)
                .u64("offset", s.offset)
                .bool("ok", checked.is_ok());
            out.push_raw(
                &match checked {
                    Ok(()) => j,
                    Err(e) => j.str("error", &e.to_string()),
                }
                .done(),
            );
        }
        Ok(out.done())
    }

    fn with_arena<T>(&self, f: impl FnOnce(&[u8]) -> T) -> Result<T, JsError> {
        if self.arena.borrow().is_none() {
            let a = self.reader()?.arena().map_err(js_err)?;
            *self.arena.borrow_mut() = Some(a);
        }
        let a = self.arena.borrow();
        Ok(f(a.as_deref().unwrap_or_default()))
    }

    /// URL rows `from .. to` (at most [`MAX_ROWS`]), decoding only the pages that hold them.
    /// With `with_urls`, URL strings come from the arena (decompressed once, on first use).
    pub fn url_rows(&self, from: f64, to: f64, with_urls: bool) -> Result<String, JsError> {
        let r = self.reader()?;
        let total = r.rows(Table::Url);
        let from = (from.max(0.0) as u64).min(total);
        let to = (to.max(0.0) as u64).clamp(from, total).min(from + MAX_ROWS);
        let rows = r.url_rows(from..to).map_err(js_err)?;
        let strings = |arena: &[u8]| -> Vec<Option<String>> {
            let a = meguri_core::arena::Arena(arena);
            rows.iter()
                .map(|u| {
                    a.get(u.url_ref)
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                })
                .collect()
        };
        let urls = if with_urls {
            self.with_arena(strings)?
        } else {
            vec![None; rows.len()]
        };
        let mut out = Json::array();
        for (i, (u, url)) in rows.iter().zip(urls).enumerate() {
            let mut j = Json::object()
                .u64("row", from + i as u64)
                .hex("host_key", u.key.host)
                .hex("path_key", u.key.path)
                .str("status", &status_name(u.status))
                .num("priority", u.priority)
                .num("depth", u.depth)
                .str("source", &source_name(u.discovery_source))
                .u64("url_ref", u.url_ref)
                .num("first_seen", u.first_seen)
                .num("last_crawled", u.last_crawled)
                .num("last_changed", u.last_changed)
                .num("next_due", u.next_due)
                .num("lambda", u.lambda)
                .num("crawl_count", u.crawl_count)
                .num("change_count", u.change_count)
                .num("http_status", u.http_status)
                .num("error_count", u.error_count);
            j = match url {
                Some(s) => j.str("url", &s),
                None => j.null("url"),
            };
            out.push_raw(&j.done());
        }
        Ok(Json::object()
            .u64("total", total)
            .u64("from", from)
            .raw("rows", &out.done())
            .done())
    }

    /// Finds the URL rows of a host key (`0x…` hex or decimal) or of a URL (its host and path
    /// keys computed by the core's key functions): `{host_key, path_key, first_row, count,
    /// row}`. Uses the host-key column's page zone maps, so it decodes only the pages whose
    /// range holds the key.
    pub fn find(&self, query: &str) -> Result<String, JsError> {
        let r = self.reader()?;
        let q = parse_query(query)?;
        let dir = r.column_dir(Table::Url, url::HOST_KEY).map_err(js_err)?;
        let zones = dir.page_zones();
        let mut first_row = None;
        let mut count = 0u64;
        for s in dir.page_spans() {
            if let Some(Some((lo, hi))) = zones.get(s.index as usize) {
                if q.host < *lo || q.host > *hi {
                    continue;
                }
            }
            let page = r.read_span(Table::Url, url::HOST_KEY, s).map_err(js_err)?;
            for (i, &k) in page.values.as_ints().iter().enumerate() {
                if k == q.host {
                    first_row.get_or_insert(s.first_row + i as u64);
                    count += 1;
                }
            }
        }
        let mut row = None;
        if let (Some(path), Some(start)) = (q.path, first_row) {
            let paths = r
                .read_column_rows(Table::Url, url::PATH_KEY, start..start + count)
                .map_err(js_err)?;
            row = paths
                .as_ints()
                .iter()
                .position(|&p| p == path)
                .map(|i| start + i as u64);
        }
        let mut j = Json::object().hex("host_key", q.host);
        j = match q.path {
            Some(p) => j.hex("path_key", p),
            None => j.null("path_key"),
        };
        j = match first_row {
            Some(f) => j.u64("first_row", f),
            None => j.null("first_row"),
        };
        j = j.u64("count", count);
        j = match row {
            Some(x) => j.u64("row", x),
            None => j.null("row"),
        };
        Ok(j.done())
    }

    /// The full `verify` report: every finding with its severity, place, byte offset and the
    /// byte range of the structure it is about (for the hex view's highlight).
    pub fn verify(&self) -> String {
        let report = verify_file(&self.src, &ReadOptions::default());
        report_json(&report, |f| self.extent(f), "file")
    }

    /// The byte range of the structure a finding is about, as far as the shape tells it.
    fn extent(&self, f: &Finding) -> (u64, u64) {
        let len = self.src.len();
        let at = f.error.offset;
        let sh = self.shape.as_ref();
        let region = |id: u8| {
            sh.and_then(|s| s.footer.region(id))
                .map(|g| (g.offset, g.length))
        };
        let found = match f.error.place {
            Place::Header => Some((0, HEADER_LEN as u64)),
            Place::Trailer => Some((len.saturating_sub(TRAILER_LEN as u64), TRAILER_LEN as u64)),
            Place::Footer => {
                sh.map(|s| (s.footer_start, len - TRAILER_LEN as u64 - s.footer_start))
            }
            Place::Section(tag) => sh.and_then(|s| {
                s.footer
                    .sections
                    .iter()
                    .find(|x| x.tag == tag)
                    .map(|x| (x.offset, x.body_offset + x.body_len - x.offset))
            }),
            Place::Stats => sh.and_then(|s| {
                s.footer
                    .sections
                    .iter()
                    .find(|x| x.tag == meguri_core::format::footer::TAG_STATS)
                    .map(|x| (x.offset, x.body_offset + x.body_len - x.offset))
            }),
            Place::Region(id) => region(id),
            Place::Arena => region(meguri_core::format::REGION_STRING_BLOB),
            Place::Schedule => region(meguri_core::format::REGION_SCHEDULE),
            Place::SeenSet => region(meguri_core::format::REGION_SEENSET),
            Place::Column {
                table,
                column,
                page,
            } => sh
                .and_then(|s| s.footer.column(table, column))
                .and_then(|d| {
                    let spans = d.page_spans();
                    match page {
                        Some(p) => spans.get(p as usize).map(|x| (x.offset, x.byte_len)),
                        None => meguri_core::column::column_range(d).ok(),
                    }
                }),
            _ => None,
        };
        // A structure that does not hold the offset (or is unknown) shrinks to the offset.
        match (found, at) {
            (Some((o, l)), Some(a)) if a >= o && a < o.saturating_add(l) => (o, l),
            (Some((o, l)), None) => (o, l),
            (_, Some(a)) => (a, 1),
            (None, None) => (0, 0),
        }
    }

    /// The schedule wheel: base hour, rows covered and due rows per bucket with each bucket's
    /// first hour offset; `null` when the file has no schedule region.
    pub fn schedule(&self) -> Result<String, JsError> {
        let Some(w) = self.reader()?.schedule().map_err(js_err)? else {
            return Ok("null".into());
        };
        let mut counts = Json::array();
        let mut starts = Json::array();
        for (b, c) in w.counts.iter().enumerate() {
            counts.push_num(*c);
            starts.push_num(meguri_core::schedule::bucket_start(b) as f64);
        }
        Ok(Json::object()
            .num("base", w.base)
            .num("covered", w.covered)
            .u64("scheduled", w.scheduled() as u64)
            .raw("counts", &counts.done())
            .raw("starts", &starts.done())
            .done())
    }

    /// The parity digest of the file read through its own source (see [`parity`]).
    pub fn digest(&self) -> String {
        parity::digest_file(&self.src, ReadOptions::default())
    }
}

fn zone(j: Json, z: Option<(u64, u64)>) -> Json {
    match z {
        Some((lo, hi)) => j
            .str("zone_min", &lo.to_string())
            .str("zone_max", &hi.to_string()),
        None => j.null("zone_min").null("zone_max"),
    }
}

fn report_json(r: &Report, extent: impl Fn(&Finding) -> (u64, u64), kind: &str) -> String {
    let mut fs = Json::array();
    for f in &r.findings {
        let (start, len) = extent(f);
        let mut j = Json::object()
            .str("severity", f.severity.name())
            .str("kind", f.error.kind.name())
            .str("place", &f.error.place.to_string())
            .str("message", &f.error.message)
            .str("text", &f.to_string())
            .u64("start", start)
            .u64("length", len);
        j = match f.error.offset {
            Some(o) => j.u64("offset", o),
            None => j.null("offset"),
        };
        fs.push_raw(&j.done());
    }
    let mut text = String::new();
    parity::render_report(&mut text, r);
    Json::object()
        .str("kind", kind)
        .bool("ok", r.is_ok())
        .u64("errors", r.errors() as u64)
        .u64("warnings", r.warnings() as u64)
        .u64("columns_checked", r.columns_checked as u64)
        .u64("pages_checked", r.pages_checked)
        .u64("url_rows_checked", r.rows_checked.0)
        .u64("host_rows_checked", r.rows_checked.1)
        .raw("findings", &fs.done())
        .done()
}

/// A host key and, for a URL, its path key.
struct Query {
    host: u64,
    path: Option<u64>,
}

/// `0x…` hex or decimal is a host key (as `meguri map --host` reads it); anything else is a
/// URL, keyed the way `meguri seed` keys it.
fn parse_query(q: &str) -> Result<Query, JsError> {
    let t = q.trim();
    if t.is_empty() {
        return Err(JsError::new("type a host key (0x… or decimal) or a URL"));
    }
    let hexed = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"));
    if let Some(h) = hexed {
        return u64::from_str_radix(h, 16)
            .map(|host| Query { host, path: None })
            .map_err(|e| JsError::new(&format!("host key {t:?}: {e}")));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<u64>()
            .map(|host| Query { host, path: None })
            .map_err(|e| JsError::new(&format!("host key {t:?}: {e}")));
    }
    let k = keys::seed_key(t, "");
    Ok(Query {
        host: k.host,
        path: Some(k.path),
    })
}

/// The keys of a query, as [`MeguriFile::find`] and [`Catalog::route`] compute them:
/// `{host_key, path_key, host}`.
#[wasm_bindgen]
pub fn keys_of(query: &str) -> Result<String, JsError> {
    let q = parse_query(query)?;
    let j = Json::object().hex("host_key", q.host);
    Ok(match q.path {
        Some(p) => j
            .hex("path_key", p)
            .str("host", keys::host_of(query.trim())),
        None => j.null("path_key").null("host"),
    }
    .done())
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

    /// Entries, the tiling at the catalog's epoch (every gap and overlap with exact ranges,
    /// and its position on the key space as a fraction), the `meguri map` text, and the verify
    /// report of a manifest.
    pub fn tiling(&self) -> String {
        let t = self.m.tiling();
        let frac = |k: u64| k as f64 / 18_446_744_073_709_551_616.0;
        let mut entries = Json::array();
        for (i, e) in self.m.entries.iter().enumerate() {
            entries.push_raw(
                &Json::object()
                    .u64("index", i as u64)
                    .num("partition_id", e.partition_id)
                    .str("file", &e.file_ref_str())
                    .hex("lo", e.hostkey_lo)
                    .hex("hi", e.hostkey_hi)
                    .num("lo_frac", frac(e.hostkey_lo))
                    .num("hi_frac", frac(e.hostkey_hi))
                    .u64("urls", e.url_count)
                    .u64("hosts", e.host_count)
                    .num("epoch", e.epoch)
                    .bool("current", e.epoch == t.epoch)
                    .done(),
            );
        }
        let mut gaps = Json::array();
        for g in &t.gaps {
            let mut j = Json::object()
                .hex("lo", g.lo)
                .hex("hi", g.hi)
                .num("lo_frac", frac(g.lo))
                .num("hi_frac", frac(g.hi));
            j = match g.before {
                Some(b) => j.u64("before", b as u64),
                None => j.null("before"),
            };
            j = match g.after {
                Some(a) => j.u64("after", a as u64),
                None => j.null("after"),
            };
            gaps.push_raw(&j.done());
        }
        let mut overlaps = Json::array();
        for o in &t.overlaps {
            overlaps.push_raw(
                &Json::object()
                    .hex("lo", o.lo)
                    .hex("hi", o.hi)
                    .num("lo_frac", frac(o.lo))
                    .num("hi_frac", frac(o.hi))
                    .u64("first", o.first as u64)
                    .u64("second", o.second as u64)
                    .done(),
            );
        }
        let mut inverted = Json::array();
        for &i in &t.inverted {
            inverted.push_num(i as f64);
        }
        let mut j = Json::object()
            .num("epoch", t.epoch)
            .u64("considered", t.considered as u64)
            .bool("clean", t.is_clean())
            .raw("entries", &entries.done())
            .raw("gaps", &gaps.done())
            .raw("overlaps", &overlaps.done())
            .raw("inverted", &inverted.done())
            .str("text", &render_map(&self.m));
        if let Some(r) = &self.report {
            j = j.raw("verify", &report_json(r, |_| (0, 0), "manifest"));
        }
        j.done()
    }

    /// Routes a host key or a URL to its owner at the catalog's epoch: `{host_key, owners,
    /// route, text}` where `owners` lists every entry whose range holds the key.
    pub fn route(&self, query: &str) -> Result<String, JsError> {
        let q = parse_query(query)?;
        let epoch = self.m.epoch();
        let mut owners = Json::array();
        for (i, e) in self.m.entries.iter().enumerate() {
            if e.epoch == epoch && e.hostkey_lo <= q.host && q.host <= e.hostkey_hi {
                owners.push_num(i as f64);
            }
        }
        let route = self
            .m
            .route(q.host)
            .and_then(|r| self.m.entries.iter().position(|e| std::ptr::eq(e, r)));
        let mut j = Json::object()
            .hex("host_key", q.host)
            .raw("owners", &owners.done());
        j = match route {
            Some(i) => j.u64("route", i as u64),
            None => j.null("route"),
        };
        Ok(j.str("text", &render_route(&self.m, q.host)).done())
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

/// The parity digest of an in-memory input (file or manifest), as the native test computes it.
#[wasm_bindgen]
pub fn digest_bytes(bytes: &[u8]) -> String {
    parity::digest(bytes, ReadOptions::default())
}

/// The verify report of an in-memory manifest.
#[wasm_bindgen]
pub fn verify_manifest_bytes(bytes: &[u8]) -> String {
    report_json(&verify_manifest(bytes), |_| (0, 0), "manifest")
}

/// A host key as `0x%016x` (for the page's labels).
#[wasm_bindgen]
pub fn host_key_hex(key: &str) -> Result<String, JsError> {
    parse_query(key).map(|q| hex(q.host))
}
