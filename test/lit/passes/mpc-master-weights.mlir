// mpc-master-weights: a parameter whose every forward use is a cast to the low
// dtype is stored in that dtype (no per-step cast); with master weights its
// FP32 value moves to <param>.master, which the optimizer updates while
// writing the working copy in the same op. A parameter used in FP32 keeps
// FP32 storage.
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir -mpc-training-step="optimizer=adamw" -mpc-master-weights="param-dtype=bf16" | FileCheck %s --check-prefix=MASTER
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir -mpc-training-step="optimizer=sgd" -mpc-master-weights="param-dtype=bf16 master=false" | FileCheck %s --check-prefix=LOW
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir -mpc-training-step="optimizer=sgd" -mpc-master-weights="param-dtype=fp32" | FileCheck %s --check-prefix=FP32
// Re-running the pass changes nothing.
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir -mpc-training-step="optimizer=adamw" -mpc-master-weights="param-dtype=bf16" -mpc-master-weights="param-dtype=bf16" | FileCheck %s --check-prefix=MASTER

// MASTER: ml_program.global private mutable @w.master(dense<5.000000e-01> : tensor<4x3xf32>) : tensor<4x3xf32>
// MASTER: ml_program.global private mutable @w(dense<5.000000e-01> : tensor<4x3xbf16>) : tensor<4x3xbf16>
// MASTER: ml_program.global private mutable @g(dense<1.000000e+00> : tensor<3xf32>) : tensor<3xf32>
// MASTER-NOT: @g.master
// MASTER-LABEL: func.func @main(
// MASTER: %[[W:.*]] = ml_program.global_load @w : tensor<4x3xbf16>
// MASTER-NEXT: mpc.matmul %{{.*}}, %[[W]] : (tensor<2x4xbf16>, tensor<4x3xbf16>)
// MASTER: %[[M:.*]] = ml_program.global_load @w.master : tensor<4x3xf32>
// MASTER-NEXT: %[[P:.*]], %[[EA:.*]], %[[EB:.*]], %[[WK:.*]] = mpc.adam_update %[[M]], {{.*}} working_type = bf16}
// MASTER-SAME: -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xbf16>)
// MASTER-NEXT: ml_program.global_store @w = %[[WK]] : tensor<4x3xbf16>
// MASTER-NEXT: ml_program.global_store @w.master = %[[P]] : tensor<4x3xf32>
// MASTER: mpc.adam_update %g, {{.*}} -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)

// Without masters the optimizer updates the bf16 parameter itself.
// LOW-NOT: master
// LOW: ml_program.global private mutable @w(dense<5.000000e-01> : tensor<4x3xbf16>)
// LOW: %[[P:.*]] = mpc.sgd_update %w{{.*}} : (tensor<4x3xbf16>, tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xbf16>
// LOW-NEXT: ml_program.global_store @w = %[[P]] : tensor<4x3xbf16>

// FP32-NOT: bf16>) : tensor<4x3xbf16>
// FP32-NOT: master

// The flags, and the persistent bytes per parameter the plan reports.
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir --train --autocast=bf16 --optimizer=adamw --master-weights --emit=plan -o %t.mpcp --plan-stats 2>&1 | FileCheck %s --check-prefix=STATS
// STATS: plan: 15 trainable parameters, 13.60 persistent bytes each (exp_avg 4.00 + exp_avg_sq 4.00 + master 3.20 + param 2.40)
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --master-weights 2>&1 | FileCheck %s --check-prefix=ERR1
// ERR1: mpc-opt: error: --master-weights needs low-precision parameters: --autocast=bf16|fp16 or --param-dtype=bf16|fp16
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --param-dtype=fp8 2>&1 | FileCheck %s --check-prefix=ERR2
// ERR2: mpc-opt: error: --param-dtype must be fp32, bf16 or fp16, got 'fp8'
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir -mpc-master-weights="param-dtype=fp16" 2>&1 | FileCheck %s --check-prefix=ERR3
// ERR3: error: mpc-master-weights: expects a training step from mpc-training-step (no optimizer op)
