//! Sorted runs on disk and their k-way merge.
//!
//! A run file holds two sections written back to back, each a sequence of records sorted by
//! key with no key twice: the URL section (`host key u64 LE ‖ path key u64 LE ‖ uvarint len ‖
//! URL`) and the host section (the same shape with path key 0 and the host string). Runs are
//! numbered in input order (run `i` holds only lines read before those of run `i + 1`), and a
//! merge breaks ties between equal keys by run number, so the record it keeps for a key is the
//! one from the earliest line: the rule the in-memory seeder follows.
//!
//! Invariant: every run file is unlinked as soon as it is created (see
//! [`crate::reshape::spill`]), so nothing is left behind however the process ends.

use meguri_core::bytes::put_uvarint;
use meguri_core::keys::UrlKey;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

/// Most runs one merge reads at once: keeps open files (two sections each) and read buffers
/// bounded however many runs the input made.
pub const FAN_IN: usize = 64;

/// Smallest and largest read buffer of one section in a merge.
const MIN_BUF: usize = 4 << 10;
const MAX_BUF: usize = 1 << 20;

/// A new unlinked temporary file in `dir`.
pub fn temp_file(dir: &Path, tag: &str) -> io::Result<File> {
    crate::reshape::spill::SpillWriter::new(dir, tag)?.into_file()
}

/// A sorted run on disk.
pub struct Run {
    file: Arc<File>,
    /// Where the host section starts (the URL section starts at 0).
    hosts_at: u64,
    /// The file's length.
    end: u64,
}

impl Run {
    /// The URL section, read with a buffer of `buf` bytes.
    fn urls(&self, buf: usize) -> Section {
        Section::new(self.file.clone(), 0, self.hosts_at, buf)
    }

    /// The host section, read with a buffer of `buf` bytes.
    fn hosts(&self, buf: usize) -> Section {
        Section::new(self.file.clone(), self.hosts_at, self.end, buf)
    }
}

/// Writes a run: URL records, then [`RunWriter::hosts`], then host records.
pub struct RunWriter {
    out: BufWriter<File>,
    at: u64,
    hosts_at: Option<u64>,
}

impl RunWriter {
    /// A new run file in `dir`.
    pub fn new(dir: &Path) -> io::Result<RunWriter> {
        Ok(RunWriter {
            out: BufWriter::with_capacity(1 << 20, temp_file(dir, "seed-run")?),
            at: 0,
            hosts_at: None,
        })
    }

    /// Appends a record to the current section.
    pub fn put(&mut self, key: UrlKey, bytes: &[u8]) -> io::Result<()> {
        let mut head = Vec::with_capacity(26);
        head.extend_from_slice(&key.host.to_le_bytes());
        head.extend_from_slice(&key.path.to_le_bytes());
        put_uvarint(&mut head, bytes.len() as u64);
        self.out.write_all(&head)?;
        self.out.write_all(bytes)?;
        self.at += (head.len() + bytes.len()) as u64;
        Ok(())
    }

    /// Ends the URL section; later records are host records.
    pub fn hosts(&mut self) {
        self.hosts_at = Some(self.at);
    }

    /// Ends the run.
    pub fn finish(self) -> io::Result<Run> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        Ok(Run {
            file: Arc::new(file),
            hosts_at: self.hosts_at.unwrap_or(self.at),
            end: self.at,
        })
    }
}

/// A section of a run file, read forward through a buffer with positioned reads (several
/// sections of one file are read at once).
struct Section {
    file: Arc<File>,
    /// File offset of the byte after the buffer's.
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    at: usize,
    len: usize,
}

fn ended_early() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "a temporary sort file ended inside a record",
    )
}

impl Section {
    fn new(file: Arc<File>, start: u64, end: u64, buf: usize) -> Section {
        Section {
            file,
            pos: start,
            end,
            buf: vec![0; buf],
            at: 0,
            len: 0,
        }
    }

    /// Whether every byte was read.
    fn done(&self) -> bool {
        self.at == self.len && self.pos == self.end
    }

    /// Refills the empty buffer.
    fn fill(&mut self) -> io::Result<()> {
        let n = (self.end - self.pos).min(self.buf.len() as u64) as usize;
        if n == 0 {
            return Err(ended_early());
        }
        self.file.read_exact_at(&mut self.buf[..n], self.pos)?;
        self.pos += n as u64;
        self.at = 0;
        self.len = n;
        Ok(())
    }

    /// Appends the next `n` bytes to `out`.
    fn take(&mut self, mut n: usize, out: &mut Vec<u8>) -> io::Result<()> {
        while n > 0 {
            if self.at == self.len {
                self.fill()?;
            }
            let k = n.min(self.len - self.at);
            out.extend_from_slice(&self.buf[self.at..self.at + k]);
            self.at += k;
            n -= k;
        }
        Ok(())
    }

