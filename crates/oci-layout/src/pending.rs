//! A file that appears at its path only once it is complete.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use tempfile::NamedTempFile;

use crate::{LayoutError, WritebackFile};

/// A file being written where no one sees it, in its destination's
/// folder, and given its path by [`commit`](Self::commit) once complete,
/// synced to disk before. Dropped uncommitted, it is gone, and so are the
/// folders [`create`](Self::create) made for it; a file already at the path
/// is never touched until the commit replaces it in one step. Its mode is
/// what the umask leaves of 0666, as for any other tool's output file.
///
/// On Linux the file has no name while it is written (`O_TMPFILE`): a
/// process killed meanwhile, even by SIGKILL, leaves nothing, and syncing
/// it writes no folder entry. The commit links it at its path, or, when a
/// file is there, under a temporary name renamed over that file. Elsewhere,
/// or where the file system cannot hold a file without a name, it is
/// written under a temporary name (`.<name>.<random>.partial`, the name cut
/// to fit the file-name limit) and renamed.
///
/// Write a large file through [`writer`](Self::writer) and finish with
/// [`sync_writer`](Self::sync_writer): its writeback to disk then runs
/// while it is written, and the final sync waits for the last step only.
#[derive(Debug)]
pub struct PendingFile {
    /// `None` once committed.
    temp: Option<Temp>,
    path: PathBuf,
    /// The folders `create` made, deepest first.
    created_folders: Vec<PathBuf>,
    /// Synced since the last handle was given out: `commit` need not sync
    /// again (a second `chmod` + `fsync` costs a journal commit).
    synced: AtomicBool,
}

/// How the file a [`PendingFile`] is written to is made, in a folder for a
/// file name (replaced in tests).
type MakeTemp = fn(&Path, &str) -> io::Result<Temp>;

/// Where a [`PendingFile`] is written meanwhile.
#[derive(Debug)]
enum Temp {
    /// A file with no name in the destination's folder.
    #[cfg(target_os = "linux")]
    Unnamed(File),
    /// A file under a temporary name, removed on drop.
    Named(NamedTempFile),
}

impl Temp {
    /// A file without a name in `folder` where the system allows one, else
    /// one named after `file_name`.
    fn create_in(folder: &Path, file_name: &str) -> io::Result<Temp> {
        #[cfg(target_os = "linux")]
        if let Ok(file) = unnamed_file_in(folder) {
            return Ok(Temp::Unnamed(file));
        }
        new_temp_file(folder, file_name).map(Temp::Named)
    }

    fn file(&self) -> &File {
        match self {
            #[cfg(target_os = "linux")]
            Temp::Unnamed(file) => file,
            Temp::Named(temp) => temp.as_file(),
        }
    }
}

