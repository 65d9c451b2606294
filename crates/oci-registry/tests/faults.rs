//! An in-process registry on 127.0.0.1 for what a real one will not do on
//! demand: 500 then success, 429 with `Retry-After`, a wrong
//! `Docker-Content-Digest`, the bearer-token flow, a redirect to another
//! host (which must not receive `Authorization`), a 401 that never ends,
//! an identity token's refresh-token grant, a mount answered with 202, a
//! cap on the size of a request (413), and a connection broken in the
//! middle of a chunk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oci_layout::{BlobSource, BytesBlob, ImageSink, LayoutError, Reference};
use oci_registry::{
    ClientOptions, Credentials, RegistryError, RegistryRef, RegistrySink, RetryPolicy,
};
use oci_spec::image::MediaType;

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    body_len: usize,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the handler answers: status, headers, body; status 0 closes the
/// connection without answering.
type Answer = (u16, Vec<(String, String)>, Vec<u8>);
type Handler = dyn Fn(&Seen, usize) -> Answer + Send + Sync;

/// A server on 127.0.0.1 answering each request with `handler` (given the
/// request and how many came before it); one request per connection. It
/// serves at most `limit` requests, then stops by itself.
struct Fake {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn start(handler: Arc<Handler>) -> Fake {
        Fake::start_capped(handler, usize::MAX)
    }

    /// As [`start`](Self::start), but a request whose body is over `cap`
    /// bytes is answered 413 at once, its body unread, and the connection
    /// closed (the client's writes then fail: a reset or a broken pipe), as
    /// proxies with a body-size cap do.
    fn start_capped(handler: Arc<Handler>, cap: usize) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().take(200) {
                let Ok(mut stream) = stream else { break };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or("").to_owned();
                let path = parts.next().unwrap_or("").to_owned();
                let (mut length, mut authorization) = (0usize, None);
                let mut headers = Vec::new();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.trim().split_once(':') {
                        headers.push((name.trim().to_owned(), value.trim().to_owned()));
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            "authorization" => authorization = Some(value.trim().to_owned()),
                            _ => {}
                        }
                    }
                }
                if length > cap {
                    let _ = stream.write_all(
                        b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
                    );
                    log.lock().unwrap().push(Seen {
                        method,
                        path,
                        authorization,
                        body_len: length,
                        body: Vec::new(),
                        headers,
                    });
                    continue;
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let request = Seen {
                    method,
                    path,
                    authorization,
                    body_len: length,
                    body,
                    headers,
                };
                let count = {
                    let mut seen = log.lock().unwrap();
                    seen.push(request.clone());
                    seen.len() - 1
                };
                let (status, headers, body) = handler(&request, count);
                if status == 0 {
                    // The connection breaks without an answer.
                    continue;
                }
                let mut response = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
                if !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                {
                    response.push_str(&format!("Content-Length: {}\r\n", body.len()));
                }
                for (name, value) in headers {
                    response.push_str(&format!("{name}: {value}\r\n"));
                }
                response.push_str("\r\n");
                let _ = stream.write_all(response.as_bytes());
                if request.method != "HEAD" {
                    let _ = stream.write_all(&body);
                }
            }
        });
        Fake { port, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(2),
        max_elapsed: Duration::from_secs(20),
    }
}

fn sink(port: u16, credentials: Option<Credentials>) -> Result<RegistrySink, RegistryError> {
    let target: RegistryRef = format!("127.0.0.1:{port}/fault/app:v1").parse().unwrap();
    RegistrySink::connect(
        target,
        ClientOptions {
            credentials,
            retry: fast_retries(),
            ..Default::default()
        },
    )
}

fn ok() -> Answer {
    (200, vec![], b"{}".to_vec())
}

fn header(name: &str, value: &str) -> (String, String) {
    (name.to_owned(), value.to_owned())
}

/// A manifest put answered by the registry as a real one does.
fn manifest_answer(digest: &str) -> Answer {
    (201, vec![header("Docker-Content-Digest", digest)], vec![])
}

#[test]
fn a_500_then_a_429_with_retry_after_are_retried_until_the_manifest_is_put() {
    let manifest = BytesBlob::new(b"{\"schemaVersion\":2}".to_vec());
    let digest = manifest.digest().to_string();
    let fake = Fake::start(Arc::new(move |request: &Seen, _| {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v2/") => ok(),
            ("PUT", path) if path.ends_with("/manifests/v1") => {
                // The first two manifest puts fail: 500, then 429 asking 1 s.
                static PUTS: Mutex<u32> = Mutex::new(0);
                let mut puts = PUTS.lock().unwrap();
                *puts += 1;
                match *puts {
                    1 => (
                        500,
                        vec![],
                        br#"{"errors":[{"code":"UNKNOWN","message":"boom"}]}"#.to_vec(),
                    ),
                    2 => (429, vec![header("Retry-After", "1")], vec![]),
                    _ => manifest_answer(&digest),
                }
            }
            _ => (404, vec![], vec![]),
        }
    }));
    let mut sink = sink(fake.port, None).unwrap();
    let reference: Reference = "127.0.0.1:1/fault/app:v1".parse().unwrap();
    let started = Instant::now();
    sink.put_manifest(&manifest, MediaType::ImageManifest, &reference, None)
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured ({:?})",
        started.elapsed()
    );
    let puts = fake.seen().iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 3);
}

#[test]
fn a_5xx_that_never_ends_gives_up_within_the_budget_naming_the_status_and_code() {
    let fake = Fake::start(Arc::new(|request: &Seen, _| match request.path.as_str() {
        "/v2/" => ok(),
        _ if request.method == "HEAD" => (404, vec![], vec![]),
        _ => (
            503,
            vec![],
            br#"{"errors":[{"code":"UNAVAILABLE","message":"down for maintenance"}]}"#.to_vec(),
        ),
    }));
    let mut sink = sink(fake.port, None).unwrap();
    let blob = BytesBlob::new(b"layer".to_vec());
    let error = sink.put_blob(&blob).unwrap_err().to_string();
    for part in [
        "POST",
        "503",
        "UNAVAILABLE",
        "down for maintenance",
        "gave up after 4 attempts",
        &blob.digest().to_string(),
    ] {
        assert!(error.contains(part), "{error:?} lacks {part}");
    }
}

