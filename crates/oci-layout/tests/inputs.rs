//! `FileInput`s: written in one read into a seekable output, or hashed first
//! (several at once) into a stream. Every path gives the plain path's bytes.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

use std::fs::File;
use std::io::{BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use oci_digest::{digest_bytes, PIPELINE_THRESHOLD};
use oci_layout::{
    BlobInput, BlobSource, BytesBlob, FileBlob, FileInput, Folder, ImageSink, LayoutError,
    LayoutTar, SMALL_FILE,
};
use test_support::{pattern, tar_entries};

/// The plain path: each file hashed up front (`FileBlob`), then streamed
/// and re-hashed into a `Vec`.
fn plain(paths: &[PathBuf], extra: &BytesBlob) -> Vec<u8> {
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    for path in paths {
        layout.put_blob(&FileBlob::hash(path).unwrap()).unwrap();
    }
    layout.put_blob(extra).unwrap();
    layout.write_file("manifest.json", b"[]").unwrap();
    layout.finish().unwrap()
}

/// The fast paths: the same calls with unhashed `FileInput`s.
fn with_inputs<W: Write>(mut layout: LayoutTar<W>, paths: &[PathBuf], extra: &BytesBlob) -> W {
    let mut inputs: Vec<BlobInput> = paths
        .iter()
        .map(|path| FileInput::open(path).unwrap().into())
        .collect();
    inputs.push(extra.clone().into());
    let refs: Vec<&BlobInput> = inputs.iter().collect();
    let digests = layout.put_inputs(&refs).unwrap();
    for (path, digest) in paths.iter().zip(&digests) {
        assert_eq!(*digest, digest_bytes(&std::fs::read(path).unwrap()));
    }
    layout.write_file("manifest.json", b"[]").unwrap();
    layout.finish().unwrap()
}

fn write_files(dir: &Path, contents: &[Vec<u8>]) -> Vec<PathBuf> {
    contents
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let path = dir.join(format!("input-{i}.wasm"));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

/// Every blob entry's bytes hash to its name.
fn assert_blobs_hash_to_their_names(tar: &[u8]) {
    for (name, bytes) in tar_entries(tar) {
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            assert_eq!(digest_bytes(&bytes).hex(), hex, "{name}");
        }
    }
}

#[test]
fn every_fast_path_gives_the_plain_paths_bytes() {
    let big = PIPELINE_THRESHOLD as usize;
    let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("one small", vec![pattern(100 * 1024, 1)]),
        ("one large", vec![pattern(big + 513, 2)]),
        ("empty", vec![Vec::new()]),
        (
            "several layers",
            vec![
                pattern(big, 3),
                pattern(10, 4),
                pattern(big / 2 + 1, 5),
                pattern(big * 2, 6),
            ],
        ),
        (
            "duplicates",
            vec![
                pattern(big + 1, 7),
                pattern(700, 8),
                pattern(big + 1, 7),
                pattern(700, 8),
            ],
        ),
        (
            // Read whole into memory up to SMALL_FILE, streamed past it.
            "on both sides of the small-file limit, with duplicates",
            vec![
                pattern(SMALL_FILE as usize, 10),
                pattern(SMALL_FILE as usize + 1, 11),
                pattern(SMALL_FILE as usize, 10),
                pattern(SMALL_FILE as usize - 1, 12),
                pattern(SMALL_FILE as usize + 1, 11),
            ],
        ),
        (
            "a file duplicating the in-memory blob, last",
            vec![pattern(300, 9), b"{\"extra\":true}".to_vec()],
        ),
    ];
    let extra = BytesBlob::new(b"{\"extra\":true}".to_vec());
    for (name, contents) in cases {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_files(dir.path(), &contents);
        let expected = plain(&paths, &extra);
        assert_blobs_hash_to_their_names(&expected);

        let streamed = with_inputs(LayoutTar::new(Vec::new()).unwrap(), &paths, &extra);
        assert!(streamed == expected, "{name}: streamed into a Vec");

        let cursor = with_inputs(
            LayoutTar::seekable(Cursor::new(Vec::new())).unwrap(),
            &paths,
            &extra,
        );
        assert!(
            cursor.into_inner() == expected,
            "{name}: one read into a Cursor"
        );

        let out_path = dir.path().join("out.tar");
        let file = BufWriter::new(File::create(&out_path).unwrap());
        let file = with_inputs(LayoutTar::seekable(file).unwrap(), &paths, &extra);
        drop(file);
        assert!(
            std::fs::read(&out_path).unwrap() == expected,
            "{name}: one read into a file"
        );
    }
}

