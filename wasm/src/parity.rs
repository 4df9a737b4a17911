//! Decoder parity: a canonical, line-per-part digest of everything a file decodes to.
//!
//! The same function runs natively (C zstd, as the `meguri` command decodes) and in wasm
//! (ruzstd, under Node and in Chromium). Both are checked against one committed table of
//! expected digests (`wasm/tests/parity/expected.txt`), so each target is compared with the
//! other through it. A part is a hash of decoded values, not of the file's bytes: two decoders
//! agree only if they decode every value alike. Errors and verify findings are kept as text,
//! so corrupted inputs must fail the same way too.
//!
//! Digest lines look like `url.6 url_ref 999 3f0c…` (part, values, XXH64 of the values as
//! little-endian words), `verify 2 0` followed by every finding, or `open error: …`.

use meguri_core::error::Table;
use meguri_core::inspect::{columns, render_columns, Summary};
use meguri_core::manifest::{render_map, Manifest};
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::records::Values;
use meguri_core::schema;
use meguri_core::source::Source;
use meguri_core::verify::{verify_file, verify_manifest, Report};
use std::fmt::Write;
use std::hash::Hasher;
use twox_hash::XxHash64;

/// XXH64 with seed 0, the hash every digest line uses (the same function as the host key).
fn hasher() -> XxHash64 {
    XxHash64::with_seed(0)
}

fn hash_values(v: &Values) -> u64 {
    let mut h = hasher();
    match v {
        Values::Int(xs) => xs.iter().for_each(|x| h.write(&x.to_le_bytes())),
        Values::Wide(xs) => xs.iter().for_each(|x| h.write(x)),
    }
    h.finish()
}

fn hash_bytes(b: &[u8]) -> u64 {
    meguri_core::keys::host_key_of(b)
}

fn hash_text(s: &str) -> u64 {
    hash_bytes(s.as_bytes())
}

/// Appends the verify report: counts, then every finding as `verify` prints it.
pub fn render_report(o: &mut String, r: &Report) {
    let _ = writeln!(o, "verify {} {}", r.errors(), r.warnings());
    for f in &r.findings {
        let _ = writeln!(o, "  {f}");
    }
}

/// The digest of a partition file read through `src` with `opts`.
pub fn digest_file<S: Source + ?Sized>(src: &S, opts: ReadOptions) -> String {
    let mut o = String::new();
    match Reader::open_with(src, opts) {
        Err(e) => {
            let _ = writeln!(o, "open error: {e}");
        }
        Ok(r) => {
            let summary = Summary::from_shape(r.shape());
            let layout = render_columns(&columns(r.shape()), summary.urls);
            let _ = writeln!(o, "summary {:016x}", hash_text(&summary.render()));
            let _ = writeln!(o, "layout {:016x}", hash_text(&layout));
            for table in [Table::Url, Table::Host] {
                for spec in schema::columns(table) {
                    let _ = match r.read_column(table, spec.id) {
                        Ok(v) => writeln!(
                            o,
                            "{}.{} {} {} {:016x}",
                            table.name(),
                            spec.id,
                            spec.name,
                            v.len(),
                            hash_values(&v)
                        ),
                        Err(e) => {
                            writeln!(o, "{}.{} {} error: {e}", table.name(), spec.id, spec.name)
                        }
                    };
                }
            }
            let _ = match r.arena() {
                Ok(a) => writeln!(o, "arena {} {:016x}", a.len(), hash_bytes(&a)),
                Err(e) => writeln!(o, "arena error: {e}"),
            };
            let _ = match r.schedule() {
                Ok(None) => writeln!(o, "wheel none"),
                Ok(Some(w)) => {
                    let mut h = hasher();
                    w.counts.iter().for_each(|c| h.write(&c.to_le_bytes()));
                    w.rows.iter().for_each(|c| h.write(&c.to_le_bytes()));
                    writeln!(
                        o,
                        "wheel base {} covered {} rows {} {:016x}",
                        w.base,
                        w.covered,
                        w.rows.len(),
                        h.finish()
                    )
                }
                Err(e) => writeln!(o, "wheel error: {e}"),
            };
            let _ = match r.seen_filter() {
                Ok(None) => writeln!(o, "seen none"),
                Ok(Some(f)) => writeln!(o, "seen {} keys {}", f.kind_name(), f.key_count()),
                Err(e) => writeln!(o, "seen error: {e}"),
            };
        }
    }
    render_report(&mut o, &verify_file(src, &opts));
    o
}

