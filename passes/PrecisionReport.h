//===- PrecisionReport.h - what autocast decided, as JSON / text / dot -*- C++ -*-===//
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

namespace mpc {

/// Bytes per dtype ("fp32", "bf16", "fp16", "i64", ...) of a module.
struct PrecisionSnapshot {
  /// Parameters (globals), in the type they would be stored in: a global whose
  /// every load feeds only compiler casts to one type counts in that type.
  std::map<std::string, int64_t> parameterBytes;
  /// Training state (mutable globals after --train: parameters, optimizer
  /// moments, counters), in their stored types.
  std::map<std::string, int64_t> stateBytes;
  /// Graph inputs and op results (constants and parameter loads excluded).
  std::map<std::string, int64_t> activationBytes;
  /// Compiler-inserted mpc.cast ops (user casts not counted).
  int64_t casts = 0;
  int64_t userCasts = 0;
};

PrecisionSnapshot snapshotPrecision(mlir::ModuleOp module);

/// Writes the per-node decisions (`mpc.precision` attributes) and the summary
/// to `path`: `.json`, `.txt` (a table) or `.dot` (Graphviz, nodes coloured by
/// dtype). Returns false with a one-line `error`.
bool writePrecisionReport(mlir::ModuleOp module, const PrecisionSnapshot &before,
                          const PrecisionSnapshot &after, llvm::StringRef path, std::string &error);

} // namespace mpc
