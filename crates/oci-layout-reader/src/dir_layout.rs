//! Reading an image-layout directory (as skopeo's `oci:DIR` writes) with the
//! same rules as a tar, through the shared [`Collector`].
//!
//! Nothing a link names is read: every entry is looked at with
//! `symlink_metadata` (a link is reported, never followed), files are opened
//! without following a final link and without blocking on a FIFO, and the
//! opened file must be the regular file that was listed (same device and
//! inode), so one swapped in between is caught rather than read.

use std::collections::VecDeque;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::Path;

use crate::check::{Collector, EntrySink, Target, MAX_ENTRIES};
use crate::error::ReadError;
use crate::problem::Problem;
use crate::report::LayoutReport;
use crate::tar_stream::EntryKind;

/// Size of the chunks files are read in.
const CHUNK_LEN: usize = 64 * 1024;

/// Reads the image-layout directory at `path` (`oci-layout`, `index.json`,
/// `blobs/sha256/<hex>`, and `manifest.json` when present) and checks it as
/// [`read_layout`](crate::read_layout) checks a tar: the same problems, the
/// same limits, every blob hashed streaming. Links, devices and FIFOs
/// anywhere inside are reported and never followed or opened; `path`
/// itself may be a link to the directory.
///
/// Problems in the layout are listed in the report; the error is only for
/// a directory that cannot be opened or listed at all.
pub fn read_layout_dir(path: impl AsRef<Path>) -> Result<LayoutReport, ReadError> {
    let root = path.as_ref();
    let directory_error = |source| ReadError::Directory {
        path: root.to_owned(),
        source,
    };
    // Listing the root first makes a missing or non-directory path an error.
    let root_entries = list(root).map_err(directory_error)?;
    let mut walk = DirWalk {
        root,
        collector: Collector::default(),
        buffer: vec![0; CHUNK_LEN],
    };
    walk.walk(root_entries);
    Ok(walk.collector.check())
}

struct DirWalk<'a> {
    root: &'a Path,
    collector: Collector,
    buffer: Vec<u8>,
}

/// An entry found in a directory: its path relative to the root, in
/// `/`-separated form, and its own (not a link target's) metadata.
struct Listed {
    name: String,
    metadata: Metadata,
}

impl DirWalk<'_> {
    /// Visits every entry, breadth first, each directory's entries in name
    /// order, so the problems come in the same order every time. Only one
    /// directory's listing is held at a time.
    fn walk(&mut self, root_entries: Vec<(String, io::Result<Metadata>)>) {
        let mut pending: VecDeque<String> = VecDeque::new();
        let mut listing = Some((String::new(), root_entries));
        while let Some((parent, entries)) = listing.take() {
            for (file_name, metadata) in entries {
                let name = if parent.is_empty() {
                    file_name
                } else {
                    format!("{parent}/{file_name}")
                };
                let metadata = match metadata {
                    Ok(metadata) => metadata,
                    Err(error) => {
                        self.unreadable(name, &error);
                        continue;
                    }
                };
                let kind = entry_kind(&metadata);
                match self.collector.classify(&name, kind, metadata.len(), None) {
                    Target::Stop => return,
                    Target::Skip => {}
                    Target::Directory => pending.push_back(name),
                    Target::Take(sink) => self.read_file(Listed { name, metadata }, sink),
                }
            }
            while let Some(directory) = pending.pop_front() {
                match list(&self.root.join(&directory)) {
                    Ok(entries) => {
                        listing = Some((directory, entries));
                        break;
                    }
                    Err(error) => self.unreadable(directory, &error),
                }
            }
        }
    }

    /// Streams a listed regular file into `sink`.
    fn read_file(&mut self, listed: Listed, mut sink: EntrySink) {
        let path = self.root.join(&listed.name);
        let opened = open_no_follow(&path).and_then(|file| {
            let metadata = file.metadata()?;
            Ok((file, metadata))
        });
        let (mut file, metadata) = match opened {
            Ok(opened) => opened,
            Err(error) => return self.unreadable(listed.name, &error),
        };
        if !metadata.is_file() || !same_file(&metadata, &listed.metadata) {
            return self.collector.push(Problem::UnsafeEntry {
                name: listed.name,
                reason: "replaced while being read (no longer the regular file listed)",
            });
        }
        let fed = feed_while(&mut file, &mut self.buffer, &mut sink);
        let (read, whole) = match fed {
            Ok(fed) => fed,
            Err(error) => return self.unreadable(listed.name, &error),
        };
        // A document not kept is reported by its size, unread.
        let size = if whole { read } else { metadata.len() };
        self.collector.finish_entry(sink, size, true);
    }

    fn unreadable(&mut self, name: String, error: &io::Error) {
        self.collector.push(Problem::UnreadableEntry {
            name,
            reason: error.to_string(),
        });
    }
}

