//! The compat image and several shapes in one index, through the real
//! programs that consume them (started here by the tests themselves):
//!
//! - compat: containerd 1.6 and 1.7 import AND unpack it (1.6 cannot unpack
//!   raw wasm layers: compat is how a wasm image reaches it), and the
//!   unpacked snapshot holds the wasm file, mode 0755, the same bytes;
//!   skopeo reads it as `oci-archive:` and as `docker-archive:` (its
//!   `manifest.json` is complete, unlike a raw-wasm image's); `podman load`
//!   and `podman image inspect` show `wasi/wasm`; umoci unpacks it and the
//!   rootfs holds the wasm file, mode 0755, the same bytes; the OCI schemas
//!   accept every document;
//! - the index of a wasm-layer and a compat image: containerd imports it
//!   with `--platform wasip1/wasm` and with `--platform wasi/wasm`, and what
//!   it stores (and unpacks) is the entry of that platform; pushed to a
//!   registry, `skopeo inspect --raw` shows our index, and skopeo picks
//!   each entry by platform.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tempfile::TempDir;
use test_support::schemas::{self, Schema};
use test_support::servers::{containerd17_binaries, Containerd, Registry, Shared};
use test_support::{demo_module, require_tool, sha256sum, tar_entry};

static CONTAINERD16: Shared<Containerd> = Shared::new(Containerd::start);
static CONTAINERD17: Shared<Containerd> = Shared::new(start_containerd17);
static REGISTRY: Shared<Registry> = Shared::new(Registry::start);

fn start_containerd17() -> Containerd {
    let (containerd, ctr) = containerd17_binaries();
    Containerd::start_binaries(&containerd, &ctr)
}

const REPO: &str = "localhost:5000/compat";
const TAG: &str = "v1";

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[track_caller]
fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        stdout(output),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the builder with `args`; asserts it succeeds.
fn build(args: &[&str]) {
    let output = Command::new(test_support::builder_under_test(env!(
        "CARGO_BIN_EXE_oci-tar-builder"
    )))
    .arg("--quiet")
    .args(args)
    .env_remove("SOURCE_DATE_EPOCH")
    .output()
    .unwrap();
    assert_ok(&output, &format!("oci-tar-builder {args:?}"));
}

/// The manifest or index `skopeo inspect --raw` fetches from a plain-HTTP
/// registry for `reference` (`HOST/REPO:TAG` or `HOST/REPO@DIGEST`).
fn registry_raw(reference: &str) -> Vec<u8> {
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{reference}"),
    ]);
    assert_ok(&raw, &format!("skopeo inspect --raw docker://{reference}"));
    raw.stdout
}

fn skopeo(args: &[&str]) -> Output {
    Command::new(require_tool("skopeo", "the Debian package `skopeo`"))
        .args(args)
        .output()
        .unwrap()
}

/// A compat image of the demo module written as a tar and as a layout
/// directory, and what it holds.
struct Compat {
    _dir: TempDir,
    tar: PathBuf,
    layout: PathBuf,
    name: String,
    reference: String,
    wasm: Vec<u8>,
    manifest_digest: String,
    manifest: Vec<u8>,
    config: Vec<u8>,
    layer_digest: String,
    diff_id: String,
}

fn blob(tar: &[u8], digest: &Value) -> Vec<u8> {
    let hex = digest.as_str().unwrap().strip_prefix("sha256:").unwrap();
    tar_entry(tar, &format!("blobs/sha256/{hex}"))
}

