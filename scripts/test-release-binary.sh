#!/usr/bin/env bash
# Runs the command's integration tests against the release binary, the
# one users get (scripts/build-release-binary.sh: linked with musl and
# dlmalloc, the `dist` profile, panics abort), instead of cargo's debug
# build: a difference between the two C libraries or allocators (an error's
# wording, a system call) fails here, not in a user's hands. Called by
# scripts/test.sh after the main run, whose test executables it reuses;
# the release build takes a few minutes the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=$(bash scripts/build-release-binary.sh | tail -n 1)
echo "test-release-binary: the command's tests against $binary" >&2
OCI_TAR_BUILDER_UNDER_TEST=$binary INSTA_UPDATE=no cargo test -p oci-tar-cli --locked --test '*'
