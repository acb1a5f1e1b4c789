// A small step for the plan-emission checks of mpc-training-step.mlir: matmul,
// batch_norm_train (running statistics), a frozen-able bias, dropout and a mean loss.
module {
  ml_program.global private @fc.w(dense<0.5> : tensor<4x3xf32>) : tensor<4x3xf32>
  ml_program.global private @bn.scale(dense<1.0> : tensor<3xf32>) : tensor<3xf32>
  ml_program.global private @bn.bias(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
  ml_program.global private @bn.mean(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
  ml_program.global private @bn.var(dense<1.0> : tensor<3xf32>) : tensor<3xf32>
  ml_program.global private @embed(dense<0.5> : tensor<3xf32>) : tensor<3xf32>
  func.func @main(%x: tensor<2x4xf32> {mpc.name = "x"}) -> (tensor<f32> {mpc.name = "loss"}, tensor<2x3xf32> {mpc.name = "y"}) {
    %w = ml_program.global_load_const @fc.w : tensor<4x3xf32>
    %s = ml_program.global_load_const @bn.scale : tensor<3xf32>
    %b = ml_program.global_load_const @bn.bias : tensor<3xf32>
    %m = ml_program.global_load_const @bn.mean : tensor<3xf32>
    %v = ml_program.global_load_const @bn.var : tensor<3xf32>
    %e = ml_program.global_load_const @embed : tensor<3xf32>
    %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
    %1:3 = mpc.batch_norm_train %0, %s, %b, %m, %v : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>)
    %2 = mpc.add %1#0, %e : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    %3:2 = mpc.dropout %2 {ratio = 0.1 : f32} : (tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xi1>)
    %l = mpc.reduce_mean %3#0 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
    return %l, %0 : tensor<f32>, tensor<2x3xf32>
  }
}
