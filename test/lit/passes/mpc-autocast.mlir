// RUN: mpc-opt %s -split-input-file -mpc-autocast="dtype=bf16" | FileCheck %s
// Idempotence: a second run changes nothing.
// RUN: mpc-opt %s -split-input-file -mpc-autocast="dtype=bf16" > %t.once
// RUN: mpc-opt %t.once -split-input-file -mpc-autocast="dtype=bf16" > %t.twice
// RUN: diff %t.once %t.twice
// The same decisions in fp16.
// RUN: mpc-opt %s -split-input-file -mpc-autocast="dtype=fp16" | FileCheck %s --check-prefix=FP16

// LOWER: the weight is cast once, right after its load, and both matmuls share
// the cast; the graph input only feeds a cast, so it takes the low dtype.
ml_program.global private @w(dense<0.5> : tensor<4x4xf32>) : tensor<4x4xf32>
func.func @lower(%x: tensor<2x4xf32> {mpc.name = "x"}) -> (tensor<2x4xf32> {mpc.name = "y"}) {
  %w = ml_program.global_load_const @w : tensor<4x4xf32> loc("w")
  %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm")
  %1 = mpc.matmul %0, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm2")
  return %1 : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @lower
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xbf16> {mpc.name = "x"}) -> (tensor<2x4xbf16> {mpc.name = "y"})
// CHECK-NEXT: %[[W:.*]] = ml_program.global_load_const @w
// CHECK-NEXT: %[[WC:.*]] = mpc.cast %[[W]] : (tensor<4x4xf32>) -> tensor<4x4xbf16>
// CHECK-NEXT: %[[M:.*]] = mpc.matmul %[[X]], %[[WC]] {mpc.precision = {dtype = bf16, rule = "default:LOWER"}}
// CHECK-NEXT: %[[M2:.*]] = mpc.matmul %[[M]], %[[WC]] {mpc.precision = {dtype = bf16, rule = "default:LOWER"}}
// CHECK-NEXT: return %[[M2]] : tensor<2x4xbf16>
// FP16-LABEL: func.func @lower
// FP16-SAME: tensor<2x4xf16>
// FP16: mpc.cast %{{.*}} : (tensor<4x4xf32>) -> tensor<4x4xf16>
// FP16: mpc.matmul {{.*}} {mpc.precision = {dtype = f16, rule = "default:LOWER"}}

// -----

