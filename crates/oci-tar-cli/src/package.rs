//! The main job: package wasm files as one OCI image tar.

use std::fs;
use std::path::{Path, PathBuf};

use oci_layout_reader::{CopyError, LayoutReport, LayoutSource};
use wasm_artifact::{
    ArtifactError, Descriptor, Destination, FileInput, ImageShape, ImageSink, LayoutError,
    Reference, Timestamp, WasmImage, WrittenImage, WrittenIndex,
};

use crate::cli::{OutputArg, PackageOpts, RegistryOpts};
use crate::failure::Failure;
use crate::output::{write_failure, NamedInput, Output};
use crate::progress;
use crate::summary::{print_json, Summary};

/// Packages what `opts` names (or, with `-f`, each image of the build
/// file) into the destination it names.
pub(crate) fn run(mut opts: PackageOpts, registry: &RegistryOpts) -> Result<(), Failure> {
    // From the start, so Ctrl-C while hashing exits 130 like Ctrl-C while
    // writing. A thread acts on a signal at once where the work may block
    // or take long: a stream or a registry now, a large input once met
    // (`note_input`).
    crate::output::catch_signals()
        .map_err(|e| Failure::failed(format!("cannot handle SIGINT and SIGTERM: {e}")))?;
    if !matches!(
        opts.out_path,
        OutputArg::TarFile(_) | OutputArg::OciDir { .. }
    ) {
        crate::output::watch_signals();
    }
    let started = std::time::Instant::now();
    let (quiet, json, verbose) = (opts.quiet, opts.json, opts.verbose);
    let say = |line: String| {
        if !quiet && !json {
            eprintln!("{line}");
        }
    };
    let tell = |line: String| {
        if verbose {
            eprintln!("{line}");
        }
    };
    let requests = match &opts.build_file {
        Some(file) => crate::build_file::read(file, &opts)?,
        None => {
            add_registry_tags(&mut opts)?;
            vec![opts.clone()]
        }
    };
    let source_date_epoch = Timestamp::source_date_epoch().map_err(Failure::usage)?;
    // Every request is checked (and its folders listed) before any input is
    // read or the output opened.
    let plans = requests
        .iter()
        .map(|request| plan(request, source_date_epoch, &say, &tell))
        .collect::<Result<Vec<_>, _>>()?;
    // Then a tar file (the usual output) is opened, so that each small
    // input goes into it from the very read that describes it: read once.
    // On any failure it is dropped, and its temporary file with it.
    let mut opened = None;
    if !opts.dry_run && matches!(opts.out_path, OutputArg::TarFile(_)) {
        opened = Some(Output::open(&opts.out_path, registry, &say)?);
    }
    let mut groups = Vec::with_capacity(requests.len());
    let mut inputs = Vec::new();
    for (at, (request, plan)) in requests.iter().zip(&plans).enumerate() {
        // Only where the blobs put now come first anyway: a later request's
        // would go before the earlier one's config and manifest, and the
        // tar's entries would be in another order than when writing the
        // requests one after another.
        let sink = opened
            .as_mut()
            .filter(|_| at == 0)
            .map(|output| output.destination().sink());
        let (images, image_inputs) = describe(request, plan, sink, &say)?;
        let added = added_images(request, &images)?;
        groups.push(Group { images, added });
        inputs.extend(image_inputs);
    }

    if opts.out_path == OutputArg::EachReference && opts.build_file.is_none() {
        return Err(Failure::usage(
            "-o docker:// alone is for a build file (-f); give one image a docker://REGISTRY/REPO:TAG",
        ));
    }
    // For a registry, the line of blobs sent and skipped.
    let mut pushed = None;
    let (written, index, destination) = if opts.dry_run {
        let (written, index) = dry_run(&groups, &inputs, quiet || json)?;
        (written, Some(index), crate::summary::shown(&opts.out_path))
    } else if opts.out_path == OutputArg::EachReference {
        let mut written = Vec::with_capacity(groups.len());
        let mut lines = Vec::new();
        for group in &groups {
            let (target, shown) = push_target(group)?;
            let mut output = Output::open(&OutputArg::Registry(target), registry, &say)?;
            let mut one = write_with_progress(
                output.destination(),
                std::slice::from_ref(group),
                &inputs,
                quiet,
            )
            .map_err(|e| write_failure(&shown, e))?;
            lines.extend(output.push_summary());
            output.finish()?;
            written.append(&mut one);
        }
        pushed = (!lines.is_empty()).then(|| lines.join("\n"));
        (written, None, "docker://".to_owned())
    } else {
        let mut output = match opened {
            Some(output) => output,
            None => Output::open(&opts.out_path, registry, &say)?,
        };
        let destination = output.describe().to_owned();
        let written = write_with_progress(output.destination(), &groups, &inputs, quiet)
            .map_err(|e| write_failure(&destination, e))?;
        pushed = output.push_summary();
        let index = output.finish()?;
        (written, index, destination)
    };

    for group in &groups {
        for added in &group.added {
            say(format!(
                "added {} ({}) as platform {}",
                added.source.path().display(),
                added.descriptor.digest(),
                platform_text(&added.descriptor),
            ));
        }
    }
    for written in &written {
        let several = written.images().len() > 1;
        for image in written.images() {
            if let Some(platform) = image.manifest.platform() {
                let of_shape = if several {
                    format!(" (the {})", image.shape)
                } else {
                    String::new()
                };
                tell(format!(
                    "platform {}/{}{of_shape}",
                    platform.os(),
                    platform.architecture(),
                ));
            }
        }
    }
    tell(format!("took {} ms", started.elapsed().as_millis()));
    // The summary is JSON with --json, else text unless -q: with -q alone
    // none is made (for a thousand layers, a thousand digests in words).
    if json || !quiet {
        for (at, written) in written.iter().enumerate() {
            let summary = Summary::new(written, index.as_ref(), &opts.out_path, opts.dry_run);
            if json {
                let tar_on_stdout = opts.out_path == OutputArg::Stdout && !opts.dry_run;
                print_json(&summary, tar_on_stdout)?;
                continue;
            }
            let text = summary.text(&destination);
            // The destination's line once, then each image's.
            let text = match (at, text.split_once('\n')) {
                (1.., Some((_, images))) => images.to_owned(),
                _ => text,
            };
            say(text);
        }
    }
    if let Some(line) = pushed {
        say(line);
    }
    // A signal caught after the last step still ends the run with 128 + it.
    crate::output::check_signals();
    // The process ends next, and the system takes its memory back at once;
    // freeing the records of thousands of inputs one by one took 0.2 ms of
    // a thousand modules' run. (Plain data: nothing left to close or join.)
    std::mem::forget((requests, plans, groups, inputs, written, index));
    Ok(())
}

