//! Where a blob's bytes come from.

use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use oci_digest::{digest_bytes, digest_reader, Digest};
use oci_spec::image::{Descriptor, MediaType};

use crate::LayoutError;

/// A blob whose digest and size are known before its bytes are written.
///
/// The layout writer opens the source, copies exactly [`size`](Self::size)
/// bytes and checks they hash to [`digest`](Self::digest); a source that
/// yields fewer or more bytes, or other bytes, is an error, never a corrupt
/// tar. Implement it for blobs that live elsewhere (a registry, an archive).
pub trait BlobSource {
    /// The digest the bytes must hash to.
    fn digest(&self) -> Digest;

    /// How many bytes [`open`](Self::open) must yield.
    fn size(&self) -> u64;

    /// Where the bytes come from, for error messages (a file path, "image config").
    fn origin(&self) -> Cow<'_, str>;

    /// A reader over the bytes, from the start.
    fn open(&self) -> io::Result<Box<dyn Read + '_>>;

    /// The bytes themselves, for a blob that holds them in memory, unchanged
    /// since they were hashed into [`digest`](Self::digest): a destination
    /// may write them as they are, without hashing them again. `None` (the
    /// default) for bytes read from elsewhere, which a destination hashes as
    /// it reads them, to catch a source that changed.
    fn held_bytes(&self) -> Option<&[u8]> {
        None
    }

    /// A descriptor for this blob with `media_type`.
    fn descriptor(&self, media_type: MediaType) -> Descriptor {
        Descriptor::new(media_type, self.size(), oci_spec_digest(&self.digest()))
    }
}

/// The same digest as oci-spec's type.
pub fn oci_spec_digest(digest: &Digest) -> oci_spec::image::Digest {
    // Our digests are always `sha256:` and 64 lowercase hex digits, which
    // oci-spec accepts.
    digest
        .to_string()
        .parse()
        .unwrap_or_else(|_| unreachable!("a valid sha256 digest is accepted by oci-spec"))
}

/// A blob held in memory: the JSON documents (configs, manifests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BytesBlob {
    bytes: Vec<u8>,
    digest: Digest,
}

impl BytesBlob {
    /// A blob of `bytes`, hashed now.
    pub fn new(bytes: Vec<u8>) -> Self {
        let digest = digest_bytes(&bytes);
        BytesBlob { bytes, digest }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl BlobSource for BytesBlob {
    fn digest(&self) -> Digest {
        self.digest
    }

    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn origin(&self) -> Cow<'_, str> {
        Cow::Owned(format!("in-memory blob {}", self.digest))
    }

    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(&self.bytes[..]))
    }

    /// The bytes, hashed when the blob was made and never changed since.
    fn held_bytes(&self) -> Option<&[u8]> {
        Some(&self.bytes)
    }
}

/// A blob read from a file, hashed when it is created and streamed (never
/// held in memory) when it is written. If the file changes in between, the
/// write fails with [`LayoutError::SourceChanged`] or
/// [`LayoutError::SizeMismatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileBlob {
    path: PathBuf,
    digest: Digest,
    size: u64,
}

impl FileBlob {
    /// Hashes the regular file at `path`.
    pub fn hash(path: impl Into<PathBuf>) -> Result<Self, LayoutError> {
        let path = path.into();
        let (file, _) = open_regular_file(&path)?;
        let (digest, size) = digest_reader(file).map_err(|source| LayoutError::ReadSource {
            origin: path.display().to_string(),
            source,
        })?;
        Ok(FileBlob { path, digest, size })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl BlobSource for FileBlob {
    fn digest(&self) -> Digest {
        self.digest
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn origin(&self) -> Cow<'_, str> {
        self.path.to_string_lossy()
    }

    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(File::open(&self.path)?))
    }
}

/// Opens `path`, refusing anything but a regular file (a directory, a FIFO,
/// a socket, a device), with errors that name it. The open never blocks: a
/// FIFO with no writer is refused at once, not waited on.
pub(crate) fn open_regular_file(path: &Path) -> Result<(File, Metadata), LayoutError> {
    let file = open_nonblocking(path)?;
    regular_file_metadata(file, path)
}

/// [`open_regular_file`] of `path`, a file of `folder` (its parent):
/// looked up by its name from the open folder.
pub(crate) fn open_regular_file_in(
    folder: &Folder,
    path: &Path,
) -> Result<(File, Metadata), LayoutError> {
    let file = folder.open_nonblocking(path)?;
    regular_file_metadata(file, path)
}

/// `file`'s metadata, if it is a regular file.
fn regular_file_metadata(file: File, path: &Path) -> Result<(File, Metadata), LayoutError> {
    let read_error = |source| LayoutError::ReadSource {
        origin: path.display().to_string(),
        source,
    };
    let metadata = file.metadata().map_err(read_error)?;
    if !metadata.is_file() {
        return Err(LayoutError::NotAFile {
            path: path.display().to_string(),
        });
    }
    Ok((file, metadata))
}

/// A folder opened once, so that many files in it are each looked up by
/// their name alone from it: one step of a path instead of every step of
/// it (a thousand files of a deep folder, a thousand walks of its path
/// saved). The files are found as opening them by their paths would find
/// them, while the folder stays where it is.
#[derive(Debug)]
pub struct Folder {
    path: PathBuf,
    #[cfg(unix)]
    handle: File,
}

impl Folder {
    /// Opens the folder at `path` (`""` is the current folder).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, LayoutError> {
        let path = path.into();
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            let opened = if path.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &path
            };
            let handle = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY)
                .open(opened)
                .map_err(|source| LayoutError::ReadSource {
                    origin: opened.display().to_string(),
                    source,
                })?;
            Ok(Folder { path, handle })
        }
        #[cfg(not(unix))]
        Ok(Folder { path })
    }

    /// The folder's path, as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// [`open_nonblocking`] of `path`: by its name from this folder when
    /// `path` is one of its files (its parent is this folder's path), else
    /// by its path.
    fn open_nonblocking(&self, path: &Path) -> Result<File, LayoutError> {
        #[cfg(unix)]
        if let (Some(parent), Some(name)) = (path.parent(), path.file_name()) {
            if parent == self.path {
                use rustix::fs::{Mode, OFlags};
                let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
                return match rustix::fs::openat(&self.handle, name, flags, Mode::empty()) {
                    Ok(fd) => Ok(File::from(fd)),
                    Err(rustix::io::Errno::NXIO) => Err(LayoutError::NotAFile {
                        path: path.display().to_string(),
                    }),
                    Err(errno) => Err(LayoutError::ReadSource {
                        origin: path.display().to_string(),
                        source: errno.into(),
                    }),
                };
            }
        }
        open_nonblocking(path)
    }
}

/// Opens `path` for reading without blocking (a FIFO with no writer opens
/// at once), without asking what it is: for a caller that checks the
/// file's metadata itself. A socket, which cannot be opened, is
/// [`LayoutError::NotAFile`].
pub(crate) fn open_nonblocking(path: &Path) -> Result<File, LayoutError> {
    let read_error = |source| LayoutError::ReadSource {
        origin: path.display().to_string(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // O_NONBLOCK only changes how FIFOs and devices open and read; a
        // regular file reads the same with it.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        // A socket cannot be opened at all; say what it is.
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ENXIO) => {
            return Err(LayoutError::NotAFile {
                path: path.display().to_string(),
            })
        }
        Err(e) => return Err(read_error(e)),
    };
    Ok(file)
}
