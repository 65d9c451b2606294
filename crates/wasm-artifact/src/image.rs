//! A wasm image: the inputs, and the documents that describe them.

use std::collections::{BTreeMap, HashMap};

use oci_digest::{digest_bytes, Digest};
use oci_layout::annotations::{CONTAINERD_IMAGE_NAME, REF_NAME};
use oci_layout::{
    naming_annotations, oci_spec_digest, to_canonical_json, BlobInput, BlobSource, BytesBlob,
    ImageSink, Reference,
};
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, ImageConfigurationBuilder, MediaType, Os, Platform,
    PlatformBuilder, RootFsBuilder, SCHEMA_VERSION,
};
use serde::Serialize;

use crate::compat::CompatLayer;
use crate::describe::TITLE;
use crate::{
    compression, media_types, ArtifactError, ComponentWorld, LayerCompression, Timestamp,
    WasmDescription, WasmKind,
};

/// The three image shapes this crate writes, each for its consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageShape {
    /// The image containerd's runwasi shims run: an OCI image config
    /// (`architecture: wasm`, `os: wasip1`) whose layers are raw wasm, one
    /// layer per wasm file (`docs/formats.md#the-wasm-layer-image`).
    WasmLayers,
    /// The CNCF wg-wasm Wasm OCI Artifact: a `application/vnd.wasm.config.v0+json`
    /// config and one `application/wasm` layer (`docs/formats.md#the-cncf-wasm-oci-artifact`).
    Artifact,
    /// The compat image: the wasm file as `/<name>.wasm` in one ordinary
    /// (compressed) tar layer, config `os: wasi`, `architecture: wasm`, as
    /// `FROM scratch` + `COPY app.wasm /` with `--platform wasi/wasm` builds
    /// it; what crun's wasm handlers, WasmEdge, youki, podman and
    /// Docker+Wasm run, and what containerd 1.6 can unpack
    /// (`docs/formats.md#the-compat-image`).
    Compat,
}

impl ImageShape {
    /// The platform OS written when none is set: `wasip1` for a wasm-layer
    /// image, the entrypoint's `wasip1`/`wasip2` for a CNCF artifact,
    /// `wasi` for a compat image.
    fn default_os(self, entry: WasmKind) -> &'static str {
        match self {
            ImageShape::WasmLayers => WasmKind::Module.wasi_os(),
            ImageShape::Artifact => entry.wasi_os(),
            ImageShape::Compat => "wasi",
        }
    }
}

impl std::fmt::Display for ImageShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImageShape::WasmLayers => "wasm-layer image",
            ImageShape::Artifact => "CNCF Wasm OCI Artifact",
            ImageShape::Compat => "compat image",
        })
    }
}

/// A field of a wasm-layer image's OCI config that a caller can set; a
/// CNCF artifact's config has none of them
/// ([`ArtifactError::ConfigFieldNeedsImage`]). Shown as the OCI config's
/// name for it (`Env`, `Cmd`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigField {
    /// `config.Env` ([`WasmImage::set_env`]).
    Env,
    /// `config.Cmd` ([`WasmImage::add_arg`]).
    Cmd,
    /// `config.Entrypoint` ([`WasmImage::set_entrypoint`]).
    Entrypoint,
    /// `config.Labels` ([`WasmImage::set_label`]).
    Labels,
    /// `config.WorkingDir` ([`WasmImage::set_workdir`]).
    WorkingDir,
}

impl std::fmt::Display for ConfigField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConfigField::Env => "Env",
            ConfigField::Cmd => "Cmd",
            ConfigField::Entrypoint => "Entrypoint",
            ConfigField::Labels => "Labels",
            ConfigField::WorkingDir => "WorkingDir",
        })
    }
}

/// What a caller sets in a wasm-layer image's OCI config (`config.*`).
#[derive(Debug, Default)]
struct ProcessConfig {
    /// `KEY=VALUE`, in the order first set.
    env: Vec<(String, String)>,
    cmd: Vec<String>,
    entrypoint: Option<String>,
    labels: BTreeMap<String, String>,
    workdir: Option<String>,
}

