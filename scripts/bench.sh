#!/usr/bin/env bash
# Benchmarks oci-tar-builder against the physical limits it is compared with
# (BENCHMARKS.md says what bounds each figure). Each comparison runs in ONE
# hyperfine invocation beside its limit, so both see the same machine load;
# figures are medians of whole-process wall time. Peak resident memory comes
# from /usr/bin/time -v. Prints every ratio beside its goal.
#
#   bash scripts/bench.sh                 # builds the release binary (scripts/build-release-binary.sh) and runs all
#   BENCH_BUILDER=path/to/oci-tar-builder bash scripts/bench.sh   # another build
#   BENCH_RUNS=10 BENCH_DIR=/some/disk bash scripts/bench.sh
#   BENCH_ONLY="5 6" bash scripts/bench.sh   # only these sections
#   BENCH_ONLY=7 bash scripts/bench.sh       # only the compat compression
#   BENCH_ONLY=8 bash scripts/bench.sh       # only the comparison with runwasi's tool
#
# Inputs (made here, in a temporary folder under BENCH_DIR, default target/):
# module-shaped files (a valid wasm header, then one custom section of
# pseudo-random bytes): 512 MiB, four of 128 MiB, 100 KiB, 1 MiB, 1 GiB;
# the 1 GiB one is also pushed to a local registry (docker-registry, on
# 127.0.0.1) beside skopeo. Needs ~6 GiB free on that disk; the folder is
# removed at the end.
# Section 8 also makes folders of 1,000 and 10,000 modules of 4 KiB and a
# component with a large world (200 interfaces of 20 functions, made with
# wasm-tools), and times the same work with runwasi's oci-tar-builder (the
# tool this one replaces) in the same hyperfine runs: it is installed once
# per machine with `cargo install` under /var/cache/oci-tar-builder
# (RUNWASI_BUILDER=path picks another build).
# The compat image's gzip speed (section 7) is measured on a real WASI
# module: ruby.wasm's debug build with its standard library (54 MB, from
# the npm package @ruby/3.3-wasm-wasi 2.10.1, fetched with `npm pack` once
# and checked against its SHA-256; BENCH_WASM=path measures another), beside
# pigz and gzip at the same level (6) on the same file.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tools: hyperfine (timings), time (peak RSS), openssl (the SHA-256
# limit and the pseudo-random input bytes), jq (reading hyperfine's JSON),
# curl (waiting for the registry); docker-registry and skopeo come from
# scripts/install-test-deps.sh.
need=()
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v strace >/dev/null 2>&1 || need+=(strace)
command -v pigz >/dev/null 2>&1 || need+=(pigz)
command -v gzip >/dev/null 2>&1 || need+=(gzip)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
[ -n "${BENCH_BUILDER:-}" ] || command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
[ -n "${BENCH_WASM:-}" ] || command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${need[@]}"
fi

if [ -z "${BENCH_BUILDER:-}" ]; then
  # The binary a release ships (static, laid out for short runs).
  BENCH_BUILDER=$(bash scripts/build-release-binary.sh | tail -n 1)
