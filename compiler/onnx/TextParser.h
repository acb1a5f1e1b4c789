//===- TextParser.h - libonnx's text parser behind a plain call -*- C++ -*-===//
//
// libonnx's OnnxParser reports most errors as a status but throws on some
// (std::stol / std::stod on a malformed or out-of-range number literal). The
// importer is built without exceptions, so the call lives in TextParser.cpp,
// compiled with -fexceptions like Checker.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "onnx/onnx_pb.h"

namespace mpc {

/// Parses ONNX text syntax (NUL-terminated `text`) into `model`. On failure
/// returns false and sets `error` to one line saying why.
bool parseOnnxText(const char *text, onnx::ModelProto &model, std::string &error);

} // namespace mpc
