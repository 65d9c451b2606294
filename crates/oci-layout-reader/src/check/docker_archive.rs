//! Docker's archive format, as `docker save` wrote it before Docker 25 and
//! as podman's and skopeo's `docker-archive` write it: `manifest.json`
//! lists each image's config file and layer tars by path, `repositories`
//! maps `repository` and `tag` to the image's top layer ID, and there is no
//! `oci-layout` or `index.json`.
//!
//! Its own rules are checked: every path `manifest.json` gives is a regular
//! file (or a link to one inside the archive), each config parses and its
//! `rootfs.diff_ids` are the layer tars' SHA-256 (hashed while they
//! streamed past, never extracted), a config named `<hex>.json` hashes to
//! that name, `RepoTags` are valid references, and `repositories` names
//! only tagged images by their top layer. Symbolic links are allowed only
//! where the format puts them (podman and skopeo write each layer once and
//! link `<id>/layer.tar` to it; Docker links layers shared by images) and
//! only to a regular file inside the archive; every other link is unsafe.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use docker_compat::{normalize_reference, ManifestJsonEntry, MANIFEST_JSON};
use oci_digest::{digest_bytes, Digest};
use oci_layout::Reference;

use super::{
    normalize, shorten, summarize_config, Collector, Kept, ReadConfig, MAX_DOCUMENTS_TOTAL,
    MAX_DOCUMENT_LEN, MAX_IMAGES, OCI_MANIFEST, REPOSITORIES,
};
use crate::problem::Problem;
use crate::report::{
    Descriptor, DockerFiles, Image, LayoutFormat, LayoutReport, Manifest, Platform,
};

/// The media type the derived manifests give a Docker archive's config.
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The media type the derived manifests give its (uncompressed) layers.
const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

/// A regular file a `manifest.json` path leads to.
struct Found {
    /// Its entry name, links resolved.
    name: String,
    size: u64,
    digest: Digest,
    document: Kept,
}

/// What is gathered from `manifest.json` for the later checks.
#[derive(Default)]
struct Gathered {
    /// Every path it gives, normalized: links there are allowed.
    paths: HashSet<String>,
    /// The distinct files its images use.
    used: HashSet<String>,
    /// Each tag (normalized) with the file of its image's top layer.
    top_layers: HashMap<String, Option<String>>,
    /// Configs read, by file name (one shared by images is read once).
    configs: HashMap<String, ReadConfig>,
}

impl Collector {
    /// Checks a Docker archive whose `manifest.json` is `size` bytes,
    /// `kept` as they streamed past.
    pub(super) fn check_docker_archive(mut self, size: u64, kept: Kept) -> LayoutReport {
        let mut report = LayoutReport {
            format: LayoutFormat::DockerArchive,
            ..LayoutReport::default()
        };
        let mut gathered = Gathered::default();
        // Each string (a path or a tag) parsed is about a descriptor's
        // worth of memory: they count against the descriptors cap too.
        let bytes = self
            .root_document(MANIFEST_JSON, size, kept)
            .filter(|bytes| self.may_parse(bytes))
            .filter(|bytes| self.may_list(bytes.iter().filter(|&&b| b == b'"').count() / 2));
        if let Some(entries) = bytes.and_then(|bytes| self.parse_docker_manifest(&bytes)) {
            for entry in &entries {
                if self.gave_up_following {
                    break;
                }
                self.docker_image(entry, &mut gathered, &mut report.images);
            }
        }
        if let Some((size, kept)) = self.root_files.remove(REPOSITORIES) {
            let bytes = self
                .root_document(REPOSITORIES, size, kept)
                .filter(|bytes| self.may_parse(bytes));
            if let Some(bytes) = bytes {
                self.check_repositories(&bytes, &gathered.top_layers);
            }
        }
        let links = std::mem::take(&mut self.links);
        let unsafe_links: HashSet<String> = links
            .iter()
            .filter(|(name, target)| {
                let placed = gathered.paths.contains(*name) || is_legacy_layer(name);
                !placed || !self.files.contains_key(*target)
            })
            .map(|(name, _)| name.clone())
            .collect();
        self.links = links;
        self.report_links(
            "a symbolic link where a Docker archive has none, or to no regular file inside it",
            |name| unsafe_links.contains(name),
        );
        report.blob_count = gathered.used.len();
        report.problems = self.all_problems();
        report
    }

    /// The regular file the `manifest.json` path `path` leads to (through
    /// one link at most); reports a path that leads to none.
    fn docker_file(&mut self, path: &str) -> Option<Found> {
        let name = normalize(path);
        let name = self.links.get(&name).cloned().unwrap_or(name);
        match self.files.get(&name) {
            Some(file) => Some(Found {
                size: file.size,
                digest: file.digest,
                document: file.document.clone(),
                name,
            }),
            None => {
                self.push(Problem::DockerMissingFile {
                    path: shorten(path),
                });
                None
            }
        }
    }

