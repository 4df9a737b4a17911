//! What a fetch's outcome does to a URL's row and its host's row: the state machine.
//!
//! Two modes, as in the reference:
//! - **State machine off** (`meguri run`'s default and the drain of `serve --offline`): every
//!   fetch marks the URL crawled, stamps the fetch hour, counts the crawl and schedules the next
//!   visit a week later. This is the mode whose rows match the reference's byte for byte.
//! - **State machine on**: the outcome decides. A fetched page (2xx) or a 304 is crawled and
//!   rescheduled by its change rate (see [`freshness`]); 410 is Gone at once; 404, 5xx, 429 and
//!   transport failures are retried with a growing back-off and become Gone after
//!   [`MAX_RETRIES`]; a redirect is crawled and its target handed back to be discovered. 429
//!   and a 503 with Retry-After also block the host until then.
//!
//! Times: rows keep epoch-hours (`last_crawled`, `next_due`, ...), hosts keep epoch-seconds for
//! politeness (`host_next_eligible`); the engine works in milliseconds and converts here.

use super::frontier::Millis;
use meguri_core::records::{HostRecord, UrlRecord};

/// URL statuses (the reference's numbering).
pub mod status {
    /// Known, not yet scheduled.
    pub const DISCOVERED: u8 = 0;
    /// Waiting for its due hour.
    pub const SCHEDULED: u8 = 1;
    /// Due and eligible.
    pub const READY: u8 = 2;
    /// Handed out, not back yet.
    pub const IN_FLIGHT: u8 = 3;
    /// Fetched.
    pub const CRAWLED: u8 = 4;
    /// Fetched before and due again.
    pub const DUE_RECRAWL: u8 = 5;
    /// Gone: not fetched again.
    pub const GONE: u8 = 6;
    /// Excluded by robots.txt.
    pub const EXCLUDED_ROBOTS: u8 = 7;
    /// Caught in a crawler trap.
    pub const TRAPPED: u8 = 8;

    /// Whether a URL in this status may be dispatched when due.
    pub fn schedulable(s: u8) -> bool {
        matches!(
            s,
            DISCOVERED | SCHEDULED | READY | IN_FLIGHT | CRAWLED | DUE_RECRAWL
        )
    }
}

/// Discovery sources (the reference's numbering).
pub mod source {
    /// A redirect target.
    pub const REDIRECT: u8 = 3;
}

/// Retries of a failing URL before it is Gone (the reference's five).
pub const MAX_RETRIES: u8 = 5;
/// Hours to the next visit when the state machine is off (the reference's week).
pub const REVISIT_HOURS: u32 = 168;

/// What a fetch returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A page (2xx): its status, content fingerprint and simhash, and validators if any.
    Fetched {
        /// HTTP status.
        http: u16,
        /// Content fingerprint.
        content_fp: u64,
        /// Simhash of the content.
        simhash: u64,
        /// The ETag, if the server sent one.
        etag: Option<String>,
        /// Last-Modified in epoch-hours, if sent.
        last_modified: Option<u32>,
    },
    /// 304: unchanged since the validators sent.
    NotModified,
    /// 301, 302, 303, 307, 308 with the target URL.
    Redirect {
        /// HTTP status.
        http: u16,
        /// Where to.
        target: String,
    },
    /// 410.
    Gone,
    /// 404 and the other 4xx (but 429): re-probed, then Gone.
    NotFound {
        /// HTTP status.
        http: u16,
    },
    /// 5xx (a 503 may carry Retry-After).
    ServerError {
        /// HTTP status.
        http: u16,
        /// The host may be asked again only after this long.
        retry_after: Option<Millis>,
    },
    /// 429: the host asks to slow down.
    TooManyRequests {
        /// The host may be asked again only after this long.
        retry_after: Option<Millis>,
    },
    /// No HTTP answer (timeout, reset, DNS): retried.
    Transport,
}

impl Outcome {
    /// The HTTP status recorded in the row (0 for a transport failure).
    pub fn http(&self) -> u16 {
        match self {
            Outcome::Fetched { http, .. }
            | Outcome::Redirect { http, .. }
            | Outcome::NotFound { http }
            | Outcome::ServerError { http, .. } => *http,
            Outcome::NotModified => 304,
            Outcome::Gone => 410,
            Outcome::TooManyRequests { .. } => 429,
            Outcome::Transport => 0,
        }
    }

    /// Whether it counts as a failed fetch in the drain's tally: no HTTP answer came back (an
    /// error status is a fetch that worked, as the reference counts them).
    pub fn failed(&self) -> bool {
        matches!(self, Outcome::Transport)
    }
}

