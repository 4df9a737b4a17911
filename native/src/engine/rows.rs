//! The rows a drain folds outcomes into: a partition held whole, or [`SlimRows`], which hold
//! only the columns a drain can change or reads.
//!
//! Why slim rows: a URL record is 128 bytes, and a drain of `full.meguri` holds 564k of them
//! beside its frontier. The outcome rules ([`super::outcome::apply`]) and the politeness
//! bookkeeping read and write a fixed set of columns; the others (path key, depth, discovery
//! source, URL reference, the extension columns; most of a host row) pass through a drain
//! unchanged. `meguri run` encodes those straight from its input file and drains rows of the
//! rest: 80 bytes a URL (its host key is its host row's, found by index), 24 a host.
//!
//! Invariants:
//! - [`SLIM_URL_COLUMNS`] and [`SLIM_HOST_COLUMNS`] name every column a drain reads or
//!   writes; the tests apply every kind of outcome to random rows and fail if one outside them
//!   changes. A slim row read back as a record has zeros in the other columns.
//! - Slim rows never grow: a drain over them may not discover a URL or make a host row
//!   ([`SlimRows::link_hosts`] refuses a table with a URL whose host has no row; a redirect
//!   panics). Rows stay in the order they were read, so the columns read back from the input
//!   file line up with them.

use meguri_core::error::{Error, ErrorKind, Result, Table};
use meguri_core::keys::UrlKey;
use meguri_core::partition::Partition;
use meguri_core::records::{HostRecord, UrlRecord, Values};
use meguri_core::schema::{host, url, Cell, ColumnSpec, Record};
use meguri_core::write::TableFeed;

/// The rows a drain works on, one record at a time.
pub trait DrainRows {
    /// The partition's host-key range (a redirect target outside it is not added).
    fn hostkey_range(&self) -> (u64, u64);
    /// URL rows.
    fn url_count(&self) -> usize;
    /// URL row `i`.
    fn url(&self, i: usize) -> UrlRecord;
    /// Replaces URL row `i`.
    fn set_url(&mut self, i: usize, u: &UrlRecord);
    /// Host rows.
    fn host_count(&self) -> usize;
    /// Host row `i`.
    fn host(&self, i: usize) -> HostRecord;
    /// Replaces host row `i`.
    fn set_host(&mut self, i: usize, h: &HostRecord);
    /// Appends a URL row (a redirect target), out of order until [`DrainRows::sort`].
    fn push_url(&mut self, u: UrlRecord);
    /// Appends a host row, out of order until [`DrainRows::sort`].
    fn push_host(&mut self, h: HostRecord);
    /// Puts the URL rows (when `urls`) and the host rows (when `hosts`) back in key order.
    fn sort(&mut self, urls: bool, hosts: bool);
}

impl DrainRows for Partition {
    fn hostkey_range(&self) -> (u64, u64) {
        (self.hostkey_lo, self.hostkey_hi)
    }
    fn url_count(&self) -> usize {
        self.urls.len()
    }
    fn url(&self, i: usize) -> UrlRecord {
        self.urls[i]
    }
    fn set_url(&mut self, i: usize, u: &UrlRecord) {
        self.urls[i] = *u;
    }
    fn host_count(&self) -> usize {
        self.hosts.len()
    }
    fn host(&self, i: usize) -> HostRecord {
        self.hosts[i]
    }
    fn set_host(&mut self, i: usize, h: &HostRecord) {
        self.hosts[i] = *h;
    }
    fn push_url(&mut self, u: UrlRecord) {
        self.urls.push(u);
    }
    fn push_host(&mut self, h: HostRecord) {
        self.hosts.push(h);
    }
    fn sort(&mut self, urls: bool, hosts: bool) {
        if urls {
            self.urls.sort_by_key(|u| u.key);
        }
        if hosts {
            self.hosts.sort_by_key(|h| h.host_key);
        }
    }
}

