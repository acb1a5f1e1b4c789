// User policies (docs/precision-policy.md): node-name regex rules beat op-type
// overrides, which beat the preset; per-input overrides set single operands.
// RUN: mpc-opt %s -mpc-autocast="dtype=bf16 policy=%S/Inputs/policy-overrides.json" | FileCheck %s
// RUN: mpc-opt %s -mpc-autocast="dtype=bf16 preset=aggressive policy=%S/Inputs/policy-overrides.json" | FileCheck %s --check-prefix=AGG
// Idempotence (with locations printed: node rules match on them).
// RUN: mpc-opt %s -mlir-print-debuginfo -mpc-autocast="dtype=bf16 policy=%S/Inputs/policy-overrides.json" > %t.once
// RUN: mpc-opt %t.once -mlir-print-debuginfo -mpc-autocast="dtype=bf16 policy=%S/Inputs/policy-overrides.json" | diff %t.once -

// Bad policy files are one clear error line and exit code 1, from the pass
// and from mpc-opt's --precision-policy.
// RUN: not mpc-opt %s -mpc-autocast="policy=%S/Inputs/bad-json.json" 2>&1 | FileCheck %s --check-prefix=BADJSON
// RUN: not mpc-opt %s -mpc-autocast="policy=%S/Inputs/unknown-op.json" 2>&1 | FileCheck %s --check-prefix=UNKOP
// RUN: not mpc-opt %s -mpc-autocast="policy=%S/Inputs/bad-regex.json" 2>&1 | FileCheck %s --check-prefix=BADRE
// RUN: not mpc-opt %s -mpc-autocast="policy=%S/Inputs/bad-class.json" 2>&1 | FileCheck %s --check-prefix=BADCLS
// RUN: not mpc-opt %s -mpc-autocast="policy=%S/Inputs/unknown-key.json" 2>&1 | FileCheck %s --check-prefix=BADKEY
// RUN: not mpc-opt %s -mpc-autocast="policy=%S/Inputs/does-not-exist.json" 2>&1 | FileCheck %s --check-prefix=NOFILE
// RUN: not mpc-opt %s -mpc-autocast="dtype=fp8" 2>&1 | FileCheck %s --check-prefix=BADDTYPE
// RUN: not mpc-opt %s --autocast=bf16 --precision-policy=%S/Inputs/bad-regex.json 2>&1 | FileCheck %s --check-prefix=DRIVER
// RUN: not mpc-opt %s --autocast=fp8 2>&1 | FileCheck %s --check-prefix=DRIVERDTYPE
// An override that gives an op operand types it does not accept names the node.
// RUN: not mpc-opt %s -mpc-autocast="policy=%S/Inputs/invalid-input-override.json" 2>&1 | FileCheck %s --check-prefix=BADINPUT

func.func @policy(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>, %b: tensor<4xf32>, %g: tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %0 = mpc.gemm %x, %w, %b : (tensor<2x4xf32>, tensor<4x4xf32>, tensor<4xf32>) -> tensor<2x4xf32> loc("fc")
  %1 = mpc.relu %0 : (tensor<2x4xf32>) -> tensor<2x4xf32> loc("act")
  %2 = mpc.softmax %0 {axis = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32> loc("probs")
  %3 = mpc.softmax %0 {axis = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32> loc("attn/probs")
  %4 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("head")
  %y, %m, %r = mpc.layer_norm %0, %g {axis = 1 : i64} : (tensor<2x4xf32>, tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>) loc("ln")
  return %1, %2, %3, %y : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// keep_io_types from the file keeps the signature.
// CHECK-LABEL: func.func @policy
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xf32>, %[[W:.*]]: tensor<4x4xf32>, %[[B:.*]]: tensor<4xf32>, %[[G:.*]]: tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
// Per-input override: gemm's bias (input 2) stays f32.
// CHECK: %[[FC:.*]] = mpc.gemm %{{.*}}, %{{.*}}, %[[B]] {mpc.precision = {dtype = bf16, rule = "default:LOWER"}} : (tensor<2x4xbf16>, tensor<4x4xbf16>, tensor<4xf32>) -> tensor<2x4xbf16>
// CHECK-NEXT: %[[FCF:.*]] = mpc.cast %[[FC]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// Op-type override "exclude": relu gets its original f32 input.
// CHECK-NEXT: mpc.relu %[[FCF]] {mpc.precision = {dtype = f32, rule = "op-type:UNTOUCHED"}}
// Op-type override "lower" for Softmax.
// CHECK-NEXT: mpc.softmax %[[FC]] {axis = 1 : i64, mpc.precision = {dtype = bf16, rule = "op-type:LOWER"}} : (tensor<2x4xbf16>) -> tensor<2x4xbf16>
// CHECK-NEXT: mpc.cast
// A node rule beats the op-type override.
// CHECK-NEXT: mpc.softmax %[[FCF]] {axis = 1 : i64, mpc.precision = {dtype = f32, rule = "node:^attn/:FP32"}}
// A node rule excludes a matmul.
// CHECK-NEXT: mpc.matmul %[[X]], %[[W]] {mpc.precision = {dtype = f32, rule = "node:^head$:UNTOUCHED"}} : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT: mpc.layer_norm %[[FCF]], %[[G]] {{.*}}rule = "default:FP32"
// CHECK-NEXT: return

// Under aggressive, layer_norm goes low but its scale (input 1, "keep") stays f32.
// AGG-LABEL: func.func @policy
// AGG: mpc.layer_norm %{{.*}}, %[[G:.*]] {axis = 1 : i64, mpc.precision = {dtype = bf16, rule = "aggressive:LOWER"}} : (tensor<2x4xbf16>, tensor<4xf32>)

// BADJSON: error: mpc-autocast: {{.*}}bad-json.json: bad JSON: {{.*}}
// BADJSON-NOT: note:
// UNKOP: error: mpc-autocast: {{.*}}unknown-op.json: unknown op type 'Frobnicate' in "op_types"
// BADRE: error: mpc-autocast: {{.*}}bad-regex.json: bad regex 'attn(' in nodes[0]: parentheses not balanced
// BADCLS: error: mpc-autocast: {{.*}}bad-class.json: unknown class 'half' in op_types.MatMul, expected lower, fp32, promote, pass or exclude
// BADKEY: error: mpc-autocast: {{.*}}unknown-key.json: unknown key 'op_type'
// NOFILE: error: mpc-autocast: {{.*}}does-not-exist.json: cannot read the policy file
// BADDTYPE: error: mpc-autocast: dtype must be bf16 or fp16, got 'fp8'
// DRIVER: mpc-opt: error: {{.*}}bad-regex.json: bad regex 'attn(' in nodes[0]
// DRIVERDTYPE: mpc-opt: error: --autocast must be bf16 or fp16, got 'fp8'
// BADINPUT: error: {{.*}}mpc-autocast: node 'head' (mpc.matmul) does not accept the operand types the precision policy gives it: (tensor<2x4xbf16>, tensor<4x4xf32>)
// BADINPUT-NOT: error