    fn byte(&mut self) -> io::Result<u8> {
        if self.at == self.len {
            self.fill()?;
        }
        self.at += 1;
        Ok(self.buf[self.at - 1])
    }

    fn u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        for x in &mut b {
            *x = self.byte()?;
        }
        Ok(u64::from_le_bytes(b))
    }

    fn uvarint(&mut self) -> io::Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a temporary sort file holds a bad length",
        ))
    }
}

/// A section's current record.
struct Cursor {
    sec: Section,
    key: UrlKey,
    bytes: Vec<u8>,
}

impl Cursor {
    /// Loads the next record; `false` at the end of the section.
    fn advance(&mut self) -> io::Result<bool> {
        if self.sec.done() {
            return Ok(false);
        }
        self.key = UrlKey {
            host: self.sec.u64()?,
            path: self.sec.u64()?,
        };
        let n = self.sec.uvarint()?;
        let n = usize::try_from(n).map_err(|_| ended_early())?;
        if n as u64 > self.sec.end - self.sec.pos + (self.sec.len - self.sec.at) as u64 {
            return Err(ended_early());
        }
        self.bytes.clear();
        self.sec.take(n, &mut self.bytes)?;
        Ok(true)
    }
}

/// Sections merged in key order, each key once: from the lowest-numbered section holding it.
pub struct Merge {
    cursors: Vec<Cursor>,
    heap: BinaryHeap<Reverse<(UrlKey, usize)>>,
    /// The cursor whose record was handed out last, to advance before the next look.
    taken: Option<usize>,
    last: Option<UrlKey>,
}

impl Merge {
    fn new(sections: Vec<Section>) -> io::Result<Merge> {
        let mut m = Merge {
            cursors: Vec::with_capacity(sections.len()),
            heap: BinaryHeap::with_capacity(sections.len()),
            taken: None,
            last: None,
        };
        for (i, sec) in sections.into_iter().enumerate() {
            let mut c = Cursor {
                sec,
                key: UrlKey::default(),
                bytes: Vec::new(),
            };
            if c.advance()? {
                m.heap.push(Reverse((c.key, i)));
            }
            m.cursors.push(c);
        }
        Ok(m)
    }

    /// Advances the cursor handed out last and drops later copies of the last key.
    fn settle(&mut self) -> io::Result<()> {
        loop {
            if let Some(i) = self.taken.take() {
                if self.cursors[i].advance()? {
                    self.heap.push(Reverse((self.cursors[i].key, i)));
                }
            }
            match self.heap.peek() {
                Some(&Reverse((k, i))) if Some(k) == self.last => {
                    self.heap.pop();
                    self.taken = Some(i);
                }
                _ => return Ok(()),
            }
        }
    }

    /// The next record's key, left to be taken.
    pub fn peek_key(&mut self) -> io::Result<Option<UrlKey>> {
        self.settle()?;
        Ok(self.heap.peek().map(|r| r.0 .0))
    }

    /// The next record.
    #[allow(clippy::should_implement_trait)] // it lends its bytes, which Iterator cannot
    pub fn next(&mut self) -> io::Result<Option<(UrlKey, &[u8])>> {
        self.settle()?;
        let Some(Reverse((key, i))) = self.heap.pop() else {
            return Ok(None);
        };
        self.taken = Some(i);
        self.last = Some(key);
        Ok(Some((key, &self.cursors[i].bytes)))
    }
}

/// The read buffer of each of the `sections` sections a merge reads at once, within `budget`.
fn buffer_size(budget: u64, sections: usize) -> usize {
    let share = budget / sections.max(1) as u64;
    (share.min(MAX_BUF as u64) as usize).max(MIN_BUF)
}

/// Merges runs until at most [`FAN_IN`] are left, each merge taking up to [`FAN_IN`]
/// consecutive runs (so run order stays input order). `merged` hears how many merges are done.
pub fn reduce(
    mut runs: Vec<Run>,
    dir: &Path,
    budget: u64,
    merged: &mut dyn FnMut(usize),
) -> io::Result<Vec<Run>> {
    let mut done = 0;
    while runs.len() > FAN_IN {
        let mut next = Vec::with_capacity(runs.len().div_ceil(FAN_IN));
        let mut rest = runs.into_iter().peekable();
        while rest.peek().is_some() {
            let group: Vec<Run> = rest.by_ref().take(FAN_IN).collect();
            let buf = buffer_size(budget, group.len());
            let mut w = RunWriter::new(dir)?;
            let mut urls = Merge::new(group.iter().map(|r| r.urls(buf)).collect())?;
            while let Some((k, b)) = urls.next()? {
                w.put(k, b)?;
            }
            drop(urls);
            w.hosts();
            let mut hosts = Merge::new(group.iter().map(|r| r.hosts(buf)).collect())?;
            while let Some((k, b)) = hosts.next()? {
                w.put(k, b)?;
            }
            next.push(w.finish()?);
            done += 1;
            merged(done);
        }
        runs = next;
    }
    Ok(runs)
}

