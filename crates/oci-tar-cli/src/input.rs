//! Opening an image tar for `verify` and `inspect`: a file or stdin.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use oci_layout_reader::{read_layout, LayoutReport};

use crate::failure::Failure;

/// Reads the tar at `path` (`-` is stdin) once and checks it.
pub(crate) fn read_report(path: &Path) -> Result<LayoutReport, Failure> {
    let shown = path.display();
    let input: Box<dyn Read> = if path == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        if path.is_dir() {
            return Err(Failure::failed(format!(
                "{shown}: is a directory, not an image tar"
            )));
        }
        Box::new(File::open(path).map_err(|e| Failure::failed(format!("{shown}: {e}")))?)
    };
    read_layout(BufReader::with_capacity(256 * 1024, input))
        .map_err(|e| Failure::failed(format!("{shown}: {e}")))
}
