//! The seam where an image meets its destination.

use std::collections::HashMap;

use oci_digest::Digest;
use oci_spec::image::{Descriptor, MediaType, Platform};

use crate::annotations::{CONTAINERD_IMAGE_NAME, REF_NAME};
use crate::input::{BlobInput, FileInput, ProgressFn};
use crate::{BlobSource, BytesBlob, LayoutError, Reference};

/// Where an image's blobs and manifests go: an OCI image layout in a tar
/// ([`LayoutTar`](crate::LayoutTar), streaming or seekable), an OCI image
/// layout directory ([`LayoutDir`](crate::LayoutDir)), or (implemented
/// elsewhere) a registry.
///
/// Image code writes through this trait only and never learns which
/// destination it has. Blobs come in two kinds, as in gitoxide's object
/// `Write` (`write_stream_with_known_id` vs `write_stream`):
///
/// - a [`BlobSource`] announces its digest and size; the destination checks
///   the bytes against both as they stream ([`put_blob`](Self::put_blob));
/// - a [`FileInput`] is hashed by the destination as it is written, where
///   the destination can name a blob after its bytes (a seekable tar fills
///   in the header, a directory renames a temporary file, a registry
///   finishes an upload with `?digest=`); elsewhere (a tar stream) it is
///   hashed first ([`put_inputs`](Self::put_inputs) hashes several files at
///   once, one per core).
///
/// Every call that fails leaves the destination unusable for this image:
/// what was written may be incomplete. Each destination says what stays
/// behind (nothing visible, for a file or a directory).
pub trait ImageSink {
    /// Whether the destination already holds the blob `digest`; it is then
    /// not written again. A held blob whose size is not `size` is an error
    /// ([`LayoutError::ExistingBlobSize`]), never trusted.
    fn has_blob(&mut self, digest: &Digest, size: u64) -> Result<bool, LayoutError>;

    /// Puts a blob whose digest and size are known, unless the destination
    /// holds it. Exactly `blob.size()` bytes are copied and checked against
    /// `blob.digest()`: a source that yields fewer, more or other bytes is an
    /// error. Returns whether the bytes were written now.
    fn put_blob(&mut self, blob: &dyn BlobSource) -> Result<bool, LayoutError>;

    /// Puts a file the destination hashes, and returns its digest. See
    /// [`FileInput`] for how a file that changes meanwhile is caught.
    fn put_file(&mut self, file: &FileInput) -> Result<Digest, LayoutError>;

    /// Puts each input in order (a blob whose digest is held already is not
    /// written again) and returns their digests. Destinations that must
    /// hash files before writing them hash them all together first.
    fn put_inputs(&mut self, inputs: &[&BlobInput]) -> Result<Vec<Digest>, LayoutError> {
        put_in_order(self, inputs)
    }

    /// How many times [`put_inputs`](Self::put_inputs) reads each
    /// [`FileInput`]: 1 where the destination names a blob after writing
    /// it, 2 where it hashes the file first (for a progress total).
    fn reads_of_each_file(&self) -> u64 {
        1
    }

    /// Puts a manifest that an index lists rather than a name: in a
    /// layout, a blob (only the index is in `index.json`); in a registry,
    /// a manifest put by its digest. Put it before the index that lists it.
    fn put_listed_manifest(
        &mut self,
        manifest: &BytesBlob,
        media_type: MediaType,
    ) -> Result<(), LayoutError> {
        let _ = media_type;
        self.put_blob(manifest).map(|_| ())
    }

    /// Calls `progress` as blobs' bytes are read (for a progress bar).
    fn on_progress(&mut self, progress: ProgressFn);

    /// Puts `manifest` (of `media_type`) and lists it under `reference` with
    /// `platform`: in a layout, an `index.json` entry annotated with the
    /// reference (`io.containerd.image.name`) and its tag
    /// (`org.opencontainers.image.ref.name`); a layout directory replaces
    /// an entry with the same tag. Returns that entry's descriptor.
    fn put_manifest(
        &mut self,
        manifest: &BytesBlob,
        media_type: MediaType,
        reference: &Reference,
        platform: Option<Platform>,
    ) -> Result<Descriptor, LayoutError>;
}

/// Puts each of `inputs` into `sink` in order (`put_blob` or `put_file`),
/// and returns their digests: [`ImageSink::put_inputs`]'s default, for a
/// sink that prepares its inputs (hashes them) before putting them.
pub fn put_in_order<S: ImageSink + ?Sized>(
    sink: &mut S,
    inputs: &[&BlobInput],
) -> Result<Vec<Digest>, LayoutError> {
    let mut digests = Vec::with_capacity(inputs.len());
    for input in inputs {
        digests.push(match input {
            BlobInput::Source(blob) => {
                sink.put_blob(blob.as_ref())?;
                blob.digest()
            }
            BlobInput::File(file) => sink.put_file(file)?,
        });
    }
    Ok(digests)
}

/// Whether a destination holding `held` bytes under `digest` (`None`:
/// nothing) holds the blob of `size` bytes; a held blob of another size is
/// corrupt: [`LayoutError::ExistingBlobSize`], never trusted.
pub fn holds_blob(digest: &Digest, size: u64, held: Option<u64>) -> Result<bool, LayoutError> {
    match held {
        None => Ok(false),
        Some(found) if found == size => Ok(true),
        Some(found) => Err(LayoutError::ExistingBlobSize {
            digest: *digest,
            expected: size,
            found,
        }),
    }
}

/// The two annotations that name an image in an index (and, as runwasi
/// writes them, on its manifest): the full reference and the tag alone.
pub fn naming_annotations(reference: &Reference) -> HashMap<String, String> {
    HashMap::from([
        (CONTAINERD_IMAGE_NAME.to_owned(), reference.to_string()),
        (REF_NAME.to_owned(), reference.tag().to_owned()),
    ])
}

/// Puts the `manifest` blob into `sink` and returns its index entry: its
/// descriptor with `platform` and the naming annotations of `reference`.
pub(crate) fn put_manifest_blob<S: ImageSink + ?Sized>(
    sink: &mut S,
    manifest: &BytesBlob,
    media_type: MediaType,
    reference: &Reference,
    platform: Option<Platform>,
) -> Result<Descriptor, LayoutError> {
    sink.put_blob(manifest)?;
    Ok(index_entry(manifest, media_type, reference, platform))
}

/// The index entry of `manifest`: its descriptor with `platform` and the
/// naming annotations of `reference`.
pub fn index_entry(
    manifest: &BytesBlob,
    media_type: MediaType,
    reference: &Reference,
    platform: Option<Platform>,
) -> Descriptor {
    let mut descriptor = manifest.descriptor(media_type);
    descriptor.set_platform(platform);
    descriptor.set_annotations(Some(naming_annotations(reference)));
    descriptor
}
