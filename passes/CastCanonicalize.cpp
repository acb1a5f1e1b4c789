//===- CastCanonicalize.cpp - mpc-cast-canonicalize -----------------------===//
//
// Exact clean-ups of mpc.cast: one cast per (value, dtype), exact chains
// folded, identity and dead casts removed. It never decides a precision: that
// is mpc-autocast's job.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;

namespace mpc {

#define GEN_PASS_DEF_CASTCANONICALIZE
#include "passes/Passes.h.inc"

bool isExactFloatConversion(Type from, Type to) {
  auto f = dyn_cast<FloatType>(getElementTypeOrSelf(from));
  auto t = dyn_cast<FloatType>(getElementTypeOrSelf(to));
  if (!f || !t)
    return false;
  return llvm::APFloatBase::isRepresentableBy(f.getFloatSemantics(), t.getFloatSemantics());
}

namespace {

/// One sweep over the casts under `root`; true when it changed something.
bool sweep(Operation *root) {
  SmallVector<CastOp> casts;
  root->walk([&](CastOp c) { casts.push_back(c); });
  bool changed = false;
  llvm::SmallPtrSet<Operation *, 16> erased;
  // (input, result type, saturate) -> the first such cast in its block.
  llvm::DenseMap<std::tuple<Value, Type, unsigned>, CastOp> first;
  auto erase = [&](CastOp c) {
    erased.insert(c);
    c->erase();
    changed = true;
  };
  for (CastOp c : casts) {
    if (erased.contains(c))
      continue;
    Type to = c.getType();
    if (c.getX().getType() == to) {
      c.replaceAllUsesWith(c.getX());
      erase(c);
      continue;
    }
    if (!c.getUser()) {
      // Look through an exact (widening) cast: the composition rounds once.
      if (auto inner = c.getX().getDefiningOp<CastOp>();
          inner && isExactFloatConversion(inner.getX().getType(), inner.getType()) &&
          isa<FloatType>(getElementTypeOrSelf(to))) {
        Value source = inner.getX();
        if (source.getType() == to) {
          c.replaceAllUsesWith(source);
          erase(c);
          continue;
        }
        c.getXMutable().assign(source);
        changed = true;
      }
      auto key = std::make_tuple(c.getX(), to, unsigned(c.getSaturate()));
      auto it = first.find(key);
      if (it != first.end() && !erased.contains(it->second) &&
          it->second->getBlock() == c->getBlock()) {
        c.replaceAllUsesWith(it->second.getY());
        erase(c);
        continue;
      }
    }
    auto key = std::make_tuple(c.getX(), to, unsigned(c.getSaturate()));
    first.try_emplace(key, c);
    // A dead cast goes, unless the user wrote a narrowing one.
    if (c.use_empty() && (!c.getUser() || isExactFloatConversion(c.getX().getType(), to)))
      erase(c);
  }
  return changed;
}

struct CastCanonicalizePass : impl::CastCanonicalizeBase<CastCanonicalizePass> {
  void runOnOperation() override { canonicalizeCasts(getOperation()); }
};

} // namespace

bool canonicalizeCasts(Operation *root) {
  bool changed = false;
  // Each sweep can expose more (a merged cast makes another dead); the number
  // of casts bounds the iterations.
  for (int i = 0; i < 64 && sweep(root); ++i)
    changed = true;
  return changed;
}

} // namespace mpc
