//! A registry repository as an [`ImageSink`].

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use oci_digest::{Digest, Sha256};
use oci_layout::{
    hash_files, holds_blob, index_entry, put_in_order, BlobInput, BlobSource, BytesBlob, FileInput,
    ImageSink, LayoutError, ProgressFn, Reference,
};
use oci_spec::image::{Descriptor, MediaType, Platform};

use crate::client::{encode, Attempt, Body, Client, ClientOptions, Reply};
use crate::{RegistryError, RegistryRef};

/// Opens a blob's bytes from the start, for each attempt to send them.
type Opener<'a> = dyn Fn() -> Result<Box<dyn Read + 'a>, LayoutError> + 'a;

/// How much a push sent and skipped, readable while the sink is boxed
/// away (each field counts up).
#[derive(Debug, Default)]
pub struct PushStats {
    /// Blobs uploaded.
    pub blobs_uploaded: AtomicU64,
    /// Blobs the registry already held (found by HEAD), not sent.
    pub blobs_skipped: AtomicU64,
    /// Blobs mounted from another repository of the registry.
    pub blobs_mounted: AtomicU64,
    /// Bytes of blobs uploaded.
    pub bytes_uploaded: AtomicU64,
    /// Manifests put (one per tag).
    pub manifests_put: AtomicU64,
}

/// Pushes an image into a repository of a registry (OCI distribution spec
/// v1.1), through the [`ImageSink`] seam image code writes to:
///
/// - [`has_blob`](ImageSink::has_blob): `HEAD /v2/NAME/blobs/DIGEST`; a
///   held blob whose `Content-Length` is not the announced size is an
///   error ([`LayoutError::ExistingBlobSize`]);
/// - [`put_blob`](ImageSink::put_blob): unless held (or mounted from
///   another repository given by [`mount_from`](Self::mount_from)),
///   `POST /v2/NAME/blobs/uploads/` then `PUT LOCATION?digest=DIGEST` with
///   `Content-Length` and the bytes streamed from the source (never held in
///   memory), hashed as they go: when the bytes hash to another digest or
///   have another length, the last chunk is withheld and the request
///   broken off, so the registry never receives the whole announced blob;
/// - [`put_file`](ImageSink::put_file): the file is hashed first (so a
///   blob the registry holds is never sent), then put as above with that
///   digest, so its second read is checked against its first;
/// - [`put_manifest`](ImageSink::put_manifest):
///   `PUT /v2/NAME/manifests/TAG` for each tag of the [`RegistryRef`] with
///   the media type as `Content-Type`; the `Docker-Content-Digest` the
///   registry answers must be the manifest's digest.
///
/// Every request is retried on 408, 429 (after its `Retry-After`), 5xx and
/// broken connections within a [`RetryPolicy`](crate::RetryPolicy); a
/// streamed upload starts again from a freshly opened source. A failed
/// push leaves no manifest (manifests come last); uploaded blobs stay,
/// unreferenced, for the registry's garbage collection.
pub struct RegistrySink {
    client: Client,
    /// Chunks of at most this size for every blob, when set.
    max_chunk_size: Option<u64>,
    target: RegistryRef,
    mount_from: Vec<String>,
    progress: Option<ProgressFn>,
    stats: Arc<PushStats>,
}

impl RegistrySink {
    /// Connects to `target`'s registry (`GET /v2/`, authenticating if it
    /// asks) ready to push into its repository.
    pub fn connect(target: RegistryRef, options: ClientOptions) -> Result<Self, RegistryError> {
        let max_chunk_size = options.max_chunk_size.map(|size| size.max(1));
        let mut client = Client::new(&target, options)?;
        client.ping()?;
        Ok(RegistrySink {
            client,
            max_chunk_size,
            target,
            mount_from: Vec::new(),
            progress: None,
            stats: Arc::default(),
        })
    }

    /// Where the image goes.
    pub fn target(&self) -> &RegistryRef {
        &self.target
    }

