//! Connecting to a registry for `-o docker://…`: where the credentials
//! come from (said on stderr by source, never shown), and the connection.

use std::io::Read;

use oci_registry::{
    docker_config_path, from_docker_config, ClientOptions, Credentials, RegistryRef, RegistrySink,
};

use crate::cli::RegistryOpts;
use crate::failure::Failure;

/// Connects to `target`'s registry with credentials from `--username` and
/// `--password-stdin`, else the docker config file, else none; `say` is
/// told which source supplied them.
pub(crate) fn connect(
    target: &RegistryRef,
    opts: &RegistryOpts,
    say: &dyn Fn(String),
) -> Result<RegistrySink, Failure> {
    let credentials = credentials(target, opts, say)?;
    let options = ClientOptions {
        plain_http: opts.plain_http.then_some(true),
        ca_file: opts.ca_cert.clone(),
        credentials,
        ..ClientOptions::default()
    };
    RegistrySink::connect(target.clone(), options).map_err(Failure::failed)
}

fn credentials(
    target: &RegistryRef,
    opts: &RegistryOpts,
    say: &dyn Fn(String),
) -> Result<Option<Credentials>, Failure> {
    let registry = target.registry();
    if let Some(username) = &opts.username {
        let mut password = String::new();
        std::io::stdin()
            .read_to_string(&mut password)
            .map_err(|e| Failure::failed(format!("--password-stdin: reading stdin: {e}")))?;
        let password = password.trim_end_matches(['\n', '\r']);
        if password.is_empty() {
            return Err(Failure::usage("--password-stdin: stdin held no password"));
        }
        say(format!(
            "credentials for {registry}: --username {username} with --password-stdin"
        ));
        return Ok(Some(Credentials::new(username, password)));
    }
    let Some(path) = docker_config_path() else {
        return Ok(None);
    };
    match from_docker_config(&path, registry).map_err(Failure::failed)? {
        Some(found) => {
            say(format!(
                "credentials for {registry}: user {} from {}",
                found.credentials.username(),
                found.origin
            ));
            Ok(Some(found.credentials))
        }
        None => Ok(None),
    }
}
