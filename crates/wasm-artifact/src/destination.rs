//! Where images go, and what finishes them there.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use docker_compat::{manifest_json, DockerImage, MANIFEST_JSON};
use oci_layout::{
    BlobSource, BytesBlob, ImageSink, LayoutDir, LayoutTar, PendingFile, WritebackFile,
};
use oci_spec::image::{Descriptor, MediaType};

use crate::{write_index_with, ArtifactError, ImageShape, WasmImage, WrittenImage, WrittenIndex};

/// Buffer between a tar and its file or stream: gathers the headers and
/// small blobs into writes of this size, while a large blob's chunks (as
/// large) go straight through, uncopied; small against the memory goal.
const OUTPUT_BUFFER_LEN: usize = 64 * 1024;

/// A finished image destination: an image tar file, a tar stream, or an OCI
/// image layout directory. [`write`](Self::write) puts images there and
/// [`finish`](Self::finish) completes it:
///
/// - a **tar** gets the OCI image layout and, beside it, Docker's
///   `manifest.json` listing every image written; a tar **file** is written
///   in its folder where no one sees it (without a name on Linux, else
///   under a temporary one; each input read once, hashed as it is
///   written), synced and put in place by `finish`, so the path never holds
///   a partial tar; a **stream** (stdout) has its inputs hashed
///   first, then copied;
/// - a **directory** is created or added to (see
///   [`LayoutDir`](oci_layout::LayoutDir)): the same blobs and, for a new
///   directory, the same `index.json` as the tar;
/// - any **other sink** ([`Destination::sink_of`]), such as a registry
///   (the `oci-registry` crate's `RegistrySink`): written through the same
///   seam; what it holds is complete once each image is written, so
///   finishing it does nothing more.
///
/// For one image, [`WasmImage::write_tar_file`] and
/// [`WasmImage::write_oci_dir`] do all of this in one call.
pub struct Destination {
    target: Target,
    /// What Docker's `manifest.json` lists, for a tar.
    docker: Vec<DockerImage>,
}

enum Target {
    TarFile {
        layout: LayoutTar<BufWriter<WritebackFile>>,
        file: PendingFile,
    },
    TarStream(LayoutTar<Box<dyn Write>>),
    /// A tar written nowhere, each input read once (a seekable output that
    /// keeps nothing).
    Nowhere(LayoutTar<io::Empty>),
    Dir(LayoutDir),
    Sink(Box<dyn ImageSink>),
}

impl Destination {
    /// An image tar file at `path` (its folders are created); nothing
    /// appears there until [`finish`](Self::finish).
    pub fn tar_file(path: impl Into<PathBuf>) -> Result<Self, ArtifactError> {
        let file = PendingFile::create(path)?;
        let out = BufWriter::with_capacity(OUTPUT_BUFFER_LEN, file.writer()?);
        let layout = LayoutTar::seekable(out)?;
        Ok(Self::new(Target::TarFile { layout, file }))
    }

    /// An image tar written into `out` (stdout, a pipe), streaming.
    pub fn tar_stream(out: impl Write + 'static) -> Result<Self, ArtifactError> {
        let out: Box<dyn Write> = Box::new(BufWriter::with_capacity(OUTPUT_BUFFER_LEN, out));
        Ok(Self::new(Target::TarStream(LayoutTar::new(out)?)))
    }

    /// A tar written nowhere: every input is read (once) and hashed, and
    /// every document made, exactly as for a tar file, so
    /// [`write`](Self::write) gives a real run's digests (a dry run).
    pub fn nowhere() -> Result<Self, ArtifactError> {
        Ok(Self::new(Target::Nowhere(
            LayoutTar::seekable(io::empty())?,
        )))
    }

    /// The OCI image layout directory `path`, created or added to.
    pub fn oci_dir(path: impl Into<PathBuf>) -> Result<Self, ArtifactError> {
        Ok(Self::new(Target::Dir(LayoutDir::open(path)?)))
    }

    /// Any other destination behind the [`ImageSink`] seam (a registry),
    /// complete once each image is written (no Docker `manifest.json`).
    pub fn sink_of(sink: Box<dyn ImageSink>) -> Self {
        Self::new(Target::Sink(sink))
    }

    fn new(target: Target) -> Self {
        Destination {
            target,
            docker: Vec::new(),
        }
    }

    /// The temporary file a tar file is written to until it is finished,
    /// if it has a name (for a caller that removes it on a signal); `None`
    /// for one without a name (on Linux), which goes with the process, and
    /// for the other destinations.
    pub fn temp_path(&self) -> Option<&Path> {
        match &self.target {
            Target::TarFile { file, .. } => file.temp_path(),
            Target::TarStream(_) | Target::Nowhere(_) | Target::Dir(_) | Target::Sink(_) => None,
        }
    }

    /// The folders made for a tar file (deepest first), removed with its
    /// temporary file unless it is finished (for a caller that removes them
    /// on a signal too); empty for the others.
    pub fn created_folders(&self) -> &[PathBuf] {
        match &self.target {
            Target::TarFile { file, .. } => file.created_folders(),
            Target::TarStream(_) | Target::Nowhere(_) | Target::Dir(_) | Target::Sink(_) => &[],
        }
    }

