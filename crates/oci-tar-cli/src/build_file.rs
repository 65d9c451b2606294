//! `-f images.toml`: several images in one tar or layout directory, each
//! described by the same fields as the command-line flags.
//!
//! ```toml
//! [[image]]
//! name = "app"
//! repo = "ghcr.io/example"
//! tag = "v1"
//! shapes = ["wasm-layers", "compat"]
//! modules = ["app.wasm"]
//! layers = ["application/vnd.oci.image.layer.v1.tar=rootfs.tar"]
//! annotations = { "org.opencontainers.image.source" = "https://example.com/app" }
//! author = "Example"
//! platform = "wasi/wasm"
//! created = "2024-06-25T15:48:49Z"
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use wasm_artifact::{Reference, Timestamp};

use crate::cli::{parse_layer, parse_platform, OutputArg, PackageOpts, ShapeArg};
use crate::failure::Failure;

/// The whole file: one `[[image]]` table per image.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildFile {
    image: Vec<ImageEntry>,
}

/// One `[[image]]`: the command-line flags' fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageEntry {
    name: Spanned<String>,
    repo: Option<Spanned<String>>,
    tag: Option<Spanned<String>>,
    #[serde(default)]
    shapes: Vec<ShapeArg>,
    modules: Spanned<Vec<String>>,
    #[serde(default)]
    layers: Vec<Spanned<String>>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    author: Option<String>,
    platform: Option<Spanned<String>>,
    created: Option<Spanned<String>>,
}

/// Reads the build file at `path`: one set of package options per image,
/// each the command line's `cli` with the image's fields, paths taken
/// relative to the file's folder. Errors name the file, line and column.
pub(crate) fn read(path: &Path, cli: &PackageOpts) -> Result<Vec<PackageOpts>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::failed(format!("{}: {e}", path.display())))?;
    let at = |span: Option<Range<usize>>, message: &str| {
        let (line, column) = span.map_or((1, 1), |span| line_column(&text, span.start));
        Failure::usage(format!(
            "{}:{line}:{column}: {}",
            path.display(),
            message.trim_end()
        ))
    };
    let file: BuildFile = toml::from_str(&text).map_err(|e| at(e.span(), e.message()))?;
    if file.image.is_empty() {
        return Err(at(None, "no [[image]] tables"));
    }
    if matches!(cli.out_path, OutputArg::Registry(_)) {
        return Err(Failure::usage(
            "-f pushes each image to its own reference with -o docker:// (no REGISTRY/REPO:TAG)",
        ));
    }
    let base = path.parent().unwrap_or(Path::new(""));
    let relative = |value: &str| -> PathBuf {
        let path = Path::new(value);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.join(path)
        }
    };
    let mut requests = Vec::with_capacity(file.image.len());
    let mut references: Vec<Reference> = Vec::with_capacity(file.image.len());
    for entry in file.image {
        let tag = entry.tag.as_ref().map(|tag| tag.get_ref().clone());
        let reference = Reference::from_parts(
            entry.repo.as_ref().map(|repo| repo.get_ref().as_str()),
            entry.name.get_ref(),
            tag.as_deref().unwrap_or("latest"),
        )
        .map_err(|e| at(Some(entry.name.span()), &e.to_string()))?;
        // One name, one image: a second would hide the first from readers
        // that look images up by name.
        if references.contains(&reference) {
            return Err(at(
                Some(entry.name.span()),
                &format!("{reference} is named by an earlier [[image]] too; give each image its own name or tag"),
            ));
        }
        references.push(reference);
        if entry.modules.get_ref().is_empty() {
            return Err(at(
                Some(entry.modules.span()),
                "modules is empty: an image needs a wasm module or component",
            ));
        }
        let mut layers = Vec::with_capacity(entry.layers.len());
        for layer in &entry.layers {
            let mut parsed =
                parse_layer(layer.get_ref()).map_err(|e| at(Some(layer.span()), &e))?;
            parsed.path = relative(&parsed.path.to_string_lossy());
            layers.push(parsed);
        }
        let platform = match &entry.platform {
            Some(platform) => Some(
                parse_platform(platform.get_ref()).map_err(|e| at(Some(platform.span()), &e))?,
            ),
            None => None,
        };
        let created = match &entry.created {
            Some(created) => Some(
                Timestamp::parse_rfc3339(created.get_ref())
                    .map_err(|e| at(Some(created.span()), &e.to_string()))?,
            ),
            None => None,
        };
        let mut request = cli.clone();
        request.build_file = None;
        request.name = Some(entry.name.into_inner());
        request.repo = entry.repo.map(Spanned::into_inner);
        request.tags = tag.into_iter().collect();
        request.shapes = entry.shapes;
        request.modules = entry
            .modules
            .into_inner()
            .iter()
            .map(|module| relative(module))
            .collect();
        request.layers = layers;
        request.annotations = entry.annotations.into_iter().collect();
        request.author = entry.author;
        request.platform = platform;
        request.created = created;
        requests.push(request);
    }
    Ok(requests)
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |line| line.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let text = "a = 1\nbé = x\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, text.find('x').unwrap()), (2, 6));
    }
}
