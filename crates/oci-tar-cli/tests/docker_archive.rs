//! Docker archives as users have them: podman's `save --format
//! docker-archive` (one image, and two images sharing a layer, where podman
//! links each `<id>/layer.tar` to a layer stored once) and skopeo's
//! `docker-archive:` (from podman's OCI archive of the same image), and
//! Docker 20.10's own `docker save` of the images podman saved (Docker links
//! a shared layer's `<id>/layer.tar` and names the link). `verify`
//! and `inspect` must read them, say their format, and refuse hostile
//! variants by name; `copy docker-archive:…` must write the OCI image
//! podman and skopeo read back (and push it to a registry). Every digest is
//! recomputed with sha256sum from the archive's own files.
//!
//! The images are built by podman itself (`FROM scratch` with `COPY`, no
//! network) in storage of its own, a temporary folder removed afterwards;
//! the archives are kept under the test's target folder.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::{builder, run};
use serde_json::Value;
use test_support::servers::{Registry, Shared};
use test_support::{require_tool, sha256sum, tar_entry};

static REGISTRY: Shared<Registry> = Shared::new(Registry::start);

/// [`common::run_ok`]'s stdout.
#[track_caller]
fn run_ok(args: &[&str], dir: &Path) -> String {
    String::from_utf8(common::run_ok(args, dir).stdout).unwrap()
}

/// Runs `program` with `args`, asserting it succeeds; its stdout.
#[track_caller]
fn tool_ok(program: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{} {args:?} failed: {}",
        program.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// podman with its own storage in `store` (vfs, no cgroups or journal), so
/// it needs no daemon and touches nothing of the machine's. podman wants
/// the run folder's path short (50 bytes at most): `store` is a fresh
/// temporary folder ([`podman_store`]).
fn podman(store: &Path, args: &[&str]) -> Vec<u8> {
    let podman = require_tool("podman", "the Debian package `podman`");
    let root = store.join("root").display().to_string();
    let runroot = store.join("run").display().to_string();
    let mut all = vec![
        "--root",
        &root,
        "--runroot",
        &runroot,
        "--storage-driver",
        "vfs",
        "--cgroup-manager",
        "cgroupfs",
        "--events-backend",
        "none",
    ];
    all.extend_from_slice(args);
    tool_ok(&podman, &all)
}

/// A fresh temporary folder for podman's storage.
fn podman_store() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("podman-")
        .tempdir_in("/tmp")
        .unwrap()
}

fn skopeo(args: &[&str]) -> Vec<u8> {
    tool_ok(&require_tool("skopeo", "the Debian package `skopeo`"), args)
}

/// The archives, made once for all tests.
struct Archives {
    dir: PathBuf,
}

impl Archives {
    /// podman's archive of `localhost/base:v1`.
    fn one(&self) -> PathBuf {
        self.dir.join("podman-one.tar")
    }
    /// podman's archive of `localhost/base:v1` and `localhost/app:v2`, the
    /// second built on the first (sharing its layer).
    fn two(&self) -> PathBuf {
        self.dir.join("podman-two.tar")
    }
    /// skopeo's archive of `localhost/app:v2`.
    fn skopeo(&self) -> PathBuf {
        self.dir.join("skopeo.tar")
    }
}

