//! The `meguri.manifest` fleet catalog (`MGM1`): which partition file owns which host-key range,
//! routing of a host key to its owner, and the tiling check.
//!
//! Layout: `"MGM1" ‖ uvarint count ‖ entries ‖ u32 CRC32C of everything before it ‖ "MGM1"`.
//! Each entry: `u32 partition id ‖ uvarint len + file ref ‖ u64 lo ‖ u64 hi ‖ u64 urls ‖
//! u64 hosts ‖ u32 due_min ‖ f32 bytes/url ‖ u32 footer CRC ‖ u32 created ‖ u32 epoch`.
//!
//! Entries may carry different epochs while a rebalance is under way. The manifest's epoch is
//! the highest one present; routing and the tiling check consider only the entries of that
//! epoch (the reference always checks epoch 0 and routes over every entry).

use crate::bytes::{put_uvarint, Cursor};
use crate::crc::crc32c;
use crate::error::{Error, ErrorKind, Place, Result};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Manifest magic, first and last four bytes.
pub const MANIFEST_MAGIC: [u8; 4] = *b"MGM1";
const MIN_ENTRY_LEN: usize = 57;

/// One partition's catalog entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Partition id.
    pub partition_id: u32,
    /// Path or object key of the partition file.
    pub file_ref: Vec<u8>,
    /// Lowest owned host key.
    pub hostkey_lo: u64,
    /// Highest owned host key (inclusive).
    pub hostkey_hi: u64,
    /// URL rows in the file.
    pub url_count: u64,
    /// Host rows in the file.
    pub host_count: u64,
    /// Earliest nonzero due hour (0 if none).
    pub due_min: u32,
    /// The file's bytes per URL.
    pub bytes_per_url: f32,
    /// CRC32C of the file's footer (the u32 at `len - 8` of the file).
    pub file_crc32c: u32,
    /// The file's created hours.
    pub created_hours: u32,
    /// Rebalance epoch this entry belongs to.
    pub epoch: u32,
}

impl Entry {
    /// The catalog entry for a partition file, from its header and footer alone (the
    /// reference's rule: id, range, counts and created hours from the header, due_min and
    /// bytes/url from STATS, and the footer CRC from the trailer).
    pub fn of_file(file: &crate::reader::Shape, file_ref: Vec<u8>, epoch: u32) -> Entry {
        let h = &file.header;
        let st = file.footer.stats.unwrap_or_default();
        Entry {
            partition_id: h.partition_id,
            file_ref,
            hostkey_lo: h.hostkey_lo,
            hostkey_hi: h.hostkey_hi,
            url_count: h.url_count,
            host_count: h.host_count,
            due_min: st.due_min,
            bytes_per_url: st.bytes_per_url,
            file_crc32c: file.trailer.footer_crc,
            created_hours: h.created_hours,
            epoch,
        }
    }

    /// The file reference as text (invalid UTF-8 replaced).
    pub fn file_ref_str(&self) -> String {
        String::from_utf8_lossy(&self.file_ref).into_owned()
    }
}

/// A decoded manifest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Manifest {
    /// Entries in stored order.
    pub entries: Vec<Entry>,
    /// Legal but suspicious findings (bytes between the last entry and the CRC).
    pub warnings: Vec<Error>,
}