/// The final merge of at most [`FAN_IN`] runs: their URL records and their host records, each
/// in key order and each key once.
pub fn open(runs: &[Run], budget: u64) -> io::Result<(Merge, Merge)> {
    let buf = buffer_size(budget, 2 * runs.len());
    let urls = Merge::new(runs.iter().map(|r| r.urls(buf)).collect())?;
    let hosts = Merge::new(runs.iter().map(|r| r.hosts(buf)).collect())?;
    Ok((urls, hosts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::Scratch;

    fn key(h: u64, p: u64) -> UrlKey {
        UrlKey { host: h, path: p }
    }

    fn run(dir: &Path, urls: &[(u64, u64, &str)], hosts: &[(u64, &str)]) -> Run {
        let mut w = RunWriter::new(dir).unwrap();
        for &(h, p, s) in urls {
            w.put(key(h, p), s.as_bytes()).unwrap();
        }
        w.hosts();
        for &(h, s) in hosts {
            w.put(key(h, 0), s.as_bytes()).unwrap();
        }
        w.finish().unwrap()
    }

    fn drain(m: &mut Merge) -> Vec<(UrlKey, String)> {
        let mut out = Vec::new();
        while let Some((k, b)) = m.next().unwrap() {
            out.push((k, String::from_utf8(b.to_vec()).unwrap()));
        }
        out
    }

    #[test]
    fn a_merge_keeps_each_key_once_from_the_earliest_run() {
        let d = Scratch::new("seed-runs");
        let runs = vec![
            run(
                &d.0,
                &[(1, 5, "a-first"), (2, 1, "b")],
                &[(1, "h1"), (2, "h2")],
            ),
            run(&d.0, &[(1, 5, "a-later"), (1, 7, "c")], &[(1, "h1-later")]),
            run(&d.0, &[], &[]),
            run(&d.0, &[(0, 9, "z"), (2, 1, "b-later")], &[(0, "h0")]),
        ];
        let (mut urls, mut hosts) = open(&runs, 1 << 20).unwrap();
        assert_eq!(urls.peek_key().unwrap(), Some(key(0, 9)));
        let got = drain(&mut urls);
        let want = [
            (key(0, 9), "z"),
            (key(1, 5), "a-first"),
            (key(1, 7), "c"),
            (key(2, 1), "b"),
        ];
        assert_eq!(got.len(), want.len());
        for ((k, s), (wk, ws)) in got.iter().zip(want) {
            assert_eq!((k, s.as_str()), (&wk, ws));
        }
        assert_eq!(urls.peek_key().unwrap(), None);
        let got = drain(&mut hosts);
        let names: Vec<&str> = got.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(names, ["h0", "h1", "h2"]);
    }

    #[test]
    fn reducing_many_runs_keeps_input_order_for_ties() {
        let d = Scratch::new("seed-reduce");
        // 150 runs each holding key (1, 1) with its own number, and one key of its own.
        let runs: Vec<Run> = (0..150u64)
            .map(|i| {
                let s = format!("run-{i}");
                run(&d.0, &[(1, 1, &s), (2, i, &s)], &[(1, &s)])
            })
            .collect();
        let mut merges = 0;
        let runs = reduce(runs, &d.0, 64 << 10, &mut |n| merges = n).unwrap();
        assert!(
            runs.len() <= FAN_IN && merges == 3,
            "{} runs, {merges}",
            runs.len()
        );
        let (mut urls, mut hosts) = open(&runs, 64 << 10).unwrap();
        let got = drain(&mut urls);
        assert_eq!(got.len(), 151);
        assert_eq!(got[0].1, "run-0");
        assert!(got[1..]
            .iter()
            .enumerate()
            .all(|(i, (k, _))| k.path == i as u64));
        assert_eq!(drain(&mut hosts)[0].1, "run-0");
    }

    #[test]
    fn a_damaged_run_is_an_error_not_a_panic() {
        let d = Scratch::new("seed-runs-bad");
        let r = run(&d.0, &[(1, 1, "abcdef")], &[]);
        // Cut the file inside the record.
        r.file.set_len(20).unwrap();
        let r = Run {
            end: 20,
            hosts_at: 20,
            ..r
        };
        let e = open(&[r], 1 << 20).err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }
}