/// The URL columns a drain reads or writes: the host key (its queue), priority, and every
/// column the outcome rules set. The others pass through a drain unchanged.
pub const SLIM_URL_COLUMNS: [u64; 19] = [
    url::HOST_KEY,
    url::STATUS,
    url::PRIORITY,
    url::FIRST_SEEN,
    url::LAST_CRAWLED,
    url::LAST_CHANGED,
    url::NEXT_DUE,
    url::LAMBDA,
    url::CRAWL_COUNT,
    url::CHANGE_COUNT,
    url::NO_CHANGE_STREAK,
    url::ETAG_REF,
    url::LAST_MODIFIED,
    url::CONTENT_FP,
    url::SIMHASH,
    url::HTTP_STATUS,
    url::REDIRECT_REF,
    url::RETRY_COUNT,
    url::ERROR_COUNT,
];

/// The host columns a drain reads or writes: the key, the crawl delay and the politeness and
/// tally columns the outcome rules set.
pub const SLIM_HOST_COLUMNS: [u64; 5] = [
    host::HOST_KEY,
    host::CRAWL_DELAY,
    host::HOST_NEXT_ELIGIBLE,
    host::CRAWL_TOTAL,
    host::ERROR_TOTAL,
];

/// Whether a drain over slim rows holds column `id` of `table`.
pub fn slim_holds(table: Table, id: u64) -> bool {
    match table {
        Table::Url => SLIM_URL_COLUMNS.contains(&id),
        Table::Host => SLIM_HOST_COLUMNS.contains(&id),
    }
}

/// A URL row's [`SLIM_URL_COLUMNS`]: 80 bytes where a record takes 128 (the host key is
/// its host row's, found by index).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SlimUrl {
    /// The index of its host row.
    host: u32,
    etag_ref: u64,
    content_fp: u64,
    simhash: u64,
    redirect_ref: u64,
    priority: f32,
    first_seen: u32,
    last_crawled: u32,
    last_changed: u32,
    next_due: u32,
    lambda: f32,
    crawl_count: u32,
    change_count: u32,
    last_modified: u32,
    no_change_streak: u16,
    http_status: u16,
    error_count: u16,
    status: u8,
    retry_count: u8,
}

impl SlimUrl {
    fn of(u: &UrlRecord, host: u32) -> Self {
        SlimUrl {
            host,
            etag_ref: u.etag_ref,
            content_fp: u.content_fp,
            simhash: u.simhash,
            redirect_ref: u.redirect_ref,
            priority: u.priority,
            first_seen: u.first_seen,
            last_crawled: u.last_crawled,
            last_changed: u.last_changed,
            next_due: u.next_due,
            lambda: u.lambda,
            crawl_count: u.crawl_count,
            change_count: u.change_count,
            last_modified: u.last_modified,
            no_change_streak: u.no_change_streak,
            http_status: u.http_status,
            error_count: u.error_count,
            status: u.status,
            retry_count: u.retry_count,
        }
    }

    fn record(&self, hosts: &[SlimHost]) -> UrlRecord {
        UrlRecord {
            key: UrlKey {
                host: hosts[self.host as usize].host_key,
                path: 0,
            },
            status: self.status,
            priority: self.priority,
            first_seen: self.first_seen,
            last_crawled: self.last_crawled,
            last_changed: self.last_changed,
            next_due: self.next_due,
            lambda: self.lambda,
            crawl_count: self.crawl_count,
            change_count: self.change_count,
            no_change_streak: self.no_change_streak,
            etag_ref: self.etag_ref,
            last_modified: self.last_modified,
            content_fp: self.content_fp,
            simhash: self.simhash,
            http_status: self.http_status,
            redirect_ref: self.redirect_ref,
            retry_count: self.retry_count,
            error_count: self.error_count,
            ..UrlRecord::default()
        }
    }
}

/// A host row's [`SLIM_HOST_COLUMNS`]: 24 bytes where a record takes 120.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlimHost {
    host_key: u64,
    host_next_eligible: u32,
    crawl_total: u32,
    error_total: u32,
    crawl_delay: u16,
}

impl SlimHost {
    fn of(h: &HostRecord) -> Self {
        SlimHost {
            host_key: h.host_key,
            host_next_eligible: h.host_next_eligible,
            crawl_total: h.crawl_total,
            error_total: h.error_total,
            crawl_delay: h.crawl_delay,
        }
    }

    fn record(&self) -> HostRecord {
        HostRecord {
            host_key: self.host_key,
            host_next_eligible: self.host_next_eligible,
            crawl_total: self.crawl_total,
            error_total: self.error_total,
            crawl_delay: self.crawl_delay,
            ..HostRecord::default()
        }
    }
}

