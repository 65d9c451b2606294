//! `copy_image`: a checked source's image into another sink, with the
//! source refused when corrupt and caught when it changes after the check.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use oci_layout::{BlobSource, BytesBlob, ImageSink, LayoutTar, Reference};
use oci_layout_reader::{
    copy_checked, copy_image, copy_listed, read_layout, read_source, CopyError, LayoutSource,
};
use oci_spec::image::MediaType;

const LAYER: &[u8] = b"\0asm\x01\0\0\0 layer bytes to copy";
const CONFIG: &[u8] =
    br#"{"architecture":"wasm","os":"wasip1","rootfs":{"type":"layers","diff_ids":[]}}"#;

/// Writes a tar holding one image tagged `v1`; returns its manifest.
fn source_tar(path: &Path) -> BytesBlob {
    let config = BytesBlob::new(CONFIG.to_vec());
    let layer = BytesBlob::new(LAYER.to_vec());
    let manifest = BytesBlob::new(
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/wasm","digest":"{}","size":{}}}]}}"#,
            config.digest(),
            config.size(),
            layer.digest(),
            layer.size()
        )
        .into_bytes(),
    );
    let mut tar = LayoutTar::new(Vec::new()).unwrap();
    tar.put_blob(&config).unwrap();
    tar.put_blob(&layer).unwrap();
    let reference: Reference = "example.com/copy/app:v1".parse().unwrap();
    tar.put_manifest(&manifest, MediaType::ImageManifest, &reference, None)
        .unwrap();
    std::fs::write(path, tar.finish().unwrap()).unwrap();
    manifest
}

fn flip_layer_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes.windows(LAYER.len()).position(|w| w == LAYER).unwrap();
    bytes[at + LAYER.len() - 1] ^= 1;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn an_image_copies_into_another_tar_with_the_same_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.tar");
    let manifest = source_tar(&path);
    let source = LayoutSource::Tar(path);
    let mut sink = LayoutTar::new(Vec::new()).unwrap();
    let copied = copy_image(&source, Some("v1"), &mut sink, None).unwrap();
    assert_eq!(copied.manifest_digest, manifest.digest());
    assert_eq!((copied.blobs, copied.blobs_written), (2, 2));
    let report = read_layout(&sink.finish().unwrap()[..]).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(
        report.images[0].descriptor.digest,
        manifest.digest().to_string()
    );
    assert_eq!(report.images[0].name(), Some("example.com/copy/app:v1"));
}

#[test]
fn a_corrupt_source_is_refused_with_its_problems() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.tar");
    source_tar(&path);
    flip_layer_byte(&path);
    let mut sink = LayoutTar::new(Vec::new()).unwrap();
    let error = copy_image(&LayoutSource::Tar(path), None, &mut sink, None).unwrap_err();
    let CopyError::Invalid { problems, .. } = error else {
        panic!("expected Invalid, got {error}");
    };
    assert!(!problems.is_empty());
}

#[test]
fn a_source_changed_after_its_check_is_caught_while_it_streams() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.tar");
    source_tar(&path);
    let source = LayoutSource::Tar(path.clone());
    let report = read_source(&source).unwrap();
    assert!(report.is_valid());
    flip_layer_byte(&path);
    let mut sink = LayoutTar::new(Vec::new()).unwrap();
    let error = copy_checked(&source, report, None, &mut sink, None).unwrap_err();
    assert!(matches!(error, CopyError::Sink(_)), "{error}");
}

#[test]
fn an_unknown_tag_names_the_tags_there() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.tar");
    source_tar(&path);
    let mut sink = LayoutTar::new(Vec::new()).unwrap();
    let error = copy_image(&LayoutSource::Tar(path), Some("v9"), &mut sink, None).unwrap_err();
    assert!(error.to_string().contains("tags: v1"), "{error}");
}

/// A sink that keeps what it is given: each blob's bytes (read through the
/// source's reader) and origin, the manifests put by digest.
#[derive(Default)]
struct Recorder {
    held: Vec<oci_digest::Digest>,
    blobs: Vec<(Vec<u8>, String)>,
    listed: Vec<(oci_digest::Digest, MediaType)>,
}

impl ImageSink for Recorder {
    fn has_blob(
        &mut self,
        digest: &oci_digest::Digest,
        _: u64,
    ) -> Result<bool, oci_layout::LayoutError> {
        Ok(self.held.contains(digest))
    }

    fn put_blob(&mut self, blob: &dyn BlobSource) -> Result<bool, oci_layout::LayoutError> {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut blob.open().unwrap(), &mut bytes).unwrap();
        self.held.push(blob.digest());
        self.blobs.push((bytes, blob.origin().into_owned()));
        Ok(true)
    }

    fn put_file(
        &mut self,
        _: &oci_layout::FileInput,
    ) -> Result<oci_digest::Digest, oci_layout::LayoutError> {
        unreachable!("a copy puts blobs")
    }

    fn put_listed_manifest(
        &mut self,
        manifest: &BytesBlob,
        media_type: MediaType,
    ) -> Result<(), oci_layout::LayoutError> {
        self.listed.push((manifest.digest(), media_type));
        Ok(())
    }

    fn on_progress(&mut self, _: oci_layout::ProgressFn) {}

    fn put_manifest(
        &mut self,
        _: &BytesBlob,
        _: MediaType,
        _: &Reference,
        _: Option<oci_spec::image::Platform>,
    ) -> Result<oci_spec::image::Descriptor, oci_layout::LayoutError> {
        unreachable!("a listed copy puts no named manifest")
    }
}

