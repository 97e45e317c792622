//! The one error type. Every variant says what was being read and where, so a user can tell a
//! truncated download from a hostile file from a format we do not know.

use std::fmt;

/// Everything that can go wrong while opening or reading a model file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The underlying file could not be read (I/O failure, not a format problem).
    #[error("cannot read {source_name} at byte {offset}: {message}")]
    Read { source_name: String, offset: u64, message: String },

    /// The data ends before a structure it declares is complete.
    #[error("{at}: truncated: needs {needed} bytes, only {available} left")]
    Truncated { at: Location, needed: u64, available: u64 },

    /// The bytes are not what the format says they must be.
    #[error("{at}: {message}")]
    Corrupt { at: Location, message: String },

    /// A declared size, count or depth is beyond what torchpeek accepts.
    #[error("{at}: {what} is {found}, more than the limit of {limit}")]
    Limit { at: Location, what: &'static str, found: u64, limit: u64 },

    /// Well-formed input that this version of torchpeek cannot interpret.
    #[error("{at}: unsupported: {message}")]
    Unsupported { at: Location, message: String },

    /// Bytes a source is reading ahead are not in yet (`Source::prefetch`): open again once they are.
    #[error("{source_name}: {ranges} byte ranges are being read ahead")]
    Pending { source_name: String, ranges: usize },

    /// The caller cancelled a long computation.
    #[error("cancelled")]
    Cancelled,

    /// Running a model failed (engine error, missing input, unsupported operator).
    #[error("{message}")]
    Engine { message: String },
}

/// Where in the input an error was found: a member (file, zip entry, pickle) and a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub member: String,
    pub offset: Option<u64>,
}

impl Location {
    pub fn new(member: impl Into<String>, offset: u64) -> Self {
        Location { member: member.into(), offset: Some(offset) }
    }
    pub fn member(member: impl Into<String>) -> Self {
        Location { member: member.into(), offset: None }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{} at byte {}", self.member, o),
            None => write!(f, "{}", self.member),
        }
    }
}

impl Error {
    pub fn corrupt(at: Location, message: impl Into<String>) -> Self {
        Error::Corrupt { at, message: message.into() }
    }
    pub fn unsupported(at: Location, message: impl Into<String>) -> Self {
        Error::Unsupported { at, message: message.into() }
    }
    pub fn engine(message: impl Into<String>) -> Self {
        Error::Engine { message: message.into() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
