//! The bytes the passes read: a binary's [`Source`] (any reader, or a file
//! that can be read past by seeking), a reader that leaves out the sections a
//! pass has no use for without holding them ([`SkipCustomSections`]), and
//! one that asks for everything the parser needs in one read ([`FullReads`]).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use crate::WasmKind;

/// Appends `value` as an unsigned LEB128.
pub(super) fn push_leb128(out: &mut Vec<u8>, mut value: u64) {
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
pub(super) fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
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
pub(super) struct FullReads<R>(pub(super) R);

impl<R: Read> Read for FullReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_up_to(&mut self.0, buf)
    }
}

/// Where the bytes of a binary come from: any reader, bytes in memory, or
/// an open file, which can be read past by seeking instead of reading (so a
/// large custom or data section costs nothing to skip).
pub(super) enum Source<'a> {
    /// Any reader: skipping reads and drops.
    Stream(Box<dyn Read + 'a>),
    /// The whole binary, already read (a small file): skipping moves on.
    Bytes(&'a [u8]),
    /// A file at its start, and its length.
    File { file: File, len: u64 },
}

impl<'a> Source<'a> {
    pub(super) fn file(file: File) -> io::Result<Source<'a>> {
        let len = file.metadata()?.len();
        Ok(Source::File { file, len })
    }

    /// Moves `n` bytes on, or to the end if fewer are left; returns how far.
    fn skip(&mut self, n: u64) -> io::Result<u64> {
        match self {
            Source::Stream(reader) => io::copy(&mut reader.take(n), &mut io::sink()),
            Source::Bytes(bytes) => {
                // At most the slice's length, which is a usize.
                let step = n.min(bytes.len() as u64) as usize;
                *bytes = &bytes[step..];
                Ok(step as u64)
            }
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
            Source::Bytes(bytes) => bytes.read(buf),
            Source::File { file, .. } => file.read(buf),
        }
    }
}

/// The room made for a section header at first: its id and two LEB128s
/// (at most 5 bytes each), and a name of up to 53 bytes.
const HEADER_ROOM: usize = 64;