    /// Repositories of the same registry to mount a missing blob from
    /// before uploading it (`POST …/blobs/uploads/?mount=DIGEST&from=REPO`,
    /// tried in order): 201 means mounted, no bytes sent; 202 means the
    /// registry opened an upload instead: it is cancelled (`DELETE`) while
    /// other repositories are left to try, and after the last the blob is
    /// sent into it. With bearer-token auth, the token asked for then also covers
    /// `repository:REPO:pull` for each.
    pub fn mount_from(&mut self, repositories: Vec<String>) {
        self.client.pull_from(&repositories);
        self.mount_from = repositories;
    }

    /// The counts of this push, shared (they go on counting).
    pub fn stats(&self) -> Arc<PushStats> {
        Arc::clone(&self.stats)
    }

    /// `HEAD` of a blob: its size if the registry holds it.
    fn blob_size(&mut self, digest: &Digest) -> Result<Option<u64>, RegistryError> {
        let url = self.client.url(&format!("blobs/{digest}"));
        let what = format!("blob {digest}");
        self.client.with_retries(&what, |client| {
            let reply = client.send("HEAD", &url, &[], Body::None, &what)?;
            if reply.status == 404 {
                return Ok(None);
            }
            let reply = client.expect(reply, "HEAD", &what, &[200])?;
            let size = reply
                .header("content-length")
                .and_then(|v| v.trim().parse::<u64>().ok());
            match size {
                Some(size) => Ok(Some(size)),
                None => Err(Attempt::from(client.protocol(
                    &what,
                    "HEAD answered 200 without a Content-Length".to_owned(),
                ))),
            }
        })
    }

    /// Tries to mount `digest` from each repository of `mount_from`:
    /// `Mounted`, or the upload a registry opened instead (202), or neither.
    fn try_mount(&mut self, digest: &Digest, what: &str) -> Result<Mount, RegistryError> {
        let repositories = self.mount_from.clone();
        for (n, from) in repositories.iter().enumerate() {
            let url = self.client.url(&format!(
                "blobs/uploads/?mount={}&from={}",
                encode(&digest.to_string()),
                encode(from)
            ));
            let reply = self.client.with_retries(what, |client| {
                let reply = client.send("POST", &url, &[], Body::Bytes(&[]), what)?;
                client.expect(reply, "POST", what, &[201, 202])
            })?;
            if reply.status == 201 {
                return Ok(Mount::Mounted);
            }
            // 202: the registry did not mount and opened an upload instead
            // (as the spec allows). The blob goes into the last such upload;
            // one opened while other repositories are left to try is
            // cancelled (best effort: the registry expires it anyway).
            if let Some(location) = reply.header("location") {
                let location = self.client.resolve(location, what)?;
                if n + 1 == repositories.len() {
                    return Ok(Mount::Opened(location));
                }
                let _ = self.client.send("DELETE", &location, &[], Body::None, what);
            }
        }
        Ok(Mount::Not)
    }

