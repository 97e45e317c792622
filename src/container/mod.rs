//! Containers: what the bytes are (found from the bytes, never the file name) and the members
//! they hold. Each reader turns its container into a Document.

pub mod zip;

use crate::document::Document;
use crate::error::{Error, Location, Result};
use crate::source::Source;

/// Detects the container of `sources` and reads it.
pub fn open(sources: &[Box<dyn Source>]) -> Result<Document> {
    Err(Error::unsupported(Location::member(sources[0].name()), "not read yet"))
}
