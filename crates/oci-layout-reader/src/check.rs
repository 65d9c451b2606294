//! Reading and checking any OCI image-layout tar, treating it as hostile.
//!
//! The tar is read once, front to back: every blob is hashed as it passes
//! and only small JSON documents are kept, so memory stays flat however
//! large the tar. Then the references are followed from `index.json`
//! through nested indexes and manifests to configs and layers, against what
//! was seen. Nothing is extracted to disk and nothing a link names is read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Read};

use oci_digest::{Digest, Sha256};
use serde::{Deserialize, Serialize};

use crate::problem::Problem;
use crate::tar_stream::{EntryKind, TarError, TarStream, MAX_NAME_LEN};
use oci_layout::{annotations, INDEX_FILE, OCI_LAYOUT_FILE};

/// The largest JSON document (index, manifest, config, `oci-layout`,
/// `manifest.json`) the reader keeps in memory; a larger one is reported.
pub const MAX_DOCUMENT_LEN: u64 = 4 * 1024 * 1024;
/// The most JSON bytes kept in memory altogether.
pub const MAX_DOCUMENTS_TOTAL: u64 = 64 * 1024 * 1024;
/// The most entries read from one tar.
pub const MAX_ENTRIES: usize = 100_000;
/// The most bytes of entry names remembered (to find duplicates) altogether.
pub const MAX_NAMES_TOTAL: usize = 8 * 1024 * 1024;
/// The most bytes of JSON parsed while following references, counting a
/// document each time it is reached: bounds the work a hostile index that
/// refers to the same nested index over and over can cause.
pub const MAX_PARSED_TOTAL: u64 = 64 * 1024 * 1024;
/// The most image manifests listed (counting repeats).
pub const MAX_IMAGES: usize = 10_000;
/// How deep nested image indexes are followed.
const MAX_INDEX_DEPTH: usize = 8;
/// Docker's root file.
const DOCKER_MANIFEST: &str = "manifest.json";

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// The input could not be read at all (an I/O error, not a bad tar).
#[derive(Debug, thiserror::Error)]
#[error("reading the tar: {source}")]
pub struct ReadError {
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

/// A content descriptor as found in an index or manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of what it points at.
    pub media_type: String,
    /// The digest, as written (not necessarily sha256).
    pub digest: String,
    /// The size in bytes.
    pub size: u64,
    /// The artifact type, for manifests of artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The platform, on index entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Where the blob can be fetched instead (foreign layers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
}

/// The platform on an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`wasm`, `amd64`...).
    pub architecture: String,
    /// Operating system (`wasip1`, `linux`...).
    pub os: String,
    /// CPU variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// OS version.
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// An image index (`index.json` or a nested one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// The index's own media type, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests (or nested indexes) it lists.
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's own media type, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type, for artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, in order.
    pub layers: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The fields of an image config (OCI, Docker or the CNCF wasm config)
/// worth showing; absent ones are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSummary {
    /// `created`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// `author`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// `architecture`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// `os`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// `config.Entrypoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// `config.Cmd`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmd: Option<Vec<String>>,
    /// `config.Labels`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `rootfs.diff_ids` (OCI/Docker configs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_ids: Option<Vec<String>>,
    /// `layerDigests` (the CNCF wasm config).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_digests: Option<Vec<String>>,
}

/// One image manifest reached from `index.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// The digests of the nested indexes passed through, outermost first
    /// (empty when `index.json` lists the manifest itself).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    /// The descriptor that points at the manifest.
    pub descriptor: Descriptor,
    /// The manifest, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    /// The config's interesting fields, when it is a JSON config that could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigSummary>,
}

impl Image {
    /// The image's name: `io.containerd.image.name`, else
    /// `org.opencontainers.image.ref.name`, from the descriptor.
    pub fn name(&self) -> Option<&str> {
        let annotations = &self.descriptor.annotations;
        annotations
            .get(annotations::CONTAINERD_IMAGE_NAME)
            .or_else(|| annotations.get(annotations::REF_NAME))
            .map(String::as_str)
    }
}

