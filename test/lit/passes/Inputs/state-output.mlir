// The step returns @p's old value while storing a new one: the output is a
// snapshot taken before the copy at the end of the step overwrites the state.
module {
  ml_program.global private mutable @p(dense<1.0> : tensor<4xf32>) : tensor<4xf32>
  func.func @main(%x: tensor<4xf32> {mpc.name = "x"}) -> (tensor<4xf32> {mpc.name = "old"}, tensor<4xf32> {mpc.name = "new"}) {
    %p = ml_program.global_load @p : tensor<4xf32>
    %n = mpc.add %p, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    ml_program.global_store @p = %n : tensor<4xf32>
    return %p, %n : tensor<4xf32>, tensor<4xf32>
  }
}
