//! `verify` in bounded steps, for the page: the same checks and the same findings, in the
//! same order, as the core's `verify_file`, which decodes every column whole and the arena
//! whole (about 4 GiB of wasm memory for a 1 GB file: past the browser's ceiling).
//!
//! Each [`Verifier::step`] call does a bounded piece of work (a few MiB read, or a million
//! rows) and returns the progress, so the page shows a bar and can stop between calls.
//! The phases:
//!
//! 1. **framing**: header, trailer, footer and its sections, header sanity, region directory;
//! 2. **regions**: each region's CRC32C, read piece by piece (the arena's is taken in phase 5);
//! 3. **columns**: every page of every column, a few MiB at a time (page CRCs, the column CRC
//!    over its pages, decoding, zone maps); only aggregates are kept (the `next_due` range);
//! 4. **rows**: URL rows in (host key, path key) order, host rows in host-key order, every
//!    URL's host in the host table, walking the key columns with one decoded page each;
//! 5. **arena**: the blob region read once, piece by piece: its region CRC, its page CRC and
//!    its zstd frame streamed through the core's `StreamCheck` (structure, content size,
//!    checksum). The arena references are checked against it in bounded memory: the distinct
//!    references of the reference columns are gathered up to [`REF_BATCH`] at a time, the
//!    smallest first, and checked as the decoded bytes pass; then the next batch, the stream
//!    going on where it was. The reference columns are read once per batch, the arena once.
//!    Bad references (kept as a set of values) are then listed in row order, as verify lists
//!    them, in a last pass over the reference columns;
//! 6. **wheel**, **seen-set**: their region pages whole (they are small), the wheel against
//!    `next_due` (4 bytes a row), the filter against every URL key (walked like phase 4);
//! 7. **stats** and metadata against what the phases above gathered.
//!
//! Memory: one batch of column pages, one decoded page per walked column, the zstd window of
//! the arena's frame (32 MiB in meguri's files), the reference batch (8 bytes per distinct
//! reference, at most [`REF_BATCH`] × 2), the wheel and the filter regions decoded, and the
//! findings (row findings are capped as verify caps them).

use crate::source::Shared;
use crate::views::to_json;
use meguri_core::bytes::read_uvarint;
use meguri_core::column::{check_dir, column_range, decode_pages, decode_region_page, DecodeCtx};
use meguri_core::crc::{crc32c, Crc32c};
use meguri_core::error::{Error, ErrorKind, Finding, Place, Severity, Table};
use meguri_core::format::codec::{decompress, CODEC_NONE, CODEC_ZSTD};
use meguri_core::format::encoding::encoding_name;
use meguri_core::format::footer::{
    ColumnDir, Footer, PageSpan, RegionDesc, Stats, TAG_HOST_COLUMNS, TAG_META, TAG_REGIONS,
    TAG_STATS, TAG_URL_COLUMNS,
};
use meguri_core::format::header::{Header, Trailer};
use meguri_core::format::page::{PageHeader, KIND_BLOB, KIND_FILTER, KIND_SCHEDULE};
use meguri_core::format::zstd_frame::{FrameWalker, StreamCheck};
use meguri_core::format::{
    region_name, FLAG_BLOB, FLAG_FOOTER_ZSTD, FLAG_SCHEDULE, FLAG_SEENSET, FLAG_SORTED, HEADER_LEN,
    MIN_FILE_LEN, REGION_HOST_TABLE, REGION_SCHEDULE, REGION_SEENSET, REGION_STRING_BLOB,
    REGION_URL_TABLE, TRAILER_LEN,
};
use meguri_core::keys::UrlKey;
use meguri_core::reader::{check_declared_rows, ReadOptions, Shape};
use meguri_core::records::Values;
use meguri_core::report::{Subject, VerifyView};
use meguri_core::schedule::Wheel;
use meguri_core::schema;
use meguri_core::schema::{host, url};
use meguri_core::seenset::SeenFilter;
use meguri_core::source::{read_range, Source};
use meguri_core::verify::{Report, ROW_FINDINGS_LISTED};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use wasm_bindgen::prelude::*;

/// Bytes one step reads (column pages, a region's CRC, the arena's compressed bytes).
pub const STEP_BYTES: u64 = 4 << 20;
/// Rows one step walks.
pub const STEP_ROWS: u64 = 1 << 20;
/// Distinct arena references checked per pass over the reference columns.
pub const REF_BATCH: usize = 2 << 20;

/// Collects row-level findings of one kind: the first [`ROW_FINDINGS_LISTED`], then a count.
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
    fn flush(self, out: &mut Vec<Finding>) {
        let sev = self.severity;
        for e in self.listed {
            out.push(Finding {
                severity: sev,
                error: e,
            });
        }
        if self.more > 0 {
            out.push(Finding {
                severity: sev,
                error: Error::corrupt(format!(
                    "{} more rows with the same problem: {}",
                    self.more, self.what
                ))
                .within(self.place),
            });
        }
    }
}

fn row_place(table: Table, row: u64) -> Place {
    Place::Row { table, row }
}

/// Walks a column's values in row order, one decoded page at a time. Only columns that
/// decoded without error in phase 3 are walked.
struct Cursor {
    table: Table,
    dir: ColumnDir,
    spans: Vec<PageSpan>,
    page: usize,
    first: u64,
    vals: Vec<u64>,
}

impl Cursor {
    fn new(table: Table, dir: ColumnDir) -> Cursor {
        let spans = dir.page_spans();
        Cursor {
            table,
            dir,
            spans,
            page: usize::MAX,
            first: 0,
            vals: Vec::new(),
        }
    }

    fn get(&mut self, src: &Shared, ctx: &DecodeCtx, row: u64) -> Result<u64, Error> {
        if self.page == usize::MAX || row < self.first || row >= self.first + self.vals.len() as u64
        {
            let i = self
                .spans
                .partition_point(|s| s.first_row + s.num_values <= row);
            let s = *self
                .spans
                .get(i)
                .ok_or_else(|| Error::corrupt(format!("row {row} is past the column's pages")))?;
            let pl = Place::Column {
                table: self.table,
                column: self.dir.column_id,
                page: Some(s.index),
            };
            let bytes = read_range(src, s.offset, s.byte_len, "page", pl)?;
            let mut scratch = Vec::new();
            let p = decode_pages(
                self.table,
                &self.dir,
                &[s],
                &bytes,
                s.offset,
                ctx,
                &mut scratch,
            )
            .pop()
            .flatten()
            .ok_or_else(|| {
                Error::corrupt("the page no longer decodes: the file changed while it was verified")
                    .within(pl)
            })?;
            self.vals = match p.values {
                Values::Int(v) => v,
                Values::Wide(_) => return Err(Error::corrupt("not an integer column").within(pl)),
            };
            self.first = s.first_row;
            self.page = i;
        }
        Ok(self.vals[(row - self.first) as usize])
    }
}

/// A column that decoded whole: its directory entry and its values' range.
type Good = (ColumnDir, Option<(u64, u64)>);

/// The column being read in phase 3.
struct ColState {
    table: Table,
    dir: ColumnDir,
    known: bool,
    spans: Vec<PageSpan>,
    next: usize,
    crc: Crc32c,
    bytes: u64,
    pages: Vec<Finding>,
    failed: bool,
    first_encoding: Option<u8>,
    min_max: Option<(u64, u64)>,
    /// `next_due` aggregates (url column 10): smallest nonzero, largest, nonzero rows.
    due: (Option<u32>, u32, u64),
}

/// The arena references checked as the decoded arena passes (phase 5).
struct Refs {
    /// The arena's decoded length, as its page declares it.
    total: u64,
    /// Decoded bytes `[win_start, win_start + win.len())` not yet passed over.
    win: Vec<u8>,
    win_start: u64,
    /// The batch of references being checked, ascending, and how far it is done.
    batch: Vec<u64>,
    done_in_batch: usize,
    /// References from this value on have not been gathered yet.
    gather_from: u64,
    gathered_all: bool,
    /// Reference values that do not resolve.
    bad: BTreeSet<u64>,
}

/// Decoded bytes held before the batch is checked against them and they are dropped.
const ABSORB: usize = 8 << 20;

impl Refs {
    /// Takes decoded bytes; checks and drops them as they pile up, so a large piece (the last
    /// window of the frame comes out at once) never sits whole in memory.
    fn absorb(&mut self, d: &[u8]) {
        for part in d.chunks(ABSORB) {
            self.win.extend_from_slice(part);
            if self.win.len() >= ABSORB {
                self.check();
            }
        }
    }

