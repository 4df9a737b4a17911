//! Decoding a column's pages, with every consistency rule between the directory entry, the
//! skip list and the page headers in one place. The lazy reader and `verify` both walk columns
//! through here: the reader stops at the first error finding, `verify` reports them all.

use crate::error::Severity;
use crate::error::{Error, ErrorKind, Finding, Place, Result, Table};
use crate::format::codec::ZstdBackend;
use crate::format::encoding::{encoding_name, is_page_encoding, min_max, union, PageValues, RAW};
use crate::format::footer::{ColumnDir, PageSpan, RegionDesc, SkipEntry};
use crate::format::page::{
    decode_payload, locate_page, page_at, PageHeader, KIND_BLOB, KIND_DATA, KIND_SCHEDULE,
    PAGE_HEADER_LEN,
};
use crate::format::Limits;
use crate::records::Values;
use crate::schema;
use alloc::borrow::Cow;
use alloc::format;
use alloc::vec::Vec;

/// What page decoding needs to know about the file.
#[derive(Debug, Clone, Copy)]
pub struct DecodeCtx {
    /// Allocation limits.
    pub limits: Limits,
    /// Length of the file (the limits scale with it).
    pub file_len: u64,
    /// zstd implementation.
    pub zstd: ZstdBackend,
}

/// A decoded page.
#[derive(Debug, Clone)]
pub struct DecodedPage {
    /// Where it sits and which rows it holds.
    pub span: PageSpan,
    /// Its header.
    pub header: PageHeader,
    /// Its values.
    pub values: Values,
}

/// The absolute byte range `(offset, len)` holding every page of the column, as the directory
/// describes it: the skip list's page lengths, or one header plus `total_compressed`.
pub fn column_range(dir: &ColumnDir) -> Result<(u64, u64)> {
    let len = if dir.pages.is_empty() {
        dir.byte_len()
    } else {
        dir.pages
            .iter()
            .try_fold(0u64, |acc, p| acc.checked_add(p.byte_len))
    };
    match len.and_then(|l| dir.first_page_offset.checked_add(l).map(|_| l)) {
        Some(l) => Ok((dir.first_page_offset, l)),
        None => {
            Err(Error::corrupt("the column's page lengths overflow 64 bits").at(dir.entry_offset))
        }
    }
}

fn place(table: Table, dir: &ColumnDir, page: Option<u32>) -> Place {
    Place::Column {
        table,
        column: dir.column_id,
        page,
    }
}

