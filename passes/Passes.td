//===- Passes.td - every mpc pass and its options -----------*- tablegen -*-===//
//
// One pass per file in passes/, named after its flag: `mpc-autocast` is
// passes/Autocast.cpp and test/lit/passes/mpc-autocast.mlir.
//
//===----------------------------------------------------------------------===//
#ifndef MPC_PASSES_TD
#define MPC_PASSES_TD

include "mlir/Pass/PassBase.td"

def Autocast : Pass<"mpc-autocast", "mlir::ModuleOp"> {
  let summary = "Decide the compute precision of every op of the forward graph";
  let description = [{
    Classifies every op with the precision interface (LOWER / FP32 / PROMOTE /
    PASS, DESIGN.md section 5) through the preset and the optional policy file,
    and inserts `mpc.cast` on op inputs only: one cast per (value, dtype),
    weights (`ml_program.global_load_const`) cast once right after the load,
    never an FP32->low->FP32 round trip. Integer, bool and f64 values and user
    casts are never converted. The conservative preset casts LOWER results back
    to FP32 at once; `keep-io-types` keeps the function signature (graph outputs
    are cast back); otherwise a graph input whose every use is a cast to the
    low dtype takes that dtype.

    `createAutocastForTarget` (used by `--emit=onnx`) adds a target
    constraint: an op the target cannot run in the low dtype (an ONNX opset
    without the type) stays untouched.

    Every decision is recorded on the op as
    `mpc.precision = {dtype = bf16, rule = "default:LOWER"}`. Re-running the
    pass changes nothing. It finishes with the cast canonicalization of
    `mpc-cast-canonicalize`.

    ```
    mpc-opt model.mlir -mpc-autocast="dtype=bf16 preset=default policy=policy.json"
    ```
  }];
  let dependentDialects = ["::mpc::MpcDialect"];
  let options = [
    Option<"dtype", "dtype", "std::string", /*default=*/"\"bf16\"",
           "Low compute dtype: bf16 or fp16">,
    Option<"preset", "preset", "std::string", /*default=*/"\"default\"",
           "conservative, default or aggressive (DESIGN.md section 5)">,
    Option<"policy", "policy", "std::string", /*default=*/"\"\"",
           "JSON policy file with user overrides (docs/precision-policy.md)">,
    Option<"keepIoTypes", "keep-io-types", "bool", /*default=*/"false",
           "Keep graph inputs and outputs in their original types">,
  ];
}

def CastCanonicalize : Pass<"mpc-cast-canonicalize"> {
  let summary = "One cast per (value, dtype), exact cast chains folded, dead casts removed";
  let description = [{
    Cleans up `mpc.cast`s without changing any value:

    * identical casts of the same value merge (one cast per (value, dtype));
    * a cast whose input is an exact (widening) cast looks through it:
      `f16 -> f32 -> f16` is the identity and `bf16 -> f32 -> f16` is
      `bf16 -> f16`; a narrowing cast of a wider value (`f32 -> bf16 -> f32`)
      is never folded;
    * casts to the same type and dead casts are removed.

    A cast the user wrote (`user`) is never rewritten; only when dead and
    widening is it removed. Policy (which op computes in which dtype) lives in
    mpc-autocast, not here.
  }];
  let dependentDialects = ["::mpc::MpcDialect"];
}

def Autodiff : Pass<"mpc-autodiff", "mlir::ModuleOp"> {
  let summary = "Reverse-mode gradients of the loss of @main";
  let description = [{
    Differentiates the loss of `@main` (the output named by `loss`, by default
    the only scalar float output) with respect to the float parameters (the
    `ml_program` globals @main loads) whose names match `wrt` (all by
    default), and appends each gradient as an output named `<param>.grad`.
    Parameters the loss does not depend on get no output.

    The backward pass is seeded by an `mpc.constant` of ones in the loss type
    marked `mpc.grad_seed` (loss scaling multiplies it by the scale); ops are
    visited in reverse and each calls its rule (mpc::GradientOpInterface,
    passes/autodiff/GradientRules.cpp); gradients of values used several times
    accumulate with `mpc.add` in the value's dtype. Gradients keep the dtype of
    their value, so the backward of an op runs in its forward dtype and the
    gradient of an FP32 parameter flows back through its cast (PyTorch AMP).
    Backward ops are located at `<node>/grad`.

    ```
    mpc-opt model.mlir -mpc-autodiff="loss=loss wrt=fc.*"
    ```
  }];
  let dependentDialects = ["::mpc::MpcDialect"];
  let options = [
    Option<"loss", "loss", "std::string", /*default=*/"\"\"",
           "Name of the @main output to differentiate (default: the only scalar float output)">,
    Option<"wrt", "wrt", "std::string", /*default=*/"\"\"",
           "Regex (full match) over parameter names (default: every float parameter)">,
  ];
}

