//! Blobs the writer hashes itself: files written in one read into a
//! seekable output, or hashed several at once before being streamed.

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::io::{self, BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use oci_digest::{
    digest_bytes, hash_parallel, Digest, Fingerprint, Fingerprinter, HashJob, Sha256,
};

use crate::blob::{open_nonblocking, open_regular_file, open_regular_file_in, Folder};
use crate::writer::{entry_header, padding};
use crate::{BlobSource, BytesBlob, LayoutError, LayoutTar};

/// Told how far the writer is through a blob: its origin (a path), the
/// bytes done and the bytes in all. Called from whichever thread reads the
/// blob, after each chunk of a few hundred KiB.
pub type ProgressFn = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// Files of at most this many bytes are read whole into memory, in one
/// read, where a larger one is streamed: [`BlobInput::read_small`] gives
/// them to a reader (a wasm binary's structural pass), and a
/// [seekable](LayoutTar::seekable) tar writes one with its final header at
/// once, through its buffered output, without going back to fill the header
/// in. The same checks apply (the file opened again must be the file first
/// opened, and its metadata must not change while it is read); only the
/// system calls differ: no seeks, and the output written in large batches
/// instead of twice per input. A buffer of this size is the most memory the
/// path holds.
pub const SMALL_FILE: u64 = 256 * 1024;

/// An output the writer can go back into: seek to fill in a header written
/// before its blob's digest was known, and cut off a blob that turned out to
/// be a duplicate. Implemented for [`File`], `Cursor<Vec<u8>>` and a
/// [`BufWriter`] over either.
pub trait SeekableOutput: Write + Seek {
    /// Cuts the output to its first `len` bytes.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl SeekableOutput for File {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

/// Writes nowhere: a tar written into it costs no I/O but its inputs'
/// (each read once), for digests without an output.
impl SeekableOutput for io::Empty {
    fn truncate(&mut self, _len: u64) -> io::Result<()> {
        Ok(())
    }
}

impl SeekableOutput for Cursor<Vec<u8>> {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        self.get_mut().truncate(len);
        Ok(())
    }
}

impl<T: SeekableOutput> SeekableOutput for BufWriter<T> {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.flush()?;
        self.get_mut().truncate(len)
    }
}

/// How a [`LayoutTar`] made by [`LayoutTar::seekable`] goes back into
/// its output (function pointers made for its `W`, so that every other
/// method stays available for any `W: Write`).
pub(crate) struct Rewind<W> {
    seek: fn(&mut W, u64) -> io::Result<()>,
    truncate: fn(&mut W, u64) -> io::Result<()>,
}

// Two function pointers copy whatever `W` is (a derive would require `W: Copy`).
impl<W> Clone for Rewind<W> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<W> Copy for Rewind<W> {}

/// A regular file to write as a blob, opened but not hashed: the
/// [`LayoutTar`] hashes it while writing it.
///
/// - Into a [seekable](LayoutTar::seekable) output, the file is read
///   **once**: a header is reserved, the bytes are written and hashed (on a
///   second thread when large), then the header's name
///   (`blobs/sha256/<hex>`) and checksum are filled in. The digest is of the
///   very buffers written, so the name always matches the stored bytes.
/// - Into any other output (a pipe), the digest must come first: the file
///   is hashed (several files at once, one per core) with SHA-256 and an
///   XXH3-128 checksum, then copied with the checksum recomputed. If the
///   second read differs from the first, the write fails.
///
/// Either way the write fails with [`LayoutError::FileChanged`] if the
/// file's size, modification or change time, device or inode differ at the
/// end from when it was opened, and with [`LayoutError::SizeMismatch`] if
/// it yields another number of bytes. What this cannot see: a change that
/// keeps the size and leaves both times as they were (set back with
/// `utimensat` and landing on the very same ctime tick), in the one-read
/// case; in the two-read case such a change is still caught by the checksum
/// unless crafted to collide with XXH3.
///
/// The file is not held open between reads (thousands of inputs need not
/// fit the open-file limit): each read opens it again and fails with
/// [`LayoutError::FileChanged`] unless it is the very file first opened
/// (same device and inode, size and times), so a path replaced meanwhile is
/// caught, never read.
#[derive(Debug)]
pub struct FileInput {
    path: PathBuf,
    size: u64,
    stamp: Stamp,
    digest: OnceLock<Digest>,
    fingerprint: OnceLock<Fingerprint>,
}