#[test]
fn a_file_input_given_twice_is_stored_once_and_never_read_by_two_threads_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // Large enough that a stream hashes its files on several threads.
    let paths = write_files(dir.path(), &[pattern(PIPELINE_THRESHOLD as usize * 2, 1)]);
    for seekable in [true, false] {
        let input: BlobInput = FileInput::open(&paths[0]).unwrap().into();
        let (digests, tar) = if seekable {
            let mut layout = LayoutTar::seekable(Cursor::new(Vec::new())).unwrap();
            let digests = layout.put_inputs(&[&input, &input]).unwrap();
            (digests, layout.finish().unwrap().into_inner())
        } else {
            let mut layout = LayoutTar::new(Vec::new()).unwrap();
            let digests = layout.put_inputs(&[&input, &input]).unwrap();
            (digests, layout.finish().unwrap())
        };
        assert_eq!(digests[0], digests[1], "seekable {seekable}");
        assert_eq!(digests[0], digest_bytes(&std::fs::read(&paths[0]).unwrap()));
        let names: Vec<String> = tar_entries(&tar).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "oci-layout".to_string(),
                digests[0].blob_path(),
                "index.json".into()
            ],
            "seekable {seekable}"
        );
    }
}

#[test]
fn a_seekable_output_may_hold_bytes_before_the_tar() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[pattern(3000, 1), pattern(3000, 1)]);
    let extra = BytesBlob::new(b"{}".to_vec());
    let expected = plain(&paths, &extra);
    let mut before = Cursor::new(b"prefix".to_vec());
    before.seek(SeekFrom::End(0)).unwrap();
    let out = with_inputs(LayoutTar::seekable(before).unwrap(), &paths, &extra);
    let out = out.into_inner();
    assert!(out.starts_with(b"prefix"));
    assert!(out[6..] == expected[..]);
}

/// Rewrites the file in place with other bytes of the same length.
fn overwrite_in_place(path: &Path) {
    let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let len = file.metadata().unwrap().len() as usize;
    file.seek(SeekFrom::Start(0)).unwrap();
    file.write_all(&pattern(len, 99)).unwrap();
}

#[test]
fn a_file_rewritten_after_it_was_opened_is_an_error_in_one_read() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[pattern(PIPELINE_THRESHOLD as usize + 5, 1)]);
    let input: BlobInput = FileInput::open(&paths[0]).unwrap().into();
    std::thread::sleep(std::time::Duration::from_millis(20));
    overwrite_in_place(&paths[0]);
    let mut layout = LayoutTar::seekable(Cursor::new(Vec::new())).unwrap();
    let err = layout.put_inputs(&[&input]).unwrap_err();
    assert!(matches!(err, LayoutError::FileChanged { .. }), "{err}");
    assert!(err.to_string().contains("input-0.wasm"), "{err}");
    assert!(matches!(layout.finish(), Err(LayoutError::Poisoned)));
}

