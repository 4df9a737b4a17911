//! `verify`: check everything in a file and report every problem, each with its place, byte
//! offset and a plain sentence. Errors (the file breaks the format or its own invariants) are
//! kept apart from warnings (legal but suspicious).
//!
//! Checks, in order: header magic, CRC and version; trailer magic and footer framing; footer
//! CRC and every section (these through the reader's own open path, which stops where
//! `verify` goes on); region bounds, overlaps and CRCs; every column's directory entry,
//! CRC, pages (CRC, codec, decoded length, encoding) and zone maps; row counts against the
//! header; URL rows sorted by (host key, path key) and host rows by host key; every host key
//! inside the header's range; every arena reference; the schedule wheel against `next_due`;
//! the seen-set filter against the URL keys; and the STATS block against the data.
//!
//! There is one verifier, [`Verifier`] (in [`steps`]): it does this in bounded steps through
//! any [`Source`], so `meguri verify`, the browser inspector and [`verify_file`] (which runs
//! every step) share one set of rules and report the same findings in the same order. This
//! module holds the rules the steps apply and the report they make.

use crate::error::{Error, ErrorKind, Finding, Place, Severity, Table};
use crate::format::footer::{
    section_name, stats_at, RegionDesc, Stats, TAG_HOST_COLUMNS, TAG_META, TAG_REGIONS, TAG_STATS,
    TAG_URL_COLUMNS,
};
use crate::format::header::{header_at, Header};
use crate::format::page::PAGE_HEADER_LEN;
use crate::format::{FLAG_FOOTER_ZSTD, FLAG_SORTED};
use crate::manifest::Manifest;
use crate::reader::{ReadOptions, Shape};
use crate::schedule::{wheel_at, Wheel};
use crate::source::Source;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

pub mod steps;

pub use steps::{Phase, Progress, Verifier};

/// How many row-level findings of one kind are listed before they are summarised.
pub const ROW_FINDINGS_LISTED: usize = 20;

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every finding, in the order the checks ran.
    pub findings: Vec<Finding>,
    /// Columns whose pages were decoded.
    pub columns_checked: usize,
    /// Pages decoded.
    pub pages_checked: u64,
    /// Rows checked per table (URL, host).
    pub rows_checked: (u64, u64),
}

impl Report {
    /// Number of error findings.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count()
    }
    /// Number of warning findings.
    pub fn warnings(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count()
    }
    /// Whether there is no error (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors() == 0
    }
    fn err(&mut self, e: Error) {
        self.findings.push(Finding::error(e));
    }
    fn warn(&mut self, e: Error) {
        self.findings.push(Finding::warning(e));
    }
}

/// Collects row-level findings of one kind, listing the first few and counting the rest.
struct RowFindings {
    severity: Severity,
    what: &'static str,
    listed: Vec<Error>,
    more: u64,
    place: Place,
}

impl RowFindings {
    fn new(severity: Severity, what: &'static str, place: Place) -> Self {
        RowFindings {
            severity,
            what,
            listed: Vec::new(),
            more: 0,
            place,
        }
    }
    fn push(&mut self, e: impl FnOnce() -> Error) {
        if self.listed.len() < ROW_FINDINGS_LISTED {
            self.listed.push(e());
        } else {
            self.more += 1;
        }
    }
    fn flush(self, r: &mut Report) {
        let sev = self.severity;
        // The summary line is of the same kind as the findings it stands for.
        let kind = self.listed.first().map_or(ErrorKind::Corrupt, |e| e.kind);
        for e in self.listed {
            r.findings.push(Finding {
                severity: sev,
                error: e,
            });
        }
        if self.more > 0 {
            r.findings.push(Finding {
                severity: sev,
                error: Error::new(
                    kind,
                    format!(
                        "{} more rows with the same problem: {}",
                        self.more, self.what
                    ),
                )
                .within(self.place),
            });
        }
    }
}

/// Verifies a `.meguri` file: every check of [`Verifier`], run to the end.
///
/// The shape (header, trailer, footer) is read through the reader's own
/// [`crate::reader::read_shape_into`], and the column directories are judged by the reader's
/// [`crate::reader::missing_columns`], [`crate::reader::directory_entry`] and
/// [`crate::column::check_dir`], so `verify` and every reader agree on what a file is; `verify`
/// only goes on where the reader stops. Memory stays bounded whatever the file's size (see
/// [`steps`]).
pub fn verify_file<S: Source + ?Sized>(src: &S, opts: &ReadOptions) -> Report {
    Verifier::new(src, opts).run()
}

