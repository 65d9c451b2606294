//! What the main job reports: the human lines on stderr, or with `--json`
//! one JSON object (schema version [`SCHEMA_VERSION`], documented in the
//! README) on stdout, or on stderr when the tar goes to stdout.

use std::io::Write;

use serde::Serialize;
use wasm_artifact::{Descriptor, ImageShape, LayerDescriptor, WrittenImage};

use crate::package::Written;

use crate::cli::OutputArg;
use crate::failure::Failure;

/// The version of the `--json` object's schema: raised when a field changes
/// meaning or goes away (new fields may appear without it).
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// The `--json` object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    schema_version: u32,
    dry_run: bool,
    reference: String,
    destination: DestinationField,
    /// The image's shape, or `index` for several shapes in one image index.
    shape: &'static str,
    platform: Option<PlatformField>,
    /// The `index.json` written; `null` for a registry, which has none.
    index: Option<Blob>,
    /// The image's manifest, or the image index listing the shapes.
    manifest: Blob,
    /// The image's config (absent for an image index).
    #[serde(skip_serializing_if = "Option::is_none")]
    config: Option<Blob>,
    /// The image's layers (absent for an image index).
    #[serde(skip_serializing_if = "Option::is_none")]
    layers: Option<Vec<Blob>>,
    /// For an image index, each image in it (absent otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<ImageSummary>,
}

/// One image of an image index.
#[derive(Serialize)]
struct ImageSummary {
    shape: &'static str,
    platform: Option<PlatformField>,
    manifest: Blob,
    config: Blob,
    layers: Vec<Blob>,
}

impl ImageSummary {
    fn of(written: &WrittenImage) -> Self {
        ImageSummary {
            shape: shape_name(written.shape),
            platform: platform_field(&written.manifest),
            manifest: (&written.manifest).into(),
            config: (&written.config_descriptor).into(),
            layers: written.layer_descriptors.iter().map(Blob::from).collect(),
        }
    }
}

/// The name `--shape` takes.
fn shape_name(shape: ImageShape) -> &'static str {
    match shape {
        ImageShape::WasmLayers => "wasm-layers",
        ImageShape::Artifact => "artifact",
        ImageShape::Compat => "compat",
    }
}

fn platform_field(descriptor: &Descriptor) -> Option<PlatformField> {
    descriptor
        .platform()
        .as_ref()
        .map(|platform| PlatformField {
            os: platform.os().to_string(),
            architecture: platform.architecture().to_string(),
        })
}

#[derive(Serialize)]
struct DestinationField {
    /// `tar`, `stdout` or `oci-dir`.
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
}

#[derive(Serialize)]
struct PlatformField {
    os: String,
    architecture: String,
}

/// One blob: media type, digest, size.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Blob {
    media_type: String,
    digest: String,
    size: u64,
}

impl From<&LayerDescriptor> for Blob {
    fn from(layer: &LayerDescriptor) -> Self {
        Blob {
            media_type: layer.media_type.clone(),
            digest: layer.digest.to_string(),
            size: layer.size,
        }
    }
}

impl From<&Descriptor> for Blob {
    fn from(descriptor: &Descriptor) -> Self {
        Blob {
            media_type: descriptor.media_type().to_string(),
            digest: descriptor.digest().to_string(),
            size: descriptor.size(),
        }
    }
}

