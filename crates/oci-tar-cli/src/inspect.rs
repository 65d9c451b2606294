//! `oci-tar-builder inspect PATH [--json]`: describes the images in any OCI
//! image tar or layout directory, as `regctl manifest get` would.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use oci_layout_reader::{ConfigSummary, Descriptor, Image, LayoutReport};
use serde::Serialize;

use crate::failure::Failure;
use crate::input::read_report;
use crate::terminal::{clean, clean_json};

/// Describe the images in an OCI image tar or layout directory.
#[derive(Debug, Args)]
pub(crate) struct Opts {
    /// The image tar, or OCI image layout directory, to describe; - reads stdin.
    #[arg(value_name = "PATH")]
    pub(crate) file: PathBuf,

    /// Print JSON for scripts instead of text.
    #[arg(long)]
    pub(crate) json: bool,
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
    let text = if opts.json {
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
        clean_json(&json).into_owned()
    } else {
        describe(&shown, &report)
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
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
