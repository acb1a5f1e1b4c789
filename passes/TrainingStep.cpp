//===- TrainingStep.cpp - mpc-training-step -------------------------------===//
//
// Turns @main (forward + loss) into one training step: the trainable
// parameters become mutable globals, their gradients come from the autodiff
// machinery (passes/autodiff), one optimizer op per parameter computes the new
// values and ml_program.global_store writes every new value back. The state is
// named as the checkpoint keys will be (see Passes.td). Between the backward
// pass and the optimizer sit the gradient accumulation, the fused unscale +
// non-finite check + global norm, and clipping; mpc-loss-scaling and
// mpc-master-weights refine that structure afterwards.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/autodiff/Autodiff.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Regex.h"

#include <cmath>

using namespace mlir;

namespace mpc {

#define GEN_PASS_DEF_TRAININGSTEP
#include "passes/Passes.h.inc"

namespace {

bool isParamFloat(Type t) {
  auto r = dyn_cast<RankedTensorType>(t);
  if (!r)
    return false;
  Type e = r.getElementType();
  return e.isF32() || e.isF16() || e.isBF16() || e.isF64();
}

ElementsAttr splatAttr(RankedTensorType type, double v) {
  if (auto ft = dyn_cast<FloatType>(type.getElementType())) {
    APFloat f(v);
    bool lost = false;
    f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, ArrayRef<APFloat>(f)));
  }
  APInt i(type.getElementType().getIntOrFloatBitWidth(), static_cast<int64_t>(v), true);
  return cast<ElementsAttr>(DenseElementsAttr::get(type, ArrayRef<APInt>(i)));
}

/// One `--param-group`: parameters whose names fully match `re` take these
/// hyper-parameters instead of the pass-wide ones.
struct ParamGroup {
  std::string pattern;
  llvm::Regex re;
  llvm::StringMap<double> values;
};

/// Parses `REGEX:key=value,...;REGEX:...`. Returns an error message, empty on
/// success.
std::string parseParamGroups(StringRef text, StringRef optimizer,
                             std::vector<ParamGroup> &groups) {
  SmallVector<StringRef> specs;
  text.split(specs, ';', -1, /*KeepEmpty=*/false);
  for (StringRef spec : specs) {
    auto [pattern, rest] = spec.rsplit(':');
    if (!spec.contains(':') || pattern.empty())
      return "param group '" + spec.str() + "' must be REGEX:key=value,...";
    ParamGroup g{pattern.str(), llvm::Regex("^(" + pattern.str() + ")$"), {}};
    std::string why;
    if (!g.re.isValid(why))
      return "param group regex '" + pattern.str() + "' is not valid: " + why;
    SmallVector<StringRef> items;
    rest.split(items, ',', -1, /*KeepEmpty=*/false);
    for (StringRef item : items) {
      auto [key, value] = item.split('=');
      key = key.trim();
      double v;
      if (!item.contains('=') || value.trim().getAsDouble(v))
        return "param group '" + pattern.str() + "': '" + item.str() + "' is not key=number";
      bool adamKey = key == "beta1" || key == "beta2" || key == "eps";
      bool momentumKey = key == "momentum" || key == "dampening";
      if (!(key == "lr_scale" || key == "weight_decay" || adamKey || momentumKey))
        return "param group '" + pattern.str() + "': unknown key '" + key.str() +
               "' (lr_scale, weight_decay, beta1, beta2, eps, momentum, dampening)";
      if ((adamKey && !optimizer.starts_with("adam")) || (momentumKey && optimizer != "momentum"))
        return "param group '" + pattern.str() + "': '" + key.str() + "' does not apply to " +
               optimizer.str();
      if (key == "lr_scale" && !(v >= 0))
        return "param group '" + pattern.str() + "': lr_scale must be non-negative";
      g.values[key] = v;
    }
    groups.push_back(std::move(g));
  }
  return "";
}

class StepBuilder {
public:
  StepBuilder(ModuleOp module, func::FuncOp func)
      : module(module), func(func), symbols(module), moduleBuilder(func),
        b(func.getBody().front().getTerminator()) {}

  /// A new private mutable global; an existing symbol of that name is an error.
  FailureOr<ml_program::GlobalOp> stateGlobal(StringRef name, RankedTensorType type,
                                              ElementsAttr init) {
    if (symbols.lookup(name)) {
      return module.emitError("mpc-training-step: the state global '")
             << name << "' would collide with an existing symbol of that name";
    }
    auto g = ml_program::GlobalOp::create(moduleBuilder, NameLoc::get(b.getStringAttr(name)),
                                          name, type, /*is_mutable=*/true, init,
                                          moduleBuilder.getStringAttr("private"));
    symbols.insert(g);
    return g;
  }

