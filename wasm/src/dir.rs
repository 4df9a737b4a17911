//! A partition directory dropped on the page: the superblock's two slots, the snapshot, the
//! logs scanned frame by frame with what recovery would do with each tail, leftovers of
//! interrupted work, and the live state (snapshot plus replayed logs) with the rows the logs
//! changed marked.
//!
//! Every decision is the core's: the slots and which one is current
//! (`store::superblock`), where replay stops, what a writable open keeps or trims and which
//! later logs continue the chain (`store::recovery`, the code the native store runs), and the
//! live counters (`store::live`, the code of `meguri stats --data`). Nothing is written: the
//! page only says what the store would do.
//!
//! Memory: a log is read in pieces of at most 1 MiB (one frame more when a frame is longer),
//! in bounded steps with progress. What is kept grows with the logs' frames, not with the
//! snapshot: each frame's offset (8 bytes), and per key a log changed its latest record (as the
//! native store's index keeps it). The snapshot's rows are read page by page when shown or
//! counted.

use crate::arena::{ArenaStream, Resolved};
use crate::source::{JsRead, Shared};
use crate::views::to_json;
use crate::{host_row, js_err, url_row, views};
use meguri_core::error::{Error, Table};
use meguri_core::format::REGION_STRING_BLOB;
use meguri_core::keys::UrlKey;
use meguri_core::manifest::Entry;
use meguri_core::reader::{ReadOptions, Reader};
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::report::Hex;
use meguri_core::source::{read_range, Source};
use meguri_core::store::frame::{self, Frame, Parsed, Update};
use meguri_core::store::live::{live, LiveStats};
use meguri_core::store::recovery::{self, Chain, Fate, Role, Rule, Scan, ScanEnd, Tail};
use meguri_core::store::superblock::{self, Checkpoint, Owner, Slot, Superblock};
use serde::Serialize;
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;

/// How many log bytes one [`PartitionDir::step`] reads at most (then it returns progress).
pub const STEP_BYTES: u64 = 8 << 20;
/// The most frames one [`PartitionDir::frames`] call lists.
pub const MAX_FRAMES: u32 = 2000;
/// The most log bytes one [`PartitionDir::frames`] call reads (more only for one long frame).
const FRAMES_BYTES: u64 = 4 << 20;
/// Rows of the snapshot read at a time while the live state is merged or counted.
const BLOCK: u64 = 16_384;

struct DirFile {
    name: String,
    src: Shared,
}

/// Where a key's latest change in the logs is.
#[derive(Clone, Copy)]
struct Change<R> {
    /// Index into `logs`.
    log: usize,
    offset: u64,
    lsn: u64,
    /// The record put, or `None` for a tombstone.
    rec: Option<R>,
}

/// One log in the order recovery takes them.
struct Log {
    file: usize,
    number: u64,
    named: bool,
    /// `None`: set aside whole (the chain broke before it).
    rule: Option<Rule>,
    scan: Option<Scan>,
    end: Option<ScanEnd>,
    /// Offsets of every whole frame read (applied or skipped), in order.
    offsets: Vec<u64>,
    skipped: u64,
    by_kind: [u64; 8],
    first_lsn: Option<u64>,
}

/// Kinds of frames, as counted and named.
const KINDS: [&str; 8] = [
    "URL put",
    "URL tombstone",
    "host put",
    "host tombstone",
    "intern",
    "URL extension",
    "host extension",
    "unknown kind",
];

fn kind_index(kind: u8) -> usize {
    match (kind & !frame::TOMBSTONE, kind & frame::TOMBSTONE != 0) {
        (frame::KIND_URL, false) => 0,
        (frame::KIND_URL, true) => 1,
        (frame::KIND_HOST, false) => 2,
        (frame::KIND_HOST, true) => 3,
        (frame::KIND_INTERN, false) => 4,
        (frame::KIND_URL_EXT, false) => 5,
        (frame::KIND_HOST_EXT, false) => 6,
        _ => 7,
    }
}

/// A run of live rows: snapshot rows `snap .. snap + count` or one row from a log.
#[derive(Clone, Copy)]
enum Piece<K> {
    Snap {
        live: u64,
        snap: u64,
        count: u64,
    },
    Log {
        live: u64,
        key: K,
        replaces: Option<u64>,
    },
}

impl<K> Piece<K> {
    fn live(&self) -> u64 {
        match self {
            Piece::Snap { live, .. } | Piece::Log { live, .. } => *live,
        }
    }
}

/// The live rows of one table: pieces in key order and the total.
struct Merged<K> {
    pieces: Vec<Piece<K>>,
    total: u64,
    /// Snapshot rows a tombstone removed.
    deleted: u64,
    /// Snapshot rows a put replaced.
    replaced: u64,
    /// Rows a put added.
    added: u64,
}

/// A partition directory opened from the files of a dropped folder.
#[wasm_bindgen]
pub struct PartitionDir {
    name: String,
    files: Vec<DirFile>,
    sb: Option<Superblock>,
    sb_error: Option<Error>,
    current: Option<Checkpoint>,
    /// The snapshot's file index and its reader (or why it does not open).
    snap: Option<(usize, Result<Reader<Shared>, Error>)>,
    snap_arena_len: u64,
    logs: Vec<Log>,
    /// The log the slot names, when it is missing.
    missing_log: Option<String>,
    chain: Chain,
    cursor: usize,
    urls: BTreeMap<UrlKey, Change<UrlRecord>>,
    hosts: BTreeMap<u64, Change<HostRecord>>,
    /// Strings interned by the logs: (arena offset, log, frame offset), in arena order.
    interns: Vec<(u64, usize, u64)>,
    arena_end: u64,
    live_urls: Option<Merged<UrlKey>>,
    live_hosts: Option<Merged<u64>>,
    arena: Option<ArenaStream>,
    /// Why the live state cannot be built, if it cannot.
    live_error: Option<String>,
}

#[wasm_bindgen]
impl PartitionDir {
    /// An empty directory named `name` (its path in the dropped folder); add its files with
    /// [`Self::add_file`], then call [`Self::open`].
    #[wasm_bindgen(constructor)]
    pub fn new(name: &str) -> PartitionDir {
        PartitionDir {
            name: name.into(),
            files: Vec::new(),
            sb: None,
            sb_error: None,
            current: None,
            snap: None,
            snap_arena_len: 1,
            logs: Vec::new(),
            missing_log: None,
            chain: Chain::new(1),
            cursor: 0,
            urls: BTreeMap::new(),
            hosts: BTreeMap::new(),
            interns: Vec::new(),
            arena_end: 1,
            live_urls: None,
            live_hosts: None,
            arena: None,
            live_error: None,
        }
    }

