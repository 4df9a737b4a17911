//! `verify`: check everything in a file and report every problem, each with its place, byte
//! offset and a plain sentence. Errors (the file breaks the format or its own invariants) are
//! kept apart from warnings (legal but suspicious).
//!
//! Checks, in order: header magic, CRC and version; trailer magic and footer framing; footer
//! CRC and every section; region bounds, overlaps and CRCs; every column's directory entry,
//! CRC, pages (CRC, codec, decoded length, encoding) and zone maps; row counts against the
//! header; URL rows sorted by (host key, path key) and host rows by host key; every host key
//! inside the header's range; every arena reference; the schedule wheel against `next_due`;
//! the seen-set filter against the URL keys; and the STATS block against the data.

use crate::arena::{Arena, Span};
use crate::column::{column_range, decode_column, decode_region_page, DecodeCtx};
use crate::crc::crc32c;
use crate::error::{Error, ErrorKind, Finding, Place, Severity, Table};
use crate::format::footer::{
    stats_at, RegionDesc, Stats, TAG_HOST_COLUMNS, TAG_REGIONS, TAG_STATS, TAG_URL_COLUMNS,
};
use crate::format::header::{header_at, trailer_at, Header, Trailer};
use crate::format::page::{
    page_at, PageHeader, KIND_BLOB, KIND_FILTER, KIND_SCHEDULE, PAGE_HEADER_LEN,
};
use crate::format::{
    FLAG_BLOB, FLAG_FOOTER_ZSTD, FLAG_SCHEDULE, FLAG_SEENSET, FLAG_SORTED, HEADER_LEN,
    MIN_FILE_LEN, REGION_HOST_TABLE, REGION_SCHEDULE, REGION_SEENSET, REGION_STRING_BLOB,
    REGION_URL_TABLE, TRAILER_LEN,
};
use crate::keys::UrlKey;
use crate::manifest::Manifest;
use crate::reader::{check_declared_rows, ReadOptions};
use crate::records::Values;
use crate::schedule::{wheel_at, Wheel};
use crate::schema::{self, host, url};
use crate::seenset::SeenFilter;
use crate::source::{read_range, Source};
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// How many row-level findings of one kind are listed before they are summarised.
pub const ROW_FINDINGS_LISTED: usize = 20;

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every finding, in the order the checks ran.
    pub findings: Vec<Finding>,
    /// Columns whose pages were decoded.
    pub columns_checked: usize,
    /// Pages decoded.
    pub pages_checked: u64,
    /// Rows checked per table (URL, host).
    pub rows_checked: (u64, u64),
}

impl Report {
    /// Number of error findings.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }
    /// Number of warning findings.
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count()
    }
    /// Whether there is no error (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors() == 0
    }
    fn err(&mut self, e: Error) {
        self.findings.push(Finding::error(e));
    }
    fn warn(&mut self, e: Error) {
        self.findings.push(Finding::warning(e));
    }
}

/// Collects row-level findings of one kind, listing the first few and counting the rest.
struct RowFindings {
    severity: Severity,
    what: &'static str,
    listed: Vec<Error>,
    more: u64,
    place: Place,
}

impl RowFindings {
    fn new(severity: Severity, what: &'static str, place: Place) -> Self {
        RowFindings {
            severity,
            what,
            listed: Vec::new(),
            more: 0,
            place,
        }
    }
    fn push(&mut self, e: impl FnOnce() -> Error) {
        if self.listed.len() < ROW_FINDINGS_LISTED {
            self.listed.push(e());
        } else {
            self.more += 1;
        }
    }
    fn flush(self, r: &mut Report) {
        let sev = self.severity;
        // The summary line is of the same kind as the findings it stands for.
        let kind = self.listed.first().map_or(ErrorKind::Corrupt, |e| e.kind);
        for e in self.listed {
            r.findings.push(Finding {
                severity: sev,
                error: e,
            });
        }
        if self.more > 0 {
            r.findings.push(Finding {
                severity: sev,
                error: Error::new(
                    kind,
                    format!(
                        "{} more rows with the same problem: {}",
                        self.more, self.what
                    ),
                )
                .within(self.place),
            });
        }
    }
}

