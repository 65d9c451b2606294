//! Describing a wasm binary: what it is and what it declares. A cheap
//! structural pass over every section refuses truncated or malformed
//! binaries, reads the metadata sections and a component's top-level
//! imports and exports, the keys of its WIT world; a binary-encoded WIT
//! package is then decoded with wit-parser (the decoder behind
//! `wasm-tools component wit`).
//!
//! Both read the binary as a stream and hold one section at a time, so
//! neither holds more than the binary itself. Top-level custom sections they
//! have no use for are read past without being held at all, and every read
//! asks for all the bytes the parser needs at once, so a large section costs
//! one read, not thousands of re-parses (`examples/describe_large.rs`
//! measures it). A small file (up to [`oci_layout::SMALL_FILE`], 256 KiB)
//! is read whole in one read instead, and both passes parse it from memory.
//!
//! - `scan`: the structural pass (wasmparser) and what it refuses;
//! - `skip`: the bytes each pass reads, with what it has no use for left
//!   out unread;
//! - `world`: a component's WIT world (or a WIT package) as world keys;
//! - `metadata`: custom sections as `org.opencontainers.image.*`
//!   annotations.

mod metadata;
mod scan;
mod skip;
#[cfg(test)]
mod test_inputs;
mod world;

use std::collections::BTreeMap;

use oci_layout::{BlobInput, BytesBlob};

use crate::{ArtifactError, NotWasm, WasmKind};
pub(crate) use metadata::TITLE;
pub use metadata::{MAX_METADATA_SECTION, MAX_NAME_SECTION};
use scan::{scan_source, ScanError};
use skip::Source;
pub use world::ComponentWorld;
use world::Decoded;

/// What a wasm binary is and declares.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WasmDescription {
    /// Core module, component, or binary-encoded WIT package.
    pub kind: WasmKind,
    /// For a component or WIT package, its imports and exports as the CNCF
    /// config's `component` lists them; `None` for a core module.
    pub world: Option<ComponentWorld>,
    /// The `org.opencontainers.image.*` annotations its own metadata sections
    /// give (not those of nested modules): the name (`title`) from the `name`
    /// or `component-name` section, and `authors`, `description`, `licenses`,
    /// `source`, `homepage` (`url`), `revision` and `version` from the custom
    /// sections of those names. Sections that are empty or not UTF-8 are
    /// left out. The `producers` section (languages, tools, SDKs) has no
    /// matching annotation and is not used.
    pub annotations: BTreeMap<String, String>,
    /// Metadata and name sections left out of `annotations` for their size
    /// (over [`MAX_METADATA_SECTION`] and [`MAX_NAME_SECTION`]), so that the
    /// manifest stays small and memory flat; the image is written all the
    /// same.
    pub oversized_sections: Vec<OversizedSection>,
}

/// A metadata or name section, or the name a name section gives, too large
/// to become an annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OversizedSection {
    /// The custom section's name (`description`, `name`, …).
    pub name: String,
    /// Its size in bytes (after its name).
    pub size: u64,
    /// The largest size read for an annotation.
    pub limit: u64,
    /// Whether it is the module's or component's name in a name section
    /// that was read (`size` is then the name's): no title.
    pub title: bool,
}

impl std::fmt::Display for OversizedSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.title {
            write!(
                f,
                "the name in its {:?} section ({} bytes) is larger than the {} bytes an annotation takes; no title",
                self.name, self.size, self.limit
            )
        } else {
            write!(
                f,
                "its {:?} custom section ({} bytes) is larger than the {} bytes read for an annotation; left out",
                self.name, self.size, self.limit
            )
        }
    }
}

impl WasmDescription {
    /// Reads `blob` (twice for a WIT package: once for its sections, once
    /// to decode it) and describes it.
    ///
    /// Refuses, naming the blob's origin: what is not wasm, a binary cut
    /// short or with malformed sections, a component exporting what a WIT
    /// world cannot hold (such as a core module), and a WIT package that
    /// cannot be decoded. A component's types are not validated: its world
    /// is the names of its top-level imports and exports.
    pub fn read(blob: &BlobInput) -> Result<WasmDescription, ArtifactError> {
        // A small file is read whole, once, and both passes parse the bytes.
        let small = blob
            .read_small()
            .transpose()
            .map_err(|source| ArtifactError::ReadWasm {
                origin: blob.origin().into_owned(),
                source,
            })?;
        Self::read_from(blob, small.as_deref())
    }

