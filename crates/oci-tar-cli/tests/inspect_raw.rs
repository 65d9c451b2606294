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

/// A Docker archive (made here: one layer, its config and
/// `manifest.json`) has no `index.json` to print: a usage error saying
/// so; its manifest is derived and printed.
#[test]
fn a_docker_archive_has_no_raw_index() {
    let dir = tempfile::tempdir().unwrap();
    let layer = b"layer bytes".to_vec();
    let diff_id = format!("sha256:{}", test_support::sha256sum(&layer));
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    )
    .into_bytes();
    let config_name = format!("{}.json", test_support::sha256sum(&config));
    let manifest = format!(
        r#"[{{"Config":"{config_name}","RepoTags":["localhost/a:v1"],"Layers":["l.tar"]}}]"#
    )
    .into_bytes();
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in [
        ("l.tar", &layer),
        (config_name.as_str(), &config),
        ("manifest.json", &manifest),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, &bytes[..]).unwrap();
    }
    std::fs::write(dir.path().join("docker.tar"), builder.into_inner().unwrap()).unwrap();

    let refused = run(&["inspect", "--raw", "index", "docker.tar"], dir.path());
    assert_eq!(refused.status.code(), Some(2));
    assert!(refused.stdout.is_empty());
    assert_eq!(
        String::from_utf8(refused.stderr).unwrap(),
        "oci-tar-builder: error: a Docker archive has no index.json \
         (--raw manifest prints the OCI manifest derived for an image)\n"
    );
    let derived: serde_json::Value =
        serde_json::from_slice(&raw(&["manifest", "docker.tar"], dir.path())).unwrap();
    assert_eq!(
        derived["config"]["digest"],
        format!("sha256:{}", test_support::sha256sum(&config))
    );
    assert_eq!(raw(&["config", "docker.tar"], dir.path()), config);
}

/// `inspect`'s reader going away is not a failure (as with `rg … | head`);
/// any other error writing stdout is, and says so.
#[test]
fn a_reader_that_goes_away_is_not_a_failure_but_a_full_disk_is() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.wasm"), tiny_module(1)).unwrap();
    run_ok(
        &["-q", "-n", "app", "-m", "a.wasm", "-o", "app.tar"],
        dir.path(),
    );
    for args in [
        &["inspect", "app.tar"][..],
        &["inspect", "--raw", "index", "app.tar"],
    ] {
        let inspect = || {
            let mut command = Command::new(common::builder());
            command
                .args(args)
                .current_dir(dir.path())
                .stderr(Stdio::piped());
            command
        };
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let closed = inspect().stdout(writer).output().unwrap();
        assert_eq!(closed.status.code(), Some(0), "{args:?}");
        assert!(
            closed.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&closed.stderr)
        );
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let failed = inspect().stdout(full).output().unwrap();
        assert_eq!(failed.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&failed.stderr),
            "oci-tar-builder: error: stdout: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
}
