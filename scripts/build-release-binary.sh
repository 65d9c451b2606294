#!/usr/bin/env bash
# The release binary of oci-tar-builder for x86_64 Linux: one static
# executable at a fixed address (musl's libc linked in, with dlmalloc as
# the allocator; it runs on any x86_64 Linux), built with the `dist`
# profile (Cargo.toml), with the functions a packaging run executes laid
# out together.
#
# Why musl: glibc's start-up probes the CPU (dozens of `cpuid`
# instructions, each a trap to the hypervisor on a virtual machine, where
# builds mostly run) and reads /proc/self/exe: an empty program linked
# statically with glibc takes 0.36 ms of CPU here, with musl 0.08 ms; for
# a small module that is a quarter of the whole run. musl's own allocator
# maps and unmaps memory for every few buffers (`mmap`/`munmap` by the
# thousand for a folder of modules), so the command uses dlmalloc (a pure
# Rust port of the allocator glibc's descends from) when built for musl.
#
#   bash scripts/build-release-binary.sh      # prints the binary's path
#
# Why the layout: for a short run, most of the process's memory is the
# pages of its own binary that it touches, and the kernel maps a binary's
# pages 64 KiB around each one touched. Functions used by a run, scattered
# among the 4 MB of code a run never needs (the registry client, TLS,
# verify, shell completions, ...), touch most of it. So the binary is built
# once, run under valgrind's callgrind on a set of packaging jobs (modules
# small and large, a component, a WIT package, each shape, a tar file,
# stdout, a layout directory, verify and inspect), and linked again with
# the functions those runs executed first (lld's --symbol-ordering-file,
# names sorted, so the same code gives the same order). A function the
# training did not run still works, from its usual place.
#
# Needs: the Rust toolchain (its lld links; the musl target is added here),
# musl's C compiler for the C parts of dependencies (`apt-get install
# musl-tools`), valgrind and wasm-tools (scripts/install-test-deps.sh
# installs wasm-tools; `apt-get install valgrind`), python3.
set -euo pipefail
cd "$(dirname "$0")/.."

triple=x86_64-unknown-linux-musl
for tool in valgrind wasm-tools python3 x86_64-linux-musl-gcc; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "build-release-binary: $tool is not installed (see the top of this script)" >&2; exit 1; }
done

rustup target add "$triple" >/dev/null 2>&1 ||
  { echo "build-release-binary: cannot add the Rust target $triple (rustup target add $triple)" >&2; exit 1; }
# Linked with the toolchain's lld (through its gcc-ld folder, as rustc does
# for the gnu target): the symbol order below is an lld option. At a fixed
# address (not position-independent): no relocations to apply at start, so
# the pages of tables they would touch and dirty stay untouched. Only for
# the target (build scripts and proc macros stay as they are).
gcc_ld=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld
[ -x "$gcc_ld/ld.lld" ] ||
  { echo "build-release-binary: the toolchain has no lld at $gcc_ld" >&2; exit 1; }
export RUSTFLAGS="${RUSTFLAGS:-}${RUSTFLAGS:+ }-C relocation-model=static -C link-arg=-fuse-ld=lld -C link-arg=-B$gcc_ld"
build=(--profile dist --locked --target "$triple" -p oci-tar-cli)
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
out=$target_dir/$triple/dist
binary=$out/oci-tar-builder

echo "build-release-binary: building (dist profile, static)" >&2
cargo build --quiet "${build[@]}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Training inputs: modules of exactly N bytes (the preamble, then one
# custom section of pseudo-random bytes), a component and a WIT package.
python3 - "$work" <<'PY'
import os, random, sys
work = sys.argv[1]
def module(path, size):
    section = size - 14
    leb = bytes([(section & 0x7f) | 0x80, ((section >> 7) & 0x7f) | 0x80,
                 ((section >> 14) & 0x7f) | 0x80, ((section >> 21) & 0x7f) | 0x80,
                 (section >> 28) & 0x7f])
    rng = random.Random(size)
    with open(path, "wb") as f:
        f.write(b"\0asm\x01\0\0\0\0" + leb + b"\x05train")
        f.write(rng.randbytes(size - 20))
module(f"{work}/m4k.wasm", 4096)
module(f"{work}/m100k.wasm", 100 * 1024)
module(f"{work}/m16m.wasm", 16 * 1024 * 1024)
os.makedirs(f"{work}/many")
# More files than wasm-artifact describes on one thread (32).
for i in range(40):
    module(f"{work}/many/m{i:02}.wasm", 4096 + i)
