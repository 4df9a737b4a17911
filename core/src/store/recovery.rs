//! What recovery does with a partition directory's logs: where replay stops and why, what is
//! kept of the bytes after that point, and which later logs continue the chain.
//!
//! This is the one decision both front ends make: the native store (`meguri::store`), which
//! then truncates, folds and removes files, and the browser inspector, which only shows what
//! the store would do. Neither has its own copy of the rules; both drive a [`Scan`] over the
//! log's bytes and read the answer from its [`ScanEnd`], [`ScanEnd::tail`] and [`Chain`].
//! The rules are docs/format.md §13.3 and §13.9:
//!
//! - Replay of the log the superblock names starts at its first byte under
//!   [`Rule::First`]: LSNs strictly increase, the first at least the slot's frontier.
//! - It stops at the first frame that is incomplete, fails its CRC, is malformed, or breaks the
//!   LSN rule ([`Stop`]).
//! - Zeros after the last good frame are preallocated space never written: trimmed, not
//!   damage. Anything else after it is cut at the last good frame and kept in
//!   `<log>.discarded-<offset>` up to its last nonzero byte ([`Tail`]).
//! - Later logs (`log-<m>`, `m` above the named log's number, in increasing order) are replayed
//!   under [`Rule::Continue`]: frames below the next LSN due are copies already applied and
//!   are skipped; the first new frame must carry exactly that LSN. Once a later log stops
//!   early, every log after it is set aside whole ([`Chain`]).
//!
//! The scan reads the log in pieces of at most [`PIECE`] bytes (more only when one frame is
//! longer, up to the format's bound), through a caller's `read(offset, buf)`, and can run in
//! bounded steps ([`Scan::step`]) so a front end can show progress on a large log.

use super::frame::{self, Frame, Parsed};
use crate::error::Error;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Bytes a scan reads at a time.
pub const PIECE: usize = 1 << 20;

/// How a scan judges LSNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// The log the superblock names: LSNs strictly increase, the first at least this.
    First(u64),
    /// A log after it: frames below this LSN were applied already (copied into the log before
    /// it by an interrupted fold) and are skipped; the first new frame must be exactly this
    /// LSN, and LSNs strictly increase after it.
    Continue(u64),
}

/// Why a log scan stopped before the end of the file.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// A frame fails its CRC or is malformed.
    Frame(Error),
    /// The file ends inside a frame.
    Incomplete {
        /// Where the frame starts.
        at: u64,
        /// Bytes from there to the end.
        bytes: u64,
    },
    /// A frame's LSN breaks the order.
    Lsn {
        /// Where the frame starts.
        at: u64,
        /// Its LSN.
        lsn: u64,
        /// The least LSN that was due.
        due: u64,
    },
    /// A later log does not continue where the one before it ended (its first new frame is not
    /// the next LSN): an earlier log lost its tail, so nothing after it can be applied.
    Gap {
        /// The LSN found.
        lsn: u64,
        /// The LSN due.
        due: u64,
    },
}

impl Stop {
    /// A short name of the reason: `frame`, `incomplete`, `lsn` or `gap`.
    pub fn kind(&self) -> &'static str {
        match self {
            Stop::Frame(_) => "frame",
            Stop::Incomplete { .. } => "incomplete",
            Stop::Lsn { .. } => "lsn",
            Stop::Gap { .. } => "gap",
        }
    }
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Frame(e) => write!(f, "{e}"),
            Stop::Incomplete { at, bytes } => {
                write!(
                    f,
                    "the last {bytes} bytes from offset {at} are an incomplete frame"
                )
            }
            Stop::Lsn { at, lsn, due } => write!(
                f,
                "frame at offset {at} has LSN {lsn} where at least {due} was due"
            ),
            Stop::Gap { lsn, due } => write!(
                f,
                "its first new frame has LSN {lsn} where {due} was due: the log before it lost \
                 its tail"
            ),
        }
    }
}

/// What a scan did with a frame it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Replayed (or, for a kind this version does not know, counted and skipped).
    Applied,
    /// Under [`Rule::Continue`], below the next LSN due: a copy of a frame already applied.
    Skipped,
}