/// The footer's own findings, and the sections a file must have or need not have.
fn check_footer(r: &mut Report, shape: &Shape) {
    let footer = &shape.footer;
    for e in &footer.errors {
        r.err(e.clone());
    }
    for w in &footer.warnings {
        r.warn(w.clone());
    }
    for (tag, name) in [
        (TAG_REGIONS, "regions"),
        (TAG_URL_COLUMNS, "url columns"),
        (TAG_HOST_COLUMNS, "host columns"),
        (TAG_STATS, "stats"),
    ] {
        if !footer.sections.iter().any(|s| s.tag == tag) {
            r.err(
                Error::corrupt(format!("the {name} section is missing"))
                    .within(Place::Section(tag))
                    .at(shape.footer_start),
            );
        }
    }
    for s in &footer.sections {
        if section_name(s.tag).is_none() {
            r.warn(
                Error::unknown(format!(
                    "unknown section tag {} ({} bytes) skipped",
                    s.tag, s.body_len
                ))
                .within(Place::Section(s.tag))
                .at(s.offset),
            );
        }
    }
}

/// The header fields no reader depends on, against what writers put there.
fn check_header(r: &mut Report, header: &Header) {
    if header.hostkey_lo > header.hostkey_hi {
        r.err(
            Error::corrupt(format!(
                "host-key range 0x{:016x} .. 0x{:016x} is inverted",
                header.hostkey_lo, header.hostkey_hi
            ))
            .within(Place::Header)
            .at(header_at::HOSTKEY_LO as u64),
        );
    }
    let flags_at = header_at::FLAGS as u64;
    if header.flags & FLAG_SORTED == 0 {
        r.warn(
            Error::inconsistent("the sorted flag is not set (every writer sets it)")
                .within(Place::Header)
                .at(flags_at),
        );
    }
    if header.flags & FLAG_FOOTER_ZSTD != 0 {
        r.warn(
            Error::inconsistent(
                "the footer-zstd flag is set, but the footer is read uncompressed (no v1 reader \
                 supports compressed footers)",
            )
            .within(Place::Header)
            .at(flags_at),
        );
    }
    if header.flags & !0x7f != 0 {
        r.warn(
            Error::unknown(format!(
                "unknown header flag bits 0x{:04x}",
                header.flags & !0x7f
            ))
            .within(Place::Header)
            .at(flags_at),
        );
    }
    if header.checksum_algo != 1 {
        r.warn(
            Error::unknown(format!(
                "checksum algorithm byte is {}, but CRC32C is used regardless",
                header.checksum_algo
            ))
            .within(Place::Header)
            .at(header_at::CHECKSUM_ALGO as u64),
        );
    }
    if header.default_codec > 3 {
        r.warn(
            Error::unknown(format!("unknown default codec {}", header.default_codec))
                .within(Place::Header)
                .at(header_at::DEFAULT_CODEC as u64),
        );
    }
}

