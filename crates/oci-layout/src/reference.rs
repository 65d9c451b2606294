//! Image references: `[registry[:port]/]path:tag`, validated against the OCI
//! distribution grammar.
//!
//! - path components are lowercase `[a-z0-9]+` joined by `.`, `_`, `__` or
//!   runs of `-`, themselves joined by `/`;
//! - a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`;
//! - the first `/`-separated part is a registry host when it contains `.` or
//!   `:` or is `localhost`; a host is DNS labels (`[A-Za-z0-9]`, inner `-`)
//!   joined by `.`, with an optional numeric port;
//! - the name without its tag is at most 255 characters.
//!
//! A [`Reference`] always has a tag and never a digest: an image tar names
//! the one image it holds by tag (`org.opencontainers.image.ref.name`), and
//! the image it writes gets its own digest.
//!
//! The distribution ecosystem's type, [`oci_spec::distribution::Reference`],
//! converts both ways: into it with Docker's normalisation (no registry means
//! `docker.io`, and a one-component path there is under `library/`), as
//! oci-spec's own parser does; from it with this module's validation, a tag
//! required and a digest refused (see the `TryFrom` impl).

use std::fmt;
use std::str::FromStr;

/// The longest tag the distribution grammar allows.
pub const MAX_TAG_LEN: usize = 128;

/// The longest name (registry and path, without the tag) registries accept.
pub const MAX_NAME_LEN: usize = 255;

/// Which part of a reference is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferencePart {
    /// The registry host and port.
    Registry,
    /// The repository path (the part the CLI takes as `--repo`).
    Repository,
    /// The image name (the last path components, `--name`).
    Name,
    /// The tag.
    Tag,
    /// A digest (`@sha256:…`), which a [`Reference`] cannot hold.
    Digest,
}

impl fmt::Display for ReferencePart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReferencePart::Registry => "registry",
            ReferencePart::Repository => "repository",
            ReferencePart::Name => "name",
            ReferencePart::Tag => "tag",
            ReferencePart::Digest => "digest",
        })
    }
}

/// A reference that breaks the grammar, naming the part and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image {part} {value:?}: {reason}")]
pub struct ReferenceError {
    /// Which part is wrong.
    pub part: ReferencePart,
    /// The text of that part as given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A validated image reference with a tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: Option<String>,
    path: String,
    tag: String,
}

impl Reference {
    /// The reference `{repository}/{name}:{tag}` (or `{name}:{tag}` without a
    /// repository), as the CLI's `--repo`, `--name` and `--tag` compose it.
    /// Each part is checked on its own, so an error names the part at fault.
    pub fn from_parts(
        repository: Option<&str>,
        name: &str,
        tag: &str,
    ) -> Result<Self, ReferenceError> {
        check_path(ReferencePart::Name, name, name)?;
        check_tag(tag)?;
        let (registry, path) = match repository {
            None => (None, name.to_owned()),
            Some(repository) => {
                let (registry, repo_path) = split_registry(repository);
                if let Some(registry) = registry {
                    check_registry(registry)?;
                }
                let path = match repo_path {
                    Some(repo_path) => {
                        check_path(ReferencePart::Repository, repository, repo_path)?;
                        format!("{repo_path}/{name}")
                    }
                    None => name.to_owned(),
                };
                (registry.map(str::to_owned), path)
            }
        };
        let reference = Reference {
            registry,
            path,
            tag: tag.to_owned(),
        };
        reference.check_name_len()?;
        Ok(reference)
    }