/// `copy_listed` and `listed_descriptor` (they had no test in this crate). The blobs arrive with
/// their bytes from the tar (each blob's origin names the file and the
/// digest), the manifest is put by digest, and the descriptor returned
/// lists it with the config's platform (the index entry gives none).
#[test]
fn a_listed_copy_puts_the_blobs_then_the_manifest_by_digest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.tar");
    let manifest = source_tar(&path);
    let source = LayoutSource::Tar(path.clone());
    let report = read_source(&source).unwrap();
    let mut sink = Recorder::default();
    let descriptor = copy_listed(&source, &report, Some("v1"), &mut sink).unwrap();

    assert_eq!(
        descriptor.digest().to_string(),
        manifest.digest().to_string()
    );
    assert_eq!(descriptor.size(), manifest.size());
    assert_eq!(descriptor.media_type(), &MediaType::ImageManifest);
    let platform = descriptor.platform().as_ref().unwrap();
    assert_eq!(platform.os().to_string(), "wasip1");
    assert_eq!(platform.architecture().to_string(), "wasm");
    assert_eq!(sink.listed, [(manifest.digest(), MediaType::ImageManifest)]);
    assert_eq!(sink.blobs.len(), 2);
    assert_eq!(sink.blobs[1].0, LAYER);
    let layer = oci_digest::digest_bytes(LAYER);
    assert!(
        sink.blobs[1].1.contains(&path.display().to_string())
            && sink.blobs[1].1.contains(&layer.to_string()),
        "{}",
        sink.blobs[1].1
    );

    flip_layer_byte(&path);
    let report = read_source(&source).unwrap();
    let error = copy_listed(&source, &report, Some("v1"), &mut Recorder::default()).unwrap_err();
    assert!(
        matches!(&error, CopyError::Invalid { path: p, .. } if *p == path),
        "{error}"
    );
}

/// A copy out of a directory (none had a test in this crate). Its
/// blobs are whole files: one grown in place after the check is read one
/// byte past its size, so the sink sees it changed.
#[test]
fn an_image_copies_out_of_a_directory_and_a_grown_blob_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("src.tar");
    let manifest = source_tar(&tar);
    let layout = dir.path().join("layout");
    let mut layout_dir = oci_layout::LayoutDir::open(&layout).unwrap();
    let copied = copy_image(&LayoutSource::Tar(tar), None, &mut layout_dir, None).unwrap();
    layout_dir.finish().unwrap();
    assert_eq!(copied.manifest_digest, manifest.digest());

    let source = LayoutSource::Dir(layout.clone());
    let mut sink = Recorder::default();
    copy_listed(&source, &read_source(&source).unwrap(), None, &mut sink).unwrap();
    assert_eq!(sink.blobs[1].0, LAYER);

    let report = read_source(&source).unwrap();
    let layer = layout.join(oci_digest::digest_bytes(LAYER).blob_path());
    let mut grown = std::fs::read(&layer).unwrap();
    grown.push(b'!');
    std::fs::write(&layer, grown).unwrap();
    let mut sink = LayoutTar::new(Vec::new()).unwrap();
    let error = copy_checked(&source, report, None, &mut sink, None).unwrap_err();
    assert!(matches!(error, CopyError::Sink(_)), "{error}");
}

/// A manifest of exactly the documented 4 MiB (MAX_DOCUMENT_LEN) is read
/// and copied: the copy's own cap, at its limit.
#[test]
fn a_manifest_of_exactly_4_mib_copies() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("src.tar");
    let small = source_tar(&path);
    let mut bytes = small.bytes().to_vec();
    bytes.resize(4 * 1024 * 1024, b' ');
    let manifest = BytesBlob::new(bytes);
    let mut tar = LayoutTar::new(Vec::new()).unwrap();
    for blob in [
        BytesBlob::new(CONFIG.to_vec()),
        BytesBlob::new(LAYER.to_vec()),
    ] {
        tar.put_blob(&blob).unwrap();
    }
    let reference: Reference = "example.com/copy/app:v1".parse().unwrap();
    tar.put_manifest(&manifest, MediaType::ImageManifest, &reference, None)
        .unwrap();
    std::fs::write(&path, tar.finish().unwrap()).unwrap();

    let mut sink = LayoutTar::new(Vec::new()).unwrap();
    let copied = copy_image(&LayoutSource::Tar(path), None, &mut sink, None).unwrap();
    assert_eq!(copied.manifest_digest, manifest.digest());
}
