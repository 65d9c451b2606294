//! `-o oci:DIR[:TAG]`: an OCI image layout directory, created or added to.
//!
//! The directory holds the tar's entries byte for byte; adding keeps what is
//! there (an entry with the same tag is replaced, other entries and fields
//! stay, old blobs stay); a stored blob that is wrong is reported, never
//! trusted; concurrent writers lose no entry; and skopeo, a registry,
//! containerd 1.7 and the OCI schemas take the result.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oci_digest::digest_bytes;
use serde_json::Value;
use test_support::schemas::{self, Schema};
use test_support::servers::{containerd17_binaries, Containerd, Registry};
use test_support::{require_tool, tar_entries, tiny_module};

mod common;

use common::{builder, run, run_ok};

const TAR_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A temp folder holding `a.wasm`, `b.wasm`, `c.wasm` (distinct modules)
/// and `rootfs.tar`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (seed, name) in [(1, "a.wasm"), (2, "b.wasm"), (3, "c.wasm")] {
        std::fs::write(dir.path().join(name), tiny_module(seed)).unwrap();
    }
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(6);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "hello.txt", &b"hello\n"[..])
        .unwrap();
    std::fs::write(dir.path().join("rootfs.tar"), builder.into_inner().unwrap()).unwrap();
    dir
}

/// Every regular file under `root`, by its path relative to `root`.
fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let name = path.strip_prefix(root).unwrap().display().to_string();
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(root, root, &mut files);
    files
}

fn index(layout: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap()
}

/// The index entries as (tag, manifest digest), in order.
fn entries(layout: &Path) -> Vec<(String, String)> {
    index(layout)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["annotations"][REF_NAME]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                entry["digest"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap())
}

/// The manifest of the entry tagged `tag`.
fn manifest(layout: &Path, tag: &str) -> Value {
    let (_, digest) = entries(layout)
        .into_iter()
        .find(|(name, _)| name == tag)
        .unwrap_or_else(|| panic!("no entry tagged {tag}"));
    serde_json::from_slice(&std::fs::read(blob(layout, &digest)).unwrap()).unwrap()
}

#[test]
fn a_new_directory_holds_the_tar_entries_byte_for_byte() {
    let dir = workdir();
    let image: &[&str] = &[
        "-n",
        "app",
        "-r",
        "localhost:5000/demo",
        "-t",
        "v1",
        "-m",
        "a.wasm",
        "-m",
        "b.wasm",
        "--layer",
    ];
    let cases: [(&str, Vec<&str>); 2] = [
        ("image", {
            let mut args = image.to_vec();
            args.push("application/vnd.oci.image.layer.v1.tar=rootfs.tar");
            args
        }),
        (
            "artifact",
            vec!["-n", "app", "-t", "v1", "--as-artifact", "-m", "c.wasm"],
        ),
    ];
    for (case, args) in cases {
        let tar_path = format!("{case}.tar");
        let layout = format!("{case}-layout");
        run_ok(&[&args[..], &["-o", &tar_path]].concat(), dir.path());
        let output = run_ok(
            &[&args[..], &["-o", &format!("oci:{layout}")]].concat(),
            dir.path(),
        );
        assert!(
            stderr(&output).contains(&format!("wrote oci:{layout}")),
            "{case}: {}",
            stderr(&output)
        );
        let mut from_tar: BTreeMap<String, Vec<u8>> =
            tar_entries(&std::fs::read(dir.path().join(&tar_path)).unwrap())
                .into_iter()
                .collect();
        assert!(from_tar.remove("manifest.json").is_some(), "{case}");
        let mut in_dir = files_under(&dir.path().join(&layout));
        // The lock file writers take turns on; empty.
        assert_eq!(in_dir.remove("index.json.lock"), Some(Vec::new()), "{case}");
        assert_eq!(
            in_dir.keys().collect::<Vec<_>>(),
            from_tar.keys().collect::<Vec<_>>(),
            "{case}: the directory and the tar hold other files"
        );
        for (name, bytes) in &from_tar {
            assert!(in_dir[name] == *bytes, "{case}: {name} differs");
            if let Some(hex) = name.strip_prefix("blobs/sha256/") {
                assert_eq!(digest_bytes(bytes).hex(), hex, "{case}: {name}");
            }
        }
        schemas::assert_valid(Schema::Layout, &in_dir["oci-layout"], case);
        schemas::assert_valid(Schema::Index, &in_dir["index.json"], case);
        run_ok(&["verify", &layout], dir.path());
    }
}

