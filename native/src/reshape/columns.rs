//! Column values of input files, streamed page by page over row ranges, and the feeds that hand
//! them to the writer's [`Encoder`](meguri_core::write::Encoder) with dropped rows left out
//! and arena references replaced by their new values.
//!
//! Invariant: at most one decoded page per open column stream is held; pages are read with
//! their CRCs checked by the core reader.

use super::spill::SpillReader;
use super::{Input, Segment};
use meguri_core::format::footer::PageSpan;
use meguri_core::reader::Reader;
use meguri_core::records::Values;
use meguri_core::schema::{host, ColumnSpec};
use meguri_core::write::TableFeed;
use meguri_core::{Error, ErrorKind, Table};
use std::ops::Range;

use crate::fsource::FileSource;

/// One column of one input, read forward over a row range.
pub struct ColumnStream<'r> {
    reader: &'r Reader<FileSource>,
    table: Table,
    id: u64,
    spans: Vec<PageSpan>,
    /// Index of the page held in `vals`/`wide` (or, before the first load, the page to load).
    page: usize,
    loaded: bool,
    vals: Vec<u64>,
    wide: Vec<[u8; 16]>,
    /// Row of the held page's first value, and how many it holds.
    first: u64,
    held: u64,
    /// Next row to give.
    row: u64,
    end: u64,
}

impl<'r> ColumnStream<'r> {
    /// A stream of column `id` of `table` over `rows`.
    pub fn new(
        reader: &'r Reader<FileSource>,
        table: Table,
        id: u64,
        rows: Range<u64>,
    ) -> meguri_core::Result<Self> {
        let dir = reader.column_dir(table, id)?;
        // The directory's own rules (pages add up to the table's rows, skip-list rows follow
        // on), checked once here since pages are then read one by one.
        let mut findings = Vec::new();
        if !meguri_core::column::check_dir(table, dir, Some(reader.rows(table)), &mut findings) {
            if let Some(f) = findings
                .into_iter()
                .find(|f| f.severity == meguri_core::Severity::Error)
            {
                return Err(f.error);
            }
        }
        let spans = dir.page_spans();
        // The page holding the first row: the last one starting at or before it.
        let page = spans
            .partition_point(|s| s.first_row <= rows.start)
            .saturating_sub(1);
        Ok(ColumnStream {
            reader,
            table,
            id,
            spans,
            page,
            loaded: false,
            vals: Vec::new(),
            wide: Vec::new(),
            first: 0,
            held: 0,
            row: rows.start,
            end: rows.end,
        })
    }

    /// Rows left.
    pub fn left(&self) -> u64 {
        self.end - self.row
    }