/// Structural checks of a directory entry that need no page bytes. Returns false when the
/// column cannot be decoded at all.
pub fn check_dir(
    table: Table,
    dir: &ColumnDir,
    expected_rows: Option<u64>,
    out: &mut Vec<Finding>,
) -> bool {
    let pl = place(table, dir, None);
    let at = dir.entry_offset;
    let mut ok = true;
    if dir.num_pages == 0 {
        out.push(Finding::error(
            Error::corrupt("directory entry has zero pages")
                .within(pl)
                .at(at),
        ));
        ok = false;
    }
    if !matches!(dir.width, 1 | 2 | 4 | 8 | 16) {
        out.push(Finding::error(
            Error::corrupt(format!("width {} is not 1, 2, 4, 8 or 16", dir.width))
                .within(pl)
                .at(at),
        ));
        ok = false;
    }
    if let Some(spec) = schema::spec(table, dir.column_id) {
        if spec.width != dir.width {
            out.push(Finding::error(
                Error::corrupt(format!(
                    "column {} ({}) must be {} bytes wide, the directory says {}",
                    dir.column_id, spec.name, spec.width, dir.width
                ))
                .within(pl)
                .at(at),
            ));
            ok = false;
        }
    }
    if let Some(rows) = expected_rows {
        if dir.num_values != rows {
            out.push(Finding::error(
                Error::corrupt(format!(
                    "directory says {} values, the header says {rows} rows",
                    dir.num_values
                ))
                .within(pl)
                .at(at),
            ));
            ok = false;
        }
    }
    // No reader decodes by this field, but an id that names no encoding at all is damage, not
    // a stale value: the directory entry cannot be trusted.
    if !is_page_encoding(dir.encoding) {
        out.push(Finding::error(
            Error::corrupt(format!(
                "directory encoding {} names no encoding a page can use",
                encoding_name(dir.encoding)
            ))
            .within(pl)
            .at(at),
        ));
        ok = false;
    }
    for (i, p) in dir.pages.iter().enumerate() {
        if !is_page_encoding(p.encoding) {
            out.push(Finding::error(
                Error::corrupt(format!(
                    "skip list encoding {} names no encoding a page can use",
                    encoding_name(p.encoding)
                ))
                .within(place(table, dir, Some(i as u32)))
                .at(at),
            ));
            ok = false;
        }
    }
    let raw = dir.num_values.checked_mul(u64::from(dir.width));
    if raw != Some(dir.total_uncompressed) {
        out.push(Finding::warning(
            Error::inconsistent(format!(
                "total_uncompressed is {}, expected values × width = {}",
                dir.total_uncompressed,
                raw.map_or_else(|| "overflow".into(), |v| format!("{v}"))
            ))
            .within(pl)
            .at(at),
        ));
    }
    if dir.uncompressed_size != dir.total_uncompressed {
        out.push(Finding::warning(
            Error::inconsistent(
                "the duplicate uncompressed_size field differs from total_uncompressed",
            )
            .within(pl)
            .at(at),
        ));
    }
    if !dir.pages.is_empty() {
        let mut row = 0u64;
        let mut payload = 0u64;
        for (i, p) in dir.pages.iter().enumerate() {
            let ppl = place(table, dir, Some(i as u32));
            if p.first_row != row {
                out.push(Finding::error(
                    Error::corrupt(format!(
                        "skip list says the page starts at row {}, the pages before it end at row {row}",
                        p.first_row
                    ))
                    .within(ppl)
                    .at(at),
                ));
                ok = false;
            }
            if p.byte_len < PAGE_HEADER_LEN as u64 {
                out.push(Finding::error(
                    Error::corrupt(format!(
                        "skip list gives the page {} bytes, less than a page header",
                        p.byte_len
                    ))
                    .within(ppl)
                    .at(at),
                ));
                ok = false;
            }
            row = row.saturating_add(p.num_values);
            payload = payload.saturating_add(p.byte_len.saturating_sub(PAGE_HEADER_LEN as u64));
        }
        if row != dir.num_values {
            out.push(Finding::error(
                Error::corrupt(format!(
                    "skip list pages hold {row} rows, the directory says {}",
                    dir.num_values
                ))
                .within(pl)
                .at(at),
            ));
            ok = false;
        }
        // The column's zone map must hold every page's (which decoding holds to the values),
        // so a reader that prunes by the column's and reads page by page agrees with both.
        let pages_zone = dir
            .pages
            .iter()
            .filter_map(SkipEntry::zone)
            .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)));
        if let (Some(col), Some(pz)) = (dir.zone(), pages_zone) {
            if col.0 > pz.0 || col.1 < pz.1 {
                out.push(Finding::error(
                    Error::corrupt(format!(
                        "zone map [{}, {}] does not contain its pages' zone maps [{}, {}]: pruning by it would skip rows",
                        col.0, col.1, pz.0, pz.1
                    ))
                    .within(pl)
                    .at(at),
                ));
                ok = false;
            }
        }
        if payload != dir.total_compressed {
            out.push(Finding::warning(
                Error::inconsistent(format!(
                    "total_compressed is {}, the skip list's payloads add up to {payload}",
                    dir.total_compressed
                ))
                .within(pl)
                .at(at),
            ));
        }
    }
    ok
}

fn zone_finding(
    table: Table,
    dir: &ColumnDir,
    page: Option<u32>,
    zone: (u64, u64),
    (min, max): (u64, u64),
    at: u64,
) -> Option<Finding> {
    let pl = place(table, dir, page);
    if zone.0 > min || zone.1 < max {
        Some(Finding::error(
            Error::corrupt(format!(
                "zone map [{}, {}] does not contain the values' range [{min}, {max}]: pruning by it would skip rows",
                zone.0, zone.1
            ))
            .within(pl)
            .at(at),
        ))
    } else if zone != (min, max) {
        Some(Finding::warning(
            Error::inconsistent(format!(
                "zone map [{}, {}] is wider than the values' range [{min}, {max}]",
                zone.0, zone.1
            ))
            .within(pl)
            .at(at),
        ))
    } else {
        None
    }
}

/// A page whose header agrees with the directory and whose payload has passed its CRC and
/// been decompressed: its values are read through [`OpenPage::fill`], and
/// [`OpenPage::finish`] judges what only the end can tell (leftover bytes, the zone map).
struct OpenPage<'a> {
    span: PageSpan,
    header: PageHeader,
    payload: Cow<'a, [u8]>,
    payload_offset: u64,
    values: PageValues,
    /// The range of the integer values read so far.
    min_max: Option<(u64, u64)>,
}

