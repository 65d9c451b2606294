//! `verify` and `inspect` on our tars, skopeo's, and broken ones.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use oci_digest::digest_bytes;

fn builder() -> Command {
    let mut command = Command::new(test_support::builder_under_test(env!(
        "CARGO_BIN_EXE_oci-tar-builder"
    )));
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

#[path = "../../oci-layout-reader/tests/common/raw.rs"]
mod raw;

/// A small image as layout files: config, layer, manifest blobs and the
/// index.json naming the manifest. `os` tells two images apart.
/// Layout files as (name, bytes), in tar order.
type Files = Vec<(String, Vec<u8>)>;

fn layout_files(os: &str) -> (Files, Vec<u8>, oci_digest::Digest) {
    let config = format!(
        r#"{{"architecture":"amd64","os":"{os}","rootfs":{{"type":"layers","diff_ids":[]}}}}"#
    )
    .into_bytes();
    let layer = format!("layer of {os}").into_bytes();
    let descriptor = |media_type: &str, bytes: &[u8]| {
        format!(
            r#"{{"mediaType":"{media_type}","digest":"{}","size":{}}}"#,
            digest_bytes(bytes),
            bytes.len()
        )
    };
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{}]}}"#,
        descriptor("application/vnd.oci.image.config.v1+json", &config),
        descriptor("application/vnd.oci.image.layer.v1.tar", &layer),
    )
    .into_bytes();
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
        descriptor("application/vnd.oci.image.manifest.v1+json", &manifest)
    )
    .into_bytes();
    let blobs = [config, layer, manifest.clone()]
        .into_iter()
        .map(|bytes| (digest_bytes(&bytes).blob_path(), bytes))
        .collect();
    (blobs, index, digest_bytes(&manifest))
}

/// Which image `bytes` (an index.json or a raw manifest) belong to.
fn which(bytes: &[u8], a: &oci_digest::Digest, b: &oci_digest::Digest) -> String {
    let text = String::from_utf8_lossy(bytes);
    if digest_bytes(bytes) == *a || text.contains(&a.to_string()) {
        "A".into()
    } else if digest_bytes(bytes) == *b || text.contains(&b.to_string()) {
        "B".into()
    } else {
        format!("neither ({} bytes)", bytes.len())
    }
}

/// Runs a tool the comparison needs; a missing one fails the test, naming it.
fn tool(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| {
            panic!("{program} is needed to compare readers and could not run: {error}")
        })
}

fn first_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    line.chars().take(400).collect()
}

/// What each mainstream reader makes of `tar`: which image skopeo's
/// oci-archive: transport returns, which index.json GNU tar extracts (and
/// what `tar -tvf` warns), which index.json Python's tarfile returns.
fn other_readers(tar: &Path, a: &oci_digest::Digest, b: &oci_digest::Digest) -> [String; 3] {
    let archive = format!("oci-archive:{}", tar.display());
    let skopeo = tool("skopeo", &["inspect", "--raw", &archive]);
    let skopeo = if skopeo.status.success() {
        which(&skopeo.stdout, a, b)
    } else {
        let line = first_line(&skopeo.stderr);
        // Its message ends in the reason: keep that end.
        let tail: String = line
            .chars()
            .rev()
            .take(80)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("error: ...{tail}")
    };
    let into = tempfile::tempdir().unwrap();
    let listing = tool("tar", &["-tvf", tar.to_str().unwrap()]);
    let extract = tool(
        "tar",
        &[
            "-xf",
            tar.to_str().unwrap(),
            "-C",
            into.path().to_str().unwrap(),
        ],
    );
    let gnu = match std::fs::read(into.path().join("index.json")) {
        Ok(bytes) => which(&bytes, a, b),
        Err(_) => "no index.json file".into(),
    };
    let warned = [listing.stderr, extract.stderr].concat();
    let gnu = if warned.is_empty() {
        gnu
    } else {
        format!("{gnu} (warns: {})", first_line(&warned))
    };
    let script = "import sys, tarfile\n\
        try:\n    t = tarfile.open(sys.argv[1])\n    sys.stdout.buffer.write(t.extractfile('index.json').read())\n\
        except Exception as e:\n    print('error:', type(e).__name__, e, file=sys.stderr); sys.exit(1)\n";
    let python = tool("python3", &["-c", script, tar.to_str().unwrap()]);
    let python = if python.status.success() {
        which(&python.stdout, a, b)
    } else {
        first_line(&python.stderr)
    };
    [skopeo, gnu, python]
}

