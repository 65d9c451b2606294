//! Where credentials are looked for (the environment variables podman,
//! skopeo and docker read) and the credential helpers a file names (real
//! executable scripts this test puts on `PATH`). The environment is the
//! process's own, so every test here holds one lock while it changes and
//! reads it.
#![allow(clippy::unwrap_used)]

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use oci_registry::{
    credential_files, docker_config_path, find_credentials, from_auth_file, Credentials,
};

/// The variables the lookup reads; each test starts with none of them set.
const LOOKUP_VARS: [&str; 6] = [
    "DOCKER_CONFIG",
    "HOME",
    "REGISTRY_AUTH_FILE",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "PATH",
];

static ENVIRONMENT: Mutex<()> = Mutex::new(());

/// The environment, held by one test at a time and put back as it was.
struct Environment {
    saved: Vec<(&'static str, Option<OsString>)>,
    _lock: MutexGuard<'static, ()>,
}

impl Environment {
    /// Takes the lock and clears the lookup variables.
    fn clear() -> Environment {
        let lock = ENVIRONMENT.lock().unwrap_or_else(|e| e.into_inner());
        let saved = LOOKUP_VARS
            .iter()
            .map(|name| (*name, std::env::var_os(name)))
            .collect();
        for name in LOOKUP_VARS {
            if name != "PATH" {
                std::env::remove_var(name);
            }
        }
        Environment { saved, _lock: lock }
    }

    fn set(&self, name: &str, value: impl AsRef<std::ffi::OsStr>) {
        std::env::set_var(name, value);
    }

    /// Puts `dir` first on `PATH`.
    fn path_first(&self, dir: &Path) {
        let saved = self
            .saved
            .iter()
            .find(|(name, _)| *name == "PATH")
            .and_then(|(_, value)| value.clone())
            .unwrap_or_default();
        let mut path = OsString::from(dir);
        path.push(":");
        path.push(saved);
        std::env::set_var("PATH", path);
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        for (name, value) in &self.saved {
            match value {
                Some(value) => std::env::set_var(name, value),
                None => std::env::remove_var(name),
            }
        }
    }
}

#[test]
fn the_docker_config_is_in_docker_config_else_under_home() {
    let env = Environment::clear();
    assert_eq!(docker_config_path(), None, "neither variable set");
    env.set("HOME", "/home/someone");
    assert_eq!(
        docker_config_path(),
        Some(PathBuf::from("/home/someone/.docker/config.json"))
    );
    // An empty variable counts as unset.
    env.set("DOCKER_CONFIG", "");
    assert_eq!(
        docker_config_path(),
        Some(PathBuf::from("/home/someone/.docker/config.json"))
    );
    env.set("DOCKER_CONFIG", "/etc/dockerish");
    assert_eq!(
        docker_config_path(),
        Some(PathBuf::from("/etc/dockerish/config.json"))
    );
    env.set("HOME", "");
    env.set("DOCKER_CONFIG", "");
    assert_eq!(docker_config_path(), None, "both set empty");
}

#[test]
fn credential_files_are_podmans_then_dockers_in_order_each_once() {
    let env = Environment::clear();
    assert_eq!(credential_files(), Vec::<PathBuf>::new());
    env.set("HOME", "/h");
    assert_eq!(
        credential_files(),
        ["/h/.config/containers/auth.json", "/h/.docker/config.json"].map(PathBuf::from)
    );
    env.set("XDG_RUNTIME_DIR", "/run/user/7");
    env.set("XDG_CONFIG_HOME", "/cfg");
    env.set("DOCKER_CONFIG", "/d");
    assert_eq!(
        credential_files(),
        [
            "/run/user/7/containers/auth.json",
            "/cfg/containers/auth.json",
            "/d/config.json"
        ]
        .map(PathBuf::from)
    );
    // REGISTRY_AUTH_FILE takes the runtime file's place; a file named
    // twice is looked in once, where it first comes.
    env.set("REGISTRY_AUTH_FILE", "/d/config.json");
    assert_eq!(
        credential_files(),
        ["/d/config.json", "/cfg/containers/auth.json"].map(PathBuf::from)
    );
    env.set("REGISTRY_AUTH_FILE", "");
    env.set("XDG_RUNTIME_DIR", "");
    env.set("XDG_CONFIG_HOME", "");
    assert_eq!(
        credential_files(),
        ["/h/.config/containers/auth.json", "/d/config.json"].map(PathBuf::from)
    );
}

fn write(path: &Path, json: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, json).unwrap();
}

fn basic(user: &str, password: &str) -> String {
    // base64 by the shell's coreutils, not by the crate under test.
    let output = std::process::Command::new("base64")
        .arg("-w0")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{user}:{password}").as_bytes())?;
            child.wait_with_output()
        })
        .expect("base64 (coreutils) must be installed");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn find_credentials_takes_the_first_file_that_has_some() {
    let env = Environment::clear();
    let home = tempfile::tempdir().unwrap();
    env.set("HOME", home.path());
    env.set("XDG_RUNTIME_DIR", home.path().join("run"));
    assert_eq!(find_credentials("reg.example", "a/b").unwrap(), None);
    let runtime = home.path().join("run/containers/auth.json");
    let config = home.path().join(".config/containers/auth.json");
    let docker = home.path().join(".docker/config.json");
    write(
        &runtime,
        &format!(
            r#"{{"auths":{{"other.example":{{"auth":"{}"}}}}}}"#,
            basic("o", "p")
        ),
    );
    write(
        &docker,
        &format!(
            r#"{{"auths":{{"reg.example":{{"auth":"{}"}}}}}}"#,
            basic("docker-user", "d")
        ),
    );
    let found = find_credentials("reg.example", "a/b").unwrap().unwrap();
    assert_eq!(found.credentials, Credentials::new("docker-user", "d"));
    assert_eq!(
        found.origin,
        format!("{} (auths \"reg.example\")", docker.display())
    );
    write(
        &config,
        &format!(
            r#"{{"auths":{{"reg.example/a":{{"auth":"{}"}}}}}}"#,
            basic("podman-user", "c")
        ),
    );
    let found = find_credentials("reg.example", "a/b").unwrap().unwrap();
    assert_eq!(found.credentials, Credentials::new("podman-user", "c"));
    assert_eq!(
        found.origin,
        format!("{} (auths \"reg.example/a\")", config.display())
    );
    assert_eq!(find_credentials("third.example", "a/b").unwrap(), None);
}

