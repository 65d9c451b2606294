#!/usr/bin/env bash
# Prints the cache key of the test shim (crates/test-shim): a hash of its
# sources, manifest and lock file. scripts/install-test-deps.sh builds the
# shim into /var/cache/oci-tar-builder/test-shim-<key>, and the tests look
# for it there, so a change to the shim's sources rebuilds it and a test
# never runs a shim built from other sources.
set -euo pipefail
cd "$(dirname "$0")/../crates/test-shim"
find Cargo.toml Cargo.lock src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
