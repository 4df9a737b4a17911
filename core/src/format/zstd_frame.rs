//! The zstd frame rules of the format, checked the same way whichever decoder runs.
//!
//! A codec-2 payload that is not empty is **exactly one zstd frame** (RFC 8878 §3.1.1): no
//! skippable frames, nothing after the frame. zstd keeps two checks of its own inside a frame,
//! and the format's CRCs cover only the compressed bytes, so these are the only checks that see
//! a frame that was damaged and then had its CRCs recomputed:
//!
//! - the **frame content size**, when the header declares one, must equal the page's declared
//!   decoded size (and the bytes the frame really decodes to);
//! - the **content checksum**, when the frame has one, must equal the low 32 bits of the XXH64
//!   (seed 0) of the decoded bytes.
//!
//! Beyond those: the reserved descriptor bit is clear, no dictionary is named (v1 has none),
//! and a window that is not the frame's own content size is at most [`MAX_WINDOW`].
//!
//! [`FrameWalker`] checks the structure (header, block headers, where the frame ends) from the
//! compressed bytes alone, fed in pieces of any size, so a streaming reader and a whole-page
//! reader apply the same rules; [`DecodeCheck`] then holds the decoded bytes to the header's
//! promises. Errors carry absolute byte offsets: the field at fault, like a CRC error.

use crate::error::{Error, ErrorKind, Result};
use alloc::format;

/// zstd frame magic, as it appears on disk.
pub const FRAME_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The largest window a frame may ask for unless its window is its own content size (a
/// single-segment frame, whose size the page bounds): 128 MiB, the C library's default limit
/// for streaming decoders. The reference writes windows of at most 8 MiB, as meguri does now
/// (its arenas had 32 MiB windows until 2026-12).
pub const MAX_WINDOW: u64 = 1 << 27;

/// Largest block content, by the zstd specification.
const MAX_BLOCK: u64 = 128 << 10;

/// What a frame's header says, and where its fields are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameHeader {
    /// Header length in bytes (magic included).
    pub len: u8,
    /// Declared decoded size, if the header has one.
    pub content_size: Option<u64>,
    /// Absolute offset of the content-size field (meaningful when `content_size` is set).
    pub content_size_at: u64,
    /// Whether a 4-byte content checksum ends the frame.
    pub has_checksum: bool,
    /// Window the decoder must keep (the content size for a single-segment frame).
    pub window: u64,
    /// Whether the frame is single-segment.
    pub single_segment: bool,
}

