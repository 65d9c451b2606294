//! Copying one image out of a checked layout (a tar or a directory) into
//! any [`ImageSink`]: a registry, a tar, a layout directory.
//!
//! The source is read and checked first with the same rules as
//! [`read_layout`](crate::read_layout) and
//! [`read_layout_dir`](crate::read_layout_dir): a source with any problem
//! is refused before the sink sees a byte. Then each blob of the chosen
//! image is read again from the source (for a tar, the byte range of its
//! entry) and handed to the sink as a [`BlobSource`] with its digest and
//! size, so the sink checks the bytes as they stream: a source that changed
//! since it was checked is an error, never a wrong blob.
//!
//! A Docker archive (see [`LayoutFormat::DockerArchive`](crate::LayoutFormat))
//! is copied as the OCI image the reader describes it as: its config file
//! and layer tars become blobs (each layer's digest its `rootfs.diff_ids`
//! entry, media type `application/vnd.oci.image.layer.v1.tar`), under the
//! OCI manifest the reader derived, the same bytes for the same archive.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use docker_compat::normalize_reference;
use oci_digest::Digest;
use oci_layout::{BlobSource, BytesBlob, ImageSink, LayoutError, Reference};
use oci_spec::image::MediaType;

use crate::check::{normalize, MAX_DOCUMENT_LEN};
use crate::error::ReadError;
use crate::problem::Problem;
use crate::report::{Descriptor, Image, LayoutReport};
use crate::tar_stream::{EntryKind, TarStream};
use crate::{read_layout, read_layout_dir};

/// Where an image is copied from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutSource {
    /// An image-layout tar file (`oci-archive:FILE`, or a plain path), or a
    /// Docker archive (`docker-archive:FILE`).
    Tar(PathBuf),
    /// An image-layout directory (`oci:DIR`).
    Dir(PathBuf),
}

impl LayoutSource {
    /// The file or directory.
    pub fn path(&self) -> &Path {
        match self {
            LayoutSource::Tar(path) | LayoutSource::Dir(path) => path,
        }
    }
}

/// Why a copy did not happen, or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The source could not be opened or read at all.
    #[error("{path}: {source}")]
    Read {
        /// The source.
        path: PathBuf,
        /// What failed.
        #[source]
        source: ReadError,
    },
    /// The source is not a valid layout; nothing was copied.
    #[error("{path}: not a valid OCI image layout ({} problem{})", problems.len(), if problems.len() == 1 { "" } else { "s" })]
    Invalid {
        /// The source.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// No image in the source has the tag (or name) asked for.
    #[error("{path}: no image is tagged {tag:?} (org.opencontainers.image.ref.name) or named so (io.containerd.image.name); tags: {}", if available.is_empty() { "none".to_owned() } else { available.join(", ") })]
    NoSuchTag {
        /// The source.
        path: PathBuf,
        /// The tag asked for.
        tag: String,
        /// The tags the source has.
        available: Vec<String>,
    },
    /// The source holds no image, or several and no tag chose one.
    #[error(
        "{path}: holds {count} images; name one by its tag (org.opencontainers.image.ref.name)"
    )]
    NotOneImage {
        /// The source.
        path: PathBuf,
        /// How many images it holds.
        count: usize,
    },
    /// The chosen entry is not an image manifest that could be read.
    #[error("{path}: {digest} ({media_type}) is not an image manifest this copy can follow")]
    NotAManifest {
        /// The source.
        path: PathBuf,
        /// Its digest.
        digest: String,
        /// Its media type.
        media_type: String,
    },
    /// No reference was given and the image has no usable name of its own.
    #[error(
        "{path}: image {digest} has no io.containerd.image.name to name it by at the destination"
    )]
    NoName {
        /// The source.
        path: PathBuf,
        /// The image's manifest digest.
        digest: String,
    },
    /// A blob the checked source listed could not be found or read again.
    #[error("{path}: blob {digest}: {source}")]
    Blob {
        /// The source.
        path: PathBuf,
        /// The blob.
        digest: String,
        /// What failed.
        #[source]
        source: io::Error,
    },
    /// The manifest read again is not the one checked.
    #[error("{path}: the manifest {expected} changed since it was checked (now {found})")]
    ManifestChanged {
        /// The source.
        path: PathBuf,
        /// Its digest when checked.
        expected: String,
        /// Its digest now.
        found: Digest,
    },
    /// The destination refused a blob or the manifest.
    #[error(transparent)]
    Sink(#[from] LayoutError),
    /// An image to list in an index whose platform neither its index entry
    /// nor its config says.
    #[error("{path}: image {digest} has no platform (neither its index entry nor its config gives os and architecture)")]
    NoPlatform {
        /// The source.
        path: PathBuf,
        /// The image's manifest digest.
        digest: String,
    },
}

