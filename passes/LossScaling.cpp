//===- LossScaling.cpp - mpc-loss-scaling ---------------------------------===//
//
// Installs loss scaling in a training step built by mpc-training-step: the
// backward seed is multiplied by the scale state, mpc.unscale_and_check
// divides by it, and the optimizer step (every optimizer op and the
// optimizer.step counter) is skipped on the device when a gradient is not
// finite. The dynamic mode then updates the scale as torch.amp.GradScaler
// does. See Passes.td and docs/training.md.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/autodiff/Autodiff.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"

#include <cmath>

using namespace mlir;

namespace mpc {

#define GEN_PASS_DEF_LOSSSCALING
#include "passes/Passes.h.inc"

namespace {

struct LossScalingPass : impl::LossScalingBase<LossScalingPass> {
  using LossScalingBase::LossScalingBase;

  LogicalResult fail(Operation *at, const Twine &message) {
    at->emitError("mpc-loss-scaling: ") << message;
    return failure();
  }

  LogicalResult checkOptions(ModuleOp module) {
    if (mode != "dynamic" && mode != "static" && mode != "none")
      return fail(module, "mode must be dynamic, static or none, got '" + mode + "'");
    if (!(init > 0) || !std::isfinite(static_cast<float>(init)))
      return fail(module, "init must be a positive number that is finite in f32");
    if (!(growth > 1) || !std::isfinite(growth))
      return fail(module, "growth must be finite and greater than 1");
    if (!(backoff > 0 && backoff < 1))
      return fail(module, "backoff must be in (0, 1)");
    if (interval < 1)
      return fail(module, "interval must be at least 1");
    if (!(minScale >= 0) || !(maxScale >= 0) || std::isinf(minScale) || std::isinf(maxScale))
      return fail(module, "min and max must be finite and non-negative (0: none)");
    if (minScale > 0 && maxScale > 0 && minScale > maxScale)
      return fail(module, "min exceeds max");
    return success();
  }

