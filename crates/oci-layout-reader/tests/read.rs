//! `read_layout` on good, corrupt and hostile tars.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

mod common;

use common::{blob, descriptor, entries_of, file, image, tar_of, Entry, LAYOUT, NAME};
use oci_digest::digest_bytes;
use oci_layout_reader::{read_layout, LayoutFormat, LayoutReport, Problem, MAX_DOCUMENT_LEN};

fn read(tar: &[u8]) -> LayoutReport {
    read_layout(tar).unwrap()
}

#[test]
fn a_valid_layout_has_no_problems_and_describes_its_image() {
    let image = image();
    let report = read(&tar_of(&entries_of(&image)));
    assert_eq!(report.problems, []);
    assert_eq!(report.blob_count, 3);
    assert_eq!(report.images.len(), 1);
    let found = &report.images[0];
    assert_eq!(found.name(), Some(NAME));
    assert_eq!(
        found.descriptor.digest,
        digest_bytes(&image.manifest).to_string()
    );
    let config = found.config.as_ref().unwrap();
    assert_eq!(config.os.as_deref(), Some("wasip1"));
    assert_eq!(
        config.entrypoint.as_deref(),
        Some(&["app.wasm".to_owned()][..])
    );
    assert_eq!(found.manifest.as_ref().unwrap().layers.len(), 1);
}

#[test]
fn the_documents_read_are_kept_byte_for_byte() {
    let image = image();
    let report = read(&tar_of(&entries_of(&image)));
    let found = &report.images[0];
    assert_eq!(report.raw_index.as_deref(), Some(&image.index[..]));
    assert_eq!(found.raw_manifest.as_deref(), Some(&image.manifest[..]));
    assert_eq!(found.raw_config.as_deref(), Some(&image.config[..]));
}

#[test]
fn dot_slash_names_and_directories_are_accepted() {
    let image = image();
    let mut entries = vec![Entry {
        name: "./blobs/".into(),
        kind: b'5',
        bytes: Vec::new(),
    }];
    for mut entry in entries_of(&image) {
        entry.name = format!("./{}", entry.name);
        entries.push(entry);
    }
    assert_eq!(read(&tar_of(&entries)).problems, []);
}

#[test]
fn a_flipped_byte_in_any_blob_names_that_blob() {
    let image = image();
    let tar = tar_of(&entries_of(&image));
    for bytes in [&image.layer, &image.config, &image.manifest] {
        let digest = digest_bytes(bytes);
        let at = tar
            .windows(bytes.len())
            .position(|window| window == &bytes[..])
            .unwrap();
        let mut corrupt = tar.clone();
        corrupt[at + bytes.len() / 2] ^= 0x01;
        let problems = read(&corrupt).problems;
        assert!(
            problems.iter().any(
                |p| matches!(p, Problem::BlobDigestMismatch { digest: d, .. } if *d == digest)
            ),
            "{digest}: {problems:?}"
        );
        assert!(problems[0].to_string().contains(&digest.to_string()));
    }
}

#[test]
fn a_truncated_tar_is_reported_at_every_cut() {
    let tar = tar_of(&entries_of(&image()));
    // Every cut short of the end-of-archive blocks loses something.
    for cut in (512..tar.len() - 1024).step_by(97) {
        let problems = read(&tar[..cut]).problems;
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, Problem::Truncated { .. })),
            "cut at {cut}: {problems:?}"
        );
    }
}

#[test]
fn an_entry_size_past_the_end_of_the_file_is_truncation() {
    let mut tar = tar_of(&[file("oci-layout", LAYOUT)]);
    tar.truncate(512 + 512);
    // Claim 1 MiB of data in the first header.
    let mut header = tar::Header::new_gnu();
    header.as_mut_bytes().copy_from_slice(&tar[..512]);
    header.set_size(1 << 20);
    header.set_cksum();
    tar[..512].copy_from_slice(header.as_bytes());
    assert_eq!(
        read(&tar).problems[0],
        Problem::Truncated {
            entry: Some("oci-layout".into())
        }
    );
}

