//! The tar stream: deterministic entries for the layout files and blobs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Write};
use std::sync::OnceLock;

use oci_digest::{copy_hashing, CopyError, Digest, Sha256};
use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, MediaType, SCHEMA_VERSION};

use oci_spec::image::Platform;

use crate::canonical_json::to_canonical_json;
use crate::input::ProgressFn;
use crate::sink::{holds_blob, put_in_order, put_manifest_blob};
use crate::{BlobInput, BlobSource, BytesBlob, FileInput, ImageSink, LayoutError, Reference};

/// The name of the layout marker file.
pub const OCI_LAYOUT_FILE: &str = "oci-layout";
/// The bytes of the layout marker file (containerd rejects other versions).
pub const OCI_LAYOUT_CONTENT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
/// The name of the image index file.
pub const INDEX_FILE: &str = "index.json";

/// Tar block size.
pub(crate) const BLOCK: usize = 512;
/// Mode of every entry: a plain readable file.
const ENTRY_MODE: u32 = 0o644;

/// Writes an OCI image layout as a tar into `W`.
///
/// Entries, in order: `oci-layout`; each blob at `blobs/sha256/<hex>` as it
/// is written (a blob written twice is stored once); extra root files
/// (Docker's `manifest.json`); and, on [`finish`](Self::finish), `index.json`
/// listing the manifests given to [`add_to_index`](Self::add_to_index), then
/// the end-of-archive blocks.
///
/// Every header is the same for the same name and size: mtime 0, uid and gid
/// 0, no user or group names, mode 0644, GNU format (sizes past 8 GiB use
/// its base-256 form). So the same calls give the same bytes.
///
/// After any error the tar is incomplete and every later call fails with
/// [`LayoutError::Poisoned`]; discard the output.
///
/// Made with [`seekable`](Self::seekable) over a file, the writer also
/// writes a [`FileInput`](crate::FileInput) in one read, hashing it as it
/// goes and filling in its header afterwards (see
/// [`put_inputs`](ImageSink::put_inputs)); the bytes are the same either way.
pub struct LayoutTar<W: Write> {
    pub(crate) out: W,
    /// Bytes written to `out` so far (where the next entry starts).
    pub(crate) position: u64,
    /// Where in `out` the tar starts (for seeking; 0 unless `seekable` was
    /// given an output already past its start).
    pub(crate) base: u64,
    /// How to seek back and cut `out`, when it can.
    pub(crate) rewind: Option<crate::input::Rewind<W>>,
    pub(crate) progress: Option<crate::input::ProgressFn>,
    /// The blobs written so far, with their sizes.
    pub(crate) written_blobs: BTreeMap<Digest, u64>,
    written_files: BTreeSet<String>,
    index: Vec<Descriptor>,
    poisoned: bool,
}

impl<W: Write> LayoutTar<W> {
    /// Starts a layout in `out`, writing the `oci-layout` entry. Pass a
    /// buffered writer when `out` is unbuffered: headers are small writes.
    pub fn new(out: W) -> Result<Self, LayoutError> {
        let mut writer = LayoutTar {
            out,
            position: 0,
            base: 0,
            rewind: None,
            progress: None,
            written_blobs: BTreeMap::new(),
            written_files: BTreeSet::new(),
            index: Vec::new(),
            poisoned: false,
        };
        writer.guarded(|w| w.write_entry(OCI_LAYOUT_FILE, OCI_LAYOUT_CONTENT))?;
        Ok(writer)
    }

    /// Lists `descriptor` in `index.json`, in call order. The blob it names
    /// must have been written already.
    pub fn add_to_index(&mut self, descriptor: Descriptor) -> Result<(), LayoutError> {
        let digest: Digest = descriptor.digest().as_ref().parse()?;
        if !self.written_blobs.contains_key(&digest) {
            return Err(LayoutError::MissingBlob { digest });
        }
        self.index.push(descriptor);
        Ok(())
    }

