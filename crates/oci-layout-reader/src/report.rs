//! What a read finds: the documents, the images they describe, the problems.
//!
//! These types are lenient on purpose: a hostile layout's descriptors may
//! hold any string as a digest, and the report must still show them.
//! [`Descriptor::parse_digest`] and [`Descriptor::to_oci_spec`] give the
//! checked types the writer (`oci_layout`) uses.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use oci_digest::{Digest, DigestError};
use serde::{Deserialize, Serialize};

use crate::problem::Problem;
use oci_layout::annotations;

/// A content descriptor as found in an index or manifest, fields as written.
///
/// The digest stays a string because a hostile document may hold anything
/// there (the reader reports it as [`Problem::UnsupportedDigest`]); use
/// [`parse_digest`](Self::parse_digest) for the checked [`Digest`], or
/// [`to_oci_spec`](Self::to_oci_spec) for the descriptor type the writer takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of what it points at.
    pub media_type: String,
    /// The digest, as written (not necessarily sha256, not necessarily valid).
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

impl Descriptor {
    /// The digest as a checked [`Digest`]: an error unless it is `sha256:`
    /// and 64 lowercase hex digits. Every descriptor the reader followed
    /// without a [`Problem::UnsupportedDigest`] has one.
    pub fn parse_digest(&self) -> Result<Digest, DigestError> {
        self.digest.parse()
    }

    /// The same descriptor as oci-spec's type, the one `oci_layout`'s writer
    /// takes; an error when the digest is not one [`parse_digest`](Self::parse_digest)
    /// accepts.
    pub fn to_oci_spec(&self) -> Result<oci_spec::image::Descriptor, DigestError> {
        let digest = oci_layout::oci_spec_digest(&self.parse_digest()?);
        let mut descriptor =
            oci_spec::image::Descriptor::new(self.media_type.as_str().into(), self.size, digest);
        if let Some(artifact_type) = &self.artifact_type {
            descriptor.set_artifact_type(Some(artifact_type.as_str().into()));
        }
        if let Some(platform) = &self.platform {
            descriptor.set_platform(Some(platform.to_oci_spec()));
        }
        if !self.annotations.is_empty() {
            let annotations: HashMap<String, String> = self
                .annotations
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            descriptor.set_annotations(Some(annotations));
        }
        if !self.urls.is_empty() {
            descriptor.set_urls(Some(self.urls.clone()));
        }
        Ok(descriptor)
    }
}