/// What a file's metadata says that a write to it changes.
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    /// Device, inode, change time (seconds, nanoseconds).
    #[cfg(unix)]
    identity: (u64, u64, i64, i64),
}

impl Stamp {
    fn of(metadata: &Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            identity: (
                metadata.dev(),
                metadata.ino(),
                metadata.ctime(),
                metadata.ctime_nsec(),
            ),
        }
    }
}

impl FileInput {
    /// Takes the regular file at `path` as an input: its metadata is read
    /// (one `stat`, the file is not opened; what is not a regular file is
    /// refused), its bytes are read when it is written.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, LayoutError> {
        let path = path.into();
        let metadata = std::fs::metadata(&path).map_err(|source| LayoutError::ReadSource {
            origin: path.display().to_string(),
            source,
        })?;
        if !metadata.is_file() {
            return Err(LayoutError::NotAFile {
                path: path.display().to_string(),
            });
        }
        Ok(Self::with_metadata(path, &metadata))
    }

    /// The input at `path`, whose `metadata` was just read, not yet hashed.
    fn with_metadata(path: PathBuf, metadata: &Metadata) -> Self {
        FileInput {
            size: metadata.len(),
            stamp: Stamp::of(metadata),
            path,
            digest: OnceLock::new(),
            fingerprint: OnceLock::new(),
        }
    }

    /// [`open`](Self::open), for a file that is likely small, and its bytes
    /// if it is: the file is opened at once and its metadata read from the
    /// open file (one lookup of its path, not two), and a [`SMALL_FILE`] is
    /// read whole in the same go and checked unchanged, as
    /// [`BlobInput::read_small`] reads it. `None` for a larger file, read when
    /// it is written. Hash the bytes with [`hashed_blob`](Self::hashed_blob)
    /// to put them anywhere without reading the file again.
    pub fn open_reading_small(
        path: impl Into<PathBuf>,
    ) -> Result<(Self, Option<Vec<u8>>), LayoutError> {
        let path = path.into();
        let opened = open_regular_file(&path)?;
        Self::reading_small(path, opened)
    }

    /// [`open_reading_small`](Self::open_reading_small) of `path`, a file of
    /// `folder`, looked up by its name from the open folder (by its path if
    /// its parent is not the folder's path). It is then known by `path`.
    pub fn open_reading_small_in(
        folder: &Folder,
        path: impl Into<PathBuf>,
    ) -> Result<(Self, Option<Vec<u8>>), LayoutError> {
        let path = path.into();
        let opened = open_regular_file_in(folder, &path)?;
        Self::reading_small(path, opened)
    }

    /// The input at `path`, just opened, and its bytes if it is small.
    fn reading_small(
        path: PathBuf,
        (mut file, metadata): (File, Metadata),
    ) -> Result<(Self, Option<Vec<u8>>), LayoutError> {
        let input = Self::with_metadata(path, &metadata);
        if input.size > SMALL_FILE {
            return Ok((input, None));
        }
        let mut bytes = Vec::new();
        input.read_open_into(&mut file, &mut bytes)?;
        Ok((input, Some(bytes)))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file's size when it was opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The digest, once a writer has hashed the file.
    pub fn digest(&self) -> Option<Digest> {
        self.digest.get().copied()
    }

    pub(crate) fn origin(&self) -> String {
        self.path.display().to_string()
    }

    /// The file opened again, at its start, if it is still the file first
    /// opened ([`LayoutError::FileChanged`] otherwise). For destinations in
    /// other crates: read it, then [`check_unchanged`](Self::check_unchanged).
    pub fn reopen(&self) -> Result<File, LayoutError> {
        let (file, metadata) = open_regular_file(&self.path)?;
        self.compare(&Stamp::of(&metadata))?;
        Ok(file)
    }

    /// Opens the file again and reads it into `buffer` (cleared first),
    /// stopping once it has the file's size or one byte more (a file that
    /// grew), or at its end, then checks that what was read is the file
    /// first opened, unchanged ([`LayoutError::FileChanged`] otherwise). A
    /// regular file yields it all in one read. For a [`SMALL_FILE`]: the
    /// buffer holds the whole file, for four system calls (open, read,
    /// `fstat`, close).
    ///
    /// One check after the read is enough: any write to the file since it
    /// was first looked at moves its change time (and a path given to
    /// another file, or to something else, shows another device and inode),
    /// so the `fstat` of the very file read differs from the first one. A
    /// read that fails is reported as that change when there is one.
    fn read_into(&self, buffer: &mut Vec<u8>) -> Result<(), LayoutError> {
        let mut file = open_nonblocking(&self.path)?;
        self.read_open_into(&mut file, buffer)
    }

    /// [`read_into`](Self::read_into) from `file`, this input opened.
    fn read_open_into(&self, file: &mut File, buffer: &mut Vec<u8>) -> Result<(), LayoutError> {
        let size = usize::try_from(self.size).map_err(|e| self.read_error(io::Error::other(e)))?;
        buffer.clear();
        buffer.resize(size.saturating_add(1), 0);
        let filled = match read_at_least(file, buffer, size) {
            Ok(filled) => filled,
            Err(e) => {
                self.check_unchanged(file)?;
                return Err(self.read_error(e));
            }
        };
        buffer.truncate(filled);
        self.check_unchanged(file)
    }

    pub(crate) fn read_error(&self, source: io::Error) -> LayoutError {
        LayoutError::ReadSource {
            origin: self.origin(),
            source,
        }
    }

    /// `bytes`, read whole from this file and checked unchanged (as
    /// [`open_reading_small`](Self::open_reading_small) gives them), as a
    /// hashed blob to put anywhere. The input keeps the blob's digest, so a
    /// destination that holds the blob by then does not read the file
    /// again. It keeps no checksum for a second read: a stream that has
    /// to read the file again (rare: the blob is put where it was made)
    /// hashes it first, as for any file, and that digest must match.
    pub fn hashed_blob(&self, bytes: Vec<u8>) -> Result<BytesBlob, LayoutError> {
        if bytes.len() as u64 != self.size {
            return Err(LayoutError::SizeMismatch {
                origin: self.origin(),
                expected: self.size,
                found: bytes.len() as u64,
            });
        }
        let blob = BytesBlob::new(bytes);
        self.record_digest(blob.digest())?;
        Ok(blob)
    }

    /// Keeps `digest`, just computed from the file's bytes, failing
    /// ([`LayoutError::FileChanged`]) if an earlier read gave another.
    pub fn record_digest(&self, digest: Digest) -> Result<(), LayoutError> {
        if *self.digest.get_or_init(|| digest) != digest {
            return Err(LayoutError::FileChanged {
                origin: self.origin(),
                what: "it hashed to another digest than when it was first written",
            });
        }
        Ok(())
    }

    /// Fails ([`LayoutError::FileChanged`]) if `file`'s metadata changed
    /// since the input was opened.
    pub fn check_unchanged(&self, file: &File) -> Result<(), LayoutError> {
        self.compare(&Stamp::of(
            &file.metadata().map_err(|e| self.read_error(e))?,
        ))
    }

    fn compare(&self, now: &Stamp) -> Result<(), LayoutError> {
        if *now == self.stamp {
            return Ok(());
        }
        #[cfg(unix)]
        let replaced =
            now.identity.0 != self.stamp.identity.0 || now.identity.1 != self.stamp.identity.1;
        #[cfg(not(unix))]
        let replaced = false;
        let what = if replaced {
            "another file took its name"
        } else if now.len != self.stamp.len {
            "its size changed"
        } else {
            "it was written to or touched"
        };
        Err(LayoutError::FileChanged {
            origin: self.origin(),
            what,
        })
    }
}

