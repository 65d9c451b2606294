//! `read_layout_dir` on good, corrupt and hostile layout directories: the
//! same checks and problems as a tar.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

mod common;

use std::path::Path;

use common::{entries_of, file, image, tar_of, Entry, Image};
use oci_digest::digest_bytes;
use oci_layout_reader::{
    read_layout, read_layout_dir, LayoutReport, Problem, ReadError, MAX_DOCUMENT_LEN,
};

/// A directory holding `entries` (regular files, parents created).
fn dir_of(entries: &[Entry]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in entries {
        assert_eq!(entry.kind, b'0', "only files are written: {}", entry.name);
        let path = dir.path().join(&entry.name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &entry.bytes).unwrap();
    }
    dir
}

/// The image's entries as skopeo's `oci:` writes them: no `manifest.json`.
fn oci_entries(image: &Image) -> Vec<Entry> {
    let mut entries = entries_of(image);
    entries.retain(|entry| entry.name != "manifest.json");
    entries
}

fn read(dir: &Path) -> LayoutReport {
    read_layout_dir(dir).unwrap()
}

#[test]
fn a_valid_directory_reads_as_its_tar_does() {
    let entries = entries_of(&image());
    let dir = dir_of(&entries);
    let report = read(dir.path());
    assert_eq!(report.problems, []);
    assert_eq!(report.blob_count, 3);
    assert_eq!(report, read_layout(&tar_of(&entries)[..]).unwrap());
}

#[test]
fn a_symlinked_blob_is_reported_and_not_followed() {
    let image = image();
    let dir = dir_of(&oci_entries(&image));
    let outside = tempfile::tempdir().unwrap();
    let layer = digest_bytes(&image.layer);
    // The link's target holds the right bytes: following it would pass.
    let target = outside.path().join("layer");
    std::fs::write(&target, &image.layer).unwrap();
    let link = dir.path().join(layer.blob_path());
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let problems = read(dir.path()).problems;
    assert!(
        matches!(&problems[0], Problem::UnsafeEntry { name, reason }
            if *name == layer.blob_path() && reason.contains("symbolic link")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| matches!(p, Problem::MissingBlob { digest, .. } if *digest == layer)),
        "{problems:?}"
    );
}

#[test]
fn a_symlinked_blob_directory_pointing_outside_is_not_followed() {
    let image = image();
    let dir = dir_of(&oci_entries(&image));
    let outside = tempfile::tempdir().unwrap();
    let sha256 = dir.path().join("blobs/sha256");
    std::fs::rename(&sha256, outside.path().join("sha256")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("sha256"), &sha256).unwrap();

    let report = read(dir.path());
    assert_eq!(report.blob_count, 0);
    assert!(
        matches!(&report.problems[0], Problem::UnsafeEntry { name, .. } if name == "blobs/sha256"),
        "{:?}",
        report.problems
    );
    let manifest = digest_bytes(&image.manifest);
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, Problem::MissingBlob { digest, .. } if *digest == manifest)));
}

#[test]
fn a_blob_name_that_is_not_a_digest_is_reported() {
    let mut entries = oci_entries(&image());
    entries.push(file("blobs/sha256/not-a-digest", b"x".to_vec()));
    let problems = read(dir_of(&entries).path()).problems;
    assert_eq!(
        problems,
        [Problem::InvalidBlobName {
            name: "blobs/sha256/not-a-digest".into()
        }]
    );
}

#[test]
fn a_corrupted_blob_names_that_blob() {
    let image = image();
    let dir = dir_of(&oci_entries(&image));
    let layer = digest_bytes(&image.layer);
    let mut corrupt = image.layer.clone();
    corrupt[4] ^= 0x01;
    std::fs::write(dir.path().join(layer.blob_path()), &corrupt).unwrap();
    assert_eq!(
        read(dir.path()).problems,
        [Problem::BlobDigestMismatch {
            digest: layer,
            found: digest_bytes(&corrupt),
        }]
    );
}

#[test]
fn a_missing_blob_is_reported() {
    let image = image();
    let dir = dir_of(&oci_entries(&image));
    let config = digest_bytes(&image.config);
    std::fs::remove_file(dir.path().join(config.blob_path())).unwrap();
    let problems = read(dir.path()).problems;
    assert!(
        matches!(&problems[..], [Problem::MissingBlob { digest, referenced_by }]
            if *digest == config && referenced_by.contains(&digest_bytes(&image.manifest).to_string())),
        "{problems:?}"
    );
}

#[test]
fn an_oversized_index_is_reported_from_its_size_not_read() {
    let dir = dir_of(&oci_entries(&image()));
    // A sparse terabyte: reading it whole would not finish.
    let size = 1 << 40;
    let index = std::fs::File::create(dir.path().join("index.json")).unwrap();
    index.set_len(size).unwrap();
    let problems = read(dir.path()).problems;
    assert_eq!(
        problems,
        [Problem::DocumentTooLarge {
            name: "index.json".into(),
            size,
            limit: MAX_DOCUMENT_LEN,
        }]
    );
}

#[test]
fn a_fifo_is_reported_and_never_opened() {
    let dir = dir_of(&oci_entries(&image()));
    let fifo = dir.path().join("index.json");
    std::fs::remove_file(&fifo).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    // Opening a FIFO for reading blocks until a writer comes: the test
    // finishing shows it was not opened.
    let problems = read(dir.path()).problems;
    assert_eq!(
        problems,
        [
            Problem::UnsafeEntry {
                name: "index.json".into(),
                reason: "a FIFO",
            },
            Problem::MissingIndex,
        ]
    );
}

#[test]
fn a_path_that_is_not_a_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let error = read_layout_dir(&missing).unwrap_err();
    assert!(
        matches!(&error, ReadError::Directory { path, .. } if *path == missing),
        "{error}"
    );
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        read_layout_dir(&file),
        Err(ReadError::Directory { .. })
    ));
}

#[test]
fn a_manifest_json_in_a_directory_is_checked_against_index_json() {
    let image = image();
    let mut entries = oci_entries(&image);
    let docker = String::from_utf8(image.docker.clone())
        .unwrap()
        .replace(common::NAME, "ghcr.io/example/other:v1");
    entries.push(file("manifest.json", docker));
    let problems = read(dir_of(&entries).path()).problems;
    assert!(
        matches!(&problems[..], [Problem::DockerTagMismatch { tag, .. }] if tag == "ghcr.io/example/other:v1"),
        "{problems:?}"
    );
}

/// No test had a directory of more entries than the limit: a listing cut
/// at the limit would leave the rest unseen and unreported. A root
/// directory of 100,001 entries (the documented 100,000 and one) is
/// reported as too many.
#[test]
fn a_directory_of_more_than_100_000_entries_is_reported() {
    const LIMIT: usize = 100_000; // the documented MAX_ENTRIES
                                  // In memory where there is a tmpfs: a hundred thousand files on disk
                                  // take tens of seconds to make and remove.
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let first = dir.path().join("e0");
    std::fs::File::create(&first).unwrap();
    for i in 1..=LIMIT {
        std::fs::hard_link(&first, dir.path().join(format!("e{i}"))).unwrap();
    }
    let problems = read(dir.path()).problems;
    assert!(
        problems.contains(&Problem::TooManyEntries { limit: LIMIT }),
        "{problems:?}"
    );
}
