//! Reading what a wasm binary is and declares: a cheap structural pass over
//! every section (which refuses truncated or malformed binaries and reads the
//! metadata sections), and, for a component, the decoding of its WIT world.
//!
//! Both read the binary as a stream. A section is held in memory only while
//! it is parsed, so neither holds more than the binary itself, and every read
//! asks for all the bytes the parser needs at once, so a large section (a
//! 64 MiB custom section, say) costs one read, not thousands of re-parses.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};

use oci_layout::BlobSource;
use serde::Serialize;
use wasmparser::{Chunk, ComponentTypeRef, KnownCustom, Name, Parser, Payload};
use wit_parser::decoding::DecodedWasm;
use wit_parser::{PackageId, Resolve, WorldId, WorldKey};

use crate::{ArtifactError, NotWasm, WasmKind};

/// The `org.opencontainers.image.*` annotation each metadata custom section
/// (as `wasm-tools metadata add` writes them) matches.
const METADATA_SECTIONS: [(&str, &str); 7] = [
    ("authors", "org.opencontainers.image.authors"),
    ("description", "org.opencontainers.image.description"),
    ("licenses", "org.opencontainers.image.licenses"),
    ("source", "org.opencontainers.image.source"),
    ("homepage", "org.opencontainers.image.url"),
    ("revision", "org.opencontainers.image.revision"),
    ("version", "org.opencontainers.image.version"),
];

/// The annotation a module's or component's own name becomes.
const TITLE: &str = "org.opencontainers.image.title";

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
}

/// A component's imports and exports as world keys: interfaces as
/// `ns:pkg/iface@version`, functions (and types) by their bare name; sorted
/// and without duplicates so the config's bytes are reproducible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentWorld {
    /// What the component exports.
    pub exports: Vec<String>,
    /// What the component imports.
    pub imports: Vec<String>,
}

impl WasmDescription {
    /// Reads `blob` (twice for a component: once for its sections, once to
    /// decode its world) and describes it.
    ///
    /// Refuses, naming the blob's origin: what is not wasm, a binary cut
    /// short or with malformed sections, and a component whose world cannot
    /// be decoded (an invalid component, or one exporting what a WIT world
    /// cannot hold, such as a core module).
    pub fn read(blob: &dyn BlobSource) -> Result<WasmDescription, ArtifactError> {
        let origin = || blob.origin().into_owned();
        let open = || {
            blob.open().map_err(|source| ArtifactError::ReadWasm {
                origin: origin(),
                source,
            })
        };
        let scan = scan(open()?).map_err(|error| match error {
            ScanError::Read(source) => ArtifactError::ReadWasm {
                origin: origin(),
                source,
            },
            ScanError::NotWasm(reason) => ArtifactError::NotWasm {
                origin: origin(),
                reason,
            },
        })?;
        let (kind, world) = match scan.kind {
            WasmKind::Module => (WasmKind::Module, None),
            WasmKind::Component | WasmKind::WitPackage => {
                let decoded =
                    wit_parser::decoding::decode_reader(FullReads(open()?)).map_err(|error| {
                        ArtifactError::ComponentWorld {
                            origin: origin(),
                            message: format!("{error:#}"),
                        }
                    })?;
                match decoded {
                    DecodedWasm::Component(resolve, world) => {
                        let mut world = component_world(&resolve, world);
                        world.imports.extend(scan.imports_outside_world);
                        (WasmKind::Component, Some(world.sorted()))
                    }
                    DecodedWasm::WitPackage(resolve, package) => (
                        WasmKind::WitPackage,
                        Some(wit_package_world(&resolve, package).sorted()),
                    ),
                }
            }
        };
        Ok(WasmDescription {
            kind,
            world,
            annotations: scan.annotations,
        })
    }
}

impl ComponentWorld {
    fn sorted(self) -> ComponentWorld {
        let sort = |names: Vec<String>| -> Vec<String> {
            names
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        ComponentWorld {
            exports: sort(self.exports),
            imports: sort(self.imports),
        }
    }
}

/// The imports and exports of the world a component was decoded to.
fn component_world(resolve: &Resolve, world: WorldId) -> ComponentWorld {
    let world = &resolve.worlds[world];
    ComponentWorld {
        exports: world
            .exports
            .keys()
            .filter_map(|key| world_key_name(resolve, key))
            .collect(),
        imports: world
            .imports
            .keys()
            .filter_map(|key| world_key_name(resolve, key))
            .collect(),
    }
}

/// A WIT package described as the reference implementation (the oci-wasm
/// crate) does: every world's exports, every world as `ns:pkg/world@version`
/// and every interface as `ns:pkg/iface@version`, all as exports; no imports.
fn wit_package_world(resolve: &Resolve, package: PackageId) -> ComponentWorld {
    let package = &resolve.packages[package];
    let version = package
        .name
        .version
        .as_ref()
        .map(|v| format!("@{v}"))
        .unwrap_or_default();
    let mut exports = Vec::new();
    for world in package.worlds.values() {
        let world = &resolve.worlds[*world];
        exports.extend(
            world
                .exports
                .keys()
                .filter_map(|key| world_key_name(resolve, key)),
        );
        exports.push(format!(
            "{}:{}/{}{version}",
            package.name.namespace, package.name.name, world.name
        ));
    }
    exports.extend(
        package
            .interfaces
            .values()
            .filter_map(|interface| resolve.id_of(*interface)),
    );
    ComponentWorld {
        exports,
        imports: Vec::new(),
    }
}

/// `ns:pkg/iface@version` for an interface key, the name for a named key;
/// `None` for an anonymous interface (which a decoded world never keys by
/// interface; `Resolve::name_world_key` would panic there).
fn world_key_name(resolve: &Resolve, key: &WorldKey) -> Option<String> {
    match key {
        WorldKey::Name(name) => Some(name.clone()),
        WorldKey::Interface(id) => resolve.id_of(*id),
    }
}

/// What the structural pass found.
struct Scan {
    kind: WasmKind,
    annotations: BTreeMap<String, String>,
    /// Top-level component imports a WIT world cannot hold (core modules,
    /// components, values), which decoding drops but the host must supply.
    imports_outside_world: Vec<String>,
}

enum ScanError {
    Read(io::Error),
    NotWasm(NotWasm),
}

impl From<wasmparser::BinaryReaderError> for ScanError {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        ScanError::NotWasm(NotWasm::malformed(error.offset(), error.message()))
    }
}