fn archives() -> &'static Archives {
    static ARCHIVES: OnceLock<Archives> = OnceLock::new();
    ARCHIVES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docker-archive-fixtures");
        let _ = std::fs::remove_dir_all(&dir);
        let context = dir.join("context");
        let store = podman_store();
        let store = store.path();
        std::fs::create_dir_all(&context).unwrap();
        std::fs::write(context.join("a"), "the base layer's file\n").unwrap();
        std::fs::write(context.join("b"), "the app layer's file\n").unwrap();
        std::fs::write(context.join("Base"), "FROM scratch\nCOPY a /a\n").unwrap();
        std::fs::write(context.join("App"), "FROM localhost/base:v1\nCOPY b /b\n").unwrap();
        let context_arg = context.display().to_string();
        for (file, tag) in [("Base", "localhost/base:v1"), ("App", "localhost/app:v2")] {
            let file = context.join(file).display().to_string();
            podman(
                store,
                &[
                    "build",
                    "-q",
                    "--network",
                    "none",
                    "-f",
                    &file,
                    "-t",
                    tag,
                    &context_arg,
                ],
            );
        }
        let archives = Archives { dir: dir.clone() };
        let path = |p: PathBuf| p.display().to_string();
        podman(
            store,
            &[
                "save",
                "--format",
                "docker-archive",
                "-o",
                &path(archives.one()),
                "localhost/base:v1",
            ],
        );
        podman(
            store,
            &[
                "save",
                "--format",
                "docker-archive",
                "-m",
                "-o",
                &path(archives.two()),
                "localhost/base:v1",
                "localhost/app:v2",
            ],
        );
        let oci = path(dir.join("podman-oci.tar"));
        podman(
            store,
            &[
                "save",
                "--format",
                "oci-archive",
                "-o",
                &oci,
                "localhost/app:v2",
            ],
        );
        skopeo(&[
            "--insecure-policy",
            "copy",
            &format!("oci-archive:{oci}"),
            &format!(
                "docker-archive:{}:localhost/app:v2",
                path(archives.skopeo())
            ),
        ]);
        archives
    })
}

/// What an archive's `manifest.json` says, with each file's sha256sum.
struct Expected {
    /// Per image: its RepoTags, its config's digest, its layers' digests.
    images: Vec<(Vec<String>, String, Vec<String>)>,
}

fn expected(archive: &Path) -> Expected {
    let tar = std::fs::read(archive).unwrap();
    let manifest: Value = serde_json::from_slice(&tar_entry(&tar, "manifest.json")).unwrap();
    let digest_of = |path: &str| format!("sha256:{}", sha256sum(&file_bytes(&tar, path)));
    let images = manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|image| {
            let tags = image["RepoTags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned())
                .collect();
            let config_path = image["Config"].as_str().unwrap();
            // The config's own diff_ids must be the layers' sha256sums.
            let config: Value = serde_json::from_slice(&tar_entry(&tar, config_path)).unwrap();
            let layers: Vec<String> = image["Layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| digest_of(l.as_str().unwrap()))
                .collect();
            let diff_ids: Vec<&str> = config["rootfs"]["diff_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            assert_eq!(
                diff_ids,
                layers,
                "{}: the fixture itself is inconsistent",
                archive.display()
            );
            (tags, digest_of(config_path), layers)
        })
        .collect();
    Expected { images }
}

/// The bytes of the file `path` in `tar`, through one symbolic link (as
/// Docker writes a shared layer's `<id>/layer.tar`).
fn file_bytes(tar: &[u8], path: &str) -> Vec<u8> {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        if entry.path().unwrap().to_str() != Some(path) {
            continue;
        }
        if entry.header().entry_type() != tar::EntryType::Symlink {
            return tar_entry(tar, path);
        }
        let target = entry.link_name().unwrap().unwrap().display().to_string();
        let dir = Path::new(path).parent().unwrap();
        let mut resolved = Vec::new();
        for part in dir.join(&target).iter() {
            match part.to_str().unwrap() {
                ".." => {
                    resolved.pop();
                }
                "." => {}
                part => resolved.push(part.to_owned()),
            }
        }
        return tar_entry(tar, &resolved.join("/"));
    }
    panic!("no entry {path}")
}

/// `inspect --json`, parsed, after `verify` says the archive is valid.
fn verified_and_inspected(archive: &Path) -> Value {
    let dir = archive.parent().unwrap();
    let name = archive.file_name().unwrap().to_str().unwrap();
    let verified = run_ok(&["verify", name], dir);
    assert!(
        verified.starts_with(&format!("{name}: valid Docker archive")),
        "{verified}"
    );
    let text = run_ok(&["inspect", name], dir);
    assert!(text.contains("\n  format      docker-archive\n"), "{text}");
    serde_json::from_str(&run_ok(&["inspect", "--json", name], dir)).unwrap()
}

