//===- Checker.h - libonnx's model checker behind a plain call --*- C++ -*-===//
//
// libonnx's checker reports errors by throwing; the MLIR translation units are
// built without exceptions, so the call lives in Checker.cpp, the one file of
// the exporter compiled with -fexceptions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "onnx/onnx_pb.h"

namespace mpc {

/// Runs onnx::checker::check_model on `model`; returns "" when it passes,
/// otherwise the checker's message.
std::string checkOnnxModel(const onnx::ModelProto &model);

/// The newest default-domain opset libonnx's schema registry knows (17 for
/// libonnx 1.12); its checker cannot validate models above it.
int64_t onnxMaxKnownOpset();

/// True when ONNX op `opType` at `opset` (default domain) accepts tensors of
/// `typeName` ("bfloat16", "float16", ...) in its float inputs, according to
/// libonnx's schema registry.
bool onnxOpAcceptsType(const std::string &opType, int64_t opset, const std::string &typeName);

} // namespace mpc
