//! Content-addressed hashing for OCI blobs.
//!
//! An OCI blob is named by the SHA-256 digest of its bytes, written
//! `sha256:<64 lowercase hex digits>`, and stored in an image layout at
//! `blobs/sha256/<hex>`. This crate gives:
//!
//! - [`Digest`]: a parsed, validated digest that knows its blob path;
//! - [`Sha256`]: an incremental hasher that also counts bytes;
//! - [`DigestReader`] and [`DigestWriter`]: wrappers that hash and count
//!   every byte that passes through them, so a blob is hashed while it is
//!   copied, never loaded into memory whole;
//! - [`digest_bytes`], [`digest_reader`] and [`digest_file`] for the common cases;
//! - [`copy_hashing`]: a copy that hashes on a second thread when the stream
//!   is large (bounded buffers), so copying and hashing overlap; and
//!   [`Fingerprinter`], a fast checksum to confirm a second read of an input
//!   gives the bytes the first one hashed.
//!
//! ```
//! use oci_digest::{digest_bytes, Digest};
//!
//! let digest = digest_bytes(b"abc");
//! assert_eq!(
//!     digest.to_string(),
//!     "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
//! );
//! assert_eq!(
//!     digest.blob_path(),
//!     "blobs/sha256/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
//! );
//! let parsed: Digest = digest.to_string().parse()?;
//! assert_eq!(parsed, digest);
//! # Ok::<(), oci_digest::DigestError>(())
//! ```
#![deny(missing_docs)]

mod digest;
mod hashing;
mod pipeline;

pub use digest::{Digest, DigestError};
pub use hashing::{digest_bytes, digest_file, digest_reader, DigestReader, DigestWriter, Sha256};
pub use pipeline::{
    copy_hashing, hash_parallel, CopyError, Fingerprint, Fingerprinter, HashJob, StreamHasher,
    PIPELINE_THRESHOLD,
};
