use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use sha2::Digest as _;

use crate::Digest;

/// An incremental SHA-256 hasher that also counts the bytes it has seen.
#[derive(Clone, Default)]
pub struct Sha256 {
    hasher: sha2::Sha256,
    len: u64,
}

impl Sha256 {
    /// A hasher that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds `bytes` to the hash.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        // usize always fits in u64 on the platforms Rust supports.
        self.len += bytes.len() as u64;
    }

    /// How many bytes have been fed so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing has been fed yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        Digest::from_sha256_bytes(self.hasher.finalize().into())
    }
}

/// The digest of a byte slice.
pub fn digest_bytes(bytes: &[u8]) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    hasher.finish()
}

/// Size of the buffer used when hashing a stream.
const BUFFER_LEN: usize = 256 * 1024;

/// The digest and length of everything `reader` yields, read in fixed-size
/// chunks (memory use does not grow with the input).
pub fn digest_reader<R: Read>(mut reader: R) -> io::Result<(Digest, u64)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER_LEN];
    loop {
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let len = hasher.len();
    Ok((hasher.finish(), len))
}

/// The digest and length of a file's contents, streamed.
pub fn digest_file(path: &Path) -> io::Result<(Digest, u64)> {
    digest_reader(File::open(path)?)
}

/// A reader that hashes and counts every byte read through it.
pub struct DigestReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> DigestReader<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        DigestReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// How many bytes have been read so far.
    pub fn len(&self) -> u64 {
        self.hasher.len()
    }

    /// Whether nothing has been read yet.
    pub fn is_empty(&self) -> bool {
        self.hasher.is_empty()
    }

    /// The digest and count of the bytes read, and the inner reader.
    pub fn finish(self) -> (Digest, u64, R) {
        let len = self.hasher.len();
        (self.hasher.finish(), len, self.inner)
    }
}

impl<R: Read> Read for DigestReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// A writer that hashes and counts every byte written through it.
pub struct DigestWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> DigestWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        DigestWriter {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// How many bytes have been written so far.
    pub fn len(&self) -> u64 {
        self.hasher.len()
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.hasher.is_empty()
    }

    /// The digest and count of the bytes written, and the inner writer.
    pub fn finish(self) -> (Digest, u64, W) {
        let len = self.hasher.len();
        (self.hasher.finish(), len, self.inner)
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers from FIPS 180-2 / NIST test vectors.
    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC: &str = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    /// "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" (two blocks).
    const TWO_BLOCKS: &str =
        "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
    /// One million times "a".
    const MILLION_A: &str =
        "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

    #[test]
    fn known_answers() {
        assert_eq!(digest_bytes(b"").to_string(), EMPTY);
        assert_eq!(digest_bytes(b"abc").to_string(), ABC);
        assert_eq!(
            digest_bytes(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").to_string(),
            TWO_BLOCKS
        );
    }

    #[test]
    fn reader_over_many_buffers_matches_known_answer() {
        let input = vec![b'a'; 1_000_000];
        let (digest, len) = digest_reader(&input[..]).unwrap();
        assert_eq!(digest.to_string(), MILLION_A);
        assert_eq!(len, 1_000_000);
    }

    #[test]
    fn digest_reader_and_writer_hash_what_passes_through() {
        let input = vec![b'a'; 1_000_000];
        let mut reader = DigestReader::new(&input[..]);
        let mut writer = DigestWriter::new(Vec::new());
        io::copy(&mut reader, &mut writer).unwrap();
        let (read_digest, read_len, _) = reader.finish();
        let (written_digest, written_len, copy) = writer.finish();
        assert_eq!(read_digest.to_string(), MILLION_A);
        assert_eq!(written_digest, read_digest);
        assert_eq!((read_len, written_len), (1_000_000, 1_000_000));
        assert_eq!(copy, input);
    }

    #[test]
    fn lengths_count_every_byte_fed_or_read() {
        let mut hasher = Sha256::new();
        assert!(hasher.is_empty());
        hasher.update(b"");
        assert!(hasher.is_empty());
        hasher.update(b"ab");
        hasher.update(b"c");
        assert!(!hasher.is_empty());
        assert_eq!(hasher.len(), 3);

        let mut reader = DigestReader::new(&b"abcde"[..]);
        assert!(reader.is_empty());
        assert_eq!(reader.len(), 0);
        let mut two = [0u8; 2];
        reader.read_exact(&mut two).unwrap();
        assert!(!reader.is_empty());
        assert_eq!(reader.len(), 2);
        io::copy(&mut reader, &mut io::sink()).unwrap();
        assert_eq!(reader.len(), 5);
    }

    /// Records how often it was flushed.
    #[derive(Default)]
    struct Flushes(usize);

    impl Write for Flushes {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.0 += 1;
            Ok(())
        }
    }

    #[test]
    fn digest_writer_counts_what_it_wrote_and_passes_flush_on() {
        let mut writer = DigestWriter::new(Flushes::default());
        assert!(writer.is_empty());
        assert_eq!(writer.len(), 0);
        writer.write_all(b"ab").unwrap();
        writer.write_all(b"c").unwrap();
        assert!(!writer.is_empty());
        assert_eq!(writer.len(), 3);
        writer.flush().unwrap();
        let (digest, len, inner) = writer.finish();
        assert_eq!((digest.to_string().as_str(), len, inner.0), (ABC, 3, 1));
    }

    /// Yields `Interrupted` before each chunk of its input, then, when
    /// set, ends with an error of another kind.
    struct Flaky<'a> {
        chunks: std::slice::Chunks<'a, u8>,
        interrupt_next: bool,
        fail_at_end: bool,
    }

    impl Read for Flaky<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if std::mem::take(&mut self.interrupt_next) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            self.interrupt_next = true;
            match self.chunks.next() {
                Some(chunk) => {
                    buf[..chunk.len()].copy_from_slice(chunk);
                    Ok(chunk.len())
                }
                None if self.fail_at_end => Err(io::ErrorKind::BrokenPipe.into()),
                None => Ok(0),
            }
        }
    }

    #[test]
    fn digest_reader_retries_an_interrupted_read_and_stops_at_any_other_error() {
        let flaky = |fail_at_end| Flaky {
            chunks: b"abc".chunks(1),
            interrupt_next: true,
            fail_at_end,
        };
        let (digest, len) = digest_reader(flaky(false)).unwrap();
        assert_eq!((digest.to_string().as_str(), len), (ABC, 3));
        let error = digest_reader(flaky(true)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn digest_file_streams_a_file() {
        let dir = std::env::temp_dir().join(format!("oci-digest-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("abc");
        std::fs::write(&path, b"abc").unwrap();
        let (digest, len) = digest_file(&path).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((digest.to_string().as_str(), len), (ABC, 3));
    }
}