/// A wasm image to write: its name, shape, `created` time, wasm inputs,
/// extra layers, manifest annotations, and optionally an author, a target
/// world, a platform and (a wasm-layer image) the config's environment,
/// arguments, entrypoint, labels and working directory.
///
/// Wasm layers come first, in the order added, then extra layers in the
/// order added. The first wasm input is the entrypoint: its metadata
/// sections give manifest annotations (see
/// [`WasmDescription::annotations`]), which [`WasmImage::annotate`]
/// overrides.
///
/// Each wasm layer's descriptor gives clients that save layers as files
/// (`oras pull`) a file name, in the annotation
/// `org.opencontainers.image.title`: `<name>.wasm` for the first,
/// `<name>-2.wasm`, `<name>-3.wasm`, … for the others, where `<name>` is the
/// last part of the reference's path (`wkg oci push` writes the input file's
/// name; we do not, so that the input paths never change the image);
/// [`WasmImage::annotate_entrypoint_layer`] sets another for the entrypoint.
pub struct WasmImage {
    reference: Reference,
    shape: ImageShape,
    created: Timestamp,
    wasm: Vec<(BlobInput, WasmDescription)>,
    /// How many of the first wasm inputs were put into a sink as they were
    /// added ([`add_wasm_into`](Self::add_wasm_into)).
    put_when_added: usize,
    extra_layers: Vec<(String, BlobInput)>,
    annotations: BTreeMap<String, String>,
    entrypoint_layer_annotations: BTreeMap<String, String>,
    author: Option<String>,
    target: Option<String>,
    platform: Option<(String, String)>,
    process: ProcessConfig,
    compression: LayerCompression,
}

/// What [`WasmImage::write_to`] wrote, for the summary and for Docker's
/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenImage {
    /// The image reference.
    pub reference: Reference,
    /// The manifest's descriptor, as listed in `index.json`.
    pub manifest: Descriptor,
    /// The manifest's digest.
    pub manifest_digest: Digest,
    /// The config blob's digest.
    pub config: Digest,
    /// The image's shape.
    pub shape: ImageShape,
    /// The layer blobs' digests, in manifest order.
    pub layers: Vec<Digest>,
    /// The config's `rootfs.diff_ids`: the uncompressed digests of its tar
    /// layers (empty for a CNCF artifact).
    pub diff_ids: Vec<Digest>,
    /// The config's descriptor, as the manifest lists it.
    pub config_descriptor: Descriptor,
    /// The layers' descriptors (media type, digest, size, annotations),
    /// in manifest order.
    pub layer_descriptors: Vec<LayerDescriptor>,
}

/// A layer as an image's manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerDescriptor {
    /// The layer's media type.
    pub media_type: String,
    /// The layer blob's digest.
    pub digest: Digest,
    /// The layer blob's size in bytes.
    pub size: u64,
    /// The layer's annotations (a wasm layer's title, the entrypoint
    /// layer's own), sorted by key; the manifest lists none when empty.
    pub annotations: Vec<(String, String)>,
}

impl LayerDescriptor {
    /// The same descriptor as oci-spec's type.
    pub fn to_descriptor(&self) -> Descriptor {
        let mut descriptor = Descriptor::new(
            MediaType::from(self.media_type.as_str()),
            self.size,
            oci_spec_digest(&self.digest),
        );
        if !self.annotations.is_empty() {
            descriptor.set_annotations(Some(self.annotations.iter().cloned().collect()));
        }
        descriptor
    }
}

/// As the OCI descriptor: `annotations` unless there are none,
/// `digest`, `mediaType` and `size`. Written without building
/// oci-spec's descriptor: a manifest may list thousands of layers.
impl Serialize for LayerDescriptor {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeStruct};

        struct Annotations<'a>(&'a [(String, String)]);
        impl Serialize for Annotations<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (key, value) in self.0 {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }

        // In key order, as canonical JSON has them: nothing to sort.
        let has_annotations = !self.annotations.is_empty();
        let mut fields =
            serializer.serialize_struct("Descriptor", 3 + usize::from(has_annotations))?;
        if has_annotations {
            fields.serialize_field("annotations", &Annotations(&self.annotations))?;
        }
        fields.serialize_field("digest", &self.digest.to_string())?;
        fields.serialize_field("mediaType", &self.media_type)?;
        fields.serialize_field("size", &self.size)?;
        fields.end()
    }
}

/// An OCI image manifest, as oci-spec's `ImageManifest` writes one with
/// a media type and annotations, from the layers as they are.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDocument<'a> {
    // In key order, as canonical JSON has them.
    annotations: &'a HashMap<String, String>,
    config: &'a Descriptor,
    layers: &'a [LayerDescriptor],
    media_type: MediaType,
    schema_version: u32,
}

