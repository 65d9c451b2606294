//! The library's one-call example (wasm-artifact's docs, README) makes the CLI's bytes.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use wasm_artifact::{FileBlob, FileInput, ImageShape, Reference, Timestamp, WasmImage};

/// The build.rs example of wasm-artifact's docs, with paths in a temp
/// folder, written to a tar file (inputs read once, hashed as written).
fn build_rs_example(
    dir: &std::path::Path,
    shape: ImageShape,
    out: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let reference: Reference = "ghcr.io/containerd/runwasi/wasi-demo-oci:latest".parse()?;
    let mut image = WasmImage::new(reference, shape, Timestamp::source_date_epoch()?);
    image.add_wasm(FileInput::open(dir.join("app.wasm"))?)?;
    image.write_tar_file(dir.join(out))?;
    Ok(())
}

/// The same through the other paths of the library: a hashed `FileBlob`
/// into a tar stream.
fn streamed_example(
    dir: &std::path::Path,
    shape: ImageShape,
    out: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let reference = Reference::from_parts(
        Some("ghcr.io/containerd/runwasi"),
        "wasi-demo-oci",
        "latest",
    )?;
    let mut image = WasmImage::new(reference, shape, Timestamp::UNIX_EPOCH);
    image.add_wasm(FileBlob::hash(dir.join("app.wasm"))?)?;
    let mut destination =
        wasm_artifact::Destination::tar_stream(std::fs::File::create(dir.join(out))?)?;
    destination.write(&image)?;
    destination.finish()?;
    Ok(())
}

#[test]
fn library_example_gives_the_cli_bytes_in_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(test_support::demo_module(), dir.path().join("app.wasm")).unwrap();
    for (shape, flag) in [
        (ImageShape::WasmLayers, None),
        (ImageShape::Artifact, Some("--as-artifact")),
    ] {
        build_rs_example(dir.path(), shape, "library.tar").unwrap();
        streamed_example(dir.path(), shape, "streamed.tar").unwrap();
        let mut args = vec![
            "--name",
            "wasi-demo-oci",
            "--repo",
            "ghcr.io/containerd/runwasi",
            "--tag",
            "latest",
            "--module",
            "app.wasm",
            "-o",
            "cli.tar",
        ];
        args.extend(flag);
        let status = Command::new(env!("CARGO_BIN_EXE_oci-tar-builder"))
            .args(&args)
            .current_dir(dir.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .status()
            .unwrap();
        assert!(status.success());
        let cli = std::fs::read(dir.path().join("cli.tar")).unwrap();
        for library in ["library.tar", "streamed.tar"] {
            assert!(
                std::fs::read(dir.path().join(library)).unwrap() == cli,
                "{shape:?}: the library ({library}) and the CLI wrote different tars"
            );
        }
    }
}
