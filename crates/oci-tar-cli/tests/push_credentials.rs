//! Credentials from where users keep them, each pushed with into Debian's
//! `docker-registry` (TLS, htpasswd Basic auth) started by the test on
//! 127.0.0.1: docker credential helpers (real executable scripts the test
//! puts on PATH) named by `credHelpers` and `credsStore` in a docker
//! `config.json`, and podman `auth.json` files (`$REGISTRY_AUTH_FILE`,
//! `$XDG_RUNTIME_DIR/containers/auth.json`) with per-repository keys, the
//! most specific first. The registry accepts only the right password, so a
//! push that succeeds used it; a wrong source gives a clear 401 naming the
//! source; no secret is ever printed.
#![allow(clippy::unwrap_used)]

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use test_support::servers::{Registry, RegistrySetup};
use test_support::tiny_module;

fn builder() -> &'static str {
    test_support::builder_under_test(env!("CARGO_BIN_EXE_oci-tar-builder"))
}
const USER: &str = "pusher";
const PASSWORD: &str = "right-pw-7f3a";
const WRONG: &str = "wrong-pw-91c2";

/// A temporary home with a bin folder of credential helpers, run with an
/// environment that holds nothing of the host's credential files.
struct Env {
    home: tempfile::TempDir,
    work: tempfile::TempDir,
    ca: String,
    host: String,
}

