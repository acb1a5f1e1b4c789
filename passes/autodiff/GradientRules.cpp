//===- GradientRules.cpp - the gradient rule of every differentiable op ---===//
//
// External models of mpc::GradientOpInterface (MpcGradientInterface.td),
// attached to the mpc ops by registerGradientExternalModels so MpcOps.td does
// not depend on the autodiff. Each rule builds the operand gradients from the
// result gradients with existing mpc ops where they express it exactly and with
// the gradient ops of MpcTrainingOps.td where a fused kernel is needed.
//
// Conventions (docs/ops.md, "Gradient ops"):
// * a gradient has the type of its value, so the backward of an op computes in
//   the dtype the forward op ran in (AMP); the gradient of an FP8 value is f32;
// * broadcasting operands get the result gradient summed over the broadcast
//   dims and reshaped to their shape (reduceTo);
// * ties: max/min give the gradient to the left operand when equal; reduce_max
//   splits it evenly among the maxima (torch.amax); abs has gradient 0 at 0;
//   relu has gradient 0 at 0, leaky_relu 1;
// * quantize / dequantize are straight-through: d(x * scale) / dx = scale and
//   d(q * scale_inv) / dq = scale_inv, with saturation and rounding ignored;
//   scales get no gradient; amax has none.
//
//===----------------------------------------------------------------------===//

#include "passes/autodiff/Autodiff.h"

#include "dialects/mpc/MpcGradientInterface.h"
#include "dialects/mpc/MpcOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/SymbolTable.h"

#include <numeric>

using namespace mlir;

namespace mpc {

bool isDifferentiableType(Type t) {
  auto ranked = dyn_cast<RankedTensorType>(t);
  if (!ranked)
    return false;
  Type e = ranked.getElementType();
  return e.isF32() || e.isF16() || e.isBF16() || e.isF64() || isa<Float8E4M3FNType>(e) ||
         isa<Float8E5M2Type>(e);
}

Type gradientType(Type t) {
  auto ranked = cast<RankedTensorType>(t);
  Type e = ranked.getElementType();
  if (isa<Float8E4M3FNType, Float8E5M2Type>(e))
    return RankedTensorType::get(ranked.getShape(), Float32Type::get(t.getContext()));
  return t;
}

namespace {

RankedTensorType ranked(Value v) { return cast<RankedTensorType>(v.getType()); }
Type elemOf(Value v) { return ranked(v).getElementType(); }

/// What a rule works with: the op, the builder at the backward insertion
/// point, the result gradients and the wanted operands.
struct G {
  Operation *op;
  OpBuilder &b;
  ArrayRef<Value> dys;
  ArrayRef<bool> wanted;
  SmallVectorImpl<Value> &out;
  bool failed = false;

  Location loc() const { return op->getLoc(); }
  Value operand(unsigned i) const { return op->getOperand(i); }
  Value result(unsigned i = 0) const { return op->getResult(i); }
  Value dy(unsigned i = 0) const { return dys[i]; }
  bool want(unsigned i) const { return i < wanted.size() && wanted[i]; }
  void set(unsigned i, Value g) {
    if (want(i))
      out[i] = g;
  }
  LogicalResult error(const Twine &message) {
    failed = true;
    return op->emitOpError("gradient: ") << message;
  }

  /// A scalar (rank-0) constant of element type `elem`.
  Value cst(Type elem, double v) { return splat(RankedTensorType::get({}, elem), v); }
  Value splat(RankedTensorType type, double v) {
    Attribute attr;
    if (auto ft = dyn_cast<FloatType>(type.getElementType())) {
      APFloat f(v);
      bool lost = false;
      f.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      attr = DenseElementsAttr::get(type, ArrayRef<APFloat>(f));
    } else {
      APInt i(type.getElementType().getIntOrFloatBitWidth(), static_cast<int64_t>(v), true);
      attr = DenseElementsAttr::get(type, ArrayRef<APInt>(i));
    }
    return ConstantOp::create(b, loc(), type, cast<ElementsAttr>(attr));
  }

  Value add(Value x, Value y) { return AddOp::create(b, loc(), x, y); }
  Value sub(Value x, Value y) { return SubOp::create(b, loc(), x, y); }
  Value mul(Value x, Value y) { return MulOp::create(b, loc(), x, y); }
  Value div(Value x, Value y) { return DivOp::create(b, loc(), x, y); }
  Value neg(Value x) { return NegOp::create(b, loc(), x); }
  Value mulc(Value x, double c) { return mul(x, cst(elemOf(x), c)); }
  Value where(Value c, Value x, Value y) { return WhereOp::create(b, loc(), c, x, y); }
  Value zeroLike(Value x) { return cst(elemOf(x), 0.0); }
  Value reshape(Value x, ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, elemOf(x));
    if (x.getType() == type)
      return x;
    return ReshapeOp::create(b, loc(), type, x);
  }
  Value expand(Value x, ArrayRef<int64_t> shape) {
    auto type = RankedTensorType::get(shape, elemOf(x));
    if (x.getType() == type)
      return x;
    return ExpandOp::create(b, loc(), type, x);
  }
  Value castTo(Value x, Type elem) {
    if (elemOf(x) == elem)
      return x;
    return CastOp::create(b, loc(), RankedTensorType::get(ranked(x).getShape(), elem), x);
  }
  Value reduceSum(Value x, ArrayRef<int64_t> axes, bool keepdims) {
    if (axes.empty())
      return x;
    return ReduceSumOp::create(b, loc(), x, axes, keepdims);
  }
  Value transposeLast2(Value x) {
    int64_t r = ranked(x).getRank();
    SmallVector<int64_t> perm(r);
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[r - 1], perm[r - 2]);
    return TransposeOp::create(b, loc(), x, perm);
  }