/// Checks what `inspect --json` says of `archive` against its files.
fn check_images(archive: &Path) -> Value {
    let expected = expected(archive);
    let json = verified_and_inspected(archive);
    assert_eq!(json["format"], "docker-archive");
    assert_eq!(json["valid"], true);
    let images = json["images"].as_array().unwrap();
    assert_eq!(images.len(), expected.images.len());
    for (image, (tags, config, layers)) in images.iter().zip(&expected.images) {
        assert_eq!(
            image["descriptor"]["annotations"]["io.containerd.image.name"],
            tags[0].as_str()
        );
        let manifest = &image["manifest"];
        assert_eq!(manifest["config"]["digest"], config.as_str());
        let found: Vec<&str> = manifest["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                assert_eq!(l["mediaType"], "application/vnd.oci.image.layer.v1.tar");
                l["digest"].as_str().unwrap()
            })
            .collect();
        assert_eq!(found, *layers);
    }
    json
}

#[test]
fn podmans_archive_of_one_image_verifies_and_inspects() {
    let archive = archives().one();
    let json = check_images(&archive);
    assert_eq!(json["images"][0]["descriptor"]["platform"]["os"], "linux");
    assert_eq!(json["blobCount"], 2);
    // --raw gives the derived manifest (its digest the descriptor's) and
    // the config file's bytes; there is no index.json to give.
    let dir = archive.parent().unwrap();
    let name = archive.file_name().unwrap().to_str().unwrap();
    let manifest = common::run_ok(&["inspect", "--raw", "manifest", name], dir).stdout;
    assert_eq!(
        json["images"][0]["descriptor"]["digest"],
        format!("sha256:{}", sha256sum(&manifest)).as_str()
    );
    let config = common::run_ok(&["inspect", "--raw", "config", name], dir).stdout;
    assert_eq!(
        json["images"][0]["manifest"]["config"]["digest"],
        format!("sha256:{}", sha256sum(&config)).as_str()
    );
    let index = run(&["inspect", "--raw", "index", name], dir);
    assert_eq!(index.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&index.stderr).contains("a Docker archive has no index.json"));
}