fi
builder=$(realpath "$BENCH_BUILDER")
runs=${BENCH_RUNS:-10}
base=${BENCH_DIR:-target}
mkdir -p "$base"
dir=$(mktemp -d "$(realpath "$base")/bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# A module of exactly $2 bytes at $1: the 8-byte wasm preamble, then one
# custom section (id 0, size as a 5-byte LEB128, name "bench") holding
# pseudo-random bytes (AES-CTR of zeros: fast and reproducible per seed $3).
make_module() {
  local path=$1 size=$2 seed=$3
  local payload=$((size - 20)) section=$((size - 14))
  {
    printf '\0asm\x01\0\0\0\0'
    printf "\\x$(printf %02x $(((section & 0x7f) | 0x80)))"
    printf "\\x$(printf %02x $((((section >> 7) & 0x7f) | 0x80)))"
    printf "\\x$(printf %02x $((((section >> 14) & 0x7f) | 0x80)))"
    printf "\\x$(printf %02x $((((section >> 21) & 0x7f) | 0x80)))"
    printf "\\x$(printf %02x $(((section >> 28) & 0x7f)))"
    printf '\x05bench'
    # head closes the pipe when it has enough; openssl's SIGPIPE is expected.
    (set +o pipefail; openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:$seed" -in /dev/zero 2>/dev/null |
      head -c "$payload")
  } >"$path"
  [ "$(stat -c %s "$path")" -eq "$size" ] || { echo "bench: made $path of the wrong size" >&2; exit 1; }
}

MiB=$((1024 * 1024))
echo "making inputs in $dir" >&2
make_module "$dir/m512.wasm" $((512 * MiB)) 512
for i in 1 2 3 4; do make_module "$dir/q$i.wasm" $((128 * MiB)) "q$i"; done
make_module "$dir/m100k.wasm" $((100 * 1024)) 100k
make_module "$dir/m1m.wasm" $((1 * MiB)) 1m
make_module "$dir/m1g.wasm" $((1024 * MiB)) 1g
# Warm the page cache: every command below reads cached inputs, so the
# comparisons measure the work, not the first read from the device.
cat "$dir"/*.wasm >/dev/null

pack() { # the builder's command line for inputs "$@" (paths), without -o
  local args=(-n bench -r localhost:5000/bench -q)
  for m in "$@"; do args+=(-m "$m"); done
  printf '%q ' "$builder" "${args[@]}"
}

# median <json> <index>: a result's median in seconds.
median() { jq -r ".results[$2].median" "$1"; }
# cpu <json> <index>: mean user + system CPU seconds (context when the
# machine is shared: wall time then includes waiting for a core).
cpu() { jq -r ".results[$2] | (.user + .system)" "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }
# Folder $1 of $2 distinct modules of $3 bytes each (the header of
# make_module, then pseudo-random bytes): one openssl stream, cut by split.
make_modules() {
  local folder=$1 count=$2 size=$3
  local payload=$((size - 20)) section=$((size - 14)) header
  # Octal escapes: split's --filter runs sh, whose printf may know no \x.
  header=$(printf '\\000asm\\001\\000\\000\\000\\000'
    printf '\\%03o' $(((section & 0x7f) | 0x80)) $((((section >> 7) & 0x7f) | 0x80)) \
      $((((section >> 14) & 0x7f) | 0x80)) $((((section >> 21) & 0x7f) | 0x80)) $(((section >> 28) & 0x7f))
    printf '\\005bench')
  mkdir -p "$folder"
  (set +o pipefail; openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:$folder" -in /dev/zero 2>/dev/null |
    head -c $((payload * count))) |
    HEADER=$header split -a 5 -d -b "$payload" --additional-suffix=.wasm \
      --filter='{ printf "$HEADER"; cat; } > "$FILE"' - "$folder/m"
  [ "$(find "$folder" -name '*.wasm' -size "${size}c" | wc -l)" -eq "$count" ] ||
    { echo "bench: made $folder wrong" >&2; exit 1; }
}

# A component whose world is large: 200 interfaces of 20 functions, half
# imported, half exported (about 1 MiB).
make_component() {
  local out=$1 wit=$dir/wit i j
  mkdir -p "$wit"
  {
    echo "package bench:big;"
    for i in $(seq 0 199); do
      echo "interface i$i {"
      for j in $(seq 0 19); do echo "  f$j: func(a: string, b: list<u32>) -> result<string, u32>;"; done
      echo "}"
    done
    echo "world big {"
    for i in $(seq 0 99); do echo "  import i$i;"; done
    for i in $(seq 100 199); do echo "  export i$i;"; done
    echo "}"
  } >"$wit/big.wit"
  wasm-tools component embed --dummy "$wit" -o "$dir/core.wasm"
  wasm-tools component new "$dir/core.wasm" -o "$out"
  rm -rf "$wit" "$dir/core.wasm"
}

MiB=$((1024 * 1024))
echo "making inputs in $dir" >&2
# want N: whether section N runs (all, unless BENCH_ONLY lists some).
want() { [ -z "${BENCH_ONLY:-}" ] || [[ " $BENCH_ONLY " == *" $1 "* ]]; }

summary=()
verdict() { # name, ratio, goal, detail
  local ok
  ok=$(awk -v r="$2" -v g="$3" 'BEGIN { print (r <= g) ? "ok" : "OVER" }')
  summary+=("$(printf '%-34s %8s  goal <= %-5s %-4s %s' "$1" "$2" "$3" "$ok" "$4")")
}
# Every run starts with no dirty pages left by the one before (sync, not
# timed), so a run's own writes are not throttled by the previous run's
# writeback: each command is measured doing its work, into the page cache.
hf() { hyperfine --style basic --warmup 2 --runs "$runs" --prepare "${prepare:-sync}" "$@"; }

if want 1; then
echo "== 1. one 512 MiB module into a tar file and into oci:DIR, beside cat module > file and one sha256 pass" >&2
# The SHA-256 pass is there because it bounds this one too: the bytes must
# be hashed, and one stream's SHA-256 runs on one core. Both outputs are
# durable (fsynced before their rename), cat's is not. The directory is
# fresh each run (removed in --prepare, as the files are), so every blob is
# written; it takes the same one-read path as the file.
prepare="rm -rf $dir/out.tar $dir/copy $dir/outdir; sync" hf --export-json "$dir/file.json" \
  -n "oci-tar-builder -o file" "$(pack "$dir/m512.wasm") -o $dir/out.tar" \
  -n "cat module > file" "cat $dir/m512.wasm > $dir/copy" \
  -n "openssl dgst -sha256" "openssl dgst -sha256 $dir/m512.wasm > /dev/null" \
  -n "oci-tar-builder -o oci:DIR" "$(pack "$dir/m512.wasm") -o oci:$dir/outdir"
a=$(median "$dir/file.json" 0) b=$(median "$dir/file.json" 1) c=$(median "$dir/file.json" 2) d=$(median "$dir/file.json" 3)
verdict "512 MiB -> file / cat" "$(ratio "$a" "$b")" 1.15 "$(ms "$a") vs $(ms "$b"); cpu $(ms "$(cpu "$dir/file.json" 0)") vs $(ms "$(cpu "$dir/file.json" 1)")"
limit=$(awk -v b="$b" -v c="$c" 'BEGIN { print (c > b) ? c : b }')
summary+=("$(printf '%-34s %8s  (sha256 pass %s; the builder is %s x the larger of cat and sha256)' \
  "  bound: sha256 / cat" "$(ratio "$c" "$b")" "$(ms "$c")" "$(ratio "$a" "$limit")")")
verdict "512 MiB -> file / sha256" "$(ratio "$a" "$c")" 1.1 "$(ms "$a") vs $(ms "$c"), durable; cpu $(ms "$(cpu "$dir/file.json" 0)") vs $(ms "$(cpu "$dir/file.json" 2)")"
verdict "512 MiB -> oci:DIR / file" "$(ratio "$d" "$a")" 1.05 "$(ms "$d") vs $(ms "$a"); cpu $(ms "$(cpu "$dir/file.json" 3)") vs $(ms "$(cpu "$dir/file.json" 0)")"
rm -rf "$dir/out.tar" "$dir/copy" "$dir/outdir"

fi

if want 2; then
echo "== 2. one 512 MiB module to stdout (/dev/null), beside openssl dgst -sha256" >&2
hf -N --export-json "$dir/stdout.json" \
  -n "oci-tar-builder -o -" "$(pack "$dir/m512.wasm") -o -" \
  -n "openssl dgst -sha256" "openssl dgst -sha256 $dir/m512.wasm"
a=$(median "$dir/stdout.json" 0) b=$(median "$dir/stdout.json" 1)
verdict "512 MiB -> stdout / sha256" "$(ratio "$a" "$b")" 1.3 "$(ms "$a") vs $(ms "$b"); cpu $(ms "$(cpu "$dir/stdout.json" 0)") vs $(ms "$(cpu "$dir/stdout.json" 1)")"

fi

if want 3; then
echo "== 3. four 128 MiB modules to stdout, beside openssl dgst -sha256 over the four" >&2
hf -N --export-json "$dir/four.json" \
  -n "oci-tar-builder -o - (4 inputs)" "$(pack "$dir"/q1.wasm "$dir"/q2.wasm "$dir"/q3.wasm "$dir"/q4.wasm) -o -" \
  -n "openssl dgst -sha256 (4 files)" "openssl dgst -sha256 $dir/q1.wasm $dir/q2.wasm $dir/q3.wasm $dir/q4.wasm"
a=$(median "$dir/four.json" 0) b=$(median "$dir/four.json" 1)
verdict "4 x 128 MiB -> stdout / sha256" "$(ratio "$a" "$b")" 0.9 "$(ms "$a") vs $(ms "$b"); cpu $(ms "$(cpu "$dir/four.json" 0)") vs $(ms "$(cpu "$dir/four.json" 1)")"

fi

if want 4; then
echo "== 4. a 100 KiB module into a tar file" >&2
hyperfine --style basic -N --warmup 5 --runs $((runs * 5)) --export-json "$dir/small.json" \
  -n "oci-tar-builder 100 KiB -o file" "$(pack "$dir/m100k.wasm") -o $dir/small.tar"
a=$(median "$dir/small.json" 0)
verdict "100 KiB -> file (ms)" "$(awk -v s="$a" 'BEGIN { printf "%.2f", s * 1000 }')" 5 "whole process"

fi

if want 5; then
echo "== 5. peak resident memory (/usr/bin/time -v), 1 MiB and 1 GiB inputs" >&2
peak_kib() { # inputs... then -o and the output: max RSS in KiB of the builder itself
  local args=(-n bench -r localhost:5000/bench -q) out
  while [ "$1" != -o ]; do args+=(-m "$1"); shift; done
  out=$2
  /usr/bin/time -v "$builder" "${args[@]}" -o "$out" 2>&1 >/dev/null |
    awk -F': ' '/Maximum resident set size/ { print $2 }'
}
rss_1m_file=$(peak_kib "$dir/m1m.wasm" -o "$dir/r1.tar")
rss_1g_file=$(peak_kib "$dir/m1g.wasm" -o "$dir/r2.tar")
rss_1m_out=$(peak_kib "$dir/m1m.wasm" -o -)
rss_1g_out=$(peak_kib "$dir/m1g.wasm" -o -)
rss_four=$(peak_kib "$dir"/q1.wasm "$dir"/q2.wasm "$dir"/q3.wasm "$dir"/q4.wasm -o -)
rm -f "$dir/r1.tar" "$dir/r2.tar"
peak=$(printf '%s\n' "$rss_1m_file" "$rss_1g_file" "$rss_1m_out" "$rss_1g_out" "$rss_four" | sort -n | tail -1)
verdict "peak RSS, any input (MiB)" "$(mib "$peak")" 8 \
  "file 1M $(mib "$rss_1m_file") / 1G $(mib "$rss_1g_file"); stdout 1M $(mib "$rss_1m_out") / 1G $(mib "$rss_1g_out"); 4x128M $(mib "$rss_four")"
spread=$(( rss_1g_file > rss_1m_file ? rss_1g_file - rss_1m_file : rss_1m_file - rss_1g_file ))
spread_out=$(( rss_1g_out > rss_1m_out ? rss_1g_out - rss_1m_out : rss_1m_out - rss_1g_out ))
[ "$spread_out" -gt "$spread" ] && spread=$spread_out
verdict "RSS 1 GiB minus 1 MiB (MiB)" "$(mib "$spread")" 1 "largest of file and stdout"

fi

if want 6; then
echo "== 6. a 1 GiB module pushed to a local registry, beside skopeo copy oci-archive:... docker://..." >&2
# Debian's docker-registry on 127.0.0.1 (plain HTTP, anonymous), storing in
# $dir/registry; --prepare empties its storage before each run, so every
# run sends every blob. The same image is pushed three ways in one
# hyperfine run: built from the module straight into the registry, copied
# from its image tar by us, and copied from the same tar by skopeo.
command -v docker-registry >/dev/null 2>&1 && command -v skopeo >/dev/null 2>&1 || {
  echo "bench: needs docker-registry and skopeo (scripts/install-test-deps.sh installs them)" >&2; exit 1; }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$dir/registry"
cat >"$dir/registry.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $dir/registry/data
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
registry_pid=$!
trap 'kill "$registry_pid" 2>/dev/null; wait "$registry_pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null || { cat "$dir/registry.log" >&2; echo "bench: the registry did not start" >&2; exit 1; }
push_runs=$(( runs < 5 ? runs : 5 ))
"$builder" -n bench -r localhost:5000/bench -q -m "$dir/m1g.wasm" -o "$dir/m1g.tar"
remote="127.0.0.1:$port/bench"
hyperfine --style basic --warmup 1 --runs "$push_runs" \
  --prepare "rm -rf $dir/registry/data; sync" --export-json "$dir/push.json" \
  -n "oci-tar-builder -o docker://" "$(pack "$dir/m1g.wasm") -o docker://$remote/built:v1" \
  -n "oci-tar-builder copy oci-archive: docker://" "$(printf '%q ' "$builder") copy -q oci-archive:$dir/m1g.tar docker://$remote/copied:v1" \
  -n "skopeo copy oci-archive: docker://" "skopeo --insecure-policy copy -q --dest-tls-verify=false oci-archive:$dir/m1g.tar docker://$remote/skopeo:v1"
a=$(median "$dir/push.json" 0) b=$(median "$dir/push.json" 1) c=$(median "$dir/push.json" 2)
verdict "1 GiB push / skopeo copy" "$(ratio "$a" "$c")" 1.0 "$(ms "$a") vs $(ms "$c"); cpu $(ms "$(cpu "$dir/push.json" 0)") vs $(ms "$(cpu "$dir/push.json" 2)")"
verdict "1 GiB copy / skopeo copy" "$(ratio "$b" "$c")" 1.0 "$(ms "$b") vs $(ms "$c"); cpu $(ms "$(cpu "$dir/push.json" 1)") vs $(ms "$(cpu "$dir/push.json" 2)")"
rm -rf "$dir/registry/data"
rss_push=$(/usr/bin/time -v "$builder" -n bench -r localhost:5000/bench -q -m "$dir/m1g.wasm" -o "docker://$remote/rss:v1" 2>&1 >/dev/null |
  awk -F': ' '/Maximum resident set size/ { print $2 }')
rm -rf "$dir/registry/data"
rss_copy=$(/usr/bin/time -v "$builder" copy -q "oci-archive:$dir/m1g.tar" "docker://$remote/rss:v1" 2>&1 >/dev/null |
  awk -F': ' '/Maximum resident set size/ { print $2 }')
peak_push=$(( rss_push > rss_copy ? rss_push : rss_copy ))
verdict "peak RSS, 1 GiB push (MiB)" "$(mib "$peak_push")" 16 "-o docker:// $(mib "$rss_push"); copy $(mib "$rss_copy")"
rm -f "$dir/m1g.tar"

fi

if want 7; then
echo "== 7. a compat image of a real wasm module (gzip, level 6), beside pigz -6 and gzip -6 on the same file" >&2
# The builder does more than the compressors: it makes the tar around the
# wasm, hashes it (the diff ID) and the compressed layer, and writes the
# image tar durably; pigz and gzip compress the module to a file.
real_wasm=${BENCH_WASM:-}
if [ -z "$real_wasm" ]; then
  cache=/var/cache/oci-tar-builder/bench
  package_tgz=$cache/ruby-3.3-wasm-wasi-2.10.1.tgz
  package_sha256=573c0d66d4dc755200ff0fe054aa31f6c4716d041f925e88b11f1e7b6f5443d1
  if ! echo "$package_sha256  $package_tgz" | sha256sum -c --quiet 2>/dev/null; then
    mkdir -p "$cache"
    (cd "$cache" && npm pack --silent @ruby/3.3-wasm-wasi@2.10.1 >/dev/null)
    echo "$package_sha256  $package_tgz" | sha256sum -c --quiet
  fi
  tar -xzf "$package_tgz" -C "$dir" package/dist/ruby.debug+stdlib.wasm
  real_wasm=$dir/package/dist/ruby.debug+stdlib.wasm
fi
cat "$real_wasm" >/dev/null
real_size=$(stat -c %s "$real_wasm")
compat() { printf '%q ' "$builder" -n bench -r localhost:5000/bench -q --shape compat --compression "$1" -m "$real_wasm"; }
prepare="rm -f $dir/compat.tar $dir/pigz.gz $dir/gzip.gz; sync" hf --export-json "$dir/gzip.json" \
  -n "oci-tar-builder --shape compat (gzip)" "$(compat gzip) -o $dir/compat.tar" \
  -n "pigz -6" "pigz -6 -n -c $real_wasm > $dir/pigz.gz" \
  -n "gzip -6" "gzip -6 -n -c $real_wasm > $dir/gzip.gz"
a=$(median "$dir/gzip.json" 0) b=$(median "$dir/gzip.json" 1) c=$(median "$dir/gzip.json" 2)
# The sizes, from one more run of each (hyperfine's --prepare removed them).
eval "$(compat gzip) -o $dir/compat.tar"
pigz -6 -n -c "$real_wasm" >"$dir/pigz.gz"
gzip -6 -n -c "$real_wasm" >"$dir/gzip.gz"
manifest=$(tar -xOf "$dir/compat.tar" index.json | jq -r '.manifests[0].digest' | cut -c8-)
layer_size=$(tar -xOf "$dir/compat.tar" "blobs/sha256/$manifest" | jq -r '.layers[0].size')
verdict "compat gzip / pigz" "$(ratio "$a" "$b")" 1.05 "$(ms "$a") vs $(ms "$b") for $real_size bytes; cpu $(ms "$(cpu "$dir/gzip.json" 0)") vs $(ms "$(cpu "$dir/gzip.json" 1)")"
verdict "compat gzip / gzip" "$(ratio "$a" "$c")" 0.6 "$(ms "$a") vs $(ms "$c"); cpu $(ms "$(cpu "$dir/gzip.json" 0)") vs $(ms "$(cpu "$dir/gzip.json" 2)")"
summary+=("$(printf '%-34s %s' "  compressed sizes" "layer $layer_size, pigz $(stat -c %s "$dir/pigz.gz"), gzip $(stat -c %s "$dir/gzip.gz") bytes")")
prepare="rm -f $dir/compat.tar $dir/zstd.zst; sync" hf --export-json "$dir/zstd.json" \
  -n "oci-tar-builder --shape compat (zstd)" "$(compat zstd) -o $dir/compat.tar" \
  -n "zstd -3" "zstd -3 -q -c $real_wasm > $dir/zstd.zst"
a=$(median "$dir/zstd.json" 0) b=$(median "$dir/zstd.json" 1)
summary+=("$(printf '%-34s %8s  (%s vs %s; one thread each)' "compat zstd / zstd -3" "$(ratio "$a" "$b")" "$(ms "$a")" "$(ms "$b")")")
rss_compat=$(/usr/bin/time -v "$builder" -n bench -q --shape compat -m "$real_wasm" -o "$dir/compat.tar" 2>&1 >/dev/null |
  awk -F': ' '/Maximum resident set size/ { print $2 }')
rss_compat_1g=$(/usr/bin/time -v "$builder" -n bench -q --shape compat -m "$dir/m1g.wasm" -o "$dir/compat.tar" 2>&1 >/dev/null |
  awk -F': ' '/Maximum resident set size/ { print $2 }')
verdict "compat gzip peak RSS (MiB)" "$(mib "$(( rss_compat_1g > rss_compat ? rss_compat_1g : rss_compat ))")" 16 \
  "real module $(mib "$rss_compat"), 1 GiB $(mib "$rss_compat_1g")"
rm -rf "$dir/compat.tar" "$dir/pigz.gz" "$dir/gzip.gz" "$dir/zstd.zst" "$dir/package"
fi
if want 8; then
runwasi_version=0.4.0
if [ -z "${RUNWASI_BUILDER:-}" ]; then
  runwasi_root=/var/cache/oci-tar-builder/runwasi-oci-tar-builder-$runwasi_version
  if [ ! -x "$runwasi_root/bin/oci-tar-builder" ]; then
    echo "installing runwasi's oci-tar-builder $runwasi_version into $runwasi_root" >&2
    mkdir -p "$(dirname "$runwasi_root")"
    cargo install --quiet oci-tar-builder --version "$runwasi_version" --locked --root "$runwasi_root"
  fi
  RUNWASI_BUILDER=$runwasi_root/bin/oci-tar-builder
fi
runwasi=$(realpath "$RUNWASI_BUILDER")
command -v wasm-tools >/dev/null 2>&1 || {
  echo "bench: wasm-tools is missing (scripts/install-test-deps.sh installs it)" >&2
  exit 1
}
make_modules "$dir/many1k" 1000 4096
make_modules "$dir/many10k" 10000 4096
make_component "$dir/world.wasm"
runwasi_pack() { # the same for runwasi's tool (its --tag is required)
  local args=(-n bench -t latest -r localhost:5000/bench)
  for m in "$@"; do args+=(-m "$m"); done
  printf '%q ' "$runwasi" "${args[@]}"
}
# take_turns JSON PER_ROUND PREPARE NAME COMMAND [NAME COMMAND ...]: on a
# shared VM whole batches drift by 10 % and more over a minute, which a
# ratio of two back-to-back batches would take for a difference, so the
# commands take turns, in $runs rounds of PER_ROUND runs each; JSON gets
# one result per command with its runs from every round and their median
# (the shape `median` and `cpu` read).
take_turns() {
  local json=$1 per_round=$2 prepare=$3 named=() count=0 round
  shift 3
  while [ $# -gt 0 ]; do
    named+=(-n "$1" "$2")
    count=$((count + 1))
    shift 2
  done
  for round in $(seq "$runs"); do
    hyperfine --style none -N --warmup 1 --runs "$per_round" --prepare "$prepare" \
      --export-json "$json.round$round" "${named[@]}"
  done
  jq -s --argjson n "$count" '{results: [range(0; $n) as $i | {
      times: [.[].results[$i].times[]],
      user: ([.[].results[$i].user] | add / length),
      system: ([.[].results[$i].system] | add / length)
    } | .median = (.times | sort | .[length / 2 | floor])]}' "$json".round* >"$json"
  rm -f "$json".round*
}
echo "== 8a. a 100 KiB module into a tar file, beside runwasi's tool" >&2
take_turns "$dir/small-rw.json" 5 "rm -f $dir/small.tar $dir/small-runwasi.tar" \
  "oci-tar-builder 100 KiB -o file" "$(pack "$dir/m100k.wasm") -o $dir/small.tar" \
  "runwasi 100 KiB -o file" "$(runwasi_pack "$dir/m100k.wasm") -o $dir/small-runwasi.tar"
a=$(median "$dir/small-rw.json" 0) b=$(median "$dir/small-rw.json" 1)
verdict "100 KiB -> file / runwasi" "$(ratio "$a" "$b")" 1.0 "$(ms "$a") vs $(ms "$b") (ours fsyncs, runwasi does not); cpu $(ms "$(cpu "$dir/small-rw.json" 0)") vs $(ms "$(cpu "$dir/small-rw.json" 1)")"

echo "== 8b. 1,000 and 10,000 modules of 4 KiB (--components) into a tar file, beside runwasi's tool" >&2
# The 10,000 run has the shell's default limit of 1,024 open files.
take_turns "$dir/many.json" 4 "rm -f $dir/many*.tar; sync" \
  "oci-tar-builder 1,000 x 4 KiB" "$builder -n bench -r localhost:5000/bench -q --components $dir/many1k -o $dir/many.tar" \
  "runwasi 1,000 x 4 KiB" "$runwasi -n bench -t latest -r localhost:5000/bench -c $dir/many1k -o $dir/many-runwasi.tar" \
  "oci-tar-builder 10,000 x 4 KiB" "sh -c 'ulimit -n 1024 && exec $builder -n bench -r localhost:5000/bench -q --components $dir/many10k -o $dir/many10k.tar'"
a=$(median "$dir/many.json" 0) b=$(median "$dir/many.json" 1) c=$(median "$dir/many.json" 2)
verdict "1,000 x 4 KiB -> file / runwasi" "$(ratio "$a" "$b")" 0.5 "$(ms "$a") vs $(ms "$b") (ours fsyncs, runwasi does not); cpu $(ms "$(cpu "$dir/many.json" 0)") vs $(ms "$(cpu "$dir/many.json" 1)")"
# A build run again: the output is there from the run before.
take_turns "$dir/again.json" 4 "sync" \
  "oci-tar-builder 1,000 x 4 KiB, output there" "$builder -n bench -r localhost:5000/bench -q --components $dir/many1k -o $dir/again.tar" \
  "runwasi 1,000 x 4 KiB, output there" "$runwasi -n bench -t latest -r localhost:5000/bench -c $dir/many1k -o $dir/again-runwasi.tar"
d=$(median "$dir/again.json" 0) e=$(median "$dir/again.json" 1)
verdict "  the same, output there / runwasi" "$(ratio "$d" "$e")" 0.5 "$(ms "$d") vs $(ms "$e")"
rm -f "$dir/again.tar" "$dir/again-runwasi.tar"
verdict "per input, 10,000 / 1,000" "$(awk -v a="$a" -v c="$c" 'BEGIN { printf "%.3f", (c / 10) / a }')" 1.2 "$(ms "$c") for 10,000 (linear: 10 x the 1,000's $(ms "$a")); fd limit 1,024"
strace -f -c -o "$dir/many.strace" "$builder" -n bench -r localhost:5000/bench -q --components "$dir/many1k" -o "$dir/many.tar"
calls=$(awk '$NF == "total" { print $(NF-2) }' "$dir/many.strace")
strace -f -c -o "$dir/many-runwasi.strace" "$runwasi" -n bench -t latest -r localhost:5000/bench -c "$dir/many1k" -o "$dir/many-runwasi.tar" >/dev/null
runwasi_calls=$(awk '$NF == "total" { print $(NF-2) }' "$dir/many-runwasi.strace")
summary+=("$(printf '%-34s %8s  (runwasi %s; strace -f -c, 1,000 inputs)' "  system calls per input" \
  "$(awk -v n="$calls" 'BEGIN { printf "%.1f", n / 1000 }')" "$(awk -v n="$runwasi_calls" 'BEGIN { printf "%.1f", n / 1000 }')")")
rm -f "$dir"/many*.tar

echo "== 8c. peak resident memory beside runwasi's tool" >&2
runwasi_peak_kib() { # runwasi's tool on the same work: inputs... then -o and the output
  local args=(-n bench -t latest -r localhost:5000/bench) out
  while [ "$1" != -o ]; do args+=("$1"); shift; done
  out=$2
  /usr/bin/time -v "$runwasi" "${args[@]}" -o "$out" 2>&1 >/dev/null |
    awk -F': ' '/Maximum resident set size/ { print $2 }'
}
peak_args_kib() { # the builder with its own arguments "$@": max RSS in KiB
  /usr/bin/time -v "$builder" -n bench -r localhost:5000/bench -q "$@" 2>&1 >/dev/null |
    awk -F': ' '/Maximum resident set size/ { print $2 }'
}
for work in "512 MiB module|-m $dir/m512.wasm|-m $dir/m512.wasm" \
  "1,000 x 4 KiB|--components $dir/many1k|-c $dir/many1k" \
  "large world|-m $dir/world.wasm|-m $dir/world.wasm"; do
  IFS='|' read -r name ours theirs <<<"$work"
  # shellcheck disable=SC2086 # the arguments are split on purpose
  a=$(peak_args_kib $ours -o "$dir/rss.tar")
  # shellcheck disable=SC2086
  b=$(runwasi_peak_kib $theirs -o "$dir/rss-runwasi.tar")
  rm -f "$dir/rss.tar" "$dir/rss-runwasi.tar"
  verdict "RSS / runwasi, $name" "$(ratio "$a" "$b")" 1.0 "$(mib "$a") vs $(mib "$b") MiB"
done
summary+=("runwasi: $runwasi ($runwasi_version)")
rm -rf "$dir/many1k" "$dir/many10k" "$dir/world.wasm"
fi

echo
echo "oci-tar-builder benchmark ($(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $runs runs, medians)"
echo "binary: $builder"
printf '%s\n' "${summary[@]}"
