//! The footer: a stream of `uvarint tag ‖ uvarint body_len ‖ body` sections between the last
//! region and the trailer.
//!
//! Sections we know: 1 REGIONS, 2 URL_COLUMNS, 3 HOST_COLUMNS, 7 STATS, 8 KEY_VALUE_META (tags 4,
//! 5, 6 are reserved and never written). Unknown tags are skipped by length. Where the reference
//! swallows a truncated section body (reading zeros), we refuse it: no writer produces one, and
//! zeros invented by a reader are worse than an error. A later duplicate of a known section
//! replaces the earlier one, as in the reference, and `verify` warns about it.

use super::layout::layout;
use crate::bytes::{put_uvarint, Cursor};
use crate::error::{Error, Place, Result, Table};
use alloc::format;
use alloc::vec::Vec;

/// Footer section tag: region directory.
pub const TAG_REGIONS: u64 = 1;
/// Footer section tag: URL column directory.
pub const TAG_URL_COLUMNS: u64 = 2;
/// Footer section tag: host column directory.
pub const TAG_HOST_COLUMNS: u64 = 3;
/// Footer section tag: partition statistics.
pub const TAG_STATS: u64 = 7;
/// Footer section tag: key-value metadata.
pub const TAG_META: u64 = 8;

/// The tag of the section holding `table`'s column directory.
pub fn columns_tag(table: Table) -> u64 {
    match table {
        Table::Url => TAG_URL_COLUMNS,
        Table::Host => TAG_HOST_COLUMNS,
    }
}

/// Name of a footer section tag, if it is one the format defines.
pub fn section_name(tag: u64) -> Option<&'static str> {
    Some(match tag {
        1 => "regions",
        2 => "url columns",
        3 => "host columns",
        4 => "schedule (reserved)",
        5 => "seenset (reserved)",
        6 => "blob (reserved)",
        7 => "stats",
        8 => "metadata",
        _ => return None,
    })
}

layout! {
    /// One entry of the region directory (22 bytes on disk).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RegionDesc in region_at {
        /// Region id (0..=4 defined).
        id: u8 = ID, "region id";
        /// Absolute offset of the region's first byte.
        offset: u64 = OFFSET, "region offset";
        /// Region length in bytes.
        length: u64 = LENGTH, "region length";
        /// CRC32C of the region's bytes.
        crc: u32 = CRC, "region CRC";
        /// Flags (always 0; ignored).
        flags: u8 = FLAGS, "region flags";
    }
}

/// Size of a region descriptor on disk.
pub const REGION_DESC_LEN: usize = region_at::LEN;

layout! {
    /// One page's entry in a multi-page column's skip list (42 bytes on disk).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct SkipEntry in skip_at {
        /// Row index of the page's first value within the column.
        first_row: u64 = FIRST_ROW, "skip first row";
        /// Rows in the page.
        num_values: u64 = NUM_VALUES, "skip value count";
        /// Full on-disk page length (32-byte page header plus payload).
        byte_len: u64 = BYTE_LEN, "skip byte length";
        /// Encoding of this page.
        encoding: u8 = ENCODING, "skip encoding";
        /// Bit 0: the page has a zone map.
        flags: u8 = FLAGS, "skip flags";
        /// Smallest value in the page (when flagged).
        zone_min: u64 = ZONE_MIN, "skip zone min";
        /// Largest value in the page (when flagged).
        zone_max: u64 = ZONE_MAX, "skip zone max";
    }
}

impl SkipEntry {
    /// The page's zone map, if it has one.
    pub fn zone(&self) -> Option<(u64, u64)> {
        (self.flags & 1 != 0).then_some((self.zone_min, self.zone_max))
    }
}

/// Size of a skip-list entry on disk.
pub const SKIP_ENTRY_LEN: usize = skip_at::LEN;
/// Smallest possible column directory entry (single page, one-byte varints).
pub const MIN_COLUMN_DIR_LEN: usize = 67;

