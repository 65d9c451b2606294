//! Running our images for real: containerd with the test shim
//! (`crates/test-shim`, the binary `containerd-shim-wasmtime-test-v1`, which
//! `scripts/install-test-deps.sh` builds into the machine's cache) on its
//! PATH, and `ctr run` of an image in a namespace of the test's own.
//!
//! Cleaning up, also after a failed assertion: a [`Namespace`] guard kills
//! and deletes its tasks and containers and removes its images and the
//! namespace when dropped ([`Namespace::remove`] does the same and asserts
//! it worked). A [`ShimContainerd`] does that for every namespace left when
//! dropped, then kills by PID any of its shim processes still alive, unmounts
//! whatever is still mounted under its folder, and only then stops
//! containerd and removes the folder.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::require_tool;
use crate::servers::{containerd17_binaries, Containerd};

/// The runtime name `ctr run --runtime` takes for the test shim.
pub const TEST_SHIM_RUNTIME: &str = "io.containerd.wasmtime-test.v1";

/// The file name containerd looks for on its PATH for [`TEST_SHIM_RUNTIME`].
pub const TEST_SHIM_BINARY: &str = "containerd-shim-wasmtime-test-v1";

/// Where `scripts/install-test-deps.sh` builds the test shim: in
/// `test-shim-<key>` below this, `<key>` printed by `scripts/test-shim-key.sh`
/// (a hash of the shim's sources and lock file).
pub const TEST_SHIM_CACHE_DIR: &str = "/var/cache/oci-tar-builder";

/// How long one `ctr run` may take (compiling the demo with cranelift
/// included) before the test gives up on it.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The test shim binary: `$OCI_TAR_BUILDER_TEST_SHIM` if set, else the one
/// built from the current sources of `crates/test-shim`, or a panic saying
/// how to build it.
pub fn test_shim() -> PathBuf {
    if let Some(path) = std::env::var_os("OCI_TAR_BUILDER_TEST_SHIM") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "OCI_TAR_BUILDER_TEST_SHIM names {}, which is not a file",
            path.display()
        );
        return path;
    }
    let script = crate::workspace_root().join("scripts/test-shim-key.sh");
    let output = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let key = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let path = Path::new(TEST_SHIM_CACHE_DIR)
        .join(format!("test-shim-{key}"))
        .join(TEST_SHIM_BINARY);
    assert!(
        path.is_file(),
        "the test shim built from the current crates/test-shim is not at {}: run \
         scripts/install-test-deps.sh, which builds it there (or set \
         OCI_TAR_BUILDER_TEST_SHIM to a built {TEST_SHIM_BINARY})",
        path.display()
    );
    path
}

/// What `ctr run` did: its exit code (the program's, when it ran), stdout
/// (the program's) and stderr (the program's and ctr's).
#[derive(Debug)]
pub struct RunOutput {
    /// `ctr run`'s exit code; `None` if a signal ended it.
    pub code: Option<i32>,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
}

/// A containerd (1.6 or 1.7) that finds the test shim on its PATH.
pub struct ShimContainerd {
    // Dropped by hand in `Drop`, after the clean-up that needs it.
    containerd: Option<Containerd>,
    _bin: TempDir,
}

impl ShimContainerd {
    /// Debian trixie's containerd 1.7 (see [`containerd17_binaries`]).
    pub fn start_17() -> Self {
        let (containerd, ctr) = containerd17_binaries();
        Self::start_binaries(&containerd, &ctr)
    }

    /// Debian bookworm's containerd 1.6, from PATH.
    pub fn start_16() -> Self {
        let containerd = require_tool("containerd", "the Debian package `containerd`");
        let ctr = require_tool("ctr", "the Debian package `containerd`");
        Self::start_binaries(&containerd, &ctr)
    }

    fn start_binaries(containerd: &Path, ctr: &Path) -> Self {
        let shim = test_shim();
        let bin = tempfile::Builder::new()
            .prefix("shim-bin-")
            .tempdir()
            .expect("a temporary folder for containerd's PATH");
        std::os::unix::fs::symlink(&shim, bin.path().join(TEST_SHIM_BINARY))
            .expect("linking the test shim into containerd's PATH");
        let containerd = Containerd::start_binaries_with_path(containerd, ctr, Some(bin.path()));
        Self {
            containerd: Some(containerd),
            _bin: bin,
        }
    }

