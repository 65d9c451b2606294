//! `--json` (the main job's one JSON object) and `--dry-run` (every digest,
//! nothing written).
#![allow(clippy::unwrap_used)]

mod common;
use common::run_ok as run;
use oci_digest::digest_bytes;
use serde_json::Value;
use test_support::{file_names as listing, tar_entries, tar_entry, tiny_module};

/// A temp folder holding `app.wasm` and `rootfs.tar`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.wasm"), tiny_module(1)).unwrap();
    std::fs::write(dir.path().join("rootfs.tar"), [0u8; 1024]).unwrap();
    dir
}

const IMAGE: &[&str] = &[
    "--name",
    "wasi-demo-oci",
    "--repo",
    "ghcr.io/containerd/runwasi",
    "--module",
    "app.wasm",
    "--layer",
    "application/vnd.oci.image.layer.v1.tar=rootfs.tar",
];

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

/// The digests a summary names: index, manifest, config, then the layers.
fn digests(summary: &Value) -> Vec<String> {
    let mut digests: Vec<String> = ["index", "manifest", "config"]
        .iter()
        .map(|key| summary[key]["digest"].as_str().unwrap().to_owned())
        .collect();
    for layer in summary["layers"].as_array().unwrap() {
        digests.push(layer["digest"].as_str().unwrap().to_owned());
    }
    digests
}

#[test]
fn json_summary_schema() {
    let dir = workdir();
    let out = dir.path().join("dist/img.tar");
    let mut args = IMAGE.to_vec();
    args.extend(["--json", "-o", out.to_str().unwrap()]);
    let output = run(&args, dir.path());
    assert!(output.stderr.is_empty(), "--json prints no human lines");
    let text = String::from_utf8(output.stdout).unwrap();
    let tmp = dir.path().to_str().unwrap();
    insta::assert_snapshot!("json_summary", text.replace(tmp, "[TMP]"));

    // Every digest and size is the tar's.
    let summary = json(text.as_bytes());
    let tar = std::fs::read(&out).unwrap();
    let index = tar_entry(&tar, "index.json");
    assert_eq!(summary["index"]["digest"], digest_bytes(&index).to_string());
    assert_eq!(summary["index"]["size"], index.len());
    let index = json(&index);
    assert_eq!(
        summary["manifest"]["digest"],
        index["manifests"][0]["digest"]
    );
    let names: Vec<String> = tar_entries(&tar)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    for digest in digests(&summary).iter().skip(1) {
        let hex = digest.strip_prefix("sha256:").unwrap();
        assert!(names.contains(&format!("blobs/sha256/{hex}")), "{digest}");
    }
}

#[test]
fn json_goes_to_stderr_when_the_tar_goes_to_stdout() {
    let dir = workdir();
    let mut args = IMAGE.to_vec();
    args.extend(["--json", "-o", "-"]);
    let output = run(&args, dir.path());
    let summary = json(&output.stderr);
    assert_eq!(
        summary["destination"],
        serde_json::json!({"type": "stdout"})
    );
    let index = tar_entry(&output.stdout, "index.json");
    assert_eq!(summary["index"]["digest"], digest_bytes(&index).to_string());
}

#[test]
fn json_for_a_layout_directory_names_its_merged_index() {
    let dir = workdir();
    run(
        &["-n", "first", "-m", "app.wasm", "-o", "oci:layout:v1"],
        dir.path(),
    );
    let mut args = IMAGE.to_vec();
    args.extend(["--json", "-o", "oci:layout:v2"]);
    let summary = json(&run(&args, dir.path()).stdout);
    assert_eq!(
        summary["destination"],
        serde_json::json!({"type": "oci-dir", "path": "layout"})
    );
    assert_eq!(
        summary["reference"],
        "ghcr.io/containerd/runwasi/wasi-demo-oci:v2"
    );
    let index = std::fs::read(dir.path().join("layout/index.json")).unwrap();
    assert_eq!(json(&index)["manifests"].as_array().unwrap().len(), 2);
    assert_eq!(summary["index"]["digest"], digest_bytes(&index).to_string());
}

#[test]
fn dry_run_digests_equal_a_real_runs_and_nothing_is_written() {
    let dir = workdir();
    for shape in [&[][..], &["--as-artifact"][..]] {
        for out in ["dist/img.tar", "-", "oci:layout:v1"] {
            let mut args = IMAGE.to_vec();
            args.extend(shape);
            args.extend(["--json", "-o", out]);
            let mut dry = args.clone();
            dry.push("--dry-run");
            let before = listing(dir.path());
            let dry_run = run(&dry, dir.path());
            assert_eq!(listing(dir.path()), before, "{dry:?} wrote something");
            let dry_summary = json(&dry_run.stdout);
            assert_eq!(dry_summary["dryRun"], true);

            let real = run(&args, dir.path());
            let real_summary = if out == "-" {
                json(&real.stderr)
            } else {
                json(&real.stdout)
            };
            assert_eq!(real_summary["dryRun"], false);
            assert_eq!(digests(&dry_summary), digests(&real_summary), "{args:?}");
            assert_eq!(dry_summary["layers"], real_summary["layers"]);
            for path in ["dist", "layout"] {
                let _ = std::fs::remove_dir_all(dir.path().join(path));
            }
        }
    }
}

#[test]
fn dry_run_prints_every_digest_for_people() {
    let dir = workdir();
    let mut args = IMAGE.to_vec();
    args.extend(["--dry-run", "-o", "img.tar"]);
    let output = run(&args, dir.path());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("dry run, nothing written to img.tar"),
        "{stderr}"
    );
    for digest in [
        digest_bytes(&tiny_module(1)).to_string(),
        digest_bytes(&[0u8; 1024]).to_string(),
    ] {
        assert!(stderr.contains(&format!("layer     {digest}")), "{stderr}");
    }
    for line in [
        "index     sha256:",
        "config    sha256:",
        "manifest  sha256:",
    ] {
        assert!(stderr.contains(line), "{stderr}");
    }
    assert!(!dir.path().join("img.tar").exists());
}

/// The `--json` object's reader going away is not a failure (as with
/// `rg … | head`): the tar is written, nothing is said, exit code 0. Any
/// other error writing it is a failure that says so.
#[test]
fn a_json_reader_that_goes_away_is_not_a_failure_but_a_full_disk_is() {
    use std::process::{Command, Stdio};
    let dir = workdir();
    let builder = || {
        let mut command = Command::new(common::builder());
        command
            .args(["-n", "app", "-m", "app.wasm", "--json", "-o", "out.tar"])
            .current_dir(dir.path())
            .stderr(Stdio::piped());
        command
    };
    // A pipe whose read end is closed before the command starts.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let closed = builder().stdout(writer).output().unwrap();
    assert_eq!(
        closed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&closed.stderr)
    );
    assert!(
        closed.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&closed.stderr)
    );
    assert!(dir.path().join("out.tar").is_file());

    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let failed = builder().stdout(full).output().unwrap();
    assert_eq!(failed.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&failed.stderr),
        "oci-tar-builder: error: writing the JSON summary: No space left on device (os error 28)\n"
    );
}