/// One column's directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDir {
    /// Schema column id.
    pub column_id: u64,
    /// Absolute offset of the first page.
    pub first_page_offset: u64,
    /// Sum of the pages' compressed payload sizes (page headers excluded).
    pub total_compressed: u64,
    /// Rows × width: the logical raw size.
    pub total_uncompressed: u64,
    /// Rows in the column.
    pub num_values: u64,
    /// Pages in the column (at least 1 in valid files).
    pub num_pages: u64,
    /// Bytes per value: 1, 2, 4, 8 or 16.
    pub width: u8,
    /// Encoding of the first page.
    pub encoding: u8,
    /// The partition's requested codec (pages carry the codec actually used).
    pub codec: u8,
    /// Duplicate of `total_uncompressed`.
    pub uncompressed_size: u64,
    /// CRC32C over all page bytes (headers and payloads) of the column.
    pub column_crc: u32,
    /// Bit 0: the column has a zone map.
    pub flags: u8,
    /// Smallest value (when flagged).
    pub zone_min: u64,
    /// Largest value (when flagged).
    pub zone_max: u64,
    /// Skip list, one entry per page, when `num_pages > 1`; empty otherwise.
    pub pages: Vec<SkipEntry>,
    /// Absolute offset of this entry in the footer (for error locations).
    pub entry_offset: u64,
    /// Absolute offset of the column CRC field (the flags byte and zone map follow it).
    pub crc_offset: u64,
}

impl ColumnDir {
    /// The column's zone map, if it has one.
    pub fn zone(&self) -> Option<(u64, u64)> {
        (self.flags & 1 != 0).then_some((self.zone_min, self.zone_max))
    }

    /// Each page's zone map, in page order (the column's own for a single-page column).
    pub fn page_zones(&self) -> Vec<Option<(u64, u64)>> {
        if self.pages.is_empty() {
            alloc::vec![self.zone()]
        } else {
            self.pages.iter().map(SkipEntry::zone).collect()
        }
    }

    /// Total on-disk bytes of the column's pages: payloads plus one 32-byte header per page.
    pub fn byte_len(&self) -> Option<u64> {
        self.num_pages
            .checked_mul(super::page::PAGE_HEADER_LEN as u64)?
            .checked_add(self.total_compressed)
    }

    /// Offsets, first rows and row counts of each page, derived from the skip list (or the
    /// single page). `None` for page offsets that overflow.
    pub fn page_spans(&self) -> Vec<PageSpan> {
        if self.pages.is_empty() {
            return alloc::vec![PageSpan {
                index: 0,
                offset: self.first_page_offset,
                byte_len: self.byte_len().unwrap_or(u64::MAX),
                first_row: 0,
                num_values: self.num_values,
            }];
        }
        let mut out = Vec::with_capacity(self.pages.len());
        let mut off = self.first_page_offset;
        for (i, p) in self.pages.iter().enumerate() {
            out.push(PageSpan {
                index: i as u32,
                offset: off,
                byte_len: p.byte_len,
                first_row: p.first_row,
                num_values: p.num_values,
            });
            off = off.saturating_add(p.byte_len);
        }
        out
    }

    fn parse(c: &mut Cursor<'_>) -> Result<ColumnDir> {
        let entry_offset = c.offset();
        let column_id = c.uvarint("column id")?;
        let first_page_offset = c.u64("first page offset")?;
        let total_compressed = c.u64("total compressed size")?;
        let total_uncompressed = c.u64("total uncompressed size")?;
        let num_values = c.uvarint("value count")?;
        let num_pages = c.uvarint("page count")?;
        let width = c.u8("width")?;
        let encoding = c.u8("encoding")?;
        let codec = c.u8("codec")?;
        let uncompressed_size = c.u64("uncompressed size")?;
        let crc_offset = c.offset();
        let column_crc = c.u32("column CRC")?;
        let flags = c.u8("flags")?;
        let zone_min = c.u64("zone min")?;
        let zone_max = c.u64("zone max")?;
        let mut pages = Vec::new();
        if num_pages <= 1 {
            c.u64("page index placeholder")?;
        } else {
            let at = c.offset();
            let need = num_pages.checked_mul(SKIP_ENTRY_LEN as u64);
            if need.is_none_or(|n| n > c.remaining() as u64) {
                return Err(Error::corrupt(format!(
                    "column {column_id} claims {num_pages} pages, but the {} bytes left hold at most {} skip-list entries",
                    c.remaining(),
                    c.remaining() / SKIP_ENTRY_LEN
                ))
                .at(at));
            }
            pages.reserve_exact(num_pages as usize);
            for _ in 0..num_pages {
                pages.push(SkipEntry::take(c)?);
            }
        }
        Ok(ColumnDir {
            column_id,
            first_page_offset,
            total_compressed,
            total_uncompressed,
            num_values,
            num_pages,
            width,
            encoding,
            codec,
            uncompressed_size,
            column_crc,
            flags,
            zone_min,
            zone_max,
            pages,
            entry_offset,
            crc_offset,
        })
    }

