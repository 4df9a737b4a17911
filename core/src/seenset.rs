//! The seen-set region's filter blob: a blocked Bloom filter (kind 0) or a ribbon filter
//! (kind 1), answering "has this URL key been seen?" with no false negatives.
//!
//! Both blobs start `u8 version (1) ‖ u8 kind`. The filter bytes are kept as they are on disk
//! and read in place on each query, so opening one costs no more memory than the blob.

use crate::error::{Error, ErrorKind, Result};
use crate::keys::UrlKey;
use alloc::format;
use alloc::vec::Vec;

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
const FMIX: u64 = 0xFF51_AFD7_ED55_8CCD;

/// A parsed filter blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeenFilter {
    /// Blocked Bloom filter of 512-bit blocks.
    Bloom {
        /// Bits set per key (1..=16).
        k: u8,
        /// Number of 512-bit blocks (at least 1).
        n_blocks: u64,
        /// Keys added.
        n: u64,
        /// Sizing target.
        capacity: u64,
        /// The blocks' words, little-endian, `n_blocks * 64` bytes.
        words: Vec<u8>,
    },
    /// Ribbon filter of `m` slots of `r` bits.
    Ribbon {
        /// Fingerprint bits (1..=16).
        r: u8,
        /// Hash seed the builder settled on.
        seed: u32,
        /// Keys.
        n: u64,
        /// Slots (at least 64).
        m: u64,
        /// Slot values packed LSB-first, `ceil(m * r / 8)` bytes.
        slots: Vec<u8>,
    },
}

fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(FMIX);
    x ^= x >> 33;
    x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    x ^= x >> 33;
    x
}

impl SeenFilter {
    /// Parses a filter blob (the seen-set page's payload).
    pub fn parse(b: &[u8]) -> Result<SeenFilter> {
        if b.len() < 2 {
            return Err(Error::corrupt(format!(
                "filter blob of {} bytes is too short for its version and kind",
                b.len()
            )));
        }
        if b[0] != 1 {
            return Err(Error::corrupt(format!("filter version {} is not 1", b[0])).at(0));
        }
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().expect("8 bytes"));
        match b[1] {
            0 => {
                if b.len() < 32 {
                    return Err(Error::corrupt(format!(
                        "Bloom filter header needs 32 bytes, blob has {}",
                        b.len()
                    )));
                }
                let k = b[2];
                let (n_blocks, n, capacity) = (u64_at(8), u64_at(16), u64_at(24));
                if !(1..=16).contains(&k) {
                    return Err(Error::corrupt(format!("Bloom k = {k} is outside 1..=16")).at(2));
                }
                let body = (b.len() - 32) as u64;
                if n_blocks == 0 || n_blocks.checked_mul(64) != Some(body) {
                    return Err(Error::corrupt(format!(
                        "Bloom filter of {n_blocks} blocks needs {} body bytes, blob has {body}",
                        n_blocks.saturating_mul(64)
                    ))
                    .at(8));
                }
                Ok(SeenFilter::Bloom {
                    k,
                    n_blocks,
                    n,
                    capacity,
                    words: b[32..].to_vec(),
                })
            }
            1 => {
                if b.len() < 24 {
                    return Err(Error::corrupt(format!(
                        "ribbon filter header needs 24 bytes, blob has {}",
                        b.len()
                    )));
                }
                let r = b[2];
                let seed = u32::from_le_bytes(b[4..8].try_into().expect("4 bytes"));
                let (n, m) = (u64_at(8), u64_at(16));
                if !(1..=16).contains(&r) {
                    return Err(Error::corrupt(format!("ribbon r = {r} is outside 1..=16")).at(2));
                }
                if m < 64 {
                    return Err(
                        Error::corrupt(format!("ribbon has {m} slots, fewer than 64")).at(16),
                    );
                }
                let body = (b.len() - 24) as u64;
                let need = m.checked_mul(u64::from(r)).map(|bits| bits.div_ceil(8));
                if need != Some(body) {
                    return Err(Error::corrupt(format!(
                        "ribbon of {m} slots of {r} bits needs {} body bytes, blob has {body}",
                        need.map_or_else(|| "too many".into(), |v| format!("{v}"))
                    ))
                    .at(16));
                }
                Ok(SeenFilter::Ribbon {
                    r,
                    seed,
                    n,
                    m,
                    slots: b[24..].to_vec(),
                })
            }
            kind => Err(Error::corrupt(format!("unknown filter kind {kind}")).at(1)),
        }
    }

    /// Whether `key` may have been added (never false for a key that was).
    pub fn contains(&self, key: UrlKey) -> bool {
        match self {
            SeenFilter::Bloom {
                k, n_blocks, words, ..
            } => bloom_bits(key, *k, *n_blocks).all(|(word, mask)| {
                let w =
                    u64::from_le_bytes(words[word * 8..word * 8 + 8].try_into().expect("8 bytes"));
                w & mask != 0
            }),
            SeenFilter::Ribbon {
                r, seed, m, slots, ..
            } => {
                let (start, coeff, fp) = ribbon_row(key, *seed, *m, *r);
                let mut acc = 0u16;
                for j in 0..64u64 {
                    if coeff & (1 << j) != 0 && start + j < *m {
                        acc ^= slot(slots, start + j, *r);
                    }
                }
                acc == fp
            }
        }
    }

    /// Keys the filter was built over.
    pub fn key_count(&self) -> u64 {
        match self {
            SeenFilter::Bloom { n, .. } | SeenFilter::Ribbon { n, .. } => *n,
        }
    }

    /// `"bloom"` or `"ribbon"`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            SeenFilter::Bloom { .. } => "bloom",
            SeenFilter::Ribbon { .. } => "ribbon",
        }
    }

    /// Filter bits per key (0 with no keys).
    pub fn bits_per_key(&self) -> f64 {
        let bits = match self {
            SeenFilter::Bloom { n_blocks, .. } => *n_blocks as f64 * 512.0,
            SeenFilter::Ribbon { m, r, .. } => *m as f64 * f64::from(*r),
        };
        match self.key_count() {
            0 => 0.0,
            n => bits / n as f64,
        }
    }
}

