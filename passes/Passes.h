//===- Passes.h - the mpc passes --------------------------------*- C++ -*-===//
#pragma once

#include <functional>
#include <memory>

#include "dialects/mpc/MpcOps.h"
#include "mlir/Pass/Pass.h"

namespace mpc {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// mpc-autocast for a target that cannot run every op in every dtype (an ONNX
/// opset): an op whose low compute dtype `supports(opName, dtype)` refuses
/// stays untouched, recorded as "<targetName>:UNTOUCHED".
std::unique_ptr<mlir::Pass>
createAutocastForTarget(const AutocastOptions &options, std::string targetName,
                        std::function<bool(llvm::StringRef, mlir::Type)> supports);

/// Registers every mpc pass (for mpc-opt and pass pipelines).
void registerMpcPasses();

/// The cast cleanup of mpc-cast-canonicalize on the ops nested in `root`;
/// mpc-autocast runs it at its end. Returns true when something changed.
bool canonicalizeCasts(mlir::Operation *root);

/// True when every value of element type `from` converts exactly to `to`
/// (f16 -> f32, bf16 -> f32, f32 -> f64, fp8 -> f16, ...).
bool isExactFloatConversion(mlir::Type from, mlir::Type to);

} // namespace mpc
