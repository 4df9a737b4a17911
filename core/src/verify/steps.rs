//! `verify` in bounded steps: the one verifier, which [`super::verify_file`] runs to the end and
//! the browser inspector and the command line run a step at a time.
//!
//! Each [`Verifier::step`] does a bounded piece of work (at most [`STEP_BYTES`] read and
//! [`STEP_ROWS`] rows decoded or walked, or one page larger than that) and says where it stands, so a caller can show progress and stop
//! between calls. Bytes are read through a [`Source`]: a slice, a file read with positioned
//! reads, a browser `Blob`; nothing asks for the whole file.
//!
//! The phases, in order:
//!
//! 1. **open**: header, trailer and footer through the reader's own open path, the footer's
//!    sections, the header fields, the declared row counts, the region directory;
//! 2. **columns**: every directory entry, then its pages a few MiB at a time (page CRCs, the
//!    column CRC over its pages, decoding, zone maps). The table regions' CRCs are taken from the
//!    same reads (the bytes between columns are read for the CRC alone), so a well-formed table
//!    region is read once. Only aggregates are kept: each column's value range, the `next_due`
//!    summary, and, when the file has a schedule wheel, `next_due` itself (4 bytes a row);
//! 3. **regions**: the CRCs of the other regions, read piece by piece (the arena's is taken in
//!    phase 6, the wheel's and the filter's as their pages are read);
//! 4. **seen-set page**: the filter is decoded (it is as large as the file says, O(rows) bits);
//! 5. **rows**: URL rows in (host key, path key) order and inside the header's range, every
//!    URL's host key against the host table (a merge of two sorted walks), every URL key against
//!    the filter; then host rows in host-key order. Each walked column holds one decoded page;
//!    only the previous key and the merge position are kept;
//! 6. **arena**: the blob region read once, piece by piece: its region CRC, its page CRC and its
//!    zstd frame streamed through [`StreamCheck`] (structure, content size, checksum) in bounded
//!    memory (the frame's window). Arena references are checked against the decoded bytes as
//!    they pass: the distinct references of the reference columns are gathered up to a batch
//!    ([`REF_BATCH`]) at a time, smallest first, and checked as the stream reaches them; then
//!    the next batch, the stream going on where it was. The stream pauses while a batch is
//!    gathered, so only the decoded bytes from the next batch's first reference on are held;
//! 7. **references**: the references that do not resolve (a set of values, empty for a sound
//!    file) are listed in row order, as the findings list them;
//! 8. **wheel**: the schedule page decoded whole and held to `next_due`;
//! 9. **stats** and metadata against what the phases gathered.
//!
//! Memory, whatever the file's size: one batch of column pages decoded, one page per walked
//! column, the arena's zstd window (at most [`crate::format::zstd_frame::MAX_WINDOW`]; 32 MiB in
//! meguri's files), the reference batch (8 bytes per distinct reference, at most twice
//! [`REF_BATCH`]), the findings (row findings are capped as
//! [`ROW_FINDINGS_LISTED`](super::ROW_FINDINGS_LISTED) says) and, growing with the rows, what
//! the format makes O(rows): the wheel and `next_due` (4 bytes a scheduled row each; only with
//! a wheel), the seen-set filter (as stored), and the set of arena references that do not
//! resolve (8 bytes each; none in a sound file).
//!
//! The findings come out exactly as one pass in file order would list them: each phase keeps
//! its own list, and [`Verifier::report`] joins them in the order of the checks.

use super::{
    check_footer, check_header, check_meta, check_wheel, payload_at, DueSummary, KeyCheck, Report,
    RowFindings, HOST_KEYS, URL_KEYS,
};
use crate::bytes::read_uvarint;
use crate::column::{
    check_dir, column_range, decode_pages, decode_region_page, region_page_header, ColumnCheck,
    DecodeCtx,
};
use crate::crc::Crc32c;
use crate::error::{Error, ErrorKind, Place, Severity, Table};
use crate::format::codec::{stored_size_rule, CODEC_NONE, CODEC_ZSTD};
use crate::format::footer::{ColumnDir, PageSpan, RegionDesc};
use crate::format::header::header_at;
use crate::format::page::{
    check_decoded_size, check_payload_crc, page_at, page_header_in, PageHeader, KIND_BLOB,
    KIND_FILTER, KIND_SCHEDULE, PAGE_HEADER_LEN,
};
use crate::format::zstd_frame::{FrameWalker, StreamCheck};
use crate::format::{
    region_name, FLAG_BLOB, FLAG_SCHEDULE, FLAG_SEENSET, HEADER_LEN, REGION_HOST_TABLE,
    REGION_SCHEDULE, REGION_SEENSET, REGION_STRING_BLOB, REGION_URL_TABLE,
};
use crate::keys::UrlKey;
use crate::reader::{
    check_declared_rows, directory_entry, missing_columns, read_shape_into, ReadOptions, Shape,
};
use crate::records::Values;
use crate::schedule::Wheel;
use crate::schema::{self, host, url};
use crate::seenset::SeenFilter;
use crate::source::{read_range, Source};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Bytes one step reads (column pages, a region's CRC, the arena's compressed bytes).
pub const STEP_BYTES: u64 = 4 << 20;
/// Rows one step walks.
pub const STEP_ROWS: u64 = 1 << 18;
/// Distinct arena references checked per pass over the reference columns.
pub const REF_BATCH: usize = 1 << 20;
/// Compressed arena bytes handed to the decoder at once: the stream pauses between slices when
/// the next reference batch must be gathered first.
const ARENA_SLICE: usize = 64 << 10;

/// Where a verify stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Header, trailer, footer, region directory.
    Open,
    /// Column directories and pages (and the table regions' CRCs).
    Columns,
    /// The other regions' CRCs.
    Regions,
    /// The seen-set page.
    SeenPage,
    /// Row order, host coverage, seen-set membership.
    Rows,
    /// The arena's page, and the references checked against it.
    Arena,
    /// References that do not resolve, listed in row order.
    Refs,
    /// The schedule wheel.
    Wheel,
    /// STATS and metadata.
    Stats,
    /// Every check has run.
    Done,
}

impl Phase {
    /// A short name for a progress line.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Open => "framing",
            Phase::Columns => "columns",
            Phase::Regions => "region CRCs",
            Phase::SeenPage => "seen-set filter",
            Phase::Rows => "row order",
            Phase::Arena => "arena",
            Phase::Refs => "arena references",
            Phase::Wheel => "schedule wheel",
            Phase::Stats => "stats",
            Phase::Done => "done",
        }
    }
}

/// How far a verify has come, in units of work (bytes read, rows walked × 8), for a bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// The phase under way.
    pub phase: Phase,
    /// Work done (at most `total`).
    pub done: u64,
    /// Work expected (an estimate: reference batches may take more passes).
    pub total: u64,
}

