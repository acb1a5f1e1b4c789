// Training-step kernels on CUDA, with the semantics of the CPU kernels:
//   loss scaling, clipping, accumulation (cpu/loss_scaling.cpp):
//     unscale_and_check, clip_grad_norm, accumulate_grad, accumulation_skip,
//     count_step, loss_scale_update;
//   dropout (cpu/dropout.cpp) with the same Philox stream (core/philox.h);
//   gelu_grad, softmax_grad, log_softmax_grad, dropout_grad
//   (cpu/grad_elementwise.cpp).
//
// Every scalar the kernels branch on (scale, found_inf, norm, step and
// micro-step counters, skip, hold, dropout offset) is read on the device, so a
// captured CUDA graph replays correctly as they change; nothing synchronises
// or allocates.
//
// unscale_and_check's reductions are deterministic: each gradient is cut into
// fixed chunks of 32768 elements (the CPU's kElementwiseGrain); one block per
// chunk sums the squares in double with a fixed-shape tree and writes one
// partial to the call's workspace; one block then adds the partials in a fixed
// order (16 bytes of workspace per chunk: 32 MiB covers 2^36 elements).
// found_inf and nonfinite_index are exact; grad_norm differs from the CPU
// (which sums each chunk in index order) only by the order of the double
// sums, so it may be one FP32 ulp away in rare cases. The gradients go in
// batches of up to kSlots tensors per launch (a __grid_constant__ table of
// pointers passed by value, no upload).
//
// Data-dependent errors of the CPU kernels that a device kernel cannot report:
// a negative micro-step counter (the CPU rejects it) behaves as C's `%`.
#include <cmath>

#include "core/philox.h"
#include "cuda/device.cuh"
#include "cuda/math.cuh"
#include "cuda/register.h"

