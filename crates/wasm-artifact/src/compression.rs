//! Compressing a generated tar layer: gzip in parallel blocks (as pigz
//! makes them), zstd, or none; the same bytes on every machine.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, FlushCompress, Status};

/// How a compat image's tar layer is compressed. The media type says which
/// (`application/vnd.oci.image.layer.v1.tar`, `…tar+gzip`, `…tar+zstd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LayerCompression {
    /// An uncompressed tar.
    None,
    /// gzip, level 6 (gzip's and pigz's default), what every registry and
    /// runtime reads: one gzip member, no file name, modification time 0.
    #[default]
    Gzip,
    /// zstd, level 3 (zstd's default), one frame with a checksum.
    Zstd,
}

impl LayerCompression {
    /// The tar layer's media type with this compression.
    pub fn media_type(self) -> &'static str {
        match self {
            LayerCompression::None => crate::media_types::OCI_TAR_LAYER,
            LayerCompression::Gzip => crate::media_types::OCI_TAR_GZIP_LAYER,
            LayerCompression::Zstd => crate::media_types::OCI_TAR_ZSTD_LAYER,
        }
    }
}

impl std::fmt::Display for LayerCompression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LayerCompression::None => "none",
            LayerCompression::Gzip => "gzip",
            LayerCompression::Zstd => "zstd",
        })
    }
}

/// The gzip level: gzip's and pigz's default.
pub(crate) const GZIP_LEVEL: u32 = 6;
/// The zstd level: zstd's default.
pub(crate) const ZSTD_LEVEL: i32 = 3;

/// Input bytes per independently compressed gzip block: pigz's default
/// (`-b 128`). Fixed, so that the output never depends on the thread count.
const BLOCK_LEN: usize = 128 * 1024;
/// Each block is compressed with the previous block's last 32 KiB (the
/// deflate window) as its dictionary, as pigz does, so that splitting costs
/// almost nothing in size.
const DICTIONARY_LEN: usize = 32 * 1024;
/// The gzip header: magic, deflate, no flags (no name, no comment), mtime 0,
/// no extra flags, OS 255 ("unknown", as Go's gzip writer, which Docker and
/// BuildKit use, writes it).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A writer that compresses into `W` (see [`LayerCompression`]).
pub(crate) enum Compressor<W: Write> {
    None(W),
    Gzip(ParallelGzip<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Compressor<W> {
    /// Compresses into `out`; gzip on `threads` threads.
    pub(crate) fn new(
        compression: LayerCompression,
        out: W,
        threads: NonZeroUsize,
    ) -> io::Result<Self> {
        Ok(match compression {
            LayerCompression::None => Compressor::None(out),
            LayerCompression::Gzip => Compressor::Gzip(ParallelGzip::new(out, threads)?),
            LayerCompression::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(out, ZSTD_LEVEL)?;
                encoder.include_checksum(true)?;
                Compressor::Zstd(encoder)
            }
        })
    }

    /// Ends the compressed stream and returns the output.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Compressor::None(out) => Ok(out),
            Compressor::Gzip(gzip) => gzip.finish(),
            Compressor::Zstd(encoder) => encoder.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::None(out) => out.write(buf),
            Compressor::Gzip(gzip) => gzip.write(buf),
            Compressor::Zstd(encoder) => encoder.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        // Flushing mid-stream would change the compressed bytes; the
        // stream is complete only at `finish`.
        Ok(())
    }
}

/// One block to compress: its place, its bytes, the previous block's
/// last 32 KiB, and whether it ends the stream.
struct Job {
    sequence: u64,
    block: Vec<u8>,
    dictionary: Vec<u8>,
    last: bool,
}

/// A compressed block: its place, the raw deflate bytes, the CRC-32 and
/// length of its input.
struct Done {
    sequence: u64,
    deflated: io::Result<Vec<u8>>,
    crc: u32,
    len: u64,
}

