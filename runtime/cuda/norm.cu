// Normalisation on CUDA: batch_norm (inference), layer_norm and
// layer_norm_grad, with the semantics of cpu/norm.cpp and cpu/grad_norm.cpp
// (FP32 statistics for f32/f16/bf16; f64 stays on the CPU).
//
// - batch_norm: per element, y = x * mul[c] + add[c] with the CPU's per-channel
//   expressions (invStd = 1 / sqrt(var + eps), mul = scale * invStd,
//   add = bias - mean * mul), so results are the CPU's bits.
// - batch_norm_train and batch_norm_train_grad: one block per channel, the
//   channel's sums with blockSum's fixed tree (deterministic; within a few ulp
//   of the CPU, which sums in (n, spatial) order).
// - layer_norm: one block per row; the row's sum and then its squared
//   deviations from the mean are reduced with a fixed tree (device.cuh's
//   blockSum): deterministic, FP32, but another order than the CPU's (whose
//   f32 path sums in 8 interleaved lanes), so results agree within a few ulp.
// - layer_norm_grad: dscale and dbias one thread per column over the rows in
//   order (the CPU's order: same bits up to the row statistics, which are the
//   forward's inputs), then one block per row for dx with tree sums.
#include "cuda/device.cuh"
#include "cuda/register.h"

namespace mpc::rt::cuda {
namespace norm {

// ---- batch_norm (x, scale, bias, mean, var) -> y ----

template <typename T, typename P> Status batchNormTyped(const KernelCall &call, float eps) {
  const TensorView &x = call.inputs[0];
  const int64_t c = x.dims[1], inner = c ? x.numel() / (x.dims[0] * c) : 0;
  const T *xp = x.as<const T>();
  const P *scale = call.inputs[1].as<const P>(), *bias = call.inputs[2].as<const P>();
  const P *mean = call.inputs[3].as<const P>(), *var = call.inputs[4].as<const P>();
  T *y = call.outputs[0].as<T>();
  return launchFlat(call, x.numel(), [=] __device__(int64_t i) {
    const int64_t ch = (i / inner) % c;
    const float invStd = 1.0f / sqrtf(static_cast<float>(Elem<P>::load(var[ch])) + eps);
    const float mul = static_cast<float>(Elem<P>::load(scale[ch])) * invStd;
    const float add = static_cast<float>(Elem<P>::load(bias[ch])) - static_cast<float>(Elem<P>::load(mean[ch])) * mul;
    y[i] = Elem<T>::store(static_cast<float>(Elem<T>::load(xp[i])) * mul + add);
  });
}

Status batchNormKernel(const KernelCall &call) {
  double eps;
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "epsilon", 1e-5, &eps));
  if (call.inputs[0].numel() == 0) return Status::ok();
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[0].dtype, [&](auto xt) {
    visitFloat(call.inputs[1].dtype, [&](auto pt) {
      st = batchNormTyped<typename decltype(xt)::type, typename decltype(pt)::type>(call, static_cast<float>(eps));
    });
  });
  return st;
}

// ---- layer_norm (x, scale, bias?) -> (y, mean, inv_std_dev) ----

template <typename T>
__global__ void layerNormRows(const T *x, const T *scale, const T *bias, T *y, float *meanOut, float *invOut,
                              int64_t inner, float eps) {
  const int64_t r = blockIdx.x;
  const T *row = x + r * inner;
  float sum = 0;
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) sum += static_cast<float>(Elem<T>::load(row[i]));
  const float mean = blockSum(sum) / static_cast<float>(inner);
  float sq = 0;
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
    const float d = static_cast<float>(Elem<T>::load(row[i])) - mean;
    sq += d * d;
  }
  const float invStd = 1.0f / sqrtf(blockSum(sq) / static_cast<float>(inner) + eps);
  T *out = y + r * inner;
  // Every thread has read its elements of the row: y may alias x.
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
    float v = (static_cast<float>(Elem<T>::load(row[i])) - mean) * invStd * static_cast<float>(Elem<T>::load(scale[i]));
    if (bias) v = v + static_cast<float>(Elem<T>::load(bias[i]));
    out[i] = Elem<T>::store(v);
  }
  if (threadIdx.x == 0) {
    meanOut[r] = mean;
    invOut[r] = invStd;
  }
}

int64_t innerOf(const TensorView &x, int64_t axis) {
  int64_t inner = 1;
  for (int d = static_cast<int>(axis); d < x.rank; ++d) inner *= x.dims[d];
  return inner;
}