/// The `(word index, bit mask)` pairs a key sets in a blocked Bloom filter: one 512-bit block
/// chosen by the key's mixed hash, then `k` bits in it by double hashing. The one rule that
/// [`SeenFilter::contains`] and [`BloomBuilder`] share.
fn bloom_bits(key: UrlKey, k: u8, n_blocks: u64) -> impl Iterator<Item = (usize, u64)> {
    let (hk, pk) = (key.host, key.path);
    let mut h = hk.wrapping_mul(GOLDEN).wrapping_add(pk);
    h ^= h >> 33;
    h = h.wrapping_mul(FMIX);
    h ^= h >> 33;
    let block = h % n_blocks;
    let h2 = pk | 1;
    (0..u64::from(k)).map(move |i| {
        let bit = h.wrapping_add(i.wrapping_mul(h2)) & 511;
        ((block * 8 + bit / 64) as usize, 1u64 << (bit % 64))
    })
}

/// Bits per key of the filters meguri builds: the optimum for a 1% false-positive rate,
/// `-ln(0.01) / ln(2)^2`, plus 15% for the blocking (as the reference sizes its filters).
const BLOOM_BITS_PER_KEY: f64 = 11.022_806_1;

/// Builds a blocked Bloom filter (kind 0) over a known number of keys, one key at a time, so a
/// writer can add keys as it streams rows. Memory: the filter itself, about 1.4 bytes a key.
#[derive(Debug, Clone)]
pub struct BloomBuilder {
    k: u8,
    n_blocks: u64,
    capacity: u64,
    n: u64,
    words: Vec<u64>,
}

impl BloomBuilder {
    /// A filter sized for `capacity` keys at a 1% false-positive rate (8 bits a key set).
    pub fn new(capacity: u64) -> BloomBuilder {
        let capacity = capacity.max(1);
        let bits = capacity as f64 * BLOOM_BITS_PER_KEY;
        let mut m = bits as u64;
        if (m as f64) < bits {
            m += 1;
        }
        let n_blocks = m / 512 + 1;
        BloomBuilder {
            k: 8,
            n_blocks,
            capacity,
            n: 0,
            words: alloc::vec![0; (n_blocks * 8) as usize],
        }
    }

    /// Adds a key.
    pub fn insert(&mut self, key: UrlKey) {
        for (word, mask) in bloom_bits(key, self.k, self.n_blocks) {
            self.words[word] |= mask;
        }
        self.n += 1;
    }

