//! The schedule region's wheel: 283 buckets of row indices by due time, so a reader can find the
//! URLs due before an hour without scanning the `next_due` column.
//!
//! | tier | buckets | width (hours) | offsets from base |
//! |---|---|---|---|
//! | near | 0..168 | 1 | [0, 168) |
//! | mid | 168..258 | 24 | [168, 2328) |
//! | far | 258..282 | 720 | [2328, 19608) |
//! | overflow | 282 | – | [19608, ∞) |
//!
//! Payload: a fixed [`WheelHead`] (`u32 base ‖ u32 covered`), then `uvarint 283 ‖ 283 × uvarint
//! count`, then, bucket by bucket, each row index as a varint delta from the previous one in
//! the bucket (starting at 0). [`Wheel::encode`] and [`WheelBuilder::finish`] both write the
//! part before the deltas through one function.

use crate::bytes::{put_uvarint, Cursor};
use crate::error::{Error, Result};
use crate::format::layout::layout;
use alloc::format;
use alloc::vec::Vec;

/// Number of buckets.
pub const BUCKETS: usize = 283;

layout! {
    /// The fixed start of a wheel payload.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct WheelHead in wheel_at {
        /// Smallest nonzero `next_due` of the file (epoch-hours).
        base: u32 = BASE, "wheel base";
        /// URL rows the wheel was built over.
        covered: u32 = COVERED, "wheel covered rows";
    }
}

/// Appends everything of a payload before the row deltas: the head, the bucket count and each
/// bucket's row count.
fn put_head(out: &mut Vec<u8>, base: u32, covered: u32, counts: &[u32]) {
    WheelHead { base, covered }.encode(out);
    put_uvarint(out, BUCKETS as u64);
    for &k in counts {
        put_uvarint(out, u64::from(k));
    }
}
const NEAR: u64 = 168;
const MID: u64 = 90;
const MID_W: u64 = 24;
const FAR: u64 = 24;
const FAR_W: u64 = 720;
const MID_START: u64 = NEAR;
const FAR_START: u64 = NEAR + MID * MID_W;
const OVERFLOW_START: u64 = FAR_START + FAR * FAR_W;

/// Bucket of a row due `off` hours after the wheel's base.
pub fn bucket_for_offset(off: u64) -> usize {
    if off < MID_START {
        off as usize
    } else if off < FAR_START {
        (NEAR + (off - MID_START) / MID_W) as usize
    } else if off < OVERFLOW_START {
        (NEAR + MID + (off - FAR_START) / FAR_W) as usize
    } else {
        BUCKETS - 1
    }
}

/// First offset (hours after base) that falls in bucket `b`.
pub fn bucket_start(b: usize) -> u64 {
    let b = b as u64;
    if b < NEAR {
        b
    } else if b < NEAR + MID {
        MID_START + MID_W * (b - NEAR)
    } else if b < NEAR + MID + FAR {
        FAR_START + FAR_W * (b - NEAR - MID)
    } else {
        OVERFLOW_START
    }
}

/// A decoded wheel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wheel {
    /// Smallest nonzero `next_due` of the file (epoch-hours).
    pub base: u32,
    /// URL rows the wheel was built over.
    pub covered: u32,
    /// Rows per bucket.
    pub counts: Vec<u32>,
    /// Row indices, bucket after bucket, ascending within a bucket.
    pub rows: Vec<u32>,
    /// Index into `rows` where each bucket starts (`BUCKETS + 1` entries).
    starts: Vec<usize>,
}

