//! Classic Docker (Debian's `docker.io`, dockerd 20.10 with its own image
//! store) and a compat image: the outcome is pinned. dockerd refuses it at
//! `docker load` ("\"wasi\": unknown operating system or architecture"):
//! its classic store takes only platforms it knows, and `wasi` is not one.
//! Docker's containerd image store (Docker 29 and later by default) is what
//! loads wasm images; the README says so.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use test_support::{demo_module, require_tool};

/// A dockerd on its own socket, data and exec roots in a temporary
/// folder; stopped with SIGTERM by its PID (so it stops the containerd it
/// started), then killed if it has not exited.
struct Dockerd {
    child: Child,
    dir: tempfile::TempDir,
}

impl Dockerd {
    fn start() -> Self {
        let dockerd = require_tool("dockerd", "the Debian package `docker.io`");
        require_tool("docker", "the Debian package `docker.io`");
        // dockerd's paths are limited in length (the socket's above all):
        // a short folder under /tmp.
        let dir = tempfile::Builder::new()
            .prefix("dk-")
            .tempdir_in("/tmp")
            .unwrap();
        let log = std::fs::File::create(dir.path().join("dockerd.log")).unwrap();
        let child = Command::new(dockerd)
            .args([
                "--iptables=false",
                "--ip6tables=false",
                "--bridge=none",
                "--storage-driver=vfs",
            ])
            .arg("-H")
            .arg(format!("unix://{}", dir.path().join("sock").display()))
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("dockerd.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut dockerd = Dockerd { child, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !dockerd.docker(&["version"]).status.success() {
            if let Ok(Some(status)) = dockerd.child.try_wait() {
                panic!(
                    "dockerd exited ({status}) while starting: {}",
                    dockerd.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not answer within 60 s: {}",
                dockerd.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        dockerd
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }

    fn docker(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.dir.path().join("sock").display()))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn build_compat(dir: &Path) -> std::path::PathBuf {
    let tar = dir.join("compat.tar");
    let output = Command::new(test_support::builder_under_test(env!(
        "CARGO_BIN_EXE_oci-tar-builder"
    )))
    .args(["-q", "-n", "classic", "-r", "localhost:5000/docker"])
    .args(["--shape", "compat", "-m"])
    .arg(demo_module())
    .arg("-o")
    .arg(&tar)
    .output()
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    tar
}

#[test]
fn classic_dockerd_refuses_to_load_a_compat_image_for_its_os() {
    let dir = tempfile::tempdir().unwrap();
    let tar = build_compat(dir.path());
    let dockerd = Dockerd::start();
    let load = dockerd.docker(&["load", "-i", tar.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&load.stderr);
    assert!(
        !load.status.success()
            && stderr.contains("\"wasi\": unknown operating system or architecture"),
        "classic dockerd was expected to refuse os wasi; it said: {}{stderr}",
        String::from_utf8_lossy(&load.stdout)
    );
    let images = dockerd.docker(&["images", "-q"]);
    assert!(images.status.success());
    assert!(
        images.stdout.is_empty(),
        "dockerd stored something: {}",
        String::from_utf8_lossy(&images.stdout)
    );
}
