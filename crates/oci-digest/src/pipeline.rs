//! Copying a stream while hashing it, with the hash on a second thread for
//! large streams, and a fast checksum to confirm a second read.

use std::io::{self, Read, Write};
use std::sync::mpsc;

use crate::Sha256;

/// Streams at least this long are hashed on a helper thread while the
/// calling thread reads and writes; shorter ones are hashed inline, so a
/// small blob pays for no thread and no large buffer.
pub const PIPELINE_THRESHOLD: u64 = 4 * 1024 * 1024;

/// Size of each buffer of the pipeline (and of the inline buffer for
/// streams at least this long): large enough that handing one over costs
/// nothing next to hashing it (about 30 µs), small enough that the buffers
/// in flight are a fraction of the process's memory.
const CHUNK_LEN: usize = 64 * 1024;

/// Buffers in flight between the reading thread and the hashing thread:
/// one being filled, one being hashed, one spare so neither waits on a
/// hand-over. Bounds memory at `CHUNKS * CHUNK_LEN` (192 KiB) whatever the
/// stream length.
const CHUNKS: usize = 3;

/// Something fed every byte of a stream, on whichever thread hashes it.
pub trait StreamHasher: Send {
    /// Feeds `bytes`.
    fn update(&mut self, bytes: &[u8]);
}

impl StreamHasher for Sha256 {
    fn update(&mut self, bytes: &[u8]) {
        Sha256::update(self, bytes);
    }
}

impl<A: StreamHasher, B: StreamHasher> StreamHasher for (A, B) {
    fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
        self.1.update(bytes);
    }
}

/// A fast non-cryptographic checksum (XXH3, 128 bits) of a stream.
///
/// It is **not** a content address: it serves to confirm that a second read
/// of an input yields the bytes a first read hashed with SHA-256, at a small
/// fraction of SHA-256's cost. Any accidental change (an input rewritten
/// between the reads) changes it except with probability 2⁻¹²⁸; unlike
/// SHA-256 it does not resist a change crafted to collide with it.
#[derive(Clone, Default)]
pub struct Fingerprinter {
    state: xxhash_rust::xxh3::Xxh3Default,
}

/// The result of a [`Fingerprinter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(u128);

impl Fingerprinter {
    /// A checksum of nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The checksum of everything fed so far.
    pub fn finish(&self) -> Fingerprint {
        Fingerprint(self.state.digest128())
    }
}

impl StreamHasher for Fingerprinter {
    fn update(&mut self, bytes: &[u8]) {
        self.state.update(bytes);
    }
}

/// Which side of a copy failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// Reading the source failed.
    #[error("reading: {0}")]
    Read(#[source] io::Error),
    /// Writing the destination failed.
    #[error("writing: {0}")]
    Write(#[source] io::Error),
}

/// Copies up to `limit` bytes from `reader` to `writer` (fewer if the
/// reader ends first), feeding every byte to `hasher`. Returns the hasher
/// and how many bytes were copied. `progress` is told the running count
/// after each chunk.
///
/// A copy of at least [`PIPELINE_THRESHOLD`] bytes hashes on a helper thread
/// while this thread reads and writes, through three bounded buffers (768
/// KiB in all), so it takes about as long as the slower of the two; a shorter
/// one runs inline with one buffer no longer than the copy. Pass
/// [`io::sink()`] as `writer` to only hash (the read then overlaps the hash).
pub fn copy_hashing<H: StreamHasher>(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    limit: u64,
    hasher: H,
    progress: &mut dyn FnMut(u64),
) -> Result<(H, u64), CopyError> {
    if limit >= PIPELINE_THRESHOLD {
        copy_pipelined(reader, writer, limit, hasher, progress)
    } else {
        copy_inline(reader, writer, limit, hasher, progress)
    }
}

fn copy_inline<H: StreamHasher>(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    limit: u64,
    mut hasher: H,
    progress: &mut dyn FnMut(u64),
) -> Result<(H, u64), CopyError> {
    let buffer_len = usize::try_from(limit).map_or(CHUNK_LEN, |l| l.clamp(1, CHUNK_LEN));
    let mut buffer = vec![0u8; buffer_len];
    let mut copied = 0u64;
    while copied < limit {
        let n = fill(reader, &mut buffer, limit - copied).map_err(CopyError::Read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        writer.write_all(&buffer[..n]).map_err(CopyError::Write)?;
        copied += n as u64;
        progress(copied);
    }
    Ok((hasher, copied))
}

fn copy_pipelined<H: StreamHasher>(
    reader: &mut dyn Read,
    writer: &mut dyn Write,
    limit: u64,
    mut hasher: H,
    progress: &mut dyn FnMut(u64),
) -> Result<(H, u64), CopyError> {
    // Full buffers go to the hasher; it sends each back once hashed. A
    // buffer is written before it is sent, so the hasher never holds bytes
    // the writer still needs.
    let (to_hasher, full) = mpsc::sync_channel::<(Vec<u8>, usize)>(CHUNKS);
    let (to_reader, empty) = mpsc::sync_channel::<Vec<u8>>(CHUNKS);
    std::thread::scope(|scope| {
        let hashing = scope.spawn(move || {
            for (buffer, n) in full {
                hasher.update(&buffer[..n]);
                // The reader may have stopped (error or end); then the
                // buffer is simply dropped.
                let _ = to_reader.send(buffer);
            }
            hasher
        });
        let mut allocated = 0;
        let mut copied = 0u64;
        let result = loop {
            if copied >= limit {
                break Ok(());
            }
            let mut buffer = if allocated < CHUNKS {
                allocated += 1;
                vec![0u8; CHUNK_LEN]
            } else {
                match empty.recv() {
                    Ok(buffer) => buffer,
                    // The hasher only stops early by panicking; join says so.
                    Err(_) => break Ok(()),
                }
            };
            let n = match fill(reader, &mut buffer, limit - copied) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) => break Err(CopyError::Read(e)),
            };
            if let Err(e) = writer.write_all(&buffer[..n]) {
                break Err(CopyError::Write(e));
            }
            copied += n as u64;
            progress(copied);
            if to_hasher.send((buffer, n)).is_err() {
                break Ok(());
            }
        };
        drop(to_hasher);
        let hasher = hashing
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        result.map(|()| (hasher, copied))
    })
}