/// What [`read_layout`] found: the images and every problem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayoutReport {
    /// `index.json`, when it could be read.
    pub index: Option<Index>,
    /// Every image manifest reached from `index.json`, in order.
    pub images: Vec<Image>,
    /// How many blobs the tar holds.
    pub blob_count: usize,
    /// Everything wrong, in the order found. Empty for a valid layout.
    #[serde(serialize_with = "problems_as_text")]
    pub problems: Vec<Problem>,
}

fn problems_as_text<S: serde::Serializer>(
    problems: &[Problem],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(problems.iter().map(ToString::to_string))
}

impl LayoutReport {
    /// Whether the layout is valid: no problem found.
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A blob seen in the tar.
struct SeenBlob {
    size: u64,
    /// Its bytes, when they were kept as a JSON document.
    document: Option<Kept>,
}

enum Kept {
    Bytes(Vec<u8>),
    TooLarge,
    OverBudget,
    NotJson,
}

/// Reads the image tar `input` once and checks it: the layout marker,
/// `index.json` and everything it reaches (nested indexes, manifests,
/// configs, layers: present, right size, right digest), every blob's bytes
/// against its name, `manifest.json` against the OCI side, and every entry
/// for being safe to extract.
///
/// Problems in the tar are listed in the report, never returned as errors;
/// the error is only for an input that cannot be read at all.
pub fn read_layout(input: impl Read) -> Result<LayoutReport, ReadError> {
    let mut reader = LayoutReader::default();
    reader.read_tar(input)?;
    if let [Problem::BadHeader { offset: 0, .. }] = &reader.problems[..] {
        // Not a tar at all: its missing files are not worth listing.
        return Ok(LayoutReport {
            problems: reader.problems,
            ..LayoutReport::default()
        });
    }
    Ok(reader.check())
}

#[derive(Default)]
struct LayoutReader {
    problems: Vec<Problem>,
    names: BTreeSet<String>,
    blobs: HashMap<Digest, SeenBlob>,
    root_files: HashMap<&'static str, (u64, Kept)>,
    kept_total: u64,
    names_total: usize,
    parsed_total: u64,
    gave_up_following: bool,
}

impl LayoutReader {
    fn read_tar(&mut self, input: impl Read) -> Result<(), ReadError> {
        let mut tar = TarStream::new(input);
        let mut entries = 0;
        loop {
            let header = match tar.next_header() {
                Ok(Some(header)) => header,
                Ok(None) => return Ok(()),
                Err(error) => return self.stopped(error),
            };
            entries += 1;
            if entries > MAX_ENTRIES {
                self.problems
                    .push(Problem::TooManyEntries { limit: MAX_ENTRIES });
                return Ok(());
            }
            let name = header.name.clone();
            let result = match self.classify(&header.name, header.kind) {
                Target::Stop => {
                    self.problems
                        .push(Problem::TooManyEntries { limit: MAX_ENTRIES });
                    return Ok(());
                }
                Target::Skip => tar.data(header.size, Some(&name), |_| {}),
                Target::Blob { digest } => {
                    let mut hasher = Sha256::new();
                    let mut keeper = Keeper::new(header.size, self.budget_left());
                    let result = tar.data(header.size, Some(&name), |chunk| {
                        hasher.update(chunk);
                        keeper.feed(chunk);
                    });
                    if result.is_ok() {
                        let found = hasher.finish();
                        if found != digest {
                            self.problems
                                .push(Problem::BlobDigestMismatch { digest, found });
                        }
                        let document = keeper.finish();
                        if let Kept::Bytes(bytes) = &document {
                            self.kept_total += bytes.len() as u64;
                        }
                        self.blobs.insert(
                            digest,
                            SeenBlob {
                                size: header.size,
                                document: Some(document),
                            },
                        );
                    }
                    result
                }
                Target::RootFile(file) => {
                    let mut keeper = Keeper::new(header.size, self.budget_left());
                    keeper.any_json = true;
                    let result = tar.data(header.size, Some(&name), |chunk| keeper.feed(chunk));
                    let document = keeper.finish();
                    if let Kept::Bytes(bytes) = &document {
                        self.kept_total += bytes.len() as u64;
                    }
                    self.root_files.insert(file, (header.size, document));
                    result
                }
            };
            if let Err(error) = result {
                return self.stopped(error);
            }
        }
    }