/// The region directory's verdicts, and the role of each descriptor.
struct RegionPlan {
    descs: Vec<RegionDesc>,
    /// Per descriptor: whether it lies inside the data area (and so is read).
    inside: Vec<bool>,
    /// The special regions: the last descriptor of each id that lies inside the data area.
    schedule: Option<usize>,
    seenset: Option<usize>,
    blob: Option<usize>,
}

/// A region's CRC32C taken from reads in ascending order that may leave gaps (filled later).
struct RegionCrc {
    index: usize,
    desc: RegionDesc,
    /// Bytes from the region's start covered so far.
    done: u64,
    crc: Crc32c,
    failed: bool,
}

impl RegionCrc {
    fn new(index: usize, desc: RegionDesc) -> RegionCrc {
        RegionCrc {
            index,
            desc,
            done: 0,
            crc: Crc32c::new(),
            failed: false,
        }
    }

    /// Bytes not yet covered before absolute offset `at`.
    fn gap_before(&self, at: u64) -> u64 {
        (at - self.desc.offset).saturating_sub(self.done)
    }

    /// Takes `b`, read at absolute offset `at`, for whatever part of it extends the covered
    /// prefix (a caller fills any gap first).
    fn feed(&mut self, at: u64, b: &[u8]) {
        let rel = at - self.desc.offset;
        let end = rel + b.len() as u64;
        if rel <= self.done && end > self.done {
            self.crc.update(&b[(self.done - rel) as usize..]);
            self.done = end;
        }
    }

    /// Reads the next piece of the uncovered rest, up to absolute offset `until`. Returns the
    /// bytes read, or the read's error (the region is then not judged).
    fn fill<S: Source + ?Sized>(&mut self, src: &S, until: u64) -> Result<u64, Error> {
        let at = self.desc.offset + self.done;
        let n = until.saturating_sub(at).min(STEP_BYTES);
        let b = read_range(src, at, n, "region", Place::Region(self.desc.id))?;
        self.feed(at, &b);
        Ok(n)
    }

    fn complete(&self) -> bool {
        self.failed || self.done >= self.desc.length
    }

    /// The CRC's finding, once every byte is covered.
    fn finish(self) -> Option<Error> {
        if self.failed {
            return None;
        }
        region_crc_finding(&self.desc, self.crc.finish())
    }
}

fn region_crc_finding(d: &RegionDesc, crc: u32) -> Option<Error> {
    (crc != d.crc).then(|| {
        Error::new(
            ErrorKind::Checksum,
            format!(
                "region CRC32C is 0x{:08x} but its {} bytes give 0x{crc:08x}",
                d.crc, d.length
            ),
        )
        .within(Place::Region(d.id))
        .at(d.offset)
    })
}

/// Walks a decoded column's values in row order, one page at a time.
struct Cursor {
    table: Table,
    dir: ColumnDir,
    spans: Vec<PageSpan>,
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
            first: 0,
            vals: Vec::new(),
        }
    }

    fn get<S: Source + ?Sized>(
        &mut self,
        src: &S,
        ctx: &DecodeCtx,
        row: u64,
    ) -> Result<u64, Error> {
        if row < self.first || row - self.first >= self.vals.len() as u64 {
            let i = self
                .spans
                .partition_point(|s| s.first_row.saturating_add(s.num_values) <= row);
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
            let page = decode_pages(
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
            self.vals = match page.values {
                Values::Int(v) if !v.is_empty() => v,
                _ => return Err(Error::corrupt("the page holds no integer values").within(pl)),
            };
            self.first = s.first_row;
            if row < self.first || row - self.first >= self.vals.len() as u64 {
                return Err(Error::corrupt(format!("row {row} is not in its page")).within(pl));
            }
        }
        Ok(self.vals[(row - self.first) as usize])
    }
}

/// A column decoded whole: its directory entry and its values' range.
type Good = (ColumnDir, Option<(u64, u64)>);

#[derive(Clone, Copy)]
enum ColJob {
    /// The schema columns missing from a table's directory.
    Missing(Table),
    /// A directory entry.
    Column(Table, usize),
    /// The table region's CRC, over what the columns left.
    EndTable(Table),
}

/// The column being read.
struct ColState {
    table: Table,
    dir: ColumnDir,
    known: bool,
    spans: Vec<PageSpan>,
    next: usize,
    /// Whether the pages are read through the table region's CRC.
    in_region: bool,
    check: ColumnCheck,
    /// `next_due`'s summary and values (url column `next_due` only).
    due: Option<(DueSummary, Option<Vec<u32>>)>,
}

/// The URL walk (phase 5).
struct UrlWalk {
    row: u64,
    hk: Cursor,
    pk: Option<Cursor>,
    keys: Option<KeyCheck<(u64, u64)>>,
    /// The host table's keys, merged with the URL rows' host keys.
    hosts: Option<(Cursor, Coverage)>,
    seen: Option<(SeenFilter, RowFindings)>,
}

/// Host keys of URL rows that no host row has: a merge of the URL rows' host keys with the host
/// table's, both in order, keeping the merge position and the previous key.
#[derive(Default)]
struct Coverage {
    missing: u64,
    first: Option<u64>,
    j: u64,
    prev: Option<u64>,
}

impl Coverage {
    fn flush(self, r: &mut Report) {
        if self.missing > 0 {
            let first = self.first.unwrap_or(0);
            r.warn(
                Error::inconsistent(format!(
                    "{} host keys of URL rows have no host row (first at URL row {first})",
                    self.missing
                ))
                .within(Place::Row {
                    table: Table::Url,
                    row: first,
                }),
            );
        }
    }
}

/// The arena references checked as the decoded arena passes (phase 6).
struct Refs {
    /// The arena's decoded length, as its page declares it.
    total: u64,
    /// Decoded bytes `[win_start, win_start + win.len())` still needed.
    win: Vec<u8>,
    win_start: u64,
    /// The batch being checked, ascending, and how far it is done.
    batch: Vec<u64>,
    done_in_batch: usize,
    /// References from this value on have not been gathered yet.
    gather_from: u64,
    gathered_all: bool,
    /// Reference values that do not resolve.
    bad: BTreeSet<u64>,
}

impl Refs {
    fn waiting(&self) -> bool {
        !self.gathered_all && self.done_in_batch == self.batch.len()
    }

    fn absorb(&mut self, d: &[u8]) {
        for part in d.chunks(ARENA_SLICE) {
            self.win.extend_from_slice(part);
            self.check();
        }
    }