impl<'a> OpenPage<'a> {
    /// Checks page `s` (its header against the directory and the skip list, its CRC, its size
    /// against the limits) and decodes its payload. `bytes` holds the column's pages from
    /// absolute offset `base`. Warnings go to `out`.
    fn open(
        table: Table,
        dir: &ColumnDir,
        s: &PageSpan,
        bytes: &'a [u8],
        base: u64,
        ctx: &DecodeCtx,
        out: &mut Vec<Finding>,
    ) -> Result<Self> {
        let multi = !dir.pages.is_empty();
        let pl = place(table, dir, Some(s.index));
        let rel = s
            .offset
            .checked_sub(base)
            .filter(|&r| r <= bytes.len() as u64)
            .ok_or_else(|| {
                Error::corrupt("page lies outside the bytes read for its column").at(s.offset)
            })? as usize;
        let end = (rel as u64)
            .saturating_add(s.byte_len)
            .min(bytes.len() as u64) as usize;
        let page = locate_page(&bytes[rel..end], s.offset)?;
        let h = page.header;
        if h.byte_len() != s.byte_len {
            let says = if multi {
                "skip list"
            } else {
                "directory (32 + total_compressed)"
            };
            return Err(Error::corrupt(format!(
                "page is {} bytes but the {says} says {}",
                h.byte_len(),
                s.byte_len
            ))
            .at(s.offset + page_at::COMPRESSED_SIZE as u64));
        }
        if u64::from(h.num_values) != s.num_values {
            return Err(Error::corrupt(format!(
                "page header says {} values, the directory says {}",
                h.num_values, s.num_values
            ))
            .at(s.offset + page_at::NUM_VALUES as u64));
        }
        if u64::from(h.num_values) * 8 > ctx.limits.budget(ctx.file_len) {
            return Err(Error::new(
                ErrorKind::Limit,
                format!("page of {} values is over the decode limit", h.num_values),
            )
            .at(s.offset + page_at::NUM_VALUES as u64));
        }
        if multi && dir.pages[s.index as usize].encoding != h.encoding {
            return Err(Error::corrupt(format!(
                "page is {} but the skip list says {}",
                encoding_name(h.encoding),
                encoding_name(dir.pages[s.index as usize].encoding)
            ))
            .at(s.offset + page_at::ENCODING as u64));
        }
        if u64::from(h.first_row) != s.first_row & 0xffff_ffff {
            out.push(Finding::warning(
                Error::inconsistent(format!(
                    "page header's first_row is {}, the page starts at row {}",
                    h.first_row, s.first_row
                ))
                .within(pl)
                .at(s.offset + page_at::FIRST_ROW as u64),
            ));
        }
        if h.kind != KIND_DATA {
            return Err(Error::corrupt(format!(
                "column page has kind {}, expected {KIND_DATA} (data)",
                h.kind
            ))
            .at(s.offset + page_at::KIND as u64));
        }
        let payload_offset = page.payload_offset();
        let payload = decode_payload(&page, &ctx.limits, ctx.file_len, ctx.zstd)?;
        let n = h.num_values as usize;
        let values = if dir.width == 16 {
            if h.encoding != RAW {
                return Err(Error::corrupt(format!(
                    "16-byte values can only be RAW, the page is {}",
                    encoding_name(h.encoding)
                ))
                .at(s.offset + page_at::ENCODING as u64));
            }
            PageValues::wide(&payload, n)
        } else {
            PageValues::new(h.encoding, &payload, n, h.base, dir.width as usize)
        }
        .map_err(|e| e.at_if_unset(payload_offset))?;
        Ok(OpenPage {
            span: *s,
            header: h,
            payload,
            payload_offset,
            values,
            min_max: None,
        })
    }

    /// Appends the next `k` values (fewer if fewer are left) to `out`.
    fn fill(&mut self, k: usize, out: &mut Values) -> Result<()> {
        let from = out.len();
        self.values
            .fill(&self.payload, k, out)
            .map_err(|e| e.at_if_unset(self.payload_offset))?;
        if let Values::Int(v) = out {
            self.min_max = union(self.min_max, min_max(v[from..].iter().copied()));
        }
        Ok(())
    }

