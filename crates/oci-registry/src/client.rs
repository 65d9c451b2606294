//! HTTP to one repository of a registry: authentication, redirects and
//! bounded retries, on a blocking `ureq` agent.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use ureq::http::{HeaderMap, Request};
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::{Agent, SendBody};

use crate::auth::{parse_challenge, token_from_response, Challenge, Credentials};
use crate::target::{is_loopback_host, RegistryRef};
use crate::RegistryError;

/// The most of a response body read (error bodies, tokens): registries'
/// answers are small; a larger one is cut here.
const MAX_RESPONSE_BODY: u64 = 1024 * 1024;

/// The `client_id` sent with an OAuth2 refresh-token grant.
const OAUTH_CLIENT_ID: &str = "oci-tar-builder";

/// How many redirects a GET or HEAD follows.
const MAX_REDIRECTS: usize = 5;

/// How often and how long transient failures (408, 429, 5xx, a broken
/// connection) are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The most attempts of one operation, the first included.
    pub attempts: u32,
    /// The wait before the second attempt; it doubles after each.
    pub first_delay: Duration,
    /// The longest wait between two attempts (a longer `Retry-After` is cut
    /// to this).
    pub max_delay: Duration,
    /// No new attempt starts after this long since the first.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, waiting 0.5 s, 1 s, 2 s, 4 s (or what `Retry-After`
    /// asks, up to 30 s), within 2 minutes.
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(120),
        }
    }
}

/// How to reach a registry.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Plain HTTP (`Some(true)`), HTTPS (`Some(false)`), or by host
    /// (`None`): plain HTTP for a loopback host unless a CA file is given,
    /// HTTPS otherwise.
    pub plain_http: Option<bool>,
    /// A PEM file of CA certificates trusted beside the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The credentials to answer a challenge with; without them only
    /// anonymous access (and anonymous tokens) is possible.
    pub credentials: Option<Credentials>,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Upload every blob in chunks of at most this many bytes (`PATCH`s,
    /// then `PUT ?digest=`), raised to the registry's
    /// `OCI-Chunk-Min-Length`. Without it a blob goes in one `PUT`, and in
    /// chunks of [`DEFAULT_CHUNK_SIZE`](crate::DEFAULT_CHUNK_SIZE) when
    /// the registry refuses that as too large (413).
    pub max_chunk_size: Option<u64>,
}