    /// Uploads `size` bytes that must hash to `digest` in one `PUT`,
    /// opening them with `open` for each attempt; the first attempt goes
    /// into the upload `opened` if the registry already opened one. A blob
    /// larger than [`DEFAULT_CHUNK_SIZE`] whose body is broken off midway is
    /// not sent whole again: [`Whole::BrokenMidBody`] (it goes in chunks).
    fn upload(
        &mut self,
        digest: Digest,
        size: u64,
        origin: &str,
        open: &Opener<'_>,
        mut opened: Option<String>,
    ) -> Result<Whole, RegistryError> {
        let what = format!("blob {digest} ({origin})");
        let start_url = self.client.url("blobs/uploads/");
        let progress = self.progress.clone();
        self.client.with_retries(&what, |client| {
            let location = match opened.take() {
                Some(location) => location,
                None => {
                    let reply = client.send("POST", &start_url, &[], Body::Bytes(&[]), &what)?;
                    let reply = client.expect(reply, "POST", &what, &[202])?;
                    let location = reply.header("location").ok_or_else(|| {
                        Attempt::from(
                            client
                                .protocol(&what, "POST answered 202 without a Location".to_owned()),
                        )
                    })?;
                    client.resolve(location, &what)?
                }
            };
            let separator = if location.contains('?') { '&' } else { '?' };
            let url = format!(
                "{location}{separator}digest={}",
                encode(&digest.to_string())
            );
            let source = open().map_err(|e| Attempt::from(RegistryError::Source(e)))?;
            let mut reader = CheckedReader {
                inner: source,
                size,
                sent: 0,
                hasher: Some(Sha256::new()),
                expected: digest,
                origin,
                failure: None,
                progress: progress.as_ref(),
            };
            let sent = client.send(
                "PUT",
                &url,
                &[("Content-Type", "application/octet-stream")],
                Body::Stream(&mut reader, size),
                &what,
            );
            if let Some(failure) = reader.failure.take() {
                return Err(Attempt::from(RegistryError::Source(failure)));
            }
            match sent {
                // The connection broke while the body went: as a proxy that
                // caps request sizes may break it instead of answering 413.
                Err(attempt)
                    if reader.sent > 0
                        && size > DEFAULT_CHUNK_SIZE
                        && matches!(*attempt.error, RegistryError::Transport { .. }) =>
                {
                    Ok(Whole::BrokenMidBody)
                }
                sent => client
                    .expect(sent?, "PUT", &what, &[201])
                    .map(|_| Whole::Sent),
            }
        })
    }

    /// Uploads `size` bytes that must hash to `digest` in chunks of at most
    /// `chunk` bytes: `PATCH`es with `Content-Range`, then `PUT ?digest=`.
    /// A chunk that fails (a broken connection, a 5xx) is resumed from
    /// where the registry says the upload stands (`GET` of the upload, its
    /// `Range`), the source read again up to there; a chunk refused as too
    /// large (413) is halved, down to the registry's minimum.
    fn upload_chunked(
        &mut self,
        digest: Digest,
        size: u64,
        origin: &str,
        open: &Opener<'_>,
        chunk: u64,
        opened: Option<String>,
    ) -> Result<(), RegistryError> {
        let what = format!("blob {digest} ({origin})");
        let start_url = self.client.url("blobs/uploads/");
        let progress = self.progress.clone();
        let (mut location, min_chunk) = match opened {
            Some(location) => (location, 1),
            None => self.client.with_retries(&what, |client| {
                let reply = client.send("POST", &start_url, &[], Body::Bytes(&[]), &what)?;
                let reply = client.expect(reply, "POST", &what, &[202])?;
                let min = reply
                    .header("oci-chunk-min-length")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .unwrap_or(1)
                    .max(1);
                Ok((next_location(client, &reply, &what)?, min))
            })?,
        };
        let mut chunk = chunk.max(min_chunk);
        let mut reader: Option<CheckedReader<'_, '_>> = None;
        // Where the registry's upload stands (bytes received).
        let mut offset = 0u64;
        // Whether the last request may have left the upload elsewhere.
        let mut unsure = false;
        loop {
            let step = self.client.with_retries(&what, |client| {
                if unsure {
                    let reply = client.send("GET", &location, &[], Body::None, &what)?;
                    let reply = client.expect(reply, "GET", &what, &[204])?;
                    offset = received(&reply);
                    if reply.header("location").is_some() {
                        location = next_location(client, &reply, &what)?;
                    }
                    unsure = false;
                }
                if reader.as_ref().is_none_or(|r| r.sent != offset) {
                    let fresh = CheckedReader::open(open, size, digest, origin, progress.as_ref())
                        .and_then(|mut fresh| fresh.skip(offset).map(|()| fresh))
                        .map_err(|e| Attempt::from(RegistryError::Source(e)))?;
                    reader = Some(fresh);
                }
                let Some(source) = reader.as_mut() else {
                    unreachable!("opened above");
                };
                if offset == size {
                    let separator = if location.contains('?') { '&' } else { '?' };
                    let url = format!(
                        "{location}{separator}digest={}",
                        encode(&digest.to_string())
                    );
                    unsure = true;
                    let reply = client.send("PUT", &url, &[], Body::Bytes(&[]), &what)?;
                    client.expect(reply, "PUT", &what, &[201])?;
                    return Ok(Chunk::Done);
                }
                let len = chunk.min(size - offset);
                let range = format!("{offset}-{}", offset + len - 1);
                unsure = true;
                let sent = client.send(
                    "PATCH",
                    &location,
                    &[
                        ("Content-Type", "application/octet-stream"),
                        ("Content-Range", &range),
                    ],
                    Body::Stream(&mut source.by_ref().take(len), len),
                    &what,
                );
                if let Some(failure) = source.failure.take() {
                    return Err(Attempt::from(RegistryError::Source(failure)));
                }
                let reply = sent?;
                if reply.status == 413 && chunk / 2 >= min_chunk {
                    return Ok(Chunk::TooLarge);
                }
                let reply = client.expect(reply, "PATCH", &what, &[202])?;
                location = next_location(client, &reply, &what)?;
                offset += len;
                // A registry that says it holds other bytes is asked again
                // (`0-0`, which may mean one byte, is not doubted).
                let held = received(&reply);
                unsure = held != 0 && held != offset;
                Ok(Chunk::Sent)
            })?;
            match step {
                Chunk::Done => return Ok(()),
                Chunk::Sent => {}
                Chunk::TooLarge => chunk /= 2,
            }
        }
    }

