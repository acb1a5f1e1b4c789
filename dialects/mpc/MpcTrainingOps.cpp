//===- MpcTrainingOps.cpp - gradient and optimizer op rules ---------------===//
//
// Type inference and verifiers of the ops in MpcTrainingOps.td. As in
// MpcOps.cpp, every rule names the op and the operand or attribute at fault
// and none asserts: a malformed hand-written .mlir file is an error.
//
//===----------------------------------------------------------------------===//

#include "dialects/mpc/MpcOps.h"

#include <cmath>

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace mpc {

namespace {

template <typename... Args>
LogicalResult fail(std::optional<Location> loc, StringRef opName, Args &&...args) {
  return emitOptionalError(loc, "'", opName, "' ", std::forward<Args>(args)...);
}

std::string shapeStr(ArrayRef<int64_t> shape) { return shapeString(shape); }

RankedTensorType ranked(Value v) { return cast<RankedTensorType>(v.getType()); }

/// The forward output shape of a 2-D window op (conv / pooling) over `x`
/// with `channels` output channels, or failure with a diagnostic.
FailureOr<Shape> windowShape(std::optional<Location> loc, StringRef op, RankedTensorType x,
                             int64_t channels, ArrayRef<int64_t> kernel,
                             ArrayRef<int64_t> strides, ArrayRef<int64_t> pads,
                             ArrayRef<int64_t> dilations, bool ceilMode) {
  if (x.getRank() != 4)
    return fail(loc, op, "supports 2-D inputs (rank 4, NCHW) only, got ", x);
  if (failed(verifyWindowAttrs(loc, op, kernel, strides, pads, dilations)))
    return failure();
  Shape shape = {x.getDimSize(0), channels, 0, 0};
  for (int i = 0; i < 2; ++i) {
    shape[2 + i] = windowOutputSize(x.getDimSize(2 + i), kernel[i], strides[i], pads[i],
                                    pads[i + 2], dilations[i], ceilMode);
    if (shape[2 + i] <= 0)
      return fail(loc, op, "window of ", kernel[i], " does not fit spatial dim ", i, " of ", x);
  }
  return shape;
}

/// dy (the gradient of the forward result) must have the forward result's shape.
LogicalResult checkForwardShape(std::optional<Location> loc, StringRef op, StringRef what,
                                ArrayRef<int64_t> expected, RankedTensorType dy) {
  if (dy.getShape() != expected)
    return fail(loc, op, what, " implies a forward result of shape ", shapeStr(expected),
                ", but dy is ", dy);
  return success();
}

LogicalResult checkConv(std::optional<Location> loc, StringRef op, RankedTensorType x,
                        RankedTensorType w, RankedTensorType dy, ArrayRef<int64_t> strides,
                        ArrayRef<int64_t> pads, ArrayRef<int64_t> dilations, int64_t group) {
  if (x.getRank() != 4 || w.getRank() != 4 || dy.getRank() != 4)
    return fail(loc, op, "supports 2-D convolution only (rank-4 x, w and dy), got ", x, ", ", w,
                ", ", dy);
  if (group <= 0 || w.getDimSize(0) % group != 0 || x.getDimSize(1) != w.getDimSize(1) * group)
    return fail(loc, op, "channels do not match: x has ", x.getDimSize(1), ", w expects ",
                w.getDimSize(1), " x group ", group);
  if (x.getElementType() != w.getElementType())
    return fail(loc, op, "x and w element types differ: ", x, " vs ", w);
  Shape kernel = {w.getDimSize(2), w.getDimSize(3)};
  auto y = windowShape(loc, op, x, w.getDimSize(0), kernel, strides, pads, dilations, false);
  if (failed(y))
    return failure();
  return checkForwardShape(loc, op, "the forward conv", *y, dy);
}

LogicalResult checkScalarF32(std::optional<Location> loc, StringRef op, StringRef what,
                             Value v) {
  auto t = ranked(v);
  if (t.getRank() != 0 || !t.getElementType().isF32())
    return fail(loc, op, what, " must be an f32 scalar tensor, got ", t);
  return success();
}

/// The mixed-precision extensions shared by the torch.optim ops: the optional
/// `skip` flag, the `working_type` result and `lr_scale`. Appends the type of
/// `new_working` when the op has one.
LogicalResult inferOptimizerExtensions(std::optional<Location> loc, StringRef op, Value param,
                                       Value skip, std::optional<Type> workingType,
                                       FloatAttr lrScaleAttr, SmallVectorImpl<Type> &types) {
  if (skip && failed(checkScalarF32(loc, op, "skip", skip)))
    return failure();
  // The attribute may be absent while an op is built (its default is 1).
  float lrScale = lrScaleAttr ? lrScaleAttr.getValue().convertToFloat() : 1.0f;
  if (!(lrScale >= 0.0f) || std::isinf(lrScale))
    return fail(loc, op, "lr_scale must be finite and non-negative, got ", lrScale);
  if (!workingType)
    return success();
  Type w = *workingType;
  if (!w.isF16() && !w.isBF16())
    return fail(loc, op, "working_type must be f16 or bf16, got ", w);
  auto p = ranked(param);
  if (!p.getElementType().isF32())
    return fail(loc, op, "a working copy needs an f32 (master) param, got ", p);
  types.push_back(RankedTensorType::get(p.getShape(), w));
  return success();
}

/// A state operand (gradient, moment, buffer) must have the parameter's shape.
LogicalResult checkLikeParam(std::optional<Location> loc, StringRef op, StringRef paramName,
                             Value param, ArrayRef<std::pair<StringRef, Value>> others) {
  auto p = ranked(param);
  for (auto [name, v] : others) {
    if (ranked(v).getShape() != p.getShape())
      return fail(loc, op, name, " of type ", v.getType(), " does not have the shape of ",
                  paramName, " ", p);
  }
  return success();
}

/// The loss-gradient rules: input N x C x D..., labels N x D..., dloss the
/// forward loss's shape, weights [C].
LogicalResult checkLossGrad(std::optional<Location> loc, StringRef op, RankedTensorType input,
                            RankedTensorType labels, Value weights, RankedTensorType dloss,
                            StringRef reduction) {
  Shape lossShape;
  if (failed(verifyLossOperands(loc, op, "the forward input", input, labels, weights, reduction,
                                lossShape)))
    return failure();
  if (dloss.getShape() != ArrayRef<int64_t>(lossShape))
    return fail(loc, op, "dloss must have the forward loss's shape ", shapeStr(lossShape),
                ", got ", dloss);
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Gradient ops
//===----------------------------------------------------------------------===//

LogicalResult GeluGradOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

namespace {
template <typename OpTy> LogicalResult verifyGradAxis(OpTy op) {
  int64_t axis = op.getAxisAttr().getInt();
  if (axis < 0 || axis >= op.getY().getType().getRank())
    return op.emitOpError("axis ") << axis << " is out of range for " << op.getY().getType();
  return success();
}
} // namespace

LogicalResult SoftmaxGradOp::verify() { return verifyGradAxis(*this); }
LogicalResult LogSoftmaxGradOp::verify() { return verifyGradAxis(*this); }

LogicalResult ConvGradInputOp::verify() {
  auto dx = getDx().getType(), w = getW().getType(), dy = getDy().getType();
  if (dy.getElementType() != dx.getElementType())
    return emitOpError("dy and dx element types differ: ") << dy << " vs " << dx;
  return checkConv(getLoc(), getOperationName(), dx, w, dy, getStrides(), getPads(),
                   getDilations(), getGroup());
}

LogicalResult ConvGradWeightOp::verify() {
  auto x = getX().getType(), dw = getDw().getType(), dy = getDy().getType();
  if (dy.getElementType() != x.getElementType())
    return emitOpError("dy and x element types differ: ") << dy << " vs " << x;
  return checkConv(getLoc(), getOperationName(), x, dw, dy, getStrides(), getPads(),
                   getDilations(), getGroup());
}

LogicalResult MaxPoolGradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = ranked(adaptor.getX()), dy = ranked(adaptor.getDy());
  StringRef op = getOperationName();
  if (x.getElementType() != dy.getElementType())
    return fail(loc, op, "x and dy element types differ: ", x, " vs ", dy);
  if (x.getRank() != 4)
    return fail(loc, op, "supports 2-D inputs (rank 4, NCHW) only, got ", x);
  auto y = windowShape(loc, op, x, x.getDimSize(1), adaptor.getKernelShape(),
                       adaptor.getStrides(), adaptor.getPads(), adaptor.getDilations(),
                       adaptor.getCeilMode());
  if (failed(y) || failed(checkForwardShape(loc, op, "the forward max_pool", *y, dy)))
    return failure();
  types.push_back(x);
  return success();
}

LogicalResult AvgPoolGradOp::verify() {
  auto dx = getDx().getType(), dy = getDy().getType();
  if (dx.getElementType() != dy.getElementType())
    return emitOpError("dy and dx element types differ: ") << dy << " vs " << dx;
  if (dx.getRank() != 4)
    return emitOpError("supports 2-D inputs (rank 4, NCHW) only, got ") << dx;
  int64_t ones[2] = {1, 1};
  auto y = windowShape(getLoc(), getOperationName(), dx, dx.getDimSize(1), getKernelShape(),
                       getStrides(), getPads(), ones, getCeilMode());
  if (failed(y))
    return failure();
  return checkForwardShape(getLoc(), getOperationName(), "the forward avg_pool", *y, dy);
}

LogicalResult BatchNormTrainGradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                     Adaptor adaptor,
                                                     SmallVectorImpl<Type> &types) {
  auto x = ranked(adaptor.getX()), s = ranked(adaptor.getScale()), dy = ranked(adaptor.getDy());
  StringRef op = getOperationName();
  if (x.getRank() < 2)
    return fail(loc, op, "x must be N x C (x D1 ...), got ", x);
  if (s.getRank() != 1 || s.getDimSize(0) != x.getDimSize(1))
    return fail(loc, op, "scale must have shape [", x.getDimSize(1), "], got ", s);
  if (dy != x)
    return fail(loc, op, "dy must have x's type ", x, ", got ", dy);
  types.append({x, s, s});
  return success();
}

LogicalResult LayerNormGradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = ranked(adaptor.getX()), s = ranked(adaptor.getScale()), dy = ranked(adaptor.getDy());
  StringRef op = getOperationName();
  int64_t axis = adaptor.getAxisAttr().getInt();
  if (axis < 0 || axis >= x.getRank())
    return fail(loc, op, "axis ", axis, " is out of range for ", x);
  if (dy != x)
    return fail(loc, op, "dy must have x's type ", x, ", got ", dy);
  if (!broadcastsTo(s.getShape(), x.getShape().drop_front(axis)))
    return fail(loc, op, "scale of shape ", shapeStr(s.getShape()),
                " does not broadcast to the normalised dims ",
                shapeStr(x.getShape().drop_front(axis)));
  Shape stats(x.getShape().take_front(axis));
  stats.append(x.getRank() - axis, 1);
  for (Value v : {adaptor.getMean(), adaptor.getInvStdDev()})
    if (ranked(v).getShape() != ArrayRef<int64_t>(stats))
      return fail(loc, op, "mean and inv_std_dev must have shape ", shapeStr(stats), ", got ",
                  v.getType());
  types.append({x, s, s});
  return success();
}