    /// The filter blob, in the layout [`SeenFilter::parse`] reads.
    pub fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.words.len() * 8);
        out.extend_from_slice(&[1, 0, self.k, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&self.n_blocks.to_le_bytes());
        out.extend_from_slice(&self.n.to_le_bytes());
        out.extend_from_slice(&self.capacity.to_le_bytes());
        for w in &self.words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }
}

/// A key's ribbon equation: the first of its 64 slots, which of them it XORs (bit `j` for slot
/// `start + j`; bit 0 always set), and the `r`-bit fingerprint they must XOR to. One function for
/// the query and the builder, so the two cannot drift apart. Needs `m >= 64`.
fn ribbon_row(key: UrlKey, seed: u32, m: u64, r: u8) -> (u64, u64, u16) {
    let (hk, pk) = (key.host, key.path);
    let s = u64::from(seed)
        .wrapping_mul(GOLDEN)
        .wrapping_add(0x1656_67B1_9E37_79F9);
    let a = mix(hk ^ s ^ pk.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let b = mix(pk ^ s.wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ hk.wrapping_mul(GOLDEN));
    let start = a % (m - 63);
    let coeff = b | 1;
    let fp = (mix(a ^ (b << 1)) >> (64 - u32::from(r))) as u16;
    (start, coeff, fp)
}

/// Builds a ribbon filter (kind 1) over a set of keys: every key's equation is banded into an
/// upper-triangular system over GF(2) (Gaussian elimination within a 64-slot band), then solved
/// from the last slot back. A seed whose equations contradict each other (rare at 10% slack)
/// is replaced by the next one, so the result depends only on the keys and their order.
/// Memory: 10 bytes a slot while building.
#[derive(Debug, Clone)]
pub struct RibbonBuilder {
    r: u8,
    keys: Vec<UrlKey>,
}

impl RibbonBuilder {
    /// A builder of `r`-bit fingerprints (1..=16; about `2^-r` false positives).
    pub fn new(r: u8) -> Result<RibbonBuilder> {
        if !(1..=16).contains(&r) {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!("ribbon r = {r} is outside 1..=16"),
            ));
        }
        Ok(RibbonBuilder {
            r,
            keys: Vec::new(),
        })
    }

    /// Adds a key.
    pub fn insert(&mut self, key: UrlKey) {
        self.keys.push(key);
    }

    /// The filter blob, in the layout [`SeenFilter::parse`] reads. A key added twice is one
    /// equation twice, which banding absorbs.
    pub fn finish(self) -> Vec<u8> {
        let n = self.keys.len() as u64;
        let m = (n + n / 10 + 64).max(64);
        let r = self.r;
        let mut seed = 0u32;
        let slots = loop {
            if let Some(s) = self.solve(seed, m) {
                break s;
            }
            seed += 1;
        };
        let mut out = Vec::with_capacity(24 + (m * u64::from(r)).div_ceil(8) as usize);
        out.extend_from_slice(&[1, 1, r, 0]);
        out.extend_from_slice(&seed.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&m.to_le_bytes());
        let mut packed = alloc::vec![0u8; (m * u64::from(r)).div_ceil(8) as usize];
        for (j, &v) in slots.iter().enumerate() {
            let bit = j * usize::from(r);
            for i in 0..usize::from(r) {
                if v & (1 << i) != 0 {
                    packed[(bit + i) / 8] |= 1 << ((bit + i) % 8);
                }
            }
        }
        out.extend_from_slice(&packed);
        out
    }

    /// Slot values for `seed`, or `None` when two keys' equations contradict each other.
    fn solve(&self, seed: u32, m: u64) -> Option<Vec<u16>> {
        let mut coeffs = alloc::vec![0u64; m as usize];
        let mut results = alloc::vec![0u16; m as usize];
        for &key in &self.keys {
            let (mut i, mut c, mut fp) = ribbon_row(key, seed, m, self.r);
            loop {
                if c == 0 {
                    // Reduced to 0 = fp: redundant when fp is 0, contradictory otherwise.
                    if fp != 0 {
                        return None;
                    }
                    break;
                }
                let tz = c.trailing_zeros();
                i += u64::from(tz);
                c >>= tz;
                let at = i as usize;
                if coeffs[at] == 0 {
                    coeffs[at] = c;
                    results[at] = fp;
                    break;
                }
                c ^= coeffs[at];
                fp ^= results[at];
            }
        }
        let mut slots = alloc::vec![0u16; m as usize];
        for i in (0..m as usize).rev() {
            let c = coeffs[i];
            if c == 0 {
                continue;
            }
            let mut v = results[i];
            for j in 1..64usize {
                if c & (1 << j) != 0 {
                    v ^= slots[i + j];
                }
            }
            slots[i] = v;
        }
        Some(slots)
    }
}

