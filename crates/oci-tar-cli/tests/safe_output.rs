//! Failure is safe: on an error, SIGINT or SIGTERM nothing is left at the
//! output path and a file already there is unchanged; a full disk says so;
//! an input that changes while being packaged is an error; inputs past
//! 8 GiB are packaged right.
#![allow(clippy::unwrap_used)] // test helpers: a panic is a test failure

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a test waits for the child to reach a step.
const PATIENCE: Duration = Duration::from_secs(60);

fn builder() -> Command {
    let mut command = Command::new(test_support::builder_under_test(env!(
        "CARGO_BIN_EXE_oci-tar-builder"
    )));
    command.env_remove("SOURCE_DATE_EPOCH");
    command
}

/// A child process killed when the test ends, also when it fails.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl KillOnDrop {
    fn output(mut self) -> Output {
        let mut stderr = String::new();
        self.0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = self.0.wait().unwrap();
        Output {
            status,
            stdout: Vec::new(),
            stderr: stderr.into_bytes(),
        }
    }
}

fn partial_files(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".partial"))
        .collect()
}

/// Size of the sparse input whose copy is still running when the test
/// acts: hashing it takes about half a second, copying it longer.
const SLOW_INPUT_LEN: u64 = 1 << 30;

/// Starts packaging a module and a sparse 1 GiB layer `big.bin` in `dir`
/// into `out.tar` (which holds "old"); returns once the output being
/// written (a file without a name, or under a temporary one) has bytes on
/// disk, while the layer is being copied. (The file is
/// created before the inputs are read, and the module's few KiB stay in
/// the output's buffer: bytes on disk are the layer's.)
fn start_packaging_slowly(dir: &Path) -> KillOnDrop {
    fs::write(dir.join("app.wasm"), test_support::tiny_module(3)).unwrap();
    File::create(dir.join("big.bin"))
        .unwrap()
        .set_len(SLOW_INPUT_LEN)
        .unwrap();
    fs::write(dir.join("out.tar"), b"old").unwrap();
    let child = KillOnDrop(
        builder()
            .current_dir(dir)
            .args(["-q", "-n", "app", "-m", "app.wasm"])
            .args(["--layer", "application/octet-stream=big.bin"])
            .args(["-o", "out.tar"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + PATIENCE;
    let pid = child.0.id();
    let writing = || {
        test_support::outputs_in_progress(dir, pid)
            .iter()
            .any(|&len| len > 0)
    };
    while !writing() {
        assert!(Instant::now() < deadline, "no temporary output was written");
        std::thread::sleep(Duration::from_millis(2));
    }
    child
}

#[test]
fn sigint_and_sigterm_leave_nothing_and_keep_the_old_file() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let dir = tempfile::tempdir().unwrap();
        let child = start_packaging_slowly(dir.path());
        let kill = test_support::require_tool("kill", "the Debian package procps");
        let status = Command::new(kill)
            .arg(format!("-{signal}"))
            .arg(child.0.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.output();
        assert_eq!(output.status.code(), Some(code), "SIG{signal}");
        assert_eq!(
            partial_files(dir.path()),
            Vec::<PathBuf>::new(),
            "SIG{signal}"
        );
        assert_eq!(fs::read(dir.path().join("out.tar")).unwrap(), b"old");
    }
}

/// A small job starts no thread to watch for signals (tests/resources.rs):
/// it acts on one at its next step. Thousands of small modules keep it
/// writing long enough for SIGINT to land while the temporary file exists.
#[test]
fn sigint_during_a_small_job_leaves_nothing_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("wasm");
    fs::create_dir(&folder).unwrap();
    for seed in 0..3000 {
        // The module, then a custom section "pad" of 4,000 bytes.
        let mut module = test_support::tiny_module(seed);
        module.extend_from_slice(&[0, 0xa4, 0x1f, 3]);
        module.extend_from_slice(b"pad");
        module.extend(std::iter::repeat_n(0u8, 4000));
        fs::write(folder.join(format!("m{seed:04}.wasm")), module).unwrap();
    }
    fs::write(dir.path().join("out.tar"), b"old").unwrap();
    let mut child = KillOnDrop(
        builder()
            .current_dir(dir.path())
            .args(["-q", "-n", "app", "--components", "wasm", "-o", "out.tar"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + PATIENCE;
    while test_support::outputs_in_progress(dir.path(), child.0.id()).is_empty() {
        assert!(Instant::now() < deadline, "no temporary output appeared");
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the job ended before SIGINT could be sent while it wrote"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let kill = test_support::require_tool("kill", "the Debian package procps");
    let status = Command::new(kill)
        .arg("-INT")
        .arg(child.0.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.output();
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(partial_files(dir.path()), Vec::<PathBuf>::new());
    assert_eq!(fs::read(dir.path().join("out.tar")).unwrap(), b"old");
}

#[test]
fn an_input_that_changes_while_being_packaged_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let child = start_packaging_slowly(dir.path());
    // Hashed at 1 GiB; now it is half that. (A change of bytes at the same
    // size is caught too, by the digest: oci-layout's
    // a_file_changed_after_hashing_is_caught; here it would first copy the
    // whole GiB to disk.)
    File::options()
        .write(true)
        .open(dir.path().join("big.bin"))
        .unwrap()
        .set_len(SLOW_INPUT_LEN / 2)
        .unwrap();
    let output = child.output();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    // Caught while it is read (fewer bytes than announced), or, when the
    // change lands before the read starts, when the file is opened again
    // for it (each read checks it is the file first opened).
    let while_read = stderr.starts_with("oci-tar-builder: error: big.bin: yielded ")
        && stderr.ends_with(&format!(
            " bytes where {SLOW_INPUT_LEN} were announced (did it change while being packaged?)\n"
        ));
    let when_opened = stderr
        == "oci-tar-builder: error: big.bin: changed while being packaged (its size changed); package it again once it is complete\n";
    assert!(while_read || when_opened, "{stderr}");
    assert_eq!(partial_files(dir.path()), Vec::<PathBuf>::new());
    assert_eq!(fs::read(dir.path().join("out.tar")).unwrap(), b"old");
}

/// A small tmpfs, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(path: PathBuf, size: &str) -> Self {
        fs::create_dir_all(&path).unwrap();
        let mount = test_support::require_tool("mount", "the Debian package mount");
        let output = Command::new(mount)
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "this test mounts a small tmpfs (it needs root): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Tmpfs(path)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_says_so_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let small = Tmpfs::mount(dir.path().join("small"), "1m");
    fs::write(small.0.join("out.tar"), b"old").unwrap();
    fs::write(dir.path().join("app.wasm"), test_support::tiny_module(5)).unwrap();
    // 2 MiB of data that does not fit in 1 MiB.
    let layer = dir.path().join("layer.bin");
    fs::write(&layer, vec![7u8; 2 << 20]).unwrap();
    let out = small.0.join("out.tar");
    let output = builder()
        .current_dir(dir.path())
        .args(["-q", "-n", "app", "-m", "app.wasm", "--layer"])
        .arg(format!("application/octet-stream={}", layer.display()))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        format!(
            "oci-tar-builder: error: {}: the disk is full (No space left on device (os error 28))\n",
            out.display()
        )
    );
    let left: Vec<_> = fs::read_dir(&small.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["out.tar"]);
    assert_eq!(fs::read(&out).unwrap(), b"old");
}

#[test]
fn an_input_over_8_gib_is_packaged_right() {
    // A sparse file: 8 GiB + 1 of zeros that take no disk space, packaged to
    // stdout straight into `inspect -`, which hashes every blob against its
    // name: nothing is written to disk.
    let dir = tempfile::tempdir().unwrap();
    let size = (8u64 << 30) + 1;
    let big = dir.path().join("big.bin");
    File::create(&big).unwrap().set_len(size).unwrap();
    fs::write(dir.path().join("app.wasm"), test_support::tiny_module(9)).unwrap();
    let mut package = KillOnDrop(
        builder()
            .current_dir(dir.path())
            .args(["-q", "-n", "big", "-m", "app.wasm", "--layer"])
            .arg(format!("application/octet-stream={}", big.display()))
            .args(["-o", "-"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let tar = package.0.stdout.take().unwrap();
    let inspect = builder()
        .args(["inspect", "--json", "-"])
        .stdin(tar)
        .output()
        .unwrap();
    let packaged = package.output();
    assert!(
        packaged.status.success(),
        "{}",
        String::from_utf8_lossy(&packaged.stderr)
    );
    assert!(
        inspect.status.success(),
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(json["valid"], true);
    let layers = &json["images"][0]["manifest"]["layers"];
    assert_eq!(layers[1]["size"], size);
    assert_eq!(layers[1]["mediaType"], "application/octet-stream");
}

/// Runs the builder in `dir` and returns its output.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    builder().args(args).current_dir(dir).output().unwrap()
}

/// A folder holding `app.wasm`, and the tar the builder writes for it.
fn with_module() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.wasm"), test_support::tiny_module(1)).unwrap();
    let reference = run_in(
        dir.path(),
        &["-q", "-n", "app", "-m", "app.wasm", "-o", "-"],
    );
    assert!(reference.status.success());
    (dir, reference.stdout)
}

#[test]
fn an_output_that_is_an_input_is_refused_before_anything_is_read() {
    let (dir, _) = with_module();
    let module = fs::read(dir.path().join("app.wasm")).unwrap();
    fs::create_dir(dir.path().join("components")).unwrap();
    fs::write(dir.path().join("components/x.wasm"), &module).unwrap();
    std::os::unix::fs::symlink("app.wasm", dir.path().join("alias.tar")).unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["-n", "app", "-m", "app.wasm", "-o", "app.wasm"],
            "-o app.wasm would replace the input --module app.wasm; write the tar elsewhere",
        ),
        (
            &["-n", "app", "-c", "components", "-o", "components/x.wasm"],
            "-o components/x.wasm would replace the input --components components/x.wasm; write the tar elsewhere",
        ),
        (
            &["-n", "app", "-m", "app.wasm", "-o", "alias.tar"],
            "-o alias.tar would replace the input --module app.wasm; write the tar elsewhere",
        ),
    ];
    for (args, message) in cases {
        let output = run_in(dir.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            format!("oci-tar-builder: error: {message}\n")
        );
        assert_eq!(fs::read(dir.path().join("app.wasm")).unwrap(), module);
        assert_eq!(
            fs::read(dir.path().join("components/x.wasm")).unwrap(),
            module
        );
    }
}

/// The files of a `--components` folder are not looked at one by one when
/// the output has a single link outside the folder; each way the output can
/// still be one of them is refused: a hard link of it elsewhere, a symbolic
/// link in the folder to it, and a name in the folder itself.
#[test]
fn an_output_that_is_a_file_of_the_components_folder_is_refused() {
    let (dir, _) = with_module();
    let root = dir.path();
    let module = fs::read(root.join("app.wasm")).unwrap();
    fs::create_dir(root.join("components")).unwrap();
    fs::create_dir(root.join("out")).unwrap();
    fs::write(root.join("components/a.wasm"), &module).unwrap();
    fs::write(root.join("components/b.wasm"), &module).unwrap();
    let refused = |output: &str, input: &str| {
        let run = run_in(root, &["-n", "app", "-c", "components", "-o", output]);
        assert_eq!(run.status.code(), Some(2), "-o {output}");
        assert_eq!(
            String::from_utf8_lossy(&run.stderr),
            format!(
                "oci-tar-builder: error: -o {output} would replace the input --components {input}; write the tar elsewhere\n"
            )
        );
    };

    // A hard link of b.wasm in another folder: two links.
    fs::hard_link(root.join("components/b.wasm"), root.join("out/hard.tar")).unwrap();
    refused("out/hard.tar", "components/b.wasm");
    fs::remove_file(root.join("out/hard.tar")).unwrap();

    // One link, in another folder, but a symbolic link in the folder to it.
    fs::write(root.join("out/target.tar"), &module).unwrap();
    std::os::unix::fs::symlink("../out/target.tar", root.join("components/c.wasm")).unwrap();
    refused("out/target.tar", "components/c.wasm");
    fs::remove_file(root.join("components/c.wasm")).unwrap();

    // One link, in the folder itself.
    refused("components/a.wasm", "components/a.wasm");

    for name in ["components/a.wasm", "components/b.wasm", "out/target.tar"] {
        assert_eq!(fs::read(root.join(name)).unwrap(), module, "{name}");
    }
    // And an output elsewhere with one link is written.
    let run = run_in(
        root,
        &[
            "-q",
            "-n",
            "app",
            "-c",
            "components",
            "-o",
            "out/target.tar",
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_ne!(fs::read(root.join("out/target.tar")).unwrap(), module);
}

/// Runs the builder with `args` in `dir` with a terminal for its stdin,
/// stdout and stderr (util-linux's `script`), and returns the exit code and
/// what the terminal showed.
fn run_on_a_terminal(dir: &Path, args: &str) -> (Option<i32>, String) {
    let script = test_support::require_tool("script", "bsdutils");
    let command = format!(
        "'{}' {args}",
        test_support::builder_under_test(env!("CARGO_BIN_EXE_oci-tar-builder"))
    );
    let run = Command::new(script)
        .args(["-q", "-e", "-c", &command, "/dev/null"])
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        run.status.code(),
        String::from_utf8_lossy(&run.stdout).replace("\r\n", "\n"),
    )
}

#[test]
fn a_tar_is_never_written_to_a_terminal() {
    let (dir, _) = with_module();
    let (code, shown) = run_on_a_terminal(dir.path(), "-n app -m app.wasm -o -");
    assert_eq!(code, Some(2), "{shown}");
    assert_eq!(
        shown,
        "oci-tar-builder: error: -o -: stdout is a terminal; redirect it to a file or a pipe\n"
    );
    // The same terminal takes the messages of a tar written to a file.
    let (code, shown) = run_on_a_terminal(dir.path(), "-q -n app -m app.wasm -o app.tar");
    assert_eq!(code, Some(0), "{shown}");
    assert!(shown.is_empty(), "{shown}");
    assert!(fs::metadata(dir.path().join("app.tar")).unwrap().len() > 0);
}

#[test]
fn an_output_through_a_symbolic_link_is_written_where_it_points() {
    let (dir, expected) = with_module();
    let root = dir.path();
    fs::create_dir(root.join("real")).unwrap();
    // A link to a file that exists, and one to a file not made yet.
    fs::write(root.join("real/old.tar"), b"old").unwrap();
    std::os::unix::fs::symlink("real/old.tar", root.join("old-link.tar")).unwrap();
    std::os::unix::fs::symlink("real/new.tar", root.join("new-link.tar")).unwrap();
    for (link, target) in [
        ("old-link.tar", "real/old.tar"),
        ("new-link.tar", "real/new.tar"),
    ] {
        let output = run_in(root, &["-q", "-n", "app", "-m", "app.wasm", "-o", link]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            fs::symlink_metadata(root.join(link))
                .unwrap()
                .file_type()
                .is_symlink(),
            "{link} was replaced instead of followed"
        );
        assert!(fs::read(root.join(target)).unwrap() == expected, "{target}");
    }
    // A relative target is taken from the link's folder, not the current one.
    fs::create_dir_all(root.join("links/sub")).unwrap();
    std::os::unix::fs::symlink("sub/deep.tar", root.join("links/deep-link.tar")).unwrap();
    let output = run_in(
        root,
        &[
            "-q",
            "-n",
            "app",
            "-m",
            "app.wasm",
            "-o",
            "links/deep-link.tar",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(fs::read(root.join("links/sub/deep.tar")).unwrap() == expected);
    assert!(
        !root.join("sub").exists(),
        "written beside the current folder"
    );
}

#[test]
fn a_device_or_fifo_output_is_written_through_not_replaced() {
    let (dir, expected) = with_module();
    let root = dir.path();
    // Regression: as root, `-o /dev/null` replaced the device node with a
    // regular file. Reached through a link here, so that a regression
    // replaces the link, never the machine's /dev/null.
    std::os::unix::fs::symlink("/dev/null", root.join("null")).unwrap();
    let output = run_in(root, &["-q", "-n", "app", "-m", "app.wasm", "-o", "null"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(fs::symlink_metadata(root.join("null"))
        .unwrap()
        .file_type()
        .is_symlink());
    use std::os::unix::fs::FileTypeExt;
    assert!(fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    assert_eq!(partial_files(root), Vec::<PathBuf>::new());

    // A FIFO gets the whole tar, as a pipe does.
    let mkfifo = Command::new("mkfifo")
        .arg(root.join("fifo"))
        .status()
        .unwrap();
    assert!(mkfifo.success());
    let fifo = root.join("fifo");
    let reader = std::thread::spawn(move || fs::read(fifo).unwrap());
    let output = run_in(root, &["-q", "-n", "app", "-m", "app.wasm", "-o", "fifo"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(reader.join().unwrap() == expected);
    assert!(fs::symlink_metadata(root.join("fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn a_tar_on_stdout_that_no_one_reads_to_the_end_is_not_a_success() {
    let dir = tempfile::tempdir().unwrap();
    // Far larger than a pipe's buffer, so the writer sees the reader go.
    let module = test_support::filler_module(8 * 1024 * 1024, 3);
    fs::write(dir.path().join("big.wasm"), module).unwrap();

    // The reader stops after a few bytes: exit 141 and no summary, as `cat`
    // reports under `set -o pipefail` (it dies of SIGPIPE).
    let mut child = builder()
        .args(["-n", "app", "-m", "big.wasm", "-o", "-"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("wrote stdout"), "{stderr}");

    // Regression: with stdout closed (`>&-`) it said "wrote stdout", exit 0.
    let closed = Command::new(test_support::require_tool("sh", "dash"))
        .arg("-c")
        .arg("exec \"$0\" -n app -m big.wasm -o - >&-")
        .arg(test_support::builder_under_test(env!(
            "CARGO_BIN_EXE_oci-tar-builder"
        )))
        .current_dir(dir.path())
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert_eq!(closed.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&closed.stderr),
        "oci-tar-builder: error: -o -: stdout is closed; redirect it to a file or a pipe\n"
    );

    // `>/dev/null` is a choice, not a mistake: it works.
    let to_null = builder()
        .args(["-q", "-n", "app", "-m", "big.wasm", "-o", "-"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        to_null.status.success(),
        "{}",
        String::from_utf8_lossy(&to_null.stderr)
    );

    // Only /dev/null open for reading and writing is the runtime's stand-in
    // for a closed stdout: a file or another device opened so takes the tar.
    for target in ["rw.tar", "/dev/zero"] {
        let read_write = Command::new(test_support::require_tool("sh", "dash"))
            .arg("-c")
            .arg("exec \"$0\" -q -n app -m big.wasm -o - 1<>\"$1\"")
            .arg(test_support::builder_under_test(env!(
                "CARGO_BIN_EXE_oci-tar-builder"
            )))
            .arg(target)
            .current_dir(dir.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .unwrap();
        assert!(
            read_write.status.success(),
            "1<>{target}: {}",
            String::from_utf8_lossy(&read_write.stderr)
        );
    }
    let tar = std::fs::read(dir.path().join("rw.tar")).unwrap();
    assert!(
        tar.len() > 1024 && tar.len().is_multiple_of(512),
        "{} bytes",
        tar.len()
    );
}

#[test]
fn a_killed_run_leaves_no_new_folders() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.wasm"), test_support::tiny_module(3)).unwrap();
    File::create(dir.path().join("big.bin"))
        .unwrap()
        .set_len(SLOW_INPUT_LEN)
        .unwrap();
    let child = KillOnDrop(
        builder()
            .current_dir(dir.path())
            .args(["-q", "-n", "app", "-m", "app.wasm"])
            .args(["--layer", "application/octet-stream=big.bin"])
            .args(["-o", "new/deeper/out.tar"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + PATIENCE;
    let deeper = dir.path().join("new/deeper");
    while !deeper.exists() || test_support::outputs_in_progress(&deeper, child.0.id()).is_empty() {
        assert!(Instant::now() < deadline, "no temporary output appeared");
        std::thread::sleep(Duration::from_millis(2));
    }
    let kill = test_support::require_tool("kill", "the Debian package procps");
    let status = Command::new(kill)
        .arg("-TERM")
        .arg(child.0.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.output();
    assert_eq!(output.status.code(), Some(143));
    assert!(!dir.path().join("new").exists(), "the new folders stayed");
}

#[test]
fn the_tar_mode_follows_the_umask_and_long_names_work() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.wasm"), test_support::tiny_module(1)).unwrap();
    let sh = test_support::require_tool("sh", "dash");
    // A name near the 255-byte limit: the temporary name must still fit.
    let long = format!("{}.tar", "n".repeat(250));
    for (umask, output, mode) in [
        ("022", "a.tar", 0o644),
        ("027", "b.tar", 0o640),
        ("077", long.as_str(), 0o600),
    ] {
        let run = Command::new(&sh)
            .arg("-c")
            .arg(format!(
                "umask {umask} && exec \"$0\" -q -n app -m app.wasm -o \"$1\""
            ))
            .arg(test_support::builder_under_test(env!(
                "CARGO_BIN_EXE_oci-tar-builder"
            )))
            .arg(output)
            .current_dir(dir.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "umask {umask}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        use std::os::unix::fs::PermissionsExt;
        let found = fs::metadata(dir.path().join(output))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(found, mode, "umask {umask}: mode {found:o}");
    }
}