    /// Ends the page once its values are read: leftover bytes are an error, and the zone map
    /// that covers this page alone (the column's, for a single page) is judged against the
    /// values, so a reader that walks pages one by one checks them as a whole-column read does.
    /// Returns the page's integer range.
    fn finish(
        self,
        table: Table,
        dir: &ColumnDir,
        out: &mut Vec<Finding>,
    ) -> Result<Option<(u64, u64)>> {
        self.values
            .finish(&self.payload)
            .map_err(|e| e.at_if_unset(self.payload_offset))?;
        let multi = !dir.pages.is_empty();
        let zone = if multi {
            dir.pages[self.span.index as usize].zone()
        } else {
            dir.zone()
        };
        if let (Some(zone), Some(range)) = (zone, self.min_max) {
            let page = multi.then_some(self.span.index);
            out.extend(zone_finding(
                table,
                dir,
                page,
                zone,
                range,
                dir.entry_offset,
            ));
        }
        Ok(self.min_max)
    }
}

/// Decodes the pages `spans` of a column from `bytes`, which start at absolute offset `base`
/// (the first span's offset). Problems go to `out`; a page that fails yields `None`.
pub fn decode_pages(
    table: Table,
    dir: &ColumnDir,
    spans: &[PageSpan],
    bytes: &[u8],
    base: u64,
    ctx: &DecodeCtx,
    out: &mut Vec<Finding>,
) -> Vec<Option<DecodedPage>> {
    let mut pages = Vec::with_capacity(spans.len());
    for s in spans {
        let res = (|| -> Result<DecodedPage> {
            let mut page = OpenPage::open(table, dir, s, bytes, base, ctx, out)?;
            let n = page.values.left();
            let mut values = Values::for_width(dir.width, n);
            page.fill(n, &mut values)?;
            let header = page.header;
            page.finish(table, dir, out)?;
            Ok(DecodedPage {
                span: *s,
                header,
                values,
            })
        })();
        match res {
            Ok(p) => pages.push(Some(p)),
            Err(e) => {
                let pl = place(table, dir, Some(s.index));
                out.push(Finding::error(e.within(pl).at_if_unset(s.offset)));
                pages.push(None);
            }
        }
    }
    pages
}

/// A whole column read a stretch of rows at a time: what [`decode_column`] checks, in the
/// same order, without ever holding the column decoded whole. Only the page being read is
/// held decompressed (the whole column when it is one page, as the reference writes it), so
/// a reader building rows from every column at once holds the columns' payloads beside the
/// rows rather than every value widened to 8 bytes.
///
/// A stream is strict: the first error ends it, reported as [`decode_column`]'s first error
/// finding would be (the column CRC before anything a page says).
pub struct ColumnStream<'a> {
    table: Table,
    dir: &'a ColumnDir,
    bytes: &'a [u8],
    ctx: DecodeCtx,
    spans: Vec<PageSpan>,
    /// The next span to open.
    next: usize,
    page: Option<OpenPage<'a>>,
    check: ColumnCheck,
}

impl<'a> ColumnStream<'a> {
    /// A stream over `bytes`, exactly the range [`column_range`] gives for `dir`.
    pub fn new(
        table: Table,
        dir: &'a ColumnDir,
        bytes: &'a [u8],
        expected_rows: Option<u64>,
        ctx: &DecodeCtx,
    ) -> Result<Self> {
        // The directory's own findings come first, as in a whole-column decode; its warnings
        // cannot end a strict read.
        let mut findings = Vec::new();
        let usable = check_dir(table, dir, expected_rows, &mut findings);
        strict(findings, usable.then_some(()))?;
        let mut check = ColumnCheck::new(table);
        check.bytes(bytes);
        Ok(ColumnStream {
            table,
            dir,
            bytes,
            ctx: *ctx,
            spans: dir.page_spans(),
            next: 0,
            page: None,
            check,
        })
    }

    /// Appends the column's next `k` values to `out` (of the column's kind), opening pages as
    /// it goes. Fails when the column holds fewer.
    pub fn fill(&mut self, k: usize, out: &mut Values) -> Result<()> {
        if self.fill_upto(k, out)? < k {
            return Err(self.fail(
                Error::corrupt("the column holds fewer values than its table's rows")
                    .within(place(self.table, self.dir, None)),
            ));
        }
        Ok(())
    }

