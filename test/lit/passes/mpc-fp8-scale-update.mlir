// mpc-fp8-scale-update appends one mpc.fp8_scale_update over every FP8
// operand of the step and stores its results; the op marked mpc.skip_step
// becomes its skip operand; a second run changes nothing.
// RUN: mpc-opt %s -split-input-file -mpc-fp8-scale-update | FileCheck %s
// RUN: mpc-opt %s -split-input-file -mpc-fp8-scale-update -mpc-fp8-scale-update | FileCheck %s

// The whole --fp8 pipeline on a Linear layer: forward FP8 GEMM, FP8 dgrad is
// not needed (x is an input) but wgrad is (E5M2 x E4M3, TN with transposes),
// the update at the end after the optimizer.
// RUN: mpc-opt %S/Inputs/fp8-linear.mlir --train --optimizer=sgd --autocast=bf16 --fp8=hybrid --fp8-min-gemm-size=0 --fp8-amax-history=8 | FileCheck %s --check-prefix=PIPE
// RUN: mpc-opt %S/Inputs/fp8-linear.mlir --train --optimizer=sgd --autocast=bf16 --fp8=hybrid --fp8-min-gemm-size=0 --emit=plan -o %t.mpcp --plan-stats 2>&1 | FileCheck %s --check-prefix=PLAN
// The precision report lists the FP8 GEMM, or the fallback and its reason.
// RUN: mpc-opt %S/Inputs/fp8-linear.mlir --autocast=bf16 --fp8=hybrid --fp8-min-gemm-size=0 --precision-report=%t.txt -o /dev/null
// RUN: FileCheck %s --check-prefix=REPORT < %t.txt
// RUN: mpc-opt %S/Inputs/fp8-linear.mlir --autocast=bf16 --fp8=hybrid --precision-report=%t.json -o /dev/null
// RUN: FileCheck %s --check-prefix=JSON < %t.json

// PIPE: ml_program.global private mutable @fc.fp8.grad_output.amax_history(dense<0.000000e+00> : tensor<8xf32>)
// PIPE-LABEL: func.func @main
// PIPE: mpc.fp8_gemm {{.*}} -> tensor<16x32xbf16>
// PIPE: %[[GS:.*]] = ml_program.global_load @fc.fp8.grad_output.scale
// PIPE: %[[GSI:.*]] = ml_program.global_load @fc.fp8.grad_output.scale_inv
// PIPE: %[[DQ:.*]], %[[DA:.*]] = mpc.fp8_quantize %{{.*}}, %[[GS]] {mpc.fp8_operand = "fc.fp8.grad_output"} : (tensor<16x32xbf16>, tensor<f32>) -> (tensor<16x32xf8E5M2>, tensor<f32>)
// PIPE: %[[DQT:.*]] = mpc.transpose %[[DQ]] {perm = array<i64: 1, 0>} : (tensor<16x32xf8E5M2>) -> tensor<32x16xf8E5M2>
// PIPE: %[[XT:.*]] = mpc.transpose %{{.*}} {perm = array<i64: 1, 0>} : (tensor<16x64xf8E4M3FN>) -> tensor<64x16xf8E4M3FN>
// PIPE: mpc.fp8_gemm %[[DQT]], %[[XT]], %[[GSI]], %{{.*}} : (tensor<32x16xf8E5M2>, tensor<64x16xf8E4M3FN>, tensor<f32>, tensor<f32>) -> tensor<32x64xf32>
// PIPE: mpc.sgd_update
// PIPE: mpc.fp8_scale_update {{.*}} {formats = array<i64: 5, 5, 6>}
// PIPE-COUNT-9: ml_program.global_store @fc.fp8.
// PIPE-NEXT: return
// PLAN: plan: {{[0-9]+}} state tensors, 0 copies into state
// REPORT: fc fp8_gemm bf16 default:LOWER [fp8 FP8 GEMM (delayed scaling): E4M3 x E4M3 -> bf16
// JSON: "fp8": "fallback: M*N*K = 16*32*64 = 32768 is below min-gemm-size 2147483648 (small GEMMs are faster in bf16/fp16)",
// JSON-NEXT: "name": "fc",
// JSON-NEXT: "op": "gemm",

