//! The two table schemas: which columns exist, their widths, kinds and the encoding the
//! reference nominates for each.

use crate::error::Table;
use crate::format::encoding::{DELTA, DELTA_FOR, DICT, FOR, RAW, RLE};

/// How a column's values are interpreted (and whether it gets zone maps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// An unsigned integer: zone maps are kept.
    Uint,
    /// An f32 bit pattern: no zone maps.
    Float,
    /// 16 opaque bytes (the resolved IP): RAW only, no zone maps.
    Opaque,
}

/// One column of a table schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnSpec {
    /// Schema id (the column's position).
    pub id: u64,
    /// Field name.
    pub name: &'static str,
    /// Bytes per value.
    pub width: u8,
    /// Value interpretation.
    pub kind: ValueKind,
    /// The encoding the reference writer tries against RAW.
    pub nominal: u8,
}

const fn col(id: u64, name: &'static str, width: u8, kind: ValueKind, nominal: u8) -> ColumnSpec {
    ColumnSpec {
        id,
        name,
        width,
        kind,
        nominal,
    }
}

use ValueKind::{Float, Opaque, Uint};

/// URL table columns, in id order.
pub const URL_COLUMNS: [ColumnSpec; 23] = [
    col(0, "host_key", 8, Uint, RLE),
    col(1, "path_key", 8, Uint, DELTA_FOR),
    col(2, "status", 1, Uint, DICT),
    col(3, "priority", 4, Float, DICT),
    col(4, "depth", 2, Uint, FOR),
    col(5, "discovery_source", 1, Uint, DICT),
    col(6, "url_ref", 8, Uint, DELTA),
    col(7, "first_seen", 4, Uint, DELTA),
    col(8, "last_crawled", 4, Uint, DELTA),
    col(9, "last_changed", 4, Uint, DELTA),
    col(10, "next_due", 4, Uint, DELTA),
    col(11, "lambda", 4, Float, DICT),
    col(12, "crawl_count", 4, Uint, FOR),
    col(13, "change_count", 4, Uint, FOR),
    col(14, "no_change_streak", 2, Uint, FOR),
    col(15, "etag_ref", 8, Uint, DELTA),
    col(16, "last_modified", 4, Uint, DELTA),
    col(17, "content_fp", 8, Uint, RAW),
    col(18, "simhash", 8, Uint, RAW),
    col(19, "http_status", 2, Uint, DICT),
    col(20, "redirect_ref", 8, Uint, RLE),
    col(21, "retry_count", 1, Uint, FOR),
    col(22, "error_count", 2, Uint, FOR),
];

/// Host table columns, in id order.
pub const HOST_COLUMNS: [ColumnSpec; 20] = [
    col(0, "host_key", 8, Uint, DELTA_FOR),
    col(1, "host_ref", 8, Uint, DELTA),
    col(2, "grouping", 1, Uint, DICT),
    col(3, "registrable_ref", 8, Uint, DELTA),
    col(4, "resolved_ip", 16, Opaque, RAW),
    col(5, "ip_expiry", 4, Uint, DELTA),
    col(6, "robots_fetched", 4, Uint, DELTA),
    col(7, "robots_expiry", 4, Uint, DELTA),
    col(8, "robots_ref", 8, Uint, DELTA),
    col(9, "crawl_delay", 2, Uint, DICT),
    col(10, "host_next_eligible", 4, Uint, DELTA),
    col(11, "ip_next_eligible", 4, Uint, DELTA),
    col(12, "url_budget", 4, Uint, FOR),
    col(13, "url_count", 4, Uint, FOR),
    col(14, "depth_cap", 2, Uint, DICT),
    col(15, "host_score", 4, Float, DICT),
    col(16, "crawl_total", 4, Uint, FOR),
    col(17, "error_total", 4, Uint, FOR),
    col(18, "avg_latency", 2, Uint, FOR),
    col(19, "flags", 2, Uint, DICT),
];

/// The schema of one table.
pub fn columns(table: Table) -> &'static [ColumnSpec] {
    match table {
        Table::Url => &URL_COLUMNS,
        Table::Host => &HOST_COLUMNS,
    }
}

/// The spec of column `id` of `table`, if the schema defines it.
pub fn spec(table: Table, id: u64) -> Option<&'static ColumnSpec> {
    columns(table).get(usize::try_from(id).ok()?)
}

/// Sum of the widths of a table's columns: the decoded bytes per row (103 URL, 97 host).
pub fn row_width(table: Table) -> u64 {
    columns(table).iter().map(|c| u64::from(c.width)).sum()
}

/// URL column ids that hold arena offsets.
pub const URL_ARENA_REFS: [u64; 3] = [6, 15, 20];
/// Host column ids that hold arena offsets.
pub const HOST_ARENA_REFS: [u64; 3] = [1, 3, 8];

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn widths() {
        assert_eq!(row_width(Table::Url), 103);
        assert_eq!(row_width(Table::Host), 97);
        for t in [Table::Url, Table::Host] {
            for (i, c) in columns(t).iter().enumerate() {
                assert_eq!(c.id, i as u64);
            }
        }
    }
}
