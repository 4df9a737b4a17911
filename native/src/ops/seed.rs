//! `seed`: a partition file from Common Crawl CDX JSONL (plain or zstd-compressed), written
//! atomically.
//!
//! Three stages overlap: a thread reads (and decompresses) the input into blocks of whole
//! lines, `PARSERS` threads parse blocks, and the calling thread hands parsed blocks to the
//! [`SortSeeder`] in input order, which sorts them within `--memory` (spilling sorted runs to
//! temporary files when they do not fit) and then merges and encodes them. The output does not
//! depend on the threads or the budget.

use super::{display_path, Error, InputError, IoAction, Op, Progress, Result, Step};
use crate::encode::EncodeSettings;
use crate::seed::{parse_block, ParsedBlock, Seeder};
use crate::seed_sort::{SortError, SortSeeder, SortSettings, Stage};
use meguri_core::reader::Reader;
use serde::Serialize;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Longest line accepted (the reference's scanner limit).
pub const MAX_LINE: usize = 16 << 20;
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Where the CDX lines come from. zstd input is recognised by its magic either way.
pub enum SeedInput {
    /// A file.
    Path(PathBuf),
    /// An open stream (the CLI's stdin), named for messages.
    Stream {
        /// How messages name it (`<stdin>`).
        name: String,
        /// The bytes.
        reader: Box<dyn Read + Send>,
    },
}

impl SeedInput {
    /// How messages name the input.
    pub fn name(&self) -> String {
        match self {
            SeedInput::Path(p) => p.display().to_string(),
            SeedInput::Stream { name, .. } => name.clone(),
        }
    }

    /// The input's lines' bytes, looking through zstd compression.
    fn open(self) -> std::io::Result<Box<dyn Read + Send>> {
        let raw: Box<dyn Read + Send> = match self {
            SeedInput::Path(p) => Box::new(std::fs::File::open(p)?),
            SeedInput::Stream { reader, .. } => reader,
        };
        let mut buf = BufReader::with_capacity(1 << 20, raw);
        if buf.fill_buf()?.starts_with(&ZSTD_MAGIC) {
            // The decoder writes straight into the reader's blocks: no buffer in between.
            return Ok(Box::new(zstd::stream::read::Decoder::with_buffer(buf)?));
        }
        Ok(Box::new(buf))
    }
}

/// How to seed.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// The `.meguri` file to write.
    pub out: PathBuf,
    /// Priority of seeded URLs.
    pub priority: f32,
    /// Crawl delay of new hosts, deciseconds.
    pub crawl_delay: u16,
    /// Page and arena compression, rows per page.
    pub encoding: EncodeSettings,
    /// Bytes of sort buffer ([`crate::seed_sort::DEFAULT_MEMORY`] by default): input beyond it
    /// is sorted in runs on disk and merged.
    pub memory: u64,
    /// Where temporary files go (the output's directory when `None`).
    pub tmp_dir: Option<PathBuf>,
}

/// Wall-clock seconds of each phase, rounded to 0.1 ms.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct SeedSeconds {
    /// Reading and parsing every line (and writing the sorted runs that did not fit).
    pub read_and_parse: f64,
    /// Sorting and merging rows and laying out the arena.
    pub layout: f64,
    /// Encoding the tables while the arena compresses.
    pub encode: f64,
    /// Writing the arena and the footer, fsync and rename.
    pub write: f64,
    /// All of it.
    pub total: f64,
}

/// What was written.
///
/// JSON: `{out, urls, lines, skipped, bytes, bytes_per_url, memory, runs, seconds{...}}`.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    /// The file written.
    #[serde(serialize_with = "display_path")]
    pub out: PathBuf,
    /// URL rows.
    pub urls: usize,
    /// Non-empty lines read.
    pub lines: u64,
    /// Lines skipped (not a CDX object with a URL and a host).
    pub skipped: u64,
    /// File size.
    pub bytes: usize,
    /// The STATS section's bytes per URL.
    pub bytes_per_url: Option<f32>,
    /// The sort buffer's budget, bytes.
    pub memory: u64,
    /// Sorted runs written to temporary files (1 when the input fit the budget).
    pub runs: u64,
    /// Time per phase.
    pub seconds: SeedSeconds,
}

