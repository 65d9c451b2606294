//! Interoperability: every kind of tar the command writes goes through the
//! real programs users feed it to, started here by the tests themselves:
//!
//! - containerd 1.6 (Debian bookworm) on its own socket: `ctr images import
//!   --all-platforms --no-unpack` names the image from `index.json`, keeps our
//!   manifest digest, `ctr images check` finds it complete, and its content
//!   store holds our exact blobs;
//! - containerd 1.7 (Debian trixie, unpacked by scripts/install-test-deps.sh):
//!   imports and unpacks without `--no-unpack`, as runwasi users do (except
//!   an artifact that carries a tar layer: that refusal is pinned, see
//!   [`containerd17_imports`]);
//! - skopeo on the archive: `oci-archive:` gives back our exact manifest and
//!   config; `docker-archive:` reads our `manifest.json` and refuses loudly
//!   (see [`skopeo_reads_the_archive`]);
//! - a distribution registry on 127.0.0.1: pushed with skopeo, the manifest
//!   keeps our digest, and pulled back into an `oci:` folder every blob is
//!   the same;
//! - the OCI image-spec v1.1.1 JSON schemas, and our wasm config schema.
//!
//! The matrix ([`MATRIX`]): {wasm-layer image, CNCF artifact} × {core
//! module, component} × {one wasm, several wasm (image only: the artifact
//! refuses them, pinned by `artifact_refuses_several_wasm_files`), an extra
//! tar layer}. It runs as one test holding one containerd of each version and
//! one registry (see `test_support::servers`); each case uses its own image
//! name and containerd namespace, a few cases run at once, and each case runs
//! its consumers in parallel threads.
//!
//! Two deliberately broken tars show the suite notices breakage.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use oci_digest::digest_bytes;
use serde_json::Value;
use tempfile::TempDir;
use test_support::schemas::{self, Schema};
use test_support::servers::{containerd17_binaries, http_request, Containerd, Registry, Shared};
use test_support::{
    demo_component, demo_module, require_tool, tar_entries, tiny_module, wat_module,
};

const TAR_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// The repository part of every test image's reference (a registry with a
/// port, so the tag-only `org.opencontainers.image.ref.name` is exercised).
const REPO: &str = "localhost:5000/interop";
const TAG: &str = "v1";

static CONTAINERD16: Shared<Containerd> = Shared::new(Containerd::start);
static CONTAINERD17: Shared<Containerd> = Shared::new(start_containerd17);
static REGISTRY: Shared<Registry> = Shared::new(Registry::start);

fn start_containerd17() -> Containerd {
    let (containerd, ctr) = containerd17_binaries();
    Containerd::start_binaries(&containerd, &ctr)
}

// ---------------------------------------------------------------- fixtures

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Shape {
    Image,
    Artifact,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Module,
    Component,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    OneWasm,
    SeveralWasm,
    ExtraTarLayer,
}

/// A tiny component (component-model binary) that differs by `seed`.
fn tiny_component(seed: u32) -> Vec<u8> {
    wat_module(&format!(
        r#"(component (core module (global (export "seed") i32 (i32.const {seed}))))"#
    ))
}