impl From<&oci_spec::image::Descriptor> for Descriptor {
    /// The reader's form of a descriptor the writer made, to compare a read
    /// image with what was written.
    fn from(descriptor: &oci_spec::image::Descriptor) -> Self {
        Descriptor {
            media_type: descriptor.media_type().to_string(),
            digest: descriptor.digest().to_string(),
            size: descriptor.size(),
            artifact_type: descriptor.artifact_type().as_ref().map(ToString::to_string),
            platform: descriptor.platform().as_ref().map(Platform::from),
            annotations: descriptor
                .annotations()
                .iter()
                .flatten()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            urls: descriptor.urls().clone().unwrap_or_default(),
        }
    }
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

impl Platform {
    /// The same platform as oci-spec's type.
    pub fn to_oci_spec(&self) -> oci_spec::image::Platform {
        let mut platform = oci_spec::image::Platform::default();
        platform.set_architecture(self.architecture.as_str().into());
        platform.set_os(self.os.as_str().into());
        platform.set_variant(self.variant.clone());
        platform.set_os_version(self.os_version.clone());
        platform
    }
}

impl From<&oci_spec::image::Platform> for Platform {
    fn from(platform: &oci_spec::image::Platform) -> Self {
        Platform {
            architecture: platform.architecture().to_string(),
            os: platform.os().to_string(),
            variant: platform.variant().clone(),
            os_version: platform.os_version().clone(),
        }
    }
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
    /// `config.Env` (`KEY=VALUE` each).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<String>>,
    /// `config.WorkingDir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// `config.Labels`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `rootfs.diff_ids` (OCI/Docker configs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_ids: Option<Vec<String>>,
    /// `layerDigests` (the CNCF wasm config).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_digests: Option<Vec<String>>,
    /// `component` (the CNCF wasm config of a component).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentSummary>,
}

/// The `component` field of a CNCF wasm config: the component's world.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ComponentSummary {
    /// `imports`: world keys.
    pub imports: Vec<String>,
    /// `exports`: world keys.
    pub exports: Vec<String>,
    /// `target`: the world it targets, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// One image manifest reached from `index.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    /// The digests of the nested indexes passed through, outermost first
    /// (empty when `index.json` lists the manifest itself).
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "digests_as_text"
    )]
    pub via: Vec<Digest>,
    /// The descriptor that points at the manifest.
    pub descriptor: Descriptor,
    /// The manifest, when it could be read (shared by every image that
    /// reaches the same manifest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Arc<Manifest>>,
    /// The config's interesting fields, when it is a JSON config that could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<Arc<ConfigSummary>>,
    /// The manifest's bytes exactly as stored (what `skopeo inspect --raw`
    /// prints), when they were kept: a JSON document within
    /// [`MAX_DOCUMENT_LEN`](crate::MAX_DOCUMENT_LEN) and the
    /// [`MAX_DOCUMENTS_TOTAL`](crate::MAX_DOCUMENTS_TOTAL) budget. Shared,
    /// not copied: the reader holds these bytes anyway to parse them.
    #[serde(skip)]
    pub raw_manifest: Option<Arc<[u8]>>,
    /// The config's bytes exactly as stored, when it is a JSON config that
    /// was kept (as [`raw_manifest`](Self::raw_manifest)).
    #[serde(skip)]
    pub raw_config: Option<Arc<[u8]>>,
    /// For an image of a Docker archive: the archive's files that hold its
    /// config and layers. Its [`manifest`](Self::manifest) and
    /// [`raw_manifest`](Self::raw_manifest) are then the OCI manifest the
    /// reader derived from them (see [`LayoutFormat::DockerArchive`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_files: Option<DockerFiles>,
}

/// Where a Docker archive keeps one image: entry names in the archive,
/// links resolved (so each is a regular file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DockerFiles {
    /// The config file (`<hex>.json`).
    pub config: String,
    /// The layer tars, in `manifest.json` order.
    pub layers: Vec<String>,
}

/// The format of an image tar (or directory).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LayoutFormat {
    /// An OCI image layout: `oci-layout`, `index.json`, `blobs/sha256/`
    /// (with a `manifest.json` beside them, as Docker 25 and later save).
    #[default]
    OciLayout,
    /// Docker's archive format as `docker save` wrote it before Docker 25,
    /// and as podman's and skopeo's `docker-archive` write it:
    /// `manifest.json`, `repositories`, `<hex>.json` configs and
    /// uncompressed layer tars, with no `oci-layout`, `index.json` or
    /// `blobs/`. Each image is reported with the OCI manifest that
    /// describes it: the config as `application/vnd.oci.image.config.v1+json`
    /// and each layer as `application/vnd.oci.image.layer.v1.tar` whose
    /// digest is its `rootfs.diff_ids` entry (the layer tars being
    /// uncompressed).
    DockerArchive,
}

impl LayoutFormat {
    /// A short name: `oci-layout` or `docker-archive` (as `--json` gives it).
    pub fn name(self) -> &'static str {
        match self {
            LayoutFormat::OciLayout => "oci-layout",
            LayoutFormat::DockerArchive => "docker-archive",
        }
    }
}

impl std::fmt::Display for LayoutFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
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

/// What [`read_layout`](crate::read_layout) or
/// [`read_layout_dir`](crate::read_layout_dir) found: the images and every problem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayoutReport {
    /// The format the tar (or directory) is in.
    pub format: LayoutFormat,
    /// `index.json`, when it could be read.
    pub index: Option<Index>,
    /// `index.json`'s bytes exactly as stored, when they were kept (within
    /// [`MAX_DOCUMENT_LEN`](crate::MAX_DOCUMENT_LEN) and the
    /// [`MAX_DOCUMENTS_TOTAL`](crate::MAX_DOCUMENTS_TOTAL) budget).
    #[serde(skip)]
    pub raw_index: Option<Arc<[u8]>>,
    /// Every image manifest reached from `index.json`, in order; for a
    /// Docker archive, one image per `RepoTags` entry of `manifest.json`
    /// (one unnamed image for an entry without tags).
    pub images: Vec<Image>,
    /// How many blobs the layout holds (for a Docker archive: how many
    /// distinct config and layer files its images use).
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

