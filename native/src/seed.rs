//! Seeding a partition from Common Crawl CDX JSONL, with the reference's semantics.
//!
//! A line is trimmed of Unicode white space; empty lines are ignored. It must be one JSON object
//! whose `url`, `host`, `status` and `timestamp` members, when present and not `null`, are
//! strings; member names match case-insensitively as Go's `encoding/json` matches them (including
//! its folds of `ſ` to `s` and the Kelvin sign to `k`), and a later member overrides an earlier
//! one. A line that fails, or has no `url`, or no host (the `host` member or the URL's own host)
//! is *skipped* and counted. A URL whose key was already seen is a silent no-op.
//!
//! The work is split so it can run on several threads without changing the result:
//! [`parse_block`] turns a block of lines into keyed entries (pure, any thread), and
//! [`Seeder::push_block`] takes blocks *in input order*. Repeated keys are dropped in
//! [`Seeder::finish`], keeping the first occurrence, which is what dropping them on arrival
//! would keep. `finish` sorts the rows and lays the arena out in row order (each host's string,
//! then its URLs' strings), so related strings sit together for the compressor and the `*_ref`
//! columns increase monotonically.

use meguri_core::keys::{host_of, seed_key, UrlKey};
use meguri_core::partition::Partition;
use meguri_core::records::{HostRecord, UrlRecord, UrlStatus};
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

/// The CDX fields the seeder reads.
#[derive(Debug, Default, PartialEq)]
pub struct CdxLine<'a> {
    /// `url` member.
    pub url: Cow<'a, str>,
    /// `host` member.
    pub host: Cow<'a, str>,
}

/// Folds a member name the way Go's `encoding/json` compares it with a field name.
fn fold_eq(key: &str, field: &str) -> bool {
    if key.is_ascii() {
        return key.eq_ignore_ascii_case(field);
    }
    let mut k = key.chars().map(|c| match c {
        '\u{212A}' => 'k',
        '\u{017F}' => 's',
        c => c.to_ascii_lowercase(),
    });
    let mut f = field.chars();
    loop {
        match (k.next(), f.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// A known member's value: a string, `null`, or anything else (a type error for Go).
enum Member<'de> {
    Str(Cow<'de, str>),
    Null,
    Other,
}

impl<'de> Deserialize<'de> for Member<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Member<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Owned(v)))
            }
            fn visit_unit<E>(self) -> Result<Member<'de>, E> {
                Ok(Member::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Member<'de>, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Member::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Member<'de>, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Member::Other)
            }
        }
        d.deserialize_any(V)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = CdxLine<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CDX JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CdxLine<'de>, A::Error> {
        let mut line = CdxLine::default();
        let mut type_error = false;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let slot = if fold_eq(&key, "url") {
                Some(&mut line.url)
            } else if fold_eq(&key, "host") {
                Some(&mut line.host)
            } else if fold_eq(&key, "status") || fold_eq(&key, "timestamp") {
                None
            } else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            // Go keeps decoding after a wrong-typed member and reports the error at the end;
            // the line is skipped either way, but the rest must still be valid JSON.
            match map.next_value::<Member<'de>>()? {
                Member::Str(s) => {
                    if let Some(slot) = slot {
                        *slot = s;
                    }
                }
                Member::Null => {}
                Member::Other => type_error = true,
            }
        }
        if type_error {
            return Err(serde::de::Error::custom("a CDX field is not a string"));
        }
        Ok(line)
    }
}

/// Parses one trimmed, non-empty line; `None` when the reference would skip it.
pub fn parse_line(line: &str) -> Option<CdxLine<'_>> {
    let mut de = serde_json::Deserializer::from_str(line);
    let v = (&mut de).deserialize_map(LineVisitor).ok()?;
    de.end().ok()?;
    Some(v)
}

