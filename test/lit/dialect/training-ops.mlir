// The gradient and optimizer ops (MpcTrainingOps.td) in their custom form:
// parse, print, re-parse, print again; the generic form round-trips too.
// RUN: mpc-opt %s -split-input-file | mpc-opt -split-input-file | FileCheck %s
// RUN: mpc-opt %s -split-input-file -mlir-print-op-generic | mpc-opt -split-input-file | FileCheck %s

// CHECK-LABEL: func @elementwise_grads
func.func @elementwise_grads(%x: tensor<4x10xf32>, %dy: tensor<4x10xf32>, %m: tensor<4x10xi1>, %h: tensor<8xbf16>) {
  // CHECK: mpc.gelu_grad %{{.*}}, %{{.*}} {approximate = "tanh"} : (tensor<8xbf16>, tensor<8xbf16>) -> tensor<8xbf16>
  %0 = mpc.gelu_grad %h, %h {approximate = "tanh"} : (tensor<8xbf16>, tensor<8xbf16>) -> tensor<8xbf16>
  // CHECK: mpc.softmax_grad %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>
  %1 = mpc.softmax_grad %x, %dy {axis = 1 : i64} : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>
  // CHECK: mpc.log_softmax_grad %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>
  %2 = mpc.log_softmax_grad %x, %dy {axis = 0 : i64} : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>
  // CHECK: mpc.dropout_grad %{{.*}}, %{{.*}} {ratio = 1.000000e-01 : f32} : (tensor<4x10xf32>, tensor<4x10xi1>) -> tensor<4x10xf32>
  %3 = mpc.dropout_grad %dy, %m {ratio = 0.1 : f32} : (tensor<4x10xf32>, tensor<4x10xi1>) -> tensor<4x10xf32>
  return
}

// -----

// CHECK-LABEL: func @window_grads
func.func @window_grads(%x: tensor<8x3x32x32xf32>, %w: tensor<16x3x3x3xf32>, %dy: tensor<8x16x32x32xf32>,
                        %p: tensor<1x8x32x32xf32>, %dp: tensor<1x8x16x16xf32>) {
  // CHECK: mpc.conv_grad_input %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : (tensor<8x16x32x32xf32>, tensor<16x3x3x3xf32>) -> tensor<8x3x32x32xf32>
  %0 = mpc.conv_grad_input %dy, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<8x16x32x32xf32>, tensor<16x3x3x3xf32>) -> tensor<8x3x32x32xf32>
  // CHECK: mpc.conv_grad_weight %{{.*}}, %{{.*}} {{.*}} : (tensor<8x3x32x32xf32>, tensor<8x16x32x32xf32>) -> tensor<16x3x3x3xf32>
  %1 = mpc.conv_grad_weight %x, %dy {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<8x3x32x32xf32>, tensor<8x16x32x32xf32>) -> tensor<16x3x3x3xf32>
  // CHECK: mpc.max_pool_grad %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x32x32xf32>, tensor<1x8x16x16xf32>) -> tensor<1x8x32x32xf32>
  %2 = mpc.max_pool_grad %p, %dp {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x8x32x32xf32>, tensor<1x8x16x16xf32>) -> tensor<1x8x32x32xf32>
  // CHECK: mpc.avg_pool_grad %{{.*}} {count_include_pad = true, kernel_shape = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x8x16x16xf32>) -> tensor<1x8x32x32xf32>
  %3 = mpc.avg_pool_grad %dp {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, count_include_pad = true} : (tensor<1x8x16x16xf32>) -> tensor<1x8x32x32xf32>
  return
}

// -----

