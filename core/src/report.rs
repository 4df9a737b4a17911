//! The reports every front end shares, with one JSON schema each.
//!
//! `meguri inspect --json`, `verify --json`, `map --json`, the browser inspector and the server
//! all describe the same things: a file's summary, its columns, a verify report, a manifest's
//! tiling, a route. Each has one [`serde::Serialize`] form, defined here and nowhere else, so
//! a field has one name and one type wherever it appears. Front ends may wrap a report in an
//! envelope (a path, read counters), never rename what is inside.
//!
//! Conventions: host keys, path keys and other 64-bit identifiers are `"0x%016x"` strings (a
//! JSON number loses bits above 2^53); counts and byte offsets are numbers; a report that has a
//! text form carries it under `text`, exactly as the command prints it.

use crate::error::{Error, Finding, Place};
use crate::format::encoding::encoding_name;
use crate::format::footer::TAG_STATS;
use crate::format::{REGION_SCHEDULE, REGION_SEENSET, REGION_STRING_BLOB, TRAILER_LEN};
use crate::inspect::{ColdStats, ColumnLine, Summary};
use crate::manifest::{render_map, render_route, Manifest, Tiling};
use crate::reader::Shape;
use crate::verify::Report;
use alloc::string::String;
use alloc::vec::Vec;
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;

/// A 64-bit key as the `0x%016x` string every output uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex(pub u64);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("0x{:016x}", self.0))
    }
}

/// A key range `{lo, hi}`, both ends inclusive, as hex strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeyRange {
    /// Lowest key.
    pub lo: Hex,
    /// Highest key.
    pub hi: Hex,
}

impl KeyRange {
    /// The range `lo ..= hi`.
    pub fn new(lo: u64, hi: u64) -> Self {
        KeyRange {
            lo: Hex(lo),
            hi: Hex(hi),
        }
    }
}

/// An hour range `{min, max}` (epoch-hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HourRange {
    /// First hour.
    pub min: u32,
    /// Last hour.
    pub max: u32,
}

#[derive(Serialize)]
struct Version {
    major: u16,
    minor: u16,
}

#[derive(Serialize)]
struct Flags<'a> {
    bits: u16,
    names: &'a str,
}

#[derive(Serialize)]
struct RegionOut<'a> {
    id: u8,
    name: &'a str,
    offset: u64,
    length: u64,
}

#[derive(Serialize)]
struct EncodingCount<'a> {
    encoding: &'a str,
    columns: usize,
}

#[derive(Serialize)]
struct MetaPair {
    key: String,
    value: String,
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Summary", 18)?;
        o.serialize_field(
            "version",
            &Version {
                major: self.version.0,
                minor: self.version.1,
            },
        )?;
        o.serialize_field("partition_id", &self.partition_id)?;
        o.serialize_field("file_size", &self.file_size)?;
        o.serialize_field(
            "hostkey_range",
            &KeyRange::new(self.hostkey_range.0, self.hostkey_range.1),
        )?;
        o.serialize_field("urls", &self.urls)?;
        o.serialize_field("hosts", &self.hosts)?;
        o.serialize_field("url_columns", &self.url_columns)?;
        o.serialize_field("host_columns", &self.host_columns)?;
        o.serialize_field("checksum", &self.checksum)?;
        o.serialize_field("default_codec", &self.default_codec)?;
        o.serialize_field("created_hours", &self.created_hours)?;
        o.serialize_field(
            "flags",
            &Flags {
                bits: self.flags,
                names: &self.flag_names,
            },
        )?;
        o.serialize_field("bytes_per_url", &self.bytes_per_url)?;
        o.serialize_field(
            "next_due_range",
            &self.due_range.map(|(min, max)| HourRange { min, max }),
        )?;
        let regions: Vec<RegionOut<'_>> = self
            .regions
            .iter()
            .map(|r| RegionOut {
                id: r.id,
                name: &r.name,
                offset: r.offset,
                length: r.length,
            })
            .collect();
        o.serialize_field("regions", &regions)?;
        let encodings: Vec<EncodingCount<'_>> = self
            .encodings
            .iter()
            .map(|(e, n)| EncodingCount {
                encoding: e,
                columns: *n,
            })
            .collect();
        o.serialize_field("encodings", &encodings)?;
        let meta: Vec<MetaPair> = self
            .meta
            .iter()
            .map(|(k, v)| MetaPair {
                key: String::from_utf8_lossy(k).into_owned(),
                value: String::from_utf8_lossy(v).into_owned(),
            })
            .collect();
        o.serialize_field("meta", &meta)?;
        o.serialize_field("text", &self.render())?;
        o.end()
    }
}