impl fmt::Display for SeedReport {
    /// The reference's summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seeded {} urls ({} lines skipped) into {}, {} bytes",
            self.urls,
            self.skipped,
            self.out.display(),
            self.bytes
        )
    }
}

/// A numbered block of whole lines from the reading thread, or the error that ended input.
type Block = (u64, std::result::Result<Vec<u8>, InputError>);

/// Threads parsing blocks of input (the reading thread decompresses beside them).
const PARSERS: usize = 2;

/// Input is handed from the reading thread to the parsers in blocks of about this size, each
/// ending at a line boundary.
const BLOCK: usize = 4 << 20;

/// CDX lines read into a partition (sorted rows, laid-out arena), as `seed`, `run --seed` and
/// `bench` take them.
pub struct Seeded {
    /// The partition: id 1, created 0, range = the smallest and largest host key.
    pub partition: meguri_core::partition::Partition,
    /// Non-empty lines read.
    pub lines: u64,
    /// Lines skipped.
    pub skipped: u64,
    /// Time spent reading and parsing.
    pub parse: Duration,
    /// Time spent ordering rows and laying out the arena.
    pub layout: Duration,
}

/// Reads `input` for `op`: new URLs get `priority`, new hosts `crawl_delay` deciseconds.
/// `progress` hears how many lines are read.
pub fn read_cdx(
    op: Op,
    input: SeedInput,
    priority: f32,
    crawl_delay: u16,
    progress: &mut dyn Progress,
) -> Result<Seeded> {
    let mut seeder = Seeder::new(priority, crawl_delay);
    let started = Instant::now();
    let never: std::result::Result<(), std::convert::Infallible> =
        parse_blocks(op, input, progress, &mut |b| {
            seeder.push_block(b);
            Ok(seeder.lines)
        })?;
    let Ok(()) = never;
    let (skipped, lines) = (seeder.skipped, seeder.lines);
    let parse = started.elapsed();
    let partition = seeder.finish();
    Ok(Seeded {
        partition,
        lines,
        skipped,
        parse,
        layout: started.elapsed() - parse,
    })
}

/// Seeds `opts.out` from `input`. `progress` hears how many lines are read, how the merge
/// goes, and when encoding starts.
pub fn seed(
    input: SeedInput,
    opts: &SeedOptions,
    progress: &mut dyn Progress,
) -> Result<SeedReport> {
    let tmp_dir = opts
        .tmp_dir
        .clone()
        .unwrap_or_else(|| crate::store::storage::parent_of(&opts.out));
    let sort_err = |e: SortError| match e {
        SortError::Budget { .. } => Error::Usage {
            op: Op::Seed,
            message: e.to_string(),
        },
        SortError::Temp { dir, source } => Error::io(
            Op::Seed,
            &dir,
            IoAction::Write,
            std::io::Error::new(source.kind(), format!("temporary sort file: {source}")),
        ),
        SortError::Output(e) => Error::io(Op::Seed, &opts.out, IoAction::Write, e),
        SortError::Format(e) => Error::format(Op::Seed, &opts.out, e),
    };
    let mut seeder = SortSeeder::new(SortSettings {
        memory: opts.memory,
        tmp_dir,
        priority: opts.priority,
        crawl_delay: opts.crawl_delay,
        encoding: opts.encoding,
    });
    let started = Instant::now();
    parse_blocks(Op::Seed, input, progress, &mut |b| {
        seeder.push_block(&b).map(|()| seeder.lines)
    })?
    .map_err(sort_err)?;
    let (skipped, lines) = (seeder.skipped, seeder.lines);
    let t_parse = started.elapsed();
    let written = seeder
        .finish(&opts.out, &mut |stage| {
            let step = match stage {
                Stage::Merging { runs, urls } => Step::Merging { runs, urls },
                Stage::Encoding => Step::Encoding { lines },
            };
            progress.step(Op::Seed, step);
        })
        .map_err(sort_err)?;
    progress.step(Op::Seed, Step::Done);
    // The size and the stats are read back from the file, as a reader sees them.
    let bytes = std::fs::metadata(&opts.out)
        .map_err(|e| Error::io(Op::Seed, &opts.out, IoAction::Read, e))?
        .len();
    let bytes_per_url = crate::fsource::FileSource::open(&opts.out)
        .ok()
        .and_then(|src| Reader::open(src).ok())
        .and_then(|r| r.footer().stats.map(|s| s.bytes_per_url));
    let secs = |s: f64| (s * 1e4).round() / 1e4;
    let w = written.seconds;
    let parse = t_parse.as_secs_f64();
    Ok(SeedReport {
        out: opts.out.clone(),
        urls: written.urls as usize,
        lines,
        skipped,
        bytes: bytes as usize,
        bytes_per_url,
        memory: opts.memory,
        runs: written.runs,
        seconds: SeedSeconds {
            read_and_parse: secs(parse),
            layout: secs(w.layout),
            encode: secs(w.encode),
            write: secs(w.write),
            total: secs(parse + w.layout + w.encode + w.write),
        },
    })
}

