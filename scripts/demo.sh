#!/usr/bin/env bash
# Builds the demo WASI app (demo/wasi-demo-app) as a core module and packages
# it with the seed commands: as the wasm-layer image runwasi runs and as a CNCF
# Wasm OCI Artifact, each a tar, and the image once more into an OCI image
# layout directory (what `skopeo copy oci:DIR:TAG …` reads). Prints where they are.
set -euo pipefail
cd "$(dirname "$0")/.."

# jq reads where cargo put what it built (Debian's package on a new machine).
if ! command -v jq >/dev/null 2>&1; then
  echo "installing the Debian package jq" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y jq
fi

# Where cargo put a package's binary: its own build messages say, so
# CARGO_TARGET_DIR, CARGO_BUILD_TARGET or a .cargo/config.toml cannot fool us.
built() {
  local name=$1
  shift
  cargo build --quiet --release --message-format=json-render-diagnostics "$@" |
    jq -r --arg name "$name" 'select(.reason == "compiler-artifact" and .target.name == $name and .executable != null) | .executable' |
    tail -n 1
}

rustup target add wasm32-wasip1 >/dev/null 2>&1 || rustup target add wasm32-wasip1
module=$(built wasi-demo-app --target wasm32-wasip1 --manifest-path demo/wasi-demo-app/Cargo.toml)
builder=$(built oci-tar-builder -p oci-tar-cli)
for file in "$module" "$builder"; do
  [ -f "$file" ] || { echo "demo.sh: cargo did not report a built file ($file)" >&2; exit 1; }
done
"$builder" --name wasi-demo-oci --repo ghcr.io/containerd/runwasi --tag latest \
  --module "$module" -o ./dist/img-oci.tar
"$builder" --name wasi-demo-oci --repo ghcr.io/containerd/runwasi --tag latest \
  --as-artifact --module "$module" -o ./dist/img-oci-artifact.tar
"$builder" --name wasi-demo-oci --repo ghcr.io/containerd/runwasi \
  --module "$module" -o oci:./dist/layout:latest

echo
echo "wasm-layer image: $(pwd)/dist/img-oci.tar"
echo "CNCF artifact:    $(pwd)/dist/img-oci-artifact.tar"
echo "layout directory: $(pwd)/dist/layout (tag latest)"
