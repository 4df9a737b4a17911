//! Block codecs applied to page payloads: 0 none and 2 zstd. (1 lz4 and 3 zstd-with-dictionary
//! have ids but no implementation anywhere; a page carrying them is refused.)
//!
//! zstd decompression is done by `ruzstd` (pure Rust, `no_std`) by default; with the `c-zstd`
//! feature a caller may pick the C library instead, which is faster natively. Both write into a
//! buffer of exactly the page's declared decoded size, which the caller has already checked
//! against its [`super::Limits`], so a small frame cannot inflate past what the page declares.

use super::zstd_frame;
use crate::error::{Error, ErrorKind, Result};
use alloc::borrow::Cow;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

/// Codec id: payload stored as is.
pub const CODEC_NONE: u8 = 0;
/// Codec id: lz4 (reserved, not implemented).
pub const CODEC_LZ4: u8 = 1;
/// Codec id: one zstd frame (zero bytes for an empty payload).
pub const CODEC_ZSTD: u8 = 2;
/// Codec id: zstd with dictionary (reserved, not implemented).
pub const CODEC_ZSTD_DICT: u8 = 3;

/// Name of a codec id, as `inspect` prints it.
pub fn codec_name(id: u8) -> Cow<'static, str> {
    match id {
        CODEC_NONE => Cow::Borrowed("none"),
        CODEC_LZ4 => Cow::Borrowed("lz4"),
        CODEC_ZSTD => Cow::Borrowed("zstd"),
        CODEC_ZSTD_DICT => Cow::Borrowed("zstd-dict"),
        n => Cow::Owned(format!("unknown({n})")),
    }
}

/// Which zstd implementation decompresses pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ZstdBackend {
    /// `ruzstd`, pure Rust, available everywhere (including `no_std` and wasm).
    #[default]
    Pure,
    /// The C library through the `zstd` crate (feature `c-zstd`).
    #[cfg(feature = "c-zstd")]
    C,
}

/// Decodes a page payload under `codec` into exactly `expected` bytes. `base` is the payload's
/// absolute offset, so errors name the byte at fault.
///
/// A zstd payload is held to the frame rules of [`super::zstd_frame`] (exactly one frame, its
/// content size and checksum) before and after decoding, whichever backend decodes it, so both
/// backends refuse the same payloads.
pub fn decompress<'a>(
    codec: u8,
    payload: &'a [u8],
    expected: usize,
    backend: ZstdBackend,
    base: u64,
) -> Result<Cow<'a, [u8]>> {
    stored_size_rule(codec, payload.len() as u64, expected as u64)?;
    match codec {
        CODEC_NONE => Ok(Cow::Borrowed(payload)),
        // The reference writes nothing at all for an empty payload.
        _ if payload.is_empty() => Ok(Cow::Owned(Vec::new())),
        _ => {
            let frame = zstd_frame::walk(payload, base, expected as u64)?;
            let out = match backend {
                ZstdBackend::Pure => zstd_pure(payload, expected, &frame, base)?,
                #[cfg(feature = "c-zstd")]
                ZstdBackend::C => zstd_c(payload, expected, &frame, base)?,
            };
            Ok(Cow::Owned(out))
        }
    }
}

/// What a payload of `stored` bytes under `codec` must be before anything is decoded: the codec
/// is implemented, a stored payload is exactly its declared `expected` bytes, and an empty zstd
/// payload declares nothing. A reader that streams a page (the arena) applies it as
/// [`decompress`] does.
pub fn stored_size_rule(codec: u8, stored: u64, expected: u64) -> Result<()> {
    match codec {
        CODEC_NONE if stored != expected => Err(Error::corrupt(format!(
            "page stores {stored} bytes uncompressed but declares {expected}"
        ))),
        CODEC_ZSTD if stored == 0 && expected != 0 => Err(Error::corrupt(format!(
            "empty zstd payload but the page declares {expected} decoded bytes"
        ))),
        CODEC_NONE | CODEC_ZSTD => Ok(()),
        CODEC_LZ4 | CODEC_ZSTD_DICT => Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "page codec {} is reserved and not implemented",
                codec_name(codec)
            ),
        )),
        n => Err(Error::corrupt(format!("unknown page codec {n}"))),
    }
}