module {
  ml_program.global private mutable @g.fp8.input.scale(dense<1.0> : tensor<f32>) : tensor<f32>
  ml_program.global private mutable @g.fp8.input.scale_inv(dense<1.0> : tensor<f32>) : tensor<f32>
  ml_program.global private mutable @g.fp8.input.amax_history(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  ml_program.global private mutable @g.fp8.grad_output.scale(dense<1.0> : tensor<f32>) : tensor<f32>
  ml_program.global private mutable @g.fp8.grad_output.scale_inv(dense<1.0> : tensor<f32>) : tensor<f32>
  ml_program.global private mutable @g.fp8.grad_output.amax_history(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  func.func @main(%x: tensor<16x16xbf16>, %s: tensor<f32>, %skip: tensor<f32>) -> tensor<16x16xf8E4M3FN> {
    %q, %a = mpc.fp8_quantize %x, %s {mpc.fp8_operand = "g.fp8.input"} : (tensor<16x16xbf16>, tensor<f32>) -> (tensor<16x16xf8E4M3FN>, tensor<f32>)
    %q2, %a2 = mpc.fp8_quantize %x, %s {mpc.fp8_operand = "g.fp8.grad_output"} : (tensor<16x16xbf16>, tensor<f32>) -> (tensor<16x16xf8E5M2>, tensor<f32>)
    %f = mpc.add %skip, %skip {mpc.skip_step} : (tensor<f32>, tensor<f32>) -> tensor<f32>
    return %q : tensor<16x16xf8E4M3FN>
  }
}
// CHECK-LABEL: func.func @main
// CHECK: %[[Q:.*]], %[[A:.*]] = mpc.fp8_quantize
// CHECK: %[[Q2:.*]], %[[A2:.*]] = mpc.fp8_quantize
// CHECK: %[[F:.*]] = mpc.add {{.*}} {mpc.skip_step}
// CHECK: %[[H:.*]] = ml_program.global_load @g.fp8.input.amax_history
// CHECK: %[[S:.*]] = ml_program.global_load @g.fp8.input.scale
// CHECK: %[[I:.*]] = ml_program.global_load @g.fp8.input.scale_inv
// CHECK: %[[H2:.*]] = ml_program.global_load @g.fp8.grad_output.amax_history
// CHECK: %[[S2:.*]] = ml_program.global_load @g.fp8.grad_output.scale
// CHECK: %[[I2:.*]] = ml_program.global_load @g.fp8.grad_output.scale_inv
// CHECK: %[[R:.*]]:6 = mpc.fp8_scale_update %[[A]], %[[H]], %[[S]], %[[I]], %[[A2]], %[[H2]], %[[S2]], %[[I2]], %[[F]] {formats = array<i64: 5, 6>}
// CHECK: ml_program.global_store @g.fp8.input.amax_history = %[[R]]#0
// CHECK: ml_program.global_store @g.fp8.input.scale = %[[R]]#1
// CHECK: ml_program.global_store @g.fp8.input.scale_inv = %[[R]]#2
// CHECK: ml_program.global_store @g.fp8.grad_output.amax_history = %[[R]]#3
// CHECK-NOT: mpc.fp8_scale_update

// -----

// mpc.skip_step with a result index marks one result of a multi-result op.
module {
  ml_program.global private mutable @h.fp8.input.scale(dense<1.0> : tensor<f32>) : tensor<f32>
  ml_program.global private mutable @h.fp8.input.scale_inv(dense<1.0> : tensor<f32>) : tensor<f32>
  ml_program.global private mutable @h.fp8.input.amax_history(dense<0.0> : tensor<4xf32>) : tensor<4xf32>
  func.func @main(%x: tensor<16x16xbf16>, %s: tensor<f32>, %skip: tensor<f32>) -> tensor<16x16xf8E4M3FN> {
    %q, %a = mpc.fp8_quantize %x, %s {mpc.fp8_operand = "h.fp8.input"} : (tensor<16x16xbf16>, tensor<f32>) -> (tensor<16x16xf8E4M3FN>, tensor<f32>)
    %q2, %flag = mpc.fp8_quantize %x, %skip {mpc.skip_step = 1 : i64} : (tensor<16x16xbf16>, tensor<f32>) -> (tensor<16x16xf8E4M3FN>, tensor<f32>)
    return %q : tensor<16x16xf8E4M3FN>
  }
}
// CHECK-LABEL: func.func @main
// CHECK: %{{.*}}, %[[FLAG:.*]] = mpc.fp8_quantize {{.*}} {mpc.skip_step = 1 : i64}
// CHECK: mpc.fp8_scale_update {{.*}}, %[[FLAG]] {formats = array<i64: 5>}
