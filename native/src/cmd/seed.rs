//! `meguri seed [-i FILE] -o FILE`: a partition from Common Crawl CDX JSONL (plain or zstd).

use super::fail;
use crate::atomic::write_atomic;
use crate::seed::{parse_block, ParsedBlock, Seeder};
use crate::{CmdError, CmdResult};
use meguri_core::reader::Reader;
use meguri_core::write::WriteOptions;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest line accepted (the reference's scanner limit).
pub const MAX_LINE: usize = 16 << 20;
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Options of `seed`.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// CDX JSONL input (stdin when absent); `.zst` input is detected by its magic.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Output .meguri file.
    #[arg(short, long)]
    pub out: PathBuf,
    /// Priority of seeded URLs.
    #[arg(long, default_value_t = 0.5)]
    pub priority: f64,
    /// Crawl delay of new hosts, in deciseconds.
    #[arg(long, default_value_t = 10)]
    pub crawl_delay: u16,
    /// zstd level for column pages.
    #[arg(long, default_value_t = 3)]
    pub level: i32,
    /// zstd level for the string arena (one large page of text, compressed on a second
    /// thread while the columns are encoded).
    #[arg(long, default_value_t = 8)]
    pub arena_level: i32,
    /// Print a JSON summary (counts, size, bytes/url, seconds per phase) instead of the line.
    #[arg(long)]
    pub json: bool,
    /// Rows per column page.
    #[arg(long, default_value_t = WriteOptions::default().page_rows)]
    pub page_rows: usize,
}

/// Opens the input, looking through zstd compression.
fn open_input(input: Option<&Path>) -> std::io::Result<Box<dyn Read + Send>> {
    let raw: Box<dyn Read + Send> = match input {
        Some(p) => Box::new(std::fs::File::open(p)?),
        None => Box::new(std::io::stdin()),
    };
    let mut buf = BufReader::with_capacity(1 << 20, raw);
    if buf.fill_buf()?.starts_with(&ZSTD_MAGIC) {
        // The decoder writes straight into the reader's blocks: no buffer in between.
        return Ok(Box::new(zstd::stream::read::Decoder::with_buffer(buf)?));
    }
    Ok(Box::new(buf))
}

/// A numbered block of whole lines from the reading thread, or the error that ended input.
type Block = (u64, Result<Vec<u8>, String>);

/// Threads parsing blocks of input (the reading thread decompresses beside them).
const PARSERS: usize = 2;

/// Input is handed from the reading thread to the parser in blocks of about this size, each
/// ending at a line boundary.
const BLOCK: usize = 4 << 20;

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
            let read = (&mut input).take(want as u64).read_to_end(&mut block);
            let n = match read {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.send((index, Err(e.to_string())));
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
                let _ = tx.send((
                    index,
                    Err(format!("line {} is longer than 16 MiB", line_no + 1)),
                ));
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

/// Runs `seed`; prints the reference's summary line to `out`.
pub fn run(args: &SeedArgs, out: &mut dyn Write) -> CmdResult {
    let src_name = args
        .input
        .as_deref()
        .map_or_else(|| "<stdin>".to_string(), |p| p.display().to_string());
    let input_err =
        |e: &dyn std::fmt::Display| CmdError::new(format!("seed: read input {src_name}: {e}"));
    let input = open_input(args.input.as_deref()).map_err(|e| input_err(&e))?;
    let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let (blocks, reader) = spawn_reader(input, recycle_rx);
    let mut seeder = Seeder::new(args.priority as f32, args.crawl_delay);
    let progress = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last = started;
    // Blocks are parsed on PARSERS threads and handed to the seeder in input order.
    let blocks = std::sync::Mutex::new(blocks);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<(u64, Result<ParsedBlock, String>)>();
    let mut input_error = None;
    std::thread::scope(|scope| {
        for _ in 0..PARSERS {
            let (blocks, done_tx, recycle) = (&blocks, done_tx.clone(), recycle_tx.clone());
            scope.spawn(move || loop {
                let next = blocks.lock().expect("block queue").recv();
                let Ok((index, block)) = next else { return };
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
        for (index, parsed) in done_rx {
            waiting.insert(index, parsed);
            while let Some(parsed) = waiting.remove(&next) {
                next += 1;
                match parsed {
                    Ok(b) => seeder.push_block(b),
                    Err(e) => {
                        input_error.get_or_insert(e);
                    }
                }
            }
            if progress && last.elapsed() > Duration::from_millis(250) {
                last = Instant::now();
                eprint!(
                    "\rseed: {} lines, {:.1}s",
                    seeder.lines,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    });
    reader.join().expect("input thread");
    if let Some(e) = input_error {
        return Err(input_err(&e));
    }
    if progress {
        eprint!("\rseed: {} lines, encoding...\x1b[K", seeder.lines);
    }
    let (skipped, lines) = (seeder.skipped, seeder.lines);
    let t_parse = started.elapsed();
    let partition = seeder.finish();
    let urls = partition.urls.len();
    let t_finish = started.elapsed();
    let bytes = crate::encode::encode_partition(
        &partition,
        &crate::encode::EncodeSettings {
            level: args.level,
            arena_level: args.arena_level,
            page_rows: args.page_rows,
        },
    )
    .map_err(|e| fail("seed", &args.out, e))?;
    let t_encode = started.elapsed();
    drop(partition);
    write_atomic(&args.out, &bytes).map_err(|e| fail("seed", &args.out, e))?;
    let t_write = started.elapsed();
    if progress {
        eprint!("\r\x1b[K");
    }
    let text = if args.json {
        let secs = |d: Duration| (d.as_secs_f64() * 1e4).round() / 1e4;
        let bytes_per_url = Reader::open(&bytes[..])
            .ok()
            .and_then(|r| r.footer().stats.map(|s| s.bytes_per_url));
        let v = serde_json::json!({
            "out": args.out.display().to_string(),
            "urls": urls,
            "lines": lines,
            "skipped": skipped,
            "bytes": bytes.len(),
            "bytes_per_url": bytes_per_url,
            "seconds": {
                "read_and_parse": secs(t_parse),
                "layout": secs(t_finish - t_parse),
                "encode": secs(t_encode - t_finish),
                "write": secs(t_write - t_encode),
                "total": secs(t_write),
            },
        });
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        format!(
            "seeded {} urls ({skipped} lines skipped) into {}, {} bytes\n",
            urls,
            args.out.display(),
            bytes.len()
        )
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("seed", &args.out, e))
}