    /// Writes a file at the tar root beside the layout (Docker's
    /// `manifest.json`). `name` is one plain file name of at most 100 bytes
    /// that the layout does not use itself.
    pub fn write_file(&mut self, name: &str, bytes: &[u8]) -> Result<(), LayoutError> {
        let invalid = |reason| LayoutError::InvalidFileName {
            name: name.to_owned(),
            reason,
        };
        if [OCI_LAYOUT_FILE, INDEX_FILE, "blobs"].contains(&name) {
            return Err(invalid("the OCI image layout uses that name"));
        }
        if name.is_empty()
            || name.len() > 100
            || name == "."
            || name == ".."
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(invalid(
                "a root file name is 1 to 100 of A-Z, a-z, 0-9, '.', '_' and '-'",
            ));
        }
        if self.written_files.contains(name) {
            return Err(invalid("it was written already"));
        }
        self.guarded(|w| w.write_entry(name, bytes))?;
        self.written_files.insert(name.to_owned());
        Ok(())
    }

    /// The `index.json` [`finish`](Self::finish) writes: the manifests
    /// listed so far.
    pub fn index_json(&self) -> Result<Vec<u8>, LayoutError> {
        Ok(to_canonical_json(
            "index.json",
            &image_index(self.index.clone()),
        )?)
    }

    /// Writes `index.json` and the end-of-archive marker, flushes, and
    /// returns the writer.
    pub fn finish(mut self) -> Result<W, LayoutError> {
        let index_json = self.index_json()?;
        self.guarded(|w| {
            w.write_entry(INDEX_FILE, &index_json)?;
            w.emit(&[0u8; 2 * BLOCK])
                .and_then(|()| w.out.flush())
                .map_err(|source| LayoutError::Write { source })
        })?;
        Ok(self.out)
    }

    /// Runs `step`, poisoning the writer if it fails part-way through.
    pub(crate) fn guarded(
        &mut self,
        step: impl FnOnce(&mut Self) -> Result<(), LayoutError>,
    ) -> Result<(), LayoutError> {
        self.guarded_with(step)
    }

    /// [`guarded`](Self::guarded) for a step with a result.
    pub(crate) fn guarded_with<T>(
        &mut self,
        step: impl FnOnce(&mut Self) -> Result<T, LayoutError>,
    ) -> Result<T, LayoutError> {
        if self.poisoned {
            return Err(LayoutError::Poisoned);
        }
        let result = step(self);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    /// Writes `bytes` to the output, counting them.
    pub(crate) fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.position += bytes.len() as u64;
        Ok(())
    }

    fn write_entry(&mut self, name: &str, bytes: &[u8]) -> Result<(), LayoutError> {
        let header = entry_header(name, bytes.len() as u64);
        self.emit(header.as_bytes())
            .and_then(|()| self.emit(bytes))
            .and_then(|()| self.emit(&[0u8; BLOCK][..padding(bytes.len() as u64)]))
            .map_err(|source| LayoutError::Write { source })
    }

    /// Copies exactly `size` bytes of `reader` to the output, after the
    /// header, feeding them to `hasher` (on a second thread when large),
    /// then the padding.
    pub(crate) fn copy_data<H: oci_digest::StreamHasher>(
        &mut self,
        reader: &mut dyn Read,
        size: u64,
        hasher: H,
        origin: &dyn Fn() -> String,
    ) -> Result<H, LayoutError> {
        let progress = self.progress.clone();
        let result = copy_exactly(
            reader,
            &mut self.out,
            size,
            hasher,
            origin,
            progress.as_ref(),
        );
        // On a size mismatch one byte more may have been written; the
        // writer is poisoned then, so the count no longer matters.
        self.position += size;
        let hasher = result?;
        self.emit(&[0u8; BLOCK][..padding(size)])
            .map_err(|source| LayoutError::Write { source })?;
        Ok(hasher)
    }

    pub(crate) fn copy_blob(&mut self, blob: &dyn BlobSource) -> Result<(), LayoutError> {
        let (expected_digest, size) = (blob.digest(), blob.size());
        let origin = || blob.origin().into_owned();
        if let Some(bytes) = blob.held_bytes() {
            // Hashed into their digest when the blob was made: written as
            // they are (a second hash would find the same digest).
            if bytes.len() as u64 != size {
                return Err(LayoutError::SizeMismatch {
                    origin: origin(),
                    expected: size,
                    found: bytes.len() as u64,
                });
            }
            self.write_entry(&expected_digest.blob_path(), bytes)?;
            match &self.progress {
                Some(progress) if size > 0 => progress(&origin(), size, size),
                _ => {}
            }
            return Ok(());
        }
        let mut reader = blob.open().map_err(|source| LayoutError::ReadSource {
            origin: origin(),
            source,
        })?;
        let header = entry_header(&expected_digest.blob_path(), size);
        self.emit(header.as_bytes())
            .map_err(|source| LayoutError::Write { source })?;
        let found = self
            .copy_data(&mut reader, size, Sha256::new(), &origin)?
            .finish();
        if found != expected_digest {
            return Err(LayoutError::SourceChanged {
                origin: origin(),
                expected: expected_digest,
                found,
            });
        }
        Ok(())
    }
}

