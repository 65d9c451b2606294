//! Connecting to a registry for `-o docker://…` and `copy … docker://…`:
//! where the credentials come from (said by source, never shown), and the
//! connection.

use std::io::Read;

use oci_registry::{
    find_credentials, ClientOptions, Credentials, RegistryError, RegistryRef, RegistrySink,
};

use crate::cli::RegistryOpts;
use crate::failure::Failure;

/// Connects to `target`'s registry with credentials from `--username` and
/// `--password-stdin`, else from where users keep them (podman's
/// auth.json, docker's config.json and the credential helpers they name),
/// else none; `say` is told which source supplied them, and a refusal
/// names that source.
pub(crate) fn connect(
    target: &RegistryRef,
    opts: &RegistryOpts,
    say: &dyn Fn(String),
) -> Result<RegistrySink, Failure> {
    if opts.plain_http() == Some(true) && opts.ca_cert.is_some() {
        return Err(Failure::usage(
            "--dest-tls-verify=false talks plain HTTP, where --ca-cert has no use",
        ));
    }
    let (credentials, source) = match credentials(target, opts)? {
        Some((credentials, source)) => {
            let what = if credentials.is_identity_token() {
                "an identity token".to_owned()
            } else {
                format!("user {}", credentials.username())
            };
            say(format!(
                "credentials for {}: {what} from {source}",
                target.registry()
            ));
            (Some(credentials), Some(source))
        }
        None => {
            say(format!(
                "credentials for {}: none found, pushing anonymously",
                target.registry()
            ));
            (None, None)
        }
    };
    let options = ClientOptions {
        plain_http: opts.plain_http(),
        ca_file: opts.ca_cert.clone(),
        credentials,
        max_chunk_size: opts.max_chunk_size,
        ..ClientOptions::default()
    };
    let mut sink = RegistrySink::connect(target.clone(), options).map_err(|error| {
        match (&error, &source) {
            (RegistryError::Unauthorized { .. }, Some(source)) => {
                Failure::failed(format!("{error}; the credentials came from {source}"))
            }
            _ => Failure::failed(error),
        }
    })?;
    if !opts.mount_from.is_empty() {
        sink.mount_from(opts.mount_from.clone());
    }
    Ok(sink)
}

/// The credentials and a description of their source (never the secret).
fn credentials(
    target: &RegistryRef,
    opts: &RegistryOpts,
) -> Result<Option<(Credentials, String)>, Failure> {
    if let Some(username) = &opts.username {
        let mut password = String::new();
        std::io::stdin()
            .read_to_string(&mut password)
            .map_err(|e| Failure::failed(format!("--password-stdin: reading stdin: {e}")))?;
        let password = password.trim_end_matches(['\n', '\r']);
        if password.is_empty() {
            return Err(Failure::usage("--password-stdin: stdin held no password"));
        }
        return Ok(Some((
            Credentials::new(username, password),
            format!("--username {username} with --password-stdin"),
        )));
    }
    let found =
        find_credentials(target.registry(), target.repository()).map_err(Failure::failed)?;
    Ok(found.map(|found| (found.credentials, found.origin)))
}
