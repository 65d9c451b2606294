//! Destinations: a tar file (written beside its path, renamed into place on
//! commit), a tar stream, nowhere, a layout directory, any sink; what each
//! finishes (`manifest.json`, `index.json`) and what it reports.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::io::Write;
use std::path::Path;
use std::rc::Rc;

use oci_layout::{BytesBlob, LayoutDir, Reference};
use serde_json::{json, Value};
use test_support::{sha256sum, tar_entries, tar_entry, tiny_module};
use wasm_artifact::{Destination, ImageShape, Timestamp, WasmImage, WrittenImage};

fn image(shape: ImageShape, seed: u32) -> WasmImage {
    let reference: Reference = "ghcr.io/example/app:v1".parse().unwrap();
    let mut image = WasmImage::new(reference, shape, Timestamp::UNIX_EPOCH);
    image.add_wasm(BytesBlob::new(tiny_module(seed))).unwrap();
    image
}

/// A writer whose bytes the test keeps.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Docker's `manifest.json` for one image, built here from the record.
fn docker_manifest(written: &WrittenImage) -> Value {
    json!([{
        "Config": written.config.blob_path(),
        "RepoTags": ["ghcr.io/example/app:v1"],
        "Layers": written.layers.iter().map(|d| d.blob_path()).collect::<Vec<_>>(),
    }])
}

/// The descriptor `complete` reports is the one of the `index.json` bytes
/// (digest by `sha256sum`, size, media type).
fn assert_index_descriptor(completed: &wasm_artifact::Completed, index_json: &[u8]) {
    assert_index_is(completed.index().unwrap(), index_json);
}

fn assert_index_is(index: &wasm_artifact::Descriptor, index_json: &[u8]) {
    assert_eq!(
        index.digest().to_string(),
        format!("sha256:{}", sha256sum(index_json))
    );
    assert_eq!(index.size(), index_json.len() as u64);
    assert_eq!(
        index.media_type().to_string(),
        "application/vnd.oci.image.index.v1+json"
    );
}

#[test]
fn a_tar_file_is_written_beside_its_path_and_put_in_place_on_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new/sub/app.tar");
    let mut destination = Destination::tar_file(&path).unwrap();
    // The folders it made, innermost first (the order to remove them in).
    assert_eq!(
        destination.created_folders(),
        [dir.path().join("new/sub"), dir.path().join("new")]
    );
    // Written beside its path under a temporary name, or (on Linux) with
    // no name at all: nothing in the folder shows it.
    let temp = destination.temp_path().map(Path::to_owned);
    let in_folder = || test_support::file_names(path.parent().unwrap());
    match &temp {
        Some(temp) => assert_eq!(temp.parent(), path.parent()),
        None => assert!(cfg!(target_os = "linux") && in_folder().is_empty()),
    }
    let written = destination
        .write(&image(ImageShape::WasmLayers, 1))
        .unwrap();
    let completed = destination.complete().unwrap();
    assert!(!path.exists(), "not in place before the commit");
    let index = completed.index().unwrap().clone();
    completed.commit().unwrap();
    assert_eq!(in_folder(), ["app.tar"]);
    let tar = std::fs::read(&path).unwrap();
    let index_json = tar_entry(&tar, "index.json");
    assert_index_is(&index, &index_json);
    let manifest_json: Value = serde_json::from_slice(&tar_entry(&tar, "manifest.json")).unwrap();
    assert_eq!(manifest_json, docker_manifest(&written));
    // The tar file holds what a tar stream of the same image holds.
    let stream = Shared::default();
    let mut destination = Destination::tar_stream(stream.clone()).unwrap();
    assert!(destination.temp_path().is_none());
    assert!(destination.created_folders().is_empty());
    destination
        .write(&image(ImageShape::WasmLayers, 1))
        .unwrap();
    let streamed = destination.complete().unwrap();
    let stream_tar = stream.0.borrow().clone();
    let names = |tar: &[u8]| -> Vec<(String, Vec<u8>)> {
        let mut entries = tar_entries(tar);
        entries.sort();
        entries
    };
    assert_eq!(names(&tar), names(&stream_tar));
    assert_eq!(tar_entry(&tar, "index.json"), index_json);
    assert_index_descriptor(&streamed, &index_json);
}

