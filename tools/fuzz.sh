#!/usr/bin/env bash
# Runs one libFuzzer target for a time budget:
#   tools/fuzz.sh TARGET SECONDS [extra libFuzzer flags...]
# TARGET: onnx_proto | onnx_text | plan | checkpoint | npy (test/fuzz/fuzz_TARGET.cpp).
#
# Builds build-fuzz/ (clang, -DMPC_FUZZ=ON, ASan+UBSan; MPC_FUZZ_BUILD_DIR
# overrides) if needed, makes the seed corpus (test/fuzz/make_seeds.py, using
# mpc-opt/mpc-run from MPC_TOOLS_DIR, default build/bin, when present) and
# fuzzes with -timeout=10 -rss_limit_mb=2048 at nice 19. The growing corpus
# stays in build-fuzz/corpus/TARGET. Every crash, timeout, OOM or leak input
# is moved to test/bad-inputs/regressions/TARGET/, where the bad-input test
# replays it through the CLIs from then on. Exit status: libFuzzer's.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ $# -lt 2 ]]; then
  echo "usage: tools/fuzz.sh TARGET SECONDS [libFuzzer flags...]" >&2
  exit 2
fi
TARGET="$1"; SECONDS_BUDGET="$2"; shift 2
case "$TARGET" in
  onnx_proto|onnx_text|plan|checkpoint|npy) ;;
  *) echo "fuzz.sh: unknown target '$TARGET' (onnx_proto, onnx_text, plan, checkpoint, npy)" >&2; exit 2 ;;
esac
BUILD="${MPC_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
TOOLS="${MPC_TOOLS_DIR:-$ROOT/build/bin}"
CLANG="${MPC_FUZZ_CC:-$(command -v clang-22 || command -v clang-14 || command -v clang)}"
CLANGXX="${MPC_FUZZ_CXX:-$(command -v clang++-22 || command -v clang++-14 || command -v clang++)}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"

if [[ ! -f "$BUILD/build.ninja" ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER="$CLANG" -DCMAKE_CXX_COMPILER="$CLANGXX" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DMPC_FUZZ=ON -DMPC_SANITIZE=address,undefined -DMPC_ENABLE_CUDA=OFF
fi
nice -n 19 cmake --build "$BUILD" --target "mpc_fuzz_$TARGET" -j "${MPC_FUZZ_JOBS:-2}"

SEEDS="$BUILD/fuzz-seeds"
if [[ ! -d "$SEEDS/$TARGET" ]]; then
  args=()
  [[ -x "$TOOLS/mpc-opt" && -x "$TOOLS/mpc-run" ]] && args=(--mpc-opt "$TOOLS/mpc-opt" --mpc-run "$TOOLS/mpc-run")
  "$ROOT/.venv/bin/python" "$ROOT/test/fuzz/make_seeds.py" "$SEEDS" "${args[@]}"
fi
CORPUS="$BUILD/corpus/$TARGET"
ARTIFACTS="$BUILD/fuzz-artifacts/$TARGET"
mkdir -p "$CORPUS" "$ARTIFACTS"
DICT=()
[[ -f "$ROOT/test/fuzz/dict/$TARGET.dict" ]] && DICT=(-dict="$ROOT/test/fuzz/dict/$TARGET.dict")

# The importer and checkpoint targets write each input to a scratch file:
# keep it in memory (on disk the checkpoint target was I/O bound, 8x slower).
if [[ -z "${TMPDIR:-}" && -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_odr_violation=0:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# The budget above is wall time; report the CPU time the fuzzer really got
# (children's user+sys from `times`, before and after the run).
# `times` must run in this shell, not in a command substitution's subshell.
CPU_LOG="$ARTIFACTS/.times"
child_cpu_seconds() { tail -1 "$CPU_LOG" | tr 'ms' '  ' | awk '{print $1*60 + $2 + $3*60 + $4}'; }
times > "$CPU_LOG"; cpu_before=$(child_cpu_seconds)
rc=0
nice -n 19 "$BUILD/bin/mpc_fuzz_$TARGET" "$CORPUS" "$SEEDS/$TARGET" "${DICT[@]}" \
  -max_total_time="$SECONDS_BUDGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$ARTIFACTS/" "$@" || rc=$?
times > "$CPU_LOG"
awk -v a="$cpu_before" -v b="$(child_cpu_seconds)" -v t="$TARGET" \
  'BEGIN { printf "fuzz.sh: %s used %.1f CPU-minutes\n", t, (b - a) / 60 }'

# Keep every finding as a regression input.
REG="$ROOT/test/bad-inputs/regressions/$TARGET"
shopt -s nullglob
for f in "$ARTIFACTS"/crash-* "$ARTIFACTS"/timeout-* "$ARTIFACTS"/oom-* "$ARTIFACTS"/leak-* "$ARTIFACTS"/slow-unit-*; do
  mkdir -p "$REG"
  mv -n "$f" "$REG/"
  echo "fuzz.sh: moved $(basename "$f") to ${REG#$ROOT/}"
done
exit $rc
