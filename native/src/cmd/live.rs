//! The commands that read a partition *directory*: `pack`, and the live forms of `stats` and
//! `schedule`. All open the store read-only: they lock nothing and create, write, truncate or
//! fsync nothing in the directory, and they see the last committed checkpoint plus the valid
//! prefix of its log.

use super::fail;
use crate::atomic::write_atomic;
use crate::encode::{encode_partition, EncodeSettings};
use crate::store::{Options, Store};
use crate::{json, CmdError, CmdResult};
use meguri_core::arena::Arena;
use meguri_core::partition::Partition;
use meguri_core::records::{status_name, HostRecord, UrlRecord, UrlStatus};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bits of the reference's default-sized seen filter, the denominator of its bits/url line.
const REFERENCE_SEEN_BITS: f64 = 11_558_400.0;

/// Opens `dir` read-only, printing recovery notes to stderr.
pub fn open_read_only(verb: &str, dir: &Path) -> Result<Store, CmdError> {
    let store = Store::open(
        dir,
        Options {
            read_only: true,
            ..Options::default()
        },
    )
    .map_err(|e| CmdError::new(format!("{verb}: {e}")))?;
    for note in &store.recovery().notes {
        eprintln!("meguri: {verb}: {note}");
    }
    Ok(store)
}

/// The live state as the reference's frontier would checkpoint it after recovery: a URL
/// that was in flight when the process stopped is scheduled again. (The reference also
/// invents host rows for scheduled URLs whose host has none; we leave host rows to their
/// owner and report such URLs instead; see docs/format.md §13.)
pub fn live_partition(store: &Store) -> Result<Partition, String> {
    let mut p = store.partition().map_err(|e| e.to_string())?;
    for u in &mut p.urls {
        if UrlStatus::from(u.status) == UrlStatus::InFlight {
            u.status = UrlStatus::Scheduled.into();
        }
    }
    Ok(p)
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
    let mut p = live_partition(&store).map_err(|e| fail("pack", dir, e))?;
    p.schedule = true;
    let bytes =
        encode_partition(&p, &EncodeSettings::default()).map_err(|e| fail("pack", dir, e))?;
    let dest = args.out.clone().unwrap_or_else(|| dir.join("pack.meguri"));
    write_atomic(&dest, &bytes).map_err(|e| fail("pack", &dest, e))?;
    let text = if args.json {
        let v = serde_json::json!({
            "data": dir.display().to_string(),
            "out": dest.display().to_string(),
            "bytes": bytes.len(),
            "urls": p.urls.len(),
            "hosts": p.hosts.len(),
            "generation": store.recovery().gen,
            "frames_replayed": store.recovery().frames,
        });
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        format!(
            "packed {} -> {} ({} bytes)\n",
            dir.display(),
            dest.display(),
            bytes.len()
        )
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("pack", dir, e))
}

/// Counters of a live directory at hour `now`.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveStats {
    /// Live URL rows.
    pub urls: usize,
    /// Host rows.
    pub hosts: usize,
    /// URLs waiting for a first fetch (discovered, scheduled or ready).
    pub pending: usize,
    /// Schedulable URLs with `next_due <= now` (0 counts).
    pub due_now: usize,
    /// Earliest `next_due` after `now` among schedulable URLs.
    pub next_due: Option<u32>,
    /// URL keys the partition knows.
    pub seen_keys: usize,
    /// Count per status value.
    pub by_status: [usize; 256],
}

impl LiveStats {
    /// Counts `urls` at hour `now`.
    pub fn of(urls: &[UrlRecord], hosts: &[HostRecord], now: u32) -> LiveStats {
        let mut s = LiveStats {
            urls: urls.len(),
            hosts: hosts.len(),
            pending: 0,
            due_now: 0,
            next_due: None,
            seen_keys: urls.len(),
            by_status: [0; 256],
        };
        for u in urls {
            s.by_status[usize::from(u.status)] += 1;
            let status = UrlStatus::from(u.status);
            if status.is_pending() {
                s.pending += 1;
            }
            if !status.is_schedulable() {
                continue;
            }
            if u.next_due <= now {
                s.due_now += 1;
            } else if s.next_due.is_none_or(|d| u.next_due < d) {
                s.next_due = Some(u.next_due);
            }
        }
        s
    }

