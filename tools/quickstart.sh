#!/usr/bin/env bash
# The main job: set up everything, compile the example ONNX model into a
# mixed-precision (BF16) training step and train it.
#
#   1. install dependencies (apt + .venv) and build (tools/build.sh)
#   2. write the example MLP classifier with its loss (examples/mlp/make_mlp.py)
#      and 16 batches of a learnable synthetic task
#   3. mpc-opt: import, autocast to BF16, autodiff + AdamW, lower to a plan
#   4. mpc-run --train: 200 steps with a progress line, a CSV log and a
#      safetensors checkpoint (CPU; CUDA once that backend exists and a GPU is
#      present)
#   5. inference check: the FP32 forward plan against onnxruntime
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/install-deps.sh
bash tools/build.sh
BUILD="${MPC_BUILD_DIR:-$ROOT/build}"
PY="$ROOT/.venv/bin/python"
OUT="${MPC_QUICKSTART_DIR:-$ROOT/out/quickstart}"
mkdir -p "$OUT"

DEVICE=cpu
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  DEVICE=cuda
fi

echo "== 1. example model and data"
"$PY" examples/mlp/make_mlp.py "$OUT/mlp.onnx"
"$PY" examples/mlp/make_batch.py "$OUT/data" --batches 16
"$PY" examples/mlp/make_batch.py "$OUT/batch"

echo "== 2. compile: mpc-opt mlp.onnx --train --autocast=bf16 --optimizer=adamw"
"$BUILD/bin/mpc-opt" "$OUT/mlp.onnx" --train --autocast=bf16 --optimizer=adamw,lr=1e-3 \
  --precision-report="$OUT/precision.txt" --emit=plan -o "$OUT/step.mpcp" --plan-stats
cat "$OUT/precision.txt"

echo "== 3. train: mpc-run step.mpcp --train --steps 200 --device=$DEVICE"
train() {
  "$BUILD/bin/mpc-run" "$OUT/step.mpcp" --device="$1" --train --steps 200 --data "$OUT/data" \
    --log "$OUT/train.csv" --save-state "$OUT/checkpoint.safetensors" --print-every 20
}
if ! train "$DEVICE"; then
  if [[ "$DEVICE" == cuda ]]; then
    echo "the CUDA backend is not available in this build; training on the CPU instead"
    train cpu
  else
    exit 1
  fi
fi
echo "log: $OUT/train.csv   checkpoint: $OUT/checkpoint.safetensors"

echo "== 4. inference: FP32 forward plan vs onnxruntime"
"$BUILD/bin/mpc-opt" "$OUT/mlp.onnx" --emit=plan -o "$OUT/mlp.mpcp"
"$BUILD/bin/mpc-run" "$OUT/mlp.mpcp" --inputs "$OUT/batch" --output-dir "$OUT/outputs" --repeat 20
"$PY" examples/mlp/compare_ort.py "$OUT/mlp.onnx" "$OUT/batch" "$OUT/outputs"
