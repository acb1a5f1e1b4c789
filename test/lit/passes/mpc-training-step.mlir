// mpc-training-step: parameters become mutable globals, one optimizer op per
// parameter, every new value stored back, optimizer state named as the
// checkpoint keys, batch-norm running statistics stored, dropout offset.
// RUN: mpc-opt %s -split-input-file -mpc-training-step="optimizer=adamw frozen=embed lr=0.5" | FileCheck %s --check-prefix=ADAMW
// RUN: mpc-opt %s -split-input-file -mpc-training-step="optimizer=sgd trainable=fc.*|w weight-decay=0.25" | FileCheck %s --check-prefix=SGD
// RUN: mpc-opt %s -split-input-file -mpc-training-step="optimizer=momentum momentum=0.5 nesterov=true loss=loss" | FileCheck %s --check-prefix=MOM
// RUN: mpc-opt %s -split-input-file -mpc-training-step="optimizer=adam" -o %t.mlir
// RUN: mpc-opt %t.mlir -split-input-file -o /dev/null

// The plan emitter lowers the step: every state value is written in place by
// the kernel that computes it (no copy) when that kernel is the last reader of
// the old value; otherwise a `copy` kernel runs at the end of the step.
// RUN: mpc-opt %S/Inputs/training-step-mlp.mlir -mpc-training-step="optimizer=adam" --emit=plan -o %t.mpcp --plan-stats 2>&1 | FileCheck %s --check-prefix=PLAN
// PLAN: plan: 21 kernels
// PLAN-NEXT: plan: 17 state tensors, 0 copies into state
// PLAN-NEXT: plan: 21 trainable parameters, 12.00 persistent bytes each (exp_avg 4.00 + exp_avg_sq 4.00 + param 4.00)
// RUN: mpc-opt %S/Inputs/state-store.mlir --emit=plan -o %t.2.mpcp --plan-stats 2>&1 | FileCheck %s --check-prefix=COPY
// COPY: plan: 5 kernels
// COPY-NEXT: plan: 3 state tensors, 2 copies into state
// A returned old state value is snapshotted (one more copy kernel) before the
// state is overwritten.
// RUN: mpc-opt %S/Inputs/state-output.mlir --emit=plan -o %t.3.mpcp --plan-stats 2>&1 | FileCheck %s --check-prefix=SNAP
// SNAP: plan: 3 kernels
// SNAP-NEXT: plan: 1 state tensors, 1 copies into state

// The high-level flags build the same pass.
// RUN: mpc-opt %S/Inputs/training-step-mlp.mlir --train --optimizer=momentum,lr=0.1,momentum=0.5,nesterov --frozen=embed | FileCheck %s --check-prefix=FLAGS
// FLAGS: ml_program.global private mutable @optimizer.lr(dense<1.000000e-01> : tensor<f32>)
// FLAGS: mpc.momentum_update %fc.w, {{.*}} {momentum = 5.000000e-01 : f32, nesterov = true}
// FLAGS-NOT: mpc.momentum_update %embed


