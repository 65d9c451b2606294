//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use oci_registry::RegistryRef;
use wasm_artifact::{ImageShape, LayerCompression, Timestamp};

use crate::{copy, generate, inspect, verify};

/// Package WebAssembly modules and components as OCI image tars.
///
/// The tar holds an OCI image layout (oci-layout, index.json, blobs) and
/// Docker's manifest.json, ready for `ctr images import --all-platforms`,
/// skopeo, regctl or a registry. The same inputs give the same bytes.
///
/// `verify` and `inspect` check and describe any OCI image tar or layout
/// directory.
#[derive(Debug, Parser)]
#[command(
    name = "oci-tar-builder",
    version,
    max_term_width = 100,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,

    #[command(flatten)]
    pub(crate) package: Option<PackageOpts>,

    /// The registry flags sit beside [`PackageOpts`], not inside it: clap
    /// leaves the group of a struct with a nested flatten empty, so an
    /// `Option<PackageOpts>` holding them would always be `None`.
    #[command(flatten)]
    pub(crate) registry: RegistryOpts,
}

/// The subcommands; without one, the flags package an image.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Package an image: the same as the flags without a subcommand (which keep working, as in
    /// runwasi's oci-tar-builder).
    Build(Box<BuildOpts>),
    /// Check an OCI image tar or layout directory (ours or any tool's): exit 0 when every blob,
    /// document and reference is sound, 1 naming each problem otherwise.
    Verify(verify::Opts),
    /// Describe the images in an OCI image tar or layout directory: names, media types, digests,
    /// sizes, platforms, annotations and config.
    Inspect(inspect::Opts),
    /// Copy an image from an OCI image tar (oci-archive:FILE or a path) or layout directory
    /// (oci:DIR[:TAG]) to a registry (docker://REGISTRY/REPO:TAG), checking the source as
    /// `verify` does first and every blob's digest as it streams.
    Copy(Box<copy::Opts>),
    /// Print a shell completion script on stdout, e.g.
    /// `oci-tar-builder completions bash > /etc/bash_completion.d/oci-tar-builder`.
    Completions(generate::CompletionsOpts),
    /// Print the man page (roff) on stdout: `oci-tar-builder man > oci-tar-builder.1`.
    Man,
}

/// What to package and where.
#[derive(Debug, Clone, Args)]
pub(crate) struct PackageOpts {
    /// Image name, the last part of the reference {repo}/{name}:{tag}.
    #[arg(short, long, required_unless_present = "build_file")]
    pub(crate) name: Option<String>,

