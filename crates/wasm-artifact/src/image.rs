//! A wasm image: the inputs, and the documents that describe them.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

use oci_digest::{digest_bytes, Digest};
use oci_layout::annotations::{CONTAINERD_IMAGE_NAME, REF_NAME};
use oci_layout::{
    oci_spec_digest, to_canonical_json, BlobInput, BlobSource, BytesBlob, LayoutWriter, Reference,
};
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, ImageConfigurationBuilder, ImageManifestBuilder, MediaType,
    Os, Platform, PlatformBuilder, RootFsBuilder, SCHEMA_VERSION,
};
use serde::Serialize;

use crate::{media_types, ArtifactError, Timestamp, WasmKind};

/// The two image shapes this crate writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageShape {
    /// The image containerd's runwasi shims run: an OCI image config
    /// (`architecture: wasm`, `os: wasip1`) whose layers are raw wasm, one
    /// layer per wasm file (FORMATS.md §4).
    WasmLayers,
    /// The CNCF wg-wasm Wasm OCI Artifact: a `application/vnd.wasm.config.v0+json`
    /// config and one `application/wasm` layer (FORMATS.md §5).
    Artifact,
}

/// A wasm image to write: its name, shape, `created` time, wasm inputs,
/// extra layers and manifest annotations.
///
/// Wasm layers come first, in the order added, then extra layers in the
/// order added.
pub struct WasmImage {
    reference: Reference,
    shape: ImageShape,
    created: Timestamp,
    wasm: Vec<(BlobInput, WasmKind)>,
    extra_layers: Vec<(String, BlobInput)>,
    annotations: BTreeMap<String, String>,
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
    /// The layer blobs' digests, in manifest order.
    pub layers: Vec<Digest>,
}