os.makedirs(f"{work}/wit")
with open(f"{work}/wit/app.wit", "w") as f:
    # Every kind of type a world's interfaces hold, so that reading a
    # component's imports and exports runs the code real worlds need.
    f.write("package train:app@1.0.0;\n")
    f.write("interface types {\n")
    f.write("  record point { x: s32, y: s32, label: option<string> }\n")
    f.write("  variant shape { circle(f64), polygon(list<point>), empty }\n")
    f.write("  enum color { red, green, blue }\n")
    f.write("  flags access { read, write, execute }\n")
    f.write("  resource canvas { constructor(width: u32); draw: func(s: shape, c: color) -> result<u64, string>; }\n")
    f.write("  type pair = tuple<u8, u16, u64, s8, s16, s64, f32, char, bool>;\n")
    f.write("}\n")
    f.write("interface greet { use types.{point, access}; hello: func(name: string, at: list<point>) -> result<string, u32>; allowed: func() -> access; }\n")
    f.write("interface log { write: func(line: string, bytes: list<u8>); }\n")
    f.write("world app { import log; import types; export greet; export run: func(); }\n")
PY
wasm-tools component embed --dummy "$work/wit" -o "$work/core.wasm"
wasm-tools component new "$work/core.wasm" -o "$work/app.wasm"
wasm-tools component wit --wasm "$work/wit" -o "$work/wit.wasm"

runs=0
train() { # one run under callgrind; its output numbered in the order of the runs
  runs=$((runs + 1))
  valgrind --tool=callgrind --demangle=no --dump-instr=no \
    --callgrind-out-file="$work/callgrind.$(printf %02d $runs).%p" "$binary" "$@" >/dev/null 2>&1 ||
    { echo "build-release-binary: training run failed: oci-tar-builder $*" >&2; exit 1; }
}
echo "build-release-binary: training runs under callgrind" >&2
name=(-q -n train -r localhost:5000/train)
(
  cd "$work"
  train "${name[@]}" -m m4k.wasm -o a.tar
  train "${name[@]}" -m m100k.wasm -o b.tar
  train "${name[@]}" -m m16m.wasm -o c.tar
  train "${name[@]}" --components many -o d.tar
  train "${name[@]}" -m app.wasm -o e.tar
  train "${name[@]}" -m app.wasm --as-artifact -o f.tar
  train "${name[@]}" -m wit.wasm --as-artifact -o g.tar
  train "${name[@]}" -m m4k.wasm --shape compat -o h.tar
  train "${name[@]}" -m m4k.wasm --shape wasm-layers --shape compat -o i.tar
  train "${name[@]}" -m m4k.wasm -o -
  train "${name[@]}" -m m4k.wasm -o oci:layout:v1
  train verify a.tar
  train inspect e.tar
)

# The functions the runs executed (callgrind names each once per file,
# `fn=(id) name` or `cfn=(id) name`): those of the first run (the most
# common job: a small module into a tar file), then those each later run
# adds, each run's sorted by name. A run's code then sits in as few pages
# as its place in the list allows, and the same code gives the same order.
#
# Some code is chosen by the CPU at run time: SHA-256 comes in one variant
# per instruction set, and valgrind's CPU has no SHA extensions, so the
# training met another variant than a real run does. Every variant of the
# SHA-256 functions the first run met goes with the first run's functions.
cat >"$work/variants.py" <<'PY'
import subprocess, sys
names = sys.stdin.read().split()
family = "_ZN4sha26sha256"
if not any(name.startswith(family) for name in names):
    sys.exit(0)
nm = subprocess.run(["nm", "--defined-only", sys.argv[1]],
                    capture_output=True, text=True, check=True).stdout
found = [line.split()[-1] for line in nm.splitlines()
         if line.split()[-1].startswith(family)]
if not any("x86_sha" in f for f in found):
    sys.exit("build-release-binary: no SHA-extensions variant of SHA-256 found")
print("\n".join(found))
PY
variants() { # the binary's symbols of the families of the names on stdin
  python3 "$work/variants.py" "$binary"
}
order=$out/function-order.txt
: >"$order"
first=yes
for run in "$work"/callgrind.*; do
  { sed -n 's/^c\{0,1\}fn=([0-9]*) //p' "$run"
    [ -z "$first" ] || sed -n 's/^c\{0,1\}fn=([0-9]*) //p' "$run" | variants
  } | LC_ALL=C sort -u |
    LC_ALL=C comm -23 - <(LC_ALL=C sort -u "$order") >>"$order.new"
  cat "$order.new" >>"$order"
  rm "$order.new"
  first=
done
echo "build-release-binary: $(wc -l <"$order") functions laid out first" >&2

# Link again with those functions first: only the binary's own crate is
# built again (the link-time optimisation runs again with it).
# The file's name carries its content's hash: cargo relinks only when its
# arguments change, and a new order in a file of the same name would not.
named_order=$out/function-order-$(sha256sum "$order" | cut -c1-16).txt
cp "$order" "$named_order"
cargo rustc --quiet "${build[@]}" --bin oci-tar-builder -- \
  -C link-arg=-Wl,--symbol-ordering-file="$named_order" -C link-arg=-Wl,--no-warn-symbol-ordering
echo "$binary"
