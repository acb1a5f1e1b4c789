// A weight and a single-element scale: without `trainable`, the scale is a
// constant (an attention scale, Gelu's 0.5); naming it in `trainable` trains it.
module {
  ml_program.global private @w(dense<0.5> : tensor<4x3xf32>) : tensor<4x3xf32>
  ml_program.global private @scale(dense<0.25> : tensor<f32>) : tensor<f32>
  func.func @main(%x: tensor<2x4xf32> {mpc.name = "x"}) -> (tensor<f32> {mpc.name = "loss"}) {
    %w = ml_program.global_load_const @w : tensor<4x3xf32>
    %s = ml_program.global_load_const @scale : tensor<f32>
    %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
    %1 = mpc.mul %0, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
    %l = mpc.reduce_sum %1 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
