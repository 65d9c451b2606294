//! `oci-tar-builder inspect PATH [--json]`: describes the images in any OCI
//! image tar or layout directory (or Docker archive), as `regctl manifest
//! get` would.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use oci_layout_reader::{ConfigSummary, Descriptor, Image, LayoutFormat, LayoutReport};
use serde::Serialize;

use crate::failure::Failure;
use crate::input::read_report;
use crate::terminal::{clean, clean_json};

/// Describe the images in an OCI image tar or layout directory, or a Docker archive.
#[derive(Debug, Args)]
pub(crate) struct Opts {
    /// The image tar, or OCI image layout directory, to describe; - reads stdin.
    #[arg(value_name = "PATH")]
    pub(crate) file: PathBuf,

    /// Print JSON for scripts instead of text.
    #[arg(long, conflicts_with = "raw")]
    pub(crate) json: bool,

    /// Print one document's bytes exactly as stored, as `skopeo inspect --raw` and `crane manifest` do.
    #[arg(long, value_enum, value_name = "DOCUMENT")]
    pub(crate) raw: Option<Raw>,

    /// With --raw manifest|config: the image, by name (io.containerd.image.name), tag
    /// (org.opencontainers.image.ref.name) or manifest digest; needed when the layout holds several.
    #[arg(long, value_name = "NAME", requires = "raw")]
    pub(crate) image: Option<String>,
}

/// The document `--raw` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Raw {
    /// The image manifest.
    Manifest,
    /// The image config.
    Config,
    /// The layout's index.json.
    Index,
}

/// The version of `inspect --json`'s schema (documented in the README).
const JSON_SCHEMA_VERSION: u32 = 1;

/// What `--json` prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonOutput<'a> {
    /// Raised when a field changes meaning or goes away (new fields may
    /// appear without it).
    schema_version: u32,
    file: String,
    valid: bool,
    #[serde(flatten)]
    report: &'a LayoutReport,
}

/// Prints the description on stdout; problems go to stderr and make the
/// exit code 1, after whatever could be described.
pub(crate) fn run(opts: Opts) -> Result<(), Failure> {
    let shown = opts.file.display().to_string();
    let report = read_report(&opts.file)?;
    let text: std::borrow::Cow<'_, [u8]> = if let Some(raw) = opts.raw {
        raw_document(&report, raw, opts.image.as_deref())?.into()
    } else if opts.json {
        let output = JsonOutput {
            schema_version: JSON_SCHEMA_VERSION,
            file: shown.clone(),
            valid: report.is_valid(),
            report: &report,
        };
        // Plain strings, numbers and maps serialise without fail.
        let mut json = serde_json::to_string_pretty(&output)
            .unwrap_or_else(|_| unreachable!("the report serialises"));
        json.push('\n');
        clean_json(&json).into_owned().into_bytes().into()
    } else {
        describe(&shown, &report).into_bytes().into()
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_all(&text).and_then(|()| stdout.flush()) {
        return Err(if error.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::failed(format!("stdout: {error}"))
        });
    }
    if report.is_valid() {
        Ok(())
    } else {
        Err(Failure::problems(&shown, &report.problems))
    }
}

/// The bytes `--raw` prints: the document as stored, of the image `wanted`
/// names (or of the only image).
fn raw_document<'a>(
    report: &'a LayoutReport,
    raw: Raw,
    wanted: Option<&str>,
) -> Result<&'a [u8], Failure> {
    let not_kept = |what: &str| {
        Failure::failed(format!(
            "the {what} could not be read (missing, not JSON, or over the reader's size limits)"
        ))
    };
    if raw == Raw::Index {
        if report.format == LayoutFormat::DockerArchive {
            return Err(Failure::usage(
                "a Docker archive has no index.json (--raw manifest prints the OCI manifest derived for an image)",
            ));
        }
        return report
            .raw_index
            .as_deref()
            .ok_or_else(|| not_kept("index.json"));
    }
    let matches: Vec<&Image> = report
        .images
        .iter()
        .filter(|image| wanted.is_none_or(|wanted| names_image(image, wanted)))
        .collect();
    let Some(first) = matches.first() else {
        return Err(match wanted {
            Some(wanted) => Failure::usage(format!(
                "no image {} in the layout; it holds {}",
                clean(wanted),
                image_list(&report.images)
            )),
            None => Failure::failed("the layout holds no image"),
        });
    };
    // Several entries naming one manifest (tags of one image) are one image.
    if matches
        .iter()
        .any(|image| image.descriptor.digest != first.descriptor.digest)
    {
        return Err(Failure::usage(format!(
            "the layout holds several images; choose one with --image: {}",
            image_list(matches.iter().copied())
        )));
    }
    match raw {
        Raw::Manifest => first
            .raw_manifest
            .as_deref()
            .ok_or_else(|| not_kept("manifest")),
        _ => first
            .raw_config
            .as_deref()
            .ok_or_else(|| not_kept("config")),
    }
}