    /// A build file (TOML) of several images to write into one tar or layout directory: one
    /// [[image]] table each, with the flags' fields (name, repo, tag, shapes, modules, layers,
    /// annotations, author, platform, created); paths are relative to the file.
    #[arg(short = 'f', long = "file", value_name = "FILE", conflicts_with_all = [
        "name", "repo", "tags", "modules", "components", "layers", "as_artifact", "shapes",
        "annotations", "author", "target", "platform", "created", "json", "env", "args",
        "entrypoint", "labels", "workdir", "add_images",
    ])]
    pub(crate) build_file: Option<PathBuf>,

    /// Registry and repository path before the name (ghcr.io/org/project, localhost:5000/demo).
    #[arg(short, long)]
    pub(crate) repo: Option<String>,

    /// Image tag [default: the TAG of -o oci:DIR:TAG, else latest]. With
    /// -o docker://REGISTRY/REPO:TAG, repeat it to push the manifest under
    /// each tag too.
    #[arg(short, long = "tag", value_name = "TAG")]
    pub(crate) tags: Vec<String>,

    /// A wasm module or component; repeat for several, one layer each, in order.
    #[arg(short, long = "module", value_name = "PATH")]
    pub(crate) modules: Vec<PathBuf>,

    /// Every *.wasm file in DIR, in file-name order, after the --module files.
    #[arg(short, long, value_name = "DIR")]
    pub(crate) components: Option<PathBuf>,

    /// An extra layer after the wasm layers, e.g.
    /// application/vnd.oci.image.layer.v1.tar=./rootfs.tar; repeatable.
    #[arg(short, long = "layer", value_name = "MEDIATYPE=PATH", value_parser = parse_layer)]
    pub(crate) layers: Vec<LayerArg>,

    /// Write the CNCF Wasm OCI Artifact (application/vnd.wasm.config.v0+json)
    /// instead of the wasm-layer image runwasi runs (the same as --shape artifact).
    #[arg(short = 'a', long)]
    pub(crate) as_artifact: bool,

    /// The image shape: wasm-layers (raw wasm layers, wasip1/wasm: runwasi's shims), compat
    /// (the wasm file in a tar layer, wasi/wasm: crun, WasmEdge, youki, podman, Docker+Wasm,
    /// containerd 1.6) or artifact (the CNCF Wasm OCI Artifact: wkg, registries' wasm tooling)
    /// [default: wasm-layers]. Repeat it for several shapes under one tag: one image index
    /// whose entries have different platforms.
    #[arg(long = "shape", value_name = "SHAPE", value_enum)]
    pub(crate) shapes: Vec<ShapeArg>,

    /// An existing image to list as one more platform of the index, e.g. a linux/amd64 build
    /// of the same program: oci-archive:FILE (or a path) or oci:DIR[:TAG] (TAG picks the
    /// image, else the only one is taken); repeatable. Its platform (from its index entry,
    /// else its config) must differ from every other entry's.
    #[arg(long = "add-image", value_name = "SOURCE")]
    pub(crate) add_images: Vec<String>,

    /// How the compat image's tar layer is compressed (deterministic: gzip level 6, zstd
    /// level 3).
    #[arg(long, value_name = "ALGORITHM", value_enum, default_value_t = CompressionArg::Gzip)]
    pub(crate) compression: CompressionArg,

    /// Where the image goes: a tar FILE (parent folders are created; also
    /// oci-archive:FILE), - for a tar on stdout, oci:DIR[:TAG] for an OCI
    /// image layout directory (created or added to; TAG is the image's tag),
    /// or docker://REGISTRY/REPO:TAG to push it to a registry (with -f,
    /// docker:// alone pushes each image to its own reference).
    #[arg(short, long = "out-path", visible_alias = "output", value_name = "FILE|-|oci:DIR[:TAG]|docker://REF", value_parser = parse_output)]
    pub(crate) out_path: OutputArg,

    /// A manifest annotation; repeatable. Overrides the org.opencontainers.image.*
    /// annotations read from the entrypoint wasm's metadata (name, version,
    /// description, licenses, source, homepage, revision, authors).
    #[arg(long = "annotation", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub(crate) annotations: Vec<(String, String)>,

    /// An annotation on the entrypoint wasm layer's descriptor; repeatable.
    /// org.opencontainers.image.title=FILE replaces the file name pullers save
    /// it under (<name>.wasm).
    #[arg(long = "layer-annotation", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub(crate) layer_annotations: Vec<(String, String)>,

    /// An environment variable in the config's Env; repeatable (not the artifact).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub(crate) env: Vec<(String, String)>,

    /// An argument in the config's Cmd, after the entrypoint; repeatable, in order
    /// (not the artifact).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    pub(crate) args: Vec<String>,

    /// The config's Entrypoint, instead of <name>.wasm (/<name>.wasm in a compat image; not
    /// the artifact).
    #[arg(long, value_name = "PATH")]
    pub(crate) entrypoint: Option<String>,

    /// A config label; repeatable. containerd.runwasi.layers is written from the
    /// layers and cannot be set (not the artifact).
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub(crate) labels: Vec<(String, String)>,

    /// The config's WorkingDir, an absolute path (not the artifact).
    #[arg(long, value_name = "PATH")]
    pub(crate) workdir: Option<String>,

    /// The config's author.
    #[arg(long, value_name = "AUTHOR")]
    pub(crate) author: Option<String>,

    /// The world the component targets, written in the CNCF artifact's config
    /// (with --as-artifact, for a component), e.g. wasi:http/proxy@0.2.0.
    #[arg(long, value_name = "WORLD")]
    pub(crate) target: Option<String>,

    /// The platform on the config and in index.json, instead of wasip1/wasm (wasm-layer
    /// image) or wasip1/wasm for a module and wasip2/wasm for a component (artifact).
    #[arg(long, value_name = "OS/ARCH", value_parser = parse_platform)]
    pub(crate) platform: Option<PlatformArg>,

    /// The image's created time, RFC 3339 [default: $SOURCE_DATE_EPOCH, else 1970-01-01T00:00:00Z].
    #[arg(long, value_name = "RFC3339", value_parser = Timestamp::parse_rfc3339)]
    pub(crate) created: Option<Timestamp>,

    /// Print nothing on stderr but errors.
    #[arg(short, long)]
    pub(crate) quiet: bool,

    /// Also say on stderr what was decided (reference, shape, created time and where it came
    /// from, platform) and how long it took; never secrets.
    #[arg(short, long, conflicts_with = "quiet")]
    pub(crate) verbose: bool,

    /// Print one JSON object describing what was written (schema in the README) on stdout,
    /// or on stderr when -o - puts the tar on stdout; no other lines but errors.
    #[arg(long)]
    pub(crate) json: bool,

    /// Read and hash every input and print every digest, but write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