    /// [`read`](Self::read), and for a small file the bytes it read, as a
    /// hashed blob to put into a destination (the file then need not be
    /// read again: [`BlobInput::read_small_blob`]).
    pub(crate) fn read_keeping_blob(
        blob: &BlobInput,
    ) -> Result<(WasmDescription, Option<BytesBlob>), ArtifactError> {
        let small =
            blob.read_small_blob()
                .transpose()
                .map_err(|source| ArtifactError::ReadWasm {
                    origin: blob.origin().into_owned(),
                    source,
                })?;
        let description = Self::read_from(blob, small.as_ref().map(BytesBlob::bytes))?;
        Ok((description, small))
    }

    /// [`read`](Self::read) of a file whose `bytes` were read whole
    /// already ([`FileInput::open_reading_small`](oci_layout::FileInput::open_reading_small)).
    pub(crate) fn read_bytes(
        blob: &BlobInput,
        bytes: &[u8],
    ) -> Result<WasmDescription, ArtifactError> {
        Self::read_from(blob, Some(bytes))
    }

    /// Describes `blob`, from `small` (its bytes, read whole) if given.
    fn read_from(blob: &BlobInput, small: Option<&[u8]>) -> Result<WasmDescription, ArtifactError> {
        let origin = || blob.origin().into_owned();
        let open = || {
            blob.open().map_err(|source| ArtifactError::ReadWasm {
                origin: origin(),
                source,
            })
        };
        let source = || -> Result<Source<'_>, ArtifactError> {
            if let Some(bytes) = small {
                return Ok(Source::Bytes(bytes));
            }
            match blob.open_file() {
                Some(file) => {
                    let file = file.map_err(|source| ArtifactError::ReadWasm {
                        origin: origin(),
                        source,
                    })?;
                    Source::file(file).map_err(|source| ArtifactError::ReadWasm {
                        origin: origin(),
                        source,
                    })
                }
                None => Ok(Source::Stream(open()?)),
            }
        };
        let scan = scan_source(source()?).map_err(|error| match error {
            ScanError::Read(source) => ArtifactError::ReadWasm {
                origin: origin(),
                source,
            },
            ScanError::NotWasm(reason) => ArtifactError::NotWasm {
                origin: origin(),
                reason,
            },
            ScanError::Malformed { offset, message } => ArtifactError::NotWasm {
                origin: origin(),
                reason: NotWasm::malformed(offset, &message),
            },
        })?;
        let (kind, world) = match scan.kind {
            WasmKind::Module => (WasmKind::Module, None),
            WasmKind::Component | WasmKind::WitPackage => {
                let world_error = |message| ArtifactError::ComponentWorld {
                    origin: origin(),
                    message,
                };
                match world::of_component(scan.imports, scan.exports).map_err(world_error)? {
                    Some(world) => (WasmKind::Component, Some(world.sorted())),
                    // Type exports only: a WIT package, most likely.
                    None => match world::decode(source()?).map_err(world_error)? {
                        Decoded::Component(world) => (WasmKind::Component, Some(world.sorted())),
                        Decoded::WitPackage(world) => (WasmKind::WitPackage, Some(world.sorted())),
                    },
                }
            }
        };
        let oversized_sections = scan
            .too_large
            .into_iter()
            .map(|too_large| OversizedSection {
                name: too_large.section,
                size: too_large.size,
                limit: too_large.limit,
                title: too_large.title,
            })
            .collect();
        Ok(WasmDescription {
            kind,
            world,
            annotations: scan.annotations,
            oversized_sections,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_inputs::module_with_data;

    /// The seeking path (a `FileInput`) and the reading path (bytes) agree,
    /// also on a file cut short inside a section it seeks past.
    #[test]
    fn a_file_is_read_past_by_seeking_with_the_same_result() {
        let mut wasm = module_with_data(1024 * 1024);
        let custom = wat::parse_str(format!(
            r#"(module (@custom "debug" "{}") (@custom "version" "2.1"))"#,
            "z".repeat(300_000)
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        wasm.extend_from_slice(&custom[8..]);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("m.wasm");
        let from_file = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{e}"));
            let input = BlobInput::from(
                oci_layout::FileInput::open(&path).unwrap_or_else(|e| panic!("{e}")),
            );
            assert!(input.open_file().is_some());
            WasmDescription::read(&input)
        };
        let from_bytes = |bytes: &[u8]| {
            WasmDescription::read(&BlobInput::from(oci_layout::BytesBlob::new(bytes.to_vec())))
        };
        let described = from_file(&wasm).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            described,
            from_bytes(&wasm).unwrap_or_else(|e| panic!("{e}"))
        );
        assert_eq!(
            described
                .annotations
                .get("org.opencontainers.image.version"),
            Some(&"2.1".to_owned())
        );
        for cut in [wasm.len() - 1, wasm.len() - 200_000, 500_000] {
            let error = from_file(&wasm[..cut]).expect_err("a cut file is refused");
            assert!(error.to_string().contains("m.wasm"), "{error}");
            assert!(from_bytes(&wasm[..cut]).is_err());
        }
    }
}