impl Manifest {
    /// Decodes and checks a manifest: both magics, the CRC, then every entry.
    pub fn parse(b: &[u8]) -> Result<Manifest> {
        let place = Place::Manifest { entry: None };
        if b.len() < 12 {
            return Err(Error::new(
                ErrorKind::ShortFile,
                format!(
                    "a manifest needs at least 12 bytes, this one has {}",
                    b.len()
                ),
            )
            .within(place)
            .at(0));
        }
        if b[..4] != MANIFEST_MAGIC {
            return Err(Error::new(
                ErrorKind::BadMagic,
                "leading magic is not \"MGM1\": not a meguri manifest",
            )
            .within(place)
            .at(0));
        }
        let n = b.len();
        if b[n - 4..] != MANIFEST_MAGIC {
            return Err(
                Error::new(ErrorKind::BadMagic, "trailing magic is not \"MGM1\"")
                    .within(place)
                    .at(n as u64 - 4),
            );
        }
        let stored = u32::from_le_bytes(b[n - 8..n - 4].try_into().expect("4 bytes"));
        let computed = crc32c(&b[..n - 8]);
        if stored != computed {
            return Err(Error::new(
                ErrorKind::Checksum,
                format!("manifest CRC32C is 0x{stored:08x} but its bytes give 0x{computed:08x}"),
            )
            .within(place)
            .at(n as u64 - 8));
        }
        let mut c = Cursor::new(&b[4..n - 8], 4);
        let count = c
            .count("entry count", MIN_ENTRY_LEN)
            .map_err(|e| e.within(place))?;
        let mut entries = Vec::with_capacity(count);
        for i in 0..count {
            let eplace = Place::Manifest {
                entry: Some(i as u32),
            };
            entries.push(parse_entry(&mut c).map_err(|e| e.within(eplace))?);
        }
        let mut warnings = Vec::new();
        if !c.is_empty() {
            warnings.push(
                Error::unused(format!(
                    "{} bytes between the last entry and the CRC are ignored",
                    c.remaining()
                ))
                .within(place)
                .at(c.offset()),
            );
        }
        Ok(Manifest { entries, warnings })
    }

