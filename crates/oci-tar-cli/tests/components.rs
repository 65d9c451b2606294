//! The command line with components: --components in both shapes, non-wasm
//! input, --target, --author and --platform.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use test_support::{demo_component, http_component, tar_entry, tiny_module};

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(test_support::builder_under_test(env!(
        "CARGO_BIN_EXE_oci-tar-builder"
    )))
    .args(args)
    .current_dir(dir)
    .env_remove("SOURCE_DATE_EPOCH")
    .output()
    .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The JSON of the blob `digest` (`sha256:…`) in `tar`.
fn blob(tar: &[u8], digest: &Value) -> Value {
    let hex = digest.as_str().unwrap().strip_prefix("sha256:").unwrap();
    serde_json::from_slice(&tar_entry(tar, &format!("blobs/sha256/{hex}"))).unwrap()
}

/// index.json, the manifest and the config of the tar at `path`.
fn documents(path: &Path) -> (Value, Value, Value) {
    let tar = std::fs::read(path).unwrap();
    let index: Value = serde_json::from_slice(&tar_entry(&tar, "index.json")).unwrap();
    let manifest = blob(&tar, &index["manifests"][0]["digest"]);
    let config = blob(&tar, &manifest["config"]["digest"]);
    (index, manifest, config)
}

#[test]
fn a_wasi_http_component_artifact_lists_its_handler_export_and_types_import_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let http = http_component().to_str().unwrap();
    let output = run(
        &[
            "--name",
            "http",
            "--as-artifact",
            "--module",
            http,
            "--target",
            "wasi:http/proxy@0.2.0",
            "--author",
            "Jo",
            "-o",
            "out.tar",
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(": component, "),
        "{}",
        stderr(&output)
    );
    let (index, _, config) = documents(&dir.path().join("out.tar"));
    assert_eq!(index["manifests"][0]["platform"]["os"], "wasip2");
    assert_eq!(config["author"], "Jo");
    let component = &config["component"];
    assert_eq!(component["target"], "wasi:http/proxy@0.2.0");
    let exports: Vec<&str> = component["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let imports: Vec<&str> = component["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(exports
        .iter()
        .any(|e| e.starts_with("wasi:http/incoming-handler@")));
    assert!(imports.iter().any(|i| i.starts_with("wasi:http/types@")));
    assert!(imports.windows(2).all(|w| w[0] < w[1]), "{imports:?}");
}

#[test]
fn components_folder_is_packaged_in_file_name_order_as_an_image() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("wasm");
    std::fs::create_dir(&wasm).unwrap();
    std::fs::write(wasm.join("b.wasm"), tiny_module(2)).unwrap();
    std::fs::write(wasm.join("a.wasm"), tiny_module(1)).unwrap();
    std::fs::copy(demo_component(), wasm.join("c.wasm")).unwrap();
    std::fs::write(wasm.join("README.md"), "not wasm").unwrap();
    let output = run(
        &["--name", "app", "--components", "wasm", "-o", "img.tar"],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("README.md: skipped"));
    let (index, manifest, config) = documents(&dir.path().join("img.tar"));
    assert_eq!(index["manifests"][0]["platform"]["os"], "wasip1");
    assert_eq!(config["os"], "wasip1");
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    let digest_of = |bytes: &[u8]| oci_digest::digest_bytes(bytes).to_string();
    assert_eq!(layers[0]["digest"], digest_of(&tiny_module(1)).as_str());
    assert_eq!(layers[1]["digest"], digest_of(&tiny_module(2)).as_str());
    assert_eq!(
        layers[2]["digest"],
        digest_of(&std::fs::read(demo_component()).unwrap()).as_str()
    );
}

