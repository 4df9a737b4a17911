//! Reading an input file's string arena entry by entry without decompressing it whole.
//!
//! The arena is one page, one zstd frame, so it cannot be read at random. But a walk of a
//! file's rows in order asks for entries at offsets that mostly increase: in files meguri
//! writes, strictly (the arena is laid out in row order); in files the reference rebased, in
//! two increasing runs (URL strings, then host strings). So each lookup is served by a
//! *cursor*, a streaming decoder with a window of decompressed bytes, that only moves forward.
//! A lookup behind every cursor opens another cursor from the start (at most
//! [`MAX_CURSORS`]); past that, the arena is decompressed whole once and served from memory,
//! the cost any reader of an unordered arena pays.
//!
//! Invariants: the page's CRC and the region's CRC are checked (one sequential read of the
//! compressed bytes), and the frame is decoded through once under the core's frame rules
//! (content size, checksum), before any entry is served; every entry is bounded by the page's
//! declared raw length; a frame that ends early or runs long is an error, never a short string.

use meguri_core::bytes::read_uvarint;
use meguri_core::column::region_page_header;
use meguri_core::crc::Crc32c;
use meguri_core::format::codec::{CODEC_NONE, CODEC_ZSTD};
use meguri_core::format::page::{KIND_BLOB, PAGE_HEADER_LEN};
use meguri_core::format::REGION_STRING_BLOB;
use meguri_core::reader::Reader;
use meguri_core::source::Source;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::{ArenaProblem, Error, Result};
use crate::arena_zip::{ArenaEncoder, ArenaZip};
use crate::fsource::FileSource;
use crate::zstd_check::{check_payload_into, CheckError, Decoded, PureRead, Reads};
use meguri_core::write::StoredBody;
use meguri_core::Place;
use std::io::Write;

/// Streaming cursors an arena may open before it is decompressed whole instead.
pub const MAX_CURSORS: usize = 3;
/// Decompressed bytes a cursor keeps behind its position, for entries a row shares with an
/// earlier one nearby.
const KEEP_BEHIND: u64 = 1 << 20;
/// Bytes read from a decoder at a time.
const STEP: usize = 256 << 10;

/// How an arena ended up being read, for `--json` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Through this many streaming cursors.
    Streamed(usize),
    /// Decompressed whole into memory (offsets jumped around too much).
    Whole,
}

/// A byte range of a file, read with `pread`.
struct RangeReader {
    file: File,
    pos: u64,
    end: u64,
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = (buf.len() as u64).min(self.end - self.pos) as usize;
        if n == 0 {
            return Ok(0);
        }
        let got = self.file.read_at(&mut buf[..n], self.pos)?;
        self.pos += got as u64;
        Ok(got)
    }
}

struct Cursor {
    src: Box<dyn Read + Send>,
    /// Decompressed bytes from arena offset `start`.
    buf: Vec<u8>,
    start: u64,
}

impl Cursor {
    fn end(&self) -> u64 {
        self.start + self.buf.len() as u64
    }
}

/// One input's arena, read by offset.
pub struct ArenaIn {
    page: ArenaPage,
    /// Which decoder reads the frame (the C one unless it refused a frame the rules accept).
    reads: Reads,
    cursors: Vec<Cursor>,
    opened: usize,
    whole: Option<Vec<u8>>,
}

fn err(name: &str, problem: impl Into<ArenaProblem>) -> Error {
    Error::Arena {
        file: name.to_string(),
        problem: problem.into(),
    }
}

/// A file's arena page, located and its header checked (region bounds, codec, sizes, the
/// decoded-size budget), its bytes not yet read: what [`ArenaIn::open`] and [`recompress`]
/// start from. It holds its own handle of the file, so it may be read on another thread.
pub struct ArenaPage {
    name: String,
    file: File,
    /// The region's offset (its page header's) and its CRC.
    offset: u64,
    region_crc: u32,
    head: [u8; PAGE_HEADER_LEN],
    page_crc: u32,
    body_offset: u64,
    body_len: u64,
    codec: u8,
    /// The declared raw length (0 for an empty body).
    raw_len: u64,
}

