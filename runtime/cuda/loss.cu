// Losses on CUDA: softmax_cross_entropy_loss, nll_loss and their gradients,
// with the semantics of cpu/loss.cpp and cpu/grad_loss.cpp (ONNX's).
//
// The sums (the reduced loss, the weight total of "mean") run on one thread in
// the CPU's order, so they are the CPU's FP32 bits; the per-element parts run
// in parallel. That is exact and fast enough for classification batches;
// token-level losses over millions of labels want a tree reduction (then
// matching the CPU only within a tolerance).
//
// One difference from the CPU, which a device kernel cannot avoid: the CPU
// rejects a label outside [0, C) with an error; here such a label gets weight
// NaN, so the loss (and its gradient) become NaN instead of being wrong
// silently. Load-time checks are shape-only (the CPU check reads the labels,
// which live on the device here).
#include "cuda/device.cuh"
#include "cuda/math.cuh"
#include "cuda/register.h"

namespace mpc::rt::cuda {
namespace loss {

struct Geom {
  int64_t n = 0, c = 0, d = 1;  // scores [N, C, D...]
  int reduction = 2;            // 0 none, 1 sum, 2 mean
  bool hasIgnore = false;
  int64_t ignoreIndex = 0;
};

// x: the [N, C, D...] tensor; labels [N, D...]; the reduction attributes.
Status geometry(const KernelCall &call, const TensorView &x, const TensorView &labels, const TensorView *weights,
                Geom *g) {
  if (x.rank < 2) return kernelError(call, "scores must have rank >= 2 (N, C, ...)");
  if (labels.dtype != DType::kI32 && labels.dtype != DType::kI64) return kernelError(call, "labels must be i32 or i64");
  g->n = x.dims[0];
  g->c = x.dims[1];
  g->d = 1;
  for (int i = 2; i < x.rank; ++i) g->d *= x.dims[i];
  TensorView want = x;
  want.rank = x.rank - 1;
  want.dtype = labels.dtype;
  for (int i = 1; i < want.rank; ++i) want.dims[i] = x.dims[i + 1];
  MPC_RETURN_IF_ERROR(cpu::checkShape(call, labels, want, "labels"));
  if (weights) {
    MPC_RETURN_IF_ERROR(cpu::checkDType(call, *weights, x.dtype, "weights"));
    if (weights->rank != 1 || weights->dims[0] != g->c)
      return kernelError(call, "weights must have shape [" + std::to_string(g->c) + "]");
  }
  std::string red;
  MPC_RETURN_IF_ERROR(cpu::getString(call, "reduction", "mean", &red));
  if (red == "none") g->reduction = 0;
  else if (red == "sum") g->reduction = 1;
  else if (red == "mean") g->reduction = 2;
  else return kernelError(call, "attribute 'reduction' must be none, sum or mean, got \"" + red + "\"");
  g->hasIgnore = call.attrs && call.attrs->has("ignore_index");
  return cpu::getInt(call, "ignore_index", 0, &g->ignoreIndex);
}

// Checks the loss output: [N, D...] for "none", one element otherwise.
Status checkLossOutput(const KernelCall &call, const TensorView &loss, const TensorView &x, const Geom &g) {
  MPC_RETURN_IF_ERROR(cpu::checkDType(call, loss, x.dtype, "loss"));
  if (g.reduction != 0) {
    if (loss.numel() != 1) return kernelError(call, "reduced loss must have one element, got " + cpu::shapeString(loss));
    return Status::ok();
  }
  TensorView want = x;
  want.rank = x.rank - 1;
  for (int i = 1; i < want.rank; ++i) want.dims[i] = x.dims[i + 1];
  return cpu::checkShape(call, loss, want, "loss");
}

// Label i and its weight w[label] (1 without weights). False when the label
// is the ignore index (label -1, weight 0). An out-of-range label gets weight
// NaN and reads class 0.
template <typename T, typename L>
__device__ __forceinline__ bool labelWeight(const L *labels, const T *w, int64_t i, const Geom &g, int64_t *label,
                                            float *weight) {
  const int64_t l = static_cast<int64_t>(labels[i]);
  if (g.hasIgnore && l == g.ignoreIndex) {
    *label = -1;
    *weight = 0.0f;
    return false;
  }
  const bool inRange = l >= 0 && l < g.c;
  *label = inRange ? l : 0;
  *weight = !inRange ? __int_as_float(0x7FC00000) : w ? static_cast<float>(Elem<T>::load(w[l])) : 1.0f;
  return true;
}

// loss = NLL of logp (the CPU's nll<T>), on one thread in row-major order.
template <typename T, typename L>
__global__ void nllKernel(const T *logp, const L *labels, const T *w, T *out, Geom g) {
  float sum = 0, wsum = 0;
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t d = 0; d < g.d; ++d) {
      const int64_t i = n * g.d + d;
      int64_t label;
      float wi, li = 0;
      if (labelWeight(labels, w, i, g, &label, &wi))
        li = -static_cast<float>(Elem<T>::load(logp[(n * g.c + label) * g.d + d])) * wi;
      if (g.reduction == 0) out[i] = Elem<T>::store(li);
      sum += li;
      wsum += wi;
    }
  if (g.reduction == 1) out[0] = Elem<T>::store(sum);
  if (g.reduction == 2) out[0] = Elem<T>::store(w || g.hasIgnore ? sum / wsum : sum / static_cast<float>(g.n * g.d));
}

template <typename T, typename L> Status nllTyped(const KernelCall &call, const T *logp, const Geom &g, int weightsIndex) {
  const T *w = weightsIndex >= 0 ? call.inputs[weightsIndex].as<const T>() : nullptr;
  nllKernel<T, L><<<1, 1, 0, streamOf(call)>>>(logp, call.inputs[1].as<const L>(), w, call.outputs[0].as<T>(), g);
  return launchStatus(call);
}

template <typename T, typename L> Status sceTyped(const KernelCall &call, const Geom &g) {
  const T *x = call.inputs[0].as<const T>();
  T *logp = call.outputs[1].as<T>();
  const int64_t c = g.c, d = g.d;
  // log_softmax over the class axis, one thread per (n, d); the NLL then reads
  // the rounded log_prob, as the ONNX reference does.
  MPC_RETURN_IF_ERROR(launchFlat(call, g.n * g.d, [=] __device__(int64_t v) {
    const int64_t base = (v / d) * c * d + v % d;
    float m = -INFINITY;
    for (int64_t k = 0; k < c; ++k) {
      const float xv = Elem<T>::load(x[base + k * d]);
      if (xv > m || xv != xv) m = xv;
    }
    float sum = 0;
    for (int64_t k = 0; k < c; ++k) sum += math::exp(static_cast<float>(Elem<T>::load(x[base + k * d])) - m);
    const float logSum = math::log(sum);
    for (int64_t k = 0; k < c; ++k)
      logp[base + k * d] = Elem<T>::store(static_cast<float>(Elem<T>::load(x[base + k * d])) - m - logSum);
  }));
  return nllTyped<T, L>(call, logp, g, call.numInputs == 3 ? 2 : -1);
}

// Runs fn.template operator()<T, L>() for the scores' and labels' dtypes.
template <typename Fn> Status visitLoss(const KernelCall &call, DType scores, DType labels, Fn &&fn) {
  Status st = unsupportedDTypes(call);
  visitFloat(scores, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (labels == DType::kI32) st = fn(Tag<T>{}, Tag<int32_t>{});
    if (labels == DType::kI64) st = fn(Tag<T>{}, Tag<int64_t>{});
  });
  return st;
}

