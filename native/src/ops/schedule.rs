//! `schedule` of a partition file: the URLs due at or before an hour, through the file's
//! schedule wheel when it has one, otherwise by a scan of `next_due` that skips pages whose
//! zone map shows nothing due. (A partition directory's schedule is
//! [`super::live_schedule`].)

use super::{open_source, Error, Op, Result};
use crate::fsource::FileSource;
use crate::reshape::arena_in::ArenaIn;
use meguri_core::due::{due, render, url_refs, DueList, DueMethod};
use meguri_core::reader::Reader;
use meguri_core::report::Hex;
use serde::ser::SerializeStruct;
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ScheduleOptions {
    /// The partition file.
    pub path: PathBuf,
    /// Rows with `0 < next_due <= before` are due (epoch-hours; the caller resolves "now").
    pub before: u32,
    /// Only this host key.
    pub host: Option<u64>,
    /// List at most this many rows (the count always counts every due row).
    pub limit: Option<usize>,
    /// Also resolve each listed row's URL string (costs the `url_ref` pages and one streamed
    /// pass over the arena when a listed row has a URL).
    pub urls: bool,
}

/// The due rows of a file.
#[derive(Debug, Clone)]
pub struct ScheduleReport {
    /// The file as given.
    pub path: PathBuf,
    /// The horizon used.
    pub before: u32,
    /// What was found, and how.
    pub list: DueList,
    /// One URL per listed row, when asked (empty for a reference that does not resolve).
    pub urls: Option<Vec<String>>,
}

/// Lists `opts.path`'s due rows.
pub fn schedule(opts: &ScheduleOptions) -> Result<ScheduleReport> {
    let path = &opts.path;
    let fail = |e| Error::format(Op::Schedule, path, e);
    let src = open_source(Op::Schedule, path)?;
    let reader = Reader::open_with(src, crate::fsource::read_options()).map_err(fail)?;
    let list = due(&reader, opts.before, opts.host, opts.limit).map_err(fail)?;
    let urls = if opts.urls {
        let refs = url_refs(&reader, &list).map_err(fail)?;
        Some(resolve(&reader, path, &refs)?)
    } else {
        None
    };
    Ok(ScheduleReport {
        path: path.clone(),
        before: opts.before,
        list,
        urls,
    })
}

/// The URL strings of `refs` (empty for 0 and for a reference past the arena's end, as the
/// reference reads them; an entry the arena's bytes cannot hold is an error). The arena is streamed in reference order, so memory stays bounded by
/// the decoder's window and the listed strings, not by the arena; nothing is decompressed when
/// no listed row has a URL.
fn resolve(reader: &Reader<FileSource>, path: &Path, refs: &[u64]) -> Result<Vec<String>> {
    let mut urls = vec![String::new(); refs.len()];
    let mut order: Vec<usize> = (0..refs.len()).filter(|&i| refs[i] != 0).collect();
    if order.is_empty() {
        return Ok(urls);
    }
    let reshape = |source| Error::Reshape {
        op: Op::Schedule,
        source: Box::new(source),
    };
    let Some(mut arena) = ArenaIn::open(reader, path).map_err(reshape)? else {
        return Ok(urls);
    };
    order.sort_by_key(|&i| refs[i]);
    for i in order {
        // A reference outside the arena reads as no URL, the reference's rule; a damaged
        // frame is an error.
        if refs[i] >= arena.raw_len() {
            continue;
        }
        urls[i] = String::from_utf8_lossy(arena.entry(refs[i]).map_err(reshape)?).into_owned();
    }
    Ok(urls)
}

impl fmt::Display for ScheduleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(
            &self.list,
            &self.path.display().to_string(),
            self.before,
            self.urls.as_deref(),
        ))
    }
}

/// One listed row.
#[derive(Serialize)]
struct Listed<'a> {
    row: u64,
    host_key: Hex,
    path_key: Hex,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

impl Serialize for ScheduleReport {
    /// `{path, method, before, due, listed: [{row, host_key, path_key, url?}],
    /// next_due_pages_read, next_due_pages}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let l = &self.list;
        let listed: Vec<Listed<'_>> = l
            .rows
            .iter()
            .enumerate()
            .map(|(i, &(row, k))| Listed {
                row,
                host_key: Hex(k.host),
                path_key: Hex(k.path),
                url: self
                    .urls
                    .as_ref()
                    .and_then(|u| u.get(i))
                    .map(String::as_str),
            })
            .collect();
        let mut o = s.serialize_struct("Schedule", 7)?;
        o.serialize_field("path", &self.path.display().to_string())?;
        o.serialize_field(
            "method",
            match l.method {
                DueMethod::Wheel => "wheel",
                DueMethod::Scan => "scan",
            },
        )?;
        o.serialize_field("before", &self.before)?;
        o.serialize_field("due", &l.count)?;
        o.serialize_field("listed", &listed)?;
        o.serialize_field("next_due_pages_read", &l.pages_read)?;
        o.serialize_field("next_due_pages", &l.pages_total)?;
        o.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing::{partition, write_partition, Scratch};

    #[test]
    fn lists_due_rows_with_their_urls() {
        let d = Scratch::new("ops-schedule");
        let p = partition(1, 0, u64::MAX, 8);
        let f = write_partition(&d.0, "s.meguri", &p);
        let before = 480_004;
        let r = schedule(&ScheduleOptions {
            path: f.clone(),
            before,
            host: None,
            limit: Some(2),
            urls: true,
        })
        .unwrap();
        let due = p
            .urls
            .iter()
            .filter(|u| u.next_due != 0 && u.next_due <= before);
        assert_eq!(r.list.count, due.count() as u64);
        assert_eq!(r.list.rows.len(), 2);
        let urls = r.urls.as_ref().unwrap();
        for (&(_, key), url) in r.list.rows.iter().zip(urls) {
            let u = p.urls.iter().find(|u| u.key == key).unwrap();
            let want = meguri_core::arena::Arena(&p.arena).get(u.url_ref).unwrap();
            assert_eq!(url.as_bytes(), want);
        }
        let text = r.to_string();
        let count = format!("due at or before hour {before}: {}\n", r.list.count);
        assert!(text.contains(&count), "{text}");
        assert!(text.contains(&format!("  {}\n", urls[0])), "{text}");
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["due"], r.list.count);
        assert_eq!(v["listed"][1]["url"], urls[1]);
        let host = p.hosts[3].host_key;
        let r = schedule(&ScheduleOptions {
            path: f,
            before,
            host: Some(host),
            limit: None,
            urls: false,
        })
        .unwrap();
        assert_eq!(r.list.count, 2, "host 3's paths 1 and 3");
        let v = serde_json::to_value(&r).unwrap();
        assert!(v["listed"][0].get("url").is_none());
        assert_eq!(v["listed"][0]["host_key"], format!("0x{host:016x}"));
    }
}
