//! Which URLs of a file are due: the cold form of `meguri schedule`.
//!
//! A row is due at hour `before` when `0 < next_due <= before`. With a schedule region, the
//! wheel names candidate rows (bucket order, then row order) and each is confirmed against
//! `next_due`; without one, the `next_due` column is scanned in row order. Either way the work
//! is page by page: a scan skips every page whose zone map shows nothing due, a host filter
//! narrows the rows to that host's run (found through the `host_key` zone maps), and keys are
//! decoded only for the rows that are listed.

use crate::column::DecodedPage;
use crate::error::{Result, Table};
use crate::format::footer::PageSpan;
use crate::keys::UrlKey;
use crate::reader::Reader;
use crate::records::Values;
use crate::schema::url::{HOST_KEY, NEXT_DUE, PATH_KEY, URL_REF};
use crate::source::Source;
use alloc::vec::Vec;
use core::ops::Range;

/// How due rows were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueMethod {
    /// Through the schedule region's wheel.
    Wheel,
    /// By scanning the `next_due` column.
    Scan,
}

impl DueMethod {
    /// The reference's wording in `schedule` output.
    pub fn describe(self) -> &'static str {
        match self {
            DueMethod::Wheel => "durable schedule wheel (near buckets only)",
            DueMethod::Scan => "next_due column scan",
        }
    }
}

/// The answer to a due query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueList {
    /// How the rows were found.
    pub method: DueMethod,
    /// Due rows after the host filter, before the limit.
    pub count: u64,
    /// The first `limit` due rows: (row index, key), in wheel or row order.
    pub rows: Vec<(u64, UrlKey)>,
    /// `next_due` pages decoded, of the column's total.
    pub pages_read: u64,
    /// Pages of the `next_due` column.
    pub pages_total: u64,
}

/// Decodes the pages of one column on demand, keeping the last one.
struct PageCursor<'r, S: Source> {
    reader: &'r Reader<S>,
    id: u64,
    spans: Vec<PageSpan>,
    page: Option<(usize, Vec<u64>)>,
    decoded: u64,
}

impl<'r, S: Source> PageCursor<'r, S> {
    fn new(reader: &'r Reader<S>, id: u64) -> Result<Self> {
        let spans = reader.column_dir(Table::Url, id)?.page_spans();
        Ok(PageCursor {
            reader,
            id,
            spans,
            page: None,
            decoded: 0,
        })
    }

    fn page_of(&self, row: u64) -> usize {
        self.spans
            .partition_point(|s| s.first_row <= row)
            .saturating_sub(1)
    }

    fn load(&mut self, index: usize) -> Result<&[u64]> {
        if self.page.as_ref().is_none_or(|(i, _)| *i != index) {
            let DecodedPage { values, .. } =
                self.reader.read_page(Table::Url, self.id, index as u32)?;
            let v = match values {
                Values::Int(v) => v,
                Values::Wide(_) => Vec::new(),
            };
            self.decoded += 1;
            self.page = Some((index, v));
        }
        Ok(&self.page.as_ref().expect("loaded").1)
    }

    /// The values at `rows` (any order), visiting rows in ascending order so each page is
    /// decoded once.
    fn values_at(&mut self, rows: &[u64]) -> Result<Vec<u64>> {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| rows[i]);
        let mut out = alloc::vec![0u64; rows.len()];
        for i in order {
            out[i] = self.get(rows[i])?;
        }
        Ok(out)
    }

    fn get(&mut self, row: u64) -> Result<u64> {
        let index = self.page_of(row);
        let first = self.spans.get(index).map_or(0, |s| s.first_row);
        let vals = self.load(index)?;
        Ok(vals.get((row - first) as usize).copied().unwrap_or(0))
    }
}