    /// As [`ColumnStream::fill`], stopping quietly at the column's end; returns how many
    /// values it appended.
    fn fill_upto(&mut self, k: usize, out: &mut Values) -> Result<usize> {
        let mut given = 0;
        while given < k {
            let page = match &mut self.page {
                Some(p) if p.values.left() > 0 => p,
                _ => {
                    self.end_page()?;
                    let Some(s) = self.spans.get(self.next).copied() else {
                        break;
                    };
                    self.next += 1;
                    let opened = OpenPage::open(
                        self.table,
                        self.dir,
                        &s,
                        self.bytes,
                        self.dir.first_page_offset,
                        &self.ctx,
                        &mut self.check.pages,
                    );
                    match opened {
                        Ok(p) => self.page.insert(p),
                        Err(e) => return Err(self.page_failed(e, s.index)),
                    }
                }
            };
            let m = (k - given).min(page.values.left());
            if let Err(e) = page.fill(m, out) {
                let index = page.span.index;
                return Err(self.page_failed(e, index));
            }
            given += m;
        }
        Ok(given)
    }

    /// Ends the column once its table's rows are read. Values past them (a column longer
    /// than the table says) are still decoded and judged, as a whole-column decode judges
    /// them; then the column CRC, the encoding and the zone map the directory states.
    pub fn finish(mut self) -> Result<()> {
        let mut rest = Values::for_width(self.dir.width, 0);
        loop {
            rest.clear();
            if self.fill_upto(4096, &mut rest)? == 0 {
                break;
            }
        }
        self.end_page()?;
        let mut out = Vec::new();
        let decoded = self.check.finish(self.dir, &mut out);
        strict(out, decoded.then_some(()))
    }

    /// Finishes the open page, if any, into the column's check.
    fn end_page(&mut self) -> Result<()> {
        let Some(p) = self.page.take() else {
            return Ok(());
        };
        let (index, encoding) = (p.span.index, p.header.encoding);
        let wide = p.values.is_wide();
        let before = self.check.pages.len();
        match p.finish(self.table, self.dir, &mut self.check.pages) {
            Ok(range) => {
                self.check.page_seen(encoding, wide, range);
                // A zone map that would hide rows is an error the page itself survives.
                let new = &self.check.pages[before..];
                match new.iter().find(|f| f.severity == Severity::Error) {
                    Some(f) => {
                        let e = f.error.clone();
                        Err(self.fail(e))
                    }
                    None => Ok(()),
                }
            }
            Err(e) => Err(self.page_failed(e, index)),
        }
    }

    fn page_failed(&mut self, e: Error, index: u32) -> Error {
        let s = self.spans[index as usize];
        let pl = place(self.table, self.dir, Some(index));
        self.fail(e.within(pl).at_if_unset(s.offset))
    }

    /// The error a whole-column decode would report first, given that `e` ended the stream:
    /// a column CRC mismatch outranks it.
    fn fail(&mut self, e: Error) -> Error {
        let check = core::mem::replace(&mut self.check, ColumnCheck::new(self.table));
        match check.crc_finding(self.dir) {
            Some(f) => f.error,
            None => e,
        }
    }
}

/// The strict reading of a decode's findings: its first error, else `value` (`None`: the
/// thing did not decode, for a reason a finding should have given).
pub fn strict<T>(findings: Vec<Finding>, value: Option<T>) -> Result<T> {
    if let Some(f) = findings.into_iter().find(|f| f.severity == Severity::Error) {
        return Err(f.error);
    }
    value.ok_or_else(|| Error::corrupt("did not decode"))
}

/// What a column's pages add up to, fed a piece at a time: the column CRC over its page bytes,
/// every page's findings, the first page's encoding and the values' range. The whole-column
/// decoder and the stepwise verifier (which reads a column a few pages at a time) both judge a
/// column through it, so they report the same findings in the same order.
pub struct ColumnCheck {
    table: Table,
    crc: crate::crc::Crc32c,
    bytes: u64,
    /// The pages' own findings, reported after the column CRC's.
    pub pages: Vec<Finding>,
    first_encoding: Option<u8>,
    min_max: Option<(u64, u64)>,
    wide: bool,
    ints: bool,
    failed: bool,
}

impl ColumnCheck {
    /// A check of `table`'s column (its directory entry has passed [`check_dir`]).
    pub fn new(table: Table) -> Self {
        ColumnCheck {
            table,
            crc: crate::crc::Crc32c::new(),
            bytes: 0,
            pages: Vec::new(),
            first_encoding: None,
            min_max: None,
            wide: false,
            ints: false,
            failed: false,
        }
    }