/// Verifies a `.meguri` file.
pub fn verify_file<S: Source + ?Sized>(src: &S, opts: &ReadOptions) -> Report {
    let mut r = Report::default();
    let file_len = src.len();
    if file_len < MIN_FILE_LEN {
        r.err(
            Error::new(
                ErrorKind::ShortFile,
                format!("file is {file_len} bytes; the smallest .meguri file is {MIN_FILE_LEN}"),
            )
            .within(Place::File)
            .at(0),
        );
        return r;
    }
    // Header.
    let head = match read_range(src, 0, HEADER_LEN as u64, "header", Place::Header) {
        Ok(h) => h,
        Err(e) => {
            r.err(e);
            return r;
        }
    };
    let hb: &[u8; HEADER_LEN] = head[..].try_into().expect("64 bytes");
    let header = Header::read(hb);
    if let Err(e) = header.check(hb) {
        let fatal = e.kind != ErrorKind::Checksum;
        r.err(e);
        if fatal {
            return r;
        }
    }
    // Trailer and footer.
    let tail = match read_range(
        src,
        file_len - TRAILER_LEN as u64,
        TRAILER_LEN as u64,
        "trailer",
        Place::Trailer,
    ) {
        Ok(t) => t,
        Err(e) => {
            r.err(e);
            return r;
        }
    };
    let trailer = Trailer::read(tail[..].try_into().expect("sliced to its length"));
    let footer_start = match trailer.footer_start(file_len, &header) {
        Ok(s) => s,
        Err(e) => {
            r.err(e);
            return r;
        }
    };
    let fbytes = match read_range(
        src,
        footer_start,
        u64::from(trailer.footer_len),
        "footer",
        Place::Footer,
    ) {
        Ok(b) => b,
        Err(e) => {
            r.err(e);
            return r;
        }
    };
    let fcrc = crc32c(&fbytes);
    if fcrc != trailer.footer_crc {
        r.err(
            Error::new(
                ErrorKind::Checksum,
                format!(
                    "footer CRC32C is 0x{:08x} but its {} bytes give 0x{fcrc:08x}",
                    trailer.footer_crc,
                    fbytes.len()
                ),
            )
            .within(Place::Trailer)
            .at(file_len - TRAILER_LEN as u64 + trailer_at::FOOTER_CRC as u64),
        );
    }
    let footer = match crate::format::footer::Footer::parse(&fbytes, footer_start) {
        Ok(f) => f,
        Err(e) => {
            r.err(e);
            return r;
        }
    };
    for e in &footer.errors {
        r.err(e.clone());
    }
    for w in &footer.warnings {
        r.warn(w.clone());
    }
    for (tag, name) in [
        (TAG_REGIONS, "regions"),
        (TAG_URL_COLUMNS, "url columns"),
        (TAG_HOST_COLUMNS, "host columns"),
        (TAG_STATS, "stats"),
    ] {
        if !footer.sections.iter().any(|s| s.tag == tag) {
            r.err(
                Error::corrupt(format!("the {name} section is missing"))
                    .within(Place::Section(tag))
                    .at(footer_start),
            );
        }
    }
    for s in &footer.sections {
        if crate::format::footer::section_name(s.tag).is_none() {
            r.warn(
                Error::unknown(format!(
                    "unknown section tag {} ({} bytes) skipped",
                    s.tag, s.body_len
                ))
                .within(Place::Section(s.tag))
                .at(s.offset),
            );
        }
    }
    // Header sanity.
    if header.hostkey_lo > header.hostkey_hi {
        r.err(
            Error::corrupt(format!(
                "host-key range 0x{:016x} .. 0x{:016x} is inverted",
                header.hostkey_lo, header.hostkey_hi
            ))
            .within(Place::Header)
            .at(header_at::HOSTKEY_LO as u64),
        );
    }
    if header.flags & FLAG_SORTED == 0 {
        r.warn(
            Error::inconsistent("the sorted flag is not set (every writer sets it)")
                .within(Place::Header)
                .at(header_at::FLAGS as u64),
        );
    }
    if header.flags & FLAG_FOOTER_ZSTD != 0 {
        r.warn(Error::inconsistent("the footer-zstd flag is set, but the footer is read uncompressed (no v1 reader supports compressed footers)").within(Place::Header).at(header_at::FLAGS as u64));
    }
    if header.flags & !0x7f != 0 {
        r.warn(
            Error::unknown(format!(
                "unknown header flag bits 0x{:04x}",
                header.flags & !0x7f
            ))
            .within(Place::Header)
            .at(header_at::FLAGS as u64),
        );
    }
    if header.checksum_algo != 1 {
        r.warn(
            Error::unknown(format!(
                "checksum algorithm byte is {}, but CRC32C is used regardless",
                header.checksum_algo
            ))
            .within(Place::Header)
            .at(header_at::CHECKSUM_ALGO as u64),
        );
    }
    if header.default_codec > 3 {
        r.warn(
            Error::unknown(format!("unknown default codec {}", header.default_codec))
                .within(Place::Header)
                .at(header_at::DEFAULT_CODEC as u64),
        );
    }
    if let Err(e) = check_declared_rows(&header, file_len, &opts.limits) {
        r.err(e);
        return r;
    }

    let regions = check_regions(&mut r, src, &footer.regions, footer_start, header.flags);
    let ctx = DecodeCtx {
        limits: opts.limits,
        file_len,
        zstd: opts.zstd,
    };

    // Columns.
    let mut url_cols: BTreeMap<u64, Values> = BTreeMap::new();
    let mut host_cols: BTreeMap<u64, Values> = BTreeMap::new();
    for (table, rows, cols, region) in [
        (
            Table::Url,
            header.url_count,
            &mut url_cols,
            REGION_URL_TABLE,
        ),
        (
            Table::Host,
            header.host_count,
            &mut host_cols,
            REGION_HOST_TABLE,
        ),
    ] {
        let dirs = footer.columns(table);
        let tag = if table == Table::Url {
            TAG_URL_COLUMNS
        } else {
            TAG_HOST_COLUMNS
        };
        for spec in schema::columns(table) {
            if !dirs.iter().any(|d| d.column_id == spec.id) {
                r.err(
                    Error::corrupt(format!(
                        "{} column {} ({}) is missing from the directory",
                        table.name(),
                        spec.id,
                        spec.name
                    ))
                    .within(Place::Section(tag)),
                );
            }
        }
        let region_desc = footer.region(region).copied();
        for (i, dir) in dirs.iter().enumerate() {
            let pl = Place::Column {
                table,
                column: dir.column_id,
                page: None,
            };
            if dirs[i + 1..].iter().any(|d| d.column_id == dir.column_id) {
                r.warn(
                    Error::duplicate(
                        "column id appears again later in the directory; the later entry is used",
                    )
                    .within(pl)
                    .at(dir.entry_offset),
                );
                continue;
            }
            let known = schema::spec(table, dir.column_id).is_some();
            if !known {
                r.warn(
                    Error::unknown(
                        "column id is not in the v1 schema; it is checked and otherwise ignored",
                    )
                    .within(pl)
                    .at(dir.entry_offset),
                );
            }
            let (off, len) = match column_range(dir) {
                Ok(x) => x,
                Err(e) => {
                    r.err(e.within(pl));
                    continue;
                }
            };
            if off < HEADER_LEN as u64 || off.saturating_add(len) > footer_start {
                r.err(
                    Error::corrupt(format!(
                        "pages at {off}..{} lie outside the data area {HEADER_LEN}..{footer_start}",
                        off.saturating_add(len)
                    ))
                    .within(pl)
                    .at(dir.entry_offset),
                );
                continue;
            }
            if let Some(reg) = region_desc {
                if off < reg.offset || off + len > reg.offset.saturating_add(reg.length) {
                    r.err(
                        Error::corrupt(format!(
                            "pages at {off}..{} are not inside the {} region {}..{}",
                            off + len,
                            table.name(),
                            reg.offset,
                            reg.offset.saturating_add(reg.length)
                        ))
                        .within(pl)
                        .at(dir.entry_offset),
                    );
                }
            }
            let bytes = match read_range(src, off, len, "column pages", pl) {
                Ok(b) => b,
                Err(e) => {
                    r.err(e);
                    continue;
                }
            };
            let mut findings = Vec::new();
            let vals = decode_column(
                table,
                dir,
                &bytes,
                known.then_some(rows),
                &ctx,
                &mut findings,
            );
            r.findings.extend(findings);
            r.columns_checked += 1;
            r.pages_checked += dir.num_pages;
            if let (true, Some(v)) = (known, vals) {
                cols.insert(dir.column_id, v);
            }
        }
    }

    let url_ints = |id: u64| url_cols.get(&id).map(|v| v.as_ints());
    let host_ints = |id: u64| host_cols.get(&id).map(|v| v.as_ints());

    // Row order and range.
    if let (Some(hk), Some(pk)) = (url_ints(url::HOST_KEY), url_ints(url::PATH_KEY)) {
        r.rows_checked.0 = hk.len() as u64;
        check_url_rows(&mut r, hk, pk, &header);
    }
    if let Some(hk) = host_ints(host::HOST_KEY) {
        r.rows_checked.1 = hk.len() as u64;
        check_host_rows(&mut r, hk, &header);
    }
    if let (Some(uh), Some(hh)) = (url_ints(url::HOST_KEY), host_ints(host::HOST_KEY)) {
        let mut missing = 0u64;
        let mut first = None;
        let mut j = 0;
        let mut prev = None;
        for (i, &k) in uh.iter().enumerate() {
            if prev == Some(k) {
                continue;
            }
            prev = Some(k);
            while j < hh.len() && hh[j] < k {
                j += 1;
            }
            if j >= hh.len() || hh[j] != k {
                missing += 1;
                first.get_or_insert(i);
            }
        }
        if missing > 0 {
            r.warn(
                Error::inconsistent(format!(
                    "{missing} host keys of URL rows have no host row (first at URL row {})",
                    first.unwrap_or(0)
                ))
                .within(Place::Row {
                    table: Table::Url,
                    row: first.unwrap_or(0) as u64,
                }),
            );
        }
    }

    // Arena and references.
    let arena = regions
        .blob
        .and_then(|d| special_page(&mut r, src, &d, KIND_BLOB, &ctx).map(|(_, p)| p));
    let arena_present = regions.blob.is_some();
    for (table, ids, cols) in [
        (Table::Url, &schema::URL_ARENA_REFS[..], &url_cols),
        (Table::Host, &schema::HOST_ARENA_REFS[..], &host_cols),
    ] {
        for &id in ids {
            let Some(v) = cols.get(&id) else { continue };
            let name = schema::spec(table, id).map_or("", |s| s.name);
            let a = Arena(arena.as_deref().unwrap_or(&[]));
            let mut bad = RowFindings::new(
                Severity::Error,
                "an arena reference that does not resolve",
                Place::Column {
                    table,
                    column: id,
                    page: None,
                },
            );
            if !arena_present || arena.is_some() {
                for (row, &rf) in v.as_ints().iter().enumerate() {
                    let why = match a.span(rf) {
                        Span::None | Span::Present(_) => continue,
                        Span::OutOfBounds => "is past the end of the arena",
                        Span::Broken => "points at an entry that runs past the end of the arena",
                    };
                    bad.push(|| {
                        Error::corrupt(format!("{name} {rf} {why} ({} bytes)", a.len())).within(
                            Place::Row {
                                table,
                                row: row as u64,
                            },
                        )
                    });
                }
            }
            bad.flush(&mut r);
        }
    }

    // Schedule wheel.
    let next_due: Option<Vec<u32>> =
        url_ints(url::NEXT_DUE).map(|v| v.iter().map(|&d| d as u32).collect());
    if let Some(d) = regions.schedule {
        if let Some((h, payload)) = special_page(&mut r, src, &d, KIND_SCHEDULE, &ctx) {
            match Wheel::parse(&payload, payload_at(&d, wheel_at::BASE)) {
                Err(e) => r.err(e.within(Place::Schedule)),
                Ok(w) => {
                    if u64::from(h.num_values) != w.scheduled() as u64 {
                        r.err(
                            Error::corrupt(format!(
                                "page says {} scheduled rows, the wheel lists {}",
                                h.num_values,
                                w.scheduled()
                            ))
                            .within(Place::Schedule)
                            .at(d.offset + page_at::NUM_VALUES as u64),
                        );
                    }
                    if h.base != u64::from(w.base) {
                        r.warn(
                            Error::inconsistent(format!(
                                "page base {} differs from the wheel base {}",
                                h.base, w.base
                            ))
                            .within(Place::Schedule)
                            .at(d.offset + page_at::BASE as u64),
                        );
                    }
                    if let Some(nd) = &next_due {
                        check_wheel(&mut r, &w, nd, &d);
                    }
                }
            }
        }
    }

    // Seen-set filter.
    if let Some(d) = regions.seenset {
        if let Some((h, payload)) = special_page(&mut r, src, &d, KIND_FILTER, &ctx) {
            if u64::from(h.num_values) != header.url_count {
                r.warn(
                    Error::inconsistent(format!(
                        "seen-set page says {} values, the file has {} URL rows",
                        h.num_values, header.url_count
                    ))
                    .within(Place::SeenSet)
                    .at(d.offset + page_at::NUM_VALUES as u64),
                );
            }
            match SeenFilter::parse(&payload) {
                Err(e) => r.err(e.within(Place::SeenSet).at_if_unset(payload_at(&d, 0))),
                Ok(f) => {
                    if let (Some(hk), Some(pk)) = (url_ints(url::HOST_KEY), url_ints(url::PATH_KEY))
                    {
                        let mut bad = RowFindings::new(
                            Severity::Error,
                            "a URL key the seen-set filter does not contain",
                            Place::SeenSet,
                        );
                        for (i, (&h, &p)) in hk.iter().zip(pk).enumerate() {
                            if !f.contains(UrlKey { host: h, path: p }) {
                                bad.push(|| Error::corrupt(format!("the seen-set filter does not contain URL key 0x{h:016x}:0x{p:016x}")).within(Place::Row { table: Table::Url, row: i as u64 }));
                            }
                        }
                        bad.flush(&mut r);
                    }
                }
            }
        }
    }

    // STATS against the data.
    if let Some(st) = footer.stats {
        let spl = Place::Stats;
        let at = footer
            .sections
            .iter()
            .rev()
            .find(|s| s.tag == TAG_STATS)
            .map_or(footer_start, |s| s.body_offset);
        let mut cmp = |what: &str, stored: u64, actual: u64, off: usize| {
            if stored != actual {
                r.err(
                    Error::corrupt(format!("{what} is {stored}, the file says {actual}"))
                        .within(spl)
                        .at(at + off as u64),
                );
            }
        };
        cmp(
            "url_count",
            st.url_count,
            header.url_count,
            stats_at::URL_COUNT,
        );
        cmp(
            "host_count",
            st.host_count,
            header.host_count,
            stats_at::HOST_COUNT,
        );
        cmp(
            "hostkey_lo",
            st.hostkey_lo,
            header.hostkey_lo,
            stats_at::HOSTKEY_LO,
        );
        cmp(
            "hostkey_hi",
            st.hostkey_hi,
            header.hostkey_hi,
            stats_at::HOSTKEY_HI,
        );
        let tc: u64 = footer
            .url_columns
            .iter()
            .chain(&footer.host_columns)
            .map(|d| d.total_compressed)
            .fold(0, u64::wrapping_add);
        cmp(
            "total_compressed",
            st.total_compressed,
            tc,
            stats_at::TOTAL_COMPRESSED,
        );
        let tu: u64 = footer
            .url_columns
            .iter()
            .chain(&footer.host_columns)
            .map(|d| d.total_uncompressed)
            .fold(0, u64::wrapping_add);
        cmp(
            "total_uncompressed",
            st.total_uncompressed,
            tu,
            stats_at::TOTAL_UNCOMPRESSED,
        );
        if let Some(nd) = &next_due {
            let (min, max) = Stats::due_range_of(nd);
            cmp(
                "due_min",
                u64::from(st.due_min),
                u64::from(min),
                stats_at::DUE_MIN,
            );
            cmp(
                "due_max",
                u64::from(st.due_max),
                u64::from(max),
                stats_at::DUE_MAX,
            );
            let scheduled = nd.iter().filter(|&&d| d != 0).count() as u64;
            if st.scheduled_count != 0 && st.scheduled_count != scheduled {
                r.warn(Error::inconsistent(format!("scheduled_count is {}, but {scheduled} rows have a due time (0 is also accepted: the reference never fills it)", st.scheduled_count)).within(spl).at(at + stats_at::SCHEDULED_COUNT as u64));
            }
        }
        let bpu = Stats::bytes_per_url_of(header.footer_offset, header.url_count);
        if bpu.to_bits() != st.bytes_per_url.to_bits() {
            r.err(
                Error::corrupt(format!(
                    "bytes_per_url is {}, footer offset / URL rows gives {bpu}",
                    st.bytes_per_url
                ))
                .within(spl)
                .at(at + stats_at::BYTES_PER_URL as u64),
            );
        }
    }

    // Metadata order.
    if let Some(meta) = &footer.meta {
        if meta.windows(2).any(|w| w[0].0 >= w[1].0) {
            let at = footer
                .sections
                .iter()
                .rev()
                .find(|s| s.tag == crate::format::footer::TAG_META)
                .map_or(footer_start, |s| s.offset);
            r.warn(
                Error::inconsistent("metadata keys are not in strictly ascending byte order")
                    .within(Place::Section(crate::format::footer::TAG_META))
                    .at(at),
            );
        }
    }
    r
}

