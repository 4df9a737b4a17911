//! Every file the reference wrote decodes, and its values agree with the reference's own text
//! outputs beside it: inspect (byte for byte), stats, schedule, map, route (these need
//! `../shared`). The reader's features (the wheel, seen-set filters, metadata, two-read opens,
//! row ranges, both zstd backends, callback sources, manifests) are checked on files our
//! writer generates, and on the golden ones as well when they are there.

use meguri_core::error::Table;
use meguri_core::format::codec::ZstdBackend;
use meguri_core::inspect::Summary;
use meguri_core::manifest::Manifest;
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::source::CountingSource;
use meguri_core::verify::verify_file;
use meguri_tests::fixtures::{feature_file, feature_files, parts_and_manifest};
use meguri_tests::{field, files_with_suffix, generated_and_golden, golden_dir, hex, subject_of};
use std::path::Path;

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn inspect_is_byte_identical_to_the_reference() {
    let Some(g) = golden_dir() else { return };
    let expected = files_with_suffix(&g, ".meguri.inspect.txt");
    assert!(
        expected.len() >= 20,
        "found only {} inspect outputs",
        expected.len()
    );
    for txt in expected {
        let file = subject_of(&txt, ".inspect.txt");
        let bytes = read(&file);
        let r = Reader::open(&bytes[..]).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let ours = Summary::from_shape(r.shape()).render();
        assert_eq!(
            ours,
            std::fs::read_to_string(&txt).unwrap(),
            "{}",
            file.display()
        );
    }
}

#[test]
fn every_golden_file_decodes_and_verifies_clean() {
    let Some(g) = golden_dir() else { return };
    let files = files_with_suffix(&g, ".meguri");
    assert!(files.len() >= 20);
    for file in files {
        let bytes = read(&file);
        let r = Reader::open(&bytes[..]).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let urls = r
            .url_table()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let hosts = r
            .host_table()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(urls.len() as u64, r.header().url_count);
        assert_eq!(hosts.len() as u64, r.header().host_count);
        let arena = r.arena().unwrap();
        // Every URL row of a seeded or crawled file names its URL in the arena.
        for u in &urls {
            assert!(
                meguri_core::arena::Arena(&arena).get(u.url_ref).is_some(),
                "{}: dangling url_ref",
                file.display()
            );
        }
        r.schedule().unwrap();
        r.seen_filter().unwrap();
        let report = verify_file(&bytes[..], &ReadOptions::default());
        assert!(
            report.findings.is_empty(),
            "{}: {:#?}",
            file.display(),
            report.findings
        );
    }
}

#[test]
fn stats_values_agree_with_the_reference() {
    let Some(g) = golden_dir() else { return };
    for txt in files_with_suffix(&g, ".meguri.stats.txt") {
        let file = subject_of(&txt, ".stats.txt");
        let text = std::fs::read_to_string(&txt).unwrap();
        let bytes = read(&file);
        let r = Reader::open(&bytes[..]).unwrap();
        let urls = r.url_table().unwrap();
        let hosts = r.host_table().unwrap();
        let name = file.display();
        assert_eq!(
            field(&text, "partition id")
                .unwrap()
                .parse::<u32>()
                .unwrap(),
            r.header().partition_id,
            "{name}"
        );
        assert_eq!(
            field(&text, "urls").unwrap().parse::<usize>().unwrap(),
            urls.len(),
            "{name}"
        );
        assert_eq!(
            field(&text, "hosts").unwrap().parse::<usize>().unwrap(),
            hosts.len(),
            "{name}"
        );
        let range: Vec<u64> = field(&text, "host-key range")
            .unwrap()
            .split("..")
            .map(hex)
            .collect();
        assert_eq!(
            range,
            [r.header().hostkey_lo, r.header().hostkey_hi],
            "{name}"
        );
        // The due range printed by the reference comes from STATS; ours from the rows.
        let due: Vec<u32> = field(&text, "due range")
            .unwrap()
            .trim_start_matches("hour")
            .split("..")
            .map(|s| s.trim().parse().unwrap())
            .collect();
        let lo = urls
            .iter()
            .map(|u| u.next_due)
            .filter(|&d| d != 0)
            .min()
            .unwrap_or(0);
        let hi = urls.iter().map(|u| u.next_due).max().unwrap_or(0);
        assert_eq!(due, [lo, hi], "{name}");
        let st = r.footer().stats.unwrap();
        assert_eq!(
            field(&text, "bytes/url").unwrap(),
            meguri_core::inspect::fixed2(st.bytes_per_url),
            "{name}"
        );
        let bpu = if urls.is_empty() {
            0.0
        } else {
            r.header().footer_offset as f32 / urls.len() as f32
        };
        assert_eq!(bpu.to_bits(), st.bytes_per_url.to_bits(), "{name}");
        let sched = field(&text, "schedule index").unwrap();
        assert!(
            sched.starts_with(if r.schedule().unwrap().is_some() {
                "true"
            } else {
                "false"
            }),
            "{name}"
        );
        assert!(
            sched.ends_with(if r.seen_filter().unwrap().is_some() {
                "true"
            } else {
                "false"
            }),
            "{name}"
        );
    }
}

