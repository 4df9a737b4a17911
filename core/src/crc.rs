//! CRC32C (Castagnoli), the only checksum the format uses: header, footer, regions, columns,
//! pages, manifests, log frames and superblocks all use it, whatever the header's checksum byte
//! says.
//!
//! Two implementations give the same values: slice-by-16 tables (`crc`, which builds without
//! std, for the browser and the no_std proof) and, with the `hw-crc` feature, the CPU's CRC32C
//! instruction (`crc32c`, which needs std; the native command turns it on). A file is checked
//! three times over on read (page, column, region) and written the same way, so on a large
//! partition the tables cost more than the instruction by a few tens of milliseconds.

#[cfg(not(feature = "hw-crc"))]
use crc::{Crc, Table, CRC_32_ISCSI};

#[cfg(not(feature = "hw-crc"))]
const CASTAGNOLI: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);

/// CRC32C of `bytes` (0 for an empty slice).
pub fn crc32c(bytes: &[u8]) -> u32 {
    let mut d = Crc32c::new();
    d.update(bytes);
    d.finish()
}

/// An incremental CRC32C, for checksums that cover several pieces (a column's pages).
#[derive(Clone)]
pub struct Crc32c(
    #[cfg(feature = "hw-crc")] u32,
    #[cfg(not(feature = "hw-crc"))] crc::Digest<'static, u32, Table<16>>,
);

impl Crc32c {
    /// A fresh digest.
    pub fn new() -> Self {
        #[cfg(feature = "hw-crc")]
        {
            Crc32c(0)
        }
        #[cfg(not(feature = "hw-crc"))]
        {
            Crc32c(CASTAGNOLI.digest())
        }
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        #[cfg(feature = "hw-crc")]
        {
            self.0 = crc32c::crc32c_append(self.0, bytes);
        }
        #[cfg(not(feature = "hw-crc"))]
        {
            self.0.update(bytes);
        }
    }

    /// The checksum of everything fed so far.
    pub fn finish(self) -> u32 {
        #[cfg(feature = "hw-crc")]
        {
            self.0
        }
        #[cfg(not(feature = "hw-crc"))]
        {
            self.0.finalize()
        }
    }
}

impl Default for Crc32c {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(crc32c(b""), 0);
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        let mut d = Crc32c::new();
        d.update(b"1234");
        d.update(b"56789");
        assert_eq!(d.finish(), 0xE306_9283);
    }

    /// Both implementations agree on lengths around every unrolling boundary, whole and fed
    /// in pieces (only one of them is compiled into a given build; the other is the `crc`
    /// crate's tables, always available as a dependency).
    #[test]
    fn agrees_with_the_table_implementation() {
        let tables = ::crc::Crc::<u32, ::crc::Table<16>>::new(&::crc::CRC_32_ISCSI);
        let data: alloc::vec::Vec<u8> = (0..4099u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for len in (0..70).chain([255, 256, 257, 1023, 1024, 1025, 4099]) {
            let want = tables.checksum(&data[..len]);
            assert_eq!(crc32c(&data[..len]), want, "length {len}");
            let mut d = Crc32c::new();
            for piece in data[..len].chunks(7) {
                d.update(piece);
            }
            assert_eq!(d.finish(), want, "length {len} in pieces");
        }
    }
}