/// The special regions found by [`check_regions`].
#[derive(Default)]
struct SpecialRegions {
    schedule: Option<RegionDesc>,
    seenset: Option<RegionDesc>,
    blob: Option<RegionDesc>,
}

fn check_regions<S: Source + ?Sized>(
    r: &mut Report,
    src: &S,
    regions: &[RegionDesc],
    footer_start: u64,
    flags: u16,
) -> SpecialRegions {
    let mut out = SpecialRegions::default();
    let mut seen: Vec<&RegionDesc> = Vec::new();
    for d in regions {
        let pl = Place::Region(d.id);
        let end = d.offset.checked_add(d.length);
        if d.offset < HEADER_LEN as u64 || end.is_none_or(|e| e > footer_start) {
            r.err(
                Error::corrupt(format!(
                    "region at {}..{} lies outside the data area {HEADER_LEN}..{footer_start}",
                    d.offset,
                    end.map_or_else(|| String::from("overflow"), |e| format!("{e}"))
                ))
                .within(pl)
                .at(d.offset),
            );
            continue;
        }
        if d.id > REGION_STRING_BLOB {
            r.warn(
                Error::unknown(format!(
                    "unknown region id {}; checked and otherwise ignored",
                    d.id
                ))
                .within(pl)
                .at(d.offset),
            );
        }
        if seen.iter().any(|s| s.id == d.id) {
            r.err(
                Error::corrupt("region id listed twice")
                    .within(pl)
                    .at(d.offset),
            );
        }
        for s in &seen {
            if d.offset < s.offset + s.length && s.offset < d.offset + d.length {
                r.err(
                    Error::corrupt(format!(
                        "region overlaps region {} at {}..{}",
                        crate::format::region_name(s.id),
                        s.offset,
                        s.offset + s.length
                    ))
                    .within(pl)
                    .at(d.offset),
                );
            }
        }
        seen.push(d);
        match read_range(src, d.offset, d.length, "region", pl) {
            Err(e) => r.err(e),
            Ok(bytes) => {
                let crc = crc32c(&bytes);
                if crc != d.crc {
                    r.err(
                        Error::new(
                            ErrorKind::Checksum,
                            format!(
                                "region CRC32C is 0x{:08x} but its {} bytes give 0x{crc:08x}",
                                d.crc, d.length
                            ),
                        )
                        .within(pl)
                        .at(d.offset),
                    );
                }
            }
        }
        match d.id {
            REGION_SCHEDULE => out.schedule = Some(*d),
            REGION_SEENSET => out.seenset = Some(*d),
            REGION_STRING_BLOB => out.blob = Some(*d),
            _ => {}
        }
    }
    for (id, name) in [
        (REGION_URL_TABLE, "url_table"),
        (REGION_HOST_TABLE, "host_table"),
    ] {
        if !regions.iter().any(|d| d.id == id) {
            r.err(
                Error::corrupt(format!(
                    "the {name} region is missing from the region directory"
                ))
                .within(Place::Region(id)),
            );
        }
    }
    // Regions are written back to back from offset 64 to the footer.
    let mut sorted: Vec<&RegionDesc> = regions.iter().collect();
    sorted.sort_by_key(|d| d.offset);
    let mut at = HEADER_LEN as u64;
    for d in sorted {
        if d.offset > at {
            r.warn(
                Error::unused(format!(
                    "{} unaccounted bytes before this region",
                    d.offset - at
                ))
                .within(Place::Region(d.id))
                .at(at),
            );
        }
        at = at.max(d.offset.saturating_add(d.length));
    }
    if at < footer_start {
        r.warn(
            Error::unused(format!(
                "{} unaccounted bytes between the last region and the footer",
                footer_start - at
            ))
            .within(Place::Footer)
            .at(at),
        );
    }
    for (flag, present, name) in [
        (FLAG_SCHEDULE, out.schedule.is_some(), "schedule"),
        (FLAG_SEENSET, out.seenset.is_some(), "seenset"),
        (FLAG_BLOB, out.blob.is_some(), "blob"),
    ] {
        if (flags & flag != 0) != present {
            r.warn(
                Error::inconsistent(format!(
                    "the {name} flag is {} but the region is {}",
                    if flags & flag != 0 { "set" } else { "clear" },
                    if present { "present" } else { "absent" }
                ))
                .within(Place::Header)
                .at(header_at::FLAGS as u64),
            );
        }
    }
    out
}

