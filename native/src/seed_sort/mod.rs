//! `seed` within a memory budget: parsed lines are keyed and held in a buffer of at most
//! `--memory` bytes; a full buffer is sorted, deduplicated and written out as a *run*; the runs
//! are merged (an external k-way merge) into the arena and the tables, which go through the
//! writer's streaming [`Encoder`] to the output.
//!
//! The result is the in-memory [`crate::seed::Seeder`]'s, byte for byte, whatever the budget:
//! - rows are ordered by key, and of lines with the same key the earliest wins: a run keeps
//!   its earliest line per key (its buffer is sorted by key, then by input position), and the
//!   merge prefers the earliest run (runs are cut from the input in order);
//! - a host's string is that of the earliest line naming its host key, by the same two rules;
//! - the arena is laid out in row order (each host's string, then its URLs' strings), and the
//!   rows are the seeder's ([`crate::seed::seeded_url`], [`crate::seed::seeded_host`]);
//! - the arena is compressed through the same [`ArenaZip`] stream with its exact length as the
//!   size hint, and stored raw when that does not pay, as the in-memory writer decides.
//!
//! Memory is the buffer (`--memory`), then the merge's read buffers (within the same budget),
//! one page of rows, zstd's windows and the input pipeline's blocks: nothing that grows with
//! the input. Runs, the raw and compressed arena and the tables' keys and references go to
//! temporary files in the output's directory (or `--tmp-dir`), unlinked as soon as they are
//! created, so none is left behind on success, failure or a kill. The output is written to a
//! temporary name beside it, fsynced and renamed: a failed seed leaves no partial file.

pub mod feed;
pub mod runs;

use crate::arena_zip::{ArenaZip, ARENA_PARAMS};
use crate::encode::EncodeSettings;
use crate::seed::ParsedBlock;
use crate::store::storage::{self, RealFs, StorageFile};
use meguri_core::bytes::put_uvarint;
use meguri_core::format::codec::{compression_pays, CZstd, CODEC_NONE, CODEC_ZSTD};
use meguri_core::keys::UrlKey;
use meguri_core::write::{Encoder, Plan, Sink, StoredBody, WriteOptions};
use meguri_core::{Error, ErrorKind};
use runs::{Run, RunWriter};
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `--memory`'s default: 512 MiB of sort buffer.
pub const DEFAULT_MEMORY: u64 = 512 << 20;

/// Parses a byte count: digits with an optional binary suffix `K`, `M`, `G` or `T` (each
/// 1024 times the one before), optionally followed by `iB` or `B`, in any case: `65536`,
/// `64K`, `512M`, `2GiB`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a byte count (try 512M or 2G)"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        _ => return Err(format!("`{s}`: unknown unit (use K, M, G or T)")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Why a budgeted seed failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SortError {
    /// One line alone needs more than the budget.
    #[error(
        "--memory {budget} bytes cannot hold one line: a URL of {url_len} bytes with its host \
         needs {needs} bytes; give seed more memory"
    )]
    Budget {
        /// The budget.
        budget: u64,
        /// What the line needs.
        needs: u64,
        /// Its URL's length.
        url_len: u64,
    },
    /// A temporary file in `dir` could not be written or read (a full disk, say).
    #[error("{}: temporary sort file: {source}", dir.display())]
    Temp {
        /// The temporary directory.
        dir: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The output could not be written.
    #[error(transparent)]
    Output(io::Error),
    /// The writer refused the result (a table or the arena too large for v1).
    #[error(transparent)]
    Format(Error),
}

/// How to seed within the budget.
#[derive(Debug, Clone)]
pub struct SortSettings {
    /// Bytes of sort buffer.
    pub memory: u64,
    /// Where temporary files go.
    pub tmp_dir: PathBuf,
    /// Priority of seeded URLs.
    pub priority: f32,
    /// Crawl delay of new hosts, deciseconds.
    pub crawl_delay: u16,
    /// Page and arena compression, rows per page.
    pub encoding: EncodeSettings,
}

