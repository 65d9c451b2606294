//! `-f images.toml`: several images in one tar or layout directory, each
//! the same bytes as a one-image run with the same flags; errors name the
//! file, line and column.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use test_support::{tar_entry, tiny_module};

mod common;

use common::{run, run_ok};

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

const BUILD_FILE: &str = r#"# Two images for an air-gapped bundle.
[[image]]
name = "app"
repo = "localhost:5000/bundle"
tag = "v1"
shapes = ["wasm-layers", "compat"]
modules = ["wasm/app.wasm"]
annotations = { "org.opencontainers.image.source" = "https://example.com/app" }

[[image]]
name = "tool"
repo = "localhost:5000/bundle"
shapes = ["compat"]
modules = ["wasm/tool.wasm"]
author = "Example"
created = "2024-06-25T15:48:49Z"
"#;

/// A folder holding `conf/images.toml` and its modules under `conf/wasm/`.
fn bundle() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("conf");
    std::fs::create_dir_all(conf.join("wasm")).unwrap();
    std::fs::write(conf.join("wasm/app.wasm"), tiny_module(1)).unwrap();
    std::fs::write(conf.join("wasm/tool.wasm"), tiny_module(2)).unwrap();
    std::fs::write(conf.join("images.toml"), BUILD_FILE).unwrap();
    dir
}

/// The digest of each `index.json` entry, by its `io.containerd.image.name`.
fn entries(tar: &[u8]) -> Vec<(String, String)> {
    index_entries(&tar_entry(tar, "index.json"))
}

