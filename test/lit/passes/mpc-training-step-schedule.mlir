// mpc-training-step's schedule options: gradient accumulation, clipping by
// global norm after the unscale, and parameter groups.
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir -mpc-training-step="optimizer=sgd accumulate=3 clip-grad-norm=0.5" | FileCheck %s --check-prefix=SCHED
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir --train --optimizer=adamw,weight_decay=0.1 --param-group='g:weight_decay=0,lr_scale=0.25' --param-group='.*:beta2=0.95' | FileCheck %s --check-prefix=GROUPS

// SCHED: ml_program.global private mutable @accumulate.micro_step(dense<0> : tensor<i64>)
// SCHED: ml_program.global private mutable @w.grad_accum(dense<0.000000e+00> : tensor<4x3xf32>)
// SCHED: ml_program.global private mutable @g.grad_accum(dense<0.000000e+00> : tensor<3xf32>)
// SCHED-LABEL: func.func @main(
// SCHED: mpc.constant {mpc.grad_seed, value = dense<0.333333343> : tensor<f32>}
// SCHED: %[[AW:.*]] = mpc.accumulate_grad %w.grad_accum, %{{.*}}, %accumulate.micro_step {steps = 3 : i64} : (tensor<4x3xf32>, tensor<4x3xf32>, tensor<i64>) -> tensor<4x3xf32>
// SCHED-NEXT: ml_program.global_store @w.grad_accum = %[[AW]]
// SCHED: %[[AG:.*]] = mpc.accumulate_grad %g.grad_accum
// SCHED: %[[HOLD:.*]] = mpc.accumulation_skip %accumulate.micro_step {steps = 3 : i64}
// SCHED-NEXT: %[[MICRO:.*]] = mpc.count_step %accumulate.micro_step : (tensor<i64>) -> tensor<i64>
// SCHED-NEXT: ml_program.global_store @accumulate.micro_step = %[[MICRO]]
// SCHED: %[[U:.*]]:2, %{{.*}}, %{{.*}}, %[[NORM:.*]] = mpc.unscale_and_check %[[AW]], %[[AG]], %{{.*}}
// SCHED-NEXT: %[[C:.*]]:2 = mpc.clip_grad_norm %[[U]]#0, %[[U]]#1, %[[NORM]] {max_norm = 5.000000e-01 : f32}
// SCHED: mpc.sgd_update %w, %[[C]]#0, %optimizer.lr, %[[HOLD]] :
// SCHED: mpc.sgd_update %g, %[[C]]#1, %optimizer.lr, %[[HOLD]] :
// SCHED: mpc.count_step %optimizer.step, %[[HOLD]] :

// The first matching group wins; others keep the pass-wide values.
// GROUPS: mpc.adam_update %w, {{.*}} {beta2 = 0.949999988 : f32, decoupled = true, weight_decay = 1.000000e-01 : f32}
// GROUPS: mpc.adam_update %g, {{.*}} {decoupled = true, lr_scale = 2.500000e-01 : f32}

// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --param-group='nothing:lr_scale=2' 2>&1 | FileCheck %s --check-prefix=ERR1
// ERR1: error: mpc-training-step: param group 'nothing' matches no trainable parameter
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --param-group='w:momentum=0.5' 2>&1 | FileCheck %s --check-prefix=ERR2
// ERR2: error: mpc-training-step: param group 'w': 'momentum' does not apply to sgd
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --param-group='w:lr=2' 2>&1 | FileCheck %s --check-prefix=ERR3
// ERR3: error: mpc-training-step: param group 'w': unknown key 'lr'
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --param-group='w' 2>&1 | FileCheck %s --check-prefix=ERR4
// ERR4: error: mpc-training-step: param group 'w' must be REGEX:key=value,...
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --accumulate=0 2>&1 | FileCheck %s --check-prefix=ERR5
// ERR5: mpc-opt: error: --accumulate must be at least 1
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --clip-grad-norm=-1 2>&1 | FileCheck %s --check-prefix=ERR6
// ERR6: mpc-opt: error: --clip-grad-norm must be non-negative (0: off)