  /// Loads `g` with ml_program.global_load at the current backward position.
  Value load(ml_program::GlobalOp g) {
    return ml_program::GlobalLoadOp::create(b, g.getLoc(), g.getType(),
                                            FlatSymbolRefAttr::get(g.getSymNameAttr()));
  }

  /// Makes `g` mutable and turns its constant loads into global_loads.
  /// Returns the first load.
  Value makeMutable(ml_program::GlobalOp g) {
    g.setIsMutable(true);
    Value first;
    SmallVector<ml_program::GlobalLoadConstOp> loads;
    func.walk([&](ml_program::GlobalLoadConstOp l) {
      if (l.getGlobal().getLeafReference() == g.getSymName())
        loads.push_back(l);
    });
    for (auto l : loads) {
      OpBuilder lb(l);
      auto nl = ml_program::GlobalLoadOp::create(lb, l.getLoc(), l.getType(), l.getGlobalAttr());
      l.replaceAllUsesWith(nl.getResult());
      l.erase();
      if (!first)
        first = nl;
    }
    return first;
  }

  void store(ml_program::GlobalOp g, Value v, Location loc) {
    ml_program::GlobalStoreOp::create(b, loc, FlatSymbolRefAttr::get(g.getSymNameAttr()), v);
  }


  ModuleOp module;
  func::FuncOp func;
  SymbolTable symbols;
  OpBuilder moduleBuilder;
  OpBuilder b;
};

struct TrainingStepPass : impl::TrainingStepBase<TrainingStepPass> {
  using TrainingStepBase::TrainingStepBase;

  LogicalResult fail(Operation *at, const Twine &message) {
    at->emitError("mpc-training-step: ") << message;
    return failure();
  }

  /// Replaces the backward seed (the constant 1 marked mpc.grad_seed) by
  /// `factor`, rounded to the loss type.
  LogicalResult scaleSeed(func::FuncOp func, double factor) {
    ConstantOp seed;
    func.walk([&](ConstantOp c) {
      if (c->hasAttr(kGradSeedAttr))
        seed = c;
    });
    if (!seed)
      return fail(func, "the backward pass has no seed");
    auto type = cast<RankedTensorType>(seed.getType());
    seed.setValueAttr(splatAttr(type, factor));
    return success();
  }

  /// Appends named results to @main; a name the model already uses is an error.
  LogicalResult appendOutputs(func::FuncOp func,
                              ArrayRef<std::pair<StringRef, Value>> outputs) {
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    unsigned first = func.getNumResults();
    for (unsigned i = 0; i < first; ++i)
      if (auto n = func.getResultAttrOfType<StringAttr>(i, "mpc.name"))
        for (auto [name, v] : outputs)
          if (n.getValue() == name)
            return fail(func, "the model already has an output named '" + name +
                                  "', which the training step reports");
    MLIRContext *ctx = func.getContext();
    for (auto [i, out] : llvm::enumerate(outputs)) {
      auto name = NamedAttribute(StringAttr::get(ctx, "mpc.name"), StringAttr::get(ctx, out.first));
      if (failed(func.insertResult(first + i, out.second.getType(),
                                   DictionaryAttr::get(ctx, {name}))))
        return fail(func, "cannot add the output '" + out.first + "'");
      ret.getOperandsMutable().append(out.second);
    }
    return success();
  }