/// Reads and decodes the single page of a special region, reporting what is wrong with it.
fn special_page<S: Source + ?Sized>(
    r: &mut Report,
    src: &S,
    d: &RegionDesc,
    kind: u8,
    ctx: &DecodeCtx,
) -> Option<(PageHeader, Vec<u8>)> {
    // A region that cannot be read was already reported by `check_regions`.
    let bytes = read_range(src, d.offset, d.length, "region", Place::Region(d.id)).ok()?;
    let page = decode_region_page(&bytes, d, kind, ctx, &mut r.findings);
    if page.is_some() && !bytes.is_empty() {
        r.pages_checked += 1;
    }
    page
}

fn check_url_rows(r: &mut Report, hk: &[u64], pk: &[u64], h: &Header) {
    let mut unsorted = RowFindings::new(
        Severity::Error,
        "rows out of (host key, path key) order",
        Place::Row {
            table: Table::Url,
            row: 0,
        },
    );
    let mut dup = RowFindings::new(
        Severity::Warning,
        "a URL key equal to the previous row's",
        Place::Row {
            table: Table::Url,
            row: 0,
        },
    );
    let mut range = RowFindings::new(
        Severity::Error,
        "a host key outside the header's range",
        Place::Row {
            table: Table::Url,
            row: 0,
        },
    );
    for i in 0..hk.len().min(pk.len()) {
        let pl = Place::Row {
            table: Table::Url,
            row: i as u64,
        };
        if i > 0 {
            let (a, b) = ((hk[i - 1], pk[i - 1]), (hk[i], pk[i]));
            if b < a {
                unsorted.push(|| Error::new(ErrorKind::NotSorted, format!("URL key 0x{:016x}:0x{:016x} sorts before the previous row's 0x{:016x}:0x{:016x}", b.0, b.1, a.0, a.1)).within(pl));
            } else if a == b {
                dup.push(|| {
                    Error::duplicate(format!(
                        "URL key 0x{:016x}:0x{:016x} repeats the previous row's",
                        b.0, b.1
                    ))
                    .within(pl)
                });
            }
        }
        if hk[i] < h.hostkey_lo || hk[i] > h.hostkey_hi {
            range.push(|| {
                Error::corrupt(format!(
                    "host key 0x{:016x} is outside the partition's range 0x{:016x} .. 0x{:016x}",
                    hk[i], h.hostkey_lo, h.hostkey_hi
                ))
                .within(pl)
            });
        }
    }
    unsorted.flush(r);
    dup.flush(r);
    range.flush(r);
}