/// A partition's rows narrowed to the columns a drain holds (see the module's invariants).
#[derive(Debug, Default)]
pub struct SlimRows {
    /// Lowest owned host key.
    pub hostkey_lo: u64,
    /// Highest owned host key (inclusive).
    pub hostkey_hi: u64,
    urls: Vec<SlimUrl>,
    hosts: Vec<SlimHost>,
    /// The URL rows' host keys while the rows are filled, until [`SlimRows::link_hosts`]
    /// finds each one's host row.
    url_host_keys: Vec<u64>,
}

impl SlimRows {
    /// `urls` URL rows and `hosts` host rows of zeros, of a partition owning
    /// `hostkey_lo..=hostkey_hi`; [`SlimRows::set_column`] fills them a column at a time,
    /// then [`SlimRows::link_hosts`] makes them ready for a drain.
    pub fn zeroed(hostkey_lo: u64, hostkey_hi: u64, urls: usize, hosts: usize) -> Self {
        SlimRows {
            hostkey_lo,
            hostkey_hi,
            urls: vec![SlimUrl::default(); urls],
            hosts: vec![SlimHost::default(); hosts],
            url_host_keys: vec![0; urls],
        }
    }

    /// Rows narrowed from whole ones; `None` when a drain could not run over them
    /// ([`SlimRows::link_hosts`]).
    pub fn of(p: &Partition) -> Option<Self> {
        let mut rows = SlimRows {
            hostkey_lo: p.hostkey_lo,
            hostkey_hi: p.hostkey_hi,
            urls: p.urls.iter().map(|u| SlimUrl::of(u, 0)).collect(),
            hosts: p.hosts.iter().map(SlimHost::of).collect(),
            url_host_keys: p.urls.iter().map(|u| u.key.host).collect(),
        };
        rows.link_hosts().then_some(rows)
    }

