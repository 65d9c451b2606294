//! The library example in README and wasm-artifact's docs makes the CLI's bytes.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::BufWriter;
use std::process::Command;

use docker_compat::{manifest_json, DockerImage, MANIFEST_JSON};
use oci_layout::{FileBlob, LayoutWriter, Reference};
use wasm_artifact::{ImageShape, Timestamp, WasmImage};

/// The README's build.rs example, with paths in a temp folder.
fn build_rs_example(
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

    let mut layout = LayoutWriter::new(BufWriter::new(File::create(dir.join(out))?))?;
    let written = image.write_to(&mut layout)?;
    let docker = DockerImage {
        config: written.config,
        repo_tags: vec![written.reference.to_string()],
        layers: written.layers,
    };
    layout.write_file(MANIFEST_JSON, &manifest_json(&[docker]))?;
    layout.finish()?;
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
        let library = std::fs::read(dir.path().join("library.tar")).unwrap();
        let cli = std::fs::read(dir.path().join("cli.tar")).unwrap();
        assert!(
            library == cli,
            "{shape:?}: the library and the CLI wrote different tars"
        );
    }
}