    /// Appends the on-disk form of this entry. A single-page column writes the placeholder u64
    /// 0 instead of a skip list.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_uvarint(out, self.column_id);
        out.extend_from_slice(&self.first_page_offset.to_le_bytes());
        out.extend_from_slice(&self.total_compressed.to_le_bytes());
        out.extend_from_slice(&self.total_uncompressed.to_le_bytes());
        put_uvarint(out, self.num_values);
        put_uvarint(out, self.num_pages);
        out.extend_from_slice(&[self.width, self.encoding, self.codec]);
        out.extend_from_slice(&self.uncompressed_size.to_le_bytes());
        out.extend_from_slice(&self.column_crc.to_le_bytes());
        out.push(self.flags);
        out.extend_from_slice(&self.zone_min.to_le_bytes());
        out.extend_from_slice(&self.zone_max.to_le_bytes());
        if self.num_pages <= 1 {
            out.extend_from_slice(&0u64.to_le_bytes());
        } else {
            for p in &self.pages {
                p.encode(out);
            }
        }
    }
}

/// Where one page of a column sits and which rows it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSpan {
    /// Page index within the column.
    pub index: u32,
    /// Absolute offset of the page header.
    pub offset: u64,
    /// On-disk length (header + payload).
    pub byte_len: u64,
    /// First row index.
    pub first_row: u64,
    /// Rows in the page.
    pub num_values: u64,
}

layout! {
    /// The STATS section (68 bytes).
    #[derive(Debug, Clone, Copy, PartialEq, Default)]
    pub struct Stats in stats_at {
        /// URL rows.
        url_count: u64 = URL_COUNT, "stats url count";
        /// Host rows.
        host_count: u64 = HOST_COUNT, "stats host count";
        /// Host-key range low.
        hostkey_lo: u64 = HOSTKEY_LO, "stats host-key low";
        /// Host-key range high.
        hostkey_hi: u64 = HOSTKEY_HI, "stats host-key high";
        /// Scheduled rows (the reference always writes 0).
        scheduled_count: u64 = SCHEDULED_COUNT, "stats scheduled count";
        /// Smallest nonzero `next_due` (0 if none).
        due_min: u32 = DUE_MIN, "stats due min";
        /// Largest `next_due` (0 if none is nonzero).
        due_max: u32 = DUE_MAX, "stats due max";
        /// Sum of the column directories' `total_compressed`.
        total_compressed: u64 = TOTAL_COMPRESSED, "stats total compressed";
        /// Sum of rows × width over both tables.
        total_uncompressed: u64 = TOTAL_UNCOMPRESSED, "stats total uncompressed";
        /// `footer_offset / url_count` computed in f32 (0 with no URLs).
        bytes_per_url: f32 = BYTES_PER_URL, "stats bytes per url";
    }
}

/// Length of the STATS body.
pub const STATS_LEN: usize = stats_at::LEN;

impl Stats {
    /// The format's bytes-per-URL figure: `footer_offset / url_count` in f32 arithmetic (the
    /// header and regions, not the footer), 0 with no URLs.
    pub fn bytes_per_url_of(footer_offset: u64, url_count: u64) -> f32 {
        if url_count == 0 {
            0.0
        } else {
            footer_offset as f32 / url_count as f32
        }
    }

