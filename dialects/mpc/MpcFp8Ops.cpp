//===- MpcFp8Ops.cpp - verifiers of the FP8 ops ---------------------------===//
//
// The rules of MpcFp8Ops.td. As elsewhere in the dialect, every check names
// the operand or attribute at fault and none asserts.
//
//===----------------------------------------------------------------------===//

#include "dialects/mpc/MpcOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/TypeUtilities.h"

using namespace mlir;

namespace mpc {

namespace {
RankedTensorType rankedOf(Value v) { return cast<RankedTensorType>(v.getType()); }
bool isE5M2(Type t) { return isa<Float8E5M2Type>(getElementTypeOrSelf(t)); }
bool validFormat(int64_t code) { return code == 5 || code == 6; }
} // namespace

LogicalResult Fp8QuantizeOp::verify() {
  if (getX().getType().getShape() != getQ().getType().getShape())
    return emitOpError("q ") << getQ().getType() << " does not have x's shape " << getX().getType();
  return success();
}

LogicalResult Fp8GemmOp::verify() {
  auto a = getA().getType(), b = getB().getType(), y = getY().getType();
  if (a.getRank() != 2 || b.getRank() != 2 || y.getRank() != 2)
    return emitOpError("needs 2-D a (M x K), b (N x K) and y (M x N), got ")
           << a << ", " << b << ", " << y;
  if (a.getDimSize(1) != b.getDimSize(1))
    return emitOpError("a ") << a << " and b " << b
                             << " must share the reduction dim K (TN form: both K-major)";
  if (y.getDimSize(0) != a.getDimSize(0) || y.getDimSize(1) != b.getDimSize(0))
    return emitOpError("y ") << y << " must be " << a.getDimSize(0) << " x " << b.getDimSize(0);
  if (y.getElementType().isF64())
    return emitOpError("y must be f32, f16 or bf16, got ") << y;
  if (isE5M2(a) && isE5M2(b))
    return emitOpError("E5M2 x E5M2 is not supported (cuBLASLt has no such FP8 GEMM)");
  if (Value c = getC()) {
    auto ct = rankedOf(c);
    if (!broadcastsTo(ct.getShape(), y.getShape()))
      return emitOpError("c ") << ct << " does not broadcast to y " << y;
  }
  return success();
}

LogicalResult Fp8CurrentScaleOp::verify() {
  if (!validFormat(static_cast<int64_t>(getFormat())))
    return emitOpError("format must be 5 (f8E4M3FN) or 6 (f8E5M2), got ") << getFormat();
  if (int64_t m = static_cast<int64_t>(getMargin()); m < 0 || m > 64)
    return emitOpError("margin must be in [0, 64], got ") << getMargin();
  return success();
}

LogicalResult Fp8ScaleUpdateOp::verify() {
  size_t nres = getResults().size(), nops = getOperands().size();
  if (nres == 0 || nres % 3 != 0)
    return emitOpError("needs 3 results per FP8 operand, got ") << nres;
  size_t n = nres / 3;
  if (nops != 4 * n && nops != 4 * n + 1)
    return emitOpError("has ") << n << " FP8 operands (from its results), so it needs " << 4 * n
                               << " operands (amax, history, scale, scale_inv each) or "
                               << 4 * n + 1 << " with skip, got " << nops;
  if (getFormats().size() != n)
    return emitOpError("formats has ") << getFormats().size() << " entries for " << n
                                       << " FP8 operands";
  for (int64_t f : getFormats())
    if (!validFormat(f))
      return emitOpError("formats entries must be 5 (f8E4M3FN) or 6 (f8E5M2), got ") << f;
  if (getAmaxAlgo() != "max" && getAmaxAlgo() != "most_recent")
    return emitOpError("amax_algo must be \"max\" or \"most_recent\", got \"")
           << getAmaxAlgo() << "\"";
  if (int64_t m = static_cast<int64_t>(getMargin()); m < 0 || m > 64)
    return emitOpError("margin must be in [0, 64], got ") << getMargin();
  for (size_t i = 0; i < n; ++i) {
    auto amax = rankedOf(getOperands()[4 * i]), hist = rankedOf(getOperands()[4 * i + 1]);
    auto scale = rankedOf(getOperands()[4 * i + 2]), sinv = rankedOf(getOperands()[4 * i + 3]);
    if (amax.getRank() != 0 || scale.getRank() != 0 || sinv.getRank() != 0)
      return emitOpError("FP8 operand ") << i << ": amax, scale and scale_inv must be scalars";
    if (hist.getRank() != 1 || hist.getDimSize(0) < 1)
      return emitOpError("FP8 operand ") << i << ": amax_history must be 1-D, got " << hist;
    if (getResults()[3 * i].getType() != hist || getResults()[3 * i + 1].getType() != scale ||
        getResults()[3 * i + 2].getType() != sinv)
      return emitOpError("FP8 operand ") << i << ": results must have the types of "
                                            "amax_history, scale and scale_inv";
  }
  if (nops == 4 * n + 1 && rankedOf(getOperands().back()).getRank() != 0)
    return emitOpError("skip must be an f32 scalar");
  return success();
}

LogicalResult MxGemmOp::verify() {
  auto a = getA().getType(), b = getB().getType(), y = getY().getType();
  if (a.getRank() != 2 || b.getRank() != 2 || y.getRank() != 2)
    return emitOpError("needs 2-D a (M x K), b (N x K) and y (M x N), got ")
           << a << ", " << b << ", " << y;
  if (a.getDimSize(1) != b.getDimSize(1))
    return emitOpError("a ") << a << " and b " << b
                             << " must share the reduction dim K (TN form: both K-major)";
  if (a.getDimSize(1) % 32 != 0)
    return emitOpError("K = ") << a.getDimSize(1) << " must be a multiple of the 32-element MX block";
  if (y.getDimSize(0) != a.getDimSize(0) || y.getDimSize(1) != b.getDimSize(0))
    return emitOpError("y ") << y << " must be " << a.getDimSize(0) << " x " << b.getDimSize(0);
  for (Type t : {a.getElementType(), b.getElementType(), y.getElementType()})
    if (t.isF64())
      return emitOpError("a, b and y must be f32, f16 or bf16");
  for (int64_t f : {getAFormat(), getBFormat(), getGradFormat()})
    if (!validFormat(f))
      return emitOpError("formats must be 5 (f8E4M3FN) or 6 (f8E5M2), got ") << f;
  if (getAFormat() == 6 && getBFormat() == 6)
    return emitOpError("E5M2 x E5M2 is not supported");
  if (Value c = getC()) {
    auto ct = rankedOf(c);
    if (!broadcastsTo(ct.getShape(), y.getShape()))
      return emitOpError("c ") << ct << " does not broadcast to y " << y;
  }
  return success();
}

} // namespace mpc