fn digests_as_text<S: serde::Serializer>(
    digests: &[Digest],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(digests.iter().map(ToString::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_digest::digest_bytes;
    use oci_spec::image::MediaType;

    #[test]
    fn a_written_descriptor_reads_back_and_converts_to_the_same() {
        let digest = digest_bytes(b"manifest");
        let mut written = oci_spec::image::Descriptor::new(
            MediaType::ImageManifest,
            8,
            oci_layout::oci_spec_digest(&digest),
        );
        let mut platform = oci_spec::image::Platform::default();
        platform.set_architecture("wasm".into());
        platform.set_os("wasip1".into());
        written.set_platform(Some(platform));
        written.set_annotations(Some(HashMap::from([(
            annotations::REF_NAME.to_owned(),
            "v1".to_owned(),
        )])));

        let read = Descriptor::from(&written);
        assert_eq!(read.digest, digest.to_string());
        assert_eq!(read.parse_digest(), Ok(digest));
        assert_eq!(
            read.platform.as_ref().map(ToString::to_string).as_deref(),
            Some("wasip1/wasm")
        );
        assert_eq!(read.to_oci_spec(), Ok(written));
    }

    #[test]
    fn a_digest_the_reader_cannot_check_does_not_convert() {
        let descriptor = Descriptor {
            media_type: "application/octet-stream".into(),
            digest: "sha512:abc".into(),
            size: 1,
            artifact_type: None,
            platform: None,
            annotations: BTreeMap::new(),
            urls: Vec::new(),
        };
        assert!(matches!(
            descriptor.to_oci_spec(),
            Err(DigestError::UnsupportedAlgorithm { input }) if input == "sha512:abc"
        ));
    }

    /// The JSON form (`inspect --json`), the format names, the name
    /// fallback and the conversion of a bare descriptor (no test in this
    /// crate had them).
    #[test]
    fn a_report_serialises_with_its_problems_and_paths_as_text() {
        let digest = digest_bytes(b"nested index");
        let descriptor = Descriptor {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest: digest_bytes(b"manifest").to_string(),
            size: 8,
            artifact_type: None,
            platform: None,
            annotations: BTreeMap::from([(annotations::REF_NAME.to_owned(), "v1".to_owned())]),
            urls: Vec::new(),
        };
        let image = Image {
            via: vec![digest],
            descriptor: descriptor.clone(),
            manifest: None,
            config: None,
            raw_manifest: None,
            raw_config: None,
            docker_files: None,
        };
        assert_eq!(image.name(), Some("v1"));
        let report = LayoutReport {
            format: LayoutFormat::DockerArchive,
            images: vec![image],
            problems: vec![Problem::MissingIndex],
            ..LayoutReport::default()
        };
        assert!(!report.is_valid());
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["format"], "docker-archive");
        assert_eq!(
            json["problems"],
            serde_json::json!([Problem::MissingIndex.to_string()])
        );
        assert_eq!(
            json["images"][0]["via"],
            serde_json::json!([digest.to_string()])
        );
        assert_eq!(LayoutFormat::OciLayout.to_string(), "oci-layout");
        assert_eq!(LayoutFormat::DockerArchive.to_string(), "docker-archive");

        // No annotations and no urls: none in oci-spec's form either.
        let bare = Descriptor {
            annotations: BTreeMap::new(),
            ..descriptor
        };
        let converted = bare.to_oci_spec().unwrap();
        assert_eq!(converted.annotations(), &None);
        assert_eq!(converted.urls(), &None);
        let with_urls = Descriptor {
            urls: vec!["https://example.com/layer".into()],
            ..bare
        };
        assert_eq!(
            with_urls.to_oci_spec().unwrap().urls(),
            &Some(vec!["https://example.com/layer".to_owned()])
        );
    }
}