#[test]
fn nowhere_writes_nothing_but_reports_the_index() {
    let stream = Shared::default();
    let mut destination = Destination::tar_stream(stream.clone()).unwrap();
    destination.write(&image(ImageShape::Compat, 2)).unwrap();
    destination.finish().unwrap();
    let index_json = tar_entry(&stream.0.borrow(), "index.json");

    let mut nowhere = Destination::nowhere().unwrap();
    assert!(nowhere.temp_path().is_none());
    nowhere.write(&image(ImageShape::Compat, 2)).unwrap();
    let completed = nowhere.complete().unwrap();
    assert_index_descriptor(&completed, &index_json);
    completed.commit().unwrap();
}

#[test]
fn a_layout_directory_gets_index_json_and_no_manifest_json() {
    let dir = tempfile::tempdir().unwrap();
    let mut destination = Destination::oci_dir(dir.path()).unwrap();
    assert!(destination.temp_path().is_none());
    let written = destination.write(&image(ImageShape::Artifact, 3)).unwrap();
    let completed = destination.complete().unwrap();
    let index_json = std::fs::read(dir.path().join("index.json")).unwrap();
    assert_index_descriptor(&completed, &index_json);
    assert!(!dir.path().join("manifest.json").exists());
    let index: Value = serde_json::from_slice(&index_json).unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        written.manifest_digest.to_string()
    );
}

/// Any sink: the images go in, and there is no `index.json` to report.
#[test]
fn a_sink_reports_no_index() {
    let dir = tempfile::tempdir().unwrap();
    let mut destination = Destination::sink_of(Box::new(LayoutDir::open(dir.path()).unwrap()));
    let written = destination
        .write(&image(ImageShape::WasmLayers, 4))
        .unwrap();
    let completed = destination.complete().unwrap();
    assert!(completed.index().is_none());
    assert!(dir
        .path()
        .join("blobs/sha256")
        .join(written.manifest_digest.hex())
        .exists());
}

/// Docker's `manifest.json` lists one image of an index: the compat image
/// when there is one (what Docker and podman can run), else the first.
#[test]
fn an_index_lists_the_compat_image_in_manifest_json_else_the_first() {
    let mut artifact = image(ImageShape::Artifact, 5);
    artifact.set_platform("wasip1", "wasm32").unwrap();
    for (images, listed) in [
        (
            vec![
                image(ImageShape::WasmLayers, 5),
                image(ImageShape::Compat, 5),
            ],
            1,
        ),
        (vec![image(ImageShape::WasmLayers, 5), artifact], 0),
    ] {
        let stream = Shared::default();
        let mut destination = Destination::tar_stream(stream.clone()).unwrap();
        let written = destination.write_index(&images).unwrap();
        destination.finish().unwrap();
        let manifest_json: Value =
            serde_json::from_slice(&tar_entry(&stream.0.borrow(), "manifest.json")).unwrap();
        assert_eq!(manifest_json, docker_manifest(&written.images[listed]));
    }
}

#[test]
fn write_tar_file_and_write_oci_dir_finish_what_they_write() {
    let dir = tempfile::tempdir().unwrap();
    let image = image(ImageShape::WasmLayers, 6);
    let written = image.write_tar_file(dir.path().join("app.tar")).unwrap();
    let tar = std::fs::read(dir.path().join("app.tar")).unwrap();
    let manifest_json: Value = serde_json::from_slice(&tar_entry(&tar, "manifest.json")).unwrap();
    assert_eq!(manifest_json, docker_manifest(&written));
    let layout = dir.path().join("layout");
    let in_dir = image.write_oci_dir(&layout).unwrap();
    assert_eq!(in_dir, written);
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["digest"],
        written.manifest_digest.to_string()
    );
}