    /// Checks the references of the batch the decoded bytes now cover (an entry's length varint
    /// is at most 10 bytes), and drops the bytes no reference of this batch or a later one needs.
    fn check(&mut self) {
        let total = self.total;
        let end = self.win_start + self.win.len() as u64;
        while let Some(&r) = self.batch.get(self.done_in_batch) {
            let need = (total - r).min(10);
            if r + need > end {
                break;
            }
            let at = (r - self.win_start) as usize;
            let broken = match read_uvarint(&self.win[at..at + need as usize]) {
                Err(_) => true,
                Ok((len, n)) => (r + n as u64).checked_add(len).is_none_or(|e| e > total),
            };
            if broken {
                self.bad.insert(r);
            }
            self.done_in_batch += 1;
        }
        let keep_from = match self.batch.get(self.done_in_batch) {
            Some(&r) => r,
            None if !self.gathered_all => self.gather_from,
            None => end,
        }
        .clamp(self.win_start, end);
        let cut = (keep_from - self.win_start) as usize;
        if cut > 0 {
            self.win.drain(..cut);
            self.win_start = keep_from;
        }
        if self.win.capacity() > 4 * ARENA_SLICE && self.win.len() < ARENA_SLICE {
            self.win.shrink_to(2 * ARENA_SLICE);
        }
    }
}

/// The gathering of the next reference batch: a pass over the reference columns.
struct Gather {
    col: usize,
    row: u64,
    cursor: Option<Cursor>,
    buf: Vec<u64>,
    /// References from this value on are left for a later batch.
    hi: u64,
}

/// The arena's region read once (phase 6).
struct ArenaPass {
    desc: RegionDesc,
    index: usize,
    read: u64,
    region_crc: Crc32c,
    payload_crc: Crc32c,
    head: Vec<u8>,
    /// The page header, once read and found to fit its region.
    page: Option<PageHeader>,
    /// The page's finding known from its header alone.
    header_error: Option<Error>,
    walker: Option<FrameWalker>,
    walk_error: Option<Error>,
    stream: Option<StreamCheck>,
    decode_error: Option<Error>,
    /// Whether the payload is decoded (a stored payload, or a zstd frame within the budget).
    decoding: bool,
    /// Payload bytes read but not yet decoded (the stream pauses while a batch is gathered).
    pending: Vec<u8>,
    pending_at: usize,
    /// The decoder's verdict at the frame's end.
    end: Option<Result<(), Error>>,
    released: bool,
    refs: Refs,
    gather: Option<Gather>,
}

impl ArenaPass {
    fn new(index: usize, desc: RegionDesc, no_refs: bool) -> ArenaPass {
        ArenaPass {
            desc,
            index,
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
            decoding: false,
            pending: Vec::new(),
            pending_at: 0,
            end: None,
            released: false,
            refs: Refs {
                total: 0,
                win: Vec::new(),
                win_start: 0,
                batch: Vec::new(),
                done_in_batch: 0,
                gather_from: 1,
                gathered_all: no_refs,
                bad: BTreeSet::new(),
            },
            gather: None,
        }
    }

    /// Whether references are being checked against the stream.
    fn checking(&self) -> bool {
        self.decoding && self.decode_error.is_none()
    }

    /// Takes region bytes `b`, which start `start` bytes into the region.
    fn take(&mut self, b: &[u8], start: u64, ctx: &DecodeCtx) {
        self.region_crc.update(b);
        let mut b = b;
        let mut at = start;
        if self.head.len() < PAGE_HEADER_LEN {
            let n = (PAGE_HEADER_LEN - self.head.len()).min(b.len());
            self.head.extend_from_slice(&b[..n]);
            b = &b[n..];
            at += n as u64;
            if self.head.len() == PAGE_HEADER_LEN {
                self.start_page(ctx);
            }
        }
        let Some(h) = self.page else { return };
        if b.is_empty() {
            return;
        }
        let payload_end = PAGE_HEADER_LEN as u64 + u64::from(h.compressed_size);
        let n = payload_end.saturating_sub(at).min(b.len() as u64) as usize;
        let p = &b[..n];
        self.payload_crc.update(p);
        if let Some(w) = &mut self.walker {
            if self.walk_error.is_none() {
                if let Err(e) = w.feed(p) {
                    self.walk_error = Some(e);
                }
            }
        }
        if self.checking() {
            self.pending.extend_from_slice(p);
        }
    }

    /// The page header is read: judges it as [`decode_region_page`] does.
    fn start_page(&mut self, ctx: &DecodeCtx) {
        let d = self.desc;
        let h = match page_header_in(&self.head, d.length, d.offset).and_then(|_| {
            let head = self.head[..].try_into().expect("a whole header");
            region_page_header(head, &d, KIND_BLOB)
        }) {
            Ok(h) => h,
            Err(e) => {
                self.header_error = Some(e.within(Place::Arena));
                return;
            }
        };
        self.page = Some(h);
        self.refs.total = u64::from(h.uncompressed_size);
        let expected = u64::from(h.uncompressed_size);
        let fits = expected <= ctx.limits.budget(ctx.file_len);
        let stored_ok = stored_size_rule(h.codec, u64::from(h.compressed_size), expected).is_ok();
        if !fits || !stored_ok {
            return;
        }
        if h.codec == CODEC_ZSTD && h.compressed_size > 0 {
            let base = d.offset + PAGE_HEADER_LEN as u64;
            self.walker = Some(FrameWalker::new(base, expected));
            self.stream = Some(StreamCheck::new(base, expected));
        }
        self.decoding = h.codec == CODEC_NONE || self.stream.is_some();
    }

    /// Decodes pending payload bytes a slice at a time until they run out or the reference
    /// batch is done and the next must be gathered first.
    fn pump(&mut self) {
        while self.pending_at < self.pending.len() && !self.refs.waiting() && self.checking() {
            let end = (self.pending_at + ARENA_SLICE).min(self.pending.len());
            let slice = &self.pending[self.pending_at..end];
            let refs = &mut self.refs;
            match &mut self.stream {
                Some(s) => {
                    if let Err(e) = s.feed(slice, &mut |x| refs.absorb(x)) {
                        self.decode_error = Some(e);
                        self.stream = None;
                    }
                }
                None => refs.absorb(slice),
            }
            self.pending_at = end;
        }
        if self.pending_at == self.pending.len() || !self.checking() {
            self.pending.clear();
            self.pending_at = 0;
        }
    }

    /// After the region's last byte: the decoder hands over the rest of the frame.
    fn release(&mut self) {
        self.released = true;
        if let Some(s) = self.stream.take() {
            let refs = &mut self.refs;
            self.end = Some(s.finish(&mut |x| refs.absorb(x)));
        }
        self.refs.check();
    }

    /// The region is read: the region CRC's finding, and the page's verdict: its decoded length,
    /// or its finding (as [`decode_region_page`] gives it).
    fn finish(&mut self, ctx: &DecodeCtx) -> (Option<Error>, Result<u64, Error>) {
        let d = self.desc;
        let crc = core::mem::take(&mut self.region_crc).finish();
        let region_err = region_crc_finding(&d, crc);
        (region_err, self.verdict(ctx))
    }

