//! The image fixture the read tests share: its documents, and the tar
//! entries that hold it.
#![allow(dead_code)] // each test file uses its own part
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

use oci_digest::digest_bytes;

pub(crate) const LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
pub(crate) const NAME: &str = "ghcr.io/example/app:v1";

/// An entry to write: name, type byte, bytes.
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) kind: u8,
    pub(crate) bytes: Vec<u8>,
}

pub(crate) fn file(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Entry {
    Entry {
        name: name.into(),
        kind: b'0',
        bytes: bytes.into(),
    }
}

pub(crate) fn blob(bytes: &[u8]) -> Entry {
    file(digest_bytes(bytes).blob_path(), bytes)
}

/// A tar of `entries`, names written as given (no checks, so hostile names
/// can be made), with the end-of-archive blocks.
pub(crate) fn tar_of(entries: &[Entry]) -> Vec<u8> {
    let mut tar = Vec::new();
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..entry.name.len()]
            .copy_from_slice(entry.name.as_bytes());
        header.set_size(entry.bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::new(entry.kind));
        header.set_cksum();
        tar.extend_from_slice(header.as_bytes());
        tar.extend_from_slice(&entry.bytes);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.extend_from_slice(&[0; 1024]);
    tar
}

pub(crate) fn descriptor(media_type: &str, bytes: &[u8]) -> String {
    format!(
        r#"{{"mediaType":"{media_type}","digest":"{}","size":{}}}"#,
        digest_bytes(bytes),
        bytes.len()
    )
}

pub(crate) struct Image {
    pub(crate) config: Vec<u8>,
    pub(crate) layer: Vec<u8>,
    pub(crate) manifest: Vec<u8>,
    pub(crate) index: Vec<u8>,
    pub(crate) docker: Vec<u8>,
}

pub(crate) fn image() -> Image {
    let config = br#"{"architecture":"wasm","os":"wasip1","config":{"Entrypoint":["app.wasm"]},"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let layer = b"\0asm\x01\0\0\0".to_vec();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{}]}}"#,
        descriptor("application/vnd.oci.image.config.v1+json", &config),
        descriptor(
            "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
            &layer
        )
    )
    .into_bytes();
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{},"platform":{{"architecture":"wasm","os":"wasip1"}},"annotations":{{"io.containerd.image.name":"{NAME}","org.opencontainers.image.ref.name":"v1"}}}}]}}"#,
        digest_bytes(&manifest),
        manifest.len()
    )
    .into_bytes();
    let docker = format!(
        r#"[{{"Config":"{}","RepoTags":["{NAME}"],"Layers":["{}"]}}]"#,
        digest_bytes(&config).blob_path(),
        digest_bytes(&layer).blob_path()
    )
    .into_bytes();
    Image {
        config,
        layer,
        manifest,
        index,
        docker,
    }
}

pub(crate) fn entries_of(image: &Image) -> Vec<Entry> {
    vec![
        file("oci-layout", LAYOUT),
        blob(&image.layer),
        blob(&image.config),
        blob(&image.manifest),
        file("manifest.json", image.docker.clone()),
        file("index.json", image.index.clone()),
    ]
}
