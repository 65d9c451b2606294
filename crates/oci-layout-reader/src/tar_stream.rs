//! A small, strict tar reader for untrusted input: one pass, bounded memory.
//!
//! It understands what image tars use (ustar and GNU headers, GNU long names,
//! PAX `path`/`linkpath`/`size` records, base-256 sizes) and nothing is ever
//! held in memory but one header and the (capped) extension records. Entry
//! data is handed to the caller in chunks. A short read anywhere is
//! [`TarError::Truncated`], never a silently short entry.

use std::io::{self, Read};

/// Tar block size.
pub(crate) const BLOCK: usize = 512;
/// Longest entry or link name accepted (Linux's PATH_MAX).
pub(crate) const MAX_NAME_LEN: u64 = 4096;
/// Largest PAX extended header accepted.
const MAX_PAX_LEN: u64 = 64 * 1024;
/// Size of the chunks entry data is handed out in.
const CHUNK_LEN: usize = 64 * 1024;

/// What kind of entry a header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A regular file (types `0`, NUL and `7`).
    File,
    /// A directory (`5`).
    Directory,
    /// A hard link (`1`).
    HardLink,
    /// A symbolic link (`2`).
    SymLink,
    /// A character or block device (`3`, `4`).
    Device,
    /// A FIFO (`6`).
    Fifo,
    /// A PAX global header (`g`): applies to nothing this reader needs.
    GlobalHeader,
    /// Any other type byte.
    Other(u8),
}

/// One entry's header, extensions applied.
#[derive(Debug, Clone)]
pub(crate) struct EntryHeader {
    /// The entry's name (lossy UTF-8), as stored.
    pub(crate) name: String,
    /// The entry's kind.
    pub(crate) kind: EntryKind,
    /// The number of data bytes that follow.
    pub(crate) size: u64,
}

/// Why reading stopped.
#[derive(Debug)]
pub(crate) enum TarError {
    /// The input could not be read.
    Io(io::Error),
    /// The stream ended inside a header or entry (`entry` is the entry's name
    /// when known), or before the end-of-archive blocks.
    Truncated { entry: Option<String> },
    /// A header that is not a valid tar header.
    BadHeader { offset: u64, reason: &'static str },
}

/// Reads tar entries one at a time from `R`.
pub(crate) struct TarStream<R> {
    input: R,
    offset: u64,
    buffer: Vec<u8>,
}

impl<R: Read> TarStream<R> {
    pub(crate) fn new(input: R) -> Self {
        TarStream {
            input,
            offset: 0,
            buffer: vec![0; CHUNK_LEN],
        }
    }

    /// The next entry's header, or `None` at the end-of-archive block. The
    /// caller must then consume the entry with [`data`](Self::data).
    pub(crate) fn next_header(&mut self) -> Result<Option<EntryHeader>, TarError> {
        let mut long_name: Option<String> = None;
        let mut pax_name: Option<String> = None;
        let mut pax_size: Option<u64> = None;
        loop {
            let offset = self.offset;
            let mut block = [0u8; BLOCK];
            let filled = self.read_full(&mut block)?;
            if filled < BLOCK && offset == 0 {
                return Err(TarError::BadHeader {
                    offset,
                    reason: "the file is shorter than one tar header (512 bytes)",
                });
            }
            if filled < BLOCK {
                return Err(TarError::Truncated { entry: None });
            }
            if block.iter().all(|&b| b == 0) {
                if long_name.is_some() || pax_name.is_some() || pax_size.is_some() {
                    return Err(TarError::BadHeader {
                        offset,
                        reason: "an extended header describes no entry",
                    });
                }
                return Ok(None);
            }
            check_checksum(&block).map_err(|reason| TarError::BadHeader { offset, reason })?;
            let size = parse_size(&block[124..136])
                .map_err(|reason| TarError::BadHeader { offset, reason })?;
            let type_byte = block[156];
            match type_byte {
                b'L' | b'K' | b'x' => {
                    let limit = if type_byte == b'x' {
                        MAX_PAX_LEN
                    } else {
                        MAX_NAME_LEN
                    };
                    if size > limit {
                        return Err(TarError::BadHeader {
                            offset,
                            reason: "an extended header is larger than this reader accepts",
                        });
                    }
                    let mut bytes = Vec::new();
                    self.data(size, None, |chunk| bytes.extend_from_slice(chunk))?;
                    match type_byte {
                        b'L' => long_name = Some(c_string(&bytes)),
                        // Link targets are never followed; the entry is refused by kind.
                        b'K' => {}
                        _ => {
                            let records = parse_pax(&bytes)
                                .map_err(|reason| TarError::BadHeader { offset, reason })?;
                            for (key, value) in records {
                                match key {
                                    "path" => pax_name = Some(value.to_owned()),
                                    "size" => {
                                        pax_size = Some(value.parse().map_err(|_| {
                                            TarError::BadHeader {
                                                offset,
                                                reason: "a PAX size record is not a number",
                                            }
                                        })?)
                                    }
                                    _ => {}
                                }
                            }
                        }
                    }
                    continue;
                }
                _ => {}
            }
            let name = pax_name
                .or(long_name)
                .unwrap_or_else(|| header_name(&block));
            let kind = match type_byte {
                b'0' | 0 | b'7' => EntryKind::File,
                b'5' => EntryKind::Directory,
                b'1' => EntryKind::HardLink,
                b'2' => EntryKind::SymLink,
                b'3' | b'4' => EntryKind::Device,
                b'6' => EntryKind::Fifo,
                b'g' => EntryKind::GlobalHeader,
                other => EntryKind::Other(other),
            };
            return Ok(Some(EntryHeader {
                name,
                kind,
                size: pax_size.unwrap_or(size),
            }));
        }
    }

