//! The 64-byte header at offset 0.
//!
//! | off | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `MEG1` |
//! | 4 | 2 | version major (1) |
//! | 6 | 2 | version minor |
//! | 8 | 4 | partition id |
//! | 12 | 2 | flags |
//! | 14 | 1 | checksum algorithm |
//! | 15 | 1 | default codec |
//! | 16 | 8 | host-key range low (inclusive) |
//! | 24 | 8 | host-key range high (inclusive) |
//! | 32 | 8 | URL row count |
//! | 40 | 8 | host row count |
//! | 48 | 8 | footer offset |
//! | 56 | 4 | created (epoch-hours) |
//! | 60 | 4 | CRC32C of bytes 0..60 |

use super::{FILE_MAGIC, HEADER_LEN};
use crate::crc::crc32c;
use crate::error::{Error, ErrorKind, Place, Result};
use alloc::format;

/// The only major version this crate reads.
pub const VERSION_MAJOR: u16 = 1;

/// The decoded header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    /// First four bytes as found (valid files: `MEG1`).
    pub magic: [u8; 4],
    /// Format major version.
    pub version_major: u16,
    /// Format minor version (ignored by readers).
    pub version_minor: u16,
    /// Partition id.
    pub partition_id: u32,
    /// Flag bits (informational; see [`super::FLAG_NAMES`]).
    pub flags: u16,
    /// Checksum algorithm id (always CRC32C in practice).
    pub checksum_algo: u8,
    /// Requested block codec id: 0 none, 1 lz4, 2 zstd, 3 zstd-dict.
    pub default_codec: u8,
    /// Lowest host key the partition owns.
    pub hostkey_lo: u64,
    /// Highest host key the partition owns (inclusive).
    pub hostkey_hi: u64,
    /// URL rows.
    pub url_count: u64,
    /// Host rows.
    pub host_count: u64,
    /// Absolute offset of the footer.
    pub footer_offset: u64,
    /// Creation time in epoch-hours, supplied by the writer (never a clock read).
    pub created_hours: u32,
    /// Stored CRC32C of bytes 0..60.
    pub header_crc: u32,
}

impl Header {
    /// Reads the fields without judging them (for `verify`, which reports every problem).
    pub fn read_fields(b: &[u8; HEADER_LEN]) -> Header {
        let u16_at = |o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        let u64_at = |o: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[o..o + 8]);
            u64::from_le_bytes(a)
        };
        Header {
            magic: [b[0], b[1], b[2], b[3]],
            version_major: u16_at(4),
            version_minor: u16_at(6),
            partition_id: u32_at(8),
            flags: u16_at(12),
            checksum_algo: b[14],
            default_codec: b[15],
            hostkey_lo: u64_at(16),
            hostkey_hi: u64_at(24),
            url_count: u64_at(32),
            host_count: u64_at(40),
            footer_offset: u64_at(48),
            created_hours: u32_at(56),
            header_crc: u32_at(60),
        }
    }

    /// Decodes and checks a header in the reference's order: magic, CRC, major version.
    pub fn parse(b: &[u8]) -> Result<Header> {
        let Some(b) = b.get(..HEADER_LEN) else {
            return Err(Error::new(
                ErrorKind::ShortFile,
                format!(
                    "a header needs {HEADER_LEN} bytes, the input has {}",
                    b.len()
                ),
            )
            .within(Place::Header)
            .at(0));
        };
        let b: &[u8; HEADER_LEN] = b.try_into().expect("slice of header length");
        let h = Header::read_fields(b);
        h.check(b)?;
        Ok(h)
    }

    /// The checks [`Header::parse`] applies, each as its own error.
    pub fn check(&self, b: &[u8; HEADER_LEN]) -> Result<()> {
        if self.magic != FILE_MAGIC {
            return Err(Error::new(
                ErrorKind::BadMagic,
                format!(
                    "magic is {:02x?}, expected \"MEG1\": not a .meguri file",
                    self.magic
                ),
            )
            .within(Place::Header)
            .at(0));
        }
        let computed = crc32c(&b[..60]);
        if computed != self.header_crc {
            return Err(Error::new(
                ErrorKind::Checksum,
                format!(
                    "header CRC32C is 0x{:08x} but bytes 0..60 give 0x{computed:08x}",
                    self.header_crc
                ),
            )
            .within(Place::Header)
            .at(60));
        }
        if self.version_major != VERSION_MAJOR {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "format version {}.{} is not supported (this reader knows v1)",
                    self.version_major, self.version_minor
                ),
            )
            .within(Place::Header)
            .at(4));
        }
        Ok(())
    }

    /// Encodes the header, computing its CRC (the stored `header_crc` field is ignored).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..4].copy_from_slice(&FILE_MAGIC);
        b[4..6].copy_from_slice(&self.version_major.to_le_bytes());
        b[6..8].copy_from_slice(&self.version_minor.to_le_bytes());
        b[8..12].copy_from_slice(&self.partition_id.to_le_bytes());
        b[12..14].copy_from_slice(&self.flags.to_le_bytes());
        b[14] = self.checksum_algo;
        b[15] = self.default_codec;
        b[16..24].copy_from_slice(&self.hostkey_lo.to_le_bytes());
        b[24..32].copy_from_slice(&self.hostkey_hi.to_le_bytes());
        b[32..40].copy_from_slice(&self.url_count.to_le_bytes());
        b[40..48].copy_from_slice(&self.host_count.to_le_bytes());
        b[48..56].copy_from_slice(&self.footer_offset.to_le_bytes());
        b[56..60].copy_from_slice(&self.created_hours.to_le_bytes());
        let crc = crc32c(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }
}

/// The 12-byte trailer: footer length, footer CRC, magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    /// Byte length of the footer section stream.
    pub footer_len: u32,
    /// CRC32C of the footer bytes (also what a manifest records as the file's checksum).
    pub footer_crc: u32,
    /// Last four bytes as found.
    pub magic: [u8; 4],
}

impl Trailer {
    /// Reads the trailer fields from the last 12 bytes.
    pub fn read_fields(b: &[u8; 12]) -> Trailer {
        Trailer {
            footer_len: u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            footer_crc: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            magic: [b[8], b[9], b[10], b[11]],
        }
    }

    /// Where the footer starts in a file of `file_len` bytes, checked against the header's
    /// footer offset: `footer_start >= 64` and equal to `header.footer_offset`.
    pub fn footer_start(&self, file_len: u64, header: &Header) -> Result<u64> {
        let trailer_at = file_len - super::TRAILER_LEN as u64;
        if self.magic != FILE_MAGIC {
            return Err(Error::new(
                ErrorKind::BadMagic,
                format!("trailer magic is {:02x?}, expected \"MEG1\"", self.magic),
            )
            .within(Place::Trailer)
            .at(trailer_at + 8));
        }
        let start = trailer_at.checked_sub(u64::from(self.footer_len));
        match start {
            Some(s) if s >= HEADER_LEN as u64 && s == header.footer_offset => Ok(s),
            _ => Err(Error::corrupt(format!(
                "footer length {} puts the footer at {}, but the header says {}",
                self.footer_len,
                start.map_or_else(
                    || alloc::string::String::from("before the file start"),
                    |s| format!("{s}")
                ),
                header.footer_offset
            ))
            .within(Place::Trailer)
            .at(trailer_at)),
        }
    }
}