/// The regression for every way found to hide a second index.json from
/// `verify` while skopeo, GNU tar or Python read it: image A is the one
/// the first index.json names, B the hidden one's. `verify` must never
/// call valid a tar that any of them reads as anything but A.
#[test]
fn verify_never_approves_a_tar_other_readers_read_as_another_image() {
    let (mut files, index_a, a) = layout_files("linux");
    let (blobs_b, index_b, b) = layout_files("freebsd");
    files.extend(blobs_b);
    files.insert(
        0,
        (
            "oci-layout".into(),
            br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
        ),
    );
    files.push(("index.json".into(), index_a));
    let dir = tempfile::tempdir().unwrap();
    let mut base = Vec::new();
    for (name, bytes) in &files {
        raw::entry(&mut base, name.as_bytes(), b'0', bytes);
    }
    raw::end(&mut base);
    let cases = std::iter::once(raw::Case {
        name: "control: the valid layout alone",
        tar: base,
    })
    .chain(raw::hostile_cases(&files, &index_b));
    let mut table = Vec::new();
    for case in cases {
        let path = dir.path().join("case.tar");
        std::fs::write(&path, &case.tar).unwrap();
        let seen = other_readers(&path, &a, &b);
        let verify = run(&["verify", "-q", path.to_str().unwrap()]);
        let verdict = if verify.status.success() {
            "valid".to_owned()
        } else {
            format!(
                "invalid: {}",
                first_line(&verify.stderr).replace("oci-tar-builder: error: ", "")
            )
        };
        table.push(format!(
            "{}\n  skopeo: {}\n  GNU tar: {}\n  python tarfile: {}\n  verify: {verdict}",
            case.name, seen[0], seen[1], seen[2]
        ));
        if case.name.starts_with("control") {
            assert_eq!(
                seen,
                ["A", "A", "A"].map(String::from),
                "the tools read the valid layout differently"
            );
            assert!(verify.status.success(), "{}", stderr(&verify));
        } else {
            assert!(
                !verify.status.success(),
                "{} is called valid:\n{}",
                case.name,
                table.join("\n")
            );
        }
    }
    eprintln!("{}", table.join("\n"));
}

#[test]
fn verify_and_inspect_escape_bidi_and_c1_characters_in_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut tar = Vec::new();
    raw::entry(
        &mut tar,
        "../evil\u{202e}rat.exe\u{9b}2J".as_bytes(),
        b'0',
        b"x",
    );
    raw::end(&mut tar);
    let path = dir.path().join("bidi.tar");
    std::fs::write(&path, tar).unwrap();
    for command in ["verify", "inspect"] {
        let output = run(&[command, path.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(1));
        let text = stderr(&output);
        assert!(
            !text.contains('\u{202e}') && !text.contains('\u{9b}'),
            "{text:?}"
        );
        assert!(text.contains(r"evil\u{202e}rat.exe\u{9b}2J"), "{text}");
    }
}

#[test]
fn a_gzip_compressed_tar_is_said_to_be_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, _) = package(dir.path(), "zipped");
    let status = Command::new("gzip").arg("-k").arg(&tar).status().unwrap();
    assert!(status.success());
    let output = run(&["verify", &format!("{}.gz", tar.display())]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the file is gzip-compressed, not a tar: decompress it first"),
        "{}",
        stderr(&output)
    );
}

/// Regression: a small tar made `verify` and `inspect` hold hundreds of MB
/// (an index listing 4 MiB manifests of tiny descriptors thousands of
/// times). Each stays under the documented 64 MiB, measured by GNU time.
#[test]
fn amplifying_documents_stay_under_64_mib() {
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let config_descriptor = format!(
        r#"{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}}"#,
        digest_bytes(&config),
        config.len()
    );
    let tiny = r#",{"mediaType":"","digest":"","size":0}"#;
    let manifests: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let mut manifest = format!(
                r#"{{"schemaVersion":2,"config":{config_descriptor},"layers":[{{"mediaType":"","digest":"","size":{i}}}"#
            );
            while manifest.len() + tiny.len() + 2 < 4 * 1024 * 1024 {
                manifest.push_str(tiny);
            }
            manifest.push_str("]}");
            manifest.into_bytes()
        })
        .collect();
    let listed: Vec<String> = manifests
        .iter()
        .map(|manifest| {
            format!(
                r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{}}}"#,
                digest_bytes(manifest),
                manifest.len()
            )
        })
        .collect();
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
        vec![listed.join(","); 3000].join(",")
    );
    let mut tar = Vec::new();
    raw::entry(
        &mut tar,
        b"oci-layout",
        b'0',
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    );
    raw::entry(&mut tar, b"index.json", b'0', index.as_bytes());
    for blob in manifests.iter().chain([&config]) {
        raw::entry(
            &mut tar,
            digest_bytes(blob).blob_path().as_bytes(),
            b'0',
            blob,
        );
    }
    raw::end(&mut tar);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fat.tar");
    std::fs::write(&path, &tar).unwrap();
    for args in [&["verify"][..], &["inspect"], &["inspect", "--json"]] {
        let output = tool(
            "/usr/bin/time",
            &[
                &["-f", "%M"],
                &[test_support::builder_under_test(env!(
                    "CARGO_BIN_EXE_oci-tar-builder"
                ))][..],
                args,
                &[path.to_str().unwrap()],
            ]
            .concat(),
        );
        let text = stderr(&output);
        assert!(
            text.contains("reaches more than"),
            "{args:?}: the cap is not reported: {text}"
        );
        let kib: u64 = text.lines().last().unwrap().trim().parse().unwrap();
        assert!(kib < 64 * 1024, "{args:?}: {kib} KiB");
    }
}

/// Found while auditing: an index entry whose platform is not its config's
/// OS and architecture passed. Consumers pick an image by the former and run
/// it by the latter, so it is reported.
#[test]
fn an_index_platform_that_disagrees_with_the_config_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (tar, _) = package(dir.path(), "app");
    let layout = extract(&tar);
    let index_path = layout.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let manifest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    index["manifests"][0]["platform"]["os"] = "linux".into();
    std::fs::write(&index_path, index.to_string()).unwrap();
    let message = verify_fails(&layout);
    assert!(
        message.contains(&format!(
            "the index lists {manifest} for linux/wasm, but its config says wasip1/wasm"
        )),
        "{message}"
    );
}
