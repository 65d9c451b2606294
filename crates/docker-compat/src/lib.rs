//! Docker's `manifest.json`: the file `docker save` writes at the root of an
//! image tar, and that `docker load`, skopeo's `docker-archive:` transport and
//! containerd's importer (when a tar has no `oci-layout`) read.
//!
//! ```json
//! [{"Config":"blobs/sha256/<hex>","RepoTags":["registry/path/name:tag"],"Layers":["blobs/sha256/<hex>"]}]
//! ```
//!
//! Paths are relative to the tar root and point at the blobs of the OCI image
//! layout beside it, so no byte is stored twice.
//!
//! ```
//! use docker_compat::{manifest_json, DockerImage};
//! use oci_digest::digest_bytes;
//!
//! let image = DockerImage {
//!     config: digest_bytes(b"{}"),
//!     repo_tags: vec!["localhost:5000/demo/app:v1".into()],
//!     layers: vec![digest_bytes(b"\0asm\x01\0\0\0")],
//! };
//! let json = String::from_utf8(manifest_json(&[image])).unwrap();
//! assert!(json.starts_with(r#"[{"Config":"blobs/sha256/44136fa3"#));
//! assert!(json.contains(r#""RepoTags":["localhost:5000/demo/app:v1"]"#));
//! ```
//!
//! A trap worth knowing: readers of this format require one `Layers` entry per
//! `rootfs.diff_ids` entry of the image config, while containerd requires
//! `diff_ids` to leave raw (non-tar) layers out. For an image whose layers are
//! raw wasm no `manifest.json` satisfies both; this crate lists every layer,
//! so such readers refuse the image loudly rather than see it without its wasm
//! (`docs/formats.md#docker-compatibility` in the repository).
#![deny(missing_docs)]

use oci_digest::Digest;
use serde::Serialize;

/// The file name Docker looks for at the root of the tar.
pub const MANIFEST_JSON: &str = "manifest.json";

/// One image in `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerImage {
    /// Digest of the image config blob.
    pub config: Digest,
    /// Full references the image is loaded under (`registry/path/name:tag`).
    pub repo_tags: Vec<String>,
    /// Digests of the layer blobs, in manifest order.
    pub layers: Vec<Digest>,
}

/// The serialised form: field names and order as `docker save` writes them.
#[derive(Serialize)]
struct Entry<'a> {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: &'a [String],
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// The bytes of `manifest.json` for `images`: compact JSON, fields in the
/// order `docker save` writes them, the same bytes for the same images.
pub fn manifest_json(images: &[DockerImage]) -> Vec<u8> {
    let entries: Vec<Entry<'_>> = images
        .iter()
        .map(|image| Entry {
            config: image.config.blob_path(),
            repo_tags: &image.repo_tags,
            layers: image.layers.iter().map(Digest::blob_path).collect(),
        })
        .collect();
    // Serialising plain structs, strings and vectors into memory cannot fail.
    serde_json::to_vec(&entries).unwrap_or_else(|_| unreachable!("manifest.json serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_digest::digest_bytes;

    #[test]
    fn manifest_json_snapshot() {
        let image = DockerImage {
            config: digest_bytes(b"config"),
            repo_tags: vec!["ghcr.io/containerd/runwasi/wasi-demo-oci:latest".into()],
            layers: vec![digest_bytes(b"layer one"), digest_bytes(b"layer two")],
        };
        let json = String::from_utf8(manifest_json(&[image])).unwrap();
        insta::assert_snapshot!(json);
    }

    #[test]
    fn no_images_is_an_empty_array() {
        assert_eq!(manifest_json(&[]), b"[]");
    }
}