#[test]
fn hostile_entries_are_reported_and_not_followed() {
    let image = image();
    let mut entries = entries_of(&image);
    let hostile = [
        ("../escape", b'0', "'..'"),
        ("blobs/../../etc/passwd", b'0', "'..'"),
        ("/etc/passwd", b'0', "absolute"),
        ("link", b'2', "symbolic link"),
        ("hard", b'1', "hard link"),
        ("dev", b'3', "device"),
        ("fifo", b'6', "FIFO"),
    ];
    for (name, kind, _) in hostile {
        entries.push(Entry {
            name: name.into(),
            kind,
            bytes: Vec::new(),
        });
    }
    let problems = read(&tar_of(&entries)).problems;
    assert_eq!(problems.len(), hostile.len(), "{problems:?}");
    for ((name, _, reason), problem) in hostile.iter().zip(&problems) {
        let text = problem.to_string();
        assert!(matches!(problem, Problem::UnsafeEntry { .. }), "{text}");
        assert!(text.contains(name) && text.contains(reason), "{text}");
    }
}

#[test]
fn a_duplicate_entry_is_reported() {
    let image = image();
    let mut entries = entries_of(&image);
    entries.push(file("index.json", b"{}".to_vec()));
    assert_eq!(
        read(&tar_of(&entries)).problems,
        [Problem::DuplicateEntry {
            name: "index.json".into()
        }]
    );
}

#[test]
fn a_json_document_over_the_cap_is_reported_not_read() {
    let image = image();
    let mut entries = entries_of(&image);
    let huge = vec![b' '; usize::try_from(MAX_DOCUMENT_LEN).unwrap() + 1];
    entries.retain(|e| e.name != "index.json");
    entries.push(file("index.json", huge));
    let problems = read(&tar_of(&entries)).problems;
    assert!(
        matches!(&problems[..], [Problem::DocumentTooLarge { name, .. }, ..] if name == "index.json"),
        "{problems:?}"
    );
}