  LogicalResult run() {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>("main");
    if (!func)
      return fail(module, "the module has no function @main");
    if (!func.getBody().hasOneBlock())
      return fail(func, "@main must have one block");
    if (optimizer != "sgd" && optimizer != "momentum" && optimizer != "adam" &&
        optimizer != "adamw")
      return fail(module, "optimizer must be sgd, momentum, adam or adamw, got '" + optimizer +
                              "'");
    if (nesterov && (optimizer != "momentum" || momentum <= 0 || dampening != 0))
      return fail(module, "nesterov needs optimizer=momentum with a positive momentum and zero "
                          "dampening");
    if (!(lr >= 0))
      return fail(module, "lr must be a non-negative number");
    double wd = weightDecay >= 0 ? weightDecay : (optimizer == "adamw" ? 0.01 : 0.0);

    std::optional<llvm::Regex> trainRe, frozenRe;
    for (auto [opt, name, re] : {std::tuple(&trainable, "trainable", &trainRe),
                                 std::tuple(&frozen, "frozen", &frozenRe)}) {
      if (opt->empty())
        continue;
      re->emplace("^(" + *opt + ")$");
      std::string why;
      if (!(*re)->isValid(why))
        return fail(module, Twine(name) + " '" + *opt + "' is not a valid regex: " + why);
    }

    auto loss = findLoss(func, this->loss);
    if (failed(loss))
      return failure();

    StepBuilder sb(module, func);
    // Batch-norm running statistics are state, not parameters.
    llvm::DenseSet<StringRef> buffers;
    auto statGlobal = [](Value v) -> std::optional<StringRef> {
      if (auto l = v.getDefiningOp<ml_program::GlobalLoadConstOp>())
        return l.getGlobal().getLeafReference();
      return std::nullopt;
    };
    func.walk([&](Operation *op) {
      if (isa<BatchNormOp, BatchNormTrainOp>(op))
        for (unsigned i : {3u, 4u})
          if (auto s = statGlobal(op->getOperand(i)))
            buffers.insert(*s);
    });

    // Candidate parameters, in first-load order.
    llvm::MapVector<StringRef, SmallVector<Value>> candidates;
    func.walk([&](ml_program::GlobalLoadConstOp l) {
      StringRef sym = l.getGlobal().getLeafReference();
      if (!isParamFloat(l.getType()) || buffers.contains(sym))
        return;
      if (trainRe && !trainRe->match(sym))
        return;
      // Without a `trainable` regex, single-element initializers are
      // constants (attention scales, the 0.5 of a Gelu, epsilons): ONNX
      // cannot tell them from parameters, and nobody means to train them.
      if (!trainRe && cast<ShapedType>(l.getType()).getNumElements() == 1)
        return;
      if (frozenRe && frozenRe->match(sym))
        return;
      candidates[sym].push_back(l.getResult());
    });
    if (trainRe && candidates.empty())
      return fail(module, "trainable '" + trainable + "' matches no float parameter");

    SmallVector<Value> wrt;
    for (auto &[sym, loads] : candidates)
      wrt.append(loads);
    auto grads = buildBackward(func, *loss, wrt);
    if (failed(grads))
      return failure();

    // Sum the gradients of the loads of each parameter.
    struct Param {
      ml_program::GlobalOp global;
      Value grad;
    };
    SmallVector<Param> params;
    size_t k = 0;
    for (auto &[sym, loads] : candidates) {
      Value sum;
      for (size_t i = 0; i < loads.size(); ++i, ++k) {
        Value g = (*grads)[k];
        if (g)
          sum = sum ? Value(AddOp::create(sb.b, g.getLoc(), sum, g)) : g;
      }
      auto global = sb.symbols.lookup<ml_program::GlobalOp>(sym);
      if (sum)
        params.push_back({global, sum});
      else if (trainRe)
        global.emitWarning("mpc-training-step: parameter '")
            << sym << "' matches trainable but the loss does not depend on it; it stays constant";
    }
    if (params.empty())
      return fail(func, "the loss depends on no trainable parameter");

    MLIRContext *ctx = &getContext();
    auto f32 = Float32Type::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto scalarF32 = RankedTensorType::get({}, f32);
    auto scalarI64 = RankedTensorType::get({}, i64);
    Location optLoc = NameLoc::get(StringAttr::get(ctx, "optimizer"));

    if (accumulate < 1)
      return fail(module, "accumulate must be at least 1, got " + std::to_string(accumulate));
    if (!(clipGradNorm >= 0) || std::isinf(clipGradNorm))
      return fail(module, "clip-grad-norm must be a finite non-negative number (0: off)");
    std::vector<ParamGroup> groups;
    if (std::string error = parseParamGroups(paramGroups, optimizer, groups); !error.empty())
      return fail(module, error);
    for (ParamGroup &g : groups)
      if (llvm::none_of(params, [&](Param &p) { return g.re.match(p.global.getSymName()); }))
        return fail(module, "param group '" + g.pattern + "' matches no trainable parameter");

    auto lrGlobal = sb.stateGlobal("optimizer.lr", scalarF32, splatAttr(scalarF32, lr));
    auto stepGlobal = sb.stateGlobal("optimizer.step", scalarI64, splatAttr(scalarI64, 0));
    if (failed(lrGlobal) || failed(stepGlobal))
      return failure();
    Value lrValue = sb.load(*lrGlobal);
    Value stepValue = sb.load(*stepGlobal);

    // Gradient accumulation: each run is one micro-batch; the gradients sum
    // into `<param>.grad_accum` and the step is held (skip = 1) until the
    // last micro-batch of each group. The seed becomes 1/K, so the update
    // sees the mean gradient (PyTorch's `loss / K` before backward).
    Value hold;
    if (accumulate > 1) {
      Location accLoc = NameLoc::get(StringAttr::get(ctx, "accumulate"));
      auto microGlobal =
          sb.stateGlobal("accumulate.micro_step", scalarI64, splatAttr(scalarI64, 0));
      if (failed(microGlobal))
        return failure();
      Value micro = sb.load(*microGlobal);
      auto steps = NamedAttribute(StringAttr::get(ctx, "steps"),
                                  IntegerAttr::get(i64, accumulate));
      for (Param &p : params) {
        auto type = cast<RankedTensorType>(p.grad.getType());
        auto accType = RankedTensorType::get(
            type.getShape(), type.getElementType().isF64() ? Type(Float64Type::get(ctx)) : f32);
        auto acc = sb.stateGlobal((p.global.getSymName() + ".grad_accum").str(), accType,
                                  splatAttr(accType, 0));
        if (failed(acc))
          return failure();
        p.grad = AccumulateGradOp::create(sb.b, p.grad.getLoc(),
                                          ValueRange{sb.load(*acc), p.grad, micro},
                                          ArrayRef<NamedAttribute>{steps});
        sb.store(*acc, p.grad, p.grad.getLoc());
      }
      hold = AccumulationSkipOp::create(sb.b, accLoc, ValueRange{micro},
                                        ArrayRef<NamedAttribute>{steps});
      sb.store(*microGlobal, CountStepOp::create(sb.b, accLoc, ValueRange{micro}), accLoc);
      if (failed(scaleSeed(func, 1.0 / static_cast<double>(accumulate))))
        return failure();
    }

    // One fused pass over all gradients: unscale (by 1 until mpc-loss-scaling
    // installs a scale), the inf/NaN check and the global norm; then clipping.
    std::string names;
    SmallVector<Value> rawGrads;
    for (Param &p : params) {
      names += (names.empty() ? "" : "\n") + p.global.getSymName().str();
      rawGrads.push_back(p.grad);
    }
    Location checkLoc = NameLoc::get(StringAttr::get(ctx, "unscale_and_check"));
    Value one = ConstantOp::create(sb.b, checkLoc, scalarF32, splatAttr(scalarF32, 1));
    SmallVector<Value> checkOperands(rawGrads);
    checkOperands.push_back(one);
    auto check = UnscaleAndCheckOp::create(
        sb.b, checkLoc, checkOperands,
        ArrayRef<NamedAttribute>{
            NamedAttribute(StringAttr::get(ctx, "names"), StringAttr::get(ctx, names))});
    SmallVector<Value> finalGrads(check.getUnscaled());
    if (clipGradNorm > 0) {
      SmallVector<Value> clipOperands(finalGrads);
      clipOperands.push_back(check.getGradNorm());
      auto clip = ClipGradNormOp::create(
          sb.b, NameLoc::get(StringAttr::get(ctx, "clip_grad_norm")), clipOperands,
          ArrayRef<NamedAttribute>{NamedAttribute(StringAttr::get(ctx, "max_norm"),
                                                  FloatAttr::get(f32, clipGradNorm))});
      finalGrads.assign(clip.getClipped().begin(), clip.getClipped().end());
    }

    auto f32Attr = [&](StringRef n, double v) {
      return NamedAttribute(StringAttr::get(ctx, n), FloatAttr::get(f32, v));
    };
    for (auto [p, grad] : llvm::zip_equal(params, finalGrads)) {
      StringRef name = p.global.getSymName();
      // The first matching group overrides the pass-wide hyper-parameters.
      const ParamGroup *group = nullptr;
      for (const ParamGroup &g : groups)
        if (!group && g.re.match(name))
          group = &g;
      auto hp = [&](StringRef key, double dflt) {
        return group && group->values.count(key) ? group->values.lookup(key) : dflt;
      };
      auto type = cast<RankedTensorType>(p.global.getType());
      Location loc = NameLoc::get(StringAttr::get(ctx, name + "/" + optimizer));
      Value param = sb.makeMutable(p.global);
      auto momentType = RankedTensorType::get(
          type.getShape(), type.getElementType().isF64() ? Type(FloatType(Float64Type::get(ctx)))
                                                         : Type(f32));
      auto moment = [&](StringRef suffix) -> FailureOr<ml_program::GlobalOp> {
        return sb.stateGlobal((name + suffix).str(), momentType, splatAttr(momentType, 0));
      };
      SmallVector<NamedAttribute> attrs = {f32Attr("weight_decay", hp("weight_decay", wd))};
      if (double scale = hp("lr_scale", 1.0); scale != 1.0)
        attrs.push_back(f32Attr("lr_scale", scale));
      auto withHold = [&](SmallVector<Value> operands) {
        if (hold)
          operands.push_back(hold);
        return operands;
      };
      if (optimizer == "sgd") {
        auto op = SgdUpdateOp::create(sb.b, loc, withHold({param, grad, lrValue}), attrs);
        sb.store(p.global, op.getNewParam(), loc);
      } else if (optimizer == "momentum") {
        auto buf = moment(".momentum_buffer");
        if (failed(buf))
          return failure();
        attrs.append({f32Attr("momentum", hp("momentum", momentum)),
                      f32Attr("dampening", hp("dampening", dampening)),
                      NamedAttribute(StringAttr::get(ctx, "nesterov"), BoolAttr::get(ctx, nesterov))});
        auto op = MomentumUpdateOp::create(
            sb.b, loc, withHold({param, grad, sb.load(*buf), stepValue, lrValue}), attrs);
        sb.store(p.global, op.getNewParam(), loc);
        sb.store(*buf, op.getNewBuf(), loc);
      } else {
        auto m = moment(".exp_avg"), v = moment(".exp_avg_sq");
        if (failed(m) || failed(v))
          return failure();
        attrs.append({f32Attr("beta1", hp("beta1", beta1)), f32Attr("beta2", hp("beta2", beta2)),
                      f32Attr("epsilon", hp("eps", eps)),
                      NamedAttribute(StringAttr::get(ctx, "decoupled"),
                                     BoolAttr::get(ctx, optimizer == "adamw"))});
        auto op = AdamUpdateOp::create(
            sb.b, loc, withHold({param, grad, sb.load(*m), sb.load(*v), stepValue, lrValue}),
            attrs);
        sb.store(p.global, op.getNewParam(), loc);
        sb.store(*m, op.getNewM(), loc);
        sb.store(*v, op.getNewV(), loc);
      }
    }
    sb.store(*stepGlobal,
             CountStepOp::create(sb.b, optLoc, hold ? ValueRange{stepValue, hold}
                                                    : ValueRange{stepValue}),
             optLoc);

    // Per-step telemetry as graph outputs (docs/training.md).
    if (failed(appendOutputs(func, {{"grad_norm", check.getGradNorm()},
                                    {"found_inf", check.getFoundInf()},
                                    {"nonfinite_index", check.getNonfiniteIndex()}})))
      return failure();

    // Running statistics of batch_norm_train go back to their globals.
    llvm::DenseSet<StringRef> stored;
    SmallVector<BatchNormTrainOp> bns;
    func.walk([&](BatchNormTrainOp op) { bns.push_back(op); });
    for (BatchNormTrainOp bn : bns) {
      for (auto [operand, result] : {std::pair(3u, 1u), std::pair(4u, 2u)}) {
        auto sym = statGlobal(bn->getOperand(operand));
        if (!sym)
          continue;
        if (!stored.insert(*sym).second)
          return fail(bn, "running statistic '" + *sym +
                              "' is updated by more than one batch_norm_train");
        auto g = sb.symbols.lookup<ml_program::GlobalOp>(*sym);
        sb.makeMutable(g);
        sb.store(g, bn->getResult(result), bn.getLoc());
      }
    }

    // Dropout draws a fresh mask each step: the step counter is its offset.
    SmallVector<DropoutOp> dropouts;
    func.walk([&](DropoutOp op) {
      if (!op.getOffset())
        dropouts.push_back(op);
    });
    if (!dropouts.empty()) {
      auto offsetGlobal = sb.stateGlobal("dropout.offset", scalarI64, splatAttr(scalarI64, 0));
      if (failed(offsetGlobal))
        return failure();
      OpBuilder top(&func.getBody().front(), func.getBody().front().begin());
      Value offset = ml_program::GlobalLoadOp::create(
          top, offsetGlobal->getLoc(), scalarI64,
          FlatSymbolRefAttr::get(offsetGlobal->getSymNameAttr()));
      for (DropoutOp d : dropouts)
        d.getOffsetMutable().assign(offset);
      Location loc = NameLoc::get(StringAttr::get(ctx, "dropout.offset"));
      sb.store(*offsetGlobal, CountStepOp::create(sb.b, loc, ValueRange{offset}), loc);
    }
    return success();
  }

  void runOnOperation() override {
    if (failed(run()))
      signalPassFailure();
  }
};

} // namespace
} // namespace mpc