/// Parses a frame header from `b` (at absolute offset `at`); `Ok(None)` when more bytes are
/// needed to tell.
fn parse_header(b: &[u8], at: u64) -> Result<Option<FrameHeader>> {
    if b.len() < 5 {
        return Ok(None);
    }
    if b[..4] != FRAME_MAGIC {
        let magic = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let what = if magic & 0xffff_fff0 == 0x184d_2a50 {
            "a skippable frame"
        } else {
            "not a zstd frame"
        };
        return Err(Error::corrupt(format!(
            "zstd payload starts with 0x{magic:08x}, {what}; a payload is exactly one zstd frame"
        ))
        .at(at));
    }
    let d = b[4];
    let fcs_flag = d >> 6;
    let single_segment = d & 0x20 != 0;
    if d & 0x08 != 0 {
        return Err(Error::corrupt(format!(
            "zstd frame descriptor 0x{d:02x} sets the reserved bit"
        ))
        .at(at + 4));
    }
    let has_checksum = d & 0x04 != 0;
    let dict_len = [0usize, 1, 2, 4][(d & 3) as usize];
    let win_len = usize::from(!single_segment);
    let fcs_len = match fcs_flag {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let len = 5 + win_len + dict_len + fcs_len;
    if b.len() < len {
        return Ok(None);
    }
    let mut window = 0u64;
    if !single_segment {
        let w = b[5];
        let log = 10 + u64::from(w >> 3);
        let base = 1u64 << log;
        window = base + (base / 8) * u64::from(w & 7);
    }
    let dict_at = 5 + win_len;
    let dict = b[dict_at..dict_at + dict_len]
        .iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    if dict != 0 {
        return Err(Error::corrupt(format!(
            "zstd frame needs dictionary {dict}; v1 files use no dictionaries"
        ))
        .at(at + dict_at as u64));
    }
    let fcs_at = dict_at + dict_len;
    let raw = b[fcs_at..fcs_at + fcs_len]
        .iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let content_size = match fcs_len {
        0 => None,
        2 => Some(raw + 256),
        _ => Some(raw),
    };
    if single_segment {
        window = content_size.unwrap_or(0);
    } else if window > MAX_WINDOW {
        return Err(Error::new(
            ErrorKind::Limit,
            format!("zstd frame asks for a {window}-byte window, over the {MAX_WINDOW}-byte limit"),
        )
        .at(at + 5));
    }
    Ok(Some(FrameHeader {
        len: len as u8,
        content_size,
        content_size_at: at + fcs_at as u64,
        has_checksum,
        window,
        single_segment,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Collecting header bytes (up to 18).
    Header,
    /// Collecting a 3-byte block header.
    BlockHeader,
    /// Skipping `left` bytes of block content; `last` says whether it is the last block.
    BlockBody { left: u64, last: bool },
    /// Collecting the 4-byte checksum.
    Checksum,
    /// The frame has ended; any further byte is an error.
    Done,
}

/// Walks one zstd frame's structure from its compressed bytes, fed in pieces of any size,
/// without decoding it. Finds the header, every block boundary, the stored checksum and the
/// frame's end, and refuses what the rules above refuse.
#[derive(Debug, Clone)]
pub struct FrameWalker {
    base: u64,
    pos: u64,
    step: Step,
    buf: [u8; 18],
    have: usize,
    header: Option<FrameHeader>,
    checksum: Option<u32>,
    checksum_at: u64,
    /// Decoded bytes the page declares.
    expected: u64,
    /// Where the last complete unit (the header, a whole block; the last block only with its
    /// checksum) ends, relative to the payload's start, and how many whole blocks there are.
    units_end: u64,
    blocks_done: usize,
}

impl FrameWalker {
    /// A walker for a payload whose first byte is at absolute offset `base`, which the page says
    /// decodes to `expected` bytes.
    pub fn new(base: u64, expected: u64) -> Self {
        FrameWalker {
            base,
            pos: 0,
            step: Step::Header,
            buf: [0; 18],
            have: 0,
            header: None,
            checksum: None,
            checksum_at: 0,
            expected,
            units_end: 0,
            blocks_done: 0,
        }
    }

    fn at(&self) -> u64 {
        self.base + self.pos
    }

    /// Feeds the next compressed bytes.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<()> {
        while !bytes.is_empty() {
            match self.step {
                Step::Header => {
                    let take = (18 - self.have).min(bytes.len());
                    self.buf[self.have..self.have + take].copy_from_slice(&bytes[..take]);
                    let Some(h) = parse_header(&self.buf[..self.have + take], self.base)? else {
                        self.have += take;
                        self.pos += take as u64;
                        bytes = &bytes[take..];
                        continue;
                    };
                    if let Some(n) = h.content_size {
                        if n != self.expected {
                            return Err(Error::corrupt(format!(
                                "zstd frame declares {n} decoded bytes, the page {}",
                                self.expected
                            ))
                            .at(h.content_size_at));
                        }
                    }
                    // Only the header's own bytes are consumed; the rest is fed again below.
                    let used = usize::from(h.len) - self.have;
                    self.header = Some(h);
                    self.pos += used as u64;
                    bytes = &bytes[used..];
                    self.have = 0;
                    self.units_end = self.pos;
                    self.step = Step::BlockHeader;
                }
                Step::BlockHeader => {
                    let take = (3 - self.have).min(bytes.len());
                    self.buf[self.have..self.have + take].copy_from_slice(&bytes[..take]);
                    self.have += take;
                    self.pos += take as u64;
                    bytes = &bytes[take..];
                    if self.have < 3 {
                        continue;
                    }
                    self.have = 0;
                    let v = u32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], 0]);
                    let last = v & 1 != 0;
                    let size = u64::from(v >> 3);
                    let block_at = self.at() - 3;
                    // Block_Size (the stored size, or for an RLE block the size it repeats
                    // to) never exceeds 128 KiB.
                    let stored = match (v >> 1) & 3 {
                        0 | 2 => size,
                        1 => 1,
                        _ => {
                            return Err(Error::corrupt("zstd block type 3 is reserved").at(block_at))
                        }
                    };
                    if size > MAX_BLOCK {
                        return Err(Error::corrupt(format!(
                            "zstd block of {size} bytes is larger than the {MAX_BLOCK}-byte maximum"
                        ))
                        .at(block_at));
                    }
                    self.step = Step::BlockBody { left: stored, last };
                    if stored == 0 {
                        self.end_block(last);
                    }
                }
                Step::BlockBody { left, last } => {
                    let take = left.min(bytes.len() as u64);
                    self.pos += take;
                    bytes = &bytes[take as usize..];
                    if take == left {
                        self.end_block(last);
                    } else {
                        self.step = Step::BlockBody {
                            left: left - take,
                            last,
                        };
                    }
                }
                Step::Checksum => {
                    if self.have == 0 {
                        self.checksum_at = self.at();
                    }
                    let take = (4 - self.have).min(bytes.len());
                    self.buf[self.have..self.have + take].copy_from_slice(&bytes[..take]);
                    self.have += take;
                    self.pos += take as u64;
                    bytes = &bytes[take..];
                    if self.have == 4 {
                        self.checksum = Some(u32::from_le_bytes([
                            self.buf[0],
                            self.buf[1],
                            self.buf[2],
                            self.buf[3],
                        ]));
                        self.have = 0;
                        self.step = Step::Done;
                        self.units_end = self.pos;
                        self.blocks_done += 1;
                    }
                }
                Step::Done => {
                    return Err(Error::corrupt(
                        "bytes follow the end of the zstd frame; a payload is exactly one frame",
                    )
                    .at(self.at()));
                }
            }
        }
        Ok(())
    }

    fn end_block(&mut self, last: bool) {
        if last && self.header.is_some_and(|h| h.has_checksum) {
            // The last block counts as whole only with the checksum after it.
            self.step = Step::Checksum;
            return;
        }
        self.step = if last { Step::Done } else { Step::BlockHeader };
        self.units_end = self.pos;
        self.blocks_done += 1;
    }

    /// Ends the walk: the frame must be complete. Returns its header and stored checksum.
    pub fn finish(&self) -> Result<(FrameHeader, Option<u32>)> {
        match (self.step, self.header) {
            (Step::Done, Some(h)) => Ok((h, self.checksum)),
            _ => Err(Error::corrupt(format!(
                "zstd frame is cut short: the payload ends after {} bytes, inside the {}",
                self.pos,
                match self.step {
                    Step::Header => "frame header",
                    Step::BlockHeader | Step::BlockBody { .. } => "frame's blocks",
                    _ => "content checksum",
                }
            ))
            .at(self.at())),
        }
    }

    /// The header, once it has been read.
    pub fn header(&self) -> Option<FrameHeader> {
        self.header
    }

    /// Absolute offset of the content checksum (meaningful after [`FrameWalker::finish`]).
    pub fn checksum_at(&self) -> u64 {
        self.checksum_at
    }
}