#[test]
fn adding_keeps_other_entries_and_replaces_the_same_tag() {
    let dir = workdir();
    let layout = dir.path().join("layout");
    let write = |module: &str, output: &str| {
        run_ok(&["-q", "-n", "app", "-m", module, "-o", output], dir.path());
    };
    write("a.wasm", "oci:layout:v1");
    write("b.wasm", "oci:layout:v2");
    let first = entries(&layout);
    assert_eq!(
        first
            .iter()
            .map(|(tag, _)| tag.as_str())
            .collect::<Vec<_>>(),
        ["v1", "v2"]
    );
    let a_layer = manifest(&layout, "v1")["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(a_layer, digest_bytes(&tiny_module(1)).to_string());
    let a_manifest = first[0].1.clone();

    // An entry another tool wrote, with fields of its own, stays as it was.
    let mut edited = index(&layout);
    let foreign = serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": first[1].1,
        "size": std::fs::metadata(blob(&layout, &first[1].1)).unwrap().len(),
        "annotations": {REF_NAME: "other", "com.example.note": "kept"},
        "platform": {"architecture": "wasm", "os": "wasip1"}
    });
    edited["manifests"]
        .as_array_mut()
        .unwrap()
        .push(foreign.clone());
    edited["annotations"] = serde_json::json!({"com.example.index": "kept"});
    std::fs::write(layout.join("index.json"), edited.to_string()).unwrap();

    // v1 again, from another module: the v1 entry is replaced, at the end.
    write("c.wasm", "oci:layout:v1");
    let after = entries(&layout);
    assert_eq!(
        after
            .iter()
            .map(|(tag, _)| tag.as_str())
            .collect::<Vec<_>>(),
        ["v2", "other", "v1"]
    );
    assert_eq!(after[0], first[1]);
    assert_ne!(after[2].1, a_manifest);
    assert_eq!(
        manifest(&layout, "v1")["layers"][0]["digest"],
        digest_bytes(&tiny_module(3)).to_string().as_str()
    );
    let index = index(&layout);
    assert_eq!(index["manifests"][1], foreign);
    assert_eq!(index["annotations"]["com.example.index"], "kept");
    // Blobs nothing refers to any more are left alone.
    assert!(blob(&layout, &a_manifest).is_file());
    assert!(blob(&layout, &a_layer).is_file());
    // No temporary file stays behind.
    let leftovers: Vec<String> = files_under(&layout)
        .into_keys()
        .filter(|name| name.ends_with(".partial"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());
}

