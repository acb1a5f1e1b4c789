// Pooling: max_pool, avg_pool (NCHW 2-D, pads, strides, ceil_mode) and
// global_avg_pool. Each output element is computed by one thread from its
// window in a fixed order, so results do not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/cpu_common.h"
#include "cpu/pool_geometry.h"
#include "cpu/register.h"

namespace mpc::rt::cpu {
namespace {

using PoolParams = PoolGeometry;

Status poolParams(const KernelCall &call, bool isMax, PoolParams *p) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  const TensorView &x = call.inputs[0], &y = call.outputs[0];
  MPC_RETURN_IF_ERROR(checkDType(call, y, x.dtype, "output"));
  if (x.rank != 4) return kernelError(call, "x must be 4-D NCHW, got " + shapeString(x));
  p->n = x.dims[0], p->c = x.dims[1], p->h = x.dims[2], p->w = x.dims[3];
  std::vector<int64_t> k, s, d, pads;
  MPC_RETURN_IF_ERROR(getIntsOfSize(call, "kernel_shape", 2, &k));
  MPC_RETURN_IF_ERROR(getIntsOfSize(call, "strides", 2, &s));
  MPC_RETURN_IF_ERROR(getIntsOfSize(call, "pads", 4, &pads));
  if (isMax) MPC_RETURN_IF_ERROR(getIntsOfSize(call, "dilations", 2, &d));
  if (k.empty()) return kernelError(call, "attribute 'kernel_shape' is required");
  p->kh = k[0], p->kw = k[1];
  if (!s.empty()) p->sh = s[0], p->sw = s[1];
  if (!d.empty()) p->dh = d[0], p->dw = d[1];
  if (!pads.empty()) p->padTop = pads[0], p->padLeft = pads[1], p->padBottom = pads[2], p->padRight = pads[3];
  int64_t ceil = 0, include = 0;
  MPC_RETURN_IF_ERROR(getInt(call, "ceil_mode", 0, &ceil));
  MPC_RETURN_IF_ERROR(getInt(call, "count_include_pad", 0, &include));
  p->ceilMode = ceil != 0;
  p->countIncludePad = include != 0;
  if (p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1)
    return kernelError(call, "kernel_shape, strides and dilations must be >= 1");
  if (p->padTop < 0 || p->padLeft < 0 || p->padBottom < 0 || p->padRight < 0)
    return kernelError(call, "pads must be >= 0");
  // A pad as large as the kernel would make windows that see only padding.
  if (p->padTop >= p->kh * p->dh || p->padBottom >= p->kh * p->dh || p->padLeft >= p->kw * p->dw ||
      p->padRight >= p->kw * p->dw)
    return kernelError(call, "pads must be smaller than the (dilated) kernel");
  p->oh = poolOutSize(p->h, p->kh, p->sh, p->dh, p->padTop, p->padBottom, p->ceilMode);
  p->ow = poolOutSize(p->w, p->kw, p->sw, p->dw, p->padLeft, p->padRight, p->ceilMode);
  TensorView want;
  want.rank = 4;
  want.dims[0] = p->n, want.dims[1] = p->c, want.dims[2] = p->oh, want.dims[3] = p->ow;
  return checkShape(call, y, want, "output");
}

Status checkMaxPool(const KernelCall &call) {
  PoolParams p;
  return poolParams(call, true, &p);
}
Status checkAvgPool(const KernelCall &call) {
  PoolParams p;
  return poolParams(call, false, &p);
}

// Runs body(plane index) over all N*C planes in parallel.
template <typename F> void forEachPlane(const KernelCall &call, const PoolParams &p, F body) {
  const int64_t perPlane = std::max<int64_t>(1, p.oh * p.ow * p.kh * p.kw);
  parallelFor(call.pool, p.n * p.c, std::max<int64_t>(1, (1 << 16) / perPlane), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) body(i);
  });
}

