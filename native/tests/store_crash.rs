//! Crash tests of the partition directory, with real processes and real files:
//! - a kill -9 loop under `full` durability, checked against a model after every reopen;
//! - a crash at each step of a checkpoint;
//! - a torn-tail matrix: the log cut at every byte and bit-flipped across its last frames;
//! - damaged superblock slots;
//! - an injected fsync failure;
//! - simulated power loss (the `sim` file system: what was not fsynced is gone, the write in
//!   flight torn): random cuts under every durability mode with writers running, and a cut
//!   at every storage operation of a checkpoint while a writer goes on.
//!
//! The crashing processes are this test binary itself, re-run with `STORE_CHILD` set: the
//! `child` test then becomes a writer that prints one line per acknowledged update.

use meguri::store::sim::{Loss, SimFs};
use meguri::store::{Durability, Options, Store, StoreError};
use meguri_core::keys::UrlKey;
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::store::superblock;
use meguri_tests::Scratch;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One writer thread's operation.
#[derive(Debug, Clone)]
enum Op {
    Put(UrlRecord),
    Delete(UrlKey),
    Host(HostRecord),
    Intern(Vec<u8>),
    Checkpoint,
}

/// Operation `i` of thread `t` in cycle `seed`: keys are the thread's own (URL host key
/// `t + 1`, host keys `(t + 1) << 32 | x`), so each thread's slice of the state is
/// determined by how many of its operations took effect. Only thread 0 interns and
/// checkpoints, so the arena is determined too.
fn op(seed: u64, t: u64, i: u64) -> Op {
    let mut r = Rng(seed ^ (t << 48) ^ i.wrapping_mul(0x1000_0001));
    r.next();
    let key = UrlKey {
        host: t + 1,
        path: r.below(64),
    };
    match r.below(100) {
        0..=69 => Op::Put(UrlRecord {
            key,
            status: r.below(9) as u8,
            next_due: r.below(1 << 20) as u32,
            crawl_count: i as u32,
            simhash: r.next(),
            ..UrlRecord::default()
        }),
        70..=84 => Op::Delete(key),
        85..=94 => Op::Host(HostRecord {
            host_key: ((t + 1) << 32) | r.below(8),
            crawl_delay: r.below(100) as u16,
            url_count: i as u32,
            ..HostRecord::default()
        }),
        95..=97 if t == 0 => Op::Intern(format!("https://h{seed}.example/{i}").into_bytes()),
        98..=99 if t == 0 && i.is_multiple_of(7) => Op::Checkpoint,
        _ => Op::Delete(key),
    }
}

/// Everything the store holds, as a model.
#[derive(Debug, Clone, Default, PartialEq)]
struct Model {
    urls: BTreeMap<UrlKey, UrlRecord>,
    hosts: BTreeMap<u64, HostRecord>,
    arena: Vec<u8>,
}

impl Model {
    fn apply(&mut self, o: &Op) {
        match o {
            Op::Put(u) => {
                self.urls.insert(u.key, *u);
            }
            Op::Delete(k) => {
                self.urls.remove(k);
            }
            Op::Host(h) => {
                self.hosts.insert(h.host_key, *h);
            }
            Op::Intern(s) => {
                meguri_core::bytes::put_uvarint(&mut self.arena, s.len() as u64);
                self.arena.extend_from_slice(s);
            }
            Op::Checkpoint => {}
        }
    }

    fn of(store: &Store) -> Model {
        let p = store.partition().unwrap();
        Model {
            urls: p.urls.into_iter().map(|u| (u.key, u)).collect(),
            hosts: p.hosts.into_iter().map(|h| (h.host_key, h)).collect(),
            arena: p.arena,
        }
    }

    /// Thread `t`'s slice (with the arena for thread 0).
    fn slice(&self, t: u64) -> Model {
        Model {
            urls: self
                .urls
                .iter()
                .filter(|(k, _)| k.host == t + 1)
                .map(|(k, v)| (*k, *v))
                .collect(),
            hosts: self
                .hosts
                .iter()
                .filter(|(k, _)| *k >> 32 == t + 1)
                .map(|(k, v)| (*k, *v))
                .collect(),
            arena: if t == 0 {
                self.arena.clone()
            } else {
                Vec::new()
            },
        }
    }
}

