//! Reading what a wasm binary is and declares: a cheap structural pass over
//! every section (which refuses truncated or malformed binaries and reads the
//! metadata sections), and, for a component, the decoding of its WIT world
//! with wit-parser (the decoder behind `wasm-tools component wit`).
//!
//! Both read the binary as a stream and hold one section at a time, so
//! neither holds more than the binary itself. Top-level custom sections they
//! have no use for are read past without being held at all, and every read
//! asks for all the bytes the parser needs at once, so a large section costs
//! one read, not thousands of re-parses (`examples/describe_large.rs`
//! measures it).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use oci_layout::BlobInput;
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
    pub fn read(blob: &BlobInput) -> Result<WasmDescription, ArtifactError> {
        let origin = || blob.origin().into_owned();
        let open = || {
            blob.open().map_err(|source| ArtifactError::ReadWasm {
                origin: origin(),
                source,
            })
        };
        let source = || -> Result<Source<'_>, ArtifactError> {
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
                let decoded = wit_parser::decoding::decode_reader(FullReads(
                    SkipCustomSections::from_source(source()?, |_| false),
                ))
                .map_err(|error| ArtifactError::ComponentWorld {
                    origin: origin(),
                    message: format!("{error:#}"),
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
    /// What wasmparser said, at an offset in the bytes it was given.
    Malformed {
        offset: u64,
        message: String,
    },
}

impl From<wasmparser::BinaryReaderError> for ScanError {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        ScanError::Malformed {
            offset: error.offset(),
            message: error.message().to_owned(),
        }
    }
}

/// Parses every section of the binary `reader` yields, nested modules and
/// components included, without validating it; reads the top-level metadata
/// sections.
#[cfg(test)]
fn scan<'a>(reader: impl Read + 'a) -> Result<Scan, ScanError> {
    scan_source(Source::Stream(Box::new(reader)))
}

/// [`scan`] of a [`Source`].
fn scan_source(source: Source<'_>) -> Result<Scan, ScanError> {
    let mut reader = FullReads(
        SkipCustomSections::from_source(source, |name| {
            name == "name"
                || name == "component-name"
                || METADATA_SECTIONS
                    .iter()
                    .any(|(section, _)| *section == name)
        })
        .skipping_module_data(),
    );
    scan_sections(&mut reader).map_err(|error| match error {
        // Offsets in the input, not in what the parser saw of it.
        ScanError::Malformed { offset, message } => ScanError::Malformed {
            offset: offset + reader.0.skipped,
            message,
        },
        other => other,
    })
}