    /// Checks one `manifest.json` entry and lists its images: one per tag.
    fn docker_image(
        &mut self,
        entry: &ManifestJsonEntry,
        gathered: &mut Gathered,
        images: &mut Vec<Image>,
    ) {
        // The images this entry lists, each with its descriptors, count
        // against the caps before anything is built for them.
        let tags = entry.repo_tags.as_ref().map_or(0, Vec::len).max(1);
        let descriptors = tags.saturating_mul(entry.layers.len() + 1);
        if images.len().saturating_add(tags) > MAX_IMAGES || !self.may_list(descriptors) {
            self.give_up();
            return;
        }
        for path in std::iter::once(&entry.config).chain(&entry.layers) {
            gathered.paths.insert(normalize(path));
        }
        let config = self.docker_file(&entry.config);
        let layers: Vec<Option<Found>> = entry
            .layers
            .iter()
            .map(|path| self.docker_file(path))
            .collect();
        for file in config.iter().chain(layers.iter().flatten()) {
            gathered.used.insert(file.name.clone());
        }
        let top_layer = match layers.last() {
            Some(Some(layer)) => Some(layer.name.clone()),
            _ => None,
        };
        let names = self.docker_names(entry.repo_tags.as_deref().unwrap_or_default());
        for tag in entry.repo_tags.iter().flatten() {
            gathered
                .top_layers
                .insert(normalize_reference(tag), top_layer.clone());
        }
        let Some(config) = config else {
            return;
        };
        let read = match gathered.configs.get(&config.name) {
            Some(read) => read.clone(),
            None => {
                let read = self.read_docker_config(&entry.config, &config);
                gathered.configs.insert(config.name.clone(), read.clone());
                read
            }
        };
        let Some(summary) = &read.summary else {
            return;
        };
        let Some(diff_ids) = &summary.diff_ids else {
            self.push(Problem::InvalidDocument {
                name: shorten(&entry.config),
                kind: "image config",
                reason: "it has no rootfs.diff_ids".to_owned(),
            });
            return;
        };
        if diff_ids.len() != entry.layers.len() {
            self.push(Problem::DockerDisagrees {
                config: shorten(&entry.config),
                reason: "its Layers and its config's rootfs.diff_ids differ in number",
            });
            return;
        }
        let mut descriptors = Vec::with_capacity(layers.len());
        for ((path, layer), diff_id) in entry.layers.iter().zip(&layers).zip(diff_ids) {
            let Some(layer) = layer else {
                continue;
            };
            match diff_id.parse::<Digest>() {
                Err(_) => self.push(Problem::UnsupportedDigest {
                    digest: shorten(diff_id),
                    referenced_by: format!("{} (rootfs.diff_ids)", shorten(&entry.config)),
                }),
                Ok(diff_id) if diff_id != layer.digest => {
                    self.push(Problem::DockerDigestMismatch {
                        path: shorten(path),
                        found: layer.digest,
                        expected: diff_id.to_string(),
                        claimed_by: "the config's rootfs.diff_ids",
                    })
                }
                Ok(diff_id) => {
                    descriptors.push(plain_descriptor(OCI_LAYER_TAR, diff_id, layer.size))
                }
            }
        }
        if descriptors.len() != entry.layers.len() {
            return;
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.to_owned()),
            artifact_type: None,
            config: plain_descriptor(OCI_CONFIG, config.digest, config.size),
            layers: descriptors,
            annotations: BTreeMap::new(),
        };
        // Plain strings, numbers and maps serialise without fail.
        let raw: Arc<[u8]> = serde_json::to_vec(&manifest)
            .unwrap_or_else(|_| unreachable!("a manifest serialises"))
            .into();
        let manifest = Arc::new(manifest);
        let platform = match (&summary.os, &summary.architecture) {
            (Some(os), Some(architecture)) => Some(Platform {
                architecture: architecture.clone(),
                os: os.clone(),
                variant: None,
                os_version: None,
            }),
            _ => None,
        };
        let files = DockerFiles {
            config: config.name,
            layers: layers
                .into_iter()
                .flatten()
                .map(|layer| layer.name)
                .collect(),
        };
        let unnamed = [None];
        let names: Vec<Option<Reference>> = if names.is_empty() {
            unnamed.to_vec()
        } else {
            names.into_iter().map(Some).collect()
        };
        for name in names {
            let mut descriptor =
                plain_descriptor(OCI_MANIFEST, digest_bytes(&raw), raw.len() as u64);
            descriptor.platform = platform.clone();
            if let Some(name) = &name {
                descriptor.annotations = oci_layout::naming_annotations(name).into_iter().collect();
            }
            images.push(Image {
                via: Vec::new(),
                descriptor,
                manifest: Some(Arc::clone(&manifest)),
                config: read.summary.clone(),
                raw_manifest: Some(Arc::clone(&raw)),
                raw_config: read.raw.clone(),
                docker_files: Some(files.clone()),
            });
        }
    }

    /// The references `RepoTags` gives, fully qualified as Docker and
    /// containerd name the loaded image; reports the invalid ones.
    fn docker_names(&mut self, tags: &[String]) -> Vec<Reference> {
        let mut names = Vec::new();
        for tag in tags {
            let parsed = tag
                .parse::<Reference>()
                .and_then(|_| normalize_reference(tag).parse::<Reference>());
            match parsed {
                Ok(name) => names.push(name),
                Err(error) => self.push(Problem::DockerInvalidTag {
                    tag: shorten(tag),
                    reason: error.to_string(),
                }),
            }
        }
        names
    }

    /// Reads the config `found` that `manifest.json` names `path`: it must
    /// hash to a `<hex>.json` name and be a JSON object.
    fn read_docker_config(&mut self, path: &str, found: &Found) -> ReadConfig {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        if let Some(named) = file_name
            .strip_suffix(".json")
            .and_then(|hex| format!("sha256:{hex}").parse::<Digest>().ok())
        {
            if named != found.digest {
                self.push(Problem::DockerDigestMismatch {
                    path: shorten(path),
                    found: found.digest,
                    expected: named.to_string(),
                    claimed_by: "its name",
                });
            }
        }
        let name = shorten(path);
        let bytes = match &found.document {
            Kept::Bytes(bytes) => Arc::clone(bytes),
            Kept::TooLarge => {
                self.push(Problem::DocumentTooLarge {
                    name,
                    size: found.size,
                    limit: MAX_DOCUMENT_LEN,
                });
                return ReadConfig::default();
            }
            Kept::OverBudget => {
                self.push(Problem::DocumentBudgetExceeded {
                    name,
                    limit: MAX_DOCUMENTS_TOTAL,
                });
                return ReadConfig::default();
            }
            Kept::NotJson => {
                self.push(Problem::InvalidDocument {
                    name,
                    kind: "image config",
                    reason: "it is not a JSON object".to_owned(),
                });
                return ReadConfig::default();
            }
        };
        if !self.may_parse(&bytes) {
            return ReadConfig::default();
        }
        let summary = match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(serde_json::Value::Object(config)) => Some(Arc::new(summarize_config(&config))),
            Ok(_) => {
                self.push(Problem::InvalidDocument {
                    name,
                    kind: "image config",
                    reason: "it is not a JSON object".to_owned(),
                });
                None
            }
            Err(error) => {
                self.push(Problem::InvalidDocument {
                    name,
                    kind: "image config",
                    reason: error.to_string(),
                });
                None
            }
        };
        ReadConfig {
            summary,
            raw: Some(bytes),
        }
    }

    /// `repositories` (`{"repository":{"tag":"<top layer ID>"}}`) must name
    /// only tags `manifest.json` gives, each by its image's top layer:
    /// `<ID>/layer.tar` is (or links to) that layer's file.
    fn check_repositories(&mut self, bytes: &[u8], top_layers: &HashMap<String, Option<String>>) {
        let repositories =
            match serde_json::from_slice::<BTreeMap<String, BTreeMap<String, String>>>(bytes) {
                Ok(repositories) => repositories,
                Err(error) => {
                    self.push(Problem::InvalidDocument {
                        name: REPOSITORIES.to_owned(),
                        kind: "Docker repositories file",
                        reason: error.to_string(),
                    });
                    return;
                }
            };
        for (repository, tags) in &repositories {
            for (tag, layer_id) in tags {
                let reference = format!("{repository}:{tag}");
                let disagree = |reason| Problem::DockerRepositoriesDisagree {
                    tag: shorten(&reference),
                    reason,
                };
                let Some(top_layer) = top_layers.get(&normalize_reference(&reference)) else {
                    self.push(disagree("manifest.json tags no image so"));
                    continue;
                };
                let Some(top_layer) = top_layer else {
                    // The image's layers are missing: reported already.
                    continue;
                };
                let layer_file = normalize(&format!("{layer_id}/layer.tar"));
                let layer_file = self.links.get(&layer_file).cloned().unwrap_or(layer_file);
                if layer_id.contains('/') || layer_file != *top_layer {
                    self.push(disagree(
                        "its layer ID's layer.tar is not the top layer of the image manifest.json tags so",
                    ));
                }
            }
        }
    }
}

/// A descriptor with only a media type, digest and size.
fn plain_descriptor(media_type: &str, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: digest.to_string(),
        size,
        artifact_type: None,
        platform: None,
        annotations: BTreeMap::new(),
        urls: Vec::new(),
    }
}

/// Whether `name` is a legacy layer file, `<ID>/layer.tar`, which the
/// format links to a layer stored once.
fn is_legacy_layer(name: &str) -> bool {
    matches!(name.split_once('/'), Some((id, "layer.tar")) if !id.is_empty())
}
