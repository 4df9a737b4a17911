//! The six value encodings a v1 page can carry, decode and encode side.
//!
//! Values are unsigned integers of the column's width (1, 2, 4 or 8 bytes; floats travel as
//! their bit patterns). Decoding is strict where the reference is lenient: every payload must be
//! consumed exactly, run and code counts must add up to the page's value count, bit widths must
//! be at most 64, and every decoded value must fit the column width. Files the reference writes
//! satisfy all of these; anything else is corruption and is reported as such.

use crate::bytes::{bit_width, put_uvarint, unzigzag, zigzag, Cursor};
use crate::error::{Error, ErrorKind, Result};
use alloc::format;
use alloc::vec::Vec;

/// Encoding id: values stored as fixed-width little-endian integers.
pub const RAW: u8 = 0;
/// Encoding id: a dictionary of distinct values plus bit-packed codes.
pub const DICT: u8 = 1;
/// Encoding id: first value in the page base, then zigzag varint deltas.
pub const DELTA: u8 = 2;
/// Encoding id: frame of reference (minimum in the base) plus bit-packed offsets.
pub const FOR: u8 = 3;
/// Encoding id: runs of equal values.
pub const RLE: u8 = 4;
/// Encoding id: FSST string compression (never used in files; refused).
pub const FSST: u8 = 5;
/// Encoding id: first value in the base, then bit-packed zigzag deltas above their minimum.
pub const DELTA_FOR: u8 = 6;

/// Name of an encoding id, as `inspect` prints it.
pub fn encoding_name(id: u8) -> alloc::borrow::Cow<'static, str> {
    use alloc::borrow::Cow;
    Cow::Borrowed(match id {
        RAW => "raw",
        DICT => "dict",
        DELTA => "delta",
        FOR => "for",
        RLE => "rle",
        FSST => "fsst",
        DELTA_FOR => "delta_for",
        n => return Cow::Owned(format!("enc_{n}")),
    })
}

/// Whether `id` names an encoding a page of a v1 file may use: every id but FSST (which has
/// an id but no page layout) and the unassigned ones.
pub fn is_page_encoding(id: u8) -> bool {
    matches!(id, RAW | DICT | DELTA | FOR | RLE | DELTA_FOR)
}

/// Reads a `width`-byte little-endian value.
#[inline]
fn get_w(b: &[u8], width: usize) -> u64 {
    let mut a = [0u8; 8];
    a[..width].copy_from_slice(&b[..width]);
    u64::from_le_bytes(a)
}

fn width_mask(width: usize) -> u64 {
    if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    }
}

/// Decodes a page payload into `n` values appended to `out`.
///
/// `payload` is the payload after the block codec, `base` the page header's base, `width` the
/// directory width (1, 2, 4 or 8; 16-byte columns are RAW only, see [`decode_wide`]). This is a
/// [`PageValues`] stream read to its end.
pub fn decode_values(
    encoding: u8,
    payload: &[u8],
    n: usize,
    base: u64,
    width: usize,
    out: &mut Vec<u64>,
) -> Result<()> {
    let mut s = PageValues::new(encoding, payload, n, base, width)?;
    s.fill_ints(payload, n, out)?;
    s.finish(payload)
}

/// Decodes a RAW page of 16-byte values (the resolved-IP column).
pub fn decode_wide(payload: &[u8], n: usize, out: &mut Vec<[u8; 16]>) -> Result<()> {
    let mut s = PageValues::wide(payload, n)?;
    s.fill_wide(payload, n, out)?;
    s.finish(payload)
}

/// A page payload's values, decoded a stretch at a time.
///
/// [`decode_values`] runs one to its end. A reader that builds rows from many columns at once
/// pulls a few thousand values from each column in turn instead, so that no column is ever
/// held decoded whole beside the rows. The stream keeps positions, not the payload: the caller
/// passes the same payload to every call.
///
/// Every rule of the encodings lives here. What can be judged before the first value (lengths
/// of fixed-size parts, bit widths, the dictionary, bytes left over after FOR's and
/// DELTA_FOR's packed values) is judged by the constructor; runs, deltas and dictionary codes
/// as they are read; what only the end can tell (RLE's total, bytes left over after DELTA's
/// varints, DICT's codes and RLE's runs) by the stretch that reads the last value, before its
/// values' widths, in the order whole-page decoding has always reported them.
#[derive(Debug, Clone)]
pub struct PageValues {
    form: Form,
    /// Values in the page.
    n: usize,
    /// Values given so far.
    done: usize,
    /// Bytes a value may use: the column's width (16 for a wide page).
    width: usize,
    /// Length of the payload the stream was opened over (every call must pass that payload).
    len: usize,
    /// Whether the end of the payload has been judged.
    ended: bool,
    /// Whether a call failed: the stream's place is then unknown, and it gives nothing more.
    failed: bool,
}

/// Where a stream stands in its payload (offsets are into the payload).
#[derive(Debug, Clone)]
enum Form {
    /// A page with no values and nothing to read.
    Empty,
    Raw,
    Wide,
    /// `end`: where the packed codes end (the payload must end there too).
    Dict {
        dict: Vec<u64>,
        codes: usize,
        end: usize,
        bits: u32,
    },
    Delta {
        at: usize,
        prev: u64,
    },
    For {
        packed: usize,
        bits: u32,
        base: u64,
    },
    Rle {
        at: usize,
        runs_left: usize,
        value: u64,
        left: u64,
        covered: u64,
    },
    DeltaFor {
        packed: usize,
        bits: u32,
        dmin: u64,
        prev: u64,
    },
}