fn index_entries(index: &[u8]) -> Vec<(String, String)> {
    json(index)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["annotations"]["io.containerd.image.name"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                entry["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap()
}

/// Paths in the file are taken relative to it (the command runs elsewhere);
/// each image is the one the same flags make alone; Docker's manifest.json
/// lists one image per name; two runs give the same bytes.
#[test]
fn a_build_file_writes_every_image_as_the_flags_would() {
    let dir = bundle();
    let root = dir.path();
    run_ok(&["-f", "conf/images.toml", "-o", "bundle.tar"], root);
    let tar = read(root, "bundle.tar");
    let listed = entries(&tar);
    assert_eq!(
        listed
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        [
            "localhost:5000/bundle/app:v1",
            "localhost:5000/bundle/tool:latest"
        ]
    );

    run_ok(
        &[
            "-n",
            "app",
            "-r",
            "localhost:5000/bundle",
            "-t",
            "v1",
            "--shape",
            "wasm-layers",
            "--shape",
            "compat",
            "-m",
            "conf/wasm/app.wasm",
            "--annotation",
            "org.opencontainers.image.source=https://example.com/app",
            "-o",
            "app.tar",
        ],
        root,
    );
    run_ok(
        &[
            "-n",
            "tool",
            "-r",
            "localhost:5000/bundle",
            "--shape",
            "compat",
            "-m",
            "conf/wasm/tool.wasm",
            "--author",
            "Example",
            "--created",
            "2024-06-25T15:48:49Z",
            "-o",
            "tool.tar",
        ],
        root,
    );
    let alone: Vec<(String, String)> = ["app.tar", "tool.tar"]
        .iter()
        .flat_map(|tar| entries(&read(root, tar)))
        .collect();
    assert_eq!(listed, alone);

    let docker = json(&tar_entry(&tar, "manifest.json"));
    let tags: Vec<&str> = docker
        .as_array()
        .unwrap()
        .iter()
        .map(|image| image["RepoTags"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        [
            "localhost:5000/bundle/app:v1",
            "localhost:5000/bundle/tool:latest"
        ]
    );

    std::fs::rename(root.join("bundle.tar"), root.join("first.tar")).unwrap();
    run_ok(&["-f", "conf/images.toml", "-o", "bundle.tar"], root);
    assert!(
        read(root, "bundle.tar") == read(root, "first.tar"),
        "two runs differ"
    );

    // The same images into a layout directory.
    run_ok(&["-f", "conf/images.toml", "-o", "oci:layout"], root);
    assert_eq!(
        index_entries(&read(&root.join("layout"), "index.json")),
        listed
    );
    let verify = run_ok(&["verify", "bundle.tar"], root);
    assert!(verify.status.success());
}

/// Runs the builder on `toml` (written as `conf/images.toml`); asserts it
/// fails with a usage error, and returns its one line.
fn refused(toml: &str) -> String {
    let dir = bundle();
    std::fs::write(dir.path().join("conf/images.toml"), toml).unwrap();
    let output = run(&["-f", "conf/images.toml", "-o", "x.tar"], dir.path());
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(!dir.path().join("x.tar").exists());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

/// The 1-based line and column of the first `needle` in `text`.
fn position(text: &str, needle: &str) -> String {
    let offset = text.find(needle).unwrap();
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |at| at + 1) + 1;
    format!("conf/images.toml:{line}:{column}:")
}

#[test]
fn unknown_keys_and_bad_values_name_the_file_line_and_column() {
    let cases = [
        (
            BUILD_FILE.replace("author =", "auther ="),
            "auther",
            "unknown field `auther`",
        ),
        (
            BUILD_FILE.replace(r#"shapes = ["compat"]"#, r#"shapes = ["docker"]"#),
            r#""docker""#,
            "unknown variant `docker`",
        ),
        (
            BUILD_FILE.replace(
                r#"created = "2024-06-25T15:48:49Z""#,
                r#"created = "yesterday""#,
            ),
            r#""yesterday""#,
            "",
        ),
        (
            BUILD_FILE.replace(
                r#"modules = ["wasm/tool.wasm"]"#,
                "modules = [\"wasm/tool.wasm\"]\nplatform = \"wasi\"",
            ),
            r#""wasi""#,
            "expected OS/ARCH",
        ),
        (
            BUILD_FILE.replace(r#"name = "tool""#, r#"name = "Tool""#),
            r#""Tool""#,
            "",
        ),
        (
            BUILD_FILE.replace("name = \"tool\"", "name = \"app\"\ntag = \"v1\""),
            "\"app\"\ntag",
            "is named by an earlier [[image]] too",
        ),
    ];
    for (toml, culprit, message) in cases {
        let line = refused(&toml);
        assert!(
            line.contains(&format!("error: {} ", position(&toml, culprit))),
            "{culprit}: {line}"
        );
        assert!(line.contains(message), "{culprit}: {line}");
    }
}

#[test]
fn a_build_file_takes_no_image_flags() {
    let dir = bundle();
    let output = run(
        &["-f", "conf/images.toml", "-n", "x", "-o", "x.tar"],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2));
}

/// The tar of a build file holds its images one after another, as writing
/// each alone would: every blob of the first image (its manifest last)
/// before any of the second's. (The first image's small wasm goes into
/// the tar as it is read; a later image's must wait for the earlier one's
/// config and manifest.)
#[test]
fn a_build_files_images_come_one_after_another_in_the_tar() {
    let dir = bundle();
    let root = dir.path();
    std::fs::write(
        root.join("conf/images.toml"),
        r#"[[image]]
name = "first"
modules = ["wasm/app.wasm"]

[[image]]
name = "second"
modules = ["wasm/tool.wasm"]
"#,
    )
    .unwrap();
    let output = run_ok(&["-f", "conf/images.toml", "-o", "two.tar"], root);
    // The summary names the tar once, then each image.
    let summary = String::from_utf8(output.stderr).unwrap();
    assert_eq!(summary.matches("wrote two.tar").count(), 1, "{summary}");
    let images: Vec<&str> = summary
        .lines()
        .filter_map(|line| line.trim().strip_prefix("image "))
        .map(str::trim)
        .collect();
    assert_eq!(images, ["first:latest", "second:latest"], "{summary}");
    let tar = read(root, "two.tar");
    let blob_name =
        |digest: &str| format!("blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap());
    // Each image's blobs from its documents: layers and config, then the
    // manifest.
    let images: Vec<Vec<String>> = entries(&tar)
        .iter()
        .map(|(_, manifest_digest)| {
            let manifest = json(&tar_entry(&tar, &blob_name(manifest_digest)));
            let mut blobs: Vec<String> = manifest["layers"]
                .as_array()
                .unwrap()
                .iter()
                .chain([&manifest["config"]])
                .map(|descriptor| blob_name(descriptor["digest"].as_str().unwrap()))
                .collect();
            blobs.push(blob_name(manifest_digest));
            blobs
        })
        .collect();
    assert_eq!(images.len(), 2);
    let in_tar: Vec<String> = test_support::tar_entries(&tar)
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| name.starts_with("blobs/sha256/") && name.len() > "blobs/sha256/".len())
        .collect();
    assert_eq!(
        in_tar.len(),
        images[0].len() + images[1].len(),
        "{in_tar:?}"
    );
    let (first, second) = in_tar.split_at(images[0].len());
    for (written, image) in [(first, &images[0]), (second, &images[1])] {
        let mut sorted = written.to_vec();
        sorted.sort();
        let mut wanted = image.clone();
        wanted.sort();
        assert_eq!(
            sorted, wanted,
            "blobs in the tar {in_tar:?}, images {images:?}"
        );
        assert_eq!(
            written.last(),
            image.last(),
            "the manifest last: {in_tar:?}"
        );
    }
}
