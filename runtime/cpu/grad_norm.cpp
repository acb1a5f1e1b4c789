// batch_norm_train_grad and layer_norm_grad.
//
// batch_norm_train_grad (x, scale, dy) -> (dx, dscale, dbias), attribute
// `epsilon`: recomputes the batch statistics from x (biased variance, as the
// forward kernel) and returns
//   dbias = sum(dy), dscale = sum(dy * xhat),
//   dx = scale * inv_std * (dy - dbias / M - xhat * dscale / M)   (M = N * spatial)
// per channel. scale, dscale and dbias share a dtype (x's or f32).
//
// layer_norm_grad (x, scale, mean, inv_std_dev, dy) -> (dx, dscale, dbias),
// attribute `axis` (scale, dscale and dbias share a dtype: x's or f32): per
// row, with g = dy * scale,
//   dx = inv_std * (g - mean(g) - xhat * mean(g * xhat));
// dscale = sum over rows of dy * xhat, dbias = sum over rows of dy.
// mean and inv_std_dev are the forward's f32 statistics. For f64 x they would
// cap the gradient's accuracy at FP32, so when x is f64 and the kernel carries
// the forward's `epsilon` attribute the statistics are recomputed in double.
//
// Accumulation is FP32 (double for f64), one thread per channel / row / column
// in a fixed order, so results do not depend on the thread count.
#include <cmath>
#include <vector>

#include "cpu/training.h"

namespace mpc::rt::cpu {
namespace {

Status checkBatchNormGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 3, 3, 3));
  const TensorView &x = call.inputs[0], &scale = call.inputs[1], &dy = call.inputs[2];
  MPC_RETURN_IF_ERROR(checkFloatTensor(call, x, "x"));
  if (x.rank < 2) return kernelError(call, "x must have rank >= 2 (N, C, ...)");
  MPC_RETURN_IF_ERROR(checkFloatTensor(call, scale, "scale"));
  if (scale.rank != 1 || scale.dims[0] != x.dims[1])
    return kernelError(call, "scale has shape " + shapeString(scale) + ", expected [" + std::to_string(x.dims[1]) + "]");
  MPC_RETURN_IF_ERROR(checkDType(call, dy, x.dtype, "dy"));
  MPC_RETURN_IF_ERROR(checkShape(call, dy, x, "dy"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], x.dtype, "dx"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[0], x, "dx"));
  for (int i = 1; i < 3; ++i) {
    const char *what = i == 1 ? "dscale" : "dbias";
    MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[i], scale.dtype, what));
    MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[i], scale, what));
  }
  double eps;
  MPC_RETURN_IF_ERROR(getFloat(call, "epsilon", 1e-5, &eps));
  if (!(eps >= 0)) return kernelError(call, "attribute 'epsilon' must be >= 0");
  return Status::ok();
}

Status batchNormGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkBatchNormGrad(call));
  double eps;
  MPC_RETURN_IF_ERROR(getFloat(call, "epsilon", 1e-5, &eps));
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const TensorView &x = call.inputs[0], &scale = call.inputs[1];
    const int64_t n = x.dims[0], c = x.dims[1], inner = c && n ? x.numel() / (n * c) : 0;
    const int64_t count = n * inner;
    const T *xp = x.as<const T>();
    const T *dyp = call.inputs[2].as<const T>();
    T *dxp = call.outputs[0].as<T>();
    parallelFor(call.pool, c, 1, [&](int64_t b, int64_t e) {
      for (int64_t ch = b; ch < e; ++ch) {
        auto at = [&](int64_t i, int64_t j) { return (i * c + ch) * inner + j; };
        A sum = 0;
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < inner; ++j) sum += Elem<T>::load(xp[at(i, j)]);
        const A mean = count ? sum / static_cast<A>(count) : A(0);
        A sq = 0;
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < inner; ++j) {
            const A d = Elem<T>::load(xp[at(i, j)]) - mean;
            sq += d * d;
          }
        const A var = count ? sq / static_cast<A>(count) : A(0);
        const A invStd = A(1) / std::sqrt(var + static_cast<A>(eps));
        A sumDy = 0, sumDyXhat = 0;
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < inner; ++j) {
            const A g = Elem<T>::load(dyp[at(i, j)]);
            sumDy += g;
            sumDyXhat += g * (Elem<T>::load(xp[at(i, j)]) - mean) * invStd;
          }
        const A k = loadFloat<A>(scale, ch) * invStd;
        const A mDy = count ? sumDy / static_cast<A>(count) : A(0);
        const A mDyXhat = count ? sumDyXhat / static_cast<A>(count) : A(0);
        // All reads of x and dy for this channel are done before dx is
        // written, so dx may alias dy.
        for (int64_t i = 0; i < n; ++i)
          for (int64_t j = 0; j < inner; ++j) {
            const int64_t idx = at(i, j);
            const A xhat = (Elem<T>::load(xp[idx]) - mean) * invStd;
            dxp[idx] = Elem<T>::store(k * (Elem<T>::load(dyp[idx]) - mDy - xhat * mDyXhat));
          }
        storeFloat<A>(call.outputs[1], ch, sumDyXhat);
        storeFloat<A>(call.outputs[2], ch, sumDy);
      }
    });
  });
  return Status::ok();
}

// ---- layer_norm_grad ----

