//! What can go wrong talking to a registry.

use std::fmt;
use std::time::Duration;

use oci_digest::Digest;
use oci_layout::LayoutError;

/// Everything that can go wrong pushing to a registry. Each names the
/// registry and what was being sent (a blob, a manifest) where it applies.
/// Credentials never appear in any of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The registry answered with a status that is not success (and not
    /// worth retrying, or retried in vain).
    #[error("{registry}: {what}: {method} answered HTTP {status}{}", ErrorBody(.code, .message))]
    Status {
        /// The registry (`host[:port]`).
        registry: String,
        /// What was being sent or asked for (`blob sha256:…`, `manifest v1`).
        what: String,
        /// The HTTP method.
        method: &'static str,
        /// The HTTP status code.
        status: u16,
        /// The first `code` of the registry's JSON error body, if it sent one.
        code: Option<String>,
        /// That error's `message`.
        message: Option<String>,
    },
    /// The connection failed or broke (refused, reset, timed out, TLS).
    #[error("{registry}: {what}: {reason}")]
    Transport {
        /// The registry.
        registry: String,
        /// What was being sent or asked for.
        what: String,
        /// What the HTTP client said.
        reason: String,
    },
    /// The TLS handshake failed (a certificate not trusted or not for this
    /// host, or a server that does not speak TLS); not retried.
    #[error("{registry}: {what}: TLS: {reason}")]
    Tls {
        /// The registry (or token server).
        registry: String,
        /// What was being sent or asked for.
        what: String,
        /// What the TLS library said.
        reason: String,
    },
    /// The registry stored a manifest under another digest than ours.
    #[error("{registry}: manifest {tag}: the registry says its digest is {found}, but we sent {expected}")]
    ManifestDigest {
        /// The registry.
        registry: String,
        /// The tag the manifest was put under.
        tag: String,
        /// The digest of the bytes we sent.
        expected: Digest,
        /// The registry's `Docker-Content-Digest`.
        found: String,
    },
    /// The registry answered in a way the distribution spec does not allow
    /// (an upload without a `Location`, a token response without a token).
    #[error("{registry}: {what}: {reason}")]
    Protocol {
        /// The registry (or token server).
        registry: String,
        /// What was being sent or asked for.
        what: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The registry refused the credentials, or asked for some when there
    /// were none.
    #[error("{registry}: {what}: not authorized ({reason})")]
    Unauthorized {
        /// The registry.
        registry: String,
        /// What was being sent or asked for.
        what: String,
        /// Why.
        reason: String,
    },
    /// Credentials would go over plain HTTP to a host that is not this
    /// machine; they are never sent.
    #[error("{registry}: refusing to send credentials over plain HTTP to a host that is not a loopback address")]
    CredentialsOverPlainHttp {
        /// The registry.
        registry: String,
    },
    /// A registry reference that cannot be pushed to.
    #[error("{reference:?}: {reason}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A certificate file that could not be used.
    #[error("{path}: {reason}")]
    Certificate {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A credential store (a docker config file) that could not be read.
    #[error("{origin}: {reason}")]
    CredentialStore {
        /// The file.
        origin: String,
        /// What is wrong (never the credential itself).
        reason: String,
    },
    /// A transient failure repeated until the retry budget ran out.
    #[error("{last} (gave up after {attempts} attempts in {:.1?})", .elapsed)]
    GaveUp {
        /// How many attempts were made.
        attempts: u32,
        /// How long they took.
        elapsed: Duration,
        /// The last failure.
        #[source]
        last: Box<RegistryError>,
    },
    /// Reading a blob's source failed, or its bytes were not what was
    /// announced (nothing more is sent, and the upload is not completed).
    #[error(transparent)]
    Source(LayoutError),
}

/// `: CODE: message` from a registry's JSON error body, when it sent one.
struct ErrorBody<'a>(&'a Option<String>, &'a Option<String>);

impl fmt::Display for ErrorBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = self.0 {
            write!(f, ": {code}")?;
        }
        if let Some(message) = self.1 {
            write!(f, ": {message}")?;
        }
        Ok(())
    }
}

impl RegistryError {
    /// Whether trying again may help, and how long the registry asked to
    /// wait (`Retry-After`) if it said.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            RegistryError::Status { status, .. } => {
                *status == 408 || *status == 429 || (500..600).contains(status)
            }
            RegistryError::Transport { .. } => true,
            _ => false,
        }
    }
}

/// The image-writing error for a registry error: a source's own error as
/// it was, anything else carried inside [`LayoutError::Sink`] (downcast it
/// back to [`RegistryError`] to look inside).
impl From<RegistryError> for LayoutError {
    fn from(error: RegistryError) -> Self {
        match error {
            RegistryError::Source(inner) => inner,
            other => LayoutError::Sink(Box::new(other)),
        }
    }
}
