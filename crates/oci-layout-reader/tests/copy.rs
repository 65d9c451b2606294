//! `copy_image`: a checked source's image into another sink, with the
//! source refused when corrupt and caught when it changes after the check.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use oci_layout::{BlobSource, BytesBlob, ImageSink, LayoutTar, Reference};
use oci_layout_reader::{
    copy_checked, copy_image, read_layout, read_source, CopyError, LayoutSource,
};
use oci_spec::image::MediaType;

const LAYER: &[u8] = b"\0asm\x01\0\0\0 layer bytes to copy";

/// Writes a tar holding one image tagged `v1`; returns its manifest.
fn source_tar(path: &Path) -> BytesBlob {
    let config = BytesBlob::new(
        br#"{"architecture":"wasm","os":"wasip1","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec(),
    );
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