impl Env {
    fn new(registry: &Registry) -> Env {
        let env = Env {
            home: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
            ca: registry.ca_cert().unwrap().display().to_string(),
            host: registry.host(),
        };
        std::fs::write(env.work.path().join("a.wasm"), tiny_module(41)).unwrap();
        std::fs::create_dir_all(env.bin()).unwrap();
        env
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn bin(&self) -> PathBuf {
        self.home().join("bin")
    }

    /// Where the helpers write the server they were asked for.
    fn helper_log(&self) -> PathBuf {
        self.home().join("helper.log")
    }

    /// A credential helper `docker-credential-NAME` answering `user` and
    /// `secret` for this registry, and "not found" for anything else (for
    /// everything, without them).
    fn helper(&self, name: &str, answer: Option<(&str, &str)>) {
        let (user, secret) = answer.unwrap_or(("", ""));
        let host = if answer.is_some() {
            self.host.as_str()
        } else {
            ""
        };
        let path = self.bin().join(format!("docker-credential-{name}"));
        std::fs::write(
            &path,
            format!(
                r#"#!/bin/sh
[ "$1" = get ] || {{ echo "unexpected action $1" >&2; exit 3; }}
server=$(cat)
printf '%s %s\n' {name} "$server" >> '{log}'
if [ "$server" = '{host}' ]; then
  printf '{{"ServerURL":"%s","Username":"{user}","Secret":"{secret}"}}\n' "$server"
else
  echo "credentials not found in native keychain"
  exit 1
fi
"#,
                log = self.helper_log().display(),
            ),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn docker_config(&self, json: &str) {
        std::fs::create_dir_all(self.home().join(".docker")).unwrap();
        std::fs::write(self.home().join(".docker/config.json"), json).unwrap();
    }

    fn runtime_dir(&self) -> PathBuf {
        self.home().join("run")
    }

    fn podman_auth(&self, json: &str) {
        let dir = self.runtime_dir().join("containers");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("auth.json"), json).unwrap();
    }

    /// Pushes a.wasm to `repository` with `extra` environment variables.
    fn push(&self, repository: &str, extra: &[(&str, &Path)]) -> Output {
        self.run(
            &[
                "--name",
                "creds",
                "--module",
                "a.wasm",
                "--ca-cert",
                &self.ca,
                "-o",
                &format!("docker://{}/{repository}:v1", self.host),
            ],
            extra,
        )
    }

    /// Runs the builder with `args` and `extra` environment variables.
    fn run(&self, args: &[&str], extra: &[(&str, &Path)]) -> Output {
        let mut path = OsString::from(self.bin());
        path.push(":");
        path.push(std::env::var_os("PATH").unwrap_or_default());
        let mut command = Command::new(builder());
        command
            .args(args)
            .current_dir(self.work.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("DOCKER_CONFIG")
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_CONFIG_HOME")
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("HOME", self.home())
            .env("PATH", path);
        for (name, value) in extra {
            command.env(name, value);
        }
        command.output().unwrap()
    }
}

/// Basic auth's `auth` value for `user:password`, by coreutils' base64.
fn auth(user: &str, password: &str) -> String {
    let output = Command::new("sh")
        .args(["-c", "printf '%s' \"$1\" | base64 -w0", "sh"])
        .arg(format!("{user}:{password}"))
        .output()
        .unwrap();
    assert!(output.status.success(), "base64 (coreutils) failed");
    String::from_utf8(output.stdout).unwrap()
}

#[track_caller]
fn succeeded(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "push failed: {text}");
    assert_no_secret(&text);
    text
}

#[track_caller]
fn refused(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert_no_secret(&text);
    text
}

#[track_caller]
fn assert_no_secret(text: &str) {
    for secret in [PASSWORD, WRONG, &auth(USER, PASSWORD), &auth(USER, WRONG)] {
        assert!(!text.contains(secret), "a secret was printed: {text}");
    }
}

fn start() -> Registry {
    Registry::start_with(&RegistrySetup {
        tls: true,
        basic_auth: Some((USER.into(), PASSWORD.into())),
        token_auth: None,
    })
}

#[test]
fn credential_helpers_named_by_cred_helpers_and_creds_store_are_run_with_the_registry() {
    let registry = start();
    let env = Env::new(&registry);
    env.helper("good", Some((USER, PASSWORD)));
    env.helper("wrong", Some((USER, WRONG)));
    env.helper("empty", None);
    env.helper("tokens", Some(("<token>", "an-identity-token")));

    // credHelpers names the helper for this registry; an auths entry that
    // would be wrong is not used, and credsStore's helper is not asked.
    env.docker_config(&format!(
        r#"{{"auths":{{"{host}":{{"auth":"{wrong}"}}}},"credHelpers":{{"other.example":"wrong","{host}":"good"}},"credsStore":"wrong"}}"#,
        host = env.host,
        wrong = auth(USER, WRONG)
    ));
    let text = succeeded(&env.push("creds/helper", &[]));
    assert!(
        text.contains(&format!(
            "credentials for {}: user {USER} from docker-credential-good (credHelpers in {}",
            env.host,
            env.home().join(".docker/config.json").display()
        )),
        "{text}"
    );
    assert_eq!(
        std::fs::read_to_string(env.helper_log()).unwrap(),
        format!("good {}\n", env.host),
        "the helper is asked once, for the registry's host"
    );

    // credsStore's helper with the wrong password: a clear 401 naming it.
    env.docker_config(&format!(
        r#"{{"auths":{{"{}":{{}}}},"credsStore":"wrong"}}"#,
        env.host
    ));
    let text = refused(&env.push("creds/store", &[]));
    assert!(
        text.contains("refused the credentials")
            && text.contains("the credentials came from docker-credential-wrong (credsStore in"),
        "{text}"
    );

    // credsStore's helper with the right one.
    env.docker_config(r#"{"credsStore":"good"}"#);
    let text = succeeded(&env.push("creds/store", &[]));
    assert!(
        text.contains("docker-credential-good (credsStore in"),
        "{text}"
    );

    // A helper that holds nothing for the registry: anonymous, refused.
    env.docker_config(&format!(r#"{{"credHelpers":{{"{}":"empty"}}}}"#, env.host));
    let text = refused(&env.push("creds/none", &[]));
    assert!(
        text.contains("none found") && text.contains("none were given"),
        "{text}"
    );

    // A helper that is not installed: an error naming it.
    env.docker_config(r#"{"credsStore":"missing-one"}"#);
    let text = refused(&env.push("creds/none", &[]));
    assert!(
        text.contains("docker-credential-missing-one (credsStore in")
            && text.contains("cannot run it"),
        "{text}"
    );

    // A helper answering an identity token (Username "<token>") for a
    // registry that only takes Basic auth: a clear refusal, token unsent.
    env.docker_config(&format!(r#"{{"credHelpers":{{"{}":"tokens"}}}}"#, env.host));
    let text = refused(&env.push("creds/token", &[]));
    assert!(
        text.contains("an identity token") && !text.contains("an-identity-token"),
        "{text}"
    );
    assert!(
        text.contains("docker-credential-tokens (credHelpers in"),
        "{text}"
    );
}

#[test]
fn podman_auth_files_come_first_with_the_most_specific_key() {
    let registry = start();
    let env = Env::new(&registry);
    let host = &env.host;
    // docker's config has the right password for the whole registry...
    env.docker_config(&format!(
        r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#,
        auth(USER, PASSWORD)
    ));
    // ...and podman's runtime auth.json, looked in first, has it only for
    // one repository, a wrong one for its namespace and for the host.
    env.podman_auth(&format!(
        r#"{{"auths":{{"{host}":{{"auth":"{wrong}"}},"{host}/team":{{"auth":"{wrong}"}},"{host}/team/app":{{"auth":"{right}"}}}}}}"#,
        wrong = auth(USER, WRONG),
        right = auth(USER, PASSWORD)
    ));
    let podman_file = env.runtime_dir().join("containers/auth.json");
    let text = succeeded(&env.push("team/app", &[]));
    assert!(
        text.contains(&format!(
            "from {} (auths \"{host}/team/app\")",
            podman_file.display()
        )),
        "{text}"
    );

    // Another repository of the namespace gets the namespace's (wrong)
    // entry, and the refusal says where it came from.
    let text = refused(&env.push("team/other", &[]));
    assert!(
        text.contains("refused the credentials")
            && text.contains(&format!(
                "the credentials came from {} (auths \"{host}/team\")",
                podman_file.display()
            )),
        "{text}"
    );

    // $REGISTRY_AUTH_FILE replaces the runtime file: without an entry
    // there, docker's config supplies the right password.
    let empty = env.home().join("registry-auth.json");
    std::fs::write(&empty, r#"{"auths":{}}"#).unwrap();
    let text = succeeded(&env.push("team/other", &[("REGISTRY_AUTH_FILE", &empty)]));
    assert!(
        text.contains(&format!(
            "from {} (auths \"{host}\")",
            env.home().join(".docker/config.json").display()
        )),
        "{text}"
    );

    // Without any file: anonymous, and the registry says so.
    std::fs::remove_file(&podman_file).unwrap();
    std::fs::remove_file(env.home().join(".docker/config.json")).unwrap();
    let text = refused(&env.push("team/app", &[]));
    assert!(
        text.contains("none found") && text.contains("none were given"),
        "{text}"
    );
}

#[test]
fn copy_says_the_source_of_its_credentials_only_with_verbose() {
    let registry = start();
    let env = Env::new(&registry);
    env.helper("good", Some((USER, PASSWORD)));
    env.docker_config(&format!(r#"{{"credHelpers":{{"{}":"good"}}}}"#, env.host));
    let built = env.run(
        &[
            "--name",
            "creds",
            "--module",
            "a.wasm",
            "-o",
            "oci:layout:v1",
        ],
        &[],
    );
    succeeded(&built);
    let remote = format!("docker://{}/creds/copied:v1", env.host);
    let quiet = succeeded(&env.run(
        &["copy", "--ca-cert", &env.ca, "oci:layout:v1", &remote],
        &[],
    ));
    assert!(!quiet.contains("credentials for"), "{quiet}");
    let verbose = succeeded(&env.run(
        &["copy", "-v", "--ca-cert", &env.ca, "oci:layout:v1", &remote],
        &[],
    ));
    assert!(
        verbose.contains(&format!(
            "credentials for {}: user {USER} from docker-credential-good (credHelpers in",
            env.host
        )),
        "{verbose}"
    );
}