/// Due keys at `before` the way a cold reader finds them: wheel candidates confirmed against
/// `next_due` when the file has a wheel, a column scan otherwise.
fn due_keys(r: &Reader<&[u8]>, before: u32) -> Vec<(u64, u64)> {
    let urls = r.url_table().unwrap();
    let due = |i: usize| urls[i].next_due != 0 && urls[i].next_due <= before;
    match r.schedule().unwrap() {
        Some(w) => w
            .due_candidates(before)
            .map(|i| i as usize)
            .filter(|&i| due(i))
            .map(|i| (urls[i].key.host, urls[i].key.path))
            .collect(),
        None => (0..urls.len())
            .filter(|&i| due(i))
            .map(|i| (urls[i].key.host, urls[i].key.path))
            .collect(),
    }
}

#[test]
fn schedule_due_keys_agree_with_the_reference() {
    let Some(g) = golden_dir() else { return };
    let outputs = files_with_suffix(&g, ".meguri.schedule.txt");
    assert!(outputs.len() >= 4);
    for txt in outputs {
        let file = subject_of(&txt, ".schedule.txt");
        let text = std::fs::read_to_string(&txt).unwrap();
        let mut lines = text.lines();
        let head = lines.next().unwrap();
        let count: usize = head.rsplit(": ").next().unwrap().parse().unwrap();
        let listed: Vec<(u64, u64)> = lines
            .map(|l| {
                let (h, p) = l.trim().split_once(':').unwrap();
                (hex(h), hex(p))
            })
            .collect();
        let bytes = read(&file);
        let r = Reader::open(&bytes[..]).unwrap();
        assert_eq!(
            head.contains("durable schedule wheel"),
            r.schedule().unwrap().is_some(),
            "{}",
            file.display()
        );
        let ours = due_keys(&r, u32::MAX);
        assert_eq!(ours.len(), count, "{}", file.display());
        assert_eq!(&ours[..listed.len()], &listed[..], "{}", file.display());
    }
}

#[test]
fn wheel_candidates_match_a_column_scan_at_every_tier() {
    let files = generated_and_golden(&["wheel-bloom-ext-zstd"], &["features/wheel.meguri"]);
    for (name, bytes) in files {
        wheel_matches_a_scan(&name, &bytes);
    }
}

fn wheel_matches_a_scan(name: &str, bytes: &[u8]) {
    let r = Reader::open(bytes).unwrap();
    let w = r.schedule().unwrap().expect("the file has a wheel");
    let urls = r.url_table().unwrap();
    // Rows in every tier (the generator spreads them so; the golden README promises it).
    for (tier, buckets) in [
        ("near", 0..168),
        ("mid", 168..258),
        ("far", 258..282),
        ("overflow", 282..283),
    ] {
        assert!(
            buckets.clone().any(|b| !w.bucket_rows(b).is_empty()),
            "{name}: no rows in the {tier} tier"
        );
    }
    let max = urls.iter().map(|u| u.next_due).max().unwrap();
    for now in [
        0,
        w.base - 1,
        w.base,
        w.base + 1,
        w.base + 167,
        w.base + 168,
        w.base + 2400,
        w.base + 20000,
        max,
        u32::MAX,
    ] {
        let mut wheel: Vec<usize> = w
            .due_candidates(now)
            .map(|i| i as usize)
            .filter(|&i| urls[i].next_due != 0 && urls[i].next_due <= now)
            .collect();
        wheel.sort();
        let scan: Vec<usize> = (0..urls.len())
            .filter(|&i| urls[i].next_due != 0 && urls[i].next_due <= now)
            .collect();
        assert_eq!(wheel, scan, "{name}: now {now}");
    }
}

