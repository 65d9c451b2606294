//! `scripts/release.sh`, run in a clone of this repository's HEAD: what it
//! refuses, what a dry run leaves behind (nothing), and what a release
//! commits and tags. The tests and the publish dry run it would run are
//! replaced (RELEASE_TEST_CMD, RELEASE_PUBLISH_CMD) by commands that record
//! what they saw; the script's own steps all run for real.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "release test")
        .env("GIT_AUTHOR_EMAIL", "release-test@localhost")
        .env("GIT_COMMITTER_NAME", "release test")
        .env("GIT_COMMITTER_EMAIL", "release-test@localhost")
        .output()
        .expect("git is missing: the release script's tests need it");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// A clone of HEAD (what is committed, whatever the working tree holds).
fn clone() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = repository();
    let out = Command::new("git")
        .args(["clone", "-q", "--no-hardlinks"])
        .arg(&from)
        .arg(dir.path())
        .output()
        .expect("git is missing: the release script's tests need it");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Runs the script in `dir`; `tests` and `publish` stand in for the test
/// suite and the publish dry run.
fn release(dir: &Path, args: &[&str], tests: &str, publish: &str) -> Output {
    release_with_mutants(dir, args, tests, "exit 3", publish)
}

/// [`release`], with `mutants` standing in for the mutation testing (whose
/// exit code 3, a timeout, is caught in effect).
fn release_with_mutants(
    dir: &Path,
    args: &[&str],
    tests: &str,
    mutants: &str,
    publish: &str,
) -> Output {
    Command::new("bash")
        .arg("scripts/release.sh")
        .args(args)
        .current_dir(dir)
        .env("RELEASE_TEST_CMD", tests)
        .env("RELEASE_PUBLISH_CMD", publish)
        .env("RELEASE_MUTANTS_CMD", mutants)
        .env("GIT_AUTHOR_NAME", "release test")
        .env("GIT_AUTHOR_EMAIL", "release-test@localhost")
        .env("GIT_COMMITTER_NAME", "release test")
        .env("GIT_COMMITTER_EMAIL", "release-test@localhost")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The `[workspace.package]` version, read here without the script.
fn workspace_version(dir: &Path) -> (u64, u64, u64) {
    let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let section = manifest.split("[workspace.package]").nth(1).unwrap();
    let line = section
        .lines()
        .find(|line| line.starts_with("version = "))
        .unwrap();
    let version = line.trim_start_matches("version = ").trim_matches('"');
    let parts: Vec<u64> = version.split('.').map(|p| p.parse().unwrap()).collect();
    (parts[0], parts[1], parts[2])
}

/// Every package of a lock file that has no `source` (ours, by path), with
/// its version.
fn path_packages(lock: &str) -> Vec<(String, String)> {
    lock.split("[[package]]")
        .skip(1)
        .filter(|entry| !entry.contains("\nsource = "))
        .map(|entry| {
            let field = |key: &str| {
                entry
                    .lines()
                    .find_map(|line| line.strip_prefix(&format!("{key} = \"")))
                    .unwrap()
                    .trim_end_matches('"')
                    .to_string()
            };
            (field("name"), field("version"))
        })
        .collect()
}

#[test]
fn dry_run_bumps_the_version_for_the_publish_dry_run_then_leaves_nothing_behind() {
    let dir = clone();
    let (major, minor, _) = workspace_version(dir.path());
    let next = format!("{major}.{}.0", minor + 1);
    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    let seen = tempfile::tempdir().unwrap();
    let publish = format!("cp Cargo.toml Cargo.lock {}", seen.path().display());
    let out = release(dir.path(), &["--dry-run", "minor"], "true", &publish);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&format!("-> {next}")), "{}", text(&out));
    // The publish dry run saw the new version in the manifest and the lock.
    assert_eq!(workspace_version(seen.path()), (major, minor + 1, 0));
    let ours = path_packages(&fs::read_to_string(seen.path().join("Cargo.lock")).unwrap());
    assert!(ours.len() >= 7, "{ours:?}");
    for (name, version) in ours {
        assert_eq!(version, next, "Cargo.lock: {name}");
    }
    // And nothing is left: no commit, no tag, no changed file.
    assert_eq!(git(dir.path(), &["rev-parse", "HEAD"]), head);
    assert_eq!(git(dir.path(), &["tag"]), "");
    assert_eq!(git(dir.path(), &["status", "--porcelain"]), "");
}

