//! The one error type of the parser core. The bindings convert it to a Python exception in
//! one place.

use std::fmt;
use std::io;
use std::path::PathBuf;

#[derive(Debug)]
pub enum Error {
    /// Reading a file failed.
    Io { path: PathBuf, source: io::Error },
    /// The caller set the stop flag; the scan ended between two chunks.
    Cancelled { offset: u64 },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Cancelled { offset } => write!(f, "scan cancelled at byte offset {offset}"),
        }
    }
}

impl std::error::Error for Error {}