// ADAMW: ml_program.global private mutable @fc.w(
// ADAMW: ml_program.global private mutable @bn.scale(
// ADAMW: ml_program.global private mutable @bn.bias(
// ADAMW: ml_program.global private mutable @bn.mean(
// ADAMW: ml_program.global private mutable @bn.var(
// ADAMW: ml_program.global private @embed(
// ADAMW: ml_program.global private mutable @optimizer.lr(dense<5.000000e-01> : tensor<f32>) : tensor<f32>
// ADAMW: ml_program.global private mutable @optimizer.step(dense<0> : tensor<i64>) : tensor<i64>
// ADAMW: ml_program.global private mutable @fc.w.exp_avg(dense<0.000000e+00> : tensor<4x3xf32>) : tensor<4x3xf32>
// ADAMW: ml_program.global private mutable @fc.w.exp_avg_sq(dense<0.000000e+00> : tensor<4x3xf32>) : tensor<4x3xf32>
// ADAMW: ml_program.global private mutable @bn.scale.exp_avg(
// ADAMW: ml_program.global private mutable @bn.scale.exp_avg_sq(
// ADAMW: ml_program.global private mutable @bn.bias.exp_avg(
// ADAMW: ml_program.global private mutable @bn.bias.exp_avg_sq(
// ADAMW: ml_program.global private mutable @dropout.offset(dense<0> : tensor<i64>) : tensor<i64>
// ADAMW-LABEL: func.func @main(
// ADAMW-SAME: -> (tensor<f32> {mpc.name = "loss"}, tensor<2x3xf32> {mpc.name = "y"}, tensor<f32> {mpc.name = "grad_norm"}, tensor<f32> {mpc.name = "found_inf"}, tensor<i64> {mpc.name = "nonfinite_index"})
// ADAMW: %[[OFF:.*]] = ml_program.global_load @dropout.offset : tensor<i64>
// ADAMW: %[[W:.*]] = ml_program.global_load @fc.w : tensor<4x3xf32>
// ADAMW: %[[M:.*]] = ml_program.global_load @bn.mean
// ADAMW: ml_program.global_load_const @embed
// ADAMW: %[[Y:.*]], %[[RM:.*]], %[[RV:.*]] = mpc.batch_norm_train
// ADAMW: mpc.dropout %{{.*}}, %[[OFF]] {ratio = 1.000000e-01 : f32}
// ADAMW: %[[SEED:.*]] = mpc.constant {mpc.grad_seed
// ADAMW: %[[DW:.*]] = mpc.matmul %{{.*}}, %{{.*}} : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
// ADAMW: %[[LR:.*]] = ml_program.global_load @optimizer.lr : tensor<f32>
// ADAMW: %[[STEP:.*]] = ml_program.global_load @optimizer.step : tensor<i64>
// The gradients pass through one fused unscale + non-finite check + norm
// (the scale is 1 until mpc-loss-scaling installs one).
// ADAMW: %[[ONE:.*]] = mpc.constant {value = dense<1.000000e+00> : tensor<f32>}
// ADAMW: %[[U:.*]]:3, %[[INF:.*]], %[[IDX:.*]], %[[NORM:.*]] = mpc.unscale_and_check %[[DW]], %{{.*}}, %{{.*}}, %[[ONE]] {names = "fc.w\0Abn.scale\0Abn.bias"}
// ADAMW: %[[MW:.*]] = ml_program.global_load @fc.w.exp_avg :
// ADAMW: %[[VW:.*]] = ml_program.global_load @fc.w.exp_avg_sq :
// ADAMW: %[[P:.*]], %[[PM:.*]], %[[PV:.*]] = mpc.adam_update %[[W]], %[[U]]#0, %[[MW]], %[[VW]], %[[STEP]], %[[LR]] {decoupled = true, weight_decay = 0.00999999977 : f32}
// ADAMW: ml_program.global_store @fc.w = %[[P]]
// ADAMW: ml_program.global_store @fc.w.exp_avg = %[[PM]]
// ADAMW: ml_program.global_store @fc.w.exp_avg_sq = %[[PV]]
// ADAMW: mpc.adam_update %bn.scale
// ADAMW: mpc.adam_update %bn.bias
// ADAMW-NOT: mpc.adam_update
// ADAMW: %[[STEP1:.*]] = mpc.count_step %[[STEP]] : (tensor<i64>) -> tensor<i64>
// ADAMW: ml_program.global_store @optimizer.step = %[[STEP1]]
// ADAMW: ml_program.global_store @bn.mean = %[[RM]]
// ADAMW: ml_program.global_store @bn.var = %[[RV]]
// ADAMW: %[[OFF1:.*]] = mpc.count_step %[[OFF]] : (tensor<i64>) -> tensor<i64>
// ADAMW: ml_program.global_store @dropout.offset = %[[OFF1]]
// ADAMW: return %{{.*}}, %{{.*}}, %[[NORM]], %[[INF]], %[[IDX]] :

// SGD: ml_program.global private mutable @fc.w(
// SGD: ml_program.global private @bn.scale(
// SGD: ml_program.global private @bn.bias(
// SGD: ml_program.global private mutable @bn.mean(
// SGD: ml_program.global private mutable @bn.var(
// SGD: ml_program.global private @embed(
// SGD-NOT: exp_avg
// SGD-LABEL: func.func @main(
// SGD: mpc.sgd_update %fc.w, %{{.*}}, %optimizer.lr {weight_decay = 2.500000e-01 : f32} : (tensor<4x3xf32>, tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
// SGD-NOT: sgd_update