    /// Adds a file of `len` bytes whose ranges `read(offset, len)` returns.
    pub fn add_file(&mut self, name: &str, len: f64, read: js_sys::Function) {
        self.push(name, Shared::js(JsRead::new(len as u64, read)));
    }

    /// Whether a folder with these file names (one per line) is a partition directory: it has
    /// `super` or a log.
    pub fn is_partition(names: &str) -> bool {
        names
            .lines()
            .any(|n| matches!(recovery::role(n), Role::Superblock | Role::Log(_)))
    }

    /// Reads the superblock, decides which slot is current, opens the snapshot it names and
    /// lines up the logs to scan. Errors in the directory are part of the report, not a
    /// failure of this call.
    pub fn open(&mut self) {
        let sb_bytes = self
            .find("super")
            .map(|i| {
                let src = &self.files[i].src;
                let n = src.len().min(superblock::LEN as u64);
                src.read_at(0, n as usize).map(|b| b.into_owned())
            })
            .transpose();
        let sb = match sb_bytes {
            Ok(b) => Superblock::read(&b.unwrap_or_default()),
            Err(e) => {
                self.sb_error = Some(e);
                Superblock::read(&[])
            }
        };
        match sb.current() {
            Ok(c) => self.current = c.map(|(_, c)| c.clone()),
            Err(e) => self.sb_error = Some(e),
        }
        self.sb = Some(sb);
        if self.sb_error.is_some() {
            // The store refuses to open: nothing is replayed.
            return;
        }
        let (frontier, log_name) = match &self.current {
            Some(c) => (c.frontier, c.log.clone()),
            None => (1, String::from("log-1")),
        };
        self.chain = Chain::new(frontier);
        if let Some(c) = self.current.clone() {
            let snap = self.find(&c.snapshot).map(|i| (i, self.open_snapshot(i)));
            if snap.is_none() {
                self.live_error = Some(format!(
                    "the superblock names {} as generation {}'s snapshot, but it is not in the folder",
                    c.snapshot, c.gen
                ));
            }
            self.snap = snap;
        }
        match self.find(&log_name) {
            Some(i) => self.logs.push(Log::new(
                i,
                recovery::log_number(&log_name).unwrap_or(0),
                true,
            )),
            None if self.current.is_some() => {
                self.live_error = Some(format!(
                    "the superblock names {log_name} as the log, but it is missing: the updates since that checkpoint are lost"
                ));
                self.missing_log = Some(log_name.clone());
            }
            None => {}
        }
        let names: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
        let later = recovery::later_logs(&log_name, names);
        for (n, name) in later {
            if let Some(i) = self.find(&name) {
                self.logs.push(Log::new(i, n, false));
            }
        }
    }

    /// Scans the logs on, reading at most about `budget` bytes; returns the progress:
    /// `{log, position, size, done}`.
    pub fn step(&mut self, budget: f64) -> Result<String, JsError> {
        self.step_on(budget).map_err(js_err)
    }

    /// Everything the directory view shows (see the module docs), as JSON.
    pub fn report(&self) -> String {
        to_json(&self.report_out())
    }
}

impl PartitionDir {
    fn step_on(&mut self, budget: f64) -> Result<String, Error> {
        let budget = budget.max(1.0) as u64;
        let mut spent = 0u64;
        while self.cursor < self.logs.len() && spent < budget {
            let i = self.cursor;
            if self.logs[i].scan.is_none() && self.logs[i].end.is_none() {
                let len = self.files[self.logs[i].file].src.len();
                let rule = if self.logs[i].named {
                    Some(self.chain.named_rule())
                } else {
                    self.chain.later_rule()
                };
                self.logs[i].rule = rule;
                match rule {
                    Some(r) => self.logs[i].scan = Some(Scan::new(len, 0, r)),
                    None => {
                        self.logs[i].end = Some(ScanEnd::set_aside(len, self.chain.next_lsn()));
                        self.cursor += 1;
                        continue;
                    }
                }
            }
            let before = self.logs[i].scan.as_ref().map_or(0, Scan::position);
            let done = self.scan_log(i, budget - spent)?;
            let after = self.logs[i].scan.as_ref().map_or(0, Scan::position);
            spent += after.saturating_sub(before).max(1);
            if done {
                let end = self.logs[i]
                    .scan
                    .take()
                    .map(Scan::into_end)
                    .unwrap_or_default();
                if self.logs[i].named {
                    self.chain.applied(end.last_lsn);
                } else {
                    self.chain.after_later(&end);
                }
                self.logs[i].end = Some(end);
                self.cursor += 1;
            }
        }
        let done = self.cursor >= self.logs.len();
        if done && self.live_urls.is_none() && self.live_error.is_none() {
            if let Err(e) = self.merge() {
                self.live_error = Some(e.to_string());
            }
        }
        let (log, position, size) = match self.logs.get(self.cursor) {
            Some(l) => (
                self.files[l.file].name.as_str(),
                l.scan.as_ref().map_or(0, Scan::position),
                self.files[l.file].src.len(),
            ),
            None => ("", 0, 0),
        };
        Ok(to_json(&StepOut {
            log,
            position,
            size,
            done,
        }))
    }
}

#[wasm_bindgen]
impl PartitionDir {
    /// Frames `first .. first + count` (at most [`MAX_FRAMES`]) of log `log` (its index in
    /// the report's `logs`): offset, length, LSN, kind, key, fate and, for an intern, its
    /// string (cut to 200 bytes).
    pub fn frames(&self, log: u32, first: f64, count: u32) -> Result<String, JsError> {
        let l = self
            .logs
            .get(log as usize)
            .ok_or_else(|| JsError::new(&format!("no log {log}")))?;
        let first = (first.max(0.0) as usize).min(l.offsets.len());
        let mut last = (first + count.min(MAX_FRAMES) as usize).min(l.offsets.len());
        // A page of long intern frames could be large: one read of at most FRAMES_BYTES (or
        // one frame, whatever its length).
        if first < last {
            let start = l.offsets[first];
            last = first
                + 1
                + l.offsets[first + 1..last].partition_point(|&o| o - start <= FRAMES_BYTES);
        }
        let mut out = Vec::new();
        if first < last {
            let src = &self.files[l.file].src;
            let start = l.offsets[first];
            let end = l.end.as_ref().map_or(src.len(), |e| e.good_end.max(start));
            let stop = if last < l.offsets.len() {
                l.offsets[last]
            } else {
                end
            };
            let bytes = read_range(
                src,
                start,
                stop - start,
                "log frames",
                meguri_core::Place::LogFrame,
            )
            .map_err(js_err)?;
            let applied_from = l.end.as_ref().and_then(|e| e.first_applied);
            for (k, &off) in l.offsets[first..last].iter().enumerate() {
                let at = (off - start) as usize;
                if let Parsed::Frame(f) = frame::parse(&bytes[at..], off) {
                    out.push(FrameOut::of(
                        first + k,
                        off,
                        &f,
                        applied_from.is_some_and(|a| off >= a),
                    ));
                }
            }
        }
        Ok(to_json(&FramesOut {
            log,
            total: l.offsets.len(),
            first,
            frames: out,
        }))
    }