/// Walks a whole payload (one frame) at absolute offset `base`.
pub fn walk(payload: &[u8], base: u64, expected: u64) -> Result<FrameWalker> {
    let mut w = FrameWalker::new(base, expected);
    w.feed(payload)?;
    w.finish()?;
    Ok(w)
}

/// Holds a frame's decoded bytes, fed in pieces, to what its header promised: the decoded
/// length and, when the frame has one, the content checksum.
pub struct DecodeCheck {
    hash: twox_hash::XxHash64,
    len: u64,
}

impl Default for DecodeCheck {
    fn default() -> Self {
        Self::new()
    }
}

impl DecodeCheck {
    /// A fresh check.
    pub fn new() -> Self {
        DecodeCheck {
            hash: twox_hash::XxHash64::with_seed(0),
            len: 0,
        }
    }

    /// Feeds decoded bytes.
    pub fn update(&mut self, decoded: &[u8]) {
        use core::hash::Hasher;
        self.hash.write(decoded);
        self.len += decoded.len() as u64;
    }

    /// Decoded bytes fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been fed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The low 32 bits of the XXH64 of everything fed, as a frame stores it.
    pub fn checksum(&self) -> u32 {
        use core::hash::Hasher;
        self.hash.finish() as u32
    }

    /// Compares with the walked frame: `expected` decoded bytes, and the stored checksum.
    pub fn finish(&self, walker: &FrameWalker, expected: u64) -> Result<()> {
        let (_, stored) = walker.finish()?;
        if self.len != expected {
            return Err(length_error(self.len, expected).at(walker.base));
        }
        match stored {
            Some(c) => checksum_matches(c, self.checksum(), self.len, walker.checksum_at()),
            None => Ok(()),
        }
    }
}

