//===- PlanEmitter.h - mpc dialect -> executable plan (.mpcp) ---*- C++ -*-===//
//
// Lowers the `@main` function of a module in the mpc dialect to a plan for
// libmpcrt: one kernel call per mpc op (named as in docs/ops.md, attributes
// passed through), graph inputs/outputs bound by their ONNX names, constants
// and parameters in the plan's data section. The runtime's PlanWriter plans
// the activation arena (liveness, in-place reuse) and writes the file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mlir/IR/BuiltinOps.h"

namespace mpc {

struct PlanStats {
  size_t kernels = 0;
  size_t tensors = 0;
  uint64_t activationArenaBytes = 0;
  uint64_t constantBytes = 0;
  /// Training steps: state tensors (mutable globals) and the `copy` kernels
  /// that write stored values no kernel could write in place.
  size_t stateTensors = 0;
  size_t stateCopies = 0;
};

/// Writes `module` as a plan to `path`. On failure returns failure and sets
/// `error` to a one-line message naming the op (by its ONNX node name).
/// `maxMemoryBytes` (0: no limit) caps every tensor and the activation plus
/// state arenas; a plan above it is refused with an error naming the tensor.
mlir::LogicalResult emitPlan(mlir::ModuleOp module, llvm::StringRef path, std::string &error,
                             PlanStats *stats = nullptr, uint64_t maxMemoryBytes = 0);

/// The same plan, into memory (what emitPlan writes to the file): for plans
/// the compiler runs itself (training_info's initialization graph).
mlir::LogicalResult emitPlanToBuffer(mlir::ModuleOp module, std::vector<uint8_t> &buffer,
                                     std::string &error, uint64_t maxMemoryBytes = 0);

} // namespace mpc
