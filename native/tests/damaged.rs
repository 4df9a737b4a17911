//! The reference's damaged files (`../shared/reference/damaged/`): each is refused by every
//! command that reads the structure at fault, with the same place, offset and words as
//! `verify` gives, and leaves nothing behind.

use meguri_tests::{golden_dir, run_bin, text, Scratch};

const EXE: &str = env!("CARGO_BIN_EXE_meguri");

/// Each file and the finding it must give (docs/format.md §10: the zstd frame rules, a page's
/// kind and a directory's encoding id are errors).
const VERDICTS: [(&str, &str); 5] = [
    (
        "zstd-checksum.meguri",
        "url column 0 page 0 at byte 4906: zstd frame checksum is 0x97b850b5 but its 4800 \
         decoded bytes give 0x3a76088c",
    ),
    (
        "arena-zstd-checksum.meguri",
        "string arena at byte 47254: zstd frame checksum is 0xa4773e1a but its 35603 decoded \
         bytes give 0x8625d642",
    ),
    (
        "zstd-content-size.meguri",
        "url column 5 page 0 at byte 9202: zstd frame declares 921 decoded bytes, the page 999",
    ),
    (
        "arena-page-kind.meguri",
        "string arena at byte 24319: page kind is 6, expected 3",
    ),
    (
        "bad-encoding-id.meguri",
        "url column 1 at byte 1558: directory encoding enc_255 names no encoding a page can use",
    ),
];

#[test]
fn every_command_refuses_them_in_the_same_words() {
    let Some(g) = golden_dir() else { return };
    let damaged = g.join("../damaged");
    for (name, finding) in VERDICTS {
        let file = damaged.join(name);
        let f = file.to_str().unwrap();
        let out = run_bin(EXE, &["verify", f]);
        assert_eq!(out.status.code(), Some(1), "verify {name}");
        let said = text(&out.stdout);
        assert!(
            said.contains(&format!("error: {finding}")),
            "verify {name}: {said}"
        );
        assert!(
            said.contains("FAILED: 1 error, 0 warnings"),
            "verify {name}: {said}"
        );

        let s = Scratch::new("damaged");
        let out_file = s.join("out.meguri");
        let parts = s.join("parts");
        let data = s.join("dir");
        let mut commands = vec![
            vec!["compact", f, "--out", out_file.to_str().unwrap()],
            vec!["load", "--data", data.to_str().unwrap(), f],
        ];
        // The empty partition's range is one key: there is no cut to make.
        if name != "bad-encoding-id.meguri" {
            commands.push(vec![
                "split",
                f,
                "--into",
                "2",
                "--out-dir",
                parts.to_str().unwrap(),
            ]);
        }
        for args in commands {
            let out = run_bin(EXE, &args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
            assert!(
                err.contains(finding),
                "{args:?} must say {finding:?}, said {err}"
            );
        }
        assert!(!out_file.exists(), "compact left an output");
        let left: Vec<_> = std::fs::read_dir(&parts)
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "split left {left:?}");
    }
}

/// Rewrites url column 0's zone map in a copy of small.meguri and reseals every CRC.
fn with_host_key_zone(g: &std::path::Path, zone: impl Fn((u64, u64)) -> (u64, u64)) -> Vec<u8> {
    use meguri_core::reader::Reader;
    let mut b = std::fs::read(g.join("small.meguri")).unwrap();
    let dir = Reader::open(&b[..])
        .unwrap()
        .column_dir(meguri_core::Table::Url, 0)
        .unwrap()
        .clone();
    let (lo, hi) = zone(dir.zone().expect("a zone map"));
    let at = dir.crc_offset as usize + 5;
    b[at..at + 8].copy_from_slice(&lo.to_le_bytes());
    b[at + 8..at + 16].copy_from_slice(&hi.to_le_bytes());
    assert!(meguri_core::reseal::reseal(&mut b));
    b
}

#[test]
fn a_zone_map_that_leaves_values_out_is_refused_a_wider_one_is_a_warning() {
    let Some(g) = golden_dir() else { return };
    let s = Scratch::new("zones");
    let narrow = s.join("narrow.meguri");
    let wide = s.join("wide.meguri");
    std::fs::write(&narrow, with_host_key_zone(&g, |(lo, hi)| (lo, hi - 1))).unwrap();
    std::fs::write(&wide, with_host_key_zone(&g, |(_, hi)| (0, hi))).unwrap();

    let n = narrow.to_str().unwrap();
    let out = run_bin(EXE, &["verify", n]);
    assert_eq!(out.status.code(), Some(1));
    let said = text(&out.stdout);
    let finding = said
        .lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .expect("an error")
        .to_string();
    assert!(finding.contains("does not contain"), "{said}");
    let out_file = s.join("out.meguri");
    for args in [
        vec!["compact", n, "--out", out_file.to_str().unwrap()],
        vec!["load", "--data", s.join("d").to_str().unwrap(), n],
    ] {
        let out = run_bin(EXE, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains(&finding),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }

    let w = wide.to_str().unwrap();
    let out = run_bin(EXE, &["verify", w]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("is wider than the values' range"));
    let out = run_bin(EXE, &["compact", w, "--out", out_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
