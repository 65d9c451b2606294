//! The compat image (the wasm file in an ordinary tar layer) and several
//! shapes in one image index: the documents byte for byte, and the layer
//! taken apart by other tools (gzip, zstd, Python's tarfile, sha256sum).
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use oci_digest::{digest_bytes, Digest};
use test_support::{require_tool, sha256sum, tar_entries, tar_entry, tiny_module};

mod common;

use common::workdir_with_app_wasm as workdir;
use common::{run, run_ok, text};

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap()
}

/// The blob `digest` (a `sha256:…` string) of `tar`.
fn blob(tar: &[u8], digest: &serde_json::Value) -> Vec<u8> {
    let digest: Digest = digest.as_str().unwrap().parse().unwrap();
    tar_entry(tar, &digest.blob_path())
}

/// Runs `program args` with `input` on stdin; its stdout.
fn pipe(program: &Path, args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(output.status.success(), "{program:?} {args:?} failed");
    output.stdout
}

/// What Python's tarfile reads in an uncompressed tar: each member's name,
/// type, mode, owner, times, user and group names and content digest.
fn python_tar_members(tar: &[u8]) -> serde_json::Value {
    let script = r#"
import hashlib, json, sys, tarfile, io
members = []
with tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()), mode="r:") as archive:
    for m in archive.getmembers():
        data = archive.extractfile(m).read() if m.isfile() else b""
        members.append({"name": m.name, "file": m.isfile(), "mode": oct(m.mode), "uid": m.uid,
                        "gid": m.gid, "mtime": m.mtime, "uname": m.uname, "gname": m.gname,
                        "size": m.size, "sha256": hashlib.sha256(data).hexdigest()})
print(json.dumps(members))
"#;
    json(&pipe(
        &require_tool("python3", "python3"),
        &["-c", script],
        tar,
    ))
}

/// The single image of `tar`: (manifest, config) documents as JSON text.
fn only_image(tar: &[u8]) -> (String, String) {
    let index = json(&tar_entry(tar, "index.json"));
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    let manifest = text(blob(tar, &index["manifests"][0]["digest"]));
    let config = text(blob(tar, &json(manifest.as_bytes())["config"]["digest"]));
    (manifest, config)
}

const SEED_COMPAT: &[&str] = &[
    "--name",
    "wasi-demo-oci",
    "--repo",
    "ghcr.io/containerd/runwasi",
    "--tag",
    "latest",
    "--shape",
    "compat",
    "--module",
    "./app.wasm",
    "-o",
    "./dist/compat.tar",
];

#[test]
fn compat_image_documents() {
    let (_guard, dir) = workdir();
    run_ok(SEED_COMPAT, &dir);
    let tar = std::fs::read(dir.join("dist/compat.tar")).unwrap();
    let (manifest, config) = only_image(&tar);
    insta::assert_snapshot!("compat_index", text(tar_entry(&tar, "index.json")));
    insta::assert_snapshot!("compat_manifest", manifest);
    insta::assert_snapshot!("compat_config", config);
    insta::assert_snapshot!(
        "compat_docker_manifest",
        text(tar_entry(&tar, "manifest.json"))
    );
}