fn compat(name: &str) -> Compat {
    let dir = tempfile::Builder::new()
        .prefix("interop-compat-")
        .tempdir()
        .unwrap();
    let wasm = std::fs::read(demo_module()).unwrap();
    let module = dir.path().join("app.wasm");
    std::fs::write(&module, &wasm).unwrap();
    let tar = dir.path().join("compat.tar");
    let layout = dir.path().join("layout");
    for out in [
        tar.display().to_string(),
        format!("oci:{}:{TAG}", layout.display()),
    ] {
        build(&[
            "--repo",
            REPO,
            "--name",
            name,
            "--tag",
            TAG,
            "--shape",
            "compat",
            "--module",
            module.to_str().unwrap(),
            "-o",
            &out,
        ]);
    }
    let bytes = std::fs::read(&tar).unwrap();
    let index = json(&tar_entry(&bytes, "index.json"));
    let manifest_digest = index["manifests"][0]["digest"].clone();
    let manifest = blob(&bytes, &manifest_digest);
    let manifest_json = json(&manifest);
    let config = blob(&bytes, &manifest_json["config"]["digest"]);
    let diff_id = json(&config)["rootfs"]["diff_ids"][0]
        .as_str()
        .unwrap()
        .to_owned();
    Compat {
        tar,
        layout,
        name: name.to_owned(),
        reference: format!("{REPO}/{name}:{TAG}"),
        wasm,
        manifest_digest: manifest_digest.as_str().unwrap().to_owned(),
        manifest,
        config,
        layer_digest: manifest_json["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .to_owned(),
        diff_id,
        _dir: dir,
    }
}

/// A temporary folder (named from `prefix`) holding the demo module as
/// `app.wasm`, and that file's path.
fn folder_with_demo_module(prefix: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
    let module = dir.path().join("app.wasm");
    std::fs::copy(demo_module(), &module).unwrap();
    (dir, module)
}

/// The file `name` in a committed overlayfs snapshot of `containerd`.
fn snapshot_files(containerd: &Containerd, name: &str) -> Vec<PathBuf> {
    let snapshots = containerd
        .dir()
        .join("root/io.containerd.snapshotter.v1.overlayfs/snapshots");
    std::fs::read_dir(&snapshots)
        .unwrap_or_else(|e| panic!("{}: {e}", snapshots.display()))
        .map(|entry| entry.unwrap().path().join("fs").join(name))
        .filter(|path| path.is_file())
        .collect()
}

#[track_caller]
fn assert_is_the_wasm(path: &Path, wasm: &[u8], what: &str) {
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o755, "{what}: mode of {}", path.display());
    assert!(
        std::fs::read(path).unwrap() == wasm,
        "{what}: {} is not the module",
        path.display()
    );
}

/// containerd imports and unpacks (no `--no-unpack`) the compat image; the
/// committed snapshot is named by its diff ID and holds the wasm file.
fn containerd_unpacks(containerd: &Containerd, version: &str, image: &Compat) {
    let namespace = format!("{}-{version}", image.name);
    let import = containerd.ctr(
        &namespace,
        [
            "images",
            "import",
            "--all-platforms",
            image.tar.to_str().unwrap(),
        ],
    );
    assert_ok(&import, &format!("containerd {version}: ctr images import"));
    let unpacked = format!(
        "unpacking {} ({})...done",
        image.reference, image.manifest_digest
    );
    assert!(
        stdout(&import).contains(&unpacked),
        "containerd {version} did not say {unpacked:?}: {}",
        stdout(&import)
    );
    let check = containerd.ctr(
        &namespace,
        ["images", "check", &format!("name=={}", image.reference)],
    );
    assert_ok(&check, "ctr images check");
    let row = stdout(&check);
    assert!(
        row.contains("complete (2/2)") && row.trim_end().ends_with("true"),
        "containerd {version}: {row}"
    );
    let snapshots = containerd.ctr(&namespace, ["snapshots", "ls"]);
    assert_ok(&snapshots, "ctr snapshots ls");
    assert!(
        stdout(&snapshots).contains(&image.diff_id),
        "containerd {version}: no snapshot {}: {}",
        image.diff_id,
        stdout(&snapshots)
    );
    let files = snapshot_files(containerd, &format!("{}.wasm", image.name));
    assert!(
        !files.is_empty(),
        "containerd {version}: no unpacked wasm file"
    );
    for file in files {
        assert_is_the_wasm(&file, &image.wasm, &format!("containerd {version}"));
    }
}

#[test]
fn compat_image_is_unpacked_by_containerd_1_6_and_1_7() {
    let image = compat("ctr-compat");
    containerd_unpacks(&CONTAINERD16.get(), "1.6", &image);
    containerd_unpacks(&CONTAINERD17.get(), "1.7", &image);
}