/// The STATS section against the header, the directories and `next_due`.
fn check_stats(r: &mut Report, shape: &Shape, due: Option<DueSummary>) {
    let (footer, header) = (&shape.footer, &shape.header);
    let Some(st) = footer.stats else { return };
    let spl = Place::Stats;
    let at = footer
        .sections
        .iter()
        .rev()
        .find(|s| s.tag == TAG_STATS)
        .map_or(shape.footer_start, |s| s.body_offset);
    let mut cmp = |what: &str, stored: u64, actual: u64, field: usize| {
        if stored != actual {
            r.err(
                Error::corrupt(format!("{what} is {stored}, the file says {actual}"))
                    .within(spl)
                    .at(at + field as u64),
            );
        }
    };
    cmp(
        "url_count",
        st.url_count,
        header.url_count,
        stats_at::URL_COUNT,
    );
    cmp(
        "host_count",
        st.host_count,
        header.host_count,
        stats_at::HOST_COUNT,
    );
    cmp(
        "hostkey_lo",
        st.hostkey_lo,
        header.hostkey_lo,
        stats_at::HOSTKEY_LO,
    );
    cmp(
        "hostkey_hi",
        st.hostkey_hi,
        header.hostkey_hi,
        stats_at::HOSTKEY_HI,
    );
    let dirs = || footer.url_columns.iter().chain(&footer.host_columns);
    let tc: u64 = dirs()
        .map(|d| d.total_compressed)
        .fold(0, u64::wrapping_add);
    cmp(
        "total_compressed",
        st.total_compressed,
        tc,
        stats_at::TOTAL_COMPRESSED,
    );
    let tu: u64 = dirs()
        .map(|d| d.total_uncompressed)
        .fold(0, u64::wrapping_add);
    cmp(
        "total_uncompressed",
        st.total_uncompressed,
        tu,
        stats_at::TOTAL_UNCOMPRESSED,
    );
    if let Some(due) = due {
        cmp(
            "due_min",
            u64::from(st.due_min),
            u64::from(due.min),
            stats_at::DUE_MIN,
        );
        cmp(
            "due_max",
            u64::from(st.due_max),
            u64::from(due.max),
            stats_at::DUE_MAX,
        );
        let scheduled = due.scheduled;
        if st.scheduled_count != 0 && st.scheduled_count != scheduled {
            r.warn(
                Error::inconsistent(format!(
                    "scheduled_count is {}, but {scheduled} rows have a due time (0 is also \
                     accepted: the reference never fills it)",
                    st.scheduled_count
                ))
                .within(spl)
                .at(at + stats_at::SCHEDULED_COUNT as u64),
            );
        }
    }
    let bpu = Stats::bytes_per_url_of(header.footer_offset, header.url_count);
    if bpu.to_bits() != st.bytes_per_url.to_bits() {
        r.err(
            Error::corrupt(format!(
                "bytes_per_url is {}, footer offset / URL rows gives {bpu}",
                st.bytes_per_url
            ))
            .within(spl)
            .at(at + stats_at::BYTES_PER_URL as u64),
        );
    }
}

/// The metadata section's key order.
fn check_meta(r: &mut Report, shape: &Shape) {
    let footer = &shape.footer;
    let Some(meta) = &footer.meta else { return };
    if meta.windows(2).any(|w| w[0].0 >= w[1].0) {
        let at = footer
            .sections
            .iter()
            .rev()
            .find(|s| s.tag == TAG_META)
            .map_or(shape.footer_start, |s| s.offset);
        r.warn(
            Error::inconsistent("metadata keys are not in strictly ascending byte order")
                .within(Place::Section(TAG_META))
                .at(at),
        );
    }
}

/// What the STATS block says of `next_due`, gathered a value at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct DueSummary {
    /// The smallest nonzero value (0 when no row is due).
    min: u32,
    /// The largest value.
    max: u32,
    /// Rows with a due time.
    scheduled: u64,
}

impl DueSummary {
    fn add(&mut self, d: u32) {
        if d != 0 {
            self.min = if self.scheduled == 0 {
                d
            } else {
                self.min.min(d)
            };
            self.scheduled += 1;
        }
        self.max = self.max.max(d);
    }
}

/// Row keys of one table, a row at a time in row order: keys strictly ascending (a repeat is a
/// warning) and host keys inside the header's range. Keeps only the previous key.
struct KeyCheck<K> {
    rules: &'static KeyRules,
    prev: Option<K>,
    unsorted: RowFindings,
    repeated: RowFindings,
    range: RowFindings,
}

impl<K: KeyText> KeyCheck<K> {
    fn new(rules: &'static KeyRules) -> Self {
        let place = Place::Row {
            table: rules.table,
            row: 0,
        };
        KeyCheck {
            rules,
            prev: None,
            unsorted: RowFindings::new(Severity::Error, rules.unsorted, place),
            repeated: RowFindings::new(Severity::Warning, rules.repeated, place),
            range: RowFindings::new(
                Severity::Error,
                "a host key outside the header's range",
                place,
            ),
        }
    }

    /// Row `i`, of key `b` and host key `hk`.
    fn row(&mut self, i: u64, b: K, hk: u64, h: &Header) {
        let rules = self.rules;
        let place = Place::Row {
            table: rules.table,
            row: i,
        };
        if let Some(a) = self.prev {
            if b < a {
                self.unsorted.push(|| {
                    Error::new(
                        ErrorKind::NotSorted,
                        format!(
                            "{} {} sorts before the previous row's {}",
                            rules.key,
                            b.text(),
                            a.text()
                        ),
                    )
                    .within(place)
                });
            } else if a == b {
                self.repeated.push(|| {
                    Error::duplicate(format!(
                        "{} {} repeats the previous row's",
                        rules.key,
                        b.text()
                    ))
                    .within(place)
                });
            }
        }
        self.prev = Some(b);
        if hk < h.hostkey_lo || hk > h.hostkey_hi {
            self.range.push(|| {
                Error::corrupt(format!(
                    "host key 0x{hk:016x} is outside the partition's range 0x{:016x} .. 0x{:016x}",
                    h.hostkey_lo, h.hostkey_hi
                ))
                .within(place)
            });
        }
    }