    fn containerd(&self) -> &Containerd {
        self.containerd
            .as_ref()
            .expect("containerd runs until the guard drops")
    }

    /// Runs `ctr --namespace NAMESPACE ARGS…` against this containerd.
    pub fn ctr<I, S>(&self, namespace: &str, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.containerd().ctr(namespace, args)
    }

    /// The last 60 lines of containerd's log (the shim logs into it too),
    /// for failure messages.
    pub fn log(&self) -> String {
        let log =
            fs::read_to_string(self.containerd().dir().join("containerd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// A fresh namespace `name` for one test, cleaned up when dropped.
    pub fn namespace(&self, name: &str) -> Namespace<'_> {
        Namespace {
            containerd: self,
            name: name.to_owned(),
            cleaned_up: false,
        }
    }

    /// The namespaces containerd knows.
    fn namespaces(&self) -> Vec<String> {
        lines(&self.ctr("default", ["namespaces", "ls", "--quiet"]))
    }

    /// PIDs of the shim processes of this containerd (a shim and the
    /// processes it forks all run the shim binary with `-address SOCKET`).
    fn shim_pids(&self) -> Vec<u32> {
        let socket = self.containerd().socket().to_string_lossy().into_owned();
        let mut pids = Vec::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse().ok())
            else {
                continue;
            };
            if is_our_shim(pid, &socket) {
                pids.push(pid);
            }
        }
        pids
    }
}

impl Drop for ShimContainerd {
    fn drop(&mut self) {
        let Some(containerd) = &self.containerd else {
            return;
        };
        let dir = containerd.dir().to_path_buf();
        let socket = containerd.socket().to_string_lossy().into_owned();
        for namespace in self.namespaces() {
            // Dropping it kills and deletes its tasks, which ends their shims.
            drop(self.namespace(&namespace));
        }
        // Whatever the clean-up did not end (a task runs inside its shim's
        // processes, so this ends the programs too).
        for pid in self.shim_pids() {
            kill_if_ours(pid, &socket);
        }
        unmount_below(&dir);
        // Stops containerd (by its PID) and removes its folder.
        self.containerd = None;
    }
}

/// A namespace of one test in a [`ShimContainerd`]; dropping it kills and
/// deletes its tasks and containers, removes its images and then itself.
pub struct Namespace<'a> {
    containerd: &'a ShimContainerd,
    name: String,
    cleaned_up: bool,
}

