// mpc-fp8: eligible bf16/fp16 GEMMs become FP8 GEMMs (quantize with amax,
// TN transposes, fp8_gemm), the others keep their dtype with the reason in
// mpc.precision; delayed scaling creates the per-operand state globals.
// RUN: mpc-opt %s -split-input-file -mpc-fp8="min-gemm-size=0" | FileCheck %s
// Idempotence: a second run changes nothing.
// RUN: mpc-opt %s -split-input-file -mpc-fp8="min-gemm-size=0" -o %t.1.mlir
// RUN: mpc-opt %t.1.mlir -split-input-file -mpc-fp8="min-gemm-size=0" -o %t.2.mlir
// RUN: diff %t.1.mlir %t.2.mlir
// RUN: mpc-opt %s -split-input-file -mpc-fp8 | FileCheck %s --check-prefix=SMALL
// RUN: mpc-opt %s -split-input-file -mpc-fp8="recipe=current min-gemm-size=0" | FileCheck %s --check-prefix=CURRENT
// RUN: mpc-opt %s -split-input-file -mpc-fp8="recipe=mxfp8 min-gemm-size=0" | FileCheck %s --check-prefix=MX
// RUN: mpc-opt %s -split-input-file -mpc-fp8="format=e4m3 amax-history=16 amax-algo=most_recent margin=2 min-gemm-size=0" | FileCheck %s --check-prefix=OPTS

// CHECK: ml_program.global private mutable @fc1.fp8.input.scale(dense<1.000000e+00> : tensor<f32>) : tensor<f32>
// CHECK: ml_program.global private mutable @fc1.fp8.input.scale_inv(dense<1.000000e+00> : tensor<f32>) : tensor<f32>
// CHECK: ml_program.global private mutable @fc1.fp8.input.amax_history(dense<0.000000e+00> : tensor<1024xf32>) : tensor<1024xf32>
// CHECK: @fc1.fp8.weight.scale(
// CHECK: @fc1.fp8.grad_output.amax_history(
// CHECK-LABEL: func.func @main
// CHECK: %[[X2:.*]] = mpc.reshape %arg0 : (tensor<2x16x32xbf16>) -> tensor<32x32xbf16>
// CHECK: %[[SX:.*]] = ml_program.global_load @fc1.fp8.input.scale : tensor<f32>
// CHECK: %[[IX:.*]] = ml_program.global_load @fc1.fp8.input.scale_inv : tensor<f32>
// CHECK: %[[SW:.*]] = ml_program.global_load @fc1.fp8.weight.scale : tensor<f32>
// CHECK: %[[IW:.*]] = ml_program.global_load @fc1.fp8.weight.scale_inv : tensor<f32>
// CHECK: %[[XQ:.*]], %{{.*}} = mpc.fp8_quantize %[[X2]], %[[SX]] {mpc.fp8_operand = "fc1.fp8.input"} : (tensor<32x32xbf16>, tensor<f32>) -> (tensor<32x32xf8E4M3FN>, tensor<f32>)
// CHECK: %[[WQ:.*]], %{{.*}} = mpc.fp8_quantize %arg1, %[[SW]] {mpc.fp8_operand = "fc1.fp8.weight"}
// CHECK: %[[WT:.*]] = mpc.transpose %[[WQ]] {perm = array<i64: 1, 0>} : (tensor<32x64xf8E4M3FN>) -> tensor<64x32xf8E4M3FN>
// CHECK: %[[Y:.*]] = mpc.fp8_gemm %[[XQ]], %[[WT]], %[[IX]], %[[IW]] {mpc.fp8 = {grad_format = "e5m2", margin = 0 : i64, recipe = "delayed", state = "fc1"}, mpc.precision = {dtype = bf16, fp8 = "FP8 GEMM (delayed scaling): E4M3 x E4M3 -> bf16, FP32 accumulation; backward dgrad/wgrad with E5M2 gradients; state fc1.fp8.{input,weight,grad_output}.*", rule = "default:LOWER"}}
// CHECK-SAME: -> tensor<32x64xbf16>
// CHECK: mpc.reshape %[[Y]] : (tensor<32x64xbf16>) -> tensor<2x16x64xbf16>
// SMALL-LABEL: func.func @main
// SMALL: mpc.matmul {{.*}}fp8 = "fallback: M*N*K = 32*64*32 = 65536 is below min-gemm-size 2147483648 (small GEMMs are faster in bf16/fp16)"
// CURRENT-NOT: ml_program.global
// CURRENT: %[[A:.*]] = mpc.amax %{{.*}} : (tensor<32x32xbf16>) -> tensor<f32>
// CURRENT: %[[S:.*]], %[[SI:.*]] = mpc.fp8_current_scale %[[A]] {format = 5 : i64}
// CURRENT: mpc.fp8_quantize %{{.*}}, %[[S]] :
// MX-NOT: ml_program.global
// MX-LABEL: func.func @main
// MX: %[[X2:.*]] = mpc.reshape %arg0 : (tensor<2x16x32xbf16>) -> tensor<32x32xbf16>
// MX: %[[WT:.*]] = mpc.transpose %arg1 {perm = array<i64: 1, 0>} : (tensor<32x64xbf16>) -> tensor<64x32xbf16>
// MX: mpc.mx_gemm %[[X2]], %[[WT]] {mpc.precision = {dtype = bf16, fp8 = "MXFP8 GEMM (32-element blocks along K, E8M0 scales): E4M3 x E4M3 -> bf16, backward with E5M2 gradients; emulated on the CPU. Hopper has no native MXFP8: the CUDA backend would use the per-tensor recipe", rule = "default:LOWER"}} : (tensor<32x32xbf16>, tensor<64x32xbf16>) -> tensor<32x64xbf16>
// OPTS: module attributes {mpc.fp8 = {amax_algo = "most_recent", amax_history = 16 : i64, format = "e4m3", margin = 2 : i64, recipe = "delayed"}}
// OPTS: @fc1.fp8.input.amax_history(dense<0.000000e+00> : tensor<16xf32>)
// OPTS: mpc.fp8 = {grad_format = "e4m3", margin = 2 : i64, recipe = "delayed", state = "fc1"}
module {
  func.func @main(%x: tensor<2x16x32xbf16>, %w: tensor<32x64xbf16>) -> tensor<2x16x64xbf16> {
    %y = mpc.matmul %x, %w {mpc.precision = {dtype = bf16, rule = "default:LOWER"}} : (tensor<2x16x32xbf16>, tensor<32x64xbf16>) -> tensor<2x16x64xbf16> loc("fc1")
    return %y : tensor<2x16x64xbf16>
  }
}

