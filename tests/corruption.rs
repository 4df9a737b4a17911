//! Corruption sweep over files our writer generates (always; see `meguri_tests::fixtures`) and
//! over the reference's golden files (when `../shared` is beside the repository): single-byte
//! changes in the header, trailer and footer
//! (both as they are, which the checksums must catch, and with the checksum recomputed so the
//! change reaches the parsers), thousands of random flips in the data regions, truncation at
//! every length class, and crafted size bombs. Every input must give an error or a valid decode:
//! never a panic, and never an allocation beyond the reader's limit for that input's size.

use meguri_core::crc::crc32c;
use meguri_core::format::Limits;
use meguri_core::manifest::Manifest;
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::verify::{verify_file, verify_manifest};
use meguri_tests::fixtures::{feature_file, feature_files, parts_and_manifest};
use meguri_tests::golden_dir;
use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

/// Tracks live bytes and the high-water mark so a test can bound what one decode allocated.
struct Tracking;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
}

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// The allocation counters are process-wide, so the tests in this file run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Tight limits for the sweep: 1 MiB plus 64 bytes per input byte.
const LIMITS: Limits = Limits {
    floor: 1 << 20,
    per_file_byte: 64,
};

fn opts() -> ReadOptions {
    ReadOptions {
        limits: LIMITS,
        ..Default::default()
    }
}

/// Everything a reader can be asked to do with a file. Returns whether it all succeeded.
fn exercise(bytes: &[u8]) -> bool {
    let full = (|| -> meguri_core::Result<()> {
        let r = Reader::open_with(bytes, opts())?;
        r.url_table()?;
        r.host_table()?;
        r.arena()?;
        r.schedule()?;
        r.seen_filter()?;
        let n = r.header().url_count;
        r.url_rows(n / 2..n)?;
        Ok(())
    })();
    let report = verify_file(bytes, &opts());
    // A file the strict reader decodes completely must not be one verify calls broken in a way
    // the reader would have noticed; and the other way round, verify must flag what failed.
    if full.is_err() {
        assert!(
            !report.is_ok(),
            "reader failed ({:?}) but verify found no error",
            full
        );
    }
    full.is_ok()
}

/// Runs `f` on `input`, failing the test with the mutation's description on a panic or when
/// the allocation high-water mark exceeds a small multiple of the reader's limit.
fn guarded<T>(what: &dyn Fn() -> String, input: &[u8], f: impl FnOnce() -> T) -> T {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| panic!("PANIC on {}", what()));
    let grew = PEAK.load(Relaxed).saturating_sub(base) as u64;
    // Decoded values widen to 8 bytes (from as little as 1), and verify holds a few columns.
    let bound = 16 * LIMITS.budget(input.len() as u64) + 4 * input.len() as u64;
    assert!(
        grew <= bound,
        "{}: allocated {grew} bytes, bound {bound}",
        what()
    );
    out
}

fn with_header_crc(mut b: Vec<u8>) -> Vec<u8> {
    let c = crc32c(&b[..60]);
    b[60..64].copy_from_slice(&c.to_le_bytes());
    b
}

fn footer_start(b: &[u8]) -> usize {
    let n = b.len();
    n - 12 - u32::from_le_bytes(b[n - 12..n - 8].try_into().unwrap()) as usize
}

fn with_footer_crc(mut b: Vec<u8>, fs: usize) -> Vec<u8> {
    let n = b.len();
    let c = crc32c(&b[fs..n - 12]);
    b[n - 8..n - 4].copy_from_slice(&c.to_le_bytes());
    b
}

/// The files a sweep runs over, as `(name, bytes)`: every generated feature file, then the
/// reference's `golden` files when the shared folder is there (their bytes come from another
/// writer, so they reach paths ours may not).
fn inputs(golden: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = feature_files()
        .iter()
        .map(|f| (format!("generated {}", f.name), f.bytes.clone()))
        .collect();
    if let Some(g) = golden_dir() {
        v.extend(
            golden
                .iter()
                .map(|n| (format!("golden {n}"), std::fs::read(g.join(n)).unwrap())),
        );
    }
    v
}

/// Golden files of the byte sweeps.
const SWEPT: [&str; 6] = [
    "small.meguri",
    "features/mp1-tiny.meguri",
    "features/seen-bloom-sched-meta.meguri",
    "features/seen-ribbon-mp250.meguri",
    "features/empty-codec2.meguri",
    "features/lz4req-mp300.meguri",
];

