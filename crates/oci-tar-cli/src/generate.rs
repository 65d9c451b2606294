//! `completions SHELL` and `man`: shell completion scripts and the man page,
//! generated from the clap definition so they never drift from the flags.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::failure::Failure;

/// Print a shell completion script.
#[derive(Debug, Args)]
pub(crate) struct CompletionsOpts {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_name = "SHELL")]
    pub(crate) shell: Shell,
}

/// Prints the completion script for `opts.shell` on stdout.
pub(crate) fn completions(opts: CompletionsOpts) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(
        opts.shell,
        &mut Cli::command(),
        "oci-tar-builder",
        &mut script,
    );
    print(&script)
}

/// Prints the man page (roff, section 1) on stdout.
pub(crate) fn man() -> Result<(), Failure> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .map_err(|e| Failure::failed(format!("rendering the man page: {e}")))?;
    print(&page)
}

fn print(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|error| {
            if error.kind() == std::io::ErrorKind::BrokenPipe {
                Failure::BrokenPipe
            } else {
                Failure::failed(format!("stdout: {error}"))
            }
        })
}
