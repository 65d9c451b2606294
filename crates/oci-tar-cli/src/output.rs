//! Where the tar goes: a file, written under a temporary name in the same
//! folder and renamed into place only once complete, or stdout.

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::failure::Failure;

/// Buffer between the layout writer and the destination: large enough that
/// blob copies pass through in big writes, small against the memory goal.
const OUTPUT_BUFFER_LEN: usize = 256 * 1024;

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
    File { temp: NamedTempFile, path: PathBuf },
}

impl Output {
    /// Opens `path` for writing (`-` is stdout), creating its parent folders.
    /// Returns the output and the writer to give the layout writer.
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
            .map_err(|e| Failure::failed(format!("{shown}: cannot write here: {e}")))?;
        let file: File = temp
            .as_file()
            .try_clone()
            .map_err(|e| Failure::failed(format!("{shown}: {e}")))?;
        let writer = BufWriter::with_capacity(OUTPUT_BUFFER_LEN, file);
        Ok((
            Output::File {
                temp,
                path: path.to_owned(),
            },
            TarSink::File(writer),
        ))
    }

    /// Puts a complete, flushed tar in place. (Dropping an uncommitted
    /// output removes the temporary file.)
    pub(crate) fn commit(self) -> Result<(), Failure> {
        let Output::File { temp, path } = self else {
            return Ok(());
        };
        let shown = path.display();
        // Temporary files are created private (0600); a tar is an ordinary file.
        set_ordinary_permissions(temp.as_file())
            .map_err(|e| Failure::failed(format!("{shown}: {e}")))?;
        temp.persist(&path).map_err(|e| {
            Failure::failed(format!(
                "{shown}: cannot rename the finished tar into place: {}",
                e.error
            ))
        })?;
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

#[cfg(unix)]
fn set_ordinary_permissions(file: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_ordinary_permissions(_file: &File) -> io::Result<()> {
    Ok(())
}
