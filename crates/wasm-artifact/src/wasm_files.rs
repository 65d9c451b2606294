//! Adding many wasm files to an image: described on every core, added in
//! order.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use oci_layout::{BlobInput, BytesBlob, FileInput, Folder, ImageSink};

use crate::{ArtifactError, ImageShape, WasmDescription, WasmImage};

/// With fewer files than this, starting threads costs more than it saves
/// (a small file is described in tens of microseconds, a thread starts in
/// about as many).
const PARALLEL_FROM: usize = 32;

/// At most this many threads describe files.
const MAX_WORKERS: usize = 4;

/// Files (and bytes of them held) each describing thread may have ready
/// ahead of the one being added: memory stays flat, a few small files.
const READY_FILES: usize = 16;
const READY_BYTES: usize = 512 * 1024;

/// A thread waiting for files is woken once this many are ready (or the
/// describing thread is done), and a describing thread that waits for room
/// once its files are down to this many: one wake-up (a system call) for
/// several files, not one per file.
const WAKE_AT: usize = READY_FILES / 2;

/// A wasm file [`WasmImage::add_wasm_files`] has just added.
#[derive(Debug, Clone, Copy)]
pub struct AddedWasm<'a> {
    /// Its path, as given.
    pub path: &'a Path,
    /// Its size when it was opened.
    pub size: u64,
    /// What it is (see [`WasmImage::add_wasm`]).
    pub description: &'a WasmDescription,
}

/// A file opened and described, and (small, to be put) its bytes, hashed.
type Described = (FileInput, WasmDescription, Option<BytesBlob>);

