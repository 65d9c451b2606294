//! Behaviour of `LayoutTar` on good and bad blob sources.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

use std::borrow::Cow;
use std::io::{self, Read};

use oci_digest::{digest_bytes, Digest};
use oci_layout::{BlobSource, BytesBlob, FileBlob, ImageSink, LayoutError, LayoutTar};
use oci_spec::image::MediaType;

mod common;
use common::LyingSource;

/// A source that holds its bytes in memory, counting how often it is
/// opened (a writer given held bytes should not read them again).
struct HeldSource {
    announced_digest: Digest,
    announced_size: u64,
    held: Vec<u8>,
    opened: std::cell::Cell<u32>,
}

impl BlobSource for HeldSource {
    fn digest(&self) -> Digest {
        self.announced_digest
    }
    fn size(&self) -> u64 {
        self.announced_size
    }
    fn origin(&self) -> Cow<'_, str> {
        Cow::Borrowed("held source")
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        self.opened.set(self.opened.get() + 1);
        Ok(Box::new(&self.held[..]))
    }
    fn held_bytes(&self) -> Option<&[u8]> {
        Some(&self.held)
    }
}

fn entries(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

#[test]
fn a_blob_added_twice_is_stored_once() {
    let blob = BytesBlob::new(b"same bytes".to_vec());
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    assert!(layout.put_blob(&blob).unwrap());
    assert!(!layout.put_blob(&blob).unwrap());
    let tar = layout.finish().unwrap();
    let names: Vec<String> = entries(&tar).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "oci-layout".into(),
            blob.digest().blob_path(),
            "index.json".into()
        ]
    );
}

#[test]
fn every_entry_has_a_deterministic_header() {
    let blob = BytesBlob::new(b"x".to_vec());
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    layout.put_blob(&blob).unwrap();
    layout.write_file("manifest.json", b"[]").unwrap();
    let tar = layout.finish().unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let header = entry.header();
        assert_eq!(header.mtime().unwrap(), 0);
        assert_eq!(header.uid().unwrap(), 0);
        assert_eq!(header.gid().unwrap(), 0);
        assert_eq!(header.mode().unwrap(), 0o644);
        assert_eq!(header.username().unwrap(), Some(""));
        assert_eq!(header.groupname().unwrap(), Some(""));
        assert_eq!(header.entry_type(), tar::EntryType::Regular);
        assert!(!entry.path().unwrap().starts_with("./"));
    }
    // The archive ends with two zero blocks, after whole blocks.
    assert_eq!(tar.len() % 512, 0);
    assert!(tar[tar.len() - 1024..].iter().all(|&b| b == 0));
}

#[test]
fn the_oci_layout_file_is_exact() {
    let tar = LayoutTar::new(Vec::new()).unwrap().finish().unwrap();
    let files = entries(&tar);
    assert_eq!(
        files[0],
        (
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()
        )
    );
    assert_eq!(
        files[1],
        (
            "index.json".into(),
            br#"{"manifests":[],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}"#.to_vec()
        )
    );
}