/// Decodes one walked frame with `ruzstd`, then checks its length and content checksum.
fn zstd_pure(
    payload: &[u8],
    expected: usize,
    frame: &zstd_frame::FrameWalker,
    base: u64,
) -> Result<Vec<u8>> {
    // One spare byte tells "exactly `expected`" from "more than `expected`".
    let mut out = vec![0u8; expected + 1];
    let mut dec = ruzstd::decoding::FrameDecoder::new();
    // The walker has bounded the window: at most MAX_WINDOW, or the frame's own content size,
    // which it has held to `expected`.
    dec.set_max_window_size(zstd_frame::MAX_WINDOW.max(expected as u64));
    let n = match dec.decode_all(payload, &mut out) {
        Ok(n) => n,
        Err(ruzstd::decoding::errors::FrameDecoderError::TargetTooSmall) => expected + 1,
        Err(e) => {
            return Err(Error::corrupt(format!("zstd frame does not decode: {e}")).at(base));
        }
    };
    if n != expected {
        return Err(zstd_frame::length_error(n as u64, expected as u64).at(base));
    }
    out.truncate(expected);
    if let (_, Some(stored)) = frame.finish()? {
        let computed = dec.get_calculated_checksum().expect("a frame was decoded");
        zstd_frame::checksum_matches(stored, computed, n as u64, frame.checksum_at())?;
    }
    Ok(out)
}

/// Decodes one walked frame with the C library, which checks the content size and checksum
/// itself. The C decoder is only a faster path to the pure decoder's answer: when it refuses a
/// frame, the pure decoder decides, and its verdict, value and words are used. (The C library
/// refuses a few damaged frames that still decode to their checksummed bytes, such as a
/// flipped bit the bitstream never reads; the verdict must not depend on the backend.)
#[cfg(feature = "c-zstd")]
fn zstd_c(
    payload: &[u8],
    expected: usize,
    frame: &zstd_frame::FrameWalker,
    base: u64,
) -> Result<Vec<u8>> {
    std::thread_local! {
        // One decompression context per thread: creating one per page costs an allocation
        // of ~100 KiB (and its page faults) for every page of a many-page file.
        static DCTX: core::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { core::cell::RefCell::new(None) };
    }
    let mut out = Vec::with_capacity(expected + 1);
    let res = DCTX.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            *slot = Some(zstd::bulk::Decompressor::new()?);
        }
        slot.as_mut()
            .expect("set above")
            .decompress_to_buffer(payload, &mut out)
    });
    if res.is_err() {
        return zstd_pure(payload, expected, frame, base);
    }
    if out.len() != expected {
        return Err(zstd_frame::length_error(out.len() as u64, expected as u64).at(base));
    }
    Ok(out)
}

/// Compresses page payloads for the writer. Implementations must be deterministic: the same
/// input gives the same bytes on every run and machine.
pub trait Compressor {
    /// The partition's codec, written into the header (0 none, 2 zstd).
    fn codec(&self) -> u8;
    /// Appends the stored form of `input` to `out` and returns the codec of what it appended,
    /// which goes into the page header: a compressor may store a payload as it is (codec 0)
    /// when compressing would not make it smaller. An empty input must append nothing (the
    /// format's "empty zstd payload is zero bytes" rule).
    fn compress(&self, input: &[u8], out: &mut Vec<u8>) -> u8;
    /// A lower bound on what [`Compressor::compress`] appends for an input of `len` bytes. The
    /// writer's cascade skips candidates that cannot beat the best page so far, so this must
    /// never overstate.
    fn min_output(&self, len: usize) -> usize;
}

/// The stored-page rule (§11): compressed bytes are kept only when they are fewer than the raw
/// ones; otherwise the payload is stored as it is, with codec 0.
pub fn compression_pays(raw_len: u64, compressed_len: u64) -> bool {
    compressed_len < raw_len
}

