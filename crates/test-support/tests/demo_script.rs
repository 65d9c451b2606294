//! The README's demo command, `bash scripts/demo.sh`, run as a user with
//! their own `CARGO_TARGET_DIR` would: it must find what cargo built there,
//! not under `./target`, and leave the three images it prints.
//!
//! It runs in a clone of HEAD kept under `/var/cache/oci-tar-builder`, with
//! a target folder there too, so the release build it makes is paid once
//! per machine and reused by later runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Command;

fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} could not run ({e}): the demo test needs it"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn demo_script_finds_its_builds_in_a_cargo_target_dir_of_the_users_choice() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cache = Path::new("/var/cache/oci-tar-builder/demo-script");
    let clone = cache.join("repository");
    let target = cache.join("target");
    fs::create_dir_all(cache).unwrap();
    if !clone.join(".git").exists() {
        let _ = fs::remove_dir_all(&clone);
        run(
            cache,
            "git",
            &[
                "clone",
                "-q",
                repository.to_str().unwrap(),
                clone.to_str().unwrap(),
            ],
        );
    }
    // Exactly HEAD of the repository under test; dist/ from an earlier run
    // is removed so every file checked below is this run's.
    run(
        &clone,
        "git",
        &["fetch", "-q", repository.to_str().unwrap(), "HEAD"],
    );
    run(
        &clone,
        "git",
        &["checkout", "-q", "-f", "--detach", "FETCH_HEAD"],
    );
    let _ = fs::remove_dir_all(clone.join("dist"));

    let out = Command::new("bash")
        .arg("scripts/demo.sh")
        .current_dir(&clone)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo.sh failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Nothing was built under the clone's own target folder.
    assert!(
        !clone.join("target").exists(),
        "demo.sh built into ./target"
    );

    let builder = target.join("release/oci-tar-builder");
    assert!(builder.is_file(), "no binary at {}", builder.display());
    let dist = clone.join("dist");
    for (label, path) in [
        ("wasm-layer image:", dist.join("img-oci.tar")),
        ("CNCF artifact:", dist.join("img-oci-artifact.tar")),
        ("layout directory:", dist.join("layout")),
    ] {
        assert!(
            stdout.contains(&format!("{label} ")) && stdout.contains(path.to_str().unwrap()),
            "demo.sh does not print {label} {}:\n{stdout}",
            path.display()
        );
        let verified = Command::new(&builder)
            .arg("verify")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            verified.status.success(),
            "{} does not verify: {}",
            path.display(),
            String::from_utf8_lossy(&verified.stderr)
        );
    }
}
