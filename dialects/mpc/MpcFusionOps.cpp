//===- MpcFusionOps.cpp - mpc.fused_elementwise and mpc.yield -------------===//
//
// The verifier of a fused group: the body holds only fusible elementwise ops,
// its arguments are the operands, every value broadcasts to the result shape
// and the yield returns the result type. As everywhere in the dialect, a
// malformed group is a diagnostic naming the op at fault, never an assert.
//
//===----------------------------------------------------------------------===//

#include "dialects/mpc/MpcFusion.h"
#include "dialects/mpc/MpcOps.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace mpc {

namespace {

bool isWideFloat(Type t) {
  auto ranked = dyn_cast<RankedTensorType>(t);
  if (!ranked || !ranked.hasStaticShape())
    return false;
  Type e = ranked.getElementType();
  return e.isF32() || e.isF16() || e.isBF16() || e.isF64();
}

} // namespace

bool isFusibleElementwise(Operation *op) {
  if (op->getNumResults() != 1 || !isWideFloat(op->getResult(0).getType()))
    return false;
  if (isa<NegOp, AbsOp, ExpOp, LogOp, SqrtOp, ReciprocalOp, TanhOp, SigmoidOp, ReluOp, ErfOp,
          LeakyReluOp, GeluOp, AddOp, SubOp, MulOp, DivOp, MaxOp, MinOp, PowOp, WhereOp>(op))
    return llvm::all_of(op->getOperandTypes(), [](Type t) {
      auto r = dyn_cast<RankedTensorType>(t);
      return r && r.hasStaticShape();
    });
  if (auto cast = dyn_cast<CastOp>(op))
    return isWideFloat(cast.getX().getType());
  return false;
}

LogicalResult FusedElementwiseOp::verify() {
  auto type = cast<RankedTensorType>(getResult().getType());
  if (getInputs().empty())
    return emitOpError("needs at least one operand");
  for (auto [i, v] : llvm::enumerate(getInputs())) {
    auto t = cast<RankedTensorType>(v.getType());
    if (!broadcastsTo(t.getShape(), type.getShape()))
      return emitOpError("operand #")
             << i << " of type " << t << " does not broadcast to the result " << type;
  }
  return success();
}

LogicalResult FusedElementwiseOp::verifyRegions() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("body has ")
           << body.getNumArguments() << " arguments for " << getInputs().size() << " operands";
  for (auto [i, arg, v] : llvm::enumerate(body.getArguments(), getInputs()))
    if (arg.getType() != v.getType())
      return emitOpError("body argument #")
             << i << " has type " << arg.getType() << ", operand has " << v.getType();
  auto type = cast<RankedTensorType>(getResult().getType());
  for (Operation &op : body.without_terminator()) {
    if (!isFusibleElementwise(&op))
      return emitOpError("body may hold only fusible elementwise ops, got '")
             << op.getName() << "' at " << op.getLoc();
    auto t = cast<RankedTensorType>(op.getResult(0).getType());
    if (!broadcastsTo(t.getShape(), type.getShape()))
      return emitOpError("body value of type ")
             << t << " from '" << op.getName() << "' does not broadcast to the result " << type;
  }
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("body must end with mpc.yield");
  if (yield.getValue().getType() != type)
    return emitOpError("yields ") << yield.getValue().getType() << ", but the result is " << type;
  return success();
}

} // namespace mpc