  /// Sums `g` over the dims that `target` broadcasts along (leading dims and
  /// dims of size 1) and reshapes it to target's shape; keeps g's element type.
  Value reduceTo(Value g, Value targetValue) {
    return reduceToShape(g, ranked(targetValue).getShape());
  }
  Value reduceToShape(Value g, ArrayRef<int64_t> target) {
    auto t = ranked(g);
    if (t.getShape() == target)
      return g;
    int64_t lead = t.getRank() - static_cast<int64_t>(target.size());
    if (lead < 0) {
      (void)error("cannot reduce a gradient of shape with rank " + Twine(t.getRank()) +
                  " to rank " + Twine(target.size()));
      return Value();
    }
    SmallVector<int64_t> axes;
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d < lead || (target[d - lead] == 1 && t.getDimSize(d) != 1))
        axes.push_back(d);
    return reshape(reduceSum(g, axes, /*keepdims=*/true), target);
  }
  /// reduceTo, then the operand's gradient element type.
  Value reduceToOperand(Value g, unsigned i) {
    Value r = reduceTo(g, operand(i));
    return r ? castTo(r, cast<RankedTensorType>(gradientType(operand(i).getType())).getElementType())
             : r;
  }
};

using RuleFn = LogicalResult (*)(G &);

template <typename OpTy, RuleFn Fn>
struct GradientModel : GradientOpInterface::ExternalModel<GradientModel<OpTy, Fn>, OpTy> {
  LogicalResult buildGradients(Operation *op, OpBuilder &builder, ArrayRef<Value> resultGrads,
                               ArrayRef<bool> wanted,
                               SmallVectorImpl<Value> &operandGrads) const {
    operandGrads.assign(op->getNumOperands(), Value());
    G g{op, builder, resultGrads, wanted, operandGrads};
    if (failed(Fn(g)) || g.failed)
      return failure();
    return success();
  }
};

/// Forward attributes copied onto a gradient op (those present on the op).
SmallVector<NamedAttribute> forwardAttrs(Operation *op, ArrayRef<StringRef> names) {
  SmallVector<NamedAttribute> attrs;
  for (StringRef n : names)
    if (auto a = op->getInherentAttr(n))
      attrs.emplace_back(StringAttr::get(op->getContext(), n), *a);
  return attrs;
}

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

LogicalResult reluGrad(G &g) {
  Value x = g.operand(0), zero = g.zeroLike(x);
  Value mask = GreaterOp::create(g.b, g.loc(), x, zero);
  g.set(0, g.where(mask, g.dy(), g.zeroLike(g.dy())));
  return success();
}

LogicalResult leakyReluGrad(G &g) {
  auto op = cast<LeakyReluOp>(g.op);
  Value x = g.operand(0);
  Value mask = GreaterEqualOp::create(g.b, g.loc(), x, g.zeroLike(x));
  double alpha = op.getAlpha().convertToDouble();
  g.set(0, g.where(mask, g.dy(), g.mulc(g.dy(), alpha)));
  return success();
}

LogicalResult geluGrad(G &g) {
  auto op = cast<GeluOp>(g.op);
  g.set(0, GeluGradOp::create(g.b, g.loc(), op.getX(), g.dy(), op.getApproximate()));
  return success();
}

LogicalResult erfGrad(G &g) {
  // d erf(x) = 2 / sqrt(pi) * exp(-x^2)
  Value x = g.operand(0);
  Value e = ExpOp::create(g.b, g.loc(), g.neg(g.mul(x, x)));
  g.set(0, g.mul(g.dy(), g.mulc(e, 1.1283791670955126))); // 2 / sqrt(pi)
  return success();
}

LogicalResult tanhGrad(G &g) {
  Value y = g.result();
  g.set(0, g.mul(g.dy(), g.sub(g.cst(elemOf(y), 1.0), g.mul(y, y))));
  return success();
}

LogicalResult sigmoidGrad(G &g) {
  Value y = g.result();
  g.set(0, g.mul(g.mul(g.dy(), y), g.sub(g.cst(elemOf(y), 1.0), y)));
  return success();
}

LogicalResult expGrad(G &g) {
  g.set(0, g.mul(g.dy(), g.result()));
  return success();
}

LogicalResult logGrad(G &g) {
  g.set(0, g.div(g.dy(), g.operand(0)));
  return success();
}

LogicalResult sqrtGrad(G &g) {
  g.set(0, g.div(g.mulc(g.dy(), 0.5), g.result()));
  return success();
}

LogicalResult reciprocalGrad(G &g) {
  Value y = g.result();
  g.set(0, g.neg(g.mul(g.dy(), g.mul(y, y))));
  return success();
}

LogicalResult negGrad(G &g) {
  g.set(0, g.neg(g.dy()));
  return success();
}

LogicalResult absGrad(G &g) {
  Value x = g.operand(0), zx = g.zeroLike(x), dy = g.dy();
  Value pos = GreaterOp::create(g.b, g.loc(), x, zx);
  Value negMask = LessOp::create(g.b, g.loc(), x, zx);
  g.set(0, g.where(pos, dy, g.where(negMask, g.neg(dy), g.zeroLike(dy))));
  return success();
}

//===----------------------------------------------------------------------===//
// Broadcasting binary ops and where
//===----------------------------------------------------------------------===//

LogicalResult addGrad(G &g) {
  g.set(0, g.reduceToOperand(g.dy(), 0));
  g.set(1, g.reduceToOperand(g.dy(), 1));
  return success();
}

