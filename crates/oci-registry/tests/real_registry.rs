//! Pushes through `RegistrySink` into Debian's `docker-registry` (the CNCF
//! distribution server) started by the test on 127.0.0.1, anonymous, and
//! checks what the registry holds with skopeo and plain HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::io::{self, Read};
use std::process::Command;
use std::sync::atomic::Ordering;

use oci_digest::digest_bytes;
use oci_layout::{BlobInput, BlobSource, BytesBlob, FileInput, ImageSink, LayoutError, Reference};
use oci_registry::{ClientOptions, RegistryError, RegistryRef, RegistrySink, RetryPolicy};
use oci_spec::image::MediaType;
use test_support::require_tool;
use test_support::servers::{http_request, Registry, RegistrySetup, Shared};

static REGISTRY: Shared<Registry> = Shared::new(Registry::start);

/// A tiny image: a config, one layer from `layer`, and its manifest.
fn image(layer_digest: &str, layer_size: u64, config: &BytesBlob) -> BytesBlob {
    BytesBlob::new(
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/wasm","digest":"{layer_digest}","size":{layer_size}}}]}}"#,
            config.digest(),
            config.size()
        )
        .into_bytes(),
    )
}

fn connect(registry: &Registry, repository: &str) -> RegistrySink {
    let target: RegistryRef = format!("{}/{repository}:v1", registry.host())
        .parse()
        .unwrap();
    RegistrySink::connect(target, ClientOptions::default()).unwrap()
}

fn skopeo_raw(reference: &str) -> Vec<u8> {
    let skopeo = require_tool("skopeo", "the Debian package `skopeo`");
    let output = Command::new(skopeo)
        .args(["inspect", "--raw", "--tls-verify=false", reference])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "skopeo inspect --raw {reference}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn a_pushed_image_is_served_byte_for_byte_and_a_second_push_sends_no_blob() {
    let registry = REGISTRY.get();
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("app.wasm");
    std::fs::write(&wasm, b"\0asm\x01\0\0\0 a file input pushed to a registry").unwrap();
    let config = BytesBlob::new(br#"{"architecture":"wasm","os":"wasip1"}"#.to_vec());
    let reference: Reference = format!("{}/lib/push:v1", registry.host()).parse().unwrap();

    let mut pushed = None;
    for round in 0..2 {
        let mut sink = connect(&registry, "lib/push");
        let input: BlobInput = FileInput::open(&wasm).unwrap().into();
        let config_input: BlobInput = config.clone().into();
        let digests = sink.put_inputs(&[&config_input, &input]).unwrap();
        let manifest = image(&digests[1].to_string(), input.size(), &config);
        let entry = sink
            .put_manifest(&manifest, MediaType::ImageManifest, &reference, None)
            .unwrap();
        assert_eq!(entry.digest().to_string(), manifest.digest().to_string());
        let stats = sink.stats();
        let (uploaded, skipped) = (
            stats.blobs_uploaded.load(Ordering::Relaxed),
            stats.blobs_skipped.load(Ordering::Relaxed),
        );
        if round == 0 {
            assert_eq!((uploaded, skipped), (2, 0), "first push");
        } else {
            assert_eq!(
                (uploaded, skipped),
                (0, 2),
                "the second push must HEAD-skip both blobs"
            );
        }
        assert_eq!(stats.manifests_put.load(Ordering::Relaxed), 1);
        pushed = Some(manifest);
    }
    let manifest = pushed.unwrap();
    let raw = skopeo_raw(&format!("docker://{}/lib/push:v1", registry.host()));
    assert_eq!(
        raw,
        manifest.bytes(),
        "the registry serves our manifest bytes"
    );
    let wasm_digest = digest_bytes(&std::fs::read(&wasm).unwrap());
    let (status, response) = http_request(
        registry.port(),
        "GET",
        &format!("/v2/lib/push/blobs/{wasm_digest}"),
        &[],
    )
    .unwrap();
    assert_eq!(status, 200, "{response}");
    assert!(
        response.ends_with("a file input pushed to a registry"),
        "{response}"
    );
}

/// A source that announces one blob and yields other bytes of the same size.
struct Liar {
    announced: BytesBlob,
    actual: Vec<u8>,
}

impl BlobSource for Liar {
    fn digest(&self) -> oci_digest::Digest {
        self.announced.digest()
    }
    fn size(&self) -> u64 {
        self.announced.size()
    }
    fn origin(&self) -> Cow<'_, str> {
        Cow::Borrowed("a changing source")
    }
    fn open(&self) -> io::Result<Box<dyn Read + '_>> {
        Ok(Box::new(&self.actual[..]))
    }
}

#[test]
fn a_blob_whose_bytes_change_is_refused_and_never_stored() {
    let registry = REGISTRY.get();
    let mut sink = connect(&registry, "lib/changed");
    let announced = BytesBlob::new(vec![b'a'; 300_000]);
    let mut actual = vec![b'a'; 300_000];
    actual[299_999] = b'b';
    let liar = Liar {
        announced: announced.clone(),
        actual,
    };
    let error = sink.put_blob(&liar).unwrap_err();
    assert!(
        matches!(&error, LayoutError::SourceChanged { expected, .. } if *expected == announced.digest()),
        "{error}"
    );
    for digest in [announced.digest(), digest_bytes(&liar.actual)] {
        let (status, _) = http_request(
            registry.port(),
            "HEAD",
            &format!("/v2/lib/changed/blobs/{digest}"),
            &[],
        )
        .unwrap();
        assert_eq!(status, 404, "{digest} must not be in the registry");
    }
    let (status, _) =
        http_request(registry.port(), "HEAD", "/v2/lib/changed/manifests/v1", &[]).unwrap();
    assert_eq!(status, 404, "no manifest");
}