/// What a copy put into the sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    /// The manifest's digest.
    pub manifest_digest: Digest,
    /// The manifest's media type.
    pub media_type: String,
    /// Blobs (config and layers) handed to the sink.
    pub blobs: usize,
    /// Of them, those written now (not already held by the destination).
    pub blobs_written: usize,
}

/// Reads and checks `source`, then copies its image tagged `tag` (the
/// `org.opencontainers.image.ref.name` of its index entry, or its full
/// name, `io.containerd.image.name`, compared as Docker normalises
/// references, so a Docker archive's `RepoTags` entry picks its image), or
/// its only image, into `sink` under `reference` (or, without one, the name the
/// source gives the image, `io.containerd.image.name`): the config and each layer, then
/// the manifest with its own media type and the platform of its index
/// entry.
///
/// A source with any problem is refused ([`CopyError::Invalid`]) before
/// `sink` is touched.
pub fn copy_image(
    source: &LayoutSource,
    tag: Option<&str>,
    sink: &mut dyn ImageSink,
    reference: Option<&Reference>,
) -> Result<Copied, CopyError> {
    let report = read_source(source)?;
    copy_checked(source, report, tag, sink, reference)
}

/// [`copy_image`] for a source already read into `report` (by
/// [`read_source`]): to check a source before connecting to where it goes.
/// A report with problems is refused ([`CopyError::Invalid`]).
pub fn copy_checked(
    source: &LayoutSource,
    report: LayoutReport,
    tag: Option<&str>,
    sink: &mut dyn ImageSink,
    reference: Option<&Reference>,
) -> Result<Copied, CopyError> {
    let path = source.path().to_owned();
    if !report.is_valid() {
        return Err(CopyError::Invalid {
            path,
            problems: report.problems,
        });
    }
    let image = choose(&report, tag, &path)?;
    let named;
    let reference = match reference {
        Some(reference) => reference,
        None => {
            let name = image
                .descriptor
                .annotations
                .get(oci_layout::annotations::CONTAINERD_IMAGE_NAME);
            named = name
                .and_then(|name| name.parse::<Reference>().ok())
                .ok_or_else(|| CopyError::NoName {
                    path: path.clone(),
                    digest: image.descriptor.digest.clone(),
                })?;
            &named
        }
    };
    let blobs = BlobIndex::of(source)?;
    let manifest_descriptor = &image.descriptor;
    let manifest = BytesBlob::new(blobs.manifest_of(image)?);
    if manifest.digest().to_string() != manifest_descriptor.digest {
        return Err(CopyError::ManifestChanged {
            path,
            expected: manifest_descriptor.digest.clone(),
            found: manifest.digest(),
        });
    }
    let Some(parsed) = &image.manifest else {
        return Err(CopyError::NotAManifest {
            path,
            digest: manifest_descriptor.digest.clone(),
            media_type: manifest_descriptor.media_type.clone(),
        });
    };
    let mut copied = Copied {
        manifest_digest: manifest.digest(),
        media_type: manifest_descriptor.media_type.clone(),
        blobs: 0,
        blobs_written: 0,
    };
    for (descriptor, entry) in blob_entries(image, parsed) {
        let blob = blobs.source_of(descriptor, &entry)?;
        copied.blobs += 1;
        if sink.put_blob(&blob)? {
            copied.blobs_written += 1;
        }
    }
    let platform = manifest_descriptor
        .platform
        .as_ref()
        .map(crate::Platform::to_oci_spec);
    sink.put_manifest(
        &manifest,
        MediaType::from(manifest_descriptor.media_type.as_str()),
        reference,
        platform,
    )?;
    Ok(copied)
}

/// The index entry to list the image tagged `tag` (or the only image) of a
/// checked source by, beside others in an image index: its manifest's
/// descriptor (media type, digest, size) with its platform, its index
/// entry's or else its config's `os` and `architecture` (the platforms of
/// an index's entries must all differ); no annotations.
pub fn listed_descriptor(
    source: &LayoutSource,
    report: &LayoutReport,
    tag: Option<&str>,
) -> Result<oci_spec::image::Descriptor, CopyError> {
    let path = source.path();
    let image = choose(report, tag, path)?;
    let from_config = || {
        let config = image.config.as_ref()?;
        Some(crate::Platform {
            architecture: config.architecture.clone()?,
            os: config.os.clone()?,
            variant: None,
            os_version: None,
        })
    };
    let platform = image
        .descriptor
        .platform
        .clone()
        .or_else(from_config)
        .ok_or_else(|| CopyError::NoPlatform {
            path: path.to_owned(),
            digest: image.descriptor.digest.clone(),
        })?;
    let digest =
        image
            .descriptor
            .digest
            .parse::<Digest>()
            .map_err(|_| CopyError::NotAManifest {
                path: path.to_owned(),
                digest: image.descriptor.digest.clone(),
                media_type: image.descriptor.media_type.clone(),
            })?;
    let mut descriptor = oci_spec::image::Descriptor::new(
        MediaType::from(image.descriptor.media_type.as_str()),
        image.descriptor.size,
        oci_layout::oci_spec_digest(&digest),
    );
    descriptor.set_platform(Some(platform.to_oci_spec()));
    Ok(descriptor)
}

