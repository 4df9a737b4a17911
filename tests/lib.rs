//! Helpers shared by the cross-crate tests: where the shared reference material is, small
//! parsers for the reference's text outputs, and ([`fixtures`]) files and directories made by
//! our own writer and store.
//!
//! Tests that compare with the reference's files call [`golden_dir`], which prints why and
//! returns `None` when the folder is absent, so the suite still runs (and says what it skipped)
//! elsewhere; under `CI=true` the folder must be there, and its absence fails the test. Every
//! other test runs on [`fixtures`], which need nothing beside the repository.

use std::path::{Path, PathBuf};

/// The reference's golden folder, or `None` (with a loud note on stderr) when it is absent.
///
/// # Panics
/// When the folder is absent and the environment says `CI=true`: there a missing folder would
/// turn every parity test into a silent pass (`.ci/run` refuses to start for the same reason).
pub fn golden_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/golden");
    if dir.is_dir() {
        return Some(dir.canonicalize().expect("canonical golden dir"));
    }
    let msg = format!(
        "{} is absent; golden-file parity tests need the shared reference folder beside the repository",
        dir.display()
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true: {msg}"
    );
    eprintln!("SKIPPED: {msg}");
    None
}

/// Every file under `dir` whose name ends with `suffix`, sorted.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().ends_with(suffix) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The value after `label` on the line that starts (after indentation) with it.
pub fn field<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim_start)
        .find_map(|l| l.strip_prefix(label))
        .map(str::trim)
}

/// Parses `0x…` hex.
pub fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).expect("hex")
}

/// The file a reference output describes: `full.meguri.stats.txt` → `full.meguri` (with
/// `suffix` = `.stats.txt`).
pub fn subject_of(output: &Path, suffix: &str) -> PathBuf {
    let name = output.file_name().expect("file name").to_string_lossy();
    output.with_file_name(name.trim_end_matches(suffix))
}

/// A directory under the system temp folder, removed (with its contents) when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// A fresh, empty directory named after `tag` and the process.
    pub fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("meguri-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create scratch dir");
        Scratch(p)
    }

    /// A path inside.
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// The names of the files inside, sorted (hidden ones included).
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .expect("read scratch dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

use meguri_core::arena::Arena;
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::schema::Record;

/// A URL row as a value: its arena references replaced by the strings they point at (and
/// zeroed in the record), so files with different arena layouts compare equal when they hold
/// the same data.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlValue {
    /// The record, references zeroed.
    pub rec: UrlRecord,
    /// URL, ETag and redirect strings.
    pub strings: [Option<Vec<u8>>; 3],
}

/// A host row as a value (see [`UrlValue`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HostValue {
    /// The record, references zeroed.
    pub rec: HostRecord,
    /// Host, registrable-domain and robots strings.
    pub strings: [Option<Vec<u8>>; 3],
}

/// Every row of a `.meguri` file as values.
pub fn values_of(bytes: &[u8]) -> (Vec<UrlValue>, Vec<HostValue>) {
    let r = meguri_core::reader::Reader::open(bytes).expect("open");
    let arena_bytes = r.arena().expect("arena");
    let a = Arena(&arena_bytes);
    let s = |r: u64| a.get(r).map(<[u8]>::to_vec);
    let urls = r
        .url_table()
        .expect("URL table")
        .into_iter()
        .map(|mut u| {
            let strings = u.arena_refs().map(|(_, r)| s(r));
            u.map_arena_refs(|_| 0);
            UrlValue { rec: u, strings }
        })
        .collect();
    let hosts = r
        .host_table()
        .expect("host table")
        .into_iter()
        .map(|mut h| {
            let strings = h.arena_refs().map(|(_, r)| s(r));
            h.map_arena_refs(|_| 0);
            HostValue { rec: h, strings }
        })
        .collect();
    (urls, hosts)
}

/// Rows of a file by path.
pub fn values_at(path: &Path) -> (Vec<UrlValue>, Vec<HostValue>) {
    values_of(&std::fs::read(path).expect("read file"))
}

/// Panics unless `verify` finds no error in the file (warnings allowed).
pub fn assert_verifies(path: &Path) {
    let bytes = std::fs::read(path).expect("read file");
    let report =
        meguri_core::verify::verify_file(&bytes[..], &meguri_core::reader::ReadOptions::default());
    let errors: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == meguri_core::Severity::Error)
        .map(|f| f.to_string())
        .collect();
    assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
}

