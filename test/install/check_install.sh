#!/usr/bin/env bash
# The installed tools work on their own: `cmake --install` the build tree into
# a scratch prefix, then compile and train a tiny model with the installed
# mpc-opt and mpc-run, without LD_LIBRARY_PATH. They must find libmpcrt next
# to them ($ORIGIN/../lib) and LLVM/MLIR where they were linked from.
#   check_install.sh BUILD_DIR SCRATCH_DIR
set -euo pipefail
BUILD="$1"; WORK="$2"
rm -rf "$WORK"
mkdir -p "$WORK"
cmake --install "$BUILD" --prefix "$WORK/prefix" > "$WORK/install.log"
cat > "$WORK/tiny.onnxtxt" <<'MODEL'
<ir_version: 8, opset_import: ["" : 17]>
tiny (float[4,3] x, float[4,2] t) => (float loss)
<float[3,2] w = {0.1, -0.2, 0.3, 0.4, -0.5, 0.6}>
{
  y = MatMul(x, w)
  d = Sub(y, t)
  s = Mul(d, d)
  loss = ReduceMean<keepdims=0>(s)
}
MODEL
unset LD_LIBRARY_PATH
"$WORK/prefix/bin/mpc-opt" "$WORK/tiny.onnxtxt" --train --autocast=bf16 --optimizer=sgd,lr=0.1 \
  --emit=plan -o "$WORK/step.mpcp"
"$WORK/prefix/bin/mpc-run" "$WORK/step.mpcp" --train --steps 2 --synthetic
echo "check_install: the installed mpc-opt and mpc-run work"