    /// Live URL rows `from .. to` (at most [`crate::MAX_ROWS`]) in key order, each with where
    /// it comes from (`snapshot row N`, or the log frame that put it); with `with_urls`, the
    /// URL strings too (the snapshot's arena streamed in this call as far as they need).
    pub fn live_url_rows(
        &mut self,
        from: f64,
        to: f64,
        with_urls: bool,
    ) -> Result<String, JsError> {
        let total = self
            .live_urls
            .as_ref()
            .ok_or_else(|| JsError::new(&self.no_live()))?
            .total;
        let (from, to) = crate::row_range(total, from, to);
        let rows = self.live_rows(from, to, |d, p| d.url_piece_rows(p))?;
        let strings = if with_urls {
            Some(self.strings(rows.iter().map(|(u, _)| u.url_ref))?)
        } else {
            None
        };
        let out: Vec<LiveRow<views::UrlRowOut>> = rows
            .iter()
            .enumerate()
            .map(|(i, (u, origin))| LiveRow {
                row: url_row(
                    from + i as u64,
                    u,
                    strings.as_ref().and_then(|s| s[i].clone()),
                ),
                origin: origin.clone(),
            })
            .collect();
        Ok(to_json(&LiveRowsOut {
            table: "url",
            total,
            from,
            rows: out,
        }))
    }

    /// Live host rows `from .. to`, like [`Self::live_url_rows`]; `with_hosts` adds names.
    pub fn live_host_rows(
        &mut self,
        from: f64,
        to: f64,
        with_hosts: bool,
    ) -> Result<String, JsError> {
        let total = self
            .live_hosts
            .as_ref()
            .ok_or_else(|| JsError::new(&self.no_live()))?
            .total;
        let (from, to) = crate::row_range(total, from, to);
        let rows = self.live_rows(from, to, |d, p| d.host_piece_rows(p))?;
        let strings = if with_hosts {
            Some(self.strings(rows.iter().map(|(h, _)| h.host_ref))?)
        } else {
            None
        };
        let out: Vec<LiveRow<views::HostRowOut>> = rows
            .iter()
            .enumerate()
            .map(|(i, (h, origin))| LiveRow {
                row: host_row(
                    from + i as u64,
                    h,
                    strings.as_ref().and_then(|s| s[i].clone()),
                ),
                origin: origin.clone(),
            })
            .collect();
        Ok(to_json(&LiveRowsOut {
            table: "host",
            total,
            from,
            rows: out,
        }))
    }

    /// The live counters at hour `now`, as `meguri stats --data` counts them:
    /// `{urls, hosts, pending, due_now, next_due, seen_keys, by_status, text}`.
    pub fn live_stats(&self, now: u32) -> Result<String, JsError> {
        let s = self.stats(now).map_err(|e| JsError::new(&e))?;
        Ok(to_json(&StatsOut::of(&s, &self.name)))
    }

    /// The live row of the next row at or after live row `from` that a log frame put (`-1`
    /// when there is none): the page's "next changed row".
    pub fn next_change(&self, table: &str, from: f64) -> f64 {
        let from = from.max(0.0) as u64;
        let r = match table {
            "host" => self
                .live_hosts
                .as_ref()
                .and_then(|m| find_in(&m.pieces, from)),
            _ => self
                .live_urls
                .as_ref()
                .and_then(|m| find_in(&m.pieces, from)),
        };
        r.map_or(-1.0, |x| x as f64)
    }

    /// The tiling entry of this directory for a data root's catalog: the snapshot's partition
    /// id, the owned range and epoch from the current slot, the live counts.
    pub(crate) fn entry(&self) -> Option<Entry> {
        let c = self.current.as_ref()?;
        let (id, created) = match &self.snap {
            Some((_, Ok(r))) => (r.header().partition_id, r.header().created_hours),
            _ => (0, 0),
        };
        Some(Entry {
            partition_id: id,
            file_ref: self.name.as_bytes().to_vec(),
            hostkey_lo: c.owner.lo,
            hostkey_hi: c.owner.hi,
            url_count: self.live_urls.as_ref().map_or(0, |m| m.total),
            host_count: self.live_hosts.as_ref().map_or(0, |m| m.total),
            due_min: 0,
            bytes_per_url: 0.0,
            file_crc32c: 0,
            created_hours: created,
            epoch: u32::try_from(c.owner.epoch).unwrap_or(u32::MAX),
        })
    }
}

impl PartitionDir {
    fn push(&mut self, name: &str, src: Shared) {
        self.files.push(DirFile {
            name: name.into(),
            src,
        });
    }

    /// A directory over files in memory (tests and the parity digests).
    pub fn from_files(name: &str, files: Vec<(String, Vec<u8>)>) -> PartitionDir {
        let mut d = PartitionDir::new(name);
        for (n, b) in files {
            d.push(&n, Shared::bytes(b));
        }
        d
    }

    /// Opens and scans everything, then merges the live state.
    pub fn run(&mut self) -> Result<(), Error> {
        self.open();
        loop {
            let p = self.step_on(f64::MAX)?;
            if p.contains("\"done\":true") {
                return Ok(());
            }
        }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.files.iter().position(|f| f.name == name)
    }

    fn no_live(&self) -> String {
        self.live_error
            .clone()
            .unwrap_or_else(|| "the logs are not scanned yet".into())
    }

    fn open_snapshot(&mut self, i: usize) -> Result<Reader<Shared>, Error> {
        let src = self.files[i].src.clone();
        let r = Reader::open_with(src.clone(), ReadOptions::default())?;
        let mut a = ArenaStream::new(src, r.footer().region(REGION_STRING_BLOB).copied());
        // Strings the logs intern continue the snapshot's arena (a directory without one
        // starts at 1: offset 0 means "no string").
        self.snap_arena_len = a.declared_len()?.max(1);
        self.arena_end = self.snap_arena_len;
        self.arena = Some(a);
        Ok(r)
    }

