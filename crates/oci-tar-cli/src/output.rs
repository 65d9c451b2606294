//! Where the image goes: a tar file, written in the same folder where no
//! one sees it (without a name on Linux, else under a temporary one) and
//! put in place only once complete; stdout; or an OCI image layout
//! directory.
//!
//! On SIGINT or SIGTERM the temporary file, if it has a name, and the
//! folders made for it are removed and the process exits with 128 + the
//! signal's number (130, 143); a file already at the output path is never
//! touched until the file is put in place. A thread acts on a signal as it
//! comes when the work may take long or block ([`watch_signals`]); a small
//! job into a file or directory starts no thread and acts on a signal at
//! its next step ([`check_signals`]).

use std::fs;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock, PoisonError};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use wasm_artifact::{ArtifactError, Descriptor, Destination, LayoutError};

use oci_registry::PushStats;

use crate::cli::{OutputArg, RegistryOpts};
use crate::failure::Failure;

/// The temporary file being written, if it has a name, and the folders
/// made for it (deepest first), for the signal handler to remove. Held
/// locked while the file is put in place, so a signal either comes before
/// (and removes them) or after (and finds nothing to remove).
static IN_PROGRESS: Mutex<Option<(Option<PathBuf>, Vec<PathBuf>)>> = Mutex::new(None);

/// SIGINT and SIGTERM caught since [`catch_signals`], until a thread
/// [watches](watch_signals) them: `None` before, and once watched.
static CAUGHT: Mutex<Option<Signals>> = Mutex::new(None);

/// For each of SIGINT and SIGTERM, a flag its handler sets: what
/// [`check_signals`] reads, without a system call.
static RAISED: OnceLock<[(i32, Arc<AtomicBool>); 2]> = OnceLock::new();

/// Catches SIGINT and SIGTERM from now on (once): each is kept until
/// [`check_signals`] or the thread of [`watch_signals`] acts on it by
/// removing the temporary file and exiting with 128 + the signal number.
/// Starts no thread: a small job checks between its steps instead, each a
/// few milliseconds at most.
pub(crate) fn catch_signals() -> io::Result<()> {
    static INSTALL: Once = Once::new();
    let mut result = Ok(());
    INSTALL.call_once(|| {
        result = (|| {
            let raised = [SIGINT, SIGTERM].map(|signal| (signal, Arc::new(AtomicBool::new(false))));
            for (signal, flag) in &raised {
                signal_hook::flag::register(*signal, Arc::clone(flag))?;
            }
            let _ = RAISED.set(raised);
            let signals = Signals::new([SIGINT, SIGTERM])?;
            *CAUGHT.lock().unwrap_or_else(PoisonError::into_inner) = Some(signals);
            Ok(())
        })();
    });
    result
}

/// [`catch_signals`], and a thread that acts on each signal as it comes.
pub(crate) fn handle_signals() -> io::Result<()> {
    catch_signals()?;
    watch_signals();
    Ok(())
}

/// Starts (once) the thread that acts on SIGINT and SIGTERM as they come
/// (also on one caught before): for work that may take long or block
/// (a large input, a pipe, a registry), where waiting for the next
/// [`check_signals`] would not do.
pub(crate) fn watch_signals() {
    let caught = CAUGHT.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(mut signals) = caught {
        // A small stack: the thread only waits, then removes a file.
        let spawned = std::thread::Builder::new()
            .name("signals".to_owned())
            .stack_size(64 * 1024)
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    exit_on(signal);
                }
            });
        if let Err(e) = spawned {
            // Without the thread, the checks between steps still act.
            eprintln!("oci-tar-builder: warning: cannot watch for SIGINT and SIGTERM: {e}");
        }
    }
}

/// Acts on a SIGINT or SIGTERM caught (and not yet acted on by the
/// thread, if one watches): removes the temporary file and exits with
/// 128 + the signal number. Reads two flags, no system call. Not to be
/// called with [`IN_PROGRESS`] locked.
pub(crate) fn check_signals() {
    for (signal, flag) in RAISED.get().into_iter().flatten() {
        if flag.load(Ordering::Relaxed) {
            exit_on(*signal);
        }
    }
}