Status layerNormKernel(const KernelCall &call) {
  int64_t axis;
  double eps;
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "axis", -1, &axis));
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "epsilon", 1e-5, &eps));
  const TensorView &x = call.inputs[0];
  if (axis < 0 || axis >= x.rank) return kernelError(call, "axis " + std::to_string(axis) + " out of range");
  const int64_t inner = innerOf(x, axis);
  const int64_t rows = inner ? x.numel() / inner : 0;
  if (rows == 0) return Status::ok();
  if (rows > INT32_MAX) return kernelError(call, "too many rows for one launch", StatusCode::kUnsupported);
  Status st = unsupportedDTypes(call);
  visitFloat(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    layerNormRows<T><<<static_cast<unsigned>(rows), kReduceThreads, 0, streamOf(call)>>>(
        x.as<const T>(), call.inputs[1].as<const T>(), call.numInputs == 3 ? call.inputs[2].as<const T>() : nullptr,
        call.outputs[0].as<T>(), call.outputs[1].as<float>(), call.outputs[2].as<float>(), inner,
        static_cast<float>(eps));
    st = launchStatus(call);
  });
  return st;
}

// ---- layer_norm_grad (x, scale, mean, inv_std_dev, dy) -> (dx, dscale, dbias) ----

template <typename T, typename P>
__global__ void layerNormGradRows(const T *x, const P *scale, const float *mean, const float *inv, const T *dy, T *dx,
                                  int64_t inner) {
  const int64_t r = blockIdx.x;
  const T *row = x + r * inner, *dyr = dy + r * inner;
  const float m = mean[r], is = inv[r];
  float sumG = 0, sumGX = 0;
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
    const float g = static_cast<float>(Elem<T>::load(dyr[i])) * static_cast<float>(Elem<P>::load(scale[i]));
    sumG += g;
    sumGX += g * (static_cast<float>(Elem<T>::load(row[i])) - m) * is;
  }
  const float mG = blockSum(sumG) / static_cast<float>(inner);
  const float mGX = blockSum(sumGX) / static_cast<float>(inner);
  // The sums are complete before any dx is written: dx may alias dy.
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
    const float g = static_cast<float>(Elem<T>::load(dyr[i])) * static_cast<float>(Elem<P>::load(scale[i]));
    const float xhat = (static_cast<float>(Elem<T>::load(row[i])) - m) * is;
    dx[r * inner + i] = Elem<T>::store(is * (g - mG - xhat * mGX));
  }
}

template <typename T, typename P> Status layerNormGradTyped(const KernelCall &call, int64_t inner, int64_t rows) {
  const T *x = call.inputs[0].as<const T>();
  const P *scale = call.inputs[1].as<const P>();
  const float *mean = call.inputs[2].as<const float>(), *inv = call.inputs[3].as<const float>();
  const T *dy = call.inputs[4].as<const T>();
  P *dscale = call.outputs[1].as<P>(), *dbias = call.outputs[2].as<P>();
  // dscale, dbias first (they read dy, which dx may overwrite): one thread per
  // column, rows in order as the CPU.
  MPC_RETURN_IF_ERROR(launchFlat(call, inner, [=] __device__(int64_t i) {
    float ds = 0, db = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const float g = Elem<T>::load(dy[r * inner + i]);
      ds += g * (static_cast<float>(Elem<T>::load(x[r * inner + i])) - mean[r]) * inv[r];
      db += g;
    }
    dscale[i] = Elem<P>::store(ds);
    dbias[i] = Elem<P>::store(db);
  }));
  if (rows == 0) return Status::ok();
  layerNormGradRows<T, P><<<static_cast<unsigned>(rows), kReduceThreads, 0, streamOf(call)>>>(
      x, scale, mean, inv, dy, call.outputs[0].as<T>(), inner);
  return launchStatus(call);
}

Status layerNormGradKernel(const KernelCall &call) {
  int64_t axis;
  MPC_RETURN_IF_ERROR(cpu::getInt(call, "axis", -1, &axis));
  const TensorView &x = call.inputs[0];
  if (axis < 0 || axis >= x.rank) return kernelError(call, "axis " + std::to_string(axis) + " out of range");
  const int64_t inner = innerOf(x, axis);
  const int64_t rows = inner ? x.numel() / inner : 0;
  if (rows > INT32_MAX) return kernelError(call, "too many rows for one launch", StatusCode::kUnsupported);
  Status st = unsupportedDTypes(call);
  visitFloat(x.dtype, [&](auto xt) {
    visitFloat(call.inputs[1].dtype, [&](auto pt) {
      st = layerNormGradTyped<typename decltype(xt)::type, typename decltype(pt)::type>(call, inner, rows);
    });
  });
  return st;
}

