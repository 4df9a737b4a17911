//! Write-side benchmarks on the URL table of the reference's `full.meguri` (563,844 rows),
//! side by side with the alternatives a user has:
//!
//! - `url_table_encode/ours`: our paged writer with its pruned exact cascade, zstd level 3
//!   (what `seed` uses for columns); `ours_exhaustive` compresses every candidate (same
//!   bytes, more time); `ours_none` writes codec none.
//! - `url_table_encode/rows_zstd3`: the naive alternative, fixed-width rows back to back and
//!   one zstd level-3 frame, no columns, no pages, no random access.
//! - `url_table_decode/{ours,reference}`: decoding the URL table of our file and of the
//!   reference's file with C zstd (rows/s).
//!
//! Throughput is rows per second; sizes are printed once before the runs. MB/s figures use
//! the logical row size (103 bytes a URL row, the sum of the column widths).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use meguri_core::format::codec::{CZstd, Compressor, Uncompressed, ZstdBackend};
use meguri_core::partition::Partition;
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::schema::{self, row_width, Record};
use meguri_core::write::{encode, WriteOptions};
use meguri_core::Table;
use std::hint::black_box;

/// The URL rows as fixed-width little-endian records (the naive baseline's input).
fn rows_image(p: &Partition) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.urls.len() * row_width(Table::Url) as usize);
    for u in &p.urls {
        for spec in schema::columns(Table::Url) {
            let v = u.int(spec.id);
            out.extend_from_slice(&v.to_le_bytes()[..spec.width as usize]);
        }
    }
    out
}

fn benches(c: &mut Criterion) {
    let Some(path) = meguri_benches::golden("full.meguri") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let full = Reader::open(&bytes[..]).unwrap().partition().unwrap();
    // The URL table alone: no hosts, no arena (the file's host-key range, which the writer
    // holds every row to).
    let urls_only = Partition {
        urls: full.urls.clone(),
        hostkey_lo: full.hostkey_lo,
        hostkey_hi: full.hostkey_hi,
        ..Partition::default()
    };
    let rows = urls_only.urls.len() as u64;
    let logical = rows * row_width(Table::Url);
    let zstd3 = CZstd::new(3);
    let exhaustive = WriteOptions {
        exhaustive: true,
        ..WriteOptions::default()
    };
    let ours = encode(&urls_only, &WriteOptions::default(), &zstd3).unwrap();
    let image = rows_image(&urls_only);
    let mut naive = Vec::new();
    zstd3.compress(&image, &mut naive);
    let region = |b: &[u8]| Reader::open(b).unwrap().footer().regions[0].length;
    eprintln!(
        "URL table of {rows} rows ({logical} logical bytes): ours {} bytes ({:.2} B/url); \
         reference {} bytes ({:.2} B/url); rows+zstd3 {} bytes ({:.2} B/url)",
        region(&ours),
        region(&ours) as f64 / rows as f64,
        region(&bytes),
        region(&bytes) as f64 / rows as f64,
        naive.len(),
        naive.len() as f64 / rows as f64,
    );

    for (unit, tp) in [
        ("rows", Throughput::Elements(rows)),
        ("bytes", Throughput::Bytes(logical)),
    ] {
        let mut g = c.benchmark_group(format!("url_table_encode_{unit}"));
        g.sample_size(10);
        g.throughput(tp);
        g.bench_function("ours", |b| {
            b.iter(|| encode(black_box(&urls_only), &WriteOptions::default(), &zstd3).unwrap())
        });
        g.bench_function("ours_exhaustive", |b| {
            b.iter(|| encode(black_box(&urls_only), &exhaustive, &zstd3).unwrap())
        });
        g.bench_function("ours_none", |b| {
            b.iter(|| {
                encode(
                    black_box(&urls_only),
                    &WriteOptions::default(),
                    &Uncompressed,
                )
                .unwrap()
            })
        });
        g.bench_function("rows_zstd3", |b| {
            b.iter(|| {
                let image = rows_image(black_box(&urls_only));
                let mut out = Vec::new();
                zstd3.compress(&image, &mut out);
                out
            })
        });
        g.finish();
    }

    let opts = ReadOptions {
        zstd: ZstdBackend::C,
        ..Default::default()
    };
    let mut g = c.benchmark_group("url_table_decode_rows");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows));
    for (name, file) in [("ours", &ours), ("reference", &bytes)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                Reader::open_with(black_box(&file[..]), opts)
                    .unwrap()
                    .url_table()
                    .unwrap()
                    .len()
            })
        });
    }
    g.finish();
}

criterion_group!(encode_benches, benches);
criterion_main!(encode_benches);