LogicalResult SoftmaxCrossEntropyLossGradOp::inferReturnTypes(MLIRContext *,
                                                              std::optional<Location> loc,
                                                              Adaptor adaptor,
                                                              SmallVectorImpl<Type> &types) {
  auto logp = ranked(adaptor.getLogProb());
  if (failed(checkLossGrad(loc, getOperationName(), logp, ranked(adaptor.getLabels()),
                           adaptor.getWeights(), ranked(adaptor.getDloss()),
                           adaptor.getReduction())))
    return failure();
  types.push_back(logp);
  return success();
}

LogicalResult NllLossGradOp::verify() {
  return checkLossGrad(getLoc(), getOperationName(), getDinput().getType(),
                       getTarget().getType(), getWeight(), getDloss().getType(),
                       getReduction());
}

LogicalResult GatherGradOp::verify() {
  auto data = getDdata().getType(), idx = getIndices().getType(), dy = getDy().getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= data.getRank())
    return emitOpError("axis ") << axis << " is out of range for " << data;
  if (data.getElementType() != dy.getElementType())
    return emitOpError("dy and ddata element types differ: ") << dy << " vs " << data;
  Shape shape(data.getShape().take_front(axis));
  shape.append(idx.getShape().begin(), idx.getShape().end());
  shape.append(data.getShape().begin() + axis + 1, data.getShape().end());
  return checkForwardShape(getLoc(), getOperationName(), "the forward gather", shape, dy);
}