#[test]
fn a_wrong_docker_content_digest_is_an_error() {
    let fake = Fake::start(Arc::new(|request: &Seen, _| {
        match request.method.as_str() {
            "GET" => ok(),
            _ => manifest_answer(
                "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            ),
        }
    }));
    let mut sink = sink(fake.port, None).unwrap();
    let manifest = BytesBlob::new(b"{}".to_vec());
    let reference: Reference = "127.0.0.1:1/fault/app:v1".parse().unwrap();
    let error = sink
        .put_manifest(&manifest, MediaType::ImageManifest, &reference, None)
        .unwrap_err();
    let LayoutError::Sink(inner) = &error else {
        panic!("{error}")
    };
    let Some(RegistryError::ManifestDigest {
        registry,
        tag,
        expected,
        found,
    }) = inner.downcast_ref::<RegistryError>()
    else {
        panic!("{error}")
    };
    assert_eq!(registry, &format!("127.0.0.1:{}", fake.port));
    assert_eq!(tag, "v1");
    assert_eq!(expected, &manifest.digest());
    assert_eq!(
        found,
        "sha256:0000000000000000000000000000000000000000000000000000000000000000"
    );
}

#[test]
fn the_bearer_flow_gets_a_push_token_and_a_redirect_elsewhere_carries_no_authorization() {
    let blob = BytesBlob::new(b"held in blob storage".to_vec());
    let size = blob.size().to_string();
    // "Blob storage": another host (another port), answering HEAD.
    let storage = Fake::start(Arc::new(move |_: &Seen, _| {
        (200, vec![header("Content-Length", &size)], vec![])
    }));
    let storage_port = storage.port;
    let registry_port: Arc<Mutex<u16>> = Arc::default();
    let port_for_handler = Arc::clone(&registry_port);
    let basic = Credentials::new("alice", "pw");
    let fake = Fake::start(Arc::new(move |request: &Seen, _| {
        let port = *port_for_handler.lock().unwrap();
        let challenge = header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake""#),
        );
        if request.path.starts_with("/token?") {
            let scope_ok = request
                .path
                .contains("scope=repository%3Afault%2Fapp%3Apull%2Cpush")
                && request.path.contains("service=fake");
            // base64("alice:pw")
            let creds_ok = request.authorization.as_deref() == Some("Basic YWxpY2U6cHc=");
            return if scope_ok && creds_ok {
                (
                    200,
                    vec![],
                    br#"{"token":"tok-123","expires_in":300}"#.to_vec(),
                )
            } else {
                (401, vec![], vec![])
            };
        }
        if request.authorization.as_deref() != Some("Bearer tok-123") {
            return (
                401,
                vec![challenge],
                br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#
                    .to_vec(),
            );
        }
        match request.method.as_str() {
            "GET" => ok(),
            _ => (
                307,
                vec![header(
                    "Location",
                    &format!("http://127.0.0.1:{storage_port}/blob"),
                )],
                vec![],
            ),
        }
    }));
    *registry_port.lock().unwrap() = fake.port;
    let mut sink = sink(fake.port, Some(basic)).unwrap();
    assert!(sink.has_blob(&blob.digest(), blob.size()).unwrap());

    let seen = fake.seen();
    let token_requests = seen.iter().filter(|r| r.path.starts_with("/token")).count();
    assert_eq!(token_requests, 1, "one token, reused: {seen:#?}");
    assert!(
        seen.iter()
            .filter(|r| !r.path.starts_with("/token"))
            .skip(1)
            .all(|r| r.authorization.as_deref() == Some("Bearer tok-123")),
        "{seen:#?}"
    );
    let at_storage = storage.seen();
    assert_eq!(at_storage.len(), 1, "{at_storage:#?}");
    assert_eq!(
        at_storage[0].authorization, None,
        "Authorization leaked to another host"
    );
    assert_eq!(at_storage[0].body_len, 0);
}

#[test]
fn a_401_that_never_ends_is_a_bounded_clear_error() {
    let fake = Fake::start(Arc::new(|_: &Seen, _| {
        (
            401,
            vec![header("WWW-Authenticate", "Basic realm=\"x\"")],
            vec![],
        )
    }));
    let error = sink(fake.port, Some(Credentials::new("bob", "wrong-pw")))
        .err()
        .unwrap();
    let shown = error.to_string();
    assert!(
        matches!(error, RegistryError::Unauthorized { .. }),
        "{shown}"
    );
    assert!(
        shown.contains("refused the credentials") && !shown.contains("wrong-pw"),
        "{shown}"
    );
    // The first request, and one after each of two answers to a challenge.
    assert_eq!(fake.seen().len(), 3, "{:#?}", fake.seen());
    let anonymous = sink(fake.port, None).err().unwrap().to_string();
    assert!(anonymous.contains("none were given"), "{anonymous}");
}

/// The fields of an `application/x-www-form-urlencoded` body.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8(body.to_vec()).unwrap();
    let mut fields: Vec<(String, String)> = text
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (
                k.to_owned(),
                v.replace("%3A", ":")
                    .replace("%2F", "/")
                    .replace("%2C", ","),
            )
        })
        .collect();
    fields.sort();
    fields
}

