//! The byte layouts of a partition *directory* (the durable store), as opposed to a single
//! `.meguri` file: the two-slot superblock that names the current checkpoint, and the frames
//! of the append-only log. Both are pure codecs over byte slices; the store itself (files,
//! fsync, locking, group commit) lives in the native crate.
//!
//! The layouts are the reference's, byte for byte, so each implementation opens the other's
//! directories. `docs/format.md` §13 describes them and the rules we add on top.

pub mod frame;
pub mod superblock;