/// The layer, decompressed by gzip itself, is a tar (read by Python) of
/// exactly `/app.wasm`'s name, the module's bytes, mode 0755, root, time 0
/// and no user names; its digest (by sha256sum) is the config's diff ID,
/// and manifest.json lists every layer and the config.
#[test]
fn the_gzip_layer_is_the_wasm_file_as_a_runtime_expects_it() {
    let (_guard, dir) = workdir();
    run_ok(SEED_COMPAT, &dir);
    let tar = std::fs::read(dir.join("dist/compat.tar")).unwrap();
    let (manifest, config) = only_image(&tar);
    let (manifest, config) = (json(manifest.as_bytes()), json(config.as_bytes()));
    let layer_descriptor = &manifest["layers"][0];
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        layer_descriptor["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let layer = blob(&tar, &layer_descriptor["digest"]);
    // No name and no modification time in the gzip header.
    assert_eq!(layer[..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    let uncompressed = pipe(&require_tool("gzip", "gzip"), &["-dc"], &layer);
    assert_eq!(
        config["rootfs"],
        serde_json::json!({"type": "layers", "diff_ids": [format!("sha256:{}", sha256sum(&uncompressed))]})
    );
    assert_eq!(config["os"], "wasi");
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/wasi-demo-oci.wasm"])
    );
    let members = python_tar_members(&uncompressed);
    assert_eq!(
        members,
        serde_json::json!([{
            "name": "wasi-demo-oci.wasm", "file": true, "mode": "0o755", "uid": 0, "gid": 0,
            "mtime": 0, "uname": "", "gname": "", "size": tiny_module(1).len(),
            "sha256": sha256sum(&tiny_module(1)),
        }])
    );
    let docker = json(&tar_entry(&tar, "manifest.json"));
    assert_eq!(
        docker,
        serde_json::json!([{
            "Config": format!("blobs/sha256/{}", &manifest["config"]["digest"].as_str().unwrap()[7..]),
            "RepoTags": ["ghcr.io/containerd/runwasi/wasi-demo-oci:latest"],
            "Layers": [format!("blobs/sha256/{}", &layer_descriptor["digest"].as_str().unwrap()[7..])],
        }])
    );
}

#[test]
fn zstd_and_uncompressed_layers_hold_the_same_tar() {
    let (_guard, dir) = workdir();
    let mut diff_ids = Vec::new();
    for (compression, media_type) in [
        ("gzip", "application/vnd.oci.image.layer.v1.tar+gzip"),
        ("zstd", "application/vnd.oci.image.layer.v1.tar+zstd"),
        ("none", "application/vnd.oci.image.layer.v1.tar"),
    ] {
        let out = format!("{compression}.tar");
        run_ok(
            &[
                "-n",
                "app",
                "--shape",
                "compat",
                "--compression",
                compression,
                "-m",
                "app.wasm",
                "-o",
                &out,
            ],
            &dir,
        );
        let tar = std::fs::read(dir.join(&out)).unwrap();
        let (manifest, config) = only_image(&tar);
        let (manifest, config) = (json(manifest.as_bytes()), json(config.as_bytes()));
        assert_eq!(manifest["layers"][0]["mediaType"], media_type);
        let layer = blob(&tar, &manifest["layers"][0]["digest"]);
        let uncompressed = match compression {
            "gzip" => pipe(&require_tool("gzip", "gzip"), &["-dc"], &layer),
            "zstd" => pipe(&require_tool("zstd", "zstd"), &["-dc"], &layer),
            _ => layer.clone(),
        };
        let diff_id = format!("sha256:{}", sha256sum(&uncompressed));
        assert_eq!(config["rootfs"]["diff_ids"], serde_json::json!([diff_id]));
        diff_ids.push(diff_id);
    }
    assert!(diff_ids.iter().all(|d| *d == diff_ids[0]), "{diff_ids:?}");
}

/// A module large enough for many parallel gzip blocks: the layer decodes
/// to the module (by gzip) and is the same in two runs.
#[test]
fn a_large_module_compresses_to_the_same_bytes_every_time() {
    let (_guard, dir) = workdir();
    std::fs::write(
        dir.join("big.wasm"),
        test_support::filler_module(3 * 1024 * 1024 + 5, 7),
    )
    .unwrap();
    let build = |out: &str| {
        run_ok(
            &[
                "-n", "big", "--shape", "compat", "-m", "big.wasm", "-o", out,
            ],
            &dir,
        );
        std::fs::read(dir.join(out)).unwrap()
    };
    let first = build("one.tar");
    assert!(first == build("two.tar"), "two builds differ");
    let (manifest, _) = only_image(&first);
    let layer = blob(&first, &json(manifest.as_bytes())["layers"][0]["digest"]);
    let members = python_tar_members(&pipe(&require_tool("gzip", "gzip"), &["-dc"], &layer));
    assert_eq!(
        members[0]["sha256"],
        sha256sum(&std::fs::read(dir.join("big.wasm")).unwrap())
    );
}

#[test]
fn a_compat_image_takes_one_wasm() {
    let (_guard, dir) = workdir();
    std::fs::write(dir.join("two.wasm"), tiny_module(2)).unwrap();
    let output = run(
        &[
            "-n", "x", "--shape", "compat", "-m", "app.wasm", "-m", "two.wasm", "-o", "out.tar",
        ],
        &dir,
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("a compat image holds exactly one"),
        "{stderr}"
    );
    assert!(!dir.join("out.tar").exists());
}

const SEED_TWO_SHAPES: &[&str] = &[
    "--name",
    "wasi-demo-oci",
    "--repo",
    "ghcr.io/containerd/runwasi",
    "--shape",
    "wasm-layers",
    "--shape",
    "compat",
    "--module",
    "./app.wasm",
    "-o",
    "./dist/both.tar",
];

/// `index.json` lists one image index under the name; its entries are the
/// wasm-layer image (`wasip1/wasm`) and the compat image (`wasi/wasm`),
/// each the very manifest a one-shape run writes; Docker's manifest.json
/// lists the compat image only.
#[test]
fn two_shapes_make_one_index_with_a_platform_each() {
    let (_guard, dir) = workdir();
    run_ok(SEED_TWO_SHAPES, &dir);
    let tar = std::fs::read(dir.join("dist/both.tar")).unwrap();
    let top = json(&tar_entry(&tar, "index.json"));
    assert_eq!(top["manifests"].as_array().unwrap().len(), 1);
    let entry = &top["manifests"][0];
    assert_eq!(
        entry["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(
        entry["annotations"]["io.containerd.image.name"],
        "ghcr.io/containerd/runwasi/wasi-demo-oci:latest"
    );
    assert!(entry.get("platform").is_none());
    let index_bytes = blob(&tar, &entry["digest"]);
    insta::assert_snapshot!("two_shapes_index", text(index_bytes.clone()));
    insta::assert_snapshot!(
        "two_shapes_docker_manifest",
        text(tar_entry(&tar, "manifest.json"))
    );
    let index = json(&index_bytes);
    let platforms: Vec<String> = test_support::index_platforms(&index);
    assert_eq!(platforms, ["wasip1/wasm", "wasi/wasm"]);

    // Each entry is what the one-shape run writes, byte for byte.
    for (at, shape) in ["wasm-layers", "compat"].iter().enumerate() {
        run_ok(
            &[
                "--name",
                "wasi-demo-oci",
                "--repo",
                "ghcr.io/containerd/runwasi",
                "--shape",
                shape,
                "--module",
                "./app.wasm",
                "-o",
                "one.tar",
            ],
            &dir,
        );
        let one = std::fs::read(dir.join("one.tar")).unwrap();
        let one_entry = &json(&tar_entry(&one, "index.json"))["manifests"][0];
        assert_eq!(
            index["manifests"][at]["digest"], one_entry["digest"],
            "{shape}"
        );
        assert_eq!(
            index["manifests"][at]["platform"], one_entry["platform"],
            "{shape}"
        );
        let manifest = blob(&tar, &index["manifests"][at]["digest"]);
        assert_eq!(sha256sum(&manifest), digest_bytes(&manifest).hex());
    }
    // The --json summary lists each image of the index.
    let mut args = SEED_TWO_SHAPES.to_vec();
    args.push("--json");
    let json_run = run_ok(&args, &dir);
    insta::assert_snapshot!("two_shapes_json_summary", text(json_run.stdout));
    // Every blob is where its name says.
    for (name, bytes) in tar_entries(&tar) {
        if let Some(hex) = name.strip_prefix("blobs/sha256/") {
            assert_eq!(sha256sum(&bytes), hex, "{name}");
        }
    }
}

/// The CNCF artifact of a core module is `wasip1/wasm`, as the wasm-layer
/// image is: an index of both would let a consumer take either.
#[test]
fn two_shapes_with_one_platform_are_refused_naming_both() {
    let (_guard, dir) = workdir();
    let output = run(
        &[
            "-n",
            "x",
            "--shape",
            "wasm-layers",
            "--as-artifact",
            "-m",
            "app.wasm",
            "-o",
            "x.tar",
        ],
        &dir,
    );
    assert_eq!(output.status.code(), Some(2));
    // The platforms are known once the wasm is read (an artifact's is the
    // entrypoint's kind): its line, then the one error line.
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    let error = stderr.lines().last().unwrap();
    for part in ["wasm-layer image", "CNCF Wasm OCI Artifact", "wasip1/wasm"] {
        assert!(error.contains(part), "{part}: {stderr}");
    }
    assert!(!dir.join("x.tar").exists());
    // A component's artifact is wasip2/wasm: beside the compat image it fits.
    let component = test_support::demo_component();
    let output = run_ok(
        &[
            "-n",
            "x",
            "--shape",
            "compat",
            "--shape",
            "artifact",
            "-m",
            component.to_str().unwrap(),
            "-o",
            "y.tar",
            "--json",
        ],
        &dir,
    );
    let summary = json(&output.stdout);
    assert_eq!(summary["shape"], "index");
    let platforms: Vec<&str> = summary["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|image| image["platform"]["os"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["wasi", "wasip2"]);
}

/// `--platform` with several shapes is refused before any input is read:
/// the images of one index need a platform each.
#[test]
fn one_platform_for_several_shapes_is_refused_before_reading() {
    let (_guard, dir) = workdir();
    let output = run(
        &[
            "-n",
            "x",
            "--shape",
            "wasm-layers",
            "--shape",
            "compat",
            "--platform",
            "linux/amd64",
            "-m",
            "app.wasm",
            "-o",
            "x.tar",
        ],
        &dir,
    );
    assert_eq!(output.status.code(), Some(2));
    // The one error line, and no line of the wasm read.
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--platform sets one platform") && stderr.contains("give one --shape"),
        "{stderr}"
    );
    assert!(!dir.join("x.tar").exists());
}

#[test]
fn two_shapes_into_a_layout_directory_match_the_tar() {
    let (_guard, dir) = workdir();
    run_ok(SEED_TWO_SHAPES, &dir);
    let mut args = SEED_TWO_SHAPES.to_vec();
    let out = args.len() - 1;
    args[out] = "oci:layout";
    run_ok(&args, &dir);
    let tar = std::fs::read(dir.join("dist/both.tar")).unwrap();
    for (name, bytes) in tar_entries(&tar) {
        if name == "manifest.json" {
            continue;
        }
        assert!(
            std::fs::read(dir.join("layout").join(&name)).unwrap() == bytes,
            "{name} differs"
        );
    }
}

/// `--add-image` lists an existing image (here a stand-in for a
/// `linux/amd64` build, from a layout directory) as one more platform of
/// the index: its manifest and blobs are copied as they are, its platform
/// comes from its index entry; a platform an entry has already is refused.
#[test]
fn an_existing_image_is_added_as_another_platform() {
    let (_guard, dir) = workdir();
    run_ok(
        &[
            "-n",
            "fallback",
            "--shape",
            "compat",
            "--platform",
            "linux/amd64",
            "-m",
            "app.wasm",
            "-o",
            "oci:fallback:v1",
        ],
        &dir,
    );
    let fallback_entry =
        json(&std::fs::read(dir.join("fallback/index.json")).unwrap())["manifests"][0].clone();
    let mut args = SEED_TWO_SHAPES.to_vec();
    args.extend(["--add-image", "oci:fallback:v1"]);
    let output = run_ok(&args, &dir);
    let stderr = String::from_utf8(output.stderr).unwrap();
    let added = format!(
        "added fallback ({}) as platform linux/amd64",
        fallback_entry["digest"].as_str().unwrap()
    );
    assert!(stderr.lines().any(|line| line == added), "{stderr}");
    let tar = std::fs::read(dir.join("dist/both.tar")).unwrap();
    let top = json(&tar_entry(&tar, "index.json"));
    let index = json(&blob(&tar, &top["manifests"][0]["digest"]));
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[2]["digest"], fallback_entry["digest"]);
    assert_eq!(
        entries[2]["platform"],
        serde_json::json!({"architecture": "amd64", "os": "linux"})
    );
    let source_manifest = std::fs::read(
        dir.join("fallback/blobs/sha256")
            .join(&fallback_entry["digest"].as_str().unwrap()[7..]),
    )
    .unwrap();
    assert!(blob(&tar, &entries[2]["digest"]) == source_manifest);
    let manifest = json(&source_manifest);
    for descriptor in
        std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().unwrap())
    {
        assert_eq!(
            sha256sum(&blob(&tar, &descriptor["digest"])),
            &descriptor["digest"].as_str().unwrap()[7..]
        );
    }
    let verify = run_ok(&["verify", "dist/both.tar"], &dir);
    assert!(verify.status.success());

    // The compat image is wasi/wasm already: the same platform twice.
    run_ok(
        &[
            "-n",
            "other",
            "--shape",
            "compat",
            "-m",
            "app.wasm",
            "-o",
            "oci:other:v1",
        ],
        &dir,
    );
    let mut args = SEED_TWO_SHAPES.to_vec();
    args.extend(["--add-image", "oci:other:v1"]);
    let output = run(&args, &dir);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let error = stderr.lines().last().unwrap();
    assert!(
        error.contains("is platform wasi/wasm, which the compat image has already"),
        "{stderr}"
    );
}
