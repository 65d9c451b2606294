//! Pushing through the bearer-token flow of a real registry: Debian's
//! `docker-registry` (distribution) with `auth: token`, whose realm is a
//! token server the test runs on 127.0.0.1 (test-support's
//! `TokenServer`: JWTs signed RS256 by `openssl`, trusted by the registry
//! through the certificate in their `x5c` header). The token server records
//! every scope it is asked for and refuses a wrong password with 401; what
//! the registry then serves is read back with skopeo through the same
//! token server.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use test_support::servers::{Registry, RegistrySetup};
use test_support::token_server::TokenServer;
use test_support::{require_tool, tar_entry, tiny_module};

const USER: &str = "tokenuser";
const PASSWORD: &str = "token-pw-5e1d";
const WRONG: &str = "wrong-pw-08b7";

/// A token server that knows USER/PASSWORD and a registry trusting it.
fn start() -> (TokenServer, Registry) {
    let tokens = TokenServer::start(Some((USER, PASSWORD)));
    let registry = Registry::start_with(&RegistrySetup {
        tls: false,
        basic_auth: None,
        token_auth: Some(tokens.registry_auth()),
    });
    (tokens, registry)
}

/// Runs the builder in `dir` with `stdin`, no SOURCE_DATE_EPOCH and no
/// credential files of the host's.
fn run(args: &[&str], dir: &Path, stdin: Option<&str>) -> Output {
    common::run_without_host_credentials(args, dir, stdin, dir)
}

#[track_caller]
fn run_ok(args: &[&str], dir: &Path, stdin: Option<&str>) -> String {
    let output = run(args, dir, stdin);
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "oci-tar-builder {args:?}: {text}");
    assert_no_secret(&text);
    text
}

#[track_caller]
fn assert_no_secret(text: &str) {
    for secret in [PASSWORD, WRONG] {
        assert!(!text.contains(secret), "a secret was printed: {text}");
    }
}

/// skopeo's raw manifest of `reference`, logging in with USER/PASSWORD
/// (through the token server) over plain HTTP.
fn skopeo_raw_manifest(reference: &str) -> Vec<u8> {
    let output = Command::new(require_tool("skopeo", "the Debian package `skopeo`"))
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            &format!("{USER}:{PASSWORD}"),
            reference,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The manifest bytes of the only image in the OCI layout tar `path`,
/// found through its index.json.
fn manifest_in_tar(path: &Path) -> Vec<u8> {
    let tar = std::fs::read(path).unwrap();
    let index: Value = serde_json::from_slice(&tar_entry(&tar, "index.json")).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap();
    tar_entry(&tar, &format!("blobs/sha256/{hex}"))
}

/// Builds `a.wasm` as image `name` into `out` (a tar or a registry).
fn build_args<'a>(name: &'a str, out: &'a str) -> Vec<&'a str> {
    vec!["--name", name, "--module", "a.wasm", "-o", out]
}

#[test]
fn push_gets_a_pull_push_token_and_the_registry_serves_our_manifest() {
    let (tokens, registry) = start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("a.wasm"), tiny_module(61)).unwrap();
    let mut tar = build_args("app", "app.tar");
    tar.extend(["--tag", "v1"]);
    run_ok(&tar, dir, None);
    let ours = manifest_in_tar(&dir.join("app.tar"));

    let remote = format!("docker://{}/wasm/app:v1", registry.host());
    let mut push = build_args("app", &remote);
    push.extend(["--username", USER, "--password-stdin"]);
    let summary = run_ok(&push, dir, Some(&format!("{PASSWORD}\n")));
    assert!(summary.contains(&format!("pushed {remote}")), "{summary}");

    let asked = tokens.requests();
    assert!(!asked.is_empty(), "the push asked no token");
    for request in &asked {
        assert_eq!(
            request.scopes,
            ["repository:wasm/app:pull,push"],
            "{asked:#?}"
        );
        assert!(!request.refused, "{asked:#?}");
        assert_eq!(
            request.service.as_deref(),
            Some(test_support::token_server::SERVICE)
        );
    }
    // The registry took the pushes with a bearer token (it refuses anything
    // else): its log has the manifest PUT answered 201.
    let log = registry.log();
    assert!(
        log.lines()
            .any(|line| line.contains("http.request.method=PUT")
                && line.contains("/v2/wasm/app/manifests/v1")
                && line.contains("http.response.status=201")),
        "no manifest PUT answered 201 in the registry's log:\n{log}"
    );

    let served = skopeo_raw_manifest(&remote);
    assert!(
        served == ours,
        "the registry serves other manifest bytes than our tar holds:\n{}\n{}",
        String::from_utf8_lossy(&served),
        String::from_utf8_lossy(&ours)
    );
}

