//! Random-access byte sources.
//!
//! The reader never assumes the whole file is in memory: it asks a [`Source`] for the byte
//! ranges it needs. A slice (or a memory map, which derefs to one) lends its bytes without a
//! copy; a [`FnSource`] forwards each range to a callback, which is how the browser reads a
//! dropped `File` through `Blob.slice`. [`CountingSource`] records how many reads and bytes a
//! job took, so tests can prove that `inspect` reads only the header and the tail.

use crate::error::{Error, ErrorKind, Place, Result};
use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;

/// A byte source of known length that serves arbitrary ranges.
pub trait Source {
    /// Total length in bytes.
    fn len(&self) -> u64;

    /// Whether the source is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns exactly `len` bytes starting at `offset`. Callers only ask for ranges inside
    /// `0..self.len()` (see [`read_range`]); implementations may still fail (I/O).
    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>>;
}

impl Source for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        let start = usize::try_from(offset).map_err(|_| out_of_range(offset, len))?;
        let end = start
            .checked_add(len)
            .ok_or_else(|| out_of_range(offset, len))?;
        self.get(start..end)
            .map(Cow::Borrowed)
            .ok_or_else(|| out_of_range(offset, len))
    }
}

impl Source for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }
    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        self.as_slice().read_at(offset, len)
    }
}

impl<S: Source + ?Sized> Source for &S {
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        (**self).read_at(offset, len)
    }
}

fn out_of_range(offset: u64, len: usize) -> Error {
    Error::new(
        ErrorKind::Source,
        format!("range of {len} bytes at {offset} is outside the source"),
    )
    .at(offset)
}

/// Reads `len` bytes at `offset` after checking that the range lies inside the source, so a
/// corrupt offset becomes a precise error instead of a failed read deep in a callback.
pub fn read_range<'s, S: Source + ?Sized>(
    src: &'s S,
    offset: u64,
    len: u64,
    what: &str,
    place: Place,
) -> Result<Cow<'s, [u8]>> {
    let total = src.len();
    let end = offset.checked_add(len);
    match end {
        Some(end) if end <= total => {}
        _ => {
            return Err(Error::corrupt(format!(
                "{what} of {len} bytes at offset {offset} runs past the end of the {total}-byte file"
            ))
            .at(offset)
            .within(place));
        }
    }
    let len = usize::try_from(len).map_err(|_| {
        Error::new(
            ErrorKind::Limit,
            format!("{what} of {len} bytes cannot be addressed"),
        )
        .at(offset)
        .within(place)
    })?;
    let bytes = src
        .read_at(offset, len)
        .map_err(|e| e.within(place).at_if_unset(offset))?;
    if bytes.len() != len {
        return Err(Error::new(
            ErrorKind::Source,
            format!(
                "{what}: asked for {len} bytes at {offset}, got {}",
                bytes.len()
            ),
        )
        .at(offset)
        .within(place));
    }
    Ok(bytes)
}

/// A source backed by a callback `f(offset, len) -> bytes` (for example `File.slice` in a
/// browser worker, or positioned reads of a file).
pub struct FnSource<F> {
    len: u64,
    fetch: F,
}

impl<F> FnSource<F>
where
    F: Fn(u64, usize) -> core::result::Result<Vec<u8>, String>,
{
    /// A source of `len` bytes served by `fetch`.
    pub fn new(len: u64, fetch: F) -> Self {
        FnSource { len, fetch }
    }
}

impl<F> Source for FnSource<F>
where
    F: Fn(u64, usize) -> core::result::Result<Vec<u8>, String>,
{
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        (self.fetch)(offset, len)
            .map(Cow::Owned)
            .map_err(|msg| Error::new(ErrorKind::Source, msg).at(offset))
    }
}

/// Wraps a source and counts the reads and bytes that pass through it.
pub struct CountingSource<S> {
    inner: S,
    reads: Cell<u64>,
    bytes: Cell<u64>,
}

impl<S: Source> CountingSource<S> {
    /// Wraps `inner` with zeroed counters.
    pub fn new(inner: S) -> Self {
        CountingSource {
            inner,
            reads: Cell::new(0),
            bytes: Cell::new(0),
        }
    }
    /// Number of `read_at` calls so far.
    pub fn reads(&self) -> u64 {
        self.reads.get()
    }
    /// Bytes delivered so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.get()
    }
}

impl<S: Source> Source for CountingSource<S> {
    fn len(&self) -> u64 {
        self.inner.len()
    }
    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        self.reads.set(self.reads.get() + 1);
        self.bytes.set(self.bytes.get() + len as u64);
        self.inner.read_at(offset, len)
    }
}
