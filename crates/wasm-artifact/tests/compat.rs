//! The compat image and several shapes in one index, through the library:
//! a long file name in the layer, an input that changes before its layer is
//! made, manifests already in the sink listed after the images, and the
//! checks an index makes before it writes anything.
#![allow(clippy::unwrap_used)]

use std::io::Read;

use oci_layout::{BytesBlob, LayoutTar, Reference};
use serde_json::Value;
use test_support::{tar_entries, tar_entry, tiny_module};
use wasm_artifact::{
    write_index_to, ArtifactError, ImageShape, LayerCompression, Timestamp, WasmImage,
};

fn image(reference: &str, shape: ImageShape, wasm: Vec<u8>) -> WasmImage {
    let mut image = WasmImage::new(reference.parse().unwrap(), shape, Timestamp::UNIX_EPOCH);
    image.add_wasm(BytesBlob::new(wasm)).unwrap();
    image
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn blob(tar: &[u8], digest: &Value) -> Vec<u8> {
    let digest: oci_digest::Digest = digest.as_str().unwrap().parse().unwrap();
    tar_entry(tar, &digest.blob_path())
}

/// A name past the 100 bytes of a tar header's name field gets a GNU
/// long-name entry; the file is still `<name>.wasm`, mode 0755.
#[test]
fn a_long_name_is_the_file_name_in_the_layer() {
    let name = "n".repeat(120);
    let reference: Reference = format!("example.com/{name}:v1").parse().unwrap();
    let wasm = tiny_module(5);
    for compression in [LayerCompression::Gzip, LayerCompression::None] {
        let mut compat = image(&reference.to_string(), ImageShape::Compat, wasm.clone());
        compat.set_compression(compression);
        let mut layout = LayoutTar::new(Vec::new()).unwrap();
        let written = compat.write_to(&mut layout).unwrap();
        let tar = layout.finish().unwrap();
        let manifest = json(&tar_entry(&tar, &written.manifest_digest.blob_path()));
        let layer = blob(&tar, &manifest["layers"][0]["digest"]);
        let uncompressed = match compression {
            LayerCompression::Gzip => {
                let mut bytes = Vec::new();
                flate2::read::GzDecoder::new(&layer[..])
                    .read_to_end(&mut bytes)
                    .unwrap();
                bytes
            }
            _ => layer,
        };
        assert_eq!(written.diff_ids, [oci_digest::digest_bytes(&uncompressed)]);
        let mut archive = tar::Archive::new(&uncompressed[..]);
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(
            entry.path().unwrap().to_str().unwrap(),
            format!("{name}.wasm")
        );
        assert_eq!(entry.header().mode().unwrap(), 0o755);
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes, wasm);
        assert!(entries.next().is_none());
        let config = json(&blob(&tar, &manifest["config"]["digest"]));
        assert_eq!(
            config["config"]["Entrypoint"],
            serde_json::json!([format!("/{name}.wasm")])
        );
    }
}

/// Refused before anything is written: two images of one platform (naming
/// both shapes), images under two references, a compat image of two wasm.
#[test]
fn an_index_is_checked_before_it_is_written() {
    let layers = image("app:v1", ImageShape::WasmLayers, tiny_module(1));
    let artifact = image("app:v1", ImageShape::Artifact, tiny_module(1));
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    match write_index_to(&[layers, artifact], &mut layout) {
        Err(ArtifactError::SamePlatform {
            platform,
            first,
            second,
        }) => {
            assert_eq!(platform, "wasip1/wasm");
            assert_eq!(
                (first, second),
                (ImageShape::WasmLayers, ImageShape::Artifact)
            );
        }
        other => panic!("{other:?}"),
    }
    let error = write_index_to(
        &[
            image("app:v1", ImageShape::WasmLayers, tiny_module(1)),
            image("other:v1", ImageShape::Compat, tiny_module(1)),
        ],
        &mut layout,
    )
    .unwrap_err();
    assert!(
        matches!(error, ArtifactError::IndexReferences { .. }),
        "{error}"
    );
    let mut two = image("app:v1", ImageShape::Compat, tiny_module(1));
    two.add_wasm(BytesBlob::new(tiny_module(2))).unwrap();
    assert!(matches!(
        two.check(),
        Err(ArtifactError::CompatTakesOneWasm { count: 2 })
    ));
    // Nothing was written: only the oci-layout file and index.json.
    let names: Vec<String> = tar_entries(&layout.finish().unwrap())
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, ["oci-layout", "index.json"]);
}

