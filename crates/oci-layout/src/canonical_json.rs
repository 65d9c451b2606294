//! Canonical JSON: the one byte form every document in the layout is written in.
//!
//! oci-spec keeps annotations and labels in `HashMap`s, whose iteration order
//! changes from run to run; serialising its structs directly would give a new
//! digest each time. Here every object's keys are sorted (by their UTF-8
//! bytes) at every depth and no whitespace is written, whatever map type the
//! value used and whether serde_json's `preserve_order` feature is on.

use serde::Serialize;
use serde_json::Value;

/// A value serde_json could not turn into JSON (a map with non-string keys,
/// a `Serialize` implementation that fails).
#[derive(Debug, thiserror::Error)]
#[error("serialising {document} as JSON: {source}")]
pub struct JsonError {
    /// Which document was being serialised.
    pub document: &'static str,
    /// What serde_json said.
    #[source]
    pub source: serde_json::Error,
}

/// The canonical JSON bytes of `value`: keys sorted at every depth, compact.
/// `document` names the value in the error (`"image manifest"`).
pub fn to_canonical_json<T: Serialize + ?Sized>(
    document: &'static str,
    value: &T,
) -> Result<Vec<u8>, JsonError> {
    let tree = serde_json::to_value(value).map_err(|source| JsonError { document, source })?;
    let mut out = Vec::new();
    write_value(&mut out, &tree).map_err(|source| JsonError { document, source })?;
    Ok(out)
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), serde_json::Error> {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key)?;
                out.push(b':');
                write_value(out, item)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        leaf => serde_json::to_writer(&mut *out, leaf)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn sorts_keys_at_every_depth_whatever_the_map() {
        let mut inner = HashMap::new();
        for key in ["zeta", "alpha", "mid", "Upper", "émoji"] {
            inner.insert(key.to_string(), key.len());
        }
        let mut outer = HashMap::new();
        outer.insert("b", vec![inner.clone()]);
        outer.insert("a", vec![]);
        let json = to_canonical_json("test", &outer).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"a":[],"b":[{"Upper":5,"alpha":5,"mid":3,"zeta":4,"émoji":6}]}"#
        );
    }

    #[test]
    fn escapes_strings_as_serde_json_does() {
        let json = to_canonical_json("test", &["quote\" backslash\\ nl\n"]).unwrap();
        assert_eq!(json, br#"["quote\" backslash\\ nl\n"]"#);
    }

    #[test]
    fn non_string_keys_are_an_error_naming_the_document() {
        let mut map = HashMap::new();
        map.insert(vec![1u8], 1);
        let err = to_canonical_json("odd map", &map).unwrap_err();
        assert!(err.to_string().starts_with("serialising odd map as JSON"));
    }
}