/// Runs the binary at `exe` (a test's `env!("CARGO_BIN_EXE_meguri")`) with `args`.
pub fn run_bin(exe: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(exe)
        .args(args)
        .output()
        .expect("run the binary")
}

/// Bytes of a process's output as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A small partition for tests that need a file but not the shared folder: `hosts` hosts spread
/// evenly inside `lo..=hi`, host `h` with `1 + h % 5` URLs, every URL string in the arena,
/// statuses 0 to 2, every odd path due at hour `480_000 + h` (even ones unscheduled), a
/// metadata pair and a schedule region.
pub fn small_partition(id: u32, lo: u64, hi: u64, hosts: u64) -> meguri_core::partition::Partition {
    use meguri_core::keys::UrlKey;
    let mut p = meguri_core::partition::Partition {
        id,
        hostkey_lo: lo,
        hostkey_hi: hi,
        created_hours: 480_000,
        arena: vec![0],
        meta: vec![(b"origin".to_vec(), b"meguri-tests".to_vec())],
        schedule: true,
        ..Default::default()
    };
    let step = (hi - lo) / (hosts + 1);
    for h in 0..hosts {
        let host = lo + step * (h + 1);
        let n = 1 + h % 5;
        p.hosts.push(HostRecord {
            host_key: host,
            url_count: n as u32,
            ..HostRecord::default()
        });
        for path in 0..n {
            let url = format!("https://host{h}.example/page/{path}");
            let url_ref = p.arena.len() as u64;
            meguri_core::bytes::put_uvarint(&mut p.arena, url.len() as u64);
            p.arena.extend_from_slice(url.as_bytes());
            p.urls.push(UrlRecord {
                key: UrlKey { host, path },
                status: (h % 3) as u8,
                next_due: if path % 2 == 0 { 0 } else { 480_000 + h as u32 },
                url_ref,
                ..UrlRecord::default()
            });
        }
    }
    p
}

/// Writes `p` to `dir/name` with our writer, 64 rows a page so columns have several pages.
pub fn write_partition(dir: &Path, name: &str, p: &meguri_core::partition::Partition) -> PathBuf {
    let opts = meguri_core::write::WriteOptions {
        page_rows: 64,
        ..Default::default()
    };
    let codec = meguri_core::format::codec::CZstd::new(3);
    let path = dir.join(name);
    std::fs::write(
        &path,
        meguri_core::write::encode(p, &opts, &codec).expect("encode"),
    )
    .expect("write the partition");
    path
}

/// The byte offset of the CRC field in the header of `column`'s first page in a file: flip a
/// bit there and that page, and nothing else, fails its check.
pub fn first_page_crc_at(bytes: &[u8], table: meguri_core::Table, column: u64) -> usize {
    let r = meguri_core::reader::Reader::open(bytes).expect("open");
    let dir = r.column_dir(table, column).expect("column");
    dir.first_page_offset as usize + 28
}

pub mod fixtures;

/// Files for a test that runs on any checkout, as `(name, bytes)`: the named generated
/// [`fixtures::feature_files`], then the named golden files when the shared folder is there.
pub fn generated_and_golden(generated: &[&str], golden: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = generated
        .iter()
        .map(|n| {
            let f = fixtures::feature_file(n);
            (format!("generated {n}"), f.bytes.clone())
        })
        .collect();
    if let Some(g) = golden_dir() {
        for n in golden {
            let path = g.join(n);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            v.push((format!("golden {n}"), bytes));
        }
    }
    v
}

/// Panics, naming the first row that differs (not printing every row), unless `a` and `b` hold
/// the same rows.
pub fn assert_same_values(
    a: &(Vec<UrlValue>, Vec<HostValue>),
    b: &(Vec<UrlValue>, Vec<HostValue>),
    what: &str,
) {
    assert_eq!(a.0.len(), b.0.len(), "{what}: URL rows");
    assert_eq!(a.1.len(), b.1.len(), "{what}: host rows");
    if let Some((x, y)) = a.0.iter().zip(&b.0).find(|(x, y)| x != y) {
        panic!("{what}: URL rows differ:\n{x:?}\n{y:?}");
    }
    if let Some((x, y)) = a.1.iter().zip(&b.1).find(|(x, y)| x != y) {
        panic!("{what}: host rows differ:\n{x:?}\n{y:?}");
    }
}
