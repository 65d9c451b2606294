//! The images run: containerd started by the test, with the test shim
//! (`crates/test-shim`: runwasi's `containerd-shim-wasm` and wasmtime, built
//! by `scripts/install-test-deps.sh`) as the runtime `io.containerd.wasmtime-test.v1`,
//! `ctr run`s what we build and the demo program prints what it prints.
//! Importing and unpacking prove the tar is well-formed; only running it
//! proves a runtime finds the module, its entrypoint, args and env.
//!
//! The runtime matrix (containerd 1.6 cannot unpack raw wasm layers, see
//! interop.rs, so it runs only images whose layers are tars):
//!
//! | image                                | containerd 1.7   | containerd 1.6   |
//! |--------------------------------------|------------------|------------------|
//! | wasm-layer image, module (wasip1)    | runs             | cannot unpack    |
//! | wasm-layer image, component (wasip2) | runs             | cannot unpack    |
//! | wasm-layer image, pushed then pulled | runs             | -                |
//! | CNCF artifact                        | `ctr run` refuses its config type | - |
//! | compat image, module and component   | runs             | runs             |
//! | two shapes under one tag (an index)  | the compat entry runs; the wasm-layer entry does not (the shim reads no index) | - |
//! | a hand-made tar-layer image (the rig for compat images) | - | runs  |
//!
//! Each test uses its own containerd namespace, removed at its end (and by
//! its guard when an assertion fails); containerd is started once for the
//! tests that overlap and stopped after the last, killing any shim left by
//! its PID. A missing containerd 1.7 or test shim fails the tests with a
//! message saying how to install it.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;
use test_support::servers::{Registry, Shared};
use test_support::wasm_runtime::{RunOutput, ShimContainerd};
use test_support::{demo_component, demo_module};

fn builder() -> &'static str {
    test_support::builder_under_test(env!("CARGO_BIN_EXE_oci-tar-builder"))
}
/// The repository part of every test image's reference.
const REPO: &str = "example.com/run";
/// The platform of a wasm-layer image (our default).
const WASM_PLATFORM: &str = "wasip1/wasm";
/// The demo's first line (`demo/wasi-demo-app`).
const GREETING: &str = "hello from wasi-demo-app\n";

static CONTAINERD17: Shared<ShimContainerd> = Shared::new(ShimContainerd::start_17);
static REGISTRY: Shared<Registry> = Shared::new(Registry::start);

#[derive(Clone, Copy, Debug)]
enum Kind {
    Module,
    Component,
}

impl Kind {
    fn wasm(self) -> &'static Path {
        match self {
            Kind::Module => demo_module(),
            Kind::Component => demo_component(),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Module => "module",
            Kind::Component => "component",
        }
    }
}

/// Runs oci-tar-builder with `args` in a fresh folder holding the demo
/// program of `kind` as `demo.wasm`, and returns the folder.
fn build(kind: Kind, args: &[&str]) -> TempDir {
    let dir = tempfile::Builder::new().prefix("run-").tempdir().unwrap();
    std::fs::copy(kind.wasm(), dir.path().join("demo.wasm")).unwrap();
    let output = Command::new(builder())
        .args([
            "--quiet",
            "--repo",
            REPO,
            "--tag",
            "v1",
            "--module",
            "demo.wasm",
        ])
        .args(args)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "oci-tar-builder {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir
}

/// Builds an image tar `img.tar` named `name`, with `args` added.
fn build_tar(kind: Kind, name: &str, args: &[&str]) -> (TempDir, PathBuf) {
    let mut all = vec!["--name", name, "-o", "img.tar"];
    all.extend_from_slice(args);
    let dir = build(kind, &all);
    let tar = dir.path().join("img.tar");
    (dir, tar)
}

fn reference(name: &str) -> String {
    format!("{REPO}/{name}:v1")
}

/// Asserts `ctr run` ended with `code` and printed exactly `stdout`.
#[track_caller]
fn assert_ran(run: &RunOutput, code: i32, stdout: &str, containerd: &ShimContainerd) {
    assert!(
        run.code == Some(code) && run.stdout == stdout,
        "ctr run ended with {:?} (expected {code}) and printed\n{}\n(expected\n{stdout})\n\
         stderr:\n{}\ncontainerd's log:\n{}",
        run.code,
        run.stdout,
        run.stderr,
        containerd.log()
    );
}