    /// Feeds the next page bytes, in file order, to the column CRC.
    pub fn bytes(&mut self, b: &[u8]) {
        self.crc.update(b);
        self.bytes += b.len() as u64;
    }

    /// Takes the next page in row order (`None`: it failed to decode).
    pub fn page(&mut self, p: Option<&DecodedPage>) {
        let Some(p) = p else {
            self.failed = true;
            return;
        };
        match &p.values {
            Values::Int(v) => self.page_seen(p.header.encoding, false, min_max(v.iter().copied())),
            Values::Wide(_) => self.page_seen(p.header.encoding, true, None),
        }
    }

    /// Takes the next page in row order by what it held: its encoding, whether its values were
    /// 16 bytes wide, and the range of its integer values.
    pub fn page_seen(&mut self, encoding: u8, wide: bool, range: Option<(u64, u64)>) {
        self.first_encoding.get_or_insert(encoding);
        if wide {
            self.wide = true;
        } else {
            self.ints = true;
            self.min_max = union(self.min_max, range);
        }
    }

    /// Marks the column as failed (its bytes could not be read).
    pub fn fail(&mut self) {
        self.failed = true;
    }

    /// The smallest and largest integer value seen.
    pub fn min_max(&self) -> Option<(u64, u64)> {
        self.min_max
    }

    /// The column CRC's finding, if the bytes fed so far do not give the directory's CRC.
    pub fn crc_finding(&self, dir: &ColumnDir) -> Option<Finding> {
        let crc = self.crc.clone().finish();
        (crc != dir.column_crc).then(|| {
            Finding::error(
                Error::new(
                    ErrorKind::Checksum,
                    format!(
                        "column CRC32C is 0x{:08x} but its {} page bytes give 0x{crc:08x}",
                        dir.column_crc, self.bytes
                    ),
                )
                .within(place(self.table, dir, None))
                .at(dir.first_page_offset),
            )
        })
    }

    /// Reports the column CRC, the pages' findings, the encoding the directory names and the
    /// column's zone map against the values. Returns whether every page decoded (and at least
    /// one did).
    pub fn finish(self, dir: &ColumnDir, out: &mut Vec<Finding>) -> bool {
        let pl = place(self.table, dir, None);
        out.extend(self.crc_finding(dir));
        out.extend(self.pages);
        if self.failed || (self.wide && self.ints) || !(self.wide || self.ints) {
            return false;
        }
        if let Some(enc) = self.first_encoding {
            if enc != dir.encoding {
                out.push(Finding::warning(
                    Error::inconsistent(format!(
                        "directory names {} as the column's encoding, its first page is {}",
                        encoding_name(dir.encoding),
                        encoding_name(enc)
                    ))
                    .within(pl)
                    .at(dir.entry_offset),
                ));
            }
        }
        if let (Some(zone), Some((min, max)), true) =
            (dir.zone(), self.min_max, !dir.pages.is_empty())
        {
            out.extend(zone_finding(
                self.table,
                dir,
                None,
                zone,
                (min, max),
                dir.entry_offset,
            ));
        }
        true
    }
}

/// Decodes a whole column from `bytes` (exactly the range [`column_range`] gives), checking the
/// column CRC, every page, the row counts and the zone map. Returns `None` if any page failed.
pub fn decode_column(
    table: Table,
    dir: &ColumnDir,
    bytes: &[u8],
    expected_rows: Option<u64>,
    ctx: &DecodeCtx,
    out: &mut Vec<Finding>,
) -> Option<Values> {
    if !check_dir(table, dir, expected_rows, out) {
        return None;
    }
    let mut check = ColumnCheck::new(table);
    check.bytes(bytes);
    let spans = dir.page_spans();
    let pages = decode_pages(
        table,
        dir,
        &spans,
        bytes,
        dir.first_page_offset,
        ctx,
        &mut check.pages,
    );
    let mut values: Option<Values> = None;
    for p in pages {
        check.page(p.as_ref());
        match (&mut values, p.map(|p| p.values)) {
            (_, None) => {}
            (None, Some(v)) => values = Some(v),
            (Some(Values::Int(acc)), Some(Values::Int(v))) => acc.extend_from_slice(&v),
            (Some(Values::Wide(acc)), Some(Values::Wide(v))) => acc.extend_from_slice(&v),
            _ => {}
        }
    }
    if !check.finish(dir, out) {
        return None;
    }
    values
}

