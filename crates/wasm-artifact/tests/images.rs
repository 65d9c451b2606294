//! The wasm-layer image and the compat image through the library, field by
//! field: every value of the config and the manifest that a caller sets or
//! that is derived (the runwasi layers label, the diff IDs, the layer file
//! names, the platform) is checked against a value recomputed here, and
//! every refusal of a setter against its rule.
#![allow(clippy::unwrap_used)]

use oci_layout::{BytesBlob, LayoutTar, Reference};
use serde_json::{json, Value};
use test_support::{sha256sum, tar_entry, tiny_module};
use wasm_artifact::media_types::{
    DOCKER_TAR_LAYER, OCI_TAR_GZIP_LAYER, OCI_TAR_LAYER, OCI_TAR_ZSTD_LAYER, WASM, WASM_LAYER,
};
use wasm_artifact::{
    ArtifactError, ImageShape, LayerCompression, Timestamp, WasmImage, WrittenImage,
};

/// 2023-11-14T22:13:20Z as Unix seconds (`date -u -d @1700000000`).
const CREATED: i64 = 1_700_000_000;

fn reference() -> Reference {
    "ghcr.io/example/app:v1".parse().unwrap()
}

/// What one image wrote: the record, the config and the manifest.
struct Written {
    written: WrittenImage,
    config: Value,
    manifest: Value,
    index_json: Value,
}

fn write(image: &WasmImage) -> Written {
    let mut layout = LayoutTar::new(Vec::new()).unwrap();
    let written = image.write_to(&mut layout).unwrap();
    let tar = layout.finish().unwrap();
    let json = |bytes: Vec<u8>| -> Value { serde_json::from_slice(&bytes).unwrap() };
    Written {
        config: json(tar_entry(&tar, &written.config.blob_path())),
        manifest: json(tar_entry(&tar, &written.manifest_digest.blob_path())),
        index_json: json(tar_entry(&tar, "index.json")),
        written,
    }
}

/// A tar holding one file, made by the `tar` crate (not by our code).
fn tar_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder.append_data(&mut header, name, data).unwrap();
    builder.into_inner().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256sum(bytes))
}