    /// Encodes the manifest with entries in their current order.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&MANIFEST_MAGIC);
        put_uvarint(&mut out, self.entries.len() as u64);
        for e in &self.entries {
            out.extend_from_slice(&e.partition_id.to_le_bytes());
            put_uvarint(&mut out, e.file_ref.len() as u64);
            out.extend_from_slice(&e.file_ref);
            for v in [e.hostkey_lo, e.hostkey_hi, e.url_count, e.host_count] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&e.due_min.to_le_bytes());
            out.extend_from_slice(&e.bytes_per_url.to_bits().to_le_bytes());
            for v in [e.file_crc32c, e.created_hours, e.epoch] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        let crc = crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&MANIFEST_MAGIC);
        out
    }

    /// Sorts entries by (host-key low, partition id), the catalog's canonical order.
    pub fn sort(&mut self) {
        self.entries.sort_by_key(|e| (e.hostkey_lo, e.partition_id));
    }

    /// The manifest's epoch: the highest entry epoch (0 when empty).
    pub fn epoch(&self) -> u32 {
        self.entries.iter().map(|e| e.epoch).max().unwrap_or(0)
    }

    /// Indices of the entries at `epoch`, sorted by (lo, hi, partition id, stored index).
    fn at_epoch(&self, epoch: u32) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.entries[i].epoch == epoch)
            .collect();
        idx.sort_by_key(|&i| {
            let e = &self.entries[i];
            (e.hostkey_lo, e.hostkey_hi, e.partition_id, i)
        });
        idx
    }

    /// Every entry of the manifest's epoch whose range contains `host_key`, by ascending range
    /// start. More than one means the ranges overlap.
    pub fn owners(&self, host_key: u64) -> Vec<&Entry> {
        self.at_epoch(self.epoch())
            .into_iter()
            .map(|i| &self.entries[i])
            .filter(|e| e.hostkey_lo <= host_key && host_key <= e.hostkey_hi)
            .collect()
    }

    /// The partition that owns `host_key` at the manifest's epoch: the entry with the greatest
    /// range start at or below the key, if its range reaches the key.
    pub fn route(&self, host_key: u64) -> Option<&Entry> {
        let idx = self.at_epoch(self.epoch());
        let pos = idx.partition_point(|&i| self.entries[i].hostkey_lo <= host_key);
        let e = &self.entries[*idx.get(pos.checked_sub(1)?)?];
        (host_key <= e.hostkey_hi).then_some(e)
    }

    /// The tiling check at the manifest's own epoch.
    pub fn tiling(&self) -> Tiling {
        self.tiling_at(self.epoch())
    }

    /// Checks whether the entries of `epoch` tile `0..=u64::MAX`: lists every gap, every
    /// overlapping pair and every entry whose range is inverted.
    pub fn tiling_at(&self, epoch: u32) -> Tiling {
        let idx = self.at_epoch(epoch);
        let mut t = Tiling {
            epoch,
            considered: idx.len(),
            ..Tiling::default()
        };
        // `covered` is the highest key reached so far and the entry that reached it.
        let mut covered: Option<(u64, usize)> = None;
        // Entries whose ranges may still overlap later ones (hi >= current lo).
        let mut open: Vec<usize> = Vec::new();
        for &i in &idx {
            let e = &self.entries[i];
            if e.hostkey_lo > e.hostkey_hi {
                t.inverted.push(i);
                continue;
            }
            match covered {
                None if e.hostkey_lo > 0 => t.gaps.push(Gap {
                    lo: 0,
                    hi: e.hostkey_lo - 1,
                    before: None,
                    after: Some(i),
                }),
                Some((c, by)) if c < u64::MAX && e.hostkey_lo > c + 1 => t.gaps.push(Gap {
                    lo: c + 1,
                    hi: e.hostkey_lo - 1,
                    before: Some(by),
                    after: Some(i),
                }),
                _ => {}
            }
            open.retain(|&j| self.entries[j].hostkey_hi >= e.hostkey_lo);
            for &j in &open {
                t.overlaps.push(Overlap {
                    lo: e.hostkey_lo,
                    hi: self.entries[j].hostkey_hi.min(e.hostkey_hi),
                    first: j,
                    second: i,
                });
            }
            open.push(i);
            if covered.is_none_or(|(c, _)| e.hostkey_hi > c) {
                covered = Some((e.hostkey_hi, i));
            }
        }
        match covered {
            None => t.gaps.push(Gap {
                lo: 0,
                hi: u64::MAX,
                before: None,
                after: None,
            }),
            Some((c, by)) if c < u64::MAX => t.gaps.push(Gap {
                lo: c + 1,
                hi: u64::MAX,
                before: Some(by),
                after: None,
            }),
            _ => {}
        }
        t
    }

    /// Entries whose earliest due hour is at or before `now` (and nonzero), in stored order.
    pub fn due_parts(&self, now: u32) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| e.due_min != 0 && e.due_min <= now)
            .collect()
    }
}

fn parse_entry(c: &mut Cursor<'_>) -> Result<Entry> {
    let partition_id = c.u32("partition id")?;
    let len = c.count("file ref length", 1)?;
    let file_ref = c.take(len, "file ref")?.to_vec();
    Ok(Entry {
        partition_id,
        file_ref,
        hostkey_lo: c.u64("host-key low")?,
        hostkey_hi: c.u64("host-key high")?,
        url_count: c.u64("url count")?,
        host_count: c.u64("host count")?,
        due_min: c.u32("due min")?,
        bytes_per_url: c.f32("bytes per url")?,
        file_crc32c: c.u32("file CRC")?,
        created_hours: c.u32("created hours")?,
        epoch: c.u32("epoch")?,
    })
}

/// A stretch of host keys no entry owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// First unowned key.
    pub lo: u64,
    /// Last unowned key (inclusive).
    pub hi: u64,
    /// Entry index whose range ends just before the gap.
    pub before: Option<usize>,
    /// Entry index whose range starts just after the gap.
    pub after: Option<usize>,
}

/// A stretch of host keys two entries both claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overlap {
    /// First doubly-owned key.
    pub lo: u64,
    /// Last doubly-owned key (inclusive).
    pub hi: u64,
    /// Entry index of the range that starts first.
    pub first: usize,
    /// Entry index of the other range.
    pub second: usize,
}

