//! Differential oracle: the same bytes through our reader and through the
//! `tar` crate (a second, independent tar reader, told to read on past zero
//! blocks as `tar -i` does). If we call a tar valid, the `tar` crate must
//! not see a different image: no layout file twice, no blob whose bytes do
//! not hash to its name, no `index.json` that parses to another index.
#![no_main]

use std::collections::HashSet;
use std::io::Read;

use libfuzzer_sys::fuzz_target;

/// A name as extracting it resolves it (as our reader normalises).
fn normalize(name: &[u8]) -> String {
    String::from_utf8_lossy(name)
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn is_layout_name(name: &str) -> bool {
    matches!(name, "oci-layout" | "index.json" | "manifest.json") || name.starts_with("blobs/")
}

fuzz_target!(|data: &[u8]| {
    let Ok(report) = oci_layout_reader::read_layout(data) else {
        return;
    };
    for problem in &report.problems {
        let _ = problem.to_string();
    }
    if !report.is_valid() {
        return;
    }
    assert!(report.index.is_some());
    let mut archive = tar::Archive::new(data);
    archive.set_ignore_zeros(true);
    let Ok(entries) = archive.entries() else {
        return;
    };
    let mut seen = HashSet::new();
    for entry in entries {
        // The tar crate stopping early sees less, never another image.
        let Ok(mut entry) = entry else { break };
        let name = normalize(&entry.path_bytes());
        if entry.header().entry_type().is_dir() || !is_layout_name(&name) {
            continue;
        }
        assert!(
            seen.insert(name.clone()),
            "valid, but the tar crate sees {name:?} twice"
        );
        let mut bytes = Vec::new();
        if entry.read_to_end(&mut bytes).is_err() {
            break;
        }
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            let found = oci_digest::digest_bytes(&bytes);
            assert_eq!(
                found.hex(),
                hex,
                "valid, but the tar crate reads other bytes for {name:?}"
            );
        }
        if name == "index.json" {
            let theirs: Option<oci_layout_reader::Index> = serde_json::from_slice(&bytes).ok();
            assert_eq!(
                theirs.as_ref(),
                report.index.as_ref(),
                "valid, but the tar crate reads another index.json"
            );
        }
    }
});