#[test]
fn header_and_trailer_every_byte_every_value() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut runs = 0u64;
    for (name, orig) in inputs(&SWEPT) {
        assert!(
            exercise(&orig),
            "{name} must decode cleanly before mutation"
        );
        let n = orig.len();
        let positions: Vec<usize> = (0..64).chain(n - 12..n).collect();
        for &pos in &positions {
            for v in 0..=255u8 {
                if v == orig[pos] {
                    continue;
                }
                let mut b = orig.clone();
                b[pos] = v;
                let what = || format!("{name}: byte {pos} = {v:#04x}");
                // As is: the header CRC, trailer magic, footer length or footer CRC must object.
                let ok = guarded(&what, &b, || exercise(&b));
                assert!(!ok, "{} went undetected", what());
                // With the header CRC recomputed the change reaches the field parsers: every
                // value on the small files, a spread of values on the larger ones.
                // (The generated files take the spread only: they are many, and the golden
                // small ones already take every value through the same parsers.)
                let deep = (orig.len() < 40_000 && !name.starts_with("generated "))
                    || matches!(v, 0x00 | 0xff)
                    || v == orig[pos] ^ 0x01
                    || v == orig[pos] ^ 0x80;
                if pos < 60 && deep {
                    let b = with_header_crc(b);
                    guarded(&what, &b, || exercise(&b));
                }
                runs += 1;
            }
        }
    }
    eprintln!("header/trailer sweep: {runs} mutations, no panic, bounded allocation");
}

#[test]
fn footer_every_byte_with_and_without_crc_fixup() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut runs = 0u64;
    let mut decoded_anyway = 0u64;
    for (name, orig) in inputs(&SWEPT) {
        let fs = footer_start(&orig);
        for pos in fs..orig.len() - 12 {
            // Three changes per byte on the golden files' small footers; one (alternating) on
            // long skip lists and on the generated files, so the sweep stays within CI's time.
            let all = [orig[pos] ^ 0x01, orig[pos] ^ 0x80, orig[pos] ^ 0xff];
            let values: &[u8] = if orig.len() - fs < 4096 && !name.starts_with("generated ") {
                &all
            } else {
                &all[pos % 3..pos % 3 + 1]
            };
            for &v in values {
                let mut b = orig.clone();
                b[pos] = v;
                let what = || format!("{name}: footer byte {pos} = {v:#04x}");
                assert!(
                    !guarded(&what, &b, || exercise(&b)),
                    "{} went undetected",
                    what()
                );
                let b = with_footer_crc(b, fs);
                if guarded(&what, &b, || exercise(&b)) {
                    decoded_anyway += 1;
                }
                runs += 1;
            }
        }
    }
    eprintln!("footer sweep: {runs} mutations ({decoded_anyway} still decode with a fixed-up CRC, e.g. zone maps or unused fields)");
}

#[test]
fn random_flips_in_data_regions_are_always_caught() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut runs, mut files) = (0, 0);
    for (name, orig) in inputs(&SWEPT) {
        let fs = footer_start(&orig);
        if fs <= 64 {
            continue;
        }
        files += 1;
        for _ in 0..600 {
            let pos = 64 + (next() % (fs as u64 - 64)) as usize;
            let mask = (next() % 255 + 1) as u8;
            let mut b = orig.clone();
            b[pos] ^= mask;
            let what = || format!("{name}: data byte {pos} ^= {mask:#04x}");
            guarded(&what, &b, || exercise(&b));
            // Every data byte is under a region CRC, so verify always notices.
            let report = verify_file(&b[..], &opts());
            assert!(!report.is_ok(), "{} was not reported by verify", what());
            assert!(
                report.findings.iter().any(|f| f.error.offset.is_some()),
                "{}: no offset",
                what()
            );
            runs += 1;
        }
    }
    assert!(
        files >= 4 && runs == 600 * files,
        "{runs} flips in {files} files"
    );
    eprintln!("data sweep: {runs} random flips in {files} files, all reported");
}

#[test]
fn truncation_at_every_length_class() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (name, orig) in inputs(&SWEPT) {
        let n = orig.len();
        let fs = footer_start(&orig);
        let mut lens: Vec<usize> = (0..=100).collect();
        lens.extend((7..30).map(|p| 1usize << p).filter(|&l| l < n));
        lens.extend(n.saturating_sub(300)..n);
        lens.extend([fs - 1, fs, fs + 1, n / 2, n / 3]);
        for len in lens {
            let b = &orig[..len];
            let what = || format!("{name}: truncated to {len} bytes");
            assert!(!guarded(&what, b, || exercise(b)), "{} decoded", what());
        }
        // Bytes appended after the trailer move it: also an error.
        let mut longer = orig.clone();
        longer.extend_from_slice(&[0; 5]);
        assert!(!exercise(&longer));
    }
}

