//! Adding many wasm files to an image: described on every core, added in
//! order.

use std::path::Path;
use std::sync::mpsc;

use oci_layout::{BlobInput, BytesBlob, FileInput, ImageSink};

use crate::{ArtifactError, ImageShape, WasmDescription, WasmImage};

/// With fewer files than this, starting threads costs more than it saves
/// (a small file is described in tens of microseconds, a thread starts in
/// about as many).
const PARALLEL_FROM: usize = 32;

/// At most this many threads describe files.
const MAX_WORKERS: usize = 4;

/// Files each describing thread may have ready ahead of the one being
/// added: memory stays flat (each holds at most a small file's bytes).
const READY_AHEAD: usize = 1;

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
        if workers <= 1 {
            for path in paths {
                let described = describe_file(path.as_ref(), hash_small)?;
                self.add_described(path.as_ref(), described, sink.as_deref_mut(), &mut added)?;
            }
            return Ok(());
        }
        std::thread::scope(|scope| {
            // Worker `w` describes files w, w + workers, w + 2 × workers, …
            // and hands each over on its own channel, so that this thread
            // takes them in order by turns.
            let mut ready = Vec::with_capacity(workers);
            for first in 0..workers {
                let (send, receive) = mpsc::sync_channel(READY_AHEAD);
                ready.push(receive);
                scope.spawn(move || {
                    for path in paths.iter().skip(first).step_by(workers) {
                        let described = describe_file(path.as_ref(), hash_small);
                        let failed = described.is_err();
                        // Stopped early (an error): nobody takes it.
                        if send.send(described).is_err() || failed {
                            return;
                        }
                    }
                });
            }
            for (at, path) in paths.iter().enumerate() {
                let described = ready[at % workers]
                    .recv()
                    .unwrap_or_else(|_| unreachable!("a worker sends every file it is given"))?;
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
        match (sink, bytes) {
            (Some(sink), Some(bytes)) if self.may_put_when_added() => {
                sink.put_blob(&bytes)?;
                self.note_put_when_added();
            }
            _ => {}
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

/// Opens the file at `path` and describes it; a small one's bytes too,
/// hashed, when `hash_small`.
fn describe_file(path: &Path, hash_small: bool) -> Result<Described, ArtifactError> {
    let blob = BlobInput::from(FileInput::open(path)?);
    let (description, bytes) = if hash_small {
        WasmDescription::read_keeping_blob(&blob)?
    } else {
        (WasmDescription::read(&blob)?, None)
    };
    let BlobInput::File(file) = blob else {
        unreachable!("made from a file just above")
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
