//! Tars written byte by byte, for hostile entries the `tar` crate will not
//! write: GNU sparse records, a GNU long name and a PAX path that disagree,
//! NULs in PAX paths, entries after a lone zero block or after the end.
//! Shared with the CLI's tests that compare our verdict with skopeo's, GNU
//! tar's and Python's.
#![allow(dead_code)] // each test file uses its own part

/// A ustar header block for `name` (cut at 100 bytes), of type `kind`.
pub(crate) fn header(name: &[u8], kind: u8, size: u64) -> [u8; 512] {
    let mut block = [0u8; 512];
    let len = name.len().min(100);
    block[..len].copy_from_slice(&name[..len]);
    block[100..108].copy_from_slice(b"0000644\0");
    block[108..116].copy_from_slice(b"0000000\0");
    block[116..124].copy_from_slice(b"0000000\0");
    block[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    block[136..148].copy_from_slice(b"00000000000\0");
    block[156] = kind;
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    set_checksum(&mut block);
    block
}

/// Writes a header block's checksum as POSIX defines it: the sum of its
/// bytes as unsigned numbers, the checksum field counted as spaces.
pub(crate) fn set_checksum(block: &mut [u8; 512]) {
    block[148..156].copy_from_slice(b"        ");
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
}

/// Appends a header and its data, padded to a block.
pub(crate) fn entry(out: &mut Vec<u8>, name: &[u8], kind: u8, data: &[u8]) {
    entry_with(out, &header(name, kind, data.len() as u64), data);
}

/// Appends `header` (made or edited by hand) and `data`, padded to a block.
pub(crate) fn entry_with(out: &mut Vec<u8>, header: &[u8; 512], data: &[u8]) {
    out.extend_from_slice(header);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

/// One PAX record, `<len> key=value\n`, its length counting itself.
pub(crate) fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut record = format!("{len} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

/// Appends a PAX extended header (`x`) or global header (`g`).
pub(crate) fn pax(out: &mut Vec<u8>, kind: u8, records: &[(&str, &[u8])]) {
    let data: Vec<u8> = records
        .iter()
        .flat_map(|(key, value)| pax_record(key, value))
        .collect();
    entry(out, b"PaxHeaders/x", kind, &data);
}

/// Appends a GNU long-name entry naming the next entry `name`.
pub(crate) fn long_name(out: &mut Vec<u8>, name: &[u8]) {
    let mut data = name.to_vec();
    data.push(0);
    entry(out, b"././@LongLink", b'L', &data);
}

/// The end-of-archive blocks.
pub(crate) fn end(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0; 1024]);
}

/// A hostile tar: the valid layout `files` (written in order, canonical
/// names, no end blocks yet), then an entry that some mainstream reader
/// takes for `target` holding `bytes`, while another reader (or ours,
/// before the fix) sees something else.
pub(crate) struct Case {
    /// What is hostile about it (the regression it pins).
    pub(crate) name: &'static str,
    /// The tar.
    pub(crate) tar: Vec<u8>,
}

/// Every hostile case: after the valid layout `files`, a second copy of
/// `index.json` holding `other_index`, hidden from one reader or another.
pub(crate) fn hostile_cases(files: &[(String, Vec<u8>)], other_index: &[u8]) -> Vec<Case> {
    let base = || {
        let mut tar = Vec::new();
        for (name, bytes) in files {
            entry(&mut tar, name.as_bytes(), b'0', bytes);
        }
        tar
    };
    let len = other_index.len().to_string();
    let mut cases = Vec::new();
    let mut case = |name: &'static str, build: &dyn Fn(&mut Vec<u8>)| {
        let mut tar = base();
        build(&mut tar);
        cases.push(Case { name, tar });
    };
    case("gnu_sparse_0_1_names_index_json", &|tar| {
        pax(
            tar,
            b'x',
            &[
                ("GNU.sparse.size", len.as_bytes()),
                ("GNU.sparse.numblocks", b"1"),
                ("GNU.sparse.map", format!("0,{len}").as_bytes()),
                ("GNU.sparse.name", b"index.json"),
            ],
        );
        entry(tar, b"GNUSparseFile.0/index.json", b'0', other_index);
        end(tar);
    });
    case("gnu_sparse_1_0_names_index_json", &|tar| {
        pax(
            tar,
            b'x',
            &[
                ("GNU.sparse.major", b"1"),
                ("GNU.sparse.minor", b"0"),
                ("GNU.sparse.name", b"index.json"),
                ("GNU.sparse.realsize", len.as_bytes()),
            ],
        );
        let mut data = format!("1\n0\n{len}\n").into_bytes();
        data.resize(512, 0);
        data.extend_from_slice(other_index);
        entry(tar, b"GNUSparseFile.0/index.json", b'0', &data);
        end(tar);
    });
    case("gnu_long_name_and_pax_path_disagree", &|tar| {
        long_name(tar, b"index.json");
        pax(tar, b'x', &[("path", b"other.json")]);
        entry(tar, b"other.json", b'0', other_index);
        end(tar);
    });
    case("nul_inside_pax_path", &|tar| {
        pax(tar, b'x', &[("path", b"index.json\0junk")]);
        entry(tar, b"junk", b'0', other_index);
        end(tar);
    });
    case("header_name_is_index_json_behind_pax_path", &|tar| {
        pax(tar, b'x', &[("path", b"other.json")]);
        entry(tar, b"index.json", b'0', other_index);
        end(tar);
    });
    case("pax_global_header_with_path", &|tar| {
        pax(tar, b'g', &[("path", b"index.json")]);
        entry(tar, b"other.json", b'0', other_index);
        end(tar);
    });
    case("file_name_with_trailing_slash", &|tar| {
        entry(tar, b"index.json/", b'0', other_index);
        end(tar);
    });
    case("double_slash_alias", &|tar| {
        entry(tar, b".//index.json//", b'0', other_index);
        end(tar);
    });
    case("dot_part_alias", &|tar| {
        entry(tar, b"./index.json/.", b'0', other_index);
        end(tar);
    });
    case("entry_after_a_lone_zero_block", &|tar| {
        tar.extend_from_slice(&[0; 512]);
        entry(tar, b"index.json", b'0', other_index);
        end(tar);
    });
    case("entry_after_the_end_of_archive", &|tar| {
        end(tar);
        entry(tar, b"index.json", b'0', other_index);
        end(tar);
    });
    cases
}
