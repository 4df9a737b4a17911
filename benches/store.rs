//! The durable store against what a crawl host would use instead, side by side in one run:
//! acknowledged updates per second and p50/p99 latency for 1, 8 and 64 concurrent writers
//! under each durability setting, beside SQLite (WAL; synchronous OFF / NORMAL / FULL, each
//! writer committing its own update) and fjall (journal persisted with `SyncAll` per update),
//! and the raw fsync latency of the disk, the floor under any durable write. Then recovery
//! time per million log frames, checkpoint time for a corpus-sized partition, and resident
//! memory with a 10% budget against unbounded.
//!
//! `cargo bench -p meguri-benches --bench store` (set `MEGURI_BENCH_SECS` to change the 2 s
//! per cell; the corpus parts need `MEGURI_CORPUS`). With `MEGURI_BENCH_COMMIT` set it
//! measures only the ways one writer's commit can reach the disk (fsync, fdatasync, sparse or
//! zero-written preallocation of several sizes, O_DSYNC), and the store's log chunk sizes. Records are the store's own: a 16-byte
//! key and an 87-byte value for every engine.

use meguri::store::{Durability, Options, Store};
use meguri_core::keys::UrlKey;
use meguri_core::records::UrlRecord;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn record(t: u64, i: u64) -> UrlRecord {
    UrlRecord {
        key: UrlKey {
            host: t.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i % 1024),
            path: i,
        },
        status: 4,
        next_due: 500_000 + (i % 1000) as u32,
        crawl_count: i as u32,
        ..UrlRecord::default()
    }
}

fn value(r: &UrlRecord) -> Vec<u8> {
    let mut v = Vec::with_capacity(87);
    meguri_core::store::frame::put_url_value(r, &mut v);
    v
}