// ---------------------------------------------------- wasm-layer images

/// Builds the wasm-layer image `{case}-{kind}` of the demo with `args`,
/// imports it into containerd 1.7 (which unpacks it) and `ctr run`s it,
/// asserting the exit code and stdout (`{name}` in `stdout` stands for the
/// image name).
fn runs_on_containerd_17(kind: Kind, case: &str, args: &[&str], code: i32, stdout: &str) {
    let containerd = CONTAINERD17.get();
    let name = format!("{case}-{}", kind.label());
    let (_dir, tar) = build_tar(kind, &name, args);
    let namespace = containerd.namespace(&name);
    namespace.import(&tar);
    let run = namespace.run(&reference(&name), &name, WASM_PLATFORM);
    assert_ran(&run, code, &stdout.replace("{name}", &name), &containerd);
    namespace.remove();
}

/// The default image of the demo: the shim finds its wasm layer and
/// entrypoint, and the demo greets with its entrypoint as `argv[0]`.
fn wasm_layer_image_runs(kind: Kind) {
    let stdout = format!("{GREETING}arg[0] = {{name}}.wasm\n");
    runs_on_containerd_17(kind, "plain", &[], 0, &stdout);
}

#[test]
fn wasm_layer_module_runs_on_containerd_17() {
    wasm_layer_image_runs(Kind::Module);
}

#[test]
fn wasm_layer_component_runs_on_containerd_17() {
    wasm_layer_image_runs(Kind::Component);
}

/// `--entrypoint`, `--arg` and `--env` reach the program: the entrypoint is
/// its `argv[0]`, the args follow in order, and the variable is set.
fn config_reaches_the_program(kind: Kind) {
    let args = [
        "--entrypoint",
        "/app/demo.wasm",
        "--arg",
        "first",
        "--arg",
        "two words",
        "--arg",
        "--flag",
        "--env",
        "DEMO_GREETING=hello from the config",
    ];
    let stdout = format!(
        "{GREETING}arg[0] = /app/demo.wasm\narg[1] = first\narg[2] = two words\n\
         arg[3] = --flag\nDEMO_GREETING = hello from the config\n"
    );
    runs_on_containerd_17(kind, "config", &args, 0, &stdout);
}

#[test]
fn config_entrypoint_args_and_env_reach_the_module() {
    config_reaches_the_program(Kind::Module);
}

#[test]
fn config_entrypoint_args_and_env_reach_the_component() {
    config_reaches_the_program(Kind::Component);
}

/// The demo exits with `DEMO_EXIT_CODE` (set with `--env`), and `ctr run`
/// with the program's code. A module passes any code (`proc_exit`); WASI
/// 0.2's `wasi:cli/exit` only says success or failure, which wasmtime
/// reports as 1.
fn non_zero_exit_propagates(kind: Kind, code: i32) {
    let stdout = format!("{GREETING}arg[0] = {{name}}.wasm\n");
    runs_on_containerd_17(kind, "exit", &["--env", "DEMO_EXIT_CODE=3"], code, &stdout);
}

#[test]
fn a_module_s_exit_code_propagates() {
    non_zero_exit_propagates(Kind::Module, 3);
}

#[test]
fn a_component_s_failure_propagates() {
    non_zero_exit_propagates(Kind::Component, 1);
}

