//! The writer: round trips of every generated feature file and every golden file (when
//! `../shared` is there) through our encoder, determinism, strict v1 conformance of what we
//! write, and `verify` on our output.

use meguri_core::format::codec::{CZstd, Compressor, Uncompressed};
use meguri_core::format::footer::{
    TAG_HOST_COLUMNS, TAG_META, TAG_REGIONS, TAG_STATS, TAG_URL_COLUMNS,
};
use meguri_core::partition::Partition;
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::verify::verify_file;
use meguri_core::write::{encode, WriteOptions};
use meguri_core::Table;
use meguri_tests::fixtures::{feature_file, feature_files};
use meguri_tests::{files_with_suffix, golden_dir};

fn decode(bytes: &[u8]) -> Partition {
    Reader::open(bytes).unwrap().partition().unwrap()
}

/// A literal reading of FACTS §1–§7: only the v1 encodings, codecs, regions, page kinds and
/// footer sections appear, and everything sits where a single-pass reader expects it.
fn assert_v1_only(bytes: &[u8]) {
    let r = Reader::open(bytes).unwrap();
    let f = r.footer();
    let tags: Vec<u64> = f.sections.iter().map(|s| s.tag).collect();
    assert!(
        tags.starts_with(&[TAG_REGIONS, TAG_URL_COLUMNS, TAG_HOST_COLUMNS, TAG_STATS]),
        "{tags:?}"
    );
    assert!(tags.len() == 4 || tags[4..] == [TAG_META], "{tags:?}");
    let ids: Vec<u8> = f.regions.iter().map(|d| d.id).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]) && ids.iter().all(|&i| i <= 4),
        "{ids:?}"
    );
    let mut at = 64;
    for d in &f.regions {
        assert_eq!(d.offset, at, "regions back to back");
        at += d.length;
    }
    assert_eq!(at, r.header().footer_offset);
    assert!([0, 2].contains(&r.header().default_codec));
    for table in [Table::Url, Table::Host] {
        let dirs = f.columns(table);
        assert_eq!(
            dirs.iter().map(|d| d.column_id).collect::<Vec<_>>(),
            (0..dirs.len() as u64).collect::<Vec<_>>()
        );
        for d in dirs {
            for p in 0..d.num_pages as u32 {
                let page = r.read_page(table, d.column_id, p).unwrap();
                assert!([0, 1, 2, 3, 4, 6].contains(&page.header.encoding));
                assert!([0, 2].contains(&page.header.codec));
                assert_eq!(page.header.kind, 0);
            }
        }
    }
}

/// `p` written with both codecs at 1, 100 and 16,384 rows a page: each decodes to `p`, verifies
/// clean, is deterministic, is what the exhaustive cascade would write, re-encodes to itself
/// and is strict v1.
fn round_trips(what: &str, p: &Partition) {
    let zstd = CZstd::new(3);
    for (comp, name) in [(&zstd as &dyn Compressor, "zstd"), (&Uncompressed, "none")] {
        for page_rows in [1, 100, 16_384] {
            let opts = WriteOptions {
                page_rows,
                ..WriteOptions::default()
            };
            let ours = encode(p, &opts, comp).unwrap();
            let what = format!("{what} ({name}, {page_rows} rows a page)");
            let all = WriteOptions {
                exhaustive: true,
                ..opts
            };
            assert_eq!(
                encode(p, &all, comp).unwrap(),
                ours,
                "{what}: the pruned cascade chose differently from the exhaustive one"
            );
            assert_eq!(&decode(&ours), p, "{what}");
            let report = verify_file(&ours[..], &ReadOptions::default());
            assert!(report.findings.is_empty(), "{what}: {:#?}", report.findings);
            assert_eq!(
                encode(p, &opts, comp).unwrap(),
                ours,
                "{what}: not deterministic"
            );
            assert_eq!(
                encode(&decode(&ours), &opts, comp).unwrap(),
                ours,
                "{what}: re-encode differs"
            );
            assert_v1_only(&ours);
        }
    }
}

#[test]
fn generated_files_decode_to_their_partitions_and_round_trip() {
    for f in feature_files() {
        // The file as generated: every row, string, wheel, filter and metadata pair comes back,
        // and verify finds nothing, not even a warning.
        assert_eq!(decode(&f.bytes), f.partition, "{}", f.name);
        let report = verify_file(&f.bytes[..], &ReadOptions::default());
        assert!(
            report.findings.is_empty(),
            "{}: {:#?}",
            f.name,
            report.findings
        );
        let r = Reader::open(&f.bytes[..]).unwrap();
        assert_eq!(
            r.header().default_codec,
            if f.zstd { 2 } else { 0 },
            "{}",
            f.name
        );
        assert_eq!(
            r.schedule().unwrap().is_some(),
            f.partition.schedule && f.partition.urls.iter().any(|u| u.next_due != 0),
            "{}",
            f.name
        );
        assert_eq!(
            r.seen_filter().unwrap().is_some(),
            !f.partition.seen_filter.is_empty(),
            "{}",
            f.name
        );
        if f.page_rows < f.partition.urls.len() {
            assert!(
                r.column_dir(Table::Url, 0).unwrap().num_pages > 1,
                "{}",
                f.name
            );
        }
        // Extension columns are in the file exactly when some row uses them.
        let ext = f.partition.urls.iter().any(|u| u.refetch_at != 0);
        assert_eq!(
            r.footer().columns(Table::Url).len() > 23,
            ext,
            "{}: URL extension columns",
            f.name
        );
        round_trips(&format!("generated {}", f.name), &f.partition);
    }
}

