//! How the tar reader takes the fields of the format: header checksums
//! (unsigned and signed), ustar name prefixes, GNU long names and PAX
//! records at their size limits, the end of the archive, and input that
//! arrives in pieces. Headers are built byte by byte, their checksums
//! computed here. Written for the mutants of `tar_stream.rs` that no test
//! reached (TESTING.md).
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

mod common;
#[path = "common/raw.rs"]
mod raw;

use std::io::{self, Read};

use common::{entries_of, image};
use oci_layout_reader::{read_layout, LayoutReport, Problem, ReadError};

fn read(tar: &[u8]) -> LayoutReport {
    read_layout(tar).unwrap()
}

/// The fixture image as a tar by hand, without the end blocks.
fn image_entries() -> Vec<u8> {
    let mut tar = Vec::new();
    for entry in entries_of(&image()) {
        raw::entry(&mut tar, entry.name.as_bytes(), b'0', &entry.bytes);
    }
    tar
}

/// What a case appends to a tar, named.
type Case<'a> = (&'a str, &'a dyn Fn(&mut Vec<u8>));

fn is_bad_header(problem: &Problem, text: &str) -> bool {
    matches!(problem, Problem::BadHeader { reason, .. } if reason.contains(text))
}

#[test]
fn an_extended_header_with_no_entry_after_it_is_refused() {
    let cases: [Case; 6] = [
        ("long name", &|tar| raw::long_name(tar, b"index.json")),
        ("long link", &|tar| {
            raw::entry(tar, b"././@LongLink", b'K', b"target\0");
        }),
        ("PAX path", &|tar| raw::pax(tar, b'x', &[("path", b"x")])),
        ("PAX linkpath", &|tar| {
            raw::pax(tar, b'x', &[("linkpath", b"x")]);
        }),
        ("PAX size", &|tar| raw::pax(tar, b'x', &[("size", b"1")])),
        ("PAX sparse", &|tar| {
            raw::pax(tar, b'x', &[("GNU.sparse.major", b"1")]);
        }),
    ];
    for (what, extension) in cases {
        let mut tar = image_entries();
        extension(&mut tar);
        raw::end(&mut tar);
        let problems = read(&tar).problems;
        assert!(
            problems
                .iter()
                .any(|p| is_bad_header(p, "describes no entry")),
            "{what}: {problems:?}"
        );
    }
}

#[test]
fn extension_records_that_agree_or_do_not_rename_are_not_ambiguous() {
    let cases: [Case; 3] = [
        ("one PAX path twice", &|tar| {
            raw::pax(tar, b'x', &[("path", b"extra"), ("path", b"extra")]);
        }),
        ("a long name and a PAX path that agree", &|tar| {
            raw::long_name(tar, b"extra");
            raw::pax(tar, b'x', &[("path", b"extra")]);
        }),
        ("records other than names and sizes", &|tar| {
            raw::pax(tar, b'x', &[("mtime", b"1"), ("comment", b"hello")]);
        }),
    ];
    for (what, extension) in cases {
        let mut tar = image_entries();
        extension(&mut tar);
        raw::entry(&mut tar, b"extra", b'0', b"data");
        raw::end(&mut tar);
        assert_eq!(read(&tar).problems, [], "{what}");
    }
}

#[test]
fn the_first_pax_path_that_disagrees_is_named() {
    let mut tar = image_entries();
    raw::pax(
        &mut tar,
        b'x',
        &[("path", b"a"), ("path", b"b"), ("path", b"c")],
    );
    raw::entry(&mut tar, b"c", b'0', b"");
    raw::end(&mut tar);
    let problems = read(&tar).problems;
    assert!(
        matches!(&problems[..], [Problem::AmbiguousEntry { name, seen_as, .. }] if name == "c" && seen_as == "b"),
        "{problems:?}"
    );
}

#[test]
fn a_pax_size_overrides_the_header_size() {
    // The layer blob's header says 0 bytes, its PAX record the real size.
    let image = image();
    let mut tar = Vec::new();
    for entry in entries_of(&image) {
        if entry.bytes == image.layer {
            let size = entry.bytes.len().to_string();
            raw::pax(&mut tar, b'x', &[("size", size.as_bytes())]);
            let header = raw::header(entry.name.as_bytes(), b'0', 0);
            raw::entry_with(&mut tar, &header, &entry.bytes);
        } else {
            raw::entry(&mut tar, entry.name.as_bytes(), b'0', &entry.bytes);
        }
    }
    raw::end(&mut tar);
    assert_eq!(read(&tar).problems, []);
}

