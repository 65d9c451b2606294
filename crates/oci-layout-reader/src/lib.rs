//! Reads any OCI image layout back and checks it, treating it as hostile.
//!
//! [`read_layout`] reads an image-layout tar (ours, `docker save`'s,
//! skopeo's `oci-archive:`) in one streaming pass with flat memory: every
//! blob is hashed as it passes and only small JSON documents are kept. It
//! reports every [`Problem`]: blobs whose bytes do not match their names,
//! missing or mis-sized blobs, unsafe entries, truncation, a `manifest.json`
//! that disagrees with `index.json`.
//!
//! ```
//! use oci_layout::{BlobSource, BytesBlob, LayoutWriter};
//! use oci_layout_reader::read_layout;
//! use oci_spec::image::MediaType;
//!
//! let config = BytesBlob::new(br#"{"architecture":"wasm","os":"wasip1"}"#.to_vec());
//! let mut layout = LayoutWriter::new(Vec::new())?;
//! layout.write_blob(&config)?;
//! layout.add_to_index(config.descriptor(MediaType::ImageConfig))?;
//! let tar = layout.finish()?;
//!
//! let report = read_layout(&tar[..])?;
//! assert!(report.is_valid());
//! assert_eq!(report.blob_count, 1);
//!
//! // One flipped byte in the blob is found, and named.
//! let mut corrupt = tar.clone();
//! let at = corrupt.windows(6).position(|w| w == b"wasip1").unwrap();
//! corrupt[at] ^= 1;
//! let report = read_layout(&corrupt[..])?;
//! assert!(report.problems[0].to_string().contains(&config.digest().to_string()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod problem;
mod read;
mod tar_stream;

pub use problem::Problem;
pub use read::{
    read_layout, ConfigSummary, Descriptor, Image, Index, LayoutReport, Manifest, Platform,
    ReadError, MAX_DOCUMENTS_TOTAL, MAX_DOCUMENT_LEN, MAX_ENTRIES, MAX_IMAGES, MAX_NAMES_TOTAL,
    MAX_PARSED_TOTAL,
};
