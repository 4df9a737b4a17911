//! A URL's metadata (URLFrontier's `map<string, StringList>`) as one arena entry.
//!
//! Layout, every length a uvarint: `count ‖ count × (key_len ‖ key ‖ n ‖ n × (len ‖ value))`,
//! keys sorted byte-wise and unique, each key's values in the order the client sent them. The
//! same map always gives the same bytes (the store's checkpoints stay deterministic), and the
//! decoder checks every length against the bytes left before it allocates.

use meguri_core::bytes::{put_uvarint, read_uvarint};
use std::collections::BTreeMap;

/// Metadata: keys in order, each with its values.
pub type Metadata = BTreeMap<String, Vec<String>>;

/// Encodes `m` (an empty map encodes to nothing: no entry is stored for it).
pub fn encode(m: &Metadata) -> Vec<u8> {
    let mut out = Vec::new();
    if m.is_empty() {
        return out;
    }
    put_uvarint(&mut out, m.len() as u64);
    for (k, vals) in m {
        put_str(&mut out, k);
        put_uvarint(&mut out, vals.len() as u64);
        for v in vals {
            put_str(&mut out, v);
        }
    }
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// What is wrong with stored metadata bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMetadata(pub &'static str);

impl std::fmt::Display for BadMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stored URL metadata is damaged: {}", self.0)
    }
}

impl std::error::Error for BadMetadata {}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn count(&mut self, what: &'static str) -> Result<usize, BadMetadata> {
        let (n, used) = read_uvarint(self.0).map_err(|_| BadMetadata(what))?;
        self.0 = &self.0[used..];
        // Every item takes at least one byte: a count past the bytes left cannot be right.
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.0.len())
            .ok_or(BadMetadata(what))
    }

    fn string(&mut self) -> Result<String, BadMetadata> {
        let n = self.count("a length runs past the end")?;
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8(s.to_vec()).map_err(|_| BadMetadata("a string is not UTF-8"))
    }
}

/// Decodes what [`encode`] wrote (no bytes: an empty map).
pub fn decode(b: &[u8]) -> Result<Metadata, BadMetadata> {
    let mut m = Metadata::new();
    if b.is_empty() {
        return Ok(m);
    }
    let mut c = Cursor(b);
    let keys = c.count("the key count runs past the end")?;
    for _ in 0..keys {
        let k = c.string()?;
        let n = c.count("a value count runs past the end")?;
        let mut vals = Vec::with_capacity(n);
        for _ in 0..n {
            vals.push(c.string()?);
        }
        if m.insert(k, vals).is_some() {
            return Err(BadMetadata("a key appears twice"));
        }
    }
    if !c.0.is_empty() {
        return Err(BadMetadata("bytes follow the last key"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_deterministic() {
        let mut m = Metadata::new();
        m.insert("source".into(), vec!["seed".into()]);
        m.insert(
            "depth".into(),
            vec!["2".into(), "".into(), "ünïcode".into()],
        );
        m.insert("empty".into(), vec![]);
        let b = encode(&m);
        assert_eq!(decode(&b).unwrap(), m);
        let mut again = Metadata::new();
        for (k, v) in m.iter().rev() {
            again.insert(k.clone(), v.clone());
        }
        assert_eq!(encode(&again), b);
        assert!(encode(&Metadata::new()).is_empty());
        assert_eq!(decode(&[]).unwrap(), Metadata::new());
    }

    #[test]
    fn damaged_bytes_are_refused_without_a_large_allocation() {
        let mut m = Metadata::new();
        m.insert("k".into(), vec!["v".into()]);
        let b = encode(&m);
        for n in 0..b.len() {
            assert!(decode(&b[..n]).is_err() || n == 0, "cut at {n}");
        }
        let mut extra = b.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
        // A count of 2^62 values in 12 bytes.
        let bomb = [
            1, 1, b'k', 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40,
        ];
        assert!(decode(&bomb).is_err());
        let dup = [2, 1, b'k', 0, 1, b'k', 0];
        assert_eq!(decode(&dup), Err(BadMetadata("a key appears twice")));
    }
}