/// Copies the image tagged `tag` (or the only image) of a checked source
/// into `sink` as a manifest an image index lists: its config and layers,
/// then the manifest ([`ImageSink::put_listed_manifest`]); returns the
/// manifest's descriptor with its platform ([`listed_descriptor`]), for
/// the index. The manifest's bytes and digest are the source's.
pub fn copy_listed(
    source: &LayoutSource,
    report: &LayoutReport,
    tag: Option<&str>,
    sink: &mut dyn ImageSink,
) -> Result<oci_spec::image::Descriptor, CopyError> {
    let path = source.path().to_owned();
    if !report.is_valid() {
        return Err(CopyError::Invalid {
            path,
            problems: report.problems.clone(),
        });
    }
    let descriptor = listed_descriptor(source, report, tag)?;
    let image = choose(report, tag, &path)?;
    let Some(parsed) = &image.manifest else {
        return Err(CopyError::NotAManifest {
            path,
            digest: image.descriptor.digest.clone(),
            media_type: image.descriptor.media_type.clone(),
        });
    };
    let blobs = BlobIndex::of(source)?;
    let manifest = BytesBlob::new(blobs.manifest_of(image)?);
    if manifest.digest().to_string() != image.descriptor.digest {
        return Err(CopyError::ManifestChanged {
            path,
            expected: image.descriptor.digest.clone(),
            found: manifest.digest(),
        });
    }
    for (descriptor, entry) in blob_entries(image, parsed) {
        sink.put_blob(&blobs.source_of(descriptor, &entry)?)?;
    }
    sink.put_listed_manifest(&manifest, descriptor.media_type().clone())?;
    Ok(descriptor)
}

/// Reads and checks `source` as `verify` does.
pub fn read_source(source: &LayoutSource) -> Result<LayoutReport, CopyError> {
    let path = source.path().to_owned();
    let result = match source {
        LayoutSource::Dir(dir) => read_layout_dir(dir),
        LayoutSource::Tar(file) => File::open(file)
            .map_err(|source| ReadError::Tar { source })
            .and_then(|file| read_layout(BufReader::with_capacity(256 * 1024, file))),
    };
    result.map_err(|source| CopyError::Read { path, source })
}

/// The image tagged or named `tag`, or the only one.
fn choose<'a>(
    report: &'a LayoutReport,
    tag: Option<&str>,
    path: &Path,
) -> Result<&'a Image, CopyError> {
    let ref_name = |image: &Image| {
        image
            .descriptor
            .annotations
            .get(oci_layout::annotations::REF_NAME)
            .cloned()
    };
    let named = |image: &Image, wanted: &str| {
        image
            .descriptor
            .annotations
            .get(oci_layout::annotations::CONTAINERD_IMAGE_NAME)
            .is_some_and(|name| normalize_reference(name) == normalize_reference(wanted))
    };
    match tag {
        Some(tag) => report
            .images
            .iter()
            .find(|image| ref_name(image).as_deref() == Some(tag))
            .or_else(|| report.images.iter().find(|image| named(image, tag)))
            .ok_or_else(|| CopyError::NoSuchTag {
                path: path.to_owned(),
                tag: tag.to_owned(),
                available: report.images.iter().filter_map(ref_name).collect(),
            }),
        None => match report.images.as_slice() {
            [image] => Ok(image),
            images => Err(CopyError::NotOneImage {
                path: path.to_owned(),
                count: images.len(),
            }),
        },
    }
}

