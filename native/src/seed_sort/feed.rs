//! The seeded tables as [`TableFeed`]s over spill files.
//!
//! A seeded row differs from its table's template row (`seed`'s priority, status and crawl
//! delay, everything else zero) only in its keys and its arena references (and, for a host,
//! its URL count). The layout spills just those, a fixed-size record per row; the feed builds
//! each page's rows from them with [`seeded_url`] / [`seeded_host`], the rules the in-memory
//! seeder uses, and lets the schema extract the column. So the pages are those of the
//! in-memory rows, and memory is one page of rows.

use crate::seed::{seeded_host, seeded_url};
use meguri_core::keys::UrlKey;
use meguri_core::schema::{host, url, HostRecord, Record, UrlRecord, Value, ValueKind};
use meguri_core::write::TableFeed;
use meguri_core::{Error, ErrorKind};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Spilled bytes of a URL row: host key, path key, `url_ref`.
const URL_ROW: usize = 24;
/// Spilled bytes of a host row: host key, `host_ref`, `url_count`.
const HOST_ROW: usize = 20;

/// One table's spilled rows being written.
pub struct RowSpill {
    out: BufWriter<File>,
    rows: u64,
}

impl RowSpill {
    /// A new spill in `dir`.
    pub fn new(dir: &Path, tag: &str) -> io::Result<RowSpill> {
        Ok(RowSpill {
            out: BufWriter::with_capacity(256 << 10, super::runs::temp_file(dir, tag)?),
            rows: 0,
        })
    }

    /// Appends a URL row.
    pub fn url(&mut self, key: UrlKey, url_ref: u64) -> io::Result<()> {
        self.rows += 1;
        self.out.write_all(&key.host.to_le_bytes())?;
        self.out.write_all(&key.path.to_le_bytes())?;
        self.out.write_all(&url_ref.to_le_bytes())
    }

    /// Appends a host row.
    pub fn host(&mut self, host_key: u64, host_ref: u64, url_count: u32) -> io::Result<()> {
        self.rows += 1;
        self.out.write_all(&host_key.to_le_bytes())?;
        self.out.write_all(&host_ref.to_le_bytes())?;
        self.out.write_all(&url_count.to_le_bytes())
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Ends writing; returns the file and its row count.
    pub fn finish(self) -> io::Result<(File, u64)> {
        let rows = self.rows;
        Ok((self.out.into_inner().map_err(|e| e.into_error())?, rows))
    }
}

/// Builds a row from its spilled bytes.
type BuildRow<R> = Box<dyn Fn(&[u8]) -> R + Send>;

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

/// A seeded table's rows, read back from its spill page by page.
pub struct SeededFeed<R: Record> {
    file: File,
    rows: u64,
    row_len: usize,
    /// The columns that differ from row to row; every other column is the template's.
    varying: &'static [u64],
    template: R,
    build: BuildRow<R>,
    buf: Vec<u8>,
    page: Vec<R>,
}

/// The URL table of a seed: rows `seeded_url(key, url_ref, priority)`.
pub fn urls(file: File, rows: u64, priority: f32) -> SeededFeed<UrlRecord> {
    SeededFeed {
        file,
        rows,
        row_len: URL_ROW,
        varying: &[url::HOST_KEY, url::PATH_KEY, url::URL_REF],
        template: seeded_url(UrlKey::default(), 0, priority),
        build: Box::new(move |b| {
            let key = UrlKey {
                host: le64(&b[0..]),
                path: le64(&b[8..]),
            };
            seeded_url(key, le64(&b[16..]), priority)
        }),
        buf: Vec::new(),
        page: Vec::new(),
    }
}

/// The host table of a seed: rows `seeded_host(key, host_ref, crawl_delay, url_count)`.
pub fn hosts(file: File, rows: u64, crawl_delay: u16) -> SeededFeed<HostRecord> {
    SeededFeed {
        file,
        rows,
        row_len: HOST_ROW,
        varying: &[
            host::HOST_KEY,
            host::HOST_REF,
            host::REGISTRABLE_REF,
            host::URL_COUNT,
        ],
        template: seeded_host(0, 0, crawl_delay, 0),
        build: Box::new(move |b| {
            let count = u32::from_le_bytes(b[16..20].try_into().expect("4 bytes"));
            seeded_host(le64(&b[0..]), le64(&b[8..]), crawl_delay, count)
        }),
        buf: Vec::new(),
        page: Vec::new(),
    }
}

impl<R: Record> SeededFeed<R> {
    /// Makes `page` rows `start..end`, reading the spill only when `column` varies.
    fn load(&mut self, column: u64, start: usize, end: usize) -> meguri_core::Result<()> {
        if start > end || end as u64 > self.rows {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!(
                    "rows {start}..{end} asked of a {} table of {} rows",
                    R::TABLE.name(),
                    self.rows
                ),
            ));
        }
        let n = end - start;
        self.page.clear();
        if !self.varying.contains(&column) {
            self.page.resize(n, self.template);
            return Ok(());
        }
        self.buf.resize(n * self.row_len, 0);
        self.file
            .read_exact_at(&mut self.buf, (start * self.row_len) as u64)
            .map_err(|e| {
                Error::new(
                    ErrorKind::Source,
                    format!("{} rows spill: {e}", R::TABLE.name()),
                )
            })?;
        self.page
            .extend(self.buf.chunks_exact(self.row_len).map(&self.build));
        Ok(())
    }
}

impl<R: Record> TableFeed for SeededFeed<R> {
    fn values(
        &mut self,
        spec: &meguri_core::schema::ColumnSpec,
        start: usize,
        end: usize,
        out: &mut Vec<u64>,
    ) -> meguri_core::Result<()> {
        self.load(spec.id, start, end)?;
        out.clear();
        R::extend_ints(&self.page, spec.id, out)
    }

    fn ip_bytes(&mut self, start: usize, end: usize, out: &mut Vec<u8>) -> meguri_core::Result<()> {
        out.clear();
        let wide = R::COLUMNS
            .iter()
            .find(|c| c.kind == ValueKind::Opaque)
            .and_then(|c| match self.template.get(c.id) {
                Some(Value::Wide(b)) => Some(b),
                _ => None,
            })
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Invalid,
                    format!("the {} table has no 16-byte column", R::TABLE.name()),
                )
            })?;
        self.load(u64::MAX, start, end)?;
        for _ in start..end {
            out.extend_from_slice(&wide);
        }
        Ok(())
    }
}