    /// Scans log `i` on for about `budget` bytes; replays each applied frame into the
    /// overlay. Returns whether the log is done.
    fn scan_log(&mut self, i: usize, budget: u64) -> Result<bool, Error> {
        let file = self.logs[i].file;
        let src = self.files[file].src.clone();
        let mut scan = self.logs[i].scan.take().expect("a scan in progress");
        let Self {
            logs,
            urls,
            hosts,
            interns,
            arena_end,
            ..
        } = self;
        let log = &mut logs[i];
        let r = scan.step(
            budget,
            |off, buf| {
                let b = src.read_at(off, buf.len())?;
                buf.copy_from_slice(&b);
                Ok::<(), Error>(())
            },
            |off, f: &Frame<'_>, fate| {
                log.offsets.push(off);
                log.first_lsn.get_or_insert(f.lsn);
                if fate == Fate::Skipped {
                    log.skipped += 1;
                    return;
                }
                log.by_kind[kind_index(f.kind)] += 1;
                let change = |rec| Change {
                    log: i,
                    offset: off,
                    lsn: f.lsn,
                    rec,
                };
                match &f.update {
                    Some(Update::PutUrl(r)) => {
                        urls.insert(r.key, change(Some(*r)));
                    }
                    Some(Update::DeleteUrl(k)) => {
                        urls.insert(*k, change(None));
                    }
                    Some(Update::PutHost(h)) => {
                        hosts.insert(
                            h.host_key,
                            Change {
                                log: i,
                                offset: off,
                                lsn: f.lsn,
                                rec: Some(*h),
                            },
                        );
                    }
                    Some(Update::DeleteHost(k)) => {
                        hosts.insert(
                            *k,
                            Change {
                                log: i,
                                offset: off,
                                lsn: f.lsn,
                                rec: None,
                            },
                        );
                    }
                    Some(Update::Intern(s)) => {
                        interns.push((*arena_end, i, off));
                        *arena_end += (meguri_core::bytes::uvarint_len(<[u8]>::len(s) as u64)
                            + <[u8]>::len(s)) as u64;
                    }
                    // An extension frame completes the put frame right before it, as the
                    // native store replays it, and is ignored anywhere else.
                    Some(x @ Update::UrlExt(e)) => {
                        let prev = log.offsets.len().checked_sub(2).map(|p| log.offsets[p]);
                        if let Some(c) = urls.get_mut(&e.key) {
                            if let (Some(r), true) = (c.rec, c.log == i && Some(c.offset) == prev)
                            {
                                let mut put = Update::PutUrl(r);
                                if frame::apply_ext(&mut put, x) {
                                    if let Update::PutUrl(r) = put {
                                        c.rec = Some(r);
                                    }
                                }
                            }
                        }
                    }
                    Some(x @ Update::HostExt(e)) => {
                        let prev = log.offsets.len().checked_sub(2).map(|p| log.offsets[p]);
                        if let Some(c) = hosts.get_mut(&e.host_key) {
                            if let (Some(h), true) = (c.rec, c.log == i && Some(c.offset) == prev)
                            {
                                let mut put = Update::PutHost(h);
                                if frame::apply_ext(&mut put, x) {
                                    if let Update::PutHost(h) = put {
                                        c.rec = Some(h);
                                    }
                                }
                            }
                        }
                    }
                    None => {}
                }
            },
        );
        self.logs[i].scan = Some(scan);
        let done = r?;
        Ok(done)
    }

    /// Merges the snapshot's keys with the keys the logs changed, for both tables.
    fn merge(&mut self) -> Result<(), Error> {
        let reader = match &self.snap {
            Some((_, Ok(r))) => Some(r),
            Some((_, Err(e))) => return Err(e.clone()),
            None => None,
        };
        let urls = merge_table(
            reader.map_or(0, |r| r.rows(Table::Url)),
            |range| {
                let r = reader.expect("rows only when there is a snapshot");
                let h = r.read_column_rows(Table::Url, 0, range.clone())?;
                let p = r.read_column_rows(Table::Url, 1, range)?;
                Ok(h.as_ints()
                    .iter()
                    .zip(p.as_ints())
                    .map(|(&host, &path)| UrlKey { host, path })
                    .collect())
            },
            &self.urls,
        )?;
        let hosts = merge_table(
            reader.map_or(0, |r| r.rows(Table::Host)),
            |range| {
                let r = reader.expect("rows only when there is a snapshot");
                Ok(r.read_column_rows(Table::Host, 0, range)?
                    .as_ints()
                    .to_vec())
            },
            &self.hosts,
        )?;
        self.live_urls = Some(urls);
        self.live_hosts = Some(hosts);
        Ok(())
    }

    fn reader(&self) -> Option<&Reader<Shared>> {
        match &self.snap {
            Some((_, Ok(r))) => Some(r),
            _ => None,
        }
    }

    /// Rows `from .. to` of the live table whose pieces `rows_of` reads.
    fn live_rows<R>(
        &self,
        from: u64,
        to: u64,
        rows_of: impl Fn(&Self, PieceRange) -> Result<Vec<(R, Origin)>, Error>,
    ) -> Result<Vec<(R, Origin)>, JsError> {
        let mut out = Vec::new();
        let mut at = from;
        while at < to {
            let p = rows_of(self, PieceRange { at, to }).map_err(js_err)?;
            if p.is_empty() {
                break;
            }
            at += p.len() as u64;
            out.extend(p);
        }
        Ok(out)
    }

    /// The URL rows of the piece holding live row `p.at`, from there up to `p.to`.
    fn url_piece_rows(&self, p: PieceRange) -> Result<Vec<(UrlRecord, Origin)>, Error> {
        let m = self.live_urls.as_ref().expect("merged");
        piece_rows(
            m,
            &p,
            |range| self.reader().map_or(Ok(Vec::new()), |r| r.url_rows(range)),
            |k| self.urls.get(k).map(|c| (c.rec, self.origin(c))),
        )
    }

    fn host_piece_rows(&self, p: PieceRange) -> Result<Vec<(HostRecord, Origin)>, Error> {
        let m = self.live_hosts.as_ref().expect("merged");
        piece_rows(
            m,
            &p,
            |range| self.reader().map_or(Ok(Vec::new()), |r| r.host_rows(range)),
            |k| self.hosts.get(k).map(|c| (c.rec, self.origin(c))),
        )
    }

    fn origin<R>(&self, c: &Change<R>) -> Origin {
        Origin {
            log: Some(self.files[self.logs[c.log].file].name.clone()),
            offset: Some(c.offset),
            lsn: Some(c.lsn),
            snapshot_row: None,
            replaces: None,
        }
    }

    /// Strings for `refs`: from the logs' interns past the snapshot's arena, else from the
    /// snapshot's arena, streamed in this call as far as needed.
    fn strings(
        &mut self,
        refs: impl Iterator<Item = u64> + Clone,
    ) -> Result<Vec<Option<String>>, JsError> {
        let snap_len = self.snap_arena_len;
        let mut out: Vec<Option<String>> = Vec::new();
        let from_snap: Vec<u64> = refs.clone().filter(|&r| r != 0 && r < snap_len).collect();
        if let Some(a) = self.arena.as_mut() {
            if !from_snap.is_empty() {
                a.want(from_snap.iter().copied()).map_err(js_err)?;
                while a.waiting() {
                    let before = a.state();
                    a.step(4 << 20).map_err(js_err)?;
                    if a.state().finished && before.finished {
                        break;
                    }
                }
            }
        }
        for r in refs {
            if r == 0 {
                out.push(None);
            } else if r < snap_len {
                out.push(
                    self.arena
                        .as_ref()
                        .and_then(|a| a.get(r))
                        .and_then(Resolved::shown),
                );
            } else {
                out.push(Some(self.intern(r).unwrap_or_else(|e| format!("⚠ {e}"))));
            }
        }
        Ok(out)
    }

    /// The string a log interned at arena offset `r`, read back from its frame.
    fn intern(&self, r: u64) -> Result<String, String> {
        let i = self
            .interns
            .binary_search_by_key(&r, |x| x.0)
            .map_err(|_| format!("reference {r} is not the start of a string the logs interned"))?;
        let (_, log, off) = self.interns[i];
        let src = &self.files[self.logs[log].file].src;
        let head = read_range(
            src,
            off,
            frame::HEADER_LEN as u64,
            "frame",
            meguri_core::Place::LogFrame,
        )
        .map_err(|e| e.to_string())?;
        let value = u32::from_le_bytes([head[10], head[11], head[12], head[13]]) as u64;
        let len = frame::HEADER_LEN as u64 + u64::from(head[9]) + value + frame::CRC_LEN as u64;
        let b = read_range(src, off, len, "frame", meguri_core::Place::LogFrame)
            .map_err(|e| e.to_string())?;
        match frame::parse(&b, off) {
            Parsed::Frame(Frame {
                update: Some(Update::Intern(s)),
                ..
            }) => Ok(String::from_utf8_lossy(s).into_owned()),
            _ => Err(format!("the frame at {off} no longer reads as an intern")),
        }
    }

    /// Counts the live URL rows at hour `now`.
    pub fn stats(&self, now: u32) -> Result<LiveStats, String> {
        let m = self.live_urls.as_ref().ok_or_else(|| self.no_live())?;
        let hosts = self.live_hosts.as_ref().map_or(0, |h| h.total);
        let mut s = LiveStats::new(hosts as usize);
        let _ = m;
        self.each_live_url(|u| s.add(&live(u), now))?;
        Ok(s)
    }

    /// Calls `f` on every live URL row in key order, reading the snapshot a block at a time.
    pub fn each_live_url(&self, mut f: impl FnMut(&UrlRecord)) -> Result<(), String> {
        let m = self.live_urls.as_ref().ok_or_else(|| self.no_live())?;
        let mut at = 0;
        while at < m.total {
            let rows = self
                .url_piece_rows(PieceRange {
                    at,
                    to: (at + BLOCK).min(m.total),
                })
                .map_err(|e| e.to_string())?;
            if rows.is_empty() {
                break;
            }
            at += rows.len() as u64;
            rows.iter().for_each(|(u, _)| f(u));
        }
        Ok(())
    }

    /// Calls `f` on every live host row in key order.
    pub fn each_live_host(&self, mut f: impl FnMut(&HostRecord)) -> Result<(), String> {
        let m = self.live_hosts.as_ref().ok_or_else(|| self.no_live())?;
        let mut at = 0;
        while at < m.total {
            let rows = self
                .host_piece_rows(PieceRange {
                    at,
                    to: (at + BLOCK).min(m.total),
                })
                .map_err(|e| e.to_string())?;
            if rows.is_empty() {
                break;
            }
            at += rows.len() as u64;
            rows.iter().for_each(|(h, _)| f(h));
        }
        Ok(())
    }

    /// The facts the parity table holds the native store to (see [`crate::parity::DirFacts`]).
    pub fn facts(&self) -> crate::parity::DirFacts {
        use crate::parity::{DirFacts, RowHash, DIR_STATS_HOUR};
        if let Some(e) = &self.sb_error {
            return DirFacts {
                error: Some(e.to_string()),
                ..DirFacts::default()
            };
        }
        if let Some(e) = &self.live_error {
            return DirFacts {
                error: Some(e.clone()),
                ..DirFacts::default()
            };
        }
        let damaged = self.sb.as_ref().map_or_else(Vec::new, |sb| {
            sb.slots
                .iter()
                .enumerate()
                .filter(|(_, s)| matches!(s, Slot::Bad(_)))
                .map(|(i, _)| superblock::slot_name(i).to_string())
                .collect()
        });
        let mut tails = Vec::new();
        for l in self.logs.iter().filter(|l| l.rule.is_some()) {
            let name = &self.files[l.file].name;
            match l.end.as_ref().map(ScanEnd::tail) {
                Some(Tail::Discard { at, bytes, .. }) => {
                    tails.push(format!("{name} truncate at {at} keep {bytes}"))
                }
                Some(Tail::Zeros { at, bytes }) => {
                    tails.push(format!("{name} zeros at {at} bytes {bytes}"))
                }
                _ => {}
            }
        }
        let (mut u, mut h) = (RowHash::default(), RowHash::default());
        let rows = self
            .each_live_url(|r| u.url(r))
            .and_then(|()| self.each_live_host(|r| h.host(r)));
        let stats = self.stats(DIR_STATS_HOUR);
        match (rows, stats) {
            (Ok(()), Ok(s)) => DirFacts {
                error: None,
                generation: self.current.as_ref().map_or(0, |c| c.gen),
                damaged,
                frames: self.report_out().frames_replayed,
                tails,
                urls: u.finish(),
                hosts: h.finish(),
                stats: s.render("dir"),
            },
            (Err(e), _) | (_, Err(e)) => DirFacts {
                error: Some(e),
                ..DirFacts::default()
            },
        }
    }

    /// The report as data.
    pub fn report_out(&self) -> ReportOut<'_> {
        let sb = self.sb.as_ref();
        let current_slot = sb
            .and_then(|s| s.current().ok().flatten())
            .map(|(i, _)| superblock::slot_name(i));
        let slots = sb.map_or_else(Vec::new, |s| {
            s.slots
                .iter()
                .enumerate()
                .map(|(i, slot)| {
                    SlotOut::of(i, slot, current_slot == Some(superblock::slot_name(i)))
                })
                .collect()
        });
        let names: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
        let later: Vec<String> = self
            .logs
            .iter()
            .filter(|l| !l.named)
            .map(|l| self.files[l.file].name.clone())
            .collect();
        let leftovers = match &self.current {
            _ if self.sb_error.is_some() => Vec::new(),
            Some(c) => {
                recovery::leftovers(Some(&c.snapshot), &c.log, &later, names.iter().copied())
            }
            None => recovery::leftovers(None, "log-1", &later, names.iter().copied()),
        };
        let files = self
            .files
            .iter()
            .map(|f| FileOut {
                name: &f.name,
                size: f.src.len(),
                role: role_name(&recovery::role(&f.name)),
                leftover: leftovers.contains(&f.name),
            })
            .collect();
        let logs = self
            .logs
            .iter()
            .enumerate()
            .map(|(i, l)| self.log_out(i, l))
            .collect();
        let snapshot = self.current.as_ref().map(|c| SnapOut {
            name: c.snapshot.clone(),
            present: self.snap.is_some(),
            urls: self.reader().map(|r| r.rows(Table::Url)),
            hosts: self.reader().map(|r| r.rows(Table::Host)),
            partition_id: self.reader().map(|r| r.header().partition_id),
            arena_len: self.snap_arena_len,
            error: match &self.snap {
                Some((_, Err(e))) => Some(e.to_string()),
                _ => None,
            },
        });
        let live = self.live_urls.as_ref().map(|u| LiveOut {
            urls: u.total,
            hosts: self.live_hosts.as_ref().map_or(0, |h| h.total),
            urls_added: u.added,
            urls_replaced: u.replaced,
            urls_deleted: u.deleted,
            hosts_added: self.live_hosts.as_ref().map_or(0, |h| h.added),
            hosts_replaced: self.live_hosts.as_ref().map_or(0, |h| h.replaced),
            hosts_deleted: self.live_hosts.as_ref().map_or(0, |h| h.deleted),
            interned: self.interns.len(),
            arena_len: self.arena_end,
        });
        ReportOut {
            name: &self.name,
            files,
            superblock: SuperOut {
                present: self.find("super").is_some(),
                slots,
                current: current_slot,
                why: sb.and_then(Superblock::why),
                error: self.sb_error.as_ref().map(ToString::to_string),
                generation: self.current.as_ref().map_or(0, |c| c.gen),
                owner: self.current.as_ref().map(|c| OwnerOut::of(&c.owner)),
            },
            snapshot,
            logs,
            missing_log: self.missing_log.clone(),
            scanned: self.cursor >= self.logs.len() && self.sb_error.is_none(),
            next_lsn: self.chain.next_lsn(),
            frames_replayed: self
                .logs
                .iter()
                .filter_map(|l| l.end.as_ref())
                .map(|e| e.frames)
                .sum(),
            leftovers,
            live,
            live_error: self.live_error.clone(),
        }
    }

    fn log_out(&self, index: usize, l: &Log) -> LogOut {
        let name = self.files[l.file].name.clone();
        let size = self.files[l.file].src.len();
        let end = l.end.as_ref();
        let set_aside = l.end.is_some() && l.rule.is_none();
        let tail = end.map(|e| TailOut::of(&name, &e.tail(), set_aside));
        // A writable open folds every later log into the named one (13.3 rule 6).
        let fold = (!l.named).then(|| {
            let into = self
                .logs
                .iter()
                .find(|x| x.named)
                .map_or("the named log", |x| self.files[x.file].name.as_str());
            format!(
                "a writable open appends the {} frame(s) it applies to {into} and removes {name}",
                end.map_or(0, |e| e.frames)
            )
        });
        LogOut {
            index,
            name,
            number: l.number,
            size,
            named: l.named,
            rule: l.rule.map(|r| match r {
                Rule::First(n) => RuleOut {
                    kind: "first",
                    lsn: n,
                },
                Rule::Continue(n) => RuleOut {
                    kind: "continue",
                    lsn: n,
                },
            }),
            set_aside,
            scanned: end.is_some(),
            frames: end.map_or(0, |e| e.frames),
            skipped: l.skipped,
            listed: l.offsets.len(),
            by_kind: KINDS
                .iter()
                .zip(l.by_kind)
                .map(|(k, n)| KindCount { kind: k, count: n })
                .collect(),
            first_lsn: l.first_lsn,
            last_lsn: end.and_then(|e| e.last_lsn),
            good_end: end.map(|e| e.good_end),
            stop: end.and_then(|e| e.stop.as_ref()).map(|s| StopOut {
                kind: s.kind(),
                text: s.to_string(),
                at: match s {
                    recovery::Stop::Frame(e) => e.offset,
                    recovery::Stop::Incomplete { at, .. } | recovery::Stop::Lsn { at, .. } => {
                        Some(*at)
                    }
                    recovery::Stop::Gap { .. } => None,
                },
            }),
            tail,
            fold,
        }
    }
}