    /// Puts a blob known by digest and size, read with `open`.
    fn put_known(
        &mut self,
        digest: Digest,
        size: u64,
        origin: &str,
        open: &Opener<'_>,
    ) -> Result<bool, RegistryError> {
        if self.has(&digest, size)? {
            self.stats.blobs_skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(false);
        }
        let what = format!("blob {digest} ({origin})");
        let opened = match self.try_mount(&digest, &what)? {
            Mount::Mounted => {
                self.stats.blobs_mounted.fetch_add(1, Ordering::Relaxed);
                return Ok(false);
            }
            Mount::Opened(location) => Some(location),
            Mount::Not => None,
        };
        match self.max_chunk_size {
            Some(chunk) => self.upload_chunked(digest, size, origin, open, chunk, opened)?,
            None => match self.upload(digest, size, origin, open, opened) {
                Ok(Whole::Sent) => {}
                // The registry caps the size of a request (or the connection
                // broke midway, which chunks resume from): chunks then.
                Ok(Whole::BrokenMidBody) | Err(RegistryError::Status { status: 413, .. }) => {
                    self.upload_chunked(digest, size, origin, open, DEFAULT_CHUNK_SIZE, None)?
                }
                Err(other) => return Err(other),
            },
        }
        self.stats.blobs_uploaded.fetch_add(1, Ordering::Relaxed);
        self.stats.bytes_uploaded.fetch_add(size, Ordering::Relaxed);
        Ok(true)
    }

    fn has(&mut self, digest: &Digest, size: u64) -> Result<bool, RegistryError> {
        let held = self.blob_size(digest)?;
        holds_blob(digest, size, held).map_err(RegistryError::Source)
    }

    /// `PUT` of the manifest under `tag`, checking the registry's digest.
    fn put_manifest_tag(
        &mut self,
        manifest: &BytesBlob,
        media_type: &str,
        tag: &str,
    ) -> Result<(), RegistryError> {
        let url = self.client.url(&format!("manifests/{tag}"));
        let what = format!("manifest {tag}");
        let reply = self.client.with_retries(&what, |client| {
            let reply = client.send(
                "PUT",
                &url,
                &[("Content-Type", media_type)],
                Body::Bytes(manifest.bytes()),
                &what,
            )?;
            client.expect(reply, "PUT", &what, &[200, 201])
        })?;
        let expected = manifest.digest();
        match reply.header("docker-content-digest") {
            Some(found) if found.trim() != expected.to_string() => {
                Err(RegistryError::ManifestDigest {
                    registry: self.client.registry().to_owned(),
                    tag: tag.to_owned(),
                    expected,
                    found: found.trim().to_owned(),
                })
            }
            _ => Ok(()),
        }
    }
}