/// The whole path: built and pushed by oci-tar-builder (`-o docker://…`)
/// into a registry, pulled by containerd 1.7 (`ctr images pull`, as runwasi
/// users do), run.
#[test]
fn an_image_pushed_then_pulled_runs() {
    let containerd = CONTAINERD17.get();
    let registry = REGISTRY.get();
    let remote = format!("{}/run/pushed:v1", registry.host());
    let _dir = build(
        Kind::Module,
        &["--name", "pushed", "-o", &format!("docker://{remote}")],
    );
    let namespace = containerd.namespace("pushed");
    let pull = namespace.ctr([
        "images",
        "pull",
        "--plain-http",
        "--platform",
        WASM_PLATFORM,
        &remote,
    ]);
    assert!(
        pull.status.success(),
        "ctr images pull {remote}: {}{}",
        String::from_utf8_lossy(&pull.stdout),
        String::from_utf8_lossy(&pull.stderr)
    );
    let run = namespace.run(&remote, "pushed", WASM_PLATFORM);
    assert_ran(
        &run,
        0,
        &format!("{GREETING}arg[0] = pushed.wasm\n"),
        &containerd,
    );
    namespace.remove();
}

// ------------------------------------------------------- CNCF artifacts

/// A CNCF artifact imports, but `ctr run` refuses it: containerd does not
/// know its config type (the README says so; this pins it). The demo never
/// runs.
#[test]
fn ctr_run_refuses_a_cncf_artifact() {
    let containerd = CONTAINERD17.get();
    let (_dir, tar) = build_tar(Kind::Module, "artifact", &["--as-artifact"]);
    let namespace = containerd.namespace("artifact");
    namespace.import(&tar);
    let run = namespace.run(&reference("artifact"), "artifact", "wasip1/wasm");
    let refusal = "unknown image config media type application/vnd.wasm.config.v0+json";
    assert!(
        run.code.is_some_and(|code| code != 0) && run.stderr.contains(refusal),
        "ctr run of a CNCF artifact: expected a failure saying {refusal:?}, got {:?}\n\
         stdout:\n{}\nstderr:\n{}",
        run.code,
        run.stdout,
        run.stderr
    );
    assert!(!run.stdout.contains(GREETING), "{}", run.stdout);
    namespace.remove();
}

// --------------------------------------------------------- compat images
// ------------------------------------------------------- compat images

/// The compat image's platform (Docker's and podman's name for wasm).
const COMPAT_PLATFORM: &str = "wasi/wasm";

/// Builds the compat image of the demo (`--shape compat`: the wasm file as
/// `/<name>.wasm` in a gzip tar layer), imports it into `containerd`
/// (which unpacks the tar layer, 1.6 too) and `ctr run`s it: the shim takes
/// the `\0asm` entrypoint from the unpacked root file system.
fn compat_image_runs(containerd: &ShimContainerd, kind: Kind, version: &str) {
    let name = format!("compat-{}-{version}", kind.label());
    let (_dir, tar) = build_tar(kind, &name, &["--shape", "compat"]);
    let namespace = containerd.namespace(&name);
    namespace.import(&tar);
    let run = namespace.run(&reference(&name), &name, COMPAT_PLATFORM);
    assert_ran(
        &run,
        0,
        &format!("{GREETING}arg[0] = /{name}.wasm\n"),
        containerd,
    );
    namespace.remove();
}

#[test]
fn compat_module_runs_on_containerd_17() {
    compat_image_runs(&CONTAINERD17.get(), Kind::Module, "17");
}

#[test]
fn compat_component_runs_on_containerd_17() {
    compat_image_runs(&CONTAINERD17.get(), Kind::Component, "17");
}

#[test]
fn compat_module_runs_on_containerd_16() {
    compat_image_runs(&CONTAINERD16.get(), Kind::Module, "16");
}

#[test]
fn compat_component_runs_on_containerd_16() {
    compat_image_runs(&CONTAINERD16.get(), Kind::Component, "16");
}