// -----

// Gemm with trans_b (the weight is already N x K: no transpose), alpha, beta
// and an f32 bias that the FP8 GEMM adds in FP32.
// CHECK-LABEL: func.func @main
// CHECK: %[[AQ:.*]], %{{.*}} = mpc.fp8_quantize %arg0, %{{.*}} {mpc.fp8_operand = "proj.fp8.input"}
// CHECK: %[[BQ:.*]], %{{.*}} = mpc.fp8_quantize %arg1, %{{.*}} {mpc.fp8_operand = "proj.fp8.weight"}
// CHECK-NOT: mpc.transpose
// CHECK: mpc.fp8_gemm %[[AQ]], %[[BQ]], %{{.*}}, %{{.*}}, %arg2 {alpha = 5.000000e-01 : f32, beta = 2.000000e+00 : f32
// CHECK-SAME: (tensor<32x64xf8E4M3FN>, tensor<48x64xf8E4M3FN>, tensor<f32>, tensor<f32>, tensor<48xf32>) -> tensor<32x48xf16>
module {
  func.func @main(%a: tensor<32x64xf16>, %b: tensor<48x64xf16>, %c: tensor<48xf32>) -> tensor<32x48xf16> {
    %y = mpc.gemm %a, %b, %c {trans_b = true, alpha = 0.5 : f32, beta = 2.0 : f32} : (tensor<32x64xf16>, tensor<48x64xf16>, tensor<48xf32>) -> tensor<32x48xf16> loc("proj")
    return %y : tensor<32x48xf16>
  }
}

// -----

// Ineligible GEMMs keep their op and dtype; the reason goes into mpc.precision.
// CHECK-LABEL: func.func @main
// CHECK-NOT: fp8_gemm
// CHECK: mpc.matmul {{.*}}fp8 = "fallback: operands are f32 x f32 -> f32, not in the low-precision class (FP8 GEMMs replace bf16/fp16 GEMMs: run --autocast=bf16|fp16 first)"
// CHECK: mpc.matmul {{.*}}fp8 = "fallback: N = 10 is not a multiple of 16 (cuBLASLt FP8 GEMMs need leading dimensions that are multiples of 16)"
// CHECK: mpc.matmul {{.*}}fp8 = "fallback: matmul of a rank-4 by a rank-4 operand: only Linear-style GEMMs (rank >= 2 input, 2-D weight) go FP8"
// CHECK-NOT: fp8_gemm
module {
  func.func @main(%x: tensor<32x32xf32>, %w: tensor<32x32xf32>, %h: tensor<32x32xbf16>, %v: tensor<32x10xbf16>,
                  %q: tensor<2x2x16x16xbf16>, %k: tensor<2x2x16x16xbf16>) -> (tensor<32x32xf32>, tensor<32x10xbf16>, tensor<2x2x16x16xbf16>) {
    %0 = mpc.matmul %x, %w : (tensor<32x32xf32>, tensor<32x32xf32>) -> tensor<32x32xf32> loc("fp32_gemm")
    %1 = mpc.matmul %h, %v : (tensor<32x32xbf16>, tensor<32x10xbf16>) -> tensor<32x10xbf16> loc("head")
    %2 = mpc.matmul %q, %k : (tensor<2x2x16x16xbf16>, tensor<2x2x16x16xbf16>) -> tensor<2x2x16x16xbf16> loc("scores")
    return %0, %1, %2 : tensor<32x32xf32>, tensor<32x10xbf16>, tensor<2x2x16x16xbf16>
  }
}
