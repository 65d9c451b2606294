#!/usr/bin/env bash
# Builds the demo WASI app (demo/wasi-demo-app) as a core module and packages
# it with the seed commands: as the wasm-layer image runwasi runs and as a CNCF
# Wasm OCI Artifact, each a tar, and the image once more into an OCI image
# layout directory (what `skopeo copy oci:DIR:TAG …` reads). Prints where they are.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target add wasm32-wasip1 >/dev/null 2>&1 || rustup target add wasm32-wasip1
cargo build --quiet --release --target wasm32-wasip1 --manifest-path demo/wasi-demo-app/Cargo.toml
module=demo/wasi-demo-app/target/wasm32-wasip1/release/wasi-demo-app.wasm

cargo build --quiet --release -p oci-tar-cli
builder=target/release/oci-tar-builder
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
