//! `LayoutDir` through the `ImageSink` seam: blobs checked as they are
//! written, named only when whole, and the same bytes as `LayoutTar`.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

use std::io::Read;
use std::path::Path;

use oci_digest::{digest_bytes, Digest};
use oci_layout::{
    BlobInput, BlobSource, BytesBlob, FileInput, ImageSink, LayoutDir, LayoutError, LayoutTar,
    Reference,
};
use oci_spec::image::MediaType;

mod common;
use common::LyingSource;
use test_support::file_names as names;

/// Writes one file input, one known blob and one manifest through `sink`.
fn write_image(sink: &mut dyn ImageSink, file: &Path) -> Vec<Digest> {
    let input: BlobInput = FileInput::open(file).unwrap().into();
    let config: BlobInput = BytesBlob::new(br#"{"os":"wasip1"}"#.to_vec()).into();
    let digests = sink.put_inputs(&[&input, &config, &input]).unwrap();
    let manifest = BytesBlob::new(br#"{"schemaVersion":2}"#.to_vec());
    let reference: Reference = "localhost:5000/demo/app:v1".parse().unwrap();
    sink.put_manifest(&manifest, MediaType::ImageManifest, &reference, None)
        .unwrap();
    digests
}

#[test]
fn a_directory_and_a_tar_get_the_same_bytes_through_the_seam() {
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("app.wasm");
    std::fs::write(&file, b"\0asm\x01\0\0\0 a file input").unwrap();

    let layout = work.path().join("layout");
    let mut dir = LayoutDir::open(&layout).unwrap();
    let in_dir = write_image(&mut dir, &file);
    dir.finish().unwrap();
    let mut tar = LayoutTar::new(Vec::new()).unwrap();
    let in_tar = write_image(&mut tar, &file);
    let tar = tar.finish().unwrap();

    assert_eq!(in_dir, in_tar);
    assert_eq!(in_dir[0], in_dir[2], "one file, one digest");
    assert_eq!(
        in_dir[0],
        digest_bytes(&std::fs::read(&file).unwrap()),
        "the file's digest is of its bytes"
    );
    let mut archive = tar::Archive::new(&tar[..]);
    let mut entries = 0;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        assert!(
            std::fs::read(layout.join(&name)).unwrap() == bytes,
            "{name} differs"
        );
        entries += 1;
    }
    // oci-layout, three blobs (the file, the config, the manifest), index.json.
    assert_eq!(entries, 5);
    assert_eq!(names(&layout.join("blobs/sha256")).len(), 3);
    assert_eq!(
        names(&layout),
        ["blobs", "index.json", "index.json.lock", "oci-layout"]
    );
}

#[test]
fn a_source_that_lies_leaves_no_blob_and_no_temporary_file() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let cases = [
        ("shorter", digest_bytes(b"abcdef"), 6, b"abc".to_vec()),
        ("longer", digest_bytes(b"abc"), 3, b"abcdef".to_vec()),
        ("other bytes", digest_bytes(b"abc"), 3, b"xyz".to_vec()),
    ];
    for (case, announced_digest, announced_size, actual) in cases {
        let mut dir = LayoutDir::open(&layout).unwrap();
        let source = LyingSource {
            announced_digest,
            announced_size,
            actual,
        };
        let err = dir.put_blob(&source).unwrap_err();
        assert!(
            matches!(
                err,
                LayoutError::SizeMismatch { .. } | LayoutError::SourceChanged { .. }
            ),
            "{case}: {err}"
        );
        // After a failure the directory takes nothing more from this writer.
        let good = BytesBlob::new(b"good".to_vec());
        assert!(matches!(
            dir.put_blob(&good).unwrap_err(),
            LayoutError::Poisoned
        ));
        assert!(matches!(dir.finish().unwrap_err(), LayoutError::Poisoned));
        assert_eq!(names(&layout.join("blobs/sha256")), Vec::<String>::new());
        assert_eq!(
            names(&layout),
            ["blobs", "index.json.lock", "oci-layout"],
            "{case}"
        );
    }
}

