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
        let status = Command::new(test_support::builder_under_test(env!(
            "CARGO_BIN_EXE_oci-tar-builder"
        )))
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

#[test]
fn the_build_rs_example_crate_embeds_the_cli_tar() {
    let tar = build_rs_example::IMAGE_TAR;
    let app =
        std::fs::read(test_support::workspace_root().join("examples/build-rs/app.wasm")).unwrap();
    let entries = test_support::tar_entries(tar);
    let layer = format!("blobs/sha256/{}", test_support::sha256sum(&app));
    assert!(
        entries
            .iter()
            .any(|(name, bytes)| *name == layer && *bytes == app),
        "the embedded tar has no {layer} holding app.wasm"
    );
    // The CLI, given the same input and the created time the build used,
    // writes the same bytes.
    let index: serde_json::Value =
        serde_json::from_slice(&test_support::tar_entry(tar, "index.json")).unwrap();
    let manifest_path = format!(
        "blobs/sha256/{}",
        index["manifests"][0]["digest"]
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap()
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&test_support::tar_entry(tar, &manifest_path)).unwrap();
    let config_path = format!(
        "blobs/sha256/{}",
        manifest["config"]["digest"]
            .as_str()
            .unwrap()
            .strip_prefix("sha256:")
            .unwrap()
    );
    let config: serde_json::Value =
        serde_json::from_slice(&test_support::tar_entry(tar, &config_path)).unwrap();
    let created = config["created"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.wasm"), &app).unwrap();
    let (name, tag) = build_rs_example::REFERENCE.split_once(':').unwrap();
    let status = Command::new(test_support::builder_under_test(env!(
        "CARGO_BIN_EXE_oci-tar-builder"
    )))
    .args(["-q", "--name", name, "--tag", tag, "--module", "app.wasm"])
    .args(["--created", created, "-o", "cli.tar"])
    .current_dir(dir.path())
    .status()
    .unwrap();
    assert!(status.success());
    assert!(
        std::fs::read(dir.path().join("cli.tar")).unwrap() == tar,
        "the build.rs example and the CLI wrote different tars"
    );
}