/// A blob to write: one whose digest is known (any [`BlobSource`]), or a
/// [`FileInput`] the writer hashes. `From` makes either.
pub enum BlobInput {
    /// A blob with a known digest, checked as it is copied.
    Source(Box<dyn BlobSource>),
    /// A file the writer hashes.
    File(FileInput),
}

impl BlobInput {
    /// How many bytes the blob has.
    pub fn size(&self) -> u64 {
        match self {
            BlobInput::Source(blob) => blob.size(),
            BlobInput::File(file) => file.size(),
        }
    }

    /// Where the bytes come from, for messages.
    pub fn origin(&self) -> Cow<'_, str> {
        match self {
            BlobInput::Source(blob) => blob.origin(),
            BlobInput::File(file) => file.path.to_string_lossy(),
        }
    }

    /// A reader over the bytes, from the start.
    pub fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        match self {
            BlobInput::Source(blob) => blob.open(),
            BlobInput::File(file) => Ok(Box::new(file.reopen().map_err(without_origin)?)),
        }
    }

    /// For a [`FileInput`], the file opened at its start: a reader that can
    /// also seek, for readers that skip what they need not parse. `None`
    /// for other sources (use [`open`](Self::open)).
    pub fn open_file(&self) -> Option<io::Result<File>> {
        match self {
            BlobInput::Source(_) => None,
            BlobInput::File(file) => Some(file.reopen().map_err(without_origin)),
        }
    }
}

