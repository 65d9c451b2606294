//! An OCI image layout directory as a destination.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use oci_digest::{Digest, Sha256};
use oci_spec::image::{Descriptor, MediaType, Platform};
use serde_json::Value;
use tempfile::NamedTempFile;

use crate::annotations::REF_NAME;
use crate::input::ProgressFn;
use crate::pending::new_temp_file;
use crate::sink::{holds_blob, put_manifest_blob};
use crate::writer::{copy_exactly, image_index};
use crate::{
    to_canonical_json, BlobSource, BytesBlob, FileInput, ImageSink, LayoutError, Reference,
    WritebackFile, INDEX_FILE, OCI_LAYOUT_CONTENT, OCI_LAYOUT_FILE,
};

/// The lock file beside `index.json` that writers of one directory take in
/// turn while they read, merge and replace `index.json`.
pub const LOCK_FILE: &str = "index.json.lock";

/// The largest `oci-layout` or `index.json` read from an existing layout.
const MAX_EXISTING_DOCUMENT: u64 = 64 * 1024 * 1024;

/// Writes an image into an OCI image layout directory (`oci-layout`,
/// `index.json`, `blobs/sha256/<hex>`), as skopeo's and podman's `oci:DIR`
/// transport reads and writes it; creates it or adds to it.
///
/// - Each blob is written to a temporary file at the directory's root
///   (`.oci-tar-builder-*.partial`), hashed as it is written (a
///   [`FileInput`] is read once), synced, and renamed to
///   `blobs/sha256/<hex>`, so no reader ever sees part of a blob. A blob
///   that is already there is not rewritten (its digest is its name), but
///   one whose size is wrong is an error ([`LayoutError::ExistingBlobSize`]),
///   and one that is not a regular file (a symbolic link) too.
/// - [`finish`](Self::finish) merges the new manifests into `index.json`:
///   an entry with the same `org.opencontainers.image.ref.name` is replaced
///   (as skopeo does), every other entry and field is kept, and the new
///   entries follow in the order written. `index.json` is replaced
///   atomically (a temporary file, synced, then renamed). Writers of one
///   directory take turns through an exclusive lock on [`LOCK_FILE`]
///   (`flock`), so concurrent writers never lose an entry.
/// - Blobs no entry refers to any more are left alone.
///
/// For the same inputs, a new directory holds exactly the entries of the
/// tar [`LayoutTar`](crate::LayoutTar) writes: the same `oci-layout`, blobs
/// and `index.json` bytes.
///
/// If a write fails (or the process is killed), blobs written so far stay
/// (complete, and harmless) and `index.json` is as it was; a killed
/// process can leave a `.partial` file at the root.
pub struct LayoutDir {
    root: PathBuf,
    /// Blobs known to be in the directory, with their sizes.
    held: BTreeMap<Digest, u64>,
    index: Vec<Descriptor>,
    progress: Option<ProgressFn>,
    poisoned: bool,
}

impl LayoutDir {
    /// Opens the layout directory `root` for adding images, creating it
    /// (and `blobs/sha256`, and `oci-layout`) if needed. An existing
    /// `oci-layout` must declare version `1.0.0`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, LayoutError> {
        let root = root.into();
        let blobs = root.join("blobs").join("sha256");
        fs::create_dir_all(&blobs).map_err(|source| io_error(&blobs, source))?;
        let dir = LayoutDir {
            root,
            held: BTreeMap::new(),
            index: Vec::new(),
            progress: None,
            poisoned: false,
        };
        let _lock = dir.lock()?;
        let marker = dir.root.join(OCI_LAYOUT_FILE);
        match read_existing(&marker)? {
            Some(bytes) => check_layout_marker(&marker, &bytes)?,
            None => dir.write_atomically(&marker, OCI_LAYOUT_CONTENT)?,
        }
        Ok(dir)
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Merges the manifests written into `index.json` (see [`LayoutDir`])
    /// and syncs the directory; returns the `index.json` written.
    pub fn finish(mut self) -> Result<Vec<u8>, LayoutError> {
        self.check_usable()?;
        // The blobs' names are durable before an index points at them.
        sync_dir(&self.root.join("blobs").join("sha256"))?;
        let _lock = self.lock()?;
        let index_path = self.root.join(INDEX_FILE);
        let mut index = match read_existing(&index_path)? {
            Some(bytes) => serde_json::from_slice::<Value>(&bytes).map_err(|e| {
                invalid_existing(&index_path, format!("it is not valid JSON ({e})"))
            })?,
            None => serde_json::to_value(image_index(Vec::new())).map_err(|source| {
                crate::JsonError {
                    document: "index.json",
                    source,
                }
            })?,
        };
        let new_entries: Vec<Value> = std::mem::take(&mut self.index)
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()
            .map_err(|source| crate::JsonError {
                document: "index.json",
                source,
            })?;
        let new_names: BTreeSet<&str> = new_entries.iter().filter_map(ref_name).collect();
        let Some(manifests) = index
            .as_object_mut()
            .and_then(|object| object.get_mut("manifests"))
            .and_then(Value::as_array_mut)
        else {
            return Err(invalid_existing(
                &index_path,
                "it is not an image index with a manifests list".to_owned(),
            ));
        };
        manifests.retain(|entry| ref_name(entry).is_none_or(|name| !new_names.contains(name)));
        manifests.extend(new_entries.iter().cloned());
        let bytes = to_canonical_json("index.json", &index)?;
        self.write_atomically(&index_path, &bytes)?;
        sync_dir(&self.root)?;
        Ok(bytes)
    }