/// The error for a frame that decodes to `got` bytes where the page declares `expected`.
pub fn length_error(got: u64, expected: u64) -> Error {
    Error::corrupt(format!(
        "zstd frame decodes to {}{got} bytes but the page declares {expected}",
        if got > expected { "more than " } else { "" }
    ))
}

/// Compares a frame's stored checksum with the one its `len` decoded bytes give.
pub fn checksum_matches(stored: u32, computed: u32, len: u64, at: u64) -> Result<()> {
    if stored == computed {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Checksum,
        format!(
            "zstd frame checksum is 0x{stored:08x} but its {len} decoded bytes give 0x{computed:08x}"
        ),
    )
    .at(at))
}

/// Decodes one frame from compressed bytes fed in pieces, in bounded memory (the frame's window
/// plus one block), handing the decoded bytes to a sink, and applies every rule of this module:
/// the walk, the length and the checksum. The pure-Rust decoder makes it usable everywhere,
/// `no_std` and wasm included. The walker tells where whole blocks end, so the decoder is only
/// ever given complete blocks.
pub struct StreamCheck {
    walker: FrameWalker,
    dec: ruzstd::decoding::FrameDecoder,
    check: DecodeCheck,
    /// Compressed bytes from `consumed` on, not yet given to the decoder.
    pending: alloc::vec::Vec<u8>,
    consumed: u64,
    started: bool,
    blocks_fed: usize,
    out: alloc::vec::Vec<u8>,
    expected: u64,
}

impl StreamCheck {
    /// A check of a payload at absolute offset `base` that the page says decodes to `expected`
    /// bytes.
    pub fn new(base: u64, expected: u64) -> Self {
        let mut dec = ruzstd::decoding::FrameDecoder::new();
        dec.set_max_window_size(MAX_WINDOW.max(expected));
        StreamCheck {
            walker: FrameWalker::new(base, expected),
            dec,
            check: DecodeCheck::new(),
            pending: alloc::vec::Vec::new(),
            consumed: 0,
            started: false,
            blocks_fed: 0,
            out: alloc::vec![0u8; 64 << 10],
            expected,
        }
    }

    /// Decoded bytes handed to the sink so far.
    pub fn decoded(&self) -> u64 {
        self.check.len()
    }

    fn decode_error(&self, e: impl core::fmt::Display) -> Error {
        Error::corrupt(alloc::format!("zstd frame does not decode: {e}")).at(self.walker.base)
    }

    /// Feeds the next compressed bytes; decoded bytes go to `sink` as they come.
    pub fn feed(&mut self, compressed: &[u8], sink: &mut dyn FnMut(&[u8])) -> Result<()> {
        self.walker.feed(compressed)?;
        self.pending.extend_from_slice(compressed);
        self.pump(sink)
    }

    fn pump(&mut self, sink: &mut dyn FnMut(&[u8])) -> Result<()> {
        use ruzstd::decoding::BlockDecodingStrategy;
        let whole = (self.walker.units_end - self.consumed) as usize;
        if whole == 0 {
            return Ok(());
        }
        let mut src = &self.pending[..whole];
        if !self.started {
            self.dec.init(&mut src).map_err(|e| self.decode_error(e))?;
            self.started = true;
        }
        let blocks = self.walker.blocks_done - self.blocks_fed;
        if blocks > 0 {
            self.dec
                .decode_blocks(&mut src, BlockDecodingStrategy::UptoBlocks(blocks))
                .map_err(|e| self.decode_error(e))?;
            self.blocks_fed = self.walker.blocks_done;
        }
        if !src.is_empty() {
            return Err(self.decode_error("the decoder and the frame walk disagree on block ends"));
        }
        self.pending.drain(..whole);
        self.consumed += whole as u64;
        loop {
            let n = ruzstd::io::Read::read(&mut self.dec, &mut self.out)
                .map_err(|e| self.decode_error(e))?;
            if n == 0 {
                return Ok(());
            }
            let total = self.check.len() + n as u64;
            if total > self.expected {
                return Err(length_error(total, self.expected).at(self.walker.base));
            }
            self.check.update(&self.out[..n]);
            sink(&self.out[..n]);
        }
    }

