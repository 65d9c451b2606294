//! `-o docker://REGISTRY/REPO:TAG`: the image being built is pushed into
//! Debian's `docker-registry` started by the test on 127.0.0.1, anonymous
//! over plain HTTP and with htpasswd Basic auth over TLS (a CA the test
//! makes). What the registry then serves is checked with skopeo against
//! what `-o oci:DIR` writes for the same inputs, and a second push must send
//! no blob (the registry's own request log says so).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use test_support::servers::{Registry, RegistrySetup, Shared};
use test_support::{filler_module, require_tool, tiny_module};

static REGISTRY: Shared<Registry> = Shared::new(Registry::start);

fn run(args: &[&str], dir: &Path, stdin: Option<&str>, home: &Path) -> Output {
    common::run_without_host_credentials(args, dir, stdin, home)
}

#[track_caller]
fn run_ok(args: &[&str], dir: &Path, stdin: Option<&str>, home: &Path) -> String {
    let output = run(args, dir, stdin, home);
    assert!(
        output.status.success(),
        "oci-tar-builder {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn skopeo(args: &[&str]) -> Vec<u8> {
    let output = Command::new(require_tool("skopeo", "the Debian package `skopeo`"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The blobs of the layout directory `dir`, by file name.
fn blobs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut blobs: Vec<_> = std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    blobs.sort();
    blobs
}

/// The manifest bytes of the only image in the layout directory `dir`.
fn manifest_of(dir: &Path) -> (String, Vec<u8>) {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let hex = digest.strip_prefix("sha256:").unwrap();
    (
        digest.clone(),
        std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap(),
    )
}

/// Requests that send blob bytes or open uploads.
fn uploads(requests: &[String]) -> Vec<&String> {
    requests
        .iter()
        .filter(|r| {
            r.starts_with("POST ") || r.starts_with("PATCH ") || r.contains("/blobs/uploads/")
        })
        .collect()
}

/// A registry named by a host name, not an address: `localhost` is found
/// through the C library's resolver (`/etc/hosts`), which differs between
/// the debug build (glibc) and the release binary (musl), both of which
/// run this test (scripts/test-release-binary.sh).
#[test]
fn a_registry_named_localhost_is_found_through_the_resolver() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("a.wasm"), tiny_module(21)).unwrap();
    let remote = format!("docker://localhost:{}/push/by-name:v1", registry.port());
    let summary = run_ok(
        &["--name", "by-name", "--module", "a.wasm", "-o", &remote],
        dir,
        None,
        dir,
    );
    assert!(summary.contains(&format!("pushed {remote}")), "{summary}");
    // The registry has it, asked by its address.
    let by_address = format!("docker://{}/push/by-name:v1", registry.host());
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &by_address]);
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        manifest["layers"].as_array().map(Vec::len),
        Some(1),
        "{manifest}"
    );
}

#[test]
fn push_serves_our_bytes_and_a_second_push_sends_no_blob() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("a.wasm"), tiny_module(11)).unwrap();
    std::fs::write(dir.join("b.wasm"), tiny_module(12)).unwrap();
    let remote = format!("docker://{}/push/anon:v1", registry.host());
    let args = |out: &str| {
        vec![
            "--name", "anon", "--module", "a.wasm", "--module", "b.wasm", "-o",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([out.to_owned()])
        .collect::<Vec<String>>()
    };
    let as_strs = |v: &[String]| {
        v.iter()
            .map(String::as_str)
            .collect::<Vec<&str>>()
            .join("\u{0}")
    };

    // The same image into a layout directory: the bytes the registry must serve.
    let ours = dir.join("ours");
    let layout_args = args(&format!("oci:{}:v1", ours.display()));
    let layout_args = as_strs(&layout_args);
    run_ok(&layout_args.split('\0').collect::<Vec<_>>(), dir, None, dir);
    let (digest, manifest) = manifest_of(&ours);

    let push_args = args(&remote);
    let push_args = as_strs(&push_args);
    let push_args: Vec<&str> = push_args.split('\0').collect();
    let summary = run_ok(&push_args, dir, None, dir);
    assert!(summary.contains(&format!("pushed {remote}")), "{summary}");
    assert!(
        summary.contains(&format!("manifest  {digest}")),
        "{summary}"
    );
    assert!(
        summary.contains("3 sent"),
        "config and two layers: {summary}"
    );
    // Other tests push into the same registry meanwhile: only this
    // repository's requests count.
    let this_repository = |requests: Vec<String>| -> Vec<String> {
        requests
            .into_iter()
            .filter(|r| r.contains("/v2/push/anon/"))
            .collect()
    };
    let first = this_repository(registry.requests());
    assert_eq!(
        uploads(&first).len(),
        6,
        "a POST and a PUT for each of 3 blobs: {first:#?}"
    );

    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &remote]);
    assert!(
        raw == manifest,
        "the registry serves other manifest bytes than ours"
    );

    let pulled = dir.join("pulled");
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        &remote,
        &format!("oci:{}:v1", pulled.display()),
    ]);
    assert_eq!(blobs(&pulled), blobs(&ours), "skopeo pulled other blobs");

    let again = run_ok(&push_args, dir, None, dir);
    assert!(
        again.contains("0 sent (0 bytes), 3 already there"),
        "{again}"
    );
    let second = this_repository(registry.requests());
    let new = &second[first.len()..];
    assert!(
        uploads(new).is_empty(),
        "the second push opened uploads: {new:#?}"
    );
    let heads = new
        .iter()
        .filter(|r| r.starts_with("HEAD ") && r.contains("/blobs/"))
        .count();
    assert_eq!(heads, 3, "one HEAD per blob: {new:#?}");
}