#[test]
fn golden_files_round_trip_through_our_encoder() {
    let Some(g) = golden_dir() else { return };
    for file in files_with_suffix(&g, ".meguri") {
        let orig = std::fs::read(&file).unwrap();
        if orig.len() > 1_000_000 {
            continue; // the large ones are covered by the corpus-sized test below
        }
        round_trips(&file.display().to_string(), &decode(&orig));
    }
}

#[test]
fn full_corpus_file_round_trips_and_shrinks() {
    let Some(g) = golden_dir() else { return };
    let orig = std::fs::read(g.join("full.meguri")).unwrap();
    let p = decode(&orig);
    let ours = encode(&p, &WriteOptions::default(), &CZstd::new(3)).unwrap();
    assert_eq!(decode(&ours), p);
    let exhaustive = WriteOptions {
        exhaustive: true,
        ..WriteOptions::default()
    };
    assert!(
        encode(&p, &exhaustive, &CZstd::new(3)).unwrap() == ours,
        "the pruned cascade chose differently from the exhaustive one"
    );
    assert!(
        ours.len() < orig.len(),
        "{} bytes, reference {}",
        ours.len(),
        orig.len()
    );
    assert!(verify_file(&ours[..], &ReadOptions::default())
        .findings
        .is_empty());
    assert_v1_only(&ours);
    let r = Reader::open(&ours[..]).unwrap();
    let ref_bpu = Reader::open(&orig[..])
        .unwrap()
        .footer()
        .stats
        .unwrap()
        .bytes_per_url;
    eprintln!(
        "full.meguri re-encoded: {} bytes, {:.2} bytes/url (reference {:.2})",
        ours.len(),
        r.footer().stats.unwrap().bytes_per_url,
        ref_bpu
    );
}

#[test]
fn unsorted_rows_are_refused() {
    let mut p = feature_file("wheel-bloom-ext-zstd").partition.clone();
    p.urls.swap(0, 1);
    let e = encode(&p, &WriteOptions::default(), &CZstd::new(3)).unwrap_err();
    assert_eq!(e.kind, meguri_core::ErrorKind::NotSorted);
}

#[test]
fn empty_partition_encodes() {
    let p = Partition {
        id: 1,
        ..Default::default()
    };
    let b = encode(&p, &WriteOptions::default(), &Uncompressed).unwrap();
    assert_eq!(
        b.len(),
        4458,
        "the reference's worked size for an empty partition (FACTS §14)"
    );
    assert_eq!(decode(&b), p);
}

/// A due query over a paged file of ours decodes only the `next_due` pages whose zone maps
/// admit due rows, and finds exactly the rows a full pass finds.
#[test]
fn due_scan_skips_pages_by_zone_map() {
    let mut p = feature_file("wheel-bloom-ext-zstd").partition.clone();
    assert!(p.urls.len() > 300);
    p.schedule = false; // force the scan path
                        // Give the rows clustered due hours so that zone maps can separate pages.
    for (i, u) in p.urls.iter_mut().enumerate() {
        u.next_due = if i < 200 {
            1_000 + i as u32
        } else {
            500_000 + i as u32
        };
    }
    let opts = WriteOptions {
        page_rows: 64,
        ..WriteOptions::default()
    };
    let bytes = encode(&p, &opts, &CZstd::new(3)).unwrap();
    let r = Reader::open(&bytes[..]).unwrap();
    for before in [999, 1_050, 1_199, 500_300, u32::MAX] {
        let list = meguri_core::due::due(&r, before, None, None).unwrap();
        let want: Vec<u64> = (0..p.urls.len() as u64)
            .filter(|&i| {
                let d = p.urls[i as usize].next_due;
                d != 0 && d <= before
            })
            .collect();
        let got: Vec<u64> = list.rows.iter().map(|&(row, _)| row).collect();
        assert_eq!(got, want, "before {before}");
        assert_eq!(list.count, want.len() as u64);
        for &(row, key) in &list.rows {
            assert_eq!(key, p.urls[row as usize].key);
        }
        if before < 500_000 {
            assert!(
                list.pages_read <= 4,
                "before {before}: {} of {} pages decoded",
                list.pages_read,
                list.pages_total
            );
        }
    }
}
