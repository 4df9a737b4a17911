//! The lazy reader.
//!
//! [`Reader::open`] learns a file's whole shape from two reads: the 64-byte header and the tail
//! (trailer and footer; a third read only when the footer is longer than the first tail guess).
//! After that, each call fetches only the bytes it needs: one column, one page, the pages that
//! overlap a row range, the arena, the wheel or the filter. Every offset and length that comes
//! from the file is checked against the file and the [`Limits`] before it is used.

use crate::column::{
    column_range, decode_column, decode_pages, decode_region_page, strict, ColumnStream, DecodeCtx,
};
use crate::crc::crc32c;
use crate::error::{Error, ErrorKind, Finding, Place, Result, Severity, Table};
use crate::format::codec::ZstdBackend;
use crate::format::footer::{columns_tag, ColumnDir, Footer, RegionDesc};
use crate::format::header::{header_at, trailer_at, Header, Trailer};
use crate::format::page::{PageHeader, KIND_BLOB, KIND_FILTER, KIND_SCHEDULE, PAGE_HEADER_LEN};
use crate::format::{
    Limits, HEADER_LEN, MIN_FILE_LEN, REGION_SCHEDULE, REGION_SEENSET, REGION_STRING_BLOB,
    TRAILER_LEN,
};
use crate::partition::Partition;
use crate::records::{HostRecord, UrlRecord, Values};
use crate::schedule::Wheel;
use crate::schema::{self, build_rows, ColumnSpec, Record};
use crate::seenset::SeenFilter;
use crate::source::{read_range, Source};
use alloc::borrow::Cow;
use alloc::format;
use alloc::vec::Vec;
use core::ops::Range;

/// Rows a whole-table read builds at a time: enough that each column's stretch is read in one
/// tight loop, few enough that every column's stretch together stays in cache.
const ROWS_AT_ONCE: usize = 4096;

/// Options for opening a file.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// Allocation limits.
    pub limits: Limits,
    /// zstd implementation.
    pub zstd: ZstdBackend,
    /// How many bytes the first tail read fetches (trailer plus, usually, the whole footer).
    pub tail_guess: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            limits: Limits::default(),
            zstd: ZstdBackend::default(),
            tail_guess: 64 << 10,
        }
    }
}

/// The shape of a file: what [`Reader::open`] learns from the header and the tail.
#[derive(Debug, Clone)]
pub struct Shape {
    /// File length.
    pub file_len: u64,
    /// The header.
    pub header: Header,
    /// The trailer.
    pub trailer: Trailer,
    /// Absolute offset of the footer.
    pub footer_start: u64,
    /// The parsed footer.
    pub footer: Footer,
}

/// Reads the header, trailer and footer of `src` without judging anything beyond what is
/// needed to find the footer. Errors here mean the file's shape cannot be known (or, for a
/// header or footer CRC that does not match, cannot be trusted).
pub fn read_shape<S: Source + ?Sized>(src: &S, tail_guess: u64) -> Result<Shape> {
    let mut findings = Vec::new();
    let shape = read_shape_into(src, tail_guess, &mut findings);
    match findings.into_iter().find(|f| f.severity == Severity::Error) {
        Some(f) => Err(f.error),
        None => shape.ok_or_else(|| Error::corrupt("the file's shape could not be read")),
    }
}

