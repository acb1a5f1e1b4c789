// max_pool_grad (x, dy) -> dx and avg_pool_grad (dy) -> dx (the result type is
// the specification of dx's shape), with the forward ops' attributes.
//
// max_pool_grad: each window's gradient goes to the first maximal element in
// row-major window order (the element the forward kernel picks; a NaN wins
// over numbers, the first NaN over later ones). avg_pool_grad spreads
// dy / count over the window's elements, count as in the forward kernel.
// One thread per (n, c) plane accumulates in FP32 (double for f64) in a fixed
// order and rounds each dx element once.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/pool_geometry.h"
#include "cpu/training.h"

namespace mpc::rt::cpu {
namespace {

using PoolGeom = PoolGeometry;

// x: the forward input's shape (x or dx), dy: the forward output's gradient.
Status poolGeom(const KernelCall &call, bool isMax, const TensorView &x, const TensorView &dy, PoolGeom *p) {
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
  if (p->padTop < 0 || p->padLeft < 0 || p->padBottom < 0 || p->padRight < 0) return kernelError(call, "pads must be >= 0");
  if (p->padTop >= p->kh * p->dh || p->padBottom >= p->kh * p->dh || p->padLeft >= p->kw * p->dw ||
      p->padRight >= p->kw * p->dw)
    return kernelError(call, "pads must be smaller than the (dilated) kernel");
  p->oh = poolOutSize(p->h, p->kh, p->sh, p->dh, p->padTop, p->padBottom, p->ceilMode);
  p->ow = poolOutSize(p->w, p->kw, p->sw, p->dw, p->padLeft, p->padRight, p->ceilMode);
  if (dy.rank != 4 || dy.dims[0] != p->n || dy.dims[1] != p->c || dy.dims[2] != p->oh || dy.dims[3] != p->ow)
    return kernelError(call, "dy has shape " + shapeString(dy) + ", expected the forward output [" +
                                 std::to_string(p->n) + "x" + std::to_string(p->c) + "x" + std::to_string(p->oh) +
                                 "x" + std::to_string(p->ow) + "]");
  return Status::ok();
}

Status checkMaxPoolGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 2, 2, 1));
  const TensorView &x = call.inputs[0];
  MPC_RETURN_IF_ERROR(checkFloatTensor(call, x, "x"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.inputs[1], x.dtype, "dy"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], x.dtype, "dx"));
  MPC_RETURN_IF_ERROR(checkShape(call, call.outputs[0], x, "dx"));
  PoolGeom p;
  return poolGeom(call, true, x, call.inputs[1], &p);
}

Status checkAvgPoolGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkArity(call, 1, 1, 1));
  MPC_RETURN_IF_ERROR(checkFloatTensor(call, call.inputs[0], "dy"));
  MPC_RETURN_IF_ERROR(checkDType(call, call.outputs[0], call.inputs[0].dtype, "dx"));
  PoolGeom p;
  return poolGeom(call, false, call.outputs[0], call.inputs[0], &p);
}

template <typename F> void forEachPlane(const KernelCall &call, const PoolGeom &p, F body) {
  const int64_t perPlane = std::max<int64_t>(1, p.oh * p.ow * p.kh * p.kw + p.h * p.w);
  parallelFor(call.pool, p.n * p.c, std::max<int64_t>(1, (1 << 16) / perPlane), [&](int64_t b, int64_t e) {
    thread_local std::vector<double> acc64;
    thread_local std::vector<float> acc32;
    for (int64_t i = b; i < e; ++i) body(i, acc32, acc64);
  });
}

template <typename A, typename T> A *planeAccumulator(std::vector<float> &a32, std::vector<double> &a64, size_t n) {
  if constexpr (std::is_same_v<A, double>) {
    a64.assign(n, 0.0);
    return a64.data();
  } else {
    a32.assign(n, 0.0f);
    return a32.data();
  }
}

