// The mixed-precision operand rules autocast relies on (docs/ops.md): gemm's
// C and layer_norm's scale/bias may stay f32 next to low-precision inputs;
// batch_norm's statistics may be any float; other mixes are still errors.
// RUN: mpc-opt %s -split-input-file -verify-diagnostics | FileCheck %s

// CHECK-LABEL: func.func @mixed_ok
func.func @mixed_ok(%a: tensor<2x4xbf16>, %b: tensor<4x3xbf16>, %c: tensor<3xf32>, %g: tensor<4xf32>,
                    %x: tensor<1x3x2x2xf16>, %s: tensor<3xf32>) -> (tensor<2x3xbf16>, tensor<2x4xbf16>, tensor<1x3x2x2xf16>) {
  // CHECK: mpc.gemm {{.*}} : (tensor<2x4xbf16>, tensor<4x3xbf16>, tensor<3xf32>) -> tensor<2x3xbf16>
  %0 = mpc.gemm %a, %b, %c : (tensor<2x4xbf16>, tensor<4x3xbf16>, tensor<3xf32>) -> tensor<2x3xbf16>
  // CHECK: mpc.layer_norm {{.*}} : (tensor<2x4xbf16>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4xbf16>, tensor<2x1xf32>, tensor<2x1xf32>)
  %y, %m, %r = mpc.layer_norm %a, %g, %g {axis = 1 : i64} : (tensor<2x4xbf16>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4xbf16>, tensor<2x1xf32>, tensor<2x1xf32>)
  // CHECK: mpc.batch_norm {{.*}} -> tensor<1x3x2x2xf16>
  %n = mpc.batch_norm %x, %s, %s, %s, %s : (tensor<1x3x2x2xf16>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x2x2xf16>
  return %0, %y, %n : tensor<2x3xbf16>, tensor<2x4xbf16>, tensor<1x3x2x2xf16>
}

// -----

func.func @gemm_c_f16(%a: tensor<2x4xbf16>, %b: tensor<4x3xbf16>, %c: tensor<3xf16>) -> tensor<2x3xbf16> {
  // expected-error @+2 {{C element type 'f16' must be A's element type or f32}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = mpc.gemm %a, %b, %c : (tensor<2x4xbf16>, tensor<4x3xbf16>, tensor<3xf16>) -> tensor<2x3xbf16>
  return %0 : tensor<2x3xbf16>
}

// -----

func.func @layer_norm_scale_f16(%a: tensor<2x4xbf16>, %g: tensor<4xf16>) -> tensor<2x4xbf16> {
  // expected-error @+2 {{scale/bias element type 'f16' must be X's element type or f32}}
  // expected-error @+1 {{failed to infer returned types}}
  %y, %m, %r = mpc.layer_norm %a, %g {axis = 1 : i64} : (tensor<2x4xbf16>, tensor<4xf16>) -> (tensor<2x4xbf16>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %y : tensor<2x4xbf16>
}

// -----

func.func @matmul_mixed(%a: tensor<2x4xbf16>, %b: tensor<4x3xf32>) -> tensor<2x3xbf16> {
  // expected-error @+2 {{operand element types differ}}
  // expected-error @+1 {{failed to infer returned types}}
  %0 = mpc.matmul %a, %b : (tensor<2x4xbf16>, tensor<4x3xf32>) -> tensor<2x3xbf16>
  return %0 : tensor<2x3xbf16>
}
