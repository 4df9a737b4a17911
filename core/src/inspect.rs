//! The facts `meguri inspect` prints, computed from the header and footer alone, and their
//! text rendering (byte-identical to the reference's).

use crate::error::Table;
use crate::format::codec::codec_name;
use crate::format::encoding::encoding_name;
use crate::format::{checksum_name, flag_names, region_name};
use crate::reader::Shape;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// One region as `inspect` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionLine {
    /// Region id.
    pub id: u8,
    /// Printed name.
    pub name: String,
    /// Absolute offset.
    pub offset: u64,
    /// Length.
    pub length: u64,
}

/// Everything `inspect` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Format version (major, minor).
    pub version: (u16, u16),
    /// Partition id.
    pub partition_id: u32,
    /// File length.
    pub file_size: u64,
    /// Host-key range (inclusive).
    pub hostkey_range: (u64, u64),
    /// URL rows (header).
    pub urls: u64,
    /// Host rows (header).
    pub hosts: u64,
    /// URL directory entries.
    pub url_columns: usize,
    /// Host directory entries.
    pub host_columns: usize,
    /// Checksum algorithm name.
    pub checksum: String,
    /// Default codec name.
    pub default_codec: String,
    /// Created, epoch-hours.
    pub created_hours: u32,
    /// Raw flag bits.
    pub flags: u16,
    /// Flag names joined by `|`.
    pub flag_names: String,
    /// STATS bytes per URL (f32, as stored).
    pub bytes_per_url: f32,
    /// STATS due range (min nonzero, max), when any row is due.
    pub due_range: Option<(u32, u32)>,
    /// Regions in directory order.
    pub regions: Vec<RegionLine>,
    /// Directory encodings: name → number of columns, sorted by name.
    pub encodings: Vec<(String, usize)>,
    /// Metadata pairs sorted by key.
    pub meta: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Summary {
    /// Builds the summary from what [`crate::reader::read_shape`] learnt.
    pub fn from_shape(s: &Shape) -> Summary {
        let h = &s.header;
        let stats = s.footer.stats.unwrap_or_default();
        let mut enc: BTreeMap<String, usize> = BTreeMap::new();
        for d in s.footer.url_columns.iter().chain(&s.footer.host_columns) {
            *enc.entry(encoding_name(d.encoding).into_owned())
                .or_default() += 1;
        }
        let mut meta = s.footer.meta.clone().unwrap_or_default();
        meta.sort_by(|a, b| a.0.cmp(&b.0));
        Summary {
            version: (h.version_major, h.version_minor),
            partition_id: h.partition_id,
            file_size: s.file_len,
            hostkey_range: (h.hostkey_lo, h.hostkey_hi),
            urls: h.url_count,
            hosts: h.host_count,
            url_columns: s.footer.url_columns.len(),
            host_columns: s.footer.host_columns.len(),
            checksum: checksum_name(h.checksum_algo).into_owned(),
            default_codec: codec_name(h.default_codec).into_owned(),
            created_hours: h.created_hours,
            flags: h.flags,
            flag_names: flag_names(h.flags),
            bytes_per_url: stats.bytes_per_url,
            due_range: (stats.due_max > 0).then_some((stats.due_min, stats.due_max)),
            regions: s
                .footer
                .regions
                .iter()
                .map(|r| RegionLine {
                    id: r.id,
                    name: region_name(r.id).into_owned(),
                    offset: r.offset,
                    length: r.length,
                })
                .collect(),
            encodings: enc.into_iter().collect(),
            meta,
        }
    }

    /// The text `meguri inspect` prints.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = self.write_text(&mut o);
        o
    }

    fn write_text(&self, o: &mut String) -> core::fmt::Result {
        writeln!(
            o,
            "meguri v{}.{}  partition {}",
            self.version.0, self.version.1, self.partition_id
        )?;
        writeln!(o, "  file size      {} bytes", self.file_size)?;
        writeln!(
            o,
            "  hostkey range  0x{:016x} .. 0x{:016x}",
            self.hostkey_range.0, self.hostkey_range.1
        )?;
        writeln!(o, "  urls           {}", self.urls)?;
        writeln!(o, "  hosts          {}", self.hosts)?;
        writeln!(o, "  url columns    {}", self.url_columns)?;
        writeln!(o, "  host columns   {}", self.host_columns)?;
        writeln!(o, "  checksum       {}", self.checksum)?;
        writeln!(o, "  default codec  {}", self.default_codec)?;
        writeln!(o, "  created        {} epoch-hours", self.created_hours)?;
        writeln!(o, "  flags          {}", self.flag_names)?;
        if self.urls > 0 {
            writeln!(o, "  bytes/url      {}", fixed2(self.bytes_per_url))?;
        }
        if let Some((lo, hi)) = self.due_range {
            writeln!(o, "  next-due range {lo} .. {hi} epoch-hours")?;
        }
        writeln!(o, "  regions:")?;
        for r in &self.regions {
            writeln!(
                o,
                "    {:<12} off={:<10} len={}",
                r.name, r.offset, r.length
            )?;
        }
        if !self.encodings.is_empty() {
            writeln!(o, "  encodings:")?;
            for (name, n) in &self.encodings {
                writeln!(o, "    {name:<12} {n} cols")?;
            }
        }
        if !self.meta.is_empty() {
            writeln!(o, "  meta:")?;
            for (k, v) in &self.meta {
                writeln!(
                    o,
                    "    {} = {}",
                    String::from_utf8_lossy(k),
                    String::from_utf8_lossy(v)
                )?;
            }
        }
        Ok(())
    }
}