/// How a scan of a log ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanEnd {
    /// End of the last good frame: the length the log should have.
    pub good_end: u64,
    /// The log's length on disk.
    pub file_len: u64,
    /// Where the first frame applied starts (frames before it were skipped under
    /// [`Rule::Continue`]).
    pub first_applied: Option<u64>,
    /// Frames applied.
    pub frames: u64,
    /// Frames of kinds this version does not know, skipped.
    pub unknown: u64,
    /// Highest LSN applied.
    pub last_lsn: Option<u64>,
    /// Why the scan stopped before the end of the file, if it did.
    pub stop: Option<Stop>,
    /// End of the last nonzero byte after `good_end` (`good_end` when the rest is zeros).
    pub nonzero_end: u64,
}

/// What recovery does with the bytes after a log's last good frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Tail {
    /// Nothing follows the last good frame.
    Clean,
    /// Only zeros follow it: space preallocated for frames never written. A writable open
    /// trims them; nothing is lost and nothing is kept.
    Zeros {
        /// Where they start (the last good frame's end).
        at: u64,
        /// How many.
        bytes: u64,
    },
    /// Other bytes follow it: a writable open copies `at .. at + bytes` (trailing zeros
    /// excluded) to [`discarded_name`]`(log, at)` and truncates the log at `at`.
    Discard {
        /// The last good frame's end: where the log is cut.
        at: u64,
        /// Why replay stopped there.
        why: Stop,
        /// Bytes kept (up to the last nonzero byte).
        bytes: u64,
        /// Zero bytes after those, trimmed with them.
        zeros: u64,
    },
}

impl ScanEnd {
    /// Whether everything after the last good frame is zeros (preallocated, never written).
    pub fn zero_tail(&self) -> bool {
        self.nonzero_end == self.good_end
    }

    /// The decision about the bytes after the last good frame.
    pub fn tail(&self) -> Tail {
        if self.good_end >= self.file_len {
            return Tail::Clean;
        }
        if self.zero_tail() {
            return Tail::Zeros {
                at: self.good_end,
                bytes: self.file_len - self.good_end,
            };
        }
        Tail::Discard {
            at: self.good_end,
            why: self.stop.clone().unwrap_or(Stop::Incomplete {
                at: self.good_end,
                bytes: self.file_len - self.good_end,
            }),
            bytes: self.nonzero_end - self.good_end,
            zeros: self.file_len - self.nonzero_end,
        }
    }

    /// A later log of `len` bytes that follows a broken chain: nothing in it is applied, and
    /// all of it is set aside (as a tail starting at offset 0).
    pub fn set_aside(len: u64, due: u64) -> ScanEnd {
        ScanEnd {
            good_end: 0,
            file_len: len,
            stop: Some(Stop::Gap { lsn: 0, due }),
            nonzero_end: len,
            ..ScanEnd::default()
        }
    }
}

/// The name the bytes cut from `log` at `offset` are kept under.
pub fn discarded_name(log: &str, offset: u64) -> String {
    format!("{log}.discarded-{offset}")
}

/// Which phase a [`Scan`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Frames,
    /// Looking for the last nonzero byte after the last good frame; the next read is at `at`.
    Tail {
        at: u64,
    },
    Done,
}

/// A scan of one log, fed by the caller's reads, resumable between [`Scan::step`]s.
#[derive(Debug, Clone)]
pub struct Scan {
    end: ScanEnd,
    /// Unparsed bytes read ahead; `buf[0]` is at file offset `buf_start`.
    buf: Vec<u8>,
    buf_start: u64,
    /// Parse position within `buf`.
    pos: usize,
    next_min: u64,
    /// Whether the next frame applied must carry exactly `next_min` ([`Rule::Continue`]).
    exact: bool,
    phase: Phase,
}

