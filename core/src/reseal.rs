//! Recomputing every checksum of a file after its bytes were changed on purpose.
//!
//! A damage test that flips a byte inside a page is stopped by the page's CRC before any
//! decoder sees it. [`reseal`] rewrites, in place, every CRC the format keeps over the changed
//! bytes (page payload, column, region, footer, header), so the damage reaches the parts that
//! only the decoders can judge: zstd frames, encodings, row order, references. It is a tool for
//! corruption sweeps and fuzzing, not for repairing files: a resealed file is only as good as
//! the bytes it was given.

use crate::bytes::read_uvarint;
use crate::crc::{crc32c, Crc32c};
use crate::format::footer::{region_at, Footer, RegionDesc, REGION_DESC_LEN, TAG_REGIONS};
use crate::format::header::{header_at, trailer_at, Header, Trailer};
use crate::format::layout::Field;
use crate::format::page::{page_at, PageHeader, PAGE_HEADER_LEN};
use crate::format::{HEADER_LEN, MIN_FILE_LEN, REGION_HOST_TABLE, REGION_URL_TABLE, TRAILER_LEN};
use crate::Table;

/// Rewrites every checksum of `file` to match its bytes. Returns `false` (leaving the file as
/// it was from the first structure it could not follow) when the header, trailer or footer
/// cannot be parsed; offsets that point outside the file are skipped.
pub fn reseal(file: &mut [u8]) -> bool {
    let n = file.len();
    if (n as u64) < MIN_FILE_LEN {
        return false;
    }
    let header = Header::read(file[..HEADER_LEN].try_into().expect("sliced to its length"));
    let trailer = Trailer::read(
        file[n - TRAILER_LEN..]
            .try_into()
            .expect("sliced to its length"),
    );
    let Ok(fs) = trailer.footer_start(n as u64, &header) else {
        return false;
    };
    let fs = fs as usize;
    let Ok(footer) = Footer::parse(&file[fs..n - TRAILER_LEN], fs as u64) else {
        return false;
    };
    // Pages of the special regions first (their CRCs are inside the region's bytes).
    for r in &footer.regions {
        if r.id != REGION_URL_TABLE && r.id != REGION_HOST_TABLE && r.length > 0 {
            reseal_page(file, r.offset as usize);
        }
    }
    // Column pages, then each column's CRC in its directory entry.
    for table in [Table::Url, Table::Host] {
        for dir in footer.columns(table) {
            let mut crc = Crc32c::new();
            for span in dir.page_spans() {
                let (at, len) = (span.offset as usize, span.byte_len as usize);
                if at.checked_add(len).is_none_or(|e| e > fs) {
                    continue;
                }
                reseal_page(file, at);
                crc.update(&file[at..at + len]);
            }
            let field = dir.crc_offset as usize;
            file[field..field + 4].copy_from_slice(&crc.finish().to_le_bytes());
        }
    }
    // Region CRCs in the REGIONS section.
    if let Some(s) = footer.sections.iter().rev().find(|s| s.tag == TAG_REGIONS) {
        let body = s.body_offset as usize;
        if let Ok((_, skip)) = read_uvarint(&file[body..]) {
            for (i, r) in footer.regions.iter().enumerate() {
                if let Some(crc) = region_crc(file, r) {
                    let field = body + skip + i * REGION_DESC_LEN + region_at::CRC;
                    file[field..field + 4].copy_from_slice(&crc.to_le_bytes());
                }
            }
        }
    }
    let fcrc = crc32c(&file[fs..n - TRAILER_LEN]);
    fcrc.set(&mut file[n - TRAILER_LEN + trailer_at::FOOTER_CRC..]);
    let hcrc = crc32c(&file[..header_at::HEADER_CRC]);
    hcrc.set(&mut file[header_at::HEADER_CRC..]);
    true
}

/// Recomputes the payload CRC of the page at `at`, if it fits the file.
fn reseal_page(file: &mut [u8], at: usize) {
    let Some(head) = file.get(at..at + PAGE_HEADER_LEN) else {
        return;
    };
    let h = PageHeader::read(head.try_into().expect("sliced to its length"));
    let body = at + PAGE_HEADER_LEN;
    let Some(payload) = file.get(body..body + h.compressed_size as usize) else {
        return;
    };
    let crc = crc32c(payload);
    crc.set(&mut file[at + page_at::CRC..]);
}

fn region_crc(file: &[u8], r: &RegionDesc) -> Option<u32> {
    let end = r.offset.checked_add(r.length)?;
    file.get(r.offset as usize..end as usize).map(crc32c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Uncompressed;
    use crate::partition::Partition;
    use crate::verify::verify_file;
    use crate::write::{encode, WriteOptions};

    #[test]
    fn a_resealed_change_passes_every_crc_and_reaches_the_decoders() {
        let p = Partition {
            id: 1,
            hostkey_hi: u64::MAX,
            ..Default::default()
        };
        let mut f = encode(&p, &WriteOptions::default(), &Uncompressed).expect("encodes");
        let clean = f.clone();
        assert!(reseal(&mut f));
        assert_eq!(f, clean, "resealing an untouched file changes nothing");
        // The url column 2 directory entry's encoding byte: with every CRC fixed, only the
        // directory rule can object.
        let r = crate::reader::Reader::open(&clean[..]).unwrap();
        let dir = r.column_dir(Table::Url, 2).unwrap().entry_offset as usize;
        f[dir + 1 + 24 + 2 + 1] = 0xee;
        assert!(reseal(&mut f));
        let report = verify_file(&f[..], &Default::default());
        assert_eq!(report.errors(), 1, "{:?}", report.findings);
        assert!(report.findings[0].error.message.contains("enc_238"));
    }
}