    fn budget_left(&self) -> u64 {
        MAX_DOCUMENTS_TOTAL.saturating_sub(self.kept_total)
    }

    fn stopped(&mut self, error: TarError) -> Result<(), ReadError> {
        match error {
            TarError::Io(source) => return Err(ReadError { source }),
            TarError::Truncated { entry } => self.problems.push(Problem::Truncated { entry }),
            TarError::BadHeader { offset, reason } => {
                self.problems.push(Problem::BadHeader { offset, reason })
            }
        }
        Ok(())
    }

    /// What to do with an entry's data; reports unsafe and duplicate entries.
    fn classify(&mut self, raw_name: &str, kind: EntryKind) -> Target {
        let unsafe_entry = |reason| Problem::UnsafeEntry {
            name: raw_name.to_owned(),
            reason,
        };
        if raw_name.len() as u64 > MAX_NAME_LEN {
            self.problems
                .push(unsafe_entry("the name is longer than 4096 bytes"));
            return Target::Skip;
        }
        if raw_name.starts_with('/') {
            self.problems.push(unsafe_entry("an absolute path"));
            return Target::Skip;
        }
        if raw_name.split('/').any(|part| part == "..") {
            self.problems
                .push(unsafe_entry("a path with '..' that leaves the image"));
            return Target::Skip;
        }
        let reason = match kind {
            EntryKind::File | EntryKind::Directory => None,
            EntryKind::GlobalHeader => return Target::Skip,
            EntryKind::HardLink => Some("a hard link (links are not followed)"),
            EntryKind::SymLink => Some("a symbolic link (links are not followed)"),
            EntryKind::Device => Some("a device file"),
            EntryKind::Fifo => Some("a FIFO"),
            EntryKind::Other(_) => Some("an entry type image tars do not use"),
        };
        if let Some(reason) = reason {
            self.problems.push(unsafe_entry(reason));
            return Target::Skip;
        }
        let name = normalize(raw_name);
        if kind == EntryKind::Directory {
            return Target::Skip;
        }
        self.names_total += name.len();
        if self.names_total > MAX_NAMES_TOTAL {
            return Target::Stop;
        }
        if !self.names.insert(name.clone()) {
            self.problems.push(Problem::DuplicateEntry { name });
            return Target::Skip;
        }
        if let Some(encoded) = name.strip_prefix("blobs/sha256/") {
            return match format!("sha256:{encoded}").parse() {
                Ok(digest) => Target::Blob { digest },
                Err(_) => {
                    self.problems.push(Problem::InvalidBlobName { name });
                    Target::Skip
                }
            };
        }
        match name.as_str() {
            OCI_LAYOUT_FILE => Target::RootFile(OCI_LAYOUT_FILE),
            INDEX_FILE => Target::RootFile(INDEX_FILE),
            DOCKER_MANIFEST => Target::RootFile(DOCKER_MANIFEST),
            _ => Target::Skip,
        }
    }