/// One accepted line of a parsed block: its key and the lengths of its URL and host strings,
/// which follow each other in the block's `strings`.
#[derive(Debug, Clone, Copy)]
struct Entry {
    key: UrlKey,
    url_len: u32,
    host_len: u32,
}

/// The result of [`parse_block`]: everything the seeder needs from a block of lines.
#[derive(Debug, Default)]
pub struct ParsedBlock {
    /// Non-empty lines.
    pub lines: u64,
    /// Non-empty lines skipped.
    pub skipped: u64,
    strings: Vec<u8>,
    entries: Vec<Entry>,
}

impl ParsedBlock {
    /// The accepted lines in input order: each one's key, URL string and host string (the
    /// `host` member, or the URL's own host).
    pub fn entries(&self) -> impl Iterator<Item = (UrlKey, &[u8], &[u8])> + '_ {
        let mut at = 0usize;
        self.entries.iter().map(move |e| {
            let url = &self.strings[at..at + e.url_len as usize];
            at += e.url_len as usize;
            let host = &self.strings[at..at + e.host_len as usize];
            at += e.host_len as usize;
            (e.key, url, host)
        })
    }
}

/// The URL row `seed` writes for a URL: scheduled, at `priority`, everything else zero.
pub fn seeded_url(key: UrlKey, url_ref: u64, priority: f32) -> UrlRecord {
    UrlRecord {
        key,
        status: UrlStatus::Scheduled.raw(),
        priority,
        url_ref,
        ..Default::default()
    }
}

/// The host row `seed` writes for a host: its string is also its registrable domain, it has
/// `url_count` URLs and a crawl delay of `crawl_delay` deciseconds, everything else zero.
pub fn seeded_host(host_key: u64, host_ref: u64, crawl_delay: u16, url_count: u32) -> HostRecord {
    HostRecord {
        host_key,
        host_ref,
        registrable_ref: host_ref,
        crawl_delay,
        url_count,
        ..Default::default()
    }
}

/// Parses a block of `\n`-separated lines (a `\r` before the `\n` is dropped, as Go's line
/// scanner drops it). Any thread may parse any block; only the order of
/// [`Seeder::push_block`] calls matters.
pub fn parse_block(block: &[u8]) -> ParsedBlock {
    let mut out = ParsedBlock::default();
    let body = block.strip_suffix(b"\n").unwrap_or(block);
    if body.is_empty() {
        return out;
    }
    for raw in body.split(|&b| b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        // Invalid UTF-8 is replaced as Go's decoder would see it; valid input (nearly all of
        // it) skips the copy.
        let text = match std::str::from_utf8(raw) {
            Ok(t) => Cow::Borrowed(t),
            Err(_) => String::from_utf8_lossy(raw),
        };
        let line = text.trim();
        if line.is_empty() {
            continue;
        }
        out.lines += 1;
        let Some(cdx) = parse_line(line) else {
            out.skipped += 1;
            continue;
        };
        if cdx.url.is_empty() {
            out.skipped += 1;
            continue;
        }
        let host = if cdx.host.is_empty() {
            host_of(&cdx.url)
        } else {
            &cdx.host
        };
        if host.is_empty() {
            out.skipped += 1;
            continue;
        }
        let (Ok(url_len), Ok(host_len)) = (u32::try_from(cdx.url.len()), u32::try_from(host.len()))
        else {
            out.skipped += 1;
            continue;
        };
        out.entries.push(Entry {
            key: seed_key(&cdx.url, host),
            url_len,
            host_len,
        });
        out.strings.extend_from_slice(cdx.url.as_bytes());
        out.strings.extend_from_slice(host.as_bytes());
    }
    out
}

/// A hasher for keys that are already well-mixed 64-bit hashes: one multiply, no SipHash.
/// Only lookups use it; nothing about the output depends on hash order.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

/// One URL row while seeding: its key and where its string is in the seeder's `strings`.
#[derive(Debug, Clone, Copy)]
struct Row {
    key: UrlKey,
    at: u64,
    len: u32,
}

