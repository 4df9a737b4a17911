//! Errors that say what went wrong and where.
//!
//! Every error carries a [`Place`] (which structure of the file) and, when it is known, the
//! absolute byte offset of the bytes at fault, so a caller can point an engineer (or a hex view)
//! straight at them.

use alloc::string::String;
use core::fmt;

/// The broad category of a failure or a finding, for callers that want to match on it.
///
/// The first kinds describe errors: the file breaks the format, or a caller asked for something
/// it cannot have. The last four ([`ErrorKind::Unknown`], [`ErrorKind::Inconsistent`],
/// [`ErrorKind::Duplicate`], [`ErrorKind::Unused`]) describe what `verify` reports as warnings:
/// legal files that carry something suspicious. Nothing that returns a `Result` fails with them.
/// More kinds may come, so a `match` needs a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is shorter than the smallest valid file or structure.
    ShortFile,
    /// A magic number is wrong: this is not a `.meguri` file (or manifest).
    BadMagic,
    /// A CRC32C does not match the bytes it covers.
    Checksum,
    /// A well-formed input that uses something this reader does not implement.
    Unsupported,
    /// The bytes contradict the format: a bad length, offset, count or value.
    Corrupt,
    /// Rows that must be sorted are not.
    NotSorted,
    /// A declared size is larger than the reader's allocation limit allows.
    Limit,
    /// The byte source could not deliver a range (I/O error, short read).
    Source,
    /// A writer was given rows or calls the format cannot hold (out of range, out of order,
    /// counts that disagree with the plan).
    Invalid,
    /// Warning: something this version does not know, skipped by every reader (a section tag,
    /// a column id, a region id, header flag bits, a codec or checksum id).
    Unknown,
    /// Warning: a field or an order no reader depends on disagrees with the data it describes
    /// or with what every writer does (a stale total, a zone map wider than its values, a flag
    /// that does not match the regions, a host key with no host row).
    Inconsistent,
    /// Warning: something that should appear once appears again, and one copy is used (a
    /// footer section, a column id, a URL or host key, a partition id in a manifest).
    Duplicate,
    /// Warning: bytes that no structure accounts for (between regions, after a section's body).
    Unused,
}

impl ErrorKind {
    /// A short lowercase name, stable enough for JSON output and tests.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::ShortFile => "short_file",
            ErrorKind::BadMagic => "bad_magic",
            ErrorKind::Checksum => "checksum",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::NotSorted => "not_sorted",
            ErrorKind::Limit => "limit",
            ErrorKind::Source => "source",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Unknown => "unknown",
            ErrorKind::Inconsistent => "inconsistent",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::Unused => "unused",
        }
    }
}

/// Which of the two column tables a column belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Region 0, one row per URL.
    Url,
    /// Region 1, one row per host.
    Host,
}

impl Table {
    /// `"url"` or `"host"`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Url => "url",
            Table::Host => "host",
        }
    }
}

