//! The one error a read returns: the input could not be read at all.

use std::io;
use std::path::PathBuf;

/// The input could not be read at all: an I/O error, not a bad layout (a
/// bad layout is a [`LayoutReport`](crate::LayoutReport) with problems).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Reading the tar stream failed.
    #[error("reading the tar: {source}")]
    Tar {
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The layout directory itself could not be opened or listed.
    #[error("reading the layout directory: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}
