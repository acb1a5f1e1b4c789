//===- MpcOps.cpp - type inference, verifiers and folders -----------------===//
//
// Every rule here reports a diagnostic naming the op and the operand or
// attribute at fault; none of them asserts, so malformed input (from the
// importer or from a hand-written .mlir file) is an error, never a crash.
//
//===----------------------------------------------------------------------===//

#include "dialects/mpc/MpcOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace mpc {

namespace {

RankedTensorType rankedOrNull(Type t) { return dyn_cast<RankedTensorType>(t); }

/// Emits at `loc` (if any) and returns failure, like emitOptionalError but with
/// the op name first so every message says which op is wrong.
template <typename... Args>
LogicalResult fail(std::optional<Location> loc, StringRef opName, Args &&...args) {
  return emitOptionalError(loc, "'", opName, "' ", std::forward<Args>(args)...);
}

std::string shapeStr(ArrayRef<int64_t> shape) { return shapeString(shape); }

bool isNormalisedAxis(int64_t axis, int64_t rank) { return axis >= 0 && axis < rank; }

} // namespace

//===----------------------------------------------------------------------===//
// Shared shape rules
//===----------------------------------------------------------------------===//

std::optional<Shape> broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

bool broadcastsTo(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  size_t lead = to.size() - from.size();
  for (size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[lead + i])
      return false;
  return true;
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "," : "") + std::to_string(d);
  return s + "]";
}

LogicalResult verifyLossOperands(std::optional<Location> loc, StringRef op, StringRef inputName,
                                 RankedTensorType input, RankedTensorType labels, Value weights,
                                 StringRef reduction, Shape &lossShape) {
  if (reduction != "none" && reduction != "sum" && reduction != "mean")
    return fail(loc, op, "reduction must be \"none\", \"sum\" or \"mean\", got \"", reduction,
                "\"");
  if (input.getRank() < 2)
    return fail(loc, op, inputName, " must be N x C (x D1 ...), got ", input);
  Shape perSample = {input.getDimSize(0)};
  for (int64_t i = 2; i < input.getRank(); ++i)
    perSample.push_back(input.getDimSize(i));
  if (labels.getShape() != ArrayRef<int64_t>(perSample))
    return fail(loc, op, "labels must have shape ", shapeString(perSample), ", got ", labels);
  if (weights) {
    auto w = cast<RankedTensorType>(weights.getType());
    if (w.getRank() != 1 || w.getDimSize(0) != input.getDimSize(1))
      return fail(loc, op, "weights must have shape [", input.getDimSize(1), "], got ", w);
  }
  lossShape = reduction == "none" ? perSample : Shape();
  return success();
}

LogicalResult inferBroadcastType(std::optional<Location> loc, TypeRange operands, Type elem,
                                 SmallVectorImpl<Type> &types) {
  Shape shape;
  for (auto [i, t] : llvm::enumerate(operands)) {
    auto ranked = rankedOrNull(t);
    if (!ranked)
      return emitOptionalError(loc, "operand #", i, " is not a ranked tensor");
    if (i == 0) {
      shape.assign(ranked.getShape().begin(), ranked.getShape().end());
      continue;
    }
    auto joined = broadcastShapes(shape, ranked.getShape());
    if (!joined)
      return emitOptionalError(loc, "operand shapes ", shapeStr(shape), " and ",
                               shapeStr(ranked.getShape()), " do not broadcast");
    shape = *joined;
  }
  types.push_back(RankedTensorType::get(shape, elem));
  return success();
}

LogicalResult inferBinaryOpType(MLIRContext *ctx, std::optional<Location> loc, StringRef opName,
                                Type lhs, Type rhs, bool boolResult, bool sameElementType,
                                SmallVectorImpl<Type> &types) {
  auto l = rankedOrNull(lhs), r = rankedOrNull(rhs);
  if (!l || !r)
    return fail(loc, opName, "operands must be ranked tensors");
  if (sameElementType && l.getElementType() != r.getElementType())
    return fail(loc, opName, "operand element types differ: ", l.getElementType(), " vs ",
                r.getElementType());
  Type elem = boolResult ? IntegerType::get(ctx, 1) : l.getElementType();
  // One diagnostic, naming the op: the shared helper stays quiet here.
  if (failed(inferBroadcastType(std::nullopt, {lhs, rhs}, elem, types)))
    return fail(loc, opName, "operands do not broadcast: ", lhs, " and ", rhs);
  return success();
}