#[test]
fn map_and_route_values_agree_with_the_reference() {
    let Some(g) = golden_dir() else { return };
    let maps = files_with_suffix(&g, ".manifest.map.txt");
    assert!(maps.len() >= 5);
    for txt in maps {
        let file = subject_of(&txt, ".map.txt");
        let m = Manifest::parse(&read(&file)).unwrap();
        let text = std::fs::read_to_string(&txt).unwrap();
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with('p') && l.contains("b/url"))
            .collect();
        assert_eq!(rows.len(), m.entries.len(), "{}", file.display());
        for (line, e) in rows.iter().zip(&m.entries) {
            let f: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(f[0], format!("p{}", e.partition_id));
            assert_eq!((hex(f[1]), hex(f[3])), (e.hostkey_lo, e.hostkey_hi));
            assert_eq!(f[4].parse::<u64>().unwrap(), e.url_count);
            assert_eq!(f[6].parse::<u64>().unwrap(), e.host_count);
            assert_eq!(f[8], meguri_core::inspect::fixed2(e.bytes_per_url));
            assert_eq!(f[11].parse::<u32>().unwrap(), e.epoch);
        }
        // The reference checks coverage at epoch 0 and names the first problem only (an
        // overlap is worded as a gap); ours must find that same range among all it lists.
        let t = m.tiling_at(0);
        let last = text.lines().last().unwrap().trim();
        if last == "ranges tile the key space cleanly" {
            assert!(t.is_clean(), "{}", file.display());
        } else {
            let inner = last
                .trim_start_matches("coverage gap [")
                .trim_end_matches(']');
            let (lo, hi) = inner.split_once(", ").unwrap();
            let (lo, hi) = (hex(lo), hex(hi));
            let found = t.gaps.iter().any(|x| (x.lo, x.hi) == (lo, hi))
                || t.overlaps.iter().any(|x| (x.lo, x.hi) == (lo, hi));
            assert!(
                found,
                "{}: [{lo:#x}, {hi:#x}] not among {t:?}",
                file.display()
            );
        }
    }
    for txt in files_with_suffix(&g, ".manifest.route.txt") {
        let file = subject_of(&txt, ".route.txt");
        let m = Manifest::parse(&read(&file)).unwrap();
        for line in std::fs::read_to_string(&txt).unwrap().lines() {
            let key = hex(line.split_whitespace().nth(1).unwrap());
            match m.route(key) {
                Some(e) => assert_eq!(
                    line,
                    format!(
                        "host 0x{key:016x} -> partition {} ({})",
                        e.partition_id,
                        e.file_ref_str()
                    )
                ),
                None => assert_eq!(line, format!("host 0x{key:016x} -> no owning partition")),
            }
        }
    }
}

#[test]
fn manifest_entries_match_their_files() {
    let (parts, manifest) = parts_and_manifest();
    let m = Manifest::parse(&manifest).unwrap();
    assert_eq!(m.entries.len(), 3);
    assert!(
        m.tiling().is_clean(),
        "the generated parts tile the key space"
    );
    entries_match(&m, |name| {
        parts
            .iter()
            .find(|(n, _)| n.as_bytes() == name)
            .unwrap()
            .1
            .clone()
    });
    if let Some(g) = golden_dir() {
        let m = Manifest::parse(&read(&g.join("parts/meguri.manifest"))).unwrap();
        entries_match(&m, |name| {
            read(&g.join("parts").join(String::from_utf8_lossy(name).as_ref()))
        });
    }
}

fn entries_match(m: &Manifest, file: impl Fn(&[u8]) -> Vec<u8>) {
    for e in &m.entries {
        let bytes = file(&e.file_ref);
        let r = Reader::open(&bytes[..]).unwrap();
        assert_eq!(e.partition_id, r.header().partition_id);
        assert_eq!(
            (e.hostkey_lo, e.hostkey_hi),
            (r.header().hostkey_lo, r.header().hostkey_hi)
        );
        assert_eq!(
            (e.url_count, e.host_count),
            (r.header().url_count, r.header().host_count)
        );
        assert_eq!(e.file_crc32c, r.shape().trailer.footer_crc);
        assert_eq!(
            e.bytes_per_url.to_bits(),
            r.footer().stats.unwrap().bytes_per_url.to_bits()
        );
    }
}