/// The CNCF wasm config (`application/vnd.wasm.config.v0+json`). Absent
/// `author`, `component` and `target` are written as `null`, as the reference
/// implementation (the oci-wasm crate) writes them.
#[derive(Serialize)]
struct WasmConfig<'a> {
    created: String,
    author: Option<&'a str>,
    architecture: &'a str,
    os: &'a str,
    #[serde(rename = "layerDigests")]
    layer_digests: Vec<String>,
    component: Option<ComponentField<'a>>,
}

/// The `component` field of the CNCF wasm config.
#[derive(Serialize)]
struct ComponentField<'a> {
    exports: &'a [String],
    imports: &'a [String],
    target: Option<&'a str>,
}

impl WasmImage {
    /// An image named `reference`, of `shape`, created at `created`
    /// ([`Timestamp::UNIX_EPOCH`] for reproducible builds).
    pub fn new(reference: Reference, shape: ImageShape, created: Timestamp) -> Self {
        WasmImage {
            reference,
            shape,
            created,
            wasm: Vec::new(),
            put_when_added: 0,
            extra_layers: Vec::new(),
            annotations: BTreeMap::new(),
            entrypoint_layer_annotations: BTreeMap::new(),
            author: None,
            target: None,
            platform: None,
            process: ProcessConfig::default(),
            compression: LayerCompression::default(),
        }
    }

    /// The file name on the descriptor of the wasm layer at `position`
    /// (0 for the entrypoint): `<name>.wasm`, then `<name>-<position + 1>.wasm`.
    fn layer_title(&self, position: usize) -> String {
        match position {
            0 => format!("{}.wasm", self.image_name()),
            _ => format!("{}-{}.wasm", self.image_name(), position + 1),
        }
    }

    /// The last part of the reference's path (`app` for `ghcr.io/org/app:v1`).
    fn image_name(&self) -> &str {
        self.reference
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_else(|| unreachable!("rsplit yields at least one item"))
    }

    /// Fails unless the image has an OCI image config with `field`.
    fn config_field(&self, field: ConfigField) -> Result<(), ArtifactError> {
        match self.shape {
            ImageShape::WasmLayers | ImageShape::Compat => Ok(()),
            ImageShape::Artifact => Err(ArtifactError::ConfigFieldNeedsImage { field }),
        }
    }

    /// Sets the environment variable `name` to `value` in the config's
    /// `Env` (`name=value`); setting a name again replaces its value in
    /// place. A wasm-layer or compat image only.
    pub fn set_env(&mut self, name: &str, value: &str) -> Result<(), ArtifactError> {
        self.config_field(ConfigField::Env)?;
        if name.is_empty() || name.contains('=') {
            return Err(ArtifactError::InvalidEnvName {
                name: name.to_owned(),
            });
        }
        match self.process.env.iter_mut().find(|(n, _)| n == name) {
            Some((_, old)) => value.clone_into(old),
            None => self.process.env.push((name.to_owned(), value.to_owned())),
        }
        Ok(())
    }

    /// Appends `arg` to the config's `Cmd`: the arguments after the
    /// entrypoint. A wasm-layer or compat image only.
    pub fn add_arg(&mut self, arg: &str) -> Result<(), ArtifactError> {
        self.config_field(ConfigField::Cmd)?;
        self.process.cmd.push(arg.to_owned());
        Ok(())
    }

    /// Sets the config's `Entrypoint` to `[path]` instead of
    /// `["<name>.wasm"]` (`["/<name>.wasm"]` in a compat image; `<name>` is
    /// the last part of the reference's path). A wasm-layer or compat image
    /// only.
    pub fn set_entrypoint(&mut self, path: &str) -> Result<(), ArtifactError> {
        self.config_field(ConfigField::Entrypoint)?;
        if path.is_empty() {
            return Err(ArtifactError::EmptyEntrypoint);
        }
        self.process.entrypoint = Some(path.to_owned());
        Ok(())
    }