/// The digest of a manifest: parse result, map text, tiling and verify report.
pub fn digest_manifest(bytes: &[u8]) -> String {
    let mut o = String::new();
    match Manifest::parse(bytes) {
        Err(e) => {
            let _ = writeln!(o, "manifest error: {e}");
        }
        Ok(m) => {
            let t = m.tiling();
            let _ = writeln!(
                o,
                "manifest {} entries epoch {} map {:016x}",
                m.entries.len(),
                t.epoch,
                hash_text(&render_map(&m))
            );
            for g in &t.gaps {
                let _ = writeln!(o, "  gap 0x{:016x} 0x{:016x}", g.lo, g.hi);
            }
            for v in &t.overlaps {
                let _ = writeln!(
                    o,
                    "  overlap 0x{:016x} 0x{:016x} {} {}",
                    v.lo, v.hi, v.first, v.second
                );
            }
        }
    }
    render_report(&mut o, &verify_manifest(bytes));
    o
}

/// The digest of any input: a manifest when it starts with the manifest magic, else a file.
pub fn digest(bytes: &[u8], opts: ReadOptions) -> String {
    if bytes.starts_with(&meguri_core::manifest::MANIFEST_MAGIC) {
        digest_manifest(bytes)
    } else {
        digest_file(bytes, opts)
    }
}

/// Applies a damage recipe to `bytes`: `xor:N` flips every bit of byte N, `zxor:N` does too
/// and then recomputes every CRC of the file ([`meguri_core::reseal`]), so that only the
/// decoders (a zstd frame's own checks, say) can see the change; `cut:N` keeps the first N
/// bytes; `zeros:N` appends N zero bytes (a log's preallocated tail). Names in the expected
/// table are `file!recipe`, so both targets damage the same golden
/// file identically. `None` for a recipe that does not fit the input.
pub fn damage(bytes: &mut Vec<u8>, recipe: &str) -> Option<()> {
    let (op, n) = recipe.split_once(':')?;
    let n: usize = n.parse().ok()?;
    match op {
        "xor" => {
            *bytes.get_mut(n)? ^= 0xff;
        }
        "zxor" => {
            *bytes.get_mut(n)? ^= 0xff;
            meguri_core::reseal::reseal(bytes).then_some(())?;
        }
        "cut" if n <= bytes.len() => bytes.truncate(n),
        "zeros" => bytes.resize(bytes.len() + n, 0),
        _ => return None,
    }
    Some(())
}

/// One entry of the expected table: a name (`path` or `path!recipe`) and its digest text.
pub struct Expected {
    /// Path under the golden folder, with an optional `!recipe`.
    pub name: String,
    /// The digest lines.
    pub digest: String,
}

/// Parses the expected table: blocks that start with `== name` followed by digest lines.
pub fn parse_expected(text: &str) -> Vec<Expected> {
    let mut out: Vec<Expected> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("== ") {
            out.push(Expected {
                name: name.to_string(),
                digest: String::new(),
            });
        } else if let Some(last) = out.last_mut() {
            last.digest.push_str(line);
            last.digest.push('\n');
        }
    }
    out
}

/// Reads an entry's input: the golden file through `read`, damaged by its recipe.
pub fn input_of(name: &str, read: impl Fn(&str) -> Option<Vec<u8>>) -> Result<Vec<u8>, String> {
    let (path, recipe) = match name.split_once('!') {
        Some((p, r)) => (p, Some(r)),
        None => (name, None),
    };
    let mut bytes = read(path).ok_or_else(|| format!("{path} cannot be read"))?;
    if let Some(r) = recipe {
        damage(&mut bytes, r).ok_or_else(|| format!("recipe {r} does not fit {path}"))?;
    }
    Ok(bytes)
}