namespace mpc::rt::cuda {
namespace training {

constexpr int64_t kChunk = cpu::kElementwiseGrain;  // 32768
constexpr int kSlots = 40;

// ---- multi-tensor batches (unscale_and_check, clip_grad_norm) ----

enum class GradType : int32_t { kF32, kF16, kBF16, kF64 };

struct Slot {
  const void *in;
  void *out;
  int64_t numel;
  int64_t firstChunk;  // of the call (all tensors' chunks numbered in order)
  int32_t type;        // GradType
  int32_t tensor;      // index of the gradient in the call
};

struct Batch {
  Slot slot[kSlots];
  int count;
  int64_t chunkBegin;  // chunk of blockIdx.x == 0
};

struct Partial {
  double sumSq;
  int64_t badTensor;  // the chunk's tensor index if it holds inf/NaN, else INT64_MAX
};

constexpr int64_t kNoBad = INT64_MAX;

// The batch is a __grid_constant__ kernel parameter: read in place, no copy.
__device__ __forceinline__ const Slot &slotOf(const Batch &b, int64_t chunk) {
  int s = 0;
  while (s + 1 < b.count && b.slot[s + 1].firstChunk <= chunk) ++s;
  return b.slot[s];
}

template <typename G> __device__ __forceinline__ float loadF(const void *p, int64_t i) {
  return Elem<G>::load(static_cast<const G *>(p)[i]);
}

__global__ void unscaleChunks(const __grid_constant__ Batch b, const float *scalePtr, Partial *partials) {
  const int64_t chunk = b.chunkBegin + blockIdx.x;
  const Slot &s = slotOf(b, chunk);
  const int64_t begin = (chunk - s.firstChunk) * kChunk;
  const int64_t end = begin + kChunk < s.numel ? begin + kChunk : s.numel;
  const float scale = *scalePtr;
  // GradScaler: the reciprocal in double, rounded to float (f64 keeps double).
  const double invD = 1.0 / static_cast<double>(scale);
  const float inv = static_cast<float>(invD);
  double sum = 0;
  int bad = 0;
  const GradType t = static_cast<GradType>(s.type);
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    if (t == GradType::kF64) {
      const double x = static_cast<const double *>(s.in)[i];
      bad |= !isfinite(x);
      const double y = x * invD;
      static_cast<double *>(s.out)[i] = y;
      sum += y * y;
    } else {
      const float x = t == GradType::kF32 ? loadF<float>(s.in, i)
                      : t == GradType::kF16 ? loadF<Half>(s.in, i)
                                            : loadF<BFloat16>(s.in, i);
      bad |= !isfinite(x);
      const float y = x * inv;
      static_cast<float *>(s.out)[i] = y;
      sum += static_cast<double>(y) * static_cast<double>(y);
    }
  }
  const double total = blockSum(sum);
  const int anyBad = __syncthreads_or(bad);
  if (threadIdx.x == 0) partials[chunk] = Partial{total, anyBad ? static_cast<int64_t>(s.tensor) : kNoBad};
}

// One block adds the partials: thread k takes a contiguous range in order,
// then the fixed tree. Writes found_inf, nonfinite_index and grad_norm.
__global__ void unscaleFinish(const Partial *partials, int64_t count, float *foundInf, int64_t *nonfiniteIndex,
                              float *gradNorm) {
  const int64_t per = (count + kReduceThreads - 1) / kReduceThreads;
  const int64_t b = threadIdx.x * per, e = b + per < count ? b + per : count;
  double sum = 0;
  int64_t bad = kNoBad;
  for (int64_t i = b; i < e; ++i) {
    sum += partials[i].sumSq;
    if (partials[i].badTensor < bad) bad = partials[i].badTensor;
  }
  const double total = blockSum(sum);
  __shared__ int64_t minBad[kReduceThreads];
  minBad[threadIdx.x] = bad;
  __syncthreads();
  for (int s = kReduceThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s && minBad[threadIdx.x + s] < minBad[threadIdx.x]) minBad[threadIdx.x] = minBad[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    *foundInf = minBad[0] != kNoBad ? 1.0f : 0.0f;
    *nonfiniteIndex = minBad[0] != kNoBad ? minBad[0] : -1;
    *gradNorm = static_cast<float>(sqrt(total));
  }
}

bool gradTypeOf(DType t, GradType *out) {
  switch (t) {
  case DType::kF32: *out = GradType::kF32; return true;
  case DType::kF16: *out = GradType::kF16; return true;
  case DType::kBF16: *out = GradType::kBF16; return true;
  case DType::kF64: *out = GradType::kF64; return true;
  default: return false;
  }
}

// Calls launch(batch, numChunks) for batches of the first n inputs/outputs.
template <typename Launch> Status forEachBatch(const KernelCall &call, int n, Launch &&launch) {
  Batch b{};
  int64_t chunks = 0;
  auto flush = [&]() -> Status {
    if (b.count == 0) return Status::ok();
    const int64_t numChunks = chunks - b.chunkBegin;
    Status st = numChunks > 0 ? launch(b, numChunks) : Status::ok();
    b = Batch{};
    b.chunkBegin = chunks;
    return st;
  };
  for (int i = 0; i < n; ++i) {
    const TensorView &g = call.inputs[i];
    Slot s{};
    GradType t;
    if (!gradTypeOf(g.dtype, &t))
      return kernelError(call, "gradient " + std::to_string(i) + " has unsupported dtype " + std::string(dtypeName(g.dtype)));
    s.in = g.data;
    s.out = call.outputs[i].data;
    s.numel = g.numel();
    s.firstChunk = chunks;
    s.type = static_cast<int32_t>(t);
    s.tensor = i;
    if (s.numel == 0) continue;
    b.slot[b.count++] = s;
    chunks += (s.numel + kChunk - 1) / kChunk;
    if (b.count == kSlots) MPC_RETURN_IF_ERROR(flush());
  }
  return flush();
}

int64_t totalChunks(const KernelCall &call, int n) {
  int64_t chunks = 0;
  for (int i = 0; i < n; ++i) chunks += (call.inputs[i].numel() + kChunk - 1) / kChunk;
  return chunks;
}

Status unscaleAndCheck(const KernelCall &call) {
  const int n = call.numInputs - 1;
  const int64_t chunks = totalChunks(call, n);
  const size_t need = static_cast<size_t>(chunks) * sizeof(Partial);
  if (need > call.workspaceBytes || (need > 0 && !call.workspace))
    return kernelError(call, "needs " + std::to_string(need) + " bytes of workspace for " + std::to_string(chunks) +
                                 " chunk partials, the context has " + std::to_string(call.workspaceBytes),
                       StatusCode::kOutOfMemory);
  Partial *partials = static_cast<Partial *>(call.workspace);
  const float *scale = call.inputs[n].as<const float>();
  MPC_RETURN_IF_ERROR(forEachBatch(call, n, [&](const Batch &b, int64_t numChunks) {
    unscaleChunks<<<static_cast<unsigned>(numChunks), kReduceThreads, 0, streamOf(call)>>>(b, scale, partials);
    return launchStatus(call);
  }));
  unscaleFinish<<<1, kReduceThreads, 0, streamOf(call)>>>(partials, chunks, call.outputs[n].as<float>(),
                                                          call.outputs[n + 1].as<int64_t>(),
                                                          call.outputs[n + 2].as<float>());
  return launchStatus(call);
}

// ---- clip_grad_norm ----

__global__ void clipChunks(const __grid_constant__ Batch b, const float *normPtr, float maxNorm) {
  const int64_t chunk = b.chunkBegin + blockIdx.x;
  const Slot &s = slotOf(b, chunk);
  const int64_t begin = (chunk - s.firstChunk) * kChunk;
  const int64_t end = begin + kChunk < s.numel ? begin + kChunk : s.numel;
  const float norm = *normPtr;
  // torch.nn.utils.clip_grad_norm_: max_norm / (total_norm + 1e-6), in f32.
  const float coef = maxNorm / (norm + 1e-6f);
  const bool scaleIt = isfinite(norm) && coef < 1.0f;
  if (!scaleIt && s.in == s.out) return;
  for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    if (static_cast<GradType>(s.type) == GradType::kF64) {
      const double g = static_cast<const double *>(s.in)[i];
      static_cast<double *>(s.out)[i] = scaleIt ? g * static_cast<double>(coef) : g;
    } else {
      const float g = static_cast<const float *>(s.in)[i];
      static_cast<float *>(s.out)[i] = scaleIt ? g * coef : g;
    }
  }
}

