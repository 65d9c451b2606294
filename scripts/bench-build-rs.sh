#!/usr/bin/env bash
# What a build.rs that packages wasm with `wasm-artifact` costs a user's
# build, under three profiles of the user's crate: cargo's default (build
# dependencies at opt-level 0), `[profile.dev.build-override] opt-level = 3`
# (every build dependency optimised) and `[profile.dev.package.sha2]
# opt-level = 3` (only the hash). For each: a clean `cargo build` (compiling
# wasm-artifact and its dependencies), then the build script rerun on a
# 64 MiB module, twice. Prints wall and CPU (user) seconds; CPU seconds are
# the fairer figure on a busy machine. Takes about 5 minutes on 2 cores.
#
#   bash scripts/bench-build-rs.sh
set -euo pipefail
repo=$(realpath "$(dirname "$0")/..")
[ -x /usr/bin/time ] || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y time; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
cargo new --quiet --lib app
cd app
cp "$repo/examples/build-rs/build.rs" .
cp "$repo/Cargo.lock" .
# A 64 MiB module: the wasm preamble, then one custom section.
python3 - <<'PY'
def leb(n):
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)
name = b"padding"
body = leb(len(name)) + name + bytes(range(256)) * (256 * 1024)
open("app.wasm", "wb").write(b"\0asm\x01\0\0\0\0" + leb(len(body)) + body)
PY
cat >>Cargo.toml <<TOML
[build-dependencies]
wasm-artifact = { path = "$repo/crates/wasm-artifact" }
[workspace]
TOML
cp Cargo.toml Cargo.toml.base
export CARGO_INCREMENTAL=0
for profile in default build-override sha2; do
  cp Cargo.toml.base Cargo.toml
  case $profile in
  build-override) printf '[profile.dev.build-override]\nopt-level = 3\n' >>Cargo.toml ;;
  sha2) printf '[profile.dev.package.sha2]\nopt-level = 3\n' >>Cargo.toml ;;
  esac
  rm -rf target
  /usr/bin/time -f "$profile: clean build %e s wall, %U s CPU" cargo build --quiet 2>&1 | tail -n 1
  for run in 1 2; do
    touch app.wasm
    /usr/bin/time -f "$profile: build.rs rerun on 64 MiB %e s wall, %U s CPU" cargo build --quiet 2>&1 | tail -n 1
  done
done
