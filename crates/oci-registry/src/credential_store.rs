//! Where users keep registry credentials: docker's `config.json` (`auths`,
//! `credHelpers`, `credsStore`) and podman's `auth.json` (the same format,
//! with keys that may name a repository), and the credential helper
//! programs (`docker-credential-NAME`) those files point at.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::auth::{Credentials, IDENTITY_TOKEN_USER};
use crate::RegistryError;

/// Docker Hub's name in references, and the key docker keeps its
/// credentials under (also what its credential helpers are asked for).
const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// What a credential helper prints when it holds nothing for a server.
const HELPER_NOT_FOUND: &str = "credentials not found";

/// The most of a helper's error output shown in an error.
const MAX_HELPER_MESSAGE: usize = 300;

/// Credentials and where they were found (for `-v`-style messages that
/// say which source supplied them, never what they are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCredentials {
    /// The credentials.
    pub credentials: Credentials,
    /// Where they came from: the file and its entry, or the credential
    /// helper and the file that names it.
    pub origin: String,
}

/// The docker config file: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = non_empty_var("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    non_empty_var("HOME").map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// The files credentials are looked up in, in order, as podman, skopeo
/// and buildah look: `$REGISTRY_AUTH_FILE` if set, else
/// `$XDG_RUNTIME_DIR/containers/auth.json`; then
/// `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config/…`); then the
/// docker config file ([`docker_config_path`]). Files that do not exist
/// are skipped when looked in.
pub fn credential_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    if let Some(file) = non_empty_var("REGISTRY_AUTH_FILE") {
        files.push(PathBuf::from(file));
    } else if let Some(runtime) = non_empty_var("XDG_RUNTIME_DIR") {
        files.push(PathBuf::from(runtime).join("containers").join("auth.json"));
    }
    let config_home = non_empty_var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| non_empty_var("HOME").map(|home| PathBuf::from(home).join(".config")));
    if let Some(config) = config_home {
        files.push(config.join("containers").join("auth.json"));
    }
    files.extend(docker_config_path());
    let mut seen = Vec::new();
    files.retain(|file| {
        let new = !seen.contains(file);
        seen.push(file.clone());
        new
    });
    files
}