fn slot(slots: &[u8], j: u64, r: u8) -> u16 {
    let bit = j * u64::from(r);
    let byte = (bit / 8) as usize;
    let mut w = [0u8; 4];
    let avail = (slots.len() - byte).min(4);
    w[..avail].copy_from_slice(&slots[byte..byte + avail]);
    ((u32::from_le_bytes(w) >> (bit % 8)) & ((1u32 << r) - 1)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed_blobs() {
        assert!(SeenFilter::parse(&[]).is_err());
        assert!(SeenFilter::parse(&[1, 0, 8, 0]).is_err());
        let mut bloom = alloc::vec![0u8; 32 + 64];
        bloom[0] = 1;
        bloom[2] = 8;
        bloom[8] = 1;
        assert!(SeenFilter::parse(&bloom).is_ok());
        bloom[0] = 9;
        assert!(SeenFilter::parse(&bloom).is_err());
        bloom[0] = 1;
        bloom[8] = 0; // zero blocks would divide by zero on a probe
        assert!(SeenFilter::parse(&bloom).is_err());
        let mut ribbon = alloc::vec![0u8; 24 + 56];
        ribbon[0] = 1;
        ribbon[1] = 1;
        ribbon[2] = 7;
        ribbon[16] = 64;
        assert!(SeenFilter::parse(&ribbon).is_ok());
        ribbon[2] = 17;
        assert!(SeenFilter::parse(&ribbon).is_err());
        ribbon[2] = 0;
        assert!(SeenFilter::parse(&ribbon).is_err());
    }

    #[test]
    fn built_ribbon_holds_its_keys_and_rejects_most_others() {
        let keys: Vec<UrlKey> = (0..3000u64)
            .map(|i| UrlKey {
                host: i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                path: i ^ 0x55,
            })
            .collect();
        let mut b = RibbonBuilder::new(8).expect("r in range");
        keys.iter().for_each(|&k| b.insert(k));
        let blob = b.finish();
        let f = SeenFilter::parse(&blob).expect("a valid blob");
        assert_eq!((f.kind_name(), f.key_count()), ("ribbon", 3000));
        assert!(keys.iter().all(|&k| f.contains(k)));
        // r = 8: about 1 in 256 absent keys answer yes.
        let false_hits = (0..10_000u64)
            .filter(|&i| {
                f.contains(UrlKey {
                    host: i,
                    path: u64::MAX - i,
                })
            })
            .count();
        assert!(false_hits < 100, "{false_hits} false positives in 10,000");
        assert!(RibbonBuilder::new(0).is_err() && RibbonBuilder::new(17).is_err());
        // No keys: the smallest filter, which holds nothing.
        let empty = SeenFilter::parse(&RibbonBuilder::new(4).unwrap().finish()).unwrap();
        assert_eq!(empty.key_count(), 0);
    }

    #[test]
    fn built_bloom_holds_its_keys() {
        let keys: Vec<UrlKey> = (0..3000u64)
            .map(|i| UrlKey {
                host: i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                path: i ^ 0x55,
            })
            .collect();
        let mut b = BloomBuilder::new(keys.len() as u64);
        keys.iter().for_each(|&k| b.insert(k));
        let f = SeenFilter::parse(&b.finish()).expect("a valid blob");
        assert_eq!(f.key_count(), 3000);
        assert!(keys.iter().all(|&k| f.contains(k)));
        let false_hits = (0..10_000u64)
            .filter(|&i| {
                f.contains(UrlKey {
                    host: i,
                    path: u64::MAX - i,
                })
            })
            .count();
        assert!(false_hits < 300, "{false_hits} false positives in 10,000");
    }
}
