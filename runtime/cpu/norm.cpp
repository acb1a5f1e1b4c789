// batch_norm (inference), batch_norm_train and layer_norm.
//
// Statistics accumulate in FP32 (double for f64) over a fixed order per
// channel / row, one thread per channel or row, so results do not depend on
// the thread count. Per-channel parameters may be f32 while x is FP16/BF16
// (autocast keeps normalisation statistics in FP32).
#include <cmath>
#include <type_traits>

#include "cpu/cpu_common.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

// Loads element i of a float tensor of any float dtype as A.
template <typename A> A loadAs(const TensorView &t, int64_t i) {
  A v = 0;
  visitFloat(t.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    v = static_cast<A>(Elem<T>::load(t.as<const T>()[i]));
  });
  return v;
}

template <typename A> void storeAs(const TensorView &t, int64_t i, A v) {
  visitFloat(t.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    t.as<T>()[i] = Elem<T>::store(static_cast<AccT<T>>(v));
  });
}

Status checkChannelParams(const KernelCall &call, int first, int count, int64_t channels) {
  for (int i = first; i < first + count; ++i) {
    const TensorView &t = call.inputs[i];
    if (t.rank != 1 || t.dims[0] != channels)
      return kernelError(call, "input " + std::to_string(i) + " has shape " + shapeString(t) + ", expected [" +
                                   std::to_string(channels) + "]");
    if (!isFloat(t.dtype) || dtypeSize(t.dtype) == 1)
      return kernelError(call, "input " + std::to_string(i) + " must be a float tensor");
  }
  return Status::ok();
}

Status checkBatchNormCommon(const KernelCall &call, int numOutputs) {
  MPC_RETURN_IF_ERROR(checkArity(call, 5, 5, numOutputs));
  const TensorView &x = call.inputs[0];
  if (x.rank < 2) return kernelError(call, "x must have rank >= 2 (N, C, ...)");
  MPC_RETURN_IF_ERROR(checkChannelParams(call, 1, 4, x.dims[1]));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], x.dtype, "y"));
  return checkShape(call, call.outputs[0], x, "y");
}

Status checkBatchNorm(const KernelCall &call) { return checkBatchNormCommon(call, 1); }

Status checkBatchNormTrain(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkBatchNormCommon(call, 3));
  for (int i = 1; i < 3; ++i) {
    MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[i], call.inputs[2 + i], "running statistic output"));
    MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[i], call.inputs[2 + i].dtype, "running statistic output"));
  }
  return Status::ok();
}

// y = (x - mean) * invStd * scale + bias for every element of channel c.
template <typename T>
void normalizeChannels(const KernelCall &call, const std::vector<AccT<T>> &mul, const std::vector<AccT<T>> &add) {
  using A = AccT<T>;
  const TensorView &x = call.inputs[0];
  const int64_t n = x.dims[0], c = x.dims[1], inner = c ? x.numel() / (n * c) : 0;
  const T *xp = x.as<const T>();
  T *yp = call.outputs[0].as<T>();
  parallelFor(call.pool, n * c, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1)),
              [&](int64_t b, int64_t e) {
                for (int64_t r = b; r < e; ++r) {
                  const A m = mul[r % c], a = add[r % c];
                  for (int64_t i = r * inner; i < (r + 1) * inner; ++i)
                    yp[i] = Elem<T>::store(Elem<T>::load(xp[i]) * m + a);
                }
              });
}

Status batchNorm(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkBatchNorm(call));
  double eps;
  MPC_RETURN_IF_ERROR(getFloat(call, "epsilon", 1e-5, &eps));
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const int64_t c = call.inputs[0].dims[1];
    std::vector<A> mul(c), add(c);
    for (int64_t i = 0; i < c; ++i) {
      const A invStd = A(1) / std::sqrt(loadAs<A>(call.inputs[4], i) + static_cast<A>(eps));
      mul[i] = loadAs<A>(call.inputs[1], i) * invStd;
      add[i] = loadAs<A>(call.inputs[2], i) - loadAs<A>(call.inputs[3], i) * mul[i];
    }
    normalizeChannels<T>(call, mul, add);
  });
  return Status::ok();
}

Status batchNormTrain(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkBatchNormTrain(call));
  double eps, momentum;
  MPC_RETURN_IF_ERROR(getFloat(call, "epsilon", 1e-5, &eps));
  MPC_RETURN_IF_ERROR(getFloat(call, "momentum", 0.9, &momentum));
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const TensorView &x = call.inputs[0];
    const int64_t n = x.dims[0], c = x.dims[1], inner = c && n ? x.numel() / (n * c) : 0;
    const int64_t count = n * inner;
    std::vector<A> mean(c), var(c), mul(c), add(c);
    const T *xp = x.as<const T>();
    // Two passes per channel (mean, then squared deviations) for accuracy.
    parallelFor(call.pool, c, 1, [&](int64_t b, int64_t e) {
      for (int64_t ch = b; ch < e; ++ch) {
        A sum = 0;
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < inner; ++j) sum += Elem<T>::load(xp[(i * c + ch) * inner + j]);
        const A m = sum / static_cast<A>(count);
        A sq = 0;
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < inner; ++j) {
            const A d = Elem<T>::load(xp[(i * c + ch) * inner + j]) - m;
            sq += d * d;
          }
        mean[ch] = m;
        var[ch] = sq / static_cast<A>(count); // biased, as ONNX
      }
    });
    const A mom = static_cast<A>(momentum);
    for (int64_t ch = 0; ch < c; ++ch) {
      const A invStd = A(1) / std::sqrt(var[ch] + static_cast<A>(eps));
      mul[ch] = loadAs<A>(call.inputs[1], ch) * invStd;
      add[ch] = loadAs<A>(call.inputs[2], ch) - mean[ch] * mul[ch];
      storeAs<A>(call.outputs[1], ch, mom * loadAs<A>(call.inputs[3], ch) + (A(1) - mom) * mean[ch]);
      storeAs<A>(call.outputs[2], ch, mom * loadAs<A>(call.inputs[4], ch) + (A(1) - mom) * var[ch]);
    }
    normalizeChannels<T>(call, mul, add);
  });
  return Status::ok();
}

