//! Checking and reading a zstd payload in pieces under the core's frame rules
//! ([`meguri_core::format::zstd_frame`]), with the C library as the fast path.
//!
//! The core's pure-Rust check is the authority: it walks the frame's structure and holds the
//! decoded bytes to the frame's content size and checksum. The C decoder (about 2.5 times
//! faster) runs first under the same walk and the same length and checksum checks; when it
//! refuses a frame, the pure check decides, so neither the verdict nor the words depend on the
//! decoder. A frame only the pure decoder accepts (the C library refuses a few damaged frames
//! that still decode to their checksummed bytes) is then read through [`PureRead`].

use meguri_core::format::zstd_frame::{self, DecodeCheck, FrameWalker, StreamCheck};
use meguri_core::Error;
use std::collections::VecDeque;
use std::io::{self, Read};
use zstd::stream::raw::{Decoder, InBuffer, Operation, OutBuffer};

/// Bytes handed to a decoder at a time.
const STEP: usize = 256 << 10;

/// Which decoder reads a checked payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// The C library.
    C,
    /// The pure-Rust decoder ([`PureRead`]): the C library refused a frame the rules accept.
    Pure,
}

/// A check of one payload fed in pieces to the C decoder.
struct CStreamCheck {
    walker: FrameWalker,
    dec: Decoder<'static>,
    check: DecodeCheck,
    out: Vec<u8>,
    expected: u64,
    frame_done: bool,
    base: u64,
}

/// Why the C check stopped: a frame rule (already in the core's words), the C decoder's
/// refusal, which the pure check then judges, or the sink's failure.
enum Stop {
    Rule(Error),
    Decoder,
    Sink(io::Error),
}

/// Where a checked payload's decoded bytes go, as they pass the checks. A payload is only
/// accepted at its end (the content size and checksum come last), so a sink holds bytes that
/// may still be refused; and when the C decoder refuses a frame the pure one then reads, the
/// payload is decoded again from its start.
pub trait Decoded {
    /// The next decoded bytes.
    fn bytes(&mut self, b: &[u8]) -> io::Result<()>;
    /// Forget every byte so far: the payload is decoded again from its start.
    fn restart(&mut self) -> io::Result<()>;
}