/// Reads `input` for `op` and parses it on [`PARSERS`] threads, handing the parsed blocks to
/// `take` in input order. `take` answers the lines read so far (for `progress`), or an error
/// that stops the reading: the outer result is the input's error, the inner one `take`'s.
/// The channel back from the parsers is bounded, so parsing waits while `take` works (a
/// budgeted seed writing a sorted run).
fn parse_blocks<E>(
    op: Op,
    input: SeedInput,
    progress: &mut dyn Progress,
    take: &mut dyn FnMut(ParsedBlock) -> std::result::Result<u64, E>,
) -> Result<std::result::Result<(), E>> {
    let name = input.name();
    let input_err = |source: InputError| Error::Input {
        op,
        input: name.clone(),
        source,
    };
    let stream = input.open().map_err(|e| input_err(e.into()))?;
    let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let (blocks, reader) = spawn_reader(stream, recycle_rx);
    let blocks = std::sync::Mutex::new(blocks);
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<(
        u64,
        std::result::Result<ParsedBlock, InputError>,
    )>(PARSERS);
    let mut input_error = None;
    let mut take_error = None;
    std::thread::scope(|scope| {
        for _ in 0..PARSERS {
            let (blocks, done_tx, recycle) = (&blocks, done_tx.clone(), recycle_tx.clone());
            scope.spawn(move || loop {
                // A parser that panicked poisons the queue; the others stop rather than go on
                // without its block, and the panic surfaces when the scope joins.
                let Ok(queue) = blocks.lock() else { return };
                let Ok((index, block)) = queue.recv() else {
                    return;
                };
                drop(queue);
                let parsed = block.map(|b| {
                    let parsed = parse_block(&b);
                    let _ = recycle.send(b);
                    parsed
                });
                if done_tx.send((index, parsed)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        drop(recycle_tx);
        let mut waiting = std::collections::BTreeMap::new();
        let mut next = 0u64;
        // Ends early on `take`'s error: dropping the receiver stops the parsers.
        'blocks: for (index, parsed) in done_rx {
            waiting.insert(index, parsed);
            while let Some(parsed) = waiting.remove(&next) {
                next += 1;
                match parsed {
                    Ok(b) => match take(b) {
                        Ok(lines) => progress.step(op, Step::Reading { lines }),
                        Err(e) => {
                            take_error = Some(e);
                            break 'blocks;
                        }
                    },
                    Err(e) => {
                        input_error.get_or_insert(e);
                    }
                }
            }
        }
    });
    // With the parsers gone, the reader's next send fails and it ends.
    drop(blocks);
    reader.join().expect("input thread");
    if let Some(e) = input_error {
        return Err(input_err(e));
    }
    Ok(take_error.map_or(Ok(()), Err))
}

/// Reads (and decompresses) the input on its own thread and sends it on in blocks of whole
/// lines, so decompression overlaps parsing. A line longer than [`MAX_LINE`] is an error, as
/// is any read error; both end the stream.
fn spawn_reader(
    mut input: Box<dyn Read + Send>,
    recycled: std::sync::mpsc::Receiver<Vec<u8>>,
) -> (
    std::sync::mpsc::Receiver<Block>,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Block>(PARSERS);
    let mut index = 0u64;
    let handle = std::thread::spawn(move || {
        let mut carry: Vec<u8> = Vec::new();
        let mut line_no = 0u64;
        loop {
            // Reuse a block the parsers are done with, so fresh pages are not faulted in for
            // every block.
            let mut block = recycled.try_recv().unwrap_or_default();
            block.clear();
            block.extend_from_slice(&carry);
            carry.clear();
            // At least as much as is carried, so a long line costs linear, not quadratic, copying.
            let want = BLOCK
                .saturating_sub(block.len())
                .max(block.len())
                .max(64 << 10);
            let n = match (&mut input).take(want as u64).read_to_end(&mut block) {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.send((index, Err(e.into())));
                    return;
                }
            };
            let eof = n < want;
            let complete = memchr::memrchr(b'\n', &block).map_or(0, |i| i + 1);
            let cut = if eof { block.len() } else { complete };
            // Every line in the block, and the partial line carried on, must fit the limit.
            let mut start = 0;
            let mut too_long = false;
            for end in memchr::memchr_iter(b'\n', &block[..cut]).chain(std::iter::once(cut)) {
                if end - start > MAX_LINE {
                    too_long = true;
                    break;
                }
                line_no += u64::from(end < cut);
                start = end + 1;
            }
            too_long |= !eof && block.len() - cut > MAX_LINE;
            if too_long {
                let line = line_no + 1;
                let _ = tx.send((index, Err(InputError::LineTooLong { line })));
                return;
            }
            carry.extend_from_slice(&block[cut..]);
            block.truncate(cut);
            if !block.is_empty() {
                if tx.send((index, Ok(block))).is_err() {
                    return;
                }
                index += 1;
            }
            if eof {
                return;
            }
        }
    });
    (rx, handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::Scratch;

    /// Records every step and note.
    #[derive(Default)]
    struct Log(Vec<Step>);

    impl Progress for Log {
        fn step(&mut self, _: Op, step: Step) {
            self.0.push(step);
        }
    }

    fn opts(out: PathBuf) -> SeedOptions {
        SeedOptions {
            out,
            priority: 0.5,
            crawl_delay: 10,
            encoding: EncodeSettings::default(),
            memory: crate::seed_sort::DEFAULT_MEMORY,
            tmp_dir: None,
        }
    }

    #[test]
    fn seeds_a_stream_and_reports_counts_and_steps() {
        let d = Scratch::new("ops-seed");
        let out = d.join("s.meguri");
        let lines = "{\"url\":\"https://a.example/x\"}\n\
                     {\"url\":\"https://a.example/x\"}\n\
                     not json\n\
                     {\"url\":\"https://b.example/\"}\n";
        let mut log = Log::default();
        let r = seed(
            SeedInput::Stream {
                name: "<test>".into(),
                reader: Box::new(std::io::Cursor::new(lines.as_bytes().to_vec())),
            },
            &opts(out.clone()),
            &mut log,
        )
        .unwrap();
        assert_eq!((r.urls, r.lines, r.skipped), (2, 4, 1));
        assert_eq!(r.bytes as u64, std::fs::metadata(&out).unwrap().len());
        assert_eq!(
            r.to_string(),
            format!(
                "seeded 2 urls (1 lines skipped) into {}, {} bytes\n",
                out.display(),
                r.bytes
            )
        );
        assert_eq!(log.0.last(), Some(&Step::Done));
        assert!(log.0.contains(&Step::Encoding { lines: 4 }));
        let v = serde_json::to_value(&r).unwrap();
        assert!(v["seconds"]["total"].is_number() && v["bytes_per_url"].is_number());
    }

    #[test]
    fn an_unreadable_input_names_itself() {
        let d = Scratch::new("ops-seed-missing");
        let e = seed(
            SeedInput::Path(d.join("none.jsonl")),
            &opts(d.join("s.meguri")),
            &mut super::super::Silent,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Input { .. }));
        assert!(e.to_string().starts_with(&format!(
            "seed: read input {}: ",
            d.join("none.jsonl").display()
        )));
    }
}
