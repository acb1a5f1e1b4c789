//===- Autodiff.h - reverse-mode differentiation of mpc functions -*- C++ -*-===//
//
// The machinery behind mpc-autodiff and mpc-training-step: gradient rules are
// external models of mpc::GradientOpInterface (GradientRules.cpp); buildBackward
// walks a function's ops in reverse and calls them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/SmallVector.h"

namespace mpc {

/// Attaches the gradient rule of every differentiable mpc op.
void registerGradientExternalModels(mlir::DialectRegistry &registry);

/// Float tensors (f32, f16, bf16, f64, FP8) carry gradients; integer and bool
/// tensors never do.
bool isDifferentiableType(mlir::Type t);

/// The type of the gradient of a value of type `t`: `t` itself, except that
/// FP8 values have f32 gradients.
mlir::Type gradientType(mlir::Type t);

/// The attribute that marks the seed of the backward pass (dL/dL = 1), so a
/// later pass (loss scaling) finds it and multiplies it by the loss scale.
inline constexpr llvm::StringLiteral kGradSeedAttr = "mpc.grad_seed";

/// Builds the backward pass of `func` (one block) for `loss` at the end of the
/// block, before its terminator: a seed `mpc.constant` of ones in the loss
/// type (marked with kGradSeedAttr), then the gradient rules of the ops
/// between `wrt` and `loss` in reverse order, accumulating with `mpc.add`.
/// Returns one gradient per `wrt` value (null where the loss does not depend
/// on it). Reports errors (an op without a gradient rule, ...) on the op.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
buildBackward(mlir::func::FuncOp func, mlir::Value loss, llvm::ArrayRef<mlir::Value> wrt);

/// The same within `block`, with the backward ops inserted before
/// `insertBefore` (at the block's end when null); only the ops before that
/// point are differentiated. The importer resolves ONNX `Gradient` with it.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
buildBackward(mlir::Block &block, mlir::Operation *insertBefore, mlir::Value loss,
              llvm::ArrayRef<mlir::Value> wrt);

/// The loss of `@main`: the result named `name` (its `mpc.name`), or with an
/// empty name the only scalar float result. Emits an error naming the
/// candidates when there is no such result.
mlir::FailureOr<mlir::Value> findLoss(mlir::func::FuncOp func, llvm::StringRef name);

} // namespace mpc
