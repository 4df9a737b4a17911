//! Pages: a 32-byte header followed by a payload. Column pages, the blob page, the schedule page
//! and the seen-set page all go through [`locate_page`] and [`decode_payload`]. The header's
//! layout is declared below, field by field in file order; [`page_at`] holds its offsets.

use super::codec::{decompress, ZstdBackend};
use super::layout::layout;
use super::Limits;
use crate::crc::crc32c;
use crate::error::{Error, ErrorKind, Result};
use alloc::borrow::Cow;
use alloc::format;

/// Length of a page header (32).
pub const PAGE_HEADER_LEN: usize = page_at::LEN;

/// Page kind: a column page.
pub const KIND_DATA: u8 = 0;
/// Page kind: the string arena.
pub const KIND_BLOB: u8 = 3;
/// Page kind: the seen-set filter.
pub const KIND_FILTER: u8 = 4;
/// Page kind: the schedule wheel.
pub const KIND_SCHEDULE: u8 = 5;

layout! {
    /// A decoded page header.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct PageHeader in page_at {
        /// Page kind (0 data, 3 blob, 4 filter, 5 schedule).
        kind: u8 = KIND, "page kind";
        /// Encoding id.
        encoding: u8 = ENCODING, "page encoding";
        /// Codec id used for this page's payload.
        codec: u8 = CODEC, "page codec";
        /// Flags (always 0).
        flags: u8 = FLAGS, "page flags";
        /// Values (rows) in the page; for special pages see the format document.
        num_values: u32 = NUM_VALUES, "page value count";
        /// Payload length before the codec.
        uncompressed_size: u32 = UNCOMPRESSED_SIZE, "page uncompressed size";
        /// Payload length on disk.
        compressed_size: u32 = COMPRESSED_SIZE, "page compressed size";
        /// Row index of the first value within the column.
        first_row: u32 = FIRST_ROW, "page first row";
        /// Encoding base (first value or minimum).
        base: u64 = BASE, "page base";
        /// CRC32C of the on-disk payload.
        crc: u32 = CRC, "page CRC";
    }
}

impl PageHeader {
    /// On-disk length of the page: header plus payload.
    pub fn byte_len(&self) -> u64 {
        PAGE_HEADER_LEN as u64 + u64::from(self.compressed_size)
    }
}

/// A page located in a buffer but not yet checked or decoded.
#[derive(Debug, Clone, Copy)]
pub struct RawPage<'a> {
    /// The header.
    pub header: PageHeader,
    /// The on-disk payload.
    pub payload: &'a [u8],
    /// Absolute offset of the page header.
    pub offset: u64,
}

impl RawPage<'_> {
    /// All on-disk bytes of the page (header and payload) as a length.
    pub fn byte_len(&self) -> u64 {
        self.header.byte_len()
    }

    /// Absolute offset of the payload.
    pub fn payload_offset(&self) -> u64 {
        self.offset + PAGE_HEADER_LEN as u64
    }
}

/// Locates the page at the start of `bytes` (absolute offset `base`): reads its header and
/// checks that the payload fits.
pub fn locate_page(bytes: &[u8], base: u64) -> Result<RawPage<'_>> {
    let Some(h) = bytes.get(..PAGE_HEADER_LEN) else {
        return Err(Error::corrupt(format!(
            "a page header needs {PAGE_HEADER_LEN} bytes, only {} remain",
            bytes.len()
        ))
        .at(base));
    };
    let header = PageHeader::read(h.try_into().expect("sliced to the header's length"));
    let end = PAGE_HEADER_LEN as u64 + u64::from(header.compressed_size);
    if end > bytes.len() as u64 {
        return Err(Error::corrupt(format!(
            "page payload of {} bytes runs past its container ({} bytes left after the header)",
            header.compressed_size,
            bytes.len() - PAGE_HEADER_LEN
        ))
        .at(base + page_at::COMPRESSED_SIZE as u64));
    }
    Ok(RawPage {
        header,
        payload: &bytes[PAGE_HEADER_LEN..end as usize],
        offset: base,
    })
}

/// Checks the payload CRC, the declared size against `limits` (for a file of `file_len`
/// bytes) and decompresses to exactly `uncompressed_size` bytes.
pub fn decode_payload<'a>(
    page: &RawPage<'a>,
    limits: &Limits,
    file_len: u64,
    backend: ZstdBackend,
) -> Result<Cow<'a, [u8]>> {
    let h = &page.header;
    let computed = crc32c(page.payload);
    if computed != h.crc {
        return Err(Error::new(
            ErrorKind::Checksum,
            format!(
                "page payload CRC32C is 0x{:08x} but its {} bytes give 0x{computed:08x}",
                h.crc, h.compressed_size
            ),
        )
        .at(page.offset + page_at::CRC as u64));
    }
    let budget = limits.budget(file_len);
    if u64::from(h.uncompressed_size) > budget {
        return Err(Error::new(
            ErrorKind::Limit,
            format!(
                "page declares {} decoded bytes, more than the {budget}-byte limit for a {file_len}-byte file",
                h.uncompressed_size
            ),
        )
        .at(page.offset + page_at::UNCOMPRESSED_SIZE as u64));
    }
    decompress(
        h.codec,
        page.payload,
        h.uncompressed_size as usize,
        backend,
        page.payload_offset(),
    )
    .map_err(|e| e.at_if_unset(page.payload_offset()))
}