impl Decoded for io::Sink {
    fn bytes(&mut self, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn restart(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl CStreamCheck {
    fn new(base: u64, expected: u64) -> io::Result<Self> {
        let mut dec = Decoder::new()?;
        // The walker bounds windows that are not the frame's own (page-bounded) content size.
        dec.set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(31))?;
        Ok(CStreamCheck {
            walker: FrameWalker::new(base, expected),
            dec,
            check: DecodeCheck::new(),
            out: vec![0u8; STEP],
            expected,
            frame_done: false,
            base,
        })
    }

    fn feed(&mut self, compressed: &[u8], sink: &mut dyn Decoded) -> Result<(), Stop> {
        self.walker.feed(compressed).map_err(Stop::Rule)?;
        let mut input = InBuffer::around(compressed);
        loop {
            let mut output = OutBuffer::around(&mut self.out[..]);
            let hint = self
                .dec
                .run(&mut input, &mut output)
                .map_err(|_| Stop::Decoder)?;
            let n = output.pos();
            let total = self.check.len() + n as u64;
            if total > self.expected {
                return Err(Stop::Rule(
                    zstd_frame::length_error(total, self.expected).at(self.base),
                ));
            }
            self.check.update(&self.out[..n]);
            sink.bytes(&self.out[..n]).map_err(Stop::Sink)?;
            if hint == 0 {
                self.frame_done = true;
            }
            if input.pos() == input.src.len() && n < self.out.len() {
                return Ok(());
            }
        }
    }

    fn finish(mut self, sink: &mut dyn Decoded) -> Result<(), Stop> {
        self.feed(&[], sink)?;
        self.walker.finish().map_err(Stop::Rule)?;
        if !self.frame_done {
            return Err(Stop::Decoder);
        }
        self.check
            .finish(&self.walker, self.expected)
            .map_err(Stop::Rule)
    }
}

/// Checks the payload that `open` reads (from its start each time it is called), at absolute
/// offset `base`, decoding to `expected` bytes, and says which decoder reads it. The payload is
/// read once, or twice when the C decoder refuses it.
pub fn check_payload<R: Read>(
    open: impl FnMut() -> io::Result<R>,
    base: u64,
    expected: u64,
) -> Result<Reads, CheckError> {
    check_payload_into(open, base, expected, &mut io::sink())
}

/// [`check_payload`], handing the decoded bytes to `sink` as they are checked (and restarting it
/// when the pure decoder reads the payload again).
pub fn check_payload_into<R: Read>(
    mut open: impl FnMut() -> io::Result<R>,
    base: u64,
    expected: u64,
    sink: &mut dyn Decoded,
) -> Result<Reads, CheckError> {
    let mut c = CStreamCheck::new(base, expected)?;
    let mut src = open()?;
    let mut buf = vec![0u8; STEP];
    let stop = loop {
        let n = read_some(&mut src, &mut buf)?;
        let step = if n == 0 {
            match c.finish(sink) {
                Ok(()) => return Ok(Reads::C),
                Err(s) => s,
            }
        } else {
            match c.feed(&buf[..n], sink) {
                Ok(()) => continue,
                Err(s) => s,
            }
        };
        break step;
    };
    match stop {
        Stop::Rule(e) => return Err(CheckError::Format(e)),
        Stop::Sink(e) => return Err(CheckError::Io(e)),
        Stop::Decoder => {}
    }
    sink.restart()?;
    let mut pure = PureRead::new(open()?, base, expected);
    let mut buf = vec![0u8; STEP];
    loop {
        let n = read_some(&mut pure, &mut buf).map_err(|e| match pure.take_error() {
            Some(f) => CheckError::Format(f),
            None => CheckError::Io(e),
        })?;
        if n == 0 {
            return Ok(Reads::Pure);
        }
        sink.bytes(&buf[..n])?;
    }
}

fn read_some(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match src.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            r => return r,
        }
    }
}

/// A payload's decoded bytes through the core's pure streaming check: every rule applies, and
/// a breach is a read error (whose [`Error`] [`PureRead::take_error`] gives back).
pub struct PureRead<R> {
    src: R,
    check: Option<StreamCheck>,
    ready: VecDeque<u8>,
    chunk: Vec<u8>,
    failed: Option<Error>,
}

impl<R: Read> PureRead<R> {
    /// Decodes the payload `src` reads, which sits at absolute offset `base` and decodes to
    /// `expected` bytes.
    pub fn new(src: R, base: u64, expected: u64) -> Self {
        PureRead {
            src,
            check: Some(StreamCheck::new(base, expected)),
            ready: VecDeque::new(),
            chunk: vec![0u8; 64 << 10],
            failed: None,
        }
    }

    /// The rule a failed read broke, if that is why it failed.
    pub fn take_error(&mut self) -> Option<Error> {
        self.failed.take()
    }