/// gzip compression in independent blocks on several threads, as pigz
/// does: the input is cut into 128 KiB blocks, each compressed with the
/// previous block's last 32 KiB as its dictionary and ended with a sync
/// flush (the last with the final block), and the blocks joined in order
/// into one deflate stream under one gzip header; the CRC-32s are
/// combined. Block boundaries and dictionaries depend on the input only,
/// so the bytes are the same on 1 thread or 64, and any gzip reader
/// decodes them. At most a few blocks per thread are held at once.
pub(crate) struct ParallelGzip<W: Write> {
    out: W,
    /// Input not yet sent as a block (less than one block).
    pending: Vec<u8>,
    /// The last 32 KiB of the previous block.
    dictionary: Vec<u8>,
    /// The workers' queue and results, once a second block shows they are
    /// needed (a stream of one block is compressed on the caller's thread).
    jobs: Option<SyncSender<Job>>,
    done: Option<Receiver<Done>>,
    workers: Vec<JoinHandle<()>>,
    threads: usize,
    /// Blocks finished out of order, until the ones before them are.
    finished: BTreeMap<u64, Done>,
    sent: u64,
    written: u64,
    max_in_flight: u64,
    crc: crc32fast::Hasher,
    /// Input bytes compressed so far.
    total_in: u64,
}

impl<W: Write> ParallelGzip<W> {
    /// Compresses into `out` on up to `threads` threads.
    pub(crate) fn new(mut out: W, threads: NonZeroUsize) -> io::Result<Self> {
        out.write_all(&GZIP_HEADER)?;
        let threads = threads.get();
        Ok(ParallelGzip {
            out,
            pending: Vec::with_capacity(BLOCK_LEN),
            dictionary: Vec::new(),
            jobs: None,
            done: None,
            workers: Vec::new(),
            threads,
            finished: BTreeMap::new(),
            sent: 0,
            written: 0,
            max_in_flight: 2 * threads as u64 + 1,
            crc: crc32fast::Hasher::new(),
            total_in: 0,
        })
    }

    /// Starts the worker threads and their queue.
    fn start_workers(&mut self) {
        let (jobs, job_queue) = mpsc::sync_channel::<Job>(self.threads);
        let job_queue = Arc::new(Mutex::new(job_queue));
        let (done_sender, done) = mpsc::channel();
        self.workers = (0..self.threads)
            .map(|_| {
                let job_queue = Arc::clone(&job_queue);
                let done_sender: Sender<Done> = done_sender.clone();
                std::thread::spawn(move || loop {
                    // A poisoned lock means another worker panicked: stop.
                    let job = match job_queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    if done_sender.send(compress_block(job)).is_err() {
                        return;
                    }
                })
            })
            .collect();
        self.done = Some(done);
        self.jobs = Some(jobs);
    }

    /// Sends the pending input as a block.
    fn send(&mut self, last: bool) -> io::Result<()> {
        while self.sent - self.written >= self.max_in_flight {
            self.write_next(true)?;
        }
        let block = std::mem::replace(&mut self.pending, Vec::with_capacity(BLOCK_LEN));
        let dictionary = std::mem::replace(
            &mut self.dictionary,
            block[block.len().saturating_sub(DICTIONARY_LEN)..].to_vec(),
        );
        let job = Job {
            sequence: self.sent,
            block,
            dictionary,
            last,
        };
        if last && self.sent == 0 {
            // The whole stream is one block: no thread is worth starting.
            self.finished.insert(0, compress_block(job));
        } else {
            if self.jobs.is_none() {
                self.start_workers();
            }
            self.jobs
                .as_ref()
                .ok_or_else(worker_gone)?
                .send(job)
                .map_err(|_| worker_gone())?;
        }
        self.sent += 1;
        while self.write_next(false)? {}
        Ok(())
    }