fn full() -> Options {
    Options {
        durability: Durability::Full,
        ..Options::default()
    }
}

/// The child writer (a no-op unless `STORE_CHILD` is set).
#[test]
fn child() {
    let Ok(mode) = std::env::var("STORE_CHILD") else {
        return;
    };
    let dir = std::env::var("STORE_DIR").unwrap();
    let seed: u64 = std::env::var("STORE_SEED").unwrap().parse().unwrap();
    let store = Arc::new(Store::open(Path::new(&dir), full()).unwrap());
    let out = Arc::new(Mutex::new(std::io::stdout()));
    match mode.as_str() {
        "loop" => {
            let threads: u64 = std::env::var("STORE_THREADS").unwrap().parse().unwrap();
            writeln!(out.lock().unwrap(), "open").unwrap();
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (store, out) = (store.clone(), out.clone());
                    std::thread::spawn(move || {
                        for i in 0.. {
                            match op(seed, t, i) {
                                Op::Put(u) => drop(store.put_url(u).unwrap()),
                                Op::Delete(k) => drop(store.delete_url(k).unwrap()),
                                Op::Host(h) => drop(store.put_host(h).unwrap()),
                                Op::Intern(s) => drop(store.intern(&s).unwrap()),
                                Op::Checkpoint => drop(store.checkpoint().unwrap()),
                            }
                            let mut o = out.lock().unwrap();
                            writeln!(o, "ack {t} {i}").unwrap();
                            o.flush().unwrap();
                        }
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
        }
        "checkpoint" => {
            // 300 acknowledged updates, then a checkpoint that MEGURI_CRASH_AT interrupts.
            for i in 0..300 {
                store.put_url(url(i)).unwrap();
            }
            writeln!(out.lock().unwrap(), "acked").unwrap();
            store.checkpoint().unwrap();
            writeln!(out.lock().unwrap(), "checkpointed").unwrap();
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn url(i: u64) -> UrlRecord {
    UrlRecord {
        key: UrlKey {
            host: 1 + i % 5,
            path: i,
        },
        crawl_count: i as u32,
        ..UrlRecord::default()
    }
}

fn spawn_child(mode: &str, dir: &Path, seed: u64, extra: &[(&str, &str)]) -> std::process::Child {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child", "--nocapture", "--test-threads", "1"])
        .env("STORE_CHILD", mode)
        .env("STORE_DIR", dir)
        .env("STORE_SEED", seed.to_string())
        .env("STORE_THREADS", "4")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in extra {
        c.env(k, v);
    }
    c.spawn().unwrap()
}

#[test]
fn kill_9_loop_loses_no_acknowledged_update() {
    let cycles: u64 = if std::env::var("CI").is_ok() { 40 } else { 25 };
    let s = Scratch::new("store-kill");
    let dir = s.join("d");
    let mut model = Model {
        arena: vec![0],
        ..Model::default()
    };
    let (mut kills, mut checked, mut acks_total) = (0u64, 0u64, 0u64);
    for cycle in 0..cycles {
        let seed = 1000 + cycle;
        let mut child = spawn_child("loop", &dir, seed, &[]);
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let reader = {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for l in std::io::BufReader::new(stdout).lines() {
                    let Ok(l) = l else { break };
                    lines.lock().unwrap().push(l);
                }
            })
        };
        // Wait until the child has opened the store, then let it run a random while.
        let t0 = std::time::Instant::now();
        // libtest prints "test child ... " before the first line, without a newline.
        while !lines.lock().unwrap().iter().any(|l| l.ends_with("open")) {
            assert!(t0.elapsed() < Duration::from_secs(60), "child never opened");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("child exited early: {status}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let mut r = Rng(seed);
        std::thread::sleep(Duration::from_millis(10 + r.below(150)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        kills += 1;
        // Acknowledged operations per thread: all ops up to the last acked index.
        let mut acked = [0u64; 4];
        for l in lines.lock().unwrap().iter() {
            if let Some(rest) = l.strip_prefix("ack ") {
                // (acks are whole lines; the "open" line carried libtest's prefix)
                let mut it = rest.split(' ');
                let t: usize = it.next().unwrap().parse().unwrap();
                let i: u64 = it.next().unwrap().parse().unwrap();
                assert_eq!(i, acked[t], "acks of a thread come in order");
                acked[t] = i + 1;
            }
        }
        acks_total += acked.iter().sum::<u64>();
        // Reopen as the next writer would (truncating any torn tail), and compare each
        // thread's slice with the model after its acknowledged ops, or one more (written,
        // not yet acknowledged).
        let store = Store::open(&dir, full()).unwrap();
        let got = Model::of(&store);
        store.close().unwrap();
        let mut next = Model::default();
        for t in 0..4u64 {
            let mut m = model.slice(t);
            for i in 0..acked[t as usize] {
                m.apply(&op(seed, t, i));
            }
            let want = got.slice(t);
            if m != want {
                m.apply(&op(seed, t, acked[t as usize]));
            }
            if m != want {
                let diff: Vec<_> = m
                    .urls
                    .iter()
                    .filter(|(k, v)| want.urls.get(k) != Some(v))
                    .map(|(k, _)| k.path)
                    .collect();
                let extra: Vec<_> = want
                    .urls
                    .keys()
                    .filter(|k| !m.urls.contains_key(k))
                    .map(|k| k.path)
                    .collect();
                panic!(
                    "cycle {cycle}: thread {t}'s state after reopen is neither the model after its \
                     {} acknowledged ops nor one more (urls {} vs {}, differing {diff:?}, extra {extra:?}, hosts eq {}, arena {} vs {})",
                    acked[t as usize], m.urls.len(), want.urls.len(), m.hosts == want.hosts, m.arena.len(), want.arena.len()
                );
            }
            checked += m.urls.len() as u64 + m.hosts.len() as u64;
            next.urls.extend(m.urls);
            next.hosts.extend(m.hosts);
            if t == 0 {
                next.arena = m.arena;
            }
        }
        model = next;
    }
    eprintln!(
        "kill -9 loop: {kills} kills survived, {acks_total} acknowledged updates, \
         {checked} records checked against the model"
    );
    assert!(
        acks_total > cycles,
        "the children acknowledged almost nothing"
    );
}

#[test]
fn a_crash_at_each_checkpoint_step_recovers_a_consistent_generation() {
    for (point, gen, survivors) in [
        ("checkpoint-log-created", 0, ["log-1"].as_slice()),
        ("checkpoint-rotated", 0, ["log-1"].as_slice()),
        ("checkpoint-prepared", 0, ["log-1"].as_slice()),
        (
            "checkpoint-committed",
            1,
            ["log-2", "snap-1.meguri", "super"].as_slice(),
        ),
    ] {
        let s = Scratch::new("store-ckpt-crash");
        let dir = s.join("d");
        let mut child = spawn_child("checkpoint", &dir, 1, &[("MEGURI_CRASH_AT", point)]);
        let status = child.wait().unwrap();
        assert!(!status.success(), "{point}: the child did not crash");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        eprintln!("{point}: after the crash: {names:?}");
        let store = Store::open(&dir, full()).unwrap();
        assert_eq!(store.generation(), gen, "{point}");
        assert_eq!(store.url_count(), 300, "{point}");
        for i in 0..300 {
            assert_eq!(store.get_url(url(i).key).unwrap(), Some(url(i)));
        }
        assert!(
            !store.recovery().events.is_empty(),
            "{point}: leftovers were removed silently"
        );
        store.close().unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, survivors, "{point}");
    }
}

/// A store with `n` updates of every kind in its log (no checkpoint), closed.
fn logged_store(dir: &Path, n: u64) -> Vec<Op> {
    let st = Store::open(dir, full()).unwrap();
    let mut ops = Vec::new();
    for i in 0..n {
        let o = match i % 4 {
            0 | 1 => Op::Put(url(i)),
            2 => Op::Intern(format!("https://x.example/{i}").into_bytes()),
            _ => Op::Host(HostRecord {
                host_key: i,
                ..HostRecord::default()
            }),
        };
        match &o {
            Op::Put(u) => drop(st.put_url(*u).unwrap()),
            Op::Intern(s) => drop(st.intern(s).unwrap()),
            Op::Host(h) => drop(st.put_host(*h).unwrap()),
            _ => unreachable!(),
        }
        ops.push(o);
    }
    st.close().unwrap();
    ops
}

fn model_of(ops: &[Op]) -> Model {
    let mut m = Model {
        arena: vec![0],
        ..Model::default()
    };
    for o in ops {
        m.apply(o);
    }
    m
}

/// Frame boundaries of a log (offsets where each frame ends).
fn frame_ends(log: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while let meguri_core::store::frame::Parsed::Frame(f) =
        meguri_core::store::frame::parse(&log[at..], at as u64)
    {
        at += f.len;
        ends.push(at);
    }
    assert_eq!(at, log.len());
    ends
}

#[test]
fn torn_tail_matrix_recovers_a_gap_free_prefix_and_later_appends_survive() {
    let s = Scratch::new("store-torn");
    let base = s.join("base");
    let ops = logged_store(&base, 40);
    let log = std::fs::read(base.join("log-1")).unwrap();
    let ends = frame_ends(&log);
    assert_eq!(ends.len(), 40);
    let first = ends[ends.len() - 4]; // the last three frames, byte by byte
    let extra = url(777_777);
    let mut cases = 0;
    let mut damage: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in first..log.len() {
        damage.push((format!("cut at {cut}"), log[..cut].to_vec()));
    }
    for at in first..log.len() {
        let mut b = log.clone();
        b[at] ^= 1 << (at % 8);
        damage.push((format!("bit flip at {at}"), b));
    }
    for (what, bytes) in damage {
        let dir = s.join("case");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("log-1"), &bytes).unwrap();
        // The frames wholly before the first damaged byte survive, nothing after it does.
        let first_bad = bytes
            .iter()
            .zip(&log)
            .position(|(a, b)| a != b)
            .unwrap_or(bytes.len());
        let intact = ends.iter().filter(|&&e| e <= first_bad).count();
        let st = Store::open(&dir, full()).unwrap();
        assert_eq!(Model::of(&st), model_of(&ops[..intact]), "{what}");
        let boundary = if intact == 0 { 0 } else { ends[intact - 1] };
        if bytes.len() > boundary {
            assert!(
                st.recovery()
                    .events
                    .iter()
                    .any(|n| n.to_string().contains("truncated")),
                "{what}: {:?}",
                st.recovery().events
            );
        }
        st.put_url(extra).unwrap();
        st.close().unwrap();
        let st = Store::open(&dir, full()).unwrap();
        let mut want = model_of(&ops[..intact]);
        want.apply(&Op::Put(extra));
        assert_eq!(
            Model::of(&st),
            want,
            "{what}: the append after recovery was lost"
        );
        drop(st);
        cases += 1;
    }
    eprintln!("torn-tail matrix: {cases} damaged logs recovered");
}

#[test]
fn damaged_superblock_slots() {
    let s = Scratch::new("store-super");
    let dir = s.join("d");
    let st = Store::open(&dir, full()).unwrap();
    for i in 0..50 {
        st.put_url(url(i)).unwrap();
    }
    st.checkpoint().unwrap(); // generation 1, slot B
    for i in 50..80 {
        st.put_url(url(i)).unwrap();
    }
    st.checkpoint().unwrap(); // generation 2, slot A
    st.put_url(url(80)).unwrap();
    st.close().unwrap();
    let good = std::fs::read(dir.join("super")).unwrap();
    let with = |b: &[u8]| {
        std::fs::write(dir.join("super"), b).unwrap();
        Store::open(
            &dir,
            Options {
                read_only: true,
                ..Options::default()
            },
        )
    };
    // The older slot damaged: nothing changes.
    let mut b = good.clone();
    b[superblock::SLOT_LEN + 40] ^= 0x10;
    let st = with(&b).unwrap();
    assert_eq!((st.generation(), st.url_count()), (2, 81));
    assert!(st
        .recovery()
        .events
        .iter()
        .any(|n| n.to_string().contains("slot B")));
    // The current slot damaged: generation 1's files are gone (generation 2 committed and
    // cleaned up), so this must be a precise error, not an empty or older partition.
    let mut b = good.clone();
    b[40] ^= 0x10;
    let e = with(&b).err().unwrap();
    assert!(matches!(e, StoreError::SnapshotMissing { .. }), "{e:?}");
    assert!(e.to_string().contains("snap-1.meguri"), "{e}");
    // Both damaged: refused, naming both slots.
    let mut b = good.clone();
    b[40] ^= 0x10;
    b[superblock::SLOT_LEN + 40] ^= 0x10;
    let e = with(&b).err().unwrap().to_string();
    assert!(e.contains("slot A") && e.contains("slot B"), "{e}");
    // A superblock that names a missing log: refused with the file's name.
    std::fs::write(dir.join("super"), &good).unwrap();
    std::fs::rename(dir.join("log-3"), dir.join("moved")).unwrap();
    let e = Store::open(&dir, full()).err().unwrap();
    assert!(matches!(e, StoreError::LogMissing { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.contains("log-3") && e.contains("missing"), "{e}");
    std::fs::rename(dir.join("moved"), dir.join("log-3")).unwrap();
    // A snapshot that fails verification: refused, naming it.
    let snap = dir.join("snap-2.meguri");
    let mut b = std::fs::read(&snap).unwrap();
    b[100] ^= 0xff;
    std::fs::write(&snap, &b).unwrap();
    let e = Store::open(&dir, full()).err().unwrap();
    assert!(matches!(e, StoreError::SnapshotDamaged { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.contains("snap-2.meguri") && e.contains("verif"), "{e}");
}

#[test]
fn a_failed_fsync_is_surfaced_and_the_store_refuses_further_writes() {
    // The failing disk is the simulated one: its fifth fsync of a log fails.
    let sim = SimFs::new();
    let dir = Path::new("/d");
    sim.fail_sync("log-", 5);
    let on_sim = |d: Durability| Options {
        durability: d,
        storage: Some(sim.storage()),
        ..Options::default()
    };
    let st = Arc::new(Store::open(dir, on_sim(Durability::Full)).unwrap());
    // 8 writers; the fifth fsync fails. Every update acknowledged before it survives; the
    // writers of the failed batch get an error, never an acknowledgement.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let failed = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            let (st, acked, failed) = (st.clone(), acked.clone(), failed.clone());
            std::thread::spawn(move || {
                for i in 0..50u64 {
                    let u = url(t * 1000 + i);
                    match st.put_url(u) {
                        Ok(_) => acked.lock().unwrap().push(u),
                        Err(e) => {
                            failed.lock().unwrap().push(e);
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let failed: Vec<StoreError> = std::mem::take(&mut *failed.lock().unwrap());
    assert_eq!(failed.len(), 8, "every writer must see the failure");
    assert!(
        failed.iter().all(|e| matches!(
            e,
            StoreError::NotDurable { .. } | StoreError::Poisoned { .. }
        )),
        "{failed:?}"
    );
    let texts: Vec<String> = failed.iter().map(|e| e.to_string()).collect();
    assert!(
        texts.iter().any(|e| e.contains("injected fsync failure")),
        "{texts:?}"
    );
    assert!(texts.iter().all(|e| e.contains("refuse")), "{texts:?}");
    let e = st.put_url(url(99_999)).unwrap_err();
    assert!(matches!(e, StoreError::Poisoned { .. }), "{e:?}");
    assert!(e.to_string().contains("refuses writes"), "{e}");
    assert!(
        st.checkpoint().is_err(),
        "a checkpoint after a failed fsync"
    );
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty());
    drop(st);
    // What a power cut leaves: every acknowledged update is there.
    let after = sim.after_power_loss(Loss::Strict);
    let st = Store::open(
        dir,
        Options {
            durability: Durability::Full,
            storage: Some(after.storage()),
            ..Options::default()
        },
    )
    .unwrap();
    for u in &acked {
        assert_eq!(
            st.get_url(u.key).unwrap(),
            Some(*u),
            "an acknowledged update was lost"
        );
    }
}

/// Runs `op` on `store`; `Ok(true)` when it was acknowledged.
fn run_op(store: &Store, o: &Op) -> bool {
    match o {
        Op::Put(u) => store.put_url(*u).is_ok(),
        Op::Delete(k) => store.delete_url(*k).is_ok(),
        Op::Host(h) => store.put_host(*h).is_ok(),
        Op::Intern(s) => store.intern(s).is_ok(),
        Op::Checkpoint => store.checkpoint().is_ok(),
    }
}

fn on(sim: &SimFs, d: Durability) -> Options {
    Options {
        durability: d,
        storage: Some(sim.storage()),
        // Small chunks, so the log grows (and is preallocated) often within a cycle.
        log_chunk: 4096,
        ..Options::default()
    }
}

/// The names in a simulated directory.
fn sim_names(sim: &SimFs, dir: &Path) -> Vec<String> {
    use meguri::store::storage::Storage;
    sim.list(dir).unwrap()
}

#[test]
fn power_loss_under_every_durability_mode_loses_only_what_the_mode_allows() {
    let cycles: u64 = if std::env::var("CI").is_ok() { 60 } else { 40 };
    let dir = Path::new("/p");
    let (mut losses, mut acked_checked, mut reopened) = (0u64, 0u64, 0u64);
    for d in [Durability::Full, Durability::Normal, Durability::None] {
        let mut sim = SimFs::new();
        let mut model = Model {
            arena: vec![0],
            ..Model::default()
        };
        for cycle in 0..cycles {
            let seed = 7000 + cycle + ((d as u64) << 20);
            let mut r = Rng(seed);
            let store = Arc::new(Store::open(dir, on(&sim, d)).unwrap());
            // The power goes out somewhere in the next few hundred storage operations.
            sim.cut_at_op(sim.ops() + 1 + r.below(300), seed);
            // Per thread: operations acknowledged, and the first one done after a
            // checkpoint of thread 0 was acknowledged (under normal and none, what that
            // checkpoint covered is durable).
            let results: Vec<(u64, u64)> = std::thread::scope(|s| {
                let hs: Vec<_> = (0..3u64)
                    .map(|t| {
                        let store = store.clone();
                        s.spawn(move || {
                            let (mut i, mut durable) = (0u64, 0u64);
                            loop {
                                let o = op(seed, t, i);
                                if !run_op(&store, &o) {
                                    return (i, durable);
                                }
                                i += 1;
                                if matches!(o, Op::Checkpoint) {
                                    durable = i;
                                }
                                if i > 5_000 {
                                    return (i, durable);
                                }
                            }
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
            drop(store);
            assert!(sim.is_cut(), "{d:?} cycle {cycle}: the cut never came");
            losses += 1;
            let loss = if cycle % 2 == 0 {
                Loss::Strict
            } else {
                Loss::Random(seed)
            };
            sim = sim.after_power_loss(loss);
            // It always reopens, whatever the mode.
            let store = Store::open(dir, on(&sim, Durability::Full))
                .unwrap_or_else(|e| panic!("{d:?} cycle {cycle} ({loss:?}): {e}"));
            reopened += 1;
            let got = Model::of(&store);
            store.close().unwrap();
            let mut next = Model::default();
            for t in 0..3u64 {
                let (acked, durable) = results[t as usize];
                // Full: the acknowledged prefix, or one more (written, not acknowledged).
                // Normal / none: any prefix of the thread's operations (replay is gap-free in
                // LSN order) that includes what a checkpoint made durable.
                let least = match d {
                    Durability::Full => acked,
                    _ => durable,
                };
                let want = got.slice(t);
                let mut m = model.slice(t);
                for i in 0..least {
                    m.apply(&op(seed, t, i));
                }
                let mut k = least;
                while m != want && k <= acked {
                    m.apply(&op(seed, t, k));
                    k += 1;
                }
                assert!(
                    m == want,
                    "{d:?} cycle {cycle} ({loss:?}): thread {t}'s state is no prefix of its \
                     operations from {least} to {} ({} URLs recovered)",
                    acked + 1,
                    want.urls.len()
                );
                acked_checked += least;
                next.urls.extend(m.urls);
                next.hosts.extend(m.hosts);
                if t == 0 {
                    next.arena = m.arena;
                }
            }
            model = next;
            let names = sim_names(&sim, dir);
            assert!(
                names
                    .iter()
                    .filter(|n| n.starts_with("log-") && !n.contains(".discarded-"))
                    .count()
                    == 1,
                "{d:?} cycle {cycle}: at rest, one log: {names:?}"
            );
        }
    }
    eprintln!(
        "power loss, every durability mode: {losses} simulated losses, {reopened} reopened \
         intact, {acked_checked} acknowledged (or checkpointed) updates checked, none lost"
    );
}

#[test]
fn power_loss_at_every_step_of_a_checkpoint_keeps_every_acknowledged_update() {
    let dir = Path::new("/c");
    // The base: 300 acknowledged updates in the log, and one earlier checkpoint.
    let base = SimFs::new();
    {
        let st = Store::open(dir, on(&base, Durability::Full)).unwrap();
        for i in 0..150 {
            st.put_url(url(i)).unwrap();
        }
        st.checkpoint().unwrap();
        for i in 150..300 {
            st.put_url(url(i)).unwrap();
        }
        st.close().unwrap();
    }
    let (mut cuts, mut checked, mut committed) = (0u64, 0u64, 0u64);
    let mut step = 1u64;
    loop {
        for loss in [Loss::Strict, Loss::Random(step)] {
            let sim = base.after_power_loss(Loss::Strict);
            let st = Store::open(dir, on(&sim, Durability::Full)).unwrap();
            sim.cut_at_op(sim.ops() + step, step);
            // A writer keeps putting (and being acknowledged) while the checkpoint runs.
            let (ckpt, acked) = std::thread::scope(|s| {
                let w = s.spawn(|| {
                    let mut acked = Vec::new();
                    for i in 1000..1200 {
                        if st.put_url(url(i)).is_err() {
                            break;
                        }
                        acked.push(url(i));
                    }
                    acked
                });
                let c = st.checkpoint();
                (c, w.join().unwrap())
            });
            let finished = ckpt.is_ok() && !sim.is_cut();
            drop(st);
            let after = sim.after_power_loss(loss);
            let st = Store::open(dir, on(&after, Durability::Full))
                .unwrap_or_else(|e| panic!("cut at step {step} ({loss:?}): {e}"));
            for i in 0..300 {
                assert_eq!(st.get_url(url(i).key).unwrap(), Some(url(i)), "step {step}");
            }
            for u in &acked {
                assert_eq!(
                    st.get_url(u.key).unwrap(),
                    Some(*u),
                    "cut at step {step} ({loss:?}): an acknowledged update was lost"
                );
            }
            assert!(st.generation() == 1 || st.generation() == 2, "step {step}");
            if st.generation() == 2 {
                committed += 1;
            }
            checked += 300 + acked.len() as u64;
            st.close().unwrap();
            let mut names = sim_names(&after, dir);
            names.retain(|n| !n.contains(".discarded-"));
            assert_eq!(names.len(), 3, "cut at step {step}: {names:?}");
            cuts += 1;
            if finished {
                eprintln!(
                    "power loss during a checkpoint: {cuts} cuts over {step} storage operations, \
                     {committed} after the commit point, {checked} acknowledged updates checked, \
                     none lost"
                );
                return;
            }
        }
        step += 1;
        assert!(step < 100_000, "the checkpoint never finished");
    }
}

#[test]
fn a_process_crash_then_a_power_cut_keeps_what_was_acknowledged_after_it() {
    // A process dies (its unsynced frames stay in the page cache, visible but not durable);
    // the next one replays them and acknowledges more on top; then the power goes out. The
    // acknowledged updates must not depend on frames that were never made durable.
    let dir = Path::new("/k");
    let sim = SimFs::new();
    let st = Store::open(dir, on(&sim, Durability::Full)).unwrap();
    for i in 0..50 {
        st.put_url(url(i)).unwrap();
    }
    drop(st);
    let st = Store::open(dir, on(&sim, Durability::None)).unwrap();
    let s0 = st.intern(b"https://unsynced.example/").unwrap();
    for i in 50..70 {
        st.put_url(url(i)).unwrap();
    }
    std::mem::forget(st); // killed: no close, no trim, nothing more
    sim.release_locks();
    let st = Store::open(dir, on(&sim, Durability::Full)).unwrap();
    assert_eq!(st.url_count(), 70);
    let s1 = st.intern(b"https://acked.example/").unwrap();
    let mut acked = Vec::new();
    for i in 70..100 {
        let mut u = url(i);
        u.url_ref = s1;
        st.put_url(u).unwrap();
        acked.push(u);
    }
    sim.power_cut();
    drop(st);
    let after = sim.after_power_loss(Loss::Strict);
    let st = Store::open(dir, on(&after, Durability::Full)).unwrap();
    for u in &acked {
        assert_eq!(
            st.get_url(u.key).unwrap(),
            Some(*u),
            "acknowledged update lost"
        );
        assert_eq!(st.string(u.url_ref).unwrap(), b"https://acked.example/");
    }
    assert_eq!(st.string(s0).unwrap(), b"https://unsynced.example/");
    assert_eq!(st.url_count(), 100);
}

/// A record with meguri's serving state is its put frame then its extension frame. A log cut
/// anywhere recovers each record as it was before, as put without its extension (cut between
/// the two frames: an update never acknowledged, since acknowledgement waits for the whole
/// write), or as put whole; never an extension on a record it was not written for.
#[test]
fn a_torn_extension_frame_leaves_the_record_whole_or_without_its_extension() {
    let s = Scratch::new("store-torn-ext");
    let base = s.join("base");
    let st = Store::open(&base, full()).unwrap();
    let mut versions: Vec<UrlRecord> = Vec::new();
    for i in 0..6u64 {
        // The same key again and again, alternating with and without the extension.
        let mut r = url(1);
        r.crawl_count = i as u32;
        if i % 2 == 0 {
            r.refetch_at = 1_000 + i as u32;
            r.lease_until = 2_000 + i as u32;
        }
        st.put_url(r).unwrap();
        versions.push(r);
    }
    st.close().unwrap();
    let log = std::fs::read(base.join("log-1")).unwrap();
    // Three puts with an extension: nine frames.
    let ends = frame_ends(&log);
    assert_eq!(ends.len(), 9);
    // Cuts at, just before and just after every frame boundary, and inside every frame.
    let mut cuts = std::collections::BTreeSet::from([0, 1]);
    let mut start = 0;
    for &e in &ends {
        cuts.extend([e - 1, e, (e + 1).min(log.len()), (start + e) / 2]);
        start = e;
    }
    let mut seen = std::collections::BTreeSet::new();
    for cut in cuts {
        let dir = s.join("case");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("log-1"), &log[..cut]).unwrap();
        let quick = Options {
            durability: Durability::None,
            ..Options::default()
        };
        let st = Store::open(&dir, quick.clone()).unwrap();
        let got = st.get_url(url(1).key).unwrap();
        let ok = match got {
            None => true,
            Some(g) => versions.iter().any(|v| {
                let mut bare = *v;
                bare.refetch_at = 0;
                bare.lease_until = 0;
                g == *v || g == bare
            }),
        };
        assert!(ok, "cut at {cut}: {got:?}");
        seen.insert(got.map(|g| (g.crawl_count, g.refetch_at)));
        // After recovery, a put without the extension is not given the torn one's.
        let mut plain = url(1);
        plain.crawl_count = 99;
        st.put_url(plain).unwrap();
        st.close().unwrap();
        let st = Store::open(&dir, quick).unwrap();
        assert_eq!(st.get_url(url(1).key).unwrap(), Some(plain), "cut at {cut}");
    }
    // Every version was seen whole, and those with an extension also without it.
    assert_eq!(seen.len(), 1 + 6 + 3, "{seen:?}");
}
