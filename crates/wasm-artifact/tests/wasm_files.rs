//! `WasmImage::add_wasm_files`: many files, described on every core, give
//! the image and tar that adding them one at a time gives, in order; the
//! first file refused stops it, named.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use oci_layout::{FileInput, LayoutTar, Reference};
use test_support::{filler_module, sha256sum, tar_entries, tiny_module};
use wasm_artifact::{ArtifactError, ImageShape, Timestamp, WasmImage, WasmKind};

fn image(shape: ImageShape) -> WasmImage {
    let reference: Reference = "ghcr.io/example/app:v1".parse().unwrap();
    WasmImage::new(reference, shape, Timestamp::UNIX_EPOCH)
}

/// `count` distinct module files in `dir`, but for two copies of the first
/// (a blob stored once) and, at `large_at`, a file too large to be read
/// whole (its blob is read when the image is written, and the small files
/// after it with it).
fn module_files(dir: &Path, count: usize, large_at: usize) -> Vec<PathBuf> {
    (0..count)
        .map(|at| {
            let path = dir.join(format!("m{at:03}.wasm"));
            let bytes = match at {
                _ if at == large_at => filler_module(300 * 1024, 7),
                5 | 50 => tiny_module(0),
                _ => tiny_module(at as u32),
            };
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

/// The tar of `image` written into a fresh tar after `add` filled it
/// (given the same tar, so blobs may go in as they are added).
fn tar_of(shape: ImageShape, add: impl FnOnce(&mut WasmImage, &mut LayoutTar<Vec<u8>>)) -> Vec<u8> {
    let mut image = image(shape);
    let mut tar = LayoutTar::new(Vec::new()).unwrap();
    add(&mut image, &mut tar);
    image.write_to(&mut tar).unwrap();
    tar.finish().unwrap()
}

/// The blob entries of a tar, by digest, in tar order.
fn blob_order(tar: &[u8]) -> Vec<String> {
    tar_entries(tar)
        .into_iter()
        .filter_map(|(name, _)| name.strip_prefix("blobs/sha256/").map(str::to_owned))
        .collect()
}

#[test]
fn many_files_give_the_tar_of_adding_them_one_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    // Enough files for the describing threads, with a large one among them.
    let paths = module_files(dir.path(), 90, 60);
    let shape = ImageShape::WasmLayers;
    let one_at_a_time = tar_of(shape, |image, _| {
        for path in &paths {
            image.add_wasm(FileInput::open(path).unwrap()).unwrap();
        }
    });
    let mut seen = Vec::new();
    let all_at_once = tar_of(shape, |image, tar| {
        image
            .add_wasm_files(&paths, Some(tar), |added| {
                seen.push((added.path.to_owned(), added.size));
                assert_eq!(added.description.kind, WasmKind::Module);
            })
            .unwrap();
    });
    assert!(one_at_a_time == all_at_once, "the tars differ");
    let expected: Vec<(PathBuf, u64)> = paths
        .iter()
        .map(|path| (path.clone(), std::fs::metadata(path).unwrap().len()))
        .collect();
    assert_eq!(seen, expected, "each file told once, in order");
    // The layers' blobs, by sha256sum of each file, in the order given,
    // each once.
    let mut digests: Vec<String> = Vec::new();
    for path in &paths {
        let digest = sha256sum(&std::fs::read(path).unwrap());
        if !digests.contains(&digest) {
            digests.push(digest);
        }
    }
    let order = blob_order(&all_at_once);
    assert_eq!(order[..digests.len()], digests[..]);
    assert_eq!(
        order.len(),
        digests.len() + 2,
        "then the config and the manifest"
    );
}

#[test]
fn without_a_sink_the_files_are_read_when_the_image_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let paths = module_files(dir.path(), 40, 99);
    let one_at_a_time = tar_of(ImageShape::WasmLayers, |image, _| {
        for path in &paths {
            image.add_wasm(FileInput::open(path).unwrap()).unwrap();
        }
    });
    let mut told = 0;
    let later = tar_of(ImageShape::WasmLayers, |image, _| {
        image.add_wasm_files(&paths, None, |_| told += 1).unwrap();
    });
    assert_eq!(told, 40);
    assert!(one_at_a_time == later);
}

#[test]
fn the_first_file_refused_stops_the_adding_and_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = module_files(dir.path(), 70, 99);
    std::fs::write(&paths[37], b"not wasm at all").unwrap();
    // A later file that cannot be opened: never reached.
    paths[52] = dir.path().join("missing.wasm");
    let mut first = image(ImageShape::WasmLayers);
    let mut tar = LayoutTar::new(Vec::new()).unwrap();
    let mut told = Vec::new();
    let error = first
        .add_wasm_files(&paths, Some(&mut tar), |added| {
            told.push(added.path.to_owned())
        })
        .unwrap_err();
    assert!(
        matches!(&error, ArtifactError::NotWasm { origin, .. } if origin.ends_with("m037.wasm")),
        "{error:?}"
    );
    assert_eq!(told, paths[..37], "the files before it were added");

    // A missing file is named, with the files before it added.
    std::fs::write(&paths[37], tiny_module(37)).unwrap();
    let mut second = image(ImageShape::WasmLayers);
    let mut told = 0;
    let error = second
        .add_wasm_files(&paths, None, |_| told += 1)
        .unwrap_err();
    assert!(error.to_string().contains("missing.wasm"), "{error}");
    assert_eq!(told, 52);
}