#[test]
fn seen_set_filters_hold_every_url_key() {
    let files = generated_and_golden(
        &["wheel-bloom-ext-zstd", "ribbon-mp100-zstd", "ext-none-mp64"],
        &[
            "features/seen-bloom-sched-meta.meguri",
            "features/seen-ribbon-mp250.meguri",
        ],
    );
    assert!(files.len() >= 3);
    for (name, bytes) in files {
        let kind = if name.contains("ribbon") {
            "ribbon"
        } else {
            "bloom"
        };
        let r = Reader::open(&bytes[..]).unwrap();
        let f = r.seen_filter().unwrap().expect("filter");
        assert_eq!(f.kind_name(), kind);
        let urls = r.url_table().unwrap();
        assert!(
            urls.iter().all(|u| f.contains(u.key)),
            "{name}: false negative"
        );
        // A filter that answered yes to everything would pass the line above; probe keys that
        // were never added and expect mostly "no".
        let probes = 20_000u64;
        let hits = (0..probes)
            .filter(|i| {
                f.contains(meguri_core::keys::UrlKey {
                    host: i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    path: !*i,
                })
            })
            .count();
        assert!(
            (hits as f64) < probes as f64 * 0.05,
            "{name}: {hits} of {probes} absent keys reported present"
        );
    }
}

#[test]
fn metadata_is_read() {
    for f in feature_files() {
        let r = Reader::open(&f.bytes[..]).unwrap();
        // No pairs: no metadata section at all.
        assert_eq!(
            r.meta().unwrap_or_default(),
            &f.partition.meta[..],
            "{}",
            f.name
        );
        assert_eq!(
            r.meta().is_some(),
            !f.partition.meta.is_empty(),
            "{}",
            f.name
        );
    }
    let empty = feature_file("empty-zstd-meta");
    assert!(!empty.partition.meta.is_empty());
    let r = Reader::open(&empty.bytes[..]).unwrap();
    assert_eq!(
        r.arena().unwrap(),
        vec![0u8],
        "the empty partition's arena is the sentinel alone"
    );
    let Some(g) = golden_dir() else { return };
    let bytes = read(&g.join("features/empty-sentinel-meta.meguri"));
    let r = Reader::open(&bytes[..]).unwrap();
    assert_eq!(r.meta().unwrap(), &[(b"k".to_vec(), b"v".to_vec())]);
    assert_eq!(r.arena().unwrap(), vec![0u8]);
}

#[test]
fn opening_costs_two_small_reads_whatever_the_file_size() {
    let names: Vec<&str> = feature_files().iter().map(|f| f.name).collect();
    let files = generated_and_golden(
        &names,
        &[
            "small.meguri",
            "full.meguri",
            "features/mp1-tiny.meguri",
            "features/mp64-none.meguri",
        ],
    );
    for (name, bytes) in files {
        let src = CountingSource::new(&bytes[..]);
        let r = Reader::open(&src).unwrap();
        Summary::from_shape(r.shape()).render();
        assert_eq!(src.reads(), 2, "{name}");
        let tail = (bytes.len() as u64 - 64).min(64 << 10);
        assert_eq!(src.bytes(), 64 + tail, "{name}");
        assert!(
            src.bytes() < r.header().footer_offset.max(64 + 64 * 1024 + 1),
            "{name}"
        );
    }
}

#[test]
fn row_ranges_and_single_pages_decode_only_what_they_need() {
    let files = generated_and_golden(
        &["ribbon-mp100-zstd", "wheel-bloom-ext-zstd"],
        &["features/mp100-zstd.meguri"],
    );
    for (name, bytes) in files {
        ranges_decode_what_they_need(&name, &bytes);
    }
}

fn ranges_decode_what_they_need(name: &str, bytes: &[u8]) {
    let full = Reader::open(bytes).unwrap();
    let all_urls = full.url_table().unwrap();
    let all_hosts = full.host_table().unwrap();
    let (n, hn) = (all_urls.len() as u64, all_hosts.len() as u64);
    assert!(n > 300 && hn > 100, "{name}: {n} URLs, {hn} hosts");
    for range in [
        0..1u64,
        0..100,
        99..101,
        250..n * 2 / 3,
        n - 35..n,
        n..n,
        17..18,
    ] {
        let src = CountingSource::new(bytes);
        let r = Reader::open(&src).unwrap();
        let before = src.bytes();
        let rows = r.url_rows(range.clone()).unwrap();
        assert_eq!(
            rows[..],
            all_urls[range.start as usize..range.end as usize],
            "{name}: {range:?}"
        );
        // Decoding a few rows reads a small fraction of the URL table.
        if range.end - range.start <= 2 {
            let url_region = full.footer().region(0).unwrap().length;
            assert!(
                src.bytes() - before < url_region / 3,
                "{name}: {range:?} read {} bytes",
                src.bytes() - before
            );
        }
    }
    let hosts = full.host_rows(hn - 72..hn).unwrap();
    assert_eq!(hosts[..], all_hosts[(hn - 72) as usize..]);
    let dir = full.column_dir(Table::Url, 0).unwrap();
    assert!(dir.num_pages > 1, "{name}");
    let mut concat = Vec::new();
    for p in 0..dir.num_pages as u32 {
        let page = full.read_page(Table::Url, 0, p).unwrap();
        concat.extend_from_slice(page.values.as_ints());
    }
    assert_eq!(
        concat,
        all_urls.iter().map(|u| u.key.host).collect::<Vec<_>>()
    );
}

