//! `meguri seed` of the shared corpus gives the same rows, values and strings as the
//! reference's `full.meguri` (values, not bytes), and a file `verify` finds clean.

use meguri_core::arena::Arena;
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::verify::verify_file;
use meguri_tests::golden_dir;
use std::path::PathBuf;
use std::process::Command;

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("MEGURI_CORPUS") {
        Some(p) if PathBuf::from(&p).is_file() => Some(PathBuf::from(p)),
        _ => {
            eprintln!("SKIPPED: MEGURI_CORPUS is unset or missing; the seed parity test needs the shared corpus");
            None
        }
    }
}

/// Runs `meguri seed -i INPUT -o OUT`.
fn seed_file(input: &str, out: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_meguri"))
        .args(["seed", "-i", input, "-o", out])
        .output()
        .unwrap()
}

#[test]
fn seed_of_the_corpus_equals_the_reference_values() {
    let (Some(c), Some(g)) = (corpus(), golden_dir()) else {
        return;
    };
    let out = std::env::temp_dir().join(format!("meguri-seed-{}.meguri", std::process::id()));
    let run = seed_file(c.to_str().unwrap(), out.to_str().unwrap());
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let line = String::from_utf8(run.stdout).unwrap();
    let reference = std::fs::read_to_string(g.join("full.meguri.seed.txt")).unwrap();
    // Same counts in the same sentence; only the path and the size differ.
    let counts = |s: &str| s.split(" into ").next().unwrap().to_string();
    assert_eq!(counts(&line), counts(&reference));

    let ours = std::fs::read(&out).unwrap();
    let theirs = std::fs::read(g.join("full.meguri")).unwrap();
    assert!(verify_file(&ours[..], &ReadOptions::default())
        .findings
        .is_empty());
    let (a, b) = (
        Reader::open(&ours[..]).unwrap(),
        Reader::open(&theirs[..]).unwrap(),
    );
    let (pa, pb) = (a.partition().unwrap(), b.partition().unwrap());
    assert_eq!(
        (pa.id, pa.hostkey_lo, pa.hostkey_hi, pa.created_hours),
        (pb.id, pb.hostkey_lo, pb.hostkey_hi, pb.created_hours)
    );
    assert_eq!(pa.urls.len(), pb.urls.len());
    assert_eq!(pa.hosts.len(), pb.hosts.len());
    let (aa, ab) = (Arena(&pa.arena), Arena(&pb.arena));
    for (x, y) in pa.urls.iter().zip(&pb.urls) {
        assert_eq!(
            aa.get(x.url_ref),
            ab.get(y.url_ref),
            "URL string of {:?}",
            x.key
        );
        // Everything but the arena offset is equal, floats bit for bit.
        let strip = |u: &meguri_core::records::UrlRecord| meguri_core::records::UrlRecord {
            url_ref: 0,
            ..*u
        };
        assert_eq!(strip(x), strip(y));
        assert_eq!(x.priority.to_bits(), y.priority.to_bits());
    }
    for (x, y) in pa.hosts.iter().zip(&pb.hosts) {
        assert_eq!(aa.get(x.host_ref), ab.get(y.host_ref));
        assert_eq!(aa.get(x.registrable_ref), ab.get(y.registrable_ref));
        let strip = |h: &meguri_core::records::HostRecord| meguri_core::records::HostRecord {
            host_ref: 0,
            registrable_ref: 0,
            ..*h
        };
        assert_eq!(strip(x), strip(y));
    }
    let (ours_bpu, theirs_bpu) = (
        a.footer().stats.unwrap().bytes_per_url,
        b.footer().stats.unwrap().bytes_per_url,
    );
    eprintln!(
        "seed: {} bytes, {ours_bpu:.2} bytes/url (reference {} bytes, {theirs_bpu:.2})",
        ours.len(),
        theirs.len(),
    );
    // The writer's size goal for this corpus (bytes are deterministic, so this cannot flake).
    assert!(ours_bpu <= 22.0, "{ours_bpu} bytes/url");
    std::fs::remove_file(out).ok();
}