    /// `(due_min, due_max)` of a `next_due` column: the smallest nonzero value and the largest,
    /// `(0, 0)` when no row is due.
    pub fn due_range_of(next_due: &[u32]) -> (u32, u32) {
        let min = next_due
            .iter()
            .copied()
            .filter(|&d| d != 0)
            .min()
            .unwrap_or(0);
        (min, next_due.iter().copied().max().unwrap_or(0))
    }
}

/// Where a section sits in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionSpan {
    /// Section tag.
    pub tag: u64,
    /// Absolute offset of the tag varint.
    pub offset: u64,
    /// Absolute offset of the body.
    pub body_offset: u64,
    /// Body length.
    pub body_len: u64,
}

/// The parsed footer.
#[derive(Debug, Clone, Default)]
pub struct Footer {
    /// Region directory, in stored order.
    pub regions: Vec<RegionDesc>,
    /// URL column directory, in stored order.
    pub url_columns: Vec<ColumnDir>,
    /// Host column directory, in stored order.
    pub host_columns: Vec<ColumnDir>,
    /// STATS, if the section is present.
    pub stats: Option<Stats>,
    /// Key-value metadata, if the section is present, in stored order.
    pub meta: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    /// Every section in stored order, known or not.
    pub sections: Vec<SectionSpan>,
    /// Sections whose bodies did not parse. A strict reader refuses a footer with any.
    pub errors: Vec<Error>,
    /// Legal but suspicious findings (duplicate sections, bytes left in a body).
    pub warnings: Vec<Error>,
}

impl Footer {
    /// Parses the section stream `bytes`, which starts at absolute offset `base`. Framing errors
    /// (a section running past the end) fail the whole parse; a bad section body is recorded in
    /// [`Footer::errors`] and parsing goes on with the next section.
    pub fn parse(bytes: &[u8], base: u64) -> Result<Footer> {
        let mut f = Footer::default();
        let mut c = Cursor::new(bytes, base);
        while !c.is_empty() {
            let offset = c.offset();
            let tag = c
                .uvarint("section tag")
                .map_err(|e| e.within(Place::Footer))?;
            let len_at = c.offset();
            let body_len = c
                .uvarint("section length")
                .map_err(|e| e.within(Place::Footer))?;
            if body_len > c.remaining() as u64 {
                return Err(Error::corrupt(format!(
                    "section {tag} says its body is {body_len} bytes, but only {} footer bytes remain",
                    c.remaining()
                ))
                .within(Place::Section(tag))
                .at(len_at));
            }
            let body_offset = c.offset();
            let body = c.take(body_len as usize, "section body")?;
            f.sections.push(SectionSpan {
                tag,
                offset,
                body_offset,
                body_len,
            });
            let known = matches!(
                tag,
                TAG_REGIONS | TAG_URL_COLUMNS | TAG_HOST_COLUMNS | TAG_STATS | TAG_META
            );
            if known && f.sections.iter().filter(|s| s.tag == tag).count() > 1 {
                f.warnings.push(
                    Error::duplicate("section appears more than once; the last copy is used")
                        .within(Place::Section(tag))
                        .at(offset),
                );
            }
            let mut bc = Cursor::new(body, body_offset);
            let parsed = match tag {
                TAG_REGIONS => parse_regions(&mut bc).map(|r| f.regions = r),
                TAG_URL_COLUMNS => parse_columns(&mut bc).map(|d| f.url_columns = d),
                TAG_HOST_COLUMNS => parse_columns(&mut bc).map(|d| f.host_columns = d),
                TAG_STATS => Stats::take(&mut bc).map(|s| f.stats = Some(s)),
                TAG_META => parse_meta(&mut bc).map(|m| f.meta = Some(m)),
                _ => {
                    bc = Cursor::new(&[], body_offset + body_len);
                    Ok(())
                }
            };
            match parsed {
                Err(e) => f.errors.push(e.within(Place::Section(tag))),
                Ok(()) if !bc.is_empty() => f.warnings.push(
                    Error::unused(format!(
                        "{} unused bytes at the end of the section body",
                        bc.remaining()
                    ))
                    .within(Place::Section(tag))
                    .at(bc.offset()),
                ),
                Ok(()) => {}
            }
        }
        Ok(f)
    }

