// Export of the training-mode and loss ops, and the ONNX-opset constraint on
// autocast: at opset 17 AveragePool has no bfloat16, so it stays untouched
// (onnx-opset17:UNTOUCHED) while its neighbours compute in bf16.
// RUN: mpc-opt %s --emit=onnx -o %t.fp32.onnx
// RUN: %python %S/Inputs/check_onnx.py %t.fp32.onnx | FileCheck %s --check-prefix=FP32
// RUN: mpc-opt %s --autocast=bf16 --precision-preset=aggressive --emit=onnx -o %t.bf16.onnx --precision-report=%t.txt
// RUN: %python %S/Inputs/check_onnx.py %t.bf16.onnx | FileCheck %s --check-prefix=BF16
// RUN: FileCheck %s --input-file=%t.txt --check-prefix=REPORT

module attributes {mpc.opset = 17 : i64} {
  func.func @main(%x: tensor<2x3x4x4xf32> {mpc.name = "x"}, %s: tensor<3xf32> {mpc.name = "s"}, %lab: tensor<2xi64> {mpc.name = "labels"}) -> (tensor<f32> {mpc.name = "loss"}, tensor<f32> {mpc.name = "nll"}, tensor<2x3x4x4xi1> {mpc.name = "mask"}, tensor<3xf32> {mpc.name = "rm"}) {
    %y, %rm, %rv = mpc.batch_norm_train %x, %s, %s, %s, %s {epsilon = 1.0e-05 : f32, momentum = 0.9 : f32} : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) loc("bn")
    %d, %m = mpc.dropout %y {ratio = 0.1 : f32, seed = 3 : i64} : (tensor<2x3x4x4xf32>) -> (tensor<2x3x4x4xf32>, tensor<2x3x4x4xi1>) loc("drop")
    %p = mpc.avg_pool %d {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>} : (tensor<2x3x4x4xf32>) -> tensor<2x3x2x2xf32> loc("pool")
    %r = mpc.reduce_mean %p {axes = array<i64: 2, 3>, keepdims = false} : (tensor<2x3x2x2xf32>) -> tensor<2x3xf32> loc("rmean")
    %ls = mpc.log_softmax %r {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32> loc("lsm")
    %nll = mpc.nll_loss %ls, %lab {reduction = "mean"} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<f32> loc("nll")
    %loss, %lp = mpc.softmax_cross_entropy_loss %r, %lab {reduction = "sum", ignore_index = 1 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> (tensor<f32>, tensor<2x3xf32>) loc("sce")
    return %loss, %nll, %m, %rm : tensor<f32>, tensor<f32>, tensor<2x3x4x4xi1>, tensor<3xf32>
  }
}

// FP32: BatchNormalization:bn Dropout:drop AveragePool:pool ReduceMean:rmean LogSoftmax:lsm NegativeLogLikelihoodLoss:nll SoftmaxCrossEntropyLoss:sce
// FP32: inputs: x:FLOAT s:FLOAT labels:INT64
// BF16: BatchNormalization:bn Dropout:drop Cast:drop:0/cast_fp32 AveragePool:pool Cast:pool/cast_bf16 ReduceMean:rmean Cast:rmean/cast_fp32 LogSoftmax:lsm NegativeLogLikelihoodLoss:nll SoftmaxCrossEntropyLoss:sce
// BF16: inputs: x:BFLOAT16 s:FLOAT labels:INT64
// REPORT: bn     batch_norm_train            bf16   aggressive:LOWER
// REPORT: pool   avg_pool                    fp32   onnx-opset17:UNTOUCHED
// REPORT: lsm    log_softmax                 fp32   aggressive:FP32
