//! `seed --memory`: the output is the same bytes at every budget, and the same bytes the
//! in-memory seeder ([`meguri::seed::Seeder`], today's seed before the budget existed) and the
//! in-memory writer give; a budget too small for one line, bad input after runs were written
//! and a full disk each fail with one clear line and leave no output and no temporary file.

use meguri::encode::{encode_partition, EncodeSettings};
use meguri::seed::{parse_block, Seeder};
use meguri_core::arena::Arena;
use meguri_core::keys::seed_key;
use meguri_core::reader::Reader;
use meguri_tests::{assert_verifies, text, Scratch};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const EXE: &str = env!("CARGO_BIN_EXE_meguri");

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/urls-4k.cdx.jsonl.zst")
}

/// Runs `meguri seed -i INPUT -o OUT --json` with `extra` arguments.
fn seed(input: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(EXE)
        .args(["seed", "-i"])
        .arg(input)
        .arg("-o")
        .arg(out)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap()
}

/// Seeds and returns the file's bytes and the JSON report.
fn seeded(input: &Path, out: &Path, extra: &[&str]) -> (Vec<u8>, serde_json::Value) {
    let r = seed(input, out, extra);
    assert!(r.status.success(), "{extra:?}: {}", text(&r.stderr));
    let report: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    (std::fs::read(out).unwrap(), report)
}

/// Today's in-memory seed of the same lines: the seeder over one block, the whole partition
/// encoded in memory.
fn in_memory(input: &Path) -> Vec<u8> {
    let raw = std::fs::read(input).unwrap();
    let text = if raw.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        zstd::decode_all(&raw[..]).unwrap()
    } else {
        raw
    };
    let mut s = Seeder::new(0.5, 10);
    s.push_block(parse_block(&text));
    encode_partition(&s.finish(), &EncodeSettings::default()).unwrap()
}

/// Seeds `input` at the default budget and at each of `budgets`, checks every file is the
/// in-memory seed's bytes, and returns the runs each budget wrote.
fn same_bytes_at(input: &Path, budgets: &[&str]) -> Vec<u64> {
    let d = Scratch::new("seed-mem-same");
    let want = in_memory(input);
    let (default, report) = seeded(input, &d.join("default.meguri"), &[]);
    assert_eq!(report["runs"], 1, "the default budget holds it");
    assert!(default == want, "the default seed is today's bytes");
    assert_verifies(&d.join("default.meguri"));
    let mut runs = Vec::new();
    for b in budgets {
        let out = d.join(&format!("m{b}.meguri"));
        let (bytes, report) = seeded(input, &out, &["--memory", b]);
        assert!(bytes == want, "--memory {b} gives other bytes");
        assert_eq!(report["memory"], meguri::seed_sort::parse_size(b).unwrap());
        assert_eq!(
            report["urls"],
            Reader::open(&want[..]).unwrap().header().url_count
        );
        runs.push(report["runs"].as_u64().unwrap());
    }
    // Only the outputs are left: runs and other temporaries are gone.
    assert_eq!(d.names().len(), budgets.len() + 1, "{:?}", d.names());
    runs
}

#[test]
fn the_sample_seeds_to_the_same_bytes_at_any_budget() {
    // 3,972 lines: 32K makes tens of runs; 4K makes hundreds, so runs are merged in two
    // levels (at most 64 at once).
    let runs = same_bytes_at(&sample(), &["32K", "4K"]);
    assert!(runs[0] > 4 && runs[1] > 64, "{runs:?}");
}

#[test]
fn the_corpus_seeds_to_the_same_bytes_at_any_budget() {
    let Some(c) = std::env::var_os("MEGURI_CORPUS").map(PathBuf::from) else {
        eprintln!("SKIPPED: MEGURI_CORPUS is unset; the corpus half of the budget test needs it");
        return;
    };
    let runs = same_bytes_at(&c, &["8M"]);
    assert!(runs[0] > 4, "{runs:?}");
}

