//! Read-side benchmarks on the reference's `full.meguri` (563,844 URLs, 186,356 hosts, 15 MB):
//!
//! - `open`: what `inspect` costs: header + tail reads and footer parse (bytes read printed).
//! - `full_decode/{pure,c}`: both tables and the arena, with ruzstd and with C zstd; reported
//!   as file MB/s, and as rows/s in `full_decode_rows`.
//! - `url_table/{pure,c}`: the URL table alone, the part later encode benchmarks compare with.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use meguri_core::format::codec::ZstdBackend;
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::source::CountingSource;
use std::hint::black_box;

fn opts(zstd: ZstdBackend) -> ReadOptions {
    ReadOptions {
        zstd,
        ..Default::default()
    }
}

fn decode_all(bytes: &[u8], zstd: ZstdBackend) -> usize {
    let r = Reader::open_with(bytes, opts(zstd)).unwrap();
    let u = r.url_table().unwrap();
    let h = r.host_table().unwrap();
    let a = r.arena().unwrap();
    u.len() + h.len() + a.len()
}

fn benches(c: &mut Criterion) {
    let Some(path) = meguri_benches::golden("full.meguri") else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let len = bytes.len() as u64;
    let (urls, hosts) = {
        let r = Reader::open(&bytes[..]).unwrap();
        (r.header().url_count, r.header().host_count)
    };

    let counting = CountingSource::new(&bytes[..]);
    Reader::open(&counting).unwrap();
    eprintln!(
        "open/inspect of full.meguri ({len} bytes): {} reads, {} bytes read",
        counting.reads(),
        counting.bytes()
    );

    c.bench_function("open", |b| {
        b.iter(|| {
            Reader::open(black_box(&bytes[..]))
                .unwrap()
                .header()
                .url_count
        })
    });

    let mut g = c.benchmark_group("full_decode");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(len));
    for (name, z) in [("pure", ZstdBackend::Pure), ("c", ZstdBackend::C)] {
        g.bench_function(name, |b| b.iter(|| decode_all(black_box(&bytes), z)));
    }
    g.finish();

    let mut g = c.benchmark_group("full_decode_rows");
    g.sample_size(10);
    g.throughput(Throughput::Elements(urls + hosts));
    for (name, z) in [("pure", ZstdBackend::Pure), ("c", ZstdBackend::C)] {
        g.bench_function(name, |b| b.iter(|| decode_all(black_box(&bytes), z)));
    }
    g.finish();

    let mut g = c.benchmark_group("url_table");
    g.sample_size(10);
    g.throughput(Throughput::Elements(urls));
    for (name, z) in [("pure", ZstdBackend::Pure), ("c", ZstdBackend::C)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                Reader::open_with(black_box(&bytes[..]), opts(z))
                    .unwrap()
                    .url_table()
                    .unwrap()
                    .len()
            })
        });
    }
    g.finish();
}

criterion_group!(decode, benches);
criterion_main!(decode);