#[test]
fn components_folder_with_one_component_is_packaged_as_an_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("wasm");
    std::fs::create_dir(&wasm).unwrap();
    std::fs::copy(demo_component(), wasm.join("app.wasm")).unwrap();
    let output = run(
        &[
            "--name",
            "app",
            "--as-artifact",
            "--components",
            "wasm",
            "-o",
            "art.tar",
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let (index, _, config) = documents(&dir.path().join("art.tar"));
    assert_eq!(index["manifests"][0]["platform"]["os"], "wasip2");
    assert_eq!(config["os"], "wasip2");
    assert!(config["component"]["exports"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e.as_str().unwrap().starts_with("wasi:cli/run@")));

    // Two wasm files cannot make one artifact: a usage error.
    std::fs::write(wasm.join("more.wasm"), tiny_module(1)).unwrap();
    let output = run(
        &[
            "--name",
            "app",
            "--as-artifact",
            "--components",
            "wasm",
            "-o",
            "two.tar",
        ],
        dir.path(),
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!dir.path().join("two.tar").exists());
}

#[test]
fn non_wasm_input_fails_cleanly_in_both_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let module = tiny_module(1);
    let component = std::fs::read(demo_component()).unwrap();
    let inputs: [(&str, Vec<u8>, &str); 5] = [
        (
            "elf.wasm",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec(),
            "ELF",
        ),
        ("notes.wasm", b"some notes\n".to_vec(), "text file"),
        ("empty.wasm", Vec::new(), "empty"),
        (
            "cut-module.wasm",
            module[..module.len() - 3].to_vec(),
            "truncated",
        ),
        (
            "cut-component.wasm",
            component[..component.len() / 2].to_vec(),
            "truncated",
        ),
    ];
    for (name, bytes, reason) in inputs {
        std::fs::write(dir.path().join(name), bytes).unwrap();
        for artifact in [false, true] {
            let mut args = vec!["--name", "app", "--module", name, "-o", "out.tar"];
            if artifact {
                args.push("--as-artifact");
            }
            let output = run(&args, dir.path());
            let message = stderr(&output);
            assert_eq!(output.status.code(), Some(1), "{name}: {message}");
            assert_eq!(message.lines().count(), 1, "{name}: {message}");
            assert!(message.contains(name), "{name}: {message}");
            assert!(message.contains(reason), "{name}: {message}");
            assert!(output.stdout.is_empty());
            assert!(!dir.path().join("out.tar").exists());
        }
    }
}

#[test]
fn platform_overrides_both_shapes_and_target_needs_a_component_artifact() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.wasm"), tiny_module(1)).unwrap();
    for artifact in [false, true] {
        let mut args = vec![
            "--name",
            "app",
            "--module",
            "m.wasm",
            "--platform",
            "wasi/wasm",
            "--author",
            "Jo",
            "-o",
            "p.tar",
        ];
        if artifact {
            args.push("--as-artifact");
        }
        let output = run(&args, dir.path());
        assert!(output.status.success(), "{}", stderr(&output));
        let (index, _, config) = documents(&dir.path().join("p.tar"));
        assert_eq!(index["manifests"][0]["platform"]["os"], "wasi");
        assert_eq!(config["os"], "wasi");
        assert_eq!(config["author"], "Jo");
    }

    for (args, culprit) in [
        (
            vec!["--target", "wasi:http/proxy@0.2.0"],
            "wasm-layer image",
        ),
        (
            vec!["--as-artifact", "--target", "wasi:http/proxy@0.2.0"],
            "m.wasm is a core module",
        ),
        (
            vec!["--as-artifact", "--target", "proxy"],
            "not a world name",
        ),
        (vec!["--platform", "wasip2"], "OS/ARCH"),
        (vec!["--platform", "WASI/wasm"], "platform os"),
    ] {
        let mut all = vec!["--name", "app", "--module", "m.wasm", "-o", "bad.tar"];
        all.extend(args);
        let output = run(&all, dir.path());
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{all:?}: {message}");
        assert!(message.contains(culprit), "{all:?}: {message}");
        assert!(!dir.path().join("bad.tar").exists());
    }
}