Status checkSce(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(cpu::checkArity(call, 2, 3, 2));
  Geom g;
  const TensorView &x = call.inputs[0];
  MPC_RETURN_IF_ERROR(geometry(call, x, call.inputs[1], call.numInputs == 3 ? &call.inputs[2] : nullptr, &g));
  MPC_RETURN_IF_ERROR(checkLossOutput(call, call.outputs[0], x, g));
  MPC_RETURN_IF_ERROR(cpu::checkDType(call, call.outputs[1], x.dtype, "log_prob"));
  return cpu::checkShape(call, call.outputs[1], x, "log_prob");
}

Status sceKernel(const KernelCall &call) {
  Geom g;
  MPC_RETURN_IF_ERROR(geometry(call, call.inputs[0], call.inputs[1], nullptr, &g));
  return visitLoss(call, call.inputs[0].dtype, call.inputs[1].dtype, [&](auto t, auto l) {
    return sceTyped<typename decltype(t)::type, typename decltype(l)::type>(call, g);
  });
}

Status checkNll(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(cpu::checkArity(call, 2, 3, 1));
  Geom g;
  const TensorView &x = call.inputs[0];
  MPC_RETURN_IF_ERROR(geometry(call, x, call.inputs[1], call.numInputs == 3 ? &call.inputs[2] : nullptr, &g));
  return checkLossOutput(call, call.outputs[0], x, g);
}

