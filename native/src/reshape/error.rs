//! Why a reshape (compact, split) failed, typed: core's structured error is kept whole (kind,
//! place, byte offset) as a source rather than flattened into text, and every refusal says
//! which rule and which file. `Display` is the one-line message the CLI prints after the
//! operation's verb.

use std::path::PathBuf;

/// A reshape's failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input breaks the format: what core found, and where.
    #[error("{file}: {source}")]
    Format {
        /// The input, as named.
        file: String,
        /// Core's error (kind, place, offset).
        #[source]
        source: meguri_core::Error,
    },
    /// The writer refused the output (core's error whole).
    #[error("{source}")]
    Encode {
        /// Core's error.
        #[source]
        source: meguri_core::Error,
    },
    /// An input's string arena is damaged in a way the streaming arena reader finds.
    #[error("{file}: string arena: {problem}")]
    Arena {
        /// The input, as named.
        file: String,
        /// What is wrong.
        problem: ArenaProblem,
    },
    /// Copying one row's strings failed (the row is the input's row number).
    #[error("{file}: {table} row {row}: {source}")]
    Row {
        /// The input, as named.
        file: String,
        /// `"host"` or `"URL"`.
        table: &'static str,
        /// The row.
        row: u64,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// The system refused a read or a write.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, on which file (`"spill file"`, `"DIR: intent record"`).
        what: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The inputs or the plan break a rule a reshape will not cross (boxed: the refusals
    /// name files and keys, and errors travel by value through every `Result`).
    #[error(transparent)]
    Refused(Box<Refusal>),
    /// The arena's compressing thread failed without an error of its own.
    #[error("the arena thread {0}")]
    ArenaThread(&'static str),
}

impl Error {
    /// An I/O error while doing `what`.
    pub fn io(what: String) -> impl Fn(std::io::Error) -> Error {
        move |source| Error::Io {
            what: what.clone(),
            source,
        }
    }

    /// Core's error, if this is (or wraps) one: a front end can show its place and offset.
    pub fn core(&self) -> Option<&meguri_core::Error> {
        match self {
            Error::Format { source, .. } | Error::Encode { source } => Some(source),
            Error::Row { source, .. } => source.core(),
            _ => None,
        }
    }
}

/// Damage in an input's string arena.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArenaProblem {
    /// Reading it failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The region cannot hold a page inside the file.
    #[error("region {offset}+{length} does not hold a page inside the {file_len}-byte file")]
    Region {
        /// Region offset.
        offset: u64,
        /// Region length.
        length: u64,
        /// File length.
        file_len: u64,
    },
    /// A codec the reader does not decode.
    #[error("codec {0} is not supported")]
    Codec(u8),
    /// A stored (codec none) page whose sizes differ.
    #[error("a stored page's two sizes differ")]
    StoredSizes,
    /// More raw bytes than the decode budget allows.
    #[error("declares {raw} raw bytes, over the {budget}-byte budget for a {file_len}-byte file")]
    OverBudget {
        /// Declared raw bytes.
        raw: u32,
        /// The budget.
        budget: u64,
        /// File length.
        file_len: u64,
    },
    /// The page CRC does not match.
    #[error("page CRC32C is 0x{want:08x} but its body gives 0x{got:08x} (at byte {at})")]
    PageCrc {
        /// Stored.
        want: u32,
        /// Computed.
        got: u32,
        /// Region offset.
        at: u64,
    },
    /// The region CRC does not match.
    #[error("region CRC32C is 0x{want:08x} but its bytes give 0x{got:08x} (at byte {at})")]
    RegionCrc {
        /// Stored.
        want: u32,
        /// Computed.
        got: u32,
        /// Region offset.
        at: u64,
    },
    /// The body decompresses to more than declared.
    #[error("decompresses past the {declared} bytes the page declares")]
    Longer {
        /// Declared raw bytes.
        declared: u64,
    },
    /// The body decompresses to fewer bytes than declared.
    #[error("decompresses to {got} bytes; the page declares {declared}")]
    Shorter {
        /// Raw bytes obtained.
        got: u64,
        /// Declared raw bytes.
        declared: u64,
    },
    /// A reference outside the arena.
    #[error("reference {reference} is outside the {len}-byte arena")]
    RefOutside {
        /// The reference.
        reference: u64,
        /// The arena's length.
        len: u64,
    },
    /// An entry whose length prefix does not parse.
    #[error("entry at {0} has a broken length")]
    BrokenLength(u64),
    /// An entry running past the arena's end.
    #[error("entry at {reference} of {len} bytes runs past the arena's end")]
    PastEnd {
        /// The reference.
        reference: u64,
        /// The entry's declared length.
        len: u64,
    },
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::Refused(Box::new(r))
    }
}

