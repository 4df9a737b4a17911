//! `meguri inspect FILE`: the header and footer facts, reading only the first 64 bytes and the
//! tail of the file.

use super::{fail, looks_like_manifest};
use crate::fsource::FileSource;
use crate::{json, CmdResult};
use meguri_core::inspect::{self, Summary};
use meguri_core::reader::{read_shape, ReadOptions};
use meguri_core::source::Source;
use std::io::Write;
use std::path::Path;

/// Options of `inspect`.
#[derive(Debug, Clone, Default)]
pub struct InspectArgs {
    /// Print JSON instead of text.
    pub json: bool,
    /// Also list every column's size and page encodings.
    pub columns: bool,
}

/// Runs `inspect` on `path`, writing to `out`.
pub fn run(path: &Path, args: &InspectArgs, out: &mut dyn Write) -> CmdResult {
    let src = FileSource::open(path).map_err(|e| fail("inspect", path, e))?;
    // The header and the footer only, as the reference's inspect: a file whose columns are
    // damaged still shows its facts (`verify` judges the rest).
    let shape = read_shape(&src, ReadOptions::default().tail_guess).and_then(|shape| {
        match shape.footer.first_error() {
            Some(e) => Err(e.clone()),
            None => Ok(shape),
        }
    });
    let shape = match shape {
        Ok(s) => s,
        Err(e) => {
            let head = src
                .read_at(0, 4.min(src.len() as usize))
                .map(|c| c.into_owned())
                .unwrap_or_default();
            if looks_like_manifest(&head) {
                return Err(fail("inspect", path, "this is a meguri manifest, not a partition file (try `meguri verify` or `meguri map`)"));
            }
            return Err(fail("inspect", path, e));
        }
    };
    let summary = Summary::from_shape(&shape);
    let text = if args.json {
        let mut v = json::summary(&summary);
        v["path"] = path.display().to_string().into();
        v["bytes_read"] = src.bytes_read().into();
        v["reads"] = src.reads().into();
        if args.columns {
            v["columns"] = json::columns(&inspect::columns(&shape));
        }
        let mut s = serde_json::to_string_pretty(&v).expect("JSON");
        s.push('\n');
        s
    } else if args.columns {
        let cols = inspect::columns(&shape);
        summary.render() + &inspect::render_columns(&cols, summary.urls)
    } else {
        summary.render()
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("inspect", path, e))
}