/// [`read_shape`] for callers that report every problem (`verify`): each goes to `out` as an
/// error finding. A header or footer CRC that does not match its bytes is reported and reading
/// goes on, since the fields may still be right and the rest of the file can be judged;
/// anything that leaves the shape unknown ends it with `None`.
pub fn read_shape_into<S: Source + ?Sized>(
    src: &S,
    tail_guess: u64,
    out: &mut Vec<Finding>,
) -> Option<Shape> {
    let file_len = src.len();
    if file_len < MIN_FILE_LEN {
        let e = Error::new(
            ErrorKind::ShortFile,
            format!(
                "file is {file_len} bytes, shorter than the {MIN_FILE_LEN} bytes of a header \
                 and a trailer"
            ),
        );
        return fatal(out, e.within(Place::File).at(0));
    }
    let head = match read_range(src, 0, HEADER_LEN as u64, "header", Place::Header) {
        Ok(h) => h,
        Err(e) => return fatal(out, e),
    };
    let head: &[u8; HEADER_LEN] = head[..]
        .try_into()
        .expect("read_range gives the length asked");
    let header = Header::read(head);
    if let Err(e) = header.check(head) {
        if e.kind != ErrorKind::Checksum {
            return fatal(out, e);
        }
        out.push(Finding::error(e));
    }
    let tail_len = tail_guess
        .max(TRAILER_LEN as u64)
        .min(file_len - HEADER_LEN as u64);
    let tail_at = file_len - tail_len;
    let tail = match read_range(src, tail_at, tail_len, "file tail", Place::Trailer) {
        Ok(t) => t,
        Err(e) => return fatal(out, e),
    };
    let trailer_pos = tail.len() - TRAILER_LEN;
    let trailer = Trailer::read(
        tail[trailer_pos..]
            .try_into()
            .expect("sliced to its length"),
    );
    let footer_start = match trailer.footer_start(file_len, &header) {
        Ok(s) => s,
        Err(e) => return fatal(out, e),
    };
    let footer_len = u64::from(trailer.footer_len);
    let separate;
    let footer_bytes: &[u8] = if footer_start >= tail_at {
        // `footer_start` ends the footer at the trailer, which is inside the tail.
        &tail[(footer_start - tail_at) as usize..trailer_pos]
    } else {
        separate = match read_range(src, footer_start, footer_len, "footer", Place::Footer) {
            Ok(b) => b,
            Err(e) => return fatal(out, e),
        };
        &separate
    };
    let crc = crc32c(footer_bytes);
    if crc != trailer.footer_crc {
        out.push(Finding::error(
            Error::new(
                ErrorKind::Checksum,
                format!(
                    "footer CRC32C is 0x{:08x} but its {footer_len} bytes give 0x{crc:08x}",
                    trailer.footer_crc
                ),
            )
            .within(Place::Footer)
            .at(file_len - TRAILER_LEN as u64 + trailer_at::FOOTER_CRC as u64),
        ));
    }
    let footer = match Footer::parse(footer_bytes, footer_start) {
        Ok(f) => f,
        Err(e) => return fatal(out, e),
    };
    Some(Shape {
        file_len,
        header,
        trailer,
        footer_start,
        footer,
    })
}

/// Reports `e` and gives up: what follows cannot be read without it.
fn fatal<T>(out: &mut Vec<Finding>, e: Error) -> Option<T> {
    out.push(Finding::error(e));
    None
}

/// Checks that the header's row counts, at the schema's row widths, fit the decode budget for a
/// file of `file_len` bytes, so nothing is ever sized from an implausible count.
pub fn check_declared_rows(h: &Header, file_len: u64, limits: &Limits) -> Result<()> {
    let declared = h
        .url_count
        .checked_mul(schema::row_width(Table::Url))
        .and_then(|u| {
            h.host_count
                .checked_mul(schema::row_width(Table::Host))?
                .checked_add(u)
        });
    let budget = limits.budget(file_len);
    if declared.is_none_or(|d| d > budget) {
        return Err(Error::new(
            ErrorKind::Limit,
            format!(
                "header declares {} URL and {} host rows, more than a {file_len}-byte file can hold within the {budget}-byte decode limit",
                h.url_count, h.host_count
            ),
        )
        .within(Place::Header)
        .at(header_at::URL_COUNT as u64));
    }
    Ok(())
}

/// Checks what the column directories say before any page is read: every schema column is
/// listed ([`missing_columns`]), and each entry a reader uses ([`directory_entry`]) keeps its
/// own rules ([`crate::column::check_dir`]: widths, row counts, page counts, the skip list,
/// encoding ids). Every reader of a file (the lazy reader, `verify`, compaction, the store)
/// goes through these, so a file none of them can read whole is refused by all of them at
/// open, not by some of them halfway.
pub fn check_directories(shape: &Shape) -> Result<()> {
    for table in [Table::Url, Table::Host] {
        let rows = match table {
            Table::Url => shape.header.url_count,
            Table::Host => shape.header.host_count,
        };
        let dirs = shape.footer.columns(table);
        let mut findings = Vec::new();
        missing_columns(table, dirs, &mut findings);
        for (i, dir) in dirs.iter().enumerate() {
            if let Some(known) = directory_entry(table, dirs, i, &mut findings) {
                crate::column::check_dir(table, dir, known.then_some(rows), &mut findings);
            }
        }
        if let Some(f) = findings.into_iter().find(|f| f.severity == Severity::Error) {
            return Err(f.error);
        }
    }
    Ok(())
}

/// The error for column `id` of `table` when its directory does not list it.
pub fn missing_column(table: Table, id: u64) -> Error {
    let column = match schema::spec(table, id) {
        Some(spec) => format!("{} column {id} ({})", table.name(), spec.name),
        None => format!("{} column {id}", table.name()),
    };
    Error::corrupt(format!("{column} is missing from the directory"))
        .within(Place::Section(columns_tag(table)))
}

/// Reports every schema column of `table` that its directory `dirs` does not list.
pub fn missing_columns(table: Table, dirs: &[ColumnDir], out: &mut Vec<Finding>) {
    for spec in schema::columns(table) {
        if !dirs.iter().any(|d| d.column_id == spec.id) {
            out.push(Finding::error(missing_column(table, spec.id)));
        }
    }
}

