//! The string arena for the rows views, streamed in bounded memory.
//!
//! A file's arena is one page; with codec zstd its payload is one frame, which cannot be
//! entered in the middle. The reader's `arena()` decodes it whole, which for a 1 GB file is
//! about a gigabyte of wasm memory. Here the rows view asks only for the strings of the rows on
//! screen: their references become the *pending* set, and the frame is decoded forward
//! through the core's [`StreamCheck`] (its window plus one block) in pieces of a few MiB of
//! compressed input, each piece a separate call, so the worker can report progress and other
//! requests can run in between. Decoded bytes pass through a small window; a pending string is
//! copied out as soon as the window holds it, and kept in a bounded cache of resolved strings.
//! The window keeps only the last [`WINDOW`] bytes, so a reference behind the decoder that is
//! not cached needs a new pass from the start of the frame ([`ArenaState::restart`]): jumping
//! back costs a re-decode up to that point, jumping forward costs decoding up to there.
//!
//! An arena stored uncompressed (codec 0) is read directly at each reference, without a pass.
//!
//! Memory: the decoder (up to the frame's window, 32 MiB for meguri's files, 8 MiB for the
//! reference's), [`WINDOW`], the compressed piece being fed, and at most [`CACHE_BYTES`] of
//! resolved strings, each cut to [`MAX_SHOWN`] bytes.

use crate::source::Shared;
use crate::views::ArenaState;
use meguri_core::bytes::read_uvarint;
use meguri_core::column::region_page_header;
use meguri_core::error::{Error, Place, Result};
use meguri_core::format::codec::{CODEC_NONE, CODEC_ZSTD};
use meguri_core::format::footer::RegionDesc;
use meguri_core::format::page::{PageHeader, KIND_BLOB, PAGE_HEADER_LEN};
use meguri_core::format::zstd_frame::StreamCheck;
use meguri_core::source::read_range;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// Decoded bytes kept behind the decoder's position.
pub const WINDOW: usize = 4 << 20;
/// The longest string shown; longer ones are cut (and say so).
pub const MAX_SHOWN: u64 = 16 << 10;
/// Bytes of resolved strings kept.
pub const CACHE_BYTES: usize = 16 << 20;
/// Compressed bytes fed to the decoder at a time (a step reads a larger piece).
const FEED_SLICE: usize = 256 << 10;
/// Most references one request may wait for.
pub const MAX_PENDING: usize = 20_000;

/// What a reference resolved to.
#[derive(Clone, Debug)]
pub enum Resolved {
    /// Reference 0: no string.
    Null,
    /// The string (cut to [`MAX_SHOWN`] bytes, with a note, when longer).
    Text(String),
    /// The reference does not resolve, and why.
    Bad(String),
}

impl Resolved {
    /// As the rows view shows it.
    pub fn shown(&self) -> Option<String> {
        match self {
            Resolved::Null => None,
            Resolved::Text(s) => Some(s.clone()),
            Resolved::Bad(why) => Some(format!("⚠ {why}")),
        }
    }
}

struct Stream {
    check: StreamCheck,
    /// Compressed bytes fed.
    read: u64,
    /// Decoded bytes `[win_start, win_start + window.len())`.
    window: Vec<u8>,
    win_start: u64,
    finished: bool,
}

/// The arena of one file, streamed on demand.
pub struct ArenaStream {
    src: Shared,
    desc: Option<RegionDesc>,
    head: Option<PageHeader>,
    stream: Option<Stream>,
    cache: HashMap<u64, Resolved>,
    order: VecDeque<u64>,
    cache_bytes: usize,
    pending: BTreeSet<u64>,
    passes: u32,
    restart: bool,
    /// The frame's verdict, once a pass ended in an error.
    failed: Option<Error>,
}

impl ArenaStream {
    /// The arena of the file behind `src`, whose blob region is `desc` (none: no arena).
    pub fn new(src: Shared, desc: Option<RegionDesc>) -> ArenaStream {
        ArenaStream {
            src,
            desc,
            head: None,
            stream: None,
            cache: HashMap::new(),
            order: VecDeque::new(),
            cache_bytes: 0,
            pending: BTreeSet::new(),
            passes: 0,
            restart: false,
            failed: None,
        }
    }

    /// The arena page's header, read (32 bytes) and checked against its region once.
    fn head(&mut self) -> Result<Option<PageHeader>> {
        let Some(d) = self.desc else { return Ok(None) };
        if d.length == 0 {
            return Ok(None);
        }
        if self.head.is_none() {
            let b = read_range(
                &self.src,
                d.offset,
                PAGE_HEADER_LEN as u64,
                "arena page header",
                Place::Arena,
            )?;
            let h = region_page_header(b[..].try_into().expect("32 bytes"), &d, KIND_BLOB)?;
            if h.codec != CODEC_NONE && h.codec != CODEC_ZSTD {
                return Err(Error::new(
                    meguri_core::ErrorKind::Unsupported,
                    format!("the arena page's codec {} cannot be streamed", h.codec),
                )
                .within(Place::Arena)
                .at(d.offset + 2));
            }
            self.head = Some(h);
        }
        Ok(self.head)
    }