int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride, int64_t padBegin,
                         int64_t padEnd, int64_t dilation, bool ceilMode) {
  int64_t effective = (kernel - 1) * dilation + 1;
  int64_t span = in + padBegin + padEnd - effective;
  if (span < 0 || stride <= 0)
    return -1;
  int64_t out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
  // With ceil_mode the last window must still start inside the input or the
  // leading padding (PyTorch and the ONNX reference agree on this).
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

LogicalResult verifyWindowAttrs(std::optional<Location> loc, StringRef op,
                                ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                                ArrayRef<int64_t> pads, ArrayRef<int64_t> dilations) {
  if (kernel.size() != 2 || strides.size() != 2 || pads.size() != 4 || dilations.size() != 2)
    return fail(loc, op, "expects 2 kernel dims, 2 strides, 4 pads and 2 dilations, got ",
                kernel.size(), ", ", strides.size(), ", ", pads.size(), ", ", dilations.size());
  for (int i = 0; i < 2; ++i) {
    if (kernel[i] <= 0 || strides[i] <= 0 || dilations[i] <= 0)
      return fail(loc, op, "kernel, strides and dilations must be positive");
  }
  for (int64_t p : pads)
    if (p < 0)
      return fail(loc, op, "pads must be non-negative, got ", shapeStr(pads));
  return success();
}

namespace {

/// Shared by conv and the pooling ops: N x C x H x W -> N x channels x H' x W'.
LogicalResult inferWindowType(std::optional<Location> loc, StringRef op, RankedTensorType x,
                              int64_t channels, ArrayRef<int64_t> kernel,
                              ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
                              ArrayRef<int64_t> dilations, bool ceilMode,
                              SmallVectorImpl<Type> &types) {
  if (x.getRank() != 4)
    return fail(loc, op, "supports 2-D inputs (rank 4, NCHW) only, got ", x);
  if (failed(verifyWindowAttrs(loc, op, kernel, strides, pads, dilations)))
    return failure();
  Shape shape = {x.getDimSize(0), channels, 0, 0};
  for (int i = 0; i < 2; ++i) {
    shape[2 + i] = windowOutputSize(x.getDimSize(2 + i), kernel[i], strides[i], pads[i],
                                    pads[i + 2], dilations[i], ceilMode);
    if (shape[2 + i] <= 0)
      return fail(loc, op, "window of ", kernel[i], " (dilation ", dilations[i],
                  ") does not fit spatial dim ", i, " of size ", x.getDimSize(2 + i),
                  " with pads ", shapeStr(pads));
  }
  types.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

/// Shared by the two loss ops: scores/input N x C x D..., labels N x D...
LogicalResult inferLossType(std::optional<Location> loc, StringRef op, Type inputType,
                            Type labelType, Value weights, StringRef reduction,
                            SmallVectorImpl<Type> &types) {
  auto input = cast<RankedTensorType>(inputType);
  Shape lossShape;
  if (failed(verifyLossOperands(loc, op, "input", input, cast<RankedTensorType>(labelType),
                                weights, reduction, lossShape)))
    return failure();
  types.push_back(RankedTensorType::get(lossShape, input.getElementType()));
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Per-op rules
//===----------------------------------------------------------------------===//

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult WhereOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  auto y = cast<RankedTensorType>(adaptor.getY().getType());
  if (x.getElementType() != y.getElementType())
    return fail(loc, getOperationName(), "x and y element types differ: ", x.getElementType(),
                " vs ", y.getElementType());
  return inferBroadcastType(loc,
                            {adaptor.getCond().getType(), adaptor.getX().getType(),
                             adaptor.getY().getType()},
                            x.getElementType(), types);
}

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto a = cast<RankedTensorType>(adaptor.getLhs().getType());
  auto b = cast<RankedTensorType>(adaptor.getRhs().getType());
  StringRef op = getOperationName();
  if (a.getElementType() != b.getElementType())
    return fail(loc, op, "operand element types differ: ", a.getElementType(), " vs ",
                b.getElementType());
  if (a.getRank() < 1 || b.getRank() < 1)
    return fail(loc, op, "operands must have rank >= 1");
  Shape as(a.getShape()), bs(b.getShape());
  if (as.size() == 1)
    as.insert(as.begin(), 1);
  if (bs.size() == 1)
    bs.push_back(1);
  int64_t m = as[as.size() - 2], k = as.back(), k2 = bs[bs.size() - 2], n = bs.back();
  if (k != k2)
    return fail(loc, op, "contraction dims differ: ", a, " x ", b);
  auto batch = broadcastShapes(ArrayRef<int64_t>(as).drop_back(2),
                               ArrayRef<int64_t>(bs).drop_back(2));
  if (!batch)
    return fail(loc, op, "batch dims do not broadcast: ", a, " x ", b);
  Shape out = *batch;
  if (a.getRank() > 1)
    out.push_back(m);
  if (b.getRank() > 1)
    out.push_back(n);
  types.push_back(RankedTensorType::get(out, a.getElementType()));
  return success();
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto a = cast<RankedTensorType>(adaptor.getA().getType());
  auto b = cast<RankedTensorType>(adaptor.getB().getType());
  StringRef op = getOperationName();
  if (a.getRank() != 2 || b.getRank() != 2)
    return fail(loc, op, "A and B must be rank 2, got ", a, " and ", b);
  if (a.getElementType() != b.getElementType())
    return fail(loc, op, "A and B element types differ: ", a, " vs ", b);
  int64_t m = adaptor.getTransA() ? a.getDimSize(1) : a.getDimSize(0);
  int64_t k = adaptor.getTransA() ? a.getDimSize(0) : a.getDimSize(1);
  int64_t k2 = adaptor.getTransB() ? b.getDimSize(1) : b.getDimSize(0);
  int64_t n = adaptor.getTransB() ? b.getDimSize(0) : b.getDimSize(1);
  if (k != k2)
    return fail(loc, op, "contraction dims differ (", k, " vs ", k2, ") for ", a, " x ", b);
  if (Value c = adaptor.getC()) {
    auto ct = cast<RankedTensorType>(c.getType());
    // C may stay FP32 when A and B are low precision (mixed-precision bias).
    if (ct.getElementType() != a.getElementType() && !ct.getElementType().isF32())
      return fail(loc, op, "C element type ", ct.getElementType(),
                  " must be A's element type or f32");
    if (!broadcastsTo(ct.getShape(), {m, n}))
      return fail(loc, op, "C of shape ", shapeStr(ct.getShape()), " does not broadcast to [",
                  m, ",", n, "]");
  }
  types.push_back(RankedTensorType::get({m, n}, a.getElementType()));
  return success();
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  auto w = cast<RankedTensorType>(adaptor.getW().getType());
  StringRef op = getOperationName();
  int64_t group = adaptor.getGroup();
  if (w.getRank() != 4 || x.getRank() != 4)
    return fail(loc, op, "supports 2-D convolution only (rank-4 X and W), got ", x, ", ", w);
  if (x.getElementType() != w.getElementType())
    return fail(loc, op, "X and W element types differ: ", x, " vs ", w);
  if (group <= 0 || w.getDimSize(0) % group != 0 || x.getDimSize(1) != w.getDimSize(1) * group)
    return fail(loc, op, "channels do not match: X has ", x.getDimSize(1), ", W expects ",
                w.getDimSize(1), " x group ", group, " (W has ", w.getDimSize(0),
                " output channels)");
  if (Value b = adaptor.getB()) {
    auto bt = cast<RankedTensorType>(b.getType());
    if (bt.getRank() != 1 || bt.getDimSize(0) != w.getDimSize(0) ||
        bt.getElementType() != x.getElementType())
      return fail(loc, op, "bias must be ", w.getDimSize(0), " elements of ",
                  x.getElementType(), ", got ", bt);
  }
  Shape kernel = {w.getDimSize(2), w.getDimSize(3)};
  return inferWindowType(loc, op, x, w.getDimSize(0), kernel, adaptor.getStrides(),
                         adaptor.getPads(), adaptor.getDilations(), false, types);
}

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  if (x.getRank() != 4)
    return fail(loc, getOperationName(), "supports 2-D inputs (rank 4, NCHW) only, got ", x);
  return inferWindowType(loc, getOperationName(), x, x.getDimSize(1), adaptor.getKernelShape(),
                         adaptor.getStrides(), adaptor.getPads(), adaptor.getDilations(),
                         adaptor.getCeilMode(), types);
}

LogicalResult AvgPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  if (x.getRank() != 4)
    return fail(loc, getOperationName(), "supports 2-D inputs (rank 4, NCHW) only, got ", x);
  int64_t ones[2] = {1, 1};
  return inferWindowType(loc, getOperationName(), x, x.getDimSize(1), adaptor.getKernelShape(),
                         adaptor.getStrides(), adaptor.getPads(), ones, adaptor.getCeilMode(),
                         types);
}