Status maxPoolGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkMaxPoolGrad(call));
  PoolGeom p;
  MPC_RETURN_IF_ERROR(poolGeom(call, true, call.inputs[0], call.inputs[1], &p));
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *x = call.inputs[0].as<const T>();
    const T *dy = call.inputs[1].as<const T>();
    T *dx = call.outputs[0].as<T>();
    forEachPlane(call, p, [&](int64_t plane, std::vector<float> &a32, std::vector<double> &a64) {
      const T *xp = x + plane * p.h * p.w;
      const T *dyp = dy + plane * p.oh * p.ow;
      A *acc = planeAccumulator<A, T>(a32, a64, static_cast<size_t>(p.h * p.w));
      for (int64_t oy = 0; oy < p.oh; ++oy)
        for (int64_t ox = 0; ox < p.ow; ++ox) {
          int64_t best = -1;
          A m = 0;
          for (int64_t i = 0; i < p.kh; ++i) {
            const int64_t iy = oy * p.sh - p.padTop + i * p.dh;
            if (iy < 0 || iy >= p.h) continue;
            for (int64_t j = 0; j < p.kw; ++j) {
              const int64_t ix = ox * p.sw - p.padLeft + j * p.dw;
              if (ix < 0 || ix >= p.w) continue;
              const A v = Elem<T>::load(xp[iy * p.w + ix]);
              if (best < 0 || (m == m && (v > m || v != v))) best = iy * p.w + ix, m = v;
            }
          }
          if (best >= 0) acc[best] += Elem<T>::load(dyp[oy * p.ow + ox]);
        }
      T *dxp = dx + plane * p.h * p.w;
      for (int64_t i = 0; i < p.h * p.w; ++i) dxp[i] = Elem<T>::store(acc[i]);
    });
  });
  return Status::ok();
}

Status avgPoolGrad(const KernelCall &call) {
  MPC_RETURN_IF_ERROR(checkAvgPoolGrad(call));
  PoolGeom p;
  MPC_RETURN_IF_ERROR(poolGeom(call, false, call.outputs[0], call.inputs[0], &p));
  visitFloat(call.inputs[0].dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using A = AccT<T>;
    const T *dy = call.inputs[0].as<const T>();
    T *dx = call.outputs[0].as<T>();
    forEachPlane(call, p, [&](int64_t plane, std::vector<float> &a32, std::vector<double> &a64) {
      const T *dyp = dy + plane * p.oh * p.ow;
      A *acc = planeAccumulator<A, T>(a32, a64, static_cast<size_t>(p.h * p.w));
      for (int64_t oy = 0; oy < p.oh; ++oy)
        for (int64_t ox = 0; ox < p.ow; ++ox) {
          // The forward kernel's window and divisor (pool.cpp).
          const int64_t y0 = oy * p.sh - p.padTop, x0 = ox * p.sw - p.padLeft;
          const int64_t y1 = std::min(y0 + p.kh, p.h + p.padBottom), x1 = std::min(x0 + p.kw, p.w + p.padRight);
          const int64_t padCount = (y1 - y0) * (x1 - x0);
          const int64_t ya = std::max<int64_t>(y0, 0), xa = std::max<int64_t>(x0, 0);
          const int64_t yb = std::min(y1, p.h), xb = std::min(x1, p.w);
          const int64_t count = p.countIncludePad ? padCount : (yb - ya) * (xb - xa);
          if (count <= 0) continue;
          const A g = Elem<T>::load(dyp[oy * p.ow + ox]) / static_cast<A>(count);
          for (int64_t iy = ya; iy < yb; ++iy)
            for (int64_t ix = xa; ix < xb; ++ix) acc[iy * p.w + ix] += g;
        }
      T *dxp = dx + plane * p.h * p.w;
      for (int64_t i = 0; i < p.h * p.w; ++i) dxp[i] = Elem<T>::store(acc[i]);
    });
  });
  return Status::ok();
}

}  // namespace

void registerGradPoolKernels(KernelRegistry &reg) {
  for (DType t : floatDTypes()) {
    addKernel(reg, "max_pool_grad", {t, t, t}, maxPoolGrad, checkMaxPoolGrad);
    addKernel(reg, "avg_pool_grad", {t, t}, avgPoolGrad, checkAvgPoolGrad);
  }
}

}  // namespace mpc::rt::cpu