impl PageValues {
    /// Checks what can be checked of a `width`-byte page of `n` values before its first value.
    pub fn new(encoding: u8, payload: &[u8], n: usize, base: u64, width: usize) -> Result<Self> {
        if !matches!(width, 1 | 2 | 4 | 8) {
            return Err(Error::corrupt(format!(
                "width {width} cannot carry {} values",
                encoding_name(encoding)
            )));
        }
        let form = match encoding {
            RAW => {
                if payload.len() as u64 != n as u64 * width as u64 {
                    return Err(Error::corrupt(format!(
                        "RAW page of {n} values of {width} bytes holds {} bytes",
                        payload.len()
                    )));
                }
                Form::Raw
            }
            DICT => open_dict(payload, n, width)?,
            DELTA => {
                if n == 0 {
                    trailing(&Cursor::new(payload, 0), "DELTA")?;
                    Form::Empty
                } else if n - 1 > payload.len() {
                    return Err(Error::corrupt(format!(
                        "DELTA page of {n} values needs at least {} delta bytes, has {}",
                        n - 1,
                        payload.len()
                    )));
                } else {
                    Form::Delta { at: 0, prev: base }
                }
            }
            FOR => {
                let mut c = Cursor::new(payload, 0);
                if n == 0 {
                    trailing(&c, "FOR")?;
                    Form::Empty
                } else {
                    let bits = c.u8("FOR bit width")? as u32;
                    let packed = c.position();
                    take_packed(&mut c, n, bits, "FOR offsets")?;
                    trailing(&c, "FOR")?;
                    Form::For { packed, bits, base }
                }
            }
            RLE => {
                let mut c = Cursor::new(payload, 0);
                let runs_left = c.count("RLE run count", width + 1)?;
                Form::Rle {
                    at: c.position(),
                    runs_left,
                    value: 0,
                    left: 0,
                    covered: 0,
                }
            }
            DELTA_FOR => match n {
                0 => {
                    trailing(&Cursor::new(payload, 0), "DELTA_FOR")?;
                    Form::Empty
                }
                // The reference writes `00 00` for one value and reads nothing: the value is
                // the base.
                1 => Form::DeltaFor {
                    packed: 0,
                    bits: 0,
                    dmin: 0,
                    prev: base,
                },
                _ => {
                    let mut c = Cursor::new(payload, 0);
                    let bits = c.u8("DELTA_FOR bit width")? as u32;
                    let dmin = c.uvarint("DELTA_FOR minimum delta")?;
                    let packed = c.position();
                    take_packed(&mut c, n - 1, bits, "DELTA_FOR deltas")?;
                    trailing(&c, "DELTA_FOR")?;
                    Form::DeltaFor {
                        packed,
                        bits,
                        dmin,
                        prev: base,
                    }
                }
            },
            FSST => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "FSST (encoding 5) is not a file encoding; no v1 writer uses it in a page",
                ))
            }
            other => return Err(Error::corrupt(format!("unknown encoding id {other}"))),
        };
        Ok(PageValues {
            form,
            n,
            done: 0,
            width,
            len: payload.len(),
            ended: false,
            failed: false,
        })
    }

    /// A RAW page of `n` 16-byte values.
    pub fn wide(payload: &[u8], n: usize) -> Result<Self> {
        if payload.len() as u64 != n as u64 * 16 {
            return Err(Error::corrupt(format!(
                "RAW page of {n} 16-byte values holds {} bytes",
                payload.len()
            )));
        }
        Ok(PageValues {
            form: Form::Wide,
            n,
            done: 0,
            width: 16,
            len: payload.len(),
            ended: false,
            failed: false,
        })
    }

    /// Values not yet given.
    pub fn left(&self) -> usize {
        self.n - self.done
    }

    /// Whether the page holds 16-byte values.
    pub fn is_wide(&self) -> bool {
        matches!(self.form, Form::Wide)
    }

    /// Appends the next `k` values (fewer if fewer are left) to `out`, whose kind must be the
    /// page's ([`Values::Wide`](crate::records::Values::Wide) for a 16-byte page).
    pub fn fill(
        &mut self,
        payload: &[u8],
        k: usize,
        out: &mut crate::records::Values,
    ) -> Result<()> {
        use crate::records::Values;
        match out {
            Values::Int(v) => self.fill_ints(payload, k, v),
            Values::Wide(v) => self.fill_wide(payload, k, v),
        }
    }

    /// Appends the next `k` 16-byte values (fewer if fewer are left).
    pub fn fill_wide(&mut self, payload: &[u8], k: usize, out: &mut Vec<[u8; 16]>) -> Result<()> {
        self.usable(payload)?;
        if !self.is_wide() {
            self.failed = true;
            return Err(Error::corrupt("an integer page was read as 16-byte values"));
        }
        let k = k.min(self.left());
        let from = self.done * 16;
        out.extend(payload[from..from + k * 16].chunks_exact(16).map(|c| {
            let mut a = [0u8; 16];
            a.copy_from_slice(c);
            a
        }));
        self.done += k;
        self.ended = self.done == self.n;
        Ok(())
    }

    /// Appends the next `k` integer values (fewer if fewer are left), each checked to fit the
    /// column's width. The stretch that reaches the page's last value also judges the
    /// payload's end ([`PageValues::finish`]'s checks), before the widths, in the order a
    /// whole-page decode has always reported them.
    pub fn fill_ints(&mut self, payload: &[u8], k: usize, out: &mut Vec<u64>) -> Result<()> {
        self.usable(payload)?;
        let got = self.read_ints(payload, k, out);
        if got.is_err() {
            self.failed = true;
        }
        got
    }

    /// A call may go on: no earlier call failed, and `payload` is the stream's.
    fn usable(&self, payload: &[u8]) -> Result<()> {
        if self.failed {
            return Err(Error::corrupt(
                "the page's values were read on after they failed to decode",
            ));
        }
        if payload.len() != self.len {
            return Err(Error::corrupt(format!(
                "a page stream over {} payload bytes was handed {}",
                self.len,
                payload.len()
            )));
        }
        Ok(())
    }

    fn read_ints(&mut self, payload: &[u8], k: usize, out: &mut Vec<u64>) -> Result<()> {
        let k = k.min(self.left());
        let (done, n, width) = (self.done, self.n, self.width);
        let start = out.len();
        // Room for what the payload can hold at most, never what a count read from it claims
        // (an RLE run may claim billions of values in a few bytes).
        out.reserve(k.min(payload.len().saturating_mul(8).saturating_add(64)));
        match &mut self.form {
            Form::Empty => {}
            Form::Wide => {
                return Err(Error::corrupt("a 16-byte page was read as integers"));
            }
            Form::Raw => {
                let bytes = &payload[done * width..(done + k) * width];
                match width {
                    1 => out.extend(bytes.iter().map(|&b| u64::from(b))),
                    2 => out.extend(
                        bytes
                            .chunks_exact(2)
                            .map(|c| u64::from(u16::from_le_bytes([c[0], c[1]]))),
                    ),
                    4 => out.extend(
                        bytes
                            .chunks_exact(4)
                            .map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
                    ),
                    _ => out.extend(bytes.chunks_exact(8).map(|c| get_w(c, 8))),
                }
            }
            Form::Dict {
                dict, codes, bits, ..
            } => {
                let mut bad = None;
                unpack_each(
                    &payload[*codes..],
                    done,
                    k,
                    *bits,
                    |i, code| match usize::try_from(code).ok().and_then(|c| dict.get(c)) {
                        Some(&v) => out.push(v),
                        None => {
                            bad.get_or_insert((i, code));
                            out.push(0);
                        }
                    },
                );
                if let Some((i, code)) = bad {
                    return Err(Error::corrupt(format!(
                        "dictionary code {code} of value {i} is past the {}-entry dictionary",
                        dict.len()
                    )));
                }
            }
            Form::Delta { at, prev } => {
                // The first value is the base; each later one is a zigzag varint away from the
                // one before it.
                let mut c = Cursor::new(&payload[*at..], *at as u64);
                for i in done..done + k {
                    if i > 0 {
                        let d = c.uvarint("DELTA value")?;
                        *prev = prev.wrapping_add(unzigzag(d) as u64);
                    }
                    out.push(*prev);
                }
                *at += c.position();
            }
            Form::For { packed, bits, base } => {
                let base = *base;
                unpack_each(&payload[*packed..], done, k, *bits, |_, v| {
                    out.push(base.wrapping_add(v))
                });
            }
            Form::Rle {
                at,
                runs_left,
                value,
                left,
                covered,
            } => {
                let mut c = Cursor::new(&payload[*at..], *at as u64);
                let mut need = k as u64;
                while need > 0 {
                    if *left == 0 {
                        if *runs_left == 0 {
                            return Err(Error::corrupt(format!(
                                "RLE runs cover {covered} values but the page holds {n}"
                            )));
                        }
                        (*value, *left) = next_run(&mut c, width, covered, n)?;
                        *runs_left -= 1;
                        continue;
                    }
                    let m = need.min(*left);
                    out.extend(core::iter::repeat_n(*value, m as usize));
                    *left -= m;
                    need -= m;
                }
                *at += c.position();
            }
            Form::DeltaFor {
                packed,
                bits,
                dmin,
                prev,
            } => {
                // Value 0 is the base; value i > 0 is packed delta i - 1 away from value i - 1.
                let mut from = done;
                let mut count = k;
                if done == 0 && k > 0 {
                    out.push(*prev);
                    from = 1;
                    count -= 1;
                }
                if count > 0 {
                    let dmin = *dmin;
                    unpack_each(&payload[*packed..], from - 1, count, *bits, |_, r| {
                        *prev = prev.wrapping_add(unzigzag(r.wrapping_add(dmin)) as u64);
                        out.push(*prev);
                    });
                }
            }
        }
        self.done += k;
        if self.done == self.n {
            self.end(payload)?;
        }
        let mask = width_mask(width);
        if mask != u64::MAX {
            if let Some((i, v)) = out[start..]
                .iter()
                .enumerate()
                .find(|(_, v)| **v & !mask != 0)
            {
                return Err(Error::corrupt(format!(
                    "value {} of the page decodes to {v}, which does not fit {width} bytes",
                    done + i
                )));
            }
        }
        Ok(())
    }

    /// Checks that every value was read and judges the payload's end, if the last stretch
    /// has not already (a page of no values is never filled).
    pub fn finish(mut self, payload: &[u8]) -> Result<()> {
        self.usable(payload)?;
        if self.done != self.n {
            return Err(Error::corrupt(format!(
                "page read stopped after {} of its {} values",
                self.done, self.n
            )));
        }
        if self.ended {
            return Ok(());
        }
        self.end(payload)
    }

    /// What only the end can tell: RLE runs add up to the page (runs after its last value
    /// must be empty; they still count), and no byte is left over.
    fn end(&mut self, payload: &[u8]) -> Result<()> {
        self.ended = true;
        let (n, width) = (self.n, self.width);
        match &mut self.form {
            Form::Delta { at, .. } => trailing(&Cursor::new(&payload[*at..], 0), "DELTA"),
            Form::Dict { end, .. } => trailing(&Cursor::new(&payload[*end..], 0), "DICT"),
            Form::Rle {
                at,
                runs_left,
                covered,
                ..
            } => {
                let mut c = Cursor::new(&payload[*at..], *at as u64);
                while *runs_left > 0 {
                    next_run(&mut c, width, covered, n)?;
                    *runs_left -= 1;
                }
                *at += c.position();
                if *covered != n as u64 {
                    return Err(Error::corrupt(format!(
                        "RLE runs cover {covered} values but the page holds {n}"
                    )));
                }
                trailing(&c, "RLE")
            }
            _ => Ok(()),
        }
    }
}