impl Summary {
    /// The summary of `written` into `output`, whose `index.json` is `index`.
    pub(crate) fn new(
        written: &Written,
        index: Option<&Descriptor>,
        output: &OutputArg,
        dry_run: bool,
    ) -> Self {
        let destination = match output {
            OutputArg::Stdout => DestinationField {
                kind: "stdout",
                path: None,
            },
            OutputArg::TarFile(path) => DestinationField {
                kind: "tar",
                path: Some(path.display().to_string()),
            },
            OutputArg::OciDir { dir, .. } => DestinationField {
                kind: "oci-dir",
                path: Some(dir.display().to_string()),
            },
            OutputArg::Registry(target) => DestinationField {
                kind: "registry",
                path: Some(target.to_string()),
            },
            OutputArg::EachReference => DestinationField {
                kind: "registry",
                path: None,
            },
        };
        match written {
            Written::Image(written) => Summary {
                schema_version: SCHEMA_VERSION,
                dry_run,
                reference: written.reference.to_string(),
                destination,
                shape: shape_name(written.shape),
                platform: platform_field(&written.manifest),
                index: index.map(Blob::from),
                manifest: (&written.manifest).into(),
                config: Some((&written.config_descriptor).into()),
                layers: Some(written.layer_descriptors.iter().map(Blob::from).collect()),
                images: Vec::new(),
            },
            Written::Index(written) => Summary {
                schema_version: SCHEMA_VERSION,
                dry_run,
                reference: written.reference.to_string(),
                destination,
                shape: "index",
                platform: None,
                index: index.map(Blob::from),
                manifest: (&written.index).into(),
                config: None,
                layers: None,
                images: written.images.iter().map(ImageSummary::of).collect(),
            },
        }
    }

    /// The JSON text, pretty-printed, with a final newline.
    pub(crate) fn json(&self) -> String {
        // Strings, numbers and booleans serialise without fail.
        let mut json = serde_json::to_string_pretty(self)
            .unwrap_or_else(|_| unreachable!("the summary serialises"));
        json.push('\n');
        json
    }

    /// The human lines: what was written and every digest.
    pub(crate) fn text(&self, shown: &str) -> String {
        let mut text = if self.dry_run {
            format!("dry run, nothing written to {shown}\n")
        } else if self.destination.kind == "registry" {
            format!("pushed {shown}\n")
        } else {
            format!("wrote {shown}\n")
        };
        text.push_str(&format!(
            "  image     {}\n  {}  {}",
            self.reference,
            if self.images.is_empty() {
                "manifest"
            } else {
                "index   "
            },
            self.manifest.digest
        ));
        if !self.dry_run {
            for image in &self.images {
                text.push_str(&format!("\n  {:<9} {}", image.shape, image.manifest.digest));
            }
        }
        if self.dry_run {
            if let Some(index) = &self.index {
                text.push_str(&format!("\n  index     {}", index.digest));
            }
            if let Some(config) = &self.config {
                text.push_str(&format!("\n  config    {}", config.digest));
            }
            for layer in self.layers.iter().flatten() {
                text.push_str(&format!("\n  layer     {}", layer.digest));
            }
            for image in &self.images {
                text.push_str(&format!(
                    "\n  {:<9} {}\n  config    {}",
                    image.shape, image.manifest.digest, image.config.digest
                ));
                for layer in &image.layers {
                    text.push_str(&format!("\n  layer     {}", layer.digest));
                }
            }
        }
        text
    }
}

/// Prints the `--json` object: on stdout, or on stderr when `tar_on_stdout`.
pub(crate) fn print_json(summary: &Summary, tar_on_stdout: bool) -> Result<(), Failure> {
    print_json_text(&summary.json(), tar_on_stdout)
}

/// Prints a JSON text: on stdout, or on stderr when `tar_on_stdout`.
pub(crate) fn print_json_text(json: &str, tar_on_stdout: bool) -> Result<(), Failure> {
    let written = if tar_on_stdout {
        let mut stderr = std::io::stderr().lock();
        stderr
            .write_all(json.as_bytes())
            .and_then(|()| stderr.flush())
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(json.as_bytes())
            .and_then(|()| stdout.flush())
    };
    written.map_err(|error| {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::failed(format!("writing the JSON summary: {error}"))
        }
    })
}

/// How the human lines name the destination `output` (as when it is opened).
pub(crate) fn shown(output: &OutputArg) -> String {
    match output {
        OutputArg::Stdout => "stdout".to_owned(),
        OutputArg::TarFile(path) => path.display().to_string(),
        OutputArg::OciDir { dir, .. } => format!("oci:{}", dir.display()),
        OutputArg::Registry(target) => format!("docker://{target}"),
        OutputArg::EachReference => "docker://".to_owned(),
    }
}
