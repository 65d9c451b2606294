//! What several test files share.

use std::borrow::Cow;
use std::io::{self, Read};

use oci_digest::Digest;
use oci_layout::BlobSource;

/// A source that announces one thing and yields another.
pub(crate) struct LyingSource {
    pub(crate) announced_digest: Digest,
    pub(crate) announced_size: u64,
    pub(crate) actual: Vec<u8>,
}

impl BlobSource for LyingSource {
    fn digest(&self) -> Digest {
        self.announced_digest
    }
    fn size(&self) -> u64 {
        self.announced_size
    }
    fn origin(&self) -> Cow<'_, str> {
        Cow::Borrowed("lying source")
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(&self.actual[..]))
    }
}