LogicalResult SliceGradOp::verify() {
  auto dx = getDx().getType(), dy = getDy().getType();
  ArrayRef<int64_t> starts = getStarts(), ends = getEnds(), steps = getSteps();
  int64_t rank = dx.getRank();
  if (dx.getElementType() != dy.getElementType())
    return emitOpError("dy and dx element types differ: ") << dy << " vs " << dx;
  if (static_cast<int64_t>(starts.size()) != rank ||
      static_cast<int64_t>(ends.size()) != rank || static_cast<int64_t>(steps.size()) != rank)
    return emitOpError("needs one start, end and step per dim of ") << dx;
  Shape shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = dx.getDimSize(d), s = starts[d], e = ends[d], st = steps[d];
    bool ok = st > 0 ? (s >= 0 && s <= dim && e >= 0 && e <= dim)
                     : (st < 0 && s >= -1 && s < dim && e >= -1 && e < dim);
    if (!ok)
      return emitOpError("dim ") << d << " of size " << dim << ": start " << s << ", end " << e
                                 << ", step " << st << " are not normalised";
    int64_t len = st > 0 ? (e - s + st - 1) / st : (s - e + (-st) - 1) / (-st);
    shape.push_back(std::max<int64_t>(len, 0));
  }
  return checkForwardShape(getLoc(), getOperationName(), "the forward slice", shape, dy);
}

