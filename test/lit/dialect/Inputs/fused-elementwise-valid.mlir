// A valid fused group (the round-trip input of ../fused-elementwise.mlir).
func.func @group(%x: tensor<4x8xbf16>, %b: tensor<8xbf16>, %c: tensor<4x1xi1>) -> tensor<4x8xf32> {
  %0 = mpc.fused_elementwise %x, %b, %c : (tensor<4x8xbf16>, tensor<8xbf16>, tensor<4x1xi1>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xbf16>, %bb: tensor<8xbf16>, %cc: tensor<4x1xi1>):
    %1 = mpc.mul %a, %bb : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16>
    %2 = mpc.where %cc, %1, %a : (tensor<4x1xi1>, tensor<4x8xbf16>, tensor<4x8xbf16>) -> tensor<4x8xbf16>
    %3 = mpc.cast %2 : (tensor<4x8xbf16>) -> tensor<4x8xf32>
    mpc.yield %3 : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}