// CHECK-LABEL: func @norm_grads
func.func @norm_grads(%x: tensor<8x16x4x4xf32>, %s: tensor<16xf32>, %lx: tensor<2x16x64xbf16>, %g: tensor<64xbf16>, %st: tensor<2x16x1xf32>) {
  // CHECK: mpc.batch_norm_train_grad %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 1.000000e-03 : f32} : (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<8x16x4x4xf32>) -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>)
  %0:3 = mpc.batch_norm_train_grad %x, %s, %x {epsilon = 1.0e-3 : f32} : (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<8x16x4x4xf32>) -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>)
  // CHECK: mpc.layer_norm_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64, epsilon = 1.000000e-03 : f32} : (tensor<2x16x64xbf16>, tensor<64xbf16>, tensor<2x16x1xf32>, tensor<2x16x1xf32>, tensor<2x16x64xbf16>) -> (tensor<2x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>)
  %1:3 = mpc.layer_norm_grad %lx, %g, %st, %st, %lx {axis = 2 : i64, epsilon = 1.0e-3 : f32} : (tensor<2x16x64xbf16>, tensor<64xbf16>, tensor<2x16x1xf32>, tensor<2x16x1xf32>, tensor<2x16x64xbf16>) -> (tensor<2x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>)
  return
}

// -----

// CHECK-LABEL: func @loss_and_movement_grads
func.func @loss_and_movement_grads(%logp: tensor<32x10xf32>, %l: tensor<32xi64>, %w: tensor<10xf32>, %dl: tensor<f32>,
                                   %ids: tensor<8x16xi64>, %dg: tensor<8x16x64xf32>, %ds: tensor<2x2xf32>) {
  // CHECK: mpc.softmax_cross_entropy_loss_grad %{{.*}}, %{{.*}}, %{{.*}} : (tensor<32x10xf32>, tensor<32xi64>, tensor<f32>) -> tensor<32x10xf32>
  %0 = mpc.softmax_cross_entropy_loss_grad %logp, %l, %dl : (tensor<32x10xf32>, tensor<32xi64>, tensor<f32>) -> tensor<32x10xf32>
  // CHECK: mpc.softmax_cross_entropy_loss_grad %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {ignore_index = 3 : i64, reduction = "sum"} : (tensor<32x10xf32>, tensor<32xi64>, tensor<10xf32>, tensor<f32>) -> tensor<32x10xf32>
  %1 = mpc.softmax_cross_entropy_loss_grad %logp, %l, %w, %dl {reduction = "sum", ignore_index = 3 : i64} : (tensor<32x10xf32>, tensor<32xi64>, tensor<10xf32>, tensor<f32>) -> tensor<32x10xf32>
  // CHECK: mpc.nll_loss_grad %{{.*}}, %{{.*}}, %{{.*}} {reduction = "none"} : (tensor<32xi64>, tensor<10xf32>, tensor<32xf32>) -> tensor<32x10xf32>
  %d = mpc.constant {value = dense<1.0> : tensor<32xf32>} : () -> tensor<32xf32>
  %2 = mpc.nll_loss_grad %l, %w, %d {reduction = "none"} : (tensor<32xi64>, tensor<10xf32>, tensor<32xf32>) -> tensor<32x10xf32>
  // CHECK: mpc.gather_grad %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<8x16xi64>, tensor<8x16x64xf32>) -> tensor<1000x64xf32>
  %3 = mpc.gather_grad %ids, %dg {axis = 0 : i64} : (tensor<8x16xi64>, tensor<8x16x64xf32>) -> tensor<1000x64xf32>
  // CHECK: mpc.slice_grad %{{.*}} {ends = array<i64: 2, 5>, starts = array<i64: 0, 1>, steps = array<i64: 1, 2>} : (tensor<2x2xf32>) -> tensor<2x6xf32>
  %4 = mpc.slice_grad %ds {starts = array<i64: 0, 1>, ends = array<i64: 2, 5>, steps = array<i64: 1, 2>} : (tensor<2x2xf32>) -> tensor<2x6xf32>
  return
}

// -----

