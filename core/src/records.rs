//! Typed rows of the two tables and the enumerations they use.

pub use crate::schema::{HostRecord, UrlRecord};
use alloc::borrow::Cow;
use alloc::format;

/// Declares [`UrlStatus`] from one list of values and names.
macro_rules! statuses {
    ($($(#[$m:meta])* $raw:literal $variant:ident $name:literal,)*) => {
        /// A URL's crawl status, the `status` column. Files may hold values that have no name;
        /// they read as [`UrlStatus::Other`] and convert back to the same byte.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum UrlStatus {
            $($(#[$m])* $variant,)*
            /// A value with no name.
            Other(u8),
        }

        impl UrlStatus {
            /// The status a `status` byte holds.
            pub const fn from_raw(raw: u8) -> UrlStatus {
                match raw {
                    $($raw => UrlStatus::$variant,)*
                    other => UrlStatus::Other(other),
                }
            }

            /// The `status` byte.
            pub const fn raw(self) -> u8 {
                match self {
                    $(UrlStatus::$variant => $raw,)*
                    UrlStatus::Other(raw) => raw,
                }
            }

            /// The name the reference prints (`status(<n>)` for a value with no name).
            pub fn name(self) -> Cow<'static, str> {
                match self {
                    $(UrlStatus::$variant => Cow::Borrowed($name),)*
                    UrlStatus::Other(raw) => Cow::Owned(format!("status({raw})")),
                }
            }
        }
    };
}

statuses! {
    /// Status 0.
    0 Discovered "discovered",
    /// Status 1.
    1 Scheduled "scheduled",
    /// Status 2.
    2 Ready "ready",
    /// Status 3: being fetched.
    3 InFlight "in_flight",
    /// Status 4.
    4 Crawled "crawled",
    /// Status 5.
    5 DueRecrawl "due_recrawl",
    /// Status 6: a tombstone, which `compact --gc` drops after its horizon.
    6 Gone "gone",
    /// Status 7: excluded by robots.txt.
    7 ExcludedRobots "excluded_robots",
    /// Status 8: caught in a crawler trap.
    8 Trapped "trapped",
}

impl UrlStatus {
    /// Waiting for a first fetch: discovered, scheduled or ready.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            UrlStatus::Discovered | UrlStatus::Scheduled | UrlStatus::Ready
        )
    }

    /// Whether a crawler may schedule the URL: not gone, excluded by robots, trapped or
    /// already in flight. A value with no name counts as schedulable.
    pub fn is_schedulable(self) -> bool {
        !matches!(
            self,
            UrlStatus::Gone | UrlStatus::ExcludedRobots | UrlStatus::Trapped | UrlStatus::InFlight
        )
    }
}

impl From<u8> for UrlStatus {
    fn from(raw: u8) -> UrlStatus {
        UrlStatus::from_raw(raw)
    }
}

impl From<UrlStatus> for u8 {
    fn from(s: UrlStatus) -> u8 {
        s.raw()
    }
}

/// Name of a URL status (`status(<n>)` for unknown values).
pub fn status_name(s: u8) -> Cow<'static, str> {
    UrlStatus::from_raw(s).name()
}

/// Discovery-source names, by value.
pub const SOURCE_NAMES: [&str; 5] = ["seed", "link", "sitemap", "redirect", "manual"];

/// Name of a discovery source (`source(<n>)` for unknown values).
pub fn source_name(s: u8) -> Cow<'static, str> {
    match SOURCE_NAMES.get(s as usize) {
        Some(n) => Cow::Borrowed(n),
        None => Cow::Owned(format!("source({s})")),
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

    /// No values yet, of the kind a `width`-byte column holds (16: [`Values::Wide`]), with room
    /// for `capacity`.
    pub fn for_width(width: u8, capacity: usize) -> Self {
        match width {
            16 => Values::Wide(alloc::vec::Vec::with_capacity(capacity)),
            _ => Values::Int(alloc::vec::Vec::with_capacity(capacity)),
        }
    }

    /// Removes every value, keeping the room.
    pub fn clear(&mut self) {
        match self {
            Values::Int(v) => v.clear(),
            Values::Wide(v) => v.clear(),
        }
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
