//! The std side of meguri, in layers:
//!
//! - [`fsource`], [`atomic`], [`intent`], [`encode`], [`arena_zip`]: files, durable writes and
//!   the std-only codecs under everything else;
//! - [`store`] (the durable partition directory) and [`reshape`] (streaming compact and split);
//! - [`ops`]: every operation with typed options, a typed report and typed errors; nothing in
//!   it prints or exits;
//! - [`cli`]: the `meguri` command, which parses arguments, runs an operation and renders its
//!   report (text, or `--json`).
//!
//! [`CmdError`] is left only for the hidden `serve` stand-in, until the server stands on `ops`.

pub mod arena_zip;
pub mod atomic;
pub mod bench;
pub mod cli;
pub mod client;
pub mod crash;
pub mod crawl;
pub mod encode;
pub mod engine;
pub mod fsource;
pub mod intent;
pub mod ops;
pub mod reshape;
pub mod seed;
pub mod seed_sort;
pub mod serve;
pub mod store;
pub mod zstd_check;

/// A failure of the hidden `serve` stand-in (`serve::placeholder`): one line for stderr, and
/// the exit status. Compatibility only: operations fail with [`ops::Error`].
#[derive(Debug)]
pub struct CmdError {
    /// The line to print (without the `error: ` prefix).
    pub message: String,
    /// Process exit status.
    pub code: i32,
}

impl CmdError {
    /// A failure with exit status 1.
    pub fn new(message: impl Into<String>) -> Self {
        CmdError {
            message: message.into(),
            code: 1,
        }
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Result of a command.
pub type CmdResult<T = ()> = Result<T, CmdError>;