impl BlobInput {
    /// For a [`FileInput`] of at most [`SMALL_FILE`] bytes, its bytes, read
    /// whole in one read and found to be those of the file first opened,
    /// unchanged. `None` for a larger file or another source (use
    /// [`open_file`](Self::open_file) or [`open`](Self::open)). A writer
    /// reads and checks the file again when it writes it.
    pub fn read_small(&self) -> Option<io::Result<Vec<u8>>> {
        match self {
            BlobInput::File(file) if file.size <= SMALL_FILE => {
                let mut bytes = Vec::new();
                Some(
                    file.read_into(&mut bytes)
                        .map(|()| bytes)
                        .map_err(without_origin),
                )
            }
            BlobInput::File(_) | BlobInput::Source(_) => None,
        }
    }

    /// [`read_small`](Self::read_small), hashed: the bytes as a blob to put
    /// anywhere. The [`FileInput`] keeps the blob's digest as if a
    /// destination had hashed it, so a destination that holds the blob by
    /// then (it was put there) does not read the file again when the file
    /// is put: a small file described and put this way is read once. `None`
    /// for a larger file or another source.
    pub fn read_small_blob(&self) -> Option<io::Result<BytesBlob>> {
        let BlobInput::File(file) = self else {
            return None;
        };
        let bytes = self.read_small()?;
        Some(bytes.and_then(|bytes| file.hashed_blob(bytes).map_err(without_origin)))
    }

    /// The [`FileInput`]s among `inputs`, in order (for a destination that
    /// hashes them all before writing any).
    pub fn files<'a>(inputs: &[&'a BlobInput]) -> Vec<&'a FileInput> {
        inputs
            .iter()
            .filter_map(|input| match input {
                BlobInput::File(file) => Some(file),
                BlobInput::Source(_) => None,
            })
            .collect()
    }
}

impl<T: BlobSource + 'static> From<T> for BlobInput {
    fn from(blob: T) -> Self {
        BlobInput::Source(Box::new(blob))
    }
}

impl From<FileInput> for BlobInput {
    fn from(file: FileInput) -> Self {
        BlobInput::File(file)
    }
}