def TrainingStep : Pass<"mpc-training-step", "mlir::ModuleOp"> {
  let summary = "Turn @main into one training step: gradients, optimizer, state updates";
  let description = [{
    Trainable parameters (float initializer globals whose names fully match
    `trainable` and not `frozen`; by default every float initializer with more
    than one element except batch-norm running statistics: single-element
    initializers are scalar constants such as attention scales unless
    `trainable` names them) become `ml_program.global private mutable`
    read with `ml_program.global_load`. Their gradients come from the autodiff
    machinery of mpc-autodiff. One optimizer op per parameter
    (`mpc.sgd_update`, `mpc.momentum_update` or `mpc.adam_update`) computes the
    new values, which `ml_program.global_store` writes back, with the
    optimizer state as mutable globals named as the checkpoint keys:
    `<param>.momentum_buffer`, `<param>.exp_avg`, `<param>.exp_avg_sq`,
    `optimizer.step` (i64, steps taken, incremented each step) and
    `optimizer.lr` (f32, initialised from `lr`; an application may overwrite
    it between steps). Moments are f32 (f64 for f64 parameters). The running
    statistics of `mpc.batch_norm_train` are stored back to their globals, and
    every `mpc.dropout` takes the step counter `dropout.offset` (i64,
    incremented each step) as its offset. Parameters the loss does not depend
    on stay constant. @main still returns the loss and its other outputs.

    ```
    mpc-opt model.mlir -mpc-training-step="optimizer=adamw lr=1e-3 frozen=embed.*"
    ```
  }];
  let dependentDialects = ["::mpc::MpcDialect", "::mlir::ml_program::MLProgramDialect"];
  let options = [
    Option<"loss", "loss", "std::string", /*default=*/"\"\"",
           "Name of the @main output to minimise (default: the only scalar float output)">,
    Option<"trainable", "trainable", "std::string", /*default=*/"\"\"",
           "Regex (full match) of trainable parameter names (default: every float "
           "initializer with more than one element)">,
    Option<"frozen", "frozen", "std::string", /*default=*/"\"\"",
           "Regex (full match) of parameter names to keep constant">,
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"sgd\"",
           "sgd, momentum, adam or adamw">,
    Option<"lr", "lr", "double", /*default=*/"1e-3", "Learning rate (initial optimizer.lr)">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "Adam beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "Adam beta2">,
    Option<"eps", "eps", "double", /*default=*/"1e-8", "Adam epsilon">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"-1",
           "Weight decay (default: 0.01 for adamw, 0 otherwise)">,
    Option<"momentum", "momentum", "double", /*default=*/"0.9", "Momentum factor (momentum)">,
    Option<"dampening", "dampening", "double", /*default=*/"0", "Dampening (momentum)">,
    Option<"nesterov", "nesterov", "bool", /*default=*/"false", "Nesterov momentum (momentum)">,
    Option<"accumulate", "accumulate", "int64_t", /*default=*/"1",
           "Micro-batches per optimizer step (gradient accumulation)">,
    Option<"clipGradNorm", "clip-grad-norm", "double", /*default=*/"0",
           "Clip gradients to this global L2 norm after unscaling (0: off)">,
    Option<"paramGroups", "param-groups", "std::string", /*default=*/"\"\"",
           "Parameter groups, ';'-separated: REGEX:key=value,... with keys lr_scale, "
           "weight_decay, beta1, beta2, eps, momentum, dampening (first match wins)">,
  ];
}