/// What [`SortSeeder::finish`] is doing, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Merging `runs` sorted runs; `urls` rows laid out so far (0 while runs are merged into
    /// fewer).
    Merging {
        /// Runs written while reading.
        runs: u64,
        /// URL rows laid out.
        urls: u64,
    },
    /// Encoding the tables while the arena compresses.
    Encoding,
}

/// Wall-clock seconds of [`SortSeeder::finish`]'s phases.
#[derive(Debug, Clone, Copy, Default)]
pub struct FinishSeconds {
    /// Sorting the last run, merging runs, laying out the arena and the rows.
    pub layout: f64,
    /// Encoding the tables (the arena compresses beside them) and waiting for the arena.
    pub encode: f64,
    /// Copying the arena into the file, the footer, fsync and rename.
    pub write: f64,
}

/// What was written.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// URL rows.
    pub urls: u64,
    /// Host rows.
    pub hosts: u64,
    /// Sorted runs written to disk.
    pub runs: u64,
    /// Phases.
    pub seconds: FinishSeconds,
}

/// One accepted line in the buffer: its key and where its URL and host strings are.
#[derive(Debug, Clone, Copy)]
struct Row {
    key: UrlKey,
    /// Grows with input order, so it also breaks ties between equal keys.
    url_at: u64,
    host_at: u64,
    url_len: u32,
    host_len: u32,
}

/// Buffer bytes a row costs besides its strings.
const ROW_BYTES: u64 = std::mem::size_of::<Row>() as u64;

/// Lays out parsed lines within a memory budget and writes the partition file.
pub struct SortSeeder {
    settings: SortSettings,
    /// URL strings, and host strings where the host key changes from the line before.
    strings: Vec<u8>,
    rows: Vec<Row>,
    /// Host key and string span of the last host string stored.
    last_host: Option<(u64, u64, u32)>,
    runs: Vec<Run>,
    /// Non-empty lines read.
    pub lines: u64,
    /// Non-empty lines skipped.
    pub skipped: u64,
}

impl SortSeeder {
    /// A seeder with nothing read.
    pub fn new(settings: SortSettings) -> SortSeeder {
        SortSeeder {
            settings,
            strings: Vec::new(),
            rows: Vec::new(),
            last_host: None,
            runs: Vec::new(),
            lines: 0,
            skipped: 0,
        }
    }