/// Three wasm layers, then an OCI tar, a Docker tar, a nondistributable tar
/// and a plain text layer; every process field set. The config's values are
/// recomputed: the digests with `sha256sum`, the runwasi label as the hex
/// SHA-256 of the layers' hex digests concatenated in manifest order, the
/// diff IDs as the digests of the uncompressed tar layers only.
#[test]
fn a_wasm_layer_image_config_and_manifest_hold_what_was_set_and_derived() {
    let wasm = [tiny_module(11), tiny_module(12), tiny_module(13)];
    let oci_tar = tar_of("etc/a.txt", b"a");
    let docker_tar = tar_of("etc/b.txt", b"b");
    let nondistributable = tar_of("etc/c.txt", b"c");
    let text = b"not a tar".to_vec();
    let nondistributable_type = "application/vnd.oci.image.layer.nondistributable.v1.tar";

    let mut image = WasmImage::new(
        reference(),
        ImageShape::WasmLayers,
        Timestamp::from_unix_seconds(CREATED).unwrap(),
    );
    for module in &wasm {
        image.add_wasm(BytesBlob::new(module.clone())).unwrap();
    }
    image
        .add_layer(OCI_TAR_LAYER, BytesBlob::new(oci_tar.clone()))
        .unwrap();
    image
        .add_layer(DOCKER_TAR_LAYER, BytesBlob::new(docker_tar.clone()))
        .unwrap();
    image
        .add_layer(
            nondistributable_type,
            BytesBlob::new(nondistributable.clone()),
        )
        .unwrap();
    image
        .add_layer("text/plain", BytesBlob::new(text.clone()))
        .unwrap();
    image.set_env("A", "1").unwrap();
    image.set_env("B", "2").unwrap();
    image.set_env("A", "3").unwrap(); // replaced in place, not appended
    image.add_arg("--port").unwrap();
    image.add_arg("8080").unwrap();
    image.set_label("org.example.team", "wasm").unwrap();
    image.set_workdir("/srv").unwrap();
    image.set_author("Someone <someone@example.com>");
    image.annotate("org.example.note", "hello").unwrap();
    image
        .annotate_entrypoint_layer("org.example.layer", "entry")
        .unwrap();
    let out = write(&image);

    let layer_bytes: Vec<&[u8]> = vec![
        &wasm[0],
        &wasm[1],
        &wasm[2],
        &oci_tar,
        &docker_tar,
        &nondistributable,
        &text,
    ];
    let layer_digests: Vec<String> = layer_bytes.iter().map(|b| sha256(b)).collect();
    let concatenated_hexes: String = layer_bytes.iter().map(|b| sha256sum(b)).collect();
    let diff_ids = [
        sha256(&oci_tar),
        sha256(&docker_tar),
        sha256(&nondistributable),
    ];

    let config = &out.config;
    assert_eq!(config["created"], "2023-11-14T22:13:20Z");
    assert_eq!(config["author"], "Someone <someone@example.com>");
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip1");
    assert_eq!(config["config"]["Env"], json!(["A=3", "B=2"]));
    assert_eq!(config["config"]["Cmd"], json!(["--port", "8080"]));
    assert_eq!(config["config"]["Entrypoint"], json!(["app.wasm"]));
    assert_eq!(config["config"]["WorkingDir"], "/srv");
    assert_eq!(
        config["config"]["Labels"],
        json!({
            "containerd.runwasi.layers": sha256sum(concatenated_hexes.as_bytes()),
            "org.example.team": "wasm",
        })
    );
    assert_eq!(
        config["rootfs"],
        json!({"type": "layers", "diff_ids": diff_ids})
    );

    let manifest = &out.manifest;
    let layers = manifest["layers"].as_array().unwrap();
    let media_types: Vec<&str> = layers
        .iter()
        .map(|l| l["mediaType"].as_str().unwrap())
        .collect();
    assert_eq!(
        media_types,
        [
            WASM_LAYER,
            WASM_LAYER,
            WASM_LAYER,
            OCI_TAR_LAYER,
            DOCKER_TAR_LAYER,
            nondistributable_type,
            "text/plain"
        ]
    );
    for ((layer, bytes), digest) in layers.iter().zip(&layer_bytes).zip(&layer_digests) {
        assert_eq!(layer["digest"], digest.as_str());
        assert_eq!(layer["size"], bytes.len());
    }
    // The file names: `<name>.wasm`, then `<name>-<n>.wasm`; the
    // entrypoint's own annotation on the first only; none on other layers.
    assert_eq!(
        layers[0]["annotations"],
        json!({"org.opencontainers.image.title": "app.wasm", "org.example.layer": "entry"})
    );
    assert_eq!(
        layers[1]["annotations"],
        json!({"org.opencontainers.image.title": "app-2.wasm"})
    );
    assert_eq!(
        layers[2]["annotations"],
        json!({"org.opencontainers.image.title": "app-3.wasm"})
    );
    for layer in &layers[3..] {
        assert!(layer.get("annotations").is_none(), "{layer}");
    }
    assert_eq!(
        manifest["annotations"],
        json!({
            "io.containerd.image.name": "ghcr.io/example/app:v1",
            "org.opencontainers.image.ref.name": "v1",
            "org.example.note": "hello",
        })
    );
    assert_eq!(manifest["config"]["digest"], out.written.config.to_string());
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.oci.image.config.v1+json"
    );

    // What `write_to` returns says the same as what it wrote.
    let written = &out.written;
    assert_eq!(written.reference, reference());
    assert_eq!(written.shape, ImageShape::WasmLayers);
    let digests: Vec<String> = written.layers.iter().map(|d| d.to_string()).collect();
    assert_eq!(digests, layer_digests);
    let written_diff_ids: Vec<String> = written.diff_ids.iter().map(|d| d.to_string()).collect();
    assert_eq!(written_diff_ids, diff_ids);
    assert_eq!(
        serde_json::to_value(&written.layer_descriptors).unwrap(),
        manifest["layers"]
    );
    // Written without oci-spec's descriptor, each is the same as it.
    let as_oci_spec: Vec<serde_json::Value> = written
        .layer_descriptors
        .iter()
        .map(|layer| serde_json::to_value(layer.to_descriptor()).unwrap())
        .collect();
    assert_eq!(serde_json::Value::from(as_oci_spec), manifest["layers"]);
    assert_eq!(
        serde_json::to_value(&written.config_descriptor).unwrap(),
        manifest["config"]
    );
    assert_eq!(
        written.manifest.digest().to_string(),
        written.manifest_digest.to_string()
    );
    assert_eq!(
        written
            .manifest
            .platform()
            .as_ref()
            .unwrap()
            .os()
            .to_string(),
        "wasip1"
    );
    let listed = &out.index_json["manifests"][0];
    // The manifest's descriptor is its `index.json` entry, naming
    // annotations and all.
    assert_eq!(serde_json::to_value(&written.manifest).unwrap(), *listed);
    assert_eq!(
        listed["annotations"]["io.containerd.image.name"],
        "ghcr.io/example/app:v1"
    );
    assert_eq!(listed["digest"], written.manifest_digest.to_string());
    assert_eq!(
        listed["platform"],
        json!({"architecture": "wasm", "os": "wasip1"})
    );
}