/// The place a special region's page is reported under.
pub fn region_place(kind: u8) -> Place {
    match kind {
        KIND_BLOB => Place::Arena,
        KIND_SCHEDULE => Place::Schedule,
        _ => Place::SeenSet,
    }
}

/// Checks the 32-byte header `head` of a special region's page against its region: the page's
/// kind is `kind` (the reference checks it for the wheel and the filter only, but only damage
/// makes any page's kind wrong) and the page fills the region exactly (bytes after it would be
/// ignored by every reader, so they can only be damage or a foreign writer's).
pub fn region_page_header(
    head: &[u8; PAGE_HEADER_LEN],
    desc: &RegionDesc,
    kind: u8,
) -> Result<PageHeader> {
    let pl = region_place(kind);
    let h = PageHeader::read(head);
    if h.kind != kind {
        return Err(
            Error::corrupt(format!("page kind is {}, expected {kind}", h.kind))
                .within(pl)
                .at(desc.offset + page_at::KIND as u64),
        );
    }
    if h.byte_len() != desc.length {
        return Err(Error::corrupt(format!(
            "the page is {} bytes but its region is {}; a region holds exactly its page",
            h.byte_len(),
            desc.length
        ))
        .within(pl)
        .at(desc.offset + page_at::COMPRESSED_SIZE as u64));
    }
    Ok(h)
}

