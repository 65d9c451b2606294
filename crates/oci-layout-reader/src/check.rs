//! What a tar and a directory share: the rules for entries and what is kept
//! of them while they stream past ([`Collector`]), then following the
//! references from `index.json` through nested indexes and manifests to
//! configs and layers, against what was seen. One code path checks both.
//! A tar with `manifest.json` and no `oci-layout`, `index.json` or blobs is
//! a Docker archive and is checked by that format's rules instead
//! ([`docker_archive`]).

mod docker_archive;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use docker_compat::{normalize_reference, parse_manifest_json, ManifestJsonEntry, MANIFEST_JSON};
use oci_digest::{Digest, Sha256};
use serde::Deserialize;

use crate::problem::Problem;
use crate::report::{
    ComponentSummary, ConfigSummary, Descriptor, Image, Index, LayoutReport, Manifest,
};
use crate::tar_stream::{EntryHeader, EntryKind, MAX_NAME_LEN};
use oci_layout::{annotations, INDEX_FILE, OCI_LAYOUT_FILE};

/// The largest JSON document (index, manifest, config, `oci-layout`,
/// `manifest.json`) the reader keeps in memory; a larger one is reported.
pub const MAX_DOCUMENT_LEN: u64 = 4 * 1024 * 1024;
/// The most JSON bytes kept in memory altogether.
pub const MAX_DOCUMENTS_TOTAL: u64 = 16 * 1024 * 1024;
/// The most entries read from one tar or directory.
pub const MAX_ENTRIES: usize = 100_000;
/// The most bytes of entry names remembered (to find duplicates) altogether.
pub const MAX_NAMES_TOTAL: usize = 8 * 1024 * 1024;
/// The most bytes of JSON parsed while following references. Each
/// distinct document is parsed once however often it is reached, so this
/// bounds the memory the parsed documents take (a few times their size).
pub const MAX_PARSED_TOTAL: u64 = 8 * 1024 * 1024;
/// The most image manifests listed (counting repeats: a manifest reached
/// again shares the first one's parsed form).
pub const MAX_IMAGES: usize = 10_000;
/// The most descriptors parsed and listed altogether, counting a manifest's
/// again each time another image lists it: bounds the report's memory and
/// `inspect`'s output.
pub const MAX_DESCRIPTORS: usize = 50_000;
/// The most problems of one kind listed; the rest are counted
/// ([`Problem::MoreOfTheSame`]).
pub const MAX_PROBLEMS_PER_KIND: u64 = 32;
/// The most bytes of a name (an entry's, a tag, a path) a problem keeps;
/// longer ones are cut, saying how long they were.
pub const MAX_SHOWN_NAME: usize = 256;
/// The most of index.json's names for an image a tag problem lists.
const MAX_SHOWN_NAMES: usize = 8;
/// How deep nested image indexes are followed.
const MAX_INDEX_DEPTH: usize = 8;

/// A Docker archive's map of repositories and tags to top layers.
const REPOSITORIES: &str = "repositories";

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

#[derive(Clone)]
enum Kept {
    /// Shared with the report, which hands them out as the raw documents.
    Bytes(Arc<[u8]>),
    TooLarge,
    OverBudget,
    NotJson,
}

/// Why a [`Keeper`] stopped keeping an entry.
#[derive(Clone, Copy)]
enum Refusal {
    TooLarge,
    OverBudget,
    NotJson,
}

/// Everything seen of a layout's entries, then the checks on it.
#[derive(Default)]
pub(crate) struct Collector {
    problems: Vec<Problem>,
    /// How many problems of each kind were found (listed or not).
    problem_counts: HashMap<&'static str, u64>,
    /// Kinds in the order they first went over the limit.
    overflowed: Vec<&'static str>,
    /// Nested indexes already followed (each is followed once).
    followed_indexes: HashSet<Digest>,
    /// Manifests already read, with their config summaries.
    manifests: HashMap<Digest, ReadManifest>,
    /// Config summaries already read (a config shared by manifests is read once).
    configs: HashMap<Digest, ReadConfig>,
    entries: usize,
    names: BTreeSet<String>,
    blobs: HashMap<Digest, SeenBlob>,
    root_files: HashMap<&'static str, (u64, Kept)>,
    /// Regular files outside `blobs/` other than the layout's root files,
    /// by name: what a Docker archive's `manifest.json` may point at.
    files: HashMap<String, SeenFile>,
    /// Symbolic links that stay inside the archive, by name, with the name
    /// they resolve to: allowed in a Docker archive where that format puts
    /// them, reported as unsafe everywhere else.
    links: HashMap<String, String>,
    kept_total: u64,
    names_total: usize,
    parsed_total: u64,
    descriptors_total: usize,
    gave_up_following: bool,
}