/// What reading an entry is fed to.
trait Fed {
    /// Whether it takes more bytes.
    fn wants_more(&self) -> bool;
    /// Takes `bytes`.
    fn feed(&mut self, bytes: &[u8]);
}

impl Fed for EntrySink {
    fn wants_more(&self) -> bool {
        EntrySink::wants_more(self)
    }
    fn feed(&mut self, bytes: &[u8]) {
        EntrySink::feed(self, bytes);
    }
}

/// Reads `reader` through `buffer` into `sink` while it wants more,
/// retrying a read that was interrupted: the bytes read, and whether the
/// reader ended (all of it was read).
fn feed_while(
    reader: &mut impl Read,
    buffer: &mut [u8],
    sink: &mut impl Fed,
) -> io::Result<(u64, bool)> {
    let mut read: u64 = 0;
    while sink.wants_more() {
        match reader.read(buffer) {
            Ok(0) => return Ok((read, true)),
            Ok(n) => {
                sink.feed(&buffer[..n]);
                read += n as u64;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok((read, false))
}

/// The entries of the directory `path` in name order, each with its own
/// metadata (links not followed); at most [`MAX_ENTRIES`] + 1 of them, which
/// is enough to stop at the limit.
fn list(path: &Path) -> io::Result<Vec<(String, io::Result<Metadata>)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(path)?.take(MAX_ENTRIES + 1) {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        entries.push((name, fs::symlink_metadata(entry.path())));
    }
    entries.sort_by(|(a, _), (b, _)| a.cmp(b));
    Ok(entries)
}

fn entry_kind(metadata: &Metadata) -> EntryKind {
    let file_type = metadata.file_type();
    if file_type.is_symlink() {
        return EntryKind::SymLink;
    }
    if file_type.is_dir() {
        return EntryKind::Directory;
    }
    if file_type.is_file() {
        return EntryKind::File;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return EntryKind::Fifo;
        }
        if file_type.is_block_device() || file_type.is_char_device() {
            return EntryKind::Device;
        }
    }
    EntryKind::Other(0)
}

/// Opens `path` for reading, refusing a final link (`O_NOFOLLOW`) and never
/// blocking on a FIFO swapped in after listing (`O_NONBLOCK`; it does not
/// change how a regular file reads).
#[cfg(unix)]
fn open_no_follow(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> io::Result<File> {
    File::open(path)
}

/// Whether the opened file is the one that was listed.
#[cfg(unix)]
fn same_file(opened: &Metadata, listed: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    opened.dev() == listed.dev() && opened.ino() == listed.ino()
}

#[cfg(not(unix))]
fn same_file(opened: &Metadata, listed: &Metadata) -> bool {
    opened.len() == listed.len()
}

#[cfg(all(test, unix))]
mod tests {
    //! What guards a file swapped between listing and reading: a race no
    //! test can time, so the parts are tested here on files set up to be
    //! what a swap would leave.
    #![allow(clippy::unwrap_used)] // tests: a panic is a failure

    use super::*;

    /// A reader that answers each read with the next of its steps: bytes
    /// (as many as fit), or an error of a kind; then the end.
    struct Scripted(std::collections::VecDeque<Result<&'static [u8], io::ErrorKind>>);

    impl Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match self.0.pop_front() {
                None => Ok(0),
                Some(Err(kind)) => Err(io::Error::from(kind)),
                Some(Ok(bytes)) => {
                    let n = bytes.len().min(buf.len());
                    buf[..n].copy_from_slice(&bytes[..n]);
                    Ok(n)
                }
            }
        }
    }

    /// Keeps what it is fed, up to `limit` bytes.
    struct Kept {
        bytes: Vec<u8>,
        limit: usize,
    }

    impl Fed for Kept {
        fn wants_more(&self) -> bool {
            self.bytes.len() < self.limit
        }
        fn feed(&mut self, bytes: &[u8]) {
            self.bytes.extend_from_slice(bytes);
        }
    }

    #[test]
    fn an_interrupted_read_is_tried_again_and_any_other_error_ends_it() {
        use io::ErrorKind::{Interrupted, Other};
        let mut buffer = [0u8; 4];
        let mut kept = Kept {
            bytes: Vec::new(),
            limit: 100,
        };
        let mut reader = Scripted(
            [
                Err(Interrupted),
                Ok(&b"abc"[..]),
                Err(Interrupted),
                Ok(b"defg"),
            ]
            .into(),
        );
        let fed = feed_while(&mut reader, &mut buffer, &mut kept).unwrap();
        assert_eq!((fed, kept.bytes.as_slice()), ((7, true), &b"abcdefg"[..]));
        // Not wanted any more: stopped, not read to its end.
        let mut kept = Kept {
            bytes: Vec::new(),
            limit: 3,
        };
        let mut reader = Scripted([Ok(&b"abc"[..]), Ok(b"def")].into());
        let fed = feed_while(&mut reader, &mut buffer, &mut kept).unwrap();
        assert_eq!((fed, kept.bytes.as_slice()), ((3, false), &b"abc"[..]));
        let mut kept = Kept {
            bytes: Vec::new(),
            limit: 100,
        };
        let mut reader = Scripted([Ok(&b"ab"[..]), Err(Other), Ok(b"cd")].into());
        let error = feed_while(&mut reader, &mut buffer, &mut kept).unwrap_err();
        assert_eq!(error.kind(), Other);
    }

    fn mkfifo(path: &Path) {
        let status = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .expect("mkfifo (coreutils) must be installed");
        assert!(status.success());
    }

    #[test]
    fn same_file_is_the_same_device_and_inode() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"x").unwrap();
        fs::write(&b, b"x").unwrap();
        let listed = fs::symlink_metadata(&a).unwrap();
        assert!(same_file(
            &File::open(&a).unwrap().metadata().unwrap(),
            &listed
        ));
        assert!(!same_file(&fs::metadata(&b).unwrap(), &listed));
    }

    #[test]
    fn opening_refuses_a_final_link_and_does_not_wait_on_a_fifo() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(open_no_follow(&link).is_err());
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        // Without O_NONBLOCK this blocks until a writer comes.
        assert!(open_no_follow(&fifo).is_ok());
    }

    #[test]
    fn a_character_device_is_a_device() {
        let null = fs::symlink_metadata("/dev/null").unwrap();
        assert_eq!(entry_kind(&null), EntryKind::Device);
    }

    /// Reads `name` under `root` as if it had been listed with `listed`.
    fn read_as_listed(root: &Path, name: &str, listed: Metadata) -> Vec<Problem> {
        let mut walk = DirWalk {
            root,
            collector: Collector::default(),
            buffer: vec![0; CHUNK_LEN],
        };
        let Target::Take(sink) = walk.collector.classify(name, EntryKind::File, 1, None) else {
            panic!("{name} is not read");
        };
        walk.read_file(
            Listed {
                name: name.to_owned(),
                metadata: listed,
            },
            sink,
        );
        walk.collector.problems().to_vec()
    }

    #[test]
    fn a_file_swapped_after_listing_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::write(&a, b"x").unwrap();
        fs::write(&b, b"x").unwrap();
        let replaced = |problems: &[Problem]| matches!(problems, [Problem::UnsafeEntry { reason, .. }] if reason.contains("replaced"));
        // Listed as `a`, now another regular file.
        let problems = read_as_listed(dir.path(), "b", fs::symlink_metadata(&a).unwrap());
        assert!(replaced(&problems), "{problems:?}");
        // A directory, listed as itself (only its kind is wrong).
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let problems = read_as_listed(dir.path(), "sub", fs::symlink_metadata(&sub).unwrap());
        assert!(replaced(&problems), "{problems:?}");
        // A link swapped in: not opened, the entry unreadable.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&a, &link).unwrap();
        let problems = read_as_listed(dir.path(), "link", fs::symlink_metadata(&a).unwrap());
        assert!(
            matches!(&problems[..], [Problem::UnreadableEntry { name, .. }] if name == "link"),
            "{problems:?}"
        );
        // The file listed: read.
        let problems = read_as_listed(dir.path(), "a", fs::symlink_metadata(&a).unwrap());
        assert_eq!(problems, []);
    }
}