#[test]
fn declared_sizes_are_checked_before_allocating() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let orig = &feature_file("empty-none").bytes;
    // Four billion rows in a 4 KB file.
    let mut b = orig.clone();
    b[32..40].copy_from_slice(&4_000_000_000u64.to_le_bytes());
    let b = with_header_crc(b);
    let e = guarded(&|| "url_count 4e9".into(), &b, || {
        Reader::open_with(&b[..], opts()).err()
    })
    .expect("refused");
    assert_eq!(e.kind, meguri_core::ErrorKind::Limit, "{e}");
    // The same claim in a 100-byte file.
    let mut tiny = b[..64].to_vec();
    tiny.extend_from_slice(&[0u8; 24]);
    tiny.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, b'M', b'E', b'G', b'1']);
    guarded(&|| "100-byte file".into(), &tiny, || {
        assert!(Reader::open_with(&tiny[..], opts()).is_err())
    });
    // A page that claims a 4 GB payload.
    let small = &feature_file("wheel-bloom-ext-zstd").bytes;
    let r = Reader::open(&small[..]).unwrap();
    let first = r
        .column_dir(meguri_core::Table::Url, 0)
        .unwrap()
        .first_page_offset as usize;
    let mut b = small.clone();
    b[first + 8..first + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    guarded(&|| "page uncompressed_size 4 GB".into(), &b, || {
        assert!(!exercise(&b))
    });
}

#[test]
fn manifests_every_byte_and_truncation() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut manifests = vec![("generated".to_string(), parts_and_manifest().1)];
    if let Some(g) = golden_dir() {
        let golden = std::fs::read(g.join("parts/meguri.manifest")).unwrap();
        manifests.push(("golden parts/meguri.manifest".into(), golden));
    }
    for (name, orig) in manifests {
        manifest_sweep(&name, &orig);
    }
}

fn manifest_sweep(name: &str, orig: &[u8]) {
    assert!(Manifest::parse(orig).is_ok(), "{name} parses before damage");
    let n = orig.len();
    for pos in 0..n {
        for v in [orig[pos] ^ 1, orig[pos] ^ 0x80, 0, 0xff] {
            if v == orig[pos] {
                continue;
            }
            let mut b = orig.to_vec();
            b[pos] = v;
            let what = || format!("{name}: manifest byte {pos} = {v:#04x}");
            guarded(&what, &b, || {
                assert!(Manifest::parse(&b).is_err(), "{} undetected", what())
            });
            if pos >= 4 && pos < n - 8 {
                let c = crc32c(&b[..n - 8]);
                b[n - 8..n - 4].copy_from_slice(&c.to_le_bytes());
                guarded(&what, &b, || {
                    if let Ok(m) = Manifest::parse(&b) {
                        m.tiling();
                        m.route(0x1234);
                    }
                    verify_manifest(&b);
                });
            }
        }
    }
    for len in 0..n {
        let b = &orig[..len];
        guarded(
            &|| format!("{name}: manifest truncated to {len}"),
            b,
            || assert!(Manifest::parse(b).is_err()),
        );
    }
    // A count of 2^60 entries in a short manifest.
    let mut b = b"MGM1".to_vec();
    b.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    let c = crc32c(&b);
    b.extend_from_slice(&c.to_le_bytes());
    b.extend_from_slice(b"MGM1");
    guarded(&|| "huge entry count".into(), &b, || {
        assert!(Manifest::parse(&b).is_err())
    });
}

/// Golden files whose zstd frames the payload sweep damages: single-page columns and arenas
/// (the reference's), multi-page columns, the wheel and both kinds of seen-set filter. The
/// generated files with zstd pages are swept too, always.
const ZSTD_SWEPT: [&str; 6] = [
    "small.meguri",
    "crawled-small-mixed-gc.meguri",
    "storelog-small/snap-1.meguri",
    "features/mp100-zstd.meguri",
    "features/seen-bloom-sched-meta.meguri",
    "features/seen-ribbon-mp250.meguri",
];