#[test]
fn push_with_basic_auth_over_tls_from_flags_and_from_the_docker_config() {
    let registry = Registry::start_with(&RegistrySetup {
        tls: true,
        basic_auth: Some(("pusher".into(), "s3cret-pw".into())),
        token_auth: None,
    });
    let ca = registry.ca_cert().unwrap().display().to_string();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("a.wasm"), tiny_module(21)).unwrap();
    let remote = format!("docker://{}/push/basic:v1", registry.host());
    let base = [
        "--name",
        "basic",
        "--module",
        "a.wasm",
        "--ca-cert",
        &ca,
        "-o",
        &remote,
    ];

    // No credentials: a clear refusal, and no secret anywhere.
    let refused = run(&base, dir, None, dir);
    let text = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&registry.host()) && text.contains("none were given"),
        "{text}"
    );

    // Wrong password: refused, bounded, never shown.
    let mut wrong = base.to_vec();
    wrong.extend(["--username", "pusher", "--password-stdin"]);
    let refused = run(&wrong, dir, Some("not-it\n"), dir);
    let text = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{text}");
    assert!(
        text.contains("refused the credentials") && !text.contains("not-it"),
        "{text}"
    );

    // --username with --password-stdin.
    let summary = run_ok(&wrong, dir, Some("s3cret-pw\n"), dir);
    assert!(
        summary.contains("pushed") && !summary.contains("s3cret"),
        "{summary}"
    );
    assert!(
        summary.contains("--username pusher"),
        "says the source: {summary}"
    );

    // The docker config file in a temporary home.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".docker")).unwrap();
    let auth = "cHVzaGVyOnMzY3JldC1wdw=="; // base64("pusher:s3cret-pw")
    std::fs::write(
        home.path().join(".docker/config.json"),
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let summary = run_ok(&base, dir, None, home.path());
    assert!(summary.contains("0 sent"), "already pushed: {summary}");
    assert!(
        summary.contains(".docker/config.json"),
        "says the source: {summary}"
    );
    assert!(
        !summary.contains("s3cret") && !summary.contains(auth),
        "{summary}"
    );

    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--cert-dir",
        &registry
            .ca_cert()
            .unwrap()
            .parent()
            .unwrap()
            .display()
            .to_string(),
        "--creds",
        "pusher:s3cret-pw",
        &remote,
    ]);
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
}

