// A bias + GELU + cast chain after a matmul (input of mpc-fuse-elementwise.mlir).
func.func @main(%x: tensor<4x8xbf16>, %w: tensor<8x8xbf16>, %b: tensor<8xbf16>) -> tensor<4x8xf32> {
  %m = mpc.matmul %x, %w : (tensor<4x8xbf16>, tensor<8x8xbf16>) -> tensor<4x8xbf16> loc("fc")
  %0 = mpc.add %m, %b : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16> loc("fc.bias")
  %1 = mpc.gelu %0 : (tensor<4x8xbf16>) -> tensor<4x8xbf16> loc("gelu")
  %2 = mpc.cast %1 : (tensor<4x8xbf16>) -> tensor<4x8xf32> loc("out")
  return %2 : tensor<4x8xf32>
}
