//! The std side of meguri: byte sources over files, and the file commands behind the `meguri`
//! binary. Each command is a function that takes parsed options and writes its output to a
//! writer, so tests can run it in-process as well as through the binary.

pub mod arena_zip;
pub mod atomic;
pub mod cmd;
pub mod crash;
pub mod encode;
pub mod fsource;
pub mod intent;
pub mod json;
pub mod reshape;
pub mod seed;
pub mod serve;
pub mod store;
pub mod zstd_check;

/// A command failure: one line for stderr, and the exit status.
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
