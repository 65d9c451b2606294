//! Real servers for interoperability tests: containerd on its own socket and
//! a distribution registry on 127.0.0.1, each started by the test in a
//! temporary folder and killed by the PID it was started with when its guard
//! is dropped (also when a test panics: the guard drops while unwinding).
//!
//! Tests in one binary run on several threads; [`Shared`] starts a server on
//! first use and hands every test an [`Arc`] of it, so a binary starts each
//! server once while its tests overlap, and the last test to finish with it
//! stops it (a later test starts a fresh one). Nothing listens on any address
//! but 127.0.0.1.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::require_tool;
use crate::token_server::TokenAuth;

/// How long a server may take to answer after it was started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A server started once and shared by the tests that overlap in time.
pub struct Shared<T> {
    current: Mutex<Weak<T>>,
    start: fn() -> T,
}

impl<T> Shared<T> {
    /// A slot that starts its server with `start` when first needed.
    pub const fn new(start: fn() -> T) -> Self {
        Self {
            current: Mutex::new(Weak::new()),
            start,
        }
    }

    /// The running server, started now if no test holds one.
    pub fn get(&self) -> Arc<T> {
        // A test that panicked while holding the lock cannot have left a
        // half-made server behind: the slot only ever holds a finished one.
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(server) = current.upgrade() {
            return server;
        }
        let server = Arc::new((self.start)());
        *current = Arc::downgrade(&server);
        server
    }
}

/// A child process killed (by its PID) and reaped when dropped.
struct Guarded {
    child: Child,
    what: &'static str,
}

impl Guarded {
    fn spawn(mut command: Command, log: &Path, what: &'static str) -> Self {
        let log_file = fs::File::create(log).expect("creating a server log file");
        let child = command
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("cloning a log file handle"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {what}: {e}"));
        Self { child, what }
    }

    /// Panics with the server's log if it has exited.
    fn assert_running(&mut self, log: &Path) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}) while starting; its log:\n{}",
                self.what,
                fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        // `Child::kill` sends SIGKILL to the PID we started, and nothing else.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `ready` until it holds, panicking with the log after the timeout.