#[test]
fn a_file_rewritten_between_hash_and_copy_is_an_error_in_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[pattern(2 * PIPELINE_THRESHOLD as usize, 1)]);
    let input: BlobInput = FileInput::open(&paths[0]).unwrap().into();
    // A first layout hashes it (digest and checksum kept in the input)...
    let mut first = LayoutTar::new(Vec::new()).unwrap();
    first.put_inputs(&[&input]).unwrap();
    // ...then it changes before a second layout copies it without re-hashing.
    std::thread::sleep(std::time::Duration::from_millis(20));
    overwrite_in_place(&paths[0]);
    let mut second = LayoutTar::new(Vec::new()).unwrap();
    let err = second.put_inputs(&[&input]).unwrap_err();
    assert!(matches!(err, LayoutError::FileChanged { .. }), "{err}");
}

/// Opens a 10,000-byte file as an input, runs `change` on its path, then
/// writes it into a seekable and a streamed tar: each must fail with
/// `FileChanged` saying `what` (each read opens the file again and compares
/// it with the file first opened).
fn changed_after_opening_is_caught(change: impl Fn(&Path), what: &str) {
    for seekable in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let paths = write_files(dir.path(), &[pattern(10_000, 1)]);
        let input: BlobInput = FileInput::open(&paths[0]).unwrap().into();
        change(&paths[0]);
        let err = if seekable {
            let mut layout = LayoutTar::seekable(Cursor::new(Vec::new())).unwrap();
            layout.put_inputs(&[&input]).unwrap_err()
        } else {
            let mut layout = LayoutTar::new(Vec::new()).unwrap();
            layout.put_inputs(&[&input]).unwrap_err()
        };
        assert!(
            matches!(&err, LayoutError::FileChanged { what: found, .. } if *found == what),
            "seekable {seekable}: {err:?}"
        );
    }
}

#[test]
fn a_file_truncated_after_it_was_opened_is_caught_before_it_is_read() {
    changed_after_opening_is_caught(
        |path| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .unwrap()
                .set_len(4_000)
                .unwrap();
        },
        "its size changed",
    );
}

#[test]
fn a_path_given_to_another_file_after_it_was_opened_is_not_read() {
    changed_after_opening_is_caught(
        |path| {
            // The same bytes, in a new file renamed over the old one.
            let other = path.with_file_name("other");
            std::fs::write(&other, pattern(10_000, 1)).unwrap();
            std::fs::rename(&other, path).unwrap();
        },
        "another file took its name",
    );
}

#[test]
fn file_input_refuses_directories_and_reads_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let err = FileInput::open(dir.path()).unwrap_err();
    assert!(matches!(err, LayoutError::NotAFile { .. }), "{err}");
    let paths = write_files(dir.path(), &[b"\0asm\x01\0\0\0rest".to_vec()]);
    let input: BlobInput = FileInput::open(&paths[0]).unwrap().into();
    for _ in 0..2 {
        let mut start = [0u8; 8];
        input.open().unwrap().read_exact(&mut start).unwrap();
        assert_eq!(&start, b"\0asm\x01\0\0\0");
    }
    assert_eq!(input.size(), 12);
}