/// Regression: a 200 MB `description` section took 786 MB, and its text
/// went into the manifest. A metadata section over the limit is left out
/// with a note; the others still become annotations; the image passes our
/// own verify.
#[test]
fn a_metadata_section_too_large_for_an_annotation_is_left_out_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let limit = wasm_artifact::MAX_METADATA_SECTION as usize;
    let mut module = test_support::tiny_module(1);
    for (name, text) in [
        ("description", "d".repeat(limit + 1)),
        ("version", "1.2.3".to_owned()),
    ] {
        module.extend(test_support::custom_section_header(name, text.len() as u64));
        module.extend(text.as_bytes());
    }
    // At the limit exactly, a section is still read.
    let authors = "a".repeat(limit);
    module.extend(test_support::custom_section_header(
        "authors",
        authors.len() as u64,
    ));
    module.extend(authors.as_bytes());
    let manifest = package_with_a_note(
        dir.path(),
        &module,
        &format!(
            "note: app.wasm: its \"description\" custom section ({} bytes) is larger than the {limit} bytes read for an annotation; left out",
            limit + 1
        ),
    );
    let annotations = &manifest["annotations"];
    assert_eq!(annotations["org.opencontainers.image.version"], "1.2.3");
    assert_eq!(
        annotations["org.opencontainers.image.authors"],
        authors.as_str()
    );
    assert!(annotations
        .get("org.opencontainers.image.description")
        .is_none());
}

/// Packages `module` as `app.wasm` into `dir/app.tar`, which must succeed
/// with `note` on stderr and pass our own verify; returns the manifest.
fn package_with_a_note(dir: &Path, module: &[u8], note: &str) -> Value {
    std::fs::write(dir.join("app.wasm"), module).unwrap();
    let output = run(&["-n", "app", "-m", "app.wasm", "-o", "app.tar"], dir);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains(note), "{}", stderr(&output));
    let verify = run(&["verify", "app.tar"], dir);
    assert!(verify.status.success(), "{}", stderr(&verify));
    documents(&dir.join("app.tar")).1
}

/// A module name over the limit (in a name section within its own) gives no
/// title, with a note; the manifest stays small and verifies.
#[test]
fn a_module_name_too_large_for_a_title_is_left_out_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let limit = wasm_artifact::MAX_METADATA_SECTION as usize;
    let long_name = "t".repeat(limit + 1);
    // A name section holding only the module-name subsection (id 0).
    let mut subsection = test_support::leb128(long_name.len() as u64);
    subsection.extend(long_name.as_bytes());
    let mut data = vec![0u8];
    data.extend(test_support::leb128(subsection.len() as u64));
    data.extend(subsection);
    let mut module = test_support::tiny_module(1);
    module.extend(test_support::custom_section_header(
        "name",
        data.len() as u64,
    ));
    module.extend(data);
    let manifest = package_with_a_note(
        dir.path(),
        &module,
        &format!(
            "note: app.wasm: the name in its \"name\" section ({} bytes) is larger than the {limit} bytes an annotation takes; no title",
            limit + 1
        ),
    );
    assert!(manifest["annotations"]
        .get("org.opencontainers.image.title")
        .is_none());
}

