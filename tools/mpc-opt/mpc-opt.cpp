//===- mpc-opt.cpp - the mpc compiler driver ------------------------------===//
//
// An mlir-opt style driver that registers only what mpc needs and also reads
// ONNX models: `.onnx` (binary) and `.onnxtxt` (text syntax) inputs are
// imported into the mpc dialect first, then the requested passes run and the
// result is printed (`--emit=mlir`, the default) or lowered to an executable
// plan for libmpcrt (`--emit=plan -o model.mpcp`). Errors are one line, naming
// the node or tensor, and the exit code is 1.
//
//===----------------------------------------------------------------------===//

#include "compiler/onnx/Importer.h"
#include "compiler/plan/PlanEmitter.h"
#include "mlir/Parser/Parser.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace {

llvm::cl::list<std::string> inputShapes(
    "input-shape", llvm::cl::desc("Static shape for an ONNX graph input: name=d0,d1,..."),
    llvm::cl::value_desc("name=dims"));

llvm::cl::opt<std::string> emitKind("emit",
                                    llvm::cl::desc("Output: 'mlir' (default) or 'plan' (.mpcp)"),
                                    llvm::cl::init("mlir"));
llvm::cl::opt<bool> planStats("plan-stats",
                              llvm::cl::desc("With --emit=plan: print kernel, tensor and "
                                             "arena sizes to stderr"),
                              llvm::cl::init(false));

void registerPasses() {
  // Generic cleanups that are useful on mpc IR; mpc's own passes register here
  // as they are added.
  registerCanonicalizerPass();
  registerCSEPass();
  registerSymbolDCEPass();
}

int fail(const std::string &message) {
  llvm::errs() << "mpc-opt: error: " << message << "\n";
  return 1;
}

/// Loads the input (ONNX import or MLIR parse), runs the pass pipeline from the
/// command line and writes the requested output.
int runPipeline(const std::string &inputFilename, const std::string &outputFilename,
                DialectRegistry &registry) {
  if (emitKind != "mlir" && emitKind != "plan")
    return fail("--emit must be 'mlir' or 'plan', got '" + emitKind + "'");
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module;
  if (mpc::isOnnxPath(inputFilename)) {
    mpc::ImportOptions options;
    for (const std::string &spec : inputShapes) {
      std::string error;
      if (!mpc::parseInputShape(spec, options, error))
        return fail(error);
    }
    std::string error;
    module = mpc::importOnnxFile(context, inputFilename, options, error);
    if (!module)
      return fail(inputFilename + ": " + error);
  } else {
    context.loadAllAvailableDialects();
    module = parseSourceFile<ModuleOp>(inputFilename, &context);
    if (!module)
      return 1; // the parser reported the error with its location
  }
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();
  PassManager pm(&context, ModuleOp::getOperationName());
  if (failed(applyPassManagerCLOptions(pm)) || failed(config.setupPassPipeline(pm)))
    return 1;
  if (failed(pm.run(*module)))
    return 1;

  if (emitKind == "plan") {
    if (outputFilename == "-")
      return fail("--emit=plan writes a binary file: give it with -o model.mpcp");
    std::string error;
    mpc::PlanStats stats;
    if (failed(mpc::emitPlan(*module, outputFilename, error, &stats)))
      return fail(error);
    if (planStats)
      llvm::errs() << "plan: " << stats.kernels << " kernels, " << stats.tensors
                   << " tensors, activation arena " << stats.activationArenaBytes
                   << " bytes, constants " << stats.constantBytes << " bytes\n";
    return 0;
  }
  std::string ioError;
  auto output = openOutputFile(outputFilename, &ioError);
  if (!output)
    return fail(ioError);
  module->print(output->os(), OpPrintingFlags());
  output->os() << "\n";
  output->keep();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  registerPasses();
  DialectRegistry registry;
  mpc::registerImportDialects(registry);

  auto [inputFilename, outputFilename] =
      registerAndParseCLIOptions(argc, argv, "mpc compiler driver\n", registry);
  // Plain MLIR to MLIR goes through MlirOptMain (split-input-file,
  // verify-diagnostics, ...); ONNX input and plan output take our own path.
  if (mpc::isOnnxPath(inputFilename) || emitKind != "mlir")
    return runPipeline(inputFilename, outputFilename, registry);
  return asMainReturnCode(MlirOptMain(argc, argv, inputFilename, outputFilename, registry));
}