#[derive(Serialize)]
struct PageCount {
    encoding: String,
    pages: u64,
}

impl Serialize for ColumnLine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("ColumnLine", 8)?;
        o.serialize_field("table", self.table.name())?;
        o.serialize_field("id", &self.id)?;
        o.serialize_field("name", self.name)?;
        o.serialize_field("width", &self.width)?;
        o.serialize_field("pages", &self.pages)?;
        o.serialize_field("bytes", &self.bytes)?;
        o.serialize_field("raw_bytes", &self.raw_bytes)?;
        let encodings: Vec<PageCount> = self
            .encodings
            .iter()
            .map(|(e, n)| PageCount {
                encoding: encoding_name(*e).into_owned(),
                pages: *n,
            })
            .collect();
        o.serialize_field("encodings", &encodings)?;
        o.end()
    }
}

/// The footer summary `stats` prints for a file, with the name it prints it under.
pub struct ColdStatsView<'a> {
    /// The numbers.
    pub stats: &'a ColdStats,
    /// The file's name as given.
    pub name: &'a str,
}

impl Serialize for ColdStatsView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.stats;
        let mut o = s.serialize_struct("ColdStats", 10)?;
        o.serialize_field("partition_id", &c.partition_id)?;
        o.serialize_field("urls", &c.urls)?;
        o.serialize_field("hosts", &c.hosts)?;
        o.serialize_field(
            "hostkey_range",
            &KeyRange::new(c.hostkey_range.0, c.hostkey_range.1),
        )?;
        o.serialize_field("scheduled", &c.scheduled)?;
        o.serialize_field(
            "due_range",
            &HourRange {
                min: c.due_range.0,
                max: c.due_range.1,
            },
        )?;
        o.serialize_field("bytes_per_url", &c.bytes_per_url)?;
        o.serialize_field("schedule_index", &c.schedule_index)?;
        o.serialize_field("seen_filter", &c.seen_filter)?;
        o.serialize_field("text", &c.render(self.name))?;
        o.end()
    }
}

impl Serialize for Place {
    /// `{"kind": …, <the place's fields>, "name": <its text form>}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match *self {
            Place::Column {
                table,
                column,
                page,
            } => {
                m.serialize_entry("kind", "column")?;
                m.serialize_entry("table", table.name())?;
                m.serialize_entry("column", &column)?;
                m.serialize_entry("page", &page)?;
            }
            Place::Row { table, row } => {
                m.serialize_entry("kind", "row")?;
                m.serialize_entry("table", table.name())?;
                m.serialize_entry("row", &row)?;
            }
            Place::Region(id) => {
                m.serialize_entry("kind", "region")?;
                m.serialize_entry("region", &id)?;
            }
            Place::Section(tag) => {
                m.serialize_entry("kind", "section")?;
                m.serialize_entry("tag", &tag)?;
            }
            Place::Manifest { entry } => {
                m.serialize_entry("kind", "manifest")?;
                m.serialize_entry("entry", &entry)?;
            }
            other => m.serialize_entry("kind", place_kind(&other))?,
        }
        m.serialize_entry("name", &alloc::format!("{self}"))?;
        m.end()
    }
}

