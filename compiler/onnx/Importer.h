//===- Importer.h - ONNX model -> mpc dialect -------------------*- C++ -*-===//
//
// Reads an ONNX model (binary protobuf with optional external data, or ONNX
// text syntax) and builds a module with one function `@main` in the mpc
// dialect. Initializers become `ml_program.global`s; every op is located by its
// ONNX node name. Bad input yields one error line naming the node (name, op
// type, domain, opset) or the tensor at fault; nothing asserts.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

namespace mpc {

struct ImportOptions {
  /// Static shapes for graph inputs whose declared dims are symbolic or missing
  /// (`--input-shape name=d0,d1,...`).
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Initializers and constants larger than this many bytes are stored as
  /// `dense_resource` blobs instead of inline `dense<...>` literals.
  int64_t inlineLimitBytes = 64;
  /// Refuse any single tensor larger than this (a malformed or hostile model
  /// must not make the importer allocate without bound).
  int64_t maxTensorBytes = int64_t(16) << 30;
};

/// Parses `--input-shape` values of the form `name=2,3,224,224`.
bool parseInputShape(llvm::StringRef spec, ImportOptions &options, std::string &error);

/// Imports a `.onnx` (binary) or `.onnxtxt` (text syntax) file. On failure
/// returns null and sets `error` to a one-line message.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxFile(mlir::MLIRContext &context,
                                                 llvm::StringRef path,
                                                 const ImportOptions &options,
                                                 std::string &error);

/// True when the path names an ONNX file by its extension.
bool isOnnxPath(llvm::StringRef path);

/// Registers the dialects the imported IR uses (mpc, func, ml_program).
void registerImportDialects(mlir::DialectRegistry &registry);

} // namespace mpc