Status maxPool(const KernelCall &call) {
  PoolParams p;
  MPC_RETURN_IF_ERROR(poolParams(call, true, &p));
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *x = call.inputs[0].as<const T>();
    T *y = call.outputs[0].as<T>();
    forEachPlane(call, p, [&](int64_t plane) {
      const T *xp = x + plane * p.h * p.w;
      T *yp = y + plane * p.oh * p.ow;
      for (int64_t oy = 0; oy < p.oh; ++oy)
        for (int64_t ox = 0; ox < p.ow; ++ox) {
          A m = -std::numeric_limits<A>::infinity();
          for (int64_t i = 0; i < p.kh; ++i) {
            const int64_t iy = oy * p.sh - p.padTop + i * p.dh;
            if (iy < 0 || iy >= p.h) continue;
            for (int64_t j = 0; j < p.kw; ++j) {
              const int64_t ix = ox * p.sw - p.padLeft + j * p.dw;
              if (ix < 0 || ix >= p.w) continue;
              const A v = Elem<T>::load(xp[iy * p.w + ix]);
              if (v > m || v != v) m = v; // NaN propagates
              if (m != m) break;
            }
          }
          yp[oy * p.ow + ox] = Elem<T>::store(m);
        }
    });
  });
  return Status::ok();
}

Status avgPool(const KernelCall &call) {
  PoolParams p;
  MPC_RETURN_IF_ERROR(poolParams(call, false, &p));
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *x = call.inputs[0].as<const T>();
    T *y = call.outputs[0].as<T>();
    forEachPlane(call, p, [&](int64_t plane) {
      const T *xp = x + plane * p.h * p.w;
      T *yp = y + plane * p.oh * p.ow;
      for (int64_t oy = 0; oy < p.oh; ++oy)
        for (int64_t ox = 0; ox < p.ow; ++ox) {
          // Window clipped to the padded input (PyTorch's divisor with
          // count_include_pad), then to the real input.
          const int64_t y0 = oy * p.sh - p.padTop, x0 = ox * p.sw - p.padLeft;
          const int64_t y1 = std::min(y0 + p.kh, p.h + p.padBottom), x1 = std::min(x0 + p.kw, p.w + p.padRight);
          const int64_t padCount = (y1 - y0) * (x1 - x0);
          const int64_t ya = std::max<int64_t>(y0, 0), xa = std::max<int64_t>(x0, 0);
          const int64_t yb = std::min(y1, p.h), xb = std::min(x1, p.w);
          A sum = 0;
          for (int64_t iy = ya; iy < yb; ++iy)
            for (int64_t ix = xa; ix < xb; ++ix) sum += Elem<T>::load(xp[iy * p.w + ix]);
          const int64_t count = p.countIncludePad ? padCount : (yb - ya) * (xb - xa);
          yp[oy * p.ow + ox] = Elem<T>::store(sum / static_cast<A>(count));
        }
    });
  });
  return Status::ok();
}

Status checkGlobalAvgPool(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  const TensorView &x = call.inputs[0];
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], x.dtype, "output"));
  if (x.rank < 3) return kernelError(call, "x must have rank >= 3 (N, C, spatial...)");
  TensorView want = x;
  for (int d = 2; d < x.rank; ++d) want.dims[d] = 1;
  MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[0], want, "output"));
  if (x.numel() == 0 && x.dims[0] * x.dims[1] > 0) return kernelError(call, "empty spatial extent");
  return Status::ok();
}

Status globalAvgPool(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkGlobalAvgPool(call));
  const TensorView &x = call.inputs[0];
  const int64_t planes = x.dims[0] * x.dims[1];
  const int64_t size = planes ? x.numel() / planes : 0;
  visitFloat(x.dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T *xp = x.as<const T>();
    T *yp = call.outputs[0].as<T>();
    parallelFor(call.pool, planes, std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(size, 1)),
                [&](int64_t b, int64_t e) {
                  for (int64_t i = b; i < e; ++i) {
                    AccT<T> sum = 0; // FP32 accumulation for FP32/FP16/BF16, double for f64
                    for (int64_t j = 0; j < size; ++j) sum += Elem<T>::load(xp[i * size + j]);
                    yp[i] = Elem<T>::store(sum / static_cast<AccT<T>>(size));
                  }
                });
  });
  return Status::ok();
}

} // namespace

void registerPoolKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes()) {
    addKernel(reg, "max_pool", {t, t}, maxPool, checkMaxPool);
    addKernel(reg, "avg_pool", {t, t}, avgPool, checkAvgPool);
    addKernel(reg, "global_avg_pool", {t, t}, globalAvgPool, checkGlobalAvgPool);
  }
}

} // namespace mpc::rt::cpu
