//! Work the page does in steps, with progress and cancel between them: the CRC check of a
//! region (the arena is most of a large file) and, in [`crate::verify_steps`], verify.

use crate::source::Shared;
use crate::views::to_json;
use meguri_core::crc::Crc32c;
use meguri_core::error::{Error, ErrorKind, Place};
use meguri_core::format::footer::RegionDesc;
use meguri_core::format::page::{PageHeader, PAGE_HEADER_LEN};
use meguri_core::format::{region_name, REGION_SCHEDULE, REGION_SEENSET, REGION_STRING_BLOB};
use meguri_core::source::read_range;
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub use crate::verify_steps::Verifier;

/// The CRC check of one region, read piece by piece: the region's CRC32C (from the region
/// directory) over all its bytes and, for a region that holds one page (the arena, the wheel,
/// the filter), that page's payload CRC32C from its header, over the payload. Memory: one
/// piece.
#[wasm_bindgen]
pub struct RegionCheck {
    src: Shared,
    desc: RegionDesc,
    done: u64,
    region: Crc32c,
    payload: Crc32c,
    head: Vec<u8>,
    page: Option<PageHeader>,
    errors: Vec<Error>,
    finished: bool,
}

#[derive(Serialize)]
struct RegionProgress<'a> {
    region: u8,
    name: String,
    offset: u64,
    length: u64,
    checked: u64,
    finished: bool,
    /// Whether the region holds a single page whose payload CRC is checked too.
    page: bool,
    ok: bool,
    errors: &'a [Error],
}

impl RegionCheck {
    pub(crate) fn new(src: Shared, desc: RegionDesc) -> RegionCheck {
        RegionCheck {
            src,
            desc,
            done: 0,
            region: Crc32c::new(),
            payload: Crc32c::new(),
            head: Vec::new(),
            page: None,
            errors: Vec::new(),
            finished: false,
        }
    }

    fn single_page(&self) -> bool {
        matches!(
            self.desc.id,
            REGION_SCHEDULE | REGION_SEENSET | REGION_STRING_BLOB
        ) && self.desc.length > 0
    }

    fn feed(&mut self, b: &[u8]) {
        self.region.update(b);
        if !self.single_page() {
            return;
        }
        let mut b = b;
        if self.head.len() < PAGE_HEADER_LEN {
            let take = (PAGE_HEADER_LEN - self.head.len()).min(b.len());
            self.head.extend_from_slice(&b[..take]);
            b = &b[take..];
            if self.head.len() == PAGE_HEADER_LEN {
                self.page = Some(PageHeader::read(
                    self.head[..].try_into().expect("32 bytes"),
                ));
            }
        }
        self.payload.update(b);
    }

    fn end(&mut self) {
        self.finished = true;
        let d = self.desc;
        let pl = Place::Region(d.id);
        let crc = std::mem::take(&mut self.region).finish();
        if crc != d.crc {
            self.errors.push(
                Error::new(
                    ErrorKind::Checksum,
                    format!(
                        "region CRC32C is 0x{:08x} but its {} bytes give 0x{crc:08x}",
                        d.crc, d.length
                    ),
                )
                .within(pl)
                .at(d.offset),
            );
        }
        if !self.single_page() {
            return;
        }
        let place = meguri_core::column::region_place(match d.id {
            REGION_STRING_BLOB => meguri_core::format::page::KIND_BLOB,
            REGION_SCHEDULE => meguri_core::format::page::KIND_SCHEDULE,
            _ => meguri_core::format::page::KIND_FILTER,
        });
        let Some(h) = self.page else {
            self.errors.push(
                Error::corrupt(format!(
                    "a page header needs {PAGE_HEADER_LEN} bytes, the region has {}",
                    d.length
                ))
                .within(place)
                .at(d.offset),
            );
            return;
        };
        let payload_len = d.length - PAGE_HEADER_LEN as u64;
        if u64::from(h.compressed_size) != payload_len {
            self.errors.push(
                Error::corrupt(format!(
                    "the page is {} bytes but its region is {}; a region holds exactly its page",
                    h.byte_len(),
                    d.length
                ))
                .within(place)
                .at(d.offset + 12),
            );
            return;
        }
        let crc = std::mem::take(&mut self.payload).finish();
        if crc != h.crc {
            self.errors.push(
                crate::crc_error(h.crc, payload_len, crc)
                    .within(place)
                    .at(d.offset + 28),
            );
        }
    }

    fn progress(&self) -> String {
        to_json(&RegionProgress {
            region: self.desc.id,
            name: region_name(self.desc.id).into_owned(),
            offset: self.desc.offset,
            length: self.desc.length,
            checked: self.done,
            finished: self.finished,
            page: self.single_page(),
            ok: self.errors.is_empty(),
            errors: &self.errors,
        })
    }
}

#[wasm_bindgen]
impl RegionCheck {
    /// Reads and checks up to `piece` more bytes: `{region, name, offset, length, checked,
    /// finished, page, ok, errors}`.
    pub fn step(&mut self, piece: f64) -> String {
        if !self.finished {
            let n = (piece.max(1.0) as u64).min(self.desc.length - self.done);
            let at = self.desc.offset + self.done;
            match read_range(&self.src, at, n, "region", Place::Region(self.desc.id)) {
                Ok(b) => {
                    let b = b.into_owned();
                    self.feed(&b);
                    self.done += n;
                    if self.done == self.desc.length {
                        self.end();
                    }
                }
                Err(e) => {
                    self.errors.push(e);
                    self.finished = true;
                }
            }
        }
        self.progress()
    }
}