    /// Checks the references of the batch that the decoded bytes now cover, and drops the
    /// decoded bytes no reference of the batch (or the next batch) needs.
    fn check(&mut self) {
        let total = self.total;
        let end = self.win_start + self.win.len() as u64;
        while self.done_in_batch < self.batch.len() {
            let r = self.batch[self.done_in_batch];
            let need = (total - r).min(10);
            if r < self.win_start {
                // Cannot happen: the window keeps every byte from the batch's next reference.
                self.done_in_batch += 1;
                continue;
            }
            if r + need > end {
                break;
            }
            let at = (r - self.win_start) as usize;
            let b = &self.win[at..at + need as usize];
            let broken = match read_uvarint(b) {
                Err(_) => true,
                Ok((len, n)) => (r + n as u64).checked_add(len).is_none_or(|e| e > total),
            };
            if broken {
                self.bad.insert(r);
            }
            self.done_in_batch += 1;
        }
        let keep_from = match self.batch.get(self.done_in_batch) {
            Some(&r) => r.min(end),
            None if !self.gathered_all => self.gather_from.min(end),
            None => end,
        }
        .max(self.win_start);
        let cut = (keep_from - self.win_start) as usize;
        if cut > 0 {
            self.win.drain(..cut.min(self.win.len()));
            self.win_start = keep_from;
        }
        if self.win.capacity() > 4 * ABSORB && self.win.len() < ABSORB {
            self.win.shrink_to(2 * ABSORB);
        }
    }
}

/// The arena pass (phase 5).
struct ArenaPass {
    desc: RegionDesc,
    /// Bytes of the region read so far.
    read: u64,
    region_crc: Crc32c,
    payload_crc: Crc32c,
    head: Vec<u8>,
    /// The page header once it was found good (`None`: no decoding, only the region CRC).
    page: Option<PageHeader>,
    header_error: Option<Error>,
    walker: Option<FrameWalker>,
    walk_error: Option<Error>,
    stream: Option<StreamCheck>,
    decode_error: Option<Error>,
    /// Whether the decoder has handed over everything (after the region's last byte).
    released: bool,
    /// The decoder's verdict at the frame's end (length and checksum).
    end: Option<Result<(), Error>>,
    /// The references being checked against the decoded bytes.
    refs: Refs,
    /// The gather pass under way: (reference column index, next row), distinct values so far.
    gather: Option<(usize, u64, Vec<u64>, u64)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Framing,
    Regions,
    Columns,
    Rows,
    Arena,
    Refs,
    Wheel,
    Seen,
    Finish,
    Done,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Framing => "framing",
            Phase::Regions => "region CRCs",
            Phase::Columns => "columns",
            Phase::Rows => "row order",
            Phase::Arena => "arena",
            Phase::Refs => "arena references",
            Phase::Wheel => "schedule wheel",
            Phase::Seen => "seen-set filter",
            Phase::Finish => "stats",
            Phase::Done => "done",
        }
    }
}

/// `verify` of a file in bounded steps (see the module documentation).
#[wasm_bindgen]
pub struct Verifier {
    src: Shared,
    shape: Option<Shape>,
    ctx: DecodeCtx,
    phase: Phase,
    header: Option<Header>,
    footer: Option<Footer>,
    footer_start: u64,
    // Findings, by the stage of `verify_file` that reports them.
    framing: Vec<Finding>,
    region_slots: Vec<Vec<Finding>>,
    regions_tail: Vec<Finding>,
    columns: Vec<Finding>,
    rows: Vec<Finding>,
    arena: Vec<Finding>,
    refs: Vec<Finding>,
    wheel: Vec<Finding>,
    seen: Vec<Finding>,
    tail: Vec<Finding>,
    counts: Report,
    // Special regions (found by the region checks).
    schedule: Option<RegionDesc>,
    seenset: Option<RegionDesc>,
    blob: Option<RegionDesc>,
    // Phase 2.
    crc_jobs: Vec<(usize, RegionDesc)>,
    /// The slot of the blob region whose CRC the arena pass takes.
    blob_slot: Option<usize>,
    crc_job: usize,
    crc_done: u64,
    crc_now: Crc32c,
    // Phase 3.
    col_jobs: Vec<ColJob>,
    col_job: usize,
    col: Option<ColState>,
    /// Columns that decoded whole (known ids only), by table and id: the directory entry used
    /// and the values' range.
    good: BTreeMap<(u8, u64), Good>,
    due: Option<(Option<u32>, u32, u64)>,
    // Phase 4.
    row: u64,
    url_walk: Option<(Cursor, Option<Cursor>)>,
    host_walk: Option<Cursor>,
    url_checks: Option<[RowFindings; 3]>,
    host_checks: Option<[RowFindings; 3]>,
    prev_url: Option<(u64, u64)>,
    prev_host: Option<u64>,
    missing: (u64, Option<u64>, usize, Option<u64>),
    host_row: u64,
    // Phase 5.
    arena_pass: Option<ArenaPass>,
    /// The decoded arena's length when it decoded whole (or 0 without a blob region); `None`
    /// when it failed, so references are not checked.
    arena_len: Option<u64>,
    ref_cols: Vec<(Table, u64)>,
    ref_report: Option<(usize, u64, RowFindings)>,
    // Phase 6.
    filter: Option<SeenFilter>,
    seen_rows: Option<RowFindings>,
    /// Distinct references per batch ([`REF_BATCH`]; tests make it small).
    ref_batch: usize,
    // Progress.
    work_total: u64,
    work_done: u64,
}

#[derive(Serialize)]
struct Progress<'a> {
    phase: &'static str,
    done: u64,
    total: u64,
    finished: bool,
    /// The verify report, once finished (the core's `VerifyView`).
    report: Option<VerifyView<'a>>,
}

impl Verifier {
    /// A verifier of the file behind `src` (`shape`: what could be read of it, for the
    /// findings' byte ranges).
    pub fn new(src: Shared, shape: Option<Shape>, opts: ReadOptions) -> Verifier {
        let file_len = src.len();
        Verifier {
            src,
            shape,
            ctx: DecodeCtx {
                limits: opts.limits,
                file_len,
                zstd: opts.zstd,
            },
            phase: Phase::Framing,
            header: None,
            footer: None,
            footer_start: 0,
            framing: Vec::new(),
            region_slots: Vec::new(),
            regions_tail: Vec::new(),
            columns: Vec::new(),
            rows: Vec::new(),
            arena: Vec::new(),
            refs: Vec::new(),
            wheel: Vec::new(),
            seen: Vec::new(),
            tail: Vec::new(),
            counts: Report::default(),
            schedule: None,
            seenset: None,
            blob: None,
            crc_jobs: Vec::new(),
            blob_slot: None,
            crc_job: 0,
            crc_done: 0,
            crc_now: Crc32c::new(),
            col_jobs: Vec::new(),
            col_job: 0,
            col: None,
            good: BTreeMap::new(),
            due: None,
            row: 0,
            url_walk: None,
            host_walk: None,
            url_checks: None,
            host_checks: None,
            prev_url: None,
            prev_host: None,
            missing: (0, None, 0, None),
            host_row: 0,
            arena_pass: None,
            arena_len: None,
            ref_cols: Vec::new(),
            ref_report: None,
            filter: None,
            seen_rows: None,
            ref_batch: REF_BATCH,
            work_total: 1,
            work_done: 0,
        }
    }

    /// The report as far as it goes (complete once [`Verifier::finished`]).
    pub fn report(&self) -> Report {
        let mut r = self.counts.clone();
        r.findings.clear();
        r.findings.extend_from_slice(&self.framing);
        for s in &self.region_slots {
            r.findings.extend_from_slice(s);
        }
        for p in [
            &self.regions_tail,
            &self.columns,
            &self.rows,
            &self.arena,
            &self.refs,
            &self.wheel,
            &self.seen,
            &self.tail,
        ] {
            r.findings.extend_from_slice(p);
        }
        r
    }

    /// Sets how many distinct arena references are checked per pass over the reference
    /// columns (tests use a small batch to exercise many passes).
    pub fn set_ref_batch(&mut self, n: usize) {
        self.ref_batch = n.max(1);
    }

    /// Whether every check has run.
    pub fn finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Runs every step to the end (tests, and the command-line-sized files of the parity).
    pub fn run(&mut self) -> Report {
        while !self.finished() {
            self.advance();
        }
        self.report()
    }

    fn stop(&mut self) {
        self.phase = Phase::Done;
    }

    fn row_count(&self, t: Table) -> u64 {
        self.header.as_ref().map_or(0, |h| match t {
            Table::Url => h.url_count,
            Table::Host => h.host_count,
        })
    }

    fn cursor(&self, t: Table, id: u64) -> Option<Cursor> {
        self.good
            .get(&(t as u8, id))
            .map(|(d, _)| Cursor::new(t, d.clone()))
    }

    /// One bounded piece of work.
    fn advance(&mut self) {
        match self.phase {
            Phase::Framing => self.framing(),
            Phase::Regions => self.region_crc_step(),
            Phase::Columns => self.column_step(),
            Phase::Rows => self.rows_step(),
            Phase::Arena => self.arena_step(),
            Phase::Refs => self.refs_step(),
            Phase::Wheel => self.wheel_step(),
            Phase::Seen => self.seen_step(),
            Phase::Finish => self.finish_step(),
            Phase::Done => {}
        }
    }