#[test]
fn an_identity_token_is_exchanged_with_a_refresh_token_grant_and_never_sent_as_basic() {
    let registry_port: Arc<Mutex<u16>> = Arc::default();
    let port_for_handler = Arc::clone(&registry_port);
    let fake = Fake::start(Arc::new(move |request: &Seen, _| {
        let port = *port_for_handler.lock().unwrap();
        if request.path == "/token" {
            return if request.method == "POST"
                && request.authorization.is_none()
                && form_fields(&request.body)
                    .contains(&("refresh_token".into(), "refresh-abc".into()))
            {
                (
                    200,
                    vec![],
                    br#"{"access_token":"acc-1","expires_in":300}"#.to_vec(),
                )
            } else {
                (400, vec![], br#"{"error":"invalid_grant"}"#.to_vec())
            };
        }
        if request.authorization.as_deref() != Some("Bearer acc-1") {
            let challenge =
                format!(r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake""#);
            return (401, vec![header("WWW-Authenticate", &challenge)], vec![]);
        }
        ok()
    }));
    *registry_port.lock().unwrap() = fake.port;
    sink(fake.port, Some(Credentials::identity_token("refresh-abc"))).unwrap();
    let seen = fake.seen();
    let posts: Vec<&Seen> = seen.iter().filter(|r| r.path == "/token").collect();
    assert_eq!(posts.len(), 1, "{seen:#?}");
    assert_eq!(
        form_fields(&posts[0].body),
        vec![
            ("client_id".to_owned(), "oci-tar-builder".to_owned()),
            ("grant_type".to_owned(), "refresh_token".to_owned()),
            ("refresh_token".to_owned(), "refresh-abc".to_owned()),
            (
                "scope".to_owned(),
                "repository:fault/app:pull,push".to_owned()
            ),
            ("service".to_owned(), "fake".to_owned()),
        ]
    );
    assert!(
        seen.iter().all(|r| r
            .authorization
            .as_deref()
            .is_none_or(|a| !a.starts_with("Basic"))),
        "{seen:#?}"
    );
    assert_eq!(
        seen.last().unwrap().authorization.as_deref(),
        Some("Bearer acc-1")
    );

    // A wrong token: the token server's refusal, bounded, the token unshown.
    let error = sink(fake.port, Some(Credentials::identity_token("stale-token")))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("400") && !error.contains("stale-token"),
        "{error}"
    );

    // A registry that asks for Basic auth gets no identity token.
    let basic = Fake::start(Arc::new(|_: &Seen, _| {
        (
            401,
            vec![header("WWW-Authenticate", "Basic realm=\"x\"")],
            vec![],
        )
    }));
    let error = sink(basic.port, Some(Credentials::identity_token("refresh-abc")))
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("identity token"), "{error}");
    assert!(
        basic.seen().iter().all(|r| r.authorization.is_none()),
        "{:#?}",
        basic.seen()
    );
}

/// A registry that answers a mount with `mount_status`: 201 (mounted) or
/// 202 with an upload it opened; any other upload start is refused.
fn mounting_registry(mount_status: u16, blob: &BytesBlob) -> Fake {
    let mount_path = format!(
        "/v2/fault/app/blobs/uploads/?mount={}&from=fault%2Fbase",
        blob.digest().to_string().replace(':', "%3A")
    );
    let put_path = format!(
        "/uploads/opened-by-mount?state=x&digest={}",
        blob.digest().to_string().replace(':', "%3A")
    );
    let digest = blob.digest().to_string();
    Fake::start(Arc::new(move |request: &Seen, _| {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v2/") => ok(),
            ("HEAD", _) => (404, vec![], vec![]),
            ("POST", path) if path == mount_path => {
                if mount_status == 201 {
                    (201, vec![header("Docker-Content-Digest", &digest)], vec![])
                } else {
                    (
                        202,
                        vec![header("Location", "/uploads/opened-by-mount?state=x")],
                        vec![],
                    )
                }
            }
            ("PUT", path) if path == put_path => (201, vec![], vec![]),
            _ => (
                400,
                vec![],
                br#"{"errors":[{"code":"UNSUPPORTED","message":"not expected"}]}"#.to_vec(),
            ),
        }
    }))
}

#[test]
fn a_mount_answered_with_202_continues_into_the_upload_the_registry_opened() {
    let blob = BytesBlob::new(b"a layer another repository holds".to_vec());
    let fake = mounting_registry(202, &blob);
    let mut pushing = sink(fake.port, None).unwrap();
    pushing.mount_from(vec!["fault/base".to_owned()]);
    assert!(pushing.put_blob(&blob).unwrap(), "the blob was sent");
    let stats = pushing.stats();
    assert_eq!(stats.blobs_uploaded.load(Ordering::Relaxed), 1);
    assert_eq!(stats.blobs_mounted.load(Ordering::Relaxed), 0);
    let seen = fake.seen();
    let methods: Vec<&str> = seen.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(methods, ["GET", "HEAD", "POST", "PUT"], "{seen:#?}");
    assert_eq!(seen[3].body, blob.bytes(), "{seen:#?}");

    let fake = mounting_registry(201, &blob);
    let mut pushing = sink(fake.port, None).unwrap();
    pushing.mount_from(vec!["fault/base".to_owned()]);
    assert!(
        !pushing.put_blob(&blob).unwrap(),
        "a mounted blob is not sent"
    );
    assert_eq!(pushing.stats().blobs_mounted.load(Ordering::Relaxed), 1);
    let seen = fake.seen();
    assert!(seen.iter().all(|r| r.body_len == 0), "{seen:#?}");
    assert_eq!(seen.len(), 3, "{seen:#?}");
}

/// `len` bytes that do not repeat in any short period (this file stands
/// alone, without the workspace's test-support, to be published).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Where a `PATCH`'s `Content-Range` says its bytes start.
fn range_start(request: &Seen) -> Option<usize> {
    request
        .header("Content-Range")
        .and_then(|r| r.split_once('-'))
        .and_then(|(start, _)| start.parse::<usize>().ok())
}

/// A registry that keeps one upload (`/upload/1`) in memory: `PATCH`es
/// must start where it stands (their `Content-Range`), `GET` says where it
/// stands, and `PUT ?digest=` completes it; a request body larger than
/// `cap` is refused with 413 (after it was read, as a proxy does).
/// `break_patch(n, body)` may make the n-th `PATCH` (from 0) keep only
/// part of its body and break the connection: `Some(kept)`.
fn chunk_registry(
    cap: usize,
    min_chunk: Option<u64>,
    cut_off: bool,
    break_patch: impl Fn(usize) -> Option<usize> + Send + Sync + 'static,
) -> (Fake, Arc<Mutex<Vec<u8>>>) {
    let stored: Arc<Mutex<Vec<u8>>> = Arc::default();
    let upload = Arc::clone(&stored);
    let patches = Mutex::new(0usize);
    let handler: Arc<Handler> = Arc::new(move |request: &Seen, _| {
        let mut stored = upload.lock().unwrap();
        let range = |len: usize| header("Range", &format!("0-{}", len.saturating_sub(1)));
        let location = header("Location", "/upload/1");
        if request.body_len > cap {
            return (
                413,
                vec![],
                br#"{"errors":[{"code":"SIZE_INVALID","message":"request too large"}]}"#.to_vec(),
            );
        }
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v2/") => ok(),
            ("HEAD", _) => (404, vec![], vec![]),
            ("POST", "/v2/fault/app/blobs/uploads/") => {
                stored.clear();
                let mut headers = vec![location];
                if let Some(min) = min_chunk {
                    headers.push(header("OCI-Chunk-Min-Length", &min.to_string()));
                }
                (202, headers, vec![])
            }
            ("GET", "/upload/1") => (204, vec![location, range(stored.len())], vec![]),
            ("PATCH", "/upload/1") => {
                if range_start(request) != Some(stored.len()) {
                    return (416, vec![range(stored.len())], vec![]);
                }
                let mut count = patches.lock().unwrap();
                let n = *count;
                *count += 1;
                if let Some(kept) = break_patch(n) {
                    stored.extend_from_slice(&request.body[..kept]);
                    return (0, vec![], vec![]);
                }
                stored.extend_from_slice(&request.body);
                (202, vec![location, range(stored.len())], vec![])
            }
            ("PUT", path) if path.starts_with("/upload/1?digest=") && request.body_len == 0 => {
                (201, vec![], vec![])
            }
            _ => (
                400,
                vec![],
                br#"{"errors":[{"code":"UNSUPPORTED","message":"not expected"}]}"#.to_vec(),
            ),
        }
    });
    let fake = if cut_off {
        Fake::start_capped(handler, cap)
    } else {
        Fake::start(handler)
    };
    (fake, stored)
}