    /// Writes the next block in order if it is done (waiting for it when
    /// `wait`); returns whether one was written.
    fn write_next(&mut self, wait: bool) -> io::Result<bool> {
        loop {
            if let Some(done) = self.finished.remove(&self.written) {
                let deflated = done.deflated?;
                self.out.write_all(&deflated)?;
                self.crc
                    .combine(&crc32fast::Hasher::new_with_initial_len(done.crc, done.len));
                self.total_in += done.len;
                self.written += 1;
                return Ok(true);
            }
            if self.written == self.sent {
                return Ok(false);
            }
            let results = self.done.as_ref().ok_or_else(worker_gone)?;
            let done = if wait {
                results.recv().map_err(|_| worker_gone())?
            } else {
                match results.try_recv() {
                    Ok(done) => done,
                    Err(mpsc::TryRecvError::Empty) => return Ok(false),
                    Err(mpsc::TryRecvError::Disconnected) => return Err(worker_gone()),
                }
            };
            self.finished.insert(done.sequence, done);
        }
    }

    /// Compresses what is left, writes the gzip trailer and returns the
    /// output.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.send(true)?;
        while self.written < self.sent {
            self.write_next(true)?;
        }
        self.jobs = None;
        for worker in self.workers.drain(..) {
            worker
                .join()
                .map_err(|_| io::Error::other("a gzip worker thread panicked"))?;
        }
        let crc = std::mem::replace(&mut self.crc, crc32fast::Hasher::new());
        let len = self.total_in;
        self.out.write_all(&crc.finalize().to_le_bytes())?;
        // ISIZE is the input length modulo 2^32 (RFC 1952).
        self.out.write_all(&(len as u32).to_le_bytes())?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = BLOCK_LEN - self.pending.len();
        let taken = room.min(buf.len());
        self.pending.extend_from_slice(&buf[..taken]);
        if self.pending.len() == BLOCK_LEN {
            self.send(false)?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn worker_gone() -> io::Error {
    io::Error::other("a gzip worker thread stopped")
}

/// Compresses one block into raw deflate, ended by a sync flush (or, the
/// last block, the final block).
fn compress_block(job: Job) -> Done {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&job.block);
    let deflated = deflate_block(&job.block, &job.dictionary, job.last);
    Done {
        sequence: job.sequence,
        deflated,
        crc: crc.finalize(),
        len: job.block.len() as u64,
    }
}

fn deflate_block(block: &[u8], dictionary: &[u8], last: bool) -> io::Result<Vec<u8>> {
    let mut deflate = Compress::new(Compression::new(GZIP_LEVEL), false);
    if !dictionary.is_empty() {
        deflate
            .set_dictionary(dictionary)
            .map_err(io::Error::other)?;
    }
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(block.len() + block.len() / 8 + 64);
    loop {
        let consumed = usize::try_from(deflate.total_in()).map_err(io::Error::other)?;
        let status = deflate
            .compress_vec(&block[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = deflate.total_in() == block.len() as u64;
        let complete = if last {
            status == Status::StreamEnd
        } else {
            // A sync flush is complete when it left output room unused.
            all_in && out.len() < out.capacity()
        };
        if complete {
            return Ok(out);
        }
        out.reserve(out.capacity().max(4096));
    }
}

/// How many threads compress: one per core.
pub(crate) fn default_threads() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::Read;

    /// Bytes that compress somewhat, not trivially.
    fn sample(len: usize) -> Vec<u8> {
        let mut state: u32 = 1;
        (0..len)
            .map(|i| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if i % 7 < 3 {
                    (state >> 24) as u8
                } else {
                    b"(module (func $main))"[i % 21]
                }
            })
            .collect()
    }

    fn gzip(input: &[u8], threads: usize, write_len: usize) -> Vec<u8> {
        let mut gzip = ParallelGzip::new(Vec::new(), NonZeroUsize::new(threads).unwrap()).unwrap();
        for piece in input.chunks(write_len) {
            gzip.write_all(piece).unwrap();
        }
        gzip.finish().unwrap()
    }

    #[test]
    fn gzip_bytes_do_not_depend_on_threads_or_write_sizes_and_decode() {
        for len in [
            0,
            1,
            BLOCK_LEN - 1,
            BLOCK_LEN,
            BLOCK_LEN + 1,
            5 * BLOCK_LEN + 777,
        ] {
            let input = sample(len);
            let one = gzip(&input, 1, 4096);
            assert_eq!(gzip(&input, 3, 1000), one, "{len} bytes");
            assert_eq!(gzip(&input, 8, BLOCK_LEN * 2 + 5), one, "{len} bytes");
            assert_eq!(one[..10], GZIP_HEADER);
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&one[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, input, "{len} bytes");
        }
    }

    /// The format docs/formats.md defines, written out plainly on one
    /// thread: the RFC 1952 header (mtime 0, OS 255), the input cut into
    /// 131072-byte blocks, each deflated at level 6 with the previous
    /// block's last 32768 bytes as its dictionary; every full block ended
    /// by a sync flush, the rest (empty when the input fills its last
    /// block) by the end of the stream; then the CRC-32 (flate2's, not
    /// crc32fast) and the length.
    fn reference_gzip(input: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let full = input.len() / 131_072;
        let mut blocks: Vec<&[u8]> = input.chunks(131_072).take(full).collect();
        blocks.push(&input[full * 131_072..]);
        for (i, block) in blocks.iter().enumerate() {
            let mut deflate = Compress::new(Compression::new(6), false);
            if i > 0 {
                let previous = blocks[i - 1];
                deflate
                    .set_dictionary(&previous[previous.len().saturating_sub(32_768)..])
                    .unwrap();
            }
            let last = i + 1 == blocks.len();
            let mut deflated = Vec::with_capacity(block.len() * 2 + 1024);
            deflate
                .compress_vec(
                    block,
                    &mut deflated,
                    if last {
                        FlushCompress::Finish
                    } else {
                        FlushCompress::Sync
                    },
                )
                .unwrap();
            assert_eq!(deflate.total_in(), block.len() as u64);
            out.extend(deflated);
        }
        let mut crc = flate2::Crc::new();
        crc.update(input);
        out.extend(crc.sum().to_le_bytes());
        out.extend((input.len() as u32).to_le_bytes());
        out
    }

    #[test]
    fn gzip_bytes_are_the_documented_block_format() {
        for len in [0, 1, 131_071, 131_072, 131_073, 3 * 131_072 + 40_000] {
            let input = sample(len);
            assert!(
                gzip(&input, 2, 10_000) == reference_gzip(&input),
                "{len} bytes"
            );
        }
    }

    /// Each compression's name, as messages and summaries show it.
    #[test]
    fn compressions_are_named() {
        for (compression, name) in [
            (LayerCompression::None, "none"),
            (LayerCompression::Gzip, "gzip"),
            (LayerCompression::Zstd, "zstd"),
        ] {
            assert_eq!(compression.to_string(), name);
        }
    }

    #[test]
    fn one_block_starts_no_thread_and_more_do() {
        let mut small = ParallelGzip::new(Vec::new(), NonZeroUsize::new(4).unwrap()).unwrap();
        small.write_all(&sample(1000)).unwrap();
        assert!(small.workers.is_empty());
        let mut large = ParallelGzip::new(Vec::new(), NonZeroUsize::new(4).unwrap()).unwrap();
        large.write_all(&sample(BLOCK_LEN + 1)).unwrap();
        assert_eq!(large.workers.len(), 4);
        assert!(!small.finish().unwrap().is_empty());
    }

    #[test]
    fn zstd_and_none_round_trip() {
        let input = sample(300_000);
        let mut zstd =
            Compressor::new(LayerCompression::Zstd, Vec::new(), NonZeroUsize::MIN).unwrap();
        zstd.write_all(&input).unwrap();
        let zstd = zstd.finish().unwrap();
        assert_eq!(zstd::decode_all(&zstd[..]).unwrap(), input);
        let mut none =
            Compressor::new(LayerCompression::None, Vec::new(), NonZeroUsize::MIN).unwrap();
        none.write_all(&input).unwrap();
        assert_eq!(none.finish().unwrap(), input);
    }
}
