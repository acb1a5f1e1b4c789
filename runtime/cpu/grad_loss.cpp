// softmax_cross_entropy_loss_grad and nll_loss_grad: gradients of the losses
// in loss.cpp (ONNX semantics).
//
// With w_i = weight[label_i] (1 without weights, 0 for an ignored label) and
// the upstream gradient g_i = dloss[i] ("none") or dloss[0] ("sum", "mean"),
// divided for "mean" by sum(w_i) when weights or ignore_index are given and
// by the number of labels otherwise:
//   nll_loss_grad:   dinput[n, c, d] = -w_i * g_i if c == label_i else 0
//   sce_loss_grad:   dscores[n, c, d] = (exp(log_prob[n, c, d]) - [c == label_i]) * w_i * g_i
// Operands: softmax_cross_entropy_loss_grad (log_prob, labels, weights?, dloss),
// nll_loss_grad (target, weight?, dloss) with dinput's type as the spec.
#include <cmath>
#include <vector>

#include "cpu/training.h"

namespace mpc::rt::cpu {
namespace {

struct LossGeom {
  int64_t n = 0, c = 0, d = 1;
  int reduction = 2;  // 0 none, 1 sum, 2 mean
  bool hasIgnore = false;
  int64_t ignoreIndex = 0;
  const TensorView *weights = nullptr;
  const TensorView *dloss = nullptr;
  const TensorView *labels = nullptr;
};

// x: the [N, C, D...] tensor (log_prob or dinput).
Status lossGeom(const KernelCall &call, const TensorView &x, const TensorView &labels, const TensorView *weights,
                const TensorView &dloss, LossGeom *p) {
  MPC_RETURN_IF_ERROR(checkFloatTensor(call, x, "scores"));
  if (x.rank < 2) return kernelError(call, "scores must have rank >= 2 (N, C, ...)");
  if (labels.dtype != DType::kI32 && labels.dtype != DType::kI64) return kernelError(call, "labels must be i32 or i64");
  p->n = x.dims[0];
  p->c = x.dims[1];
  p->d = 1;
  for (int i = 2; i < x.rank; ++i) p->d *= x.dims[i];
  TensorView want = x;
  want.rank = x.rank - 1;
  for (int i = 1; i < want.rank; ++i) want.dims[i] = x.dims[i + 1];
  MPC_RETURN_IF_ERROR(checkShape(call, labels, want, "labels"));
  if (weights) {
    MPC_RETURN_IF_ERROR(checkDType(call, *weights, x.dtype, "weights"));
    if (weights->rank != 1 || weights->dims[0] != p->c)
      return kernelError(call, "weights must have shape [" + std::to_string(p->c) + "], got " + shapeString(*weights));
  }
  std::string red;
  MPC_RETURN_IF_ERROR(getString(call, "reduction", "mean", &red));
  if (red == "none") p->reduction = 0;
  else if (red == "sum") p->reduction = 1;
  else if (red == "mean") p->reduction = 2;
  else return kernelError(call, "attribute 'reduction' must be none, sum or mean, got \"" + red + "\"");
  p->hasIgnore = call.attrs && call.attrs->has("ignore_index");
  MPC_RETURN_IF_ERROR(getInt(call, "ignore_index", 0, &p->ignoreIndex));
  MPC_RETURN_IF_ERROR(checkDType(call, dloss, x.dtype, "dloss"));
  if (p->reduction == 0) MPC_RETURN_IF_ERROR(checkShape(call, dloss, want, "dloss"));
  else if (dloss.numel() != 1)
    return kernelError(call, "dloss of a reduced loss must have one element, got " + shapeString(dloss));
  p->weights = weights;
  p->dloss = &dloss;
  p->labels = &labels;
  return Status::ok();
}

// Per label i: the coefficient w_i * g_i (/ denominator for "mean"), or 0
// when ignored. Fails on a label outside [0, C) that is not the ignore index.
template <typename A> Status labelCoefficients(const KernelCall &call, const LossGeom &p, std::vector<A> *coef,
                                               std::vector<int64_t> *label) {
  const int64_t count = p.n * p.d;
  coef->assign(count, A(0));
  label->assign(count, -1);
  A wsum = 0;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t l = loadIndex(*p.labels, i);
    if (p.hasIgnore && l == p.ignoreIndex) continue;
    if (l < 0 || l >= p.c)
      return kernelError(call, "label " + std::to_string(l) + " out of range [0, " + std::to_string(p.c) + ")");
    (*label)[i] = l;
    const A w = p.weights ? loadFloat<A>(*p.weights, l) : A(1);
    wsum += w;
    (*coef)[i] = w * loadFloat<A>(*p.dloss, p.reduction == 0 ? i : 0);
  }
  if (p.reduction == 2) {
    const A denom = (p.weights || p.hasIgnore) ? wsum : static_cast<A>(count);
    // All labels ignored: the forward loss is 0/0 = NaN and so is its gradient.
    for (int64_t i = 0; i < count; ++i) (*coef)[i] /= denom;
  }
  return Status::ok();
}

Status checkSceGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 3, 4, 1));
  const TensorView &logp = call.inputs[0];
  const bool hasW = call.numInputs == 4;
  LossGeom p;
  MPC_RETURN_IF_ERROR(lossGeom(call, logp, call.inputs[1], hasW ? &call.inputs[2] : nullptr,
                               call.inputs[call.numInputs - 1], &p));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], logp.dtype, "dscores"));
  return checkShape(call, call.outputs[0], logp, "dscores");
}