/// Nothing set: no `Env`, `Cmd`, `WorkingDir` or `author`; the label is
/// still written (over the one layer), the entrypoint is `<name>.wasm`.
#[test]
fn an_image_with_nothing_set_has_only_the_derived_fields() {
    let module = tiny_module(21);
    let mut image = WasmImage::new(reference(), ImageShape::WasmLayers, Timestamp::UNIX_EPOCH);
    image.add_wasm(BytesBlob::new(module.clone())).unwrap();
    let out = write(&image);
    assert_eq!(
        out.config["config"],
        json!({
            "Entrypoint": ["app.wasm"],
            "Labels": {"containerd.runwasi.layers": sha256sum(sha256sum(&module).as_bytes())},
        })
    );
    assert!(out.config.get("author").is_none());
    assert_eq!(out.config["created"], "1970-01-01T00:00:00Z");
    assert_eq!(
        out.config["rootfs"],
        json!({"type": "layers", "diff_ids": []})
    );
    assert_eq!(
        out.manifest["layers"][0]["annotations"],
        json!({"org.opencontainers.image.title": "app.wasm"})
    );
}

/// A compat image's config has no runwasi label (its layer is a tar, not
/// wasm), its entrypoint is `/<name>.wasm` unless set, its labels are the
/// ones set; its layer carries the entrypoint layer's annotations.
#[test]
fn a_compat_image_config_has_the_set_labels_and_entrypoint_and_no_runwasi_label() {
    let mut image = WasmImage::new(reference(), ImageShape::Compat, Timestamp::UNIX_EPOCH);
    image.add_wasm(BytesBlob::new(tiny_module(31))).unwrap();
    let out = write(&image);
    assert_eq!(out.config["config"], json!({"Entrypoint": ["/app.wasm"]}));
    assert_eq!(out.config["os"], "wasi");
    assert!(out.manifest["layers"][0].get("annotations").is_none());

    image.set_label("org.example.team", "wasm").unwrap();
    image.set_entrypoint("/bin/app.wasm").unwrap();
    image
        .annotate_entrypoint_layer("org.opencontainers.image.title", "main.wasm")
        .unwrap();
    let out = write(&image);
    assert_eq!(
        out.config["config"],
        json!({"Entrypoint": ["/bin/app.wasm"], "Labels": {"org.example.team": "wasm"}})
    );
    assert_eq!(
        out.manifest["layers"][0]["annotations"],
        json!({"org.opencontainers.image.title": "main.wasm"})
    );
}

/// A compat image's added layer follows its tar layer with no
/// annotations: the entrypoint layer's annotations are the tar layer's,
/// and a compat image has no wasm layer to take a title (nothing checked
/// an added layer of a compat image before).
#[test]
fn a_compat_images_added_layer_has_neither_title_nor_entrypoint_annotations() {
    let extra = tar_of("etc/a.txt", b"a");
    let mut image = WasmImage::new(reference(), ImageShape::Compat, Timestamp::UNIX_EPOCH);
    image.add_wasm(BytesBlob::new(tiny_module(33))).unwrap();
    image
        .add_layer(OCI_TAR_LAYER, BytesBlob::new(extra.clone()))
        .unwrap();
    image
        .annotate_entrypoint_layer("org.example.role", "entrypoint")
        .unwrap();
    let out = write(&image);
    let layers = out.manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2, "{layers:?}");
    assert_eq!(
        layers[0]["annotations"],
        json!({"org.example.role": "entrypoint"})
    );
    assert_eq!(
        layers[1],
        json!({"digest": sha256(&extra), "mediaType": OCI_TAR_LAYER, "size": extra.len()})
    );
    assert!(out.written.layer_descriptors[1].annotations.is_empty());
}

