#!/usr/bin/env bash
# Cuts a release of every crate of the workspace (they share one version).
#
#   scripts/release.sh [--dry-run] VERSION|major|minor|patch
#
# In order, stopping at the first refusal:
#   1. refuses a working tree with uncommitted or untracked changes,
#      pending insta snapshots (*.snap.new, *.pending-snap), and an empty
#      [Unreleased] section in CHANGELOG.md;
#   2. shows every snapshot change since the last release tag (v*), for
#      review: a snapshot is the exact JSON a user's tools will read;
#   3. runs all the tests (scripts/test.sh) and refuses if any fails, then
#      mutation testing of the code changed since the last tag
#      (scripts/mutants.sh --in-diff), refusing a mutant no test catches;
#   4. bumps the version in one place (the root Cargo.toml's
#      [workspace.package] and the [workspace.dependencies] entries of our
#      own crates), lets cargo rewrite Cargo.lock and fuzz/Cargo.lock, checks
#      that every package now has the new version, and dates the CHANGELOG's
#      [Unreleased] section;
#   5. commits that, runs `cargo publish --workspace --dry-run` from the
#      commit, and tags it vVERSION (annotated).
# Publishing itself (`cargo publish --workspace`) and pushing the tag stay a
# person's decision: the script prints the two commands.
#
# --dry-run does steps 1-4 and the publish dry run on the working tree, then
# restores the files it changed: nothing is committed or tagged.
#
# For the tests of this script only: RELEASE_TEST_CMD, RELEASE_MUTANTS_CMD
# and RELEASE_PUBLISH_CMD replace the tests, the mutation testing and the
# publish dry run.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "release.sh: $*" >&2
  exit 1
}

dry_run=false
wanted=
for arg in "$@"; do
  case "$arg" in
  --dry-run) dry_run=true ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  -*)
    echo "release.sh: unknown option $arg (see --help)" >&2
    exit 2
    ;;
  *)
    [ -z "$wanted" ] || { echo "release.sh: one version only (see --help)" >&2; exit 2; }
    wanted=$arg
    ;;
  esac
done
[ -n "$wanted" ] || { echo "release.sh: which version? VERSION, major, minor or patch (see --help)" >&2; exit 2; }

# 1. A release is made from exactly what is committed.
if [ -n "$(git status --porcelain --untracked-files=normal)" ]; then
  git status --short >&2
  die "the working tree has uncommitted changes (above); commit or stash them first"
fi
pending=$(find . -path ./target -prune -o -path ./fuzz/target -prune -o \
  \( -name '*.snap.new' -o -name '*.pending-snap' \) -print | sort)
if [ -n "$pending" ]; then
  echo "$pending" >&2
  die "pending insta snapshots (above): review them with 'cargo insta review' first"
fi

# The CHANGELOG says what the release brings.
unreleased=$(sed -n '/^## \[Unreleased\]$/,/^## \[/{/^## \[/d; /^[[:space:]]*$/d; p}' CHANGELOG.md)
[ -n "$unreleased" ] || die "CHANGELOG.md: the [Unreleased] section is missing or empty; say what this release changes"

# The version: the root manifest's [workspace.package] is the one source.
current=$(sed -n '/^\[workspace.package\]/,/^\[/{s/^version = "\(.*\)"$/\1/p}' Cargo.toml)
[[ "$current" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] ||
  die "Cargo.toml: [workspace.package] version '$current' is not MAJOR.MINOR.PATCH"
major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]}
case "$wanted" in
major) next="$((major + 1)).0.0" ;;
minor) next="$major.$((minor + 1)).0" ;;
patch) next="$major.$minor.$((patch + 1))" ;;
*) next=$wanted ;;
esac
[[ "$next" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "release.sh: '$next' is not MAJOR.MINOR.PATCH" >&2; exit 2; }
! git rev-parse -q --verify "refs/tags/v$next" >/dev/null || die "the tag v$next exists already"
# The version in the tree is released as it is when it has no tag yet (the
# first release); otherwise it moves.
echo "release: $current -> $next"

# 2. Snapshot changes since the last release, for review.
last_tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null || true)
if [ -n "$last_tag" ]; then
  echo "== snapshot changes since $last_tag (review every line) =="
  git --no-pager diff --stat "$last_tag" HEAD -- '*.snap'
  git --no-pager diff "$last_tag" HEAD -- '*.snap'