    /// Follows the references, once the whole tar has been seen.
    fn check(mut self) -> LayoutReport {
        let mut report = LayoutReport {
            blob_count: self.blobs.len(),
            ..LayoutReport::default()
        };
        match self.root_files.remove(OCI_LAYOUT_FILE) {
            None => self.problems.push(Problem::MissingLayoutFile),
            Some((size, kept)) => {
                if let Some(bytes) = self.root_document(OCI_LAYOUT_FILE, size, kept) {
                    check_layout_version(&bytes, &mut self.problems);
                }
            }
        }
        match self.root_files.remove(INDEX_FILE) {
            None => self.problems.push(Problem::MissingIndex),
            Some((size, kept)) => {
                if let Some(bytes) = self.root_document(INDEX_FILE, size, kept) {
                    match parse::<Index>(INDEX_FILE, "image index", &bytes) {
                        Ok(index) => {
                            let mut visiting = Vec::new();
                            for descriptor in &index.manifests {
                                self.follow(
                                    descriptor,
                                    INDEX_FILE,
                                    &mut visiting,
                                    &mut report.images,
                                );
                            }
                            report.index = Some(index);
                        }
                        Err(problem) => self.problems.push(problem),
                    }
                }
            }
        }
        if let Some((size, kept)) = self.root_files.remove(DOCKER_MANIFEST) {
            if let Some(bytes) = self.root_document(DOCKER_MANIFEST, size, kept) {
                self.check_docker_manifest(&bytes, &report.images);
            }
        }
        report.problems = self.problems;
        report
    }

    fn root_document(&mut self, name: &str, size: u64, kept: Kept) -> Option<Vec<u8>> {
        match kept {
            Kept::Bytes(bytes) => Some(bytes),
            Kept::TooLarge | Kept::NotJson => {
                self.problems.push(Problem::DocumentTooLarge {
                    name: name.to_owned(),
                    size,
                    limit: MAX_DOCUMENT_LEN,
                });
                None
            }
            Kept::OverBudget => {
                self.problems.push(Problem::DocumentBudgetExceeded {
                    name: name.to_owned(),
                    limit: MAX_DOCUMENTS_TOTAL,
                });
                None
            }
        }
    }

    /// Checks that `descriptor`'s blob is there with its size; returns the
    /// digest when it is.
    fn check_blob(&mut self, descriptor: &Descriptor, referenced_by: &str) -> Option<Digest> {
        let Ok(digest) = descriptor.digest.parse::<Digest>() else {
            self.problems.push(Problem::UnsupportedDigest {
                digest: descriptor.digest.clone(),
                referenced_by: referenced_by.to_owned(),
            });
            return None;
        };
        let Some(blob) = self.blobs.get(&digest) else {
            // Foreign layers (with urls) may live elsewhere.
            if descriptor.urls.is_empty() {
                self.problems.push(Problem::MissingBlob {
                    digest,
                    referenced_by: referenced_by.to_owned(),
                });
            }
            return None;
        };
        if blob.size != descriptor.size {
            self.problems.push(Problem::SizeMismatch {
                digest,
                expected: descriptor.size,
                found: blob.size,
                referenced_by: referenced_by.to_owned(),
            });
            return None;
        }
        Some(digest)
    }

    /// Counts `len` bytes of JSON against the parse budget; false (once
    /// reported) when it is spent.
    fn may_parse(&mut self, len: usize) -> bool {
        if self.gave_up_following {
            return false;
        }
        self.parsed_total += len as u64;
        if self.parsed_total > MAX_PARSED_TOTAL {
            self.gave_up_following = true;
            self.problems.push(Problem::TooMuchToCheck {
                limit: MAX_PARSED_TOTAL,
            });
            return false;
        }
        true
    }

    /// The bytes of the JSON blob `digest` (already checked to exist).
    fn blob_document(&mut self, digest: Digest, kind: &'static str) -> Option<Vec<u8>> {
        let blob = self.blobs.get(&digest)?;
        let name = digest.blob_path();
        match &blob.document {
            Some(Kept::Bytes(bytes)) => {
                let bytes = bytes.clone();
                self.may_parse(bytes.len()).then_some(bytes)
            }
            Some(Kept::TooLarge) => {
                let size = blob.size;
                self.problems.push(Problem::DocumentTooLarge {
                    name,
                    size,
                    limit: MAX_DOCUMENT_LEN,
                });
                None
            }
            Some(Kept::OverBudget) => {
                self.problems.push(Problem::DocumentBudgetExceeded {
                    name,
                    limit: MAX_DOCUMENTS_TOTAL,
                });
                None
            }
            Some(Kept::NotJson) | None => {
                self.problems.push(Problem::InvalidDocument {
                    name,
                    kind,
                    reason: "it is not a JSON object".to_owned(),
                });
                None
            }
        }
    }

