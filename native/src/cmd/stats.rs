//! `meguri stats --data PATH`: the footer summary of a partition file (no rows decoded), or
//! the live counters of a partition directory (`cmd/live.rs`).

use super::fail;
use crate::fsource::FileSource;
use crate::{json, CmdResult};
use meguri_core::inspect::ColdStats;
use meguri_core::reader::Reader;
use std::io::Write;
use std::path::Path;

/// Runs `stats` on `path`.
pub fn run(path: &Path, as_json: bool, out: &mut dyn Write) -> CmdResult {
    if path.is_dir() {
        return super::live::stats(path, super::compact::hour_now(), as_json, out);
    }
    let src = FileSource::open(path).map_err(|e| fail("stats", path, e))?;
    let reader = Reader::open(&src).map_err(|e| fail("stats", path, e))?;
    let s = ColdStats::from_shape(reader.shape());
    let text = if as_json {
        let v = serde_json::json!({
            "path": path.display().to_string(),
            "partition_id": s.partition_id,
            "urls": s.urls,
            "hosts": s.hosts,
            "hostkey_range": {"lo": json::hex(s.hostkey_range.0), "hi": json::hex(s.hostkey_range.1)},
            "scheduled": s.scheduled,
            "due_range": {"min": s.due_range.0, "max": s.due_range.1},
            "bytes_per_url": s.bytes_per_url,
            "schedule_index": s.schedule_index,
            "seen_filter": s.seen_filter,
        });
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        s.render(&path.display().to_string())
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("stats", path, e))
}