    /// Makes the held page the one holding `self.row`, reading forward page by page.
    fn load(&mut self) -> meguri_core::Result<()> {
        while !(self.first..self.first.saturating_add(self.held)).contains(&self.row) {
            if self.loaded {
                self.page += 1;
            }
            if self.page >= self.spans.len() {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!(
                        "{} column {} has no page holding row {}",
                        self.table.name(),
                        self.id,
                        self.row
                    ),
                ));
            }
            let span = self.spans[self.page];
            // Each page must start where the rows before it end (the first one at or before
            // the first row wanted), or the columns would drift apart.
            let follows = if self.loaded {
                self.first.checked_add(self.held) == Some(span.first_row)
            } else {
                span.first_row <= self.row
            };
            if !follows {
                return Err(Error::new(
                    ErrorKind::Corrupt,
                    format!(
                        "{} column {} page {} starts at row {}, not where the rows before it end",
                        self.table.name(),
                        self.id,
                        self.page,
                        span.first_row
                    ),
                ));
            }
            let p = self.reader.read_span(self.table, self.id, span)?;
            self.loaded = true;
            self.first = span.first_row;
            match p.values {
                Values::Int(v) => {
                    self.held = v.len() as u64;
                    self.vals = v;
                }
                Values::Wide(v) => {
                    self.held = v.len() as u64;
                    self.wide = v;
                }
            }
        }
        Ok(())
    }

    /// The error for a column whose values are not of the kind asked for.
    fn not_a(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Corrupt,
            format!("{} column {} is not {what}", self.table.name(), self.id),
        )
    }

    /// The next row's value from the held page's `held` values.
    fn next_of<T: Copy>(&mut self, held: fn(&Self) -> &[T], what: &str) -> meguri_core::Result<T> {
        self.load()?;
        let v = held(self)
            .get((self.row - self.first) as usize)
            .copied()
            .ok_or_else(|| self.not_a(what))?;
        self.row += 1;
        Ok(v)
    }

    /// The next row's value.
    pub fn take(&mut self) -> meguri_core::Result<u64> {
        self.next_of(|s| &s.vals, "integer-valued")
    }

    /// The next row's 16-byte value.
    pub fn next_wide(&mut self) -> meguri_core::Result<[u8; 16]> {
        self.next_of(|s| &s.wide, "16 bytes wide")
    }

    /// The next row's value, left to be taken again.
    pub fn peek(&mut self) -> meguri_core::Result<u64> {
        let v = self.take()?;
        self.row -= 1;
        Ok(v)
    }

    /// Appends up to `max` of the next rows' values (stopping at the end of the held page or of
    /// the range); returns how many.
    pub fn take_into(&mut self, max: u64, out: &mut Vec<u64>) -> meguri_core::Result<u64> {
        if max == 0 || self.left() == 0 {
            return Ok(0);
        }
        self.load()?;
        let at = (self.row - self.first) as usize;
        let n = max.min(self.left()).min(self.held - at as u64) as usize;
        let vals = self
            .vals
            .get(at..at + n)
            .ok_or_else(|| self.not_a("integer-valued"))?;
        out.extend_from_slice(vals);
        self.row += n as u64;
        Ok(n as u64)
    }
}

/// A bit per row: whether a URL row survives.
#[derive(Debug, Clone, Default)]
pub struct Bits(Vec<u64>);

impl Bits {
    /// Appends a bit.
    pub fn push(&mut self, i: u64, on: bool) {
        if i.is_multiple_of(64) {
            self.0.push(0);
        }
        if on {
            *self.0.last_mut().expect("pushed above") |= 1 << (i % 64);
        }
    }
    /// Bit `i`.
    pub fn get(&self, i: u64) -> bool {
        self.0[(i / 64) as usize] >> (i % 64) & 1 == 1
    }
}

/// One output table's rows: the segments' rows in order, dropped rows left out, arena
/// references read from the walk's spills.
pub struct SegmentsFeed<'a> {
    pub inputs: &'a [Input],
    pub segments: &'a [Segment],
    pub table: Table,
    /// Per segment, which URL rows survive (`None`: all).
    pub keep: &'a [Option<Bits>],
    /// The new reference columns, by column id.
    pub refs: Vec<(u64, SpillReader)>,
    /// The column being fed and where it stands.
    state: Option<(usize, ColumnStream<'a>)>,
}

impl<'a> SegmentsFeed<'a> {
    /// A feed of `table`'s rows.
    pub fn new(
        inputs: &'a [Input],
        segments: &'a [Segment],
        table: Table,
        keep: &'a [Option<Bits>],
        refs: Vec<(u64, SpillReader)>,
    ) -> Self {
        SegmentsFeed {
            inputs,
            segments,
            table,
            keep,
            refs,
            state: None,
        }
    }

