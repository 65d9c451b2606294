//! `inspect` shows the config a user cares about: the CNCF `component`
//! (imports, exports, target) and `author`, and the wasm-layer image's
//! `Env`, `Cmd` and `WorkingDir`; `inspect --json` has a schema version.
#![allow(clippy::unwrap_used)]

mod common;
use common::run_ok as run;
use test_support::{http_component, tiny_module, wasm_tools_world};

#[test]
fn inspect_shows_the_component_world_target_and_author() {
    let dir = tempfile::tempdir().unwrap();
    let component = http_component().to_str().unwrap();
    run(
        &[
            "-n",
            "http",
            "-a",
            "-m",
            component,
            "--target",
            "wasi:http/proxy@0.2.0",
            "--author",
            "Ann <ann@example.com>",
            "-o",
            "http.tar",
        ],
        dir.path(),
    );
    let (imports, exports) = wasm_tools_world(http_component());
    let text = String::from_utf8(run(&["inspect", "http.tar"], dir.path()).stdout).unwrap();
    assert!(
        text.contains("author       Ann <ann@example.com>"),
        "{text}"
    );
    assert!(text.contains("target     wasi:http/proxy@0.2.0"), "{text}");
    assert!(
        text.contains(&format!("imports    {}", imports.len())),
        "{text}"
    );
    assert!(
        text.contains(&format!("exports    {}", exports.len())),
        "{text}"
    );
    for name in imports.iter().chain(&exports) {
        assert!(
            text.contains(&format!("        {name}\n")),
            "{name}: {text}"
        );
    }

    let json = run(&["inspect", "--json", "http.tar"], dir.path()).stdout;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["schemaVersion"], 1);
    let config = &json["images"][0]["config"];
    assert_eq!(config["author"], "Ann <ann@example.com>");
    assert_eq!(config["component"]["target"], "wasi:http/proxy@0.2.0");
    assert_eq!(config["component"]["imports"], serde_json::json!(imports));
    assert_eq!(config["component"]["exports"], serde_json::json!(exports));
}