    fn temp(&self) -> impl Fn(io::Error) -> SortError + '_ {
        |source| SortError::Temp {
            dir: self.settings.tmp_dir.clone(),
            source,
        }
    }

    /// Sorted runs written so far.
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// Takes a parsed block; blocks must come in input order. Writes a run whenever the
    /// buffer would pass the budget.
    pub fn push_block(&mut self, b: &ParsedBlock) -> Result<(), SortError> {
        self.lines += b.lines;
        self.skipped += b.skipped;
        let budget = self.settings.memory;
        for (key, url, host) in b.entries() {
            // Whether a line fits an empty buffer does not depend on what came before it.
            let worst = ROW_BYTES + url.len() as u64 + host.len() as u64;
            if worst > budget {
                return Err(SortError::Budget {
                    budget,
                    needs: worst,
                    url_len: url.len() as u64,
                });
            }
            let new_host = self.last_host.is_none_or(|(k, _, _)| k != key.host);
            let need = ROW_BYTES + url.len() as u64 + if new_host { host.len() as u64 } else { 0 };
            let used = self.strings.len() as u64 + self.rows.len() as u64 * ROW_BYTES;
            if used + need > budget {
                self.spill()?;
            }
            if self.last_host.is_none_or(|(k, _, _)| k != key.host) {
                self.last_host = Some((key.host, self.strings.len() as u64, host.len() as u32));
                self.strings.extend_from_slice(host);
            }
            let (_, host_at, host_len) = self.last_host.expect("set above");
            self.rows.push(Row {
                key,
                url_at: self.strings.len() as u64,
                host_at,
                url_len: url.len() as u32,
                host_len,
            });
            self.strings.extend_from_slice(url);
        }
        Ok(())
    }

    /// Sorts the buffer, writes it as a run and frees it.
    fn spill(&mut self) -> Result<(), SortError> {
        let mut rows = std::mem::take(&mut self.rows);
        let strings = std::mem::take(&mut self.strings);
        self.last_host = None;
        rows.sort_unstable_by_key(|r| (r.key, r.url_at));
        let s = |at: u64, len: u32| &strings[at as usize..at as usize + len as usize];
        let run = (|| {
            let mut w = RunWriter::new(&self.settings.tmp_dir)?;
            for (i, r) in rows.iter().enumerate() {
                if i == 0 || rows[i - 1].key != r.key {
                    w.put(r.key, s(r.url_at, r.url_len))?;
                }
            }
            w.hosts();
            // Each host key's string from its earliest line.
            let mut i = 0;
            while i < rows.len() {
                let host = rows[i].key.host;
                let mut first = rows[i];
                while i < rows.len() && rows[i].key.host == host {
                    if rows[i].url_at < first.url_at {
                        first = rows[i];
                    }
                    i += 1;
                }
                w.put(UrlKey { host, path: 0 }, s(first.host_at, first.host_len))?;
            }
            w.finish()
        })()
        .map_err(self.temp())?;
        self.runs.push(run);
        Ok(())
    }

    /// Writes what is left as a run, merges the runs, lays out and writes `out` atomically.
    pub fn finish(
        mut self,
        out: &Path,
        stage: &mut dyn FnMut(Stage),
    ) -> Result<Written, SortError> {
        let t = Instant::now();
        if self.runs.is_empty() || !self.rows.is_empty() {
            self.spill()?;
        }
        let run_count = self.runs.len() as u64;
        let runs = std::mem::take(&mut self.runs);
        let budget = self.settings.memory;
        let dir = self.settings.tmp_dir.clone();
        stage(Stage::Merging {
            runs: run_count,
            urls: 0,
        });
        let runs = runs::reduce(runs, &dir, budget, &mut |_| {
            stage(Stage::Merging {
                runs: run_count,
                urls: 0,
            })
        })
        .map_err(self.temp())?;
        let laid = self.layout(&runs, run_count, stage)?;
        drop(runs);
        let layout = t.elapsed().as_secs_f64();
        stage(Stage::Encoding);
        let mut encode = 0.0;
        let mut failure = None;
        let written = storage::write_atomic_with(&RealFs, out, |f| {
            self.write(f, &laid, &mut encode).map_err(|e| {
                failure = Some(e);
                io::Error::other("seed failed")
            })
        });
        if let Err(e) = written {
            return Err(failure.take().unwrap_or(SortError::Output(e)));
        }
        Ok(Written {
            urls: laid.urls.1,
            hosts: laid.hosts.1,
            runs: run_count,
            seconds: FinishSeconds {
                layout,
                encode,
                write: t.elapsed().as_secs_f64() - layout - encode,
            },
        })
    }

    /// Merges the runs into the raw arena and the tables' spills.
    fn layout(
        &self,
        runs: &[Run],
        run_count: u64,
        stage: &mut dyn FnMut(Stage),
    ) -> Result<Laid, SortError> {
        let temp = self.temp();
        let dir = &self.settings.tmp_dir;
        let (mut urls, mut hosts) = runs::open(runs, self.settings.memory).map_err(&temp)?;
        let mut arena = ArenaSpill {
            out: BufWriter::with_capacity(
                1 << 20,
                runs::temp_file(dir, "seed-arena").map_err(&temp)?,
            ),
            len: 0,
        };
        let mut url_rows = feed::RowSpill::new(dir, "seed-urls").map_err(&temp)?;
        let mut host_rows = feed::RowSpill::new(dir, "seed-hosts").map_err(&temp)?;
        let mut range: Option<(u64, u64)> = None;
        (|| -> io::Result<()> {
            // The arena's leading 00: no entry sits at offset 0.
            arena.out.write_all(&[0])?;
            arena.len = 1;
            while let Some((hk, host)) = hosts.next()? {
                let host_ref = arena.entry(host)?;
                let mut count = 0u32;
                while urls.peek_key()?.is_some_and(|k| k.host == hk.host) {
                    let Some((key, url)) = urls.next()? else {
                        break;
                    };
                    let url_ref = arena.entry(url)?;
                    url_rows.url(key, url_ref)?;
                    count = count.wrapping_add(1);
                    if url_rows.rows() % (1 << 16) == 0 {
                        stage(Stage::Merging {
                            runs: run_count,
                            urls: url_rows.rows(),
                        });
                    }
                }
                host_rows.host(hk.host, host_ref, count)?;
                range = Some((range.map_or(hk.host, |r| r.0), hk.host));
            }
            Ok(())
        })()
        .map_err(&temp)?;
        if let Some(k) = urls.peek_key().map_err(&temp)? {
            // Every run holds a host record for each host key of its URLs.
            return Err(SortError::Format(Error::new(
                ErrorKind::Invalid,
                format!("URL key {:#018x}/{:#018x} has no host row", k.host, k.path),
            )));
        }
        if arena.len > u64::from(u32::MAX) {
            return Err(SortError::Format(Error::new(
                ErrorKind::Limit,
                format!(
                    "the arena would be {} bytes, more than v1's 4 GiB page limit; seed \
                     fewer URLs per file",
                    arena.len
                ),
            )));
        }
        let raw_len = arena.len;
        let raw = arena.out.into_inner().map_err(|e| temp(e.into_error()))?;
        Ok(Laid {
            raw,
            raw_len,
            urls: url_rows.finish().map_err(&temp)?,
            hosts: host_rows.finish().map_err(&temp)?,
            range,
        })
    }

    /// Writes the file into `f` (a temporary the caller renames): the tables, while the arena
    /// compresses on a second thread, then the arena, the footer and the header. `encode`
    /// gets the seconds until the tables and the compressed arena are both done.
    fn write(&self, f: &dyn StorageFile, laid: &Laid, encode: &mut f64) -> Result<(), SortError> {
        let t = Instant::now();
        let temp = self.temp();
        let enc_settings = &self.settings.encoding;
        let zip = ArenaZip {
            level: enc_settings.arena_level,
            params: ARENA_PARAMS,
        };
        let pages = CZstd::new(enc_settings.level);
        let opts = WriteOptions {
            page_rows: enc_settings.page_rows,
            ..WriteOptions::default()
        };
        let (lo, hi) = laid.range.unwrap_or((0, u64::MAX));
        let plan = Plan {
            id: 1,
            hostkey_lo: lo,
            hostkey_hi: hi,
            created_hours: 0,
            url_count: laid.urls.1,
            host_count: laid.hosts.1,
            schedule_base: None,
            ext: [false; 2],
        };
        let clone = |f: &File| f.try_clone().map_err(&temp);
        let mut url_feed = feed::urls(clone(&laid.urls.0)?, laid.urls.1, self.settings.priority);
        let mut host_feed = feed::hosts(
            clone(&laid.hosts.0)?,
            laid.hosts.1,
            self.settings.crawl_delay,
        );
        let zipped = runs::temp_file(&self.settings.tmp_dir, "seed-arena-zst").map_err(&temp)?;
        let failed = Cell::new(None);
        let sink = OutSink {
            file: f,
            buf: Vec::with_capacity(OUT_BUF),
            at: 0,
            failed: &failed,
        };
        let fail = |e: Error| match failed.take() {
            Some(io) => SortError::Output(io),
            None => SortError::Format(e),
        };
        std::thread::scope(|scope| {
            let raw = &laid.raw;
            let raw_len = laid.raw_len;
            let job = scope.spawn(move || compress(raw, raw_len, zip, zipped));
            let tables = Encoder::new(sink, plan, opts, &pages).and_then(|mut enc| {
                enc.tables(&mut url_feed, &mut host_feed)?;
                Ok(enc)
            });
            let compressed = job.join().expect("the arena thread does not panic");
            let mut enc = tables.map_err(fail)?;
            let (zipped, c) = compressed.map_err(&temp)?;
            *encode = t.elapsed().as_secs_f64();
            if c.raw_len != raw_len {
                return Err(SortError::Format(Error::new(
                    ErrorKind::Invalid,
                    format!("the arena thread read {} of {raw_len} bytes", c.raw_len),
                )));
            }
            // Stored raw when compressing does not pay, as the in-memory writer decides.
            let (body, src, len) = if compression_pays(raw_len, c.len) {
                let body = StoredBody {
                    codec: CODEC_ZSTD,
                    raw_len,
                    len: c.len,
                    crc: c.crc,
                };
                (body, &zipped, c.len)
            } else {
                let body = StoredBody {
                    codec: CODEC_NONE,
                    raw_len,
                    len: raw_len,
                    crc: c.raw_crc,
                };
                (body, raw, raw_len)
            };
            enc.begin_arena(body).map_err(fail)?;
            let mut buf = vec![0u8; 1 << 20];
            let mut at = 0u64;
            while at < len {
                let n = (len - at).min(buf.len() as u64) as usize;
                src.read_exact_at(&mut buf[..n], at).map_err(&temp)?;
                enc.arena_body(&buf[..n]).map_err(fail)?;
                at += n as u64;
            }
            enc.end_arena().map_err(fail)?;
            let (mut sink, header) = enc.finish(&[]).map_err(fail)?;
            sink.flush().map_err(SortError::Output)?;
            f.write_all_at(&header, 0).map_err(SortError::Output)
        })
    }
}