Status nllLossKernel(const KernelCall &call) {
  Geom g;
  MPC_RETURN_IF_ERROR(geometry(call, call.inputs[0], call.inputs[1], nullptr, &g));
  return visitLoss(call, call.inputs[0].dtype, call.inputs[1].dtype, [&](auto t, auto l) {
    using T = typename decltype(t)::type;
    return nllTyped<T, typename decltype(l)::type>(call, call.inputs[0].as<const T>(), g, call.numInputs == 3 ? 2 : -1);
  });
}

// ---- gradients ----
// The CPU's labelCoefficients: coef_i = w_i * g_i (0 when ignored), divided
// for "mean" by the weight total (or the label count); thread 0 of the single
// block sums the weights in the CPU's order, then the block writes
//   sce:  dscores[n, k, d] = (exp(log_prob) - [k == label]) * coef
//   nll:  dinput[n, k, d] = k == label ? -coef : 0
template <typename T, typename L>
__global__ void lossGradKernel(bool sce, const T *logp, const L *labels, const T *w, const T *dloss, T *out, Geom g) {
  __shared__ float denom;
  const int64_t count = g.n * g.d;
  if (threadIdx.x == 0) {
    float wsum = 0;
    for (int64_t i = 0; i < count; ++i) {
      int64_t label;
      float wi;
      if (labelWeight(labels, w, i, g, &label, &wi)) wsum += wi;
    }
    denom = w || g.hasIgnore ? wsum : static_cast<float>(count);
  }
  __syncthreads();
  for (int64_t j = threadIdx.x; j < count * g.c; j += blockDim.x) {
    const int64_t n = j / (g.c * g.d), k = (j / g.d) % g.c, d = j % g.d;
    const int64_t i = n * g.d + d;
    int64_t label;
    float wi, coef = 0;
    if (labelWeight(labels, w, i, g, &label, &wi))
      coef = wi * static_cast<float>(Elem<T>::load(dloss[g.reduction == 0 ? i : 0]));
    if (g.reduction == 2) coef /= denom;
    const float v = sce ? (math::exp(static_cast<float>(Elem<T>::load(logp[j]))) - (k == label ? 1.0f : 0.0f)) * coef
                        : (k == label ? -coef : 0.0f);
    out[j] = Elem<T>::store(v);
  }
}