LogicalResult DropoutGradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto dy = ranked(adaptor.getDy()), mask = ranked(adaptor.getMask());
  float ratio = adaptor.getRatio().convertToFloat();
  if (!(ratio >= 0.0f && ratio < 1.0f))
    return fail(loc, getOperationName(), "ratio must be in [0, 1), got ", ratio);
  if (mask.getShape() != dy.getShape())
    return fail(loc, getOperationName(), "mask ", mask, " does not have dy's shape ", dy);
  types.push_back(dy);
  return success();
}

//===----------------------------------------------------------------------===//
// Optimizer ops
//===----------------------------------------------------------------------===//

LogicalResult SgdUpdateOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  StringRef op = getOperationName();
  if (failed(checkScalarF32(loc, op, "lr", adaptor.getLr())) ||
      failed(checkLikeParam(loc, op, "param", adaptor.getParam(),
                            {{"grad", adaptor.getGrad()}})))
    return failure();
  types.push_back(adaptor.getParam().getType());
  return inferOptimizerExtensions(loc, op, adaptor.getParam(), adaptor.getSkip(),
                                  adaptor.getWorkingType(), adaptor.getLrScaleAttr(),
                                  types);
}

LogicalResult MomentumUpdateOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                 Adaptor adaptor, SmallVectorImpl<Type> &types) {
  StringRef op = getOperationName();
  if (failed(checkScalarF32(loc, op, "lr", adaptor.getLr())) ||
      failed(checkLikeParam(loc, op, "param", adaptor.getParam(),
                            {{"grad", adaptor.getGrad()}, {"buf", adaptor.getBuf()}})))
    return failure();
  types.append({adaptor.getParam().getType(), adaptor.getBuf().getType()});
  return inferOptimizerExtensions(loc, op, adaptor.getParam(), adaptor.getSkip(),
                                  adaptor.getWorkingType(), adaptor.getLrScaleAttr(),
                                  types);
}

