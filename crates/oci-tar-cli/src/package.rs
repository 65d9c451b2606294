//! The main job: package wasm files as one OCI image tar.

use std::fs;
use std::path::{Path, PathBuf};

use docker_compat::{manifest_json, DockerImage, MANIFEST_JSON};
use oci_layout::{FileInput, LayoutError, LayoutWriter, Reference};
use wasm_artifact::{ArtifactError, ImageShape, Timestamp, WasmImage};

use crate::cli::PackageOpts;
use crate::failure::Failure;
use crate::output::{write_error_message, Output, TarSink};
use crate::progress;

/// Packages what `opts` names into the tar it names.
pub(crate) fn run(opts: PackageOpts) -> Result<(), Failure> {
    // From the start, so Ctrl-C while hashing exits 130 like Ctrl-C while writing.
    crate::output::handle_signals()
        .map_err(|e| Failure::failed(format!("cannot handle SIGINT and SIGTERM: {e}")))?;
    let reference = Reference::from_parts(opts.repo.as_deref(), &opts.name, &opts.tag)
        .map_err(Failure::usage)?;
    let shape = if opts.as_artifact {
        ImageShape::Artifact
    } else {
        ImageShape::WasmLayers
    };
    let source_date_epoch = crate::cli::source_date_epoch().map_err(Failure::usage)?;
    let created = opts
        .created
        .or(source_date_epoch)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let say = |line: String| {
        if !opts.quiet {
            eprintln!("{line}");
        }
    };

    let mut wasm_paths = opts.modules.clone();
    if let Some(dir) = &opts.components {
        wasm_paths.extend(wasm_files_in(dir, &say)?);
    }
    if wasm_paths.is_empty() {
        return Err(Failure::usage(
            "nothing to package: give a wasm file with --module or a folder with --components",
        ));
    }
    if shape == ImageShape::Artifact && wasm_paths.len() > 1 {
        return Err(Failure::image_usage(ArtifactError::ArtifactTakesOneWasm {
            count: wasm_paths.len(),
        }));
    }

    let mut image = WasmImage::new(reference, shape, created);
    if let Some(author) = &opts.author {
        image.set_author(author);
    }
    if let Some(target) = &opts.target {
        image.set_target(target).map_err(Failure::image_usage)?;
    }
    if let Some(platform) = &opts.platform {
        image
            .set_platform(&platform.os, &platform.architecture)
            .map_err(Failure::image_usage)?;
    }
    let mut inputs = Vec::new();
    for path in &wasm_paths {
        let blob = FileInput::open(path).map_err(Failure::failed)?;
        let size = blob.size();
        inputs.push((blob.path().display().to_string(), size));
        let kind = image.add_wasm(blob).map_err(Failure::failed)?;
        say(format!("{}: {kind}, {size} bytes", path.display()));
    }
    for layer in &opts.layers {
        let blob = FileInput::open(&layer.path).map_err(Failure::failed)?;
        inputs.push((blob.path().display().to_string(), blob.size()));
        image
            .add_layer(&layer.media_type, blob)
            .map_err(Failure::image_usage)?;
    }
    if shape == ImageShape::Artifact && !opts.layers.is_empty() {
        say(
            "note: the CNCF Wasm OCI Artifact guide expects one layer; some consumers refuse \
             more (containerd 1.7 cannot unpack this one: import it with --no-unpack)"
                .to_owned(),
        );
    }
    for (key, value) in &opts.annotations {
        image.annotate(key, value).map_err(Failure::image_usage)?;
    }
    // What the flags ask for must fit the inputs (--target needs a component).
    image.check().map_err(Failure::image_usage)?;

    let (output, sink) = Output::open(&opts.out_path)?;
    let destination = output.describe();
    let write_failure = |error: ArtifactError| match error {
        ArtifactError::Layout(LayoutError::Write { source })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Failure::BrokenPipe
        }
        ArtifactError::Layout(LayoutError::Write { source }) => {
            Failure::failed(write_error_message(&destination, &source))
        }
        other => Failure::failed(other),
    };
    // Into a file, each input is read once; into stdout, hashed first.
    let written = match sink {
        TarSink::File(writer) => LayoutWriter::seekable(writer)
            .map_err(ArtifactError::from)
            .and_then(|layout| write_image(&image, layout, &inputs, 1, opts.quiet)),
        TarSink::Stdout(writer) => LayoutWriter::new(writer)
            .map_err(ArtifactError::from)
            .and_then(|layout| write_image(&image, layout, &inputs, 2, opts.quiet)),
    }
    .map_err(write_failure)?;
    output.commit()?;

    say(format!(
        "wrote {destination}\n  image     {}\n  manifest  {}",
        written.reference, written.manifest_digest
    ));
    Ok(())
}

/// Writes `image` and Docker's `manifest.json` into `layout`, and finishes it.
/// A progress bar over the `inputs` (origin, size), each read `reads_each`
/// times, is shown meanwhile when [`progress::attach`] says so.
fn write_image<W: std::io::Write>(
    image: &WasmImage,
    mut layout: LayoutWriter<W>,
    inputs: &[(String, u64)],
    reads_each: u64,
    quiet: bool,
) -> Result<wasm_artifact::WrittenImage, ArtifactError> {
    let bar = progress::attach(&mut layout, inputs, reads_each, quiet);
    let written = image.write_to(&mut layout);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let written = written?;
    let docker = DockerImage {
        config: written.config,
        repo_tags: vec![written.reference.to_string()],
        layers: written.layers.clone(),
    };
    layout.write_file(MANIFEST_JSON, &manifest_json(&[docker]))?;
    layout.finish()?;
    Ok(written)
}

/// The `*.wasm` files directly in `dir`, sorted by file name; anything else
/// there is skipped with a note.
fn wasm_files_in(dir: &Path, say: &impl Fn(String)) -> Result<Vec<PathBuf>, Failure> {
    let read_error = |e: std::io::Error| Failure::failed(format!("{}: {e}", dir.display()));
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let is_wasm = path.extension().is_some_and(|ext| ext == "wasm");
        if is_wasm && path.is_file() {
            files.push(path);
        } else {
            say(format!("{}: skipped, not a .wasm file", path.display()));
        }
    }
    if files.is_empty() {
        return Err(Failure::failed(format!(
            "{}: no .wasm files in this folder",
            dir.display()
        )));
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}
