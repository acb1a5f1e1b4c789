// Verifier errors of the gradient and optimizer ops (MpcTrainingOps.td).
// RUN: mpc-opt %s -split-input-file -verify-diagnostics

func.func @conv_grad_input_shape(%dy: tensor<8x16x30x30xf32>, %w: tensor<16x3x3x3xf32>) -> tensor<8x3x32x32xf32> {
  // expected-error@+1 {{'mpc.conv_grad_input' the forward conv implies a forward result of shape [8,16,32,32], but dy is 'tensor<8x16x30x30xf32>'}}
  %0 = mpc.conv_grad_input %dy, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<8x16x30x30xf32>, tensor<16x3x3x3xf32>) -> tensor<8x3x32x32xf32>
  return %0 : tensor<8x3x32x32xf32>
}

// -----

func.func @conv_grad_weight_channels(%x: tensor<8x4x32x32xf32>, %dy: tensor<8x16x32x32xf32>) -> tensor<16x3x3x3xf32> {
  // expected-error@+1 {{channels do not match: x has 4, w expects 3 x group 1}}
  %0 = mpc.conv_grad_weight %x, %dy {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>} : (tensor<8x4x32x32xf32>, tensor<8x16x32x32xf32>) -> tensor<16x3x3x3xf32>
  return %0 : tensor<16x3x3x3xf32>
}

// -----

func.func @max_pool_grad_shape(%x: tensor<1x8x32x32xf32>, %dy: tensor<1x8x8x8xf32>) -> tensor<1x8x32x32xf32> {
  // expected-error@+2 {{the forward max_pool implies a forward result of shape [1,8,16,16]}}
  // expected-error@+1 {{'mpc.max_pool_grad' op failed to infer returned types}}
  %0 = mpc.max_pool_grad %x, %dy {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x8x32x32xf32>, tensor<1x8x8x8xf32>) -> tensor<1x8x32x32xf32>
  return %0 : tensor<1x8x32x32xf32>
}

// -----