    /// Sets a config label. The `containerd.runwasi.layers` label
    /// ([`media_types::RUNWASI_LAYERS_LABEL`]) is written from the layers
    /// and cannot be set. A wasm-layer or compat image only.
    pub fn set_label(&mut self, key: &str, value: &str) -> Result<(), ArtifactError> {
        self.config_field(ConfigField::Labels)?;
        if key.is_empty() {
            return Err(ArtifactError::EmptyLabelKey);
        }
        if key == media_types::RUNWASI_LAYERS_LABEL {
            return Err(ArtifactError::ReservedLabel {
                key: key.to_owned(),
            });
        }
        self.process.labels.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// Sets the config's `WorkingDir`, an absolute path (as the OCI
    /// runtime's `cwd` must be). A wasm-layer or compat image only.
    pub fn set_workdir(&mut self, path: &str) -> Result<(), ArtifactError> {
        self.config_field(ConfigField::WorkingDir)?;
        if !path.starts_with('/') {
            return Err(ArtifactError::RelativeWorkdir {
                path: path.to_owned(),
            });
        }
        self.process.workdir = Some(path.to_owned());
        Ok(())
    }

    /// Adds a wasm module, component or binary-encoded WIT package as the
    /// next wasm layer, after reading it through ([`WasmDescription::read`]):
    /// what is not wasm, is cut short or malformed, or is a component whose
    /// world cannot be decoded is refused. Returns its description (its kind,
    /// world, the annotations its metadata gives if it is the entrypoint,
    /// and the sections too large for an annotation).
    ///
    /// The blob is a [`BlobSource`] (e.g. a hashed `FileBlob`) or an
    /// unhashed `FileInput`, which the layout writer hashes as it writes it
    /// (in one read, into a seekable output).
    pub fn add_wasm(
        &mut self,
        blob: impl Into<BlobInput>,
    ) -> Result<&WasmDescription, ArtifactError> {
        let blob = blob.into();
        let description = WasmDescription::read(&blob)?;
        Ok(self.push_wasm(blob, description))
    }

    /// [`add_wasm`](Self::add_wasm), and a small file's bytes, as read to
    /// describe it, put into `sink` as its layer's blob at once: the image
    /// written into the same `sink` later does not read the file again, so
    /// each small input is read once. The sink's blobs come in the same
    /// order as when the image is written, so only while every wasm before
    /// it went in this way: nothing is put after a large file (read as the
    /// image is written) or another source, nor for a compat image, whose
    /// layer is a tar made when the image is written.
    pub fn add_wasm_into(
        &mut self,
        blob: impl Into<BlobInput>,
        sink: &mut dyn ImageSink,
    ) -> Result<&WasmDescription, ArtifactError> {
        let blob = blob.into();
        if !self.may_put_when_added() {
            let description = WasmDescription::read(&blob)?;
            return Ok(self.push_wasm(blob, description));
        }
        let (description, bytes) = WasmDescription::read_keeping_blob(&blob)?;
        if let Some(bytes) = bytes {
            self.put_in_order(&bytes, sink)?;
        }
        Ok(self.push_wasm(blob, description))
    }

    /// Whether the next wasm's blob may go into a sink as it is added: the
    /// image's blobs are then put in the order it writes them (every wasm
    /// before it went in so; not a compat image, whose layer is made when
    /// it is written).
    fn may_put_when_added(&self) -> bool {
        self.put_when_added == self.wasm.len()
            && matches!(self.shape, ImageShape::WasmLayers | ImageShape::Artifact)
    }

    /// Puts `bytes`, the next wasm's blob, into `sink` when it
    /// [may be put](Self::may_put_when_added) as it is added, and counts it.
    pub(crate) fn put_in_order(
        &mut self,
        bytes: &BytesBlob,
        sink: &mut (dyn ImageSink + '_),
    ) -> Result<(), ArtifactError> {
        if self.may_put_when_added() {
            sink.put_blob(bytes)?;
            self.put_when_added += 1;
        }
        Ok(())
    }

    /// Keeps `blob` as the next wasm layer, with its description.
    pub(crate) fn push_wasm(
        &mut self,
        blob: BlobInput,
        description: WasmDescription,
    ) -> &WasmDescription {
        self.wasm.push((blob, description));
        let (_, description) = self
            .wasm
            .last()
            .unwrap_or_else(|| unreachable!("one was just pushed"));
        description
    }

    /// Sets the author: the config's `author` in every shape (written as
    /// `null` in a CNCF config when unset).
    pub fn set_author(&mut self, author: &str) {
        self.author = Some(author.to_owned());
    }

    /// Sets the world the component targets (e.g. `wasi:http/proxy@0.2.0`),
    /// the `component.target` of a CNCF config (`null` when unset). Only a
    /// CNCF artifact whose wasm is a component (or WIT package) has one.
    pub fn set_target(&mut self, target: &str) -> Result<(), ArtifactError> {
        if self.shape != ImageShape::Artifact {
            return Err(ArtifactError::TargetNeedsArtifact {
                target: target.to_owned(),
            });
        }
        let is_world_name = wasmparser::names::ComponentName::new(target, 0).is_ok_and(|name| {
            matches!(
                name.kind(),
                wasmparser::names::ComponentNameKind::Interface(_)
            )
        }) && target
            .split_once('@')
            .is_none_or(|(_, version)| is_semver(version));
        if !is_world_name {
            return Err(ArtifactError::InvalidTarget {
                target: target.to_owned(),
            });
        }
        self.target = Some(target.to_owned());
        Ok(())
    }

    /// Sets the platform, instead of `wasm` and `wasip1` (wasm-layer image)
    /// or `wasm` and the entrypoint's `wasip1`/`wasip2` (CNCF artifact), on
    /// the config and on the index's manifest descriptor.
    pub fn set_platform(&mut self, os: &str, architecture: &str) -> Result<(), ArtifactError> {
        for (field, value) in [("os", os), ("architecture", architecture)] {
            let valid = value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && value.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                });
            if !valid {
                return Err(ArtifactError::InvalidPlatform {
                    field,
                    value: value.to_owned(),
                });
            }
        }
        self.platform = Some((os.to_owned(), architecture.to_owned()));
        Ok(())
    }