impl Scan {
    /// A scan of a log of `file_len` bytes from byte `from` (a frame boundary: 0, or the end
    /// of frames already replayed) under `rule`.
    pub fn new(file_len: u64, from: u64, rule: Rule) -> Scan {
        let (next_min, exact) = match rule {
            Rule::First(m) => (m, false),
            Rule::Continue(m) => (m, true),
        };
        Scan {
            end: ScanEnd {
                file_len,
                good_end: from,
                ..ScanEnd::default()
            },
            buf: Vec::new(),
            buf_start: from,
            pos: 0,
            next_min,
            exact,
            phase: Phase::Frames,
        }
    }

    /// Whether the scan has finished (frames and tail).
    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// How far the scan has read: a file offset, for progress.
    pub fn position(&self) -> u64 {
        match self.phase {
            Phase::Frames => self.buf_start + self.pos as u64,
            Phase::Tail { at } => at,
            Phase::Done => self.end.file_len,
        }
    }

    /// The result so far (final once [`Self::done`]).
    pub fn end(&self) -> &ScanEnd {
        &self.end
    }

    /// The result; call once [`Self::done`].
    pub fn into_end(self) -> ScanEnd {
        self.end
    }

    /// Runs the scan to its end: `read(offset, buf)` fills `buf` with the log's bytes at
    /// `offset`, and `visit` sees every whole frame read, with its offset and its fate.
    pub fn run<E>(
        mut self,
        mut read: impl FnMut(u64, &mut [u8]) -> Result<(), E>,
        mut visit: impl FnMut(u64, &Frame<'_>, Fate),
    ) -> Result<ScanEnd, E> {
        while !self.step(u64::MAX, &mut read, &mut visit)? {}
        Ok(self.end)
    }

    /// Goes on until the end, or until at least `budget` bytes were read in this call;
    /// returns whether the scan is done. Memory stays at about [`PIECE`] bytes (or one frame,
    /// when a frame is longer).
    pub fn step<E>(
        &mut self,
        budget: u64,
        mut read: impl FnMut(u64, &mut [u8]) -> Result<(), E>,
        mut visit: impl FnMut(u64, &Frame<'_>, Fate),
    ) -> Result<bool, E> {
        let mut spent = 0u64;
        while self.phase == Phase::Frames {
            let at = self.buf_start + self.pos as u64;
            match frame::parse(&self.buf[self.pos..], at) {
                Parsed::Frame(f) => {
                    if self.exact && f.lsn < self.next_min {
                        // Applied before (folded into the log before this one).
                        visit(at, &f, Fate::Skipped);
                        self.pos += f.len;
                        self.end.good_end = at + f.len as u64;
                        continue;
                    }
                    if self.exact && f.lsn != self.next_min {
                        self.end.stop = Some(Stop::Gap {
                            lsn: f.lsn,
                            due: self.next_min,
                        });
                        self.frames_done();
                        break;
                    }
                    if f.lsn < self.next_min {
                        self.end.stop = Some(Stop::Lsn {
                            at,
                            lsn: f.lsn,
                            due: self.next_min,
                        });
                        self.frames_done();
                        break;
                    }
                    self.exact = false;
                    self.next_min = f.lsn.saturating_add(1);
                    self.end.last_lsn = Some(f.lsn);
                    self.end.first_applied.get_or_insert(at);
                    if f.update.is_none() {
                        self.end.unknown += 1;
                    }
                    visit(at, &f, Fate::Applied);
                    self.end.frames += 1;
                    self.pos += f.len;
                    self.end.good_end = at + f.len as u64;
                }
                Parsed::Bad(e) => {
                    self.end.stop = Some(Stop::Frame(e));
                    self.frames_done();
                }
                Parsed::Incomplete => {
                    let file_len = self.end.file_len;
                    let have = self.buf_start + self.buf.len() as u64;
                    if have >= file_len {
                        if at < file_len {
                            self.end.stop = Some(Stop::Incomplete {
                                at,
                                bytes: file_len - at,
                            });
                        }
                        self.frames_done();
                        break;
                    }
                    if spent >= budget {
                        return Ok(false);
                    }
                    // Keep the unparsed rest and read more: at least a piece, and at least the
                    // whole frame when its header says how long it is (bounded by the format).
                    self.buf.drain(..self.pos);
                    self.buf_start += self.pos as u64;
                    self.pos = 0;
                    let want =
                        (file_len - have).min(PIECE.max(frame_len_hint(&self.buf)) as u64) as usize;
                    let old = self.buf.len();
                    self.buf.resize(old + want, 0);
                    read(have, &mut self.buf[old..])?;
                    spent += want as u64;
                }
            }
        }
        // The bytes after the last good frame: zeros (preallocated) or something to keep.
        while let Phase::Tail { at } = self.phase {
            let to = self.end.file_len;
            if at >= to {
                self.phase = Phase::Done;
                break;
            }
            if spent >= budget {
                return Ok(false);
            }
            let n = ((to - at) as usize).min(PIECE);
            self.buf.clear();
            self.buf.resize(n, 0);
            read(at, &mut self.buf)?;
            spent += n as u64;
            if let Some(i) = self.buf.iter().rposition(|&b| b != 0) {
                self.end.nonzero_end = at + i as u64 + 1;
            }
            self.phase = Phase::Tail { at: at + n as u64 };
        }
        if self.phase == Phase::Done {
            self.buf = Vec::new();
        }
        Ok(self.phase == Phase::Done)
    }

    fn frames_done(&mut self) {
        self.end.nonzero_end = self.end.good_end;
        self.buf.clear();
        self.pos = 0;
        self.buf_start = self.end.good_end;
        self.phase = if self.end.good_end < self.end.file_len {
            Phase::Tail {
                at: self.end.good_end,
            }
        } else {
            Phase::Done
        };
    }
}

/// The length the frame header at the start of `b` declares (0 when unknown or implausible;
/// `parse` rejects implausible lengths itself).
fn frame_len_hint(b: &[u8]) -> usize {
    if b.len() < frame::HEADER_LEN {
        return 0;
    }
    let value = u32::from_le_bytes([b[10], b[11], b[12], b[13]]);
    if value > frame::MAX_VALUE_LEN {
        return 0;
    }
    frame::HEADER_LEN + usize::from(b[9]) + value as usize + frame::CRC_LEN
}

/// The LSN rule across the named log and the logs after it.
///
/// The named log is scanned under [`Chain::named_rule`]; its stop does not break the chain by
/// itself (a later log that does not continue it breaks at its own first frame, by the LSN).
/// Each later log is scanned under [`Chain::later_rule`] while the chain holds; the first
/// later log that stops early breaks it, and every log after that is set aside whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chain {
    next_lsn: u64,
    broken: bool,
}

impl Chain {
    /// The chain of a checkpoint whose first LSN after it is `frontier`.
    pub fn new(frontier: u64) -> Chain {
        Chain {
            next_lsn: frontier,
            broken: false,
        }
    }