Status checkLossGrad(const KernelCall &call, bool sce) {
  const int minIn = sce ? 3 : 2;
  MPC_RETURN_IF_ERROR(cpu::checkArity(call, minIn, minIn + 1, 1));
  const bool hasW = call.numInputs == minIn + 1;
  const TensorView &x = sce ? call.inputs[0] : call.outputs[0];
  const TensorView &labels = call.inputs[sce ? 1 : 0];
  const TensorView &dloss = call.inputs[call.numInputs - 1];
  Geom g;
  MPC_RETURN_IF_ERROR(geometry(call, x, labels, hasW ? &call.inputs[sce ? 2 : 1] : nullptr, &g));
  if (x.dtype != DType::kF32 && x.dtype != DType::kF16 && x.dtype != DType::kBF16)
    return kernelError(call, "scores must be f32, f16 or bf16 on CUDA");
  MPC_RETURN_IF_ERROR(cpu::checkDType(call, dloss, x.dtype, "dloss"));
  if (g.reduction != 0 && dloss.numel() != 1)
    return kernelError(call, "dloss of a reduced loss must have one element, got " + cpu::shapeString(dloss));
  if (g.reduction == 0 && dloss.numel() != g.n * g.d) return kernelError(call, "dloss must have the labels' shape");
  MPC_RETURN_IF_ERROR(cpu::checkDType(call, call.outputs[0], x.dtype, "gradient"));
  return cpu::checkShape(call, call.outputs[0], x, "gradient");
}

Status checkSceGrad(const KernelCall &call) { return checkLossGrad(call, true); }
Status checkNllGrad(const KernelCall &call) { return checkLossGrad(call, false); }

template <typename T, typename L> Status lossGradTyped(const KernelCall &call, bool sce, const Geom &g) {
  const int li = sce ? 1 : 0;
  const bool hasW = call.numInputs == li + 3;
  const T *logp = sce ? call.inputs[0].as<const T>() : nullptr;
  const T *w = hasW ? call.inputs[li + 1].as<const T>() : nullptr;
  lossGradKernel<T, L><<<1, 1024, 0, streamOf(call)>>>(sce, logp, call.inputs[li].as<const L>(), w,
                                                       call.inputs[call.numInputs - 1].as<const T>(),
                                                       call.outputs[0].as<T>(), g);
  return launchStatus(call);
}

Status lossGradKernelFn(const KernelCall &call) {
  const bool sce = call.op == "softmax_cross_entropy_loss_grad";
  const TensorView &x = sce ? call.inputs[0] : call.outputs[0];
  const TensorView &labels = call.inputs[sce ? 1 : 0];
  Geom g;
  MPC_RETURN_IF_ERROR(geometry(call, x, labels, nullptr, &g));
  return visitLoss(call, x.dtype, labels.dtype, [&](auto t, auto l) {
    return lossGradTyped<typename decltype(t)::type, typename decltype(l)::type>(call, sce, g);
  });
}

}  // namespace loss

void registerLossKernels(KernelRegistry &reg) {
  using namespace loss;
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16})
    for (DType l : {DType::kI32, DType::kI64}) {
      addKernel(reg, "softmax_cross_entropy_loss", {t, l, t, t}, sceKernel, checkSce);
      addKernel(reg, "softmax_cross_entropy_loss", {t, l, t, t, t}, sceKernel, checkSce);
      addKernel(reg, "nll_loss", {t, l, t}, nllLossKernel, checkNll);
      addKernel(reg, "nll_loss", {t, l, t, t}, nllLossKernel, checkNll);
      addKernel(reg, "softmax_cross_entropy_loss_grad", {t, l, t, t}, lossGradKernelFn, checkSceGrad);
      addKernel(reg, "softmax_cross_entropy_loss_grad", {t, l, t, t, t}, lossGradKernelFn, checkSceGrad);
      addKernel(reg, "nll_loss_grad", {l, t, t}, lossGradKernelFn, checkNllGrad);
      addKernel(reg, "nll_loss_grad", {l, t, t, t}, lossGradKernelFn, checkNllGrad);
    }
}

}  // namespace mpc::rt::cuda