LogicalResult GlobalAvgPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  if (x.getRank() < 3)
    return fail(loc, getOperationName(), "expects N x C x D1 ..., got ", x);
  Shape shape(x.getShape());
  for (size_t i = 2; i < shape.size(); ++i)
    shape[i] = 1;
  types.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

namespace {
/// scale, bias, mean and var of batch norm: rank 1, one element per channel.
LogicalResult checkChannelParams(std::optional<Location> loc, StringRef op, RankedTensorType x,
                                 ValueRange params) {
  if (x.getRank() < 2)
    return fail(loc, op, "X must be N x C (x D1 ...), got ", x);
  static const char *names[] = {"scale", "bias", "mean", "var"};
  for (auto [i, p] : llvm::enumerate(params)) {
    auto t = cast<RankedTensorType>(p.getType());
    if (t.getRank() != 1 || t.getDimSize(0) != x.getDimSize(1))
      return fail(loc, op, names[i], " must have shape [", x.getDimSize(1), "], got ", t);
  }
  return success();
}
} // namespace

LogicalResult BatchNormOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  if (failed(checkChannelParams(
          loc, getOperationName(), x,
          {adaptor.getScale(), adaptor.getBias(), adaptor.getMean(), adaptor.getVar()})))
    return failure();
  types.push_back(x);
  return success();
}