/// What applying an outcome asks of the caller beyond the rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Effects {
    /// Intern this ETag and store its reference in the row's `etag_ref`.
    pub etag: Option<String>,
    /// Intern this redirect target, store its reference in `redirect_ref`, and discover it.
    pub redirect: Option<String>,
    /// Block the host until this time.
    pub block_host_until: Option<Millis>,
    /// Queue the URL again at this time (a retry); `None`: it leaves this drain.
    pub retry_at: Option<Millis>,
}

/// Converts milliseconds to epoch-hours (saturating).
pub fn hour_of(ms: Millis) -> u32 {
    u32::try_from(ms / 3_600_000).unwrap_or(u32::MAX)
}

/// Converts milliseconds to epoch-seconds, rounding up so a politeness deadline is never early.
pub fn secs_ceil(ms: Millis) -> u32 {
    u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX)
}

/// The back-off before retry `n` (1-based) of a failing URL: 1, 2, 4, 8 hours...
pub fn backoff(n: u8) -> Millis {
    3_600_000u64 << u32::from(n.saturating_sub(1)).min(16)
}

/// Applies the outcome of a fetch dispatched at `at` to the URL row `u` and its host `h`.
pub fn apply(
    u: &mut UrlRecord,
    h: &mut HostRecord,
    outcome: &Outcome,
    at: Millis,
    state_machine: bool,
) -> Effects {
    let hour = hour_of(at);
    h.crawl_total = h.crawl_total.saturating_add(1);
    let mut fx = Effects::default();
    if !state_machine {
        crawled(u, hour, outcome.http());
        u.next_due = hour.saturating_add(REVISIT_HOURS);
        return fx;
    }
    match outcome {
        Outcome::Fetched {
            content_fp,
            simhash,
            etag,
            last_modified,
            ..
        } => {
            let changed = u.crawl_count > 0 && u.content_fp != *content_fp;
            crawled(u, hour, outcome.http());
            u.content_fp = *content_fp;
            u.simhash = *simhash;
            if let Some(lm) = last_modified {
                u.last_modified = *lm;
            }
            fx.etag.clone_from(etag);
            freshness::observe(u, hour, changed);
        }
        Outcome::NotModified => {
            crawled(u, hour, 304);
            freshness::observe(u, hour, false);
        }
        Outcome::Redirect { http, target } => {
            crawled(u, hour, *http);
            freshness::observe(u, hour, false);
            fx.redirect = Some(target.clone());
        }
        Outcome::Gone => {
            failed(u, h, hour, 410);
            u.status = status::GONE;
            u.next_due = 0;
        }
        Outcome::NotFound { http } => retry(u, h, hour, at, *http, &mut fx),
        Outcome::ServerError { http, retry_after } => {
            retry(u, h, hour, at, *http, &mut fx);
            fx.block_host_until = retry_after.map(|d| at.saturating_add(d));
        }
        Outcome::TooManyRequests { retry_after } => {
            retry(u, h, hour, at, 429, &mut fx);
            // Without Retry-After, the host rests for the URL's back-off.
            let rest = retry_after.unwrap_or_else(|| backoff(u.retry_count));
            fx.block_host_until = Some(at.saturating_add(rest));
        }
        Outcome::Transport => retry(u, h, hour, at, 0, &mut fx),
    }
    fx
}

/// The fields every successful fetch sets.
fn crawled(u: &mut UrlRecord, hour: u32, http: u16) {
    u.status = status::CRAWLED;
    if u.first_seen == 0 {
        u.first_seen = hour;
    }
    u.last_crawled = hour;
    u.crawl_count = u.crawl_count.saturating_add(1);
    u.http_status = http;
    u.retry_count = 0;
}

fn failed(u: &mut UrlRecord, h: &mut HostRecord, hour: u32, http: u16) {
    if u.first_seen == 0 {
        u.first_seen = hour;
    }
    u.http_status = http;
    u.retry_count = u.retry_count.saturating_add(1);
    u.error_count = u.error_count.saturating_add(1);
    h.error_total = h.error_total.saturating_add(1);
}

/// A failure worth another try: back off, or give up as Gone after [`MAX_RETRIES`].
fn retry(
    u: &mut UrlRecord,
    h: &mut HostRecord,
    hour: u32,
    at: Millis,
    http: u16,
    fx: &mut Effects,
) {
    failed(u, h, hour, http);
    if u.retry_count >= MAX_RETRIES {
        u.status = status::GONE;
        return;
    }
    let when = at.saturating_add(backoff(u.retry_count));
    u.status = status::SCHEDULED;
    u.next_due = hour_of(when);
    fx.retry_at = Some(when);
}

/// Change-rate scheduling: each URL's changes per hour (`lambda`) are estimated from what its
/// crawls saw, and the next visit comes when a change is about even odds.
///
/// The estimate is the changes seen over the hours watched, with one change per week as a prior
/// (so a URL seen once is neither frozen nor hot): `lambda = (changes + 1) / (hours + 168)`.
/// The next visit is `ln 2 / lambda` hours later (the median wait for a change of a Poisson
/// process), kept between one hour and 90 days.
pub mod freshness {
    use super::*;

