//! The 64-byte header at offset 0 and the 12-byte trailer at the end of the file. Both layouts
//! are declared below, field by field in file order; [`header_at`] and [`trailer_at`] hold the
//! offsets that follow from them.

use super::layout::{layout, Field};
use super::{FILE_MAGIC, HEADER_LEN};
use crate::crc::crc32c;
use crate::error::{Error, ErrorKind, Place, Result};
use alloc::format;

/// The only major version this crate reads.
pub const VERSION_MAJOR: u16 = 1;

layout! {
    /// The decoded header fields.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Header in header_at {
        /// First four bytes as found (valid files: `MEG1`).
        magic: [u8; 4] = MAGIC, "header magic";
        /// Format major version.
        version_major: u16 = VERSION_MAJOR, "header major version";
        /// Format minor version (ignored by readers).
        version_minor: u16 = VERSION_MINOR, "header minor version";
        /// Partition id.
        partition_id: u32 = PARTITION_ID, "header partition id";
        /// Flag bits (informational; see [`super::FLAG_NAMES`]).
        flags: u16 = FLAGS, "header flags";
        /// Checksum algorithm id (always CRC32C in practice).
        checksum_algo: u8 = CHECKSUM_ALGO, "header checksum algorithm";
        /// Requested block codec id: 0 none, 1 lz4, 2 zstd, 3 zstd-dict.
        default_codec: u8 = DEFAULT_CODEC, "header default codec";
        /// Lowest host key the partition owns.
        hostkey_lo: u64 = HOSTKEY_LO, "header host-key low";
        /// Highest host key the partition owns (inclusive).
        hostkey_hi: u64 = HOSTKEY_HI, "header host-key high";
        /// URL rows.
        url_count: u64 = URL_COUNT, "header url count";
        /// Host rows.
        host_count: u64 = HOST_COUNT, "header host count";
        /// Absolute offset of the footer.
        footer_offset: u64 = FOOTER_OFFSET, "header footer offset";
        /// Creation time in epoch-hours, supplied by the writer (never a clock read).
        created_hours: u32 = CREATED_HOURS, "header created hours";
        /// Stored CRC32C of every byte before it.
        header_crc: u32 = HEADER_CRC, "header CRC";
    }
}

impl Header {
    /// Checks a header read from `b` in the reference's order: magic, CRC, major version. The
    /// first that fails is the error.
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
            .at(header_at::MAGIC as u64));
        }
        let computed = crc32c(&b[..header_at::HEADER_CRC]);
        if computed != self.header_crc {
            return Err(Error::new(
                ErrorKind::Checksum,
                format!(
                    "header CRC32C is 0x{:08x} but bytes 0..{} give 0x{computed:08x}",
                    self.header_crc,
                    header_at::HEADER_CRC
                ),
            )
            .within(Place::Header)
            .at(header_at::HEADER_CRC as u64));
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
            .at(header_at::VERSION_MAJOR as u64));
        }
        Ok(())
    }

    /// The header as a writer stores it: the `MEG1` magic, these fields, and the CRC of the
    /// bytes before it (the stored `magic` and `header_crc` fields are ignored).
    pub fn sealed(&self) -> [u8; HEADER_LEN] {
        let mut b = Header {
            magic: FILE_MAGIC,
            ..*self
        }
        .to_bytes();
        let crc = crc32c(&b[..header_at::HEADER_CRC]);
        crc.set(&mut b[header_at::HEADER_CRC..]);
        b
    }
}

layout! {
    /// The 12-byte trailer: footer length, footer CRC, magic.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Trailer in trailer_at {
        /// Byte length of the footer section stream.
        footer_len: u32 = FOOTER_LEN, "trailer footer length";
        /// CRC32C of the footer bytes (also what a manifest records as the file's checksum).
        footer_crc: u32 = FOOTER_CRC, "trailer footer CRC";
        /// Last four bytes as found.
        magic: [u8; 4] = MAGIC, "trailer magic";
    }
}

impl Trailer {
    /// The trailer a writer stores after a footer of `footer` bytes.
    pub fn of_footer(footer: &[u8]) -> Trailer {
        Trailer {
            footer_len: footer.len() as u32,
            footer_crc: crc32c(footer),
            magic: FILE_MAGIC,
        }
    }