/// A layer's descriptor hands serde its fields in key order and says how
/// many there are: 3, or 4 with annotations (a format that writes the
/// count first, as MessagePack and CBOR do, relies on it; serde_json's
/// writer closes an object said to have none at once). Through
/// serde_json's writer it is oci-spec's descriptor.
#[test]
fn a_layer_descriptor_tells_serde_its_fields_and_their_number() {
    use serde_test::{assert_ser_tokens, Token};
    use wasm_artifact::LayerDescriptor;
    let digest = sha256(b"layer");
    let plain = LayerDescriptor {
        media_type: WASM_LAYER.to_owned(),
        digest: digest.parse().unwrap(),
        size: 5,
        annotations: Vec::new(),
    };
    let digest: &'static str = digest.leak();
    let fields = [
        Token::Str("digest"),
        Token::Str(digest),
        Token::Str("mediaType"),
        Token::Str(WASM_LAYER),
        Token::Str("size"),
        Token::U64(5),
        Token::StructEnd,
    ];
    let mut expected = vec![Token::Struct {
        name: "Descriptor",
        len: 3,
    }];
    expected.extend(fields);
    assert_ser_tokens(&plain, &expected);

    let annotated = LayerDescriptor {
        annotations: vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ],
        ..plain.clone()
    };
    let mut expected = vec![
        Token::Struct {
            name: "Descriptor",
            len: 4,
        },
        Token::Str("annotations"),
        Token::Map { len: Some(2) },
        Token::Str("a"),
        Token::Str("1"),
        Token::Str("b"),
        Token::Str("2"),
        Token::MapEnd,
    ];
    expected.extend(fields);
    assert_ser_tokens(&annotated, &expected);

    for layer in [&plain, &annotated] {
        let written: Value = serde_json::from_str(&serde_json::to_string(layer).unwrap()).unwrap();
        assert_eq!(
            written,
            serde_json::to_value(layer.to_descriptor()).unwrap()
        );
    }
}

/// A compat image's one layer per compression: its media type, its
/// digest (`sha256sum` of the blob), and its diff ID in the config (of the
/// tar, decompressed here by the gzip and zstd crates' decoders).
#[test]
fn a_compat_layer_has_the_media_type_and_diff_id_of_its_compression() {
    use std::io::Read;
    for (compression, media_type) in [
        (LayerCompression::Gzip, OCI_TAR_GZIP_LAYER),
        (LayerCompression::Zstd, OCI_TAR_ZSTD_LAYER),
        (LayerCompression::None, OCI_TAR_LAYER),
    ] {
        let mut image = WasmImage::new(reference(), ImageShape::Compat, Timestamp::UNIX_EPOCH);
        image.add_wasm(BytesBlob::new(tiny_module(32))).unwrap();
        image.set_compression(compression);
        let mut layout = LayoutTar::new(Vec::new()).unwrap();
        let written = image.write_to(&mut layout).unwrap();
        let tar = layout.finish().unwrap();
        let manifest: Value =
            serde_json::from_slice(&tar_entry(&tar, &written.manifest_digest.blob_path())).unwrap();
        let config: Value =
            serde_json::from_slice(&tar_entry(&tar, &written.config.blob_path())).unwrap();
        let layer = &manifest["layers"][0];
        assert_eq!(layer["mediaType"], media_type, "{compression}");
        let digest: oci_digest::Digest = layer["digest"].as_str().unwrap().parse().unwrap();
        let blob = tar_entry(&tar, &digest.blob_path());
        assert_eq!(layer["digest"], sha256(&blob), "{compression}");
        assert_eq!(layer["size"], blob.len(), "{compression}");
        let mut uncompressed = Vec::new();
        match compression {
            LayerCompression::Gzip => {
                flate2::read::GzDecoder::new(&blob[..])
                    .read_to_end(&mut uncompressed)
                    .unwrap();
            }
            LayerCompression::Zstd => uncompressed = zstd::decode_all(&blob[..]).unwrap(),
            _ => uncompressed = blob.clone(),
        }
        assert_eq!(
            config["rootfs"]["diff_ids"],
            json!([sha256(&uncompressed)]),
            "{compression}"
        );
        assert_eq!(written.layers, [digest]);
    }
}