const MIB: usize = 1024 * 1024;

#[test]
fn a_registry_that_caps_requests_at_4_mib_gets_the_blob_in_chunks_of_at_most_4_mib() {
    let bytes = pseudo_random(10 * MIB + 5);
    let blob = BytesBlob::new(bytes.clone());
    let (fake, stored) = chunk_registry(4 * MIB, None, false, |_| None);
    let mut pushing = sink(fake.port, None).unwrap();
    assert!(pushing.put_blob(&blob).unwrap());
    assert!(
        *stored.lock().unwrap() == bytes,
        "the registry holds other bytes"
    );
    let seen = fake.seen();
    let refused: Vec<&Seen> = seen
        .iter()
        .filter(|r| r.method == "PUT" && r.body_len > 0)
        .collect();
    assert_eq!(refused.len(), 1, "one whole PUT, refused (413): {seen:#?}");
    let patches: Vec<(Option<&str>, usize)> = seen
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| (r.header("Content-Range"), r.body_len))
        .collect();
    assert_eq!(
        patches,
        [
            (Some("0-4194303"), 4 * MIB),
            (Some("4194304-8388607"), 4 * MIB),
            (Some("8388608-10485764"), 2 * MIB + 5),
        ]
    );
    let last = seen.last().unwrap();
    assert_eq!(
        (last.method.as_str(), last.body_len),
        ("PUT", 0),
        "completed by PUT ?digest=: {seen:#?}"
    );
    assert!(last
        .path
        .ends_with(&blob.digest().to_string().replace(':', "%3A")));
    assert_eq!(
        pushing.stats().bytes_uploaded.load(Ordering::Relaxed),
        bytes.len() as u64
    );
}