/// A stream to hash with [`hash_parallel`], and how many bytes at most to
/// read from it.
pub type HashJob<'a> = (Box<dyn Read + Send + 'a>, u64);

/// Hashes several streams at once, each to its end or its limit, with a
/// hasher from `make`: one thread per core, at most one per stream. Returns
/// each stream's hasher and byte count, in order. `progress` is told a
/// stream's index and running count after each chunk.
///
/// When there is one core, one stream, or little to hash in all (under
/// [`PIPELINE_THRESHOLD`]), no thread is spawned for the streams: each is
/// hashed in turn with [`copy_hashing`] (whose read overlaps its hash when
/// the stream is large).
pub fn hash_parallel<H: StreamHasher>(
    jobs: Vec<HashJob<'_>>,
    make: &(dyn Fn() -> H + Sync),
    progress: &(dyn Fn(usize, u64) + Sync),
) -> Vec<io::Result<(H, u64)>> {
    let hash_one = |index: usize, reader: &mut dyn Read, limit: u64, inline: bool| {
        let mut tell = |n| progress(index, n);
        let result = if inline {
            copy_inline(reader, &mut io::sink(), limit, make(), &mut tell)
        } else {
            copy_hashing(reader, &mut io::sink(), limit, make(), &mut tell)
        };
        result.map_err(|e| match e {
            CopyError::Read(e) | CopyError::Write(e) => e,
        })
    };
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let total = jobs
        .iter()
        .fold(0u64, |total, (_, limit)| total.saturating_add(*limit));
    let workers = cores.min(jobs.len());
    if workers <= 1 || total < PIPELINE_THRESHOLD {
        return jobs
            .into_iter()
            .enumerate()
            .map(|(index, (mut reader, limit))| hash_one(index, &mut reader, limit, false))
            .collect();
    }
    // Workers take the next stream in order; each hashes inline (the cores
    // are busy hashing, a reading thread per stream would only compete).
    let queue = std::sync::Mutex::new(jobs.into_iter().enumerate());
    let mut results: Vec<(usize, io::Result<(H, u64)>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        // A poisoned queue means another worker panicked;
                        // its join below re-raises the panic.
                        let next = match queue.lock() {
                            Ok(mut queue) => queue.next(),
                            Err(_) => None,
                        };
                        let Some((index, (mut reader, limit))) = next else {
                            break done;
                        };
                        done.push((index, hash_one(index, &mut reader, limit, true)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Reads until `buffer` (cut to `limit`) is full or the reader ends;
/// retries on `Interrupted`. Returns how many bytes were read.
fn fill(reader: &mut dyn Read, buffer: &mut [u8], limit: u64) -> io::Result<usize> {
    let want = usize::try_from(limit).map_or(buffer.len(), |l| l.min(buffer.len()));
    let mut filled = 0;
    while filled < want {
        match reader.read(&mut buffer[filled..want]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest_bytes;

    /// Bytes that are not periodic, so a misplaced chunk changes the digest.
    fn pattern(len: usize) -> Vec<u8> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }

    /// A reader that yields at most `step` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn inline_and_pipelined_copies_give_the_bytes_and_the_digest() {
        let threshold = PIPELINE_THRESHOLD as usize;
        for len in [
            0,
            1,
            1000,
            CHUNK_LEN + 3,
            threshold - 1,
            threshold,
            threshold * 2 + 12345,
        ] {
            let input = pattern(len);
            for step in [7777, usize::MAX] {
                let mut out = Vec::new();
                let mut last = 0;
                let (hasher, copied) = copy_hashing(
                    &mut Trickle(&input, step),
                    &mut out,
                    len as u64,
                    (Sha256::new(), Fingerprinter::new()),
                    &mut |n| last = n,
                )
                .unwrap();
                assert_eq!(copied, len as u64, "len {len}");
                assert_eq!(out, input, "len {len}");
                assert_eq!(last, copied, "progress reaches the end");
                assert_eq!(hasher.0.finish(), digest_bytes(&input), "len {len}");
                let mut again = Fingerprinter::new();
                again.update(&input);
                assert_eq!(hasher.1.finish(), again.finish());
            }
        }
    }

    #[test]
    fn a_copy_stops_at_the_limit_and_at_the_end_of_the_reader() {
        let input = pattern(PIPELINE_THRESHOLD as usize + 10);
        let limit = PIPELINE_THRESHOLD + 5;
        let mut out = Vec::new();
        let (hasher, copied) =
            copy_hashing(&mut &input[..], &mut out, limit, Sha256::new(), &mut |_| {}).unwrap();
        assert_eq!(copied, limit);
        assert_eq!(hasher.finish(), digest_bytes(&input[..limit as usize]));

        let short = &input[..100];
        let (_, copied) = copy_hashing(
            &mut &short[..],
            &mut io::sink(),
            limit,
            Sha256::new(),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(copied, 100);
    }

    #[test]
    fn an_interrupted_read_is_retried_inline_and_pipelined() {
        /// Answers `Interrupted` before every read that has data.
        struct Interrupting<'a> {
            input: &'a [u8],
            interrupt: bool,
        }
        impl Read for Interrupting<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if !self.input.is_empty() && std::mem::take(&mut self.interrupt) {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                self.interrupt = true;
                self.input.read(buf)
            }
        }
        for limit in [10, PIPELINE_THRESHOLD * 2] {
            let input = pattern(limit as usize);
            let mut copy = Vec::new();
            let mut reader = Interrupting {
                input: &input,
                interrupt: true,
            };
            let (hasher, copied) =
                copy_hashing(&mut reader, &mut copy, limit, Sha256::new(), &mut |_| {}).unwrap();
            assert_eq!((copied, copy == input), (limit, true));
            assert_eq!(hasher.finish(), crate::digest_bytes(&input));
        }
    }

    #[test]
    fn read_and_write_errors_are_told_apart() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk gone"))
            }
        }
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("pipe gone"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        for limit in [10, PIPELINE_THRESHOLD * 2] {
            let Err(err) = copy_hashing(
                &mut Failing,
                &mut Vec::new(),
                limit,
                Sha256::new(),
                &mut |_| {},
            ) else {
                panic!("a failing reader fails the copy");
            };
            assert!(matches!(err, CopyError::Read(_)), "{err}");
            let input = pattern(limit as usize);
            let Err(err) = copy_hashing(
                &mut &input[..],
                &mut Failing,
                limit,
                Sha256::new(),
                &mut |_| {},
            ) else {
                panic!("a failing writer fails the copy");
            };
            assert!(matches!(err, CopyError::Write(_)), "{err}");
        }
    }

    #[test]
    fn parallel_hashing_gives_each_stream_its_digest_in_order() {
        let inputs: Vec<Vec<u8>> = [PIPELINE_THRESHOLD as usize, 10, 3 * CHUNK_LEN + 1, 0]
            .iter()
            .map(|&len| pattern(len))
            .collect();
        let jobs = inputs
            .iter()
            .map(|input| (Box::new(&input[..]) as Box<dyn Read + Send>, u64::MAX))
            .collect();
        let results = hash_parallel(jobs, &Sha256::new, &|_, _| {});
        assert_eq!(results.len(), inputs.len());
        for (input, result) in inputs.iter().zip(results) {
            let (hasher, len) = result.unwrap();
            assert_eq!(len, input.len() as u64);
            assert_eq!(hasher.finish(), digest_bytes(input));
        }
    }

    #[test]
    fn a_changed_byte_changes_the_fingerprint() {
        let input = pattern(100_000);
        let mut changed = input.clone();
        changed[54_321] ^= 1;
        let print = |bytes: &[u8]| {
            let mut f = Fingerprinter::new();
            f.update(bytes);
            f.finish()
        };
        assert_eq!(print(&input), print(&input.clone()));
        assert_ne!(print(&input), print(&changed));
    }
}