  LogicalResult run() {
    ModuleOp module = getOperation();
    if (failed(checkOptions(module)))
      return failure();
    if (mode == "none")
      return success();
    auto func = module.lookupSymbol<func::FuncOp>("main");
    if (!func)
      return fail(module, "the module has no function @main");

    ConstantOp seed;
    SmallVector<UnscaleAndCheckOp> checks;
    SmallVector<Operation *> gated; // the optimizer step: skipped on inf/NaN
    AccumulationSkipOp hold;
    func.walk([&](Operation *op) {
      if (auto c = dyn_cast<ConstantOp>(op); c && c->hasAttr(kGradSeedAttr))
        seed = c;
      else if (auto u = dyn_cast<UnscaleAndCheckOp>(op))
        checks.push_back(u);
      else if (isa<SgdUpdateOp, MomentumUpdateOp, AdamUpdateOp>(op))
        gated.push_back(op);
      else if (auto h = dyn_cast<AccumulationSkipOp>(op))
        hold = h;
      else if (auto count = dyn_cast<CountStepOp>(op)) {
        for (Operation *user : count->getUsers())
          if (auto store = dyn_cast<ml_program::GlobalStoreOp>(user);
              store && store.getGlobal().getLeafReference() == "optimizer.step")
            gated.push_back(op);
      }
    });
    if (!seed || checks.size() != 1 || gated.empty())
      return fail(func, "expects a training step from mpc-training-step (one backward seed, one "
                        "mpc.unscale_and_check, the optimizer ops)");
    UnscaleAndCheckOp check = checks.front();

    MLIRContext *ctx = &getContext();
    SymbolTable symbols(module);
    OpBuilder moduleBuilder(func);
    auto f32 = Float32Type::get(ctx);
    auto scalarF32 = RankedTensorType::get({}, f32);
    auto scalarI64 = RankedTensorType::get({}, IntegerType::get(ctx, 64));
    Location loc = NameLoc::get(StringAttr::get(ctx, "loss_scale"));
    auto global = [&](StringRef name, RankedTensorType type,
                      Attribute init) -> FailureOr<ml_program::GlobalOp> {
      if (symbols.lookup(name))
        return fail(module, "the state global '" + name + "' already exists (loss scaling "
                            "applied twice?)");
      auto g = ml_program::GlobalOp::create(moduleBuilder, NameLoc::get(StringAttr::get(ctx, name)),
                                            name, type, /*is_mutable=*/true, init,
                                            moduleBuilder.getStringAttr("private"));
      symbols.insert(g);
      return g;
    };
    auto scaleGlobal = global("loss_scale.scale", scalarF32,
                              DenseElementsAttr::get(scalarF32, static_cast<float>(init)));
    if (failed(scaleGlobal))
      return failure();

    // The scale is read once at the start of the step: the seed, the unscale
    // and the update all see the value this step was run with.
    OpBuilder top(&func.getBody().front(), func.getBody().front().begin());
    Value scale = ml_program::GlobalLoadOp::create(
        top, loc, scalarF32, FlatSymbolRefAttr::get(scaleGlobal->getSymNameAttr()));

    // seed' = seed * scale, in the loss type (mpc.mul broadcasts the scalar).
    OpBuilder b(seed->getBlock(), std::next(seed->getIterator()));
    auto seedType = cast<RankedTensorType>(seed.getType());
    Value factor = scale;
    if (seedType.getElementType() != f32)
      factor = CastOp::create(b, loc, RankedTensorType::get({}, seedType.getElementType()), scale);
    Value scaledSeed = MulOp::create(b, loc, seed.getResult(), factor);
    seed.getResult().replaceAllUsesExcept(scaledSeed, scaledSeed.getDefiningOp());
    check.getScaleMutable().assign(scale);

    // skip = max(hold, found_inf) for the optimizer step.
    b.setInsertionPointAfter(check);
    Value foundInf = check.getFoundInf();
    Value skip = hold ? Value(MaxOp::create(b, loc, hold.getSkip(), foundInf)) : foundInf;
    // mpc-fp8-scale-update (which runs later) holds the FP8 scaling state on
    // the same flag: a skipped step leaves it bit-identical too.
    Operation *skipOp = skip.getDefiningOp();
    if (skipOp->getNumResults() == 1)
      skipOp->setAttr("mpc.skip_step", UnitAttr::get(ctx));
    else
      skipOp->setAttr("mpc.skip_step",
                      IntegerAttr::get(IntegerType::get(ctx, 64),
                                       cast<OpResult>(skip).getResultNumber()));
    for (Operation *op : gated) {
      // The skip operand is the last optional operand of each gated op.
      auto setSkip = [&](auto typed) { typed.getSkipMutable().assign(skip); };
      if (auto o = dyn_cast<SgdUpdateOp>(op))
        setSkip(o);
      else if (auto o = dyn_cast<MomentumUpdateOp>(op))
        setSkip(o);
      else if (auto o = dyn_cast<AdamUpdateOp>(op))
        setSkip(o);
      else
        setSkip(cast<CountStepOp>(op));
    }
    if (mode == "static")
      return success();

    auto trackerGlobal = global("loss_scale.growth_tracker", scalarI64,
                                DenseElementsAttr::get(scalarI64, int64_t(0)));
    if (failed(trackerGlobal))
      return failure();
    OpBuilder end(func.getBody().front().getTerminator());
    Value tracker = ml_program::GlobalLoadOp::create(
        end, loc, scalarI64, FlatSymbolRefAttr::get(trackerGlobal->getSymNameAttr()));
    SmallVector<Value> operands = {scale, tracker, foundInf};
    if (hold)
      operands.push_back(hold.getSkip());
    auto attr = [&](StringRef name, Attribute a) { return NamedAttribute(StringAttr::get(ctx, name), a); };
    auto update = LossScaleUpdateOp::create(
        end, loc, operands,
        ArrayRef<NamedAttribute>{attr("growth_factor", FloatAttr::get(f32, growth)),
                                 attr("backoff_factor", FloatAttr::get(f32, backoff)),
                                 attr("growth_interval", end.getI64IntegerAttr(interval)),
                                 attr("min_scale", FloatAttr::get(f32, minScale)),
                                 attr("max_scale", FloatAttr::get(f32, maxScale))});
    ml_program::GlobalStoreOp::create(end, loc, FlatSymbolRefAttr::get(scaleGlobal->getSymNameAttr()),
                                      update.getNewScale());
    ml_program::GlobalStoreOp::create(end, loc,
                                      FlatSymbolRefAttr::get(trackerGlobal->getSymNameAttr()),
                                      update.getNewTracker());
    return success();
  }

  void runOnOperation() override {
    if (failed(run()))
      signalPassFailure();
  }
};

} // namespace
} // namespace mpc