#[test]
fn errors_name_the_registry_the_manifest_the_status_and_the_registry_code() {
    let registry = REGISTRY.get();
    let mut sink = connect(&registry, "lib/broken");
    let config = BytesBlob::new(b"{}".to_vec());
    // The layer was never pushed: the registry refuses the manifest.
    let manifest = image(&digest_bytes(b"absent").to_string(), 6, &config);
    sink.put_blob(&config).unwrap();
    let reference: Reference = format!("{}/lib/broken:v1", registry.host())
        .parse()
        .unwrap();
    let error = sink
        .put_manifest(&manifest, MediaType::ImageManifest, &reference, None)
        .unwrap_err();
    let LayoutError::Sink(inner) = &error else {
        panic!("not a registry error: {error}");
    };
    let inner = inner.downcast_ref::<RegistryError>().unwrap();
    assert!(
        matches!(inner, RegistryError::Status { status: 400, code: Some(code), .. } if code == "MANIFEST_BLOB_UNKNOWN"),
        "{inner:?}"
    );
    let shown = error.to_string();
    for part in [
        registry.host().as_str(),
        "manifest v1",
        "PUT",
        "400",
        "MANIFEST_BLOB_UNKNOWN",
    ] {
        assert!(shown.contains(part), "{shown:?} does not name {part}");
    }
}

#[test]
fn a_registry_that_is_not_there_is_a_transport_error_after_bounded_retries() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target: RegistryRef = format!("127.0.0.1:{port}/x:v1").parse().unwrap();
    let options = ClientOptions {
        retry: oci_registry::RetryPolicy {
            attempts: 3,
            first_delay: std::time::Duration::from_millis(10),
            ..Default::default()
        },
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let error = RegistrySink::connect(target, options).err().unwrap();
    assert!(
        matches!(&error, RegistryError::GaveUp { attempts: 3, last, .. } if matches!(**last, RegistryError::Transport { .. })),
        "{error:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}

#[test]
fn https_trusts_a_ca_file_and_a_failed_handshake_is_a_tls_error_never_retried() {
    let registry = Registry::start_with(&RegistrySetup {
        tls: true,
        ..Default::default()
    });
    let ca = registry.ca_cert().unwrap().to_path_buf();
    let retry = RetryPolicy {
        attempts: 3,
        first_delay: std::time::Duration::from_millis(10),
        ..Default::default()
    };
    let connect = |host: &str, options: ClientOptions| {
        let target: RegistryRef = format!("{host}/tls/app:v1").parse().unwrap();
        RegistrySink::connect(target, ClientOptions { retry, ..options })
    };
    // With its CA file (which makes a loopback registry HTTPS): a push.
    let trusting = || ClientOptions {
        ca_file: Some(ca.clone()),
        ..Default::default()
    };
    let mut sink = connect(&registry.host(), trusting()).unwrap();
    let blob = BytesBlob::new(b"sent over TLS".to_vec());
    assert!(sink.put_blob(&blob).unwrap());
    // A second connection finds it there.
    let mut again = connect(&registry.host(), trusting()).unwrap();
    assert!(again.has_blob(&blob.digest(), blob.size()).unwrap());

    // Without it: its certificate is refused, a TLS error at once.
    let https = || ClientOptions {
        plain_http: Some(false),
        ..Default::default()
    };
    let error = connect(&registry.host(), https()).err().unwrap();
    assert!(matches!(error, RegistryError::Tls { .. }), "{error:?}");
    // HTTPS to a registry that speaks plain HTTP: a TLS error too.
    let plain = REGISTRY.get();
    let error = connect(&plain.host(), https()).err().unwrap();
    assert!(matches!(error, RegistryError::Tls { .. }), "{error:?}");
    // HTTPS to a port nothing listens on: a broken connection, retried.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = connect(&format!("127.0.0.1:{port}"), https())
        .err()
        .unwrap();
    assert!(
        matches!(&error, RegistryError::GaveUp { attempts: 3, last, .. } if matches!(**last, RegistryError::Transport { .. })),
        "{error:?}"
    );

    // CA files that cannot be used: missing, or holding no certificate.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let not_pem = dir.path().join("notes.pem");
    std::fs::write(&not_pem, "no certificate here\n").unwrap();
    for (file, says) in [
        (&missing, "No such file"),
        (&not_pem, "holds no PEM certificate"),
    ] {
        let error = connect(
            &registry.host(),
            ClientOptions {
                ca_file: Some(file.clone()),
                ..Default::default()
            },
        )
        .err()
        .unwrap();
        let RegistryError::Certificate { path, reason } = &error else {
            panic!("{error:?}")
        };
        assert_eq!(path, &file.display().to_string());
        assert!(reason.contains(says), "{error}");
    }
}
