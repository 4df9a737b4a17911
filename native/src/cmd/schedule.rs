//! `meguri schedule --data FILE [--before H] [--host KEY] [--limit N] [--urls]`: the URLs due at
//! or before an hour, through the file's schedule wheel when it has one, otherwise by a scan of
//! `next_due` that skips pages whose zone map shows nothing due.

use super::{fail, parse_host_key};
use crate::fsource::FileSource;
use crate::{json, CmdError, CmdResult};
use meguri_core::arena::Arena;
use meguri_core::due::{due, render, url_refs, DueMethod};
use meguri_core::reader::Reader;
use std::io::Write;
use std::path::PathBuf;

/// Options of `schedule`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScheduleArgs {
    /// The .meguri file, or a partition directory (live: every schedulable URL with
    /// next_due <= H, next_due 0 included, by (next_due, key), with its URL).
    #[arg(long)]
    pub data: PathBuf,
    /// Horizon in epoch-hours: rows with 0 < next_due <= H are due (0 = the current hour).
    #[arg(long, default_value_t = 0)]
    pub before: u32,
    /// Only this host key (0x-prefixed hex or decimal; 0 means no filter, as in the reference).
    #[arg(long)]
    pub host: Option<String>,
    /// How many URLs to list (0 = all); the count line always counts every due URL.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Also print each URL's string.
    #[arg(long)]
    pub urls: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `schedule`.
pub fn run(args: &ScheduleArgs, out: &mut dyn Write) -> CmdResult {
    let path = &args.data;
    let host = match args.host.as_deref() {
        None | Some("") => None,
        Some(s) => Some(parse_host_key(s).map_err(|e| CmdError {
            message: format!("schedule: {e}"),
            code: 2,
        })?),
    }
    .filter(|&h| h != 0);
    let before = if args.before == 0 {
        super::compact::hour_now()
    } else {
        args.before
    };
    let limit = (args.limit != 0).then_some(args.limit);
    if path.is_dir() {
        return super::live::schedule(path, before, host, limit, args.json, out);
    }
    let src = FileSource::open(path).map_err(|e| fail("schedule", path, e))?;
    let reader = Reader::open(&src).map_err(|e| fail("schedule", path, e))?;
    let list = due(&reader, before, host, limit).map_err(|e| fail("schedule", path, e))?;
    // URL strings only when asked: that costs the arena and the listed rows' url_ref pages.
    let urls: Option<Vec<String>> = if args.urls {
        let arena = reader.arena().map_err(|e| fail("schedule", path, e))?;
        let refs = url_refs(&reader, &list).map_err(|e| fail("schedule", path, e))?;
        Some(
            refs.iter()
                .map(|&r| {
                    Arena(&arena)
                        .get(r)
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default()
                })
                .collect(),
        )
    } else {
        None
    };
    let text = if args.json {
        let rows: Vec<serde_json::Value> = list
            .rows
            .iter()
            .enumerate()
            .map(|(i, &(row, k))| {
                let mut v = serde_json::json!({"row": row, "host_key": json::hex(k.host), "path_key": json::hex(k.path)});
                if let Some(u) = urls.as_ref().and_then(|u| u.get(i)) {
                    v["url"] = u.clone().into();
                }
                v
            })
            .collect();
        let v = serde_json::json!({
            "path": path.display().to_string(),
            "method": match list.method { DueMethod::Wheel => "wheel", DueMethod::Scan => "scan" },
            "before": before,
            "due": list.count,
            "listed": rows,
            "next_due_pages_read": list.pages_read,
            "next_due_pages": list.pages_total,
        });
        serde_json::to_string_pretty(&v).expect("JSON") + "\n"
    } else {
        render(&list, &path.display().to_string(), before, urls.as_deref())
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("schedule", path, e))
}