/// `FileInput::open_reading_small`: a small file's bytes with it (the same
/// as reading the file), none for a larger one; what is not a regular file
/// refused as `open` refuses it; the bytes hashed into a blob the input
/// remembers, a blob of the wrong size refused.
#[test]
fn a_small_file_is_opened_and_read_in_one_go() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.wasm");
    let limit = dir.path().join("limit.wasm");
    let large = dir.path().join("large.wasm");
    std::fs::write(&small, pattern(5000, 1)).unwrap();
    std::fs::write(&limit, pattern(SMALL_FILE as usize, 2)).unwrap();
    std::fs::write(&large, pattern(SMALL_FILE as usize + 1, 3)).unwrap();

    for path in [&small, &limit] {
        let (input, bytes) = FileInput::open_reading_small(path).unwrap();
        let bytes = bytes.unwrap();
        assert_eq!(bytes, std::fs::read(path).unwrap());
        assert_eq!(input.size(), bytes.len() as u64);
        assert_eq!(input.digest(), None, "not hashed until asked");
        let blob = input.hashed_blob(bytes).unwrap();
        let expected = format!("sha256:{}", test_support::sha256sum(blob.bytes()));
        assert_eq!(blob.digest().to_string(), expected);
        assert_eq!(
            input.digest(),
            Some(blob.digest()),
            "the input remembers it"
        );
    }
    let (input, bytes) = FileInput::open_reading_small(&large).unwrap();
    assert_eq!(bytes, None);
    assert_eq!(input.size(), SMALL_FILE + 1);

    let (input, _) = FileInput::open_reading_small(&small).unwrap();
    let error = input.hashed_blob(vec![0; 10]).unwrap_err();
    assert!(
        matches!(
            error,
            LayoutError::SizeMismatch {
                expected: 5000,
                found: 10,
                ..
            }
        ),
        "{error}"
    );

    let error = FileInput::open_reading_small(dir.path()).unwrap_err();
    assert!(matches!(error, LayoutError::NotAFile { .. }), "{error}");
    let missing = FileInput::open_reading_small(dir.path().join("missing.wasm")).unwrap_err();
    assert!(
        matches!(&missing, LayoutError::ReadSource { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{missing}"
    );
    #[cfg(unix)]
    {
        let fifo = dir.path().join("fifo.wasm");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo failed");
        // Opened without blocking (no writer), then refused.
        let error = FileInput::open_reading_small(&fifo).unwrap_err();
        assert!(matches!(error, LayoutError::NotAFile { .. }), "{error}");
        // A socket cannot be opened at all (ENXIO): said to be no file too.
        let socket = dir.path().join("socket.wasm");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let error = FileInput::open_reading_small(&socket).unwrap_err();
        assert!(matches!(error, LayoutError::NotAFile { .. }), "{error}");
    }
}

/// A file of an open folder is found by its name from the folder: the
/// same input and bytes as by its path, the same refusals naming its path,
/// and a path in another folder opened by its path; the folder is the one
/// opened even once its path names another.
#[test]
fn a_file_opened_from_its_folder_is_the_file_its_path_names() {
    let dir = tempfile::tempdir().unwrap();
    let folder_path = dir.path().join("wasm");
    std::fs::create_dir(&folder_path).unwrap();
    let contents = [pattern(5000, 1), pattern(SMALL_FILE as usize + 1, 2)];
    let paths = write_files(&folder_path, &contents);
    let folder = Folder::open(&folder_path).unwrap();
    assert_eq!(folder.path(), folder_path);
    for path in &paths {
        let (by_name, bytes) = FileInput::open_reading_small_in(&folder, path).unwrap();
        let (by_path, expected) = FileInput::open_reading_small(path).unwrap();
        assert_eq!(by_name.path(), path.as_path());
        assert_eq!(by_name.size(), by_path.size());
        assert!(bytes == expected);
    }
    let missing = folder_path.join("missing.wasm");
    let error = FileInput::open_reading_small_in(&folder, &missing).unwrap_err();
    assert!(
        matches!(&error, LayoutError::ReadSource { origin, source }
            if source.kind() == std::io::ErrorKind::NotFound && *origin == missing.display().to_string()),
        "{error}"
    );
    std::fs::create_dir(folder_path.join("sub.wasm")).unwrap();
    let error =
        FileInput::open_reading_small_in(&folder, folder_path.join("sub.wasm")).unwrap_err();
    assert!(matches!(error, LayoutError::NotAFile { .. }), "{error}");
    #[cfg(unix)]
    {
        let socket = folder_path.join("socket.wasm");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let error = FileInput::open_reading_small_in(&folder, &socket).unwrap_err();
        assert!(matches!(error, LayoutError::NotAFile { .. }), "{error}");
        let fifo = folder_path.join("fifo.wasm");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo failed");
        let error = FileInput::open_reading_small_in(&folder, &fifo).unwrap_err();
        assert!(matches!(error, LayoutError::NotAFile { .. }), "{error}");
        // A link in the folder is followed, as by its path.
        std::os::unix::fs::symlink(&paths[0], folder_path.join("link.wasm")).unwrap();
        let (_, bytes) =
            FileInput::open_reading_small_in(&folder, folder_path.join("link.wasm")).unwrap();
        assert!(bytes.unwrap() == contents[0]);
    }
    // Elsewhere: by its path.
    let other = dir.path().join("other.wasm");
    std::fs::write(&other, pattern(10, 3)).unwrap();
    let (_, bytes) = FileInput::open_reading_small_in(&folder, &other).unwrap();
    assert!(bytes.unwrap() == pattern(10, 3));
    // The folder moved away and another put at its path: its own files
    // are still the ones found (by name, from the folder opened).
    #[cfg(unix)]
    {
        std::fs::rename(&folder_path, dir.path().join("moved")).unwrap();
        std::fs::create_dir(&folder_path).unwrap();
        std::fs::write(&paths[0], pattern(5000, 9)).unwrap();
        let (_, bytes) = FileInput::open_reading_small_in(&folder, &paths[0]).unwrap();
        assert!(bytes.unwrap() == contents[0]);
    }
}

/// `SMALL_FILE`'s value, written out: 256 KiB.
const SMALL: usize = 262_144;

#[test]
fn read_small_reads_a_file_of_up_to_256_kib_whole_and_nothing_larger() {
    assert_eq!(SMALL_FILE, SMALL as u64);
    let dir = tempfile::tempdir().unwrap();
    let contents = [pattern(SMALL, 1), pattern(SMALL + 1, 2), pattern(1, 3)];
    let paths = write_files(dir.path(), &contents);
    for (path, bytes) in paths.iter().zip(&contents) {
        let input: BlobInput = FileInput::open(path).unwrap().into();
        match input.read_small() {
            Some(read) if bytes.len() <= SMALL => assert!(read.unwrap() == *bytes),
            None if bytes.len() > SMALL => {}
            other => panic!(
                "{} bytes: {:?}",
                bytes.len(),
                other.map(|r| r.map(|b| b.len()))
            ),
        }
        assert_eq!(input.read_small_blob().is_some(), bytes.len() <= SMALL);
    }
    let source: BlobInput = BytesBlob::new(b"in memory".to_vec()).into();
    assert!(source.read_small().is_none());
    assert!(source.read_small_blob().is_none());
}

#[test]
fn read_small_blob_hashes_the_file_and_the_input_keeps_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = pattern(5000, 4);
    let paths = write_files(dir.path(), std::slice::from_ref(&bytes));
    let input: BlobInput = FileInput::open(&paths[0]).unwrap().into();
    let blob = input.read_small_blob().unwrap().unwrap();
    assert!(blob.bytes() == &bytes[..]);
    assert_eq!(blob.digest().hex(), test_support::sha256sum(&bytes));
    let BlobInput::File(file) = &input else {
        unreachable!("made from a FileInput");
    };
    assert_eq!(file.digest(), Some(blob.digest()));
    // A stream, which must know the digest before the bytes, hashes it
    // again (no checksum for a second read was kept) and gets the same tar
    // as from a fresh input.
    let mut stream = LayoutTar::new(Vec::new()).unwrap();
    assert_eq!(stream.put_inputs(&[&input]).unwrap(), [blob.digest()]);
    let fresh: BlobInput = FileInput::open(&paths[0]).unwrap().into();
    let mut again = LayoutTar::new(Vec::new()).unwrap();
    again.put_inputs(&[&fresh]).unwrap();
    assert!(stream.finish().unwrap() == again.finish().unwrap());
}