LogicalResult MomentumUpdateOp::verify() {
  if (getNesterov() && (getMomentum().convertToFloat() <= 0.0f ||
                        getDampening().convertToFloat() != 0.0f))
    return emitOpError("nesterov needs a positive momentum and zero dampening (as torch.optim.SGD)");
  return success();
}

LogicalResult AdamUpdateOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                             Adaptor adaptor, SmallVectorImpl<Type> &types) {
  StringRef op = getOperationName();
  if (failed(checkScalarF32(loc, op, "lr", adaptor.getLr())) ||
      failed(checkLikeParam(loc, op, "param", adaptor.getParam(),
                            {{"grad", adaptor.getGrad()},
                             {"m", adaptor.getM()},
                             {"v", adaptor.getV()}})))
    return failure();
  types.append({adaptor.getParam().getType(), adaptor.getM().getType(),
                adaptor.getV().getType()});
  return inferOptimizerExtensions(loc, op, adaptor.getParam(), adaptor.getSkip(),
                                  adaptor.getWorkingType(), adaptor.getLrScaleAttr(),
                                  types);
}

LogicalResult AdamUpdateOp::verify() {
  float b1 = getBeta1().convertToFloat(), b2 = getBeta2().convertToFloat();
  if (!(b1 >= 0.0f && b1 < 1.0f) || !(b2 >= 0.0f && b2 < 1.0f))
    return emitOpError("beta1 and beta2 must be in [0, 1), got ") << b1 << " and " << b2;
  if (!(getEpsilon().convertToFloat() >= 0.0f))
    return emitOpError("epsilon must be non-negative");
  return success();
}

//===----------------------------------------------------------------------===//
// Loss scaling, clipping and gradient accumulation
//===----------------------------------------------------------------------===//

namespace {

/// The FP32 (FP64 for f64) type gradient arithmetic works in, with `v`'s shape.
RankedTensorType wideLike(Value v) {
  auto t = ranked(v);
  Type e = t.getElementType().isF64() ? Type(Float64Type::get(v.getContext()))
                                      : Type(Float32Type::get(v.getContext()));
  return RankedTensorType::get(t.getShape(), e);
}

/// One wide result per gradient.
void appendWideLike(ValueRange grads, SmallVectorImpl<Type> &types) {
  for (Value g : grads)
    types.push_back(wideLike(g));
}

} // namespace

LogicalResult UnscaleAndCheckOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                                  Adaptor adaptor, SmallVectorImpl<Type> &types) {
  appendWideLike(adaptor.getGrads(), types);
  auto f32 = RankedTensorType::get({}, Float32Type::get(ctx));
  types.append({f32, RankedTensorType::get({}, IntegerType::get(ctx, 64)), f32});
  return success();
}

LogicalResult UnscaleAndCheckOp::verify() {
  if (getGrads().empty())
    return emitOpError("needs at least one gradient");
  size_t lines = getNames().empty() ? 0 : llvm::count(getNames(), '\n') + 1;
  if (lines != 0 && lines != getGrads().size())
    return emitOpError("names lists ") << lines << " parameters for " << getGrads().size()
                                       << " gradients";
  return success();
}

LogicalResult ClipGradNormOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                                               Adaptor adaptor, SmallVectorImpl<Type> &types) {
  appendWideLike(adaptor.getGrads(), types);
  return success();
}

LogicalResult ClipGradNormOp::verify() {
  if (getGrads().empty())
    return emitOpError("needs at least one gradient");
  float maxNorm = getMaxNorm().convertToFloat();
  if (!(maxNorm > 0.0f) || std::isinf(maxNorm))
    return emitOpError("max_norm must be positive and finite, got ") << maxNorm;
  return success();
}

LogicalResult AccumulateGradOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                                 Adaptor adaptor, SmallVectorImpl<Type> &types) {
  StringRef op = getOperationName();
  auto acc = ranked(adaptor.getAcc());
  if (failed(checkLikeParam(loc, op, "acc", adaptor.getAcc(), {{"grad", adaptor.getGrad()}})))
    return failure();
  if (acc != wideLike(adaptor.getGrad()))
    return fail(loc, op, "acc must be ", wideLike(adaptor.getGrad()), " for grad ",
                adaptor.getGrad().getType(), ", got ", acc);
  types.push_back(acc);
  return success();
}