/// Bytes of input met so far (every image of the run).
static INPUT_TOTAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// More input than this in all is more than a few milliseconds of work.
const LARGE_WORK_TOTAL: u64 = 16 * 1024 * 1024;

/// Counts an input of `size` bytes, and starts the thread that acts on
/// SIGINT and SIGTERM as they come once the inputs met so far are more than
/// a few milliseconds of work: one input larger than a small file (read
/// whole at once), or more than [`LARGE_WORK_TOTAL`] bytes in all. Until
/// then a signal is acted on between steps.
fn note_input(size: u64) {
    use std::sync::atomic::Ordering;
    let total = INPUT_TOTAL
        .fetch_add(size, Ordering::Relaxed)
        .saturating_add(size);
    if size > oci_layout::SMALL_FILE || total > LARGE_WORK_TOTAL {
        crate::output::watch_signals();
    }
}

/// Where `-o docker://` pushes a group: its reference, in its registry.
fn push_target(group: &Group) -> Result<(oci_registry::RegistryRef, String), Failure> {
    let reference = group
        .images
        .first()
        .map(|image| image.reference().to_string())
        .unwrap_or_default();
    let target = reference.parse().map_err(|e| {
        Failure::usage(format!(
            "-o docker:// pushes {reference} to its own reference, which needs a registry in its repo: {e}"
        ))
    })?;
    Ok((target, format!("docker://{reference}")))
}

/// An input the destination reads (its origin) and its size, for the
/// progress bar.
type InputSize = (String, u64);

/// What one request writes: its images (one, or several shapes of one
/// wasm) and existing images added as more platforms of their index.
pub(crate) struct Group {
    images: Vec<WasmImage>,
    added: Vec<Added>,
}

/// An existing image (`--add-image`), checked, to list in the index.
struct Added {
    source: LayoutSource,
    tag: Option<String>,
    report: LayoutReport,
    /// Its manifest's descriptor with its platform, as the index lists it.
    descriptor: Descriptor,
}

