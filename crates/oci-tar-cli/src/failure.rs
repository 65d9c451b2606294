//! How errors reach the user: one line on stderr, and an exit code of 2 for
//! usage errors and 1 for failures.

use std::io::Write;
use std::process::ExitCode;

/// Exit code for a command line that cannot work as written.
const EXIT_USAGE: u8 = 2;
/// Exit code for a failure while packaging.
const EXIT_FAILURE: u8 = 1;

/// Why the command stopped.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The flags cannot work together or name something invalid.
    Usage(String),
    /// Packaging failed.
    Failed(String),
    /// An image tar has problems: one line each, then exit code 1.
    Problems(Vec<String>),
    /// The reader of stdout went away; not worth a message.
    BrokenPipe,
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
        };
        print_error_line(&message);
        ExitCode::from(code)
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
    print_error_line(message.strip_prefix("error: ").unwrap_or(&message));
    ExitCode::from(EXIT_USAGE)
}

fn print_error_line(message: &str) {
    let one_line = message.replace('\n', " ");
    let shown = crate::terminal::clean(&one_line);
    let _ = writeln!(std::io::stderr(), "oci-tar-builder: error: {shown}");
}
