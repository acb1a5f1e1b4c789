//===- Pipelines.h - high-level flags -> pass lists -------------*- C++ -*-===//
//
// mpc-opt's high-level flags (`--autocast=bf16 --precision-preset=...`) are
// turned into pass lists here, so other tools build the same pipelines.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "mlir/Pass/PassManager.h"

namespace mpc {

struct PipelineOptions {
  /// "" (no autocast), "bf16" or "fp16".
  std::string autocast;
  /// conservative, default or aggressive.
  std::string precisionPreset = "default";
  /// Optional JSON policy file (docs/precision-policy.md).
  std::string precisionPolicy;
  bool keepIoTypes = false;
  /// When the output is ONNX at this opset (0: not ONNX), ops the opset cannot
  /// run in the low dtype stay untouched.
  int64_t onnxOpset = 0;
};

/// Checks the options (dtype, preset, the policy file parses) and appends the
/// passes they ask for to `pm`. Returns false with a one-line `error`.
bool buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &options,
                   mlir::MLIRContext &context, std::string &error);

} // namespace mpc