/// The `kind` of a place with no fields.
fn place_kind(p: &Place) -> &'static str {
    match p {
        Place::File => "file",
        Place::Header => "header",
        Place::Trailer => "trailer",
        Place::Footer => "footer",
        Place::Arena => "arena",
        Place::Schedule => "schedule",
        Place::SeenSet => "seenset",
        Place::Stats => "stats",
        Place::Superblock => "superblock",
        Place::LogFrame => "log_frame",
        _ => "unknown",
    }
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut o = s.serialize_struct("Error", 5)?;
        o.serialize_field("kind", self.kind.name())?;
        o.serialize_field("place", &self.place)?;
        o.serialize_field("offset", &self.offset)?;
        o.serialize_field("message", &self.message)?;
        o.serialize_field("text", &alloc::format!("{self}"))?;
        o.end()
    }
}

/// A byte range of a file: where a finding's structure lies (for a hex view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// First byte.
    pub start: u64,
    /// Bytes.
    pub length: u64,
}

/// A finding with the byte range of its structure.
struct FindingOut<'a> {
    finding: &'a Finding,
    span: Span,
}

impl Serialize for FindingOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = self.finding;
        let mut o = s.serialize_struct("Finding", 7)?;
        o.serialize_field("severity", f.severity.name())?;
        o.serialize_field("kind", f.error.kind.name())?;
        o.serialize_field("place", &f.error.place)?;
        o.serialize_field("offset", &f.error.offset)?;
        o.serialize_field("message", &f.error.message)?;
        o.serialize_field("text", &alloc::format!("{f}"))?;
        o.serialize_field("span", &self.span)?;
        o.end()
    }
}

/// What a verify report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A partition file.
    File,
    /// A manifest.
    Manifest,
}

impl Subject {
    /// `"file"` or `"manifest"`.
    pub fn name(self) -> &'static str {
        match self {
            Subject::File => "file",
            Subject::Manifest => "manifest",
        }
    }
}

/// A verify report as every front end shows it: the counts, every finding with the byte
/// range of its structure (from the file's shape, when it could be read), and the text.
pub struct VerifyView<'a> {
    /// File or manifest.
    pub subject: Subject,
    /// The report.
    pub report: &'a Report,
    /// The file's shape, for the findings' byte ranges (manifests have none).
    pub shape: Option<&'a Shape>,
    /// The file's length.
    pub file_len: u64,
}

impl VerifyView<'_> {
    /// The byte range of the structure a finding is about, as far as the shape tells it; a
    /// structure that does not hold the finding's offset shrinks to that offset.
    pub fn span(&self, f: &Finding) -> Span {
        let found = self.shape.and_then(|sh| structure_span(sh, &f.error.place));
        let (start, length) = match (found, f.error.offset) {
            (Some((o, l)), Some(a)) if a >= o && a < o.saturating_add(l) => (o, l),
            (Some((o, l)), None) => (o, l),
            (_, Some(a)) => (a, 1),
            (None, None) => (0, 0),
        };
        Span { start, length }
    }
}

/// Where a place's bytes lie in a file of this shape, if the shape says.
pub fn structure_span(sh: &Shape, place: &Place) -> Option<(u64, u64)> {
    use crate::format::HEADER_LEN;
    let len = sh.file_len;
    let region = |id: u8| sh.footer.region(id).map(|g| (g.offset, g.length));
    let section = |tag: u64| {
        sh.footer
            .sections
            .iter()
            .find(|x| x.tag == tag)
            .map(|x| (x.offset, x.body_offset + x.body_len - x.offset))
    };
    match *place {
        Place::Header => Some((0, HEADER_LEN as u64)),
        Place::Trailer => Some((len.saturating_sub(TRAILER_LEN as u64), TRAILER_LEN as u64)),
        Place::Footer => Some((
            sh.footer_start,
            len.saturating_sub(TRAILER_LEN as u64 + sh.footer_start),
        )),
        Place::Section(tag) => section(tag),
        Place::Stats => section(TAG_STATS),
        Place::Region(id) => region(id),
        Place::Arena => region(REGION_STRING_BLOB),
        Place::Schedule => region(REGION_SCHEDULE),
        Place::SeenSet => region(REGION_SEENSET),
        Place::Column {
            table,
            column,
            page,
        } => sh.footer.column(table, column).and_then(|d| match page {
            Some(p) => d
                .page_spans()
                .get(p as usize)
                .map(|x| (x.offset, x.byte_len)),
            None => crate::column::column_range(d).ok(),
        }),
        _ => None,
    }
}