/// One tag, two shapes (`--shape wasm-layers --shape compat`), under
/// containerd 1.7: the compat entry runs (the shim takes its entrypoint from
/// the unpacked root file system), but the wasm-layer entry does not. The
/// shim (runwasi's `containerd-shim-wasm` 1.0) reads the image's target as a
/// manifest to find wasm layers; an index is not one, so it finds none, and
/// the wasm-layer image's root file system holds no entrypoint. The README
/// says so: for runwasi's wasm layers, push the wasm-layer image on a tag of
/// its own.
#[test]
fn of_a_two_shape_index_the_shim_runs_the_compat_entry_not_the_wasm_layers() {
    let containerd = CONTAINERD17.get();
    let name = "two-shapes";
    let (_dir, tar) = build_tar(
        Kind::Module,
        name,
        &["--shape", "wasm-layers", "--shape", "compat"],
    );
    let namespace = containerd.namespace(name);
    // ctr unpacks one platform of an index: the one asked for.
    namespace.import_platform(&tar, COMPAT_PLATFORM);
    let run = namespace.run(&reference(name), "compat", COMPAT_PLATFORM);
    assert_ran(
        &run,
        0,
        &format!("{GREETING}arg[0] = /{name}.wasm\n"),
        &containerd,
    );
    namespace.import_platform(&tar, WASM_PLATFORM);
    let run = namespace.run(&reference(name), "wasm-layers", WASM_PLATFORM);
    assert!(
        run.code != Some(0) && run.stdout.is_empty() && run.stderr.contains("can't handle spec"),
        "the wasm-layer entry of an index: ctr run ended with {:?}, printed {:?}, said {}",
        run.code,
        run.stdout,
        run.stderr
    );
    namespace.remove();
}

// The rig below predates the compat shape: containerd 1.6 with the test shim
// runs a hand-made image of that kind (not ours), so a failure of the
// compat tests above on 1.6 can be told apart from a broken rig.

static CONTAINERD16: Shared<ShimContainerd> = Shared::new(ShimContainerd::start_16);

/// A hand-made OCI image tar (not one of ours): one tar layer holding
/// `demo.wasm`, the entrypoint `/demo.wasm`, the platform `wasip1/wasm`, and
/// the name `reference`. Digests come from `sha256sum`.
fn hand_made_tar_layer_image(reference: &str, dir: &Path) -> PathBuf {
    let tar_of = |entries: &[(&str, &[u8])]| {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, name, *bytes).unwrap();
        }
        builder.into_inner().unwrap()
    };
    let digest = |bytes: &[u8]| format!("sha256:{}", test_support::sha256sum(bytes));
    let descriptor = |media_type: &str, bytes: &[u8]| serde_json::json!({"mediaType": media_type, "digest": digest(bytes), "size": bytes.len()});
    let layer = tar_of(&[("demo.wasm", &std::fs::read(demo_module()).unwrap())]);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "wasm",
        "os": "wasip1",
        "config": {"Entrypoint": ["/demo.wasm"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(&layer)]},
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor("application/vnd.oci.image.config.v1+json", &config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", &layer)],
    }))
    .unwrap();
    let mut entry = descriptor("application/vnd.oci.image.manifest.v1+json", &manifest);
    entry["platform"] = serde_json::json!({"os": "wasip1", "architecture": "wasm"});
    entry["annotations"] = serde_json::json!({"io.containerd.image.name": reference});
    let index =
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [entry]})).unwrap();
    let blob = |bytes: &[u8]| format!("blobs/sha256/{}", &digest(bytes)["sha256:".len()..]);
    let image = tar_of(&[
        (
            "oci-layout",
            br#"{"imageLayoutVersion":"1.0.0"}"#.as_slice(),
        ),
        ("index.json", &index),
        (&blob(&layer), &layer),
        (&blob(&config), &config),
        (&blob(&manifest), &manifest),
    ]);
    let path = dir.join("hand-made.tar");
    std::fs::write(&path, image).unwrap();
    path
}

/// The rig for compat images on containerd 1.6: it unpacks a tar layer and
/// the test shim runs the module its entrypoint names from the root file
/// system.
#[test]
fn containerd_16_runs_the_test_shim_on_a_hand_made_tar_layer_image() {
    let containerd = CONTAINERD16.get();
    let dir = tempfile::tempdir().unwrap();
    let reference = "example.com/run/hand-made:v1";
    let tar = hand_made_tar_layer_image(reference, dir.path());
    let namespace = containerd.namespace("hand-made");
    namespace.import(&tar);
    let run = namespace.run(reference, "hand-made", WASM_PLATFORM);
    assert_ran(
        &run,
        0,
        &format!("{GREETING}arg[0] = /demo.wasm\n"),
        &containerd,
    );
    namespace.remove();
}
