//! Wasm modules and components as OCI images.
//!
//! Two shapes ([`ImageShape`]):
//! - **wasm layers**, the image containerd's runwasi shims run: an OCI image
//!   config with `architecture: wasm`, `os: wasip1`, `Entrypoint
//!   ["<name>.wasm"]` and the `containerd.runwasi.layers` label, and one raw
//!   wasm layer per module;
//! - the **CNCF Wasm OCI Artifact**: an `application/vnd.wasm.config.v0+json`
//!   config and one `application/wasm` layer.
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
//! manifest into an [`oci_layout::LayoutWriter`]. Every document is canonical
//! JSON and the `created` time is a parameter ([`Timestamp::UNIX_EPOCH`]
//! unless you choose another), so the same inputs give the same bytes.
//!
//! A `build.rs` makes the same tar as the `oci-tar-builder` command line:
//!
//! ```no_run
//! use std::{fs::File, io::BufWriter};
//! use docker_compat::{manifest_json, DockerImage, MANIFEST_JSON};
//! use oci_layout::{FileBlob, LayoutWriter, Reference};
//! use wasm_artifact::{ImageShape, Timestamp, WasmImage};
//!
//! let reference = Reference::from_parts(Some("ghcr.io/containerd/runwasi"), "wasi-demo-oci", "latest")?;
//! let mut image = WasmImage::new(reference, ImageShape::WasmLayers, Timestamp::UNIX_EPOCH);
//! image.add_wasm(FileBlob::hash("app.wasm")?)?;
//!
//! let mut layout = LayoutWriter::new(BufWriter::new(File::create("img-oci.tar")?))?;
//! let written = image.write_to(&mut layout)?;
//! let docker = DockerImage {
//!     config: written.config,
//!     repo_tags: vec![written.reference.to_string()],
//!     layers: written.layers,
//! };
//! layout.write_file(MANIFEST_JSON, &manifest_json(&[docker]))?;
//! layout.finish()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod describe;
mod error;
mod image;
pub mod media_types;
mod timestamp;
mod wasm_kind;

pub use describe::{ComponentWorld, WasmDescription};
pub use error::ArtifactError;
pub use image::{ImageShape, WasmImage, WrittenImage};
pub use timestamp::{Timestamp, TimestampError};
pub use wasm_kind::{NotWasm, WasmKind};