// CHECK-LABEL: func @optimizers
func.func @optimizers(%p: tensor<16xf32>, %g: tensor<16xf32>, %m: tensor<16xf32>, %v: tensor<16xf32>,
                      %step: tensor<i64>, %lr: tensor<f32>, %hp: tensor<16xbf16>) {
  // CHECK: mpc.sgd_update %{{.*}}, %{{.*}}, %{{.*}} {weight_decay = 5.000000e-01 : f32} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>) -> tensor<16xf32>
  %0 = mpc.sgd_update %p, %g, %lr {weight_decay = 0.5 : f32} : (tensor<16xf32>, tensor<16xf32>, tensor<f32>) -> tensor<16xf32>
  // CHECK: mpc.momentum_update %{{.*}} {momentum = 8.000000e-01 : f32, nesterov = true} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<i64>, tensor<f32>) -> (tensor<16xf32>, tensor<16xf32>)
  %1:2 = mpc.momentum_update %p, %g, %m, %step, %lr {momentum = 0.8 : f32, nesterov = true} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<i64>, tensor<f32>) -> (tensor<16xf32>, tensor<16xf32>)
  // CHECK: mpc.adam_update %{{.*}} {decoupled = true, weight_decay = 5.000000e-01 : f32} : (tensor<16xbf16>, tensor<16xbf16>, tensor<16xf32>, tensor<16xf32>, tensor<i64>, tensor<f32>) -> (tensor<16xbf16>, tensor<16xf32>, tensor<16xf32>)
  %2:3 = mpc.adam_update %hp, %hp, %m, %v, %step, %lr {decoupled = true, weight_decay = 0.5 : f32} : (tensor<16xbf16>, tensor<16xbf16>, tensor<16xf32>, tensor<16xf32>, tensor<i64>, tensor<f32>) -> (tensor<16xbf16>, tensor<16xf32>, tensor<16xf32>)
  // CHECK: mpc.onnx_adagrad %{{.*}} {decay_factor = 1.000000e-01 : f32, epsilon = 9.99999974E-6 : f32} : (tensor<f32>, tensor<i64>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>)
  %3:2 = mpc.onnx_adagrad %lr, %step, %p, %g, %m {decay_factor = 0.1 : f32, epsilon = 1.0e-5 : f32} : (tensor<f32>, tensor<i64>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>)
  // CHECK: mpc.onnx_momentum %{{.*}} {alpha = 0.949999988 : f32, beta = 1.000000e-01 : f32, mode = "nesterov", norm_coefficient = 0.000000e+00 : f32} : (tensor<f32>, tensor<i64>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>)
  %4:2 = mpc.onnx_momentum %lr, %step, %p, %g, %m {alpha = 0.95 : f32, beta = 0.1 : f32, norm_coefficient = 0.0 : f32, mode = "nesterov"} : (tensor<f32>, tensor<i64>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>)
  // CHECK: mpc.onnx_adam %{{.*}} {epsilon = 9.99999974E-6 : f32, norm_coefficient_post = 1.000000e-01 : f32} : (tensor<f32>, tensor<i64>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
  %5:3 = mpc.onnx_adam %lr, %step, %p, %g, %m, %v {epsilon = 1.0e-5 : f32, norm_coefficient_post = 0.1 : f32} : (tensor<f32>, tensor<i64>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
  return
}

// -----

// CHECK-LABEL: func @dropout_offset
func.func @dropout_offset(%x: tensor<4x8xf32>, %step: tensor<i64>) {
  // CHECK: mpc.dropout %{{.*}}, %{{.*}} {ratio = 1.000000e-01 : f32} : (tensor<4x8xf32>, tensor<i64>) -> (tensor<4x8xf32>, tensor<4x8xi1>)
  %y:2 = mpc.dropout %x, %step {ratio = 0.1 : f32} : (tensor<4x8xf32>, tensor<i64>) -> (tensor<4x8xf32>, tensor<4x8xi1>)
  return
}

// -----