impl Serialize for VerifyView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.report;
        let mut o = s.serialize_struct("Verify", 11)?;
        o.serialize_field("kind", self.subject.name())?;
        o.serialize_field("ok", &r.is_ok())?;
        o.serialize_field("errors", &r.errors())?;
        o.serialize_field("warnings", &r.warnings())?;
        o.serialize_field("columns_checked", &r.columns_checked)?;
        o.serialize_field("pages_checked", &r.pages_checked)?;
        o.serialize_field("url_rows_checked", &r.rows_checked.0)?;
        o.serialize_field("host_rows_checked", &r.rows_checked.1)?;
        let findings: Vec<FindingOut<'_>> = r
            .findings
            .iter()
            .map(|f| FindingOut {
                finding: f,
                span: self.span(f),
            })
            .collect();
        o.serialize_field("findings", &findings)?;
        o.end()
    }
}

/// A manifest's entries and its tiling check at its epoch, as `meguri map` and the inspector's
/// tiling view show them.
pub struct MapView<'a> {
    /// The manifest (or the catalog of dropped files).
    pub manifest: &'a Manifest,
    /// Its tiling at its epoch ([`Manifest::tiling`]).
    pub tiling: &'a Tiling,
}

/// An entry named by its index and partition id.
#[derive(Serialize)]
struct EntryRef {
    entry: usize,
    partition_id: u32,
}

impl Serialize for MapView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (m, t) = (self.manifest, self.tiling);
        let id = |i: usize| EntryRef {
            entry: i,
            partition_id: m.entries.get(i).map_or(0, |e| e.partition_id),
        };
        let mut o = s.serialize_struct("Map", 8)?;
        o.serialize_field("epoch", &t.epoch)?;
        o.serialize_field("considered", &t.considered)?;
        o.serialize_field("clean", &t.is_clean())?;
        o.serialize_field("entries", &Entries(m, t.epoch))?;
        let gaps: Vec<GapOut> = t
            .gaps
            .iter()
            .map(|g| GapOut {
                range: KeyRange::new(g.lo, g.hi),
                before: g.before.map(id),
                after: g.after.map(id),
            })
            .collect();
        o.serialize_field("gaps", &gaps)?;
        let overlaps: Vec<OverlapOut> = t
            .overlaps
            .iter()
            .map(|v| OverlapOut {
                range: KeyRange::new(v.lo, v.hi),
                first: id(v.first),
                second: id(v.second),
            })
            .collect();
        o.serialize_field("overlaps", &overlaps)?;
        let inverted: Vec<EntryRef> = t.inverted.iter().map(|&i| id(i)).collect();
        o.serialize_field("inverted", &inverted)?;
        o.serialize_field("text", &render_map(m))?;
        o.end()
    }
}

#[derive(Serialize)]
struct GapOut {
    #[serde(flatten)]
    range: KeyRange,
    before: Option<EntryRef>,
    after: Option<EntryRef>,
}

#[derive(Serialize)]
struct OverlapOut {
    #[serde(flatten)]
    range: KeyRange,
    first: EntryRef,
    second: EntryRef,
}