// FP32: inputs cast to f32, the result stays f32.
func.func @fp32(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>) -> tensor<2x4xf32> {
  %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm")
  %1 = mpc.softmax %0 {axis = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32> loc("sm")
  %2 = mpc.exp %1 : (tensor<2x4xf32>) -> tensor<2x4xf32> loc("ex")
  return %2 : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @fp32
// CHECK-SAME: -> tensor<2x4xf32>
// CHECK: %[[M:.*]] = mpc.matmul {{.*}} -> tensor<2x4xbf16>
// CHECK-NEXT: %[[C:.*]] = mpc.cast %[[M]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// CHECK-NEXT: %[[S:.*]] = mpc.softmax %[[C]] {axis = 1 : i64, mpc.precision = {dtype = f32, rule = "default:FP32"}} : (tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT: mpc.exp %[[S]] {mpc.precision = {dtype = f32, rule = "default:FP32"}} : (tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-NOT: mpc.cast

// -----

// PROMOTE: the widest float input wins; a scalar constant does not widen.
func.func @promote(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>, %b: tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm")
  %c = mpc.constant {value = dense<2.0> : tensor<f32>} : () -> tensor<f32> loc("two")
  %1 = mpc.mul %0, %c : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32> loc("scale")
  %2 = mpc.add %0, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32> loc("bias")
  return %1, %2 : tensor<2x4xf32>, tensor<2x4xf32>
}

// CHECK-LABEL: func.func @promote
// CHECK-SAME: %{{.*}}: tensor<4xf32>) -> (tensor<2x4xbf16>, tensor<2x4xf32>)
// CHECK: %[[M:.*]] = mpc.matmul {{.*}} -> tensor<2x4xbf16>
// CHECK-NEXT: %[[MF:.*]] = mpc.cast %[[M]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// CHECK-NEXT: %[[TWO:.*]] = mpc.constant
// CHECK-NEXT: %[[TWOL:.*]] = mpc.cast %[[TWO]] : (tensor<f32>) -> tensor<bf16>
// CHECK-NEXT: mpc.mul %[[M]], %[[TWOL]] {mpc.precision = {dtype = bf16, rule = "default:PROMOTE"}} : (tensor<2x4xbf16>, tensor<bf16>) -> tensor<2x4xbf16>
// CHECK-NEXT: mpc.add %[[MF]], %{{.*}} {mpc.precision = {dtype = f32, rule = "default:PROMOTE"}} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>

// -----

// PASS: relu, reshape and transpose run in their input's dtype, no casts.
func.func @pass(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>) -> tensor<4x2xf32> {
  %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm")
  %1 = mpc.relu %0 : (tensor<2x4xf32>) -> tensor<2x4xf32> loc("act")
  %2 = mpc.reshape %1 : (tensor<2x4xf32>) -> tensor<8xf32> loc("flat")
  %3 = mpc.reshape %2 : (tensor<8xf32>) -> tensor<2x4xf32> loc("unflat")
  %4 = mpc.transpose %3 {perm = array<i64: 1, 0>} : (tensor<2x4xf32>) -> tensor<4x2xf32> loc("tr")
  return %4 : tensor<4x2xf32>
}

// CHECK-LABEL: func.func @pass
// CHECK-SAME: -> tensor<4x2xbf16>
// CHECK-NOT: mpc.cast
// CHECK: mpc.relu %{{.*}} {mpc.precision = {dtype = bf16, rule = "default:PASS"}} : (tensor<2x4xbf16>) -> tensor<2x4xbf16>
// CHECK-NEXT: mpc.reshape %{{.*}} {mpc.precision = {dtype = bf16, rule = "default:PASS"}} : (tensor<2x4xbf16>) -> tensor<8xbf16>
// CHECK-NEXT: mpc.reshape %{{.*}} : (tensor<8xbf16>) -> tensor<2x4xbf16>
// CHECK-NEXT: mpc.transpose %{{.*}} {mpc.precision = {dtype = bf16, rule = "default:PASS"}, perm = array<i64: 1, 0>} : (tensor<2x4xbf16>) -> tensor<4x2xbf16>
// CHECK-NOT: mpc.cast

// -----

// batch_norm: X stays in its (low) dtype, scale/bias/mean/var stay f32.
func.func @batch_norm(%x: tensor<1x2x4x4xf32>, %w: tensor<3x2x1x1xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>) -> tensor<1x3x4x4xf32> {
  %0 = mpc.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>) -> tensor<1x3x4x4xf32> loc("conv")
  %1 = mpc.batch_norm %0, %s, %b, %m, %v : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32> loc("bn")
  return %1 : tensor<1x3x4x4xf32>
}

// CHECK-LABEL: func.func @batch_norm
// CHECK-SAME: (%{{.*}}: tensor<1x2x4x4xbf16>, %{{.*}}: tensor<3x2x1x1xbf16>, %[[S:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<3xf32>, %[[MEAN:.*]]: tensor<3xf32>, %[[VAR:.*]]: tensor<3xf32>)
// CHECK-NOT: mpc.cast
// CHECK: %[[C:.*]] = mpc.conv {{.*}}rule = "default:LOWER"{{.*}} -> tensor<1x3x4x4xbf16>
// CHECK-NEXT: mpc.batch_norm %[[C]], %[[S]], %[[B]], %[[MEAN]], %[[VAR]] {mpc.precision = {dtype = bf16, rule = "default:PASS"}} : (tensor<1x3x4x4xbf16>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xbf16>

// -----

// layer_norm is FP32; its statistics are f32 whatever the input.
func.func @layer_norm(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>, %g: tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>) {
  %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm")
  %y, %mean, %rstd = mpc.layer_norm %0, %g {axis = 1 : i64} : (tensor<2x4xf32>, tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>) loc("ln")
  return %y, %mean : tensor<2x4xf32>, tensor<2x1xf32>
}

// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[C:.*]] = mpc.cast %{{.*}} : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// CHECK-NEXT: mpc.layer_norm %[[C]], %{{.*}} {axis = 1 : i64, mpc.precision = {dtype = f32, rule = "default:FP32"}} : (tensor<2x4xf32>, tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>)

// -----

// gather: indices are never cast; where: the condition is never cast.
func.func @gather_where(%table: tensor<10x4xf32>, %ids: tensor<3xi64>, %c: tensor<3x4xi1>, %w: tensor<4x4xf32>) -> tensor<3x4xf32> {
  %0 = mpc.gather %table, %ids {axis = 0 : i64} : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32> loc("emb")
  %1 = mpc.matmul %0, %w : (tensor<3x4xf32>, tensor<4x4xf32>) -> tensor<3x4xf32> loc("mm")
  %2 = mpc.where %c, %1, %0 : (tensor<3x4xi1>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32> loc("sel")
  return %2 : tensor<3x4xf32>
}

// CHECK-LABEL: func.func @gather_where
// CHECK-SAME: (%[[T:.*]]: tensor<10x4xf32>, %[[IDS:.*]]: tensor<3xi64>, %[[COND:.*]]: tensor<3x4xi1>, %{{.*}}: tensor<4x4xbf16>)
// CHECK-NEXT: %[[G:.*]] = mpc.gather %[[T]], %[[IDS]] {axis = 0 : i64, mpc.precision = {dtype = f32, rule = "default:PASS"}}
// CHECK-NEXT: %[[GL:.*]] = mpc.cast %[[G]] : (tensor<3x4xf32>) -> tensor<3x4xbf16>
// CHECK-NEXT: %[[M:.*]] = mpc.matmul %[[GL]]
// CHECK-NEXT: %[[MF:.*]] = mpc.cast %[[M]] : (tensor<3x4xbf16>) -> tensor<3x4xf32>
// CHECK-NEXT: mpc.where %[[COND]], %[[MF]], %[[G]] {mpc.precision = {dtype = f32, rule = "default:PROMOTE"}} : (tensor<3x4xi1>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>

// -----

// Never touched: integer paths, f64 values, user casts (their input is
// restored to its original type, exactly).
func.func @untouched(%i: tensor<4xi64>, %d: tensor<4xf64>, %x: tensor<2x4xf32>, %w: tensor<4x4xf32>) -> (tensor<4xi64>, tensor<4xf64>, tensor<2x4xf16>) {
  %0 = mpc.add %i, %i : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64> loc("int_add")
  %1 = mpc.exp %d : (tensor<4xf64>) -> tensor<4xf64> loc("f64_exp")
  %2 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("mm")
  %3 = mpc.cast %2 {user} : (tensor<2x4xf32>) -> tensor<2x4xf16> loc("user_cast")
  return %0, %1, %3 : tensor<4xi64>, tensor<4xf64>, tensor<2x4xf16>
}

// CHECK-LABEL: func.func @untouched
// CHECK-SAME: (%[[I:.*]]: tensor<4xi64>, %[[D:.*]]: tensor<4xf64>,
// CHECK-NEXT: mpc.add %[[I]], %[[I]] {mpc.precision = {dtype = i64, rule = "untouched:integer"}} : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
// CHECK-NEXT: mpc.exp %[[D]] {mpc.precision = {dtype = f64, rule = "untouched:f64"}} : (tensor<4xf64>) -> tensor<4xf64>
// CHECK-NEXT: %[[M:.*]] = mpc.matmul
// CHECK-NEXT: %[[MF:.*]] = mpc.cast %[[M]] : (tensor<2x4xbf16>) -> tensor<2x4xf32>
// CHECK-NEXT: mpc.cast %[[MF]] {mpc.precision = {dtype = f16, rule = "untouched:user-cast"}, user} : (tensor<2x4xf32>) -> tensor<2x4xf16>
