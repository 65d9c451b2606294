//! `oci-tar-builder`: packages wasm modules and components as OCI image tars.
//!
//! Reading order: [`cli`] defines the flags; [`package`] turns them into an
//! image and writes it through the library crates; [`output`] owns the file
//! (or stdout) the tar goes to; [`progress`] draws a bar on a terminal for
//! large inputs; [`failure`] is how errors reach the user.

mod cli;
mod failure;
mod output;
mod package;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::failure::Failure;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return failure::report_clap(&error),
    };
    match package::run(cli.package) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