Status clipGradNorm(const KernelCall &call) {
  const int n = call.numInputs - 1;
  double maxNorm;
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "max_norm", 0.0, &maxNorm));
  for (int i = 0; i < n; ++i)
    if (call.inputs[i].dtype != DType::kF32 && call.inputs[i].dtype != DType::kF64) return unsupportedDTypes(call);
  const float *norm = call.inputs[n].as<const float>();
  const float maxNormF = static_cast<float>(maxNorm);
  return forEachBatch(call, n, [&](const Batch &b, int64_t numChunks) {
    clipChunks<<<static_cast<unsigned>(numChunks), kReduceThreads, 0, streamOf(call)>>>(b, norm, maxNormF);
    return launchStatus(call);
  });
}

// ---- accumulate_grad, accumulation_skip, count_step, loss_scale_update ----

Status stepsOf(const KernelCall &call, int64_t *k) {
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "steps", 1, k));
  if (*k < 1) return kernelError(call, "attribute 'steps' must be >= 1, got " + std::to_string(*k));
  return Status::ok();
}

template <typename G, typename W> Status accumulateTyped(const KernelCall &call, int64_t k) {
  const W *acc = call.inputs[0].as<const W>();
  const G *g = call.inputs[1].as<const G>();
  const int64_t *micro = call.inputs[2].as<const int64_t>();
  W *out = call.outputs[0].as<W>();
  return launchFlat(call, call.inputs[0].numel(), [=] __device__(int64_t i) {
    const W v = static_cast<W>(Elem<G>::load(g[i]));
    out[i] = *micro % k == 0 ? v : acc[i] + v;
  });
}