/// The I/O error behind a [`FileInput`]'s error, for callers that name the
/// file themselves.
fn without_origin(error: LayoutError) -> io::Error {
    match error {
        LayoutError::ReadSource { source, .. } => source,
        LayoutError::FileChanged { what, .. } => io::Error::other(format!(
            "changed while being packaged ({what}); package it again once it is complete"
        )),
        other => io::Error::other(other.to_string()),
    }
}

/// Reads a [`FileInput`], opening it at the first read and closing it at
/// its end, so that hashing many inputs holds few of them open at once.
struct OpenOnRead<'a> {
    input: &'a FileInput,
    file: Option<File>,
    done: bool,
}

impl Read for OpenOnRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let file = match &mut self.file {
            Some(file) => file,
            // The layout error travels inside the I/O error, for
            // `LayoutError::reading` to take it out again.
            None => self
                .file
                .insert(self.input.reopen().map_err(io::Error::other)?),
        };
        let read = file.read(buf)?;
        if read == 0 && !buf.is_empty() {
            self.file = None;
            self.done = true;
        }
        Ok(read)
    }
}

/// Reads into `buffer` until at least `want` bytes are in it (a read may
/// bring more, up to the buffer's length: a file that grew shows so) or
/// `reader` ends, retrying a read that was interrupted; how many bytes are
/// in it.
fn read_at_least(reader: &mut impl Read, buffer: &mut [u8], want: usize) -> io::Result<usize> {
    let mut filled = 0;
    while filled < want {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Hashes the files that have no digest and checksum yet, several at once
/// (one per core), reading each to one byte past its size; each then knows
/// its [`digest`](FileInput::digest). For destinations that must name a
/// blob before sending it (a tar stream, a registry that is asked first
/// whether it holds the blob).
pub fn hash_files(files: &[&FileInput], progress: Option<&ProgressFn>) -> Result<(), LayoutError> {
    // Each file once, in order (one given twice is hashed once).
    let mut seen = std::collections::HashSet::with_capacity(files.len());
    let pending: Vec<&FileInput> = files
        .iter()
        .copied()
        .filter(|file| file.fingerprint.get().is_none() && seen.insert(std::ptr::from_ref(*file)))
        .collect();
    let mut jobs: Vec<HashJob<'_>> = Vec::with_capacity(pending.len());
    for file in &pending {
        let reader = OpenOnRead {
            input: file,
            file: None,
            done: false,
        };
        jobs.push((Box::new(reader), file.size.saturating_add(1)));
    }
    let tell = |index: usize, done: u64| {
        if let (Some(progress), Some(file)) = (progress, pending.get(index)) {
            progress(&file.origin(), done, file.size);
        }
    };
    let make = || (Sha256::new(), Fingerprinter::new());
    for (file, result) in pending.iter().zip(hash_parallel(jobs, &make, &tell)) {
        let ((sha, fingerprint), len) =
            result.map_err(|e| LayoutError::reading(file.origin(), e))?;
        if len != file.size {
            return Err(LayoutError::SizeMismatch {
                origin: file.origin(),
                expected: file.size,
                found: len,
            });
        }
        file.record_digest(sha.finish())?;
        let _ = file.fingerprint.set(fingerprint.finish());
    }
    Ok(())
}

impl<W: SeekableOutput> LayoutTar<W> {
    /// Starts a layout in a seekable `out` (a file, or a `Cursor<Vec<u8>>`),
    /// where [`put_inputs`](crate::ImageSink::put_inputs) writes each
    /// [`FileInput`] in one read. Gives the same bytes as [`new`](Self::new)
    /// for the same calls.
    ///
    /// The tar starts where `out` stands (it may follow other bytes); `out`
    /// must not be opened in append mode, where a seek does not move writes.
    pub fn seekable(mut out: W) -> Result<Self, LayoutError> {
        let base = out
            .stream_position()
            .map_err(|source| LayoutError::Write { source })?;
        let mut writer = LayoutTar::new(out)?;
        writer.base = base;
        writer.rewind = Some(Rewind {
            seek: |out, position| out.seek(SeekFrom::Start(position)).map(|_| ()),
            truncate: |out, len| SeekableOutput::truncate(out, len),
        });
        Ok(writer)
    }
}

impl<W: Write> LayoutTar<W> {
    /// Hashes those of `files` that have no digest yet, all at
    /// once, when the output is a stream (a name must precede the bytes).
    pub(crate) fn hash_files_first(&mut self, files: &[&FileInput]) -> Result<(), LayoutError> {
        if self.rewind.is_some() {
            return Ok(());
        }
        let progress = self.progress.clone();
        self.guarded(|_| hash_files(files, progress.as_ref()))
    }

    /// Writes `file` unless a blob with its digest is in the layout, and
    /// returns its digest.
    pub(crate) fn put_file_input(&mut self, file: &FileInput) -> Result<Digest, LayoutError> {
        match file.digest() {
            Some(digest) if self.written_blobs.contains_key(&digest) => Ok(digest),
            _ => {
                let digest = self.guarded_with(|w| w.write_file_input(file))?;
                self.written_blobs.insert(digest, file.size());
                Ok(digest)
            }
        }
    }

    /// Writes `file` (not yet in the layout as far as is known) and returns
    /// its digest.
    fn write_file_input(&mut self, file: &FileInput) -> Result<Digest, LayoutError> {
        if self.rewind.is_some() && file.size <= SMALL_FILE {
            return self.write_small_file(file);
        }
        let origin = || file.origin();
        let mut reader = file.reopen()?;
        let start = self.position;
        let write_error = |source| LayoutError::Write { source };
        let Some(rewind) = self.rewind else {
            // A stream: hash_files gave the digest and checksum first.
            let (Some(digest), Some(expected)) = (file.digest(), file.fingerprint.get().copied())
            else {
                unreachable!("put_inputs hashes every file before streaming it");
            };
            let header = entry_header(&digest.blob_path(), file.size);
            self.emit(header.as_bytes()).map_err(write_error)?;
            let found = self
                .copy_data(&mut reader, file.size, Fingerprinter::new(), &origin)?
                .finish();
            file.check_unchanged(&reader)?;
            if found != expected {
                return Err(LayoutError::FileChanged {
                    origin: origin(),
                    what: "a second read gave other bytes than the first",
                });
            }
            return Ok(digest);
        };
        // One read: reserve the header, write and hash, then fill it in.
        let placeholder = entry_header(&Digest::from_sha256_bytes([0; 32]).blob_path(), file.size);
        self.emit(placeholder.as_bytes()).map_err(write_error)?;
        let digest = self
            .copy_data(&mut reader, file.size, Sha256::new(), &origin)?
            .finish();
        file.check_unchanged(&reader)?;
        file.record_digest(digest)?;
        let end = self.position;
        if self.written_blobs.contains_key(&digest) {
            // Another input had the same bytes: keep the first copy only.
            let at = self.base + start;
            (rewind.seek)(&mut self.out, at)
                .and_then(|()| (rewind.truncate)(&mut self.out, at))
                .map_err(write_error)?;
            self.position = start;
            return Ok(digest);
        }
        let header = entry_header(&digest.blob_path(), file.size);
        (rewind.seek)(&mut self.out, self.base + start)
            .and_then(|()| self.out.write_all(header.as_bytes()))
            .and_then(|()| (rewind.seek)(&mut self.out, self.base + end))
            .map_err(write_error)?;
        Ok(digest)
    }
}

impl<W: Write> LayoutTar<W> {
    /// Writes a [`SMALL_FILE`] (not yet in the layout as far as is known)
    /// in one read: into memory, checked unchanged, hashed, then its final
    /// header, bytes and padding written at once (nothing at all if another
    /// input had the same bytes). The same bytes as the streaming path.
    fn write_small_file(&mut self, file: &FileInput) -> Result<Digest, LayoutError> {
        let mut bytes = Vec::new();
        file.read_into(&mut bytes)?;
        if bytes.len() as u64 != file.size {
            return Err(LayoutError::SizeMismatch {
                origin: file.origin(),
                expected: file.size,
                found: bytes.len() as u64,
            });
        }
        let digest = digest_bytes(&bytes);
        file.record_digest(digest)?;
        if let Some(progress) = &self.progress {
            progress(&file.origin(), file.size, file.size);
        }
        if !self.written_blobs.contains_key(&digest) {
            let header = entry_header(&digest.blob_path(), file.size);
            self.emit(header.as_bytes())
                .and_then(|()| self.emit(&bytes))
                .and_then(|()| self.emit(&[0u8; crate::writer::BLOCK][..padding(file.size)]))
                .map_err(|source| LayoutError::Write { source })?;
        }
        Ok(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ImageSink;

    /// A reader that answers each read with the next of its steps: bytes
    /// (as many as fit), or an error of a kind; then the end.
    struct Scripted(std::collections::VecDeque<Result<&'static [u8], io::ErrorKind>>);

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.pop_front() {
                None => Ok(0),
                Some(Err(kind)) => Err(io::Error::from(kind)),
                Some(Ok(bytes)) => {
                    let n = bytes.len().min(buf.len());
                    buf[..n].copy_from_slice(&bytes[..n]);
                    Ok(n)
                }
            }
        }
    }

    #[test]
    fn an_interrupted_read_is_tried_again_and_any_other_error_ends_it() {
        use io::ErrorKind::{Interrupted, Other};
        let mut buffer = [0u8; 9];
        let mut reader = Scripted(
            [
                Err(Interrupted),
                Ok(&b"abc"[..]),
                Err(Interrupted),
                Ok(b"defgh"),
            ]
            .into(),
        );
        assert_eq!(read_at_least(&mut reader, &mut buffer, 8).unwrap(), 8);
        assert_eq!(&buffer[..8], b"abcdefgh");
        // A read may bring one byte more than wanted: the file grew.
        let mut reader = Scripted([Ok(&b"abcdefghi"[..])].into());
        assert_eq!(read_at_least(&mut reader, &mut buffer, 8).unwrap(), 9);
        // The end before: what there is.
        let mut reader = Scripted([Err(Interrupted), Ok(&b"ab"[..])].into());
        assert_eq!(read_at_least(&mut reader, &mut buffer, 8).unwrap(), 2);
        let mut reader = Scripted([Ok(&b"ab"[..]), Err(Other), Ok(b"cdefgh")].into());
        assert_eq!(
            read_at_least(&mut reader, &mut buffer, 8)
                .unwrap_err()
                .kind(),
            Other
        );
    }

    /// Regression (found by mutation testing): the test meant for the
    /// second-read check tripped the metadata check first, so the XXH3
    /// comparison itself was never exercised. Here the file is untouched and
    /// the first read's checksum is made to differ, as a change that keeps
    /// size and times would make it: the copy into a stream must fail.
    #[test]
    fn a_second_read_with_other_bytes_is_caught_by_the_checksum() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("app.wasm");
        std::fs::write(&path, b"\0asm\x01\0\0\0 some bytes").unwrap_or_else(|e| panic!("{e}"));
        let input = FileInput::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        // As if the first read had hashed these bytes but checksummed others.
        let _ = input.digest.set(oci_digest::digest_bytes(&bytes));
        let _ = input.fingerprint.set(Fingerprinter::new().finish());
        let input: BlobInput = input.into();
        let mut stream = LayoutTar::new(Vec::new()).unwrap_or_else(|e| panic!("{e}"));
        match stream.put_inputs(&[&input]) {
            Err(LayoutError::FileChanged { what, .. }) => {
                assert_eq!(what, "a second read gave other bytes than the first");
            }
            other => panic!("{other:?}"),
        }
        // With the right checksum the same file streams fine.
        let input = FileInput::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let input: BlobInput = input.into();
        let mut stream = LayoutTar::new(Vec::new()).unwrap_or_else(|e| panic!("{e}"));
        assert!(stream.put_inputs(&[&input]).is_ok());
    }
}