/// A reader that leaves out the top-level custom sections whose name `keep`
/// refuses (`None`) or that are larger than the size it allows (`Some`),
/// reading past them without holding them, so that neither the
/// structural pass nor the decoder buffers a large custom section (debug
/// info, embedded data) they have no use for. Custom sections never change
/// what a module or component means. Sections inside nested modules and
/// components go through untouched. Anything malformed is passed on as it is,
/// for the parser to report.
pub(super) struct SkipCustomSections<'a> {
    inner: io::BufReader<Source<'a>>,
    keep: fn(&str) -> Option<u64>,
    /// Bytes to hand out before reading on.
    pending: Vec<u8>,
    pending_at: usize,
    state: SkipState,
    /// How many bytes were left out so far.
    pub(super) skipped: u64,
    /// Custom sections `keep` wanted but left out for their size: name and
    /// size of the content after the name.
    pub(super) too_large: Vec<(String, u64)>,
    /// How many bytes were read from the input so far.
    position: u64,
    /// Where the input ended, when a section left out was cut short by its
    /// end: the parser then sees the input end early, so its offset of the
    /// end is not the input's.
    pub(super) truncated_at: Option<u64>,
    /// Whether a core module's data section is left out too.
    skip_module_data: bool,
    /// The preamble as read, to tell a core module from a component: its
    /// first `preamble_len` bytes.
    preamble: [u8; 8],
    preamble_len: usize,
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
    pub(super) fn new(reader: impl Read + 'a, keep: fn(&str) -> Option<u64>) -> Self {
        Self::from_source(Source::Stream(Box::new(reader)), keep)
    }

    pub(super) fn from_source(source: Source<'a>, keep: fn(&str) -> Option<u64>) -> Self {
        // Bytes in memory need no buffer of their own: a small one for the
        // one-byte reads of section headers (reads larger than it go
        // straight to the bytes). A new buffer costs its size in memory
        // and in zeroing, for every input.
        let capacity = match source {
            Source::Bytes(_) => 256,
            Source::Stream(_) | Source::File { .. } => 64 * 1024,
        };
        SkipCustomSections {
            inner: io::BufReader::with_capacity(capacity, source),
            keep,
            // Room for a section header with a short name (a custom
            // section's): the header is read into this buffer, reused.
            pending: Vec::with_capacity(HEADER_ROOM),
            pending_at: 0,
            state: SkipState::Preamble(8),
            skipped: 0,
            too_large: Vec::new(),
            position: 0,
            truncated_at: None,
            skip_module_data: false,
            preamble: [0; 8],
            preamble_len: 0,
        }
    }

    /// Also leaves out the bodies of a core module's data and code sections,
    /// which hold nearly all of a module and which the parser would buffer
    /// (the data section whole, the code section one function body at a
    /// time, and one body can be hundreds of MB): their framing is still
    /// checked (a section cut short is handed to the parser, which reports
    /// it, and the count must fit the size), and the parser gets a stand-in
    /// with as many empty items, so its count checks hold. What a function
    /// body holds is not checked: that is validation, which this pass does
    /// not do. Only for the structural pass.
    pub(super) fn skipping_module_data(mut self) -> Self {
        self.skip_module_data = true;
        self
    }

    /// The stand-in item for the top-level section `id` when its body is
    /// left out whatever it holds: a passive data segment of no bytes, or
    /// a function body of no locals and no code (`end`), with its size.
    fn stand_in_item(&self, id: u8) -> Option<&'static [u8]> {
        const CODE_SECTION: u8 = 10;
        const DATA_SECTION: u8 = 11;
        let module = matches!(
            WasmKind::from_preamble(&self.preamble[..self.preamble_len]),
            Ok(WasmKind::Module)
        );
        match id {
            CODE_SECTION if self.skip_module_data && module => Some(&[0x02, 0x00, 0x0b]),
            DATA_SECTION if self.skip_module_data && module => Some(&[0x01, 0x00]),
            _ => None,
        }
    }

    /// Reads one byte into `header`; `false` at the end of the input.
    fn header_byte(&mut self, header: &mut Vec<u8>) -> io::Result<bool> {
        let mut byte = [0u8; 1];
        let read = read_up_to(&mut self.inner, &mut byte)?;
        self.position += read as u64;
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
        // The buffer of what was handed out last (all of it by now).
        let mut header = std::mem::take(&mut self.pending);
        header.clear();
        self.pending_at = 0;
        if !self.header_byte(&mut header)? {
            return Ok(()); // the end of the input
        }
        let id = header[0];
        let Some(size) = self.header_leb(&mut header)? else {
            return self.pass_all(header);
        };
        if let Some(item) = self.stand_in_item(id) {
            return self.replace_section(header, size, item);
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
        let rest = size - name_header - name_len;
        // A name that is not UTF-8 is the parser's to report.
        let Ok(name) = std::str::from_utf8(&header[name_start..]) else {
            self.state = SkipState::InSection(rest);
            return self.hand_out(header);
        };
        match (self.keep)(name) {
            Some(limit) if rest <= limit => {
                self.state = SkipState::InSection(rest);
                self.hand_out(header)
            }
            Some(_) => {
                let name = name.to_owned();
                self.skip_rest(header, rest)?;
                if matches!(self.state, SkipState::SectionStart) {
                    self.too_large.push((name, rest));
                }
                Ok(())
            }
            None => self.skip_rest(header, rest),
        }
    }

    /// Reads past the body of a data or code section (of `size` bytes, its
    /// `header` read) and hands the parser a stand-in with as many `item`s,
    /// so that the parser's count checks (against the data count and
    /// function sections) hold while the contents are never held.
    fn replace_section(&mut self, mut header: Vec<u8>, size: u64, item: &[u8]) -> io::Result<()> {
        let count_start = header.len();
        let Some(count) = self.header_leb(&mut header)? else {
            return self.pass_all(header);
        };
        let count_len = (header.len() - count_start) as u64;
        // Each real item takes at least as many bytes as its stand-in, so a
        // true count makes a stand-in no larger than the section; any other
        // count is malformed.
        let item_len = item.len() as u64;
        if count_len > size || count.saturating_mul(item_len) > size - count_len {
            return self.pass_all(header);
        }
        let rest = size - count_len;
        let dropped = self.skip_inner(rest)?;
        if dropped < rest {
            self.truncated_at = Some(self.position);
            return self.pass_all(header);
        }
        let mut body = header[count_start..].to_vec();
        for _ in 0..count {
            body.extend_from_slice(item);
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
            self.truncated_at = Some(self.position);
            return self.pass_all(header);
        }
        self.skipped += header.len() as u64 + rest;
        self.state = SkipState::SectionStart;
        // Kept for the next header, with nothing in it to hand out.
        self.pending_at = header.len();
        self.pending = header;
        Ok(())
    }

    /// Moves `n` bytes on in the input (what is buffered first, then the
    /// source itself); returns how far, less than `n` at the end.
    fn skip_inner(&mut self, n: u64) -> io::Result<u64> {
        let buffered = self.inner.buffer().len() as u64;
        let from_buffer = buffered.min(n);
        // At most the buffer's length, which is a usize.
        io::BufRead::consume(&mut self.inner, from_buffer as usize);
        let moved = from_buffer + self.inner.get_mut().skip(n - from_buffer)?;
        self.position += moved;
        Ok(moved)
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
            self.position += n as u64;
            if let SkipState::Preamble(_) = self.state {
                // At most what is left of the 8 bytes (the read's limit).
                let end = self.preamble_len + n;
                self.preamble[self.preamble_len..end].copy_from_slice(&buf[..n]);
                self.preamble_len = end;
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
    use crate::describe::scan::{scan, ScanError};
    use crate::describe::test_inputs::{filtered, read_through, OneByte};
    use wasmparser::{Parser, Payload};

    /// Gives `errors` in turn, then `data`.
    struct Failing {
        errors: Vec<io::ErrorKind>,
        data: &'static [u8],
    }

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if let Some(kind) = self.errors.pop() {
                return Err(io::Error::from(kind));
            }
            self.data.read(buf)
        }
    }

    /// An interrupted read is retried; any other error ends the read.
    #[test]
    fn read_up_to_retries_an_interruption_and_stops_at_an_error() {
        let mut buf = [0u8; 4];
        let mut interrupted = Failing {
            errors: vec![io::ErrorKind::Interrupted],
            data: b"wasm",
        };
        assert_eq!(read_up_to(&mut interrupted, &mut buf).unwrap(), 4);
        assert_eq!(&buf, b"wasm");
        let mut failing = Failing {
            errors: vec![io::ErrorKind::Other; 1000],
            data: b"wasm",
        };
        let error = read_up_to(&mut failing, &mut buf).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::Other);
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
                filtered(wasm.as_slice(), |name| {
                    (name == "version").then_some(u64::MAX)
                }),
            ),
            (
                "one-byte reads",
                filtered(OneByte(&wasm), |name| {
                    (name == "version").then_some(u64::MAX)
                }),
            ),
        ] {
            assert_eq!(custom_section_names(&out), ["version"], "{label}");
            assert_eq!(out.len() as u64 + skipped, wasm.len() as u64, "{label}");
        }
        let (out, _) = filtered(wasm.as_slice(), |_| Some(u64::MAX));
        assert_eq!(out, wasm);
    }

    /// Bytes in memory (a small file) give what a stream of them gives,
    /// whole or cut inside a section left out; skipping stops at their end.
    #[test]
    fn bytes_in_memory_are_read_and_skipped_as_a_stream_of_them() {
        let big = "x".repeat(5000);
        let wasm = wat::parse_str(format!(
            r#"(module (@custom "big" "{big}") (@custom "version" "1.0") (func (export "f")))"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let keep = |name: &str| (name == "version").then_some(u64::MAX);
        for cut in [wasm.len(), wasm.len() - 40, 100] {
            let input = &wasm[..cut];
            let from_bytes =
                read_through(SkipCustomSections::from_source(Source::Bytes(input), keep));
            let from_stream = read_through(SkipCustomSections::new(input, keep));
            assert_eq!(from_bytes, from_stream, "cut at {cut}");
        }
        let mut source = Source::Bytes(b"0123456789");
        assert_eq!(source.skip(4).unwrap_or_else(|e| panic!("{e}")), 4);
        let mut rest = [0u8; 2];
        assert_eq!(source.read(&mut rest).unwrap_or_else(|e| panic!("{e}")), 2);
        assert_eq!(&rest, b"45");
        assert_eq!(source.skip(100).unwrap_or_else(|e| panic!("{e}")), 4);
        assert_eq!(source.read(&mut rest).unwrap_or_else(|e| panic!("{e}")), 0);
    }

    #[test]
    fn a_module_code_section_is_replaced_by_empty_bodies_of_the_same_count() {
        let wasm = wat::parse_str(
            r#"(module (func (result i32) i32.const 1 i32.const 2 i32.add) (func nop nop nop))"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let (out, skipped) =
            read_through(SkipCustomSections::new(wasm.as_slice(), |_| None).skipping_module_data());
        assert!(skipped > 0, "nothing was left out");
        assert_eq!(out.len() as u64 + skipped, wasm.len() as u64);
        // Two bodies of no locals and no code (`02 00 0b` each), counted.
        assert!(
            out.ends_with(&[0x0a, 0x07, 0x02, 0x02, 0x00, 0x0b, 0x02, 0x00, 0x0b]),
            "{out:x?}"
        );
        let bodies = wasmparser::Parser::new(0)
            .parse_all(&out)
            .filter(|payload| matches!(payload, Ok(wasmparser::Payload::CodeSectionEntry(_))))
            .count();
        assert_eq!(bodies, 2);
    }

    #[test]
    fn a_kept_section_over_its_limit_is_left_out_and_named() {
        let wasm = wat::parse_str(
            r#"(module (@custom "version" "1.0") (@custom "description" "0123456789"))"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut skipper = SkipCustomSections::new(wasm.as_slice(), |_| Some(9));
        let mut out = Vec::new();
        skipper
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(custom_section_names(&out), ["version"]);
        assert_eq!(skipper.too_large, [("description".to_owned(), 10)]);
    }

    #[test]
    fn a_custom_section_cut_short_stays_cut_short() {
        let wasm = wat::parse_str(r#"(module (@custom "big" "0123456789"))"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let cut = &wasm[..wasm.len() - 3];
        let (out, skipped) = filtered(cut, |_| None);
        assert_eq!(skipped, 0);
        assert!(cut.starts_with(&out) && out.len() > 8, "{out:?}");
        assert!(scan(cut).is_err());
        assert!(scan(OneByte(cut)).is_err());
    }

    #[test]
    fn component_sections_with_module_ids_are_not_skipped() {
        // In a component, ids 10 and 11 are imports and exports.
        let component = wat::parse_str(r#"(component (import "f" (func)) (export "g" (func 0)))"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let (out, skipped) = read_through(
            SkipCustomSections::new(component.as_slice(), |_| Some(u64::MAX))
                .skipping_module_data(),
        );
        assert_eq!((out, skipped), (component, 0));
    }

    /// A module (preamble only) and then one custom section named `name`
    /// holding `data`, its size as the section says it.
    fn with_custom(name: &[u8], data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        push_leb128(&mut body, name.len() as u64);
        body.extend_from_slice(name);
        body.extend_from_slice(data);
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.push(0);
        push_leb128(&mut wasm, body.len() as u64);
        wasm.extend_from_slice(&body);
        wasm
    }

    /// Found by mutation testing: a name of 128 bytes or more takes two
    /// bytes of LEB128, and the rest of the section is what follows it.
    #[test]
    fn a_custom_section_with_a_long_name_is_left_out_whole() {
        for len in [127, 128, 300, 1024] {
            let mut wasm = with_custom(&vec![b'n'; len], b"data");
            let tail = wat::parse_str(r#"(module (func))"#).unwrap_or_else(|e| panic!("{e}"));
            wasm.extend_from_slice(&tail[8..]);
            let (out, skipped) = filtered(wasm.as_slice(), |_| None);
            assert_eq!(out, tail, "name of {len} bytes");
            assert_eq!(skipped, (wasm.len() - tail.len()) as u64);
            assert!(scan(wasm.as_slice()).is_ok());
        }
    }

    /// A name over 1024 bytes, or longer than its section, is not read
    /// through: the section goes to the parser as it is (which refuses the
    /// second).
    #[test]
    fn an_odd_custom_section_name_goes_to_the_parser() {
        let long = with_custom(&vec![b'n'; 1025], b"data");
        assert_eq!(filtered(long.as_slice(), |_| None), (long.clone(), 0));
        assert!(scan(long.as_slice()).is_ok());
        // The section says 3 bytes; its name says 5.
        let mut short = b"\0asm\x01\0\0\0".to_vec();
        short.extend_from_slice(&[0, 3, 5]);
        short.extend_from_slice(b"named");
        assert_eq!(filtered(short.as_slice(), |_| None), (short.clone(), 0));
        assert!(scan(short.as_slice()).is_err());
        // Exactly as long as its section (no data): left out.
        let mut exact = b"\0asm\x01\0\0\0".to_vec();
        exact.extend_from_slice(&[0, 6, 5]);
        exact.extend_from_slice(b"named");
        assert_eq!(
            filtered(exact.as_slice(), |_| None),
            (exact[..8].to_vec(), (exact.len() - 8) as u64)
        );
    }

    /// Found by mutation testing: a data section of 128 segments or more
    /// has a two-byte count, and its stand-in keeps the count.
    #[test]
    fn a_data_section_of_many_segments_is_replaced_with_its_count() {
        for count in [127, 128, 200] {
            let segments = r#"(data "ab")"#.repeat(count);
            let wasm =
                wat::parse_str(format!("(module {segments})")).unwrap_or_else(|e| panic!("{e}"));
            let result = scan(wasm.as_slice());
            if let Err(ScanError::Malformed { offset, message }) = &result {
                panic!("{count} segments: malformed at {offset}: {message}");
            }
            assert!(result.is_ok(), "{count} segments");
        }
    }

    /// A data or code section whose count cannot fit its bytes, or whose count
    /// alone is longer than the section, is malformed: it goes to the
    /// parser as it is, never as a stand-in of that many items (a count
    /// of four billion would be a stand-in of 8 GiB).
    #[test]
    fn a_data_section_count_that_does_not_fit_goes_to_the_parser() {
        let passed = |wasm: &[u8]| {
            read_through(SkipCustomSections::new(wasm, |_| None).skipping_module_data())
        };
        // 2^32 - 1 segments said in 6 bytes.
        let mut many = b"\0asm\x01\0\0\0".to_vec();
        many.extend_from_slice(&[11, 6, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]);
        assert_eq!(passed(&many), (many.clone(), 0));
        // 1,000 said in 3 bytes.
        let mut thousand = b"\0asm\x01\0\0\0".to_vec();
        thousand.extend_from_slice(&[11, 3, 0xe8, 0x07, 0x00]);
        assert_eq!(passed(&thousand), (thousand.clone(), 0));
        // A count of two bytes in a section of one.
        let mut over = b"\0asm\x01\0\0\0".to_vec();
        over.extend_from_slice(&[11, 1, 0xc8, 0x01]);
        assert_eq!(passed(&over), (over.clone(), 0));
        // Found by mutation testing: one function body said in a code
        // section of three bytes, the count's and two more, which no body
        // fits in (the smallest, no locals and `end`, takes three with its
        // size). The parser refuses it (a body of no bytes, then a byte
        // left over); as a stand-in it would have been a valid empty body.
        let mut one_short = b"\0asm\x01\0\0\0".to_vec();
        one_short.extend_from_slice(&[10, 3, 0x01, 0x00, 0x0b]);
        assert_eq!(passed(&one_short), (one_short.clone(), 0));
        assert!(scan(one_short.as_slice()).is_err());
    }

    /// Found by mutation testing: a code or data section whose items are
    /// each exactly as small as their stand-ins (bodies of no locals and no
    /// code, empty passive segments), or which holds none, is replaced like
    /// any other, and the sections after it are still read past by the same
    /// rules: here a `description` over its 64 KiB limit, which must be
    /// reported and never become an annotation.
    #[test]
    fn sections_after_a_code_or_data_section_of_smallest_items_are_still_left_out() {
        let preamble = b"\0asm\x01\0\0\0".to_vec();
        let module = |text: &str| wat::parse_str(text).unwrap_or_else(|e| panic!("{e}"));
        let mut no_bodies = preamble.clone();
        no_bodies.extend_from_slice(&[10, 1, 0]);
        let mut no_segments = preamble.clone();
        no_segments.extend_from_slice(&[11, 1, 0]);
        let description = vec![b'd'; 64 * 1024 + 1];
        let section = with_custom(b"description", &description);
        for (label, mut wasm) in [
            ("two empty bodies", module("(module (func) (func))")),
            (
                "two empty segments",
                module(r#"(module (data "") (data ""))"#),
            ),
            ("a code section of no bodies", no_bodies),
            ("a data section of no segments", no_segments),
        ] {
            wasm.extend_from_slice(&section[preamble.len()..]);
            let scanned = match scan(wasm.as_slice()) {
                Ok(scanned) => scanned,
                Err(_) => panic!("{label}: refused"),
            };
            assert!(
                scanned.annotations.is_empty(),
                "{label}: {:?}",
                scanned.annotations.keys()
            );
            let too_large: Vec<(&str, u64)> = scanned
                .too_large
                .iter()
                .map(|t| (t.section.as_str(), t.size))
                .collect();
            assert_eq!(too_large, [("description", 64 * 1024 + 1)], "{label}");
        }
    }

    /// Found by mutation testing: input cut short inside a section left
    /// out is reported where the input ends.
    #[test]
    fn a_cut_inside_a_section_left_out_is_reported_where_the_input_ends() {
        let wasm = with_custom(b"big", &[7u8; 1000]);
        let cut = &wasm[..600];
        match scan(cut) {
            Err(ScanError::Malformed { offset, .. }) => assert_eq!(offset, 600),
            _ => panic!("a cut section was accepted"),
        }
    }
}