#[test]
fn the_tag_comes_from_oci_dir_tag_or_tag_and_they_must_agree() {
    let dir = workdir();
    run_ok(
        &[
            "-q",
            "-n",
            "app",
            "-r",
            "localhost:5000/demo",
            "-m",
            "a.wasm",
            "-o",
            "oci:layout:v2",
        ],
        dir.path(),
    );
    let entry = &index(&dir.path().join("layout"))["manifests"][0];
    assert_eq!(entry["annotations"][REF_NAME], "v2");
    assert_eq!(
        entry["annotations"]["io.containerd.image.name"],
        "localhost:5000/demo/app:v2"
    );
    // Without a tag anywhere, latest; with the same tag twice, fine.
    run_ok(
        &["-q", "-n", "app", "-m", "a.wasm", "-o", "oci:plain"],
        dir.path(),
    );
    assert_eq!(entries(&dir.path().join("plain"))[0].0, "latest");
    run_ok(
        &[
            "-q",
            "-n",
            "app",
            "-t",
            "v3",
            "-m",
            "a.wasm",
            "-o",
            "oci:plain:v3",
        ],
        dir.path(),
    );

    let output = run(
        &[
            "-n",
            "app",
            "-t",
            "v1",
            "-m",
            "a.wasm",
            "-o",
            "oci:other:v2",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "oci-tar-builder: error: --tag v1 and -o …:v2 name two different tags; give one\n"
    );
    assert!(!dir.path().join("other").exists());
}

/// Writes `a.wasm` as `oci:layout:v1`, then runs `damage` on the layout and
/// writes it again: the second run must fail with `message` and leave
/// `index.json` as it was.
fn second_write_fails(damage: impl Fn(&Path, &str), message: &str) {
    let dir = workdir();
    let layout = dir.path().join("layout");
    let args = ["-q", "-n", "app", "-m", "a.wasm", "-o", "oci:layout:v1"];
    run_ok(&args, dir.path());
    let layer = digest_bytes(&tiny_module(1)).to_string();
    damage(&layout, &layer);
    let index_before = std::fs::read(layout.join("index.json")).unwrap();
    let output = run(&args, dir.path());
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    // Paths are named as given on the command line.
    let message = message.replace("LAYOUT", "layout");
    let message = message.replace("LAYER", layer.strip_prefix("sha256:").unwrap());
    assert!(
        stderr(&output).contains(&message),
        "expected {message:?} in {:?}",
        stderr(&output)
    );
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    assert_eq!(
        std::fs::read(layout.join("index.json")).unwrap(),
        index_before
    );
}

#[test]
fn a_stored_blob_of_the_wrong_size_is_reported_not_trusted() {
    second_write_fails(
        |layout, layer| {
            let path = blob(layout, layer);
            let bytes = std::fs::read(&path).unwrap();
            std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        },
        &format!(
            "sha256:LAYER is already in the destination with {} bytes where {} were announced",
            tiny_module(1).len() - 1,
            tiny_module(1).len()
        ),
    );
}

#[test]
fn a_stored_blob_that_is_a_symbolic_link_is_refused() {
    second_write_fails(
        |layout, layer| {
            let path = blob(layout, layer);
            let elsewhere = layout.parent().unwrap().join("elsewhere.wasm");
            std::fs::rename(&path, &elsewhere).unwrap();
            std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        },
        "LAYOUT/blobs/sha256/LAYER: cannot add to it: it is not a regular file",
    );
}

#[test]
fn a_layout_of_another_version_or_a_broken_index_is_refused() {
    second_write_fails(
        |layout, _| {
            std::fs::write(
                layout.join("oci-layout"),
                r#"{"imageLayoutVersion":"2.0.0"}"#,
            )
            .unwrap();
        },
        r#"LAYOUT/oci-layout: cannot add to it: image layout version "2.0.0" is not 1.0.0"#,
    );
    second_write_fails(
        |layout, _| {
            let index = layout.join("index.json");
            let mut bytes = std::fs::read(&index).unwrap();
            bytes.truncate(bytes.len() / 2);
            std::fs::write(&index, bytes).unwrap();
        },
        "LAYOUT/index.json: cannot add to it: it is not valid JSON",
    );
}

#[test]
fn concurrent_writers_lose_no_entry() {
    const WRITERS: u32 = 8;
    let dir = tempfile::tempdir().unwrap();
    let shared = tiny_module(100);
    std::fs::write(dir.path().join("shared.wasm"), &shared).unwrap();
    for writer in 0..WRITERS {
        std::fs::write(
            dir.path().join(format!("m{writer}.wasm")),
            tiny_module(writer),
        )
        .unwrap();
    }
    let children: Vec<_> = (0..WRITERS)
        .map(|writer| {
            Command::new(builder())
                .args(["-q", "-n", "app", "-t", &format!("t{writer}")])
                .args(["-m", &format!("m{writer}.wasm"), "-m", "shared.wasm"])
                .args(["-o", "oci:layout"])
                .current_dir(dir.path())
                .env_remove("SOURCE_DATE_EPOCH")
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let layout = dir.path().join("layout");
    let mut tags: Vec<String> = entries(&layout).into_iter().map(|(tag, _)| tag).collect();
    tags.sort();
    let expected: Vec<String> = (0..WRITERS).map(|w| format!("t{w}")).collect();
    assert_eq!(tags, expected);
    for writer in 0..WRITERS {
        let manifest = manifest(&layout, &format!("t{writer}"));
        let layers: Vec<&str> = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|layer| layer["digest"].as_str().unwrap())
            .collect();
        let own = digest_bytes(&tiny_module(writer)).to_string();
        let common = digest_bytes(&shared).to_string();
        assert_eq!(layers, [own.as_str(), common.as_str()]);
        for digest in layers {
            let bytes = std::fs::read(blob(&layout, digest)).unwrap();
            assert_eq!(digest_bytes(&bytes).to_string(), digest);
        }
    }
    assert!(files_under(&layout)
        .keys()
        .all(|name| !name.ends_with(".partial")));
    run_ok(&["verify", "layout"], dir.path());
}

fn skopeo(args: &[&str]) -> Output {
    Command::new(require_tool("skopeo", "the Debian package `skopeo`"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn skopeo_a_registry_and_containerd_take_the_directory() {
    let dir = workdir();
    run_ok(
        &[
            "-q",
            "-n",
            "app",
            "-r",
            "localhost:5000/demo",
            "-m",
            "a.wasm",
            "--layer",
            &format!("{TAR_LAYER}=rootfs.tar"),
            "-o",
            "oci:layout:v1",
        ],
        dir.path(),
    );
    let layout = dir.path().join("layout");
    let (_, manifest_digest) = entries(&layout).remove(0);
    let manifest_bytes = std::fs::read(blob(&layout, &manifest_digest)).unwrap();
    let source = format!("oci:{}:v1", layout.display());

    // skopeo selects the image by its tag and gives back our manifest.
    let inspect = skopeo(&["inspect", "--raw", &source]);
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    assert!(
        inspect.stdout == manifest_bytes,
        "skopeo's manifest differs"
    );

    // Copied to a registry, the manifest keeps its digest.
    let registry = Registry::start();
    let remote = format!("docker://{}/demo/app:v1", registry.host());
    let copy = skopeo(&[
        "--insecure-policy",
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &source,
        &remote,
    ]);
    assert!(copy.status.success(), "{}", stderr(&copy));
    let remote_digest = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--format",
        "{{.Digest}}",
        &remote,
    ]);
    assert!(remote_digest.status.success(), "{}", stderr(&remote_digest));
    assert_eq!(
        String::from_utf8_lossy(&remote_digest.stdout).trim(),
        manifest_digest
    );

    // A tar of the directory (GNU tar) imports and unpacks in containerd 1.7.
    let tar = dir.path().join("from-dir.tar");
    let gnu_tar = Command::new(require_tool("tar", "the Debian package `tar`"))
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&layout)
        .args(["oci-layout", "index.json", "blobs"])
        .output()
        .unwrap();
    assert!(gnu_tar.status.success(), "{}", stderr(&gnu_tar));
    let (containerd, ctr) = containerd17_binaries();
    let containerd = Containerd::start_binaries(&containerd, &ctr);
    let import = containerd.ctr(
        "layout-dir",
        ["images", "import", "--all-platforms", tar.to_str().unwrap()],
    );
    assert!(import.status.success(), "{}", stderr(&import));
    let unpacked = format!("unpacking localhost:5000/demo/app:v1 ({manifest_digest})...done");
    assert!(
        String::from_utf8_lossy(&import.stdout).contains(&unpacked),
        "containerd 1.7 did not say {unpacked:?}: {}",
        String::from_utf8_lossy(&import.stdout)
    );
}
