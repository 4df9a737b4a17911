//! CRC32C (Castagnoli), the only checksum the format uses: header, footer, regions, columns,
//! pages, manifests, log frames and superblocks all use it, whatever the header's checksum byte
//! says.

use crc::{Crc, Table, CRC_32_ISCSI};

const CASTAGNOLI: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISCSI);

/// CRC32C of `bytes` (0 for an empty slice).
pub fn crc32c(bytes: &[u8]) -> u32 {
    CASTAGNOLI.checksum(bytes)
}

/// An incremental CRC32C, for checksums that cover several pieces (a column's pages).
#[derive(Clone)]
pub struct Crc32c(crc::Digest<'static, u32, Table<16>>);

impl Crc32c {
    /// A fresh digest.
    pub fn new() -> Self {
        Crc32c(CASTAGNOLI.digest())
    }

    /// Feeds more bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The checksum of everything fed so far.
    pub fn finish(self) -> u32 {
        self.0.finalize()
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
}