impl Wheel {
    /// Parses a schedule payload (after the page's CRC and codec).
    pub fn parse(payload: &[u8], base_offset: u64) -> Result<Wheel> {
        let mut c = Cursor::new(payload, base_offset);
        let WheelHead { base, covered } = WheelHead::take(&mut c)?;
        let at = c.offset();
        let n = c.uvarint("bucket count")?;
        if n != BUCKETS as u64 {
            return Err(
                Error::corrupt(format!("wheel has {n} buckets, v1 requires {BUCKETS}")).at(at),
            );
        }
        let mut counts = Vec::with_capacity(BUCKETS);
        let mut total: u64 = 0;
        for _ in 0..BUCKETS {
            let at = c.offset();
            let k = c.uvarint("bucket count")?;
            total = total.saturating_add(k);
            // Each row takes at least one byte, so the rest bounds every count.
            if total > c.remaining() as u64 || k > u64::from(u32::MAX) {
                return Err(Error::corrupt(format!(
                    "bucket counts add up to {total} rows, more than the {} bytes left can list",
                    c.remaining()
                ))
                .at(at));
            }
            counts.push(k as u32);
        }
        let mut rows = Vec::with_capacity(total as usize);
        let mut starts = Vec::with_capacity(BUCKETS + 1);
        for &k in &counts {
            starts.push(rows.len());
            let mut prev: u64 = 0;
            for j in 0..k {
                let at = c.offset();
                let d = c.uvarint("row delta")?;
                if j > 0 && d == 0 {
                    return Err(Error::corrupt("a row index repeats within a bucket").at(at));
                }
                prev = prev.saturating_add(d);
                if prev >= u64::from(covered) {
                    return Err(Error::corrupt(format!(
                        "row index {prev} is not below the {covered} covered rows"
                    ))
                    .at(at));
                }
                rows.push(prev as u32);
            }
        }
        starts.push(rows.len());
        if !c.is_empty() {
            return Err(Error::corrupt(format!(
                "{} bytes left after the last bucket",
                c.remaining()
            ))
            .at(c.offset()));
        }
        Ok(Wheel {
            base,
            covered,
            counts,
            rows,
            starts,
        })
    }

    /// Row indices of bucket `b`.
    pub fn bucket_rows(&self, b: usize) -> &[u32] {
        &self.rows[self.starts[b]..self.starts[b + 1]]
    }

    /// Number of rows in the wheel.
    pub fn scheduled(&self) -> usize {
        self.rows.len()
    }

    /// The buckets whose start is at or before `now` (nothing if `now < base`). Their rows are a
    /// superset of the rows due at `now`: callers confirm `0 < next_due <= now` against the
    /// column.
    pub fn due_buckets(&self, now: u32) -> core::ops::Range<usize> {
        if now < self.base {
            return 0..0;
        }
        let off = u64::from(now - self.base);
        0..bucket_for_offset(off) + 1
    }

    /// Candidate rows for `now`, bucket by bucket, ascending within each bucket.
    pub fn due_candidates(&self, now: u32) -> impl Iterator<Item = u32> + '_ {
        let r = self.due_buckets(now);
        self.rows[self.starts[r.start]..self.starts[r.end]]
            .iter()
            .copied()
    }

    /// Builds the wheel of a `next_due` column (rows with 0 are unscheduled). `None` when no
    /// row is scheduled.
    pub fn build(next_due: &[u32]) -> Option<Wheel> {
        let base = next_due.iter().copied().filter(|&d| d != 0).min()?;
        let mut buckets: Vec<Vec<u32>> = alloc::vec![Vec::new(); BUCKETS];
        for (i, &d) in next_due.iter().enumerate() {
            if d != 0 {
                buckets[bucket_for_offset(u64::from(d - base))].push(i as u32);
            }
        }
        let counts = buckets.iter().map(|b| b.len() as u32).collect();
        let mut starts = Vec::with_capacity(BUCKETS + 1);
        let mut rows = Vec::new();
        for b in &buckets {
            starts.push(rows.len());
            rows.extend_from_slice(b);
        }
        starts.push(rows.len());
        Some(Wheel {
            base,
            covered: next_due.len() as u32,
            counts,
            rows,
            starts,
        })
    }

    /// Appends the payload bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_head(out, self.base, self.covered, &self.counts);
        for b in 0..BUCKETS {
            let mut prev = 0u32;
            for &r in self.bucket_rows(b) {
                put_uvarint(out, u64::from(r - prev));
                prev = r;
            }
        }
    }
}