/// Parses every section of the binary `reader` yields, nested modules and
/// components included, without validating it; reads the top-level metadata
/// sections.
fn scan(reader: impl Read) -> Result<Scan, ScanError> {
    let mut reader = FullReads(reader);
    let mut buffer: Vec<u8> = Vec::new();
    let mut eof = false;
    let mut parser = Parser::new(0);
    // The parsers of the modules and components enclosing the current one.
    let mut outer: Vec<Parser> = Vec::new();
    let mut scan = Scan {
        kind: WasmKind::Module,
        annotations: BTreeMap::new(),
        imports_outside_world: Vec::new(),
    };
    // The preamble is checked first, for a clearer message than the parser's.
    let mut preamble = [0u8; 8];
    let filled = read_up_to(&mut reader, &mut preamble).map_err(ScanError::Read)?;
    scan.kind = WasmKind::from_preamble(&preamble[..filled]).map_err(ScanError::NotWasm)?;
    buffer.extend_from_slice(&preamble[..filled]);

    loop {
        let (consumed, payload) = match parser.parse(&buffer, eof)? {
            Chunk::NeedMoreData(hint) => {
                let start = buffer.len();
                buffer.resize(start + hint.max(1), 0);
                let read =
                    read_up_to(&mut reader, &mut buffer[start..]).map_err(ScanError::Read)?;
                buffer.truncate(start + read);
                eof = read == 0;
                continue;
            }
            Chunk::Parsed { consumed, payload } => (consumed, payload),
        };
        let top_level = outer.is_empty();
        match payload {
            Payload::ModuleSection { parser: inner, .. }
            | Payload::ComponentSection { parser: inner, .. } => {
                outer.push(std::mem::replace(&mut parser, inner));
            }
            Payload::End(_) => match outer.pop() {
                Some(enclosing) => parser = enclosing,
                None => break,
            },
            Payload::ComponentImportSection(imports) if top_level => {
                for import in imports {
                    let import = import?;
                    if matches!(
                        import.ty,
                        ComponentTypeRef::Module(_)
                            | ComponentTypeRef::Component(_)
                            | ComponentTypeRef::Value(_)
                    ) {
                        scan.imports_outside_world
                            .push(import.name.full_name().into_owned());
                    }
                }
            }
            Payload::CustomSection(section) if top_level => match section.as_known() {
                KnownCustom::Name(names) => {
                    for name in names {
                        if let Name::Module { name, .. } = name? {
                            set_annotation(&mut scan.annotations, TITLE, name);
                        }
                    }
                }
                KnownCustom::ComponentName(names) => {
                    for name in names {
                        if let wasmparser::ComponentName::Component { name, .. } = name? {
                            set_annotation(&mut scan.annotations, TITLE, name);
                        }
                    }
                }
                _ => {
                    let annotation = METADATA_SECTIONS
                        .iter()
                        .find(|(section_name, _)| *section_name == section.name());
                    if let (Some((_, key)), Ok(value)) =
                        (annotation, std::str::from_utf8(section.data()))
                    {
                        set_annotation(&mut scan.annotations, key, value);
                    }
                }
            },
            _ => {}
        }
        buffer.drain(..consumed);
    }
    // A top-level parser only ends at the end of the input, so nothing is left.
    Ok(scan)
}

fn set_annotation(annotations: &mut BTreeMap<String, String>, key: &str, value: &str) {
    if !value.is_empty() {
        annotations.insert(key.to_owned(), value.to_owned());
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// A reader whose every `read` fills the buffer unless the input ends.
///
/// wasmparser's streaming parser (and wit-parser's `decode_reader`, built on
/// it) re-parses the pending bytes after every read, and wit-parser grows its
/// buffer by the whole still-missing amount on each one: with a reader that
/// returns a few KiB at a time (a pipe, a decompressor), a 64 MiB section
/// would cost thousands of re-parses and zero-fills. Asking for everything
/// the parser needs in one read keeps both linear.
struct FullReads<R>(R);

impl<R: Read> Read for FullReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_up_to(&mut self.0, buf)
    }
}