// ---- layer_norm ----

// Sum of a FP32 row in kLanes interleaved partial sums (lane j takes the
// elements i with i % kLanes == j, in order; the lanes are then added in
// order), so the loop vectorises and the result does not depend on the
// vector width. With `center`, sums (x - center)^2 instead.
constexpr int kLanes = 8;

template <bool kSquares> float laneSum(const float *x, int64_t n, float center) {
  float lane[kLanes] = {};
  const int64_t full = n - n % kLanes;
  for (int64_t i = 0; i < full; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float v = kSquares ? x[i + j] - center : x[i + j];
      lane[j] += kSquares ? v * v : v;
    }
  for (int64_t i = full; i < n; ++i) {
    const float v = kSquares ? x[i] - center : x[i];
    lane[i - full] += kSquares ? v * v : v;
  }
  float sum = lane[0];
  for (int j = 1; j < kLanes; ++j) sum += lane[j];
  return sum;
}

Status checkLayerNorm(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 3, 3));
  const TensorView &x = call.inputs[0];
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", -1, &axis));
  if (axis < 0 || axis >= x.rank)
    return kernelError(call, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(x.rank));
  int64_t inner = 1;
  for (int d = static_cast<int>(axis); d < x.rank; ++d) inner *= x.dims[d];
  for (int i = 1; i < call.numInputs; ++i) {
    MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[i], x.dtype, i == 1 ? "scale" : "bias"));
    if (call.inputs[i].numel() != inner)
      return kernelError(call, std::string(i == 1 ? "scale" : "bias") + " has shape " + shapeString(call.inputs[i]) +
                                   ", expected the normalised shape (" + std::to_string(inner) + " elements)");
  }
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], x.dtype, "y"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[0], x, "y"));
  TensorView stat = x;
  stat.dtype = DType::kF32;
  for (int d = static_cast<int>(axis); d < x.rank; ++d) stat.dims[d] = 1;
  for (int i = 1; i < 3; ++i) {
    MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[i], DType::kF32, i == 1 ? "mean" : "inv_std_dev"));
    MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[i], stat, i == 1 ? "mean" : "inv_std_dev"));
  }
  return Status::ok();
}

Status layerNorm(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkLayerNorm(call));
  int64_t axis;
  double eps;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", -1, &axis));
  MPC_RETURN_IF_ERROR(getFloat(call, "epsilon", 1e-5, &eps));
  const TensorView &x = call.inputs[0];
  int64_t inner = 1;
  for (int d = static_cast<int>(axis); d < x.rank; ++d) inner *= x.dims[d];
  const int64_t rows = inner ? x.numel() / inner : 0;
  const bool hasBias = call.numInputs == 3;
  visitFloat(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *xp = x.as<const T>();
    const T *scale = call.inputs[1].as<const T>();
    const T *bias = hasBias ? call.inputs[2].as<const T>() : nullptr;
    T *yp = call.outputs[0].as<T>();
    float *meanOut = call.outputs[1].as<float>();
    float *invOut = call.outputs[2].as<float>();
    parallelFor(call.pool, rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t r = b; r < e; ++r) {
                    const T *row = xp + r * inner;
                    A mean, sq = 0;
                    if constexpr (std::is_same_v<T, float>) {
                      // Vectorised: interleaved partial sums.
                      mean = laneSum<false>(row, inner, 0) / static_cast<A>(inner);
                      sq = laneSum<true>(row, inner, mean);
                    } else {
                      A sum = 0;
                      for (int64_t i = 0; i < inner; ++i) sum += Elem<T>::load(row[i]);
                      mean = sum / static_cast<A>(inner);
                      for (int64_t i = 0; i < inner; ++i) {
                        const A d = Elem<T>::load(row[i]) - mean;
                        sq += d * d;
                      }
                    }
                    const A invStd = A(1) / std::sqrt(sq / static_cast<A>(inner) + static_cast<A>(eps));
                    T *out = yp + r * inner;
                    if (bias) {
                      for (int64_t i = 0; i < inner; ++i)
                        out[i] = Elem<T>::store((Elem<T>::load(row[i]) - mean) * invStd * Elem<T>::load(scale[i]) +
                                                Elem<T>::load(bias[i]));
                    } else {
                      for (int64_t i = 0; i < inner; ++i)
                        out[i] = Elem<T>::store((Elem<T>::load(row[i]) - mean) * invStd * Elem<T>::load(scale[i]));
                    }
                    meanOut[r] = static_cast<float>(mean);
                    invOut[r] = static_cast<float>(invStd);
                  }
                });
  });
  return Status::ok();
}

} // namespace

void registerNormKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes()) {
    for (DType p : {t, DType::kF32}) {
      addKernel(reg, "batch_norm", {t, p, p, p, p, t}, batchNorm, checkBatchNorm);
      addKernel(reg, "batch_norm_train", {t, p, p, p, p, t, p, p}, batchNormTrain, checkBatchNormTrain);
      if (p == DType::kF32 && t == DType::kF32) break;
    }
    addKernel(reg, "layer_norm", {t, t, t, DType::kF32, DType::kF32}, layerNorm, checkLayerNorm);
    addKernel(reg, "layer_norm", {t, t, t, t, DType::kF32, DType::kF32}, layerNorm, checkLayerNorm);
  }
}

} // namespace mpc::rt::cpu
