// A step whose stored values need a copy: %n's producer runs before the last
// reader of @p's old value, and @q stores a graph input.
module {
  ml_program.global private mutable @p(dense<1.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @q(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @r(dense<2.0> : tensor<4xf32>) : tensor<4xf32>
  func.func @main(%x: tensor<4xf32> {mpc.name = "x"}) -> (tensor<4xf32> {mpc.name = "u"}) {
    %p = ml_program.global_load @p : tensor<4xf32>
    %r = ml_program.global_load @r : tensor<4xf32>
    %n = mpc.add %p, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %u = mpc.mul %p, %p : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %r2 = mpc.mul %r, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    ml_program.global_store @p = %n : tensor<4xf32>
    ml_program.global_store @q = %x : tensor<4xf32>
    ml_program.global_store @r = %r2 : tensor<4xf32>
    return %u : tensor<4xf32>
  }
}