/// Removes the temporary file being written, if any, and exits with 128 +
/// `signal`.
fn exit_on(signal: i32) -> ! {
    let in_progress = IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((temp, folders)) = in_progress.as_ref() {
        if let Some(temp) = temp {
            let _ = fs::remove_file(temp);
        }
        for folder in folders {
            let _ = fs::remove_dir(folder);
        }
    }
    // Exiting with the lock held: the file cannot be put in place after.
    std::process::exit(128 + signal);
}

/// Registers a temporary file and the folders made for it with the signal
/// handler until dropped.
pub(crate) struct Registered;

impl Registered {
    /// Opens `destination` and registers its temporary file, if it has a
    /// name, and the folders made for it, with the signal handler kept
    /// waiting meanwhile: a signal that comes while the file is being
    /// created finds them registered and removes them.
    fn open(
        destination: impl FnOnce() -> Result<Destination, ArtifactError>,
    ) -> (Result<Destination, ArtifactError>, Option<Registered>) {
        let mut in_progress = IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner);
        let destination = destination();
        let temp = destination.as_ref().ok().and_then(|destination| {
            let temp = destination.temp_path().map(Path::to_path_buf);
            let folders = destination.created_folders().to_vec();
            (temp.is_some() || !folders.is_empty()).then_some((temp, folders))
        });
        let registered = temp.as_ref().map(|_| Registered);
        *in_progress = temp;
        (destination, registered)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        *IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// An open destination for the image, as `-o` names it.
pub(crate) struct Output {
    destination: Destination,
    /// How the summary and errors name it.
    shown: String,
    /// The temporary tar registered with the signal handler, if any.
    registered: Option<Registered>,
    /// What a push to a registry sent and skipped.
    pushed: Option<Arc<PushStats>>,
}

impl Output {
    /// Opens what `arg` names: a tar file (its folders are created; the
    /// tar is written beside it under a temporary name, removed on SIGINT
    /// and SIGTERM once [`handle_signals`] has run), stdout, or a layout
    /// directory, or a registry (connected, and authenticated if it asks).
    pub(crate) fn open(
        arg: &OutputArg,
        registry: &RegistryOpts,
        say: &dyn Fn(String),
    ) -> Result<Output, Failure> {
        let mut pushed = None;
        let mut registered = None;
        let (destination, shown) = match arg {
            OutputArg::Stdout => {
                let destination = Destination::tar_stream(io::stdout().lock());
                (destination, "stdout".to_owned())
            }
            OutputArg::TarFile(path) => {
                let shown = path.display().to_string();
                let target =
                    follow_links(path).map_err(|e| Failure::failed(format!("{shown}: {e}")))?;
                match fs::metadata(&target) {
                    Ok(metadata) if metadata.is_dir() => {
                        return Err(Failure::failed(format!(
                            "{shown}: is a directory; -o names the tar file to write (oci:{shown} writes an OCI image layout directory)"
                        )));
                    }
                    // A device, FIFO or socket is written through: it cannot be
                    // renamed over, and nothing can make it atomic.
                    Ok(metadata) if !metadata.is_file() => {
                        // Its writes may block: act on a signal as it comes.
                        watch_signals();
                        let file = fs::OpenOptions::new()
                            .write(true)
                            .open(&target)
                            .map_err(|e| Failure::failed(format!("{shown}: {e}")))?;
                        (Destination::tar_stream(file), shown)
                    }
                    // A new or regular file: written beside its real path and
                    // put in place there (a symbolic link stays a link).
                    _ => {
                        let (destination, guard) =
                            Registered::open(|| Destination::tar_file(target));
                        registered = guard;
                        (destination, shown)
                    }
                }
            }
            OutputArg::OciDir { dir, .. } => {
                let shown = format!("oci:{}", dir.display());
                (Destination::oci_dir(dir), shown)
            }
            OutputArg::EachReference => {
                return Err(Failure::usage(
                    "-o docker:// pushes the images of a build file (-f) each to its own reference; give one image a docker://REGISTRY/REPO:TAG",
                ))
            }
            OutputArg::Registry(target) => {
                let sink = crate::push::connect(target, registry, say)?;
                pushed = Some(sink.stats());
                (
                    Ok(Destination::sink_of(Box::new(sink))),
                    format!("docker://{target}"),
                )
            }
        };
        let destination = destination.map_err(|e| write_failure(&shown, e))?;
        Ok(Output {
            destination,
            shown,
            registered,
            pushed,
        })
    }

