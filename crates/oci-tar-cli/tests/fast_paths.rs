//! The tar is the same bytes whichever way it is written: into a file (each
//! input read once, headers filled in afterwards), to stdout (inputs hashed
//! in parallel first), or by the library's plain path (each file hashed up
//! front, then streamed into a `Vec`).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use oci_digest::{digest_bytes, PIPELINE_THRESHOLD};
use test_support::{filler_module, tar_entries, tiny_module};
use wasm_artifact::{Destination, FileBlob, ImageShape, Reference, Timestamp, WasmImage};

const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

/// The CLI's arguments for `modules` and `layers`, without `-o`.
fn args(modules: &[PathBuf], layers: &[PathBuf]) -> Vec<String> {
    let mut args: Vec<String> = ["-n", "app", "-r", "localhost:5000/demo", "-q"]
        .map(String::from)
        .to_vec();
    for module in modules {
        args.extend(["-m".into(), module.display().to_string()]);
    }
    for layer in layers {
        args.extend(["-l".into(), format!("{LAYER_TYPE}={}", layer.display())]);
    }
    args
}

fn builder() -> Command {
    let mut command = Command::new(test_support::builder_under_test(env!(
        "CARGO_BIN_EXE_oci-tar-builder"
    )));
    command.env_remove("SOURCE_DATE_EPOCH");
    command
}

