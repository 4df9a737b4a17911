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

/// Reads the header of a page at the start of a container of `container_len` bytes at absolute
/// offset `base`, from `head` (the container's first bytes, at most [`PAGE_HEADER_LEN`] needed),
/// and checks that the payload fits the container. A reader that streams a page (the arena)
/// judges it by this rule as [`locate_page`] does.
pub fn page_header_in(head: &[u8], container_len: u64, base: u64) -> Result<PageHeader> {
    let Some(h) = head
        .get(..PAGE_HEADER_LEN)
        .filter(|_| container_len >= PAGE_HEADER_LEN as u64)
    else {
        return Err(Error::corrupt(format!(
            "a page header needs {PAGE_HEADER_LEN} bytes, only {container_len} remain"
        ))
        .at(base));
    };
    let header = PageHeader::read(h.try_into().expect("sliced to the header's length"));
    let left = container_len - PAGE_HEADER_LEN as u64;
    if u64::from(header.compressed_size) > left {
        return Err(Error::corrupt(format!(
            "page payload of {} bytes runs past its container ({left} bytes left after the header)",
            header.compressed_size,
        ))
        .at(base + page_at::COMPRESSED_SIZE as u64));
    }
    Ok(header)
}

/// Locates the page at the start of `bytes` (absolute offset `base`): reads its header and
/// checks that the payload fits.
pub fn locate_page(bytes: &[u8], base: u64) -> Result<RawPage<'_>> {
    let header = page_header_in(bytes, bytes.len() as u64, base)?;
    let end = PAGE_HEADER_LEN + header.compressed_size as usize;
    Ok(RawPage {
        header,
        payload: &bytes[PAGE_HEADER_LEN..end],
        offset: base,
    })
}

/// The payload CRC rule: `computed` (over the stored payload) must be the header's.
/// `offset` is the page header's absolute offset.
pub fn check_payload_crc(h: &PageHeader, computed: u32, offset: u64) -> Result<()> {
    if computed != h.crc {
        return Err(Error::new(
            ErrorKind::Checksum,
            format!(
                "page payload CRC32C is 0x{:08x} but its {} bytes give 0x{computed:08x}",
                h.crc, h.compressed_size
            ),
        )
        .at(offset + page_at::CRC as u64));
    }
    Ok(())
}

