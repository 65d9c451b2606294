//! A file whose writeback to disk starts while it is being written.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crate::SeekableOutput;

/// After this many more bytes are written, the background thread is asked
/// to push the file's dirty pages to disk. Small, so that the disk writes
/// while the rest is made and the final sync waits for a few pages: for a
/// tar of a thousand small modules (5 MB) that sync took 3 ms of a 20 ms
/// run. The syncs stay few however large the file: a request made while a
/// sync runs joins the next one. An output smaller than this (a small
/// job) never starts the thread.
pub const WRITEBACK_STEP: u64 = 1024 * 1024;

/// Once this many bytes are written, the kernel is asked to start writing
/// them to disk, without waiting and without a thread: a small output's
/// data is on its way while its documents are made, and the final sync
/// waits for less (0.06–0.09 ms of a 100 KiB module's 1.8 ms run, most of
/// which is that sync).
pub const EARLY_WRITEBACK: u64 = 64 * 1024;

/// The background thread does nothing but wait and sync: a small stack.
const SYNC_THREAD_STACK: usize = 64 * 1024;

/// How a step is pushed to disk (replaced in tests to provoke an error).
type SyncFn = fn(&File) -> io::Result<()>;

/// How writeback is started early (replaced in tests to count it).
type StartFn = fn(&File);

/// Starts writeback of the file's dirty pages without waiting for it:
/// `POSIX_FADV_DONTNEED` does that on Linux (dirty pages are written, not
/// dropped). A hint: an error changes nothing that the final sync does not
/// see, so it is left to that sync.
fn start_writeback(file: &File) {
    #[cfg(target_os = "linux")]
    let _ = rustix::fs::fadvise(file, 0, None, rustix::fs::Advice::DontNeed);
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// A [`File`] being written that is synced to disk in steps while it is
/// written, so that the final [`sync_all`](Self::sync_all) only waits for
/// the last step instead of the whole file.
///
/// Each time another [`WRITEBACK_STEP`] bytes have been written, a
/// background thread (started at the first step, so never for a small
/// output) is asked to `fdatasync` a second handle to the file; requests
/// made while it is syncing are merged into one. Writing never waits for
/// it. Before any step, once [`EARLY_WRITEBACK`] bytes are written, the
/// kernel is asked once to start writing them back (no thread, no wait).
/// [`sync_all`](Self::sync_all) syncs the file, stops the thread and
/// returns the first error any step had (a write-back error is reported
/// once per open file, so the final sync alone could miss it). Dropped
/// unsynced, it stops the thread too.
///
/// ```
/// use std::io::Write;
/// use oci_layout::WritebackFile;
///
/// let file = tempfile::tempfile()?;
/// let mut out = WritebackFile::new(file.try_clone()?);
/// out.write_all(b"bytes that must reach the disk")?;
/// out.sync_all()?;
/// assert_eq!(file.metadata()?.len(), 30);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct WritebackFile {
    file: File,
    /// Bytes written since writeback was last asked for.
    unsynced: u64,
    /// The kernel was asked to start writing back ([`EARLY_WRITEBACK`]).
    writeback_started: bool,
    start_writeback: StartFn,
    step: u64,
    sync: SyncFn,
    syncer: Syncer,
}