    /// Adds a layer of `media_type` (`type/subtype`) after the wasm layers.
    /// In a wasm-layer image, an uncompressed tar layer
    /// (`application/vnd.oci.image.layer.v1.tar`) is listed in the config's
    /// `rootfs.diff_ids`; compressed tar layers are refused.
    pub fn add_layer(
        &mut self,
        media_type: &str,
        blob: impl Into<BlobInput>,
    ) -> Result<(), ArtifactError> {
        if !media_types::is_valid(media_type) {
            return Err(ArtifactError::InvalidMediaType {
                media_type: media_type.to_owned(),
            });
        }
        if self.shape != ImageShape::Artifact && media_types::is_compressed_tar(media_type) {
            return Err(ArtifactError::CompressedTarLayer {
                media_type: media_type.to_owned(),
            });
        }
        self.extra_layers.push((media_type.to_owned(), blob.into()));
        Ok(())
    }

    /// Sets a manifest annotation. The two naming annotations come from the
    /// reference and cannot be set.
    pub fn annotate(&mut self, key: &str, value: &str) -> Result<(), ArtifactError> {
        if key.is_empty() {
            return Err(ArtifactError::EmptyAnnotationKey);
        }
        if key == CONTAINERD_IMAGE_NAME || key == REF_NAME {
            return Err(ArtifactError::ReservedAnnotation {
                key: key.to_owned(),
            });
        }
        self.annotations.insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// Sets an annotation on the descriptor of the entrypoint's layer (the
    /// first wasm layer; a CNCF artifact's only one). Setting
    /// `org.opencontainers.image.title` replaces its file name
    /// (`<name>.wasm`), which must then be a plain file name: not empty,
    /// not `.` or `..`, without `/` or `\`.
    pub fn annotate_entrypoint_layer(
        &mut self,
        key: &str,
        value: &str,
    ) -> Result<(), ArtifactError> {
        if key.is_empty() {
            return Err(ArtifactError::EmptyAnnotationKey);
        }
        if key == TITLE && (matches!(value, "" | "." | "..") || value.contains(['/', '\\'])) {
            return Err(ArtifactError::InvalidLayerTitle {
                title: value.to_owned(),
            });
        }
        self.entrypoint_layer_annotations
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// Checks that the inputs make an image of its shape: at least one
    /// wasm input, exactly one for a CNCF artifact, and a target world only
    /// for a component. [`write_to`](Self::write_to) checks the same before
    /// it writes anything; call this to refuse earlier.
    pub fn check(&self) -> Result<(), ArtifactError> {
        let Some((entry_blob, entry)) = self.wasm.first() else {
            return Err(ArtifactError::NoWasm);
        };
        if self.shape == ImageShape::Artifact && self.wasm.len() > 1 {
            return Err(ArtifactError::ArtifactTakesOneWasm {
                count: self.wasm.len(),
            });
        }
        if self.shape == ImageShape::Compat && self.wasm.len() > 1 {
            return Err(ArtifactError::CompatTakesOneWasm {
                count: self.wasm.len(),
            });
        }
        if let (Some(target), None) = (&self.target, &entry.world) {
            return Err(ArtifactError::TargetNeedsComponent {
                target: target.clone(),
                origin: entry_blob.origin().into_owned(),
            });
        }
        Ok(())
    }

    /// The shape.
    pub fn shape(&self) -> ImageShape {
        self.shape
    }

    /// The reference the image is written under.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// Sets how a compat image's tar layer is compressed (gzip unless
    /// set); the other shapes have no layer of ours to compress.
    pub fn set_compression(&mut self, compression: LayerCompression) {
        self.compression = compression;
    }

    /// The platform the image is written with, `(os, architecture)`: the
    /// one set ([`set_platform`](Self::set_platform)), else `wasip1/wasm`
    /// (wasm-layer image), the entrypoint's `wasip1` or `wasip2` (CNCF
    /// artifact), `wasi/wasm` (compat image). Fails as
    /// [`check`](Self::check) does without a wasm input.
    pub fn platform(&self) -> Result<(String, String), ArtifactError> {
        let Some((_, entry)) = self.wasm.first() else {
            return Err(ArtifactError::NoWasm);
        };
        Ok(match &self.platform {
            Some(platform) => platform.clone(),
            None => (
                self.shape.default_os(entry.kind).to_owned(),
                "wasm".to_owned(),
            ),
        })
    }

    /// Writes the layers, the config and the manifest into `sink` (a tar,
    /// a layout directory, any [`ImageSink`]), and puts the manifest there
    /// under the image's reference and platform.
    ///
    /// This writes the image only; a [`Destination`](crate::Destination)
    /// also finishes what surrounds it (`index.json`, Docker's
    /// `manifest.json`, the file's rename into place).
    pub fn write_to<S: ImageSink + ?Sized>(
        &self,
        sink: &mut S,
    ) -> Result<WrittenImage, ArtifactError> {
        let (written, manifest) = self.write_parts(sink)?;
        let (os, architecture) = self.platform()?;
        let manifest = sink.put_manifest(
            &manifest,
            MediaType::ImageManifest,
            &self.reference,
            Some(platform(&os, &architecture)),
        )?;
        Ok(WrittenImage {
            manifest,
            ..written
        })
    }

    /// Writes the layers and the config into `sink` and makes the
    /// manifest (not yet put anywhere); the [`WrittenImage`]'s `manifest`
    /// is the manifest's plain descriptor, with the platform.
    pub(crate) fn write_parts<S: ImageSink + ?Sized>(
        &self,
        sink: &mut S,
    ) -> Result<(WrittenImage, BytesBlob), ArtifactError> {
        self.check()?;
        let Some((entry_blob, entry)) = self.wasm.first() else {
            return Err(ArtifactError::NoWasm);
        };
        let (os, architecture) = self.platform()?;
        // A compat image's first layer is made here, then put as a blob of
        // known digest; its diff ID goes into the config.
        let compat_layer = match self.shape {
            ImageShape::Compat => {
                let layer = CompatLayer::make(
                    entry_blob,
                    &format!("{}.wasm", self.image_name()),
                    self.compression,
                    compression::default_threads(),
                )?;
                sink.put_blob(&layer)?;
                Some(layer)
            }
            ImageShape::WasmLayers | ImageShape::Artifact => None,
        };
        let wasm_layers: Vec<(&str, &BlobInput)> = match self.shape {
            ImageShape::WasmLayers => self
                .wasm
                .iter()
                .map(|(blob, _)| (media_types::WASM_LAYER, blob))
                .collect(),
            ImageShape::Artifact => self
                .wasm
                .iter()
                .map(|(blob, _)| (media_types::WASM, blob))
                .collect(),
            ImageShape::Compat => Vec::new(),
        };
        let layers: Vec<(&str, &BlobInput)> = wasm_layers
            .into_iter()
            .chain(
                self.extra_layers
                    .iter()
                    .map(|(media_type, blob)| (media_type.as_str(), blob)),
            )
            .collect();
        let inputs: Vec<&BlobInput> = layers.iter().map(|(_, blob)| *blob).collect();
        let input_digests = sink.put_inputs(&inputs)?;
        // The wasm layers come first in `layers`; a compat image has none
        // (its wasm is in the tar layer made above).
        let wasm_layer_count = match self.shape {
            ImageShape::Compat => 0,
            ImageShape::WasmLayers | ImageShape::Artifact => self.wasm.len(),
        };
        let layer_count = layers.len() + usize::from(compat_layer.is_some());
        let mut layer_descriptors: Vec<LayerDescriptor> = Vec::with_capacity(layer_count);
        // The uncompressed digests of the tar layers, in order.
        let mut diff_ids: Vec<Digest> = Vec::new();
        if let Some(layer) = &compat_layer {
            layer_descriptors.push(LayerDescriptor {
                media_type: layer.media_type().to_owned(),
                digest: layer.digest(),
                size: layer.size(),
                annotations: self
                    .entrypoint_layer_annotations
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect(),
            });
            diff_ids.push(layer.diff_id());
        }
        for (position, ((media_type, blob), digest)) in
            layers.iter().zip(&input_digests).enumerate()
        {
            let annotations = match position {
                0 if wasm_layer_count > 0 => {
                    // The entrypoint layer's own annotations, over its title.
                    let mut annotations = self.entrypoint_layer_annotations.clone();
                    annotations
                        .entry(TITLE.to_owned())
                        .or_insert_with(|| self.layer_title(position));
                    annotations.into_iter().collect()
                }
                _ if position < wasm_layer_count => {
                    vec![(TITLE.to_owned(), self.layer_title(position))]
                }
                _ => Vec::new(),
            };
            layer_descriptors.push(LayerDescriptor {
                media_type: (*media_type).to_owned(),
                digest: *digest,
                size: blob.size(),
                annotations,
            });
            if media_types::is_uncompressed_tar(media_type) {
                diff_ids.push(*digest);
            }
        }
        let layer_digests: Vec<Digest> =
            layer_descriptors.iter().map(|layer| layer.digest).collect();

        let (config, config_media_type) = match self.shape {
            ImageShape::WasmLayers | ImageShape::Compat => (
                self.image_config(&os, &architecture, &layer_digests, &diff_ids)?,
                MediaType::ImageConfig,
            ),
            ImageShape::Artifact => (
                self.wasm_config(&os, &architecture, &layer_digests, entry.world.as_ref())?,
                MediaType::from(media_types::WASM_CONFIG),
            ),
        };
        sink.put_blob(&config)?;
        let config_descriptor = config.descriptor(config_media_type);

        let mut manifest_annotations = naming_annotations(&self.reference);
        manifest_annotations.extend(entry.annotations.clone());
        manifest_annotations.extend(self.annotations.clone());
        let manifest_json = to_canonical_json(
            "image manifest",
            &ManifestDocument {
                schema_version: SCHEMA_VERSION,
                media_type: MediaType::ImageManifest,
                config: &config_descriptor,
                layers: &layer_descriptors,
                annotations: &manifest_annotations,
            },
        )?;
        let manifest = BytesBlob::new(manifest_json);
        let mut manifest_descriptor = manifest.descriptor(MediaType::ImageManifest);
        manifest_descriptor.set_platform(Some(platform(&os, &architecture)));

        Ok((
            WrittenImage {
                reference: self.reference.clone(),
                shape: self.shape,
                manifest: manifest_descriptor,
                manifest_digest: manifest.digest(),
                config: config.digest(),
                layers: layer_digests,
                diff_ids: match self.shape {
                    ImageShape::Artifact => Vec::new(),
                    ImageShape::WasmLayers | ImageShape::Compat => diff_ids,
                },
                config_descriptor,
                layer_descriptors,
            },
            manifest,
        ))
    }

    /// The OCI image config of a wasm-layer image
    /// (`docs/formats.md#the-wasm-layer-image`) or a compat image
    /// (`docs/formats.md#the-compat-image`): `layers` are the layers'
    /// digests, `diff_ids` those of the tar layers uncompressed.
    fn image_config(
        &self,
        os: &str,
        architecture: &str,
        layers: &[Digest],
        diff_ids: &[Digest],
    ) -> Result<BytesBlob, ArtifactError> {
        let mut labels: HashMap<String, String> = self.process.labels.clone().into_iter().collect();
        let entrypoint = match (&self.process.entrypoint, self.shape) {
            (Some(path), _) => path.clone(),
            (None, ImageShape::Compat) => format!("/{}.wasm", self.image_name()),
            (None, _) => format!("{}.wasm", self.image_name()),
        };
        if self.shape == ImageShape::WasmLayers {
            let layer_hexes: String = layers.iter().map(Digest::hex).collect();
            labels.insert(
                media_types::RUNWASI_LAYERS_LABEL.to_owned(),
                digest_bytes(layer_hexes.as_bytes()).hex(),
            );
        }
        let mut process = ConfigBuilder::default();
        if !self.process.env.is_empty() {
            process = process.env(
                self.process
                    .env
                    .iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect::<Vec<_>>(),
            );
        }
        if !self.process.cmd.is_empty() {
            process = process.cmd(self.process.cmd.clone());
        }
        if let Some(workdir) = &self.process.workdir {
            process = process.working_dir(workdir.clone());
        }
        let diff_ids: Vec<String> = diff_ids.iter().map(Digest::to_string).collect();
        let mut config = ImageConfigurationBuilder::default();
        if let Some(author) = &self.author {
            config = config.author(author.clone());
        }
        let config = config
            .created(self.created.to_string())
            .architecture(Arch::from(architecture))
            .os(Os::from(os))
            .config(
                if labels.is_empty() {
                    process
                } else {
                    process.labels(labels)
                }
                .entrypoint(vec![entrypoint])
                .build()
                .unwrap_or_else(|_| unreachable!("every config field has a default")),
            )
            .rootfs(
                RootFsBuilder::default()
                    .typ("layers")
                    .diff_ids(diff_ids)
                    .build()
                    .unwrap_or_else(|_| unreachable!("type and diff_ids are set")),
            )
            .build()
            .unwrap_or_else(|_| unreachable!("architecture, os and rootfs are set"));
        Ok(BytesBlob::new(to_canonical_json("image config", &config)?))
    }

    /// The CNCF wasm config (`docs/formats.md#the-cncf-wasm-oci-artifact`).
    fn wasm_config(
        &self,
        os: &str,
        architecture: &str,
        layers: &[Digest],
        world: Option<&ComponentWorld>,
    ) -> Result<BytesBlob, ArtifactError> {
        let config = WasmConfig {
            created: self.created.to_string(),
            author: self.author.as_deref(),
            architecture,
            os,
            layer_digests: layers.iter().map(Digest::to_string).collect(),
            component: world.map(|world| ComponentField {
                exports: &world.exports,
                imports: &world.imports,
                target: self.target.as_deref(),
            }),
        };
        Ok(BytesBlob::new(to_canonical_json("wasm config", &config)?))
    }
}

/// `MAJOR.MINOR.PATCH`, optionally followed by `-prerelease` and `+build`.
fn is_semver(version: &str) -> bool {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let rest = &version[core.len()..];
    let numbers: Vec<&str> = core.split('.').collect();
    numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
        && !rest.ends_with(['-', '+', '.'])
}

fn platform(os: &str, architecture: &str) -> Platform {
    PlatformBuilder::default()
        .architecture(Arch::from(architecture))
        .os(Os::from(os))
        .build()
        .unwrap_or_else(|_| unreachable!("architecture and os are set"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn image(shape: ImageShape) -> WasmImage {
        WasmImage::new("app:v1".parse().unwrap(), shape, Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn the_artifact_has_no_process_config_fields() {
        let mut artifact = image(ImageShape::Artifact);
        let refused = [
            (artifact.set_env("A", "1"), ConfigField::Env),
            (artifact.add_arg("x"), ConfigField::Cmd),
            (artifact.set_entrypoint("x.wasm"), ConfigField::Entrypoint),
            (artifact.set_label("a", "b"), ConfigField::Labels),
            (artifact.set_workdir("/srv"), ConfigField::WorkingDir),
        ];
        // The message names the field as the OCI config spells it.
        let names = ["Env", "Cmd", "Entrypoint", "Labels", "WorkingDir"];
        for ((result, expected), name) in refused.into_iter().zip(names) {
            match result {
                Err(error @ ArtifactError::ConfigFieldNeedsImage { field }) => {
                    assert_eq!(field, expected);
                    assert!(
                        error.to_string().contains(&format!(" no {name} field")),
                        "{error}"
                    );
                }
                other => panic!("{expected}: {other:?}"),
            }
        }
    }

    /// Messages name each shape as the README does.
    #[test]
    fn shapes_are_named_in_messages() {
        for (shape, name) in [
            (ImageShape::WasmLayers, "wasm-layer image"),
            (ImageShape::Artifact, "CNCF Wasm OCI Artifact"),
            (ImageShape::Compat, "compat image"),
        ] {
            assert_eq!(shape.to_string(), name);
        }
    }

    #[test]
    fn process_config_values_are_checked_and_errors_name_no_flags() {
        let mut wasm = image(ImageShape::WasmLayers);
        let errors = [
            wasm.set_env("", "x").unwrap_err(),
            wasm.set_env("A=B", "x").unwrap_err(),
            wasm.set_label("", "x").unwrap_err(),
            wasm.set_label(media_types::RUNWASI_LAYERS_LABEL, "x")
                .unwrap_err(),
            wasm.set_entrypoint("").unwrap_err(),
            wasm.set_workdir("relative").unwrap_err(),
            wasm.set_workdir("").unwrap_err(),
        ];
        for error in errors {
            assert!(!error.to_string().contains("--"), "{error}");
        }
        assert!(wasm.set_env("A", "").is_ok());
        assert!(wasm.add_arg("").is_ok());
        assert!(wasm.set_workdir("/").is_ok());
    }
}