    /// Sets held column `id` of `table` from decoded values of rows `first..`, each converted
    /// as the schema converts it into a record's field ([`Cell::from_values`]). Fails for a
    /// column these rows do not hold and for values past the table's end.
    pub fn set_column(
        &mut self,
        table: Table,
        id: u64,
        first: usize,
        values: &Values,
    ) -> Result<()> {
        let rows = match table {
            Table::Url => self.urls.len(),
            Table::Host => self.hosts.len(),
        };
        let end = first.saturating_add(values.len());
        if end > rows {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!(
                    "{} column {id} has values past its {rows} rows",
                    table.name()
                ),
            ));
        }
        let not_held = || {
            Error::new(
                ErrorKind::Invalid,
                format!(
                    "{} column {id} is not held by a drain's slim rows",
                    table.name()
                ),
            )
        };
        let v = values;
        match table {
            Table::Url => {
                let u = &mut self.urls[first..end];
                match id {
                    url::HOST_KEY => fill(&mut self.url_host_keys[first..end], v, |k| k),
                    url::STATUS => fill(u, v, |r| &mut r.status),
                    url::PRIORITY => fill(u, v, |r| &mut r.priority),
                    url::FIRST_SEEN => fill(u, v, |r| &mut r.first_seen),
                    url::LAST_CRAWLED => fill(u, v, |r| &mut r.last_crawled),
                    url::LAST_CHANGED => fill(u, v, |r| &mut r.last_changed),
                    url::NEXT_DUE => fill(u, v, |r| &mut r.next_due),
                    url::LAMBDA => fill(u, v, |r| &mut r.lambda),
                    url::CRAWL_COUNT => fill(u, v, |r| &mut r.crawl_count),
                    url::CHANGE_COUNT => fill(u, v, |r| &mut r.change_count),
                    url::NO_CHANGE_STREAK => fill(u, v, |r| &mut r.no_change_streak),
                    url::ETAG_REF => fill(u, v, |r| &mut r.etag_ref),
                    url::LAST_MODIFIED => fill(u, v, |r| &mut r.last_modified),
                    url::CONTENT_FP => fill(u, v, |r| &mut r.content_fp),
                    url::SIMHASH => fill(u, v, |r| &mut r.simhash),
                    url::HTTP_STATUS => fill(u, v, |r| &mut r.http_status),
                    url::REDIRECT_REF => fill(u, v, |r| &mut r.redirect_ref),
                    url::RETRY_COUNT => fill(u, v, |r| &mut r.retry_count),
                    url::ERROR_COUNT => fill(u, v, |r| &mut r.error_count),
                    _ => return Err(not_held()),
                }
            }
            Table::Host => {
                let h = &mut self.hosts[first..end];
                match id {
                    host::HOST_KEY => fill(h, v, |r| &mut r.host_key),
                    host::CRAWL_DELAY => fill(h, v, |r| &mut r.crawl_delay),
                    host::HOST_NEXT_ELIGIBLE => fill(h, v, |r| &mut r.host_next_eligible),
                    host::CRAWL_TOTAL => fill(h, v, |r| &mut r.crawl_total),
                    host::ERROR_TOTAL => fill(h, v, |r| &mut r.error_total),
                    _ => return Err(not_held()),
                }
            }
        }
        Ok(())
    }

    /// Finds each URL's host row, once every column is filled. `false` when some URL's host
    /// has no row (a drain would make one) or the host rows are out of key order: a drain may
    /// run over these rows only after a `true`.
    pub fn link_hosts(&mut self) -> bool {
        if !self.hosts.windows(2).all(|w| w[0].host_key < w[1].host_key)
            || self.hosts.len() > u32::MAX as usize
        {
            return false;
        }
        let mut last: Option<(u64, u32)> = None;
        for (u, &key) in self.urls.iter_mut().zip(&self.url_host_keys) {
            u.host = match last {
                Some((k, i)) if k == key => i,
                _ => match self.hosts.binary_search_by_key(&key, |h| h.host_key) {
                    Ok(i) => i as u32,
                    Err(_) => return false,
                },
            };
            last = Some((key, u.host));
        }
        self.url_host_keys = Vec::new();
        true
    }

    /// Whether URL rows `first..` are in key order with path keys `paths` (their host keys
    /// are filled, and not yet linked), given the key of the row before them in `last`
    /// (`None` at row 0), which is left at the last row's key.
    pub fn keys_in_order(&self, first: usize, paths: &Values, last: &mut Option<UrlKey>) -> bool {
        let Values::Int(paths) = paths else {
            return false;
        };
        let Some(hosts) = self.url_host_keys.get(first..first + paths.len()) else {
            return false;
        };
        hosts.iter().zip(paths).all(|(&host, &path)| {
            let key = UrlKey { host, path };
            let ok = last.is_none_or(|l| l <= key);
            *last = Some(key);
            ok
        })
    }

    /// The smallest nonzero `next_due` (the schedule wheel's base), if any row is scheduled.
    pub fn schedule_base(&self) -> Option<u32> {
        self.urls
            .iter()
            .map(|u| u.next_due)
            .filter(|&d| d != 0)
            .min()
    }

    /// A feed of `table`'s held columns for the writer; any other column is an error (the
    /// caller gives those encoded apart).
    pub fn feed(&self, table: Table) -> SlimFeed<'_> {
        SlimFeed { rows: self, table }
    }
}

/// Sets one field of every row from a column's values.
fn fill<S, T: Cell>(rows: &mut [S], values: &Values, field: impl Fn(&mut S) -> &mut T) {
    for (i, r) in rows.iter_mut().enumerate() {
        *field(r) = T::from_values(values, i);
    }
}

fn slim_panic() -> ! {
    panic!("slim rows never grow: a drain that discovers URLs or makes host rows needs a whole partition")
}

impl DrainRows for SlimRows {
    fn hostkey_range(&self) -> (u64, u64) {
        (self.hostkey_lo, self.hostkey_hi)
    }
    fn url_count(&self) -> usize {
        self.urls.len()
    }
    fn url(&self, i: usize) -> UrlRecord {
        self.urls[i].record(&self.hosts)
    }
    fn set_url(&mut self, i: usize, u: &UrlRecord) {
        // A drain never moves a URL to another host.
        self.urls[i] = SlimUrl::of(u, self.urls[i].host);
    }
    fn host_count(&self) -> usize {
        self.hosts.len()
    }
    fn host(&self, i: usize) -> HostRecord {
        self.hosts[i].record()
    }
    fn set_host(&mut self, i: usize, h: &HostRecord) {
        self.hosts[i] = SlimHost::of(h);
    }
    fn push_url(&mut self, _: UrlRecord) {
        slim_panic()
    }
    fn push_host(&mut self, _: HostRecord) {
        slim_panic()
    }
    fn sort(&mut self, urls: bool, hosts: bool) {
        if urls || hosts {
            slim_panic()
        }
    }
}

