// mpc-autodiff: the gradient rule of each op family, and the driver
// (seed, reverse walk, accumulation, dtype of the backward).
// RUN: mpc-opt %s -split-input-file -mpc-autodiff | FileCheck %s

// Unary ops: each rule in reverse order, from the seed.
// CHECK-LABEL: func.func @main() -> (tensor<f32> {mpc.name = "loss"}, tensor<4xf32> {mpc.name = "p.grad"})
// CHECK: %[[SEED:.*]] = mpc.constant {mpc.grad_seed, value = dense<1.000000e+00> : tensor<f32>}
// CHECK: mpc.mul %{{.*}}, %{{.*}} : (tensor<1xf32>, tensor<f32>) -> tensor<1xf32>
// CHECK: mpc.expand
// relu
// CHECK: mpc.greater
// CHECK: mpc.where
// leaky_relu
// CHECK: mpc.greater_equal
// CHECK: mpc.constant {value = dense<5.000000e-01> : tensor<f32>}
// CHECK: mpc.where
// CHECK: mpc.gelu_grad %{{.*}}, %{{.*}} {approximate = "tanh"}
// erf: 2/sqrt(pi) exp(-x^2)
// CHECK: mpc.exp
// CHECK: mpc.constant {value = dense<1.12837923> : tensor<f32>}
// abs
// CHECK: mpc.greater
// CHECK: mpc.less
// CHECK: mpc.where
// CHECK: mpc.where
// neg
// CHECK: mpc.neg
// reciprocal: -dy * y^2
// CHECK: mpc.mul
// CHECK: mpc.mul
// CHECK: mpc.neg
// sqrt: dy * 0.5 / y
// CHECK: mpc.div
// log: dy / x
// CHECK: mpc.div
// exp: dy * y
// CHECK: mpc.mul
// sigmoid: dy * y * (1 - y)
// CHECK: mpc.sub
// CHECK: mpc.mul
// CHECK: mpc.mul
// tanh: dy * (1 - y^2)
// CHECK: mpc.mul
// CHECK: mpc.sub
// CHECK: %[[DP:.*]] = mpc.mul
// CHECK: return %{{.*}}, %[[DP]]
module {
  ml_program.global private @p(dense<0.5> : tensor<4xf32>) : tensor<4xf32>
  func.func @main() -> (tensor<f32> {mpc.name = "loss"}) {
    %p = ml_program.global_load_const @p : tensor<4xf32>
    %0 = mpc.tanh %p : (tensor<4xf32>) -> tensor<4xf32>
    %1 = mpc.sigmoid %0 : (tensor<4xf32>) -> tensor<4xf32>
    %2 = mpc.exp %1 : (tensor<4xf32>) -> tensor<4xf32>
    %3 = mpc.log %2 : (tensor<4xf32>) -> tensor<4xf32>
    %4 = mpc.sqrt %3 : (tensor<4xf32>) -> tensor<4xf32>
    %5 = mpc.reciprocal %4 : (tensor<4xf32>) -> tensor<4xf32>
    %6 = mpc.neg %5 : (tensor<4xf32>) -> tensor<4xf32>
    %7 = mpc.abs %6 : (tensor<4xf32>) -> tensor<4xf32>
    %8 = mpc.erf %7 : (tensor<4xf32>) -> tensor<4xf32>
    %9 = mpc.gelu %8 {approximate = "tanh"} : (tensor<4xf32>) -> tensor<4xf32>
    %10 = mpc.leaky_relu %9 {alpha = 0.5 : f32} : (tensor<4xf32>) -> tensor<4xf32>
    %11 = mpc.relu %10 : (tensor<4xf32>) -> tensor<4xf32>
    %l = mpc.reduce_mean %11 {axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// Broadcasting binary ops: operands get the gradient summed over their
// broadcast dims; the f64 exponent of pow gets an f64 gradient; where's
// condition gets none.
// CHECK-LABEL: func.func @main(%{{.*}}: tensor<2x1xi1>) -> (tensor<f32> {mpc.name = "loss"}, tensor<2x3xf32> {mpc.name = "a.grad"}, tensor<3xf32> {mpc.name = "b.grad"}, tensor<f64> {mpc.name = "e.grad"})
// where
// CHECK: mpc.where %arg0, %{{.*}}, %{{.*}} : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
// CHECK: mpc.where %arg0, %{{.*}}, %{{.*}} : (tensor<2x1xi1>, tensor<f32>, tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK: mpc.reduce_sum %{{.*}} {axes = array<i64: 0>} : (tensor<2x3xf32>) -> tensor<1x3xf32>
// CHECK: mpc.reshape %{{.*}} : (tensor<1x3xf32>) -> tensor<3xf32>
// pow: b * a^(b-1) and c * log(a)
// CHECK: mpc.sub %{{.*}}, %{{.*}} : (tensor<f64>, tensor<f64>) -> tensor<f64>
// CHECK: mpc.pow %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<f64>) -> tensor<2x3xf32>
// CHECK: mpc.cast %{{.*}} : (tensor<f64>) -> tensor<f32>
// CHECK: mpc.log
// CHECK: mpc.cast %{{.*}} : (tensor<2x3xf32>) -> tensor<2x3xf64>
// CHECK: mpc.reduce_sum %{{.*}} {axes = array<i64: 0, 1>} : (tensor<2x3xf64>) -> tensor<1x1xf64>
// CHECK: mpc.reshape %{{.*}} : (tensor<1x1xf64>) -> tensor<f64>
// min: ties go to the left operand
// CHECK: mpc.less_equal
// max
// CHECK: mpc.greater_equal
// div: da = dy / b, db = -(dy * c) / b
// CHECK: mpc.div
// CHECK: mpc.mul
// CHECK: mpc.div
// CHECK: mpc.neg
// gradients of b accumulate with mpc.add
// CHECK: mpc.add %{{.*}}, %{{.*}} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
module {
  ml_program.global private @a(dense<0.5> : tensor<2x3xf32>) : tensor<2x3xf32>
  ml_program.global private @b(dense<0.5> : tensor<3xf32>) : tensor<3xf32>
  ml_program.global private @e(dense<2.0> : tensor<f64>) : tensor<f64>
  func.func @main(%c: tensor<2x1xi1>) -> (tensor<f32> {mpc.name = "loss"}) {
    %a = ml_program.global_load_const @a : tensor<2x3xf32>
    %b = ml_program.global_load_const @b : tensor<3xf32>
    %e = ml_program.global_load_const @e : tensor<f64>
    %0 = mpc.sub %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    %1 = mpc.mul %0, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    %2 = mpc.div %1, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    %3 = mpc.max %2, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    %4 = mpc.min %3, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
    %5 = mpc.pow %4, %e : (tensor<2x3xf32>, tensor<f64>) -> tensor<2x3xf32>
    %6 = mpc.where %c, %5, %b : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    %l = mpc.reduce_sum %6 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// matmul with a 1-D lhs and with batch dims, gemm with alpha, beta and trans_b.
// CHECK-LABEL: func.func @main(%{{.*}}: tensor<2x6x4xf32>)
// CHECK-SAME: tensor<4xf32> {mpc.name = "v.grad"}, tensor<4x3xf32> {mpc.name = "w.grad"}, tensor<5x3xf32> {mpc.name = "g.grad"}, tensor<5xf32> {mpc.name = "c.grad"}
// gemm: dA = alpha dY B, dB = alpha dY^T A, dC = beta dY summed over rows
// CHECK: %[[DA:.*]] = mpc.gemm %[[DY:.*]], %g {alpha = 2.000000e+00 : f32} : (tensor<12x5xf32>, tensor<5x3xf32>) -> tensor<12x3xf32>
// CHECK: %[[DG:.*]] = mpc.gemm %[[DY]], %{{.*}} {alpha = 2.000000e+00 : f32, trans_a = true} : (tensor<12x5xf32>, tensor<12x3xf32>) -> tensor<5x3xf32>
// CHECK: mpc.constant {value = dense<5.000000e-01> : tensor<f32>}
// CHECK: mpc.reduce_sum %{{.*}} {axes = array<i64: 0>} : (tensor<12x5xf32>) -> tensor<1x5xf32>
// CHECK: %[[DC:.*]] = mpc.reshape %{{.*}} : (tensor<1x5xf32>) -> tensor<5xf32>
// batched: the weight gradient is summed over the batch
// CHECK: mpc.transpose %arg0 {perm = array<i64: 0, 2, 1>}
// CHECK: mpc.matmul %{{.*}}, %{{.*}} : (tensor<2x4x6xf32>, tensor<2x6x3xf32>) -> tensor<2x4x3xf32>
// CHECK: mpc.reduce_sum %{{.*}} {axes = array<i64: 0>} : (tensor<2x4x3xf32>) -> tensor<1x4x3xf32>
// 1-D lhs: promoted to 1 x K and back
// CHECK: mpc.reshape %v : (tensor<4xf32>) -> tensor<1x4xf32>
// CHECK: mpc.matmul %{{.*}}, %{{.*}} : (tensor<1x3xf32>, tensor<3x4xf32>) -> tensor<1x4xf32>
// CHECK: %[[DV:.*]] = mpc.reshape %{{.*}} : (tensor<1x4xf32>) -> tensor<4xf32>
// CHECK: mpc.matmul %{{.*}}, %{{.*}} : (tensor<4x1xf32>, tensor<1x3xf32>) -> tensor<4x3xf32>
// CHECK: %[[DW:.*]] = mpc.add
// CHECK: return %{{.*}}, %[[DV]], %[[DW]], %[[DG]], %[[DC]]
module {
  ml_program.global private @v(dense<0.5> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private @w(dense<0.5> : tensor<4x3xf32>) : tensor<4x3xf32>
  ml_program.global private @g(dense<0.5> : tensor<5x3xf32>) : tensor<5x3xf32>
  ml_program.global private @c(dense<0.5> : tensor<5xf32>) : tensor<5xf32>
  func.func @main(%x: tensor<2x6x4xf32>) -> (tensor<f32> {mpc.name = "loss"}) {
    %v = ml_program.global_load_const @v : tensor<4xf32>
    %w = ml_program.global_load_const @w : tensor<4x3xf32>
    %g = ml_program.global_load_const @g : tensor<5x3xf32>
    %c = ml_program.global_load_const @c : tensor<5xf32>
    %0 = mpc.matmul %v, %w : (tensor<4xf32>, tensor<4x3xf32>) -> tensor<3xf32>
    %1 = mpc.matmul %x, %w : (tensor<2x6x4xf32>, tensor<4x3xf32>) -> tensor<2x6x3xf32>
    %2 = mpc.reshape %1 : (tensor<2x6x3xf32>) -> tensor<12x3xf32>
    %3 = mpc.gemm %2, %g, %c {alpha = 2.0 : f32, beta = 0.5 : f32, trans_b = true} : (tensor<12x3xf32>, tensor<5x3xf32>, tensor<5xf32>) -> tensor<12x5xf32>
    %4 = mpc.reduce_sum %3 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<12x5xf32>) -> tensor<f32>
    %5 = mpc.reduce_sum %0 {axes = array<i64: 0>, keepdims = false} : (tensor<3xf32>) -> tensor<f32>
    %l = mpc.add %4, %5 : (tensor<f32>, tensor<f32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// conv, max_pool, avg_pool, global_avg_pool; the input x gets no gradient.
// CHECK-LABEL: func.func @main(
// CHECK-NOT: conv_grad_input
// CHECK: mpc.constant {value = dense<6.250000e-02> : tensor<f32>}
// CHECK: mpc.expand %{{.*}} : (tensor<2x4x1x1xf32>) -> tensor<2x4x4x4xf32>
// CHECK: mpc.avg_pool_grad %{{.*}} {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
// CHECK: %[[DC:.*]] = mpc.max_pool_grad %0, %{{.*}} {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>}
// CHECK: %[[DW:.*]] = mpc.conv_grad_weight %arg0, %[[DC]] {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<2x3x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<4x3x3x3xf32>
// CHECK: %[[DB:.*]] = mpc.reduce_sum %[[DC]] {axes = array<i64: 0, 2, 3>, keepdims = false} : (tensor<2x4x8x8xf32>) -> tensor<4xf32>
// CHECK: return %{{.*}}, %[[DW]], %[[DB]]
module {
  ml_program.global private @w(dense<0.5> : tensor<4x3x3x3xf32>) : tensor<4x3x3x3xf32>
  ml_program.global private @b(dense<0.5> : tensor<4xf32>) : tensor<4xf32>
  func.func @main(%x: tensor<2x3x8x8xf32>) -> (tensor<f32> {mpc.name = "loss"}) {
    %w = ml_program.global_load_const @w : tensor<4x3x3x3xf32>
    %b = ml_program.global_load_const @b : tensor<4xf32>
    %0 = mpc.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<2x4x8x8xf32>
    %1 = mpc.max_pool %0 {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<2x4x8x8xf32>) -> tensor<2x4x4x4xf32>
    %2 = mpc.avg_pool %1 {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>} : (tensor<2x4x4x4xf32>) -> tensor<2x4x4x4xf32>
    %3 = mpc.global_avg_pool %2 : (tensor<2x4x4x4xf32>) -> tensor<2x4x1x1xf32>
    %l = mpc.reduce_sum %3 {axes = array<i64: 0, 1, 2, 3>, keepdims = false} : (tensor<2x4x1x1xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// batch_norm_train, batch_norm (inference), layer_norm, softmax, log_softmax,
// reduce_max; the running statistics get no gradient.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: (tensor<f32> {mpc.name = "loss"}, tensor<4xf32> {mpc.name = "s.grad"}, tensor<4xf32> {mpc.name = "t.grad"}, tensor<6xf32> {mpc.name = "g.grad"})
// reduce_max: ties share the gradient
// CHECK: mpc.equal
// CHECK: mpc.reduce_sum %{{.*}} {axes = array<i64: 1>} : (tensor<2x4x6xf32>) -> tensor<2x1x6xf32>
// CHECK: mpc.div
// CHECK: mpc.log_softmax_grad %2, %{{.*}} {axis = 1 : i64}
// CHECK: mpc.softmax_grad %1, %{{.*}} {axis = 2 : i64}
// CHECK: %[[DX:.*]], %[[DG:.*]], %[[DB:.*]] = mpc.layer_norm_grad %0, %g, %mean, %inv_std_dev, %{{.*}} {axis = 2 : i64, epsilon = 9.99999974E-6 : f32}
// CHECK: %[[DGS:.*]] = mpc.add %[[DG]], %[[DB]]
// batch_norm: dx = dy * scale / sqrt(var + eps)
// CHECK: mpc.sqrt
// CHECK: mpc.reciprocal
// CHECK: mpc.mul %s,
// CHECK: mpc.reshape %{{.*}} : (tensor<4xf32>) -> tensor<4x1xf32>
// CHECK: %[[BNDX:.*]] = mpc.mul %[[DX]], %{{.*}} : (tensor<2x4x6xf32>, tensor<4x1xf32>)
// CHECK: mpc.batch_norm_train_grad %arg0, %s, %[[BNDX]] : (tensor<2x4x6xf32>, tensor<4xf32>, tensor<2x4x6xf32>) -> (tensor<2x4x6xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %[[DGS]]
module {
  ml_program.global private @s(dense<1.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private @t(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private @rm(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private @rv(dense<1.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private @g(dense<1.0> : tensor<6xf32>) : tensor<6xf32>
  func.func @main(%x: tensor<2x4x6xf32>) -> (tensor<f32> {mpc.name = "loss"}) {
    %s = ml_program.global_load_const @s : tensor<4xf32>
    %t = ml_program.global_load_const @t : tensor<4xf32>
    %rm = ml_program.global_load_const @rm : tensor<4xf32>
    %rv = ml_program.global_load_const @rv : tensor<4xf32>
    %g = ml_program.global_load_const @g : tensor<6xf32>
    %0:3 = mpc.batch_norm_train %x, %s, %t, %rm, %rv : (tensor<2x4x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x6xf32>, tensor<4xf32>, tensor<4xf32>)
    %1 = mpc.batch_norm %0#0, %s, %t, %rm, %rv : (tensor<2x4x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x6xf32>
    %2:3 = mpc.layer_norm %1, %g, %g {axis = 2 : i64} : (tensor<2x4x6xf32>, tensor<6xf32>, tensor<6xf32>) -> (tensor<2x4x6xf32>, tensor<2x4x1xf32>, tensor<2x4x1xf32>)
    %3 = mpc.softmax %2#0 {axis = 2 : i64} : (tensor<2x4x6xf32>) -> tensor<2x4x6xf32>
    %4 = mpc.log_softmax %3 {axis = 1 : i64} : (tensor<2x4x6xf32>) -> tensor<2x4x6xf32>
    %5 = mpc.reduce_max %4 {axes = array<i64: 1>, keepdims = false} : (tensor<2x4x6xf32>) -> tensor<2x6xf32>
    %l = mpc.reduce_sum %5 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x6xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// gather, expand, concat, transpose, split (a piece without gradient gets
// zeros), slice, reshape, dropout (same mask).
// CHECK-LABEL: func.func @main(
// CHECK: %[[Y:.*]], %[[MASK:.*]] = mpc.dropout
// CHECK: mpc.dropout_grad %{{.*}}, %[[MASK]] {ratio = 2.500000e-01 : f32}
// CHECK: mpc.reshape %{{.*}} : (tensor<9xf32>) -> tensor<3x3xf32>
// CHECK: mpc.slice_grad %{{.*}} {ends = array<i64: -1, 3>, starts = array<i64: 4, 0>, steps = array<i64: -2, 1>} : (tensor<3x3xf32>) -> tensor<5x3xf32>
// CHECK: %[[Z:.*]] = mpc.constant {value = dense<0.000000e+00> : tensor<3x3xf32>}
// CHECK: mpc.concat %{{.*}}, %[[Z]] {axis = 0 : i64}
// CHECK: mpc.transpose %{{.*}} {perm = array<i64: 1, 0>} : (tensor<8x3xf32>) -> tensor<3x8xf32>
// CHECK: %[[S:.*]]:2 = mpc.split %{{.*}} {axis = 1 : i64, sizes = array<i64: 4, 4>}
// CHECK: %[[DU:.*]] = mpc.reduce_sum %[[S]]#1 {axes = array<i64: 1>} : (tensor<3x4xf32>) -> tensor<3x1xf32>
// CHECK: %[[DE:.*]] = mpc.gather_grad %arg0, %[[S]]#0 {axis = 0 : i64} : (tensor<3xi64>, tensor<3x4xf32>) -> tensor<10x4xf32>
// CHECK: return %{{.*}}, %[[DE]], %[[DU]]
module {
  ml_program.global private @e(dense<0.5> : tensor<10x4xf32>) : tensor<10x4xf32>
  ml_program.global private @u(dense<0.5> : tensor<3x1xf32>) : tensor<3x1xf32>
  func.func @main(%ids: tensor<3xi64>) -> (tensor<f32> {mpc.name = "loss"}) {
    %e = ml_program.global_load_const @e : tensor<10x4xf32>
    %u = ml_program.global_load_const @u : tensor<3x1xf32>
    %0 = mpc.gather %e, %ids {axis = 0 : i64} : (tensor<10x4xf32>, tensor<3xi64>) -> tensor<3x4xf32>
    %1 = mpc.expand %u : (tensor<3x1xf32>) -> tensor<3x4xf32>
    %2 = mpc.concat %0, %1 {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x8xf32>
    %3 = mpc.transpose %2 {perm = array<i64: 1, 0>} : (tensor<3x8xf32>) -> tensor<8x3xf32>
    %4:2 = mpc.split %3 {axis = 0 : i64, sizes = array<i64: 5, 3>} : (tensor<8x3xf32>) -> (tensor<5x3xf32>, tensor<3x3xf32>)
    %5 = mpc.slice %4#0 {starts = array<i64: 4, 0>, ends = array<i64: -1, 3>, steps = array<i64: -2, 1>} : (tensor<5x3xf32>) -> tensor<3x3xf32>
    %6 = mpc.reshape %5 : (tensor<3x3xf32>) -> tensor<9xf32>
    %7:2 = mpc.dropout %6 {ratio = 0.25 : f32} : (tensor<9xf32>) -> (tensor<9xf32>, tensor<9xi1>)
    %l = mpc.reduce_sum %7#0 {axes = array<i64: 0>, keepdims = false} : (tensor<9xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// softmax_cross_entropy_loss through both its results, nll_loss.
// CHECK-LABEL: func.func @main(
// CHECK: %[[SEED:.*]] = mpc.constant {mpc.grad_seed
// CHECK: %[[DLP:.*]] = mpc.nll_loss_grad %arg1, %[[SEED]] {ignore_index = 1 : i64, reduction = "sum"} : (tensor<2xi64>, tensor<f32>) -> tensor<2x3xf32>
// CHECK: %[[D1:.*]] = mpc.softmax_cross_entropy_loss_grad %log_prob, %arg1, %[[SEED]] : (tensor<2x3xf32>, tensor<2xi64>, tensor<f32>) -> tensor<2x3xf32>
// CHECK: %[[D2:.*]] = mpc.log_softmax_grad %log_prob, %[[DLP]] {axis = 1 : i64}
// CHECK: mpc.add %[[D1]], %[[D2]]
module {
  ml_program.global private @w(dense<0.5> : tensor<4x3xf32>) : tensor<4x3xf32>
  func.func @main(%x: tensor<2x4xf32>, %y: tensor<2xi64>) -> (tensor<f32> {mpc.name = "loss"}) {
    %w = ml_program.global_load_const @w : tensor<4x3xf32>
    %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
    %1:2 = mpc.softmax_cross_entropy_loss %0, %y {reduction = "mean"} : (tensor<2x3xf32>, tensor<2xi64>) -> (tensor<f32>, tensor<2x3xf32>)
    %2 = mpc.nll_loss %1#1, %y {reduction = "sum", ignore_index = 1 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<f32>
    %l = mpc.add %1#0, %2 : (tensor<f32>, tensor<f32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// AMP: the FP32 parameter's gradient flows back through its cast, the
// backward matmul runs in bf16 like its forward op; quantize/dequantize are
// straight-through with the scales (the FP8 value's gradient is f32).
// CHECK-LABEL: func.func @main(
// CHECK-SAME: tensor<4x3xf32> {mpc.name = "w.grad"}
// CHECK: mpc.cast %{{.*}} : (tensor<2x3xf32>) -> tensor<2x3xbf16>
// CHECK: mpc.matmul %{{.*}}, %{{.*}} : (tensor<4x2xbf16>, tensor<2x3xbf16>) -> tensor<4x3xbf16>
// CHECK: mpc.cast %{{.*}} : (tensor<4x3xbf16>) -> tensor<4x3xf32>
// CHECK: mpc.mul %{{.*}}, %arg2 : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
// CHECK: mpc.mul %{{.*}}, %arg1 : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
// CHECK: mpc.cast %{{.*}} : (tensor<4x3xf32>) -> tensor<4x3xbf16>
// CHECK: %[[DW:.*]] = mpc.cast %{{.*}} : (tensor<4x3xbf16>) -> tensor<4x3xf32>
// CHECK: return %{{.*}}, %[[DW]]
module {
  ml_program.global private @w(dense<0.5> : tensor<4x3xf32>) : tensor<4x3xf32>
  func.func @main(%x: tensor<2x4xbf16>, %s: tensor<f32>, %si: tensor<f32>) -> (tensor<f32> {mpc.name = "loss"}) {
    %w = ml_program.global_load_const @w : tensor<4x3xf32>
    %wb = mpc.cast %w : (tensor<4x3xf32>) -> tensor<4x3xbf16>
    %q = mpc.quantize %wb, %s : (tensor<4x3xbf16>, tensor<f32>) -> tensor<4x3xf8E4M3FN>
    %d = mpc.dequantize %q, %si : (tensor<4x3xf8E4M3FN>, tensor<f32>) -> tensor<4x3xbf16>
    %0 = mpc.matmul %x, %d : (tensor<2x4xbf16>, tensor<4x3xbf16>) -> tensor<2x3xbf16>
    %1 = mpc.cast %0 : (tensor<2x3xbf16>) -> tensor<2x3xf32>
    %l = mpc.reduce_sum %1 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// layer_norm's mean and inv_std_dev and batch_norm_train's running
// statistics are differentiable: their gradients add to dx (d mean / dx = 1/N,
// d inv_std_dev / dx = -inv_std_dev^3 (x - mean) / N; d new_running_mean / dx
// = (1 - momentum) / N, d new_running_var / dx = 2 (1 - momentum) (x - mean_c) / N).
// CHECK-LABEL: func.func @main(
// CHECK-SAME: tensor<2x3xf32> {mpc.name = "x.grad"}
// CHECK: %[[C:.*]] = mpc.constant {value = dense<0.333333343> : tensor<f32>}
// CHECK: %[[DMEAN:.*]] = mpc.mul %{{.*}}, %[[C]] : (tensor<2x1xf32>, tensor<f32>) -> tensor<2x1xf32>
// CHECK: %[[SQ:.*]] = mpc.mul %inv_std_dev, %inv_std_dev
// CHECK: %[[CUBE:.*]] = mpc.mul %inv_std_dev, %[[SQ]]
// CHECK: mpc.constant {value = dense<-0.333333343> : tensor<f32>}
// CHECK: %[[XM:.*]] = mpc.sub %x, %mean : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
// CHECK: %[[DINV:.*]] = mpc.mul %[[XM]], %{{.*}} : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
// CHECK: %[[DX:.*]] = mpc.add %[[DINV]], %[[DMEAN]]
// CHECK: return %{{.*}}, %[[DX]]
module {
  ml_program.global private @x(dense<[[1.0, 2.0, 4.0], [0.5, -1.0, 3.0]]> : tensor<2x3xf32>) : tensor<2x3xf32>
  ml_program.global private @g(dense<1.0> : tensor<3xf32>) : tensor<3xf32>
  func.func @main() -> (tensor<f32> {mpc.name = "loss"}) {
    %x = ml_program.global_load_const @x : tensor<2x3xf32>
    %g = ml_program.global_load_const @g : tensor<3xf32>
    %y:3 = mpc.layer_norm %x, %g {axis = 1 : i64} : (tensor<2x3xf32>, tensor<3xf32>) -> (tensor<2x3xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
    %l = mpc.reduce_sum %y#1 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x1xf32>) -> tensor<f32>
    %r = mpc.reduce_sum %y#2 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x1xf32>) -> tensor<f32>
    %s = mpc.add %l, %r : (tensor<f32>, tensor<f32>) -> tensor<f32>
    return %s : tensor<f32>
  }
}


// -----

// CHECK-LABEL: func.func @main(
// CHECK-SAME: tensor<3x2xf32> {mpc.name = "x.grad"}, tensor<2xf32> {mpc.name = "rm.grad"}, tensor<2xf32> {mpc.name = "rv.grad"}
// CHECK-NOT: batch_norm_train_grad
// (1 - 0.75) / 3
// CHECK: mpc.constant {value = dense<0.0833333358> : tensor<f32>}
// CHECK: %[[DRM:.*]] = mpc.mul
// CHECK: %[[SUM:.*]] = mpc.reduce_sum %x {axes = array<i64: 0>} : (tensor<3x2xf32>) -> tensor<1x2xf32>
// CHECK: %[[MEAN:.*]] = mpc.mul %[[SUM]]
// 2 (1 - 0.75) / 3
// CHECK: mpc.constant {value = dense<0.166666672> : tensor<f32>}
// CHECK: %[[XM:.*]] = mpc.sub %x, %[[MEAN]]
// CHECK: %[[DRV:.*]] = mpc.mul %[[XM]], %{{.*}} : (tensor<3x2xf32>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK: %[[DX:.*]] = mpc.add %[[DRV]], %[[DRM]]
// running_mean, running_var: momentum * dy
// CHECK: mpc.constant {value = dense<7.500000e-01> : tensor<f32>}
// CHECK: return %{{.*}}, %[[DX]], %{{.*}}, %{{.*}}
module {
  ml_program.global private @x(dense<[[1.0, 2.0], [4.0, 0.5], [-1.0, 3.0]]> : tensor<3x2xf32>) : tensor<3x2xf32>
  ml_program.global private @s(dense<1.0> : tensor<2xf32>) : tensor<2xf32>
  ml_program.global private @t(dense<0.0> : tensor<2xf32>) : tensor<2xf32>
  ml_program.global private @rm(dense<0.0> : tensor<2xf32>) : tensor<2xf32>
  ml_program.global private @rv(dense<1.0> : tensor<2xf32>) : tensor<2xf32>
  func.func @main() -> (tensor<f32> {mpc.name = "loss"}) {
    %x = ml_program.global_load_const @x : tensor<3x2xf32>
    %s = ml_program.global_load_const @s : tensor<2xf32>
    %t = ml_program.global_load_const @t : tensor<2xf32>
    %rm = ml_program.global_load_const @rm : tensor<2xf32>
    %rv = ml_program.global_load_const @rv : tensor<2xf32>
    %0:3 = mpc.batch_norm_train %x, %s, %t, %rm, %rv {momentum = 0.75 : f32} : (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<3x2xf32>, tensor<2xf32>, tensor<2xf32>)
    %a = mpc.add %0#1, %0#2 : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %l = mpc.reduce_sum %a {axes = array<i64: 0>, keepdims = false} : (tensor<2xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