    fn flush(self, r: &mut Report) {
        self.unsorted.flush(r);
        self.repeated.flush(r);
        self.range.flush(r);
    }
}

/// How [`check_keys`] words one table's findings.
struct KeyRules {
    table: Table,
    /// What a key is called in a finding.
    key: &'static str,
    /// The summary of rows out of order.
    unsorted: &'static str,
    /// The summary of rows repeating the previous key.
    repeated: &'static str,
}

const URL_KEYS: KeyRules = KeyRules {
    table: Table::Url,
    key: "URL key",
    unsorted: "rows out of (host key, path key) order",
    repeated: "a URL key equal to the previous row's",
};

const HOST_KEYS: KeyRules = KeyRules {
    table: Table::Host,
    key: "host key",
    unsorted: "host rows out of host-key order",
    repeated: "a host key equal to the previous row's",
};

/// A row key as findings print it.
trait KeyText: Ord + Copy {
    fn text(self) -> String;
}

impl KeyText for u64 {
    fn text(self) -> String {
        format!("0x{self:016x}")
    }
}

impl KeyText for (u64, u64) {
    fn text(self) -> String {
        format!("0x{:016x}:0x{:016x}", self.0, self.1)
    }
}

/// The absolute offset of byte `field` of the payload of a special region's single page.
fn payload_at(region: &RegionDesc, field: usize) -> u64 {
    region.offset + (PAGE_HEADER_LEN + field) as u64
}

fn check_wheel(r: &mut Report, w: &Wheel, next_due: &[u32], region: &RegionDesc) {
    let pl = Place::Schedule;
    if u64::from(w.covered) != next_due.len() as u64 {
        r.err(
            Error::corrupt(format!(
                "wheel covers {} rows, the URL table has {}",
                w.covered,
                next_due.len()
            ))
            .within(pl)
            .at(payload_at(region, wheel_at::COVERED)),
        );
    }
    let Some(expected) = Wheel::build(next_due) else {
        r.err(
            Error::corrupt("a schedule region is present but no URL row has a due time")
                .within(pl)
                .at(region.offset),
        );
        return;
    };
    if w.base != expected.base {
        r.err(
            Error::corrupt(format!(
                "wheel base is hour {}, the smallest nonzero next_due is {}",
                w.base, expected.base
            ))
            .within(pl)
            .at(payload_at(region, wheel_at::BASE)),
        );
        return;
    }
    let mut bad = RowFindings::new(
        Severity::Error,
        "a wheel bucket that disagrees with next_due",
        pl,
    );
    for b in 0..crate::schedule::BUCKETS {
        let (got, want) = (w.bucket_rows(b), expected.bucket_rows(b));
        if got != want {
            let missing = want.iter().filter(|x| !got.contains(x)).count();
            let extra = got.iter().filter(|x| !want.contains(x)).count();
            bad.push(|| Error::corrupt(format!("bucket {b} lists {} rows; next_due puts {} there ({missing} missing, {extra} that belong elsewhere)", got.len(), want.len())).within(pl).at(region.offset));
        }
    }
    bad.flush(r);
}