#[test]
fn a_blob_already_there_is_not_rewritten_unless_its_size_is_wrong() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let blob = BytesBlob::new(b"some bytes".to_vec());
    let path = layout.join(blob.digest().blob_path());

    let mut dir = LayoutDir::open(&layout).unwrap();
    assert!(!dir.has_blob(&blob.digest(), blob.size()).unwrap());
    assert!(dir.put_blob(&blob).unwrap());
    assert!(dir.has_blob(&blob.digest(), blob.size()).unwrap());
    assert!(!dir.put_blob(&blob).unwrap(), "written twice");

    // A second writer finds it and does not write it again: the file keeps
    // its inode.
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(&path).unwrap().ino();
    let mut again = LayoutDir::open(&layout).unwrap();
    assert!(!again.put_blob(&blob).unwrap());
    assert_eq!(std::fs::metadata(&path).unwrap().ino(), inode);

    // A stored copy of another size is corrupt: reported, not replaced.
    std::fs::write(&path, b"some").unwrap();
    let mut third = LayoutDir::open(&layout).unwrap();
    match third.put_blob(&blob).unwrap_err() {
        LayoutError::ExistingBlobSize {
            digest,
            expected,
            found,
        } => {
            assert_eq!((digest, expected, found), (blob.digest(), 10, 4));
        }
        other => panic!("{other}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"some");
}

#[test]
fn a_pending_file_dropped_uncommitted_takes_the_folders_it_made_along() {
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(work.path().join("existing")).unwrap();
    let pending =
        oci_layout::PendingFile::create(work.path().join("existing/new/deeper/x.tar")).unwrap();
    assert_eq!(
        pending.created_folders(),
        [
            work.path().join("existing/new/deeper"),
            work.path().join("existing/new")
        ]
    );
    // Being written: under a temporary name, or (on Linux) no name at all.
    match pending.temp_path() {
        Some(temp) => assert!(temp.is_file()),
        None => assert_eq!(
            names(&work.path().join("existing/new/deeper")),
            Vec::<String>::new()
        ),
    }
    drop(pending);
    assert_eq!(names(&work.path().join("existing")), Vec::<String>::new());

    // Committed, the file and its folders stay.
    let pending = oci_layout::PendingFile::create(work.path().join("existing/kept/x.tar")).unwrap();
    pending.commit().unwrap();
    assert!(work.path().join("existing/kept/x.tar").is_file());
}

#[test]
fn a_listed_manifest_is_a_blob_and_only_the_named_one_is_in_index_json() {
    let work = tempfile::tempdir().unwrap();
    let listed = BytesBlob::new(br#"{"schemaVersion":2,"listed":true}"#.to_vec());
    let index = BytesBlob::new(br#"{"schemaVersion":2,"manifests":[]}"#.to_vec());
    let reference: Reference = "localhost:5000/demo/app:v1".parse().unwrap();
    let layout = work.path().join("layout");
    let mut dir = LayoutDir::open(&layout).unwrap();
    let mut tar = LayoutTar::new(Vec::new()).unwrap();
    for sink in [&mut dir as &mut dyn ImageSink, &mut tar] {
        sink.put_listed_manifest(&listed, MediaType::ImageManifest)
            .unwrap();
        sink.put_manifest(&index, MediaType::ImageIndex, &reference, None)
            .unwrap();
    }
    dir.finish().unwrap();
    let tar = tar.finish().unwrap();

    let blob = |digest: Digest| format!("blobs/sha256/{}", digest.hex());
    let listed_path = blob(digest_bytes(listed.bytes()));
    assert_eq!(
        std::fs::read(layout.join(&listed_path)).unwrap(),
        listed.bytes()
    );
    let mut in_tar = Vec::new();
    for entry in tar::Archive::new(&tar[..]).entries().unwrap() {
        in_tar.push(entry.unwrap().path().unwrap().display().to_string());
    }
    assert!(in_tar.contains(&listed_path), "{in_tar:?}");

    // index.json lists the index alone, named by the two annotations.
    let index_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let manifests = index_json["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 1, "{index_json}");
    assert_eq!(
        manifests[0]["digest"],
        digest_bytes(index.bytes()).to_string()
    );
    assert_eq!(
        manifests[0]["annotations"],
        serde_json::json!({
            "io.containerd.image.name": "localhost:5000/demo/app:v1",
            "org.opencontainers.image.ref.name": "v1",
        })
    );
}

#[test]
fn each_layout_says_how_often_it_reads_a_file_input() {
    let work = tempfile::tempdir().unwrap();
    // Named after writing: one read. A stream must name a blob before its
    // bytes: hashed first, then copied.
    let dir = LayoutDir::open(work.path().join("layout")).unwrap();
    assert_eq!(dir.reads_of_each_file(), 1);
    let seekable = LayoutTar::seekable(std::io::Cursor::new(Vec::new())).unwrap();
    assert_eq!(seekable.reads_of_each_file(), 1);
    let stream = LayoutTar::new(Vec::new()).unwrap();
    assert_eq!(stream.reads_of_each_file(), 2);
}

#[test]
fn each_layout_tells_its_progress_through_a_file_input_in_chunks_up_to_its_size() {
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("big.wasm");
    // Over the small-file size, so it is streamed in chunks.
    let bytes = test_support::pattern(3 * 1024 * 1024 + 5, 7);
    std::fs::write(&file, &bytes).unwrap();
    let mut tar = LayoutTar::seekable(std::io::Cursor::new(Vec::new())).unwrap();
    let mut dir = LayoutDir::open(work.path().join("layout")).unwrap();
    for (name, sink) in [
        ("tar", &mut tar as &mut dyn ImageSink),
        ("directory", &mut dir),
    ] {
        let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = told.clone();
        sink.on_progress(std::sync::Arc::new(move |origin: &str, done, total| {
            seen.lock().unwrap().push((origin.to_owned(), done, total));
        }));
        let input: BlobInput = FileInput::open(&file).unwrap().into();
        sink.put_inputs(&[&input]).unwrap();
        let told = told.lock().unwrap();
        let size = bytes.len() as u64;
        // Streamed in chunks (a file over 256 KiB is not read whole): told
        // after each, not once at the end.
        assert!(told.len() >= 3, "{name}: {told:?}");
        assert!(
            told.iter()
                .all(|(origin, _, total)| origin == &file.display().to_string() && *total == size),
            "{name}: {told:?}"
        );
        assert_eq!(told.last().unwrap().1, size, "{name}: {told:?}");
        assert!(
            told.windows(2).all(|w| w[0].1 <= w[1].1),
            "{name}: {told:?}"
        );
    }
}

/// Puts `manifest` as the image named `reference`; returns its digest.
fn put_named_manifest(dir: &mut LayoutDir, manifest: &[u8], reference: &str) -> Digest {
    let manifest = BytesBlob::new(manifest.to_vec());
    let reference: Reference = reference.parse().unwrap();
    dir.put_manifest(&manifest, MediaType::ImageManifest, &reference, None)
        .unwrap();
    digest_bytes(manifest.bytes())
}

#[test]
fn finish_replaces_the_entry_of_the_same_ref_name_and_keeps_every_other_entry_and_field() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    drop(LayoutDir::open(&layout).unwrap());
    let old = |tag: Option<&str>, byte: char| {
        let mut entry = serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{}", byte.to_string().repeat(64)),
            "size": 10,
        });
        if let Some(tag) = tag {
            entry["annotations"] = serde_json::json!({ "org.opencontainers.image.ref.name": tag });
        }
        entry
    };
    let existing = serde_json::json!({
        "schemaVersion": 2,
        "annotations": { "kept": "yes" },
        "manifests": [old(None, 'a'), old(Some("v1"), 'b'), old(Some("v2"), 'c')],
    });
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec_pretty(&existing).unwrap(),
    )
    .unwrap();

    let mut dir = LayoutDir::open(&layout).unwrap();
    let digest = put_named_manifest(&mut dir, br#"{"schemaVersion":2}"#, "demo/app:v1");
    let written = dir.finish().unwrap();
    assert_eq!(written, std::fs::read(layout.join("index.json")).unwrap());

    let index: serde_json::Value = serde_json::from_slice(&written).unwrap();
    let manifests = index["manifests"].as_array().unwrap();
    assert_eq!(manifests.len(), 3, "{index}");
    assert_eq!(manifests[0], old(None, 'a'), "the unnamed entry stays");
    assert_eq!(manifests[1], old(Some("v2"), 'c'), "another name stays");
    assert_eq!(manifests[2]["digest"], digest.to_string(), "v1 is replaced");
    assert_eq!(
        manifests[2]["annotations"]["org.opencontainers.image.ref.name"],
        "v1"
    );
    assert_eq!(index["annotations"], serde_json::json!({ "kept": "yes" }));
    assert_eq!(index["schemaVersion"], 2);
}

#[test]
fn an_existing_oci_layout_file_must_declare_version_1_0_0() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    for (marker, refused) in [
        (r#"{"imageLayoutVersion":"2.0.0"}"#, true),
        (r#"{"imageLayoutVersion":1}"#, true),
        (r#"{}"#, true),
        ("not json", true),
        ("{ \"imageLayoutVersion\" : \"1.0.0\" }\n", false),
    ] {
        std::fs::write(layout.join("oci-layout"), marker).unwrap();
        match LayoutDir::open(&layout) {
            Err(LayoutError::InvalidExisting { path, .. }) if refused => {
                assert!(path.ends_with("oci-layout"), "{marker}: {path}");
            }
            Ok(_) if !refused => {}
            Err(e) => panic!("{marker}: {e}"),
            Ok(_) => panic!("{marker}: accepted"),
        }
        // The marker is never rewritten.
        assert_eq!(
            std::fs::read_to_string(layout.join("oci-layout")).unwrap(),
            marker
        );
    }
}

#[test]
fn a_new_layout_gets_the_oci_layout_file() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    drop(LayoutDir::open(&layout).unwrap());
    assert_eq!(
        std::fs::read(layout.join("oci-layout")).unwrap(),
        br#"{"imageLayoutVersion":"1.0.0"}"#
    );
}

#[test]
fn links_in_place_of_layout_files_or_blobs_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("target");
    std::fs::write(&target, r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();

    // oci-layout as a link, read at open.
    let layout = work.path().join("linked-marker");
    std::fs::create_dir(&layout).unwrap();
    std::os::unix::fs::symlink(&target, layout.join("oci-layout")).unwrap();
    assert!(matches!(
        LayoutDir::open(&layout),
        Err(LayoutError::InvalidExisting { .. })
    ));

    // index.json as a link, read at finish.
    let layout = work.path().join("linked-index");
    drop(LayoutDir::open(&layout).unwrap());
    std::fs::write(&target, r#"{"schemaVersion":2,"manifests":[]}"#).unwrap();
    std::os::unix::fs::symlink(&target, layout.join("index.json")).unwrap();
    let mut dir = LayoutDir::open(&layout).unwrap();
    put_named_manifest(&mut dir, br#"{"schemaVersion":2}"#, "demo/app:v1");
    match dir.finish() {
        Err(LayoutError::InvalidExisting { path, .. }) => assert!(path.ends_with("index.json")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        std::fs::read(&target).unwrap(),
        br#"{"schemaVersion":2,"manifests":[]}"#
    );

    // A blob as a link to a file of the right size.
    let layout = work.path().join("linked-blob");
    let mut dir = LayoutDir::open(&layout).unwrap();
    let blob = BytesBlob::new(b"0123456789".to_vec());
    std::fs::write(&target, b"9876543210").unwrap();
    std::os::unix::fs::symlink(&target, layout.join(blob.digest().blob_path())).unwrap();
    assert!(matches!(
        dir.has_blob(&blob.digest(), 10),
        Err(LayoutError::InvalidExisting { .. })
    ));
}

#[test]
fn a_blob_looked_up_where_it_cannot_be_is_an_error_not_a_missing_blob() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    let mut dir = LayoutDir::open(&layout).unwrap();
    // blobs/sha256 turned into a file: looking up a blob in it fails with
    // "not a directory", not "not found".
    std::fs::remove_dir(layout.join("blobs/sha256")).unwrap();
    std::fs::write(layout.join("blobs/sha256"), b"").unwrap();
    let digest = digest_bytes(b"x");
    match dir.has_blob(&digest, 1) {
        Err(LayoutError::Destination { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::NotADirectory);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_existing_oci_layout_file_of_up_to_64_mib_is_read_and_one_byte_more_refused() {
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    let marker = br#"{"imageLayoutVersion":"1.0.0"}"#;
    let limit = 64 * 1024 * 1024;
    for (len, refused) in [(limit, false), (limit + 1, true)] {
        // Valid JSON of exactly `len` bytes: the marker, then spaces.
        let mut bytes = marker.to_vec();
        bytes.resize(len, b' ');
        std::fs::write(layout.join("oci-layout"), &bytes).unwrap();
        match LayoutDir::open(&layout) {
            Ok(_) if !refused => {}
            Err(LayoutError::InvalidExisting { reason, .. }) if refused => {
                assert_eq!(reason, "it is larger than 67108864 bytes");
            }
            Err(e) => panic!("{len} bytes: {e}"),
            Ok(_) => panic!("{len} bytes: accepted"),
        }
    }
}