/// A set entrypoint replaces `<name>.wasm` in a wasm-layer image too; a
/// set title replaces the entrypoint layer's file name only.
#[test]
fn a_set_entrypoint_and_title_replace_the_defaults() {
    let mut image = WasmImage::new(reference(), ImageShape::WasmLayers, Timestamp::UNIX_EPOCH);
    image.add_wasm(BytesBlob::new(tiny_module(41))).unwrap();
    image.add_wasm(BytesBlob::new(tiny_module(42))).unwrap();
    image.set_entrypoint("main.wasm").unwrap();
    image
        .annotate_entrypoint_layer("org.opencontainers.image.title", "main.wasm")
        .unwrap();
    let out = write(&image);
    assert_eq!(out.config["config"]["Entrypoint"], json!(["main.wasm"]));
    let titles: Vec<&Value> = out.manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| &l["annotations"]["org.opencontainers.image.title"])
        .collect();
    assert_eq!(titles, [&json!("main.wasm"), &json!("app-2.wasm")]);
}

/// A CNCF artifact's extra layers: any valid media type, compressed tars
/// included (its config has no diff IDs to list).
#[test]
fn extra_layers_media_types_are_checked_and_compressed_tars_only_go_in_an_artifact() {
    let blob = || BytesBlob::new(b"layer".to_vec());
    for shape in [
        ImageShape::WasmLayers,
        ImageShape::Compat,
        ImageShape::Artifact,
    ] {
        let mut image = WasmImage::new(reference(), shape, Timestamp::UNIX_EPOCH);
        for invalid in ["", "text", "text/", "/plain", "text/pla in", "a/b;c=d"] {
            assert!(
                matches!(
                    image.add_layer(invalid, blob()),
                    Err(ArtifactError::InvalidMediaType { .. })
                ),
                "{shape:?} {invalid:?}"
            );
        }
        for compressed in [
            OCI_TAR_GZIP_LAYER,
            OCI_TAR_ZSTD_LAYER,
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        ] {
            let result = image.add_layer(compressed, blob());
            match shape {
                ImageShape::Artifact => assert!(result.is_ok(), "{compressed}: {result:?}"),
                _ => assert!(
                    matches!(result, Err(ArtifactError::CompressedTarLayer { .. })),
                    "{shape:?} {compressed}: {result:?}"
                ),
            }
        }
        // Not compressed tars: an uncompressed tar, other `+gzip`/`+zstd`
        // types, another type under the OCI layer prefix.
        for accepted in [
            OCI_TAR_LAYER,
            DOCKER_TAR_LAYER,
            "application/x+gzip",
            "application/x+zstd",
            "application/vnd.oci.image.layer.v1.json",
        ] {
            assert!(
                image.add_layer(accepted, blob()).is_ok(),
                "{shape:?} {accepted}"
            );
        }
    }
}

/// The diff IDs list only the uncompressed tar types; a type that merely
/// looks like one does not count.
#[test]
fn only_uncompressed_tar_layers_have_diff_ids() {
    let mut image = WasmImage::new(reference(), ImageShape::WasmLayers, Timestamp::UNIX_EPOCH);
    image.add_wasm(BytesBlob::new(tiny_module(51))).unwrap();
    let tar = tar_of("x", b"x");
    for media_type in [
        "application/vnd.oci.image.layer.v1.tar.extra",
        "application/vnd.docker.image.rootfs.diff.tar.x",
        "application/x-tar",
        WASM,
    ] {
        image
            .add_layer(media_type, BytesBlob::new(tar.clone()))
            .unwrap();
    }
    let out = write(&image);
    assert_eq!(out.config["rootfs"]["diff_ids"], json!([]));
    assert!(out.written.diff_ids.is_empty());
}

#[test]
fn annotations_are_checked() {
    let mut image = WasmImage::new(reference(), ImageShape::WasmLayers, Timestamp::UNIX_EPOCH);
    assert!(matches!(
        image.annotate("", "x"),
        Err(ArtifactError::EmptyAnnotationKey)
    ));
    for reserved in [
        "io.containerd.image.name",
        "org.opencontainers.image.ref.name",
    ] {
        assert!(
            matches!(
                image.annotate(reserved, "x"),
                Err(ArtifactError::ReservedAnnotation { .. })
            ),
            "{reserved}"
        );
    }
    image.annotate("org.example.empty", "").unwrap();
    assert!(matches!(
        image.annotate_entrypoint_layer("", "x"),
        Err(ArtifactError::EmptyAnnotationKey)
    ));
    for title in ["", ".", "..", "a/b.wasm", "a\\b.wasm", "/x"] {
        assert!(
            matches!(
                image.annotate_entrypoint_layer("org.opencontainers.image.title", title),
                Err(ArtifactError::InvalidLayerTitle { .. })
            ),
            "{title:?}"
        );
    }
    // Only the title is a file name: other keys take any value.
    for value in ["", ".", "a/b", "a\\b"] {
        image
            .annotate_entrypoint_layer("org.example.path", value)
            .unwrap();
    }
    image
        .annotate_entrypoint_layer("org.opencontainers.image.title", "...wasm")
        .unwrap();
}