/// Reads one RLE run (its value and length), counting it into `covered`, which must stay
/// within the page's `n` values.
fn next_run(c: &mut Cursor<'_>, width: usize, covered: &mut u64, n: usize) -> Result<(u64, u64)> {
    let v = get_w(c.take(width, "RLE run value")?, width);
    let len = c.uvarint("RLE run length")?;
    *covered = covered.saturating_add(len);
    if *covered > n as u64 {
        return Err(Error::corrupt(format!(
            "RLE runs cover more than the page's {n} values"
        )));
    }
    Ok((v, len))
}

/// A DICT payload: its dictionary and where its codes start.
fn open_dict(payload: &[u8], n: usize, width: usize) -> Result<Form> {
    if n == 0 {
        return Ok(Form::Empty);
    }
    let mut c = Cursor::new(payload, 0);
    let size = c.count("dictionary size", width)?;
    if size == 0 {
        return Err(Error::corrupt(format!(
            "empty dictionary for a page of {n} values"
        )));
    }
    let mut dict = Vec::with_capacity(size);
    for _ in 0..size {
        dict.push(get_w(c.take(width, "dictionary value")?, width));
    }
    let bits = c.u8("code bit width")? as u32;
    let codes = c.position();
    take_packed(&mut c, n, bits, "dictionary codes")?;
    // Bytes after the codes are judged at the end, after the codes themselves.
    Ok(Form::Dict {
        dict,
        codes,
        end: c.position(),
        bits,
    })
}