#[test]
fn a_wrong_password_is_refused_by_the_token_server_in_one_line() {
    let (tokens, registry) = start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("a.wasm"), tiny_module(62)).unwrap();
    let remote = format!("docker://{}/wasm/app:v1", registry.host());
    let mut push = build_args("app", &remote);
    push.extend(["--username", USER, "--password-stdin"]);
    let output = run(&push, dir, Some(&format!("{WRONG}\n")));
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert_no_secret(&text);
    let errors: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("oci-tar-builder: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {text}");
    let token_server = format!("127.0.0.1:{}", tokens.port());
    assert!(
        errors[0].contains(&format!("on {}", registry.host()))
            && errors[0].contains(&token_server)
            && errors[0].contains("HTTP 401"),
        "names the registry, the token server and the 401: {text}"
    );
    let asked = tokens.requests();
    assert!(
        !asked.is_empty() && asked.iter().all(|request| request.refused),
        "the token server refused every request: {asked:#?}"
    );
    assert!(
        !registry.log().contains("/v2/wasm/app/manifests/v1"),
        "no manifest reached the registry"
    );
}

#[test]
fn copy_with_mount_from_asks_pull_on_the_other_repository_and_mounts() {
    let (tokens, registry) = start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("a.wasm"), tiny_module(63)).unwrap();
    run_ok(&build_args("app", "app.tar"), dir, None);
    let ours = manifest_in_tar(&dir.join("app.tar"));
    let password = format!("{PASSWORD}\n");
    let login = ["--username", USER, "--password-stdin"];

    let base = format!("docker://{}/wasm/base:v1", registry.host());
    let mut args = vec!["copy", "app.tar", &base];
    args.extend(login);
    run_ok(&args, dir, Some(&password));

    let before = tokens.requests().len();
    let copied = format!("docker://{}/wasm/copied:v1", registry.host());
    let mut args = vec!["copy", "--mount-from", "wasm/base", "app.tar", &copied];
    args.extend(login);
    let summary = run_ok(&args, dir, Some(&password));
    assert!(summary.contains("mounted"), "{summary}");
    assert!(
        summary.contains("0 sent (0 bytes)"),
        "every blob mounted: {summary}"
    );
    let asked = tokens.requests()[before..].to_vec();
    assert!(!asked.is_empty(), "the copy asked no token");
    // Connecting gets a token for the target alone (it checks the
    // credentials before any work); the mounts then need one that may also
    // pull the other repository, asked for once.
    let with_base = asked
        .iter()
        .filter(|request| {
            request
                .scopes
                .iter()
                .any(|s| s == "repository:wasm/base:pull")
        })
        .count();
    assert_eq!(with_base, 1, "{asked:#?}");
    assert_eq!(
        asked.last().unwrap().scopes,
        [
            "repository:wasm/copied:pull,push",
            "repository:wasm/base:pull"
        ],
        "{asked:#?}"
    );
    assert!(
        asked.iter().all(
            |request| request.scopes[0] == "repository:wasm/copied:pull,push" && !request.refused
        ),
        "{asked:#?}"
    );

    assert!(
        skopeo_raw_manifest(&copied) == ours,
        "copied manifest differs"
    );
    assert!(skopeo_raw_manifest(&base) == ours, "base manifest differs");
}