#[test]
fn a_file_that_cannot_be_read_is_an_error_naming_it_and_an_empty_store_is_none() {
    let _env = Environment::clear();
    let dir = tempfile::tempdir().unwrap();
    // A folder where the file should be: an error, not "no credentials".
    let error = from_auth_file(dir.path(), "reg.example", "a")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&dir.path().display().to_string()),
        "{error}"
    );
    let path = dir.path().join("config.json");
    write(&path, r#"{"auths":{},"credsStore":""}"#);
    assert_eq!(from_auth_file(&path, "reg.example", "a").unwrap(), None);
    write(&path, r#"{"credsStore":7}"#);
    let error = from_auth_file(&path, "reg.example", "a")
        .unwrap_err()
        .to_string();
    assert!(error.contains("credsStore is not a string"), "{error}");
}

/// A folder of credential helpers, each a shell script that appends the
/// server it was asked for to `asked.log`.
struct Helpers {
    dir: tempfile::TempDir,
}

impl Helpers {
    fn new() -> Helpers {
        Helpers {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn asked(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("asked.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// `docker-credential-NAME` running `body` after logging the server
    /// (read from stdin into `$server`).
    fn add(&self, name: &str, body: &str) {
        let path = self.dir.path().join(format!("docker-credential-{name}"));
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\n[ \"$1\" = get ] || {{ echo \"unexpected action $1\" >&2; exit 3; }}\nserver=$(cat)\nprintf '%s %s\\n' {name} \"$server\" >> '{}'\n{body}\n",
                self.dir.path().join("asked.log").display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

#[test]
fn credential_helpers_are_asked_for_the_registry_and_their_answers_taken_as_they_say() {
    let env = Environment::clear();
    let helpers = Helpers::new();
    env.path_first(helpers.dir.path());
    helpers.add(
        "user",
        r#"case "$server" in
reg.example|https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}\n' "$server" ;;
*) echo "credentials not found in native keychain"; exit 1 ;;
esac"#,
    );
    helpers.add(
        "token",
        r#"printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-me"}\n' "$server""#,
    );
    helpers.add("broken", r#"echo "the keychain is locked" >&2; exit 4"#);
    helpers.add("silent", "exit 1");
    helpers.add("no-secret", r#"echo '{"Username":"alice"}'"#);
    helpers.add("not-json", "echo hello");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let found = |json: &str, registry: &str| {
        write(&path, json);
        from_auth_file(&path, registry, "team/app")
    };

    let credentials = found(r#"{"credHelpers":{"reg.example":"user"}}"#, "reg.example")
        .unwrap()
        .unwrap();
    assert_eq!(credentials.credentials, Credentials::new("alice", "s3cret"));
    assert_eq!(
        credentials.origin,
        format!("docker-credential-user (credHelpers in {})", path.display())
    );
    // Docker Hub's helpers are asked for docker's legacy key.
    let credentials = found(r#"{"credsStore":"user"}"#, "docker.io")
        .unwrap()
        .unwrap();
    assert_eq!(credentials.credentials, Credentials::new("alice", "s3cret"));
    assert_eq!(
        credentials.origin,
        format!("docker-credential-user (credsStore in {})", path.display())
    );
    // "credentials not found" is none, not an error.
    assert_eq!(found(r#"{"credsStore":"user"}"#, "ghcr.io").unwrap(), None);
    assert_eq!(
        helpers.asked(),
        [
            "user reg.example",
            "user https://index.docker.io/v1/",
            "user ghcr.io"
        ]
    );

    // A Username of <token> makes the Secret an identity token.
    let credentials = found(r#"{"credHelpers":{"reg.example":"token"}}"#, "reg.example")
        .unwrap()
        .unwrap();
    assert_eq!(
        credentials.credentials,
        Credentials::identity_token("refresh-me")
    );
    assert!(credentials.credentials.is_identity_token());

    let error = |json: &str| found(json, "reg.example").unwrap_err().to_string();
    let text = error(r#"{"credsStore":"broken"}"#);
    assert!(
        text.starts_with("docker-credential-broken (credsStore in")
            && text.contains("get reg.example failed (exit status: 4)")
            && text.ends_with(r#"it said "the keychain is locked""#),
        "{text}"
    );
    let text = error(r#"{"credsStore":"silent"}"#);
    assert!(text.ends_with(r#"it said "nothing""#), "{text}");
    let text = error(r#"{"credsStore":"no-secret"}"#);
    assert!(text.ends_with("its answer holds no Secret"), "{text}");
    let text = error(r#"{"credsStore":"not-json"}"#);
    assert!(text.ends_with("its answer is not JSON"), "{text}");
}