/// `build`: what to package and where, and how to reach a registry.
#[derive(Debug, Args)]
pub(crate) struct BuildOpts {
    #[command(flatten)]
    pub(crate) package: PackageOpts,

    #[command(flatten)]
    pub(crate) registry: RegistryOpts,
}

/// How to reach a registry: the registry flags, shared by the main job
/// (`-o docker://…`) and `copy`.
#[derive(Debug, Clone, Args)]
pub(crate) struct RegistryOpts {
    /// The registry user name; the password is read from stdin (--password-stdin).
    /// Without it, credentials come from podman's auth.json ($REGISTRY_AUTH_FILE, else
    /// $XDG_RUNTIME_DIR/containers/auth.json; then ~/.config/containers/auth.json), then
    /// docker's config.json ($DOCKER_CONFIG or ~/.docker: auths, credHelpers, credsStore),
    /// else the push is anonymous.
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    pub(crate) username: Option<String>,

    /// Read the registry password (or token) for --username from stdin.
    #[arg(long, requires = "username")]
    pub(crate) password_stdin: bool,

    /// Talk plain HTTP to the registry (used without asking only for
    /// loopback hosts); credentials still never go to another host in clear.
    #[arg(long, conflicts_with = "ca_cert")]
    pub(crate) plain_http: bool,

    /// A PEM file of CA certificates to trust beside the system's (a
    /// registry with a private CA; implies HTTPS, also for loopback hosts).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_cert: Option<PathBuf>,

    /// skopeo's spelling: --dest-tls-verify=false is --plain-http; =true
    /// insists on HTTPS, also for loopback hosts.
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        conflicts_with = "plain_http"
    )]
    pub(crate) dest_tls_verify: Option<bool>,

    /// Before uploading a blob the registry lacks, ask it to mount the blob
    /// from this repository of the same registry (repeatable; tried in order).
    #[arg(long, value_name = "REPO")]
    pub(crate) mount_from: Vec<String>,

    /// Upload each blob in chunks of at most SIZE bytes (PATCH requests;
    /// suffixes K, M, G are KiB, MiB, GiB) instead of one request; without
    /// it, 4M chunks are used only when the registry refuses a whole blob as
    /// too large (HTTP 413).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) max_chunk_size: Option<u64>,
}

/// A size in bytes: digits, optionally followed by K, M or G (binary).
fn parse_size(value: &str) -> Result<u64, String> {
    let (digits, unit) = match value.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => value.split_at(at),
        None => (value, ""),
    };
    let shift = match unit {
        "" => 0,
        "K" | "k" | "KiB" => 10,
        "M" | "m" | "MiB" => 20,
        "G" | "g" | "GiB" => 30,
        _ => return Err(format!("{value:?}: expected bytes, as 4194304 or 4M")),
    };
    digits
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(1 << shift))
        .ok_or_else(|| format!("{value:?}: expected a positive size, as 4194304 or 4M"))
}

impl RegistryOpts {
    /// Plain HTTP (`Some(true)`: --plain-http or --dest-tls-verify=false),
    /// HTTPS (`Some(false)`: --dest-tls-verify), or by host (`None`).
    pub(crate) fn plain_http(&self) -> Option<bool> {
        if self.plain_http {
            Some(true)
        } else {
            self.dest_tls_verify.map(|verify| !verify)
        }
    }
}

