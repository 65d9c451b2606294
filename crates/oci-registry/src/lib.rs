//! Pushes OCI images to a registry (the [OCI distribution spec] v1.1)
//! through the same seam every other destination of an image has:
//! [`oci_layout::ImageSink`]. Image code that writes a tar or a layout
//! directory writes to a [`RegistrySink`] unchanged.
//!
//! - Blobs are asked for first (`HEAD`) and not sent when the registry
//!   holds them; otherwise uploaded (`POST` then `PUT ?digest=` with
//!   `Content-Length`), streamed from their source and checked against
//!   their digest as they go: a source whose bytes change is an error, and
//!   the bytes that would complete a wrong blob are never sent. A registry
//!   that refuses a whole blob as too large (413), or every blob with
//!   [`ClientOptions::max_chunk_size`], gets it in `PATCH` chunks
//!   (honouring `OCI-Chunk-Min-Length`), a broken chunk resumed from the
//!   upload's `Range`; a blob another repository of the registry holds can
//!   be mounted from it ([`RegistrySink::mount_from`]).
//! - Manifests are put under each tag with their media type as
//!   `Content-Type`; the registry's `Docker-Content-Digest` must be ours.
//! - Auth: anonymous, Basic, and bearer tokens (`WWW-Authenticate: Bearer
//!   realm,service` → a token for `repository:NAME:pull,push`, reused;
//!   an identity token is exchanged for one with OAuth2's
//!   `grant_type=refresh_token`). Credentials come from the caller
//!   ([`ClientOptions::credentials`]) or where users keep them
//!   ([`find_credentials`]: podman's `auth.json`, docker's `config.json`
//!   and the credential helpers they name); they are never sent
//!   over plain HTTP to a host that is not this machine, never sent to
//!   another host than the registry's (a redirect to blob storage goes
//!   without them), and never shown in an error or a `Debug`.
//! - HTTPS with the system's roots (and an extra CA file if given); plain
//!   HTTP for a loopback registry, or when asked.
//! - Transient failures (408, 429 with its `Retry-After`, 5xx, a broken
//!   connection) are retried within a bounded [`RetryPolicy`].
//!
//! Errors are typed ([`RegistryError`]) and name the registry, the blob or
//! manifest, the HTTP status and the registry's error `code` and
//! `message`. Through the seam they arrive as [`LayoutError::Sink`], from
//! which they downcast back.
//!
//! Pushing a config blob and a manifest that refers to it:
//!
//! ```no_run
//! use oci_layout::{BlobSource, BytesBlob, ImageSink, Reference};
//! use oci_registry::{ClientOptions, RegistryRef, RegistrySink};
//! use oci_spec::image::MediaType;
//!
//! let target: RegistryRef = "127.0.0.1:5000/demo/app:v1".parse()?;
//! let mut sink = RegistrySink::connect(target, ClientOptions::default())?;
//! let config = BytesBlob::new(br#"{"architecture":"wasm","os":"wasip1","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec());
//! sink.put_blob(&config)?;
//! let manifest = BytesBlob::new(format!(
//!     r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[]}}"#,
//!     config.digest(),
//!     config.size()
//! ).into_bytes());
//! let reference: Reference = "127.0.0.1:5000/demo/app:v1".parse()?;
//! sink.put_manifest(&manifest, MediaType::ImageManifest, &reference, None)?;
//! println!("pushed {} ({} blobs sent)", manifest.digest(),
//!     sink.stats().blobs_uploaded.load(std::sync::atomic::Ordering::Relaxed));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [OCI distribution spec]: https://github.com/opencontainers/distribution-spec/blob/v1.1.0/spec.md
//! [`LayoutError::Sink`]: oci_layout::LayoutError::Sink
#![deny(missing_docs)]

mod auth;
mod client;
mod credential_store;
mod error;
mod sink;
mod target;

pub use auth::Credentials;
pub use client::{ClientOptions, RetryPolicy};
pub use credential_store::{
    credential_files, docker_config_path, find_credentials, from_auth_file, from_docker_config,
    FoundCredentials,
};
pub use error::RegistryError;
pub use sink::{PushStats, RegistrySink, DEFAULT_CHUNK_SIZE};
pub use target::RegistryRef;