/// Compares `actual` with `expected`, returning a readable difference (first differing line).
pub fn compare(name: &str, expected: &str, actual: &str) -> Result<(), String> {
    if expected == actual {
        return Ok(());
    }
    let mut e = expected.lines();
    let mut a = actual.lines();
    loop {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (x, y) => {
                return Err(format!(
                    "{name}: digest differs\n  expected: {}\n  actual:   {}",
                    x.unwrap_or("<end>"),
                    y.unwrap_or("<end>")
                ))
            }
        }
    }
}

/// Decodes every column of both tables, the arena, the wheel and the seen-set filter, and
/// returns the number of column values decoded: the work the throughput bench times.
pub fn decode_everything(bytes: &[u8], opts: ReadOptions) -> meguri_core::Result<usize> {
    let r = Reader::open_with(bytes, opts)?;
    let mut n = 0usize;
    for table in [Table::Url, Table::Host] {
        for spec in schema::columns(table) {
            n += r.read_column(table, spec.id)?.len();
        }
    }
    let _ = r.arena()?;
    let _ = r.schedule()?;
    let _ = r.seen_filter()?;
    Ok(n)
}

/// The facts of a partition directory both front ends must agree on: the native store opened
/// read-only (what `meguri stats --data` prints and reports) and the inspector's
/// [`crate::PartitionDir`]. Held to one table, `wasm/tests/parity/dirs.txt`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DirFacts {
    /// Why the directory does not open (the core's error text), if it does not.
    pub error: Option<String>,
    /// The current generation.
    pub generation: u64,
    /// Damaged slots (`"A"`, `"B"`) beside a valid one.
    pub damaged: Vec<String>,
    /// Frames replayed.
    pub frames: u64,
    /// One line per log whose bytes after the last good frame a writable open would cut or
    /// trim: `log-2 truncate at N keep B` or `log-2 zeros at N bytes B`.
    pub tails: Vec<String>,
    /// Live URL rows and the XXH64 of their keys and values in key order.
    pub urls: (u64, u64),
    /// Live host rows and the XXH64 of theirs.
    pub hosts: (u64, u64),
    /// `meguri stats --data`'s text at hour 491041 for a directory named `dir`.
    pub stats: String,
}

/// The hour the digests count live statistics at (the golden directories' due hour).
pub const DIR_STATS_HOUR: u32 = 491_041;

/// Hashes rows as the digests do: key and value bytes as a log frame carries them.
#[derive(Default)]
pub struct RowHash {
    h: Option<XxHash64>,
    n: u64,
    buf: Vec<u8>,
}

impl RowHash {
    /// Adds a URL row.
    pub fn url(&mut self, u: &meguri_core::records::UrlRecord) {
        self.buf.clear();
        self.buf.extend_from_slice(&u.key.to_bytes());
        meguri_core::store::frame::put_url_value(u, &mut self.buf);
        self.h.get_or_insert_with(hasher).write(&self.buf);
        self.n += 1;
    }

    /// Adds a host row.
    pub fn host(&mut self, h: &meguri_core::records::HostRecord) {
        self.buf.clear();
        self.buf.extend_from_slice(&h.host_key.to_le_bytes());
        meguri_core::store::frame::put_host_value(h, &mut self.buf);
        self.h.get_or_insert_with(hasher).write(&self.buf);
        self.n += 1;
    }

    /// Rows added and their hash.
    pub fn finish(&self) -> (u64, u64) {
        (self.n, self.h.as_ref().map_or(0, Hasher::finish))
    }
}