/// Regression: a module with one 200 MB function took 199 MB to describe;
/// the code section is now read past, only its framing checked. The layer
/// is the module, byte for byte.
#[test]
fn a_module_with_one_large_function_is_packaged() {
    let dir = tempfile::tempdir().unwrap();
    let module = test_support::module_with_one_large_function(8 * 1024 * 1024);
    std::fs::write(dir.path().join("big.wasm"), &module).unwrap();
    let output = run(
        &["-q", "-n", "app", "-m", "big.wasm", "-o", "app.tar"],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let tar = std::fs::read(dir.path().join("app.tar")).unwrap();
    let layer = test_support::tar_entry(
        &tar,
        &format!("blobs/sha256/{}", oci_digest::digest_bytes(&module).hex()),
    );
    assert!(layer == module);
    // Cut short inside the function, it is refused.
    std::fs::write(dir.path().join("cut.wasm"), &module[..module.len() - 100]).unwrap();
    let cut = run(
        &["-q", "-n", "app", "-m", "cut.wasm", "-o", "cut.tar"],
        dir.path(),
    );
    assert_eq!(cut.status.code(), Some(1));
    assert!(
        stderr(&cut).contains("cut.wasm: not a wasm module or component: it is truncated"),
        "{}",
        stderr(&cut)
    );
}

/// The layers follow the byte order of the file names (`B` before `a`,
/// `-` before `.`, `a10` before `a9`), here for more files than are
/// described on one thread.
#[test]
fn a_folder_of_many_files_is_packaged_in_the_byte_order_of_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("wasm");
    std::fs::create_dir(&wasm).unwrap();
    let mut names: Vec<String> = (0..40).map(|i| format!("a{i}.wasm")).collect();
    names.extend(["B.wasm", "a-1.wasm", "a.wasm", "Z.wasm", "é.wasm", "_.wasm"].map(String::from));
    for (seed, name) in names.iter().enumerate() {
        std::fs::write(wasm.join(name), tiny_module(seed as u32 + 100)).unwrap();
    }
    let output = run(
        &[
            "-q",
            "--name",
            "app",
            "--components",
            "wasm",
            "-o",
            "img.tar",
        ],
        dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let (_, manifest, _) = documents(&dir.path().join("img.tar"));
    let layers: Vec<String> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| layer["digest"].as_str().unwrap().to_owned())
        .collect();
    let mut by_bytes: Vec<(usize, &String)> = names.iter().enumerate().collect();
    by_bytes.sort_by(|a, b| a.1.as_bytes().cmp(b.1.as_bytes()));
    let expected: Vec<String> = by_bytes
        .iter()
        .map(|(seed, _)| oci_digest::digest_bytes(&tiny_module(*seed as u32 + 100)).to_string())
        .collect();
    assert_eq!(layers, expected);
}

/// With several shapes, a flag goes to the images whose config has its
/// field: `--target` to the artifact, the process fields (`--env`,
/// `--arg`, `--label`, `--workdir`) to the wasm-layer image; `--target`
/// with no artifact among the shapes is refused.
#[test]
fn several_shapes_each_take_the_flags_their_config_has() {
    let dir = tempfile::tempdir().unwrap();
    let http = http_component().to_str().unwrap();
    let flags = [
        "--name",
        "http",
        "--module",
        http,
        "--target",
        "wasi:http/proxy@0.2.0",
        "--env",
        "MODE=fast",
        "--arg",
        "serve",
        "--label",
        "team=web",
        "--workdir",
        "/srv",
    ];
    let with_shapes = |shapes: &[&str], out: &str| {
        let mut args: Vec<&str> = flags.to_vec();
        for shape in shapes {
            args.extend(["--shape", shape]);
        }
        args.extend(["-o", out]);
        run(&args, dir.path())
    };
    let output = with_shapes(&["wasm-layers", "artifact"], "both.tar");
    assert!(output.status.success(), "{}", stderr(&output));
    let tar = std::fs::read(dir.path().join("both.tar")).unwrap();
    let top: Value = serde_json::from_slice(&tar_entry(&tar, "index.json")).unwrap();
    let index = blob(&tar, &top["manifests"][0]["digest"]);
    let configs: Vec<Value> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let manifest = blob(&tar, &entry["digest"]);
            blob(&tar, &manifest["config"]["digest"])
        })
        .collect();
    assert_eq!(configs.len(), 2);
    let (layers, artifact) = (&configs[0], &configs[1]);
    let process = &layers["config"];
    assert!(
        process["Env"]
            .as_array()
            .unwrap()
            .contains(&Value::from("MODE=fast")),
        "{layers}"
    );
    assert_eq!(process["Cmd"], serde_json::json!(["serve"]), "{layers}");
    assert_eq!(process["Labels"]["team"], "web", "{layers}");
    assert_eq!(process["WorkingDir"], "/srv", "{layers}");
    assert_eq!(layers.get("component"), None, "{layers}");
    assert_eq!(artifact["component"]["target"], "wasi:http/proxy@0.2.0");
    assert_eq!(artifact.get("config"), None, "{artifact}");

    let output = with_shapes(&["wasm-layers", "compat"], "no-artifact.tar");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("wasi:http/proxy@0.2.0"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("no-artifact.tar").exists());
}