Status accumulateGrad(const KernelCall &call) {
  int64_t k;
  MPC_RETURN_IF_ERROR(stepsOf(call, &k));
  switch (call.inputs[1].dtype) {
  case DType::kF32: return accumulateTyped<float, float>(call, k);
  case DType::kF16: return accumulateTyped<Half, float>(call, k);
  case DType::kBF16: return accumulateTyped<BFloat16, float>(call, k);
  case DType::kF64: return accumulateTyped<double, double>(call, k);
  default: return unsupportedDTypes(call);
  }
}

Status accumulationSkip(const KernelCall &call) {
  int64_t k;
  MPC_RETURN_IF_ERROR(stepsOf(call, &k));
  const int64_t *micro = call.inputs[0].as<const int64_t>();
  float *skip = call.outputs[0].as<float>();
  return launchFlat(call, 1, [=] __device__(int64_t) { *skip = *micro % k == k - 1 ? 0.0f : 1.0f; });
}

Status countStep(const KernelCall &call) {
  const int64_t *step = call.inputs[0].as<const int64_t>();
  const float *skip = call.numInputs == 2 ? call.inputs[1].as<const float>() : nullptr;
  int64_t *out = call.outputs[0].as<int64_t>();
  return launchFlat(call, 1, [=] __device__(int64_t) {
    const int64_t s = *step;
    *out = skip && *skip != 0.0f ? s : s + 1;
  });
}

struct ScaleHyper {
  double growth = 2.0, backoff = 0.5, minScale = 0, maxScale = 0;
  int64_t interval = 2000;
};

Status lossScaleUpdate(const KernelCall &call) {
  ScaleHyper h;
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "growth_factor", 2.0, &h.growth));
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "backoff_factor", 0.5, &h.backoff));
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "growth_interval", 2000, &h.interval));
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "min_scale", 0.0, &h.minScale));
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "max_scale", 0.0, &h.maxScale));
  const float *scale = call.inputs[0].as<const float>();
  const int64_t *tracker = call.inputs[1].as<const int64_t>();
  const float *foundInf = call.inputs[2].as<const float>();
  const float *hold = call.numInputs == 4 ? call.inputs[3].as<const float>() : nullptr;
  float *scaleOut = call.outputs[0].as<float>();
  int64_t *trackerOut = call.outputs[1].as<int64_t>();
  return launchFlat(call, 1, [=] __device__(int64_t) {
    const float s = *scale;
    const int64_t t0 = *tracker;
    float newScale = s;
    int64_t newTracker = t0;
    if (!(hold && *hold != 0.0f)) {
      if (*foundInf != 0.0f) {
        newScale = static_cast<float>(static_cast<double>(s) * h.backoff);
        newTracker = 0;
      } else {
        const int64_t t = t0 + 1;
        if (t == h.interval) {
          const float grown = static_cast<float>(static_cast<double>(s) * h.growth);
          if (isfinite(grown)) newScale = grown;
          newTracker = 0;
        } else {
          newTracker = t;
        }
      }
      if (h.minScale > 0) newScale = fmaxf(newScale, static_cast<float>(h.minScale));
      if (h.maxScale > 0) newScale = fminf(newScale, static_cast<float>(h.maxScale));
    }
    *scaleOut = newScale;
    *trackerOut = newTracker;
  });
}

// ---- dropout, dropout_grad ----

Status ratioOf(const KernelCall &call, float *ratio) {
  double r;
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "ratio", 0.5, &r));
  if (!(r >= 0.0 && r <= 1.0)) return kernelError(call, "attribute 'ratio' must be in [0, 1]");
  *ratio = static_cast<float>(r);
  return Status::ok();
}

