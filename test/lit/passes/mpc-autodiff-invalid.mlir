// mpc-autodiff errors: they name the op (by its ONNX node) or the outputs.
// RUN: mpc-opt %s -split-input-file -mpc-autodiff -verify-diagnostics

module {
  ml_program.global private @p(dense<0.5> : tensor<4xf32>) : tensor<4xf32>
  // expected-error@+1 {{cannot pick the loss: @main has 0 scalar float outputs; name it with loss=<output> (outputs: 'y')}}
  func.func @main() -> (tensor<4xf32> {mpc.name = "y"}) {
    %p = ml_program.global_load_const @p : tensor<4xf32>
    return %p : tensor<4xf32>
  }
}

// -----

module {
  ml_program.global private @p(dense<0.5> : tensor<4xf32>) : tensor<4xf32>
  func.func @main() -> (tensor<f32> {mpc.name = "loss"}) {
    %p = ml_program.global_load_const @p : tensor<4xf32>
    // expected-error@+1 {{'mpc.amax' op has no gradient rule, but the loss depends on its result through a trainable value (mpc-autodiff)}}
    %a = mpc.amax %p : (tensor<4xf32>) -> tensor<f32>
    return %a : tensor<f32>
  }
}

// -----

module {
  ml_program.global private @g(dense<1.0> : tensor<6xf32>) : tensor<6xf32>
  func.func @main(%x: tensor<2x6xf32>) -> (tensor<f32> {mpc.name = "loss"}) {
    %g = ml_program.global_load_const @g : tensor<6xf32>
    // expected-error@+1 {{'mpc.layer_norm' op gradient: the mean and inv_std_dev results of layer_norm are not differentiable (only y is)}}
    %y:3 = mpc.layer_norm %x, %g {axis = 1 : i64} : (tensor<2x6xf32>, tensor<6xf32>) -> (tensor<2x6xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
    %l = mpc.reduce_sum %y#1 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x1xf32>) -> tensor<f32>
    %m = mpc.reduce_sum %y#0 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x6xf32>) -> tensor<f32>
    %s = mpc.add %l, %m : (tensor<f32>, tensor<f32>) -> tensor<f32>
    return %s : tensor<f32>
  }
}