    /// Follows one index entry: a nested index or a manifest.
    fn follow(
        &mut self,
        descriptor: &Descriptor,
        referenced_by: &str,
        visiting: &mut Vec<Digest>,
        images: &mut Vec<Image>,
    ) {
        if self.gave_up_following {
            return;
        }
        if images.len() >= MAX_IMAGES {
            self.gave_up_following = true;
            self.problems.push(Problem::TooMuchToCheck {
                limit: MAX_PARSED_TOTAL,
            });
            return;
        }
        let Some(digest) = self.check_blob(descriptor, referenced_by) else {
            if is_manifest(&descriptor.media_type) {
                images.push(Image {
                    via: visiting.iter().map(Digest::to_string).collect(),
                    descriptor: descriptor.clone(),
                    manifest: None,
                    config: None,
                });
            }
            return;
        };
        let media_type = descriptor.media_type.as_str();
        if media_type == OCI_INDEX || media_type == DOCKER_LIST {
            if visiting.len() >= MAX_INDEX_DEPTH || visiting.contains(&digest) {
                self.problems.push(Problem::NestingTooDeep { digest });
                return;
            }
            let Some(bytes) = self.blob_document(digest, "image index") else {
                return;
            };
            let name = digest.blob_path();
            match parse::<Index>(&name, "image index", &bytes) {
                Ok(index) => {
                    visiting.push(digest);
                    let by = format!("image index {digest}");
                    for child in &index.manifests {
                        self.follow(child, &by, visiting, images);
                    }
                    visiting.pop();
                }
                Err(problem) => self.problems.push(problem),
            }
        } else if is_manifest(media_type) {
            let mut image = Image {
                via: visiting.iter().map(Digest::to_string).collect(),
                descriptor: descriptor.clone(),
                manifest: None,
                config: None,
            };
            if let Some(bytes) = self.blob_document(digest, "image manifest") {
                match parse::<Manifest>(&digest.blob_path(), "image manifest", &bytes) {
                    Ok(manifest) => {
                        image.config = self.check_manifest(digest, &manifest);
                        image.manifest = Some(manifest);
                    }
                    Err(problem) => self.problems.push(problem),
                }
            }
            images.push(image);
        }
        // Any other media type: the blob's presence and size are all there is to check.
    }

    /// Checks a manifest's config and layers; returns the config summary.
    fn check_manifest(&mut self, digest: Digest, manifest: &Manifest) -> Option<ConfigSummary> {
        let by = format!("image manifest {digest}");
        for layer in &manifest.layers {
            self.check_blob(layer, &by);
        }
        let config_digest = self.check_blob(&manifest.config, &by)?;
        if !manifest.config.media_type.ends_with("json") {
            return None;
        }
        let bytes = self.blob_document(config_digest, "image config")?;
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(serde_json::Value::Object(config)) => Some(summarize_config(&config)),
            Ok(_) => {
                self.problems.push(Problem::InvalidDocument {
                    name: config_digest.blob_path(),
                    kind: "image config",
                    reason: "it is not a JSON object".to_owned(),
                });
                None
            }
            Err(error) => {
                self.problems.push(Problem::InvalidDocument {
                    name: config_digest.blob_path(),
                    kind: "image config",
                    reason: error.to_string(),
                });
                None
            }
        }
    }

