//===- Autocast.cpp - mpc-autocast ----------------------------------------===//
//
// Decides the compute precision of every op of the forward graph from the
// precision interface, the preset and the user policy, and inserts mpc.cast on
// op inputs. See Passes.td for the contract and docs/precision-policy.md for the
// policy file.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/PrecisionPolicy.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/DenseMap.h"

using namespace mlir;

namespace mpc {

#define GEN_PASS_DEF_AUTOCAST
#include "passes/Passes.h.inc"

namespace {

bool isAutocastFloat(Type t) {
  Type e = getElementTypeOrSelf(t);
  return e.isF32() || e.isF16() || e.isBF16();
}

Type withElement(Type t, Type elem) {
  if (auto ranked = dyn_cast<RankedTensorType>(t))
    return RankedTensorType::get(ranked.getShape(), elem);
  return elem;
}

/// The ONNX node name an op or value carries in its location.
std::string nameOf(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string n = nameOf(inner); !n.empty())
        return n;
  return "";
}

std::string dtypeName(Type elem) {
  if (elem.isBF16())
    return "bf16";
  if (elem.isF16())
    return "fp16";
  if (elem.isF32())
    return "fp32";
  std::string s;
  llvm::raw_string_ostream os(s);
  os << elem;
  return s;
}

/// f32 wins; equal types stay; bf16 with f16 gives f32.
Type widest(ArrayRef<Type> elems, Type f32) {
  Type out;
  for (Type e : elems) {
    if (!out)
      out = e;
    else if (out != e)
      return f32;
  }
  return out;
}

/// A single-element constant (a scalar literal): as in PyTorch's type
/// promotion, it does not widen a PROMOTE op that has tensor inputs.
bool isScalarConstant(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || type.getNumElements() != 1)
    return false;
  Operation *def = v.getDefiningOp();
  return def && (def->hasTrait<OpTrait::ConstantLike>() || isa<ml_program::GlobalLoadConstOp>(def));
}

class FuncAutocast {
public:
  FuncAutocast(func::FuncOp func, const PrecisionPolicy &policy, Type low)
      : func(func), ctx(func.getContext()), policy(policy), low(low), f32(Float32Type::get(ctx)) {}

  LogicalResult run();

private:
  Value castTo(Value v, Type elem, Operation *consumer);
  void restoreOperands(Operation *op);
  void record(Operation *op, Type dtype, StringRef rule);
  LogicalResult processOp(Operation *op);
  LogicalResult reinferResults(Operation *op, Type compute);
  void retypeArguments();

  func::FuncOp func;
  MLIRContext *ctx;
  const PrecisionPolicy &policy;
  Type low, f32;
  DenseMap<Value, Type> original;
  DenseMap<std::pair<Value, Type>, Value> casts;
};

Value FuncAutocast::castTo(Value v, Type elem, Operation *consumer) {
  Type current = getElementTypeOrSelf(v.getType());
  if (current == elem)
    return v;
  auto key = std::make_pair(v, elem);
  if (auto it = casts.find(key); it != casts.end())
    return it->second;
  // Undo an exact widening instead of stacking a second cast on it.
  if (auto c = v.getDefiningOp<CastOp>()) {
    Value source = c.getX();
    if (getElementTypeOrSelf(source.getType()) == elem &&
        isExactFloatConversion(source.getType(), v.getType()))
      return casts[key] = source;
  }
  Type type = withElement(v.getType(), elem);
  Operation *def = v.getDefiningOp();
  // Reuse a compiler cast of a previous run (idempotence).
  for (Operation *user : v.getUsers()) {
    auto c = dyn_cast<CastOp>(user);
    if (!c || c.getUser() || c.getType() != type || !c.getSaturate())
      continue;
    if (c->getBlock() != consumer->getBlock() || !c->isBeforeInBlock(consumer)) {
      if (def)
        c->moveAfter(def);
      else
        c->moveBefore(&cast<BlockArgument>(v).getOwner()->front());
    }
    return casts[key] = c.getY();
  }
  OpBuilder b(ctx);
  std::string producer;
  if (def) {
    b.setInsertionPointAfter(def);
    producer = nameOf(def->getLoc());
    if (auto load = dyn_cast<ml_program::GlobalLoadConstOp>(def))
      producer = load.getGlobal().getLeafReference().str();
    if (def->getNumResults() > 1)
      producer += ":" + std::to_string(cast<OpResult>(v).getResultNumber());
  } else {
    auto arg = cast<BlockArgument>(v);
    b.setInsertionPointToStart(arg.getOwner());
    if (auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "mpc.name"))
      producer = name.str();
    else
      producer = "arg" + std::to_string(arg.getArgNumber());
  }
  Location loc = NameLoc::get(StringAttr::get(ctx, producer + "/cast_" + dtypeName(elem)));
  auto c = CastOp::create(b, loc, type, v);
  return casts[key] = c.getY();
}