impl ImageSink for RegistrySink {
    fn has_blob(&mut self, digest: &Digest, size: u64) -> Result<bool, LayoutError> {
        Ok(self.has(digest, size)?)
    }

    fn put_blob(&mut self, blob: &dyn BlobSource) -> Result<bool, LayoutError> {
        let origin = blob.origin().into_owned();
        let open = || {
            blob.open().map_err(|source| LayoutError::ReadSource {
                origin: origin.clone(),
                source,
            })
        };
        Ok(self.put_known(blob.digest(), blob.size(), &origin, &open)?)
    }

    fn put_file(&mut self, file: &FileInput) -> Result<Digest, LayoutError> {
        if file.digest().is_none() {
            hash_files(&[file], self.progress.as_ref())?;
        }
        let Some(digest) = file.digest() else {
            unreachable!("hash_files gives every file its digest or fails");
        };
        let origin = file.path().display().to_string();
        let open = || -> Result<Box<dyn Read + '_>, LayoutError> {
            Ok(Box::new(CheckedFile {
                file,
                reader: file.reopen()?,
            }))
        };
        self.put_known(digest, file.size(), &origin, &open)?;
        Ok(digest)
    }

    /// Hashes every file first, several at once, then puts each in order.
    fn put_inputs(&mut self, inputs: &[&BlobInput]) -> Result<Vec<Digest>, LayoutError> {
        hash_files(&BlobInput::files(inputs), self.progress.as_ref())?;
        put_in_order(self, inputs)
    }

    /// Each file is hashed, then (unless the registry holds it) sent.
    fn reads_of_each_file(&self) -> u64 {
        2
    }

    fn on_progress(&mut self, progress: ProgressFn) {
        self.progress = Some(progress);
    }

    /// A manifest an index lists is put under its digest.
    fn put_listed_manifest(
        &mut self,
        manifest: &BytesBlob,
        media_type: MediaType,
    ) -> Result<(), LayoutError> {
        let digest = manifest.digest().to_string();
        self.put_manifest_tag(manifest, media_type.as_ref(), &digest)?;
        self.stats.manifests_put.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn put_manifest(
        &mut self,
        manifest: &BytesBlob,
        media_type: MediaType,
        reference: &Reference,
        platform: Option<Platform>,
    ) -> Result<Descriptor, LayoutError> {
        let tags = if self.target.tags().is_empty() {
            vec![reference.tag().to_owned()]
        } else {
            self.target.tags().to_vec()
        };
        let media = media_type.to_string();
        for tag in &tags {
            self.put_manifest_tag(manifest, &media, tag)?;
            self.stats.manifests_put.fetch_add(1, Ordering::Relaxed);
        }
        Ok(index_entry(manifest, media_type, reference, platform))
    }
}

/// The chunk size used when a registry refuses a whole blob in one
/// request as too large (413), and no chunk size was set.
pub const DEFAULT_CHUNK_SIZE: u64 = 4 * 1024 * 1024;

/// What a whole-blob upload came to.
enum Whole {
    /// The registry holds the blob.
    Sent,
    /// The connection broke while the body was being sent.
    BrokenMidBody,
}

/// What one step of a chunked upload came to.
enum Chunk {
    /// A chunk went in.
    Sent,
    /// The registry refused the chunk as too large (413).
    TooLarge,
    /// The upload is complete.
    Done,
}

/// The upload's next `Location` in `reply` (the spec requires one).
fn next_location(client: &Client, reply: &Reply, what: &str) -> Result<String, Attempt> {
    let location = reply.header("location").ok_or_else(|| {
        Attempt::from(client.protocol(
            what,
            format!("HTTP {} without the upload's Location", reply.status),
        ))
    })?;
    Ok(client.resolve(location, what)?)
}

