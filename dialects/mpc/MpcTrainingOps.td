//===- MpcTrainingOps.td - gradient and optimizer ops -------*- tablegen -*-===//
//
// The ops mpc-autodiff and mpc-training-step produce (docs/ops.md, "Gradient
// ops" and "Optimizer ops"). Included at the end of MpcOps.td, so they are part
// of the same generated op list; their C++ rules live in MpcTrainingOps.cpp.
//
// Gradient ops compute in FP32 (accumulating in FP32) and round once to their
// result type. Where a result's shape cannot be derived from the operands (the
// forward input's shape is lost), the result type is the specification and a
// verifier checks it against the forward shape rule.
//
//===----------------------------------------------------------------------===//
#ifndef MPC_TRAINING_OPS_TD
#define MPC_TRAINING_OPS_TD

include "dialects/mpc/MpcBase.td"

def Mpc_I64ScalarTensor : 0DTensorOf<[I64]>;

//===----------------------------------------------------------------------===//
// Gradient ops
//===----------------------------------------------------------------------===//

def Mpc_GeluGradOp : Mpc_Op<"gelu_grad", [Pure, SameOperandsAndResultType,
                                         DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "gradient of gelu";
  let description = [{
    `dx = dy * gelu'(x)` for the `approximate` form of the forward `mpc.gelu`.

    ```mlir
    %dx = mpc.gelu_grad %x, %dy {approximate = "tanh"} : (tensor<8xbf16>, tensor<8xbf16>) -> tensor<8xbf16>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_FloatTensor:$dy,
                       DefaultValuedStrAttr<StrAttr, "none">:$approximate);
  let results = (outs Mpc_FloatTensor:$dx);
  let hasVerifier = 1;
}

class Mpc_SoftmaxGradBase<string mnemonic, string forward, string formula>
    : Mpc_Op<mnemonic, [Pure, SameOperandsAndResultType,
                        DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "gradient of " # forward # " from its output";
  let description = "`" # formula # "`, where `y` is the forward result and the sum "
      "runs along `axis`.\n\n"
      "```mlir\n%dx = mpc." # mnemonic #
      " %y, %dy {axis = 1 : i64} : (tensor<4x10xf32>, tensor<4x10xf32>) -> tensor<4x10xf32>\n```";
  let arguments = (ins Mpc_FloatTensor:$y, Mpc_FloatTensor:$dy, I64Attr:$axis);
  let results = (outs Mpc_FloatTensor:$dx);
  let hasVerifier = 1;
}

def Mpc_SoftmaxGradOp
    : Mpc_SoftmaxGradBase<"softmax_grad", "softmax", "dx = y * (dy - sum(dy * y, axis))">;
def Mpc_LogSoftmaxGradOp
    : Mpc_SoftmaxGradBase<"log_softmax_grad", "log_softmax", "dx = dy - exp(y) * sum(dy, axis)">;

def Mpc_ConvGradInputOp : Mpc_Op<"conv_grad_input", [Pure]> {
  let summary = "gradient of conv with respect to its input";
  let description = [{
    The transposed convolution of `dy` with the forward weights `w`; the
    result type is the forward input's type (it cannot be derived from `dy`
    when strides drop rows). The attributes are the forward conv's.

    ```mlir
    %dx = mpc.conv_grad_input %dy, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}
        : (tensor<8x16x32x32xf32>, tensor<16x3x3x3xf32>) -> tensor<8x3x32x32xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$dy, Mpc_FloatTensor:$w,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs Mpc_FloatTensor:$dx);
  let hasVerifier = 1;
}

def Mpc_ConvGradWeightOp : Mpc_Op<"conv_grad_weight", [Pure]> {
  let summary = "gradient of conv with respect to its weights";
  let description = [{
    The correlation of the forward input `x` with `dy`, accumulated over the
    batch; the result type is the forward weights' type. The attributes are
    the forward conv's.

    ```mlir
    %dw = mpc.conv_grad_weight %x, %dy {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64}
        : (tensor<8x3x32x32xf32>, tensor<8x16x32x32xf32>) -> tensor<16x3x3x3xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_FloatTensor:$dy,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs Mpc_FloatTensor:$dw);
  let hasVerifier = 1;
}

def Mpc_MaxPoolGradOp : Mpc_Op<"max_pool_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "gradient of max_pool";
  let description = [{
    Each window's gradient goes to the first maximal element of the window in
    row-major order (the element the forward kernel picks); overlapping
    windows accumulate. The attributes are the forward max_pool's.

    ```mlir
    %dx = mpc.max_pool_grad %x, %dy {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
        : (tensor<1x8x32x32xf32>, tensor<1x8x16x16xf32>) -> tensor<1x8x32x32xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_FloatTensor:$dy,
                       DenseI64ArrayAttr:$kernel_shape, DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs Mpc_FloatTensor:$dx);
}

def Mpc_AvgPoolGradOp : Mpc_Op<"avg_pool_grad", [Pure]> {
  let summary = "gradient of avg_pool";
  let description = [{
    Spreads each output gradient evenly over its window (with the forward
    divisor, so `count_include_pad` matters); the result type is the forward
    input's type. The attributes are the forward avg_pool's.

    ```mlir
    %dx = mpc.avg_pool_grad %dy {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>}
        : (tensor<1x8x16x16xf32>) -> tensor<1x8x32x32xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$dy, DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad);
  let results = (outs Mpc_FloatTensor:$dx);
  let hasVerifier = 1;
}

def Mpc_BatchNormTrainGradOp : Mpc_Op<"batch_norm_train_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "gradient of batch_norm_train";
  let description = [{
    Recomputes the batch mean and biased variance of `x` per channel (dim 1)
    and returns the gradients of the input, the scale and the bias.

    ```mlir
    %dx, %ds, %db = mpc.batch_norm_train_grad %x, %s, %dy {epsilon = 1.0e-05 : f32}
        : (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<8x16x4x4xf32>)
        -> (tensor<8x16x4x4xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_FloatTensor:$scale, Mpc_FloatTensor:$dy,
                       DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs Mpc_FloatTensor:$dx, Mpc_FloatTensor:$dscale, Mpc_FloatTensor:$dbias);
}

def Mpc_LayerNormGradOp : Mpc_Op<"layer_norm_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "gradient of layer_norm";
  let description = [{
    Uses the forward op's saved `mean` and `inv_std_dev`. `dscale` and `dbias`
    have the scale's type (summed over the leading dims and any dim the scale
    broadcasts along). `epsilon` is the forward op's: with it a kernel may
    recompute the statistics in higher precision than the saved f32 ones (the
    f64 kernels do).

    ```mlir
    %dx, %dg, %db = mpc.layer_norm_grad %x, %g, %mean, %rstd, %dy {axis = 2 : i64}
        : (tensor<2x16x64xbf16>, tensor<64xbf16>, tensor<2x16x1xf32>, tensor<2x16x1xf32>, tensor<2x16x64xbf16>)
        -> (tensor<2x16x64xbf16>, tensor<64xbf16>, tensor<64xbf16>)
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$x, Mpc_FloatTensor:$scale,
                       RankedTensorOf<[F32]>:$mean, RankedTensorOf<[F32]>:$inv_std_dev,
                       Mpc_FloatTensor:$dy, I64Attr:$axis, OptionalAttr<F32Attr>:$epsilon);
  let results = (outs Mpc_FloatTensor:$dx, Mpc_FloatTensor:$dscale, Mpc_FloatTensor:$dbias);
}

def Mpc_SoftmaxCrossEntropyLossGradOp
    : Mpc_Op<"softmax_cross_entropy_loss_grad", [Pure,
                                                  InferTypeOpAdaptor]> {
  let summary = "gradient of softmax_cross_entropy_loss with respect to the scores";
  let description = [{
    `dscores = (exp(log_prob) - onehot(labels)) * w * dloss`, with the weight and
    the normalisation of the forward `reduction` and `ignore_index` (ignored
    positions get 0). `dloss` has the forward loss's shape.

    ```mlir
    %ds = mpc.softmax_cross_entropy_loss_grad %logp, %l, %dl {reduction = "mean"}
        : (tensor<32x10xf32>, tensor<32xi64>, tensor<f32>) -> tensor<32x10xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$log_prob, Mpc_IndexTensor:$labels,
                       Optional<Mpc_FloatTensor>:$weights, Mpc_FloatTensor:$dloss,
                       DefaultValuedStrAttr<StrAttr, "mean">:$reduction,
                       OptionalAttr<I64Attr>:$ignore_index);
  let results = (outs Mpc_FloatTensor:$dscores);
}

def Mpc_NllLossGradOp : Mpc_Op<"nll_loss_grad", [Pure]> {
  let summary = "gradient of nll_loss with respect to its input";
  let description = [{
    `dinput[n, c] = -w[c] * dloss / norm` where `c = target[n]` and 0 elsewhere
    (norm as the forward `reduction`; `ignore_index` positions get 0). The
    result type is the forward input's type.

    ```mlir
    %di = mpc.nll_loss_grad %t, %dl {reduction = "sum"} : (tensor<32xi64>, tensor<f32>) -> tensor<32x10xf32>
    ```
  }];
  let arguments = (ins Mpc_IndexTensor:$target, Optional<Mpc_FloatTensor>:$weight,
                       Mpc_FloatTensor:$dloss,
                       DefaultValuedStrAttr<StrAttr, "mean">:$reduction,
                       OptionalAttr<I64Attr>:$ignore_index);
  let results = (outs Mpc_FloatTensor:$dinput);
  let hasVerifier = 1;
}

def Mpc_GatherGradOp : Mpc_Op<"gather_grad", [Pure]> {
  let summary = "gradient of gather: scatter-add into zeros";
  let description = [{
    Adds each slice of `dy` into the row of the result that `indices` names
    (negative indices count from the end; repeated indices accumulate); the
    rest is zero. The result type is the forward data's type.

    ```mlir
    %dt = mpc.gather_grad %ids, %dy {axis = 0 : i64} : (tensor<8x16xi64>, tensor<8x16x64xf32>) -> tensor<1000x64xf32>
    ```
  }];
  let arguments = (ins Mpc_IndexTensor:$indices, Mpc_FloatTensor:$dy, I64Attr:$axis);
  let results = (outs Mpc_FloatTensor:$ddata);
  let hasVerifier = 1;
}

def Mpc_SliceGradOp : Mpc_Op<"slice_grad", [Pure]> {
  let summary = "gradient of slice: scatter into zeros";
  let description = [{
    Writes `dy` at the positions the forward slice read (`starts`, `ends`,
    `steps` of the forward op) and zeros elsewhere. The result type is the
    forward input's type.

    ```mlir
    %dx = mpc.slice_grad %dy {starts = array<i64: 0, 1>, ends = array<i64: 2, 5>, steps = array<i64: 1, 2>} : (tensor<2x2xf32>) -> tensor<2x6xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$dy, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$ends, DenseI64ArrayAttr:$steps);
  let results = (outs Mpc_FloatTensor:$dx);
  let hasVerifier = 1;
}

def Mpc_DropoutGradOp : Mpc_Op<"dropout_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "gradient of dropout with the forward mask";
  let description = [{
    `dx = mask ? dy / (1 - ratio) : 0`, with the mask the forward `mpc.dropout`
    returned.

    ```mlir
    %dx = mpc.dropout_grad %dy, %mask {ratio = 0.1 : f32} : (tensor<4x8xf32>, tensor<4x8xi1>) -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$dy, Mpc_BoolTensor:$mask,
                       DefaultValuedAttr<F32Attr, "0.5f">:$ratio);
  let results = (outs Mpc_FloatTensor:$dx);
}

//===----------------------------------------------------------------------===//
// Optimizer ops
//===----------------------------------------------------------------------===//
//
// Operands are the current values, results the new ones; the plan writes them
// back into the same state buffers. All arithmetic is FP32 (FP64 for f64
// parameters). `lr` is an f32 scalar (state, so an application can schedule
// it); `step` an i64 scalar counting the steps already taken.
//
// The three torch.optim ops share the mixed-precision extensions:
// - `param` may be f16/bf16 (a low-precision parameter without a master
//   copy): the update runs in FP32 on the widened value and rounds once;
//   moments stay FP32;
// - an optional trailing `skip` (f32 scalar): when non-zero every result
//   equals its operand bit for bit (loss scaling found an inf/NaN gradient,
//   or gradient accumulation is between boundaries);
// - `working_type` (f16/bf16) adds the result `new_working`, the new
//   parameter rounded to nearest even: the low-precision working copy that
//   master weights keep next to the FP32 `param`, written by the same kernel;
// - `lr_scale` multiplies `lr` (parameter groups share one schedule).

def Mpc_SgdUpdateOp : Mpc_Op<"sgd_update", [Pure, InferTypeOpAdaptor]> {
  let summary = "SGD step for one parameter (torch.optim.SGD without momentum)";
  let description = [{
    `g = grad + weight_decay * param; param' = param - lr * g`.

    ```mlir
    %p2 = mpc.sgd_update %p, %g, %lr {weight_decay = 0.0 : f32}
        : (tensor<128x784xf32>, tensor<128x784xf32>, tensor<f32>) -> tensor<128x784xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$param, Mpc_FloatTensor:$grad, Mpc_F32ScalarTensor:$lr,
                       DefaultValuedAttr<F32Attr, "0.0f">:$weight_decay,
                       DefaultValuedAttr<F32Attr, "1.0f">:$lr_scale,
                       OptionalAttr<TypeAttr>:$working_type,
                       Optional<Mpc_F32ScalarTensor>:$skip);
  let results = (outs Mpc_FloatTensor:$new_param, Optional<Mpc_FloatTensor>:$new_working);
}

def Mpc_MomentumUpdateOp : Mpc_Op<"momentum_update", [Pure, InferTypeOpAdaptor]> {
  let summary = "SGD with momentum for one parameter (torch.optim.SGD)";
  let description = [{
    `g = grad + weight_decay * param`; `buf = g` on the first step (`step ==
    0`), else `buf = momentum * buf + (1 - dampening) * g`; `g = g + momentum *
    buf` with `nesterov`, else `g = buf`; `param' = param - lr * g`.

    ```mlir
    %p2, %b2 = mpc.momentum_update %p, %g, %buf, %step, %lr {momentum = 0.9 : f32}
        : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<i64>, tensor<f32>) -> (tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$param, Mpc_FloatTensor:$grad, Mpc_FloatTensor:$buf,
                       Mpc_I64ScalarTensor:$step, Mpc_F32ScalarTensor:$lr,
                       DefaultValuedAttr<F32Attr, "0.9f">:$momentum,
                       DefaultValuedAttr<F32Attr, "0.0f">:$dampening,
                       DefaultValuedAttr<F32Attr, "0.0f">:$weight_decay,
                       DefaultValuedAttr<BoolAttr, "false">:$nesterov,
                       DefaultValuedAttr<F32Attr, "1.0f">:$lr_scale,
                       OptionalAttr<TypeAttr>:$working_type,
                       Optional<Mpc_F32ScalarTensor>:$skip);
  let results = (outs Mpc_FloatTensor:$new_param, Mpc_FloatTensor:$new_buf,
                      Optional<Mpc_FloatTensor>:$new_working);
  let hasVerifier = 1;
}

def Mpc_AdamUpdateOp : Mpc_Op<"adam_update", [Pure, InferTypeOpAdaptor]> {
  let summary = "Adam / AdamW step for one parameter (torch.optim.Adam, AdamW)";
  let description = [{
    `t = step + 1`. Adam (`decoupled = false`): `g = grad + weight_decay *
    param`; AdamW (`decoupled = true`): `param *= 1 - lr * weight_decay`.
    Then `m = beta1 m + (1 - beta1) g`, `v = beta2 v + (1 - beta2) g^2`,
    `param' = param - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + epsilon)`.

    ```mlir
    %p2, %m2, %v2 = mpc.adam_update %p, %g, %m, %v, %step, %lr {beta1 = 0.9 : f32, beta2 = 0.999 : f32, epsilon = 1.0e-08 : f32, weight_decay = 0.01 : f32, decoupled = true}
        : (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<i64>, tensor<f32>)
        -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>)
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$param, Mpc_FloatTensor:$grad, Mpc_FloatTensor:$m,
                       Mpc_FloatTensor:$v, Mpc_I64ScalarTensor:$step, Mpc_F32ScalarTensor:$lr,
                       DefaultValuedAttr<F32Attr, "0.9f">:$beta1,
                       DefaultValuedAttr<F32Attr, "0.999f">:$beta2,
                       DefaultValuedAttr<F32Attr, "1e-8f">:$epsilon,
                       DefaultValuedAttr<F32Attr, "0.0f">:$weight_decay,
                       DefaultValuedAttr<BoolAttr, "false">:$decoupled,
                       DefaultValuedAttr<F32Attr, "1.0f">:$lr_scale,
                       OptionalAttr<TypeAttr>:$working_type,
                       Optional<Mpc_F32ScalarTensor>:$skip);
  let results = (outs Mpc_FloatTensor:$new_param, Mpc_FloatTensor:$new_m, Mpc_FloatTensor:$new_v,
                      Optional<Mpc_FloatTensor>:$new_working);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Loss scaling, clipping and gradient accumulation
//===----------------------------------------------------------------------===//
//
// What mpc-training-step, mpc-loss-scaling and mpc-master-weights put between
// the backward pass and the optimizer ops (docs/training.md). Flags and
// counters are scalars: `skip`, `found_inf` and `hold` are f32 0.0/1.0 (as
// PyTorch's found_inf tensor), counters i64. The decision to skip a step is
// data on the device, never a host branch.

def Mpc_UnscaleAndCheckOp : Mpc_Op<"unscale_and_check", [Pure, InferTypeOpAdaptor]> {
  let summary = "unscale all gradients, detect inf/NaN, measure the global norm";
  let description = [{
    One fused pass over every gradient of the step (PyTorch's
    `_amp_foreach_non_finite_check_and_unscale_` plus the norm of
    `clip_grad_norm_`): `inv_scale = float(1 / double(scale))`,
    `unscaled_i = f32(grads_i) * inv_scale` (f64 gradients stay f64); `found_inf` is 1.0 when any
    element of any gradient is inf or NaN; `nonfinite_index` is the index of
    the first such gradient (-1 when none); `grad_norm` is the L2 norm of all
    unscaled elements together. `names` holds the parameter of each gradient,
    one per line, for the report of a skipped step. Without loss scaling
    `scale` is the constant 1.

    ```mlir
    %u0, %u1, %inf, %idx, %norm = mpc.unscale_and_check %g0, %g1, %scale {names = "w\nb"}
        : (tensor<4x8xbf16>, tensor<8xf32>, tensor<f32>)
        -> (tensor<4x8xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>, tensor<f32>)
    ```
  }];
  let arguments = (ins Variadic<Mpc_FloatTensor>:$grads, Mpc_F32ScalarTensor:$scale,
                       DefaultValuedStrAttr<StrAttr, "">:$names);
  let results = (outs Variadic<Mpc_FloatTensor>:$unscaled, Mpc_F32ScalarTensor:$found_inf,
                      Mpc_I64ScalarTensor:$nonfinite_index, Mpc_F32ScalarTensor:$grad_norm);
  let hasVerifier = 1;
}

def Mpc_ClipGradNormOp : Mpc_Op<"clip_grad_norm", [Pure, InferTypeOpAdaptor]> {
  let summary = "scale gradients so that their global L2 norm is at most max_norm";
  let description = [{
    `torch.nn.utils.clip_grad_norm_` given the global norm:
    `coef = max_norm / (norm + 1e-6)` in FP32; when `norm` is finite and
    `coef < 1` every gradient is multiplied by `coef`, otherwise returned
    unchanged (a step with a non-finite norm is skipped anyway).

    ```mlir
    %c0, %c1 = mpc.clip_grad_norm %g0, %g1, %norm {max_norm = 1.0 : f32}
        : (tensor<4x8xf32>, tensor<8xf32>, tensor<f32>) -> (tensor<4x8xf32>, tensor<8xf32>)
    ```
  }];
  let arguments = (ins Variadic<Mpc_FloatTensor>:$grads, Mpc_F32ScalarTensor:$norm,
                       F32Attr:$max_norm);
  let results = (outs Variadic<Mpc_FloatTensor>:$clipped);
  let hasVerifier = 1;
}

def Mpc_AccumulateGradOp : Mpc_Op<"accumulate_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "sum a gradient over the micro-batches of one optimizer step";
  let description = [{
    `acc' = micro_step % steps == 0 ? f32(grad) : acc + f32(grad)` (f64 for
    f64 gradients): the
    first micro-batch of each group of `steps` restarts the sum, so no reset
    op is needed after the optimizer step.

    ```mlir
    %acc2 = mpc.accumulate_grad %acc, %g, %micro {steps = 4 : i64}
        : (tensor<8xf32>, tensor<8xbf16>, tensor<i64>) -> tensor<8xf32>
    ```
  }];
  let arguments = (ins Mpc_FloatTensor:$acc, Mpc_FloatTensor:$grad,
                       Mpc_I64ScalarTensor:$micro_step, I64Attr:$steps);
  let results = (outs Mpc_FloatTensor:$new_acc);
  let hasVerifier = 1;
}

def Mpc_AccumulationSkipOp : Mpc_Op<"accumulation_skip", [Pure, InferTypeOpAdaptor]> {
  let summary = "1.0 on micro-batches that do not end an accumulation group";
  let description = [{
    `micro_step % steps == steps - 1 ? 0.0 : 1.0`: the optimizer, the loss
    scale update and the step counter run on the last micro-batch of each
    group only.

    ```mlir
    %hold = mpc.accumulation_skip %micro {steps = 4 : i64} : (tensor<i64>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Mpc_I64ScalarTensor:$micro_step, I64Attr:$steps);
  let results = (outs Mpc_F32ScalarTensor:$skip);
  let hasVerifier = 1;
}

def Mpc_CountStepOp : Mpc_Op<"count_step", [Pure, InferTypeOpAdaptor]> {
  let summary = "increment a step counter unless the step was skipped";
  let description = [{
    `step' = step + (skip != 0 ? 0 : 1)`; without `skip`, `step + 1`.

    ```mlir
    %s2 = mpc.count_step %s, %skip : (tensor<i64>, tensor<f32>) -> tensor<i64>
    ```
  }];
  let arguments = (ins Mpc_I64ScalarTensor:$step, Optional<Mpc_F32ScalarTensor>:$skip);
  let results = (outs Mpc_I64ScalarTensor:$new_step);
}

def Mpc_LossScaleUpdateOp : Mpc_Op<"loss_scale_update", [Pure, InferTypeOpAdaptor]> {
  let summary = "the dynamic loss scale update of torch.amp.GradScaler";
  let description = [{
    `torch._amp_update_scale_`: with `found_inf`, `scale' = scale *
    backoff_factor` and `tracker' = 0`; otherwise `tracker + 1`, and when it
    reaches `growth_interval`, `scale' = scale * growth_factor` if that is
    finite and `tracker' = 0`. Products are computed in double and rounded to
    float. Then `scale'` is clamped to `[min_scale, max_scale]` where those
    are positive (an mpc extension). A non-zero `hold` (between accumulation
    boundaries) leaves both unchanged.

    ```mlir
    %s2, %t2 = mpc.loss_scale_update %s, %t, %inf {growth_interval = 2000 : i64}
        : (tensor<f32>, tensor<i64>, tensor<f32>) -> (tensor<f32>, tensor<i64>)
    ```
  }];
  let arguments = (ins Mpc_F32ScalarTensor:$scale, Mpc_I64ScalarTensor:$tracker,
                       Mpc_F32ScalarTensor:$found_inf, Optional<Mpc_F32ScalarTensor>:$hold,
                       DefaultValuedAttr<F32Attr, "2.0f">:$growth_factor,
                       DefaultValuedAttr<F32Attr, "0.5f">:$backoff_factor,
                       DefaultValuedAttr<I64Attr, "2000">:$growth_interval,
                       DefaultValuedAttr<F32Attr, "0.0f">:$min_scale,
                       DefaultValuedAttr<F32Attr, "0.0f">:$max_scale);
  let results = (outs Mpc_F32ScalarTensor:$new_scale, Mpc_I64ScalarTensor:$new_tracker);
  let hasVerifier = 1;
}

def Mpc_OnnxAdagradOp : Mpc_Op<"onnx_adagrad", [Pure, InferTypeOpAdaptor]> {
  let summary = "ONNX preview-training Adagrad for one tensor";
  let description = [{
    `ai.onnx.preview.training.Adagrad` (version 1) for one optimised tensor:
    `r' = r / (1 + t * decay_factor)`, `g' = norm_coefficient * x + g`,
    `h' = h + g'^2`, `x' = x - r' * g' / (sqrt(h') + epsilon)`.

    ```mlir
    %x2, %h2 = mpc.onnx_adagrad %r, %t, %x, %g, %h {decay_factor = 0.1 : f32, epsilon = 1.0e-05 : f32, norm_coefficient = 1.0e-03 : f32}
        : (tensor<f32>, tensor<i64>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
    ```
  }];
  let arguments = (ins Mpc_F32ScalarTensor:$r, Mpc_I64ScalarTensor:$t, Mpc_FloatTensor:$x,
                       Mpc_FloatTensor:$g, Mpc_FloatTensor:$h,
                       DefaultValuedAttr<F32Attr, "0.0f">:$decay_factor,
                       DefaultValuedAttr<F32Attr, "1e-6f">:$epsilon,
                       DefaultValuedAttr<F32Attr, "0.0f">:$norm_coefficient);
  let results = (outs Mpc_FloatTensor:$new_x, Mpc_FloatTensor:$new_h);
}

def Mpc_OnnxMomentumOp : Mpc_Op<"onnx_momentum", [Pure, InferTypeOpAdaptor]> {
  let summary = "ONNX preview-training Momentum for one tensor";
  let description = [{
    `ai.onnx.preview.training.Momentum` (version 1) for one optimised tensor:
    `g' = norm_coefficient * x + g`; `v' = alpha * v + beta * g'` (with
    `beta` replaced by 1 when `t == 0`); `x' = x - r * v'` (`standard`) or
    `x' = x - r * (g' + alpha * v')` (`nesterov`).

    ```mlir
    %x2, %v2 = mpc.onnx_momentum %r, %t, %x, %g, %v {alpha = 0.9 : f32, beta = 1.0 : f32, norm_coefficient = 0.0 : f32, mode = "standard"}
        : (tensor<f32>, tensor<i64>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
    ```
  }];
  let arguments = (ins Mpc_F32ScalarTensor:$r, Mpc_I64ScalarTensor:$t, Mpc_FloatTensor:$x,
                       Mpc_FloatTensor:$g, Mpc_FloatTensor:$v, F32Attr:$alpha, F32Attr:$beta,
                       F32Attr:$norm_coefficient,
                       DefaultValuedStrAttr<StrAttr, "standard">:$mode);
  let results = (outs Mpc_FloatTensor:$new_x, Mpc_FloatTensor:$new_v);
  let hasVerifier = 1;
}

def Mpc_OnnxAdamOp : Mpc_Op<"onnx_adam", [Pure, InferTypeOpAdaptor]> {
  let summary = "ONNX preview-training Adam for one tensor";
  let description = [{
    `ai.onnx.preview.training.Adam` (version 1) for one optimised tensor, as
    the ONNX reference implementation: `g' = norm_coefficient * x + g`,
    `v' = alpha * v + (1 - alpha) * g'`, `h' = beta * h + (1 - beta) * g'^2`,
    `r' = t > 0 ? r * sqrt(1 - beta^t) / (1 - alpha^t) : r`,
    `x' = x - r' * v' / (sqrt(h') + epsilon)`, then
    `x' = (1 - norm_coefficient_post) * x'`. `t` counts the steps already
    taken (T = 0: no bias correction).

    ```mlir
    %x2, %v2, %h2 = mpc.onnx_adam %r, %t, %x, %g, %v, %h {alpha = 0.9 : f32, beta = 0.999 : f32, epsilon = 1.0e-06 : f32}
        : (tensor<f32>, tensor<i64>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
        -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
    ```
  }];
  let arguments = (ins Mpc_F32ScalarTensor:$r, Mpc_I64ScalarTensor:$t, Mpc_FloatTensor:$x,
                       Mpc_FloatTensor:$g, Mpc_FloatTensor:$v, Mpc_FloatTensor:$h,
                       DefaultValuedAttr<F32Attr, "0.9f">:$alpha,
                       DefaultValuedAttr<F32Attr, "0.999f">:$beta,
                       DefaultValuedAttr<F32Attr, "1e-6f">:$epsilon,
                       DefaultValuedAttr<F32Attr, "0.0f">:$norm_coefficient,
                       DefaultValuedAttr<F32Attr, "0.0f">:$norm_coefficient_post);
  let results = (outs Mpc_FloatTensor:$new_x, Mpc_FloatTensor:$new_v, Mpc_FloatTensor:$new_h);
}

#endif // MPC_TRAINING_OPS_TD