    fn verdict(&mut self, ctx: &DecodeCtx) -> Result<u64, Error> {
        let d = self.desc;
        if d.length == 0 {
            return Ok(0);
        }
        if self.head.len() < PAGE_HEADER_LEN {
            return Err(page_header_in(&self.head, d.length, d.offset)
                .err()
                .unwrap_or_else(|| Error::corrupt("the page header was not read"))
                .within(Place::Arena));
        }
        if let Some(e) = self.header_error.take() {
            return Err(e);
        }
        let h = self
            .page
            .ok_or_else(|| Error::corrupt("the page header was not read"))?;
        let pl = Place::Arena;
        let computed = core::mem::take(&mut self.payload_crc).finish();
        check_payload_crc(&h, computed, d.offset).map_err(|e| e.within(pl))?;
        check_decoded_size(&h, &ctx.limits, ctx.file_len, d.offset).map_err(|e| e.within(pl))?;
        let payload_at = d.offset + PAGE_HEADER_LEN as u64;
        let fail = |e: Error| e.at_if_unset(payload_at).within(pl);
        let expected = u64::from(h.uncompressed_size);
        stored_size_rule(h.codec, u64::from(h.compressed_size), expected).map_err(fail)?;
        if !(h.codec == CODEC_ZSTD && h.compressed_size > 0) {
            return Ok(expected);
        }
        // The frame's structure first (the whole-page decoder walks it before decoding), then
        // the decoder's verdict, then the length and checksum.
        if let Some(e) = self.walk_error.take() {
            return Err(fail(e));
        }
        if let Some(w) = &self.walker {
            w.finish().map_err(fail)?;
        }
        if let Some(e) = self.decode_error.take() {
            return Err(fail(e));
        }
        self.end
            .take()
            .unwrap_or_else(|| Err(Error::corrupt("zstd frame was not decoded")))
            .map_err(fail)?;
        Ok(expected)
    }
}

/// `verify` of a file in bounded steps (see the module documentation).
pub struct Verifier<S> {
    src: S,
    tail_guess: u64,
    ctx: DecodeCtx,
    phase: Phase,
    shape: Option<Shape>,
    shape_trusted: bool,
    plan: Option<RegionPlan>,
    // Findings, by the check that reports them (joined in this order by `report`).
    open: Report,
    slots: Vec<Report>,
    region_tail: Report,
    columns: Report,
    rows: Report,
    arena: Report,
    refs: Report,
    wheel: Report,
    seen: Report,
    tail: Report,
    // Phase 2.
    col_jobs: Vec<ColJob>,
    col_job: usize,
    col: Option<ColState>,
    table_crc: [Option<RegionCrc>; 2],
    good: BTreeMap<(u8, u64), Good>,
    due: Option<DueSummary>,
    next_due: Option<Vec<u32>>,
    // Phase 3.
    crc_jobs: Vec<usize>,
    crc_job: Option<RegionCrc>,
    // Phases 4 and 5.
    filter: Option<SeenFilter>,
    url_walk: Option<UrlWalk>,
    host_walk: Option<(u64, Cursor, KeyCheck<u64>)>,
    host_cov: Option<Coverage>,
    // Phases 6 and 7.
    arena_pass: Option<ArenaPass>,
    arena_len: Option<u64>,
    ref_cols: Vec<(Table, u64)>,
    ref_list: Option<(usize, u64, Option<Cursor>, RowFindings)>,
    ref_batch: usize,
    // Progress.
    work_total: u64,
    work_done: u64,
}

impl<S: Source> Verifier<S> {
    /// A verifier of the file behind `src`.
    pub fn new(src: S, opts: &ReadOptions) -> Verifier<S> {
        let file_len = src.len();
        Verifier {
            src,
            tail_guess: opts.tail_guess,
            ctx: DecodeCtx {
                limits: opts.limits,
                file_len,
                zstd: opts.zstd,
            },
            phase: Phase::Open,
            shape: None,
            shape_trusted: false,
            plan: None,
            open: Report::default(),
            slots: Vec::new(),
            region_tail: Report::default(),
            columns: Report::default(),
            rows: Report::default(),
            arena: Report::default(),
            refs: Report::default(),
            wheel: Report::default(),
            seen: Report::default(),
            tail: Report::default(),
            col_jobs: Vec::new(),
            col_job: 0,
            col: None,
            table_crc: [None, None],
            good: BTreeMap::new(),
            due: None,
            next_due: None,
            crc_jobs: Vec::new(),
            crc_job: None,
            filter: None,
            url_walk: None,
            host_walk: None,
            host_cov: None,
            arena_pass: None,
            arena_len: None,
            ref_cols: Vec::new(),
            ref_list: None,
            ref_batch: REF_BATCH,
            work_total: 1,
            work_done: 0,
        }
    }

    /// Sets how many distinct arena references are checked per pass over the reference
    /// columns (tests use small batches to exercise many passes).
    pub fn set_ref_batch(&mut self, n: usize) {
        self.ref_batch = n.max(1);
    }

    /// The source being verified.
    pub fn source(&self) -> &S {
        &self.src
    }

    /// The file's shape once its header and footer were read, when they were read without an
    /// error (as [`crate::reader::read_shape`] gives it: a header or footer whose CRC does not
    /// match is read on, but not trusted to describe the file).
    pub fn shape(&self) -> Option<&Shape> {
        self.shape.as_ref().filter(|_| self.shape_trusted)
    }

    /// Whether every check has run.
    pub fn finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Where the verify stands.
    pub fn progress(&self) -> Progress {
        let total = self.work_total.max(1);
        Progress {
            phase: self.phase,
            done: if self.finished() {
                total
            } else {
                self.work_done.min(total)
            },
            total,
        }
    }

    /// Does one bounded piece of work.
    pub fn step(&mut self) -> Progress {
        match self.phase {
            Phase::Open => self.open_step(),
            Phase::Columns => self.column_step(),
            Phase::Regions => self.region_step(),
            Phase::SeenPage => self.seen_page_step(),
            Phase::Rows => self.rows_step(),
            Phase::Arena => self.arena_step(),
            Phase::Refs => self.refs_step(),
            Phase::Wheel => self.wheel_step(),
            Phase::Stats => self.stats_step(),
            Phase::Done => {}
        }
        self.progress()
    }

    /// Runs every step to the end and returns the report.
    pub fn run(mut self) -> Report {
        while !self.finished() {
            self.step();
        }
        self.into_report()
    }

    /// The report as far as it goes (complete once [`Verifier::finished`]).
    pub fn report(&self) -> Report {
        let mut r = Report::default();
        for part in self.parts() {
            r.findings.extend_from_slice(&part.findings);
            Self::count(&mut r, part);
        }
        r
    }