/// skopeo reads the tar both ways: as an OCI archive (our exact manifest
/// and config) and as a Docker archive, whose manifest.json is complete:
/// skopeo's view has our platform and the layer's diff ID.
#[test]
fn compat_image_is_read_by_skopeo_both_ways() {
    let image = compat("skopeo-compat");
    let archive = format!("oci-archive:{}", image.tar.display());
    let raw = skopeo(&["inspect", "--raw", &archive]);
    assert_ok(&raw, "skopeo inspect --raw oci-archive:");
    assert!(
        raw.stdout == image.manifest,
        "skopeo's manifest is not ours"
    );
    let config = skopeo(&["inspect", "--config", "--raw", &archive]);
    assert_ok(&config, "skopeo inspect --config --raw");
    assert!(config.stdout == image.config, "skopeo's config is not ours");
    let view = skopeo(&["inspect", &archive]);
    assert_ok(&view, "skopeo inspect oci-archive:");
    let view = json(&view.stdout);
    assert_eq!(view["Os"], "wasi");
    assert_eq!(view["Architecture"], "wasm");
    assert_eq!(view["Layers"], serde_json::json!([image.layer_digest]));

    for source in [
        format!("docker-archive:{}", image.tar.display()),
        format!("docker-archive:{}:{}", image.tar.display(), image.reference),
    ] {
        let view = skopeo(&["inspect", &source]);
        assert_ok(&view, &format!("skopeo inspect {source}"));
        let view = json(&view.stdout);
        assert_eq!(view["Os"], "wasi", "{source}");
        assert_eq!(view["Architecture"], "wasm", "{source}");
        // A Docker archive's layers are named by their diff IDs.
        assert_eq!(
            view["Layers"],
            serde_json::json!([image.diff_id]),
            "{source}"
        );
        let config = skopeo(&["inspect", "--config", "--raw", &source]);
        assert_ok(&config, &format!("skopeo inspect --config --raw {source}"));
        assert!(config.stdout == image.config, "{source}: config");
    }
}

/// podman loads the tar into its own storage and shows `wasi/wasm`.
#[test]
fn compat_image_is_loaded_by_podman() {
    let image = compat("podman-compat");
    let storage = tempfile::Builder::new()
        .prefix("podman-")
        .tempdir()
        .unwrap();
    let podman = |args: &[&str]| {
        Command::new(require_tool("podman", "the Debian package `podman`"))
            .arg("--root")
            .arg(storage.path().join("root"))
            .arg("--runroot")
            .arg(storage.path().join("run"))
            .args(["--storage-driver", "vfs"])
            .args(args)
            .output()
            .unwrap()
    };
    let load = podman(&["load", "-i", image.tar.to_str().unwrap()]);
    assert_ok(&load, "podman load");
    assert!(
        stdout(&load).contains(&format!("Loaded image: {}", image.reference)),
        "{}",
        stdout(&load)
    );
    let inspect = podman(&[
        "image",
        "inspect",
        &image.reference,
        "--format",
        "{{.Os}}/{{.Architecture}} {{.Digest}} {{json .Config.Entrypoint}}",
    ]);
    assert_ok(&inspect, "podman image inspect");
    assert_eq!(
        stdout(&inspect).trim(),
        format!(
            "wasi/wasm {} [\"/{}.wasm\"]",
            image.manifest_digest, image.name
        )
    );
}

/// umoci unpacks the layout directory's layer; the rootfs holds the wasm
/// file. `umoci unpack` itself refuses while making the bundle's runtime
/// `config.json` ("unsupported OS: wasi": it makes runtime specs for Linux
/// only), after the layer; `umoci raw unpack` unpacks the rootfs alone.
#[test]
fn compat_image_is_unpacked_by_umoci() {
    let image = compat("umoci-compat");
    let work = tempfile::Builder::new().prefix("umoci-").tempdir().unwrap();
    let umoci = |args: &[&str], to: &Path| {
        Command::new(require_tool("umoci", "the Debian package `umoci`"))
            .args(args)
            .arg("--image")
            .arg(format!("{}:{TAG}", image.layout.display()))
            .arg(to)
            .output()
            .unwrap()
    };
    let bundle = umoci(&["unpack", "--rootless"], &work.path().join("bundle"));
    assert!(
        !bundle.status.success()
            && String::from_utf8_lossy(&bundle.stderr).contains("unsupported OS: wasi"),
        "umoci unpack was expected to refuse the runtime config for os wasi: {}",
        String::from_utf8_lossy(&bundle.stderr)
    );
    let rootfs = work.path().join("rootfs");
    let unpack = umoci(&["raw", "unpack", "--rootless"], &rootfs);
    assert_ok(&unpack, "umoci raw unpack");
    let names: Vec<String> = std::fs::read_dir(&rootfs)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, [format!("{}.wasm", image.name)]);
    assert_is_the_wasm(
        &rootfs.join(format!("{}.wasm", image.name)),
        &image.wasm,
        "umoci",
    );
}

