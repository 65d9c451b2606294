//! Where an image is pushed: a registry, a repository in it, and tags.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use oci_layout::Reference;

use crate::RegistryError;

/// Docker Hub's name in references, and the host its API answers on.
const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A repository in a registry and the tags to push under:
/// `REGISTRY/REPOSITORY:TAG`, as skopeo's `docker://` transport names it
/// (without the `docker://`).
///
/// ```
/// use oci_registry::RegistryRef;
///
/// let target: RegistryRef = "127.0.0.1:5000/wasm/app:v1".parse()?;
/// assert_eq!(target.registry(), "127.0.0.1:5000");
/// assert_eq!(target.repository(), "wasm/app");
/// assert_eq!(target.tags(), ["v1"]);
/// assert!(target.is_loopback());
///
/// // No registry means Docker Hub, as for docker and skopeo.
/// let hub: RegistryRef = "app:v1".parse()?;
/// assert_eq!((hub.registry(), hub.repository()), ("docker.io", "library/app"));
/// # Ok::<(), oci_registry::RegistryError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    registry: String,
    repository: String,
    tags: Vec<String>,
}

impl RegistryRef {
    /// The registry as named in references (`host[:port]`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host (and port) its API answers on: the registry, except for
    /// Docker Hub.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.registry
        }
    }

    /// The repository path in the registry (`wasm/app`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tags the manifest is put under, in order.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// Adds a tag to push the same manifest under (checked against the
    /// distribution grammar); a tag already there is not repeated.
    pub fn add_tag(&mut self, tag: &str) -> Result<(), RegistryError> {
        let checked: Reference = format!("{}/{}:{tag}", self.registry, self.repository)
            .parse()
            .map_err(|e| RegistryError::InvalidReference {
                reference: tag.to_owned(),
                reason: format!("{e}"),
            })?;
        if !self.tags.iter().any(|t| t == checked.tag()) {
            self.tags.push(checked.tag().to_owned());
        }
        Ok(())
    }

    /// Whether the registry is this machine (`localhost`, `127.0.0.0/8`,
    /// `::1`): the only place plain HTTP is used without being asked for.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.registry)
    }
}

/// Whether `host[:port]` names this machine.
pub(crate) fn is_loopback_host(authority: &str) -> bool {
    let host = if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host)
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl FromStr for RegistryRef {
    type Err = RegistryError;

    /// Parses `REGISTRY/REPOSITORY:TAG` (a tag is required; a digest is
    /// refused, since a pushed manifest gets its own).
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let reference: Reference = value.parse().map_err(|e| RegistryError::InvalidReference {
            reference: value.to_owned(),
            reason: format!("{e}"),
        })?;
        let (registry, repository) = match reference.registry() {
            Some(registry) if registry != "index.docker.io" => {
                (registry.to_owned(), reference.path().to_owned())
            }
            _ if !reference.path().contains('/') => (
                DOCKER_HUB.to_owned(),
                format!("library/{}", reference.path()),
            ),
            _ => (DOCKER_HUB.to_owned(), reference.path().to_owned()),
        };
        Ok(RegistryRef {
            registry,
            repository,
            tags: vec![reference.tag().to_owned()],
        })
    }
}

/// `REGISTRY/REPOSITORY:TAG` with the first tag (and `,TAG` for each other).
impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        for (i, tag) in self.tags.iter().enumerate() {
            write!(f, "{}{tag}", if i == 0 { ':' } else { ',' })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn references_split_into_registry_repository_and_tag() {
        let r: RegistryRef = "localhost:5000/a/b/c:v2".parse().unwrap();
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.repository(), "a/b/c");
        assert_eq!(r.tags(), ["v2"]);
        assert!(r.is_loopback());
        let r: RegistryRef = "ghcr.io/org/app:1.0".parse().unwrap();
        assert!(!r.is_loopback());
        assert_eq!(r.api_host(), "ghcr.io");
        let r: RegistryRef = "org/app:1".parse().unwrap();
        assert_eq!((r.api_host(), r.repository()), (DOCKER_HUB_API, "org/app"));
        for bad in [
            "",
            "x",
            "127.0.0.1:5000/app",
            "a/b@sha256:abc",
            "127.0.0.1:5000/UP:v1",
        ] {
            assert!(bad.parse::<RegistryRef>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn no_registry_and_index_docker_io_mean_docker_hub() {
        for (text, registry, repository) in [
            ("app:v1", "docker.io", "library/app"),
            ("index.docker.io/app:v1", "docker.io", "library/app"),
            ("index.docker.io/org/app:v1", "docker.io", "org/app"),
        ] {
            let r: RegistryRef = text.parse().unwrap();
            assert_eq!(
                (r.registry(), r.repository()),
                (registry, repository),
                "{text}"
            );
        }
    }

    #[test]
    fn loopback_hosts() {
        for yes in [
            "localhost",
            "localhost:1",
            "127.0.0.1:5000",
            "127.3.4.5",
            "[::1]:5000",
        ] {
            assert!(is_loopback_host(yes), "{yes}");
        }
        for no in [
            "example.com",
            "10.0.0.1:5000",
            "[::2]:1",
            "localhost.example.com",
        ] {
            assert!(!is_loopback_host(no), "{no}");
        }
    }

    #[test]
    fn tags_are_added_once_and_checked() {
        let mut r: RegistryRef = "127.0.0.1:1/app:v1".parse().unwrap();
        r.add_tag("v2").unwrap();
        r.add_tag("v1").unwrap();
        assert_eq!(r.tags(), ["v1", "v2"]);
        assert!(r.add_tag("bad tag").is_err());
        assert_eq!(r.to_string(), "127.0.0.1:1/app:v1,v2");
    }
}