// ---- batch_norm_train (x, scale, bias, running_mean, running_var) -> (y, mean', var') ----
// One block per channel: the channel's sum, then its squared deviations, with
// blockSum's fixed tree (the CPU sums in (n, spatial) order: results agree
// within a few ulp); the running statistics and y use the CPU's expressions.

__device__ __forceinline__ int64_t channelIndex(int64_t k, int64_t ch, int64_t c, int64_t inner) {
  return ((k / inner) * c + ch) * inner + k % inner;
}

template <typename T, typename P>
__global__ void batchNormTrainChannels(const T *x, const P *scale, const P *bias, const P *runMean, const P *runVar,
                                       T *y, P *meanOut, P *varOut, int64_t c, int64_t inner, int64_t count, float eps,
                                       float mom) {
  const int64_t ch = blockIdx.x;
  float sum = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x)
    sum += static_cast<float>(Elem<T>::load(x[channelIndex(k, ch, c, inner)]));
  const float mean = blockSum(sum) / static_cast<float>(count);
  float sq = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const float d = static_cast<float>(Elem<T>::load(x[channelIndex(k, ch, c, inner)])) - mean;
    sq += d * d;
  }
  const float var = blockSum(sq) / static_cast<float>(count);  // biased, as ONNX
  const float invStd = 1.0f / sqrtf(var + eps);
  const float mul = static_cast<float>(Elem<P>::load(scale[ch])) * invStd;
  const float add = static_cast<float>(Elem<P>::load(bias[ch])) - mean * mul;
  // Every x of the channel was read inside the sums: y may alias x.
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t i = channelIndex(k, ch, c, inner);
    y[i] = Elem<T>::store(static_cast<float>(Elem<T>::load(x[i])) * mul + add);
  }
  if (threadIdx.x == 0) {
    const float rm = Elem<P>::load(runMean[ch]), rv = Elem<P>::load(runVar[ch]);
    meanOut[ch] = Elem<P>::store(mom * rm + (1.0f - mom) * mean);
    varOut[ch] = Elem<P>::store(mom * rv + (1.0f - mom) * var);
  }
}

// Geometry of an (N, C, ...) tensor: channels, spatial size, elements per channel.
struct ChannelGeom {
  int64_t c = 0, inner = 0, count = 0;
};
ChannelGeom channelGeom(const TensorView &x) {
  ChannelGeom g;
  const int64_t n = x.dims[0];
  g.c = x.dims[1];
  g.inner = g.c && n ? x.numel() / (n * g.c) : 0;
  g.count = n * g.inner;
  return g;
}

template <typename T, typename P> Status batchNormTrainTyped(const KernelCall &call, float eps, float mom) {
  const ChannelGeom g = channelGeom(call.inputs[0]);
  if (g.c == 0) return Status::ok();
  if (g.c > INT32_MAX) return kernelError(call, "too many channels for one launch", StatusCode::kUnsupported);
  const TensorView *in = call.inputs;
  batchNormTrainChannels<T, P><<<static_cast<unsigned>(g.c), kReduceThreads, 0, streamOf(call)>>>(
      in[0].as<const T>(), in[1].as<const P>(), in[2].as<const P>(), in[3].as<const P>(), in[4].as<const P>(),
      call.outputs[0].as<T>(), call.outputs[1].as<P>(), call.outputs[2].as<P>(), g.c, g.inner, g.count, eps, mom);
  return launchStatus(call);
}

Status batchNormTrainKernel(const KernelCall &call) {
  double eps, momentum;
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "epsilon", 1e-5, &eps));
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "momentum", 0.9, &momentum));
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[0].dtype, [&](auto xt) {
    visitFloat(call.inputs[1].dtype, [&](auto pt) {
      st = batchNormTrainTyped<typename decltype(xt)::type, typename decltype(pt)::type>(
          call, static_cast<float>(eps), static_cast<float>(momentum));
    });
  });
  return st;
}

// ---- batch_norm_train_grad (x, scale, dy) -> (dx, dscale, dbias) ----