Status sceGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkSceGrad(call));
  const TensorView &logp = call.inputs[0];
  const bool hasW = call.numInputs == 4;
  LossGeom p;
  MPC_RETURN_IF_ERROR(lossGeom(call, logp, call.inputs[1], hasW ? &call.inputs[2] : nullptr,
                               call.inputs[call.numInputs - 1], &p));
  Status st;
  visitFloat(logp.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    std::vector<A> coef;
    std::vector<int64_t> label;
    st = labelCoefficients<A>(call, p, &coef, &label);
    if (!st.isOk()) return;
    const T *lp = logp.as<const T>();
    T *out = call.outputs[0].as<T>();
    parallelFor(call.pool, p.n * p.d, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(p.c, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t v = b; v < e; ++v) {
                    const int64_t base = (v / p.d) * p.c * p.d + v % p.d;
                    for (int64_t k = 0; k < p.c; ++k) {
                      const int64_t j = base + k * p.d;
                      const A prob = std::exp(Elem<T>::load(lp[j]));
                      out[j] = Elem<T>::store((prob - (k == label[v] ? A(1) : A(0))) * coef[v]);
                    }
                  }
                });
  });
  return st;
}

Status checkNllGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 3, 1));
  const bool hasW = call.numInputs == 3;
  LossGeom p;
  return lossGeom(call, call.outputs[0], call.inputs[0], hasW ? &call.inputs[1] : nullptr,
                  call.inputs[call.numInputs - 1], &p);
}

Status nllGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkNllGrad(call));
  const bool hasW = call.numInputs == 3;
  const TensorView &dinput = call.outputs[0];
  LossGeom p;
  MPC_RETURN_IF_ERROR(lossGeom(call, dinput, call.inputs[0], hasW ? &call.inputs[1] : nullptr,
                               call.inputs[call.numInputs - 1], &p));
  Status st;
  visitFloat(dinput.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    std::vector<A> coef;
    std::vector<int64_t> label;
    st = labelCoefficients<A>(call, p, &coef, &label);
    if (!st.isOk()) return;
    T *out = dinput.as<T>();
    parallelFor(call.pool, p.n * p.d, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(p.c, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t v = b; v < e; ++v) {
                    const int64_t base = (v / p.d) * p.c * p.d + v % p.d;
                    for (int64_t k = 0; k < p.c; ++k)
                      out[base + k * p.d] = Elem<T>::store(k == label[v] ? -coef[v] : A(0));
                  }
                });
  });
  return st;
}

}  // namespace

void registerGradLossKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes())
    for (DType l : {DType::kI32, DType::kI64}) {
      addKernel(reg, "softmax_cross_entropy_loss_grad", {t, l, t, t}, sceGrad, checkSceGrad);
      addKernel(reg, "softmax_cross_entropy_loss_grad", {t, l, t, t, t}, sceGrad, checkSceGrad);
      addKernel(reg, "nll_loss_grad", {l, t, t}, nllGrad, checkNllGrad);
      addKernel(reg, "nll_loss_grad", {l, t, t, t}, nllGrad, checkNllGrad);
    }
}

}  // namespace mpc::rt::cpu