    /// Where the footer starts in a file of `file_len` bytes, checked against the header's
    /// footer offset: `footer_start >= 64` and equal to `header.footer_offset`.
    pub fn footer_start(&self, file_len: u64, header: &Header) -> Result<u64> {
        let start = file_len - super::TRAILER_LEN as u64;
        if self.magic != FILE_MAGIC {
            return Err(Error::new(
                ErrorKind::BadMagic,
                format!("trailer magic is {:02x?}, expected \"MEG1\"", self.magic),
            )
            .within(Place::Trailer)
            .at(start + trailer_at::MAGIC as u64));
        }
        let footer = start.checked_sub(u64::from(self.footer_len));
        match footer {
            Some(s) if s >= HEADER_LEN as u64 && s == header.footer_offset => Ok(s),
            _ => Err(Error::corrupt(format!(
                "footer length {} puts the footer at {}, but the header says {}",
                self.footer_len,
                footer.map_or_else(
                    || alloc::string::String::from("before the file start"),
                    |s| format!("{s}")
                ),
                header.footer_offset
            ))
            .within(Place::Trailer)
            .at(start + trailer_at::FOOTER_LEN as u64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::TRAILER_LEN;
    use alloc::vec::Vec;

    fn header() -> Header {
        Header {
            magic: *b"XXXX",
            version_major: VERSION_MAJOR,
            version_minor: 3,
            partition_id: 0x0102_0304,
            flags: 0x0009,
            checksum_algo: 1,
            default_codec: 2,
            hostkey_lo: 0x1111,
            hostkey_hi: 0xffff_0000,
            url_count: 12,
            host_count: 5,
            footer_offset: 4096,
            created_hours: 480_000,
            header_crc: 0xdead_beef,
        }
    }

    #[test]
    fn the_layouts_are_the_formats() {
        // docs/format.md §2 and §9, byte by byte.
        assert_eq!(header_at::LEN, 64);
        let at = [
            header_at::MAGIC,
            header_at::VERSION_MAJOR,
            header_at::VERSION_MINOR,
            header_at::PARTITION_ID,
            header_at::FLAGS,
            header_at::CHECKSUM_ALGO,
            header_at::DEFAULT_CODEC,
            header_at::HOSTKEY_LO,
            header_at::HOSTKEY_HI,
            header_at::URL_COUNT,
            header_at::HOST_COUNT,
            header_at::FOOTER_OFFSET,
            header_at::CREATED_HOURS,
            header_at::HEADER_CRC,
        ];
        assert_eq!(at, [0, 4, 6, 8, 12, 14, 15, 16, 24, 32, 40, 48, 56, 60]);
        assert_eq!(
            (
                trailer_at::FOOTER_LEN,
                trailer_at::FOOTER_CRC,
                trailer_at::MAGIC
            ),
            (0, 4, 8)
        );
        assert_eq!(trailer_at::LEN, TRAILER_LEN);
    }

    #[test]
    fn a_sealed_header_reads_back_and_checks() {
        let h = header();
        let b = h.sealed();
        let back = Header::read(&b);
        assert_eq!(
            back.magic, FILE_MAGIC,
            "sealing writes the magic, not the field"
        );
        assert_eq!(back.header_crc, crc32c(&b[..60]));
        assert_eq!(
            Header {
                magic: h.magic,
                header_crc: h.header_crc,
                ..back
            },
            h
        );
        assert_eq!(b[12..14], 0x0009u16.to_le_bytes());
        assert_eq!(b[48..56], 4096u64.to_le_bytes());
        back.check(&b).unwrap();
        // `to_bytes` stores the fields as they are, which `read` gives back exactly.
        assert_eq!(Header::read(&h.to_bytes()), h);
    }

    #[test]
    fn check_names_the_first_field_at_fault() {
        let good = header().sealed();
        for i in 0..60 {
            let mut b = good;
            b[i] ^= 0x40;
            let e = Header::read(&b).check(&b).unwrap_err();
            if i < 4 {
                assert_eq!((e.kind, e.offset), (ErrorKind::BadMagic, Some(0)));
            } else {
                assert_eq!(
                    (e.kind, e.offset),
                    (ErrorKind::Checksum, Some(60)),
                    "byte {i}"
                );
            }
            assert_eq!(e.place, Place::Header);
        }
        let v2 = Header {
            version_major: 2,
            ..header()
        }
        .sealed();
        let e = Header::read(&v2).check(&v2).unwrap_err();
        assert_eq!((e.kind, e.offset), (ErrorKind::Unsupported, Some(4)));
    }

    #[test]
    fn the_trailer_finds_the_footer_the_header_names() {
        let footer = [7u8; 100];
        let mut t = Vec::new();
        Trailer::of_footer(&footer).encode(&mut t);
        assert_eq!(t.len(), 12);
        assert_eq!(t[8..], FILE_MAGIC);
        let trailer = Trailer::read(t[..].try_into().unwrap());
        assert_eq!(trailer.footer_crc, crc32c(&footer));
        let file_len = 4096 + 100 + 12;
        assert_eq!(trailer.footer_start(file_len, &header()), Ok(4096));
        // The header names another footer offset.
        let e = trailer.footer_start(file_len + 1, &header()).unwrap_err();
        assert_eq!(
            (e.place, e.offset),
            (Place::Trailer, Some(file_len + 1 - 12))
        );
        // A footer longer than the file.
        let long = Trailer {
            footer_len: u32::MAX,
            ..trailer
        };
        assert!(long
            .footer_start(file_len, &header())
            .unwrap_err()
            .message
            .contains("before the file start"));
        let bad = Trailer {
            magic: *b"MEG2",
            ..trailer
        };
        let e = bad.footer_start(file_len, &header()).unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (ErrorKind::BadMagic, Some(file_len - 4))
        );
    }
}