#[test]
fn a_link_target_given_twice_must_agree() {
    let link = |pax_target: &[u8], long_target: &[u8]| {
        let mut tar = image_entries();
        let mut long = long_target.to_vec();
        long.push(0);
        raw::entry(&mut tar, b"././@LongLink", b'K', &long);
        raw::pax(&mut tar, b'x', &[("linkpath", pax_target)]);
        raw::entry(&mut tar, b"link", b'2', b"");
        raw::end(&mut tar);
        read(&tar).problems
    };
    // In an image layout any link is unsafe; the two targets agree.
    let problems = link(b"index.json", b"index.json");
    assert!(
        matches!(&problems[..], [Problem::UnsafeEntry { name, reason }] if name == "link" && reason.contains("symbolic link")),
        "{problems:?}"
    );
    let problems = link(b"index.json", b"oci-layout");
    assert!(
        matches!(&problems[..], [Problem::AmbiguousEntry { seen_as, .. }] if seen_as == "link -> oci-layout"),
        "{problems:?}"
    );
}

#[test]
fn extended_headers_are_read_up_to_their_limits() {
    // A GNU long name of 4096 bytes with its NUL (the documented limit).
    let name = "n".repeat(4095);
    let mut tar = image_entries();
    raw::long_name(&mut tar, name.as_bytes());
    raw::entry(&mut tar, b"n", b'0', b"");
    raw::end(&mut tar);
    assert_eq!(read(&tar).problems, []);
    let mut tar = image_entries();
    raw::long_name(&mut tar, "n".repeat(4096).as_bytes());
    raw::entry(&mut tar, b"n", b'0', b"");
    raw::end(&mut tar);
    let problems = read(&tar).problems;
    assert!(
        problems.iter().any(|p| is_bad_header(p, "larger")),
        "{problems:?}"
    );

    // A PAX extended header of 64 KiB: one record of a key nothing reads.
    for (len, accepted) in [(64 * 1024, true), (64 * 1024 + 1, false)] {
        let value = "v".repeat(len - "65536 comment=\n".len());
        let record = raw::pax_record("comment", value.as_bytes());
        assert_eq!(record.len(), len);
        let mut tar = image_entries();
        raw::entry(&mut tar, b"PaxHeaders/x", b'x', &record);
        raw::entry(&mut tar, b"x", b'0', b"");
        raw::end(&mut tar);
        let problems = read(&tar).problems;
        if accepted {
            assert_eq!(problems, [], "{len}");
        } else {
            assert!(
                problems.iter().any(|p| is_bad_header(p, "larger")),
                "{len}: {problems:?}"
            );
        }
    }
}

#[test]
fn a_short_file_is_named_by_its_compression_or_as_too_short() {
    let mut gzip = vec![0x1f, 0x8b, 8, 0];
    gzip.resize(100, 7);
    assert_eq!(
        read(&gzip).problems,
        [Problem::Compressed { format: "gzip" }]
    );
    let problems = read(&[b'x'; 100]).problems;
    assert!(
        matches!(&problems[..], [Problem::BadHeader { offset: 0, reason }] if reason.contains("shorter than one tar header")),
        "{problems:?}"
    );
}

#[test]
fn a_corrupt_header_further_in_is_not_taken_for_compression() {
    let mut tar = image_entries();
    let offset = tar.len() as u64;
    let mut header = raw::header(b"\x1f\x8bjunk", b'0', 0);
    header[0x100] ^= 1; // past the checksum: the stored one is now wrong
    tar.extend_from_slice(&header);
    raw::end(&mut tar);
    let problems = read(&tar).problems;
    assert!(
        matches!(&problems[..], [Problem::BadHeader { offset: o, reason }, ..] if *o == offset && reason.contains("checksum")),
        "{problems:?}"
    );
}

#[test]
fn what_follows_the_end_is_reported_at_its_offset() {
    // A lone zero block, then a header: reported where the header starts.
    let mut tar = image_entries();
    let zero_block = tar.len() as u64;
    tar.extend_from_slice(&[0; 512]);
    raw::entry(&mut tar, b"hidden", b'0', b"");
    raw::end(&mut tar);
    let problems = read(&tar).problems;
    assert!(
        matches!(&problems[..], [Problem::DataAfterEnd { offset, .. }, ..] if *offset == zero_block + 512),
        "{problems:?}"
    );
    // Zero padding past the end blocks (GNU tar pads to 10 KiB) is fine;
    // one byte in it is reported at that byte.
    let mut tar = image_entries();
    raw::end(&mut tar);
    tar.resize(tar.len() + 8 * 1024, 0);
    assert_eq!(read(&tar).problems, []);
    let stray = tar.len() - 100;
    tar[stray] = 1;
    let problems = read(&tar).problems;
    assert!(
        matches!(&problems[..], [Problem::DataAfterEnd { offset, .. }] if *offset == stray as u64),
        "{problems:?}"
    );
}