/// Reads and checks each `--add-image` source, and checks that the index
/// of `images` and them gives every platform one entry; nothing is written.
fn added_images(opts: &PackageOpts, images: &[WasmImage]) -> Result<Vec<Added>, Failure> {
    let mut added = Vec::with_capacity(opts.add_images.len());
    for value in &opts.add_images {
        let (source, tag) = crate::copy::parse_source(value)?;
        let shown = source.path().display().to_string();
        let report = oci_layout_reader::read_source(&source).map_err(Failure::failed)?;
        if !report.is_valid() {
            return Err(Failure::problems(&shown, &report.problems));
        }
        let descriptor = oci_layout_reader::listed_descriptor(&source, &report, tag.as_deref())
            .map_err(|e| Failure::usage(format!("--add-image {value}: {e}")))?;
        added.push(Added {
            source,
            tag,
            report,
            descriptor,
        });
    }
    if !added.is_empty() {
        let listed: Vec<Descriptor> = added.iter().map(|a| a.descriptor.clone()).collect();
        wasm_artifact::check_index_with(images, &listed).map_err(Failure::image_usage)?;
    }
    Ok(added)
}

/// `os/architecture` of a descriptor's platform.
fn platform_text(descriptor: &Descriptor) -> String {
    descriptor.platform().as_ref().map_or_else(
        || "(none)".to_owned(),
        |p| format!("{}/{}", p.os(), p.architecture()),
    )
}

