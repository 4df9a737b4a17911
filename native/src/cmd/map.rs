//! `meguri map --manifest M [--host KEY]`: the partition map of a manifest, and the tiling
//! check at the manifest's own epoch (every gap, overlap and inverted range listed).

use super::{fail, parse_host_key};
use crate::{json, CmdError, CmdResult};
use meguri_core::manifest::{render_map, render_route, Manifest};
use std::io::Write;
use std::path::Path;

/// Runs `map`. Returns whether the ranges tile (the exit status is 1 when they do not).
pub fn run(path: &Path, host: Option<&str>, as_json: bool, out: &mut dyn Write) -> CmdResult<bool> {
    let bytes = std::fs::read(path).map_err(|e| fail("map", path, e))?;
    let m = Manifest::parse(&bytes).map_err(|e| fail("map", path, e))?;
    if let Some(h) = host {
        let key = parse_host_key(h).map_err(|e| CmdError {
            message: format!("map: {e}"),
            code: 2,
        })?;
        let text = if as_json {
            let owner = m.route(key);
            serde_json::to_string_pretty(&serde_json::json!({
                "host_key": json::hex(key),
                "epoch": m.epoch(),
                "partition_id": owner.map(|e| e.partition_id),
                "file_ref": owner.map(|e| e.file_ref_str()),
                "owners": m.owners(key).iter().map(|e| e.partition_id).collect::<Vec<_>>(),
            }))
            .expect("JSON")
                + "\n"
        } else {
            render_route(&m, key)
        };
        out.write_all(text.as_bytes())
            .map_err(|e| fail("map", path, e))?;
        return Ok(m.route(key).is_some());
    }
    let t = m.tiling();
    let text = if as_json {
        serde_json::to_string_pretty(&json::manifest_map(&m, &t)).expect("JSON") + "\n"
    } else {
        render_map(&m)
    };
    out.write_all(text.as_bytes())
        .map_err(|e| fail("map", path, e))?;
    Ok(t.is_clean())
}
