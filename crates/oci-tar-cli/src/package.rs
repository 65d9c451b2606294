//! The main job: package wasm files as one OCI image tar.

use std::fs;
use std::path::{Path, PathBuf};

use wasm_artifact::{
    ArtifactError, Descriptor, Destination, FileInput, ImageShape, Reference, Timestamp, WasmImage,
    WrittenImage,
};

use crate::cli::{OutputArg, PackageOpts, RegistryOpts};
use crate::failure::Failure;
use crate::output::{write_failure, Output};
use crate::progress;
use crate::summary::{print_json, Summary};

/// Packages what `opts` names into the tar it names.
pub(crate) fn run(mut opts: PackageOpts, registry: &RegistryOpts) -> Result<(), Failure> {
    // From the start, so Ctrl-C while hashing exits 130 like Ctrl-C while
    // writing. A thread acts on a signal at once where the work may block
    // or take long: a stream or a registry now, a large input once met.
    crate::output::catch_signals()
        .map_err(|e| Failure::failed(format!("cannot handle SIGINT and SIGTERM: {e}")))?;
    if !matches!(
        opts.out_path,
        OutputArg::TarFile(_) | OutputArg::OciDir { .. }
    ) {
        crate::output::watch_signals();
    }
    let mut watch = LargeWork::default();
    add_registry_tags(&mut opts)?;
    let tag = image_tag(&opts)?;
    let reference =
        Reference::from_parts(opts.repo.as_deref(), &opts.name, tag).map_err(Failure::usage)?;
    let shape = if opts.as_artifact {
        ImageShape::Artifact
    } else {
        ImageShape::WasmLayers
    };
    let started = std::time::Instant::now();
    let source_date_epoch = Timestamp::source_date_epoch().map_err(Failure::usage)?;
    let created = opts.created.unwrap_or(source_date_epoch);
    let say = |line: String| {
        if !opts.quiet && !opts.json {
            eprintln!("{line}");
        }
    };
    let tell = |line: String| {
        if opts.verbose {
            eprintln!("{line}");
        }
    };
    tell(format!(
        "image {reference}, {}",
        if opts.as_artifact {
            "a CNCF Wasm OCI Artifact (--as-artifact)"
        } else {
            "a wasm-layer image"
        }
    ));
    let created_from = if opts.created.is_some() {
        "--created"
    } else if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
        "SOURCE_DATE_EPOCH"
    } else {
        "the default, the Unix epoch"
    };
    tell(format!("created {created} (from {created_from})"));

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

    // Nothing is read before it is known that the tar can be written.
    let named_inputs: Vec<(&str, &Path)> = wasm_paths
        .iter()
        .enumerate()
        .map(|(at, path)| {
            let flag = if at < opts.modules.len() {
                "--module"
            } else {
                "--components"
            };
            (flag, path.as_path())
        })
        .chain(opts.layers.iter().map(|l| ("--layer", l.path.as_path())))
        .collect();
    if !opts.dry_run {
        crate::output::check_before_reading(&opts.out_path, &named_inputs)?;
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
    set_process_config(&mut image, &opts).map_err(Failure::image_usage)?;
    let mut inputs = Vec::new();
    for path in &wasm_paths {
        let blob = FileInput::open(path).map_err(Failure::failed)?;
        let size = blob.size();
        watch.add(size);
        inputs.push((blob.path().display().to_string(), size));
        let description = image.add_wasm(blob).map_err(Failure::failed)?;
        crate::output::check_signals();
        say(format!(
            "{}: {}, {size} bytes",
            path.display(),
            description.kind
        ));
        for oversized in &description.oversized_sections {
            say(format!("note: {}: {oversized}", path.display()));
        }
    }
    for layer in &opts.layers {
        let blob = FileInput::open(&layer.path).map_err(Failure::failed)?;
        watch.add(blob.size());
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
    for (key, value) in &opts.layer_annotations {
        image
            .annotate_entrypoint_layer(key, value)
            .map_err(Failure::image_usage)?;
    }
    // What the flags ask for must fit the inputs (--target needs a component).
    image.check().map_err(Failure::image_usage)?;

    // For a registry, the line of blobs sent and skipped.
    let mut pushed = None;
    let (written, index, destination) = if opts.dry_run {
        let (written, index) = dry_run(&image, &inputs, opts.quiet || opts.json)?;
        (written, Some(index), crate::summary::shown(&opts.out_path))
    } else {
        let mut output = Output::open(&opts.out_path, registry, &say)?;
        let destination = output.describe().to_owned();
        let written = write_with_progress(output.destination(), &image, &inputs, opts.quiet)
            .map_err(|e| write_failure(&destination, e))?;
        pushed = output.push_summary();
        let index = output.finish()?;
        (written, index, destination)
    };

    if let Some(platform) = written.manifest.platform() {
        tell(format!(
            "platform {}/{}",
            platform.os(),
            platform.architecture()
        ));
    }
    tell(format!("took {} ms", started.elapsed().as_millis()));
    let summary = Summary::new(
        &written,
        index.as_ref(),
        &opts.out_path,
        shape,
        opts.dry_run,
    );
    if opts.json {
        let tar_on_stdout = opts.out_path == OutputArg::Stdout && !opts.dry_run;
        print_json(&summary, tar_on_stdout)?;
    }
    say(summary.text(&destination));
    if let Some(line) = pushed {
        say(line);
    }
    // A signal caught after the last step still ends the run with 128 + it.
    crate::output::check_signals();
    Ok(())
}

/// Starts the thread that acts on SIGINT and SIGTERM as they come once the
/// inputs met so far are more than a few milliseconds of work: one input
/// larger than a small file (read whole at once), or more than
/// [`LargeWork::TOTAL`] bytes in all. Until then a signal is acted on
/// between steps.
#[derive(Default)]
struct LargeWork {
    total: u64,
}

impl LargeWork {
    const TOTAL: u64 = 16 * 1024 * 1024;

    fn add(&mut self, size: u64) {
        self.total = self.total.saturating_add(size);
        if size > oci_layout::SMALL_FILE || self.total > Self::TOTAL {
            crate::output::watch_signals();
        }
    }
}

/// Writes `image` into `destination` with a progress bar over the
/// `inputs` (origin, size) when [`progress::attach`] shows one.
fn write_with_progress(
    destination: &mut Destination,
    image: &WasmImage,
    inputs: &[(String, u64)],
    quiet: bool,
) -> Result<WrittenImage, ArtifactError> {
    let bar = progress::attach(destination.sink(), inputs, quiet);
    let written = destination.write(image);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    written
}

/// Writes `image` as a tar into nothing: every input is read (once) and
/// hashed and every document made exactly as for a tar file, so the
/// digests are a real run's.
fn dry_run(
    image: &WasmImage,
    inputs: &[(String, u64)],
    quiet: bool,
) -> Result<(WrittenImage, Descriptor), Failure> {
    let mut nowhere = Destination::nowhere().map_err(Failure::failed)?;
    let written =
        write_with_progress(&mut nowhere, image, inputs, quiet).map_err(Failure::failed)?;
    let completed = nowhere.complete().map_err(Failure::failed)?;
    let index = completed
        .index()
        .cloned()
        .unwrap_or_else(|| unreachable!("a tar has an index.json"));
    Ok((written, index))
}

/// `--env`, `--arg`, `--entrypoint`, `--label` and `--workdir`: the image
/// config's process fields.
fn set_process_config(image: &mut WasmImage, opts: &PackageOpts) -> Result<(), ArtifactError> {
    for (name, value) in &opts.env {
        image.set_env(name, value)?;
    }
    for arg in &opts.args {
        image.add_arg(arg)?;
    }
    if let Some(entrypoint) = &opts.entrypoint {
        image.set_entrypoint(entrypoint)?;
    }
    for (key, value) in &opts.labels {
        image.set_label(key, value)?;
    }
    if let Some(workdir) = &opts.workdir {
        image.set_workdir(workdir)?;
    }
    Ok(())
}

/// The tag: `--tag`, or the TAG of `-o oci:DIR:TAG`, else `latest`; both
/// given must agree.
fn image_tag(opts: &PackageOpts) -> Result<&str, Failure> {
    let from_output = match &opts.out_path {
        OutputArg::OciDir { tag, .. } => tag.as_deref(),
        // Its first tag; each --tag was added after it.
        OutputArg::Registry(target) => {
            return Ok(target.tags().first().map_or("latest", String::as_str))
        }
        OutputArg::Stdout | OutputArg::TarFile(_) => None,
    };
    let flag = match opts.tags.as_slice() {
        [] => None,
        [tag] => Some(tag.as_str()),
        [..] => {
            return Err(Failure::usage(
                "--tag is repeatable only with -o docker://… (one manifest under several tags)",
            ))
        }
    };
    match (flag, from_output) {
        (Some(flag), Some(output)) if flag != output => Err(Failure::usage(format!(
            "--tag {flag} and -o …:{output} name two different tags; give one"
        ))),
        (Some(tag), _) | (None, Some(tag)) => Ok(tag),
        (None, None) => Ok("latest"),
    }
}

/// With `-o docker://…:TAG`, each `--tag` is one more tag the manifest is
/// put under (`TAG` stays the image's own).
fn add_registry_tags(opts: &mut PackageOpts) -> Result<(), Failure> {
    if let OutputArg::Registry(target) = &mut opts.out_path {
        for tag in &opts.tags {
            target
                .add_tag(tag)
                .map_err(|e| Failure::usage(format!("--tag {tag}: {e}")))?;
        }
    }
    Ok(())
}

/// The `*.wasm` files directly in `dir`, sorted by file name. Other
/// files, hidden files (`.x.wasm`, as a shell's `*.wasm` leaves them out)
/// and folders are skipped with a note saying which; a symbolic link to
/// nothing is an error, and so (when it is opened) is a FIFO, socket or
/// device.
fn wasm_files_in(dir: &Path, say: &impl Fn(String)) -> Result<Vec<PathBuf>, Failure> {
    let read_error = |e: std::io::Error| Failure::failed(format!("{}: {e}", dir.display()));
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let path = entry.path();
        let shown = path.display();
        let hidden = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'));
        if path.extension().is_none_or(|ext| ext != "wasm") {
            say(format!("{shown}: skipped, not a .wasm file"));
        } else if hidden {
            say(format!("{shown}: skipped, a hidden file"));
        } else if entry.file_type().is_ok_and(|kind| kind.is_file()) {
            // The directory listing says so: no need to ask again.
            files.push(path);
        } else {
            match fs::metadata(&path) {
                Ok(metadata) if metadata.is_dir() => {
                    say(format!("{shown}: skipped, a folder"));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Failure::failed(format!(
                        "{shown}: a symbolic link to a file that does not exist"
                    )));
                }
                Err(e) => return Err(Failure::failed(format!("{shown}: {e}"))),
                Ok(_) => files.push(path),
            }
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