impl WasmImage {
    /// Adds the regular files at `paths` as the next wasm layers, in order,
    /// as [`add_wasm`](Self::add_wasm) (or, given a `sink`,
    /// [`add_wasm_into`](Self::add_wasm_into)) would one at a time, calling
    /// `added` after each. Stops at the first file that cannot be opened or
    /// is refused, returning its error; the files before it stay added.
    ///
    /// With many files, the next ones are opened, read, hashed and
    /// described on the other cores while this thread adds each in turn
    /// (and puts it into `sink`): the image, the sink's blobs and their
    /// order are the same as one at a time, and a few files at most are
    /// held ahead.
    pub fn add_wasm_files<P: AsRef<Path> + Sync>(
        &mut self,
        paths: &[P],
        mut sink: Option<&mut (dyn ImageSink + '_)>,
        mut added: impl FnMut(AddedWasm<'_>),
    ) -> Result<(), ArtifactError> {
        // Small files are hashed as they are read only if they can go into
        // the sink at once (see `add_wasm_into`).
        let hash_small =
            sink.is_some() && matches!(self.shape(), ImageShape::WasmLayers | ImageShape::Artifact);
        let workers = describing_threads(paths.len());
        let folder = common_folder(paths);
        let folder = folder.as_ref();
        if workers <= 1 {
            for path in paths {
                let described = describe_file(folder, path.as_ref(), hash_small)?;
                self.add_described(path.as_ref(), described, sink.as_deref_mut(), &mut added)?;
            }
            return Ok(());
        }
        let queues: Vec<Ready> = (0..workers).map(|_| Ready::default()).collect();
        std::thread::scope(|scope| {
            // However adding ends (an error, a panic), the threads stop at
            // their next file, before the scope waits for them.
            let _stop = Stop(&queues, Ready::stop);
            // Worker `w` describes files w, w + workers, w + 2 × workers, …
            // into its own queue, so that this thread takes them in order
            // by turns.
            for (first, queue) in queues.iter().enumerate() {
                scope.spawn(move || {
                    let _finish = Stop(std::slice::from_ref(queue), Ready::finish);
                    for path in paths.iter().skip(first).step_by(workers) {
                        let described = describe_file(folder, path.as_ref(), hash_small);
                        let failed = described.is_err();
                        if !queue.push(described) || failed {
                            break;
                        }
                    }
                });
            }
            for (at, path) in paths.iter().enumerate() {
                let described = queues[at % workers].pop()?;
                self.add_described(path.as_ref(), described, sink.as_deref_mut(), &mut added)?;
            }
            Ok(())
        })
    }

    /// Adds a file described by [`describe_file`], putting its bytes into
    /// `sink` when every wasm before it went in that way.
    fn add_described(
        &mut self,
        path: &Path,
        (file, description, bytes): Described,
        sink: Option<&mut (dyn ImageSink + '_)>,
        added: &mut impl FnMut(AddedWasm<'_>),
    ) -> Result<(), ArtifactError> {
        let size = file.size();
        if let (Some(sink), Some(bytes)) = (sink, bytes) {
            self.put_in_order(&bytes, sink)?;
        }
        let description = self.push_wasm(BlobInput::from(file), description);
        added(AddedWasm {
            path,
            size,
            description,
        });
        Ok(())
    }
}

/// The folder that holds every one of `paths`, opened, when there are
/// several: each file is then looked up by its name from it. `None` when
/// they are in several folders, or the folder cannot be opened (each file
/// is then opened by its path, and says so if it cannot be).
fn common_folder<P: AsRef<Path>>(paths: &[P]) -> Option<Folder> {
    let (first, rest) = paths.split_first()?;
    let parent = first.as_ref().parent()?;
    if rest.is_empty()
        || rest
            .iter()
            .any(|path| path.as_ref().parent() != Some(parent))
    {
        return None;
    }
    Folder::open(parent).ok()
}

/// Opens the file at `path` (from `folder`, its folder, if given) and
/// describes it; a small one's bytes too, hashed, when `hash_small`. A
/// small file is opened and read once, with one lookup of its path.
fn describe_file(
    folder: Option<&Folder>,
    path: &Path,
    hash_small: bool,
) -> Result<Described, ArtifactError> {
    let (file, small) = match folder {
        Some(folder) => FileInput::open_reading_small_in(folder, path)?,
        None => FileInput::open_reading_small(path)?,
    };
    let blob = BlobInput::from(file);
    let description = match &small {
        Some(bytes) => WasmDescription::read_bytes(&blob, bytes)?,
        None => WasmDescription::read(&blob)?,
    };
    let BlobInput::File(file) = blob else {
        unreachable!("made from a file just above")
    };
    let bytes = match small {
        Some(bytes) if hash_small => Some(file.hashed_blob(bytes)?),
        _ => None,
    };
    Ok((file, description, bytes))
}

/// How many threads describe `files` files: none but this one for a few,
/// else one per core, up to [`MAX_WORKERS`].
fn describing_threads(files: usize) -> usize {
    if files < PARALLEL_FROM {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_WORKERS)
}

/// The files one describing thread has ready, in order, for the adding
/// thread.
#[derive(Default)]
struct Ready {
    state: Mutex<ReadyState>,
    changed: Condvar,
}

#[derive(Default)]
struct ReadyState {
    files: VecDeque<Result<Described, ArtifactError>>,
    /// Bytes held by `files`.
    bytes: usize,
    /// The describing thread has no more files (done, or failed).
    finished: bool,
    /// The adding thread stopped taking files.
    stopped: bool,
    /// The adding thread waits for files; the describing thread waits for room.
    taker_waits: bool,
    giver_waits: bool,
}

impl ReadyState {
    fn full(&self) -> bool {
        self.files.len() >= READY_FILES || self.bytes >= READY_BYTES
    }
}

impl Ready {
    fn lock(&self) -> MutexGuard<'_, ReadyState> {
        // Plain data, meaningful whatever a holder did (none panics).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, state: MutexGuard<'a, ReadyState>) -> MutexGuard<'a, ReadyState> {
        self.changed
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a described file, waiting while the queue is full; `false`
    /// once the adding thread has stopped taking files.
    fn push(&self, file: Result<Described, ArtifactError>) -> bool {
        let held = file.as_ref().map_or(0, |(_, _, bytes)| {
            bytes.as_ref().map_or(0, |b| b.bytes().len())
        });
        let mut state = self.lock();
        while state.full() && !state.stopped {
            state.giver_waits = true;
            state = self.wait(state);
        }
        if state.stopped {
            return false;
        }
        state.files.push_back(file);
        state.bytes += held;
        if state.taker_waits && (state.files.len() >= WAKE_AT || state.full()) {
            state.taker_waits = false;
            self.changed.notify_all();
        }
        true
    }

    /// No more files from the describing thread.
    fn finish(&self) {
        let mut state = self.lock();
        state.finished = true;
        self.changed.notify_all();
    }

    /// The adding thread takes no more files.
    fn stop(&self) {
        let mut state = self.lock();
        state.stopped = true;
        self.changed.notify_all();
    }

    /// The next described file, waiting for it.
    fn pop(&self) -> Result<Described, ArtifactError> {
        let mut state = self.lock();
        loop {
            if let Some(file) = state.files.pop_front() {
                if let Ok((_, _, Some(bytes))) = &file {
                    state.bytes -= bytes.bytes().len();
                }
                if state.giver_waits && state.files.len() <= WAKE_AT && !state.full() {
                    state.giver_waits = false;
                    self.changed.notify_all();
                }
                return file;
            }
            if state.finished {
                unreachable!("a describing thread queues every file it is given, or an error");
            }
            state.taker_waits = true;
            state = self.wait(state);
        }
    }
}

/// Calls `.1` on each queue when dropped (on a panic too): the adding
/// thread stopping, or a describing thread finishing.
struct Stop<'a>(&'a [Ready], fn(&Ready));

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        for queue in self.0 {
            (self.1)(queue);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is a failure

    use super::*;

    #[test]
    fn the_folder_of_several_files_is_opened_when_they_share_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.wasm");
        let b = dir.path().join("b.wasm");
        let folder = common_folder(&[&a, &b]).unwrap();
        assert_eq!(folder.path(), dir.path());
        // Relative paths in the current folder: its parent is "".
        let folder = common_folder(&["a.wasm", "b.wasm"]).unwrap();
        assert_eq!(folder.path(), Path::new(""));
        // One file, none, or files of two folders: each by its path.
        assert!(common_folder(&[&a]).is_none());
        assert!(common_folder::<&Path>(&[]).is_none());
        let other = dir.path().join("sub/c.wasm");
        assert!(common_folder(&[&a, &b, &other]).is_none());
        assert!(common_folder(&[&other, &a, &b]).is_none());
        // A folder that cannot be opened: each by its path (and says so).
        let gone = dir.path().join("gone");
        assert!(common_folder(&[gone.join("a.wasm"), gone.join("b.wasm")]).is_none());
    }
}
