//! Properties of `split` and `compact` over generated partitions: random host and URL rows,
//! strings shared and not, arenas laid out in row order or shuffled (which forces the
//! streaming arena reader off its fast path), small pages, schedules and seen-sets.
//!
//! For every case: split at random cuts, then compact the parts: the rows come back exactly;
//! every URL key is in exactly one part; the parts tile the input's range; `verify` is clean
//! on every output; rebuilt seen-sets hold every key and rebuilt wheels list every due row.
//! And `compact --gc` keeps exactly the rows the horizon rule keeps.
//!
//! The generator is a seeded xorshift, so a failing case is reproduced by its seed (printed).

use meguri::arena_zip::ArenaZip;
use meguri::cli::EncodeArgs;
use meguri::ops::{compact, CompactOptions, CompactReport, Silent};
use meguri::ops::{split, Cuts, SplitOptions};
use meguri::reshape::Gc;
use meguri_core::format::codec::CZstd;
use meguri_core::keys::UrlKey;
use meguri_core::partition::Partition;
use meguri_core::reader::Reader;
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::seenset::BloomBuilder;
use meguri_core::write::{encode_with, WriteOptions};
use meguri_tests::{assert_verifies, values_at, values_of, Scratch, UrlValue};
use std::path::{Path, PathBuf};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, in_n: u64) -> bool {
        self.below(in_n) == 0
    }
}

/// A random partition whose arena is laid out in row order or shuffled.
fn generate(rng: &mut Rng) -> Partition {
    let span = 1u64 << (8 + rng.below(50));
    let lo = rng.next() % (u64::MAX - span);
    let hi = lo + span;
    let n_hosts = rng.below(40) as usize + usize::from(rng.chance(8)) * 100;
    let mut host_keys: Vec<u64> = (0..n_hosts).map(|_| lo + rng.below(span + 1)).collect();
    host_keys.sort_unstable();
    host_keys.dedup();
    let mut strings: Vec<Vec<u8>> = Vec::new();
    let intern = |s: String, strings: &mut Vec<Vec<u8>>| -> u64 {
        strings.push(s.into_bytes());
        strings.len() as u64 // a placeholder id, mapped to an offset below
    };
    let mut hosts = Vec::new();
    let mut urls = Vec::new();
    for (i, &hk) in host_keys.iter().enumerate() {
        let host_ref = intern(format!("host{i}.example"), &mut strings);
        let registrable_ref = if rng.chance(3) {
            intern("example".into(), &mut strings)
        } else {
            host_ref
        };
        let robots_ref = if rng.chance(4) {
            intern(format!("robots {i} {}", rng.next()), &mut strings)
        } else {
            0
        };
        let n_urls = rng.below(12);
        let mut paths: Vec<u64> = (0..n_urls).map(|_| rng.next()).collect();
        paths.sort_unstable();
        paths.dedup();
        let mut count = 0;
        for p in paths {
            let url_ref = intern(format!("http://host{i}.example/{p:x}"), &mut strings);
            let etag_ref = if rng.chance(3) {
                intern(format!("\"{}\"", rng.below(1000)), &mut strings)
            } else {
                0
            };
            let redirect_ref = if rng.chance(6) {
                intern(format!("https://host{i}.example/{p:x}"), &mut strings)
            } else {
                0
            };
            let status = if rng.chance(3) { 6 } else { rng.below(8) as u8 };
            urls.push(UrlRecord {
                key: UrlKey { host: hk, path: p },
                status,
                priority: rng.below(100) as f32 / 100.0,
                depth: rng.below(5) as u16,
                url_ref,
                first_seen: rng.below(1000) as u32,
                last_crawled: if rng.chance(4) {
                    0
                } else {
                    1000 + rng.below(3000) as u32
                },
                next_due: if rng.chance(2) {
                    0
                } else {
                    2000 + rng.below(30_000) as u32
                },
                crawl_count: rng.below(9) as u32,
                etag_ref,
                content_fp: rng.next(),
                http_status: [200, 304, 404, 410][rng.below(4) as usize],
                redirect_ref,
                error_count: rng.below(3) as u16,
                ..UrlRecord::default()
            });
            count += 1;
        }
        hosts.push(HostRecord {
            host_key: hk,
            host_ref,
            registrable_ref,
            robots_ref,
            resolved_ip: [i as u8; 16],
            crawl_delay: rng.below(100) as u16,
            url_count: count,
            host_score: rng.below(10) as f32,
            ..HostRecord::default()
        });
    }
    // Lay the strings out, in their order or shuffled.
    let mut order: Vec<usize> = (0..strings.len()).collect();
    if rng.chance(2) {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
    }
    let mut arena = vec![0u8];
    let mut offset = vec![0u64; strings.len() + 1];
    for &i in &order {
        offset[i + 1] = arena.len() as u64;
        meguri_core::bytes::put_uvarint(&mut arena, strings[i].len() as u64);
        arena.extend_from_slice(&strings[i]);
    }
    let map = |r: u64| offset[r as usize];
    for u in &mut urls {
        (u.url_ref, u.etag_ref, u.redirect_ref) =
            (map(u.url_ref), map(u.etag_ref), map(u.redirect_ref));
    }
    for h in &mut hosts {
        (h.host_ref, h.registrable_ref, h.robots_ref) =
            (map(h.host_ref), map(h.registrable_ref), map(h.robots_ref));
    }
    let seen_filter = if rng.chance(3) {
        let mut b = BloomBuilder::new(urls.len() as u64);
        urls.iter().for_each(|u| b.insert(u.key));
        b.finish()
    } else {
        Vec::new()
    };
    Partition {
        id: rng.below(100) as u32,
        hostkey_lo: lo,
        hostkey_hi: hi,
        created_hours: rng.below(500_000) as u32,
        urls,
        hosts,
        arena,
        meta: if rng.chance(3) {
            vec![(b"owner".to_vec(), b"props".to_vec())]
        } else {
            Vec::new()
        },
        schedule: rng.chance(2),
        seen_filter,
    }
}