/// Hands out at most 7 bytes a read, and an `Interrupted` error before
/// every other read, as a pipe or a signal may.
struct Trickle<'a> {
    bytes: &'a [u8],
    interrupt: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buffer.len().min(7).min(self.bytes.len());
        buffer[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// Fails every read.
struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("the disk is on fire"))
    }
}

#[test]
fn input_in_small_pieces_and_interrupted_reads_read_the_same() {
    let mut tar = image_entries();
    raw::end(&mut tar);
    let whole = read(&tar);
    assert_eq!(whole.problems, []);
    let trickled = read_layout(Trickle {
        bytes: &tar,
        interrupt: false,
    })
    .unwrap();
    assert_eq!(trickled.problems, []);
    assert_eq!(trickled.images, whole.images);
}

#[test]
fn a_read_error_is_an_error_not_retried() {
    assert!(matches!(read_layout(Failing), Err(ReadError::Tar { .. })));
}

#[test]
fn a_checksum_is_the_unsigned_or_the_signed_sum() {
    // A name with bytes over 127 (UTF-8 "é"): the two sums differ.
    let name = "caf\u{e9}.txt".as_bytes();
    let mut header = raw::header(name, b'0', 0);
    let unsigned: i64 = (0..512)
        .map(|i| {
            i64::from(if (148..156).contains(&i) {
                b' '
            } else {
                header[i]
            })
        })
        .sum();
    let signed: i64 = (0..512)
        .map(|i| {
            i64::from(if (148..156).contains(&i) {
                b' '
            } else {
                header[i]
            } as i8)
        })
        .sum();
    assert_ne!(unsigned, signed);
    for (stored, accepted) in [(unsigned, true), (signed, true), (unsigned + 1, false)] {
        header[148..156].copy_from_slice(format!("{stored:06o}\0 ").as_bytes());
        let mut tar = image_entries();
        let offset = tar.len() as u64;
        tar.extend_from_slice(&header);
        raw::end(&mut tar);
        let problems = read(&tar).problems;
        if accepted {
            assert_eq!(problems, [], "checksum {stored}");
        } else {
            assert!(
                matches!(&problems[..], [Problem::BadHeader { offset: o, .. }, ..] if *o == offset),
                "checksum {stored}: {problems:?}"
            );
        }
    }
}

#[test]
fn a_ustar_prefix_is_joined_and_a_gnu_header_has_none() {
    // POSIX ustar: "blobs/sha256" in the prefix field, the hex in the name.
    let image = image();
    let mut tar = Vec::new();
    for entry in entries_of(&image) {
        match entry.name.rsplit_once('/') {
            Some((prefix, name)) => {
                let mut header = raw::header(name.as_bytes(), b'0', entry.bytes.len() as u64);
                header[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
                raw::set_checksum(&mut header);
                raw::entry_with(&mut tar, &header, &entry.bytes);
            }
            None => raw::entry(&mut tar, entry.name.as_bytes(), b'0', &entry.bytes),
        }
    }
    raw::end(&mut tar);
    assert_eq!(read(&tar).problems, []);

    // A GNU header keeps times where ustar has its prefix: not a name
    // (the layer's blob would be elsewhere).
    let mut tar = Vec::new();
    for entry in entries_of(&image) {
        let mut header = raw::header(entry.name.as_bytes(), b'0', entry.bytes.len() as u64);
        header[257..265].copy_from_slice(b"ustar  \0");
        header[345..357].copy_from_slice(b"14000000000\0"); // atime
        raw::set_checksum(&mut header);
        raw::entry_with(&mut tar, &header, &entry.bytes);
    }
    raw::end(&mut tar);
    assert_eq!(read(&tar).problems, []);
}

/// A tar cut inside an entry's zero padding was
/// only seen as truncated at the next header; it is truncated in that
/// entry, which the problem names.
#[test]
fn a_tar_cut_in_an_entrys_padding_names_the_entry() {
    let mut tar = Vec::new();
    raw::entry(&mut tar, b"oci-layout", b'0', b"{}");
    let cut = 512 + 2 + 100; // header, data, part of the padding
    assert_eq!(
        read(&tar[..cut]).problems[0],
        Problem::Truncated {
            entry: Some("oci-layout".to_owned())
        }
    );
}