/// Regression guard: with far more files after a refused one than the
/// describing threads may hold ahead, the call still returns (the threads
/// are told the adding stopped; else one waits for room for ever, and the
/// call with it).
#[test]
fn an_early_refusal_among_many_files_stops_the_describing_threads() {
    let dir = tempfile::tempdir().unwrap();
    let paths = module_files(dir.path(), 300, 999);
    std::fs::write(&paths[2], b"not wasm at all").unwrap();
    let mut image = image(ImageShape::WasmLayers);
    let mut tar = LayoutTar::new(Vec::new()).unwrap();
    let mut told = 0;
    let error = image
        .add_wasm_files(&paths, Some(&mut tar), |_| told += 1)
        .unwrap_err();
    assert!(
        matches!(&error, ArtifactError::NotWasm { origin, .. } if origin.ends_with("m002.wasm")),
        "{error:?}"
    );
    assert_eq!(told, 2);
}

#[test]
fn files_near_the_small_file_limit_are_handed_over_a_few_at_a_time() {
    // Each nearly a small file's limit, so a few fill a thread's queue.
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<PathBuf> = (0..40)
        .map(|at| {
            let path = dir.path().join(format!("big{at:02}.wasm"));
            std::fs::write(&path, filler_module(200 * 1024, at)).unwrap();
            path
        })
        .collect();
    let one_at_a_time = tar_of(ImageShape::WasmLayers, |image, _| {
        for path in &paths {
            image.add_wasm(FileInput::open(path).unwrap()).unwrap();
        }
    });
    // A hand-over that waits for more files than fit would hang: fail instead.
    let (done, finished) = std::sync::mpsc::channel();
    let to_add = paths.clone();
    std::thread::spawn(move || {
        let tar = tar_of(ImageShape::WasmLayers, |image, tar| {
            image.add_wasm_files(&to_add, Some(tar), |_| {}).unwrap();
        });
        let _ = done.send(tar);
    });
    let all_at_once = finished
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("adding 40 files of 200 KiB did not end within 120 s");
    assert!(one_at_a_time == all_at_once);
}

/// Small files go into the sink as they are added, while every one before
/// went in so: all of them for a wasm-layer image, none for a compat image
/// (its layer is a tar made when it is written), none after a large file.
#[test]
fn small_files_go_into_the_sink_as_they_are_added_only_where_the_order_allows() {
    use oci_layout::ImageSink;
    let dir = tempfile::tempdir().unwrap();
    // (Five: the sixth would be a copy of the first, held as it is.)
    let paths = module_files(dir.path(), 5, 3);
    let digest = |path: &PathBuf| oci_digest::digest_bytes(&std::fs::read(path).unwrap());
    let size = |path: &PathBuf| std::fs::metadata(path).unwrap().len();

    // One at a time (add_wasm_into) and all at once (add_wasm_files).
    for all_at_once in [false, true] {
        let mut layers = image(ImageShape::WasmLayers);
        let mut tar = LayoutTar::new(Vec::new()).unwrap();
        if all_at_once {
            layers
                .add_wasm_files(&paths, Some(&mut tar), |_| {})
                .unwrap();
        } else {
            for path in &paths {
                layers
                    .add_wasm_into(FileInput::open(path).unwrap(), &mut tar)
                    .unwrap();
            }
        }
        let held: Vec<bool> = paths
            .iter()
            .map(|path| tar.has_blob(&digest(path), size(path)).unwrap())
            .collect();
        // Files 0 to 2 in; 3 is large (read when written), so 4 waits.
        assert_eq!(
            held,
            [true, true, true, false, false],
            "all at once: {all_at_once}"
        );
    }

    let mut compat = image(ImageShape::Compat);
    let mut tar = LayoutTar::new(Vec::new()).unwrap();
    compat
        .add_wasm_into(FileInput::open(&paths[0]).unwrap(), &mut tar)
        .unwrap();
    assert!(!tar.has_blob(&digest(&paths[0]), size(&paths[0])).unwrap());
}