    /// The next LSN due: the larger of the frontier and the last applied LSN plus one.
    pub fn next_lsn(&self) -> u64 {
        self.next_lsn
    }

    /// Whether a later log stopped early, so that the logs after it are set aside.
    pub fn broken(&self) -> bool {
        self.broken
    }

    /// The rule of the named log.
    pub fn named_rule(&self) -> Rule {
        Rule::First(self.next_lsn)
    }

    /// Notes LSNs applied (from the named log, or from a later log's frames replayed).
    pub fn applied(&mut self, last_lsn: Option<u64>) {
        self.next_lsn = self.next_lsn.max(last_lsn.map_or(0, |l| l + 1));
    }

    /// The rule of the next later log, or `None` when the chain is broken and the log is set
    /// aside whole ([`ScanEnd::set_aside`]).
    pub fn later_rule(&self) -> Option<Rule> {
        (!self.broken).then_some(Rule::Continue(self.next_lsn))
    }

    /// Notes how a later log's scan ended.
    pub fn after_later(&mut self, end: &ScanEnd) {
        self.applied(end.last_lsn);
        self.broken = end.stop.is_some();
    }
}

/// `n` of `log-<n>`.
pub fn log_number(name: &str) -> Option<u64> {
    name.strip_prefix("log-").and_then(digits)
}

/// `n` of `snap-<n>.meguri`.
pub fn snap_number(name: &str) -> Option<u64> {
    name.strip_prefix("snap-")
        .and_then(|s| s.strip_suffix(".meguri"))
        .and_then(digits)
}

/// Whether `name` is named like a generation's snapshot or log.
pub fn is_generation_file(name: &str) -> bool {
    log_number(name).is_some() || snap_number(name).is_some()
}

fn digits(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The logs after `named` among `names` (`log-<m>` with `m` above its number), in the order
/// they are replayed.
pub fn later_logs<'a>(named: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<(u64, String)> {
    let Some(n) = log_number(named) else {
        return Vec::new();
    };
    let mut later: Vec<(u64, String)> = names
        .into_iter()
        .filter_map(|s| Some((log_number(s)?, String::from(s))))
        .filter(|(k, _)| *k > n)
        .collect();
    later.sort();
    later
}

/// What a file in a partition directory is, by its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// `super`.
    Superblock,
    /// `snap-<n>.meguri`.
    Snapshot(u64),
    /// `log-<n>`.
    Log(u64),
    /// `<log>.discarded-<offset>`: bytes a recovery cut from a log.
    Discarded {
        /// The log they were cut from.
        log: String,
        /// Where.
        offset: u64,
    },
    /// `.<file>.meguri-intent`: the intent record of a `compact` or `split` in progress or
    /// interrupted.
    Intent,
    /// A temporary (`….tmp-<pid>`) or spill file (`.meguri-spill-…`) a process left.
    Temporary,
    /// Anything else (the store ignores it).
    Other,
}