/// One `--shape` (also a build file's `shapes` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ShapeArg {
    /// Raw wasm layers, for runwasi's shims (wasip1/wasm).
    WasmLayers,
    /// The wasm file in an ordinary tar layer (wasi/wasm).
    Compat,
    /// The CNCF Wasm OCI Artifact.
    Artifact,
}

impl From<ShapeArg> for ImageShape {
    fn from(shape: ShapeArg) -> Self {
        match shape {
            ShapeArg::WasmLayers => ImageShape::WasmLayers,
            ShapeArg::Compat => ImageShape::Compat,
            ShapeArg::Artifact => ImageShape::Artifact,
        }
    }
}

/// `--compression`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum CompressionArg {
    /// An uncompressed tar.
    None,
    /// gzip, what every registry and runtime reads.
    Gzip,
    /// zstd.
    Zstd,
}

impl From<CompressionArg> for LayerCompression {
    fn from(compression: CompressionArg) -> Self {
        match compression {
            CompressionArg::None => LayerCompression::None,
            CompressionArg::Gzip => LayerCompression::Gzip,
            CompressionArg::Zstd => LayerCompression::Zstd,
        }
    }
}

/// One `--layer MEDIATYPE=PATH`.
#[derive(Debug, Clone)]
pub(crate) struct LayerArg {
    pub(crate) media_type: String,
    pub(crate) path: PathBuf,
}

pub(crate) fn parse_layer(value: &str) -> Result<LayerArg, String> {
    let Some((media_type, path)) = value.split_once('=') else {
        return Err("expected MEDIATYPE=PATH".into());
    };
    if !wasm_artifact::media_types::is_valid(media_type) {
        return Err(format!(
            "media type {media_type:?} is not of the form type/subtype"
        ));
    }
    if path.is_empty() {
        return Err("the path after '=' is empty".into());
    }
    Ok(LayerArg {
        media_type: media_type.to_owned(),
        path: PathBuf::from(path),
    })
}

/// Where `-o` sends the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OutputArg {
    /// A tar on stdout (`-`).
    Stdout,
    /// A tar file (a path, or `oci-archive:FILE`).
    TarFile(PathBuf),
    /// An OCI image layout directory (`oci:DIR[:TAG]`), as skopeo names it.
    OciDir { dir: PathBuf, tag: Option<String> },
    /// A repository in a registry (`docker://REGISTRY/REPO:TAG`).
    Registry(RegistryRef),
    /// `docker://` alone, with a build file: each image is pushed to its
    /// own reference (its `repo` holds the registry).
    EachReference,
}

/// Transport names skopeo and podman use that this tool does not write yet.
const UNSUPPORTED_TRANSPORTS: &[&str] = &[
    "docker-archive:",
    "docker-daemon:",
    "containers-storage:",
    "dir:",
];

pub(crate) fn parse_output(value: &str) -> Result<OutputArg, String> {
    if value == "-" {
        return Ok(OutputArg::Stdout);
    }
    if let Some(rest) = value.strip_prefix("oci:") {
        // As skopeo does: the directory ends at the first ':'.
        let (dir, tag) = match rest.split_once(':') {
            Some((dir, tag)) => (dir, Some(tag.to_owned())),
            None => (rest, None),
        };
        if dir.is_empty() {
            return Err("oci: needs a directory, as in oci:DIR or oci:DIR:TAG".into());
        }
        if tag.as_deref() == Some("") {
            return Err(format!("oci:{dir}: the tag after ':' is empty"));
        }
        return Ok(OutputArg::OciDir {
            dir: PathBuf::from(dir),
            tag,
        });
    }
    if value == "docker://" {
        return Ok(OutputArg::EachReference);
    }
    if let Some(reference) = value.strip_prefix("docker://") {
        return reference.parse().map(OutputArg::Registry).map_err(|e| {
            format!("docker://{reference}: expected docker://REGISTRY/REPO:TAG: {e}")
        });
    }
    if let Some(file) = value.strip_prefix("oci-archive:") {
        if file.is_empty() {
            return Err("oci-archive: needs a file name".into());
        }
        return Ok(OutputArg::TarFile(PathBuf::from(file)));
    }
    if let Some(transport) = UNSUPPORTED_TRANSPORTS
        .iter()
        .find(|t| value.starts_with(**t))
    {
        return Err(format!(
            "{transport} is not a destination this tool writes (a tar FILE, -, oci-archive:FILE, oci:DIR[:TAG] or docker://REF); write ./{value} for a file of that name"
        ));
    }
    if value.is_empty() {
        return Err("the output path is empty".into());
    }
    Ok(OutputArg::TarFile(PathBuf::from(value)))
}

