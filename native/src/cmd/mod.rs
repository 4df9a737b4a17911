//! The file commands.

pub mod compact;
pub mod inspect;
pub mod live;
pub mod load;
pub mod manifest;
pub mod map;
pub mod schedule;
pub mod seed;
pub mod split;
pub mod stats;
pub mod verify;
pub mod web;

/// Parses a host key as the reference does: trimmed, `0x`/`0X` then hex, otherwise decimal.
pub fn parse_host_key(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    parsed.map_err(|e| format!("parse host key {s:?}: {e}"))
}

use crate::CmdError;
use std::path::Path;

/// `"<verb> <path>: <message>"`, the shape of every command error line.
pub(crate) fn fail(verb: &str, path: &Path, msg: impl std::fmt::Display) -> CmdError {
    CmdError::new(format!("{verb} {}: {msg}", path.display()))
}

/// Whether the first bytes are a manifest's magic.
pub(crate) fn looks_like_manifest(head: &[u8]) -> bool {
    head.starts_with(&meguri_core::manifest::MANIFEST_MAGIC)
}
