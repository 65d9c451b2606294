//! Every bad input gives one line on stderr naming the culprit, exit code 2
//! for usage errors and 1 for failures, and leaves no output behind.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// One row: what is run and what must come out.
struct Case {
    what: &'static str,
    args: Vec<String>,
    env: Option<(&'static str, &'static str)>,
    code: i32,
    /// The whole stderr line after `oci-tar-builder: error: `.
    message: String,
}

fn case(what: &'static str, args: &[&str], code: i32, message: impl Into<String>) -> Case {
    Case {
        what,
        args: args.iter().map(|a| a.to_string()).collect(),
        env: None,
        code,
        message: message.into(),
    }
}

/// The inputs every case may use, in `dir`.
fn fixtures(dir: &Path) {
    std::fs::write(dir.join("app.wasm"), test_support::tiny_module(1)).unwrap();
    std::fs::write(dir.join("empty.wasm"), b"").unwrap();
    let module = test_support::tiny_module(1);
    std::fs::write(dir.join("truncated.wasm"), &module[..module.len() - 1]).unwrap();
    std::fs::write(dir.join("text.wasm"), b"hello, world\n").unwrap();
    let elf = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    std::fs::write(dir.join("elf.wasm"), &elf[..64]).unwrap();
    std::fs::create_dir(dir.join("module.wasm")).unwrap();
    std::fs::create_dir(dir.join("no-wasm")).unwrap();
    std::fs::write(dir.join("no-wasm/readme.txt"), b"not wasm").unwrap();
    std::fs::create_dir(dir.join("empty-dir")).unwrap();
    std::fs::create_dir(dir.join("out-dir")).unwrap();
    // Files that are not regular files: reading them would block or fail.
    let mkfifo = Command::new(test_support::require_tool("mkfifo", "coreutils"))
        .arg(dir.join("fifo.wasm"))
        .status()
        .unwrap();
    assert!(mkfifo.success());
    drop(std::os::unix::net::UnixListener::bind(dir.join("socket.wasm")).unwrap());
    // --components folders holding such things beside a good module.
    for (folder, odd) in [("with-fifo", "b.wasm"), ("with-broken-link", "b.wasm")] {
        std::fs::create_dir(dir.join(folder)).unwrap();
        std::fs::write(
            dir.join(folder).join("a.wasm"),
            test_support::tiny_module(1),
        )
        .unwrap();
        let odd = dir.join(folder).join(odd);
        if folder == "with-fifo" {
            std::fs::rename(dir.join("fifo.wasm"), &odd).unwrap();
            let again = Command::new("mkfifo")
                .arg(dir.join("fifo.wasm"))
                .status()
                .unwrap();
            assert!(again.success());
        } else {
            std::os::unix::fs::symlink(dir.join("nowhere.wasm"), &odd).unwrap();
        }
    }
}