impl<W: Write> ImageSink for LayoutTar<W> {
    fn has_blob(&mut self, digest: &Digest, size: u64) -> Result<bool, LayoutError> {
        holds_blob(digest, size, self.written_blobs.get(digest).copied())
    }

    /// Writes `blob` at `blobs/sha256/<hex>` unless a blob with its digest
    /// was written already.
    fn put_blob(&mut self, blob: &dyn BlobSource) -> Result<bool, LayoutError> {
        if self.has_blob(&blob.digest(), blob.size())? {
            return Ok(false);
        }
        self.guarded(|w| w.copy_blob(blob))?;
        self.written_blobs.insert(blob.digest(), blob.size());
        Ok(true)
    }

    /// Into a [seekable](Self::seekable) output, reads `file` once;
    /// into a stream, hashes it first, then copies it.
    fn put_file(&mut self, file: &FileInput) -> Result<Digest, LayoutError> {
        self.hash_files_first(&[file])?;
        self.put_file_input(file)
    }

    /// Into a stream, all the files are first hashed together, one per
    /// core; into a seekable output, each is read once.
    fn put_inputs(&mut self, inputs: &[&BlobInput]) -> Result<Vec<Digest>, LayoutError> {
        self.hash_files_first(&BlobInput::files(inputs))?;
        // `put_file` finds each file hashed now and does not hash it again.
        put_in_order(self, inputs)
    }

    fn reads_of_each_file(&self) -> u64 {
        if self.rewind.is_some() {
            1
        } else {
            2
        }
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
        self.add_to_index(entry.clone())?;
        Ok(entry)
    }
}

/// Copies exactly `size` bytes of `reader` to `out`, feeding them to
/// `hasher` (on a second thread when large) and telling `progress` with
/// `origin`'s name. Fewer or more bytes is [`LayoutError::SizeMismatch`].
pub(crate) fn copy_exactly<H: oci_digest::StreamHasher>(
    reader: &mut dyn Read,
    out: &mut dyn Write,
    size: u64,
    hasher: H,
    origin: &dyn Fn() -> String,
    progress: Option<&ProgressFn>,
) -> Result<H, LayoutError> {
    let shown = progress.map(|_| origin());
    let mut tell = |done: u64| {
        if let (Some(progress), Some(shown)) = (progress, &shown) {
            progress(shown, done, size);
        }
    };
    // One byte past the size is read, so a longer source is caught.
    let limit = size.saturating_add(1);
    let (hasher, copied) =
        copy_hashing(reader, out, limit, hasher, &mut tell).map_err(|e| match e {
            CopyError::Read(source) => LayoutError::ReadSource {
                origin: origin(),
                source,
            },
            CopyError::Write(source) => LayoutError::Write { source },
            other => LayoutError::Write {
                source: io::Error::other(other),
            },
        })?;
    if copied != size {
        return Err(LayoutError::SizeMismatch {
            origin: origin(),
            expected: size,
            found: copied,
        });
    }
    Ok(hasher)
}

/// An image index listing `manifests`, in order.
pub(crate) fn image_index(manifests: Vec<Descriptor>) -> ImageIndex {
    ImageIndexBuilder::default()
        .schema_version(SCHEMA_VERSION)
        .media_type(MediaType::ImageIndex)
        .manifests(manifests)
        .build()
        .unwrap_or_else(|_| unreachable!("schema version and manifests are set"))
}

/// Zero bytes after `size` bytes of data to reach the next block.
pub(crate) fn padding(size: u64) -> usize {
    // The remainder is below 512, so it fits any usize.
    let rest = (size % BLOCK as u64) as usize;
    if rest == 0 {
        0
    } else {
        BLOCK - rest
    }
}

/// Sizes from this one up are written in GNU's base-256 form; below it, as
/// 11 octal digits.
const OCTAL_SIZE_LIMIT: u64 = 1 << 33;