fn trailing(c: &Cursor<'_>, what: &str) -> Result<()> {
    if c.is_empty() {
        Ok(())
    } else {
        Err(Error::corrupt(format!(
            "{what} payload has {} bytes left over after its last value",
            c.remaining()
        )))
    }
}

/// Bytes needed to bit-pack `n` values of `bits` bits.
pub fn packed_len(n: usize, bits: u32) -> u64 {
    (n as u64 * u64::from(bits)).div_ceil(8)
}

fn take_packed<'a>(c: &mut Cursor<'a>, n: usize, bits: u32, what: &str) -> Result<&'a [u8]> {
    if bits > 64 {
        return Err(Error::corrupt(format!(
            "{what}: bit width {bits} is over 64"
        )));
    }
    let need = packed_len(n, bits);
    if need > c.remaining() as u64 {
        return Err(Error::corrupt(format!(
            "{what}: {n} values of {bits} bits need {need} bytes, {} remain",
            c.remaining()
        )));
    }
    c.take(need as usize, what)
}

/// Calls `f(i, value)` for values `from..from + n` of those packed LSB-first at `bits` bits in
/// `buf` (which the caller has checked holds at least `packed_len(from + n, bits)` bytes).
#[inline]
fn unpack_each(buf: &[u8], from: usize, n: usize, bits: u32, mut f: impl FnMut(usize, u64)) {
    if bits == 0 {
        for i in from..from + n {
            f(i, 0);
        }
        return;
    }
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut bitpos = from as u64 * u64::from(bits);
    for i in from..from + n {
        let byte = (bitpos >> 3) as usize;
        let shift = (bitpos & 7) as u32;
        let window = if byte + 16 <= buf.len() {
            u128::from_le_bytes(buf[byte..byte + 16].try_into().expect("16 bytes"))
        } else {
            let mut a = [0u8; 16];
            let tail = &buf[byte.min(buf.len())..];
            a[..tail.len()].copy_from_slice(tail);
            u128::from_le_bytes(a)
        };
        f(i, ((window >> shift) as u64) & mask);
        bitpos += u64::from(bits);
    }
}

/// Bit-packs `vals` at `bits` bits each, LSB first, appending `packed_len` bytes to `out`.
pub fn bitpack(vals: &[u64], bits: u32, out: &mut Vec<u8>) {
    bitpack_iter(vals.iter().copied(), vals.len(), bits, out);
}

/// [`bitpack`] over `n` values from an iterator, so callers can pack offsets or residuals
/// without collecting them first.
fn bitpack_iter(vals: impl Iterator<Item = u64>, n: usize, bits: u32, out: &mut Vec<u8>) {
    let len = packed_len(n, bits) as usize;
    if bits == 0 {
        out.resize(out.len() + len, 0);
        return;
    }
    let start = out.len();
    out.reserve(len);
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    // Bits accumulate low-first in a 128-bit word; whole bytes leave it as soon as they exist.
    let mut acc: u128 = 0;
    let mut held = 0u32;
    for v in vals.take(n) {
        acc |= u128::from(v & mask) << held;
        held += bits;
        while held >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            held -= 8;
        }
    }
    if held > 0 {
        out.push(acc as u8);
    }
    out.resize(start + len, 0);
}

/// Reads back `n` values packed by [`bitpack`] (for tests and tools).
pub fn bitunpack(buf: &[u8], n: usize, bits: u32) -> Result<Vec<u64>> {
    let mut c = Cursor::new(buf, 0);
    let packed = take_packed(&mut c, n, bits, "packed values")?;
    let mut out = Vec::with_capacity(n);
    unpack_each(packed, 0, n, bits, |_, v| out.push(v));
    Ok(out)
}

/// An encoded payload and the page base that goes with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The payload before the block codec.
    pub payload: Vec<u8>,
    /// The page header's base field.
    pub base: u64,
}

/// Encodes `vals` (each fitting `width` bytes) under `encoding`, byte-for-byte as the reference
/// does. FSST and unknown ids are refused.
pub fn encode_values(encoding: u8, vals: &[u64], width: usize) -> Result<Encoded> {
    let mut p = Vec::new();
    let base = match encoding {
        RAW => {
            put_raw(&mut p, vals, width);
            0
        }
        RLE => {
            let mut runs: Vec<(u64, u64)> = Vec::new();
            for &v in vals {
                match runs.last_mut() {
                    Some((rv, n)) if *rv == v => *n += 1,
                    _ => runs.push((v, 1)),
                }
            }
            put_uvarint(&mut p, runs.len() as u64);
            for (v, n) in runs {
                p.extend_from_slice(&v.to_le_bytes()[..width]);
                put_uvarint(&mut p, n);
            }
            0
        }
        DICT => {
            let (dict, codes) = dictionary(vals);
            put_uvarint(&mut p, dict.len() as u64);
            put_raw(&mut p, &dict, width);
            let bits = if dict.len() > 1 {
                bit_width(dict.len() as u64 - 1)
            } else {
                0
            };
            p.push(bits as u8);
            bitpack_iter(
                codes.iter().map(|&c| u64::from(c)),
                codes.len(),
                bits,
                &mut p,
            );
            0
        }
        DELTA => {
            p.reserve(vals.len());
            for w in vals.windows(2) {
                put_uvarint(&mut p, zigzag_delta(w));
            }
            vals.first().copied().unwrap_or(0)
        }
        FOR => match min_max(vals.iter().copied()) {
            None => 0,
            Some((min, max)) => {
                let bits = bit_width(max - min);
                p.push(bits as u8);
                bitpack_iter(vals.iter().map(|v| v - min), vals.len(), bits, &mut p);
                min
            }
        },
        DELTA_FOR => match vals.len() {
            0 => 0,
            1 => {
                p.extend_from_slice(&[0, 0]);
                vals[0]
            }
            _ => {
                let (dmin, dmax) = min_max(vals.windows(2).map(zigzag_delta)).expect("two values");
                let bits = bit_width(dmax - dmin);
                p.push(bits as u8);
                put_uvarint(&mut p, dmin);
                let n = vals.len() - 1;
                bitpack_iter(
                    vals.windows(2).map(|w| zigzag_delta(w) - dmin),
                    n,
                    bits,
                    &mut p,
                );
                vals[0]
            }
        },
        FSST => {
            return Err(Error::new(
                ErrorKind::Unsupported,
                "FSST is not a file encoding",
            ))
        }
        other => return Err(Error::corrupt(format!("unknown encoding id {other}"))),
    };
    Ok(Encoded { payload: p, base })
}

