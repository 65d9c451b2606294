//! What [`read_layout`](crate::read_layout) and
//! [`read_layout_dir`](crate::read_layout_dir) can find wrong in an image layout.

use oci_digest::Digest;

use crate::check::{MAX_DESCRIPTORS, MAX_IMAGES, MAX_NAMES_TOTAL};

/// One thing wrong with an image layout (a tar or a directory). Each names
/// its culprit: the entry, the blob's digest, or the document that refers
/// to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The tar ends inside a header or an entry's data, or before its
    /// end-of-archive blocks; nothing after that point was read.
    #[error("{}", match entry {
        Some(entry) => format!("the tar is truncated: it ends inside entry {entry:?}"),
        None => "the tar is truncated: it ends before its end-of-archive blocks".to_owned(),
    })]
    Truncated {
        /// The entry the data ended in, if it ended inside one.
        entry: Option<String>,
    },
    /// A header block that is not a valid tar header; reading stopped there.
    #[error("not a valid tar header at byte {offset}: {reason}")]
    BadHeader {
        /// Where the header starts.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An entry a reader must not follow or extract: a path with `..` or a
    /// leading `/`, a link, a device, a FIFO, or (in a directory) a file
    /// replaced by another while being read. It is skipped.
    #[error("unsafe entry {name:?}: {reason}")]
    UnsafeEntry {
        /// The entry's name as stored.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An entry of a layout directory that could not be listed or read
    /// (permissions, an I/O error); it is skipped.
    #[error("entry {name:?} could not be read: {reason}")]
    UnreadableEntry {
        /// The entry's path relative to the layout directory.
        name: String,
        /// The I/O error's message.
        reason: String,
    },
    /// An entry that other mainstream tar readers (Go's archive/tar as in
    /// skopeo and containerd, GNU tar, Python's tarfile) may read under
    /// another name than this reader does, or disagree about among
    /// themselves: conflicting GNU and PAX names, a GNU sparse file, a NUL
    /// inside a name, a header name that is a layout file's. A tar holding
    /// one is not the same image to every reader; the entry is skipped.
    #[error("entry {name:?} may be read as {seen_as:?} by other tar readers: {reason}")]
    AmbiguousEntry {
        /// The name this reader takes (shortened if long).
        name: String,
        /// The name another reader may use instead (shortened if long).
        seen_as: String,
        /// Why the readers differ.
        reason: &'static str,
    },
    /// Bytes after the end-of-archive marker that some tar readers read
    /// as more entries (which this reader did not check).
    #[error("byte {offset}, after the end of the tar: {reason}")]
    DataAfterEnd {
        /// Where the data starts.
        offset: u64,
        /// What is there and who reads it.
        reason: &'static str,
    },
    /// The input is a compressed file, not a tar.
    #[error("the file is {format}-compressed, not a tar: decompress it first")]
    Compressed {
        /// The compression format its first bytes announce (`gzip`, `zstd`...).
        format: &'static str,
    },
    /// An index or manifest whose `schemaVersion` is not 2.
    #[error("{name}: schemaVersion {found}, where 2 is required")]
    UnsupportedSchemaVersion {
        /// The document's entry name.
        name: String,
        /// The version it gives.
        found: u32,
    },
    /// More problems of one kind than are listed: the first ones are, the
    /// rest only counted.
    #[error("{count} more problem{} of the kind above ({kind}) not listed", if *count == 1 { "" } else { "s" })]
    MoreOfTheSame {
        /// The kind of problem (the variant's name).
        kind: &'static str,
        /// How many were not listed.
        count: u64,
    },
    /// Two entries with the same name (which one a reader keeps differs).
    #[error("entry {name:?} appears more than once")]
    DuplicateEntry {
        /// The name.
        name: String,
    },
    /// More entries (or longer names altogether) than any image layout needs;
    /// reading stopped.
    #[error("the layout has more than {limit} entries, or entry names longer than {MAX_NAMES_TOTAL} bytes altogether; reading stopped")]
    TooManyEntries {
        /// The limit on entries.
        limit: usize,
    },
    /// The documents reached from `index.json` (counting each time one is
    /// reached again) are more than the reader checks; it stopped following.
    #[error("index.json reaches more than {limit} bytes of JSON documents, {MAX_DESCRIPTORS} descriptors or {MAX_IMAGES} image manifests (counting repeats); the rest is not checked")]
    TooMuchToCheck {
        /// The limit.
        limit: u64,
    },
    /// A file under `blobs/sha256/` whose name is not 64 lowercase hex digits.
    #[error(
        "entry {name:?}: not a valid blob name (blobs/sha256/ followed by 64 lowercase hex digits)"
    )]
    InvalidBlobName {
        /// The entry's name.
        name: String,
    },
    /// A blob whose bytes do not hash to its name.
    #[error("blob {digest}: its bytes hash to {found}")]
    BlobDigestMismatch {
        /// The digest its name claims.
        digest: Digest,
        /// The digest of its bytes.
        found: Digest,
    },
    /// There is no `oci-layout` file.
    #[error("no oci-layout file: this is not an OCI image layout")]
    MissingLayoutFile,
    /// `oci-layout` does not say `{"imageLayoutVersion":"1.0.0"}`.
    #[error("oci-layout: {found}, where {{\"imageLayoutVersion\":\"1.0.0\"}} is required")]
    UnsupportedLayoutVersion {
        /// What it says instead (or why it could not be read).
        found: String,
    },
    /// There is no `index.json` file.
    #[error("no index.json file: this is not an OCI image layout")]
    MissingIndex,
    /// A JSON document larger than the reader keeps in memory; it is not read.
    #[error("{name}: a {size}-byte document, larger than the {limit}-byte limit for JSON documents; not read")]
    DocumentTooLarge {
        /// The document's entry name.
        name: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A JSON document that does not parse as what refers to it says it is.
    #[error("{name}: not a valid {kind}: {reason}")]
    InvalidDocument {
        /// The document's entry name.
        name: String,
        /// What it was expected to be ("image manifest", "image index"...).
        kind: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A descriptor points at a blob the layout does not hold.
    #[error("{referenced_by} refers to blob {digest}, which is not in the layout")]
    MissingBlob {
        /// The blob's digest.
        digest: Digest,
        /// The document holding the descriptor.
        referenced_by: String,
    },
    /// A descriptor's size differs from the blob's.
    #[error("{referenced_by} says blob {digest} has {expected} bytes, but it has {found}")]
    SizeMismatch {
        /// The blob's digest.
        digest: Digest,
        /// The size the descriptor gives.
        expected: u64,
        /// The blob's size.
        found: u64,
        /// The document holding the descriptor.
        referenced_by: String,
    },
    /// A descriptor whose digest is not `sha256:` and 64 lowercase hex digits.
    #[error(
        "{referenced_by} refers to {digest:?}, which is not a sha256 digest this reader can check"
    )]
    UnsupportedDigest {
        /// The digest string.
        digest: String,
        /// The document holding the descriptor.
        referenced_by: String,
    },
    /// Image indexes nested deeper than the reader follows, or in a cycle.
    #[error("image index {digest} is nested too deeply (or refers to itself); not followed")]
    NestingTooDeep {
        /// The index not followed.
        digest: Digest,
    },
    /// The JSON documents together are larger than the reader keeps; the
    /// named one was not kept and is not checked.
    #[error("{name}: the layout's JSON documents exceed {limit} bytes together; not read")]
    DocumentBudgetExceeded {
        /// The document's entry name.
        name: String,
        /// The total limit.
        limit: u64,
    },
    /// `manifest.json` names a file the layout does not hold.
    #[error("manifest.json refers to {path:?}, which is not in the layout")]
    DockerMissingFile {
        /// The path as written in manifest.json.
        path: String,
    },
    /// A `manifest.json` image that no OCI manifest reached from
    /// `index.json` matches (same config and layers).
    #[error("manifest.json image with config {config:?}: {reason}")]
    DockerDisagrees {
        /// Its `Config` path.
        config: String,
        /// How it disagrees.
        reason: &'static str,
    },
    /// An index entry's platform that is not its image config's OS and
    /// architecture.
    #[error("the index lists {manifest} for {listed}, but its config says {config}")]
    PlatformMismatch {
        /// The manifest's digest.
        manifest: Digest,
        /// `os/architecture` as the index entry lists it.
        listed: String,
        /// `os/architecture` as the config says.
        config: String,
    },
    /// A file of a Docker archive whose bytes are not what refers to it
    /// says: a layer that does not hash to its config's `rootfs.diff_ids`
    /// entry, or a config that does not hash to its `<hex>.json` name.
    #[error("{path}: its bytes hash to {found}, but {claimed_by} gives {expected}")]
    DockerDigestMismatch {
        /// The file as `manifest.json` names it.
        path: String,
        /// The digest of its bytes.
        found: Digest,
        /// The digest claimed (as written).
        expected: String,
        /// What claims it ("its name", "the config's rootfs.diff_ids").
        claimed_by: &'static str,
    },
    /// A `RepoTags` entry of a Docker archive's `manifest.json` that is not
    /// a valid image reference.
    #[error("manifest.json tags an image {tag:?}, which is not a valid reference: {reason}")]
    DockerInvalidTag {
        /// The tag as written.
        tag: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An entry of a Docker archive's `repositories` file that does not
    /// agree with `manifest.json`.
    #[error("repositories names {tag:?}: {reason}")]
    DockerRepositoriesDisagree {
        /// `repository:tag` as the file gives it.
        tag: String,
        /// How it disagrees.
        reason: &'static str,
    },
    /// A `manifest.json` tag that `index.json` does not name the image with.
    #[error("manifest.json tags the image {tag:?}, but index.json names it {}", if names.is_empty() { "nothing".to_owned() } else { format!("{names:?}") })]
    DockerTagMismatch {
        /// The tag in `RepoTags`.
        tag: String,
        /// The `io.containerd.image.name` values `index.json` gives it.
        names: Vec<String>,
    },
}

