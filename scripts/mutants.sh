#!/usr/bin/env bash
# Mutation testing: cargo-mutants makes small deliberate bugs in the code
# (a function returning a default, an operator flipped, a condition
# negated), one at a time, and runs the tests of the mutated crate; a
# mutant the tests do not catch is a hole in the suite. TESTING.md has the
# counts and the reasons for every survivor left on purpose.
#
#   bash scripts/mutants.sh                      # the crates that decide output bytes
#   bash scripts/mutants.sh oci-layout           # named crates only
#   bash scripts/mutants.sh --in-diff v0.1.0     # only code changed since a revision
#
# The crates by default are the libraries whose code decides the bytes of
# an image (digests, tar headers, canonical JSON, configs, manifests,
# index, labels, annotations, Docker's manifest.json) and the reader's
# checks: oci-digest, docker-compat, oci-layout, wasm-artifact,
# oci-layout-reader, and oci-registry (what a push sends is what a
# registry stores). Each mutant runs its own crate's tests (fast; the
# registry's start the distribution registry that
# scripts/install-test-deps.sh installs, and an in-process one), two at a
# time, each bounded by --timeout 300 s. On this
# 2-core machine: about 3 s a mutant for oci-digest, more where a crate's
# tests take longer (TESTING.md has the times).
#
# cargo-mutants is installed once per machine under
# /var/cache/oci-tar-builder. Results: target/mutants/<name>/mutants.out
# (caught.txt, missed.txt, timeout.txt, unviable.txt, one log a mutant).
set -euo pipefail
cd "$(dirname "$0")/.."

version=27.1.0
root=/var/cache/oci-tar-builder/cargo-mutants-$version
mutants=$root/bin/cargo-mutants
if [ ! -x "$mutants" ]; then
  echo "installing cargo-mutants $version into $root" >&2
  cargo install --quiet cargo-mutants --locked --version "$version" --root "$root"
fi

packages=()
diff_base=
while [ $# -gt 0 ]; do
  case "$1" in
  --in-diff)
    diff_base=${2:?--in-diff needs a revision}
    shift 2
    ;;
  -*)
    echo "mutants.sh: unknown option $1" >&2
    exit 2
    ;;
  *)
    packages+=("$1")
    shift
    ;;
  esac
done
[ ${#packages[@]} -gt 0 ] || packages=(oci-digest docker-compat oci-layout wasm-artifact oci-layout-reader oci-registry)

args=(--timeout 300 --jobs 2)
for package in "${packages[@]}"; do args+=(--package "$package"); done
name=$(IFS=+; echo "${packages[*]}")
if [ -n "$diff_base" ]; then
  diff=$(mktemp)
  trap 'rm -f "$diff"' EXIT
  git diff "$diff_base" -- 'crates/*/src/*' >"$diff"
  args+=(--in-diff "$diff")
  name="$name-since-$diff_base"
fi
out=target/mutants/$name
mkdir -p "$out"
status=0
"$mutants" mutants "${args[@]}" --output "$out" || status=$?

# Counts per crate, from cargo-mutants' own record of every outcome.
python3 - "$out/mutants.out/outcomes.json" <<'PY'
import json, sys, collections
outcomes = json.load(open(sys.argv[1]))["outcomes"]
counts = collections.defaultdict(collections.Counter)
names = {"CaughtMutant": "caught", "MissedMutant": "missed", "Timeout": "timeout", "Unviable": "unviable"}
for outcome in outcomes:
    mutant = outcome["scenario"]
    if not isinstance(mutant, dict) or "Mutant" not in mutant:
        continue  # the unmutated baseline
    counts[mutant["Mutant"]["package"]][names.get(outcome["summary"], outcome["summary"])] += 1
print(f"{'crate':<20} {'caught':>7} {'missed':>7} {'unviable':>9} {'timeout':>8}")
for package in sorted(counts):
    c = counts[package]
    print(f"{package:<20} {c['caught']:>7} {c['missed']:>7} {c['unviable']:>9} {c['timeout']:>8}")
PY
echo "missed mutants: $out/mutants.out/missed.txt"
# cargo-mutants exits 2 when a mutant was missed, 3 on a timeout.
exit "$status"