#[test]
fn a_docker_reference_without_a_tag_is_a_usage_error() {
    let work = tempfile::tempdir().unwrap();
    let output = run(
        &[
            "--name",
            "x",
            "--module",
            "a.wasm",
            "-o",
            "docker://127.0.0.1:1/app",
        ],
        work.path(),
        None,
        work.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("docker://127.0.0.1:1/app"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn repeated_tags_push_one_manifest_under_each() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("a.wasm"), tiny_module(31)).unwrap();
    let remote = |tag: &str| format!("docker://{}/push/tags:{tag}", registry.host());
    let summary = run_ok(
        &[
            "--name",
            "tags",
            "--module",
            "a.wasm",
            "-o",
            &remote("v1"),
            "-t",
            "latest",
            "--tag",
            "1.0",
        ],
        dir,
        None,
        dir,
    );
    let digests: Vec<String> = ["v1", "latest", "1.0"]
        .iter()
        .map(|tag| {
            let raw = skopeo(&["inspect", "--tls-verify=false", &remote(tag)]);
            let inspected: Value = serde_json::from_slice(&raw).unwrap();
            inspected["Digest"].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(
        summary.contains(&format!("manifest  {}", digests[0])),
        "{summary}"
    );
    assert!(digests.iter().all(|d| d == &digests[0]), "{digests:?}");

    let two = run(
        &[
            "--name", "tags", "--module", "a.wasm", "-o", "x.tar", "-t", "a", "-t", "b",
        ],
        dir,
        None,
        dir,
    );
    assert_eq!(two.status.code(), Some(2), "several tags need a registry");
}

#[test]
fn mount_from_mounts_every_blob_from_another_repository_and_sends_no_bytes() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("a.wasm"), tiny_module(51)).unwrap();
    std::fs::write(dir.join("b.wasm"), tiny_module(52)).unwrap();
    let push = |repository: &str, extra: &[&str]| {
        let remote = format!("docker://{}/{repository}:v1", registry.host());
        let mut args = vec![
            "--name", "mount", "--module", "a.wasm", "--module", "b.wasm", "-o", &remote,
        ];
        args.extend(extra);
        run_ok(&args, dir, None, dir)
    };
    push("mount/base", &[]);
    let before = registry.requests().len();
    let summary = push(
        "mount/target",
        &[
            "--mount-from",
            "mount/elsewhere",
            "--mount-from",
            "mount/base",
        ],
    );
    assert!(
        summary.contains("0 sent (0 bytes), 0 already there, 3 mounted"),
        "{summary}"
    );
    let requests = registry.requests();
    let new = &requests[before..];
    let mounts: Vec<&String> = new
        .iter()
        .filter(|r| r.starts_with("POST /v2/mount/target/blobs/uploads/?"))
        .collect();
    // Each blob is asked of mount/elsewhere first, which lacks it: the
    // registry opens an upload instead (202), which is cancelled; then of
    // mount/base, which mounts it (201).
    for from in ["mount%2Felsewhere", "mount%2Fbase"] {
        assert_eq!(
            mounts
                .iter()
                .filter(|r| r.contains(&format!("from={from}")))
                .count(),
            3,
            "{new:#?}"
        );
    }
    assert_eq!(mounts.len(), 6, "{new:#?}");
    assert_eq!(
        new.iter()
            .filter(|r| r.starts_with("DELETE /v2/mount/target/blobs/uploads/"))
            .count(),
        3,
        "the uploads opened instead of a mount are cancelled: {new:#?}"
    );
    assert!(
        !new.iter()
            .any(|r| r.starts_with("PUT /v2/mount/target/blobs/")
                || r.starts_with("PATCH /v2/mount/target/")),
        "no blob bytes were to be sent: {new:#?}"
    );
    let remote = format!("docker://{}/mount/target:v1", registry.host());
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &remote]);
    let base = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}/mount/base:v1", registry.host()),
    ]);
    assert_eq!(raw, base, "the mounted image is the same image");
}

