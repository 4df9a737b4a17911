//! `meguri seed [-i FILE] -o FILE`: a partition from Common Crawl CDX JSONL (plain or zstd).

use super::fail;
use crate::atomic::write_atomic;
use crate::seed::Seeder;
use crate::{CmdError, CmdResult};
use meguri_core::format::codec::CZstd;
use meguri_core::write::{encode, WriteOptions};
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
    /// zstd level for pages.
    #[arg(long, default_value_t = 3)]
    pub level: i32,
    /// Rows per column page.
    #[arg(long, default_value_t = WriteOptions::default().page_rows)]
    pub page_rows: usize,
}

/// Opens the input, looking through zstd compression.
fn open_input(input: Option<&Path>) -> std::io::Result<Box<dyn BufRead>> {
    let raw: Box<dyn Read> = match input {
        Some(p) => Box::new(std::fs::File::open(p)?),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut buf = BufReader::with_capacity(1 << 20, raw);
    if buf.fill_buf()?.starts_with(&ZSTD_MAGIC) {
        let dec = zstd::stream::read::Decoder::with_buffer(buf)?;
        return Ok(Box::new(BufReader::with_capacity(1 << 20, dec)));
    }
    Ok(Box::new(buf))
}

/// Runs `seed`; prints the reference's summary line to `out`.
pub fn run(args: &SeedArgs, out: &mut dyn Write) -> CmdResult {
    let src_name = args
        .input
        .as_deref()
        .map_or_else(|| "<stdin>".to_string(), |p| p.display().to_string());
    let input_err =
        |e: &dyn std::fmt::Display| CmdError::new(format!("seed: read input {src_name}: {e}"));
    let mut input = open_input(args.input.as_deref()).map_err(|e| input_err(&e))?;
    let mut seeder = Seeder::new(args.priority as f32, args.crawl_delay);
    let progress = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last = started;
    let mut line = Vec::with_capacity(4096);
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = input
            .by_ref()
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| input_err(&e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if line.len() > MAX_LINE {
            return Err(input_err(&format!("line {line_no} is longer than 16 MiB")));
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        seeder.push_line(&line);
        if progress && line_no % 65_536 == 0 && last.elapsed() > Duration::from_millis(250) {
            last = Instant::now();
            eprint!(
                "\rseed: {line_no} lines, {} urls, {:.1}s",
                seeder.url_count(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    if progress {
        eprint!(
            "\rseed: {line_no} lines, {} urls, encoding...\x1b[K",
            seeder.url_count()
        );
    }
    let (skipped, urls) = (seeder.skipped, seeder.url_count());
    let partition = seeder.finish();
    let opts = WriteOptions {
        page_rows: args.page_rows,
    };
    let bytes = encode(&partition, &opts, &CZstd::new(args.level))
        .map_err(|e| fail("seed", &args.out, e))?;
    drop(partition);
    write_atomic(&args.out, &bytes).map_err(|e| fail("seed", &args.out, e))?;
    if progress {
        eprint!("\r\x1b[K");
    }
    writeln!(
        out,
        "seeded {} urls ({skipped} lines skipped) into {}, {} bytes",
        urls,
        args.out.display(),
        bytes.len()
    )
    .map_err(|e| fail("seed", &args.out, e))
}