    /// The reference's text layout.
    pub fn render(&self, name: &str) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let _ = writeln!(o, "partition {name} (live)");
        let _ = writeln!(o, "  urls           {}", self.urls);
        let _ = writeln!(o, "  hosts          {}", self.hosts);
        let _ = writeln!(o, "  pending        {}", self.pending);
        let _ = writeln!(o, "  due now        {}", self.due_now);
        if let Some(d) = self.next_due {
            let _ = writeln!(o, "  next due       hour {d}");
        }
        let _ = writeln!(o, "  seen keys      {}", self.seen_keys);
        if self.seen_keys > 0 {
            let _ = writeln!(
                o,
                "  seen bits/url  {:.2}",
                REFERENCE_SEEN_BITS / self.seen_keys as f64
            );
        }
        let _ = writeln!(o, "  by status");
        for (v, &n) in self.by_status.iter().enumerate() {
            if n > 0 {
                let _ = writeln!(o, "    {:<15} {}", status_name(v as u8), n);
            }
        }
        o
    }

    fn to_json(&self, name: &str, now: u32) -> serde_json::Value {
        let by_status: serde_json::Map<String, serde_json::Value> = self
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
            "urls": self.urls,
            "hosts": self.hosts,
            "pending": self.pending,
            "due_now": self.due_now,
            "next_due_hour": self.next_due,
            "seen_keys": self.seen_keys,
            "by_status": by_status,
        })
    }
}

/// Runs `stats` on a directory at hour `now`.
pub fn stats(dir: &Path, now: u32, as_json: bool, out: &mut dyn Write) -> CmdResult {
    let store = open_read_only("stats", dir)?;
    let p = live_partition(&store).map_err(|e| fail("stats", dir, e))?;
    let s = LiveStats::of(&p.urls, &p.hosts, now);
    let name = dir.display().to_string();
    let text = if as_json {
        let mut v = s.to_json(&name, now);
        v["generation"] = store.recovery().gen.into();
        v["frames_replayed"] = store.recovery().frames.into();
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        s.render(&name)
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("stats", dir, e))
}

/// The schedulable URLs due at or before `before` (next_due 0 included), optionally of one
/// host, ordered by (next_due, key).
pub fn due_rows(urls: &[UrlRecord], before: u32, host: Option<u64>) -> Vec<&UrlRecord> {
    let mut due: Vec<&UrlRecord> = urls
        .iter()
        .filter(|u| UrlStatus::from(u.status).is_schedulable())
        .filter(|u| u.next_due <= before)
        .filter(|u| host.is_none_or(|h| u.key.host == h))
        .collect();
    due.sort_by_key(|u| (u.next_due, u.key));
    due
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
    let p = live_partition(&store).map_err(|e| fail("schedule", dir, e))?;
    let due = due_rows(&p.urls, before, host);
    let shown = &due[..limit.map_or(due.len(), |l| l.min(due.len()))];
    let url_of = |u: &UrlRecord| {
        Arena(&p.arena)
            .get(u.url_ref)
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let text = if as_json {
        let rows: Vec<serde_json::Value> = shown
            .iter()
            .map(|u| {
                serde_json::json!({
                    "next_due": u.next_due,
                    "host_key": json::hex(u.key.host),
                    "path_key": json::hex(u.key.path),
                    "status": status_name(u.status),
                    "url": url_of(u),
                })
            })
            .collect();
        let v = serde_json::json!({
            "data": dir.display().to_string(),
            "mode": "live",
            "before": before,
            "due": due.len(),
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
        for u in shown {
            let _ = writeln!(o, "  hour {:<8}  {}", u.next_due, url_of(u));
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
        let s = LiveStats::of(&urls, &[], 10);
        assert_eq!((s.pending, s.due_now, s.next_due), (2, 2, Some(20)));
        let text = s.render("d");
        assert!(text.contains("    gone            1\n"), "{text}");
        assert!(!text.contains("ready"));
        let due = due_rows(&urls, 20, None);
        let paths: Vec<u64> = due.iter().map(|r| r.key.path).collect();
        assert_eq!(paths, [1, 2, 3]);
    }
}
