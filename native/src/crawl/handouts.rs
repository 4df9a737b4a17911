//! The hand-out log (`meguri serve --handout-log FILE`): a JSON line for every URL handed out
//! and every lease that ends, for each change to a queue's delay, and for each crawl opened
//! (with the gates and leases it recovered). From it alone, politeness can be audited after
//! the fact: no queue served again within its delay, never more URLs of a queue in flight than
//! the request that took them allowed.
//!
//! A crawl sends its lines while it holds its lock, so they are in the order its frontier
//! changed. A writer thread formats and writes them; a request pays for a few string copies
//! and a channel send. The channel is bounded: a writer that falls behind slows requests down
//! instead of letting memory grow. The writer flushes whenever it has nothing queued, so a
//! process killed loses only the last lines, and only at the end: what a run wrote is a prefix
//! of what happened.
//!
//! Lines (`t` is the server's clock in epoch milliseconds, the one the gates use):
//!
//! ```text
//! {"ev":"start","t":T}                                 a process opened the log
//! {"crawl":C,"ev":"open","t":T,"default_delay_ms":D}   a crawl opened (at start or created)
//! {"crawl":C,"ev":"queue","queue":Q,"delay_ms":D|null,"last_handout":T|null}
//!                                                      after `open`: a gate it recovered
//! {"crawl":C,"ev":"lease","queue":Q,"url":U,"until":T} after `open`: a lease still running
//! {"crawl":C,"ev":"handout","queue":Q,"url":U,"t":T,"until":T,"max_per_queue":N,"call":K}
//! {"crawl":C,"ev":"release","queue":Q,"url":U,"t":T,"why":"put"|"expired"|"purged"}
//! {"crawl":C,"ev":"delay","queue":Q,"delay_ms":D|null} a queue's own delay changed
//! {"crawl":C,"ev":"default_delay","delay_ms":D}        the delay of queues without their own
//! {"crawl":C,"ev":"drop","queue":Q}                    a queue deleted, with its gate and URLs
//! ```
//!
//! `call` numbers the GetURLs calls of a process (one per crawl served): the URLs a queue
//! gave in one call share it. `max_per_queue` is the request's (0: no limit). A `start` line
//! means what an earlier process had in flight is known again only through the `open`,
//! `queue` and `lease` lines that follow.

use crate::engine::frontier::Millis;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;

/// Batches of lines queued for the writer at most (each batch is one locked section's).
const QUEUED_BATCHES: usize = 4096;

/// Why a lease ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// A PutURLs item updated the URL (acknowledged it, or rescheduled it).
    Put,
    /// The lease ran out; the URL is back in its queue.
    Expired,
    /// PurgeURLs removed the URL.
    Purged,
}

/// One line of the log, less the crawl id. The fields are the lines' keys, described in the
/// module documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Event {
    /// The crawl opened.
    Open { t: Millis, default_delay_ms: Millis },
    /// At open: a queue's recovered gate.
    Queue {
        queue: String,
        delay_ms: Option<Millis>,
        last_handout: Option<Millis>,
    },
    /// At open: a lease still running.
    Lease {
        queue: String,
        url: String,
        until: Millis,
    },
    /// A URL handed out.
    Handout {
        queue: String,
        url: String,
        t: Millis,
        until: Millis,
        max_per_queue: u32,
        call: u64,
    },
    /// A lease ended.
    Release {
        queue: String,
        url: String,
        t: Millis,
        why: Why,
    },
    /// A queue's own delay changed.
    Delay {
        queue: String,
        delay_ms: Option<Millis>,
    },
    /// The delay of queues without their own changed.
    DefaultDelay { delay_ms: Millis },
    /// A queue was deleted with its gate and URLs.
    Drop { queue: String },
}

#[derive(Serialize)]
struct Line<'a> {
    crawl: &'a str,
    #[serde(flatten)]
    ev: &'a Event,
}

enum Msg {
    Lines(String, Vec<Event>),
    /// Answered once everything sent before is written and flushed: whether all of it was.
    Flush(SyncSender<bool>),
}

/// A handle on the hand-out log; clones share one writer. The writer stops once every handle
/// is dropped.
#[derive(Clone)]
pub struct HandoutLog {
    tx: SyncSender<Msg>,
    calls: Arc<AtomicU64>,
    failed: Arc<AtomicBool>,
}

