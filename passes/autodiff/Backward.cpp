//===- Backward.cpp - reverse-mode driver over the gradient rules ---------===//

#include "passes/autodiff/Autodiff.h"

#include "dialects/mpc/MpcGradientInterface.h"
#include "dialects/mpc/MpcOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace mpc {

namespace {

std::string nodeName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (std::string n = nodeName(inner); !n.empty())
        return n;
  return "";
}

/// Backward ops are located at `<node>/grad`, nested around the forward op's
/// location, so every message and plan kernel still names the user's node.
Location gradLoc(Operation *forward) {
  std::string name = nodeName(forward->getLoc());
  if (name.empty())
    return forward->getLoc();
  return NameLoc::get(StringAttr::get(forward->getContext(), name + "/grad"), forward->getLoc());
}

} // namespace

FailureOr<Value> findLoss(func::FuncOp func, StringRef name) {
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  SmallVector<std::string> names;
  Value found;
  int scalars = 0;
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto attr = func.getResultAttrOfType<StringAttr>(i, "mpc.name");
    std::string n = attr ? attr.str() : "output" + std::to_string(i);
    names.push_back(n);
    if (!name.empty() && n == name)
      found = v;
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (name.empty() && t && t.getRank() == 0 && isDifferentiableType(t)) {
      found = v;
      ++scalars;
    }
  }
  std::string list;
  for (auto &n : names)
    list += (list.empty() ? "'" : ", '") + n + "'";
  if (!name.empty() && !found)
    return func.emitError("loss '") << name << "' is not an output of @" << func.getSymName()
                                    << " (outputs: " << list << ")";
  if (name.empty() && scalars != 1)
    return func.emitError("cannot pick the loss: @")
           << func.getSymName() << " has " << scalars
           << " scalar float outputs; name it with loss=<output> (outputs: " << list << ")";
  if (!isDifferentiableType(found.getType()))
    return func.emitError("loss '") << name << "' is not a float tensor: " << found.getType();
  return found;
}

FailureOr<SmallVector<Value>> buildBackward(func::FuncOp func, Value loss, ArrayRef<Value> wrt) {
  if (!func.getBody().hasOneBlock())
    return func.emitError("autodiff needs @") << func.getSymName() << " to have one block";
  Block &block = func.getBody().front();
  return buildBackward(block, block.getTerminator(), loss, wrt);
}

FailureOr<SmallVector<Value>> buildBackward(Block &block, Operation *insertBefore, Value loss,
                                            ArrayRef<Value> wrt) {
  // Backward ops go right before `end` (an op or the block's end).
  Block::iterator end = insertBefore ? insertBefore->getIterator() : block.end();
  auto lastBeforeEnd = [&]() -> Operation * {
    return end == block.begin() ? nullptr : &*std::prev(end);
  };
  SmallVector<Operation *> forward;
  for (Block::iterator it = block.begin(); it != end; ++it)
    forward.push_back(&*it);

  // Values that depend on a wrt value, and values the loss depends on; only
  // ops in both cones are differentiated.
  llvm::DenseSet<Value> varied(wrt.begin(), wrt.end()), useful;
  for (Operation *op : forward)
    if (llvm::any_of(op->getOperands(), [&](Value v) { return varied.contains(v); }))
      for (Value r : op->getResults())
        if (isDifferentiableType(r.getType()))
          varied.insert(r);
  useful.insert(loss);
  for (Operation *op : llvm::reverse(forward))
    if (llvm::any_of(op->getResults(), [&](Value r) { return useful.contains(r); }))
      for (Value v : op->getOperands())
        if (isDifferentiableType(v.getType()))
          useful.insert(v);

  OpBuilder b(&block, end);
  llvm::DenseMap<Value, Value> grads;
  auto accumulate = [&](Value v, Value g, Location loc) {
    auto [it, inserted] = grads.try_emplace(v, g);
    if (!inserted)
      it->second = AddOp::create(b, loc, it->second, g);
  };

  // The seed dL/dL = 1 in the loss type: its own op, marked, so loss scaling
  // can find it and multiply it by the scale.
  auto lossType = cast<RankedTensorType>(gradientType(loss.getType()));
  auto one = cast<FloatType>(lossType.getElementType());
  APFloat oneValue(1.0);
  bool lost = false;
  oneValue.convert(one.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
  Location seedLoc = NameLoc::get(b.getStringAttr("loss/grad_seed"), loss.getLoc());
  auto seed = ConstantOp::create(
      b, seedLoc, lossType,
      cast<ElementsAttr>(DenseElementsAttr::get(lossType, ArrayRef<APFloat>(oneValue))));
  seed->setAttr(kGradSeedAttr, b.getUnitAttr());
  grads[loss] = seed;

  for (Operation *op : llvm::reverse(forward)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      resultGrads.push_back(grads.lookup(r));
      any |= static_cast<bool>(resultGrads.back());
    }
    if (!any)
      continue;
    SmallVector<bool> wanted;
    bool anyWanted = false;
    for (Value v : op->getOperands()) {
      bool w = varied.contains(v) && useful.contains(v);
      wanted.push_back(w);
      anyWanted |= w;
    }
    if (!anyWanted)
      continue;
    auto iface = dyn_cast<GradientOpInterface>(op);
    if (!iface)
      return op->emitOpError("has no gradient rule, but the loss depends on its result through "
                             "a trainable value (mpc-autodiff)");
    Operation *before = lastBeforeEnd();
    SmallVector<Value> operandGrads;
    if (failed(iface.buildGradients(b, resultGrads, wanted, operandGrads)))
      return failure();
    Location loc = gradLoc(op);
    for (Block::iterator it = before ? std::next(before->getIterator()) : block.begin(); it != end;
         ++it)
      it->setLoc(loc);
    if (operandGrads.size() != op->getNumOperands())
      return op->emitOpError("gradient rule returned ")
             << operandGrads.size() << " gradients for " << op->getNumOperands() << " operands";
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      Value g = operandGrads[i];
      if (!g || !wanted[i])
        continue;
      Type expected = gradientType(v.getType());
      if (g.getType() != expected)
        return op->emitOpError("gradient rule built a gradient of type ")
               << g.getType() << " for operand #" << i << " of type " << expected;
      accumulate(v, g, loc);
    }
  }

  SmallVector<Value> out;
  llvm::DenseSet<Operation *> keep = {seed.getOperation()};
  for (Value v : wrt) {
    out.push_back(grads.lookup(v));
    if (Value g = out.back(); g && g.getDefiningOp())
      keep.insert(g.getDefiningOp());
  }
  // Drop backward ops nothing uses (e.g. pieces of a split no operand wanted).
  for (Operation *op = lastBeforeEnd(); op && op != seed.getOperation();) {
    Operation *prev = op->getPrevNode();
    if (op->use_empty() && !keep.contains(op))
      op->erase();
    op = prev;
  }
  return out;
}

} // namespace mpc
