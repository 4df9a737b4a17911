//! The commands not yet on the operations layer ([`crate::ops`]): `split`, the partition
//! directory commands (`pack`, `load`, and the live forms of `stats` and `schedule`) and `web`.
//! Each still writes its own output and returns a [`CmdResult`](crate::CmdResult); the CLI
//! dispatches to them unchanged. They move to `ops/` once the store, schema and HTTP work
//! under way in those files has landed.

pub mod compact;
pub mod live;
pub mod load;
pub mod split;
pub mod web;

/// `split`'s `--at` parser (now the CLI's; re-exported so `split` compiles unchanged).
pub use crate::cli::hostkey::parse_host_key;

use crate::CmdError;
use std::path::Path;

/// `"<verb> <path>: <message>"`, the shape of every command error line.
pub(crate) fn fail(verb: &str, path: &Path, msg: impl std::fmt::Display) -> CmdError {
    CmdError::new(format!("{verb} {}: {msg}", path.display()))
}