/// The payload length [`encode_values`] gives `n` copies of one value under `encoding`,
/// without building it. The writer uses it to rank candidates for a constant page before
/// materializing any.
pub fn constant_payload_len(encoding: u8, n: usize, width: usize) -> Option<usize> {
    use crate::bytes::uvarint_len;
    if n == 0 {
        return None;
    }
    Some(match encoding {
        RAW => n * width,
        RLE => uvarint_len(1) + width + uvarint_len(n as u64),
        DICT => uvarint_len(1) + width + 1,
        DELTA => n - 1,
        FOR => 1,
        DELTA_FOR => 2,
        _ => return None,
    })
}

/// Appends each value's low `width` bytes, little-endian.
fn put_raw(p: &mut Vec<u8>, vals: &[u64], width: usize) {
    p.reserve(vals.len() * width);
    match width {
        8 => vals
            .iter()
            .for_each(|v| p.extend_from_slice(&v.to_le_bytes())),
        4 => vals
            .iter()
            .for_each(|&v| p.extend_from_slice(&(v as u32).to_le_bytes())),
        2 => vals
            .iter()
            .for_each(|&v| p.extend_from_slice(&(v as u16).to_le_bytes())),
        _ => vals
            .iter()
            .for_each(|v| p.extend_from_slice(&v.to_le_bytes()[..width])),
    }
}

/// The zigzagged difference `w[1] - w[0]` that DELTA and DELTA_FOR store.
fn zigzag_delta(w: &[u64]) -> u64 {
    zigzag((w[1] as i64).wrapping_sub(w[0] as i64))
}

/// The smallest and largest value (`None` when empty), in one pass.
pub(crate) fn min_max(mut vals: impl Iterator<Item = u64>) -> Option<(u64, u64)> {
    let first = vals.next()?;
    Some(vals.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v))))
}

/// The smallest range holding both `a` and `b` (either may be `None`: no values).
pub(crate) fn union(a: Option<(u64, u64)>, b: Option<(u64, u64)>) -> Option<(u64, u64)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, b) => a.or(b),
    }
}

