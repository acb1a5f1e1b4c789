//===- Fp8ScaleUpdate.cpp - mpc-fp8-scale-update --------------------------===//
//
// The end of an FP8 delayed-scaling step: one mpc.fp8_scale_update over every
// FP8 operand the step quantized (forward input and weight, backward
// grad_output), then ml_program.global_store of the new histories, scales and
// scale_invs. Runs after mpc-training-step (compiler/Fp8Pipeline.cpp), so the
// operands of the backward exist and the update reads no value a later op of
// the step still needs from the old state.
//
// The amax a quantize "records into history slot 0" is passed to the update
// as an operand, and the update writes it into slot 0 before reducing and
// rolling: the stored history only ever changes inside the update, which is
// what makes the skip rule exact (a skipped step leaves every bit of the
// state as it was; the next step's quantize produces a fresh slot-0 record).
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

namespace mpc {

#define GEN_PASS_DEF_FP8SCALEUPDATE
#include "passes/Passes.h.inc"

namespace {

/// Operands per fp8_scale_update (runtime/core/fp8_scaling.h,
/// kMaxFp8UpdateOperands): a step with more gets several updates.
constexpr size_t kMaxOperandsPerUpdate = 256;

struct Fp8ScaleUpdatePass : impl::Fp8ScaleUpdateBase<Fp8ScaleUpdatePass> {
  using Fp8ScaleUpdateBase::Fp8ScaleUpdateBase;

  LogicalResult run() {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>("main");
    if (!func || func.isExternal() || !func.getBody().hasOneBlock())
      return success();
    bool already = false;
    func.walk([&](Fp8ScaleUpdateOp) { already = true; });
    if (already)
      return success();
    std::string algo = "max";
    int64_t margin = 0;
    if (auto cfg = module->getAttrOfType<DictionaryAttr>("mpc.fp8")) {
      if (auto a = cfg.getAs<StringAttr>("amax_algo"))
        algo = a.str();
      if (auto m = cfg.getAs<IntegerAttr>("margin"))
        margin = m.getInt();
    }

    struct Operand {
      Fp8QuantizeOp quant;
      std::string name;
    };
    SmallVector<Operand> operands;
    llvm::StringSet<> seen;
    Value skip;
    WalkResult walk = func.walk([&](Operation *op) -> WalkResult {
      if (Attribute mark = op->getAttr("mpc.skip_step")) {
        // A unit attribute marks the only result; an integer one the result
        // of that index (e.g. the found_inf result of a multi-result op).
        int64_t index = 0;
        if (auto i = dyn_cast<IntegerAttr>(mark))
          index = i.getInt();
        else if (op->getNumResults() != 1)
          index = -1;
        auto t = index >= 0 && index < static_cast<int64_t>(op->getNumResults())
                     ? dyn_cast<RankedTensorType>(op->getResult(index).getType())
                     : RankedTensorType();
        if (!t || t.getRank() != 0 || !t.getElementType().isF32()) {
          op->emitError("mpc-fp8-scale-update: mpc.skip_step must mark an f32 scalar result (the "
                        "skip flag): a unit attribute on a one-result op, or the result index");
          return WalkResult::interrupt();
        }
        if (skip) {
          op->emitError("mpc-fp8-scale-update: more than one op is marked mpc.skip_step");
          return WalkResult::interrupt();
        }
        skip = op->getResult(index);
      }
      auto q = dyn_cast<Fp8QuantizeOp>(op);
      if (!q)
        return WalkResult::advance();
      auto name = q->getAttrOfType<StringAttr>("mpc.fp8_operand");
      if (!name)
        return WalkResult::advance();
      if (!seen.insert(name.getValue()).second) {
        q.emitError("mpc-fp8-scale-update: FP8 operand '")
            << name.getValue()
            << "' is quantized more than once in one step (its amax history has one slot 0)";
        return WalkResult::interrupt();
      }
      operands.push_back({q, name.str()});
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    if (operands.empty())
      return success();

    MLIRContext *ctx = &getContext();
    SymbolTable symbols(module);
    OpBuilder b(func.getBody().front().getTerminator());
    Location loc = NameLoc::get(StringAttr::get(ctx, "fp8.scale_update"));
    for (size_t begin = 0; begin < operands.size(); begin += kMaxOperandsPerUpdate) {
      size_t end = std::min(operands.size(), begin + kMaxOperandsPerUpdate);
      SmallVector<Value> ins;
      SmallVector<Type> outs;
      SmallVector<int64_t> formats;
      SmallVector<ml_program::GlobalOp> stores;
      for (size_t i = begin; i < end; ++i) {
        Operand &o = operands[i];
        ins.push_back(o.quant.getAmax());
        for (StringRef suffix : {".amax_history", ".scale", ".scale_inv"}) {
          auto g = symbols.lookup<ml_program::GlobalOp>(o.name + suffix.str());
          auto t = g ? dyn_cast<RankedTensorType>(g.getType()) : RankedTensorType();
          if (!t || !t.getElementType().isF32())
            return o.quant.emitError("mpc-fp8-scale-update: FP8 operand '")
                   << o.name << "' has no f32 state global '" << o.name << suffix << "'";
          g.setIsMutable(true);
          ins.push_back(ml_program::GlobalLoadOp::create(
              b, loc, t, FlatSymbolRefAttr::get(g.getSymNameAttr())));
          outs.push_back(t);
          stores.push_back(g);
        }
        formats.push_back(
            isa<Float8E5M2Type>(o.quant.getQ().getType().getElementType()) ? 6 : 5);
      }
      if (skip)
        ins.push_back(skip);
      auto update = Fp8ScaleUpdateOp::create(
          b, loc, outs, ins,
          {b.getNamedAttr("formats", b.getDenseI64ArrayAttr(formats)),
           b.getNamedAttr("amax_algo", b.getStringAttr(algo)),
           b.getNamedAttr("margin", b.getI64IntegerAttr(margin))});
      for (auto [g, v] : llvm::zip(stores, update.getResults()))
        ml_program::GlobalStoreOp::create(b, loc, FlatSymbolRefAttr::get(g.getSymNameAttr()), v);
    }
    // The FP8 backward casts f32 gradients back to the forward dtype:
    // fold the exact round trips it leaves.
    canonicalizeCasts(func);
    return success();
  }

  void runOnOperation() override {
    if (failed(run()))
      signalPassFailure();
  }
};

} // namespace
} // namespace mpc
