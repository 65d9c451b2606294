//! `oci-tar-builder`: packages wasm modules and components as OCI image tars.
//!
//! Reading order: [`cli`] defines the flags; [`package`] turns them into an
//! image and writes it through the library crates; [`output`] owns the file
//! (or stdout) the tar goes to; [`progress`] draws a bar on a terminal for
//! large inputs; [`verify`] and [`inspect`] read any image tar or layout directory back (through
//! [`input`]); [`copy`] copies one to a registry (through [`push`]); [`failure`] is how errors reach the user.
// The `///` comments of clap's structs are the command's help text, whose
// `[:TAG]` and `[[image]]` are not links, and `<name>` is no HTML tag.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod build_file;
mod cli;
mod copy;
mod failure;
mod generate;
mod input;
mod inspect;
mod output;
mod package;
mod progress;
mod push;
mod summary;
mod terminal;
mod verify;

use std::process::ExitCode;

use clap::Parser;

use crate::failure::Failure;

// The release binary is linked with musl (scripts/build-release-binary.sh:
// glibc's start-up costs a small job a quarter of its time). musl's own
// allocator maps and unmaps memory for every few buffers, thousands of
// system calls for a folder of modules; dlmalloc (the allocator glibc's
// descends from, in Rust) keeps and reuses it as glibc's does.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> ExitCode {
    if std::env::args_os().len() <= 1 {
        return failure::report_bare();
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return failure::report_clap(&error),
    };
    let result = match (cli.command, cli.package) {
        (Some(cli::Command::Verify(opts)), _) => verify::run(opts),
        (Some(cli::Command::Inspect(opts)), _) => inspect::run(opts),
        (Some(cli::Command::Copy(opts)), _) => copy::run(*opts),
        (Some(cli::Command::Completions(opts)), _) => generate::completions(opts),
        (Some(cli::Command::Man), _) => generate::man(),
        (Some(cli::Command::Build(opts)), _) => {
            let cli::BuildOpts { package, registry } = *opts;
            package::run(package, &registry)
        }
        (None, Some(opts)) => package::run(opts, &cli.registry),
        (None, None) => Err(Failure::usage(
            "nothing to do: give --name and -o to package an image, or a subcommand (verify, inspect); see --help",
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