/// Verifies a manifest: framing, CRC, every entry, and that the entries of its epoch tile the
/// host-key space (every gap and overlap is an error).
pub fn verify_manifest(bytes: &[u8]) -> Report {
    let mut r = Report::default();
    let m = match Manifest::parse(bytes) {
        Ok(m) => m,
        Err(e) => {
            r.err(e);
            return r;
        }
    };
    for w in &m.warnings {
        r.warn(w.clone());
    }
    let t = m.tiling();
    let name = |i: usize| {
        let e = &m.entries[i];
        format!("partition {} ({})", e.partition_id, e.file_ref_str())
    };
    for &i in &t.inverted {
        let e = &m.entries[i];
        r.err(
            Error::corrupt(format!(
                "range 0x{:016x} .. 0x{:016x} is inverted",
                e.hostkey_lo, e.hostkey_hi
            ))
            .within(Place::Manifest {
                entry: Some(i as u32),
            }),
        );
    }
    for g in &t.gaps {
        let between = match (g.before, g.after) {
            (Some(a), Some(b)) => format!(" between {} and {}", name(a), name(b)),
            (None, Some(b)) => format!(" before {}", name(b)),
            (Some(a), None) => format!(" after {}", name(a)),
            (None, None) => String::from(" (no entry at this epoch)"),
        };
        r.err(
            Error::corrupt(format!(
                "epoch {}: host keys [0x{:016x}, 0x{:016x}] have no owner{between}",
                t.epoch, g.lo, g.hi
            ))
            .within(Place::Manifest {
                entry: g.after.or(g.before).map(|i| i as u32),
            }),
        );
    }
    for o in &t.overlaps {
        r.err(
            Error::corrupt(format!(
                "epoch {}: host keys [0x{:016x}, 0x{:016x}] are owned by both {} and {}",
                t.epoch,
                o.lo,
                o.hi,
                name(o.first),
                name(o.second)
            ))
            .within(Place::Manifest {
                entry: Some(o.second as u32),
            }),
        );
    }
    let mut ids: Vec<(u32, u32)> = m
        .entries
        .iter()
        .map(|e| (e.epoch, e.partition_id))
        .collect();
    ids.sort_unstable();
    for w in ids.windows(2) {
        if w[0] == w[1] {
            r.warn(
                Error::duplicate(format!(
                    "partition id {} appears more than once at epoch {}",
                    w[0].1, w[0].0
                ))
                .within(Place::Manifest { entry: None }),
            );
        }
    }
    r
}