/// What the layout left for the writer.
struct Laid {
    /// The raw arena, and its length.
    raw: File,
    raw_len: u64,
    /// The URL and host rows' spills, with their row counts.
    urls: (File, u64),
    hosts: (File, u64),
    /// The lowest and highest host key, when there is a host.
    range: Option<(u64, u64)>,
}

/// The raw arena being laid out on disk.
struct ArenaSpill {
    out: BufWriter<File>,
    len: u64,
}

impl ArenaSpill {
    /// Appends an entry (`uvarint len ‖ bytes`); returns its offset.
    fn entry(&mut self, bytes: &[u8]) -> io::Result<u64> {
        let at = self.len;
        let mut head = Vec::with_capacity(10);
        put_uvarint(&mut head, bytes.len() as u64);
        self.out.write_all(&head)?;
        self.out.write_all(bytes)?;
        self.len += (head.len() + bytes.len()) as u64;
        Ok(at)
    }
}

/// Compresses `raw_len` bytes of `raw` into `out` with the arena's stream; returns the file
/// and what was written.
fn compress(
    raw: &File,
    raw_len: u64,
    zip: ArenaZip,
    out: File,
) -> io::Result<(File, crate::arena_zip::Compressed)> {
    let mut enc = zip.encoder(raw_len, BufWriter::with_capacity(1 << 20, out))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    while at < raw_len {
        let n = (raw_len - at).min(buf.len() as u64) as usize;
        raw.read_exact_at(&mut buf[..n], at)?;
        enc.write_all(&buf[..n])?;
        at += n as u64;
    }
    let (w, c) = enc.finish()?;
    Ok((w.into_inner().map_err(|e| e.into_error())?, c))
}

/// Bytes the output sink gathers before a write.
const OUT_BUF: usize = 1 << 20;

/// The writer's [`Sink`] over the output's temporary file. An I/O error is kept in `failed`
/// (the writer's error type cannot carry it) so the caller reports the system's own error.
struct OutSink<'a> {
    file: &'a dyn StorageFile,
    buf: Vec<u8>,
    at: u64,
    failed: &'a Cell<Option<io::Error>>,
}

impl OutSink<'_> {
    fn flush(&mut self) -> io::Result<()> {
        self.file.write_all_at(&self.buf, self.at)?;
        self.at += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

impl Sink for OutSink<'_> {
    fn put(&mut self, bytes: &[u8]) -> meguri_core::Result<()> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= OUT_BUF {
            if let Err(e) = self.flush() {
                let msg = format!("write: {e}");
                self.failed.set(Some(e));
                return Err(Error::new(ErrorKind::Source, msg));
            }
        }
        Ok(())
    }
}
