//! `compact` and `split` on the reference's files: the rows it got from the same operations,
//! the refusals, and byte-identical round trips of our own files.

use meguri_tests::{assert_verifies, golden_dir, run_bin, text, values_at, Scratch};
use std::path::Path;
use std::process::Output;

fn meguri(args: &[&str]) -> Output {
    run_bin(env!("CARGO_BIN_EXE_meguri"), args)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn ok(r: &Output) -> String {
    assert!(r.status.success(), "stderr: {}", text(&r.stderr));
    text(&r.stdout)
}

/// Compacts the three parts into `dir`; returns the output path and the summary line.
fn compact_parts(g: &Path, dir: &Scratch) -> (std::path::PathBuf, String) {
    let out = dir.join("merged.meguri");
    let parts: Vec<String> = (0..3)
        .map(|i| {
            g.join(format!("parts/part-{i}.meguri"))
                .display()
                .to_string()
        })
        .collect();
    // Given out of order on purpose: compact orders inputs by range.
    let line = ok(&meguri(&[
        "compact",
        &parts[2],
        &parts[0],
        &parts[1],
        "--out",
        s(&out),
    ]));
    (out, line)
}

#[test]
fn compact_of_the_parts_holds_the_rows_of_the_references_merge() {
    let Some(g) = golden_dir() else { return };
    let dir = Scratch::new("compact-parts");
    let (out, line) = compact_parts(&g, &dir);
    let bytes = std::fs::metadata(&out).unwrap().len();
    assert_eq!(
        line,
        format!(
            "compacted 3 file(s) -> {}: 563844 urls, {bytes} bytes (use --gc to drop Gone tombstones)\n",
            out.display()
        )
    );
    assert_verifies(&out);
    let ours = values_at(&out);
    let theirs = values_at(&g.join("merged.meguri"));
    assert_eq!(ours.0.len(), 563_844);
    assert_eq!(ours.1.len(), 186_356);
    assert!(ours.0 == theirs.0, "URL rows differ from merged.meguri");
    assert!(ours.1 == theirs.1, "host rows differ from merged.meguri");
    // Header: the union of the parts' ranges, the lowest part's id.
    let r = *meguri_core::reader::Reader::open(&std::fs::read(&out).unwrap()[..])
        .unwrap()
        .header();
    assert_eq!(
        (r.hostkey_lo, r.hostkey_hi, r.partition_id),
        (0, u64::MAX, 0)
    );
    // Nothing but the output is left behind.
    assert_eq!(dir.names(), ["merged.meguri"]);
}

#[test]
fn gc_at_horizon_zero_drops_what_the_reference_drops() {
    let Some(g) = golden_dir() else { return };
    let dir = Scratch::new("compact-gc");
    for (input, golden) in [
        (
            "crawled-small-mixed.meguri",
            "crawled-small-mixed-gc.meguri",
        ),
        ("crawled-mixed.meguri", "crawled-mixed-gc.meguri"),
    ] {
        let out = dir.join(golden);
        let line = ok(&meguri(&[
            "compact",
            s(&g.join(input)),
            "--gc",
            "--gc-horizon",
            "0",
            "--out",
            s(&out),
        ]));
        // The reference's line, but for the path and our (smaller) size.
        let want = std::fs::read_to_string(g.join(format!("{golden}.compact.txt"))).unwrap();
        let cut = |l: &str| l[l.find(':').unwrap()..l.rfind(", ").unwrap()].to_string();
        assert_eq!(cut(&line), cut(&want), "{line} vs {want}");
        assert!(
            std::fs::metadata(&out).unwrap().len()
                < std::fs::metadata(g.join(golden)).unwrap().len()
        );
        assert_verifies(&out);
        let ours = values_at(&out);
        let theirs = values_at(&g.join(golden));
        assert!(ours.0 == theirs.0, "{golden}: URL rows differ");
        assert!(ours.1 == theirs.1, "{golden}: host rows differ");
    }
}

#[test]
fn gc_keeps_gone_rows_younger_than_the_horizon() {
    let Some(g) = golden_dir() else { return };
    let dir = Scratch::new("compact-horizon");
    let input = g.join("crawled-small-mixed.meguri");
    let (urls, _) = values_at(&input);
    let gone: Vec<u32> = urls
        .iter()
        .filter(|u| u.rec.status == 6)
        .map(|u| u.rec.last_crawled)
        .collect();
    assert!(!gone.is_empty());
    // The reference never stamps last_crawled on a failure, so every Gone row there has no
    // age: it counts as older than any horizon.
    let out = dir.join("h.meguri");
    let line = ok(&meguri(&[
        "compact",
        s(&input),
        "--gc",
        "--now",
        "491000",
        "--out",
        s(&out),
    ]));
    let aged = gone
        .iter()
        .filter(|&&c| c != 0 && 491_000 - c < 2160)
        .count();
    let dropped = gone.len() - aged;
    assert!(
        line.contains(&format!("({dropped} Gone dropped)")),
        "{line}"
    );
    assert_eq!(values_at(&out).0.len(), urls.len() - dropped);
}

#[test]
fn split_of_the_merge_at_the_parts_boundaries_gives_the_parts_back() {
    let Some(g) = golden_dir() else { return };
    let dir = Scratch::new("split-merged");
    let m = dir.join("parts.manifest");
    let r = ok(&meguri(&[
        "split",
        s(&g.join("merged.meguri")),
        "--at",
        "0x22e976746abcd163",
        "0x67ac805e0356d3b7",
        "--out-dir",
        s(&dir.0),
        "--first-id",
        "0",
        "--manifest",
        s(&m),
    ]));
    assert!(r.contains("into 3 file(s)"), "{r}");
    for i in 0..3 {
        let ours = dir.join(&format!("merged-{i}.meguri"));
        let part = g.join(format!("parts/part-{i}.meguri"));
        assert_verifies(&ours);
        let (a, b) = (values_at(&ours), values_at(&part));
        assert!(a.0 == b.0 && a.1 == b.1, "output {i} differs from part-{i}");
        let h = |p: &Path| {
            let b = std::fs::read(p).unwrap();
            let r = meguri_core::reader::Reader::open(&b[..]).unwrap();
            let h = r.header();
            (h.partition_id, h.hostkey_lo, h.hostkey_hi)
        };
        assert_eq!(h(&ours), h(&part), "output {i}: id and range");
    }
    let map = meguri(&["map", "--manifest", s(&m)]);
    assert!(map.status.success(), "{}", text(&map.stdout));
    assert!(text(&map.stdout).contains("tile"), "{}", text(&map.stdout));
}

#[test]
fn our_files_split_and_compact_back_byte_for_byte() {
    let Some(g) = golden_dir() else { return };
    let dir = Scratch::new("roundtrip");
    let (whole, _) = compact_parts(&g, &dir);
    let parts = Scratch::new("roundtrip-parts");
    for n in ["2", "5"] {
        let sub = parts.join(n);
        let r = ok(&meguri(&[
            "split",
            s(&whole),
            "--into",
            n,
            "--out-dir",
            s(&sub),
            "--json",
        ]));
        let v: serde_json::Value = serde_json::from_str(&r).unwrap();
        let outs: Vec<String> = v["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["path"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(outs.len(), n.parse::<usize>().unwrap());
        // Balanced: no part holds more than twice its share of URLs.
        let share = 563_844 / outs.len() as u64;
        for o in v["outputs"].as_array().unwrap() {
            assert!(o["urls"].as_u64().unwrap() < 2 * share, "{o}");
        }
        let back = sub.join("back.meguri");
        let mut args = vec!["compact"];
        args.extend(outs.iter().map(String::as_str));
        args.extend(["--out", s(&back)]);
        ok(&meguri(&args));
        assert!(
            std::fs::read(&back).unwrap() == std::fs::read(&whole).unwrap(),
            "split into {n} and compacted back is not byte-identical"
        );
    }
}

#[test]
fn overlapping_inputs_are_refused_naming_both_files() {
    let Some(g) = golden_dir() else { return };
    let dir = Scratch::new("overlap");
    let out = dir.join("x.meguri");
    let p0 = g.join("parts/part-0.meguri");
    let merged = g.join("merged.meguri");
    let r = meguri(&["compact", s(&p0), s(&merged), "--out", s(&out)]);
    assert_eq!(r.status.code(), Some(1));
    let e = text(&r.stderr);
    assert!(
        e.contains("part-0.meguri") && e.contains("merged.meguri"),
        "{e}"
    );
    assert!(
        e.contains("overlap on host keys [0x0000000000000000, 0x22e976746abcd162]"),
        "{e}"
    );
    // The same file twice overlaps itself.
    let r = meguri(&["compact", s(&p0), s(&p0), "--out", s(&out)]);
    assert_eq!(r.status.code(), Some(1));
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn gaps_are_refused_unless_allowed() {
    let Some(g) = golden_dir() else { return };
    let dir = Scratch::new("gaps");
    let out = dir.join("x.meguri");
    let (p0, p2) = (g.join("parts/part-0.meguri"), g.join("parts/part-2.meguri"));
    let r = meguri(&["compact", s(&p0), s(&p2), "--out", s(&out)]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("[0x22e976746abcd163, 0x67ac805e0356d3b6]"),
        "{}",
        text(&r.stderr)
    );
    assert!(dir.names().is_empty());
    ok(&meguri(&[
        "compact",
        s(&p0),
        s(&p2),
        "--allow-gaps",
        "--out",
        s(&out),
    ]));
    assert_verifies(&out);
    // An existing output is never replaced, and an input is never the output.
    let r = meguri(&["compact", s(&p0), s(&p2), "--allow-gaps", "--out", s(&out)]);
    assert_eq!(r.status.code(), Some(1));
    assert!(text(&r.stderr).contains("exists"), "{}", text(&r.stderr));
    let r = meguri(&["compact", s(&out), "--out", s(&out)]);
    assert_eq!(r.status.code(), Some(1));
    assert!(
        text(&r.stderr).contains("never modified"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn split_refuses_cuts_outside_the_range_or_out_of_order() {
    let Some(g) = golden_dir() else { return };
    let dir = Scratch::new("split-bad");
    let p1 = g.join("parts/part-1.meguri");
    for cuts in [
        vec!["0x10"],
        vec!["0x67ac805e0356d3b7"],
        vec!["0x50000000000000000", "0x40000000000000000"],
        vec!["0x5000000000000000", "0x4000000000000000"],
    ] {
        let mut args = vec!["split", s(&p1), "--out-dir", s(&dir.0), "--at"];
        args.extend(cuts.iter().copied());
        let r = meguri(&args);
        assert_ne!(r.status.code(), Some(0), "{cuts:?}");
    }
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn damaged_inputs_give_clear_errors_and_leave_nothing_behind() {
    let Some(g) = golden_dir() else { return };
    let good = std::fs::read(g.join("crawled-small-mixed.meguri")).unwrap();
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let (mut refused, mut accepted) = (0, 0);
    for case in 0..80 {
        let dir = Scratch::new(&format!("damaged-{case}"));
        let mut bad = good.clone();
        if case % 8 == 7 {
            bad.truncate(rand(good.len()));
        } else {
            let at = 64 + rand(good.len() - 64);
            bad[at] ^= 1 << rand(8);
        }
        let input = dir.join("in.meguri");
        std::fs::write(&input, &bad).unwrap();
        let out = dir.join("out.meguri");
        let op = if case % 2 == 0 {
            meguri(&["compact", s(&input), "--gc", "--out", s(&out)])
        } else {
            meguri(&["split", s(&input), "--into", "2", "--out-dir", s(&dir.0)])
        };
        match op.status.code() {
            Some(0) => {
                // The flip fell where these commands do not read (a rebuilt region's old
                // bytes): what they wrote must still be sound.
                accepted += 1;
                for n in dir.names().iter().filter(|n| *n != "in.meguri") {
                    assert_verifies(&dir.join(n));
                }
            }
            Some(1) => {
                refused += 1;
                let e = text(&op.stderr);
                assert!(
                    e.starts_with("error: ") && e.lines().count() == 1,
                    "case {case}: {e}"
                );
                assert_eq!(dir.names(), ["in.meguri"], "case {case}: {e}");
            }
            other => panic!("case {case}: exit {other:?}: {}", text(&op.stderr)),
        }
    }
    eprintln!(
        "{refused} damaged inputs refused, {accepted} accepted (damage outside what is read)"
    );
    assert!(
        refused > 60,
        "only {refused} of 80 damaged inputs were refused"
    );
}