/// Compares manifest entry `index` with the shape of the partition file it names: partition
/// id, host-key range, row counts, due minimum, bytes per URL, created hours and the footer CRC
/// must all be what the file says. Every mismatch is an error.
pub fn check_manifest_entry(
    index: usize,
    e: &crate::manifest::Entry,
    file: &crate::reader::Shape,
) -> Vec<Finding> {
    let pl = Place::Manifest {
        entry: Some(index as u32),
    };
    let f = crate::manifest::Entry::of_file(file, Vec::new(), e.epoch);
    /// How a compared field prints.
    enum Shown {
        Dec,
        Key,
        Crc,
        F32,
    }
    let show = |v: u64, how: &Shown| match how {
        Shown::Dec => format!("{v}"),
        Shown::Key => format!("0x{v:016x}"),
        Shown::Crc => format!("0x{v:08x}"),
        Shown::F32 => format!("{}", f32::from_bits(v as u32)),
    };
    // (field, manifest value, file value, how it prints); floats compare as bit patterns.
    let fields = [
        (
            "partition id",
            u64::from(e.partition_id),
            u64::from(f.partition_id),
            Shown::Dec,
        ),
        ("host-key low", e.hostkey_lo, f.hostkey_lo, Shown::Key),
        ("host-key high", e.hostkey_hi, f.hostkey_hi, Shown::Key),
        ("url count", e.url_count, f.url_count, Shown::Dec),
        ("host count", e.host_count, f.host_count, Shown::Dec),
        (
            "due_min",
            u64::from(e.due_min),
            u64::from(f.due_min),
            Shown::Dec,
        ),
        (
            "bytes/url",
            u64::from(e.bytes_per_url.to_bits()),
            u64::from(f.bytes_per_url.to_bits()),
            Shown::F32,
        ),
        (
            "created hours",
            u64::from(e.created_hours),
            u64::from(f.created_hours),
            Shown::Dec,
        ),
        (
            "footer CRC",
            u64::from(e.file_crc32c),
            u64::from(f.file_crc32c),
            Shown::Crc,
        ),
    ];
    fields
        .iter()
        .filter(|(_, a, b, _)| a != b)
        .map(|(what, a, b, how)| {
            Finding::error(
                Error::corrupt(format!(
                    "{what} is {} in the manifest but {} in {}",
                    show(*a, how),
                    show(*b, how),
                    e.file_ref_str()
                ))
                .within(pl),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::column::column_range;
    use crate::format::page::PAGE_HEADER_LEN;
    use crate::format::{REGION_URL_TABLE, TRAILER_LEN};
    use crate::reader::Reader;
    use crate::schema::{self, host, url};
    use crate::source::CountingSource;
    use crate::testing::{file, partition, with_footer};

    fn report(f: &[u8]) -> Report {
        verify_file(f, &ReadOptions::default())
    }

    fn texts(r: &Report) -> Vec<String> {
        r.findings.iter().map(|f| format!("{f}")).collect()
    }

    #[test]
    fn our_files_verify_clean_and_each_region_is_read_once() {
        let p = partition(7, 9);
        let f = file(&p, 10);
        let r = report(&f);
        assert!(r.findings.is_empty(), "{:?}", texts(&r));
        assert_eq!(r.columns_checked, 43);
        assert_eq!(r.rows_checked, (63, 7));
        // 63 URL rows at 10 a page, 7 host rows in one page, the wheel and the arena.
        assert_eq!(r.pages_checked, 23 * 7 + 20 + 2);
        // With the smallest tail read, every byte of the file is read once (header, regions,
        // whose columns are decoded from the region's own reads, footer, trailer); then the
        // columns the row walks need are read again a page at a time, so that no column is
        // ever held whole: the URL keys (order, filter), the host keys twice (merged with the
        // URL rows, then in their own order) and each reference column that holds a reference
        // twice (gathering the batch checked against the arena, then listing what failed).
        let src = CountingSource::new(&f[..]);
        let opts = ReadOptions {
            tail_guess: TRAILER_LEN as u64,
            ..ReadOptions::default()
        };
        assert!(verify_file(&src, &opts).is_ok());
        let reader = Reader::open(&f[..]).unwrap();
        let len = |t, id| column_range(reader.column_dir(t, id).unwrap()).unwrap().1;
        let mut again = len(Table::Url, url::HOST_KEY)
            + len(Table::Url, url::PATH_KEY)
            + 2 * len(Table::Host, host::HOST_KEY);
        for (t, ids) in [
            (Table::Url, schema::URL_ARENA_REFS),
            (Table::Host, schema::HOST_ARENA_REFS),
        ] {
            for id in ids {
                let v = reader.read_column(t, id).unwrap();
                if v.as_ints().iter().any(|&r| r != 0) {
                    again += 2 * len(t, id);
                }
            }
        }
        assert_eq!(src.bytes(), f.len() as u64 + again);
    }

    #[test]
    fn a_damaged_page_is_reported_by_every_check_that_sees_it_in_file_order() {
        let f = file(&partition(3, 4), 1000);
        let reader = Reader::open(&f[..]).unwrap();
        let dir = reader.column_dir(Table::Url, url::DEPTH).unwrap();
        let mut bad = f.clone();
        bad[dir.first_page_offset as usize + PAGE_HEADER_LEN] ^= 0x10;
        let r = report(&bad);
        let found: Vec<(Place, ErrorKind)> = r
            .findings
            .iter()
            .map(|f| (f.error.place, f.error.kind))
            .collect();
        let column = |page| Place::Column {
            table: Table::Url,
            column: url::DEPTH,
            page,
        };
        assert_eq!(
            found,
            [
                (Place::Region(REGION_URL_TABLE), ErrorKind::Checksum),
                (column(None), ErrorKind::Checksum),
                (column(Some(0)), ErrorKind::Checksum),
            ]
        );
        assert_eq!(r.columns_checked, 43, "the other columns are still checked");
    }

    #[test]
    fn a_footer_crc_mismatch_is_the_footers_and_the_rest_is_still_checked() {
        let f = file(&partition(3, 4), 1000);
        let mut bad = f.clone();
        let n = bad.len();
        bad[n - TRAILER_LEN - 2] ^= 1; // a metadata value byte
        let r = report(&bad);
        assert_eq!(r.errors(), 1, "{:?}", texts(&r));
        assert_eq!(r.findings[0].error.place, Place::Footer);
        assert_eq!(r.findings[0].error.offset, Some(n as u64 - 8));
        assert_eq!(r.columns_checked, 43);
        let open = Reader::open(&bad[..]).err().unwrap();
        assert_eq!(
            open, r.findings[0].error,
            "verify and the reader say the same"
        );
    }

    #[test]
    fn directory_findings_agree_with_what_the_reader_opens() {
        let f = file(&partition(3, 4), 1000);
        let missing = with_footer(&f, |d| d.host_columns.retain(|c| c.column_id != 9));
        let r = report(&missing);
        // (The STATS totals, which count the column, then disagree too.)
        assert_eq!(
            texts(&r)[0],
            "error: footer section 3 (host columns): host column 9 (crawl_delay) is missing from \
             the directory"
        );
        assert_eq!(
            Some(r.findings[0].error.clone()),
            Reader::open(&missing[..]).err()
        );
        let shadowed = with_footer(&f, |d| {
            let mut bad = d.url_columns[3].clone();
            bad.num_values = 1;
            // STATS totals count every directory entry, the shadowed one too.
            let st = d.stats.as_mut().unwrap();
            st.total_compressed += bad.total_compressed;
            st.total_uncompressed += bad.total_uncompressed;
            d.url_columns.insert(0, bad);
        });
        let r = report(&shadowed);
        assert!(r.is_ok(), "{:?}", texts(&r));
        assert_eq!(r.warnings(), 1);
        assert_eq!(r.findings[0].error.kind, ErrorKind::Duplicate);
        assert!(Reader::open(&shadowed[..]).is_ok());
    }

    #[test]
    fn unresolved_arena_references_are_errors_row_by_row() {
        let mut p = partition(2, 30);
        let end = p.arena.len() as u64;
        for u in p.urls.iter_mut().skip(5) {
            u.url_ref = end + 10;
        }
        let r = report(&file(&p, 1000));
        let t = texts(&r);
        assert_eq!(r.errors(), ROW_FINDINGS_LISTED + 1, "{t:?}");
        assert!(t[0].starts_with("error: url row 5: url_ref"), "{}", t[0]);
        assert!(t[0].ends_with(&format!("is past the end of the arena ({end} bytes)")));
        assert_eq!(
            t[ROW_FINDINGS_LISTED],
            "error: url column 6: 35 more rows with the same problem: an arena reference that does not resolve"
        );
    }

    #[test]
    fn keys_out_of_order_repeated_or_out_of_range() {
        let header = Header {
            hostkey_lo: 10,
            hostkey_hi: 100,
            ..Header::default()
        };
        let hk = [10u64, 20, 20, 15, 200];
        let pk = [1u64, 1, 1, 9, 1];
        let mut r = Report::default();
        let mut k = KeyCheck::new(&URL_KEYS);
        for i in 0..5 {
            k.row(i as u64, (hk[i], pk[i]), hk[i], &header);
        }
        k.flush(&mut r);
        assert_eq!(
            texts(&r),
            [
                "error: url row 3: URL key 0x000000000000000f:0x0000000000000009 sorts before the previous row's 0x0000000000000014:0x0000000000000001",
                "warning: url row 2: URL key 0x0000000000000014:0x0000000000000001 repeats the previous row's",
                "error: url row 4: host key 0x00000000000000c8 is outside the partition's range 0x000000000000000a .. 0x0000000000000064",
            ]
        );
        let mut r = Report::default();
        let mut k = KeyCheck::new(&HOST_KEYS);
        for (i, key) in (0..30u64).rev().map(|k| k + 10).enumerate() {
            k.row(i as u64, key, key, &header);
        }
        k.flush(&mut r);
        assert_eq!(r.errors(), ROW_FINDINGS_LISTED + 1);
        let last = &r.findings[ROW_FINDINGS_LISTED].error;
        assert_eq!(last.kind, ErrorKind::NotSorted);
        assert_eq!(
            last.message,
            "9 more rows with the same problem: host rows out of host-key order"
        );
    }

    #[test]
    fn stats_are_held_to_the_data() {
        let p = partition(3, 4);
        let due_max = p.urls.iter().map(|u| u.next_due).max().unwrap();
        let f = file(&p, 1000);
        let wrong = with_footer(&f, |d| {
            let st = d.stats.as_mut().unwrap();
            st.host_count += 1;
            st.due_max += 1;
        });
        let r = report(&wrong);
        let stats_at_body = Reader::open(&wrong[..])
            .unwrap()
            .footer()
            .sections
            .iter()
            .find(|s| s.tag == TAG_STATS)
            .unwrap()
            .body_offset;
        let found: Vec<(String, Option<u64>)> = r
            .findings
            .iter()
            .map(|f| (f.error.message.clone(), f.error.offset))
            .collect();
        let due = format!("due_max is {}, the file says {due_max}", due_max + 1);
        assert_eq!(
            found,
            [
                (
                    "host_count is 4, the file says 3".into(),
                    Some(stats_at_body + 8)
                ),
                (due, Some(stats_at_body + 44)),
            ]
        );
    }
}