/// Builds a wheel's payload row by row, for writers that see the `next_due` column page by page
/// and never hold it whole. The payload is byte for byte what [`Wheel::build`] then
/// [`Wheel::encode`] give for the same column; it costs about one byte per scheduled row.
#[derive(Debug, Clone)]
pub struct WheelBuilder {
    base: u32,
    rows: u32,
    counts: Vec<u32>,
    /// Per bucket: the varint deltas so far and the last row index added.
    deltas: Vec<(Vec<u8>, u32)>,
}

impl WheelBuilder {
    /// A builder for a column whose smallest nonzero `next_due` is `base`.
    pub fn new(base: u32) -> WheelBuilder {
        WheelBuilder {
            base,
            rows: 0,
            counts: alloc::vec![0; BUCKETS],
            deltas: alloc::vec![(Vec::new(), 0); BUCKETS],
        }
    }

    /// Adds the next row's `next_due` (rows are numbered in the order they are pushed).
    ///
    /// A due time below `base` means the caller's base was wrong: such a row goes to bucket 0,
    /// which keeps the payload valid (bucket 0 is always scanned) rather than corrupt.
    pub fn push(&mut self, next_due: u32) {
        let row = self.rows;
        self.rows += 1;
        if next_due == 0 {
            return;
        }
        let b = bucket_for_offset(u64::from(next_due.saturating_sub(self.base)));
        let (bytes, prev) = &mut self.deltas[b];
        put_uvarint(bytes, u64::from(row - *prev));
        *prev = row;
        self.counts[b] += 1;
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Rows with a nonzero due time pushed so far.
    pub fn scheduled(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }

    /// The payload; `None` when no row was scheduled (no region is written then).
    pub fn finish(self) -> Option<Vec<u8>> {
        if self.scheduled() == 0 {
            return None;
        }
        let mut out = Vec::new();
        put_head(&mut out, self.base, self.rows, &self.counts);
        for (bytes, _) in &self.deltas {
            out.extend_from_slice(bytes);
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_math() {
        let table = [
            (0, 0),
            (1, 1),
            (167, 167),
            (168, 168),
            (191, 168),
            (192, 169),
            (2327, 257),
            (2328, 258),
            (3047, 258),
            (3048, 259),
            (19607, 281),
            (19608, 282),
            (1 << 30, 282),
        ];
        for (off, b) in table {
            assert_eq!(bucket_for_offset(off), b, "offset {off}");
        }
        for b in 1..BUCKETS {
            assert!(bucket_start(b) > bucket_start(b - 1));
            assert_eq!(bucket_for_offset(bucket_start(b)), b);
        }
    }

    #[test]
    fn round_trip_and_due() {
        // The reference's small partition: due 100, 0, 250, 175.
        let due = [100u32, 0, 250, 175];
        let w = Wheel::build(&due).unwrap();
        assert_eq!((w.base, w.covered), (100, 4));
        let mut buf = Vec::new();
        w.encode(&mut buf);
        let back = Wheel::parse(&buf, 0).unwrap();
        assert_eq!(back, w);
        for now in [99u32, 100, 174, 175, 250, 300] {
            let mut got: Vec<u32> = back
                .due_candidates(now)
                .filter(|&r| due[r as usize] != 0 && due[r as usize] <= now)
                .collect();
            got.sort();
            let want: Vec<u32> = (0..4u32)
                .filter(|&r| due[r as usize] != 0 && due[r as usize] <= now)
                .collect();
            assert_eq!(got, want, "now {now}");
        }
        assert_eq!(back.due_candidates(99).count(), 0);
    }

    #[test]
    fn builder_matches_build_then_encode() {
        let mut due = alloc::vec![0u32; 5000];
        let mut x = 12345u64;
        for d in due.iter_mut() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if x >> 62 != 0 {
                *d = 500_000 + ((x >> 20) % 40_000) as u32;
            }
        }
        let w = Wheel::build(&due).expect("some rows are due");
        let mut want = Vec::new();
        w.encode(&mut want);
        let mut b = WheelBuilder::new(w.base);
        due.iter().for_each(|&d| b.push(d));
        assert_eq!(b.scheduled(), w.scheduled() as u64);
        assert_eq!(b.finish().expect("scheduled"), want);
        assert!(WheelBuilder::new(7).finish().is_none());
    }
}