impl PendingFile {
    /// Starts the file `path`, creating its parent folders.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self, LayoutError> {
        Self::create_with(path.into(), Temp::create_in)
    }

    /// [`create`](Self::create), the file being made by `temp`.
    fn create_with(path: PathBuf, temp: MakeTemp) -> Result<Self, LayoutError> {
        let file_name = path
            .file_name()
            .ok_or_else(|| LayoutError::NotAFileName {
                path: path.display().to_string(),
            })?
            .to_string_lossy()
            .into_owned();
        let folder = folder_of(&path);
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
        if !created_folders.is_empty() {
            fs::create_dir_all(folder).map_err(|source| {
                remove_created(&created_folders);
                LayoutError::CreateFolder {
                    folder: folder.display().to_string(),
                    source,
                }
            })?;
        }
        let temp = temp(folder, &file_name).map_err(|e| {
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

    fn temp(&self) -> &Temp {
        self.temp
            .as_ref()
            .unwrap_or_else(|| unreachable!("only commit takes the file, and it takes self"))
    }

    /// Where the file goes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where it is written meanwhile (to remove it on a signal), if it has
    /// a name before [`commit`](Self::commit): `None` for a file without
    /// one, which nothing needs to remove.
    pub fn temp_path(&self) -> Option<&Path> {
        match self.temp() {
            #[cfg(target_os = "linux")]
            Temp::Unnamed(_) => None,
            Temp::Named(temp) => Some(temp.path()),
        }
    }

    /// The file to write into (a second handle to the temporary file).
    pub fn file(&self) -> Result<File, LayoutError> {
        self.synced.store(false, Ordering::Relaxed);
        self.temp()
            .file()
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
            .file()
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
    /// and gives it its path, replacing any file there in one step.
    pub fn commit(self) -> Result<(), LayoutError> {
        #[cfg(target_os = "linux")]
        return self.commit_with(link_unnamed);
        #[cfg(not(target_os = "linux"))]
        return self.commit_with();
    }

    /// [`commit`](Self::commit), a file without a name being linked by
    /// `link`.
    fn commit_with(mut self, #[cfg(target_os = "linux")] link: LinkFn) -> Result<(), LayoutError> {
        if !self.synced.load(Ordering::Relaxed) {
            self.sync()?;
        }
        let temp = self
            .temp
            .take()
            .unwrap_or_else(|| unreachable!("only commit takes the file, and it takes self"));
        let placed = match temp {
            // A failed rename gives the file back; it is removed on drop.
            Temp::Named(temp) => temp.persist(&self.path).map(drop).map_err(|e| {
                self.temp = Some(Temp::Named(e.file));
                e.error
            }),
            #[cfg(target_os = "linux")]
            Temp::Unnamed(file) => {
                let placed = place_unnamed(&file, &self.path, link);
                self.temp = placed.is_err().then_some(Temp::Unnamed(file));
                placed
            }
        };
        placed.map_err(|source| LayoutError::RenameIntoPlace {
            path: self.path.display().to_string(),
            source,
        })
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

/// How a file without a name is linked at a path (replaced in tests).
#[cfg(target_os = "linux")]
type LinkFn = fn(&File, &Path) -> io::Result<()>;

/// A new file without a name in `folder` (`O_TMPFILE`), its mode what the
/// umask leaves of 0666. Fails where the kernel or the file system has no
/// such files.
#[cfg(target_os = "linux")]
fn unnamed_file_in(folder: &Path) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags, CWD};
    let flags = OFlags::RDWR | OFlags::TMPFILE | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(CWD, folder, flags, Mode::from_raw_mode(0o666))?;
    Ok(File::from(fd))
}

/// Links the file without a name `file` at `to`. A kernel may refuse to
/// link a descriptor itself (`AT_EMPTY_PATH`) to a process without
/// `CAP_DAC_READ_SEARCH`, with ENOENT; its link in `/proc` needs no
/// privilege.
#[cfg(target_os = "linux")]
fn link_unnamed(file: &File, to: &Path) -> io::Result<()> {
    use rustix::fs::{linkat, AtFlags, CWD};
    use std::os::fd::AsRawFd;
    match linkat(file, c"", CWD, to, AtFlags::EMPTY_PATH) {
        Err(rustix::io::Errno::NOENT) => {
            let in_proc = format!("/proc/self/fd/{}", file.as_raw_fd());
            linkat(CWD, in_proc.as_str(), CWD, to, AtFlags::SYMLINK_FOLLOW).map_err(Into::into)
        }
        linked => linked.map_err(Into::into),
    }
}

/// Gives the synced file without a name `file` the path `path`: a link
/// there if nothing is there; else a link under a
/// temporary name, renamed over what is there (readers see the old file or
/// the new one, never neither). Where it cannot be linked at all (no
/// `/proc`, and a kernel that refuses the descriptor itself), its bytes are
/// copied into a named temporary file, synced and renamed.
#[cfg(target_os = "linux")]
fn place_unnamed(file: &File, path: &Path, link: LinkFn) -> io::Result<()> {
    let folder = folder_of(path);
    // `create` made sure the path has a file name.
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let cannot_link = |e: &io::Error| e.kind() == io::ErrorKind::NotFound;
    match link(file, path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let prefix = temp_prefix(&file_name);
            let linked = tempfile::Builder::new()
                .prefix(&prefix)
                .suffix(TEMP_SUFFIX)
                .make_in(folder, |temp| link(file, temp));
            match linked {
                // A failed rename drops the temporary name again.
                Ok(linked) => return linked.persist(path).map(drop).map_err(|e| e.error),
                Err(e) if !cannot_link(&e) => return Err(e),
                Err(_) => {}
            }
        }
        Err(e) if !cannot_link(&e) => return Err(e),
        Err(_) => {}
    }
    let mut copy = new_temp_file(folder, &file_name)?;
    let mut source = file;
    io::Seek::seek(&mut source, io::SeekFrom::Start(0))?;
    io::copy(&mut source, copy.as_file_mut())?;
    copy.as_file().sync_all()?;
    copy.persist(path).map(drop).map_err(|e| e.error)
}

/// The folder a file at `path` is in: its parent, or the current folder
/// for a bare name.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The longest file name the temporary name keeps of the final one: with
/// the dot, the random part and `.partial`, it stays under the 255 bytes
/// common file systems allow.
const MAX_KEPT_NAME: usize = 200;

/// A new temporary file in `folder` for the file `file_name`, with the mode
/// the umask leaves of 0666 (tempfile's default is private).
pub(crate) fn new_temp_file(folder: &Path, file_name: &str) -> io::Result<NamedTempFile> {
    let prefix = temp_prefix(file_name);
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(folder)
}

/// How a temporary name ends.
const TEMP_SUFFIX: &str = ".partial";

/// How a temporary name for the file `file_name` starts: `.<name>.`, the
/// name cut to [`MAX_KEPT_NAME`] bytes (a random part and
/// [`TEMP_SUFFIX`] follow).
fn temp_prefix(file_name: &str) -> String {
    let mut kept = file_name.len().min(MAX_KEPT_NAME);
    while !file_name.is_char_boundary(kept) {
        kept -= 1;
    }
    format!(".{}.", &file_name[..kept])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a panic is a test failure

    use super::*;
    use std::io::Write;

    /// A named temporary file, as where the system has no unnamed ones.
    fn named(folder: &Path, file_name: &str) -> io::Result<Temp> {
        new_temp_file(folder, file_name).map(Temp::Named)
    }

    /// Every way the file can be made: as `create` does (without a name
    /// on Linux), and named.
    const KINDS: [(&str, MakeTemp); 2] = [("create", Temp::create_in), ("named", named)];

    /// The names of what is in `folder`.
    fn names_in(folder: &Path) -> Vec<std::ffi::OsString> {
        fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect()
    }

    /// Writes `bytes` into a pending `folder/out.tar` made by `kind`.
    fn written(folder: &Path, kind: MakeTemp, bytes: &[u8]) -> PendingFile {
        let pending = PendingFile::create_with(folder.join("out.tar"), kind).unwrap();
        pending.file().unwrap().write_all(bytes).unwrap();
        pending
    }

    #[test]
    fn each_kind_of_file_ends_at_its_path_with_its_bytes_and_replaces_what_is_there() {
        for (name, kind) in KINDS {
            let dir = tempfile::tempdir().unwrap();
            written(dir.path(), kind, b"first").commit().unwrap();
            assert_eq!(
                fs::read(dir.path().join("out.tar")).unwrap(),
                b"first",
                "{name}"
            );
            // A file is there now: replaced in one step.
            written(dir.path(), kind, b"second").commit().unwrap();
            assert_eq!(
                fs::read(dir.path().join("out.tar")).unwrap(),
                b"second",
                "{name}"
            );
            assert_eq!(names_in(dir.path()), ["out.tar"], "{name}");
        }
    }

    #[test]
    fn dropped_uncommitted_each_kind_leaves_nothing_and_the_old_file_as_it_was() {
        for (name, kind) in KINDS {
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join("out.tar"), b"old").unwrap();
            let pending =
                PendingFile::create_with(dir.path().join("new/deeper/out.tar"), kind).unwrap();
            pending.file().unwrap().write_all(b"partly").unwrap();
            drop(pending);
            drop(written(dir.path(), kind, b"partly"));
            assert_eq!(names_in(dir.path()), ["out.tar"], "{name}");
            assert_eq!(
                fs::read(dir.path().join("out.tar")).unwrap(),
                b"old",
                "{name}"
            );
        }
    }

    /// On Linux the file is written without a name: nothing in the folder
    /// shows it, and nothing is there to remove on a signal.
    #[cfg(target_os = "linux")]
    #[test]
    fn on_linux_the_file_has_no_name_until_it_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        let pending = written(dir.path(), Temp::create_in, b"bytes");
        assert_eq!(pending.temp_path(), None);
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        pending.commit().unwrap();
        assert_eq!(fs::read(dir.path().join("out.tar")).unwrap(), b"bytes");
    }

    /// Without `/proc` and with a kernel that refuses to link a
    /// descriptor, a link fails with ENOENT: the bytes are copied into a
    /// named file, synced and renamed, with or without a file there.
    #[cfg(target_os = "linux")]
    #[test]
    fn an_unnamed_file_that_cannot_be_linked_is_copied_into_place() {
        fn refuse(_: &File, _: &Path) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::NotFound))
        }
        let dir = tempfile::tempdir().unwrap();
        for bytes in [&b"first"[..], b"second, over the first"] {
            let pending = written(dir.path(), Temp::create_in, bytes);
            assert_eq!(pending.temp_path(), None, "not the unnamed kind");
            pending.commit_with(refuse).unwrap();
            assert_eq!(fs::read(dir.path().join("out.tar")).unwrap(), bytes);
            assert_eq!(names_in(dir.path()), ["out.tar"]);
        }
    }

    /// Any other failure to link is the commit's error, and leaves the
    /// file there as it was and no temporary name.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_link_that_fails_otherwise_is_an_error_that_leaves_the_old_file() {
        fn deny(_: &File, _: &Path) -> io::Result<()> {
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        }
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("out.tar"), b"old").unwrap();
        let error = written(dir.path(), Temp::create_in, b"new")
            .commit_with(deny)
            .unwrap_err();
        assert!(
            matches!(&error, LayoutError::RenameIntoPlace { source, .. } if source.kind() == io::ErrorKind::PermissionDenied),
            "{error:?}"
        );
        assert_eq!(names_in(dir.path()), ["out.tar"]);
        assert_eq!(fs::read(dir.path().join("out.tar")).unwrap(), b"old");
    }

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
