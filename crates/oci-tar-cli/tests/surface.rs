//! The command's surface: completions, the man page, and how a bare or
//! mistyped command line is answered.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn builder() -> &'static str {
    test_support::builder_under_test(env!("CARGO_BIN_EXE_oci-tar-builder"))
}

fn run(args: &[&str]) -> Output {
    Command::new(builder()).args(args).output().unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn completions_for_bash_zsh_and_fish_name_the_subcommands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&["completions", shell]);
        for word in [
            "oci-tar-builder",
            "verify",
            "inspect",
            "completions",
            "as-artifact",
            "workdir",
        ] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
        std::fs::write(dir.path().join(shell), script).unwrap();
    }
    // The bash script loads and registers a completion for the command.
    let file = dir.path().join("bash");
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p oci-tar-builder",
            file.display()
        ))
        .output()
        .unwrap();
    let registered = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        registered.trim_end().ends_with(" oci-tar-builder"),
        "{registered}"
    );
    assert!(registered.starts_with("complete "), "{registered}");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let output = run(&["completions", "tcsh"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("possible values: bash"), "{stderr}");
}

#[test]
fn the_man_page_is_roff_listing_the_flags_and_subcommands() {
    let page = stdout_of(&["man"]);
    assert!(page.contains(".TH oci-tar-builder 1"), "{page}");
    for word in [
        "\\-\\-as\\-artifact",
        "\\-\\-env",
        "\\-\\-json",
        "verify",
        "inspect",
    ] {
        assert!(page.contains(word), "no {word}");
    }
}

#[test]
fn a_mistyped_flag_or_subcommand_keeps_clap_hint_in_the_one_line() {
    for (args, hint) in [
        (
            &["--nme", "x"][..],
            "(tip: a similar argument exists: '--name')",
        ),
        (
            &["inspec", "x.tar"][..],
            "(tip: a similar subcommand exists: 'inspect')",
        ),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(2));
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.trim_end().ends_with(hint), "{stderr}");
    }
}

#[test]
fn a_bare_command_prints_a_short_usage_naming_the_subcommands() {
    let output = run(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("usage: oci-tar-builder"), "{stderr}");
    for word in ["build", "verify", "inspect", "completions", "man", "--help"] {
        assert!(stderr.contains(word), "no {word}: {stderr}");
    }
    assert!(stderr.lines().count() < 10, "{stderr}");
}

#[test]
fn build_and_output_are_the_top_level_flags_and_out_path_again() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.wasm"), test_support::tiny_module(1)).unwrap();
    let package = |args: &[&str]| {
        let output = Command::new(builder())
            .args(args)
            .current_dir(dir.path())
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
    };
    package(&["-n", "app", "-m", "app.wasm", "--out-path", "top.tar"]);
    package(&[
        "build",
        "-n",
        "app",
        "-m",
        "app.wasm",
        "--output",
        "build.tar",
    ]);
    let top = std::fs::read(dir.path().join("top.tar")).unwrap();
    assert!(!top.is_empty());
    assert!(top == std::fs::read(dir.path().join("build.tar")).unwrap());
    let help = stdout_of(&["build", "--help"]);
    assert!(help.contains("--env <KEY=VALUE>"), "{help}");
}

#[test]
fn verbose_says_what_was_decided_and_how_long_it_took() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.wasm"), test_support::tiny_module(1)).unwrap();
    let output = Command::new(builder())
        .args(["-v", "-n", "app", "-m", "app.wasm", "-o", "app.tar"])
        .current_dir(dir.path())
        .env("SOURCE_DATE_EPOCH", "1719330529")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    for line in [
        "image app:latest, a wasm-layer image\n",
        "created 2024-06-25T15:48:49Z (from SOURCE_DATE_EPOCH)\n",
        "app.wasm: core module, 51 bytes\n",
        "platform wasip1/wasm\n",
        "took ",
    ] {
        assert!(stderr.contains(line), "no {line:?}: {stderr}");
    }
    let quiet_too = run(&["-v", "-q", "-n", "app", "-m", "app.wasm", "-o", "x.tar"]);
    assert_eq!(quiet_too.status.code(), Some(2));
}