impl Problem {
    /// The kind of problem: the variant's name, for counting repeats.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Problem::Truncated { .. } => "Truncated",
            Problem::BadHeader { .. } => "BadHeader",
            Problem::UnsafeEntry { .. } => "UnsafeEntry",
            Problem::UnreadableEntry { .. } => "UnreadableEntry",
            Problem::AmbiguousEntry { .. } => "AmbiguousEntry",
            Problem::DataAfterEnd { .. } => "DataAfterEnd",
            Problem::Compressed { .. } => "Compressed",
            Problem::UnsupportedSchemaVersion { .. } => "UnsupportedSchemaVersion",
            Problem::MoreOfTheSame { .. } => "MoreOfTheSame",
            Problem::DuplicateEntry { .. } => "DuplicateEntry",
            Problem::TooManyEntries { .. } => "TooManyEntries",
            Problem::TooMuchToCheck { .. } => "TooMuchToCheck",
            Problem::InvalidBlobName { .. } => "InvalidBlobName",
            Problem::BlobDigestMismatch { .. } => "BlobDigestMismatch",
            Problem::MissingLayoutFile => "MissingLayoutFile",
            Problem::UnsupportedLayoutVersion { .. } => "UnsupportedLayoutVersion",
            Problem::MissingIndex => "MissingIndex",
            Problem::DocumentTooLarge { .. } => "DocumentTooLarge",
            Problem::InvalidDocument { .. } => "InvalidDocument",
            Problem::MissingBlob { .. } => "MissingBlob",
            Problem::SizeMismatch { .. } => "SizeMismatch",
            Problem::UnsupportedDigest { .. } => "UnsupportedDigest",
            Problem::NestingTooDeep { .. } => "NestingTooDeep",
            Problem::DocumentBudgetExceeded { .. } => "DocumentBudgetExceeded",
            Problem::DockerMissingFile { .. } => "DockerMissingFile",
            Problem::DockerDisagrees { .. } => "DockerDisagrees",
            Problem::DockerTagMismatch { .. } => "DockerTagMismatch",
            Problem::DockerDigestMismatch { .. } => "DockerDigestMismatch",
            Problem::DockerInvalidTag { .. } => "DockerInvalidTag",
            Problem::DockerRepositoriesDisagree { .. } => "DockerRepositoriesDisagree",
            Problem::PlatformMismatch { .. } => "PlatformMismatch",
        }
    }
}
