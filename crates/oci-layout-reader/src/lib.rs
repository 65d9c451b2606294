//! Reads any OCI image layout back and checks it, treating it as hostile.
//!
//! [`read_layout`] reads an image-layout tar (ours, `docker save`'s since
//! Docker 25, skopeo's `oci-archive:`), or a Docker archive in the older
//! format ([`LayoutFormat::DockerArchive`]: `docker save` before Docker 25,
//! podman's and skopeo's `docker-archive`, checked by that format's own
//! rules), in one streaming pass with flat memory: every
//! blob is hashed as it passes and only small JSON documents are kept. It
//! reports every [`Problem`]: blobs whose bytes do not match their names,
//! missing or mis-sized blobs, unsafe entries, truncation, a `manifest.json`
//! that disagrees with `index.json`.
//! The documents it parsed stay in the report byte for byte
//! ([`LayoutReport::raw_index`], [`Image::raw_manifest`],
//! [`Image::raw_config`]), shared rather than copied, so the report holds at
//! most [`MAX_DOCUMENTS_TOTAL`] bytes of them.
//!
//! ```
//! use oci_layout::{BlobSource, BytesBlob, ImageSink, LayoutTar};
//! use oci_layout_reader::read_layout;
//! use oci_spec::image::MediaType;
//!
//! let config = BytesBlob::new(br#"{"architecture":"wasm","os":"wasip1"}"#.to_vec());
//! let mut layout = LayoutTar::new(Vec::new())?;
//! layout.put_blob(&config)?;
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
//!
//! [`read_layout_dir`] reads the same layout as a directory (skopeo's
//! `oci:DIR`, or a tar extracted) with the same checks and limits: links,
//! devices and FIFOs inside are reported and never followed or opened, a
//! file under `blobs/sha256/` whose name is not a digest is reported, every
//! blob is hashed streaming. Both readers feed one checker, so what
//! `index.json` reaches is followed by one code path for both.
//!
//! ```
//! # use oci_layout::{BlobSource, BytesBlob, ImageSink, LayoutTar};
//! # use oci_spec::image::MediaType;
//! # let config = BytesBlob::new(br#"{"architecture":"wasm","os":"wasip1"}"#.to_vec());
//! # let mut layout = LayoutTar::new(Vec::new())?;
//! # layout.put_blob(&config)?;
//! # layout.add_to_index(config.descriptor(MediaType::ImageConfig))?;
//! # let tar = layout.finish()?;
//! let dir = tempfile::tempdir()?;
//! tar::Archive::new(&tar[..]).unpack(dir.path())?;
//! assert_eq!(
//!     oci_layout_reader::read_layout_dir(dir.path())?,
//!     oci_layout_reader::read_layout(&tar[..])?,
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Digests and descriptors: one type each with the writer
//!
//! A hostile layout's descriptors can hold any string as a digest, so the
//! reader's [`Descriptor`] keeps the digest as written (that is what a
//! report must show) and reports one that is not `sha256:` and 64 lowercase
//! hex digits as [`Problem::UnsupportedDigest`]. Everything the reader
//! itself vouches for is an [`oci_digest::Digest`], the writer's type: the
//! digests in [`Problem`]s, [`Image::via`]. To go from a read descriptor to
//! the writer's types, [`Descriptor::parse_digest`] gives the checked
//! `Digest` and [`Descriptor::to_oci_spec`] the `oci_spec` descriptor that
//! `oci_layout::LayoutTar` takes; `Descriptor::from(&oci_spec_descriptor)`
//! goes the other way, to compare what was read with what was written.
#![deny(missing_docs)]

mod check;
mod copy;
mod dir_layout;
mod error;
mod problem;
mod report;
mod tar_layout;
mod tar_stream;

pub use check::{
    MAX_DESCRIPTORS, MAX_DOCUMENTS_TOTAL, MAX_DOCUMENT_LEN, MAX_ENTRIES, MAX_IMAGES,
    MAX_NAMES_TOTAL, MAX_PARSED_TOTAL, MAX_PROBLEMS_PER_KIND, MAX_SHOWN_NAME,
};
pub use copy::{
    copy_checked, copy_image, copy_listed, listed_descriptor, read_source, Copied, CopyError,
    LayoutSource,
};
pub use dir_layout::read_layout_dir;
pub use error::ReadError;
pub use problem::Problem;
pub use report::{
    ComponentSummary, ConfigSummary, Descriptor, DockerFiles, Image, Index, LayoutFormat,
    LayoutReport, Manifest, Platform,
};
pub use tar_layout::read_layout;