    /// The seam images are written through (to set a progress callback, or
    /// to write blobs of your own).
    pub fn sink(&mut self) -> &mut dyn ImageSink {
        match &mut self.target {
            Target::TarFile { layout, .. } => layout,
            Target::TarStream(layout) => layout,
            Target::Nowhere(layout) => layout,
            Target::Dir(dir) => dir,
            Target::Sink(sink) => sink.as_mut(),
        }
    }

    /// Writes `image` (see [`WasmImage::write_to`]).
    pub fn write(&mut self, image: &WasmImage) -> Result<WrittenImage, ArtifactError> {
        let written = image.write_to(self.sink())?;
        self.docker.push(DockerImage {
            config: written.config,
            repo_tags: vec![written.reference.to_string()],
            layers: written.layers.clone(),
        });
        Ok(written)
    }

    /// Writes `images`, the same wasm in several shapes, as one image
    /// index under their reference (see [`write_index_to`](crate::write_index_to)).
    ///
    /// Docker's `manifest.json` lists one image of them under the
    /// reference, since a Docker-format reader sees one image per name:
    /// the compat image when there is one (its `manifest.json` entry is
    /// complete: every layer a tar with its diff ID), else the first.
    pub fn write_index(&mut self, images: &[WasmImage]) -> Result<WrittenIndex, ArtifactError> {
        self.write_index_with(images, &[])
    }

    /// [`write_index`](Self::write_index) with `listed` entries after the
    /// images: manifests already put into [`sink`](Self::sink) (see
    /// [`write_index_with`]). Docker's `manifest.json` lists one of
    /// `images`, as `write_index` does.
    pub fn write_index_with(
        &mut self,
        images: &[WasmImage],
        listed: &[Descriptor],
    ) -> Result<WrittenIndex, ArtifactError> {
        let written = write_index_with(images, listed, self.sink())?;
        let listed = written
            .images
            .iter()
            .find(|image| image.shape == ImageShape::Compat)
            .or(written.images.first());
        if let Some(image) = listed {
            self.docker.push(DockerImage {
                config: image.config,
                repo_tags: vec![image.reference.to_string()],
                layers: image.layers.clone(),
            });
        }
        Ok(written)
    }

    /// Completes the destination: for a tar, Docker's `manifest.json`,
    /// `index.json` and the end of the archive, then (a file) the sync and
    /// putting it in place; for a directory, the merged `index.json`.
    pub fn finish(self) -> Result<(), ArtifactError> {
        self.complete()?.commit()
    }

    /// [`finish`](Self::finish) in two steps, for a caller that must know
    /// when a tar file's name appears (to stop removing its temporary file
    /// on a signal): everything but putting it in place, then
    /// [`Completed::commit`].
    pub fn complete(self) -> Result<Completed, ArtifactError> {
        let docker = manifest_json(&self.docker);
        let (file, index) = match self.target {
            Target::TarFile { layout, file } => {
                let (index, out) = end_tar(layout, &docker)?;
                let out = out
                    .into_inner()
                    .map_err(|e| oci_layout::LayoutError::Write {
                        source: e.into_error(),
                    })?;
                file.sync_writer(out)?;
                (Some(file), index)
            }
            Target::TarStream(layout) => (None, end_tar(layout, &docker)?.0),
            Target::Nowhere(layout) => (None, end_tar(layout, &docker)?.0),
            Target::Dir(dir) => (None, dir.finish()?),
            // A registry has no index.json: each manifest is in place once
            // written.
            Target::Sink(_) => {
                return Ok(Completed {
                    file: None,
                    index: None,
                })
            }
        };
        let index = Some(BytesBlob::new(index).descriptor(MediaType::ImageIndex));
        Ok(Completed { file, index })
    }
}

/// Writes Docker's `manifest.json` (`docker`) into `layout` and ends the
/// tar; returns its `index.json` and the output.
fn end_tar<W: Write>(
    mut layout: LayoutTar<W>,
    docker: &[u8],
) -> Result<(Vec<u8>, W), ArtifactError> {
    layout.write_file(MANIFEST_JSON, docker)?;
    let index = layout.index_json()?;
    Ok((index, layout.finish()?))
}

/// A destination whose contents are complete and on disk; only a tar
/// file is yet to be put in place.
#[derive(Debug)]
pub struct Completed {
    file: Option<PendingFile>,
    index: Option<Descriptor>,
}

impl Completed {
    /// The descriptor (digest and size) of the `index.json` written: for a
    /// tar, the one listing its images; for a directory, the merged one;
    /// `None` for a destination without one (a registry).
    pub fn index(&self) -> Option<&Descriptor> {
        self.index.as_ref()
    }

    /// Renames a tar file into place (nothing to do for the others).
    pub fn commit(self) -> Result<(), ArtifactError> {
        if let Some(file) = self.file {
            file.commit()?;
        }
        Ok(())
    }
}

impl WasmImage {
    /// Writes this image as a complete image tar at `path` (see
    /// [`Destination::tar_file`]).
    pub fn write_tar_file(&self, path: impl Into<PathBuf>) -> Result<WrittenImage, ArtifactError> {
        let mut destination = Destination::tar_file(path)?;
        let written = destination.write(self)?;
        destination.finish()?;
        Ok(written)
    }

    /// Writes this image into the OCI image layout directory `path` (see
    /// [`Destination::oci_dir`]).
    pub fn write_oci_dir(&self, path: impl Into<PathBuf>) -> Result<WrittenImage, ArtifactError> {
        let mut destination = Destination::oci_dir(path)?;
        let written = destination.write(self)?;
        destination.finish()?;
        Ok(written)
    }
}
