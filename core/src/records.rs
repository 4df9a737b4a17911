//! Typed rows of the two tables and the enumerations they use.

use crate::keys::UrlKey;

/// A URL's crawl state.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct UrlRecord {
    /// The URL's key (host key and path key).
    pub key: UrlKey,
    /// [`status_name`] gives the name.
    pub status: u8,
    /// Crawl priority.
    pub priority: f32,
    /// Link depth from a seed.
    pub depth: u16,
    /// How the URL was found ([`source_name`]).
    pub discovery_source: u8,
    /// Arena offset of the URL string.
    pub url_ref: u64,
    /// Epoch-hours first seen.
    pub first_seen: u32,
    /// Epoch-hours of the last crawl.
    pub last_crawled: u32,
    /// Epoch-hours of the last observed change.
    pub last_changed: u32,
    /// Epoch-hours when the URL is next due (0 = not scheduled).
    pub next_due: u32,
    /// Estimated change rate per hour.
    pub lambda: f32,
    /// Crawls so far.
    pub crawl_count: u32,
    /// Changes observed.
    pub change_count: u32,
    /// Consecutive crawls without change.
    pub no_change_streak: u16,
    /// Arena offset of the ETag (0 = none).
    pub etag_ref: u64,
    /// Last-Modified in epoch-hours (0 = none).
    pub last_modified: u32,
    /// Content fingerprint.
    pub content_fp: u64,
    /// Simhash of the content.
    pub simhash: u64,
    /// Last HTTP status.
    pub http_status: u16,
    /// Arena offset of the redirect target (0 = none).
    pub redirect_ref: u64,
    /// Retries of the current failure.
    pub retry_count: u8,
    /// Errors so far.
    pub error_count: u16,
}

/// A host's crawl state.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HostRecord {
    /// Host key.
    pub host_key: u64,
    /// Arena offset of the host string.
    pub host_ref: u64,
    /// 0 registrable domain, 1 full host.
    pub grouping: u8,
    /// Arena offset of the registrable domain.
    pub registrable_ref: u64,
    /// Resolved IP (IPv4-mapped IPv6).
    pub resolved_ip: [u8; 16],
    /// Epoch-hours the IP expires.
    pub ip_expiry: u32,
    /// Epoch-hours robots.txt was fetched.
    pub robots_fetched: u32,
    /// Epoch-hours robots.txt expires.
    pub robots_expiry: u32,
    /// Arena offset of the packed robots blob.
    pub robots_ref: u64,
    /// Crawl delay in deciseconds.
    pub crawl_delay: u16,
    /// Epoch-seconds the host may next be fetched.
    pub host_next_eligible: u32,
    /// Epoch-seconds the IP may next be fetched.
    pub ip_next_eligible: u32,
    /// URL budget.
    pub url_budget: u32,
    /// URLs known for the host.
    pub url_count: u32,
    /// Depth cap.
    pub depth_cap: u16,
    /// Host score.
    pub host_score: f32,
    /// Crawls so far.
    pub crawl_total: u32,
    /// Errors so far.
    pub error_total: u32,
    /// Average latency (ms).
    pub avg_latency: u16,
    /// Flag bits ([`HOST_FLAG_NAMES`]).
    pub flags: u16,
}

/// URL status names, by value.
pub const STATUS_NAMES: [&str; 9] = [
    "discovered",
    "scheduled",
    "ready",
    "in_flight",
    "crawled",
    "due_recrawl",
    "gone",
    "excluded_robots",
    "trapped",
];

/// Status value of a Gone tombstone.
pub const STATUS_GONE: u8 = 6;

/// Name of a URL status (`status(<n>)` for unknown values).
pub fn status_name(s: u8) -> alloc::borrow::Cow<'static, str> {
    match STATUS_NAMES.get(s as usize) {
        Some(n) => alloc::borrow::Cow::Borrowed(n),
        None => alloc::borrow::Cow::Owned(alloc::format!("status({s})")),
    }
}

/// Discovery-source names, by value.
pub const SOURCE_NAMES: [&str; 5] = ["seed", "link", "sitemap", "redirect", "manual"];

