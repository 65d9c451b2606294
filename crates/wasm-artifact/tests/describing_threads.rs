//! `WasmImage::add_wasm_files` starts no thread for a few files and
//! describes many on other threads. Alone in its test binary, so that the
//! process's thread count is this test's.
#![allow(clippy::unwrap_used)]

use oci_layout::{LayoutTar, Reference};
use test_support::tiny_module;
use wasm_artifact::{ImageShape, Timestamp, WasmImage};

/// The threads of this process, as the kernel lists them.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// The most threads seen while `count` files are added.
fn most_threads_while_adding(count: usize) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..count)
        .map(|at| {
            let path = dir.path().join(format!("m{at:03}.wasm"));
            std::fs::write(&path, tiny_module(at as u32)).unwrap();
            path
        })
        .collect();
    let reference: Reference = "example.com/app:v1".parse().unwrap();
    let mut image = WasmImage::new(reference, ImageShape::WasmLayers, Timestamp::UNIX_EPOCH);
    let mut tar = LayoutTar::new(Vec::new()).unwrap();
    let mut most = 0;
    image
        .add_wasm_files(&paths, Some(&mut tar), |_| most = most.max(threads()))
        .unwrap();
    most
}

#[test]
fn a_few_files_are_described_on_this_thread_and_many_on_others() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(
        cores >= 2,
        "this test needs 2 cores to see describing threads"
    );
    let before = threads();
    // Fewer than 32 files: no thread.
    assert_eq!(most_threads_while_adding(31), before);
    // 32 or more: one describing thread per core, up to four.
    let many = most_threads_while_adding(64);
    assert!(
        many > before && many <= before + cores.min(4),
        "{many} threads while adding 64 files, {before} before, {cores} cores"
    );
    assert_eq!(
        threads(),
        before,
        "the describing threads end with the call"
    );
}
