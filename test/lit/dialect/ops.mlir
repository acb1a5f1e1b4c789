// Every mpc op in its custom form: parse, print, re-parse, print again.
// RUN: mpc-opt %s -split-input-file | mpc-opt -split-input-file | FileCheck %s
// The generic form round-trips too.
// RUN: mpc-opt %s -split-input-file -mlir-print-op-generic | mpc-opt -split-input-file | FileCheck %s

// CHECK-LABEL: func @unary
func.func @unary(%x: tensor<4x8xf32>, %i: tensor<4xi32>, %b: tensor<2xi1>) -> tensor<4x8xf32> {
  // CHECK: mpc.relu %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %0 = mpc.relu %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.neg %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = mpc.neg %0 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.abs %{{.*}} : (tensor<4xi32>) -> tensor<4xi32>
  %2 = mpc.abs %i : (tensor<4xi32>) -> tensor<4xi32>
  // CHECK: mpc.exp %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %3 = mpc.exp %1 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.log %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %4 = mpc.log %3 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.sqrt %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %5 = mpc.sqrt %4 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.reciprocal %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %6 = mpc.reciprocal %5 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.tanh %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %7 = mpc.tanh %6 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.sigmoid %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %8 = mpc.sigmoid %7 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.erf %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %9 = mpc.erf %8 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.not %{{.*}} : (tensor<2xi1>) -> tensor<2xi1>
  %10 = mpc.not %b : (tensor<2xi1>) -> tensor<2xi1>
  // CHECK: mpc.leaky_relu %{{.*}} {alpha = 2.000000e-01 : f32} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %11 = mpc.leaky_relu %9 {alpha = 0.2 : f32} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.gelu %{{.*}} {approximate = "tanh"} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %12 = mpc.gelu %11 {approximate = "tanh"} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  // CHECK: mpc.gelu %{{.*}} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %13 = mpc.gelu %12 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return %13 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @binary
func.func @binary(%a: tensor<4x8xbf16>, %b: tensor<8xbf16>, %e: tensor<f32>, %i: tensor<3x1xi64>, %j: tensor<5xi64>) {
  // CHECK: mpc.add %{{.*}}, %{{.*}} : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16>
  %0 = mpc.add %a, %b : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16>
  // CHECK: mpc.sub %{{.*}}, %{{.*}} : (tensor<8xbf16>, tensor<4x8xbf16>) -> tensor<4x8xbf16>
  %1 = mpc.sub %b, %0 : (tensor<8xbf16>, tensor<4x8xbf16>) -> tensor<4x8xbf16>
  // CHECK: mpc.mul %{{.*}}, %{{.*}} : (tensor<3x1xi64>, tensor<5xi64>) -> tensor<3x5xi64>
  %2 = mpc.mul %i, %j : (tensor<3x1xi64>, tensor<5xi64>) -> tensor<3x5xi64>
  // CHECK: mpc.div %{{.*}}, %{{.*}} : (tensor<3x5xi64>, tensor<5xi64>) -> tensor<3x5xi64>
  %3 = mpc.div %2, %j : (tensor<3x5xi64>, tensor<5xi64>) -> tensor<3x5xi64>
  // CHECK: mpc.max %{{.*}}, %{{.*}} : (tensor<4x8xbf16>, tensor<4x8xbf16>) -> tensor<4x8xbf16>
  %4 = mpc.max %0, %1 : (tensor<4x8xbf16>, tensor<4x8xbf16>) -> tensor<4x8xbf16>
  // CHECK: mpc.min %{{.*}}, %{{.*}} : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16>
  %5 = mpc.min %4, %b : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16>
  // The exponent may have another float type; the result keeps the base type.
  // CHECK: mpc.pow %{{.*}}, %{{.*}} : (tensor<4x8xbf16>, tensor<f32>) -> tensor<4x8xbf16>
  %6 = mpc.pow %5, %e : (tensor<4x8xbf16>, tensor<f32>) -> tensor<4x8xbf16>
  return
}

// -----

// CHECK-LABEL: func @compare
func.func @compare(%a: tensor<4x8xf32>, %b: tensor<8xf32>, %i: tensor<2x1xi32>, %j: tensor<3xi32>) -> tensor<4x8xf32> {
  // CHECK: mpc.equal %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  %0 = mpc.equal %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  // CHECK: mpc.less %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  %1 = mpc.less %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  // CHECK: mpc.less_equal %{{.*}}, %{{.*}} : (tensor<2x1xi32>, tensor<3xi32>) -> tensor<2x3xi1>
  %2 = mpc.less_equal %i, %j : (tensor<2x1xi32>, tensor<3xi32>) -> tensor<2x3xi1>
  // CHECK: mpc.greater %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  %3 = mpc.greater %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  // CHECK: mpc.greater_equal %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  %4 = mpc.greater_equal %a, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi1>
  // CHECK: mpc.and %{{.*}}, %{{.*}} : (tensor<4x8xi1>, tensor<4x8xi1>) -> tensor<4x8xi1>
  %5 = mpc.and %0, %1 : (tensor<4x8xi1>, tensor<4x8xi1>) -> tensor<4x8xi1>
  // CHECK: mpc.or %{{.*}}, %{{.*}} : (tensor<4x8xi1>, tensor<4x8xi1>) -> tensor<4x8xi1>
  %6 = mpc.or %5, %3 : (tensor<4x8xi1>, tensor<4x8xi1>) -> tensor<4x8xi1>
  // CHECK: mpc.where %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4x8xi1>, tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %7 = mpc.where %6, %b, %a : (tensor<4x8xi1>, tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %7 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func @linalg
func.func @linalg(%a: tensor<2x16x64xbf16>, %b: tensor<64x32xbf16>, %v: tensor<64xbf16>,
                  %x: tensor<32x784xf32>, %w: tensor<128x784xf32>, %c: tensor<128xf32>) {
  // CHECK: mpc.matmul %{{.*}}, %{{.*}} : (tensor<2x16x64xbf16>, tensor<64x32xbf16>) -> tensor<2x16x32xbf16>
  %0 = mpc.matmul %a, %b : (tensor<2x16x64xbf16>, tensor<64x32xbf16>) -> tensor<2x16x32xbf16>
  // CHECK: mpc.matmul %{{.*}}, %{{.*}} : (tensor<64xbf16>, tensor<64xbf16>) -> tensor<bf16>
  %1 = mpc.matmul %v, %v : (tensor<64xbf16>, tensor<64xbf16>) -> tensor<bf16>
  // CHECK: mpc.gemm %{{.*}}, %{{.*}}, %{{.*}} {alpha = 5.000000e-01 : f32, trans_b = true} : (tensor<32x784xf32>, tensor<128x784xf32>, tensor<128xf32>) -> tensor<32x128xf32>
  %2 = mpc.gemm %x, %w, %c {alpha = 0.5 : f32, trans_b = true} : (tensor<32x784xf32>, tensor<128x784xf32>, tensor<128xf32>) -> tensor<32x128xf32>
  %xt = mpc.transpose %x {perm = array<i64: 1, 0>} : (tensor<32x784xf32>) -> tensor<784x32xf32>
  %wt = mpc.transpose %w {perm = array<i64: 1, 0>} : (tensor<128x784xf32>) -> tensor<784x128xf32>
  // CHECK: mpc.gemm %{{.*}}, %{{.*}} {beta = 0.000000e+00 : f32, trans_a = true} : (tensor<784x32xf32>, tensor<784x128xf32>) -> tensor<32x128xf32>
  %3 = mpc.gemm %xt, %wt {beta = 0.0 : f32, trans_a = true} : (tensor<784x32xf32>, tensor<784x128xf32>) -> tensor<32x128xf32>
  return
}

// -----

// CHECK-LABEL: func @conv
func.func @conv(%x: tensor<8x4x32x32xf16>, %w: tensor<16x2x3x3xf16>, %b: tensor<16xf16>) -> tensor<8x16x16x16xf16> {
  // CHECK: mpc.conv %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<8x4x32x32xf16>, tensor<16x2x3x3xf16>, tensor<16xf16>) -> tensor<8x16x16x16xf16>
  %0 = mpc.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64}
      : (tensor<8x4x32x32xf16>, tensor<16x2x3x3xf16>, tensor<16xf16>) -> tensor<8x16x16x16xf16>
  %w2 = mpc.constant {value = dense<0.0> : tensor<16x4x3x3xf16>} : () -> tensor<16x4x3x3xf16>
  // CHECK: mpc.conv %{{.*}}, %{{.*}} {dilations = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<8x4x32x32xf16>, tensor<16x4x3x3xf16>) -> tensor<8x16x28x28xf16>
  %1 = mpc.conv %x, %w2 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>}
      : (tensor<8x4x32x32xf16>, tensor<16x4x3x3xf16>) -> tensor<8x16x28x28xf16>
  return %0 : tensor<8x16x16x16xf16>
}