/// The deterministic header for a regular file `name` of `size` bytes.
/// `name` is at most 100 bytes (blob paths are 77; root names are checked).
///
/// Made from one header with every fixed field set by the `tar` crate
/// (type, mode, owner, time), with the name, size and checksum written in
/// place: per entry, a copy of 512 bytes and a sum, not the crate's path
/// checks and formatting (for a thousand small entries, a twentieth of the
/// writing thread's time). The same bytes as setting each field through the crate
/// (tested against it).
pub(crate) fn entry_header(name: &str, size: u64) -> tar::Header {
    static FIXED_FIELDS: OnceLock<tar::Header> = OnceLock::new();
    let mut header = FIXED_FIELDS
        .get_or_init(|| {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(ENTRY_MODE);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header
        })
        .clone();
    // GNU headers hold names up to 100 bytes; every name we write is
    // shorter, relative and plain (one of ours, or a checked root name).
    assert!(
        name.len() <= 100,
        "entry names are at most 100 bytes: {name}"
    );
    if size >= OCTAL_SIZE_LIMIT {
        header.set_size(size);
    }
    let bytes = header.as_mut_bytes();
    bytes[..name.len()].copy_from_slice(name.as_bytes());
    if size < OCTAL_SIZE_LIMIT {
        write_octal(&mut bytes[124..136], size);
    }
    // The checksum: the sum of the header's bytes with its own field read
    // as spaces.
    bytes[148..156].fill(b' ');
    let checksum: u64 = bytes.iter().map(|&b| u64::from(b)).sum();
    write_octal(&mut bytes[148..156], checksum);
    header
}

/// `value` as zero-padded octal digits filling `field` but its last byte,
/// which is NUL (the form the `tar` crate writes). `value` has at most
/// `field.len() - 1` octal digits.
fn write_octal(field: &mut [u8], mut value: u64) {
    let (end, digits) = field
        .split_last_mut()
        .unwrap_or_else(|| unreachable!("header fields are 8 or 12 bytes"));
    *end = 0;
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 8) as u8;
        value /= 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_reaches_the_next_block() {
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
        assert_eq!(padding(513), 511);
    }

    /// The header as the `tar` crate's setters make it: the oracle for
    /// the one written in place.
    fn header_set_field_by_field(name: &str, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_path(name).unwrap();
        header.set_size(size);
        header.set_mode(ENTRY_MODE);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_cksum();
        header
    }

    #[test]
    fn headers_are_the_bytes_the_tar_crate_sets_field_by_field() {
        let names = [
            "a".to_owned(),
            OCI_LAYOUT_FILE.to_owned(),
            INDEX_FILE.to_owned(),
            "manifest.json".to_owned(),
            Digest::from_sha256_bytes([0xab; 32]).blob_path(),
            Digest::from_sha256_bytes([0x0f; 32]).blob_path(),
            "x".repeat(99),
            "y".repeat(100),
        ];
        let sizes = [
            0,
            1,
            7,
            8,
            511,
            512,
            4096,
            0o7777_7777,
            2 * 1024 * 1024,
            OCTAL_SIZE_LIMIT - 1,
            OCTAL_SIZE_LIMIT,
            10 * 1024 * 1024 * 1024,
            u64::MAX,
        ];
        for name in &names {
            for size in sizes {
                let fast = entry_header(name, size);
                let slow = header_set_field_by_field(name, size);
                assert_eq!(
                    fast.as_bytes()[..],
                    slow.as_bytes()[..],
                    "{name} of {size} bytes"
                );
                // And a reader finds what was written.
                assert_eq!(fast.path_bytes(), name.as_bytes());
                assert_eq!(fast.entry_size().unwrap(), size);
                assert_eq!(
                    fast.cksum().unwrap(),
                    slow.cksum().unwrap(),
                    "{name} of {size} bytes"
                );
            }
        }
    }

    #[test]
    fn octal_fields_are_zero_padded_and_end_in_nul() {
        let mut field = [0xffu8; 8];
        write_octal(&mut field, 0o1234);
        assert_eq!(&field, b"0001234\0");
        let mut field = [0xffu8; 12];
        write_octal(&mut field, OCTAL_SIZE_LIMIT - 1);
        assert_eq!(&field, b"77777777777\0");
    }

    #[test]
    fn headers_past_8_gib_use_the_gnu_binary_size() {
        let size = 10 * 1024 * 1024 * 1024u64;
        let header = entry_header("blobs/sha256/x", size);
        assert_eq!(header.entry_size().unwrap(), size);
        // The GNU base-256 form sets the high bit of the size field.
        assert_eq!(header.as_bytes()[124] & 0x80, 0x80);
    }
}