    // ---------- phase 1 ----------

    fn framing(&mut self) {
        let src = self.src.clone();
        let file_len = src.len();
        let out = &mut self.framing;
        let err = |out: &mut Vec<Finding>, e: Error| out.push(Finding::error(e));
        if file_len < MIN_FILE_LEN {
            err(
                out,
                Error::new(
                    ErrorKind::ShortFile,
                    format!(
                        "file is {file_len} bytes; the smallest .meguri file is {MIN_FILE_LEN}"
                    ),
                )
                .within(Place::File)
                .at(0),
            );
            return self.stop();
        }
        let head = match read_range(&src, 0, HEADER_LEN as u64, "header", Place::Header) {
            Ok(h) => h.into_owned(),
            Err(e) => {
                err(out, e);
                return self.stop();
            }
        };
        let hb: &[u8; HEADER_LEN] = head[..].try_into().expect("64 bytes");
        let header = Header::read(hb);
        if let Err(e) = header.check(hb) {
            let fatal = e.kind != ErrorKind::Checksum;
            err(out, e);
            if fatal {
                return self.stop();
            }
        }
        let tail = match read_range(
            &src,
            file_len - TRAILER_LEN as u64,
            TRAILER_LEN as u64,
            "trailer",
            Place::Trailer,
        ) {
            Ok(t) => t.into_owned(),
            Err(e) => {
                err(out, e);
                return self.stop();
            }
        };
        let trailer = Trailer::read(tail[..].try_into().expect("12 bytes"));
        let footer_start = match trailer.footer_start(file_len, &header) {
            Ok(s) => s,
            Err(e) => {
                err(out, e);
                return self.stop();
            }
        };
        let fbytes = match read_range(
            &src,
            footer_start,
            u64::from(trailer.footer_len),
            "footer",
            Place::Footer,
        ) {
            Ok(b) => b.into_owned(),
            Err(e) => {
                err(out, e);
                return self.stop();
            }
        };
        let fcrc = crc32c(&fbytes);
        if fcrc != trailer.footer_crc {
            err(
                out,
                Error::new(
                    ErrorKind::Checksum,
                    format!(
                        "footer CRC32C is 0x{:08x} but its {} bytes give 0x{fcrc:08x}",
                        trailer.footer_crc,
                        fbytes.len()
                    ),
                )
                .within(Place::Trailer)
                .at(file_len - 8),
            );
        }
        let footer = match Footer::parse(&fbytes, footer_start) {
            Ok(f) => f,
            Err(e) => {
                err(out, e);
                return self.stop();
            }
        };
        for e in &footer.errors {
            err(out, e.clone());
        }
        for w in &footer.warnings {
            out.push(Finding::warning(w.clone()));
        }
        for (tag, name) in [
            (TAG_REGIONS, "regions"),
            (TAG_URL_COLUMNS, "url columns"),
            (TAG_HOST_COLUMNS, "host columns"),
            (TAG_STATS, "stats"),
        ] {
            if !footer.sections.iter().any(|s| s.tag == tag) {
                err(
                    out,
                    Error::corrupt(format!("the {name} section is missing"))
                        .within(Place::Section(tag))
                        .at(footer_start),
                );
            }
        }
        for s in &footer.sections {
            if meguri_core::format::footer::section_name(s.tag).is_none() {
                out.push(Finding::warning(
                    Error::corrupt(format!(
                        "unknown section tag {} ({} bytes) skipped",
                        s.tag, s.body_len
                    ))
                    .within(Place::Section(s.tag))
                    .at(s.offset),
                ));
            }
        }
        if header.hostkey_lo > header.hostkey_hi {
            err(
                out,
                Error::corrupt(format!(
                    "host-key range 0x{:016x} .. 0x{:016x} is inverted",
                    header.hostkey_lo, header.hostkey_hi
                ))
                .within(Place::Header)
                .at(16),
            );
        }
        let warn = |out: &mut Vec<Finding>, e: Error| out.push(Finding::warning(e));
        if header.flags & FLAG_SORTED == 0 {
            warn(
                out,
                Error::corrupt("the sorted flag is not set (every writer sets it)")
                    .within(Place::Header)
                    .at(12),
            );
        }
        if header.flags & FLAG_FOOTER_ZSTD != 0 {
            warn(out, Error::corrupt("the footer-zstd flag is set, but the footer is read uncompressed (no v1 reader supports compressed footers)").within(Place::Header).at(12));
        }
        if header.flags & !0x7f != 0 {
            warn(
                out,
                Error::corrupt(format!(
                    "unknown header flag bits 0x{:04x}",
                    header.flags & !0x7f
                ))
                .within(Place::Header)
                .at(12),
            );
        }
        if header.checksum_algo != 1 {
            warn(
                out,
                Error::corrupt(format!(
                    "checksum algorithm byte is {}, but CRC32C is used regardless",
                    header.checksum_algo
                ))
                .within(Place::Header)
                .at(14),
            );
        }
        if header.default_codec > 3 {
            warn(
                out,
                Error::corrupt(format!("unknown default codec {}", header.default_codec))
                    .within(Place::Header)
                    .at(15),
            );
        }
        if let Err(e) = check_declared_rows(&header, file_len, &self.ctx.limits) {
            err(out, e);
            return self.stop();
        }
        self.footer_start = footer_start;
        self.check_regions(&footer, header.flags);
        self.plan(&footer, &header);
        self.header = Some(header);
        self.footer = Some(footer);
        self.phase = Phase::Regions;
    }

    /// The region directory's checks, but for the CRCs, which phase 2 (and 5, for the arena)
    /// read piece by piece into each region's slot.
    fn check_regions(&mut self, footer: &Footer, flags: u16) {
        let regions = &footer.regions;
        let footer_start = self.footer_start;
        let mut seen: Vec<&RegionDesc> = Vec::new();
        for d in regions {
            let mut slot = Vec::new();
            let pl = Place::Region(d.id);
            let end = d.offset.checked_add(d.length);
            if d.offset < HEADER_LEN as u64 || end.is_none_or(|e| e > footer_start) {
                slot.push(Finding::error(
                    Error::corrupt(format!(
                        "region at {}..{} lies outside the data area {HEADER_LEN}..{footer_start}",
                        d.offset,
                        end.map_or_else(|| String::from("overflow"), |e| format!("{e}"))
                    ))
                    .within(pl)
                    .at(d.offset),
                ));
                self.region_slots.push(slot);
                continue;
            }
            if d.id > REGION_STRING_BLOB {
                slot.push(Finding::warning(
                    Error::corrupt(format!(
                        "unknown region id {}; checked and otherwise ignored",
                        d.id
                    ))
                    .within(pl)
                    .at(d.offset),
                ));
            }
            if seen.iter().any(|s| s.id == d.id) {
                slot.push(Finding::error(
                    Error::corrupt("region id listed twice")
                        .within(pl)
                        .at(d.offset),
                ));
            }
            for s in &seen {
                if d.offset < s.offset + s.length && s.offset < d.offset + d.length {
                    slot.push(Finding::error(
                        Error::corrupt(format!(
                            "region overlaps region {} at {}..{}",
                            region_name(s.id),
                            s.offset,
                            s.offset + s.length
                        ))
                        .within(pl)
                        .at(d.offset),
                    ));
                }
            }
            seen.push(d);
            let index = self.region_slots.len();
            self.region_slots.push(slot);
            match d.id {
                REGION_SCHEDULE => self.schedule = Some(*d),
                REGION_SEENSET => self.seenset = Some(*d),
                REGION_STRING_BLOB => self.blob = Some(*d),
                _ => {}
            }
            self.crc_jobs.push((index, *d));
        }
        // The blob region the arena is read from (the last listed, as verify uses) has its CRC
        // taken while the arena is streamed (phase 5), so it is read once.
        if let Some(i) = self
            .crc_jobs
            .iter()
            .rposition(|(_, d)| d.id == REGION_STRING_BLOB)
        {
            self.blob_slot = Some(self.crc_jobs.remove(i).0);
        }
        let out = &mut self.regions_tail;
        for (id, name) in [
            (REGION_URL_TABLE, "url_table"),
            (REGION_HOST_TABLE, "host_table"),
        ] {
            if !regions.iter().any(|d| d.id == id) {
                out.push(Finding::error(
                    Error::corrupt(format!(
                        "the {name} region is missing from the region directory"
                    ))
                    .within(Place::Region(id)),
                ));
            }
        }
        let mut sorted: Vec<&RegionDesc> = regions.iter().collect();
        sorted.sort_by_key(|d| d.offset);
        let mut at = HEADER_LEN as u64;
        for d in sorted {
            if d.offset > at {
                out.push(Finding::warning(
                    Error::corrupt(format!(
                        "{} unaccounted bytes before this region",
                        d.offset - at
                    ))
                    .within(Place::Region(d.id))
                    .at(at),
                ));
            }
            at = at.max(d.offset.saturating_add(d.length));
        }
        if at < footer_start {
            out.push(Finding::warning(
                Error::corrupt(format!(
                    "{} unaccounted bytes between the last region and the footer",
                    footer_start - at
                ))
                .within(Place::Footer)
                .at(at),
            ));
        }
        for (flag, present, name) in [
            (FLAG_SCHEDULE, self.schedule.is_some(), "schedule"),
            (FLAG_SEENSET, self.seenset.is_some(), "seenset"),
            (FLAG_BLOB, self.blob.is_some(), "blob"),
        ] {
            if (flags & flag != 0) != present {
                out.push(Finding::warning(
                    Error::corrupt(format!(
                        "the {name} flag is {} but the region is {}",
                        if flags & flag != 0 { "set" } else { "clear" },
                        if present { "present" } else { "absent" }
                    ))
                    .within(Place::Header)
                    .at(12),
                ));
            }
        }
    }