#[test]
fn podmans_archive_of_two_images_sharing_a_layer_verifies_and_inspects() {
    let archive = archives().two();
    // The case the format's links are for: podman links <id>/layer.tar.
    let tar = std::fs::read(&archive).unwrap();
    let links = tar::Archive::new(&tar[..])
        .entries()
        .unwrap()
        .filter(|e| e.as_ref().unwrap().header().entry_type() == tar::EntryType::Symlink)
        .count();
    assert!(links >= 2, "podman's archive has {links} links");

    let json = check_images(&archive);
    let images = json["images"].as_array().unwrap();
    let base_layer = &images[0]["manifest"]["layers"][0]["digest"];
    assert_eq!(&images[1]["manifest"]["layers"][0]["digest"], base_layer);
    // Two configs and two layer files, the shared one counted once.
    assert_eq!(json["blobCount"], 4);
    assert_eq!(
        images[1]["dockerFiles"]["layers"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn skopeos_archive_verifies_and_inspects() {
    let json = check_images(&archives().skopeo());
    assert_eq!(
        json["images"][0]["descriptor"]["annotations"]["io.containerd.image.name"],
        "localhost/app:v2"
    );
}

/// `archive` rewritten: `change` sees each entry's header and bytes and
/// may change them, or return false to leave the entry out.
fn rewritten(
    archive: &Path,
    out: &Path,
    mut change: impl FnMut(&mut tar::Header, &mut Vec<u8>) -> bool,
) {
    use std::io::Read;
    let tar = std::fs::read(archive).unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    for entry in tar::Archive::new(&tar[..]).entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut header = entry.header().clone();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if change(&mut header, &mut bytes) {
            header.set_size(bytes.len() as u64);
            header.set_cksum();
            builder.append(&header, &bytes[..]).unwrap();
        }
    }
    std::fs::write(out, builder.into_inner().unwrap()).unwrap();
}

/// `verify`'s stderr for a refused archive (exit code 1).
fn refused(dir: &Path, name: &str) -> String {
    let output = run(&["verify", name], dir);
    assert_eq!(output.status.code(), Some(1), "{name} was not refused");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn hostile_variants_of_podmans_archive_are_refused_by_name() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let archive = archives().two();
    let tar = std::fs::read(&archive).unwrap();
    let manifest: Value = serde_json::from_slice(&tar_entry(&tar, "manifest.json")).unwrap();
    let top_layer = manifest[1]["Layers"][1].as_str().unwrap().to_owned();

    // A link that leaves the archive.
    let mut escaping = String::new();
    rewritten(&archive, &dir.join("escape.tar"), |header, _| {
        if header.entry_type() == tar::EntryType::Symlink && escaping.is_empty() {
            escaping = header.path().unwrap().display().to_string();
            header.set_link_name("../../../etc/passwd").unwrap();
        }
        true
    });
    let stderr = refused(dir, "escape.tar");
    assert!(
        stderr.contains(&format!(
            "unsafe entry {escaping:?}: a symbolic link (links are not followed)"
        )),
        "{stderr}"
    );

    // A layer whose bytes are not its diff_id.
    let changed = b"not the layer podman saved".to_vec();
    rewritten(&archive, &dir.join("mismatch.tar"), |header, bytes| {
        if header.path().unwrap().to_str() == Some(&*top_layer) {
            bytes.clone_from(&changed);
        }
        true
    });
    let stderr = refused(dir, "mismatch.tar");
    let diff_id = format!("sha256:{}", sha256sum(&tar_entry(&tar, &top_layer)));
    assert!(
        stderr.contains(&format!(
            "{top_layer}: its bytes hash to sha256:{}, but the config's rootfs.diff_ids gives {diff_id}",
            sha256sum(&changed)
        )),
        "{stderr}"
    );

    // A missing layer (and so a link to nothing).
    rewritten(&archive, &dir.join("missing.tar"), |header, _| {
        header.path().unwrap().to_str() != Some(&*top_layer)
    });
    let stderr = refused(dir, "missing.tar");
    assert!(
        stderr.contains(&format!(
            "manifest.json refers to {top_layer:?}, which is not in the layout"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "a symbolic link where a Docker archive has none, or to no regular file inside it"
        ),
        "{stderr}"
    );

    // A link placed where the format has none is refused too.
    rewritten(&archive, &dir.join("extra-link.tar"), |header, _| {
        if header.entry_type() == tar::EntryType::Symlink {
            header.set_path("elsewhere/other.tar").unwrap();
        }
        true
    });
    let stderr = refused(dir, "extra-link.tar");
    assert!(
        stderr.contains("unsafe entry \"elsewhere/other.tar\""),
        "{stderr}"
    );
}

#[test]
fn copy_writes_the_oci_image_podman_and_skopeo_read_back() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let archive = archives().two();
    let tar = std::fs::read(&archive).unwrap();
    let expected = expected(&archive);
    let (_, config, layers) = &expected.images[1];
    let source = format!("docker-archive:{}:localhost/app:v2", archive.display());

    // Without a reference, an archive of two images names none.
    let output = run(
        &[
            "copy",
            &format!("docker-archive:{}", archive.display()),
            "oci:out",
        ],
        dir,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("holds 2 images"));

    run_ok(&["copy", &source, "oci-archive:first.tar"], dir);
    run_ok(&["copy", &source, "oci-archive:second.tar"], dir);
    let first = std::fs::read(dir.join("first.tar")).unwrap();
    assert!(
        first == std::fs::read(dir.join("second.tar")).unwrap(),
        "copies differ"
    );
    run_ok(&["verify", "first.tar"], dir);

    // skopeo reads our manifest: the diff_ids as uncompressed layers.
    let raw = skopeo(&[
        "inspect",
        "--raw",
        &format!("oci-archive:{}", dir.join("first.tar").display()),
    ]);
    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(manifest["config"]["digest"], config.as_str());
    let found: Vec<&str> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    assert_eq!(found, *layers);
    // The copied layer blobs are the archive's layer files, byte for byte.
    let archive_manifest: Value =
        serde_json::from_slice(&tar_entry(&tar, "manifest.json")).unwrap();
    let layer_file = tar_entry(&tar, archive_manifest[1]["Layers"][1].as_str().unwrap());
    let hex = layers[1].strip_prefix("sha256:").unwrap();
    assert!(tar_entry(&first, &format!("blobs/sha256/{hex}")) == layer_file);

    // podman loads it (in storage of its own) as the same image.
    let store = podman_store();
    let store = store.path();
    podman(
        store,
        &[
            "load",
            "-q",
            "-i",
            &dir.join("first.tar").display().to_string(),
        ],
    );
    let id = podman(
        store,
        &[
            "image",
            "inspect",
            "--format",
            "{{.Id}}",
            "localhost/app:v2",
        ],
    );
    assert_eq!(
        String::from_utf8(id).unwrap().trim(),
        config.strip_prefix("sha256:").unwrap()
    );

    // To a layout directory, and to a registry.
    run_ok(&["copy", &source, "oci:layout"], dir);
    run_ok(&["verify", "layout"], dir);
    // `--json` names the source a Docker archive, with the reference chosen.
    let json = run(&["copy", "--json", &source, "oci:json-layout"], dir);
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let summary: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        summary["source"],
        serde_json::json!({
            "type": "docker-archive",
            "path": archive.display().to_string(),
            "tags": ["localhost/app:v2"]
        })
    );
    assert_eq!(
        summary["destination"],
        serde_json::json!({"type": "oci-dir", "path": "json-layout"})
    );
    assert_eq!(
        summary["manifest"]["digest"],
        format!("sha256:{}", sha256sum(&raw))
    );
    let registry = REGISTRY.get();
    let remote = format!("docker://{}/docker-archive/app:v2", registry.host());
    let stderr = {
        // No credentials of the machine's: the registry needs none.
        let output = Command::new(builder())
            .args(["copy", &source, &remote])
            .current_dir(dir)
            .env_remove("DOCKER_CONFIG")
            .env("HOME", dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stderr).unwrap()
    };
    assert!(stderr.contains("manifest  sha256:"), "{stderr}");
    let served = skopeo(&["inspect", "--raw", "--tls-verify=false", &remote]);
    assert!(
        served == raw,
        "the registry serves other bytes than the tar holds"
    );
}

/// A small Docker archive whose `manifest.json` and config make the reader
/// build many descriptors (one image of many layers, one image under many
/// tags, entries repeated): `verify` and `inspect --json` stay under the
/// documented 64 MiB, measured by GNU time, and report the cap when hit.
#[test]
fn amplifying_docker_archives_stay_under_64_mib() {
    let layer = b"layer bytes".to_vec();
    let diff_id = format!("sha256:{}", sha256sum(&layer));
    let archive_of = |layers: usize, tags: usize, entries: usize| {
        let diff_ids = vec![format!("\"{diff_id}\""); layers].join(",");
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":[{diff_ids}]}}}}"#
        )
        .into_bytes();
        let config_name = format!("{}.json", sha256sum(&config));
        let tags: Vec<String> = (0..tags)
            .map(|i| format!("\"localhost/a{i}:v1\""))
            .collect();
        let entry = format!(
            r#"{{"Config":"{config_name}","RepoTags":[{}],"Layers":[{}]}}"#,
            tags.join(","),
            vec!["\"l.tar\""; layers].join(",")
        );
        let manifest = format!("[{}]", vec![entry; entries].join(","));
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in [
            ("l.tar", &layer),
            (config_name.as_str(), &config),
            ("manifest.json", &manifest.into_bytes()),
        ] {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, &bytes[..]).unwrap();
        }
        builder.into_inner().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let time = require_tool("time", "the Debian package `time`");
    for (name, layers, tags, entries, capped) in [
        ("layers.tar", 24_000, 1, 1, false),
        ("repeated.tar", 40_000, 0, 9, true),
        ("tags.tar", 1, 9_000, 2, true),
    ] {
        std::fs::write(dir.path().join(name), archive_of(layers, tags, entries)).unwrap();
        for args in [&["verify"][..], &["inspect", "--json"]] {
            let output = Command::new(&time)
                .args(["-f", "%M", builder()])
                .args(args)
                .arg(name)
                .current_dir(dir.path())
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                text.contains("reaches more than"),
                capped,
                "{name} {args:?}: {text}"
            );
            assert_eq!(output.status.success(), !capped, "{name} {args:?}: {text}");
            let kib: u64 = text.lines().last().unwrap().trim().parse().unwrap();
            assert!(kib < 64 * 1024, "{name} {args:?}: {kib} KiB");
        }
    }
}

