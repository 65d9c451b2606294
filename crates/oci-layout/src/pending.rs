//! A file that appears at its path only once it is complete.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use tempfile::NamedTempFile;

use crate::{LayoutError, WritebackFile};

/// A file being written under a temporary name in its destination's folder
/// (`.<name>.<random>.partial`, the name cut to fit the file-name limit),
/// renamed to its path by [`commit`](Self::commit) once complete, synced to
/// disk before the rename. Dropped uncommitted, the temporary file is
/// removed, and so are the folders [`create`](Self::create) made for it; a
/// file already at the path is never touched until the rename replaces it.
/// Its mode is what the umask leaves of 0666, as for any other tool's
/// output file.
///
/// Write a large file through [`writer`](Self::writer) and finish with
/// [`sync_writer`](Self::sync_writer): its writeback to disk then runs
/// while it is written, and the final sync waits for the last step only.
#[derive(Debug)]
pub struct PendingFile {
    /// `None` once committed.
    temp: Option<NamedTempFile>,
    path: PathBuf,
    /// The folders `create` made, deepest first.
    created_folders: Vec<PathBuf>,
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
        let created_folders: Vec<PathBuf> = folder
            .ancestors()
            .take_while(|ancestor| !ancestor.as_os_str().is_empty() && !ancestor.exists())
            .map(Path::to_path_buf)
            .collect();
        let remove_created = |folders: &[PathBuf]| {
            for created in folders {
                let _ = fs::remove_dir(created);
            }
        };
        fs::create_dir_all(&folder).map_err(|source| {
            remove_created(&created_folders);
            LayoutError::CreateFolder {
                folder: folder.display().to_string(),
                source,
            }
        })?;
        let temp = new_temp_file(&folder, &file_name).map_err(|e| {
            remove_created(&created_folders);
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
            temp: Some(temp),
            path,
            created_folders,
            synced: AtomicBool::new(false),
        })
    }

    /// The folders [`create`](Self::create) made for the file, deepest
    /// first (to remove them too on a signal): they are removed if the file
    /// is dropped uncommitted.
    pub fn created_folders(&self) -> &[PathBuf] {
        &self.created_folders
    }

    fn temp(&self) -> &NamedTempFile {
        self.temp
            .as_ref()
            .unwrap_or_else(|| unreachable!("only commit takes the file, and it takes self"))
    }

    /// Where the file goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where it is written meanwhile (to remove it on a signal).
    pub fn temp_path(&self) -> &Path {
        self.temp().path()
    }

    /// The file to write into (a second handle to the temporary file).
    pub fn file(&self) -> Result<File, LayoutError> {
        self.synced.store(false, Ordering::Relaxed);
        self.temp()
            .as_file()
            .try_clone()
            .map_err(|source| self.error(source))
    }

    /// The file to write into, syncing to disk in steps as it is written
    /// (see [`WritebackFile`]); finish with [`sync_writer`](Self::sync_writer).
    pub fn writer(&self) -> Result<WritebackFile, LayoutError> {
        self.file().map(WritebackFile::new)
    }

    /// Syncs the complete file to disk. Flush any buffered writer first.
    pub fn sync(&self) -> Result<(), LayoutError> {
        self.temp()
            .as_file()
            .sync_all()
            .map_err(|source| self.error(source))?;
        self.synced.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// [`sync`](Self::sync) for a file written through
    /// [`writer`](Self::writer) (flushed): stops its writeback, reports any
    /// error a step had, and syncs once.
    pub fn sync_writer(&self, writer: WritebackFile) -> Result<(), LayoutError> {
        writer.sync_all().map_err(|source| self.error(source))?;
        self.synced.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// [Syncs](Self::sync) the file, unless that was the last thing done,
    /// and renames it into place.
    pub fn commit(mut self) -> Result<(), LayoutError> {
        if !self.synced.load(Ordering::Relaxed) {
            self.sync()?;
        }
        let path = self.path.clone();
        // A failed rename gives the file back; it is removed on drop.
        if let Err(e) = self.temp.take().map(|temp| temp.persist(&path)).transpose() {
            self.temp = Some(e.file);
            return Err(LayoutError::RenameIntoPlace {
                path: path.display().to_string(),
                source: e.error,
            });
        }
        Ok(())
    }

    fn error(&self, source: io::Error) -> LayoutError {
        LayoutError::Destination {
            path: self.path.display().to_string(),
            source,
        }
    }
}

impl Drop for PendingFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            drop(temp);
            for created in &self.created_folders {
                let _ = fs::remove_dir(created);
            }
        }
    }
}

/// The longest file name the temporary name keeps of the final one: with
/// the dot, the random part and `.partial`, it stays under the 255 bytes
/// common file systems allow.
const MAX_KEPT_NAME: usize = 200;

/// A new temporary file in `folder` for the file `file_name`, with the mode
/// the umask leaves of 0666 (tempfile's default is private).
pub(crate) fn new_temp_file(folder: &Path, file_name: &str) -> io::Result<NamedTempFile> {
    let mut kept = file_name.len().min(MAX_KEPT_NAME);
    while !file_name.is_char_boundary(kept) {
        kept -= 1;
    }
    let prefix = format!(".{}.", &file_name[..kept]);
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(folder)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a panic is a test failure

    use super::*;

    /// The temporary file's name keeps at most 200 bytes of the final
    /// one, cut before a character rather than inside it.
    #[test]
    fn a_long_name_is_cut_at_200_bytes_before_a_character() {
        let dir = tempfile::tempdir().unwrap();
        let temp_name = |name: &str| {
            let temp = new_temp_file(dir.path(), name).unwrap();
            temp.path()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        // 199 ASCII bytes, then "é" (2 bytes) across the 200th byte.
        let cut = temp_name(&format!("{}é{}.tar", "a".repeat(199), "b".repeat(20)));
        assert!(cut.starts_with(&format!(".{}.", "a".repeat(199))), "{cut}");
        // Exactly 200 ASCII bytes are kept whole.
        let whole = temp_name(&format!("{}.tar", "c".repeat(250)));
        assert!(
            whole.starts_with(&format!(".{}.", "c".repeat(200))),
            "{whole}"
        );
        assert!(whole.ends_with(".partial"), "{whole}");
    }
}