impl std::fmt::Debug for HandoutLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandoutLog")
            .field("failed", &self.failed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl HandoutLog {
    /// Opens `path` for appending (creating it), writes the `start` line stamped `now`, and
    /// starts the writer thread.
    pub fn open(path: &Path, now: Millis) -> std::io::Result<HandoutLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        // A line torn by a process killed while writing it gets its end here, so it stays a
        // line of its own instead of spoiling the `start` line.
        let len = file.metadata()?.len();
        let mut last = [b'\n'];
        if len > 0 {
            std::os::unix::fs::FileExt::read_exact_at(&file, &mut last, len - 1)?;
        }
        let mut w = BufWriter::with_capacity(1 << 16, file);
        if last[0] != b'\n' {
            w.write_all(b"\n")?;
        }
        writeln!(w, "{{\"ev\":\"start\",\"t\":{now}}}")?;
        w.flush()?;
        let (tx, rx) = sync_channel(QUEUED_BATCHES);
        let failed = Arc::new(AtomicBool::new(false));
        let f = failed.clone();
        let shown = path.display().to_string();
        std::thread::Builder::new()
            .name("meguri-handouts".into())
            .spawn(move || write_lines(w, &rx, &f, &shown))?;
        Ok(HandoutLog {
            tx,
            calls: Arc::new(AtomicU64::new(0)),
            failed,
        })
    }

    /// A new `call` number.
    pub fn next_call(&self) -> u64 {
        self.calls.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Queues the lines of one locked section of crawl `crawl` (waits while the writer is
    /// too far behind).
    pub fn send(&self, crawl: &str, events: Vec<Event>) {
        if !events.is_empty() {
            // The writer is gone only if its thread panicked; it then said why.
            let _ = self.tx.send(Msg::Lines(crawl.to_string(), events));
        }
    }

    /// Waits until every line sent so far is written and flushed to the file; `false` if any
    /// line could not be written.
    pub fn flush(&self) -> bool {
        let (tx, rx) = sync_channel(1);
        if self.tx.send(Msg::Flush(tx)).is_err() {
            return false;
        }
        rx.recv().unwrap_or(false) && !self.failed.load(Ordering::Relaxed)
    }
}

fn write_lines(mut w: BufWriter<File>, rx: &Receiver<Msg>, failed: &AtomicBool, path: &str) {
    let mut buf = Vec::with_capacity(512);
    let fail = |e: std::io::Error| {
        if !failed.swap(true, Ordering::Relaxed) {
            tracing::error!("hand-out log {path}: {e}; no more lines are written");
        }
    };
    loop {
        let msg = match rx.try_recv() {
            Ok(m) => m,
            Err(TryRecvError::Empty) => {
                if !failed.load(Ordering::Relaxed) {
                    if let Err(e) = w.flush() {
                        fail(e);
                    }
                }
                match rx.recv() {
                    Ok(m) => m,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        match msg {
            Msg::Lines(crawl, events) => {
                if failed.load(Ordering::Relaxed) {
                    continue;
                }
                for ev in &events {
                    buf.clear();
                    let line = Line { crawl: &crawl, ev };
                    serde_json::to_writer(&mut buf, &line).expect("plain data serializes");
                    buf.push(b'\n');
                    // Whole lines into the buffer, so it only ever writes whole lines out.
                    if let Err(e) = w.write_all(&buf) {
                        fail(e);
                        break;
                    }
                }
            }
            Msg::Flush(reply) => {
                if !failed.load(Ordering::Relaxed) {
                    if let Err(e) = w.flush() {
                        fail(e);
                    }
                }
                let _ = reply.send(!failed.load(Ordering::Relaxed));
            }
        }
    }
    if !failed.load(Ordering::Relaxed) {
        let _ = w.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_json_in_order_and_a_torn_tail_stays_a_line_of_its_own() {
        let dir = meguri_tests::Scratch::new("handouts");
        let path = dir.join("h.jsonl");
        // What a process killed in the middle of a line leaves.
        std::fs::write(
            &path,
            "{\"ev\":\"start\",\"t\":1}\n{\"crawl\":\"A\",\"ev\":\"hand",
        )
        .unwrap();
        let log = HandoutLog::open(&path, 5).unwrap();
        assert_eq!((log.next_call(), log.next_call()), (1, 2));
        log.send(
            "A",
            vec![
                Event::Handout {
                    queue: "q".into(),
                    url: "http://q/\"x\"".into(),
                    t: 7,
                    until: 9,
                    max_per_queue: 2,
                    call: 1,
                },
                Event::Release {
                    queue: "q".into(),
                    url: "http://q/\"x\"".into(),
                    t: 8,
                    why: Why::Expired,
                },
            ],
        );
        log.send(
            "B",
            vec![Event::Delay {
                queue: "r".into(),
                delay_ms: None,
            }],
        );
        assert!(log.flush());
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "{\"crawl\":\"A\",\"ev\":\"hand", "the torn line");
        assert_eq!(lines[2], "{\"ev\":\"start\",\"t\":5}");
        let v: Vec<serde_json::Value> = lines[3..]
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(v.len(), 3);
        assert_eq!(
            (
                v[0]["crawl"].as_str(),
                v[0]["ev"].as_str(),
                v[0]["url"].as_str()
            ),
            (Some("A"), Some("handout"), Some("http://q/\"x\""))
        );
        assert_eq!(
            (v[0]["until"].as_u64(), v[0]["max_per_queue"].as_u64()),
            (Some(9), Some(2))
        );
        assert_eq!(
            (v[1]["ev"].as_str(), v[1]["why"].as_str()),
            (Some("release"), Some("expired"))
        );
        assert_eq!(
            (
                v[2]["crawl"].as_str(),
                v[2]["ev"].as_str(),
                &v[2]["delay_ms"]
            ),
            (Some("B"), Some("delay"), &serde_json::Value::Null)
        );
    }
}