def LossScaling : Pass<"mpc-loss-scaling", "mlir::ModuleOp"> {
  let summary = "Dynamic or static loss scaling of a training step (torch.amp.GradScaler)";
  let description = [{
    Runs after mpc-training-step. The backward seed (marked `mpc.grad_seed`)
    is multiplied by the state `loss_scale.scale` (f32, initialised to
    `init`); `mpc.unscale_and_check` divides every gradient by it and reports
    `found_inf`; every optimizer op and the `optimizer.step` counter take
    `found_inf` as their `skip` flag (combined with the accumulation hold),
    so a step with an inf/NaN gradient changes no parameter, moment or
    counter. `dynamic` then updates the scale with `mpc.loss_scale_update`
    (GradScaler's rule, optional `min`/`max` clamp) and keeps the growth
    tracker in `loss_scale.growth_tracker` (i64); `static` keeps the scale
    constant but still skips non-finite steps; `none` changes nothing.

    ```
    mpc-opt step.mlir -mpc-loss-scaling="mode=dynamic init=65536 interval=2000"
    ```
  }];
  let dependentDialects = ["::mpc::MpcDialect", "::mlir::ml_program::MLProgramDialect"];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"dynamic\"", "dynamic, static or none">,
    Option<"init", "init", "double", /*default=*/"65536", "Initial (or static) scale">,
    Option<"growth", "growth", "double", /*default=*/"2", "Growth factor">,
    Option<"backoff", "backoff", "double", /*default=*/"0.5", "Backoff factor">,
    Option<"interval", "interval", "int64_t", /*default=*/"2000",
           "Successful steps before the scale grows">,
    Option<"minScale", "min", "double", /*default=*/"0", "Floor of the scale (0: none)">,
    Option<"maxScale", "max", "double", /*default=*/"0", "Ceiling of the scale (0: none)">,
  ];
}

def MasterWeights : Pass<"mpc-master-weights", "mlir::ModuleOp"> {
  let summary = "Store trainable parameters in low precision, optionally with FP32 masters";
  let description = [{
    Runs after mpc-training-step. A trainable FP32 parameter whose every
    forward use is a cast to `param-dtype` (bf16 or fp16) is stored in that
    dtype instead, so the forward reads it without a per-step cast. With
    `master` the FP32 value moves to the state `<param>.master` and the
    optimizer updates it in FP32 and writes the low-precision working copy
    `<param>` in the same kernel (`working_type`); without it, the optimizer
    updates the low-precision parameter directly (moments stay FP32).
    Parameters also used in FP32 (e.g. by a normalisation) keep their FP32
    storage. `param-dtype=fp32` changes nothing.

    ```
    mpc-opt step.mlir -mpc-master-weights="param-dtype=fp16 master=true"
    ```
  }];
  let dependentDialects = ["::mpc::MpcDialect", "::mlir::ml_program::MLProgramDialect"];
  let options = [
    Option<"paramDtype", "param-dtype", "std::string", /*default=*/"\"fp32\"",
           "fp32, bf16 or fp16: the stored dtype of trainable parameters">,
    Option<"master", "master", "bool", /*default=*/"true",
           "Keep FP32 master weights for low-precision parameters">,
  ];
}

def FuseElementwise : Pass<"mpc-fuse-elementwise"> {
  let summary = "Group chains of elementwise ops into mpc.fused_elementwise";
  let description = [{
    Greedily groups connected fusible elementwise ops of one block (unary float
    ops, `add`, `sub`, `mul`, `div`, `max`, `min`, `pow`, `where`, casts between
    f32, f16, bf16 and f64; see mpc::isFusibleElementwise) into one
    `mpc.fused_elementwise`, so the plan evaluates the chain in one pass over
    memory. Starting from the last op of the block, a group grows from its root
    through operands whose only use is inside the group and whose value has the
    root's shape (a smaller, broadcast value stays outside and becomes an
    operand); only the root's value escapes. A group needs at least two ops and
    at most 16 distinct operands; an f16/bf16 `where` is never a root (the
    unfused kernel copies bytes, so NaN payloads would differ). Ops keep their types, so every intermediate
    is still rounded to its own type: fusion never changes a value. The fused
    op's location fuses the members' locations (the root first). Ops already in
    a group are never regrouped: re-running the pass changes nothing.
    `mpc-opt --emit=plan` runs it before emitting unless `--no-fusion`.

    ```
    mpc-opt model.mlir -mpc-fuse-elementwise
    ```
  }];
  let dependentDialects = ["::mpc::MpcDialect"];
}