    /// The reference with this registry, repository path and tag, each
    /// checked on its own; refused when its text would read back as another
    /// reference (a registry that looks like a path component, or, without
    /// a registry, a path whose first component looks like a host).
    fn from_registry_path_tag(
        registry: Option<&str>,
        path: &str,
        tag: &str,
    ) -> Result<Self, ReferenceError> {
        if let Some(registry) = registry {
            check_registry(registry)?;
            if !looks_like_registry(registry) {
                return Err(ReferenceError {
                    part: ReferencePart::Registry,
                    value: registry.to_owned(),
                    reason: "it would read as a path component: a registry host contains '.' \
                             or ':', or is localhost"
                        .into(),
                });
            }
        }
        check_path(ReferencePart::Repository, path, path)?;
        if registry.is_none() && path.contains('/') {
            if let (Some(host), _) = split_registry(path) {
                return Err(ReferenceError {
                    part: ReferencePart::Repository,
                    value: path.to_owned(),
                    reason: format!(
                        "without a registry, its first component {host:?} reads as a registry host"
                    ),
                });
            }
        }
        check_tag(tag)?;
        let reference = Reference {
            registry: registry.map(str::to_owned),
            path: path.to_owned(),
            tag: tag.to_owned(),
        };
        reference.check_name_len()?;
        Ok(reference)
    }

    /// The registry host and port, if the reference names one.
    pub fn registry(&self) -> Option<&str> {
        self.registry.as_deref()
    }

    /// The repository path within the registry (`containerd/runwasi/app`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag (`latest`): what `org.opencontainers.image.ref.name` holds.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The name without the tag: `registry[:port]/path`.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}", self.path),
            None => self.path.clone(),
        }
    }

    fn check_name_len(&self) -> Result<(), ReferenceError> {
        let name = self.name();
        if name.len() > MAX_NAME_LEN {
            return Err(ReferenceError {
                part: ReferencePart::Name,
                reason: format!(
                    "the name is {} characters long; registries accept at most {MAX_NAME_LEN}",
                    name.len()
                ),
                value: name,
            });
        }
        Ok(())
    }
}

/// `registry[:port]/path:tag`, or `path:tag`. The tag is required: an image
/// tar names one image version. A digest (`…@sha256:…`) is refused, as by
/// the `TryFrom<oci_spec::distribution::Reference>` conversion.
impl FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        if let Some((name, digest)) = input.split_once('@') {
            let tagged = name
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':'));
            return Err(digest_refused(digest, tagged));
        }
        let last_slash = input.rfind('/').map_or(0, |i| i + 1);
        let Some(colon) = input[last_slash..].rfind(':').map(|i| i + last_slash) else {
            return Err(ReferenceError {
                part: ReferencePart::Tag,
                value: String::new(),
                reason: format!("{input:?} has no \":tag\""),
            });
        };
        let (name, tag) = (&input[..colon], &input[colon + 1..]);
        match name.rsplit_once('/') {
            Some((repository, name)) => Reference::from_parts(Some(repository), name, tag),
            None => Reference::from_parts(None, name, tag),
        }
    }
}

/// The full reference, `registry[:port]/path:tag`: what
/// `io.containerd.image.name` and Docker's `RepoTags` hold.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(registry) = &self.registry {
            write!(f, "{registry}/")?;
        }
        write!(f, "{}:{}", self.path, self.tag)
    }
}

/// Docker Hub's registry host: what a reference without a registry means to
/// the distribution ecosystem (oci-spec, Docker, containerd's pulls).
const DOCKER_HUB: &str = "docker.io";
/// Docker Hub's older host name, which normalises to [`DOCKER_HUB`].
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
/// The namespace of Docker Hub's one-component names (`library/busybox`).
const DOCKER_HUB_OFFICIAL: &str = "library";

