//! `copy SRC docker://…`: an image tar or layout directory made by the tool
//! is copied into Debian's `docker-registry` started by the test on
//! 127.0.0.1. What the registry serves is checked with skopeo against the
//! source's manifest bytes; a corrupt source must be refused before
//! anything reaches the registry (its request log says so); extra `--tag`s
//! name the same manifest.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use test_support::servers::{containerd17_binaries, Containerd, Registry, Shared};
use test_support::{require_tool, tiny_module};

static REGISTRY: Shared<Registry> = Shared::new(Registry::start);

fn run(args: &[&str], dir: &Path) -> Output {
    common::run_without_host_credentials(args, dir, None, dir)
}

#[track_caller]
fn run_ok(args: &[&str], dir: &Path) -> String {
    let output = run(args, dir);
    assert!(
        output.status.success(),
        "oci-tar-builder {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn skopeo(args: &[&str]) -> Output {
    Command::new(require_tool("skopeo", "the Debian package `skopeo`"))
        .args(args)
        .output()
        .unwrap()
}

#[track_caller]
fn skopeo_ok(args: &[&str]) -> Vec<u8> {
    let output = skopeo(args);
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Packages two modules into a layout directory `oci:DIR:v1` and a tar of
/// the same image; returns the manifest's digest and bytes.
fn package(dir: &Path, name: &str) -> (String, Vec<u8>) {
    std::fs::write(dir.join("a.wasm"), tiny_module(21)).unwrap();
    std::fs::write(dir.join("b.wasm"), tiny_module(22)).unwrap();
    let common = ["--name", name, "--module", "a.wasm", "--module", "b.wasm"];
    for out in ["oci:layout:v1", "img.tar"] {
        let mut args = common.to_vec();
        args.extend(["--tag", "v1", "-o", out]);
        run_ok(&args, dir);
    }
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("layout/index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let hex = digest.strip_prefix("sha256:").unwrap().to_owned();
    let bytes = std::fs::read(dir.join("layout/blobs/sha256").join(hex)).unwrap();
    (digest, bytes)
}

fn registry_digest(remote: &str) -> String {
    let inspected = skopeo_ok(&["inspect", "--tls-verify=false", remote]);
    let inspected: Value = serde_json::from_slice(&inspected).unwrap();
    inspected["Digest"].as_str().unwrap().to_owned()
}

#[test]
fn a_tar_and_a_layout_directory_copy_to_the_registry_byte_for_byte() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (digest, manifest) = package(dir, "copied");

    for (source, repo) in [
        ("img.tar", "copy/from-tar"),
        ("oci-archive:img.tar", "copy/from-archive"),
        ("oci:layout:v1", "copy/from-dir"),
        ("oci:layout", "copy/from-only-image"),
    ] {
        let remote = format!("docker://{}/{repo}:v1", registry.host());
        let summary = run_ok(&["copy", source, &remote], dir);
        assert!(
            summary.contains(&format!("manifest  {digest}")),
            "{summary}"
        );
        let raw = skopeo_ok(&["inspect", "--raw", "--tls-verify=false", &remote]);
        assert!(
            raw == manifest,
            "{source}: the registry serves other manifest bytes than the source's"
        );
        assert_eq!(registry_digest(&remote), digest, "{source}");
    }

    // skopeo reads every blob back from the registry, checking each digest.
    let pulled = dir.join("pulled");
    skopeo_ok(&[
        "--insecure-policy",
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        &format!("docker://{}/copy/from-tar:v1", registry.host()),
        &format!("oci:{}:v1", pulled.display()),
    ]);
    run_ok(&["verify", "pulled"], dir);
}

#[test]
fn repeated_tags_name_one_manifest() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (digest, _) = package(dir, "tagged");
    let remote = |tag: &str| format!("docker://{}/copy/tags:{tag}", registry.host());
    run_ok(
        &[
            "copy",
            "img.tar",
            &remote("v1"),
            "--tag",
            "latest",
            "-t",
            "1.0",
        ],
        dir,
    );
    for tag in ["v1", "latest", "1.0"] {
        assert_eq!(registry_digest(&remote(tag)), digest, "tag {tag}");
    }
    let bad = run(&["copy", "img.tar", &remote("v1"), "--tag", "bad tag"], dir);
    assert_eq!(bad.status.code(), Some(2), "a bad --tag is a usage error");
}

#[test]
fn a_corrupt_source_is_refused_and_nothing_reaches_the_registry() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    package(dir, "corrupt");

    // Flip one byte of the first layer (a.wasm's module bytes) in the tar.
    let module = tiny_module(21);
    let mut tar = std::fs::read(dir.join("img.tar")).unwrap();
    let at = tar
        .windows(module.len())
        .position(|w| w == module.as_slice())
        .unwrap();
    tar[at + module.len() - 1] ^= 1;
    std::fs::write(dir.join("bad.tar"), &tar).unwrap();
    // The same in the layout directory.
    let layer = std::fs::read_dir(dir.join("layout/blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read(p).unwrap() == module)
        .unwrap();
    let mut bytes = module.clone();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&layer, bytes).unwrap();

    let before = registry.requests().len();
    for source in ["bad.tar", "oci:layout:v1"] {
        let remote = format!("docker://{}/copy/corrupt:v1", registry.host());
        let output = run(&["copy", source, &remote], dir);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{source}: {stderr}");
        assert!(
            stderr.contains("sha256:"),
            "{source}: the problem names the blob: {stderr}"
        );
        let missing = skopeo(&["inspect", "--raw", "--tls-verify=false", &remote]);
        assert!(!missing.status.success(), "{source}: the tag exists");
    }
    let after = registry.requests();
    let copy_requests: Vec<_> = after[before..]
        .iter()
        .filter(|r| r.contains("/copy/corrupt/"))
        .filter(|r| {
            !r.starts_with("GET /v2/copy/corrupt/manifests/")
                && !r.starts_with("HEAD /v2/copy/corrupt/manifests/")
        })
        .collect();
    assert!(
        copy_requests.is_empty(),
        "a corrupt source reached the registry: {copy_requests:#?}"
    );
}

#[test]
fn a_tar_copies_to_a_layout_directory_and_back_to_a_tar() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (digest, _) = package(dir, "local");
    let to_dir = run_ok(&["copy", "img.tar", "oci:mirror"], dir);
    assert!(to_dir.contains(&format!("manifest  {digest}")), "{to_dir}");
    run_ok(&["verify", "mirror"], dir);
    let to_tar = run_ok(&["copy", "oci:mirror", "out/copy.tar"], dir);
    assert!(to_tar.contains(&format!("manifest  {digest}")), "{to_tar}");
    run_ok(&["verify", "out/copy.tar"], dir);
    let tagged = run(&["copy", "img.tar", "oci:other:v2"], dir);
    assert_eq!(tagged.status.code(), Some(2));
}