    /// The first section error, for strict readers.
    pub fn first_error(&self) -> Option<&Error> {
        self.errors.first()
    }

    /// Directory of one table.
    pub fn columns(&self, table: Table) -> &[ColumnDir] {
        match table {
            Table::Url => &self.url_columns,
            Table::Host => &self.host_columns,
        }
    }

    /// The last directory entry with `id` (later duplicates win, as in the reference).
    pub fn column(&self, table: Table, id: u64) -> Option<&ColumnDir> {
        self.columns(table).iter().rev().find(|d| d.column_id == id)
    }

    /// The region descriptor with `id` (the last one if repeated).
    pub fn region(&self, id: u8) -> Option<&RegionDesc> {
        self.regions.iter().rev().find(|r| r.id == id)
    }
}

fn parse_regions(c: &mut Cursor<'_>) -> Result<Vec<RegionDesc>> {
    let n = c.count("region count", REGION_DESC_LEN)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(RegionDesc::take(c)?);
    }
    Ok(out)
}

fn parse_columns(c: &mut Cursor<'_>) -> Result<Vec<ColumnDir>> {
    let n = c.count("column count", MIN_COLUMN_DIR_LEN)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(ColumnDir::parse(c)?);
    }
    Ok(out)
}

fn parse_meta(c: &mut Cursor<'_>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let n = c.count("metadata pair count", 2)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let kl = c.count("metadata key length", 1)?;
        let k = c.take(kl, "metadata key")?.to_vec();
        let vl = c.count("metadata value length", 1)?;
        let v = c.take(vl, "metadata value")?.to_vec();
        out.push((k, v));
    }
    Ok(out)
}