impl ArenaPage {
    /// Locates the arena of `reader`'s file at `path`; `None` when the file has none.
    pub fn locate<S: Source>(reader: &Reader<S>, path: &Path) -> Result<Option<ArenaPage>> {
        let name = path.display().to_string();
        let Some(desc) = reader.footer().region(REGION_STRING_BLOB).copied() else {
            return Ok(None);
        };
        if desc.length == 0 {
            // A zero-length region is an empty arena (§7).
            return Ok(None);
        }
        let mut file = File::open(path).map_err(|e| err(&name, e))?;
        let file_len = reader.file_len();
        if desc.length < PAGE_HEADER_LEN as u64
            || desc
                .offset
                .checked_add(desc.length)
                .is_none_or(|e| e > file_len)
        {
            return Err(err(
                &name,
                ArenaProblem::Region {
                    offset: desc.offset,
                    length: desc.length,
                    file_len,
                },
            ));
        }
        let mut head = [0u8; PAGE_HEADER_LEN];
        file.seek(SeekFrom::Start(desc.offset))
            .and_then(|_| file.read_exact(&mut head))
            .map_err(|e| err(&name, e))?;
        let h = region_page_header(&head, &desc, KIND_BLOB).map_err(|source| Error::Format {
            file: name.clone(),
            source,
        })?;
        let body_len = desc.length - PAGE_HEADER_LEN as u64;
        if h.codec != CODEC_NONE && h.codec != CODEC_ZSTD {
            return Err(err(&name, ArenaProblem::Codec(h.codec)));
        }
        if h.codec == CODEC_NONE && h.uncompressed_size != h.compressed_size {
            return Err(err(&name, ArenaProblem::StoredSizes));
        }
        // The same decoded-size budget as every other read (docs/format.md §10).
        let budget = reader.options().limits.budget(file_len);
        if u64::from(h.uncompressed_size) > budget {
            return Err(err(
                &name,
                ArenaProblem::OverBudget {
                    raw: h.uncompressed_size,
                    budget,
                    file_len,
                },
            ));
        }
        Ok(Some(ArenaPage {
            name,
            file,
            offset: desc.offset,
            region_crc: desc.crc,
            head,
            page_crc: h.crc,
            body_offset: desc.offset + PAGE_HEADER_LEN as u64,
            body_len,
            codec: h.codec,
            // An empty zstd body means an empty arena.
            raw_len: if body_len == 0 {
                0
            } else {
                u64::from(h.uncompressed_size)
            },
        }))
    }

    /// The declared raw length: references at or past it resolve to nothing.
    pub fn raw_len(&self) -> u64 {
        self.raw_len
    }

    /// The compressed body, read with `pread` from its start.
    fn body(&self) -> std::io::Result<RangeReader> {
        Ok(RangeReader {
            file: self.file.try_clone()?,
            pos: self.body_offset,
            end: self.body_offset + self.body_len,
        })
    }

    /// Checks the page's and the region's CRC in one pass over the body, handing it to `sink`
    /// on the way when it is stored as it is (then the body is the raw arena).
    fn check_crcs(&self, sink: &mut dyn Decoded) -> Result<()> {
        let stored = self.codec != CODEC_ZSTD;
        let (mut page_crc, mut region_crc) = (Crc32c::new(), Crc32c::new());
        region_crc.update(&self.head);
        let mut body = self.body().map_err(|e| err(&self.name, e))?;
        let mut chunk = vec![0u8; STEP];
        let mut left = self.body_len;
        while left > 0 {
            let n = (STEP as u64).min(left) as usize;
            body.read_exact(&mut chunk[..n])
                .map_err(|e| err(&self.name, e))?;
            page_crc.update(&chunk[..n]);
            region_crc.update(&chunk[..n]);
            if stored {
                sink.bytes(&chunk[..n]).map_err(|e| err(&self.name, e))?;
            }
            left -= n as u64;
        }
        let (pc, rc) = (page_crc.finish(), region_crc.finish());
        if pc != self.page_crc {
            return Err(err(
                &self.name,
                ArenaProblem::PageCrc {
                    want: self.page_crc,
                    got: pc,
                    at: self.offset,
                },
            ));
        }
        if rc != self.region_crc {
            return Err(err(
                &self.name,
                ArenaProblem::RegionCrc {
                    want: self.region_crc,
                    got: rc,
                    at: self.offset,
                },
            ));
        }
        Ok(())
    }

    /// Checks both CRCs, then decodes the body through once under the core's frame rules
    /// (content size, checksum), handing the decoded bytes to `sink` as they pass; says which
    /// decoder reads the frame. A stored body goes to `sink` as it is.
    pub fn check(&self, sink: &mut dyn Decoded) -> Result<Reads> {
        self.check_crcs(sink)?;
        if self.body_len == 0 || self.codec != CODEC_ZSTD {
            return Ok(Reads::C);
        }
        check_payload_into(|| self.body(), self.body_offset, self.raw_len, sink).map_err(
            |e| match e {
                CheckError::Format(e) => Error::Format {
                    file: self.name.clone(),
                    source: e.within(Place::Arena),
                },
                CheckError::Io(e) => err(&self.name, e),
            },
        )
    }
}

