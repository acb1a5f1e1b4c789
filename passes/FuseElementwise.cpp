//===- FuseElementwise.cpp - mpc-fuse-elementwise -------------------------===//
//
// Groups connected elementwise ops into mpc.fused_elementwise so the runtime
// evaluates a chain in one pass over memory. The grouping is greedy and
// deterministic: blocks are visited in order, each from its last op upwards;
// an unassigned fusible op becomes the root of a group, which then grows
// through operands defined in the block by fusible ops whose single use is in
// the group and whose value has the root's shape. The members keep their
// types, so every intermediate is rounded exactly as before.
//
//===----------------------------------------------------------------------===//

#include "dialects/mpc/MpcFusion.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "runtime/core/fused_program.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace mpc {

#define GEN_PASS_DEF_FUSEELEMENTWISE
#include "passes/Passes.h.inc"

namespace {

/// Fuses the groups of one block.
void fuseBlock(Block &block) {
  llvm::DenseSet<Operation *> assigned;
  SmallVector<Operation *> ops;
  for (Operation &op : block)
    ops.push_back(&op);
  for (Operation *root : llvm::reverse(ops)) {
    if (assigned.contains(root) || !isFusibleElementwise(root))
      continue;
    auto rootType = cast<RankedTensorType>(root->getResult(0).getType());
    // The where kernel copies the selected bytes; the fused kernel stores its
    // result through FP32, which would canonicalise the payload of a 16-bit
    // input NaN. A 16-bit where therefore never ends a group (inside one, its
    // value is read through FP32 in both cases).
    if (isa<WhereOp>(root) && rootType.getElementType().getIntOrFloatBitWidth() == 16)
      continue;
    // Grow through operands (a worklist, visited in operand order).
    llvm::DenseSet<Operation *> members{root};
    SmallVector<Operation *> worklist{root};
    llvm::SetVector<Value> external;
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      for (Value v : op->getOperands()) {
        Operation *def = v.getDefiningOp();
        bool inside = def && def->getBlock() == &block && !assigned.contains(def) &&
                      !members.contains(def) && isFusibleElementwise(def) && v.hasOneUse() &&
                      cast<RankedTensorType>(v.getType()).getShape() == rootType.getShape();
        if (!inside)
          continue;
        members.insert(def);
        worklist.push_back(def);
      }
    }
    if (members.size() < 2)
      continue;
    // Members in block order; the distinct outside values they read, in order
    // of first use.
    SmallVector<Operation *> ordered;
    for (Operation *op : ops)
      if (members.contains(op))
        ordered.push_back(op);
    for (Operation *op : ordered)
      for (Value v : op->getOperands())
        if (!v.getDefiningOp() || !members.contains(v.getDefiningOp()))
          external.insert(v);
    // The runtime kernel takes at most kMaxInputs operands: drop the earliest
    // members until the group fits (they stay unfused).
    while (external.size() > size_t(rt::fused::kMaxInputs) && ordered.size() >= 2) {
      members.erase(ordered.front());
      ordered.erase(ordered.begin());
      // Keep only the members still connected to the root.
      llvm::DenseSet<Operation *> connected{root};
      for (Operation *op : llvm::reverse(ordered))
        if (connected.contains(op))
          for (Value v : op->getOperands())
            if (Operation *d = v.getDefiningOp(); d && members.contains(d))
              connected.insert(d);
      llvm::erase_if(ordered, [&](Operation *op) { return !connected.contains(op); });
      members = connected;
      external.clear();
      for (Operation *op : ordered)
        for (Value v : op->getOperands())
          if (!v.getDefiningOp() || !members.contains(v.getDefiningOp()))
            external.insert(v);
    }
    if (ordered.size() < 2)
      continue;
    for (Operation *op : ordered)
      assigned.insert(op);

    SmallVector<Location> locs{root->getLoc()};
    for (Operation *op : ordered)
      if (op != root)
        locs.push_back(op->getLoc());
    MLIRContext *ctx = root->getContext();
    OpBuilder builder(root);
    auto fused = FusedElementwiseOp::create(builder, FusedLoc::get(ctx, locs), rootType,
                                            external.getArrayRef());
    Block *body = new Block;
    fused.getBody().push_back(body);
    IRMapping map;
    for (Value v : external)
      map.map(v, body->addArgument(v.getType(), v.getLoc()));
    builder.setInsertionPointToStart(body);
    for (Operation *op : ordered)
      builder.clone(*op, map);
    YieldOp::create(builder, root->getLoc(), map.lookup(root->getResult(0)));
    root->getResult(0).replaceAllUsesWith(fused.getResult());
    for (Operation *op : llvm::reverse(ordered))
      op->erase();
  }
}

struct FuseElementwisePass : impl::FuseElementwiseBase<FuseElementwisePass> {
  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation()->walk([&](Block *block) {
      if (!isa<FusedElementwiseOp>(block->getParentOp()))
        blocks.push_back(block);
    });
    for (Block *block : blocks)
      fuseBlock(*block);
  }
};

} // namespace

} // namespace mpc