/// Appends one framed section.
pub fn encode_section(out: &mut Vec<u8>, tag: u64, body: &[u8]) {
    put_uvarint(out, tag);
    put_uvarint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// Appends a REGIONS body.
pub fn encode_regions(out: &mut Vec<u8>, regions: &[RegionDesc]) {
    put_uvarint(out, regions.len() as u64);
    for r in regions {
        r.encode(out);
    }
}

/// Appends a KEY_VALUE_META body (pairs must already be sorted by key).
pub fn encode_meta(out: &mut Vec<u8>, pairs: &[(Vec<u8>, Vec<u8>)]) {
    put_uvarint(out, pairs.len() as u64);
    for (k, v) in pairs {
        put_uvarint(out, k.len() as u64);
        out.extend_from_slice(k);
        put_uvarint(out, v.len() as u64);
        out.extend_from_slice(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::format::page::PAGE_HEADER_LEN;
    use crate::testing::{file, footer_of, partition, with_footer};

    #[test]
    fn the_fixed_entries_are_the_formats() {
        assert_eq!((REGION_DESC_LEN, SKIP_ENTRY_LEN, STATS_LEN), (22, 42, 68));
        assert_eq!(
            (region_at::OFFSET, region_at::CRC, region_at::FLAGS),
            (1, 17, 21)
        );
        assert_eq!((skip_at::ENCODING, skip_at::ZONE_MIN), (24, 26));
        assert_eq!(
            (
                stats_at::DUE_MIN,
                stats_at::TOTAL_COMPRESSED,
                stats_at::BYTES_PER_URL
            ),
            (40, 48, 64)
        );
    }

    #[test]
    fn our_footer_parses_to_what_was_written() {
        let p = partition(5, 8);
        let f = file(&p, 16);
        let footer = footer_of(&f);
        assert!(footer.errors.is_empty() && footer.warnings.is_empty());
        let tags: Vec<u64> = footer.sections.iter().map(|s| s.tag).collect();
        assert_eq!(
            tags,
            [
                TAG_REGIONS,
                TAG_URL_COLUMNS,
                TAG_HOST_COLUMNS,
                TAG_STATS,
                TAG_META
            ]
        );
        assert_eq!(
            (footer.url_columns.len(), footer.host_columns.len()),
            (23, 20)
        );
        let st = footer.stats.unwrap();
        assert_eq!((st.url_count, st.host_count), (40, 5));
        assert_eq!(footer.meta.as_deref(), Some(&p.meta[..]));
        // 40 URL rows at 16 a page: three pages, each with its skip entry and zone map.
        let keys = footer.column(Table::Url, 0).unwrap();
        assert_eq!(keys.num_pages, 3);
        let rows: Vec<(u64, u64)> = keys
            .pages
            .iter()
            .map(|s| (s.first_row, s.num_values))
            .collect();
        assert_eq!(rows, [(0, 16), (16, 16), (32, 8)]);
        // Host 4 holds rows 32..40; hosts 2 and 3, rows 16..32.
        assert_eq!(
            keys.page_zones()[1..],
            [Some((3000, 4000)), Some((5000, 5000))]
        );
        assert_eq!(keys.zone(), Some((1000, 5000)));
        // Page spans follow one another from the first page.
        let spans = keys.page_spans();
        assert_eq!(spans[0].offset, keys.first_page_offset);
        assert_eq!(spans[1].offset, spans[0].offset + spans[0].byte_len);
        assert_eq!(
            keys.byte_len(),
            Some(3 * PAGE_HEADER_LEN as u64 + keys.total_compressed)
        );
        // Every entry encodes back to its own bytes.
        for d in footer.url_columns.iter().chain(&footer.host_columns) {
            let mut b = Vec::new();
            d.encode(&mut b);
            let at = d.entry_offset as usize;
            assert_eq!(b, f[at..at + b.len()], "column {}", d.column_id);
        }
    }

    #[test]
    fn section_framing_and_bodies() {
        let f = file(&partition(2, 3), 1000);
        let h = crate::format::header::Header::read(f[..64].try_into().unwrap());
        let start = h.footer_offset as usize;
        let body = &f[start..f.len() - 12];
        // A section whose length runs past the footer fails the whole parse.
        let mut cut = body.to_vec();
        cut.truncate(body.len() - 1);
        assert!(Footer::parse(&cut, start as u64).is_err());
        // An unknown section is skipped by its length and listed; a repeated known one
        // warns, and the last copy wins.
        let mut more = body.to_vec();
        encode_section(&mut more, 99, b"whatever");
        let mut st = Vec::new();
        Stats {
            url_count: 77,
            ..Stats::default()
        }
        .encode(&mut st);
        encode_section(&mut more, TAG_STATS, &st);
        let footer = Footer::parse(&more, start as u64).unwrap();
        assert_eq!(footer.sections.iter().filter(|s| s.tag == 99).count(), 1);
        assert_eq!(footer.stats.unwrap().url_count, 77);
        assert_eq!(footer.warnings.len(), 1);
        assert_eq!(footer.warnings[0].kind, ErrorKind::Duplicate);
        // A STATS body that stops short names the field it stops in; bytes left after a body
        // are a warning.
        let mut short = body.to_vec();
        encode_section(&mut short, TAG_STATS, &st[..42]);
        let footer = Footer::parse(&short, start as u64).unwrap();
        assert!(
            footer.errors[0].message.contains("stats due min"),
            "{:?}",
            footer.errors
        );
        let mut long = body.to_vec();
        let mut st2 = st.clone();
        st2.push(0);
        encode_section(&mut long, TAG_STATS, &st2);
        let footer = Footer::parse(&long, start as u64).unwrap();
        assert!(footer
            .warnings
            .iter()
            .any(|w| w.kind == ErrorKind::Unused && w.message.contains("1 unused bytes")));
    }

    #[test]
    fn the_last_of_repeated_entries_is_the_one_read() {
        let f = file(&partition(2, 3), 1000);
        let f = with_footer(&f, |footer| {
            let mut first = footer.url_columns[4].clone();
            first.width = 3;
            footer.url_columns.insert(0, first);
            let mut region = footer.regions[1];
            region.length += 1;
            footer.regions.insert(0, region);
        });
        let footer = footer_of(&f);
        assert_eq!(footer.url_columns.len(), 24);
        assert_eq!(footer.column(Table::Url, 4).unwrap().width, 2);
        assert_eq!(
            footer.region(1).unwrap().length + 1,
            footer.regions[0].length,
            "the later region descriptor is the one found"
        );
    }
}
