//! Inputs and readers the unit tests of the passes share.

use std::io::{self, Read};

use super::skip::{push_leb128, SkipCustomSections};

/// A reader that hands out one byte per call, like the slowest pipe.
pub(super) struct OneByte<'a>(pub(super) &'a [u8]);

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

/// What [`SkipCustomSections`] hands out of `reader`, keeping the custom
/// sections `keep` accepts, and how many bytes it left out.
pub(super) fn filtered(reader: impl Read, keep: fn(&str) -> Option<u64>) -> (Vec<u8>, u64) {
    read_through(SkipCustomSections::new(reader, keep))
}

/// Everything `skipper` hands out, and how many bytes it left out.
pub(super) fn read_through(mut skipper: SkipCustomSections<'_>) -> (Vec<u8>, u64) {
    let mut out = Vec::new();
    skipper
        .read_to_end(&mut out)
        .unwrap_or_else(|e| panic!("{e}"));
    (out, skipper.skipped)
}

/// A module whose data section holds `data_len` bytes.
pub(super) fn module_with_data(data_len: usize) -> Vec<u8> {
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
