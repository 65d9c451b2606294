//! Docker's legacy archive format (`docker save` before Docker 25): read,
//! checked by its own rules, described as OCI images, and refused when
//! hostile. The archive here has Docker's own shape (`<id>/layer.tar`
//! files, a layer shared through a symbolic link to another image's
//! `layer.tar`); the CLI's tests read podman's and skopeo's.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

use oci_digest::digest_bytes;
use oci_layout_reader::{read_layout, LayoutFormat, LayoutReport, Manifest, Problem};

/// One entry: name, type byte (`0` file, `2` symlink, `1` hard link, `5`
/// directory), data or link target.
struct Entry {
    name: String,
    kind: u8,
    data: Vec<u8>,
    link: String,
}

fn file(name: &str, data: impl Into<Vec<u8>>) -> Entry {
    Entry {
        name: name.into(),
        kind: b'0',
        data: data.into(),
        link: String::new(),
    }
}

fn link(name: &str, target: &str) -> Entry {
    Entry {
        name: name.into(),
        kind: b'2',
        data: Vec::new(),
        link: target.into(),
    }
}

fn dir(name: &str) -> Entry {
    Entry {
        name: name.into(),
        kind: b'5',
        data: Vec::new(),
        link: String::new(),
    }
}

fn tar_of(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_ustar();
        header.set_path(&entry.name).unwrap();
        header.set_size(entry.data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::new(entry.kind));
        if !entry.link.is_empty() {
            header.set_link_name(&entry.link).unwrap();
        }
        header.set_cksum();
        builder.append(&header, &entry.data[..]).unwrap();
    }
    builder.into_inner().unwrap()
}

fn read(entries: &[Entry]) -> LayoutReport {
    read_layout(&tar_of(entries)[..]).unwrap()
}

const LAYER_ONE: &[u8] = b"the bytes of layer one (a tar in a real archive)";
const LAYER_TWO: &[u8] = b"the bytes of layer two";
/// Docker's v1 layer IDs: directory names, unrelated to the digests.
const ID_ONE: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const ID_TWO: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const ID_SHARED: &str = "3333333333333333333333333333333333333333333333333333333333333333";

fn config(diff_ids: &[&[u8]]) -> Vec<u8> {
    let ids: Vec<String> = diff_ids
        .iter()
        .map(|layer| format!("\"{}\"", digest_bytes(layer)))
        .collect();
    format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["/app"]}},"rootfs":{{"type":"layers","diff_ids":[{}]}}}}"#,
        ids.join(",")
    )
    .into_bytes()
}

fn config_name(config: &[u8]) -> String {
    format!("{}.json", digest_bytes(config).hex())
}

