//! The `.meguri` v1 container, layer by layer: header and trailer, the footer's sections and
//! directories, pages, the value encodings and the block codecs. Everything here works on byte
//! slices with explicit, checked offsets; the lazy [`crate::reader::Reader`] decides which bytes
//! to fetch.

pub mod codec;
pub mod encoding;
pub mod footer;
pub mod header;
pub mod layout;
pub mod page;
pub mod zstd_frame;

/// File magic, at offset 0 and in the last 4 bytes.
pub const FILE_MAGIC: [u8; 4] = *b"MEG1";
/// Length of the fixed header (64).
pub const HEADER_LEN: usize = header::header_at::LEN;
/// Length of the fixed trailer (12).
pub const TRAILER_LEN: usize = header::trailer_at::LEN;
/// Smallest possible file: a header and a trailer around an empty footer.
pub const MIN_FILE_LEN: u64 = (HEADER_LEN + TRAILER_LEN) as u64;

/// Region id of the URL table.
pub const REGION_URL_TABLE: u8 = 0;
/// Region id of the host table.
pub const REGION_HOST_TABLE: u8 = 1;
/// Region id of the schedule wheel.
pub const REGION_SCHEDULE: u8 = 2;
/// Region id of the seen-set filter.
pub const REGION_SEENSET: u8 = 3;
/// Region id of the string arena.
pub const REGION_STRING_BLOB: u8 = 4;

/// The name `inspect` prints for a region id (`region_<id>` for unknown ids).
pub fn region_name(id: u8) -> alloc::borrow::Cow<'static, str> {
    use alloc::borrow::Cow;
    match id {
        REGION_URL_TABLE => Cow::Borrowed("url_table"),
        REGION_HOST_TABLE => Cow::Borrowed("host_table"),
        REGION_SCHEDULE => Cow::Borrowed("schedule"),
        REGION_SEENSET => Cow::Borrowed("seenset"),
        REGION_STRING_BLOB => Cow::Borrowed("string_blob"),
        other => Cow::Owned(alloc::format!("region_{other}")),
    }
}

/// Header flag bits, with the names `inspect` prints, in the order it prints them.
pub const FLAG_NAMES: [(u16, &str); 7] = [
    (0x0001, "sorted"),
    (0x0002, "schedule"),
    (0x0004, "seenset"),
    (0x0008, "blob"),
    (0x0010, "ribbon"),
    (0x0020, "mphf"),
    (0x0040, "footer-zstd"),
];

/// Header flag: rows are sorted (always set by writers).
pub const FLAG_SORTED: u16 = 0x0001;
/// Header flag: a schedule region is present.
pub const FLAG_SCHEDULE: u16 = 0x0002;
/// Header flag: a seen-set region is present.
pub const FLAG_SEENSET: u16 = 0x0004;
/// Header flag: a string-blob region is present.
pub const FLAG_BLOB: u16 = 0x0008;
/// Header flag: the footer is zstd-compressed (reserved; no reader supports it).
pub const FLAG_FOOTER_ZSTD: u16 = 0x0040;

/// `flags` rendered as `inspect` does: known names joined by `|`, `none` for zero, and an empty
/// string when only unknown bits are set.
pub fn flag_names(flags: u16) -> alloc::string::String {
    if flags == 0 {
        return "none".into();
    }
    let names: alloc::vec::Vec<&str> = FLAG_NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    names.join("|")
}

/// Name of a checksum-algorithm id (header byte 14).
pub fn checksum_name(id: u8) -> alloc::borrow::Cow<'static, str> {
    use alloc::borrow::Cow;
    match id {
        0 => Cow::Borrowed("none"),
        1 => Cow::Borrowed("crc32c"),
        2 => Cow::Borrowed("xxh64"),
        n => Cow::Owned(alloc::format!("unknown({n})")),
    }
}

/// How much decoded data a file may declare before the reader refuses to allocate for it.
///
/// A file's declared sizes (row counts, page sizes, the arena length) are checked against
/// `floor + per_file_byte × file_len` before anything is allocated for them, so a 100-byte file
/// that claims four billion rows is an error, not an allocation. Real files decode to a few
/// times their size (`full.meguri`: 15 MB on disk, about 100 MB decoded), far inside the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Decoded bytes allowed regardless of the file's size.
    pub floor: u64,
    /// Further decoded bytes allowed per byte of file.
    pub per_file_byte: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            floor: 32 << 20,
            per_file_byte: 64,
        }
    }
}

impl Limits {
    /// The decoded-byte budget for a file of `file_len` bytes.
    pub fn budget(&self, file_len: u64) -> u64 {
        self.floor
            .saturating_add(self.per_file_byte.saturating_mul(file_len))
    }
}