fn scratch(tag: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("meguri-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

struct Cell {
    ops: u64,
    secs: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `writers` threads calling `op(thread, i)` for `secs`; each call is one acknowledged
/// update.
fn drive<F>(writers: u64, secs: f64, op: F) -> Cell
where
    F: Fn(u64, u64) + Sync,
{
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let lat: Vec<Vec<Duration>> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..writers)
            .map(|t| {
                let (stop, op) = (&stop, &op);
                s.spawn(move || {
                    let mut l = Vec::new();
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let t0 = Instant::now();
                        op(t, i);
                        l.push(t0.elapsed());
                        i += 1;
                    }
                    l
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let mut all: Vec<Duration> = lat.into_iter().flatten().collect();
    all.sort_unstable();
    let q = |f: f64| {
        all.get(((all.len() as f64 * f) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Cell {
        ops: all.len() as u64,
        secs,
        p50: q(0.50),
        p99: q(0.99),
    }
}

fn print(engine: &str, mode: &str, writers: u64, c: &Cell) -> f64 {
    let rate = c.ops as f64 / c.secs;
    println!(
        "{engine:<8} {mode:<7} {writers:>3}  {rate:>11.0} /s  p50 {:>9.1} us  p99 {:>9.1} us",
        c.p50.as_secs_f64() * 1e6,
        c.p99.as_secs_f64() * 1e6
    );
    rate
}

fn meguri_cell(d: Durability, writers: u64, secs: f64) -> Cell {
    let chunk = std::env::var("MEGURI_BENCH_CHUNK")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(meguri::store::LOG_CHUNK);
    meguri_cell_with(d, writers, secs, chunk)
}

fn meguri_cell_with(d: Durability, writers: u64, secs: f64, log_chunk: u64) -> Cell {
    let dir = scratch("meguri");
    let store = Store::open(
        &dir,
        Options {
            durability: d,
            log_chunk,
            ..Options::default()
        },
    )
    .unwrap();
    let c = drive(writers, secs, |t, i| {
        store.put_url(record(t, i)).unwrap();
    });
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    c
}

fn sqlite_cell(sync: &str, writers: u64, secs: f64) -> Cell {
    let dir = scratch("sqlite");
    let path = dir.join("db.sqlite");
    let setup = rusqlite::Connection::open(&path).unwrap();
    setup
        .execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE urls(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;",
        )
        .unwrap();
    let conns: Vec<std::sync::Mutex<rusqlite::Connection>> = (0..writers)
        .map(|_| {
            let c = rusqlite::Connection::open(&path).unwrap();
            c.busy_timeout(Duration::from_secs(30)).unwrap();
            c.execute_batch(&format!("PRAGMA synchronous={sync};"))
                .unwrap();
            std::sync::Mutex::new(c)
        })
        .collect();
    let c = drive(writers, secs, |t, i| {
        let r = record(t, i);
        let conn = conns[t as usize].lock().unwrap();
        conn.prepare_cached("INSERT OR REPLACE INTO urls(key, value) VALUES (?1, ?2)")
            .unwrap()
            .execute(rusqlite::params![&r.key.to_bytes()[..], value(&r)])
            .unwrap();
    });
    drop(conns);
    drop(setup);
    let _ = std::fs::remove_dir_all(&dir);
    c
}

fn fjall_cell(sync: bool, writers: u64, secs: f64) -> Cell {
    let dir = scratch("fjall");
    let ks = fjall::Config::new(&dir).open().unwrap();
    let urls = ks
        .open_partition("urls", fjall::PartitionCreateOptions::default())
        .unwrap();
    let c = drive(writers, secs, |t, i| {
        let r = record(t, i);
        urls.insert(r.key.to_bytes(), value(&r)).unwrap();
        if sync {
            ks.persist(fjall::PersistMode::SyncAll).unwrap();
        }
    });
    drop(urls);
    drop(ks);
    let _ = std::fs::remove_dir_all(&dir);
    c
}

/// One 121-byte append and fdatasync per call, on one file: the disk's floor.
fn fsync_floor(secs: f64) -> Cell {
    use std::io::Write;
    let dir = scratch("fsync");
    let f = std::sync::Mutex::new(std::fs::File::create(dir.join("f")).unwrap());
    let c = drive(1, secs, |_, _| {
        let mut f = f.lock().unwrap();
        f.write_all(&[7u8; 121]).unwrap();
        f.sync_data().unwrap();
    });
    let _ = std::fs::remove_dir_all(&dir);
    c
}

/// How a single writer's commit reaches the disk, for the alternatives measured below.
#[derive(Clone, Copy)]
enum Commit {
    /// Append, then fsync.
    AppendFsync,
    /// Append, then fdatasync (the file grows with every commit).
    AppendFdatasync,
    /// Extend with `set_len` (sparse) in chunks of this many bytes, overwrite, fdatasync.
    Sparse(u64),
    /// Write zeros ahead in chunks of this many bytes, overwrite, fdatasync.
    Zeroed(u64),
    /// Zeros ahead in chunks, overwrite through a descriptor opened with O_DSYNC.
    ZeroedDsync(u64),
}

/// One 121-byte frame per call, committed as `how` says, on one file.
fn commit_floor(how: Commit, secs: f64) -> Cell {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    let dir = scratch("commit");
    let path = dir.join("log");
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create(true);
    if let Commit::ZeroedDsync(_) = how {
        // O_DSYNC on Linux.
        o.custom_flags(0o10000);
    }
    let f = o.open(&path).unwrap();
    let state = std::sync::Mutex::new((0u64, 0u64)); // (end, allocated)
    let c = drive(1, secs, |_, _| {
        let mut st = state.lock().unwrap();
        let (end, alloc) = *st;
        let frame = [7u8; 121];
        let new_end = end + 121;
        match how {
            Commit::Sparse(chunk) if new_end > alloc => {
                let to = new_end.div_ceil(chunk) * chunk;
                f.set_len(to).unwrap();
                st.1 = to;
            }
            Commit::Zeroed(chunk) | Commit::ZeroedDsync(chunk) if new_end > alloc => {
                let to = new_end.div_ceil(chunk) * chunk;
                f.write_all_at(&vec![0u8; (to - alloc) as usize], alloc)
                    .unwrap();
                st.1 = to;
            }
            _ => {}
        }
        f.write_all_at(&frame, end).unwrap();
        match how {
            Commit::AppendFsync => f.sync_all().unwrap(),
            Commit::ZeroedDsync(_) => {}
            _ => f.sync_data().unwrap(),
        }
        st.0 = new_end;
    });
    let _ = std::fs::remove_dir_all(&dir);
    c
}

fn rss_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Child mode: open a directory with a budget and report resident memory.
fn open_and_report(dir: &Path, budget: usize) {
    let t0 = Instant::now();
    let s = Store::open(
        dir,
        Options {
            read_only: true,
            resident_budget: budget,
            ..Options::default()
        },
    )
    .unwrap();
    let open = t0.elapsed().as_secs_f64();
    println!(
        "{} {} {} {:.3} {}",
        s.url_count(),
        s.resident(),
        rss_kb("VmHWM:"),
        open,
        rss_kb("VmRSS:")
    );
}

/// Builds a directory holding the corpus: a snapshot of every URL, then a log of `log_puts`
/// re-puts of the first URLs (crawled).
fn corpus_dir(corpus: &Path, log_puts: usize) -> (PathBuf, f64, usize) {
    let dir = scratch("corpus");
    let file = dir.join("seed.meguri");
    let opts = meguri::ops::SeedOptions {
        out: file.clone(),
        priority: 0.5,
        crawl_delay: 10,
        encoding: meguri::encode::EncodeSettings::default(),
        memory: meguri::seed_sort::DEFAULT_MEMORY,
        tmp_dir: None,
    };
    meguri::ops::seed(
        meguri::ops::SeedInput::Path(corpus.to_path_buf()),
        &opts,
        &mut meguri::ops::Silent,
    )
    .unwrap();
    let p = meguri_core::reader::Reader::open(&std::fs::read(&file).unwrap()[..])
        .unwrap()
        .partition()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    let store_dir = dir.join("store");
    let store = Store::open(
        &store_dir,
        Options {
            durability: Durability::None,
            ..Options::default()
        },
    )
    .unwrap();
    // The arena, entry by entry, so every reference in the rows resolves as in the file.
    let mut at = 1;
    let mut batch: Vec<meguri_core::store::frame::Update<'_>> = Vec::new();
    while at < p.arena.len() {
        let (len, n) = meguri_core::bytes::read_uvarint(&p.arena[at..]).unwrap();
        let s = &p.arena[at + n..at + n + len as usize];
        batch.push(meguri_core::store::frame::Update::Intern(s));
        at += n + len as usize;
        if batch.len() == 4096 {
            store.apply(&batch).unwrap();
            batch.clear();
        }
    }
    store.apply(&batch).unwrap();
    for chunk in p.hosts.chunks(4096) {
        let b: Vec<_> = chunk
            .iter()
            .map(|h| meguri_core::store::frame::Update::PutHost(*h))
            .collect();
        store.apply(&b).unwrap();
    }
    for chunk in p.urls.chunks(4096) {
        let b: Vec<_> = chunk
            .iter()
            .map(|u| meguri_core::store::frame::Update::PutUrl(*u))
            .collect();
        store.apply(&b).unwrap();
    }
    let t0 = Instant::now();
    store.checkpoint().unwrap();
    let checkpoint = t0.elapsed().as_secs_f64();
    for u in p.urls.iter().take(log_puts) {
        let mut u = *u;
        u.status = 4;
        u.crawl_count += 1;
        store.put_url(u).unwrap();
    }
    store.close().unwrap();
    (store_dir, checkpoint, p.urls.len())
}

/// One writer putting URLs as fast as its acknowledgements allow while the main thread runs a
/// checkpoint: the checkpoint's length, the puts acknowledged while it ran, and the longest
/// and 99th-percentile acknowledgement latency among them (the writer's stall).
fn writer_stall(dir: &Path, d: Durability) -> (f64, usize, Duration, Duration) {
    let store = Store::open(
        dir,
        Options {
            durability: d,
            ..Options::default()
        },
    )
    .unwrap();
    let running = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let (ck, mut lat) = std::thread::scope(|s| {
        let w = s.spawn(|| {
            let mut lat = Vec::new();
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let during = running.load(Ordering::Relaxed);
                let t0 = Instant::now();
                store.put_url(record(99, i)).unwrap();
                let took = t0.elapsed();
                if during || running.load(Ordering::Relaxed) {
                    lat.push(took);
                }
                i += 1;
            }
            lat
        });
        std::thread::sleep(Duration::from_millis(200));
        running.store(true, Ordering::Relaxed);
        let t0 = Instant::now();
        store.checkpoint().unwrap();
        let ck = t0.elapsed().as_secs_f64();
        running.store(false, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(50));
        stop.store(true, Ordering::Relaxed);
        (ck, w.join().unwrap())
    });
    store.close().unwrap();
    lat.sort_unstable();
    let max = lat.last().copied().unwrap_or_default();
    let p99 = lat
        .get((lat.len() as f64 * 0.99) as usize)
        .copied()
        .unwrap_or(max);
    (ck, lat.len(), max, p99)
}

fn main() {
    if let Ok(spec) = std::env::var("MEGURI_BENCH_OPEN") {
        let (dir, budget) = spec.split_once('|').unwrap();
        open_and_report(Path::new(dir), budget.parse().unwrap());
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` would pass nothing and should not
    // spend minutes here.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs: f64 = std::env::var("MEGURI_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    println!("== acknowledged updates (16-byte key, 87-byte value), {secs} s per cell");
    println!("engine   mode    writers      rate          latency");
    let floor = fsync_floor(secs);
    print("fsync", "raw", 1, &floor);
    if std::env::var_os("MEGURI_BENCH_COMMIT").is_some() {
        println!("\n== one writer's commit: 121-byte frames, one file");
        for (name, how) in [
            ("append+fsync", Commit::AppendFsync),
            ("append+fdatasync", Commit::AppendFdatasync),
            ("sparse 1M+fdatasync", Commit::Sparse(1 << 20)),
            ("zeroed 64K+fdatasync", Commit::Zeroed(64 << 10)),
            ("zeroed 1M+fdatasync", Commit::Zeroed(1 << 20)),
            ("zeroed 16M+fdatasync", Commit::Zeroed(16 << 20)),
            ("zeroed 1M+O_DSYNC", Commit::ZeroedDsync(1 << 20)),
        ] {
            print(name, "", 1, &commit_floor(how, secs));
        }
        for (name, chunk) in [
            ("chunk 0", 0u64),
            ("chunk 64K", 64 << 10),
            ("chunk 1M", 1 << 20),
        ] {
            print(
                "meguri",
                name,
                1,
                &meguri_cell_with(Durability::Full, 1, secs, chunk),
            );
        }
        return;
    }
    let mut full64 = (0.0, 0.0);
    for writers in [1u64, 8, 64] {
        for (mode, d) in [
            ("none", Durability::None),
            ("normal", Durability::Normal),
            ("full", Durability::Full),
        ] {
            let r = print("meguri", mode, writers, &meguri_cell(d, writers, secs));
            if writers == 64 && d == Durability::Full {
                full64.0 = r;
            }
        }
        if std::env::var_os("MEGURI_BENCH_ONLY_MEGURI").is_some() {
            continue;
        }
        for sync in ["OFF", "NORMAL", "FULL"] {
            let r = print(
                "sqlite",
                &sync.to_lowercase(),
                writers,
                &sqlite_cell(sync, writers, secs),
            );
            if writers == 64 && sync == "FULL" {
                full64.1 = r;
            }
        }
        print(
            "fjall",
            "nosync",
            writers,
            &fjall_cell(false, writers, secs),
        );
        print("fjall", "sync", writers, &fjall_cell(true, writers, secs));
    }
    println!(
        "meguri full / sqlite FULL at 64 writers: {:.1}x",
        full64.0 / full64.1.max(1e-9)
    );

    println!("\n== recovery: replay of 1,000,000 URL put frames");
    let dir = scratch("replay");
    {
        let s = Store::open(
            &dir,
            Options {
                durability: Durability::None,
                ..Options::default()
            },
        )
        .unwrap();
        let batch: Vec<_> = (0..1_000_000u64)
            .map(|i| meguri_core::store::frame::Update::PutUrl(record(i % 64, i)))
            .collect();
        for c in batch.chunks(10_000) {
            s.apply(c).unwrap();
        }
        s.close().unwrap();
    }
    let t0 = Instant::now();
    let s = Store::open(&dir, Options::default()).unwrap();
    println!(
        "open + replay of {} frames ({} MB of log): {:.3} s",
        s.recovery().frames,
        s.recovery().log_bytes >> 20,
        t0.elapsed().as_secs_f64()
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);

    let Some(corpus) = std::env::var_os("MEGURI_CORPUS").map(PathBuf::from) else {
        eprintln!("SKIPPED: MEGURI_CORPUS is unset; no checkpoint or resident-memory figures");
        return;
    };
    println!("\n== the corpus as a partition directory");
    let (dir, checkpoint, urls) = corpus_dir(&corpus, 50_000);
    println!("checkpoint of {urls} URLs: {checkpoint:.3} s");
    for d in [Durability::Normal, Durability::Full] {
        let (ck, n, max, p99) = writer_stall(&dir, d);
        println!(
            "writer stall, {d:?}: checkpoint {ck:.3} s; {n} puts acknowledged during it, \
             max latency {:.1} ms, p99 {:.2} ms",
            max.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
    for budget in [0, urls / 10] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("MEGURI_BENCH_OPEN", format!("{}|{budget}", dir.display()))
            .output()
            .unwrap();
        let t = String::from_utf8_lossy(&out.stdout);
        let f: Vec<&str> = t.split_whitespace().collect();
        println!(
            "budget {:>7}: {} URLs, {} resident, peak RSS {} MB, RSS after open {} MB, open {} s",
            if budget == 0 {
                "none".to_string()
            } else {
                budget.to_string()
            },
            f.first().unwrap_or(&"?"),
            f.get(1).unwrap_or(&"?"),
            f.get(2).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) / 1024,
            f.get(4).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) / 1024,
            f.get(3).unwrap_or(&"?"),
        );
    }
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}