LogicalResult BatchNormTrainOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                 Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  if (failed(checkChannelParams(loc, getOperationName(), x,
                                {adaptor.getScale(), adaptor.getBias(),
                                 adaptor.getRunningMean(), adaptor.getRunningVar()})))
    return failure();
  types.push_back(x);
  types.push_back(adaptor.getRunningMean().getType());
  types.push_back(adaptor.getRunningVar().getType());
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  StringRef op = getOperationName();
  int64_t axis = adaptor.getAxisAttr().getInt();
  if (!isNormalisedAxis(axis, x.getRank()))
    return fail(loc, op, "axis ", axis, " is out of range for ", x);
  ArrayRef<int64_t> normShape = x.getShape().drop_front(axis);
  for (Value p : {adaptor.getScale(), adaptor.getBias()}) {
    if (!p)
      continue;
    auto t = cast<RankedTensorType>(p.getType());
    // Scale and bias are in X's type or FP32 (mixed precision).
    if (t.getElementType() != x.getElementType() && !t.getElementType().isF32())
      return fail(loc, op, "scale/bias element type ", t.getElementType(),
                  " must be X's element type or f32");
    if (!broadcastsTo(t.getShape(), normShape))
      return fail(loc, op, "scale/bias of shape ", shapeStr(t.getShape()),
                  " do not broadcast to the normalised dims ", shapeStr(normShape));
  }
  Shape stats(x.getShape().take_front(axis));
  stats.append(x.getRank() - axis, 1);
  auto statType = RankedTensorType::get(stats, Float32Type::get(ctx));
  types.append({x, statType, statType});
  return success();
}

namespace {
LogicalResult inferReduceType(std::optional<Location> loc, StringRef op, Type xType,
                              ArrayRef<int64_t> axes, bool keepdims,
                              SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(xType);
  if (axes.empty())
    return fail(loc, op, "axes must not be empty (the importer expands \"all axes\")");
  for (auto [i, a] : llvm::enumerate(axes)) {
    if (!isNormalisedAxis(a, x.getRank()) || (i > 0 && a <= axes[i - 1]))
      return fail(loc, op, "axes ", shapeStr(axes),
                  " must be sorted, unique and within rank ", x.getRank());
  }
  Shape shape;
  for (int64_t d = 0; d < x.getRank(); ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(x.getDimSize(d));
    else if (keepdims)
      shape.push_back(1);
  }
  types.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}
} // namespace

