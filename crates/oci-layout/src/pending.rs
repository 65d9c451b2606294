//! A file that appears at its path only once it is complete.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use tempfile::NamedTempFile;

use crate::{LayoutError, WritebackFile};

/// A file being written under a temporary name in its destination's folder
/// (`.<name>.<random>.partial`), renamed to its path by
/// [`commit`](Self::commit) once complete, synced to disk before the
/// rename. Dropped uncommitted, the temporary file is removed; a file
/// already at the path is never touched until the rename replaces it.
///
/// Write a large file through [`writer`](Self::writer) and finish with
/// [`sync_writer`](Self::sync_writer): its writeback to disk then runs
/// while it is written, and the final sync waits for the last step only.
#[derive(Debug)]
pub struct PendingFile {
    temp: NamedTempFile,
    path: PathBuf,
    /// Synced since the last handle was given out: `commit` need not sync
    /// again (a second `chmod` + `fsync` costs a journal commit).
    synced: AtomicBool,
}

impl PendingFile {
    /// Starts the file `path`, creating its parent folders.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self, LayoutError> {
        let path = path.into();
        let file_name = path
            .file_name()
            .ok_or_else(|| LayoutError::NotAFileName {
                path: path.display().to_string(),
            })?
            .to_string_lossy()
            .into_owned();
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&folder).map_err(|source| LayoutError::CreateFolder {
            folder: folder.display().to_string(),
            source,
        })?;
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .suffix(".partial")
            .tempfile_in(&folder)
            .map_err(|e| {
                // tempfile's message ends with its random temporary path
                // (" at path …"); the OS error alone says what is wrong.
                let message = e.to_string();
                let cause = message.split(" at path ").next().unwrap_or_default();
                LayoutError::CreateFile {
                    path: path.display().to_string(),
                    folder: folder.display().to_string(),
                    source: io::Error::new(e.kind(), cause.to_owned()),
                }
            })?;
        Ok(PendingFile {
            temp,
            path,
            synced: AtomicBool::new(false),
        })
    }

    /// Where the file goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where it is written meanwhile (to remove it on a signal).
    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    /// The file to write into (a second handle to the temporary file).
    pub fn file(&self) -> Result<File, LayoutError> {
        self.synced.store(false, Ordering::Relaxed);
        self.temp
            .as_file()
            .try_clone()
            .map_err(|source| self.error(source))
    }

    /// The file to write into, syncing to disk in steps as it is written
    /// (see [`WritebackFile`]); finish with [`sync_writer`](Self::sync_writer).
    pub fn writer(&self) -> Result<WritebackFile, LayoutError> {
        self.file().map(WritebackFile::new)
    }

    /// Makes the complete file readable by everyone (0644: temporary files
    /// are created private) and syncs it to disk. Flush any buffered
    /// writer first.
    pub fn sync(&self) -> Result<(), LayoutError> {
        set_ordinary_permissions(self.temp.as_file())
            .and_then(|()| self.temp.as_file().sync_all())
            .map_err(|source| self.error(source))?;
        self.synced.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// [`sync`](Self::sync) for a file written through
    /// [`writer`](Self::writer) (flushed): stops its writeback, reports any
    /// error a step had, and syncs once.
    pub fn sync_writer(&self, writer: WritebackFile) -> Result<(), LayoutError> {
        set_ordinary_permissions(writer.get_ref())
            .and_then(|()| writer.sync_all())
            .map_err(|source| self.error(source))?;
        self.synced.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// [Syncs](Self::sync) the file, unless that was the last thing done,
    /// and renames it into place.
    pub fn commit(self) -> Result<(), LayoutError> {
        if !self.synced.load(Ordering::Relaxed) {
            self.sync()?;
        }
        let PendingFile { temp, path, .. } = self;
        temp.persist(&path)
            .map_err(|e| LayoutError::RenameIntoPlace {
                path: path.display().to_string(),
                source: e.error,
            })
            .map(|_| ())
    }

    fn error(&self, source: io::Error) -> LayoutError {
        LayoutError::Destination {
            path: self.path.display().to_string(),
            source,
        }
    }
}

/// Temporary files are created private (0600); what we write is an
/// ordinary file, readable by everyone (0644).
#[cfg(unix)]
pub(crate) fn set_ordinary_permissions(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
pub(crate) fn set_ordinary_permissions(_file: &File) -> io::Result<()> {
    Ok(())
}