    /// The destination, to write images to.
    pub(crate) fn destination(&mut self) -> &mut Destination {
        &mut self.destination
    }

    /// Completes the destination and puts a tar file in place; returns the
    /// descriptor of the `index.json` written, if the destination has one.
    /// (Dropping an unfinished output removes the temporary file.)
    pub(crate) fn finish(self) -> Result<Option<Descriptor>, Failure> {
        let shown = self.shown;
        let completed = self
            .destination
            .complete()
            .map_err(|e| write_failure(&shown, e))?;
        // A signal now either came before (and removed the temporary file)
        // or waits until the file is in place and finds nothing to remove.
        let index = completed.index().cloned();
        // A signal caught meanwhile removes the file now (one that comes
        // while it is put in place is acted on after it, by the final check).
        check_signals();
        let mut in_progress = IN_PROGRESS.lock().unwrap_or_else(PoisonError::into_inner);
        completed.commit().map_err(|e| write_failure(&shown, e))?;
        *in_progress = None;
        drop(in_progress);
        drop(self.registered);
        Ok(index)
    }

    /// How the summary names the destination.
    pub(crate) fn describe(&self) -> &str {
        &self.shown
    }

    /// For a registry, the counts of what the push sent and skipped.
    pub(crate) fn push_stats(&self) -> Option<Arc<PushStats>> {
        self.pushed.clone()
    }

    /// For a registry, the summary's line of blobs sent and skipped.
    pub(crate) fn push_summary(&self) -> Option<String> {
        let stats = self.pushed.as_ref()?;
        let count = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
        Some(format!(
            "  blobs     {} sent ({} bytes), {} already there, {} mounted",
            count(&stats.blobs_uploaded),
            count(&stats.bytes_uploaded),
            count(&stats.blobs_skipped),
            count(&stats.blobs_mounted),
        ))
    }
}

/// Whether the process started with stdout closed (`>&-`). The Rust
/// runtime then opens `/dev/null` read-write in its place before `main`; a
/// shell's `>/dev/null` opens it write-only, so the two are told apart.
#[cfg(unix)]
fn stdout_was_closed() -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let stdout = io::stdout();
    let Ok(flags) = rustix::fs::fcntl_getfl(&stdout) else {
        return true;
    };
    let is_dev_null = fs::metadata("/dev/null").is_ok_and(|null| {
        rustix::fs::fstat(&stdout)
            .is_ok_and(|stat| null.file_type().is_char_device() && stat.st_rdev == null.rdev())
    });
    is_dev_null && flags.contains(rustix::fs::OFlags::RDWR)
}

#[cfg(not(unix))]
fn stdout_was_closed() -> bool {
    false
}

/// The path `path` names once every symbolic link along the way, the last
/// one included, is followed (also a link to a file that does not exist
/// yet: the file is made where the link points).
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    // As the kernel does, give up on a loop after 40 links.
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// An input, as the check of the output sees it.
pub(crate) struct NamedInput<'a> {
    /// The flag that named it (or its folder), for the message.
    pub(crate) flag: &'static str,
    pub(crate) path: &'a Path,
    /// The folder whose listing showed it as a regular file (not a link).
    pub(crate) listed_in: Option<&'a Path>,
}