impl Namespace<'_> {
    /// Runs `ctr --namespace NAME ARGS…`.
    pub fn ctr<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.containerd.ctr(&self.name, args)
    }

    /// `ctr images import --all-platforms TAR`, which must succeed (containerd
    /// 1.7 also unpacks each image it can).
    pub fn import(&self, tar: &Path) {
        self.import_with(tar, "--all-platforms", None);
    }

    /// `ctr images import --platform PLATFORM TAR`, which must succeed: of an
    /// image index, the entry of that platform is stored and unpacked.
    pub fn import_platform(&self, tar: &Path, platform: &str) {
        self.import_with(tar, "--platform", Some(platform));
    }

    fn import_with(&self, tar: &Path, flag: &str, value: Option<&str>) {
        let mut args: Vec<std::ffi::OsString> = vec!["images".into(), "import".into()];
        args.push(flag.into());
        args.extend(value.map(Into::into));
        args.push(tar.into());
        let output = self.ctr(args);
        assert!(
            output.status.success(),
            "ctr images import {}: {}{}",
            tar.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// `ctr run --rm --runtime io.containerd.wasmtime-test.v1 --platform
    /// PLATFORM IMAGE ID`: starts a container of `image` under the test shim
    /// and waits (at most two minutes) until it ends.
    pub fn run(&self, image: &str, id: &str, platform: &str) -> RunOutput {
        let ctr = self.containerd.containerd();
        let mut child = Command::new(ctr.ctr_path())
            .arg("--address")
            .arg(ctr.socket())
            .arg("--namespace")
            .arg(&self.name)
            .args([
                "run",
                "--rm",
                "--runtime",
                TEST_SHIM_RUNTIME,
                "--platform",
                platform,
                image,
                id,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting ctr run");
        let stdout = read_in_thread(child.stdout.take().expect("a piped stdout"));
        let stderr = read_in_thread(child.stderr.take().expect("a piped stderr"));
        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for ctr run") {
                break status;
            }
            if Instant::now() >= deadline {
                // The ctr we started, by its PID; the namespace guard then
                // kills the task and the container.
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "ctr run {image} did not end within {RUN_TIMEOUT:?}; containerd's log:\n{}",
                    self.containerd.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        RunOutput {
            code: status.code(),
            stdout: stdout.join().expect("reading ctr's stdout"),
            stderr: stderr.join().expect("reading ctr's stderr"),
        }
    }

    /// Cleans up (as dropping does) and asserts the namespace is gone, so a
    /// test notices when its clean-up stops working.
    pub fn remove(mut self) {
        self.clean_up();
        self.cleaned_up = true;
        let left = self.containerd.namespaces();
        assert!(
            !left.contains(&self.name),
            "namespace {} is still there after its clean-up; ctr namespaces rm says: {}",
            self.name,
            String::from_utf8_lossy(
                &self
                    .containerd
                    .ctr("default", ["namespaces", "rm", &self.name])
                    .stderr
            )
        );
    }

    fn clean_up(&self) {
        for task in lines(&self.ctr(["tasks", "ls", "--quiet"])) {
            self.ctr(["tasks", "kill", "--signal", "SIGKILL", &task]);
            self.ctr(["tasks", "delete", "--force", &task]);
        }
        for container in lines(&self.ctr(["containers", "ls", "--quiet"])) {
            self.ctr(["containers", "delete", &container]);
        }
        let images = lines(&self.ctr(["images", "ls", "--quiet"]));
        if !images.is_empty() {
            // --sync: wait for the garbage collector to delete their content
            // and snapshots, which a namespace must not hold when removed.
            self.ctr(
                ["images", "rm", "--sync"]
                    .iter()
                    .map(|s| s.to_string())
                    .chain(images),
            );
        }
        self.ctr(["namespaces", "rm", &self.name]);
    }
}

impl Drop for Namespace<'_> {
    fn drop(&mut self) {
        if !self.cleaned_up {
            self.clean_up();
        }
    }
}

/// The non-empty lines `ctr` printed on stdout.
fn lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

fn read_in_thread(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Whether process `pid` runs the test shim for the containerd on `socket`.
fn is_our_shim(pid: u32, socket: &str) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false; // gone, or not a process
    };
    let args: Vec<&[u8]> = cmdline.split(|&byte| byte == 0).collect();
    let runs_the_shim = args
        .first()
        .is_some_and(|program| program.ends_with(TEST_SHIM_BINARY.as_bytes()));
    let for_this_containerd = args
        .windows(2)
        .any(|pair| pair[0] == b"-address" && pair[1] == socket.as_bytes());
    runs_the_shim && for_this_containerd
}

/// Sends SIGKILL to `pid` if it is still a shim of the containerd on
/// `socket` (never to a PID some other program has taken since).
fn kill_if_ours(pid: u32, socket: &str) {
    if !is_our_shim(pid, socket) {
        return;
    }
    let _ = Command::new(require_tool("kill", "the Debian package `procps`"))
        .args(["-KILL", &pid.to_string()])
        .output();
}

/// Unmounts (lazily, deepest first) every mount point below `dir`, so
/// removing the folder never descends into a container's root file system.
fn unmount_below(dir: &Path) {
    let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    // The fifth field is the mount point (spaces escaped as \040).
    let mut points: Vec<PathBuf> = mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|point| PathBuf::from(point.replace("\\040", " ")))
        .filter(|point| point.starts_with(dir))
        .collect();
    points.sort_by_key(|point| std::cmp::Reverse(point.components().count()));
    for point in points {
        let _ = Command::new(require_tool("umount", "the Debian package `mount`"))
            .arg("--lazy")
            .arg(&point)
            .output();
    }
}
