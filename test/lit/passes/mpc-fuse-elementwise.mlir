// mpc-fuse-elementwise: connected elementwise ops of one block become one
// mpc.fused_elementwise; ops keep their types (no value changes).
// RUN: mpc-opt %s -split-input-file -mpc-fuse-elementwise | FileCheck %s
// Idempotent: a second run changes nothing.
// RUN: mpc-opt %s -split-input-file -mpc-fuse-elementwise | mpc-opt -split-input-file -mpc-fuse-elementwise > %t.twice.mlir
// RUN: mpc-opt %s -split-input-file -mpc-fuse-elementwise > %t.once.mlir
// RUN: diff %t.once.mlir %t.twice.mlir
// mpc-opt --emit=plan fuses by default; --no-fusion keeps one kernel per op.
// RUN: mpc-opt %S/Inputs/fuse-plan.mlir --emit=plan -o %t.mpcp --plan-stats 2>&1 | FileCheck %s --check-prefix=PLAN
// PLAN: plan: 2 kernels
// PLAN: plan: fused 3 elementwise ops into 1 groups
// RUN: mpc-opt %S/Inputs/fuse-plan.mlir --emit=plan --no-fusion -o %t.2.mpcp --plan-stats 2>&1 | FileCheck %s --check-prefix=NOFUSE
// NOFUSE: plan: 4 kernels
// NOFUSE: plan: fused 0 elementwise ops into 0 groups
// The locations of the members are fused (root first).
// RUN: mpc-opt %s -split-input-file -mpc-fuse-elementwise -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s --check-prefix=LOC

// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xbf16>, %[[B:.*]]: tensor<8xbf16>)
// CHECK: %[[F:.*]] = mpc.fused_elementwise %[[X]], %[[B]] : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16> {
// CHECK-NEXT: ^bb0(%[[A0:.*]]: tensor<4x8xbf16>, %[[A1:.*]]: tensor<8xbf16>):
// CHECK-NEXT: %[[S:.*]] = mpc.add %[[A0]], %[[A1]] : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16>
// CHECK-NEXT: %[[G:.*]] = mpc.gelu %[[S]] {approximate = "tanh"}
// CHECK-NEXT: %[[W:.*]] = mpc.cast %[[G]] : (tensor<4x8xbf16>) -> tensor<4x8xf32>
// CHECK-NEXT: %[[E:.*]] = mpc.exp %[[W]] : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: %[[N:.*]] = mpc.cast %[[E]] : (tensor<4x8xf32>) -> tensor<4x8xbf16>
// CHECK-NEXT: mpc.yield %[[N]] : tensor<4x8xbf16>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[F]]
// LOC-LABEL: func.func @chain
// LOC: mpc.yield {{.*}} loc("exp.back")
// LOC-NEXT: } loc(fused["exp.back", "bias", "gelu", "exp.in", "exp"])
func.func @chain(%x: tensor<4x8xbf16>, %b: tensor<8xbf16>) -> tensor<4x8xbf16> {
  %0 = mpc.add %x, %b : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16> loc("bias")
  %1 = mpc.gelu %0 {approximate = "tanh"} : (tensor<4x8xbf16>) -> tensor<4x8xbf16> loc("gelu")
  %2 = mpc.cast %1 : (tensor<4x8xbf16>) -> tensor<4x8xf32> loc("exp.in")
  %3 = mpc.exp %2 : (tensor<4x8xf32>) -> tensor<4x8xf32> loc("exp")
  %4 = mpc.cast %3 : (tensor<4x8xf32>) -> tensor<4x8xbf16> loc("exp.back")
  return %4 : tensor<4x8xbf16>
}

// -----

// A value used twice is not an internal value: it stays outside and feeds
// the group; the remaining single op (exp) is left alone.
// CHECK-LABEL: func.func @multi_use
// CHECK: %[[E:.*]] = mpc.exp %{{.*}} : (tensor<16xf32>) -> tensor<16xf32>
// CHECK-NEXT: %[[F:.*]] = mpc.fused_elementwise %[[E]] : (tensor<16xf32>) -> tensor<16xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<16xf32>):
// CHECK-NEXT: %[[R:.*]] = mpc.relu %[[A]]
// CHECK-NEXT: %[[S:.*]] = mpc.add %[[R]], %[[A]]
// CHECK-NEXT: mpc.yield %[[S]]
// CHECK: return %[[F]]
func.func @multi_use(%x: tensor<16xf32>) -> tensor<16xf32> {
  %0 = mpc.exp %x : (tensor<16xf32>) -> tensor<16xf32>
  %1 = mpc.relu %0 : (tensor<16xf32>) -> tensor<16xf32>
  %2 = mpc.add %1, %0 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  return %2 : tensor<16xf32>
}

