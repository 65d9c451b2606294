//! What a tar and a directory share: the rules for entries and what is kept
//! of them while they stream past ([`Collector`]), then following the
//! references from `index.json` through nested indexes and manifests to
//! configs and layers, against what was seen. One code path checks both.

use std::collections::{BTreeSet, HashMap};

use docker_compat::{normalize_reference, parse_manifest_json, MANIFEST_JSON};
use oci_digest::{Digest, Sha256};
use serde::Deserialize;

use crate::problem::Problem;
use crate::report::{ConfigSummary, Descriptor, Image, Index, LayoutReport, Manifest};
use crate::tar_stream::{EntryKind, MAX_NAME_LEN};
use oci_layout::{annotations, INDEX_FILE, OCI_LAYOUT_FILE};

/// The largest JSON document (index, manifest, config, `oci-layout`,
/// `manifest.json`) the reader keeps in memory; a larger one is reported.
pub const MAX_DOCUMENT_LEN: u64 = 4 * 1024 * 1024;
/// The most JSON bytes kept in memory altogether.
pub const MAX_DOCUMENTS_TOTAL: u64 = 64 * 1024 * 1024;
/// The most entries read from one tar or directory.
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

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A blob seen in the layout.
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

/// Everything seen of a layout's entries, then the checks on it.
#[derive(Default)]
pub(crate) struct Collector {
    problems: Vec<Problem>,
    entries: usize,
    names: BTreeSet<String>,
    blobs: HashMap<Digest, SeenBlob>,
    root_files: HashMap<&'static str, (u64, Kept)>,
    kept_total: u64,
    names_total: usize,
    parsed_total: u64,
    gave_up_following: bool,
}

/// What to do with an entry's data.
pub(crate) enum Target {
    /// Stop reading: the layout is beyond any sane size (already reported).
    Stop,
    /// Nothing to keep: skip the data.
    Skip,
    /// A directory: a tar skips it, a directory walk looks inside.
    Directory,
    /// Feed the data to this sink, then hand it to [`Collector::finish_entry`].
    Take(EntrySink),
}

/// Takes in one entry's bytes as they stream past: hashes a blob, keeps a
/// JSON document that fits the limits.
pub(crate) struct EntrySink {
    purpose: Purpose,
    keeper: Keeper,
}

enum Purpose {
    Blob { digest: Digest, hasher: Sha256 },
    RootFile(&'static str),
}

impl EntrySink {
    /// Takes the next chunk of the entry's bytes.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        if let Purpose::Blob { hasher, .. } = &mut self.purpose {
            hasher.update(chunk);
        }
        self.keeper.feed(chunk);
    }

    /// Whether more bytes are of use: a blob is hashed whole, a root
    /// document read only while it is kept (one over the limits is reported
    /// from its size, not read).
    pub(crate) fn wants_more(&self) -> bool {
        matches!(self.purpose, Purpose::Blob { .. }) || matches!(self.keeper.state, Kept::Bytes(_))
    }
}

impl Collector {
    /// Adds a problem found by the source (the tar or directory reader).
    pub(crate) fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// The problems found so far.
    pub(crate) fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The problems found, for a layout not worth checking further.
    pub(crate) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// Records the end of an entry fed to `sink`: `size` is its size in
    /// bytes, `complete` whether every byte was fed (a truncated blob is
    /// not recorded; a truncated root document is, and fails to parse).
    pub(crate) fn finish_entry(&mut self, sink: EntrySink, size: u64, complete: bool) {
        let document = sink.keeper.finish();
        if let Kept::Bytes(bytes) = &document {
            self.kept_total += bytes.len() as u64;
        }
        match sink.purpose {
            Purpose::Blob { digest, hasher } => {
                if !complete {
                    return;
                }
                let found = hasher.finish();
                if found != digest {
                    self.problems
                        .push(Problem::BlobDigestMismatch { digest, found });
                }
                self.blobs.insert(
                    digest,
                    SeenBlob {
                        size,
                        document: Some(document),
                    },
                );
            }
            Purpose::RootFile(file) => {
                self.root_files.insert(file, (size, document));
            }
        }
    }

    fn budget_left(&self) -> u64 {
        MAX_DOCUMENTS_TOTAL.saturating_sub(self.kept_total)
    }