// MOM: ml_program.global private mutable @fc.w.momentum_buffer(dense<0.000000e+00> : tensor<4x3xf32>)
// MOM-LABEL: func.func @main(
// MOM: %[[NP:.*]], %[[NB:.*]] = mpc.momentum_update %fc.w, %{{.*}}, %fc.w.momentum_buffer, %optimizer.step, %optimizer.lr {momentum = 5.000000e-01 : f32, nesterov = true}
// MOM: ml_program.global_store @fc.w = %[[NP]]
// MOM: ml_program.global_store @fc.w.momentum_buffer = %[[NB]]
// MOM: mpc.momentum_update %bn.scale
// MOM: mpc.momentum_update %bn.bias
// MOM: mpc.momentum_update %embed

module {
  ml_program.global private @fc.w(dense<0.5> : tensor<4x3xf32>) : tensor<4x3xf32>
  ml_program.global private @bn.scale(dense<1.0> : tensor<3xf32>) : tensor<3xf32>
  ml_program.global private @bn.bias(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
  ml_program.global private @bn.mean(dense<0.0> : tensor<3xf32>) : tensor<3xf32>
  ml_program.global private @bn.var(dense<1.0> : tensor<3xf32>) : tensor<3xf32>
  ml_program.global private @embed(dense<0.5> : tensor<3xf32>) : tensor<3xf32>
  func.func @main(%x: tensor<2x4xf32> {mpc.name = "x"}) -> (tensor<f32> {mpc.name = "loss"}, tensor<2x3xf32> {mpc.name = "y"}) {
    %w = ml_program.global_load_const @fc.w : tensor<4x3xf32>
    %s = ml_program.global_load_const @bn.scale : tensor<3xf32>
    %b = ml_program.global_load_const @bn.bias : tensor<3xf32>
    %m = ml_program.global_load_const @bn.mean : tensor<3xf32>
    %v = ml_program.global_load_const @bn.var : tensor<3xf32>
    %e = ml_program.global_load_const @embed : tensor<3xf32>
    %0 = mpc.matmul %x, %w : (tensor<2x4xf32>, tensor<4x3xf32>) -> tensor<2x3xf32>
    %1:3 = mpc.batch_norm_train %0, %s, %b, %m, %v : (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>)
    %2 = mpc.add %1#0, %e : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    %3:2 = mpc.dropout %2 {ratio = 0.1 : f32} : (tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xi1>)
    %l = mpc.reduce_mean %3#0 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
    return %l, %0 : tensor<f32>, tensor<2x3xf32>
  }
}

// -----

// AMP: the FP32 parameter stays FP32 state; its gradient comes back through
// the cast, the optimizer updates it in FP32.
// ADAMW-LABEL: func.func @main(
// ADAMW: %[[W:.*]] = ml_program.global_load @w : tensor<4x3xf32>
// ADAMW: %[[G:.*]] = mpc.cast %{{.*}} : (tensor<4x3xbf16>) -> tensor<4x3xf32>
// ADAMW: %[[U:.*]], %{{.*}}, %{{.*}}, %{{.*}} = mpc.unscale_and_check %[[G]], %{{.*}} {names = "w"}
// ADAMW: mpc.adam_update %[[W]], %[[U]], {{.*}} -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>)
// SGD-LABEL: func.func @main(
// MOM-LABEL: func.func @main(
module {
  ml_program.global private @w(dense<0.5> : tensor<4x3xf32>) : tensor<4x3xf32>
  func.func @main(%x: tensor<2x4xbf16>) -> (tensor<f32> {mpc.name = "loss"}) {
    %w = ml_program.global_load_const @w : tensor<4x3xf32>
    %wb = mpc.cast %w : (tensor<4x3xf32>) -> tensor<4x3xbf16>
    %0 = mpc.matmul %x, %wb : (tensor<2x4xbf16>, tensor<4x3xbf16>) -> tensor<2x3xbf16>
    %1 = mpc.cast %0 : (tensor<2x3xbf16>) -> tensor<2x3xf32>
    %l = mpc.reduce_sum %1 {axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xf32>) -> tensor<f32>
    return %l : tensor<f32>
  }
}

// Single-element initializers are constants unless `trainable` names them.
// RUN: mpc-opt %S/Inputs/training-step-scalar.mlir -mpc-training-step="optimizer=sgd" | FileCheck %s --check-prefix=SCALAR
// SCALAR-DAG: ml_program.global private mutable @w(
// SCALAR-DAG: ml_program.global private @scale(
// SCALAR-NOT: mpc.sgd_update %scale
// RUN: mpc-opt %S/Inputs/training-step-scalar.mlir -mpc-training-step="optimizer=sgd trainable=w|scale" | FileCheck %s --check-prefix=NAMED
// NAMED: ml_program.global private mutable @scale(
