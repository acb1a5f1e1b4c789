// Shared body of the two importer fuzz targets: the bytes become a model file
// (the importer picks binary or text from the extension), are imported into a
// fresh context and, when the import succeeds, lowered to a plan in memory.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "compiler/onnx/Importer.h"
#include "compiler/plan/PlanEmitter.h"
#include "passes/autodiff/Autodiff.h"
#include "mlir/IR/MLIRContext.h"

namespace mpc::fuzz {

// A private directory per process: external-data references resolve in it
// (and, by the importer's rules, never outside it).
inline const std::string &scratchDir() {
  static std::string dir = [] {
    const char *tmp = getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/mpc-fuzz-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) abort();
    return std::string(buf.data());
  }();
  return dir;
}

inline int importBytes(const uint8_t *data, size_t size, const char *extension) {
  static const std::string path = scratchDir() + "/model" + extension;
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  }
  mlir::DialectRegistry registry;
  mpc::registerImportDialects(registry);
  mpc::registerGradientExternalModels(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  mpc::ImportOptions options;
  options.maxTensorBytes = int64_t(64) << 20;  // stay inside libFuzzer's rss limit
  std::string error;
  auto module = mpc::importOnnxFile(context, path, options, error);
  if (!module) {
    // Every failure must say something (one line, by the importer's contract).
    if (error.empty() || error.find('\n') != std::string::npos) abort();
    return 0;
  }
  std::vector<uint8_t> plan;
  std::string planError;
  (void)mpc::emitPlanToBuffer(*module, plan, planError, uint64_t(256) << 20);
  return 0;
}

}  // namespace mpc::fuzz