/// Whether `wanted` is the image's name, its tag or its manifest digest.
fn names_image(image: &Image, wanted: &str) -> bool {
    let annotations = &image.descriptor.annotations;
    image.descriptor.digest == wanted
        || [
            oci_layout::annotations::CONTAINERD_IMAGE_NAME,
            oci_layout::annotations::REF_NAME,
        ]
        .iter()
        .any(|key| annotations.get(*key).is_some_and(|value| value == wanted))
}

/// The images, as `--image` accepts them: name (or digest when unnamed).
fn image_list<'a>(images: impl IntoIterator<Item = &'a Image>) -> String {
    let names: Vec<String> = images
        .into_iter()
        .map(|image| clean(image.name().unwrap_or(&image.descriptor.digest)).into_owned())
        .collect();
    names.join(", ")
}

/// The text form.
fn describe(shown: &str, report: &LayoutReport) -> String {
    let mut out = String::new();
    let images = report.images.len();
    let _ = writeln!(
        out,
        "{}: {images} image{}, {} blob{}",
        clean(shown),
        plural(images),
        report.blob_count,
        plural(report.blob_count)
    );
    let _ = writeln!(out, "  format      {}", report.format);
    if let Some(index) = &report.index {
        annotations(&mut out, "  ", "index annotations", &index.annotations);
    }
    for image in &report.images {
        describe_image(&mut out, image);
    }
    out
}

fn describe_image(out: &mut String, image: &Image) {
    let _ = writeln!(
        out,
        "\nimage {}",
        clean(image.name().unwrap_or("(unnamed)"))
    );
    for index in &image.via {
        let _ = writeln!(out, "  via index   {index}");
    }
    descriptor(out, "  manifest    ", &image.descriptor);
    if let Some(platform) = &image.descriptor.platform {
        let _ = writeln!(out, "  platform    {}", clean(&platform.to_string()));
    }
    annotations(out, "  ", "annotations", &image.descriptor.annotations);
    let Some(manifest) = &image.manifest else {
        return;
    };
    if let Some(artifact_type) = &manifest.artifact_type {
        let _ = writeln!(out, "  artifact    {}", clean(artifact_type));
    }
    descriptor(out, "  config      ", &manifest.config);
    if let Some(config) = &image.config {
        describe_config(out, config);
    }
    let _ = writeln!(out, "  layers      {}", manifest.layers.len());
    for layer in &manifest.layers {
        descriptor(out, "    ", layer);
    }
    if let Some(files) = &image.docker_files {
        // The manifest above is derived: say where its blobs are.
        let _ = writeln!(out, "  files       {}", clean(&files.config));
        for layer in &files.layers {
            let _ = writeln!(out, "    {}", clean(layer));
        }
    }
    annotations(out, "  ", "manifest annotations", &manifest.annotations);
}

fn describe_config(out: &mut String, config: &ConfigSummary) {
    let fields = [
        ("created", config.created.clone()),
        ("author", config.author.clone()),
        ("arch", config.architecture.clone()),
        ("os", config.os.clone()),
        (
            "entrypoint",
            config.entrypoint.as_ref().map(|e| format!("{e:?}")),
        ),
        ("cmd", config.cmd.as_ref().map(|c| format!("{c:?}"))),
        ("env", config.env.as_ref().map(|e| format!("{e:?}"))),
        ("workdir", config.working_dir.clone()),
        (
            "diff_ids",
            config.diff_ids.as_ref().map(|d| d.len().to_string()),
        ),
        (
            "layerDigests",
            config.layer_digests.as_ref().map(|d| d.len().to_string()),
        ),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            let _ = writeln!(out, "    {name:<12} {}", clean(&value));
        }
    }
    annotations(out, "    ", "labels", &config.labels);
    if let Some(component) = &config.component {
        let _ = writeln!(out, "    component");
        if let Some(target) = &component.target {
            let _ = writeln!(out, "      target     {}", clean(target));
        }
        for (title, names) in [
            ("imports", &component.imports),
            ("exports", &component.exports),
        ] {
            let _ = writeln!(out, "      {title:<10} {}", names.len());
            for name in names {
                let _ = writeln!(out, "        {}", clean(name));
            }
        }
    }
}

fn descriptor(out: &mut String, lead: &str, descriptor: &Descriptor) {
    let _ = writeln!(
        out,
        "{lead}{} {} ({} bytes)",
        clean(&descriptor.media_type),
        clean(&descriptor.digest),
        descriptor.size
    );
}

fn annotations(out: &mut String, indent: &str, title: &str, map: &BTreeMap<String, String>) {
    if map.is_empty() {
        return;
    }
    let _ = writeln!(out, "{indent}{title}");
    for (key, value) in map {
        let _ = writeln!(out, "{indent}  {}={}", clean(key), clean(value));
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}
