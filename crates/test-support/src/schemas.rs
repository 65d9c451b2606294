//! JSON-schema validation of the documents we write, against the OCI
//! image-spec v1.1.1 schemas (draft-04, copied unchanged into
//! `crates/test-support/schemas/oci-image-spec-v1.1.1/` with their licence)
//! and the wasm config schema written for this project
//! (`crates/test-support/schemas/wasm-config-v0.schema.json`, from the CNCF
//! wg-wasm guide, which publishes none).
//!
//! The image-spec schemas refer to each other by file name under
//! `https://opencontainers.org/schema/…`; a retriever maps every such URL to
//! the local file of the same name, so nothing is fetched.

use std::path::PathBuf;
use std::sync::OnceLock;

use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

/// A document kind with a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// `oci-layout`.
    Layout,
    /// `index.json` (an image index).
    Index,
    /// An image manifest.
    Manifest,
    /// An OCI image config (`application/vnd.oci.image.config.v1+json`).
    ImageConfig,
    /// A wasm config (`application/vnd.wasm.config.v0+json`).
    WasmConfig,
}

impl Schema {
    /// The schema for a config blob of `media_type`, if there is one.
    pub fn for_config(media_type: &str) -> Option<Self> {
        match media_type {
            "application/vnd.oci.image.config.v1+json" => Some(Self::ImageConfig),
            "application/vnd.wasm.config.v0+json" => Some(Self::WasmConfig),
            _ => None,
        }
    }

    fn file(self) -> PathBuf {
        let dir = schemas_dir();
        match self {
            Self::Layout => dir.join(OCI_DIR).join("image-layout-schema.json"),
            Self::Index => dir.join(OCI_DIR).join("image-index-schema.json"),
            Self::Manifest => dir.join(OCI_DIR).join("image-manifest-schema.json"),
            Self::ImageConfig => dir.join(OCI_DIR).join("config-schema.json"),
            Self::WasmConfig => dir.join("wasm-config-v0.schema.json"),
        }
    }

    fn validator(self) -> &'static Validator {
        static VALIDATORS: [OnceLock<Validator>; 5] = [const { OnceLock::new() }; 5];
        VALIDATORS[self as usize].get_or_init(|| {
            let schema = read_json(&self.file());
            jsonschema::options()
                .with_retriever(LocalSchemas)
                // Our own schema relies on `format: date-time`; the OCI
                // schemas use no format the documents could fail.
                .should_validate_formats(true)
                .build(&schema)
                .unwrap_or_else(|e| panic!("compiling {}: {e}", self.file().display()))
        })
    }
}

const OCI_DIR: &str = "oci-image-spec-v1.1.1";

/// The folder holding the schema files.
pub fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

fn read_json(path: &std::path::Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

/// Resolves `https://opencontainers.org/schema/…/NAME.json` to the local
/// `NAME.json`; anything else is an error (nothing is fetched).
struct LocalSchemas;

impl Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let text = uri.as_str();
        let name = text
            .strip_prefix("https://opencontainers.org/schema/")
            .and_then(|rest| rest.rsplit('/').next())
            .filter(|name| name.ends_with(".json"))
            .ok_or_else(|| format!("no local schema for {text}"))?;
        let path = schemas_dir().join(OCI_DIR).join(name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}

/// Validates `document` (the exact bytes we wrote) against `schema`: the
/// list of violations, empty when it is valid.
pub fn violations(schema: Schema, document: &[u8]) -> Vec<String> {
    let value: Value = match serde_json::from_slice(document) {
        Ok(value) => value,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    schema
        .validator()
        .iter_errors(&value)
        .map(|error| format!("at {}: {error}", error.instance_path()))
        .collect()
}

/// Panics unless `document` is valid against `schema`, naming `what`.
pub fn assert_valid(schema: Schema, document: &[u8], what: &str) {
    let violations = violations(schema, document);
    assert!(
        violations.is_empty(),
        "{what} does not validate against the {schema:?} schema:\n  {}\n{}",
        violations.join("\n  "),
        String::from_utf8_lossy(document)
    );
}
