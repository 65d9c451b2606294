//! The structural pass: one walk with wasmparser over every section of a
//! binary, nested modules and components included, without validating it.
//! It refuses what is not wasm, is cut short or has malformed sections, holds
//! one section at a time (custom sections it has no use for and a module's
//! data are read past, see `skip`), and collects what the
//! top-level sections say: the metadata annotations, and a component's
//! top-level imports and exports (its world's keys, see `world`).

use std::collections::BTreeMap;
use std::io::{self, Read};

use wasmparser::{Chunk, ComponentExternalKind, Parser, Payload};

use super::metadata;
use super::skip::{read_up_to, FullReads, SkipCustomSections, Source};
use crate::{NotWasm, WasmKind};

/// What the structural pass found.
pub(super) struct Scan {
    /// Core module, component or WIT package, from the preamble.
    pub(super) kind: WasmKind,
    /// The annotations of the top-level metadata sections.
    pub(super) annotations: BTreeMap<String, String>,
    /// A component's top-level imports, by full name (a versioned
    /// interface name's version suffix applied), in order.
    pub(super) imports: Vec<String>,
    /// A component's top-level exports, by full name, with their kind.
    pub(super) exports: Vec<(String, ComponentExternalKind)>,
    /// Metadata and name sections, and titles, left out for their size.
    pub(super) too_large: Vec<metadata::TooLarge>,
}

/// Why the structural pass refused a binary.
pub(super) enum ScanError {
    /// The input could not be read.
    Read(io::Error),
    /// The preamble is not a wasm module's or component's.
    NotWasm(NotWasm),
    /// What wasmparser said, at an offset in the bytes it was given.
    Malformed { offset: u64, message: String },
}

impl From<wasmparser::BinaryReaderError> for ScanError {
    fn from(error: wasmparser::BinaryReaderError) -> Self {
        ScanError::Malformed {
            offset: error.offset(),
            message: error.message().to_owned(),
        }
    }
}

/// [`scan_source`] of any reader.
#[cfg(test)]
pub(super) fn scan<'a>(reader: impl Read + 'a) -> Result<Scan, ScanError> {
    scan_source(Source::Stream(Box::new(reader)))
}

/// Parses every section of the binary `source` yields, nested modules and
/// components included, without validating it; reads the top-level metadata
/// sections. A malformed binary's offset is in the input.
pub(super) fn scan_source(source: Source<'_>) -> Result<Scan, ScanError> {
    let mut reader = FullReads(
        SkipCustomSections::from_source(source, metadata::kept_up_to).skipping_module_data(),
    );
    let mut scan = scan_sections(&mut reader).map_err(|error| match error {
        // Offsets in the input, not in what the parser saw of it.
        ScanError::Malformed { offset, message } => ScanError::Malformed {
            offset: reader.0.truncated_at.unwrap_or(offset + reader.0.skipped),
            message,
        },
        other => other,
    })?;
    // Sections left out unread come first, in the order met; then titles.
    let titles = std::mem::take(&mut scan.too_large);
    scan.too_large = std::mem::take(&mut reader.0.too_large)
        .into_iter()
        .map(|(section, size)| metadata::TooLarge {
            limit: metadata::kept_up_to(&section).unwrap_or(0),
            section,
            size,
            title: false,
        })
        .chain(titles)
        .collect();
    Ok(scan)
}

/// How much of an input the structural pass reads before parsing.
const FIRST_READ: usize = 4096;

fn scan_sections(reader: &mut impl Read) -> Result<Scan, ScanError> {
    let mut parser = Parser::new(0);
    // The parsers of the modules and components enclosing the current one.
    let mut outer: Vec<Parser> = Vec::new();
    let mut scan = Scan {
        kind: WasmKind::Module,
        annotations: BTreeMap::new(),
        imports: Vec::new(),
        exports: Vec::new(),
        too_large: Vec::new(),
    };
    // The preamble is checked first, for a clearer message than the parser's.
    let mut preamble = [0u8; 8];
    let filled = read_up_to(reader, &mut preamble).map_err(ScanError::Read)?;
    scan.kind = WasmKind::from_preamble(&preamble[..filled]).map_err(ScanError::NotWasm)?;
    // A first read of up to FIRST_READ bytes: most modules' structure (the
    // reader leaves out custom sections and code) fits, and the parser
    // then never asks for more, which costs it an error made and dropped.
    let mut buffer = vec![0u8; FIRST_READ];
    buffer[..filled].copy_from_slice(&preamble[..filled]);
    let read = read_up_to(reader, &mut buffer[filled..]).map_err(ScanError::Read)?;
    buffer.truncate(filled + read);
    let mut eof = buffer.len() < FIRST_READ;
    // Where the parser's next bytes start in `buffer`.
    let mut start = 0;

    loop {
        let (consumed, payload) = match parser.parse(&buffer[start..], eof)? {
            Chunk::NeedMoreData(hint) => {
                buffer.drain(..start);
                start = 0;
                let end = buffer.len();
                buffer.resize(end + hint.max(1), 0);
                let read = read_up_to(reader, &mut buffer[end..]).map_err(ScanError::Read)?;
                buffer.truncate(end + read);
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
                    scan.imports.push(import?.name.full_name().into_owned());
                }
            }
            Payload::ComponentExportSection(exports) if top_level => {
                for export in exports {
                    let export = export?;
                    scan.exports
                        .push((export.name.full_name().into_owned(), export.kind));
                }
            }
            Payload::CustomSection(section) if top_level => {
                metadata::read_section(&section, &mut scan.annotations, &mut scan.too_large)?;
            }
            _ => {}
        }
        start += consumed;
    }
    // A top-level parser only ends at the end of the input, so nothing is left.
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::test_inputs::{module_with_data, read_through, OneByte};

    /// Regression: the structural pass buffered a module's whole data
    /// section, so a module with gigabytes of embedded data took gigabytes.
    #[test]
    fn scan_reads_past_a_module_data_section_without_holding_it() {
        let wasm = module_with_data(4 * 1024 * 1024);
        let (out, skipped) = read_through(
            SkipCustomSections::new(wasm.as_slice(), |_| Some(u64::MAX)).skipping_module_data(),
        );
        assert!(out.len() < 1024, "the parser is handed {} bytes", out.len());
        assert!(out.len() as u64 + skipped == wasm.len() as u64);
        for result in [scan(wasm.as_slice()), scan(OneByte(&wasm))] {
            if let Err(ScanError::Malformed { offset, message }) = &result {
                panic!("malformed at {offset}: {message}");
            }
            assert!(result.is_ok());
        }
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