    /// Lists the columns to read and estimates the work (bytes to read, rows to walk).
    fn plan(&mut self, footer: &Footer, header: &Header) {
        let mut total: u64 = self.crc_jobs.iter().map(|(_, d)| d.length).sum();
        for table in [Table::Url, Table::Host] {
            self.col_jobs.push(ColJob::Missing(table));
            for (i, d) in footer.columns(table).iter().enumerate() {
                self.col_jobs.push(ColJob::Column(table, i));
                total = total.saturating_add(d.byte_len().unwrap_or(0));
            }
        }
        total = total.saturating_add(self.blob.map_or(0, |d| d.length));
        // Rows walked count as 8 bytes each (about what reading a key costs).
        total = total.saturating_add(8 * (2 * header.url_count + header.host_count));
        self.work_total = total.max(1);
    }

    // ---------- phase 2 ----------

    fn region_crc_step(&mut self) {
        let Some(&(slot, d)) = self.crc_jobs.get(self.crc_job) else {
            self.phase = Phase::Columns;
            return;
        };
        let n = STEP_BYTES.min(d.length - self.crc_done);
        let pl = Place::Region(d.id);
        if n > 0 {
            match read_range(&self.src, d.offset + self.crc_done, n, "region", pl) {
                Ok(b) => self.crc_now.update(&b),
                Err(e) => {
                    self.region_slots[slot].push(Finding::error(e));
                    self.next_crc_job(None);
                    return;
                }
            }
            self.crc_done += n;
            self.work_done += n;
        }
        if self.crc_done == d.length {
            let crc = std::mem::take(&mut self.crc_now).finish();
            let e = (crc != d.crc).then(|| {
                Error::new(
                    ErrorKind::Checksum,
                    format!(
                        "region CRC32C is 0x{:08x} but its {} bytes give 0x{crc:08x}",
                        d.crc, d.length
                    ),
                )
                .within(pl)
                .at(d.offset)
            });
            self.next_crc_job(e);
        }
    }

    fn next_crc_job(&mut self, e: Option<Error>) {
        if let Some(e) = e {
            let slot = self.crc_jobs[self.crc_job].0;
            self.region_slots[slot].push(Finding::error(e));
        }
        self.crc_job += 1;
        self.crc_done = 0;
        self.crc_now = Crc32c::new();
    }

    // ---------- phase 3 ----------

    fn column_step(&mut self) {
        if self.col.is_none() {
            let Some(&job) = self.col_jobs.get(self.col_job) else {
                self.start_rows();
                return;
            };
            self.col_job += 1;
            match job {
                ColJob::Missing(table) => self.missing_columns(table),
                ColJob::Column(table, i) => self.start_column(table, i),
            }
            return;
        }
        let (src, ctx) = (self.src.clone(), self.ctx);
        let c = self.col.as_mut().expect("checked");
        if c.next < c.spans.len() {
            // A batch of whole pages, at least one, about STEP_BYTES.
            let first = c.next;
            let mut last = first;
            let mut len = c.spans[first].byte_len;
            while last + 1 < c.spans.len() && len + c.spans[last + 1].byte_len <= STEP_BYTES {
                last += 1;
                len += c.spans[last].byte_len;
            }
            let off = c.spans[first].offset;
            let pl = Place::Column {
                table: c.table,
                column: c.dir.column_id,
                page: None,
            };
            match read_range(&src, off, len, "column pages", pl) {
                Err(e) => {
                    c.pages.push(Finding::error(e));
                    c.failed = true;
                    c.next = c.spans.len();
                    c.bytes = u64::MAX;
                }
                Ok(bytes) => {
                    c.crc.update(&bytes);
                    c.bytes += len;
                    let pages = decode_pages(
                        c.table,
                        &c.dir,
                        &c.spans[first..=last],
                        &bytes,
                        off,
                        &ctx,
                        &mut c.pages,
                    );
                    for p in pages {
                        let Some(p) = p else {
                            c.failed = true;
                            continue;
                        };
                        c.first_encoding.get_or_insert(p.header.encoding);
                        if let Values::Int(v) = &p.values {
                            for &x in v {
                                c.min_max = Some(match c.min_max {
                                    None => (x, x),
                                    Some((a, b)) => (a.min(x), b.max(x)),
                                });
                            }
                            if c.table == Table::Url && c.dir.column_id == 10 {
                                for &x in v {
                                    let d = x as u32;
                                    if d != 0 {
                                        c.due.0 = Some(c.due.0.map_or(d, |m| m.min(d)));
                                        c.due.2 += 1;
                                    }
                                    c.due.1 = c.due.1.max(d);
                                }
                            }
                        }
                    }
                    c.next = last + 1;
                    self.work_done += len;
                }
            }
            return;
        }
        self.end_column();
    }

    fn missing_columns(&mut self, table: Table) {
        let footer = self.footer.as_ref().expect("framing done");
        let dirs = footer.columns(table);
        let tag = if table == Table::Url {
            TAG_URL_COLUMNS
        } else {
            TAG_HOST_COLUMNS
        };
        for spec in schema::columns(table) {
            if !dirs.iter().any(|d| d.column_id == spec.id) {
                self.columns.push(Finding::error(
                    Error::corrupt(format!(
                        "{} column {} ({}) is missing from the directory",
                        table.name(),
                        spec.id,
                        spec.name
                    ))
                    .within(Place::Section(tag)),
                ));
            }
        }
    }

    fn start_column(&mut self, table: Table, i: usize) {
        let footer = self.footer.as_ref().expect("framing done");
        let dirs = footer.columns(table);
        let rows = self.row_count(table);
        let out = &mut self.columns;
        let dir = &dirs[i];
        let size = dir.byte_len().unwrap_or(0);
        let pl = Place::Column {
            table,
            column: dir.column_id,
            page: None,
        };
        if dirs[i + 1..].iter().any(|d| d.column_id == dir.column_id) {
            out.push(Finding::warning(
                Error::corrupt(
                    "column id appears again later in the directory; the later entry is used",
                )
                .within(pl)
                .at(dir.entry_offset),
            ));
            self.work_done += size;
            return;
        }
        let known = schema::spec(table, dir.column_id).is_some();
        if !known {
            out.push(Finding::warning(
                Error::corrupt(
                    "column id is not in the v1 schema; it is checked and otherwise ignored",
                )
                .within(pl)
                .at(dir.entry_offset),
            ));
        }
        let (off, len) = match column_range(dir) {
            Ok(x) => x,
            Err(e) => {
                out.push(Finding::error(e.within(pl)));
                self.work_done += size;
                return;
            }
        };
        let footer_start = self.footer_start;
        if off < HEADER_LEN as u64 || off.saturating_add(len) > footer_start {
            out.push(Finding::error(
                Error::corrupt(format!(
                    "pages at {off}..{} lie outside the data area {HEADER_LEN}..{footer_start}",
                    off.saturating_add(len)
                ))
                .within(pl)
                .at(dir.entry_offset),
            ));
            self.work_done += size;
            return;
        }
        let region = if table == Table::Url {
            REGION_URL_TABLE
        } else {
            REGION_HOST_TABLE
        };
        if let Some(reg) = footer.region(region) {
            if off < reg.offset || off + len > reg.offset.saturating_add(reg.length) {
                out.push(Finding::error(
                    Error::corrupt(format!(
                        "pages at {off}..{} are not inside the {} region {}..{}",
                        off + len,
                        table.name(),
                        reg.offset,
                        reg.offset.saturating_add(reg.length)
                    ))
                    .within(pl)
                    .at(dir.entry_offset),
                ));
            }
        }
        self.counts.columns_checked += 1;
        self.counts.pages_checked += dir.num_pages;
        let mut head = Vec::new();
        let ok = check_dir(table, dir, known.then_some(rows), &mut head);
        out.extend(head);
        if !ok {
            self.work_done += size;
            return;
        }
        self.col = Some(ColState {
            table,
            dir: dir.clone(),
            known,
            spans: dir.page_spans(),
            next: 0,
            crc: Crc32c::new(),
            bytes: 0,
            pages: Vec::new(),
            failed: false,
            first_encoding: None,
            min_max: None,
            due: (None, 0, 0),
        });
    }