fn encode_args(rng: &mut Rng) -> EncodeArgs {
    EncodeArgs {
        level: 1 + rng.below(3) as i32,
        arena_level: 3,
        page_rows: 1 + rng.below(40) as u32,
    }
}

/// Compacts `files` into `out` in-process, with random encoding settings.
fn compact_into(
    files: Vec<PathBuf>,
    out: &Path,
    gc: Option<Gc>,
    rng: &mut Rng,
) -> meguri::ops::Result<CompactReport> {
    let opts = CompactOptions {
        files,
        out: Some(out.to_path_buf()),
        gc,
        id: None,
        allow_gaps: false,
        encoding: encode_args(rng).encoding(),
    };
    compact(&opts, &mut Silent)
}

fn header(path: &Path) -> (u32, u64, u64) {
    let b = std::fs::read(path).unwrap();
    let r = Reader::open(&b[..]).unwrap();
    let h = r.header();
    (h.partition_id, h.hostkey_lo, h.hostkey_hi)
}

/// Every due row of a file is among its wheel's candidates, and its seen-set holds every key.
fn check_rebuilt(path: &Path, want_schedule: bool, want_seen: bool) {
    let b = std::fs::read(path).unwrap();
    let r = Reader::open(&b[..]).unwrap();
    let urls = r.url_table().unwrap();
    let any_due = urls.iter().any(|u| u.next_due != 0);
    match r.schedule().unwrap() {
        Some(w) => {
            assert!(
                want_schedule && any_due,
                "{}: unexpected wheel",
                path.display()
            );
            let now = urls.iter().map(|u| u.next_due).max().unwrap();
            let cands: std::collections::BTreeSet<u32> = w.due_candidates(now).collect();
            for (i, u) in urls.iter().enumerate() {
                if u.next_due != 0 {
                    assert!(
                        cands.contains(&(i as u32)),
                        "{}: row {i} not in the wheel",
                        path.display()
                    );
                }
            }
        }
        None => assert!(
            !(want_schedule && any_due),
            "{}: wheel missing",
            path.display()
        ),
    }
    match r.seen_filter().unwrap() {
        Some(f) => {
            assert!(want_seen, "{}: unexpected seen-set", path.display());
            assert!(urls.iter().all(|u| f.contains(u.key)));
            assert_eq!(f.key_count(), urls.len() as u64);
        }
        None => assert!(!want_seen, "{}: seen-set missing", path.display()),
    }
}

