//! The media types and labels of wasm images.

/// A raw wasm layer of a wasm-layer image (what runwasi's shims look for).
pub const WASM_LAYER: &str = "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm";
/// The config of a CNCF Wasm OCI Artifact.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// The wasm layer of a CNCF Wasm OCI Artifact.
pub const WASM: &str = "application/wasm";
/// An uncompressed OCI tar layer.
pub const OCI_TAR_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// A gzip-compressed OCI tar layer.
pub const OCI_TAR_GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// A zstd-compressed OCI tar layer.
pub const OCI_TAR_ZSTD_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// An uncompressed Docker tar layer.
pub const DOCKER_TAR_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// The image config label that makes each wasm-layer image's config unique:
/// the hex SHA-256 of the concatenated hex digests of its layers.
pub const RUNWASI_LAYERS_LABEL: &str = "containerd.runwasi.layers";

/// Whether `media_type` is `type/subtype` as OCI descriptors allow
/// (`[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}` on each side, an optional
/// `;parameter` is not allowed).
pub fn is_valid(media_type: &str) -> bool {
    let Some((kind, subtype)) = media_type.split_once('/') else {
        return false;
    };
    let restricted_name = |name: &str| {
        let bytes = name.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 127
            && bytes[0].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(b))
    };
    restricted_name(kind) && restricted_name(subtype)
}

/// Whether `media_type` is an uncompressed tar layer, whose diff ID is its digest.
pub fn is_uncompressed_tar(media_type: &str) -> bool {
    media_type == OCI_TAR_LAYER
        || media_type == DOCKER_TAR_LAYER
        || media_type == "application/vnd.oci.image.layer.nondistributable.v1.tar"
}

/// Whether `media_type` is a compressed tar layer.
pub fn is_compressed_tar(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.")
        && (media_type.ends_with("+gzip") || media_type.ends_with("+zstd"))
        || media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_form() {
        for good in [
            WASM_LAYER,
            WASM_CONFIG,
            WASM,
            OCI_TAR_LAYER,
            "text/plain",
            "a/b",
        ] {
            assert!(is_valid(good), "{good}");
        }
        for bad in [
            "",
            "wasm",
            "/wasm",
            "application/",
            "a/b/c",
            "a b/c",
            "a/b;x=y",
            "é/x",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
        // 127 characters a side at most; a letter or digit first; then
        // also `!#$&^_.+-`.
        let long = "x".repeat(127);
        assert!(is_valid(&format!("{long}/{long}")));
        assert!(!is_valid(&format!("{long}x/b")));
        assert!(!is_valid(&format!("a/{long}x")));
        assert!(is_valid("0a/9b!#$&^_.+-"));
        assert!(!is_valid("-a/b"));
        assert!(!is_valid("a/.b"));
        assert!(!is_valid("a/b*"));
    }

    #[test]
    fn tar_layer_kinds() {
        for uncompressed in [
            OCI_TAR_LAYER,
            DOCKER_TAR_LAYER,
            "application/vnd.oci.image.layer.nondistributable.v1.tar",
        ] {
            assert!(is_uncompressed_tar(uncompressed), "{uncompressed}");
            assert!(!is_compressed_tar(uncompressed), "{uncompressed}");
        }
        for compressed in [
            OCI_TAR_GZIP_LAYER,
            OCI_TAR_ZSTD_LAYER,
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        ] {
            assert!(is_compressed_tar(compressed), "{compressed}");
            assert!(!is_uncompressed_tar(compressed), "{compressed}");
        }
        for neither in [WASM, WASM_LAYER, "application/x+gzip", "text/plain"] {
            assert!(!is_compressed_tar(neither), "{neither}");
            assert!(!is_uncompressed_tar(neither), "{neither}");
        }
    }
}