struct Entries<'a>(&'a Manifest, u32);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.entries.len()))?;
        for (i, e) in self.0.entries.iter().enumerate() {
            seq.serialize_element(&EntryOut {
                entry: i,
                partition_id: e.partition_id,
                file_ref: e.file_ref_str(),
                hostkey_range: KeyRange::new(e.hostkey_lo, e.hostkey_hi),
                urls: e.url_count,
                hosts: e.host_count,
                due_min: e.due_min,
                bytes_per_url: e.bytes_per_url,
                created_hours: e.created_hours,
                file_crc32c: alloc::format!("0x{:08x}", e.file_crc32c),
                epoch: e.epoch,
                current: e.epoch == self.1,
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct EntryOut {
    entry: usize,
    partition_id: u32,
    file_ref: String,
    hostkey_range: KeyRange,
    urls: u64,
    hosts: u64,
    due_min: u32,
    bytes_per_url: f32,
    created_hours: u32,
    file_crc32c: String,
    epoch: u32,
    current: bool,
}

/// Which partition owns a host key, at the manifest's epoch.
pub struct RouteView<'a> {
    /// The manifest.
    pub manifest: &'a Manifest,
    /// The key routed.
    pub host_key: u64,
}

impl Serialize for RouteView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.manifest;
        let epoch = m.epoch();
        let index = |e: &crate::manifest::Entry| m.entries.iter().position(|x| core::ptr::eq(x, e));
        let owners: Vec<EntryRef> = m
            .owners(self.host_key)
            .into_iter()
            .filter_map(|e| {
                index(e).map(|i| EntryRef {
                    entry: i,
                    partition_id: e.partition_id,
                })
            })
            .collect();
        let route = m.route(self.host_key).and_then(|e| {
            index(e).map(|i| RouteOut {
                entry: i,
                partition_id: e.partition_id,
                file_ref: e.file_ref_str(),
            })
        });
        let mut o = s.serialize_struct("Route", 5)?;
        o.serialize_field("host_key", &Hex(self.host_key))?;
        o.serialize_field("epoch", &epoch)?;
        o.serialize_field("owners", &owners)?;
        o.serialize_field("route", &route)?;
        o.serialize_field("text", &render_route(m, self.host_key))?;
        o.end()
    }
}

#[derive(Serialize)]
struct RouteOut {
    entry: usize,
    partition_id: u32,
    file_ref: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Uncompressed;
    use crate::partition::Partition;
    use crate::reader::Reader;
    use crate::write::{encode, WriteOptions};
    use serde_json::{json, Value};

    fn empty_file() -> alloc::vec::Vec<u8> {
        let p = Partition {
            id: 3,
            hostkey_lo: 0x10,
            hostkey_hi: u64::MAX,
            ..Default::default()
        };
        encode(&p, &WriteOptions::default(), &Uncompressed).expect("encodes")
    }

    #[test]
    fn keys_are_hex_strings_and_the_summary_carries_its_text() {
        let f = empty_file();
        let r = Reader::open(&f[..]).unwrap();
        let s = Summary::from_shape(r.shape());
        let v: Value = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["hostkey_range"],
            json!({"lo": "0x0000000000000010", "hi": "0xffffffffffffffff"})
        );
        assert_eq!(v["version"], json!({"major": 1, "minor": 0}));
        assert_eq!(v["partition_id"], json!(3));
        assert_eq!(v["next_due_range"], Value::Null);
        assert_eq!(v["text"], json!(s.render()));
        assert!(v["flags"]["bits"].is_number() && v["flags"]["names"].is_string());
    }

    #[test]
    fn findings_carry_place_offset_and_the_span_of_their_structure() {
        let mut f = empty_file();
        f[70] ^= 1; // inside url column 0's page header: its CRC or size breaks
        let report = crate::verify::verify_file(&f[..], &Default::default());
        let shape = crate::reader::read_shape(&f[..], 1 << 16).ok();
        let view = VerifyView {
            subject: Subject::File,
            report: &report,
            shape: shape.as_ref(),
            file_len: f.len() as u64,
        };
        let v: Value = serde_json::to_value(&view).unwrap();
        assert_eq!(v["ok"], json!(false));
        let first = &v["findings"][0];
        assert_eq!(first["severity"], json!("error"));
        assert!(first["place"]["name"].is_string(), "{first}");
        let (start, len) = (
            first["span"]["start"].as_u64().unwrap(),
            first["span"]["length"].as_u64().unwrap(),
        );
        assert!(start <= 70 && 70 < start + len.max(1), "{first}");
    }
}
