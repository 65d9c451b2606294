#!/usr/bin/env bash
# Runs all the tests: installs what they need, checks formatting and lints,
# then runs every crate's tests with snapshots locked (INSTA_UPDATE=no: a
# changed snapshot fails instead of being written).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-test-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
INSTA_UPDATE=no cargo test --workspace --locked
# Every published crate packages and builds from its .crate alone (needs the
# crates.io index; nothing is uploaded).
cargo publish --workspace --dry-run --locked