    fn end_column(&mut self) {
        let c = self.col.take().expect("a column under way");
        let pl = Place::Column {
            table: c.table,
            column: c.dir.column_id,
            page: None,
        };
        let out = &mut self.columns;
        if c.bytes != u64::MAX {
            let crc = c.crc.finish();
            if crc != c.dir.column_crc {
                out.push(Finding::error(
                    Error::new(
                        ErrorKind::Checksum,
                        format!(
                            "column CRC32C is 0x{:08x} but its {} page bytes give 0x{crc:08x}",
                            c.dir.column_crc, c.bytes
                        ),
                    )
                    .within(pl)
                    .at(c.dir.first_page_offset),
                ));
            }
        }
        out.extend(c.pages);
        if c.failed {
            return;
        }
        if let Some(enc) = c.first_encoding {
            if enc != c.dir.encoding {
                out.push(Finding::warning(
                    Error::corrupt(format!(
                        "directory names {} as the column's encoding, its first page is {}",
                        encoding_name(c.dir.encoding),
                        encoding_name(enc)
                    ))
                    .within(pl)
                    .at(c.dir.entry_offset),
                ));
            }
        }
        if let (Some(zone), Some((min, max)), true) =
            (c.dir.zone(), c.min_max, !c.dir.pages.is_empty())
        {
            if zone.0 > min || zone.1 < max {
                out.push(Finding::error(
                    Error::corrupt(format!(
                        "zone map [{}, {}] does not contain the values' range [{min}, {max}]: pruning by it would skip rows",
                        zone.0, zone.1
                    ))
                    .within(pl)
                    .at(c.dir.entry_offset),
                ));
            } else if zone != (min, max) {
                out.push(Finding::warning(
                    Error::corrupt(format!(
                        "zone map [{}, {}] is wider than the values' range [{min}, {max}]",
                        zone.0, zone.1
                    ))
                    .within(pl)
                    .at(c.dir.entry_offset),
                ));
            }
        }
        if c.known {
            if c.table == Table::Url && c.dir.column_id == 10 {
                self.due = Some(c.due);
            }
            self.good
                .insert((c.table as u8, c.dir.column_id), (c.dir, c.min_max));
        }
    }

    // ---------- phase 4 ----------

    fn start_rows(&mut self) {
        self.phase = Phase::Rows;
        self.row = 0;
        self.host_row = 0;
        let paths = self.cursor(Table::Url, url::PATH_KEY);
        let both = paths.is_some();
        if let Some(a) = self.cursor(Table::Url, url::HOST_KEY) {
            self.url_walk = Some((a, paths));
        }
        if both && self.url_walk.is_some() {
            let p = row_place(Table::Url, url::HOST_KEY);
            self.url_checks = Some([
                RowFindings::new(Severity::Error, "rows out of (host key, path key) order", p),
                RowFindings::new(
                    Severity::Warning,
                    "a URL key equal to the previous row's",
                    p,
                ),
                RowFindings::new(Severity::Error, "a host key outside the header's range", p),
            ]);
            self.counts.rows_checked.0 = self.row_count(Table::Url);
        }
        if let Some(h) = self.cursor(Table::Host, host::HOST_KEY) {
            self.host_walk = Some(h);
            let p = row_place(Table::Host, host::HOST_KEY);
            self.host_checks = Some([
                RowFindings::new(Severity::Error, "host rows out of host-key order", p),
                RowFindings::new(
                    Severity::Warning,
                    "a host key equal to the previous row's",
                    p,
                ),
                RowFindings::new(Severity::Error, "a host key outside the header's range", p),
            ]);
            self.counts.rows_checked.1 = self.row_count(Table::Host);
        }
    }

    fn rows_step(&mut self) {
        let (src, ctx) = (self.src.clone(), self.ctx);
        let h = self.header.expect("framing done");
        let urls = self.row_count(Table::Url);
        let hosts = self.row_count(Table::Host);
        let res = (|| -> Result<bool, Error> {
            if let Some((hk, pk)) = &mut self.url_walk {
                if self.row < urls {
                    let end = (self.row + STEP_ROWS).min(urls);
                    let mut hw = self
                        .host_walk
                        .as_ref()
                        .map(|c| Cursor::new(Table::Host, c.dir.clone()));
                    for i in self.row..end {
                        let host = hk.get(&src, &ctx, i)?;
                        if let (Some(pk), Some(chk)) = (pk.as_mut(), self.url_checks.as_mut()) {
                            let key = (host, pk.get(&src, &ctx, i)?);
                            let pl = row_place(Table::Url, i);
                            if let Some(a) = self.prev_url {
                                let b = key;
                                if b < a {
                                    chk[0].push(|| Error::new(ErrorKind::NotSorted, format!("URL key 0x{:016x}:0x{:016x} sorts before the previous row's 0x{:016x}:0x{:016x}", b.0, b.1, a.0, a.1)).within(pl));
                                } else if a == b {
                                    chk[1].push(|| {
                                        Error::corrupt(format!(
                                        "URL key 0x{:016x}:0x{:016x} repeats the previous row's",
                                        b.0, b.1
                                    ))
                                        .within(pl)
                                    });
                                }
                            }
                            if key.0 < h.hostkey_lo || key.0 > h.hostkey_hi {
                                chk[2].push(|| {
                                Error::corrupt(format!(
                                    "host key 0x{:016x} is outside the partition's range 0x{:016x} .. 0x{:016x}",
                                    key.0, h.hostkey_lo, h.hostkey_hi
                                ))
                                .within(pl)
                            });
                            }
                            self.prev_url = Some(key);
                        }
                        // Every URL's host key in the host table (a merge with host rows).
                        if let Some(hc) = hw.as_mut() {
                            let k = host;
                            let (missing, first, j, prev) = &mut self.missing;
                            if *prev != Some(k) {
                                *prev = Some(k);
                                while (*j as u64) < hosts && hc.get(&src, &ctx, *j as u64)? < k {
                                    *j += 1;
                                }
                                if *j as u64 >= hosts || hc.get(&src, &ctx, *j as u64)? != k {
                                    *missing += 1;
                                    first.get_or_insert(i);
                                }
                            }
                        }
                    }
                    self.work_done += 16 * (end - self.row);
                    self.row = end;
                    return Ok(false);
                }
            }
            if let (Some(hc), Some(chk)) = (&mut self.host_walk, &mut self.host_checks) {
                if self.host_row < hosts {
                    let end = (self.host_row + STEP_ROWS).min(hosts);
                    for i in self.host_row..end {
                        let k = hc.get(&src, &ctx, i)?;
                        let pl = row_place(Table::Host, i);
                        if let Some(p) = self.prev_host {
                            if k < p {
                                chk[0].push(|| {
                                    Error::new(
                                        ErrorKind::NotSorted,
                                        format!(
                                            "host key 0x{k:016x} sorts before the previous row's 0x{p:016x}"
                                        ),
                                    )
                                    .within(pl)
                                });
                            } else if k == p {
                                chk[1].push(|| {
                                    Error::corrupt(format!(
                                        "host key 0x{k:016x} repeats the previous row's"
                                    ))
                                    .within(pl)
                                });
                            }
                        }
                        if k < h.hostkey_lo || k > h.hostkey_hi {
                            chk[2].push(|| {
                                Error::corrupt(format!(
                                    "host key 0x{k:016x} is outside the partition's range 0x{:016x} .. 0x{:016x}",
                                    h.hostkey_lo, h.hostkey_hi
                                ))
                                .within(pl)
                            });
                        }
                        self.prev_host = Some(k);
                    }
                    self.work_done += 8 * (end - self.host_row);
                    self.host_row = end;
                    return Ok(false);
                }
            }
            Ok(true)
        })();
        match res {
            Ok(false) => {}
            Ok(true) => self.end_rows(),
            Err(e) => {
                self.rows.push(Finding::error(e));
                self.end_rows();
            }
        }
    }

    fn end_rows(&mut self) {
        if let Some(chk) = self.url_checks.take() {
            for c in chk {
                c.flush(&mut self.rows);
            }
        }
        if let Some(chk) = self.host_checks.take() {
            for c in chk {
                c.flush(&mut self.rows);
            }
        }
        if self.url_walk.is_some() && self.host_walk.is_some() {
            let (missing, first, _, _) = self.missing;
            if missing > 0 {
                let first = first.unwrap_or(0);
                self.rows.push(Finding::warning(
                    Error::corrupt(format!(
                        "{missing} host keys of URL rows have no host row (first at URL row {first})"
                    ))
                    .within(row_place(Table::Url, first)),
                ));
            }
        }
        self.url_walk = None;
        self.host_walk = None;
        self.start_arena();
    }