#[test]
fn compat_documents_pass_the_oci_schemas() {
    let image = compat("schemas-compat");
    let tar = std::fs::read(&image.tar).unwrap();
    schemas::assert_valid(Schema::Index, &tar_entry(&tar, "index.json"), "index.json");
    schemas::assert_valid(Schema::Manifest, &image.manifest, "manifest");
    schemas::assert_valid(Schema::ImageConfig, &image.config, "config");
    // The diff ID is the uncompressed layer's digest (by gzip and sha256sum).
    let layer = blob(&tar, &Value::from(image.layer_digest.clone()));
    let mut gunzip = Command::new(require_tool("gzip", "gzip"))
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = gunzip.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &layer));
    let uncompressed = gunzip.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(
        image.diff_id,
        format!("sha256:{}", sha256sum(&uncompressed.stdout))
    );
}

/// An index of the wasm-layer image and the compat image of the demo
/// module, as a tar: (tar, index bytes, wasm-layer manifest digest, compat
/// manifest digest, compat diff ID).
struct TwoShapes {
    _dir: TempDir,
    tar: PathBuf,
    module: PathBuf,
    index_digest: String,
    index: Vec<u8>,
    wasm_layers: String,
    compat: String,
    compat_layer: String,
    compat_diff_id: String,
}