    /// The shortest wait between two visits, in hours.
    pub const MIN_HOURS: u32 = 1;
    /// The longest, in hours (90 days).
    pub const MAX_HOURS: u32 = 90 * 24;

    /// Records a crawl at `hour` that did or did not see a change, updates `lambda` and sets
    /// `next_due`.
    pub fn observe(u: &mut UrlRecord, hour: u32, changed: bool) {
        if changed {
            u.change_count = u.change_count.saturating_add(1);
            u.last_changed = hour;
            u.no_change_streak = 0;
        } else if u.crawl_count > 1 {
            u.no_change_streak = u.no_change_streak.saturating_add(1);
        }
        let watched = f64::from(hour.saturating_sub(u.first_seen));
        let lambda = (f64::from(u.change_count) + 1.0) / (watched + 168.0);
        u.lambda = lambda as f32;
        let wait = (core::f64::consts::LN_2 / lambda).round();
        let wait = (wait as u32).clamp(MIN_HOURS, MAX_HOURS);
        u.next_due = hour.saturating_add(wait);
    }
}

/// Politeness bookkeeping on the host row: the host may next be fetched a crawl delay after
/// this dispatch.
pub fn dispatched(h: &mut HostRecord, at: Millis, delay: Millis) {
    h.host_next_eligible = secs_ceil(at.saturating_add(delay));
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Millis = 3_600_000;

    #[test]
    fn without_the_state_machine_every_fetch_is_a_crawl_a_week_away() {
        let mut u = UrlRecord {
            status: status::SCHEDULED,
            ..Default::default()
        };
        let mut h = HostRecord::default();
        apply(&mut u, &mut h, &Outcome::Gone, 498_677 * H + 5, false);
        assert_eq!(
            (
                u.status,
                u.first_seen,
                u.last_crawled,
                u.next_due,
                u.crawl_count,
                u.http_status
            ),
            (status::CRAWLED, 498_677, 498_677, 498_845, 1, 410)
        );
        assert_eq!(h.crawl_total, 1);
    }

    #[test]
    fn failures_back_off_then_become_gone() {
        let mut u = UrlRecord::default();
        let mut h = HostRecord::default();
        let mut at = 1000 * H;
        for n in 1..MAX_RETRIES {
            let fx = apply(&mut u, &mut h, &Outcome::NotFound { http: 404 }, at, true);
            assert_eq!(u.status, status::SCHEDULED);
            assert_eq!(u.retry_count, n);
            let next = fx.retry_at.expect("retried");
            assert_eq!(next - at, backoff(n));
            at = next;
        }
        let fx = apply(
            &mut u,
            &mut h,
            &Outcome::ServerError {
                http: 503,
                retry_after: None,
            },
            at,
            true,
        );
        assert_eq!((u.status, fx.retry_at), (status::GONE, None));
        assert_eq!((u.error_count, h.error_total), (5, 5));
        let mut g = UrlRecord::default();
        apply(&mut g, &mut h, &Outcome::Gone, at, true);
        assert_eq!((g.status, g.retry_count, g.next_due), (status::GONE, 1, 0));
    }

    #[test]
    fn a_success_resets_retries_and_changes_speed_up_visits() {
        let mut u = UrlRecord::default();
        let mut h = HostRecord::default();
        let page = |fp| Outcome::Fetched {
            http: 200,
            content_fp: fp,
            simhash: 0,
            etag: Some("v1".into()),
            last_modified: None,
        };
        apply(&mut u, &mut h, &Outcome::Transport, 10 * H, true);
        let fx = apply(&mut u, &mut h, &page(1), 11 * H, true);
        assert_eq!(
            (u.status, u.retry_count, fx.etag.as_deref()),
            (status::CRAWLED, 0, Some("v1"))
        );
        let quiet = u.next_due - u.last_crawled;
        apply(&mut u, &mut h, &page(2), 20 * H, true);
        assert_eq!(u.change_count, 1);
        let busier = u.next_due - u.last_crawled;
        assert!(busier < quiet, "{busier} !< {quiet}");
        assert!((freshness::MIN_HOURS..=freshness::MAX_HOURS).contains(&busier));
    }

    #[test]
    fn too_many_requests_blocks_the_host() {
        let mut u = UrlRecord::default();
        let mut h = HostRecord::default();
        let fx = apply(
            &mut u,
            &mut h,
            &Outcome::TooManyRequests {
                retry_after: Some(120_000),
            },
            H,
            true,
        );
        assert_eq!(fx.block_host_until, Some(H + 120_000));
        assert!(fx.retry_at.is_some());
    }
}