LogicalResult AccumulateGradOp::verify() {
  if (getSteps() < 1)
    return emitOpError("steps must be at least 1, got ") << getSteps();
  return success();
}

LogicalResult AccumulationSkipOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location>,
                                                   Adaptor, SmallVectorImpl<Type> &types) {
  types.push_back(RankedTensorType::get({}, Float32Type::get(ctx)));
  return success();
}

LogicalResult AccumulationSkipOp::verify() {
  if (getSteps() < 1)
    return emitOpError("steps must be at least 1, got ") << getSteps();
  return success();
}

LogicalResult CountStepOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location>, Adaptor,
                                            SmallVectorImpl<Type> &types) {
  types.push_back(RankedTensorType::get({}, IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult LossScaleUpdateOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                                  Adaptor adaptor, SmallVectorImpl<Type> &types) {
  types.append({RankedTensorType::get({}, Float32Type::get(ctx)),
                RankedTensorType::get({}, IntegerType::get(ctx, 64))});
  return success();
}

LogicalResult LossScaleUpdateOp::verify() {
  float growth = getGrowthFactor().convertToFloat(), backoff = getBackoffFactor().convertToFloat();
  if (!(growth > 1.0f) || std::isinf(growth))
    return emitOpError("growth_factor must be finite and > 1, got ") << growth;
  if (!(backoff > 0.0f && backoff < 1.0f))
    return emitOpError("backoff_factor must be in (0, 1), got ") << backoff;
  if (getGrowthInterval() < 1)
    return emitOpError("growth_interval must be at least 1, got ") << getGrowthInterval();
  float lo = getMinScale().convertToFloat(), hi = getMaxScale().convertToFloat();
  if (!(lo >= 0.0f) || !(hi >= 0.0f) || std::isinf(lo) || std::isinf(hi))
    return emitOpError("min_scale and max_scale must be finite and non-negative (0: none)");
  if (lo > 0.0f && hi > 0.0f && lo > hi)
    return emitOpError("min_scale ") << lo << " exceeds max_scale " << hi;
  return success();
}

LogicalResult OnnxAdagradOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                              Adaptor adaptor, SmallVectorImpl<Type> &types) {
  StringRef op = getOperationName();
  if (failed(checkScalarF32(loc, op, "r", adaptor.getR())) ||
      failed(checkLikeParam(loc, op, "x", adaptor.getX(),
                            {{"g", adaptor.getG()}, {"h", adaptor.getH()}})))
    return failure();
  types.append({adaptor.getX().getType(), adaptor.getH().getType()});
  return success();
}

LogicalResult OnnxMomentumOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                               Adaptor adaptor, SmallVectorImpl<Type> &types) {
  StringRef op = getOperationName();
  if (failed(checkScalarF32(loc, op, "r", adaptor.getR())) ||
      failed(checkLikeParam(loc, op, "x", adaptor.getX(),
                            {{"g", adaptor.getG()}, {"v", adaptor.getV()}})))
    return failure();
  types.append({adaptor.getX().getType(), adaptor.getV().getType()});
  return success();
}

LogicalResult OnnxMomentumOp::verify() {
  if (getMode() != "standard" && getMode() != "nesterov")
    return emitOpError("mode must be \"standard\" or \"nesterov\", got \"") << getMode() << "\"";
  return success();
}

LogicalResult OnnxAdamOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                           Adaptor adaptor, SmallVectorImpl<Type> &types) {
  StringRef op = getOperationName();
  if (failed(checkScalarF32(loc, op, "r", adaptor.getR())) ||
      failed(checkLikeParam(loc, op, "x", adaptor.getX(),
                            {{"g", adaptor.getG()}, {"v", adaptor.getV()}, {"h", adaptor.getH()}})))
    return failure();
  types.append({adaptor.getX().getType(), adaptor.getV().getType(), adaptor.getH().getType()});
  return success();
}

} // namespace mpc