/// The credentials for `repository` of `registry` (`host[:port]`) from the
/// first of [`credential_files`] that has some; `None` if none has.
pub fn find_credentials(
    registry: &str,
    repository: &str,
) -> Result<Option<FoundCredentials>, RegistryError> {
    for file in credential_files() {
        if let Some(found) = from_auth_file(&file, registry, repository)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The credentials the docker config file at `path` holds for `registry`
/// (`host[:port]`); see [`from_auth_file`].
pub fn from_docker_config(
    path: &Path,
    registry: &str,
) -> Result<Option<FoundCredentials>, RegistryError> {
    from_auth_file(path, registry, "")
}

/// The credentials a docker `config.json` or podman `auth.json` at `path`
/// holds for `repository` of `registry` (`host[:port]`); `None` if the file
/// is absent or has nothing for it. Looked for in this order:
///
/// 1. `credHelpers[registry]`: the helper `docker-credential-NAME` is run
///    as `get` with the registry on stdin (Docker Hub as
///    `https://index.docker.io/v1/`); it prints
///    `{"ServerURL","Username","Secret"}`, and a `Username` of `<token>`
///    makes `Secret` an identity token. Its "credentials not found" means
///    none (the next file is looked in).
/// 2. `auths`: the most specific key first (`registry/ns/repo`,
///    `registry/ns`, `registry`; a key with a scheme counts by its host
///    alone, so `https://index.docker.io/v1/` is Docker Hub's); its `auth`
///    (base64 of `user:password`), `username` and `password`, or
///    `identitytoken`.
/// 3. `credsStore`: the helper, run as for `credHelpers`.
pub fn from_auth_file(
    path: &Path,
    registry: &str,
    repository: &str,
) -> Result<Option<FoundCredentials>, RegistryError> {
    let shown = path.display().to_string();
    let bad = |reason: String| RegistryError::CredentialStore {
        origin: shown.clone(),
        reason,
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let config: Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not valid JSON ({e})")))?;
    let registry = host_key(registry);
    let text_field = |name: &str| -> Result<Option<&str>, RegistryError> {
        match config.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(bad(format!("{name} is not a string"))),
        }
    };
    if let Some(helpers) = config.get("credHelpers") {
        let helpers = helpers
            .as_object()
            .ok_or_else(|| bad("credHelpers is not an object".to_owned()))?;
        let helper = helpers
            .iter()
            .find(|(key, _)| host_key(key) == registry)
            .map(|(_, helper)| helper);
        if let Some(helper) = helper {
            let helper = helper
                .as_str()
                .filter(|h| !h.is_empty())
                .ok_or_else(|| bad(format!("credHelpers.{registry} is not a helper name")))?;
            return from_helper(helper, &registry, &format!("credHelpers in {shown}"));
        }
    }
    if let Some(auths) = config.get("auths") {
        let auths = auths
            .as_object()
            .ok_or_else(|| bad("auths is not an object".to_owned()))?;
        if let Some((key, entry)) = auths_entry(auths, &registry, repository) {
            if let Some(credentials) = entry_credentials(entry, key).map_err(bad)? {
                return Ok(Some(FoundCredentials {
                    credentials,
                    origin: format!("{shown} (auths {key:?})"),
                }));
            }
        }
    }
    if let Some(store) = text_field("credsStore")? {
        return from_helper(store, &registry, &format!("credsStore in {shown}"));
    }
    Ok(None)
}

/// The entry of `auths` for `repository` of `registry`: the most specific
/// key that matches (`registry/ns/repo`, then `registry/ns`, then
/// `registry`).
fn auths_entry<'a>(
    auths: &'a Map<String, Value>,
    registry: &str,
    repository: &str,
) -> Option<(&'a str, &'a Value)> {
    let mut candidates = Vec::new();
    let mut path = repository.trim_matches('/');
    while !path.is_empty() {
        candidates.push(format!("{registry}/{path}"));
        path = path.rsplit_once('/').map_or("", |(parent, _)| parent);
    }
    candidates.push(registry.to_owned());
    candidates.iter().find_map(|wanted| {
        auths
            .iter()
            .find(|(key, _)| auth_key(key) == *wanted)
            .map(|(key, entry)| (key.as_str(), entry))
    })
}

/// The credentials of one `auths` entry, `None` if it holds none (an empty
/// entry is what `docker login` leaves beside a `credsStore`).
fn entry_credentials(entry: &Value, key: &str) -> Result<Option<Credentials>, String> {
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(token) = field("identitytoken") {
        return Ok(Some(Credentials::identity_token(token)));
    }
    if let Some(auth) = field("auth") {
        let decoded = BASE64
            .decode(auth.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| format!("auths.{key}.auth is not base64 of user:password"))?;
        let Some((user, password)) = decoded.split_once(':') else {
            return Err(format!("auths.{key}.auth does not decode to user:password"));
        };
        return Ok(Some(Credentials::new(user, password)));
    }
    match (field("username"), field("password")) {
        (Some(user), Some(password)) => Ok(Some(Credentials::new(user, password))),
        _ => Ok(None),
    }
}

/// Runs `docker-credential-HELPER get` for `registry`; `None` when the
/// helper holds nothing for it. `named_by` says which file named it.
fn from_helper(
    helper: &str,
    registry: &str,
    named_by: &str,
) -> Result<Option<FoundCredentials>, RegistryError> {
    let program = format!("docker-credential-{helper}");
    let origin = format!("{program} ({named_by})");
    let bad = |reason: String| RegistryError::CredentialStore {
        origin: origin.clone(),
        reason,
    };
    if helper.contains(['/', '\\']) {
        return Err(bad("a helper name cannot hold a path".to_owned()));
    }
    let server = if registry == DOCKER_HUB {
        DOCKER_HUB_KEY
    } else {
        registry
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| bad(format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its answer.
        let _ = stdin.write_all(server.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|e| bad(format!("waiting for it: {e}")))?;
    if !output.status.success() {
        let said = format!(
            "{} {}",
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        let said = said.trim();
        if said.to_ascii_lowercase().contains(HELPER_NOT_FOUND) {
            return Ok(None);
        }
        let mut shown: String = said.chars().take(MAX_HELPER_MESSAGE).collect();
        if shown.is_empty() {
            shown = "nothing".to_owned();
        }
        return Err(bad(format!(
            "get {server} failed ({}): it said {shown:?}",
            output.status
        )));
    }
    let answer: Value = serde_json::from_slice(&output.stdout)
        .map_err(|_| bad(format!("get {server}: its answer is not JSON")))?;
    let field = |name: &str| answer.get(name).and_then(Value::as_str).unwrap_or("");
    let (username, secret) = (field("Username"), field("Secret"));
    if secret.is_empty() {
        return Err(bad(format!("get {server}: its answer holds no Secret")));
    }
    let credentials = if username == IDENTITY_TOKEN_USER {
        Credentials::identity_token(secret)
    } else {
        Credentials::new(username, secret)
    };
    Ok(Some(FoundCredentials {
        credentials,
        origin,
    }))
}

/// An `auths` key as compared: a key with a scheme by its host alone (the
/// legacy `https://host/v1/` form), else `host[/path]`; the host made
/// lowercase and Docker Hub's names made one.
fn auth_key(key: &str) -> String {
    match key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
    {
        Some(rest) => host_key(rest),
        None => match key.split_once('/') {
            Some((host, path)) => format!("{}/{}", host_key(host), path.trim_end_matches('/')),
            None => host_key(key),
        },
    }
}

/// A config key or registry name reduced to `host[:port]`, Docker Hub's
/// names made one.
fn host_key(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme.split('/').next().unwrap_or(without_scheme);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => DOCKER_HUB.to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

fn non_empty_var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn write(dir: &Path, json: &str) -> PathBuf {
        let path = dir.join("config.json");
        std::fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn docker_config_auths_are_found_by_host() {
        let dir = tempfile::tempdir().unwrap();
        let auth = BASE64.encode("alice:pa:ss");
        let path = write(
            dir.path(),
            &format!(
                r#"{{"auths":{{"https://127.0.0.1:5000/v1/":{{"auth":"{auth}"}},"https://index.docker.io/v1/":{{"username":"bob","password":"pw"}}}}}}"#
            ),
        );
        let found = from_docker_config(&path, "127.0.0.1:5000")
            .unwrap()
            .unwrap();
        assert_eq!(found.credentials, Credentials::new("alice", "pa:ss"));
        assert!(found.origin.starts_with(&path.display().to_string()));
        let hub = from_docker_config(&path, "docker.io").unwrap().unwrap();
        assert_eq!(hub.credentials, Credentials::new("bob", "pw"));
        assert_eq!(from_docker_config(&path, "ghcr.io").unwrap(), None);
        assert_eq!(
            from_docker_config(&dir.path().join("none.json"), "ghcr.io").unwrap(),
            None
        );
        let path = write(dir.path(), r#"{"auths":{"ghcr.io":{"auth":"!!"}}}"#);
        let error = from_docker_config(&path, "ghcr.io")
            .unwrap_err()
            .to_string();
        assert!(error.contains("not base64"), "{error}");
    }

    #[test]
    fn the_most_specific_auths_key_wins() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |user: &str| format!(r#"{{"auth":"{}"}}"#, BASE64.encode(format!("{user}:pw")));
        let path = write(
            dir.path(),
            &format!(
                r#"{{"auths":{{"reg.example":{},"reg.example/team":{},"reg.example/team/app":{},"reg.example/teamwork":{}}}}}"#,
                entry("host"),
                entry("team"),
                entry("app"),
                entry("teamwork")
            ),
        );
        let user = |repository: &str| {
            from_auth_file(&path, "reg.example", repository)
                .unwrap()
                .unwrap()
                .credentials
                .username()
                .to_owned()
        };
        assert_eq!(user("team/app"), "app");
        assert_eq!(user("team/app/sub"), "app");
        assert_eq!(user("team/other"), "team");
        assert_eq!(user("teamworks/x"), "host");
        assert_eq!(user("other"), "host");
        assert_eq!(user("teamwork"), "teamwork");
        let origin = from_auth_file(&path, "reg.example", "team/x")
            .unwrap()
            .unwrap()
            .origin;
        assert!(
            origin.ends_with(r#"(auths "reg.example/team")"#),
            "{origin}"
        );
    }

    #[test]
    fn an_identity_token_is_kept_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"{"auths":{"reg.example":{"auth":"","identitytoken":"refresh-me"}}}"#,
        );
        let found = from_auth_file(&path, "reg.example", "a/b")
            .unwrap()
            .unwrap();
        assert_eq!(found.credentials, Credentials::identity_token("refresh-me"));
        assert!(found.credentials.is_identity_token());
        assert!(!format!("{found:?}").contains("refresh-me"));
    }

    #[test]
    fn an_empty_entry_beside_a_store_goes_to_the_store_and_bad_shapes_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            r#"{"auths":{"reg.example":{}},"credsStore":"surely-not-installed-xyz"}"#,
        );
        let error = from_auth_file(&path, "reg.example", "a")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("docker-credential-surely-not-installed-xyz (credsStore in")
                && error.contains("cannot run it"),
            "{error}"
        );
        let path = write(dir.path(), r#"{"credHelpers":{"reg.example":"../x"}}"#);
        let error = from_auth_file(&path, "reg.example", "a")
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot hold a path"), "{error}");
        let path = write(dir.path(), r#"{"auths":[]}"#);
        let error = from_auth_file(&path, "reg.example", "a")
            .unwrap_err()
            .to_string();
        assert!(error.contains("auths is not an object"), "{error}");
        // A helper for another registry is not asked.
        let path = write(dir.path(), r#"{"credHelpers":{"other.example":"nope"}}"#);
        assert_eq!(from_auth_file(&path, "reg.example", "a").unwrap(), None);
    }
}