fn check_host_rows(r: &mut Report, hk: &[u64], h: &Header) {
    let mut unsorted = RowFindings::new(
        Severity::Error,
        "host rows out of host-key order",
        Place::Row {
            table: Table::Host,
            row: 0,
        },
    );
    let mut dup = RowFindings::new(
        Severity::Warning,
        "a host key equal to the previous row's",
        Place::Row {
            table: Table::Host,
            row: 0,
        },
    );
    let mut range = RowFindings::new(
        Severity::Error,
        "a host key outside the header's range",
        Place::Row {
            table: Table::Host,
            row: 0,
        },
    );
    for i in 0..hk.len() {
        let pl = Place::Row {
            table: Table::Host,
            row: i as u64,
        };
        if i > 0 && hk[i] < hk[i - 1] {
            unsorted.push(|| {
                Error::new(
                    ErrorKind::NotSorted,
                    format!(
                        "host key 0x{:016x} sorts before the previous row's 0x{:016x}",
                        hk[i],
                        hk[i - 1]
                    ),
                )
                .within(pl)
            });
        } else if i > 0 && hk[i] == hk[i - 1] {
            dup.push(|| {
                Error::duplicate(format!(
                    "host key 0x{:016x} repeats the previous row's",
                    hk[i]
                ))
                .within(pl)
            });
        }
        if hk[i] < h.hostkey_lo || hk[i] > h.hostkey_hi {
            range.push(|| {
                Error::corrupt(format!(
                    "host key 0x{:016x} is outside the partition's range 0x{:016x} .. 0x{:016x}",
                    hk[i], h.hostkey_lo, h.hostkey_hi
                ))
                .within(pl)
            });
        }
    }
    unsorted.flush(r);
    dup.flush(r);
    range.flush(r);
}