/// One `--platform OS/ARCH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlatformArg {
    pub(crate) os: String,
    pub(crate) architecture: String,
}

pub(crate) fn parse_platform(value: &str) -> Result<PlatformArg, String> {
    match value.split_once('/') {
        Some((os, architecture))
            if !os.is_empty() && !architecture.is_empty() && !architecture.contains('/') =>
        {
            Ok(PlatformArg {
                os: os.to_owned(),
                architecture: architecture.to_owned(),
            })
        }
        _ => Err("expected OS/ARCH, e.g. wasip2/wasm".into()),
    }
}

fn parse_key_value(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some(("", _)) => Err("the key before '=' is empty".into()),
        Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
        None => Err("expected KEY=VALUE".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_are_bytes_or_binary_multiples() {
        assert_eq!(parse_size("4194304"), Ok(4 * 1024 * 1024));
        assert_eq!(parse_size("4M"), Ok(4 * 1024 * 1024));
        assert_eq!(parse_size("512K"), Ok(512 * 1024));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        for bad in ["", "0", "4MB", "-1", "M", "99999999999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn output_names_a_file_stdout_or_a_layout_directory() {
        let file = |path: &str| OutputArg::TarFile(PathBuf::from(path));
        let dir = |path: &str, tag: Option<&str>| OutputArg::OciDir {
            dir: PathBuf::from(path),
            tag: tag.map(str::to_owned),
        };
        assert_eq!(parse_output("-").unwrap(), OutputArg::Stdout);
        assert_eq!(parse_output("out/img.tar").unwrap(), file("out/img.tar"));
        assert_eq!(
            parse_output("oci-archive:img.tar").unwrap(),
            file("img.tar")
        );
        assert_eq!(parse_output("./oci:x").unwrap(), file("./oci:x"));
        assert_eq!(parse_output("oci:layout").unwrap(), dir("layout", None));
        assert_eq!(
            parse_output("oci:/tmp/l:v1").unwrap(),
            dir("/tmp/l", Some("v1"))
        );
        assert_eq!(
            parse_output("docker://127.0.0.1:5000/wasm/app:v1").unwrap(),
            OutputArg::Registry("127.0.0.1:5000/wasm/app:v1".parse().unwrap())
        );
        assert_eq!(parse_output("docker://").unwrap(), OutputArg::EachReference);
        for bad in [
            "",
            "oci:",
            "oci::v1",
            "oci:dir:",
            "oci-archive:",
            "docker://127.0.0.1:5000/app",
            "docker://127.0.0.1:5000/app@sha256:0000",
            "docker-archive:x.tar",
        ] {
            assert!(parse_output(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn layer_splits_on_the_first_equals_sign() {
        let layer = parse_layer("application/vnd.oci.image.layer.v1.tar=./a=b.tar").unwrap();
        assert_eq!(layer.media_type, "application/vnd.oci.image.layer.v1.tar");
        assert_eq!(layer.path, PathBuf::from("./a=b.tar"));
        assert!(parse_layer("no-equals-sign").is_err());
        assert!(parse_layer("notamediatype=./x").is_err());
        assert!(parse_layer("text/plain=").is_err());
    }

    #[test]
    fn platform_is_os_slash_arch() {
        assert_eq!(
            parse_platform("wasi/wasm").unwrap(),
            PlatformArg {
                os: "wasi".into(),
                architecture: "wasm".into()
            }
        );
        for bad in ["wasip2", "/wasm", "wasip2/", "a/b/c", ""] {
            assert!(parse_platform(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn key_value_splits_on_the_first_equals_sign() {
        assert_eq!(
            parse_key_value("a=b=c").unwrap(),
            ("a".to_owned(), "b=c".to_owned())
        );
        assert_eq!(
            parse_key_value("a=").unwrap(),
            ("a".to_owned(), String::new())
        );
        assert!(parse_key_value("=b").is_err());
        assert!(parse_key_value("ab").is_err());
    }
}