/// The footer summary `meguri stats` prints for a file (no rows decoded).
#[derive(Debug, Clone, PartialEq)]
pub struct ColdStats {
    /// Partition id.
    pub partition_id: u32,
    /// URL rows (STATS, else the header).
    pub urls: u64,
    /// Host rows (STATS, else the header).
    pub hosts: u64,
    /// Host-key range (STATS, else the header).
    pub hostkey_range: (u64, u64),
    /// STATS `scheduled_count`.
    pub scheduled: u64,
    /// STATS due range.
    pub due_range: (u32, u32),
    /// STATS bytes per URL.
    pub bytes_per_url: f32,
    /// Header flag: a schedule region.
    pub schedule_index: bool,
    /// Header flag: a seen-set region.
    pub seen_filter: bool,
}

impl ColdStats {
    /// The summary of a file's shape.
    pub fn from_shape(s: &Shape) -> ColdStats {
        let h = &s.header;
        let st = s.footer.stats;
        ColdStats {
            partition_id: h.partition_id,
            urls: st.map_or(h.url_count, |x| x.url_count),
            hosts: st.map_or(h.host_count, |x| x.host_count),
            hostkey_range: st.map_or((h.hostkey_lo, h.hostkey_hi), |x| {
                (x.hostkey_lo, x.hostkey_hi)
            }),
            scheduled: st.map_or(0, |x| x.scheduled_count),
            due_range: st.map_or((0, 0), |x| (x.due_min, x.due_max)),
            bytes_per_url: st.map_or(0.0, |x| x.bytes_per_url),
            schedule_index: h.flags & crate::format::FLAG_SCHEDULE != 0,
            seen_filter: h.flags & crate::format::FLAG_SEENSET != 0,
        }
    }

    /// The reference's text, naming the file `name` as given on the command line.
    pub fn render(&self, name: &str) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "partition {name} (cold, footer summary)");
        let _ = writeln!(o, "  partition id   {}", self.partition_id);
        let _ = writeln!(o, "  urls           {}", self.urls);
        let _ = writeln!(o, "  hosts          {}", self.hosts);
        let _ = writeln!(
            o,
            "  host-key range 0x{:016x} .. 0x{:016x}",
            self.hostkey_range.0, self.hostkey_range.1
        );
        let _ = writeln!(o, "  scheduled      {}", self.scheduled);
        let _ = writeln!(
            o,
            "  due range      hour {} .. {}",
            self.due_range.0, self.due_range.1
        );
        let _ = writeln!(o, "  bytes/url      {}", fixed2(self.bytes_per_url));
        let _ = writeln!(
            o,
            "  schedule index {}   seen filter {}",
            self.schedule_index, self.seen_filter
        );
        o
    }
}