LogicalResult subGrad(G &g) {
  g.set(0, g.reduceToOperand(g.dy(), 0));
  if (g.want(1))
    g.set(1, g.reduceToOperand(g.neg(g.dy()), 1));
  return success();
}

LogicalResult mulGrad(G &g) {
  if (g.want(0))
    g.set(0, g.reduceToOperand(g.mul(g.dy(), g.operand(1)), 0));
  if (g.want(1))
    g.set(1, g.reduceToOperand(g.mul(g.dy(), g.operand(0)), 1));
  return success();
}

LogicalResult divGrad(G &g) {
  // c = a / b: da = dy / b, db = -dy * c / b
  Value bv = g.operand(1);
  if (g.want(0))
    g.set(0, g.reduceToOperand(g.div(g.dy(), bv), 0));
  if (g.want(1))
    g.set(1, g.reduceToOperand(g.neg(g.div(g.mul(g.dy(), g.result()), bv)), 1));
  return success();
}

template <bool IsMax> LogicalResult minMaxGrad(G &g) {
  Value a = g.operand(0), bv = g.operand(1), dy = g.dy();
  Value mask = IsMax ? Value(GreaterEqualOp::create(g.b, g.loc(), a, bv))
                     : Value(LessEqualOp::create(g.b, g.loc(), a, bv));
  Value zero = g.zeroLike(dy);
  if (g.want(0))
    g.set(0, g.reduceToOperand(g.where(mask, dy, zero), 0));
  if (g.want(1))
    g.set(1, g.reduceToOperand(g.where(mask, zero, dy), 1));
  return success();
}

LogicalResult powGrad(G &g) {
  // c = a^b: da = dy * b * a^(b-1), db = dy * c * log(a)
  Value a = g.operand(0), bv = g.operand(1), dy = g.dy();
  Type ae = elemOf(a), be = elemOf(bv);
  if (g.want(0)) {
    Value bm1 = g.sub(bv, g.cst(be, 1.0));
    Value p = PowOp::create(g.b, g.loc(), a, bm1);
    g.set(0, g.reduceToOperand(g.mul(dy, g.mul(p, g.castTo(bv, ae))), 0));
  }
  if (g.want(1)) {
    Value l = LogOp::create(g.b, g.loc(), a);
    Value t = g.mul(g.mul(dy, g.result()), l);
    g.set(1, g.reduceToOperand(g.castTo(t, be), 1));
  }
  return success();
}

LogicalResult whereGrad(G &g) {
  Value cond = g.operand(0), dy = g.dy(), zero = g.zeroLike(dy);
  if (g.want(1))
    g.set(1, g.reduceToOperand(g.where(cond, dy, zero), 1));
  if (g.want(2))
    g.set(2, g.reduceToOperand(g.where(cond, zero, dy), 2));
  return success();
}

//===----------------------------------------------------------------------===//
// Linear algebra and convolution
//===----------------------------------------------------------------------===//

LogicalResult matmulGrad(G &g) {
  Value a = g.operand(0), bv = g.operand(1), dc = g.dy();
  auto at = ranked(a), bt = ranked(bv);
  // Promote 1-D operands as the forward op does: [K] x .. -> [1,K], .. x [K] -> [K,1].
  Value a2 = at.getRank() == 1 ? g.reshape(a, {1, at.getDimSize(0)}) : a;
  Value b2 = bt.getRank() == 1 ? g.reshape(bv, {bt.getDimSize(0), 1}) : bv;
  SmallVector<int64_t> dcShape(ranked(dc).getShape());
  if (at.getRank() == 1)
    dcShape.insert(dcShape.end() - (bt.getRank() == 1 ? 0 : 1), 1);
  if (bt.getRank() == 1)
    dcShape.push_back(1);
  Value dc2 = g.reshape(dc, dcShape);
  if (g.want(0)) {
    Value da = MatMulOp::create(g.b, g.loc(), dc2, g.transposeLast2(b2));
    Value r = g.reduceTo(da, a2);
    if (!r)
      return failure();
    g.set(0, g.reshape(r, at.getShape()));
  }
  if (g.want(1)) {
    Value db = MatMulOp::create(g.b, g.loc(), g.transposeLast2(a2), dc2);
    Value r = g.reduceTo(db, b2);
    if (!r)
      return failure();
    g.set(1, g.reshape(r, bt.getShape()));
  }
  return success();
}

LogicalResult gemmGrad(G &g) {
  auto op = cast<GemmOp>(g.op);
  Value a = op.getA(), bv = op.getB(), dy = g.dy();
  bool ta = op.getTransA(), tb = op.getTransB();
  APFloat alpha = op.getAlpha();
  auto gemm = [&](Value x, Value y, bool tx, bool ty) -> Value {
    return GemmOp::create(g.b, g.loc(), x, y, Value(), alpha, APFloat(1.0f), tx, ty);
  };
  // y = alpha * op(a) op(b) + beta * c
  if (g.want(0))
    g.set(0, ta ? gemm(bv, dy, tb, true) : gemm(dy, bv, false, !tb));
  if (g.want(1))
    g.set(1, tb ? gemm(dy, a, true, ta) : gemm(a, dy, !ta, false));
  if (op.getC() && g.want(2)) {
    double beta = op.getBeta().convertToDouble();
    Value dc = beta == 1.0 ? dy : g.mulc(dy, beta);
    g.set(2, g.reduceToOperand(dc, 2));
  }
  return success();
}

