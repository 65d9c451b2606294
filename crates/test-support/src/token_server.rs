//! A token server for distribution's `auth: token` (the docker registry
//! token protocol), on 127.0.0.1 in a thread of the test: `GET
//! /token?service=…&scope=…` answers `{"token", "access_token",
//! "expires_in"}` with a JWT signed RS256 by a key and self-signed
//! certificate made with `openssl` (which also signs each token, so no
//! crypto crate is needed). The JWT header carries the certificate as `x5c`;
//! the registry checks it against its `rootcertbundle`, which is that same
//! certificate ([`TokenServer::registry_auth`]).
//!
//! It grants every scope exactly the actions asked, to the one user it knows
//! (when made with credentials: other or missing credentials get 401), and
//! records each scope asked for ([`TokenServer::scopes`]), so a test can
//! check what a client asked. It is stopped when dropped.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::json;
use tempfile::TempDir;

use crate::require_tool;
use crate::servers::run_openssl;

/// The `service` the registry names in its challenge and the token's `aud`.
pub const SERVICE: &str = "oci-tar-builder-test-registry";
/// The token's `iss`, which the registry requires.
pub const ISSUER: &str = "oci-tar-builder-test-token-server";
/// How long a token is valid (`expires_in`, seconds).
const LIFETIME: u64 = 300;

/// What the registry's `auth: token` section needs to trust a token server.
#[derive(Debug, Clone)]
pub struct TokenAuth {
    /// Where clients ask for tokens (`http://127.0.0.1:PORT/token`).
    pub realm: String,
    /// The `service` of the challenge; tokens' audience.
    pub service: String,
    /// Tokens' issuer.
    pub issuer: String,
    /// The PEM certificate tokens are verified against.
    pub root_cert_bundle: PathBuf,
}

/// What a request to the token server was: its scopes, and whether it was
/// refused (401).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// Every `scope` parameter, decoded, in order.
    pub scopes: Vec<String>,
    /// The `service` parameter, decoded.
    pub service: Option<String>,
    /// Whether it was answered 401 (wrong or missing credentials).
    pub refused: bool,
}

struct Shared {
    stop: AtomicBool,
    requests: Mutex<Vec<TokenRequest>>,
}

/// The token server: a thread accepting on 127.0.0.1, stopped when dropped.
pub struct TokenServer {
    port: u16,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    cert: PathBuf,
    _dir: TempDir,
}

struct Signer {
    openssl: PathBuf,
    key: PathBuf,
    /// base64 (standard, padded) of the certificate's DER: the `x5c` entry.
    x5c: String,
    /// `Basic …` the server requires, if any.
    expected_authorization: Option<String>,
}

impl TokenServer {
    /// Starts a token server that gives tokens to anyone (`None`) or only
    /// to Basic credentials `user`, `password`.
    pub fn start(credentials: Option<(&str, &str)>) -> Self {
        let openssl = require_tool("openssl", "the Debian package `openssl`");
        let dir = tempfile::Builder::new()
            .prefix("token-server-")
            .tempdir()
            .expect("a temporary folder for the token server");
        let run = |args: &[&str]| run_openssl(dir.path(), args);
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "token.key",
            "-out",
            "token.pem",
            "-days",
            "2",
            "-subj",
            "/CN=oci-tar-builder test token signer",
        ]);
        run(&[
            "x509",
            "-in",
            "token.pem",
            "-outform",
            "DER",
            "-out",
            "token.der",
        ]);
        let der = fs::read(dir.path().join("token.der")).expect("reading the certificate's DER");
        let signer = Signer {
            openssl,
            key: dir.path().join("token.key"),
            x5c: STANDARD.encode(der),
            expected_authorization: credentials.map(|(user, password)| {
                format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
            }),
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("binding 127.0.0.1:0 for the token server");
        let port = listener
            .local_addr()
            .expect("the token server's address")
            .port();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            requests: Mutex::new(Vec::new()),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        // A broken connection is the client's problem; the
                        // test sees it from the client's side.
                        let _ = serve(stream, &signer, &shared);
                    }
                }
            })
        };
        Self {
            port,
            shared,
            thread: Some(thread),
            cert: dir.path().join("token.pem"),
            _dir: dir,
        }
    }

    /// The port it listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The settings a registry needs to send clients here and trust the
    /// tokens.
    pub fn registry_auth(&self) -> TokenAuth {
        TokenAuth {
            realm: format!("http://127.0.0.1:{}/token", self.port),
            service: SERVICE.to_owned(),
            issuer: ISSUER.to_owned(),
            root_cert_bundle: self.cert.clone(),
        }
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Every scope asked for so far, by granted and refused requests alike.
    pub fn scopes(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .flat_map(|request| request.scopes)
            .collect()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so it sees the flag.
        let _ = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one HTTP/1.x request on `stream`, then closes it.
fn serve(stream: TcpStream, signer: &Signer, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut authorization = None;
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            let value = value.trim().to_owned();
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value);
            } else if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut stream = stream;
    if method != "GET" || path != "/token" {
        return respond(
            &mut stream,
            "404 Not Found",
            r#"{"details":"only GET /token"}"#,
        );
    }
    let mut scopes = Vec::new();
    let mut service = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match name {
            // One parameter may hold several scopes separated by spaces.
            "scope" => scopes.extend(
                value
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            ),
            "service" => service = Some(value),
            _ => {}
        }
    }
    let refused = signer
        .expected_authorization
        .as_ref()
        .is_some_and(|expected| authorization.as_deref() != Some(expected.as_str()));
    shared
        .requests
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(TokenRequest {
            scopes: scopes.clone(),
            service: service.clone(),
            refused,
        });
    if refused {
        return respond(
            &mut stream,
            "401 Unauthorized",
            r#"{"details":"wrong or missing credentials"}"#,
        );
    }
    let token = signer.token(&scopes);
    let body = json!({"token": token, "access_token": token, "expires_in": LIFETIME}).to_string();
    respond(&mut stream, "200 OK", &body)
}

fn respond(stream: &mut TcpStream, status: &str, body: &str) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

impl Signer {
    /// A JWT granting each `repository:NAME:ACTIONS` scope its actions.
    fn token(&self, scopes: &[String]) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_secs();
        let access: Vec<_> = scopes
            .iter()
            .filter_map(|scope| {
                let (kind, rest) = scope.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(json!({
                    "type": kind,
                    "name": name,
                    "actions": actions.split(',').collect::<Vec<_>>(),
                }))
            })
            .collect();
        let header = json!({"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]});
        let claims = json!({
            "iss": ISSUER,
            "sub": "test-user",
            "aud": SERVICE,
            "exp": now + LIFETIME,
            "nbf": now.saturating_sub(10),
            "iat": now,
            "jti": format!("{now}-{}", access.len()),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 of `data` (RS256), by `openssl dgst`.
    fn sign(&self, data: &[u8]) -> Vec<u8> {
        let mut child = Command::new(&self.openssl)
            .args(["dgst", "-sha256", "-sign"])
            .arg(&self.key)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running openssl dgst");
        child
            .stdin
            .take()
            .expect("openssl's stdin")
            .write_all(data)
            .expect("writing to openssl dgst");
        let output = child.wait_with_output().expect("waiting for openssl dgst");
        assert!(
            output.status.success(),
            "openssl dgst -sign: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }
}

/// `%XX` and `+` decoded (a query parameter's value).
fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(byte) = u8::from_str_radix(hex, 16) {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