    fn refill(&mut self) -> io::Result<()> {
        while self.ready.is_empty() {
            let Some(check) = self.check.as_mut() else {
                return Ok(());
            };
            let n = read_some(&mut self.src, &mut self.chunk)?;
            let ready = &mut self.ready;
            let res = if n == 0 {
                let check = self.check.take().expect("present");
                check.finish(&mut |b| ready.extend(b))
            } else {
                check.feed(&self.chunk[..n], &mut |b| ready.extend(b))
            };
            if let Err(e) = res {
                let msg = e.to_string();
                self.failed = Some(e);
                self.check = None;
                return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for PureRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.refill()?;
        let n = buf.len().min(self.ready.len());
        for (dst, src) in buf.iter_mut().zip(self.ready.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

/// A payload check that failed: the bytes break a rule, or they could not be read.
#[derive(Debug)]
pub enum CheckError {
    /// The payload breaks a frame rule.
    Format(Error),
    /// Reading it failed.
    Io(io::Error),
}

impl From<io::Error> for CheckError {
    fn from(e: io::Error) -> Self {
        CheckError::Io(e)
    }
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Format(e) => e.fmt(f),
            CheckError::Io(e) => e.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8]) -> Vec<u8> {
        zstd::bulk::Compressor::new(3)
            .and_then(|mut c| {
                c.include_checksum(true)?;
                c.compress(data)
            })
            .unwrap()
    }

    #[test]
    fn agrees_with_the_pure_check_and_reads_what_it_accepts() {
        // Text-like bytes: a small alphabet in a pseudo-random order, so the frame has several
        // compressed blocks of some size.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..400_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b"abcdefgh/.-"[(x % 11) as usize]
            })
            .collect();
        let f = frame(&data);
        assert!(f.len() > 100_000, "{}", f.len());
        let n = data.len() as u64;
        assert_eq!(check_payload(|| Ok(&f[..]), 0, n).unwrap(), Reads::C);
        let mut back = Vec::new();
        PureRead::new(&f[..], 0, n).read_to_end(&mut back).unwrap();
        assert!(back == data);
        // Single-byte changes over the whole frame (the header, block headers and contents,
        // the checksum): the same verdict and words as the pure check.
        for i in (0..64)
            .chain((64..f.len()).step_by(997))
            .chain(f.len() - 64..f.len())
        {
            let mut bad = f.clone();
            bad[i] ^= 0x41;
            let c = check_payload(|| Ok(&bad[..]), 0, n).err();
            let p = zstd_frame::check_stream(&bad, 0, n, 4096).err();
            assert_eq!(
                c.as_ref().map(|e| e.to_string()),
                p.as_ref().map(|e| e.to_string()),
                "byte {i}"
            );
        }
    }

    /// Collects what a check hands on, starting over when told to.
    #[derive(Default)]
    struct Collect {
        bytes: Vec<u8>,
        restarts: usize,
    }

    impl Decoded for Collect {
        fn bytes(&mut self, b: &[u8]) -> io::Result<()> {
            self.bytes.extend_from_slice(b);
            Ok(())
        }
        fn restart(&mut self) -> io::Result<()> {
            self.bytes.clear();
            self.restarts += 1;
            Ok(())
        }
    }

    #[test]
    fn a_sink_receives_exactly_the_bytes_of_every_payload_accepted() {
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| b"https://a.example/x/"[(i.wrapping_mul(2_654_435_761) >> 27) as usize % 20])
            .collect();
        let f = frame(&data);
        let n = data.len() as u64;
        let mut c = Collect::default();
        assert_eq!(
            check_payload_into(|| Ok(&f[..]), 0, n, &mut c).unwrap(),
            Reads::C
        );
        assert!(c.bytes == data && c.restarts == 0);
        // Damaged frames: the verdict is check_payload's, and a frame accepted all the same (by
        // either decoder) reaches the sink whole, once.
        for i in (0..f.len()).step_by(331) {
            let mut bad = f.clone();
            bad[i] ^= 0x10;
            let mut c = Collect::default();
            let got = check_payload_into(|| Ok(&bad[..]), 0, n, &mut c);
            let plain = check_payload(|| Ok(&bad[..]), 0, n);
            assert_eq!(
                got.as_ref().map_err(|e| e.to_string()).ok(),
                plain.as_ref().map_err(|e| e.to_string()).ok(),
                "byte {i}"
            );
            if let Ok(reads) = got {
                assert!(c.bytes == data, "byte {i}");
                assert_eq!(c.restarts, usize::from(reads == Reads::Pure), "byte {i}");
            }
        }
        // A sink that fails stops the check with its error.
        struct Full;
        impl Decoded for Full {
            fn bytes(&mut self, _: &[u8]) -> io::Result<()> {
                Err(io::Error::other("disk full"))
            }
            fn restart(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = check_payload_into(|| Ok(&f[..]), 0, n, &mut Full).unwrap_err();
        assert!(
            matches!(e, CheckError::Io(_)) && e.to_string() == "disk full",
            "{e}"
        );
    }
}