template <typename T> Status dropoutTyped(const KernelCall &call, float ratio, uint64_t seed) {
  using A = typename Elem<T>::Acc;
  const A scale = ratio < 1.0f ? A(1) / (A(1) - static_cast<A>(ratio)) : A(0);
  const T *x = call.inputs[0].as<const T>();
  const int64_t *offset = call.numInputs == 2 ? call.inputs[1].as<const int64_t>() : nullptr;
  const uint64_t numel = static_cast<uint64_t>(call.inputs[0].numel());
  T *y = call.outputs[0].as<T>();
  uint8_t *mask = call.outputs[1].as<uint8_t>();
  // One thread per element, each computing its Philox block (the block of 4
  // consecutive indices is recomputed by up to 4 threads: ALU is cheap here).
  return launchFlat(call, call.inputs[0].numel(), [=] __device__(int64_t i) {
    const uint64_t base = offset ? static_cast<uint64_t>(*offset) * numel : 0;  // wraps mod 2^64
    const float u = philox::uniformAt(seed, base + static_cast<uint64_t>(i));
    const bool keep = ratio < 1.0f && u >= ratio;
    const A v = Elem<T>::load(x[i]);
    mask[i] = keep;
    y[i] = Elem<T>::store(keep ? v * scale : A(0));
  });
}

Status dropoutKernel(const KernelCall &call) {
  float ratio;
  int64_t seed;
  MPC_RETURN_IF_ERROR(ratioOf(call, &ratio));
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "seed", 0, &seed));
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[0].dtype,
             [&](auto tag) { st = dropoutTyped<typename decltype(tag)::type>(call, ratio, static_cast<uint64_t>(seed)); });
  return st;
}

template <typename T> Status dropoutGradTyped(const KernelCall &call, float ratio) {
  using A = typename Elem<T>::Acc;
  // The forward kernel's factor, so the gradient is its exact derivative.
  const A scale = ratio < 1.0f ? A(1) / (A(1) - static_cast<A>(ratio)) : A(0);
  const T *dy = call.inputs[0].as<const T>();
  const uint8_t *mask = call.inputs[1].as<const uint8_t>();
  T *dx = call.outputs[0].as<T>();
  return launchFlat(call, call.inputs[0].numel(), [=] __device__(int64_t i) {
    dx[i] = Elem<T>::store(mask[i] ? Elem<T>::load(dy[i]) * scale : A(0));
  });
}

Status dropoutGradKernel(const KernelCall &call) {
  float ratio;
  MPC_RETURN_IF_ERROR(ratioOf(call, &ratio));
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[0].dtype, [&](auto tag) { st = dropoutGradTyped<typename decltype(tag)::type>(call, ratio); });
  return st;
}

// ---- gelu_grad, softmax_grad, log_softmax_grad ----

template <typename T> Status geluGradTyped(const KernelCall &call, bool useTanh) {
  const T *x = call.inputs[0].as<const T>();
  const T *dy = call.inputs[1].as<const T>();
  T *dx = call.outputs[0].as<T>();
  return launchFlat(call, call.inputs[0].numel(), [=] __device__(int64_t i) {
    const float v = Elem<T>::load(x[i]), g = Elem<T>::load(dy[i]);
    float d;
    if (useTanh) {
      // The CPU's constants: the double literals rounded to float.
      const float k = static_cast<float>(0.7978845608028654), c = static_cast<float>(0.044715);
      const float t = math::tanh(k * (v + c * v * v * v));
      d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * k * (1.0f + 3.0f * c * v * v);
    } else {
      const float cdf = 0.5f * (1.0f + math::erf(v * static_cast<float>(0.7071067811865476)));
      const float pdf = math::exp(-0.5f * v * v) * static_cast<float>(0.3989422804014327);  // 1 / sqrt(2 pi)
      d = cdf + v * pdf;
    }
    dx[i] = Elem<T>::store(g * d);
  });
}

