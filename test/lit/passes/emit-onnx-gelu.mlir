// Below opset 20 ONNX has no Gelu: the exporter writes it out with Erf (or
// Tanh), Mul and Add in the input's dtype; at opset 20 it is one Gelu node.
// RUN: mpc-opt %s --emit=onnx -o %t.onnx
// RUN: %python %S/Inputs/run_gelu.py %t.onnx | FileCheck %s
// RUN: sed -e 's/mpc.opset = 17/mpc.opset = 20/' %s > %t.20.mlir
// RUN: mpc-opt %t.20.mlir --emit=onnx -o %t.20.onnx
// RUN: %python %S/Inputs/run_gelu.py %t.20.onnx | FileCheck %s --check-prefix=OPSET20

module attributes {mpc.opset = 17 : i64} {
  func.func @main(%x: tensor<64xf32> {mpc.name = "x"}) -> (tensor<64xf32> {mpc.name = "exact"}, tensor<64xf32> {mpc.name = "approx"}) {
    %0 = mpc.gelu %x : (tensor<64xf32>) -> tensor<64xf32> loc("gelu")
    %1 = mpc.gelu %x {approximate = "tanh"} : (tensor<64xf32>) -> tensor<64xf32> loc("gelu_tanh")
    return %0, %1 : tensor<64xf32>, tensor<64xf32>
  }
}

// CHECK: ops: Add Erf Mul Tanh
// CHECK: exact: max error {{[0-9.e-]+}} ok
// CHECK: approx: max error {{[0-9.e-]+}} ok
// OPSET20: ops: Gelu
// OPSET20: exact: max error {{[0-9.e-]+}} ok
// OPSET20: approx: max error {{[0-9.e-]+}} ok