fn cli_to_file(modules: &[PathBuf], layers: &[PathBuf], out: &Path) -> Vec<u8> {
    let status = builder()
        .args(args(modules, layers))
        .arg("-o")
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

fn cli_to_stdout(modules: &[PathBuf], layers: &[PathBuf]) -> Vec<u8> {
    let output = builder()
        .args(args(modules, layers))
        .args(["-o", "-"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The library's plain path: `FileBlob::hash` each input, write into a Vec.
fn library_plain(modules: &[PathBuf], layers: &[PathBuf]) -> Vec<u8> {
    let reference = Reference::from_parts(Some("localhost:5000/demo"), "app", "latest").unwrap();
    let mut image = WasmImage::new(reference, ImageShape::WasmLayers, Timestamp::UNIX_EPOCH);
    for module in modules {
        image.add_wasm(FileBlob::hash(module).unwrap()).unwrap();
    }
    for layer in layers {
        image
            .add_layer(LAYER_TYPE, FileBlob::hash(layer).unwrap())
            .unwrap();
    }
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut destination = Destination::tar_stream(out.reopen().unwrap()).unwrap();
    destination.write(&image).unwrap();
    destination.finish().unwrap();
    std::fs::read(out.path()).unwrap()
}

#[test]
fn file_stdout_and_library_outputs_are_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let large = PIPELINE_THRESHOLD as usize + 4097;
    let small = write("small.wasm", &tiny_module(1));
    let other = write("other.wasm", &tiny_module(2));
    let big = write("big.wasm", &filler_module(large, 1));
    let big_copy = write("big-copy.wasm", &filler_module(large, 1));
    let big2 = write("big2.wasm", &filler_module(2 * large, 2));
    let layer = write("rootfs.tar", &filler_module(large / 2, 3)[8..]);

    let cases: Vec<(&str, Vec<PathBuf>, Vec<PathBuf>)> = vec![
        ("one small module", vec![small.clone()], vec![]),
        ("one large module", vec![big.clone()], vec![]),
        (
            "several layers",
            vec![big2.clone(), small.clone(), big.clone()],
            vec![layer.clone()],
        ),
        (
            "duplicate blobs",
            vec![
                big.clone(),
                other.clone(),
                big_copy.clone(),
                big.clone(),
                other.clone(),
            ],
            vec![],
        ),
    ];
    for (name, modules, layers) in cases {
        let expected = library_plain(&modules, &layers);
        for (entry, bytes) in tar_entries(&expected) {
            if let Some(hex) = entry.strip_prefix("blobs/sha256/") {
                assert_eq!(digest_bytes(&bytes).hex(), hex, "{name}: {entry}");
            }
        }
        let out = dir.path().join("out.tar");
        let file = cli_to_file(&modules, &layers, &out);
        assert!(
            file == expected,
            "{name}: -o FILE differs from the library's tar"
        );
        let stdout = cli_to_stdout(&modules, &layers);
        assert!(
            stdout == expected,
            "{name}: -o - differs from the library's tar"
        );
        // Reproducible: again, over the existing file.
        let again = cli_to_file(&modules, &layers, &out);
        assert!(again == expected, "{name}: a second run differs");
    }
}

/// A tar file or layout blob larger than a writeback step is synced to disk
/// in steps while it is written (`oci_layout::WritebackFile`); what ends up
/// in the file is still every byte, the same as the stream's.
#[test]
fn outputs_over_several_writeback_steps_are_complete() {
    let dir = tempfile::tempdir().unwrap();
    let len = usize::try_from(oci_layout::WRITEBACK_STEP).unwrap() * 5 / 2 + 4097;
    let module = filler_module(len, 7);
    let big = dir.path().join("big.wasm");
    std::fs::write(&big, &module).unwrap();
    let small = dir.path().join("small.wasm");
    std::fs::write(&small, tiny_module(4)).unwrap();
    let modules = [big, small];

    let file = cli_to_file(&modules, &[], &dir.path().join("out.tar"));
    let stdout = cli_to_stdout(&modules, &[]);
    assert_eq!(
        file.len(),
        stdout.len(),
        "-o FILE and -o - differ in length"
    );
    assert!(file == stdout, "-o FILE differs from -o -");
    let blob = format!("blobs/sha256/{}", digest_bytes(&module).hex());
    assert!(
        test_support::tar_entry(&file, &blob) == module,
        "the module's blob in the tar is not the module"
    );

    let layout = dir.path().join("layout");
    let status = builder()
        .args(args(&modules, &[]))
        .arg("-o")
        .arg(format!("oci:{}", layout.display()))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        std::fs::read(layout.join(&blob)).unwrap() == module,
        "the module's blob in oci:DIR is not the module"
    );
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    // Large enough for a bar (64 MiB) were stderr a terminal.
    let module = dir.path().join("large.wasm");
    std::fs::write(&module, filler_module(64 * 1024 * 1024 + 1, 5)).unwrap();
    let output = builder()
        .args(["-n", "app", "-m"])
        .arg(&module)
        .args(["-o", "-"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines[0].ends_with("large.wasm: core module, 67108865 bytes"),
        "{stderr}"
    );
    assert_eq!(lines[1], "wrote stdout", "{stderr}");
    assert!(lines[2].starts_with("  image     app:latest"), "{stderr}");
    assert!(lines[3].starts_with("  manifest  sha256:"), "{stderr}");
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(
        !stderr.contains('\r') && !stderr.contains('\u{1b}'),
        "{stderr:?}"
    );
}

/// Each input's line (kind and size) is said once, for the first shape,
/// however many shapes are written; and with `-q` or `--json`, not at all
/// (the line is not even made then).
#[test]
fn each_inputs_line_is_said_once_for_several_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("one.wasm");
    std::fs::write(&module, tiny_module(7)).unwrap();
    let run = |extra: &[&str]| {
        let output = builder()
            .args([
                "-n",
                "app",
                "--shape",
                "wasm-layers",
                "--shape",
                "compat",
                "-m",
            ])
            .arg(&module)
            .arg("-o")
            .arg(dir.path().join("out.tar"))
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    let stderr = run(&[]);
    let said = stderr
        .lines()
        .filter(|line| line.contains("one.wasm: core module, "))
        .count();
    assert_eq!(said, 1, "{stderr}");
    assert!(!run(&["-q"]).contains("one.wasm"));
    assert!(!run(&["--json"]).contains("one.wasm: core module"));
}

/// Regression: every input stayed open until the tar was written, so a
/// folder of more modules than the open-file limit failed. With `ulimit -n
/// 256`, 3,000 modules are packaged into a file, a stream and a layout
/// directory.
#[test]
fn more_inputs_than_the_open_file_limit_are_packaged() {
    const MODULES: u32 = 3_000;
    let dir = tempfile::tempdir().unwrap();
    let components = dir.path().join("components");
    std::fs::create_dir(&components).unwrap();
    for seed in 0..MODULES {
        std::fs::write(
            components.join(format!("m{seed:05}.wasm")),
            tiny_module(seed),
        )
        .unwrap();
    }
    let sh = test_support::require_tool("sh", "dash");
    for output in ["out.tar", "-", "oci:layout"] {
        let run = Command::new(&sh)
            .arg("-c")
            .arg("ulimit -n 256 && exec \"$0\" -q -n app -c components -o \"$1\" > \"$2\"")
            .arg(test_support::builder_under_test(env!(
                "CARGO_BIN_EXE_oci-tar-builder"
            )))
            .arg(output)
            .arg(if output == "-" {
                "stream.tar"
            } else {
                "/dev/null"
            })
            .current_dir(dir.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "-o {output}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let tar = std::fs::read(dir.path().join("out.tar")).unwrap();
    assert!(tar == std::fs::read(dir.path().join("stream.tar")).unwrap());
    let layers = tar_entries(&tar)
        .iter()
        .filter(|(name, _)| name.starts_with("blobs/"))
        .count();
    assert_eq!(
        layers,
        MODULES as usize + 2,
        "every module, a config, a manifest"
    );
    let in_dir = std::fs::read_dir(dir.path().join("layout/blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(in_dir, MODULES as usize + 2);
}
