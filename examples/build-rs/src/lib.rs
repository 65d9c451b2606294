//! A crate that ships its wasm module as an OCI image: `build.rs` packages
//! `app.wasm` into `$OUT_DIR/app.tar` with the `wasm-artifact` crate (eight
//! lines, one build dependency), and this library embeds the tar.
//!
//! The tar is the one `oci-tar-builder --name app --tag v1 --module
//! app.wasm` writes, byte for byte, with the same `SOURCE_DATE_EPOCH`.
#![deny(missing_docs)]

/// The image tar `build.rs` wrote: an OCI image layout and Docker's
/// `manifest.json`, ready for `ctr images import`.
pub const IMAGE_TAR: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/app.tar"));

/// The reference the image is named by.
pub const REFERENCE: &str = "app:v1";
