// A parameter whose every use is a cast to fp16 is stored in fp16, unless a
// value overflows fp16: then it stays fp32 with a Cast node and a warning.
// RUN: mpc-opt %s --autocast=fp16 --emit=onnx -o %t.onnx 2>&1 | FileCheck %s --check-prefix=WARN
// RUN: %python -c "import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m); print([(t.name, t.data_type) for t in m.graph.initializer]); print([(n.name, n.op_type) for n in m.graph.node]); print(m.opset_import[0].version)" %t.onnx | FileCheck %s

module attributes {mpc.opset = 17 : i64} {
  ml_program.global private @small(dense<0.5> : tensor<4x4xf32>) : tensor<4x4xf32>
  ml_program.global private @huge(dense<1.0e+05> : tensor<4x4xf32>) : tensor<4x4xf32>
  func.func @main(%x: tensor<2x4xf32> {mpc.name = "x"}) -> (tensor<2x4xf32> {mpc.name = "y"}) {
    %s = ml_program.global_load_const @small : tensor<4x4xf32> loc("small")
    %h = ml_program.global_load_const @huge : tensor<4x4xf32> loc("huge")
    %0 = mpc.matmul %x, %s : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("fc1")
    %1 = mpc.matmul %0, %h : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32> loc("fc2")
    return %1 : tensor<2x4xf32>
  }
}

// WARN: mpc-opt: warning: initializer 'huge' has 16 value(s) outside the fp16 range (largest |x| = 1.000000e+05): kept in fp32 with a Cast node
// 1 = FLOAT, 10 = FLOAT16
// CHECK: [('small', 10), ('huge', 1)]
// CHECK: [('huge/cast_fp16', 'Cast'), ('fc1', 'MatMul'), ('fc2', 'MatMul')]
// CHECK: 17