#[test]
fn a_small_file_rewritten_after_its_blob_was_made_is_an_error_in_a_stream() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[pattern(5000, 4)]);
    let input: BlobInput = FileInput::open(&paths[0]).unwrap().into();
    let blob = input.read_small_blob().unwrap().unwrap();
    // The same size, other bytes: the stream reads the file again and
    // sees it changed.
    std::thread::sleep(std::time::Duration::from_millis(20));
    overwrite_in_place(&paths[0]);
    let mut stream = LayoutTar::new(Vec::new()).unwrap();
    let err = stream.put_inputs(&[&input]).unwrap_err();
    assert!(matches!(err, LayoutError::FileChanged { .. }), "{err}");
    // A tar file that holds the blob already does not read the file again.
    let mut file = LayoutTar::seekable(Cursor::new(Vec::new())).unwrap();
    file.put_blob(&blob).unwrap();
    assert_eq!(file.put_inputs(&[&input]).unwrap(), [blob.digest()]);
}

#[test]
fn read_small_of_a_file_changed_since_it_was_opened_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[pattern(10_000, 1)]);
    let input: BlobInput = FileInput::open(&paths[0]).unwrap().into();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&paths[0])
        .unwrap()
        .set_len(4_000)
        .unwrap();
    let error = input.read_small().unwrap().unwrap_err();
    assert_eq!(
        error.to_string(),
        "changed while being packaged (its size changed); package it again once it is complete"
    );
    assert!(input.read_small_blob().unwrap().is_err());
}

