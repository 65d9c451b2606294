//! The packaging command end to end: the documents it writes, byte for byte,
//! and the promises around them (reproducible, stdout = file, naming).
#![allow(clippy::unwrap_used)]

use std::process::Command;

use oci_digest::{digest_bytes, Digest};
use test_support::{tar_entries, tar_entry, tiny_module};

mod common;

use common::workdir_with_app_wasm as workdir;
use common::{builder, run, run_ok, text};

const SEED_IMAGE: &[&str] = &[
    "--name",
    "wasi-demo-oci",
    "--repo",
    "ghcr.io/containerd/runwasi",
    "--tag",
    "latest",
    "--module",
    "./app.wasm",
    "-o",
    "./dist/img-oci.tar",
];

const SEED_ARTIFACT: &[&str] = &[
    "--name",
    "wasi-demo-oci",
    "--repo",
    "ghcr.io/containerd/runwasi",
    "--tag",
    "latest",
    "--as-artifact",
    "--module",
    "./app.wasm",
    "-o",
    "./dist/img-oci-artifact.tar",
];

/// The documents of the single image in `tar`: index, manifest, config.
struct Documents {
    index: String,
    manifest: String,
    config: String,
    docker_manifest: String,
    oci_layout: String,
}

fn documents(tar: &[u8]) -> Documents {
    let index = text(tar_entry(tar, "index.json"));
    let index_json: serde_json::Value = serde_json::from_str(&index).unwrap();
    let manifest_digest: Digest = index_json["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let manifest = text(tar_entry(tar, &manifest_digest.blob_path()));
    let manifest_json: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let config_digest: Digest = manifest_json["config"]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    Documents {
        config: text(tar_entry(tar, &config_digest.blob_path())),
        manifest,
        index,
        docker_manifest: text(tar_entry(tar, "manifest.json")),
        oci_layout: text(tar_entry(tar, "oci-layout")),
    }
}

#[test]
fn seed_image_command_documents() {
    let (_guard, dir) = workdir();
    run_ok(SEED_IMAGE, &dir);
    let tar = std::fs::read(dir.join("dist/img-oci.tar")).unwrap();
    let docs = documents(&tar);
    insta::assert_snapshot!("oci_layout", docs.oci_layout);
    insta::assert_snapshot!("image_index", docs.index);
    insta::assert_snapshot!("image_manifest", docs.manifest);
    insta::assert_snapshot!("image_config", docs.config);
    insta::assert_snapshot!("image_docker_manifest", docs.docker_manifest);
}

#[test]
fn seed_artifact_command_documents() {
    let (_guard, dir) = workdir();
    run_ok(SEED_ARTIFACT, &dir);
    let tar = std::fs::read(dir.join("dist/img-oci-artifact.tar")).unwrap();
    let docs = documents(&tar);
    insta::assert_snapshot!("artifact_index", docs.index);
    insta::assert_snapshot!("artifact_manifest", docs.manifest);
    insta::assert_snapshot!("artifact_wasm_config", docs.config);
    insta::assert_snapshot!("artifact_docker_manifest", docs.docker_manifest);
    assert_eq!(docs.oci_layout, r#"{"imageLayoutVersion":"1.0.0"}"#);
}

#[test]
fn every_blob_hashes_to_its_name_and_the_wasm_is_intact() {
    let (_guard, dir) = workdir();
    for args in [SEED_IMAGE, SEED_ARTIFACT] {
        run_ok(args, &dir);
    }
    for tar in ["dist/img-oci.tar", "dist/img-oci-artifact.tar"] {
        let tar = std::fs::read(dir.join(tar)).unwrap();
        let entries = tar_entries(&tar);
        let names: Vec<&str> = entries.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names[0], "oci-layout");
        assert_eq!(names[names.len() - 2..], ["manifest.json", "index.json"]);
        for (name, bytes) in &entries {
            if let Some(hex) = name.strip_prefix("blobs/sha256/") {
                assert_eq!(digest_bytes(bytes).hex(), hex, "{name}");
            }
        }
        let wasm = tiny_module(1);
        assert!(entries.iter().any(|(_, bytes)| *bytes == wasm));
    }
}

#[test]
fn two_builds_a_second_apart_are_identical() {
    let (_guard, dir) = workdir();
    run_ok(SEED_IMAGE, &dir);
    let first = std::fs::read(dir.join("dist/img-oci.tar")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::remove_file(dir.join("dist/img-oci.tar")).unwrap();
    run_ok(SEED_IMAGE, &dir);
    let second = std::fs::read(dir.join("dist/img-oci.tar")).unwrap();
    assert!(first == second, "two builds differ");
}

#[test]
fn the_input_path_does_not_change_the_bytes() {
    let (_guard, dir) = workdir();
    std::fs::create_dir(dir.join("elsewhere")).unwrap();
    std::fs::copy(dir.join("app.wasm"), dir.join("elsewhere/other-name.wasm")).unwrap();
    run_ok(SEED_IMAGE, &dir);
    let mut args = SEED_IMAGE.to_vec();
    args[7] = "elsewhere/other-name.wasm";
    args[9] = "second.tar";
    run_ok(&args, &dir);
    assert!(
        std::fs::read(dir.join("dist/img-oci.tar")).unwrap()
            == std::fs::read(dir.join("second.tar")).unwrap()
    );
}

#[test]
fn source_date_epoch_and_created_set_the_config_time() {
    for seed in [SEED_ARTIFACT, SEED_IMAGE] {
        created_times_in_both_ways(seed);
    }
}

/// Regression (found by mutation testing): only the artifact's config was
/// tested, so a wasm-layer image ignoring `--created` went unnoticed.
fn created_times_in_both_ways(seed: &[&str]) {
    let (_guard, dir) = workdir();
    let created_in = |out: &str, extra: &[&str]| {
        let mut args = seed.to_vec();
        let out_at = args.iter().position(|arg| *arg == "-o").unwrap() + 1;
        args[out_at] = out;
        args.extend(extra);
        let output = Command::new(builder())
            .args(&args)
            .current_dir(&dir)
            .env("SOURCE_DATE_EPOCH", "1719330529")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        let config = documents(&std::fs::read(dir.join(out)).unwrap()).config;
        let config: serde_json::Value = serde_json::from_str(&config).unwrap();
        config["created"].as_str().unwrap().to_owned()
    };
    assert_eq!(created_in("epoch.tar", &[]), "2024-06-25T15:48:49Z");
    // --created wins over SOURCE_DATE_EPOCH and is normalised to UTC.
    assert_eq!(
        created_in("created.tar", &["--created", "2024-06-25T17:58:49.5+02:00"]),
        "2024-06-25T15:58:49.5Z"
    );
}

#[test]
fn stdout_gets_the_same_bytes_as_a_file_and_stderr_the_summary() {
    let (_guard, dir) = workdir();
    let file_run = run_ok(SEED_IMAGE, &dir);
    assert!(file_run.stdout.is_empty(), "nothing on stdout without -o -");
    let summary = String::from_utf8(file_run.stderr).unwrap();
    assert!(
        summary.contains("ghcr.io/containerd/runwasi/wasi-demo-oci:latest"),
        "{summary}"
    );
    let file = std::fs::read(dir.join("dist/img-oci.tar")).unwrap();
    let manifest_digest = {
        let index: serde_json::Value =
            serde_json::from_slice(&tar_entry(&file, "index.json")).unwrap();
        index["manifests"][0]["digest"].as_str().unwrap().to_owned()
    };
    assert!(summary.contains(&manifest_digest), "{summary}");

    let mut args = SEED_IMAGE.to_vec();
    args[9] = "-";
    let stdout_run = run_ok(&args, &dir);
    assert!(stdout_run.stdout == file, "stdout and file output differ");

    args.push("--quiet");
    let quiet_run = run_ok(&args, &dir);
    assert!(quiet_run.stderr.is_empty());
}

#[test]
fn registry_port_is_not_taken_for_the_tag() {
    let (_guard, dir) = workdir();
    run_ok(
        &[
            "--repo",
            "localhost:5000/demo",
            "--name",
            "app",
            "--tag",
            "v1",
            "-m",
            "app.wasm",
            "-o",
            "port.tar",
        ],
        &dir,
    );
    let index: serde_json::Value = serde_json::from_slice(&tar_entry(
        &std::fs::read(dir.join("port.tar")).unwrap(),
        "index.json",
    ))
    .unwrap();
    let annotations = &index["manifests"][0]["annotations"];
    assert_eq!(
        annotations["io.containerd.image.name"],
        "localhost:5000/demo/app:v1"
    );
    assert_eq!(annotations["org.opencontainers.image.ref.name"], "v1");
}

#[test]
fn several_modules_are_layers_in_order_and_duplicates_stored_once() {
    let (_guard, dir) = workdir();
    std::fs::write(dir.join("two.wasm"), tiny_module(2)).unwrap();
    run_ok(
        &[
            "-n",
            "multi",
            "-m",
            "two.wasm",
            "-m",
            "app.wasm",
            "-m",
            "two.wasm",
            "-o",
            "multi.tar",
        ],
        &dir,
    );
    let tar = std::fs::read(dir.join("multi.tar")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&documents(&tar).manifest).unwrap();
    let layers: Vec<&str> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| layer["digest"].as_str().unwrap())
        .collect();
    let (two, one) = (
        digest_bytes(&tiny_module(2)).to_string(),
        digest_bytes(&tiny_module(1)).to_string(),
    );
    assert_eq!(layers, [two.as_str(), one.as_str(), two.as_str()]);
    let blob_entries = tar_entries(&tar)
        .into_iter()
        .filter(|(name, _)| name.starts_with("blobs/"))
        .count();
    assert_eq!(
        blob_entries,
        2 + 2,
        "two distinct wasm blobs, a config and a manifest"
    );
}

#[test]
fn components_folder_is_taken_in_file_name_order_skipping_other_files() {
    let (_guard, dir) = workdir();
    let components = dir.join("components");
    std::fs::create_dir(&components).unwrap();
    std::fs::write(components.join("b.wasm"), tiny_module(2)).unwrap();
    std::fs::write(components.join("a.wasm"), tiny_module(3)).unwrap();
    std::fs::write(components.join("notes.txt"), "not wasm").unwrap();
    // Left out, each with a note saying why: a hidden module (as a shell's
    // `*.wasm` leaves it out) and a folder named like a module.
    std::fs::write(components.join(".hidden.wasm"), tiny_module(4)).unwrap();
    std::fs::create_dir(components.join("folder.wasm")).unwrap();
    // A link to a module is the module.
    std::os::unix::fs::symlink("b.wasm", components.join("c.wasm")).unwrap();
    let output = run_ok(
        &["-n", "folder", "-c", "components", "-o", "folder.tar"],
        &dir,
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("notes.txt: skipped, not a .wasm file"),
        "{stderr}"
    );
    assert!(
        stderr.contains(".hidden.wasm: skipped, a hidden file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("folder.wasm: skipped, a folder"),
        "{stderr}"
    );
    let tar = std::fs::read(dir.join("folder.tar")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&documents(&tar).manifest).unwrap();
    let digests: Vec<String> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| layer["digest"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        digests,
        [
            digest_bytes(&tiny_module(3)).to_string(),
            digest_bytes(&tiny_module(2)).to_string(),
            digest_bytes(&tiny_module(2)).to_string()
        ]
    );
}

/// A link in a --components folder that cannot be followed for another
/// reason than a missing target (here a loop) is said as the system says
/// it, not as a link to nothing.
#[test]
fn a_link_loop_in_a_components_folder_is_said_as_one() {
    let (_guard, dir) = workdir();
    let components = dir.join("looped");
    std::fs::create_dir(&components).unwrap();
    std::fs::write(components.join("a.wasm"), tiny_module(5)).unwrap();
    std::os::unix::fs::symlink("b.wasm", components.join("b.wasm")).unwrap();
    let output = run(&["-n", "loop", "-c", "looped", "-o", "loop.tar"], &dir);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    // ELOOP, in the C library's words: glibc's "Too many levels of
    // symbolic links", musl's "Symbolic link loop".
    assert!(
        stderr.contains("looped/b.wasm: ") && stderr.contains(" (os error 40)\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("does not exist"), "{stderr}");
    assert!(!dir.join("loop.tar").exists());
}

#[test]
fn an_extra_tar_layer_is_listed_in_diff_ids() {
    let (_guard, dir) = workdir();
    std::fs::write(dir.join("rootfs.tar"), [0u8; 1024]).unwrap();
    run_ok(
        &[
            "-n",
            "layered",
            "-m",
            "app.wasm",
            "--layer",
            "application/vnd.oci.image.layer.v1.tar=rootfs.tar",
            "--annotation",
            "org.opencontainers.image.source=https://example.com/x=y",
            "-o",
            "layered.tar",
        ],
        &dir,
    );
    let docs = documents(&std::fs::read(dir.join("layered.tar")).unwrap());
    let tar_digest = digest_bytes(&[0u8; 1024]).to_string();
    let config: serde_json::Value = serde_json::from_str(&docs.config).unwrap();
    assert_eq!(
        config["rootfs"]["diff_ids"],
        serde_json::json!([tar_digest])
    );
    let manifest: serde_json::Value = serde_json::from_str(&docs.manifest).unwrap();
    assert_eq!(
        manifest["layers"][1]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.source"],
        "https://example.com/x=y"
    );
}

/// Each wasm layer carries a file name for pullers (`oras pull` saves a
/// layer under its `org.opencontainers.image.title`): the image's name for
/// the first, numbered after it for the others, whatever the inputs are
/// called; an extra layer has none. The names are spelled out here, not
/// taken from the code.
#[test]
fn wasm_layers_are_titled_after_the_image_name() {
    let (_guard, dir) = workdir();
    std::fs::write(dir.join("two.wasm"), tiny_module(2)).unwrap();
    std::fs::write(dir.join("rootfs.tar"), [0u8; 1024]).unwrap();
    let title = |layer: &serde_json::Value| layer["annotations"].clone();
    for (shape, modules) in [
        ("image", &["two.wasm", "app.wasm", "two.wasm"][..]),
        ("artifact", &["two.wasm"][..]),
    ] {
        let mut args = vec!["-n", "titled", "-r", "ghcr.io/org/x", "-o", "titled.tar"];
        for module in modules {
            args.extend(["-m", module]);
        }
        args.extend([
            "--layer",
            "application/vnd.oci.image.layer.v1.tar=rootfs.tar",
        ]);
        if shape == "artifact" {
            args.push("--as-artifact");
        }
        run_ok(&args, &dir);
        let docs = documents(&std::fs::read(dir.join("titled.tar")).unwrap());
        let manifest: serde_json::Value = serde_json::from_str(&docs.manifest).unwrap();
        let layers = manifest["layers"].as_array().unwrap();
        let titles: Vec<serde_json::Value> = layers.iter().map(title).collect();
        let expected: Vec<serde_json::Value> = ["titled.wasm", "titled-2.wasm", "titled-3.wasm"]
            .iter()
            .take(modules.len())
            .map(|name| serde_json::json!({ "org.opencontainers.image.title": name }))
            .chain([serde_json::Value::Null])
            .collect();
        assert_eq!(titles, expected, "{shape}: {}", docs.manifest);
        std::fs::remove_file(dir.join("titled.tar")).unwrap();
    }
}

#[test]
fn layer_annotations_go_on_the_entrypoint_layer_and_may_retitle_it() {
    let (_guard, dir) = workdir();
    std::fs::write(dir.join("two.wasm"), tiny_module(2)).unwrap();
    run_ok(
        &[
            "-n",
            "app",
            "-m",
            "app.wasm",
            "-m",
            "two.wasm",
            "--layer-annotation",
            "org.opencontainers.image.title=my_app.wasm",
            "--layer-annotation",
            "com.example.note=a=b",
            "-o",
            "annotated.tar",
        ],
        &dir,
    );
    let docs = documents(&std::fs::read(dir.join("annotated.tar")).unwrap());
    let manifest: serde_json::Value = serde_json::from_str(&docs.manifest).unwrap();
    assert_eq!(
        manifest["layers"][0]["annotations"],
        serde_json::json!({
            "com.example.note": "a=b",
            "org.opencontainers.image.title": "my_app.wasm",
        })
    );
    assert_eq!(
        manifest["layers"][1]["annotations"],
        serde_json::json!({ "org.opencontainers.image.title": "app-2.wasm" })
    );
    assert!(!manifest["annotations"]
        .as_object()
        .unwrap()
        .contains_key("com.example.note"));

    // A title must be a plain file name: a usage error naming the flag.
    for title in ["", ".", "..", "a/b.wasm", "..\\x.wasm"] {
        let flag = format!("org.opencontainers.image.title={title}");
        let output = run(
            &[
                "-n",
                "app",
                "-m",
                "app.wasm",
                "--layer-annotation",
                &flag,
                "-o",
                "bad.tar",
            ],
            &dir,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{title:?}: {stderr}");
        assert!(
            stderr.contains("not a plain file name") && stderr.contains("--layer-annotation"),
            "{title:?}: {stderr}"
        );
        assert!(!dir.join("bad.tar").exists());
    }
}

/// The original tool silently dropped extra modules in artifact mode.
#[test]
fn regression_artifact_with_two_modules_is_refused_not_truncated() {
    let (_guard, dir) = workdir();
    std::fs::write(dir.join("two.wasm"), tiny_module(2)).unwrap();
    let output = run(
        &[
            "-n", "x", "-a", "-m", "app.wasm", "-m", "two.wasm", "-o", "out.tar",
        ],
        &dir,
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("exactly one wasm module or component"),
        "{stderr}"
    );
    assert!(stderr.contains("2 were given"), "{stderr}");
    assert!(!dir.join("out.tar").exists());
}

/// The original tool panicked when -o was missing.
#[test]
fn regression_missing_out_path_is_a_usage_error() {
    let (_guard, dir) = workdir();
    let output = run(&["-n", "x", "-m", "app.wasm"], &dir);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--out-path"), "{stderr}");
}

/// The original tool printed a message and exited 0 on errors.
#[test]
fn regression_a_missing_module_fails_with_exit_1_and_no_output() {
    let (_guard, dir) = workdir();
    let output = run(&["-n", "x", "-m", "nope.wasm", "-o", "dist/out.tar"], &dir);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        stderr,
        "oci-tar-builder: error: nope.wasm: No such file or directory (os error 2)\n"
    );
    assert!(!dir.join("dist/out.tar").exists());
    assert!(
        !dir.join("dist").exists() || std::fs::read_dir(dir.join("dist")).unwrap().count() == 0
    );
}

#[test]
fn the_real_demo_module_packages() {
    let (_guard, dir) = workdir();
    let module = test_support::demo_module();
    let output = run_ok(
        &[
            "-n",
            "wasi-demo-app",
            "-m",
            module.to_str().unwrap(),
            "-o",
            "demo.tar",
        ],
        &dir,
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("core module"), "{stderr}");
    let tar = std::fs::read(dir.join("demo.tar")).unwrap();
    let wasm = std::fs::read(module).unwrap();
    assert!(tar_entries(&tar)
        .iter()
        .any(|(name, bytes)| { *name == digest_bytes(&wasm).blob_path() && *bytes == wasm }));
}

#[test]
fn an_artifact_with_an_extra_layer_is_written_with_a_note() {
    let (_guard, dir) = workdir();
    std::fs::write(dir.join("notes.txt"), "hello").unwrap();
    let output = run_ok(
        &[
            "-n",
            "x",
            "-a",
            "-m",
            "app.wasm",
            "-l",
            "text/plain=notes.txt",
            "-o",
            "a.tar",
        ],
        &dir,
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("expects one layer"), "{stderr}");
    let docs = documents(&std::fs::read(dir.join("a.tar")).unwrap());
    let config: serde_json::Value = serde_json::from_str(&docs.config).unwrap();
    assert_eq!(config["layerDigests"].as_array().unwrap().len(), 2);
}

/// Regression (found by mutation testing): a label computed from the first
/// layer only passed every test. The runwasi label is the hex SHA-256 of
/// the layers' hex digests concatenated in manifest order; recomputed here
/// with `sha256sum` for three wasm layers and a tar layer.
#[test]
fn the_runwasi_label_covers_every_layer_in_order() {
    let (_guard, dir) = workdir();
    std::fs::write(dir.join("b.wasm"), tiny_module(2)).unwrap();
    std::fs::write(dir.join("c.wasm"), tiny_module(3)).unwrap();
    std::fs::write(dir.join("rootfs.tar"), [0u8; 1024]).unwrap();
    run_ok(
        &[
            "-q",
            "-n",
            "app",
            "-m",
            "app.wasm",
            "-m",
            "b.wasm",
            "-m",
            "c.wasm",
            "--layer",
            "application/vnd.oci.image.layer.v1.tar=rootfs.tar",
            "-o",
            "labels.tar",
        ],
        &dir,
    );
    let tar = std::fs::read(dir.join("labels.tar")).unwrap();
    let docs = documents(&tar);
    let manifest: serde_json::Value = serde_json::from_str(&docs.manifest).unwrap();
    let config: serde_json::Value = serde_json::from_str(&docs.config).unwrap();
    let hexes: Vec<String> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| {
            layer["digest"]
                .as_str()
                .unwrap()
                .strip_prefix("sha256:")
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(hexes.len(), 4);
    // Each layer digest is of its input's bytes.
    for (hex, input) in hexes
        .iter()
        .zip(["app.wasm", "b.wasm", "c.wasm", "rootfs.tar"])
    {
        assert_eq!(
            *hex,
            test_support::sha256sum(&std::fs::read(dir.join(input)).unwrap()),
            "{input}"
        );
    }
    assert_eq!(
        config["config"]["Labels"]["containerd.runwasi.layers"],
        test_support::sha256sum(hexes.concat().as_bytes()).as_str()
    );
}

/// The human lines of an index: each image once, by shape and manifest
/// digest, after the index; a dry run adds each image's config and layers
/// and the tar's `index.json`. The digests are recomputed with sha256sum
/// from the bytes written.
#[test]
fn an_index_is_said_with_each_image_once() {
    let (_dir, path) = workdir();
    let shapes = ["--shape", "wasm-layers", "--shape", "compat"];
    let args = [&["-n", "app", "-m", "app.wasm"][..], &shapes].concat();
    let wrote = run_ok(&[&args[..], &["-o", "out.tar"]].concat(), &path);
    let dry = run_ok(
        &[&args[..], &["-o", "dry.tar", "--dry-run"]].concat(),
        &path,
    );
    let tar = std::fs::read(path.join("out.tar")).unwrap();
    let digest = |bytes: &[u8]| format!("sha256:{}", test_support::sha256sum(bytes));
    let blob = |digest: &str| {
        tar_entry(
            &tar,
            &format!("blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap()),
        )
    };
    let json = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).unwrap();
    let index_json = tar_entry(&tar, "index.json");
    let image_index_digest = json(&index_json)["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let image_index = blob(&image_index_digest);
    assert_eq!(digest(&image_index), image_index_digest);
    let mut images = String::new();
    let mut dry_images = String::new();
    let listed = json(&image_index)["manifests"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 2);
    for (shape, entry) in ["wasm-layers", "compat   "].iter().zip(&listed) {
        let manifest = blob(entry["digest"].as_str().unwrap());
        images.push_str(&format!("  {shape} {}\n", digest(&manifest)));
        dry_images.push_str(&format!("  {shape} {}\n", digest(&manifest)));
        let manifest = json(&manifest);
        let config = blob(manifest["config"]["digest"].as_str().unwrap());
        dry_images.push_str(&format!("  config    {}\n", digest(&config)));
        for layer in manifest["layers"].as_array().unwrap() {
            let layer = blob(layer["digest"].as_str().unwrap());
            dry_images.push_str(&format!("  layer     {}\n", digest(&layer)));
        }
    }
    let head = "  image     app:latest\n";
    assert_eq!(
        text(wrote.stderr),
        format!(
            "app.wasm: core module, {} bytes\nwrote out.tar\n{head}  index     {image_index_digest}\n{images}",
            tiny_module(1).len()
        )
    );
    assert_eq!(
        text(dry.stderr),
        format!(
            "app.wasm: core module, {} bytes\ndry run, nothing written to dry.tar\n{head}  index     {image_index_digest}\n  index     {}\n{dry_images}",
            tiny_module(1).len(),
            digest(&index_json)
        )
    );
}
