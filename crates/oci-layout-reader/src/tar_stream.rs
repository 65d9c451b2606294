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
    /// The entry's name (lossy UTF-8), as this reader takes it: a PAX
    /// `path`, else a GNU long name, else the header's own name.
    pub(crate) name: String,
    /// The name in the header block itself, which a reader that ignores
    /// PAX and GNU extensions uses instead.
    pub(crate) header_name: String,
    /// Why other mainstream readers (Go's archive/tar, GNU tar, Python's
    /// tarfile) may read this entry under another name: the other name and
    /// the reason. Such an entry must not be trusted as a layout file.
    pub(crate) ambiguity: Option<(String, &'static str)>,
    /// The entry's kind.
    pub(crate) kind: EntryKind,
    /// The number of data bytes that follow.
    pub(crate) size: u64,
    /// A link's target (lossy UTF-8): a PAX `linkpath`, else a GNU long
    /// link name, else the header's own link name. Empty for other kinds.
    pub(crate) link_target: String,
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
    /// The input is a compressed file, not a tar: `format` names the compression.
    Compressed { format: &'static str },
    /// Something after the end-of-archive marker that some reader would
    /// still read as entries.
    AfterEnd { offset: u64, reason: &'static str },
}

/// Extension records gathered for the next entry.
#[derive(Default)]
struct Extensions {
    long_name: Option<String>,
    long_link: Option<String>,
    pax_linkpath: Option<String>,
    pax_path: Option<String>,
    pax_size: Option<u64>,
    /// `GNU.sparse.name` (formats 0.1 and 1.0), or the entry's name when
    /// only other `GNU.sparse.*` records mark it sparse.
    sparse_name: Option<String>,
    sparse: bool,
    /// A second PAX `path` record that differs from the first.
    conflicting_paths: Option<String>,
}

impl Extensions {
    fn is_empty(&self) -> bool {
        self.long_name.is_none()
            && self.long_link.is_none()
            && self.pax_linkpath.is_none()
            && self.pax_path.is_none()
            && self.pax_size.is_none()
            && !self.sparse
    }

    /// Takes in the records of one PAX extended header.
    fn pax(&mut self, records: Vec<(&str, &str)>, offset: u64) -> Result<(), TarError> {
        for (key, value) in records {
            match key {
                "path" => {
                    if let Some(previous) = &self.pax_path {
                        if previous != value && self.conflicting_paths.is_none() {
                            self.conflicting_paths = Some(value.to_owned());
                        }
                    }
                    self.pax_path = Some(value.to_owned());
                }
                "linkpath" => self.pax_linkpath = Some(value.to_owned()),
                "size" => {
                    self.pax_size = Some(value.parse().map_err(|_| TarError::BadHeader {
                        offset,
                        reason: "a PAX size record is not a number",
                    })?)
                }
                "GNU.sparse.name" => {
                    self.sparse = true;
                    self.sparse_name = Some(value.to_owned());
                }
                key if key.starts_with("GNU.sparse.") => self.sparse = true,
                _ => {}
            }
        }
        Ok(())
    }

    /// The entry's name and why other readers may see another one.
    fn resolve(self, header_name: &str) -> (String, Option<(String, &'static str)>) {
        let name = self
            .pax_path
            .clone()
            .or_else(|| self.long_name.clone())
            .unwrap_or_else(|| header_name.to_owned());
        let ambiguity = if let Some(other) = self.conflicting_paths {
            Some((
                other,
                "two PAX path records disagree (readers differ on which wins)",
            ))
        } else if let (Some(pax), Some(long)) = (&self.pax_path, &self.long_name) {
            (pax != long).then(|| {
                (
                    long.clone(),
                    "a GNU long name and a PAX path disagree (readers differ on which wins)",
                )
            })
        } else {
            None
        };
        let ambiguity = ambiguity.or_else(|| {
            self.sparse.then(|| {
                (
                    self.sparse_name.unwrap_or_else(|| name.clone()),
                    "a GNU sparse file (GNU tar restores it under GNU.sparse.name, with other bytes; layouts never hold one)",
                )
            })
        });
        let ambiguity = ambiguity.or_else(|| {
            name.find('\0').map(|nul| {
                (
                    name[..nul].to_owned(),
                    "a NUL byte inside the name (C readers stop there)",
                )
            })
        });
        (name, ambiguity)
    }
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

    /// How many bytes of the input were read so far: right after
    /// [`next_header`](Self::next_header), where the entry's data starts.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// The next entry's header, or `None` at the end-of-archive blocks.
    /// The caller must then consume the entry with [`data`](Self::data).
    pub(crate) fn next_header(&mut self) -> Result<Option<EntryHeader>, TarError> {
        let mut extensions = Extensions::default();
        loop {
            let offset = self.offset;
            let mut block = [0u8; BLOCK];
            let filled = self.read_full(&mut block)?;
            // A valid first header is a tar, whatever its name's bytes.
            if offset == 0 && (filled < BLOCK || check_checksum(&block).is_err()) {
                if let Some(format) = compression(&block[..filled]) {
                    return Err(TarError::Compressed { format });
                }
            }
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
                if !extensions.is_empty() {
                    return Err(TarError::BadHeader {
                        offset,
                        reason: "an extended header describes no entry",
                    });
                }
                self.check_end(offset)?;
                return Ok(None);
            }
            check_checksum(&block).map_err(|reason| TarError::BadHeader { offset, reason })?;
            let size = parse_size(&block[124..136])
                .map_err(|reason| TarError::BadHeader { offset, reason })?;
            let type_byte = block[156];
            if let b'L' | b'K' | b'x' | b'g' = type_byte {
                let limit = if type_byte == b'L' || type_byte == b'K' {
                    MAX_NAME_LEN
                } else {
                    MAX_PAX_LEN
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
                    b'L' => extensions.long_name = Some(c_string(&bytes)),
                    b'K' => extensions.long_link = Some(c_string(&bytes)),
                    b'x' => {
                        let records = parse_pax(&bytes)
                            .map_err(|reason| TarError::BadHeader { offset, reason })?;
                        extensions.pax(records, offset)?;
                    }
                    _ => {
                        // A global header: Python's tarfile and GNU tar
                        // apply its records to the entries after it, Go's
                        // archive/tar does not (the CLI's tests check).
                        let records = parse_pax(&bytes)
                            .map_err(|reason| TarError::BadHeader { offset, reason })?;
                        let renames = records.iter().find(|(key, _)| {
                            matches!(*key, "path" | "linkpath" | "size")
                                || key.starts_with("GNU.sparse.")
                        });
                        let header_name = header_name(&block);
                        let ambiguity = renames.map(|(key, value)| {
                            (
                                format!("{key}={value}"),
                                "a PAX global header with path, size or sparse records (Python's tarfile and GNU tar apply them to the entries after it, Go's archive/tar does not)",
                            )
                        });
                        return Ok(Some(EntryHeader {
                            name: header_name.clone(),
                            header_name,
                            ambiguity,
                            kind: EntryKind::GlobalHeader,
                            size: 0,
                            link_target: String::new(),
                        }));
                    }
                }
                continue;
            }
            let header_name = header_name(&block);
            let pax_size = extensions.pax_size;
            let links_disagree = match (&extensions.pax_linkpath, &extensions.long_link) {
                (Some(pax), Some(long)) => (pax != long).then(|| long.clone()),
                _ => None,
            };
            let link_target = extensions
                .pax_linkpath
                .take()
                .or_else(|| extensions.long_link.take())
                .unwrap_or_else(|| c_string(&block[157..257]));
            let (name, ambiguity) = extensions.resolve(&header_name);
            let ambiguity = ambiguity.or_else(|| {
                links_disagree.map(|long| {
                    (
                        format!("{name} -> {long}"),
                        "a GNU long link name and a PAX linkpath disagree (readers differ on which wins)",
                    )
                })
            });
            let kind = match type_byte {
                b'0' | 0 | b'7' => EntryKind::File,
                b'5' => EntryKind::Directory,
                b'1' => EntryKind::HardLink,
                b'2' => EntryKind::SymLink,
                b'3' | b'4' => EntryKind::Device,
                b'6' => EntryKind::Fifo,
                other => EntryKind::Other(other),
            };
            return Ok(Some(EntryHeader {
                name,
                header_name,
                ambiguity,
                kind,
                size: pax_size.unwrap_or(size),
                link_target,
            }));
        }
    }

    /// After the first zero block at `offset`: the tar ends there only if
    /// the next block is zero too (or the input ends) and nothing but zeros
    /// follows. Go's archive/tar (skopeo, containerd) refuses a lone zero
    /// block before more headers, GNU tar warns, and `tar -i` reads on past
    /// it and past the end-of-archive blocks, seeing entries this reader
    /// did not check. The rest of the input is read (linear in its size).
    fn check_end(&mut self, offset: u64) -> Result<(), TarError> {
        let mut block = [0u8; BLOCK];
        let filled = self.read_full(&mut block)?;
        if block[..filled].iter().any(|&b| b != 0) {
            return Err(TarError::AfterEnd {
                offset: offset + BLOCK as u64,
                reason: "a single zero block and then more data (Go's archive/tar refuses it, GNU tar warns and stops, `tar -i` reads on)",
            });
        }
        if filled < BLOCK {
            return Ok(());
        }
        let mut buffer = std::mem::take(&mut self.buffer);
        let result = loop {
            let at = self.offset;
            let n = match self.read_some(&mut buffer) {
                Ok(n) => n,
                Err(error) => break Err(error),
            };
            if n == 0 {
                break Ok(());
            }
            if let Some(position) = buffer[..n].iter().position(|&b| b != 0) {
                break Err(TarError::AfterEnd {
                    offset: at + position as u64,
                    reason: "data after the end-of-archive blocks (`tar -i` and other readers that skip zero blocks read entries there)",
                });
            }
        };
        self.buffer = buffer;
        result
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

/// The compression format whose magic number `start` (the input's first
/// bytes) begins with, if any.
fn compression(start: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 4] = [
        (&[0x1f, 0x8b], "gzip"),
        (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
        (b"BZh", "bzip2"),
        (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| start.starts_with(magic))
        .map(|&(_, format)| format)
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
