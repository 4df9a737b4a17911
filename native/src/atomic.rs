//! Crash-safe file replacement on the real file system (the storage seam's
//! [`crate::store::storage::write_atomic`] for any backend).
//!
//! Invariant: a reader of `path` sees either the old file or the complete new one, never a
//! partial write. The bytes go to a temporary file in the same directory, are fsynced, the
//! temporary is renamed over `path`, and the directory is fsynced so the rename itself is
//! durable. On any error the temporary is removed and `path` is untouched.

use crate::store::storage::{self, RealFs, Storage};
use std::path::Path;

/// Writes `bytes` to `path` atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    storage::write_atomic(&RealFs, path, bytes)
}

/// Fsyncs a directory so that creations, renames and removals in it survive a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    RealFs.sync_dir(dir)
}