/// Lines whose keys repeat across runs with other strings (the scheme is not part of the
/// key, so `http://` and `https://` of one path share it), in reverse order later on, with
/// lines to skip in between: the earliest line of each key must win whatever the runs.
#[test]
fn the_earliest_line_of_a_key_wins_across_runs() {
    let d = Scratch::new("seed-mem-first");
    let mut lines = String::new();
    for i in 0..600 {
        lines.push_str(&format!(
            "{{\"url\":\"http://h{}.example/p/{i}\"}}\n",
            i % 37
        ));
        if i % 50 == 0 {
            lines.push_str("not json\n{\"host\":\"no-url\"}\n");
        }
    }
    for i in (0..600).rev() {
        lines.push_str(&format!(
            "{{\"url\":\"https://h{}.example/p/{i}\"}}\n",
            i % 37
        ));
    }
    let input = d.join("in.jsonl");
    std::fs::write(&input, &lines).unwrap();
    let want = in_memory(&input);
    for budget in ["1K", "3K", "16K", "512M"] {
        let out = d.join("out.meguri");
        let (bytes, report) = seeded(&input, &out, &["--memory", budget]);
        assert!(bytes == want, "--memory {budget}");
        assert_eq!(
            (report["urls"].as_u64(), report["skipped"].as_u64()),
            (Some(600), Some(24))
        );
        if budget == "1K" {
            assert!(report["runs"].as_u64().unwrap() > 64);
        }
    }
    let p = Reader::open(&want[..]).unwrap().partition().unwrap();
    let arena = Arena(&p.arena);
    for u in &p.urls {
        let url = std::str::from_utf8(arena.get(u.url_ref).unwrap()).unwrap();
        assert!(url.starts_with("http://"), "{url}: the first line's string");
        assert_eq!(seed_key(url, ""), u.key);
    }
}

#[test]
fn empty_input_seeds_the_same_at_any_budget() {
    let d = Scratch::new("seed-mem-empty");
    let input = d.join("in.jsonl");
    std::fs::write(&input, "\n  \nnot json\n").unwrap();
    let want = in_memory(&input);
    for budget in ["1", "1K", "512M"] {
        let (bytes, report) = seeded(&input, &d.join("out.meguri"), &["--memory", budget]);
        assert!(bytes == want, "--memory {budget}");
        assert_eq!(report["urls"], 0);
    }
}

/// No output, and nothing else either, in the output's directory and the temporary one.
fn assert_nothing_left(dirs: &[&Scratch]) {
    for d in dirs {
        assert!(d.names().is_empty(), "{}: {:?}", d.0.display(), d.names());
    }
}

#[test]
fn a_budget_too_small_for_one_line_is_a_usage_error() {
    let (d, tmp) = (
        Scratch::new("seed-mem-small"),
        Scratch::new("seed-mem-small-tmp"),
    );
    let input = d.join("in.jsonl");
    let out = Scratch::new("seed-mem-small-out");
    // Fits 200 bytes; the third line does not.
    std::fs::write(
        &input,
        format!(
            "{{\"url\":\"https://a.example/1\"}}\n{{\"url\":\"https://a.example/2\"}}\n\
             {{\"url\":\"https://a.example/{}\"}}\n",
            "x".repeat(300)
        ),
    )
    .unwrap();
    let r = seed(
        &input,
        &out.join("s.meguri"),
        &["--memory", "200", "--tmp-dir", tmp.0.to_str().unwrap()],
    );
    assert_eq!(r.status.code(), Some(2), "{}", text(&r.stderr));
    let err = text(&r.stderr);
    assert!(
        err.starts_with("error: seed: --memory 200 bytes cannot hold one line: a URL of 318 bytes with its host needs 367 bytes"),
        "{err}"
    );
    assert_nothing_left(&[&out, &tmp]);
    // A budget that does not parse is refused by the argument parser.
    let r = seed(&input, &out.join("s.meguri"), &["--memory", "12Q"]);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        text(&r.stderr).contains("unknown unit"),
        "{}",
        text(&r.stderr)
    );
}