/// A small real tar: one file, fixed header fields.
fn small_tar(text: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(text.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, "etc/hello.txt", text.as_bytes())
        .unwrap();
    builder.into_inner().unwrap()
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// One layer of the manifest, with its blob.
#[derive(Debug)]
struct Layer {
    media_type: String,
    digest: String,
    bytes: Vec<u8>,
}

impl Layer {
    fn is_tar(&self) -> bool {
        self.media_type.starts_with(TAR_LAYER)
    }
}

/// A tar the command wrote, and what it holds.
struct Built {
    case: String,
    shape: Shape,
    _dir: TempDir,
    tar: PathBuf,
    /// The full reference, as given on the command line.
    reference: String,
    /// The inputs, in the order given: wasm files, then the extra tar layer.
    inputs: Vec<Vec<u8>>,
    index: Vec<u8>,
    layout: Vec<u8>,
    docker_manifest: Vec<u8>,
    manifest_digest: String,
    manifest: Vec<u8>,
    config_media_type: String,
    config_digest: String,
    config: Vec<u8>,
    layers: Vec<Layer>,
    /// `os/architecture` from the index's platform, as ctr prints it.
    platform: String,
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

fn text(value: &Value) -> String {
    value.as_str().unwrap().to_owned()
}

/// Runs the command on the fixtures of one matrix case and reads the tar.
fn build(shape: Shape, kind: Kind, variant: Variant) -> Built {
    let case = format!(
        "{}-{}-{}",
        match shape {
            Shape::Image => "image",
            Shape::Artifact => "artifact",
        },
        match kind {
            Kind::Module => "module",
            Kind::Component => "component",
        },
        match variant {
            Variant::OneWasm => "one",
            Variant::SeveralWasm => "several",
            Variant::ExtraTarLayer => "tar",
        }
    );
    let mut wasm = vec![read(match kind {
        Kind::Module => demo_module(),
        Kind::Component => demo_component(),
    })];
    if variant == Variant::SeveralWasm {
        for seed in 1..=2 {
            wasm.push(match kind {
                Kind::Module => tiny_module(seed),
                Kind::Component => tiny_component(seed),
            });
        }
    }
    let extra = (variant == Variant::ExtraTarLayer).then(|| small_tar(&case));
    build_from(&case, shape, &wasm, extra.as_deref())
}

fn build_from(case: &str, shape: Shape, wasm: &[Vec<u8>], extra_tar: Option<&[u8]>) -> Built {
    let dir = tempfile::Builder::new()
        .prefix("interop-")
        .tempdir()
        .unwrap();
    let tar = dir.path().join(format!("{case}.tar"));
    let mut command = Command::new(test_support::builder_under_test(env!(
        "CARGO_BIN_EXE_oci-tar-builder"
    )));
    command
        .args(["--quiet", "--repo", REPO, "--name", case, "--tag", TAG])
        .args([
            "--annotation",
            "org.opencontainers.image.title=interop test",
        ])
        .arg("--out-path")
        .arg(&tar);
    if shape == Shape::Artifact {
        command.arg("--as-artifact");
    }
    let mut inputs = Vec::new();
    for (i, bytes) in wasm.iter().enumerate() {
        let path = dir.path().join(format!("app{i}.wasm"));
        std::fs::write(&path, bytes).unwrap();
        command.arg("--module").arg(path);
        inputs.push(bytes.clone());
    }
    if let Some(bytes) = extra_tar {
        let path = dir.path().join("layer.tar");
        std::fs::write(&path, bytes).unwrap();
        command
            .arg("--layer")
            .arg(format!("{TAR_LAYER}={}", path.display()));
        inputs.push(bytes.to_vec());
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "oci-tar-builder failed for {case}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    read_built(case, shape, dir, tar, inputs)
}

fn read_built(case: &str, shape: Shape, dir: TempDir, tar: PathBuf, inputs: Vec<Vec<u8>>) -> Built {
    let entries: BTreeMap<String, Vec<u8>> = tar_entries(&read(&tar)).into_iter().collect();
    let blob = |digest: &str| {
        let name = format!("blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap());
        entries
            .get(&name)
            .unwrap_or_else(|| panic!("{case}: no {name} in the tar"))
            .clone()
    };
    let index = entries["index.json"].clone();
    let descriptor = json(&index)["manifests"][0].clone();
    let manifest_digest = text(&descriptor["digest"]);
    // The names containerd and OCI layout readers take; the consumers below
    // look the image up by them.
    let reference = format!("{REPO}/{case}:{TAG}");
    let annotations = &descriptor["annotations"];
    assert_eq!(
        annotations["io.containerd.image.name"],
        reference.as_str(),
        "{case}"
    );
    assert_eq!(
        annotations["org.opencontainers.image.ref.name"], TAG,
        "{case}"
    );
    let manifest = blob(&manifest_digest);
    let manifest_json = json(&manifest);
    let config_digest = text(&manifest_json["config"]["digest"]);
    let layers: Vec<Layer> = manifest_json["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| Layer {
            media_type: text(&layer["mediaType"]),
            digest: text(&layer["digest"]),
            bytes: blob(&text(&layer["digest"])),
        })
        .collect();
    // The layers are the inputs, byte for byte and in order.
    assert_eq!(layers.len(), inputs.len(), "{case}: one layer per input");
    for (layer, input) in layers.iter().zip(&inputs) {
        assert_eq!(layer.digest, digest_bytes(input).to_string(), "{case}");
        assert!(
            &layer.bytes == input,
            "{case}: layer {} differs",
            layer.digest
        );
    }
    Built {
        case: case.to_owned(),
        shape,
        reference,
        platform: format!(
            "{}/{}",
            text(&descriptor["platform"]["os"]),
            text(&descriptor["platform"]["architecture"])
        ),
        config_media_type: text(&manifest_json["config"]["mediaType"]),
        config: blob(&config_digest),
        config_digest,
        layout: entries["oci-layout"].clone(),
        docker_manifest: entries["manifest.json"].clone(),
        index,
        manifest_digest,
        manifest,
        layers,
        inputs,
        tar,
        _dir: dir,
    }
}

// ------------------------------------------------------------- consumers

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

fn skopeo(args: &[&str]) -> Output {
    Command::new(require_tool("skopeo", "the Debian package `skopeo`"))
        .args(args)
        .output()
        .unwrap()
}

/// The line of a `ctr images ls`/`check` table that starts with `reference`.
fn ctr_row(table: &str, reference: &str) -> Option<String> {
    table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(reference))
        .map(str::to_owned)
}

/// `complete (n/n)` in a `ctr images check` row, with the counts equal.
fn is_complete(row: &str) -> bool {
    row.split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|pair| {
            pair[0] == "complete"
                && pair[1]
                    .trim_matches(|c| c == '(' || c == ')')
                    .split_once('/')
                    .is_some_and(|(have, want)| have == want)
        })
}

/// The schemas: every JSON document we wrote validates.
fn schemas_accept(built: &Built) {
    let case = &built.case;
    schemas::assert_valid(
        Schema::Layout,
        &built.layout,
        &format!("{case}: oci-layout"),
    );
    schemas::assert_valid(Schema::Index, &built.index, &format!("{case}: index.json"));
    schemas::assert_valid(
        Schema::Manifest,
        &built.manifest,
        &format!("{case}: manifest"),
    );
    let schema = Schema::for_config(&built.config_media_type)
        .unwrap_or_else(|| panic!("{case}: no schema for {}", built.config_media_type));
    let expected = match built.shape {
        Shape::Image => Schema::ImageConfig,
        Shape::Artifact => Schema::WasmConfig,
    };
    assert_eq!(schema, expected, "{case}: config media type");
    schemas::assert_valid(schema, &built.config, &format!("{case}: config"));
}

/// containerd 1.6 imports the tar as is (`--no-unpack`: it cannot unpack raw
/// wasm layers), under our name and digest, complete, with our exact blobs.
fn containerd16_imports(built: &Built) {
    let containerd = CONTAINERD16.get();
    let (case, reference) = (&built.case, &built.reference);
    let tar = built.tar.to_str().unwrap();
    let import = containerd.ctr(
        case,
        ["images", "import", "--all-platforms", "--no-unpack", tar],
    );
    assert_ok(
        &import,
        &format!("{case}: containerd 1.6 ctr images import"),
    );

    let list = containerd.ctr(case, ["images", "ls"]);
    assert_ok(&list, "ctr images ls");
    let row = ctr_row(&stdout(&list), reference).unwrap_or_else(|| {
        panic!(
            "{case}: {reference} not in `ctr images ls`:\n{}",
            stdout(&list)
        )
    });
    let words: Vec<&str> = row.split_whitespace().collect();
    assert!(
        words.contains(&built.manifest_digest.as_str()),
        "{case}: digest in {row}"
    );
    // ctr reads the platform from an image config; an artifact's it cannot.
    assert!(
        built.shape == Shape::Artifact || words.contains(&built.platform.as_str()),
        "{case}: platform {} in {row}",
        built.platform
    );

    let check = containerd.ctr(case, ["images", "check", &format!("name=={reference}")]);
    assert_ok(&check, "ctr images check");
    let row =
        ctr_row(&stdout(&check), reference).unwrap_or_else(|| panic!("{case}: {}", stdout(&check)));
    assert!(is_complete(&row), "{case}: `ctr images check` says {row}");

    let mut expected = vec![
        (built.manifest_digest.clone(), built.manifest.clone()),
        (built.config_digest.clone(), built.config.clone()),
    ];
    expected.extend(
        built
            .layers
            .iter()
            .map(|l| (l.digest.clone(), l.bytes.clone())),
    );
    for (digest, bytes) in expected {
        let content = containerd.ctr(case, ["content", "get", &digest]);
        assert_ok(&content, &format!("{case}: ctr content get {digest}"));
        assert!(
            content.stdout == bytes,
            "{case}: containerd's {digest} differs from ours"
        );
    }
    // The wasm layers are the input files themselves.
    for (layer, input) in built.layers.iter().zip(&built.inputs) {
        let content = containerd.ctr(case, ["content", "get", &layer.digest]);
        assert!(
            &content.stdout == input,
            "{case}: containerd's {} is not the input",
            layer.digest
        );
    }
}

/// containerd 1.7 imports and unpacks (no `--no-unpack`) what runwasi runs;
/// a tar layer in a wasm-layer image is unpacked into a snapshot.
///
/// An artifact with an extra tar layer is the exception, pinned here: its
/// wasm config has no `rootfs.diff_ids` for the tar layer, so containerd
/// refuses to unpack it ("mismatched image rootfs and manifest layers").
fn containerd17_imports(built: &Built) {
    let containerd = CONTAINERD17.get();
    let (case, reference) = (&built.case, &built.reference);
    let tar = built.tar.to_str().unwrap();
    let import = containerd.ctr(case, ["images", "import", "--all-platforms", tar]);
    let has_tar_layer = built.layers.iter().any(Layer::is_tar);
    if built.shape == Shape::Artifact && has_tar_layer {
        assert!(
            !import.status.success()
                && stderr(&import).contains("mismatched image rootfs and manifest layers"),
            "{case}: containerd 1.7 was expected to refuse to unpack an artifact with a tar layer:\n{}{}",
            stdout(&import),
            stderr(&import)
        );
        return;
    }
    assert_ok(
        &import,
        &format!("{case}: containerd 1.7 ctr images import (unpacking)"),
    );
    let unpacked = format!("unpacking {reference} ({})...done", built.manifest_digest);
    assert!(
        stdout(&import).contains(&unpacked),
        "{case}: containerd 1.7 did not say {unpacked:?}:\n{}",
        stdout(&import)
    );
    let check = containerd.ctr(case, ["images", "check", &format!("name=={reference}")]);
    assert_ok(&check, "ctr images check");
    let row =
        ctr_row(&stdout(&check), reference).unwrap_or_else(|| panic!("{case}: {}", stdout(&check)));
    assert!(is_complete(&row), "{case}: `ctr images check` says {row}");
    assert!(
        row.contains(&built.manifest_digest),
        "{case}: digest in {row}"
    );
    if has_tar_layer {
        assert_eq!(
            row.split_whitespace().last(),
            Some("true"),
            "{case}: the tar layer was not unpacked: {row}"
        );
    }
    for layer in &built.layers {
        let content = containerd.ctr(case, ["content", "get", &layer.digest]);
        assert!(
            content.stdout == layer.bytes,
            "{case}: containerd 1.7's {} differs",
            layer.digest
        );
    }
}

/// skopeo reads the archive two ways.
///
/// `oci-archive:` gives back our exact manifest and config, also when the
/// image is selected by its `org.opencontainers.image.ref.name` (the tag),
/// and its image view has our digest, layers and platform (an artifact it
/// declines to view as an image, naming its config type).
///
/// `docker-archive:` reads our `manifest.json` and then refuses, loudly, the
/// way `docs/formats.md#docker-compatibility` says it must: skopeo wants as
/// many `Layers` as the config has `rootfs.diff_ids`, containerd wants the
/// diff_ids to leave raw wasm out, and every image we write has a raw wasm
/// layer, so no manifest.json could satisfy both; an artifact's config has
/// no rootfs at all. What it can read, it agrees with: it finds the image by
/// our `RepoTags` (another tag is "not found") and counts exactly our layers
/// and our tar layers, or names our config blob.
fn skopeo_reads_the_archive(built: &Built) {
    let case = &built.case;
    let archive = format!("oci-archive:{}", built.tar.display());
    let raw = skopeo(&["inspect", "--raw", &archive]);
    assert_ok(&raw, &format!("{case}: skopeo inspect --raw {archive}"));
    assert!(
        raw.stdout == built.manifest,
        "{case}: skopeo's manifest is not ours:\n{}",
        stdout(&raw)
    );
    let by_tag = skopeo(&["inspect", "--raw", &format!("{archive}:{TAG}")]);
    assert_ok(
        &by_tag,
        &format!("{case}: skopeo inspect --raw {archive}:{TAG}"),
    );
    assert!(
        by_tag.stdout == built.manifest,
        "{case}: skopeo's manifest by tag is not ours"
    );
    let config = skopeo(&["inspect", "--config", "--raw", &archive]);
    assert_ok(&config, &format!("{case}: skopeo inspect --config --raw"));
    assert!(
        config.stdout == built.config,
        "{case}: skopeo's config is not ours"
    );

    // skopeo's image view: our digest, layers and platform for an image; an
    // artifact it recognises by its config type and will not treat as one.
    let inspect = skopeo(&["inspect", &archive]);
    match built.shape {
        Shape::Image => {
            assert_ok(&inspect, &format!("{case}: skopeo inspect {archive}"));
            let view = json(&inspect.stdout);
            assert_eq!(view["Digest"], built.manifest_digest.as_str(), "{case}");
            let layers: Vec<&str> = built.layers.iter().map(|l| l.digest.as_str()).collect();
            assert_eq!(view["Layers"], serde_json::json!(layers), "{case}");
            let platform = format!("{}/{}", text(&view["Os"]), text(&view["Architecture"]));
            assert_eq!(platform, built.platform, "{case}: config vs index platform");
        }
        Shape::Artifact => assert!(
            !inspect.status.success()
                && stderr(&inspect).contains(&format!(
                    "unsupported image-specific operation on artifact with type \\\"{}\\\"",
                    built.config_media_type
                )),
            "{case}: skopeo inspect {archive}: {}",
            stderr(&inspect)
        ),
    }

    let docker_manifest = json(&built.docker_manifest);
    assert_eq!(
        docker_manifest[0]["RepoTags"][0],
        built.reference.as_str(),
        "{case}"
    );
    let docker_archive = format!("docker-archive:{}", built.tar.display());
    let expected_refusal = match built.shape {
        Shape::Image => format!(
            "Inconsistent layer count: {} in manifest, {} in config",
            built.layers.len(),
            built.layers.iter().filter(|l| l.is_tar()).count()
        ),
        Shape::Artifact => format!(
            "Invalid image config (rootFS is not set): blobs/sha256/{}",
            built.config_digest.strip_prefix("sha256:").unwrap()
        ),
    };
    for source in [
        docker_archive.clone(),
        format!("{docker_archive}:{}", built.reference),
    ] {
        let inspect = skopeo(&["inspect", &source]);
        assert!(
            !inspect.status.success() && stderr(&inspect).contains(&expected_refusal),
            "{case}: skopeo inspect {source} was expected to refuse with {expected_refusal:?}:\n{}{}",
            stdout(&inspect),
            stderr(&inspect)
        );
    }
    let other_tag = format!("{REPO}/{case}:not-{TAG}");
    let inspect = skopeo(&["inspect", &format!("{docker_archive}:{other_tag}")]);
    assert!(
        !inspect.status.success()
            && stderr(&inspect).contains(&format!("Tag \\\"{other_tag}\\\" not found")),
        "{case}: skopeo found a tag that is not in RepoTags:\n{}",
        stderr(&inspect)
    );
}

/// A registry: skopeo pushes the archive, the registry serves our manifest
/// under our digest, and pulled back into an `oci:` folder every blob is ours.
fn registry_round_trip(built: &Built) {
    let registry = REGISTRY.get();
    let case = &built.case;
    let repository = format!("interop/{case}");
    let remote = format!("docker://{}/{repository}:{TAG}", registry.host());
    let push = skopeo(&[
        "--insecure-policy",
        "copy",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &format!("oci-archive:{}", built.tar.display()),
        &remote,
    ]);
    assert_ok(&push, &format!("{case}: skopeo copy to {remote}"));

    let (status, response) = http_request(
        registry.port(),
        "GET",
        &format!("/v2/{repository}/manifests/{TAG}"),
        &[("Accept", "application/vnd.oci.image.manifest.v1+json")],
    )
    .unwrap_or_else(|| panic!("{case}: no answer from the registry"));
    assert_eq!(status, 200, "{case}: {response}");
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let digest_header = head
        .lines()
        .find_map(|line| line.strip_prefix("Docker-Content-Digest: "))
        .unwrap_or_else(|| panic!("{case}: no Docker-Content-Digest in {head}"));
    assert_eq!(
        digest_header, built.manifest_digest,
        "{case}: the registry's digest"
    );
    assert!(
        body.as_bytes() == built.manifest.as_slice(),
        "{case}: the registry's manifest differs"
    );

    let pulled = tempfile::Builder::new()
        .prefix("pulled-")
        .tempdir()
        .unwrap();
    let destination = format!("oci:{}:{TAG}", pulled.path().display());
    let pull = skopeo(&[
        "--insecure-policy",
        "copy",
        "--preserve-digests",
        "--src-tls-verify=false",
        &remote,
        &destination,
    ]);
    assert_ok(
        &pull,
        &format!("{case}: skopeo copy {remote} {destination}"),
    );
    let index = json(&read(&pulled.path().join("index.json")));
    assert_eq!(
        index["manifests"][0]["digest"],
        built.manifest_digest.as_str(),
        "{case}"
    );
    let blob = |digest: &str| {
        read(
            &pulled
                .path()
                .join("blobs/sha256")
                .join(digest.strip_prefix("sha256:").unwrap()),
        )
    };
    assert!(
        blob(&built.manifest_digest) == built.manifest,
        "{case}: pulled manifest"
    );
    assert!(
        blob(&built.config_digest) == built.config,
        "{case}: pulled config"
    );
    for (layer, input) in built.layers.iter().zip(&built.inputs) {
        assert!(
            &blob(&layer.digest) == input,
            "{case}: pulled {} is not the input",
            layer.digest
        );
    }
}

/// Every consumer, each on its own thread (they share nothing but servers).
fn through_every_consumer(built: &Built) {
    type Consumer = (&'static str, fn(&Built));
    let consumers: [Consumer; 5] = [
        ("schemas", schemas_accept),
        ("containerd-1.6", containerd16_imports),
        ("containerd-1.7", containerd17_imports),
        ("skopeo", skopeo_reads_the_archive),
        ("registry", registry_round_trip),
    ];
    let failed: Vec<&str> = std::thread::scope(|scope| {
        let threads: Vec<_> = consumers
            .iter()
            .map(|&(name, check)| {
                let thread = std::thread::Builder::new()
                    .name(format!("{}: {name}", built.case))
                    .spawn_scoped(scope, move || check(built))
                    .unwrap();
                (name, thread)
            })
            .collect();
        threads
            .into_iter()
            .filter_map(|(name, thread)| thread.join().is_err().then_some(name))
            .collect()
    });
    assert!(
        failed.is_empty(),
        "{}: failed for {failed:?} (their panics are above)",
        built.case
    );
}

// ------------------------------------------------------------ the matrix

/// Every combination the command accepts (see the module doc).
const MATRIX: [(Shape, Kind, Variant); 10] = [
    (Shape::Image, Kind::Module, Variant::OneWasm),
    (Shape::Image, Kind::Module, Variant::SeveralWasm),
    (Shape::Image, Kind::Module, Variant::ExtraTarLayer),
    (Shape::Image, Kind::Component, Variant::OneWasm),
    (Shape::Image, Kind::Component, Variant::SeveralWasm),
    (Shape::Image, Kind::Component, Variant::ExtraTarLayer),
    (Shape::Artifact, Kind::Module, Variant::OneWasm),
    (Shape::Artifact, Kind::Module, Variant::ExtraTarLayer),
    (Shape::Artifact, Kind::Component, Variant::OneWasm),
    (Shape::Artifact, Kind::Component, Variant::ExtraTarLayer),
];

/// How many cases run at once (each runs its five consumers in parallel).
const PARALLEL_CASES: usize = 3;

/// The whole matrix through every consumer, in one test so that it holds one
/// containerd of each version and one registry from start to end. A failing
/// case does not stop the others; the test fails naming every failed case
/// and consumer (with their panics above).
#[test]
fn matrix_through_every_consumer() {
    let _servers = (CONTAINERD16.get(), CONTAINERD17.get(), REGISTRY.get());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL_CASES {
            scope.spawn(|| {
                while let Some(&(shape, kind, variant)) =
                    MATRIX.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    let case =
                        AssertUnwindSafe(|| through_every_consumer(&build(shape, kind, variant)));
                    if let Err(panic) = std::panic::catch_unwind(case) {
                        let message = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .unwrap_or_else(|| format!("{shape:?} {kind:?} {variant:?}"));
                        failures.lock().unwrap().push(message);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        MATRIX.len(),
        failures.join("\n")
    );
}

/// The one combination the command does not accept: an artifact carries one
/// wasm (the wg-wasm guide's entrypoint layer), so several are a usage error.
#[test]
fn artifact_refuses_several_wasm_files() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("several.tar");
    let mut command = Command::new(test_support::builder_under_test(env!(
        "CARGO_BIN_EXE_oci-tar-builder"
    )));
    command
        .args(["--name", "several", "--as-artifact", "--out-path"])
        .arg(&out);
    for seed in 1..=2 {
        let path = dir.path().join(format!("m{seed}.wasm"));
        std::fs::write(&path, tiny_module(seed)).unwrap();
        command.arg("--module").arg(path);
    }
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains('2'),
        "the error names the count: {}",
        stderr(&output)
    );
    assert!(!out.exists(), "no tar is left behind");
}

// ------------------------------------------------- broken tars are noticed

/// Rewrites the tar at `from` into `to`, passing each entry through `edit`.
fn rewrite_tar(from: &Path, to: &Path, edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in tar_entries(&read(from)) {
        let bytes = edit(&name, bytes);
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, &name, bytes.as_slice())
            .unwrap();
    }
    std::fs::write(to, builder.into_inner().unwrap()).unwrap();
}

/// A wasm nobody else in this binary pushes: the servers are shared, and a
/// blob containerd or the registry already holds would not be read again.
fn unique_wasm(seed: u32) -> Vec<u8> {
    tiny_module(0x40c0_0000 + seed)
}

/// An index.json whose manifest digest names no blob in the tar (a wrong
/// digest): containerd refuses to import it, and skopeo cannot read it.
#[test]
fn broken_index_digest_is_refused_by_containerd_and_skopeo() {
    let good = build_from("broken-index", Shape::Image, &[unique_wasm(1)], None);
    let wrong = digest_bytes(b"not the manifest").to_string();
    let broken = good.tar.with_file_name("broken.tar");
    rewrite_tar(&good.tar, &broken, |name, bytes| {
        if name == "index.json" {
            String::from_utf8(bytes)
                .unwrap()
                .replace(&good.manifest_digest, &wrong)
                .into_bytes()
        } else {
            bytes
        }
    });

    let containerd = CONTAINERD16.get();
    let import = containerd.ctr(
        "broken-index",
        [
            "images",
            "import",
            "--all-platforms",
            "--no-unpack",
            broken.to_str().unwrap(),
        ],
    );
    assert!(
        !import.status.success(),
        "containerd imported a tar whose index.json names a missing manifest:\n{}",
        stdout(&import)
    );
    assert!(
        stderr(&import).contains(&wrong) || stderr(&import).contains("not found"),
        "{}",
        stderr(&import)
    );

    let inspect = skopeo(&[
        "inspect",
        "--raw",
        &format!("oci-archive:{}", broken.display()),
    ]);
    assert!(
        !inspect.status.success(),
        "skopeo read a manifest that is not in the tar"
    );
    // The good tar passes the same checks: the failure is the broken digest.
    containerd16_imports(&good);
}

/// A wasm blob with one byte flipped (its name no longer its digest):
/// containerd's import leaves the image incomplete and the bad blob out of its
/// store, and the registry refuses the upload.
#[test]
fn flipped_blob_byte_is_caught_by_containerd_and_the_registry() {
    let good = build_from("broken-blob", Shape::Image, &[unique_wasm(2)], None);
    let wasm = &good.layers[0];
    let wasm_entry = format!(
        "blobs/sha256/{}",
        wasm.digest.strip_prefix("sha256:").unwrap()
    );
    let broken = good.tar.with_file_name("broken.tar");
    rewrite_tar(&good.tar, &broken, |name, mut bytes| {
        if name == wasm_entry {
            *bytes.last_mut().unwrap() ^= 1;
        }
        bytes
    });

    let containerd = CONTAINERD16.get();
    let namespace = "broken-blob";
    let import = containerd.ctr(
        namespace,
        [
            "images",
            "import",
            "--all-platforms",
            "--no-unpack",
            broken.to_str().unwrap(),
        ],
    );
    // ctr 1.6 reports success here; the breakage shows in what it stored.
    let check = containerd.ctr(
        namespace,
        ["images", "check", &format!("name=={}", good.reference)],
    );
    let row = ctr_row(&stdout(&check), &good.reference);
    let complete = row.as_deref().is_some_and(is_complete);
    let content = containerd.ctr(namespace, ["content", "get", &wasm.digest]);
    assert!(
        !import.status.success() || (!complete && !content.status.success()),
        "containerd took a blob that does not match its digest: import {}, check {row:?}, content get {}",
        import.status,
        content.status
    );

    let registry = REGISTRY.get();
    let push = skopeo(&[
        "--insecure-policy",
        "copy",
        "--dest-tls-verify=false",
        &format!("oci-archive:{}", broken.display()),
        &format!("docker://{}/interop/broken-blob:{TAG}", registry.host()),
    ]);
    assert!(
        !push.status.success(),
        "the registry accepted a blob that does not match its digest"
    );
    assert!(
        stderr(&push).contains("Digest did not match"),
        "{}",
        stderr(&push)
    );
}

// ------------------------------------------------ the checks can fail too

/// The schemas are not vacuous: documents that break the spec are refused.
#[test]
fn schemas_refuse_documents_that_break_the_spec() {
    let digest = digest_bytes(b"x").to_string();
    let bad_documents: [(Schema, String); 6] = [
        (Schema::Layout, r#"{"imageLayoutVersion":"2.0.0"}"#.into()),
        (
            Schema::Index,
            r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"not-a-digest","size":1}]}"#.into(),
        ),
        (
            Schema::Manifest,
            format!(r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{digest}","size":-1}},"layers":[]}}"#),
        ),
        (Schema::ImageConfig, r#"{"architecture":"wasm"}"#.into()),
        (
            Schema::WasmConfig,
            format!(r#"{{"created":"yesterday","architecture":"wasm","os":"wasip1","layerDigests":["{digest}"]}}"#),
        ),
        (
            // A component (wasip2) must describe its world.
            Schema::WasmConfig,
            format!(r#"{{"created":"1970-01-01T00:00:00Z","architecture":"wasm","os":"wasip2","layerDigests":["{digest}"],"component":null}}"#),
        ),
    ];
    for (schema, document) in bad_documents {
        assert!(
            !schemas::violations(schema, document.as_bytes()).is_empty(),
            "the {schema:?} schema accepted {document}"
        );
    }
    let good_wasm_config = format!(
        r#"{{"architecture":"wasm","author":null,"component":{{"exports":["wasi:cli/run@0.2.0"],"imports":[],"target":null}},"created":"1970-01-01T00:00:00Z","layerDigests":["{digest}"],"os":"wasip2"}}"#
    );
    schemas::assert_valid(
        Schema::WasmConfig,
        good_wasm_config.as_bytes(),
        "a wasm config",
    );
}
