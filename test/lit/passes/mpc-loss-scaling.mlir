// mpc-loss-scaling: the seed is multiplied by the scale state, the fused
// unscale divides by it, every optimizer op and the optimizer.step counter
// skip on found_inf, and the dynamic mode updates the scale (GradScaler).
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir -mpc-training-step="optimizer=momentum" -mpc-loss-scaling="init=1024 interval=3 min=1 max=4096" | FileCheck %s --check-prefix=DYN
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir -mpc-training-step="optimizer=momentum" -mpc-loss-scaling="mode=static init=128" | FileCheck %s --check-prefix=STATIC
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir -mpc-training-step="optimizer=sgd" -mpc-loss-scaling="mode=none" | FileCheck %s --check-prefix=NONE
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir -mpc-training-step="optimizer=sgd accumulate=4" -mpc-loss-scaling | FileCheck %s --check-prefix=ACC

// DYN: ml_program.global private mutable @loss_scale.scale(dense<1.024000e+03> : tensor<f32>) : tensor<f32>
// DYN: ml_program.global private mutable @loss_scale.growth_tracker(dense<0> : tensor<i64>) : tensor<i64>
// DYN-LABEL: func.func @main(
// DYN-NEXT: %[[S:.*]] = ml_program.global_load @loss_scale.scale : tensor<f32>
// DYN: %[[SEED:.*]] = mpc.constant {mpc.grad_seed, value = dense<1.000000e+00> : tensor<f32>}
// DYN-NEXT: %[[SCALED:.*]] = mpc.mul %[[SEED]], %[[S]] : (tensor<f32>, tensor<f32>) -> tensor<f32>
// DYN-NEXT: mpc.reshape %[[SCALED]]
// DYN: %[[U:.*]]:2, %[[INF:.*]], %{{.*}}, %{{.*}} = mpc.unscale_and_check %{{.*}}, %{{.*}}, %[[S]] {mpc.skip_step = 2 : i64, names = "w\0Ag"}
// DYN: mpc.momentum_update %w, %[[U]]#0, {{.*}}, %[[INF]] :
// DYN: mpc.momentum_update %g, %[[U]]#1, {{.*}}, %[[INF]] :
// DYN: %[[STEP:.*]] = mpc.count_step %optimizer.step, %[[INF]] : (tensor<i64>, tensor<f32>) -> tensor<i64>
// DYN: ml_program.global_store @optimizer.step = %[[STEP]]
// DYN: %[[T:.*]] = ml_program.global_load @loss_scale.growth_tracker : tensor<i64>
// DYN: %[[NS:.*]], %[[NT:.*]] = mpc.loss_scale_update %[[S]], %[[T]], %[[INF]] {growth_interval = 3 : i64, max_scale = 4.096000e+03 : f32, min_scale = 1.000000e+00 : f32}
// DYN: ml_program.global_store @loss_scale.scale = %[[NS]]
// DYN: ml_program.global_store @loss_scale.growth_tracker = %[[NT]]

// A static scale is never updated, but a non-finite step is still skipped.
// STATIC: ml_program.global private mutable @loss_scale.scale(dense<1.280000e+02> : tensor<f32>)
// STATIC-NOT: growth_tracker
// STATIC: %[[U:.*]]:2, %[[INF:.*]], %{{.*}}, %{{.*}} = mpc.unscale_and_check %{{.*}}, %{{.*}}, %loss_scale.scale
// STATIC: mpc.momentum_update %w, %[[U]]#0, {{.*}}, %[[INF]] :
// STATIC: mpc.count_step %optimizer.step, %[[INF]]
// STATIC-NOT: mpc.loss_scale_update

// NONE-NOT: loss_scale
// NONE: mpc.sgd_update %w, %{{.*}}, %optimizer.lr :
// NONE: mpc.count_step %optimizer.step :

// With accumulation the step is held between boundaries: skip combines the
// hold and found_inf; the scale update is held too.
// ACC: %[[SEED:.*]] = mpc.constant {mpc.grad_seed, value = dense<2.500000e-01> : tensor<f32>}
// ACC-NEXT: mpc.mul %[[SEED]], %loss_scale.scale
// ACC: %[[HOLD:.*]] = mpc.accumulation_skip %accumulate.micro_step {steps = 4 : i64}
// ACC: %{{.*}}, %[[INF:.*]], %{{.*}}, %{{.*}} = mpc.unscale_and_check
// ACC-NEXT: %[[SKIP:.*]] = mpc.max %[[HOLD]], %[[INF]] {mpc.skip_step} : (tensor<f32>, tensor<f32>) -> tensor<f32>
// ACC: mpc.sgd_update %w, {{.*}}, %[[SKIP]] :
// ACC: mpc.count_step %optimizer.step, %[[SKIP]]
// ACC: mpc.loss_scale_update %loss_scale.scale, %loss_scale.growth_tracker, %[[INF]], %[[HOLD]] :

// The flags: fp16 autocast defaults to dynamic scaling, bf16 to none.
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir --train --autocast=fp16 | FileCheck %s --check-prefix=FP16
// FP16: @loss_scale.scale(dense<6.553600e+04>
// FP16: mpc.loss_scale_update %loss_scale.scale, %loss_scale.growth_tracker, %found_inf :
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir --train --autocast=bf16 | FileCheck %s --check-prefix=BF16
// BF16-NOT: loss_scale
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir --train --autocast=bf16 --loss-scale=dynamic,init=256,growth=4,backoff=0.25,interval=10 | FileCheck %s --check-prefix=OPTS
// OPTS: @loss_scale.scale(dense<2.560000e+02>
// OPTS: mpc.loss_scale_update {{.*}} {backoff_factor = 2.500000e-01 : f32, growth_factor = 4.000000e+00 : f32, growth_interval = 10 : i64}
// RUN: mpc-opt %S/Inputs/training-step-amp.mlir --train --loss-scale=static:8 | FileCheck %s --check-prefix=STATIC8
// STATIC8: @loss_scale.scale(dense<8.000000e+00>

// Errors: one line naming the flag or the pass.
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --loss-scale=sometimes 2>&1 | FileCheck %s --check-prefix=ERR1
// ERR1: mpc-opt: error: --loss-scale must be dynamic[,key=value...], static:<value> or none, got 'sometimes'
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --loss-scale=dynamic,interval=0.5 2>&1 | FileCheck %s --check-prefix=ERR2
// ERR2: mpc-opt: error: --loss-scale: interval must be a positive integer
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --train --loss-scale=dynamic,backoff=2 2>&1 | FileCheck %s --check-prefix=ERR3
// ERR3: error: mpc-loss-scaling: backoff must be in (0, 1)
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir -mpc-loss-scaling 2>&1 | FileCheck %s --check-prefix=ERR4
// ERR4: error: mpc-loss-scaling: expects a training step from mpc-training-step
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir -mpc-training-step -mpc-loss-scaling -mpc-loss-scaling 2>&1 | FileCheck %s --check-prefix=ERR5
// ERR5: error: mpc-loss-scaling: the state global 'loss_scale.scale' already exists (loss scaling applied twice?)
// RUN: not mpc-opt %S/Inputs/training-step-amp.mlir --loss-scale=dynamic 2>&1 | FileCheck %s --check-prefix=ERR6
// ERR6: mpc-opt: error: {{.*}}--loss-scale{{.*}} need --train
