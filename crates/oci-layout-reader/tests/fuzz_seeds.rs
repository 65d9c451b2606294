//! The fuzz target's seed corpus (fuzz/seeds/read_layout: tars from us,
//! skopeo and GNU tar's PAX format) reads as valid, so the fuzzer starts
//! from inputs that reach every check.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

use std::path::{Path, PathBuf};

fn files(folder: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz")
        .join(folder);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn the_seed_tars_are_valid() {
    let seeds = files("seeds/read_layout");
    assert!(seeds.len() >= 4, "{seeds:?}");
    for seed in seeds {
        let report = oci_layout_reader::read_layout(&std::fs::read(&seed).unwrap()[..]).unwrap();
        assert_eq!(report.problems, [], "{}", seed.display());
        assert_eq!(report.images.len(), 1, "{}", seed.display());
    }
}
