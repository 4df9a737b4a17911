//! The file commands.

pub mod inspect;
pub mod seed;
pub mod verify;

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
