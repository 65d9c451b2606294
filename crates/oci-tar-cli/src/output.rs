//! Where the tar goes: a file, written under a temporary name in the same
//! folder and renamed into place only once complete, or stdout.
//!
//! On SIGINT or SIGTERM the temporary file is removed and the process exits
//! with 128 + the signal's number (130, 143); a file already at the output
//! path is never touched until the rename.

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once, PoisonError};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tempfile::NamedTempFile;

use crate::failure::Failure;

/// Buffer between the layout writer and the destination: large enough that
/// blob copies pass through in big writes, small against the memory goal.
const OUTPUT_BUFFER_LEN: usize = 256 * 1024;

/// The temporary file being written, for the signal handler to remove.
/// Held locked while the file is renamed into place, so a signal either
/// comes before (and removes it) or after (and finds nothing to remove).
static IN_PROGRESS: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Starts (once) the thread that turns SIGINT and SIGTERM into removing the
/// temporary file and exiting with 128 + the signal number.
pub(crate) fn handle_signals() -> io::Result<()> {
    static INSTALL: Once = Once::new();
    let mut result = Ok(());
    INSTALL.call_once(|| {
        result = Signals::new([SIGINT, SIGTERM]).map(|mut signals| {
            std::thread::spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    let in_progress = IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner);
                    if let Some(temp) = in_progress.as_ref() {
                        let _ = fs::remove_file(temp);
                    }
                    // Exiting with the lock held: no rename can follow.
                    std::process::exit(128 + signal);
                }
            });
        });
    });
    result
}

/// Registers a temporary file with the signal handler until dropped.
pub(crate) struct Registered;

impl Registered {
    fn new(temp: &Path) -> Self {
        *IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner) = Some(temp.to_owned());
        Registered
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        *IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The writer to give the layout writer: a file can be sought back into
/// (so each input is read once), stdout cannot.
pub(crate) enum TarSink {
    /// Standard output, buffered.
    Stdout(BufWriter<io::StdoutLock<'static>>),
    /// The temporary file, buffered.
    File(BufWriter<File>),
}

/// An open destination for the tar.
pub(crate) enum Output {
    /// Standard output.
    Stdout,
    /// A temporary file beside `path`, renamed to it by [`Output::commit`].
    File {
        temp: NamedTempFile,
        path: PathBuf,
        registered: Registered,
    },
}

impl Output {
    /// Opens `path` for writing (`-` is stdout), creating its parent folders.
    /// Returns the output and the writer to give the layout writer. The
    /// temporary file is removed on SIGINT and SIGTERM once
    /// [`handle_signals`] has run (`package::run` runs it first thing).
    pub(crate) fn open(path: &Path) -> Result<(Output, TarSink), Failure> {
        if path == Path::new("-") {
            if io::stdout().is_terminal() {
                return Err(Failure::usage(
                    "-o -: stdout is a terminal; redirect it to a file or a pipe",
                ));
            }
            let writer = BufWriter::with_capacity(OUTPUT_BUFFER_LEN, io::stdout().lock());
            return Ok((Output::Stdout, TarSink::Stdout(writer)));
        }
        let shown = path.display();
        if path.is_dir() {
            return Err(Failure::failed(format!(
                "{shown}: is a directory; -o names the tar file to write"
            )));
        }
        let file_name = path
            .file_name()
            .ok_or_else(|| Failure::failed(format!("{shown}: not a file name")))?;
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        fs::create_dir_all(parent).map_err(|e| {
            Failure::failed(format!(
                "{}: cannot create the folder: {e}",
                parent.display()
            ))
        })?;
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", file_name.to_string_lossy()))
            .suffix(".partial")
            .tempfile_in(parent)
            .map_err(|e| {
                // tempfile's message ends with its random temporary path
                // (" at path …"); the OS error alone is what the user needs.
                let message = e.to_string();
                let cause = message.split(" at path ").next().unwrap_or_default();
                Failure::failed(format!(
                    "{shown}: cannot create a file in {}: {cause}",
                    parent.display()
                ))
            })?;
        let file: File = temp
            .as_file()
            .try_clone()
            .map_err(|e| Failure::failed(format!("{shown}: {e}")))?;
        let writer = BufWriter::with_capacity(OUTPUT_BUFFER_LEN, file);
        let registered = Registered::new(temp.path());
        Ok((
            Output::File {
                temp,
                path: path.to_owned(),
                registered,
            },
            TarSink::File(writer),
        ))
    }

    /// Puts a complete, flushed tar in place. (Dropping an uncommitted
    /// output removes the temporary file.)
    pub(crate) fn commit(self) -> Result<(), Failure> {
        let Output::File {
            temp,
            path,
            registered,
        } = self
        else {
            return Ok(());
        };
        let shown = path.display();
        // Temporary files are created private (0600); a tar is an ordinary file.
        set_ordinary_permissions(temp.as_file())
            .map_err(|e| Failure::failed(format!("{shown}: {e}")))?;
        // The data is on disk before the name points at it.
        temp.as_file()
            .sync_all()
            .map_err(|e| Failure::failed(write_error_message(&shown.to_string(), &e)))?;
        let mut in_progress = IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner);
        temp.persist(&path).map_err(|e| {
            Failure::failed(format!(
                "{shown}: cannot rename the finished tar into place: {}",
                e.error
            ))
        })?;
        *in_progress = None;
        drop(in_progress);
        drop(registered);
        Ok(())
    }

    /// How the summary names the destination.
    pub(crate) fn describe(&self) -> String {
        match self {
            Output::Stdout => "stdout".to_owned(),
            Output::File { path, .. } => path.display().to_string(),
        }
    }
}

/// The message for a failed write to `destination`; a full disk says so.
pub(crate) fn write_error_message(destination: &str, error: &io::Error) -> String {
    if error.kind() == io::ErrorKind::StorageFull {
        format!("{destination}: the disk is full ({error})")
    } else {
        format!("{destination}: {error}")
    }
}

#[cfg(unix)]
fn set_ordinary_permissions(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_ordinary_permissions(_file: &File) -> io::Result<()> {
    Ok(())
}