#[test]
fn missing_blobs_and_wrong_sizes_name_the_blob() {
    let image = image();
    let mut entries = entries_of(&image);
    entries.retain(|e| e.bytes != image.layer);
    let problems = read(&tar_of(&entries)).problems;
    let layer = digest_bytes(&image.layer);
    assert!(
        matches!(&problems[0], Problem::MissingBlob { digest, .. } if *digest == layer),
        "{problems:?}"
    );

    let mut entries = entries_of(&image);
    let manifest = String::from_utf8(image.manifest.clone()).unwrap();
    let wrong = manifest
        .replace(r#""size":8}"#, r#""size":9}"#)
        .into_bytes();
    assert_ne!(wrong, image.manifest);
    let index = String::from_utf8(image.index.clone()).unwrap().replace(
        &digest_bytes(&image.manifest).to_string(),
        &digest_bytes(&wrong).to_string(),
    );
    entries.retain(|e| e.bytes != image.manifest && e.name != "index.json");
    entries.push(blob(&wrong));
    entries.push(file("index.json", index));
    let problems = read(&tar_of(&entries)).problems;
    assert!(
        matches!(&problems[0], Problem::SizeMismatch { digest, expected: 9, found: 8, .. } if *digest == layer),
        "{problems:?}"
    );
}

#[test]
fn the_layout_marker_and_index_are_required() {
    let image = image();
    let mut entries = entries_of(&image);
    entries.retain(|e| e.name != "oci-layout" && e.name != "index.json");
    let problems = read(&tar_of(&entries)).problems;
    assert!(problems.contains(&Problem::MissingLayoutFile));
    assert!(problems.contains(&Problem::MissingIndex));

    let mut entries = entries_of(&image);
    entries[0] = file("oci-layout", br#"{"imageLayoutVersion":"2.0.0"}"#.to_vec());
    let problems = read(&tar_of(&entries)).problems;
    assert!(matches!(
        &problems[..],
        [Problem::UnsupportedLayoutVersion { .. }]
    ));
}

#[test]
fn manifest_json_must_agree_with_index_json() {
    let image = image();
    let mut entries = entries_of(&image);
    let docker = String::from_utf8(image.docker.clone())
        .unwrap()
        .replace(NAME, "ghcr.io/example/other:v1");
    entries.retain(|e| e.name != "manifest.json");
    entries.push(file("manifest.json", docker));
    let problems = read(&tar_of(&entries)).problems;
    assert!(
        matches!(&problems[..], [Problem::DockerTagMismatch { tag, .. }] if tag == "ghcr.io/example/other:v1"),
        "{problems:?}"
    );

    let mut entries = entries_of(&image);
    entries.retain(|e| e.name != "manifest.json");
    entries.push(file(
        "manifest.json",
        format!(
            r#"[{{"Config":"{}","RepoTags":[],"Layers":[]}}]"#,
            digest_bytes(&image.config).blob_path()
        ),
    ));
    let problems = read(&tar_of(&entries)).problems;
    assert!(
        matches!(&problems[..], [Problem::DockerDisagrees { .. }]),
        "{problems:?}"
    );
    let mut entries = entries_of(&image);
    entries.retain(|e| e.name != "manifest.json");
    entries.push(file(
        "manifest.json",
        format!(
            r#"[{{"Config":"{}","RepoTags":[],"Layers":["abc/layer.tar"]}}]"#,
            digest_bytes(&image.config).blob_path()
        ),
    ));
    let problems = read(&tar_of(&entries)).problems;
    assert_eq!(
        problems,
        [Problem::DockerMissingFile {
            path: "abc/layer.tar".into()
        }]
    );
}

#[test]
fn nested_indexes_are_followed_and_cycles_are_not() {
    let image = image();
    let nested = image.index.clone();
    let outer = format!(
        r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
        descriptor("application/vnd.oci.image.index.v1+json", &nested)
    );
    let mut entries = entries_of(&image);
    entries.retain(|e| e.name != "index.json" && e.name != "manifest.json");
    entries.push(blob(&nested));
    entries.push(file("index.json", outer));
    let report = read(&tar_of(&entries));
    assert_eq!(report.problems, []);
    assert_eq!(report.images.len(), 1);
    assert_eq!(report.images[0].via, [digest_bytes(&nested)]);
}

#[test]
fn text_and_random_bytes_are_not_a_tar() {
    let problems = read(b"hello, this is not a tar at all\n").problems;
    assert!(matches!(problems[0], Problem::BadHeader { offset: 0, .. }));
    let problems = read(&[b'x'; 2048]).problems;
    assert!(
        matches!(problems[0], Problem::BadHeader { offset: 0, .. }),
        "{problems:?}"
    );
    let problems = read(b"").problems;
    // Nothing else is worth saying about a file that is not a tar.
    assert!(matches!(
        &problems[..],
        [Problem::BadHeader { offset: 0, .. }]
    ));
}

#[test]
fn blob_names_must_be_sha256_hex() {
    let mut entries = entries_of(&image());
    entries.push(file("blobs/sha256/not-hex", b"x".to_vec()));
    let problems = read(&tar_of(&entries)).problems;
    assert!(
        matches!(&problems[..], [Problem::InvalidBlobName { name }] if name == "blobs/sha256/not-hex")
    );
}

#[test]
fn a_docker_save_shaped_tar_is_valid() {
    // `docker save` (Docker 25+): directory entries, `repositories`, short
    // RepoTags against fully qualified containerd names.
    let image = image();
    let index = String::from_utf8(image.index.clone())
        .unwrap()
        .replace(NAME, "docker.io/library/app:v1");
    let docker = String::from_utf8(image.docker.clone())
        .unwrap()
        .replace(NAME, "app:v1");
    let dir = |name: &str| Entry {
        name: name.into(),
        kind: b'5',
        bytes: Vec::new(),
    };
    let entries = vec![
        dir("blobs"),
        dir("blobs/sha256"),
        blob(&image.config),
        blob(&image.layer),
        blob(&image.manifest),
        file("index.json", index),
        file("manifest.json", docker),
        file("oci-layout", LAYOUT),
        file("repositories", br#"{"app":{"v1":"x"}}"#.to_vec()),
    ];
    let report = read(&tar_of(&entries));
    assert_eq!(report.problems, []);
    assert_eq!(report.images[0].name(), Some("docker.io/library/app:v1"));
}

#[test]
fn an_index_reaching_the_same_documents_over_and_over_is_cut_short() {
    // A nested index listing one manifest 10,000 times, listed 100 times by
    // index.json: a billion-laughs of references, bounded by the parse budget.
    let image = image();
    let manifest_descriptor = descriptor(
        "application/vnd.oci.image.manifest.v1+json",
        &image.manifest,
    );
    let nested = format!(
        r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
        vec![manifest_descriptor; 10_000].join(",")
    )
    .into_bytes();
    let nested_descriptor = descriptor("application/vnd.oci.image.index.v1+json", &nested);
    let outer = format!(
        r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
        vec![nested_descriptor; 100].join(",")
    );
    let mut entries = entries_of(&image);
    entries.retain(|e| e.name != "index.json" && e.name != "manifest.json");
    entries.push(blob(&nested));
    entries.push(file("index.json", outer));
    let problems = read(&tar_of(&entries)).problems;
    assert_eq!(
        problems,
        [Problem::TooMuchToCheck {
            limit: oci_layout_reader::MAX_PARSED_TOTAL
        }]
    );
}

/// `image.index` wrapped in `depth` - 1 more image indexes, the outermost
/// as index.json: the tar, and the nested indexes from outside in.
fn nested_indexes(depth: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let image = image();
    let mut nested = vec![image.index.clone()];
    for _ in 1..depth {
        let inner = nested.last().unwrap();
        let outer = format!(
            r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
            descriptor("application/vnd.oci.image.index.v1+json", inner)
        );
        nested.push(outer.into_bytes());
    }
    let outer = nested.pop().unwrap();
    nested.reverse();
    let mut entries = entries_of(&image);
    entries.retain(|e| e.name != "index.json" && e.name != "manifest.json");
    entries.extend(nested.iter().map(|index| blob(index)));
    entries.push(file("index.json", outer));
    (tar_of(&entries), nested)
}

/// Regression (found by mutation testing): no test nested indexes deeper
/// than one, so neither the depth limit nor its check was tested. Eight
/// nested indexes under index.json are followed; a ninth is reported.
#[test]
fn nested_indexes_are_followed_eight_deep_and_no_deeper() {
    let (tar, nested) = nested_indexes(9);
    let report = read(&tar);
    assert_eq!(report.problems, []);
    assert_eq!(report.images.len(), 1);
    let via: Vec<_> = nested.iter().map(|index| digest_bytes(index)).collect();
    assert_eq!(report.images[0].via, via);

    let (tar, nested) = nested_indexes(10);
    let report = read(&tar);
    assert_eq!(
        report.problems,
        [Problem::NestingTooDeep {
            digest: digest_bytes(nested.last().unwrap())
        }]
    );
    // The manifest under the ninth index is not reached.
    assert_eq!(report.images, []);
}

/// Regression (found by mutation testing): no test gave an index entry a
/// platform other than its config's, so the check that consumers pick the
/// image they run went untested. The operating system and the architecture
/// are each compared.
#[test]
fn a_platform_other_than_the_configs_is_reported() {
    let image = image();
    let manifest = digest_bytes(&image.manifest);
    for (platform, listed) in [
        (r#""architecture":"wasm","os":"linux""#, "linux/wasm"),
        (r#""architecture":"amd64","os":"wasip1""#, "wasip1/amd64"),
    ] {
        let index = String::from_utf8(image.index.clone())
            .unwrap()
            .replace(r#""architecture":"wasm","os":"wasip1""#, platform);
        assert_ne!(index.as_bytes(), image.index);
        let mut entries = entries_of(&image);
        entries.retain(|e| e.name != "index.json" && e.name != "manifest.json");
        entries.push(file("index.json", index));
        let problems = read(&tar_of(&entries)).problems;
        assert_eq!(
            problems,
            [Problem::PlatformMismatch {
                manifest,
                listed: listed.to_owned(),
                config: "wasip1/wasm".to_owned(),
            }]
        );
    }
}

/// Regression (found by mutation testing): the caps on JSON documents were
/// only tested from far above, so a cap that also refused a document of
/// exactly the limit passed. index.json of exactly the documented 4 MiB is
/// read; kept documents adding up to exactly the documented 16 MiB are all
/// read, and one byte more leaves the last one (index.json) unread.
#[test]
fn json_documents_are_kept_up_to_exactly_their_caps() {
    const DOCUMENT_CAP: usize = 4 * 1024 * 1024; // MAX_DOCUMENT_LEN
    const TOTAL_CAP: usize = 16 * 1024 * 1024; // MAX_DOCUMENTS_TOTAL
    let image = image();
    let padded = |bytes: &[u8], len: usize| {
        let mut padded = bytes.to_vec();
        padded.resize(len, b' ');
        padded
    };

    let mut entries = entries_of(&image);
    entries.retain(|e| e.name != "index.json");
    entries.push(file("index.json", padded(&image.index, DOCUMENT_CAP)));
    assert_eq!(read(&tar_of(&entries)).problems, []);

    // Every entry starting with `{` is kept: the documents, and unreferenced
    // blobs that fill the rest of the budget (the layer starts with NUL).
    let kept: usize = entries_of(&image)
        .iter()
        .filter(|e| e.bytes.starts_with(b"{") || e.bytes.starts_with(b"["))
        .map(|e| e.bytes.len())
        .sum();
    let with_fillers = |extra: usize| {
        let mut rest = TOTAL_CAP - kept + extra;
        let mut entries = entries_of(&image);
        let index = entries.pop().unwrap();
        assert_eq!(index.name, "index.json");
        let mut i = 0;
        while rest > 0 {
            let len = rest.min(DOCUMENT_CAP);
            entries.push(blob(&padded(format!("{{\"{i}\":0}}").as_bytes(), len)));
            rest -= len;
            i += 1;
        }
        entries.push(index);
        tar_of(&entries)
    };
    assert_eq!(read(&with_fillers(0)).problems, []);
    let problems = read(&with_fillers(1)).problems;
    assert!(
        matches!(&problems[..], [Problem::DocumentBudgetExceeded { name, .. }, ..] if name == "index.json"),
        "{problems:?}"
    );
}

/// Which tars are OCI layouts and which Docker archives, from each OCI
/// part alone. A manifest.json
/// beside any one of `oci-layout`, `index.json` or a blob makes a (broken)
/// OCI layout, reported as one, not a Docker archive.
#[test]
fn any_oci_part_beside_manifest_json_makes_an_oci_layout() {
    let image = image();
    let manifest_json = || file("manifest.json", image.docker.clone());
    let cases = [
        ("blobs only", vec![blob(&image.config), manifest_json()]),
        (
            "oci-layout only",
            vec![file("oci-layout", LAYOUT), manifest_json()],
        ),
        (
            "index.json only",
            vec![file("index.json", image.index.clone()), manifest_json()],
        ),
    ];
    for (what, entries) in cases {
        let report = read(&tar_of(&entries));
        assert_eq!(report.format, LayoutFormat::OciLayout, "{what}");
        let missing = |wanted: &Problem| report.problems.contains(wanted);
        assert!(
            missing(&Problem::MissingIndex) || missing(&Problem::MissingLayoutFile),
            "{what}: {:?}",
            report.problems
        );
    }
}

/// A manifest with `layers` copies of the fixture's layer, and the tar of
/// an index listing it `times` times.
fn index_listing_manifest(layers: usize, times: usize) -> Vec<u8> {
    let image = image();
    let layer = descriptor(
        "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
        &image.layer,
    );
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{}]}}"#,
        descriptor("application/vnd.oci.image.config.v1+json", &image.config),
        vec![layer; layers].join(",")
    );
    let entry = descriptor(
        "application/vnd.oci.image.manifest.v1+json",
        manifest.as_bytes(),
    );
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
        vec![entry; times].join(",")
    );
    tar_of(&[
        file("oci-layout", LAYOUT),
        blob(&image.layer),
        blob(&image.config),
        blob(manifest.as_bytes()),
        file("index.json", index),
    ])
}

/// Regression (found by mutation testing): a manifest listed again counts
/// its descriptors again (its layers and itself) against the documented
/// 50,000, and no test came near that. With 9 layers each repeat counts
/// 10: 4,500 listings (index.json's 4,501 objects, the manifest's 11 and
/// the config's 3 read once, 4,499 repeats of 10: 49,505) are listed;
/// 4,800 (52,805) are cut short, as they would not be counting one less a
/// repeat (48,006).
#[test]
fn a_manifest_listed_again_counts_its_descriptors_again() {
    let report = read(&index_listing_manifest(9, 4_500));
    assert_eq!(report.problems, []);
    assert_eq!(report.images.len(), 4_500);
    let problems = read(&index_listing_manifest(9, 4_800)).problems;
    assert_eq!(
        problems,
        [Problem::TooMuchToCheck {
            limit: oci_layout_reader::MAX_PARSED_TOTAL
        }]
    );
}

/// Regression (found by mutation testing): a manifest that does not parse
/// is reported, and its bytes are still handed out (`inspect --raw`).
#[test]
fn a_manifest_that_does_not_parse_keeps_its_raw_bytes() {
    let image = image();
    let broken = br#"{"schemaVersion":2,"config":"not a descriptor"}"#;
    let index = String::from_utf8(image.index.clone()).unwrap().replace(
        &format!(
            r#""digest":"{}","size":{}"#,
            digest_bytes(&image.manifest),
            image.manifest.len()
        ),
        &format!(
            r#""digest":"{}","size":{}"#,
            digest_bytes(broken),
            broken.len()
        ),
    );
    let report = read(&tar_of(&[
        file("oci-layout", LAYOUT),
        blob(broken),
        file("index.json", index),
    ]));
    assert!(
        matches!(
            &report.problems[..],
            [Problem::InvalidDocument {
                kind: "image manifest",
                ..
            }]
        ),
        "{:?}",
        report.problems
    );
    assert_eq!(report.images.len(), 1);
    assert_eq!(report.images[0].raw_manifest.as_deref(), Some(&broken[..]));
    assert_eq!(report.images[0].manifest, None);
}

/// A config whose media type is not JSON (an artifact's) is only checked present, never parsed; a
/// manifest listed by Docker's media type is an image too; a descriptor of
/// any other type in index.json is a blob to check, not an image.
#[test]
fn only_json_configs_are_read_and_only_manifests_are_images() {
    let image = image();
    let config = b"\x00\x01 binary config";
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}}"#,
        descriptor("application/octet-stream", config)
    );
    let entry = descriptor(
        "application/vnd.oci.image.manifest.v1+json",
        manifest.as_bytes(),
    );
    let report = read(&tar_of(&[
        file("oci-layout", LAYOUT),
        blob(config),
        blob(manifest.as_bytes()),
        file(
            "index.json",
            format!(r#"{{"schemaVersion":2,"manifests":[{entry}]}}"#),
        ),
    ]));
    assert_eq!(report.problems, []);
    assert_eq!(report.images.len(), 1);
    assert_eq!(report.images[0].config, None);
    assert_eq!(report.images[0].raw_config, None);

    let docker_v2 = descriptor(
        "application/vnd.docker.distribution.manifest.v2+json",
        &image.manifest,
    );
    let layer = descriptor("application/wasm", &image.layer);
    let report = read(&tar_of(&[
        file("oci-layout", LAYOUT),
        blob(&image.layer),
        blob(&image.config),
        blob(&image.manifest),
        file(
            "index.json",
            format!(r#"{{"schemaVersion":2,"manifests":[{docker_v2},{layer}]}}"#),
        ),
    ]));
    assert_eq!(report.problems, []);
    assert_eq!(report.images.len(), 1);
    assert_eq!(
        report.images[0].descriptor.digest,
        digest_bytes(&image.manifest).to_string()
    );
}

/// Regression (found by mutation testing): only entries that start like a
/// JSON object are kept, so binary blobs (however many) leave the JSON
/// budget alone: four 4 MiB layers of bytes that are not whitespace.
#[test]
fn binary_blobs_do_not_spend_the_json_budget() {
    let mut entries = entries_of(&image());
    let index = entries.pop().unwrap();
    for i in 0..4u8 {
        entries.push(blob(&vec![i; 4 * 1024 * 1024]));
    }
    entries.push(index);
    assert_eq!(read(&tar_of(&entries)).problems, []);
}

/// Regression (found by mutation testing): the budget of JSON parsed while
/// following references (the documented 8 MiB) was only reached through
/// the count of objects, never through bytes. index.json, two manifests
/// and their config adding up to exactly 8 MiB are all read; one byte more
/// and the last manifest is not.
#[test]
fn json_is_parsed_up_to_exactly_8_mib() {
    const BUDGET: usize = 8 * 1024 * 1024; // MAX_PARSED_TOTAL
    let image = image();
    let manifests: Vec<Vec<u8>> = (0..2)
        .map(|i| {
            let mut manifest = String::from_utf8(image.manifest.clone())
                .unwrap()
                .replace(
                    r#""schemaVersion":2"#,
                    &format!(r#""schemaVersion":2,"x":{i}"#),
                )
                .into_bytes();
            manifest.resize(4 * 1024 * 1024 - 1000, b' ');
            manifest
        })
        .collect();
    let tar = |extra: usize| {
        let entries: Vec<String> = manifests
            .iter()
            .map(|m| descriptor("application/vnd.oci.image.manifest.v1+json", m))
            .collect();
        let mut index = format!(
            r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
            entries.join(",")
        )
        .into_bytes();
        let parsed = manifests.iter().map(Vec::len).sum::<usize>() + image.config.len();
        index.resize(BUDGET - parsed + extra, b' ');
        let mut entries = vec![
            file("oci-layout", LAYOUT),
            blob(&image.layer),
            blob(&image.config),
        ];
        entries.extend(manifests.iter().map(|m| blob(m)));
        entries.push(file("index.json", index));
        tar_of(&entries)
    };
    let report = read(&tar(0));
    assert_eq!(report.problems, []);
    assert_eq!(report.images.len(), 2);
    let report = read(&tar(1));
    assert_eq!(
        report.problems,
        [Problem::TooMuchToCheck {
            limit: oci_layout_reader::MAX_PARSED_TOTAL
        }]
    );
    // The manifest over the budget is listed, not parsed.
    assert_eq!(report.images.len(), 2);
    assert!(report.images[0].manifest.is_some());
    assert_eq!(report.images[1].manifest, None);
}