fn wait_until(process: &mut Guarded, log: &Path, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while !ready() {
        process.assert_running(log);
        assert!(
            Instant::now() < deadline,
            "{} did not answer within {STARTUP_TIMEOUT:?}; its log:\n{}",
            process.what,
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A containerd with its own config, root, state and socket in a temporary
/// folder, and the `ctr` that talks to it.
pub struct Containerd {
    // Field order matters: the process is killed before its folder is removed.
    process: Guarded,
    ctr: PathBuf,
    socket: PathBuf,
    dir: TempDir,
}

impl Containerd {
    /// Starts the `containerd` and uses the `ctr` found on PATH (Debian's
    /// package `containerd`).
    pub fn start() -> Self {
        let containerd = require_tool("containerd", "the Debian package `containerd`");
        let ctr = require_tool("ctr", "the Debian package `containerd`");
        Self::start_binaries(&containerd, &ctr)
    }

    /// Starts `containerd` (a program path) and talks to it with `ctr`.
    pub fn start_binaries(containerd: &Path, ctr: &Path) -> Self {
        Self::start_binaries_with_path(containerd, ctr, None)
    }

    /// [`start_binaries`](Self::start_binaries), with `bin_dir` first on
    /// containerd's PATH: containerd finds the shim of a runtime
    /// `io.containerd.NAME.v1` as `containerd-shim-NAME-v1` on its PATH.
    pub fn start_binaries_with_path(containerd: &Path, ctr: &Path, bin_dir: Option<&Path>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("containerd-")
            .tempdir()
            .expect("a temporary folder for containerd");
        let root = dir.path();
        let socket = root.join("sock");
        // The CRI plugin (Kubernetes) is not needed to import images and
        // would look for CNI networks; the opt plugin would write to /opt.
        let config = format!(
            "version = 2\n\
             root = {root:?}\n\
             state = {state:?}\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = {socket:?}\n\
             [plugins.\"io.containerd.internal.v1.opt\"]\n  path = {opt:?}\n",
            root = root.join("root"),
            state = root.join("state"),
            opt = root.join("opt"),
        );
        let config_path = root.join("config.toml");
        fs::write(&config_path, config).expect("writing containerd's config");
        let log = root.join("containerd.log");
        let mut command = Command::new(containerd);
        command.arg("--config").arg(&config_path);
        if let Some(bin_dir) = bin_dir {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let dirs = std::iter::once(bin_dir.to_path_buf()).chain(std::env::split_paths(&path));
            command.env(
                "PATH",
                std::env::join_paths(dirs).expect("a PATH of valid folders"),
            );
        }
        let mut process = Guarded::spawn(command, &log, "containerd");
        let ctr_version = |socket: &Path| {
            Command::new(ctr)
                .arg("--address")
                .arg(socket)
                .arg("version")
                .output()
                .is_ok_and(|output| output.status.success())
        };
        wait_until(&mut process, &log, || {
            socket.exists() && ctr_version(&socket)
        });
        Self {
            process,
            ctr: ctr.to_path_buf(),
            socket,
            dir,
        }
    }

    /// The folder holding containerd's config, log, root and state.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `ctr --address SOCKET --namespace NAMESPACE ARGS…`. Tests give
    /// each case its own namespace, so cases sharing a containerd never see
    /// each other's images.
    pub fn ctr<I, S>(&self, namespace: &str, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Command::new(&self.ctr)
            .arg("--address")
            .arg(&self.socket)
            .arg("--namespace")
            .arg(namespace)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.ctr.display()))
    }

    /// The process ID of the containerd this guard started.
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// The `ctr` program that talks to it.
    pub fn ctr_path(&self) -> &Path {
        &self.ctr
    }

    /// Its socket (`ctr --address`).
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

/// A distribution registry (`docker-registry serve`) on 127.0.0.1 and a free
/// port, storing into a temporary folder; it logs every request (at level
/// `info`) to a file the tests can read ([`log`](Self::log)).
pub struct Registry {
    process: Guarded,
    port: u16,
    log: PathBuf,
    ca_cert: Option<PathBuf>,
    _dir: TempDir,
}

/// How a [`Registry`] is set up beyond the anonymous plain-HTTP default.
#[derive(Debug, Clone, Default)]
pub struct RegistrySetup {
    /// Serve HTTPS with a certificate for 127.0.0.1 signed by a CA made for
    /// the test (with `openssl`); [`Registry::ca_cert`] is its PEM file.
    pub tls: bool,
    /// htpasswd Basic auth with this one user and password.
    pub basic_auth: Option<(String, String)>,
    /// distribution's `auth: token`: clients get bearer tokens from the
    /// realm of a [`TokenServer`](crate::token_server::TokenServer), which
    /// the registry trusts by its certificate.
    pub token_auth: Option<TokenAuth>,
}

impl Registry {
    /// Starts `docker-registry` (Debian's package `docker-registry`),
    /// anonymous, over plain HTTP.
    pub fn start() -> Self {
        Self::start_with(&RegistrySetup::default())
    }

    /// Starts `docker-registry` set up as `setup` says.
    pub fn start_with(setup: &RegistrySetup) -> Self {
        let program = require_tool("docker-registry", "the Debian package `docker-registry`");
        // A port found free may be taken before the registry binds it: try again.
        let mut last_log = String::new();
        for _ in 0..3 {
            match Self::try_start(&program, setup) {
                Ok(registry) => return registry,
                Err(log) => last_log = log,
            }
        }
        panic!("docker-registry did not start; its last log:\n{last_log}");
    }

    fn try_start(program: &Path, setup: &RegistrySetup) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("registry-")
            .tempdir()
            .expect("a temporary folder for the registry");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\n\
             log:\n  level: info\n\
             storage:\n  filesystem:\n    rootdirectory: {root:?}\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            root = dir.path().join("data"),
        );
        let ca_cert = if setup.tls {
            let (ca, cert, key) = make_certificates(dir.path());
            config.push_str(&format!(
                "  tls:\n    certificate: {cert:?}\n    key: {key:?}\n"
            ));
            Some(ca)
        } else {
            None
        };
        assert!(
            setup.basic_auth.is_none() || setup.token_auth.is_none(),
            "a registry has one auth method: htpasswd or token"
        );
        if let Some((user, password)) = &setup.basic_auth {
            let hash = bcrypt::hash_with_result(password, 4)
                .expect("hashing the test password")
                .format_for_version(bcrypt::Version::TwoA);
            let htpasswd = dir.path().join("htpasswd");
            fs::write(&htpasswd, format!("{user}:{hash}\n")).expect("writing htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {htpasswd:?}\n"
            ));
        }
        if let Some(token) = &setup.token_auth {
            config.push_str(&format!(
                "auth:\n  token:\n    realm: {realm:?}\n    service: {service:?}\n    issuer: {issuer:?}\n    rootcertbundle: {bundle:?}\n",
                realm = token.realm,
                service = token.service,
                issuer = token.issuer,
                bundle = token.root_cert_bundle,
            ));
        }
        let config_path = dir.path().join("config.yml");
        fs::write(&config_path, config).expect("writing the registry's config");
        let log = dir.path().join("registry.log");
        let mut command = Command::new(program);
        command.arg("serve").arg(&config_path);
        let mut process = Guarded::spawn(command, &log, "docker-registry");
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            // Plain HTTP gets 200 (anonymous), 401 (auth) or, from a TLS
            // listener, 400: any answer means it is up.
            let answered = match http_get_status(port, "/v2/") {
                Some(status) => {
                    setup.tls
                        || setup.basic_auth.is_some()
                        || setup.token_auth.is_some()
                        || status == 200
                }
                None => false,
            };
            if answered {
                return Ok(Self {
                    process,
                    port,
                    log,
                    ca_cert,
                    _dir: dir,
                });
            }
            let exited = matches!(process.child.try_wait(), Ok(Some(_)));
            if exited || Instant::now() >= deadline {
                return Err(fs::read_to_string(&log).unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:PORT`, the registry's host for references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process ID of the registry this guard started.
    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// The registry's log so far (one `response completed` line per request).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).expect("reading the registry's log")
    }

    /// The requests logged so far, as `METHOD URI` (`PUT /v2/a/manifests/v1`).
    pub fn requests(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|line| line.contains("msg=\"response completed"))
            .filter_map(|line| {
                let field = |name: &str| {
                    let start = line.find(&format!(" {name}="))? + name.len() + 2;
                    let rest = &line[start..];
                    Some(if let Some(quoted) = rest.strip_prefix('"') {
                        quoted.split('"').next()?.to_owned()
                    } else {
                        rest.split(' ').next()?.to_owned()
                    })
                };
                Some(format!(
                    "{} {}",
                    field("http.request.method")?,
                    field("http.request.uri")?
                ))
            })
            .collect()
    }

    /// The PEM file of the CA that signed its certificate (with TLS), alone
    /// in its folder (skopeo's `--cert-dir`).
    pub fn ca_cert(&self) -> Option<&Path> {
        self.ca_cert.as_deref()
    }
}

/// A CA, and a certificate for 127.0.0.1 it signed, made with `openssl` in
/// `dir`: the paths of the CA certificate, the certificate and its key.
fn make_certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| run_openssl(dir, args);
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=oci-tar-builder test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("writing the certificate extensions");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    // A folder of its own, as skopeo's --cert-dir wants (every *.crt a CA).
    let ca_dir = dir.join("ca");
    fs::create_dir_all(&ca_dir).expect("a folder for the CA certificate");
    fs::copy(dir.join("ca.pem"), ca_dir.join("ca.crt")).expect("copying the CA certificate");
    (
        ca_dir.join("ca.crt"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// Runs `openssl ARGS…` in `dir`, panicking with its error output if it fails.
pub(crate) fn run_openssl(dir: &Path, args: &[&str]) {
    let openssl = require_tool("openssl", "the Debian package `openssl`");
    let output = Command::new(&openssl)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("running openssl");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("binding 127.0.0.1:0 to find a free port")
}

/// A minimal HTTP/1.0 request to 127.0.0.1:`port`: the status line's code,
/// and the response's headers and body as text.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Option<(u16, String)> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    Some((status, response))
}

fn http_get_status(port: u16, path: &str) -> Option<u16> {
    http_request(port, "GET", path, &[]).map(|(status, _)| status)
}

/// Where `scripts/install-test-deps.sh` unpacks Debian trixie's containerd
/// 1.7 (not installed system-wide); `OCI_TAR_BUILDER_CONTAINERD17` overrides it.
pub const CONTAINERD17_DEFAULT_DIR: &str = "/var/cache/oci-tar-builder/containerd-1.7";

/// The `containerd` and `ctr` 1.7 binaries, or a panic saying how to get them.
pub fn containerd17_binaries() -> (PathBuf, PathBuf) {
    let dir = std::env::var_os("OCI_TAR_BUILDER_CONTAINERD17")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(CONTAINERD17_DEFAULT_DIR));
    let bin = dir.join("root/usr/bin");
    let (containerd, ctr) = (bin.join("containerd"), bin.join("ctr"));
    assert!(
        containerd.is_file() && ctr.is_file(),
        "containerd 1.7 is not in {}: run scripts/install-test-deps.sh, which unpacks Debian \
         trixie's package `containerd` there (or set OCI_TAR_BUILDER_CONTAINERD17 to a folder \
         holding root/usr/bin/containerd and ctr)",
        dir.display()
    );
    (containerd, ctr)
}