#[test]
fn split_then_compact_restores_every_row() {
    let cases = 48;
    for seed in 1..=cases {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        let p = generate(&mut rng);
        let dir = Scratch::new(&format!("props-{seed}"));
        let input = dir.join("in.meguri");
        let opts = WriteOptions {
            page_rows: 1 + rng.below(30) as usize,
            ..WriteOptions::default()
        };
        let bytes = encode_with(&p, &opts, &CZstd::new(1), &ArenaZip::default_settings()).unwrap();
        std::fs::write(&input, &bytes).unwrap();
        let want = values_of(&bytes);
        let (lo, hi) = (p.hostkey_lo, p.hostkey_hi);
        // Cuts: a few random keys inside the range, some at host keys.
        let mut cuts: Vec<u64> = (0..1 + rng.below(4))
            .map(|_| {
                if rng.chance(2) && !p.hosts.is_empty() {
                    p.hosts[rng.below(p.hosts.len() as u64) as usize].host_key
                } else {
                    lo + rng.below(hi - lo + 1)
                }
            })
            .filter(|&c| c > lo)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        if cuts.is_empty() {
            cuts.push(hi);
        }
        let parts_dir = dir.join("parts");
        split(
            &SplitOptions {
                file: input.clone(),
                cuts: Cuts::At(cuts.clone()),
                out_dir: parts_dir.clone(),
                first_id: None,
                manifest: None,
                epoch: 0,
                encoding: encode_args(&mut rng).encoding(),
            },
            &mut Silent,
        )
        .unwrap_or_else(|e| panic!("seed {seed}: split: {e}"));
        let parts: Vec<PathBuf> = (0..=cuts.len())
            .map(|i| parts_dir.join(format!("in-{i}.meguri")))
            .collect();
        // The parts tile the input's range, each holds exactly its keys, each verifies.
        let mut next_lo = lo;
        let mut urls: Vec<UrlValue> = Vec::new();
        let mut hosts = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            assert_verifies(part);
            check_rebuilt(part, p.schedule, !p.seen_filter.is_empty());
            let (_, plo, phi) = header(part);
            assert_eq!(
                plo, next_lo,
                "seed {seed}: part {i} does not start where the last ended"
            );
            next_lo = phi.wrapping_add(1);
            let (u, h) = values_at(part);
            assert!(u.iter().all(|v| (plo..=phi).contains(&v.rec.key.host)));
            assert!(h.iter().all(|v| (plo..=phi).contains(&v.rec.host_key)));
            urls.extend(u);
            hosts.extend(h);
        }
        assert_eq!(
            next_lo,
            hi.wrapping_add(1),
            "seed {seed}: parts stop short of the range"
        );
        assert!(
            urls == want.0,
            "seed {seed}: URL rows across the parts differ"
        );
        assert!(
            hosts == want.1,
            "seed {seed}: host rows across the parts differ"
        );
        let mut keys: Vec<UrlKey> = urls.iter().map(|v| v.rec.key).collect();
        keys.dedup();
        assert_eq!(keys.len(), urls.len(), "seed {seed}: a key appears twice");

        // Compact them back.
        let back = dir.join("back.meguri");
        let mut files = parts.clone();
        files.reverse();
        compact_into(files, &back, None, &mut rng)
            .unwrap_or_else(|e| panic!("seed {seed}: compact: {e}"));
        assert_verifies(&back);
        check_rebuilt(&back, p.schedule, !p.seen_filter.is_empty());
        assert_eq!(header(&back), (p.id, lo, hi), "seed {seed}: header");
        let got = values_at(&back);
        assert!(
            got.0 == want.0,
            "seed {seed}: URL rows differ after the round trip"
        );
        assert!(
            got.1 == want.1,
            "seed {seed}: host rows differ after the round trip"
        );
    }
}