/// One wasm for an artifact or a compat image, any number for a wasm-layer
/// image; none is refused by each.
#[test]
fn each_shape_takes_its_number_of_wasm_inputs() {
    for shape in [
        ImageShape::WasmLayers,
        ImageShape::Compat,
        ImageShape::Artifact,
    ] {
        let mut image = WasmImage::new(reference(), shape, Timestamp::UNIX_EPOCH);
        assert!(matches!(image.check(), Err(ArtifactError::NoWasm)));
        assert!(matches!(image.platform(), Err(ArtifactError::NoWasm)));
        image.add_wasm(BytesBlob::new(tiny_module(61))).unwrap();
        image.check().unwrap();
        image.add_wasm(BytesBlob::new(tiny_module(62))).unwrap();
        let result = image.check();
        match shape {
            ImageShape::WasmLayers => result.unwrap(),
            ImageShape::Compat => assert!(matches!(
                result,
                Err(ArtifactError::CompatTakesOneWasm { count: 2 })
            )),
            ImageShape::Artifact => assert!(matches!(
                result,
                Err(ArtifactError::ArtifactTakesOneWasm { count: 2 })
            )),
        }
    }
}

/// The world name of a target: `namespace:package/world`, optionally
/// `@` and a semantic version (`MAJOR.MINOR.PATCH[-pre][+build]`).
#[test]
fn a_target_version_is_semver() {
    let mut image = WasmImage::new(reference(), ImageShape::Artifact, Timestamp::UNIX_EPOCH);
    for good in [
        "wasi:http/proxy",
        "wasi:http/proxy@0.2.0",
        "wasi:http/proxy@10.20.30",
        "wasi:http/proxy@1.2.3-rc.1",
        "wasi:http/proxy@1.2.3+build.5",
        "wasi:http/proxy@1.2.3-rc-1+b",
    ] {
        assert!(image.set_target(good).is_ok(), "{good}");
    }
    for bad in [
        "wasi:http/proxy@1.2",
        "wasi:http/proxy@1.2.3.4",
        "wasi:http/proxy@1..3",
        "wasi:http/proxy@a.b.c",
        "wasi:http/proxy@1.2.x",
        "wasi:http/proxy@1.2.3-",
        "wasi:http/proxy@1.2.3+",
        "wasi:http/proxy@1.2.3-rc.",
        "wasi:http/proxy@1.2.3-r_c",
    ] {
        assert!(
            matches!(
                image.set_target(bad),
                Err(ArtifactError::InvalidTarget { .. })
            ),
            "{bad}"
        );
    }
}

/// Platform names: lowercase letters and digits first, then also `.`,
/// `_`, `-`.
#[test]
fn platform_names_allow_digits_and_separators_after_the_first_character() {
    let mut image = WasmImage::new(reference(), ImageShape::WasmLayers, Timestamp::UNIX_EPOCH);
    image.add_wasm(BytesBlob::new(tiny_module(71))).unwrap();
    for (os, arch) in [("wasip2", "wasm32"), ("0s", "9"), ("wasi.p_2-x", "w.a_s-m")] {
        image.set_platform(os, arch).unwrap();
        assert_eq!(image.platform().unwrap(), (os.to_owned(), arch.to_owned()));
    }
    for (os, arch) in [
        (".wasi", "wasm"),
        ("wasi", "-wasm"),
        ("_x", "wasm"),
        ("wasi", "wasm/32"),
        ("wasi:", "wasm"),
    ] {
        assert!(
            matches!(
                image.set_platform(os, arch),
                Err(ArtifactError::InvalidPlatform { .. })
            ),
            "{os:?}/{arch:?}"
        );
    }
}
