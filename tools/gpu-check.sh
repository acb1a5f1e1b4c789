#!/usr/bin/env bash
# Checks the CUDA backend on a GPU machine and prints one summary table.
#
#   bash tools/gpu-check.sh [--plans DIR] [--build DIR] [--jobs N] [--repeat N] [--steps N]
#
# 1. builds the runtime alone (cmake -S runtime: no MLIR needed) with CUDA;
# 2. runs its unit tests: the CUDA parity and session suites, then the rest;
# 3. benchmarks plans compiled elsewhere by mpc-opt (--plans DIR, see
#    docs/cuda.md): for DIR/NAME.mpcp with inputs in DIR/NAME/*.npy, one
#    inference on CPU and on CUDA (outputs compared), then --repeat timed runs
#    on each; for DIR/NAME.train.mpcp, --steps synthetic training steps on each.
#
# Needs cmake, a C++17 compiler, nvcc, OpenBLAS and GoogleTest; numpy for the
# output comparison. Works offline. Exit status: 0 when every check passed.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-gpu"
PLANS=""
JOBS="$(nproc 2>/dev/null || echo 4)"
REPEAT=20
STEPS=50
while [[ $# -gt 0 ]]; do
  case "$1" in
    --plans) PLANS="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --jobs) JOBS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "gpu-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

LOG="$BUILD/gpu-check-logs"
mkdir -p "$LOG"
ROWS=()
FAILED=0
row() {  # name status detail
  ROWS+=("$(printf '%-44s %-6s %s' "$1" "$2" "$3")")
  [[ "$2" == FAIL ]] && FAILED=1
  printf 'gpu-check: %-44s %-6s %s\n' "$1" "$2" "$3"
}
summary() {
  echo
  echo "==================== gpu-check summary ===================="
  printf '%-44s %-6s %s\n' "check" "status" "detail"
  for r in "${ROWS[@]}"; do echo "$r"; done
  echo "logs: $LOG"
  exit "$FAILED"
}

# ---- the machine ----
if command -v nvidia-smi >/dev/null; then
  row "gpu" INFO "$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
else
  row "gpu" FAIL "nvidia-smi not found"
fi
NVCC="$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)"
if [[ -z "$NVCC" ]]; then row "nvcc" FAIL "not found (PATH, /usr/local/cuda/bin)"; summary; fi
row "nvcc" INFO "$("$NVCC" --version | tail -1)"

# ---- 1. build ----
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
start=$SECONDS
if cmake -S "$ROOT/runtime" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DMPC_ENABLE_CUDA=ON \
     -DCMAKE_CUDA_COMPILER="$NVCC" >"$LOG/configure.log" 2>&1 &&
   cmake --build "$BUILD" -j "$JOBS" >"$LOG/build.log" 2>&1; then
  row "build runtime (cmake -S runtime, CUDA on)" PASS "$((SECONDS - start)) s"
else
  row "build runtime (cmake -S runtime, CUDA on)" FAIL "see $LOG/configure.log, $LOG/build.log"
  tail -20 "$LOG/build.log" 2>/dev/null || tail -20 "$LOG/configure.log"
  summary
fi
grep -q "GoogleTest not found" "$LOG/configure.log" && row "googletest" FAIL "not found: the unit tests were not built"

# ---- 2. tests ----
run_ctest() {  # label ctest-selection-args...
  local out="$LOG/ctest-$1.log"
  local label="$1"
  shift
  ctest --test-dir "$BUILD" "$@" --output-on-failure --timeout 600 >"$out" 2>&1
  local rc=$?
  local line skipped
  line="$(grep -E 'tests passed|tests failed' "$out" | tail -1)"
  skipped="$(grep -c -E '\*\*\*Skipped| Not Run' "$out" || true)"
  if [[ $rc -eq 0 && -n "$line" ]]; then
    row "ctest $label" PASS "$line; $skipped skipped"
  else
    row "ctest $label" FAIL "${line:-no tests ran}; see $out"
    grep -E '\*\*\*Failed|Failure|error' "$out" | head -10
  fi
}
run_ctest cuda -R '^runtime\.cuda\.'
if grep -q -E '\*\*\*Skipped' "$LOG/ctest-cuda.log"; then
  row "cuda tests ran on the GPU" FAIL "some were skipped: $(grep -m1 -o 'no CUDA device[^)]*' "$LOG/ctest-cuda.log" || echo see log)"
fi
run_ctest runtime-other -E '^runtime\.cuda\.' -j "$JOBS"

# ---- 3. plan benchmarks ----
RUN="$BUILD/tools/mpc-run/mpc-run"
[[ -x "$RUN" ]] || RUN="$(find "$BUILD" -name mpc-run -type f -perm -u+x | head -1)"
PY="$(command -v python3 || true)"
timing() { grep -o 'min [0-9.]* ms, median [0-9.]* ms' "$1" | head -1; }
if [[ -n "$PLANS" ]]; then
  shopt -s nullglob
  for plan in "$PLANS"/*.mpcp; do
    base="$(basename "$plan" .mpcp)"
    if [[ "$base" == *.train ]]; then
      for dev in cpu cuda; do
        out="$LOG/train-$base-$dev.log"
        if "$RUN" "$plan" --train --steps "$STEPS" --synthetic --classes 10 --print-every "$STEPS" --device=$dev >"$out" 2>&1; then
          row "train $base ($dev)" PASS "$(grep -o '[0-9.]* steps/s' "$out" | tail -1); $(grep -o 'loss [0-9.e+-]*' "$out" | tail -1)"
        else
          row "train $base ($dev)" FAIL "$(tail -1 "$out")"
        fi
      done
      continue
    fi
    inputs="$PLANS/$base"
    if [[ ! -d "$inputs" ]]; then row "plan $base" SKIP "no input directory $inputs/"; continue; fi
    ok=1
    for dev in cpu cuda; do
      rm -rf "$LOG/out-$base-$dev"
      if ! "$RUN" "$plan" --inputs "$inputs" --device=$dev --output-dir "$LOG/out-$base-$dev" >"$LOG/run-$base-$dev.log" 2>&1; then
        row "plan $base ($dev)" FAIL "$(tail -1 "$LOG/run-$base-$dev.log")"
        ok=0
      fi
    done
    [[ $ok == 1 ]] || continue
    if [[ -n "$PY" ]]; then
      cmp="$("$PY" - "$LOG/out-$base-cpu" "$LOG/out-$base-cuda" 2>&1 <<'EOF'
import glob, os, sys
import numpy as np
a, b = sys.argv[1], sys.argv[2]
worst, bad = 0.0, []
for f in sorted(glob.glob(os.path.join(a, "*.npy"))):
    x = np.load(f).astype(np.float64)
    y = np.load(os.path.join(b, os.path.basename(f))).astype(np.float64)
    if x.shape != y.shape or not np.array_equal(np.isnan(x), np.isnan(y)):
        bad.append(os.path.basename(f)); continue
    m = ~np.isnan(x)
    scale = max(np.abs(x[m]).max(initial=0.0), 1e-30)
    worst = max(worst, float(np.abs(x[m] - y[m]).max(initial=0.0)) / scale)
print(("MISMATCH " + ",".join(bad)) if bad else "max rel diff %.3g" % worst)
EOF
)"
      status=PASS
      [[ "$cmp" == MISMATCH* || "$cmp" == *Error* ]] && status=FAIL
      row "plan $base cpu vs cuda outputs" $status "$cmp"
    fi
    for dev in cpu cuda; do
      out="$LOG/bench-$base-$dev.log"
      if "$RUN" "$plan" --inputs "$inputs" --device=$dev --repeat "$REPEAT" >"$out" 2>&1; then
        row "bench $base ($dev, $REPEAT runs)" INFO "$(timing "$out")"
      else
        row "bench $base ($dev)" FAIL "$(tail -1 "$out")"
      fi
    done
  done
else
  row "plan benchmarks" SKIP "no --plans DIR given (docs/cuda.md)"
fi
summary
