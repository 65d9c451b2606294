//! Canonical JSON: the one byte form every document in the layout is written in.
//!
//! oci-spec keeps annotations and labels in `HashMap`s, whose iteration order
//! changes from run to run; serialising its structs directly would give a new
//! digest each time. Here every object's keys are sorted (by their UTF-8
//! bytes) at every depth and no whitespace is written, whatever map type the
//! value used and whether serde_json's `preserve_order` feature is on.

use std::borrow::Cow;
use std::ops::Range;

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
///
/// Written straight from `value`, never through a `serde_json::Value` tree
/// (a manifest of thousands of layers would take megabytes as a tree): an
/// object's members are written one after the other into the output, then
/// put in key order there, with the largest member moved in place and only
/// the others copied aside, so what is held beside the document is about
/// the size of its small members (not its array of layers).
pub fn to_canonical_json<T: Serialize + ?Sized>(
    document: &'static str,
    value: &T,
) -> Result<Vec<u8>, JsonError> {
    let mut out = Vec::new();
    value
        .serialize(Canonical { out: &mut out })
        .map_err(|source| JsonError { document, source })?;
    Ok(out)
}

/// Serialises into `out` as `serde_json::to_value` then writing the tree
/// with sorted keys would.
struct Canonical<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Canonical<'a> {
    /// A leaf, written as serde_json writes it.
    fn leaf<V: Serialize + ?Sized>(self, value: &V) -> Result<(), serde_json::Error> {
        serde_json::to_writer(&mut *self.out, value)
    }

    fn object(self) -> Members<'a> {
        Members {
            start: self.out.len(),
            out: self.out,
            members: Vec::new(),
            key: None,
            close: 1,
        }
    }
}

/// The string a map key becomes, as serde_json makes it (strings, numbers
/// and booleans; anything else is its "key must be a string" error).
fn key_string<K: Serialize + ?Sized>(key: &K) -> Result<String, serde_json::Error> {
    struct OneKey<'k, K: ?Sized>(&'k K);
    impl<K: Serialize + ?Sized> Serialize for OneKey<'_, K> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(self.0, &())?;
            map.end()
        }
    }
    // Almost every key is a string: taken as it is, without the map below.
    if let Value::String(key) = serde_json::to_value(key)? {
        return Ok(key);
    }
    match serde_json::to_value(OneKey(key))? {
        Value::Object(map) => Ok(map.into_iter().next().map(|(k, _)| k).unwrap_or_default()),
        _ => unreachable!("a map serialises to an object"),
    }
}

/// A sequence being written: `[`, items separated by `,`, then `]` (and
/// `}` after a tuple variant's array).
struct Items<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
    close: &'static [u8],
}