/// How readers treat entry `i` of `table`'s column directory `dirs`: `None` when a later entry
/// has the same id (readers use the later one, as the reference does, and never read this
/// one), otherwise `Some(known)`, whether the schema defines the id (an unknown column is
/// checked and otherwise ignored). Both unusual cases leave a warning in `out`.
pub fn directory_entry(
    table: Table,
    dirs: &[ColumnDir],
    i: usize,
    out: &mut Vec<Finding>,
) -> Option<bool> {
    let dir = dirs.get(i)?;
    let place = Place::Column {
        table,
        column: dir.column_id,
        page: None,
    };
    if dirs[i + 1..].iter().any(|d| d.column_id == dir.column_id) {
        out.push(Finding::warning(
            Error::duplicate(
                "column id appears again later in the directory; the later entry is used",
            )
            .within(place)
            .at(dir.entry_offset),
        ));
        return None;
    }
    let known = schema::spec(table, dir.column_id).is_some();
    if !known {
        out.push(Finding::warning(
            Error::unknown(
                "column id is not in the v1 schema; it is checked and otherwise ignored",
            )
            .within(place)
            .at(dir.entry_offset),
        ));
    }
    Some(known)
}

/// A `.meguri` file opened for lazy reading.
pub struct Reader<S> {
    src: S,
    opts: ReadOptions,
    shape: Shape,
}

impl<S: Source> Reader<S> {
    /// Opens with default options.
    pub fn open(src: S) -> Result<Self> {
        Self::open_with(src, ReadOptions::default())
    }

    /// Opens `src`: checks the header, trailer, footer CRC and every footer section, and that
    /// the declared row counts fit the allocation limits.
    pub fn open_with(src: S, opts: ReadOptions) -> Result<Self> {
        let shape = read_shape(&src, opts.tail_guess)?;
        if let Some(e) = shape.footer.first_error() {
            return Err(e.clone());
        }
        check_declared_rows(&shape.header, shape.file_len, &opts.limits)?;
        check_directories(&shape)?;
        Ok(Reader { src, opts, shape })
    }

    /// The byte source.
    pub fn source(&self) -> &S {
        &self.src
    }

