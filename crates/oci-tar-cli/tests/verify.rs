//! `verify` and `inspect` on our tars, skopeo's, and broken ones.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oci_digest::digest_bytes;

fn builder() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oci-tar-builder"));
    command.env_remove("SOURCE_DATE_EPOCH");
    command
}

fn run(args: &[&str]) -> Output {
    builder().args(args).output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Packages a tiny module as `name`; returns the tar's path and the wasm bytes.
fn package(dir: &Path, name: &str) -> (PathBuf, Vec<u8>) {
    let wasm = test_support::tiny_module(7);
    let module = dir.join("app.wasm");
    std::fs::write(&module, &wasm).unwrap();
    let tar = dir.join(format!("{name}.tar"));
    let output = run(&[
        "-q",
        "-r",
        "localhost:5000/demo",
        "-n",
        name,
        "-t",
        "v1",
        "-m",
        module.to_str().unwrap(),
        "-o",
        tar.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    (tar, wasm)
}

#[test]
fn our_tar_verifies_and_inspects() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, wasm) = package(dir.path(), "app");
    let output = run(&["verify", tar.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("valid OCI image layout: 1 image, 3 blobs"),
        "{stdout}"
    );

    let output = run(&["inspect", tar.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "image localhost:5000/demo/app:v1".to_owned(),
        "platform    wasip1/wasm".to_owned(),
        "application/vnd.oci.image.manifest.v1+json sha256:".to_owned(),
        format!(
            "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm {} ({} bytes)",
            digest_bytes(&wasm),
            wasm.len()
        ),
        "entrypoint   [\"app.wasm\"]".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in:\n{text}");
    }

    let output = run(&["inspect", "--json", tar.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["valid"], true);
    let image = &json["images"][0];
    assert_eq!(
        image["descriptor"]["annotations"]["io.containerd.image.name"],
        "localhost:5000/demo/app:v1"
    );
    assert_eq!(image["descriptor"]["platform"]["os"], "wasip1");
    assert_eq!(
        image["manifest"]["layers"][0]["digest"],
        digest_bytes(&wasm).to_string()
    );
    assert_eq!(image["config"]["architecture"], "wasm");
}

/// `skopeo copy oci-archive:TAR DESTINATION`; fails the test, naming
/// skopeo, where it is not installed.
fn skopeo_copy(tar: &Path, destination: &str) {
    let skopeo = test_support::require_tool("skopeo", "the Debian package skopeo");
    let output = Command::new(skopeo)
        .arg("copy")
        .arg("-q")
        .arg(format!("oci-archive:{}", tar.display()))
        .arg(destination)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn skopeo_output_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, wasm) = package(dir.path(), "app");
    let theirs = dir.path().join("theirs.tar");
    skopeo_copy(&tar, &format!("oci-archive:{}", theirs.display()));
    let output = run(&["verify", theirs.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = run(&["inspect", "--json", theirs.to_str().unwrap()]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json["images"][0]["manifest"]["layers"][0]["digest"],
        digest_bytes(&wasm).to_string()
    );
}

#[test]
fn a_flipped_byte_in_a_blob_fails_naming_the_blob() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, wasm) = package(dir.path(), "app");
    let mut bytes = std::fs::read(&tar).unwrap();
    let at = bytes.windows(wasm.len()).position(|w| w == wasm).unwrap();
    bytes[at + wasm.len() - 1] ^= 0x80;
    std::fs::write(&tar, &bytes).unwrap();
    let output = run(&["verify", tar.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains(&format!("blob {}: its bytes hash to", digest_bytes(&wasm))),
        "{message}"
    );
    assert!(output.stdout.is_empty());
    // inspect still describes it, and fails too.
    let output = run(&["inspect", tar.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(!output.stdout.is_empty());
}

#[test]
fn a_truncated_tar_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, _) = package(dir.path(), "app");
    let bytes = std::fs::read(&tar).unwrap();
    std::fs::write(&tar, &bytes[..bytes.len() / 2 + 100]).unwrap();
    let output = run(&["verify", tar.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the tar is truncated"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_tar_with_a_dot_dot_entry_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, _) = package(dir.path(), "app");
    let mut bytes = std::fs::read(&tar).unwrap();
    // Append an entry named ../evil before the end-of-archive blocks.
    bytes.truncate(bytes.len() - 1024);
    let mut header = tar::Header::new_gnu();
    header.as_gnu_mut().unwrap().name[..7].copy_from_slice(b"../evil");
    header.set_size(0);
    header.set_cksum();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 1024]);
    std::fs::write(&tar, &bytes).unwrap();
    let output = run(&["verify", tar.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("unsafe entry \"../evil\""), "{message}");
    assert!(!dir.path().parent().unwrap().join("evil").exists());
}

#[test]
fn verify_reads_stdin_and_refuses_what_is_not_a_tar() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, _) = package(dir.path(), "app");
    let output = builder()
        .args(["verify", "-"])
        .stdin(std::fs::File::open(&tar).unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello\n".repeat(200)).unwrap();
    let output = run(&["verify", text.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        format!(
            "oci-tar-builder: error: {}: not a valid tar header at byte 0: the header checksum is not a number\n",
            text.display()
        )
    );
    let output = run(&["verify", dir.path().join("missing.tar").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("missing.tar: No such file"));
    let output = run(&["verify"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn source_date_epoch_does_not_break_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, _) = package(dir.path(), "app");
    let output = builder()
        .env("SOURCE_DATE_EPOCH", "1719330529")
        .args(["verify", "-q", tar.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
}

#[test]
fn inspect_escapes_control_characters_from_the_tar() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("app.wasm");
    std::fs::write(&module, test_support::tiny_module(2)).unwrap();
    let tar = dir.path().join("evil.tar");
    let output = run(&[
        "-q",
        "-n",
        "app",
        "-m",
        module.to_str().unwrap(),
        "--annotation",
        "note=\x1b]0;owned\x07\x1b[31mred",
        "-o",
        tar.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(&["inspect", tar.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(
        text.contains(r"note=\u{1b}]0;owned\u{7}\u{1b}[31mred"),
        "{text}"
    );
}

/// Regression: the 12-character field name ran into its value
/// (`layerDigests1`) in the text of an artifact's config.
#[test]
fn inspect_keeps_a_space_after_long_config_field_names() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("app.wasm");
    std::fs::write(&module, test_support::tiny_module(8)).unwrap();
    let tar = dir.path().join("artifact.tar");
    let output = run(&[
        "-q",
        "-a",
        "-n",
        "app",
        "-m",
        module.to_str().unwrap(),
        "-o",
        tar.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(&["inspect", tar.to_str().unwrap()]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("    layerDigests 1\n"), "{text}");
}

/// `tar` extracted into a new directory beside it.
fn extract(tar: &Path) -> PathBuf {
    let dir = tar.with_extension("dir");
    let bytes = std::fs::read(tar).unwrap();
    tar::Archive::new(&bytes[..]).unpack(&dir).unwrap();
    assert!(dir.join("index.json").is_file());
    dir
}

/// `inspect` of a directory says what `inspect` of its tar says, but for
/// the path it names.
#[test]
fn a_directory_extracted_from_our_tar_verifies_and_inspects_as_the_tar() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, _) = package(dir.path(), "app");
    let layout = extract(&tar);
    let (tar_arg, dir_arg) = (tar.to_str().unwrap(), layout.to_str().unwrap());

    let output = run(&["verify", dir_arg]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("{dir_arg}: valid OCI image layout: 1 image, 3 blobs\n")
    );

    let of_tar = run(&["inspect", tar_arg]);
    let of_dir = run(&["inspect", dir_arg]);
    assert_eq!(of_dir.status.code(), Some(0), "{}", stderr(&of_dir));
    let of_tar = String::from_utf8(of_tar.stdout).unwrap();
    let of_dir = String::from_utf8(of_dir.stdout).unwrap();
    assert!(of_dir.starts_with(&format!("{dir_arg}: 1 image, 3 blobs\n")));
    assert_eq!(of_dir.replacen(dir_arg, tar_arg, 1), of_tar);

    let json = |path: &str| {
        let output = run(&["inspect", "--json", path]);
        let mut json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["file"], path);
        json["file"] = serde_json::Value::Null;
        json
    };
    assert_eq!(json(dir_arg), json(tar_arg));
}

/// Runs `verify` on `dir`; returns its stderr, after checking it failed.
fn verify_fails(dir: &Path) -> String {
    let output = run(&["verify", dir.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    stderr(&output)
}

#[test]
fn hostile_and_broken_directories_fail_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, wasm) = package(dir.path(), "app");
    let layer = digest_bytes(&wasm);
    let fresh = |name: &str| {
        let layout = extract(&tar);
        let renamed = dir.path().join(name);
        std::fs::rename(&layout, &renamed).unwrap();
        renamed
    };

    // A linked blob: its target holds the right bytes, so following it would pass.
    let layout = fresh("linked");
    let blob = layout.join(layer.blob_path());
    let outside = dir.path().join("outside.wasm");
    std::fs::rename(&blob, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &blob).unwrap();
    let message = verify_fails(&layout);
    assert!(
        message.contains(&format!(
            "unsafe entry \"{}\": a symbolic link (links are not followed)",
            layer.blob_path()
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "refers to blob {layer}, which is not in the layout"
        )),
        "{message}"
    );

    let layout = fresh("extra");
    std::fs::write(layout.join("blobs/sha256/notes.txt"), b"x").unwrap();
    let message = verify_fails(&layout);
    assert!(
        message.contains("entry \"blobs/sha256/notes.txt\": not a valid blob name"),
        "{message}"
    );

    let layout = fresh("corrupt");
    let mut corrupt = wasm.clone();
    *corrupt.last_mut().unwrap() ^= 0x80;
    std::fs::write(layout.join(layer.blob_path()), &corrupt).unwrap();
    let message = verify_fails(&layout);
    assert!(
        message.contains(&format!(
            "blob {layer}: its bytes hash to {}",
            digest_bytes(&corrupt)
        )),
        "{message}"
    );

    let layout = fresh("missing");
    std::fs::remove_file(layout.join(layer.blob_path())).unwrap();
    let message = verify_fails(&layout);
    assert!(
        message.contains(&format!(
            "refers to blob {layer}, which is not in the layout"
        )),
        "{message}"
    );

    let layout = fresh("oversized");
    let index = std::fs::File::create(layout.join("index.json")).unwrap();
    index.set_len(5 << 20).unwrap();
    let message = verify_fails(&layout);
    assert!(
        message.contains(&format!(
            "index.json: a {}-byte document, larger than the {}-byte limit for JSON documents; not read",
            5 << 20,
            4 << 20
        )),
        "{message}"
    );
    // inspect reads directories too, and fails on the same problems.
    let output = run(&["inspect", layout.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("index.json: a "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn skopeo_oci_directory_verifies_and_inspects() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, wasm) = package(dir.path(), "app");
    let layout = dir.path().join("skopeo-layout");
    skopeo_copy(&tar, &format!("oci:{}:v1", layout.display()));
    assert!(layout.join("oci-layout").is_file());
    assert!(!layout.join("manifest.json").exists());

    let output = run(&["verify", layout.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let output = run(&["inspect", "--json", layout.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(
        json["images"][0]["manifest"]["layers"][0]["digest"],
        digest_bytes(&wasm).to_string()
    );
    assert_eq!(
        json["images"][0]["descriptor"]["annotations"]["org.opencontainers.image.ref.name"],
        "v1"
    );
}
