//! The world mapping: a component's WIT world as the world keys the CNCF
//! config's `component` lists, and a binary-encoded WIT package as the
//! reference implementation (the oci-wasm crate) describes one.
//!
//! A component's world keys are the names of its top-level imports and
//! exports, which the structural pass collects as it goes: the names
//! wit-parser (the decoder behind `wasm-tools component wit`) gives the
//! world it decodes, without building that world's types, which for a
//! large world takes many times the component's own size in memory. A WIT
//! package, which is types only, is decoded with wit-parser.

use std::collections::BTreeSet;

use serde::Serialize;
use wasmparser::ComponentExternalKind;
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

/// The world of a component from its top-level `imports` and `exports`
/// (full names, as the structural pass collects them): every import is a
/// world import (an interface, function or type; a core module, component
/// or value import, which a world cannot hold, is listed all the same, as
/// the host must supply it), and every export a world export. `Ok(None)`
/// when the binary may be a WIT package instead (no imports, only type
/// exports): [`decode`] tells. Fails for an export a WIT world cannot hold
/// (anything but a function or an instance), naming it.
pub(super) fn of_component(
    imports: Vec<String>,
    exports: Vec<(String, ComponentExternalKind)>,
) -> Result<Option<ComponentWorld>, String> {
    if imports.is_empty()
        && !exports.is_empty()
        && exports
            .iter()
            .all(|(_, kind)| *kind == ComponentExternalKind::Type)
    {
        return Ok(None);
    }
    let mut names = Vec::with_capacity(exports.len());
    for (name, kind) in exports {
        let what = match kind {
            ComponentExternalKind::Func | ComponentExternalKind::Instance => {
                names.push(name);
                continue;
            }
            ComponentExternalKind::Module => "a core module",
            ComponentExternalKind::Component => "a component",
            ComponentExternalKind::Value => "a value",
            ComponentExternalKind::Type => "a type",
        };
        return Err(format!(
            "its export `{name}` is {what}, which a WIT world cannot hold (only functions and instances)"
        ));
    }
    Ok(Some(ComponentWorld {
        exports: names,
        imports,
    }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentExternalKind::{Component, Func, Instance, Module, Type, Value};

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn every_import_and_every_function_or_instance_export_is_a_world_key() {
        let world = of_component(
            names(&["wasi:cli/stdout@0.2.0", "plugin", "log"]),
            vec![
                ("run".to_owned(), Func),
                ("wasi:http/incoming-handler@0.2.0".to_owned(), Instance),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("a component with imports is no WIT package"));
        assert_eq!(
            world.imports,
            ["wasi:cli/stdout@0.2.0", "plugin", "log"],
            "in order, unsorted"
        );
        assert_eq!(world.exports, ["run", "wasi:http/incoming-handler@0.2.0"]);
    }

    #[test]
    fn an_export_a_world_cannot_hold_is_refused_naming_it() {
        for (kind, what) in [
            (Module, "a core module"),
            (Component, "a component"),
            (Value, "a value"),
            (Type, "a type"),
        ] {
            let message = of_component(
                names(&["wasi:cli/stdout@0.2.0"]),
                vec![("run".to_owned(), Func), ("odd".to_owned(), kind)],
            )
            .expect_err("refused");
            assert_eq!(
                message,
                format!(
                    "its export `odd` is {what}, which a WIT world cannot hold (only functions and instances)"
                )
            );
        }
    }

    #[test]
    fn type_exports_alone_may_be_a_wit_package_for_the_decoder_to_tell() {
        let only_types = vec![("a".to_owned(), Type), ("b".to_owned(), Type)];
        assert_eq!(of_component(Vec::new(), only_types.clone()), Ok(None));
        // With an import, or with another kind of export, it is a component.
        assert!(of_component(names(&["x"]), only_types).is_err());
        assert!(of_component(
            Vec::new(),
            vec![("a".to_owned(), Type), ("f".to_owned(), Func)]
        )
        .is_err());
        // Nothing at all: a component with an empty world.
        assert_eq!(
            of_component(Vec::new(), Vec::new()),
            Ok(Some(ComponentWorld {
                exports: Vec::new(),
                imports: Vec::new()
            }))
        );
    }
}