/// The rows whose host key is `host` (empty when none): pages whose zone map excludes the key
/// are never decoded.
fn host_rows<S: Source>(reader: &Reader<S>, host: u64) -> Result<Range<u64>> {
    let zones = reader.column_dir(Table::Url, HOST_KEY)?.page_zones();
    let mut cursor = PageCursor::new(reader, HOST_KEY)?;
    let mut found: Option<Range<u64>> = None;
    for (i, span) in cursor.spans.clone().iter().enumerate() {
        if let Some((lo, hi)) = zones.get(i).copied().flatten() {
            if host < lo || host > hi {
                continue;
            }
        }
        let vals = cursor.load(i)?;
        for (j, &v) in vals.iter().enumerate() {
            if v == host {
                let row = span.first_row + j as u64;
                found = Some(match found {
                    None => row..row + 1,
                    Some(r) => r.start..row + 1,
                });
            }
        }
    }
    Ok(found.unwrap_or(0..0))
}

/// Lists the rows due at or before hour `before`, optionally only those of host key `host`,
/// keeping the keys of the first `limit` (all when `None`).
pub fn due<S: Source>(
    reader: &Reader<S>,
    before: u32,
    host: Option<u64>,
    limit: Option<usize>,
) -> Result<DueList> {
    let total = reader.rows(Table::Url);
    let rows = match host {
        Some(h) => host_rows(reader, h)?,
        None => 0..total,
    };
    let mut next_due = PageCursor::new(reader, NEXT_DUE)?;
    let pages_total = next_due.spans.len() as u64;
    let is_due = |d: u64| d != 0 && d <= u64::from(before);
    let mut due_rows: Vec<u64> = Vec::new();
    let mut count = 0u64;
    let keep = limit.unwrap_or(usize::MAX);
    let wheel = reader.schedule()?;
    let method = if let Some(w) = wheel {
        for row in w.due_candidates(before) {
            let row = u64::from(row);
            if !rows.contains(&row) || !is_due(next_due.get(row)?) {
                continue;
            }
            count += 1;
            if due_rows.len() < keep {
                due_rows.push(row);
            }
        }
        DueMethod::Wheel
    } else {
        let zones = reader.column_dir(Table::Url, NEXT_DUE)?.page_zones();
        for (i, span) in next_due.spans.clone().iter().enumerate() {
            let (start, end) = (span.first_row, span.first_row + span.num_values);
            if end <= rows.start || start >= rows.end {
                continue;
            }
            if let Some((lo, hi)) = zones.get(i).copied().flatten() {
                // Nothing due: all zero, or all after the horizon.
                if hi == 0 || lo > u64::from(before) {
                    continue;
                }
            }
            let vals = next_due.load(i)?;
            for (j, &d) in vals.iter().enumerate() {
                let row = start + j as u64;
                if rows.contains(&row) && is_due(d) {
                    count += 1;
                    if due_rows.len() < keep {
                        due_rows.push(row);
                    }
                }
            }
        }
        DueMethod::Scan
    };
    let pages_read = next_due.decoded;
    let host_keys = PageCursor::new(reader, HOST_KEY)?.values_at(&due_rows)?;
    let path_keys = PageCursor::new(reader, PATH_KEY)?.values_at(&due_rows)?;
    let out = due_rows
        .iter()
        .zip(host_keys.into_iter().zip(path_keys))
        .map(|(&row, (host, path))| (row, UrlKey { host, path }))
        .collect();
    Ok(DueList {
        method,
        count,
        rows: out,
        pages_read,
        pages_total,
    })
}

/// The `url_ref` of each listed row, decoding each page of the column at most once.
pub fn url_refs<S: Source>(reader: &Reader<S>, list: &DueList) -> Result<Vec<u64>> {
    let rows: Vec<u64> = list.rows.iter().map(|&(row, _)| row).collect();
    PageCursor::new(reader, URL_REF)?.values_at(&rows)
}