    fn stream(&self, seg: usize, id: u64) -> meguri_core::Result<ColumnStream<'a>> {
        let s = &self.segments[seg];
        let rows = match self.table {
            Table::Url => s.urls.clone(),
            Table::Host => s.hosts.clone(),
        };
        ColumnStream::new(&self.inputs[s.input].reader, self.table, id, rows)
    }

    /// Positions the feed on a row of column `id` that is left to read: a fresh stream at the
    /// column's first row, then the next segment whenever one runs out.
    fn ready(&mut self, id: u64, start: usize) -> meguri_core::Result<()> {
        if start == 0 || self.state.is_none() {
            self.state = Some((0, self.stream(0, id)?));
        }
        loop {
            let seg = match &self.state {
                Some((seg, stream)) if stream.left() == 0 => *seg,
                _ => return Ok(()),
            };
            if seg + 1 >= self.segments.len() {
                return Err(Error::new(
                    ErrorKind::Invalid,
                    format!("the inputs ran out of {} rows", self.table.name()),
                ));
            }
            self.state = Some((seg + 1, self.stream(seg + 1, id)?));
        }
    }

    /// Appends the next `n` values of column `id` when every row survives.
    fn copy_all(
        &mut self,
        id: u64,
        start: usize,
        n: usize,
        out: &mut Vec<u64>,
    ) -> meguri_core::Result<()> {
        let mut got = 0u64;
        while got < n as u64 {
            self.ready(id, if got == 0 { start } else { 1 })?;
            let (_, stream) = self.state.as_mut().expect("ready sets it");
            got += stream.take_into(n as u64 - got, out)?;
        }
        Ok(())
    }

    /// Calls `take` on each surviving row of column `id` (and `skip` on each dropped one)
    /// until `n` rows were taken.
    fn pull(
        &mut self,
        id: u64,
        start: usize,
        n: usize,
        mut take: impl FnMut(&mut ColumnStream<'a>) -> meguri_core::Result<()>,
        mut skip: impl FnMut(&mut ColumnStream<'a>) -> meguri_core::Result<()>,
    ) -> meguri_core::Result<()> {
        let mut got = 0;
        let mut first = true;
        while got < n {
            self.ready(id, if first { start } else { 1 })?;
            first = false;
            let (seg, stream) = self.state.as_mut().expect("ready sets it");
            let keep = match (self.keep.get(*seg), self.table) {
                (Some(Some(bits)), Table::Url) => {
                    bits.get(stream.row - self.segments[*seg].urls.start)
                }
                _ => true,
            };
            if keep {
                take(stream)?;
                got += 1;
            } else {
                skip(stream)?;
            }
        }
        Ok(())
    }
}

impl TableFeed for SegmentsFeed<'_> {
    fn values(
        &mut self,
        spec: &ColumnSpec,
        start: usize,
        end: usize,
        out: &mut Vec<u64>,
    ) -> meguri_core::Result<()> {
        out.clear();
        if let Some((_, spill)) = self.refs.iter_mut().find(|(id, _)| *id == spec.id) {
            for _ in start..end {
                out.push(
                    spill.read_u64().map_err(|e| {
                        Error::new(ErrorKind::Source, format!("reference spill: {e}"))
                    })?,
                );
            }
            return Ok(());
        }
        if self.keep.iter().all(Option::is_none) {
            // Nothing is dropped: copy page slices.
            return self.copy_all(spec.id, start, end - start, out);
        }
        let mut vals = std::mem::take(out);
        let r = self.pull(
            spec.id,
            start,
            end - start,
            |s| {
                vals.push(s.take()?);
                Ok(())
            },
            |s| s.take().map(|_| ()),
        );
        *out = vals;
        r
    }

    fn ip_bytes(&mut self, start: usize, end: usize, out: &mut Vec<u8>) -> meguri_core::Result<()> {
        out.clear();
        let mut bytes = std::mem::take(out);
        let r = self.pull(
            host::RESOLVED_IP,
            start,
            end - start,
            |s| {
                bytes.extend_from_slice(&s.next_wide()?);
                Ok(())
            },
            |s| s.next_wide().map(|_| ()),
        );
        *out = bytes;
        r
    }
}
