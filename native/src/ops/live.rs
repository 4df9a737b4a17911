//! The operations on a partition *directory*: `pack`, and the live forms of `stats` and
//! `schedule`. All open the store read-only: they lock nothing and create, write, truncate or
//! fsync nothing in the directory, and see the last committed checkpoint plus the valid prefix
//! of its log. What recovery noticed on the way (a torn tail, say) goes to the caller's
//! [`Progress`] as notes.

use super::{display_path, Error, Op, Progress, Refusal, Result};
use crate::encode::EncodeSettings;
use crate::store::{ExportOptions, Options, Store, StoreError};
use meguri_core::keys::UrlKey;
use meguri_core::records::{status_name, UrlRecord, UrlStatus};
use meguri_core::report::Hex;
pub use meguri_core::store::live::{live, LiveStats};
use serde::Serialize;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;
use std::path::{Path, PathBuf};

/// A store error of `op` on the directory `dir`.
fn store_err(op: Op, dir: &Path) -> impl Fn(StoreError) -> Error + '_ {
    move |source| Error::Store {
        op,
        path: Some(dir.to_path_buf()),
        source: Box::new(source),
    }
}

/// Opens `dir` read-only for `op`, telling `progress` what recovery noticed.
pub fn open_read_only(op: Op, dir: &Path, progress: &mut dyn Progress) -> Result<Store> {
    let store = Store::open(
        dir,
        Options {
            read_only: true,
            ..Options::default()
        },
    )
    .map_err(|source| Error::Store {
        op,
        path: None,
        source: Box::new(source),
    })?;
    for event in &store.recovery().events {
        progress.note(op, &event.to_string());
    }
    Ok(store)
}

/// What to pack.
#[derive(Debug, Clone)]
pub struct PackOptions {
    /// The partition directory.
    pub dir: PathBuf,
    /// The output (default `DIR/pack.meguri`); written atomically.
    pub out: Option<PathBuf>,
}

/// What `pack` wrote.
///
/// JSON: `{data, out, bytes, urls, hosts, generation, frames_replayed}`.
#[derive(Debug, Clone, Serialize)]
pub struct PackReport {
    /// The directory.
    #[serde(serialize_with = "display_path")]
    pub data: PathBuf,
    /// The file written.
    #[serde(serialize_with = "display_path")]
    pub out: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// URL rows.
    pub urls: u64,
    /// Host rows.
    pub hosts: u64,
    /// The checkpoint generation opened.
    pub generation: u64,
    /// Log frames replayed over it.
    pub frames_replayed: u64,
}

impl fmt::Display for PackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "packed {} -> {} ({} bytes)",
            self.data.display(),
            self.out.display(),
            self.bytes
        )
    }
}

/// Writes the directory's live state as one standalone `.meguri` file with a schedule region,
/// streaming rows through the writer in key order.
pub fn pack(opts: &PackOptions, progress: &mut dyn Progress) -> Result<PackReport> {
    let dir = &opts.dir;
    if !dir.is_dir() {
        return Err(Error::Refused {
            op: Op::Pack,
            path: None,
            refusal: Refusal::NotADirectory { path: dir.clone() },
        });
    }
    let store = open_read_only(Op::Pack, dir, progress)?;
    let dest = opts.out.clone().unwrap_or_else(|| dir.join("pack.meguri"));
    let w = store
        .export(
            &dest,
            &ExportOptions {
                schedule: true,
                in_flight_to_scheduled: true,
                encode: EncodeSettings::default(),
            },
        )
        .map_err(store_err(Op::Pack, dir))?;
    Ok(PackReport {
        data: dir.clone(),
        out: dest,
        bytes: w.bytes,
        urls: w.urls,
        hosts: w.hosts,
        generation: store.recovery().gen,
        frames_replayed: store.recovery().frames,
    })
}

/// Which directory, at which hour.
#[derive(Debug, Clone)]
pub struct LiveStatsOptions {
    /// The partition directory.
    pub dir: PathBuf,
    /// The hour "due now" is counted at (the caller's clock).
    pub now: u32,
}

/// A directory's live counters.
///
/// JSON: `{data, mode: "live", now_hour, urls, hosts, pending, due_now, next_due_hour,
/// seen_keys, by_status{name: count}, generation, frames_replayed}`.
#[derive(Debug, Clone)]
pub struct LiveStatsReport {
    /// The directory.
    pub dir: PathBuf,
    /// The hour counted at.
    pub now: u32,
    /// The counters.
    pub stats: LiveStats,
    /// The checkpoint generation opened.
    pub generation: u64,
    /// Log frames replayed over it.
    pub frames_replayed: u64,
}

impl fmt::Display for LiveStatsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stats.render(&self.dir.display().to_string()))
    }
}