#[test]
fn inspect_shows_env_cmd_and_workdir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.wasm"), tiny_module(1)).unwrap();
    run(
        &[
            "-n",
            "app",
            "-m",
            "app.wasm",
            "--env",
            "A=1",
            "--arg",
            "serve",
            "--workdir",
            "/srv",
            "-o",
            "app.tar",
        ],
        dir.path(),
    );
    let text = String::from_utf8(run(&["inspect", "app.tar"], dir.path()).stdout).unwrap();
    assert!(text.contains(r#"env          ["A=1"]"#), "{text}");
    assert!(text.contains(r#"cmd          ["serve"]"#), "{text}");
    assert!(text.contains("workdir      /srv"), "{text}");
    assert!(!text.contains("    component\n"), "{text}");
    let json = run(&["inspect", "--json", "app.tar"], dir.path()).stdout;
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let config = &json["images"][0]["config"];
    assert_eq!(config["env"], serde_json::json!(["A=1"]));
    assert_eq!(config["workingDir"], "/srv");
    assert!(config.get("component").is_none());
}

/// The whole text of `inspect` for a layout directory of two images, built
/// here from the layout's own files (read as JSON, sizes their lengths,
/// digests recomputed with sha256sum): each image's name, manifest,
/// platform, annotations, config fields, labels and layers.
#[test]
fn inspect_text_is_every_document_as_stored() {
    use serde_json::Value;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    for (seed, tag, extra) in [
        (
            1,
            "v1",
            &["--env", "A=1", "--arg", "serve", "--workdir", "/srv"][..],
        ),
        (2, "v2", &["--label", "b=2", "--annotation", "x=y"][..]),
    ] {
        std::fs::write(path.join(format!("{tag}.wasm")), tiny_module(seed)).unwrap();
        let module = format!("{tag}.wasm");
        let out = format!("oci:layout:{tag}");
        let mut args = vec!["-q", "-n", "app", "-m", &module, "-o", &out];
        args.extend(extra);
        run(&args, path);
    }
    let layout = path.join("layout");
    let blob = |digest: &str| {
        let bytes = std::fs::read(
            layout
                .join("blobs/sha256")
                .join(digest.strip_prefix("sha256:").unwrap()),
        )
        .unwrap();
        assert_eq!(
            format!("sha256:{}", test_support::sha256sum(&bytes)),
            digest
        );
        bytes
    };
    let json = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).unwrap();
    let descriptor = |d: &Value| {
        let digest = d["digest"].as_str().unwrap();
        assert_eq!(d["size"].as_u64().unwrap(), blob(digest).len() as u64);
        format!(
            "{} {digest} ({} bytes)",
            d["mediaType"].as_str().unwrap(),
            d["size"]
        )
    };
    let pairs = |map: &Value, indent: &str| {
        let mut sorted: Vec<(&String, &Value)> = map.as_object().unwrap().iter().collect();
        sorted.sort_by_key(|(key, _)| key.as_str());
        sorted
            .iter()
            .map(|(k, v)| format!("{indent}{k}={}\n", v.as_str().unwrap()))
            .collect::<String>()
    };
    let strings = |v: &Value| {
        let items: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|s| format!("{:?}", s.as_str().unwrap()))
            .collect();
        format!("[{}]", items.join(", "))
    };
    let index = json(&std::fs::read(layout.join("index.json")).unwrap());
    let entries = index["manifests"].as_array().unwrap();
    let blobs = std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .count();
    let mut expected = format!(
        "layout: {} images, {blobs} blobs\n  format      oci-layout\n",
        entries.len()
    );
    for entry in entries {
        let tag = entry["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap();
        expected.push_str(&format!("\nimage app:{tag}\n"));
        expected.push_str(&format!("  manifest    {}\n", descriptor(entry)));
        let platform = &entry["platform"];
        expected.push_str(&format!(
            "  platform    {}/{}\n",
            platform["os"].as_str().unwrap(),
            platform["architecture"].as_str().unwrap()
        ));
        expected.push_str("  annotations\n");
        expected.push_str(&pairs(&entry["annotations"], "    "));
        let manifest = json(&blob(entry["digest"].as_str().unwrap()));
        expected.push_str(&format!(
            "  config      {}\n",
            descriptor(&manifest["config"])
        ));
        let config = json(&blob(manifest["config"]["digest"].as_str().unwrap()));
        let inner = &config["config"];
        for (name, value) in [
            ("created", config["created"].as_str().map(str::to_owned)),
            ("arch", config["architecture"].as_str().map(str::to_owned)),
            ("os", config["os"].as_str().map(str::to_owned)),
            ("entrypoint", inner.get("Entrypoint").map(strings)),
            ("cmd", inner.get("Cmd").map(strings)),
            ("env", inner.get("Env").map(strings)),
            ("workdir", inner["WorkingDir"].as_str().map(str::to_owned)),
            (
                "diff_ids",
                Some(
                    config["rootfs"]["diff_ids"]
                        .as_array()
                        .unwrap()
                        .len()
                        .to_string(),
                ),
            ),
        ] {
            if let Some(value) = value {
                expected.push_str(&format!("    {name:<12} {value}\n"));
            }
        }
        expected.push_str("    labels\n");
        expected.push_str(&pairs(&inner["Labels"], "      "));
        let layers = manifest["layers"].as_array().unwrap();
        expected.push_str(&format!("  layers      {}\n", layers.len()));
        for layer in layers {
            expected.push_str(&format!("    {}\n", descriptor(layer)));
        }
        expected.push_str("  manifest annotations\n");
        expected.push_str(&pairs(&manifest["annotations"], "    "));
    }
    let text = String::from_utf8(run(&["inspect", "layout"], path).stdout).unwrap();
    assert_eq!(text, expected);
    assert!(
        expected.contains("    env          [\"A=1\"]\n"),
        "{expected}"
    );
    assert!(expected.contains("      b=2\n"), "{expected}");
    assert!(expected.contains("    x=y\n"), "{expected}");
}