    /// What to do with the data of the entry `raw_name` (a path relative to
    /// the layout's root, `/`-separated) of `size` bytes; reports unsafe and
    /// duplicate entries, and stops past [`MAX_ENTRIES`].
    pub(crate) fn classify(&mut self, raw_name: &str, kind: EntryKind, size: u64) -> Target {
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            self.problems
                .push(Problem::TooManyEntries { limit: MAX_ENTRIES });
            return Target::Stop;
        }
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
            EntryKind::Other(_) => Some("an entry type image layouts do not use"),
        };
        if let Some(reason) = reason {
            self.problems.push(unsafe_entry(reason));
            return Target::Skip;
        }
        let name = normalize(raw_name);
        if kind == EntryKind::Directory {
            return Target::Directory;
        }
        self.names_total += name.len();
        if self.names_total > MAX_NAMES_TOTAL {
            self.problems
                .push(Problem::TooManyEntries { limit: MAX_ENTRIES });
            return Target::Stop;
        }
        if !self.names.insert(name.clone()) {
            self.problems.push(Problem::DuplicateEntry { name });
            return Target::Skip;
        }
        if let Some(encoded) = name.strip_prefix("blobs/sha256/") {
            return match format!("sha256:{encoded}").parse() {
                Ok(digest) => Target::Take(EntrySink {
                    purpose: Purpose::Blob {
                        digest,
                        hasher: Sha256::new(),
                    },
                    keeper: Keeper::new(size, self.budget_left(), false),
                }),
                Err(_) => {
                    self.problems.push(Problem::InvalidBlobName { name });
                    Target::Skip
                }
            };
        }
        let file = match name.as_str() {
            OCI_LAYOUT_FILE => OCI_LAYOUT_FILE,
            INDEX_FILE => INDEX_FILE,
            MANIFEST_JSON => MANIFEST_JSON,
            _ => return Target::Skip,
        };
        Target::Take(EntrySink {
            purpose: Purpose::RootFile(file),
            keeper: Keeper::new(size, self.budget_left(), true),
        })
    }

    /// Follows the references, once every entry has been seen.
    pub(crate) fn check(mut self) -> LayoutReport {
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
        if let Some((size, kept)) = self.root_files.remove(MANIFEST_JSON) {
            if let Some(bytes) = self.root_document(MANIFEST_JSON, size, kept) {
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
                    via: visiting.clone(),
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
                via: visiting.clone(),
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
        let entries = match parse_manifest_json(bytes) {
            Ok(entries) => entries,
            Err(error) => {
                // The parser's message alone: the problem names the file.
                let reason = std::error::Error::source(&error)
                    .map_or_else(|| error.to_string(), ToString::to_string);
                self.problems.push(Problem::InvalidDocument {
                    name: MANIFEST_JSON.to_owned(),
                    kind: "Docker manifest",
                    reason,
                });
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
            let Some(docker_image) = entry.to_docker_image() else {
                continue;
            };
            let config = docker_image.config;
            let has_config = |manifest: &Manifest| manifest.config.parse_digest() == Ok(config);
            let matching: Vec<&Image> = images
                .iter()
                .filter(|image| {
                    image.manifest.as_ref().is_some_and(|manifest| {
                        has_config(manifest)
                            && manifest
                                .layers
                                .iter()
                                .map(Descriptor::parse_digest)
                                .eq(docker_image.layers.iter().map(|layer| Ok(*layer)))
                    })
                })
                .collect();
            if matching.is_empty() {
                let reason = if images
                    .iter()
                    .any(|image| image.manifest.as_ref().is_some_and(has_config))
                {
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
            for tag in &docker_image.repo_tags {
                let wanted = normalize_reference(tag);
                if !names.iter().any(|name| normalize_reference(name) == wanted) {
                    self.problems.push(Problem::DockerTagMismatch {
                        tag: tag.clone(),
                        names: names.clone(),
                    });
                }
            }
        }
    }
}

/// Keeps an entry's bytes while they stream past, if they may be a JSON
/// document and fit the limits.
struct Keeper {
    state: Kept,
    /// The JSON budget left when the entry started.
    budget_left: u64,
    /// Keep any content (root files), not only what starts like JSON.
    any_json: bool,
    checked_start: bool,
}

impl Keeper {
    /// A keeper for an entry announced as `size` bytes.
    fn new(size: u64, budget_left: u64, any_json: bool) -> Self {
        Keeper {
            state: Self::state_for(size, budget_left).unwrap_or(Kept::Bytes(Vec::new())),
            budget_left,
            any_json,
            checked_start: false,
        }
    }

    /// What `len` bytes cannot be kept as, if anything.
    fn state_for(len: u64, budget_left: u64) -> Option<Kept> {
        if len > MAX_DOCUMENT_LEN {
            Some(Kept::TooLarge)
        } else if len > budget_left {
            Some(Kept::OverBudget)
        } else {
            None
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let Kept::Bytes(bytes) = &mut self.state else {
            return;
        };
        // A file may hold more bytes than announced (one growing while a
        // directory is read): the limits hold for what arrives.
        let len = (bytes.len() + chunk.len()) as u64;
        if let Some(state) = Self::state_for(len, self.budget_left) {
            self.state = state;
            return;
        }
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
    fn names_lose_their_dot_slash() {
        assert_eq!(normalize("./index.json"), "index.json");
        assert_eq!(normalize("blobs/sha256/"), "blobs/sha256");
        assert_eq!(normalize("././/x"), "x");
    }
}
