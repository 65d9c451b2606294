//! Writes OCI image layouts: into a tar, streaming, or into a directory.
//!
//! An [OCI image layout] is a folder holding `oci-layout`, `index.json` and
//! every blob at `blobs/sha256/<hex>`. An image meets its destination
//! through one seam, [`ImageSink`]: does the destination hold this blob, put
//! a blob whose digest is known (checked as it streams), put a file while
//! hashing it, put a manifest under a reference and platform. Image code
//! (the `wasm-artifact` crate) writes to the seam and never knows which
//! destination it has:
//!
//! - [`LayoutTar`]: the layout as a tar into any [`Write`](std::io::Write);
//!   blobs stream from their [`BlobSource`] (a 10 GiB file is never held in
//!   memory) and every header is deterministic, so the same calls give the
//!   same bytes;
//! - [`LayoutDir`]: a layout directory (skopeo's and podman's `oci:DIR`),
//!   created or added to, with the same bytes as the tar's entries.
//!
//! A blob need not be hashed beforehand: a [`FileInput`] is hashed by the
//! writer itself, in **one read** when the output is seekable
//! ([`LayoutTar::seekable`]: the header is reserved, the bytes written
//! while a second thread hashes them, then the name and checksum filled
//! in), or hashed first, several files at once, when it is a stream. The
//! bytes are the same either way:
//!
//! ```
//! use std::io::Cursor;
//! use oci_layout::{BlobInput, FileInput, ImageSink, LayoutTar};
//!
//! let dir = std::env::temp_dir().join(format!("oci-layout-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! std::fs::write(dir.join("app.wasm"), b"\0asm\x01\0\0\0")?;
//! let input: BlobInput = FileInput::open(dir.join("app.wasm"))?.into();
//!
//! let mut in_one_read = LayoutTar::seekable(Cursor::new(Vec::new()))?;
//! let digests = in_one_read.put_inputs(&[&input])?;
//! let mut streamed = LayoutTar::new(Vec::new())?;
//! assert_eq!(streamed.put_inputs(&[&input])?, digests);
//! assert_eq!(in_one_read.finish()?.into_inner(), streamed.finish()?);
//! std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The crate also holds what every layout writer needs around it: the
//! [canonical JSON](to_canonical_json) form of documents, and validated image
//! [`Reference`]s for naming images in `index.json`.
//!
//! ```
//! use oci_layout::{BlobSource, BytesBlob, ImageSink, LayoutTar};
//! use oci_spec::image::MediaType;
//!
//! let config = BytesBlob::new(br#"{"architecture":"wasm","os":"wasip1"}"#.to_vec());
//! let mut layout = LayoutTar::new(Vec::new())?;
//! layout.put_blob(&config)?;
//! layout.add_to_index(config.descriptor(MediaType::ImageConfig))?;
//! let tar = layout.finish()?;
//!
//! let mut archive = tar::Archive::new(&tar[..]);
//! let names: Vec<String> = archive
//!     .entries()?
//!     .map(|entry| entry.unwrap().path().unwrap().display().to_string())
//!     .collect();
//! assert_eq!(names, [
//!     "oci-layout".to_string(),
//!     config.digest().blob_path(),
//!     "index.json".to_string(),
//! ]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Reading a layout back, as hostile input, is the `oci-layout-reader`
//! crate's job.
//!
//! [OCI image layout]: https://github.com/opencontainers/image-spec/blob/v1.1.1/image-layout.md
#![deny(missing_docs)]

mod blob;
mod canonical_json;
mod dir;
mod error;
mod input;
mod pending;
mod reference;
mod sink;
mod writeback;
mod writer;

pub use blob::{oci_spec_digest, BlobSource, BytesBlob, FileBlob, Folder};
pub use canonical_json::{to_canonical_json, JsonError};
pub use dir::{LayoutDir, LOCK_FILE};
pub use error::LayoutError;
pub use input::{hash_files, BlobInput, FileInput, ProgressFn, SeekableOutput, SMALL_FILE};
pub use pending::PendingFile;
pub use reference::{Reference, ReferenceError, ReferencePart, MAX_NAME_LEN, MAX_TAG_LEN};
pub use sink::{holds_blob, index_entry, naming_annotations, put_in_order, ImageSink};
pub use writeback::{WritebackFile, EARLY_WRITEBACK, WRITEBACK_STEP};
pub use writer::{LayoutTar, INDEX_FILE, OCI_LAYOUT_CONTENT, OCI_LAYOUT_FILE};

/// Annotation keys this crate's callers put on index entries.
pub mod annotations {
    /// The full image reference; containerd's importer names the image from it.
    pub const CONTAINERD_IMAGE_NAME: &str = "io.containerd.image.name";
    /// The tag alone (for `localhost:5000/demo:v1`, `v1`).
    pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
}