    // ---------- phase 5 ----------

    fn start_arena(&mut self) {
        self.phase = Phase::Arena;
        for (t, ids) in [
            (Table::Url, &schema::URL_ARENA_REFS[..]),
            (Table::Host, &schema::HOST_ARENA_REFS[..]),
        ] {
            for &id in ids {
                if self.good.contains_key(&(t as u8, id)) {
                    self.ref_cols.push((t, id));
                }
            }
        }
        let Some(d) = self.blob else {
            // No blob region: every reference is checked against an empty arena.
            self.arena_len = Some(0);
            self.phase = Phase::Refs;
            return;
        };
        self.arena_pass = Some(ArenaPass {
            desc: d,
            read: 0,
            region_crc: Crc32c::new(),
            payload_crc: Crc32c::new(),
            head: Vec::new(),
            page: None,
            header_error: None,
            walker: None,
            walk_error: None,
            stream: None,
            decode_error: None,
            released: false,
            end: None,
            refs: Refs {
                total: 0,
                win: Vec::new(),
                win_start: 0,
                batch: Vec::new(),
                done_in_batch: 0,
                gather_from: 1,
                gathered_all: self.ref_cols.is_empty(),
                bad: BTreeSet::new(),
            },
            gather: None,
        });
    }

    fn arena_step(&mut self) {
        let (src, ctx) = (self.src.clone(), self.ctx);
        let ref_cols = self.ref_cols.clone();
        let batch_max = self.ref_batch;
        let good = &self.good;
        let a = self.arena_pass.as_mut().expect("arena pass");
        // Gather the next batch of references once the current one is checked.
        if a.page.is_some()
            && !a.refs.gathered_all
            && a.decode_error.is_none()
            && a.refs.done_in_batch == a.refs.batch.len()
        {
            let total = a.page.map_or(0, |h| u64::from(h.uncompressed_size));
            let (ci, row, mut buf, mut hi) =
                a.gather.take().unwrap_or((0, 0, Vec::new(), u64::MAX));
            let Some(&(t, id)) = ref_cols.get(ci) else {
                // The pass over the reference columns is complete: this is the next batch.
                buf.sort_unstable();
                buf.dedup();
                if buf.is_empty() {
                    a.refs.gathered_all = true;
                } else {
                    a.refs.gather_from = buf[buf.len() - 1] + 1;
                }
                a.refs.batch = buf;
                a.refs.done_in_batch = 0;
                return;
            };
            let (dir, range) = good.get(&(t as u8, id)).expect("a decoded column").clone();
            let rows = dir.num_values;
            if range.is_none_or(|(_, max)| max == 0) || row >= rows {
                a.gather = Some((ci + 1, 0, buf, hi));
                return;
            }
            let mut cur = Cursor::new(t, dir);
            let end = (row + STEP_ROWS).min(rows);
            for i in row..end {
                let r = match cur.get(&src, &ctx, i) {
                    Ok(r) => r,
                    Err(e) => {
                        self.arena.push(Finding::error(e));
                        a.refs.gathered_all = true;
                        return;
                    }
                };
                if r >= a.refs.gather_from && r < total && r < hi {
                    buf.push(r);
                    if buf.len() >= 2 * batch_max {
                        buf.sort_unstable();
                        buf.dedup();
                        if buf.len() > batch_max {
                            hi = buf[batch_max];
                            buf.truncate(batch_max);
                        }
                    }
                }
            }
            a.gather = Some((ci, end, buf, hi));
            return;
        }
        // Stream the next piece of the region.
        let d = a.desc;
        if a.read < d.length {
            // The page header alone first, so the first batch is gathered before any decoding.
            let n = if a.read == 0 { 32 } else { STEP_BYTES }.min(d.length - a.read);
            let bytes = match read_range(&src, d.offset + a.read, n, "region", Place::Region(d.id))
            {
                Ok(b) => b.into_owned(),
                Err(e) => {
                    let slot = self.blob_slot.unwrap_or(0);
                    if let Some(s) = self.region_slots.get_mut(slot) {
                        s.push(Finding::error(e));
                    }
                    self.arena_len = None;
                    self.phase = Phase::Wheel;
                    return;
                }
            };
            let start = a.read;
            a.read += n;
            self.work_done += n;
            a.feed(&bytes, start, &ctx);
            a.refs.check();
            return;
        }
        // The whole region was read: the decoder hands over what it still holds (the frame's
        // last window), then the batches still to gather are checked against it, then the
        // verdict.
        if !a.released {
            a.release();
            a.refs.check();
            return;
        }
        if a.page.is_some() && a.decode_error.is_none() && !a.refs.gathered_all {
            a.refs.check();
            if a.refs.done_in_batch < a.refs.batch.len() {
                // Every byte is there, so a batch cannot stay unchecked.
                a.refs.done_in_batch = a.refs.batch.len();
            }
            return;
        }
        let slot = self.blob_slot;
        let (region_err, page_result) = a.finish(&ctx);
        if let (Some(e), Some(s)) = (region_err, slot.and_then(|s| self.region_slots.get_mut(s))) {
            s.push(Finding::error(e));
        }
        match page_result {
            Ok(len) => {
                if d.length > 0 {
                    self.counts.pages_checked += 1;
                }
                self.arena_len = Some(len);
                self.phase = Phase::Refs;
            }
            Err(e) => {
                if let Some(e) = e {
                    self.arena.push(Finding::error(e));
                }
                self.arena_len = None;
                self.phase = Phase::Wheel;
            }
        }
    }

    fn refs_step(&mut self) {
        let Some(len) = self.arena_len else {
            self.phase = Phase::Wheel;
            return;
        };
        let (src, ctx) = (self.src.clone(), self.ctx);
        let (ci, row, mut bad) = match self.ref_report.take() {
            Some(x) => x,
            None => {
                let Some(&(t, id)) = self.ref_cols.first() else {
                    self.phase = Phase::Wheel;
                    return;
                };
                (0, 0, new_ref_findings(t, id))
            }
        };
        let Some(&(t, id)) = self.ref_cols.get(ci) else {
            self.phase = Phase::Wheel;
            return;
        };
        let (dir, range) = self.good.get(&(t as u8, id)).expect("decoded").clone();
        let rows = dir.num_values;
        let bad_set = self.arena_pass.as_ref().map(|a| &a.refs.bad);
        if row < rows && range.is_some_and(|(_, max)| max > 0) {
            let end = (row + STEP_ROWS).min(rows);
            let mut cur = Cursor::new(t, dir);
            let name = schema::spec(t, id).map_or("", |s| s.name);
            for i in row..end {
                let rf = match cur.get(&src, &ctx, i) {
                    Ok(r) => r,
                    Err(e) => {
                        self.refs.push(Finding::error(e));
                        self.phase = Phase::Wheel;
                        return;
                    }
                };
                if rf == 0 {
                    continue;
                }
                let why = if rf >= len {
                    "is past the end of the arena"
                } else if bad_set.is_some_and(|b| b.contains(&rf)) {
                    "points at an entry that runs past the end of the arena"
                } else {
                    continue;
                };
                bad.push(|| {
                    Error::corrupt(format!("{name} {rf} {why} ({len} bytes)"))
                        .within(row_place(t, i))
                });
            }
            self.ref_report = Some((ci, end, bad));
            return;
        }
        bad.flush(&mut self.refs);
        match self.ref_cols.get(ci + 1) {
            Some(&(t2, id2)) => self.ref_report = Some((ci + 1, 0, new_ref_findings(t2, id2))),
            None => self.phase = Phase::Wheel,
        }
    }

    // ---------- phase 6 ----------

    fn special_page(
        &mut self,
        d: &RegionDesc,
        kind: u8,
        out: Which,
    ) -> Option<(PageHeader, Vec<u8>)> {
        let bytes =
            read_range(&self.src, d.offset, d.length, "region", Place::Region(d.id)).ok()?;
        let mut f = Vec::new();
        let page = decode_region_page(&bytes, d, kind, &self.ctx, &mut f);
        match out {
            Which::Wheel => self.wheel.extend(f),
            Which::Seen => self.seen.extend(f),
        }
        if page.is_some() && !bytes.is_empty() {
            self.counts.pages_checked += 1;
        }
        page
    }

