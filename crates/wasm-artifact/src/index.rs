//! Several shapes of one wasm under one reference: an image index.

use oci_digest::Digest;
use oci_layout::{to_canonical_json, BlobSource, BytesBlob, ImageSink, Reference};
use oci_spec::image::{Descriptor, ImageIndexBuilder, MediaType, SCHEMA_VERSION};

use crate::{ArtifactError, WasmImage, WrittenImage};

/// What [`write_index_to`] wrote: the index and each image in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenIndex {
    /// The reference the index is written under.
    pub reference: Reference,
    /// The index's descriptor, as listed in `index.json` (no platform).
    pub index: Descriptor,
    /// The index's digest.
    pub index_digest: Digest,
    /// Each image, in the index's order; its `manifest` is its entry in
    /// the index (with its platform).
    pub images: Vec<WrittenImage>,
}

/// Writes `images` (the same wasm in several shapes, all under one
/// reference) into `sink`, and an OCI image index listing each image's
/// manifest with its platform, put under the reference. A consumer asking
/// for a platform gets the image made for it (`ctr images import
/// --platform wasip1/wasm` the wasm-layer image, `--platform wasi/wasm`
/// the compat image).
///
/// Two images with the same platform are refused
/// ([`ArtifactError::SamePlatform`]): a consumer would take either. So are
/// images under different references ([`ArtifactError::IndexReferences`])
/// and an empty list ([`ArtifactError::NoWasm`]). Everything is checked
/// before anything is written.
pub fn write_index_to<S: ImageSink + ?Sized>(
    images: &[WasmImage],
    sink: &mut S,
) -> Result<WrittenIndex, ArtifactError> {
    write_index_with(images, &[], sink)
}

/// [`write_index_to`] with more entries after the images: `listed` are
/// descriptors (with their platforms) of manifests already in `sink`, put
/// there with [`ImageSink::put_listed_manifest`] (an existing image as one
/// more platform, such as a `linux/amd64` build). Their platforms too must
/// differ from every other entry's ([`ArtifactError::PlatformTaken`]).
pub fn write_index_with<S: ImageSink + ?Sized>(
    images: &[WasmImage],
    listed: &[Descriptor],
    sink: &mut S,
) -> Result<WrittenIndex, ArtifactError> {
    let reference = check_index_with(images, listed)?;
    let mut written = Vec::with_capacity(images.len());
    for image in images {
        let (image_written, manifest) = image.write_parts(sink)?;
        sink.put_listed_manifest(&manifest, MediaType::ImageManifest)?;
        written.push(image_written);
    }
    let index = ImageIndexBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageIndex)
        .manifests(
            written
                .iter()
                .map(|image| image.manifest.clone())
                .chain(listed.iter().cloned())
                .collect::<Vec<_>>(),
        )
        .build()
        .unwrap_or_else(|_| unreachable!("manifests are set"));
    let index = BytesBlob::new(to_canonical_json("image index", &index)?);
    let entry = sink.put_manifest(&index, MediaType::ImageIndex, &reference, None)?;
    Ok(WrittenIndex {
        reference,
        index: entry,
        index_digest: index.digest(),
        images: written,
    })
}

/// Checks that `images` make one index (see [`write_index_to`]): each
/// image is sound ([`WasmImage::check`]), all share one reference, no two
/// share a platform. Returns the reference.
pub fn check_index(images: &[WasmImage]) -> Result<Reference, ArtifactError> {
    check_index_with(images, &[])
}

/// [`check_index`] with `listed` entries after the images (see
/// [`write_index_with`]).
pub fn check_index_with(
    images: &[WasmImage],
    listed: &[Descriptor],
) -> Result<Reference, ArtifactError> {
    let Some(first) = images.first() else {
        return Err(ArtifactError::NoWasm);
    };
    let reference = first.reference().clone();
    let mut platforms: Vec<((String, String), &WasmImage)> = Vec::new();
    for image in images {
        image.check()?;
        if *image.reference() != reference {
            return Err(ArtifactError::IndexReferences {
                first: reference.to_string(),
                other: image.reference().to_string(),
            });
        }
        let platform = image.platform()?;
        if let Some((_, earlier)) = platforms.iter().find(|(p, _)| *p == platform) {
            return Err(ArtifactError::SamePlatform {
                platform: format!("{}/{}", platform.0, platform.1),
                first: earlier.shape(),
                second: image.shape(),
            });
        }
        platforms.push((platform, image));
    }
    let mut listed_platforms: Vec<(String, String)> = Vec::new();
    for descriptor in listed {
        let platform = descriptor
            .platform()
            .as_ref()
            .map(|p| (p.os().to_string(), p.architecture().to_string()))
            .ok_or_else(|| ArtifactError::ListedWithoutPlatform {
                digest: descriptor.digest().to_string(),
            })?;
        let taken_by_image = platforms.iter().find(|(p, _)| *p == platform);
        if taken_by_image.is_some() || listed_platforms.contains(&platform) {
            return Err(ArtifactError::PlatformTaken {
                platform: format!("{}/{}", platform.0, platform.1),
                digest: descriptor.digest().to_string(),
                by: taken_by_image.map(|(_, image)| image.shape()),
            });
        }
        listed_platforms.push(platform);
    }
    Ok(reference)
}
