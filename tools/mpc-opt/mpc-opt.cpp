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

#include "compiler/Fp8Pipeline.h"
#include "compiler/Pipelines.h"
#include "compiler/TrainingPipeline.h"
#include "compiler/onnx/Exporter.h"
#include "compiler/onnx/Importer.h"
#include "compiler/plan/PlanEmitter.h"
#include "passes/Passes.h"
#include "passes/PrecisionReport.h"
#include "passes/autodiff/Autodiff.h"
#include "dialects/mpc/MpcOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/Parser/Parser.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <unistd.h>

using namespace mlir;

namespace {

llvm::cl::list<std::string> inputShapes(
    "input-shape", llvm::cl::desc("Static shape for an ONNX graph input: name=d0,d1,..."),
    llvm::cl::value_desc("name=dims"));

llvm::cl::opt<uint64_t> maxTensorBytes(
    "max-tensor-bytes",
    llvm::cl::desc("Refuse models with a tensor (initializer, input or activation) or plan "
                   "arenas larger than this many bytes (default: the physical memory)"),
    llvm::cl::init(0));

/// --max-tensor-bytes, or the machine's physical memory.
uint64_t memoryCap() {
  if (maxTensorBytes)
    return maxTensorBytes;
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  return pages > 0 && pageSize > 0 ? uint64_t(pages) * uint64_t(pageSize) : uint64_t(16) << 30;
}

llvm::cl::opt<std::string> emitKind("emit",
                                    llvm::cl::desc("Output: 'mlir' (default), 'onnx' or 'plan' (.mpcp)"),
                                    llvm::cl::init("mlir"));

// High-level flags: compiler/Pipelines.cpp turns them into passes.
llvm::cl::opt<std::string> autocastDtype(
    "autocast", llvm::cl::desc("Run mpc-autocast with this low dtype: bf16 or fp16"),
    llvm::cl::value_desc("bf16|fp16"), llvm::cl::init(""));
llvm::cl::opt<std::string> precisionPreset(
    "precision-preset", llvm::cl::desc("Autocast preset: conservative, default or aggressive"),
    llvm::cl::init("default"));
llvm::cl::opt<std::string> precisionPolicy(
    "precision-policy", llvm::cl::desc("JSON autocast policy (docs/precision-policy.md)"),
    llvm::cl::value_desc("policy.json"), llvm::cl::init(""));
llvm::cl::opt<bool> keepIoTypes(
    "keep-io-types",
    llvm::cl::desc("With --autocast: keep graph inputs and outputs in their original types "
                   "(default: on, except with --emit=onnx, which follows the converters' "
                   "convention of low-precision inputs and outputs)"),
    llvm::cl::init(false));
llvm::cl::opt<std::string> precisionReport(
    "precision-report",
    llvm::cl::desc("Write what autocast decided per node: report.json, report.txt or report.dot"),
    llvm::cl::value_desc("file"), llvm::cl::init(""));

// Training: compiler/TrainingPipeline.cpp turns these into mpc-training-step.
llvm::cl::opt<bool> trainFlag("train", llvm::cl::desc("Compile one training step (forward, "
                                                      "backward, optimizer, state updates)"),
                              llvm::cl::init(false));
llvm::cl::opt<std::string> lossName("loss", llvm::cl::desc("With --train: the output to minimise"),
                                    llvm::cl::init(""));
llvm::cl::opt<std::string> trainableRe("trainable",
                                       llvm::cl::desc("With --train: regex of trainable parameters"),
                                       llvm::cl::init(""));
llvm::cl::opt<std::string> frozenRe("frozen",
                                    llvm::cl::desc("With --train: regex of frozen parameters"),
                                    llvm::cl::init(""));
llvm::cl::opt<std::string> optimizerSpec(
    "optimizer",
    llvm::cl::desc("With --train: sgd|momentum|adam|adamw[,lr=..,beta1=..,beta2=..,eps=..,"
                   "weight_decay=..,momentum=..,dampening=..,nesterov]"),
    llvm::cl::init(""));

llvm::cl::opt<std::string> lossScaleSpec(
    "loss-scale",
    llvm::cl::desc("With --train: dynamic[,init=..,growth=..,backoff=..,interval=..,min=..,max=..], "
                   "static:<value> or none (default: dynamic with --autocast=fp16, else none)"),
    llvm::cl::init(""));
llvm::cl::opt<bool> masterWeightsFlag(
    "master-weights",
    llvm::cl::desc("With --train: store trainable parameters in low precision (--param-dtype, "
                   "default the autocast dtype) with FP32 master copies the optimizer updates"),
    llvm::cl::init(false));
llvm::cl::opt<std::string> paramDtype(
    "param-dtype", llvm::cl::desc("With --train: stored dtype of trainable parameters: fp32, bf16 "
                                  "or fp16"),
    llvm::cl::init(""));
llvm::cl::opt<double> clipGradNorm(
    "clip-grad-norm",
    llvm::cl::desc("With --train: clip gradients to this global L2 norm (after unscaling)"),
    llvm::cl::init(0));
llvm::cl::opt<int64_t> accumulateSteps(
    "accumulate", llvm::cl::desc("With --train: micro-batches per optimizer step"),
    llvm::cl::init(1));
llvm::cl::list<std::string> paramGroups(
    "param-group",
    llvm::cl::desc("With --train: REGEX:key=value,... hyper-parameters for matching parameters "
                   "(lr_scale, weight_decay, beta1, beta2, eps, momentum, dampening); repeatable"));

bool hasTrainingFlags() {
  return trainFlag || !lossName.empty() || !trainableRe.empty() || !frozenRe.empty() ||
         !optimizerSpec.empty() || !lossScaleSpec.empty() || masterWeightsFlag ||
         !paramDtype.empty() || clipGradNorm.getNumOccurrences() ||
         accumulateSteps.getNumOccurrences() || !paramGroups.empty();
}

bool hasHighLevelFlags() {
  return hasTrainingFlags() || mpc::hasFp8Flags() || !autocastDtype.empty() ||
         !precisionPolicy.empty() ||
         keepIoTypes.getNumOccurrences() ||
         precisionPreset != "default" || !precisionReport.empty();
}
llvm::cl::opt<bool> planStats("plan-stats",
                              llvm::cl::desc("With --emit=plan: print kernel, tensor and "
                                             "arena sizes to stderr"),
                              llvm::cl::init(false));

llvm::cl::opt<bool> noFusion("no-fusion",
                             llvm::cl::desc("With --emit=plan: do not run mpc-fuse-elementwise "
                                            "(one kernel per elementwise op)"),
                             llvm::cl::init(false));

void registerPasses() {
  // Generic cleanups that are useful on mpc IR; mpc's own passes register here
  // as they are added.
  registerCanonicalizerPass();
  registerCSEPass();
  registerSymbolDCEPass();
  mpc::registerMpcPasses();
}

/// With --plan-stats on a training step: the persistent bytes each trainable
/// parameter costs (its stored value, FP32 master, moments, accumulator), as
/// mixed-precision training papers count them.
void printParameterState(ModuleOp module) {
  SymbolTable symbols(module);
  auto bytesOf = [&](StringRef sym) -> int64_t {
    auto g = symbols.lookup<ml_program::GlobalOp>(sym);
    auto type = g ? dyn_cast<RankedTensorType>(g.getType()) : RankedTensorType();
    return type ? type.getNumElements() * int64_t(type.getElementTypeBitWidth() / 8) : 0;
  };
  int64_t elements = 0, bytes = 0;
  llvm::StringMap<int64_t> byRole; // "param", "master", "exp_avg", ...
  module.walk([&](Operation *op) {
    if (!isa<mpc::SgdUpdateOp, mpc::MomentumUpdateOp, mpc::AdamUpdateOp>(op))
      return;
    elements += cast<RankedTensorType>(op->getResult(0).getType()).getNumElements();
    StringRef param;
    for (Value r : op->getResults())
      for (Operation *user : r.getUsers())
        if (auto store = dyn_cast<ml_program::GlobalStoreOp>(user)) {
          StringRef sym = store.getGlobal().getLeafReference();
          if (param.empty() || sym.size() < param.size())
            param = sym;
          bytes += bytesOf(sym);
        }
    for (Value r : op->getResults())
      for (Operation *user : r.getUsers())
        if (auto store = dyn_cast<ml_program::GlobalStoreOp>(user)) {
          StringRef sym = store.getGlobal().getLeafReference();
          StringRef role = sym == param ? "param" : sym.drop_front(param.size() + 1);
          byRole[role] += bytesOf(sym);
        }
    if (int64_t acc = bytesOf((param + ".grad_accum").str())) {
      bytes += acc;
      byRole["grad_accum"] += acc;
    }
  });
  if (elements == 0)
    return;
  llvm::errs() << llvm::format("plan: %lld trainable parameters, %.2f persistent bytes each (",
                               static_cast<long long>(elements), double(bytes) / double(elements));
  llvm::SmallVector<StringRef> roles;
  for (auto &e : byRole)
    roles.push_back(e.getKey());
  llvm::sort(roles);
  for (auto [i, role] : llvm::enumerate(roles))
    llvm::errs() << (i ? " + " : "") << role << " "
                 << llvm::format("%.2f", double(byRole.lookup(role)) / double(elements));
  llvm::errs() << ")\n";
}

int fail(const std::string &message) {
  llvm::errs() << "mpc-opt: error: " << message << "\n";
  return 1;
}

/// Loads the input (ONNX import or MLIR parse), runs the pass pipeline from the
/// command line and writes the requested output.
int runPipeline(const std::string &inputFilename, const std::string &outputFilename,
                DialectRegistry &registry) {
  if (emitKind != "mlir" && emitKind != "plan" && emitKind != "onnx")
    return fail("--emit must be 'mlir', 'onnx' or 'plan', got '" + emitKind + "'");
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module;
  if (mpc::isOnnxPath(inputFilename)) {
    mpc::ImportOptions options;
    options.maxTensorBytes = int64_t(std::min<uint64_t>(memoryCap(), uint64_t(INT64_MAX)));
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
  mpc::PipelineOptions pipeline;
  pipeline.autocast = autocastDtype;
  pipeline.precisionPreset = precisionPreset;
  pipeline.precisionPolicy = precisionPolicy;
  // An autocast plan or training step keeps the model's interface, as PyTorch
  // autocast does; an exported ONNX model takes low-precision inputs unless asked.
  pipeline.keepIoTypes = keepIoTypes.getNumOccurrences()
                             ? bool(keepIoTypes)
                             : (!autocastDtype.empty() && emitKind != "onnx");
  if (emitKind == "onnx") {
    auto opset = (*module)->getAttrOfType<IntegerAttr>("mpc.opset");
    pipeline.onnxOpset = opset ? opset.getInt() : 17;
  }
  std::string pipelineError;
  if (!mpc::buildPipeline(pm, pipeline, context, pipelineError))
    return fail(pipelineError);
  // FP8 GEMMs on the forward graph, after autocast, before training (compiler/Fp8Pipeline.h).
  if (!mpc::buildFp8Pipeline(pm, autocastDtype, pipelineError))
    return fail(pipelineError);
  // Training passes come after autocast: the backward follows the casts.
  mpc::TrainingOptions training{trainFlag, lossName, trainableRe, frozenRe, optimizerSpec};
  training.autocast = autocastDtype;
  training.lossScale = lossScaleSpec;
  training.masterWeights = masterWeightsFlag;
  training.paramDtype = paramDtype;
  training.clipGradNorm = clipGradNorm;
  training.accumulate = accumulateSteps;
  training.paramGroups.assign(paramGroups.begin(), paramGroups.end());
  if (!mpc::buildTrainingPipeline(pm, training, pipelineError))
    return fail(pipelineError);
  mpc::buildFp8ScaleUpdatePipeline(pm); // end-of-step FP8 scaling update, after training
  if (failed(applyPassManagerCLOptions(pm)) || failed(config.setupPassPipeline(pm)))
    return 1;
  // Lowering: elementwise chains become fusion groups, after every precision
  // and training pass (the groups keep each op's type, so values are unchanged).
  if (emitKind == "plan" && !noFusion)
    pm.addPass(mpc::createFuseElementwise());
  mpc::PrecisionSnapshot before = mpc::snapshotPrecision(*module);
  if (failed(pm.run(*module)))
    return 1;
  if (!precisionReport.empty()) {
    std::string error;
    if (!mpc::writePrecisionReport(*module, before, mpc::snapshotPrecision(*module),
                                   precisionReport, error))
      return fail(error);
  }

  if (emitKind == "onnx") {
    if (outputFilename == "-")
      return fail("--emit=onnx writes a binary file: give it with -o model.onnx");
    std::string error;
    if (failed(mpc::exportOnnx(*module, outputFilename, error)))
      return fail(error);
    return 0;
  }

  if (emitKind == "plan") {
    if (outputFilename == "-")
      return fail("--emit=plan writes a binary file: give it with -o model.mpcp");
    std::string error;
    mpc::PlanStats stats;
    if (failed(mpc::emitPlan(*module, outputFilename, error, &stats, memoryCap())))
      return fail(error);
    if (planStats)
      llvm::errs() << "plan: " << stats.kernels << " kernels, " << stats.tensors
                   << " tensors, activation arena " << stats.activationArenaBytes
                   << " bytes, constants " << stats.constantBytes << " bytes\n";
    if (planStats && stats.stateTensors)
      llvm::errs() << "plan: " << stats.stateTensors << " state tensors, " << stats.stateCopies
                   << " copies into state\n";
    if (planStats)
      printParameterState(*module);
    if (planStats) {
      size_t groups = 0, fusedOps = 0;
      module->walk([&](mpc::FusedElementwiseOp op) {
        ++groups;
        fusedOps += op.getBody().front().getOperations().size() - 1; // without the yield
      });
      llvm::errs() << "plan: fused " << fusedOps << " elementwise ops into " << groups
                   << " groups\n";
    }
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
  mpc::registerGradientExternalModels(registry);

  auto [inputFilename, outputFilename] =
      registerAndParseCLIOptions(argc, argv, "mpc compiler driver\n", registry);
  // Plain MLIR to MLIR goes through MlirOptMain (split-input-file,
  // verify-diagnostics, ...); ONNX input and plan output take our own path.
  if (mpc::isOnnxPath(inputFilename) || emitKind != "mlir" || hasHighLevelFlags())
    return runPipeline(inputFilename, outputFilename, registry);
  return asMainReturnCode(MlirOptMain(argc, argv, inputFilename, outputFilename, registry));
}