#[test]
fn release_commits_one_version_everywhere_and_tags_it_then_shows_snapshot_changes_since() {
    let dir = clone();
    let (major, minor, patch) = workspace_version(dir.path());
    let out = release(dir.path(), &["patch"], "true", "true");
    assert!(out.status.success(), "{}", text(&out));
    let next = format!("{major}.{minor}.{}", patch + 1);

    assert_eq!(git(dir.path(), &["tag"]).trim(), format!("v{next}"));
    assert_eq!(
        git(dir.path(), &["log", "-1", "--format=%s"]).trim(),
        format!("Release {next}")
    );
    assert_eq!(git(dir.path(), &["status", "--porcelain"]), "");
    // Every crate of ours, in both lock files and in the requirements of
    // the root manifest, is at the new version.
    for lock in ["Cargo.lock", "fuzz/Cargo.lock"] {
        let ours = path_packages(&fs::read_to_string(dir.path().join(lock)).unwrap());
        assert!(!ours.is_empty(), "{lock}");
        for (name, version) in ours {
            if name != "oci-tar-fuzz" {
                assert_eq!(version, next, "{lock}: {name}");
            }
        }
    }
    let manifest = fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
    let requirements: Vec<&str> = manifest
        .lines()
        .filter(|line| line.contains("path = \"crates/") && line.contains("version = "))
        .collect();
    assert!(requirements.len() >= 6, "{requirements:?}");
    for line in requirements {
        assert!(line.contains(&format!("version = \"{next}\"")), "{line}");
    }
    let changelog = fs::read_to_string(dir.path().join("CHANGELOG.md")).unwrap();
    let unreleased = changelog.find("## [Unreleased]").unwrap();
    let released = changelog.find(&format!("## [{next}] - ")).unwrap();
    assert!(
        unreleased < released,
        "a fresh [Unreleased] above the release"
    );

    // A snapshot changed after the release is shown for review next time.
    let snapshot = git(dir.path(), &["ls-files", "*.snap"]);
    let snapshot = snapshot.lines().next().unwrap();
    let mut content = fs::read_to_string(dir.path().join(snapshot)).unwrap();
    content.push_str("a reviewed change\n");
    fs::write(dir.path().join(snapshot), content).unwrap();
    git(dir.path(), &["commit", "-qam", "a snapshot changes"]);
    fs::write(
        dir.path().join("CHANGELOG.md"),
        changelog.replace("## [Unreleased]\n", "## [Unreleased]\n\n- A change.\n"),
    )
    .unwrap();
    git(dir.path(), &["commit", "-qam", "say so"]);
    // With a tag, mutants missed in the code changed since it (cargo-mutants'
    // exit code 2) refuse the release.
    let out = release_with_mutants(dir.path(), &["patch"], "true", "exit 2", "true");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("mutants survived"), "{}", text(&out));
    assert_eq!(
        git(dir.path(), &["tag"]).trim(),
        format!("v{next}"),
        "no new tag"
    );
    let out = release(dir.path(), &["--dry-run", "patch"], "true", "true");
    assert!(out.status.success(), "{}", text(&out));
    let shown = text(&out);
    assert!(
        shown.contains(&format!("snapshot changes since v{next}")),
        "{shown}"
    );
    assert!(shown.contains(snapshot), "{shown}");
    assert!(shown.contains("+a reviewed change"), "{shown}");
}

#[test]
fn release_refuses_a_dirty_tree_pending_snapshots_failing_tests_and_a_failing_publish() {
    let dir = clone();
    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    let refused = |args: &[&str], tests: &str, publish: &str, why: &str| {
        let out = release(dir.path(), args, tests, publish);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            text(&out).contains(why),
            "expected {why:?} in: {}",
            text(&out)
        );
        assert_eq!(git(dir.path(), &["rev-parse", "HEAD"]), head);
        assert_eq!(git(dir.path(), &["tag"]), "");
    };

    fs::write(dir.path().join("README.md"), "changed\n").unwrap();
    refused(&["patch"], "true", "true", "uncommitted changes");
    git(dir.path(), &["checkout", "-q", "README.md"]);

    let pending = dir.path().join("crates/oci-digest/src/a.snap.new");
    fs::write(&pending, "").unwrap();
    refused(&["patch"], "true", "true", "pending insta snapshots");
    fs::remove_file(&pending).unwrap();

    refused(&["patch"], "false", "true", "the tests failed");
    // A failing publish dry run undoes the release commit (HEAD unchanged,
    // checked by `refused`) and leaves the tree clean.
    refused(&["patch"], "true", "false", "the publish dry run failed");
    assert_eq!(git(dir.path(), &["status", "--porcelain"]), "");

    let out = release(dir.path(), &["1.2"], "true", "true");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("is not MAJOR.MINOR.PATCH"),
        "{}",
        text(&out)
    );
}