void FuncAutocast::restoreOperands(Operation *op) {
  for (OpOperand &operand : op->getOpOperands()) {
    Value v = operand.get();
    // Casts this run created for one consumer's dtype have no original
    // type: they already carry the type they were made for.
    Type origType = original.lookup(v);
    if (!origType)
      continue;
    Type orig = getElementTypeOrSelf(origType);
    if (!isAutocastFloat(v.getType()) || !isAutocastFloat(orig))
      continue;
    if (getElementTypeOrSelf(v.getType()) != orig)
      operand.set(castTo(v, orig, op));
  }
}

void FuncAutocast::record(Operation *op, Type dtype, StringRef rule) {
  if (!isa<MpcDialect>(op->getDialect()))
    return;
  SmallVector<NamedAttribute> fields;
  if (dtype)
    fields.push_back(NamedAttribute(StringAttr::get(ctx, "dtype"), TypeAttr::get(dtype)));
  fields.push_back(NamedAttribute(StringAttr::get(ctx, "rule"), StringAttr::get(ctx, rule)));
  op->setAttr("mpc.precision", DictionaryAttr::get(ctx, fields));
}

LogicalResult FuncAutocast::reinferResults(Operation *op, Type compute) {
  if (auto infer = dyn_cast<InferTypeOpInterface>(op)) {
    SmallVector<Type> types;
    // Inferred silently: the one error below says what autocast did.
    if (failed(infer.inferReturnTypes(ctx, std::nullopt, op->getOperands(),
                                      op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
                                      op->getRegions(), types))) {
      std::string operandTypes;
      llvm::raw_string_ostream os(operandTypes);
      llvm::interleaveComma(op->getOperandTypes(), os);
      return emitError(op->getLoc(), "mpc-autocast: node '")
             << nameOf(op->getLoc()) << "' (" << op->getName()
             << ") does not accept the operand types the precision policy gives it: ("
             << operandTypes << ")";
    }
    for (auto [result, type] : llvm::zip(op->getResults(), types))
      result.setType(type);
    return success();
  }
  // Ops whose result type is their specification (reshape, expand) keep
  // their shape and take the compute dtype.
  for (Value result : op->getResults())
    if (isAutocastFloat(result.getType()))
      result.setType(withElement(result.getType(), compute));
  return success();
}

LogicalResult FuncAutocast::processOp(Operation *op) {
  auto castOp = dyn_cast<CastOp>(op);
  if (castOp && !castOp.getUser())
    return success(); // a compiler cast (of this pass or of the importer)
  Type firstResult =
      op->getNumResults() ? getElementTypeOrSelf(op->getResult(0).getType()) : Type();
  auto iface = dyn_cast<PrecisionOpInterface>(op);
  if (!iface) {
    restoreOperands(op);
    record(op, firstResult, castOp ? "untouched:user-cast" : "untouched:op");
    return success();
  }
  auto hasF64 = [](TypeRange types) {
    return llvm::any_of(types, [](Type t) { return getElementTypeOrSelf(t).isF64(); });
  };
  if (hasF64(op->getOperandTypes()) || hasF64(op->getResultTypes())) {
    restoreOperands(op);
    record(op, Float64Type::get(ctx), "untouched:f64");
    return success();
  }
  if (!llvm::any_of(op->getOperandTypes(), isAutocastFloat)) {
    record(op, firstResult, "untouched:integer");
    return success();
  }
  std::string node = nameOf(op->getLoc());
  StringRef opName = op->getName().stripDialect();
  PrecisionDecision decision =
      policy.classify(opName, node, iface.getPrecisionClass(), iface.isFp32Strict());
  if (decision.cls == PrecisionClass::Untouched) {
    restoreOperands(op);
    Type origResult =
        op->getNumResults() ? getElementTypeOrSelf(original.lookup(op->getResult(0))) : Type();
    record(op, origResult, decision.rule);
    return success();
  }

  // The compute dtype.
  SmallVector<Type> computeTypes, tensorComputeTypes;
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    if (!isAutocastFloat(v.getType()) ||
        iface.getOperandPrecision(i) != OperandPrecision::Compute ||
        policy.inputOverride(opName, node, i))
      continue;
    computeTypes.push_back(getElementTypeOrSelf(v.getType()));
    if (!isScalarConstant(v))
      tensorComputeTypes.push_back(computeTypes.back());
  }
  Type compute;
  switch (decision.cls) {
  case PrecisionClass::Lower:
    compute = low;
    break;
  case PrecisionClass::Fp32:
    compute = f32;
    break;
  default: // Promote and Pass: the widest (tensor) input
    compute = widest(tensorComputeTypes.empty() ? computeTypes : tensorComputeTypes, f32);
    if (!compute)
      compute = f32;
    break;
  }

  // A target that cannot run this op in the low dtype (an ONNX opset without
  // the type) keeps it as it was.
  if (compute != f32 && policy.targetSupports && !policy.targetSupports(opName, compute)) {
    restoreOperands(op); // its results were never retyped
    record(op, getElementTypeOrSelf(original.lookup(op->getResult(0))),
           policy.targetName + ":UNTOUCHED");
    return success();
  }

  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    if (!isAutocastFloat(v.getType()))
      continue;
    Type want = compute;
    if (auto over = policy.inputOverride(opName, node, i)) {
      if (*over == InputPrecision::Keep)
        continue;
      want = *over == InputPrecision::Fp32 ? f32 : low;
    } else {
      switch (iface.getOperandPrecision(i)) {
      case OperandPrecision::Compute:
        break;
      case OperandPrecision::Fp32:
        want = f32;
        break;
      case OperandPrecision::Keep:
        continue;
      }
    }
    if (getElementTypeOrSelf(v.getType()) != want)
      op->setOperand(i, castTo(v, want, op));
  }
  if (failed(reinferResults(op, compute)))
    return failure();

  // Conservative: LOWER results return to FP32 at once.
  if (policy.preset == PrecisionPreset::Conservative && decision.cls == PrecisionClass::Lower) {
    for (Value result : op->getResults()) {
      if (!isAutocastFloat(result.getType()) || getElementTypeOrSelf(result.getType()) == f32)
        continue;
      Value back = castTo(result, f32, op);
      result.replaceAllUsesExcept(back, back.getDefiningOp());
      // `back` stands in for `result` at its users: untouched users get
      // `result`'s original type back from it.
      original.try_emplace(back, original.lookup(result));
    }
  }
  record(op, compute, decision.rule);
  return success();
}