#[test]
fn gc_keeps_exactly_what_the_horizon_rule_keeps() {
    for seed in 1..=24u64 {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ seed);
        let p = generate(&mut rng);
        let dir = Scratch::new(&format!("props-gc-{seed}"));
        let input = dir.join("in.meguri");
        let bytes =
            encode_with(&p, &WriteOptions::default(), &CZstd::new(1), &CZstd::new(1)).unwrap();
        std::fs::write(&input, &bytes).unwrap();
        let now = 2000 + rng.below(3000) as u32;
        // Horizons right at some Gone row's age, so the boundary itself is tested.
        let ages: Vec<u32> = p
            .urls
            .iter()
            .filter(|u| u.status == 6 && u.last_crawled != 0 && u.last_crawled <= now)
            .map(|u| now - u.last_crawled)
            .collect();
        let horizon = match ages.len() {
            0 => rng.below(3000) as u32,
            n => ages[rng.below(n as u64) as usize] + rng.below(2) as u32,
        };
        let out = dir.join("gc.meguri");
        let gc = Gc {
            horizon_hours: horizon,
            now,
        };
        let report = compact_into(vec![input.clone()], &out, Some(gc), &mut rng)
            .unwrap_or_else(|e| panic!("seed {seed}: compact --gc: {e}"));
        assert_verifies(&out);
        let keeps = |u: &UrlValue| {
            u.rec.status != 6
                || (u.rec.last_crawled != 0 && now.saturating_sub(u.rec.last_crawled) < horizon)
        };
        let (all, hosts) = values_of(&bytes);
        let kept: Vec<UrlValue> = all.iter().filter(|u| keeps(u)).cloned().collect();
        let got = values_at(&out);
        assert!(
            got.0 == kept,
            "seed {seed}: kept rows differ (horizon {horizon}, now {now})"
        );
        assert!(got.1 == hosts, "seed {seed}: host rows must all stay");
        assert_eq!(
            report.output.outcome.gone_dropped as usize,
            all.len() - kept.len(),
            "seed {seed}"
        );
        let line = report.to_string();
        assert!(
            line.contains(&format!("({} Gone dropped)", all.len() - kept.len())),
            "seed {seed}: {line}"
        );
        check_rebuilt(&out, p.schedule, !p.seen_filter.is_empty());
    }
}

#[test]
fn into_n_cuts_at_the_nearest_boundary_even_past_the_last_one() {
    // Hosts of 30, 30 and 40 URLs into 3, and 10, 10, 80 into 2: the ideal positions fall
    // inside the last host's run, so the last boundary is the nearest one.
    for (sizes, n) in [
        (vec![30u64, 30, 40], 3u32),
        (vec![10, 10, 80], 2),
        (vec![80, 10, 10], 2),
    ] {
        let hosts: Vec<HostRecord> = (0..sizes.len() as u64)
            .map(|i| HostRecord {
                host_key: 1000 + i,
                url_count: sizes[i as usize] as u32,
                ..HostRecord::default()
            })
            .collect();
        let mut urls = Vec::new();
        for (i, &k) in sizes.iter().enumerate() {
            for p in 0..k {
                urls.push(UrlRecord {
                    key: UrlKey {
                        host: 1000 + i as u64,
                        path: p,
                    },
                    status: 1,
                    ..UrlRecord::default()
                });
            }
        }
        let p = Partition {
            hostkey_lo: 0,
            hostkey_hi: u64::MAX,
            urls,
            hosts,
            ..Partition::default()
        };
        let dir = Scratch::new("into-n");
        let input = dir.join("in.meguri");
        std::fs::write(
            &input,
            meguri_core::write::encode(&p, &WriteOptions::default(), &CZstd::new(3)).unwrap(),
        )
        .unwrap();
        let report = split(
            &SplitOptions {
                file: input,
                cuts: Cuts::Into(n),
                out_dir: dir.join("parts"),
                first_id: None,
                manifest: None,
                epoch: 0,
                encoding: EncodeArgs {
                    level: 3,
                    arena_level: 3,
                    page_rows: 16_384,
                }
                .encoding(),
            },
            &mut Silent,
        )
        .unwrap_or_else(|e| panic!("{sizes:?} into {n}: {e}"));
        let v = serde_json::to_value(&report).unwrap();
        let counts: Vec<u64> = v["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["urls"].as_u64().unwrap())
            .collect();
        assert_eq!(counts.len(), n as usize, "{sizes:?}");
        assert_eq!(counts.iter().sum::<u64>(), sizes.iter().sum::<u64>());
    }
}