    /// Ends the frame: checks it is complete, then its length and checksum.
    pub fn finish(mut self, sink: &mut dyn FnMut(&[u8])) -> Result<()> {
        self.walker.finish()?;
        self.pump(sink)?;
        if !self.dec.is_finished() {
            return Err(self.decode_error("the frame ends before its last block"));
        }
        self.check.finish(&self.walker, self.expected)
    }
}

/// Checks a whole payload with [`StreamCheck`], discarding the decoded bytes.
pub fn check_stream(payload: &[u8], base: u64, expected: u64, piece: usize) -> Result<()> {
    let mut c = StreamCheck::new(base, expected);
    for p in payload.chunks(piece.max(1)) {
        c.feed(p, &mut |_| {})?;
    }
    c.finish(&mut |_| {})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::raw_frame;

    #[test]
    fn walks_in_any_pieces() {
        let f = raw_frame(b"hello, frame", true, true);
        for step in 1..f.len() {
            let mut w = FrameWalker::new(100, 12);
            for piece in f.chunks(step) {
                w.feed(piece).unwrap();
            }
            let (h, c) = w.finish().unwrap();
            assert_eq!(h.content_size, Some(12));
            assert!(c.is_some());
            let mut d = DecodeCheck::new();
            d.update(b"hello, frame");
            d.finish(&w, 12).unwrap();
        }
    }

    #[test]
    fn content_size_must_match_the_page() {
        let f = raw_frame(b"abc", true, false);
        let e = walk(&f, 1000, 4).unwrap_err();
        assert_eq!(e.offset, Some(1005));
        assert!(e.message.contains("declares 3"), "{e}");
    }

    #[test]
    fn checksum_mismatch_points_at_the_field() {
        let f = raw_frame(b"abcdef", false, true);
        let w = walk(&f, 10, 6).unwrap();
        let mut d = DecodeCheck::new();
        d.update(b"abcdeX");
        let e = d.finish(&w, 6).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Checksum);
        assert_eq!(e.offset, Some(10 + f.len() as u64 - 4));
    }

    #[test]
    fn refuses_what_the_rules_refuse() {
        let good = raw_frame(b"abcdef", true, true);
        // Cut anywhere.
        for n in 0..good.len() {
            assert!(walk(&good[..n], 0, 6).is_err(), "cut at {n}");
        }
        // Bytes after the frame.
        let mut two = good.clone();
        two.extend_from_slice(&good);
        assert!(walk(&two, 0, 6).is_err());
        // Reserved bit, dictionary, reserved block type, skippable frame.
        let mut r = good.clone();
        r[4] |= 0x08;
        assert!(walk(&r, 0, 6).is_err());
        let mut d = raw_frame(b"abcdef", false, false);
        d[4] |= 0x01;
        d.insert(6, 7);
        assert!(walk(&d, 0, 6).unwrap_err().message.contains("dictionary"));
        let mut b = good.clone();
        b[6] |= 0x06;
        assert!(walk(&b, 0, 6).is_err());
        let skip = [0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0];
        assert!(walk(&skip, 0, 0).unwrap_err().message.contains("skippable"));
    }

    #[test]
    fn streaming_agrees_with_the_walk() {
        let f = raw_frame(b"streamed content", true, true);
        for piece in [1, 2, 5, 64] {
            check_stream(&f, 0, 16, piece).unwrap();
        }
        let mut bad = f.clone();
        let n = bad.len();
        bad[n - 5] ^= 1; // last content byte: only the checksum sees it
        let e = check_stream(&bad, 0, 16, 3).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Checksum);
        assert!(check_stream(&f, 0, 17, 4).is_err());
    }

    #[test]
    fn huge_windows_are_refused() {
        let mut f = raw_frame(b"abc", false, false);
        f[5] = 30 << 3; // 2^40
        assert_eq!(walk(&f, 0, 3).unwrap_err().kind, ErrorKind::Limit);
    }
}