    /// `manifest.json` must name files that exist, and each of its images
    /// must be an OCI image (same config and layers) with the same names.
    fn check_docker_manifest(&mut self, bytes: &[u8], images: &[Image]) {
        let entries: Vec<DockerEntry> = match parse(DOCKER_MANIFEST, "Docker manifest", bytes) {
            Ok(entries) => entries,
            Err(problem) => {
                self.problems.push(problem);
                return;
            }
        };
        for entry in entries {
            let paths = std::iter::once(&entry.config).chain(&entry.layers);
            let mut all_present = true;
            for path in paths {
                if !self.names.contains(&normalize(path)) {
                    all_present = false;
                    self.problems
                        .push(Problem::DockerMissingFile { path: path.clone() });
                }
            }
            if !all_present {
                continue;
            }
            // Only layouts with blob paths can be compared with the OCI side.
            let Some(config) = blob_digest(&entry.config) else {
                continue;
            };
            let Some(layers) = entry
                .layers
                .iter()
                .map(|path| blob_digest(path))
                .collect::<Option<Vec<Digest>>>()
            else {
                continue;
            };
            let layers: Vec<String> = layers.iter().map(Digest::to_string).collect();
            let matching: Vec<&Image> = images
                .iter()
                .filter(|image| {
                    image.manifest.as_ref().is_some_and(|manifest| {
                        manifest.config.digest == config.to_string()
                            && manifest.layers.iter().map(|l| &l.digest).eq(layers.iter())
                    })
                })
                .collect();
            if matching.is_empty() {
                let reason = if images.iter().any(|image| {
                    image
                        .manifest
                        .as_ref()
                        .is_some_and(|m| m.config.digest == config.to_string())
                }) {
                    "its Layers differ from the OCI manifest's layers"
                } else {
                    "no OCI manifest in index.json has this config"
                };
                self.problems.push(Problem::DockerDisagrees {
                    config: entry.config.clone(),
                    reason,
                });
                continue;
            }
            let names: Vec<String> = matching
                .iter()
                .filter_map(|image| {
                    image
                        .descriptor
                        .annotations
                        .get(annotations::CONTAINERD_IMAGE_NAME)
                        .cloned()
                })
                .collect();
            if names.is_empty() {
                // index.json does not name the image; nothing to compare.
                continue;
            }
            for tag in entry.repo_tags.iter().flatten() {
                let wanted = normalize_docker_reference(tag);
                if !names
                    .iter()
                    .any(|name| normalize_docker_reference(name) == wanted)
                {
                    self.problems.push(Problem::DockerTagMismatch {
                        tag: tag.clone(),
                        names: names.clone(),
                    });
                }
            }
        }
    }
}

/// What to do with an entry's data.
enum Target {
    /// Stop reading: the tar is beyond any sane size.
    Stop,
    Skip,
    Blob {
        digest: Digest,
    },
    RootFile(&'static str),
}

/// Keeps an entry's bytes while they stream past, if they may be a JSON
/// document and fit the limits.
struct Keeper {
    state: Kept,
    /// Keep any content (root files), not only what starts like JSON.
    any_json: bool,
    checked_start: bool,
}

impl Keeper {
    fn new(size: u64, budget_left: u64) -> Self {
        let state = if size > MAX_DOCUMENT_LEN {
            Kept::TooLarge
        } else if size > budget_left {
            Kept::OverBudget
        } else {
            Kept::Bytes(Vec::new())
        };
        Keeper {
            state,
            any_json: false,
            checked_start: false,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let Kept::Bytes(bytes) = &mut self.state else {
            return;
        };
        if !self.any_json && !self.checked_start {
            match chunk.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => self.checked_start = true,
                Some(_) => {
                    self.state = Kept::NotJson;
                    return;
                }
                // All whitespace so far: keep looking.
                None => {}
            }
        }
        bytes.extend_from_slice(chunk);
    }

