//! How errors reach the user: one line on stderr, and an exit code of 2 for
//! usage errors and 1 for failures.

use std::io::Write;
use std::process::ExitCode;

use wasm_artifact::{ArtifactError, ConfigField};

/// Exit code for a command line that cannot work as written.
const EXIT_USAGE: u8 = 2;
/// Exit code for a failure while packaging.
const EXIT_FAILURE: u8 = 1;
/// Exit code when the reader of a tar on stdout stops reading early: 128 +
/// SIGPIPE, what `cat` reports (under `set -o pipefail`) in its place.
const EXIT_SIGPIPE: u8 = 141;

/// Why the command stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The flags cannot work together or name something invalid.
    Usage(String),
    /// Packaging failed.
    Failed(String),
    /// An image tar has problems: one line each, then exit code 1.
    Problems(Vec<String>),
    /// The reader of stdout went away while it read a listing; not worth
    /// a message, and not a failure (as with `rg … | head`).
    BrokenPipe,
    /// The reader of stdout went away before the image tar was complete:
    /// no message, and the exit code `cat` has when killed by SIGPIPE.
    TarCutShort,
}

impl Failure {
    /// A failure whose message is `error`'s text.
    pub(crate) fn failed(error: impl std::fmt::Display) -> Self {
        Failure::Failed(error.to_string())
    }

    /// A usage error whose message is `error`'s text.
    pub(crate) fn usage(error: impl std::fmt::Display) -> Self {
        Failure::Usage(error.to_string())
    }

    /// A usage error from building the image: the library's message, with
    /// the flags that set what it is about (the library names no flags).
    pub(crate) fn image_usage(error: ArtifactError) -> Self {
        Failure::Usage(with_flags(&error))
    }

    /// A failure listing each of `problems` in `file`.
    pub(crate) fn problems(file: &str, problems: &[impl std::fmt::Display]) -> Self {
        Failure::Problems(
            problems
                .iter()
                .map(|problem| format!("{file}: {problem}"))
                .collect(),
        )
    }

    /// Prints the message and gives the exit code.
    pub(crate) fn report(self) -> ExitCode {
        let (message, code) = match self {
            Failure::Usage(message) => (message, EXIT_USAGE),
            Failure::Failed(message) => (message, EXIT_FAILURE),
            Failure::Problems(lines) => {
                for line in &lines {
                    print_error_line(line);
                }
                return ExitCode::from(EXIT_FAILURE);
            }
            Failure::BrokenPipe => return ExitCode::SUCCESS,
            Failure::TarCutShort => return ExitCode::from(EXIT_SIGPIPE),
        };
        print_error_line(&message);
        ExitCode::from(code)
    }
}

/// `error`'s message and, for an error about how flags combine, the flags
/// that fix it, in parentheses.
fn with_flags(error: &ArtifactError) -> String {
    let flags = match error {
        ArtifactError::ArtifactTakesOneWasm { .. } => "without --as-artifact",
        ArtifactError::CompatTakesOneWasm { .. } => "without --shape compat",
        ArtifactError::SamePlatform { .. } => "leave one --shape out",
        ArtifactError::TargetNeedsArtifact { .. } => "--target needs --as-artifact",
        ArtifactError::ReservedAnnotation { .. } => "it comes from --repo, --name and --tag",
        ArtifactError::NoWasm => "give a wasm file with --module or a folder with --components",
        ArtifactError::ConfigFieldNeedsImage { field } => {
            return format!(
                "{error} ({} needs a wasm-layer or compat image: without --as-artifact)",
                config_flag(*field)
            );
        }
        ArtifactError::InvalidEnvName { .. } => "--env",
        ArtifactError::ReservedLabel { .. } | ArtifactError::EmptyLabelKey => "--label",
        ArtifactError::EmptyEntrypoint => "--entrypoint",
        ArtifactError::RelativeWorkdir { .. } => "--workdir",
        ArtifactError::InvalidLayerTitle { .. } => "--layer-annotation",
        _ => return error.to_string(),
    };
    format!("{error} ({flags})")
}