else
  echo "== no earlier release tag: every snapshot is new (review each) =="
  git ls-files -- '*.snap'
fi

# 3. All the tests, as CI runs them.
echo "== tests =="
if ! bash -c "${RELEASE_TEST_CMD:-bash scripts/test.sh}"; then
  die "the tests failed: no release"
fi

# 3b. Mutation testing of the code changed since the last release: a
# mutant no test catches is a hole the release would ship (a timeout is a
# test hanging on the mutant: caught, in effect).
if [ -n "$last_tag" ]; then
  echo "== mutants in the code changed since $last_tag =="
  status=0
  bash -c "${RELEASE_MUTANTS_CMD:-bash scripts/mutants.sh --in-diff $last_tag}" || status=$?
  case $status in
  0 | 3) ;;
  *) die "mutation testing: mutants survived in the code changed since $last_tag (see missed.txt under target/mutants): add a test, or say in TESTING.md why the mutant is equivalent" ;;
  esac
else
  echo "== no earlier release: the full mutation pass is in TESTING.md (bash scripts/mutants.sh) =="
fi

command -v jq >/dev/null || die "jq is missing (Debian: apt-get install -y jq)"

# 4. The version bump. Until the release commit exists, any way out
# restores the files this step changes.
changed=(Cargo.toml Cargo.lock CHANGELOG.md)
[ -f fuzz/Cargo.lock ] && changed+=(fuzz/Cargo.lock)
restore() { git checkout -q -- "${changed[@]}"; }
trap restore EXIT

sed -i "/^\[workspace.package\]/,/^\[/s/^version = \"$current\"$/version = \"$next\"/" Cargo.toml
# Our own crates in [workspace.dependencies]: `{ path = "crates/…", version = "…" }`.
sed -i -E "/^\[workspace.dependencies\]/,/^\[/s/^([a-z0-9-]+ = \{ path = \"[^\"]+\", version = \")$current(\" \})$/\1$next\2/" Cargo.toml
# Cargo rewrites the lock files' entries for our packages; nothing else
# changes (offline: no dependency may move in a release commit).
cargo update --workspace --offline --quiet
[ -f fuzz/Cargo.lock ] && (cd fuzz && cargo update --workspace --offline --quiet)

# Every package of the workspace, and every version requirement on one, is
# now the new version (what cargo resolved, not what the sed meant to do).
stale=$(cargo metadata --offline --format-version 1 --no-deps |
  jq -r --arg v "$next" '
    [.packages[] | select(.version != $v) | "\(.name) \(.version)"] +
    [.packages[] as $p | $p.dependencies[]
      | select(.path != null and .req != "*" and .req != "^\($v)")
      | "\($p.name) -> \(.name) \(.req)"] | .[]')
[ -z "$stale" ] || die "not every package or requirement is at $next: $stale"
# Any other line changed in a lock file would be a dependency change.
other=$(git diff -U0 -- Cargo.lock fuzz/Cargo.lock | grep '^[-+][^-+]' | grep -v '^[-+]version = ' || true)
[ -z "$other" ] || die "the lock files changed beyond our packages' versions: $other"

today=$(date -u +%Y-%m-%d)
sed -i "s/^## \[Unreleased\]$/## [Unreleased]\n\n## [$next] - $today/" CHANGELOG.md
echo "== version $next in =="
git --no-pager diff --stat

# 5. Commit, publish dry run from the commit, tag.
# Cargo reuses its extractions of the dry run's temporary registry when the
# folder and version repeat (folders under registry/src named -<hash>).
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*
if $dry_run; then
  echo "== publish dry run (working tree) =="
  bash -c "${RELEASE_PUBLISH_CMD:-cargo publish --workspace --dry-run --locked --allow-dirty}" ||
    die "the publish dry run failed"
  echo "dry run: would commit 'Release $next' and tag v$next; nothing was changed"
  exit 0
fi
git commit -q -m "Release $next" -- "${changed[@]}"
trap - EXIT
echo "== publish dry run (the release commit) =="
if ! bash -c "${RELEASE_PUBLISH_CMD:-cargo publish --workspace --dry-run --locked}"; then
  git reset -q --hard HEAD~1
  die "the publish dry run failed: the release commit was undone"
fi
git tag -a "v$next" -m "Release $next"
echo "tagged v$next. To publish: cargo publish --workspace && git push origin HEAD v$next"