impl Serialize for LiveStatsReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(serialize_with = "display_path")]
            data: &'a Path,
            mode: &'static str,
            now_hour: u32,
            urls: u64,
            hosts: u64,
            pending: u64,
            due_now: u64,
            next_due_hour: Option<u32>,
            seen_keys: u64,
            by_status: BTreeMap<String, u64>,
            generation: u64,
            frames_replayed: u64,
        }
        let st = &self.stats;
        Out {
            data: &self.dir,
            mode: "live",
            now_hour: self.now,
            urls: st.urls as u64,
            hosts: st.hosts as u64,
            pending: st.pending as u64,
            due_now: st.due_now as u64,
            next_due_hour: st.next_due,
            seen_keys: st.seen_keys as u64,
            by_status: st
                .by_status
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(v, &n)| (status_name(v as u8).into_owned(), n as u64))
                .collect(),
            generation: self.generation,
            frames_replayed: self.frames_replayed,
        }
        .serialize(s)
    }
}

/// Counts a directory's live rows at hour `opts.now`.
pub fn live_stats(opts: &LiveStatsOptions, progress: &mut dyn Progress) -> Result<LiveStatsReport> {
    let dir = &opts.dir;
    let store = open_read_only(Op::Stats, dir, progress)?;
    let mut s = LiveStats::new(store.host_count());
    store
        .scan_urls(.., |u| {
            s.add(&live(u), opts.now);
            true
        })
        .map_err(store_err(Op::Stats, dir))?;
    Ok(LiveStatsReport {
        dir: dir.clone(),
        now: opts.now,
        stats: s,
        generation: store.recovery().gen,
        frames_replayed: store.recovery().frames,
    })
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

/// Which directory's due URLs.
#[derive(Debug, Clone)]
pub struct LiveScheduleOptions {
    /// The partition directory.
    pub dir: PathBuf,
    /// Rows with next_due at or before this hour (0 included) are due.
    pub before: u32,
    /// Only this host key.
    pub host: Option<u64>,
    /// List at most this many (all are counted).
    pub limit: Option<usize>,
}

/// One due URL.
#[derive(Debug, Clone, Serialize)]
pub struct DueUrl {
    /// Its next_due hour.
    pub next_due: u32,
    /// Its host key.
    pub host_key: Hex,
    /// Its path key.
    pub path_key: Hex,
    /// Its status's name.
    pub status: String,
    /// The URL.
    pub url: String,
}

/// A directory's due URLs.
///
/// JSON: `{data, mode: "live", before, due, listed[{next_due, host_key, path_key, status,
/// url}]}`.
#[derive(Debug, Clone, Serialize)]
pub struct LiveScheduleReport {
    /// The directory.
    #[serde(serialize_with = "display_path")]
    pub data: PathBuf,
    /// Always `"live"`.
    pub mode: &'static str,
    /// The horizon.
    pub before: u32,
    /// URLs due in all.
    pub due: usize,
    /// The first of them, in (next_due, key) order.
    pub listed: Vec<DueUrl>,
}

impl fmt::Display for LiveScheduleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "schedule {} (live) due at or before hour {}: {} shown",
            self.data.display(),
            self.before,
            self.listed.len()
        )?;
        for u in &self.listed {
            writeln!(f, "  hour {:<8}  {}", u.next_due, u.url)?;
        }
        Ok(())
    }
}

/// Lists a directory's URLs due at or before `opts.before`.
pub fn live_schedule(
    opts: &LiveScheduleOptions,
    progress: &mut dyn Progress,
) -> Result<LiveScheduleReport> {
    let dir = &opts.dir;
    let store = open_read_only(Op::Schedule, dir, progress)?;
    let mut list = DueList::new(opts.before, opts.limit);
    let range = match opts.host {
        Some(h) => {
            UrlKey { host: h, path: 0 }..=UrlKey {
                host: h,
                path: u64::MAX,
            }
        }
        None => {
            UrlKey { host: 0, path: 0 }..=UrlKey {
                host: u64::MAX,
                path: u64::MAX,
            }
        }
    };
    store
        .scan_urls(range, |u| {
            list.add(&live(u));
            true
        })
        .map_err(store_err(Op::Schedule, dir))?;
    let due = list.due();
    let listed = list
        .into_rows()
        .into_iter()
        .map(|(next_due, key, url_ref, status)| DueUrl {
            next_due,
            host_key: Hex(key.host),
            path_key: Hex(key.path),
            status: status_name(status).into_owned(),
            url: store
                .string(url_ref)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default(),
        })
        .collect();
    Ok(LiveScheduleReport {
        data: dir.clone(),
        mode: "live",
        before: opts.before,
        due,
        listed,
    })
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