    /// The report, consuming the verifier.
    pub fn into_report(self) -> Report {
        let mut r = Report::default();
        let Verifier {
            open,
            slots,
            region_tail,
            columns,
            rows,
            arena,
            refs,
            wheel,
            seen,
            tail,
            ..
        } = self;
        for part in [open].into_iter().chain(slots).chain([
            region_tail,
            columns,
            rows,
            arena,
            refs,
            wheel,
            seen,
            tail,
        ]) {
            Self::count(&mut r, &part);
            r.findings.extend(part.findings);
        }
        r
    }

    fn count(r: &mut Report, part: &Report) {
        r.columns_checked += part.columns_checked;
        r.pages_checked += part.pages_checked;
        r.rows_checked.0 += part.rows_checked.0;
        r.rows_checked.1 += part.rows_checked.1;
    }

    fn parts(&self) -> impl Iterator<Item = &Report> {
        [&self.open].into_iter().chain(&self.slots).chain([
            &self.region_tail,
            &self.columns,
            &self.rows,
            &self.arena,
            &self.refs,
            &self.wheel,
            &self.seen,
            &self.tail,
        ])
    }

    fn stop(&mut self) {
        self.phase = Phase::Done;
    }

    fn rows_of(&self, t: Table) -> u64 {
        self.shape.as_ref().map_or(0, |s| match t {
            Table::Url => s.header.url_count,
            Table::Host => s.header.host_count,
        })
    }

    fn cursor(&self, t: Table, id: u64) -> Option<Cursor> {
        self.good
            .get(&(t as u8, id))
            .map(|(d, _)| Cursor::new(t, d.clone()))
    }

    fn plan(&self) -> &RegionPlan {
        self.plan.as_ref().expect("opened")
    }

    // ---------- phase 1 ----------

    fn open_step(&mut self) {
        let Some(shape) = read_shape_into(&self.src, self.tail_guess, &mut self.open.findings)
        else {
            return self.stop();
        };
        self.shape_trusted = self.open.is_ok();
        check_footer(&mut self.open, &shape);
        check_header(&mut self.open, &shape.header);
        if let Err(e) = check_declared_rows(&shape.header, shape.file_len, &self.ctx.limits) {
            self.open.err(e);
            self.shape = Some(shape);
            return self.stop();
        }
        let plan = self.region_directory(&shape);
        // The descriptor each table's columns are read through: the last of its id, when inside.
        let table_index = |id: u8| {
            plan.descs
                .iter()
                .rposition(|d| d.id == id)
                .filter(|&i| plan.inside[i])
        };
        let tables = [
            table_index(REGION_URL_TABLE),
            table_index(REGION_HOST_TABLE),
        ];
        for (t, i) in tables.iter().enumerate() {
            self.table_crc[t] = i.map(|i| RegionCrc::new(i, plan.descs[i]));
        }
        // Every region inside the data area is read once: the tables' through their columns,
        // the special regions with their pages, the rest for their CRCs alone.
        let special = [plan.schedule, plan.seenset, plan.blob];
        self.crc_jobs = (0..plan.descs.len())
            .filter(|&i| plan.inside[i])
            .filter(|i| !tables.contains(&Some(*i)) && !special.contains(&Some(*i)))
            .collect();
        let mut work: u64 = (0..plan.descs.len())
            .filter(|&i| plan.inside[i])
            .map(|i| plan.descs[i].length)
            .fold(0, u64::saturating_add);
        for table in [Table::Url, Table::Host] {
            self.col_jobs.push(ColJob::Missing(table));
            for i in 0..shape.footer.columns(table).len() {
                self.col_jobs.push(ColJob::Column(table, i));
            }
            self.col_jobs.push(ColJob::EndTable(table));
        }
        let h = &shape.header;
        work = work.saturating_add(8 * (2 * h.url_count + h.host_count));
        self.work_total = work.max(1);
        self.plan = Some(plan);
        self.shape = Some(shape);
        self.phase = Phase::Columns;
    }