    fn wheel_step(&mut self) {
        self.phase = Phase::Seen;
        let Some(d) = self.schedule else { return };
        let Some((h, payload)) = self.special_page(&d, KIND_SCHEDULE, Which::Wheel) else {
            return;
        };
        let w = match Wheel::parse(&payload, d.offset + 32) {
            Err(e) => {
                self.wheel.push(Finding::error(e.within(Place::Schedule)));
                return;
            }
            Ok(w) => w,
        };
        if u64::from(h.num_values) != w.scheduled() as u64 {
            self.wheel.push(Finding::error(
                Error::corrupt(format!(
                    "page says {} scheduled rows, the wheel lists {}",
                    h.num_values,
                    w.scheduled()
                ))
                .within(Place::Schedule)
                .at(d.offset + 4),
            ));
        }
        if h.base != u64::from(w.base) {
            self.wheel.push(Finding::warning(
                Error::corrupt(format!(
                    "page base {} differs from the wheel base {}",
                    h.base, w.base
                ))
                .within(Place::Schedule)
                .at(d.offset + 20),
            ));
        }
        // The wheel against next_due: 4 bytes a row.
        let Some(mut cur) = self.cursor(Table::Url, url::NEXT_DUE) else {
            return;
        };
        let n = self.row_count(Table::Url);
        let mut nd = Vec::with_capacity(n as usize);
        for i in 0..n {
            match cur.get(&self.src, &self.ctx, i) {
                Ok(v) => nd.push(v as u32),
                Err(e) => {
                    self.wheel.push(Finding::error(e));
                    return;
                }
            }
        }
        check_wheel(&mut self.wheel, &w, &nd, d.offset);
    }

    fn seen_step(&mut self) {
        let (src, ctx) = (self.src.clone(), self.ctx);
        if self.filter.is_none() {
            let Some(d) = self.seenset else {
                self.phase = Phase::Finish;
                return;
            };
            let Some((h, payload)) = self.special_page(&d, KIND_FILTER, Which::Seen) else {
                self.phase = Phase::Finish;
                return;
            };
            let urls = self.row_count(Table::Url);
            if u64::from(h.num_values) != urls {
                self.seen.push(Finding::warning(
                    Error::corrupt(format!(
                        "seen-set page says {} values, the file has {urls} URL rows",
                        h.num_values
                    ))
                    .within(Place::SeenSet)
                    .at(d.offset + 4),
                ));
            }
            match SeenFilter::parse(&payload) {
                Err(e) => {
                    self.seen.push(Finding::error(
                        e.within(Place::SeenSet).at_if_unset(d.offset + 32),
                    ));
                    self.phase = Phase::Finish;
                }
                Ok(f) => match (
                    self.cursor(Table::Url, url::HOST_KEY),
                    self.cursor(Table::Url, url::PATH_KEY),
                ) {
                    (Some(a), Some(b)) => {
                        self.url_walk = Some((a, Some(b)));
                        self.filter = Some(f);
                        self.row = 0;
                        self.seen_rows = Some(RowFindings::new(
                            Severity::Error,
                            "a URL key the seen-set filter does not contain",
                            Place::SeenSet,
                        ));
                    }
                    _ => self.phase = Phase::Finish,
                },
            }
            return;
        }
        let urls = self.row_count(Table::Url);
        let (Some((hk, Some(pk))), Some(f), Some(bad)) =
            (&mut self.url_walk, &self.filter, &mut self.seen_rows)
        else {
            self.phase = Phase::Finish;
            return;
        };
        let end = (self.row + STEP_ROWS).min(urls);
        for i in self.row..end {
            let (h, p) = match (hk.get(&src, &ctx, i), pk.get(&src, &ctx, i)) {
                (Ok(h), Ok(p)) => (h, p),
                (Err(e), _) | (_, Err(e)) => {
                    self.seen.push(Finding::error(e));
                    self.row = urls;
                    break;
                }
            };
            if !f.contains(UrlKey { host: h, path: p }) {
                bad.push(|| {
                    Error::corrupt(format!(
                        "the seen-set filter does not contain URL key 0x{h:016x}:0x{p:016x}"
                    ))
                    .within(row_place(Table::Url, i))
                });
            }
        }
        self.row = self.row.max(end);
        if self.row >= urls {
            if let Some(b) = self.seen_rows.take() {
                b.flush(&mut self.seen);
            }
            self.url_walk = None;
            self.filter = None;
            self.phase = Phase::Finish;
        }
    }

    // ---------- phase 7 ----------

    fn finish_step(&mut self) {
        self.phase = Phase::Done;
        let (Some(header), Some(footer)) = (&self.header, &self.footer) else {
            return;
        };
        let out = &mut self.tail;
        if let Some(st) = footer.stats {
            let at = footer
                .sections
                .iter()
                .rev()
                .find(|s| s.tag == TAG_STATS)
                .map_or(self.footer_start, |s| s.body_offset);
            let mut cmp = |what: &str, stored: u64, actual: u64, off: u64| {
                if stored != actual {
                    out.push(Finding::error(
                        Error::corrupt(format!("{what} is {stored}, the file says {actual}"))
                            .within(Place::Stats)
                            .at(at + off),
                    ));
                }
            };
            cmp("url_count", st.url_count, header.url_count, 0);
            cmp("host_count", st.host_count, header.host_count, 8);
            cmp("hostkey_lo", st.hostkey_lo, header.hostkey_lo, 16);
            cmp("hostkey_hi", st.hostkey_hi, header.hostkey_hi, 24);
            let tc: u64 = footer
                .url_columns
                .iter()
                .chain(&footer.host_columns)
                .map(|d| d.total_compressed)
                .fold(0, u64::wrapping_add);
            cmp("total_compressed", st.total_compressed, tc, 48);
            let tu: u64 = footer
                .url_columns
                .iter()
                .chain(&footer.host_columns)
                .map(|d| d.total_uncompressed)
                .fold(0, u64::wrapping_add);
            cmp("total_uncompressed", st.total_uncompressed, tu, 56);
            if let Some((min, max, scheduled)) = self.due {
                let min = min.unwrap_or(0);
                cmp("due_min", u64::from(st.due_min), u64::from(min), 40);
                cmp("due_max", u64::from(st.due_max), u64::from(max), 44);
                if st.scheduled_count != 0 && st.scheduled_count != scheduled {
                    out.push(Finding::warning(Error::corrupt(format!("scheduled_count is {}, but {scheduled} rows have a due time (0 is also accepted: the reference never fills it)", st.scheduled_count)).within(Place::Stats).at(at + 32)));
                }
            }
            let bpu = Stats::bytes_per_url_of(header.footer_offset, header.url_count);
            if bpu.to_bits() != st.bytes_per_url.to_bits() {
                out.push(Finding::error(
                    Error::corrupt(format!(
                        "bytes_per_url is {}, footer offset / URL rows gives {bpu}",
                        st.bytes_per_url
                    ))
                    .within(Place::Stats)
                    .at(at + 64),
                ));
            }
        }
        if let Some(meta) = &footer.meta {
            if meta.windows(2).any(|w| w[0].0 >= w[1].0) {
                let at = footer
                    .sections
                    .iter()
                    .rev()
                    .find(|s| s.tag == TAG_META)
                    .map_or(self.footer_start, |s| s.offset);
                out.push(Finding::warning(
                    Error::corrupt("metadata keys are not in strictly ascending byte order")
                        .within(Place::Section(TAG_META))
                        .at(at),
                ));
            }
        }
        self.work_done = self.work_total;
    }
}

#[derive(Clone, Copy)]
enum ColJob {
    /// The schema columns missing from a table's directory.
    Missing(Table),
    /// A directory entry.
    Column(Table, usize),
}

enum Which {
    Wheel,
    Seen,
}

fn new_ref_findings(t: Table, id: u64) -> RowFindings {
    RowFindings::new(
        Severity::Error,
        "an arena reference that does not resolve",
        Place::Column {
            table: t,
            column: id,
            page: None,
        },
    )
}

impl ArenaPass {
    /// Feeds the region bytes `b`, which start `start` bytes into the region.
    fn feed(&mut self, b: &[u8], start: u64, ctx: &DecodeCtx) {
        self.region_crc.update(b);
        let mut b = b;
        let mut at = start;
        if self.head.len() < 32 {
            let take = (32 - self.head.len()).min(b.len());
            self.head.extend_from_slice(&b[..take]);
            b = &b[take..];
            at += take as u64;
            if self.head.len() == 32 {
                self.start_page(ctx);
            }
        }
        if b.is_empty() || self.head.len() < 32 {
            return;
        }
        // Payload bytes: those of the page (the region holds exactly its page when the header
        // was found good).
        let Some(h) = self.page else { return };
        let payload_end = 32 + u64::from(h.compressed_size);
        let take = (payload_end.saturating_sub(at)).min(b.len() as u64) as usize;
        let p = &b[..take];
        self.payload_crc.update(p);
        if let Some(w) = &mut self.walker {
            if self.walk_error.is_none() {
                if let Err(e) = w.feed(p) {
                    self.walk_error = Some(e);
                }
            }
        }
        if self.decode_error.is_some() {
            return;
        }
        let refs = &mut self.refs;
        if h.codec == CODEC_NONE {
            refs.absorb(p);
        } else if let Some(s) = &mut self.stream {
            // In slices, so the decoder's buffer holds its window plus one slice's output.
            for slice in p.chunks(256 << 10) {
                if let Err(e) = s.feed(slice, &mut |x| refs.absorb(x)) {
                    self.decode_error = Some(e);
                    self.stream = None;
                    break;
                }
            }
        }
    }