/// A regular file outside `blobs/`, hashed as it streamed past.
struct SeenFile {
    size: u64,
    digest: Digest,
    /// Its bytes when its name ends in `.json` and they were kept.
    document: Kept,
}

/// A manifest read once, shared by every image that reaches it again.
#[derive(Clone, Default)]
struct ReadManifest {
    manifest: Option<Arc<Manifest>>,
    raw: Option<Arc<[u8]>>,
    config: ReadConfig,
}

/// A config read once, shared by every manifest that names it.
#[derive(Clone, Default)]
struct ReadConfig {
    summary: Option<Arc<ConfigSummary>>,
    raw: Option<Arc<[u8]>>,
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
    File { name: String, hasher: Sha256 },
    RootFile(&'static str),
}

impl EntrySink {
    /// Takes the next chunk of the entry's bytes.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        if let Purpose::Blob { hasher, .. } | Purpose::File { hasher, .. } = &mut self.purpose {
            hasher.update(chunk);
        }
        self.keeper.feed(chunk);
    }

    /// Whether more bytes are of use: a blob or other file is hashed
    /// whole, a root document read only while it is kept (one over the
    /// limits is reported from its size, not read).
    pub(crate) fn wants_more(&self) -> bool {
        !matches!(self.purpose, Purpose::RootFile(_)) || self.keeper.kept.is_ok()
    }
}

impl Collector {
    /// Adds a problem: the first [`MAX_PROBLEMS_PER_KIND`] of each kind
    /// are listed, the rest counted.
    pub(crate) fn push(&mut self, problem: Problem) {
        let kind = problem.kind();
        let count = self.problem_counts.entry(kind).or_insert(0);
        *count += 1;
        if *count <= MAX_PROBLEMS_PER_KIND {
            self.problems.push(problem);
        } else if *count == MAX_PROBLEMS_PER_KIND + 1 {
            self.overflowed.push(kind);
        }
    }

    /// The problems, then how many of each kind were not listed.
    fn all_problems(mut self) -> Vec<Problem> {
        for kind in std::mem::take(&mut self.overflowed) {
            let count = self.problem_counts.get(kind).copied().unwrap_or(0);
            self.problems.push(Problem::MoreOfTheSame {
                kind,
                count: count.saturating_sub(MAX_PROBLEMS_PER_KIND),
            });
        }
        self.problems
    }

