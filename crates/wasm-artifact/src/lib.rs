//! Wasm modules and components as OCI images.
//!
//! Three shapes ([`ImageShape`]):
//! - **wasm layers**, the image containerd's runwasi shims run: an OCI image
//!   config with `architecture: wasm`, `os: wasip1`, `Entrypoint
//!   ["<name>.wasm"]` and the `containerd.runwasi.layers` label, and one raw
//!   wasm layer per module;
//! - the **compat image**, what crun's wasm handlers, WasmEdge, podman and
//!   Docker+Wasm run: the wasm file as `/<name>.wasm` in one ordinary tar
//!   layer (gzip, zstd or none: [`LayerCompression`]), config `os: wasi`;
//! - the **CNCF Wasm OCI Artifact**: an `application/vnd.wasm.config.v0+json`
//!   config and one `application/wasm` layer.
//!
//! [`write_index_to`] (or [`Destination::write_index`]) writes several
//! shapes of one wasm under one reference: an image index whose entries
//! have different platforms.
//!
//! Each wasm input is read through when it is added ([`WasmDescription`]):
//! what is not wasm, or is cut short, is refused; a component's WIT world is
//! decoded into the CNCF config's `component` (imports and exports as world
//! keys, sorted), a binary-encoded WIT package is described as the reference
//! implementation (the oci-wasm crate) does, and the entrypoint's metadata
//! sections (`wasm-tools metadata add`) become `org.opencontainers.image.*`
//! manifest annotations.
//!
//! A [`WasmImage`] collects the inputs and writes the layers, config and
//! manifest through the [`ImageSink`] seam to any destination; a
//! [`Destination`] (an image tar file, a tar stream, an OCI layout
//! directory) also finishes what surrounds the image there (Docker's
//! `manifest.json` in a tar, `index.json`, putting the file in place). Every
//! document is canonical JSON and the `created` time is a parameter
//! ([`Timestamp::source_date_epoch`] reads `SOURCE_DATE_EPOCH`, else the
//! Unix epoch), so the same inputs give the same bytes, from this crate and
//! from the `oci-tar-builder` command line alike.
//!
//! A `build.rs` that packages `app.wasm` into `$OUT_DIR/app.tar` is this
//! (here with a temporary folder standing in for the package and `OUT_DIR`;
//! `examples/build-rs` in the repository is a crate built this way):
//!
//! ```
//! # let dir = tempfile::tempdir()?;
//! # std::env::set_current_dir(dir.path())?;
//! # std::fs::write("app.wasm", b"\0asm\x01\0\0\0")?;
//! # std::env::set_var("OUT_DIR", dir.path());
//! use wasm_artifact::{FileInput, ImageShape::WasmLayers, Timestamp, WasmImage};
//! # fn build_rs() -> Result<(), Box<dyn std::error::Error>> {
//! println!("cargo:rerun-if-changed=app.wasm\ncargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
//! let mut image = WasmImage::new("app:v1".parse()?, WasmLayers, Timestamp::source_date_epoch()?);
//! image.add_wasm(FileInput::open("app.wasm")?)?;
//! image.write_tar_file(std::path::Path::new(&std::env::var("OUT_DIR")?).join("app.tar"))?;
//! # Ok(()) }
//! # build_rs()?;
//! # assert!(dir.path().join("app.tar").is_file());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`WasmImage::write_oci_dir`] writes an OCI layout directory instead;
//! [`Destination`] puts several images in one tar or directory.
#![deny(missing_docs)]

mod compat;
mod compression;
mod describe;
mod destination;
mod error;
mod image;
mod index;
pub mod media_types;
mod timestamp;
mod wasm_files;
mod wasm_kind;

pub use compression::LayerCompression;
pub use describe::{
    ComponentWorld, OversizedSection, WasmDescription, MAX_METADATA_SECTION, MAX_NAME_SECTION,
};
pub use destination::{Completed, Destination};
pub use error::ArtifactError;
pub use image::{ConfigField, ImageShape, LayerDescriptor, WasmImage, WrittenImage};
pub use index::{check_index, check_index_with, write_index_to, write_index_with, WrittenIndex};
// What a user of this crate names, so that one dependency is enough.
pub use oci_layout::{
    BlobInput, FileBlob, FileInput, ImageSink, LayoutDir, LayoutError, LayoutTar, Reference,
};
/// The OCI descriptor type [`WrittenImage`] and [`Completed`] hold.
pub use oci_spec::image::Descriptor;
pub use timestamp::{SourceDateEpochError, SystemTimeOutOfRange, Timestamp, TimestampError};
pub use wasm_files::AddedWasm;
pub use wasm_kind::{NotWasm, WasmKind};
