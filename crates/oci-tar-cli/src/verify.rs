//! `oci-tar-builder verify PATH`: checks any OCI image tar or layout
//! directory, or a Docker archive.

use std::path::PathBuf;

use clap::Args;
use oci_layout_reader::LayoutFormat;

use crate::failure::Failure;
use crate::input::read_report;

/// Check an OCI image tar or layout directory, or a Docker archive.
#[derive(Debug, Args)]
pub(crate) struct Opts {
    /// The image tar, or OCI image layout directory, to check; - reads stdin.
    #[arg(value_name = "PATH")]
    pub(crate) file: PathBuf,

    /// Print nothing when the image is valid.
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

/// Reads the image once and reports every problem on stderr, one a line.
pub(crate) fn run(opts: Opts) -> Result<(), Failure> {
    let shown = opts.file.display().to_string();
    let report = read_report(&opts.file)?;
    if report.is_valid() {
        if !opts.quiet {
            let images = report.images.len();
            let format = match report.format {
                LayoutFormat::DockerArchive => "Docker archive (docker save before Docker 25)",
                _ => "OCI image layout",
            };
            println!(
                "{shown}: valid {format}: {images} image{}, {} blob{}",
                if images == 1 { "" } else { "s" },
                report.blob_count,
                if report.blob_count == 1 { "" } else { "s" },
            );
        }
        return Ok(());
    }
    Err(Failure::problems(&shown, &report.problems))
}
