//! `stats`, `schedule`, `map` and `manifest build` against the reference's own outputs. The
//! reference ran its commands from the golden folder with relative paths, so these do too.

use meguri_core::reader::Reader;
use meguri_tests::{files_with_suffix, golden_dir, subject_of, text};
use std::path::Path;
use std::process::{Command, Output};

fn meguri_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meguri"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run meguri")
}

/// `name` of `path` relative to the golden folder, as the reference wrote it.
fn rel(g: &Path, path: &Path) -> String {
    path.strip_prefix(g).unwrap().to_string_lossy().into_owned()
}

/// Runs `meguri <args> <file>` (file relative to the golden folder, the way the reference ran
/// it) for every golden file with a `suffix` output beside it, and compares the text; returns
/// how many were compared.
fn matches_reference_outputs(suffix: &str, args: &[&str], extra: &[&str]) -> usize {
    let Some(g) = golden_dir() else {
        return usize::MAX;
    };
    let mut n = 0;
    for out in files_with_suffix(&g, suffix) {
        let file = subject_of(&out, &suffix[".meguri".len()..]);
        let name = rel(&g, &file);
        let all: Vec<&str> = args
            .iter()
            .copied()
            .chain([name.as_str()])
            .chain(extra.iter().copied())
            .collect();
        let r = meguri_in(&g, &all);
        assert!(r.status.success(), "{}", text(&r.stderr));
        assert_eq!(
            text(&r.stdout),
            std::fs::read_to_string(&out).unwrap(),
            "{}",
            out.display()
        );
        n += 1;
    }
    n
}

#[test]
fn stats_matches_the_reference_on_every_file() {
    let n = matches_reference_outputs(".meguri.stats.txt", &["stats", "--data"], &[]);
    assert!(n >= 20, "only {n} stats outputs compared");
}

#[test]
fn schedule_matches_the_reference_on_every_file() {
    let n = matches_reference_outputs(
        ".meguri.schedule.txt",
        &["schedule", "--data"],
        &["--before", "4294967295"],
    );
    assert!(n >= 4, "only {n} schedule outputs compared");
}

/// The due list against a brute-force pass over every row, with host filters, horizons and
/// `--urls`, on a file with a wheel and one without.
#[test]
fn schedule_agrees_with_a_full_scan() {
    let Some(g) = golden_dir() else { return };
    for name in ["features/wheel.meguri", "crawled-small-mixed.meguri"] {
        let bytes = std::fs::read(g.join(name)).unwrap();
        let p = Reader::open(&bytes[..]).unwrap().partition().unwrap();
        let arena = meguri_core::arena::Arena(&p.arena);
        let mut dues: Vec<u32> = p
            .urls
            .iter()
            .map(|u| u.next_due)
            .filter(|&d| d != 0)
            .collect();
        dues.sort_unstable();
        let horizons = [dues[0], dues[dues.len() / 2], *dues.last().unwrap()];
        let host = p.urls[p.urls.len() / 2].key.host;
        for before in horizons {
            for filter in [None, Some(host)] {
                let expect: Vec<&meguri_core::records::UrlRecord> = p
                    .urls
                    .iter()
                    .filter(|u| u.next_due != 0 && u.next_due <= before)
                    .filter(|u| filter.is_none_or(|h| u.key.host == h))
                    .collect();
                let mut args = vec![
                    "schedule".to_string(),
                    "--data".into(),
                    name.into(),
                    "--before".into(),
                    before.to_string(),
                    "--limit".into(),
                    "0".into(),
                    "--urls".into(),
                    "--json".into(),
                ];
                if let Some(h) = filter {
                    args.extend(["--host".into(), format!("0x{h:016x}")]);
                }
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let r = meguri_in(&g, &args);
                assert!(r.status.success(), "{}", text(&r.stderr));
                let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
                let what = format!("{name} before {before} host {filter:?}");
                assert_eq!(v["due"].as_u64().unwrap(), expect.len() as u64, "{what}");
                let mut got: Vec<String> = v["listed"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x["url"].as_str().unwrap().to_string())
                    .collect();
                let mut want: Vec<String> = expect
                    .iter()
                    .map(|u| String::from_utf8_lossy(arena.get(u.url_ref).unwrap()).into_owned())
                    .collect();
                got.sort();
                want.sort();
                assert_eq!(got, want, "{what}");
            }
        }
    }
}

