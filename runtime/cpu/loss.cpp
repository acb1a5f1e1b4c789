// softmax_cross_entropy_loss and nll_loss, following the ONNX reference
// implementation (onnx/reference/ops/op_negative_log_likelihood_loss.py):
//   loss[n, d] = -input[n, target[n, d], d] * w[target[n, d]]  (w = 1 without weights)
//   ignored targets contribute 0 and weight 0;
//   "mean": sum(loss) / sum(w[target]) when weights or ignore_index are given,
//           otherwise the plain mean; all ignored gives 0 / 0 = NaN as ONNX.
// Sums accumulate in FP32 (double for f64) in row-major order on one thread.
#include <cmath>
#include <limits>

#include "cpu/cpu_common.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

struct LossParams {
  int64_t n = 0, c = 0, d = 1; // input [N, C, D...]
  int reduction = 2;           // 0 none, 1 sum, 2 mean
  bool hasIgnore = false;
  int64_t ignoreIndex = 0;
};

Status lossParams(const KernelCall &call, int numOutputs, LossParams *p) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 3, numOutputs));
  const TensorView &x = call.inputs[0], &t = call.inputs[1];
  if (x.rank < 2) return kernelError(call, "input must have rank >= 2 (N, C, ...)");
  if (t.dtype != DType::kI32 && t.dtype != DType::kI64) return kernelError(call, "labels must be i32 or i64");
  p->n = x.dims[0];
  p->c = x.dims[1];
  for (int i = 2; i < x.rank; ++i) p->d *= x.dims[i];
  TensorView want = x;
  want.rank = x.rank - 1;
  want.dtype = t.dtype;
  for (int i = 1; i < want.rank; ++i) want.dims[i] = x.dims[i + 1];
  MPC_RETURN_IF_ERROR(checkShape(call, t, want, "labels"));
  if (call.numInputs == 3) {
    MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[2], x.dtype, "weights"));
    if (call.inputs[2].rank != 1 || call.inputs[2].dims[0] != p->c)
      return kernelError(call, "weights must have shape [" + std::to_string(p->c) + "]");
  }
  std::string red;
  MPC_RETURN_IF_ERROR(getString(call, "reduction", "mean", &red));
  if (red == "none")
    p->reduction = 0;
  else if (red == "sum")
    p->reduction = 1;
  else if (red == "mean")
    p->reduction = 2;
  else
    return kernelError(call, "attribute 'reduction' must be none, sum or mean, got \"" + red + "\"");
  p->hasIgnore = call.attrs && call.attrs->has("ignore_index");
  MPC_RETURN_IF_ERROR(getInt(call, "ignore_index", 0, &p->ignoreIndex));
  const TensorView &loss = call.outputs[0];
  MPC_RETURN_IF_ERROR(checkDType(call, loss, x.dtype, "loss"));
  if (p->reduction == 0) {
    want.dtype = x.dtype;
    MPC_RETURN_IF_ERROR(checkShape(call, loss, want, "loss"));
  } else if (loss.numel() != 1) {
    return kernelError(call, "reduced loss must have one element, got " + shapeString(loss));
  }
  // Every label must be a class or the ignore index.
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int64_t v = t.dtype == DType::kI32 ? t.as<const int32_t>()[i] : t.as<const int64_t>()[i];
    if (p->hasIgnore && v == p->ignoreIndex) continue;
    if (v < 0 || v >= p->c)
      return kernelError(call, "label " + std::to_string(v) + " out of range [0, " + std::to_string(p->c) + ")");
  }
  return Status::ok();
}

int64_t labelAt(const TensorView &t, int64_t i) {
  return t.dtype == DType::kI32 ? t.as<const int32_t>()[i] : t.as<const int64_t>()[i];
}

// The NLL part shared by both ops; logp is [N, C, D] in storage type T.
template <typename T> void nll(const KernelCall &call, const LossParams &p, const T *logp) {
  using A = AccT<T>;
  const TensorView &t = call.inputs[1];
  const T *w = call.numInputs == 3 ? call.inputs[2].as<const T>() : nullptr;
  T *out = call.outputs[0].as<T>();
  A sum = 0, wsum = 0;
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t d = 0; d < p.d; ++d) {
      const int64_t i = n * p.d + d;
      const int64_t label = labelAt(t, i);
      A li = 0, wi = 0;
      if (!(p.hasIgnore && label == p.ignoreIndex)) {
        wi = w ? Elem<T>::load(w[label]) : A(1);
        li = -Elem<T>::load(logp[(n * p.c + label) * p.d + d]) * wi;
      }
      if (p.reduction == 0) out[i] = Elem<T>::store(li);
      sum += li;
      wsum += wi;
    }
  if (p.reduction == 1) out[0] = Elem<T>::store(sum);
  if (p.reduction == 2) {
    const bool weighted = w || p.hasIgnore;
    out[0] = Elem<T>::store(weighted ? sum / wsum : sum / static_cast<A>(p.n * p.d));
  }
}

Status checkNll(const KernelCall &call) {
  LossParams p;
  return lossParams(call, 1, &p);
}

Status nllLoss(const KernelCall &call) {
  LossParams p;
  MPC_RETURN_IF_ERROR(lossParams(call, 1, &p));
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    nll<T>(call, p, call.inputs[0].as<const T>());
  });
  return Status::ok();
}

Status checkSce(const KernelCall &call) {
  LossParams p;
  MPC_RETURN_IF_ERROR(lossParams(call, 2, &p));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[1], call.inputs[0].dtype, "log_prob"));
  return checkShape(call, call.outputs[1], call.inputs[0], "log_prob");
}

Status softmaxCrossEntropy(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkSce(call));
  LossParams p;
  MPC_RETURN_IF_ERROR(lossParams(call, 2, &p));
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *x = call.inputs[0].as<const T>();
    T *logp = call.outputs[1].as<T>();
    // log_softmax over the class axis; the NLL then reads the rounded
    // log_prob, as the ONNX reference does.
    parallelFor(call.pool, p.n * p.d, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(p.c, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t v = b; v < e; ++v) {
                    const int64_t base = (v / p.d) * p.c * p.d + v % p.d;
                    A m = -std::numeric_limits<A>::infinity();
                    for (int64_t k = 0; k < p.c; ++k) {
                      const A xv = Elem<T>::load(x[base + k * p.d]);
                      if (xv > m || xv != xv) m = xv;
                    }
                    A sum = 0;
                    for (int64_t k = 0; k < p.c; ++k) sum += std::exp(Elem<T>::load(x[base + k * p.d]) - m);
                    const A logSum = std::log(sum);
                    for (int64_t k = 0; k < p.c; ++k)
                      logp[base + k * p.d] = Elem<T>::store(Elem<T>::load(x[base + k * p.d]) - m - logSum);
                  }
                });
    nll<T>(call, p, logp);
  });
  return Status::ok();
}

} // namespace

void registerLossKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes())
    for (DType l : {DType::kI32, DType::kI64}) {
      addKernel(reg, "nll_loss", {t, l, t}, nllLoss, checkNll);
      addKernel(reg, "nll_loss", {t, l, t, t}, nllLoss, checkNll);
      addKernel(reg, "softmax_cross_entropy_loss", {t, l, t, t}, softmaxCrossEntropy, checkSce);
      addKernel(reg, "softmax_cross_entropy_loss", {t, l, t, t, t}, softmaxCrossEntropy, checkSce);
    }
}

} // namespace mpc::rt::cpu
