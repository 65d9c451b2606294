//! The wasm registry clients users pull our images with: `wkg` (the CNCF
//! reference client, built from the Rust package registry) and the Python
//! `oras` client (PyPI), both cached per machine by
//! `scripts/install-test-deps.sh`. Each function returns the program to run,
//! or panics saying how to install it: tests never skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `wkg` version `scripts/install-test-deps.sh` builds (its
/// `wkg_version`).
pub const WKG_VERSION: &str = "0.16.1";

/// Where `scripts/install-test-deps.sh` installs `wkg` (`bin/wkg` below);
/// `OCI_TAR_BUILDER_WKG` overrides it.
pub const WKG_DEFAULT_DIR: &str = "/var/cache/oci-tar-builder/wkg-0.16.1";

/// Where `scripts/install-test-deps.sh` makes the Python `oras` client's
/// venv; `OCI_TAR_BUILDER_ORAS` overrides it.
pub const ORAS_DEFAULT_DIR: &str = "/var/cache/oci-tar-builder/oras-py";

fn dir_from(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// The `wkg` binary, checked to be [`WKG_VERSION`].
pub fn wkg() -> PathBuf {
    let dir = dir_from("OCI_TAR_BUILDER_WKG", WKG_DEFAULT_DIR);
    let wkg = dir.join("bin/wkg");
    assert!(
        wkg.is_file(),
        "wkg {WKG_VERSION} is not in {}: run scripts/install-test-deps.sh, which builds it there \
         with `cargo install wkg --locked --version {WKG_VERSION} --root {}` (or set \
         OCI_TAR_BUILDER_WKG to a folder holding bin/wkg)",
        dir.display(),
        dir.display()
    );
    let output = Command::new(&wkg)
        .arg("--version")
        .output()
        .expect("running wkg --version");
    let version = String::from_utf8_lossy(&output.stdout);
    assert!(
        version.trim() == format!("wkg {WKG_VERSION}"),
        "{} says {version:?}, not wkg {WKG_VERSION}: run scripts/install-test-deps.sh",
        wkg.display()
    );
    wkg
}

/// Runs `wkg` with `args` in `dir`, with a `HOME`, cache and Docker config
/// of its own there (no credentials, no user settings), plain HTTP to
/// `registry` (`127.0.0.1:PORT`).
pub fn run_wkg(args: &[&str], registry: &str, dir: &Path) -> Output {
    Command::new(wkg())
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("DOCKER_CONFIG", dir.join("docker"))
        .env("WKG_OCI_INSECURE", registry)
        .env_remove("WKG_CONFIG_FILE")
        .env_remove("WKG_OCI_USERNAME")
        .env_remove("WKG_OCI_PASSWORD")
        .output()
        .expect("running wkg")
}

/// The Python of the venv holding the `oras` client.
pub fn oras_python() -> PathBuf {
    let dir = dir_from("OCI_TAR_BUILDER_ORAS", ORAS_DEFAULT_DIR);
    let python = dir.join("bin/python3");
    let usable = python.is_file()
        && Command::new(&python)
            .args(["-c", "import oras.client"])
            .output()
            .is_ok_and(|output| output.status.success());
    assert!(
        usable,
        "the Python oras client is not in {}: run scripts/install-test-deps.sh, which makes a \
         venv there with the PyPI package `oras` (scripts/oras-requirements.txt), or set \
         OCI_TAR_BUILDER_ORAS to such a venv",
        dir.display()
    );
    python
}

/// `oras.client.OrasClient(insecure=True).pull(target, outdir)`: pulls
/// `reference` (`127.0.0.1:PORT/repo:tag`) over plain HTTP into `out_dir`,
/// each layer saved as its `org.opencontainers.image.title` (else its
/// digest). Returns what the client printed and its exit status.
pub fn oras_pull(reference: &str, out_dir: &Path) -> Output {
    const PULL: &str = "import sys, oras.client\n\
        files = oras.client.OrasClient(insecure=True).pull(target=sys.argv[1], outdir=sys.argv[2])\n\
        print('\\n'.join(files))\n";
    // No user's Docker credentials, nothing written outside `out_dir`.
    let home = tempfile::tempdir().expect("a temporary HOME for oras");
    Command::new(oras_python())
        .args(["-c", PULL, reference])
        .arg(out_dir)
        .env("HOME", home.path())
        .env("DOCKER_CONFIG", home.path().join(".docker"))
        .output()
        .expect("running the Python oras client")
}
