//! `oci-tar-builder copy SRC DEST`: copies one image from an image tar or
//! layout directory to a registry (or a tar, or a layout directory),
//! checking the source as `verify` does before anything is sent.

use std::sync::atomic::{AtomicU64, Ordering};

use clap::Args;
use oci_layout::Reference;
use oci_layout_reader::{copy_checked, CopyError, LayoutSource};
use serde::Serialize;

use crate::cli::{parse_output, OutputArg, RegistryOpts};
use crate::failure::Failure;
use crate::output::Output;
use crate::summary::print_json_text;

/// The version of `copy --json`'s schema: raised when a field changes
/// meaning or goes away (new fields may appear without it).
const COPY_SCHEMA_VERSION: u32 = 1;

/// The `copy --json` object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CopySummary {
    schema_version: u32,
    source: Place,
    destination: Place,
    manifest: ManifestField,
    /// Blobs (config and layers) of the image.
    blobs: usize,
    /// Of them, those written now (not already at the destination).
    blobs_written: usize,
    /// For a registry, what the push sent and skipped; `null` otherwise.
    pushed: Option<PushedField>,
}

/// Where an image was read from or went.
#[derive(Serialize)]
struct Place {
    /// `tar`, `oci-dir`, `docker-archive`, `stdout` or `registry`.
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// The tag chosen in the source; the tags pushed under, for a registry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestField {
    media_type: String,
    digest: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PushedField {
    blobs_uploaded: u64,
    bytes_uploaded: u64,
    blobs_skipped: u64,
    blobs_mounted: u64,
    manifests_put: u64,
}

/// The JSON `destination` of `output`.
fn place(output: &OutputArg) -> Place {
    let (kind, path, tags) = match output {
        OutputArg::Stdout => ("stdout", None, Vec::new()),
        OutputArg::TarFile(path) => ("tar", Some(path.display().to_string()), Vec::new()),
        OutputArg::OciDir { dir, .. } => ("oci-dir", Some(dir.display().to_string()), Vec::new()),
        OutputArg::Registry(target) => (
            "registry",
            Some(format!("{}/{}", target.registry(), target.repository())),
            target.tags().to_vec(),
        ),
        // Refused as a copy destination before anything is copied.
        OutputArg::EachReference => ("registry", None, Vec::new()),
    };
    Place { kind, path, tags }
}

/// Copy an image to a registry.
#[derive(Debug, Args)]
pub(crate) struct Opts {
    /// The image to copy: an OCI image tar (oci-archive:FILE, or a path) or
    /// layout directory (oci:DIR[:TAG]; TAG picks the image by its
    /// org.opencontainers.image.ref.name, else the only image is taken), or
    /// a Docker archive as docker save wrote it before Docker 25
    /// (docker-archive:FILE[:REF]; REF picks the image by a RepoTags entry).
    #[arg(value_name = "SRC")]
    pub(crate) source: String,

    /// Where it goes: docker://REGISTRY/REPO:TAG, or oci:DIR, or a tar FILE
    /// (oci-archive:FILE).
    #[arg(value_name = "DEST", value_parser = parse_output)]
    pub(crate) destination: OutputArg,

    /// Push the manifest under this tag too (beside the TAG of
    /// docker://REGISTRY/REPO:TAG); repeatable.
    #[arg(short, long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,

    #[command(flatten)]
    pub(crate) registry: RegistryOpts,

    /// Print nothing on stderr but errors.
    #[arg(short, long)]
    pub(crate) quiet: bool,

    /// Print one JSON object describing the copy (schema in the README) on
    /// stdout (on stderr when DEST is -), and no other lines but errors.
    #[arg(long, conflicts_with = "verbose")]
    pub(crate) json: bool,