/// The distinct values of `vals` in order of first appearance, and each value's index among
/// them. An open-addressing table keyed by value: the output depends only on the input order,
/// never on hashing, so it stays deterministic.
fn dictionary(vals: &[u64]) -> (Vec<u64>, Vec<u32>) {
    let slots = (vals.len() * 2).next_power_of_two().max(16);
    let mask = slots - 1;
    // Each slot holds code + 1 (0 = empty).
    let mut table = alloc::vec![0u32; slots];
    let mut dict: Vec<u64> = Vec::new();
    let mut codes = Vec::with_capacity(vals.len());
    for &v in vals {
        let mut i = (v.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask;
        let code = loop {
            match table[i] {
                0 => {
                    dict.push(v);
                    table[i] = dict.len() as u32;
                    break dict.len() as u32 - 1;
                }
                c if dict[c as usize - 1] == v => break c - 1,
                _ => i = (i + 1) & mask,
            }
        };
        codes.push(code);
    }
    (dict, codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn round_trip(enc: u8, vals: &[u64], width: usize) {
        let e = encode_values(enc, vals, width).unwrap();
        let mut out = Vec::new();
        decode_values(enc, &e.payload, vals.len(), e.base, width, &mut out)
            .unwrap_or_else(|err| panic!("{} {vals:?}: {err}", encoding_name(enc)));
        assert_eq!(out, vals, "{}", encoding_name(enc));
    }

    #[test]
    fn constant_payload_lengths_match_the_encoder() {
        for enc in [RAW, FOR, DELTA_FOR, DELTA, RLE, DICT] {
            for width in [1, 2, 4, 8] {
                for n in [1usize, 2, 3, 127, 128, 200, 16_384, 70_000] {
                    let vals = vec![0x5a_u64 & ((1u64 << (8 * width.min(7))) - 1); n];
                    let built = encode_values(enc, &vals, width).unwrap().payload.len();
                    assert_eq!(
                        constant_payload_len(enc, n, width),
                        Some(built),
                        "{} n={n} width={width}",
                        encoding_name(enc)
                    );
                }
            }
        }
    }

    /// The reference's 24 encoding cases (FACTS §12.2), each at its width.
    #[test]
    fn encoding_round_trips() {
        let hostkeys = [
            0x0940_4700_7b11_482a,
            0x2883_ba7d_c9aa_3289,
            0x5c94_d8be_4d1c_d6be,
            0xbd81_fc1c_46f4_1981,
        ];
        let cases: Vec<(u8, Vec<u64>, usize)> = vec![
            (RLE, vec![7; 100], 8),
            (RLE, vec![1, 1, 1, 2, 2, 3, 3, 3, 3], 8),
            (RLE, vec![0, 0, 0, 5, 0, 0, 9, 0], 8),
            (RLE, vec![42], 8),
            (RLE, vec![], 8),
            (DICT, vec![0, 1, 4, 4, 1, 0, 6, 8, 8, 1], 1),
            (DICT, vec![3; 10], 1),
            (DICT, vec![200, 301, 404, 200, 503, 301], 2),
            (DICT, vec![], 1),
            (DELTA, (0..100).map(|i| 480_000 + i * 3).collect(), 4),
            (DELTA, vec![500, 499, 510, 505, 1000, 0, 4_000_000_000], 4),
            (DELTA, vec![9; 20], 4),
            (DELTA, vec![77], 4),
            (DELTA, vec![], 4),
            (FOR, vec![3, 5, 4, 6, 3], 2),
            (FOR, vec![11; 7], 4),
            (FOR, vec![1 << 40, 0, 17, (1 << 40) + 5], 8),
            (FOR, vec![], 4),
            (DELTA_FOR, (0..50).map(|i| i * 1000 + (i % 3)).collect(), 8),
            (DELTA_FOR, hostkeys.to_vec(), 8),
            (DELTA_FOR, vec![u64::MAX], 8),
            (DELTA_FOR, vec![5, u64::MAX], 8),
            (DELTA_FOR, vec![], 8),
            (RAW, vec![1, 2, 3, 0xffff_ffff], 4),
        ];
        assert_eq!(cases.len(), 24);
        for (enc, vals, width) in cases {
            round_trip(enc, &vals, width);
        }
    }

    /// Reads a page through [`PageValues`] in stretches of 1 to 7 values (sizes drawn from
    /// `seed`), as the row builder does.
    fn in_stretches(
        enc: u8,
        payload: &[u8],
        n: usize,
        base: u64,
        width: usize,
        mut seed: u64,
    ) -> Result<Vec<u64>> {
        let mut s = PageValues::new(enc, payload, n, base, width)?;
        let mut out = Vec::new();
        while s.left() > 0 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let before = out.len();
            s.fill_ints(payload, 1 + (seed >> 61) as usize, &mut out)?;
            assert!(out.len() > before, "a stretch gave nothing");
        }
        s.finish(payload)?;
        Ok(out)
    }

    #[test]
    fn a_page_read_in_stretches_gives_what_one_read_gives() {
        let cases: Vec<(u8, Vec<u64>, usize)> = vec![
            (RLE, vec![1, 1, 1, 2, 2, 3, 3, 3, 3, 9, 9, 0], 8),
            (RLE, vec![4; 40], 2),
            (DICT, (0..60).map(|i| (i * 7) % 5).collect(), 1),
            (
                DELTA,
                (0..70).map(|i| 480_000 + i * 3 - (i % 4)).collect(),
                4,
            ),
            (FOR, (0..65).map(|i| 1000 + (i * 13) % 97).collect(), 2),
            (DELTA_FOR, (0..66).map(|i| i * 1000 + (i % 3)).collect(), 8),
            (DELTA_FOR, vec![5], 8),
            (RAW, (0..33).map(|i| i * 0x0101).collect(), 2),
        ];
        for (enc, vals, width) in cases {
            let e = encode_values(enc, &vals, width).unwrap();
            for seed in 0..8 {
                let got = in_stretches(enc, &e.payload, vals.len(), e.base, width, seed);
                assert_eq!(got.unwrap(), vals, "{} seed {seed}", encoding_name(enc));
            }
            // A damaged payload fails read whole exactly when it fails read in stretches, and
            // a page read whole and in stretches never disagree on its values.
            let mut damaged = Vec::new();
            for i in 0..e.payload.len() {
                let mut p = e.payload.clone();
                p[i] ^= 0x81;
                damaged.push(p);
            }
            damaged.push(e.payload[..e.payload.len().saturating_sub(1)].to_vec());
            damaged.push([&e.payload[..], &[0]].concat());
            for p in damaged {
                let mut whole = Vec::new();
                let one = decode_values(enc, &p, vals.len(), e.base, width, &mut whole);
                for seed in 0..3 {
                    let got = in_stretches(enc, &p, vals.len(), e.base, width, seed);
                    match (&one, got) {
                        (Ok(()), Ok(v)) => assert_eq!(v, whole),
                        (Err(_), Err(_)) => {}
                        (a, b) => panic!("{}: whole {a:?}, stretches {b:?}", encoding_name(enc)),
                    }
                }
            }
        }
    }

    /// The whole-page decoders as they were before a page could be read in stretches (commit
    /// e79ff43), kept as the reference the stream must match: the same values, or the same
    /// error, for any payload.
    mod before {
        use super::super::*;
        use crate::bytes::{unzigzag, Cursor};

        pub(super) fn decode_values(
            encoding: u8,
            payload: &[u8],
            n: usize,
            base: u64,
            width: usize,
            out: &mut Vec<u64>,
        ) -> Result<()> {
            if !matches!(width, 1 | 2 | 4 | 8) {
                return Err(Error::corrupt(format!(
                    "width {width} cannot carry {} values",
                    encoding_name(encoding)
                )));
            }
            let start = out.len();
            match encoding {
                RAW => decode_raw(payload, n, width, out)?,
                DICT => decode_dict(payload, n, width, out)?,
                DELTA => decode_delta(payload, n, base, out)?,
                FOR => decode_for(payload, n, base, out)?,
                RLE => decode_rle(payload, n, width, out)?,
                DELTA_FOR => decode_delta_for(payload, n, base, out)?,
                FSST => {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        "FSST (encoding 5) is not a file encoding; no v1 writer uses it in a page",
                    ))
                }
                other => return Err(Error::corrupt(format!("unknown encoding id {other}"))),
            }
            let mask = width_mask(width);
            if mask != u64::MAX {
                if let Some((i, v)) = out[start..]
                    .iter()
                    .enumerate()
                    .find(|(_, v)| **v & !mask != 0)
                {
                    return Err(Error::corrupt(format!(
                        "value {i} of the page decodes to {v}, which does not fit {width} bytes"
                    )));
                }
            }
            Ok(())
        }

        fn decode_raw(payload: &[u8], n: usize, width: usize, out: &mut Vec<u64>) -> Result<()> {
            if payload.len() as u64 != n as u64 * width as u64 {
                return Err(Error::corrupt(format!(
                    "RAW page of {n} values of {width} bytes holds {} bytes",
                    payload.len()
                )));
            }
            out.reserve(n);
            match width {
                1 => out.extend(payload.iter().map(|&b| u64::from(b))),
                2 => out.extend(
                    payload
                        .chunks_exact(2)
                        .map(|c| u64::from(u16::from_le_bytes([c[0], c[1]]))),
                ),
                4 => out.extend(
                    payload
                        .chunks_exact(4)
                        .map(|c| u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
                ),
                _ => out.extend(payload.chunks_exact(8).map(|c| get_w(c, 8))),
            }
            Ok(())
        }

        fn trailing(c: &Cursor<'_>, what: &str) -> Result<()> {
            if c.is_empty() {
                Ok(())
            } else {
                Err(Error::corrupt(format!(
                    "{what} payload has {} bytes left over after its last value",
                    c.remaining()
                )))
            }
        }

        fn decode_rle(payload: &[u8], n: usize, width: usize, out: &mut Vec<u64>) -> Result<()> {
            let mut c = Cursor::new(payload, 0);
            let runs = c.count("RLE run count", width + 1)?;
            let mut total: u64 = 0;
            for _ in 0..runs {
                let v = get_w(c.take(width, "RLE run value")?, width);
                let len = c.uvarint("RLE run length")?;
                total = total.saturating_add(len);
                if total > n as u64 {
                    return Err(Error::corrupt(format!(
                        "RLE runs cover more than the page's {n} values"
                    )));
                }
                out.extend(core::iter::repeat_n(v, len as usize));
            }
            if total != n as u64 {
                return Err(Error::corrupt(format!(
                    "RLE runs cover {total} values but the page holds {n}"
                )));
            }
            trailing(&c, "RLE")
        }

        fn decode_dict(payload: &[u8], n: usize, width: usize, out: &mut Vec<u64>) -> Result<()> {
            if n == 0 {
                return Ok(());
            }
            let mut c = Cursor::new(payload, 0);
            let size = c.count("dictionary size", width)?;
            if size == 0 {
                return Err(Error::corrupt(format!(
                    "empty dictionary for a page of {n} values"
                )));
            }
            let mut dict = Vec::with_capacity(size);
            for _ in 0..size {
                dict.push(get_w(c.take(width, "dictionary value")?, width));
            }
            let bits = c.u8("code bit width")? as u32;
            let codes = take_packed(&mut c, n, bits, "dictionary codes")?;
            out.reserve(n);
            let mut bad = None;
            unpack_each(codes, n, bits, |i, code| match dict.get(code as usize) {
                Some(&v) => out.push(v),
                None => {
                    bad.get_or_insert((i, code));
                    out.push(0);
                }
            });
            if let Some((i, code)) = bad {
                return Err(Error::corrupt(format!(
                    "dictionary code {code} of value {i} is past the {size}-entry dictionary"
                )));
            }
            trailing(&c, "DICT")
        }

        fn decode_delta(payload: &[u8], n: usize, base: u64, out: &mut Vec<u64>) -> Result<()> {
            if n == 0 {
                return trailing(&Cursor::new(payload, 0), "DELTA");
            }
            if n - 1 > payload.len() {
                return Err(Error::corrupt(format!(
                    "DELTA page of {n} values needs at least {} delta bytes, has {}",
                    n - 1,
                    payload.len()
                )));
            }
            out.reserve(n);
            let mut c = Cursor::new(payload, 0);
            let mut prev = base;
            out.push(prev);
            for _ in 1..n {
                let d = c.uvarint("DELTA value")?;
                prev = prev.wrapping_add(unzigzag(d) as u64);
                out.push(prev);
            }
            trailing(&c, "DELTA")
        }

        fn decode_for(payload: &[u8], n: usize, base: u64, out: &mut Vec<u64>) -> Result<()> {
            let mut c = Cursor::new(payload, 0);
            if n == 0 {
                return trailing(&c, "FOR");
            }
            let bits = c.u8("FOR bit width")? as u32;
            let packed = take_packed(&mut c, n, bits, "FOR offsets")?;
            out.reserve(n);
            unpack_each(packed, n, bits, |_, v| out.push(base.wrapping_add(v)));
            trailing(&c, "FOR")
        }

        fn decode_delta_for(payload: &[u8], n: usize, base: u64, out: &mut Vec<u64>) -> Result<()> {
            match n {
                0 => return trailing(&Cursor::new(payload, 0), "DELTA_FOR"),
                // The reference writes `00 00` for one value and reads nothing: the value is the base.
                1 => {
                    out.push(base);
                    return Ok(());
                }
                _ => {}
            }
            let mut c = Cursor::new(payload, 0);
            let bits = c.u8("DELTA_FOR bit width")? as u32;
            let dmin = c.uvarint("DELTA_FOR minimum delta")?;
            let packed = take_packed(&mut c, n - 1, bits, "DELTA_FOR deltas")?;
            out.reserve(n);
            let mut prev = base;
            out.push(prev);
            unpack_each(packed, n - 1, bits, |_, r| {
                prev = prev.wrapping_add(unzigzag(r.wrapping_add(dmin)) as u64);
                out.push(prev);
            });
            trailing(&c, "DELTA_FOR")
        }

        /// Calls `f(i, value)` for each of `n` values of `bits` bits packed LSB-first in `buf` (which
        /// the caller has checked holds at least `packed_len(n, bits)` bytes).
        #[inline]
        fn unpack_each(buf: &[u8], n: usize, bits: u32, mut f: impl FnMut(usize, u64)) {
            if bits == 0 {
                for i in 0..n {
                    f(i, 0);
                }
                return;
            }
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            let mut bitpos: u64 = 0;
            for i in 0..n {
                let byte = (bitpos >> 3) as usize;
                let shift = (bitpos & 7) as u32;
                let window = if byte + 16 <= buf.len() {
                    u128::from_le_bytes(buf[byte..byte + 16].try_into().expect("16 bytes"))
                } else {
                    let mut a = [0u8; 16];
                    let tail = &buf[byte.min(buf.len())..];
                    a[..tail.len()].copy_from_slice(tail);
                    u128::from_le_bytes(a)
                };
                f(i, ((window >> shift) as u64) & mask);
                bitpos += u64::from(bits);
            }
        }
    }

    #[test]
    fn the_stream_reports_what_the_whole_page_decoders_reported() {
        let lists: Vec<Vec<u64>> = vec![
            vec![],
            vec![7],
            vec![300, 300, 300, 2, 2, 70_000, 70_000, 0, 9, 9, 9, 9],
            (0..40).map(|i| (i * 37) % 11).collect(),
            (0..33).map(|i| 1_000 + i * 3 - (i % 4)).collect(),
            (0..20)
                .map(|i| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .collect(),
        ];
        let mut payloads: Vec<(u8, Vec<u8>, u64, usize)> = Vec::new();
        for enc in [RAW, DICT, DELTA, FOR, RLE, DELTA_FOR] {
            for vals in &lists {
                let e = encode_values(enc, vals, 8).unwrap();
                payloads.push((enc, e.payload, e.base, vals.len()));
            }
        }
        // RLE runs of length zero, before, between and after the values.
        payloads.push((RLE, vec![3, 5, 0, 7, 2, 9, 0], 0, 2));
        let mut cases = 0;
        for (enc, payload, base, n) in payloads {
            let mut damaged = vec![payload.clone()];
            for i in 0..payload.len() {
                for bit in [0x01, 0x80] {
                    let mut p = payload.clone();
                    p[i] ^= bit;
                    damaged.push(p);
                }
                damaged.push(payload[..i].to_vec());
            }
            damaged.push([&payload[..], &[0]].concat());
            damaged.push([&payload[..], &[0xff]].concat());
            for p in &damaged {
                for n in [n, n.saturating_sub(1), n + 1] {
                    for width in [1, 2, 4, 8] {
                        let (mut a, mut b) = (Vec::new(), Vec::new());
                        let now = decode_values(enc, p, n, base, width, &mut a);
                        let then = before::decode_values(enc, p, n, base, width, &mut b);
                        match (now, then) {
                            (Ok(()), Ok(())) => assert_eq!(a, b),
                            (Err(x), Err(y)) => assert_eq!(
                                (x.kind, x.message, x.offset),
                                (y.kind, y.message, y.offset),
                                "{} width {width} n {n} payload {p:?}",
                                encoding_name(enc)
                            ),
                            (x, y) => panic!(
                                "{} width {width} n {n} payload {p:?}: now {x:?}, before {y:?}",
                                encoding_name(enc)
                            ),
                        }
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 50_000, "{cases} cases");
    }

    #[test]
    fn a_stream_stops_where_its_page_ends() {
        let e = encode_values(DELTA, &[10, 11, 12], 4).unwrap();
        let mut s = PageValues::new(DELTA, &e.payload, 3, e.base, 4).unwrap();
        let mut out = Vec::new();
        s.fill_ints(&e.payload, 2, &mut out).unwrap();
        // Finishing early is an error, not a silent short page.
        assert!(s.clone().finish(&e.payload).is_err());
        s.fill_ints(&e.payload, 10, &mut out).unwrap();
        assert_eq!((out, s.left()), (vec![10, 11, 12], 0));
        s.finish(&e.payload).unwrap();
        // A 16-byte page is read only as 16-byte values.
        let wide = [7u8; 32];
        let mut w = PageValues::wide(&wide, 2).unwrap();
        let mut got = Vec::new();
        w.fill_wide(&wide, 5, &mut got).unwrap();
        assert_eq!(got, vec![[7u8; 16]; 2]);
        assert!(PageValues::wide(&wide, 3).is_err());
        let mut w = PageValues::wide(&wide, 2).unwrap();
        assert!(w.fill_ints(&wide, 1, &mut Vec::new()).is_err());
        // A stream that failed gives nothing more, right kind or not.
        assert!(w.fill_wide(&wide, 1, &mut got).is_err());
        // A payload other than the stream's is refused, not sliced.
        let mut s = PageValues::new(RAW, &[1, 2, 3, 4], 2, 0, 2).unwrap();
        assert!(s.fill_ints(&[1, 2], 2, &mut Vec::new()).is_err());
    }

    #[test]
    fn empty_and_single_payload_shapes() {
        assert_eq!(encode_values(RLE, &[], 8).unwrap().payload, vec![0]);
        assert_eq!(encode_values(DICT, &[], 1).unwrap().payload, vec![0, 0]);
        assert!(encode_values(DELTA, &[], 4).unwrap().payload.is_empty());
        let one = encode_values(DELTA, &[9], 4).unwrap();
        assert!(one.payload.is_empty());
        assert_eq!(one.base, 9);
        assert_eq!(
            encode_values(DELTA_FOR, &[9], 8).unwrap().payload,
            vec![0, 0]
        );
        assert_eq!(encode_values(FOR, &[9], 8).unwrap().payload, vec![0]);
    }

    #[test]
    fn bitpack_round_trip() {
        for bits in [0u32, 1, 3, 7, 12, 17, 33, 64] {
            let mask = if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            let vals: Vec<u64> = (0..50u64)
                .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & mask)
                .collect();
            let mut buf = Vec::new();
            bitpack(&vals, bits, &mut buf);
            assert_eq!(buf.len() as u64, packed_len(50, bits));
            assert_eq!(bitunpack(&buf, 50, bits).unwrap(), vals, "bits {bits}");
        }
    }

    #[test]
    fn strict_decoding() {
        let mut out = Vec::new();
        // A run longer than the page.
        let e = encode_values(RLE, &[1; 10], 8).unwrap();
        assert!(decode_values(RLE, &e.payload, 5, 0, 8, &mut out).is_err());
        // A four-billion value run in a few bytes is refused before any allocation.
        let bomb = [1u8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(decode_values(RLE, &bomb, 10, 0, 8, &mut out).is_err());
        // Trailing bytes.
        let mut e = encode_values(DELTA, &[1, 2, 3], 4).unwrap();
        e.payload.push(0);
        assert!(decode_values(DELTA, &e.payload, 3, e.base, 4, &mut out).is_err());
        // A dictionary code past the dictionary.
        let dict = [1u8, 5, 1, 0b10];
        assert!(decode_values(DICT, &dict, 2, 0, 1, &mut out).is_err());
        // FSST is refused with its own kind.
        let err = decode_values(FSST, &[], 0, 0, 8, &mut out).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unsupported);
        // A value too wide for its column.
        let e = encode_values(FOR, &[0, 300], 2).unwrap();
        assert!(decode_values(FOR, &e.payload, 2, e.base, 1, &mut out).is_err());
        // Bit width over 64.
        assert!(decode_values(FOR, &[65, 0, 0], 1, 0, 8, &mut out).is_err());
    }
}