/// The flag that sets an image config field.
fn config_flag(field: ConfigField) -> &'static str {
    match field {
        ConfigField::Env => "--env",
        ConfigField::Cmd => "--arg",
        ConfigField::Entrypoint => "--entrypoint",
        ConfigField::Labels => "--label",
        ConfigField::WorkingDir => "--workdir",
    }
}

/// Reports a clap error: help and version go to stdout with success; every
/// other error becomes one line with exit code 2.
pub(crate) fn report_clap(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::SUCCESS;
    }
    let rendered = error.render().to_string();
    // clap's message runs until the first blank line (then come usage and tips).
    let message: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    // clap's "did you mean" hints come later, as `tip:` lines; keep them.
    let tips: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("tip: "))
        .collect();
    if tips.is_empty() {
        print_error_line(message);
    } else {
        print_error_line(&format!("{message} ({})", tips.join("; ")));
    }
    ExitCode::from(EXIT_USAGE)
}

/// What a bare `oci-tar-builder` prints: the main job and the subcommands.
pub(crate) const SHORT_USAGE: &str = "\
usage: oci-tar-builder [build] --name NAME --module PATH... -o FILE|-|oci:DIR[:TAG] [options]
       oci-tar-builder verify PATH
       oci-tar-builder inspect [--json] PATH
       oci-tar-builder completions SHELL
       oci-tar-builder man
see oci-tar-builder --help for every option
";

/// Prints the short usage on stderr; a command line without arguments is
/// a usage error (exit code 2), as with other tools.
pub(crate) fn report_bare() -> ExitCode {
    let _ = std::io::stderr().write_all(SHORT_USAGE.as_bytes());
    ExitCode::from(EXIT_USAGE)
}

fn print_error_line(message: &str) {
    let one_line = message.replace('\n', " ");
    let shown = crate::terminal::clean(&one_line);
    let _ = writeln!(std::io::stderr(), "oci-tar-builder: error: {shown}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_about_flag_combinations_name_the_flags() {
        for (error, flags) in [
            (
                ArtifactError::ArtifactTakesOneWasm { count: 2 },
                "but 2 were given; package several as a wasm-layer image (without --as-artifact)",
            ),
            (
                ArtifactError::TargetNeedsArtifact {
                    target: "wasi:http/proxy@0.2.0".into(),
                },
                "(--target needs --as-artifact)",
            ),
            (
                ArtifactError::ReservedAnnotation {
                    key: "io.containerd.image.name".into(),
                },
                "cannot be set directly (it comes from --repo, --name and --tag)",
            ),
            (
                ArtifactError::CompatTakesOneWasm { count: 2 },
                "(without --shape compat)",
            ),
            (
                ArtifactError::SamePlatform {
                    platform: "wasip1/wasm".into(),
                    first: wasm_artifact::ImageShape::WasmLayers,
                    second: wasm_artifact::ImageShape::Compat,
                },
                "(leave one --shape out)",
            ),
            (
                ArtifactError::InvalidLayerTitle {
                    title: "../x".into(),
                },
                "(--layer-annotation)",
            ),
            (ArtifactError::NoWasm, "--module"),
            (
                ArtifactError::ConfigFieldNeedsImage {
                    field: ConfigField::Cmd,
                },
                "(--arg needs a wasm-layer or compat image: without --as-artifact)",
            ),
            (
                ArtifactError::ReservedLabel {
                    key: "containerd.runwasi.layers".into(),
                },
                "(--label)",
            ),
            (
                ArtifactError::InvalidEnvName { name: "A=".into() },
                "(--env)",
            ),
            (ArtifactError::EmptyEntrypoint, "(--entrypoint)"),
            (
                ArtifactError::RelativeWorkdir { path: "app".into() },
                "(--workdir)",
            ),
        ] {
            let library = error.to_string();
            assert!(!library.contains("--"), "{library}");
            match Failure::image_usage(error) {
                Failure::Usage(message) => {
                    assert!(message.starts_with(&library), "{message}");
                    assert!(message.ends_with(')'), "{message}");
                    assert!(message.contains(flags), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn other_errors_keep_the_library_message() {
        let error = ArtifactError::InvalidTarget {
            target: "proxy".into(),
        };
        let library = error.to_string();
        match Failure::image_usage(error) {
            Failure::Usage(message) => assert_eq!(message, library),
            other => panic!("{other:?}"),
        }
    }
}
