//! The metadata custom sections and name sections that become manifest
//! annotations: the size limits (a section of exactly the limit is read, one
//! byte more is left out and reported), empty and non-UTF-8 values, the
//! later of two sections, titles from module and component names, and
//! sections inside nested modules, which say nothing about the image.
#![allow(clippy::unwrap_used)]

use oci_layout::{BlobInput, BytesBlob};
use test_support::{custom_section_header, leb128, tiny_module, wat_module};
use wasm_artifact::{WasmDescription, MAX_METADATA_SECTION, MAX_NAME_SECTION};

const TITLE: &str = "org.opencontainers.image.title";
const DESCRIPTION: &str = "org.opencontainers.image.description";

fn describe(bytes: Vec<u8>) -> WasmDescription {
    WasmDescription::read(&BlobInput::from(BytesBlob::new(bytes))).unwrap()
}

/// `wasm` with a custom section `name` holding `data` appended.
fn with_section(mut wasm: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    wasm.extend(custom_section_header(name, data.len() as u64));
    wasm.extend_from_slice(data);
    wasm
}

/// A name section's contents: the module name subsection holding `name`,
/// then, if `padding` > 0, a subsection of an id wasmparser does not know
/// (id 99) making the contents exactly `padding` bytes longer.
fn name_section(name: &[u8], padding: usize) -> Vec<u8> {
    let mut module_name = leb128(name.len() as u64);
    module_name.extend_from_slice(name);
    let mut contents = vec![0];
    contents.extend(leb128(module_name.len() as u64));
    contents.extend(module_name);
    if padding > 0 {
        // id, size, bytes: find the body length whose whole is `padding`.
        let body = (1..=padding)
            .rev()
            .find(|body| 1 + leb128(*body as u64).len() + body == padding)
            .unwrap();
        contents.push(99);
        contents.extend(leb128(body as u64));
        contents.resize(contents.len() + body, b'x');
    }
    contents
}

#[test]
fn limits_are_what_the_crate_documents() {
    assert_eq!(MAX_METADATA_SECTION, 65_536);
    assert_eq!(MAX_NAME_SECTION, 4_194_304);
}

/// The one section `description` left out for its size.
/// The one section left out for its size, as (name, size, limit, whether
/// it held the title), and its message.
fn only_oversized(description: &WasmDescription) -> ((&str, u64, u64, bool), String) {
    let [oversized] = description.oversized_sections.as_slice() else {
        panic!("{:?}", description.oversized_sections);
    };
    (
        (
            oversized.name.as_str(),
            oversized.size,
            oversized.limit,
            oversized.title,
        ),
        oversized.to_string(),
    )
}

#[test]
fn a_metadata_section_of_the_limit_is_read_and_one_byte_more_is_left_out_and_reported() {
    let limit = MAX_METADATA_SECTION as usize;
    let at_limit = describe(with_section(
        tiny_module(1),
        "description",
        &vec![b'd'; limit],
    ));
    assert_eq!(at_limit.annotations[DESCRIPTION].len(), limit);
    assert!(at_limit.oversized_sections.is_empty());

    let over = describe(with_section(
        tiny_module(1),
        "description",
        &vec![b'd'; limit + 1],
    ));
    assert!(!over.annotations.contains_key(DESCRIPTION));
    let (oversized, message) = only_oversized(&over);
    assert_eq!(
        oversized,
        ("description", limit as u64 + 1, MAX_METADATA_SECTION, false)
    );
    assert_eq!(
        message,
        "its \"description\" custom section (65537 bytes) is larger than the 65536 bytes read for an annotation; left out"
    );
}

#[test]
fn empty_and_non_utf8_values_are_left_out_and_a_later_section_wins() {
    let wasm = with_section(tiny_module(2), "description", b"");
    let wasm = with_section(wasm, "licenses", b"\xff\xfe");
    let wasm = with_section(wasm, "version", b"1.0.0");
    let wasm = with_section(wasm, "version", b"2.0.0");
    let wasm = with_section(wasm, "other", b"not metadata");
    let description = describe(wasm);
    let keys: Vec<&str> = description.annotations.keys().map(String::as_str).collect();
    assert_eq!(keys, ["org.opencontainers.image.version"]);
    assert_eq!(
        description.annotations["org.opencontainers.image.version"],
        "2.0.0"
    );
    assert!(description.oversized_sections.is_empty());
}

#[test]
fn a_title_of_the_limit_is_kept_and_one_byte_more_is_left_out_and_reported() {
    let limit = MAX_METADATA_SECTION as usize;
    let at_limit = describe(with_section(
        tiny_module(3),
        "name",
        &name_section(&vec![b'n'; limit], 0),
    ));
    assert_eq!(at_limit.annotations[TITLE].len(), limit);
    assert!(at_limit.oversized_sections.is_empty());

    let over = describe(with_section(
        tiny_module(3),
        "name",
        &name_section(&vec![b'n'; limit + 1], 0),
    ));
    assert!(!over.annotations.contains_key(TITLE));
    let (oversized, message) = only_oversized(&over);
    assert_eq!(
        oversized,
        ("name", limit as u64 + 1, MAX_METADATA_SECTION, true)
    );
    assert_eq!(
        message,
        "the name in its \"name\" section (65537 bytes) is larger than the 65536 bytes an annotation takes; no title"
    );
}

/// A name section of exactly 4 MiB is read for its title; one byte more is
/// left out unread, and reported.
#[test]
fn a_name_section_of_the_limit_gives_a_title_and_one_byte_more_does_not() {
    let limit = MAX_NAME_SECTION as usize;
    let short = name_section(b"app", 0).len();
    let at_limit = name_section(b"app", limit - short);
    assert_eq!(at_limit.len(), limit);
    let described = describe(with_section(tiny_module(4), "name", &at_limit));
    assert_eq!(described.annotations[TITLE], "app");
    assert!(described.oversized_sections.is_empty());

    let over = name_section(b"app", limit - short + 1);
    assert_eq!(over.len(), limit + 1);
    let described = describe(with_section(tiny_module(4), "name", &over));
    assert!(!described.annotations.contains_key(TITLE));
    let (oversized, _) = only_oversized(&described);
    assert_eq!(
        oversized,
        ("name", limit as u64 + 1, MAX_NAME_SECTION, false)
    );
}

/// A component's name (its `component-name` section) is its title.
#[test]
fn a_component_name_is_the_title() {
    let described = describe(wat_module("(component $greeter)"));
    assert_eq!(described.annotations[TITLE], "greeter");
}

/// Custom sections of a module nested in a component describe that module,
/// not the image: only the component's own become annotations.
#[test]
fn sections_of_nested_modules_are_not_annotations() {
    let component = wat_module(
        r#"(component $outer
             (core module $inner (@custom "description" "inner module"))
             (@custom "version" "3.0.0"))"#,
    );
    let described = describe(component);
    assert_eq!(described.annotations[TITLE], "outer");
    assert_eq!(
        described.annotations["org.opencontainers.image.version"],
        "3.0.0"
    );
    assert!(
        !described.annotations.contains_key(DESCRIPTION),
        "{:?}",
        described.annotations
    );
}