/// The decode budget rule: the declared decoded size fits `limits` for a file of `file_len`
/// bytes. `offset` is the page header's absolute offset.
pub fn check_decoded_size(
    h: &PageHeader,
    limits: &Limits,
    file_len: u64,
    offset: u64,
) -> Result<()> {
    let budget = limits.budget(file_len);
    if u64::from(h.uncompressed_size) > budget {
        return Err(Error::new(
            ErrorKind::Limit,
            format!(
                "page declares {} decoded bytes, more than the {budget}-byte limit for a {file_len}-byte file",
                h.uncompressed_size
            ),
        )
        .at(offset + page_at::UNCOMPRESSED_SIZE as u64));
    }
    Ok(())
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
    check_payload_crc(h, crc32c(page.payload), page.offset)?;
    check_decoded_size(h, limits, file_len, page.offset)?;
    decompress(
        h.codec,
        page.payload,
        h.uncompressed_size as usize,
        backend,
        page.payload_offset(),
    )
    .map_err(|e| e.at_if_unset(page.payload_offset()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::{CODEC_NONE, CODEC_ZSTD};
    use crate::testing::raw_frame;
    use alloc::vec::Vec;

    /// A page of `payload` as stored, at absolute offset `at` of a buffer of padding.
    fn page(codec: u8, stored: &[u8], raw_len: usize) -> Vec<u8> {
        let h = PageHeader {
            kind: KIND_DATA,
            encoding: 3,
            codec,
            flags: 0,
            num_values: 9,
            uncompressed_size: raw_len as u32,
            compressed_size: stored.len() as u32,
            first_row: 1000,
            base: 0x0102_0304_0506_0708,
            crc: crc32c(stored),
        };
        let mut b = Vec::new();
        h.encode(&mut b);
        b.extend_from_slice(stored);
        b
    }

    #[test]
    fn the_header_layout_is_the_formats() {
        // docs/format.md §4: kind, encoding, codec, flags, then u32s, the base, the CRC.
        let at = [
            page_at::KIND,
            page_at::ENCODING,
            page_at::CODEC,
            page_at::FLAGS,
            page_at::NUM_VALUES,
            page_at::UNCOMPRESSED_SIZE,
            page_at::COMPRESSED_SIZE,
            page_at::FIRST_ROW,
            page_at::BASE,
            page_at::CRC,
        ];
        assert_eq!(at, [0, 1, 2, 3, 4, 8, 12, 16, 20, 28]);
        assert_eq!(PAGE_HEADER_LEN, 32);
        let b = page(CODEC_NONE, b"abc", 3);
        let h = PageHeader::read(b[..32].try_into().unwrap());
        assert_eq!((h.kind, h.encoding, h.codec), (KIND_DATA, 3, CODEC_NONE));
        assert_eq!((h.num_values, h.first_row), (9, 1000));
        assert_eq!(h.base, 0x0102_0304_0506_0708);
        assert_eq!(b[20..28], 0x0102_0304_0506_0708u64.to_le_bytes());
        assert_eq!(h.to_bytes()[..], b[..32]);
        assert_eq!(h.byte_len(), 35);
    }

    #[test]
    fn a_page_is_located_only_when_it_fits() {
        let b = page(CODEC_NONE, b"abcdef", 6);
        let p = locate_page(&b, 500).unwrap();
        assert_eq!(
            (p.payload, p.offset, p.payload_offset()),
            (&b"abcdef"[..], 500, 532)
        );
        let e = locate_page(&b[..20], 500).unwrap_err();
        assert_eq!(e.offset, Some(500));
        let e = locate_page(&b[..37], 500).unwrap_err();
        assert_eq!(e.offset, Some(500 + 12), "the compressed size is at fault");
    }

    #[test]
    fn payloads_are_checked_then_decoded() {
        let limits = Limits::default();
        let raw = b"stored as it is";
        let b = page(CODEC_NONE, raw, raw.len());
        let p = locate_page(&b, 0).unwrap();
        let got = decode_payload(&p, &limits, 1 << 20, ZstdBackend::Pure).unwrap();
        assert!(
            matches!(got, Cow::Borrowed(_)),
            "codec none lends its bytes"
        );
        assert_eq!(&got[..], raw);

        let content: Vec<u8> = (0..300u32).flat_map(|i| i.to_le_bytes()).collect();
        let b = page(CODEC_ZSTD, &raw_frame(&content, true, true), content.len());
        let p = locate_page(&b, 64).unwrap();
        let got = decode_payload(&p, &limits, 1 << 20, ZstdBackend::Pure).unwrap();
        assert_eq!(&got[..], &content[..]);

        // A flipped payload bit: the page CRC, at its field.
        let mut bad = b.clone();
        bad[40] ^= 1;
        let p = locate_page(&bad, 64).unwrap();
        let e = decode_payload(&p, &limits, 1 << 20, ZstdBackend::Pure).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Checksum, Some(64 + 28)));

        // A declared size over the limit is refused before anything is allocated.
        let tight = Limits {
            floor: 100,
            per_file_byte: 0,
        };
        let e = decode_payload(&locate_page(&b, 64).unwrap(), &tight, 1, ZstdBackend::Pure)
            .unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Limit, Some(64 + 8)));

        // Stored bytes that are not the declared size.
        let b = page(CODEC_NONE, raw, raw.len() + 1);
        let e = decode_payload(
            &locate_page(&b, 0).unwrap(),
            &limits,
            1 << 20,
            ZstdBackend::Pure,
        )
        .unwrap_err();
        assert_eq!(e.offset, Some(32), "the payload is at fault");
    }
}