/// The reference's text for a due list of the file named `name`; with `urls` (one per listed
/// row), each line also carries the URL string.
pub fn render(
    list: &DueList,
    name: &str,
    before: u32,
    urls: Option<&[alloc::string::String]>,
) -> alloc::string::String {
    use core::fmt::Write;
    let mut o = alloc::string::String::new();
    let _ = writeln!(
        o,
        "schedule {name} (cold, {}) due at or before hour {before}: {}",
        list.method.describe(),
        list.count
    );
    for (i, &(_, k)) in list.rows.iter().enumerate() {
        let _ = write!(o, "  0x{:016x}:0x{:016x}", k.host, k.path);
        if let Some(u) = urls.and_then(|u| u.get(i)) {
            let _ = write!(o, "  {u}");
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partition::Partition;
    use crate::testing::{file, partition};

    /// The due rows of `p` by brute force, in row order.
    fn brute(p: &Partition, before: u32, host: Option<u64>) -> Vec<(u64, UrlKey)> {
        p.urls
            .iter()
            .enumerate()
            .filter(|(_, u)| u.next_due != 0 && u.next_due <= before)
            .filter(|(_, u)| host.is_none_or(|h| u.key.host == h))
            .map(|(i, u)| (i as u64, u.key))
            .collect()
    }

    #[test]
    fn the_wheel_and_the_scan_list_the_same_rows() {
        let mut p = partition(9, 11);
        let with_wheel = file(&p, 16);
        p.schedule = false;
        let without = file(&p, 16);
        let (w, s) = (
            Reader::open(&with_wheel[..]).unwrap(),
            Reader::open(&without[..]).unwrap(),
        );
        for before in [0, 9_999, 10_000, 10_500, 11_999, 20_000] {
            for host in [None, Some(3000), Some(9000), Some(123)] {
                let want = brute(&p, before, host);
                let scan = due(&s, before, host, None).unwrap();
                assert_eq!(scan.method, DueMethod::Scan);
                assert_eq!(scan.rows, want, "scan before {before} host {host:?}");
                assert_eq!(scan.count, want.len() as u64);
                let wheel = due(&w, before, host, None).unwrap();
                assert_eq!(wheel.method, DueMethod::Wheel);
                assert_eq!(wheel.count, want.len() as u64);
                let mut rows = wheel.rows.clone();
                rows.sort();
                assert_eq!(rows, want, "wheel before {before} host {host:?}");
                // A limit keeps the first rows of the same order and the full count.
                let three = due(&w, before, host, Some(3)).unwrap();
                assert_eq!(three.count, wheel.count);
                assert_eq!(three.rows[..], wheel.rows[..wheel.rows.len().min(3)]);
            }
        }
        let list = due(&s, 10_500, None, Some(4)).unwrap();
        let refs = url_refs(&s, &list).unwrap();
        let want: Vec<u64> = list
            .rows
            .iter()
            .map(|&(i, _)| p.urls[i as usize].url_ref)
            .collect();
        assert_eq!(refs, want);
    }

    #[test]
    fn a_scan_skips_the_pages_its_zone_maps_rule_out() {
        let mut p = partition(10, 8); // 80 URL rows, 10 pages of 8
        p.schedule = false;
        for (i, u) in p.urls.iter_mut().enumerate() {
            u.next_due = if i < 40 { 0 } else { 10_000 + i as u32 };
        }
        let f = file(&p, 8);
        let r = Reader::open(&f[..]).unwrap();
        // Nothing is due before hour 10_000: every page is ruled out, none decoded.
        let none = due(&r, 9_999, None, None).unwrap();
        assert_eq!((none.count, none.pages_read, none.pages_total), (0, 0, 10));
        // Only the five pages with due rows are decoded.
        let all = due(&r, u32::MAX, None, None).unwrap();
        assert_eq!((all.count, all.pages_read), (40, 5));
        // A host's rows are found through the host-key zone maps.
        let one = due(&r, u32::MAX, Some(7000), None).unwrap();
        assert_eq!(one.rows, brute(&p, u32::MAX, Some(7000)));
        assert_eq!(one.pages_read, 1);
        let text = render(&one, "f.meguri", u32::MAX, None);
        assert!(text.starts_with(
            "schedule f.meguri (cold, next_due column scan) due at or before hour 4294967295: 8\n"
        ));
        assert_eq!(text.lines().count(), 9);
    }
}