    /// Every descriptor of the region directory (bounds, ids, overlaps), the table regions'
    /// presence, bytes no region accounts for and the header flags that announce regions. The
    /// CRCs come later, each into its descriptor's slot.
    fn region_directory(&mut self, shape: &Shape) -> RegionPlan {
        let footer_start = shape.footer_start;
        let flags = shape.header.flags;
        let descs = shape.footer.regions.clone();
        let mut plan = RegionPlan {
            inside: Vec::with_capacity(descs.len()),
            schedule: None,
            seenset: None,
            blob: None,
            descs: Vec::new(),
        };
        let mut seen: Vec<&RegionDesc> = Vec::new();
        for (i, d) in descs.iter().enumerate() {
            let mut r = Report::default();
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
                self.slots.push(r);
                plan.inside.push(false);
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
                            region_name(s.id),
                            s.offset,
                            s.offset + s.length
                        ))
                        .within(pl)
                        .at(d.offset),
                    );
                }
            }
            seen.push(d);
            self.slots.push(r);
            plan.inside.push(true);
            match d.id {
                REGION_SCHEDULE => plan.schedule = Some(i),
                REGION_SEENSET => plan.seenset = Some(i),
                REGION_STRING_BLOB => plan.blob = Some(i),
                _ => {}
            }
        }
        let r = &mut self.region_tail;
        for (id, name) in [
            (REGION_URL_TABLE, "url_table"),
            (REGION_HOST_TABLE, "host_table"),
        ] {
            if !descs.iter().any(|d| d.id == id) {
                r.err(
                    Error::corrupt(format!(
                        "the {name} region is missing from the region directory"
                    ))
                    .within(Place::Region(id)),
                );
            }
        }
        // Regions are written back to back from offset 64 to the footer.
        let mut sorted: Vec<&RegionDesc> = descs.iter().collect();
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
            (FLAG_SCHEDULE, plan.schedule.is_some(), "schedule"),
            (FLAG_SEENSET, plan.seenset.is_some(), "seenset"),
            (FLAG_BLOB, plan.blob.is_some(), "blob"),
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
        plan.descs = descs;
        plan
    }

    // ---------- phase 2 ----------

    fn column_step(&mut self) {
        if self.col.is_some() {
            return self.column_pages();
        }
        let Some(&job) = self.col_jobs.get(self.col_job) else {
            self.phase = Phase::Regions;
            return;
        };
        match job {
            ColJob::Missing(table) => {
                let shape = self.shape.as_ref().expect("opened");
                missing_columns(
                    table,
                    shape.footer.columns(table),
                    &mut self.columns.findings,
                );
            }
            ColJob::Column(table, i) => self.start_column(table, i),
            ColJob::EndTable(table) => {
                // The table region's bytes no column read, then its CRC.
                let slot = table as usize;
                if let Some(c) = &mut self.table_crc[slot] {
                    if !c.complete() {
                        let until = c.desc.offset + c.desc.length;
                        match c.fill(&self.src, until) {
                            Ok(n) => self.work_done += n,
                            Err(e) => {
                                c.failed = true;
                                self.slots[c.index].err(e);
                            }
                        }
                        return;
                    }
                }
                if let Some(c) = self.table_crc[slot].take() {
                    let index = c.index;
                    if let Some(e) = c.finish() {
                        self.slots[index].err(e);
                    }
                }
            }
        }
        self.col_job += 1;
    }

    fn start_column(&mut self, table: Table, i: usize) {
        let shape = self.shape.as_ref().expect("opened");
        let plan = self.plan.as_ref().expect("opened");
        let rows = self.rows_of(table);
        let dirs = shape.footer.columns(table);
        let dir = &dirs[i];
        let r = &mut self.columns;
        let Some(known) = directory_entry(table, dirs, i, &mut r.findings) else {
            return;
        };
        let pl = Place::Column {
            table,
            column: dir.column_id,
            page: None,
        };
        let (off, len) = match column_range(dir) {
            Ok(x) => x,
            Err(e) => return r.err(e.within(pl)),
        };
        let footer_start = shape.footer_start;
        if off < HEADER_LEN as u64 || off.saturating_add(len) > footer_start {
            return r.err(
                Error::corrupt(format!(
                    "pages at {off}..{} lie outside the data area {HEADER_LEN}..{footer_start}",
                    off.saturating_add(len)
                ))
                .within(pl)
                .at(dir.entry_offset),
            );
        }
        let region_id = match table {
            Table::Url => REGION_URL_TABLE,
            Table::Host => REGION_HOST_TABLE,
        };
        // The descriptor readers use (the last of the id), wherever it lies.
        let mut in_region = false;
        if let Some(reg) = plan.descs.iter().rev().find(|d| d.id == region_id) {
            let reg_end = reg.offset.saturating_add(reg.length);
            if off < reg.offset || off + len > reg_end {
                r.err(
                    Error::corrupt(format!(
                        "pages at {off}..{} are not inside the {} region {}..{reg_end}",
                        off + len,
                        table.name(),
                        reg.offset,
                    ))
                    .within(pl)
                    .at(dir.entry_offset),
                );
            } else {
                in_region = self.table_crc[table as usize].is_some();
            }
        }
        r.columns_checked += 1;
        r.pages_checked += dir.num_pages;
        if !check_dir(table, dir, known.then_some(rows), &mut r.findings) {
            return;
        }
        let due = (known && table == Table::Url && dir.column_id == url::NEXT_DUE).then(|| {
            let values = plan.schedule.map(|_| Vec::new());
            (DueSummary::default(), values)
        });
        self.col = Some(ColState {
            table,
            dir: dir.clone(),
            known,
            spans: dir.page_spans(),
            next: 0,
            in_region,
            check: ColumnCheck::new(table),
            due,
        });
    }

    fn column_pages(&mut self) {
        let c = self.col.as_mut().expect("a column under way");
        if c.next >= c.spans.len() {
            return self.end_column();
        }
        // A batch of whole pages, at least one, of at most STEP_BYTES stored and STEP_ROWS rows
        // (well-compressed pages decode to much more than they store).
        let first = c.next;
        let mut last = first;
        let mut len = c.spans[first].byte_len;
        let mut rows = c.spans[first].num_values;
        while let Some(next) = c.spans.get(last + 1) {
            if len + next.byte_len > STEP_BYTES || rows + next.num_values > STEP_ROWS {
                break;
            }
            last += 1;
            len += next.byte_len;
            rows += next.num_values;
        }
        let off = c.spans[first].offset;
        // Through the table region: the bytes before these pages first, for its CRC.
        let region = if c.in_region {
            self.table_crc[c.table as usize].as_mut()
        } else {
            None
        };
        if let Some(rc) = region {
            if !rc.failed && rc.gap_before(off) > 0 {
                match rc.fill(&self.src, off) {
                    Ok(n) => self.work_done += n,
                    Err(e) => {
                        rc.failed = true;
                        self.slots[rc.index].err(e);
                    }
                }
                return;
            }
        }
        let pl = Place::Column {
            table: c.table,
            column: c.dir.column_id,
            page: None,
        };
        let bytes = match read_range(&self.src, off, len, "column pages", pl) {
            Ok(b) => b,
            Err(e) => {
                let r = &mut self.columns;
                r.err(e);
                c.check.fail();
                c.next = c.spans.len();
                return;
            }
        };
        if c.in_region {
            if let Some(rc) = self.table_crc[c.table as usize].as_mut() {
                if !rc.failed {
                    rc.feed(off, &bytes);
                }
            }
        }
        self.work_done += len;
        c.check.bytes(&bytes);
        let pages = decode_pages(
            c.table,
            &c.dir,
            &c.spans[first..=last],
            &bytes,
            off,
            &self.ctx,
            &mut c.check.pages,
        );
        for p in &pages {
            c.check.page(p.as_ref());
            if let (Some((sum, values)), Some(Values::Int(v))) =
                (&mut c.due, p.as_ref().map(|p| &p.values))
            {
                for &x in v {
                    sum.add(x as u32);
                }
                if let Some(values) = values {
                    values.extend(v.iter().map(|&x| x as u32));
                }
            }
        }
        c.next = last + 1;
    }

    fn end_column(&mut self) {
        let c = self.col.take().expect("a column under way");
        let min_max = c.check.min_max();
        if !c.check.finish(&c.dir, &mut self.columns.findings) || !c.known {
            return;
        }
        if let Some((sum, values)) = c.due {
            self.due = Some(sum);
            self.next_due = values;
        }
        self.good
            .insert((c.table as u8, c.dir.column_id), (c.dir, min_max));
    }

    // ---------- phase 3 ----------

    fn region_step(&mut self) {
        if self.crc_job.is_none() {
            let Some(i) = self.crc_jobs.pop() else {
                self.phase = Phase::SeenPage;
                return;
            };
            let d = self.plan().descs[i];
            self.crc_job = Some(RegionCrc::new(i, d));
        }
        let c = self.crc_job.as_mut().expect("set above");
        if !c.complete() {
            match c.fill(&self.src, c.desc.offset + c.desc.length) {
                Ok(n) => self.work_done += n,
                Err(e) => {
                    c.failed = true;
                    self.slots[c.index].err(e);
                }
            }
            if !c.complete() {
                return;
            }
        }
        let c = self.crc_job.take().expect("set above");
        let index = c.index;
        if let Some(e) = c.finish() {
            self.slots[index].err(e);
        }
    }

    /// Reads special region `i` whole (its CRC into its slot) and decodes its page.
    fn special_page(&mut self, i: usize, kind: u8) -> Option<(PageHeader, Vec<u8>)> {
        let d = self.plan().descs[i];
        let bytes = match read_range(&self.src, d.offset, d.length, "region", Place::Region(d.id)) {
            Ok(b) => b,
            Err(e) => {
                self.slots[i].err(e);
                return None;
            }
        };
        self.work_done += d.length;
        if let Some(e) = region_crc_finding(&d, crate::crc::crc32c(&bytes)) {
            self.slots[i].err(e);
        }
        let out = if kind == KIND_SCHEDULE {
            &mut self.wheel
        } else {
            &mut self.seen
        };
        let page = decode_region_page(&bytes, &d, kind, &self.ctx, &mut out.findings);
        if page.is_some() && !bytes.is_empty() {
            out.pages_checked += 1;
        }
        page
    }

    // ---------- phase 4 ----------

    fn seen_page_step(&mut self) {
        self.phase = Phase::Rows;
        if let Some(i) = self.plan().seenset {
            if let Some((h, payload)) = self.special_page(i, KIND_FILTER) {
                let d = self.plan().descs[i];
                let urls = self.rows_of(Table::Url);
                let r = &mut self.seen;
                if u64::from(h.num_values) != urls {
                    r.warn(
                        Error::inconsistent(format!(
                            "seen-set page says {} values, the file has {urls} URL rows",
                            h.num_values
                        ))
                        .within(Place::SeenSet)
                        .at(d.offset + page_at::NUM_VALUES as u64),
                    );
                }
                match SeenFilter::parse(&payload) {
                    Err(e) => r.err(e.within(Place::SeenSet).at_if_unset(payload_at(&d, 0))),
                    Ok(f) => self.filter = Some(f),
                }
            }
        }
        let hk = self.cursor(Table::Url, url::HOST_KEY);
        let pk = self.cursor(Table::Url, url::PATH_KEY);
        let hosts = self.cursor(Table::Host, host::HOST_KEY);
        if let Some(h) = &hosts {
            self.rows.rows_checked.1 = self.rows_of(Table::Host);
            self.host_walk = Some((
                0,
                Cursor::new(Table::Host, h.dir.clone()),
                KeyCheck::new(&HOST_KEYS),
            ));
        }
        let Some(hk) = hk else { return };
        let filter = self.filter.take();
        let both = pk.is_some();
        if both {
            self.rows.rows_checked.0 = self.rows_of(Table::Url);
        }
        self.url_walk = Some(UrlWalk {
            row: 0,
            hk,
            keys: both.then(|| KeyCheck::new(&URL_KEYS)),
            pk,
            hosts: hosts.map(|c| (c, Coverage::default())),
            seen: filter.filter(|_| both).map(|f| {
                let bad = RowFindings::new(
                    Severity::Error,
                    "a URL key the seen-set filter does not contain",
                    Place::SeenSet,
                );
                (f, bad)
            }),
        });
    }

    // ---------- phase 5 ----------

    fn rows_step(&mut self) {
        let header = self.shape.as_ref().expect("opened").header;
        let urls = self.rows_of(Table::Url);
        let hosts = self.rows_of(Table::Host);
        let (src, ctx) = (&self.src, &self.ctx);
        if let Some(w) = &mut self.url_walk {
            let end = (w.row + STEP_ROWS).min(urls);
            let res = (|| -> Result<(), Error> {
                for i in w.row..end {
                    let hk = w.hk.get(src, ctx, i)?;
                    if let Some(pk) = &mut w.pk {
                        let key = (hk, pk.get(src, ctx, i)?);
                        if let Some(k) = &mut w.keys {
                            k.row(i, key, hk, &header);
                        }
                        if let Some((f, bad)) = &mut w.seen {
                            let (h, p) = key;
                            if !f.contains(UrlKey { host: h, path: p }) {
                                bad.push(|| {
                                    Error::corrupt(format!(
                                        "the seen-set filter does not contain URL key \
                                         0x{h:016x}:0x{p:016x}"
                                    ))
                                    .within(Place::Row {
                                        table: Table::Url,
                                        row: i,
                                    })
                                });
                            }
                        }
                    }
                    if let Some((hc, cov)) = &mut w.hosts {
                        if cov.prev != Some(hk) {
                            cov.prev = Some(hk);
                            while cov.j < hosts && hc.get(src, ctx, cov.j)? < hk {
                                cov.j += 1;
                            }
                            if cov.j >= hosts || hc.get(src, ctx, cov.j)? != hk {
                                cov.missing += 1;
                                cov.first.get_or_insert(i);
                            }
                        }
                    }
                }
                Ok(())
            })();
            self.work_done += 8 * (end - w.row);
            w.row = end;
            if let Err(e) = res {
                self.rows.err(e);
                w.row = urls;
                w.seen = None;
            }
            if w.row < urls {
                return;
            }
            let w = self.url_walk.take().expect("walking");
            if let Some(k) = w.keys {
                k.flush(&mut self.rows);
            }
            if let Some((f, bad)) = w.seen {
                drop(f);
                bad.flush(&mut self.seen);
            }
            if let Some((_, cov)) = w.hosts {
                // Reported after the host rows' own findings.
                self.url_walk = None;
                self.host_cov = Some(cov);
            }
            return;
        }
        if let Some((row, c, k)) = &mut self.host_walk {
            let end = (*row + STEP_ROWS).min(hosts);
            for i in *row..end {
                match c.get(src, ctx, i) {
                    Ok(key) => k.row(i, key, key, &header),
                    Err(e) => {
                        self.rows.err(e);
                        *row = hosts;
                        break;
                    }
                }
            }
            self.work_done += 8 * end.saturating_sub(*row);
            *row = (*row).max(end);
            if *row < hosts {
                return;
            }
            let (_, _, k) = self.host_walk.take().expect("walking");
            k.flush(&mut self.rows);
            return;
        }
        if let Some(cov) = self.host_cov.take() {
            cov.flush(&mut self.rows);
        }
        self.start_arena();
    }

    // ---------- phase 6 ----------

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
        let Some(i) = self.plan().blob else {
            // No blob region: every reference is checked against an empty arena.
            self.arena_len = Some(0);
            self.phase = Phase::Refs;
            return;
        };
        let d = self.plan().descs[i];
        self.arena_pass = Some(ArenaPass::new(i, d, self.ref_cols.is_empty()));
    }

    /// Gathers the next batch of references: a piece of the pass over the reference columns.
    fn gather_step(&mut self) {
        let (src, ctx) = (&self.src, &self.ctx);
        let a = self.arena_pass.as_mut().expect("arena pass");
        let total = a.refs.total;
        let batch_max = self.ref_batch;
        let mut g = a.gather.take().unwrap_or(Gather {
            col: 0,
            row: 0,
            cursor: None,
            buf: Vec::new(),
            hi: u64::MAX,
        });
        let Some(&(t, id)) = self.ref_cols.get(g.col) else {
            // The pass is complete: this is the next batch.
            let mut buf = g.buf;
            buf.sort_unstable();
            buf.dedup();
            match buf.last() {
                None => a.refs.gathered_all = true,
                Some(&last) => a.refs.gather_from = last + 1,
            }
            a.refs.batch = buf;
            a.refs.done_in_batch = 0;
            a.refs.check();
            return;
        };
        let (dir, range) = self.good.get(&(t as u8, id)).expect("a decoded column");
        let rows = dir.num_values;
        if range.is_none_or(|(_, max)| max < a.refs.gather_from) || g.row >= rows {
            g.col += 1;
            g.row = 0;
            g.cursor = None;
            a.gather = Some(g);
            return;
        }
        let cur = g.cursor.get_or_insert_with(|| Cursor::new(t, dir.clone()));
        let end = (g.row + STEP_ROWS).min(rows);
        for i in g.row..end {
            let r = match cur.get(src, ctx, i) {
                Ok(r) => r,
                Err(e) => {
                    self.arena.err(e);
                    a.decode_error = Some(Error::corrupt("the references could not be read"));
                    return;
                }
            };
            if r >= a.refs.gather_from && r < total && r < g.hi {
                g.buf.push(r);
                if g.buf.len() >= 2 * batch_max {
                    g.buf.sort_unstable();
                    g.buf.dedup();
                    if g.buf.len() > batch_max {
                        g.hi = g.buf[batch_max];
                        g.buf.truncate(batch_max);
                    }
                }
            }
        }
        self.work_done += 8 * (end - g.row);
        g.row = end;
        a.gather = Some(g);
    }

    fn arena_step(&mut self) {
        let a = self.arena_pass.as_mut().expect("arena pass");
        if a.checking() && a.refs.waiting() {
            return self.gather_step();
        }
        if a.checking() && a.pending_at < a.pending.len() {
            a.pump();
            return;
        }
        let d = a.desc;
        if a.read < d.length {
            // The page header alone first, so the first batch is gathered before any decoding.
            let n = if a.read == 0 {
                PAGE_HEADER_LEN as u64
            } else {
                STEP_BYTES
            }
            .min(d.length - a.read);
            let at = d.offset + a.read;
            match read_range(&self.src, at, n, "region", Place::Region(d.id)) {
                Ok(b) => {
                    let start = a.read;
                    a.read += n;
                    self.work_done += n;
                    a.take(&b, start, &self.ctx);
                    a.pump();
                }
                Err(e) => {
                    // The region could not be read: no page, no references checked.
                    self.slots[a.index].err(e);
                    self.arena_pass = None;
                    self.phase = Phase::Wheel;
                }
            }
            return;
        }
        if !a.released {
            a.release();
            return;
        }
        if a.checking() && !a.refs.gathered_all {
            // Every decoded byte is there: the batches still to gather are checked against the
            // end of the arena, which the window keeps.
            a.refs.check();
            a.refs.done_in_batch = a.refs.batch.len();
            return;
        }
        let index = a.index;
        let (region_err, page) = a.finish(&self.ctx);
        if let Some(e) = region_err {
            self.slots[index].err(e);
        }
        match page {
            Ok(len) => {
                if d.length > 0 {
                    self.arena.pages_checked += 1;
                }
                self.arena_len = Some(len);
                self.phase = Phase::Refs;
            }
            Err(e) => {
                self.arena.err(e);
                self.phase = Phase::Wheel;
            }
        }
    }

    // ---------- phase 7 ----------

    fn refs_step(&mut self) {
        let Some(len) = self.arena_len else {
            self.phase = Phase::Wheel;
            return;
        };
        let (ci, row, cursor, mut bad) = match self.ref_list.take() {
            Some(x) => x,
            None => {
                let Some(&(t, id)) = self.ref_cols.first() else {
                    self.phase = Phase::Wheel;
                    return;
                };
                (0, 0, None, ref_findings(t, id))
            }
        };
        let (t, id) = self.ref_cols[ci];
        let (dir, range) = self.good.get(&(t as u8, id)).expect("a decoded column");
        let rows = dir.num_values;
        if row < rows && range.is_some_and(|(_, max)| max > 0) {
            let mut cur = cursor.unwrap_or_else(|| Cursor::new(t, dir.clone()));
            let end = (row + STEP_ROWS).min(rows);
            let name = schema::spec(t, id).map_or("", |s| s.name);
            let broken = self.arena_pass.as_ref().map(|a| &a.refs.bad);
            for i in row..end {
                let rf = match cur.get(&self.src, &self.ctx, i) {
                    Ok(r) => r,
                    Err(e) => {
                        self.refs.err(e);
                        self.phase = Phase::Wheel;
                        return;
                    }
                };
                if rf == 0 {
                    continue;
                }
                let why = if rf >= len {
                    "is past the end of the arena"
                } else if broken.is_some_and(|b| b.contains(&rf)) {
                    "points at an entry that runs past the end of the arena"
                } else {
                    continue;
                };
                bad.push(|| {
                    Error::corrupt(format!("{name} {rf} {why} ({len} bytes)"))
                        .within(Place::Row { table: t, row: i })
                });
            }
            self.work_done += 8 * (end - row);
            self.ref_list = Some((ci, end, Some(cur), bad));
            return;
        }
        bad.flush(&mut self.refs);
        match self.ref_cols.get(ci + 1) {
            Some(&(t2, id2)) => self.ref_list = Some((ci + 1, 0, None, ref_findings(t2, id2))),
            None => self.phase = Phase::Wheel,
        }
    }

    // ---------- phase 8 ----------

    fn wheel_step(&mut self) {
        self.phase = Phase::Stats;
        // The arena's references are all judged: what is left of the pass goes.
        self.arena_pass = None;
        let Some(i) = self.plan().schedule else {
            return;
        };
        let Some((h, payload)) = self.special_page(i, KIND_SCHEDULE) else {
            return;
        };
        let d = self.plan().descs[i];
        let r = &mut self.wheel;
        let w = match Wheel::parse(&payload, payload_at(&d, 0)) {
            Err(e) => return r.err(e.within(Place::Schedule)),
            Ok(w) => w,
        };
        drop(payload);
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
        if let Some(nd) = self.next_due.take() {
            check_wheel(r, &w, &nd, &d);
        }
    }

    // ---------- phase 9 ----------

    fn stats_step(&mut self) {
        self.phase = Phase::Done;
        if let Some(shape) = &self.shape {
            super::check_stats(&mut self.tail, shape, self.due);
            check_meta(&mut self.tail, shape);
        }
    }
}

fn ref_findings(t: Table, id: u64) -> RowFindings {
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
