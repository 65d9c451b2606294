//! Benchmark: how long describing a component with a large custom section
//! takes, and how much memory it needs, against the same component without
//! it. Prints figures; asserts nothing.
//!
//! ```sh
//! cargo run --release -p wasm-artifact --example describe_large -- [MIB]
//! ```
//!
//! Builds the demo component (`demo/wasi-demo-app` for `wasm32-wasip2`),
//! writes it to a temporary file with a custom section of MIB MiB (default
//! 64) appended, written in 1 MiB pieces so the benchmark itself never holds
//! it, then times [`WasmDescription::read`] on both files and reports the
//! process's peak resident memory (`VmHWM` in `/proc/self/status`, Linux)
//! before and after.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use oci_layout::{BlobInput, FileBlob};
use wasm_artifact::WasmDescription;

fn main() {
    let mib: u64 = std::env::args()
        .nth(1)
        .map(|arg| arg.parse().expect("MIB is a whole number"))
        .unwrap_or(64);
    let component = std::fs::read(test_support::demo_component()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.wasm");
    let large = dir.path().join("large.wasm");
    std::fs::write(&small, &component).unwrap();

    let mut out = BufWriter::new(File::create(&large).unwrap());
    out.write_all(&component).unwrap();
    out.write_all(&test_support::custom_section_header(
        "big-custom-section",
        mib << 20,
    ))
    .unwrap();
    let piece = vec![0xa5u8; 1 << 20];
    for _ in 0..mib {
        out.write_all(&piece).unwrap();
    }
    out.into_inner().unwrap().sync_all().unwrap();
    drop(piece);
    drop(component);

    let file_size = |path: &std::path::Path| std::fs::metadata(path).unwrap().len();
    println!("peak RSS before describing: {} KiB", peak_rss_kib());
    let small_blob = BlobInput::from(FileBlob::hash(&small).unwrap());
    let large_blob = BlobInput::from(FileBlob::hash(&large).unwrap());
    for (label, path, blob) in [
        ("without the section", &small, &small_blob),
        ("with the section", &large, &large_blob),
    ] {
        let start = Instant::now();
        let description = WasmDescription::read(blob).unwrap();
        let elapsed = start.elapsed();
        let world = description.world.unwrap();
        println!(
            "{label}: {} bytes described in {:.1} ms ({} imports, {} exports); peak RSS now {} KiB",
            file_size(path),
            elapsed.as_secs_f64() * 1000.0,
            world.imports.len(),
            world.exports.len(),
            peak_rss_kib()
        );
    }
}

/// The process's peak resident set size, from `/proc/self/status`.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