namespace {
template <typename OpTy> LogicalResult verifySoftmaxAxis(OpTy op) {
  int64_t axis = op.getAxisAttr().getInt();
  if (axis < 0 || axis >= op.getX().getType().getRank())
    return op.emitOpError("axis ") << axis << " is out of range for " << op.getX().getType();
  return success();
}
} // namespace

LogicalResult SoftmaxOp::verify() { return verifySoftmaxAxis(*this); }
LogicalResult LogSoftmaxOp::verify() { return verifySoftmaxAxis(*this); }

#define MPC_REDUCE_INFER(OP)                                                                   \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location> loc,              \
                                     Adaptor adaptor, SmallVectorImpl<Type> &types) {         \
    return inferReduceType(loc, getOperationName(), adaptor.getX().getType(),                 \
                           adaptor.getAxes(), adaptor.getKeepdims(), types);                  \
  }
MPC_REDUCE_INFER(ReduceSumOp)
MPC_REDUCE_INFER(ReduceMeanOp)
MPC_REDUCE_INFER(ReduceMaxOp)
#undef MPC_REDUCE_INFER

LogicalResult ReshapeOp::verify() {
  auto in = getX().getType(), out = getY().getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("changes the element type from ") << in.getElementType() << " to "
                                                         << out.getElementType();
  if (in.getNumElements() != out.getNumElements())
    return emitOpError("changes the element count from ")
           << in.getNumElements() << " to " << out.getNumElements();
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getX().getType() == getY().getType())
    return getX();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getX()))
    return dense.reshape(getY().getType());
  return {};
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  if (static_cast<int64_t>(perm.size()) != x.getRank())
    return fail(loc, getOperationName(), "perm ", shapeStr(perm), " does not match rank ",
                x.getRank());
  llvm::SmallVector<bool> seen(perm.size(), false);
  Shape shape;
  for (int64_t p : perm) {
    if (!isNormalisedAxis(p, x.getRank()) || seen[p])
      return fail(loc, getOperationName(), "perm ", shapeStr(perm), " is not a permutation");
    seen[p] = true;
    shape.push_back(x.getDimSize(p));
  }
  types.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  StringRef op = getOperationName();
  if (adaptor.getInputs().empty())
    return fail(loc, op, "needs at least one input");
  auto first = cast<RankedTensorType>(adaptor.getInputs()[0].getType());
  int64_t axis = adaptor.getAxisAttr().getInt();
  if (!isNormalisedAxis(axis, first.getRank()))
    return fail(loc, op, "axis ", axis, " is out of range for ", first);
  Shape shape(first.getShape());
  shape[axis] = 0;
  for (Value v : adaptor.getInputs()) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getElementType() != first.getElementType() || t.getRank() != first.getRank())
      return fail(loc, op, "inputs differ in element type or rank: ", first, " vs ", t);
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != axis && t.getDimSize(d) != first.getDimSize(d))
        return fail(loc, op, "inputs differ in dim ", d, ": ", first, " vs ", t);
    shape[axis] += t.getDimSize(axis);
  }
  types.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  int64_t axis = adaptor.getAxisAttr().getInt();
  StringRef op = getOperationName();
  if (!isNormalisedAxis(axis, x.getRank()))
    return fail(loc, op, "axis ", axis, " is out of range for ", x);
  int64_t total = 0;
  for (int64_t s : adaptor.getSizes()) {
    if (s < 0)
      return fail(loc, op, "sizes must be non-negative, got ", shapeStr(adaptor.getSizes()));
    total += s;
  }
  if (total != x.getDimSize(axis))
    return fail(loc, op, "sizes ", shapeStr(adaptor.getSizes()), " do not add up to dim ",
                axis, " of ", x);
  for (int64_t s : adaptor.getSizes()) {
    Shape shape(x.getShape());
    shape[axis] = s;
    types.push_back(RankedTensorType::get(shape, x.getElementType()));
  }
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  ArrayRef<int64_t> starts = adaptor.getStarts(), ends = adaptor.getEnds(),
                    steps = adaptor.getSteps();
  StringRef op = getOperationName();
  int64_t rank = x.getRank();
  if (static_cast<int64_t>(starts.size()) != rank ||
      static_cast<int64_t>(ends.size()) != rank || static_cast<int64_t>(steps.size()) != rank)
    return fail(loc, op, "needs one start, end and step per dim of ", x);
  Shape shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = x.getDimSize(d), s = starts[d], e = ends[d], st = steps[d];
    bool ok = st > 0 ? (s >= 0 && s <= dim && e >= 0 && e <= dim)
                     : (st < 0 && s >= -1 && s < dim && e >= -1 && e < dim);
    if (!ok)
      return fail(loc, op, "dim ", d, " of size ", dim, ": start ", s, ", end ", e, ", step ",
                  st, " are not normalised");
    int64_t len = st > 0 ? (e - s + st - 1) / st : (s - e + (-st) - 1) / (-st);
    shape.push_back(std::max<int64_t>(len, 0));
  }
  types.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto data = cast<RankedTensorType>(adaptor.getData().getType());
  auto idx = cast<RankedTensorType>(adaptor.getIndices().getType());
  int64_t axis = adaptor.getAxisAttr().getInt();
  if (!isNormalisedAxis(axis, data.getRank()))
    return fail(loc, getOperationName(), "axis ", axis, " is out of range for ", data);
  Shape shape(data.getShape().take_front(axis));
  shape.append(idx.getShape().begin(), idx.getShape().end());
  shape.append(data.getShape().begin() + axis + 1, data.getShape().end());
  types.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