#[test]
fn map_matches_the_reference_where_it_is_right_and_names_overlaps() {
    let Some(g) = golden_dir() else { return };
    let parts = g.join("parts");
    for m in ["meguri.manifest", "gap.manifest"] {
        let r = meguri_in(&parts, &["map", "--manifest", m]);
        let want = std::fs::read_to_string(parts.join(format!("{m}.map.txt"))).unwrap();
        assert_eq!(text(&r.stdout), want, "{m}");
        assert_eq!(
            r.status.success(),
            m == "meguri.manifest",
            "exit status of {m}"
        );
    }
    // The reference calls this overlap a gap; we name it and both partitions.
    let r = meguri_in(&parts, &["map", "--manifest", "overlap.manifest"]);
    let out = text(&r.stdout);
    assert!(
        out.contains("  overlap [0x4f751b0617b83946, 0x67ac805e0356d3b6] between p1 (part-1.meguri) and p11 (../parts2/half-1.meguri)\n"),
        "{out}"
    );
    assert!(!out.contains("coverage gap"), "{out}");
    assert_eq!(r.status.code(), Some(1));
    // Routing, line for line.
    let want = std::fs::read_to_string(parts.join("meguri.manifest.route.txt")).unwrap();
    let mut got = String::new();
    for line in want.lines() {
        let key = line.split_whitespace().nth(1).unwrap();
        got += &text(
            &meguri_in(
                &parts,
                &["map", "--manifest", "meguri.manifest", "--host", key],
            )
            .stdout,
        );
    }
    assert_eq!(got, want);
    let r = meguri_in(
        &parts,
        &[
            "map",
            "--manifest",
            "gap.manifest",
            "--host",
            "0x22e976746abcd163",
        ],
    );
    assert_eq!(
        text(&r.stdout),
        std::fs::read_to_string(parts.join("gap.manifest.route.txt")).unwrap()
    );
    let r = meguri_in(
        &parts,
        &["map", "--manifest", "meguri.manifest", "--host", "0xnothex"],
    );
    assert_eq!(r.status.code(), Some(2));
    assert!(text(&r.stderr).starts_with("error: map: parse host key \"0xnothex\""));
}

#[test]
fn manifest_build_writes_the_reference_bytes_and_refuses_overlaps() {
    let Some(g) = golden_dir() else { return };
    let parts = g.join("parts");
    let dir = std::env::temp_dir().join(format!("meguri-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = |n: &str| dir.join(n).to_string_lossy().into_owned();
    // `meguri manifest build FILES... --out DIR/<name> EXTRA...`, run in the parts folder.
    let build = |files: &[&str], name: &str, extra: &[&str]| {
        let o = out(name);
        let mut args = vec!["manifest", "build"];
        args.extend(files);
        args.extend(["--out", o.as_str()]);
        args.extend(extra);
        meguri_in(&parts, &args)
    };
    let r = build(
        &["part-2.meguri", "part-0.meguri", "part-1.meguri"],
        "m",
        &[],
    );
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert_eq!(
        std::fs::read(dir.join("m")).unwrap(),
        std::fs::read(parts.join("meguri.manifest")).unwrap(),
        "byte-identical to the reference's manifest builder (entries sorted by range)"
    );
    assert!(text(&r.stdout).ends_with("  ranges tile the key space cleanly\n"));
    let r = build(&["part-0.meguri", "part-2.meguri"], "gap", &[]);
    assert!(r.status.success());
    assert_eq!(
        std::fs::read(dir.join("gap")).unwrap(),
        std::fs::read(parts.join("gap.manifest")).unwrap()
    );
    assert!(text(&r.stdout).contains("  coverage gap [0x22e976746abcd163, 0x67ac805e0356d3b6]\n"));
    // Gaps refused on request, overlaps always; nothing written either way.
    let r = build(
        &["part-0.meguri", "part-2.meguri"],
        "strict",
        &["--require-tiling"],
    );
    assert_eq!(r.status.code(), Some(1));
    assert!(text(&r.stderr).contains("have no owner"));
    let r = build(
        &["part-0.meguri", "part-1.meguri", "part-1.meguri"],
        "ov",
        &[],
    );
    assert_eq!(r.status.code(), Some(1));
    assert!(text(&r.stderr).contains("both own host keys [0x22e976746abcd163, 0x67ac805e0356d3b6]"));
    assert!(!dir.join("strict").exists() && !dir.join("ov").exists());
    // --epoch and --ref-prefix reach the entries, and verify accepts the result.
    let r = build(
        &["part-0.meguri", "part-1.meguri", "part-2.meguri"],
        "e7",
        &["--epoch", "7", "--ref-prefix", "s3://bucket/"],
    );
    assert!(r.status.success());
    let m =
        meguri_core::manifest::Manifest::parse(&std::fs::read(dir.join("e7")).unwrap()).unwrap();
    assert!(m
        .entries
        .iter()
        .all(|e| e.epoch == 7 && e.file_ref.starts_with(b"s3://bucket/part-")));
    assert!(m.tiling().is_clean());
    std::fs::remove_dir_all(dir).ok();
}
