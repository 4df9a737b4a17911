//! Seeding a partition from Common Crawl CDX JSONL, with the reference's semantics.
//!
//! A line is trimmed of Unicode white space; empty lines are ignored. It must be one JSON object
//! whose `url`, `host`, `status` and `timestamp` members, when present and not `null`, are
//! strings; member names match case-insensitively as Go's `encoding/json` matches them (including
//! its folds of `ſ` to `s` and the Kelvin sign to `k`), and a later member overrides an earlier
//! one. A line that fails, or has no `url`, or no host (the `host` member or the URL's own host)
//! is *skipped* and counted. A URL whose key was already seen is a silent no-op.
//!
//! Rows and strings are collected as they come; [`Seeder::finish`] sorts them and lays the arena
//! out in row order (each host's string, then its URLs' strings), so related strings sit together
//! for the compressor and the `*_ref` columns increase monotonically.

use meguri_core::keys::{host_of, seed_key, UrlKey};
use meguri_core::partition::Partition;
use meguri_core::records::{HostRecord, UrlRecord};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The CDX fields the seeder reads.
#[derive(Debug, Default, PartialEq)]
pub struct CdxLine {
    /// `url` member.
    pub url: String,
    /// `host` member.
    pub host: String,
}

/// Folds a member name the way Go's `encoding/json` compares it with a field name.
fn fold_eq(key: &str, field: &str) -> bool {
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

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = CdxLine;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CDX JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CdxLine, A::Error> {
        let mut line = CdxLine::default();
        let mut type_error = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
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
            match map.next_value::<serde_json::Value>()? {
                serde_json::Value::String(s) => {
                    if let Some(slot) = slot {
                        *slot = s;
                    }
                }
                serde_json::Value::Null => {}
                _ => type_error = true,
            }
        }
        if type_error {
            return Err(serde::de::Error::custom("a CDX field is not a string"));
        }
        Ok(line)
    }
}

/// Parses one trimmed, non-empty line; `None` when the reference would skip it.
pub fn parse_line(line: &str) -> Option<CdxLine> {
    let mut de = serde_json::Deserializer::from_str(line);
    let v = (&mut de).deserialize_map(LineVisitor).ok()?;
    de.end().ok()?;
    Some(v)
}

/// Collects seeded URLs and hosts.
pub struct Seeder {
    priority: f32,
    crawl_delay: u16,
    seen: HashSet<UrlKey>,
    /// URL rows; until `finish`, `url_ref` is an index into `url_spans`.
    urls: Vec<UrlRecord>,
    /// Host rows with the span of their host string (the arena is laid out in `finish`).
    hosts: HashMap<u64, (HostRecord, (u32, u32))>,
    /// Every URL and host string, in input order; spans are (start, length).
    strings: Vec<u8>,
    url_spans: Vec<(u32, u32)>,
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
            seen: HashSet::new(),
            urls: Vec::new(),
            hosts: HashMap::new(),
            strings: Vec::new(),
            url_spans: Vec::new(),
            skipped: 0,
            lines: 0,
        }
    }

    fn push_string(&mut self, s: &str) -> (u32, u32) {
        let at = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        (at, s.len() as u32)
    }

    /// Feeds one raw line (without its `\n`).
    pub fn push_line(&mut self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        let line = text.trim();
        if line.is_empty() {
            return;
        }
        self.lines += 1;
        let Some(cdx) = parse_line(line) else {
            self.skipped += 1;
            return;
        };
        if cdx.url.is_empty() {
            self.skipped += 1;
            return;
        }
        let host = if cdx.host.is_empty() {
            host_of(&cdx.url)
        } else {
            &cdx.host
        };
        if host.is_empty() {
            self.skipped += 1;
            return;
        }
        let key = seed_key(&cdx.url, host);
        if !self.seen.insert(key) {
            return;
        }
        let span = self.push_string(&cdx.url);
        self.url_spans.push(span);
        self.urls.push(UrlRecord {
            key,
            status: 1,
            priority: self.priority,
            url_ref: self.url_spans.len() as u64 - 1,
            ..Default::default()
        });
        if !self.hosts.contains_key(&key.host) {
            let span = self.push_string(host);
            let row = HostRecord {
                host_key: key.host,
                crawl_delay: self.crawl_delay,
                ..Default::default()
            };
            self.hosts.insert(key.host, (row, span));
        }
        self.hosts.get_mut(&key.host).expect("host row").0.url_count += 1;
    }

    /// Distinct URLs so far.
    pub fn url_count(&self) -> usize {
        self.urls.len()
    }

    /// Sorts the rows, lays out the arena and returns the partition (id 1, created 0, range =
    /// the smallest and largest host key, or the whole key space with no hosts).
    pub fn finish(self) -> Partition {
        let Seeder {
            mut urls,
            hosts,
            strings,
            url_spans,
            ..
        } = self;
        urls.sort_unstable_by_key(|u| u.key);
        let mut hosts: Vec<(HostRecord, (u32, u32))> = hosts.into_values().collect();
        hosts.sort_unstable_by_key(|(h, _)| h.host_key);
        let mut arena = Vec::with_capacity(strings.len() + 4 * (urls.len() + hosts.len()) + 1);
        arena.push(0);
        let intern = |arena: &mut Vec<u8>, (at, len): (u32, u32)| -> u64 {
            let off = arena.len() as u64;
            meguri_core::bytes::put_uvarint(arena, u64::from(len));
            arena.extend_from_slice(&strings[at as usize..(at + len) as usize]);
            off
        };
        let mut u = 0;
        for (h, span) in &mut hosts {
            let off = intern(&mut arena, *span);
            h.host_ref = off;
            h.registrable_ref = off;
            while u < urls.len() && urls[u].key.host == h.host_key {
                urls[u].url_ref = intern(&mut arena, url_spans[urls[u].url_ref as usize]);
                u += 1;
            }
        }
        let hosts: Vec<HostRecord> = hosts.into_iter().map(|(h, _)| h).collect();
        let (lo, hi) = match (hosts.first(), hosts.last()) {
            (Some(a), Some(b)) => (a.host_key, b.host_key),
            _ => (0, u64::MAX),
        };
        Partition {
            id: 1,
            hostkey_lo: lo,
            hostkey_hi: hi,
            created_hours: 0,
            urls,
            hosts,
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
        assert_eq!((s.url_count(), s.skipped, s.lines), (2, 4, 7));
        let p = s.finish();
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