/// The same image in the distribution ecosystem's type, normalised as
/// oci-spec's parser normalises the string [`Reference`] displays as: no
/// registry becomes `docker.io` (as does `index.docker.io`), and a
/// one-component path on `docker.io` is put under `library/`. So
/// `app:v1` becomes `docker.io/library/app:v1`, while
/// `localhost:5000/demo/app:v1` keeps its registry, port and path.
///
/// Unlike parsing the string, this never fails: a registry-less
/// 255-character name stays as it is, where oci-spec's parser would count
/// the added `library/` against its length limit.
impl From<&Reference> for oci_spec::distribution::Reference {
    fn from(reference: &Reference) -> Self {
        let registry = match reference.registry() {
            None | Some(DOCKER_HUB_LEGACY) => DOCKER_HUB,
            Some(registry) => registry,
        };
        let repository = if registry == DOCKER_HUB && !reference.path.contains('/') {
            format!("{DOCKER_HUB_OFFICIAL}/{}", reference.path)
        } else {
            reference.path.clone()
        };
        oci_spec::distribution::Reference::with_tag(
            registry.to_owned(),
            repository,
            reference.tag.clone(),
        )
    }
}

/// A distribution reference as an image name, checked against this module's
/// grammar (stricter than oci-spec's: ASCII-only tags, no registry that
/// cannot be told from a path component).
///
/// - The tag is required. A reference by **digest alone** (`app@sha256:…`)
///   is refused ([`ReferencePart::Digest`]): it names no tag, and an image
///   tar names its image by tag; picking `latest` instead would name an
///   image the caller did not. A reference with a tag **and** a digest is
///   refused too, rather than the digest dropped: the digest pins an
///   existing manifest, and the image written gets its own.
/// - The registry is kept as given, `docker.io` included: `app:v1` parsed
///   by oci-spec (`docker.io/library/app:v1`) comes back as
///   `docker.io/library/app:v1`, not `app:v1`. An empty registry (only
///   possible by building the value by hand) means none.
/// - A pull mirror set on the value is not part of the name and is ignored.
impl TryFrom<oci_spec::distribution::Reference> for Reference {
    type Error = ReferenceError;

    fn try_from(reference: oci_spec::distribution::Reference) -> Result<Self, Self::Error> {
        match (reference.tag(), reference.digest()) {
            (tag, Some(digest)) => Err(digest_refused(digest, tag.is_some())),
            (None, None) => Err(ReferenceError {
                part: ReferencePart::Tag,
                value: String::new(),
                reason: format!("{reference} has no tag"),
            }),
            (Some(tag), None) => {
                let registry = Some(reference.registry()).filter(|r| !r.is_empty());
                Reference::from_registry_path_tag(registry, reference.repository(), tag)
            }
        }
    }
}

