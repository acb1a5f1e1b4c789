//===- Fp8Pipeline.h - --fp8 flags -> FP8 passes ----------------*- C++ -*-===//
//
// `mpc-opt model.onnx --autocast=bf16 --fp8=hybrid [--fp8-recipe=delayed|current|mxfp8]
//  [--fp8-amax-history=1024] [--fp8-amax-algo=max|most_recent] [--fp8-margin=0]
//  [--fp8-min-gemm-size=N]` becomes mpc-fp8 (on the forward graph, after
// autocast and before the training passes) and, after the training passes,
// mpc-fp8-scale-update (the end-of-step delayed-scaling update). The flags
// are declared in Fp8Pipeline.cpp.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <string>

#include "mlir/Pass/PassManager.h"

namespace mpc {

/// True when any --fp8* flag is on the command line.
bool hasFp8Flags();

/// Checks the --fp8* flags (they need --autocast: FP8 GEMMs replace the GEMMs
/// autocast put in the low-precision class) and appends mpc-fp8. Call after
/// the autocast pipeline and before the training pipeline. Returns false with
/// a one-line `error`.
bool buildFp8Pipeline(mlir::OpPassManager &pm, const std::string &autocastDtype,
                      std::string &error);

/// Appends mpc-fp8-scale-update when --fp8 is on and the recipe keeps state
/// (delayed). Call after the training pipeline.
void buildFp8ScaleUpdatePipeline(mlir::OpPassManager &pm);

} // namespace mpc