    fn finish(self) -> Kept {
        self.state
    }
}

/// An entry name without leading `./` (or `.//`).
fn normalize(name: &str) -> String {
    let mut name = name;
    while let Some(rest) = name.strip_prefix("./") {
        name = rest.trim_start_matches('/');
    }
    name.trim_end_matches('/').to_owned()
}

/// The blob digest of a `blobs/sha256/<hex>` path.
fn blob_digest(path: &str) -> Option<Digest> {
    normalize(path)
        .strip_prefix("blobs/sha256/")
        .and_then(|hex| format!("sha256:{hex}").parse().ok())
}

/// A Docker reference in its fully qualified form (`foo:1` →
/// `docker.io/library/foo:1`), for comparing `RepoTags` with
/// `io.containerd.image.name`.
fn normalize_docker_reference(reference: &str) -> String {
    let (first, rest) = reference.split_once('/').unwrap_or(("", reference));
    let is_host = first.contains('.') || first.contains(':') || first == "localhost";
    let qualified = if first.is_empty() {
        format!("docker.io/library/{rest}")
    } else if is_host {
        reference.to_owned()
    } else {
        format!("docker.io/{reference}")
    };
    let qualified = qualified.replacen("index.docker.io/", "docker.io/", 1);
    let last = qualified.rsplit('/').next().unwrap_or_default();
    if last.contains(':') || last.contains('@') {
        qualified
    } else {
        format!("{qualified}:latest")
    }
}

fn is_manifest(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST_V2
}

fn parse<T: serde::de::DeserializeOwned>(
    name: &str,
    kind: &'static str,
    bytes: &[u8],
) -> Result<T, Problem> {
    serde_json::from_slice(bytes).map_err(|error| Problem::InvalidDocument {
        name: name.to_owned(),
        kind,
        reason: error.to_string(),
    })
}

fn check_layout_version(bytes: &[u8], problems: &mut Vec<Problem>) {
    #[derive(Deserialize)]
    struct LayoutFile {
        #[serde(rename = "imageLayoutVersion")]
        version: String,
    }
    match serde_json::from_slice::<LayoutFile>(bytes) {
        Ok(layout) if layout.version == "1.0.0" => {}
        Ok(layout) => problems.push(Problem::UnsupportedLayoutVersion {
            found: format!("imageLayoutVersion {:?}", layout.version),
        }),
        Err(error) => problems.push(Problem::UnsupportedLayoutVersion {
            found: format!("not valid JSON ({error})"),
        }),
    }
}

/// One image in Docker's `manifest.json`.
#[derive(Deserialize)]
struct DockerEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

fn summarize_config(config: &serde_json::Map<String, serde_json::Value>) -> ConfigSummary {
    use serde_json::Value;
    let string = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
    let strings = |value: Option<&Value>| {
        value.and_then(Value::as_array).map(|items| {
            items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect()
        })
    };
    let inner = config.get("config").and_then(Value::as_object);
    ConfigSummary {
        created: string(config.get("created")),
        author: string(config.get("author")),
        architecture: string(config.get("architecture")),
        os: string(config.get("os")),
        entrypoint: strings(inner.and_then(|c| c.get("Entrypoint"))),
        cmd: strings(inner.and_then(|c| c.get("Cmd"))),
        labels: inner
            .and_then(|c| c.get("Labels"))
            .and_then(Value::as_object)
            .map(|labels| {
                labels
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        diff_ids: strings(
            config
                .get("rootfs")
                .and_then(Value::as_object)
                .and_then(|r| r.get("diff_ids")),
        ),
        layer_digests: strings(config.get("layerDigests")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_references_normalize() {
        assert_eq!(
            normalize_docker_reference("foo:1"),
            "docker.io/library/foo:1"
        );
        assert_eq!(
            normalize_docker_reference("org/foo"),
            "docker.io/org/foo:latest"
        );
        assert_eq!(
            normalize_docker_reference("localhost:5000/foo:v1"),
            "localhost:5000/foo:v1"
        );
        assert_eq!(
            normalize_docker_reference("docker.io/library/foo:1"),
            "docker.io/library/foo:1"
        );
    }

    #[test]
    fn names_lose_their_dot_slash() {
        assert_eq!(normalize("./index.json"), "index.json");
        assert_eq!(normalize("blobs/sha256/"), "blobs/sha256");
        assert_eq!(normalize("././/x"), "x");
    }
}
