//===- ModelLoader.h - reading ONNX files and tensor data -------*- C++ -*-===//
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "onnx/onnx_pb.h"

namespace mpc {

/// Reads `.onnxtxt` (ONNX text syntax) or binary protobuf into `model`.
bool loadModelProto(llvm::StringRef path, onnx::ModelProto &model, std::string &error);

/// `message` with control characters escaped (\n, \t, \xNN): importer errors
/// are one line even when a node or tensor name in them is not.
std::string oneLineMessage(llvm::StringRef message);

/// ONNX element type code -> name ("FLOAT", "BFLOAT16", ...) for messages.
std::string onnxTypeName(int32_t elemType);

/// Bytes per element of a supported ONNX element type, 0 when unsupported.
int64_t onnxElementBytes(int32_t elemType);

/// The raw little-endian bytes of a tensor: raw_data, the typed repeated
/// fields, or external data read from a file inside `modelDir`. Checks that the
/// data size matches dims x element size and that external references stay
/// inside the model directory. `maxBytes` bounds what may be read.
bool readTensorBytes(const onnx::TensorProto &tensor, llvm::StringRef modelDir,
                     int64_t maxBytes, std::vector<char> &bytes, std::string &error);

/// Element count of `dims`, or -1 if a dim is negative or the product overflows.
int64_t checkedElementCount(llvm::ArrayRef<int64_t> dims);

} // namespace mpc