impl crate::encode::EncodeRows for SlimRows {
    fn count(&self, table: Table) -> usize {
        match table {
            Table::Url => self.urls.len(),
            Table::Host => self.hosts.len(),
        }
    }
    fn feed(&self, table: Table) -> Box<dyn TableFeed + '_> {
        Box::new(SlimRows::feed(self, table))
    }
}

/// Rows converted to records a stretch at a time, so a feed holds a few kilobytes of records,
/// never a table of them.
const FEED_STRETCH: usize = 1024;

/// One table of [`SlimRows`] as a [`TableFeed`]: the values of the held columns, through the
/// schema's own column rules ([`Record::extend_ints`]).
pub struct SlimFeed<'a> {
    rows: &'a SlimRows,
    table: Table,
}

impl SlimFeed<'_> {
    fn not_held(&self, spec: &ColumnSpec) -> Error {
        Error::new(
            ErrorKind::Invalid,
            format!(
                "{} column {} ({}) is not held by a drain's slim rows",
                self.table.name(),
                spec.id,
                spec.name
            ),
        )
    }
}

/// Appends column `id` of `rows[start..end]`, converted to `R` a stretch at a time.
fn extend_from<S, R: Record>(
    rows: &[S],
    start: usize,
    end: usize,
    id: u64,
    record: impl Fn(&S) -> R,
    out: &mut Vec<u64>,
) -> Result<()> {
    let Some(rows) = rows.get(start..end) else {
        return Err(Error::new(
            ErrorKind::Invalid,
            format!(
                "rows {start}..{end} asked of a table of {} rows",
                rows.len()
            ),
        ));
    };
    let mut stretch: Vec<R> = Vec::with_capacity(FEED_STRETCH.min(rows.len()));
    for chunk in rows.chunks(FEED_STRETCH) {
        stretch.clear();
        stretch.extend(chunk.iter().map(&record));
        R::extend_ints(&stretch, id, out)?;
    }
    Ok(())
}

