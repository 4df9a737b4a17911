//! Feeds arbitrary bytes to the file reader and the verifier: every call must return, never
//! panic, and stay inside the reader's allocation limit (libFuzzer's `-rss_limit_mb` and
//! `-malloc_limit_mb` catch the rest).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meguri_core::format::Limits;
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::verify::verify_file;

fuzz_target!(|data: &[u8]| {
    let opts = ReadOptions {
        limits: Limits { floor: 1 << 20, per_file_byte: 64 },
        ..Default::default()
    };
    if let Ok(r) = Reader::open_with(data, opts) {
        let _ = r.url_table();
        let _ = r.host_table();
        let _ = r.arena();
        let _ = r.schedule();
        let _ = r.seen_filter();
        let n = r.header().url_count;
        let _ = r.url_rows(n / 3..n);
        let _ = r.read_page(meguri_core::Table::Url, 1, 1);
    }
    let _ = verify_file(data, &opts);
});