/// Fails, before anything is read, where `output` cannot take the tar:
/// stdout that is a terminal or closed, or a tar file that would replace
/// one of `inputs` (the same file, also through another path or a link).
pub(crate) fn check_before_reading(
    output: &OutputArg,
    inputs: &[NamedInput<'_>],
) -> Result<(), Failure> {
    let path = match output {
        OutputArg::Stdout if io::stdout().is_terminal() => {
            return Err(Failure::usage(
                "-o -: stdout is a terminal; redirect it to a file or a pipe",
            ));
        }
        OutputArg::Stdout if stdout_was_closed() => {
            return Err(Failure::usage(
                "-o -: stdout is closed; redirect it to a file or a pipe",
            ));
        }
        OutputArg::TarFile(path) => path,
        OutputArg::Stdout
        | OutputArg::OciDir { .. }
        | OutputArg::Registry(_)
        | OutputArg::EachReference => return Ok(()),
    };
    let Ok(out) = fs::metadata(path) else {
        return Ok(());
    };
    // For each folder, once: whether none of its listed files can be the
    // output, so that none needs a look (a thousand inputs, a thousand
    // `stat`s saved).
    let mut cleared: Vec<(&Path, bool)> = Vec::new();
    for input in inputs {
        if let Some(folder) = input.listed_in {
            let known = cleared.iter().find(|(seen, _)| *seen == folder);
            let none_is_out = match known {
                Some(&(_, none_is_out)) => none_is_out,
                None => {
                    let none_is_out = holds_no_link_of(folder, &out, path);
                    cleared.push((folder, none_is_out));
                    none_is_out
                }
            };
            if none_is_out {
                continue;
            }
        }
        if fs::metadata(input.path).is_ok_and(|metadata| same_file(&metadata, &out)) {
            return Err(Failure::usage(format!(
                "-o {} would replace the input {} {}; write the tar elsewhere",
                path.display(),
                input.flag,
                input.path.display()
            )));
        }
    }
    Ok(())
}

/// Whether no regular file in `folder` can be the file `out` (the output
/// at `out_path`): a regular file listed in a folder is a link to its file,
/// and a file with one link has it at its own path, so when the output has
/// one link and `folder` is not the output's own folder, none is. (A file
/// bind-mounted over a listed name is not seen this way.)
#[cfg(unix)]
fn holds_no_link_of(folder: &Path, out: &fs::Metadata, out_path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if out.nlink() != 1 {
        return false;
    }
    let Ok(real) = follow_links(out_path) else {
        return false;
    };
    let out_folder = match real.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match (fs::metadata(out_folder), fs::metadata(folder)) {
        (Ok(out_folder), Ok(folder)) => !same_file(&out_folder, &folder),
        _ => false,
    }
}

#[cfg(not(unix))]
fn holds_no_link_of(_folder: &Path, _out: &fs::Metadata, _out_path: &Path) -> bool {
    false
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(_a: &fs::Metadata, _b: &fs::Metadata) -> bool {
    false
}

/// The failure for an error while writing to `destination`: a closed pipe
/// ends quietly, a full disk says so.
pub(crate) fn write_failure(destination: &str, error: ArtifactError) -> Failure {
    match &error {
        ArtifactError::Layout(LayoutError::Write { source })
            if source.kind() == io::ErrorKind::BrokenPipe =>
        {
            Failure::TarCutShort
        }
        ArtifactError::Layout(LayoutError::Write { source }) => {
            Failure::failed(write_error_message(destination, source))
        }
        ArtifactError::Layout(LayoutError::Destination { path, source }) => {
            Failure::failed(write_error_message(path, source))
        }
        _ => Failure::failed(error),
    }
}

/// The message for a failed write to `destination`; a full disk says so.
fn write_error_message(destination: &str, error: &io::Error) -> String {
    if error.kind() == io::ErrorKind::StorageFull {
        format!("{destination}: the disk is full ({error})")
    } else {
        format!("{destination}: {error}")
    }
}