/// Collects seeded URLs and hosts in memory (about 225 bytes a URL at its peak, with the
/// encoded file). `meguri seed` runs [`crate::seed_sort::SortSeeder`] instead, which keeps
/// within a budget and writes the same bytes; this one is the simple model its tests compare
/// against.
pub struct Seeder {
    priority: f32,
    crawl_delay: u16,
    /// URL rows in input order, repeats included (they are dropped in `finish`).
    rows: Vec<Row>,
    /// Host key → span of the host string of the first line that named it.
    hosts: HashMap<u64, (u64, u32), BuildHasherDefault<KeyHasher>>,
    /// Every accepted URL string and every first host string, in input order.
    strings: Vec<u8>,
    /// Non-empty lines that were skipped.
    pub skipped: u64,
    /// Non-empty lines read.
    pub lines: u64,
}

impl Seeder {
    /// A seeder giving new URLs `priority` and new hosts `crawl_delay` deciseconds.
    pub fn new(priority: f32, crawl_delay: u16) -> Self {
        Seeder {
            priority,
            crawl_delay,
            rows: Vec::new(),
            hosts: HashMap::default(),
            strings: Vec::new(),
            skipped: 0,
            lines: 0,
        }
    }

    /// Feeds one raw line (without its `\n`).
    pub fn push_line(&mut self, raw: &[u8]) {
        self.push_block(parse_block(raw));
    }

    /// Takes a parsed block; blocks must come in input order.
    pub fn push_block(&mut self, b: ParsedBlock) {
        self.lines += b.lines;
        self.skipped += b.skipped;
        for (key, url, host) in b.entries() {
            self.rows.push(Row {
                key,
                at: self.strings.len() as u64,
                len: url.len() as u32,
            });
            self.strings.extend_from_slice(url);
            if let std::collections::hash_map::Entry::Vacant(v) = self.hosts.entry(key.host) {
                v.insert((self.strings.len() as u64, host.len() as u32));
                self.strings.extend_from_slice(host);
            }
        }
    }

    /// URL lines accepted so far (repeats included until `finish`).
    pub fn url_count(&self) -> usize {
        self.rows.len()
    }