/// The live row of the first piece at or after `from` that a log frame put.
fn find_in<K>(pieces: &[Piece<K>], from: u64) -> Option<u64> {
    let i = pieces.partition_point(|p| p.live() < from);
    pieces[i..].iter().find_map(|p| match p {
        Piece::Log { live, .. } => Some(*live),
        Piece::Snap { .. } => None,
    })
}

/// A request for the rows of one piece.
#[derive(Clone, Copy)]
struct PieceRange {
    at: u64,
    to: u64,
}

/// Merges `n` snapshot keys (read a block at a time by `keys`) with the logs' latest change
/// per key.
fn merge_table<K: Ord + Copy, R>(
    n: u64,
    keys: impl Fn(core::ops::Range<u64>) -> Result<Vec<K>, Error>,
    changes: &BTreeMap<K, Change<R>>,
) -> Result<Merged<K>, Error> {
    let mut m = Merged {
        pieces: Vec::new(),
        total: 0,
        deleted: 0,
        replaced: 0,
        added: 0,
    };
    let mut run: Option<(u64, u64, u64)> = None; // live, snap, count
    let flush = |m: &mut Merged<K>, run: &mut Option<(u64, u64, u64)>| {
        if let Some((live, snap, count)) = run.take() {
            m.pieces.push(Piece::Snap { live, snap, count });
        }
    };
    let mut ch = changes.iter().peekable();
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        for (i, k) in keys(start..end)?.into_iter().enumerate() {
            let row = start + i as u64;
            while let Some((ck, c)) = ch.next_if(|(ck, _)| **ck < k) {
                if c.rec.is_some() {
                    flush(&mut m, &mut run);
                    m.pieces.push(Piece::Log {
                        live: m.total,
                        key: *ck,
                        replaces: None,
                    });
                    m.total += 1;
                    m.added += 1;
                }
            }
            if let Some((ck, c)) = ch.next_if(|(ck, _)| **ck == k) {
                flush(&mut m, &mut run);
                if c.rec.is_some() {
                    m.pieces.push(Piece::Log {
                        live: m.total,
                        key: *ck,
                        replaces: Some(row),
                    });
                    m.total += 1;
                    m.replaced += 1;
                } else {
                    m.deleted += 1;
                }
                continue;
            }
            match &mut run {
                Some((_, _, count)) => *count += 1,
                None => run = Some((m.total, row, 1)),
            }
            m.total += 1;
        }
        start = end;
    }
    flush(&mut m, &mut run);
    for (ck, c) in ch {
        if c.rec.is_some() {
            m.pieces.push(Piece::Log {
                live: m.total,
                key: *ck,
                replaces: None,
            });
            m.total += 1;
            m.added += 1;
        }
    }
    Ok(m)
}