    fn payload_at(&self) -> u64 {
        self.desc.map_or(0, |d| d.offset + PAGE_HEADER_LEN as u64)
    }

    /// The decoded length the page declares (0 without an arena).
    fn total(&self) -> u64 {
        self.head.map_or(0, |h| u64::from(h.uncompressed_size))
    }

    /// The decoded length the arena page declares (0 without an arena), reading its 32-byte
    /// header once.
    pub fn declared_len(&mut self) -> Result<u64> {
        self.head()?;
        Ok(self.total())
    }

    /// The state, for progress.
    pub fn state(&self) -> ArenaState {
        let s = self.stream.as_ref();
        ArenaState {
            decoded: s.map_or(0, |s| s.win_start + s.window.len() as u64),
            total: self.total(),
            read: s.map_or(0, |s| s.read),
            compressed: self.head.map_or(0, |h| u64::from(h.compressed_size)),
            pending: self.pending.len(),
            restart: self.restart,
            finished: s.is_some_and(|s| s.finished),
            passes: self.passes,
            held: (s.map_or(0, |s| s.window.capacity()) + self.cache_bytes) as u64,
        }
    }

    /// The resolved string of `r`, if known now.
    pub fn get(&self, r: u64) -> Option<&Resolved> {
        if r == 0 {
            return Some(&Resolved::Null);
        }
        self.cache.get(&r)
    }

    /// Makes `refs` the pending set (the strings the rows on screen need): those already known
    /// or in the window resolve at once; the rest wait for [`ArenaStream::step`]. A reference
    /// behind the decoder that is not cached starts a new pass from the frame's start.
    pub fn want(&mut self, refs: impl IntoIterator<Item = u64>) -> Result<()> {
        self.pending.clear();
        self.restart = false;
        let head = self.head()?;
        for r in refs {
            if r == 0 || self.cache.contains_key(&r) || self.pending.len() >= MAX_PENDING {
                continue;
            }
            let Some(h) = head else {
                self.remember(r, Resolved::Bad(String::from("the file has no arena")));
                continue;
            };
            if r >= u64::from(h.uncompressed_size) {
                let why = format!(
                    "reference {r} is past the end of the arena ({} bytes)",
                    h.uncompressed_size
                );
                self.remember(r, Resolved::Bad(why));
                continue;
            }
            if h.codec == CODEC_NONE {
                let v = self.read_direct(r, u64::from(h.uncompressed_size))?;
                self.remember(r, v);
                continue;
            }
            if let Some(e) = &self.failed {
                let why = format!("the arena does not decode: {e}");
                self.remember(r, Resolved::Bad(why));
                continue;
            }
            self.pending.insert(r);
        }
        self.resolve_from_window();
        if let (Some(s), Some(&first)) = (&self.stream, self.pending.first()) {
            if first < s.win_start {
                self.restart = true;
            }
        }
        Ok(())
    }

    /// Resolves `r` in an uncompressed arena by reading it where it lies.
    fn read_direct(&self, r: u64, total: u64) -> Result<Resolved> {
        let at = self.payload_at();
        let n = (total - r).min(10);
        let b = read_range(&self.src, at + r, n, "arena entry", Place::Arena)?;
        Ok(match read_uvarint(&b) {
            Err(_) => Resolved::Bad(format!("reference {r}: unreadable length")),
            Ok((len, k)) => {
                let body = r + k as u64;
                if body.checked_add(len).is_none_or(|e| e > total) {
                    Resolved::Bad(format!(
                        "reference {r}: the entry runs past the end of the arena"
                    ))
                } else {
                    let shown = len.min(MAX_SHOWN);
                    let s = read_range(&self.src, at + body, shown, "arena entry", Place::Arena)?;
                    text(&s, len)
                }
            }
        })
    }