/// What runwasi users do: containerd 1.7 pulls the copied wasm-layer image
/// from the registry and unpacks it.
#[test]
fn containerd_17_pulls_and_unpacks_a_copied_wasm_layer_image() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (digest, _) = package(dir, "pulled");
    let remote = format!("{}/copy/containerd:v1", registry.host());
    run_ok(&["copy", "img.tar", &format!("docker://{remote}")], dir);

    let (containerd, ctr) = containerd17_binaries();
    let containerd = Containerd::start_binaries(&containerd, &ctr);
    let pull = containerd.ctr(
        "copy",
        [
            "images",
            "pull",
            "--plain-http",
            "--platform",
            "wasip1/wasm",
            &remote,
        ],
    );
    let stdout = String::from_utf8_lossy(&pull.stdout);
    assert!(
        pull.status.success(),
        "ctr images pull: {stdout}{}",
        String::from_utf8_lossy(&pull.stderr)
    );
    // ctr 1.7 prints "unpacking PLATFORM DIGEST..." then "done: TIME".
    let unpacked = format!("unpacking wasip1/wasm {digest}...\ndone");
    assert!(
        stdout.contains(&unpacked),
        "containerd 1.7 did not say {unpacked:?}: {stdout}"
    );
}

#[test]
fn copy_json_describes_the_copy_and_what_the_push_sent() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (digest, manifest) = package(dir, "json");
    let remote = format!("docker://{}/copy/json:v1", registry.host());
    let output = run(
        &["copy", "--json", "oci:layout:v1", &remote, "-t", "latest"],
        dir,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "--json prints no human lines: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    let manifest_json: Value = serde_json::from_slice(&manifest).unwrap();
    let blobs = 1 + manifest_json["layers"].as_array().unwrap().len();
    let sizes: u64 = std::iter::once(&manifest_json["config"])
        .chain(manifest_json["layers"].as_array().unwrap())
        .map(|d| d["size"].as_u64().unwrap())
        .sum();
    assert_eq!(
        summary,
        serde_json::json!({
            "schemaVersion": 1,
            "source": {"type": "oci-dir", "path": "layout", "tags": ["v1"]},
            "destination": {
                "type": "registry",
                "path": format!("{}/copy/json", registry.host()),
                "tags": ["v1", "latest"]
            },
            "manifest": {
                "mediaType": manifest_json["mediaType"],
                "digest": digest
            },
            "blobs": blobs,
            "blobsWritten": blobs,
            "pushed": {
                "blobsUploaded": blobs,
                "bytesUploaded": sizes,
                "blobsSkipped": 0,
                "blobsMounted": 0,
                "manifestsPut": 2
            }
        })
    );
    assert_eq!(registry_digest(&remote), digest);

    // Into a tar: no push counts; again, everything is already there.
    let output = run(&["copy", "--json", "img.tar", "copy.tar"], dir);
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        summary["destination"],
        serde_json::json!({"type": "tar", "path": "copy.tar"})
    );
    assert_eq!(
        summary["source"],
        serde_json::json!({"type": "tar", "path": "img.tar"})
    );
    assert_eq!(summary["pushed"], Value::Null);
    let again = run(&["copy", "--json", "img.tar", &remote], dir);
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["pushed"]["blobsUploaded"], 0);
    assert_eq!(again["pushed"]["blobsSkipped"], blobs);
}