/// The refusal of a reference with a `digest`, beside a tag or not.
fn digest_refused(digest: &str, tagged: bool) -> ReferenceError {
    let reason = if tagged {
        "a digest pins an existing manifest, but the image written gets its own digest; \
         name it by tag alone"
    } else {
        "a reference by digest alone names no tag, and an image tar names its image by tag"
    };
    ReferenceError {
        part: ReferencePart::Digest,
        value: digest.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Splits a leading registry host off `repository` when its first part looks
/// like one (contains `.` or `:`, or is `localhost`).
fn split_registry(repository: &str) -> (Option<&str>, Option<&str>) {
    let (first, rest) = match repository.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (repository, None),
    };
    if looks_like_registry(first) {
        (Some(first), rest)
    } else {
        (None, Some(repository))
    }
}

/// Whether the first `/`-separated part of a reference is a registry host:
/// it contains `.` or `:`, or is `localhost`.
fn looks_like_registry(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

fn check_tag(tag: &str) -> Result<(), ReferenceError> {
    let fail = |reason: String| {
        Err(ReferenceError {
            part: ReferencePart::Tag,
            value: tag.to_owned(),
            reason,
        })
    };
    let Some(first) = tag.chars().next() else {
        return fail("a tag cannot be empty".into());
    };
    if tag.len() > MAX_TAG_LEN {
        return fail(format!(
            "a tag is at most {MAX_TAG_LEN} characters; this one has {}",
            tag.chars().count()
        ));
    }
    if !(first.is_ascii_alphanumeric() || first == '_') {
        return fail(format!(
            "a tag must start with a letter, digit or '_', not {first:?}"
        ));
    }
    if let Some(bad) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return fail(format!(
            "{bad:?} is not allowed in a tag (only letters, digits, '_', '.' and '-')"
        ));
    }
    Ok(())
}

/// Checks `path` (`a/b/c`), reporting errors against `value`, the text the
/// user gave for `part`.
fn check_path(part: ReferencePart, value: &str, path: &str) -> Result<(), ReferenceError> {
    let fail = |reason: String| {
        Err(ReferenceError {
            part,
            value: value.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return fail("it cannot be empty".into());
    }
    for component in path.split('/') {
        if component.is_empty() {
            return fail(
                "it has an empty path component (a leading, trailing or double '/')".into(),
            );
        }
        if let Some(reason) = path_component_problem(component) {
            return fail(format!("path component {component:?}: {reason}"));
        }
    }
    Ok(())
}

/// Why `component` does not match `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn path_component_problem(component: &str) -> Option<String> {
    if let Some(upper) = component.chars().find(char::is_ascii_uppercase) {
        return Some(format!(
            "{upper:?} is upper case; repository paths must be lowercase"
        ));
    }
    if let Some(bad) = component
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return Some(format!(
            "{bad:?} is not allowed (only a-z, 0-9 and the separators '.', '_', '__', '-')"
        ));
    }
    let bytes = component.as_bytes();
    let is_alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !is_alnum(bytes[0]) || !is_alnum(bytes[bytes.len() - 1]) {
        return Some("it must start and end with a letter or digit".into());
    }
    // Each run of separators must be ".", "_", "__" or one or more "-".
    for run in component.split(|c: char| c.is_ascii_alphanumeric()) {
        let valid = run.is_empty()
            || run == "."
            || run == "_"
            || run == "__"
            || run.bytes().all(|b| b == b'-');
        if !valid {
            return Some(format!(
                "separator {run:?} is not allowed (use '.', '_', '__' or dashes)"
            ));
        }
    }
    None
}

fn check_registry(registry: &str) -> Result<(), ReferenceError> {
    let fail = |reason: String| {
        Err(ReferenceError {
            part: ReferencePart::Registry,
            value: registry.to_owned(),
            reason,
        })
    };
    // An IPv6 address is written in brackets, as in URLs: `[::1]:5000`.
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let Some((address, after)) = rest.split_once(']') else {
            return fail("an IPv6 address in '[' has no closing ']'".into());
        };
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return fail(format!("{address:?} is not an IPv6 address"));
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return fail(format!("{after:?} after the IPv6 address is not :PORT")),
            },
        }
    } else {
        match registry.rsplit_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    if let Some(port) = port {
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return fail(format!("port {port:?} is not a number"));
        }
        if !port.parse::<u16>().is_ok_and(|port| port != 0) {
            return fail(format!("port {port} is out of range: ports are 1 to 65535"));
        }
    }
    let Some(host) = host else {
        return Ok(());
    };
    if host.is_empty() {
        return fail("the host name is empty".into());
    }
    for label in host.split('.') {
        let bytes = label.as_bytes();
        let valid = !bytes.is_empty()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-';
        if !valid {
            return fail(format!(
                "host label {label:?} is not letters and digits with inner '-'"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(repo: Option<&str>, name: &str, tag: &str) -> Result<Reference, ReferenceError> {
        Reference::from_parts(repo, name, tag)
    }

    #[test]
    fn seed_reference() {
        let r = parts(
            Some("ghcr.io/containerd/runwasi"),
            "wasi-demo-oci",
            "latest",
        )
        .unwrap();
        assert_eq!(
            r.to_string(),
            "ghcr.io/containerd/runwasi/wasi-demo-oci:latest"
        );
        assert_eq!(r.registry(), Some("ghcr.io"));
        assert_eq!(r.path(), "containerd/runwasi/wasi-demo-oci");
        assert_eq!(r.tag(), "latest");
        assert_eq!(r.name(), "ghcr.io/containerd/runwasi/wasi-demo-oci");
    }

    #[test]
    fn ipv6_registries_and_port_ranges() {
        let r = parts(Some("[::1]:5000/demo"), "app", "v1").unwrap();
        assert_eq!(r.registry(), Some("[::1]:5000"));
        assert_eq!(r.to_string(), "[::1]:5000/demo/app:v1");
        assert_eq!(r.tag(), "v1");
        assert_eq!("[::1]:5000/demo/app:v1".parse::<Reference>().unwrap(), r);
        assert!(parts(Some("[fe80::1]"), "app", "v1").is_ok());
        assert!(parts(Some("localhost:65535"), "app", "v1").is_ok());
        for (registry, reason) in [
            (
                "localhost:99999",
                "port 99999 is out of range: ports are 1 to 65535",
            ),
            (
                "localhost:0",
                "port 0 is out of range: ports are 1 to 65535",
            ),
            (
                "localhost:123456789012",
                "port 123456789012 is out of range: ports are 1 to 65535",
            ),
            ("[::1", "an IPv6 address in '[' has no closing ']'"),
            ("[::g]:5000", "\"::g\" is not an IPv6 address"),
            ("[::1]x", "\"x\" after the IPv6 address is not :PORT"),
        ] {
            let error = parts(Some(registry), "app", "v1").unwrap_err();
            assert_eq!(error.part, ReferencePart::Registry, "{registry}");
            assert_eq!(error.reason, reason, "{registry}");
        }
    }

    #[test]
    fn registry_port_is_not_mistaken_for_a_tag() {
        let r = parts(Some("localhost:5000/demo"), "app", "v1").unwrap();
        assert_eq!(r.to_string(), "localhost:5000/demo/app:v1");
        assert_eq!(r.tag(), "v1");
        assert_eq!(r.registry(), Some("localhost:5000"));
        let parsed: Reference = "localhost:5000/demo/app:v1".parse().unwrap();
        assert_eq!(parsed, r);
        let host_only = parts(Some("127.0.0.1:5000"), "app", "v1").unwrap();
        assert_eq!(host_only.to_string(), "127.0.0.1:5000/app:v1");
        assert_eq!(host_only.path(), "app");
    }

    #[test]
    fn no_repository_and_registryless_repository() {
        assert_eq!(parts(None, "app", "v1").unwrap().to_string(), "app:v1");
        let r = parts(Some("library/tools"), "app", "1.0").unwrap();
        assert_eq!((r.registry(), r.path()), (None, "library/tools/app"));
    }

    #[test]
    fn accepted_separators() {
        for name in ["a.b", "a_b", "a__b", "a-b", "a---b", "a1-b2.c3__d4", "0"] {
            assert!(parts(None, name, "t").is_ok(), "{name} should be accepted");
        }
    }

    #[test]
    fn refused_names_name_the_part_and_reason() {
        for (repo, name, tag, part, reason) in [
            (
                None,
                "my app",
                "v1",
                ReferencePart::Name,
                "' ' is not allowed",
            ),
            (None, "App", "v1", ReferencePart::Name, "upper case"),
            (
                Some("ghcr.io/Containerd"),
                "app",
                "v1",
                ReferencePart::Repository,
                "upper case",
            ),
            (None, "a..b", "v1", ReferencePart::Name, "separator \"..\""),
            (
                None,
                "a___b",
                "v1",
                ReferencePart::Name,
                "separator \"___\"",
            ),
            (None, "-a", "v1", ReferencePart::Name, "start and end"),
            (None, "a.", "v1", ReferencePart::Name, "start and end"),
            (None, "", "v1", ReferencePart::Name, "cannot be empty"),
            (
                Some("demo//x"),
                "app",
                "v1",
                ReferencePart::Repository,
                "empty path component",
            ),
            (
                Some("demo/"),
                "app",
                "v1",
                ReferencePart::Repository,
                "empty path component",
            ),
            (
                Some("bad_host.io:50a/x"),
                "app",
                "v1",
                ReferencePart::Registry,
                "port",
            ),
            (
                Some("-bad.io/x"),
                "app",
                "v1",
                ReferencePart::Registry,
                "host label",
            ),
            (None, "app", "", ReferencePart::Tag, "cannot be empty"),
            (None, "app", "a/b", ReferencePart::Tag, "'/' is not allowed"),
            (None, "app", ".v1", ReferencePart::Tag, "must start"),
            (
                None,
                "app",
                "v1+x",
                ReferencePart::Tag,
                "'+' is not allowed",
            ),
        ] {
            let err = parts(repo, name, tag).unwrap_err();
            assert_eq!(err.part, part, "{repo:?} {name:?} {tag:?}: {err}");
            assert!(err.to_string().contains(reason), "{err} lacks {reason:?}");
        }
    }

    #[test]
    fn tag_length_limit() {
        assert!(parts(None, "app", &"t".repeat(MAX_TAG_LEN)).is_ok());
        let err = parts(None, "app", &"t".repeat(MAX_TAG_LEN + 1)).unwrap_err();
        assert_eq!(err.part, ReferencePart::Tag);
        assert!(err.reason.contains("at most 128"), "{err}");
    }

    #[test]
    fn name_length_limit() {
        let long = "a".repeat(MAX_NAME_LEN);
        let err = parts(Some("ghcr.io"), &long, "v1").unwrap_err();
        assert!(err.reason.contains("at most 255"), "{err}");
        assert!(parts(None, &long, "v1").is_ok());
    }

    #[test]
    fn parse_requires_a_tag() {
        let err = "ghcr.io/app".parse::<Reference>().unwrap_err();
        assert_eq!(err.part, ReferencePart::Tag);
        let err = "localhost:5000/app".parse::<Reference>().unwrap_err();
        assert_eq!(err.part, ReferencePart::Tag);
    }

    #[test]
    fn non_ascii_is_refused_not_a_panic() {
        assert!(parts(None, "é", "v1").is_err());
        assert!(parts(None, "a", "é").is_err());
        assert!(parts(Some("é.io"), "a", "v1").is_err());
    }

    #[test]
    fn errors_name_the_part_in_words() {
        for (repo, name, tag, start) in [
            (
                Some("-bad.io/x"),
                "app",
                "v1",
                "invalid image registry \"-bad.io\": ",
            ),
            (
                Some("ghcr.io/App"),
                "app",
                "v1",
                "invalid image repository \"ghcr.io/App\": ",
            ),
            (None, "App", "v1", "invalid image name \"App\": "),
            (None, "app", ".v1", "invalid image tag \".v1\": "),
        ] {
            let err = parts(repo, name, tag).unwrap_err();
            assert!(err.to_string().starts_with(start), "{err}");
        }
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let err = format!("app@{digest}").parse::<Reference>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("invalid image digest \"{digest}\": ")),
            "{err}"
        );
    }

    #[test]
    fn a_port_is_digits_only() {
        for port in ["", "+5000", "50a", " 5000"] {
            let err = parts(Some(&format!("localhost:{port}")), "app", "v1").unwrap_err();
            assert_eq!(err.part, ReferencePart::Registry);
            assert_eq!(err.reason, format!("port {port:?} is not a number"));
        }
    }

    #[test]
    fn host_labels_are_letters_and_digits_with_inner_dashes() {
        for (host, label) in [
            ("bad_host.io", "bad_host"),
            ("a..io", ""),
            ("a-.io", "a-"),
            ("-a.io", "-a"),
            ("a.b@c.io", "b@c"),
        ] {
            let err = parts(Some(&format!("{host}/x")), "app", "v1").unwrap_err();
            assert_eq!(err.part, ReferencePart::Registry, "{host}");
            assert_eq!(
                err.reason,
                format!("host label {label:?} is not letters and digits with inner '-'"),
                "{host}"
            );
        }
        for host in ["a-b.io", "a--b.io", "A1.io", "x.y-z.io:5000"] {
            assert!(parts(Some(host), "app", "v1").is_ok(), "{host}");
        }
    }

    #[test]
    fn the_tag_is_looked_for_after_the_last_slash_only() {
        // The colon before the slash is the registry's, not a tag's.
        let err = "x:/y".parse::<Reference>().unwrap_err();
        assert_eq!(err.part, ReferencePart::Tag);
        assert_eq!(err.reason, "\"x:/y\" has no \":tag\"");
        // A leading slash is an empty repository, not a panic.
        let err = "/app:v1".parse::<Reference>().unwrap_err();
        assert_eq!(err.part, ReferencePart::Repository);
        assert_eq!(err.reason, "it cannot be empty");
    }

    mod distribution {
        use super::*;
        use oci_spec::distribution::Reference as Distribution;

        fn theirs(text: &str) -> Distribution {
            text.parse().unwrap()
        }

        fn ours(text: &str) -> Reference {
            text.parse().unwrap()
        }

        const DIGEST: &str =
            "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

        #[test]
        fn a_registry_port_survives_both_ways() {
            let reference = ours("localhost:5000/demo/app:v1");
            let converted = Distribution::from(&reference);
            assert_eq!(converted.registry(), "localhost:5000");
            assert_eq!(converted.repository(), "demo/app");
            assert_eq!(converted.tag(), Some("v1"));
            assert_eq!(converted.digest(), None);
            assert_eq!(converted.to_string(), "localhost:5000/demo/app:v1");
            let back = Reference::try_from(converted).unwrap();
            assert_eq!(back, reference);
            assert_eq!(
                (back.registry(), back.tag()),
                (Some("localhost:5000"), "v1")
            );
        }

        /// Converting gives what oci-spec's parser makes of our text.
        #[test]
        fn into_oci_spec_normalises_as_its_parser_does() {
            for text in [
                "localhost:5000/demo/app:v1",
                "127.0.0.1:5000/app:v1",
                "localhost/app:v1",
                "ghcr.io/containerd/runwasi/wasi-demo-oci:latest",
                "app:v1",
                "a.b:v1",
                "library/tools/app:1.0",
                "docker.io/app:v1",
                "index.docker.io/app:v1",
                "docker.io/org/app:v1",
            ] {
                assert_eq!(Distribution::from(&ours(text)), theirs(text), "{text}");
            }
        }

        /// No registry means Docker Hub to the ecosystem; coming back, the
        /// registry stays explicit, and from there the round trip is exact.
        #[test]
        fn no_registry_becomes_docker_hub_and_stays_explicit() {
            let converted = Distribution::from(&ours("app:v1"));
            assert_eq!(converted.registry(), "docker.io");
            assert_eq!(converted.repository(), "library/app");
            let back = Reference::try_from(converted).unwrap();
            assert_eq!(back.to_string(), "docker.io/library/app:v1");
            assert_eq!(back.registry(), Some("docker.io"));
            assert_eq!(back.path(), "library/app");
            assert_eq!(
                Reference::try_from(Distribution::from(&back)).unwrap(),
                back
            );
        }

        #[test]
        fn from_oci_spec_and_back_is_exact_for_what_it_accepts() {
            for text in [
                "localhost:5000/demo/app:v1",
                "ghcr.io/containerd/runwasi/wasi-demo-oci:latest",
                "docker.io/library/busybox:1.36",
                "registry.example.com:443/a/b/c:V1.0-rc_1",
            ] {
                let converted = Reference::try_from(theirs(text)).unwrap();
                assert_eq!(converted.to_string(), text);
                assert_eq!(Distribution::from(&converted), theirs(text));
                assert_eq!(ours(text), converted);
            }
        }

        /// A first component that looks like a host is refused only when
        /// it would be read as one: without a registry, and before a '/'.
        #[test]
        fn a_host_like_first_component_is_a_path_under_a_registry_or_alone() {
            let tagged = |registry: &str, repository: &str| {
                Distribution::with_tag(registry.into(), repository.into(), "v1".into())
            };
            for (reference, shown) in [
                (tagged("ghcr.io", "a.b/c"), "ghcr.io/a.b/c:v1"),
                (tagged("", "a.b"), "a.b:v1"),
            ] {
                let converted = Reference::try_from(reference).unwrap();
                assert_eq!(converted.to_string(), shown);
            }
        }

        #[test]
        fn an_empty_registry_built_by_hand_means_none() {
            let hand_made = Distribution::with_tag(String::new(), "demo/app".into(), "v1".into());
            let converted = Reference::try_from(hand_made).unwrap();
            assert_eq!(converted.registry(), None);
            assert_eq!(converted.to_string(), "demo/app:v1");
        }

        #[test]
        fn from_oci_spec_refuses_digests_and_what_the_grammar_refuses() {
            let tagged = |registry: &str, repository: &str, tag: &str| {
                Distribution::with_tag(registry.into(), repository.into(), tag.into())
            };
            let long = "a".repeat(MAX_NAME_LEN);
            let no_tag: Distribution =
                serde_json::from_str(r#"{"registry":"ghcr.io","repository":"app"}"#).unwrap();
            for (reference, part, reason) in [
                (
                    theirs(&format!("ghcr.io/app@{DIGEST}")),
                    ReferencePart::Digest,
                    "digest alone names no tag",
                ),
                (
                    theirs(&format!("localhost:5000/app:v1@{DIGEST}")),
                    ReferencePart::Digest,
                    "pins an existing manifest",
                ),
                (no_tag, ReferencePart::Tag, "has no tag"),
                (theirs("ghcr.io/app:v1é"), ReferencePart::Tag, "not allowed"),
                (
                    tagged("myhost", "app", "v1"),
                    ReferencePart::Registry,
                    "path component",
                ),
                (
                    tagged("bad_host.io", "app", "v1"),
                    ReferencePart::Registry,
                    "host label",
                ),
                (
                    tagged("", "ghcr.io/app", "v1"),
                    ReferencePart::Repository,
                    "reads as a registry host",
                ),
                (
                    tagged("ghcr.io", "App", "v1"),
                    ReferencePart::Repository,
                    "upper case",
                ),
                (
                    tagged("ghcr.io", "", "v1"),
                    ReferencePart::Repository,
                    "cannot be empty",
                ),
                (
                    tagged("ghcr.io", "app", ""),
                    ReferencePart::Tag,
                    "cannot be empty",
                ),
                (
                    tagged("ghcr.io", &long, "v1"),
                    ReferencePart::Name,
                    "at most 255",
                ),
            ] {
                let shown = format!("{reference:?}");
                let err = Reference::try_from(reference).unwrap_err();
                assert_eq!(err.part, part, "{shown}: {err}");
                assert!(
                    err.to_string().contains(reason),
                    "{shown}: {err} lacks {reason:?}"
                );
            }
        }

        #[test]
        fn parse_refuses_a_digest() {
            for (text, reason) in [
                (format!("ghcr.io/app:v1@{DIGEST}"), "pins"),
                (format!("ghcr.io/app@{DIGEST}"), "digest alone"),
                (format!("localhost:5000/app@{DIGEST}"), "digest alone"),
                (format!("app@{DIGEST}"), "digest alone"),
            ] {
                let err = text.parse::<Reference>().unwrap_err();
                assert_eq!(err.part, ReferencePart::Digest, "{text}: {err}");
                assert_eq!(err.value, DIGEST);
                assert!(err.reason.contains(reason), "{text}: {err}");
            }
        }
    }
}