#[test]
fn dest_tls_verify_is_skopeos_spelling_of_plain_http_and_https() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("a.wasm"), tiny_module(61)).unwrap();
    let remote = format!("docker://{}/push/tlsflag:v1", registry.host());
    let with = |extra: &[&str]| {
        let mut args = vec!["--name", "tlsflag", "--module", "a.wasm", "-o", &remote];
        args.extend(extra);
        run(&args, dir, None, dir)
    };
    // =true insists on HTTPS, which this plain-HTTP registry does not speak.
    let https = with(&["--dest-tls-verify=true"]);
    let text = String::from_utf8_lossy(&https.stderr);
    assert_eq!(https.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&registry.host()) && text.contains("TLS") && !text.contains("gave up"),
        "a failed handshake is said at once, not retried: {text}"
    );
    let bare = with(&["--dest-tls-verify"]);
    assert_eq!(bare.status.code(), Some(1), "a bare flag means true");

    let plain = with(&["--dest-tls-verify=false"]);
    assert!(
        plain.status.success(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &remote]);
    assert!(!raw.is_empty());

    for contradiction in [
        &["--plain-http", "--dest-tls-verify=true"][..],
        &["--dest-tls-verify=false", "--ca-cert", "a.wasm"][..],
    ] {
        let output = with(contradiction);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{contradiction:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn max_chunk_size_sends_each_blob_in_patches_the_registry_assembles() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    // A module of 300 KiB: 3 chunks of 128K, the last 44 KiB.
    let module = filler_module(300 * 1024, 71);
    std::fs::write(dir.join("big.wasm"), &module).unwrap();
    let layer_size = module.len();

    let remote = format!("docker://{}/push/chunked:v1", registry.host());
    let ours = dir.join("ours");
    run_ok(
        &[
            "--name",
            "chunked",
            "--module",
            "big.wasm",
            "-o",
            &format!("oci:{}:v1", ours.display()),
        ],
        dir,
        None,
        dir,
    );
    run_ok(
        &[
            "--name",
            "chunked",
            "--module",
            "big.wasm",
            "--max-chunk-size",
            "128K",
            "-o",
            &remote,
        ],
        dir,
        None,
        dir,
    );
    let patches: Vec<String> = registry
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PATCH /v2/push/chunked/"))
        .collect();
    let layer_chunks = layer_size.div_ceil(128 * 1024);
    // Each blob's chunks: the layer's 3 (or more), the config's 1.
    assert_eq!(patches.len(), layer_chunks + 1, "{patches:#?}");
    let pulled = dir.join("pulled");
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        &remote,
        &format!("oci:{}:v1", pulled.display()),
    ]);
    assert_eq!(blobs(&pulled), blobs(&ours), "skopeo pulled other blobs");

    let bad = run(
        &[
            "--name",
            "x",
            "--module",
            "big.wasm",
            "--max-chunk-size",
            "4MB",
            "-o",
            &remote,
        ],
        dir,
        None,
        dir,
    );
    assert_eq!(bad.status.code(), Some(2));
}

/// `-f images.toml -o docker://`: each image of the build file is pushed
/// to its own reference and served as a tar of the same build file holds
/// it; the summary has the line of blobs sent for each push.
#[test]
fn a_build_file_pushes_each_image_to_its_own_reference() {
    let registry = REGISTRY.get();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("a.wasm"), tiny_module(21)).unwrap();
    std::fs::write(dir.join("b.wasm"), tiny_module(22)).unwrap();
    let repo = format!("{}/bundle", registry.host());
    std::fs::write(
        dir.join("images.toml"),
        format!(
            "[[image]]\nname = \"first\"\nrepo = \"{repo}\"\ntag = \"v1\"\nmodules = [\"a.wasm\"]\n\n\
             [[image]]\nname = \"second\"\nrepo = \"{repo}\"\ntag = \"v2\"\nmodules = [\"b.wasm\"]\n"
        ),
    )
    .unwrap();
    run_ok(&["-f", "images.toml", "-o", "bundle.tar"], dir, None, dir);
    let summary = run_ok(&["-f", "images.toml", "-o", "docker://"], dir, None, dir);
    let tar = std::fs::read(dir.join("bundle.tar")).unwrap();
    let index: Value =
        serde_json::from_slice(&test_support::tar_entry(&tar, "index.json")).unwrap();
    let references = [format!("{repo}/first:v1"), format!("{repo}/second:v2")];
    for (at, reference) in references.iter().enumerate() {
        let digest = index["manifests"][at]["digest"].as_str().unwrap();
        let hex = digest.strip_prefix("sha256:").unwrap();
        let manifest = test_support::tar_entry(&tar, &format!("blobs/sha256/{hex}"));
        let raw = skopeo(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{reference}"),
        ]);
        assert!(raw == manifest, "{reference}: not the tar's manifest");
        assert!(
            summary.contains(&format!("manifest  {digest}")),
            "{summary}"
        );
    }
    // A config and a layer sent for each image.
    let sent: Vec<&str> = summary
        .lines()
        .filter(|line| line.trim_start().starts_with("blobs "))
        .collect();
    assert_eq!(sent.len(), 2, "{summary}");
    assert!(sent.iter().all(|line| line.contains("2 sent")), "{summary}");
}