/// The result of a tiling check.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tiling {
    /// Epoch checked.
    pub epoch: u32,
    /// Entries at that epoch.
    pub considered: usize,
    /// Every gap, in key order.
    pub gaps: Vec<Gap>,
    /// Every overlapping pair, in key order of the later range.
    pub overlaps: Vec<Overlap>,
    /// Entries whose low key is above their high key (ignored for coverage).
    pub inverted: Vec<usize>,
}

impl Tiling {
    /// Whether the ranges cover every key exactly once.
    pub fn is_clean(&self) -> bool {
        self.gaps.is_empty() && self.overlaps.is_empty() && self.inverted.is_empty()
    }
}

/// The text `meguri map` prints for a whole manifest: the reference's table (entries in stored
/// order), then the tiling check at the manifest's own epoch, every problem on its own line.
/// A manifest that tiles, or has only gaps, prints exactly what the reference prints.
pub fn render_map(m: &Manifest) -> String {
    use core::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "partition map ({} partitions)", m.entries.len());
    let (mut urls, mut hosts) = (0u64, 0u64);
    for e in &m.entries {
        let _ = writeln!(
            o,
            "  p{:<5}  0x{:016x} .. 0x{:016x}  {:>10} urls  {:>7} hosts  {:>6} b/url  epoch {}",
            e.partition_id,
            e.hostkey_lo,
            e.hostkey_hi,
            e.url_count,
            e.host_count,
            crate::inspect::fixed(f64::from(e.bytes_per_url), 2),
            e.epoch
        );
        urls = urls.wrapping_add(e.url_count);
        hosts = hosts.wrapping_add(e.host_count);
    }
    let _ = writeln!(o, "  total   {urls} urls  {hosts} hosts");
    o.push_str(&render_tiling(m, &m.tiling(), "  "));
    o
}

/// The lines of a tiling check of `m`, each after `prefix`: every inverted range, overlap and
/// gap, or that the ranges tile (the end of `meguri map`'s text, and of `serve --offline`'s
/// manifest report).
pub fn render_tiling(m: &Manifest, t: &Tiling, prefix: &str) -> String {
    use core::fmt::Write;
    let mut o = String::new();
    let name = |i: usize| {
        let e = &m.entries[i];
        format!("p{} ({})", e.partition_id, e.file_ref_str())
    };
    for &i in &t.inverted {
        let e = &m.entries[i];
        let _ = writeln!(
            o,
            "{prefix}inverted range [0x{:016x}, 0x{:016x}] in {}",
            e.hostkey_lo,
            e.hostkey_hi,
            name(i)
        );
    }
    for ov in &t.overlaps {
        let _ = writeln!(
            o,
            "{prefix}overlap [0x{:016x}, 0x{:016x}] between {} and {}",
            ov.lo,
            ov.hi,
            name(ov.first),
            name(ov.second)
        );
    }
    for g in &t.gaps {
        let _ = writeln!(o, "{prefix}coverage gap [0x{:016x}, 0x{:016x}]", g.lo, g.hi);
    }
    if t.is_clean() {
        let _ = writeln!(o, "{prefix}ranges tile the key space cleanly");
    }
    o
}