/// Decodes the single page of a special region (the arena, the wheel or the filter) from the
/// region's bytes, under [`region_page_header`]'s rules. A zero-length arena region is an empty
/// arena.
pub fn decode_region_page(
    bytes: &[u8],
    desc: &RegionDesc,
    kind: u8,
    ctx: &DecodeCtx,
    out: &mut Vec<Finding>,
) -> Option<(PageHeader, Vec<u8>)> {
    if bytes.is_empty() && kind == KIND_BLOB {
        return Some((PageHeader::default(), Vec::new()));
    }
    let pl = region_place(kind);
    let page = locate_page(bytes, desc.offset)
        .map_err(|e| e.within(pl))
        .and_then(|p| {
            let head = bytes[..PAGE_HEADER_LEN].try_into().expect("located");
            region_page_header(head, desc, kind).map(|_| p)
        });
    let page = match page {
        Ok(p) => p,
        Err(e) => {
            out.push(Finding::error(e));
            return None;
        }
    };
    match decode_payload(&page, &ctx.limits, ctx.file_len, ctx.zstd) {
        Ok(p) => Some((page.header, p.into_owned())),
        Err(e) => {
            out.push(Finding::error(e.within(pl)));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Severity;
    use crate::format::REGION_SCHEDULE;
    use crate::testing::{file, footer_of, partition};

    fn ctx(f: &[u8]) -> DecodeCtx {
        DecodeCtx {
            limits: Limits::default(),
            file_len: f.len() as u64,
            zstd: ZstdBackend::Pure,
        }
    }

    fn errors(out: &[Finding]) -> Vec<&str> {
        out.iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.error.message.as_str())
            .collect()
    }

    /// Whether `check_dir` accepts `dir` for a URL table of `rows` rows, and what it found.
    fn judged(dir: &ColumnDir, rows: u64) -> (bool, Vec<Finding>) {
        let mut out = Vec::new();
        let ok = check_dir(Table::Url, dir, Some(rows), &mut out);
        (ok, out)
    }

    #[test]
    fn each_directory_rule() {
        let f = file(&partition(4, 10), 16);
        let footer = footer_of(&f);
        let good = footer.column(Table::Url, 4).unwrap().clone();
        assert_eq!(good.num_pages, 3);
        assert_eq!(judged(&good, 40), (true, Vec::new()));
        type Change = fn(&mut ColumnDir);
        let broken: [(&str, Change); 8] = [
            ("zero pages", |d| d.num_pages = 0),
            ("width 3 is not", |d| d.width = 3),
            ("must be 2 bytes wide", |d| d.width = 4),
            ("the header says 41 rows", |_| {}),
            ("names no encoding", |d| d.encoding = 5),
            ("the pages before it end at row 16", |d| {
                d.pages[1].first_row = 17
            }),
            ("less than a page header", |d| d.pages[2].byte_len = 31),
            ("does not contain its pages' zone maps", |d| d.zone_max -= 1),
        ];
        for (i, (what, change)) in broken.iter().enumerate() {
            let mut d = good.clone();
            change(&mut d);
            let rows = if i == 3 { 41 } else { 40 };
            let (ok, out) = judged(&d, rows);
            assert!(!ok, "{what}");
            assert!(
                errors(&out).iter().any(|m| m.contains(what)),
                "{what}: {out:?}"
            );
        }
        // Stale totals no reader uses are warnings: the column still decodes.
        let mut d = good.clone();
        d.total_uncompressed += 1;
        d.total_compressed += 1;
        let (ok, out) = judged(&d, 40);
        assert!(ok);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out
            .iter()
            .all(|f| f.severity == Severity::Warning && f.error.kind == ErrorKind::Inconsistent));
    }

    #[test]
    fn a_column_decodes_under_its_crcs_and_zone_maps() {
        let p = partition(3, 5);
        let f = file(&p, 1000);
        let footer = footer_of(&f);
        let dir = footer
            .column(Table::Url, crate::schema::url::NEXT_DUE)
            .unwrap();
        let (off, len) = column_range(dir).unwrap();
        let bytes = &f[off as usize..(off + len) as usize];
        let mut out = Vec::new();
        let v = decode_column(Table::Url, dir, bytes, Some(15), &ctx(&f), &mut out).unwrap();
        assert!(out.is_empty(), "{out:?}");
        let want: Vec<u64> = p.urls.iter().map(|u| u64::from(u.next_due)).collect();
        assert_eq!(v, Values::Int(want.clone()));

        // A damaged payload byte: the column CRC and the page CRC both object.
        let mut bad = bytes.to_vec();
        bad[PAGE_HEADER_LEN] ^= 1;
        let mut out = Vec::new();
        assert!(decode_column(Table::Url, dir, &bad, Some(15), &ctx(&f), &mut out).is_none());
        let kinds: Vec<ErrorKind> = out.iter().map(|f| f.error.kind).collect();
        assert_eq!(kinds, [ErrorKind::Checksum, ErrorKind::Checksum]);
        assert_eq!(out[1].error.offset, Some(off + page_at::CRC as u64));

        // A zone map that leaves a value out would let a reader skip it: an error. One that
        // is merely wider is a warning.
        let (lo, hi) = dir.zone().unwrap();
        assert_eq!((lo, hi), (0, *want.iter().max().unwrap()));
        let mut narrow = dir.clone();
        narrow.zone_max = hi - 1;
        let mut out = Vec::new();
        decode_column(Table::Url, &narrow, bytes, Some(15), &ctx(&f), &mut out);
        assert!(errors(&out)[0].contains("does not contain the values' range"));
        let mut wide = dir.clone();
        wide.zone_max = hi + 1;
        let mut out = Vec::new();
        assert!(decode_column(Table::Url, &wide, bytes, Some(15), &ctx(&f), &mut out).is_some());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].severity, Severity::Warning);
    }

    #[test]
    fn a_special_region_holds_exactly_one_page_of_its_kind() {
        let f = file(&partition(3, 5), 1000);
        let footer = footer_of(&f);
        let desc = *footer.region(REGION_SCHEDULE).unwrap();
        let at = desc.offset as usize;
        let head: &[u8; PAGE_HEADER_LEN] = f[at..at + PAGE_HEADER_LEN].try_into().unwrap();
        let h = region_page_header(head, &desc, KIND_SCHEDULE).unwrap();
        assert_eq!(h.byte_len(), desc.length);
        let e = region_page_header(head, &desc, KIND_BLOB).unwrap_err();
        assert_eq!((e.place, e.offset), (Place::Arena, Some(desc.offset)));
        let longer = RegionDesc {
            length: desc.length + 1,
            ..desc
        };
        let e = region_page_header(head, &longer, KIND_SCHEDULE).unwrap_err();
        assert_eq!(
            (e.place, e.offset),
            (Place::Schedule, Some(desc.offset + 12))
        );
        let bytes = &f[at..at + desc.length as usize];
        let mut out = Vec::new();
        let (_, payload) =
            decode_region_page(bytes, &desc, KIND_SCHEDULE, &ctx(&f), &mut out).unwrap();
        assert!(out.is_empty());
        assert_eq!(payload.len() as u64, desc.length - PAGE_HEADER_LEN as u64);
        // An empty arena region is an empty arena; an empty wheel region is damage.
        let mut out = Vec::new();
        assert!(decode_region_page(&[], &desc, KIND_BLOB, &ctx(&f), &mut out).is_some());
        assert!(decode_region_page(&[], &desc, KIND_SCHEDULE, &ctx(&f), &mut out).is_none());
    }
}