#[test]
fn bad_input_after_runs_were_written_leaves_nothing() {
    let (out, tmp) = (
        Scratch::new("seed-mem-bad"),
        Scratch::new("seed-mem-bad-tmp"),
    );
    let mut text_in = String::new();
    for i in 0..3000 {
        text_in.push_str(&format!("{{\"url\":\"https://h{i}.example/\"}}\n"));
    }
    // The next line is over the 16 MiB limit: an input error after many runs.
    text_in.push_str(&"z".repeat((16 << 20) + 10));
    text_in.push('\n');
    let input = Scratch::new("seed-mem-bad-in");
    std::fs::write(input.join("in.jsonl"), &text_in).unwrap();
    let r = seed(
        &input.join("in.jsonl"),
        &out.join("s.meguri"),
        &["--memory", "8K", "--tmp-dir", tmp.0.to_str().unwrap()],
    );
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(err.contains("line 3001 is longer than 16 MiB"), "{err}");
    assert_nothing_left(&[&out, &tmp]);
}

#[test]
fn a_missing_temporary_directory_is_named() {
    let out = Scratch::new("seed-mem-notmp");
    let r = seed(
        &sample(),
        &out.join("s.meguri"),
        &["--memory", "64K", "--tmp-dir", "/nonexistent/meguri-tmp"],
    );
    assert_eq!(r.status.code(), Some(1));
    let err = text(&r.stderr);
    assert!(
        err.starts_with("error: seed /nonexistent/meguri-tmp: temporary sort file: "),
        "{err}"
    );
    assert_nothing_left(&[&out]);
}

/// A full disk, simulated with a file-size limit on the process (writes past it fail with
/// EFBIG instead of ENOSPC; the seed cannot tell them apart): in a sorted run, in the merge's
/// spills, and in the output itself, the seed fails with the system's error naming the
/// directory or the file, and leaves nothing behind.
#[test]
fn a_full_disk_at_any_point_leaves_nothing() {
    use std::os::unix::process::CommandExt;
    let (d, tmp) = (
        Scratch::new("seed-mem-full"),
        Scratch::new("seed-mem-full-tmp"),
    );
    let tmp_name = format!("error: seed {}: temporary sort file: ", tmp.0.display());
    let out_name = format!("error: seed {}: ", d.join("s.meguri").display());
    // The sample at 32K writes runs of under 32 KB, then spills of the rows (95 KB) and the
    // raw arena (over 180 KB), then an output of 148 KB; with one row a page the output is
    // 12.5 MB, the largest file by far.
    let cases: [(u64, &[&str], &str); 3] = [
        (8 << 10, &[], &tmp_name),
        (100 << 10, &[], &tmp_name),
        (1 << 20, &["--page-rows", "1"], &out_name),
    ];
    for (limit, extra, names) in cases {
        let mut cmd = Command::new(EXE);
        cmd.args(["seed", "-i"])
            .arg(sample())
            .arg("-o")
            .arg(d.join("s.meguri"))
            .args(["--memory", "32K", "--tmp-dir"])
            .arg(&tmp.0)
            .args(extra);
        // SAFETY: between fork and exec only async-signal-safe calls (setrlimit, signal).
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // A write past the limit then fails with EFBIG instead of killing the process.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
        let r = cmd.output().unwrap();
        let err = text(&r.stderr);
        assert_eq!(r.status.code(), Some(1), "limit {limit}: {err}");
        assert!(
            err.starts_with(names) && err.contains("File too large"),
            "limit {limit}: {err}"
        );
        assert_nothing_left(&[&d, &tmp]);
    }
}

#[test]
fn parse_size_takes_binary_suffixes() {
    use meguri::seed_sort::parse_size;
    assert_eq!(parse_size("65536"), Ok(65536));
    assert_eq!(parse_size("64K"), Ok(64 << 10));
    assert_eq!(parse_size("512M"), Ok(512 << 20));
    assert_eq!(parse_size("512MiB"), Ok(512 << 20));
    assert_eq!(parse_size("2g"), Ok(2 << 30));
    assert_eq!(parse_size("2GB"), Ok(2 << 30));
    assert!(parse_size("").is_err());
    assert!(parse_size("M").is_err());
    assert!(parse_size("1.5G").is_err());
    assert!(parse_size("99999999999T").is_err());
}
