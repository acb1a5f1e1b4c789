//===- Pipelines.cpp - high-level flags -> pass lists ---------------------===//

#include "compiler/Pipelines.h"

#include "compiler/onnx/Exporter.h"
#include "passes/Passes.h"
#include "passes/PrecisionPolicy.h"

namespace mpc {

bool buildPipeline(mlir::OpPassManager &pm, const PipelineOptions &options,
                   mlir::MLIRContext &context, std::string &error) {
  if (options.autocast.empty()) {
    if (!options.precisionPolicy.empty() || options.keepIoTypes ||
        options.precisionPreset != "default") {
      error = "--precision-preset, --precision-policy and --keep-io-types need --autocast";
      return false;
    }
    return true;
  }
  if (options.autocast != "bf16" && options.autocast != "fp16") {
    error = "--autocast must be bf16 or fp16, got '" + options.autocast + "'";
    return false;
  }
  if (!parsePrecisionPreset(options.precisionPreset)) {
    error = "--precision-preset must be conservative, default or aggressive, got '" +
            options.precisionPreset + "'";
    return false;
  }
  if (!options.precisionPolicy.empty()) {
    // Report a bad file before anything runs.
    PrecisionPolicy policy;
    if (!policy.loadFile(options.precisionPolicy, context, error))
      return false;
  }
  AutocastOptions autocast;
  autocast.dtype = options.autocast;
  autocast.preset = options.precisionPreset;
  autocast.policy = options.precisionPolicy;
  autocast.keepIoTypes = options.keepIoTypes;
  if (options.onnxOpset > 0) {
    int64_t opset = options.onnxOpset;
    pm.addPass(createAutocastForTarget(autocast, "onnx-opset" + std::to_string(opset),
                                       [opset](llvm::StringRef op, mlir::Type dtype) {
                                         return onnxSupportsDtype(op, dtype, opset);
                                       }));
  } else {
    pm.addPass(createAutocast(autocast));
  }
  return true;
}

} // namespace mpc
