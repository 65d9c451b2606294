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
//! [`parse_manifest_json`] reads one back, from any tool and leniently
//! (paths are kept as written, so a reader can report the ones that name no
//! blob):
//!
//! ```
//! use docker_compat::{manifest_json, parse_manifest_json, DockerImage};
//! use oci_digest::digest_bytes;
//!
//! let image = DockerImage {
//!     config: digest_bytes(b"{}"),
//!     repo_tags: vec!["app:v1".into()],
//!     layers: vec![digest_bytes(b"layer")],
//! };
//! let entries = parse_manifest_json(&manifest_json(&[image.clone()]))?;
//! assert_eq!(entries[0].to_docker_image(), Some(image));
//! assert!(parse_manifest_json(br#"{"Config":"x"}"#).is_err());
//! # Ok::<(), docker_compat::ManifestJsonError>(())
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
use serde::{Deserialize, Serialize};

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

/// One image as a `manifest.json` lists it, fields as written: paths need
/// not be blob paths (`docker save` before Docker 25 wrote
/// `<id>/layer.tar`), and may not name files that exist.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ManifestJsonEntry {
    /// The `Config` path.
    #[serde(rename = "Config")]
    pub config: String,
    /// The `RepoTags`, when present (`docker save` of an image by ID writes `null`).
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    /// The `Layers` paths, in order.
    #[serde(rename = "Layers")]
    pub layers: Vec<String>,
}

impl ManifestJsonEntry {
    /// The image as digests, when its config and every layer are
    /// `blobs/sha256/<hex>` paths (with or without a leading `./`).
    pub fn to_docker_image(&self) -> Option<DockerImage> {
        Some(DockerImage {
            config: blob_path_digest(&self.config)?,
            repo_tags: self.repo_tags.clone().unwrap_or_default(),
            layers: self
                .layers
                .iter()
                .map(|path| blob_path_digest(path))
                .collect::<Option<Vec<Digest>>>()?,
        })
    }
}

/// Why bytes are not a `manifest.json`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestJsonError {
    /// Not JSON, or not an array of objects with `Config` and `Layers`.
    #[error("not a valid manifest.json: {source}")]
    Invalid {
        /// The JSON parser's error, with the line and column.
        #[source]
        source: serde_json::Error,
    },
}

/// Parses the bytes of a `manifest.json` written by any tool.
pub fn parse_manifest_json(bytes: &[u8]) -> Result<Vec<ManifestJsonEntry>, ManifestJsonError> {
    serde_json::from_slice(bytes).map_err(|source| ManifestJsonError::Invalid { source })
}

/// The digest a `blobs/sha256/<hex>` path names (a leading `./` allowed).
pub fn blob_path_digest(path: &str) -> Option<Digest> {
    let mut path = path;
    while let Some(rest) = path.strip_prefix("./") {
        path = rest.trim_start_matches('/');
    }
    path.strip_prefix("blobs/sha256/")
        .and_then(|hex| format!("sha256:{hex}").parse().ok())
}

/// A Docker reference in its fully qualified form (`foo:1` →
/// `docker.io/library/foo:1`, no tag → `:latest`), for comparing a
/// `RepoTags` entry with a full name such as containerd's
/// `io.containerd.image.name`.
pub fn normalize_reference(reference: &str) -> String {
    let (first, rest) = reference.split_once('/').unwrap_or(("", reference));
    let is_host = first.contains('.') || first.contains(':') || first == "localhost";
    let qualified = if first.is_empty() {
        format!("docker.io/library/{rest}")
    } else if is_host {
        reference.to_owned()
    } else {
        format!("docker.io/{reference}")
    };
    let qualified = qualified.replacen("index.docker.io/", "docker.io/", 1);
    let last = qualified.rsplit('/').next().unwrap_or_default();
    if last.contains(':') || last.contains('@') {
        qualified
    } else {
        format!("{qualified}:latest")
    }
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

    #[test]
    fn docker_references_normalize() {
        assert_eq!(normalize_reference("foo:1"), "docker.io/library/foo:1");
        assert_eq!(normalize_reference("org/foo"), "docker.io/org/foo:latest");
        assert_eq!(
            normalize_reference("localhost:5000/foo:v1"),
            "localhost:5000/foo:v1"
        );
        assert_eq!(
            normalize_reference("docker.io/library/foo:1"),
            "docker.io/library/foo:1"
        );
        assert_eq!(
            normalize_reference("index.docker.io/org/foo@sha256:00"),
            "docker.io/org/foo@sha256:00"
        );
    }

    #[test]
    fn blob_paths_name_digests_and_other_paths_do_not() {
        let digest = digest_bytes(b"x");
        assert_eq!(blob_path_digest(&digest.blob_path()), Some(digest));
        assert_eq!(
            blob_path_digest(&format!("./{}", digest.blob_path())),
            Some(digest)
        );
        assert_eq!(blob_path_digest("abc/layer.tar"), None);
        assert_eq!(blob_path_digest("blobs/sha256/ABC"), None);
    }

    #[test]
    fn old_docker_save_entries_parse_but_are_not_blob_images() {
        let entries = parse_manifest_json(
            br#"[{"Config":"abc.json","RepoTags":null,"Layers":["abc/layer.tar"]}]"#,
        )
        .unwrap();
        assert_eq!(
            entries,
            [ManifestJsonEntry {
                config: "abc.json".into(),
                repo_tags: None,
                layers: vec!["abc/layer.tar".into()],
            }]
        );
        assert_eq!(entries[0].to_docker_image(), None);
    }

    #[test]
    fn what_is_not_a_list_of_images_is_an_error() {
        for bytes in [&b"{}"[..], b"[{\"Layers\":[]}]", b"not json", b""] {
            let error = parse_manifest_json(bytes).unwrap_err();
            assert!(
                matches!(error, ManifestJsonError::Invalid { .. }),
                "{error}"
            );
            assert!(error.to_string().starts_with("not a valid manifest.json: "));
        }
    }
}