/// The rows of the piece holding live row `p.at`, up to `p.to`.
fn piece_rows<K: Copy, R: Copy>(
    m: &Merged<K>,
    p: &PieceRange,
    snap_rows: impl Fn(core::ops::Range<u64>) -> Result<Vec<R>, Error>,
    logged: impl Fn(&K) -> Option<(Option<R>, Origin)>,
) -> Result<Vec<(R, Origin)>, Error> {
    let i = m.pieces.partition_point(|x| x.live() <= p.at);
    let Some(piece) = i.checked_sub(1).and_then(|i| m.pieces.get(i)) else {
        return Ok(Vec::new());
    };
    match *piece {
        Piece::Snap { live, snap, count } => {
            let skip = p.at - live;
            let n = (count - skip).min(p.to - p.at);
            let first = snap + skip;
            Ok(snap_rows(first..first + n)?
                .into_iter()
                .enumerate()
                .map(|(k, r)| {
                    (
                        r,
                        Origin {
                            snapshot_row: Some(first + k as u64),
                            ..Origin::default()
                        },
                    )
                })
                .collect())
        }
        Piece::Log { key, replaces, .. } => match logged(&key) {
            Some((Some(r), mut o)) => {
                o.replaces = replaces;
                Ok(vec![(r, o)])
            }
            _ => Ok(Vec::new()),
        },
    }
}