LogicalResult ExpandOp::verify() {
  auto in = getX().getType(), out = getY().getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("changes the element type");
  if (!broadcastsTo(in.getShape(), out.getShape()))
    return emitOpError("input of type ") << in << " does not broadcast to " << out;
  return success();
}

LogicalResult ConstantOp::verify() {
  if (getValue().getType() != getY().getType())
    return emitOpError("value of type ") << getValue().getType()
                                         << " does not match result type " << getY().getType();
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult DropoutOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = cast<RankedTensorType>(adaptor.getX().getType());
  float ratio = adaptor.getRatio().convertToFloat();
  if (!(ratio >= 0.0f && ratio < 1.0f))
    return fail(loc, getOperationName(), "ratio must be in [0, 1), got ", ratio);
  types.push_back(x);
  types.push_back(RankedTensorType::get(x.getShape(), IntegerType::get(ctx, 1)));
  return success();
}

LogicalResult SoftmaxCrossEntropyLossOp::inferReturnTypes(MLIRContext *,
                                                          std::optional<Location> loc,
                                                          Adaptor adaptor,
                                                          SmallVectorImpl<Type> &types) {
  if (failed(inferLossType(loc, getOperationName(), adaptor.getScores().getType(),
                           adaptor.getLabels().getType(), adaptor.getWeights(),
                           adaptor.getReduction(), types)))
    return failure();
  types.push_back(adaptor.getScores().getType());
  return success();
}

LogicalResult NllLossOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  return inferLossType(loc, getOperationName(), adaptor.getInput().getType(),
                       adaptor.getTarget().getType(), adaptor.getWeight(),
                       adaptor.getReduction(), types);
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getX().getType() == getY().getType())
    return getX();
  return {};
}

LogicalResult QuantizeOp::verify() {
  if (getX().getType().getShape() != getQ().getType().getShape())
    return emitOpError("result shape differs from the operand's");
  return success();
}

LogicalResult DequantizeOp::verify() {
  if (getQ().getType().getShape() != getY().getType().getShape())
    return emitOpError("result shape differs from the operand's");
  return success();
}

// batch_norm computes in X's type; its scale, bias and statistics stay FP32.
OperandPrecision BatchNormOp::getOperandPrecision(unsigned index) {
  return index == 0 ? OperandPrecision::Compute : OperandPrecision::Fp32;
}

OperandPrecision BatchNormTrainOp::getOperandPrecision(unsigned index) {
  return index == 0 ? OperandPrecision::Compute : OperandPrecision::Fp32;
}

LogicalResult AmaxOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location>, Adaptor,
                                       SmallVectorImpl<Type> &types) {
  types.push_back(RankedTensorType::get({}, Float32Type::get(ctx)));
  return success();
}

} // namespace mpc