func.func @slice_grad_shape(%dy: tensor<2x3xf32>) -> tensor<2x6xf32> {
  // expected-error@+1 {{the forward slice implies a forward result of shape [2,2]}}
  %0 = mpc.slice_grad %dy {starts = array<i64: 0, 1>, ends = array<i64: 2, 5>, steps = array<i64: 1, 2>} : (tensor<2x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @gather_grad_shape(%ids: tensor<8xi64>, %dy: tensor<8x32xf32>) -> tensor<100x64xf32> {
  // expected-error@+1 {{the forward gather implies a forward result of shape [8,64]}}
  %0 = mpc.gather_grad %ids, %dy {axis = 0 : i64} : (tensor<8xi64>, tensor<8x32xf32>) -> tensor<100x64xf32>
  return %0 : tensor<100x64xf32>
}

// -----

func.func @softmax_grad_axis(%y: tensor<4x10xf32>) -> tensor<4x10xf32> {
  // expected-error@+1 {{axis 2 is out of range}}
  %0 = mpc.softmax_grad %y, %y {axis = 2 : i64} : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>
  return %0 : tensor<4x10xf32>
}

// -----

func.func @sce_grad_dloss(%logp: tensor<32x10xf32>, %l: tensor<32xi64>, %dl: tensor<32xf32>) -> tensor<32x10xf32> {
  // expected-error@+2 {{dloss must have the forward loss's shape [], got 'tensor<32xf32>'}}
  // expected-error@+1 {{'mpc.softmax_cross_entropy_loss_grad' op failed to infer returned types}}
  %0 = mpc.softmax_cross_entropy_loss_grad %logp, %l, %dl {reduction = "mean"} : (tensor<32x10xf32>, tensor<32xi64>, tensor<32xf32>) -> tensor<32x10xf32>
  return %0 : tensor<32x10xf32>
}

// -----

func.func @nll_grad_labels(%t: tensor<16xi64>, %dl: tensor<f32>) -> tensor<32x10xf32> {
  // expected-error@+1 {{labels must have shape [32], got 'tensor<16xi64>'}}
  %0 = mpc.nll_loss_grad %t, %dl : (tensor<16xi64>, tensor<f32>) -> tensor<32x10xf32>
  return %0 : tensor<32x10xf32>
}

// -----

func.func @dropout_grad_mask(%dy: tensor<4x8xf32>, %m: tensor<4x4xi1>) -> tensor<4x8xf32> {
  // expected-error@+2 {{mask 'tensor<4x4xi1>' does not have dy's shape}}
  // expected-error@+1 {{'mpc.dropout_grad' op failed to infer returned types}}
  %0 = mpc.dropout_grad %dy, %m : (tensor<4x8xf32>, tensor<4x4xi1>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @sgd_grad_shape(%p: tensor<16xf32>, %g: tensor<8xf32>, %lr: tensor<f32>) -> tensor<16xf32> {
  // expected-error@+2 {{grad of type 'tensor<8xf32>' does not have the shape of param 'tensor<16xf32>'}}
  // expected-error@+1 {{'mpc.sgd_update' op failed to infer returned types}}
  %0 = mpc.sgd_update %p, %g, %lr : (tensor<16xf32>, tensor<8xf32>, tensor<f32>) -> tensor<16xf32>
  return %0 : tensor<16xf32>
}

// -----

func.func @momentum_nesterov(%p: tensor<16xf32>, %s: tensor<i64>, %lr: tensor<f32>) {
  // expected-error@+1 {{nesterov needs a positive momentum and zero dampening}}
  %0:2 = mpc.momentum_update %p, %p, %p, %s, %lr {nesterov = true, dampening = 0.5 : f32} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<i64>, tensor<f32>) -> (tensor<16xf32>, tensor<16xf32>)
  return
}

// -----

func.func @adam_beta(%p: tensor<16xf32>, %s: tensor<i64>, %lr: tensor<f32>) {
  // expected-error@+1 {{beta1 and beta2 must be in [0, 1)}}
  %0:3 = mpc.adam_update %p, %p, %p, %p, %s, %lr {beta1 = 1.5 : f32} : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<i64>, tensor<f32>) -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
  return
}

// -----

func.func @onnx_momentum_mode(%r: tensor<f32>, %t: tensor<i64>, %x: tensor<4xf32>) {
  // expected-error@+1 {{mode must be "standard" or "nesterov", got "fast"}}
  %0:2 = mpc.onnx_momentum %r, %t, %x, %x, %x {alpha = 0.9 : f32, beta = 1.0 : f32, norm_coefficient = 0.0 : f32, mode = "fast"} : (tensor<f32>, tensor<i64>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @onnx_adam_r(%r: tensor<1xf32>, %t: tensor<i64>, %x: tensor<4xf32>) {
  // expected-error@+1 {{operand #0 must be 0D tensor of 32-bit float values}}
  %0:3 = mpc.onnx_adam %r, %t, %x, %x, %x, %x : (tensor<1xf32>, tensor<i64>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @unscale_names(%g: tensor<8xf32>, %s: tensor<f32>) {
  // expected-error@+1 {{'mpc.unscale_and_check' op names lists 2 parameters for 1 gradients}}
  %u, %inf, %idx, %norm = mpc.unscale_and_check %g, %s {names = "a\nb"} : (tensor<8xf32>, tensor<f32>) -> (tensor<8xf32>, tensor<f32>, tensor<i64>, tensor<f32>)
  return
}

// -----

func.func @clip_max_norm(%g: tensor<8xf32>, %n: tensor<f32>) {
  // expected-error@+1 {{'mpc.clip_grad_norm' op max_norm must be positive and finite, got 0}}
  %c = mpc.clip_grad_norm %g, %n {max_norm = 0.0 : f32} : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return
}

// -----

func.func @accumulate_shape(%acc: tensor<8xf32>, %g: tensor<4xf32>, %t: tensor<i64>) {
  // expected-error@+2 {{'mpc.accumulate_grad' grad of type 'tensor<4xf32>' does not have the shape of acc 'tensor<8xf32>'}}
  // expected-error@+1 {{'mpc.accumulate_grad' op failed to infer returned types}}
  %a = mpc.accumulate_grad %acc, %g, %t {steps = 2 : i64} : (tensor<8xf32>, tensor<4xf32>, tensor<i64>) -> tensor<8xf32>
  return
}

// -----

func.func @accumulate_steps(%t: tensor<i64>) {
  // expected-error@+1 {{'mpc.accumulation_skip' op steps must be at least 1, got 0}}
  %h = mpc.accumulation_skip %t {steps = 0 : i64} : (tensor<i64>) -> tensor<f32>
  return
}

// -----

func.func @scale_update_factors(%s: tensor<f32>, %t: tensor<i64>, %inf: tensor<f32>) {
  // expected-error@+1 {{'mpc.loss_scale_update' op backoff_factor must be in (0, 1), got 1.5}}
  %s2, %t2 = mpc.loss_scale_update %s, %t, %inf {backoff_factor = 1.5 : f32} : (tensor<f32>, tensor<i64>, tensor<f32>) -> (tensor<f32>, tensor<i64>)
  return
}

// -----

func.func @scale_update_clamp(%s: tensor<f32>, %t: tensor<i64>, %inf: tensor<f32>) {
  // expected-error@+1 {{'mpc.loss_scale_update' op min_scale 8.000000e+00 exceeds max_scale 4.000000e+00}}
  %s2, %t2 = mpc.loss_scale_update %s, %t, %inf {min_scale = 8.0 : f32, max_scale = 4.0 : f32} : (tensor<f32>, tensor<i64>, tensor<f32>) -> (tensor<f32>, tensor<i64>)
  return
}

// -----

func.func @working_type_needs_f32(%p: tensor<8xbf16>, %g: tensor<8xf32>, %lr: tensor<f32>) {
  // expected-error@+2 {{'mpc.sgd_update' a working copy needs an f32 (master) param, got 'tensor<8xbf16>'}}
  // expected-error@+1 {{'mpc.sgd_update' op failed to infer returned types}}
  %p2:2 = mpc.sgd_update %p, %g, %lr {working_type = f16} : (tensor<8xbf16>, tensor<8xf32>, tensor<f32>) -> (tensor<8xbf16>, tensor<8xf16>)
  return
}

// -----

func.func @working_type_fp(%p: tensor<8xf32>, %g: tensor<8xf32>, %lr: tensor<f32>) {
  // expected-error@+2 {{'mpc.sgd_update' working_type must be f16 or bf16, got 'f64'}}
  // expected-error@+1 {{'mpc.sgd_update' op failed to infer returned types}}
  %p2:2 = mpc.sgd_update %p, %g, %lr {working_type = f64} : (tensor<8xf32>, tensor<8xf32>, tensor<f32>) -> (tensor<8xf32>, tensor<8xf64>)
  return
}

// -----

func.func @accumulate_dtype(%acc: tensor<8xbf16>, %g: tensor<8xbf16>, %t: tensor<i64>) {
  // expected-error@+2 {{'mpc.accumulate_grad' acc must be 'tensor<8xf32>' for grad 'tensor<8xbf16>', got 'tensor<8xbf16>'}}
  // expected-error@+1 {{'mpc.accumulate_grad' op failed to infer returned types}}
  %a = mpc.accumulate_grad %acc, %g, %t {steps = 2 : i64} : (tensor<8xbf16>, tensor<8xbf16>, tensor<i64>) -> tensor<8xbf16>
  return
}