/// The absolute offset of byte `field` of the payload of a special region's single page.
fn payload_at(region: &RegionDesc, field: usize) -> u64 {
    region.offset + (PAGE_HEADER_LEN + field) as u64
}

fn check_wheel(r: &mut Report, w: &Wheel, next_due: &[u32], region: &RegionDesc) {
    let pl = Place::Schedule;
    if u64::from(w.covered) != next_due.len() as u64 {
        r.err(
            Error::corrupt(format!(
                "wheel covers {} rows, the URL table has {}",
                w.covered,
                next_due.len()
            ))
            .within(pl)
            .at(payload_at(region, wheel_at::COVERED)),
        );
    }
    let Some(expected) = Wheel::build(next_due) else {
        r.err(
            Error::corrupt("a schedule region is present but no URL row has a due time")
                .within(pl)
                .at(region.offset),
        );
        return;
    };
    if w.base != expected.base {
        r.err(
            Error::corrupt(format!(
                "wheel base is hour {}, the smallest nonzero next_due is {}",
                w.base, expected.base
            ))
            .within(pl)
            .at(payload_at(region, wheel_at::BASE)),
        );
        return;
    }
    let mut bad = RowFindings::new(
        Severity::Error,
        "a wheel bucket that disagrees with next_due",
        pl,
    );
    for b in 0..crate::schedule::BUCKETS {
        let (got, want) = (w.bucket_rows(b), expected.bucket_rows(b));
        if got != want {
            let missing = want.iter().filter(|x| !got.contains(x)).count();
            let extra = got.iter().filter(|x| !want.contains(x)).count();
            bad.push(|| Error::corrupt(format!("bucket {b} lists {} rows; next_due puts {} there ({missing} missing, {extra} that belong elsewhere)", got.len(), want.len())).within(pl).at(region.offset));
        }
    }
    bad.flush(r);
}