// CHECK-LABEL: func @loss_scaling_ops
func.func @loss_scaling_ops(%g0: tensor<4x8xbf16>, %g1: tensor<8xf32>, %s: tensor<f32>, %t: tensor<i64>, %acc: tensor<8xf32>, %p: tensor<8xf32>, %lr: tensor<f32>, %m: tensor<8xf32>) {
  // CHECK: mpc.unscale_and_check %{{.*}}, %{{.*}}, %{{.*}} {names = "w\0Ab"} : (tensor<4x8xbf16>, tensor<8xf32>, tensor<f32>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>, tensor<f32>)
  %u:2, %inf, %idx, %norm = mpc.unscale_and_check %g0, %g1, %s {names = "w\nb"} : (tensor<4x8xbf16>, tensor<8xf32>, tensor<f32>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>, tensor<f32>)
  // CHECK: mpc.clip_grad_norm %{{.*}}, %{{.*}}, %{{.*}} {max_norm = 1.000000e+00 : f32} : (tensor<4x8xf32>, tensor<8xf32>, tensor<f32>) -> (tensor<4x8xf32>, tensor<8xf32>)
  %c:2 = mpc.clip_grad_norm %u#0, %u#1, %norm {max_norm = 1.0 : f32} : (tensor<4x8xf32>, tensor<8xf32>, tensor<f32>) -> (tensor<4x8xf32>, tensor<8xf32>)
  // CHECK: mpc.accumulate_grad %{{.*}}, %{{.*}}, %{{.*}} {steps = 4 : i64} : (tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<8xf32>
  %a = mpc.accumulate_grad %acc, %c#1, %t {steps = 4 : i64} : (tensor<8xf32>, tensor<8xf32>, tensor<i64>) -> tensor<8xf32>
  // CHECK: mpc.accumulation_skip %{{.*}} {steps = 4 : i64} : (tensor<i64>) -> tensor<f32>
  %hold = mpc.accumulation_skip %t {steps = 4 : i64} : (tensor<i64>) -> tensor<f32>
  // CHECK: mpc.count_step %{{.*}}, %{{.*}} : (tensor<i64>, tensor<f32>) -> tensor<i64>
  %t2 = mpc.count_step %t, %inf : (tensor<i64>, tensor<f32>) -> tensor<i64>
  // CHECK: mpc.count_step %{{.*}} : (tensor<i64>) -> tensor<i64>
  %t3 = mpc.count_step %t : (tensor<i64>) -> tensor<i64>
  // CHECK: mpc.loss_scale_update %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {growth_interval = 100 : i64, min_scale = 1.000000e+00 : f32} : (tensor<f32>, tensor<i64>, tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<i64>)
  %s2, %tr2 = mpc.loss_scale_update %s, %t, %inf, %hold {growth_interval = 100 : i64, min_scale = 1.0 : f32} : (tensor<f32>, tensor<i64>, tensor<f32>, tensor<f32>) -> (tensor<f32>, tensor<i64>)
  // The optimizer extensions: skip flag, working copy, lr_scale.
  // CHECK: mpc.adam_update {{.*}} {lr_scale = 5.000000e-01 : f32, working_type = bf16} : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>, tensor<f32>, tensor<f32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>)
  %p2:4 = mpc.adam_update %p, %a, %m, %m, %t, %lr, %inf {lr_scale = 0.5 : f32, working_type = bf16} : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>, tensor<f32>, tensor<f32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>)
  // CHECK: mpc.sgd_update {{.*}} : (tensor<8xbf16>, tensor<8xf32>, tensor<f32>, tensor<f32>) -> tensor<8xbf16>
  %pb = mpc.cast %p : (tensor<8xf32>) -> tensor<8xbf16>
  %p3 = mpc.sgd_update %pb, %a, %lr, %hold : (tensor<8xbf16>, tensor<8xf32>, tensor<f32>, tensor<f32>) -> tensor<8xbf16>
  return
}