/// An arena recompressed straight from a file's page ([`recompress`]).
#[derive(Debug)]
pub struct Recompressed {
    /// The new body's codec, sizes and CRC, for [`meguri_core::write::Encoder::begin_arena`].
    pub body: StoredBody,
    /// The new body.
    pub bytes: Vec<u8>,
}

/// Feeds checked arena bytes to an [`ArenaEncoder`] (a fresh one when the payload is read
/// again from its start).
struct Recompressing<'z> {
    zip: &'z ArenaZip,
    hint: u64,
    enc: ArenaEncoder<Vec<u8>>,
}

impl Decoded for Recompressing<'_> {
    fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.enc.write_all(b)
    }
    fn restart(&mut self) -> std::io::Result<()> {
        self.enc = self.zip.encoder(self.hint, Vec::new())?;
        Ok(())
    }
}

/// Decodes `page` under every check [`ArenaIn::open`] makes and compresses it again with
/// `zip`, never holding the raw arena: in the decoder's window and the compressor's, not in
/// a buffer of its own. The bytes are those of [`ArenaZip`]'s in-memory compression of the raw
/// arena, whose length is the page's declared raw length; whether storing the raw arena would
/// be shorter is the caller's to decide (`compression_pays`). An empty arena gives an empty
/// body.
pub fn recompress(page: &ArenaPage, zip: &ArenaZip) -> Result<Recompressed> {
    let enc = zip
        .encoder(page.raw_len, Vec::new())
        .map_err(|e| err(&page.name, e))?;
    let mut sink = Recompressing {
        zip,
        hint: page.raw_len,
        enc,
    };
    page.check(&mut sink)?;
    let (bytes, c) = sink.enc.finish().map_err(|e| err(&page.name, e))?;
    Ok(Recompressed {
        body: StoredBody {
            codec: CODEC_ZSTD,
            raw_len: c.raw_len,
            len: c.len,
            crc: c.crc,
        },
        bytes,
    })
}

impl ArenaIn {
    /// Opens the arena of `reader`'s file at `path`; `None` when the file has none. Checks the
    /// page and region CRCs and decodes the frame through once (its content size and checksum
    /// are the only checks that see damage inside it, and the cursors below may never reach
    /// its end), in bounded memory, before any entry is served.
    pub fn open(reader: &Reader<FileSource>, path: &Path) -> Result<Option<ArenaIn>> {
        let Some(page) = ArenaPage::locate(reader, path)? else {
            return Ok(None);
        };
        let reads = page.check(&mut std::io::sink())?;
        Ok(Some(ArenaIn {
            page,
            reads,
            cursors: Vec::new(),
            opened: 0,
            whole: None,
        }))
    }

    /// How the arena has been read so far.
    pub fn access(&self) -> Access {
        if self.whole.is_some() {
            Access::Whole
        } else {
            Access::Streamed(self.opened)
        }
    }

    fn body_reader(&self) -> Result<Box<dyn Read + Send>> {
        let page = &self.page;
        // Positioned reads: cursors share the file but never its offset.
        let body = BufReader::with_capacity(STEP, page.body().map_err(|e| err(&page.name, e))?);
        Ok(match (page.codec, self.reads) {
            (CODEC_ZSTD, Reads::C) => Box::new(
                zstd::stream::read::Decoder::with_buffer(body)
                    .map_err(|e| err(&page.name, e))?
                    .single_frame(),
            ),
            (CODEC_ZSTD, Reads::Pure) => {
                Box::new(PureRead::new(body, page.body_offset, page.raw_len))
            }
            _ => Box::new(body),
        })
    }

    /// Reads the whole raw arena (the fallback for unordered lookups).
    fn load_whole(&mut self) -> Result<()> {
        let mut src = self.body_reader()?;
        // Grown by what the decoder really gives (never sized from the header alone), and one
        // byte past the declared length, to tell a frame that runs long.
        let mut all = Vec::new();
        (&mut src)
            .take(self.page.raw_len + 1)
            .read_to_end(&mut all)
            .map_err(|e| err(&self.page.name, e))?;
        if all.len() as u64 != self.page.raw_len {
            return Err(err(
                &self.page.name,
                ArenaProblem::Shorter {
                    got: all.len() as u64,
                    declared: self.page.raw_len,
                },
            ));
        }
        self.cursors.clear();
        self.whole = Some(all);
        Ok(())
    }