/// Name of a discovery source (`source(<n>)` for unknown values).
pub fn source_name(s: u8) -> alloc::borrow::Cow<'static, str> {
    match SOURCE_NAMES.get(s as usize) {
        Some(n) => alloc::borrow::Cow::Borrowed(n),
        None => alloc::borrow::Cow::Owned(alloc::format!("source({s})")),
    }
}

/// Host flag bits and their names.
pub const HOST_FLAG_NAMES: [(u16, &str); 4] = [
    (0x1, "trap-suspect"),
    (0x2, "robots-missing"),
    (0x4, "dead-host"),
    (0x8, "grouping-override"),
];

/// Decoded values of one column, as integers or as 16-byte blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    /// 1-, 2-, 4- or 8-byte values widened to u64 (floats as bit patterns).
    Int(alloc::vec::Vec<u64>),
    /// 16-byte values.
    Wide(alloc::vec::Vec<[u8; 16]>),
}

impl Values {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Int(v) => v.len(),
            Values::Wide(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as an integer (0 for wide columns).
    pub fn int(&self, i: usize) -> u64 {
        match self {
            Values::Int(v) => v[i],
            Values::Wide(_) => 0,
        }
    }

    /// Value `i` as 16 bytes (the integer's LE bytes, zero-padded, for integer columns).
    pub fn wide(&self, i: usize) -> [u8; 16] {
        match self {
            Values::Wide(v) => v[i],
            Values::Int(v) => {
                let mut a = [0u8; 16];
                a[..8].copy_from_slice(&v[i].to_le_bytes());
                a
            }
        }
    }

    /// The integer values (empty for wide columns).
    pub fn as_ints(&self) -> &[u64] {
        match self {
            Values::Int(v) => v,
            Values::Wide(_) => &[],
        }
    }
}

/// Builds URL rows `0..n` from the 23 URL columns (indexed by column id). The caller has
/// checked that every column holds at least `n` values.
pub fn build_url_rows(cols: &[Values], n: usize) -> alloc::vec::Vec<UrlRecord> {
    let c = |id: usize, i: usize| cols[id].int(i);
    (0..n)
        .map(|i| UrlRecord {
            key: UrlKey {
                host: c(0, i),
                path: c(1, i),
            },
            status: c(2, i) as u8,
            priority: f32::from_bits(c(3, i) as u32),
            depth: c(4, i) as u16,
            discovery_source: c(5, i) as u8,
            url_ref: c(6, i),
            first_seen: c(7, i) as u32,
            last_crawled: c(8, i) as u32,
            last_changed: c(9, i) as u32,
            next_due: c(10, i) as u32,
            lambda: f32::from_bits(c(11, i) as u32),
            crawl_count: c(12, i) as u32,
            change_count: c(13, i) as u32,
            no_change_streak: c(14, i) as u16,
            etag_ref: c(15, i),
            last_modified: c(16, i) as u32,
            content_fp: c(17, i),
            simhash: c(18, i),
            http_status: c(19, i) as u16,
            redirect_ref: c(20, i),
            retry_count: c(21, i) as u8,
            error_count: c(22, i) as u16,
        })
        .collect()
}

/// Builds host rows `0..n` from the 20 host columns (indexed by column id).
pub fn build_host_rows(cols: &[Values], n: usize) -> alloc::vec::Vec<HostRecord> {
    let c = |id: usize, i: usize| cols[id].int(i);
    (0..n)
        .map(|i| HostRecord {
            host_key: c(0, i),
            host_ref: c(1, i),
            grouping: c(2, i) as u8,
            registrable_ref: c(3, i),
            resolved_ip: cols[4].wide(i),
            ip_expiry: c(5, i) as u32,
            robots_fetched: c(6, i) as u32,
            robots_expiry: c(7, i) as u32,
            robots_ref: c(8, i),
            crawl_delay: c(9, i) as u16,
            host_next_eligible: c(10, i) as u32,
            ip_next_eligible: c(11, i) as u32,
            url_budget: c(12, i) as u32,
            url_count: c(13, i) as u32,
            depth_cap: c(14, i) as u16,
            host_score: f32::from_bits(c(15, i) as u32),
            crawl_total: c(16, i) as u32,
            error_total: c(17, i) as u32,
            avg_latency: c(18, i) as u16,
            flags: c(19, i) as u16,
        })
        .collect()
}
