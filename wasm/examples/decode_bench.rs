//! Native side of the full-decode throughput comparison (`web/bench/decode.mjs` is the wasm
//! side): decodes every column, the arena, the wheel and the filter of a file, with ruzstd
//! (the decoder wasm uses) and with C zstd, and prints MB/s of file bytes.
//!
//! `cargo run --release -p meguri-wasm --example decode_bench -- FILE [RUNS]`

use meguri_core::format::codec::ZstdBackend;
use meguri_core::reader::ReadOptions;
use meguri_wasm::parity::decode_everything;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: decode_bench FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(5);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("decode_bench {path}: {e}");
            std::process::exit(1);
        }
    };
    for (name, zstd) in [("ruzstd", ZstdBackend::Pure), ("C zstd", native_c())] {
        let opts = ReadOptions {
            zstd,
            ..Default::default()
        };
        let mut best = f64::MAX;
        let mut values = 0;
        for _ in 0..runs {
            let t = Instant::now();
            values = match decode_everything(&bytes, opts) {
                Ok(n) => n,
                Err(e) => {
                    eprintln!("decode_bench {path}: {e}");
                    std::process::exit(1);
                }
            };
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "native {name}: {values} values, best of {runs}: {:.1} ms, {:.0} MB/s of file",
            best * 1e3,
            bytes.len() as f64 / best / 1e6
        );
    }
}

/// C zstd (the native dev-dependency enables it); a wasm32 build of this example has none.
#[cfg(not(target_arch = "wasm32"))]
fn native_c() -> ZstdBackend {
    ZstdBackend::C
}

/// C zstd (the native dev-dependency enables it); a wasm32 build of this example has none.
#[cfg(target_arch = "wasm32")]
fn native_c() -> ZstdBackend {
    ZstdBackend::Pure
}
