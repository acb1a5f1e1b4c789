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
