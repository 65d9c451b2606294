//! Running the built command in a folder, shared by the tests of the
//! command's surface (packaging, layout directories, config flags, JSON
//! output, inspect, completions).
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The binary under test.
pub(crate) fn builder() -> &'static str {
    test_support::builder_under_test(env!("CARGO_BIN_EXE_oci-tar-builder"))
}

/// Runs the command with `args` in `dir`, without `SOURCE_DATE_EPOCH`.
pub(crate) fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(builder())
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap()
}

/// [`run`], asserting it succeeds.
#[track_caller]
pub(crate) fn run_ok(args: &[&str], dir: &Path) -> Output {
    let output = run(args, dir);
    assert!(
        output.status.success(),
        "oci-tar-builder {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A temp folder holding `app.wasm`, a tiny module built from WAT, and its
/// path.
pub(crate) fn workdir_with_app_wasm() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.wasm"), test_support::tiny_module(1)).unwrap();
    let path = dir.path().to_path_buf();
    (dir, path)
}

/// `bytes` as UTF-8 text.
pub(crate) fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

/// Runs the command with `args` in `dir`, without `SOURCE_DATE_EPOCH` and
/// without the host's registry credentials (docker's files are looked for
/// in `home`; podman's variables are unset), writing `stdin` to it.
pub(crate) fn run_without_host_credentials(
    args: &[&str],
    dir: &Path,
    stdin: Option<&str>,
    home: &Path,
) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(builder())
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("DOCKER_CONFIG")
        .env_remove("REGISTRY_AUTH_FILE")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}
