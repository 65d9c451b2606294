//! The image config flags: `--env`, `--arg`, `--entrypoint`, `--label`,
//! `--workdir`, written into a wasm-layer image's config and refused, as a
//! usage error naming the flag, for the CNCF artifact (whose config has no
//! such fields).
#![allow(clippy::unwrap_used)]

mod common;
use common::run;
use oci_digest::Digest;
use test_support::{tar_entry, tiny_module};

/// Packages `app.wasm` as image `app` with `extra` flags into `out.tar` and
/// returns the config, parsed, and its bytes.
fn config_with(extra: &[&str]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.wasm"), tiny_module(1)).unwrap();
    let mut args = vec!["-n", "app", "-m", "app.wasm", "-o", "out.tar"];
    args.extend(extra);
    let output = run(&args, dir.path());
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tar = std::fs::read(dir.path().join("out.tar")).unwrap();
    let index: serde_json::Value = serde_json::from_slice(&tar_entry(&tar, "index.json")).unwrap();
    let manifest: Digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&tar_entry(&tar, &manifest.blob_path())).unwrap();
    let config: Digest = manifest["config"]["digest"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = String::from_utf8(tar_entry(&tar, &config.blob_path())).unwrap();
    (serde_json::from_str(&bytes).unwrap(), bytes)
}

/// Runs with `extra` flags, expecting a usage error; returns its one line.
fn usage_error(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.wasm"), tiny_module(1)).unwrap();
    let mut args = vec!["-n", "app", "-m", "app.wasm", "-o", "out.tar"];
    args.extend(extra);
    let output = run(&args, dir.path());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!dir.path().join("out.tar").exists());
    stderr
}

#[test]
fn every_config_flag_together() {
    let (_, bytes) = config_with(&[
        "--env",
        "RUST_LOG=debug",
        "--env",
        "GREETING=a=b",
        "--arg",
        "--port",
        "--arg",
        "8080",
        "--entrypoint",
        "/app/server.wasm",
        "--label",
        "org.opencontainers.image.vendor=Example",
        "--label",
        "tier=web",
        "--workdir",
        "/data",
    ]);
    insta::assert_snapshot!("image_config_every_flag", bytes);
}

#[test]
fn env_is_key_value_in_order_and_a_repeated_name_replaces_its_value() {
    let (config, _) = config_with(&["--env", "B=1", "--env", "A=x=y", "--env", "B=2"]);
    assert_eq!(config["config"]["Env"], serde_json::json!(["B=2", "A=x=y"]));
    assert!(usage_error(&["--env", "=x"]).contains("--env"));
    assert!(usage_error(&["--env", "NOVALUE"]).contains("KEY=VALUE"));
}

#[test]
fn arg_is_the_cmd_in_order_and_may_start_with_a_dash() {
    let (config, _) = config_with(&["--arg", "-v", "--arg", "serve", "--arg", ""]);
    assert_eq!(
        config["config"]["Cmd"],
        serde_json::json!(["-v", "serve", ""])
    );
    // The entrypoint stays the default one.
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["app.wasm"])
    );
}

#[test]
fn entrypoint_replaces_the_name_wasm() {
    let (config, _) = config_with(&["--entrypoint", "bin/other.wasm"]);
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["bin/other.wasm"])
    );
    assert!(usage_error(&["--entrypoint", ""]).contains("(--entrypoint)"));
}

#[test]
fn label_is_added_beside_the_runwasi_label_which_stays_ours() {
    let (config, _) = config_with(&["--label", "a=1", "--label", "a=2"]);
    let labels = config["config"]["Labels"].as_object().unwrap();
    assert_eq!(labels["a"], "2");
    assert!(labels.contains_key("containerd.runwasi.layers"));
    assert_eq!(labels.len(), 2);
    let error = usage_error(&["--label", "containerd.runwasi.layers=mine"]);
    assert!(error.contains("containerd.runwasi.layers"), "{error}");
    assert!(error.contains("(--label)"), "{error}");
}

#[test]
fn workdir_is_an_absolute_path() {
    let (config, _) = config_with(&["--workdir", "/srv/app"]);
    assert_eq!(config["config"]["WorkingDir"], "/srv/app");
    let error = usage_error(&["--workdir", "srv"]);
    assert!(error.contains("not an absolute path"), "{error}");
    assert!(error.contains("(--workdir)"), "{error}");
}

#[test]
fn without_the_flags_the_config_has_none_of_the_fields() {
    let (config, _) = config_with(&[]);
    let process = config["config"].as_object().unwrap();
    let keys: Vec<&str> = process.keys().map(String::as_str).collect();
    assert_eq!(keys, ["Entrypoint", "Labels"]);
}

#[test]
fn the_artifact_refuses_each_flag_naming_it() {
    for (flag, value) in [
        ("--env", "A=1"),
        ("--arg", "x"),
        ("--entrypoint", "x.wasm"),
        ("--label", "a=b"),
        ("--workdir", "/srv"),
    ] {
        let error = usage_error(&["--as-artifact", flag, value]);
        assert!(
            error.contains(&format!("({flag} needs a wasm-layer or compat image")),
            "{error}"
        );
        assert!(error.contains("CNCF Wasm OCI Artifact"), "{error}");
    }
}
