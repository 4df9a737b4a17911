//! The byte layouts of a partition *directory* (the durable store), as opposed to a single
//! `.meguri` file: the two-slot superblock that names the current checkpoint, and the frames
//! of the append-only log, as pure codecs over byte slices; [`recovery`], the decision recovery
//! makes about a directory's logs (where replay stops, what is kept, which later logs
//! continue); and [`live`], the counters of the live state. The store itself (files, fsync,
//! locking, group commit) lives in the native crate; the browser inspector drives the same
//! code over a dropped folder.
//!
//! The layouts are the reference's, byte for byte, so each implementation opens the other's
//! directories. `docs/format.md` §13 describes them and the rules we add on top.

pub mod frame;
pub mod live;
pub mod recovery;
pub mod superblock;
