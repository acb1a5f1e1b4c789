//===- Autodiff.cpp - mpc-autodiff ----------------------------------------===//
//
// Appends the gradients of @main's loss with respect to its float parameters
// as outputs `<param>.grad`. The machinery (buildBackward and the gradient
// rules) lives in passes/autodiff/ and is shared with mpc-training-step.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/autodiff/Autodiff.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/Regex.h"

using namespace mlir;

namespace mpc {

#define GEN_PASS_DEF_AUTODIFF
#include "passes/Passes.h.inc"

namespace {

struct AutodiffPass : impl::AutodiffBase<AutodiffPass> {
  using AutodiffBase::AutodiffBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>("main");
    if (!func) {
      module.emitError("mpc-autodiff: the module has no function @main");
      return signalPassFailure();
    }
    llvm::Regex re("^(" + wrt + ")$");
    std::string reError;
    if (!wrt.empty() && !re.isValid(reError)) {
      module.emitError("mpc-autodiff: wrt '") << wrt << "' is not a valid regex: " << reError;
      return signalPassFailure();
    }
    auto lossOr = findLoss(func, loss);
    if (failed(lossOr))
      return signalPassFailure();

    // Parameters in first-load order; a global loaded several times sums the
    // gradients of its loads.
    SmallVector<StringRef> names;
    llvm::StringMap<SmallVector<Value>> loads;
    func.walk([&](Operation *op) {
      StringRef sym;
      if (auto l = dyn_cast<ml_program::GlobalLoadConstOp>(op))
        sym = l.getGlobal().getLeafReference();
      else if (auto l = dyn_cast<ml_program::GlobalLoadOp>(op))
        sym = l.getGlobal().getLeafReference();
      else
        return;
      Value v = op->getResult(0);
      if (!isDifferentiableType(v.getType()) || (!wrt.empty() && !re.match(sym)))
        return;
      if (!loads.count(sym))
        names.push_back(sym);
      loads[sym].push_back(v);
    });
    SmallVector<Value> wrtValues;
    for (StringRef n : names)
      wrtValues.append(loads[n]);
    auto grads = buildBackward(func, *lossOr, wrtValues);
    if (failed(grads))
      return signalPassFailure();

    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    OpBuilder b(ret);
    SmallVector<Value> results(ret.getOperands());
    SmallVector<std::string> resultNames;
    size_t k = 0;
    for (StringRef n : names) {
      Value sum;
      for (size_t i = 0; i < loads[n].size(); ++i, ++k) {
        Value g = (*grads)[k];
        if (!g)
          continue;
        sum = sum ? Value(AddOp::create(b, g.getLoc(), sum, g)) : g;
      }
      if (!sum)
        continue;
      results.push_back(sum);
      resultNames.push_back((n + ".grad").str());
    }
    unsigned first = ret.getNumOperands();
    for (auto [i, n] : llvm::enumerate(resultNames)) {
      Value g = results[first + i];
      auto attrs = b.getDictionaryAttr(b.getNamedAttr("mpc.name", b.getStringAttr(n)));
      if (failed(func.insertResult(first + i, g.getType(), attrs)))
        return signalPassFailure();
    }
    ret->setOperands(results);
  }
};

} // namespace
} // namespace mpc