    /// Everything learnt at open.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.shape.header
    }

    /// The footer.
    pub fn footer(&self) -> &Footer {
        &self.shape.footer
    }

    /// File length in bytes.
    pub fn file_len(&self) -> u64 {
        self.shape.file_len
    }

    /// Options in force.
    pub fn options(&self) -> &ReadOptions {
        &self.opts
    }

    /// Rows of a table, from the header.
    pub fn rows(&self, table: Table) -> u64 {
        match table {
            Table::Url => self.shape.header.url_count,
            Table::Host => self.shape.header.host_count,
        }
    }

    fn ctx(&self) -> DecodeCtx {
        DecodeCtx {
            limits: self.opts.limits,
            file_len: self.shape.file_len,
            zstd: self.opts.zstd,
        }
    }

    /// The directory entry of a column, or an error naming the missing column.
    pub fn column_dir(&self, table: Table, id: u64) -> Result<&ColumnDir> {
        self.shape
            .footer
            .column(table, id)
            .ok_or_else(|| missing_column(table, id))
    }

    fn expected_rows(&self, table: Table, id: u64) -> Option<u64> {
        schema::spec(table, id).map(|_| self.rows(table))
    }

    /// Decodes a whole column (one read of its pages; column and page CRCs checked).
    pub fn read_column(&self, table: Table, id: u64) -> Result<Values> {
        let (dir, bytes) = self.column_bytes(table, id)?;
        let mut findings = Vec::new();
        let v = decode_column(
            table,
            dir,
            &bytes,
            self.expected_rows(table, id),
            &self.ctx(),
            &mut findings,
        );
        strict(findings, v)
    }

    /// A column's directory entry and the bytes of all its pages (one read), checked to lie
    /// in the data area.
    fn column_bytes(&self, table: Table, id: u64) -> Result<(&ColumnDir, Cow<'_, [u8]>)> {
        let dir = self.column_dir(table, id)?;
        let pl = Place::Column {
            table,
            column: id,
            page: None,
        };
        let (off, len) = column_range(dir).map_err(|e| e.within(pl))?;
        self.check_data_range(off, len, pl)?;
        Ok((dir, read_range(&self.src, off, len, "column pages", pl)?))
    }

    /// Rows `rows` of one column, decoding only the pages that overlap them.
    pub fn read_column_rows(&self, table: Table, id: u64, rows: Range<u64>) -> Result<Values> {
        let dir = self.column_dir(table, id)?;
        let pl = Place::Column {
            table,
            column: id,
            page: None,
        };
        let total = self.rows(table);
        if rows.start > rows.end || rows.end > total {
            return Err(Error::corrupt(format!(
                "row range {rows:?} is outside the table's {total} rows"
            ))
            .within(pl));
        }
        let mut findings = Vec::new();
        if !crate::column::check_dir(table, dir, self.expected_rows(table, id), &mut findings) {
            return strict(findings, None);
        }
        let spans: Vec<_> = dir
            .page_spans()
            .into_iter()
            .filter(|s| {
                s.first_row < rows.end.max(rows.start + 1)
                    && s.first_row + s.num_values > rows.start
            })
            .collect();
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
            return Ok(Values::for_width(dir.width, 0));
        };
        let off = first.offset;
        let len = last
            .offset
            .saturating_add(last.byte_len)
            .saturating_sub(off);
        self.check_data_range(off, len, pl)?;
        let bytes = read_range(&self.src, off, len, "column pages", pl)?;
        let pages = decode_pages(table, dir, &spans, &bytes, off, &self.ctx(), &mut findings);
        let mut out: Option<Values> = None;
        for p in pages.into_iter().flatten() {
            let lo = rows.start.max(p.span.first_row) - p.span.first_row;
            let hi = rows.end.min(p.span.first_row + p.span.num_values) - p.span.first_row;
            let (lo, hi) = (lo as usize, hi as usize);
            match (&mut out, p.values) {
                (None, Values::Int(v)) => out = Some(Values::Int(v[lo..hi].to_vec())),
                (None, Values::Wide(v)) => out = Some(Values::Wide(v[lo..hi].to_vec())),
                (Some(Values::Int(acc)), Values::Int(v)) => acc.extend_from_slice(&v[lo..hi]),
                (Some(Values::Wide(acc)), Values::Wide(v)) => acc.extend_from_slice(&v[lo..hi]),
                _ => {}
            }
        }
        strict(findings, out)
    }

    /// Decodes page `page` of a column alone (one read, page CRC checked).
    pub fn read_page(
        &self,
        table: Table,
        id: u64,
        page: u32,
    ) -> Result<crate::column::DecodedPage> {
        let spans = self.column_dir(table, id)?.page_spans();
        let span = *spans.get(page as usize).ok_or_else(|| {
            Error::corrupt(format!("column has {} pages, no page {page}", spans.len())).within(
                Place::Column {
                    table,
                    column: id,
                    page: Some(page),
                },
            )
        })?;
        self.read_span(table, id, span)
    }

    /// Decodes the page at `span` (one of the column's [`ColumnDir::page_spans`]), for
    /// callers that walk a column's pages and already hold its spans.
    pub fn read_span(
        &self,
        table: Table,
        id: u64,
        span: crate::format::footer::PageSpan,
    ) -> Result<crate::column::DecodedPage> {
        let dir = self.column_dir(table, id)?;
        let pl = Place::Column {
            table,
            column: id,
            page: Some(span.index),
        };
        self.check_data_range(span.offset, span.byte_len, pl)?;
        let bytes = read_range(&self.src, span.offset, span.byte_len, "page", pl)?;
        let mut findings = Vec::new();
        let p = decode_pages(
            table,
            dir,
            &[span],
            &bytes,
            span.offset,
            &self.ctx(),
            &mut findings,
        )
        .pop()
        .flatten();
        strict(findings, p)
    }

    fn check_data_range(&self, off: u64, len: u64, pl: Place) -> Result<()> {
        let end = off.checked_add(len);
        if off < HEADER_LEN as u64 || end.is_none_or(|e| e > self.shape.footer_start) {
            return Err(Error::corrupt(format!(
                "pages at {off}..{} lie outside the data area {HEADER_LEN}..{}",
                end.map_or_else(|| "overflow".into(), |e| format!("{e}")),
                self.shape.footer_start
            ))
            .within(pl)
            .at(off));
        }
        Ok(())
    }

    /// Rows `rows` of `R`'s table. A whole table is built a stretch of rows at a time from
    /// every column at once ([`ColumnStream`]); a part of one from the pages holding it, each
    /// column decoded, then the rows from the columns.
    fn rows_of<R: Record>(&self, rows: Range<u64>) -> Result<Vec<R>> {
        let table = R::TABLE;
        if rows.start == 0 && rows.end == self.rows(table) {
            return self.all_rows();
        }
        // Indexed by column id: the schema lists its columns in id order. An extension
        // column the file does not hold reads as no values (zeros in every row).
        let cols = R::COLUMNS
            .iter()
            .chain(R::EXT_COLUMNS)
            .map(|spec| {
                if schema::is_ext(table, spec.id) && !self.has_column(table, spec.id) {
                    Ok(Values::Int(Vec::new()))
                } else {
                    self.read_column_rows(table, spec.id, rows.clone())
                }
            })
            .collect::<Result<Vec<Values>>>()?;
        let n = rows.end.saturating_sub(rows.start) as usize;
        build_rows(&cols, n)
    }

    /// Every row of `R`'s table, built [`ROWS_AT_ONCE`] rows at a time: each column's bytes
    /// are read once and streamed, so what is held beside the rows is the columns' stored
    /// bytes and their decompressed payloads, never every value widened to 8 bytes.
    fn all_rows<R: Record>(&self) -> Result<Vec<R>> {
        let table = R::TABLE;
        let n = self.rows(table) as usize;
        let specs: Vec<&ColumnSpec> = R::COLUMNS.iter().chain(R::EXT_COLUMNS).collect();
        // Each column's stored bytes (`None`: an extension column the file does not hold).
        let mut stored = Vec::with_capacity(specs.len());
        for spec in &specs {
            stored.push(
                if schema::is_ext(table, spec.id) && !self.has_column(table, spec.id) {
                    None
                } else {
                    Some(self.column_bytes(table, spec.id)?)
                },
            );
        }
        let ctx = self.ctx();
        let mut streams = Vec::with_capacity(specs.len());
        for (spec, s) in specs.iter().zip(&stored) {
            streams.push(match s {
                None => None,
                Some((dir, bytes)) => Some(ColumnStream::new(
                    table,
                    dir,
                    bytes,
                    self.expected_rows(table, spec.id),
                    &ctx,
                )?),
            });
        }
        let room = n.min(ROWS_AT_ONCE);
        let mut stretch: Vec<Values> = specs
            .iter()
            .map(|spec| Values::for_width(spec.width, room))
            .collect();
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let k = (n - out.len()).min(ROWS_AT_ONCE);
            for (values, stream) in stretch.iter_mut().zip(&mut streams) {
                values.clear();
                if let Some(stream) = stream {
                    stream.fill(k, values)?;
                }
            }
            out.extend((0..k).map(|i| R::from_columns(&stretch, i)));
        }
        for stream in streams.into_iter().flatten() {
            stream.finish()?;
        }
        Ok(out)
    }

    /// Hands column `id` of `table` to `each` in row order, 4,096 values at a time
    /// with the row of the first, checked as [`Reader::read_column`] checks it: for a caller
    /// that keeps the values in a form of its own and has no use for the whole column widened
    /// to 8 bytes.
    pub fn stream_column(
        &self,
        table: Table,
        id: u64,
        each: &mut dyn FnMut(usize, &Values) -> Result<()>,
    ) -> Result<()> {
        let (dir, bytes) = self.column_bytes(table, id)?;
        let rows = self.expected_rows(table, id);
        let mut stream = ColumnStream::new(table, dir, &bytes, rows, &self.ctx())?;
        let n = self.rows(table) as usize;
        let mut values = Values::for_width(dir.width, n.min(ROWS_AT_ONCE));
        let mut done = 0;
        while done < n {
            let k = (n - done).min(ROWS_AT_ONCE);
            values.clear();
            stream.fill(k, &mut values)?;
            each(done, &values)?;
            done += k;
        }
        stream.finish()
    }

    /// Whether the file's directory lists column `id` of `table`.
    pub fn has_column(&self, table: Table, id: u64) -> bool {
        self.shape
            .footer
            .columns(table)
            .iter()
            .any(|d| d.column_id == id)
    }

    /// URL rows in `rows` (decodes only the pages that hold them).
    pub fn url_rows(&self, rows: Range<u64>) -> Result<Vec<UrlRecord>> {
        self.rows_of(rows)
    }

    /// Host rows in `rows`.
    pub fn host_rows(&self, rows: Range<u64>) -> Result<Vec<HostRecord>> {
        self.rows_of(rows)
    }

    /// Every URL row.
    pub fn url_table(&self) -> Result<Vec<UrlRecord>> {
        self.url_rows(0..self.rows(Table::Url))
    }

    /// Every host row.
    pub fn host_table(&self) -> Result<Vec<HostRecord>> {
        self.host_rows(0..self.rows(Table::Host))
    }

    /// The bytes of a region, CRC-checked.
    pub fn region_bytes(&self, desc: &RegionDesc) -> Result<Cow<'_, [u8]>> {
        let pl = Place::Region(desc.id);
        let bytes = read_range(&self.src, desc.offset, desc.length, "region", pl)?;
        let crc = crc32c(&bytes);
        if crc != desc.crc {
            return Err(Error::new(
                ErrorKind::Checksum,
                format!(
                    "region CRC32C is 0x{:08x} but its {} bytes give 0x{crc:08x}",
                    desc.crc, desc.length
                ),
            )
            .within(pl)
            .at(desc.offset));
        }
        Ok(bytes)
    }

    /// Decodes the single page of a special region (arena, wheel, filter), if the file has it.
    fn region_page(&self, id: u8, kind: u8) -> Result<Option<(PageHeader, Vec<u8>)>> {
        let Some(desc) = self.shape.footer.region(id).copied() else {
            return Ok(None);
        };
        let bytes = self.region_bytes(&desc)?;
        let mut findings = Vec::new();
        let page = decode_region_page(&bytes, &desc, kind, &self.ctx(), &mut findings);
        strict(findings, page).map(Some)
    }

    /// The decompressed string arena (empty when the file has no blob region).
    pub fn arena(&self) -> Result<Vec<u8>> {
        Ok(self
            .region_page(REGION_STRING_BLOB, KIND_BLOB)?
            .map(|(_, a)| a)
            .unwrap_or_default())
    }

    /// The schedule wheel, if the file has one.
    pub fn schedule(&self) -> Result<Option<Wheel>> {
        let Some((_, payload)) = self.region_page(REGION_SCHEDULE, KIND_SCHEDULE)? else {
            return Ok(None);
        };
        let base = self
            .shape
            .footer
            .region(REGION_SCHEDULE)
            .map_or(0, |r| r.offset + PAGE_HEADER_LEN as u64);
        Wheel::parse(&payload, base)
            .map(Some)
            .map_err(|e| e.within(Place::Schedule))
    }

    /// The seen-set filter blob as stored (empty when the file has none).
    pub fn seen_filter_blob(&self) -> Result<Vec<u8>> {
        Ok(self
            .region_page(REGION_SEENSET, KIND_FILTER)?
            .map(|(_, b)| b)
            .unwrap_or_default())
    }

    /// Decodes the whole file into a [`Partition`] value (everything needed to re-encode it).
    pub fn partition(&self) -> Result<Partition> {
        let arena = self.arena()?;
        Ok(Partition {
            arena,
            ..self.partition_without_arena()?
        })
    }

    /// The partition with an empty arena, for a caller that takes the arena through
    /// [`Reader::arena`] first (`meguri run` starts compressing it while the tables decode).
    pub fn partition_without_arena(&self) -> Result<Partition> {
        let h = self.header();
        Ok(Partition {
            id: h.partition_id,
            hostkey_lo: h.hostkey_lo,
            hostkey_hi: h.hostkey_hi,
            created_hours: h.created_hours,
            urls: self.url_table()?,
            hosts: self.host_table()?,
            arena: Vec::new(),
            meta: self.meta().map(<[_]>::to_vec).unwrap_or_default(),
            schedule: self.shape.footer.region(REGION_SCHEDULE).is_some(),
            seen_filter: self.seen_filter_blob()?,
        })
    }

    /// The seen-set filter, if the file has one.
    pub fn seen_filter(&self) -> Result<Option<SeenFilter>> {
        let Some((_, payload)) = self.region_page(REGION_SEENSET, KIND_FILTER)? else {
            return Ok(None);
        };
        SeenFilter::parse(&payload)
            .map(Some)
            .map_err(|e| e.within(Place::SeenSet))
    }

    /// The key-value metadata, if present.
    pub fn meta(&self) -> Option<&[(Vec<u8>, Vec<u8>)]> {
        self.shape.footer.meta.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::footer::TAG_URL_COLUMNS;
    use crate::schema::url;
    use crate::source::CountingSource;
    use crate::testing::{file, partition, with_footer, StoredZstd};
    use crate::write::{encode, WriteOptions};

    #[test]
    fn a_file_reads_back_as_the_partition_it_was_written_from() {
        let p = partition(6, 7);
        for f in [
            file(&p, 10),
            encode(&p, &WriteOptions::default(), &StoredZstd).unwrap(),
        ] {
            let r = Reader::open(&f[..]).unwrap();
            assert_eq!(r.partition().unwrap(), p);
        }
    }

    #[test]
    fn extension_columns_are_written_only_when_used_and_read_back() {
        let plain = partition(4, 5);
        let bytes = encode(&plain, &WriteOptions::default(), &StoredZstd).unwrap();
        let r = Reader::open(&bytes[..]).unwrap();
        assert!(!r.has_column(Table::Url, url::REFETCH_AT));
        assert_eq!(r.footer().columns(Table::Url).len(), 23);
        assert_eq!(r.footer().columns(Table::Host).len(), 20);

        // One URL row and one host row with meguri's own state: both tables gain the whole
        // extension, every other row reads zeros there.
        let mut p = plain.clone();
        p.urls[3].refetch_at = 1_795_240_232;
        p.urls[3].meta_ref = p.urls[0].url_ref;
        p.hosts[1].blocked_until = 7;
        p.hosts[1].last_handout = u64::MAX;
        let bytes = encode(&p, &WriteOptions::default(), &StoredZstd).unwrap();
        let r = Reader::open(&bytes[..]).unwrap();
        assert_eq!(r.footer().columns(Table::Url).len(), 27);
        assert_eq!(r.footer().columns(Table::Host).len(), 23);
        assert_eq!(r.partition().unwrap(), p);
        assert_eq!(r.url_rows(2..4).unwrap(), p.urls[2..4]);
        assert_eq!(
            crate::verify::verify_file(&bytes[..], &ReadOptions::default()).findings,
            Vec::new(),
            "a file with extension columns verifies clean"
        );
    }

    /// A partition of `hosts` hosts with extension values on some rows, so both tables carry
    /// their extension columns.
    fn with_extension(hosts: u64, per_host: u64) -> Partition {
        let mut p = partition(hosts, per_host);
        for (i, u) in p.urls.iter_mut().enumerate().step_by(5) {
            u.refetch_at = 1_795_240_232 + i as u32;
            u.lease_until = i as u32;
        }
        p.hosts[0].blocked_until = 7;
        p
    }

    #[test]
    fn whole_tables_stream_across_pages_and_stretches() {
        // 4,510 URL rows: the streamed read crosses its 4,096-row stretch inside a page, and
        // pages of 1, 7 and 1,000 rows cross stretches and each other differently per column.
        let big = with_extension(410, 11);
        for (p, page_rows) in [
            (partition(6, 7), 1),
            (with_extension(37, 11), 7),
            (with_extension(37, 11), 16_384),
            (big.clone(), 1_000),
            (big, 4_096),
        ] {
            let opts = WriteOptions {
                page_rows,
                ..WriteOptions::default()
            };
            let bytes = encode(&p, &opts, &StoredZstd).unwrap();
            let r = Reader::open(&bytes[..]).unwrap();
            assert_eq!(r.url_table().unwrap(), p.urls, "{page_rows} rows a page");
            assert_eq!(r.host_table().unwrap(), p.hosts, "{page_rows} rows a page");
            // The same rows as the page-range reader gives them, piece by piece.
            let n = p.urls.len() as u64;
            let cut = n / 3;
            let pieces = [
                r.url_rows(0..cut).unwrap(),
                r.url_rows(cut..n - 1).unwrap(),
                r.url_rows(n - 1..n).unwrap(),
            ]
            .concat();
            assert_eq!(pieces, p.urls);
        }
    }

    #[test]
    fn one_damage_in_a_table_reads_as_its_column_read_alone_reports_it() {
        let p = with_extension(6, 7);
        let opts = WriteOptions {
            page_rows: 8,
            ..WriteOptions::default()
        };
        let good = encode(&p, &opts, &StoredZstd).unwrap();
        let region = *Reader::open(&good[..])
            .unwrap()
            .footer()
            .region(crate::format::REGION_URL_TABLE)
            .unwrap();
        let mut failed = 0;
        for at in region.offset..region.offset + region.length {
            let mut bad = good.clone();
            bad[at as usize] ^= 0x10;
            let r = Reader::open(&bad[..]).unwrap();
            // What a column-by-column read reports: the first column, in id order, that fails.
            let alone = UrlRecord::COLUMNS
                .iter()
                .chain(UrlRecord::EXT_COLUMNS)
                .find_map(|c| r.read_column(Table::Url, c.id).err());
            match (r.url_table(), alone) {
                (Ok(rows), None) => assert_eq!(rows, p.urls, "byte {at}"),
                (Err(streamed), Some(alone)) => {
                    failed += 1;
                    assert_eq!(streamed, alone, "byte {at}");
                }
                (streamed, alone) => panic!("byte {at}: streamed {streamed:?}, alone {alone:?}"),
            }
        }
        assert!(failed as u64 > region.length / 2, "{failed} damaged reads");
    }

    #[test]
    fn a_row_range_decodes_only_the_pages_that_hold_it() {
        let p = partition(8, 10);
        let f = file(&p, 16); // 80 URL rows: pages of 16
        let src = CountingSource::new(&f[..]);
        let r = Reader::open(&src).unwrap();
        let want: Vec<u64> = p.urls.iter().map(|u| u.key.path).collect();
        for rows in [0..80, 0..1, 15..17, 16..32, 31..64, 79..80, 40..40] {
            let v = r
                .read_column_rows(Table::Url, url::PATH_KEY, rows.clone())
                .unwrap();
            let want = &want[rows.start as usize..rows.end as usize];
            assert_eq!(v.as_ints(), want, "rows {rows:?}");
            assert_eq!(
                r.url_rows(rows.clone()).unwrap(),
                p.urls[rows.start as usize..rows.end as usize],
            );
        }
        // Rows 16..32 are exactly page 1: one read of its bytes, nothing else.
        let dir = r.column_dir(Table::Url, url::PATH_KEY).unwrap();
        let page1 = dir.page_spans()[1];
        let before = (src.reads(), src.bytes());
        r.read_column_rows(Table::Url, url::PATH_KEY, 16..32)
            .unwrap();
        assert_eq!(
            (src.reads(), src.bytes()),
            (before.0 + 1, before.1 + page1.byte_len)
        );
        assert!(r.read_column_rows(Table::Url, 1, 70..81).is_err());
        let e = r.read_page(Table::Url, 1, 5).unwrap_err();
        assert_eq!(
            e.place,
            Place::Column {
                table: Table::Url,
                column: 1,
                page: Some(5)
            }
        );
    }

    #[test]
    fn the_special_regions_read_back() {
        let p = partition(4, 6);
        let f = file(&p, 1000);
        let r = Reader::open(&f[..]).unwrap();
        assert_eq!(r.arena().unwrap(), p.arena);
        let next_due: Vec<u32> = p.urls.iter().map(|u| u.next_due).collect();
        let w = r.schedule().unwrap().unwrap();
        assert_eq!(Some(w), Wheel::build(&next_due));
        assert!(r.seen_filter().unwrap().is_none());
        assert_eq!(r.meta(), Some(&p.meta[..]));
    }

    #[test]
    fn a_damaged_shape_is_reported_whole_and_refused_at_its_first_error() {
        let f = file(&partition(2, 3), 1000);
        let mut bad = f.clone();
        bad[20] ^= 1; // the host-key range: only the header CRC sees it
        let n = bad.len();
        bad[n - 12 - 3] ^= 1; // inside the footer: only the footer CRC sees it
        let mut out = Vec::new();
        let shape = read_shape_into(&bad[..], 64 << 10, &mut out).unwrap();
        assert_eq!(shape.header.url_count, 6);
        let places: Vec<(Place, Option<u64>)> = out
            .iter()
            .map(|f| (f.error.place, f.error.offset))
            .collect();
        assert_eq!(
            places,
            [
                (Place::Header, Some(60)),
                (Place::Footer, Some(n as u64 - 8))
            ]
        );
        let e = read_shape(&bad[..], 64 << 10).unwrap_err();
        assert_eq!(e, out[0].error);
        assert_eq!(Reader::open(&bad[..]).err(), Some(e));
        // What leaves the shape unknown ends the reading.
        let mut out = Vec::new();
        assert!(read_shape_into(&f[..70], 64 << 10, &mut out).is_none());
        assert_eq!(out[0].error.kind, ErrorKind::ShortFile);
        let mut cut = f.clone();
        cut.truncate(f.len() - 1);
        let mut out = Vec::new();
        assert!(read_shape_into(&cut[..], 64 << 10, &mut out).is_none());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].error.place, Place::Trailer);
    }

    #[test]
    fn the_directory_rules_every_reader_applies_at_open() {
        let f = file(&partition(2, 3), 1000);
        // A column missing from the directory.
        let missing = with_footer(&f, |d| d.url_columns.retain(|c| c.column_id != 5));
        let e = Reader::open(&missing[..]).err().unwrap();
        assert_eq!(e.place, Place::Section(TAG_URL_COLUMNS));
        assert_eq!(
            e.message,
            "url column 5 (discovery_source) is missing from the directory"
        );
        // A bad entry that a later one with the same id replaces is never read: the file
        // opens, and the later entry is the one used.
        let shadowed = with_footer(&f, |d| {
            let mut bad = d.url_columns[5].clone();
            bad.width = 3;
            d.url_columns.insert(0, bad);
        });
        let r = Reader::open(&shadowed[..]).unwrap();
        assert_eq!(r.column_dir(Table::Url, 5).unwrap().width, 1);
        let mut out = Vec::new();
        let dirs = &r.footer().url_columns;
        assert_eq!(directory_entry(Table::Url, dirs, 0, &mut out), None);
        assert_eq!(directory_entry(Table::Url, dirs, 6, &mut out), Some(true));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].error.kind, ErrorKind::Duplicate);
        // The same bad entry as the only one fails the open.
        let broken = with_footer(&f, |d| d.url_columns[5].width = 3);
        assert!(Reader::open(&broken[..]).is_err());
        // An id the schema does not know is checked, then ignored.
        let unknown = with_footer(&f, |d| {
            let mut extra = d.url_columns[5].clone();
            extra.column_id = 40;
            d.url_columns.push(extra);
        });
        let r = Reader::open(&unknown[..]).unwrap();
        let mut out = Vec::new();
        let dirs = &r.footer().url_columns;
        assert_eq!(directory_entry(Table::Url, dirs, 23, &mut out), Some(false));
        assert_eq!(out[0].error.kind, ErrorKind::Unknown);
        let e = r.column_dir(Table::Url, 41).unwrap_err();
        assert_eq!(e.message, "url column 41 is missing from the directory");
    }

    #[test]
    fn declared_rows_must_fit_the_decode_budget() {
        let h = Header {
            url_count: 1 << 40,
            ..Header::default()
        };
        let e = check_declared_rows(&h, 1000, &Limits::default()).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Limit, Some(32)));
        let h = Header {
            url_count: u64::MAX,
            host_count: 2,
            ..Header::default()
        };
        assert!(check_declared_rows(&h, u64::MAX, &Limits::default()).is_err());
        let h = Header {
            url_count: 1000,
            host_count: 100,
            ..Header::default()
        };
        assert!(check_declared_rows(&h, 1000, &Limits::default()).is_ok());
    }
}
