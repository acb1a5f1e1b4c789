// One Linear layer (Gemm with trans_b and bias) and a mean loss, FP32: the
// input of the --fp8 pipeline tests in mpc-fp8-scale-update.mlir.
module {
  ml_program.global private @fc.w(dense<0.05> : tensor<32x64xf32>) : tensor<32x64xf32>
  ml_program.global private @fc.b(dense<0.0> : tensor<32xf32>) : tensor<32xf32>
  func.func @main(%x: tensor<16x64xf32> {mpc.name = "x"}) -> (tensor<f32> {mpc.name = "loss"}) {
    %w = ml_program.global_load_const @fc.w : tensor<32x64xf32>
    %b = ml_program.global_load_const @fc.b : tensor<32xf32>
    %y = mpc.gemm %x, %w, %b {trans_b = true} : (tensor<16x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<16x32xf32> loc("fc")
    %l = mpc.reduce_mean %y {axes = array<i64: 0, 1>, keepdims = false} : (tensor<16x32xf32>) -> tensor<f32> loc("mean")
    return %l : tensor<f32>
  }
}