/// Applies [`compression_pays`] to what a compressor appended to `out` from `at` on
/// (`compressed` is its length, `None` if compressing failed): keeps it and returns `codec`, or
/// replaces it with `input` and returns codec 0.
pub fn keep_if_smaller(
    input: &[u8],
    out: &mut Vec<u8>,
    at: usize,
    compressed: Option<usize>,
    codec: u8,
) -> u8 {
    if compressed.is_some_and(|n| compression_pays(input.len() as u64, n as u64)) {
        codec
    } else {
        out.truncate(at);
        out.extend_from_slice(input);
        CODEC_NONE
    }
}

/// Stores payloads as they are (codec 0).
#[derive(Debug, Clone, Copy, Default)]
pub struct Uncompressed;

impl Compressor for Uncompressed {
    fn codec(&self) -> u8 {
        CODEC_NONE
    }
    fn compress(&self, input: &[u8], out: &mut Vec<u8>) -> u8 {
        out.extend_from_slice(input);
        CODEC_NONE
    }
    fn min_output(&self, len: usize) -> usize {
        len
    }
}

/// The smallest zstd frame meguri writes that holds any content: magic (4), frame header
/// descriptor (1), block header (3), one byte of block content (a one-byte RLE block) and the
/// content checksum (4).
pub const ZSTD_MIN_FRAME: usize = 13;

/// zstd parameters the writer may set beside the level (0 keeps the level's own value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZstdParams {
    /// log2 of the window: how far back a match may reach. Decoders need this much history;
    /// the reference's decoder accepts up to 2^29.
    pub window_log: u32,
    /// Shortest match the match finder looks for. Longer minimum matches suit text with long
    /// repeats (URLs sharing a host and path prefix) and cost less time.
    pub min_match: u32,
}

/// zstd through the C library at a fixed level (feature `c-zstd`). The library version is
/// pinned by the workspace (`zstd = "=0.14.3"`, libzstd 1.5.7), so output bytes are stable. One
/// compression context is reused across pages (contexts are costly to create); it carries no
/// state from one frame to the next, so reuse does not change the bytes.
///
/// A payload that zstd would not shrink is stored as it is, with codec 0 in its page header:
/// every v1 reader dispatches on the page's own codec. Frames carry a content checksum.
#[cfg(feature = "c-zstd")]
pub struct CZstd {
    level: i32,
    params: ZstdParams,
    ctx: core::cell::RefCell<zstd::bulk::Compressor<'static>>,
}

#[cfg(feature = "c-zstd")]
impl CZstd {
    /// A compressor at `level`, with the level's own parameters.
    pub fn new(level: i32) -> Self {
        Self::with_params(level, ZstdParams::default())
    }

    /// A compressor at `level` with some of the level's parameters overridden.
    pub fn with_params(level: i32, params: ZstdParams) -> Self {
        use zstd::zstd_safe::CParameter;
        let mut ctx = zstd::bulk::Compressor::new(level).expect("zstd context");
        // Frames carry their content checksum, as the reference's do: the only check that sees
        // damage inside a frame once the page's CRC is recomputed over it (4 bytes a page).
        ctx.include_checksum(true).expect("zstd checksum flag");
        if params.window_log != 0 {
            ctx.set_parameter(CParameter::WindowLog(params.window_log))
                .expect("zstd window log");
        }
        if params.min_match != 0 {
            ctx.set_parameter(CParameter::MinMatch(params.min_match))
                .expect("zstd min match");
        }
        CZstd {
            level,
            params,
            ctx: core::cell::RefCell::new(ctx),
        }
    }

    /// The compression level.
    pub fn level(&self) -> i32 {
        self.level
    }

    /// The parameters set beside the level.
    pub fn params(&self) -> ZstdParams {
        self.params
    }
}