#[test]
fn pure_and_c_zstd_decode_the_same_values() {
    let files = generated_and_golden(
        &[
            "wheel-bloom-ext-zstd",
            "ribbon-mp100-zstd",
            "empty-zstd-meta",
        ],
        &["crawled-small-mixed.meguri"],
    );
    for (name, bytes) in files {
        backends_agree(&name, &bytes);
    }
}

fn backends_agree(name: &str, bytes: &[u8]) {
    let pure = Reader::open_with(
        bytes,
        ReadOptions {
            zstd: ZstdBackend::Pure,
            ..Default::default()
        },
    )
    .unwrap();
    let c = Reader::open_with(
        bytes,
        ReadOptions {
            zstd: ZstdBackend::C,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(pure.url_table().unwrap(), c.url_table().unwrap(), "{name}");
    assert_eq!(
        pure.host_table().unwrap(),
        c.host_table().unwrap(),
        "{name}"
    );
    assert_eq!(pure.arena().unwrap(), c.arena().unwrap(), "{name}");
    assert_eq!(pure.schedule().unwrap(), c.schedule().unwrap(), "{name}");
    assert_eq!(
        pure.seen_filter().unwrap(),
        c.seen_filter().unwrap(),
        "{name}"
    );
}

/// FACTS §12.2: TestMagicBrackets, TestInspectFromTail, TestDetectsCorruption, projections.
#[test]
fn reference_read_side_format_tests() {
    let Some(g) = golden_dir() else { return };
    let bytes = read(&g.join("small.meguri"));
    assert_eq!(&bytes[..4], b"MEG1");
    assert_eq!(&bytes[bytes.len() - 4..], b"MEG1");
    let r = Reader::open(&bytes[..]).unwrap();
    let s = Summary::from_shape(r.shape());
    assert_eq!(
        (
            s.urls,
            s.hosts,
            s.url_columns,
            s.host_columns,
            s.partition_id
        ),
        (999, 867, 23, 20, 1)
    );
    assert!(!s.render().is_empty());
    // Flipping byte 104 (inside the URL region) must make a full decode fail.
    let mut bad = bytes.clone();
    bad[104] ^= 0xff;
    let r = Reader::open(&bad[..]).unwrap();
    assert!(r.url_table().is_err());
    assert!(!verify_file(&bad[..], &ReadOptions::default()).is_ok());
    // Projections equal the full decode.
    let r = Reader::open(&bytes[..]).unwrap();
    let urls = r.url_table().unwrap();
    let nd = r.read_column(Table::Url, 10).unwrap();
    assert_eq!(
        nd.as_ints(),
        urls.iter()
            .map(|u| u64::from(u.next_due))
            .collect::<Vec<_>>()
    );
    assert!(urls
        .iter()
        .all(|u| (r.header().hostkey_lo..=r.header().hostkey_hi).contains(&u.key.host)));
}

#[test]
fn a_callback_source_reads_like_a_slice() {
    let bytes = &feature_file("ribbon-mp100-zstd").bytes;
    let calls = std::cell::Cell::new(0u32);
    let src = meguri_core::source::FnSource::new(bytes.len() as u64, |off, len| {
        calls.set(calls.get() + 1);
        let start = off as usize;
        bytes
            .get(start..start + len)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| "out of range".to_string())
    });
    let r = Reader::open(&src).unwrap();
    assert_eq!(calls.get(), 2);
    let direct = Reader::open(&bytes[..]).unwrap();
    assert_eq!(
        r.url_rows(100..300).unwrap(),
        direct.url_rows(100..300).unwrap()
    );
    assert_eq!(r.seen_filter().unwrap(), direct.seen_filter().unwrap());
    // A failing callback surfaces as a Source error with the offset, not a panic.
    let failing = meguri_core::source::FnSource::new(bytes.len() as u64, |_, _| {
        Err("disk on fire".to_string())
    });
    let e = Reader::open(&failing).err().unwrap();
    assert_eq!(e.kind, meguri_core::ErrorKind::Source);
    assert!(e.to_string().contains("disk on fire"));
}