/// Every file and folder under `dir`.
fn tree(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            found.insert(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found
}

fn cases() -> Vec<Case> {
    let long_tag = "a".repeat(129);
    let long_name = format!("{}/app", "a".repeat(252));
    let with_module = |extra: &[&str]| {
        let mut args = vec!["-n", "app", "-m", "app.wasm", "-o", "out.tar"];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let mut cases = vec![
        case("missing file", &["-n", "app", "-m", "missing.wasm", "-o", "out.tar"], 1,
            "missing.wasm: No such file or directory (os error 2)"),
        case("directory as module", &["-n", "app", "-m", "module.wasm", "-o", "out.tar"], 1,
            "module.wasm: not a regular file"),
        case("a FIFO as module (regression: the build blocked forever)", &["-n", "app", "-m", "fifo.wasm", "-o", "out.tar"], 1,
            "fifo.wasm: not a regular file"),
        case("a socket as module", &["-n", "app", "-m", "socket.wasm", "-o", "out.tar"], 1,
            "socket.wasm: not a regular file"),
        case("a character device as module", &["-n", "app", "-m", "/dev/zero", "-o", "out.tar"], 1,
            "/dev/zero: not a regular file"),
        case("a FIFO as layer", &["-q", "-n", "app", "-m", "app.wasm", "--layer", "application/vnd.oci.image.layer.v1.tar=fifo.wasm", "-o", "out.tar"], 1,
            "fifo.wasm: not a regular file"),
        case("--components finds a FIFO", &["-q", "-n", "app", "-c", "with-fifo", "-o", "out.tar"], 1,
            "with-fifo/b.wasm: not a regular file"),
        case("--components finds a broken symbolic link", &["-q", "-n", "app", "-c", "with-broken-link", "-o", "out.tar"], 1,
            "with-broken-link/b.wasm: a symbolic link to a file that does not exist"),
        case("empty file", &["-n", "app", "-m", "empty.wasm", "-o", "out.tar"], 1,
            "empty.wasm: not a wasm module or component: it is empty"),
        case("text file", &["-n", "app", "-m", "text.wasm", "-o", "out.tar"], 1,
            "text.wasm: not a wasm module or component: it is a text file, not WebAssembly"),
        case("ELF file", &["-n", "app", "-m", "elf.wasm", "-o", "out.tar"], 1,
            "elf.wasm: not a wasm module or component: it is an ELF executable, not WebAssembly"),
        case("truncated wasm", &["-n", "app", "-m", "truncated.wasm", "-o", "out.tar"], 1,
            "truncated.wasm: not a wasm module or component: it is truncated (unexpected end-of-file at byte 50)"),
        case("tag with /", &["-n", "app", "-t", "a/b", "-m", "app.wasm", "-o", "out.tar"], 2,
            r#"invalid image tag "a/b": '/' is not allowed in a tag (only letters, digits, '_', '.' and '-')"#),
        Case {
            args: ["-n", "app", "-t", &long_tag, "-m", "app.wasm", "-o", "out.tar"]
                .map(str::to_owned).to_vec(),
            ..case("tag over 128 characters", &[], 2, format!(
                "invalid image tag \"{long_tag}\": a tag is at most 128 characters; this one has 129"))
        },
        case("empty tag", &["-n", "app", "-t", "", "-m", "app.wasm", "-o", "out.tar"], 2,
            r#"invalid image tag "": a tag cannot be empty"#),
        case("tag starting with '.'", &["-n", "app", "-t", ".v1", "-m", "app.wasm", "-o", "out.tar"], 2,
            r#"invalid image tag ".v1": a tag must start with a letter, digit or '_', not '.'"#),
        case("upper-case repository path", &["-r", "ghcr.io/Org", "-n", "app", "-m", "app.wasm", "-o", "out.tar"], 2,
            r#"invalid image repository "ghcr.io/Org": path component "Org": 'O' is upper case; repository paths must be lowercase"#),
        case("name with spaces", &["-n", "my app", "-m", "app.wasm", "-o", "out.tar"], 2,
            r#"invalid image name "my app": path component "my app": ' ' is not allowed (only a-z, 0-9 and the separators '.', '_', '__', '-')"#),
        case("empty path component", &["-r", "ghcr.io//x", "-n", "app", "-m", "app.wasm", "-o", "out.tar"], 2,
            r#"invalid image repository "ghcr.io//x": it has an empty path component (a leading, trailing or double '/')"#),
        case("component ending in a separator", &["-n", "app-", "-m", "app.wasm", "-o", "out.tar"], 2,
            r#"invalid image name "app-": path component "app-": it must start and end with a letter or digit"#),
        case("digest in the name", &["-n", "app@sha256", "-m", "app.wasm", "-o", "out.tar"], 2,
            r#"invalid image name "app@sha256": path component "app@sha256": '@' is not allowed (only a-z, 0-9 and the separators '.', '_', '__', '-')"#),
        case("registry port not a number", &["-r", "host:port/x", "-n", "app", "-m", "app.wasm", "-o", "out.tar"], 2,
            r#"invalid image registry "host:port": port "port" is not a number"#),
        case("--layer without =", &["-n", "app", "-m", "app.wasm", "--layer", "foo", "-o", "out.tar"], 2,
            "invalid value 'foo' for '--layer <MEDIATYPE=PATH>': expected MEDIATYPE=PATH"),
        case("--layer with a missing file", &["-q", "-n", "app", "-m", "app.wasm", "--layer", "application/vnd.oci.image.layer.v1.tar=missing.tar", "-o", "out.tar"], 1,
            "missing.tar: No such file or directory (os error 2)"),
        case("--layer with a bad media type", &["-n", "app", "-m", "app.wasm", "--layer", "tar=rootfs.tar", "-o", "out.tar"], 2,
            r#"invalid value 'tar=rootfs.tar' for '--layer <MEDIATYPE=PATH>': media type "tar" is not of the form type/subtype"#),
        case("--components naming a missing folder", &["-n", "app", "-c", "missing-dir", "-o", "out.tar"], 1,
            "missing-dir: No such file or directory (os error 2)"),
        case("--components folder without .wasm", &["-q", "-n", "app", "-c", "no-wasm", "-o", "out.tar"], 1,
            "no-wasm: no .wasm files in this folder"),
        case("--components empty folder", &["-n", "app", "-c", "empty-dir", "-o", "out.tar"], 1,
            "empty-dir: no .wasm files in this folder"),
        case("nothing to package", &["-n", "app", "-o", "out.tar"], 2,
            "nothing to package: give a wasm file with --module or a folder with --components"),
        case("artifact with two wasm files", &["-n", "app", "-a", "-m", "app.wasm", "-m", "app.wasm", "-o", "out.tar"], 2,
            "a CNCF Wasm OCI Artifact holds exactly one wasm module or component (its entrypoint), but 2 were given; package several as a wasm-layer image (without --as-artifact)"),
        case("compat image with two wasm files", &["-n", "app", "--shape", "compat", "-m", "app.wasm", "-m", "app.wasm", "-o", "out.tar"], 2,
            "a compat image holds exactly one wasm module or component (its entrypoint), but 2 were given; package several as a wasm-layer image (without --shape compat)"),
        case("a layer title that is a path", &["-q", "-n", "app", "-m", "app.wasm", "--layer-annotation", "org.opencontainers.image.title=../x", "-o", "out.tar"], 2,
            r#"layer title "../x" is not a plain file name (it must not be empty, . or .., nor hold / or \) (--layer-annotation)"#),
        case("--target without --as-artifact", &["-n", "app", "-m", "app.wasm", "--target", "wasi:http/proxy@0.2.0", "-o", "out.tar"], 2,
            "a target world (wasi:http/proxy@0.2.0) is written in a CNCF Wasm OCI Artifact's config; a wasm-layer image has no place for it (--target needs --as-artifact)"),
        case("annotation naming the image", &["-q", "-n", "app", "-m", "app.wasm", "--annotation", "org.opencontainers.image.ref.name=v2", "-o", "out.tar"], 2,
            r#"annotation "org.opencontainers.image.ref.name" is written from the image reference and cannot be set directly (it comes from --repo, --name and --tag)"#),
        case("-o a folder", &["-q", "-n", "app", "-m", "app.wasm", "-o", "out-dir"], 1,
            "out-dir: is a directory; -o names the tar file to write (oci:out-dir writes an OCI image layout directory)"),
        case("annotation without =", &["-n", "app", "-m", "app.wasm", "--annotation", "foo", "-o", "out.tar"], 2,
            "invalid value 'foo' for '--annotation <KEY=VALUE>': expected KEY=VALUE"),
        case("--created not RFC 3339", &["-n", "app", "-m", "app.wasm", "--created", "yesterday", "-o", "out.tar"], 2,
            r#"invalid value 'yesterday' for '--created <RFC3339>': "yesterday" is not an RFC 3339 time such as 2024-06-25T15:58:49Z: too short"#),
        Case {
            env: Some(("SOURCE_DATE_EPOCH", "soon")),
            ..case("SOURCE_DATE_EPOCH not a number", &["-n", "app", "-m", "app.wasm", "-o", "out.tar"], 2,
                r#"SOURCE_DATE_EPOCH="soon" is not a whole number of seconds"#)
        },
        case("missing -o", &["-n", "app", "-m", "app.wasm"], 2,
            "the following required arguments were not provided: --out-path <FILE|-|oci:DIR[:TAG]|docker://REF>"),
    ];
    cases.push(Case {
        args: with_module(&["-r", &long_name]),
        ..case("name over 255 characters", &[], 2, format!(
            "invalid image name \"{long_name}/app\": the name is 260 characters long; registries accept at most 255"))
    });
    // An unwritable place: even root cannot create files in sysfs.
    cases.push(case(
        "-o an unwritable place",
        &["-q", "-n", "app", "-m", "app.wasm", "-o", "/sys/out.tar"],
        1,
        "/sys/out.tar: cannot create a file in /sys: Permission denied (os error 13)",
    ));
    cases
}

#[test]
fn every_bad_input_is_one_clear_line_and_leaves_no_output() {
    let mut failures = Vec::new();
    for case in cases() {
        let dir = tempfile::tempdir().unwrap();
        fixtures(dir.path());
        let before = tree(dir.path());
        let mut command = Command::new(test_support::builder_under_test(env!(
            "CARGO_BIN_EXE_oci-tar-builder"
        )));
        command
            .current_dir(dir.path())
            .args(&case.args)
            .env_remove("SOURCE_DATE_EPOCH");
        if let Some((key, value)) = case.env {
            command.env(key, value);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let expected = format!("oci-tar-builder: error: {}\n", case.message);
        let lines: Vec<&str> = stderr.lines().collect();
        if output.status.code() != Some(case.code) || stderr != expected || lines.len() != 1 {
            failures.push(format!(
                "{}: exit {:?} (want {}), stderr:\n{stderr}want:\n{expected}",
                case.what,
                output.status.code(),
                case.code
            ));
        }
        if !output.stdout.is_empty() {
            failures.push(format!("{}: wrote to stdout", case.what));
        }
        let after = tree(dir.path());
        if after != before {
            failures.push(format!(
                "{}: left {:?}",
                case.what,
                after.difference(&before).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