/// The line `meguri map --host KEY` prints.
pub fn render_route(m: &Manifest, host_key: u64) -> String {
    match m.route(host_key) {
        Some(e) => format!(
            "host 0x{host_key:016x} -> partition {} ({})\n",
            e.partition_id,
            e.file_ref_str()
        ),
        None => format!("host 0x{host_key:016x} -> no owning partition\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn entry(id: u32, lo: u64, hi: u64, epoch: u32) -> Entry {
        Entry {
            partition_id: id,
            file_ref: format!("p{id}.meguri").into_bytes(),
            hostkey_lo: lo,
            hostkey_hi: hi,
            url_count: 10,
            host_count: 2,
            due_min: 0,
            bytes_per_url: 1.5,
            file_crc32c: 7,
            created_hours: 1,
            epoch,
        }
    }

    #[test]
    fn sort_and_route() {
        let mut m = Manifest {
            entries: vec![
                entry(3, 0x8000, u64::MAX, 0),
                entry(1, 0, 0x3fff, 0),
                entry(2, 0x4000, 0x7fff, 0),
            ],
            warnings: vec![],
        };
        m.sort();
        assert_eq!(m.entries[0].partition_id, 1);
        let id = |k| m.route(k).map(|e| e.partition_id);
        assert_eq!(id(0), Some(1));
        assert_eq!(id(0x3fff), Some(1));
        assert_eq!(id(0x4000), Some(2));
        assert_eq!(id(0x9999), Some(3));
        assert_eq!(id(u64::MAX), Some(3));
        assert!(m.tiling().is_clean());
    }

    #[test]
    fn gaps_and_overlaps_all_listed() {
        let m = Manifest {
            entries: vec![
                entry(1, 0x10, 0x20, 0),
                entry(2, 0x30, 0x50, 0),
                entry(3, 0x40, 0x60, 0),
                entry(4, 0x45, 0x48, 0),
            ],
            warnings: vec![],
        };
        let t = m.tiling();
        let gaps: Vec<(u64, u64)> = t.gaps.iter().map(|g| (g.lo, g.hi)).collect();
        assert_eq!(gaps, vec![(0, 0xf), (0x21, 0x2f), (0x61, u64::MAX)]);
        let ov: Vec<(u64, u64)> = t.overlaps.iter().map(|o| (o.lo, o.hi)).collect();
        assert_eq!(ov, vec![(0x40, 0x50), (0x45, 0x48), (0x45, 0x48)]);
        assert_eq!(m.route(0x25), None);
        assert_eq!(m.route(5), None);
        assert_eq!(m.owners(0x46).len(), 3);
    }

    #[test]
    fn epochs_and_wrap() {
        // Two halves at epoch 1 tile cleanly; a stale epoch-0 entry does not matter.
        let m = Manifest {
            entries: vec![
                entry(9, 0, 5, 0),
                entry(1, 0, 1 << 63, 1),
                entry(2, (1 << 63) + 1, u64::MAX, 1),
            ],
            warnings: vec![],
        };
        assert_eq!(m.epoch(), 1);
        assert!(m.tiling().is_clean());
        // An entry after one that ends at the top of the key space is an overlap, not a gap.
        let m = Manifest {
            entries: vec![entry(1, 0, u64::MAX, 0), entry(2, 0x10, 0x20, 0)],
            warnings: vec![],
        };
        let t = m.tiling();
        assert!(t.gaps.is_empty());
        assert_eq!(t.overlaps.len(), 1);
        // The reference's gap example.
        let m = Manifest {
            entries: vec![entry(1, 0, 0x10, 0), entry(2, 0x20, u64::MAX, 0)],
            warnings: vec![],
        };
        assert_eq!(m.tiling().gaps[0].lo, 0x11);
        assert_eq!(m.tiling().gaps[0].hi, 0x1f);
        let empty = Manifest::default();
        assert_eq!(empty.tiling().gaps[0].hi, u64::MAX);
    }

    #[test]
    fn encode_round_trip_and_crc() {
        let m = Manifest {
            entries: vec![entry(1, 0, 0x10, 5), entry(2, 0x11, u64::MAX, 5)],
            warnings: vec![],
        };
        let b = m.encode();
        assert_eq!(Manifest::parse(&b).unwrap(), m);
        // Floats travel as bit patterns, NaN payloads included.
        let mut odd = m.clone();
        odd.entries[0].bytes_per_url = f32::from_bits(0x7fc0_1234);
        let again = Manifest::parse(&odd.encode()).unwrap();
        assert_eq!(again.entries[0].bytes_per_url.to_bits(), 0x7fc0_1234);
        let mut bad = b.clone();
        bad[8] ^= 1;
        assert_eq!(Manifest::parse(&bad).unwrap_err().kind, ErrorKind::Checksum);
    }
}