/// One column as `inspect --columns` lists it: where its bytes go, from the footer alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnLine {
    /// The table.
    pub table: Table,
    /// Schema column id.
    pub id: u64,
    /// Schema name (`"?"` for an id this version does not know).
    pub name: &'static str,
    /// Bytes per value.
    pub width: u8,
    /// Pages.
    pub pages: u64,
    /// On-disk bytes: page headers and payloads.
    pub bytes: u64,
    /// Logical raw size, rows × width.
    pub raw_bytes: u64,
    /// Pages per encoding, by encoding id.
    pub encodings: Vec<(u8, u64)>,
}

/// Every column of both tables, in directory order, with its on-disk size and page encodings.
pub fn columns(s: &Shape) -> Vec<ColumnLine> {
    let tables = [
        (Table::Url, &s.footer.url_columns),
        (Table::Host, &s.footer.host_columns),
    ];
    let mut out = Vec::new();
    for (table, dirs) in tables {
        for c in dirs.iter() {
            let mut enc: BTreeMap<u8, u64> = BTreeMap::new();
            if c.pages.is_empty() {
                *enc.entry(c.encoding).or_default() += c.num_pages;
            }
            for p in &c.pages {
                *enc.entry(p.encoding).or_default() += 1;
            }
            out.push(ColumnLine {
                table,
                id: c.column_id,
                name: crate::schema::spec(table, c.column_id).map_or("?", |sp| sp.name),
                width: c.width,
                pages: c.num_pages,
                bytes: c.byte_len().unwrap_or(u64::MAX),
                raw_bytes: c.total_uncompressed,
                encodings: enc.into_iter().collect(),
            });
        }
    }
    out
}

/// The text `meguri inspect --columns` adds: one line per column with bytes, bytes per URL
/// (of the whole file's URLs, so the lines add up to the tables' share of `bytes/url`) and the
/// page encodings.
pub fn render_columns(cols: &[ColumnLine], urls: u64) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "  columns:        {:>10} {:>9} {:>6}  encodings (pages)",
        "bytes", "bytes/url", "pages"
    );
    for c in cols {
        let per_url = if urls == 0 {
            String::from("-")
        } else {
            fixed(c.bytes as f64 / urls as f64, 3)
        };
        let encs: Vec<String> = c
            .encodings
            .iter()
            .map(|(e, n)| format!("{} {n}", encoding_name(*e)))
            .collect();
        let _ = writeln!(
            o,
            "    {:<4} {:<19} {:>10} {:>9} {:>6}  {}",
            c.table.name(),
            c.name,
            c.bytes,
            per_url,
            c.pages,
            encs.join(", ")
        );
    }
    o
}

/// Formats an f32 with two decimals the way Go's `%.2f` does: the exact binary value, rounded
/// to nearest with exact ties to even.
pub fn fixed2(v: f32) -> String {
    fixed(f64::from(v), 2)
}

/// Formats `v` with `prec` decimals, rounding the exact binary value half-to-even (Go's `%.*f`).
pub fn fixed(v: f64, prec: usize) -> String {
    // Rust's float formatting with a precision rounds the exact decimal expansion half-to-even,
    // which matches Go; this wrapper keeps the rule in one place and tested.
    format!("{v:.prec$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn go_style_rounding() {
        assert_eq!(fixed2(0.125), "0.12");
        assert_eq!(fixed2(0.375), "0.38");
        assert_eq!(fixed2(26.63), "26.63");
        assert_eq!(fixed(2.5, 0), "2");
        assert_eq!(fixed(3.5, 0), "4");
    }
}
