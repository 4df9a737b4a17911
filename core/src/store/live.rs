//! The counters of a partition directory's live state (snapshot plus replayed logs), as
//! `meguri stats --data DIR` prints them and the browser inspector shows them: one counting
//! rule for both (docs/format.md §13.8).

use crate::records::{status_name, UrlRecord, UrlStatus};
use alloc::string::String;
use core::fmt::Write as _;

/// Bits of the reference's default-sized seen filter, the denominator of its bits/url line.
pub const REFERENCE_SEEN_BITS: f64 = 11_558_400.0;

/// A live URL as it is counted and written: one that was in flight when the process stopped
/// is scheduled again, as the reference's frontier makes it on recovery.
pub fn live(u: &UrlRecord) -> UrlRecord {
    let mut u = *u;
    if UrlStatus::from(u.status) == UrlStatus::InFlight {
        u.status = UrlStatus::Scheduled.into();
    }
    u
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
    /// Nothing counted yet, of a directory with `hosts` host rows.
    pub fn new(hosts: usize) -> LiveStats {
        LiveStats {
            urls: 0,
            hosts,
            pending: 0,
            due_now: 0,
            next_due: None,
            seen_keys: 0,
            by_status: [0; 256],
        }
    }

    /// Counts one URL at hour `now` (pass it through [`live`] first, as the commands do).
    pub fn add(&mut self, u: &UrlRecord, now: u32) {
        let status = u.status;
        self.urls += 1;
        self.seen_keys += 1;
        self.by_status[usize::from(status)] += 1;
        if UrlStatus::from(status).is_pending() {
            self.pending += 1;
        }
        if !UrlStatus::from(status).is_schedulable() {
            return;
        }
        if u.next_due <= now {
            self.due_now += 1;
        } else if self.next_due.is_none_or(|d| u.next_due < d) {
            self.next_due = Some(u.next_due);
        }
    }

    /// Counts `urls` at hour `now`, beside `hosts` host rows.
    pub fn of(urls: &[UrlRecord], hosts: usize, now: u32) -> LiveStats {
        let mut s = LiveStats::new(hosts);
        for u in urls {
            s.add(u, now);
        }
        s
    }

    /// The reference's text layout, headed `partition <name> (live)`.
    pub fn render(&self, name: &str) -> String {
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
}