// -----

// CHECK-LABEL: func @pool
func.func @pool(%x: tensor<1x8x32x32xf32>) {
  // CHECK: mpc.max_pool %{{.*}} {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x32x32xf32>) -> tensor<1x8x16x16xf32>
  %0 = mpc.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
      : (tensor<1x8x32x32xf32>) -> tensor<1x8x16x16xf32>
  // CHECK: mpc.max_pool %{{.*}} {ceil_mode = true, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x32x32xf32>) -> tensor<1x8x16x16xf32>
  %1 = mpc.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true}
      : (tensor<1x8x32x32xf32>) -> tensor<1x8x16x16xf32>
  // CHECK: mpc.avg_pool %{{.*}} {count_include_pad = true, kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<1x8x32x32xf32>) -> tensor<1x8x32x32xf32>
  %2 = mpc.avg_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, count_include_pad = true}
      : (tensor<1x8x32x32xf32>) -> tensor<1x8x32x32xf32>
  // CHECK: mpc.global_avg_pool %{{.*}} : (tensor<1x8x32x32xf32>) -> tensor<1x8x1x1xf32>
  %3 = mpc.global_avg_pool %x : (tensor<1x8x32x32xf32>) -> tensor<1x8x1x1xf32>
  return
}

// -----

// CHECK-LABEL: func @norm
func.func @norm(%x: tensor<8x16x4x4xbf16>, %s: tensor<16xf32>, %h: tensor<2x16x64xbf16>, %g: tensor<64xbf16>) {
  // CHECK: mpc.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-03 : f32} : (tensor<8x16x4x4xbf16>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16x4x4xbf16>
  %0 = mpc.batch_norm %x, %s, %s, %s, %s {epsilon = 1.0e-3 : f32}
      : (tensor<8x16x4x4xbf16>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16x4x4xbf16>
  // CHECK: mpc.batch_norm_train %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {momentum = 8.000000e-01 : f32} : (tensor<8x16x4x4xbf16>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<8x16x4x4xbf16>, tensor<16xf32>, tensor<16xf32>)
  %1:3 = mpc.batch_norm_train %x, %s, %s, %s, %s {momentum = 0.8 : f32}
      : (tensor<8x16x4x4xbf16>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
      -> (tensor<8x16x4x4xbf16>, tensor<16xf32>, tensor<16xf32>)
  // CHECK: mpc.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64} : (tensor<2x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>) -> (tensor<2x16x64xbf16>, tensor<2x16x1xf32>, tensor<2x16x1xf32>)
  %2:3 = mpc.layer_norm %h, %g, %g {axis = 2 : i64}
      : (tensor<2x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>)
      -> (tensor<2x16x64xbf16>, tensor<2x16x1xf32>, tensor<2x16x1xf32>)
  // CHECK: mpc.layer_norm %{{.*}}, %{{.*}} {axis = 1 : i64, epsilon = 9.99999997E-7 : f32} : (tensor<2x16x64xbf16>, tensor<64xbf16>) -> (tensor<2x16x64xbf16>, tensor<2x1x1xf32>, tensor<2x1x1xf32>)
  %3:3 = mpc.layer_norm %h, %g {axis = 1 : i64, epsilon = 1.0e-6 : f32}
      : (tensor<2x16x64xbf16>, tensor<64xbf16>)
      -> (tensor<2x16x64xbf16>, tensor<2x1x1xf32>, tensor<2x1x1xf32>)
  // CHECK: mpc.softmax %{{.*}} {axis = 2 : i64} : (tensor<2x16x64xbf16>) -> tensor<2x16x64xbf16>
  %4 = mpc.softmax %h {axis = 2 : i64} : (tensor<2x16x64xbf16>) -> tensor<2x16x64xbf16>
  // CHECK: mpc.log_softmax %{{.*}} {axis = 0 : i64} : (tensor<2x16x64xbf16>) -> tensor<2x16x64xbf16>
  %5 = mpc.log_softmax %h {axis = 0 : i64} : (tensor<2x16x64xbf16>) -> tensor<2x16x64xbf16>
  return
}

// -----

// CHECK-LABEL: func @reduce
func.func @reduce(%x: tensor<4x10x3xf32>, %i: tensor<4x10xi64>) {
  // CHECK: mpc.reduce_sum %{{.*}} {axes = array<i64: 1>} : (tensor<4x10x3xf32>) -> tensor<4x1x3xf32>
  %0 = mpc.reduce_sum %x {axes = array<i64: 1>} : (tensor<4x10x3xf32>) -> tensor<4x1x3xf32>
  // CHECK: mpc.reduce_mean %{{.*}} {axes = array<i64: 0, 2>, keepdims = false} : (tensor<4x10x3xf32>) -> tensor<10xf32>
  %1 = mpc.reduce_mean %x {axes = array<i64: 0, 2>, keepdims = false} : (tensor<4x10x3xf32>) -> tensor<10xf32>
  // CHECK: mpc.reduce_max %{{.*}} {axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x10xi64>) -> tensor<i64>
  %2 = mpc.reduce_max %i {axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x10xi64>) -> tensor<i64>
  return
}

// -----

// CHECK-LABEL: func @data
func.func @data(%x: tensor<2x3x4xf32>, %y: tensor<2x5x4xf32>, %t: tensor<100x8xf16>, %ids: tensor<2x7xi32>, %b: tensor<3x1xi1>) {
  // CHECK: mpc.reshape %{{.*}} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %0 = mpc.reshape %x : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  // CHECK: mpc.transpose %{{.*}} {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %1 = mpc.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  // CHECK: mpc.concat %{{.*}}, %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x3x4xf32>) -> tensor<2x11x4xf32>
  %2 = mpc.concat %x, %y, %x {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x3x4xf32>) -> tensor<2x11x4xf32>
  // CHECK: mpc.split %{{.*}} {axis = 1 : i64, sizes = array<i64: 3, 0, 2>} : (tensor<2x5x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x0x4xf32>, tensor<2x2x4xf32>)
  %3:3 = mpc.split %y {axis = 1 : i64, sizes = array<i64: 3, 0, 2>} : (tensor<2x5x4xf32>) -> (tensor<2x3x4xf32>, tensor<2x0x4xf32>, tensor<2x2x4xf32>)
  // CHECK: mpc.slice %{{.*}} {ends = array<i64: 2, -1, 4>, starts = array<i64: 0, 2, 1>, steps = array<i64: 1, -1, 2>} : (tensor<2x3x4xf32>) -> tensor<2x3x2xf32>
  %4 = mpc.slice %x {starts = array<i64: 0, 2, 1>, ends = array<i64: 2, -1, 4>, steps = array<i64: 1, -1, 2>} : (tensor<2x3x4xf32>) -> tensor<2x3x2xf32>
  // CHECK: mpc.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<100x8xf16>, tensor<2x7xi32>) -> tensor<2x7x8xf16>
  %5 = mpc.gather %t, %ids {axis = 0 : i64} : (tensor<100x8xf16>, tensor<2x7xi32>) -> tensor<2x7x8xf16>
  // CHECK: mpc.expand %{{.*}} : (tensor<3x1xi1>) -> tensor<2x3x4xi1>
  %6 = mpc.expand %b : (tensor<3x1xi1>) -> tensor<2x3x4xi1>
  return
}

// -----

// CHECK-LABEL: func @constant
func.func @constant() {
  // CHECK: mpc.constant {value = dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>} : () -> tensor<2xf32>
  %0 = mpc.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>} : () -> tensor<2xf32>
  // CHECK: mpc.constant {value = dense<true> : tensor<2x2xi1>} : () -> tensor<2x2xi1>
  %1 = mpc.constant {value = dense<true> : tensor<2x2xi1>} : () -> tensor<2x2xi1>
  // CHECK: mpc.constant {value = dense_resource<blob> : tensor<2xi32>} : () -> tensor<2xi32>
  %2 = mpc.constant {value = dense_resource<blob> : tensor<2xi32>} : () -> tensor<2xi32>
  return
}

{-#
  dialect_resources: {
    builtin: {
      blob: "0x040000000100000002000000"
    }
  }
#-}

// -----

// CHECK-LABEL: func @training
func.func @training(%x: tensor<4x8xf32>, %s: tensor<32x10xf32>, %l: tensor<32xi64>, %w: tensor<10xf32>) {
  // CHECK: mpc.dropout %{{.*}} {ratio = 1.000000e-01 : f32, seed = 3 : i64} : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xi1>)
  %0:2 = mpc.dropout %x {ratio = 0.1 : f32, seed = 3 : i64} : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xi1>)
  // CHECK: mpc.softmax_cross_entropy_loss %{{.*}}, %{{.*}} : (tensor<32x10xf32>, tensor<32xi64>) -> (tensor<f32>, tensor<32x10xf32>)
  %1:2 = mpc.softmax_cross_entropy_loss %s, %l : (tensor<32x10xf32>, tensor<32xi64>) -> (tensor<f32>, tensor<32x10xf32>)
  // CHECK: mpc.softmax_cross_entropy_loss %{{.*}}, %{{.*}}, %{{.*}} {ignore_index = -100 : i64, reduction = "none"} : (tensor<32x10xf32>, tensor<32xi64>, tensor<10xf32>) -> (tensor<32xf32>, tensor<32x10xf32>)
  %2:2 = mpc.softmax_cross_entropy_loss %s, %l, %w {reduction = "none", ignore_index = -100 : i64} : (tensor<32x10xf32>, tensor<32xi64>, tensor<10xf32>) -> (tensor<32xf32>, tensor<32x10xf32>)
  // CHECK: mpc.nll_loss %{{.*}}, %{{.*}} {reduction = "sum"} : (tensor<32x10xf32>, tensor<32xi64>) -> tensor<f32>
  %3 = mpc.nll_loss %1#1, %l {reduction = "sum"} : (tensor<32x10xf32>, tensor<32xi64>) -> tensor<f32>
  return
}

// -----

// CHECK-LABEL: func @precision
func.func @precision(%x: tensor<64x64xbf16>, %scale: tensor<f32>) -> tensor<64x64xf16> {
  // CHECK: mpc.cast %{{.*}} : (tensor<64x64xbf16>) -> tensor<64x64xf32>
  %0 = mpc.cast %x : (tensor<64x64xbf16>) -> tensor<64x64xf32>
  // CHECK: mpc.cast %{{.*}} {saturate = false, user} : (tensor<64x64xf32>) -> tensor<64x64xf8E4M3FN>
  %1 = mpc.cast %0 {saturate = false, user} : (tensor<64x64xf32>) -> tensor<64x64xf8E4M3FN>
  // CHECK: mpc.quantize %{{.*}}, %{{.*}} : (tensor<64x64xbf16>, tensor<f32>) -> tensor<64x64xf8E5M2>
  %2 = mpc.quantize %x, %scale : (tensor<64x64xbf16>, tensor<f32>) -> tensor<64x64xf8E5M2>
  // CHECK: mpc.dequantize %{{.*}}, %{{.*}} : (tensor<64x64xf8E5M2>, tensor<f32>) -> tensor<64x64xf16>
  %3 = mpc.dequantize %2, %scale : (tensor<64x64xf8E5M2>, tensor<f32>) -> tensor<64x64xf16>
  // CHECK: mpc.amax %{{.*}} : (tensor<64x64xbf16>) -> tensor<f32>
  %4 = mpc.amax %x : (tensor<64x64xbf16>) -> tensor<f32>
  return %3 : tensor<64x64xf16>
}
