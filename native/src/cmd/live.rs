//! The commands that read a partition *directory*: `pack`, and the live forms of `stats` and
//! `schedule`. All open the store read-only: they lock nothing and create, write, truncate or
//! fsync nothing in the directory, and they see the last committed checkpoint plus the valid
//! prefix of its log.

use super::fail;
use crate::encode::EncodeSettings;
use crate::store::{ExportOptions, Options, Store};
use crate::{json, CmdError, CmdResult};
use meguri_core::keys::UrlKey;
use meguri_core::records::{status_name, UrlRecord, UrlStatus};
pub use meguri_core::store::live::{live, LiveStats};
use std::collections::BinaryHeap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Opens `dir` read-only, printing recovery events to stderr.
pub fn open_read_only(verb: &str, dir: &Path) -> Result<Store, CmdError> {
    let store = Store::open(
        dir,
        Options {
            read_only: true,
            ..Options::default()
        },
    )
    .map_err(|e| CmdError::new(format!("{verb}: {e}")))?;
    for event in &store.recovery().events {
        eprintln!("meguri: {verb}: {event}");
    }
    Ok(store)
}

/// Options of `pack`.
#[derive(Debug, Clone, clap::Args)]
pub struct PackArgs {
    /// The partition directory.
    #[arg(long)]
    pub data: PathBuf,
    /// Output file (default `DIR/pack.meguri`); written atomically, never over an input.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Print a JSON summary instead of the line.
    #[arg(long)]
    pub json: bool,
}

/// Runs `pack`: the live state as one standalone `.meguri` file with a schedule region.
pub fn pack(args: &PackArgs, out: &mut dyn Write) -> CmdResult {
    let dir = &args.data;
    if !dir.is_dir() {
        return Err(CmdError::new(format!(
            "pack: --data {} is not a partition directory",
            dir.display()
        )));
    }
    let store = open_read_only("pack", dir)?;
    let dest = args.out.clone().unwrap_or_else(|| dir.join("pack.meguri"));
    // Streamed: rows go through the writer in key order, never all in memory at once.
    let w = store
        .export(
            &dest,
            &ExportOptions {
                schedule: true,
                in_flight_to_scheduled: true,
                encode: EncodeSettings::default(),
            },
        )
        .map_err(|e| fail("pack", dir, e))?;
    let text = if args.json {
        let v = serde_json::json!({
            "data": dir.display().to_string(),
            "out": dest.display().to_string(),
            "bytes": w.bytes,
            "urls": w.urls,
            "hosts": w.hosts,
            "generation": store.recovery().gen,
            "frames_replayed": store.recovery().frames,
        });
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        format!(
            "packed {} -> {} ({} bytes)\n",
            dir.display(),
            dest.display(),
            w.bytes
        )
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("pack", dir, e))
}

/// The JSON of live counters (the `stats --data --json` schema).
fn stats_json(s: &LiveStats, name: &str, now: u32) -> serde_json::Value {
    let by_status: serde_json::Map<String, serde_json::Value> = s
        .by_status
        .iter()
        .enumerate()
        .filter(|(_, &n)| n > 0)
        .map(|(v, &n)| (status_name(v as u8).into_owned(), n.into()))
        .collect();
    serde_json::json!({
        "data": name,
        "mode": "live",
        "now_hour": now,
        "urls": s.urls,
        "hosts": s.hosts,
        "pending": s.pending,
        "due_now": s.due_now,
        "next_due_hour": s.next_due,
        "seen_keys": s.seen_keys,
        "by_status": by_status,
    })
}

/// Runs `stats` on a directory at hour `now`.
pub fn stats(dir: &Path, now: u32, as_json: bool, out: &mut dyn Write) -> CmdResult {
    let store = open_read_only("stats", dir)?;
    let mut s = LiveStats::new(store.host_count());
    store
        .scan_urls(.., |u| {
            s.add(&live(u), now);
            true
        })
        .map_err(|e| fail("stats", dir, e))?;
    let name = dir.display().to_string();
    let text = if as_json {
        let mut v = stats_json(&s, &name, now);
        v["generation"] = store.recovery().gen.into();
        v["frames_replayed"] = store.recovery().frames.into();
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        s.render(&name)
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("stats", dir, e))
}