Status geluGradKernel(const KernelCall &call) {
  std::string approx;
  MPC_RETURN_IF_ERROR(cpu::getString(call, "approximate", "none", &approx));
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[0].dtype,
             [&](auto tag) { st = geluGradTyped<typename decltype(tag)::type>(call, approx == "tanh"); });
  return st;
}

// One thread per (outer, inner) row along the axis, sums in the CPU's order.
template <bool kLog, typename T> Status softmaxGradTyped(const KernelCall &call, int64_t inner, int64_t len) {
  const T *y = call.inputs[0].as<const T>();
  const T *dy = call.inputs[1].as<const T>();
  T *dx = call.outputs[0].as<T>();
  const int64_t rows = len ? call.inputs[0].numel() / len : 0;
  return launchFlat(call, rows, [=] __device__(int64_t v) {
    const int64_t base = (v / inner) * len * inner + v % inner;
    float sum = 0;
    for (int64_t i = 0; i < len; ++i) {
      const int64_t j = base + i * inner;
      const float g = Elem<T>::load(dy[j]);
      sum += kLog ? g : g * static_cast<float>(Elem<T>::load(y[j]));
    }
    // The sum is complete before any dx is written: dx may alias dy or y.
    for (int64_t i = 0; i < len; ++i) {
      const int64_t j = base + i * inner;
      const float yj = Elem<T>::load(y[j]), g = Elem<T>::load(dy[j]);
      dx[j] = Elem<T>::store(kLog ? g - math::exp(yj) * sum : yj * (g - sum));
    }
  });
}

template <bool kLog> Status softmaxGradKernel(const KernelCall &call) {
  int64_t axis;
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "axis", -1, &axis));
  const TensorView &yv = call.inputs[0];
  if (axis < 0 || axis >= yv.rank) return kernelError(call, "axis " + std::to_string(axis) + " out of range");
  int64_t inner = 1;
  for (int d = static_cast<int>(axis) + 1; d < yv.rank; ++d) inner *= yv.dims[d];
  Status st = unsupportedDTypes(call);
  visitFloat(yv.dtype,
             [&](auto tag) { st = softmaxGradTyped<kLog, typename decltype(tag)::type>(call, inner, yv.dims[axis]); });
  return st;
}

}  // namespace training

void registerTrainingKernels(KernelRegistry &reg) {
  using namespace training;
  const DType any = DType::kInvalid;
  addVariadicKernel(reg, "unscale_and_check", unscaleAndCheck);
  addVariadicKernel(reg, "clip_grad_norm", clipGradNorm);
  addKernel(reg, "accumulate_grad", {any, any, any, any}, accumulateGrad);
  addKernel(reg, "accumulation_skip", {any, any}, accumulationSkip);
  addKernel(reg, "count_step", {any, any}, countStep);
  addKernel(reg, "count_step", {any, any, any}, countStep);
  addKernel(reg, "loss_scale_update", {any, any, any, any, any}, lossScaleUpdate);
  addKernel(reg, "loss_scale_update", {any, any, any, any, any, any}, lossScaleUpdate);
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    addKernel(reg, "dropout", {t, t, DType::kBool}, dropoutKernel);
    addKernel(reg, "dropout", {t, DType::kI64, t, DType::kBool}, dropoutKernel);
    addKernel(reg, "dropout_grad", {t, DType::kBool, t}, dropoutGradKernel);
    addKernel(reg, "gelu_grad", {t, t, t}, geluGradKernel);
    addKernel(reg, "softmax_grad", {t, t, t}, softmaxGradKernel<false>);
    addKernel(reg, "log_softmax_grad", {t, t, t}, softmaxGradKernel<true>);
  }
}

}  // namespace mpc::rt::cuda
