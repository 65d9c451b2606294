//! Metadata: the top-level custom sections `wasm-tools metadata add` writes
//! (and the name sections) as `org.opencontainers.image.*` annotations.

use std::collections::BTreeMap;

use wasmparser::{BinaryReaderError, CustomSectionReader, KnownCustom, Name};

/// The `org.opencontainers.image.*` annotation each metadata custom section
/// (as `wasm-tools metadata add` writes them) matches.
const METADATA_SECTIONS: [(&str, &str); 7] = [
    ("authors", "org.opencontainers.image.authors"),
    ("description", "org.opencontainers.image.description"),
    ("licenses", "org.opencontainers.image.licenses"),
    ("source", "org.opencontainers.image.source"),
    ("homepage", "org.opencontainers.image.url"),
    ("revision", "org.opencontainers.image.revision"),
    ("version", "org.opencontainers.image.version"),
];

/// Something left out of the annotations for its size.
pub(super) struct TooLarge {
    /// The custom section's name.
    pub(super) section: String,
    /// Its size (or, for a title, the name's), in bytes.
    pub(super) size: u64,
    /// The most read.
    pub(super) limit: u64,
    /// Whether only the module's or component's name is left out (its name
    /// section was read).
    pub(super) title: bool,
}

/// The annotation a module's or component's own name becomes (on the
/// manifest), and a wasm layer's file name (on its descriptor).
pub(crate) const TITLE: &str = "org.opencontainers.image.title";

/// The largest metadata section (`description`, `authors`, …) whose text
/// becomes an annotation; a larger one is left out, with a note. Seven of
/// them and a title keep a manifest far below the 4 MiB containerd accepts.
pub const MAX_METADATA_SECTION: u64 = 64 * 1024;

/// The largest name section (`name`, `component-name`) read for a title: it
/// also holds every function's and local's name, so it can be large; a
/// larger one gives no title, with a note.
pub const MAX_NAME_SECTION: u64 = 4 * 1024 * 1024;

/// How large the custom section `name` may be to be read for an annotation:
/// the name sections and the metadata sections, up to their limits. The
/// structural pass reads past every other custom section, and larger ones,
/// without holding them.
pub(super) fn kept_up_to(name: &str) -> Option<u64> {
    if name == "name" || name == "component-name" {
        Some(MAX_NAME_SECTION)
    } else if METADATA_SECTIONS
        .iter()
        .any(|(section, _)| *section == name)
    {
        Some(MAX_METADATA_SECTION)
    } else {
        None
    }
}

/// Records in `annotations` what the top-level custom `section` says: the
/// title from a name section, or the annotation of a metadata section.
/// Empty values and sections that are not UTF-8 are left out; a later
/// section overrides an earlier one; a title over [`MAX_METADATA_SECTION`]
/// is left out and recorded in `too_large`.
/// Fails on a malformed name section.
pub(super) fn read_section(
    section: &CustomSectionReader<'_>,
    annotations: &mut BTreeMap<String, String>,
    too_large: &mut Vec<TooLarge>,
) -> Result<(), BinaryReaderError> {
    let mut set_title = |name: &str| {
        if name.len() as u64 > MAX_METADATA_SECTION {
            too_large.push(TooLarge {
                section: section.name().to_owned(),
                size: name.len() as u64,
                limit: MAX_METADATA_SECTION,
                title: true,
            });
        } else {
            set_annotation(annotations, TITLE, name);
        }
    };
    match section.as_known() {
        KnownCustom::Name(names) => {
            for name in names {
                // A linker names a module after its output file
                // (rustc: `crate_name-<hash>.wasm`): a file name,
                // not a title. A name set on purpose
                // (`wasm-tools metadata add --name`) is kept.
                if let Name::Module { name, .. } = name? {
                    if !name.ends_with(".wasm") {
                        set_title(name);
                    }
                }
            }
        }
        KnownCustom::ComponentName(names) => {
            for name in names {
                if let wasmparser::ComponentName::Component { name, .. } = name? {
                    set_title(name);
                }
            }
        }
        _ => {
            let annotation = METADATA_SECTIONS
                .iter()
                .find(|(section_name, _)| *section_name == section.name());
            if let (Some((_, key)), Ok(value)) = (annotation, std::str::from_utf8(section.data())) {
                set_annotation(annotations, key, value);
            }
        }
    }
    Ok(())
}

fn set_annotation(annotations: &mut BTreeMap<String, String>, key: &str, value: &str) {
    if !value.is_empty() {
        annotations.insert(key.to_owned(), value.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::describe::scan::scan;

    /// Regression: every rustc-built module got the title
    /// `crate_name-<hash>.wasm`, the linker's name for its output file.
    #[test]
    fn a_linker_written_module_name_is_not_a_title() {
        let title = |module_name: &str| {
            let wasm = wat::parse_str(format!("(module ${module_name})"))
                .unwrap_or_else(|e| panic!("{e}"));
            scan(wasm.as_slice())
                .unwrap_or_else(|_| panic!("scan of {module_name}"))
                .annotations
                .get(TITLE)
                .cloned()
        };
        assert_eq!(title("wasi_demo_app-b7b103588161991d.wasm"), None);
        assert_eq!(title("greeter"), Some("greeter".to_owned()));
    }
}