    /// Reads the `size` data bytes of the current entry and its padding,
    /// handing the data to `sink` in chunks.
    pub(crate) fn data(
        &mut self,
        size: u64,
        entry: Option<&str>,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<(), TarError> {
        let truncated = || TarError::Truncated {
            entry: entry.map(str::to_owned),
        };
        let mut remaining = size;
        let mut buffer = std::mem::take(&mut self.buffer);
        let result = (|| {
            while remaining > 0 {
                let want = usize::try_from(remaining).map_or(CHUNK_LEN, |r| r.min(CHUNK_LEN));
                let n = self.read_some(&mut buffer[..want])?;
                if n == 0 {
                    return Err(truncated());
                }
                sink(&buffer[..n]);
                remaining -= n as u64;
            }
            let padding = padding(size);
            if self.read_full(&mut buffer[..padding])? < padding {
                return Err(truncated());
            }
            Ok(())
        })();
        self.buffer = buffer;
        result
    }

    /// Fills `buffer` unless the input ends first; returns how much was read.
    fn read_full(&mut self, buffer: &mut [u8]) -> Result<usize, TarError> {
        let mut filled = 0;
        while filled < buffer.len() {
            let n = self.read_some(&mut buffer[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        Ok(filled)
    }

    fn read_some(&mut self, buffer: &mut [u8]) -> Result<usize, TarError> {
        loop {
            match self.input.read(buffer) {
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(TarError::Io(e)),
            }
        }
    }
}

/// Zero bytes after `size` bytes of data to reach the next block.
fn padding(size: u64) -> usize {
    // The remainder is below 512, so it fits any usize.
    let rest = (size % BLOCK as u64) as usize;
    if rest == 0 {
        0
    } else {
        BLOCK - rest
    }
}

/// The bytes before the first NUL, as lossy UTF-8.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The name in a header block: POSIX ustar joins `prefix/name`; GNU headers
/// use the prefix field for other things.
fn header_name(block: &[u8; BLOCK]) -> String {
    let name = c_string(&block[..100]);
    let is_posix_ustar = &block[257..263] == b"ustar\0";
    let prefix = if is_posix_ustar {
        c_string(&block[345..500])
    } else {
        String::new()
    };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

fn check_checksum(block: &[u8; BLOCK]) -> Result<(), &'static str> {
    let stored = parse_octal(&block[148..156]).ok_or("the header checksum is not a number")?;
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &byte) in block.iter().enumerate() {
        let byte = if (148..156).contains(&i) { b' ' } else { byte };
        unsigned += u64::from(byte);
        signed += i64::from(byte as i8);
    }
    if stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed) {
        Ok(())
    } else {
        Err("the header checksum does not match (not a tar, or a corrupt one)")
    }
}

/// An octal field: digits, optionally surrounded by spaces and NULs.
fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ')
        .collect::<Vec<u8>>();
    if text.is_empty() {
        return Some(0);
    }
    let mut value: u64 = 0;
    for digit in text {
        if !(b'0'..=b'7').contains(&digit) {
            return None;
        }
        value = value.checked_mul(8)?.checked_add(u64::from(digit - b'0'))?;
    }
    Some(value)
}

/// The size field: octal, or GNU base-256 when the high bit is set.
fn parse_size(field: &[u8]) -> Result<u64, &'static str> {
    if field[0] & 0x80 != 0 {
        if field[0] & 0x40 != 0 {
            return Err("the header gives a negative size");
        }
        let mut value: u64 = u64::from(field[0] & 0x3f);
        for &byte in &field[1..] {
            value = value
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(byte)))
                .ok_or("the header's size does not fit in 64 bits")?;
        }
        return Ok(value);
    }
    parse_octal(field).ok_or("the header's size is not an octal number")
}

/// PAX records: `<len> <key>=<value>\n`, repeated.
fn parse_pax(mut bytes: &[u8]) -> Result<Vec<(&str, &str)>, &'static str> {
    const BAD: &str = "a PAX extended header is malformed";
    let mut records = Vec::new();
    while !bytes.is_empty() {
        if bytes.iter().all(|&b| b == 0) {
            break;
        }
        let space = bytes.iter().position(|&b| b == b' ').ok_or(BAD)?;
        let len: usize = std::str::from_utf8(&bytes[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(BAD)?;
        if len <= space + 1 || len > bytes.len() || bytes[len - 1] != b'\n' {
            return Err(BAD);
        }
        let record = std::str::from_utf8(&bytes[space + 1..len - 1]).map_err(|_| BAD)?;
        let (key, value) = record.split_once('=').ok_or(BAD)?;
        records.push((key, value));
        bytes = &bytes[len..];
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_256_sizes_parse() {
        let mut field = [0u8; 12];
        field[0] = 0x80;
        field[7] = 0x02; // 2 << 32 = 8 GiB
        assert_eq!(parse_size(&field).unwrap(), 8 << 30);
        field[0] = 0xff;
        assert!(parse_size(&field).is_err());
    }

    #[test]
    fn octal_fields_parse() {
        assert_eq!(parse_octal(b"00000001750\0"), Some(0o1750));
        assert_eq!(parse_octal(b"  17 \0"), Some(0o17));
        assert_eq!(parse_octal(b"\0\0\0"), Some(0));
        assert_eq!(parse_octal(b"0009"), None);
    }

    #[test]
    fn pax_records_parse() {
        let records = parse_pax(b"16 path=a/b/c.d\n11 size=42\n").unwrap();
        assert_eq!(records, [("path", "a/b/c.d"), ("size", "42")]);
        assert!(parse_pax(b"99 path=x\n").is_err());
        assert!(parse_pax(b"x path=x\n").is_err());
    }
}
