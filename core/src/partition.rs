//! A partition as a value: everything a `.meguri` file holds, decoded. The writer encodes one,
//! the reader can rebuild one from a file.

use crate::records::{HostRecord, UrlRecord};
use alloc::vec::Vec;

/// A whole partition in memory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Partition {
    /// Partition id.
    pub id: u32,
    /// Lowest owned host key.
    pub hostkey_lo: u64,
    /// Highest owned host key (inclusive).
    pub hostkey_hi: u64,
    /// Created, epoch-hours (caller-supplied; never a clock read).
    pub created_hours: u32,
    /// URL rows, sorted by (host key, path key).
    pub urls: Vec<UrlRecord>,
    /// Host rows, sorted by host key.
    pub hosts: Vec<HostRecord>,
    /// The string arena (`varint len ‖ bytes` entries; starts with a `00` sentinel).
    pub arena: Vec<u8>,
    /// Key-value metadata (written sorted by key).
    pub meta: Vec<(Vec<u8>, Vec<u8>)>,
    /// Write a schedule region (when any row has a nonzero `next_due`).
    pub schedule: bool,
    /// Seen-set filter blob (empty = no region).
    pub seen_filter: Vec<u8>,
}
