use oci_layout::{JsonError, LayoutError};

use crate::{ConfigField, NotWasm};

/// Everything that can go wrong while describing or writing a wasm image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// Writing the layout failed, or a blob could not be read.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// A wasm input could not be read.
    #[error("{origin}: {source}")]
    ReadWasm {
        /// The input.
        origin: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A wasm input is not a core module or component.
    #[error("{origin}: not a wasm module or component: {reason}")]
    NotWasm {
        /// The input.
        origin: String,
        /// What it is instead.
        reason: NotWasm,
    },
    /// A component whose WIT world could not be decoded.
    #[error("{origin}: cannot decode the component's WIT world: {message}")]
    ComponentWorld {
        /// The input.
        origin: String,
        /// What the decoder (wit-parser) said.
        message: String,
    },
    /// A target world for a CNCF artifact whose wasm is a core module.
    #[error("a target world ({target}) describes a component, but {origin} is a core module")]
    TargetNeedsComponent {
        /// The target world.
        target: String,
        /// The artifact's wasm input.
        origin: String,
    },
    /// A target world that is not a world name (`ns:pkg/world@version`).
    #[error("target {target:?} is not a world name like wasi:http/proxy@0.2.0 (namespace:package/world, optionally @version)")]
    InvalidTarget {
        /// The target given.
        target: String,
    },
    /// A target world for a wasm-layer image, whose config has no place for it.
    #[error("a target world ({target}) is written in a CNCF Wasm OCI Artifact's config; a wasm-layer image has no place for it")]
    TargetNeedsArtifact {
        /// The target world.
        target: String,
    },
    /// A platform OS or architecture that is not a lowercase name.
    #[error(
        "platform {field} {value:?} is not a name of lowercase letters, digits, '.', '_' and '-'"
    )]
    InvalidPlatform {
        /// `os` or `architecture`.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// A document could not be serialised.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// There is no wasm input to package.
    #[error("nothing to package: an image needs at least one wasm module or component")]
    NoWasm,
    /// A CNCF artifact was given several wasm inputs.
    #[error("a CNCF Wasm OCI Artifact holds exactly one wasm module or component (its entrypoint), but {count} were given; package several as a wasm-layer image")]
    ArtifactTakesOneWasm {
        /// How many were given.
        count: usize,
    },
    /// A compat image was given several wasm inputs.
    #[error("a compat image holds exactly one wasm module or component (its entrypoint), but {count} were given; package several as a wasm-layer image")]
    CompatTakesOneWasm {
        /// How many were given.
        count: usize,
    },
    /// Two images of one index claim the same platform.
    #[error("the {first} and the {second} would both be platform {platform} in one index, and a consumer asking for {platform} would get either; give one of them another platform")]
    SamePlatform {
        /// `os/architecture`.
        platform: String,
        /// The shape of the first image with it.
        first: crate::ImageShape,
        /// The shape of the second.
        second: crate::ImageShape,
    },
    /// An entry added to an index has the platform of another entry.
    #[error("the added image {digest} is platform {platform}, which {} has already; an index gives each platform one entry", match by { Some(shape) => format!("the {shape}"), None => "another added image".to_owned() })]
    PlatformTaken {
        /// `os/architecture`.
        platform: String,
        /// The added manifest's digest.
        digest: String,
        /// The shape of the image with that platform, or `None` for
        /// another added image.
        by: Option<crate::ImageShape>,
    },
    /// An entry added to an index has no platform.
    #[error("the added image {digest} has no platform; an index entry needs one")]
    ListedWithoutPlatform {
        /// The added manifest's digest.
        digest: String,
    },
    /// Images of one index under different references.
    #[error("the images of one index share one reference, but {first} and {other} were given")]
    IndexReferences {
        /// The first image's reference.
        first: String,
        /// Another image's reference.
        other: String,
    },
    /// The compat image's tar layer could not be made.
    #[error("cannot make the compat layer of {origin}: {source}")]
    CompatLayer {
        /// The wasm input.
        origin: String,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// A layer media type that is not `type/subtype`.
    #[error("media type {media_type:?} is not of the form type/subtype (letters, digits and !#$&^_.+- on each side)")]
    InvalidMediaType {
        /// The media type given.
        media_type: String,
    },
    /// A compressed tar layer in a wasm-layer image, whose diff ID would need
    /// decompressing.
    #[error("layer media type {media_type:?}: compressed tar layers are not supported in a wasm-layer image yet (their rootfs diff ID is the digest of the uncompressed tar); give the uncompressed tar as application/vnd.oci.image.layer.v1.tar")]
    CompressedTarLayer {
        /// The media type given.
        media_type: String,
    },
    /// An annotation the image name sets itself.
    #[error("annotation {key:?} is written from the image reference and cannot be set directly")]
    ReservedAnnotation {
        /// The key.
        key: String,
    },
    /// A layer title that is not a plain file name.
    #[error("layer title {title:?} is not a plain file name (it must not be empty, . or .., nor hold / or \\)")]
    InvalidLayerTitle {
        /// The title given.
        title: String,
    },
    /// An annotation with an empty key.
    #[error("an annotation key cannot be empty")]
    EmptyAnnotationKey,
    /// An image config field set on a CNCF artifact, whose config has no
    /// such field.
    #[error("a CNCF Wasm OCI Artifact's config has no {field} field; only an image config (wasm-layer or compat image) has one")]
    ConfigFieldNeedsImage {
        /// The field.
        field: ConfigField,
    },
    /// An environment variable whose name is empty or holds `=`.
    #[error("environment variable name {name:?} is empty or holds '='")]
    InvalidEnvName {
        /// The name given.
        name: String,
    },
    /// A label this crate writes itself.
    #[error("label {key:?} is written from the layers' digests and cannot be set directly")]
    ReservedLabel {
        /// The key.
        key: String,
    },
    /// A label with an empty key.
    #[error("a label key cannot be empty")]
    EmptyLabelKey,
    /// An empty entrypoint.
    #[error("the entrypoint cannot be empty")]
    EmptyEntrypoint,
    /// A working directory that is not an absolute path.
    #[error("working directory {path:?} is not an absolute path (starting with '/')")]
    RelativeWorkdir {
        /// The path given.
        path: String,
    },
}
