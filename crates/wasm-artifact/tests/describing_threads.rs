//! `WasmImage::add_wasm_files` starts no thread for a few files and
//! describes many on other threads, which read only a few files ahead.
//! Alone in its test binary, so that the process's thread count and bytes
//! read are this test's.
#![allow(clippy::unwrap_used)]

use oci_layout::{LayoutTar, Reference};
use wasm_artifact::{ImageShape, Timestamp, WasmImage};

/// The threads of this process, as the kernel lists them.
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

/// Bytes this process has read (the kernel's `rchar`).
fn bytes_read() -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap();
    io.lines()
        .find_map(|line| line.strip_prefix("rchar: "))
        .unwrap()
        .parse()
        .unwrap()
}

/// `count` distinct module files of about `size` bytes in `dir`.
fn module_files(dir: &std::path::Path, count: usize, size: usize) -> Vec<std::path::PathBuf> {
    (0..count)
        .map(|at| {
            let path = dir.join(format!("m{at:03}.wasm"));
            std::fs::write(&path, test_support::filler_module(size, at as u64)).unwrap();
            path
        })
        .collect()
}

/// The most threads seen while `count` files are added. Files of 100 KiB,
/// so that a describing thread holds only a few ahead and is still there
/// when the first is added (with small files, 16 each, a thread given 16
/// could be done and gone before).
fn most_threads_while_adding(count: usize) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let paths = module_files(dir.path(), count, 100 * 1024);
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
fn a_few_files_are_described_here_many_on_threads_that_read_a_few_ahead() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    assert!(
        cores >= 2,
        "this test needs 2 cores to see describing threads"
    );
    let before = threads();
    // Fewer than 32 files: no thread.
    assert_eq!(most_threads_while_adding(31), before);
    // 32 or more: one describing thread per core, up to four.
    let many = most_threads_while_adding(32);
    assert!(
        many > before && many <= before + cores.min(4),
        "{many} threads while adding 32 files, {before} before, {cores} cores"
    );
    // They end with the call (the kernel lists an ended thread a moment
    // longer).
    let ended = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(10));
        threads() == before
    });
    assert!(
        ended,
        "{} threads after the call, {before} before",
        threads()
    );

    describing_threads_hold_a_few_files_ahead_by_count_and_by_bytes();
}

/// How many of `count` files of `size` bytes have been read (by `rchar`)
/// once the describing threads have had time to read ahead of the first.
fn files_read_ahead(count: usize, size: usize) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let paths = module_files(dir.path(), count, size);
    let reference: Reference = "example.com/app:v1".parse().unwrap();
    let mut image = WasmImage::new(reference, ImageShape::WasmLayers, Timestamp::UNIX_EPOCH);
    let mut tar = LayoutTar::new(Vec::new()).unwrap();
    let start = bytes_read();
    let mut ahead = None;
    image
        .add_wasm_files(&paths, Some(&mut tar), |_| {
            if ahead.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(500));
                ahead = Some((bytes_read() - start) / size as u64);
            }
        })
        .unwrap();
    ahead.unwrap()
}

/// (Part of the one test: the thread counts above would see these threads.)
fn describing_threads_hold_a_few_files_ahead_by_count_and_by_bytes() {
    // Two threads of 16 files each at most, plus one each in hand and the
    // one being added: 35 of 200 small files, not all of them.
    let small = files_read_ahead(200, 4096);
    assert!(
        (20..=45).contains(&small),
        "{small} files of 4 KiB read ahead"
    );
    // 512 KiB each: 6 files of 100 KiB per thread (the sixth crosses the
    // bound), plus one in hand each and the one being added: 15, not 16 per
    // thread (35). Bytes miscounted as files are taken (the count divided,
    // not lessened) let a thread read on: 20.
    let large = files_read_ahead(100, 100 * 1024);
    assert!(
        (6..=17).contains(&large),
        "{large} files of 100 KiB read ahead"
    );
}