impl TableFeed for SlimFeed<'_> {
    fn values(
        &mut self,
        spec: &ColumnSpec,
        start: usize,
        end: usize,
        out: &mut Vec<u64>,
    ) -> Result<()> {
        out.clear();
        if !slim_holds(self.table, spec.id) {
            return Err(self.not_held(spec));
        }
        match self.table {
            Table::Url => {
                let hosts = &self.rows.hosts;
                extend_from(
                    &self.rows.urls,
                    start,
                    end,
                    spec.id,
                    |u| u.record(hosts),
                    out,
                )
            }
            Table::Host => {
                extend_from(&self.rows.hosts, start, end, spec.id, SlimHost::record, out)
            }
        }
    }

    fn ip_bytes(&mut self, _: usize, _: usize, out: &mut Vec<u8>) -> Result<()> {
        out.clear();
        match meguri_core::schema::spec(Table::Host, host::RESOLVED_IP) {
            Some(spec) => Err(self.not_held(spec)),
            None => Err(Error::new(
                ErrorKind::Invalid,
                "the host table has no IP column",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::outcome::{apply, dispatched, Outcome};
    use meguri_core::write::RowsFeed;

    /// A small deterministic generator (xorshift64).
    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed.max(1);
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    /// Records whose every column holds a random value that fits it.
    fn random_rows(n: usize, seed: u64) -> (Vec<UrlRecord>, Vec<HostRecord>) {
        let mut next = xorshift(seed);
        let mut random = |cols: &[ColumnSpec], set: &mut dyn FnMut(u64, u64)| {
            for c in cols {
                let bits = next();
                let v = if c.width >= 8 {
                    bits
                } else {
                    bits & ((1u64 << (8 * u32::from(c.width))) - 1)
                };
                set(c.id, v);
            }
        };
        let mut urls = Vec::new();
        let mut hosts = Vec::new();
        for _ in 0..n {
            let mut u = UrlRecord::default();
            random(
                &[UrlRecord::COLUMNS, UrlRecord::EXT_COLUMNS].concat(),
                &mut |id, v| {
                    u.set(id, meguri_core::schema::Value::Int(v)).unwrap();
                },
            );
            urls.push(u);
            let mut h = HostRecord::default();
            random(
                &[HostRecord::COLUMNS, HostRecord::EXT_COLUMNS].concat(),
                &mut |id, v| {
                    let _ = h.set(id, meguri_core::schema::Value::Int(v));
                },
            );
            let k = h.host_key.to_le_bytes();
            h.resolved_ip[..8].copy_from_slice(&k);
            h.resolved_ip[8..].copy_from_slice(&k);
            hosts.push(h);
        }
        (urls, hosts)
    }

    fn outcomes() -> Vec<Outcome> {
        vec![
            Outcome::Fetched {
                http: 200,
                content_fp: 7,
                simhash: 9,
                etag: Some("\"e\"".into()),
                last_modified: Some(498_000),
            },
            Outcome::Fetched {
                http: 200,
                content_fp: 0,
                simhash: 0,
                etag: None,
                last_modified: None,
            },
            Outcome::NotModified,
            Outcome::Redirect {
                http: 301,
                target: "https://elsewhere.example/".into(),
            },
            Outcome::Gone,
            Outcome::NotFound { http: 404 },
            Outcome::ServerError {
                http: 503,
                retry_after: Some(5_000),
            },
            Outcome::TooManyRequests { retry_after: None },
            Outcome::Transport,
        ]
    }

    /// The invariant the slim rows stand on: the outcome rules and the politeness bookkeeping
    /// change no column outside the slim sets, whatever the row and the outcome. A rule that
    /// starts writing another column fails here (and the column must join the set).
    #[test]
    fn the_outcome_rules_change_no_column_outside_the_slim_sets() {
        let (urls, hosts) = random_rows(300, 11);
        let at = 498_845 * 3_600_000 + 1_234;
        for (i, (u0, h0)) in urls.iter().zip(&hosts).enumerate() {
            for (k, outcome) in outcomes().iter().enumerate() {
                for state_machine in [false, true] {
                    let (mut u, mut h) = (*u0, *h0);
                    dispatched(&mut h, at, 1_000);
                    let fx = apply(&mut u, &mut h, outcome, at, state_machine);
                    // The drain itself writes what it interns for the effects.
                    if fx.etag.is_some() {
                        u.etag_ref = u.etag_ref.wrapping_add(1);
                    }
                    if fx.redirect.is_some() {
                        u.redirect_ref = u.redirect_ref.wrapping_add(1);
                    }
                    for c in UrlRecord::COLUMNS.iter().chain(UrlRecord::EXT_COLUMNS) {
                        if !slim_holds(Table::Url, c.id) {
                            assert_eq!(u.get(c.id), u0.get(c.id), "row {i} outcome {k} {}", c.name);
                        }
                    }
                    for c in HostRecord::COLUMNS.iter().chain(HostRecord::EXT_COLUMNS) {
                        if !slim_holds(Table::Host, c.id) {
                            assert_eq!(h.get(c.id), h0.get(c.id), "row {i} outcome {k} {}", c.name);
                        }
                    }
                }
            }
        }
    }

    /// Rows filled column by column (in stretches, as a file streams them) read back as the
    /// records with zeros outside the slim sets, write back what a drain sets, and feed the
    /// writer the values rows held whole give.
    #[test]
    fn slim_rows_hold_exactly_their_columns() {
        let (mut urls, mut hosts) = random_rows(1000, 5);
        // Three URLs a host.
        for (i, u) in urls.iter_mut().enumerate() {
            u.key.host = hosts[i / 3].host_key;
        }
        urls.sort_by_key(|u| u.key);
        hosts.sort_by_key(|h| h.host_key);
        let mut slim = SlimRows::zeroed(0, u64::MAX, urls.len(), hosts.len());
        for (table, n) in [(Table::Url, urls.len()), (Table::Host, hosts.len())] {
            let cols = meguri_core::schema::columns(table);
            for c in cols.iter().filter(|c| slim_holds(table, c.id)) {
                let mut all = Vec::new();
                match table {
                    Table::Url => UrlRecord::extend_ints(&urls, c.id, &mut all).unwrap(),
                    Table::Host => HostRecord::extend_ints(&hosts, c.id, &mut all).unwrap(),
                }
                for first in (0..n).step_by(333) {
                    let end = (first + 333).min(n);
                    let part = Values::Int(all[first..end].to_vec());
                    slim.set_column(table, c.id, first, &part).unwrap();
                }
            }
            // A column it does not hold, and values past the end, are refused.
            let other = cols.iter().find(|c| !slim_holds(table, c.id)).unwrap();
            assert!(slim
                .set_column(table, other.id, 0, &Values::Int(vec![0; n]))
                .is_err());
            let held = cols.iter().find(|c| slim_holds(table, c.id)).unwrap();
            assert!(slim
                .set_column(table, held.id, n - 1, &Values::Int(vec![0; 2]))
                .is_err());
        }
        assert!(slim.link_hosts());
        for (i, u) in urls.iter().enumerate() {
            let got = slim.url(i);
            for c in UrlRecord::COLUMNS.iter().chain(UrlRecord::EXT_COLUMNS) {
                let want = if slim_holds(Table::Url, c.id) {
                    u.int(c.id)
                } else {
                    0
                };
                assert_eq!(got.int(c.id), want, "url row {i} {}", c.name);
            }
        }
        for (i, h) in hosts.iter().enumerate() {
            let got = slim.host(i);
            for c in HostRecord::COLUMNS.iter().chain(HostRecord::EXT_COLUMNS) {
                if slim_holds(Table::Host, c.id) {
                    assert_eq!(got.get(c.id), h.get(c.id), "host row {i} {}", c.name);
                } else {
                    assert_eq!(got.get(c.id), HostRecord::default().get(c.id));
                }
            }
        }
        // What a drain sets comes back.
        let mut u = slim.url(3);
        u.status = 9;
        u.lambda = 0.125;
        u.etag_ref = 77;
        slim.set_url(3, &u);
        let ints = |r: &UrlRecord| {
            UrlRecord::COLUMNS
                .iter()
                .map(|c| r.int(c.id))
                .collect::<Vec<_>>()
        };
        assert_eq!(ints(&slim.url(3)), ints(&u));
        let mut h = slim.host(2);
        h.crawl_total = h.crawl_total.wrapping_add(1);
        slim.set_host(2, &h);
        assert_eq!(slim.host(2), h);
        // The feed gives the held columns as rows held whole give them, and refuses others.
        let whole = SlimRows::of(&Partition {
            urls: (0..urls.len()).map(|i| slim.url(i)).collect(),
            hosts: (0..hosts.len()).map(|i| slim.host(i)).collect(),
            ..Partition::default()
        })
        .unwrap();
        let records: Vec<UrlRecord> = (0..urls.len()).map(|i| whole.url(i)).collect();
        for c in UrlRecord::COLUMNS {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let fed = slim.feed(Table::Url).values(c, 10, 900, &mut a);
            if slim_holds(Table::Url, c.id) {
                fed.unwrap();
                RowsFeed(&records[..]).values(c, 10, 900, &mut b).unwrap();
                assert_eq!(a, b, "{}", c.name);
            } else {
                assert!(fed.is_err(), "{}", c.name);
            }
        }
    }

    #[test]
    fn a_slim_row_stays_small() {
        assert_eq!(std::mem::size_of::<SlimUrl>(), 80);
        assert_eq!(std::mem::size_of::<SlimHost>(), 24);
    }

    #[test]
    fn slim_rows_need_a_host_row_for_every_url() {
        let (mut urls, mut hosts) = random_rows(50, 3);
        for (u, h) in urls.iter_mut().zip(&hosts) {
            u.key.host = h.host_key;
        }
        urls.sort_by_key(|u| u.key);
        hosts.sort_by_key(|h| h.host_key);
        let p = Partition {
            urls,
            hosts,
            ..Partition::default()
        };
        let slim = SlimRows::of(&p).unwrap();
        for (i, u) in p.urls.iter().enumerate() {
            assert_eq!(slim.url(i).key.host, u.key.host);
        }
        let mut fewer = p.clone();
        fewer.hosts.remove(7);
        assert!(SlimRows::of(&fewer).is_none());
        let mut unsorted = p;
        unsorted.hosts.swap(1, 2);
        assert!(SlimRows::of(&unsorted).is_none());
    }
}