/// Every non-empty zstd payload of a file: `(payload offset, payload length)`.
fn zstd_payloads(bytes: &[u8]) -> Vec<(usize, usize)> {
    use meguri_core::format::codec::CODEC_ZSTD;
    use meguri_core::format::page::PageHeader;
    let r = Reader::open(bytes).expect("opens");
    let mut pages: Vec<u64> = Vec::new();
    for table in [meguri_core::Table::Url, meguri_core::Table::Host] {
        for dir in r.footer().columns(table) {
            pages.extend(dir.page_spans().iter().map(|s| s.offset));
        }
    }
    pages.extend(
        r.footer()
            .regions
            .iter()
            .filter(|d| d.id >= 2 && d.length > 0)
            .map(|d| d.offset),
    );
    pages
        .into_iter()
        .filter_map(|at| {
            let at = at as usize;
            let h = PageHeader::read(bytes[at..at + 32].try_into().unwrap());
            (h.codec == CODEC_ZSTD && h.compressed_size > 0)
                .then_some((at + 32, h.compressed_size as usize))
        })
        .collect()
}

/// A file's whole decode with one backend: every row, the arena, the wheel and the filter.
fn decode_with(
    bytes: &[u8],
    zstd: meguri_core::format::codec::ZstdBackend,
) -> meguri_core::Result<(meguri_core::partition::Partition, Option<Vec<u32>>)> {
    let o = ReadOptions { zstd, ..opts() };
    let r = Reader::open_with(bytes, o)?;
    let wheel = r.schedule()?.map(|w| w.rows);
    r.seen_filter()?;
    Ok((r.partition()?, wheel))
}

#[test]
fn damage_inside_zstd_frames_with_every_crc_recomputed() {
    use meguri_core::format::codec::ZstdBackend;
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (mut variants, mut refused, mut same) = (0u64, 0u64, 0u64);
    let mut files = 0u64;
    let zstd_inputs = inputs(&ZSTD_SWEPT)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("generated ") || name.ends_with("-zstd"));
    for (name, orig) in zstd_inputs {
        files += 1;
        let clean = decode_with(&orig, ZstdBackend::Pure).expect("decodes before damage");
        let payloads = zstd_payloads(&orig);
        assert!(!payloads.is_empty(), "{name} has no zstd payload");
        // Every byte of short frames; of longer ones the header and first block header, the
        // last bytes (last block and checksum), and a spread in between. Then every k-th of
        // those, to keep each file within CI's time.
        let mut cases: Vec<(usize, usize)> = Vec::new();
        for (at, len) in payloads {
            if len <= 48 {
                cases.extend((0..len).map(|p| (at, p)));
            } else {
                cases.extend((0..16).chain(len - 8..len).map(|p| (at, p)));
                cases.extend((1..=12).map(|i| (at, 16 + i * (len - 24) / 13)));
            }
        }
        let k = cases.len().div_ceil(1500);
        for (i, &(at, p)) in cases.iter().enumerate().filter(|(i, _)| i % k == 0) {
            let mask = [0x01u8, 0x10, 0x80, 0xff][(i / k) % 4];
            let mut b = orig.clone();
            b[at + p] ^= mask;
            assert!(meguri_core::reseal::reseal(&mut b));
            let what = || format!("{name}: zstd payload at {at} byte {p} ^= {mask:#04x}");
            let pure = guarded(&what, &b, || decode_with(&b, ZstdBackend::Pure));
            let c = guarded(&what, &b, || decode_with(&b, ZstdBackend::C));
            let verify_with = |zstd| {
                let o = ReadOptions { zstd, ..opts() };
                guarded(&what, &b, || verify_file(&b[..], &o))
            };
            let (vp, vc) = (verify_with(ZstdBackend::Pure), verify_with(ZstdBackend::C));
            // One verdict whatever the backend, in the same words.
            assert_eq!(
                pure.as_ref().map_err(|e| e.to_string()).err(),
                c.as_ref().map_err(|e| e.to_string()).err(),
                "{}: the backends disagree",
                what()
            );
            assert_eq!(
                vp.findings,
                vc.findings,
                "{}: verify differs by backend",
                what()
            );
            match pure {
                Ok(values) => {
                    // Accepted only when nothing decoded changed (a window descriptor
                    // that still suffices, say), and verify agrees.
                    assert!(values == clean, "{}: accepted with other values", what());
                    assert_eq!(c.unwrap(), clean, "{}", what());
                    assert!(vp.is_ok(), "{}: decodes but verify refuses", what());
                    same += 1;
                }
                Err(_) => {
                    assert!(
                        !vp.is_ok(),
                        "{}: refused by the reader, passed verify",
                        what()
                    );
                    refused += 1;
                }
            }
            variants += 1;
        }
    }
    assert!(
        files >= 2 && variants > 700 * files,
        "only {variants} variants in {files} files"
    );
    eprintln!(
        "zstd payload sweep: {variants} damaged variants with every CRC recomputed, {refused} \
         refused by both backends and verify, {same} decoding to the original values, none crashed"
    );
}