void FuncAutocast::retypeArguments() {
  for (BlockArgument arg : func.getArguments()) {
    if (!getElementTypeOrSelf(arg.getType()).isF32() || arg.use_empty())
      continue;
    Type target;
    bool allCasts = llvm::all_of(arg.getUsers(), [&](Operation *user) {
      auto c = dyn_cast<CastOp>(user);
      if (!c || c.getUser() || getElementTypeOrSelf(c.getType()) != low)
        return false;
      target = c.getType();
      return true;
    });
    if (!allCasts)
      continue;
    arg.setType(target);
    for (Operation *user : llvm::make_early_inc_range(arg.getUsers())) {
      user->getResult(0).replaceAllUsesWith(arg);
      user->erase();
    }
  }
}

LogicalResult FuncAutocast::run() {
  if (func.isExternal())
    return success();
  func.walk([&](Operation *op) {
    for (Value r : op->getResults())
      original[r] = r.getType();
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument a : block.getArguments())
          original[a] = a.getType();
  });
  SmallVector<Type> originalResults(func.getResultTypes());
  SmallVector<Operation *> ops;
  func.walk<WalkOrder::PreOrder>([&](Operation *op) {
    if (op != func.getOperation())
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    if (isa<func::ReturnOp>(op)) {
      if (!policy.keepIoTypes)
        continue;
      for (auto [i, v] : llvm::enumerate(op->getOperands())) {
        Type want = getElementTypeOrSelf(originalResults[i]);
        if (isAutocastFloat(v.getType()) && isAutocastFloat(want) &&
            getElementTypeOrSelf(v.getType()) != want)
          op->setOperand(i, castTo(v, want, op));
      }
      continue;
    }
    if (failed(processOp(op)))
      return failure();
  }
  if (!policy.keepIoTypes)
    retypeArguments();
  canonicalizeCasts(func);
  Block &entry = func.getBody().front();
  func.setType(
      FunctionType::get(ctx, entry.getArgumentTypes(), entry.getTerminator()->getOperandTypes()));
  return success();
}

struct AutocastPass : impl::AutocastBase<AutocastPass> {
  using AutocastBase::AutocastBase;
  AutocastPass(const AutocastOptions &options, std::string targetName,
               std::function<bool(StringRef, Type)> supports)
      : AutocastBase(options), targetName(std::move(targetName)),
        targetSupports(std::move(supports)) {}

  std::string targetName;
  std::function<bool(StringRef, Type)> targetSupports;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Type low;
    if (dtype == "bf16")
      low = BFloat16Type::get(ctx);
    else if (dtype == "fp16" || dtype == "f16")
      low = Float16Type::get(ctx);
    else {
      emitError(module.getLoc(), "mpc-autocast: dtype must be bf16 or fp16, got '") << dtype << "'";
      return signalPassFailure();
    }
    auto presetValue = parsePrecisionPreset(preset);
    if (!presetValue) {
      emitError(module.getLoc(),
                "mpc-autocast: preset must be conservative, default or aggressive, got '")
          << preset << "'";
      return signalPassFailure();
    }
    PrecisionPolicy rules;
    std::string error;
    if (!policy.empty() && !rules.loadFile(policy, *ctx, error)) {
      // A plain location: the error is one line, without the module dump.
      emitError(module.getLoc(), "mpc-autocast: ") << error;
      return signalPassFailure();
    }
    rules.preset = *presetValue;
    rules.keepIoTypes = rules.keepIoTypes || keepIoTypes;
    rules.targetName = targetName;
    rules.targetSupports = targetSupports;
    for (auto func : module.getOps<func::FuncOp>())
      if (failed(FuncAutocast(func, rules, low).run()))
        return signalPassFailure();
  }
};

} // namespace

std::unique_ptr<Pass> createAutocastForTarget(const AutocastOptions &options,
                                              std::string targetName,
                                              std::function<bool(StringRef, Type)> supports) {
  return std::make_unique<AutocastPass>(options, std::move(targetName), std::move(supports));
}

} // namespace mpc