/// Each way a copy's command line cannot work is a usage error: exit code
/// 2, its one line, and nothing written.
#[test]
fn sources_and_destinations_copy_cannot_take_are_usage_errors() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    package(dir, "refused");
    let archive_needs_a_file =
        "docker-archive: needs a file, as in docker-archive:FILE or docker-archive:FILE:REF";
    let no_registry_source =
        "copy from docker://… is not supported yet: the source is an image tar or oci:DIR";
    let tag_needs_a_registry = "--tag adds tags to a docker://… destination only";
    let cases: [(&[&str], &str); 9] = [
        (&["docker-archive:", "out.tar"], archive_needs_a_file),
        (
            &["docker-archive:img.tar:", "out.tar"],
            archive_needs_a_file,
        ),
        (
            &["-", "out.tar"],
            "copy reads its source twice (checked first, then sent): give a file, not -",
        ),
        (
            &["docker://127.0.0.1:9/a/b:v1", "out.tar"],
            no_registry_source,
        ),
        (&["docker://", "out.tar"], no_registry_source),
        (&["img.tar", "out.tar", "--tag", "v2"], tag_needs_a_registry),
        (&["img.tar", "oci:out", "-t", "v2"], tag_needs_a_registry),
        (
            &["img.tar", "oci:out:v2"],
            "copy keeps the image's own name in oci:DIR: give oci:DIR without a tag",
        ),
        (
            &["img.tar", "docker://"],
            "copy needs a destination reference: docker://REGISTRY/REPO:TAG",
        ),
    ];
    for (args, message) in cases {
        let args: Vec<&str> = std::iter::once("copy")
            .chain(args.iter().copied())
            .collect();
        let output = run(&args, dir);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("oci-tar-builder: error: {message}\n"),
            "{args:?}"
        );
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(!dir.join("out.tar").exists(), "{args:?}");
        assert!(!dir.join("out").exists(), "{args:?}");
    }
}

/// A folder given as a plain path is read as a layout directory;
/// `oci-archive:` says the path is a tar, so a folder there is refused.
#[test]
fn a_folder_is_a_layout_directory_unless_oci_archive_names_it() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (digest, manifest) = package(dir, "folder");
    let said = run_ok(&["copy", "layout", "plain.tar"], dir);
    assert!(said.contains("copied layout to "), "{said}");
    assert!(said.contains(&format!("manifest  {digest}")), "{said}");
    let tar = std::fs::read(dir.join("plain.tar")).unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    assert!(
        test_support::tar_entry(&tar, &format!("blobs/sha256/{hex}")) == manifest,
        "the copy holds other manifest bytes"
    );

    let as_tar = run(&["copy", "oci-archive:layout", "other.tar"], dir);
    let stderr = String::from_utf8_lossy(&as_tar.stderr);
    assert_eq!(as_tar.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("oci-tar-builder: error: "), "{stderr}");
    assert!(!dir.join("other.tar").exists());
}

/// `-q` says nothing on stderr and still copies; without it the copy is
/// said.
#[test]
fn quiet_copies_say_nothing() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let (digest, _) = package(dir, "quiet");
    let quiet = run(&["copy", "-q", "img.tar", "oci:quiet"], dir);
    assert!(quiet.status.success());
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    assert!(quiet.stdout.is_empty());
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("quiet/index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest.as_str());
    let said = run_ok(&["copy", "img.tar", "oci:said"], dir);
    assert_eq!(
        said,
        format!(
            "copied img.tar to oci:said\n  manifest  {digest} (application/vnd.oci.image.manifest.v1+json)\n"
        )
    );
}

/// SIGINT and SIGTERM during a copy into a tar file remove its temporary
/// file and exit with 128 + the signal's number, as packaging does.
#[test]
fn a_copy_stopped_by_a_signal_leaves_nothing() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // A sparse 1 GiB layer: checking and copying it takes seconds.
    std::fs::write(dir.join("app.wasm"), tiny_module(5)).unwrap();
    std::fs::File::create(dir.join("big.bin"))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    run_ok(
        &[
            "-q",
            "-n",
            "big",
            "-m",
            "app.wasm",
            "--layer",
            "application/octet-stream=big.bin",
            "-o",
            "big.tar",
        ],
        dir,
    );
    std::fs::remove_file(dir.join("big.bin")).unwrap();
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    let partial = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&out)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect()
    };
    let kill = require_tool("kill", "the Debian package procps");
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let mut child = Command::new(common::builder())
            .args(["copy", "-q", "big.tar", "out/copy.tar"])
            .current_dir(dir)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The temporary file has bytes once the check is over and the
        // copy has begun.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !test_support::outputs_in_progress(&out, child.id())
            .iter()
            .any(|&len| len > 0)
        {
            if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                panic!("SIG{signal}: the copy wrote no temporary file to stop");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let sent = Command::new(&kill)
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(code),
            "SIG{signal}: {:?} {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(partial(), Vec::<std::path::PathBuf>::new(), "SIG{signal}");
    }
}
