//! Opening an image for `verify` and `inspect`: a tar file, stdin, or an
//! OCI image layout directory.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use oci_layout_reader::{read_layout, read_layout_dir, LayoutReport};

use crate::failure::Failure;

/// Reads the image at `path` once and checks it: a layout directory, else
/// a tar file (`-` is stdin).
pub(crate) fn read_report(path: &Path) -> Result<LayoutReport, Failure> {
    let shown = path.display();
    let failed = |error: &dyn std::fmt::Display| Failure::failed(format!("{shown}: {error}"));
    if path == Path::new("-") {
        return read_tar(io::stdin().lock()).map_err(|e| failed(&e));
    }
    // The path given may be a link to the directory; links inside it are
    // the reader's to refuse.
    if path.is_dir() {
        return read_layout_dir(path).map_err(|e| failed(&e));
    }
    let file = File::open(path).map_err(|e| failed(&e))?;
    read_tar(file).map_err(|e| failed(&e))
}

fn read_tar(input: impl Read) -> Result<LayoutReport, oci_layout_reader::ReadError> {
    read_layout(BufReader::with_capacity(256 * 1024, input))
}