fn two_shapes(repo: &str, name: &str) -> TwoShapes {
    let (dir, module) = folder_with_demo_module("interop-shapes-");
    let tar = dir.path().join("both.tar");
    build(&[
        "--repo",
        repo,
        "--name",
        name,
        "--tag",
        TAG,
        "--shape",
        "wasm-layers",
        "--shape",
        "compat",
        "--module",
        module.to_str().unwrap(),
        "-o",
        tar.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&tar).unwrap();
    let top = json(&tar_entry(&bytes, "index.json"));
    let index_digest = top["manifests"][0]["digest"].clone();
    let index = blob(&bytes, &index_digest);
    schemas::assert_valid(Schema::Index, &index, "the index of two shapes");
    schemas::assert_valid(
        Schema::Index,
        &tar_entry(&bytes, "index.json"),
        "index.json of two shapes",
    );
    let entries = json(&index)["manifests"].clone();
    let digest = |at: usize| entries[at]["digest"].as_str().unwrap().to_owned();
    assert_eq!(entries[0]["platform"]["os"], "wasip1");
    assert_eq!(entries[1]["platform"]["os"], "wasi");
    let compat_manifest = json(&blob(&bytes, &entries[1]["digest"]));
    let compat_config = json(&blob(&bytes, &compat_manifest["config"]["digest"]));
    TwoShapes {
        module,
        index_digest: index_digest.as_str().unwrap().to_owned(),
        index,
        wasm_layers: digest(0),
        compat: digest(1),
        compat_layer: compat_manifest["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .to_owned(),
        compat_diff_id: compat_config["rootfs"]["diff_ids"][0]
            .as_str()
            .unwrap()
            .to_owned(),
        tar,
        _dir: dir,
    }
}

/// containerd takes the entry of the platform asked for. containerd 1.6
/// cannot unpack raw wasm layers, so with `--platform wasip1/wasm` it
/// refuses to unpack ("mismatched image rootfs and manifest layers": it
/// took the wasm-layer image; the compat image unpacks), and with
/// `--platform wasi/wasm` it unpacks the compat layer (its snapshot is
/// named by the compat layer's diff ID). containerd 1.7 unpacks either:
/// only the `wasi/wasm` import makes the compat layer's snapshot.
#[test]
fn containerd_selects_each_entry_of_the_index_by_platform() {
    let image = two_shapes(REPO, "ctr-shapes");
    let reference = format!("{REPO}/ctr-shapes:{TAG}");
    let tar = image.tar.to_str().unwrap();
    let unpacked = format!("unpacking {reference} ({})...done", image.index_digest);

    let containerd16 = CONTAINERD16.get();
    let import = containerd16.ctr(
        "shapes-wasip1",
        ["images", "import", "--platform", "wasip1/wasm", tar],
    );
    assert!(
        !import.status.success()
            && String::from_utf8_lossy(&import.stderr)
                .contains("mismatched image rootfs and manifest layers"),
        "containerd 1.6 was expected to take the raw wasm image and refuse to unpack it: {}{}",
        stdout(&import),
        String::from_utf8_lossy(&import.stderr)
    );
    let import = containerd16.ctr(
        "shapes-wasi",
        ["images", "import", "--platform", "wasi/wasm", tar],
    );
    assert_ok(&import, "containerd 1.6: import --platform wasi/wasm");
    assert!(stdout(&import).contains(&unpacked), "{}", stdout(&import));
    let snapshots = containerd16.ctr("shapes-wasi", ["snapshots", "ls"]);
    assert!(
        stdout(&snapshots).contains(&image.compat_diff_id),
        "containerd 1.6: {}",
        stdout(&snapshots)
    );
    let content = containerd16.ctr("shapes-wasi", ["content", "get", &image.compat_layer]);
    assert_ok(
        &content,
        "containerd 1.6: ctr content get (the compat layer)",
    );

    let containerd17 = CONTAINERD17.get();
    for (platform, namespace, has_snapshot) in [
        ("wasip1/wasm", "shapes-wasip1", false),
        ("wasi/wasm", "shapes-wasi", true),
    ] {
        let import = containerd17.ctr(namespace, ["images", "import", "--platform", platform, tar]);
        assert_ok(
            &import,
            &format!("containerd 1.7: import --platform {platform}"),
        );
        assert!(stdout(&import).contains(&unpacked), "{}", stdout(&import));
        let images = containerd17.ctr(namespace, ["images", "ls"]);
        assert!(
            stdout(&images).contains(&image.index_digest)
                && stdout(&images).contains("wasi/wasm,wasip1/wasm"),
            "{}",
            stdout(&images)
        );
        let snapshots = containerd17.ctr(namespace, ["snapshots", "ls"]);
        assert_eq!(
            stdout(&snapshots).contains(&image.compat_diff_id),
            has_snapshot,
            "containerd 1.7, {platform}: {}",
            stdout(&snapshots)
        );
    }
}

/// Pushed by the builder itself, the index is in the registry under the
/// tag (skopeo's raw view is our index, byte for byte), and skopeo picks
/// each entry by platform.
#[test]
fn pushed_index_is_the_tag_and_each_platform_resolves() {
    let registry = REGISTRY.get();
    let repo = format!("{}/compat", registry.host());
    // The same index as a tar: the reference is in each manifest.
    let image = two_shapes(&repo, "push-shapes");
    let remote = format!("{repo}/push-shapes:{TAG}");
    build(&[
        "--repo",
        &repo,
        "--name",
        "push-shapes",
        "--shape",
        "wasm-layers",
        "--shape",
        "compat",
        "--module",
        image.module.to_str().unwrap(),
        "-o",
        &format!("docker://{remote}"),
    ]);
    let raw = registry_raw(&remote);
    assert!(
        raw == image.index,
        "the registry's index is not ours: {}",
        String::from_utf8_lossy(&raw)
    );
    // Each entry's manifest is in the repository under its digest.
    let repository = format!("{repo}/push-shapes");
    for digest in [&image.wasm_layers, &image.compat] {
        let raw = registry_raw(&format!("{repository}@{digest}"));
        assert_eq!(format!("sha256:{}", sha256sum(&raw)), *digest);
    }
    // skopeo's view of a platform is that entry's config and layers (its
    // `Digest` stays the index's).
    let wasm_digest = format!(
        "sha256:{}",
        sha256sum(&std::fs::read(&image.module).unwrap())
    );
    for (os, layer) in [("wasip1", &wasm_digest), ("wasi", &image.compat_layer)] {
        let view = skopeo(&[
            "--override-os",
            os,
            "--override-arch",
            "wasm",
            "inspect",
            "--tls-verify=false",
            &format!("docker://{remote}"),
        ]);
        assert_ok(&view, &format!("skopeo inspect --override-os {os}"));
        let view = json(&view.stdout);
        assert_eq!(view["Digest"], image.index_digest.as_str(), "{os}");
        assert_eq!(view["Os"], os);
        assert_eq!(view["Layers"], serde_json::json!([layer]), "{os}");
    }
}

/// An index with an existing image added as `linux/amd64` (a stand-in for
/// a buildx build: an image with a tar layer, from an `oci:` layout):
/// containerd 1.7 asked for `linux/amd64` takes and unpacks that entry.
#[test]
fn containerd_takes_an_added_platform() {
    let (dir, module) = folder_with_demo_module("interop-added-");
    let fallback = dir.path().join("fallback");
    build(&[
        "--name",
        "fallback",
        "--shape",
        "compat",
        "--platform",
        "linux/amd64",
        "--module",
        module.to_str().unwrap(),
        "-o",
        &format!("oci:{}:v1", fallback.display()),
    ]);
    let fallback_manifest = json(&std::fs::read(fallback.join("index.json")).unwrap())["manifests"]
        [0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let config_digest =
        json(&std::fs::read(fallback.join("blobs/sha256").join(&fallback_manifest[7..])).unwrap())
            ["config"]["digest"]
            .as_str()
            .unwrap()
            .to_owned();
    let diff_id =
        json(&std::fs::read(fallback.join("blobs/sha256").join(&config_digest[7..])).unwrap())
            ["rootfs"]["diff_ids"][0]
            .as_str()
            .unwrap()
            .to_owned();
    let tar = dir.path().join("three.tar");
    build(&[
        "--repo",
        REPO,
        "--name",
        "added",
        "--tag",
        TAG,
        "--shape",
        "wasm-layers",
        "--shape",
        "compat",
        "--add-image",
        &format!("oci:{}:v1", fallback.display()),
        "--module",
        module.to_str().unwrap(),
        "-o",
        tar.to_str().unwrap(),
    ]);
    let containerd17 = CONTAINERD17.get();
    let import = containerd17.ctr(
        "added-linux",
        [
            "images",
            "import",
            "--platform",
            "linux/amd64",
            tar.to_str().unwrap(),
        ],
    );
    assert_ok(&import, "containerd 1.7: import --platform linux/amd64");
    assert!(stdout(&import).contains("...done"), "{}", stdout(&import));
    let snapshots = containerd17.ctr("added-linux", ["snapshots", "ls"]);
    assert!(
        stdout(&snapshots).contains(&diff_id),
        "containerd 1.7 did not unpack the linux/amd64 entry: {}",
        stdout(&snapshots)
    );
    let images = containerd17.ctr("added-linux", ["images", "ls"]);
    assert!(
        stdout(&images).contains("linux/amd64,wasi/wasm,wasip1/wasm"),
        "{}",
        stdout(&images)
    );
}

/// `-f images.toml -o docker://`: each image of the build file is pushed
/// to its own reference; what the registry serves is what a tar of the
/// same build file holds.
#[test]
fn a_build_file_pushes_each_image_to_its_reference() {
    let registry = REGISTRY.get();
    let (dir, _) = folder_with_demo_module("interop-bundle-");
    let repo = format!("{}/bundle", registry.host());
    std::fs::write(
        dir.path().join("images.toml"),
        format!(
            "[[image]]\nname = \"both\"\nrepo = \"{repo}\"\ntag = \"v1\"\n\
             shapes = [\"wasm-layers\", \"compat\"]\nmodules = [\"app.wasm\"]\n\n\
             [[image]]\nname = \"compat\"\nrepo = \"{repo}\"\ntag = \"v1\"\n\
             shapes = [\"compat\"]\nmodules = [\"app.wasm\"]\n"
        ),
    )
    .unwrap();
    let file = dir.path().join("images.toml");
    let tar = dir.path().join("bundle.tar");
    build(&["-f", file.to_str().unwrap(), "-o", tar.to_str().unwrap()]);
    build(&["-f", file.to_str().unwrap(), "-o", "docker://"]);
    let bytes = std::fs::read(&tar).unwrap();
    let entries = json(&tar_entry(&bytes, "index.json"))["manifests"].clone();
    for (at, name) in ["both", "compat"].iter().enumerate() {
        let raw = registry_raw(&format!("{repo}/{name}:v1"));
        assert!(
            raw == blob(&bytes, &entries[at]["digest"]),
            "{name}: the registry's document is not the tar's: {}",
            String::from_utf8_lossy(&raw)
        );
    }
}
