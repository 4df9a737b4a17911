//! How meguri compresses a string arena: one zstd frame, fed in fixed 1 MiB chunks through the
//! streaming API.
//!
//! Invariant: the compressed bytes depend only on the raw arena, the settings and the size
//! hint. `seed` compresses an arena it holds in memory; `compact` and `split` compress one as
//! they lay it out, before its length is known. Both go through [`ArenaEncoder`], which feeds
//! zstd the same chunks in the same order, so the same arena with the same hint gives the same
//! bytes either way (and a partition split and compacted back comes out byte for byte as it
//! was: the hint is then the sum of the parts' arenas, which is the whole's).
//!
//! The window is narrowed to the arena's size hint, so decoding a small arena never reserves
//! the full 8 MiB window.

use meguri_core::crc::Crc32c;
use meguri_core::format::codec::{keep_if_smaller, Compressor, ZstdParams, CODEC_ZSTD};
use std::io::{self, Write};

/// Bytes handed to zstd per call.
const CHUNK: usize = 1 << 20;

/// zstd parameters for the arena, chosen by measurement on the corpus (docs/format.md §11): an
/// 8 MiB window finds what a wider one does (a row-ordered arena repeats host by host, so its
/// matches lie near), and costs every compressor and decoder of a large arena 24 MiB less than
/// the 32 MiB of earlier versions; a minimum match of 6 bytes suits URLs, which repeat in long
/// runs (scheme, host, path prefixes).
pub const ARENA_PARAMS: ZstdParams = ZstdParams {
    window_log: 23,
    min_match: 6,
};

/// The default arena compression level (docs/format.md §11).
pub const ARENA_LEVEL: i32 = 8;

/// The arena's compressor: a level and zstd parameters.
#[derive(Debug, Clone, Copy)]
pub struct ArenaZip {
    /// zstd level.
    pub level: i32,
    /// Parameters set beside the level.
    pub params: ZstdParams,
}

/// What an [`ArenaEncoder`] took in and wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compressed {
    /// Raw bytes taken in.
    pub raw_len: u64,
    /// CRC-32C of the raw bytes.
    pub raw_crc: u32,
    /// Bytes written.
    pub len: u64,
    /// CRC-32C of the bytes written.
    pub crc: u32,
}

/// A writer that counts and checksums what passes through it.
struct Tally<W: Write> {
    inner: W,
    len: u64,
    crc: Crc32c,
}

impl<W: Write> Write for Tally<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.len += n as u64;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A streaming arena compressor: write the raw arena in pieces of any size, then
/// [`ArenaEncoder::finish`]. zstd always receives exact 1 MiB chunks (and one last partial
/// chunk), so how the bytes arrive never changes the output.
pub struct ArenaEncoder<W: Write> {
    enc: zstd::stream::write::Encoder<'static, Tally<W>>,
    pending: Vec<u8>,
    raw_len: u64,
    raw_crc: Crc32c,
}

impl<W: Write> Write for ArenaEncoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.raw_len += buf.len() as u64;
        self.raw_crc.update(buf);
        let mut rest = buf;
        while !rest.is_empty() {
            let take = (CHUNK - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == CHUNK {
                self.enc.write_all(&self.pending)?;
                self.pending.clear();
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> ArenaEncoder<W> {
    /// Ends the frame; returns the writer and what was written.
    pub fn finish(mut self) -> io::Result<(W, Compressed)> {
        if !self.pending.is_empty() {
            self.enc.write_all(&self.pending)?;
        }
        let tally = self.enc.finish()?;
        let c = Compressed {
            raw_len: self.raw_len,
            raw_crc: self.raw_crc.finish(),
            len: tally.len,
            crc: tally.crc.finish(),
        };
        Ok((tally.inner, c))
    }
}

impl ArenaZip {
    /// The settings `seed`, `compact` and `split` use by default.
    pub fn default_settings() -> ArenaZip {
        ArenaZip {
            level: ARENA_LEVEL,
            params: ARENA_PARAMS,
        }
    }

    /// The window for an arena of about `size_hint` bytes: the configured window, narrowed to
    /// the smallest power of two holding the arena (at least 1 KiB), so that decoders of a small
    /// arena never reserve a large window.
    pub fn window_log(&self, size_hint: u64) -> u32 {
        let need = 64 - size_hint.saturating_sub(1).leading_zeros();
        let cap = if self.params.window_log == 0 {
            27
        } else {
            self.params.window_log
        };
        need.clamp(10, cap)
    }

    /// A streaming compressor writing one zstd frame to `out`. `size_hint` (the expected raw
    /// length) only narrows the window; the frame does not record a content size, so the
    /// compressor can start before the arena's length is known.
    pub fn encoder<W: Write>(&self, size_hint: u64, out: W) -> io::Result<ArenaEncoder<W>> {
        use zstd::zstd_safe::CParameter;
        let tally = Tally {
            inner: out,
            len: 0,
            crc: Crc32c::new(),
        };
        let mut enc = zstd::stream::write::Encoder::new(tally, self.level)?;
        enc.set_parameter(CParameter::WindowLog(self.window_log(size_hint)))?;
        if self.params.min_match != 0 {
            enc.set_parameter(CParameter::MinMatch(self.params.min_match))?;
        }
        enc.include_contentsize(false)?;
        // The content checksum: see `CZstd` (core/src/format/codec.rs).
        enc.include_checksum(true)?;
        Ok(ArenaEncoder {
            enc,
            pending: Vec::with_capacity(CHUNK),
            raw_len: 0,
            raw_crc: Crc32c::new(),
        })
    }
}

impl Compressor for ArenaZip {
    fn codec(&self) -> u8 {
        CODEC_ZSTD
    }
    fn compress(&self, input: &[u8], out: &mut Vec<u8>) -> u8 {
        if input.is_empty() {
            return CODEC_ZSTD;
        }
        let at = out.len();
        let written = self
            .encoder(input.len() as u64, &mut *out)
            .and_then(|mut e| {
                e.write_all(input)?;
                e.finish()
            });
        // A failure is impossible for a Vec; it would store the arena as it is.
        let len = written.ok().map(|(_, c)| c.len as usize);
        keep_if_smaller(input, out, at, len, CODEC_ZSTD)
    }
    fn min_output(&self, len: usize) -> usize {
        len.min(meguri_core::format::codec::ZSTD_MIN_FRAME)
    }
}