#[test]
fn a_chunk_broken_off_midway_resumes_from_where_the_registry_says_it_stands() {
    let bytes = pseudo_random(4_000_000);
    let blob = BytesBlob::new(bytes.clone());
    // The second chunk breaks after half of it reached the registry; the
    // registry wants chunks of at least 1.5 MB, above the 1 MiB asked for.
    let (fake, stored) = chunk_registry(usize::MAX, Some(1_500_000), false, |n| {
        (n == 1).then_some(750_000)
    });
    let target: RegistryRef = format!("127.0.0.1:{}/fault/app:v1", fake.port)
        .parse()
        .unwrap();
    let mut pushing = RegistrySink::connect(
        target,
        ClientOptions {
            retry: fast_retries(),
            max_chunk_size: Some(MIB as u64),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(pushing.put_blob(&blob).unwrap());
    assert!(
        *stored.lock().unwrap() == bytes,
        "the registry holds other bytes"
    );
    let seen = fake.seen();
    let steps: Vec<(&str, Option<&str>, usize)> = seen
        .iter()
        .filter(|r| r.method != "HEAD" && r.path != "/v2/")
        .map(|r| (r.method.as_str(), r.header("Content-Range"), r.body_len))
        .collect();
    assert_eq!(
        steps,
        [
            ("POST", None, 0),
            ("PATCH", Some("0-1499999"), 1_500_000),
            ("PATCH", Some("1500000-2999999"), 1_500_000),
            ("GET", None, 0),
            ("PATCH", Some("2250000-3749999"), 1_500_000),
            ("PATCH", Some("3750000-3999999"), 250_000),
            ("PUT", None, 0),
        ],
        "{seen:#?}"
    );
}

#[test]
fn with_bearer_auth_mounting_asks_a_token_that_may_pull_the_other_repository() {
    let blob = BytesBlob::new(b"a layer fault/base holds".to_vec());
    let digest = blob.digest().to_string();
    let registry_port: Arc<Mutex<u16>> = Arc::default();
    let port_for_handler = Arc::clone(&registry_port);
    let fake = Fake::start(Arc::new(move |request: &Seen, _| {
        let port = *port_for_handler.lock().unwrap();
        if request.path.starts_with("/token?") {
            let push = request
                .path
                .contains("scope=repository%3Afault%2Fapp%3Apull%2Cpush");
            let pull_base = request
                .path
                .contains("&scope=repository%3Afault%2Fbase%3Apull");
            let token = if pull_base { "tok-wide" } else { "tok-narrow" };
            return if push {
                (
                    200,
                    vec![],
                    format!(r#"{{"token":"{token}"}}"#).into_bytes(),
                )
            } else {
                (400, vec![], vec![])
            };
        }
        let token = request.authorization.as_deref();
        if !matches!(token, Some("Bearer tok-wide" | "Bearer tok-narrow")) {
            let challenge =
                format!(r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake""#);
            return (401, vec![header("WWW-Authenticate", &challenge)], vec![]);
        }
        match request.method.as_str() {
            "GET" => ok(),
            "HEAD" => (404, vec![], vec![]),
            // Without pull access to the source, a registry does not mount.
            "POST" if token == Some("Bearer tok-wide") => {
                (201, vec![header("Docker-Content-Digest", &digest)], vec![])
            }
            _ => (400, vec![], vec![]),
        }
    }));
    *registry_port.lock().unwrap() = fake.port;
    let mut pushing = sink(fake.port, None).unwrap();
    pushing.mount_from(vec!["fault/base".to_owned()]);
    assert!(!pushing.put_blob(&blob).unwrap(), "mounted, not sent");
    assert_eq!(pushing.stats().blobs_mounted.load(Ordering::Relaxed), 1);
    let seen = fake.seen();
    let tokens: Vec<&str> = seen
        .iter()
        .filter(|r| r.path.starts_with("/token"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(tokens.len(), 2, "{seen:#?}");
    assert!(!tokens[0].contains("fault%2Fbase"), "{tokens:?}");
    assert!(tokens[1].contains("fault%2Fbase%3Apull"), "{tokens:?}");
}

#[test]
fn a_whole_blob_cut_off_midway_by_a_proxy_goes_again_in_chunks() {
    let bytes = pseudo_random(6 * MIB);
    let blob = BytesBlob::new(bytes.clone());
    // Over 4 MiB: 413 before the body is read, and the connection closed.
    let (fake, stored) = chunk_registry(4 * MIB, None, true, |_| None);
    let mut pushing = sink(fake.port, None).unwrap();
    assert!(pushing.put_blob(&blob).unwrap());
    assert!(
        *stored.lock().unwrap() == bytes,
        "the registry holds other bytes"
    );
    let seen = fake.seen();
    let steps: Vec<(&str, usize)> = seen
        .iter()
        .filter(|r| r.method != "HEAD" && r.path != "/v2/")
        .map(|r| (r.method.as_str(), r.body_len))
        .collect();
    assert_eq!(
        steps,
        [
            ("POST", 0),
            ("PUT", 6 * MIB),
            ("POST", 0),
            ("PATCH", 4 * MIB),
            ("PATCH", 2 * MIB),
            ("PUT", 0),
        ],
        "the whole blob is tried once, then chunks: {seen:#?}"
    );
}

/// The registry error inside a sink's error.
fn registry_error(error: &LayoutError) -> &RegistryError {
    let LayoutError::Sink(inner) = error else {
        panic!("not a registry error: {error}")
    };
    inner.downcast_ref::<RegistryError>().unwrap()
}

/// `(method, path, body length)` of each request but the ping and the HEADs.
fn steps(fake: &Fake) -> Vec<(String, String, usize)> {
    fake.seen()
        .into_iter()
        .filter(|r| r.method != "HEAD" && r.path != "/v2/")
        .map(|r| (r.method, r.path, r.body_len))
        .collect()
}

/// [`steps`] without their paths.
fn methods_and_lengths(fake: &Fake) -> Vec<(String, usize)> {
    steps(fake)
        .into_iter()
        .map(|(method, _, len)| (method, len))
        .collect()
}

/// A step as [`methods_and_lengths`] gives it.
fn step(method: &str, len: usize) -> (String, usize) {
    (method.to_owned(), len)
}

#[test]
fn a_mount_answered_with_202_by_each_repository_cancels_all_but_the_last_upload() {
    let blob = BytesBlob::new(b"a layer neither repository mounts".to_vec());
    let digest = blob.digest().to_string().replace(':', "%3A");
    let fake = Fake::start(Arc::new(move |request: &Seen, _| {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v2/") => ok(),
            ("HEAD", _) => (404, vec![], vec![]),
            ("POST", path) if path.contains("&from=fault%2Fone") => {
                (202, vec![header("Location", "/uploads/one")], vec![])
            }
            ("POST", path) if path.contains("&from=fault%2Ftwo") => {
                (202, vec![header("Location", "/uploads/two")], vec![])
            }
            ("DELETE", "/uploads/one") => (204, vec![], vec![]),
            ("PUT", path) if path.starts_with("/uploads/two?digest=") => (201, vec![], vec![]),
            _ => (400, vec![], vec![]),
        }
    }));
    let mut pushing = sink(fake.port, None).unwrap();
    pushing.mount_from(vec!["fault/one".to_owned(), "fault/two".to_owned()]);
    assert!(pushing.put_blob(&blob).unwrap());
    let mount =
        |from: &str| format!("/v2/fault/app/blobs/uploads/?mount={digest}&from=fault%2F{from}");
    assert_eq!(
        steps(&fake),
        [
            ("POST".to_owned(), mount("one"), 0),
            ("DELETE".to_owned(), "/uploads/one".to_owned(), 0),
            ("POST".to_owned(), mount("two"), 0),
            (
                "PUT".to_owned(),
                format!("/uploads/two?digest={digest}"),
                blob.bytes().len()
            ),
        ]
    );
}

fn chunked_sink(port: u16, max_chunk_size: u64) -> RegistrySink {
    let target: RegistryRef = format!("127.0.0.1:{port}/fault/app:v1").parse().unwrap();
    RegistrySink::connect(
        target,
        ClientOptions {
            retry: fast_retries(),
            max_chunk_size: Some(max_chunk_size),
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn a_chunk_refused_as_too_large_is_halved_down_to_the_registrys_minimum() {
    let bytes = pseudo_random(5 * MIB + 3);
    let blob = BytesBlob::new(bytes.clone());
    let (fake, stored) = chunk_registry(3 * MIB, None, false, |_| None);
    let mut pushing = chunked_sink(fake.port, 8 * MIB as u64);
    assert!(pushing.put_blob(&blob).unwrap());
    assert!(*stored.lock().unwrap() == bytes);
    let sent = methods_and_lengths(&fake);
    assert_eq!(
        sent,
        [
            step("POST", 0),
            step("PATCH", 5 * MIB + 3), // 413
            step("GET", 0),
            step("PATCH", 4 * MIB), // 413
            step("GET", 0),
            step("PATCH", 2 * MIB),
            step("PATCH", 2 * MIB),
            step("PATCH", MIB + 3),
            step("PUT", 0),
        ]
    );

    // A registry whose minimum chunk is 3 MiB: 4 MiB is tried, 2 MiB is
    // not, and the 413 is the error.
    let (fake, _) = chunk_registry(3 * MIB, Some(3 * MIB as u64), false, |_| None);
    let mut pushing = chunked_sink(fake.port, 8 * MIB as u64);
    let error = pushing.put_blob(&blob).unwrap_err();
    assert!(
        matches!(
            registry_error(&error),
            RegistryError::Status { status: 413, .. }
        ),
        "{error}"
    );
    let patches: Vec<usize> = steps(&fake)
        .into_iter()
        .filter(|(method, _, _)| method == "PATCH")
        .map(|(_, _, len)| len)
        .collect();
    assert_eq!(patches, [5 * MIB + 3, 4 * MIB]);
}

/// A registry taking whole uploads at `/upload/1`, whose n-th `PUT` (from
/// 0) is answered by `put(n)`; chunks are refused.
fn whole_upload_registry(put: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Fake {
    let puts = Mutex::new(0usize);
    Fake::start(Arc::new(move |request: &Seen, _| {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v2/") => ok(),
            ("HEAD", _) => (404, vec![], vec![]),
            ("POST", "/v2/fault/app/blobs/uploads/") => {
                (202, vec![header("Location", "/upload/1")], vec![])
            }
            ("PUT", path) if path.starts_with("/upload/1?digest=") => {
                let mut count = puts.lock().unwrap();
                *count += 1;
                put(*count - 1)
            }
            _ => (400, vec![], vec![]),
        }
    }))
}

#[test]
fn a_blob_of_up_to_4_mib_broken_off_or_refused_is_sent_whole_again_never_in_chunks() {
    // 4 MiB, the chunk size: chunks would be the same request.
    let blob = BytesBlob::new(pseudo_random(4 * MIB));
    // Broken once (no answer): sent whole again, into a new upload.
    let fake = whole_upload_registry(|n| {
        if n == 0 {
            (0, vec![], vec![])
        } else {
            (201, vec![], vec![])
        }
    });
    let mut pushing = sink(fake.port, None).unwrap();
    assert!(pushing.put_blob(&blob).unwrap());
    let methods = methods_and_lengths(&fake);
    assert_eq!(
        methods,
        [
            step("POST", 0),
            step("PUT", 4 * MIB),
            step("POST", 0),
            step("PUT", 4 * MIB)
        ]
    );

    // Refused with 500 each time: retried whole, then the PUT's error.
    let fake = whole_upload_registry(|_| (500, vec![], vec![]));
    let mut pushing = sink(fake.port, None).unwrap();
    let error = pushing.put_blob(&blob).unwrap_err();
    let shown = error.to_string();
    assert!(
        shown.contains("PUT answered HTTP 500 (gave up after 4 attempts"),
        "{shown}"
    );
    assert!(
        steps(&fake)
            .iter()
            .all(|(method, _, _)| method == "POST" || method == "PUT"),
        "{:?}",
        steps(&fake)
    );
}

/// A source that announces `blob` and whose reader, at its n-th opening
/// (from 0), is `reader(blob's bytes, n)`.
struct OddSource {
    blob: BytesBlob,
    origin: &'static str,
    opened: Mutex<usize>,
    reader: Box<OpenReader>,
}

/// How an [`OddSource`] makes its reader.
type OpenReader = dyn Fn(&[u8], usize) -> Box<dyn Read>;

impl OddSource {
    fn new(
        bytes: Vec<u8>,
        origin: &'static str,
        reader: impl Fn(&[u8], usize) -> Box<dyn Read> + 'static,
    ) -> Self {
        OddSource {
            blob: BytesBlob::new(bytes),
            origin,
            opened: Mutex::new(0),
            reader: Box::new(reader),
        }
    }
}

impl BlobSource for OddSource {
    fn digest(&self) -> oci_digest::Digest {
        self.blob.digest()
    }
    fn size(&self) -> u64 {
        self.blob.size()
    }
    fn origin(&self) -> std::borrow::Cow<'_, str> {
        self.origin.into()
    }
    fn open(&self) -> std::io::Result<Box<dyn Read + '_>> {
        let mut opened = self.opened.lock().unwrap();
        *opened += 1;
        Ok((self.reader)(self.blob.bytes(), *opened - 1))
    }
}

#[test]
fn a_source_shorter_than_what_the_registry_holds_when_a_chunk_resumes_is_an_error() {
    let bytes = pseudo_random(4_000_000);
    // Whole at its first opening, its first 1,000,000 bytes after.
    let source = OddSource::new(bytes, "a shrinking source", |bytes, opened| {
        let kept = if opened == 0 { bytes.len() } else { 1_000_000 };
        Box::new(std::io::Cursor::new(bytes[..kept].to_vec()))
    });
    // The second chunk breaks after 750,000 of its bytes: the upload resumes
    // at 2,250,000, past the end of the source as opened again.
    let (fake, _) = chunk_registry(usize::MAX, Some(1_500_000), false, |n| {
        (n == 1).then_some(750_000)
    });
    let mut pushing = chunked_sink(fake.port, MIB as u64);
    match pushing.put_blob(&source).unwrap_err() {
        LayoutError::SizeMismatch {
            origin,
            expected,
            found,
        } => assert_eq!(
            (origin.as_str(), expected, found),
            ("a shrinking source", 4_000_000, 1_000_000)
        ),
        other => panic!("{other}"),
    }
}

/// Reads `bytes`, except that the read at `at` fails (`fail`), or is
/// interrupted if `stumbled` is not yet set (which it then sets).
struct StumblingReader {
    bytes: Vec<u8>,
    at: usize,
    done: usize,
    fail: bool,
    stumbled: Arc<std::sync::atomic::AtomicBool>,
}

impl Read for StumblingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done == self.at && !self.stumbled.load(Ordering::SeqCst) {
            self.stumbled.store(!self.fail, Ordering::SeqCst);
            return Err(if self.fail {
                std::io::Error::other("the disk is gone")
            } else {
                std::io::ErrorKind::Interrupted.into()
            });
        }
        let end = if self.done < self.at {
            self.at
        } else {
            self.bytes.len()
        };
        let n = buf.len().min(end - self.done);
        buf[..n].copy_from_slice(&self.bytes[self.done..self.done + n]);
        self.done += n;
        Ok(n)
    }
}

/// A source whose reads stumble after 100,000 bytes: each fails (`fail`),
/// or the first of all is interrupted.
fn stumbling(bytes: Vec<u8>, fail: bool) -> OddSource {
    let stumbled: Arc<std::sync::atomic::AtomicBool> = Arc::default();
    OddSource::new(bytes, "a stumbling source", move |bytes, _| {
        Box::new(StumblingReader {
            bytes: bytes.to_vec(),
            at: 100_000,
            done: 0,
            fail,
            stumbled: Arc::clone(&stumbled),
        })
    })
}

#[test]
fn an_interrupted_read_of_the_source_is_retried_and_a_failed_one_is_the_sources_error() {
    let bytes = pseudo_random(300_000);
    let fake = whole_upload_registry(|_| (201, vec![], vec![]));
    let mut pushing = sink(fake.port, None).unwrap();
    let interrupted = stumbling(bytes.clone(), false);
    // Passed on to the HTTP client, which does not retry it: that attempt
    // fails (a transport error, retried), and the next sends the blob whole.
    assert!(pushing.put_blob(&interrupted).unwrap());
    let put: Vec<Seen> = fake
        .seen()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert!(put.last().unwrap().body == bytes);

    let fake = whole_upload_registry(|_| (201, vec![], vec![]));
    let mut pushing = sink(fake.port, None).unwrap();
    let failing = stumbling(bytes, true);
    match pushing.put_blob(&failing).unwrap_err() {
        LayoutError::ReadSource { origin, source } => {
            assert_eq!(origin, "a stumbling source");
            assert_eq!(source.to_string(), "the disk is gone");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_file_changed_while_it_is_sent_is_refused_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.wasm");
    std::fs::write(&path, pseudo_random(MIB)).unwrap();
    let file = oci_layout::FileInput::open(&path).unwrap();
    oci_layout::hash_files(&[&file], None).unwrap();
    let fake = whole_upload_registry(|_| (201, vec![], vec![]));
    let mut pushing = sink(fake.port, None).unwrap();
    // Touched (same bytes, a new modification time) after the first chunk
    // went: only the check at the end of the file can see it.
    let touched = std::sync::atomic::AtomicBool::new(false);
    let touch_path = path.clone();
    pushing.on_progress(Arc::new(move |_: &str, _, _| {
        if !touched.swap(true, Ordering::SeqCst) {
            std::fs::File::options()
                .write(true)
                .open(&touch_path)
                .unwrap()
                .set_modified(std::time::SystemTime::now() + Duration::from_secs(10))
                .unwrap();
        }
    }));
    match pushing.put_file(&file).unwrap_err() {
        LayoutError::FileChanged { what, .. } => assert_eq!(what, "it was written to or touched"),
        other => panic!("{other}"),
    }
}

#[test]
fn progress_is_told_up_to_the_blobs_size_and_each_file_is_read_twice() {
    let blob = BytesBlob::new(pseudo_random(MIB + 7));
    let fake = whole_upload_registry(|_| (201, vec![], vec![]));
    let mut pushing = sink(fake.port, None).unwrap();
    assert_eq!(pushing.reads_of_each_file(), 2);
    let told: Arc<Mutex<Vec<(String, u64, u64)>>> = Arc::default();
    let seen = Arc::clone(&told);
    pushing.on_progress(Arc::new(move |origin: &str, done, total| {
        seen.lock().unwrap().push((origin.to_owned(), done, total));
    }));
    assert!(pushing.put_blob(&blob).unwrap());
    let told = told.lock().unwrap();
    let size = (MIB + 7) as u64;
    assert_eq!(
        told.last().cloned(),
        Some((blob.origin().into_owned(), size, size)),
        "{told:?}"
    );
    assert!(told.windows(2).all(|w| w[0].1 < w[1].1), "{told:?}");
}

#[test]
fn a_listed_manifest_is_put_under_its_digest_with_its_media_type() {
    let manifest = BytesBlob::new(br#"{"schemaVersion":2,"listed":true}"#.to_vec());
    let digest = manifest.digest().to_string();
    let answer = digest.clone();
    let fake = Fake::start(Arc::new(move |request: &Seen, _| {
        match request.method.as_str() {
            "GET" => ok(),
            _ => manifest_answer(&answer),
        }
    }));
    let mut pushing = sink(fake.port, None).unwrap();
    pushing
        .put_listed_manifest(&manifest, MediaType::ImageManifest)
        .unwrap();
    assert_eq!(pushing.stats().manifests_put.load(Ordering::Relaxed), 1);
    let put: Vec<Seen> = fake
        .seen()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect();
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].path, format!("/v2/fault/app/manifests/{digest}"));
    assert_eq!(
        put[0].header("Content-Type"),
        Some("application/vnd.oci.image.manifest.v1+json")
    );
    assert_eq!(put[0].body, manifest.bytes());
}

#[test]
fn a_large_blob_whose_upload_cannot_even_connect_is_retried_whole_not_in_chunks() {
    // The registry sends the upload to a port where nothing listens: the
    // connection fails before any of the body is read.
    let dead_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fake = Fake::start(Arc::new(move |request: &Seen, _| {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v2/") => ok(),
            ("HEAD", _) => (404, vec![], vec![]),
            ("POST", "/v2/fault/app/blobs/uploads/") => (
                202,
                vec![header(
                    "Location",
                    &format!("http://127.0.0.1:{dead_port}/upload/1"),
                )],
                vec![],
            ),
            _ => (400, vec![], vec![]),
        }
    }));
    let mut pushing = sink(fake.port, None).unwrap();
    let blob = BytesBlob::new(pseudo_random(5 * MIB));
    let error = pushing.put_blob(&blob).unwrap_err();
    assert!(
        error.to_string().contains("gave up after 4 attempts"),
        "{error}"
    );
    // One upload started per attempt, each meant for the whole blob.
    let posts = steps(&fake)
        .iter()
        .filter(|(method, _, _)| method == "POST")
        .count();
    assert_eq!(posts, 4, "{:?}", steps(&fake));
}

#[test]
fn a_registry_that_says_it_holds_less_than_was_sent_is_asked_and_resumed_from_there() {
    let bytes = pseudo_random(3_000_000);
    let blob = BytesBlob::new(bytes.clone());
    let stored: Arc<Mutex<Vec<u8>>> = Arc::default();
    let upload = Arc::clone(&stored);
    let fake = Fake::start(Arc::new(move |request: &Seen, _| {
        let mut stored = upload.lock().unwrap();
        let range = |len: usize| header("Range", &format!("0-{}", len.saturating_sub(1)));
        let location = header("Location", "/upload/1");
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v2/") => ok(),
            ("HEAD", _) => (404, vec![], vec![]),
            ("POST", _) => (202, vec![location], vec![]),
            ("GET", "/upload/1") => (204, vec![location, range(stored.len())], vec![]),
            ("PATCH", "/upload/1") => {
                if range_start(request) != Some(stored.len()) {
                    return (416, vec![range(stored.len())], vec![]);
                }
                // The first chunk: half kept, and the answer says so.
                let kept = if stored.is_empty() {
                    request.body.len() / 2
                } else {
                    request.body.len()
                };
                stored.extend_from_slice(&request.body[..kept]);
                (202, vec![location, range(stored.len())], vec![])
            }
            ("PUT", path) if path.starts_with("/upload/1?digest=") => (201, vec![], vec![]),
            _ => (400, vec![], vec![]),
        }
    }));
    let mut pushing = chunked_sink(fake.port, MIB as u64);
    assert!(pushing.put_blob(&blob).unwrap());
    assert!(*stored.lock().unwrap() == bytes);
    let ranges: Vec<(String, Option<String>)> = fake
        .seen()
        .into_iter()
        .filter(|r| r.method == "PATCH" || r.method == "GET" && r.path == "/upload/1")
        .map(|r| {
            (
                r.method.clone(),
                r.header("Content-Range").map(str::to_owned),
            )
        })
        .collect();
    let step = |method: &str, range: Option<&str>| (method.to_owned(), range.map(str::to_owned));
    assert_eq!(
        ranges,
        [
            step("PATCH", Some("0-1048575")),
            step("GET", None),
            step("PATCH", Some("524288-1572863")),
            step("PATCH", Some("1572864-2621439")),
            step("PATCH", Some("2621440-2999999")),
        ]
    );
}

fn sink_with_retries(
    port: u16,
    credentials: Option<Credentials>,
    retry: RetryPolicy,
) -> Result<RegistrySink, RegistryError> {
    let target: RegistryRef = format!("127.0.0.1:{port}/fault/app:v1").parse().unwrap();
    RegistrySink::connect(
        target,
        ClientOptions {
            credentials,
            retry,
            ..Default::default()
        },
    )
}

fn basic_challenge() -> Answer {
    (
        401,
        vec![header("WWW-Authenticate", "Basic realm=\"x\"")],
        vec![],
    )
}

#[test]
fn a_second_challenge_is_answered_and_a_challenge_is_no_attempt() {
    // Two challenges in a row, then the registry takes the credentials.
    let fake = Fake::start(Arc::new(|_: &Seen, count| match count {
        0 | 1 => basic_challenge(),
        _ => ok(),
    }));
    sink(fake.port, Some(Credentials::new("bob", "pw"))).unwrap();
    assert_eq!(fake.seen().len(), 3, "{:#?}", fake.seen());

    // With two attempts in all: a challenge, then a 503 (the first
    // attempt), then success (the second).
    let fake = Fake::start(Arc::new(|_: &Seen, count| match count {
        0 => basic_challenge(),
        1 => (503, vec![], vec![]),
        _ => ok(),
    }));
    let two = RetryPolicy {
        attempts: 2,
        ..fast_retries()
    };
    sink_with_retries(fake.port, Some(Credentials::new("bob", "pw")), two).unwrap();
    assert_eq!(fake.seen().len(), 3, "{:#?}", fake.seen());
}

/// The waits between the attempts of one connection to a registry that
/// answers 503 three times, then 200.
fn waits_between_attempts(retry: RetryPolicy) -> Vec<Duration> {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let log = Arc::clone(&arrivals);
    let fake = Fake::start(Arc::new(move |_: &Seen, count| {
        log.lock().unwrap().push(Instant::now());
        if count < 3 {
            (503, vec![], vec![])
        } else {
            ok()
        }
    }));
    sink_with_retries(fake.port, None, retry).unwrap();
    let arrivals = arrivals.lock().unwrap();
    arrivals.windows(2).map(|w| w[1] - w[0]).collect()
}

#[test]
fn the_wait_between_attempts_starts_at_the_first_delay_and_doubles() {
    let retry = RetryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(10),
        max_elapsed: Duration::from_secs(20),
    };
    let waits_wanted = [200, 400, 800].map(Duration::from_millis);
    // A wait is never shorter than asked; it may be longer on a loaded
    // machine, so the bound above (short of the next doubling) may take
    // a second or third try. A wait doubled once too often fails every try.
    let mut tries = Vec::new();
    for _ in 0..3 {
        let waits = waits_between_attempts(retry);
        assert_eq!(waits.len(), 3, "{waits:?}");
        for (wait, least) in waits.iter().zip(waits_wanted) {
            assert!(*wait >= least, "waits {waits:?}: one under {least:?}");
        }
        if waits
            .iter()
            .zip(waits_wanted)
            .all(|(wait, least)| *wait < least * 2)
        {
            return;
        }
        tries.push(waits);
    }
    panic!("waits twice as long as asked, or more, in each try: {tries:?}");
}

#[test]
fn a_token_server_that_refuses_is_unauthorized_naming_it() {
    for status in [401, 403] {
        let tokens = Fake::start(Arc::new(move |_: &Seen, _| (status, vec![], vec![])));
        let challenge = format!(r#"Bearer realm="http://127.0.0.1:{}/token""#, tokens.port);
        let fake = Fake::start(Arc::new(move |_: &Seen, _| {
            (401, vec![header("WWW-Authenticate", &challenge)], vec![])
        }));
        let error = sink(fake.port, Some(Credentials::new("bob", "pw")))
            .err()
            .unwrap();
        let RegistryError::Unauthorized {
            registry, reason, ..
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!(registry, &format!("127.0.0.1:{}", tokens.port));
        assert_eq!(reason, &format!("the token server answered HTTP {status}"));
        // Not retried: asked once.
        assert_eq!(tokens.seen().len(), 1, "{:#?}", tokens.seen());
    }
}

#[test]
fn a_token_of_several_kib_is_read_whole() {
    // Tokens are JWTs: some registries' run to several KiB.
    let token: String = (0..6000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let registry_port: Arc<Mutex<u16>> = Arc::default();
    let port_for_handler = Arc::clone(&registry_port);
    let answer = format!(r#"{{"token":"{token}"}}"#).into_bytes();
    let bearer = format!("Bearer {token}");
    let fake = Fake::start(Arc::new(move |request: &Seen, _| {
        let port = *port_for_handler.lock().unwrap();
        if request.path.starts_with("/token") {
            return (200, vec![], answer.clone());
        }
        if request.authorization.as_deref() == Some(bearer.as_str()) {
            return ok();
        }
        let challenge = format!(r#"Bearer realm="http://127.0.0.1:{port}/token""#);
        (401, vec![header("WWW-Authenticate", &challenge)], vec![])
    }));
    *registry_port.lock().unwrap() = fake.port;
    sink(fake.port, None).unwrap();
    let seen = fake.seen();
    assert_eq!(
        seen.last().unwrap().authorization.as_deref().map(str::len),
        Some("Bearer ".len() + 6000)
    );
}