#[test]
fn seed_reads_stdin_counts_skips_and_never_leaves_a_half_file() {
    let dir = std::env::temp_dir().join(format!("meguri-seed-stdin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("s.meguri");
    let mut child = Command::new(env!("CARGO_BIN_EXE_meguri"))
        .args(["seed", "-o", out.to_str().unwrap(), "--priority", "0.25"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = "{\"url\":\"https://a.example/x\"}\r\n\n{\"url\":\"https://a.example/x\"}\nnot json\n{\"url\":\"https://b.example/\",\"status\":\"200\"}\n";
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
    let r = child.wait_with_output().unwrap();
    assert!(r.status.success());
    let line = String::from_utf8(r.stdout).unwrap();
    assert!(
        line.starts_with("seeded 2 urls (1 lines skipped) into "),
        "{line}"
    );
    let bytes = std::fs::read(&out).unwrap();
    let p = Reader::open(&bytes[..]).unwrap().partition().unwrap();
    assert!(p.urls.iter().all(|u| u.priority == 0.25 && u.status == 1));
    // Only the finished file is in the directory: no temporary left behind.
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("s.meguri")]);
    // An unreadable input fails with one line and leaves no output.
    let out2 = dir.join("t.meguri");
    let r = seed_file("/nonexistent.jsonl", out2.to_str().unwrap());
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr)
        .starts_with("error: seed: read input /nonexistent.jsonl"));
    assert!(!out2.exists());
    std::fs::remove_dir_all(dir).ok();
}

/// Lines cut across the reader's 4 MiB blocks, a single line longer than a block, a last line
/// without a newline, zstd input, and a line over the 16 MiB limit.
#[test]
fn seed_input_blocks_keep_lines_whole() {
    let dir = std::env::temp_dir().join(format!("meguri-seed-blocks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::new();
    let mut n = 0;
    // ~9 MiB of ordinary lines, so several block boundaries fall inside lines.
    while text.len() < 9 << 20 {
        text.push_str(&format!(
            "{{\"url\":\"https://h{}.example/p/{n}\",\"pad\":\"{}\"}}\n",
            n % 977,
            "x".repeat(n % 300)
        ));
        n += 1;
    }
    // One 5 MiB line (longer than a block), valid and seeded.
    text.push_str(&format!(
        "{{\"url\":\"https://long.example/\",\"pad\":\"{}\"}}\n",
        "y".repeat(5 << 20)
    ));
    text.push_str("{\"url\":\"https://last.example/no-newline\"}");
    let plain = dir.join("in.jsonl");
    std::fs::write(&plain, &text).unwrap();
    let zst = dir.join("in.jsonl.zst");
    std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
    let mut outputs = Vec::new();
    for (name, input) in [("plain", &plain), ("zst", &zst)] {
        let out = dir.join(format!("{name}.meguri"));
        let r = seed_file(input.to_str().unwrap(), out.to_str().unwrap());
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        let line = String::from_utf8(r.stdout).unwrap();
        assert!(
            line.starts_with(&format!("seeded {} urls (0 lines skipped)", n + 2)),
            "{name}: {line}"
        );
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(
        outputs[0], outputs[1],
        "plain and zstd input give the same file"
    );
    let p = Reader::open(&outputs[0][..]).unwrap().partition().unwrap();
    let arena = meguri_core::arena::Arena(&p.arena);
    let mut urls: Vec<&[u8]> = p
        .urls
        .iter()
        .map(|u| arena.get(u.url_ref).unwrap())
        .collect();
    urls.sort();
    assert!(urls.binary_search(&&b"https://long.example/"[..]).is_ok());
    assert!(urls
        .binary_search(&&b"https://last.example/no-newline"[..])
        .is_ok());
    assert!(urls.binary_search(&&b"https://h5.example/p/5"[..]).is_ok());

    // A line over 16 MiB is an I/O-level error naming the line, and nothing is written.
    let mut big = String::from("{\"url\":\"https://a.example/\"}\n");
    big.push_str(&"z".repeat((16 << 20) + 10));
    big.push('\n');
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, big).unwrap();
    let out = dir.join("bad.meguri");
    let r = seed_file(bad.to_str().unwrap(), out.to_str().unwrap());
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("line 2 is longer than 16 MiB"), "{err}");
    assert!(!out.exists());
    std::fs::remove_dir_all(dir).ok();
}