/// Two images as Docker 24 saves them: `app:v1` with layer one, and
/// `other` (two tags) with layer one again (its `layer.tar` a link to the
/// first image's) and layer two.
fn docker_archive() -> Vec<Entry> {
    let app = config(&[LAYER_ONE]);
    let other = config(&[LAYER_ONE, LAYER_TWO]);
    let manifest = format!(
        r#"[{{"Config":"{}","RepoTags":["app:v1"],"Layers":["{ID_ONE}/layer.tar"]}},{{"Config":"{}","RepoTags":["localhost:5000/other:v2","other:latest"],"Layers":["{ID_SHARED}/layer.tar","{ID_TWO}/layer.tar"]}}]"#,
        config_name(&app),
        config_name(&other)
    );
    let repositories = format!(
        r#"{{"app":{{"v1":"{ID_ONE}"}},"localhost:5000/other":{{"v2":"{ID_TWO}"}},"other":{{"latest":"{ID_TWO}"}}}}"#
    );
    vec![
        dir(ID_ONE),
        file(&format!("{ID_ONE}/VERSION"), "1.0"),
        file(&format!("{ID_ONE}/json"), r#"{"id":"1"}"#),
        file(&format!("{ID_ONE}/layer.tar"), LAYER_ONE),
        dir(ID_SHARED),
        file(&format!("{ID_SHARED}/json"), r#"{"id":"3"}"#),
        link(
            &format!("{ID_SHARED}/layer.tar"),
            &format!("../{ID_ONE}/layer.tar"),
        ),
        dir(ID_TWO),
        file(&format!("{ID_TWO}/layer.tar"), LAYER_TWO),
        file(&config_name(&app), app),
        file(&config_name(&other), other),
        file("manifest.json", manifest),
        file("repositories", repositories),
    ]
}

fn replace(entries: &mut [Entry], name: &str, with: Entry) {
    let at = entries.iter().position(|e| e.name == name).unwrap();
    entries[at] = with;
}

#[test]
fn a_docker_archive_reads_as_its_images() {
    let report = read(&docker_archive());
    assert_eq!(report.problems, [], "{report:#?}");
    assert_eq!(report.format, LayoutFormat::DockerArchive);
    assert_eq!(report.index, None);
    // Two configs and two layer files: the link is not a third layer.
    assert_eq!(report.blob_count, 4);
    let names: Vec<_> = report.images.iter().map(|i| i.name().unwrap()).collect();
    assert_eq!(
        names,
        [
            "docker.io/library/app:v1",
            "localhost:5000/other:v2",
            "docker.io/library/other:latest"
        ]
    );

    let other = &report.images[1];
    let manifest = other.manifest.as_ref().unwrap();
    let layer_digests: Vec<&str> = manifest.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(
        layer_digests,
        [
            digest_bytes(LAYER_ONE).to_string(),
            digest_bytes(LAYER_TWO).to_string()
        ]
    );
    assert!(manifest
        .layers
        .iter()
        .all(|l| l.media_type == "application/vnd.oci.image.layer.v1.tar"));
    assert_eq!(manifest.layers[1].size, LAYER_TWO.len() as u64);
    let other_config = config(&[LAYER_ONE, LAYER_TWO]);
    assert_eq!(
        manifest.config.digest,
        digest_bytes(&other_config).to_string()
    );
    assert_eq!(other.raw_config.as_deref(), Some(&other_config[..]));
    // The shared layer's file is the one the link leads to.
    let files = other.docker_files.as_ref().unwrap();
    assert_eq!(files.config, config_name(&other_config));
    assert_eq!(
        files.layers,
        [format!("{ID_ONE}/layer.tar"), format!("{ID_TWO}/layer.tar")]
    );
    // The derived manifest is what the descriptor names and what is listed.
    let raw = other.raw_manifest.as_deref().unwrap();
    assert_eq!(other.descriptor.digest, digest_bytes(raw).to_string());
    assert_eq!(other.descriptor.size, raw.len() as u64);
    assert_eq!(
        &serde_json::from_slice::<Manifest>(raw).unwrap(),
        &**manifest
    );
    assert_eq!(
        other.descriptor.platform.as_ref().unwrap().to_string(),
        "linux/amd64"
    );
    // Both tags of one image share its manifest.
    assert_eq!(report.images[2].descriptor.digest, other.descriptor.digest);
    // Reading again gives the same bytes.
    let again = read(&docker_archive());
    assert_eq!(again.images[1].raw_manifest.as_deref(), Some(raw));
}

#[test]
fn the_derived_manifest_has_a_fixed_shape() {
    let report = read(&docker_archive());
    let app = &report.images[0];
    let app_config = config(&[LAYER_ONE]);
    let expected = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{}","size":{}}}]}}"#,
        digest_bytes(&app_config),
        app_config.len(),
        digest_bytes(LAYER_ONE),
        LAYER_ONE.len()
    );
    assert_eq!(
        String::from_utf8(app.raw_manifest.as_deref().unwrap().to_vec()).unwrap(),
        expected
    );
}

fn unsafe_names(report: &LayoutReport) -> Vec<(String, &'static str)> {
    report
        .problems
        .iter()
        .filter_map(|problem| match problem {
            Problem::UnsafeEntry { name, reason } => Some((name.clone(), *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_link_out_of_the_archive_is_unsafe_and_its_layer_missing() {
    let shared = format!("{ID_SHARED}/layer.tar");
    for target in ["../../etc/passwd", "/etc/passwd", "../../../x"] {
        let mut entries = docker_archive();
        replace(&mut entries, &shared, link(&shared, target));
        let report = read(&entries);
        assert_eq!(
            unsafe_names(&report),
            [(shared.clone(), "a symbolic link (links are not followed)")],
            "{target}: {:?}",
            report.problems
        );
        assert!(report.problems.contains(&Problem::DockerMissingFile {
            path: shared.clone()
        }));
    }
}

#[test]
fn links_only_where_the_format_puts_them_and_only_to_regular_files() {
    let docker_reason =
        "a symbolic link where a Docker archive has none, or to no regular file inside it";
    let shared = format!("{ID_SHARED}/layer.tar");
    // A link where Docker never puts one, though to a layer inside.
    let mut entries = docker_archive();
    entries.push(link("extra.tar", &format!("{ID_ONE}/layer.tar")));
    let report = read(&entries);
    assert_eq!(
        unsafe_names(&report),
        [("extra.tar".to_owned(), docker_reason)]
    );
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);

    // A layer link to a directory, and one to another link.
    for target in [format!("../{ID_ONE}"), format!("../{ID_TWO}/other.tar")] {
        let mut entries = docker_archive();
        replace(&mut entries, &shared, link(&shared, &target));
        entries.push(link(&format!("{ID_TWO}/other.tar"), "layer.tar"));
        let report = read(&entries);
        let unsafe_entries = unsafe_names(&report);
        assert!(
            unsafe_entries.contains(&(shared.clone(), docker_reason)),
            "{target}: {unsafe_entries:?}"
        );
        assert!(report.problems.contains(&Problem::DockerMissingFile {
            path: shared.clone()
        }));
        assert!(!report.is_valid());
    }

    // A link under a name the format gives meaning to, or ending in '/',
    // is unsafe as it is read, never kept aside to be resolved (found by
    // mutation testing of check.rs).
    let plain_reason = "a symbolic link (links are not followed)";
    let mut entries = docker_archive();
    replace(
        &mut entries,
        "repositories",
        link("repositories", &format!("{ID_ONE}/json")),
    );
    entries.push(link("extra.tar/", &format!("{ID_ONE}/layer.tar")));
    let report = read(&entries);
    assert_eq!(
        unsafe_names(&report),
        [
            ("repositories".to_owned(), plain_reason),
            ("extra.tar/".to_owned(), plain_reason)
        ]
    );

    // A hard link is never allowed.
    let mut entries = docker_archive();
    replace(
        &mut entries,
        &shared,
        Entry {
            kind: b'1',
            ..link(&shared, &format!("{ID_ONE}/layer.tar"))
        },
    );
    let report = read(&entries);
    assert!(unsafe_names(&report)
        .iter()
        .any(|(name, reason)| *name == shared && reason.contains("hard link")));

    // A link and a file of the same name: which one wins differs.
    let mut entries = docker_archive();
    entries.push(file(&shared, LAYER_ONE));
    let report = read(&entries);
    assert!(report
        .problems
        .contains(&Problem::DuplicateEntry { name: shared }));
}

#[test]
fn a_layer_that_is_not_its_diff_id_is_reported() {
    let layer = format!("{ID_TWO}/layer.tar");
    let mut entries = docker_archive();
    replace(&mut entries, &layer, file(&layer, "other bytes"));
    let report = read(&entries);
    assert_eq!(
        report.problems,
        [Problem::DockerDigestMismatch {
            path: layer,
            found: digest_bytes(b"other bytes"),
            expected: digest_bytes(LAYER_TWO).to_string(),
            claimed_by: "the config's rootfs.diff_ids",
        }]
    );
    assert!(report.problems[0]
        .to_string()
        .contains("but the config's rootfs.diff_ids gives sha256:"));
    // The image with the bad layer is not described; the other one is.
    assert_eq!(report.images.len(), 1);
}

#[test]
fn a_missing_layer_is_reported() {
    let layer = format!("{ID_TWO}/layer.tar");
    let mut entries = docker_archive();
    entries.retain(|e| e.name != layer);
    let report = read(&entries);
    assert!(
        report.problems.contains(&Problem::DockerMissingFile {
            path: layer.clone()
        }),
        "{:?}",
        report.problems
    );
    assert_eq!(
        report.problems[0].to_string(),
        format!("manifest.json refers to {layer:?}, which is not in the layout")
    );
}

#[test]
fn a_config_that_is_not_its_name_is_reported() {
    let app = config(&[LAYER_ONE]);
    let changed = String::from_utf8(app.clone())
        .unwrap()
        .replace("/app", "/evil");
    let mut entries = docker_archive();
    replace(
        &mut entries,
        &config_name(&app),
        file(&config_name(&app), changed.clone()),
    );
    let report = read(&entries);
    assert_eq!(
        report.problems,
        [Problem::DockerDigestMismatch {
            path: config_name(&app),
            found: digest_bytes(changed.as_bytes()),
            expected: digest_bytes(&app).to_string(),
            claimed_by: "its name",
        }]
    );
}

/// Whether a problem is the one a case expects.
type IsExpected = fn(&Problem) -> bool;

#[test]
fn configs_layer_counts_tags_and_repositories_are_checked() {
    let app = config(&[LAYER_ONE]);
    let app_name = config_name(&app);
    let manifest_of = |config: &str, tags: &str, layers: &str| {
        format!(r#"[{{"Config":"{config}","RepoTags":{tags},"Layers":[{layers}]}}]"#)
    };
    let one = format!("\"{ID_ONE}/layer.tar\"");
    let two = format!("\"{ID_TWO}/layer.tar\"");
    let cases: Vec<(String, Option<String>, IsExpected)> = vec![
        (
            manifest_of(&app_name, r#"["app:v1"]"#, &format!("{one},{two}")),
            None,
            |p| matches!(p, Problem::DockerDisagrees { reason, .. } if reason.contains("differ in number")),
        ),
        (
            manifest_of(&app_name, r#"["App With Spaces:v1"]"#, &one),
            None,
            |p| matches!(p, Problem::DockerInvalidTag { tag, .. } if tag == "App With Spaces:v1"),
        ),
        (
            manifest_of(&app_name, r#"["app:v1"]"#, &one),
            Some(format!(r#"{{"app":{{"v2":"{ID_ONE}"}}}}"#)),
            |p| matches!(p, Problem::DockerRepositoriesDisagree { tag, reason } if tag == "app:v2" && reason.contains("tags no image")),
        ),
        (
            manifest_of(&app_name, r#"["app:v1"]"#, &one),
            Some(format!(r#"{{"app":{{"v1":"{ID_TWO}"}}}}"#)),
            |p| matches!(p, Problem::DockerRepositoriesDisagree { reason, .. } if reason.contains("not the top layer")),
        ),
        (
            manifest_of(&app_name, r#"["app:v1"]"#, &one),
            Some("[]".to_owned()),
            |p| matches!(p, Problem::InvalidDocument { name, .. } if name == "repositories"),
        ),
        (
            manifest_of(&format!("{ID_ONE}/json"), r#"["app:v1"]"#, &one),
            None,
            |p| {
                matches!(
                    p,
                    Problem::InvalidDocument {
                        kind: "image config",
                        ..
                    }
                )
            },
        ),
        (
            r#"{"not":"a list"}"#.to_owned(),
            None,
            |p| matches!(p, Problem::InvalidDocument { name, .. } if name == "manifest.json"),
        ),
    ];
    for (manifest, repositories, expected) in cases {
        let mut entries = docker_archive();
        replace(
            &mut entries,
            "manifest.json",
            file("manifest.json", manifest.clone()),
        );
        match repositories {
            Some(repositories) => replace(
                &mut entries,
                "repositories",
                file("repositories", repositories),
            ),
            None => entries.retain(|e| e.name != "repositories"),
        }
        let report = read(&entries);
        assert_eq!(report.format, LayoutFormat::DockerArchive);
        assert!(
            report.problems.iter().any(expected),
            "{manifest}: {:?}",
            report.problems
        );
    }
}

#[test]
fn links_in_an_oci_layout_stay_unsafe() {
    // The same inside link that a Docker archive may hold, in a tar that
    // also has an oci-layout file: an OCI layout, where no link is allowed.
    let mut entries = docker_archive();
    entries.push(file("oci-layout", r#"{"imageLayoutVersion":"1.0.0"}"#));
    let report = read(&entries);
    assert_eq!(report.format, LayoutFormat::OciLayout);
    assert!(
        unsafe_names(&report).contains(&(
            format!("{ID_SHARED}/layer.tar"),
            "a symbolic link (links are not followed)"
        )),
        "{:?}",
        report.problems
    );
}

#[test]
fn an_image_of_a_docker_archive_copies_as_its_oci_image() {
    use oci_layout::LayoutTar;
    use oci_layout_reader::{copy_image, LayoutSource};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker.tar");
    std::fs::write(&path, tar_of(&docker_archive())).unwrap();
    let source = LayoutSource::Tar(path);
    let derived = read_layout(&std::fs::read(source.path()).unwrap()[..]).unwrap();
    let other = &derived.images[1];

    // Chosen by a RepoTags entry as written (its full name normalises to it).
    let mut sink = LayoutTar::new(Vec::new()).unwrap();
    let copied = copy_image(&source, Some("other:latest"), &mut sink, None).unwrap();
    assert_eq!(copied.manifest_digest.to_string(), other.descriptor.digest);
    assert_eq!((copied.blobs, copied.blobs_written), (3, 3));
    let written = sink.finish().unwrap();
    let report = read_layout(&written[..]).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.format, LayoutFormat::OciLayout);
    assert_eq!(report.images.len(), 1);
    let image = &report.images[0];
    assert_eq!(image.name(), Some("docker.io/library/other:latest"));
    assert_eq!(image.raw_manifest, other.raw_manifest);
    assert_eq!(image.raw_config, other.raw_config);
    // The layer blobs hold the layer files' bytes, under their diff_ids.
    for layer in [LAYER_ONE, LAYER_TWO] {
        let name = digest_bytes(layer).blob_path();
        let stored = test_entry(&written, &name);
        assert_eq!(stored, layer, "{name}");
    }
}

/// The bytes of the entry `name` in `tar`.
fn test_entry(tar: &[u8], name: &str) -> Vec<u8> {
    use std::io::Read;
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_str() == Some(name) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            return bytes;
        }
    }
    panic!("no entry {name}")
}

/// An archive of one image: `tags` tags (none: no RepoTags), `layers`
/// times layer one, and `padding` strings in a field nothing reads.
fn archive_of(tags: usize, layers: usize, padding: usize) -> Vec<Entry> {
    let config = config(&vec![LAYER_ONE; layers]);
    let quoted = |items: Vec<String>| {
        let quoted: Vec<String> = items.iter().map(|item| format!("\"{item}\"")).collect();
        format!("[{}]", quoted.join(","))
    };
    let tags = if tags == 0 {
        "null".to_owned()
    } else {
        quoted((0..tags).map(|i| format!("app:t{i}")).collect())
    };
    let manifest = format!(
        r#"[{{"Config":"{}","RepoTags":{tags},"Layers":{},"Padding":{}}}]"#,
        config_name(&config),
        quoted(vec![format!("{ID_ONE}/layer.tar"); layers]),
        quoted(vec!["aaaa".to_owned(); padding]),
    );
    vec![
        file(&format!("{ID_ONE}/layer.tar"), LAYER_ONE),
        file(&config_name(&config), config),
        file("manifest.json", manifest),
    ]
}

/// The caps on a Docker archive's images (the documented 10,000) and
/// descriptors (50,000, counting every string of manifest.json and each
/// image's layers and config), which no test reached. The counts:
/// manifest.json's 1 object and its strings (4 keys, the config, the
/// tags, the layers, the padding), each image's layers and config, and the
/// config's 3 objects.
#[test]
fn a_docker_archive_is_read_up_to_its_caps() {
    let cut_short = |report: &LayoutReport| {
        report.problems
            == [Problem::TooMuchToCheck {
                limit: oci_layout_reader::MAX_PARSED_TOTAL,
            }]
            && report.images.is_empty()
    };
    // 10,000 tags: 10,000 images (1 + 5 + 10,000 + 10,000 + 3 = 20,009).
    let report = read(&archive_of(10_000, 0, 0));
    assert_eq!(report.problems, []);
    assert_eq!(report.images.len(), 10_000);
    assert!(cut_short(&read(&archive_of(10_001, 0, 0))));
    // 8,000 tags of 4 layers: 1 + 5 + 8,000 + 4 + 40,000 + 3 = 48,013.
    let report = read(&archive_of(8_000, 4, 0));
    assert_eq!(report.problems, []);
    assert_eq!(report.images.len(), 8_000);
    // 9,000 tags of 4 layers: 54,013; 45,013 if an image's config were
    // not counted.
    assert!(cut_short(&read(&archive_of(9_000, 4, 0))));
    // One untagged image, 49,000 strings of padding: 49,012; 50,000: 50,012.
    let report = read(&archive_of(0, 1, 49_000));
    assert_eq!(report.problems, []);
    assert_eq!(report.images.len(), 1);
    assert!(cut_short(&read(&archive_of(0, 1, 50_000))));
}

/// Docker links the `layer.tar` of a layer ID that manifest.json does not
/// list (a parent's) to the layer stored once: allowed. A `repositories`
/// layer ID with a '/' is refused even when its `layer.tar` path comes out
/// as the top layer's.
#[test]
fn a_legacy_layer_link_is_allowed_and_a_layer_id_is_one_name() {
    let mut entries = docker_archive();
    let parent = "4".repeat(64);
    entries.push(link(
        &format!("{parent}/layer.tar"),
        &format!("../{ID_ONE}/layer.tar"),
    ));
    assert_eq!(read(&entries).problems, []);

    let mut entries = docker_archive();
    let repositories = format!(
        r#"{{"app":{{"v1":"{ID_ONE}/."}},"localhost:5000/other":{{"v2":"{ID_TWO}"}},"other":{{"latest":"{ID_TWO}"}}}}"#
    );
    replace(
        &mut entries,
        "repositories",
        file("repositories", repositories),
    );
    let problems = read(&entries).problems;
    assert!(
        matches!(&problems[..], [Problem::DockerRepositoriesDisagree { tag, .. }] if tag == "app:v1"),
        "{problems:?}"
    );
}
