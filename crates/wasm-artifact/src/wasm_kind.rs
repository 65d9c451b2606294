//! Telling a core module from a component (and from what is not wasm at all).

use std::fmt;

/// The 8-byte preamble of a core module: `\0asm`, version 1.
const MODULE_PREAMBLE: [u8; 8] = *b"\0asm\x01\x00\x00\x00";
/// The 8-byte preamble of a component: `\0asm`, version 0x0d, layer 1.
const COMPONENT_PREAMBLE: [u8; 8] = *b"\0asm\x0d\x00\x01\x00";

/// What a wasm binary is, from its first 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WasmKind {
    /// A core WebAssembly module (runs as `wasip1`).
    Module,
    /// A WebAssembly component (runs as `wasip2`).
    Component,
    /// A binary-encoded WIT package (what `wasm-tools component wit --wasm`
    /// writes): a component that only exports types. Its header is a
    /// component's, so only decoding tells it apart
    /// ([`WasmDescription::read`](crate::WasmDescription::read));
    /// [`WasmKind::from_preamble`] says `Component`.
    WitPackage,
}

impl WasmKind {
    /// The kind named by `preamble`, the first bytes of a file (8 or more
    /// are needed), or why it is not wasm.
    pub fn from_preamble(preamble: &[u8]) -> Result<WasmKind, NotWasm> {
        match preamble.get(..8) {
            Some(p) if p == MODULE_PREAMBLE => Ok(WasmKind::Module),
            Some(p) if p == COMPONENT_PREAMBLE => Ok(WasmKind::Component),
            _ => Err(NotWasm::describe(preamble)),
        }
    }

    /// The OS name the CNCF artifact and the index platform give this kind.
    pub fn wasi_os(self) -> &'static str {
        match self {
            WasmKind::Module => "wasip1",
            WasmKind::Component | WasmKind::WitPackage => "wasip2",
        }
    }
}

impl fmt::Display for WasmKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WasmKind::Module => "core module",
            WasmKind::Component => "component",
            WasmKind::WitPackage => "WIT package",
        })
    }
}

/// Why a file is not a wasm binary we can package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotWasm {
    reason: String,
}

impl NotWasm {
    /// A binary with a wasm header whose sections are cut short or malformed.
    pub(crate) fn malformed(offset: u64, message: &str) -> NotWasm {
        let reason = if message.contains("end-of-file") || message.contains("unexpected end") {
            format!("it is truncated ({message} at byte {offset})")
        } else {
            format!("it is malformed ({message} at byte {offset})")
        };
        NotWasm { reason }
    }

    fn describe(start: &[u8]) -> NotWasm {
        let reason = if start.is_empty() {
            "it is empty".to_owned()
        } else if start.starts_with(b"\0asm") && start.len() >= 8 {
            format!(
                "it has the wasm magic but version/layer bytes {}, neither a core module (01 00 00 00) nor a component (0d 00 01 00)",
                hex(&start[4..8])
            )
        } else if start.starts_with(b"\0asm") || b"\0asm".starts_with(start) {
            format!(
                "it is truncated: {} bytes, shorter than a wasm header",
                start.len()
            )
        } else if start.starts_with(b"\x7fELF") {
            "it is an ELF executable, not WebAssembly".to_owned()
        } else if start.starts_with(b"(module") || start.starts_with(b"(component") {
            "it is WebAssembly text (WAT); compile it to binary first (wasm-tools parse)".to_owned()
        } else if start
            .iter()
            .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        {
            "it is a text file, not WebAssembly".to_owned()
        } else {
            format!(
                "it does not start with the wasm magic \\0asm (starts with {})",
                hex(&start[..start.len().min(4)])
            )
        };
        NotWasm { reason }
    }
}

impl fmt::Display for NotWasm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_modules_from_components() {
        assert_eq!(
            WasmKind::from_preamble(b"\0asm\x01\0\0\0rest"),
            Ok(WasmKind::Module)
        );
        assert_eq!(
            WasmKind::from_preamble(b"\0asm\x0d\0\x01\0"),
            Ok(WasmKind::Component)
        );
    }

    /// A parser's complaint about input that ends early says "truncated";
    /// any other, "malformed"; both name the offset.
    #[test]
    fn malformed_input_is_told_from_truncated_input() {
        for (message, says) in [
            (
                "unexpected end-of-file",
                "it is truncated (unexpected end-of-file at byte 7)",
            ),
            (
                "unexpected end",
                "it is truncated (unexpected end at byte 7)",
            ),
            (
                "invalid section id",
                "it is malformed (invalid section id at byte 7)",
            ),
        ] {
            assert_eq!(NotWasm::malformed(7, message).to_string(), says);
        }
    }

    /// The kinds as messages and summaries name them, and the WASI
    /// version each runs as.
    #[test]
    fn kinds_are_named_and_have_a_wasi_os() {
        for (kind, name, os) in [
            (WasmKind::Module, "core module", "wasip1"),
            (WasmKind::Component, "component", "wasip2"),
            (WasmKind::WitPackage, "WIT package", "wasip2"),
        ] {
            assert_eq!(kind.to_string(), name);
            assert_eq!(kind.wasi_os(), os);
        }
    }

    #[test]
    fn names_what_is_not_wasm() {
        for (bytes, reason) in [
            (&b""[..], "empty"),
            (b"\0as", "truncated"),
            (b"\0asm\x01\0", "truncated"),
            (b"\x7fELF\x02\x01\x01\0", "ELF"),
            (b"(module)\n", "WAT"),
            (b"(component)", "WAT"),
            (b"\0asm\x01\0\0", "truncated: 7 bytes"),
            (b"hello world\n", "text file"),
            (b"\0asm\x02\0\0\0", "version/layer bytes 02 00 00 00"),
            (b"\xff\xfe\0\x01\x02\x03\x04\x05", "starts with ff fe 00 01"),
        ] {
            let err = WasmKind::from_preamble(bytes).unwrap_err();
            assert!(err.to_string().contains(reason), "{bytes:?}: {err}");
        }
    }
}
