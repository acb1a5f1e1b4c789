//===- Fp8Pipeline.cpp - --fp8 flags -> FP8 passes ------------------------===//
//
// Order (docs/training.md, "FP8 training"): mpc-autocast decides which GEMMs
// compute in bf16/fp16; mpc-fp8 turns the eligible ones into FP8 GEMMs on the
// forward graph; mpc-training-step builds the backward from their gradient
// rule (FP8 dgrad/wgrad, E5M2 gradients); mpc-fp8-scale-update appends the
// delayed-scaling update at the very end of the step.
//
//===----------------------------------------------------------------------===//

#include "compiler/Fp8Pipeline.h"

#include "passes/Passes.h"
#include "llvm/Support/CommandLine.h"

namespace mpc {

namespace {

llvm::cl::opt<std::string> fp8Format(
    "fp8",
    llvm::cl::desc("FP8 GEMMs with this format: hybrid (E4M3 forward, E5M2 gradients) or e4m3 "
                   "(needs --autocast)"),
    llvm::cl::value_desc("hybrid|e4m3"), llvm::cl::init(""));
llvm::cl::opt<std::string> fp8Recipe("fp8-recipe",
                                     llvm::cl::desc("With --fp8: delayed (default), current or mxfp8"),
                                     llvm::cl::init("delayed"));
llvm::cl::opt<int64_t> fp8AmaxHistory("fp8-amax-history",
                                      llvm::cl::desc("With --fp8: amax history length (1024)"),
                                      llvm::cl::init(1024));
llvm::cl::opt<std::string> fp8AmaxAlgo("fp8-amax-algo",
                                       llvm::cl::desc("With --fp8: max (default) or most_recent"),
                                       llvm::cl::init("max"));
llvm::cl::opt<int64_t> fp8Margin("fp8-margin",
                                 llvm::cl::desc("With --fp8: scale = (fp8_max / amax) / 2^margin"),
                                 llvm::cl::init(0));
llvm::cl::opt<int64_t> fp8MinGemmSize(
    "fp8-min-gemm-size",
    llvm::cl::desc("With --fp8: smallest M*N*K that goes FP8 (default 1024*2048*1024)"),
    llvm::cl::init(int64_t(1024) * 2048 * 1024));

} // namespace

bool hasFp8Flags() {
  return !fp8Format.empty() || fp8Recipe.getNumOccurrences() || fp8AmaxHistory.getNumOccurrences() ||
         fp8AmaxAlgo.getNumOccurrences() || fp8Margin.getNumOccurrences() ||
         fp8MinGemmSize.getNumOccurrences();
}

bool buildFp8Pipeline(mlir::OpPassManager &pm, const std::string &autocastDtype,
                      std::string &error) {
  if (fp8Format.empty()) {
    if (hasFp8Flags()) {
      error = "--fp8-recipe, --fp8-amax-history, --fp8-amax-algo, --fp8-margin and "
              "--fp8-min-gemm-size need --fp8=hybrid|e4m3";
      return false;
    }
    return true;
  }
  if (fp8Format != "hybrid" && fp8Format != "e4m3") {
    error = "--fp8 must be hybrid or e4m3, got '" + fp8Format + "'";
    return false;
  }
  if (autocastDtype.empty()) {
    error = "--fp8 needs --autocast=bf16|fp16: FP8 GEMMs replace the GEMMs autocast puts in the "
            "low-precision class";
    return false;
  }
  if (fp8Recipe != "delayed" && fp8Recipe != "current" && fp8Recipe != "mxfp8") {
    error = "--fp8-recipe must be delayed, current or mxfp8, got '" + fp8Recipe + "'";
    return false;
  }
  if (fp8AmaxAlgo != "max" && fp8AmaxAlgo != "most_recent") {
    error = "--fp8-amax-algo must be max or most_recent, got '" + fp8AmaxAlgo + "'";
    return false;
  }
  if (fp8AmaxHistory < 1 || fp8AmaxHistory > (int64_t(1) << 20)) {
    error = "--fp8-amax-history must be in [1, 1048576], got " + std::to_string(fp8AmaxHistory);
    return false;
  }
  if (fp8Margin < 0 || fp8Margin > 64) {
    error = "--fp8-margin must be in [0, 64], got " + std::to_string(fp8Margin);
    return false;
  }
  if (fp8MinGemmSize < 0) {
    error = "--fp8-min-gemm-size must be >= 0, got " + std::to_string(fp8MinGemmSize);
    return false;
  }
  Fp8Options options;
  options.format = fp8Format;
  options.recipe = fp8Recipe;
  options.amaxHistory = fp8AmaxHistory;
  options.amaxAlgo = fp8AmaxAlgo;
  options.margin = fp8Margin;
  options.minGemmSize = fp8MinGemmSize;
  pm.addPass(createFp8(options));
  return true;
}

void buildFp8ScaleUpdatePipeline(mlir::OpPassManager &pm) {
  if (!fp8Format.empty() && fp8Recipe == "delayed")
    pm.addPass(createFp8ScaleUpdate());
}

} // namespace mpc