/// Debian's dockerd (20.10, the classic image store, so `docker save`
/// writes the format from before Docker 25) with its own data and exec
/// folders and socket in a temporary folder; stopped with SIGTERM to the
/// PID started, so it stops the containerd it started too.
struct Dockerd {
    child: std::process::Child,
    socket: String,
    dir: tempfile::TempDir,
}

impl Dockerd {
    fn start() -> Self {
        let dockerd = require_tool("dockerd", "the Debian package `docker.io`");
        // Short paths: dockerd and its containerd put sockets under them.
        let dir = tempfile::Builder::new()
            .prefix("dockerd-")
            .tempdir_in("/tmp")
            .unwrap();
        let socket = format!("unix://{}", dir.path().join("docker.sock").display());
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new(dockerd)
            .args([
                "--iptables=false",
                "--bridge=none",
                "--storage-driver=vfs",
                "-H",
                &socket,
            ])
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("docker.pid"))
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut dockerd = Dockerd { child, socket, dir };
        let docker = require_tool("docker", "the Debian package `docker.io`");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let answered = Command::new(&docker)
                .args(["-H", &dockerd.socket, "version"])
                .output()
                .unwrap()
                .status
                .success();
            if answered {
                return dockerd;
            }
            let exited = dockerd.child.try_wait().unwrap().is_some();
            assert!(
                !exited && std::time::Instant::now() < deadline,
                "dockerd did not start; its log:\n{}",
                std::fs::read_to_string(dockerd.dir.path().join("log")).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    fn docker(&self, args: &[&str]) -> Vec<u8> {
        let docker = require_tool("docker", "the Debian package `docker.io`");
        tool_ok(&docker, &[&["-H", &self.socket][..], args].concat())
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn dockers_own_save_verifies_inspects_and_derives_the_same_manifests() {
    let podman_archive = archives().two();
    let work = tempfile::tempdir().unwrap();
    let saved = work.path().join("docker-save.tar");
    {
        let dockerd = Dockerd::start();
        dockerd.docker(&["load", "-q", "-i", &podman_archive.display().to_string()]);
        dockerd.docker(&[
            "save",
            "-o",
            &saved.display().to_string(),
            "localhost/base:v1",
            "localhost/app:v2",
        ]);
    }
    // Docker's shape: <id>/layer.tar files, the shared layer a link that
    // manifest.json names.
    let tar = std::fs::read(&saved).unwrap();
    let manifest: Value = serde_json::from_slice(&tar_entry(&tar, "manifest.json")).unwrap();
    let linked: Vec<String> = tar::Archive::new(&tar[..])
        .entries()
        .unwrap()
        .map(Result::unwrap)
        .filter(|e| e.header().entry_type() == tar::EntryType::Symlink)
        .map(|e| e.path().unwrap().display().to_string())
        .collect();
    let layer_paths: Vec<&str> = manifest
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|image| image["Layers"].as_array().unwrap())
        .map(|path| path.as_str().unwrap())
        .collect();
    assert!(
        linked
            .iter()
            .any(|link| layer_paths.contains(&link.as_str())),
        "docker save linked no layer manifest.json names: {linked:?}"
    );

    let from_docker = check_images(&saved);
    // The derived manifests depend only on the configs and layers: podman's
    // archive of the same images gives the same ones.
    let from_podman: Value = serde_json::from_str(&run_ok(
        &["inspect", "--json", &podman_archive.display().to_string()],
        work.path(),
    ))
    .unwrap();
    let digests = |json: &Value| {
        let mut digests: Vec<(String, String)> = json["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|image| {
                let descriptor = &image["descriptor"];
                (
                    descriptor["annotations"]["io.containerd.image.name"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    descriptor["digest"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        digests.sort();
        digests
    };
    assert_eq!(digests(&from_docker), digests(&from_podman));
}