    /// Drops repeated keys, sorts the rows, lays out the arena and returns the partition (id 1,
    /// created 0, range = the smallest and largest host key, or the whole key space with no
    /// hosts).
    pub fn finish(self) -> Partition {
        let Seeder {
            mut rows,
            hosts,
            strings,
            priority,
            crawl_delay,
            ..
        } = self;
        // `at` grows with input order, so this puts each key's first occurrence first.
        rows.sort_unstable_by_key(|r| (r.key, r.at));
        rows.dedup_by_key(|r| r.key);
        let mut hosts: Vec<(u64, (u64, u32))> = hosts.into_iter().collect();
        hosts.sort_unstable_by_key(|&(k, _)| k);
        let mut arena = Vec::with_capacity(strings.len() + 4 * (rows.len() + hosts.len()) + 1);
        arena.push(0);
        let intern = |arena: &mut Vec<u8>, at: u64, len: u32| -> u64 {
            let off = arena.len() as u64;
            meguri_core::bytes::put_uvarint(arena, u64::from(len));
            arena.extend_from_slice(&strings[at as usize..at as usize + len as usize]);
            off
        };
        // First the arena: each row's `at` becomes its arena offset, and each host gets its
        // host_ref and URL count. The input strings are then freed before the full records are
        // built, which keeps the peak down.
        let mut host_refs: Vec<(u64, u32)> = Vec::with_capacity(hosts.len());
        let mut u = 0;
        for &(host_key, (at, len)) in &hosts {
            let host_ref = intern(&mut arena, at, len);
            let first = u;
            while u < rows.len() && rows[u].key.host == host_key {
                rows[u].at = intern(&mut arena, rows[u].at, rows[u].len);
                u += 1;
            }
            host_refs.push((host_ref, (u - first) as u32));
        }
        drop(strings);
        let urls: Vec<UrlRecord> = rows
            .iter()
            .map(|r| seeded_url(r.key, r.at, priority))
            .collect();
        let host_rows: Vec<HostRecord> = hosts
            .iter()
            .zip(&host_refs)
            .map(|(&(host_key, _), &(host_ref, url_count))| {
                seeded_host(host_key, host_ref, crawl_delay, url_count)
            })
            .collect();
        drop(rows);
        let (lo, hi) = match (host_rows.first(), host_rows.last()) {
            (Some(a), Some(b)) => (a.host_key, b.host_key),
            _ => (0, u64::MAX),
        };
        Partition {
            id: 1,
            hostkey_lo: lo,
            hostkey_hi: hi,
            created_hours: 0,
            urls,
            hosts: host_rows,
            arena,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_semantics() {
        let p = |s| parse_line(s);
        assert_eq!(
            p(r#"{"url":"http://a/x","host":"a"}"#),
            Some(CdxLine {
                url: "http://a/x".into(),
                host: "a".into()
            })
        );
        assert_eq!(
            p(r#"{"url":"http:\/\/a\/\u0078","host":"a","extra":{"k":[1,2,{"z":null}]}}"#)
                .unwrap()
                .url,
            "http://a/x",
            "escapes decoded; nested unknown members skipped"
        );
        assert!(
            p(r#"{"url":"u","status":["200"]}"#).is_none(),
            "array in a known field"
        );
        assert!(
            p(r#"{"url":"u","x":[1,}"#).is_none(),
            "invalid JSON in an unknown member"
        );
        assert_eq!(
            p(r#"{"URL":"u1","Url":"u2"}"#).unwrap().url,
            "u2",
            "case-insensitive, last wins"
        );
        assert_eq!(
            p(r#"{"url":"u1","url":null}"#).unwrap().url,
            "u1",
            "null leaves the field"
        );
        assert_eq!(
            p("{\"hoſt\":\"h\",\"url\":\"u\"}").unwrap().host,
            "h",
            "Go folds ſ to s"
        );
        assert!(
            p(r#"{"url":"u","status":200}"#).is_none(),
            "wrong-typed known field"
        );
        assert!(
            p(r#"{"url":"u","other":200}"#).is_some(),
            "unknown fields of any type"
        );
        assert!(p(r#"{"url":"u"} x"#).is_none(), "trailing garbage");
        assert!(p(r#"["url"]"#).is_none(), "not an object");
        assert!(p(r#"{"url":"u""#).is_none(), "truncated");
    }

    #[test]
    fn seeding_rules() {
        let mut s = Seeder::new(0.5, 10);
        for l in [
            r#"{"url":"https://b.example/2","host":"b.example"}"#,
            r#"{"url":"https://a.example/1"}"#,
            r#"{"url":"https://b.example/2","host":"b.example"}"#,
            "   ",
            r#"{"url":""}"#,
            r#"{"host":"x"}"#,
            r#"{"url":"/nohost"}"#,
            "not json",
        ] {
            s.push_line(l.as_bytes());
        }
        assert_eq!((s.skipped, s.lines), (4, 7));
        let p = s.finish();
        assert_eq!(p.urls.len(), 2, "the repeated URL is dropped");
        assert_eq!(p.hosts.len(), 2);
        let a = meguri_core::arena::Arena(&p.arena);
        for u in &p.urls {
            let url = std::str::from_utf8(a.get(u.url_ref).unwrap()).unwrap();
            assert_eq!(seed_key(url, ""), u.key);
            assert_eq!(u.status, 1);
        }
        for h in &p.hosts {
            assert_eq!(
                meguri_core::keys::host_key_of(a.get(h.host_ref).unwrap()),
                h.host_key
            );
            assert_eq!((h.url_count, h.crawl_delay), (1, 10));
        }
    }
}
