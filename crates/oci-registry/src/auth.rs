//! Credentials, where they come from, and the registry's challenges.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde_json::Value;

use crate::RegistryError;

/// A user name and password (or token) for a registry. Its `Debug` never
/// shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// A user name and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The `Authorization` header value for Basic auth.
    pub(crate) fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            BASE64.encode(format!("{}:{}", self.username, self.password))
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Credentials and where they were found (for `-v`-style messages that
/// say which source supplied them, never what they are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCredentials {
    /// The credentials.
    pub credentials: Credentials,
    /// Where they came from (a file path).
    pub origin: String,
}

/// The docker config file: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// The credentials the docker config file at `path` holds for `registry`
/// (`host[:port]`) in its `auths` (`auth`: base64 of `user:password`, or
/// `username` and `password`); `None` if the file or the entry is absent.
/// Keys may carry a scheme and a path (`https://index.docker.io/v1/`).
pub fn from_docker_config(
    path: &Path,
    registry: &str,
) -> Result<Option<FoundCredentials>, RegistryError> {
    let origin = path.display().to_string();
    let bad = |reason: String| RegistryError::CredentialStore {
        origin: origin.clone(),
        reason,
    };
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let config: Value =
        serde_json::from_slice(&bytes).map_err(|e| bad(format!("not valid JSON ({e})")))?;
    let Some(auths) = config.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    let wanted = config_key(registry);
    let Some(entry) = auths
        .iter()
        .find(|(key, _)| config_key(key) == wanted)
        .map(|(_, entry)| entry)
    else {
        return Ok(None);
    };
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let credentials = if let Some(auth) = field("auth") {
        let decoded = BASE64
            .decode(auth.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                bad(format!(
                    "auths.{registry}.auth is not base64 of user:password"
                ))
            })?;
        let Some((user, password)) = decoded.split_once(':') else {
            return Err(bad(format!(
                "auths.{registry}.auth does not decode to user:password"
            )));
        };
        Credentials::new(user, password)
    } else if let (Some(user), Some(password)) = (field("username"), field("password")) {
        Credentials::new(user, password)
    } else {
        return Ok(None);
    };
    Ok(Some(FoundCredentials {
        credentials,
        origin,
    }))
}

/// A config key or registry name reduced to `host[:port]`, Docker Hub's
/// names made one.
fn config_key(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = without_scheme.split('/').next().unwrap_or(without_scheme);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "docker.io" => "docker.io".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

/// What a registry's `WWW-Authenticate` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// HTTP Basic auth.
    Basic,
    /// A bearer token from `realm`, for `service`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` value (`Basic realm="x"`,
/// `Bearer realm="…",service="…",scope="…"`).
pub(crate) fn parse_challenge(value: &str) -> Option<Challenge> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let params = parse_params(rest);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    Some(Challenge::Bearer {
        realm: get("realm")?,
        service: get("service"),
        scope: get("scope"),
    })
}

/// `key="value", key=value` pairs; quoted values may hold commas and `\"`.
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
        if chars.next().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    other => value.push(other),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        params.push((key.trim().to_owned(), value.trim().to_owned()));
    }
    params
}

/// The token in a token server's JSON answer (`token`, else `access_token`).
pub(crate) fn token_from_response(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    ["token", "access_token"]
        .iter()
        .find_map(|k| value.get(*k).and_then(Value::as_str))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn challenges_are_parsed() {
        assert_eq!(
            parse_challenge("Basic realm=\"test\""),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=http://x/t"),
            Some(Challenge::Bearer {
                realm: "http://x/t".into(),
                service: None,
                scope: None
            })
        );
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge(""), None);
    }

    #[test]
    fn debug_hides_the_password() {
        let shown = format!("{:?}", Credentials::new("me", "s3cret"));
        assert!(shown.contains("me") && !shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn docker_config_auths_are_found_by_host() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let auth = BASE64.encode("alice:pa:ss");
        std::fs::write(
            &path,
            format!(
                r#"{{"auths":{{"https://127.0.0.1:5000/v1/":{{"auth":"{auth}"}},"https://index.docker.io/v1/":{{"username":"bob","password":"pw"}}}}}}"#
            ),
        )
        .unwrap();
        let found = from_docker_config(&path, "127.0.0.1:5000")
            .unwrap()
            .unwrap();
        assert_eq!(found.credentials, Credentials::new("alice", "pa:ss"));
        assert_eq!(found.origin, path.display().to_string());
        let hub = from_docker_config(&path, "docker.io").unwrap().unwrap();
        assert_eq!(hub.credentials, Credentials::new("bob", "pw"));
        assert_eq!(from_docker_config(&path, "ghcr.io").unwrap(), None);
        assert_eq!(
            from_docker_config(&dir.path().join("none.json"), "ghcr.io").unwrap(),
            None
        );
        std::fs::write(&path, r#"{"auths":{"ghcr.io":{"auth":"!!"}}}"#).unwrap();
        let error = from_docker_config(&path, "ghcr.io")
            .unwrap_err()
            .to_string();
        assert!(error.contains("not base64"), "{error}");
    }
}