    /// Takes the directory's writer lock until the returned file is dropped.
    fn lock(&self) -> Result<File, LayoutError> {
        let path = self.root.join(LOCK_FILE);
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| io_error(&path, source))?;
        file.lock().map_err(|source| io_error(&path, source))?;
        Ok(file)
    }

    /// A new temporary file at the root, removed unless persisted.
    fn temp_file(&self) -> Result<NamedTempFile, LayoutError> {
        new_temp_file(&self.root, "oci-tar-builder").map_err(|source| io_error(&self.root, source))
    }

    /// Writes `bytes` to `path` through a synced temporary file and a rename.
    fn write_atomically(&self, path: &Path, bytes: &[u8]) -> Result<(), LayoutError> {
        let mut temp = self.temp_file()?;
        temp.write_all(bytes)
            .and_then(|()| temp.as_file().sync_all())
            .map_err(|source| io_error(path, source))?;
        temp.persist(path)
            .map_err(|e| io_error(path, e.error))
            .map(|_| ())
    }

    /// Copies exactly `size` bytes of `reader` into a temporary file,
    /// hashing them, and returns the file (synced) and the digest.
    fn copy_to_temp(
        &self,
        reader: &mut dyn Read,
        size: u64,
        origin: &dyn Fn() -> String,
    ) -> Result<(NamedTempFile, Digest), LayoutError> {
        let temp = self.temp_file()?;
        let write_error = |source| io_error(temp.path(), source);
        let file = temp.as_file().try_clone().map_err(write_error)?;
        // Large blobs go to disk in steps while they are written and hashed.
        let mut out = BufWriter::with_capacity(256 * 1024, WritebackFile::new(file));
        let progress = self.progress.clone();
        let digest = copy_exactly(
            reader,
            &mut out,
            size,
            Sha256::new(),
            origin,
            progress.as_ref(),
        )
        .map_err(|e| match e {
            LayoutError::Write { source } => write_error(source),
            other => other,
        })?
        .finish();
        out.into_inner()
            .map_err(io::IntoInnerError::into_error)
            .and_then(WritebackFile::sync_all)
            .map_err(write_error)?;
        Ok((temp, digest))
    }

    /// Names `temp` `blobs/sha256/<hex>` unless that blob appeared
    /// meanwhile (then `temp` is removed).
    fn store(&mut self, temp: NamedTempFile, digest: Digest, size: u64) -> Result<(), LayoutError> {
        if !self.has_blob(&digest, size)? {
            let path = self.root.join(digest.blob_path());
            temp.persist(&path).map_err(|e| io_error(&path, e.error))?;
            self.held.insert(digest, size);
        }
        Ok(())
    }

    fn check_usable(&self) -> Result<(), LayoutError> {
        if self.poisoned {
            return Err(LayoutError::Poisoned);
        }
        Ok(())
    }

    /// Runs `step`, marking the directory unusable for this image if it fails.
    fn guarded<T>(
        &mut self,
        step: impl FnOnce(&mut Self) -> Result<T, LayoutError>,
    ) -> Result<T, LayoutError> {
        self.check_usable()?;
        let result = step(self);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }
}