    /// The page header is read: checks it as `decode_region_page` does.
    fn start_page(&mut self, ctx: &DecodeCtx) {
        let d = self.desc;
        let h = PageHeader::read(self.head[..].try_into().expect("32 bytes"));
        let end = 32 + u64::from(h.compressed_size);
        if end > d.length {
            self.header_error = Some(
                Error::corrupt(format!(
                    "page payload of {} bytes runs past its container ({} bytes left after the header)",
                    h.compressed_size,
                    d.length - 32
                ))
                .at(d.offset + 12)
                .within(Place::Arena),
            );
            return;
        }
        let head: &[u8; 32] = self.head[..].try_into().expect("32 bytes");
        if let Err(e) = meguri_core::column::region_page_header(head, &d, KIND_BLOB) {
            self.header_error = Some(e);
            return;
        }
        let budget = ctx.limits.budget(ctx.file_len);
        self.page = Some(h);
        self.refs.total = u64::from(h.uncompressed_size);
        if h.codec == CODEC_ZSTD
            && h.compressed_size > 0
            && u64::from(h.uncompressed_size) <= budget
        {
            let base = d.offset + 32;
            self.walker = Some(FrameWalker::new(base, u64::from(h.uncompressed_size)));
            self.stream = Some(StreamCheck::new(base, u64::from(h.uncompressed_size)));
        } else if h.codec != CODEC_NONE || u64::from(h.uncompressed_size) > budget {
            // Nothing to decode: the codec or the size is refused at the end; references are
            // not checked against an arena that does not decode.
            self.decode_error = Some(Error::corrupt("not decoded"));
        }
    }

    /// After the region's last byte: the decoder hands over the rest of the frame.
    fn release(&mut self) {
        self.released = true;
        if let Some(s) = self.stream.take() {
            let refs = &mut self.refs;
            self.end = Some(s.finish(&mut |x| refs.absorb(x)));
        }
    }

    /// The region is read: the region CRC's finding, and the page's verdict (the decoded
    /// length, or its finding; `Err(None)` when its header was refused with no finding).
    fn finish(&mut self, ctx: &DecodeCtx) -> (Option<Error>, Result<u64, Option<Error>>) {
        let d = self.desc;
        let crc = std::mem::take(&mut self.region_crc).finish();
        let region_err = (crc != d.crc).then(|| {
            Error::new(
                ErrorKind::Checksum,
                format!(
                    "region CRC32C is 0x{:08x} but its {} bytes give 0x{crc:08x}",
                    d.crc, d.length
                ),
            )
            .within(Place::Region(d.id))
            .at(d.offset)
        });
        if d.length == 0 {
            return (region_err, Ok(0));
        }
        if self.head.len() < 32 {
            let e = Error::corrupt(format!(
                "a page header needs 32 bytes, only {} remain",
                self.head.len()
            ))
            .at(d.offset)
            .within(Place::Arena);
            return (region_err, Err(Some(e)));
        }
        if let Some(e) = self.header_error.take() {
            return (region_err, Err(Some(e)));
        }
        let Some(h) = self.page else {
            return (region_err, Err(None));
        };
        let pl = Place::Arena;
        let payload_at = d.offset + 32;
        let computed = std::mem::take(&mut self.payload_crc).finish();
        if computed != h.crc {
            let e = Error::new(
                ErrorKind::Checksum,
                format!(
                    "page payload CRC32C is 0x{:08x} but its {} bytes give 0x{computed:08x}",
                    h.crc, h.compressed_size
                ),
            )
            .at(d.offset + 28)
            .within(pl);
            return (region_err, Err(Some(e)));
        }
        let budget = ctx.limits.budget(ctx.file_len);
        let expected = u64::from(h.uncompressed_size);
        if expected > budget {
            let e = Error::new(
                ErrorKind::Limit,
                format!(
                    "page declares {expected} decoded bytes, more than the {budget}-byte limit for a {}-byte file",
                    ctx.file_len
                ),
            )
            .at(d.offset + 8)
            .within(pl);
            return (region_err, Err(Some(e)));
        }
        let fail = |e: Error| Err(Some(e.at_if_unset(payload_at).within(pl)));
        match h.codec {
            CODEC_NONE => {
                if u64::from(h.compressed_size) != expected {
                    return (
                        region_err,
                        fail(Error::corrupt(format!(
                            "page stores {} bytes uncompressed but declares {expected}",
                            h.compressed_size
                        ))),
                    );
                }
                (region_err, Ok(expected))
            }
            CODEC_ZSTD if h.compressed_size == 0 => {
                if expected != 0 {
                    return (
                        region_err,
                        fail(Error::corrupt(format!(
                            "empty zstd payload but the page declares {expected} decoded bytes"
                        ))),
                    );
                }
                (region_err, Ok(0))
            }
            CODEC_ZSTD => {
                // The frame's structure first (as the whole-page decoder walks it first), then
                // the decoder's verdict, then its length and checksum.
                if let Some(e) = self.walk_error.take() {
                    return (region_err, fail(e));
                }
                if let Some(w) = &self.walker {
                    if let Err(e) = w.finish() {
                        return (region_err, fail(e));
                    }
                }
                if let Some(e) = self.decode_error.take() {
                    return (region_err, fail(e));
                }
                let end = self
                    .end
                    .take()
                    .unwrap_or_else(|| Err(Error::corrupt("zstd frame was not decoded")));
                if let Err(e) = end {
                    return (region_err, fail(e));
                }
                (region_err, Ok(expected))
            }
            other => {
                let e = decompress(other, &[], expected as usize, ctx.zstd, payload_at)
                    .err()
                    .unwrap_or_else(|| Error::corrupt(format!("unknown page codec {other}")));
                (region_err, fail(e))
            }
        }
    }
}

fn check_wheel(out: &mut Vec<Finding>, w: &Wheel, next_due: &[u32], region_offset: u64) {
    let pl = Place::Schedule;
    if u64::from(w.covered) != next_due.len() as u64 {
        out.push(Finding::error(
            Error::corrupt(format!(
                "wheel covers {} rows, the URL table has {}",
                w.covered,
                next_due.len()
            ))
            .within(pl)
            .at(region_offset + 36),
        ));
    }
    let Some(expected) = Wheel::build(next_due) else {
        out.push(Finding::error(
            Error::corrupt("a schedule region is present but no URL row has a due time")
                .within(pl)
                .at(region_offset),
        ));
        return;
    };
    if w.base != expected.base {
        out.push(Finding::error(
            Error::corrupt(format!(
                "wheel base is hour {}, the smallest nonzero next_due is {}",
                w.base, expected.base
            ))
            .within(pl)
            .at(region_offset + 32),
        ));
        return;
    }
    let mut bad = RowFindings::new(
        Severity::Error,
        "a wheel bucket that disagrees with next_due",
        pl,
    );
    for b in 0..meguri_core::schedule::BUCKETS {
        let (got, want) = (w.bucket_rows(b), expected.bucket_rows(b));
        if got != want {
            let missing = want.iter().filter(|x| !got.contains(x)).count();
            let extra = got.iter().filter(|x| !want.contains(x)).count();
            bad.push(|| Error::corrupt(format!("bucket {b} lists {} rows; next_due puts {} there ({missing} missing, {extra} that belong elsewhere)", got.len(), want.len())).within(pl).at(region_offset));
        }
    }
    bad.flush(out);
}

#[wasm_bindgen]
impl Verifier {
    /// Does one bounded piece of work and says where it stands: `{phase, done, total,
    /// finished, report}`, with `report` the core's verify report (`VerifyView`) once
    /// finished. `done`/`total` are units of work (bytes read, rows walked × 8), for a bar.
    pub fn step(&mut self) -> String {
        let before = self.phase;
        // A few cheap calls at once (phase changes cost no reading).
        for _ in 0..8 {
            self.advance();
            if self.phase == Phase::Done || self.phase == before {
                break;
            }
        }
        self.progress()
    }

    fn progress(&self) -> String {
        let done = self.phase == Phase::Done;
        let report = done.then(|| self.report());
        to_json(&Progress {
            phase: self.phase.name(),
            done: self.work_done.min(self.work_total),
            total: self.work_total,
            finished: done,
            report: report.as_ref().map(|r| VerifyView {
                subject: Subject::File,
                report: r,
                shape: self.shape.as_ref(),
                file_len: self.src.len(),
            }),
        })
    }
}
