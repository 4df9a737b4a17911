//! Pages: a 32-byte header followed by a payload. This is the crate's one page reader: column
//! pages, the blob page, the schedule page and the seen-set page all go through [`read_page`].
//!
//! | off | size | field |
//! |---|---|---|
//! | 0 | 1 | kind (0 data, 3 blob, 4 filter, 5 schedule) |
//! | 1 | 1 | encoding |
//! | 2 | 1 | codec actually used |
//! | 3 | 1 | flags (0) |
//! | 4 | 4 | value count |
//! | 8 | 4 | payload size before the codec |
//! | 12 | 4 | payload size on disk |
//! | 16 | 4 | first row index |
//! | 20 | 8 | encoding base |
//! | 28 | 4 | CRC32C of the on-disk payload |

use super::codec::{decompress, ZstdBackend};
use super::Limits;
use crate::crc::crc32c;
use crate::error::{Error, ErrorKind, Result};
use alloc::borrow::Cow;
use alloc::format;
use alloc::vec::Vec;

/// Length of a page header.
pub const PAGE_HEADER_LEN: usize = 32;

/// Page kind: a column page.
pub const KIND_DATA: u8 = 0;
/// Page kind: the string arena.
pub const KIND_BLOB: u8 = 3;
/// Page kind: the seen-set filter.
pub const KIND_FILTER: u8 = 4;
/// Page kind: the schedule wheel.
pub const KIND_SCHEDULE: u8 = 5;

/// A decoded page header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageHeader {
    /// Page kind.
    pub kind: u8,
    /// Encoding id.
    pub encoding: u8,
    /// Codec id used for this page's payload.
    pub codec: u8,
    /// Flags (always 0).
    pub flags: u8,
    /// Values (rows) in the page; for special pages see the format document.
    pub num_values: u32,
    /// Payload length before the codec.
    pub uncompressed_size: u32,
    /// Payload length on disk.
    pub compressed_size: u32,
    /// Row index of the first value within the column.
    pub first_row: u32,
    /// Encoding base (first value or minimum).
    pub base: u64,
    /// CRC32C of the on-disk payload.
    pub crc: u32,
}

impl PageHeader {
    /// Reads the 32 header bytes.
    pub fn read(b: &[u8; PAGE_HEADER_LEN]) -> PageHeader {
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let mut base = [0u8; 8];
        base.copy_from_slice(&b[20..28]);
        PageHeader {
            kind: b[0],
            encoding: b[1],
            codec: b[2],
            flags: b[3],
            num_values: u32_at(4),
            uncompressed_size: u32_at(8),
            compressed_size: u32_at(12),
            first_row: u32_at(16),
            base: u64::from_le_bytes(base),
            crc: u32_at(28),
        }
    }

    /// Appends the 32 header bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.kind, self.encoding, self.codec, self.flags]);
        out.extend_from_slice(&self.num_values.to_le_bytes());
        out.extend_from_slice(&self.uncompressed_size.to_le_bytes());
        out.extend_from_slice(&self.compressed_size.to_le_bytes());
        out.extend_from_slice(&self.first_row.to_le_bytes());
        out.extend_from_slice(&self.base.to_le_bytes());
        out.extend_from_slice(&self.crc.to_le_bytes());
    }

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
    let header = PageHeader::read(h.try_into().expect("32 bytes"));
    let end = PAGE_HEADER_LEN as u64 + u64::from(header.compressed_size);
    if end > bytes.len() as u64 {
        return Err(Error::corrupt(format!(
            "page payload of {} bytes runs past its container ({} bytes left after the header)",
            header.compressed_size,
            bytes.len() - PAGE_HEADER_LEN
        ))
        .at(base + 12));
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
        .at(page.offset + 28));
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
        .at(page.offset + 8));
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

/// The one page reader: locate, CRC-check and decompress the page at the start of `bytes`.
pub fn read_page<'a>(
    bytes: &'a [u8],
    base: u64,
    limits: &Limits,
    file_len: u64,
    backend: ZstdBackend,
) -> Result<(RawPage<'a>, Cow<'a, [u8]>)> {
    let page = locate_page(bytes, base)?;
    let payload = decode_payload(&page, limits, file_len, backend)?;
    Ok((page, payload))
}