fn scan_sections(reader: &mut impl Read) -> Result<Scan, ScanError> {
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
    let filled = read_up_to(reader, &mut preamble).map_err(ScanError::Read)?;
    scan.kind = WasmKind::from_preamble(&preamble[..filled]).map_err(ScanError::NotWasm)?;
    buffer.extend_from_slice(&preamble[..filled]);

    loop {
        let (consumed, payload) = match parser.parse(&buffer, eof)? {
            Chunk::NeedMoreData(hint) => {
                let start = buffer.len();
                buffer.resize(start + hint.max(1), 0);
                let read = read_up_to(reader, &mut buffer[start..]).map_err(ScanError::Read)?;
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
            Payload::UnknownSection { id, range, .. } => {
                return Err(ScanError::Malformed {
                    offset: range.start,
                    message: format!("unknown section id {id}"),
                });
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
                        // A linker names a module after its output file
                        // (rustc: `crate_name-<hash>.wasm`): a file name,
                        // not a title. A name set on purpose
                        // (`wasm-tools metadata add --name`) is kept.
                        if let Name::Module { name, .. } = name? {
                            if !name.ends_with(".wasm") {
                                set_annotation(&mut scan.annotations, TITLE, name);
                            }
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

/// Appends `value` as an unsigned LEB128.
fn push_leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
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

/// Where the bytes of a binary come from: any reader, or an open file, which
/// can be read past by seeking instead of reading (so a large custom or data
/// section costs nothing to skip).
enum Source<'a> {
    /// Any reader: skipping reads and drops.
    Stream(Box<dyn Read + 'a>),
    /// A file at its start, and its length.
    File { file: &'a File, len: u64 },
}

impl<'a> Source<'a> {
    fn file(file: &'a File) -> io::Result<Source<'a>> {
        let len = file.metadata()?.len();
        Ok(Source::File { file, len })
    }

    /// Moves `n` bytes on, or to the end if fewer are left; returns how far.
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        match self {
            Source::Stream(reader) => io::copy(&mut reader.take(n), &mut io::sink()),
            Source::File { file, len } => {
                let position = file.stream_position()?;
                let step = n.min(len.saturating_sub(position));
                // A file's length fits an i64 on every platform Rust runs on.
                let offset = i64::try_from(step).unwrap_or(i64::MAX);
                file.seek(SeekFrom::Current(offset))?;
                Ok(step)
            }
        }
    }
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Stream(reader) => reader.read(buf),
            Source::File { file, .. } => file.read(buf),
        }
    }
}

/// A reader that leaves out the top-level custom sections whose name `keep`
/// refuses, reading past them without holding them, so that neither the
/// structural pass nor the decoder buffers a large custom section (debug
/// info, embedded data) they have no use for. Custom sections never change
/// what a module or component means. Sections inside nested modules and
/// components go through untouched. Anything malformed is passed on as it is,
/// for the parser to report.
struct SkipCustomSections<'a> {
    inner: io::BufReader<Source<'a>>,
    keep: fn(&str) -> bool,
    /// Bytes to hand out before reading on.
    pending: Vec<u8>,
    pending_at: usize,
    state: SkipState,
    /// How many bytes were left out so far.
    skipped: u64,
    /// Whether a core module's data section is left out too.
    skip_module_data: bool,
    /// The preamble as read, to tell a core module from a component.
    preamble: Vec<u8>,
}

#[derive(Clone, Copy)]
enum SkipState {
    /// In the 8-byte preamble: this many bytes of it still to go.
    Preamble(u64),
    /// At the start of a top-level section.
    SectionStart,
    /// Inside a section: this many bytes of it still to go.
    InSection(u64),
    /// Past something malformed: everything goes through.
    PassAll,
}

impl<'a> SkipCustomSections<'a> {
    #[cfg(test)]
    fn new(reader: impl Read + 'a, keep: fn(&str) -> bool) -> Self {
        Self::from_source(Source::Stream(Box::new(reader)), keep)
    }

    fn from_source(source: Source<'a>, keep: fn(&str) -> bool) -> Self {
        SkipCustomSections {
            inner: io::BufReader::with_capacity(64 * 1024, source),
            keep,
            pending: Vec::new(),
            pending_at: 0,
            state: SkipState::Preamble(8),
            skipped: 0,
            skip_module_data: false,
            preamble: Vec::with_capacity(8),
        }
    }

    /// Also leaves out the body of a core module's data section, which holds
    /// nearly all of a module with embedded data and which the parser would
    /// otherwise buffer whole: its framing is still checked (a body cut short
    /// is handed to the parser, which reports it). The code section needs no
    /// such help: the parser streams it one function at a time (and checks
    /// it against the function section). Only for the structural pass.
    fn skipping_module_data(mut self) -> Self {
        self.skip_module_data = true;
        self
    }

    /// Whether the top-level section `id` is left out whatever its content.
    fn skips_section(&self, id: u8) -> bool {
        const DATA_SECTION: u8 = 11;
        self.skip_module_data
            && id == DATA_SECTION
            && matches!(
                WasmKind::from_preamble(&self.preamble),
                Ok(WasmKind::Module)
            )
    }

    /// Reads one byte into `header`; `false` at the end of the input.
    fn header_byte(&mut self, header: &mut Vec<u8>) -> io::Result<bool> {
        let mut byte = [0u8; 1];
        let read = read_up_to(&mut self.inner, &mut byte)?;
        header.extend_from_slice(&byte[..read]);
        Ok(read == 1)
    }

    /// Reads an unsigned LEB128 (at most 5 bytes, a u32) into `header`.
    fn header_leb(&mut self, header: &mut Vec<u8>) -> io::Result<Option<u64>> {
        let mut value = 0u64;
        for shift in (0..35).step_by(7) {
            if !self.header_byte(header)? {
                return Ok(None);
            }
            let byte = header[header.len() - 1];
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    /// Reads the next section's header and decides what to hand out.
    fn next_section(&mut self) -> io::Result<()> {
        let mut header = Vec::new();
        if !self.header_byte(&mut header)? {
            return Ok(()); // the end of the input
        }
        let id = header[0];
        let Some(size) = self.header_leb(&mut header)? else {
            return self.pass_all(header);
        };
        if self.skips_section(id) {
            return self.replace_data_section(header, size);
        }
        if id != 0 {
            self.state = SkipState::InSection(size);
            return self.hand_out(header);
        }
        let size_start = header.len();
        let Some(name_len) = self.header_leb(&mut header)? else {
            return self.pass_all(header);
        };
        let name_start = header.len();
        let name_header = (name_start - size_start) as u64;
        if name_len > 1024 || name_header + name_len > size {
            return self.pass_all(header);
        }
        for _ in 0..name_len {
            if !self.header_byte(&mut header)? {
                return self.pass_all(header);
            }
        }
        let keep = std::str::from_utf8(&header[name_start..]).map_or(true, self.keep);
        let rest = size - name_header - name_len;
        if keep {
            self.state = SkipState::InSection(rest);
            return self.hand_out(header);
        }
        self.skip_rest(header, rest)
    }

    /// Reads past the body of a data section (of `size` bytes, its `header`
    /// read) and hands the parser a stand-in with as many segments, all
    /// empty, so that the parser's count checks (against the data count
    /// section) hold while the data itself is never held.
    fn replace_data_section(&mut self, mut header: Vec<u8>, size: u64) -> io::Result<()> {
        let count_start = header.len();
        let Some(count) = self.header_leb(&mut header)? else {
            return self.pass_all(header);
        };
        let count_len = (header.len() - count_start) as u64;
        // Each real segment takes at least two bytes, so a true count makes a
        // stand-in no larger than the section; any other count is malformed.
        if count_len > size || count.saturating_mul(2) > size - count_len {
            return self.pass_all(header);
        }
        let rest = size - count_len;
        let dropped = self.skip_inner(rest)?;
        if dropped < rest {
            return self.pass_all(header);
        }
        let mut body = header[count_start..].to_vec();
        for _ in 0..count {
            // A passive segment (flag 1) of no bytes.
            body.extend_from_slice(&[0x01, 0x00]);
        }
        let mut stand_in = vec![header[0]];
        push_leb128(&mut stand_in, body.len() as u64);
        stand_in.extend_from_slice(&body);
        self.skipped += (header.len() as u64 + rest).saturating_sub(stand_in.len() as u64);
        self.state = SkipState::SectionStart;
        self.hand_out(stand_in)
    }

    /// Reads past the `rest` bytes of a section whose `header` was read.
    fn skip_rest(&mut self, header: Vec<u8>, rest: u64) -> io::Result<()> {
        let dropped = self.skip_inner(rest)?;
        if dropped < rest {
            // Cut short: hand out the header so the parser sees the truncation.
            return self.pass_all(header);
        }
        self.skipped += header.len() as u64 + rest;
        self.state = SkipState::SectionStart;
        Ok(())
    }

    /// Moves `n` bytes on in the input (what is buffered first, then the
    /// source itself); returns how far, less than `n` at the end.
    fn skip_inner(&mut self, n: u64) -> io::Result<u64> {
        let buffered = self.inner.buffer().len() as u64;
        let from_buffer = buffered.min(n);
        // At most the buffer's length, which is a usize.
        io::BufRead::consume(&mut self.inner, from_buffer as usize);
        Ok(from_buffer + self.inner.get_mut().skip(n - from_buffer)?)
    }

    fn hand_out(&mut self, bytes: Vec<u8>) -> io::Result<()> {
        self.pending = bytes;
        self.pending_at = 0;
        Ok(())
    }

    fn pass_all(&mut self, bytes: Vec<u8>) -> io::Result<()> {
        self.state = SkipState::PassAll;
        self.hand_out(bytes)
    }
}

impl Read for SkipCustomSections<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if buf.is_empty() {
                return Ok(0);
            }
            if self.pending_at < self.pending.len() {
                let n = buf.len().min(self.pending.len() - self.pending_at);
                buf[..n].copy_from_slice(&self.pending[self.pending_at..self.pending_at + n]);
                self.pending_at += n;
                return Ok(n);
            }
            let limit = match self.state {
                SkipState::Preamble(0) | SkipState::InSection(0) => {
                    self.state = SkipState::SectionStart;
                    continue;
                }
                SkipState::SectionStart => {
                    self.next_section()?;
                    if self.pending_at == self.pending.len()
                        && matches!(self.state, SkipState::SectionStart)
                    {
                        // Either the end of the input or a section left out.
                        if io::BufRead::fill_buf(&mut self.inner)?.is_empty() {
                            return Ok(0);
                        }
                    }
                    continue;
                }
                SkipState::Preamble(left) | SkipState::InSection(left) => left,
                SkipState::PassAll => u64::MAX,
            };
            let want = buf.len().min(usize::try_from(limit).unwrap_or(usize::MAX));
            let n = self.inner.read(&mut buf[..want])?;
            if let SkipState::Preamble(_) = self.state {
                self.preamble.extend_from_slice(&buf[..n]);
            }
            if let SkipState::Preamble(left) | SkipState::InSection(left) = &mut self.state {
                *left -= n as u64;
            }
            return Ok(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out one byte per call, like the slowest pipe.
    struct OneByte<'a>(&'a [u8]);

    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((byte, rest)), Some(slot)) => {
                    *slot = *byte;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn custom_section_names(wasm: &[u8]) -> Vec<String> {
        Parser::new(0)
            .parse_all(wasm)
            .filter_map(|payload| match payload.unwrap_or_else(|e| panic!("{e}")) {
                Payload::CustomSection(section) => Some(section.name().to_owned()),
                _ => None,
            })
            .collect()
    }

    fn filtered(reader: impl Read, keep: fn(&str) -> bool) -> (Vec<u8>, u64) {
        let mut skipper = SkipCustomSections::new(reader, keep);
        let mut out = Vec::new();
        skipper
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        (out, skipper.skipped)
    }

    #[test]
    fn custom_sections_are_left_out_unless_kept() {
        let big = "x".repeat(100_000);
        let wasm = wat::parse_str(format!(
            r#"(module (@custom "big" "{big}") (@custom "version" "1.0") (func (export "f")) (@custom "other" (after code) "zz"))"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut names = custom_section_names(&wasm);
        names.sort();
        assert_eq!(names, ["big", "other", "version"]);
        for (label, (out, skipped)) in [
            (
                "whole reads",
                filtered(wasm.as_slice(), |name| name == "version"),
            ),
            (
                "one-byte reads",
                filtered(OneByte(&wasm), |name| name == "version"),
            ),
        ] {
            assert_eq!(custom_section_names(&out), ["version"], "{label}");
            assert_eq!(out.len() as u64 + skipped, wasm.len() as u64, "{label}");
        }
        let (out, _) = filtered(wasm.as_slice(), |_| true);
        assert_eq!(out, wasm);
    }

    #[test]
    fn a_custom_section_cut_short_stays_cut_short() {
        let wasm = wat::parse_str(r#"(module (@custom "big" "0123456789"))"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let cut = &wasm[..wasm.len() - 3];
        let (out, skipped) = filtered(cut, |_| false);
        assert_eq!(skipped, 0);
        assert!(cut.starts_with(&out) && out.len() > 8, "{out:?}");
        assert!(scan(cut).is_err());
        assert!(scan(OneByte(cut)).is_err());
    }

    /// A module whose data section holds `data_len` bytes.
    fn module_with_data(data_len: usize) -> Vec<u8> {
        let mut wasm = wat::parse_str(r#"(module (memory 1) (func (export "f")))"#)
            .unwrap_or_else(|e| panic!("{e}"));
        // Data section (id 11): one active segment at offset 0 of memory 0.
        let mut body = vec![1u8, 0x00, 0x41, 0x00, 0x0b];
        push_leb128(&mut body, data_len as u64);
        body.resize(body.len() + data_len, 0xab);
        wasm.push(11);
        push_leb128(&mut wasm, body.len() as u64);
        wasm.extend_from_slice(&body);
        wasm
    }

    /// Regression: the structural pass buffered a module's whole data
    /// section, so a module with gigabytes of embedded data took gigabytes.
    #[test]
    fn scan_reads_past_a_module_data_section_without_holding_it() {
        let wasm = module_with_data(4 * 1024 * 1024);
        let (out, skipped) = {
            let mut skipper =
                SkipCustomSections::new(wasm.as_slice(), |_| true).skipping_module_data();
            let mut out = Vec::new();
            skipper
                .read_to_end(&mut out)
                .unwrap_or_else(|e| panic!("{e}"));
            (out, skipper.skipped)
        };
        assert!(out.len() < 1024, "the parser is handed {} bytes", out.len());
        assert!(out.len() as u64 + skipped == wasm.len() as u64);
        for result in [scan(wasm.as_slice()), scan(OneByte(&wasm))] {
            if let Err(ScanError::Malformed { offset, message }) = &result {
                panic!("malformed at {offset}: {message}");
            }
            assert!(result.is_ok());
        }
    }

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

    /// Regression: every rustc-built module got the title
    /// `crate_name-<hash>.wasm`, the linker's name for its output file.
    #[test]
    fn a_linker_written_module_name_is_not_a_title() {
        let title = |module_name: &str| {
            let wasm = wat::parse_str(format!("(module ${module_name})"))
                .unwrap_or_else(|e| panic!("{e}"));
            scan(wasm.as_slice())
                .unwrap_or_else(|_| panic!("scan of {module_name}"))
                .annotations
                .get(TITLE)
                .cloned()
        };
        assert_eq!(title("wasi_demo_app-b7b103588161991d.wasm"), None);
        assert_eq!(title("greeter"), Some("greeter".to_owned()));
    }

    #[test]
    fn a_module_with_a_data_count_section_scans_with_its_data_left_out() {
        let wasm = wat::parse_str(
            r#"(module (memory 1) (data $d "abc")
                 (func (memory.init $d (i32.const 0) (i32.const 0) (i32.const 3))))"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(scan(wasm.as_slice()).is_ok());
    }

    #[test]
    fn a_module_data_section_cut_short_is_still_refused() {
        let wasm = module_with_data(100_000);
        for cut in [wasm.len() - 1, wasm.len() - 50_000, wasm.len() - 99_990] {
            assert!(scan(&wasm[..cut]).is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn component_sections_with_module_ids_are_not_skipped() {
        // In a component, ids 10 and 11 are imports and exports.
        let component = wat::parse_str(r#"(component (import "f" (func)) (export "g" (func 0)))"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut skipper =
            SkipCustomSections::new(component.as_slice(), |_| true).skipping_module_data();
        let mut out = Vec::new();
        skipper
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out, component);
    }

    #[test]
    fn scan_reports_offsets_in_the_input() {
        // Garbage after a dropped 1000-byte custom section.
        let mut wasm = wat::parse_str(format!(
            r#"(module (@custom "big" "{}"))"#,
            "y".repeat(1000)
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let garbage_at = wasm.len() as u64;
        wasm.extend_from_slice(&[0x7f, 0x01, 0x00]);
        match scan(wasm.as_slice()) {
            // The unknown section's contents start after its id and size.
            Err(ScanError::Malformed { offset, .. }) => assert_eq!(offset, garbage_at + 2),
            _ => panic!("malformed input accepted"),
        }
    }
}