def Fp8 : Pass<"mpc-fp8", "mlir::ModuleOp"> {
  let summary = "Turn eligible low-precision GEMMs of the forward graph into FP8 GEMMs";
  let description = [{
    Runs on the forward graph after mpc-autocast and before mpc-training-step
    (the backward follows the FP8 GEMMs through their gradient rule). Every
    `mpc.matmul` (2-D weight, rank >= 2 input) and `mpc.gemm` whose operands
    are bf16 or f16, whose M, N and K are multiples of 16 (32 for mxfp8) and
    whose M*N*K is at least `min-gemm-size` becomes
    `mpc.fp8_quantize` of each operand (E4M3), explicit `mpc.transpose`s of
    FP8 values into the TN form, and one `mpc.fp8_gemm` with the original
    output dtype. Every other GEMM stays and its `mpc.precision` attribute
    gets an `fp8` entry with the reason; converted GEMMs get one describing
    the FP8 GEMM, so `--precision-report` lists both.

    Delayed scaling (`recipe=delayed`) keeps, per GEMM node `<n>` and operand
    `<role>` in {input, weight, grad_output}, the mutable f32 globals
    `<n>.fp8.<role>.scale` (init 1), `.scale_inv` (init 1) and
    `.amax_history` (`amax-history` entries, init 0), loaded at the start of
    @main; mpc-fp8-scale-update writes them at the end of the step.
    `recipe=current` computes each scale from the tensor's own amax
    (`mpc.amax` + `mpc.fp8_current_scale`) and keeps no state. `recipe=mxfp8`
    (OCP MX block scaling: 32-element blocks along the reduction dim, E8M0
    scales; M, N and K multiples of 32) makes one `mpc.mx_gemm` of the
    high-precision operands, which quantizes them itself (emulated exactly
    on the CPU; Hopper has no native MXFP8, so the CUDA backend would use the
    per-tensor recipe).
    `format=hybrid` makes gradients E5M2 in the backward (E4M3 forward);
    `format=e4m3` uses E4M3 everywhere. The settings are recorded as the
    module attribute `mpc.fp8`. Re-running the pass changes nothing.

    ```
    mpc-opt model.mlir -mpc-autocast="dtype=bf16" -mpc-fp8="format=hybrid min-gemm-size=0"
    ```
  }];
  let dependentDialects = ["::mpc::MpcDialect", "::mlir::ml_program::MLProgramDialect"];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"hybrid\"",
           "hybrid (E4M3 forward, E5M2 gradients) or e4m3">,
    Option<"recipe", "recipe", "std::string", /*default=*/"\"delayed\"",
           "delayed, current or mxfp8">,
    Option<"amaxHistory", "amax-history", "int64_t", /*default=*/"1024",
           "Length of the amax history (delayed scaling)">,
    Option<"amaxAlgo", "amax-algo", "std::string", /*default=*/"\"max\"",
           "max (over the history) or most_recent">,
    Option<"margin", "margin", "int64_t", /*default=*/"0",
           "scale = (fp8_max / amax) / 2^margin">,
    Option<"minGemmSize", "min-gemm-size", "int64_t", /*default=*/"2147483648",
           "Smallest M*N*K that goes FP8 (default 1024*2048*1024: smaller GEMMs are "
           "faster in bf16 on Hopper)">,
  ];
}

def Fp8ScaleUpdate : Pass<"mpc-fp8-scale-update", "mlir::ModuleOp"> {
  let summary = "Append the end-of-step FP8 delayed-scaling update to @main";
  let description = [{
    Runs after mpc-training-step (so the backward's grad_output quantizes
    exist). Collects every `mpc.fp8_quantize` marked
    `mpc.fp8_operand = "<n>.fp8.<role>"` in @main and appends, before the
    return, one `mpc.fp8_scale_update` over all of them (their amaxes, the
    loaded histories, scales and scale_invs) and the `ml_program.global_store`s
    of its results. `amax_algo` and `margin` come from the module's `mpc.fp8`
    attribute. The f32 scalar result an op of @main marks with `mpc.skip_step`
    (a unit attribute on a one-result op, or the result index as an integer:
    the loss scaler's skip flag) becomes the update's `skip` operand. It then folds the exact cast round trips the FP8
    backward leaves (mpc-cast-canonicalize). Without FP8 operands, or when
    @main already has an update, nothing changes.

    ```
    mpc-opt step.mlir -mpc-fp8-scale-update
    ```
  }];
  let dependentDialects = ["::mpc::MpcDialect", "::mlir::ml_program::MLProgramDialect"];
}

#endif // MPC_PASSES_TD