    /// Also say on stderr where credentials came from; never secrets.
    #[arg(short, long, conflicts_with = "quiet")]
    pub(crate) verbose: bool,
}

/// Where `copy` reads from: `oci-archive:FILE`, `oci:DIR[:TAG]`,
/// `docker-archive:FILE[:REF]`, or a path (a directory is a layout
/// directory, anything else a tar).
pub(crate) fn parse_source(value: &str) -> Result<(LayoutSource, Option<String>), Failure> {
    if let Some(rest) = value.strip_prefix("docker-archive:") {
        // As skopeo does: the file ends at the first ':'.
        let (file, reference) = match rest.split_once(':') {
            Some((file, reference)) => (file, Some(reference.to_owned())),
            None => (rest, None),
        };
        if file.is_empty() || reference.as_deref() == Some("") {
            return Err(Failure::usage(
                "docker-archive: needs a file, as in docker-archive:FILE or docker-archive:FILE:REF",
            ));
        }
        return Ok((LayoutSource::Tar(file.into()), reference));
    }
    match parse_output(value).map_err(Failure::usage)? {
        OutputArg::TarFile(path) if path.is_dir() && !value.starts_with("oci-archive:") => {
            Ok((LayoutSource::Dir(path), None))
        }
        OutputArg::TarFile(path) => Ok((LayoutSource::Tar(path), None)),
        OutputArg::OciDir { dir, tag } => Ok((LayoutSource::Dir(dir), tag)),
        OutputArg::Stdout => Err(Failure::usage(
            "copy reads its source twice (checked first, then sent): give a file, not -",
        )),
        OutputArg::Registry(_) | OutputArg::EachReference => Err(Failure::usage(
            "copy from docker://… is not supported yet: the source is an image tar or oci:DIR",
        )),
    }
}

/// Checks the source, then copies its image.
pub(crate) fn run(opts: Opts) -> Result<(), Failure> {
    crate::output::handle_signals()
        .map_err(|e| Failure::failed(format!("cannot handle SIGINT and SIGTERM: {e}")))?;
    let (source, tag) = parse_source(&opts.source)?;
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
    let mut destination = opts.destination.clone();
    let reference = match &mut destination {
        OutputArg::Registry(target) => {
            for extra in &opts.tags {
                target.add_tag(extra).map_err(Failure::usage)?;
            }
            let first = target.tags().first().cloned().unwrap_or_default();
            let reference: Reference =
                format!("{}/{}:{first}", target.registry(), target.repository())
                    .parse()
                    .map_err(Failure::usage)?;
            Some(reference)
        }
        _ if !opts.tags.is_empty() => {
            return Err(Failure::usage(
                "--tag adds tags to a docker://… destination only",
            ))
        }
        OutputArg::OciDir { tag: Some(_), .. } => {
            return Err(Failure::usage(
                "copy keeps the image's own name in oci:DIR: give oci:DIR without a tag",
            ))
        }
        OutputArg::EachReference => {
            return Err(Failure::usage(
                "copy needs a destination reference: docker://REGISTRY/REPO:TAG",
            ))
        }
        _ => None,
    };
    // Check the source before connecting: a corrupt source never reaches
    // the destination, and is named with each of its problems.
    let report = oci_layout_reader::read_source(&source).map_err(Failure::failed)?;
    let shown = source.path().display().to_string();
    if !report.is_valid() {
        return Err(Failure::problems(&shown, &report.problems));
    }
    let mut output = Output::open(&destination, &opts.registry, &tell)?;
    let described = output.describe().to_owned();
    let copied = copy_checked(
        &source,
        report,
        tag.as_deref(),
        output.destination().sink(),
        reference.as_ref(),
    )
    .map_err(|error| match error {
        CopyError::Invalid { problems, .. } => Failure::problems(&shown, &problems),
        CopyError::Sink(error) => Failure::failed(format!("{described}: {error}")),
        other => Failure::failed(other),
    })?;
    let pushed = output.push_summary();
    let stats = output.push_stats();
    output.finish()?;
    if opts.json {
        let summary = CopySummary {
            schema_version: COPY_SCHEMA_VERSION,
            source: Place {
                kind: match (&source, opts.source.starts_with("docker-archive:")) {
                    (_, true) => "docker-archive",
                    (LayoutSource::Dir(_), _) => "oci-dir",
                    _ => "tar",
                },
                path: Some(shown.clone()),
                tags: tag.iter().cloned().collect(),
            },
            destination: place(&destination),
            manifest: ManifestField {
                media_type: copied.media_type.clone(),
                digest: copied.manifest_digest.to_string(),
            },
            blobs: copied.blobs,
            blobs_written: copied.blobs_written,
            pushed: stats.map(|stats| {
                let count = |n: &AtomicU64| n.load(Ordering::Relaxed);
                PushedField {
                    blobs_uploaded: count(&stats.blobs_uploaded),
                    bytes_uploaded: count(&stats.bytes_uploaded),
                    blobs_skipped: count(&stats.blobs_skipped),
                    blobs_mounted: count(&stats.blobs_mounted),
                    manifests_put: count(&stats.manifests_put),
                }
            }),
        };
        let json = serde_json::to_string_pretty(&summary)
            .map_err(|e| Failure::failed(format!("writing the JSON summary: {e}")))?;
        return print_json_text(
            &format!("{json}\n"),
            matches!(destination, OutputArg::Stdout),
        );
    }
    say(format!("copied {shown} to {described}"));
    say(format!(
        "  manifest  {} ({})",
        copied.manifest_digest, copied.media_type
    ));
    if let Some(line) = pushed {
        say(line);
    }
    Ok(())
}