    /// The arena's decompressed length: references at or past it resolve to nothing.
    pub fn raw_len(&self) -> u64 {
        self.page.raw_len
    }

    /// The bytes of the entry at `r` (a nonzero reference).
    pub fn entry(&mut self, r: u64) -> Result<&[u8]> {
        if r == 0 || r >= self.page.raw_len {
            return Err(err(
                &self.page.name,
                ArenaProblem::RefOutside {
                    reference: r,
                    len: self.page.raw_len,
                },
            ));
        }
        if self.whole.is_none() {
            let pick = self
                .cursors
                .iter()
                .enumerate()
                .filter(|(_, c)| c.start <= r)
                .max_by_key(|(_, c)| c.start)
                .map(|(i, _)| i);
            let i = match pick {
                Some(i) => Some(i),
                None if self.cursors.len() < MAX_CURSORS => {
                    let src = self.body_reader()?;
                    self.cursors.push(Cursor {
                        src,
                        buf: Vec::new(),
                        start: 0,
                    });
                    self.opened += 1;
                    Some(self.cursors.len() - 1)
                }
                None => None,
            };
            match i {
                Some(i) => return self.via_cursor(i, r),
                None => self.load_whole()?,
            }
        }
        let all = self.whole.as_deref().unwrap_or_default();
        let (len, n) = read_uvarint(&all[r as usize..])
            .map_err(|_| err(&self.page.name, ArenaProblem::BrokenLength(r)))?;
        let body = r as usize + n;
        match usize::try_from(len).ok().and_then(|l| body.checked_add(l)) {
            Some(end) if end <= all.len() => Ok(&all[body..end]),
            _ => Err(err(
                &self.page.name,
                ArenaProblem::PastEnd { reference: r, len },
            )),
        }
    }

    /// Fills cursor `i` up to arena offset `end` (clamped to the arena's length).
    fn fill(&mut self, i: usize, end: u64) -> Result<()> {
        let end = end.min(self.page.raw_len);
        let c = &mut self.cursors[i];
        while c.end() < end {
            // One step at a time: the buffer only grows by what the decoder delivers.
            let want = STEP.min((self.page.raw_len - c.end()) as usize);
            let at = c.buf.len();
            c.buf.resize(at + want, 0);
            let mut got = 0;
            while got < want {
                match c.src.read(&mut c.buf[at + got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(err(&self.page.name, e)),
                }
            }
            c.buf.truncate(at + got);
            if c.end() == self.page.raw_len {
                // The declared end: the frame must end here too.
                let mut probe = [0u8; 1];
                if matches!(c.src.read(&mut probe), Ok(n) if n > 0) {
                    return Err(err(
                        &self.page.name,
                        ArenaProblem::Longer {
                            declared: self.page.raw_len,
                        },
                    ));
                }
            }
            if got == 0 {
                return Err(err(
                    &self.page.name,
                    ArenaProblem::Shorter {
                        got: c.end(),
                        declared: self.page.raw_len,
                    },
                ));
            }
        }
        Ok(())
    }

    fn via_cursor(&mut self, i: usize, r: u64) -> Result<&[u8]> {
        {
            // Drop what lies well behind the lookup, keeping a little for nearby back
            // references; the buffer stays about KEEP_BEHIND + one entry + STEP long.
            let c = &mut self.cursors[i];
            if r - c.start > 2 * KEEP_BEHIND && r - c.start <= c.buf.len() as u64 {
                let cut = (r - c.start - KEEP_BEHIND) as usize;
                c.buf.drain(..cut);
                c.start += cut as u64;
            } else if r > c.end() {
                // Skip ahead without keeping what lies between.
                let skip = r - c.end();
                std::io::copy(&mut (&mut c.src).take(skip), &mut std::io::sink())
                    .map_err(|e| err(&self.page.name, e))?;
                c.buf.clear();
                c.start = r;
            }
        }
        self.fill(i, r + 10)?;
        let (start, body, len) = {
            let c = &self.cursors[i];
            let at = (r - c.start) as usize;
            let (len, n) = read_uvarint(&c.buf[at..])
                .map_err(|_| err(&self.page.name, ArenaProblem::BrokenLength(r)))?;
            (c.start, r + n as u64, len)
        };
        let end = body
            .checked_add(len)
            .filter(|&e| e <= self.page.raw_len)
            .ok_or_else(|| err(&self.page.name, ArenaProblem::PastEnd { reference: r, len }))?;
        self.fill(i, end)?;
        let c = &self.cursors[i];
        debug_assert_eq!(c.start, start);
        Ok(&c.buf[(body - c.start) as usize..(end - c.start) as usize])
    }
}