/// Verifies a manifest: framing, CRC, every entry, and that the entries of its epoch tile the
/// host-key space (every gap and overlap is an error).
pub fn verify_manifest(bytes: &[u8]) -> Report {
    let mut r = Report::default();
    let m = match Manifest::parse(bytes) {
        Ok(m) => m,
        Err(e) => {
            r.err(e);
            return r;
        }
    };
    for w in &m.warnings {
        r.warn(w.clone());
    }
    let t = m.tiling();
    let name = |i: usize| {
        let e = &m.entries[i];
        format!("partition {} ({})", e.partition_id, e.file_ref_str())
    };
    for &i in &t.inverted {
        let e = &m.entries[i];
        r.err(
            Error::corrupt(format!(
                "range 0x{:016x} .. 0x{:016x} is inverted",
                e.hostkey_lo, e.hostkey_hi
            ))
            .within(Place::Manifest {
                entry: Some(i as u32),
            }),
        );
    }
    for g in &t.gaps {
        let between = match (g.before, g.after) {
            (Some(a), Some(b)) => format!(" between {} and {}", name(a), name(b)),
            (None, Some(b)) => format!(" before {}", name(b)),
            (Some(a), None) => format!(" after {}", name(a)),
            (None, None) => String::from(" (no entry at this epoch)"),
        };
        r.err(
            Error::corrupt(format!(
                "epoch {}: host keys [0x{:016x}, 0x{:016x}] have no owner{between}",
                t.epoch, g.lo, g.hi
            ))
            .within(Place::Manifest {
                entry: g.after.or(g.before).map(|i| i as u32),
            }),
        );
    }
    for o in &t.overlaps {
        r.err(
            Error::corrupt(format!(
                "epoch {}: host keys [0x{:016x}, 0x{:016x}] are owned by both {} and {}",
                t.epoch,
                o.lo,
                o.hi,
                name(o.first),
                name(o.second)
            ))
            .within(Place::Manifest {
                entry: Some(o.second as u32),
            }),
        );
    }
    let mut ids: Vec<(u32, u32)> = m
        .entries
        .iter()
        .map(|e| (e.epoch, e.partition_id))
        .collect();
    ids.sort_unstable();
    for w in ids.windows(2) {
        if w[0] == w[1] {
            r.warn(
                Error::duplicate(format!(
                    "partition id {} appears more than once at epoch {}",
                    w[0].1, w[0].0
                ))
                .within(Place::Manifest { entry: None }),
            );
        }
    }
    r
}