/// A rule a reshape will not break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// A row refers to a string, but its file has no arena.
    #[error("a row refers to arena entry {0}, but the file has no string arena")]
    NoArena(u64),
    /// A row whose host key is outside its file's header range.
    #[error("{file}: {table} row {row} has host key {key:#018x}, outside the file's range {lo:#018x}..{hi:#018x}; run `meguri verify`")]
    OutOfRange {
        /// The input.
        file: String,
        /// `"host"` or `"URL"`.
        table: &'static str,
        /// The row.
        row: u64,
        /// Its host key.
        key: u64,
        /// The file's range.
        lo: u64,
        /// The file's range.
        hi: u64,
    },
    /// Rows of one input out of order.
    #[error(
        "{file}: rows are not in strictly increasing {what} order at {key}; run `meguri verify`"
    )]
    Unordered {
        /// The input.
        file: String,
        /// `"host key"` or `"URL key"`.
        what: &'static str,
        /// The key, as text.
        key: String,
    },
    /// Rows of two inputs interleave.
    #[error("{first} ({:#018x}..{:#018x}) and {second} ({:#018x}..{:#018x}) overlap: {what} {key} is not above the rows before it", first_range.0, first_range.1, second_range.0, second_range.1)]
    Interleaved {
        /// The earlier input.
        first: String,
        /// Its range.
        first_range: (u64, u64),
        /// The later one.
        second: String,
        /// Its range.
        second_range: (u64, u64),
        /// `"host key"` or `"URL key"`.
        what: &'static str,
        /// The key, as text.
        key: String,
    },
    /// An arena over v1's 32-bit page fields.
    #[error(
        "the output's arena would be {0} bytes, more than v1's 4 GiB page limit; split it further"
    )]
    ArenaTooLarge(u64),
    /// The arena thread and the walk disagree (a bug, refused rather than written).
    #[error("the arena thread took {took} bytes, the walk laid out {laid}")]
    ArenaMismatch {
        /// Bytes compressed.
        took: u64,
        /// Bytes laid out.
        laid: u64,
    },
    /// A split whose input has too few hosts for the parts asked.
    #[error(
        "{file}: its URLs fall under too few hosts to cut into {parts} parts at host boundaries"
    )]
    TooFewHosts {
        /// The input.
        file: String,
        /// Parts asked for.
        parts: u32,
    },
    /// An input holding meguri's serving state (extension columns), which reshaping does
    /// not carry: refused rather than silently thinned.
    #[error("{file}: holds meguri's serving state ({table} column {column} `{name}`), which compact and split do not carry yet; `meguri load` it into a partition directory or `meguri pack` the live directory instead")]
    ServingState {
        /// The input.
        file: String,
        /// `"URL"` or `"host"`.
        table: &'static str,
        /// The extension column's id.
        column: u64,
        /// Its name.
        name: &'static str,
    },
    /// A plan with no output.
    #[error("nothing to write")]
    NothingToWrite,
    /// Outputs in more than one directory.
    #[error("all outputs must go to one directory")]
    OutputsSpread,
    /// An output that would replace an input.
    #[error("{}: the output would overwrite the input {input}; inputs are never modified", out.display())]
    OutputIsInput {
        /// The output.
        out: PathBuf,
        /// The input, as named.
        input: String,
    },
    /// An output that exists.
    #[error("{}: exists; remove it or choose another output name (outputs never replace files)", out.display())]
    OutputExists {
        /// The output.
        out: PathBuf,
    },
    /// An input replaced while it was read.
    #[error("{0}: changed while it was being read; nothing was written")]
    InputChanged(String),
}

/// Result of a reshape step.
pub type Result<T, E = Error> = std::result::Result<T, E>;
