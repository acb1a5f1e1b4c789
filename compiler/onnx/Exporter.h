//===- Exporter.h - mpc dialect -> ONNX model -------------------*- C++ -*-===//
//
// Writes the `@main` function of an mpc module as an ONNX model: mpc ops back
// to ONNX nodes (named after their locations), parameters to initializers,
// graph inputs and outputs named by their `mpc.name`, the opset from the
// module's `mpc.opset`. A parameter whose every use is a compiler cast to one
// low-precision type is stored in that type (the Cast folds into the
// initializer) unless a value is outside that format's range: then it stays
// FP32 with a Cast node and a warning names it on stderr. The model is
// validated with libonnx's checker before it is written.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

namespace mpc {

/// Exports `module` to `path` (binary protobuf). On failure returns failure
/// with a one-line `error` naming the node or tensor at fault.
llvm::LogicalResult exportOnnx(mlir::ModuleOp module, llvm::StringRef path, std::string &error);

/// The ONNX op an mpc op (name without "mpc.") exports to at `opset`, or ""
/// when it has no ONNX equivalent.
std::string onnxOpTypeOf(llvm::StringRef mpcOpName, int64_t opset);

/// True when the ONNX op that `mpcOpName` exports to accepts `elem` tensors at
/// `opset` (e.g. Conv takes no bfloat16 before opset 22): mpc-autocast leaves
/// the other ops untouched when the output is ONNX.
bool onnxSupportsDtype(llvm::StringRef mpcOpName, mlir::Type elem, int64_t opset);

} // namespace mpc