#[cfg(feature = "c-zstd")]
impl Compressor for CZstd {
    fn codec(&self) -> u8 {
        CODEC_ZSTD
    }
    fn compress(&self, input: &[u8], out: &mut Vec<u8>) -> u8 {
        if input.is_empty() {
            return CODEC_ZSTD;
        }
        if input.len() <= ZSTD_MIN_FRAME {
            // No frame can be smaller than the input: store it.
            out.extend_from_slice(input);
            return CODEC_NONE;
        }
        // Compressed straight into `out`'s spare capacity (a fresh `compress_bound`-sized
        // buffer per page would cost more in page faults than the compression itself).
        let at = out.len();
        out.reserve(zstd::zstd_safe::compress_bound(input.len()));
        let mut cursor = std::io::Cursor::new(&mut *out);
        cursor.set_position(at as u64);
        let n = self
            .ctx
            .borrow_mut()
            .compress_to_buffer(input, &mut cursor)
            .expect("zstd compression into a buffer of compress_bound bytes");
        keep_if_smaller(input, out, at, Some(n), CODEC_ZSTD)
    }
    fn min_output(&self, len: usize) -> usize {
        len.min(ZSTD_MIN_FRAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::raw_frame;

    #[test]
    fn none_lends_exactly_the_declared_bytes() {
        let got = decompress(CODEC_NONE, b"abc", 3, ZstdBackend::Pure, 0).unwrap();
        assert!(matches!(got, Cow::Borrowed(b"abc")));
        let e = decompress(CODEC_NONE, b"abc", 4, ZstdBackend::Pure, 0).unwrap_err();
        assert!(e.message.contains("declares 4"), "{e}");
    }

    #[test]
    fn zstd_frames_decode_to_their_declared_size_only() {
        let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        // Two stored blocks; with and without the optional header fields.
        for (fcs, checksum) in [(true, true), (false, true), (true, false)] {
            let f = raw_frame(&content, fcs, checksum);
            let got = decompress(CODEC_ZSTD, &f, content.len(), ZstdBackend::Pure, 0).unwrap();
            assert_eq!(&got[..], &content[..], "fcs {fcs} checksum {checksum}");
            assert!(decompress(CODEC_ZSTD, &f, content.len() - 1, ZstdBackend::Pure, 0).is_err());
        }
        // The content checksum sees damage inside a stored block.
        let mut f = raw_frame(b"hello, page", false, true);
        let n = f.len();
        f[n - 6] ^= 0x20;
        let e = decompress(CODEC_ZSTD, &f, 11, ZstdBackend::Pure, 1000).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Checksum);
        assert_eq!(e.offset, Some(1000 + n as u64 - 4));
    }

    #[test]
    fn an_empty_zstd_payload_holds_nothing() {
        assert!(decompress(CODEC_ZSTD, &[], 0, ZstdBackend::Pure, 0)
            .unwrap()
            .is_empty());
        assert!(decompress(CODEC_ZSTD, &[], 5, ZstdBackend::Pure, 0).is_err());
    }

    #[test]
    fn reserved_and_unknown_codecs_are_refused() {
        for c in [CODEC_LZ4, CODEC_ZSTD_DICT] {
            let e = decompress(c, b"x", 1, ZstdBackend::Pure, 0).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Unsupported);
        }
        let e = decompress(9, b"x", 1, ZstdBackend::Pure, 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Corrupt);
        assert_eq!(codec_name(9), "unknown(9)");
    }

    #[test]
    fn compressed_bytes_are_kept_only_when_fewer() {
        let input = [1u8; 10];
        let mut out = b"head".to_vec();
        out.extend_from_slice(&[9; 4]);
        assert_eq!(
            keep_if_smaller(&input, &mut out, 4, Some(4), CODEC_ZSTD),
            CODEC_ZSTD
        );
        assert_eq!(out.len(), 8);
        out.extend_from_slice(&[9; 6]);
        assert_eq!(
            keep_if_smaller(&input, &mut out, 8, Some(10), CODEC_ZSTD),
            CODEC_NONE
        );
        assert_eq!(&out[8..], &input, "an equal size is stored as it is");
        let mut out = Vec::new();
        assert_eq!(
            keep_if_smaller(&input, &mut out, 0, None, CODEC_ZSTD),
            CODEC_NONE
        );
        assert_eq!(out, input);
        let mut out = Vec::new();
        assert_eq!(Uncompressed.compress(&input, &mut out), CODEC_NONE);
        assert_eq!((out.len(), Uncompressed.min_output(10)), (10, 10));
    }
}
