// A bf16 matmul on an FP32 weight (cast per step) and an FP32-only gain: the
// inputs of the loss-scaling and master-weights checks.
module {
  ml_program.global private @w(dense<0.5> : tensor<4x3xf32>) : tensor<4x3xf32>
  ml_program.global private @g(dense<1.0> : tensor<3xf32>) : tensor<3xf32>
  func.func @main(%x: tensor<2x4xbf16>) -> (tensor<f32> {mpc.name = "loss"}) {
    %w = ml_program.global_load_const @w : tensor<4x3xf32>
    %g = ml_program.global_load_const @g : tensor<3xf32>
    %wb = mpc.cast %w : (tensor<4x3xf32>) -> tensor<4x3xbf16>
    %0 = mpc.matmul %x, %wb : (tensor<2x4xbf16>, tensor<4x3xbf16>) -> tensor<2x3xbf16>
    %1 = mpc.cast %0 : (tensor<2x3xbf16>) -> tensor<2x3xf32>
    %2 = mpc.mul %1, %g : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    %l = mpc.reduce_sum %2 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}
