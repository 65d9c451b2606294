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