LogicalResult convGrad(G &g) {
  auto op = cast<ConvOp>(g.op);
  auto attrs = forwardAttrs(g.op, {"strides", "pads", "dilations", "group"});
  Value dy = g.dy();
  if (g.want(0))
    g.set(0, ConvGradInputOp::create(g.b, g.loc(), TypeRange{op.getX().getType()},
                                     ValueRange{dy, op.getW()}, attrs));
  if (g.want(1))
    g.set(1, ConvGradWeightOp::create(g.b, g.loc(), TypeRange{op.getW().getType()},
                                      ValueRange{op.getX(), dy}, attrs));
  if (op.getB() && g.want(2))
    g.set(2, g.castTo(g.reduceSum(dy, {0, 2, 3}, /*keepdims=*/false), elemOf(op.getB())));
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling and normalisation
//===----------------------------------------------------------------------===//

LogicalResult maxPoolGrad(G &g) {
  auto attrs =
      forwardAttrs(g.op, {"kernel_shape", "strides", "pads", "dilations", "ceil_mode"});
  g.set(0, MaxPoolGradOp::create(g.b, g.loc(), ValueRange{g.operand(0), g.dy()}, attrs));
  return success();
}

LogicalResult avgPoolGrad(G &g) {
  auto attrs = forwardAttrs(
      g.op, {"kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad"});
  g.set(0, AvgPoolGradOp::create(g.b, g.loc(), TypeRange{g.operand(0).getType()},
                                 ValueRange{g.dy()}, attrs));
  return success();
}

LogicalResult globalAvgPoolGrad(G &g) {
  auto x = ranked(g.operand(0));
  int64_t count = 1;
  for (int64_t d = 2; d < x.getRank(); ++d)
    count *= x.getDimSize(d);
  g.set(0, g.expand(g.mulc(g.dy(), 1.0 / static_cast<double>(count)), x.getShape()));
  return success();
}

/// [C] -> [C, 1, ...] so it broadcasts along dim 1 of a rank-`rank` tensor.
Value channelShape(G &g, Value v, int64_t rank) {
  SmallVector<int64_t> shape = {ranked(v).getDimSize(0)};
  shape.append(rank - 2, 1);
  return g.reshape(v, shape);
}

/// Every axis but the channel axis 1.
SmallVector<int64_t> nonChannelAxes(int64_t rank) {
  SmallVector<int64_t> axes = {0};
  for (int64_t d = 2; d < rank; ++d)
    axes.push_back(d);
  return axes;
}

LogicalResult batchNormGrad(G &g) {
  // Inference: y = (x - mean) * rstd * scale + bias, rstd = 1 / sqrt(var + eps).
  auto op = cast<BatchNormOp>(g.op);
  Value x = op.getX(), dy = g.dy();
  int64_t rank = ranked(x).getRank();
  Type se = elemOf(op.getVar());
  Value var = op.getVar();
  Value rstd = ReciprocalOp::create(
      g.b, g.loc(),
      SqrtOp::create(g.b, g.loc(), g.add(var, g.cst(se, op.getEpsilon().convertToDouble()))));
  Type xe = elemOf(x);
  if (g.want(0)) {
    Value factor = g.mul(g.castTo(op.getScale(), se), rstd);
    g.set(0, g.mul(dy, g.castTo(channelShape(g, factor, rank), xe)));
  }
  SmallVector<int64_t> axes = nonChannelAxes(rank);
  if (g.want(1)) {
    Value mean = g.castTo(channelShape(g, g.castTo(op.getMean(), se), rank), xe);
    Value xhat = g.mul(g.sub(x, mean), g.castTo(channelShape(g, rstd, rank), xe));
    g.set(1, g.castTo(g.reduceSum(g.mul(dy, xhat), axes, false), elemOf(op.getScale())));
  }
  if (g.want(2))
    g.set(2, g.castTo(g.reduceSum(dy, axes, false), elemOf(op.getBias())));
  return success();
}

/// The dtype a statistic's gradient is computed in: f64 for f64 tensors, else f32.
Type statComputeType(G &g, Value x) {
  return elemOf(x).isF64() ? Type(g.b.getF64Type()) : Type(g.b.getF32Type());
}

/// dx + extra, either of which may be null.
Value addOrSet(G &g, Value dx, Value extra) {
  if (!dx)
    return extra;
  if (!extra)
    return dx;
  return g.add(dx, extra);
}

LogicalResult batchNormTrainGrad(G &g) {
  // y = (x - mean_c) * rstd_c * scale + bias with the batch statistics, and
  // new_running_mean = m * running_mean + (1 - m) * mean_c,
  // new_running_var  = m * running_var  + (1 - m) * var_c (biased, as ONNX).
  // All three results are differentiable: d mean_c / dx = 1 / N and
  // d var_c / dx = 2 (x - mean_c) / N over the N elements of channel c.
  auto op = cast<BatchNormTrainOp>(g.op);
  Value x = op.getX();
  Value dx;
  if (g.dy(0)) {
    auto grad = BatchNormTrainGradOp::create(g.b, g.loc(), x, op.getScale(), g.dy(0),
                                             op.getEpsilon());
    dx = grad.getDx();
    g.set(1, grad.getDscale());
    g.set(2, g.castTo(grad.getDbias(), elemOf(op.getBias())));
  }
  double momentum = op.getMomentum().convertToDouble();
  if ((g.dy(1) || g.dy(2)) && g.want(0)) {
    auto xt = ranked(x);
    int64_t rank = xt.getRank();
    SmallVector<int64_t> axes = nonChannelAxes(rank);
    double count = 1;
    for (int64_t d : axes)
      count *= static_cast<double>(xt.getDimSize(d));
    Type ce = statComputeType(g, x);
    Value xc = g.castTo(x, ce);
    Value extra;
    if (Value drm = g.dy(1)) // (1 - m) / N * d_rm[c]
      extra = channelShape(g, g.mulc(g.castTo(drm, ce), (1.0 - momentum) / count), rank);
    if (Value drv = g.dy(2)) { // (1 - m) * 2 (x - mean_c) / N * d_rv[c]
      Value mean = g.mulc(g.reduceSum(xc, axes, /*keepdims=*/true), 1.0 / count);
      Value coef = channelShape(g, g.mulc(g.castTo(drv, ce), 2.0 * (1.0 - momentum) / count),
                                rank);
      Value t = g.mul(g.sub(xc, mean), coef);
      extra = extra ? g.add(t, extra) : t;
    }
    extra = g.expand(extra, xt.getShape());
    dx = addOrSet(g, dx, g.castTo(extra, cast<RankedTensorType>(gradientType(x.getType()))
                                             .getElementType()));
  }
  g.set(0, dx);
  // The running statistics inputs: d new_running_* / d running_* = momentum.
  if (Value drm = g.dy(1); drm && g.want(3))
    g.set(3, g.castTo(g.mulc(drm, momentum), elemOf(op.getRunningMean())));
  if (Value drv = g.dy(2); drv && g.want(4))
    g.set(4, g.castTo(g.mulc(drv, momentum), elemOf(op.getRunningVar())));
  return success();
}

LogicalResult layerNormGrad(G &g) {
  // Besides y, mean = sum(x) / N and inv_std_dev = (var + eps)^(-1/2) with
  // var = sum((x - mean)^2) / N over the N normalised elements of a row are
  // differentiable: d mean / dx = 1 / N, d inv_std_dev / dx =
  // -inv_std_dev^3 (x - mean) / N. They are f32 (ONNX stash_type 1); their
  // gradient is computed in f32 (f64 for f64 x) and added to dx.
  auto op = cast<LayerNormOp>(g.op);
  Value x = op.getX();
  Value dx;
  if (g.dy(0)) {
    auto grad = LayerNormGradOp::create(g.b, g.loc(), x, op.getScale(), op.getMean(),
                                        op.getInvStdDev(), g.dy(0), op.getAxisAttr(),
                                        g.b.getF32FloatAttr(op.getEpsilon().convertToFloat()));
    dx = grad.getDx();
    g.set(1, grad.getDscale());
    if (Value bias = op.getBias(); bias && g.want(2)) {
      if (bias.getType() == op.getScale().getType())
        g.set(2, grad.getDbias());
      else
        g.set(2, g.reduceToOperand(g.dy(0), 2));
    }
  }
  if ((g.dy(1) || g.dy(2)) && g.want(0)) {
    auto xt = ranked(x);
    double count = 1;
    for (int64_t d = op.getAxis(); d < xt.getRank(); ++d)
      count *= static_cast<double>(xt.getDimSize(d));
    Type ce = statComputeType(g, x);
    Value extra;
    if (Value dmean = g.dy(1))
      extra = g.mulc(g.castTo(dmean, ce), 1.0 / count);
    if (Value dinv = g.dy(2)) {
      Value rstd = g.castTo(op.getInvStdDev(), ce);
      Value mean = g.castTo(op.getMean(), ce);
      Value coef = g.mulc(g.mul(g.castTo(dinv, ce), g.mul(rstd, g.mul(rstd, rstd))), -1.0 / count);
      Value t = g.mul(g.sub(g.castTo(x, ce), mean), coef);
      extra = extra ? g.add(t, extra) : t;
    }
    extra = g.expand(extra, xt.getShape());
    dx = addOrSet(g, dx, g.castTo(extra, cast<RankedTensorType>(gradientType(x.getType()))
                                             .getElementType()));
  }
  g.set(0, dx);
  return success();
}

template <typename OpTy, typename GradTy> LogicalResult softmaxGrad(G &g) {
  auto op = cast<OpTy>(g.op);
  g.set(0, GradTy::create(g.b, g.loc(), op.getY(), g.dy(), op.getAxis()));
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// The result gradient with the reduced dims kept (as size 1).
template <typename OpTy> Value keptGrad(G &g, OpTy op, Value v) {
  if (op.getKeepdims())
    return v;
  SmallVector<int64_t> shape(op.getX().getType().getShape());
  for (int64_t a : op.getAxes())
    shape[a] = 1;
  return g.reshape(v, shape);
}

template <bool Mean> LogicalResult reduceSumMeanGrad(G &g) {
  auto x = ranked(g.operand(0));
  Value dyk;
  int64_t count = 1;
  if constexpr (Mean) {
    auto op = cast<ReduceMeanOp>(g.op);
    dyk = keptGrad(g, op, g.dy());
    for (int64_t a : op.getAxes())
      count *= x.getDimSize(a);
  } else {
    dyk = keptGrad(g, cast<ReduceSumOp>(g.op), g.dy());
  }
  if (Mean)
    dyk = g.mulc(dyk, 1.0 / static_cast<double>(count));
  g.set(0, g.expand(dyk, x.getShape()));
  return success();
}

LogicalResult reduceMaxGrad(G &g) {
  auto op = cast<ReduceMaxOp>(g.op);
  Value x = op.getX();
  auto xt = ranked(x);
  Value yk = g.expand(keptGrad(g, op, op.getY()), xt.getShape());
  Value mask = EqualOp::create(g.b, g.loc(), x, yk);
  Type e = elemOf(x);
  // Ties share the gradient evenly (torch.amax).
  Value ones = g.where(mask, g.cst(e, 1.0), g.cst(e, 0.0));
  Value count = g.reduceSum(ones, op.getAxes(), /*keepdims=*/true);
  Value share = g.div(keptGrad(g, op, g.dy()), count);
  g.set(0, g.where(mask, g.expand(share, xt.getShape()), g.zeroLike(x)));
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult reshapeGrad(G &g) {
  g.set(0, g.reshape(g.dy(), ranked(g.operand(0)).getShape()));
  return success();
}

LogicalResult transposeGrad(G &g) {
  auto op = cast<TransposeOp>(g.op);
  ArrayRef<int64_t> perm = op.getPerm();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = static_cast<int64_t>(i);
  g.set(0, TransposeOp::create(g.b, g.loc(), g.dy(), inverse));
  return success();
}

LogicalResult concatGrad(G &g) {
  auto op = cast<ConcatOp>(g.op);
  int64_t axis = op.getAxis();
  SmallVector<int64_t> sizes;
  for (Value v : op.getInputs())
    sizes.push_back(ranked(v).getDimSize(axis));
  auto split = SplitOp::create(g.b, g.loc(), g.dy(), axis, sizes);
  for (unsigned i = 0; i < op.getInputs().size(); ++i)
    g.set(i, split.getResult(i));
  return success();
}

LogicalResult splitGrad(G &g) {
  auto op = cast<SplitOp>(g.op);
  SmallVector<Value> pieces;
  for (auto [i, r] : llvm::enumerate(op.getOutputs()))
    pieces.push_back(g.dy(i) ? g.dy(i) : g.splat(cast<RankedTensorType>(r.getType()), 0.0));
  g.set(0, ConcatOp::create(g.b, g.loc(), pieces, op.getAxis()));
  return success();
}

LogicalResult sliceGrad(G &g) {
  auto attrs = forwardAttrs(g.op, {"starts", "ends", "steps"});
  g.set(0, SliceGradOp::create(g.b, g.loc(), TypeRange{g.operand(0).getType()},
                               ValueRange{g.dy()}, attrs));
  return success();
}

LogicalResult gatherGrad(G &g) {
  auto op = cast<GatherOp>(g.op);
  g.set(0, GatherGradOp::create(g.b, g.loc(), op.getData().getType(), op.getIndices(), g.dy(),
                                op.getAxis()));
  return success();
}

LogicalResult expandGrad(G &g) {
  g.set(0, g.reduceToOperand(g.dy(), 0));
  return success();
}

//===----------------------------------------------------------------------===//
// Training and precision ops
//===----------------------------------------------------------------------===//

LogicalResult dropoutGrad(G &g) {
  auto op = cast<DropoutOp>(g.op);
  if (!g.dy(0))
    return success();
  g.set(0, DropoutGradOp::create(g.b, g.loc(), g.dy(0), op.getMask(), op.getRatio()));
  return success();
}

LogicalResult softmaxCrossEntropyGrad(G &g) {
  auto op = cast<SoftmaxCrossEntropyLossOp>(g.op);
  Value total;
  if (g.dy(0))
    total = SoftmaxCrossEntropyLossGradOp::create(
        g.b, g.loc(), op.getLogProb(), op.getLabels(), op.getWeights(), g.dy(0),
        op.getReductionAttr(), op.getIgnoreIndexAttr());
  if (g.dy(1)) {
    // log_prob = log_softmax(scores, axis 1)
    Value d = LogSoftmaxGradOp::create(g.b, g.loc(), op.getLogProb(), g.dy(1), 1);
    total = total ? g.add(total, d) : d;
  }
  g.set(0, total);
  return success();
}

LogicalResult nllLossGrad(G &g) {
  auto op = cast<NllLossOp>(g.op);
  g.set(0, NllLossGradOp::create(g.b, g.loc(), op.getInput().getType(), op.getTarget(),
                                 op.getWeight(), g.dy(), op.getReductionAttr(),
                                 op.getIgnoreIndexAttr()));
  return success();
}

LogicalResult castGrad(G &g) {
  Value x = g.operand(0);
  if (!isDifferentiableType(x.getType()))
    return success();
  g.set(0, g.castTo(g.dy(), cast<RankedTensorType>(gradientType(x.getType())).getElementType()));
  return success();
}

LogicalResult quantizeGrad(G &g) {
  // Straight-through: q = sat(x * scale), dq/dx = scale.
  auto op = cast<QuantizeOp>(g.op);
  Value dq = g.castTo(g.dy(), Float32Type::get(g.op->getContext()));
  g.set(0, g.castTo(g.mul(dq, op.getScale()), elemOf(op.getX())));
  return success();
}

LogicalResult dequantizeGrad(G &g) {
  // y = q * scale_inv: the gradient of the FP8 q is carried in f32.
  auto op = cast<DequantizeOp>(g.op);
  Value dy = g.castTo(g.dy(), Float32Type::get(g.op->getContext()));
  g.set(0, g.mul(dy, op.getScaleInv()));
  return success();
}

//===----------------------------------------------------------------------===//
// FP8 (mpc-fp8, issue #8)
//===----------------------------------------------------------------------===//

LogicalResult fp8QuantizeGrad(G &g) {
  // Straight-through as quantize: q = sat(x * scale), dq/dx = scale. The amax
  // result has no gradient.
  auto op = cast<Fp8QuantizeOp>(g.op);
  if (!g.dy(0))
    return success();
  Value dq = g.castTo(g.dy(0), Float32Type::get(g.op->getContext()));
  g.set(0, g.castTo(g.mul(dq, op.getScale()), elemOf(op.getX())));
  return success();
}

/// The 2-D transpose of an FP8 value, folding a transpose of a transpose.
Value fp8Transposed(G &g, Value v) {
  if (auto t = v.getDefiningOp<TransposeOp>())
    if (t.getPerm() == ArrayRef<int64_t>{1, 0})
      return t.getX();
  return TransposeOp::create(g.b, g.loc(), v, ArrayRef<int64_t>{1, 0});
}

LogicalResult fp8GemmGrad(G &g) {
  // y = alpha * (A B^T) * sa * sb + beta * c, A = a (M x K), B = b (N x K),
  // FP8 values. The gradient of an FP8 value is f32 in q units (the
  // straight-through rule of fp8_quantize multiplies it by the scale):
  //   da = alpha * dY B * sa * sb     (dgrad: dY quantized, TN with B^T)
  //   db = alpha * dY^T A * sa * sb   (wgrad: TN with dY^T and A^T)
  // dY is quantized to E5M2 (format hybrid) or E4M3 with the grad_output
  // scaling state `<state>.fp8.grad_output.*` of the forward node (delayed
  // recipe, its amax recorded for mpc-fp8-scale-update) or with a current
  // scale from its own amax (recipe current, or an fp8_gemm not made by mpc-fp8).
  auto op = cast<Fp8GemmOp>(g.op);
  MLIRContext *ctx = op.getContext();
  auto f32 = Float32Type::get(ctx);
  auto scalar = RankedTensorType::get({}, f32);
  Value dy = g.dy();
  std::string state, recipe = "current";
  bool e4m3Grad = false;
  int64_t margin = 0;
  if (auto info = op->getAttrOfType<DictionaryAttr>("mpc.fp8")) {
    if (auto s = info.getAs<StringAttr>("state"))
      state = s.str();
    if (auto r = info.getAs<StringAttr>("recipe"))
      recipe = r.str();
    if (auto f = info.getAs<StringAttr>("grad_format"))
      e4m3Grad = f.getValue() == "e4m3";
    if (auto m = info.getAs<IntegerAttr>("margin"))
      margin = m.getInt();
  }
  Type gradElem = e4m3Grad ? Type(Float8E4M3FNType::get(ctx)) : Type(Float8E5M2Type::get(ctx));
  for (Value v : {op.getA(), op.getB()})
    if (!e4m3Grad && isa<Float8E5M2Type>(elemOf(v)))
      return g.error("an E5M2 operand cannot meet an E5M2 gradient in an FP8 GEMM; use "
                     "E4M3 forward operands");
  bool delayed = recipe == "delayed" && !state.empty();
  Value gs, gsi;
  if (delayed) {
    for (auto [suffix, out] : {std::pair(".scale", &gs), std::pair(".scale_inv", &gsi)}) {
      std::string name = state + ".fp8.grad_output" + suffix;
      auto sym = FlatSymbolRefAttr::get(ctx, name);
      if (!SymbolTable::lookupNearestSymbolFrom(op, sym.getAttr()))
        return g.error("the FP8 scaling state '" + name + "' does not exist (run mpc-fp8)");
      *out = ml_program::GlobalLoadOp::create(g.b, g.loc(), scalar, sym);
    }
  } else {
    Value amax = AmaxOp::create(g.b, g.loc(), dy);
    auto cs = Fp8CurrentScaleOp::create(
        g.b, g.loc(), TypeRange{scalar, scalar}, ValueRange{amax},
        {NamedAttribute(g.b.getStringAttr("format"), g.b.getI64IntegerAttr(e4m3Grad ? 5 : 6)),
         NamedAttribute(g.b.getStringAttr("margin"), g.b.getI64IntegerAttr(margin))});
    gs = cs.getScale();
    gsi = cs.getScaleInv();
  }
  auto dqType = RankedTensorType::get(ranked(dy).getShape(), gradElem);
  auto quant = Fp8QuantizeOp::create(g.b, g.loc(), TypeRange{dqType, scalar}, ValueRange{dy, gs});
  if (delayed)
    quant->setAttr("mpc.fp8_operand", StringAttr::get(ctx, state + ".fp8.grad_output"));
  Value dq = quant.getQ();
  Value sa = op.getAScaleInv(), sb = op.getBScaleInv();
  float alpha = op.getAlpha().convertToFloat();
  auto gemm = [&](Value x, Value y, Value s2) -> Value {
    auto t = RankedTensorType::get({ranked(x).getDimSize(0), ranked(y).getDimSize(0)}, f32);
    return Fp8GemmOp::create(g.b, g.loc(), TypeRange{t}, ValueRange{x, y, gsi, s2},
                             {NamedAttribute(g.b.getStringAttr("alpha"),
                                             g.b.getF32FloatAttr(alpha))});
  };
  // (Operands built one statement at a time: the IR order must not depend on
  // the compiler's argument evaluation order.)
  if (g.want(0)) {
    Value bt = fp8Transposed(g, op.getB());
    Value s2 = g.mul(sb, sa);
    g.set(0, gemm(dq, bt, s2));
  }
  if (g.want(1)) {
    Value dqt = fp8Transposed(g, dq);
    Value at = fp8Transposed(g, op.getA());
    Value s2 = g.mul(sa, sb);
    g.set(1, gemm(dqt, at, s2));
  }
  if (Value c = op.getC(); c && g.want(4)) {
    double beta = op.getBeta().convertToDouble();
    g.set(4, g.reduceToOperand(beta == 1.0 ? dy : g.mulc(dy, beta), 4));
  }
  return success();
}

LogicalResult mxGemmGrad(G &g) {
  // y = alpha * MX(A) MX(B)^T + beta * c on high-precision A (M x K), B (N x K).
  // MXFP8 training quantizes each GEMM's operands in blocks along that GEMM's
  // own reduction dim, from the high-precision tensors:
  //   dA = alpha * dY B      : mx_gemm(dY, B^T), blocks along N
  //   dB = alpha * dY^T A    : mx_gemm(dY^T, A^T), blocks along M
  // with dY in grad_format (E5M2 for hybrid) and straight-through quantization.
  auto op = cast<MxGemmOp>(g.op);
  Value dy = g.dy();
  auto t = [&](Value v) -> Value {
    return TransposeOp::create(g.b, g.loc(), v, ArrayRef<int64_t>{1, 0});
  };
  auto gemm = [&](Value x, Value y, int64_t bFormat, Type elem) -> Value {
    auto type = RankedTensorType::get({ranked(x).getDimSize(0), ranked(y).getDimSize(0)}, elem);
    return MxGemmOp::create(
        g.b, g.loc(), TypeRange{type}, ValueRange{x, y},
        {NamedAttribute(g.b.getStringAttr("a_format"), g.b.getI64IntegerAttr(op.getGradFormat())),
         NamedAttribute(g.b.getStringAttr("b_format"), g.b.getI64IntegerAttr(bFormat)),
         NamedAttribute(g.b.getStringAttr("grad_format"), g.b.getI64IntegerAttr(op.getGradFormat())),
         NamedAttribute(g.b.getStringAttr("alpha"), op.getAlphaAttr())});
  };
  for (Value v : {dy})
    if (ranked(v).getDimSize(0) % 32 != 0 || ranked(v).getDimSize(1) % 32 != 0)
      return g.error("MXFP8 backward needs M and N to be multiples of the 32-element block");
  if (g.want(0)) {
    Value bt = t(op.getB());
    g.set(0, gemm(dy, bt, op.getBFormat(), elemOf(op.getA())));
  }
  if (g.want(1)) {
    Value dyt = t(dy);
    Value at = t(op.getA());
    g.set(1, gemm(dyt, at, op.getAFormat(), elemOf(op.getB())));
  }
  if (Value c = op.getC(); c && g.want(2)) {
    double beta = op.getBeta().convertToDouble();
    g.set(2, g.reduceToOperand(beta == 1.0 ? dy : g.mulc(dy, beta), 2));
  }
  return success();
}

template <typename OpTy, RuleFn Fn> void attach(MLIRContext *ctx) {
  OpTy::template attachInterface<GradientModel<OpTy, Fn>>(*ctx);
}

} // namespace

void registerGradientExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MpcDialect *) {
    attach<ReluOp, reluGrad>(ctx);
    attach<LeakyReluOp, leakyReluGrad>(ctx);
    attach<GeluOp, geluGrad>(ctx);
    attach<ErfOp, erfGrad>(ctx);
    attach<TanhOp, tanhGrad>(ctx);
    attach<SigmoidOp, sigmoidGrad>(ctx);
    attach<ExpOp, expGrad>(ctx);
    attach<LogOp, logGrad>(ctx);
    attach<SqrtOp, sqrtGrad>(ctx);
    attach<ReciprocalOp, reciprocalGrad>(ctx);
    attach<NegOp, negGrad>(ctx);
    attach<AbsOp, absGrad>(ctx);
    attach<AddOp, addGrad>(ctx);
    attach<SubOp, subGrad>(ctx);
    attach<MulOp, mulGrad>(ctx);
    attach<DivOp, divGrad>(ctx);
    attach<MaxOp, minMaxGrad<true>>(ctx);
    attach<MinOp, minMaxGrad<false>>(ctx);
    attach<PowOp, powGrad>(ctx);
    attach<WhereOp, whereGrad>(ctx);
    attach<MatMulOp, matmulGrad>(ctx);
    attach<GemmOp, gemmGrad>(ctx);
    attach<ConvOp, convGrad>(ctx);
    attach<MaxPoolOp, maxPoolGrad>(ctx);
    attach<AvgPoolOp, avgPoolGrad>(ctx);
    attach<GlobalAvgPoolOp, globalAvgPoolGrad>(ctx);
    attach<BatchNormOp, batchNormGrad>(ctx);
    attach<BatchNormTrainOp, batchNormTrainGrad>(ctx);
    attach<LayerNormOp, layerNormGrad>(ctx);
    attach<SoftmaxOp, softmaxGrad<SoftmaxOp, SoftmaxGradOp>>(ctx);
    attach<LogSoftmaxOp, softmaxGrad<LogSoftmaxOp, LogSoftmaxGradOp>>(ctx);
    attach<ReduceSumOp, reduceSumMeanGrad<false>>(ctx);
    attach<ReduceMeanOp, reduceSumMeanGrad<true>>(ctx);
    attach<ReduceMaxOp, reduceMaxGrad>(ctx);
    attach<ReshapeOp, reshapeGrad>(ctx);
    attach<TransposeOp, transposeGrad>(ctx);
    attach<ConcatOp, concatGrad>(ctx);
    attach<SplitOp, splitGrad>(ctx);
    attach<SliceOp, sliceGrad>(ctx);
    attach<GatherOp, gatherGrad>(ctx);
    attach<ExpandOp, expandGrad>(ctx);
    attach<DropoutOp, dropoutGrad>(ctx);
    attach<SoftmaxCrossEntropyLossOp, softmaxCrossEntropyGrad>(ctx);
    attach<NllLossOp, nllLossGrad>(ctx);
    attach<CastOp, castGrad>(ctx);
    attach<QuantizeOp, quantizeGrad>(ctx);
    attach<DequantizeOp, dequantizeGrad>(ctx);
    attach<Fp8QuantizeOp, fp8QuantizeGrad>(ctx);
    attach<Fp8GemmOp, fp8GemmGrad>(ctx);
    attach<MxGemmOp, mxGemmGrad>(ctx);
  });
}

} // namespace mpc