/// The entry name of the blob `digest` (as written) in an OCI layout.
fn blob_entry(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// Where each blob's bytes are in the source: a file and a byte range.
struct BlobIndex {
    path: PathBuf,
    /// For a tar: each regular file's data offset and size in the tar
    /// file, by entry name (as the checker normalises it).
    ranges: Option<HashMap<String, (u64, u64)>>,
}

impl BlobIndex {
    fn of(source: &LayoutSource) -> Result<Self, CopyError> {
        match source {
            LayoutSource::Dir(dir) => Ok(BlobIndex {
                path: dir.clone(),
                ranges: None,
            }),
            LayoutSource::Tar(file) => {
                let read_error = |source| CopyError::Read {
                    path: file.clone(),
                    source: ReadError::Tar { source },
                };
                let input = File::open(file).map_err(read_error)?;
                let mut tar = TarStream::new(BufReader::with_capacity(256 * 1024, input));
                let mut ranges = HashMap::new();
                // The tar was checked already; anything that stops this pass
                // now means it changed, and the blob is then not found.
                while let Ok(Some(header)) = tar.next_header() {
                    if header.kind == EntryKind::File {
                        ranges.insert(normalize(&header.name), (tar.offset(), header.size));
                    }
                    if tar.data(header.size, None, |_| {}).is_err() {
                        break;
                    }
                }
                Ok(BlobIndex {
                    path: file.clone(),
                    ranges: Some(ranges),
                })
            }
        }
    }

    /// The blob `descriptor` points at, held in the source's entry `entry`,
    /// as a source the sink checks.
    fn source_of(&self, descriptor: &Descriptor, entry: &str) -> Result<RangeBlob, CopyError> {
        let blob_error = |source| CopyError::Blob {
            path: self.path.clone(),
            digest: descriptor.digest.clone(),
            source,
        };
        let digest = descriptor
            .parse_digest()
            .map_err(|e| blob_error(io::Error::new(io::ErrorKind::InvalidData, e.to_string())))?;
        let (file, offset) = match &self.ranges {
            None => (self.path.join(entry), 0),
            Some(ranges) => {
                let Some(&(offset, size)) = ranges.get(entry) else {
                    return Err(blob_error(io::Error::new(
                        io::ErrorKind::NotFound,
                        "not in the tar (a layer left out for its urls is not copied)",
                    )));
                };
                if size != descriptor.size {
                    return Err(blob_error(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{size} bytes in the tar, {} in its descriptor",
                            descriptor.size
                        ),
                    )));
                }
                (self.path.clone(), offset)
            }
        };
        Ok(RangeBlob {
            origin: format!("{} ({digest})", self.path.display()),
            file,
            offset,
            size: descriptor.size,
            digest,
        })
    }

    /// The manifest of `image`: as stored, or, for an image of a Docker
    /// archive, as the reader derived it from the checked archive.
    fn manifest_of(&self, image: &crate::Image) -> Result<Vec<u8>, CopyError> {
        match (&image.docker_files, &image.raw_manifest) {
            (Some(_), Some(raw)) => Ok(raw.to_vec()),
            _ => self.read_document(&image.descriptor),
        }
    }

    /// A small document (a manifest), read whole.
    fn read_document(&self, descriptor: &Descriptor) -> Result<Vec<u8>, CopyError> {
        let blob = self.source_of(descriptor, &blob_entry(&descriptor.digest))?;
        let blob_error = |source| CopyError::Blob {
            path: self.path.clone(),
            digest: descriptor.digest.clone(),
            source,
        };
        if blob.size > MAX_DOCUMENT_LEN {
            return Err(blob_error(io::Error::new(
                io::ErrorKind::InvalidData,
                "larger than a manifest may be",
            )));
        }
        let mut bytes = Vec::new();
        blob.open()
            .and_then(|mut reader| reader.read_to_end(&mut bytes))
            .map_err(blob_error)?;
        Ok(bytes)
    }
}

/// A blob's bytes: `size` bytes at `offset` in `file`.
struct RangeBlob {
    origin: String,
    file: PathBuf,
    offset: u64,
    size: u64,
    digest: Digest,
}

impl BlobSource for RangeBlob {
    fn digest(&self) -> Digest {
        self.digest
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn origin(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.origin)
    }

    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        let mut file = File::open(&self.file)?;
        file.seek(SeekFrom::Start(self.offset))?;
        // One byte more than the blob, so a sink sees a blob grown in place.
        let limit = if self.offset == 0 {
            self.size.saturating_add(1)
        } else {
            self.size
        };
        Ok(Box::new(BufReader::with_capacity(
            256 * 1024,
            file.take(limit),
        )))
    }
}

/// The config and layers of `image`, each with the source entry that holds
/// it: `blobs/sha256/<hex>` in a layout, the archive's own files in a Docker
/// archive.
fn blob_entries<'a>(
    image: &crate::Image,
    parsed: &'a crate::Manifest,
) -> Vec<(&'a Descriptor, String)> {
    let descriptors = std::iter::once(&parsed.config).chain(&parsed.layers);
    match &image.docker_files {
        Some(files) => descriptors
            .zip(std::iter::once(&files.config).chain(&files.layers).cloned())
            .collect(),
        None => descriptors
            .map(|descriptor| (descriptor, blob_entry(&descriptor.digest)))
            .collect(),
    }
}
