//! `inspect --raw manifest|config|index` prints the documents exactly as
//! stored, as `skopeo inspect --raw` and `crane manifest` do: compared here
//! byte for byte with the tar's entries and the layout directory's files.
#![allow(clippy::unwrap_used)]

mod common;
use common::{run, run_ok};
use test_support::{tar_entry, tiny_module};

/// The blob path of the digest at `pointer` in the JSON document `bytes`.
fn blob_at(bytes: &[u8], pointer: &str) -> String {
    let json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    let digest = json.pointer(pointer).unwrap().as_str().unwrap();
    format!("blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap())
}

fn raw(args: &[&str], dir: &std::path::Path) -> Vec<u8> {
    run_ok(&[&["inspect", "--raw"], args].concat(), dir).stdout
}

#[test]
fn raw_documents_of_a_tar_are_its_entries_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.wasm"), tiny_module(1)).unwrap();
    run_ok(
        &["-q", "-n", "app", "-m", "a.wasm", "-o", "app.tar"],
        dir.path(),
    );
    let tar = std::fs::read(dir.path().join("app.tar")).unwrap();

    let index = tar_entry(&tar, "index.json");
    let manifest = tar_entry(&tar, &blob_at(&index, "/manifests/0/digest"));
    let config = tar_entry(&tar, &blob_at(&manifest, "/config/digest"));
    assert_eq!(raw(&["index", "app.tar"], dir.path()), index);
    assert_eq!(raw(&["manifest", "app.tar"], dir.path()), manifest);
    assert_eq!(raw(&["config", "app.tar"], dir.path()), config);
    // The only image may also be named.
    assert_eq!(
        raw(
            &["manifest", "--image", "app:latest", "app.tar"],
            dir.path()
        ),
        manifest
    );
}

#[test]
fn raw_documents_of_a_layout_directory_need_the_image_when_it_holds_several() {
    let dir = tempfile::tempdir().unwrap();
    for (seed, tag) in [(1, "v1"), (2, "v2")] {
        std::fs::write(dir.path().join(format!("{tag}.wasm")), tiny_module(seed)).unwrap();
        run_ok(
            &[
                "-q",
                "-n",
                "app",
                "-m",
                &format!("{tag}.wasm"),
                "-o",
                &format!("oci:layout:{tag}"),
            ],
            dir.path(),
        );
    }
    let layout = dir.path().join("layout");
    let index = std::fs::read(layout.join("index.json")).unwrap();
    assert_eq!(raw(&["index", "layout"], dir.path()), index);

    let refused = run(&["inspect", "--raw", "manifest", "layout"], dir.path());
    assert_eq!(refused.status.code(), Some(2));
    assert!(refused.stdout.is_empty());
    let message = String::from_utf8(refused.stderr).unwrap();
    assert!(
        message.contains("several images") && message.contains("app:v1, app:v2"),
        "{message}"
    );

    // By tag, by name and by digest: the second image's documents.
    let manifest = std::fs::read(layout.join(blob_at(&index, "/manifests/1/digest"))).unwrap();
    let config = std::fs::read(layout.join(blob_at(&manifest, "/config/digest"))).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&index).unwrap();
    let digest = json["manifests"][1]["digest"].as_str().unwrap();
    for image in ["v2", "app:v2", digest] {
        assert_eq!(
            raw(&["manifest", "--image", image, "layout"], dir.path()),
            manifest,
            "{image}"
        );
    }
    assert_eq!(
        raw(&["config", "--image", "v2", "layout"], dir.path()),
        config
    );
    assert_ne!(
        raw(&["manifest", "--image", "v1", "layout"], dir.path()),
        manifest
    );

    let unknown = run(
        &["inspect", "--raw", "config", "--image", "v3", "layout"],
        dir.path(),
    );
    assert_eq!(unknown.status.code(), Some(2));
    let message = String::from_utf8(unknown.stderr).unwrap();
    assert!(
        message.contains("no image v3") && message.contains("app:v1, app:v2"),
        "{message}"
    );
}
