//! The politeness audit of a hand-out log (`meguri serve --handout-log`, format in
//! `native/src/crawl/handouts.rs`): replays the lines and checks, for every queue,
//! - consecutive servings (GetURLs calls that took URLs from it) are at least the delay in
//!   force at the later one apart (its own delay, else its crawl's default, as the log last
//!   said);
//! - after each hand-out, no more URLs of the queue are in flight than the request allowed;
//! - no URL is handed out while in flight, and no lease expires before its end;
//! - across a restart (a `start` line): every lease still running and the last serving of
//!   every queue come back in the `lease` and `queue` lines of the crawl's `open` (lines a
//!   killed process never wrote are at the end of its run, so what the log shows did happen,
//!   and a `kill -9` loses nothing the store had taken).
//!
//! A line that does not parse is a violation, except the last line of a run (followed by a
//! `start` line or the end): a process killed while writing it.

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// What the audit saw and found.
#[derive(Debug, Default)]
pub struct Audit {
    /// `start` lines (processes).
    pub starts: u64,
    /// URLs handed out.
    pub handouts: u64,
    /// Servings: (call, queue) pairs.
    pub servings: u64,
    /// Servings checked against an earlier serving of their queue.
    pub repeat_servings: u64,
    /// Hand-outs that left their queue with exactly as many in flight as allowed.
    pub at_cap: u64,
    /// Lease ends by reason (`put`, `expired`, `purged`).
    pub releases: BTreeMap<String, u64>,
    /// Delay changes (`delay` and `default_delay` lines).
    pub delay_changes: u64,
    /// Leases recovered at `open`.
    pub recovered_leases: u64,
    /// Lines torn by a killed process.
    pub torn: u64,
    /// What broke a rule, one message each.
    pub violations: Vec<String>,
}

impl Audit {
    /// One line of counts.
    pub fn summary(&self) -> String {
        format!(
            "{} starts, {} hand-outs in {} servings ({} checked against the one before, {} reaching the in-flight cap), releases {:?}, {} delay changes, {} leases recovered, {} torn lines, {} violations",
            self.starts,
            self.handouts,
            self.servings,
            self.repeat_servings,
            self.at_cap,
            self.releases,
            self.delay_changes,
            self.recovered_leases,
            self.torn,
            self.violations.len()
        )
    }
}

/// The last serving of a queue: its time and who served it (run, call; call 0: recovered).
type Serving = (u64, u64, u64);

#[derive(Default)]
struct Queue {
    own_delay: Option<u64>,
    last: Option<Serving>,
    /// URL -> lease end.
    in_flight: HashMap<String, u64>,
}

/// What a crawl had before the last `start`, to compare with what its `open` recovers.
struct Before {
    open_t: u64,
    queues: HashMap<String, Queue>,
}

#[derive(Default)]
struct Crawl {
    default_delay: Option<u64>,
    queues: HashMap<String, Queue>,
    /// Set from `start` until the crawl's recovery lines are over.
    before: Option<Before>,
}