/// The schedulable URLs due at or before a given hour (next_due 0 included), ordered by
/// (next_due, key), gathered from a stream of rows: all of them are counted, and only the
/// first `limit` (in that order) are kept.
pub struct DueList {
    before: u32,
    limit: Option<usize>,
    due: usize,
    /// A max-heap of the kept rows, so the last in order is dropped first.
    kept: BinaryHeap<(u32, UrlKey, u64, u8)>,
}

impl DueList {
    /// An empty list of rows due at or before `before`, keeping at most `limit`.
    pub fn new(before: u32, limit: Option<usize>) -> DueList {
        DueList {
            before,
            limit,
            due: 0,
            kept: BinaryHeap::new(),
        }
    }

    /// Considers one URL.
    pub fn add(&mut self, u: &UrlRecord) {
        let status = u.status;
        if !UrlStatus::from(status).is_schedulable() || u.next_due > self.before {
            return;
        }
        self.due += 1;
        if self.limit == Some(0) {
            return;
        }
        self.kept.push((u.next_due, u.key, u.url_ref, status));
        if self.limit.is_some_and(|l| self.kept.len() > l) {
            self.kept.pop();
        }
    }

    /// Rows due in all.
    pub fn due(&self) -> usize {
        self.due
    }

    /// The kept rows, in (next_due, key) order: next_due, key, URL reference, status.
    pub fn into_rows(self) -> Vec<(u32, UrlKey, u64, u8)> {
        self.kept.into_sorted_vec()
    }
}

/// Runs `schedule` on a directory.
pub fn schedule(
    dir: &Path,
    before: u32,
    host: Option<u64>,
    limit: Option<usize>,
    as_json: bool,
    out: &mut dyn Write,
) -> CmdResult {
    let store = open_read_only("schedule", dir)?;
    let mut list = DueList::new(before, limit);
    let scanned = match host {
        Some(h) => store.scan_urls(
            UrlKey { host: h, path: 0 }..=UrlKey {
                host: h,
                path: u64::MAX,
            },
            |u| {
                list.add(&live(u));
                true
            },
        ),
        None => store.scan_urls(.., |u| {
            list.add(&live(u));
            true
        }),
    };
    scanned.map_err(|e| fail("schedule", dir, e))?;
    let due = list.due();
    let shown = list.into_rows();
    let url_of = |r: u64| {
        store
            .string(r)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    let text = if as_json {
        let rows: Vec<serde_json::Value> = shown
            .iter()
            .map(|(next_due, key, url_ref, status)| {
                serde_json::json!({
                    "next_due": next_due,
                    "host_key": json::hex(key.host),
                    "path_key": json::hex(key.path),
                    "status": status_name(*status),
                    "url": url_of(*url_ref),
                })
            })
            .collect();
        let v = serde_json::json!({
            "data": dir.display().to_string(),
            "mode": "live",
            "before": before,
            "due": due,
            "listed": rows,
        });
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        use std::fmt::Write as _;
        let mut o = format!(
            "schedule {} (live) due at or before hour {before}: {} shown\n",
            dir.display(),
            shown.len()
        );
        for (next_due, _, url_ref, _) in &shown {
            let _ = writeln!(o, "  hour {:<8}  {}", next_due, url_of(*url_ref));
        }
        o
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("schedule", dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meguri_core::keys::UrlKey;

    fn u(path: u64, status: u8, next_due: u32) -> UrlRecord {
        UrlRecord {
            key: UrlKey { host: 1, path },
            status,
            next_due,
            ..UrlRecord::default()
        }
    }

    #[test]
    fn counts_follow_the_documented_rules() {
        let urls = [
            u(1, 0, 0),
            u(2, 1, 10),
            u(3, 4, 20),
            u(4, 6, 5),
            u(5, 3, 5),
            u(6, 5, 30),
        ];
        let s = LiveStats::of(&urls, 0, 10);
        assert_eq!((s.pending, s.due_now, s.next_due), (2, 2, Some(20)));
        let text = s.render("d");
        assert!(text.contains("    gone            1\n"), "{text}");
        assert!(!text.contains("ready"));
        let mut due = DueList::new(20, None);
        for u in &urls {
            due.add(u);
        }
        let paths: Vec<u64> = due.into_rows().iter().map(|r| r.1.path).collect();
        assert_eq!(paths, [1, 2, 3]);
        let mut two = DueList::new(20, Some(2));
        for u in urls.iter().rev() {
            two.add(u);
        }
        assert_eq!(two.due(), 3);
        let paths: Vec<u64> = two.into_rows().iter().map(|r| r.1.path).collect();
        assert_eq!(paths, [1, 2]);
    }
}