/// A request body.
pub(crate) enum Body<'a> {
    /// None at all (GET, HEAD).
    None,
    /// Bytes in memory.
    Bytes(&'a [u8]),
    /// `len` bytes streamed from a reader, with `Content-Length: len`.
    Stream(&'a mut dyn Read, u64),
}

/// A response: status, headers, and up to [`MAX_RESPONSE_BODY`] of body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Why one attempt failed: the error, and what the registry said about
/// trying again (`Retry-After`, or a `WWW-Authenticate` challenge on 401).
pub(crate) struct Attempt {
    pub(crate) error: Box<RegistryError>,
    retry_after: Option<Duration>,
    challenge: Option<String>,
}

impl From<RegistryError> for Attempt {
    fn from(error: RegistryError) -> Self {
        Attempt {
            error: Box::new(error),
            retry_after: None,
            challenge: None,
        }
    }
}

/// HTTP to one repository of one registry.
pub(crate) struct Client {
    agent: Agent,
    /// The registry as named in references, for messages.
    registry: String,
    /// `scheme://host[:port]` of the registry's API.
    base: String,
    repository: String,
    plain_http: bool,
    credentials: Option<Credentials>,
    /// The `Authorization` value sent to the registry's own origin.
    authorization: Option<String>,
    /// Other repositories a bearer token must also allow pulling from
    /// (those blobs are mounted from).
    pull_from: Vec<String>,
    retry: RetryPolicy,
}

impl Client {
    /// A client for `target`'s repository. Nothing is sent yet.
    pub(crate) fn new(target: &RegistryRef, options: ClientOptions) -> Result<Self, RegistryError> {
        let plain_http = options
            .plain_http
            .unwrap_or(target.is_loopback() && options.ca_file.is_none());
        let tls = tls_config(options.ca_file.as_ref())?;
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("oci-tar-builder/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .timeout_recv_body(Some(Duration::from_secs(60)))
            .tls_config(tls)
            .build()
            .into();
        let scheme = if plain_http { "http" } else { "https" };
        Ok(Client {
            agent,
            registry: target.registry().to_owned(),
            base: format!("{scheme}://{}", target.api_host()),
            repository: target.repository().to_owned(),
            plain_http,
            credentials: options.credentials,
            authorization: None,
            pull_from: Vec::new(),
            retry: options.retry,
        })
    }

    /// Asks bearer tokens to allow pulling from `repositories` too; a
    /// token already held without that is dropped, so the registry's next
    /// challenge gets one that does.
    pub(crate) fn pull_from(&mut self, repositories: &[String]) {
        if self.pull_from != repositories {
            self.pull_from = repositories.to_vec();
            if self
                .authorization
                .as_deref()
                .is_some_and(|a| a.starts_with("Bearer "))
            {
                self.authorization = None;
            }
        }
    }

    /// The registry as named in references.
    pub(crate) fn registry(&self) -> &str {
        &self.registry
    }

    /// `BASE/v2/REPOSITORY/{rest}`.
    pub(crate) fn url(&self, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.base, self.repository)
    }

    /// An upload `Location` (absolute, or a path on the registry) as a URL.
    pub(crate) fn resolve(&self, location: &str, what: &str) -> Result<String, RegistryError> {
        if location.starts_with("http://") || location.starts_with("https://") {
            Ok(location.to_owned())
        } else if location.starts_with('/') {
            Ok(format!("{}{location}", self.base))
        } else {
            Err(self.protocol(
                what,
                format!("upload location {location:?} is not a URL or an absolute path"),
            ))
        }
    }

    pub(crate) fn protocol(&self, what: &str, reason: String) -> RegistryError {
        RegistryError::Protocol {
            registry: self.registry.clone(),
            what: what.to_owned(),
            reason,
        }
    }

    /// Checks that the registry answers (`GET /v2/`), and authenticates at
    /// once if it asks, so that no blob is streamed into a refusal.
    pub(crate) fn ping(&mut self) -> Result<(), RegistryError> {
        let url = format!("{}/v2/", self.base);
        self.with_retries("the API version check (/v2/)", |client| {
            let reply = client.send("GET", &url, &[], Body::None, "/v2/")?;
            client.expect(reply, "GET", "/v2/", &[200]).map(|_| ())
        })
    }

    /// Runs `operation` until it succeeds, fails for good, or the retry
    /// budget is spent; answers a 401 challenge (at most twice in a row).
    pub(crate) fn with_retries<T>(
        &mut self,
        what: &str,
        mut operation: impl FnMut(&mut Self) -> Result<T, Attempt>,
    ) -> Result<T, RegistryError> {
        let start = Instant::now();
        let mut attempts = 0;
        let mut challenges = 0;
        loop {
            attempts += 1;
            let failure = match operation(self) {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            if let Some(challenge) = failure.challenge {
                challenges += 1;
                if challenges > 2 {
                    return Err(self.unauthorized(
                        what,
                        if self.credentials.is_some() {
                            "the registry refused the credentials"
                        } else {
                            "the registry asks for credentials and none were given"
                        },
                    ));
                }
                self.authenticate(&challenge, what)?;
                attempts -= 1;
                continue;
            }
            if !failure.error.is_transient() {
                return Err(*failure.error);
            }
            let elapsed = start.elapsed();
            if attempts >= self.retry.attempts || elapsed >= self.retry.max_elapsed {
                return Err(RegistryError::GaveUp {
                    attempts,
                    elapsed,
                    last: failure.error,
                });
            }
            let backoff = self
                .retry
                .first_delay
                .saturating_mul(1 << (attempts - 1).min(16));
            std::thread::sleep(
                failure
                    .retry_after
                    .unwrap_or(backoff)
                    .min(self.retry.max_delay),
            );
        }
    }

    fn unauthorized(&self, what: &str, reason: &str) -> RegistryError {
        RegistryError::Unauthorized {
            registry: self.registry.clone(),
            what: what.to_owned(),
            reason: reason.to_owned(),
        }
    }

    /// Answers a `WWW-Authenticate` challenge: Basic with the credentials,
    /// or a bearer token for `repository:NAME:pull,push` from the realm.
    fn authenticate(&mut self, header: &str, what: &str) -> Result<(), RegistryError> {
        let Some(challenge) = parse_challenge(header) else {
            return Err(self.unauthorized(
                what,
                "the registry's challenge is neither Basic nor Bearer with a realm",
            ));
        };
        match challenge {
            Challenge::Basic => {
                let Some(credentials) = &self.credentials else {
                    return Err(self.unauthorized(
                        what,
                        "the registry asks for credentials and none were given",
                    ));
                };
                if credentials.is_identity_token() {
                    return Err(self.unauthorized(
                        what,
                        "the registry asks for a user and password (Basic auth), and the credentials are an identity token, which only a token server takes",
                    ));
                }
                if self.plain_http && !is_loopback_host(host_of(&self.base)) {
                    return Err(RegistryError::CredentialsOverPlainHttp {
                        registry: self.registry.clone(),
                    });
                }
                self.authorization = Some(credentials.basic_header());
                Ok(())
            }
            Challenge::Bearer { realm, service, .. } => {
                let token = self.fetch_token(&realm, service.as_deref(), what)?;
                self.authorization = Some(format!("Bearer {token}"));
                Ok(())
            }
        }
    }

    /// A token for pushing to the repository from the token server `realm`:
    /// `GET` with Basic credentials (or none), or for an identity token the
    /// OAuth2 refresh-token grant (`POST` of a form).
    fn fetch_token(
        &mut self,
        realm: &str,
        service: Option<&str>,
        what: &str,
    ) -> Result<String, RegistryError> {
        if !(realm.starts_with("https://") || realm.starts_with("http://")) {
            return Err(self.protocol(what, format!("token realm {realm:?} is not an http(s) URL")));
        }
        let scope = format!("repository:{}:pull,push", self.repository);
        // Mounting from another repository needs a token that may pull it.
        let scopes: Vec<String> = std::iter::once(scope.clone())
            .chain(
                self.pull_from
                    .iter()
                    .map(|repository| format!("repository:{repository}:pull")),
            )
            .collect();
        let mut url = format!(
            "{realm}{}{}",
            if realm.contains('?') { '&' } else { '?' },
            scopes
                .iter()
                .map(|scope| format!("scope={}", encode(scope)))
                .collect::<Vec<_>>()
                .join("&")
        );
        if let Some(service) = service {
            url.push_str(&format!("&service={}", encode(service)));
        }
        if self.credentials.is_some()
            && realm.starts_with("http://")
            && !is_loopback_host(host_of(realm))
        {
            return Err(RegistryError::CredentialsOverPlainHttp {
                registry: host_of(realm).to_owned(),
            });
        }
        let (basic, form) = match &self.credentials {
            Some(credentials) if credentials.is_identity_token() => {
                let mut form = format!(
                    "grant_type=refresh_token&client_id={}&scope={}&refresh_token={}",
                    encode(OAUTH_CLIENT_ID),
                    encode(&scopes.join(" ")),
                    encode(credentials.secret())
                );
                if let Some(service) = service {
                    form.push_str(&format!("&service={}", encode(service)));
                }
                (None, Some(form))
            }
            Some(credentials) => (Some(credentials.basic_header()), None),
            None => (None, None),
        };
        let token_server = host_of(realm).to_owned();
        // The token server is another host: the message names the
        // registry the token was for too.
        let token_what = format!("token for {scope} on {}", self.registry);
        self.with_retries(&token_what, |client| {
            let reply = match &form {
                Some(form) => {
                    let request = Request::builder()
                        .method("POST")
                        .uri(realm)
                        .header("Content-Type", "application/x-www-form-urlencoded");
                    client.run(
                        request,
                        Body::Bytes(form.as_bytes()),
                        &token_what,
                        &token_server,
                    )?
                }
                None => {
                    let mut request = Request::builder().method("GET").uri(&url);
                    if let Some(basic) = &basic {
                        request = request.header("Authorization", basic);
                    }
                    client.run(request, Body::None, &token_what, &token_server)?
                }
            };
            if reply.status == 401 || reply.status == 403 {
                return Err(Attempt::from(RegistryError::Unauthorized {
                    registry: token_server.clone(),
                    what: token_what.clone(),
                    reason: format!("the token server answered HTTP {}", reply.status),
                }));
            }
            let method = if form.is_some() { "POST" } else { "GET" };
            let reply = client.expect_from(&token_server, reply, method, &token_what, &[200])?;
            token_from_response(&reply.body).ok_or_else(|| {
                Attempt::from(RegistryError::Protocol {
                    registry: token_server.clone(),
                    what: token_what.clone(),
                    reason: "the token server's answer holds no token".to_owned(),
                })
            })
        })
    }

    /// Sends one request to `url`, with the `Authorization` header only if
    /// `url` is on the registry's own origin; a GET or HEAD follows
    /// redirects, and drops `Authorization` on one to another origin.
    pub(crate) fn send(
        &mut self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        mut body: Body<'_>,
        what: &str,
    ) -> Result<Reply, Attempt> {
        let mut url = url.to_owned();
        let follows = matches!(method, "GET" | "HEAD");
        for _ in 0..=MAX_REDIRECTS {
            let mut request = Request::builder().method(method).uri(&url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(authorization) = &self.authorization {
                if origin_of(&url) == origin_of(&self.base) {
                    request = request.header("Authorization", authorization);
                }
            }
            let body_now = std::mem::replace(&mut body, Body::None);
            let registry = self.registry.clone();
            let reply = self.run(request, body_now, what, &registry)?;
            let redirect = matches!(reply.status, 301 | 302 | 303 | 307 | 308);
            match reply.header("location") {
                Some(location) if redirect && follows => {
                    url = if location.starts_with('/') {
                        format!("{}{location}", origin_of(&url))
                    } else {
                        location.to_owned()
                    };
                }
                _ => {
                    if reply.status == 401 {
                        let challenge = reply.header("www-authenticate").unwrap_or("").to_owned();
                        return Err(Attempt {
                            error: Box::new(self.status_error(
                                &self.registry,
                                &reply,
                                method,
                                what,
                            )),
                            retry_after: None,
                            challenge: Some(challenge),
                        });
                    }
                    return Ok(reply);
                }
            }
        }
        Err(Attempt::from(self.protocol(
            what,
            format!("more than {MAX_REDIRECTS} redirects"),
        )))
    }

    /// Runs one request; a transport failure is an error naming `server`.
    fn run(
        &self,
        request: ureq::http::request::Builder,
        body: Body<'_>,
        what: &str,
        server: &str,
    ) -> Result<Reply, Attempt> {
        let transport = |reason: String| {
            Attempt::from(RegistryError::Transport {
                registry: server.to_owned(),
                what: what.to_owned(),
                reason,
            })
        };
        let head = request.method_ref().is_some_and(|m| m == "HEAD");
        let plain = request
            .uri_ref()
            .and_then(|uri| uri.scheme_str())
            .is_some_and(|scheme| scheme == "http");
        let make_error = |e: ureq::http::Error| transport(format!("cannot make the request: {e}"));
        let response = match body {
            Body::None => {
                let request = request.body(SendBody::none()).map_err(make_error)?;
                self.agent.run(request)
            }
            Body::Bytes(bytes) => {
                let mut slice = bytes;
                let request = request
                    .header("Content-Length", bytes.len())
                    .body(SendBody::from_reader(&mut slice))
                    .map_err(make_error)?;
                self.agent.run(request)
            }
            Body::Stream(reader, len) => {
                let request = request
                    .header("Content-Length", len)
                    .body(SendBody::from_reader(reader))
                    .map_err(make_error)?;
                self.agent.run(request)
            }
        }
        .map_err(|e| match e {
            ureq::Error::Io(ref io) if is_tls_failure(io, plain) => {
                Attempt::from(RegistryError::Tls {
                    registry: server.to_owned(),
                    what: what.to_owned(),
                    reason: io.to_string(),
                })
            }
            ureq::Error::Rustls(_) | ureq::Error::Tls(_) => Attempt::from(RegistryError::Tls {
                registry: server.to_owned(),
                what: what.to_owned(),
                reason: e.to_string(),
            }),
            other => transport(other.to_string()),
        })?;
        let (parts, mut body) = response.into_parts();
        let body = if head {
            Vec::new()
        } else {
            body.with_config()
                .limit(MAX_RESPONSE_BODY)
                .read_to_vec()
                .map_err(|e| transport(format!("reading the answer: {e}")))?
        };
        Ok(Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    /// `reply` if its status is one of `ok`, else the status error (with
    /// the registry's `Retry-After`).
    pub(crate) fn expect(
        &self,
        reply: Reply,
        method: &'static str,
        what: &str,
        ok: &[u16],
    ) -> Result<Reply, Attempt> {
        self.expect_from(&self.registry, reply, method, what, ok)
    }

    fn expect_from(
        &self,
        server: &str,
        reply: Reply,
        method: &'static str,
        what: &str,
        ok: &[u16],
    ) -> Result<Reply, Attempt> {
        if ok.contains(&reply.status) {
            return Ok(reply);
        }
        let retry_after = reply
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Err(Attempt {
            error: Box::new(self.status_error(server, &reply, method, what)),
            retry_after,
            challenge: None,
        })
    }

    pub(crate) fn status_error(
        &self,
        server: &str,
        reply: &Reply,
        method: &'static str,
        what: &str,
    ) -> RegistryError {
        let (code, message) = error_code(&reply.body);
        RegistryError::Status {
            registry: server.to_owned(),
            what: what.to_owned(),
            method,
            status: reply.status,
            code,
            message,
        }
    }
}

/// The first `errors[].code` and `message` of a registry's JSON error body.
fn error_code(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let first = value.get("errors").and_then(|e| e.get(0));
    let field = |name: &str| {
        first
            .and_then(|f| f.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    (field("code"), field("message"))
}

/// Whether `error`, on a connection that is `plain` HTTP or not, is a
/// failed TLS handshake (a certificate refused, a server answering in
/// plain text): rustls reports one as invalid data on the stream, or as an
/// I/O error of another kind that carries its error.
fn is_tls_failure(error: &std::io::Error, plain: bool) -> bool {
    !plain && (error.kind() == std::io::ErrorKind::InvalidData || carries_tls_error(error))
}

/// Whether `error` is, or was caused by, an error of the TLS library.
fn carries_tls_error(error: &std::io::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = error.get_ref().map(|inner| {
        let inner: &(dyn std::error::Error + 'static) = inner;
        inner
    });
    while let Some(error) = cause {
        if error.is::<rustls::Error>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// `scheme://host[:port]` of a URL.
pub(crate) fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// `host[:port]` of a URL.
fn host_of(url: &str) -> &str {
    let origin = origin_of(url);
    origin.find("://").map_or(origin, |i| &origin[i + 3..])
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The system's roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured),
/// and the certificates of `ca_file`; Mozilla's roots when the system has
/// none and no file is given.
fn tls_config(ca_file: Option<&PathBuf>) -> Result<TlsConfig, RegistryError> {
    let mut roots: Vec<Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if let Some(path) = ca_file {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| RegistryError::Certificate {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let before = roots.len();
        for item in ureq::tls::parse_pem(&bytes) {
            match item {
                Ok(PemItem::Certificate(cert)) => roots.push(cert.to_owned()),
                Ok(_) => {}
                Err(e) => {
                    return Err(RegistryError::Certificate {
                        path: shown,
                        reason: format!("not a PEM file of certificates: {e}"),
                    })
                }
            }
        }
        if roots.len() == before {
            return Err(RegistryError::Certificate {
                path: shown,
                reason: "holds no PEM certificate".to_owned(),
            });
        }
    }
    let roots = if roots.is_empty() {
        RootCerts::WebPki
    } else {
        RootCerts::Specific(Arc::new(roots))
    };
    Ok(TlsConfig::builder().root_certs(roots).build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_and_hosts() {
        assert_eq!(origin_of("http://a:1/v2/x?y"), "http://a:1");
        assert_eq!(origin_of("https://b"), "https://b");
        assert_eq!(host_of("https://b:5/t?x=/"), "b:5");
    }

    #[test]
    fn error_bodies_give_code_and_message() {
        let body = br#"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content","detail":{}}]}"#;
        assert_eq!(
            error_code(body),
            (
                Some("DIGEST_INVALID".into()),
                Some("provided digest did not match uploaded content".into())
            )
        );
        assert_eq!(error_code(b"<html>"), (None, None));
    }

    /// An error whose cause is `source` (as a TLS stream wraps rustls').
    #[derive(Debug)]
    struct Wrapping(rustls::Error);

    impl std::fmt::Display for Wrapping {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("the stream failed")
        }
    }

    impl std::error::Error for Wrapping {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_failed_handshake_is_told_from_other_io_errors() {
        use std::io::{Error, ErrorKind};
        let refused = || rustls::Error::General("invalid peer certificate: UnknownIssuer".into());
        // rustls' error itself, or as the cause of another, in an I/O error
        // of any kind: a TLS failure (not retried), unless plain HTTP.
        for kind in [ErrorKind::Other, ErrorKind::ConnectionAborted] {
            let direct = Error::new(kind, refused());
            let nested = Error::new(kind, Wrapping(refused()));
            for error in [&direct, &nested] {
                assert!(carries_tls_error(error), "{error:?}");
                assert!(is_tls_failure(error, false), "{error:?}");
                assert!(!is_tls_failure(error, true), "{error:?}");
            }
        }
        // Invalid data on a TLS stream is one too, whatever it carries.
        let garbled = Error::new(ErrorKind::InvalidData, "received corrupt message");
        assert!(!carries_tls_error(&garbled));
        assert!(is_tls_failure(&garbled, false));
        assert!(!is_tls_failure(&garbled, true));
        // Anything else is the network's (retried).
        for error in [
            Error::from(ErrorKind::ConnectionRefused),
            Error::other("connection reset"),
            Error::new(ErrorKind::TimedOut, Wrapping(refused()).to_string()),
        ] {
            assert!(!carries_tls_error(&error), "{error:?}");
            assert!(!is_tls_failure(&error, false), "{error:?}");
        }
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
    }
}