    fn remember(&mut self, r: u64, v: Resolved) {
        let size = match &v {
            Resolved::Text(s) | Resolved::Bad(s) => s.len() + 48,
            Resolved::Null => 48,
        };
        if self.cache.insert(r, v).is_none() {
            self.order.push_back(r);
        }
        self.cache_bytes += size;
        while self.cache_bytes > CACHE_BYTES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(v) = self.cache.remove(&old) {
                self.cache_bytes -= match &v {
                    Resolved::Text(s) | Resolved::Bad(s) => s.len() + 48,
                    Resolved::Null => 48,
                };
            }
        }
    }

    /// Whether some pending reference still waits for the decoder.
    pub fn waiting(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Feeds the decoder up to `piece` more compressed bytes (starting a pass if none is under
    /// way or a restart is due) and resolves what the window then holds.
    pub fn step(&mut self, piece: u64) -> Result<ArenaState> {
        let Some(h) = self.head()? else {
            return Ok(self.state());
        };
        if self.pending.is_empty() {
            return Ok(self.state());
        }
        if self.restart || self.stream.is_none() {
            self.restart = false;
            self.passes += 1;
            self.stream = Some(Stream {
                check: StreamCheck::new(self.payload_at(), u64::from(h.uncompressed_size)),
                read: 0,
                window: Vec::new(),
                win_start: 0,
                finished: false,
            });
        }
        let compressed = u64::from(h.compressed_size);
        let total = u64::from(h.uncompressed_size);
        let at = self.payload_at();
        let mut res = Ok(());
        let s = self.stream.as_mut().expect("started above");
        if !s.finished {
            let n = piece.max(1).min(compressed - s.read);
            let bytes = read_range(&self.src, at + s.read, n, "arena", Place::Arena)?.into_owned();
            s.read += n;
            // Fed in slices, each resolved and trimmed before the next, so the window stays
            // about WINDOW plus what one slice decodes to.
            for slice in bytes.chunks(FEED_SLICE) {
                let s = self.stream.as_mut().expect("started above");
                let window = &mut s.window;
                res = s.check.feed(slice, &mut |d| window.extend_from_slice(d));
                self.resolve_from_window();
                self.trim();
                if res.is_err() {
                    break;
                }
            }
            let s = self.stream.as_mut().expect("started above");
            if res.is_ok() && s.read == compressed {
                // The decoder hands over what it still holds (the frame's last window) at once;
                // it goes through the window a slice at a time.
                s.finished = true;
                let check = std::mem::replace(&mut s.check, StreamCheck::new(0, 0));
                let mut rest =
                    Vec::with_capacity((total - s.win_start - s.window.len() as u64) as usize);
                res = check.finish(&mut |d| rest.extend_from_slice(d));
                for slice in rest.chunks(FEED_SLICE) {
                    let s = self.stream.as_mut().expect("started above");
                    s.window.extend_from_slice(slice);
                    self.resolve_from_window();
                    self.trim();
                }
            }
        }
        self.resolve_from_window();
        self.trim();
        if let Err(e) = res {
            let e = e.within(Place::Arena);
            self.fail(&e);
            return Err(e);
        }
        if self.stream.as_ref().is_some_and(|s| s.finished) && !self.pending.is_empty() {
            // Whatever is still pending lies beyond what the frame decoded to.
            let e = Error::corrupt("the arena frame ended before the referenced bytes")
                .within(Place::Arena);
            self.fail(&e);
        }
        Ok(self.state())
    }

    fn fail(&mut self, e: &Error) {
        self.failed = Some(e.clone());
        let why = format!("the arena does not decode: {e}");
        for r in std::mem::take(&mut self.pending) {
            self.remember(r, Resolved::Bad(why.clone()));
        }
        self.stream = None;
    }

    /// Resolves every pending reference whose entry the window now holds.
    fn resolve_from_window(&mut self) {
        let Some(s) = &self.stream else { return };
        let total = self.total();
        let (lo, hi) = (s.win_start, s.win_start + s.window.len() as u64);
        let mut done = Vec::new();
        for &r in self.pending.range(lo..hi) {
            let b = &s.window[(r - lo) as usize..];
            let need = (total - r).min(10) as usize;
            if b.len() < need && !s.finished {
                break;
            }
            let v = match read_uvarint(&b[..b.len().min(10)]) {
                Err(_) => Resolved::Bad(format!("reference {r}: unreadable length")),
                Ok((len, k)) => {
                    let body = r + k as u64;
                    if body.checked_add(len).is_none_or(|e| e > total) {
                        Resolved::Bad(format!(
                            "reference {r}: the entry runs past the end of the arena"
                        ))
                    } else {
                        let shown = len.min(MAX_SHOWN);
                        if body + shown > hi {
                            // The rest of the entry is still to come; later references too.
                            break;
                        }
                        let at = (body - lo) as usize;
                        text(&s.window[at..at + shown as usize], len)
                    }
                }
            };
            done.push((r, v));
        }
        for (r, v) in done {
            self.pending.remove(&r);
            self.remember(r, v);
        }
    }

    /// Drops decoded bytes no pending reference needs, keeping the last [`WINDOW`].
    fn trim(&mut self) {
        let Some(s) = &mut self.stream else { return };
        let end = s.win_start + s.window.len() as u64;
        let mut keep_from = end.saturating_sub(WINDOW as u64);
        if let Some(&p) = self.pending.range(s.win_start..end).next() {
            keep_from = keep_from.min(p);
        }
        if keep_from > s.win_start {
            let cut = (keep_from - s.win_start) as usize;
            s.window.drain(..cut);
            s.win_start = keep_from;
            if s.window.capacity() > 4 * WINDOW {
                s.window.shrink_to(2 * WINDOW);
            }
        }
    }
}

fn text(b: &[u8], len: u64) -> Resolved {
    let mut s = String::from_utf8_lossy(b).into_owned();
    if len > b.len() as u64 {
        s.push_str(&format!("… ({len} bytes)"));
    }
    Resolved::Text(s)
}
