//! Checked little-endian reads over a byte slice: the one place where the crate turns bytes into
//! integers. Every read checks the remaining length first and reports the absolute file offset
//! of the read that failed.

use crate::error::{Error, Result};
use alloc::format;

/// A read position over `buf`, whose first byte sits at absolute offset `base` in the file.
#[derive(Debug, Clone)]
pub struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `buf`; `base` is the file offset of `buf[0]`.
    pub fn new(buf: &'a [u8], base: u64) -> Self {
        Cursor { buf, pos: 0, base }
    }

    /// Absolute file offset of the next byte to be read.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Index of the next byte within the slice.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// The unread tail.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Takes `n` bytes, or fails naming `what` if fewer remain.
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(Error::corrupt(format!(
                "{what} needs {n} bytes but only {} remain",
                self.remaining()
            ))
            .at(self.offset()));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// One byte.
    pub fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    /// A little-endian u16.
    pub fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    /// A little-endian u32.
    pub fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A little-endian u64.
    pub fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// An IEEE-754 f32 stored as its little-endian bit pattern.
    pub fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_bits(self.u32(what)?))
    }

    /// An unsigned LEB128 varint with the reference's rules (see [`read_uvarint`]).
    pub fn uvarint(&mut self, what: &str) -> Result<u64> {
        match read_uvarint(self.rest()) {
            Ok((v, n)) => {
                self.pos += n;
                Ok(v)
            }
            Err(VarintError::Truncated) => {
                Err(Error::corrupt(format!("{what}: varint runs past the end")).at(self.offset()))
            }
            Err(VarintError::Overflow) => {
                Err(Error::corrupt(format!("{what}: varint overflows 64 bits")).at(self.offset()))
            }
        }
    }

    /// A varint that must fit a `usize` length and not exceed the bytes left: used for counts
    /// and lengths that are followed by at least `min_item` bytes per item.
    pub fn count(&mut self, what: &str, min_item: usize) -> Result<usize> {
        let at = self.offset();
        let v = self.uvarint(what)?;
        let limit = self.remaining().checked_div(min_item).unwrap_or(usize::MAX);
        if v > limit as u64 {
            return Err(Error::corrupt(format!(
                "{what} is {v}, more than the {} bytes left can hold",
                self.remaining()
            ))
            .at(at));
        }
        Ok(v as usize)
    }
}

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The bytes ran out before the last group.
    Truncated,
    /// More than 64 bits.
    Overflow,
}

/// Reads an unsigned LEB128 varint exactly as Go's `binary.Uvarint` does: at most 10 bytes, the
/// 10th may only be 0 or 1, and non-minimal encodings (such as `80 00`) are accepted.
/// Returns the value and the number of bytes used.
pub fn read_uvarint(buf: &[u8]) -> core::result::Result<(u64, usize), VarintError> {
    let mut x: u64 = 0;
    let mut shift = 0u32;
    for (i, &b) in buf.iter().enumerate() {
        if i == 10 {
            return Err(VarintError::Overflow);
        }
        if b < 0x80 {
            if i == 9 && b > 1 {
                return Err(VarintError::Overflow);
            }
            return Ok((x | (u64::from(b) << shift), i + 1));
        }
        x |= u64::from(b & 0x7f) << shift;
        shift += 7;
    }
    Err(VarintError::Truncated)
}

/// Appends `v` as a minimal unsigned LEB128 varint.
pub fn put_uvarint(out: &mut alloc::vec::Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Number of bytes [`put_uvarint`] writes for `v`.
pub fn uvarint_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Zigzag-maps a signed value to unsigned so that small magnitudes stay small.
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Inverse of [`zigzag`].
pub fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Number of significant bits of `v` (0 for 0).
pub fn bit_width(v: u64) -> u32 {
    64 - v.leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn varint_go_rules() {
        assert_eq!(read_uvarint(&[0x80, 0x00]), Ok((0, 2)));
        assert_eq!(read_uvarint(&[0x96, 0x01]), Ok((150, 2)));
        assert_eq!(read_uvarint(&[0x80]), Err(VarintError::Truncated));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(read_uvarint(&max), Ok((u64::MAX, 10)));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(read_uvarint(&over), Err(VarintError::Overflow));
        let long = [0x80; 11];
        assert_eq!(read_uvarint(&long), Err(VarintError::Overflow));
        for v in [0u64, 1, 127, 128, 300, 1 << 40, u64::MAX] {
            let mut b = Vec::new();
            put_uvarint(&mut b, v);
            assert_eq!(b.len(), uvarint_len(v));
            assert_eq!(read_uvarint(&b), Ok((v, b.len())));
        }
    }

    #[test]
    fn zigzag_round_trip() {
        for v in [
            0i64,
            1,
            -1,
            2,
            -2,
            1 << 40,
            -(1 << 40),
            (1 << 62) - 1,
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
    }

    #[test]
    fn bit_widths() {
        for (v, w) in [
            (0, 0),
            (1, 1),
            (2, 2),
            (3, 2),
            (7, 3),
            (8, 4),
            (255, 8),
            (256, 9),
        ] {
            assert_eq!(bit_width(v), w, "bit_width({v})");
        }
    }

    #[test]
    fn cursor_reports_offsets() {
        let mut c = Cursor::new(&[1, 2, 3], 100);
        assert_eq!(c.u16("x").unwrap(), 0x0201);
        let e = c.u32("field").unwrap_err();
        assert_eq!(e.offset, Some(102));
        assert!(e.message.contains("field"));
    }
}