// -----

// An intermediate returned from the function escapes: it ends the group below
// it and roots its own.
// CHECK-LABEL: func.func @escaping
// CHECK: %[[G1:.*]] = mpc.fused_elementwise %{{.*}} : (tensor<16xf32>) -> tensor<16xf32> {
// CHECK: mpc.neg
// CHECK-NEXT: mpc.tanh
// CHECK: %[[G2:.*]] = mpc.fused_elementwise %[[G1]] : (tensor<16xf32>) -> tensor<16xf32> {
// CHECK: mpc.sigmoid
// CHECK-NEXT: mpc.sqrt
// CHECK: return %[[G2]], %[[G1]]
func.func @escaping(%x: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>) {
  %0 = mpc.neg %x : (tensor<16xf32>) -> tensor<16xf32>
  %1 = mpc.tanh %0 : (tensor<16xf32>) -> tensor<16xf32>
  %2 = mpc.sigmoid %1 : (tensor<16xf32>) -> tensor<16xf32>
  %3 = mpc.sqrt %2 : (tensor<16xf32>) -> tensor<16xf32>
  return %3, %1 : tensor<16xf32>, tensor<16xf32>
}

// -----

// A value smaller than the root's shape (it would be recomputed per output
// element) stays outside; broadcasting operands enter as group operands.
// CHECK-LABEL: func.func @broadcast
// CHECK: %[[S:.*]] = mpc.mul %{{.*}}, %{{.*}} : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
// CHECK-NEXT: %[[F:.*]] = mpc.fused_elementwise %{{.*}}, %[[S]] : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32> {
// CHECK: mpc.sub
// CHECK-NEXT: mpc.abs
// CHECK-NEXT: mpc.yield
func.func @broadcast(%x: tensor<4x8xf32>, %s: tensor<8xf32>, %k: tensor<f32>) -> tensor<4x8xf32> {
  %0 = mpc.mul %s, %k : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %1 = mpc.sub %x, %0 : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %2 = mpc.abs %1 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %2 : tensor<4x8xf32>
}

// -----

// Nothing is fused across a non-elementwise op, and single ops stay as they are.
// CHECK-LABEL: func.func @barrier
// CHECK-NOT: mpc.fused_elementwise
// CHECK: mpc.relu
// CHECK-NEXT: mpc.matmul
// CHECK-NEXT: mpc.exp
// CHECK-NEXT: mpc.softmax
// CHECK-NEXT: mpc.log
// CHECK-NEXT: return
func.func @barrier(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %0 = mpc.relu %x : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %1 = mpc.matmul %0, %0 : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
  %2 = mpc.exp %1 : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %3 = mpc.softmax %2 {axis = 1 : i64} : (tensor<4x4xf32>) -> tensor<4x4xf32>
  %4 = mpc.log %3 : (tensor<4x4xf32>) -> tensor<4x4xf32>
  return %4 : tensor<4x4xf32>
}

// -----

