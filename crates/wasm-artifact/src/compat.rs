//! The compat image's layer: the wasm file in an ordinary tar, compressed.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::num::NonZeroUsize;

use oci_digest::{Digest, DigestReader, DigestWriter};
use oci_layout::{BlobInput, BlobSource};

use crate::compression::Compressor;
use crate::{ArtifactError, LayerCompression};

/// The wasm file's mode in the layer: executable, as WasmEdge's examples
/// and `COPY --chmod=755` make it (crun's wasm handlers and runwasi's
/// shims do not need the bit; a runtime that checks it does).
pub(crate) const WASM_FILE_MODE: u32 = 0o755;

/// Buffer between the compressor and the temporary file.
const FILE_BUFFER_LEN: usize = 256 * 1024;

/// A compat image's layer, made and held in a temporary file: a tar with
/// one entry, `<name>.wasm` (mode 0755, uid and gid 0, modification time
/// 0, no user or group names), compressed.
///
/// Both digests are needed before the manifest is written: the
/// uncompressed tar's (the config's `rootfs.diff_ids`) and the compressed
/// blob's. The tar is made once, streamed through both hashers and the
/// compressor into an unnamed temporary file (in the temporary folder,
/// `$TMPDIR`; it has no name, so nothing is left behind however the process
/// ends), then written to the destination as a blob of known digest. Memory stays flat (a few blocks
/// per compressing thread); the disk holds the compressed layer once.
/// Making the layer twice instead (once to hash, once to write) would
/// need no disk but double the compression, the costly part.
pub(crate) struct CompatLayer {
    file: File,
    origin: String,
    diff_id: Digest,
    digest: Digest,
    size: u64,
    compression: LayerCompression,
}

impl CompatLayer {
    /// Makes the layer holding `wasm` as `file_name`, compressed with
    /// `compression` on `threads` threads.
    pub(crate) fn make(
        wasm: &BlobInput,
        file_name: &str,
        compression: LayerCompression,
        threads: NonZeroUsize,
    ) -> Result<Self, ArtifactError> {
        let origin = wasm.origin().into_owned();
        let failed = |source: io::Error| ArtifactError::CompatLayer {
            origin: origin.clone(),
            source,
        };
        let file = tempfile::tempfile().map_err(failed)?;
        let out = BufWriter::with_capacity(FILE_BUFFER_LEN, file.try_clone().map_err(failed)?);
        let compressed = DigestWriter::new(out);
        let compressor = Compressor::new(compression, compressed, threads).map_err(failed)?;
        let mut tar = tar::Builder::new(DigestWriter::new(compressor));

        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(wasm.size());
        header.set_mode(WASM_FILE_MODE);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        let mut reader = DigestReader::new(wasm.open().map_err(failed)?.take(wasm.size()));
        // `append_data` writes a GNU long-name entry first for names over
        // 100 bytes; it pads after however many bytes the reader gave,
        // which is checked below.
        tar.append_data(&mut header, file_name, &mut reader)
            .map_err(failed)?;
        let (wasm_digest, read, mut rest) = reader.finish();
        let mut extra = [0u8; 1];
        let longer = rest.get_mut().read(&mut extra).map_err(failed)? > 0;
        if read != wasm.size() || longer {
            return Err(failed(io::Error::other(format!(
                "it changed while being packaged: {} bytes, then {}{}",
                wasm.size(),
                if longer { "more than " } else { "" },
                read
            ))));
        }
        check_wasm_digest(wasm, wasm_digest)?;

        let uncompressed = tar.into_inner().map_err(failed)?;
        let (diff_id, _, compressor) = uncompressed.finish();
        let compressed = compressor.finish().map_err(failed)?;
        let (digest, size, mut out) = compressed.finish();
        out.flush().map_err(failed)?;
        Ok(CompatLayer {
            file,
            origin,
            diff_id,
            digest,
            size,
            compression,
        })
    }

    /// The uncompressed tar's digest (the config's `rootfs.diff_ids`).
    pub(crate) fn diff_id(&self) -> Digest {
        self.diff_id
    }

    /// The layer's media type.
    pub(crate) fn media_type(&self) -> &'static str {
        self.compression.media_type()
    }
}

/// Fails unless the wasm bytes put in the layer are the ones described
/// (and, for a file, the ones any other image of this run wrote).
fn check_wasm_digest(wasm: &BlobInput, digest: Digest) -> Result<(), ArtifactError> {
    match wasm {
        BlobInput::File(file) => Ok(file.record_digest(digest)?),
        BlobInput::Source(source) if source.digest() == digest => Ok(()),
        BlobInput::Source(source) => Err(ArtifactError::CompatLayer {
            origin: source.origin().into_owned(),
            source: io::Error::other(format!(
                "its bytes hash to {digest}, not to {}",
                source.digest()
            )),
        }),
    }
}

impl BlobSource for CompatLayer {
    fn digest(&self) -> Digest {
        self.digest
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn origin(&self) -> Cow<'_, str> {
        Cow::Owned(format!("the compat layer of {}", self.origin))
    }

    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(PositionalReader {
            file: &self.file,
            at: 0,
        }))
    }
}

/// Reads a file from its start with positional reads, so that readers of
/// one file (which share its offset) never move each other.
struct PositionalReader<'a> {
    file: &'a File,
    at: u64,
}

impl Read for PositionalReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        let read = std::os::unix::fs::FileExt::read_at(self.file, buf, self.at)?;
        #[cfg(windows)]
        let read = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.at)?;
        self.at += read as u64;
        Ok(read)
    }
}
