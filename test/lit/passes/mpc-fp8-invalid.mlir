// Malformed FP8 ops are errors naming the problem.
// RUN: mpc-opt %s -split-input-file -verify-diagnostics -o /dev/null
module {
  func.func @main(%a: tensor<32x32xf8E5M2>, %b: tensor<16x32xf8E5M2>, %s: tensor<f32>) -> tensor<32x16xf32> {
    // expected-error @+1 {{E5M2 x E5M2 is not supported}}
    %y = mpc.fp8_gemm %a, %b, %s, %s : (tensor<32x32xf8E5M2>, tensor<16x32xf8E5M2>, tensor<f32>, tensor<f32>) -> tensor<32x16xf32>
    return %y : tensor<32x16xf32>
  }
}

// -----

func.func @k_mismatch(%a: tensor<32x32xf8E4M3FN>, %b: tensor<16x16xf8E4M3FN>, %s: tensor<f32>) -> tensor<32x16xf32> {
  // expected-error @+1 {{must share the reduction dim K (TN form: both K-major)}}
  %y = mpc.fp8_gemm %a, %b, %s, %s : (tensor<32x32xf8E4M3FN>, tensor<16x16xf8E4M3FN>, tensor<f32>, tensor<f32>) -> tensor<32x16xf32>
  return %y : tensor<32x16xf32>
}

// -----

func.func @update_arity(%a: tensor<f32>, %h: tensor<4xf32>) -> (tensor<4xf32>, tensor<f32>, tensor<f32>) {
  // expected-error @+1 {{needs 4 operands (amax, history, scale, scale_inv each) or 5 with skip, got 2}}
  %r:3 = mpc.fp8_scale_update %a, %h {formats = array<i64: 5>} : (tensor<f32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<f32>, tensor<f32>)
  return %r#0, %r#1, %r#2 : tensor<4xf32>, tensor<f32>, tensor<f32>
}

// -----

func.func @update_format(%a: tensor<f32>, %h: tensor<4xf32>) -> (tensor<4xf32>, tensor<f32>, tensor<f32>) {
  // expected-error @+1 {{formats entries must be 5 (f8E4M3FN) or 6 (f8E5M2), got 7}}
  %r:3 = mpc.fp8_scale_update %a, %h, %a, %a {formats = array<i64: 7>} : (tensor<f32>, tensor<4xf32>, tensor<f32>, tensor<f32>) -> (tensor<4xf32>, tensor<f32>, tensor<f32>)
  return %r#0, %r#1, %r#2 : tensor<4xf32>, tensor<f32>, tensor<f32>
}
