//! The string arena: a flat byte buffer of `uvarint(len) ‖ bytes` entries, addressed by the
//! byte offset of an entry's length varint. Offset 0 means "none" (a proper arena starts with a
//! single `00` sentinel byte so that no real entry sits at 0).

use crate::bytes::read_uvarint;

/// What an arena reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span<'a> {
    /// Reference 0: no string.
    None,
    /// A valid entry (possibly empty).
    Present(&'a [u8]),
    /// The reference is past the end of the arena.
    OutOfBounds,
    /// The length varint is unreadable or the entry runs past the end.
    Broken,
}

/// A borrowed arena.
#[derive(Debug, Clone, Copy, Default)]
pub struct Arena<'a>(pub &'a [u8]);

impl<'a> Arena<'a> {
    /// Resolves a reference, distinguishing every way it can fail.
    pub fn span(&self, r: u64) -> Span<'a> {
        if r == 0 {
            return Span::None;
        }
        let Ok(start) = usize::try_from(r) else {
            return Span::OutOfBounds;
        };
        if start >= self.0.len() {
            return Span::OutOfBounds;
        }
        match read_uvarint(&self.0[start..]) {
            Ok((len, n)) => {
                let body = start + n;
                match usize::try_from(len).ok().and_then(|l| body.checked_add(l)) {
                    Some(end) if end <= self.0.len() => Span::Present(&self.0[body..end]),
                    _ => Span::Broken,
                }
            }
            Err(_) => Span::Broken,
        }
    }

    /// The reference's read rule: the entry's bytes, or `None` for 0 and for anything invalid.
    pub fn get(&self, r: u64) -> Option<&'a [u8]> {
        match self.span(r) {
            Span::Present(s) => Some(s),
            _ => None,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the arena is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn read_rules() {
        let a = Arena(&[0, 3, b'a', b'b', b'c', 0, 5, b'x']);
        assert_eq!(a.span(0), Span::None);
        assert_eq!(a.get(1), Some(&b"abc"[..]));
        assert_eq!(a.span(5), Span::Present(&[]));
        assert_eq!(a.span(6), Span::Broken);
        assert_eq!(a.span(8), Span::OutOfBounds);
        assert_eq!(a.span(u64::MAX), Span::OutOfBounds);
    }
}
