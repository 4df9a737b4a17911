//! # meguri-core
//!
//! A `no_std` (+ `alloc`) reader of the `.meguri` v1 partition format and the `meguri.manifest`
//! fleet catalog: header, footer, directories, pages, encodings and codecs, the string arena,
//! the schedule wheel, seen-set filters, typed URL and host rows, URL keys, and a verifier that
//! reports every problem with its place and byte offset.
//!
//! The crate does no I/O of its own: it reads through a [`source::Source`], which can be a byte
//! slice, a memory map or a callback that fetches byte ranges (a browser's `File.slice`).
//!
//! ```
//! use meguri_core::reader::Reader;
//! # fn demo(bytes: &[u8]) -> Result<(), meguri_core::Error> {
//! let file = Reader::open(bytes)?;            // reads the header and the tail only
//! let hosts = file.host_rows(0..10)?;          // decodes only the pages holding rows 0..10
//! # Ok(()) }
//! ```
//!
//! The format itself is described in `docs/format.md` at the root of the repository.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(feature = "c-zstd")]
extern crate std;

pub mod arena;
pub mod bytes;
pub mod column;
pub mod crc;
pub mod due;
pub mod error;
pub mod format;
pub mod inspect;
pub mod keys;
pub mod manifest;
pub mod partition;
pub mod reader;
pub mod records;
pub mod report;
pub mod reseal;
pub mod schedule;
pub mod schema;
pub mod seenset;
pub mod source;
pub mod store;
#[cfg(test)]
mod testing;
pub mod verify;
pub mod write;

pub use error::{Error, ErrorKind, Finding, Place, Result, Severity, Table};