template <typename T, typename P>
__global__ void batchNormGradChannels(const T *x, const P *scale, const T *dy, T *dx, P *dscale, P *dbias, int64_t c,
                                      int64_t inner, int64_t count, float eps) {
  const int64_t ch = blockIdx.x;
  const float cnt = static_cast<float>(count);
  float sum = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x)
    sum += static_cast<float>(Elem<T>::load(x[channelIndex(k, ch, c, inner)]));
  const float total = blockSum(sum);
  const float mean = count ? total / cnt : 0.0f;
  float sq = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const float d = static_cast<float>(Elem<T>::load(x[channelIndex(k, ch, c, inner)])) - mean;
    sq += d * d;
  }
  const float sqSum = blockSum(sq);
  const float var = count ? sqSum / cnt : 0.0f;
  const float invStd = 1.0f / sqrtf(var + eps);
  float sDy = 0, sDyXhat = 0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t i = channelIndex(k, ch, c, inner);
    const float g = Elem<T>::load(dy[i]);
    sDy += g;
    sDyXhat += g * (static_cast<float>(Elem<T>::load(x[i])) - mean) * invStd;
  }
  const float sumDy = blockSum(sDy), sumDyXhat = blockSum(sDyXhat);
  const float kk = static_cast<float>(Elem<P>::load(scale[ch])) * invStd;
  const float mDy = count ? sumDy / cnt : 0.0f, mDyXhat = count ? sumDyXhat / cnt : 0.0f;
  // The sums are complete before any dx is written: dx may alias dy.
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t i = channelIndex(k, ch, c, inner);
    const float xhat = (static_cast<float>(Elem<T>::load(x[i])) - mean) * invStd;
    dx[i] = Elem<T>::store(kk * (static_cast<float>(Elem<T>::load(dy[i])) - mDy - xhat * mDyXhat));
  }
  if (threadIdx.x == 0) {
    dscale[ch] = Elem<P>::store(sumDyXhat);
    dbias[ch] = Elem<P>::store(sumDy);
  }
}

template <typename T, typename P> Status batchNormGradTyped(const KernelCall &call, float eps) {
  const ChannelGeom g = channelGeom(call.inputs[0]);
  if (g.c == 0) return Status::ok();
  if (g.c > INT32_MAX) return kernelError(call, "too many channels for one launch", StatusCode::kUnsupported);
  batchNormGradChannels<T, P><<<static_cast<unsigned>(g.c), kReduceThreads, 0, streamOf(call)>>>(
      call.inputs[0].as<const T>(), call.inputs[1].as<const P>(), call.inputs[2].as<const T>(), call.outputs[0].as<T>(),
      call.outputs[1].as<P>(), call.outputs[2].as<P>(), g.c, g.inner, g.count, eps);
  return launchStatus(call);
}

Status batchNormGradKernel(const KernelCall &call) {
  double eps;
  MPC_RETURN_IF_ERROR(cpu::getFloat(call, "epsilon", 1e-5, &eps));
  Status st = unsupportedDTypes(call);
  visitFloat(call.inputs[0].dtype, [&](auto xt) {
    visitFloat(call.inputs[1].dtype, [&](auto pt) {
      st = batchNormGradTyped<typename decltype(xt)::type, typename decltype(pt)::type>(call, static_cast<float>(eps));
    });
  });
  return st;
}

}  // namespace norm

void registerNormKernels(KernelRegistry &reg) {
  using namespace norm;
  // The CPU's dtype combinations (f32 parameters with f16/bf16 x, autocast).
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (DType p : {t, DType::kF32}) {
      addKernel(reg, "batch_norm", {t, p, p, p, p, t}, batchNormKernel);
      addKernel(reg, "batch_norm_train", {t, p, p, p, p, t, p, p}, batchNormTrainKernel);
      addKernel(reg, "batch_norm_train_grad", {t, p, t, t, p, p}, batchNormGradKernel);
      addKernel(reg, "layer_norm_grad", {t, p, DType::kF32, DType::kF32, t, t, p, p}, layerNormGradKernel);
      if (t == DType::kF32) break;
    }
    addKernel(reg, "layer_norm", {t, t, t, DType::kF32, DType::kF32}, layerNormKernel);
    addKernel(reg, "layer_norm", {t, t, t, t, DType::kF32, DType::kF32}, layerNormKernel);
  }
}

}  // namespace mpc::rt::cuda