/// The role of a file named `name` in a partition directory.
pub fn role(name: &str) -> Role {
    if name == "super" {
        return Role::Superblock;
    }
    if let Some(n) = snap_number(name) {
        return Role::Snapshot(n);
    }
    if let Some(n) = log_number(name) {
        return Role::Log(n);
    }
    if let Some((log, off)) = name.rsplit_once(".discarded-") {
        if let (Some(_), Some(offset)) = (log_number(log), digits(off)) {
            return Role::Discarded {
                log: String::from(log),
                offset,
            };
        }
    }
    if name.ends_with(".meguri-intent") {
        return Role::Intent;
    }
    if name.starts_with(".meguri-spill-") || name.contains(".tmp-") {
        return Role::Temporary;
    }
    Role::Other
}

/// Generation files a writable open removes: those named like a snapshot or a log that the
/// current slot does not name and that are not later logs (left by an interrupted
/// checkpoint).
pub fn leftovers<'a>(
    snapshot: Option<&str>,
    log: &str,
    later: &[String],
    names: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    names
        .into_iter()
        .filter(|n| {
            is_generation_file(n)
                && Some(*n) != snapshot
                && *n != log
                && !later.iter().any(|l| l == n)
        })
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::frame::{encode, Update};

    fn log_of(lsns: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        for &l in lsns {
            encode(l, &Update::Intern(b"abc"), &mut out).unwrap();
        }
        out
    }

    fn scan(bytes: &[u8], rule: Rule) -> ScanEnd {
        Scan::new(bytes.len() as u64, 0, rule)
            .run(
                |off, b: &mut [u8]| -> Result<(), ()> {
                    b.copy_from_slice(&bytes[off as usize..off as usize + b.len()]);
                    Ok(())
                },
                |_, _, _| {},
            )
            .unwrap()
    }

    #[test]
    fn clean_torn_zero_and_damaged_tails() {
        let log = log_of(&[5, 6, 7]);
        let end = scan(&log, Rule::First(5));
        assert_eq!(
            (end.frames, end.good_end, end.tail()),
            (3, log.len() as u64, Tail::Clean)
        );
        let mut torn = log.clone();
        torn.truncate(log.len() - 3);
        let end = scan(&torn, Rule::First(5));
        let frame = (log.len() / 3) as u64;
        assert_eq!(end.frames, 2);
        assert!(
            matches!(end.tail(), Tail::Discard { at, why: Stop::Incomplete { .. }, bytes, zeros: 0 }
            if at == 2 * frame && bytes == frame - 3)
        );
        let mut zeros = log.clone();
        zeros.extend_from_slice(&[0; 5000]);
        assert_eq!(
            scan(&zeros, Rule::First(5)).tail(),
            Tail::Zeros {
                at: log.len() as u64,
                bytes: 5000
            }
        );
        let mut bad = log.clone();
        bad[frame as usize + 3] ^= 1;
        bad.extend_from_slice(&[0; 10]);
        let end = scan(&bad, Rule::First(5));
        assert!(
            matches!(end.tail(), Tail::Discard { at, why: Stop::Frame(_), bytes, zeros: 10 }
            if at == frame && bytes == 2 * frame)
        );
        // An LSN below the frontier stops replay at the first frame.
        assert!(matches!(
            scan(&log, Rule::First(6)).stop,
            Some(Stop::Lsn {
                at: 0,
                lsn: 5,
                due: 6
            })
        ));
    }

    #[test]
    fn later_logs_continue_or_break_the_chain() {
        let mut chain = Chain::new(5);
        let named = scan(&log_of(&[5, 6]), chain.named_rule());
        chain.applied(named.last_lsn);
        // Frames 6 (a copy) and 7, 8 continue it.
        let later = scan(&log_of(&[6, 7, 8]), chain.later_rule().unwrap());
        assert_eq!(
            (later.frames, later.first_applied),
            (2, Some((log_of(&[6]).len()) as u64))
        );
        chain.after_later(&later);
        assert_eq!((chain.next_lsn(), chain.broken()), (9, false));
        // A log starting at 11 does not: 9 and 10 were lost.
        let gap = scan(&log_of(&[11]), chain.later_rule().unwrap());
        assert_eq!(gap.stop, Some(Stop::Gap { lsn: 11, due: 9 }));
        chain.after_later(&gap);
        assert_eq!(chain.later_rule(), None);
    }

    #[test]
    fn steps_give_the_same_answer_in_pieces() {
        let mut log = Vec::new();
        for l in 1..20_000u64 {
            encode(l, &Update::Intern(&[7; 100]), &mut log).unwrap();
        }
        log.truncate(log.len() - 50);
        log.extend_from_slice(&[0; 3 << 20]);
        let whole = scan(&log, Rule::First(1));
        let mut s = Scan::new(log.len() as u64, 0, Rule::First(1));
        let mut steps = 0;
        while !s
            .step(
                100_000,
                |off, b: &mut [u8]| -> Result<(), ()> {
                    b.copy_from_slice(&log[off as usize..off as usize + b.len()]);
                    Ok(())
                },
                |_, _, _| {},
            )
            .unwrap()
        {
            steps += 1;
        }
        assert!(steps > 4, "{steps} steps");
        assert_eq!(s.into_end(), whole);
    }

    #[test]
    fn names_and_roles() {
        assert_eq!(role("log-12"), Role::Log(12));
        assert_eq!(role("snap-3.meguri"), Role::Snapshot(3));
        assert_eq!(
            role("log-2.discarded-100"),
            Role::Discarded {
                log: "log-2".into(),
                offset: 100
            }
        );
        assert_eq!(role("snap-1.meguri.inspect.txt"), Role::Other);
        assert_eq!(role(".a.meguri.meguri-intent"), Role::Intent);
        let names = [
            "log-2",
            "log-10",
            "log-3",
            "log-1",
            "snap-1.meguri",
            "snap-0.meguri",
            "x",
        ];
        let later = later_logs("log-2", names);
        assert_eq!(later, [(3, "log-3".into()), (10, "log-10".into())]);
        let later: Vec<String> = later.into_iter().map(|(_, n)| n).collect();
        assert_eq!(
            leftovers(Some("snap-1.meguri"), "log-2", &later, names),
            ["log-1", "snap-0.meguri"]
        );
    }
}