#[derive(Debug)]
enum Syncer {
    /// No step written yet.
    NotStarted,
    /// The thread runs.
    Running {
        shared: Arc<Shared>,
        thread: JoinHandle<()>,
    },
    /// The thread could not be started (no second handle, no thread): the
    /// file is synced at the end only, as a plain file would be.
    Unavailable,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct State {
    requested: bool,
    closing: bool,
    /// The first error a step's sync returned.
    error: Option<io::Error>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is a pair of flags and an error: still meaningful if
        // a holder panicked (none does).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WritebackFile {
    /// Wraps `file` (opened for writing, not in append mode).
    pub fn new(file: File) -> Self {
        Self::with_step(file, WRITEBACK_STEP, File::sync_data)
    }

    fn with_step(file: File, step: u64, sync: SyncFn) -> Self {
        Self::with_hooks(file, step, sync, start_writeback)
    }

    fn with_hooks(file: File, step: u64, sync: SyncFn, start_writeback: StartFn) -> Self {
        WritebackFile {
            file,
            unsynced: 0,
            writeback_started: false,
            start_writeback,
            step,
            sync,
            syncer: Syncer::NotStarted,
        }
    }

    /// The file.
    pub fn get_ref(&self) -> &File {
        &self.file
    }

    /// Syncs the file's data and metadata (`fsync`) and stops the
    /// background writeback, returning the first error a step had, else
    /// the final sync's. The final sync does not wait for a step's sync
    /// still running: it starts on the rest of the file at once.
    pub fn sync_all(mut self) -> io::Result<()> {
        let running = self.close();
        let synced = self.file.sync_all();
        Self::join(running)?;
        synced
    }

    /// Asks for writeback of what is written so far, starting the thread
    /// at the first request.
    fn request(&mut self) {
        match &self.syncer {
            Syncer::Running { shared, .. } => {
                shared.lock().requested = true;
                shared.wake.notify_one();
            }
            Syncer::NotStarted => self.syncer = self.start(),
            Syncer::Unavailable => {}
        }
    }

    /// Starts the thread with a first request pending.
    fn start(&self) -> Syncer {
        let Ok(file) = self.file.try_clone() else {
            return Syncer::Unavailable;
        };
        let shared = Arc::new(Shared::default());
        shared.lock().requested = true;
        let sync = self.sync;
        let theirs = Arc::clone(&shared);
        match std::thread::Builder::new()
            .name("writeback".to_owned())
            .stack_size(SYNC_THREAD_STACK)
            .spawn(move || run_syncer(&file, &theirs, sync))
        {
            Ok(thread) => Syncer::Running { shared, thread },
            Err(_) => Syncer::Unavailable,
        }
    }

    /// Tells the thread to end after the sync it may be running, without
    /// waiting for it.
    fn close(&mut self) -> Option<(Arc<Shared>, JoinHandle<()>)> {
        let Syncer::Running { shared, thread } =
            std::mem::replace(&mut self.syncer, Syncer::Unavailable)
        else {
            return None;
        };
        shared.lock().closing = true;
        shared.wake.notify_one();
        Some((shared, thread))
    }

    /// Waits for a [closed](Self::close) thread to end and returns the
    /// first error a step had.
    fn join(running: Option<(Arc<Shared>, JoinHandle<()>)>) -> io::Result<()> {
        let Some((shared, thread)) = running else {
            return Ok(());
        };
        thread
            .join()
            .map_err(|_| io::Error::other("the writeback thread panicked"))?;
        let error = shared.lock().error.take();
        match error {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// The thread: syncs once per wake-up with a request pending, until told
/// to close (the final sync then covers whatever was requested).
fn run_syncer(file: &File, shared: &Shared, sync: SyncFn) {
    let mut state = shared.lock();
    loop {
        while !state.requested && !state.closing {
            state = shared
                .wake
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if state.closing {
            return;
        }
        state.requested = false;
        drop(state);
        let result = sync(file);
        state = shared.lock();
        if let Err(error) = result {
            state.error.get_or_insert(error);
        }
    }
}

impl Write for WritebackFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.file.write(buf)?;
        self.unsynced += written as u64;
        if !self.writeback_started && self.unsynced >= EARLY_WRITEBACK {
            self.writeback_started = true;
            (self.start_writeback)(&self.file);
        }
        if self.unsynced >= self.step {
            self.unsynced = 0;
            self.request();
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Seek for WritebackFile {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        self.file.seek(position)
    }
}

impl SeekableOutput for WritebackFile {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }
}

impl Drop for WritebackFile {
    fn drop(&mut self) {
        // Unsynced: the file is being abandoned, so is any error.
        let _ = Self::join(self.close());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a panic is a test failure

    use super::*;
    use std::io::Read;

    fn failing_sync(_: &File) -> io::Result<()> {
        Err(io::Error::other("injected writeback failure"))
    }

    fn running(out: &WritebackFile) -> bool {
        matches!(out.syncer, Syncer::Running { .. })
    }

    /// A writer with a 4096-byte step whose steps all fail, after one step:
    /// its thread runs.
    fn failing_after_a_step() -> (WritebackFile, Arc<Shared>) {
        let mut out = WritebackFile::with_step(tempfile::tempfile().unwrap(), 4096, failing_sync);
        out.write_all(&[1; 8192]).unwrap();
        let Syncer::Running { shared, .. } = &out.syncer else {
            panic!("no thread after a step");
        };
        let shared = Arc::clone(shared);
        (out, shared)
    }

    thread_local! {
        static STARTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    fn counting_start(_: &File) {
        STARTED.with(|started| started.set(started.get() + 1));
    }

    #[test]
    fn writeback_starts_once_at_64_kib_without_a_thread() {
        // The value, written out: 64 KiB.
        assert_eq!(EARLY_WRITEBACK, 64 * 1024);
        let mut out = WritebackFile::with_hooks(
            tempfile::tempfile().unwrap(),
            WRITEBACK_STEP,
            File::sync_data,
            counting_start,
        );
        out.write_all(&vec![1; 64 * 1024 - 1]).unwrap();
        assert_eq!(STARTED.get(), 0, "not below 64 KiB");
        out.write_all(&[1]).unwrap();
        assert_eq!(STARTED.get(), 1, "at 64 KiB");
        out.write_all(&vec![1; 200 * 1024]).unwrap();
        assert_eq!(STARTED.get(), 1, "once");
        assert!(!running(&out), "no thread for it");
        out.sync_all().unwrap();
        // The real one leaves every byte as written.
        let mut file = tempfile::tempfile().unwrap();
        let mut out = WritebackFile::new(file.try_clone().unwrap());
        out.write_all(&vec![9; 100 * 1024]).unwrap();
        out.sync_all().unwrap();
        file.rewind().unwrap();
        let mut back = Vec::new();
        file.read_to_end(&mut back).unwrap();
        assert!(back == vec![9; 100 * 1024]);
    }

    #[test]
    fn a_small_output_starts_no_thread() {
        // The step's value, written out: 1 MiB.
        assert_eq!(WRITEBACK_STEP, 1 << 20);
        let mut file = tempfile::tempfile().unwrap();
        let mut out = WritebackFile::new(file.try_clone().unwrap());
        out.write_all(&vec![7; (1 << 20) - 1]).unwrap();
        assert!(!running(&out));
        out.write_all(&[7]).unwrap();
        assert!(running(&out), "the first full step starts it");
        out.sync_all().unwrap();
        file.rewind().unwrap();
        let mut back = Vec::new();
        file.read_to_end(&mut back).unwrap();
        assert_eq!(back, vec![7; 1 << 20]);
    }

    #[test]
    fn steps_start_the_thread_and_keep_every_byte() {
        let mut file = tempfile::tempfile().unwrap();
        let mut out = WritebackFile::with_step(file.try_clone().unwrap(), 4096, File::sync_data);
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in bytes.chunks(1000) {
            out.write_all(chunk).unwrap();
        }
        assert!(running(&out));
        // Seeking back and rewriting (a tar header filled in) goes through.
        out.seek(SeekFrom::Start(10)).unwrap();
        out.write_all(b"header").unwrap();
        out.seek(SeekFrom::End(0)).unwrap();
        out.sync_all().unwrap();
        file.rewind().unwrap();
        let mut back = Vec::new();
        file.read_to_end(&mut back).unwrap();
        let mut expected = bytes;
        expected[10..16].copy_from_slice(b"header");
        assert_eq!(back, expected);
    }

    #[test]
    fn a_background_sync_error_surfaces_at_the_final_sync() {
        let (mut out, shared) = failing_after_a_step();
        // Closing first would skip the pending step (the final sync covers
        // it): wait until the step has run and failed.
        while shared.lock().error.is_none() {
            std::thread::yield_now();
        }
        out.write_all(&[2; 100]).unwrap();
        let error = out.sync_all().unwrap_err();
        assert_eq!(error.to_string(), "injected writeback failure");
    }

    #[test]
    fn below_one_step_no_sync_runs_in_the_background() {
        let mut out = WritebackFile::with_step(tempfile::tempfile().unwrap(), 4096, failing_sync);
        out.write_all(&[1; 4095]).unwrap();
        assert!(!running(&out));
        out.sync_all().unwrap();
    }

    /// How many times [`counting_sync`] ran (one test uses it).
    static SYNCS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn counting_sync(file: &File) -> io::Result<()> {
        SYNCS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        file.sync_data()
    }

    #[test]
    fn the_thread_syncs_once_a_request_and_waits_between_requests() {
        use std::sync::atomic::Ordering::SeqCst;
        let mut out = WritebackFile::with_step(tempfile::tempfile().unwrap(), 4096, counting_sync);
        out.write_all(&[1; 4096]).unwrap();
        while SYNCS.load(SeqCst) == 0 {
            std::thread::yield_now();
        }
        // No other request: the thread waits, it does not sync again.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert_eq!(SYNCS.load(SeqCst), 1);
        out.sync_all().unwrap();
        assert_eq!(SYNCS.load(SeqCst), 1, "the final sync is the caller's own");
    }

    #[test]
    fn truncate_cuts_the_file() {
        let mut file = tempfile::tempfile().unwrap();
        let mut out = WritebackFile::new(file.try_clone().unwrap());
        out.write_all(b"0123456789").unwrap();
        SeekableOutput::truncate(&mut out, 4).unwrap();
        out.flush().unwrap();
        out.sync_all().unwrap();
        file.rewind().unwrap();
        let mut back = Vec::new();
        file.read_to_end(&mut back).unwrap();
        assert_eq!(back, b"0123");
    }

    #[test]
    fn dropped_unsynced_it_stops_the_thread() {
        let (out, shared) = failing_after_a_step();
        drop(out);
        // Only this test's handle is left: the thread has ended.
        assert_eq!(Arc::strong_count(&shared), 1);
        assert!(shared.lock().closing);
    }
}
