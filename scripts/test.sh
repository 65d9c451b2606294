#!/usr/bin/env bash
# Runs all the tests: installs what they need, checks formatting and lints,
# then runs every crate's tests with snapshots locked (INSTA_UPDATE=no: a
# changed snapshot fails instead of being written).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
cargo fmt --all -- --check
# The test shim is not a workspace member (scripts/install-test-deps.sh builds it).
cargo fmt --manifest-path crates/test-shim/Cargo.toml -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# In the shim's own cache target folder (install-test-deps.sh built it there):
# seconds once warm, a few minutes the first time.
cargo clippy --manifest-path crates/test-shim/Cargo.toml --release --locked \
  --target-dir /var/cache/oci-tar-builder/test-shim-target -- -D warnings
INSTA_UPDATE=no cargo test --workspace --locked
# The command's tests again, against the release binary users get.
bash scripts/test-release-binary.sh
# The API docs as docs.rs builds them: a broken link or bad markup fails.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
# Every published crate packages and builds from its .crate alone (needs the
# crates.io index; nothing is uploaded). Cargo extracts the crates of its
# temporary package registry under registry/src/-<hash of the workspace
# path> and reuses them when the path and version repeat, so a crate
# changed since an earlier dry run from the same folder would be verified
# against its old sources: remove those extractions first (only the
# temporary registries' folders, whose names start with '-').
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*
cargo publish --workspace --dry-run --locked
