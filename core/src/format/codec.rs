//! Block codecs applied to page payloads: 0 none and 2 zstd. (1 lz4 and 3 zstd-with-dictionary
//! have ids but no implementation anywhere; a page carrying them is refused.)
//!
//! zstd decompression is done by `ruzstd` (pure Rust, `no_std`) by default; with the `c-zstd`
//! feature a caller may pick the C library instead, which is faster natively. Both write into a
//! buffer of exactly the page's declared decoded size, which the caller has already checked
//! against its [`super::Limits`], so a small frame cannot inflate past what the page declares.

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

/// Decodes a page payload under `codec` into exactly `expected` bytes.
pub fn decompress<'a>(
    codec: u8,
    payload: &'a [u8],
    expected: usize,
    backend: ZstdBackend,
) -> Result<Cow<'a, [u8]>> {
    match codec {
        CODEC_NONE => {
            if payload.len() != expected {
                return Err(Error::corrupt(format!(
                    "page stores {} bytes uncompressed but declares {expected}",
                    payload.len()
                )));
            }
            Ok(Cow::Borrowed(payload))
        }
        CODEC_ZSTD => {
            // The reference writes nothing at all for an empty payload.
            if payload.is_empty() {
                if expected != 0 {
                    return Err(Error::corrupt(format!(
                        "empty zstd payload but the page declares {expected} decoded bytes"
                    )));
                }
                return Ok(Cow::Owned(Vec::new()));
            }
            let out = match backend {
                ZstdBackend::Pure => zstd_pure(payload, expected)?,
                #[cfg(feature = "c-zstd")]
                ZstdBackend::C => zstd_c(payload, expected)?,
            };
            Ok(Cow::Owned(out))
        }
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

fn zstd_pure(payload: &[u8], expected: usize) -> Result<Vec<u8>> {
    // One spare byte lets us tell "exactly `expected`" from "more than `expected`".
    let mut out = vec![0u8; expected + 1];
    let mut dec = ruzstd::decoding::FrameDecoder::new();
    let n = dec
        .decode_all(payload, &mut out)
        .map_err(|e| Error::corrupt(format!("zstd payload does not decode: {e}")))?;
    if n != expected {
        return Err(Error::corrupt(format!(
            "zstd payload decodes to {}{n} bytes but the page declares {expected}",
            if n > expected { "at least " } else { "" }
        )));
    }
    out.truncate(expected);
    Ok(out)
}

#[cfg(feature = "c-zstd")]
fn zstd_c(payload: &[u8], expected: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(expected + 1);
    zstd::bulk::Decompressor::new()
        .and_then(|mut d| d.decompress_to_buffer(payload, &mut out))
        .map_err(|e| Error::corrupt(format!("zstd payload does not decode: {e}")))?;
    if out.len() != expected {
        return Err(Error::corrupt(format!(
            "zstd payload decodes to {} bytes but the page declares {expected}",
            out.len()
        )));
    }
    Ok(out)
}

/// Compresses page payloads for the writer. Implementations must be deterministic: the same
/// input gives the same bytes on every run and machine.
pub trait Compressor {
    /// The codec id written into page headers (0 none, 2 zstd).
    fn codec(&self) -> u8;
    /// Appends the compressed form of `input` to `out`. An empty input must append nothing
    /// (the format's "empty zstd payload is zero bytes" rule).
    fn compress(&self, input: &[u8], out: &mut Vec<u8>);
}

/// Stores payloads as they are (codec 0).
#[derive(Debug, Clone, Copy, Default)]
pub struct Uncompressed;

impl Compressor for Uncompressed {
    fn codec(&self) -> u8 {
        CODEC_NONE
    }
    fn compress(&self, input: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(input);
    }
}

/// zstd through the C library at a fixed level (feature `c-zstd`). The library version is
/// pinned by the workspace (`zstd = "=0.14.3"`, libzstd 1.5.7), so output bytes are stable. One
/// compression context is reused across pages (contexts are costly to create); it carries no
/// state from one frame to the next, so reuse does not change the bytes.
#[cfg(feature = "c-zstd")]
pub struct CZstd {
    level: i32,
    ctx: core::cell::RefCell<zstd::bulk::Compressor<'static>>,
}

#[cfg(feature = "c-zstd")]
impl CZstd {
    /// A compressor at `level`.
    pub fn new(level: i32) -> Self {
        let ctx = zstd::bulk::Compressor::new(level).expect("zstd context");
        CZstd {
            level,
            ctx: core::cell::RefCell::new(ctx),
        }
    }

    /// The compression level.
    pub fn level(&self) -> i32 {
        self.level
    }
}

#[cfg(feature = "c-zstd")]
impl Compressor for CZstd {
    fn codec(&self) -> u8 {
        CODEC_ZSTD
    }
    fn compress(&self, input: &[u8], out: &mut Vec<u8>) {
        if input.is_empty() {
            return;
        }
        let c = self
            .ctx
            .borrow_mut()
            .compress(input)
            .expect("zstd compression of an in-memory buffer");
        out.extend_from_slice(&c);
    }
}
