//! The string arena: a flat byte buffer of `uvarint(len) ‖ bytes` entries, addressed by the
//! byte offset of an entry's length varint. Offset 0 means "none" (a proper arena starts with a
//! single `00` sentinel byte so that no real entry sits at 0).

use crate::bytes::read_uvarint;
use alloc::vec;
use alloc::vec::Vec;

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

/// The offsets of an arena's entries, found by walking it from its sentinel, as a bitmap (one
/// bit per arena byte): a fast answer to "does this reference resolve?" for callers that check
/// many references against one arena (loading a snapshot checks every row's).
///
/// The walk is a hint, not a second rule: a reference that is not a walked entry start is
/// answered by [`Arena::span`], so `resolves` agrees with `span` for every reference, including
/// one that points into the middle of an entry whose bytes happen to read as a valid entry.
#[derive(Debug, Clone)]
pub struct EntryStarts<'a> {
    arena: Arena<'a>,
    bits: Vec<u64>,
}

impl<'a> EntryStarts<'a> {
    /// Walks `arena` from offset 1 (after the sentinel) entry by entry, marking each start, and
    /// stops at the first entry that does not read (the rest is left to [`Arena::span`]).
    pub fn walk(arena: Arena<'a>) -> Self {
        let bytes = arena.0;
        let mut bits = vec![0u64; bytes.len().div_ceil(64)];
        let mut at = 1usize;
        while at < bytes.len() {
            let Ok((len, n)) = read_uvarint(&bytes[at..]) else {
                break;
            };
            let Some(end) = usize::try_from(len)
                .ok()
                .and_then(|l| (at + n).checked_add(l))
                .filter(|&e| e <= bytes.len())
            else {
                break;
            };
            bits[at / 64] |= 1 << (at % 64);
            at = end;
        }
        EntryStarts { arena, bits }
    }

    /// Whether reference `r` resolves (none, or a valid entry), exactly as
    /// `matches!(arena.span(r), Span::None | Span::Present(_))`.
    pub fn resolves(&self, r: u64) -> bool {
        if r == 0 {
            // Most rows leave most references empty.
            return true;
        }
        let walked = usize::try_from(r)
            .ok()
            .and_then(|i| self.bits.get(i / 64).map(|w| w >> (i % 64) & 1 == 1));
        walked == Some(true) || matches!(self.arena.span(r), Span::None | Span::Present(_))
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

    /// The walked bitmap answers exactly as `span` does, for every offset of arenas with
    /// empty entries, entries whose bytes read as entries, a broken tail and no sentinel.
    #[test]
    fn entry_starts_agree_with_span() {
        let arenas: [&[u8]; 6] = [
            &[],
            &[0],
            &[0, 3, b'a', b'b', b'c', 0, 5, b'x'],
            &[0, 2, 1, 0, 0, 1, 7],
            &[0, 0x80],
            &[9, 1, 2, 1, 0],
        ];
        for bytes in arenas {
            let a = Arena(bytes);
            let starts = EntryStarts::walk(a);
            for r in (0..bytes.len() as u64 + 3).chain([u64::MAX]) {
                let want = matches!(a.span(r), Span::None | Span::Present(_));
                assert_eq!(starts.resolves(r), want, "arena {bytes:?} ref {r}");
            }
        }
    }
}