/// What one request (the flags, or one image of a build file) makes: its
/// reference, shapes (one image each), `created` and wasm inputs (a
/// `--components` folder listed). Everything the flags ask for is checked
/// here, before any input is read.
fn plan(
    opts: &PackageOpts,
    source_date_epoch: Timestamp,
    say: &impl Fn(String),
    tell: &impl Fn(String),
) -> Result<Plan, Failure> {
    let tag = image_tag(opts)?;
    let name = opts
        .name
        .as_deref()
        .ok_or_else(|| Failure::usage("give --name (or a build file with -f)"))?;
    let reference =
        Reference::from_parts(opts.repo.as_deref(), name, tag).map_err(Failure::usage)?;
    let shapes = image_shapes(opts);
    let created = opts.created.unwrap_or(source_date_epoch);
    let shape_names: Vec<String> = shapes.iter().map(|shape| format!("a {shape}")).collect();
    tell(format!(
        "image {reference}, {}",
        match shape_names.as_slice() {
            [one] => one.clone(),
            several => format!("one image index of {}", several.join(" and ")),
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
    // Whether each came from the folder's listing as a regular file.
    let mut listed_as_file = vec![false; wasm_paths.len()];
    if let Some(dir) = &opts.components {
        for (path, regular) in wasm_files_in(dir, say)? {
            wasm_paths.push(path);
            listed_as_file.push(regular);
        }
    }
    if wasm_paths.is_empty() {
        return Err(Failure::usage(
            "nothing to package: give a wasm file with --module or a folder with --components",
        ));
    }
    if wasm_paths.len() > 1 {
        let count = wasm_paths.len();
        if shapes.contains(&ImageShape::Artifact) {
            return Err(Failure::image_usage(ArtifactError::ArtifactTakesOneWasm {
                count,
            }));
        }
        if shapes.contains(&ImageShape::Compat) {
            return Err(Failure::image_usage(ArtifactError::CompatTakesOneWasm {
                count,
            }));
        }
    }
    if shapes.len() > 1 && opts.platform.is_some() {
        return Err(Failure::usage(
            "--platform sets one platform, but the images of one index need different ones; \
             give one --shape with --platform",
        ));
    }

    // Nothing is read before it is known that the tar can be written.
    let named_inputs: Vec<NamedInput<'_>> = wasm_paths
        .iter()
        .zip(&listed_as_file)
        .enumerate()
        .map(|(at, (path, &listed_as_file))| {
            let flag = if at < opts.modules.len() {
                "--module"
            } else {
                "--components"
            };
            NamedInput {
                flag,
                path,
                listed_in: opts.components.as_deref().filter(|_| listed_as_file),
            }
        })
        .chain(opts.layers.iter().map(|l| NamedInput {
            flag: "--layer",
            path: &l.path,
            listed_in: None,
        }))
        .collect();
    if !opts.dry_run {
        crate::output::check_before_reading(&opts.out_path, &named_inputs)?;
    }
    Ok(Plan {
        reference,
        shapes,
        created,
        wasm_paths,
    })
}

/// What a request makes, checked, before any input is read.
struct Plan {
    reference: Reference,
    shapes: Vec<ImageShape>,
    created: Timestamp,
    wasm_paths: Vec<PathBuf>,
}

/// The images of a request's `plan`, their inputs described (said, for
/// the first), and the inputs the destination reads for them (origin,
/// size), for the progress bar. With a `sink` (the tar file being
/// written), small inputs go into it as they are described, so that each
/// is read once.
fn describe(
    opts: &PackageOpts,
    plan: &Plan,
    mut sink: Option<&mut (dyn ImageSink + '_)>,
    say: &impl Fn(String),
) -> Result<(Vec<WasmImage>, Vec<InputSize>), Failure> {
    let Plan {
        reference,
        shapes,
        created,
        wasm_paths,
    } = plan;
    let (shapes, created) = (shapes.as_slice(), *created);
    let mut images = Vec::with_capacity(shapes.len());
    let mut inputs = Vec::new();
    for (at, &shape) in shapes.iter().enumerate() {
        // Notes on the inputs are said once, for the first image.
        let first = at == 0;
        // A compat image's layer is made when it is written: the blobs of
        // the images after it must not go in before it.
        if shape == ImageShape::Compat {
            sink = None;
        }
        let mut image = WasmImage::new(reference.clone(), shape, created);
        let image_inputs = describe_image(
            &mut image,
            opts,
            shapes,
            wasm_paths,
            first,
            sink.as_deref_mut(),
            say,
        )?;
        inputs.extend(image_inputs);
        images.push(image);
    }
    if images.len() > 1 {
        wasm_artifact::check_index(&images).map_err(Failure::image_usage)?;
    }
    Ok((images, inputs))
}

/// What one run wrote: one image, or an index of several shapes.
pub(crate) enum Written {
    /// One image, listed by itself.
    Image(Box<WrittenImage>),
    /// Several shapes of the wasm in one image index.
    Index(Box<WrittenIndex>),
}

impl Written {
    /// The images written, in order.
    pub(crate) fn images(&self) -> &[WrittenImage] {
        match self {
            Written::Image(image) => std::slice::from_ref(image.as_ref()),
            Written::Index(index) => &index.images,
        }
    }
}

/// Writes each group of `groups` (one image, or several shapes in one
/// index) into `destination` with a progress bar over the `inputs`
/// (origin, size) when [`progress::attach`] shows one.
fn write_with_progress(
    destination: &mut Destination,
    groups: &[Group],
    inputs: &[(String, u64)],
    quiet: bool,
) -> Result<Vec<Written>, ArtifactError> {
    let bar = progress::attach(destination.sink(), inputs, quiet);
    let written = groups
        .iter()
        .map(
            |group| match (group.images.as_slice(), group.added.is_empty()) {
                ([image], true) => destination
                    .write(image)
                    .map(|written| Written::Image(Box::new(written))),
                (images, _) => {
                    let mut listed = Vec::with_capacity(group.added.len());
                    for added in &group.added {
                        listed.push(copy_added(added, destination)?);
                    }
                    destination
                        .write_index_with(images, &listed)
                        .map(|written| Written::Index(Box::new(written)))
                }
            },
        )
        .collect();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    written
}

/// Copies an added image into `destination`'s sink as a manifest its index
/// lists; its descriptor, with its platform.
fn copy_added(added: &Added, destination: &mut Destination) -> Result<Descriptor, ArtifactError> {
    oci_layout_reader::copy_listed(
        &added.source,
        &added.report,
        added.tag.as_deref(),
        destination.sink(),
    )
    .map_err(|error| match error {
        CopyError::Sink(error) => ArtifactError::Layout(error),
        other => ArtifactError::Layout(LayoutError::ReadSource {
            origin: added.source.path().display().to_string(),
            source: std::io::Error::other(other.to_string()),
        }),
    })
}

/// Writes `groups` as a tar into nothing: every input is read (once) and
/// hashed and every document made exactly as for a tar file, so the
/// digests are a real run's.
fn dry_run(
    groups: &[Group],
    inputs: &[(String, u64)],
    quiet: bool,
) -> Result<(Vec<Written>, Descriptor), Failure> {
    let mut nowhere = Destination::nowhere().map_err(Failure::failed)?;
    let written =
        write_with_progress(&mut nowhere, groups, inputs, quiet).map_err(Failure::failed)?;
    let completed = nowhere.complete().map_err(Failure::failed)?;
    let index = completed
        .index()
        .cloned()
        .unwrap_or_else(|| unreachable!("a tar has an index.json"));
    Ok((written, index))
}

/// The shapes to write, in the order given, each once: `--shape`s, and
/// the artifact for `--as-artifact`; the wasm-layer image without either.
fn image_shapes(opts: &PackageOpts) -> Vec<ImageShape> {
    let mut shapes: Vec<ImageShape> = Vec::new();
    let asked = opts
        .shapes
        .iter()
        .map(|&shape| ImageShape::from(shape))
        .chain(opts.as_artifact.then_some(ImageShape::Artifact));
    for shape in asked {
        if !shapes.contains(&shape) {
            shapes.push(shape);
        }
    }
    if shapes.is_empty() {
        shapes.push(ImageShape::WasmLayers);
    }
    shapes
}

/// Sets up `image` from the flags and adds its inputs (said, when
/// `first`); returns the inputs it reads through the destination (origin,
/// size), for the progress bar. With several `shapes`, the flags that only
/// one kind of config has (--target; --env, --arg, --entrypoint, --label,
/// --workdir) go to the images that have it. With a `sink`, a small input
/// goes into it from the read that describes it
/// ([`WasmImage::add_wasm_into`]).
fn describe_image(
    image: &mut WasmImage,
    opts: &PackageOpts,
    shapes: &[ImageShape],
    wasm_paths: &[PathBuf],
    first: bool,
    sink: Option<&mut (dyn ImageSink + '_)>,
    say: &impl Fn(String),
) -> Result<Vec<(String, u64)>, Failure> {
    let shape = image.shape();
    let several = shapes.len() > 1;
    let has_image_config = shape != ImageShape::Artifact;
    if let Some(author) = &opts.author {
        image.set_author(author);
    }
    if let Some(target) = &opts.target {
        if !several || shape == ImageShape::Artifact || !shapes.contains(&ImageShape::Artifact) {
            image.set_target(target).map_err(Failure::image_usage)?;
        }
    }
    if let Some(platform) = &opts.platform {
        image
            .set_platform(&platform.os, &platform.architecture)
            .map_err(Failure::image_usage)?;
    }
    if !several || has_image_config {
        set_process_config(image, opts).map_err(Failure::image_usage)?;
    }
    image.set_compression(opts.compression.into());
    // `say` prints nothing then: its lines are not made either (a format
    // per input, on the thread that writes the tar).
    let tell_inputs = first && !opts.quiet && !opts.json;
    let mut inputs = Vec::new();
    image
        .add_wasm_files(wasm_paths, sink, |wasm| {
            note_input(wasm.size);
            // A compat image's wasm is read into its layer, not by the
            // destination; with --quiet there is no progress bar to size.
            if shape != ImageShape::Compat && !opts.quiet {
                inputs.push((wasm.path.display().to_string(), wasm.size));
            }
            crate::output::check_signals();
            if tell_inputs {
                say(format!(
                    "{}: {}, {} bytes",
                    wasm.path.display(),
                    wasm.description.kind,
                    wasm.size
                ));
                for oversized in &wasm.description.oversized_sections {
                    say(format!("note: {}: {oversized}", wasm.path.display()));
                }
            }
        })
        .map_err(Failure::failed)?;
    for layer in &opts.layers {
        let blob = FileInput::open(&layer.path).map_err(Failure::failed)?;
        note_input(blob.size());
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
    Ok(inputs)
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
        OutputArg::Stdout | OutputArg::TarFile(_) | OutputArg::EachReference => None,
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

/// The `*.wasm` files directly in `dir`, sorted by file name, each with
/// whether the listing said it is a regular file (not a link). Other
/// files, hidden files (`.x.wasm`, as a shell's `*.wasm` leaves them out)
/// and folders are skipped with a note saying which; a symbolic link to
/// nothing is an error, and so (when it is opened) is a FIFO, socket or
/// device.
fn wasm_files_in(dir: &Path, say: &impl Fn(String)) -> Result<Vec<(PathBuf, bool)>, Failure> {
    let read_error = |e: std::io::Error| Failure::failed(format!("{}: {e}", dir.display()));
    // Each with its name, to sort by.
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name();
        let path = entry.path();
        let shown = path.display();
        let hidden = name.as_encoded_bytes().starts_with(b".");
        if Path::new(&name).extension().is_none_or(|ext| ext != "wasm") {
            say(format!("{shown}: skipped, not a .wasm file"));
        } else if hidden {
            say(format!("{shown}: skipped, a hidden file"));
        } else if entry.file_type().is_ok_and(|kind| kind.is_file()) {
            // The directory listing says so: no need to ask again.
            files.push((name, path, true));
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
                Ok(_) => files.push((name, path, false)),
            }
        }
    }
    if files.is_empty() {
        return Err(Failure::failed(format!(
            "{}: no .wasm files in this folder",
            dir.display()
        )));
    }
    files.sort_unstable_by(|(a, _, _), (b, _, _)| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    let files = files
        .into_iter()
        .map(|(_, path, regular)| (path, regular))
        .collect();
    Ok(files)
}