/// How many bytes an upload holds, from its `Range: 0-LAST` (none: 0).
/// The distribution registry says `0-0` for an empty upload too; it is
/// taken as empty (a resumed chunk then starts at the blob's first byte).
fn received(reply: &Reply) -> u64 {
    reply
        .header("range")
        .map(|range| range.trim())
        .map(|range| range.strip_prefix("bytes=").unwrap_or(range))
        .and_then(|range| range.split_once('-'))
        .and_then(|(_, last)| last.trim().parse::<u64>().ok())
        .map_or(0, |last| if last == 0 { 0 } else { last + 1 })
}

/// What asking to mount a blob came to.
enum Mount {
    /// The registry mounted it (201).
    Mounted,
    /// The registry opened an upload at this URL instead (202).
    Opened(String),
    /// No repository to mount from.
    Not,
}

/// A [`FileInput`]'s reader that, at its end, checks the file is as it was
/// when opened.
struct CheckedFile<'a> {
    file: &'a FileInput,
    reader: std::fs::File,
}

impl Read for CheckedFile<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.reader.read(buf)?;
        if read == 0 && !buf.is_empty() {
            self.file
                .check_unchanged(&self.reader)
                .map_err(io::Error::other)?;
        }
        Ok(read)
    }
}

/// Yields exactly `size` bytes of `inner`, hashing them; when they do not
/// hash to `expected` (or `inner` yields fewer or more), the read that
/// would complete the body fails instead, so the bytes that would complete
/// a wrong blob are never sent. The reason is kept in `failure`.
struct CheckedReader<'a, 'b> {
    inner: Box<dyn Read + 'b>,
    size: u64,
    sent: u64,
    hasher: Option<Sha256>,
    expected: Digest,
    origin: &'a str,
    failure: Option<LayoutError>,
    progress: Option<&'a ProgressFn>,
}

impl<'a, 'b> CheckedReader<'a, 'b> {
    /// The blob's bytes from the start, checked.
    fn open(
        open: &Opener<'b>,
        size: u64,
        expected: Digest,
        origin: &'a str,
        progress: Option<&'a ProgressFn>,
    ) -> Result<Self, LayoutError> {
        Ok(CheckedReader {
            inner: open()?,
            size,
            sent: 0,
            hasher: Some(Sha256::new()),
            expected,
            origin,
            failure: None,
            progress,
        })
    }

    /// Reads (and hashes) the first `count` bytes without sending them: the
    /// part of the blob the registry already holds.
    fn skip(&mut self, count: u64) -> Result<(), LayoutError> {
        let copied = io::copy(&mut self.by_ref().take(count), &mut io::sink());
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        match copied {
            Ok(n) if n == count => Ok(()),
            Ok(n) => Err(LayoutError::SizeMismatch {
                origin: self.origin.to_owned(),
                expected: self.size,
                found: n,
            }),
            Err(e) => Err(LayoutError::reading(self.origin, e)),
        }
    }

    fn fail(&mut self, error: LayoutError) -> io::Error {
        let shown = io::Error::other(error.to_string());
        self.failure = Some(error);
        shown
    }

    fn read_error(&mut self, error: io::Error) -> io::Error {
        // A FileInput's own error (it changed) travels inside the I/O error.
        let layout = LayoutError::reading(self.origin, error);
        self.fail(layout)
    }

    /// After the last byte: nothing more may follow, and the digest must match.
    fn check_end(&mut self) -> Result<(), io::Error> {
        let mut probe = [0u8; 1];
        match self.inner.read(&mut probe) {
            Ok(0) => {}
            Ok(_) => {
                return Err(self.fail(LayoutError::SizeMismatch {
                    origin: self.origin.to_owned(),
                    expected: self.size,
                    found: self.size + 1,
                }))
            }
            Err(e) => return Err(self.read_error(e)),
        }
        let found = self.hasher.take().map(Sha256::finish);
        match found {
            Some(found) if found != self.expected => Err(self.fail(LayoutError::SourceChanged {
                origin: self.origin.to_owned(),
                expected: self.expected,
                found,
            })),
            _ => Ok(()),
        }
    }
}