#[test]
fn open_file_and_origin_say_where_the_bytes_are() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[b"\0asm\x01\0\0\0file".to_vec()]);
    let input: BlobInput = FileInput::open(&paths[0]).unwrap().into();
    let mut read = Vec::new();
    input
        .open_file()
        .unwrap()
        .unwrap()
        .read_to_end(&mut read)
        .unwrap();
    assert_eq!(read, b"\0asm\x01\0\0\0file");
    assert_eq!(input.origin(), paths[0].display().to_string());

    let blob = BytesBlob::new(b"in memory".to_vec());
    let source: BlobInput = blob.clone().into();
    assert!(source.open_file().is_none());
    assert_eq!(
        source.origin(),
        format!(
            "in-memory blob sha256:{}",
            test_support::sha256sum(b"in memory")
        )
    );
    assert_eq!(source.size(), 9);
}

#[test]
fn files_picks_the_file_inputs_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[pattern(10, 1), pattern(20, 2)]);
    let first: BlobInput = FileInput::open(&paths[0]).unwrap().into();
    let second: BlobInput = FileInput::open(&paths[1]).unwrap().into();
    let source: BlobInput = BytesBlob::new(b"x".to_vec()).into();
    let files = BlobInput::files(&[&second, &source, &first, &second]);
    let picked: Vec<&Path> = files.iter().map(|file| file.path()).collect();
    assert_eq!(
        picked,
        [paths[1].as_path(), paths[0].as_path(), paths[1].as_path()]
    );
}

#[test]
fn hash_files_hashes_each_file_once_and_a_hashed_file_never_again() {
    let dir = tempfile::tempdir().unwrap();
    let size = 3 * 1024 * 1024 + 1;
    let paths = write_files(dir.path(), &[pattern(size, 1)]);
    let file = FileInput::open(&paths[0]).unwrap();
    let ends = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = ends.clone();
    let progress: oci_layout::ProgressFn = std::sync::Arc::new(move |_: &str, done, total| {
        if done == total {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    // Given twice: read to its end once.
    oci_layout::hash_files(&[&file, &file], Some(&progress)).unwrap();
    assert_eq!(ends.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        file.digest().map(|d| d.hex()),
        Some(test_support::sha256sum(&std::fs::read(&paths[0]).unwrap()))
    );
    // Hashed already: not read again.
    oci_layout::hash_files(&[&file], Some(&progress)).unwrap();
    assert_eq!(ends.load(std::sync::atomic::Ordering::SeqCst), 1);
}