/// Compares manifest entry `index` with the shape of the partition file it names: partition
/// id, host-key range, row counts, due minimum, bytes per URL, created hours and the footer CRC
/// must all be what the file says. Every mismatch is an error.
pub fn check_manifest_entry(
    index: usize,
    e: &crate::manifest::Entry,
    file: &crate::reader::Shape,
) -> Vec<Finding> {
    let pl = Place::Manifest {
        entry: Some(index as u32),
    };
    let f = crate::manifest::Entry::of_file(file, Vec::new(), e.epoch);
    /// How a compared field prints.
    enum Shown {
        Dec,
        Key,
        Crc,
        F32,
    }
    let show = |v: u64, how: &Shown| match how {
        Shown::Dec => format!("{v}"),
        Shown::Key => format!("0x{v:016x}"),
        Shown::Crc => format!("0x{v:08x}"),
        Shown::F32 => format!("{}", f32::from_bits(v as u32)),
    };
    // (field, manifest value, file value, how it prints); floats compare as bit patterns.
    let fields = [
        (
            "partition id",
            u64::from(e.partition_id),
            u64::from(f.partition_id),
            Shown::Dec,
        ),
        ("host-key low", e.hostkey_lo, f.hostkey_lo, Shown::Key),
        ("host-key high", e.hostkey_hi, f.hostkey_hi, Shown::Key),
        ("url count", e.url_count, f.url_count, Shown::Dec),
        ("host count", e.host_count, f.host_count, Shown::Dec),
        (
            "due_min",
            u64::from(e.due_min),
            u64::from(f.due_min),
            Shown::Dec,
        ),
        (
            "bytes/url",
            u64::from(e.bytes_per_url.to_bits()),
            u64::from(f.bytes_per_url.to_bits()),
            Shown::F32,
        ),
        (
            "created hours",
            u64::from(e.created_hours),
            u64::from(f.created_hours),
            Shown::Dec,
        ),
        (
            "footer CRC",
            u64::from(e.file_crc32c),
            u64::from(f.file_crc32c),
            Shown::Crc,
        ),
    ];
    fields
        .iter()
        .filter(|(_, a, b, _)| a != b)
        .map(|(what, a, b, how)| {
            Finding::error(
                Error::corrupt(format!(
                    "{what} is {} in the manifest but {} in {}",
                    show(*a, how),
                    show(*b, how),
                    e.file_ref_str()
                ))
                .within(pl),
            )
        })
        .collect()
}
