//! Reading an image-layout tar: one pass, front to back, through the
//! shared [`Collector`].

use std::io::Read;

use crate::check::{shorten, Collector, Target};
use crate::error::ReadError;
use crate::problem::Problem;
use crate::report::LayoutReport;
use crate::tar_stream::{TarError, TarStream};

/// Reads the image tar `input` once and checks it: the layout marker,
/// `index.json` and everything it reaches (nested indexes, manifests,
/// configs, layers: present, right size, right digest), every blob's bytes
/// against its name, `manifest.json` against the OCI side, and every entry
/// for being safe to extract. A tar with `manifest.json` and no
/// `oci-layout`, `index.json` or blobs is a Docker archive in the format
/// from before Docker 25, checked by that format's rules instead
/// ([`LayoutFormat::DockerArchive`](crate::LayoutFormat::DockerArchive)).
///
/// Problems in the tar are listed in the report, never returned as errors;
/// the error is only for an input that cannot be read at all.
pub fn read_layout(input: impl Read) -> Result<LayoutReport, ReadError> {
    let mut collector = Collector::default();
    read_entries(&mut collector, input)?;
    if let [Problem::BadHeader { offset: 0, .. } | Problem::Compressed { .. }] =
        collector.problems()
    {
        // Not a tar at all: its missing files are not worth listing.
        return Ok(LayoutReport {
            problems: collector.into_problems(),
            ..LayoutReport::default()
        });
    }
    Ok(collector.check())
}

/// Feeds every entry of the tar to `collector`, until the end or the first
/// thing that stops the reading (reported as a problem).
fn read_entries(collector: &mut Collector, input: impl Read) -> Result<(), ReadError> {
    let mut tar = TarStream::new(input);
    loop {
        let header = match tar.next_header() {
            Ok(Some(header)) => header,
            Ok(None) => return Ok(()),
            Err(error) => return stopped(collector, error),
        };
        let name = Some(header.name.as_str());
        let result = match collector.classify_tar(&header) {
            Target::Stop => return Ok(()),
            Target::Skip | Target::Directory => tar.data(header.size, name, |_| {}),
            Target::Take(mut sink) => {
                let result = tar.data(header.size, name, |chunk| sink.feed(chunk));
                collector.finish_entry(sink, header.size, result.is_ok());
                result
            }
        };
        if let Err(error) = result {
            return stopped(collector, error);
        }
    }
}

/// Records why reading stopped; only an I/O error is an error.
fn stopped(collector: &mut Collector, error: TarError) -> Result<(), ReadError> {
    match error {
        TarError::Io(source) => return Err(ReadError::Tar { source }),
        TarError::Truncated { entry } => collector.push(Problem::Truncated {
            entry: entry.as_deref().map(shorten),
        }),
        TarError::BadHeader { offset, reason } => {
            collector.push(Problem::BadHeader { offset, reason })
        }
        TarError::Compressed { format } => collector.push(Problem::Compressed { format }),
        TarError::AfterEnd { offset, reason } => {
            collector.push(Problem::DataAfterEnd { offset, reason })
        }
    }
    Ok(())
}