impl ImageSink for LayoutDir {
    fn has_blob(&mut self, digest: &Digest, size: u64) -> Result<bool, LayoutError> {
        if let Some(&found) = self.held.get(digest) {
            return holds_blob(digest, size, Some(found));
        }
        let path = self.root.join(digest.blob_path());
        match fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.is_file() => {
                let held = holds_blob(digest, size, Some(metadata.len()))?;
                self.held.insert(*digest, metadata.len());
                Ok(held)
            }
            Ok(_) => Err(invalid_existing(
                &path,
                "it is not a regular file (a symbolic link or a folder is never trusted)"
                    .to_owned(),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(io_error(&path, source)),
        }
    }

    fn put_blob(&mut self, blob: &dyn BlobSource) -> Result<bool, LayoutError> {
        self.guarded(|dir| {
            let (digest, size) = (blob.digest(), blob.size());
            if dir.has_blob(&digest, size)? {
                return Ok(false);
            }
            let origin = || blob.origin().into_owned();
            let mut reader = blob.open().map_err(|source| LayoutError::ReadSource {
                origin: origin(),
                source,
            })?;
            let (temp, found) = dir.copy_to_temp(&mut reader, size, &origin)?;
            if found != digest {
                return Err(LayoutError::SourceChanged {
                    origin: origin(),
                    expected: digest,
                    found,
                });
            }
            dir.store(temp, digest, size)?;
            Ok(true)
        })
    }

    /// Reads `file` once: into a temporary file, hashing it, then renamed
    /// to its digest's name.
    fn put_file(&mut self, file: &FileInput) -> Result<Digest, LayoutError> {
        self.guarded(|dir| {
            if let Some(digest) = file.digest() {
                if dir.has_blob(&digest, file.size())? {
                    return Ok(digest);
                }
            }
            let origin = || file.origin();
            let mut reader = file.reopen()?;
            let (temp, digest) = dir.copy_to_temp(&mut reader, file.size(), &origin)?;
            file.check_unchanged(&reader)?;
            file.record_digest(digest)?;
            dir.store(temp, digest, file.size())?;
            Ok(digest)
        })
    }

    fn on_progress(&mut self, progress: ProgressFn) {
        self.progress = Some(progress);
    }

    fn put_manifest(
        &mut self,
        manifest: &BytesBlob,
        media_type: MediaType,
        reference: &Reference,
        platform: Option<Platform>,
    ) -> Result<Descriptor, LayoutError> {
        let entry = put_manifest_blob(self, manifest, media_type, reference, platform)?;
        self.index.push(entry.clone());
        Ok(entry)
    }
}

/// An index entry's `org.opencontainers.image.ref.name`.
fn ref_name(entry: &Value) -> Option<&str> {
    entry.get("annotations")?.get(REF_NAME)?.as_str()
}

/// The bytes of the existing regular file `path`, or `None` if there is
/// none; a link, a folder or an oversized file is an error.
fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, LayoutError> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_error(path, source)),
    };
    if !metadata.is_file() {
        return Err(invalid_existing(
            path,
            "it is not a regular file (a symbolic link or a folder is never followed)".to_owned(),
        ));
    }
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|file| file.take(MAX_EXISTING_DOCUMENT + 1).read_to_end(&mut bytes))
        .map_err(|source| io_error(path, source))?;
    if bytes.len() as u64 > MAX_EXISTING_DOCUMENT {
        return Err(invalid_existing(
            path,
            format!("it is larger than {MAX_EXISTING_DOCUMENT} bytes"),
        ));
    }
    Ok(Some(bytes))
}

/// An existing `oci-layout` must say `imageLayoutVersion` `1.0.0`.
fn check_layout_marker(path: &Path, bytes: &[u8]) -> Result<(), LayoutError> {
    let version = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|value| value.get("imageLayoutVersion")?.as_str().map(str::to_owned));
    match version.as_deref() {
        Some("1.0.0") => Ok(()),
        Some(other) => Err(invalid_existing(
            path,
            format!("image layout version {other:?} is not 1.0.0"),
        )),
        None => Err(invalid_existing(
            path,
            "it does not declare an imageLayoutVersion".to_owned(),
        )),
    }
}

fn io_error(path: &Path, source: io::Error) -> LayoutError {
    LayoutError::Destination {
        path: path.display().to_string(),
        source,
    }
}

fn invalid_existing(path: &Path, reason: String) -> LayoutError {
    LayoutError::InvalidExisting {
        path: path.display().to_string(),
        reason,
    }
}

/// Syncs the directory `path`, so that renames into it are durable.
fn sync_dir(path: &Path) -> Result<(), LayoutError> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| io_error(path, source))
}
