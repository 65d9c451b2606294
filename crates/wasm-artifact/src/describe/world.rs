//! The world mapping: a component's WIT world, decoded with wit-parser (the
//! decoder behind `wasm-tools component wit`), as the world keys the CNCF
//! config's `component` lists; a binary-encoded WIT package as the reference
//! implementation (the oci-wasm crate) describes one.

use std::collections::BTreeSet;

use serde::Serialize;
use wit_parser::decoding::DecodedWasm;
use wit_parser::{PackageId, Resolve, WorldId, WorldKey};

use super::skip::{FullReads, SkipCustomSections, Source};

/// A component's imports and exports as world keys: interfaces as
/// `ns:pkg/iface@version`, functions (and types) by their bare name; sorted
/// and without duplicates so the config's bytes are reproducible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentWorld {
    /// What the component exports.
    pub exports: Vec<String>,
    /// What the component imports.
    pub imports: Vec<String>,
}

/// What the decoder made of a binary, its lists not yet sorted.
pub(super) enum Decoded {
    /// A component: the imports and exports of its world.
    Component(ComponentWorld),
    /// A binary-encoded WIT package, described as [`wit_package_world`] says.
    WitPackage(ComponentWorld),
}

/// Decodes the world of the component or WIT package `source` holds, its
/// custom sections left out unread; fails with the decoder's message for an
/// invalid component or one exporting what a WIT world cannot hold.
pub(super) fn decode(source: Source<'_>) -> Result<Decoded, String> {
    let decoded = wit_parser::decoding::decode_reader(FullReads(SkipCustomSections::from_source(
        source,
        |_| None,
    )))
    .map_err(|error| format!("{error:#}"))?;
    Ok(match decoded {
        DecodedWasm::Component(resolve, world) => {
            Decoded::Component(component_world(&resolve, world))
        }
        DecodedWasm::WitPackage(resolve, package) => {
            Decoded::WitPackage(wit_package_world(&resolve, package))
        }
    })
}

impl ComponentWorld {
    /// The same world, each list sorted and without duplicates.
    pub(super) fn sorted(self) -> ComponentWorld {
        let sort = |names: Vec<String>| -> Vec<String> {
            names
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        ComponentWorld {
            exports: sort(self.exports),
            imports: sort(self.imports),
        }
    }
}

/// The imports and exports of the world a component was decoded to.
fn component_world(resolve: &Resolve, world: WorldId) -> ComponentWorld {
    let world = &resolve.worlds[world];
    ComponentWorld {
        exports: world
            .exports
            .keys()
            .filter_map(|key| world_key_name(resolve, key))
            .collect(),
        imports: world
            .imports
            .keys()
            .filter_map(|key| world_key_name(resolve, key))
            .collect(),
    }
}

/// A WIT package described as the reference implementation (the oci-wasm
/// crate) does: every world's exports, every world as `ns:pkg/world@version`
/// and every interface as `ns:pkg/iface@version`, all as exports; no imports.
fn wit_package_world(resolve: &Resolve, package: PackageId) -> ComponentWorld {
    let package = &resolve.packages[package];
    let version = package
        .name
        .version
        .as_ref()
        .map(|v| format!("@{v}"))
        .unwrap_or_default();
    let mut exports = Vec::new();
    for world in package.worlds.values() {
        let world = &resolve.worlds[*world];
        exports.extend(
            world
                .exports
                .keys()
                .filter_map(|key| world_key_name(resolve, key)),
        );
        exports.push(format!(
            "{}:{}/{}{version}",
            package.name.namespace, package.name.name, world.name
        ));
    }
    exports.extend(
        package
            .interfaces
            .values()
            .filter_map(|interface| resolve.id_of(*interface)),
    );
    ComponentWorld {
        exports,
        imports: Vec::new(),
    }
}

/// `ns:pkg/iface@version` for an interface key, the name for a named key;
/// `None` for an anonymous interface (which a decoded world never keys by
/// interface; `Resolve::name_world_key` would panic there).
fn world_key_name(resolve: &Resolve, key: &WorldKey) -> Option<String> {
    match key {
        WorldKey::Name(name) => Some(name.clone()),
        WorldKey::Interface(id) => resolve.id_of(*id),
    }
}