/// Where a live row comes from.
#[derive(Serialize, Clone, Default)]
pub struct Origin {
    /// The log whose frame put it (`null`: the snapshot).
    pub log: Option<String>,
    /// The frame's offset in that log.
    pub offset: Option<u64>,
    /// The frame's LSN.
    pub lsn: Option<u64>,
    /// The snapshot row it is (unchanged rows).
    pub snapshot_row: Option<u64>,
    /// The snapshot row a log frame replaced.
    pub replaces: Option<u64>,
}

#[derive(Serialize)]
struct LiveRow<T> {
    #[serde(flatten)]
    row: T,
    origin: Origin,
}

#[derive(Serialize)]
struct LiveRowsOut<T> {
    table: &'static str,
    total: u64,
    from: u64,
    rows: Vec<LiveRow<T>>,
}

#[derive(Serialize)]
struct StepOut<'a> {
    log: &'a str,
    position: u64,
    size: u64,
    done: bool,
}

/// `live_stats()`.
#[derive(Serialize)]
struct StatsOut {
    urls: usize,
    hosts: usize,
    pending: usize,
    due_now: usize,
    next_due: Option<u32>,
    seen_keys: usize,
    by_status: Vec<(String, usize)>,
    /// `meguri stats --data`'s text, byte for byte.
    text: String,
}

impl StatsOut {
    fn of(s: &LiveStats, name: &str) -> StatsOut {
        StatsOut {
            urls: s.urls,
            hosts: s.hosts,
            pending: s.pending,
            due_now: s.due_now,
            next_due: s.next_due,
            seen_keys: s.seen_keys,
            by_status: s
                .by_status
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(v, &n)| (meguri_core::records::status_name(v as u8).into_owned(), n))
                .collect(),
            text: s.render(name),
        }
    }
}

#[derive(Serialize)]
struct FramesOut {
    log: u32,
    total: usize,
    first: usize,
    frames: Vec<FrameOut>,
}

#[derive(Serialize)]
struct FrameOut {
    index: usize,
    offset: u64,
    len: usize,
    lsn: u64,
    kind: &'static str,
    kind_byte: u8,
    key: Option<String>,
    applied: bool,
    detail: Option<String>,
}

impl FrameOut {
    fn of(index: usize, offset: u64, f: &Frame<'_>, applied: bool) -> FrameOut {
        let (key, detail) = match &f.update {
            Some(Update::PutUrl(r)) => (
                Some(format!("0x{:016x}/0x{:016x}", r.key.host, r.key.path)),
                Some(format!(
                    "status {}, next due {}, url_ref {}",
                    meguri_core::records::status_name(r.status),
                    r.next_due,
                    r.url_ref
                )),
            ),
            Some(Update::DeleteUrl(k)) => {
                (Some(format!("0x{:016x}/0x{:016x}", k.host, k.path)), None)
            }
            Some(Update::PutHost(h)) => (
                Some(format!("0x{:016x}", h.host_key)),
                Some(format!("host_ref {}", h.host_ref)),
            ),
            Some(Update::DeleteHost(k)) => (Some(format!("0x{k:016x}")), None),
            Some(Update::UrlExt(r)) => (
                Some(format!("0x{:016x}/0x{:016x}", r.key.host, r.key.path)),
                Some(format!(
                    "refetch at {}, created {}, lease until {}, meta_ref {}",
                    r.refetch_at, r.created_at, r.lease_until, r.meta_ref
                )),
            ),
            Some(Update::HostExt(h)) => (
                Some(format!("0x{:016x}", h.host_key)),
                Some(format!(
                    "queue delay {}, blocked until {}, last hand-out {}",
                    h.queue_delay, h.blocked_until, h.last_handout
                )),
            ),
            Some(Update::Intern(s)) => {
                let cut = &s[..<[u8]>::len(s).min(200)];
                (None, Some(String::from_utf8_lossy(cut).into_owned()))
            }
            None => (None, None),
        };
        FrameOut {
            index,
            offset,
            len: f.len,
            lsn: f.lsn,
            kind: KINDS[kind_index(f.kind)],
            kind_byte: f.kind,
            key,
            applied,
            detail,
        }
    }
}