// Casts between f32/f16/bf16/f64 fuse; casts to FP8 or integers, comparisons
// and integer arithmetic do not. `where` takes its i1 condition as an operand
// (and the scalar cast, smaller than the root, stays outside).
// CHECK-LABEL: func.func @casts_and_where
// CHECK: %[[C:.*]] = mpc.less %{{.*}}, %{{.*}} : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xi1>
// CHECK-NEXT: %[[Z:.*]] = mpc.cast %{{.*}} : (tensor<f64>) -> tensor<f32>
// CHECK-NEXT: %[[F:.*]] = mpc.fused_elementwise %[[C]], %{{.*}}, %[[Z]] : (tensor<8xi1>, tensor<8xf32>, tensor<f32>) -> tensor<8xf16> {
// CHECK: mpc.where
// CHECK-NEXT: mpc.cast %{{.*}} : (tensor<8xf32>) -> tensor<8xf16>
// CHECK-NEXT: mpc.leaky_relu
// CHECK-NEXT: mpc.yield
// CHECK: mpc.cast %[[F]] : (tensor<8xf16>) -> tensor<8xf8E4M3FN>
// CHECK: mpc.cast %{{.*}} : (tensor<8xf32>) -> tensor<8xi32>
// CHECK-NEXT: mpc.add %{{.*}} : (tensor<8xi32>, tensor<8xi32>) -> tensor<8xi32>
func.func @casts_and_where(%x: tensor<8xf32>, %y: tensor<8xf32>, %z: tensor<f64>) -> (tensor<8xf8E4M3FN>, tensor<8xi32>) {
  %c = mpc.less %x, %y : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xi1>
  %z32 = mpc.cast %z : (tensor<f64>) -> tensor<f32>
  %w = mpc.where %c, %x, %z32 : (tensor<8xi1>, tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %h = mpc.cast %w : (tensor<8xf32>) -> tensor<8xf16>
  %l = mpc.leaky_relu %h {alpha = 0.2 : f32} : (tensor<8xf16>) -> tensor<8xf16>
  %q = mpc.cast %l : (tensor<8xf16>) -> tensor<8xf8E4M3FN>
  %i = mpc.cast %y : (tensor<8xf32>) -> tensor<8xi32>
  %j = mpc.add %i, %i : (tensor<8xi32>, tensor<8xi32>) -> tensor<8xi32>
  return %q, %j : tensor<8xf8E4M3FN>, tensor<8xi32>
}

// -----

// An f16/bf16 where never ends a group (its kernel copies bytes); the chain
// feeding it still fuses.
// CHECK-LABEL: func.func @where_root
// CHECK: %[[F:.*]] = mpc.fused_elementwise %{{.*}} : (tensor<8xf16>) -> tensor<8xf16> {
// CHECK: mpc.exp
// CHECK-NEXT: mpc.neg
// CHECK: mpc.where %{{.*}}, %[[F]], %{{.*}} : (tensor<8xi1>, tensor<8xf16>, tensor<8xf16>) -> tensor<8xf16>
func.func @where_root(%c: tensor<8xi1>, %x: tensor<8xf16>, %y: tensor<8xf16>) -> tensor<8xf16> {
  %0 = mpc.exp %x : (tensor<8xf16>) -> tensor<8xf16>
  %1 = mpc.neg %0 : (tensor<8xf16>) -> tensor<8xf16>
  %2 = mpc.where %c, %1, %y : (tensor<8xi1>, tensor<8xf16>, tensor<8xf16>) -> tensor<8xf16>
  return %2 : tensor<8xf16>
}

// -----

// The runtime kernel takes at most 16 operands: a 17-operand chain drops its
// earliest op.
// CHECK-LABEL: func.func @operand_limit
// CHECK: %[[FIRST:.*]] = mpc.add %arg0, %arg1
// CHECK-NEXT: mpc.fused_elementwise %[[FIRST]], %arg2, %arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11, %arg12, %arg13, %arg14, %arg15, %arg16 :
// CHECK-COUNT-15: mpc.add
// CHECK-NEXT: mpc.yield
func.func @operand_limit(%x0: tensor<4xf32>, %x1: tensor<4xf32>, %x2: tensor<4xf32>, %x3: tensor<4xf32>, %x4: tensor<4xf32>, %x5: tensor<4xf32>, %x6: tensor<4xf32>, %x7: tensor<4xf32>, %x8: tensor<4xf32>, %x9: tensor<4xf32>, %x10: tensor<4xf32>, %x11: tensor<4xf32>, %x12: tensor<4xf32>, %x13: tensor<4xf32>, %x14: tensor<4xf32>, %x15: tensor<4xf32>, %x16: tensor<4xf32>) -> tensor<4xf32> {
  %1 = mpc.add %x0, %x1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = mpc.add %1, %x2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %3 = mpc.add %2, %x3 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %4 = mpc.add %3, %x4 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %5 = mpc.add %4, %x5 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %6 = mpc.add %5, %x6 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %7 = mpc.add %6, %x7 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %8 = mpc.add %7, %x8 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %9 = mpc.add %8, %x9 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %10 = mpc.add %9, %x10 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %11 = mpc.add %10, %x11 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %12 = mpc.add %11, %x12 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %13 = mpc.add %12, %x13 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %14 = mpc.add %13, %x14 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %15 = mpc.add %14, %x15 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %16 = mpc.add %15, %x16 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %16 : tensor<4xf32>
}