/// The structure of a file that an error or a verify finding is about. More places may come,
/// so a `match` needs a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Place {
    /// The file as a whole (its length, for instance).
    File,
    /// The 64-byte header.
    Header,
    /// The 12-byte trailer.
    Trailer,
    /// The footer's section stream as a whole.
    Footer,
    /// One footer section, by tag.
    Section(u64),
    /// A region, by region id.
    Region(u8),
    /// A column (and, when known, one of its pages).
    Column {
        /// URL or host table.
        table: Table,
        /// Schema column id.
        column: u64,
        /// Page index within the column.
        page: Option<u32>,
    },
    /// A row of a table (used by checks that look across columns).
    Row {
        /// URL or host table.
        table: Table,
        /// Row index.
        row: u64,
    },
    /// The string arena (blob region contents).
    Arena,
    /// The schedule region's wheel.
    Schedule,
    /// The seen-set region's filter blob.
    SeenSet,
    /// The STATS footer section's values, compared with the data.
    Stats,
    /// A manifest, optionally one entry of it.
    Manifest {
        /// Entry index, if the problem is in one entry.
        entry: Option<u32>,
    },
    /// The superblock of a partition directory.
    Superblock,
    /// A frame of a partition directory's log.
    LogFrame,
    /// Not (yet) attributed to a structure.
    Unknown,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Place::File => f.write_str("file"),
            Place::Header => f.write_str("header"),
            Place::Trailer => f.write_str("trailer"),
            Place::Footer => f.write_str("footer"),
            Place::Section(tag) => match crate::format::footer::section_name(tag) {
                Some(name) => write!(f, "footer section {tag} ({name})"),
                None => write!(f, "footer section {tag}"),
            },
            Place::Region(id) => write!(f, "region {}", crate::format::region_name(id)),
            Place::Column {
                table,
                column,
                page: None,
            } => write!(f, "{} column {}", table.name(), column),
            Place::Column {
                table,
                column,
                page: Some(p),
            } => write!(f, "{} column {} page {}", table.name(), column, p),
            Place::Row { table, row } => write!(f, "{} row {}", table.name(), row),
            Place::Arena => f.write_str("string arena"),
            Place::Schedule => f.write_str("schedule wheel"),
            Place::SeenSet => f.write_str("seen-set filter"),
            Place::Stats => f.write_str("stats"),
            Place::Manifest { entry: None } => f.write_str("manifest"),
            Place::Manifest { entry: Some(e) } => write!(f, "manifest entry {e}"),
            Place::Superblock => f.write_str("superblock"),
            Place::LogFrame => f.write_str("log frame"),
            Place::Unknown => f.write_str("input"),
        }
    }
}

/// A decoding failure: its kind, the structure, the absolute byte offset and a plain sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Category.
    pub kind: ErrorKind,
    /// Structure the failure is in.
    pub place: Place,
    /// Absolute byte offset of the offending bytes, when known.
    pub offset: Option<u64>,
    /// What is wrong, as a sentence fragment without the place or offset.
    pub message: String,
}

impl Error {
    /// A new error with no place attached yet.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            place: Place::Unknown,
            offset: None,
            message: message.into(),
        }
    }

    /// Shorthand for a [`ErrorKind::Corrupt`] error.
    pub fn corrupt(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Corrupt, message)
    }

    /// Shorthand for an [`ErrorKind::Unknown`] warning.
    pub fn unknown(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unknown, message)
    }

    /// Shorthand for an [`ErrorKind::Inconsistent`] warning.
    pub fn inconsistent(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Inconsistent, message)
    }

    /// Shorthand for an [`ErrorKind::Duplicate`] warning.
    pub fn duplicate(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Duplicate, message)
    }

    /// Shorthand for an [`ErrorKind::Unused`] warning.
    pub fn unused(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unused, message)
    }

    /// Sets the byte offset (replacing any earlier one).
    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// Sets the place unless a more precise one was already attached.
    pub fn within(mut self, place: Place) -> Self {
        if self.place == Place::Unknown {
            self.place = place;
        }
        self
    }

    /// Sets the offset unless one was already attached.
    pub fn at_if_unset(mut self, offset: u64) -> Self {
        if self.offset.is_none() {
            self.offset = Some(offset);
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.place)?;
        if let Some(off) = self.offset {
            write!(f, " at byte {off}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl core::error::Error for Error {}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// How serious a `verify` finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The file breaks the format: a reader would refuse it or return wrong data.
    Error,
    /// Legal but suspicious (a duplicate URL key, a stale directory field).
    Warning,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found while checking a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// What and where.
    pub error: Error,
}

impl Finding {
    /// An error finding.
    pub fn error(error: Error) -> Self {
        Finding {
            severity: Severity::Error,
            error,
        }
    }
    /// A warning finding.
    pub fn warning(error: Error) -> Self {
        Finding {
            severity: Severity::Warning,
            error,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.severity.name(), self.error)
    }
}