impl Items<'_> {
    fn item<V: Serialize + ?Sized>(&mut self, value: &V) -> Result<(), serde_json::Error> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        value.serialize(Canonical {
            out: &mut *self.out,
        })
    }

    fn finish(self) -> Result<(), serde_json::Error> {
        self.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// An object being written: each member goes into the output as
/// `,"key":value` as it comes, its key and start remembered; on `end` the
/// members are put in key order in place, the first comma becomes `{`, and
/// `close` closing braces follow (2 for a struct variant, `{"Variant":{…}}`).
struct Members<'a> {
    out: &'a mut Vec<u8>,
    /// Where the first member starts in `out`.
    start: usize,
    /// Each member's key and where it starts in `out`, in the order written.
    members: Vec<(Cow<'static, str>, usize)>,
    key: Option<String>,
    close: usize,
}

impl Members<'_> {
    fn member<V: Serialize + ?Sized>(
        &mut self,
        key: Cow<'static, str>,
        value: &V,
    ) -> Result<(), serde_json::Error> {
        let at = self.out.len();
        self.out.push(b',');
        serde_json::to_writer(&mut *self.out, key.as_ref())?;
        self.out.push(b':');
        value.serialize(Canonical {
            out: &mut *self.out,
        })?;
        self.members.push((key, at));
        Ok(())
    }

    fn finish(mut self) -> Result<(), serde_json::Error> {
        let in_order = self
            .members
            .windows(2)
            .all(|pair| pair[0].0.as_bytes() < pair[1].0.as_bytes());
        if !in_order {
            self.put_in_order();
        }
        if self.members.is_empty() {
            self.out.push(b'{');
        } else {
            // The first member's comma.
            self.out[self.start] = b'{';
        }
        for _ in 0..self.close {
            self.out.push(b'}');
        }
        Ok(())
    }

    /// Puts the members in key order, each key once.
    fn put_in_order(&mut self) {
        let end = self.out.len();
        let bounds: Vec<Range<usize>> = (0..self.members.len())
            .map(|i| {
                let next = self.members.get(i + 1).map_or(end, |(_, at)| *at);
                self.members[i].1..next
            })
            .collect();
        let key = |i: usize| self.members[i].0.as_bytes();
        let mut order: Vec<usize> = (0..self.members.len()).collect();
        // Stable: of two members with one key, the later stays later.
        order.sort_by(|&a, &b| key(a).cmp(key(b)));
        // serde_json's objects hold each key once: the last value wins.
        order.dedup_by(|later, earlier| {
            let same = key(*later) == key(*earlier);
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        if !order.iter().copied().eq(0..self.members.len()) {
            self.rearrange(&bounds, &order);
        }
    }

    /// Puts the members at `bounds` in `order` (some may be left out),
    /// from `start` on: the largest moves within the output, the others are
    /// copied aside first, then into place.
    fn rearrange(&mut self, bounds: &[Range<usize>], order: &[usize]) {
        let Some(&largest) = order.iter().max_by_key(|&&i| bounds[i].len()) else {
            self.out.truncate(self.start);
            return;
        };
        let mut aside = Vec::new();
        let mut placed = Vec::with_capacity(order.len());
        let mut at = self.start;
        for &i in order {
            let kept_at = if i == largest {
                None
            } else {
                aside.extend_from_slice(&self.out[bounds[i].clone()]);
                Some(aside.len() - bounds[i].len())
            };
            placed.push((i, at, kept_at));
            at += bounds[i].len();
        }
        for &(i, to, kept_at) in &placed {
            if kept_at.is_none() {
                self.out.copy_within(bounds[i].clone(), to);
            }
        }
        for &(i, to, kept_at) in &placed {
            if let Some(from) = kept_at {
                let len = bounds[i].len();
                self.out[to..to + len].copy_from_slice(&aside[from..from + len]);
            }
        }
        self.out.truncate(at);
    }
}

impl<'a> serde::Serializer for Canonical<'a> {
    type Ok = ();
    type Error = serde_json::Error;
    type SerializeSeq = Items<'a>;
    type SerializeTuple = Items<'a>;
    type SerializeTupleStruct = Items<'a>;
    type SerializeTupleVariant = Items<'a>;
    type SerializeMap = Members<'a>;
    type SerializeStruct = Members<'a>;
    type SerializeStructVariant = Members<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Self::Error> {
        self.leaf(&v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Self::Error> {
        self.leaf(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Self::Error> {
        self.leaf(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Self::Error> {
        self.leaf(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Self::Error> {
        self.leaf(&v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Self::Error> {
        // As a tree: a Number when it fits 64 bits, else serde_json's error.
        let value = serde_json::to_value(v)?;
        self.leaf(&value)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Self::Error> {
        self.leaf(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Self::Error> {
        self.leaf(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Self::Error> {
        self.leaf(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Self::Error> {
        self.leaf(&v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Self::Error> {
        let value = serde_json::to_value(v)?;
        self.leaf(&value)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Self::Error> {
        let value = serde_json::to_value(v)?;
        self.leaf(&value)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Self::Error> {
        let value = serde_json::to_value(v)?;
        self.leaf(&value)
    }
    fn serialize_char(self, v: char) -> Result<(), Self::Error> {
        self.leaf(&v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Self::Error> {
        self.leaf(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Self::Error> {
        self.leaf(v)
    }
    fn serialize_none(self) -> Result<(), Self::Error> {
        self.leaf(&())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Self::Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Self::Error> {
        self.leaf(&())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Self::Error> {
        self.leaf(&())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Self::Error> {
        self.leaf(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.out.push(b'{');
        serde_json::to_writer(&mut *self.out, variant)?;
        self.out.push(b':');
        value.serialize(Canonical { out: self.out })?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
        self.out.push(b'[');
        Ok(Items {
            out: self.out,
            first: true,
            close: b"]",
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Self::Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Self::Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Self::Error> {
        self.out.push(b'{');
        serde_json::to_writer(&mut *self.out, variant)?;
        self.out.extend_from_slice(b":[");
        Ok(Items {
            out: self.out,
            first: true,
            close: b"]}",
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Self::Error> {
        Ok(self.object())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Self::Error> {
        Ok(self.object())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Self::Error> {
        self.out.push(b'{');
        serde_json::to_writer(&mut *self.out, variant)?;
        self.out.push(b':');
        let mut members = self.object();
        members.close = 2;
        Ok(members)
    }
}

impl serde::ser::SerializeSeq for Items<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl serde::ser::SerializeTuple for Items<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl serde::ser::SerializeTupleStruct for Items<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl serde::ser::SerializeTupleVariant for Items<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl serde::ser::SerializeMap for Members<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Self::Error> {
        self.key = Some(key_string(key)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Self::Error> {
        let key = self.key.take().unwrap_or_default();
        self.member(Cow::Owned(key), value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl serde::ser::SerializeStruct for Members<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
}

impl serde::ser::SerializeStructVariant for Members<'_> {
    type Ok = ();
    type Error = serde_json::Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.member(Cow::Borrowed(key), value)
    }
    fn end(self) -> Result<(), Self::Error> {
        self.finish()
    }
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

    /// The form written before, through a `serde_json::Value` tree: the
    /// reference the direct writer must match byte for byte.
    fn through_a_tree<T: Serialize>(value: &T) -> Vec<u8> {
        fn write(out: &mut Vec<u8>, value: &Value) {
            match value {
                Value::Object(map) => {
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                    out.push(b'{');
                    for (i, (key, item)) in entries.into_iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        serde_json::to_writer(&mut *out, key).unwrap();
                        out.push(b':');
                        write(out, item);
                    }
                    out.push(b'}');
                }
                Value::Array(items) => {
                    out.push(b'[');
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        write(out, item);
                    }
                    out.push(b']');
                }
                leaf => serde_json::to_writer(&mut *out, leaf).unwrap(),
            }
        }
        let mut out = Vec::new();
        write(&mut out, &serde_json::to_value(value).unwrap());
        out
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Newtype(Option<u8>),
        Tuple(i64, f64),
        Struct { z: bool, a: Vec<char> },
    }

    #[derive(Serialize)]
    struct Document {
        zebra: Vec<Shape>,
        alpha: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u32>,
        map: HashMap<u16, (f32, &'static str)>,
        bytes: serde_json::Value,
        #[serde(flatten)]
        flat: HashMap<String, i128>,
        unit: (),
    }

    /// A map that hands serde its entries in the order given, repeats
    /// included (as a `#[serde(flatten)]` can).
    struct Entries(Vec<(String, Vec<u32>)>);

    impl Serialize for Entries {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(None)?;
            for (key, value) in &self.0 {
                map.serialize_entry(key, value)?;
            }
            map.end()
        }
    }

    /// Objects of 0 to 11 members in every order, one member often far
    /// larger than the rest (it is moved in place, the others aside), keys
    /// repeated (the last value wins), nested in an array and an object:
    /// compared with the form written here from the definition.
    #[test]
    fn members_in_any_order_are_sorted_in_place_and_a_repeated_key_keeps_its_last_value() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |bound: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % bound
        };
        for case in 0..2000 {
            let count = next(12) as usize;
            let entries: Vec<(String, Vec<u32>)> = (0..count)
                .map(|_| {
                    // Few distinct keys, so that some repeat; some share a prefix.
                    let key = ["b", "a", "ab", "é", "B", "a\"", ""][next(7) as usize].to_owned();
                    let len = if next(4) == 0 {
                        300 + next(700)
                    } else {
                        next(4)
                    };
                    (key, (0..len).map(|_| next(1_000_000) as u32).collect())
                })
                .collect();
            // The last value of each key, keys sorted by their UTF-8 bytes.
            let mut last: Vec<(String, Vec<u32>)> = Vec::new();
            for (key, value) in &entries {
                last.retain(|(k, _)| k != key);
                last.push((key.clone(), value.clone()));
            }
            last.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            let object = format!(
                "{{{}}}",
                last.iter()
                    .map(|(k, v)| format!(
                        "{}:{}",
                        serde_json::to_string(k).unwrap(),
                        serde_json::to_string(v).unwrap()
                    ))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let entries = Entries(entries);
            let written = to_canonical_json("test", &entries).unwrap();
            assert_eq!(String::from_utf8(written).unwrap(), object, "case {case}");
            let nested = (
                vec![&entries, &entries],
                std::collections::BTreeMap::from([("z", &entries), ("y", &entries)]),
            );
            let written = to_canonical_json("test", &nested).unwrap();
            assert_eq!(
                String::from_utf8(written).unwrap(),
                format!("[[{object},{object}],{{\"y\":{object},\"z\":{object}}}]"),
                "case {case}, nested"
            );
        }
    }

    #[test]
    fn the_direct_writer_gives_the_bytes_of_the_tree() {
        let document = Document {
            zebra: vec![
                Shape::Unit,
                Shape::Newtype(None),
                Shape::Newtype(Some(7)),
                Shape::Tuple(-3, 0.1),
                Shape::Tuple(i64::MIN, f64::NAN),
                Shape::Struct {
                    z: true,
                    a: vec!['é', '"'],
                },
            ],
            alpha: None,
            skipped: None,
            map: HashMap::from([(10, (1.5, "x")), (9, (f32::MAX, "\u{1}"))]),
            bytes: serde_json::json!({"b": [1, {"d": null, "c": 2.5e-8}], "a": "ß"}),
            flat: HashMap::from([("m".to_owned(), -1), ("b".to_owned(), 1 << 62)]),
            unit: (),
        };
        let direct = to_canonical_json("test", &document).unwrap();
        assert_eq!(
            String::from_utf8(direct).unwrap(),
            String::from_utf8(through_a_tree(&document)).unwrap()
        );
        let descriptor = oci_spec::image::Descriptor::new(
            oci_spec::image::MediaType::ImageLayerGzip,
            12,
            "sha256:0000000000000000000000000000000000000000000000000000000000000000"
                .parse::<oci_spec::image::Digest>()
                .unwrap(),
        );
        assert_eq!(
            to_canonical_json("descriptor", &descriptor).unwrap(),
            through_a_tree(&descriptor)
        );
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Newtype(u16);

    #[derive(Serialize)]
    struct Pair(i8, &'static str);

    /// One field of every kind serde has, with values at the types' ends.
    #[derive(Serialize)]
    struct EveryKind {
        i8: i8,
        i16: i16,
        i32: i32,
        i64: i64,
        i128: i128,
        u8: u8,
        u16: u16,
        u32: u32,
        u64: u64,
        u128: u128,
        f32: f32,
        f64: f64,
        bool: bool,
        char: char,
        #[serde(serialize_with = "as_bytes")]
        bytes: Vec<u8>,
        some: Option<Unit>,
        none: Option<u8>,
        unit: (),
        unit_struct: Unit,
        newtype: Newtype,
        tuple_struct: Pair,
        tuple: (u8, i16),
    }

    fn as_bytes<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    #[test]
    fn every_kind_of_value_is_written_as_the_tree_writes_it() {
        let every = EveryKind {
            i8: i8::MIN,
            i16: i16::MIN,
            i32: i32::MIN,
            i64: i64::MIN,
            i128: i128::from(i64::MIN),
            u8: u8::MAX,
            u16: u16::MAX,
            u32: u32::MAX,
            u64: u64::MAX,
            u128: u128::from(u64::MAX),
            f32: -0.5,
            f64: 1e300,
            bool: false,
            char: '\u{10ffff}',
            bytes: vec![0, 127, 255],
            some: Some(Unit),
            none: None,
            unit: (),
            unit_struct: Unit,
            newtype: Newtype(7),
            tuple_struct: Pair(-1, "p"),
            tuple: (1, -2),
        };
        let direct = String::from_utf8(to_canonical_json("test", &every).unwrap()).unwrap();
        assert_eq!(direct, String::from_utf8(through_a_tree(&every)).unwrap());
        // And by hand, for the kinds whose form is easy to get wrong.
        for field in [
            r#""i8":-128"#,
            r#""i16":-32768"#,
            r#""i32":-2147483648"#,
            r#""u16":65535"#,
            r#""u128":18446744073709551615"#,
            r#""bytes":[0,127,255]"#,
            r#""unit_struct":null"#,
            r#""newtype":7"#,
            r#""tuple_struct":[-1,"p"]"#,
        ] {
            // Each member ends at a comma or the closing brace.
            assert!(
                direct.contains(&format!("{field},")) || direct.ends_with(&format!("{field}}}")),
                "{field} in {direct}"
            );
        }
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