impl Read for CheckedReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::other("the blob's source failed"));
        }
        if self.sent == self.size {
            if self.hasher.is_some() {
                self.check_end()?;
            }
            return Ok(0);
        }
        let room = usize::try_from(self.size - self.sent).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        let read = match self.inner.read(&mut buf[..want]) {
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => return Err(self.read_error(e)),
        };
        if read == 0 && want > 0 {
            return Err(self.fail(LayoutError::SizeMismatch {
                origin: self.origin.to_owned(),
                expected: self.size,
                found: self.sent,
            }));
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..read]);
        }
        self.sent += read as u64;
        if self.sent == self.size {
            // Withhold the last bytes unless the whole blob is right.
            self.check_end()?;
        }
        if let Some(progress) = self.progress {
            progress(self.origin, self.sent, self.size);
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use oci_digest::digest_bytes;

    fn checked<'a>(bytes: &'a [u8], size: u64, expected: Digest) -> CheckedReader<'a, 'a> {
        CheckedReader {
            inner: Box::new(bytes),
            size,
            sent: 0,
            hasher: Some(Sha256::new()),
            expected,
            origin: "test",
            failure: None,
            progress: None,
        }
    }

    #[test]
    fn the_last_chunk_is_withheld_when_the_bytes_are_wrong() {
        let good = b"hello world";
        let mut out = Vec::new();
        checked(good, 11, digest_bytes(good))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, good);

        let mut reader = checked(b"hello WORLD", 11, digest_bytes(good));
        let mut buf = [0u8; 64];
        assert!(
            reader.read(&mut buf).is_err(),
            "a wrong blob's bytes must not all pass"
        );
        assert!(matches!(
            reader.failure,
            Some(LayoutError::SourceChanged { .. })
        ));

        let mut longer = checked(b"hello world!", 11, digest_bytes(good));
        assert!(longer.read_to_end(&mut Vec::new()).is_err());
        assert!(matches!(
            longer.failure,
            Some(LayoutError::SizeMismatch { found: 12, .. })
        ));

        let mut shorter = checked(b"hello", 11, digest_bytes(good));
        assert!(shorter.read_to_end(&mut Vec::new()).is_err());
        assert!(matches!(
            shorter.failure,
            Some(LayoutError::SizeMismatch { found: 5, .. })
        ));

        let mut empty = checked(b"", 0, digest_bytes(b""));
        assert_eq!(empty.read(&mut buf).unwrap(), 0);
        assert!(empty.failure.is_none());
    }

    #[test]
    fn a_read_into_an_empty_buffer_is_not_the_end_of_the_source() {
        let good = b"hello world";
        let mut reader = checked(good, 11, digest_bytes(good));
        let mut start = [0u8; 5];
        assert_eq!(reader.read(&mut start).unwrap(), 5);
        assert_eq!(reader.read(&mut []).unwrap(), 0);
        assert!(reader.failure.is_none());
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b" world");
    }

    /// Yields at most 4 bytes a read.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(4).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn no_more_than_the_size_passes_from_a_longer_source_read_in_pieces() {
        let good = b"hello world";
        let mut reader = checked(b"", 11, digest_bytes(good));
        reader.inner = Box::new(Trickle(b"hello world!"));
        let mut passed = 0;
        let mut buf = [0u8; 64];
        while let Ok(n) = reader.read(&mut buf) {
            assert!(n > 0, "the end of a longer source must be an error");
            passed += n;
        }
        // 4 + 4, then the read that would complete the 11 bytes fails: the
        // body is never whole, let alone longer.
        assert_eq!(passed, 8);
        assert!(matches!(
            reader.failure,
            Some(LayoutError::SizeMismatch { found: 12, .. })
        ));
    }
}