fn role_name(r: &Role) -> &'static str {
    match r {
        Role::Superblock => "superblock",
        Role::Snapshot(_) => "snapshot",
        Role::Log(_) => "log",
        Role::Discarded { .. } => "discarded tail",
        Role::Intent => "intent record",
        Role::Temporary => "temporary",
        Role::Other => "other",
    }
}

/// `report()`.
#[derive(Serialize)]
pub struct ReportOut<'a> {
    name: &'a str,
    files: Vec<FileOut<'a>>,
    superblock: SuperOut,
    snapshot: Option<SnapOut>,
    logs: Vec<LogOut>,
    missing_log: Option<String>,
    scanned: bool,
    next_lsn: u64,
    frames_replayed: u64,
    leftovers: Vec<String>,
    live: Option<LiveOut>,
    live_error: Option<String>,
}

#[derive(Serialize)]
struct FileOut<'a> {
    name: &'a str,
    size: u64,
    role: &'static str,
    leftover: bool,
}

#[derive(Serialize)]
struct SuperOut {
    present: bool,
    slots: Vec<SlotOut>,
    current: Option<&'static str>,
    why: Option<String>,
    error: Option<String>,
    generation: u64,
    owner: Option<OwnerOut>,
}

#[derive(Serialize)]
struct OwnerOut {
    lo: Hex,
    hi: Hex,
    epoch: u64,
    whole: bool,
}

impl OwnerOut {
    fn of(o: &Owner) -> OwnerOut {
        OwnerOut {
            lo: Hex(o.lo),
            hi: Hex(o.hi),
            epoch: o.epoch,
            whole: o.covers_all() && o.epoch == 0,
        }
    }
}

#[derive(Serialize)]
struct SlotOut {
    slot: &'static str,
    offset: u64,
    state: &'static str,
    current: bool,
    gen: Option<u64>,
    frontier: Option<u64>,
    arena_len: Option<u64>,
    snapshot: Option<String>,
    log: Option<String>,
    owner: Option<OwnerOut>,
    error: Option<String>,
}

impl SlotOut {
    fn of(i: usize, s: &Slot, current: bool) -> SlotOut {
        let c = match s {
            Slot::Valid(c) => Some(c),
            _ => None,
        };
        SlotOut {
            slot: superblock::slot_name(i),
            offset: (i * superblock::SLOT_LEN) as u64,
            state: match s {
                Slot::Blank => "blank",
                Slot::Valid(_) => "valid",
                Slot::Bad(_) => "damaged",
            },
            current,
            gen: c.map(|c| c.gen),
            frontier: c.map(|c| c.frontier),
            arena_len: c.map(|c| c.arena_len),
            snapshot: c.map(|c| c.snapshot.clone()),
            log: c.map(|c| c.log.clone()),
            owner: c.map(|c| OwnerOut::of(&c.owner)),
            error: match s {
                Slot::Bad(e) => Some(e.to_string()),
                _ => None,
            },
        }
    }
}

#[derive(Serialize)]
struct SnapOut {
    name: String,
    present: bool,
    urls: Option<u64>,
    hosts: Option<u64>,
    partition_id: Option<u32>,
    arena_len: u64,
    error: Option<String>,
}

#[derive(Serialize)]
struct RuleOut {
    kind: &'static str,
    lsn: u64,
}

#[derive(Serialize)]
struct KindCount {
    kind: &'static str,
    count: u64,
}

#[derive(Serialize)]
struct StopOut {
    kind: &'static str,
    text: String,
    at: Option<u64>,
}

#[derive(Serialize)]
struct LogOut {
    index: usize,
    name: String,
    number: u64,
    size: u64,
    named: bool,
    rule: Option<RuleOut>,
    set_aside: bool,
    scanned: bool,
    frames: u64,
    skipped: u64,
    listed: usize,
    by_kind: Vec<KindCount>,
    first_lsn: Option<u64>,
    last_lsn: Option<u64>,
    good_end: Option<u64>,
    stop: Option<StopOut>,
    tail: Option<TailOut>,
    /// For a later log: what a writable open does with it after replay.
    fold: Option<String>,
}

/// What a writable open does with the log's tail, as data and in words.
#[derive(Serialize)]
struct TailOut {
    action: &'static str,
    at: u64,
    bytes: u64,
    zeros: u64,
    keep: Option<String>,
    text: String,
}

impl TailOut {
    fn of(log: &str, t: &Tail, set_aside: bool) -> TailOut {
        match t {
            Tail::Clean => TailOut {
                action: "none",
                at: 0,
                bytes: 0,
                zeros: 0,
                keep: None,
                text: format!("{log} ends at its last good frame: nothing to do"),
            },
            Tail::Zeros { at, bytes } => TailOut {
                action: "trim zeros",
                at: *at,
                bytes: *bytes,
                zeros: *bytes,
                keep: None,
                text: format!(
                    "{log}: {bytes} preallocated zero bytes after offset {at} were never written; a writable open trims them (nothing is lost)"
                ),
            },
            Tail::Discard {
                at,
                why,
                bytes,
                zeros,
            } => {
                let keep = recovery::discarded_name(log, *at);
                TailOut {
                    action: "truncate",
                    at: *at,
                    bytes: *bytes,
                    zeros: *zeros,
                    text: if set_aside {
                        format!(
                            "{log} follows a log that lost its tail, so none of it is applied: a writable open keeps its {bytes} bytes in {keep} and removes it"
                        )
                    } else {
                        format!(
                            "replay stops at offset {at} ({why}); a writable open truncates {log} there and keeps the {bytes} bytes after it in {keep}"
                        )
                    },
                    keep: Some(keep),
                }
            }
        }
    }
}

#[derive(Serialize)]
struct LiveOut {
    urls: u64,
    hosts: u64,
    urls_added: u64,
    urls_replaced: u64,
    urls_deleted: u64,
    hosts_added: u64,
    hosts_replaced: u64,
    hosts_deleted: u64,
    interned: usize,
    arena_len: u64,
}

impl Log {
    fn new(file: usize, number: u64, named: bool) -> Log {
        Log {
            file,
            number,
            named,
            rule: None,
            scan: None,
            end: None,
            offsets: Vec::new(),
            skipped: 0,
            by_kind: [0; 8],
            first_lsn: None,
        }
    }
}