/// With `--platform`-like overrides, shapes that would collide can sit in
/// one index; the index lists each manifest with its platform, in order.
#[test]
fn an_index_lists_each_image_with_its_platform() {
    let layers = image("app:v1", ImageShape::WasmLayers, tiny_module(1));
    let mut artifact = image("app:v1", ImageShape::Artifact, tiny_module(1));
    artifact.set_platform("wasip1", "wasm32").unwrap();
    let compat = image("app:v1", ImageShape::Compat, tiny_module(1));
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    let written = write_index_to(&[layers, artifact, compat], &mut layout).unwrap();
    let tar = layout.finish().unwrap();
    let index = json(&tar_entry(&tar, &written.index_digest.blob_path()));
    let platforms: Vec<String> = test_support::index_platforms(&index);
    assert_eq!(platforms, ["wasip1/wasm", "wasip1/wasm32", "wasi/wasm"]);
    let top = json(&tar_entry(&tar, "index.json"));
    assert_eq!(top["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(
        top["manifests"][0]["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
}

/// A wasm input whose bytes are the described ones at the first read and
/// then `changed` (the second read makes the compat layer).
struct ChangingSource {
    wasm: Vec<u8>,
    changed: Vec<u8>,
    opened: std::cell::Cell<u32>,
}

impl oci_layout::BlobSource for ChangingSource {
    fn digest(&self) -> oci_digest::Digest {
        oci_digest::digest_bytes(&self.wasm)
    }
    fn size(&self) -> u64 {
        self.wasm.len() as u64
    }
    fn origin(&self) -> std::borrow::Cow<'_, str> {
        "changing.wasm".into()
    }
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>> {
        let opened = self.opened.get();
        self.opened.set(opened + 1);
        Ok(Box::new(if opened == 0 {
            &self.wasm[..]
        } else {
            &self.changed[..]
        }))
    }
}

/// The compat layer holds the bytes that were described or nothing: an
/// input that comes back shorter, longer or with other bytes of the same
/// length is refused, naming it.
#[test]
fn a_wasm_input_that_changes_before_the_layer_is_made_is_refused() {
    let wasm = tiny_module(7);
    let mut longer = wasm.clone();
    longer.push(0);
    let mut other = wasm.clone();
    *other.last_mut().unwrap() ^= 1;
    for (changed, says) in [
        (wasm[..wasm.len() - 1].to_vec(), "bytes, then "),
        (longer, "then more than"),
        (other, "hash to"),
    ] {
        let compat = compat_reading(&wasm, changed);
        let mut layout = LayoutTar::new(Vec::new()).unwrap();
        match compat.write_to(&mut layout) {
            Err(error @ ArtifactError::CompatLayer { .. }) => {
                let message = error.to_string();
                assert!(message.contains("changing.wasm"), "{message}");
                assert!(message.contains(says), "{says}: {message}");
            }
            other => panic!("{says}: {other:?}"),
        }
    }
    // Unchanged, the same source makes the image.
    compat_reading(&wasm, wasm.clone())
        .write_to(&mut LayoutTar::new(Vec::new()).unwrap())
        .unwrap();
}

/// A compat image of a source that gives `wasm` when described and
/// `changed` when read again to make the layer.
fn compat_reading(wasm: &[u8], changed: Vec<u8>) -> WasmImage {
    let mut compat = WasmImage::new(
        "app:v1".parse().unwrap(),
        ImageShape::Compat,
        Timestamp::UNIX_EPOCH,
    );
    compat
        .add_wasm(ChangingSource {
            wasm: wasm.to_vec(),
            changed,
            opened: std::cell::Cell::new(0),
        })
        .unwrap();
    compat
}

/// A descriptor of a manifest already put in `layout`, with `platform`.
fn listed(
    layout: &mut LayoutTar<Vec<u8>>,
    seed: u8,
    platform: Option<(&str, &str)>,
) -> wasm_artifact::Descriptor {
    use oci_layout::{BlobSource, ImageSink};
    let manifest = BytesBlob::new(format!("{{\"listed\":{seed}}}").into_bytes());
    layout
        .put_listed_manifest(&manifest, oci_spec::image::MediaType::ImageManifest)
        .unwrap();
    let mut descriptor = manifest.descriptor(oci_spec::image::MediaType::ImageManifest);
    descriptor.set_platform(platform.map(|(os, architecture)| {
        oci_spec::image::PlatformBuilder::default()
            .os(os)
            .architecture(architecture)
            .build()
            .unwrap()
    }));
    descriptor
}

/// Manifests already in the sink join the index after the images, with
/// their platforms; the index descriptor returned is the index's own.
#[test]
fn listed_manifests_follow_the_images_in_the_index() {
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    let amd64 = listed(&mut layout, 1, Some(("linux", "amd64")));
    let arm64 = listed(&mut layout, 2, Some(("linux", "arm64")));
    let images = [image("app:v1", ImageShape::WasmLayers, tiny_module(3))];
    let written =
        wasm_artifact::write_index_with(&images, &[amd64.clone(), arm64.clone()], &mut layout)
            .unwrap();
    let tar = layout.finish().unwrap();
    let index_bytes = tar_entry(&tar, &written.index_digest.blob_path());
    assert_eq!(
        written.index_digest.to_string(),
        format!("sha256:{}", test_support::sha256sum(&index_bytes))
    );
    let index = json(&index_bytes);
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        test_support::index_platforms(&index),
        ["wasip1/wasm", "linux/amd64", "linux/arm64"]
    );
    assert_eq!(
        index["manifests"][0]["digest"],
        written.images[0].manifest_digest.to_string()
    );
    assert_eq!(index["manifests"][1]["digest"], amd64.digest().to_string());
    assert_eq!(index["manifests"][2]["digest"], arm64.digest().to_string());
    assert_eq!(written.images.len(), 1);
    assert_eq!(written.reference.to_string(), "app:v1");
    let top = json(&tar_entry(&tar, "index.json"));
    assert_eq!(
        top["manifests"][0]["digest"],
        written.index.digest().to_string()
    );
    assert_eq!(
        top["manifests"][0]["digest"],
        written.index_digest.to_string()
    );
    assert!(top["manifests"][0].get("platform").is_none());
}

/// A listed manifest needs a platform no other entry has; an empty list of
/// images is refused.
#[test]
fn listed_manifests_are_checked() {
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    let images = [image("app:v1", ImageShape::WasmLayers, tiny_module(4))];
    let without = listed(&mut layout, 1, None);
    assert!(matches!(
        wasm_artifact::check_index_with(&images, &[without]),
        Err(ArtifactError::ListedWithoutPlatform { .. })
    ));
    let same_as_image = listed(&mut layout, 2, Some(("wasip1", "wasm")));
    match wasm_artifact::check_index_with(&images, &[same_as_image]) {
        Err(ArtifactError::PlatformTaken { platform, by, .. }) => {
            assert_eq!(platform, "wasip1/wasm");
            assert_eq!(by, Some(ImageShape::WasmLayers));
        }
        other => panic!("{other:?}"),
    }
    let linux = listed(&mut layout, 3, Some(("linux", "amd64")));
    let linux_again = listed(&mut layout, 4, Some(("linux", "amd64")));
    match wasm_artifact::check_index_with(&images, &[linux.clone(), linux_again]) {
        Err(ArtifactError::PlatformTaken { platform, by, .. }) => {
            assert_eq!(platform, "linux/amd64");
            assert_eq!(by, None);
        }
        other => panic!("{other:?}"),
    }
    // Another OS on the same architecture, or the reverse, is another platform.
    let wasi = listed(&mut layout, 5, Some(("wasi", "wasm")));
    let arm = listed(&mut layout, 6, Some(("linux", "arm64")));
    assert_eq!(
        wasm_artifact::check_index_with(&images, &[linux, wasi, arm])
            .unwrap()
            .to_string(),
        "app:v1"
    );
    assert!(matches!(
        wasm_artifact::check_index(&[]),
        Err(ArtifactError::NoWasm)
    ));
    assert_eq!(
        wasm_artifact::check_index(&images).unwrap().to_string(),
        "app:v1"
    );
}

/// The compat layer is named after its wasm input where blobs are named
/// (the progress of a write, errors).
#[test]
fn the_compat_layer_is_named_after_its_input() {
    use oci_layout::ImageSink;
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.wasm");
    std::fs::write(&path, tiny_module(8)).unwrap();
    let mut compat = WasmImage::new(
        "app:v1".parse().unwrap(),
        ImageShape::Compat,
        Timestamp::UNIX_EPOCH,
    );
    compat
        .add_wasm(oci_layout::FileBlob::hash(&path).unwrap())
        .unwrap();
    let names = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&names);
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    layout.on_progress(Arc::new(move |name: &str, _, _| {
        seen.lock().unwrap().push(name.to_owned());
    }));
    compat.write_to(&mut layout).unwrap();
    let expected = format!("the compat layer of {}", path.display());
    assert!(
        names.lock().unwrap().contains(&expected),
        "{expected} not in {:?}",
        names.lock().unwrap()
    );
}