    /// The problems found so far.
    pub(crate) fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The problems found, for a layout not worth checking further.
    pub(crate) fn into_problems(self) -> Vec<Problem> {
        self.all_problems()
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
                    self.push(Problem::BlobDigestMismatch { digest, found });
                }
                self.blobs.insert(
                    digest,
                    SeenBlob {
                        size,
                        document: Some(document),
                    },
                );
            }
            Purpose::File { name, hasher } => {
                if complete {
                    let digest = hasher.finish();
                    self.files.insert(
                        name,
                        SeenFile {
                            size,
                            digest,
                            document,
                        },
                    );
                }
            }
            Purpose::RootFile(file) => {
                self.root_files.insert(file, (size, document));
            }
        }
    }

    /// Reports the kept-aside links `unsafe_link` picks as unsafe entries
    /// (in name order, so the problems come in the same order every time).
    fn report_links(&mut self, reason: &'static str, unsafe_link: impl Fn(&str) -> bool) {
        let mut names: Vec<String> = self
            .links
            .keys()
            .filter(|name| unsafe_link(name))
            .cloned()
            .collect();
        names.sort();
        for name in names {
            self.push(Problem::UnsafeEntry {
                name: shorten(&name),
                reason,
            });
        }
    }

    fn budget_left(&self) -> u64 {
        MAX_DOCUMENTS_TOTAL.saturating_sub(self.kept_total)
    }

    /// What to do with the data of the tar entry `header`: refuses one that
    /// other readers may see under another name, then as [`classify`](Self::classify).
    pub(crate) fn classify_tar(&mut self, header: &EntryHeader) -> Target {
        let ambiguity = header.ambiguity.clone().or_else(|| {
            let plain = normalize(&header.header_name);
            (plain != normalize(&header.name) && is_layout_name(&plain)).then(|| {
                (
                    header.header_name.clone(),
                    "the header's own name is a layout file's (readers that ignore PAX and GNU long names use it)",
                )
            })
        });
        let Some((seen_as, reason)) = ambiguity else {
            let link_target = (header.kind == EntryKind::SymLink).then_some(&*header.link_target);
            return self.classify(&header.name, header.kind, header.size, link_target);
        };
        if !self.count_entry() {
            return Target::Stop;
        }
        self.push(Problem::AmbiguousEntry {
            name: shorten(&header.name),
            seen_as: shorten(&seen_as),
            reason,
        });
        Target::Skip
    }

    /// Counts one more entry; false (once reported) past [`MAX_ENTRIES`].
    fn count_entry(&mut self) -> bool {
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            if self.entries == MAX_ENTRIES + 1 {
                self.push(Problem::TooManyEntries { limit: MAX_ENTRIES });
            }
            return false;
        }
        true
    }

    /// What to do with the data of the entry `raw_name` (a path relative to
    /// the layout's root, `/`-separated) of `size` bytes; reports unsafe and
    /// duplicate entries, and stops past [`MAX_ENTRIES`]. `link_target` is
    /// a symbolic link's target, when known: a link that stays inside is
    /// kept aside (a Docker archive may use it), not reported yet.
    pub(crate) fn classify(
        &mut self,
        raw_name: &str,
        kind: EntryKind,
        size: u64,
        link_target: Option<&str>,
    ) -> Target {
        if !self.count_entry() {
            return Target::Stop;
        }
        let unsafe_entry = |reason| Problem::UnsafeEntry {
            name: shorten(raw_name),
            reason,
        };
        if raw_name.len() as u64 > MAX_NAME_LEN {
            self.push(unsafe_entry("the name is longer than 4096 bytes"));
            return Target::Skip;
        }
        if raw_name.starts_with('/') {
            self.push(unsafe_entry("an absolute path"));
            return Target::Skip;
        }
        if raw_name.split('/').any(|part| part == "..") {
            self.push(unsafe_entry("a path with '..' that leaves the image"));
            return Target::Skip;
        }
        let mut inside_link = None;
        let reason = match kind {
            EntryKind::File | EntryKind::Directory => None,
            EntryKind::SymLink => {
                inside_link = link_target
                    .filter(|_| !is_layout_name(&normalize(raw_name)) && !raw_name.ends_with('/'))
                    .and_then(|target| resolve_link(&normalize(raw_name), target));
                inside_link
                    .is_none()
                    .then_some("a symbolic link (links are not followed)")
            }
            EntryKind::GlobalHeader => return Target::Skip,
            EntryKind::HardLink => Some("a hard link (links are not followed)"),
            EntryKind::Device => Some("a device file"),
            EntryKind::Fifo => Some("a FIFO"),
            EntryKind::Other(_) => Some("an entry type image layouts do not use"),
        };
        if let Some(reason) = reason {
            self.push(unsafe_entry(reason));
            return Target::Skip;
        }
        if kind == EntryKind::Directory {
            return Target::Directory;
        }
        if raw_name.ends_with('/') {
            self.push(unsafe_entry(
                "a file whose name ends in '/' (a directory to Go's archive/tar and Python's tarfile)",
            ));
            return Target::Skip;
        }
        let name = normalize(raw_name);
        if strip_dot_slash(raw_name) != name {
            // Extracted, it lands on `name`; a reader that matches names
            // as written (Python's tarfile.getmember, tar -x NAME) does
            // not find it there. Still read as `name`, so that a second
            // copy is found as a duplicate.
            self.push(Problem::AmbiguousEntry {
                name: shorten(raw_name),
                seen_as: shorten(&name),
                reason: "a name with '//' or '.' parts (readers that match names as written do not see it as the file it extracts to)",
            });
        }
        self.names_total += name.len();
        if self.names_total > MAX_NAMES_TOTAL {
            self.push(Problem::TooManyEntries { limit: MAX_ENTRIES });
            return Target::Stop;
        }
        if !self.names.insert(name.clone()) {
            self.push(Problem::DuplicateEntry {
                name: shorten(&name),
            });
            return Target::Skip;
        }
        if let Some(target) = inside_link {
            self.links.insert(name, target);
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
                    self.push(Problem::InvalidBlobName {
                        name: shorten(&name),
                    });
                    Target::Skip
                }
            };
        }
        let file = match name.as_str() {
            OCI_LAYOUT_FILE => OCI_LAYOUT_FILE,
            INDEX_FILE => INDEX_FILE,
            MANIFEST_JSON => MANIFEST_JSON,
            REPOSITORIES => REPOSITORIES,
            _ => {
                // Hashed whole (a Docker archive's layer or config); kept
                // only when it is named and starts like a JSON document.
                let keeper = if name.ends_with(".json") {
                    Keeper::new(size, self.budget_left(), false)
                } else {
                    Keeper::refusing()
                };
                return Target::Take(EntrySink {
                    purpose: Purpose::File {
                        name,
                        hasher: Sha256::new(),
                    },
                    keeper,
                });
            }
        };
        Target::Take(EntrySink {
            purpose: Purpose::RootFile(file),
            keeper: Keeper::new(size, self.budget_left(), true),
        })
    }

    /// Follows the references, once every entry has been seen.
    pub(crate) fn check(mut self) -> LayoutReport {
        // Docker 25 and later save an OCI layout with a manifest.json
        // beside it; a tar with blobs but no index is a broken OCI layout.
        let is_oci = self.root_files.contains_key(OCI_LAYOUT_FILE)
            || self.root_files.contains_key(INDEX_FILE)
            || !self.blobs.is_empty();
        if !is_oci {
            if let Some((size, kept)) = self.root_files.remove(MANIFEST_JSON) {
                return self.check_docker_archive(size, kept);
            }
        }
        self.report_links("a symbolic link (links are not followed)", |_| true);
        let mut report = LayoutReport {
            blob_count: self.blobs.len(),
            ..LayoutReport::default()
        };
        match self.root_files.remove(OCI_LAYOUT_FILE) {
            None => self.push(Problem::MissingLayoutFile),
            Some((size, kept)) => {
                if let Some(bytes) = self.root_document(OCI_LAYOUT_FILE, size, kept) {
                    if let Some(problem) = check_layout_version(&bytes) {
                        self.push(problem);
                    }
                }
            }
        }
        match self.root_files.remove(INDEX_FILE) {
            None => self.push(Problem::MissingIndex),
            Some((size, kept)) => {
                let bytes = self
                    .root_document(INDEX_FILE, size, kept)
                    .filter(|bytes| self.may_parse(bytes));
                if let Some(bytes) = bytes {
                    report.raw_index = Some(Arc::clone(&bytes));
                    match parse::<Index>(INDEX_FILE, "image index", &bytes) {
                        Ok(index) => {
                            self.check_schema_version(INDEX_FILE, index.schema_version);
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
                        Err(problem) => self.push(problem),
                    }
                }
            }
        }
        if let Some((size, kept)) = self.root_files.remove(MANIFEST_JSON) {
            if let Some(bytes) = self.root_document(MANIFEST_JSON, size, kept) {
                self.check_docker_manifest(&bytes, &report.images);
            }
        }
        report.problems = self.all_problems();
        report
    }

    fn root_document(&mut self, name: &str, size: u64, kept: Kept) -> Option<Arc<[u8]>> {
        match kept {
            Kept::Bytes(bytes) => Some(bytes),
            Kept::TooLarge | Kept::NotJson => {
                self.push(Problem::DocumentTooLarge {
                    name: name.to_owned(),
                    size,
                    limit: MAX_DOCUMENT_LEN,
                });
                None
            }
            Kept::OverBudget => {
                self.push(Problem::DocumentBudgetExceeded {
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
            self.push(Problem::UnsupportedDigest {
                digest: shorten(&descriptor.digest),
                referenced_by: referenced_by.to_owned(),
            });
            return None;
        };
        let Some(blob) = self.blobs.get(&digest) else {
            // Only a non-distributable (foreign) layer with urls may live
            // elsewhere; indexes, manifests and configs must be here.
            if descriptor.urls.is_empty() || !is_non_distributable(&descriptor.media_type) {
                self.push(Problem::MissingBlob {
                    digest,
                    referenced_by: referenced_by.to_owned(),
                });
            }
            return None;
        };
        if blob.size != descriptor.size {
            self.push(Problem::SizeMismatch {
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
    fn may_parse(&mut self, bytes: &[u8]) -> bool {
        if self.gave_up_following {
            return false;
        }
        self.parsed_total += bytes.len() as u64;
        // Every descriptor is a JSON object: counting `{` bounds how many
        // parsing makes (each a few hundred bytes in memory) before it does.
        let objects = bytes.iter().filter(|&&b| b == b'{').count();
        self.may_list(objects) && self.parsed_total <= MAX_PARSED_TOTAL || self.give_up()
    }

    /// Counts `count` more descriptors held by the report; false (once
    /// reported) past [`MAX_DESCRIPTORS`].
    fn may_list(&mut self, count: usize) -> bool {
        if self.gave_up_following {
            return false;
        }
        self.descriptors_total = self.descriptors_total.saturating_add(count);
        self.descriptors_total <= MAX_DESCRIPTORS || self.give_up()
    }

    /// Stops following references, saying so once; always false.
    fn give_up(&mut self) -> bool {
        if !self.gave_up_following {
            self.gave_up_following = true;
            self.push(Problem::TooMuchToCheck {
                limit: MAX_PARSED_TOTAL,
            });
        }
        false
    }

    /// The bytes of the JSON blob `digest` (already checked to exist).
    fn blob_document(&mut self, digest: Digest, kind: &'static str) -> Option<Arc<[u8]>> {
        let blob = self.blobs.get(&digest)?;
        let name = digest.blob_path();
        match &blob.document {
            Some(Kept::Bytes(bytes)) => {
                let bytes = Arc::clone(bytes);
                self.may_parse(&bytes).then_some(bytes)
            }
            Some(Kept::TooLarge) => {
                let size = blob.size;
                self.push(Problem::DocumentTooLarge {
                    name,
                    size,
                    limit: MAX_DOCUMENT_LEN,
                });
                None
            }
            Some(Kept::OverBudget) => {
                self.push(Problem::DocumentBudgetExceeded {
                    name,
                    limit: MAX_DOCUMENTS_TOTAL,
                });
                None
            }
            Some(Kept::NotJson) | None => {
                self.push(Problem::InvalidDocument {
                    name,
                    kind,
                    reason: "it is not a JSON object".to_owned(),
                });
                None
            }
        }
    }

    /// Follows one index entry: a nested index or a manifest. Each
    /// distinct index is followed and each distinct manifest read once; a
    /// manifest reached again gives one more image sharing the first read.
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
            self.push(Problem::TooMuchToCheck {
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
                    raw_manifest: None,
                    raw_config: None,
                    docker_files: None,
                });
            }
            return;
        };
        let media_type = descriptor.media_type.as_str();
        if media_type == OCI_INDEX || media_type == DOCKER_LIST {
            if visiting.len() >= MAX_INDEX_DEPTH || visiting.contains(&digest) {
                self.push(Problem::NestingTooDeep { digest });
                return;
            }
            if !self.followed_indexes.insert(digest) {
                // Followed already: what it reaches is listed once.
                return;
            }
            let Some(bytes) = self.blob_document(digest, "image index") else {
                return;
            };
            let name = digest.blob_path();
            match parse::<Index>(&name, "image index", &bytes) {
                Ok(index) => {
                    drop(bytes);
                    self.check_schema_version(&name, index.schema_version);
                    visiting.push(digest);
                    let by = format!("image index {digest}");
                    for child in &index.manifests {
                        self.follow(child, &by, visiting, images);
                    }
                    visiting.pop();
                }
                Err(problem) => self.push(problem),
            }
        } else if is_manifest(media_type) {
            let read = match self.manifests.get(&digest) {
                Some(read) => {
                    // Listed again: its descriptors count again (in
                    // `inspect`'s output they are written again).
                    let read = read.clone();
                    let layers = read.manifest.as_ref().map_or(0, |m| m.layers.len());
                    if !self.may_list(layers + 1) {
                        return;
                    }
                    read
                }
                None => {
                    let read = self.read_manifest(digest);
                    self.manifests.insert(digest, read.clone());
                    read
                }
            };
            self.check_platform(descriptor, digest, read.config.summary.as_deref());
            images.push(Image {
                via: visiting.clone(),
                descriptor: descriptor.clone(),
                manifest: read.manifest,
                config: read.config.summary,
                raw_manifest: read.raw,
                raw_config: read.config.raw,
                docker_files: None,
            });
        }
        // Any other media type: the blob's presence and size are all there is to check.
    }

    /// Reports an index entry whose platform says another OS or
    /// architecture than the image's config: consumers pick an image by the
    /// former and run it by the latter.
    fn check_platform(
        &mut self,
        descriptor: &Descriptor,
        manifest: Digest,
        config: Option<&ConfigSummary>,
    ) {
        let (Some(listed), Some(config)) = (&descriptor.platform, config) else {
            return;
        };
        let (Some(os), Some(architecture)) = (&config.os, &config.architecture) else {
            return;
        };
        if listed.os != *os || listed.architecture != *architecture {
            self.push(Problem::PlatformMismatch {
                manifest,
                listed: format!("{}/{}", listed.os, listed.architecture),
                config: format!("{os}/{architecture}"),
            });
        }
    }

    /// Reads and checks the manifest `digest` (present, right size), once.
    fn read_manifest(&mut self, digest: Digest) -> ReadManifest {
        let Some(bytes) = self.blob_document(digest, "image manifest") else {
            return ReadManifest::default();
        };
        let name = digest.blob_path();
        match parse::<Manifest>(&name, "image manifest", &bytes) {
            Ok(manifest) => {
                self.check_schema_version(&name, manifest.schema_version);
                let config = self.check_manifest(digest, &manifest);
                ReadManifest {
                    manifest: Some(Arc::new(manifest)),
                    raw: Some(bytes),
                    config,
                }
            }
            Err(problem) => {
                self.push(problem);
                ReadManifest {
                    raw: Some(bytes),
                    ..ReadManifest::default()
                }
            }
        }
    }

    /// Reports a `schemaVersion` other than 2.
    fn check_schema_version(&mut self, name: &str, found: u32) {
        if found != 2 {
            self.push(Problem::UnsupportedSchemaVersion {
                name: name.to_owned(),
                found,
            });
        }
    }

    /// Checks a manifest's config and layers; returns the config read.
    fn check_manifest(&mut self, digest: Digest, manifest: &Manifest) -> ReadConfig {
        let by = format!("image manifest {digest}");
        for layer in &manifest.layers {
            self.check_blob(layer, &by);
        }
        let Some(config_digest) = self.check_blob(&manifest.config, &by) else {
            return ReadConfig::default();
        };
        if !manifest.config.media_type.ends_with("json") {
            return ReadConfig::default();
        }
        if let Some(read) = self.configs.get(&config_digest) {
            return read.clone();
        }
        let read = match self.blob_document(config_digest, "image config") {
            Some(bytes) => ReadConfig {
                summary: self.read_config(config_digest, &bytes).map(Arc::new),
                raw: Some(bytes),
            },
            None => ReadConfig::default(),
        };
        self.configs.insert(config_digest, read.clone());
        read
    }

    /// Parses the config `config_digest`'s `bytes` for its summary.
    fn read_config(&mut self, config_digest: Digest, bytes: &[u8]) -> Option<ConfigSummary> {
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(serde_json::Value::Object(config)) => Some(summarize_config(&config)),
            Ok(_) => {
                self.push(Problem::InvalidDocument {
                    name: config_digest.blob_path(),
                    kind: "image config",
                    reason: "it is not a JSON object".to_owned(),
                });
                None
            }
            Err(error) => {
                self.push(Problem::InvalidDocument {
                    name: config_digest.blob_path(),
                    kind: "image config",
                    reason: error.to_string(),
                });
                None
            }
        }
    }

    /// The images `manifest.json`'s `bytes` list, or none (reported) when
    /// it does not parse.
    fn parse_docker_manifest(&mut self, bytes: &[u8]) -> Option<Vec<ManifestJsonEntry>> {
        match parse_manifest_json(bytes) {
            Ok(entries) => Some(entries),
            Err(error) => {
                // The parser's message alone: the problem names the file.
                let reason = std::error::Error::source(&error)
                    .map_or_else(|| error.to_string(), ToString::to_string);
                self.push(Problem::InvalidDocument {
                    name: MANIFEST_JSON.to_owned(),
                    kind: "Docker manifest",
                    reason,
                });
                None
            }
        }
    }

    /// `manifest.json` must name files that exist, and each of its images
    /// must be an OCI image (same config and layers) with the same names.
    fn check_docker_manifest(&mut self, bytes: &[u8], images: &[Image]) {
        let Some(entries) = self.parse_docker_manifest(bytes) else {
            return;
        };
        // What the OCI side holds, looked up per manifest.json image in
        // time linear in the input: configs, (config, layers) pairs, and
        // the names index.json gives each pair.
        let mut configs: HashSet<Digest> = HashSet::new();
        let mut by_content: HashMap<(Digest, Vec<Digest>), usize> = HashMap::new();
        // The names of each (config, layers) pair; a manifest reached by many
        // images is keyed once (by its digest), not once per image.
        let mut groups: Vec<Vec<&str>> = Vec::new();
        let mut group_of_manifest: HashMap<&str, Option<usize>> = HashMap::new();
        for image in images {
            let Some(manifest) = &image.manifest else {
                continue;
            };
            let group = *group_of_manifest
                .entry(image.descriptor.digest.as_str())
                .or_insert_with(|| {
                    let config = manifest.config.parse_digest().ok()?;
                    configs.insert(config);
                    let layers = manifest
                        .layers
                        .iter()
                        .map(Descriptor::parse_digest)
                        .collect::<Result<Vec<_>, _>>()
                        .ok()?;
                    Some(*by_content.entry((config, layers)).or_insert_with(|| {
                        groups.push(Vec::new());
                        groups.len() - 1
                    }))
                });
            let name = image
                .descriptor
                .annotations
                .get(annotations::CONTAINERD_IMAGE_NAME);
            if let (Some(group), Some(name)) = (group, name) {
                if let Some(names) = groups.get_mut(group) {
                    names.push(name);
                }
            }
        }
        for entry in entries {
            let paths = std::iter::once(&entry.config).chain(&entry.layers);
            let mut all_present = true;
            for path in paths {
                if !self.names.contains(&normalize(path)) {
                    all_present = false;
                    self.push(Problem::DockerMissingFile {
                        path: shorten(path),
                    });
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
            let names = by_content
                .get(&(config, docker_image.layers.clone()))
                .and_then(|&group| groups.get(group));
            let Some(names) = names else {
                let reason = if configs.contains(&config) {
                    "its Layers differ from the OCI manifest's layers"
                } else {
                    "no OCI manifest in index.json has this config"
                };
                self.push(Problem::DockerDisagrees {
                    config: shorten(&entry.config),
                    reason,
                });
                continue;
            };
            if names.is_empty() {
                // index.json does not name the image; nothing to compare.
                continue;
            }
            let wanted: HashSet<String> =
                names.iter().map(|name| normalize_reference(name)).collect();
            for tag in &docker_image.repo_tags {
                if !wanted.contains(&normalize_reference(tag)) {
                    self.push(Problem::DockerTagMismatch {
                        tag: shorten(tag),
                        names: names
                            .iter()
                            .take(MAX_SHOWN_NAMES)
                            .map(|name| shorten(name))
                            .collect(),
                    });
                }
            }
        }
    }
}

/// Keeps an entry's bytes while they stream past, if they may be a JSON
/// document and fit the limits.
struct Keeper {
    /// What was kept so far, or why the entry is not kept (one word
    /// bigger would push `Target` over clippy's enum size limit).
    kept: Result<Vec<u8>, Refusal>,
    /// The JSON budget left when the entry started.
    budget_left: u64,
    /// Keep any content (root files), not only what starts like JSON.
    any_json: bool,
    checked_start: bool,
}

impl Keeper {
    /// A keeper for an entry announced as `size` bytes.
    /// A keeper that keeps nothing (the entry is only hashed).
    fn refusing() -> Self {
        Keeper {
            kept: Err(Refusal::NotJson),
            budget_left: 0,
            any_json: false,
            checked_start: true,
        }
    }

    fn new(size: u64, budget_left: u64, any_json: bool) -> Self {
        Keeper {
            kept: Self::state_for(size, budget_left).map_or(Ok(Vec::new()), Err),
            budget_left,
            any_json,
            checked_start: false,
        }
    }

    /// What `len` bytes cannot be kept as, if anything.
    fn state_for(len: u64, budget_left: u64) -> Option<Refusal> {
        if len > MAX_DOCUMENT_LEN {
            Some(Refusal::TooLarge)
        } else if len > budget_left {
            Some(Refusal::OverBudget)
        } else {
            None
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let Ok(bytes) = &self.kept else {
            return;
        };
        // A file may hold more bytes than announced (one growing while a
        // directory is read): the limits hold for what arrives.
        let len = (bytes.len() + chunk.len()) as u64;
        if let Some(state) = Self::state_for(len, self.budget_left) {
            self.kept = Err(state);
            return;
        }
        if !self.any_json && !self.checked_start {
            match chunk.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => self.checked_start = true,
                Some(_) => {
                    self.kept = Err(Refusal::NotJson);
                    return;
                }
                // All whitespace so far: keep looking.
                None => {}
            }
        }
        if let Ok(bytes) = &mut self.kept {
            bytes.extend_from_slice(chunk);
        }
    }

    fn finish(self) -> Kept {
        match self.kept {
            Ok(bytes) => Kept::Bytes(Arc::from(bytes)),
            Err(Refusal::TooLarge) => Kept::TooLarge,
            Err(Refusal::OverBudget) => Kept::OverBudget,
            Err(Refusal::NotJson) => Kept::NotJson,
        }
    }
}

/// An entry name as extracting it resolves it: no empty or `.` parts, no
/// leading `./`, no trailing `/`. (`..` and absolute names are refused
/// before.)
pub(crate) fn normalize(name: &str) -> String {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    parts.join("/")
}

/// Where the symbolic link `name` (normalized) pointing at `target` leads,
/// as a normalized name, if it stays inside: a relative target whose `..`
/// parts never climb above the archive's root.
fn resolve_link(name: &str, target: &str) -> Option<String> {
    if target.is_empty() || target.starts_with('/') || target.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// An entry name without its leading `./` (as `tar -C DIR -cf - .` writes
/// them): the one harmless difference from [`normalize`]'s form.
fn strip_dot_slash(name: &str) -> &str {
    let mut name = name;
    while let Some(rest) = name.strip_prefix("./") {
        name = rest.trim_start_matches('/');
    }
    name
}

/// Whether a name is one an image layout (or a Docker archive) gives
/// meaning to at its root.
fn is_layout_name(name: &str) -> bool {
    matches!(
        name,
        OCI_LAYOUT_FILE | INDEX_FILE | MANIFEST_JSON | REPOSITORIES
    ) || name.starts_with("blobs/")
}

/// A layer media type whose blob may be left out of a layout, fetched
/// from its `urls` instead.
fn is_non_distributable(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.nondistributable.")
        || media_type == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
}

/// `text` as a problem keeps it: at most [`MAX_SHOWN_NAME`] bytes (cut at a
/// character boundary), saying how long it was.
pub(crate) fn shorten(text: &str) -> String {
    if text.len() <= MAX_SHOWN_NAME {
        return text.to_owned();
    }
    let mut end = MAX_SHOWN_NAME;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &text[..end], text.len())
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

fn check_layout_version(bytes: &[u8]) -> Option<Problem> {
    #[derive(Deserialize)]
    struct LayoutFile {
        #[serde(rename = "imageLayoutVersion")]
        version: String,
    }
    match serde_json::from_slice::<LayoutFile>(bytes) {
        Ok(layout) if layout.version == "1.0.0" => None,
        Ok(layout) => Some(Problem::UnsupportedLayoutVersion {
            found: format!("imageLayoutVersion {:?}", shorten(&layout.version)),
        }),
        Err(error) => Some(Problem::UnsupportedLayoutVersion {
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
        env: strings(inner.and_then(|c| c.get("Env"))),
        working_dir: string(inner.and_then(|c| c.get("WorkingDir"))),
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
        component: config
            .get("component")
            .and_then(Value::as_object)
            .map(|component| ComponentSummary {
                imports: strings(component.get("imports")).unwrap_or_default(),
                exports: strings(component.get("exports")).unwrap_or_default(),
                target: string(component.get("target")),
            }),
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
        assert_eq!(normalize("blobs//sha256/./x/"), "blobs/sha256/x");
        assert_eq!(strip_dot_slash("./blobs/sha256"), "blobs/sha256");
    }

    #[test]
    fn links_resolve_inside_or_not_at_all() {
        assert_eq!(
            resolve_link("abc/layer.tar", "../def.tar").as_deref(),
            Some("def.tar")
        );
        assert_eq!(
            resolve_link("abc/layer.tar", "./../x/./layer.tar").as_deref(),
            Some("x/layer.tar")
        );
        assert_eq!(resolve_link("a/b", "c").as_deref(), Some("a/c"));
        assert_eq!(resolve_link("abc/layer.tar", "../../etc/passwd"), None);
        assert_eq!(resolve_link("abc/layer.tar", "/etc/passwd"), None);
        assert_eq!(resolve_link("layer.tar", ".."), None);
        assert_eq!(resolve_link("abc/layer.tar", ""), None);
    }

    /// Found by mutation testing: a file read from a directory may hold
    /// more than its listed size, so the caps hold for the bytes that
    /// arrive; only the announced size was tested.
    #[test]
    fn a_document_growing_past_a_cap_while_read_is_refused() {
        const DOCUMENT_CAP: usize = 4 * 1024 * 1024; // MAX_DOCUMENT_LEN
        let half = vec![b' '; DOCUMENT_CAP / 2];
        let mut keeper = Keeper::new(1, MAX_DOCUMENTS_TOTAL, true);
        keeper.feed(&half);
        keeper.feed(&half);
        assert!(matches!(keeper.finish(), Kept::Bytes(bytes) if bytes.len() == DOCUMENT_CAP));
        let mut keeper = Keeper::new(1, MAX_DOCUMENTS_TOTAL, true);
        keeper.feed(&half);
        keeper.feed(&half);
        keeper.feed(b" ");
        assert!(matches!(keeper.finish(), Kept::TooLarge));

        let mut keeper = Keeper::new(1, 10, true);
        keeper.feed(b"{}");
        keeper.feed(b"        ");
        assert!(matches!(keeper.finish(), Kept::Bytes(bytes) if bytes.len() == 10));
        let mut keeper = Keeper::new(1, 10, true);
        keeper.feed(b"{}        ");
        keeper.feed(b" ");
        assert!(matches!(keeper.finish(), Kept::OverBudget));
    }

    /// Found by mutation testing: a name cut inside a multi-byte character
    /// is cut before it, never past the limit.
    #[test]
    fn a_long_name_is_cut_at_a_character_boundary() {
        // 255 bytes, then a two-byte character across the 256-byte limit.
        let name = format!("{}\u{e9}{}", "a".repeat(255), "b".repeat(100));
        let shown = shorten(&name);
        assert_eq!(shown, format!("{}... (357 bytes)", "a".repeat(255)));
        assert_eq!(shorten("short"), "short");
    }
}
