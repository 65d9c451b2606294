use oci_digest::Digest;

use crate::canonical_json::JsonError;

/// Everything that can go wrong while writing a layout.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// A blob source could not be opened or read.
    #[error("{origin}: {source}")]
    ReadSource {
        /// The file path or description of the source.
        origin: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A path given as a file blob is a directory or other non-file.
    #[error("{path}: not a regular file")]
    NotAFile {
        /// The path.
        path: String,
    },
    /// A source yielded a different number of bytes than announced.
    #[error("{origin}: yielded {found} bytes where {expected} were announced (did it change while being packaged?)")]
    SizeMismatch {
        /// The source.
        origin: String,
        /// The announced size.
        expected: u64,
        /// What it yielded (for a longer source: `expected + 1`, where reading stopped).
        found: u64,
    },
    /// A source's bytes hashed to another digest than announced.
    #[error("{origin}: its bytes hash to {found}, not {expected} as announced (did it change while being packaged?)")]
    SourceChanged {
        /// The source.
        origin: String,
        /// The announced digest.
        expected: Digest,
        /// The digest of the bytes read.
        found: Digest,
    },
    /// A file changed while it was being packaged: its size, times or
    /// identity differ from when it was opened, or a second read of it gave
    /// other bytes than the first (see [`FileInput`](crate::FileInput)).
    #[error(
        "{origin}: changed while being packaged ({what}); package it again once it is complete"
    )]
    FileChanged {
        /// The file.
        origin: String,
        /// What differed.
        what: &'static str,
    },
    /// Writing the tar failed.
    #[error("writing the image tar: {source}")]
    Write {
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An earlier error left the tar incomplete; nothing more can be written.
    #[error("the image tar is incomplete after an earlier error")]
    Poisoned,
    /// A root file name that is reserved by the layout or not a plain name.
    #[error("{name:?} cannot be written at the tar root: {reason}")]
    InvalidFileName {
        /// The name.
        name: String,
        /// Why not.
        reason: &'static str,
    },
    /// An index entry names a blob that was not written.
    #[error("index.json would point at {digest}, which is not in the layout")]
    MissingBlob {
        /// The digest.
        digest: Digest,
    },
    /// The destination holds a blob under this digest whose size is not the
    /// announced one: it is corrupt, and is neither trusted nor replaced.
    #[error("{digest} is already in the destination with {found} bytes where {expected} were announced: the stored blob is corrupt")]
    ExistingBlobSize {
        /// The digest.
        digest: Digest,
        /// The announced size.
        expected: u64,
        /// The stored blob's size.
        found: u64,
    },
    /// Reading or writing a file of a layout directory failed.
    #[error("{path}: {source}")]
    Destination {
        /// The file or folder.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An output path that names no file (`/`, `..`).
    #[error("{path}: not a file name")]
    NotAFileName {
        /// The path.
        path: String,
    },
    /// The folder for an output file could not be created.
    #[error("{folder}: cannot create the folder: {source}")]
    CreateFolder {
        /// The folder.
        folder: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No file could be created beside an output path.
    #[error("{path}: cannot create a file in {folder}: {source}")]
    CreateFile {
        /// The output path.
        path: String,
        /// Its folder.
        folder: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A complete output file could not be given its path (linked or
    /// renamed there).
    #[error("{path}: cannot put the finished file in place: {source}")]
    RenameIntoPlace {
        /// The output path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file already in a layout directory cannot be added to.
    #[error("{path}: cannot add to it: {reason}")]
    InvalidExisting {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An index entry's digest is not a sha256 digest.
    #[error("index.json entry: {0}")]
    InvalidDigest(#[from] oci_digest::DigestError),
    /// A document could not be serialised.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// A destination implemented in another crate (a registry) failed; its
    /// own error, which callers can downcast to the type they know.
    #[error(transparent)]
    Sink(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl LayoutError {
    /// The error of reading `origin`: the [`LayoutError`] a reader carried
    /// inside `error` (a [`FileInput`](crate::FileInput) found changed when
    /// opened again), else [`LayoutError::ReadSource`].
    pub fn reading(origin: impl Into<String>, error: std::io::Error) -> Self {
        match error.downcast::<LayoutError>() {
            Ok(inner) => inner,
            Err(source) => LayoutError::ReadSource {
                origin: origin.into(),
                source,
            },
        }
    }
}