fn u(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Audits the text of a hand-out log.
pub fn audit(text: &str) -> Audit {
    let mut a = Audit::default();
    let mut crawls: HashMap<String, Crawl> = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            let last_of_run = lines
                .get(i + 1)
                .is_none_or(|next| next.starts_with("{\"ev\":\"start\""));
            if last_of_run {
                a.torn += 1;
            } else {
                a.violations.push(format!("line {n} is not JSON: {line:?}"));
            }
            continue;
        };
        let ev = s(&v, "ev");
        if ev == "start" {
            a.starts += 1;
            for (id, c) in crawls.iter_mut() {
                finish_recovery(id, c, &mut a);
                c.before = Some(Before {
                    open_t: u64::MAX,
                    queues: std::mem::take(&mut c.queues),
                });
                c.default_delay = None;
            }
            continue;
        }
        let crawl_id = s(&v, "crawl").to_string();
        let c = crawls.entry(crawl_id.clone()).or_default();
        if !matches!(ev, "open" | "queue" | "lease") {
            finish_recovery(&crawl_id, c, &mut a);
        }
        let queue = s(&v, "queue").to_string();
        match ev {
            "open" => {
                c.default_delay = u(&v, "default_delay_ms");
                if let Some(b) = &mut c.before {
                    b.open_t = u(&v, "t").unwrap_or(0);
                }
            }
            "queue" => {
                let q = c.queues.entry(queue).or_default();
                q.own_delay = u(&v, "delay_ms");
                q.last = u(&v, "last_handout").map(|t| (t, a.starts, 0));
            }
            "lease" => {
                a.recovered_leases += 1;
                let q = c.queues.entry(queue).or_default();
                q.in_flight
                    .insert(s(&v, "url").to_string(), u(&v, "until").unwrap_or(0));
            }
            "handout" => {
                a.handouts += 1;
                let (t, until, call) = (
                    u(&v, "t").unwrap_or(0),
                    u(&v, "until").unwrap_or(0),
                    u(&v, "call").unwrap_or(0),
                );
                let max = u(&v, "max_per_queue").unwrap_or(0);
                let url = s(&v, "url").to_string();
                let Some(default) = c.default_delay else {
                    a.violations.push(format!(
                        "line {n}: crawl {crawl_id} hands out before it opened"
                    ));
                    continue;
                };
                let q = c.queues.entry(queue.clone()).or_default();
                let me = (t, a.starts, call);
                match q.last {
                    Some((t0, run, c0)) if run == a.starts && c0 == call => {
                        if t0 != t {
                            a.violations.push(format!(
                                "line {n}: queue {crawl_id}/{queue}: one call at two times"
                            ));
                        }
                    }
                    last => {
                        a.servings += 1;
                        if let Some((t0, ..)) = last {
                            a.repeat_servings += 1;
                            let delay = q.own_delay.unwrap_or(default);
                            if t < t0.saturating_add(delay) {
                                a.violations.push(format!(
                                    "line {n}: queue {crawl_id}/{queue} served at {t}, {} ms after its serving at {t0}, within its delay of {delay} ms",
                                    t as i128 - t0 as i128
                                ));
                            }
                        }
                        q.last = Some(me);
                    }
                }
                if until <= t {
                    a.violations.push(format!(
                        "line {n}: {url} leased until {until}, not after {t}"
                    ));
                }
                if let Some(end) = q.in_flight.insert(url.clone(), until) {
                    a.violations.push(format!(
                        "line {n}: {url} handed out at {t} while in flight (leased until {end})"
                    ));
                }
                let out = q.in_flight.len() as u64;
                if max != 0 && out > max {
                    a.violations.push(format!(
                        "line {n}: queue {crawl_id}/{queue} has {out} URLs in flight, the request allowed {max}"
                    ));
                }
                if out == max {
                    a.at_cap += 1;
                }
            }
            "release" => {
                let why = s(&v, "why").to_string();
                let t = u(&v, "t").unwrap_or(0);
                let url = s(&v, "url");
                let q = c.queues.entry(queue.clone()).or_default();
                match q.in_flight.remove(url) {
                    None => a.violations.push(format!(
                        "line {n}: {url} of {crawl_id}/{queue} released ({why}) but not in flight"
                    )),
                    Some(until) if why == "expired" && t < until => a.violations.push(format!(
                        "line {n}: the lease of {url} expired at {t}, before its end {until}"
                    )),
                    Some(_) => {}
                }
                *a.releases.entry(why).or_default() += 1;
            }
            "delay" => {
                a.delay_changes += 1;
                c.queues.entry(queue).or_default().own_delay = u(&v, "delay_ms");
            }
            "default_delay" => {
                a.delay_changes += 1;
                c.default_delay = u(&v, "delay_ms");
            }
            "drop" => {
                c.queues.remove(&queue);
            }
            other => a
                .violations
                .push(format!("line {n}: unknown event {other:?}")),
        }
    }
    for (id, c) in crawls.iter_mut() {
        finish_recovery(id, c, &mut a);
    }
    a
}

/// Once a crawl's recovery lines are over: every lease it had running at its reopening and
/// its queues' last servings must have come back.
fn finish_recovery(id: &str, c: &mut Crawl, a: &mut Audit) {
    let Some(before) = c.before.take() else {
        return;
    };
    if before.open_t == u64::MAX {
        // Not reopened (yet): nothing to compare.
        c.queues = before.queues;
        return;
    }
    for (key, old) in before.queues {
        let now = c.queues.get(&key);
        for (url, until) in &old.in_flight {
            if *until <= before.open_t {
                continue;
            }
            match now.and_then(|q| q.in_flight.get(url)) {
                Some(back) if back >= until => {}
                Some(back) => a.violations.push(format!(
                    "{id}/{key}: {url} leased until {until} came back leased until {back} only"
                )),
                None => a.violations.push(format!(
                    "{id}/{key}: {url} leased until {until} lost its lease at the restart at {}",
                    before.open_t
                )),
            }
        }
        if let Some((t, ..)) = old.last {
            match now.and_then(|q| q.last) {
                Some((back, ..)) if back >= t => {}
                back => a.violations.push(format!(
                    "{id}/{key}: served at {t}, but after the restart its last serving is {back:?}"
                )),
            }
        }
    }
}