/// The CNCF wasm config (`application/vnd.wasm.config.v0+json`).
#[derive(Serialize)]
struct WasmConfig {
    created: String,
    author: Option<String>,
    architecture: &'static str,
    os: &'static str,
    #[serde(rename = "layerDigests")]
    layer_digests: Vec<String>,
    component: Option<()>,
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
            extra_layers: Vec::new(),
            annotations: BTreeMap::new(),
        }
    }

    /// Adds a wasm module or component as the next wasm layer, after
    /// checking from its first bytes that it is one. Returns its kind.
    ///
    /// The blob is a [`BlobSource`] (e.g. a hashed `FileBlob`) or an
    /// unhashed `FileInput`, which the layout writer hashes as it writes it
    /// (in one read, into a seekable output).
    pub fn add_wasm(&mut self, blob: impl Into<BlobInput>) -> Result<WasmKind, ArtifactError> {
        let blob = blob.into();
        let origin = || blob.origin().into_owned();
        let mut preamble = [0u8; 8];
        let mut filled = 0;
        let mut reader = blob.open().map_err(|source| ArtifactError::ReadWasm {
            origin: origin(),
            source,
        })?;
        while filled < preamble.len() {
            match reader.read(&mut preamble[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(ArtifactError::ReadWasm {
                        origin: origin(),
                        source,
                    })
                }
            }
        }
        drop(reader);
        let kind = WasmKind::from_preamble(&preamble[..filled]).map_err(|reason| {
            ArtifactError::NotWasm {
                origin: origin(),
                reason,
            }
        })?;
        self.wasm.push((blob, kind));
        Ok(kind)
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
        if self.shape == ImageShape::WasmLayers && media_types::is_compressed_tar(media_type) {
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

    /// Writes the layers, the config and the manifest into `layout`, and
    /// lists the manifest in its index with the image's platform and name.
    pub fn write_to<W: Write>(
        &self,
        layout: &mut LayoutWriter<W>,
    ) -> Result<WrittenImage, ArtifactError> {
        let Some((_, entry_kind)) = self.wasm.first() else {
            return Err(ArtifactError::NoWasm);
        };
        if self.shape == ImageShape::Artifact && self.wasm.len() > 1 {
            return Err(ArtifactError::ArtifactTakesOneWasm {
                count: self.wasm.len(),
            });
        }
        let wasm_media_type = match self.shape {
            ImageShape::WasmLayers => media_types::WASM_LAYER,
            ImageShape::Artifact => media_types::WASM,
        };
        let layers: Vec<(&str, &BlobInput)> = self
            .wasm
            .iter()
            .map(|(blob, _)| (wasm_media_type, blob))
            .chain(
                self.extra_layers
                    .iter()
                    .map(|(media_type, blob)| (media_type.as_str(), blob)),
            )
            .collect();
        let inputs: Vec<&BlobInput> = layers.iter().map(|(_, blob)| *blob).collect();
        let layer_digests = layout.write_inputs(&inputs)?;
        let layer_descriptors: Vec<Descriptor> = layers
            .iter()
            .zip(&layer_digests)
            .map(|((media_type, blob), digest)| {
                Descriptor::new(
                    MediaType::from(*media_type),
                    blob.size(),
                    oci_spec_digest(digest),
                )
            })
            .collect();
        let layers: Vec<(&str, Digest)> = layers
            .iter()
            .zip(&layer_digests)
            .map(|((media_type, _), digest)| (*media_type, *digest))
            .collect();

        let os = match self.shape {
            ImageShape::WasmLayers => WasmKind::Module.wasi_os(),
            ImageShape::Artifact => entry_kind.wasi_os(),
        };
        let (config, config_media_type) = match self.shape {
            ImageShape::WasmLayers => (self.image_config(os, &layers)?, MediaType::ImageConfig),
            ImageShape::Artifact => (
                self.wasm_config(os, &layer_digests)?,
                MediaType::from(media_types::WASM_CONFIG),
            ),
        };
        layout.write_blob(&config)?;

        let naming = self.naming_annotations();
        let mut manifest_annotations: HashMap<String, String> = naming.clone();
        manifest_annotations.extend(self.annotations.clone());
        let manifest = ImageManifestBuilder::default()
            .schema_version(SCHEMA_VERSION)
            .media_type(MediaType::ImageManifest)
            .config(config.descriptor(config_media_type))
            .layers(layer_descriptors)
            .annotations(manifest_annotations)
            .build()
            .unwrap_or_else(|_| unreachable!("config and layers are set"));
        let manifest = BytesBlob::new(to_canonical_json("image manifest", &manifest)?);
        layout.write_blob(&manifest)?;
        let mut manifest_descriptor = manifest.descriptor(MediaType::ImageManifest);
        manifest_descriptor.set_platform(Some(wasm_platform(os)));
        manifest_descriptor.set_annotations(Some(naming));
        layout.add_to_index(manifest_descriptor.clone())?;

        Ok(WrittenImage {
            reference: self.reference.clone(),
            manifest: manifest_descriptor,
            manifest_digest: manifest.digest(),
            config: config.digest(),
            layers: layer_digests,
        })
    }

    /// `io.containerd.image.name` (the full reference) and
    /// `org.opencontainers.image.ref.name` (the tag).
    fn naming_annotations(&self) -> HashMap<String, String> {
        HashMap::from([
            (CONTAINERD_IMAGE_NAME.to_owned(), self.reference.to_string()),
            (REF_NAME.to_owned(), self.reference.tag().to_owned()),
        ])
    }

    /// The OCI image config of a wasm-layer image (FORMATS.md §4).
    fn image_config(
        &self,
        os: &str,
        layers: &[(&str, Digest)],
    ) -> Result<BytesBlob, ArtifactError> {
        let entrypoint_name = self
            .reference
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_else(|| unreachable!("rsplit yields at least one item"));
        let layer_hexes: String = layers.iter().map(|(_, digest)| digest.hex()).collect();
        let labels = HashMap::from([(
            media_types::RUNWASI_LAYERS_LABEL.to_owned(),
            digest_bytes(layer_hexes.as_bytes()).hex(),
        )]);
        let diff_ids: Vec<String> = layers
            .iter()
            .filter(|(media_type, _)| media_types::is_uncompressed_tar(media_type))
            .map(|(_, digest)| digest.to_string())
            .collect();
        let config = ImageConfigurationBuilder::default()
            .created(self.created.to_string())
            .architecture(Arch::Wasm)
            .os(Os::from(os))
            .config(
                ConfigBuilder::default()
                    .entrypoint(vec![format!("{entrypoint_name}.wasm")])
                    .labels(labels)
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

    /// The CNCF wasm config (FORMATS.md §5).
    fn wasm_config(&self, os: &'static str, layers: &[Digest]) -> Result<BytesBlob, ArtifactError> {
        let config = WasmConfig {
            created: self.created.to_string(),
            author: None,
            architecture: "wasm",
            os,
            layer_digests: layers.iter().map(Digest::to_string).collect(),
            component: None,
        };
        Ok(BytesBlob::new(to_canonical_json("wasm config", &config)?))
    }
}

fn wasm_platform(os: &str) -> Platform {
    PlatformBuilder::default()
        .architecture(Arch::Wasm)
        .os(Os::from(os))
        .build()
        .unwrap_or_else(|_| unreachable!("architecture and os are set"))
}