/// The digest text of a directory's facts.
pub fn render_dir(f: &DirFacts) -> String {
    let mut o = String::new();
    if let Some(e) = &f.error {
        let _ = writeln!(o, "open error: {e}");
        return o;
    }
    let _ = writeln!(o, "generation {}", f.generation);
    let _ = writeln!(o, "damaged slots [{}]", f.damaged.join(", "));
    let _ = writeln!(o, "frames {}", f.frames);
    for t in &f.tails {
        let _ = writeln!(o, "tail {t}");
    }
    let _ = writeln!(o, "urls {} {:016x}", f.urls.0, f.urls.1);
    let _ = writeln!(o, "hosts {} {:016x}", f.hosts.0, f.hosts.1);
    let _ = writeln!(o, "stats {:016x}", hash_text(&f.stats));
    o
}

/// The facts the inspector's [`crate::PartitionDir`] gives for the files of a directory.
pub fn dir_facts(files: Vec<(String, Vec<u8>)>) -> DirFacts {
    let mut d = crate::PartitionDir::from_files("dir", files);
    if let Err(e) = d.run() {
        return DirFacts {
            error: Some(e.to_string()),
            ..DirFacts::default()
        };
    }
    d.facts()
}

/// Reads a directory entry's files (`dir/` or `dir/!file!recipe`) through `read(path)`, which
/// lists a folder's file names, one per line, for a path ending in `/`.
pub fn dir_input(
    name: &str,
    read: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut parts = name.splitn(3, '!');
    let dir = parts.next().unwrap_or_default();
    let (file, recipe) = (parts.next(), parts.next());
    let list = read(dir).ok_or_else(|| format!("{dir} cannot be listed"))?;
    let mut out = Vec::new();
    for n in String::from_utf8_lossy(&list)
        .lines()
        .filter(|l| !l.is_empty())
    {
        let mut b = read(&format!("{dir}{n}")).ok_or_else(|| format!("{dir}{n} cannot be read"))?;
        if Some(n) == file {
            let r = recipe.unwrap_or_default();
            if let Some(later) = split_log(&mut b, r) {
                let next = meguri_core::store::recovery::log_number(n).map(|k| k + 1);
                let next = next.ok_or_else(|| format!("{n} is not a log"))?;
                out.push((format!("log-{next}"), later));
            } else {
                damage(&mut b, r).ok_or_else(|| format!("recipe {r} does not fit {dir}{n}"))?;
            }
        }
        out.push((n.to_string(), b));
    }
    Ok(out)
}

/// The directory recipes that make a later log, as a checkpoint that rotated logs but never
/// committed leaves one: `split:N` moves the frames from the first frame boundary at or after
/// byte N into the next log; `splitdup:N` also leaves copies of the three frames before it at
/// the next log's start (an interrupted fold); `splitgap:N` drops the moved log's first frame
/// (the log before it lost its tail, so the chain breaks). Returns the next log's bytes.
fn split_log(log: &mut Vec<u8>, recipe: &str) -> Option<Vec<u8>> {
    use meguri_core::store::recovery::{Rule, Scan};
    let (op, n) = recipe.split_once(':')?;
    if !matches!(op, "split" | "splitdup" | "splitgap") {
        return None;
    }
    let n: u64 = n.parse().ok()?;
    let mut bounds = Vec::new();
    let bytes = log.clone();
    Scan::new(bytes.len() as u64, 0, Rule::First(0))
        .run(
            |off, b: &mut [u8]| {
                b.copy_from_slice(&bytes[off as usize..off as usize + b.len()]);
                Ok::<(), ()>(())
            },
            |off, f, _| bounds.push((off, off + f.len as u64)),
        )
        .ok()?;
    let i = bounds.iter().position(|(start, _)| *start >= n)?;
    let cut = bounds[i].0 as usize;
    let later = match op {
        "splitdup" => bytes[bounds[i.checked_sub(3)?].0 as usize..].to_vec(),
        "splitgap" => bytes[bounds[i].1 as usize..].to_vec(),
        _ => bytes[cut..].to_vec(),
    };
    log.truncate(cut);
    Some(later)
}