Status checkLayerNormGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 5, 5, 3));
  const TensorView &x = call.inputs[0], &scale = call.inputs[1];
  MPC_RETURN_IF_ERROR(checkFloatTensor(call, x, "x"));
  int64_t axis;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", -1, &axis));
  if (axis < 0 || axis >= x.rank)
    return kernelError(call, "axis " + std::to_string(axis) + " out of range for rank " + std::to_string(x.rank));
  int64_t inner = 1;
  for (int d = static_cast<int>(axis); d < x.rank; ++d) inner *= x.dims[d];
  if (scale.dtype != x.dtype && scale.dtype != DType::kF32)
    return kernelError(call, "scale has dtype " + std::string(dtypeName(scale.dtype)) + ", expected " +
                                 std::string(dtypeName(x.dtype)) + " or f32");
  if (scale.numel() != inner)
    return kernelError(call, "scale has shape " + shapeString(scale) + ", expected the normalised shape (" +
                                 std::to_string(inner) + " elements)");
  TensorView stat = x;
  stat.dtype = DType::kF32;
  for (int d = static_cast<int>(axis); d < x.rank; ++d) stat.dims[d] = 1;
  for (int i = 2; i < 4; ++i) {
    const char *what = i == 2 ? "mean" : "inv_std_dev";
    MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[i], DType::kF32, what));
    MPC_RETURN_IF_ERROR(checkShape(call, call.inputs[i], stat, what));
  }
  MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[4], x.dtype, "dy"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.inputs[4], x, "dy"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], x.dtype, "dx"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[0], x, "dx"));
  for (int i = 1; i < 3; ++i) {
    const char *what = i == 1 ? "dscale" : "dbias";
    MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[i], scale.dtype, what));
    MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[i], scale, what));
  }
  double eps;
  MPC_RETURN_IF_ERROR(getFloat(call, "epsilon", 1e-5, &eps));
  return Status::ok();
}

Status layerNormGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkLayerNormGrad(call));
  int64_t axis;
  double eps;
  MPC_RETURN_IF_ERROR(getInt(call, "axis", -1, &axis));
  MPC_RETURN_IF_ERROR(getFloat(call, "epsilon", 1e-5, &eps));
  const TensorView &x = call.inputs[0];
  int64_t inner = 1;
  for (int d = static_cast<int>(axis); d < x.rank; ++d) inner *= x.dims[d];
  const int64_t rows = inner ? x.numel() / inner : 0;
  const bool recompute = x.dtype == DType::kF64 && call.attrs && call.attrs->has("epsilon");
  visitFloat(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *xp = x.as<const T>();
    const TensorView &scaleView = call.inputs[1];
    // The scale in the compute type (it may be f32 while x is FP16/BF16).
    std::vector<A> scale(inner);
    for (int64_t i = 0; i < inner; ++i) scale[i] = loadFloat<A>(scaleView, i);
    const float *meanIn = call.inputs[2].as<const float>();
    const float *invIn = call.inputs[3].as<const float>();
    const T *dyp = call.inputs[4].as<const T>();
    T *dxp = call.outputs[0].as<T>();
    // Per-row statistics in the compute type.
    std::vector<A> mean(rows), inv(rows);
    parallelFor(call.pool, rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t r = b; r < e; ++r) {
                    if (!recompute) {
                      mean[r] = static_cast<A>(meanIn[r]);
                      inv[r] = static_cast<A>(invIn[r]);
                      continue;
                    }
                    const T *row = xp + r * inner;
                    A sum = 0;
                    for (int64_t i = 0; i < inner; ++i) sum += Elem<T>::load(row[i]);
                    const A m = sum / static_cast<A>(inner);
                    A sq = 0;
                    for (int64_t i = 0; i < inner; ++i) {
                      const A d = Elem<T>::load(row[i]) - m;
                      sq += d * d;
                    }
                    mean[r] = m;
                    inv[r] = A(1) / std::sqrt(sq / static_cast<A>(inner) + static_cast<A>(eps));
                  }
                });
    // dscale and dbias: one thread per column, rows in order. Done before dx
    // is written, so dx may alias dy.
    parallelFor(call.pool, inner, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(rows, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t i = b; i < e; ++i) {
                    A ds = 0, db = 0;
                    for (int64_t r = 0; r < rows; ++r) {
                      const A g = Elem<T>::load(dyp[r * inner + i]);
                      ds += g * (Elem<T>::load(xp[r * inner + i]) - mean[r]) * inv[r];
                      db += g;
                    }
                    storeFloat<A>(call.outputs[1], i, ds);
                    storeFloat<A>(call.outputs[2], i, db);
                  }
                });
    parallelFor(call.pool, rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t r = b; r < e; ++r) {
                    const T *row = xp + r * inner;
                    const T *dyr = dyp + r * inner;
                    A sumG = 0, sumGX = 0;
                    for (int64_t i = 0; i < inner; ++i) {
                      const A g = Elem<T>::load(dyr[i]) * scale[i];
                      sumG += g;
                      sumGX += g * (Elem<T>::load(row[i]) - mean[r]) * inv[r];
                    }
                    const A mG = sumG / static_cast<A>(inner), mGX = sumGX / static_cast<A>(inner);
                    for (int64_t i = 0; i < inner; ++i) {
                      const A g = Elem<T>::load(dyr[i]) * scale[i];
                      const A xhat = (Elem<T>::load(row[i]) - mean[r]) * inv[r];
                      dxp[r * inner + i] = Elem<T>::store(inv[r] * (g - mG - xhat * mGX));
                    }
                  }
                });
  });
  return Status::ok();
}

}  // namespace

void registerGradNormKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes()) {
    for (DType p : {t, DType::kF32}) {
      addKernel(reg, "batch_norm_train_grad", {t, p, t, t, p, p}, batchNormGrad, checkBatchNormGrad);
      if (t == DType::kF32) break;
    }
    for (DType p : {t, DType::kF32}) {
      addKernel(reg, "layer_norm_grad", {t, p, DType::kF32, DType::kF32, t, t, p, p}, layerNormGrad, checkLayerNormGrad);
      if (t == DType::kF32) break;
    }
  }
}

}  // namespace mpc::rt::cpu
