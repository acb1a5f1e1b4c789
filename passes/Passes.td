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

#endif // MPC_PASSES_TD
