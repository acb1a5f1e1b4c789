//===- Initialization.h - run training_info's initialization graph -*- C++ -*-===//
//
// ModelProto.training_info[*].initialization runs once, before the first
// training step, and its outputs become the initial values of the
// initializers named by initialization_binding. mpc evaluates it at compile
// time: the importer builds the initialization graph as its own module (one
// function @main without arguments whose results are the bound values), and
// evaluateOnCpu lowers it to an in-memory plan and runs it once on libmpcrt's
// CPU backend (the reference backend, bit-exact for every format).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/SmallVector.h"

namespace mpc {

/// Runs @main of `module` (no arguments) once on the CPU runtime and returns
/// its results, in order, as constants of the result types. Results larger
/// than `inlineLimitBytes` become `dense_resource` blobs named after the
/// result's `mpc.name`. A plan whose arenas need more than `maxBytes` is
/// refused (a hostile model must not make the compiler allocate without
/// bound). On failure sets `error` to one line.
mlir::LogicalResult evaluateOnCpu(mlir::ModuleOp module, int64_t inlineLimitBytes, int64_t maxBytes,
                                  llvm::SmallVectorImpl<mlir::ElementsAttr> &results,
                                  std::string &error);

} // namespace mpc