/// Puts `source`, which announces 6 bytes and has 3: refused as such, the
/// tar poisoned. The error, for more checks.
fn assert_refused_as_three_of_six(source: &dyn BlobSource) -> LayoutError {
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    let err = layout.put_blob(source).unwrap_err();
    assert!(
        matches!(
            err,
            LayoutError::SizeMismatch {
                expected: 6,
                found: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(matches!(layout.finish(), Err(LayoutError::Poisoned)));
    err
}

#[test]
fn a_source_shorter_than_announced_is_an_error_not_a_corrupt_tar() {
    let err = assert_refused_as_three_of_six(&LyingSource {
        announced_digest: digest_bytes(b"abcdef"),
        announced_size: 6,
        actual: b"abc".to_vec(),
    });
    assert!(err
        .to_string()
        .starts_with("lying source: yielded 3 bytes where 6"));
}

#[test]
fn a_source_longer_than_announced_is_an_error() {
    let source = LyingSource {
        announced_digest: digest_bytes(b"abc"),
        announced_size: 3,
        actual: b"abcdef".to_vec(),
    };
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    let err = layout.put_blob(&source).unwrap_err();
    assert!(
        matches!(
            err,
            LayoutError::SizeMismatch {
                expected: 3,
                found: 4,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_source_with_other_bytes_is_an_error_naming_both_digests() {
    let source = LyingSource {
        announced_digest: digest_bytes(b"abc"),
        announced_size: 3,
        actual: b"xyz".to_vec(),
    };
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    match layout.put_blob(&source).unwrap_err() {
        LayoutError::SourceChanged {
            expected, found, ..
        } => {
            assert_eq!(expected, digest_bytes(b"abc"));
            assert_eq!(found, digest_bytes(b"xyz"));
        }
        other => panic!("unexpected error {other}"),
    }
    // Nothing more can be written after an error.
    let good = BytesBlob::new(b"fine".to_vec());
    assert!(matches!(layout.put_blob(&good), Err(LayoutError::Poisoned)));
}

#[test]
fn a_file_changed_after_hashing_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.wasm");
    std::fs::write(&path, b"original bytes").unwrap();
    let blob = FileBlob::hash(&path).unwrap();
    std::fs::write(&path, b"modified bytes").unwrap();
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    let err = layout.put_blob(&blob).unwrap_err();
    assert!(matches!(err, LayoutError::SourceChanged { .. }), "{err}");
    assert!(err.to_string().contains("app.wasm"));
}

#[test]
fn file_blob_refuses_directories_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let err = FileBlob::hash(dir.path()).unwrap_err();
    assert!(matches!(err, LayoutError::NotAFile { .. }), "{err}");
    let err = FileBlob::hash(dir.path().join("missing.wasm")).unwrap_err();
    assert!(matches!(err, LayoutError::ReadSource { .. }), "{err}");
    assert!(err.to_string().contains("missing.wasm"), "{err}");
}

#[test]
fn file_blob_streams_the_file_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let bytes: Vec<u8> = (0..1_000_003u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let blob = FileBlob::hash(&path).unwrap();
    assert_eq!(blob.digest(), digest_bytes(&bytes));
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    layout.put_blob(&blob).unwrap();
    let tar = layout.finish().unwrap();
    let files = entries(&tar);
    assert_eq!(files[1], (blob.digest().blob_path(), bytes));
}

#[test]
fn index_entries_must_name_written_blobs() {
    let blob = BytesBlob::new(b"{}".to_vec());
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    let err = layout
        .add_to_index(blob.descriptor(MediaType::ImageManifest))
        .unwrap_err();
    assert!(matches!(err, LayoutError::MissingBlob { .. }), "{err}");
}

#[test]
fn root_file_names_are_checked() {
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    for name in [
        "index.json",
        "oci-layout",
        "blobs",
        "a/b",
        "",
        "..",
        "../x",
        &"a".repeat(101),
    ] {
        let err = layout.write_file(name, b"").unwrap_err();
        assert!(
            matches!(err, LayoutError::InvalidFileName { .. }),
            "{name:?}: {err}"
        );
    }
    // 100 bytes fit a tar header's name field: the longest name allowed.
    layout.write_file(&"a".repeat(100), b"").unwrap();
    layout.write_file("manifest.json", b"[]").unwrap();
    let err = layout.write_file("manifest.json", b"[]").unwrap_err();
    assert!(err.to_string().contains("written already"), "{err}");
}

#[test]
fn held_bytes_go_into_the_tar_as_they_are_without_a_second_read() {
    // 1000 bytes: a block and a part, so the padding shows too.
    let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
    let hex = test_support::sha256sum(&bytes);
    let source = HeldSource {
        announced_digest: format!("sha256:{hex}").parse().unwrap(),
        announced_size: 1000,
        held: bytes.clone(),
        opened: Default::default(),
    };
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    assert!(layout.put_blob(&source).unwrap());
    let tar = layout.finish().unwrap();
    assert_eq!(
        source.opened.get(),
        0,
        "held bytes are not read through open"
    );
    let blob = entries(&tar)
        .into_iter()
        .find(|(name, _)| *name == format!("blobs/sha256/{hex}"))
        .unwrap();
    assert_eq!(blob.1, bytes);
    // oci-layout (1024 bytes with its header), the blob (512 + 1024),
    // index.json, and the end blocks: every entry padded to 512 bytes.
    assert_eq!(tar.len() % 512, 0);
    assert_eq!(&tar[1024 + 512 + 1000..1024 + 512 + 1024], &[0u8; 24]);
}

#[test]
fn held_bytes_of_another_size_than_announced_are_refused() {
    assert_refused_as_three_of_six(&HeldSource {
        announced_digest: digest_bytes(b"abcdef"),
        announced_size: 6,
        held: b"abc".to_vec(),
        opened: Default::default(),
    });
}

#[test]
fn a_bytes_blob_offers_its_bytes_as_held_and_a_file_blob_does_not() {
    let blob = BytesBlob::new(b"in memory".to_vec());
    assert_eq!(blob.held_bytes(), Some(&b"in memory"[..]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blob");
    std::fs::write(&path, b"on disk").unwrap();
    assert_eq!(FileBlob::hash(&path).unwrap().held_bytes(), None);
}

#[test]
fn a_held_blob_is_told_to_progress_once_whole_and_an_empty_one_not_at_all() {
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    let record = std::sync::Arc::clone(&told);
    layout.on_progress(std::sync::Arc::new(move |origin: &str, done, total| {
        record
            .lock()
            .unwrap()
            .push((origin.to_owned(), done, total));
    }));
    let blob = BytesBlob::new(vec![5; 3000]);
    layout.put_blob(&blob).unwrap();
    layout.put_blob(&BytesBlob::new(Vec::new())).unwrap();
    let told = told.lock().unwrap().clone();
    assert_eq!(
        told,
        [(format!("in-memory blob {}", blob.digest()), 3000, 3000)]
    );
}
